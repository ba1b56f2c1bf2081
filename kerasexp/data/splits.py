"""Seeded, stratified splits and k-fold folds (fold_data) (scikit-learn does the work).

Duplicate-aware splits hold out whole groups (StratifiedGroupKFold folds), so they reach a fraction
only in steps of 1/k: the held-out part is `m` of `k` folds with m/k nearest the fraction asked
(0.2: 1 of 5 folds, as before; 0.4: 2 of 5; 0.7: 7 of 10), and is refused, with the figures it
reached, when it misses the fraction by more than `split_tolerance`.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from sklearn.model_selection import train_test_split

from kerasexp.errors import UserError

SPLIT_TOLERANCE = 0.02  # absolute: the old one-fold split is kept when it is this close
MAX_FOLDS = 20  # m/k within 1/40 of any fraction


def split_tolerance(y: np.ndarray) -> float:
    """How far a duplicate-aware split may miss its fraction: 2 points plus one image a class (what
    stratified rounding costs on small data)."""
    return SPLIT_TOLERANCE + len(np.unique(y)) / len(y)


def stratified_split(
    y: np.ndarray,
    val_fraction: float,
    seed: int,
    groups: np.ndarray | None = None,
    what: str = "dataset.val_fraction",
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out) with every class in the same proportion in both parts. With `groups`
    (one id an image, e.g. its duplicate group) no group straddles the two parts. `what` names the
    setting in messages (dataset.val_fraction, dataset.test_fraction)."""
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"{what} = {val_fraction} must be in (0, 1), e.g. 0.2")
    if groups is not None and len(np.unique(groups)) < len(groups):
        return _grouped_split(np.asarray(y), val_fraction, seed, np.asarray(groups), what)
    y = np.asarray(y)
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if len(y) * val_fraction < len(counts) or counts.min() < 2:
        raise UserError(
            f"cannot make a stratified split of {len(y)} images with {len(counts)} classes "
            f"(smallest class {counts.min()}) at {what} = {val_fraction}; use more images"
        )
    idx = np.arange(len(y))
    train_idx, val_idx = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=y)
    return np.sort(train_idx), np.sort(val_idx)


def fold_plans(fraction: float) -> list[tuple[int, int]]:
    """(k folds, m held out) to try: first round(1 / fraction) folds with one held out (what every
    report so far was split with), then the m/k nearest the fraction with the fewest folds."""
    first = (max(2, round(1 / fraction)), 1)
    best = Fraction(fraction).limit_denominator(MAX_FOLDS)
    nearest = (best.denominator, best.numerator) if 0 < best < 1 else first
    return [first] if nearest == first else [first, nearest]


def _grouped_split(y, fraction, seed, groups, what):
    """The old plan (one of round(1 / f) folds) where it lands within SPLIT_TOLERANCE, so committed
    splits stay bit for bit; else the closer of the plans, if within split_tolerance; else refused."""
    tried = []
    for k, m in fold_plans(fraction):
        held = _held_folds(y, groups, k, m, seed)
        if held is None:
            tried.append((np.inf, None, f"no {k} folds from {len(np.unique(groups))} duplicate groups"))
            continue
        error = abs(len(held) / len(y) - fraction)
        if not tried and error <= SPLIT_TOLERANCE:
            return np.setdiff1d(np.arange(len(y)), held), held
        share = len(held) / len(y)
        tried.append((error, held, f"{len(held)} of {len(y)} images ({share:.1%}) with {m} of {k} folds"))
    error, held, _ = min(tried, key=lambda t: t[0])
    if error <= split_tolerance(y):
        return np.setdiff1d(np.arange(len(y)), held), held
    raise UserError(
        f"{what} = {fraction}: a split that keeps duplicate groups together reached "
        f"{'; '.join(t[2] for t in tried)}, more than {split_tolerance(y):.1%} off; use more "
        "images, another fraction, or dataset.group_duplicates = false"
    )


def _held_folds(y, groups, k: int, m: int, seed: int) -> np.ndarray | None:
    """Sorted indices of the first m of k StratifiedGroupKFold folds (None: fewer groups than folds)."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    if k > len(np.unique(groups)):
        return None
    with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
        warnings.simplefilter("ignore", UserWarning)
        folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = folds.split(np.zeros(len(y)), y, groups)
        return np.sort(np.concatenate([test for _, (_, test) in zip(range(m), parts)]))


def achieved(held: int, total: int) -> dict:
    """What a split reached, for the run's record."""
    return {"images": held, "of": total, "fraction": round(held / total, 4) if total else None}


def fold_data(data, k: int, seed: int) -> list:
    """Stratified k-fold over train+validation of an ImageData; each fold validates on its own part.
    Duplicate groups (data.groups) stay within one fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    if data.groups is not None and len(data.groups) == len(y) and len(np.unique(data.groups)) < len(y):
        folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y, data.groups
        )
    else:
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return [replace(data, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va]) for tr, va in folds]
