"""The documentation's reference pages, made from the code so that they cannot drift from it.

- the experiment and study file keys, from the config dataclasses and their `Attributes:` docstrings;
- the command line, from the argparse parsers the `kerasexp` command builds;
- the import table (docs/imports.toml, which tests/test_architecture.py enforces) and what the code
  imports today.

The MkDocs hook (docs/hooks/reference.py) swaps `<!-- reference:NAME -->` in a page for
`render(NAME)`; tests/test_docs.py compares these texts with the dataclasses and the parsers.
Reading the parsers and dataclasses imports no TensorFlow.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import re
import textwrap
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MISSING_DOC = "(not documented in the docstring)"


def attribute_docs(cls) -> dict[str, str]:
    """`name: meaning` entries of a Google-style `Attributes:` block; `a, b: text` documents both."""
    doc = (
        textwrap.dedent((cls.__doc__ or "").split("Attributes:", 1)[-1])
        if "Attributes:" in (cls.__doc__ or "")
        else ""
    )
    entries, current = {}, None
    indent = None
    for line in doc.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        match = re.match(r"\s*([A-Za-z_][\w, ]*):\s(.*)", line)
        if depth == indent and match:
            current = [n.strip() for n in match.group(1).split(",")]
            for name in current:
                entries[name] = match.group(2).strip()
        elif current:
            for name in current:
                entries[name] += " " + line.strip()
    return entries


def _type_text(hint) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_text(a) for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    return {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        dict: "table",
        list: "list",
        tuple: "list",
    }.get(origin, getattr(origin, "__name__", str(origin)))


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _meaning(name: str, docs: dict[str, str]) -> str:
    """The key's own entry, else the entry that names it (e.g. step_every under schedule)."""
    if name in docs:
        return docs[name]
    for other, text in docs.items():
        if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text):
            return f"see `{other}`."
    return MISSING_DOC


