"""ResNet-18/34/50/101 from scratch (reports 000 and 001), torchvision's layout, any input size.

Stem 7x7/2 conv-BN-ReLU and 3x3/2 max-pool, four stages (64/128/256/512 planes, stride 2
entering stages 2-4) of basic blocks (18, 34) or bottleneck blocks (50, 101; stride on the 3x3,
expansion 4), then global pooling, optional dropout (report 000's CustomResNet18) and the
classifier. `pooling = "gem"` swaps average pooling for GeM with a learnable p (report 001).
`normalize = "train"` standardises each channel with the training split's mean and std
(report 000); kerasexp.models.normalization fills `mean_std` from the data where the model is
built, and the statistics are saved inside the model, so a saved model is self-contained.
"""

from __future__ import annotations

from functools import partial

import keras
from keras import layers

from kerasexp.errors import UserError
from kerasexp.models.ladder import BatchNorm, basic_block
from kerasexp.models.layers import GeMPooling2D
from kerasexp.models.registry import register_model

DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}
POOLING = {
    "avg": lambda p: layers.GlobalAveragePooling2D(name="pool"),
    "gem": lambda p: GeMPooling2D(p=p, name="pool"),
}


def bottleneck_block(x, planes: int, stride: int, name: str):
    """torchvision's Bottleneck: 1x1 reduce, 3x3 (with the stride), 1x1 expand x4, each
    bias-free conv-BN; 1x1 conv-BN shortcut when the shape changes; ReLU after the sum."""
    filters = 4 * planes
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_down")(x)
        shortcut = BatchNorm(name=f"{name}_down_bn")(shortcut)
    y = x
    for i, (size, width, s) in enumerate(((1, planes, 1), (3, planes, stride), (1, filters, 1)), start=1):
        y = layers.Conv2D(width, size, strides=s, padding="same", use_bias=False, name=f"{name}_conv{i}")(y)
        y = BatchNorm(name=f"{name}_bn{i}")(y)
        if i < 3:
            y = layers.ReLU(name=f"{name}_relu{i}")(y)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


def input_scaling(inputs, normalize: str, mean_std):
    """0-255 pixels in; "rescale" -> [0, 1], "train" -> (x - mean) / std per channel."""
    if normalize == "rescale":
        return layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    if normalize == "train":
        if not mean_std or len(mean_std) != 2:
            raise UserError(
                'model.params normalize = "train" needs the training split\'s mean and std: build the '
                "model through `kerasexp train` (it fills mean_std), or pass mean_std = [[means], [stds]]"
            )
        mean, std = mean_std
        return layers.Normalization(mean=list(mean), variance=[s * s for s in std], name="normalize")(inputs)
    raise UserError(f"model.params normalize = {normalize!r}; choose rescale or train")


def resnet(
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    depth: int = 18,
    pooling: str = "avg",
    gem_p: float = 3.0,
    dropout: float = 0.0,
    normalize: str = "rescale",
    mean_std: list | None = None,
    name: str = "",
) -> keras.Model:
    """A ResNet of `depth` 18, 34, 50 or 101 (11.2 M, 21.3 M, 23.5 M, 42.5 M parameters
    without the classifier); `dropout` before the classifier; `pooling` "avg" or "gem"."""
    if depth not in DEPTHS:
        raise UserError(f"model.params depth = {depth}; choose one of {', '.join(map(str, DEPTHS))}")
    if pooling not in POOLING:
        raise UserError(f"model.params pooling = {pooling!r}; choose one of: {', '.join(POOLING)}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"model.params dropout must be in [0, 1), got {dropout}")
    kind, stages = DEPTHS[depth]
    inputs = keras.Input(shape=input_shape, name="image")
    x = input_scaling(inputs, normalize, mean_std)
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name="conv1")(x)
    x = BatchNorm(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(x)
    for s, (planes, blocks) in enumerate(zip((64, 128, 256, 512), stages), start=1):
        for b in range(1, blocks + 1):
            x = BLOCKS[kind](x, planes, 2 if (s > 1 and b == 1) else 1, f"layer{s}_{b}")
    x = POOLING[pooling](gem_p)(x)
    if dropout:
        x = layers.Dropout(dropout, name="head_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=name or f"resnet{depth}")


resnet18, resnet34, resnet50, resnet101 = (
    register_model(f"resnet{_depth}")(partial(resnet, depth=_depth, name=f"resnet{_depth}"))
    for _depth in DEPTHS
)
