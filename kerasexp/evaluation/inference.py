"""Using a finished run: predictions for unlabelled images (the Kaggle submission file of
reports 000/001) and a picture of the first convolution's filters (report 000).

  kerasexp predict RUN_DIR IMAGES --out submission.csv
  kerasexp filters RUN_DIR --out filters.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError
from kerasexp.io import save_figure, write_csv


def run_models(run_dir: str | Path) -> list[Path]:
    """best.keras of a run, or of each k-fold fold the run's ensemble kept (drop_folds left out)."""
    run_dir = Path(run_dir)
    if (run_dir / rundir.BEST_MODEL).exists():
        return [run_dir / rundir.BEST_MODEL]
    folds = [(i, d / rundir.BEST_MODEL) for i, d in rundir.fold_dirs(run_dir) if (d / rundir.BEST_MODEL).exists()]
    if not folds:
        raise UserError(f"{run_dir}: no {rundir.BEST_MODEL} (nor fold_*/{rundir.BEST_MODEL}); "
                        "is this a `kerasexp train` run folder?")
    dropped = set(rundir.read_config(run_dir).get("evaluation", {}).get("drop_folds", []))
    return [path for i, path in folds if i not in dropped]


def run_class_names(run_dir: Path) -> list[str]:
    saved = run_dir / rundir.PREDICTIONS
    if not saved.exists():
        raise UserError(f"{run_dir}: no {rundir.PREDICTIONS} to read the class names from; finish the run first")
    return [str(n) for n in np.load(saved)["class_names"]]


def chosen_tta(run_dir: Path) -> str:
    import collections

    choices = rundir.read_metrics(run_dir).get("evaluation_choices", {})
    picks = [fold["tta"]["chosen"] for fold in choices.get("folds", [])] or [choices.get("tta", {}).get("chosen", "none")]
    return collections.Counter(picks).most_common(1)[0][0]


def list_images(images: str | Path) -> list[Path]:
    from kerasexp.data.folders import IMAGE_SUFFIXES

    images = Path(images)
    if not images.is_dir():
        raise UserError(f"{images}: no such folder of images to predict")
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{images}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def load_for_model(files: list[Path], input_shape) -> np.ndarray:
    """Images read and resized to the model's input (grayscale when it takes one channel)."""
    import cv2

    from kerasexp.data.folders import read_image

    height, width, channels = input_shape
    x = np.stack([cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA) if im.shape[:2] != (height, width)
                  else im for im in map(read_image, files)])
    if channels == 1:
        x = np.stack([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in x])[..., None]
    return x


def predict_images(run_dir: str | Path, images, tta: str | None = None) -> np.ndarray:
    """Class probabilities from a run's saved model(s) (k-fold: the mean over the folds the
    ensemble kept) for an array of images, a folder of image files or a list of files; with the
    test-time views the run used (tta=None; "auto": the views it chose on validation)."""
    import keras

    from kerasexp.models import load_builders  # their custom layers, for loading
    from kerasexp.evaluation.predict import check_tta, chooses_tta, predict_proba

    load_builders()

    run_dir = Path(run_dir)
    if tta is None:
        tta = rundir.read_config(run_dir).get("evaluation", {}).get("tta", "none")
    if chooses_tta(tta):  # what the run chose on its validation split (k-fold: the folds' most common choice)
        tta = chosen_tta(run_dir)
    tta = tta or "none"
    check_tta(tta)
    files = list_images(images) if isinstance(images, (str, Path)) else (
        [Path(f) for f in images] if isinstance(images, (list, tuple)) else None)
    x = None if files is not None else np.asarray(images)
    probs, models = None, run_models(run_dir)
    for path in models:
        model = keras.saving.load_model(path, compile=False)
        if x is None:
            x = load_for_model(files, model.input_shape[1:])
        elif x.shape[1:] != tuple(model.input_shape[1:]):
            raise UserError(f"images of shape {x.shape[1:]}; the model of {run_dir} takes {tuple(model.input_shape[1:])}")
        p = predict_proba(model, x, tta=tta)
        probs = p if probs is None else probs + p
        keras.backend.clear_session()
    return probs / len(models)


def predict_folder(run_dir: str | Path, images: str | Path, out: str | Path, tta: str | None = None,
                   id_column: str = "image", label_column: str = "label", probabilities: bool = False) -> pd.DataFrame:
    """One row an image: its file name and predicted class (mean probability over fold models)."""
    rundir.check_out_file(out)
    names = run_class_names(Path(run_dir))
    files = list_images(images)
    probs = predict_images(run_dir, files, tta)
    table = pd.DataFrame({id_column: [f.name for f in files], label_column: [names[i] for i in probs.argmax(axis=1)]})
    if probabilities:
        table = pd.concat([table, pd.DataFrame(probs, columns=[f"p_{n}" for n in names])], axis=1)
    write_csv(out, table)
    return table


def first_conv_filters(run_dir: str | Path, out: str | Path, layer: str = "") -> Path:
    """A grid of the first Conv2D's kernels (RGB when it reads 3 channels, else the channel mean),
    each scaled to its own range, as report 000 drew them after each training."""
    import keras
    import matplotlib.pyplot as plt

    from kerasexp.models import load_builders

    load_builders()
    model = keras.saving.load_model(run_models(run_dir)[0], compile=False)
    convs = [lay for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    chosen = [lay for lay in convs if lay.name == layer] if layer else convs[:1]
    if not chosen:
        raise UserError(f"no Conv2D layer {layer!r}; convolutions: {', '.join(c.name for c in convs[:8])} ...")
    kernel = np.asarray(chosen[0].kernel.numpy())  # (kh, kw, in, out)
    images = kernel if kernel.shape[2] == 3 else kernel.mean(axis=2, keepdims=True)
    count = images.shape[-1]
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < count:
            f = images[..., i]
            f = (f - f.min()) / (f.max() - f.min() or 1.0)
            ax.imshow(f if f.shape[-1] == 3 else f[..., 0], cmap=None if f.shape[-1] == 3 else "gray",
                      interpolation="nearest")
    fig.suptitle(f"{Path(run_dir).name}: {chosen[0].name} filters {kernel.shape[0]}x{kernel.shape[1]}x{kernel.shape[2]}",
                 fontsize=9)
    return save_figure(out, fig)
