"""Optimizers by name ([training] optimizer), each built from the training config and a rate
or schedule. Keras provides them all (Lion and AdamW included)."""

from __future__ import annotations

from kerasexp.registry import Registry

OPTIMIZERS = Registry("optimizer")


def _weight_decay(cfg):
    return cfg.weight_decay or None


@OPTIMIZERS.register("adam")
def adam(cfg, lr):
    import keras

    return keras.optimizers.Adam(lr, weight_decay=_weight_decay(cfg))


@OPTIMIZERS.register("adamw")
def adamw(cfg, lr):
    import keras

    return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay or 1e-4)


@OPTIMIZERS.register("sgd")
def sgd(cfg, lr):
    import keras

    return keras.optimizers.SGD(lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=_weight_decay(cfg))


@OPTIMIZERS.register("lion")
def lion(cfg, lr):
    import keras

    return keras.optimizers.Lion(lr, weight_decay=_weight_decay(cfg))
