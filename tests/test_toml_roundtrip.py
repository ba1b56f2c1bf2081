"""The recorded config reads back as it was written, whatever its keys and strings hold, and run
folders compare configs as parsed values: the committed reports' config.toml files (written by the
hand-made writer before tomli-w) still compare equal to their re-resolved experiments."""

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

import kerasexp
from kerasexp import rundir
from kerasexp.api import as_overrides
from kerasexp.config import (
    Experiment,
    apply_overrides,
    experiment_from_dict,
    load_experiment,
    to_dict,
    to_toml,
    toml_value,
)
from kerasexp.errors import UserError

REPORTS = Path(__file__).parents[1] / "reports"

AWKWARD = {  # what the old writer wrote as TOML that does not read back (or reads back as something else)
    "class_weight": {"T-shirt/top": 2.0, "Ankle boot": 0.5, "Trouser": 1},
    "a.b": "a key with a dot",
    "note": 'line one\nline two, "quoted", back\\slash, tab\there, Übergröße ✓ 細胞',
    "": "an empty key",
    "nested": {"deeper": {"x.y": [0.1, 1e-07, 2.5e300, -0.0], "flag": True}},
    "floats": [0.1, 0.2, 0.30000000000000004],
    "mixed": [[1, 2], ["a", "b"]],
}


def awkward_experiment() -> Experiment:
    exp = Experiment(name="awkward")
    return replace(
        exp,
        dataset=replace(exp.dataset, classes=["T-shirt/top", "Bag"]),
        model=replace(exp.model, name="vgg", params=dict(AWKWARD)),
        training=replace(exp.training, class_weight=[1.0, 0.5, 2.0], learning_rate=3e-4),
        augmentation=replace(
            exp.augmentation,
            policy=["randaugment", "mixup"],
            params={"randaugment": {"magnitude": 0.3, "ops": ["rotate", "shear.x"]}, "mixup": {"alpha": 0.2}},
        ),
        evaluation=replace(exp.evaluation, tta=["none", "flip"], kfold=3, drop_folds=[2]),
        reference=replace(exp.reference, source='report "002", Table 5\n(second line)'),
    )


def test_awkward_keys_and_strings_round_trip_through_the_written_toml():
    exp = awkward_experiment()
    text = to_toml(exp)
    assert experiment_from_dict(tomllib.loads(text), name="awkward") == exp
    assert tomllib.loads(text) == to_dict(exp)  # types too: 1 stays an integer, 1.0 a float
    assert tomllib.loads(text)["model"]["params"]["class_weight"]["Trouser"] == 1


