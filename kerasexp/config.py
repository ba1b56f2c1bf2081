"""Experiment files: TOML with one section per concern, read into small dataclasses.

Unknown keys and wrong types are rejected by name, with the allowed keys or type in the message;
`--set section.key=value` overrides any value from the command line.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from kerasexp.errors import UserError
from kerasexp.registry import DATASETS, LOSSES, MODELS, OPTIMIZERS, POLICIES, SCHEDULES, TTA_VIEWS


@dataclass(frozen=True)
class Bounds:
    """Where a number may lie: [low, high] (None: unbounded; `open_low`/`open_high` leave an end
    out), plus `off`, a value outside that switches the feature off (0). Never NaN or infinite."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    off: float | None = None

    def admits(self, value) -> bool:
        if not math.isfinite(value):
            return False
        if self.off is not None and value == self.off:
            return True
        low_ok = self.low is None or value > self.low or (value == self.low and not self.open_low)
        high_ok = self.high is None or value < self.high or (value == self.high and not self.open_high)
        return low_ok and high_ok

    def describe(self, integer: bool) -> str:
        """E.g. "a positive integer", "in [0, 1)", "a finite number > 0", "0 (off) or > 1"."""
        off = "0 (off) or " if self.off is not None else ""
        if integer and self.high is None and self.low in (0, 1) and not self.open_low:
            return off + ("a positive integer" if self.low == 1 else "an integer >= 0")
        if self.low is not None and self.high is not None:
            text = (
                f"in {'(' if self.open_low else '['}{_num(self.low)}, {_num(self.high)}"
                f"{')' if self.open_high else ']'}"
            )
        elif self.low is not None:
            text = f"{'>' if self.open_low else '>='} {_num(self.low)}"
        else:
            text = f"{'<' if self.open_high else '<='} {_num(self.high)}"
        kind = "an integer " if integer else ("" if off or self.high is not None else "a finite number ")
        return off + kind + text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


POSITIVE = Bounds(0, open_low=True)
AT_LEAST_ONE = Bounds(1)
NON_NEGATIVE = Bounds(0)
RATE = Bounds(0, 1, open_high=True)  # a probability that must leave something: dropout, smoothing
UNIT = Bounds(0, 1)
SEED = Bounds(0, 2**32 - 1)  # NumPy's and Keras' seeds are unsigned 32-bit integers
# 4096 pixels square is 50 MB an RGB image and 201 MB as one float32 training image: past every
# keras.applications input size (EfficientNetB7's 600) by far; check_image_memory does the rest.
MAX_IMAGE_SIZE = 4096

# Every numeric key of every section, by section (tests/test_config_values.py checks none is missing).
DATASET_BOUNDS = {
    "image_size": Bounds(1, MAX_IMAGE_SIZE, off=0),
    "limit": NON_NEGATIVE,
    "long_tail_ratio": Bounds(1, open_low=True, off=0),
    "seed": SEED,
    "other_min_count": NON_NEGATIVE,
}
TRAIN_BOUNDS = {
    "epochs": AT_LEAST_ONE,
    "batch_size": AT_LEAST_ONE,
    "learning_rate": POSITIVE,
    "momentum": RATE,
    "weight_decay": NON_NEGATIVE,
    "step_every": AT_LEAST_ONE,
    "step_factor": Bounds(0, 1, open_low=True),
    "min_lr_ratio": UNIT,
    "plateau_factor": Bounds(0, 1, open_low=True, open_high=True),
    "plateau_patience": NON_NEGATIVE,
    "warmup_epochs": NON_NEGATIVE,
    "focal_alpha": UNIT,
    "focal_gamma": NON_NEGATIVE,
    "label_smoothing": RATE,
    "early_stopping_patience": NON_NEGATIVE,
    "seed": SEED,
    "steps_per_execution": AT_LEAST_ONE,
    "ema_momentum": RATE,
    "head_epochs": NON_NEGATIVE,
    "head_learning_rate": POSITIVE,
    "threads": NON_NEGATIVE,
}
# Pixels are 0-255: a noise std above that range only saturates every test pixel.
EVAL_BOUNDS = {"kfold": Bounds(2, off=0), "test_noise_std": Bounds(0, 255)}
REFERENCE_BOUNDS = {
    "test_accuracy": UNIT,
    "val_accuracy": UNIT,
    "test_macro_f1": UNIT,
    "train_accuracy": UNIT,
}


