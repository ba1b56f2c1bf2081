"""Losses and class weights. Keras provides the losses; class weights become per-sample
weights in the input pipeline (y @ w), which stays right for mixed (soft) labels, unlike
`fit(class_weight=...)` that weights by the argmax class."""

from __future__ import annotations

import numpy as np

from kerasexp.errors import UserError
from kerasexp.registry import LOSSES  # the name table; the builders below register into it


@LOSSES.register("crossentropy")
def crossentropy(cfg):
    import keras

    return keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)


@LOSSES.register("focal")
def focal(cfg):
    import keras

    return keras.losses.CategoricalFocalCrossentropy(
        alpha=cfg.focal_alpha, gamma=cfg.focal_gamma, label_smoothing=cfg.label_smoothing
    )


def class_weights(y: np.ndarray, num_classes: int, spec) -> np.ndarray | None:
    """`"none"` -> None; `"balanced"` -> n / (k * count_c) from the training labels
    (scikit-learn's formula); a list -> those weights, one per class."""
    if spec in ("none", None, False):
        return None
    if spec == "balanced":
        present = np.unique(y)
        if len(present) < num_classes:
            missing = sorted(set(range(num_classes)) - set(present.tolist()))
            raise UserError(
                f"balanced class weights need every class in the training split; missing {missing}"
            )
        from sklearn.utils.class_weight import compute_class_weight

        return compute_class_weight("balanced", classes=np.arange(num_classes), y=y).astype("float32")
    if isinstance(spec, (list, tuple)):
        if len(spec) != num_classes or any(not isinstance(w, (int, float)) or w < 0 for w in spec):
            raise UserError(f"training.class_weight: give {num_classes} non-negative numbers, got {spec!r}")
        return np.asarray(spec, dtype="float32")
    raise UserError(
        f'training.class_weight = {spec!r}: use "none", "balanced" or a list of {num_classes} numbers'
    )
