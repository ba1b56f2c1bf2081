"""One model, one set of numbers: `predict`, Run.predict and Run.model use the model whose test
predictions are in predictions.npz (RUN/model.keras), not the best.keras checkpoint.

Tiny runs on real Fashion-MNIST images: 300 training images and the first 600 official test
images in an .npz (dataset "npz", so the run's test split is those 600 and predicting it all is
cheap). predict gets the run's whole test split, so its batches of 512 are the run's own (512 +
88): the comparisons are exact (np.array_equal), not approximate.
"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

import kerasexp

TINY = """
[dataset]
name = "npz"
data_dir = "{npz}"
val_fraction = 0.25
seed = 0

[model]
name = "vgg"
params = {{ widths = [8, 16], convs_per_block = [1, 1], block_dropout = 0.0, head_dropout = 0.0, \
dense_units = 32 }}

[training]
epochs = 2
batch_size = 32
learning_rate = 0.01
seed = 2  # validation accuracy peaks at epoch 1 of 2: the last epoch is not the checkpoint

[logging]
tensorboard = false  # its test-image grids cost seconds a run
"""


@pytest.fixture(scope="module")
def tiny_toml(fashion_path, tmp_path_factory):
    from kerasexp.data import load_fashion_mnist

    data = load_fashion_mnist(fashion_path, limit=300)
    folder = tmp_path_factory.mktemp("kept")
    np.savez(
        folder / "fm.npz",
        x_train=np.concatenate([data.x_train, data.x_val]),
        y_train=np.concatenate([data.y_train, data.y_val]),
        x_test=data.x_test[:600],
        y_test=data.y_test[:600],
        class_names=np.array(data.class_names),
    )
    (folder / "tiny.toml").write_text(TINY.format(npz=folder / "fm.npz"))
    return folder / "tiny.toml"


def _train(tiny_toml, name: str, **overrides) -> kerasexp.Run:
    return kerasexp.train(tiny_toml, out=tiny_toml.parent / name, overrides=overrides)


@pytest.fixture(scope="module")
def ema_flip_run(tiny_toml):
    """The weight average (EMA) swapped in at the end (best.keras holds the raw weights), and the
    mirror view added at test time."""
    return _train(
        tiny_toml,
        "ema_flip",
        **{"training.epochs": 1, "training.ema_momentum": 0.9, "evaluation.tta": "flip"},
    )


@pytest.fixture(scope="module")
def best_run(tiny_toml):
    return _train(tiny_toml, "best", **{"training.restore_best": True})


@pytest.fixture(scope="module")
def last_run(tiny_toml):
    return _train(tiny_toml, "last")


@pytest.fixture(scope="module")
def kfold_run(tiny_toml):
    """Two folds, each choosing its own views on its validation part, combined by vote."""
    return _train(
        tiny_toml,
        "kfold",
        **{
            "training.epochs": 1,
            "evaluation.kfold": 2,
            "evaluation.ensemble": "vote",
            "evaluation.tta": ["none", "flip"],
        },
    )


def split_images(run: kerasexp.Run) -> np.ndarray:
    from kerasexp.data import load_dataset

    return load_dataset(run.config.dataset).x_test


def checkpoint_probs(run: kerasexp.Run) -> np.ndarray:
    """What predict used before: best.keras, with the run's views."""
    import keras

    from kerasexp.evaluation.predict import predict_proba

    model = keras.saving.load_model(run.dir / "best.keras", compile=False)
    return predict_proba(model, split_images(run), tta=run.metrics["evaluation_choices"]["tta"]["chosen"])


@pytest.mark.parametrize("kind", ["ema_flip_run", "best_run", "last_run", "kfold_run"])
def test_predict_equals_the_runs_own_test_predictions_bit_for_bit(kind, request):
    run = request.getfixturevalue(kind)
    saved = np.load(run.dir / "predictions.npz")["probs"]
    probs = run.predict(split_images(run))
    assert probs.dtype == saved.dtype and np.array_equal(probs, saved)


def test_the_checkpoint_is_not_the_kept_model_for_ema_and_last_epoch_runs(ema_flip_run, last_run, best_run):
    """The cases above are real ones: best.keras gives other numbers where the run ended elsewhere."""
    history = last_run.history["val_accuracy"].tolist()
    assert history.index(max(history)) == 0 and len(history) == 2  # best.keras is epoch 1, the run ended at 2
    for run in (ema_flip_run, last_run):
        saved = np.load(run.dir / "predictions.npz")["probs"]
        assert not np.allclose(checkpoint_probs(run), saved, atol=1e-3)
    assert np.array_equal(checkpoint_probs(best_run), np.load(best_run.dir / "predictions.npz")["probs"])


def test_run_model_is_the_kept_model_and_the_record_names_it(ema_flip_run, kfold_run):
    from kerasexp.evaluation.predict import predict_proba

    assert ema_flip_run.metrics["evaluation_choices"]["kept_model"] == "model.keras"
    record = json.loads((ema_flip_run.dir / "run.json").read_text())
    assert record["evaluation_choices"]["kept_model"] == "model.keras"
    probs = predict_proba(ema_flip_run.model, split_images(ema_flip_run), tta="flip")
    assert np.array_equal(probs, np.load(ema_flip_run.dir / "predictions.npz")["probs"])
    folds = kfold_run.metrics["evaluation_choices"]["folds"]
    assert [f["kept_model"] for f in folds] == ["model.keras"] * 2
    assert all((kfold_run.dir / f"fold_{i}" / "model.keras").exists() for i in (1, 2))
    models = kfold_run.model
    fold_probs = np.load(kfold_run.dir / "predictions.npz")["fold_probs"]
    assert len(models) == 2 and all(
        np.array_equal(predict_proba(m, split_images(kfold_run), tta=f["tta"]["chosen"]), p)
        for m, f, p in zip(models, folds, fold_probs)
    )


