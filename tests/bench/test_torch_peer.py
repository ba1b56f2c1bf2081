"""One description of a net (kerasexp.models.layout) for its Keras model and its PyTorch peer: the
description alone predicts the Keras model's layers, and (where torch is installed) the torch
net built from it has the same layers, output shapes and parameter counts."""

import importlib.util
import os
from pathlib import Path

import pytest

from kerasexp.config import AugmentationConfig, Experiment, ModelConfig, TrainConfig, load_experiment
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


@pytest.mark.parametrize(
    "exp,match",
    [
        (
            Experiment(model=ModelConfig("resnet18")),
            "builds baseline, kernel, kernel_first, bn, sigmoid, vgg, not ",
        ),
        (
            Experiment(training=TrainConfig(schedule="step")),
            "runs training.schedule 'constant' or 'cosine', not 'step'",
        ),
        (
            Experiment(training=TrainConfig(optimizer="lion")),
            "runs training.optimizer 'adam' or 'adamw' or 'sgd'",
        ),
        (
            Experiment(augmentation=AugmentationConfig("mixup")),
            "runs augmentation.policy 'none' or 'flip_translate'",
        ),
        (Experiment(model=ModelConfig("baseline", {"activation": "mish"})), "has activations relu, sigmoid"),
    ],
)
def test_the_torch_peer_names_what_it_cannot_run(exp, match):
    from kerasexp.bench.torch_peer import check_recipe

    with pytest.raises(UserError, match=f"^bench speedrun: the PyTorch peer {match}"):
        check_recipe(exp, "bench speedrun")


# torch is optional (not in CI): these run where it is installed. Never imported here: torch next to
# TensorFlow in one process can crash it, so the peer runs in a child process as the benches run it.
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


@pytest.fixture(scope="module")
def torch_nets() -> list[list[tuple]]:
    """describe() of each of NETS' torch peers, from one child process."""
    from kerasexp.bench.torch_peer import describe_nets
    from kerasexp.processes import call_in_child

    return call_in_child(describe_nets, [(name, params, shape, 10) for name, shape, params in NETS])


@needs_torch
@pytest.mark.parametrize("net", range(len(NETS)), ids=[f"{name}-{shape}" for name, shape, _ in NETS])
def test_the_torch_peer_has_the_keras_models_layers(net, torch_nets):
    assert torch_nets[net] == keras_layers(*NETS[net])


@pytest.mark.slow  # a child process imports torch and trains twice
@needs_torch
def test_the_torch_peer_trains_both_benches_recipes(fashion_2000):
    from kerasexp.bench.torch_peer import torch_round
    from kerasexp.bench.train import bench_experiment
    from kerasexp.processes import call_in_child
    from kerasexp.config import to_dict

    x, y = fashion_2000.x_train[:128], fashion_2000.y_train[:128]
    speedrun = load_experiment(Path(__file__).parents[2] / "studies/fmnist_fast.toml", data=False)
    for exp in (bench_experiment(64), speedrun):
        result = call_in_child(torch_round, to_dict(exp), x, y, 2)
        assert result["img_s"] > 0 and result["threads"] == os.cpu_count(), result
