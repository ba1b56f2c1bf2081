"""The Python API (kerasexp.train / load_run / compare, Run) on real Fashion-MNIST, and the
quickstart notebook executed as a user would run it."""

from pathlib import Path

import numpy as np
import pytest

import kerasexp
from kerasexp.config import load_experiment

ROOT = Path(__file__).resolve().parents[1]
STEP = ROOT / "studies" / "fmnist_step_decay.toml"


def tiny(fashion_path, **extra):
    return {"dataset.data_dir": str(fashion_path), "dataset.limit": 1000, "training.epochs": 2, **extra}


@pytest.mark.slow
def test_train_returns_a_run_that_reads_back_every_table(fashion_path, tmp_path):
    run = kerasexp.train(
        STEP, out=tmp_path / "run", overrides=tiny(fashion_path, **{"evaluation.tta": "auto"})
    )
    assert isinstance(run, kerasexp.Run)
    assert run.config.training.epochs == 2 and run.config.evaluation.tta == "auto"
    m = run.metrics
    low, high = m["accuracy_ci95"]
    assert low < m["accuracy"] < high and m["evaluation_choices"]["tta"]["chosen"] in ("none", "flip")
    history = run.history
    assert history["epoch"].tolist() == [1, 2] and {"loss", "val_accuracy"} <= set(history)
    assert run.per_class["support"].iloc[:10].sum() == 10_000
    cm = run.confusion_matrix
    assert cm.to_numpy().sum() == 10_000 and np.trace(cm.to_numpy()) / 10_000 == pytest.approx(m["accuracy"])
    # predict: the saved model on an array, the same answers as the run's own test predictions
    saved = np.load(run.dir / "predictions.npz")
    from kerasexp.data import load_fashion_mnist

    x_test = load_fashion_mnist(fashion_path, limit=1000).x_test[:64]
    probs = run.predict(x_test)
    assert probs.shape == (64, 10) and np.allclose(
        probs, saved["probs"][:64], atol=1e-5
    )  # batch of 64, not 512
    assert run.plot_curves().axes
    # load_run reads the same folder; an Experiment object trains (here: loads) the same way
    again = kerasexp.load_run(run.dir)
    assert again.metrics["accuracy"] == m["accuracy"]
    exp = load_experiment(STEP)
    assert (
        kerasexp.train(exp, out=run.dir, overrides=tiny(fashion_path, **{"evaluation.tta": "auto"})).metrics
        == m
    )


def test_a_committed_report_loads_with_its_history():
    history = kerasexp.load_run(ROOT / "reports" / "fmnist_best").history
    assert (
        history["epoch"].iloc[0] == 1
        and len(history) == load_experiment(ROOT / "reports" / "fmnist_best" / "config.toml").training.epochs
    )


def test_a_committed_report_keeps_no_weights_and_says_how_to_make_them():
    """reports/ commits no weights: Run.model and Run.predict say so, with the recorded command."""
    run = kerasexp.load_run(ROOT / "reports" / "fmnist_best")
    expected = (
        r"reports/fmnist_best keeps no model weights \(no model\.keras: committed reports keep none\); "
        r"rerun `python -m kerasexp(\.__main__)? train studies/fmnist_best\.toml --out NEW` to make them"
    )
    for call in (lambda: run.model, lambda: run.predict(np.zeros((2, 28, 28, 1), np.uint8))):
        with pytest.raises(kerasexp.UserError, match=expected):
            call()


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda tmp: kerasexp.train(STEP, out=tmp / "x", overrides={"training.epochs": 0}),
            "training.epochs",
        ),
        (
            lambda tmp: kerasexp.train(STEP, out=tmp / "x", overrides={"training.nope": 1}),
            "unknown key training.nope",
        ),
        (lambda tmp: kerasexp.train(tmp / "missing.toml"), "not found"),
        (lambda tmp: kerasexp.load_run(tmp), "not a finished kerasexp run folder"),
        (lambda tmp: kerasexp.compare([tmp / "a"], out=tmp / "c"), "no metrics.json"),
    ],
)
def test_bad_input_raises_user_error(tmp_path, call, message):
    with pytest.raises(kerasexp.UserError, match=message):
        call(tmp_path)
    assert not (tmp_path / "x").exists()


def test_overrides_take_python_values_as_set_takes_text():
    from kerasexp.api import as_overrides, experiment_of

    texts = as_overrides(
        {
            "training.epochs": 3,
            "augmentation.policy": ["flip", "translate"],
            "augmentation.params": {"translate": 0.1},
            "training.restore_best": False,
        }
    )
    assert texts == [
        "training.epochs=3",
        'augmentation.policy=["flip", "translate"]',
        "augmentation.params={ translate = 0.1 }",
        "training.restore_best=false",
    ]
    exp = experiment_of(STEP, {"training.epochs": 3, "augmentation.params": {"translate": 0.1}})
    assert exp.training.epochs == 3 and exp.augmentation.params == {"translate": 0.1}
    assert experiment_of(exp, {"training.epochs": 4}).training.epochs == 4
    assert load_experiment(STEP, ["training.epochs=3"]) == experiment_of(STEP, {"training.epochs": 3})


@pytest.mark.slow
def test_the_quickstart_notebook_executes(fashion_path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "reports" / "quickstart.ipynb", as_version=4)
    # Run where Jupyter opens it, reports/, in a scratch copy of the repository's layout: studies/
    # and the committed report read from the repository, runs/quickstart written under tmp_path.
    (tmp_path / "studies").symlink_to(ROOT / "studies")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "fmnist_best").symlink_to(ROOT / "reports" / "fmnist_best")
    monkeypatch.setenv("KERASEXP_DATA", str(fashion_path))
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path / "reports")}},
    ).execute()
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [
        "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
        for cell in cells
    ]
    assert not [o for cell in cells for o in cell.outputs if o.output_type == "error"]
    assert "test accuracy" in outputs[1] and "training.epochs must be a positive integer" in outputs[-1]
    assert (tmp_path / "runs" / "quickstart" / "metrics.json").exists()
    # a progress bar in the notebook (tqdm's text bar without ipywidgets), not a line an epoch
    assert "fmnist_step_decay: 100%" in outputs[0] and "2/2" in outputs[0], outputs[0]
    assert "[fmnist_step_decay] epoch" not in "".join(outputs)
    # nothing but the bar and the run's status line on stderr: no TensorFlow start-up lines, no
    # "IProgress not found"
    stderr = "".join(o.text for cell in cells for o in cell.outputs if o.get("name") == "stderr")
    lines = set(stderr.replace("\r", "\n").splitlines()) - {""}
    assert any(line.startswith("trained ") and line.endswith("(2 epochs)") for line in lines), lines
    assert lines <= {line for line in lines if "fmnist_step_decay:" in line or line.startswith("trained ")}
    # run.plot_curves() shows once as a PNG, and so does the user's own plt.plot after it
    images = [[o for o in cell.outputs if "image/png" in o.get("data", {})] for cell in cells]
    curves = next(i for i, cell in enumerate(cells) if cell.source.strip() == "run.plot_curves()")
    assert len(images[curves]) == 1 and len(images[curves + 1]) == 1
    assert "plt.plot(" in cells[curves + 1].source
