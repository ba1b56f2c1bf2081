"""The documentation's reference pages, made from the code so that they cannot drift from it.

- the experiment and study file keys, from the config dataclasses and their `Attributes:` docstrings;
- the command line, from the argparse parsers the `kerasexp` command builds;
- the imports between subpackages today, against the target table of docs/architecture.md.

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
    doc = textwrap.dedent((cls.__doc__ or "").split("Attributes:", 1)[-1]) if "Attributes:" in (cls.__doc__ or "") \
        else ""
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
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType")):
        return " or ".join(_type_text(a) for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    return {str: "string", int: "integer", float: "number", bool: "boolean", dict: "table",
            list: "list", tuple: "list"}.get(origin, getattr(origin, "__name__", str(origin)))


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
        out += [f"Read by `{cls.__module__}.{cls.__name__}`.", "", "| key | type | default | meaning |",
                "|---|---|---|---|"]
        out += [f"| `{key}` | {kind} | `{_cell(default)}` | {_cell(meaning)} |"
                for key, kind, default, meaning in key_rows(cls)]
        out.append("")
    return "\n".join(out)


# Verbs whose arguments another parser owns (`kerasexp variants ...` is `python -m kerasexp.variants ...`).
DELEGATED = {"variants": "kerasexp.variants:build_parser"}


def _parser(spec: str) -> argparse.ArgumentParser:
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)()


def command_parsers() -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """`kerasexp` and each verb: (its parser, its one-line help), in the order `--help` lists them."""
    root = _parser("kerasexp.cli.commands:build_parser")
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
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def argument_name(action: argparse.Action) -> str:
    return ", ".join(action.option_strings) if action.option_strings else (action.metavar or action.dest)


def _argument_help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%(" in text:
        values = {**vars(action), "prog": prog}
        values["choices"] = ", ".join(map(str, action.choices or []))
        text = text % values
    return text


# argparse `type=` functions (kerasexp.errors) as a reader would name the value.
TYPE_NAMES = {"": "text", "str": "text", "int": "integer", "float": "number", "int_at_least": "integer",
              "seed_list": "seeds, e.g. 0,1,2", "fraction": "number in [0, 1)"}


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
    if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
            or action.nargs == 0:
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
                out.append(f"| `{name_text}` | {_cell(_argument_value(action))} | {_cell(_argument_default(action))} "
                           f"| {_cell(' '.join(_argument_help(action, parser.prog).split()))} |")
            out.append("")
    return "\n".join(out)


# The target of docs/architecture.md: which package may import which. `*` = any package.
ALLOWED = {
    "cli": ["*"],
    "api": ["runs", "tuning", "evaluation", "config", "rundir"],
    "runs": ["training", "evaluation", "data", "rundir", "config", "provenance"],
    "tuning": ["runs", "training", "evaluation", "data", "models", "augment", "config", "rundir"],
    "bench": ["runs", "training", "evaluation", "data", "models", "augment", "config", "rundir"],
    "training": ["data", "models", "augment", "config"],
    "evaluation": ["models", "data", "config"],
    "data": ["registry"],
    "models": ["registry"],
    "augment": ["registry"],
    "config": ["registry"],
}
# The ground every package may stand on: one-line errors, the one registry form, atomic writes, and
# the package root (its version and import_tensorflow_quietly).
SHARED = {"errors", "registry", "io", "kerasexp"}
# Today's name of a target package (experiment.py becomes runs.py).
TODAY = {"experiment": "runs"}


def _package_of(module: str) -> str:
    parts = module.split(".")
    return "kerasexp" if len(parts) == 1 else TODAY.get(parts[1], parts[1])


def package_imports(root: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the modules that import it (top level and inside functions)."""
    root = root or ROOT / "kerasexp"
    edges: dict[str, dict[str, set[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("kerasexp", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        source = _package_of(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module == "kerasexp":
                names = [f"kerasexp.{a.name}" for a in node.names
                         if (root / a.name).is_dir() or (root / f"{a.name}.py").exists()] or ["kerasexp"]
            for name in names:
                if name.startswith("kerasexp"):
                    target = _package_of(name)
                    if target != source:
                        edges.setdefault(source, {}).setdefault(target, set()).add(module)
    return {s: {t: sorted(m) for t, m in sorted(ts.items())} for s, ts in sorted(edges.items())}


def broken_rules(imports: dict | None = None) -> dict[str, dict[str, list[str]]]:
    """The imports of the ALLOWED packages that the target table does not allow."""
    imports = package_imports() if imports is None else imports
    broken = {}
    for source, allowed in ALLOWED.items():
        if "*" in allowed:
            continue
        bad = {t: m for t, m in imports.get(source, {}).items() if t not in allowed and t not in SHARED}
        if bad:
            broken[source] = bad
    return broken


def imports_reference() -> str:
    """Markdown: the target table beside what the code imports today."""
    imports, broken = package_imports(), broken_rules()
    out = ["| package | may import (target) | imports today | not yet kept |", "|---|---|---|---|"]
    for source, allowed in ALLOWED.items():
        today = [t for t in imports.get(source, {}) if t not in SHARED]
        name = source + (" (today `experiment.py`)" if source in TODAY.values() else "")
        bad = broken.get(source, {})
        out.append(f"| {name} | {', '.join(allowed).replace('*', 'anything')} | {', '.join(today) or '—'} | "
                   + (", ".join(f"**{t}** ({', '.join(f'`{m}`' for m in ms)})" for t, ms in bad.items())
                      or "kept") + " |")
    others = [s for s in imports if s not in ALLOWED and s not in SHARED]
    out += ["", "Modules outside the target table and what they import today:", ""]
    out += [f"- `{s}`: {', '.join(t for t in imports[s] if t not in SHARED) or 'nothing but the shared ground'}"
            for s in others]
    return "\n".join(out) + "\n"


def results_index(root: Path | None = None) -> str:
    """reports/README.md (the results index) without its title, its links made relative to docs/."""
    root = root or ROOT
    text = (root / "reports" / "README.md").read_text(encoding="utf-8")
    text = text.split("\n", 1)[1] if text.startswith("# ") else text
    return re.sub(r"\]\(\.\./docs/([^)]+)\)", r"](\1)", text)


RENDERERS = {"config": config_reference, "cli": cli_reference, "imports": imports_reference,
             "results": results_index}


def render(name: str) -> str:
    return RENDERERS[name]()


def fill(markdown: str) -> str:
    """Replace every `<!-- reference:NAME -->` marker with its generated text."""
    return re.sub(r"<!-- reference:(\w+) -->", lambda m: render(m.group(1)), markdown)
