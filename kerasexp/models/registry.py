"""Model registry: kerasexp.registry.MODELS (a light name table, filled by @register_model when a
builder module is imported) and the checks of a model's parameters, which import no Keras: the
built-in builders' parameters are written down in SIGNATURES (tests/test_light_config.py checks
them against the builders), a model of one's own is checked by its signature once imported."""

from __future__ import annotations

import inspect
import math

from kerasexp.errors import UserError
from kerasexp.registry import BACKBONES, MODELS

register_model = MODELS.register
_FIXED = ("input_shape", "num_classes")


# Keras' activation names a builder's `activation` takes (keras.activations.get; "threshold" is left
# out: it needs arguments). tests/models/test_param_checks.py checks each against Keras.
ACTIVATIONS = (
    "celu",
    "elu",
    "exponential",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh",
    "tanh_shrink",
)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _rate(v) -> bool:
    return _number(v) and 0 <= v < 1


def _count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _each(check):
    return lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(check(x) for x in v)


def _either(*checks):
    return lambda v: any(check(v) for check in checks)


# Builder parameter name -> (check, what it must be), for every builder that takes it: checked
# before any data is read or model built, so a bad value is one line instead of Keras' traceback.
PARAM_CHECKS = {
    "activation": (lambda v: v in ACTIVATIONS, f"one of Keras' activations: {', '.join(ACTIVATIONS)}"),
    **{
        key: (_rate, "a rate in [0, 1), e.g. 0.25")
        for key in ("conv_dropout", "dense_dropout", "dropout", "block_dropout", "head_dropout")
    },
    "head_dropouts": (_either(_rate, _each(_rate)), "a rate in [0, 1) or a list of them, one per head layer"),
    **{
        key: (_each(_count), "a non-empty list of positive integers")
        for key in ("kernels", "filters", "widths", "conv_depths", "head_units")
    },
    "convs_per_block": (
        _either(_count, _each(_count)),
        "a positive integer or a list of them, one per block",
    ),
    "blocks_per_stage": (_count, "a positive integer"),
    "hidden_units": (_count, "a positive integer"),
    "dense_units": (
        _either(lambda v: v == 0 and not isinstance(v, bool), _count, _each(_count)),
        "0 (none) or positive integer(s)",
    ),
    "unfreeze": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "gem_p": (lambda v: _number(v) and v > 0, "a finite number > 0, e.g. 3.0"),
}
# Builder parameters that name a registered thing: an unknown name gets the registry's message.
NAMED_PARAMS = {"backbone": BACKBONES}

# The built-in builders' keyword parameters and defaults (after input_shape, num_classes), so their
# parameters are checked without importing Keras.
_ANNEX1 = {
    "kernels": (3, 3),
    "filters": (32, 64),
    "dense_units": 128,
    "activation": "relu",
    "batch_norm": False,
    "conv_dropout": 0.25,
    "dense_dropout": 0.25,
}
_LADDER = {"conv_depths": (32, 64), "hidden_units": 128, "dropout": 0.0, "batch_norm": False}
_RESNET = {"pooling": "avg", "gem_p": 3.0, "dropout": 0.0, "normalize": "rescale", "mean_std": None}
SIGNATURES = {
    "baseline": {**_ANNEX1, "name": "baseline"},
    "kernel": {**_ANNEX1, "kernels": (7, 7), "name": "kernel"},
    "kernel_first": {**_ANNEX1, "kernels": (7, 3), "name": "kernel_first"},
    "bn": {**_ANNEX1, "batch_norm": True, "name": "bn"},
    "sigmoid": {**_ANNEX1, "activation": "sigmoid", "name": "sigmoid"},
    "vgg": {
        "widths": (32, 64, 128),
        "convs_per_block": 2,
        "block_dropout": 0.1,
        "head_dropout": 0.3,
        "dense_units": 0,
        "name": "vgg",
    },
    "ladder_baseline": {**_LADDER, "name": "ladder_baseline"},
    "ladder_dropout": {**_LADDER, "dropout": 0.5, "name": "ladder_dropout"},
    "ladder_bn": {**_LADDER, "batch_norm": True, "name": "ladder_bn"},
    "ladder_both": {**_LADDER, "dropout": 0.5, "batch_norm": True, "name": "ladder_both"},
    "ladder_advanced": {
        "widths": (64, 128, 256),
        "convs_per_block": 2,
        "block_dropout": 0.25,
        "dense_units": (512, 256),
        "dense_dropout": 0.5,
        "name": "ladder_advanced",
    },
    "ladder_resnet": {"widths": (64, 128, 256), "blocks_per_stage": 3, "name": "ladder_resnet"},
    **{f"resnet{d}": {"depth": d, **_RESNET, "name": f"resnet{d}"} for d in (18, 34, 50, 101)},
    "transfer": {
        "backbone": "MobileNet",
        "weights": "imagenet",
        "backbone_params": None,
        "unfreeze": 0,
        "norm_mode": "frozen",
        "head_units": (512, 256, 128),
        "head_dropouts": (0.5, 0.4, 0.3),
        "head_batchnorm": True,
        "pooling": "avg",
        "name": "transfer",
    },
}


def builder_parameters(name: str) -> dict | None:
    """A model's keyword parameters and defaults: SIGNATURES' for a built-in one, its signature
    for one already imported (None for a model of one's own not yet imported: checked when built).
    A builder taking **kwargs maps "**" to None."""
    if name in SIGNATURES:
        return SIGNATURES[name]
    if not MODELS.loaded(name):
        return None
    params = inspect.signature(MODELS[name]).parameters
    if not set(_FIXED) <= set(params) and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise UserError(
            f"model {name!r} must take input_shape and num_classes (then its own keyword "
            "parameters from model.params), as the built-in builders do"
        )
    return {
        ("**" if p.kind is p.VAR_KEYWORD else k): p.default
        for k, p in params.items()
        if k not in _FIXED and p.kind is not p.VAR_POSITIONAL
    }


def check_params(name: str, params: dict, accepted: dict) -> None:
    """Each value in PARAM_CHECKS' range, and a true/false where the builder's default is one."""
    for key, value in params.items():
        if key in NAMED_PARAMS:
            NAMED_PARAMS[key].check(value)
        check, what = PARAM_CHECKS.get(key, (None, ""))
        default = accepted.get(key)
        if check is None and isinstance(default, bool):
            check, what = (lambda v: isinstance(v, bool)), "true or false (without quotes)"
        if check is not None and not check(value):
            raise UserError(f"model.params {key} = {value!r} for {name!r} must be {what}")


def check_model(name: str, params: dict) -> None:
    """An unknown name or builder parameter, or a value it cannot take, is a UserError listing what
    is allowed. Imports no Keras (nor a model of one's own, whose parameters wait for its build)."""
    MODELS.check(name)
    accepted = builder_parameters(name)
    if accepted is None:
        return
    for key in params:
        if (key not in accepted and "**" not in accepted) or key in _FIXED:
            allowed = [k for k in accepted if k not in ("name", "**")]
            raise UserError(
                f"model.params {key!r} is not a parameter of {name!r}; allowed: {', '.join(allowed)}"
            )
    check_params(name, params, accepted)


def create_model(name: str, input_shape, num_classes: int, **kwargs):
    """Build a model by registered name or import path ("my_pkg.models:small_cnn"): the builder is
    called as builder(input_shape=..., num_classes=..., **model.params) and returns a keras.Model."""
    builder = MODELS[name]
    check_model(name, kwargs)
    return builder(input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
