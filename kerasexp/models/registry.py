"""Model registry: a kerasexp.registry.Registry from name to builder, filled by @register_model."""

from __future__ import annotations

import inspect
import math

import keras

from kerasexp.errors import UserError
from kerasexp.registry import Registry

MODELS = Registry("model")
register_model = MODELS.register
_FIXED = ("input_shape", "num_classes")


# Keras' activation names a builder's `activation` takes (keras.activations.get; "threshold" is left
# out: it needs arguments). tests/models/test_param_checks.py checks each against Keras.
ACTIVATIONS = ("celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
               "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
               "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
               "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink")


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
    **{key: (_rate, "a rate in [0, 1), e.g. 0.25") for key in
       ("conv_dropout", "dense_dropout", "dropout", "block_dropout", "head_dropout")},
    "head_dropouts": (_either(_rate, _each(_rate)), "a rate in [0, 1) or a list of them, one per head layer"),
    **{key: (_each(_count), "a non-empty list of positive integers") for key in
       ("kernels", "filters", "widths", "conv_depths", "head_units")},
    "convs_per_block": (_either(_count, _each(_count)),
                        "a positive integer or a list of them, one per block"),
    "blocks_per_stage": (_count, "a positive integer"),
    "hidden_units": (_count, "a positive integer"),
    "dense_units": (_either(lambda v: v == 0 and not isinstance(v, bool), _count, _each(_count)),
                    "0 (none) or positive integer(s)"),
    "unfreeze": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "gem_p": (lambda v: _number(v) and v > 0, "a finite number > 0, e.g. 3.0"),
}


def check_params(name: str, params: dict, accepted) -> None:
    """Each value in PARAM_CHECKS' range, and a true/false where the builder's default is one."""
    for key, value in params.items():
        check, what = PARAM_CHECKS.get(key, (None, ""))
        default = accepted[key].default
        if check is None and isinstance(default, bool):
            check, what = (lambda v: isinstance(v, bool)), "true or false (without quotes)"
        if check is not None and not check(value):
            raise UserError(f"model.params {key} = {value!r} for {name!r} must be {what}")


def check_model(name: str, params: dict) -> None:
    """An unknown name or builder parameter, or a value it cannot take, is a UserError listing what
    is allowed."""
    MODELS.check(name)
    accepted = inspect.signature(MODELS[name]).parameters
    for key in params:
        if key not in accepted or key in _FIXED:
            allowed = [k for k in accepted if k not in (*_FIXED, "name")]
            raise UserError(f"model.params {key!r} is not a parameter of {name!r}; allowed: {', '.join(allowed)}")
    check_params(name, params, accepted)


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Build a registered model by name."""
    check_model(name, kwargs)
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
