"""Augmentation policies by name. Each factory returns a batch function
(images, labels) -> (images, labels) that runs inside tf.data on training batches only,
with per-image randomness from seeded TF ops (never frozen at trace time)."""

from __future__ import annotations

import keras

from kerasexp.errors import UserError


def flip_translate(seed: int = 0, translate: float = 0.1, flip: bool = True):
    """Horizontal flip and random translation by up to `translate` of the size, zero fill
    (the pad-and-crop of reports 001/004, computed per image on whole batches)."""
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if translate:
        layers.append(keras.layers.RandomTranslation(translate, translate, fill_mode="constant", seed=seed + 1))

    def apply(images, labels):
        for layer in layers:
            images = layer(images, training=True)
        return images, labels

    return apply


POLICIES = {
    "none": lambda seed=0: None,
    "flip_translate": flip_translate,
}


def build_policy(cfg, seed: int = 0):
    try:
        factory = POLICIES[cfg.policy]
    except KeyError:
        raise UserError(f"unknown augmentation.policy {cfg.policy!r}; choose one of: {', '.join(POLICIES)}") from None
    try:
        return factory(seed=seed, **cfg.params)
    except TypeError as err:
        raise UserError(f"augmentation.params for {cfg.policy!r}: {err}") from None
