"""The package's shape: docs/architecture.md's Layout is the tree, reading an experiment file imports no
TensorFlow, imports have no cycles and follow docs/imports.toml (the table docs/architecture.md shows),
every module has its test, `kerasexp train FILE` reads the file once, and the top level holds only what
everything shares."""

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kerasexp"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_reference", ROOT / "docs" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


imports_table = _load_generator()  # docs/gen_reference.py: reads docs/imports.toml, parses the modules


def layout_entries() -> set[str]:
    """Paths under kerasexp/ that docs/architecture.md's Layout code block lists (files and folders)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    entries, stack = set(), []
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        stack = stack[:depth]
        for name in (n.strip() for n in names.split(",")):
            path = "/".join([*stack, name.rstrip("/")])
            entries.add(path)
        if names.endswith("/"):
            stack.append(names.rstrip("/"))
    return {e for e in entries if e.startswith("kerasexp/")}


def package_entries() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*"):
        if "__pycache__" in path.parts:
            continue
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
            found.add(path.relative_to(ROOT).as_posix())
    return found


def test_the_documented_layout_lists_every_module_and_nothing_else():
    listed, actual = layout_entries(), package_entries()
    assert not actual - listed, (
        f"in the package, missing from docs/architecture.md: {sorted(actual - listed)}"
    )
    assert not listed - actual, (
        f"in docs/architecture.md's Layout, not in the package: {sorted(listed - actual)}"
    )


def test_tests_mirror_the_package():
    for folder in (ROOT / "tests").iterdir():
        if folder.is_dir() and folder.name != "__pycache__" and folder.name != "assets":
            assert (PACKAGE / folder.name / "__init__.py").exists(), (
                f"tests/{folder.name}/ mirrors no subpackage"
            )


def test_the_top_level_holds_at_most_twelve_modules():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


def test_reading_experiment_and_study_files_imports_no_tensorflow():
    code = (
        "import sys, kerasexp.config, kerasexp.tuning.config\n"
        "kerasexp.config.load_experiment('studies/fmnist_best.toml')\n"
        "kerasexp.tuning.config.load_study_file('studies/pbc96_study.toml', data=False)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _imports(path: Path, modules: set[str]) -> set[str]:
    """kerasexp modules `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kerasexp"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kerasexp"))
    return found & modules


def test_no_import_cycles():
    files = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        files[name] = path
    graph = {name: _imports(path, set(files)) - {name} for name, path in files.items()}
    # The package root names the Python API (kerasexp.train, ...) and imports kerasexp.api only
    # when one of those names is first used (a module __getattr__): the one allowed upward edge.
    graph["kerasexp"] -= {"kerasexp.api"}
    state, cycles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt) :] + [node, nxt]))
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, cycles


def test_the_api_is_imported_lazily_and_named_at_the_top():
    code = (
        "import sys, kerasexp\n"
        "assert 'kerasexp.api' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "assert kerasexp.train.__module__ == 'kerasexp.api' and kerasexp.UserError.__module__ == 'kerasexp.errors'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_no_import_climbs_against_the_table():
    """Every import, at module level or inside a function, is one docs/imports.toml allows (or one of
    its few named exceptions, each still needed)."""
    assert imports_table.climbs() == []
    assert imports_table.unused_exceptions() == [], "drop these exceptions from docs/imports.toml"


def test_config_may_import_registry_and_errors_only():
    rules = imports_table.import_rules()
    assert imports_table.allowed("config", rules) == {"registry", "errors"}
    assert "evaluation" not in imports_table.allowed("training", rules)


def test_the_climb_check_sees_imports_inside_functions_and_strict_rows(tmp_path):
    """The checker itself: a package whose data imports training inside a function, and whose config
    imports io, is refused; an exception of the table lets its one module through."""
    pkg = tmp_path / "kerasexp"
    for folder, text in {
        "data": "def load():\n    from kerasexp.training import loop\n",
        "training": "from kerasexp import rundir\n",
    }.items():
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
        (pkg / folder / "x.py").write_text(text)
    (pkg / "__init__.py").write_text("")
    (pkg / "rundir.py").write_text("")
    (pkg / "config.py").write_text("import kerasexp.io\n")
    rules = {**imports_table.import_rules()}
    assert imports_table.climbs(pkg, rules) == [
        "kerasexp.config imports io (config may import: errors, registry)",
        "kerasexp.data.x imports training (data may import: errors, io, kerasexp, registry)",
    ]
    rules["exception"] = [{"module": "kerasexp.data.x", "imports": "training", "why": "a test"}]
    assert imports_table.climbs(pkg, rules) == [
        "kerasexp.config imports io (config may import: errors, registry)"
    ]
    rules["may_import"] = {k: v for k, v in rules["may_import"].items() if k != "rundir"}
    assert (
        "kerasexp.rundir: its part 'rundir' is not in docs/imports.toml; give it a row"
        in imports_table.climbs(pkg, rules)
    )


def test_every_subpackage_has_a_test_folder():
    for init in PACKAGE.glob("*/__init__.py"):
        name = init.parent.name
        assert (ROOT / "tests" / name).is_dir(), f"kerasexp/{name}/ has no tests/ folder"


# Modules without a test file of their own name, and the test file that covers them.
COVERED_BY = {
    "audit/replay.py": "tests/audit/test_check.py",
    "__main__.py": "tests/test_experiment.py",
    "augment/compose.py": "tests/augment/test_image_policies.py",
    "bench/kernels.py": "tests/training/test_speed_settings.py",
    "bench/train.py": "tests/test_experiment.py",
    "child.py": "tests/tuning/test_study.py",
    "cli/commands.py": "tests/cli/test_bad_input.py",
    "cli/tools.py": "tests/evaluation/test_inference.py",
    "data/arrays.py": "tests/data/test_data_formats.py",
    "data/csv_labels.py": "tests/data/test_data_formats.py",
    "data/dataset.py": "tests/data/test_splits.py",
    "data/fashion_mnist.py": "tests/data/test_idx.py",
    "data/hashing.py": "tests/data/test_dedup.py",
    "data/labels.py": "tests/data/test_data_formats.py",
    "data/longtail.py": "tests/test_recipes.py",
    "data/pool.py": "tests/data/test_data_formats.py",
    "errors.py": "tests/cli/test_bad_input.py",
    "evaluation/compare.py": "tests/evaluation/test_intervals.py",
    "evaluation/metrics.py": "tests/evaluation/test_kept_model.py",
    "evaluation/predict.py": "tests/evaluation/test_choices.py",
    "evaluation/report.py": "tests/test_run_folder.py",
    "evaluation/seed_table.py": "tests/test_variants.py",
    "io.py": "tests/test_run_folder.py",
    "models/cnn.py": "tests/models/test_models.py",
    "models/ladder.py": "tests/models/test_ladder_resnet.py",
    "models/layers.py": "tests/models/test_ladder_resnet.py",
    "models/layout.py": "tests/bench/test_torch_peer.py",
    "models/normalization.py": "tests/models/test_ladder_resnet.py",
    "models/registry.py": "tests/models/test_param_checks.py",
    "models/resnet.py": "tests/models/test_ladder_resnet.py",
    "provenance.py": "tests/test_masking.py",
    "registry.py": "tests/test_light_config.py",
    "rundir.py": "tests/test_run_folder.py",
    "runs.py": "tests/test_experiment.py",
    "training/distribute.py": "tests/tuning/test_study.py",
    "training/finetune.py": "tests/models/test_transfer.py",
    "training/optimizers.py": "tests/training/test_schedules.py",
    "training/progress.py": "tests/test_api.py",
    "training/session.py": "tests/training/test_user_callbacks.py",
    "training/warmup.py": "tests/training/test_schedules.py",
    "tuning/config.py": "tests/tuning/test_study.py",
    "tuning/report.py": "tests/tuning/test_study_report.py",
    "tuning/run.py": "tests/tuning/test_study.py",
    "tuning/storage.py": "tests/tuning/test_study.py",
}
# Modules no test exercises yet (work left, said here rather than hidden).
UNTESTED = {"bench/augment.py": "kerasexp bench augment | augment-train: timing only, minutes a run"}


def test_every_module_has_a_test_file_or_a_named_one_covering_it():
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py" or "__pycache__" in path.parts or module in UNTESTED:
            continue
        own = ROOT / "tests" / Path(module).parent / f"test_{path.name}"
        assert own.exists() or module in COVERED_BY, (
            f"kerasexp/{module}: no {own.relative_to(ROOT)}; "
            "write it or name the test covering it in COVERED_BY"
        )
        assert not (own.exists() and module in COVERED_BY), (
            f"{module} has its own test; drop it from COVERED_BY"
        )
    for module, test in {**COVERED_BY, **dict.fromkeys(UNTESTED)}.items():
        assert (PACKAGE / module).exists(), f"COVERED_BY/UNTESTED names kerasexp/{module}, which is gone"
        assert test is None or (ROOT / test).exists(), f"{test} (covering kerasexp/{module}) is gone"


def test_kerasexp_train_reads_the_experiment_file_once(tmp_path, monkeypatch):
    """The CLI reads and resolves the file; api.train and runs.py take that Experiment as it is (no
    second read, no second resolution of the config, the --out folder checked in one place)."""
    import kerasexp.config as config
    import kerasexp.rundir as rundir
    import kerasexp.runs as runs
    from kerasexp.cli.commands import main

    calls = {"read_toml": 0, "experiment_from_dict": 0, "check_out_given": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    counted_names = ((config, "read_toml"), (config, "experiment_from_dict"), (rundir, "check_out_given"))
    for module, name in counted_names:
        monkeypatch.setattr(module, name, counted(name, getattr(module, name)))

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(runs, "train_and_report", stop)  # after every check, before training
    exp = tmp_path / "tiny.toml"
    exp.write_text('[dataset]\nname = "fashion_mnist"\nlimit = 200\n[training]\nepochs = 1\n')
    with pytest.raises(Stop):
        main(["train", str(exp), "--set", "training.batch_size=16", "--out", str(tmp_path / "run")])
    assert calls == {"read_toml": 1, "experiment_from_dict": 1, "check_out_given": 1}
