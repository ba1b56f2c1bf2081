"""Report 004's CNN ladder (first 20 classes of CIFAR-100, 32x32x3), as Keras builders.

The report counted PyTorch parameters, i.e. trainable ones (BatchNorm's moving statistics are
buffers there); the Keras builders match them as `trainable` counts for 32x32x3 and 20 classes:
baseline and dropout-only 546,388, batch-norm only and both 546,836, advanced CNN 3,382,868,
ResNet 4,330,324. Pixels enter as 0-255 floats and are rescaled to [0, 1] inside the model (the
report's normalisation). The report's tuning axes are builder parameters: `conv_depths`
((32, 64), (64, 128), (128, 256); three depths = "a third convolutional layer") and
`hidden_units` (64, 128, 256).

Choices where the report is silent: dropout 0.5 sits after each pooling and after the hidden
dense layer ("after each convolutional and dense layer"); BatchNormalization sits between each
convolution (or the hidden dense) and its ReLU; the advanced CNN's "adaptive dropout" is 0.25
after each convolutional block and 0.5 after each dense layer.
"""

from __future__ import annotations

from functools import partial

import keras
from keras import layers

from kerasexp.errors import UserError
from kerasexp.models.registry import register_model

# PyTorch's BatchNorm defaults (the reports' framework): momentum 0.1 there is 0.9 in Keras' terms.
# Keras' own 0.99 leaves the moving statistics far from the data for the first few hundred steps,
# so short from-scratch runs evaluate badly (ResNet-18 on pbc96: validation accuracy 0.07 after
# one epoch of 40 steps).
BatchNorm = partial(layers.BatchNormalization, momentum=0.9, epsilon=1e-5)


def _conv_bn_relu(x, filters: int, batch_norm: bool, name: str, use_bias: bool = True):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, name=name)(x)
    if batch_norm:
        x = BatchNorm(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def simple_cnn(
    input_shape=(32, 32, 3),
    num_classes: int = 20,
    conv_depths: tuple[int, ...] = (32, 64),
    hidden_units: int = 128,
    dropout: float = 0.0,
    batch_norm: bool = False,
    name: str = "ladder_baseline",
) -> keras.Model:
    """Report 004's BaselineCNN: [conv 3x3 (padding 1) - ReLU - max-pool 2] per depth, flatten,
    dense `hidden_units` ReLU, dense `num_classes`; optional dropout and batch norm (section 6.2)."""
    if not conv_depths or any(int(d) < 1 for d in conv_depths):
        raise UserError(f"model.params: conv_depths must be positive filter counts, got {list(conv_depths)}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"model.params: dropout must be in [0, 1), got {dropout}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for i, depth in enumerate(conv_depths, start=1):
        x = _conv_bn_relu(x, int(depth), batch_norm, f"conv{i}")
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, name="dense")(x)
    if batch_norm:
        x = BatchNorm(name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop_dense")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


ladder_baseline = register_model("ladder_baseline")(partial(simple_cnn, name="ladder_baseline"))
ladder_dropout = register_model("ladder_dropout")(partial(simple_cnn, dropout=0.5, name="ladder_dropout"))
ladder_bn = register_model("ladder_bn")(partial(simple_cnn, batch_norm=True, name="ladder_bn"))
ladder_both = register_model("ladder_both")(
    partial(simple_cnn, dropout=0.5, batch_norm=True, name="ladder_both")
)


@register_model("ladder_advanced")
def advanced_cnn(
    input_shape=(32, 32, 3),
    num_classes: int = 20,
    widths: tuple[int, ...] = (64, 128, 256),
    convs_per_block: int = 2,
    block_dropout: float = 0.25,
    dense_units: tuple[int, ...] = (512, 256),
    dense_dropout: float = 0.5,
    name: str = "ladder_advanced",
) -> keras.Model:
    """Report 004's advanced CNN (section 6.5): 3 blocks of 2 conv-BN-ReLU, max-pool and dropout
    0.25, then dense 512 and 256 (each BN-ReLU, dropout 0.5): 3,382,868 trainable parameters."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for b, width in enumerate(widths, start=1):
        for c in range(1, convs_per_block + 1):
            x = _conv_bn_relu(x, int(width), True, f"b{b}_conv{c}")
        x = layers.MaxPooling2D(2, name=f"b{b}_pool")(x)
        x = layers.Dropout(block_dropout, name=f"b{b}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    for d, units in enumerate(dense_units, start=1):
        x = layers.Dense(int(units), name=f"dense{d}")(x)
        x = BatchNorm(name=f"dense{d}_bn")(x)
        x = layers.ReLU(name=f"dense{d}_relu")(x)
        x = layers.Dropout(dense_dropout, name=f"dense{d}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)


def basic_block(x, filters: int, stride: int, name: str):
    """Report 004's ResidualBlock (= torchvision's BasicBlock): two bias-free 3x3 conv-BN, a 1x1
    conv-BN shortcut when the shape changes, ReLU after the sum."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_down")(x)
        shortcut = BatchNorm(name=f"{name}_down_bn")(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = BatchNorm(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = BatchNorm(name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


@register_model("ladder_resnet")
def small_resnet(
    input_shape=(32, 32, 3),
    num_classes: int = 20,
    widths: tuple[int, ...] = (64, 128, 256),
    blocks_per_stage: int = 3,
    name: str = "ladder_resnet",
) -> keras.Model:
    """Report 004's ResNet (section 6.6): bias-free 3x3 stem conv-BN-ReLU at full resolution,
    3 stages of 3 basic blocks (64/128/256, stride 2 entering stages 2 and 3), global average
    pooling, dense: 4,330,324 trainable parameters."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = _conv_bn_relu(x, int(widths[0]), True, "stem", use_bias=False)
    for s, width in enumerate(widths, start=1):
        for b in range(1, blocks_per_stage + 1):
            x = basic_block(x, int(width), 2 if (s > 1 and b == 1) else 1, f"s{s}_b{b}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)
