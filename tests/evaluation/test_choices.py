"""The sealed test split: every evaluation choice is made on validation and recorded with the
figures that made it, before the test images are predicted."""

import textwrap

import numpy as np

from kerasexp.config import load_experiment
from kerasexp.runs import run_experiment


def test_auto_tta_is_chosen_on_validation_and_recorded(tmp_path, fashion_path, monkeypatch):
    from kerasexp.evaluation import predict

    path = tmp_path / "auto.toml"
    path.write_text(
        textwrap.dedent(f"""
        [dataset]
        name = "fashion_mnist"
        limit = 1000
        data_dir = "{fashion_path}"
        [training]
        epochs = 2
        restore_best = true
        [evaluation]
        tta = "auto"
    """)
    )
    seen = []
    real = predict.predict_proba
    monkeypatch.setattr(
        predict, "predict_proba", lambda model, x, **kw: seen.append((len(x), kw)) or real(model, x, **kw)
    )
    metrics = run_experiment(load_experiment(path), tmp_path / "run")
    choices = metrics["evaluation_choices"]
    scores = choices["tta"]["val_accuracy"]
    assert set(scores) == {"none", "flip", "dihedral"} and choices["tta"]["setting"] == "auto"
    assert scores[choices["tta"]["chosen"]] == max(scores.values())
    assert choices["epoch"]["rule"] == "best val_accuracy" and 1 <= choices["epoch"]["epoch"] <= 2
    # validation first, for every candidate; the 10,000 test images once, with the chosen views
    assert [n for n, _ in seen] == [200, 200, 200, 10_000]
    assert seen[-1][1]["tta"] == choices["tta"]["chosen"]
    probs = np.load(tmp_path / "run" / "predictions.npz")["probs"]
    assert metrics["accuracy"] == float(
        np.mean(probs.argmax(1) == np.load(tmp_path / "run" / "predictions.npz")["y_true"])
    )


def test_a_list_of_views_is_chosen_among_on_validation_only(fashion_path):
    """evaluation.tta = ["none", "flip"]: only those are scored (the speedrun's compute budget)."""
    import keras

    from kerasexp.data.fashion_mnist import load_arrays
    from kerasexp.evaluation.predict import choose_tta
    from kerasexp.models import create_model

    arrays, _ = load_arrays(fashion_path)
    x, y = arrays["x_test"][:64, ..., None], arrays["y_test"][:64]
    keras.utils.set_random_seed(0)
    model = create_model("baseline", (28, 28, 1), 10)
    chosen, scores = choose_tta(model, x, y, ["none", "flip"])
    assert set(scores) == {"none", "flip"} and scores[chosen] == max(scores.values())
    assert choose_tta(model, x, y, "flip") == ("flip", {})
