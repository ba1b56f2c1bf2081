"""`kerasexp grid`: a grid of experiment values (or a list of seeds) run as an Optuna study with
GridSampler, so that every worker started with the same command on one storage (PostgreSQL for
several machines) takes points no one else holds. Each point is one run folder, OUT/KEY=VALUE,.../,
trained through kerasexp.runs.run_experiment (locked, resumed after a kill, loaded when finished);
a trial's value is the run's validation figure. The storage, its heartbeat and the retry of a
killed worker's trial are the studies' own (kerasexp.tuning.storage)."""

from __future__ import annotations

import copy
import itertools
import re
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kerasexp.errors import UserError

SCALARS = (bool, int, float, str)
MAX_NAME = 255  # bytes in a folder name on the usual file systems


@dataclass
class Grid:
    """The values of each experiment key (dotted, as --set names it), in the order given."""

    values: dict[str, list]

    def points(self) -> list[dict]:
        return [dict(zip(self.values, combo)) for combo in itertools.product(*self.values.values())]

    def folder(self, point: dict) -> str:
        """A point's run folder name: KEY=VALUE joined by commas (characters unsafe in a path as _)."""
        name = ",".join(f"{key}={_label(point[key])}" for key in self.values)
        return re.sub(r"[^\w.+=,-]", "_", name)


