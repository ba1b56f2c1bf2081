"""Augmentation policies by name. Each factory returns a batch function
(images, labels) -> (images, labels) that runs inside tf.data on training batches only,
with per-image randomness from seeded TF ops (never frozen at trace time)."""

from __future__ import annotations

import keras

from kerasexp.augment import image_policies as ip
from kerasexp.augment import mixing
from kerasexp.errors import UserError
from kerasexp.registry import POLICIES  # the name table; the policies below register into it


def flip_translate(seed: int = 0, translate: float = 0.1, flip: bool = True):
    """Horizontal flip and random translation by up to `translate` of the size, zero fill
    (the pad-and-crop of reports 001/004, computed per image on whole batches)."""
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if translate:
        layers.append(
            keras.layers.RandomTranslation(translate, translate, fill_mode="constant", seed=seed + 1)
        )

    def apply(images, labels):
        for layer in layers:
            images = layer(images, training=True)
        return images, labels

    return apply


def no_policy(seed: int = 0):
    """No augmentation."""
    return None


for _name, _factory in {
    "none": no_policy,
    "flip_translate": flip_translate,
    "randaugment": ip.randaugment,
    "randaugment_keras_cv": ip.randaugment_keras_cv,
    "saturation": ip.saturation,
    "rotate_flip_noise": ip.rotate_flip_noise,
    "crop_flip": ip.crop_flip,
    "cutout": ip.cutout,
    "color_jitter": ip.color_jitter,
    "multicrop": ip.multicrop,
    "mixup": mixing.mixup,
    "class_mixup": mixing.class_mixup,
    "cutmix": mixing.cutmix,
}.items():
    POLICIES.register(_name, _factory)
NEEDS_CLASS_COUNTS = ("class_mixup", "multicrop")


def _build_one(name: str, params: dict, seed: int, class_counts):
    factory = POLICIES[name]
    if not isinstance(params, dict):
        raise UserError(f"augmentation.params for {name!r} must be a table, got {params!r}")
    extra = {"class_counts": class_counts} if name in NEEDS_CLASS_COUNTS else {}
    try:
        return factory(seed=seed, **params, **extra)
    except TypeError as err:
        raise UserError(f"augmentation.params for {name!r}: {err}") from None


def build_policy(cfg, seed: int = 0, class_counts=None):
    """One policy (`policy = "name"`, `params` its keyword arguments) or several applied in
    order (`policy = ["randaugment", "saturation", "mixup"]`, `params` keyed by policy name).
    `class_counts` (training images per class) feeds the class-dependent policies."""
    from kerasexp.augment.compose import compose

    if isinstance(cfg.policy, str):
        return _build_one(cfg.policy, cfg.params, seed, class_counts)
    unknown = [k for k in cfg.params if k not in cfg.policy]
    if unknown:
        raise UserError(
            f"augmentation.params.{unknown[0]} names no policy in augmentation.policy {cfg.policy}; "
            "with a list of policies, params are keyed by policy name"
        )
    steps = [
        _build_one(name, cfg.params.get(name, {}), seed + i, class_counts)
        for i, name in enumerate(cfg.policy)
    ]
    steps = [s for s in steps if s is not None]
    return compose(steps) if steps else None
