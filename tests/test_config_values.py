"""Every value of an experiment file is checked where it is read (issue 28): non-finite numbers,
values out of range, names the loop or the builders do not know. Each is one UserError naming the
key and the fix, before any data is read (or, for values that need the data, right after loading
it and before the run folder is written). None of these tests trains."""

import dataclasses
import math
import typing

import pytest

from kerasexp import config
from kerasexp.config import experiment_from_dict, load_experiment, parse_override
from kerasexp.errors import UserError
from kerasexp.training.session import validate


def refused(raw: dict) -> str:
    """The one-line message with which `raw` (an experiment dict) is refused."""
    with pytest.raises(UserError) as info:
        validate(experiment_from_dict(raw))
    message = str(info.value)
    assert "\n" not in message
    return message


# (raw experiment, what the message must say): the cases of issue 28, then our own.
CASES = {
    "learning_rate_nan": (
        {"training": {"learning_rate": math.nan}},
        "training.learning_rate must be a finite number > 0, got training.learning_rate = nan",
    ),
    "learning_rate_inf": (
        {"training": {"learning_rate": math.inf}},
        "training.learning_rate must be a finite number > 0, got training.learning_rate = inf",
    ),
    "head_learning_rate_nan": (
        {"training": {"head_learning_rate": math.nan}},
        "training.head_learning_rate must",
    ),
    "step_factor_negative": (
        {"training": {"step_factor": -1.0}},
        "training.step_factor must be in (0, 1], got training.step_factor = -1.0; e.g. 0.5",
    ),
    "warmup_negative": (
        {"training": {"warmup_epochs": -3}},
        "training.warmup_epochs must be an integer >= 0, got training.warmup_epochs = -3",
    ),
    "long_tail_half": (
        {"dataset": {"long_tail_ratio": 0.5}},
        "dataset.long_tail_ratio must be 0 (off) or > 1, got dataset.long_tail_ratio = 0.5",
    ),
    "training_seed_negative": (
        {"training": {"seed": -1}},
        "training.seed must be an integer in [0, 4294967295], got training.seed = -1",
    ),
    "training_seed_2_32": ({"training": {"seed": 2**32}}, "got training.seed = 4294967296"),
    "dataset_seed_negative": (
        {"dataset": {"seed": -1}},
        "dataset.seed must be an integer in [0, 4294967295]",
    ),
    "monitor_unknown": (
        {"training": {"monitor": "val_foo"}},
        "training.monitor = 'val_foo' is not a metric the training loop logs; choose one of: "
        "loss, accuracy, macro_f1, val_loss, val_accuracy, val_macro_f1",
    ),
    "image_size_huge": (
        {"dataset": {"image_size": 100000}},
        "dataset.image_size must be 0 (off) or an integer in [1, 4096], got dataset.image_size = 100000",
    ),
    "image_memory": (
        {"dataset": {"name": "image_folder", "image_size": 4096, "limit": 10**7}},
        "dataset.image_size = 4096 makes 10,000,000 images of image_folder at least 468750.0 GiB",
    ),
    "conv_dropout_negative": (
        {"model": {"params": {"conv_dropout": -0.5}}},
        "model.params conv_dropout = -0.5 for 'baseline' must be a rate in [0, 1)",
    ),
    "activation_unknown": (
        {"model": {"params": {"activation": "nosuch"}}},
        "model.params activation = 'nosuch' for 'baseline' must be one of Keras' activations",
    ),
    "momentum_one": ({"training": {"momentum": 1.0}}, "training.momentum must be in [0, 1)"),
    "weight_decay_negative": (
        {"training": {"weight_decay": -0.1}},
        "training.weight_decay must be a finite number >= 0",
    ),
    "min_lr_ratio": ({"training": {"min_lr_ratio": 1.5}}, "training.min_lr_ratio must be in [0, 1]"),
    "plateau_factor_one": (
        {"training": {"plateau_factor": 1.0}},
        "training.plateau_factor must be in (0, 1)",
    ),
    "plateau_patience": (
        {"training": {"plateau_patience": -1}},
        "training.plateau_patience must be an integer >= 0",
    ),
    "focal_alpha": ({"training": {"focal_alpha": 2.0}}, "training.focal_alpha must be in [0, 1]"),
    "focal_gamma": ({"training": {"focal_gamma": -1.0}}, "training.focal_gamma must be a finite number >= 0"),
    "patience": (
        {"training": {"early_stopping_patience": -2}},
        "training.early_stopping_patience must be an",
    ),
    "classes_one": ({"dataset": {"classes": 1}}, "dataset.classes = 1: give 0 (all classes)"),
    "other_min_count": (
        {"dataset": {"other_min_count": -1}},
        "dataset.other_min_count must be an integer >= 0",
    ),
    "kfold_one": ({"evaluation": {"kfold": 1}}, "evaluation.kfold must be 0 (off) or an integer >= 2"),
    "noise_nan": (
        {"evaluation": {"test_noise_std": math.nan}},
        "evaluation.test_noise_std must be in [0, 255]",
    ),
    "reference_percent": (
        {"reference": {"test_accuracy": 93.4}},
        "reference.test_accuracy must be in [0, 1]",
    ),
    # our own hostile cases
    "jit_compile_string_false": (
        {"training": {"jit_compile": "false"}},
        "training.jit_compile = 'false': use \"auto\", true or false",
    ),
    "restore_best_string_true": (
        {"training": {"restore_best": "true"}},
        "training.restore_best = 'true' has the wrong type; expected true/false (without quotes)",
    ),
    "model_bool_as_string": (
        {"model": {"name": "bn", "params": {"batch_norm": "false"}}},
        "model.params batch_norm = 'false' for 'bn' must be true or false (without quotes)",
    ),
    "drop_every_fold": (
        {"evaluation": {"kfold": 2, "drop_folds": [1, 2]}},
        "keep at least one of the 2 folds in the ensemble",
    ),
    "drop_folds_without_kfold": ({"evaluation": {"drop_folds": [1]}}, "evaluation.drop_folds = [1] needs"),
    "class_weight_misspelt": (
        {"training": {"class_weight": "Balanced"}},
        "training.class_weight = 'Balanced' is not allowed; choose one of: none, balanced",
    ),
    "class_weight_negative": (
        {"training": {"class_weight": [1.0, -2.0]}},
        "one finite weight >= 0 per class",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_value_is_one_line_naming_the_key_and_the_fix(case):
    raw, message = CASES[case]
    assert message in refused(raw)


def test_vgg_block_dropout_that_reaches_1_in_the_last_block():
    from kerasexp.models import create_model

    with pytest.raises(
        UserError,
        match=r"block_dropout = 0.4: the last of 3 blocks drops 3 x "
        r"block_dropout.*0\.333",
    ):
        create_model("vgg", (28, 28, 1), 10, block_dropout=0.4)


def test_the_same_cases_from_an_experiment_file(tmp_path):
    """load_experiment reads TOML's nan and inf and refuses them like the dict."""
    path = tmp_path / "exp.toml"
    path.write_text("[training]\nlearning_rate = nan\n")
    with pytest.raises(
        UserError,
        match=r"^\[training\] training\.learning_rate must be a finite number > 0, "
        r"got training\.learning_rate = nan; e\.g\. 0\.001$",
    ):
        load_experiment(path)
    path.write_text("[training]\nstep_factor = -1.0\n")
    with pytest.raises(UserError, match=r"training\.step_factor must be in \(0, 1\]"):
        load_experiment(path)


NUMERIC = [
    (section, f.name)
    for section, cls in config.SECTIONS.items()
    for f in dataclasses.fields(cls)
    if typing.get_type_hints(cls)[f.name] in (int, float)
]
TABLES = {
    "dataset": config.DATASET_BOUNDS,
    "training": config.TRAIN_BOUNDS,
    "evaluation": config.EVAL_BOUNDS,
    "reference": config.REFERENCE_BOUNDS,
}


@pytest.mark.parametrize("section,key", NUMERIC, ids=[f"{s}.{k}" for s, k in NUMERIC])
def test_every_numeric_key_has_bounds_and_refuses_nan_and_inf(section, key):
    if (section, key) not in {("dataset", "val_fraction"), ("dataset", "test_fraction")}:  # checked apart
        assert key in TABLES[section]
    is_float = typing.get_type_hints(config.SECTIONS[section])[key] is float
    for bad in (math.nan, math.inf, -math.inf) if is_float else (-(2**40),):
        with pytest.raises(UserError, match=rf"{section}\.{key}"):
            experiment_from_dict({section: {key: bad}})


def test_defaults_and_edges_inside_the_bounds_load():
    exp = experiment_from_dict(
        {
            "training": {
                "seed": 2**32 - 1,
                "step_factor": 1.0,
                "min_lr_ratio": 1.0,
                "warmup_epochs": 14,
                "momentum": 0.0,
                "jit_compile": False,
            },
            "dataset": {
                "name": "image_folder",
                "seed": 0,
                "image_size": 4096,
                "limit": 100,
                "long_tail_ratio": 1.5,
                "classes": 2,
            },
            "evaluation": {"kfold": 3, "drop_folds": [1, 3]},
            "reference": {"test_accuracy": 1.0},
        }
    )
    assert exp.training.seed == 2**32 - 1 and exp.dataset.image_size == 4096
    assert exp.evaluation.drop_folds == [1, 3]


def test_image_memory_is_measured_against_this_machines_ram():
    config.check_image_memory("image_folder", 96, 17_092, ram=2**30)  # 0.44 GiB in 1 GiB
    with pytest.raises(
        UserError,
        match=r"makes 70,000 images of fashion_mnist at least 3\.2 GiB of "
        r"pixels, more "
        r"than this machine's 2\.0 GiB of RAM",
    ):
        config.check_image_memory("fashion_mnist", 128, 0, ram=2 * 2**30)
    assert config.physical_memory() > 2**28


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "training.epochs=",
            "--set 'training.epochs=': no value after '='; give one, e.g. training.epochs=30",
        ),
        ("training..epochs=3", "an empty name in 'training..epochs'"),
        ("training.restore_best=True", "expected true/false (without quotes)"),
    ],
)
def test_bad_overrides(text, message):
    with pytest.raises(UserError) as info:
        experiment_from_dict(config.apply_overrides({}, [text]))
    assert message in str(info.value)


def test_empty_override_used_to_reach_the_type_check_as_an_empty_string():
    with pytest.raises(UserError, match="no value"):
        parse_override("training.epochs=")
    assert parse_override("training.jit_compile=false") == (["training", "jit_compile"], False)


def test_every_committed_run_config_still_resolves():
    """Today's checks accept every run under reports/ (kerasexp reports check)."""
    from pathlib import Path

    from kerasexp import rundir

    runs = rundir.finished_runs(Path(__file__).parents[1] / "reports")
    assert len(runs) > 50
    assert [str(r) for r in runs if rundir.stale_reason(r)] == []
