"""`kerasexp study-report STUDY_DIR`: storage and study name found in the study's folder, the
summary printed as a person writes it, and the objective named in Optuna's storage."""

import json
import re
import textwrap

import optuna
import pytest

from kerasexp.cli import main
from kerasexp.tuning.config import load_study_file


def tiny_study(tmp_path, pbc96_path):
    """A real study file: pbc96 images at 32x32, MobileNet 0.25 without weights, one epoch."""
    path = tmp_path / "tiny.toml"
    path.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "image_folder"
        data_dir = "{pbc96_path}"
        image_size = 32
        limit = 160
        seed = 0
        [model]
        name = "transfer"
        params = {{ backbone = "MobileNet", weights = "none", backbone_params = {{ alpha = 0.25 }} }}
        [training]
        epochs = 1
        batch_size = 32
        seed = 0
        [study]
        metric = "val_accuracy"
        [search.params]
        "training.learning_rate" = {{ low = 1e-4, high = 1e-2, log = true }}
        [search.head]
        layers = [1, 1]
        units = [8, 16]
        dropout = [0.0, 0.5]
    """)
    )
    return path


def test_a_study_folder_is_reported_with_no_other_flag(pbc96_path, tmp_path, capsys):
    toml = tiny_study(tmp_path, pbc96_path)
    out = tmp_path / "studies" / "tiny"
    assert main(["study", str(toml), "--out", str(out), "--create-only"]) == 0
    url = f"sqlite:///{out / 'study.db'}"
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.metric_names == ["val_accuracy"]  # optuna-dashboard labels the objective with it
    # one finished trial, its dropout as Optuna's grid stores it (0.1 + 0.2), without training it
    study.enqueue_trial(
        {"head_layers": 1, "head_units_0": 16, "head_dropout_0": 0.1 + 0.2, "learning_rate": 1e-3}
    )
    trial = study.ask()
    load_study_file(toml).trial_experiment(trial)
    trial.set_user_attr("epochs_run", 1)
    study.tell(trial, 0.625)
    capsys.readouterr()

    assert main(["study-report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "best val_accuracy 0.6250 (trial 0; selected among 1 trials, so biased upward and given no interval): "
        "head_dropout_0 = 0.3, head_layers = 1, head_units_0 = 16, learning_rate = 0.001" in printed
    ), printed
    assert not re.search(r"\d\.\d{7,}|\{'", printed), printed  # no raw floats or Python dicts
    assert re.search(r"retrained on train\+validation, test: accuracy 0\.\d{4} \(95% interval", printed), (
        printed
    )
    assert printed.strip().endswith(f"wrote {out / 'report'}/")
    report = out / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["study"] == "tiny" and summary["best_params"]["head_dropout_0"] == 0.1 + 0.2
    assert "- best parameters: head_dropout_0 = 0.3, head_layers = 1" in (report / "summary.md").read_text()
    assert (
        json.loads((report / "best" / "metrics.json").read_text())["accuracy"] == summary["test"]["accuracy"]
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["study-report"], "give a study folder"),
        (["study-report", "{tmp}/nowhere"], "no such study folder"),
        (["study-report", "{tmp}"], "no study.db"),
        (["study-report", "--storage", "sqlite:///{tmp}/x.db"], "give --out"),
    ],
)
def test_a_study_report_without_its_study_says_what_to_give(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and message in err, err


def test_a_postgresql_study_folder_points_to_its_storage_without_the_password(tmp_path, capsys):
    (tmp_path / "study.txt").write_text(
        "storage postgresql://me:***@db.example/optuna\nstudy big\n3 trials\n"
    )
    with pytest.raises(SystemExit):
        main(["study-report", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert "no study.db (its study.txt: storage postgresql://me:***@db.example/optuna)" in err
    assert "give --storage URL (with its password)" in err
