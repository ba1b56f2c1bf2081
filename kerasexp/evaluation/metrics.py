"""Predictions to numbers: headline metrics, fold summaries in report 003's mean +/- std
style, and ensembles of folds by averaged probabilities or majority vote."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from kerasexp.errors import UserError


def headline_metrics(y_true, probs) -> dict:
    """Accuracy and macro precision/recall/F1 of argmax predictions (plus the log loss)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(probs).argmax(axis=1)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(np.asarray(probs).shape[1]), average="macro", zero_division=0
    )
    eps = 1e-7
    loss = float(-np.mean(np.log(np.clip(np.asarray(probs)[np.arange(len(y_true)), y_true], eps, 1.0))))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "macro_f1": float(f1),
        "loss": loss,
    }


def ensemble(prob_list: list[np.ndarray], method: str = "mean") -> np.ndarray:
    """Combine per-model probabilities: "mean" averages them; "vote" returns the vote shares
    (ties go to the class with the higher mean probability)."""
    if not prob_list:
        raise UserError("the ensemble is empty: every fold was dropped")
    stacked = np.stack(prob_list)
    mean = stacked.mean(axis=0)
    if method == "mean":
        return mean
    if method == "vote":
        n_classes = stacked.shape[-1]
        votes = np.eye(n_classes)[stacked.argmax(axis=-1)].sum(axis=0)
        return (votes + 1e-6 * mean) / len(prob_list)
    raise UserError(f"unknown ensemble method {method!r}; choose mean or vote")


def fold_summary(
    fold_metrics: list[dict], keys=("accuracy", "precision", "recall", "macro_f1")
) -> pd.DataFrame:
    """One row a fold, then mean and std rows, and a `mean +/- std` text row (report 003's table)."""
    frame = pd.DataFrame(fold_metrics)
    table = frame[["fold", *keys]].copy()
    mean, std = frame[list(keys)].mean(), frame[list(keys)].std(ddof=1)
    summary = pd.DataFrame(
        [
            {"fold": "mean", **mean.to_dict()},
            {"fold": "std", **std.to_dict()},
        ]
    )
    table["fold"] = table["fold"].astype(str)
    text = {"fold": "mean ± std", **{k: f"{mean[k]:.4f} ± {std[k]:.4f}" for k in keys}}
    return pd.concat([table, summary, pd.DataFrame([text])], ignore_index=True)
