"""TensorBoard event files of a run: per-epoch scalars while it trains, and at the end the
confusion matrix and a grid of misclassified test images. Written with TensorFlow's own
tf.summary.write and the scalars/images plugin tags TensorBoard reads, so training needs no
tensorboard package (viewing does: `pip install tensorboard`); read back with summary_iterator.

Laid out as Keras' TensorBoard callback lays it out, so one chart overlays training and
validation: a `train/` and a `validation/` run with the same tags (epoch_loss, epoch_accuracy, ...;
the learning rate as epoch_learning_rate in train/).

    RUN/tensorboard/            the run (k-fold: RUN/fold_K/tensorboard/; a study trial:
                                STUDY/tensorboard/trial_N/), so `tensorboard --logdir runs/`
                                shows runs, folds and trials side by side
        train/, validation/     per-epoch scalars (a head-first phase: head/train/, head/validation/)
        events.out.tfevents.*   test/confusion_matrix and test/misclassified, at the last epoch
"""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasexp import rundir


class EpochScalars(keras.callbacks.Callback):
    """Every logged metric (loss, accuracy, macro-F1) and the learning rate, one point an epoch:
    KEY in train/ and val_KEY in validation/, both as tag epoch_KEY (Keras' layout). Reads nothing
    random and changes nothing: results stay the same."""

    def __init__(self, logdir: str | Path):
        super().__init__()
        self.logdir = Path(logdir)
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._writers = {run: rundir.tensorboard_writer(self.logdir / run) for run in RUNS}

    def on_epoch_begin(self, epoch, logs=None):
        self._rate = learning_rate(self.model.optimizer)  # the rate this epoch trains at (as history.csv)

    def on_epoch_end(self, epoch, logs=None):
        for run, scalars in epoch_scalars(logs or {}, self._rate).items():
            with self._writers[run].as_default(step=epoch + 1):
                for tag, value in scalars.items():
                    tf.summary.write(tag, tf.constant(value, tf.float32), metadata=_plugin("scalars"))
            self._writers[run].flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()


RUNS = ("train", "validation")


def epoch_scalars(logs: dict, rate: float) -> dict[str, dict[str, float]]:
    """Keras' logs as run -> tag -> value: {"loss", "val_loss"} -> train/epoch_loss, validation/epoch_loss."""
    runs = {run: {} for run in RUNS}
    for key, value in logs.items():
        if np.ndim(value) != 0 or key == "learning_rate":
            continue
        run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
        runs[run][f"epoch_{name}"] = float(value)
    runs["train"]["epoch_learning_rate"] = rate
    return runs


def _plugin(name: str):
    """Summary metadata naming the TensorBoard plugin that shows a tag (what tf.summary.scalar and
    tf.summary.image write when the tensorboard package is installed)."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = name
    return metadata


def learning_rate(optimizer) -> float:
    """The rate the optimizer applies now (a schedule evaluated at its current step)."""
    lr = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(lr(optimizer.iterations) if callable(lr) else lr))


def _image(fig) -> tf.Tensor:
    """A figure as TensorBoard's image tensor: [width, height, PNG bytes] as strings."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    png = buffer.getvalue()
    height, width = tf.io.decode_png(png).shape[:2]
    return tf.constant([str(width).encode(), str(height).encode(), png])


def confusion_figure(y_true, y_pred, class_names, title: str = ""):
    """Counts, rows true classes, columns predicted (a plain Figure: no pyplot, no backend)."""
    from matplotlib.figure import Figure
    from sklearn.metrics import confusion_matrix

    n = len(class_names)
    values = confusion_matrix(y_true, y_pred, labels=list(range(n)))
    fig = Figure(figsize=(1.0 + 0.62 * n, 0.6 + 0.55 * n))
    ax = fig.subplots()
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for (i, j), count in np.ndenumerate(values):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if count > values.max() / 2 else "black",
        )
    return fig


def misclassified_grid(images, y_true, y_pred, class_names, count: int = 25):
    """Up to `count` misclassified test images, each titled true -> predicted."""
    from matplotlib.figure import Figure

    wrong = np.flatnonzero(y_true != y_pred)[:count]
    cols = 5
    rows = max(1, -(-len(wrong) // cols))
    fig = Figure(figsize=(2.0 * cols, 2.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        image = np.asarray(images[i], dtype=np.float32)
        image = (image - image.min()) / max(float(image.max() - image.min()), 1e-6)
        ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
        ax.set_title(f"{class_names[y_true[i]]} ->\n{class_names[y_pred[i]]}", fontsize=8)
    if not len(wrong):
        axes.flat[0].set_title("no misclassified test image")
    return fig


def write_test_images(logdir: str | Path, x_test, y_true, probs, class_names, step: int) -> None:
    """The test split's confusion matrix and misclassified images, at the run's last epoch."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(probs).argmax(axis=1)
    writer = rundir.tensorboard_writer(logdir)
    figures = {
        "test/confusion_matrix": confusion_figure(y_true, y_pred, class_names, "test set"),
        "test/misclassified": misclassified_grid(x_test, y_true, y_pred, class_names),
    }
    with writer.as_default(step=step):
        for tag, fig in figures.items():
            tf.summary.write(tag, _image(fig), metadata=_plugin("images"))
    writer.close()


def read_events(logdir: str | Path) -> dict[str, list[tuple[int, object]]]:
    """Every scalar and image tag in a log folder: tag -> [(step, value or image bytes)]."""
    found: dict[str, list] = {}
    for path in sorted(Path(logdir).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                item = tensor.item() if tensor.ndim == 0 else tensor
                found.setdefault(value.tag, []).append((int(event.step), item))
    return found
