"""Optuna studies from TOML: an experiment file plus a [study] section (metric, pruner, storage
behaviour) and a [search] section (the search space). Every trial calls kerasexp.train.train,
the one loop; many workers share a study through PostgreSQL.

    [search.params]                      # any experiment key, by its dotted path
    "training.learning_rate" = { low = 1e-4, high = 1e-2, log = true }
    "model.params.unfreeze" = { low = 0, high = 85, step = 5 }
    "augmentation.policy" = { choices = ["none", "flip_translate"] }
    [search.head]                        # a dense head of 1..3 layers, each its own width and dropout
    layers = [1, 3]
    units = [64, 128, 256, 512]
    dropout = [0.0, 0.5]
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
from dataclasses import dataclass, field
from pathlib import Path

from kerasexp.config import SECTIONS, experiment_from_dict, section_from_dict
from kerasexp.errors import UserError


@dataclass
class StudyConfig:
    """How the study runs ([study] in a study file).

    Attributes:
      metric: the validation metric trials are scored by (best epoch) and the pruner watches
        each epoch; minimised if it ends in "loss", else maximised.
      n_trials: finished (complete or pruned) trials the study stops at, over all workers;
        `--n-trials` overrides.
      seed: seeds the TPE sampler (per trial: seed + trial number, so workers started with the
        same command draw different parameters and one process replays the same study).
      n_startup_trials: random trials before TPE models the results.
      pruner: none, median, hyperband, successive_halving or threshold.
      pruner_params: keyword arguments of the pruner (e.g. n_startup_trials, n_warmup_steps).
      heartbeat_interval: seconds between a running trial's heartbeats in the storage.
      grace_period: a running trial without a heartbeat this long is marked failed (its worker
        was killed) by the next worker that starts a trial, and retried.
      max_retry: how many times a failed trial's parameters are retried.
      max_consecutive_failures: a worker stops with an error after this many failed trials in a row.
      distribute: "none", or "mirrored": tf.distribute.MirroredStrategy over all visible GPUs
        within each trial.
      mixed_precision: "auto" (mixed_float16 only on a GPU), "on" or "off".
      trial_process: run each trial in a fresh child process of the worker. Keras/TF keep
        graphs and functions of every trained model in the process (10-50 MB a trial here, also
        with plain `fit`: keras-team/keras#20245), so a long study in one process grows; a child
        gives everything back when it exits, at the cost of loading the data again per trial
        (TF is imported once, by the forkserver the children are forked from).
    """

    metric: str = "val_accuracy"
    n_trials: int = 20
    seed: int = 0
    n_startup_trials: int = 5
    pruner: str = "median"
    pruner_params: dict = field(default_factory=dict)
    heartbeat_interval: int = 10
    grace_period: int = 30
    max_retry: int = 1
    max_consecutive_failures: int = 5
    distribute: str = "none"
    mixed_precision: str = "auto"
    trial_process: bool = False

    def __post_init__(self):
        if self.pruner not in PRUNERS:
            raise UserError(f"unknown pruner {self.pruner!r}; choose one of: {', '.join(PRUNERS)}")
        if self.metric.split("_", 1)[0] != "val":
            raise UserError(f"study.metric {self.metric!r}: use a validation metric Keras logs, "
                            "e.g. val_accuracy, val_loss, val_macro_f1")
        for key in ("n_trials", "heartbeat_interval", "max_consecutive_failures"):
            if getattr(self, key) < 1:
                raise UserError(f"study.{key} must be a positive integer, got {getattr(self, key)}")
        if self.grace_period <= self.heartbeat_interval:
            raise UserError(f"study.grace_period ({self.grace_period}) must exceed heartbeat_interval "
                            f"({self.heartbeat_interval})")
        from kerasexp.distribute import DISTRIBUTE, MIXED_PRECISION

        if self.distribute not in DISTRIBUTE:
            raise UserError(f"study.distribute {self.distribute!r}: choose one of: {', '.join(DISTRIBUTE)}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise UserError(f"study.mixed_precision {self.mixed_precision!r}: choose one of: "
                            f"{', '.join(MIXED_PRECISION)}")

    @property
    def direction(self) -> str:
        return "minimize" if self.metric.endswith("loss") else "maximize"


def _pruners():
    import optuna.pruners as p

    return {"none": p.NopPruner, "median": p.MedianPruner, "hyperband": p.HyperbandPruner,
            "successive_halving": p.SuccessiveHalvingPruner, "threshold": p.ThresholdPruner}


PRUNERS = ("none", "median", "hyperband", "successive_halving", "threshold")


@dataclass
class SearchParam:
    """One searched experiment key: `path` (section.key or section.params.key), trial name `name`."""

    path: tuple[str, ...]
    name: str
    choices: list | None = None
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None

    def suggest(self, trial):
        if self.choices is not None:
            return trial.suggest_categorical(self.name, self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.step, float):
            return trial.suggest_int(self.name, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)


@dataclass
class HeadSearch:
    """[search.head]: the number of dense layers and, per layer, its width and dropout.

    Attributes:
      layers: [min, max] dense layers.
      units: the widths a layer may take.
      dropout: [low, high] dropout of each layer (steps of dropout_step).
      dropout_step: grid of the dropout.
    """

    layers: list = field(default_factory=lambda: [1, 3])
    units: list = field(default_factory=lambda: [64, 128, 256, 512])
    dropout: list = field(default_factory=lambda: [0.0, 0.5])
    dropout_step: float = 0.1

    def __post_init__(self):
        if len(self.layers) != 2 or not all(isinstance(v, int) and v >= 1 for v in self.layers) \
                or self.layers[0] > self.layers[1]:
            raise UserError(f"search.head.layers = {self.layers}: give [min, max], 1 <= min <= max")
        if not self.units or not all(isinstance(v, int) and v > 0 for v in self.units):
            raise UserError(f"search.head.units = {self.units}: give a list of positive widths")
        if len(self.dropout) != 2 or not 0 <= self.dropout[0] <= self.dropout[1] < 1:
            raise UserError(f"search.head.dropout = {self.dropout}: give [low, high] within [0, 1)")

    def suggest(self, trial) -> tuple[list[int], list[float]]:
        n = trial.suggest_int("head_layers", *self.layers)
        units = [trial.suggest_categorical(f"head_units_{i}", self.units) for i in range(n)]
        low, high = (float(v) for v in self.dropout)
        step = self.dropout_step if high > low else None
        dropouts = [low if high == low else trial.suggest_float(f"head_dropout_{i}", low, high, step=step)
                    for i in range(n)]
        return units, dropouts


@dataclass
class StudyFile:
    """A study file: the experiment every trial starts from, and what the study changes."""

    name: str
    experiment: dict  # the raw experiment sections (what trials override)
    study: StudyConfig
    params: list[SearchParam]
    head: HeadSearch | None

    def trial_experiment(self, trial):
        """The experiment of one trial (an optuna Trial, or FixedTrial(best.params) to rebuild one)."""
        raw = copy.deepcopy(self.experiment)
        for param in self.params:
            _set_path(raw, param.path, param.suggest(trial))
        if self.head is not None:
            units, dropouts = self.head.suggest(trial)
            params = raw.setdefault("model", {}).setdefault("params", {})
            params["head_units"], params["head_dropouts"] = units, dropouts
        return experiment_from_dict(raw, name=self.name)

    def as_dict(self) -> dict:
        """Everything needed to rebuild this file (kept in the study, for study-report)."""
        from dataclasses import asdict

        how = ("trial_process",)  # how a worker runs its trials, not what the study is: workers may differ
        study = {k: v for k, v in asdict(self.study).items() if k not in how}
        return {"name": self.name, "experiment": self.experiment, "study": study,
                "search": {"params": {".".join(p.path): _spec(p) for p in self.params},
                           **({"head": asdict(self.head)} if self.head else {})}}


def _spec(p: SearchParam) -> dict:
    keys = ("choices",) if p.choices is not None else ("low", "high", "log", "step")
    return {k: getattr(p, k) for k in keys if getattr(p, k) is not None}


def _set_path(raw: dict, path: tuple[str, ...], value) -> None:
    table = raw
    for key in path[:-1]:
        table = table.setdefault(key, {})
    table[path[-1]] = value


_SPEC_KEYS = {"choices", "low", "high", "log", "step"}


def parse_param(path_text: str, spec) -> SearchParam:
    path = tuple(path_text.split("."))
    if len(path) < 2 or path[0] not in SECTIONS:
        raise UserError(f"search.params {path_text!r}: name an experiment key as section.key, e.g. "
                        "training.learning_rate or model.params.unfreeze")
    if path[0] == "dataset":
        raise UserError(f"search.params {path_text!r}: the dataset is fixed for a study; search model, "
                        "training or augmentation keys")
    if not isinstance(spec, dict) or not set(spec) <= _SPEC_KEYS or \
            not ("choices" in spec or {"low", "high"} <= set(spec)):
        raise UserError(f"search.params {path_text!r} = {spec!r}: give {{ choices = [...] }} or "
                        "{ low = ..., high = ... } with optional log = true, step = ...")
    if "choices" in spec and (not isinstance(spec["choices"], list) or not spec["choices"]):
        raise UserError(f"search.params {path_text!r}: choices must be a non-empty list")
    if "low" in spec and not spec["low"] < spec["high"]:
        raise UserError(f"search.params {path_text!r}: low ({spec['low']}) must be below high ({spec['high']})")
    if spec.get("log") and "low" in spec and spec["low"] <= 0:
        raise UserError(f"search.params {path_text!r}: a log scale needs low > 0")
    return SearchParam(path, path[-1], **spec)


def study_from_dict(raw: dict, name: str) -> StudyFile:
    raw = dict(raw)
    study = section_from_dict(StudyConfig, raw.pop("study", {}), "study")
    search = raw.pop("search", None)
    if not isinstance(search, dict) or not ({"params", "head"} & set(search)):
        raise UserError("a study file needs a [search] section: [search.params] and/or [search.head]")
    unknown = set(search) - {"params", "head"}
    if unknown:
        raise UserError(f"unknown section [search.{sorted(unknown)[0]}]; allowed: [search.params], [search.head]")
    params = [parse_param(k, v) for k, v in search.get("params", {}).items()]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise UserError(f"search.params: two keys end in the same name ({names}); rename one")
    head = section_from_dict(HeadSearch, search["head"], "search.head") if "head" in search else None
    experiment_from_dict(raw, name=name)  # the base experiment must be valid on its own
    spec = StudyFile(name, raw, study, params, head)
    spec.trial_experiment(LowestTrial())  # and with the searched keys set: unknown keys surface now
    return spec


class LowestTrial:
    """A stand-in trial answering every suggestion with its lowest value (to check a search
    space, or read the keys a study does not search)."""

    def suggest_int(self, name, low, high, step=1, log=False):
        return low

    def suggest_float(self, name, low, high, step=None, log=False):
        return low

    def suggest_categorical(self, name, choices):
        return choices[0]


def load_study_file(path: str | Path, overrides: list[str] = ()) -> StudyFile:
    from kerasexp.config import read_toml

    return study_from_dict(read_toml(path, overrides, kind="study"), name=Path(path).stem)


# ---------------------------------------------------------------- storage

def mask_url(url: str) -> str:
    """The storage URL as it may be printed: password replaced by ***."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show only the scheme
        return url.split("://", 1)[0] + "://***"


def scrub(text: str, url: str) -> str:
    """`text` with the URL's password (if any) removed, for error messages from drivers."""
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:
        password = None
    return text.replace(str(password), "***") if password else text


def default_storage(out_dir: Path) -> str:
    return f"sqlite:///{(out_dir / 'study.db').resolve()}"


# One key for every kerasexp study: creating Optuna's schema or a study is rare and quick.
SETUP_LOCK_KEY = 0x6B65726173657870  # "kerasexp"


@contextlib.contextmanager
def storage_errors(url: str):
    """Turn a bad URL, a missing driver or an unreachable server into a one-line UserError that
    never shows the password."""
    import sqlalchemy.exc

    try:
        yield
    except ImportError as err:  # optuna and SQLAlchemy raise or wrap a missing driver as ImportError
        name = err.name or getattr(err.__cause__, "name", None) or "psycopg"
        raise UserError(f"storage {mask_url(url)}: its database driver {name!r} is not installed; "
                        "pip install 'kerasexp[postgres]' (psycopg)") from None
    except (sqlalchemy.exc.SQLAlchemyError, ValueError, OSError) as err:
        first = scrub(str(getattr(err, "orig", None) or err), url).strip().splitlines()
        raise UserError(f"cannot open storage {mask_url(url)}: {first[0] if first else type(err).__name__}; "
                        "check that the server runs and the URL is right") from None


@contextlib.contextmanager
def setup_lock(url: str):
    """Serialise creating Optuna's tables and a study over every worker of a PostgreSQL database:
    Optuna creates its schema on first use, and workers doing that at once fail with a unique-key
    violation (optuna#1092). A session advisory lock, which PostgreSQL frees if the worker dies.
    SQLite needs none: one worker holds its file (see worker_lock)."""
    if not url.startswith("postgres"):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def worker_lock(url: str):
    """One worker per SQLite file (SQLite serialises writers, and Optuna's heartbeat and retry of a
    killed worker's trial need a server): a second worker is refused in one line that points to
    PostgreSQL. Other storages take any number of workers."""
    path = _sqlite_path(url)
    if path is None:
        return contextlib.nullcontext()
    from kerasexp.io import exclusive_lock

    return exclusive_lock(path.with_name(path.name + ".lock"), f"SQLite study storage {path}",
                          "SQLite takes one worker: wait for it, or run several workers on PostgreSQL "
                          "(--storage postgresql://user:password@host/db)")


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database).resolve() if database and database != ":memory:" else None


