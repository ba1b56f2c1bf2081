"""Issue 28 through the command line: a value refused by the config check, and values refused
against the loaded data, each exit 2 with one line and leave no run folder."""

import pytest

from kerasexp.cli import main


def test_a_nan_learning_rate_exits_2_with_one_line_and_no_folder(tmp_path, capsys):
    """`python -m kerasexp train` is kerasexp.cli.main (kerasexp/__main__.py), called here in-process:
    a subprocess would spend ~15 s importing TensorFlow on this suite's 2 cores."""
    exp = tmp_path / "exp.toml"
    exp.write_text("[dataset]\nlimit = 200\n[training]\nepochs = 1\nlearning_rate = nan\n")
    out = tmp_path / "run"
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["train", str(exp), "--out", str(out)])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "kerasexp: error: [training] training.learning_rate must be a "
        "finite number > 0, got training.learning_rate = nan; e.g. 0.001\n"
    )
    assert not out.exists()


EXPERIMENT = """
[dataset]
name = "image_folder"
data_dir = "{data_dir}"
image_size = 16
limit = 96
group_duplicates = false
[model]
name = "baseline"
[training]
epochs = 1
{training}
[evaluation]
{evaluation}
"""


@pytest.mark.parametrize(
    "training,evaluation,message",
    [
        (
            "",
            "kfold = 100",
            "evaluation.kfold = 100, but class basophil has only 6 images in train+validation "
            "(each fold needs one of each class); use kfold <= 6",
        ),
        (
            "class_weight = [1, 2]",
            "",
            "training.class_weight has 2 weights, but the data has 8 classes (basophil, ",
        ),
    ],
)
def test_values_refused_against_the_loaded_data_leave_no_folder(
    tmp_path, pbc96_path, capsys, training, evaluation, message
):
    exp = tmp_path / "cells.toml"
    exp.write_text(EXPERIMENT.format(data_dir=pbc96_path, training=training, evaluation=evaluation))
    out = tmp_path / "run"
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["train", str(exp), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()