def check_bounds(obj, section: str, table: dict[str, Bounds]) -> None:
    """Each numeric key of a section inside its Bounds, or one line naming the key, the allowed
    range and an example (the default); ints of an `int | list` key are checked the same way."""
    defaults = {f.name: f.default for f in dataclasses.fields(obj)}
    for key, bounds in table.items():
        value = getattr(obj, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or bounds.admits(value):
            continue
        integer = isinstance(defaults[key], int)
        shown = toml_value(value) if math.isfinite(value) else value
        raise UserError(
            f"{section}.{key} must be {bounds.describe(integer)}, got {section}.{key} = {shown}; "
            f"e.g. {toml_value(defaults[key])}"
        )


def check_classes(classes) -> None:
    """dataset.classes: 0 (all), a count of at least 2, or a list of two or more distinct names/indices."""
    if isinstance(classes, int):
        if classes < 0 or classes == 1:
            raise UserError(
                f"dataset.classes = {classes}: give 0 (all classes), the number of first classes "
                "to keep (at least 2: a classifier needs two), or a list of names"
            )
        return
    bad = [
        c
        for c in classes
        if isinstance(c, bool) or not isinstance(c, (str, int)) or (isinstance(c, int) and c < 0)
    ]
    if bad or len(classes) < 2 or len(set(classes)) != len(classes):
        raise UserError(
            f"dataset.classes = {classes!r}: give two or more distinct class names or indices (>= 0)"
        )


def physical_memory() -> int | None:
    """Bytes of RAM (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


# Images of the built-in data sets, for check_image_memory where dataset.limit does not say.
FULL_SIZE = {"fashion_mnist": 70_000, "cifar100": 60_000}


def check_image_memory(name: str, image_size: int, limit: int, ram: int | None = None) -> None:
    """The resized images (limit, or a built-in set's size, x size^2 x 3 bytes: uint8 RGB) must fit
    in this machine's RAM: refused with the figure instead of swapping or being killed."""
    ram = physical_memory() if ram is None else ram
    images = limit or FULL_SIZE.get(name, 0)
    needed = images * image_size * image_size * 3
    if ram and needed > ram:
        raise UserError(
            f"dataset.image_size = {image_size} makes {images:,} images of {name} at least "
            f"{needed / 2**30:.1f} GiB of pixels, more than this machine's "
            f"{ram / 2**30:.1f} GiB of RAM; lower dataset.image_size or dataset.limit"
        )


def check_class_weight(spec) -> None:
    """ "none", "balanced" or a list of finite non-negative weights, not all 0 (its length is
    checked against the data's classes in check_against_data)."""
    if isinstance(spec, str):
        _choice("training.class_weight", spec, ("none", "balanced"))
        return
    if (
        not spec
        or any(
            isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0
            for w in spec
        )
        or not any(spec)
    ):
        raise UserError(
            f"training.class_weight = {spec!r}: give one finite weight >= 0 per class "
            '(not all 0), or "balanced" / "none"'
        )


def check_drop_folds(drop_folds: list, kfold: int) -> None:
    """Distinct fold numbers 1..kfold that leave at least one fold in the ensemble."""
    if drop_folds and not kfold:
        raise UserError(
            f"evaluation.drop_folds = {drop_folds} needs evaluation.kfold >= 2; remove it or set kfold"
        )
    bad = [f for f in drop_folds if isinstance(f, bool) or not isinstance(f, int) or not 1 <= f <= kfold]
    if bad:
        raise UserError(f"evaluation.drop_folds {bad} out of range 1..{kfold}")
    if len(set(drop_folds)) != len(drop_folds) or (kfold and len(set(drop_folds)) >= kfold):
        raise UserError(
            f"evaluation.drop_folds = {drop_folds}: name each fold once and keep at least one "
            f"of the {kfold} folds in the ensemble"
        )


def check_against_data(exp: Experiment, data) -> None:
    """The values that need the loaded data (an ImageData): class_weight's length, balanced
    weights' classes, k-fold against the smallest class of train+validation. Called right after
    loading, before the run folder is written."""
    import numpy as np

    names = list(data.class_names)
    weights = exp.training.class_weight
    if isinstance(weights, list) and len(weights) != len(names):
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise UserError(
            f"training.class_weight has {len(weights)} weights, but the data has {len(names)} "
            f'classes ({shown}); give one a class, or "balanced"'
        )
    counts = np.bincount(data.y_train, minlength=len(names))
    if weights == "balanced" and not counts.all():
        raise UserError(
            f'training.class_weight = "balanced" needs every class in the training split; '
            f'{names[int(np.argmin(counts))]} has none: use "none" or more images'
        )
    k = exp.evaluation.kfold
    if k:
        pooled = np.bincount(np.concatenate([data.y_train, data.y_val]), minlength=len(names))
        smallest = int(np.argmin(pooled))
        fewest = int(pooled[smallest])
        if k > fewest:
            raise UserError(
                f"evaluation.kfold = {k}, but class {names[smallest]} has only {fewest} images in "
                "train+validation (each fold needs one of each class); use kfold <= "
                f"{max(fewest, 2)} or more images"
            )
        groups = data.groups
        if groups is not None and len(np.unique(groups)) < k:
            raise UserError(
                f"evaluation.kfold = {k}, but train+validation has only {len(np.unique(groups))} "
                "groups of duplicates to spread over the folds; lower kfold"
            )


@dataclass
class DatasetConfig:
    """Which images, and how they are split.

    Attributes:
      name: a key of kerasexp.data.DATASETS.
      data_dir: where the files are ("" = the loader's own search order); for image_folder
        the folder with one sub-folder per class (e.g. ../shared/data/pbc96).
      val_fraction: stratified share of the training images held out for validation, in (0, 1):
        early stopping, checkpoints and TTA choices need a validation split.
      test_fraction: stratified share held out for testing, in (0, 1), for data without an
        official test split (image_folder, image_csv, npz without x_test); the split is seeded by
        `seed`. Splits that keep duplicate groups together reach it within 2 points (plus one
        image a class) or are refused; run.json's data_notes hold what was reached.
      image_size: resize every image to this many pixels square (0 = as stored).
      limit: use only the first N training images (0 = all); for image_folder a stratified
        seeded subset of N images before splitting.
      long_tail_ratio: > 1 makes the training split long-tailed (most/least frequent class).
      seed: seeds the split and the long-tail subsampling.
      classes: keep only these classes: the first N (an integer, e.g. 20 for report 004) or a
        list of names / indices (0 = all).
      other_min_count: merge classes with fewer images than this into one "Other" class (report 001).
      csv: for image_csv, the CSV of file name and label (files in data_dir).
      drop_list: a CSV with an `id` column (what `kerasexp dedup` writes) of images to leave out.
      group_duplicates: keep exact and near duplicates (perceptual hash within 4 bits, as
        `kerasexp dedup`) on one side of every split: train, validation, test and k-fold folds
        (image_folder; hashing 17,000 images takes seconds).
      skip_broken: leave out image files that do not decode whole (truncated, corrupt) and list
        them in the run's record, instead of stopping with an error naming the first.
    """

    name: str = "fashion_mnist"
    data_dir: str = ""
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    image_size: int = 0
    limit: int = 0
    long_tail_ratio: float = 0.0
    seed: int = 0
    classes: int | list = 0
    other_min_count: int = 0
    csv: str = ""
    drop_list: str = ""
    skip_broken: bool = False
    group_duplicates: bool = True

    def __post_init__(self):
        DATASETS.check(self.name)
        for key in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, key) < 1.0:
                raise UserError(f"dataset.{key} = {getattr(self, key)} must be in (0, 1), e.g. 0.2")
        check_bounds(self, "dataset", DATASET_BOUNDS)
        check_classes(self.classes)
        check_image_memory(self.name, self.image_size, self.limit)


@dataclass
class ModelConfig:
    """Attributes:
    name: a registered model (kerasexp.models.MODELS).
    params: keyword arguments for its builder.
    """

    name: str = "baseline"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        MODELS.check(self.name)  # a model of one's own by import path: its module is found, not imported


@dataclass
class TrainConfig:
    """How to train ([training] in an experiment file).

    Attributes:
      epochs: passes over the training split.
      batch_size: images per step (larger batches amortise per-step overhead on a CPU:
        `kerasexp bench train` measures it).
      optimizer: a key of OPTIMIZERS (adam, adamw, sgd, lion).
      learning_rate: initial rate; the schedule scales it.
      momentum, nesterov: SGD only.
      weight_decay: decoupled weight decay (AdamW defaults to 1e-4, others to none).
      schedule: a key of SCHEDULES: constant, step (x step_factor every step_every epochs),
        cosine (to min_lr_ratio), plateau (x plateau_factor after plateau_patience epochs
        without a better val_loss).
      warmup_epochs: linear warm-up before the schedule.
      loss: a key of LOSSES (crossentropy, focal); focal_alpha/focal_gamma for focal.
      label_smoothing: for either loss.
      class_weight: "none", "balanced" (from training counts) or one weight per class.
      early_stopping_patience: epochs without improvement of `monitor` before stopping and
        restoring the best weights; 0 = off.
      restore_best: end with the weights of the best `monitor` epoch even without early
        stopping (model selection by validation, as a checkpoint would).
      monitor: the logged metric that picks the best checkpoint and drives early stopping
        (val_accuracy, val_loss, val_macro_f1, ...).
      seed: seeds Python, NumPy, TensorFlow and Keras; the same seed gives the same numbers.
      jit_compile: "auto" uses XLA only on a GPU (on a CPU it is much slower for small CNNs).
      steps_per_execution: training steps per call into the compiled graph: fewer Python
        round trips, the same weights and history (tested). Callbacks still run every epoch.
      macro_f1: also log macro-F1 (train and validation); on automatically when `monitor`
        names it. Off by default: computed every step, it costs a small CNN a visible share of its
        speed.
      ema_momentum: > 0 keeps an exponential moving average of the weights, updated every step
        (Keras' optimizer `use_ema`), and ends training with it: the saved and tested weights
        (BatchNorm statistics stay the last step's). It changes no epoch of training itself;
        validation during training sees the raw weights, so it cannot pick an epoch: refused
        with restore_best or early stopping. 0 = off.
      head_epochs, head_learning_rate: two-phase fine-tuning of a pretrained backbone
        (kerasexp.training.finetune): first `head_epochs` with the backbone frozen at a constant
        `head_learning_rate`, then this config's training with its unfrozen layers; 0 = off.
      threads: TensorFlow's intra- and inter-op threads for this run; 0 = TF's default (every
        core). On a CPU the numbers depend on it (a reduction split over more threads adds in
        another order), so it is part of the recipe: the same seed and threads give the same
        numbers. A run with threads > 0 trains in its own process, leaving the caller's TF as it
        was. Several runs (`--seeds`, the variant table) run one process a core at threads = 1
        by default on a CPU: see kerasexp.runs.run_many.
    """

    epochs: int = 15
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    step_every: int = 5
    step_factor: float = 0.5
    min_lr_ratio: float = 0.0
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    warmup_epochs: int = 0
    loss: str = "crossentropy"
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    label_smoothing: float = 0.0
    class_weight: str | list = "none"
    early_stopping_patience: int = 0
    restore_best: bool = False
    monitor: str = "val_accuracy"
    seed: int = 0
    jit_compile: str | bool = "auto"
    steps_per_execution: int = 8
    macro_f1: bool = False
    ema_momentum: float = 0.0
    head_epochs: int = 0
    head_learning_rate: float = 1e-3
    threads: int = 0

    def __post_init__(self):
        for key, registry in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("loss", LOSSES)):
            registry.check(getattr(self, key))
        check_bounds(self, "training", TRAIN_BOUNDS)
        if not (self.jit_compile == "auto" or isinstance(self.jit_compile, bool)):
            raise UserError(
                f'training.jit_compile = {self.jit_compile!r}: use "auto", true or false '
                '(true/false without quotes: any string but "auto" would turn XLA on)'
            )
        check_class_weight(self.class_weight)
        if self.ema_momentum and (self.restore_best or self.early_stopping_patience):
            raise UserError(
                "training.ema_momentum ends training with the averaged weights, which validation during "
                "training never sees; set restore_best = false and early_stopping_patience = 0, or "
                "ema_momentum = 0"
            )
        if self.monitor not in LOGGED_METRICS:
            raise UserError(
                f"training.monitor = {self.monitor!r} is not a metric the training loop logs; "
                f"choose one of: {', '.join(LOGGED_METRICS)}"
            )

    @property
    def monitor_mode(self) -> str:
        return "min" if self.monitor.endswith("loss") else "max"


