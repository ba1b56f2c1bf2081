"""Experiment files: unknown keys, wrong types and unknown names are named; overrides work."""

import pytest

from kerasexp.config import load_experiment, to_toml
from kerasexp.errors import UserError


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_and_values(tmp_path):
    exp = load_experiment(
        write(tmp_path, '[model]\nname = "bn"\n[training]\nepochs = 3\noptimizer = "sgd"\n')
    )
    assert exp.name == "exp" and exp.model.name == "bn"
    assert exp.training.epochs == 3 and exp.training.optimizer == "sgd" and exp.training.batch_size == 128


def test_unknown_key_names_the_key_and_the_allowed_ones(tmp_path):
    with pytest.raises(UserError, match=r"unknown key training\.epoch;.*epochs"):
        load_experiment(write(tmp_path, "[training]\nepoch = 3\n"))


def test_unknown_section(tmp_path):
    with pytest.raises(UserError, match=r"unknown section \[trainign\].*training"):
        load_experiment(write(tmp_path, "[trainign]\nepochs = 3\n"))


def test_wrong_type(tmp_path):
    with pytest.raises(UserError, match=r"training\.epochs = 'ten' has the wrong type; expected an integer"):
        load_experiment(write(tmp_path, '[training]\nepochs = "ten"\n'))


@pytest.mark.parametrize(
    "section,key,value,allowed",
    [
        ("training", "optimizer", "adamax", "adam, adamw, sgd, lion"),
        ("training", "loss", "hinge", "crossentropy, focal"),
        ("training", "schedule", "linear", "constant, step, cosine, plateau"),
        ("evaluation", "ensemble", "median", "mean, vote"),
    ],
)
def test_unknown_names_list_the_allowed_values(tmp_path, section, key, value, allowed):
    with pytest.raises(UserError, match=allowed):
        load_experiment(write(tmp_path, f'[{section}]\n{key} = "{value}"\n'))


def test_unknown_model_is_reported_when_reading_and_building(tmp_path):
    from kerasexp.models import create_model

    with pytest.raises(UserError, match="unknown model 'resnet9000'; choose one of: .*baseline"):
        load_experiment(write(tmp_path, '[model]\nname = "resnet9000"\n'))
    with pytest.raises(UserError, match="unknown model 'resnet9000'; choose one of: .*baseline"):
        create_model("resnet9000", (28, 28, 1), 10)


def test_overrides(tmp_path):
    path = write(tmp_path, "[training]\nepochs = 3\n")
    exp = load_experiment(
        path,
        [
            "training.epochs=7",
            "training.optimizer=lion",
            "evaluation.kfold=4",
            "training.class_weight=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]",
        ],
    )
    assert exp.training.epochs == 7 and exp.training.optimizer == "lion" and exp.evaluation.kfold == 4
    assert exp.training.class_weight[-1] == 10
    with pytest.raises(UserError, match="section.key=value"):
        load_experiment(path, ["epochs=3"])


def test_resolved_toml_round_trips(tmp_path):
    exp = load_experiment(
        write(
            tmp_path,
            '[model]\nname = "bn"\nparams = { dense_units = 64 }\n'
            "[evaluation]\nkfold = 3\ndrop_folds = [2]\n",
        )
    )
    again = load_experiment(write(tmp_path, to_toml(exp), "exp.toml"))
    assert again == exp


def test_not_toml(tmp_path):
    with pytest.raises(UserError, match="not valid TOML"):
        load_experiment(write(tmp_path, "[training\n"))


def test_every_shipped_study_parses():
    from pathlib import Path

    studies = sorted(Path(__file__).parents[1].joinpath("studies").glob("*.toml"))
    assert studies
    from kerasexp.tuning.config import load_study_file

    for path in studies:  # a study file is an experiment plus [study] and [search]
        (load_study_file if "[study]" in path.read_text() else load_experiment)(path, data=False)
