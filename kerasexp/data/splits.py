"""Seeded, stratified splits (scikit-learn does the work)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from kerasexp.errors import UserError


def stratified_split(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with every class in the same proportion in both parts."""
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"validation fraction must be in (0, 1), got {val_fraction}")
    y = np.asarray(y)
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if len(y) * val_fraction < len(counts) or counts.min() < 2:
        raise UserError(
            f"cannot make a stratified split of {len(y)} images with {len(counts)} classes "
            f"(smallest class {counts.min()}) at validation fraction {val_fraction}; use more images"
        )
    idx = np.arange(len(y))
    train_idx, val_idx = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=y)
    return np.sort(train_idx), np.sort(val_idx)
