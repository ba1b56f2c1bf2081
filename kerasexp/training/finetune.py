"""Two-phase fine-tuning (Keras' transfer-learning guide; report 003 trains head and unfrozen
layers together): the new dense head first learns on a frozen backbone, so its random
gradients never reach the pretrained features, then the configured layers unfreeze and the
whole model trains at the config's (lower) rate."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import keras

from kerasexp import rundir
from kerasexp.errors import UserError


def backbones(model: keras.Model) -> list[keras.Model]:
    """The nested models of a transfer model: its pretrained backbones."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


@contextmanager
def frozen(models: list[keras.Model]):
    """Every layer of `models` frozen (normalisation in inference mode) inside the block; each
    layer's own trainable flag restored after it."""
    saved = [(m, m.trainable, [(layer, layer.trainable) for layer in m.layers]) for m in models]
    for m in models:
        m.trainable = False
    try:
        yield
    finally:
        for m, flag, flags in saved:
            m.trainable = flag
            for layer, layer_flag in flags:
                layer.trainable = layer_flag


def train_head_first(model, data, cfg, out_dir=None, callbacks=(), augment=None):
    """Phase one: `cfg.head_epochs` at a constant `cfg.head_learning_rate` with every backbone
    frozen (into out_dir/head). None when the config asks for one phase."""
    from kerasexp.training.loop import train

    if not cfg.head_epochs:
        return None
    nested = backbones(model)
    if not nested:
        raise UserError(
            f"training.head_epochs = {cfg.head_epochs} needs a model with a pretrained backbone "
            f'(model.name = "transfer"); {model.name} has none: set head_epochs = 0'
        )
    head_cfg = replace(
        cfg,
        epochs=cfg.head_epochs,
        learning_rate=cfg.head_learning_rate,
        schedule="constant",
        warmup_epochs=0,
        early_stopping_patience=0,
        restore_best=False,
        head_epochs=0,
    )
    with frozen(nested):
        return train(
            model,
            data,
            head_cfg,
            None if out_dir is None else Path(out_dir) / rundir.HEAD,
            callbacks,
            augment,
        )