def test_kfold_predict_leaves_out_dropped_folds(kfold_run, tmp_path):
    """drop_folds recorded in the config: predict uses the folds the ensemble kept, as the run did."""
    from kerasexp.evaluation.metrics import ensemble

    copy = tmp_path / "run"
    shutil.copytree(kfold_run.dir, copy)
    config = copy / "config.toml"
    config.write_text(config.read_text().replace("drop_folds = []", "drop_folds = [1]"))
    fold_probs = np.load(copy / "predictions.npz")["fold_probs"]
    probs = kerasexp.load_run(copy).predict(split_images(kfold_run))
    assert np.array_equal(probs, ensemble([fold_probs[1]], "vote"))


def test_a_run_made_before_model_keras_predicts_with_its_final_weights(ema_flip_run, tmp_path, capsys):
    copy = tmp_path / "old"
    shutil.copytree(ema_flip_run.dir, copy)
    (copy / "model.keras").unlink()
    probs = kerasexp.load_run(copy).predict(split_images(ema_flip_run))
    assert np.array_equal(probs, np.load(copy / "predictions.npz")["probs"])
    assert (
        "no model.keras (made before kerasexp kept it); using the network of best.keras with "
        "final.weights.h5" in capsys.readouterr().err
    )
    (copy / "final.weights.h5").unlink()
    with pytest.raises(kerasexp.UserError, match=r"keeps no model weights .*rerun `.* --out NEW` to make"):
        _ = kerasexp.load_run(copy).model


def test_a_truncated_model_file_is_named_in_one_line(ema_flip_run, tmp_path):
    copy = tmp_path / "cut"
    shutil.copytree(ema_flip_run.dir, copy)
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(kerasexp.UserError, match=r"model.keras is damaged \(.*\); rerun `.*--out NEW`") as e:
        kerasexp.load_run(copy).predict(split_images(ema_flip_run)[:4])
    assert "\n" not in str(e.value)


def test_a_seed_group_names_a_seed_to_predict_with(last_run, tmp_path, capsys):
    group = tmp_path / "group"
    shutil.copytree(last_run.dir, group / "seed_2")
    (group / "seeds.json").write_text(json.dumps({"seeds": [2]}))
    run = kerasexp.load_run(group)
    expected = r"is a group of 1 seed runs, each with its own model; predict with one of them, e.g. .*seed_2"
    for call in (lambda: run.predict(split_images(last_run)[:4]), lambda: run.model):
        with pytest.raises(kerasexp.UserError, match=expected):
            call()
    code, err = _in_process(capsys, "predict", str(group), str(tmp_path), "--out", str(tmp_path / "p"))
    assert code == 2 and "is a group of 1 seed runs" in err and not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "images, message",
    [
        (lambda x: x / 255.0, r"look scaled to \[0, 1\].*\* 255"),
        (lambda x: x.astype(np.int32) + 200, "pixel values from 200 to 455; the model was trained on 0-255"),
        (lambda x: np.where(x > 100, np.nan, x.astype(np.float32)), "pixel values from nan"),
        (lambda x: x > 100, "dtype bool"),
        (lambda x: x[..., 0], r"images of shape \(28, 28\); the model of .* takes \(28, 28, 1\)"),
        (lambda x: x[:0], "no images to predict"),
    ],
)
def test_arrays_outside_the_training_range_are_refused(last_run, images, message):
    with pytest.raises(kerasexp.UserError, match=message):
        last_run.predict(images(split_images(last_run)[:8]))


def _in_process(capsys, *args) -> tuple[int, str]:
    from kerasexp.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_predict_says_when_it_resizes_or_turns_colour_to_gray(last_run, tmp_path, capsys):
    x = split_images(last_run)
    same, other = tmp_path / "same", tmp_path / "other"
    same.mkdir(), other.mkdir()
    for i in range(3):  # lossless grayscale PNGs at the training size: no word, the run's own numbers
        cv2.imwrite(str(same / f"{i}.png"), x[i, ..., 0])
    code, err = _in_process(
        capsys, "predict", str(last_run.dir), str(same), "--out", str(tmp_path / "a.csv"), "--probabilities"
    )
    assert code == 0 and "warning" not in err, err
    cv2.imwrite(str(other / "big.png"), cv2.resize(x[0, ..., 0], (56, 56)))
    cv2.imwrite(str(other / "colour.png"), np.dstack([x[1, ..., 0], x[1, ..., 0] // 2, x[1, ..., 0]]))
    code, err = _in_process(capsys, "predict", str(last_run.dir), str(other), "--out", str(tmp_path / "b"))
    assert code == 0
    assert "warning: resized 1 of 2 images from 56x56 to 28x28, the size the model was trained on" in err
    assert "warning: converted 1 of 2 images from colour to grayscale" in err


def test_a_broken_image_is_named_with_a_fix_that_applies_to_predict(last_run, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "good.png"), split_images(last_run)[0, ..., 0])
    data = (folder / "good.png").read_bytes()
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    code, err = _in_process(capsys, "predict", str(last_run.dir), str(folder), "--out", str(tmp_path / "p"))
    assert code == 2 and not (tmp_path / "p").exists()
    assert f"{folder / 'cut.png'}: broken image" in err and "remove or repair it" in err
    assert "skip_broken" not in err and len(err.strip().splitlines()) == 1
