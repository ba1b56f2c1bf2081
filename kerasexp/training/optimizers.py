"""Optimizers by name ([training] optimizer), each built from the training config and a rate
or schedule. Keras provides them all (Lion and AdamW included), and the weight average
(training.ema_momentum: `use_ema`)."""

from __future__ import annotations

from kerasexp.registry import OPTIMIZERS  # the name table; the builders below register into it


def _weight_decay(cfg):
    return cfg.weight_decay or None


def _ema(cfg) -> dict:
    return {"use_ema": True, "ema_momentum": cfg.ema_momentum} if cfg.ema_momentum else {}


@OPTIMIZERS.register("adam")
def adam(cfg, lr):
    import keras

    return keras.optimizers.Adam(lr, weight_decay=_weight_decay(cfg), **_ema(cfg))


@OPTIMIZERS.register("adamw")
def adamw(cfg, lr):
    import keras

    return keras.optimizers.AdamW(lr, weight_decay=cfg.weight_decay or 1e-4, **_ema(cfg))


@OPTIMIZERS.register("sgd")
def sgd(cfg, lr):
    import keras

    return keras.optimizers.SGD(
        lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=_weight_decay(cfg), **_ema(cfg)
    )


@OPTIMIZERS.register("lion")
def lion(cfg, lr):
    import keras

    return keras.optimizers.Lion(lr, weight_decay=_weight_decay(cfg), **_ema(cfg))
