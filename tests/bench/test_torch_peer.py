"""One description of a net (kerasexp.models.layout) for its Keras model and its PyTorch peer: the
description alone predicts the Keras model's layers, and (where torch is installed) the torch
net built from it has the same layers, output shapes and parameter counts."""

from pathlib import Path

import pytest

from kerasexp.config import load_experiment
from kerasexp.errors import UserError
from kerasexp.models.layout import LAYOUTS, model_layers, shapes

# The nets the benches time: `bench train`'s Annex-1 baseline, `bench speedrun`'s recipe (its vgg),
# every other registered model with a layout at its defaults, and vgg's global-pooling head.
SPEEDRUN = load_experiment(Path(__file__).parents[2] / "studies/fmnist_fast.toml", data=False).model
NETS = [("baseline", (28, 28, 1), {}), ("vgg", (28, 28, 1), SPEEDRUN.params)]
NETS += [(name, (28, 28, 1), {}) for name in LAYOUTS if name not in ("baseline",)]
NETS += [("vgg", (32, 32, 3), {"widths": [8, 16], "convs_per_block": [1, 2]})]


def keras_layers(name, input_shape, params) -> list[tuple]:
    """(name, output shape, trainable, non-trainable parameters) of each layer of the Keras model."""
    from kerasexp.models import create_model

    model = create_model(name, input_shape, 10, **params)
    return [
        (
            layer.name,
            tuple(layer.output.shape[1:]),
            sum(int(w.numpy().size) for w in layer.trainable_weights),
            sum(int(w.numpy().size) for w in layer.non_trainable_weights),
        )
        for layer in model.layers[1:]
    ]


def test_the_speedrun_recipe_is_a_vgg():
    assert SPEEDRUN.name == "vgg"


@pytest.mark.parametrize("name,input_shape,params", NETS)
def test_the_description_predicts_the_keras_model(name, input_shape, params):
    layout = model_layers(name, 10, params)
    predicted = [(layer.name, *row) for layer, row in zip(layout, shapes(layout, input_shape))]
    assert predicted == keras_layers(name, input_shape, params)


def test_the_annex1_count_is_the_reports():
    layout = model_layers("baseline", 10, {})
    assert sum(t + f for _, t, f in shapes(layout, (28, 28, 1))) == 225_034  # report 002, Annex 1


def test_a_model_without_a_layout_is_named():
    with pytest.raises(UserError, match="model 'resnet18' has no layer layout; one of: baseline, kernel"):
        model_layers("resnet18", 10, {})


def test_a_bad_parameter_is_refused_as_the_builder_refuses_it():
    with pytest.raises(UserError, match="needs one count per width"):
        model_layers("vgg", 10, {"widths": [8, 16], "convs_per_block": [1, 2, 3]})
    with pytest.raises(UserError, match="is not a parameter of 'baseline'"):
        model_layers("baseline", 10, {"widths": [8]})
