"""The ledger of test-set looks: one CSV row each time a test split is predicted (a run's model,
a k-fold fold's, a study's retrain), so that how often a split has been seen, and by what, is on
record (docs/evidence.md, "Every look counts"). A finished run that is only loaded adds no row.

Where the ledger is (one rule, first match wins):
1. the file named by $KERASEXP_TEST_LEDGER;
2. test_ledger.csv in the nearest folder above the run that holds one (reports/test_ledger.csv
   for every run under reports/);
3. test_ledger.csv beside the run's top folder: the run folder, or for seed_S/ and fold_K/
   folders the group or run that holds them (runs/a/seed_0 -> runs/test_ledger.csv).

A row is appended in one write() under an flock, so processes training side by side never
interleave or lose a row. `kerasexp reports ledger --backfill` adds rows for finished runs made
before the ledger existed, from their run.json; `kerasexp reports ledger` counts looks a split."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from kerasexp import rundir
from kerasexp.errors import UserError

LEDGER = "test_ledger.csv"
ENV = "KERASEXP_TEST_LEDGER"
COLUMNS = (
    "time",
    "data_fingerprint",
    "dataset",
    "test_images",
    "split",
    "run",
    "config_sha256",
    "monitor",
    "val_value",
    "command",
    "commit",
    "source_sha256",
    "recorded_by",
)
LOOK, BACKFILL = "look", "backfill"  # recorded_by: at the look itself, or later from run.json
NESTED = re.compile(r"(seed|fold)_\d+")  # folders inside a run group or a k-fold run


def data_fingerprint(x_test, y_test) -> str:
    """sha256 (first 16 hex digits) over the test labels and image bytes, shapes and dtypes: the
    same images in the same order give the same print, whatever config loaded them."""
    import numpy as np

    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(y_test), np.ascontiguousarray(x_test)):
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def split_of(exp) -> dict:
    """What chose the test split: the dataset section, and evaluation.test_noise_std if set."""
    from dataclasses import asdict

    split = asdict(exp.dataset)
    if exp.evaluation.test_noise_std:
        split["test_noise_std"] = exp.evaluation.test_noise_std
    return split


def config_hash(exp) -> str:
    """sha256 of the resolved config, without the keys that leave results alone (RESULT_NEUTRAL)."""
    from kerasexp.config import to_dict

    flat = rundir._flat(to_dict(exp))
    if flat.get("training.threads") == 0:  # TF's default: what every run trained with before the key
        del flat["training.threads"]  # existed, so their recorded hashes stay theirs
    return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:16]


def val_figure(exp, choices: dict) -> tuple[str, object]:
    """The validation figure behind the look: the monitor at the chosen epoch, or for a study's
    retrain the best trial's value ('' when the run chose on nothing)."""
    epoch = choices.get("epoch") or {}
    if exp.training.monitor in epoch:
        return exp.training.monitor, epoch[exp.training.monitor]
    if "value" in (choices.get("trial") or {}):
        return "trial value", choices["trial"]["value"]
    return exp.training.monitor, ""


def ledger_path(run_dir: str | Path) -> Path:
    """The ledger a look at `run_dir` goes to (the module's docstring has the rule)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    top = Path(os.path.abspath(run_dir))
    while NESTED.fullmatch(top.name) and top.parent != top:
        top = top.parent
    for folder in top.parents:
        if (folder / LEDGER).is_file():
            return folder / LEDGER
    return top.parent / LEDGER


def _shown(run_dir: Path, ledger: Path) -> str:
    """The run's path relative to the ledger's folder (portable with the folder), else absolute."""
    run, base = Path(os.path.abspath(run_dir)), Path(os.path.abspath(ledger)).parent
    return run.relative_to(base).as_posix() if run.is_relative_to(base) else run.as_posix()


def _line(row: dict) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([row.get(c, "") for c in COLUMNS])
    return buffer.getvalue()


def _header() -> str:
    return ",".join(COLUMNS) + "\n"


def _locked(path: Path) -> int:
    """A descriptor of `path` opened to append, holding its flock; opened again if the file was
    moved away or replaced while this process waited for the lock."""
    import fcntl

    from kerasexp.atomic import _same_file, write_errors

    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with write_errors(path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_file(fd, path):
            return fd
        os.close(fd)


def _write_all(fd: int, text: str) -> None:
    """One write() for a row; a long back-fill may take more (still under the lock)."""
    data = memoryview(text.encode())
    while data:
        data = data[os.write(fd, data) :]


def append(path: str | Path, row: dict) -> Path:
    """One row appended in one write() under the ledger's lock (the header first, if it is new)."""
    path = Path(path)
    fd = _locked(path)
    try:
        _write_all(fd, (_header() if os.fstat(fd).st_size == 0 else "") + _line(row))
    finally:
        os.close(fd)
    return path


