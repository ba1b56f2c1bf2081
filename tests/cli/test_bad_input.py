"""Every bad input the issues name: one line naming the problem and the fix, exit code 2, no
traceback, nothing written."""

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import refused

FMNIST = """
[dataset]
name = "fashion_mnist"
limit = 400
[model]
name = "baseline"
[training]
epochs = 1
"""


def folder_experiment(tmp_path, data_dir, extra=""):
    path = tmp_path / "cells.toml"
    path.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "image_folder"
        data_dir = "{data_dir}"
        image_size = 32
        {extra}
        [model]
        name = "baseline"
        [training]
        epochs = 1
    """)
    )
    return path


def copy_cells(pbc96_path, target, classes=("basophil", "eosinophil", "lymphocyte"), per_class=6):
    for name in classes:
        (target / name).mkdir(parents=True)
        for f in sorted((pbc96_path / name).iterdir())[:per_class]:
            shutil.copyfile(f, target / name / f.name)
    return target


def case_directory(tmp_path, **_):
    return ["train", str(tmp_path)], "is a folder"


def case_not_utf8(tmp_path, **_):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[model]\nname = "caf\xe9"\n'.encode("latin-1"))
    return ["train", str(path)], "not UTF-8"


def case_negative_image_size(tmp_path, fmnist, **_):
    return ["train", str(fmnist), "--set", "dataset.image_size=-3"], "dataset.image_size = -3"


def case_negative_limit(tmp_path, fmnist, **_):
    return ["train", str(fmnist), "--set", "dataset.limit=-5"], "dataset.limit = -5"


def case_test_fraction(tmp_path, fmnist, **_):
    return ["train", str(fmnist), "--set", "dataset.test_fraction=1.5"], "dataset.test_fraction = 1.5"


def case_limit_below_classes(tmp_path, pbc96_path, **_):
    return ["train", str(folder_experiment(tmp_path, pbc96_path, "limit = 5"))], "fewer than the 8 classes"


def case_out_is_a_file(tmp_path, fmnist, **_):
    (tmp_path / "o").write_text("x")
    return ["train", str(fmnist), "--out", str(tmp_path / "o")], "is a file"


def case_out_under_a_file(tmp_path, fmnist, **_):
    (tmp_path / "f").write_text("x")
    return ["train", str(fmnist), "--out", str(tmp_path / "f" / "run")], "which is a file"


def case_out_unwritable(tmp_path, fmnist, **_):
    return ["train", str(fmnist), "--out", "/proc/kerasexp_run"], "cannot write in /proc"


def case_out_not_a_run_folder(tmp_path, fmnist, **_):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    return ["train", str(fmnist), "--out", str(tmp_path / "mine")], "not a kerasexp run folder"


def case_damaged_run_config(tmp_path, fmnist, **_):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text("[training\nepochs = = 3")
    return ["train", str(fmnist), "--out", str(tmp_path / "run")], "config.toml is damaged"


def case_predict_out_under_a_file(tmp_path, **_):
    (tmp_path / "f").write_text("x")
    return [
        "predict",
        str(tmp_path / "run"),
        str(tmp_path),
        "--out",
        str(tmp_path / "f" / "p.csv"),
    ], "which is a file"


def study_args(pbc96_path) -> list[str]:
    """`kerasexp study` on report 003's study file, its data folder set to the shipped sample."""
    study = Path(__file__).resolve().parents[2] / "studies" / "pbc96_study.toml"
    return ["study", str(study), "--set", f"dataset.data_dir='{pbc96_path}'"]


def case_postgres_driver_missing(tmp_path, pbc96_path, **_):
    return [
        *study_args(pbc96_path),
        "--storage",
        "postgresql+pg8000://u:secret@127.0.0.1/db",
    ], "pip install"


def case_truncated_jpeg(tmp_path, pbc96_path, **_):
    cells = copy_cells(pbc96_path, tmp_path / "cells")
    victim = sorted((cells / "basophil").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[: int(victim.stat().st_size * 0.6)])
    return ["train", str(folder_experiment(tmp_path, cells))], "skip_broken = true"


def case_nan_pixels(tmp_path, **_):
    x = np.random.default_rng(0).random((30, 8, 8, 1)).astype("float32")
    x[3, 2, 2, 0] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 3)
    path = tmp_path / "npz.toml"
    path.write_text(
        f'[dataset]\nname = "npz"\ndata_dir = "{tmp_path / "d.npz"}"\n[model]\nname = "baseline"\n'
    )
    return ["train", str(path)], "NaN or infinite"


def case_single_class(tmp_path, pbc96_path, **_):
    cells = copy_cells(pbc96_path, tmp_path / "cells", classes=("basophil",))
    return ["train", str(folder_experiment(tmp_path, cells))], "needs at least two"


def case_fewer_images_than_classes(tmp_path, pbc96_path, **_):
    cells = copy_cells(pbc96_path, tmp_path / "cells", per_class=1)
    (tmp_path / "cells" / "lymphocyte" / next((tmp_path / "cells" / "lymphocyte").iterdir()).name).unlink()
    return ["train", str(folder_experiment(tmp_path, cells))], "class"


def case_empty_out(tmp_path, fmnist, **_):
    return ["train", str(fmnist), "--out", ""], "--out is empty"


def case_out_inside_the_data(tmp_path, pbc96_path, **_):
    cells = copy_cells(pbc96_path, tmp_path / "cells")
    return [
        "train",
        str(folder_experiment(tmp_path, cells)),
        "--out",
        str(cells / "run"),
    ], "inside the data set's folder"


def case_study_out_is_a_run_folder(tmp_path, pbc96_path, **_):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.toml").write_text('[model]\nname = "baseline"\n')
    return [
        *study_args(pbc96_path),
        "--create-only",
        "--out",
        str(tmp_path / "run"),
    ], "is a kerasexp run folder"


def case_study_empty_out(tmp_path, pbc96_path, **_):
    return [
        *study_args(pbc96_path),
        "--create-only",
        "--out",
        "",
    ], "--out is empty"


CASES = [
    case_directory,
    case_not_utf8,
    case_negative_image_size,
    case_negative_limit,
    case_test_fraction,
    case_limit_below_classes,
    case_out_is_a_file,
    case_out_under_a_file,
    case_out_unwritable,
    case_out_not_a_run_folder,
    case_damaged_run_config,
    case_predict_out_under_a_file,
    case_postgres_driver_missing,
    case_truncated_jpeg,
    case_nan_pixels,
    case_single_class,
    case_fewer_images_than_classes,
    case_empty_out,
    case_out_inside_the_data,
    case_study_out_is_a_run_folder,
    case_study_empty_out,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case, tmp_path, fashion_path, pbc96_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the default --out (runs/NAME) would land here
    fmnist = tmp_path / "fmnist.toml"
    fmnist.write_text(FMNIST)
    argv, message = case(tmp_path=tmp_path, fmnist=fmnist, pbc96_path=pbc96_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    err = refused(argv, capsys, message)
    assert "secret" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_skip_broken_leaves_the_broken_file_out_and_records_it(tmp_path, pbc96_path):
    from kerasexp.config import DatasetConfig
    from kerasexp.data import load_dataset

    cells = copy_cells(pbc96_path, tmp_path / "cells", per_class=20)
    victim = sorted((cells / "basophil").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[: int(victim.stat().st_size * 0.6)])
    data = load_dataset(DatasetConfig(name="image_folder", data_dir=str(cells), skip_broken=True))
    assert data.notes["skipped_broken"] == [str(victim)]
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 59