LOGGED_METRICS = ("loss", "accuracy", "macro_f1", "val_loss", "val_accuracy", "val_macro_f1")


@dataclass
class AugmentationConfig:
    """Attributes:
    policy: a key of kerasexp.augment.policies.POLICIES ("none" = no augmentation), or a list
      of keys applied in order (e.g. ["randaugment", "saturation", "mixup"]); training split only.
    params: keyword arguments for the policy; for a list, a table per policy name.
    """

    policy: str | list = "none"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.policy, list) and not self.policy:
            raise UserError('augmentation.policy is an empty list; name a policy, or "none"')
        for name in self.policy if isinstance(self.policy, list) else [self.policy]:
            POLICIES.check(name)


@dataclass
class EvaluationConfig:
    """Attributes:
    kfold: > 1 trains one model per stratified fold of train+validation and ensembles them.
    ensemble: "mean" averages the folds' probabilities, "vote" takes the majority class.
    drop_folds: fold numbers (1-based) left out of the ensemble.
    tta: "none", "flip" (average the prediction of each test image and its mirror),
      "dihedral" (its 8 quarter turns and mirrors; square images without orientation), or
      "auto": the one with the best validation accuracy, chosen before the test split is
      predicted and recorded with every candidate's score in metrics.json's evaluation_choices;
      a list of names (["none", "flip"]) chooses the same way among those only, e.g. where
      dihedral views make no sense or their validation passes cost too much compute.
    test_noise_std: > 0 adds seeded Gaussian white noise of this standard deviation (pixel
      values 0-255) to the test images, as report 003's local test set.
    """

    kfold: int = 0
    ensemble: str = "mean"
    drop_folds: list = field(default_factory=list)
    tta: str | list = "none"
    test_noise_std: float = 0.0

    def __post_init__(self):
        _choice("evaluation.ensemble", self.ensemble, ("mean", "vote"))
        check_bounds(self, "evaluation", EVAL_BOUNDS)
        if isinstance(self.tta, list):
            if not self.tta:
                raise UserError(
                    'evaluation.tta is an empty list; name the views to choose among, e.g. ["none", "flip"]'
                )
            for name in self.tta:
                TTA_VIEWS.check(name)
        elif self.tta != "auto":
            TTA_VIEWS.check(self.tta)
        check_drop_folds(self.drop_folds, self.kfold)


