"""Model parameters are checked by name before any model is built: each builder parameter that
takes a rate, a width or an activation has a rule, and the activation table is Keras' own."""

import inspect

import keras
import numpy as np
import pytest

from kerasexp.errors import UserError
from kerasexp.models import MODELS, check_model
from kerasexp.models.registry import ACTIVATIONS, PARAM_CHECKS


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_in_the_table_is_one_keras_applies(name):
    x = keras.ops.convert_to_tensor(np.linspace(-2, 2, 8, dtype="float32")[None])
    out = keras.activations.get(name)(x)
    # (glu halves the last axis: a model built with it has half-width layers, but builds)
    assert tuple(out.shape) == (1, 4 if name == "glu" else 8)
    assert np.isfinite(keras.ops.convert_to_numpy(out)).all()


def test_the_table_is_keras_list_but_threshold():
    from keras.src.activations import ALL_OBJECTS_DICT

    assert set(ACTIVATIONS) == set(ALL_OBJECTS_DICT) - {"threshold"}


def test_every_numeric_builder_parameter_has_a_rule():
    """A new builder's rate or width must get a rule here, or a bad value reaches Keras."""
    missing = set()
    for name, builder in MODELS.items():
        for key, param in inspect.signature(builder).parameters.items():
            default = param.default
            numeric = isinstance(default, (int, float, tuple, list)) and not isinstance(default, bool)
            fixed = ("input_shape", "num_classes", "depth", "mean_std")  # set by the loop or the registry
            if numeric and key not in fixed and key not in PARAM_CHECKS:
                missing.add(f"{name}.{key}")
    assert missing == set()


@pytest.mark.parametrize(
    "name,params,message",
    [
        ("baseline", {"conv_dropout": 1.0}, "conv_dropout = 1.0 for 'baseline' must be a rate in [0, 1)"),
        ("baseline", {"dense_dropout": float("nan")}, "dense_dropout = nan"),
        (
            "baseline",
            {"activation": "ReLU"},
            "activation = 'ReLU' for 'baseline' must be one of Keras' activations",
        ),
        (
            "baseline",
            {"filters": [32, 0]},
            "filters = [32, 0] for 'baseline' must be a non-empty list of positive",
        ),
        (
            "ladder_baseline",
            {"hidden_units": 0},
            "hidden_units = 0 for 'ladder_baseline' must be a positive integer",
        ),
        ("vgg", {"convs_per_block": [1, -1, 1]}, "convs_per_block = [1, -1, 1]"),
        ("transfer", {"head_dropouts": [0.5, 1.5, 0.3]}, "head_dropouts = [0.5, 1.5, 0.3]"),
        ("transfer", {"unfreeze": -1}, "unfreeze = -1 for 'transfer' must be an integer >= 0"),
        ("transfer", {"head_batchnorm": "no"}, "head_batchnorm = 'no' for 'transfer' must be true or false"),
        ("resnet18", {"gem_p": 0.0}, "gem_p = 0.0 for 'resnet18' must be a finite number > 0"),
    ],
)
def test_bad_parameter_values_are_refused_by_name(name, params, message):
    with pytest.raises(UserError) as info:
        check_model(name, params)
    assert message in str(info.value)


def test_good_values_pass():
    check_model(
        "baseline", {"conv_dropout": 0.0, "activation": "gelu", "filters": [16, 32], "batch_norm": True}
    )
    check_model("vgg", {"convs_per_block": 2, "dense_units": 0})
    check_model("transfer", {"head_dropouts": 0.2, "unfreeze": 0})
