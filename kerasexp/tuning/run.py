"""Running a study: every trial trains through the one experiment path
(kerasexp.training.session); many workers share a study through PostgreSQL; a trial may run in
its own child process."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

from kerasexp import rundir
from kerasexp.errors import UserError
from kerasexp.atomic import WriteFailed
from kerasexp.tuning.config import StudyFile, make_pruner, make_sampler
from kerasexp.tuning.storage import default_storage, mask_url, open_storage, open_study, worker_lock


class PruneOnEpoch:
    """Report `metric` to the trial after every epoch and stop a trial the pruner prunes
    (optuna_integration's KerasPruningCallback, plus a clear error when the metric is not logged
    and the epochs run kept in the trial)."""

    def __new__(cls, trial, metric: str):
        import keras
        import optuna

        class _Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                if metric not in logs:
                    raise UserError(
                        f"study.metric {metric!r} is not logged by Keras; logged: {', '.join(sorted(logs))}"
                    )
                trial.set_user_attr("epochs_run", epoch + 1)
                trial.report(float(logs[metric]), step=epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}: {metric} {logs[metric]:.4f}")

        return _Callback()


class TrialFailed(Exception):
    """A trial that crashed (out of memory, NaN, ...): recorded as failed, the study goes on."""


class Objective:
    """Build one trial's experiment, train it with the one loop, return its best `metric`.
    The data is loaded once per worker; Keras state is cleared between trials."""

    def __init__(self, spec: StudyFile, log=print, logdir: Path | None = None):
        self.spec = spec
        self.log = log
        self.logdir = logdir  # TensorBoard: one sub-run a trial (LOGDIR/trial_N)
        self._data = None
        self.consecutive_failures = 0

    def data(self, exp):
        if self._data is None:
            from kerasexp.data import load_dataset

            self._data = load_dataset(exp.dataset)
        return self._data

    def __call__(self, trial):
        import time

        import optuna

        trial.study.sampler = make_sampler(self.spec.study, trial.number)
        exp = self.spec.trial_experiment(trial)
        from kerasexp.training.session import validate

        validate(exp)
        data = self.data(exp)
        start = time.perf_counter()
        try:
            value, epochs, params = self._train(trial, exp, data)
        except (optuna.TrialPruned, UserError):
            self.consecutive_failures = 0
            raise
        except Exception as err:  # noqa: BLE001  (any crash of one trial: recorded, study goes on)
            self.consecutive_failures += 1
            message = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            trial.set_user_attr("error", message[:500])
            if self.consecutive_failures >= self.spec.study.max_consecutive_failures:
                raise UserError(
                    f"{self.consecutive_failures} trials in a row failed; last: {message[:300]}"
                ) from None
            raise TrialFailed(message) from None
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)
            trial.set_user_attr("pid", os.getpid())
            cleanup()
        self.consecutive_failures = 0
        trial.set_user_attr("best_epoch", epochs)
        trial.set_user_attr("val_images", len(data.x_val))  # the best value's interval (study-report)
        trial.set_user_attr("params_count", params)
        return value

    def _train(self, trial, exp, data):
        from kerasexp.training.session import train_experiment

        metric = self.spec.study.metric
        model, result = train_experiment(
            exp,
            data,
            callbacks=[PruneOnEpoch(trial, metric)],
            distribute=self.spec.study.distribute,
            mixed_precision=self.spec.study.mixed_precision,
            logdir=self.logdir / f"trial_{trial.number}" if self.logdir else None,
        )
        values = result.history[metric]
        best = min(values) if metric.endswith("loss") else max(values)
        return float(best), values.index(best) + 1, int(model.count_params())


def cleanup() -> None:
    """Free a trial's graph and weights before the next (Keras keeps them in a global session),
    and hand freed heap pages back to the system (glibc keeps them otherwise)."""
    import ctypes

    import keras

    keras.backend.clear_session(free_memory=True)
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def finished_count(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def run_study(
    spec: StudyFile,
    storage_url: str | None,
    n_trials: int | None = None,
    study_name: str | None = None,
    out_dir: str | Path | None = None,
    log=print,
    create_only: bool = False,
):
    """Run (or join) a study until it has n_trials finished trials over all its workers; with
    create_only, create the study (and the storage's tables) and return before any trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_name = study_name or spec.name
    out_dir = check_study_out(spec, out_dir, study_name)
    made = None
    if storage_url is None:
        made = rundir.make_folder(out_dir)
        storage_url = default_storage(out_dir)
    n_trials = n_trials or spec.study.n_trials
    with worker_lock(storage_url):
        try:
            _, study = open_study(spec, storage_url, study_name)
        except UserError as err:  # refused before any trial: a folder this process made goes
            if made is not None and not isinstance(err, WriteFailed):
                shutil.rmtree(made, ignore_errors=True)  # (under its lock: no other worker is in it)
            raise
        return _run_study(spec, study, storage_url, n_trials, study_name, out_dir, create_only, log)


def check_study_out(spec: StudyFile, out_dir, study_name: str) -> Path:
    """A study's folder: not empty text, not a file, not a run folder, not inside the data set's folder."""
    rundir.check_out_given(out_dir)
    out_dir = Path(Path("runs") / "studies" / study_name if out_dir is None else out_dir)
    rundir.check_out_folder(out_dir, "a folder for the study")
    if rundir.is_run_folder(out_dir):
        raise UserError(
            f"--out {out_dir} is a kerasexp run folder, not a study's; give a new folder for the study"
        )
    rundir.check_not_in_data(out_dir, spec.experiment.get("dataset", {}).get("data_dir", ""))
    return out_dir


def _run_study(spec, study, storage_url, n_trials, study_name, out_dir, create_only, log):
    from optuna.storages import fail_stale_trials

    from kerasexp.atomic import write_text

    if study.metric_names is None:  # the objective's name, for optuna-dashboard and study-report's plots
        import warnings

        from optuna.exceptions import ExperimentalWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            study.set_metric_names([spec.study.metric])
    if create_only:
        log(
            f"study {study_name} ready in {mask_url(storage_url)}: {finished_count(study)} trials finished; "
            "start the workers"
        )
        return study
    fail_stale_trials(study)
    log(f"study {study_name} in {mask_url(storage_url)}: {finished_count(study)}/{n_trials} trials finished")
    logdir = (
        out_dir / rundir.TENSORBOARD if spec.experiment.get("logging", {}).get("tensorboard", True) else None
    )

    if finished_count(study) < n_trials:
        if spec.study.trial_process:
            _optimize_in_processes(spec, storage_url, study_name, n_trials, study, log, logdir)
        else:
            study.optimize(
                Objective(spec, log, logdir),
                callbacks=[_announcer(spec, log), _max_trials(n_trials)],
                catch=(TrialFailed,),
                gc_after_trial=True,
            )
    fail_stale_trials(study)
    best = _best(study)
    summary = f"{finished_count(study)} trials finished" + (
        f"; best {spec.study.metric} {best.value:.4f} (trial {best.number}) {best.params}" if best else ""
    )
    if out_dir.exists() or storage_url.startswith("sqlite"):
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / "study.txt", f"storage {mask_url(storage_url)}\nstudy {study_name}\n{summary}\n")
    log(summary)
    return study


