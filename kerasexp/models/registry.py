"""Model registry: a dict from name to builder, filled by a decorator (timm's idea, ten lines)."""

from __future__ import annotations

import inspect
from typing import Callable

import keras

from kerasexp.errors import UserError

MODELS: dict[str, Callable[..., keras.Model]] = {}
_FIXED = ("input_shape", "num_classes")


def register_model(name: str):
    def decorator(builder):
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        MODELS[name] = builder
        return builder

    return decorator


def check_model(name: str, params: dict) -> None:
    """An unknown name or builder parameter is a UserError listing what is allowed."""
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    accepted = inspect.signature(MODELS[name]).parameters
    for key in params:
        if key not in accepted or key in _FIXED:
            allowed = [k for k in accepted if k not in (*_FIXED, "name")]
            raise UserError(f"model.params {key!r} is not a parameter of {name!r}; allowed: {', '.join(allowed)}")


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Build a registered model by name."""
    check_model(name, kwargs)
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