def key_rows(cls) -> list[tuple[str, str, str, str]]:
    """(key, type, default as TOML, meaning) for every field of a config dataclass."""
    from kerasexp.config import toml_value

    hints, docs = typing.get_type_hints(cls), attribute_docs(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = _default(f)
        shown = "required" if default is dataclasses.MISSING else toml_value(default).replace("{  }", "{}")
        rows.append((f.name, _type_text(hints[f.name]), shown, _meaning(f.name, docs)))
    return rows


def config_sections() -> dict[str, type]:
    """Every table of an experiment or study file and the dataclass that reads it."""
    from kerasexp.config import SECTIONS
    from kerasexp.tuning.config import HeadSearch, StudyConfig

    return {**SECTIONS, "study": StudyConfig, "search.head": HeadSearch}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(cls) -> str:
    doc = (cls.__doc__ or "").strip()
    first = doc.split("\n\n", 1)[0].split("Attributes:", 1)[0].strip()
    return " ".join(first.split())


def config_reference() -> str:
    """Markdown: one table per section, one row per key."""
    out = []
    for section, cls in config_sections().items():
        out += [f"### `[{section}]`", ""]
        if _summary(cls):
            out += [_summary(cls), ""]
        out += [
            f"Read by `{cls.__module__}.{cls.__name__}`.",
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{key}` | {kind} | `{_cell(default)}` | {_cell(meaning)} |"
            for key, kind, default, meaning in key_rows(cls)
        ]
        out.append("")
    return "\n".join(out)


# Verbs whose arguments another parser owns (`kerasexp variants ...` is `python -m kerasexp.variants ...`).
DELEGATED = {"variants": "kerasexp.variants:build_parser"}


def _parser(spec: str) -> argparse.ArgumentParser:
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)()


def command_parsers() -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """`kerasexp` and each verb: (its parser, its one-line help), in the order `--help` lists them."""
    root = _parser("kerasexp.cli:build_parser")
    found = {"kerasexp": (root, root.description or "")}
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for verb, parser in action.choices.items():
                if verb in DELEGATED:
                    parser = _parser(DELEGATED[verb])
                found[f"kerasexp {verb}"] = (parser, helps.get(verb, ""))
    return found


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's own arguments (no --help, no sub-command slot)."""
    return [
        a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def argument_name(action: argparse.Action) -> str:
    return ", ".join(action.option_strings) if action.option_strings else (action.metavar or action.dest)


def _argument_help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%(" in text:
        values = {**vars(action), "prog": prog}
        values["choices"] = ", ".join(map(str, action.choices or []))
        text = text % values
    return text


# argparse `type=` functions (kerasexp.cli.args) as a reader would name the value.
TYPE_NAMES = {
    "": "text",
    "str": "text",
    "int": "integer",
    "float": "number",
    "int_at_least": "integer",
    "seed_list": "seeds, e.g. 0,1,2",
    "fraction": "number in [0, 1)",
}


def _argument_value(action: argparse.Action) -> str:
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        return "one of " + ", ".join(f"`{c}`" for c in action.choices)
    if action.nargs == 0:
        return "flag"
    if isinstance(action, argparse._AppendAction):
        return "repeatable"
    kind = getattr(action.type, "__qualname__", "").split(".")[0] if action.type else ""
    return TYPE_NAMES.get(kind, kind.replace("_", " "))


def _argument_default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if (
        action.default is None
        or action.default is False
        or action.default == argparse.SUPPRESS
        or action.nargs == 0
    ):
        return ""
    if isinstance(action.default, list):
        return "`" + ",".join(map(str, action.default)) + "`"
    return f"`{action.default}`" if action.default != "" else '`""`'


def cli_reference() -> str:
    """Markdown: one section per verb with its usage and a table of its arguments."""
    out = []
    for name, (parser, summary) in command_parsers().items():
        out += [f"### `{name}`", ""]
        if summary:
            out += [" ".join(summary.split()), ""]
        usage = " ".join(parser.format_usage().split())
        out += ["```text", usage, "```", ""]
        rows = arguments(parser)
        if rows:
            out += ["| argument | value | default | meaning |", "|---|---|---|---|"]
            for action in rows:
                name_text = argument_name(action)
                out.append(
                    f"| `{name_text}` | {_cell(_argument_value(action))} | {_cell(_argument_default(action))} "
                    f"| {_cell(' '.join(_argument_help(action, parser.prog).split()))} |"
                )
            out.append("")
    return "\n".join(out)


def import_rules(path: Path | None = None) -> dict:
    """docs/imports.toml: which part may import which, the ground, and the explicit exceptions."""
    import tomllib

    return tomllib.loads((path or ROOT / "docs" / "imports.toml").read_text(encoding="utf-8"))


def _part_of(module: str) -> str:
    """kerasexp.training.loop -> training; kerasexp.api -> api; kerasexp -> kerasexp."""
    parts = module.split(".")
    return "kerasexp" if len(parts) == 1 else parts[1]


def module_imports(root: Path | None = None) -> dict[str, set[str]]:
    """module -> the parts it imports (at module level and inside functions), itself excluded."""
    root = root or ROOT / "kerasexp"
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join((root.name, *parts)).removesuffix(".__init__")
        targets = found.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if isinstance(node, ast.ImportFrom) and node.module == root.name:  # from kerasexp import rundir
                names = [
                    f"{root.name}.{a.name}"
                    for a in node.names
                    if (root / a.name).is_dir() or (root / f"{a.name}.py").exists()
                ] or [root.name]
            targets.update(_part_of(n) for n in names if n == root.name or n.startswith(root.name + "."))
        targets.discard(_part_of(module))
    return found


def package_imports(root: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """part -> imported part -> the modules that import it (top level and inside functions)."""
    edges: dict[str, dict[str, list[str]]] = {}
    for module, targets in module_imports(root).items():
        for target in targets:
            edges.setdefault(_part_of(module), {}).setdefault(target, []).append(module)
    return {s: {t: sorted(m) for t, m in sorted(ts.items())} for s, ts in sorted(edges.items())}


def allowed(part: str, rules: dict | None = None) -> set[str]:
    """What `part` may import: its row, plus the ground unless it is strict; {"*"} for anything."""
    rules = rules or import_rules()
    row = set(rules["may_import"].get(part, []))
    return row if part in rules.get("strict", []) else row | set(rules["ground"])


def climbs(root: Path | None = None, rules: dict | None = None) -> list[str]:
    """Every import the table does not allow and no exception names, and every part the table
    lacks: 'kerasexp.x.y imports z (x may import: ...)'."""
    rules = rules or import_rules()
    excepted = {(e["module"], e["imports"]) for e in rules.get("exception", [])}
    found = []
    for module, targets in sorted(module_imports(root).items()):
        part = _part_of(module)
        if part not in rules["may_import"]:
            found.append(f"{module}: its part {part!r} is not in docs/imports.toml; give it a row")
            continue
        may = allowed(part, rules)
        for target in sorted(targets):
            if "*" not in may and target not in may and (module, target) not in excepted:
                found.append(f"{module} imports {target} ({part} may import: {', '.join(sorted(may))})")
    return found


def unused_exceptions(root: Path | None = None, rules: dict | None = None) -> list[str]:
    """Exceptions that no import needs any more (the table should lose them)."""
    rules = rules or import_rules()
    imports = module_imports(root)
    return [
        f"{e['module']} -> {e['imports']}"
        for e in rules.get("exception", [])
        if e["imports"] not in imports.get(e["module"], set())
    ]


def imports_reference() -> str:
    """Markdown: docs/imports.toml's table, what the code imports today, and the exceptions."""
    rules, imports = import_rules(), package_imports()
    ground = set(rules["ground"])
    out = ["| part | may import | imports today |", "|---|---|---|"]
    for part, row in rules["may_import"].items():
        may = ", ".join(row).replace("*", "anything")
        if part not in rules.get("strict", []) and "*" not in row:
            may = f"{may} (and the ground)" if row else "the ground only"
        today = [t for t in imports.get(part, {}) if t not in ground or part in rules.get("strict", [])]
        out.append(f"| {part} | {may} | {', '.join(today) or '—'} |")
    out += [
        "",
        f"The ground: {', '.join(rules['ground'])} (every part but {', '.join(rules['strict'])}).",
        "",
        "Exceptions, each kept for a reason:",
        "",
    ]
    out += [f"- `{e['module']}` imports {e['imports']}: {e['why']}" for e in rules.get("exception", [])]
    return "\n".join(out) + "\n"


def results_index(root: Path | None = None) -> str:
    """reports/README.md (the results index) without its title, its links made relative to docs/."""
    root = root or ROOT
    text = (root / "reports" / "README.md").read_text(encoding="utf-8")
    text = text.split("\n", 1)[1] if text.startswith("# ") else text
    return re.sub(r"\]\(\.\./docs/([^)]+)\)", r"](\1)", text)


RENDERERS = {
    "config": config_reference,
    "cli": cli_reference,
    "imports": imports_reference,
    "results": results_index,
}


def render(name: str) -> str:
    return RENDERERS[name]()


def fill(markdown: str) -> str:
    """Replace every `<!-- reference:NAME -->` marker with its generated text."""
    return re.sub(r"<!-- reference:(\w+) -->", lambda m: render(m.group(1)), markdown)