def record_look(exp, data, run_dir: str | Path, choices: dict) -> Path:
    """The hook: called where a test split is about to be predicted; appends its row."""
    from kerasexp.provenance import code_version, command_line, timestamp

    ledger = ledger_path(run_dir)
    monitor, value = val_figure(exp, choices)
    code = code_version()
    return append(
        ledger,
        {
            "time": timestamp(),
            "data_fingerprint": data_fingerprint(data.x_test, data.y_test),
            "dataset": exp.dataset.name,
            "test_images": len(data.y_test),
            "split": json.dumps(split_of(exp), sort_keys=True),
            "run": _shown(Path(run_dir), ledger),
            "config_sha256": config_hash(exp),
            "monitor": monitor,
            "val_value": value,
            "command": command_line(),
            "commit": code["commit"] or "",
            "source_sha256": code["code"]["source_sha256"],
            "recorded_by": LOOK,
        },
    )


def read_ledger(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and set(rows[0]) != set(COLUMNS):
        raise UserError(
            f"{path}: not a test ledger (columns {', '.join(rows[0])}); move it away or "
            f"set ${ENV} to another file"
        )
    return rows


# ---- back-fill: rows for runs made before the ledger, from their records -------------------------


@dataclass
class Fingerprints:
    """One data load a distinct split (the 67 committed runs use 8), with why one failed."""

    seen: dict

    def of(self, exp) -> tuple[str, int | str]:
        key = json.dumps(split_of(exp), sort_keys=True)
        if key not in self.seen:
            self.seen[key] = _load_fingerprint(exp)
        return self.seen[key]


def _load_fingerprint(exp) -> tuple[str, int | str]:
    """The split loaded as run_experiment loads it, without training ('' where it is not here)."""
    from dataclasses import replace

    from kerasexp.data import load_dataset

    try:
        data = load_dataset(exp.dataset)
    except (UserError, OSError) as err:
        print(f"ledger: no fingerprint for {exp.dataset.name} {exp.dataset.data_dir}: {err}")
        return "", ""
    if exp.evaluation.test_noise_std:
        from kerasexp.augment.image_policies import add_white_noise

        noisy = add_white_noise(data.x_test, exp.evaluation.test_noise_std, exp.dataset.seed)
        data = replace(data, x_test=noisy)
    return data_fingerprint(data.x_test, data.y_test), len(data.y_test)


def backfill_rows(run: Path, ledger: Path, prints: Fingerprints) -> list[dict]:
    """A finished run's looks from its record: one row, or one a fold (as the hook writes them)."""
    from kerasexp.config import experiment_from_dict

    exp = experiment_from_dict(rundir.read_config(run))
    record = rundir.read_record(run)
    machine = record.get("machine") or {}
    fingerprint, images = prints.of(exp)
    if images != "" and images != record.get("test_images", images):  # not the split it was tested on
        print(
            f"ledger: {run}: {record['test_images']} test images recorded, {images} loaded here; "
            "no fingerprint"
        )
        fingerprint = ""
    choices = record.get("evaluation_choices") or {}
    looks = (
        [(rundir.fold_dir(run, c["fold"]), c) for c in choices["folds"]]
        if "folds" in choices
        else [(run, choices)]
    )
    rows = []
    for folder, chosen in looks:
        monitor, value = val_figure(exp, chosen)
        rows.append(
            {
                "time": record.get("started", ""),
                "data_fingerprint": fingerprint,
                "dataset": exp.dataset.name,
                "test_images": images,
                "split": json.dumps(split_of(exp), sort_keys=True),
                "run": _shown(folder, ledger),
                "config_sha256": config_hash(exp),
                "monitor": monitor,
                "val_value": value,
                "command": record.get("command", ""),
                "commit": machine.get("commit") or "",
                "source_sha256": (machine.get("code") or {}).get("source_sha256", ""),
                "recorded_by": BACKFILL,
            }
        )
    return rows


def _looked(rows: list[dict]) -> dict[str, str]:
    """Each run's latest row time: a record started at or before it is on the ledger already."""
    latest: dict[str, str] = {}
    for row in rows:
        latest[row["run"]] = max(latest.get(row["run"], ""), row["time"])
    return latest


def _new(row: dict, latest: dict[str, str]) -> bool:
    return row["run"] not in latest or latest[row["run"]] < row["time"]


def backfill(root: str | Path, out=print) -> Path:
    """Append rows for every finished run under `root` that the ledger lacks, from its run.json
    (time: its start; command and commit as recorded), in time order. Nothing is removed: a run
    retrained since keeps its old rows beside the new one's, and a second back-fill adds nothing."""
    import kerasexp

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder of runs; give --root")
    kerasexp.import_tensorflow_quietly()  # resizing a split (dataset.image_size) runs TensorFlow
    ledger = Path(os.environ.get(ENV) or root / LEDGER)
    fd = _locked(ledger)  # looks appended meanwhile wait: none is lost or counted twice
    try:
        rows = read_ledger(ledger)
        latest, prints, added = _looked(rows), Fingerprints({}), []
        for run in filter(rundir.is_finished, rundir.finished_runs(root)):
            if _new({"run": _shown(run, ledger), "time": rundir.read_record(run).get("started", "")}, latest):
                added += [r for r in backfill_rows(run, ledger, prints) if _new(r, latest)]
        added.sort(key=lambda r: (r["time"], r["run"]))
        _write_all(fd, (_header() if os.fstat(fd).st_size == 0 else "") + "".join(map(_line, added)))
    finally:
        os.close(fd)
    out(
        f"{ledger}: {len(added)} rows back-filled from the records of the runs under {root}, "
        f"{len(rows)} rows were there"
    )
    return ledger


# ---- counting looks ------------------------------------------------------------------------------


def by_split(rows: list[dict]) -> dict[str, list[dict]]:
    """Looks grouped by test split (its fingerprint; its config where none could be taken), each
    in time order, splits in the order of their first look."""
    groups: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["time"], r["run"])):
        groups.setdefault(row["data_fingerprint"] or "config " + row["split"], []).append(row)
    return groups