@dataclass
class ReferenceConfig:
    """What a report published for this experiment, printed beside our numbers (0 = not given).

    Attributes:
      source: where the figures come from, e.g. "report 002, Table 4".
      test_accuracy, val_accuracy, test_macro_f1: the published figures.
      train_accuracy: the published training accuracy (report 002's Table 1); added after that
        report's runs were made, and result-neutral (kerasexp.rundir.RESULT_NEUTRAL), so they load.
    """

    source: str = ""
    test_accuracy: float = 0.0
    val_accuracy: float = 0.0
    test_macro_f1: float = 0.0
    train_accuracy: float = 0.0

    def __post_init__(self):
        check_bounds(self, "reference", REFERENCE_BOUNDS)


@dataclass
class LoggingConfig:
    """Attributes:
    tensorboard: write TensorBoard event files into the run folder (RUN/tensorboard/, each
      k-fold fold and study trial its own sub-run): per-epoch loss, accuracy, macro-F1 and
      learning rate, and at the end the confusion matrix and misclassified test images.
      Changes no result (`tensorboard --logdir runs/`; `pip install tensorboard` to view).
    """

    tensorboard: bool = True


@dataclass
class Experiment:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    name: str = "experiment"


SECTIONS = {k: v for k, v in typing.get_type_hints(Experiment).items() if k != "name"}


