"""The run folder, in one place: its file names, its fold folders, the config it records (and
the check that a rerun is the same config), writing every file into it (atomically: kerasexp/atomic.py)
and reading a finished run back. runs.py and evaluation/ compute what a run records and hand it
here; report, compare, predict and filters read it. tests/test_architecture.py checks that no other
module writes under a run folder.

    RUN/config.toml        the resolved experiment (TOML)
    RUN/run.json           how it was made: command, start, wall time, machine, data
    RUN/history.csv        one row an epoch            (k-fold: RUN/fold_K/...)
    RUN/best.keras         the best `monitor` epoch's model (a checkpoint, not always the one kept)
    RUN/model.keras        the model the test split was predicted with (after restore_best or the
                           weight average): what `predict` and Run.model load  (k-fold: RUN/fold_K/...)
    RUN/backup/            the last finished epoch, for resuming a killed run
    RUN/final.weights.h5, RUN/done.json   a finished training (a rerun loads, not retrains)
    RUN/head/              phase one of two-phase fine-tuning (a run folder of its own)
    RUN/predictions.npz    test-set probabilities, labels, class names
    RUN/metrics.json, per_class.*, confusion_matrix.*, curves.png   the report
    RUN/tensorboard/       TensorBoard event files (per-epoch scalars, test images)
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tomllib
from pathlib import Path

from kerasexp.errors import UserError, first_line

CONFIG = "config.toml"
RECORD = "run.json"
HISTORY = "history.csv"
BEST_MODEL = "best.keras"
MODEL = "model.keras"  # the kept model: the one predictions.npz was made with
BACKUP = "backup"
FINAL_WEIGHTS = "final.weights.h5"
DONE = "done.json"
HEAD = "head"
PREDICTIONS = "predictions.npz"
METRICS = "metrics.json"
CURVES = "curves.png"
TENSORBOARD = "tensorboard"  # TensorBoard event files (kerasexp.training.tensorboard)
SEEDS = "seeds.json"  # a group of runs of one config, one a seed: RUN/seed_S/ each, and their summary
FOLDS_TABLE = "folds"  # folds.csv and folds.md
PER_CLASS = "per_class"  # per_class.csv and per_class.md
CONFUSION = "confusion_matrix"  # confusion_matrix.csv and confusion_matrix.png
SEEDS_TABLE = "seeds"  # seeds.csv and seeds.md beside seeds.json
SUMMARY = "summary"  # summary.json and summary.md: a command's own summary of a group (bench speedrun)


def fold_dir(run_dir: str | Path, fold: int) -> Path:
    """The folder of k-fold fold `fold` (1-based)."""
    return Path(run_dir) / f"fold_{fold}"


def fold_dirs(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(fold number, folder) of every fold folder present, in fold order."""
    found = [
        (int(p.name.split("_", 1)[1]), p)
        for p in Path(run_dir).glob("fold_*")
        if p.is_dir() and p.name.split("_", 1)[1].isdigit()
    ]
    return sorted(found)


def seed_dir(group: str | Path, seed: int) -> Path:
    return Path(group) / f"seed_{seed}"


def is_seed_group(path: str | Path) -> bool:
    return (Path(path) / SEEDS).exists()


def history_files(run_dir: str | Path) -> list[Path]:
    """history.csv of a single run, else of each fold."""
    run_dir = Path(run_dir)
    single = run_dir / HISTORY
    return (
        [single]
        if single.exists()
        else [d / HISTORY for _, d in fold_dirs(run_dir) if (d / HISTORY).exists()]
    )


def is_finished(run_dir: str | Path) -> bool:
    """A run that trained to its end and recorded its test predictions."""
    run_dir = Path(run_dir)
    return (run_dir / PREDICTIONS).exists() and (run_dir / RECORD).exists() and (run_dir / CONFIG).exists()


