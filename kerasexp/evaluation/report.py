"""Tables and figures from predictions and histories: per-class precision/recall/F1,
confusion matrices and training curves. scikit-learn computes, we lay out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import classification_report, confusion_matrix


class ShownFigure(Figure):
    """A plain matplotlib Figure, never pyplot's: drawing and saving it needs no backend, so a
    notebook's or script's backend (and its own plt.plot) stays as the user set it. As a notebook
    cell's value it shows as a PNG (a bare Figure shows as text until pyplot's inline backend
    has been activated by a figure of pyplot's own)."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def per_class_table(y_true, y_pred, class_names: list[str]) -> pd.DataFrame:
    """Precision, recall (sensitivity), F1 and support per class, then macro and weighted averages."""
    labels = list(range(len(class_names)))
    rep = classification_report(
        y_true, y_pred, labels=labels, target_names=class_names, output_dict=True, zero_division=0
    )
    rows = [{"class": name, **rep[name]} for name in class_names]
    rows += [{"class": avg, **rep[avg]} for avg in ("macro avg", "weighted avg")]
    frame = pd.DataFrame(rows).rename(columns={"f1-score": "f1"})
    frame["support"] = frame["support"].astype(int)
    return frame[["class", "precision", "recall", "f1", "support"]]


def confusion_frame(y_true, y_pred, class_names: list[str]) -> pd.DataFrame:
    """Rows are true classes, columns predicted classes."""
    cm = confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
    return pd.DataFrame(cm, index=pd.Index(class_names, name="true \\ predicted"), columns=class_names)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4f", formats: dict[str, str] | None = None) -> str:
    """A GitHub-flavoured markdown table (no extra dependency); `formats` overrides per column."""
    formats = {"seconds": ".1f", "minutes": ".1f", **(formats or {})}

    def cell(column, value):
        if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
            return ""
        if isinstance(value, (float, np.floating)):
            return format(value, formats.get(column, floatfmt))
        return str(value)

    columns = [str(c) for c in frame.columns]
    header = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = [
        "| " + " | ".join(cell(c, v) for c, v in zip(columns, row)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body]) + "\n"


def plot_confusion_matrix(cm: pd.DataFrame, title: str = "") -> Figure:
    n = len(cm)
    fig = ShownFigure(figsize=(1.0 + 0.62 * n, 0.6 + 0.55 * n))
    ax = fig.subplots()
    values = cm.to_numpy()
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(n), cm.columns, rotation=45, ha="right")
    ax.set_yticks(range(n), cm.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = values.max() / 2 if values.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(values[i, j]),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if values[i, j] > threshold else "black",
            )
    ax.set_title(title)
    return fig


def plot_curves(history: dict[str, list[float]], title: str = "") -> Figure:
    """Loss and accuracy, training vs validation, one panel each."""
    fig = ShownFigure(figsize=(10, 3.6))
    axes = fig.subplots(1, 2)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            if key in history:
                ax.plot(epochs, history[key], style, marker="o", markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


@dataclass
class ClassReport:
    """A test split's per-class table (with its text) and confusion matrix (with its figure):
    rundir.write_class_report writes them as per_class.csv/.md and confusion_matrix.csv/.png."""

    table: pd.DataFrame
    text: str
    confusion: pd.DataFrame
    figure: Figure


def class_report(y_true, y_pred, class_names, title: str = "") -> ClassReport:
    """Per-class precision, recall (with its 95% Wilson interval) and F1, and the confusion matrix."""
    from kerasexp.evaluation.intervals import accuracy_ci95, recall_ci95

    table = per_class_table(y_true, y_pred, class_names)
    recall_ci = recall_ci95(y_true, y_pred, len(class_names)) + [[np.nan, np.nan]] * 2
    table.insert(3, "recall_low", [low for low, _ in recall_ci])
    table.insert(4, "recall_high", [high for _, high in recall_ci])
    correct = int(np.sum(np.asarray(y_true) == np.asarray(y_pred)))
    accuracy, (low, high) = correct / max(len(y_true), 1), accuracy_ci95(correct, len(y_true))
    text = (
        f"# {title}\n\naccuracy {accuracy:.4f} (95% interval {low:.4f}-{high:.4f}, "
        f"{len(y_true)} test images); recall_low/high: 95% Wilson interval of each class's recall\n\n"
        + markdown_table(table)
    )
    cm = confusion_frame(y_true, y_pred, class_names)
    return ClassReport(table, text, cm, plot_confusion_matrix(cm, title))