def _rdb_storage(url: str, cfg: StudyConfig | None):
    import warnings

    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # heartbeat and retry: stable enough for us
    kwargs = {}
    if cfg is not None:
        kwargs = dict(heartbeat_interval=cfg.heartbeat_interval, grace_period=cfg.grace_period,
                      heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=cfg.max_retry))
    engine = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgres") else {}
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}
    return RDBStorage(url, engine_kwargs=engine, **kwargs)


def open_storage(url: str, cfg: StudyConfig | None = None):
    """RDBStorage with heartbeat and retry of failed trials; safe while other workers create the
    schema; errors in one line."""
    with storage_errors(url), setup_lock(url):
        return _rdb_storage(url, cfg)


def open_study(spec: StudyFile, url: str, study_name: str):
    """Create the study, or join it: safe when many workers start at once on an empty database (no
    worker fails, the study is created once). Refuses a study made from another study file."""
    import optuna

    with storage_errors(url), setup_lock(url):
        storage = _rdb_storage(url, spec.study)
        study = optuna.create_study(study_name=study_name, storage=storage, direction=spec.study.direction,
                                    sampler=make_sampler(spec.study), pruner=make_pruner(spec.study),
                                    load_if_exists=True)
        saved = study.user_attrs.get("study_file")
        if saved is None:
            study.set_user_attr("study_file", spec.as_dict())
    if saved is not None and saved != _jsonable(spec.as_dict()):
        raise UserError(f"study {study_name!r} in {mask_url(url)} was made from another study file; "
                        "pass another --study-name, or the same file")
    if study.direction.name.lower() != spec.study.direction:
        raise UserError(f"study {study_name!r} {study.direction.name.lower()}s; this file's metric "
                        f"{spec.study.metric} would {spec.study.direction}")
    return storage, study


