"""TensorBoard event files of a run: per-epoch scalars while it trains, and at the end the
confusion matrix and a grid of misclassified test images. Written with TensorFlow's own
tf.summary.write and the scalars/images plugin tags TensorBoard reads, so training needs no
tensorboard package (viewing does: `pip install tensorboard`); read back with summary_iterator.

    RUN/tensorboard/            the run (k-fold: RUN/fold_K/tensorboard/; a study trial:
                                STUDY/tensorboard/trial_N/), so `tensorboard --logdir runs/`
                                shows runs, folds and trials side by side
"""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

class EpochScalars(keras.callbacks.Callback):
    """Every logged metric (loss, accuracy, macro-F1, their validation twins) and the learning
    rate, one point an epoch. Reads nothing random and changes nothing: results stay the same."""

    def __init__(self, logdir: str | Path):
        super().__init__()
        self.logdir = Path(logdir)
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(str(self.logdir))

    def on_epoch_begin(self, epoch, logs=None):
        self._rate = learning_rate(self.model.optimizer)  # the rate this epoch trains at (as history.csv)

    def on_epoch_end(self, epoch, logs=None):
        scalars = {key: float(value) for key, value in (logs or {}).items()
                   if np.ndim(value) == 0 and key != "learning_rate"}
        scalars["learning_rate"] = self._rate
        with self._writer.as_default(step=epoch + 1):
            for key, value in scalars.items():
                tf.summary.write(f"epoch/{key}", tf.constant(value, tf.float32), metadata=_plugin("scalars"))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


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
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    png = buffer.getvalue()
    height, width = tf.io.decode_png(png).shape[:2]
    return tf.constant([str(width).encode(), str(height).encode(), png])


def misclassified_grid(images, y_true, y_pred, class_names, count: int = 25):
    """Up to `count` misclassified test images, each titled true -> predicted."""
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(y_true != y_pred)[:count]
    cols = 5
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.2 * rows), squeeze=False)
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
    from kerasexp.evaluation.report import confusion_frame, plot_confusion_matrix

    y_pred = np.asarray(probs).argmax(axis=1)
    writer = tf.summary.create_file_writer(str(logdir))
    figures = {"test/confusion_matrix": plot_confusion_matrix(confusion_frame(y_true, y_pred, class_names), "test set"),
               "test/misclassified": misclassified_grid(x_test, y_true, y_pred, class_names)}
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