def read_config(run_dir: str | Path) -> dict:
    """The recorded config as a dict ({} when the folder has none)."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise damaged(path, err, "delete that run folder to start over") from None


# what to do about a damaged record file, by name (RUN is the run folder)
FIXES = {
    RECORD: "delete it and rerun `kerasexp train` into RUN (or delete RUN to start over)",
    METRICS: "rebuild it with `kerasexp report RUN`",
    PREDICTIONS: "delete it and rerun `kerasexp train` into RUN (its saved weights predict again, or it "
    "retrains), or delete RUN to start over",
    HISTORY: "delete RUN and train it again",
    SEEDS: "delete it and rerun `kerasexp train --seeds` into RUN (finished seeds load)",
}
DEFAULT_FIX = "rebuild it with `kerasexp report RUN`"


def damaged(path: Path, err: BaseException, fix: str | None = None) -> UserError:
    """The one-line error for a record file that does not read: its name, why, and the fix."""
    fix = (fix or FIXES.get(path.name, DEFAULT_FIX)).replace("RUN", str(path.parent))
    reason = first_line(err, 100)
    return UserError(f"{path} is damaged ({reason}); {fix}")


def read_json(path: str | Path, default=None):
    """A JSON record file (`default` when it is absent; None: absent is an error too)."""
    path = Path(path)
    if not path.exists() and default is not None:
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path.parent}: no {path.name}; is this a finished kerasexp run folder?") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise damaged(path, err) from None


def read_record(run_dir: str | Path) -> dict:
    return read_json(Path(run_dir) / RECORD, default={})


def read_metrics(run_dir: str | Path) -> dict:
    path = Path(run_dir) / METRICS
    if not path.exists():
        raise UserError(f"{run_dir}: no {METRICS}; run `kerasexp train` into it first")
    return read_json(path)


def read_csv(path: str | Path, **kwargs):
    """A CSV record file (history.csv, per_class.csv...) as a DataFrame, or a one-line error."""
    import pandas as pd

    path = Path(path)
    try:
        return pd.read_csv(path, **kwargs)
    except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise damaged(path, err) from None


PREDICTION_KEYS = ("probs", "y_true", "class_names")


def read_predictions(run_dir: str | Path, keys=("probs", "y_true")) -> dict:
    """predictions.npz as {name: array}, read whole (a truncated file fails here, not later); `keys`
    must be in it."""
    import zipfile

    import numpy as np

    path = Path(run_dir) / PREDICTIONS
    if not path.exists():
        raise UserError(f"{run_dir}: no {PREDICTIONS}; is this a finished `kerasexp train` run folder?")
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
        missing = [key for key in keys if key not in arrays]
        if missing:
            raise ValueError(f"no {', '.join(missing)}")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise damaged(path, err) from None
    return arrays


def damage(run_dir: str | Path) -> str | None:
    """Why a finished run folder's record files do not read (None: they all do)."""
    run_dir = Path(run_dir)
    readers = [
        read_config,
        read_record,
        lambda d: read_metrics(d) if (d / METRICS).exists() else None,
        lambda d: read_predictions(d) if (d / PREDICTIONS).exists() else None,
        lambda d: [read_csv(path) for path in history_files(d)],
    ]
    for reader in readers:
        try:
            reader(run_dir)
        except UserError as err:
            return str(err)
    return None


LOCK = ".lock"

# Settings proven not to change a run's numbers (tests/training/test_loop.py:
# test_steps_per_execution_changes_speed_not_numbers): a finished run made with another value is
# the same run, and loads. A reference figure is a quote from a report, never an input to training.
RESULT_NEUTRAL = ("training.steps_per_execution", "logging.tensorboard", "reference.train_accuracy")


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse, before anything is written, a run folder that cannot be one: a file, a path under a
    file, a place this process cannot write, or a non-empty folder that is not a run folder."""
    out_dir = Path(out_dir)
    check_out_folder(out_dir, "a folder for the run")
    if (
        out_dir.is_dir()
        and not (out_dir / CONFIG).exists()
        and any(not p.name.startswith((".", "seed")) for p in out_dir.iterdir())
    ):
        raise UserError(
            f"--out {out_dir} is a folder with other files in it, not a kerasexp run folder; "
            "give a new or empty folder (or a run folder to resume)"
        )


def check_out_folder(out: Path, give: str = "a folder") -> None:
    """Refuse an output folder that is a file, lies under a file, or cannot be written."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give {give}")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"--out {out} is under {ancestor}, which is a file; give {give}")
    check_writable(ancestor, f"--out {out}")


