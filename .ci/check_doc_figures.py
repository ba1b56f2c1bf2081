"""Checks that every figure docs/figures.toml lists is quoted in its doc and equals its report file.

Usage: python .ci/check_doc_figures.py [docs/figures.toml]; exits 1 listing every mismatch."""

from __future__ import annotations

import csv
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def number_text(value, digits: int | None) -> str:
    return str(value) if digits is None else f"{float(value):.{digits}f}"


def from_csv(path: Path, spec: dict) -> str:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            r for r in csv.DictReader(handle) if all(r.get(k) == str(v) for k, v in spec["where"].items())
        ]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows match {spec['where']}")
    return number_text(rows[0][spec["column"]], spec.get("digits"))


def from_json(path: Path, spec: dict) -> str:
    value = json.loads(path.read_text(encoding="utf-8"))
    for key in spec["key"].split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    if isinstance(value, list):
        return spec.get("join", ", ").join(number_text(v, spec.get("digits")) for v in value)
    return number_text(value, spec.get("digits"))


def check(entry: dict) -> str | None:
    """None when the figure is quoted and matches its report, else what is wrong."""
    doc, report, value = ROOT / entry["doc"], ROOT / entry["report"], entry["value"]
    where = f"{entry['doc']}: {value!r}"
    if entry["quote"] not in doc.read_text(encoding="utf-8"):
        return f"{where}: the quote {entry['quote']!r} is not in the doc"
    if value not in entry["quote"]:
        return f"{where}: the value is not inside its quote"
    if not report.exists():
        return f"{where}: {entry['report']} does not exist"
    if "text" in entry:
        if entry["text"] not in report.read_text(encoding="utf-8"):
            return f"{where}: {entry['text']!r} is not in {entry['report']}"
        return None if value in entry["text"] else f"{where}: the value is not inside {entry['text']!r}"
    try:
        found = from_csv(report, entry["csv"]) if "csv" in entry else from_json(report, entry["json"])
    except (LookupError, ValueError) as err:
        return f"{where}: cannot read it from {entry['report']} ({err})"
    return None if found == value else f"{where}: {entry['report']} says {found}"


def main(argv: list[str]) -> int:
    table = Path(argv[0]) if argv else ROOT / "docs" / "figures.toml"
    entries = tomllib.loads(table.read_text(encoding="utf-8"))["figure"]
    problems = [p for p in map(check, entries) if p]
    for problem in problems:
        print(problem)
    print(f"{len(entries) - len(problems)} of {len(entries)} quoted figures match their reports")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
