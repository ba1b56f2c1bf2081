"""One form for every named choice (models, backbones, datasets, augmentation policies, optimizers,
losses, schedules, pruners, TTA views): a Registry from name to builder whose unknown names are one
UserError listing the known ones. timm's registry, in a few lines.

The name tables below are light: each name points at its builder as "module.path:attribute", and
the module is imported on the first `REG[name]`. So an experiment file's names are checked
(`REG.check(name)`, `name in REG`, `list(REG)`) without importing TensorFlow, Keras, Optuna or the
builder modules. The builder modules register their builders into these same tables
(`@LOSSES.register("focal")`); tests/test_light_config.py checks that what they register is
exactly what the tables name, so the two cannot drift.

MODELS also takes a model of one's own by import path, `[model] name = "my_pkg.models:small_cnn"`:
checked by locating the module (importlib.util.find_spec, which imports its parent packages but
not the module itself) and imported when the model is built.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping

from kerasexp.errors import UserError


def unknown_choice(kind: str, name, choices) -> str:
    """The one message for a name no registry knows."""
    return f"unknown {kind} {name!r}; choose one of: {', '.join(map(str, choices))}"


def is_import_path(name) -> bool:
    """ "package.module:function": a builder named by where it is, not registered by name."""
    if not isinstance(name, str) or name.count(":") != 1:
        return False
    module, attr = name.split(":")
    return all(part.isidentifier() for part in module.split(".")) and attr.isidentifier()


class Registry(Mapping):
    """name -> builder. Entries are builders or lazy "module.path:attribute" texts, imported on the
    first lookup; `REG[name]` of an unknown name raises UserError(unknown_choice(...))."""

    def __init__(self, kind: str, entries: dict | None = None, import_paths: bool = False):
        self.kind = kind
        self._table = dict(entries or {})  # name -> builder or "module:attribute"
        self._loaded: dict = {}
        self.registered: dict = {}  # what builder modules registered (tests compare it with the table)
        self.import_paths = import_paths

    def register(self, name: str, builder=None):
        """`@REG.register(name)` on a builder, or `REG.register(name, builder)`; returns the builder."""
        if builder is None:
            return lambda b: self.register(name, b)
        if name in self.registered:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self.registered[name] = self._loaded[name] = builder
        self._table.setdefault(name, builder)
        return builder

    def __getitem__(self, name):
        if name in self._loaded:
            return self._loaded[name]
        if name in self._table:
            entry = self._table[name]
            builder = _resolve(entry) if isinstance(entry, str) else entry
        elif self.import_paths and is_import_path(name):
            self.check(name)
            builder = _resolve(name, self.kind)
        else:
            raise UserError(unknown_choice(self.kind, name, self))
        self._loaded[name] = builder
        return builder

    def __contains__(self, name) -> bool:
        return name in self._table

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def target(self, name) -> str | None:
        """The "module:attribute" a lazy name points at (None for a builder given as an object)."""
        entry = self._table.get(name, name if is_import_path(name) else None)
        return entry if isinstance(entry, str) else None

    def loaded(self, name) -> bool:
        """Whether `REG[name]` has been imported (or registered) already."""
        return name in self._loaded

    def check(self, name) -> None:
        """A known name, or (where allowed) an import path whose module exists; imports nothing
        but an import path's parent packages."""
        if isinstance(name, str) and name in self._table:
            return
        if self.import_paths and isinstance(name, str) and ":" in name:
            _locate(name, self.kind)
            return
        raise UserError(unknown_choice(self.kind, name, self))