def check_out_file(path: str | Path, what: str = "--out") -> None:
    """Refuse an output file whose folder cannot hold it (a file on the way, not writable)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name")
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"{what} {path} is under {ancestor}, which is a file; give another path")
    check_writable(ancestor, f"{what} {path}")


def check_writable(folder: Path, what: str) -> None:
    import tempfile

    try:
        tempfile.TemporaryDirectory(dir=folder).cleanup()
    except OSError as err:
        raise UserError(
            f"{what}: cannot write in {folder} ({err.strerror or err}); give a folder you can write to"
        ) from None


def check_out_given(out) -> None:
    """Refuse an empty --out (Path("") is the current folder; `or` would quietly put the default there)."""
    if out is not None and not str(out).strip():
        raise UserError("--out is empty; give a folder for the run, or leave --out out for runs/NAME")


def check_not_in_data(out_dir: str | Path, data_dir: str) -> None:
    """Refuse a run folder inside the data set's folder: an image-folder data set would read it as
    a class on the next run."""
    if not data_dir or not Path(data_dir).is_dir():
        return
    data, out = Path(data_dir).resolve(), Path(out_dir).resolve()
    if out == data or data in out.parents:
        raise UserError(
            f"--out {out_dir} is inside the data set's folder {data_dir} (dataset.data_dir), "
            "where the next run would read it as data; give a folder outside it"
        )


def _loose(folder: Path, allowed) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and not allowed(p.name))


def check_run_folder(out_dir: str | Path) -> None:
    """Under the lock: a single run's folder is new, empty, or a run folder (not a --seeds group,
    not a folder of other files)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    if is_seed_group(out_dir) or seed_folders(out_dir):
        raise UserError(
            f"--out {out_dir} holds a group of `--seeds` runs; pass --seeds to add to it, "
            "or give another --out"
        )
    if not (out_dir / CONFIG).exists() and _loose(out_dir, lambda name: False):
        raise UserError(
            f"--out {out_dir} is a folder with other files in it, not a kerasexp run folder; "
            "give a new or empty folder (or a run folder to resume)"
        )


def check_seed_group_folder(out_dir: str | Path) -> None:
    """Under the lock: a --seeds group's folder is new, empty, or such a group (not a single run's)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    if (out_dir / CONFIG).exists() or (out_dir / RECORD).exists():
        raise UserError(
            f"--out {out_dir} holds a single run, not a group of `--seeds` runs; drop --seeds "
            "to load it, or give another --out"
        )
    if _loose(out_dir, lambda name: name.startswith("seed")):
        raise UserError(
            f"--out {out_dir} is a folder with other files in it, not a kerasexp run folder; "
            "give a new or empty folder (or a run folder to resume)"
        )


def seed_folders(folder: Path) -> list[Path]:
    return [p for p in folder.glob("seed_*") if p.is_dir() and p.name[5:].isdigit()]


def is_run_folder(folder: str | Path) -> bool:
    """A run folder or a --seeds group of them (what a study must not write into)."""
    folder = Path(folder)
    return any((folder / name).exists() for name in (CONFIG, RECORD, DONE, SEEDS)) or bool(
        folder.is_dir() and seed_folders(folder)
    )


def make_folder(folder: Path) -> Path | None:
    """Create `folder` and any missing parents; the topmost one this process created (None: it existed).
    Each level is made without exist_ok, so a folder another process made at the same time is not
    counted as ours."""
    from kerasexp.atomic import write_errors

    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    top = None
    for level in reversed(missing):
        try:
            with write_errors(level):
                level.mkdir()
            top = top or level
        except FileExistsError:
            continue
    return top


@contextlib.contextmanager
def claim(out_dir: str | Path, lock: bool = True):
    """The run folder, created if needed and locked for the block, before anything reads or judges
    it. If the block refuses (a UserError), what it created goes: the entries that were not there
    when the lock was taken, then the folder (and parents) if this process made them and they are
    empty. A WriteFailed (full disk), or a refusal after training recorded an epoch (a NaN loss at
    epoch 5, the third seed of a group), keeps them: what was trained is never thrown away, and a
    rerun resumes. lock=False: a folder another lock guards (a study's, under its storage's lock)."""
    from kerasexp.atomic import WriteFailed

    folder = Path(out_dir)
    made = make_folder(folder)
    lock_existed = (folder / LOCK).exists()
    with writer_lock(folder) if lock else contextlib.nullcontext():
        before = {p.name for p in folder.iterdir()} - ({LOCK} if lock and not lock_existed else set())
        try:
            yield folder
        except UserError as err:
            if not isinstance(err, WriteFailed) and not _trained_anything(folder, before):
                _remove_new(folder, made, before)
            raise


def _trained_anything(folder: Path, before: set[str]) -> bool:
    """Whether this process recorded a finished epoch (a history or backup) in `folder` or in an
    entry of it that was not there before."""
    if (folder / HISTORY).exists() or (folder / BACKUP).is_dir():
        return True
    new = [p for p in folder.iterdir() if p.name not in before and p.is_dir() and not p.is_symlink()]
    return any(any(p.rglob(HISTORY)) or any(p.rglob(BACKUP)) for p in new)


def _remove_new(folder: Path, made: Path | None, before: set[str]) -> None:
    for path in folder.iterdir():
        if path.name not in before:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    if made is None:
        return
    for level in (folder, *folder.parents):
        try:
            level.rmdir()  # only when empty: never what another process put there
        except OSError:
            return
        if level == made:
            return


# what kerasexp.atomic.atomic_path names its temporaries: .STEM.XXXXXXXX.SUFFIX (mkstemp's 8 characters before)
TEMPORARY = re.compile(r"\..+\.([0-9a-f]{8}|[a-z0-9_]{8})\..+")


def remove_temporaries(run_dir: str | Path) -> list[Path]:
    """Remove the temporaries a killed writer left in a run folder (call it under the lock: no one
    else writes there then); returns them."""
    found = [p for p in Path(run_dir).rglob(".*") if p.is_file() and TEMPORARY.fullmatch(p.name)]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def writer_lock(out_dir: str | Path):
    """Held while a process writes the run folder: a second writer is refused in one line naming
    the holder's pid; the operating system frees it when the holder dies (even by SIGKILL)."""
    from kerasexp.atomic import exclusive_lock

    out_dir = Path(out_dir)
    return exclusive_lock(
        out_dir / LOCK, f"run folder {out_dir}", "wait for that run to finish, or pass another --out"
    )


