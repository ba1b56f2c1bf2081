"""Using a finished run: predictions for unlabelled images (the Kaggle submission file of
reports 000/001) and a picture of the first convolution's filters (report 000).

  kerasexp predict RUN_DIR IMAGES --out submission.csv
  kerasexp filters RUN_DIR --out filters.png
"""

from __future__ import annotations

import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError, first_line
from kerasexp.atomic import save_figure, write_csv


@dataclass(frozen=True)
class KeptModel:
    """One model whose test predictions are in a run's predictions.npz: its folder (the run's, or
    a k-fold fold's) and the test-time views those predictions used."""

    folder: Path
    tta: str


def kept_models(run_dir: str | Path) -> list[KeptModel]:
    """The model(s) behind a run's predictions.npz: the run's own, or each k-fold fold's that its
    ensemble kept (drop_folds left out), each with the views chosen for it on validation."""
    run_dir = Path(run_dir)
    check_one_run(run_dir)
    config = rundir.read_config(run_dir)
    if not config:
        raise UserError(f"{run_dir}: no {rundir.CONFIG}; is this a `kerasexp train` run folder?")
    evaluation = config.get("evaluation", {})
    choices = rundir.read_record(run_dir).get("evaluation_choices", {})
    if not evaluation.get("kfold"):
        return [KeptModel(run_dir, _chosen_views(choices, evaluation.get("tta", "none"), run_dir))]
    folds = {fold["fold"]: fold for fold in choices.get("folds", [])}
    dropped = set(evaluation.get("drop_folds", []))
    kept = [(i, rundir.fold_dir(run_dir, i)) for i in range(1, evaluation["kfold"] + 1) if i not in dropped]
    return [
        KeptModel(folder, _chosen_views(folds.get(i, {}), evaluation.get("tta", "none"), folder))
        for i, folder in kept
    ]


def check_one_run(run_dir: Path) -> None:
    """A seed group holds one model a seed and no single answer: the user picks a seed's run."""
    if rundir.is_seed_group(run_dir):
        seeds = rundir.read_json(run_dir / rundir.SEEDS)["seeds"]
        raise UserError(
            f"{run_dir} is a group of {len(seeds)} seed runs, each with its own model; "
            f"predict with one of them, e.g. {rundir.seed_dir(run_dir, seeds[0])}"
        )


def _chosen_views(choices: dict, setting, folder: Path) -> str:
    """The views a model's test predictions used: recorded in run.json, else the fixed setting."""
    from kerasexp.evaluation.predict import chooses_tta

    chosen = choices.get("tta", {}).get("chosen")
    if chosen is None and chooses_tta(setting):
        raise UserError(
            f"{folder}: no record of the test-time views it chose from {setting!r}; "
            "pass tta (none, flip or dihedral)"
        )
    return chosen or setting or "none"


def load_model_file(path: Path, run_dir: Path):
    """A saved .keras model, or a one-line error when the file is damaged."""
    import keras

    from kerasexp.models import load_builders

    load_builders()  # their custom layers, for loading
    try:
        return keras.saving.load_model(path, compile=False)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise UserError(f"{path} is damaged ({first_line(err)}); {_remake(run_dir)}") from None


def load_kept_model(folder: Path, run_dir: Path | None = None):
    """The model whose test predictions are in predictions.npz (RUN/model.keras). A run made before
    kerasexp kept it: best.keras's network with final.weights.h5, the weights the run ended with
    and predicted its test split with (with a warning); neither: an error saying how to make them."""
    run_dir = run_dir or folder
    kept = folder / rundir.MODEL
    if kept.exists():
        return _as_trained(load_model_file(kept, run_dir), run_dir)
    best, final = folder / rundir.BEST_MODEL, folder / rundir.FINAL_WEIGHTS
    if not (best.exists() and final.exists()):
        raise UserError(
            f"{run_dir} keeps no model weights (no {rundir.MODEL}: committed reports keep none); "
            f"{_remake(run_dir)}"
        )
    _warn(
        f"{folder} has no {rundir.MODEL} (made before kerasexp kept it); using the network of "
        f"{rundir.BEST_MODEL} with {rundir.FINAL_WEIGHTS}, the weights it predicted its test split with"
    )
    model = load_model_file(best, run_dir)
    try:
        model.load_weights(final)
    except (OSError, ValueError, KeyError) as err:
        raise UserError(f"{final} is damaged ({first_line(err)}); {_remake(run_dir)}") from None
    return _as_trained(model, run_dir)


