"""Per-channel mean and std of the training split (report 000's input normalisation), filled
into a builder's `mean_std` parameter where the model is built, so no builder reads data."""

from __future__ import annotations

import numpy as np


def channel_mean_std(x: np.ndarray, chunk: int = 1024) -> list[list[float]]:
    """[[mean per channel], [std per channel]] of NHWC pixels, in their own units (0-255),
    summed in chunks so a large uint8 split is never copied whole to float64."""
    total = np.zeros(x.shape[-1])
    squares = np.zeros(x.shape[-1])
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk].reshape(-1, x.shape[-1]).astype(np.float64)
        total += part.sum(axis=0)
        squares += (part * part).sum(axis=0)
    count = len(x) * int(np.prod(x.shape[1:-1]))
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    return [mean.tolist(), np.maximum(std, 1e-3).tolist()]


def with_train_stats(params: dict, x_train: np.ndarray) -> dict:
    """Builder parameters with `mean_std` computed on `x_train` when `normalize = "train"`."""
    if params.get("normalize") == "train" and not params.get("mean_std"):
        return {**params, "mean_std": channel_mean_std(x_train)}
    return dict(params)