def _flat(raw: dict) -> dict:
    """A config dict as {"section.key": value}, without the RESULT_NEUTRAL keys: run folders are
    compared as parsed values, never as text, so how a config.toml was formatted (older run
    folders' own writer, tomli-w's today) plays no part."""
    flat = {}
    for section, values in raw.items():
        for key, value in values.items() if isinstance(values, dict) else [("", values)]:
            name = f"{section}.{key}" if key else section
            if name not in RESULT_NEUTRAL:
                flat[name] = value
    return flat


def _same(a, b) -> bool:
    """Equal values of equal TOML types (1 is neither 1.0 nor true); tables in any key order."""
    return _canonical(a) == _canonical(b)


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _shown(value) -> str:
    from kerasexp.config import toml_value

    if value is _ABSENT:
        return "(absent)"
    try:
        return toml_value(value)
    except TypeError:
        return repr(value)


_ABSENT = object()


def _first_difference(old: dict, new: dict) -> str | None:
    """`section.key: old -> new` for the first key (in config order) whose value differs."""
    for key in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a is _ABSENT or b is _ABSENT or not _same(a, b):
            return f"{key}: {_shown(a)} -> {_shown(b)}"
    return None


def _resolved(raw: dict) -> dict:
    """A saved config re-resolved, so keys added to the config since it was written read as
    their defaults (an older run folder stays resumable). One that today's code cannot read (a key
    gone since) gets the defaults of the keys it lacks, so a refusal names what it has that differs."""
    from kerasexp.config import Experiment, experiment_from_dict, to_dict

    try:
        return to_dict(experiment_from_dict(raw))
    except UserError:
        defaults = to_dict(Experiment())
        return {
            **defaults,
            **{
                section: {**defaults.get(section, {}), **values} if isinstance(values, dict) else values
                for section, values in raw.items()
            },
        }


def check_same_config(run_dir: str | Path, exp) -> None:
    """A run folder belongs to one resolved config: resuming another is refused, naming the first
    key that differs. Keys in RESULT_NEUTRAL may differ."""
    from kerasexp.config import to_dict

    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).exists():
        return
    diff = _first_difference(_flat(_resolved(read_config(run_dir))), _flat(to_dict(exp)))
    if diff:
        raise UserError(
            f"{run_dir} holds a run of a different config ({diff}); "
            "pass another --out, or delete that folder to start over"
        )


def write_config(run_dir: str | Path, exp) -> Path:
    """Record the config; a run folder keeps the one it was started with, as it was written (it
    may differ from this one only in RESULT_NEUTRAL keys, see check_same_config)."""
    from kerasexp.config import to_toml
    from kerasexp.atomic import write_text

    path = Path(run_dir) / CONFIG
    return path if path.exists() else write_text(path, to_toml(exp))