def load_existing_study(storage, url: str, study_name: str):
    import optuna

    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise UserError(f"no study {study_name!r} in {mask_url(url)}; studies there: "
                        f"{', '.join(names) or 'none'}") from None


# ---------------------------------------------------------------- trials

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
                    raise UserError(f"study.metric {metric!r} is not logged by Keras; logged: "
                                    f"{', '.join(sorted(logs))}")
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

    def __init__(self, spec: StudyFile, log=print):
        self.spec = spec
        self.log = log
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
        from kerasexp.experiment import validate

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
                raise UserError(f"{self.consecutive_failures} trials in a row failed; last: {message[:300]}") from None
            raise TrialFailed(message) from None
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)
            trial.set_user_attr("pid", os.getpid())
            cleanup()
        self.consecutive_failures = 0
        trial.set_user_attr("best_epoch", epochs)
        trial.set_user_attr("params_count", params)
        return value

    def _train(self, trial, exp, data):
        from kerasexp.augment_policies import build_policy
        from kerasexp.distribute import strategy_scope
        from kerasexp.finetune import train_head_first
        from kerasexp.models import create_model
        from kerasexp.train import seed_everything, train

        seed_everything(exp.training.seed)
        metric = self.spec.study.metric
        with strategy_scope(self.spec.study.distribute, self.spec.study.mixed_precision):
            model = create_model(exp.model.name, data.input_shape, data.num_classes, **exp.model.params)
            augment = build_policy(exp.augmentation, seed=exp.training.seed)
            train_head_first(model, data, exp.training, augment=augment)
            result = train(model, data, exp.training, callbacks=[PruneOnEpoch(trial, metric)], augment=augment)
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


