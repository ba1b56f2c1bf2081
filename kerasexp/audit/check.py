"""`kerasexp reports check`: a report that proves itself instead of being trusted.

For every run folder under the root: its record files read (rundir.damage), today's code would
reproduce it (rundir.stale_reason), and metrics.json equals the metrics recomputed from
predictions.npz (runs.run_metrics; counts exactly, floats within 1e-12). Every summary with
an in-memory builder is rebuilt from its runs and compared byte for byte: seed groups (seeds.json,
seeds.csv, seeds.md), `kerasexp compare` tables (from the command their .md records) and study
summaries (summary.md from summary.json). The files no builder covers are listed, as are the
commits the runs record. With `--replay N`, N runs chosen by a seed train their first epoch again
(the full config, stopped after one epoch) and the first history row must equal the recorded one
exactly, where the record's CPU flags, threads and libraries are this machine's."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kerasexp import rundir
from kerasexp.errors import UserError

FLOAT_TOLERANCE = 1e-12


@dataclass
class Audit:
    """What the check found: `problems` fail it (one line each, "KIND PATH: why"), `notes` inform."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    covered: set[Path] = field(default_factory=set)
    bad_runs: set[Path] = field(default_factory=set)
    tables: int = 0

    def fail(self, kind: str, where, why: str) -> None:
        self.problems.append(f"{kind} {where}: {why}")


def first_difference(recorded, rebuilt, at: str = "") -> str | None:
    """Where two JSON-like values differ (None: they agree): keys, lengths, strings and integers
    exactly, floats within FLOAT_TOLERANCE."""
    if isinstance(recorded, dict) and isinstance(rebuilt, dict):
        for key in sorted(set(recorded) | set(rebuilt), key=str):
            if key not in recorded or key not in rebuilt:
                return f"{at}{key} is only in the {'rebuilt' if key in rebuilt else 'recorded'} one"
            found = first_difference(recorded[key], rebuilt[key], f"{at}{key}.")
            if found:
                return found
        return None
    if isinstance(recorded, (list, tuple)) and isinstance(rebuilt, (list, tuple)):
        if len(recorded) != len(rebuilt):
            return f"{at.rstrip('.')} has {len(recorded)} items recorded, {len(rebuilt)} rebuilt"
        return next(
            (
                d
                for i, (a, b) in enumerate(zip(recorded, rebuilt))
                if (d := first_difference(a, b, f"{at}{i}."))
            ),
            None,
        )
    if hasattr(rebuilt, "item"):  # numpy scalars
        rebuilt = rebuilt.item()
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (recorded, rebuilt))
    if numbers and (isinstance(recorded, float) or isinstance(rebuilt, float)):
        same = abs(recorded - rebuilt) <= FLOAT_TOLERANCE
    else:
        same = type(recorded) is type(rebuilt) and recorded == rebuilt
    return None if same else f"{at.rstrip('.')}: {recorded!r} recorded, {rebuilt!r} rebuilt"


def check_runs(root: Path, audit: Audit) -> list[Path]:
    """Each run folder: readable, current, and its metrics.json what its predictions give."""
    runs = rundir.finished_runs(root)
    for run in runs:
        before = len(audit.problems)
        _check_run(run, audit)
        if len(audit.problems) > before:
            audit.bad_runs.add(run)
    return runs


def _check_run(run: Path, audit: Audit) -> None:
    from kerasexp.runs import run_metrics

    problem = rundir.damage(run)
    if problem:
        audit.fail("damaged", run, problem)
        return
    try:
        stale = rundir.stale_reason(run)
    except UserError as err:  # a reader that damage() does not call
        stale = str(err)
    if stale:
        audit.fail("stale", run, stale)
    if not (run / rundir.PREDICTIONS).exists():
        return  # a table's record (the variants' run.json), not a run
    if not (run / rundir.METRICS).exists():
        audit.fail("tampered", run, f"no {rundir.METRICS}; rebuild it with `kerasexp report {run}`")
        return
    try:
        found = first_difference(rundir.read_metrics(run), _jsonable(run_metrics(run)))
    except UserError as err:
        found = str(err)
    if found:
        audit.fail("tampered", run / rundir.METRICS, f"differs from the metrics of predictions.npz ({found})")
    audit.covered.add(run / rundir.METRICS)


def _jsonable(value):
    """A value as it reads back from JSON (tuples as lists, numpy scalars as Python numbers)."""
    import json

    from kerasexp.atomic import _jsonable as encode

    return json.loads(json.dumps(value, default=encode))


def _same_text(path: Path, text: str, audit: Audit) -> None:
    audit.tables += 1
    audit.covered.add(path)
    if not path.exists():
        audit.fail("missing", path, "its builder makes it; rebuild it with the command it records")
        return
    saved = path.read_text(encoding="utf-8")
    if saved != text:
        line = next(
            (i for i, (a, b) in enumerate(zip(saved.splitlines(), text.splitlines()), 1) if a != b),
            min(len(saved.splitlines()), len(text.splitlines())) + 1,
        )
        audit.fail("tampered", path, f"differs from its rebuild from the runs (line {line})")