def _choice(key: str, value, allowed) -> None:
    if value not in allowed:
        raise UserError(f"{key} = {value!r} is not allowed; choose one of: {', '.join(map(str, allowed))}")


def _type_ok(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is not None:
        hint = origin
    return isinstance(value, hint)


def _type_name(hint) -> str:
    args = typing.get_args(hint)
    if args:
        return " or ".join(_type_name(a) for a in args)
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        dict: "a table",
        list: "a list",
    }.get(hint, getattr(hint, "__name__", str(hint)))


def section_from_dict(cls, values: dict, section: str):
    """Build dataclass `cls` from a TOML table, naming any unknown key or wrong type."""
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in dataclasses.fields(cls)]
    for key, value in values.items():
        if key not in hints:
            raise UserError(f"unknown key {section}.{key}; allowed keys in [{section}]: {', '.join(allowed)}")
        if not _type_ok(value, hints[key]):
            quoted = isinstance(value, str) and value.lower() in ("true", "false")
            raise UserError(
                f"{section}.{key} = {value!r} has the wrong type; expected "
                f"{_type_name(hints[key])}{' (without quotes)' if quoted else ''}"
            )
    try:
        return cls(**values)
    except UserError as err:
        raise UserError(f"[{section}] {err}") from None


def experiment_from_dict(raw: dict, name: str = "experiment") -> Experiment:
    unknown = [k for k in raw if k not in SECTIONS]
    if unknown:
        raise UserError(f"unknown section [{unknown[0]}]; allowed sections: {', '.join(SECTIONS)}")
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise UserError(f"[{key}] must be a table of keys, got {value!r}")
    parts = {key: section_from_dict(cls, raw.get(key, {}), key) for key, cls in SECTIONS.items()}
    return Experiment(**parts, name=name)


