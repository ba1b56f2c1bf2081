"""Predictions for uint8 images, averaged over test-time augmentation views (TTA_VIEWS)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from kerasexp.errors import UserError
from kerasexp.registry import TTA_VIEWS  # the name table; the views below register into it


def _view(quarter_turns: int, mirror: bool) -> Callable:
    def view(batch):
        import tensorflow as tf

        batch = tf.image.rot90(batch, quarter_turns) if quarter_turns else batch
        return tf.reverse(batch, axis=[2]) if mirror else batch

    return view


# Test-time augmentation: the views of each test image whose predictions are averaged.
NO_VIEWS = TTA_VIEWS.register("none", (_view(0, False),))
FLIP_VIEWS = TTA_VIEWS.register("flip", (_view(0, False), _view(0, True)))  # report 001
DIHEDRAL_VIEWS = TTA_VIEWS.register(  # no up or right (cells)
    "dihedral", tuple(_view(k, m) for k in range(4) for m in (False, True))
)


def check_tta(tta: str, image_shape: tuple | None = None) -> None:
    """A known name; quarter turns keep the shape of square images only."""
    TTA_VIEWS.check(tta)
    if tta == "dihedral" and image_shape is not None and image_shape[0] != image_shape[1]:
        raise UserError(
            f'evaluation.tta = "dihedral" turns images by 90 degrees and needs square images, '
            f'not {image_shape[0]}x{image_shape[1]}; use "flip"'
        )


PREDICT_BATCH_SIZE = 512  # inference only: no gradients, so larger batches than training fit and run faster


def predict_proba(
    model, x: np.ndarray, batch_size: int = PREDICT_BATCH_SIZE, tta: str = "none"
) -> np.ndarray:
    """Class probabilities for uint8 images, through the same cast as training, averaged over the
    views of TTA_VIEWS[tta]: "flip" adds each image's mirror (report 001), "dihedral" its eight
    quarter turns and mirrors (for images without orientation: cells, textures, satellites)."""
    import tensorflow as tf

    check_tta(tta, x.shape[1:3])
    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size).map(lambda b: tf.cast(b, tf.float32))
    views = TTA_VIEWS[tta]
    with _without_retracing_warning():
        return sum(model.predict(ds.map(view), verbose=0) for view in views) / len(views)


class _RetracingFilter:
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning.
    A false alarm here: TensorFlow counts the traces of every model's predict function together
    (one code object in Keras), and each new model must trace its own (then once more for the
    last, shorter group of steps_per_execution batches); predict calls are few (8 batches a call),
    so a process that trains several models (variants, seeds, folds, trials) crosses its 5-in-10
    threshold."""

    def filter(self, record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _without_retracing_warning():
    """_RetracingFilter on TensorFlow's logger for the block only; all else it logs still shows."""
    import logging

    logger, only = logging.getLogger("tensorflow"), _RetracingFilter()
    logger.addFilter(only)
    try:
        yield
    finally:
        logger.removeFilter(only)


def tta_candidates(setting: str | list, image_shape) -> list[str]:
    """The views a setting may end with: a list's names, a fixed name itself, or for "auto"
    every view (the dihedral ones only for square images)."""
    if isinstance(setting, list):
        return setting
    if setting != "auto":
        return [setting]
    return [name for name in TTA_VIEWS if name != "dihedral" or image_shape[0] == image_shape[1]]


def chooses_tta(setting) -> bool:
    """Whether evaluation.tta is chosen on validation ("auto" or a list of candidates), not fixed."""
    return setting == "auto" or isinstance(setting, list)


def choose_tta(model, x_val: np.ndarray, y_val: np.ndarray, setting: str | list) -> tuple[str, dict]:
    """The test-time augmentation to use: `setting` itself, or for "auto" (or a list of names) the
    candidate with the best validation accuracy (ties go to fewer views), with every candidate's score."""
    if not chooses_tta(setting):
        return setting, {}
    if not len(x_val):
        raise UserError(
            f"evaluation.tta = {setting!r} chooses on the validation split, which is empty; "
            "set dataset.val_fraction above 0 or name the views"
        )
    scores = {
        name: float(np.mean(predict_proba(model, x_val, tta=name).argmax(1) == y_val))
        for name in tta_candidates(setting, x_val.shape[1:3])
    }
    return max(scores, key=lambda name: (scores[name], -len(TTA_VIEWS[name]))), scores