def check_seed_groups(root: Path, audit: Audit) -> None:
    """seeds.json, seeds.csv and seeds.md rebuilt from the seeds' metrics.json."""
    from kerasexp.runs import seed_summary

    for path in sorted(root.rglob(rundir.SEEDS)):
        try:
            saved = rundir.read_json(path)
            metrics = [rundir.read_metrics(rundir.seed_dir(path.parent, seed)) for seed in saved["seeds"]]
            summary, texts = seed_summary(saved["experiment"], saved["seeds"], metrics, saved["command"])
        except (UserError, KeyError, TypeError) as err:
            audit.fail("unbuildable", path, f"cannot be rebuilt ({err})")
            continue
        audit.tables += 1
        audit.covered.add(path)
        found = first_difference(saved, _jsonable(summary))
        if found:
            audit.fail("tampered", path, f"differs from its rebuild from the seeds' metrics.json ({found})")
        for name, text in texts.items():
            _same_text(path.parent / name, text, audit)


COMPARE_COMMAND = re.compile(
    r"this table was made by "
    r"`kerasexp compare (.+?) --out (\S+)( --against previous)?`"
)


def check_compare_tables(root: Path, audit: Audit) -> None:
    """NAME.md and NAME.csv of `kerasexp compare`, rebuilt with the command the .md records; the
    runs are found where they sit relative to the table (the root may have moved)."""
    from kerasexp.evaluation.compare import render

    for md in sorted(root.rglob("*.md")):
        text = md.read_text(encoding="utf-8", errors="replace")
        command = COMPARE_COMMAND.search(text)
        if not command:
            continue
        run_dirs, out, against = command[1].split(), command[2], "previous" if command[3] else "first"
        title = text.splitlines()[0].removeprefix("# ")
        found = [md.parent / os.path.relpath(d, Path(out).parent) for d in run_dirs]
        try:
            _, texts = render(run_dirs, out, title, against, found)
        except (UserError, KeyError, ValueError) as err:
            audit.fail("unbuildable", md, f"cannot be rebuilt from its runs ({err})")
            continue
        for suffix, rebuilt in texts.items():
            _same_text(md.with_suffix(suffix), rebuilt, audit)


def check_study_summaries(root: Path, audit: Audit) -> None:
    """A study report's summary.md rendered again from its summary.json."""
    import json

    from kerasexp.tuning.report import summary_markdown

    for path in sorted(root.rglob("summary.json")):
        md = path.with_suffix(".md")
        if not md.exists() or not md.read_text(encoding="utf-8").startswith("# Study "):
            continue
        try:
            rebuilt = summary_markdown(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as err:
            audit.fail("unbuildable", md, f"cannot be rebuilt from summary.json ({err})")
            continue
        _same_text(md, rebuilt, audit)


# the records a run or table is made FROM (what the checks read), not derived files
INPUTS = {
    rundir.CONFIG,
    rundir.RECORD,
    rundir.PREDICTIONS,
    rundir.HISTORY,
    rundir.DONE,
    "summary.json",
    "study.db",
    "study.db.lock",
    "study.txt",
    "trials.csv",
    "best_config.toml",
    "README.md",
    "regenerate.sh",
}


def not_checked(root: Path, audit: Audit) -> str:
    """The derived files no builder covered, by name (the figures, per-class tables...)."""

    def in_a_run(p: Path) -> bool:
        return p.parent.name.startswith(("seed_", "fold_")) or (p.parent / rundir.RECORD).exists()

    left = Counter(
        p.name if in_a_run(p) else str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and p not in audit.covered
        and p.name not in INPUTS
        and rundir.TENSORBOARD not in p.parts
    )
    return ", ".join(f"{name}" + (f" (x{n})" if n > 1 else "") for name, n in sorted(left.items()))


def commits(runs: list[Path]) -> str:
    """The commits (and source hashes, where recorded) that made the runs, with how many each."""
    made = Counter()
    for run in runs:
        machine = rundir.read_record(run).get("machine", {}) if not rundir.damage(run) else {}
        code = machine.get("code", {}).get("source_sha256")
        made[(machine.get("commit") or "unrecorded") + (f" (source {code[:12]})" if code else "")] += 1
    return ", ".join(f"{commit} x{n}" for commit, n in sorted(made.items()))


def check_reports(
    root: str | Path, replay: int = 0, replay_seed: int = 0, replay_max_images: int | None = None, out=print
) -> int:
    """Run every check under `root`, print one line a problem and the coverage; 1 if anything failed."""
    import kerasexp

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder of reports; give --root")
    kerasexp.import_tensorflow_quietly()  # the metrics' code (kerasexp.runs) imports it
    audit = Audit()
    runs = check_runs(root, audit)
    check_seed_groups(root, audit)
    check_compare_tables(root, audit)
    check_study_summaries(root, audit)
    if replay:
        from kerasexp.audit.replay import replay_runs

        replay_runs(runs, replay, replay_seed, replay_max_images, audit)
    for line in audit.problems + audit.notes:
        out(line)
    out(f"made by commits: {commits(runs) or 'none'}")
    out(f"not checked (no in-memory builder): {not_checked(root, audit) or 'nothing'}")
    out(
        f"{len(runs) - len(audit.bad_runs)} of {len(runs)} run folders under {root} are what "
        f"today's code makes; {audit.tables} tables rebuilt; {len(audit.problems)} problems"
    )
    return 1 if audit.problems else 0
