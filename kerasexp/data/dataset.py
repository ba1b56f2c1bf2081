"""The arrays every experiment trains on: one dataclass, three splits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kerasexp.data.splits import achieved, stratified_split


@dataclass
class ImageData:
    """Images as uint8 NHWC arrays, labels as int class indices.

    Attributes:
      x_train, y_train: the split the model learns from.
      x_val, y_val: the split used for early stopping, checkpoints and model choice.
      x_test, y_test: held out; evaluated once at the end.
      class_names: one name per class index.
      source: where the data came from (a path or a download), for reports.
      groups: duplicate-group id of each image of train + validation (in that order), when the
        splits keep duplicate groups together; k-fold folds keep them together too.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str = ""
    notes: dict = field(default_factory=dict)
    groups: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def split_train_val(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: list[str],
    val_fraction: float,
    seed: int,
    limit: int | None = None,
    source: str = "",
    groups: np.ndarray | None = None,
) -> ImageData:
    """Take the first `limit` training images (all if None), then a stratified seeded val split."""
    if limit is not None:
        x, y = x[:limit], y[:limit]
    train_idx, val_idx = stratified_split(y, val_fraction, seed, groups)
    return ImageData(
        x[train_idx],
        y[train_idx],
        x[val_idx],
        y[val_idx],
        x_test,
        y_test,
        list(class_names),
        source,
        notes={
            "val_fraction": val_fraction,
            "split_seed": seed,
            "limit": limit,
            "val_achieved": achieved(len(val_idx), len(y)),
        },
        groups=None if groups is None else np.concatenate([groups[train_idx], groups[val_idx]]),
    )
