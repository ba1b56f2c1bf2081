"""A model of one's own, named in the experiment file by import path ("pkg.module:function"): found
without being imported when the file is read, imported and called like a registered builder
(input_shape, num_classes, **model.params) when the model is built."""

import sys

import pytest

import kerasexp
from kerasexp.errors import UserError

MODULE = """
import keras

CALLS = []


def small_cnn(input_shape, num_classes, width=4, name="small_cnn"):
    CALLS.append((tuple(input_shape), num_classes, width))
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(width, 3, activation="relu", name="own_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x), name=name)
"""


@pytest.fixture
def own_models(tmp_path, monkeypatch):
    package = tmp_path / "pkg" / "own_models_fast"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cnn.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    yield "own_models_fast.cnn"
    for name in [m for m in sys.modules if m.startswith("own_models_fast")]:
        del sys.modules[name]


def experiment(tmp_path, fashion_path, model: str, params: str) -> str:
    path = tmp_path / "own.toml"
    path.write_text(
        f'[dataset]\nname = "fashion_mnist"\ndata_dir = "{fashion_path}"\nlimit = 200\n'
        f'[model]\nname = "{model}"\nparams = {{ {params} }}\n'
        "[training]\nepochs = 1\nbatch_size = 64\n[logging]\ntensorboard = false\n"
    )
    return str(path)


def test_a_model_by_import_path_trains_like_a_registered_one(tmp_path, fashion_path, own_models):
    from kerasexp.config import load_experiment

    path = experiment(tmp_path, fashion_path, f"{own_models}:small_cnn", "width = 3")
    assert load_experiment(path).model.name == f"{own_models}:small_cnn"
    assert own_models not in sys.modules  # found, not imported, when the file is read
    run = kerasexp.train(path, out=tmp_path / "run")
    calls = sys.modules[own_models].CALLS
    assert calls and set(calls) == {((28, 28, 1), 10, 3)}
    assert 0.0 <= run.metrics["accuracy"] <= 1.0
    assert run.config.model.name == f"{own_models}:small_cnn" and run.config.model.params == {"width": 3}


def test_a_bad_parameter_of_ones_own_model_is_refused_before_the_run_folder(
    tmp_path, fashion_path, own_models
):
    path = experiment(tmp_path, fashion_path, f"{own_models}:small_cnn", "widht = 3")
    message = f"model.params 'widht' is not a parameter of '{own_models}:small_cnn'; allowed: width"
    with pytest.raises(UserError, match=message):
        kerasexp.train(path, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_missing_function_of_ones_own_module_is_one_line(own_models):
    from kerasexp.models import create_model

    message = f"model '{own_models}:big_cnn': module {own_models} has no 'big_cnn'"
    with pytest.raises(UserError, match=message):
        create_model(f"{own_models}:big_cnn", (28, 28, 1), 10)
