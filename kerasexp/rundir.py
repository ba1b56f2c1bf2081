"""The run folder, in one place: its file names, its fold folders, the config it records (and
the check that a rerun is the same config), and reading a finished run back. `kerasexp train`
writes it (experiment.py, the loop); report, compare, predict and filters read it.

    RUN/config.toml        the resolved experiment (TOML)
    RUN/run.json           how it was made: command, start, wall time, machine, data
    RUN/history.csv        one row an epoch            (k-fold: RUN/fold_K/...)
    RUN/best.keras         the best `monitor` epoch's model
    RUN/backup/            the last finished epoch, for resuming a killed run
    RUN/final.weights.h5, RUN/done.json   a finished training (a rerun loads, not retrains)
    RUN/head/              phase one of two-phase fine-tuning (a run folder of its own)
    RUN/predictions.npz    test-set probabilities, labels, class names
    RUN/metrics.json, per_class.*, confusion_matrix.*, curves.png   the report
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from kerasexp.errors import UserError

CONFIG = "config.toml"
RECORD = "run.json"
HISTORY = "history.csv"
BEST_MODEL = "best.keras"
BACKUP = "backup"
FINAL_WEIGHTS = "final.weights.h5"
DONE = "done.json"
HEAD = "head"
PREDICTIONS = "predictions.npz"
METRICS = "metrics.json"
CURVES = "curves.png"
FOLDS_TABLE = "folds"  # folds.csv and folds.md


def fold_dir(run_dir: str | Path, fold: int) -> Path:
    """The folder of k-fold fold `fold` (1-based)."""
    return Path(run_dir) / f"fold_{fold}"


def fold_dirs(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(fold number, folder) of every fold folder present, in fold order."""
    found = [(int(p.name.split("_", 1)[1]), p) for p in Path(run_dir).glob("fold_*")
             if p.is_dir() and p.name.split("_", 1)[1].isdigit()]
    return sorted(found)


def history_files(run_dir: str | Path) -> list[Path]:
    """history.csv of a single run, else of each fold."""
    run_dir = Path(run_dir)
    single = run_dir / HISTORY
    return [single] if single.exists() else [d / HISTORY for _, d in fold_dirs(run_dir) if (d / HISTORY).exists()]


def read_config(run_dir: str | Path) -> dict:
    """The recorded config as a dict ({} when the folder has none)."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is damaged ({err}); delete that run folder to start over") from None


def read_record(run_dir: str | Path) -> dict:
    path = Path(run_dir) / RECORD
    return json.loads(path.read_text()) if path.exists() else {}


def read_metrics(run_dir: str | Path) -> dict:
    path = Path(run_dir) / METRICS
    if not path.exists():
        raise UserError(f"{run_dir}: no {METRICS}; run `kerasexp train` into it first")
    return json.loads(path.read_text())


def _with_defaults(text: str) -> str:
    """A saved config.toml re-resolved, so keys added to the config since it was written read as
    their defaults (an older run folder stays resumable); as saved if it no longer parses."""
    from kerasexp.config import experiment_from_dict, to_toml

    try:
        return to_toml(experiment_from_dict(tomllib.loads(text)))
    except (UserError, tomllib.TOMLDecodeError):
        return text


def check_same_config(run_dir: str | Path, exp) -> None:
    """A run folder belongs to one resolved config: resuming another is refused, by key."""
    from kerasexp.config import to_toml

    run_dir = Path(run_dir)
    saved = run_dir / CONFIG
    if not saved.exists():
        return
    old, new = _with_defaults(saved.read_text()).splitlines(), to_toml(exp).splitlines()
    if old != new:
        section, diff = "", None
        for a, b in zip(old, new):
            if a.startswith("["):
                section = a.strip("[]")
            if a != b:
                diff = f"{section}.{a.split(' = ')[0]}: {a.split(' = ', 1)[-1]} -> {b.split(' = ', 1)[-1]}"
                break
        raise UserError(
            f"{run_dir} holds a run of a different config ({diff or 'keys differ'}); "
            "pass another --out, or delete that folder to start over"
        )


def write_config(run_dir: str | Path, exp) -> Path:
    from kerasexp.config import to_toml
    from kerasexp.io import write_text

    return write_text(Path(run_dir) / CONFIG, to_toml(exp))
