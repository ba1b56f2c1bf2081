"""Error bars and paired tests for test-set figures: Wilson intervals for accuracy and per-class
recall (a binomial proportion each; a percentile bootstrap gives 244/244 the empty [1, 1]), a
seeded bootstrap interval for macro-F1, and, for two models scored on the same
test images, an exact McNemar test (accuracy) and a paired bootstrap (macro-F1). scipy gives the
binomial parts; the bootstraps resample confusion matrices with multinomial weights, so 1,000
resamples of 10,000 images take about a second."""

from __future__ import annotations

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def accuracy_ci95(correct: int, total: int) -> list[float]:
    """Wilson score interval (95%) of an accuracy of correct/total."""
    from scipy.stats import binomtest

    if total == 0:
        return [float("nan"), float("nan")]
    interval = binomtest(int(correct), int(total)).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(interval.low), float(interval.high)]


def _resample_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each image is drawn in each bootstrap resample: (resamples, n)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float32)


def _confusions(y_true, y_pred, k: int, weights: np.ndarray) -> np.ndarray:
    """(resamples, k, k) confusion matrices of the weighted resamples."""
    cells = np.asarray(y_true) * k + np.asarray(y_pred)
    onehot = np.zeros((len(cells), k * k), np.float32)
    onehot[np.arange(len(cells)), cells] = 1.0
    return (weights @ onehot).reshape(len(weights), k, k)


def macro_f1_of(confusions: np.ndarray) -> np.ndarray:
    """Macro-F1 of each confusion matrix (rows true, columns predicted); a class absent from both
    truth and predictions scores 0, as scikit-learn's zero_division=0 does."""
    tp = np.diagonal(confusions, axis1=-2, axis2=-1)
    predicted, actual = confusions.sum(axis=-2), confusions.sum(axis=-1)
    denominator = predicted + actual
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)
    return f1.mean(axis=-1)


def bootstrap_intervals(
    y_true, y_pred, k: int, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> dict:
    """95% percentile interval of macro-F1 over test images (no binomial formula exists for it)."""
    weights = _resample_weights(len(y_true), resamples, seed)
    confusions = _confusions(y_true, y_pred, k, weights)
    return {"macro_f1_ci95": [float(v) for v in np.percentile(macro_f1_of(confusions), [2.5, 97.5])]}


def recall_ci95(y_true, y_pred, k: int) -> list[list[float]]:
    """95% Wilson interval of each class's recall (right / test images of the class); [nan, nan]
    for a class without test images."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    right = np.bincount(y_true[y_true == y_pred], minlength=k)
    images = np.bincount(y_true, minlength=k)
    return [accuracy_ci95(int(r), int(n)) for r, n in zip(right[:k], images[:k])]


def mcnemar_p(reference_correct, other_correct) -> dict:
    """Exact McNemar test on the images where the two models disagree: a two-sided binomial test
    of the discordant counts (scipy's binomtest)."""
    from scipy.stats import binomtest

    reference_correct, other_correct = np.asarray(reference_correct, bool), np.asarray(other_correct, bool)
    only_reference = int(np.sum(reference_correct & ~other_correct))
    only_other = int(np.sum(~reference_correct & other_correct))
    discordant = only_reference + only_other
    p = 1.0 if discordant == 0 else float(binomtest(only_other, discordant, 0.5).pvalue)
    return {"p_value": p, "only_reference_right": only_reference, "only_other_right": only_other}


def paired_bootstrap_macro_f1_p(
    y_true,
    reference_pred,
    other_pred,
    k: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> float:
    """Two-sided p-value of the macro-F1 difference, resampling the same test images for both
    models: twice the share of resamples on the other side of zero from the observed difference,
    counted as (count + 1) / (resamples + 1) so that a finite bootstrap never claims p = 0."""
    weights = _resample_weights(len(y_true), resamples, seed)
    diff = macro_f1_of(_confusions(y_true, other_pred, k, weights)) - macro_f1_of(
        _confusions(y_true, reference_pred, k, weights)
    )
    observed = macro_f1_of(_confusions(y_true, other_pred, k, np.ones((1, len(y_true))))) - macro_f1_of(
        _confusions(y_true, reference_pred, k, np.ones((1, len(y_true))))
    )
    beyond = np.sum(diff <= 0) if observed[0] > 0 else np.sum(diff >= 0)
    return float(min(1.0, 2 * (beyond + 1) / (len(diff) + 1)))


def test_intervals(y_true, probs) -> dict:
    """What metrics.json carries beside the figures: accuracy_ci95, macro_f1_ci95, recall_ci95."""
    y_true, probs = np.asarray(y_true), np.asarray(probs)
    y_pred = probs.argmax(axis=1)
    return {
        "accuracy_ci95": accuracy_ci95(int(np.sum(y_pred == y_true)), len(y_true)),
        **bootstrap_intervals(y_true, y_pred, probs.shape[1]),
        "recall_ci95": recall_ci95(y_true, y_pred, probs.shape[1]),
    }


def span(ci) -> str:
    """A 95% interval [low, high] as table text "low-high" ("" where a run predates intervals)."""
    return f"{ci[0]:.4f}-{ci[1]:.4f}" if ci else ""
