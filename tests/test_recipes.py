"""Training recipes on real Fashion-MNIST subsets: early stopping on macro-F1, k-fold,
ensembles, TTA, long tails."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from kerasexp.data.longtail import long_tail_counts, long_tail_indices
from kerasexp.errors import UserError
from kerasexp.evaluation.metrics import ensemble, fold_summary
from kerasexp.data.splits import fold_data
from kerasexp.models import create_model
from kerasexp.config import TrainConfig
from kerasexp.evaluation.predict import check_tta, predict_proba
from kerasexp.training.loop import seed_everything, train


def small(data, n_train=800, n_val=400):
    return type(data)(
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.x_val[:n_val],
        data.y_val[:n_val],
        data.x_test[:500],
        data.y_test[:500],
        data.class_names,
    )


def test_early_stopping_on_macro_f1_restores_the_best_epoch(fashion_2000):
    data = small(fashion_2000, n_train=300)  # few images and a high rate: validation F1 wobbles
    seed_everything(1)
    model = create_model("baseline", data.input_shape, 10)
    cfg = TrainConfig(
        epochs=12,
        batch_size=32,
        learning_rate=3e-2,
        monitor="val_macro_f1",
        early_stopping_patience=3,
        seed=1,
    )
    result = train(model, data, cfg)
    f1s = result.history["val_macro_f1"]
    best = int(np.argmax(f1s))
    assert best < len(f1s) - 1, "the last epoch was the best: nothing to restore in this run"
    restored = f1_score(data.y_val, predict_proba(model, data.x_val).argmax(1), average="macro")
    assert restored == pytest.approx(f1s[best], abs=1e-4)
    assert restored > f1s[-1]


def test_kfold_splits_are_stratified_disjoint_and_cover_everything(fashion_2000):
    folds = fold_data(fashion_2000, k=5, seed=0)
    total = len(fashion_2000.x_train) + len(fashion_2000.x_val)
    assert len(folds) == 5
    val_sets = [f.y_val for f in folds]
    assert sum(len(v) for v in val_sets) == total
    all_counts = np.bincount(np.concatenate([fashion_2000.y_train, fashion_2000.y_val]), minlength=10)
    for f in folds:
        assert len(f.x_train) + len(f.x_val) == total
        # each fold's validation holds a fifth of every class (+/- 1)
        assert np.abs(np.bincount(f.y_val, minlength=10) - all_counts / 5).max() <= 1
    # disjoint validation parts: pixel-level fingerprints never repeat across folds
    keys = [set(map(bytes, f.x_val.reshape(len(f.x_val), -1))) for f in folds]
    assert sum(len(k) for k in keys) == len(set().union(*keys))


def test_ensemble_of_identical_models_equals_one_model():
    probs = np.random.default_rng(0).dirichlet(np.ones(10), size=50)
    np.testing.assert_allclose(ensemble([probs, probs, probs], "mean"), probs)
    np.testing.assert_array_equal(ensemble([probs, probs, probs], "vote").argmax(1), probs.argmax(1))


def test_vote_takes_the_majority_not_the_mean():
    a = np.array([[0.9, 0.1]])
    b = np.array([[0.4, 0.6]])
    assert ensemble([a, b, b], "mean").argmax(1)[0] == 0  # (0.9+0.4+0.4)/3 > (0.1+0.6+0.6)/3
    assert ensemble([a, b, b], "vote").argmax(1)[0] == 1


def test_tta_averages_the_flipped_predictions(fashion_2000):
    seed_everything(0)
    model = create_model("baseline", (28, 28, 1), 10)
    x = fashion_2000.x_test[:16]
    plain = predict_proba(model, x)
    mirrored = predict_proba(model, x[:, :, ::-1])
    np.testing.assert_allclose(predict_proba(model, x, tta="flip"), (plain + mirrored) / 2, atol=1e-6)
    assert not np.allclose(plain, mirrored)


def test_dihedral_tta_averages_the_eight_quarter_turns_and_mirrors(fashion_2000):
    seed_everything(0)
    model = create_model("baseline", (28, 28, 1), 10)
    x = fashion_2000.x_test[:16]
    views = [np.rot90(x, k, axes=(1, 2)) for k in range(4)]
    views += [v[:, :, ::-1] for v in views]
    expected = np.mean([predict_proba(model, np.ascontiguousarray(v)) for v in views], axis=0)
    np.testing.assert_allclose(predict_proba(model, x, tta="dihedral"), expected, atol=1e-6)
    assert not np.allclose(expected, predict_proba(model, x, tta="flip"), atol=1e-4)


def test_dihedral_tta_refuses_images_that_are_not_square():
    with pytest.raises(UserError, match="square.*32x48"):
        check_tta("dihedral", (32, 48, 3))
    check_tta("flip", (32, 48, 3))


def test_fold_summary_has_mean_and_std():
    table = fold_summary(
        [
            {"fold": i, "accuracy": a, "precision": a, "recall": a, "macro_f1": a}
            for i, a in enumerate([0.8, 0.9], start=1)
        ]
    )
    assert table["fold"].tolist() == ["1", "2", "mean", "std", "mean ± std"]
    assert table.loc[2, "accuracy"] == pytest.approx(0.85)
    assert table.loc[3, "accuracy"] == pytest.approx(np.std([0.8, 0.9], ddof=1))


def test_long_tail_profile(fashion_2000):
    counts = long_tail_counts(400, 10, 29.0)
    assert counts[0] == 400 and counts[-1] == int(400 / 29)
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    keep = long_tail_indices(fashion_2000.y_train, 29.0, seed=0)
    got = np.bincount(fashion_2000.y_train[keep], minlength=10)
    smallest = np.bincount(fashion_2000.y_train).min()
    assert got.tolist() == long_tail_counts(int(smallest), 10, 29.0)
    np.testing.assert_array_equal(keep, long_tail_indices(fashion_2000.y_train, 29.0, seed=0))
