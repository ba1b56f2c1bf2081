"""Report 002's Annex-1 CNN and its variants, as Keras functional builders.

Annex-1 (225,034 parameters on 28x28x1, 10 classes):
  Conv 32 3x3 ReLU, MaxPool 2, Dropout .25, Conv 64 3x3 ReLU, MaxPool 2, Dropout .25,
  Flatten, Dense 128 ReLU, Dropout, Dense softmax.
The report gives 0.25 for the dropouts after pooling and says "another dropout" after the dense
layer without a rate: we read it as the same 0.25 (with it the baseline reaches the report's
training accuracy, .9188, in 15 epochs at batch 32).
Pixels enter as 0-255 floats and are rescaled inside the model, so a saved model is self-contained.
Both nets are written once, as layer lists (kerasexp.models.layout), which kerasexp.bench.torch_peer
also builds in PyTorch.
"""

from __future__ import annotations

from functools import partial

import keras
from keras import layers

from kerasexp.models.layout import annex1_layers, vgg_layers
from kerasexp.models.registry import register_model

# kerasexp.models.layout's layer kinds as Keras layers (kerasexp.bench.torch_peer has torch's).
KERAS_LAYERS = {
    "rescale": lambda layer: layers.Rescaling(layer.rate, name=layer.name),
    "conv": lambda layer: layers.Conv2D(
        layer.units, layer.size, padding=layer.padding, use_bias=layer.bias, name=layer.name
    ),
    "bn": lambda layer: layers.BatchNormalization(name=layer.name),
    "activation": lambda layer: layers.Activation(layer.fn, name=layer.name),
    "relu": lambda layer: layers.ReLU(name=layer.name),
    "maxpool": lambda layer: layers.MaxPooling2D(layer.size, name=layer.name),
    "dropout": lambda layer: layers.Dropout(layer.rate, name=layer.name),
    "flatten": lambda layer: layers.Flatten(name=layer.name),
    "gap": lambda layer: layers.GlobalAveragePooling2D(name=layer.name),
    "dense": lambda layer: layers.Dense(
        layer.units, activation=layer.fn or None, use_bias=layer.bias, name=layer.name
    ),
}


def from_layout(layout, input_shape, name: str) -> keras.Model:
    """A Keras model of a layer list of kerasexp.models.layout, each layer called as it is made."""
    x = inputs = keras.Input(shape=input_shape, name="image")
    for layer in layout:
        x = KERAS_LAYERS[layer.kind](layer)(x)
    return keras.Model(inputs, x, name=name)


def annex1(
    input_shape=(28, 28, 1),
    num_classes: int = 10,
    kernels: tuple[int, int] = (3, 3),
    filters: tuple[int, int] = (32, 64),
    dense_units: int = 128,
    activation: str = "relu",
    batch_norm: bool = False,
    conv_dropout: float = 0.25,
    dense_dropout: float = 0.25,
    name: str = "annex1",
) -> keras.Model:
    """Annex-1 CNN; `batch_norm` inserts BatchNormalization after each conv and the hidden dense,
    before the activation, keeping the dropouts after pooling (report 002, variant 2)."""
    layout = annex1_layers(
        num_classes, kernels, filters, dense_units, activation, batch_norm, conv_dropout, dense_dropout
    )
    return from_layout(layout, input_shape, name)


# The report's text says both "7 in the first layer" and "the first and second convolutional
# layers": `kernel` (our default) uses 7x7 in both, which matches its lower train accuracy
# (a smaller flattened map, less capacity); `kernel_first` uses 7x7 in the first layer only.
baseline = register_model("baseline")(partial(annex1, name="baseline"))
kernel = register_model("kernel")(partial(annex1, kernels=(7, 7), name="kernel"))
kernel_first = register_model("kernel_first")(partial(annex1, kernels=(7, 3), name="kernel_first"))
bn = register_model("bn")(partial(annex1, batch_norm=True, name="bn"))
sigmoid = register_model("sigmoid")(partial(annex1, activation="sigmoid", name="sigmoid"))


@register_model("vgg")
def vgg(
    input_shape=(28, 28, 1),
    num_classes: int = 10,
    widths: tuple[int, ...] = (32, 64, 128),
    convs_per_block: int | tuple[int, ...] = 2,
    block_dropout: float = 0.1,
    head_dropout: float = 0.3,
    dense_units: int = 0,
    name: str = "vgg",
) -> keras.Model:
    """A small VGG-style net (blocks of 3x3 conv-BN-ReLU, max-pooling, dropout), for
    kerasexp's Fashion-MNIST recipe; sized by FLOPs, since a CPU's
    training time follows them (`kerasexp bench train` measures the rate).

    The head is global average pooling, or with `dense_units` a flatten + dense-BN-ReLU layer:
    it keeps where in the image a feature was (sandal vs sneaker) for ~10% more FLOPs."""
    layout = vgg_layers(num_classes, widths, convs_per_block, block_dropout, head_dropout, dense_units)
    return from_layout(layout, input_shape, name)