def make_sampler(cfg: StudyConfig, trial_number: int = 0):
    import optuna

    return optuna.samplers.TPESampler(seed=cfg.seed + trial_number, n_startup_trials=cfg.n_startup_trials)


def make_pruner(cfg: StudyConfig):
    try:
        return _pruners()[cfg.pruner](**cfg.pruner_params)
    except TypeError as err:
        raise UserError(f"study.pruner_params for {cfg.pruner!r}: {err}") from None


def finished_count(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def run_study(spec: StudyFile, storage_url: str | None, n_trials: int | None = None,
              study_name: str | None = None, out_dir: str | Path | None = None, log=print,
              create_only: bool = False):
    """Run (or join) a study until it has n_trials finished trials over all its workers; with
    create_only, create the study (and the storage's tables) and return before any trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_name = study_name or spec.name
    out_dir = Path(out_dir or Path("runs") / "studies" / study_name)
    if storage_url is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        storage_url = default_storage(out_dir)
    n_trials = n_trials or spec.study.n_trials
    with worker_lock(storage_url):
        return _run_study(spec, storage_url, n_trials, study_name, out_dir, create_only, log)


def _run_study(spec, storage_url, n_trials, study_name, out_dir, create_only, log):
    from optuna.storages import fail_stale_trials

    from kerasexp.io import write_text

    _, study = open_study(spec, storage_url, study_name)
    if create_only:
        log(f"study {study_name} ready in {mask_url(storage_url)}: {finished_count(study)} trials finished; "
            "start the workers")
        return study
    fail_stale_trials(study)
    log(f"study {study_name} in {mask_url(storage_url)}: {finished_count(study)}/{n_trials} trials finished")

    if finished_count(study) < n_trials:
        if spec.study.trial_process:
            _optimize_in_processes(spec, storage_url, study_name, n_trials, study, log)
        else:
            study.optimize(Objective(spec, log), callbacks=[_announcer(spec, log), _max_trials(n_trials)],
                           catch=(TrialFailed,), gc_after_trial=True)
    fail_stale_trials(study)
    best = _best(study)
    summary = f"{finished_count(study)} trials finished" + (
        f"; best {spec.study.metric} {best.value:.4f} (trial {best.number}) {best.params}" if best else "")
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
        extra = f" ({trial.user_attrs['error']})" if trial.state == TrialState.FAIL and "error" in trial.user_attrs else ""
        log(f"trial {trial.number} {state}{value} after {trial.user_attrs.get('epochs_run', 0)} epochs, "
            f"{trial.user_attrs.get('seconds', 0):.0f} s {trial.params}{extra}")

    return announce


def _max_trials(n_trials: int):
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    return MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _optimize_in_processes(spec: StudyFile, storage_url: str, study_name: str, n_trials: int, study, log):
    """One child process per trial until the study has n_trials finished (over all workers)."""
    from kerasexp.child import ChildDied, call_in_child

    failures = 0
    while finished_count(study) < n_trials:
        try:
            kind, value = call_in_child(_trial_process, spec, storage_url, study_name, failures,
                                        preload=("tensorflow", "keras", "kerasexp.train", "kerasexp.study"))
        except ChildDied as err:  # killed before it reported (out of memory?)
            log(f"{err}; its trial is marked failed once its heartbeat is {spec.study.grace_period} s "
                "stale, and retried")
            kind, value = "died", failures + 1
        if kind == "error":
            raise UserError(value)
        failures = value
        if failures >= spec.study.max_consecutive_failures:
            raise UserError(f"{failures} trials in a row failed; see the trials' errors in the storage")


def _trial_process(spec: StudyFile, storage_url: str, study_name: str, failures: int) -> tuple:
    """Body of a trial's child process: one trial of the shared study; its result goes to the
    storage, how it went (failures in a row, or a user error's message) back to the worker."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url, spec.study),
                              sampler=make_sampler(spec.study), pruner=make_pruner(spec.study))
    objective = Objective(spec, print)
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


def _jsonable(value):
    import json

    return json.loads(json.dumps(value))
