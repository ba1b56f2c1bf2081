"""The variant table before and after a change of how its runs were trained, seed for seed.

    python benchmarks/variants_agreement.py BEFORE_COMMIT [AFTER_COMMIT] > reports/variants_agreement.md

Reads reports/variants/seeds.csv as committed at BEFORE and at AFTER (default: the working tree)
and gives, per variant, each side's mean +/- std over its seeds, the difference of the means with
its 95% interval and Welch's t-test p (scipy.stats.ttest_ind). The seeds are the same numbers on
both sides, but a change of thread count changes every run's rounding, so the two sides are
independent draws, not pairs. "No detectable difference" where the interval holds 0.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
TABLE = "reports/variants/seeds.csv"
FIGURES = ("val_acc", "test_acc")


def seeds_at(commit: str | None) -> pd.DataFrame:
    if commit is None:
        return pd.read_csv(ROOT / TABLE)
    text = subprocess.run(
        ["git", "show", f"{commit}:{TABLE}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return pd.read_csv(io.StringIO(text))


def row(variant: str, figure: str, before: pd.Series, after: pd.Series) -> str:
    test = stats.ttest_ind(after, before, equal_var=False)
    low, high = test.confidence_interval(0.95)
    verdict = (
        "no detectable difference" if low <= 0 <= high else ("higher after" if low > 0 else "lower after")
    )
    return (
        f"| {variant} | {figure} | {before.mean():.4f} ± {before.std(ddof=1):.4f} | "
        f"{after.mean():.4f} ± {after.std(ddof=1):.4f} | {after.mean() - before.mean():+.4f} "
        f"({low:+.4f} to {high:+.4f}) | {test.pvalue:.3f} | {verdict} |"
    )


def main(before_commit: str, after_commit: str | None = None) -> str:
    before, after = seeds_at(before_commit), seeds_at(after_commit)
    lines = [
        "# The variant table before and after the many-runs fast path",
        "",
        f"Made by `python benchmarks/variants_agreement.py {' '.join(sys.argv[1:])}`: `{TABLE}` at "
        f"{before_commit} (before) against {after_commit or 'the working tree'} (after). Mean ± std over "
        "training seeds; the difference of the means (after − before) with its 95% Welch interval, and "
        "Welch's t-test p. The same seeds on both sides, at other thread counts: independent draws.",
        "",
        "| variant | figure | before | after | after − before (95% interval) | p | reading |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in after["variant"].unique():
        for figure in FIGURES:
            lines.append(
                row(
                    variant,
                    figure,
                    before.loc[before["variant"] == variant, figure],
                    after.loc[after["variant"] == variant, figure],
                )
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1].strip())
    print(main(*sys.argv[1:]), end="")
