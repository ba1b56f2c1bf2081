"""Seeded, stratified splits (scikit-learn does the work)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from kerasexp.errors import UserError


def stratified_split(y: np.ndarray, val_fraction: float, seed: int,
                     groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with every class in the same proportion in both parts. With `groups`
    (one id an image, e.g. its duplicate group) no group straddles the two parts: scikit-learn's
    StratifiedGroupKFold with round(1 / val_fraction) folds, its first fold held out."""
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"validation fraction must be in (0, 1), got {val_fraction}")
    if groups is not None and len(np.unique(groups)) < len(groups):
        from sklearn.model_selection import StratifiedGroupKFold

        folds = StratifiedGroupKFold(n_splits=max(2, round(1 / val_fraction)), shuffle=True, random_state=seed)
        train_idx, val_idx = next(folds.split(np.zeros(len(y)), y, groups))
        return np.sort(train_idx), np.sort(val_idx)
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
