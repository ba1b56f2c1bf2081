"""The package's shape: docs/architecture.md's Layout is the tree, reading an experiment file imports no
TensorFlow, imports have no cycles, and the top level holds only what everything shares."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kerasexp"


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
    assert not actual - listed, f"in the package, missing from docs/architecture.md: {sorted(actual - listed)}"
    assert not listed - actual, f"in docs/architecture.md's Layout, not in the package: {sorted(listed - actual)}"


def test_tests_mirror_the_package():
    for folder in (ROOT / "tests").iterdir():
        if folder.is_dir() and folder.name != "__pycache__" and folder.name != "assets":
            assert (PACKAGE / folder.name / "__init__.py").exists(), f"tests/{folder.name}/ mirrors no subpackage"


def test_the_top_level_holds_at_most_twelve_modules():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 12, modules


def test_reading_experiment_and_study_files_imports_no_tensorflow():
    code = ("import sys, kerasexp.config, kerasexp.tuning.config\n"
            "kerasexp.config.load_experiment('studies/fmnist_best.toml')\n"
            "kerasexp.tuning.config.load_study_file('studies/pbc96_study.toml', data=False)\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'optuna') if m in sys.modules))")
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
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [node, nxt]))
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not cycles, cycles


def test_the_api_is_imported_lazily_and_named_at_the_top():
    code = ("import sys, kerasexp\n"
            "assert 'kerasexp.api' not in sys.modules and 'tensorflow' not in sys.modules\n"
            "assert kerasexp.train.__module__ == 'kerasexp.api' and kerasexp.UserError.__module__ == 'kerasexp.errors'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
