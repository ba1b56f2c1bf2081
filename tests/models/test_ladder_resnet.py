"""Report 004's ladder (exact trainable counts), ResNet-18..101, GeM and train-split normalisation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasexp.errors import UserError
from kerasexp.models import create_model
from kerasexp.models.layers import GeMPooling2D
from kerasexp.models.normalization import channel_mean_std, with_train_stats


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


# Report 004, Table 4 (PyTorch parameters = trainable ones), 32x32x3 inputs and 20 classes.
@pytest.mark.parametrize(
    "name,params",
    [
        ("ladder_baseline", 546_388),
        ("ladder_dropout", 546_388),
        ("ladder_bn", 546_836),
        ("ladder_both", 546_836),
        ("ladder_advanced", 3_382_868),
        ("ladder_resnet", 4_330_324),
    ],
)
def test_ladder_matches_report_004s_parameter_table(name, params):
    assert trainable(create_model(name, (32, 32, 3), 20)) == params


def test_annex1_count_unchanged():
    assert create_model("baseline", (28, 28, 1), 10).count_params() == 225_034


def test_ladder_tuning_axes():
    # conv depths (64, 128): conv 3->64, 64->128, flatten 8*8*128 -> 128 -> 20
    wide = create_model("ladder_baseline", (32, 32, 3), 20, conv_depths=[64, 128])
    assert trainable(wide) == (27 * 64 + 64) + (9 * 64 * 128 + 128) + (8 * 8 * 128 * 128 + 128) + (
        128 * 20 + 20
    )
    hidden = create_model("ladder_baseline", (32, 32, 3), 20, hidden_units=256)
    assert hidden.get_layer("dense").units == 256
    third = create_model("ladder_baseline", (32, 32, 3), 20, conv_depths=[32, 64, 128])
    assert third.get_layer("flatten").output.shape == (None, 4 * 4 * 128)
    with pytest.raises(UserError, match="conv_depths"):
        create_model("ladder_baseline", (32, 32, 3), 20, conv_depths=[])


def test_dropout_and_bn_placement():
    both = create_model("ladder_both", (32, 32, 3), 20)
    names = [layer.name for layer in both.layers]
    assert (
        names.index("conv1")
        < names.index("conv1_bn")
        < names.index("conv1_relu")
        < names.index("pool1")
        < names.index("drop1")
    )
    assert both.get_layer("drop_dense").rate == 0.5


# torchvision's trainable counts for 224x224x3 and 1000 classes.
@pytest.mark.parametrize("depth,params", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)])
def test_resnets_match_torchvision(depth, params):
    assert trainable(create_model(f"resnet{depth}", (224, 224, 3), 1000)) == params


def test_resnet_any_input_size_dropout_and_gem():
    small = create_model("resnet18", (40, 56, 3), 5, pooling="gem", dropout=0.3)
    assert small.get_layer("pool").output.shape == (None, 512)
    assert small.get_layer("head_drop").rate == 0.3
    assert isinstance(small.get_layer("pool"), GeMPooling2D)
    assert small(np.full((2, 40, 56, 3), 100.0, np.float32)).shape == (2, 5)
    with pytest.raises(UserError, match="pooling = 'max'"):
        create_model("resnet18", (64, 64, 3), 5, pooling="max")


def test_gem_at_p1_is_average_pooling_and_p_learns():
    x = np.random.default_rng(0).uniform(0.1, 5.0, (3, 7, 5, 4)).astype(np.float32)
    gem = GeMPooling2D(p=1.0)
    np.testing.assert_allclose(gem(x).numpy(), keras.layers.GlobalAveragePooling2D()(x).numpy(), rtol=1e-5)
    assert [w.name for w in gem.trainable_weights] == ["p"]
    # large p tends to the max: (mean x^p)^(1/p) lies in [max * n^(-1/p), max] for n = 35 values
    high, top = GeMPooling2D(p=20.0)(x).numpy(), x.max(axis=(1, 2))
    assert (high <= top * (1 + 1e-5)).all() and (high >= top * 35 ** (-1 / 20)).all()
    assert (high > gem(x).numpy()).all()


def test_gem_model_saves_and_loads(tmp_path):
    model = create_model("resnet18", (32, 32, 3), 3, pooling="gem")
    model.get_layer("pool").p.assign(2.5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert float(loaded.get_layer("pool").p.numpy()) == pytest.approx(2.5)


def test_mean_std_from_the_training_split_standardises_inputs(pbc96_small):
    x = pbc96_small.x_train[:64]
    mean, std = channel_mean_std(x, chunk=10)  # chunked sums equal the one-shot figures
    np.testing.assert_allclose(mean, x.reshape(-1, 3).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, x.reshape(-1, 3).std(axis=0), rtol=1e-6)
    params = with_train_stats({"normalize": "train"}, x)
    model = create_model("resnet18", x.shape[1:], 8, **params)
    normalized = keras.Model(model.input, model.get_layer("normalize").output)(x.astype(np.float32)).numpy()
    np.testing.assert_allclose(normalized.reshape(-1, 3).mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalized.reshape(-1, 3).std(axis=0), 1.0, atol=1e-3)
    with pytest.raises(UserError, match="needs the training split's mean and std"):
        create_model("resnet18", x.shape[1:], 8, normalize="train")