def _announcer(spec: StudyFile, log):
    from optuna.trial import TrialState

    def announce(study, trial):
        state = trial.state.name.lower()
        value = f" {spec.study.metric} {trial.value:.4f}" if trial.value is not None else ""
        extra = (
            f" ({trial.user_attrs['error']})"
            if trial.state == TrialState.FAIL and "error" in trial.user_attrs
            else ""
        )
        log(
            f"trial {trial.number} {state}{value} after {trial.user_attrs.get('epochs_run', 0)} epochs, "
            f"{trial.user_attrs.get('seconds', 0):.0f} s {trial.params}{extra}"
        )

    return announce


def _max_trials(n_trials: int):
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    return MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _optimize_in_processes(
    spec: StudyFile, storage_url: str, study_name: str, n_trials: int, study, log, logdir: Path | None = None
):
    """One child process per trial until the study has n_trials finished (over all workers)."""
    from kerasexp.processes import ChildDied, call_in_child

    failures = 0
    while finished_count(study) < n_trials:
        try:
            kind, value = call_in_child(
                _trial_process,
                spec,
                storage_url,
                study_name,
                failures,
                logdir,
                preload=("tensorflow", "keras", "kerasexp.training.loop", "kerasexp.tuning.run"),
            )
        except ChildDied as err:  # killed before it reported (out of memory?)
            log(
                f"{err}; its trial is marked failed once its heartbeat is {spec.study.grace_period} s "
                "stale, and retried"
            )
            kind, value = "died", failures + 1
        if kind == "error":
            raise UserError(value)
        failures = value
        if failures >= spec.study.max_consecutive_failures:
            raise UserError(f"{failures} trials in a row failed; see the trials' errors in the storage")


def _trial_process(
    spec: StudyFile, storage_url: str, study_name: str, failures: int, logdir: Path | None = None
) -> tuple:
    """Body of a trial's child process: one trial of the shared study; its result goes to the
    storage, how it went (failures in a row, or a user error's message) back to the worker."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(storage_url, spec.study),
        sampler=make_sampler(spec.study),
        pruner=make_pruner(spec.study),
    )
    objective = Objective(spec, print, logdir)
    objective.consecutive_failures = failures
    try:
        study.optimize(objective, n_trials=1, callbacks=[_announcer(spec, print)], catch=(TrialFailed,))
    except UserError as err:
        return "error", str(err)
    return "ok", objective.consecutive_failures


def _best(study):
    try:
        return study.best_trial
    except ValueError:  # no complete trial
        return None