# ---- writing: every file under a run folder is written here, atomically (kerasexp/atomic.py); the
# other modules compute what goes in (dicts, DataFrames, figures, arrays, a model) and hand it over.


def write_record(run_dir: str | Path, record: dict) -> Path:
    """run.json: how the run was made."""
    from kerasexp.atomic import write_json

    return write_json(Path(run_dir) / RECORD, record)


def write_model(folder: str | Path, model) -> Path:
    """model.keras: the model the test split was predicted with (what `predict` and Run.model load)."""
    from kerasexp.atomic import atomic_path

    path = Path(folder) / MODEL
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def write_predictions(run_dir: str | Path, **arrays) -> Path:
    """predictions.npz: the test split's probabilities, labels and class names (k-fold: each fold's too)."""
    import numpy as np

    from kerasexp.atomic import atomic_path

    path = Path(run_dir) / PREDICTIONS
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def write_metrics(run_dir: str | Path, metrics: dict) -> Path:
    from kerasexp.atomic import write_json

    return write_json(Path(run_dir) / METRICS, metrics)


def write_table(folder: str | Path, name: str, table, markdown: str) -> None:
    """NAME.csv (a DataFrame) and NAME.md (its text): folds, per_class."""
    from kerasexp.atomic import write_csv, write_text

    write_csv(Path(folder) / f"{name}.csv", table)
    write_text(Path(folder) / f"{name}.md", markdown)


def write_class_report(folder: str | Path, report) -> None:
    """per_class.csv/.md and confusion_matrix.csv/.png from an evaluation.report.ClassReport."""
    from kerasexp.atomic import save_figure, write_csv

    folder = Path(folder)
    write_table(folder, PER_CLASS, report.table, report.text)
    write_csv(folder / f"{CONFUSION}.csv", report.confusion, index=True)
    save_figure(folder / f"{CONFUSION}.png", report.figure)


def write_curves(folder: str | Path, figure) -> Path:
    """curves.png beside its history.csv (the run's, or a fold's)."""
    from kerasexp.atomic import save_figure

    return save_figure(Path(folder) / CURVES, figure)


def write_seed_summary(group: str | Path, summary: dict, texts: dict[str, str]) -> Path:
    """A --seeds group's seeds.csv and seeds.md (`texts`, by file name), then seeds.json, which
    makes the folder a group (is_seed_group)."""
    from kerasexp.atomic import write_json, write_text

    group = Path(group)
    for name, text in texts.items():
        write_text(group / name, text)
    return write_json(group / SEEDS, summary)


def write_summary(group: str | Path, summary: dict, markdown: str) -> None:
    """summary.json and summary.md: what a command (bench speedrun) made of a group's runs."""
    from kerasexp.atomic import write_json, write_text

    write_json(Path(group) / f"{SUMMARY}.json", summary)
    write_text(Path(group) / f"{SUMMARY}.md", markdown)


def stale_reason(run_dir: str | Path) -> str | None:
    """Why today's code would not reproduce this finished run (None: it would): a config today's
    code cannot read or reads to other values, or a record made before the last change to results
    (RESULTS_VERSION). Keys added to the config since are no reason: a new key's default keeps the
    old behaviour (a change of behaviour bumps RESULTS_VERSION)."""
    import kerasexp
    from kerasexp.config import experiment_from_dict, to_dict

    run_dir = Path(run_dir)
    if (run_dir / CONFIG).exists():
        raw = read_config(run_dir)  # a damaged file raises, naming it
        try:
            resolved = _flat(to_dict(experiment_from_dict(raw)))
        except UserError as err:
            return f"today's code cannot read its config.toml ({err})"
        saved = _flat(raw)
        changed = {
            key: value
            for key, value in saved.items()
            if key not in resolved or not _same(value, resolved[key])
        }
        if changed:
            diff = _first_difference(changed, {k: resolved[k] for k in changed if k in resolved})
            return f"today's code resolves its config.toml to other values ({diff})"
    machine = read_record(run_dir).get("machine", {})
    made = machine.get("results_version")
    if made != kerasexp.RESULTS_VERSION:
        return (
            f"made by results version {made or 'unknown (no provenance)'}, today's is "
            f"{kerasexp.RESULTS_VERSION}: rerun it (reports/regenerate.sh)"
        )
    return None


