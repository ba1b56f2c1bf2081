"""Is configuration B better than A? A test over training seeds, not over test images.

McNemar compares two particular trained networks: it sees the test images' noise but not the
training seed's, which is often larger. So two configurations are compared over seeds (seed i of
A against seed i of B, the same split): a paired t-test of per-seed accuracy, the Wilcoxon
signed-rank beside it, the direction, and the mean paired difference with its 95% t interval.
Fewer than MIN_SEEDS pairs are "too few seeds to test". A table of several tests controls its
family-wise error with Holm-Bonferroni (`holm`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

MIN_SEEDS = 3
ALPHA = 0.05
TOO_FEW = "too few seeds to test"


@dataclass
class SeedTest:
    """One comparison over paired seeds. Attributes:
    n: seeds paired; effect: mean of (B - A) per seed; effect_ci95: its 95% t interval;
    t_p: two-sided paired t-test p; wilcoxon_p: two-sided exact signed-rank p (None when n is too
    small for it to reach below 1, or all differences are 0); direction: "B > A", "B < A" or "B = A"."""

    n: int
    effect: float
    effect_ci95: list[float] | None = None
    t_p: float | None = None
    wilcoxon_p: float | None = None
    direction: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def seed_test(a: list[float], b: list[float], name_a: str = "A", name_b: str = "B") -> SeedTest:
    """Paired over seeds: a[i] and b[i] are seed i's figures. With fewer than MIN_SEEDS pairs
    only the effect is given (no p-values: too few seeds to test)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = b - a
    effect = float(diff.mean()) if len(diff) else float("nan")
    sign = ">" if effect > 0 else "<" if effect < 0 else "="
    direction = f"{name_b} {sign} {name_a}"
    if len(diff) < MIN_SEEDS:
        return SeedTest(len(diff), effect, direction=direction)
    sd = float(diff.std(ddof=1))
    if sd == 0:  # every seed moved by the same amount: the t statistic is undefined
        t_p = 1.0 if effect == 0 else None
        ci = [effect, effect]
    else:
        t_p = float(stats.ttest_rel(b, a).pvalue)
        half = float(stats.t.ppf(0.975, len(diff) - 1)) * sd / math.sqrt(len(diff))
        ci = [effect - half, effect + half]
    wilcoxon_p = None
    if np.any(diff != 0):
        wilcoxon_p = float(stats.wilcoxon(b, a).pvalue)  # exact for small n; 3 seeds: never below 0.25
    return SeedTest(len(diff), effect, ci, t_p, wilcoxon_p, direction)


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (Holm 1979, "A simple sequentially rejective multiple test
    procedure"): sort ascending, multiply the i-th smallest (0-based) by (m - i), carry the running
    maximum so the order is kept, cap at 1. Rejecting where adjusted p < alpha controls the
    family-wise error at alpha. None (no test) stays None and does not count in m."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def verdict(test: SeedTest, adjusted_p: float | None) -> str:
    """The table's `significant` cell: decided by the (adjusted) seed-level p, with its direction."""
    if test.n < MIN_SEEDS:
        return f"{TOO_FEW} ({test.n} paired)"
    if adjusted_p is None:
        return "no (no spread over seeds to test)"
    return f"yes ({test.direction})" if adjusted_p < ALPHA else "no"


def new_run_p(mean: float, std: float, n: int, figure: float) -> float | None:
    """Is a figure from elsewhere (a report's test accuracy) one of our runs? The two-sided p of a
    t prediction interval for one new run of our recipe: |figure - mean| / (std * sqrt(1 + 1/n)),
    n - 1 degrees of freedom (with 3 seeds a wide one). None with fewer than MIN_SEEDS seeds or no
    spread: too few seeds to test."""
    from scipy import stats

    if n < MIN_SEEDS or not std:
        return None
    t = abs(figure - mean) / (std * math.sqrt(1 + 1 / n))
    return float(2 * stats.t.sf(t, n - 1))
