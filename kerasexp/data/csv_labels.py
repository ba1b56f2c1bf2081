"""A folder of images plus a CSV of file name and label (reports 000/001's Kaggle format)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp.data.folders import read_images
from kerasexp.data.labels import check_labels
from kerasexp.data.pool import Pool
from kerasexp.errors import UserError


def read_label_csv(csv_path: str | Path) -> tuple[list[str], list[str]]:
    """(file names, labels): the first column names the file, the column `label` (or the second
    column) holds its class."""
    csv_path = Path(csv_path)
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(f"{csv_path}: label CSV not found; dataset.csv must name it") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{csv_path}: not a readable CSV ({err})") from None
    if frame.shape[1] < 2 or len(frame) == 0:
        raise UserError(f"{csv_path}: needs a header and rows of file name, label")
    label_col = "label" if "label" in frame.columns[1:] else frame.columns[1]
    files, labels = frame.iloc[:, 0].str.strip().tolist(), frame[label_col].str.strip().tolist()
    missing = [i for i, (f, lab) in enumerate(zip(files, labels)) if not f or not lab]
    if missing:
        raise UserError(f"{csv_path}: row {missing[0] + 2} has an empty file name or label")
    seen = pd.Series(files).duplicated()
    if seen.any():
        raise UserError(f"{csv_path}: file {files[int(np.flatnonzero(seen)[0])]!r} is listed twice")
    return files, labels


def _sort_key(name: str):
    """Numbers first, in numeric order ("2" before "10"); ASCII digits only: str.isdigit() also takes
    "²", which int() refuses."""
    return (0, int(name), "") if re.fullmatch(r"-?[0-9]+", name) else (1, 0, name)


def load_csv_pool(image_dir: str | Path, csv_path: str | Path, image_size: int = 0) -> Pool:
    """Images named in the CSV, read from `image_dir`; classes sorted (numerically if all numbers)."""
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise UserError(
            f"{image_dir}: no such folder; dataset.data_dir must be the folder of the CSV's images"
        )
    files, labels = read_label_csv(csv_path)
    absent = [f for f in files if not (image_dir / f).is_file()]
    if absent:
        raise UserError(f"{csv_path}: {len(absent)} listed file(s) not in {image_dir}, e.g. {absent[0]!r}")
    names = sorted(set(labels), key=_sort_key)
    index = {n: i for i, n in enumerate(names)}
    y, names = check_labels(np.array([index[lab] for lab in labels]), names, str(csv_path))
    x = read_images([image_dir / f for f in files], image_size)
    return Pool(x, y, names, files, f"{image_dir} + {csv_path}")
