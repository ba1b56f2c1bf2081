"""Exact parameter counts and shapes of report 002's models."""

import keras
import pytest

from kerasexp.errors import UserError
from kerasexp.models import MODELS, create_model


def test_annex1_baseline_has_the_reports_225034_parameters():
    model = create_model("baseline", (28, 28, 1), 10)
    assert model.count_params() == 225_034
    # Layer by layer, as in the report's Annex-1 summary.
    assert model.get_layer("conv1").count_params() == 320
    assert model.get_layer("conv2").count_params() == 18_496
    assert model.get_layer("dense").count_params() == 204_928
    assert model.get_layer("probs").count_params() == 1_290
    assert model.get_layer("pool2").output.shape == (None, 5, 5, 64)


def test_bn_adds_one_batchnorm_per_conv_and_hidden_dense_before_activation():
    model = create_model("bn", (28, 28, 1), 10)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert [layer.name for layer in bns] == ["conv1_bn", "conv2_bn", "dense_bn"]
    assert model.count_params() == 225_034 + 4 * (32 + 64 + 128)
    names = [layer.name for layer in model.layers]
    assert names.index("conv1_bn") < names.index("conv1_relu") < names.index("pool1") < names.index("drop1")


@pytest.mark.parametrize(
    "name,kernels,params", [("kernel", (7, 7), 136_202), ("kernel_first", (7, 3), 152_586)]
)
def test_kernel_variants(name, kernels, params):
    model = create_model(name, (28, 28, 1), 10)
    assert (model.get_layer("conv1").kernel_size, model.get_layer("conv2").kernel_size) == tuple(
        (k, k) for k in kernels
    )
    assert model.count_params() == params


def test_sigmoid_hidden_layers_softmax_output():
    model = create_model("sigmoid", (28, 28, 1), 10)
    acts = {
        layer.name: layer.activation.__name__
        for layer in model.layers
        if isinstance(layer, keras.layers.Activation)
    }
    assert acts == {"conv1_sigmoid": "sigmoid", "conv2_sigmoid": "sigmoid", "dense_sigmoid": "sigmoid"}
    assert model.get_layer("probs").activation.__name__ == "softmax"
    assert model.count_params() == 225_034


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_gives_probabilities(name):
    shape, params = ((32, 32, 3), {"weights": "none"}) if name == "transfer" else ((28, 28, 1), {})
    model = create_model(name, shape, 10, **params)
    out = model(keras.ops.ones((2, *shape)) * 128.0).numpy()
    assert out.shape == (2, 10)
    assert abs(out.sum(axis=1) - 1).max() < 1e-5


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown model 'resnet9000'.*baseline"):
        create_model("resnet9000", (28, 28, 1), 10)


# The convolutions of studies/fmnist_best.toml's model, counted by hand: bias-free 3x3 convs
# 1->32, 32->64, 64->64, 64->128 and 4 BatchNormalization weights a channel.
RECIPE_CONVS = 9 * (1 * 32 + 32 * 64 + 64 * 64 + 64 * 128) + 4 * (32 + 64 + 64 + 128)


def test_vgg_conv_counts_per_block():
    model = create_model("vgg", (28, 28, 1), 10, widths=(32, 64, 128), convs_per_block=[1, 2, 1])
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == ["b1_conv1", "b2_conv1", "b2_conv2", "b3_conv1"]
    assert model.count_params() == RECIPE_CONVS + 128 * 10 + 10 == 131_754  # 10-way dense on 128 pooled
    with pytest.raises(UserError, match="one count per width"):
        create_model("vgg", (28, 28, 1), 10, convs_per_block=[1, 2])


def test_vgg_dense_head_flattens_the_last_block():
    model = create_model("vgg", (28, 28, 1), 10, convs_per_block=[1, 2, 1], dense_units=256)
    assert model.get_layer("flatten").output.shape == (None, 7 * 7 * 128)
    assert model.count_params() == RECIPE_CONVS + 7 * 7 * 128 * 256 + 4 * 256 + 256 * 10 + 10 == 1_739_690