def _label(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def parse_grid(texts: list[str] | None) -> Grid:
    """--grid KEY=V1,V2,... texts as a Grid; values are TOML (bare words are strings)."""
    if not texts:
        raise UserError(
            "no grid given; name the values with --grid section.key=v1,v2, e.g. training.seed=0,1,2"
        )
    values = {}
    for text in texts:
        key, items = parse_values(text)
        if key in values:
            raise UserError(f"--grid {key} is given twice; list all its values in one --grid {key}=v1,v2")
        values[key] = items
    grid = Grid(values)
    names = [grid.folder(p) for p in grid.points()]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise UserError(
            f"two grid points share the run folder name {twice!r}; give values that differ in text"
        )
    longest = max(names, key=lambda n: len(n.encode()))
    if len(longest.encode()) > MAX_NAME:
        raise UserError(
            f"the run folder name {longest[:60]}... is over {MAX_NAME} bytes; grid fewer keys or shorter values"
        )
    return grid


def parse_values(text: str) -> tuple[str, list]:
    """'training.seed=0,1,2' -> ('training.seed', [0, 1, 2])."""
    key, sep, items = text.partition("=")
    key = key.strip()
    if not sep or "." not in key or not all(part.strip() for part in key.split(".")):
        raise UserError(f"--grid {text!r}: expected section.key=v1,v2,..., e.g. training.seed=0,1,2")
    if not items.strip():
        raise UserError(f"--grid {text!r}: no values after '='; give them, e.g. {key}=0,1,2")
    try:
        values = tomllib.loads(f"v = [{items}]")["v"]
    except tomllib.TOMLDecodeError:
        if any(not item.strip() for item in items.split(",")):
            raise UserError(
                f"--grid {text!r}: an empty value; separate the values by single commas"
            ) from None
        values = [_toml_or_word(item.strip()) for item in items.split(",")]
    bad = next((v for v in values if not isinstance(v, SCALARS)), None)
    if bad is not None:
        raise UserError(f"--grid {key}: {bad!r} is not a number, string or boolean (what a grid point takes)")
    twice = next((v for v in values if values.count(v) > 1), None)
    if twice is not None:
        raise UserError(f"--grid {key} lists {twice!r} twice; give each value once")
    return key, values


def _toml_or_word(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


@dataclass
class GridJob:
    """What a worker runs, checked whole before Optuna or TensorFlow is imported."""

    name: str  # the experiment's name (its file's stem)
    raw: dict  # the experiment's sections, --set applied
    grid: Grid
    out: Path
    storage: str | None
    study_name: str
    metric: str
    heartbeat: int

    def experiment(self, point: dict):
        from kerasexp.config import experiment_from_dict

        raw = copy.deepcopy(self.raw)
        for key, value in point.items():
            *tables, last = key.split(".")
            table = raw
            for part in tables:
                table = table.setdefault(part, {})
                if not isinstance(table, dict):
                    raise UserError(f"--grid {key}: {part} is a value, not a table of keys")
            table[last] = value
        return experiment_from_dict(raw, name=self.name)

    def study_config(self):
        """The studies' settings a grid uses: its metric, and a heartbeat with a grace of 3 beats."""
        from kerasexp.tuning.config import StudyConfig

        return StudyConfig(
            metric=self.metric,
            heartbeat_interval=self.heartbeat,
            grace_period=3 * self.heartbeat,
            pruner="none",
        )

    def identity(self) -> dict:
        """What makes two commands the same grid (kept in the study; workers may differ in --out)."""
        return {"experiment": self.raw, "grid": self.grid.values, "metric": self.metric}


def read_job(args) -> GridJob:
    """Every input of `kerasexp grid` checked: the file, each point's experiment (keys, values,
    model parameters, data paths), the storage URL's form and --out."""
    from kerasexp import rundir
    from kerasexp.config import check_data_paths, read_toml
    from kerasexp.models.registry import check_model

    grid = parse_grid(args.grid)
    rundir.check_out_given(args.out)  # before `or`: an empty --out is not the default
    name = Path(args.experiment).stem
    job = GridJob(
        name=name,
        raw=read_toml(args.experiment, args.set or []),
        grid=grid,
        out=Path(args.out or Path("runs") / "grids" / name),
        storage=args.storage,
        study_name=args.study_name or f"{name}-grid",
        metric=args.metric,
        heartbeat=args.heartbeat,
    )
    if not job.metric.startswith("val_"):
        raise UserError(
            f"--metric {job.metric!r}: give a validation figure Keras logs, e.g. val_accuracy, val_loss"
        )
    job.study_config()  # the studies' checks of the heartbeat
    if job.storage is not None:
        check_storage_url(job.storage)
    check_out(job)
    for point in grid.points():
        exp = job.experiment(point)
        check_model(exp.model.name, exp.model.params)
        check_data_paths(exp.dataset)
        rundir.check_not_in_data(job.out, exp.dataset.data_dir)
    return job


def check_storage_url(url: str) -> None:
    """The URL's form and database (SQLite or PostgreSQL), before anything connects."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from kerasexp.tuning.storage import mask_url

    fix = "use sqlite:///path/grid.db or postgresql://user:password@host/db"
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise UserError(f"--storage {mask_url(url)} is not a database URL; {fix}") from None
    if backend not in ("sqlite", "postgresql"):
        raise UserError(f"--storage {mask_url(url)}: unknown database scheme {backend!r}; {fix}")


def check_out(job: GridJob) -> None:
    from kerasexp import rundir

    rundir.check_out_folder(job.out, "a folder for the grid's runs")
    if rundir.is_run_folder(job.out):
        raise UserError(f"--out {job.out} is a run folder; give a folder for the grid's runs (one a point)")


# ---------------------------------------------------------------- the worker


def run(job: GridJob) -> int:
    """`kerasexp grid` after read_job's checks: work on the grid until no point is left to start
    and none runs elsewhere. 0: every point complete; 1: some failed (rerun to retry them)."""
    rows = run_grid(job)
    failed = [row["run"] for row in rows if row["state"] != "complete"]
    if failed:
        print(
            f"{len(failed)} of {len(rows)} points failed: {', '.join(failed)}; run the command again to retry them"
        )
        return 1
    return 0


def run_grid(job: GridJob, log=print) -> list[dict]:
    """Join (or create) the grid's study and work on it; returns a row a point (also OUT/grid.csv)."""
    import optuna

    from kerasexp.tuning.storage import mask_url, worker_lock

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = job.storage or f"sqlite:///{(job.out / 'grid.db').resolve()}"
    if job.storage is None:
        job.out.mkdir(parents=True, exist_ok=True)
    with worker_lock(url):
        study = open_grid_study(job, url)
        log(f"grid {job.study_name} in {mask_url(url)}: {len(job.grid.points())} points")
        work(study, job, log)
        rows = point_rows(study, job)
    write_table(job, rows, log)
    return rows


def open_grid_study(job: GridJob, url: str):
    """Create the grid's study or join it (under the storage's setup lock, so workers started
    together create it once); a study of another grid under this name is refused. Points whose
    trials all failed are queued again, once, for this command to retry."""
    import optuna

    from kerasexp.tuning.storage import mask_url, open_storage, setup_lock, storage_errors

    storage = open_storage(url, job.study_config())
    with storage_errors(url), setup_lock(url):
        study = optuna.create_study(
            study_name=job.study_name,
            storage=storage,
            direction="minimize" if job.metric.endswith("loss") else "maximize",
            sampler=optuna.samplers.GridSampler(job.grid.values, seed=0),  # every worker the same order
            load_if_exists=True,
        )
        saved = study.user_attrs.get("grid")
        if saved is None:
            study.set_user_attr("grid", job.identity())
        elif saved != _jsonable(job.identity()):
            raise UserError(
                f"study {job.study_name!r} in {mask_url(url)} runs another grid (experiment, values or "
                "metric); pass another --study-name, or the same command"
            )
        for name, state in point_states(study, job).items():
            if state == "failed":
                study.enqueue_trial(_point_of(job, name))
    return study


def _jsonable(value):
    import json

    return json.loads(json.dumps(value))


def _point_of(job: GridJob, name: str) -> dict:
    return next(p for p in job.grid.points() if job.grid.folder(p) == name)


def work(study, job: GridJob, log) -> None:
    """Start trials while a point has none or a retry waits; then wait (a heartbeat at a time)
    while other workers run the rest, to take over a trial whose worker dies."""
    from optuna.storages import fail_stale_trials

    from kerasexp.tuning.run import TrialFailed

    objective, waited = GridObjective(job, log), None
    while True:
        fail_stale_trials(study)  # a killed worker's trial: failed, and queued again (max_retry)
        states = point_states(study, job)
        if {"todo", "waiting"} & set(states.values()):
            study.optimize(objective, n_trials=1, catch=(TrialFailed,), callbacks=[_announce(job, log)])
            continue
        running = sorted(name for name, state in states.items() if state == "running")
        if not running:
            return
        if running != waited:
            log(f"waiting for {len(running)} point(s) running on other workers: {', '.join(running)}")
            waited = running
        time.sleep(job.heartbeat)


def point_states(study, job: GridJob) -> dict[str, str]:
    """Each point's state over its trials: complete, running, waiting (a retry queued), failed,
    or todo (no trial yet). Trials pruned as duplicates count for nothing."""
    from optuna.trial import TrialState

    order = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL)
    names = ("complete", "running", "waiting", "failed")
    found = {job.grid.folder(p): set() for p in job.grid.points()}
    for trial in study.get_trials(deepcopy=False):
        name = _trial_point(trial, job)
        if name in found and "duplicate_of" not in trial.user_attrs:
            found[name].add(trial.state)
    return {
        name: next((n for state, n in zip(order, names) if state in states), "todo")
        for name, states in found.items()
    }


def _trial_point(trial, job: GridJob) -> str | None:
    """The run folder name of a trial's point (None: a trial not yet given its point)."""
    params = trial.params or trial.system_attrs.get("fixed_params") or {}
    if set(params) != set(job.grid.values):
        return None
    return job.grid.folder(params)


class GridObjective:
    """One trial: its point's run folder trained (or resumed, or loaded) by run_experiment; the
    value is the run's validation figure. A point another trial holds is not trained twice."""

    def __init__(self, job: GridJob, log=print):
        self.job, self.log = job, log

    def __call__(self, trial):
        import optuna

        point = {key: trial.suggest_categorical(key, values) for key, values in self.job.grid.values.items()}
        name = self.job.grid.folder(point)
        holder = holding_trial(trial.study, self.job, name, trial.number)
        if holder is not None:  # two workers asked at once (GridSampler then repeats a running point)
            trial.set_user_attr("duplicate_of", holder)
            raise optuna.TrialPruned(f"{name} is trial {holder}'s; not trained twice")
        folder = self.job.out / name
        trial.set_user_attr("run_dir", str(folder))
        trial.set_user_attr("host", _host())
        return self._train(trial, self.job.experiment(point), folder)

    def _train(self, trial, exp, folder: Path) -> float:
        from kerasexp.runs import run_experiment
        from kerasexp.tuning.run import TrialFailed, cleanup

        try:
            metrics = run_experiment(exp, folder)
            return validation_value(metrics, folder, self.job.metric)
        except UserError:  # the folder holds another config, a metric Keras does not log...: stop
            raise
        except Exception as err:  # noqa: BLE001  (a crash of one point: recorded, the grid goes on)
            message = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
            trial.set_user_attr("error", message[:500])
            raise TrialFailed(message) from None
        finally:
            cleanup()


def _host() -> str:
    import socket

    return socket.gethostname()


def holding_trial(study, job: GridJob, name: str, number: int) -> int | None:
    """Another trial of the point that keeps it: a complete one, or one running with a lower number
    (of two that started at once, the first goes on)."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING)):
        if trial.number == number or "duplicate_of" in trial.user_attrs or _trial_point(trial, job) != name:
            continue
        if trial.state == TrialState.COMPLETE or trial.number < number:
            return trial.number
    return None


def validation_value(metrics: dict, folder: Path, metric: str) -> float:
    """`metric` at the epoch the run kept (its evaluation choice), from history.csv; k-fold: the
    mean over folds. Never a test figure."""
    from kerasexp import rundir

    choices = metrics.get("evaluation_choices", {})
    epochs = (
        [f["epoch"]["epoch"] for f in choices["folds"]] if "folds" in choices else [choices["epoch"]["epoch"]]
    )
    values = []
    for history, epoch in zip(rundir.history_files(folder), epochs):
        frame = rundir.read_csv(history)
        if metric not in frame.columns:
            raise UserError(f"--metric {metric!r} is not in {history}; logged: {', '.join(frame.columns)}")
        values.append(float(frame[metric].iloc[epoch - 1]))
    return sum(values) / len(values)


def _announce(job: GridJob, log):
    def announce(study, trial):
        name = _trial_point(trial, job)
        value = f" {job.metric} {trial.value:.4f}" if trial.value is not None else ""
        why = trial.user_attrs.get("error") or (
            f"trial {trial.user_attrs['duplicate_of']}'s" if "duplicate_of" in trial.user_attrs else ""
        )
        log(f"trial {trial.number} {name} {trial.state.name.lower()}{value}" + (f" ({why})" if why else ""))

    return announce


def point_rows(study, job: GridJob) -> list[dict]:
    """A row a point: its values, run folder, state, the trial that completed it and its value."""
    from optuna.trial import TrialState

    states = point_states(study, job)
    complete = {
        _trial_point(t, job): t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    }
    rows = []
    for point in job.grid.points():
        name = job.grid.folder(point)
        trial = complete.get(name)
        rows.append(
            {
                **point,
                "run": name,
                "state": states[name],
                "trial": trial.number if trial else None,
                job.metric: trial.value if trial else None,
            }
        )
    return rows


def write_table(job: GridJob, rows: list[dict], log) -> None:
    """OUT/grid.csv (every worker writes the same table once the grid is done) and the table printed."""
    import pandas as pd

    from kerasexp.evaluation.report import markdown_table
    from kerasexp.atomic import write_csv

    frame = pd.DataFrame(rows)
    job.out.mkdir(parents=True, exist_ok=True)
    write_csv(job.out / "grid.csv", frame)
    log(markdown_table(frame))