def _locate(path: str, kind: str) -> None:
    """An import path's module exists on sys.path (its parent packages are imported to find it)."""
    if not is_import_path(path):
        raise UserError(
            f"{kind} {path!r}: give a registered name or an import path "
            "package.module:function, e.g. my_models.cnn:small_cnn"
        )
    module = path.split(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise UserError(
            f"{kind} {path!r}: no module {module!r} on the Python path; add its folder to "
            "PYTHONPATH or install it"
        )


def _resolve(target: str, kind: str = ""):
    module, attr = target.split(":")
    loaded = importlib.import_module(module)
    try:
        return getattr(loaded, attr)
    except AttributeError:
        if not kind:
            raise
        raise UserError(f"{kind} {target!r}: module {module} has no {attr!r}") from None


# The name tables: every named choice an experiment or study file can make, without its builder.

MODELS = Registry(
    "model",
    {
        **{
            name: f"kerasexp.models.cnn:{name}"
            for name in ("baseline", "kernel", "kernel_first", "bn", "sigmoid", "vgg")
        },
        **{
            name: f"kerasexp.models.ladder:{name}"
            for name in ("ladder_baseline", "ladder_dropout", "ladder_bn", "ladder_both")
        },
        "ladder_advanced": "kerasexp.models.ladder:advanced_cnn",
        "ladder_resnet": "kerasexp.models.ladder:small_resnet",
        **{f"resnet{d}": f"kerasexp.models.resnet:resnet{d}" for d in (18, 34, 50, 101)},
        "transfer": "kerasexp.models.transfer:transfer",
    },
    import_paths=True,
)

# keras.applications builders (kerasexp.models.transfer.PREPROCESSING: the pixels each one expects)
BACKBONES = Registry(
    "backbone",
    {
        name: f"keras.applications:{name}"
        for name in (
            "MobileNet",
            "MobileNetV2",
            "MobileNetV3Small",
            "MobileNetV3Large",
            "EfficientNetV2B0",
            "EfficientNetV2S",
            "ConvNeXtTiny",
            "ConvNeXtSmall",
            "ConvNeXtBase",
            "VGG16",
            "VGG19",
            "ResNet50",
            "ResNet50V2",
            "DenseNet121",
        )
    },
)

DATASETS = Registry(
    "dataset",
    {
        name: f"kerasexp.data:_{name}"
        for name in ("fashion_mnist", "image_folder", "npz", "image_csv", "cifar100")
    },
)

POLICIES = Registry(
    "augmentation.policy",
    {
        "none": "kerasexp.augment.policies:no_policy",
        "flip_translate": "kerasexp.augment.policies:flip_translate",
        **{
            name: f"kerasexp.augment.image_policies:{name}"
            for name in (
                "randaugment",
                "randaugment_keras_cv",
                "saturation",
                "rotate_flip_noise",
                "crop_flip",
                "cutout",
                "color_jitter",
                "multicrop",
            )
        },
        **{name: f"kerasexp.augment.mixing:{name}" for name in ("mixup", "class_mixup", "cutmix")},
    },
)

OPTIMIZERS = Registry(
    "optimizer", {name: f"kerasexp.training.optimizers:{name}" for name in ("adam", "adamw", "sgd", "lion")}
)

SCHEDULES = Registry(
    "schedule",
    {
        "constant": "kerasexp.training.schedules:constant",
        "step": "kerasexp.training.schedules:step_decay",
        "cosine": "kerasexp.training.schedules:cosine",
        "plateau": "kerasexp.training.schedules:constant",
    },
)

LOSSES = Registry("loss", {name: f"kerasexp.training.losses:{name}" for name in ("crossentropy", "focal")})

TTA_VIEWS = Registry(
    "test-time augmentation",
    {
        "none": "kerasexp.evaluation.predict:NO_VIEWS",
        "flip": "kerasexp.evaluation.predict:FLIP_VIEWS",
        "dihedral": "kerasexp.evaluation.predict:DIHEDRAL_VIEWS",
    },
)

PRUNERS = Registry(
    "pruner",
    {
        "none": "optuna.pruners:NopPruner",
        "median": "optuna.pruners:MedianPruner",
        "hyperband": "optuna.pruners:HyperbandPruner",
        "successive_halving": "optuna.pruners:SuccessiveHalvingPruner",
        "threshold": "optuna.pruners:ThresholdPruner",
    },
)

# Every name table, for the test that compares them with what the builder modules register.
NAME_TABLES = {
    "model": MODELS,
    "backbone": BACKBONES,
    "dataset": DATASETS,
    "policy": POLICIES,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "loss": LOSSES,
    "tta": TTA_VIEWS,
    "pruner": PRUNERS,
}
