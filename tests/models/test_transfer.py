"""Transfer builder: unfrozen layers, normalisation in inference mode, weights files, bad input."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import weights_dir
from kerasexp.cli import main
from kerasexp.errors import UserError
from kerasexp.models import create_model
from kerasexp.models.transfer import BACKBONES, backbone_layers

SMALL = dict(
    backbone="MobileNet",
    weights="none",
    backbone_params={"alpha": 0.25},
    head_units=[16],
    head_dropouts=[0.0],
)
STUDIES = Path(__file__).resolve().parents[2] / "studies"
HEAD_WEIGHTS = 5  # head Dense kernel (no bias before BN) + BN gamma, beta + output kernel, bias


def _backbone(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


@pytest.mark.parametrize("unfreeze, opened", [(0, 0), (3, 1), (6, 2), (12, 4)])
def test_trainable_weights_match_unfrozen_layers(unfreeze, opened):
    # MobileNet ends in blocks of depthwise conv, BN, ReLU, pointwise conv, BN, ReLU; its convs
    # have no bias: the last 3 layers open 1 kernel, the last 6 open 2, the last 12 open 4.
    model = create_model("transfer", (32, 32, 3), 4, unfreeze=unfreeze, **SMALL)
    assert len(model.trainable_weights) == HEAD_WEIGHTS + opened
    base = _backbone(model)
    for layer in backbone_layers(base):
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.trainable


def mobilenet_weights():
    directory = weights_dir()
    path = directory / "mobilenet_2_5_224_tf_no_top.h5" if directory else None
    if path is None or not path.exists():
        pytest.skip("../shared/weights/mobilenet_2_5_224_tf_no_top.h5 not found (or set KERASEXP_WEIGHTS)")
    return path


def test_unfrozen_layers_learn_while_frozen_layers_and_batchnorm_statistics_stay(pbc96_small):
    # real ImageNet weights: a randomly initialised MobileNet with frozen BatchNorm saturates its
    # ReLU6 units and passes no gradient back
    keras.utils.set_random_seed(0)
    model = create_model(
        "transfer", (96, 96, 3), 8, unfreeze=6, **{**SMALL, "weights": str(mobilenet_weights())}
    )
    base = _backbone(model)
    frozen, opened, bn = (
        base.get_layer("conv_pw_12"),
        base.get_layer("conv_pw_13"),
        base.get_layer("conv_pw_13_bn"),
    )
    before = [w.numpy().copy() for w in (*frozen.weights, *opened.weights, *bn.weights)]
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(
        pbc96_small.x_train[:64].astype("float32"),
        pbc96_small.y_train[:64],
        batch_size=32,
        epochs=1,
        verbose=0,
    )
    after = [w.numpy() for w in (*frozen.weights, *opened.weights, *bn.weights)]
    assert np.array_equal(before[0], after[0])  # frozen conv
    assert not np.array_equal(before[1], after[1])  # unfrozen conv
    for b, a in zip(before[2:], after[2:]):  # BN gamma, beta and moving statistics
        assert np.array_equal(b, a)


@pytest.mark.slow
def test_affine_norm_mode_learns_scale_and_offset_with_frozen_statistics(pbc96_small):
    # Keras 3 hands the outer training=True to a trainable BatchNormalization even inside a
    # backbone called with training=False; "affine" must still keep its statistics fixed
    keras.utils.set_random_seed(0)
    models = {
        mode: create_model(
            "transfer",
            (96, 96, 3),
            8,
            unfreeze=85,
            norm_mode=mode,
            **{**SMALL, "weights": str(mobilenet_weights())},
        )
        for mode in ("affine", "train")
    }
    x, y = pbc96_small.x_train[:64].astype("float32"), pbc96_small.y_train[:64]
    for mode, model in models.items():
        bn = _backbone(model).get_layer("conv_pw_5_bn")
        mean, gamma = bn.moving_mean.numpy().copy(), bn.gamma.numpy().copy()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        assert not np.array_equal(gamma, bn.gamma.numpy())
        assert np.array_equal(mean, bn.moving_mean.numpy()) == (mode == "affine"), mode
    with pytest.raises(UserError, match="norm_mode 'sometimes'"):
        create_model("transfer", (32, 32, 3), 4, norm_mode="sometimes", **SMALL)


def test_weights_file_gives_its_saved_values():
    path = mobilenet_weights()
    import h5py

    model = create_model(
        "transfer",
        (96, 96, 3),
        8,
        backbone="MobileNet",
        weights=str(path),
        backbone_params={"alpha": 0.25},
        head_units=[8],
        head_dropouts=[0.0],
    )
    base = _backbone(model)
    with h5py.File(path, "r") as f:
        for name in ("conv1", "conv_pw_7", "conv_pw_13"):
            saved = f[name][name]["kernel:0"][()]
            np.testing.assert_array_equal(base.get_layer(name).kernel.numpy(), saved)
        bn = f["conv_pw_13_bn"]["conv_pw_13_bn"]
        np.testing.assert_array_equal(
            base.get_layer("conv_pw_13_bn").moving_mean.numpy(), bn["moving_mean:0"][()]
        )
    x = np.random.default_rng(0).integers(0, 256, (4, 96, 96, 3)).astype("float32")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (4, 8) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_saved_transfer_model_reloads_with_the_same_outputs(tmp_path):
    model = create_model("transfer", (32, 32, 3), 3, unfreeze=6, **SMALL)
    x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_weights_for_another_architecture_are_refused():
    path = mobilenet_weights()
    for backbone, params in (("MobileNet", {"alpha": 0.5}), ("MobileNetV3Small", {})):
        with pytest.raises(UserError, match="does not fit backbone"):
            create_model(
                "transfer", (96, 96, 3), 8, backbone=backbone, weights=str(path), backbone_params=params
            )


def test_unknown_backbone_and_too_many_unfrozen_layers_are_one_line_errors():
    with pytest.raises(UserError, match="unknown backbone 'ResNet51'.*ResNet50"):
        create_model("transfer", (32, 32, 3), 4, **{**SMALL, "backbone": "ResNet51"})
    with pytest.raises(UserError, match="has 85 layers; choose 0..85"):
        create_model("transfer", (32, 32, 3), 4, unfreeze=86, **SMALL)
    with pytest.raises(UserError, match="weights file .* not found"):
        create_model("transfer", (32, 32, 3), 4, **{**SMALL, "weights": "/nonexistent/w.h5"})


@pytest.mark.parametrize(
    "name", ["ConvNeXtTiny", "EfficientNetV2B0", "VGG16", "ResNet50", "MobileNetV3Small"]
)
def test_required_backbones_build_without_weights(name):
    model = create_model(
        "transfer",
        (32, 32, 3),
        5,
        backbone=name,
        weights="none",
        unfreeze=2,
        head_units=[8],
        head_dropouts=[0.1],
    )
    assert model.output_shape == (None, 5)


def test_the_backbones_report_003_names_are_registered():
    for name in ("ConvNeXtBase", "VGG19", "MobileNet"):
        BACKBONES.check(name)
    with pytest.raises(UserError, match="unknown backbone 'VGG20'; choose one of: MobileNet"):
        BACKBONES.check("VGG20")


def test_train_cli_refuses_a_bad_transfer_config_before_writing_the_run(pbc96_path, tmp_path, capsys):
    out = tmp_path / "run"
    for override, message in (
        ("model.params.backbone='Nope'", "unknown backbone 'Nope'"),
        ("model.params.unfreeze=500", "has 85 layers"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(
                [
                    "train",
                    str(STUDIES / "pbc96_transfer.toml"),
                    "--set",
                    f"dataset.data_dir='{pbc96_path}'",
                    "--set",
                    "dataset.limit=100",
                    "--set",
                    "model.params.weights='none'",
                    "--set",
                    override,
                    "--out",
                    str(out),
                ]
            )
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
        assert not out.exists()


def test_two_phase_fine_tuning_trains_the_head_on_a_frozen_backbone_first(pbc96_small, tmp_path):
    from dataclasses import replace

    from kerasexp.rundir import HEAD as HEAD_DIR
    from kerasexp.training.finetune import train_head_first
    from kerasexp.config import TrainConfig
    from kerasexp.training.loop import train

    keras.utils.set_random_seed(0)
    model = create_model(
        "transfer", (96, 96, 3), 8, unfreeze=6, **{**SMALL, "weights": str(mobilenet_weights())}
    )
    base = _backbone(model)
    opened, head = base.get_layer("conv_pw_13"), model.get_layer("probs")
    flags = [layer.trainable for layer in base.layers]
    data = replace(
        pbc96_small,
        x_train=pbc96_small.x_train[:64],
        y_train=pbc96_small.y_train[:64],
        x_val=pbc96_small.x_val[:32],
        y_val=pbc96_small.y_val[:32],
    )
    cfg = TrainConfig(epochs=1, batch_size=32, head_epochs=1, head_learning_rate=1e-2)
    start = [opened.kernel.numpy().copy(), head.kernel.numpy().copy()]
    phase_one = train_head_first(model, data, cfg, tmp_path)
    assert phase_one.epochs_run == 1 and (tmp_path / HEAD_DIR / "history.csv").exists()
    assert np.array_equal(opened.kernel.numpy(), start[0])  # backbone frozen in phase one
    assert not np.array_equal(head.kernel.numpy(), start[1])  # the head learned
    assert [layer.trainable for layer in base.layers] == flags  # unfrozen layers open again
    train(model, data, cfg, tmp_path)
    assert not np.array_equal(opened.kernel.numpy(), start[0])  # phase two trains them


def test_two_phase_needs_a_backbone():
    from kerasexp.training.finetune import train_head_first
    from kerasexp.config import TrainConfig

    with pytest.raises(UserError, match="head_epochs"):
        train_head_first(create_model("baseline", (28, 28, 1), 10), None, TrainConfig(head_epochs=2))
