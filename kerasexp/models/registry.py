"""Model registry: a dict from name to builder, filled by a decorator (timm's idea, ten lines)."""

from __future__ import annotations

from typing import Callable

import keras

from kerasexp.errors import UserError

MODELS: dict[str, Callable[..., keras.Model]] = {}


def register_model(name: str):
    def decorator(builder):
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        MODELS[name] = builder
        return builder

    return decorator


def create_model(name: str, input_shape, num_classes: int, **kwargs) -> keras.Model:
    """Build a registered model by name; an unknown name is a UserError listing the known ones."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}") from None
    return builder(input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)