def finished_runs(root: str | Path) -> list[Path]:
    """Every finished run folder (and the variants table's) under `root`."""
    return sorted({p.parent for p in Path(root).rglob(RECORD)})


# --- training's files (written for kerasexp.training) ---
# kerasexp.training writes a run folder's training files only through these: history.csv, best.keras,
# backup/, final.weights.h5 and done.json, each under a temporary name, then renamed (kerasexp.atomic).
# The model passed in saves itself (Keras); the TensorBoard callbacks get their folder from
# TENSORBOARD above. Readers raise the raw error (OSError, ValueError...): resume names the fix.


def training_folder(out_dir: str | Path) -> Path:
    """The folder a training writes into, made if absent."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def read_history_rows(out_dir: str | Path, count: int) -> list[dict]:
    """The first `count` rows of history.csv ([] when it is absent or count is 0)."""
    path = Path(out_dir) / HISTORY
    if not count or not path.exists():
        return []
    return read_csv(path).head(count).to_dict("records")


def write_history(out_dir: str | Path, rows: list[dict]) -> Path:
    """history.csv, one row an epoch, rewritten whole."""
    import pandas as pd

    from kerasexp.atomic import write_csv

    return write_csv(Path(out_dir) / HISTORY, pd.DataFrame(rows))


def save_best(model, out_dir: str | Path) -> Path:
    """best.keras: the whole model (a crash mid-save never leaves a corrupt checkpoint)."""
    from kerasexp.atomic import atomic_path

    path = Path(out_dir) / BEST_MODEL
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def best_model(out_dir: str | Path) -> Path | None:
    """best.keras's path, for Keras to load (None when no epoch has been saved)."""
    path = Path(out_dir) / BEST_MODEL
    return path if path.exists() else None


def backup_epochs(folder: str | Path) -> list[int]:
    """The epochs with a whole backup (their epoch_K.json marker) in `folder`, newest first."""
    found = []
    for path in Path(folder).glob("epoch_*.json"):
        number = path.stem.split("_", 1)[1]
        if number.isdigit():
            found.append(int(number))
    return sorted(found, reverse=True)


def _backup_weights(folder: str | Path, epoch: int) -> Path:
    return Path(folder) / f"epoch_{epoch}.weights.h5"


def save_backup(model, folder: str | Path, epoch: int, record: dict, keep: int = 2) -> None:
    """epoch_K.weights.h5 (weights with the optimizer's state), then epoch_K.json (`record`: the
    marker that the backup is whole); only the newest `keep` backups stay."""
    from kerasexp.atomic import atomic_path, write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(_backup_weights(folder, epoch), suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    write_json(folder / f"epoch_{epoch}.json", record)
    for number in backup_epochs(folder)[keep:]:
        (folder / f"epoch_{number}.json").unlink(missing_ok=True)
        _backup_weights(folder, number).unlink(missing_ok=True)


def read_backup(folder: str | Path, epoch: int) -> tuple[dict, Path]:
    """Epoch `epoch`'s backup record and the path of its weights (for keras' load_weights)."""
    marker = Path(folder) / f"epoch_{epoch}.json"
    return json.loads(marker.read_text()), _backup_weights(folder, epoch)


def save_finished(model, out_dir: str | Path, record: dict) -> None:
    """final.weights.h5, then done.json (`record`): a finished training, which a rerun loads."""
    from kerasexp.atomic import atomic_path, write_json

    out_dir = Path(out_dir)
    with atomic_path(out_dir / FINAL_WEIGHTS, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    write_json(out_dir / DONE, record)


def read_finished(out_dir: str | Path) -> tuple[dict, Path] | None:
    """A finished training's done.json record and the path of its final weights (None when the
    folder holds no finished training)."""
    out_dir = Path(out_dir)
    done, weights = out_dir / DONE, out_dir / FINAL_WEIGHTS
    if not (done.exists() and weights.exists()):
        return None
    return json.loads(done.read_text()), weights


def tensorboard_writer(logdir: str | Path):
    """A tf.summary writer of a run folder's TensorBoard folder (its `train/`, `validation/`, or the
    test images at its top): the event files are the run folder's too, so rundir opens them."""
    import tensorflow as tf

    return tf.summary.create_file_writer(str(logdir))