def test_the_default_experiment_round_trips_and_its_file_loads(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(to_toml(Experiment(name="exp")), encoding="utf-8")
    assert load_experiment(path) == Experiment(name="exp")


@pytest.mark.parametrize("value", [*AWKWARD.values(), 3, 0.001, True, "auto", [], {}, ["none", "flip"]])
def test_one_value_is_one_line_of_toml_that_reads_back(value):
    text = toml_value(value)
    assert "\n" not in text
    assert tomllib.loads(f"v = {text}")["v"] == value


def test_api_overrides_with_awkward_values_reach_the_experiment():
    params = {"T-shirt/top": 2.0, "a.b": "x\ny"}
    texts = as_overrides({"training.epochs": 2, "model.params": params, "reference.source": 'a "b"\nc'})
    raw = apply_overrides(to_dict(Experiment()), texts)
    exp = experiment_from_dict(raw)
    assert exp.training.epochs == 2 and exp.model.params == params and exp.reference.source == 'a "b"\nc'


@pytest.mark.parametrize(
    "run", ["fmnist_best", "fmnist_choice_tasks/step_decay", "pbc96_ladder/ladder_bn/seed_1"]
)
def test_a_committed_run_folders_config_compares_equal_to_its_re_resolved_experiment(run):
    folder = REPORTS / run
    text = (folder / rundir.CONFIG).read_text(encoding="utf-8")
    assert "[model.params]" not in text  # written by the old writer: inline tables, one line each
    exp = experiment_from_dict(rundir.read_config(folder))
    rundir.check_same_config(folder, exp)  # no refusal
    assert rundir.stale_reason(folder) is None
    # the same experiment written today (tomli-w's layout) is the same config
    assert experiment_from_dict(tomllib.loads(to_toml(exp))) == exp
    epochs = exp.training.epochs
    with pytest.raises(
        UserError,
        match=rf"^{folder} holds a run of a different config \(training\.epochs: "
        rf"{epochs} -> {epochs + 1}\); pass another --out",
    ):
        rundir.check_same_config(folder, replace(exp, training=replace(exp.training, epochs=epochs + 1)))


def test_every_committed_run_folder_still_compares_equal():
    runs = [r for r in rundir.finished_runs(REPORTS) if (r / rundir.CONFIG).exists()]
    assert len(runs) > 50
    for run in runs:
        rundir.check_same_config(run, experiment_from_dict(rundir.read_config(run)))


def _run_folder(tmp_path, exp, name="run") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    rundir.write_config(folder, exp)
    return folder


def test_a_run_folder_with_awkward_values_is_the_same_config_and_names_a_changed_key(tmp_path):
    exp = awkward_experiment()
    folder = _run_folder(tmp_path, exp)
    rundir.check_same_config(folder, exp)  # the old writer's file did not even parse
    other = replace(exp, model=replace(exp.model, params={**AWKWARD, "a.b": "changed"}))
    with pytest.raises(
        UserError,
        match=r'\(model\.params: \{ .*"a\.b" = "a key with a dot".* -> '
        r'\{ .*"a\.b" = "changed".* \}\)',
    ):
        rundir.check_same_config(folder, other)


def test_result_neutral_keys_may_differ_and_types_may_not(tmp_path):
    exp = Experiment()
    folder = _run_folder(tmp_path, exp)
    neutral = replace(
        exp,
        training=replace(exp.training, steps_per_execution=1),
        logging=replace(exp.logging, tensorboard=False),
    )
    rundir.check_same_config(folder, neutral)
    params = replace(exp, model=replace(exp.model, params={"dense_units": 64}))
    with pytest.raises(UserError, match=r"\(model\.params: \{\} -> \{ dense_units = 64 \}\)"):
        rundir.check_same_config(folder, params)
    folder2 = _run_folder(tmp_path, params, "b")
    as_float = replace(exp, model=replace(exp.model, params={"dense_units": 64.0}))
    with pytest.raises(UserError, match=r"dense_units = 64 \} -> \{ dense_units = 64\.0 \}"):
        rundir.check_same_config(folder2, as_float)


def test_a_key_added_since_the_file_was_written_reads_as_its_default(tmp_path):
    folder = _run_folder(tmp_path, Experiment())
    config = folder / rundir.CONFIG
    config.write_text(config.read_text().replace("ema_momentum = 0.0\n", ""))
    rundir.check_same_config(folder, Experiment())
    config.write_text(config.read_text().replace("[training]\n", "[training]\nwarmup = 2\n"))
    with pytest.raises(UserError, match=r"\(training\.warmup: 2 -> \(absent\)\)"):
        rundir.check_same_config(folder, Experiment())


def test_stale_reason_names_a_value_todays_code_reads_otherwise(tmp_path, monkeypatch):
    import kerasexp.config as config

    folder = _run_folder(tmp_path, Experiment())
    record = {"machine": {"results_version": kerasexp.RESULTS_VERSION}}
    (folder / rundir.RECORD).write_text(json.dumps(record))
    assert rundir.stale_reason(folder) is None
    real = config.to_dict
    monkeypatch.setattr(
        config, "to_dict", lambda exp: {**real(exp), "training": {**real(exp)["training"], "epochs": 99}}
    )
    assert rundir.stale_reason(folder) == (
        "today's code resolves its config.toml to other values (training.epochs: 15 -> 99)"
    )