def _as_trained(model, run_dir: Path):
    """Predict through XLA or not as the run did (training.jit_compile), so the numbers match."""
    from kerasexp.training.loop import use_xla

    model.jit_compile = use_xla(rundir.read_config(run_dir).get("training", {}).get("jit_compile", "auto"))
    return model


def _remake(run_dir: Path) -> str:
    """How to get a run's model: its recorded command again, into a new folder."""
    import re

    command = rundir.read_record(run_dir).get("command", "")
    if not command:
        return f"train its {rundir.CONFIG} again (kerasexp train ... --out NEW) to make them"
    command = re.sub(r"--out[= ]\S+", "--out NEW", command) if "--out" in command else f"{command} --out NEW"
    return f"rerun `{command}` to make them, then use NEW"


def run_class_names(run_dir: Path) -> list[str]:
    saved = run_dir / rundir.PREDICTIONS
    if not saved.exists():
        raise UserError(
            f"{run_dir}: no {rundir.PREDICTIONS} to read the class names from; finish the run first"
        )
    return [str(n) for n in np.load(saved)["class_names"]]


def list_images(images: str | Path) -> list[Path]:
    from kerasexp.data.folders import IMAGE_SUFFIXES

    images = Path(images)
    if not images.is_dir():
        raise UserError(f"{images}: no such folder of images to predict")
    files = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{images}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_for_predict(path: Path, size: int = 0) -> np.ndarray:
    """One image file as HxWx3 RGB; a broken one is named with a fix that applies to predict."""
    from kerasexp.data.folders import BrokenImage, read_image

    try:
        return read_image(path, size)
    except BrokenImage:
        raise UserError(
            f"{path}: broken image (cut off, corrupt or not an image); remove or repair it and predict again"
        ) from None


def load_for_model(files: list[Path], input_shape, trained_size: int = 0) -> np.ndarray:
    """Images read and resized to the model's input (grayscale when it takes one channel), with a
    one-line warning on stderr for what training did not do to its own images: a resize (the run
    read its images at this size, unless dataset.image_size resized them the same way) or colour
    turned to gray."""
    import cv2

    if not files:
        raise UserError("no images to predict")
    height, width, channels = input_shape
    images = [read_for_predict(f, height if height == width == trained_size else 0) for f in files]
    sizes = sorted({f"{im.shape[0]}x{im.shape[1]}" for im in images if im.shape[:2] != (height, width)})
    x = np.stack(
        [
            im
            if im.shape[:2] == (height, width)
            else cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA)
            for im in images
        ]
    )
    if sizes:
        resized = sum(im.shape[:2] != (height, width) for im in images)
        shown = ", ".join(sizes[:3]) + (" ..." if len(sizes) > 3 else "")
        _warn(
            f"resized {resized} of {len(files)} images from {shown} to {height}x{width}, the size the model "
            "was trained on; predictions on another size or domain are less reliable"
        )
    if channels == 1:
        coloured = int(np.sum(((x[..., 0] != x[..., 1]) | (x[..., 1] != x[..., 2])).any(axis=(1, 2))))
        if coloured:
            _warn(
                f"converted {coloured} of {len(files)} images from colour to grayscale: the model was "
                "trained on 1-channel images"
            )
        x = np.stack([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in x])[..., None]
    return x


def _warn(text: str) -> None:
    print(f"kerasexp: warning: {text}", file=sys.stderr)


def check_pixels(x: np.ndarray, input_shape, run_dir: Path) -> None:
    """An array of images as the model was trained on: its shape and 0-255 pixel values (the
    training images are uint8; a float array scaled to [0, 1] would be predicted as near black)."""
    if x.ndim != 4 or x.shape[1:] != tuple(input_shape):
        raise UserError(
            f"images of shape {x.shape[1:]}; the model of {run_dir} takes {tuple(input_shape)} "
            "(N images: an array N x height x width x channels)"
        )
    if not len(x):
        raise UserError("no images to predict (an array of 0 images)")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise UserError(f"images of dtype {x.dtype}; give pixel values 0-255 (uint8)")
    low, high = float(np.min(x)), float(np.max(x))
    if not np.isfinite([low, high]).all() or low < 0 or high > 255:
        raise UserError(f"pixel values from {low:g} to {high:g}; the model was trained on 0-255 (uint8)")
    if np.issubdtype(x.dtype, np.floating) and 0 < high <= 1:
        raise UserError(
            f"pixel values from {low:g} to {high:g} look scaled to [0, 1]; the model was trained "
            "on 0-255: pass (images * 255).astype('uint8')"
        )


