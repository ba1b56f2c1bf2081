"""The documentation follows the code: the generated references hold exactly the config keys and
command-line arguments the code has, reports/README.md lists every folder under reports/, the
README stays a front door, and the figures the docs quote match their report files."""

import dataclasses
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = (
    "(apt-get update && apt-get install -y dataset-fashion-mnist); "
    "pip install -e . && python -m kerasexp.variants"
)
TEST_JOB = (
    '(apt-get update && apt-get install -y dataset-fashion-mnist postgresql); pip install -e ".[test]" '
    '&& python -m pytest -q -n 2 --dist worksteal -m "not slow"'
)


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_reference = load(ROOT / "docs" / "gen_reference.py", "gen_reference")


def sections(markdown: str) -> dict[str, str]:
    """`### `name`` heading -> the text under it."""
    parts = re.split(r"^### `([^`]+)`\s*$", markdown, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def table_keys(text: str) -> set[str]:
    """The first column of a markdown table's body rows."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))


def test_the_config_reference_lists_exactly_the_fields_of_every_section():
    documented = sections(docs_reference.config_reference())
    expected = {f"[{name}]": cls for name, cls in docs_reference.config_sections().items()}
    assert set(documented) == set(expected)
    for section, cls in expected.items():
        assert table_keys(documented[section]) == {f.name for f in dataclasses.fields(cls)}, section
    assert {"[dataset]", "[training]", "[evaluation]", "[study]", "[search.head]"} <= set(documented)


def test_every_config_key_has_a_meaning_from_its_docstring():
    text = docs_reference.config_reference()
    assert docs_reference.MISSING_DOC not in text, [
        line for line in text.splitlines() if docs_reference.MISSING_DOC in line
    ]
    rows = {r[0]: r for r in docs_reference.key_rows(docs_reference.config_sections()["training"])}
    assert rows["epochs"][1:3] == ("integer", "15")
    assert rows["step_every"][3] == "see `schedule`."


def test_the_config_reference_finds_a_missing_or_extra_key():
    @dataclasses.dataclass
    class Section:
        """Attributes:
        kept: documented.
        gone: a key the code no longer has.
        """

        kept: int = 1
        added: str = "x"

    rows = {r[0]: r[3] for r in docs_reference.key_rows(Section)}
    assert set(rows) == {"kept", "added"}
    assert rows["added"] == docs_reference.MISSING_DOC


def parser_arguments() -> dict[str, set[str]]:
    return {
        name: {docs_reference.argument_name(a) for a in docs_reference.arguments(parser)}
        for name, (parser, _) in docs_reference.command_parsers().items()
    }


def test_the_cli_reference_lists_exactly_every_verb_and_argument():
    documented = sections(docs_reference.cli_reference())
    expected = parser_arguments()
    assert set(documented) == set(expected)
    for verb, names in expected.items():
        assert table_keys(documented[verb]) == names, verb
    assert {"--set", "--out", "--seeds", "experiment"} <= expected["kerasexp train"]
    assert "--epochs" in expected["kerasexp variants"]


def test_the_generated_pages_fill_every_marker():
    for page in (ROOT / "docs").rglob("*.md"):
        filled = docs_reference.fill(page.read_text(encoding="utf-8"))
        assert "<!-- reference:" not in filled, page
    assert "| `--n-trials` |" in docs_reference.fill("<!-- reference:cli -->")


def test_reports_readme_lists_every_folder_and_file_under_reports():
    index = (ROOT / "reports" / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", index, flags=re.M))
    present = {
        p.name + ("/" if p.is_dir() else "")
        for p in (ROOT / "reports").iterdir()
        if p.name not in ("__pycache__",) and not p.name.startswith(".")
    }
    assert present - listed == set(), (
        f"under reports/ but not in reports/README.md: {sorted(present - listed)}"
    )
    assert listed - present == set(), (
        f"in reports/README.md but not under reports/: {sorted(listed - present)}"
    )


def test_the_readme_is_a_front_door_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = subprocess.run(["wc", "-l", str(ROOT / "README.md")], capture_output=True, text=True, check=True)
    assert int(lines.stdout.split()[0]) <= 220
    assert MAIN_JOB in text and TEST_JOB in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text), "dated measurements belong in reports/"


def load_figure_checker():
    return load(ROOT / ".ci" / "check_doc_figures.py", "check_doc_figures")


def test_every_quoted_figure_matches_its_report(capsys):
    checker = load_figure_checker()
    assert checker.main([]) == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    "change, complaint",
    [
        ({"value": "0.9155", "quote": "| baseline | 225,034 | 0.9155 ± 0.0021 |"}, "is not in the doc"),
        ({"quote": "0.9155 ± 0.0021", "value": "0.9155"}, "is not in the doc"),
        ({"csv": {"where": {"variant": "baseline"}, "column": "test_acc_mean", "digits": 4}}, "says 0.9106"),
    ],
)
def test_the_figure_check_fails_on_a_wrong_figure(change, complaint):
    checker = load_figure_checker()
    entry = {
        "doc": "README.md",
        "quote": "| baseline | 225,034 | 0.9172 ± 0.0009 |",
        "value": "0.9172",
        "report": "reports/variants/variants.csv",
        "csv": {"where": {"variant": "baseline"}, "column": "val_acc_mean", "digits": 4},
    }
    assert checker.check(entry) is None
    assert complaint in checker.check({**entry, **change})


def test_every_robustness_row_names_a_test_that_exists():
    """docs/robustness.md: a test behind each row (file and function present; the suite runs them)."""
    rows = [
        line
        for line in (ROOT / "docs" / "robustness.md").read_text().splitlines()
        if line.startswith("| ") and not line.startswith(("| case", "| item"))
    ]
    assert len(rows) >= 60
    for row in rows:
        named = re.findall(r"tests/[\w/]+\.py::(\w+)", row)
        assert named, f"no test named in: {row[:80]}"
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", row):
            source = (ROOT / path).read_text()
            assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"
