"""Study files: an experiment file plus a [study] section (metric, pruner, storage behaviour)
and a [search] section (the search space), read into dataclasses without importing TensorFlow.

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

import copy
from dataclasses import dataclass, field
from pathlib import Path

from kerasexp.config import SECTIONS, check_data_paths, experiment_from_dict, section_from_dict
from kerasexp.errors import UserError
from kerasexp.registry import PRUNERS


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
        PRUNERS.check(self.pruner)
        if self.metric.split("_", 1)[0] != "val":
            raise UserError(
                f"study.metric {self.metric!r}: use a validation metric Keras logs, "
                "e.g. val_accuracy, val_loss, val_macro_f1"
            )
        for key in ("n_trials", "heartbeat_interval", "max_consecutive_failures"):
            if getattr(self, key) < 1:
                raise UserError(f"study.{key} must be a positive integer, got {getattr(self, key)}")
        if self.grace_period <= self.heartbeat_interval:
            raise UserError(
                f"study.grace_period ({self.grace_period}) must exceed heartbeat_interval "
                f"({self.heartbeat_interval})"
            )
        from kerasexp.training.distribute import DISTRIBUTE, MIXED_PRECISION

        if self.distribute not in DISTRIBUTE:
            raise UserError(f"study.distribute {self.distribute!r}: choose one of: {', '.join(DISTRIBUTE)}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise UserError(
                f"study.mixed_precision {self.mixed_precision!r}: choose one of: {', '.join(MIXED_PRECISION)}"
            )

    @property
    def direction(self) -> str:
        return "minimize" if self.metric.endswith("loss") else "maximize"


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
        if (
            len(self.layers) != 2
            or not all(isinstance(v, int) and v >= 1 for v in self.layers)
            or self.layers[0] > self.layers[1]
        ):
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
        dropouts = [
            low if high == low else trial.suggest_float(f"head_dropout_{i}", low, high, step=step)
            for i in range(n)
        ]
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
        return {
            "name": self.name,
            "experiment": self.experiment,
            "study": study,
            "search": {
                "params": {".".join(p.path): _spec(p) for p in self.params},
                **({"head": asdict(self.head)} if self.head else {}),
            },
        }


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
        raise UserError(
            f"search.params {path_text!r}: name an experiment key as section.key, e.g. "
            "training.learning_rate or model.params.unfreeze"
        )
    if path[0] == "dataset":
        raise UserError(
            f"search.params {path_text!r}: the dataset is fixed for a study; search model, "
            "training or augmentation keys"
        )
    if (
        not isinstance(spec, dict)
        or not set(spec) <= _SPEC_KEYS
        or not ("choices" in spec or {"low", "high"} <= set(spec))
    ):
        raise UserError(
            f"search.params {path_text!r} = {spec!r}: give {{ choices = [...] }} or "
            "{ low = ..., high = ... } with optional log = true, step = ..."
        )
    if "choices" in spec and (not isinstance(spec["choices"], list) or not spec["choices"]):
        raise UserError(f"search.params {path_text!r}: choices must be a non-empty list")
    if "low" in spec and not spec["low"] < spec["high"]:
        raise UserError(
            f"search.params {path_text!r}: low ({spec['low']}) must be below high ({spec['high']})"
        )
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
        raise UserError(
            f"unknown section [search.{sorted(unknown)[0]}]; allowed: [search.params], [search.head]"
        )
    params = [parse_param(k, v) for k, v in search.get("params", {}).items()]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise UserError(f"search.params: two keys end in the same name ({names}); rename one")
    head = section_from_dict(HeadSearch, search["head"], "search.head") if "head" in search else None
    experiment_from_dict(raw, name=name)  # the base experiment must be valid on its own
    spec = StudyFile(name, raw, study, params, head)
    check_model_params(spec.trial_experiment(LowestTrial()))  # and with the searched keys set
    for param in params:  # every choice a trial can draw (a model, a policy, an optimizer...)
        for choice in param.choices or []:
            check_model_params(spec.trial_experiment(LowestTrial({param.name: choice})))
    return spec


def check_model_params(exp):
    """A trial's model parameters (names, ranges, the backbone): kerasexp.models' checks, which
    import no Keras."""
    from kerasexp.models.registry import check_model

    check_model(exp.model.name, exp.model.params)


class LowestTrial:
    """A stand-in trial answering every suggestion with its lowest value, or the value `fixed`
    gives its name (to check a search space, or read the keys a study does not search)."""

    def __init__(self, fixed: dict | None = None):
        self.fixed = fixed or {}

    def suggest_int(self, name, low, high, step=1, log=False):
        return self.fixed.get(name, low)

    def suggest_float(self, name, low, high, step=None, log=False):
        return self.fixed.get(name, low)

    def suggest_categorical(self, name, choices):
        return self.fixed.get(name, choices[0])


def load_study_file(path: str | Path, overrides: list[str] = (), data: bool = True) -> StudyFile:
    """A study file to run: everything study_from_dict checks and (data=True) its data files
    present, before Optuna or TensorFlow is imported and before any storage is created."""
    from kerasexp.config import read_toml

    spec = study_from_dict(read_toml(path, overrides, kind="study"), name=Path(path).stem)
    if data:
        check_data_paths(spec.trial_experiment(LowestTrial()).dataset)
    return spec


def make_sampler(cfg: StudyConfig, trial_number: int = 0):
    import optuna

    return optuna.samplers.TPESampler(seed=cfg.seed + trial_number, n_startup_trials=cfg.n_startup_trials)


def make_pruner(cfg: StudyConfig):
    try:
        return PRUNERS[cfg.pruner](**cfg.pruner_params)  # an optuna.pruners class
    except TypeError as err:
        raise UserError(f"study.pruner_params for {cfg.pruner!r}: {err}") from None


def _jsonable(value):
    import json

    return json.loads(json.dumps(value))
