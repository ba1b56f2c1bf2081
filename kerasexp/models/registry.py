"""Model registry: a kerasexp.registry.Registry from name to builder, filled by @register_model."""

from __future__ import annotations

import inspect
import keras

from kerasexp.errors import UserError
from kerasexp.registry import Registry

MODELS = Registry("model")
register_model = MODELS.register
_FIXED = ("input_shape", "num_classes")


def check_model(name: str, params: dict) -> None:
    """An unknown name or builder parameter is a UserError listing what is allowed."""
    MODELS.check(name)
    accepted = inspect.signature(MODELS[name]).parameters
    for key in params:
        if key not in accepted or key in _FIXED:
            allowed = [k for k in accepted if k not in (*_FIXED, "name")]
            raise UserError(f"model.params {key!r} is not a parameter of {name!r}; allowed: {', '.join(allowed)}")


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Build a registered model by name."""
    check_model(name, kwargs)
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