def parse_override(text: str) -> tuple[list[str], object]:
    """`training.epochs=30` -> (["training", "epochs"], 30); values are TOML, bare words strings."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise UserError(f"--set {text!r}: expected section.key=value, e.g. training.epochs=30")
    key, value = text.split("=", 1)
    if not value.strip():
        raise UserError(f"--set {text!r}: no value after '='; give one, e.g. {key.strip()}=30")
    if not all(part.strip() for part in key.split(".")):
        raise UserError(f"--set {text!r}: an empty name in {key.strip()!r}; expected section.key=value")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip().split("."), parsed


def read_toml(path: str | Path, overrides: list[str] = (), kind: str = "experiment") -> dict:
    """A TOML file as a dict with `--set section.key=value` overrides applied."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: {kind} file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give the {kind} file in it, e.g. studies/NAME.toml") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start}); save the {kind} file as UTF-8") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read the {kind} file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: not valid TOML ({err})") from None
    return apply_overrides(raw, overrides)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """`--set section.key=value` texts applied to an experiment or study dict (in place)."""
    for text in overrides:
        keys, value = parse_override(text)
        table = raw
        for key in keys[:-1]:
            table = table.setdefault(key, {})
            if not isinstance(table, dict):
                raise UserError(f"--set {text!r}: {key} is not a section")
        table[keys[-1]] = value
    return raw


def load_experiment(path: str | Path, overrides: list[str] = (), data: bool = True) -> Experiment:
    """An experiment file to run: every key, type, value and name checked, and (data=True) its data
    files present (check_data_paths), all without importing TensorFlow or creating anything."""
    exp = experiment_from_dict(read_toml(path, overrides), name=Path(path).stem)
    if data:
        check_data_paths(exp.dataset)
    return exp


# Fashion-MNIST's four IDX files (kerasexp.data.fashion_mnist.FILES; a test keeps them equal).
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _image_folder_paths(cfg: DatasetConfig) -> None:
    if not cfg.data_dir:
        raise UserError("dataset image_folder needs dataset.data_dir: a folder with one sub-folder per class")
    folder = Path(cfg.data_dir)
    if not folder.is_dir():
        raise UserError(
            f"{folder}: no such folder; dataset.data_dir must be a folder with one sub-folder per class"
        )
    if not any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir()):
        raise UserError(f"{folder}: no class sub-folders; put each class's images in a folder named after it")


