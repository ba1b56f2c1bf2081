"""The Python API, for notebooks and scripts; the `kerasexp` command is a thin shell over it.

    import kerasexp
    run = kerasexp.train("studies/fmnist_step_decay.toml", out="runs/step", overrides={"training.epochs": 2})
    run.metrics["accuracy"], run.history, run.per_class, run.confusion_matrix
    run.plot_curves(); run.predict(images)
    kerasexp.load_run("reports/fmnist_best").history
    kerasexp.compare(["runs/a", "runs/b"], out="runs/a_vs_b")
    kerasexp.study("studies/pbc96_study.toml", n_trials=5)

Bad input raises kerasexp.UserError (its message names the problem and the fix); the command
line prints that message as one line and exits 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError


@dataclass(frozen=True)
class Run:
    """A finished run folder (or a `--seeds` group of them), read lazily from its files."""

    dir: Path

    @property
    def metrics(self) -> dict:
        """metrics.json (a seed group: seeds.json, mean and std over seeds)."""
        if rundir.is_seed_group(self.dir):
            return rundir.read_json(self.dir / rundir.SEEDS)
        return rundir.read_metrics(self.dir)

    @property
    def config(self):
        """The resolved experiment it was trained from (kerasexp.config.Experiment)."""
        from kerasexp.config import experiment_from_dict

        raw = rundir.read_config(self._first)
        if not raw:
            raise UserError(f"{self._first}: no {rundir.CONFIG}; is this a kerasexp run folder?")
        return experiment_from_dict(raw, name=self.dir.name)

    @property
    def history(self) -> pd.DataFrame:
        """One row an epoch (`epoch` from 1); k-fold runs add a `fold` column, seed groups `seed`."""
        frames = []
        for key, value, folder in self._parts():
            for path in rundir.history_files(folder):
                frame = rundir.read_csv(path)
                frame = frame.drop(columns="epoch", errors="ignore")  # history.csv counts from 0
                frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
                if path.parent != folder:  # a fold's
                    frame.insert(0, "fold", int(path.parent.name.split("_", 1)[1]))
                if key:
                    frame.insert(0, key, value)
                frames.append(frame)
        if not frames:
            raise UserError(f"{self.dir}: no {rundir.HISTORY}; is this a kerasexp run folder?")
        return pd.concat(frames, ignore_index=True)

    @property
    def per_class(self) -> pd.DataFrame:
        """Precision, recall, F1 and support per class on the test split (then macro and weighted)."""
        return self._table("per_class.csv", index_col=None)

    @property
    def confusion_matrix(self) -> pd.DataFrame:
        """Test-split counts, rows true classes, columns predicted."""
        return self._table("confusion_matrix.csv", index_col=0)

    @property
    def class_names(self) -> list[str]:
        from kerasexp.evaluation.inference import run_class_names

        return run_class_names(self._first)

    def predict(self, images, tta: str | None = None) -> np.ndarray:
        """Class probabilities for `images`: an array (N, H, W, C) of 0-255 pixel values, a folder
        of image files, or a list of files. Uses the model the run predicted its test split with
        (Run.model; k-fold: its ensemble) and the test-time views it chose: on the run's own test
        images the result equals predictions.npz. A seed group has one model a seed: pick one."""
        from kerasexp.evaluation.inference import predict_images

        return predict_images(self.dir, images, tta)

    @property
    def model(self):
        """The keras model whose test predictions are in predictions.npz (RUN/model.keras), loaded
        uncompiled; a k-fold run: a list, one model a fold its ensemble kept. It takes 0-255 pixel
        values (its normalization is inside it); committed reports keep no weights (the error says
        how to make them)."""
        from kerasexp.evaluation.inference import run_model

        return run_model(self.dir)

    def plot_curves(self):
        """Loss and accuracy, training and validation, as a matplotlib Figure: shown inline as a
        notebook cell's value, saved with fig.savefig; made without pyplot, so the backend and
        pyplot's current figure stay the user's."""
        from kerasexp.evaluation.report import plot_curves

        frame = self.history
        for key in ("seed", "fold"):
            if key in frame:
                frame = frame[frame[key] == frame[key].iloc[0]]
        return plot_curves({c: frame[c].tolist() for c in frame.columns if c != "epoch"}, self.dir.name)

    @property
    def _first(self) -> Path:
        """The run folder itself, or a seed group's first seed's."""
        return self._parts()[0][2]

    def _parts(self) -> list[tuple[str, int | None, Path]]:
        if rundir.is_seed_group(self.dir):
            seeds = rundir.read_json(self.dir / rundir.SEEDS)["seeds"]
            return [("seed", seed, rundir.seed_dir(self.dir, seed)) for seed in seeds]
        return [("", None, self.dir)]

    def _table(self, name: str, index_col) -> pd.DataFrame:
        path = self._first / name
        if not path.exists():
            raise UserError(f"{self._first}: no {name}; run `kerasexp report {self._first}` to rebuild it")
        return rundir.read_csv(path, index_col=index_col)

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"


def load_run(run_dir: str | Path) -> Run:
    """A finished run folder (or seed group) to read: metrics, history, per-class table..."""
    run_dir = Path(run_dir)
    if not (rundir.is_finished(run_dir) or rundir.is_seed_group(run_dir)):
        raise UserError(
            f"{run_dir}: not a finished kerasexp run folder (no {rundir.PREDICTIONS} or "
            f"{rundir.SEEDS}); train into it first"
        )
    return Run(run_dir)


def as_overrides(overrides: dict | list[str] | None) -> list[str]:
    """{"training.epochs": 2} -> ["training.epochs=2"]: the dotted keys of `--set` (a list of
    such texts passes as it is)."""
    from kerasexp.config import toml_value

    if isinstance(overrides, (list, tuple)):
        return list(overrides)
    return [f"{key}={toml_value(value)}" for key, value in (overrides or {}).items()]


def experiment_of(experiment, overrides: dict | None = None):
    """An experiment from a file path (read once) or an Experiment (used as it is; with overrides,
    resolved again with them applied)."""
    from kerasexp.config import Experiment, apply_overrides, experiment_from_dict, load_experiment, to_dict

    if isinstance(experiment, Experiment):
        if not overrides:
            return experiment
        raw = apply_overrides(to_dict(experiment), as_overrides(overrides))
        return experiment_from_dict(raw, name=experiment.name)
    return load_experiment(experiment, as_overrides(overrides))


def train(
    experiment,
    out: str | Path | None = None,
    overrides: dict | None = None,
    seeds: list[int] | None = None,
    callbacks: list | None = None,
    workers: int | None = None,
) -> Run:
    """Train (or resume, or load if finished) an experiment file or Experiment into `out`
    (default runs/NAME); with seeds, one run a seed and their mean +/- std.

    workers: with seeds, the runs trained at once, each in a process of its own (default: one a
    core on a CPU, at training.threads = 1 each; one with a GPU; one with callbacks). A run's
    numbers on a CPU depend on its threads: a seed trained alone with the same training.threads
    gives the same numbers bit for bit.

    callbacks: your keras.callbacks.Callback instances, run in the one training loop after its own
    callbacks (history, checkpoint, backup), so the epoch they see is already recorded. They see
    the epochs this call trains, with their true numbers: `on_epoch_end(epoch, logs)` gets the
    0-based epoch and logs with loss, accuracy, val_loss, val_accuracy (and what the config adds).
    A resumed run is exact for kerasexp's own state (weights, optimizer, random generators,
    history), not for your callback's: it sees the resumed epochs only (a run resumed after epoch 2
    of 3 calls on_epoch_end(2, ...) once). An exception from a callback stops the run with the
    epoch it raised at already backed up; the next call resumes after it. A finished run is loaded,
    not trained: the callbacks see nothing. k-fold and seeds: the same callback objects see every
    fold's and seed's epochs in turn (their `model` is that fold's), the numbers restarting at 0;
    a two-phase fine-tuning's head-only epochs run without them. A callback that changes training
    (weights, learning rate, stop_training) makes a run its config.toml does not describe.
    """
    from kerasexp.runs import run_experiment, run_seeds

    exp = experiment_of(experiment, overrides)
    out = Path("runs") / exp.name if out is None else out  # runs.py checks it (an empty --out refused)
    if seeds:
        run_seeds(exp, out, list(seeds), callbacks, workers)
    else:
        run_experiment(exp, out, callbacks=callbacks)
    return Run(Path(out))


def compare(run_dirs, out: str | Path, title: str = "", against: str = "first") -> pd.DataFrame:
    """One table of finished runs, with intervals and paired tests (OUT.csv and OUT.md)."""
    from kerasexp.evaluation.compare import compare as compare_runs

    return compare_runs([str(d) for d in run_dirs], str(out), title, against)


def study(
    study_file,
    storage: str | None = None,
    n_trials: int | None = None,
    study_name: str | None = None,
    out: str | Path | None = None,
    overrides: dict | None = None,
    create_only: bool = False,
):
    """Run (or join) an Optuna study from a study file until it has n_trials finished trials
    (default: the file's); storage None = an SQLite file in `out`. Returns the optuna.Study."""
    from kerasexp.tuning.config import load_study_file
    from kerasexp.tuning.run import run_study

    spec = load_study_file(study_file, as_overrides(overrides))
    return run_study(spec, storage, n_trials, study_name, out, create_only=create_only)
