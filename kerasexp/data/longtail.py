"""Long-tailed subsets of a balanced training split, with CIFAR-LT's exponential profile:
class c keeps n_max * ratio^(-c / (C - 1)) images, so the largest over the smallest is `ratio`."""

from __future__ import annotations

import numpy as np

from kerasexp.errors import UserError


def long_tail_counts(max_count: int, num_classes: int, ratio: float) -> list[int]:
    if ratio < 1:
        raise UserError(f"imbalance ratio must be >= 1, got {ratio}")
    return [max(1, int(max_count * ratio ** (-c / max(num_classes - 1, 1)))) for c in range(num_classes)]


def long_tail_indices(y: np.ndarray, ratio: float, seed: int) -> np.ndarray:
    """Sorted indices of a long-tailed subset, drawn without replacement with `seed`: the first
    class keeps as many images as the smallest class has, the last class that divided by `ratio`."""
    y = np.asarray(y)
    classes = np.unique(y)
    counts = np.bincount(y, minlength=classes.max() + 1)
    wanted = long_tail_counts(int(counts[classes].min()), len(classes), ratio)
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(y == c), size=n, replace=False) for c, n in zip(classes, wanted)]
    return np.sort(np.concatenate(keep))