def _fashion_mnist_paths(cfg: DatasetConfig) -> None:
    explicit = cfg.data_dir or os.environ.get("KERASEXP_DATA")
    if not explicit:  # found in Debian's folder or Keras' cache, else downloaded
        return
    for stem in FASHION_MNIST_FILES:
        if not any((Path(explicit) / (stem + gz)).is_file() for gz in (".gz", "")):
            raise UserError(
                f"{explicit}: missing {stem}.gz; put the four Fashion-MNIST IDX files there "
                "(or install Debian's dataset-fashion-mnist, or omit --data-dir to download)"
            )


def _npz_paths(cfg: DatasetConfig) -> None:
    if not cfg.data_dir:
        raise UserError("dataset npz needs dataset.data_dir: the .npz file with images and labels")
    if not Path(cfg.data_dir).is_file():
        raise UserError(f"{cfg.data_dir}: no such .npz file; dataset.data_dir must name the file")


def _image_csv_paths(cfg: DatasetConfig) -> None:
    if not (cfg.data_dir and cfg.csv):
        raise UserError(
            "dataset image_csv needs dataset.data_dir (the images) and dataset.csv (file name, label)"
        )
    if not Path(cfg.data_dir).is_dir():
        raise UserError(
            f"{cfg.data_dir}: no such folder; dataset.data_dir must be the folder of the CSV's images"
        )
    if not Path(cfg.csv).is_file():
        raise UserError(f"{cfg.csv}: label CSV not found; dataset.csv must name it")


def _cifar100_paths(cfg: DatasetConfig) -> None:
    if cfg.data_dir and not Path(cfg.data_dir).is_dir():
        raise UserError(
            f"{cfg.data_dir}: no such folder; dataset.data_dir must hold the CIFAR-100 python "
            "files (train, test) or leave it empty to use Keras' cache"
        )


# dataset name -> what its loader reads, checked before anything is imported or written (one a
# name of kerasexp.registry.DATASETS; tests/test_light_config.py checks they match).
DATA_PATHS = {
    "image_folder": _image_folder_paths,
    "fashion_mnist": _fashion_mnist_paths,
    "npz": _npz_paths,
    "image_csv": _image_csv_paths,
    "cifar100": _cifar100_paths,
}


def check_data_paths(cfg: DatasetConfig) -> None:
    """The files a dataset reads exist, in its loader's words: data_dir (image_folder: with class
    sub-folders), csv, drop_list; Fashion-MNIST's four files in an explicit folder (without one it
    is found in the usual places or downloaded). Paths are relative to the working directory."""
    DATA_PATHS.get(cfg.name, lambda cfg: None)(cfg)
    if cfg.drop_list and not Path(cfg.drop_list).is_file():
        raise UserError(
            f"{cfg.drop_list}: drop list not found; make one with `kerasexp dedup DATA --out DIR`"
        )


def to_dict(exp: Experiment) -> dict:
    return {name: dataclasses.asdict(getattr(exp, name)) for name in SECTIONS}


def to_toml(exp: Experiment) -> str:
    """The resolved experiment as TOML (what a run directory records; rundir compares it parsed):
    written by tomli-w, so any key or string (a class name "T-shirt/top", a key with a dot, a
    newline) reads back as it was."""
    import tomli_w

    return tomli_w.dumps(to_dict(exp))


def toml_value(value) -> str:
    """One value as one line of TOML (for `--set` texts and messages): tomli-w writes the scalars
    and quotes the keys; lists and tables are kept inline, on one line."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    import tomli_w

    try:
        return tomli_w.dumps({"v": value})[len("v = ") : -1]
    except TypeError:
        raise TypeError(f"cannot write {type(value).__name__} to TOML") from None


def toml_key(key: str) -> str:
    """A table key as TOML writes it: bare when it can be, else quoted."""
    import tomli_w

    return tomli_w.dumps({key: 0})[: -len(" = 0\n")]