def split_label(row: dict) -> str:
    split = json.loads(row["split"])
    keys = ("data_dir", "image_size", "limit", "long_tail_ratio", "test_noise_std")
    shown = [f"{k} {split[k]}" for k in keys if split.get(k)]
    return row["dataset"] + (f" ({', '.join(shown)})" if shown else "")


def looks_table(rows: list[dict]) -> str:
    """Markdown: one line a test split, with its looks and the first and last (no backticks in the
    first cell: reports/README.md's file index is the rows that start with one)."""
    lines = [
        "| test split | data | test images | looks | configs | first look | last look |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, looks in by_split(rows).items():
        first, last = looks[0], looks[-1]
        lines.append(
            f"| {key if first['data_fingerprint'] else '?'} | {split_label(first)} "
            f"| {first['test_images']} | {len(looks)} | {len({r['config_sha256'] for r in looks})} "
            f"| {first['time']} `{first['run']}` | {last['time']} `{last['run']}` |"
        )
    return "\n".join(lines)


def _figure(value: str) -> str:
    try:
        return f"{float(value):.4f}"
    except ValueError:
        return value or "-"


def looks_order(rows: list[dict]) -> str:
    """Every look, numbered within its split, in time order, with its validation figure."""
    lines = []
    for key, looks in by_split(rows).items():
        lines.append(f"{key}: {split_label(looks[0])}")
        lines += [
            f"  {i}. {r['time']}  {r['run']}  ({r['monitor']} {_figure(r['val_value'])}; {r['recorded_by']})"
            for i, r in enumerate(looks, start=1)
        ]
    return "\n".join(lines)


def looks_before(rows: list[dict], runs: list[str]) -> str:
    """Markdown: for each run folder (or group of them), how many looks its split had before the
    first look of what the folder holds now: a folder trained again (deleted, retrained) has the
    latest row of each of its runs (seed_S/, fold_K/) as its own; the earlier ones count before."""
    lines = ["| run folder | test split | looks before it |", "|---|---|---|"]
    for run in runs:
        name = run.rstrip("/")
        own = sorted(
            (r for r in rows if r["run"] == name or r["run"].startswith(name + "/")), key=lambda r: r["time"]
        )
        if not own:
            raise UserError(
                f"{run}: no look in the ledger; give a run folder as the ledger names it "
                "(relative to the ledger's folder)"
            )
        latest = {r["run"]: r for r in own}  # each run's last look: the one of its current files
        first = min(latest.values(), key=lambda r: r["time"])
        fingerprint = first["data_fingerprint"]
        before = sum(r["data_fingerprint"] == fingerprint and r["time"] < first["time"] for r in rows)
        lines.append(f"| {name}/ | {fingerprint or '?'} | {before} |")
    return "\n".join(lines)


def main(root: str | Path, do_backfill: bool = False, order: bool = False, before=(), out=print) -> int:
    """`kerasexp reports ledger`: back-fill if asked, then the looks a split (or before each run)."""
    if not Path(root).is_dir():
        raise UserError(f"{root}: no such folder of runs; give --root")
    ledger = backfill(root, out) if do_backfill else Path(os.environ.get(ENV) or Path(root) / LEDGER)
    rows = read_ledger(ledger)
    if not rows:
        raise UserError(
            f"{ledger}: no ledger of test-set looks here; make one with "
            f"`kerasexp reports ledger --backfill --root {root}`"
        )
    out(looks_before(rows, list(before)) if before else looks_order(rows) if order else looks_table(rows))
    return 0