def predict_images(run_dir: str | Path, images, tta: str | None = None) -> np.ndarray:
    """Class probabilities from the model(s) behind a run's predictions.npz for an array of images
    (0-255), a folder of image files or a list of files: the run's own model (k-fold: its
    ensemble of the folds it kept, combined as it combined them) with the views it chose for each
    (tta=None or "auto"; or a name: those views). On the run's own test images, with the same batch
    size, the result equals predictions.npz bit for bit (tests/evaluation/test_kept_model.py)."""
    import keras

    from kerasexp.evaluation.metrics import ensemble
    from kerasexp.models import load_builders  # their custom layers, for loading
    from kerasexp.evaluation.predict import check_tta, chooses_tta, predict_proba

    load_builders()

    run_dir = Path(run_dir)
    if tta is not None and not chooses_tta(tta):
        check_tta(tta)
    files = (
        list_images(images)
        if isinstance(images, (str, Path))
        else ([Path(f) for f in images] if isinstance(images, (list, tuple)) else None)
    )
    x = None if files is not None else np.asarray(images)
    config = rundir.read_config(run_dir)
    trained_size = config.get("dataset", {}).get("image_size", 0)
    probs = []
    for kept in kept_models(run_dir):
        model = load_kept_model(kept.folder, run_dir)
        if x is None:
            x = load_for_model(files, model.input_shape[1:], trained_size)
        check_pixels(x, model.input_shape[1:], run_dir)
        probs.append(predict_proba(model, x, tta=kept.tta if tta is None or chooses_tta(tta) else tta))
        keras.backend.clear_session()
    if len(probs) == 1 and not config.get("evaluation", {}).get("kfold"):
        return probs[0]
    return ensemble(probs, config.get("evaluation", {}).get("ensemble", "mean"))


def run_model(run_dir: str | Path):
    """The keras model behind a run's predictions.npz (k-fold: a list, one per fold its ensemble kept)."""
    run_dir = Path(run_dir)
    models = [load_kept_model(kept.folder, run_dir) for kept in kept_models(run_dir)]
    return models if rundir.read_config(run_dir).get("evaluation", {}).get("kfold") else models[0]


def predict_folder(
    run_dir: str | Path,
    images: str | Path,
    out: str | Path,
    tta: str | None = None,
    id_column: str = "image",
    label_column: str = "label",
    probabilities: bool = False,
) -> pd.DataFrame:
    """One row an image: its file name and predicted class (mean probability over fold models)."""
    rundir.check_out_file(out)
    check_one_run(Path(run_dir))
    names = run_class_names(Path(run_dir))
    files = list_images(images)
    probs = predict_images(run_dir, files, tta)
    table = pd.DataFrame(
        {id_column: [f.name for f in files], label_column: [names[i] for i in probs.argmax(axis=1)]}
    )
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
    model = load_kept_model(kept_models(run_dir)[0].folder, Path(run_dir))
    convs = [lay for lay in model.layers if isinstance(lay, keras.layers.Conv2D)]
    chosen = [lay for lay in convs if lay.name == layer] if layer else convs[:1]
    if not chosen:
        raise UserError(
            f"no Conv2D layer {layer!r}; convolutions: {', '.join(c.name for c in convs[:8])} ..."
        )
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
            ax.imshow(
                f if f.shape[-1] == 3 else f[..., 0],
                cmap=None if f.shape[-1] == 3 else "gray",
                interpolation="nearest",
            )
    fig.suptitle(
        f"{Path(run_dir).name}: {chosen[0].name} filters {kernel.shape[0]}x{kernel.shape[1]}x{kernel.shape[2]}",
        fontsize=9,
    )
    return save_figure(out, fig)
