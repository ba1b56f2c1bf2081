"""The plain nets (Annex-1 and its variants, vgg) as lists of layer descriptions, without Keras:
kerasexp.models.cnn builds its Keras models from them and kerasexp.bench.torch_peer builds the
same nets in PyTorch, so neither types a layer twice. `shapes` predicts each layer's output shape
and parameter counts from the description alone (tests check it against Keras and torch)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kerasexp.errors import UserError


@dataclass(frozen=True)
class Layer:
    """One layer: `kind` is a key of SHAPES; the fields a kind does not use keep their defaults."""

    kind: str
    name: str
    units: int = 0  # conv filters, dense units
    size: int = 0  # conv kernel, pooling window (square)
    padding: str = "valid"  # conv: "valid" or "same"
    bias: bool = True
    fn: str = ""  # the activation of an "activation" layer, or a dense layer's output activation
    rate: float = 0.0  # dropout rate, rescaling factor


def annex1_layers(
    num_classes: int = 10,
    kernels=(3, 3),
    filters=(32, 64),
    dense_units: int = 128,
    activation: str = "relu",
    batch_norm: bool = False,
    conv_dropout: float = 0.25,
    dense_dropout: float = 0.25,
) -> list[Layer]:
    """Report 002's Annex-1 CNN (kerasexp.models.cnn.annex1 says what each parameter does)."""
    out = [Layer("rescale", "rescale", rate=1.0 / 255)]
    for i, (n_filters, size) in enumerate(zip(filters, kernels), start=1):
        out.append(Layer("conv", f"conv{i}", units=n_filters, size=size))
        out += [Layer("bn", f"conv{i}_bn")] if batch_norm else []
        out += [
            Layer("activation", f"conv{i}_{activation}", fn=activation),
            Layer("maxpool", f"pool{i}", size=2),
            Layer("dropout", f"drop{i}", rate=conv_dropout),
        ]
    out += [Layer("flatten", "flatten"), Layer("dense", "dense", units=dense_units)]
    out += [Layer("bn", "dense_bn")] if batch_norm else []
    return out + [
        Layer("activation", f"dense_{activation}", fn=activation),
        Layer("dropout", "drop_dense", rate=dense_dropout),
        Layer("dense", "probs", units=num_classes, fn="softmax"),
    ]


def vgg_layers(
    num_classes: int = 10,
    widths=(32, 64, 128),
    convs_per_block=2,
    block_dropout: float = 0.1,
    head_dropout: float = 0.3,
    dense_units: int = 0,
) -> list[Layer]:
    """The small VGG-style net (kerasexp.models.cnn.vgg says what each parameter does)."""
    if isinstance(convs_per_block, int):
        convs_per_block = (convs_per_block,) * len(widths)
    if len(convs_per_block) != len(widths):
        raise UserError(
            f"model.params: convs_per_block {list(convs_per_block)} needs one count per width {list(widths)}"
        )
    if block_dropout * len(widths) >= 1:  # block b drops block_dropout * b
        raise UserError(
            f"model.params block_dropout = {block_dropout}: the last of {len(widths)} blocks "
            f"drops {len(widths)} x block_dropout, which must stay below 1; use below "
            f"{1 / len(widths):.3g}"
        )
    out = [Layer("rescale", "rescale", rate=1.0 / 255)]
    for b, (width, convs) in enumerate(zip(widths, convs_per_block), start=1):
        for c in range(1, convs + 1):
            out += [
                Layer("conv", f"b{b}_conv{c}", units=width, size=3, padding="same", bias=False),
                Layer("bn", f"b{b}_bn{c}"),
                Layer("relu", f"b{b}_relu{c}"),
            ]
        out += [Layer("maxpool", f"b{b}_pool", size=2)] if b < len(widths) else []
        out.append(Layer("dropout", f"b{b}_drop", rate=block_dropout * b))
    if dense_units:
        out += [
            Layer("flatten", "flatten"),
            Layer("dense", "dense", units=dense_units, bias=False),
            Layer("bn", "dense_bn"),
            Layer("relu", "dense_relu"),
        ]
    else:
        out.append(Layer("gap", "gap"))
    return out + [
        Layer("dropout", "head_drop", rate=head_dropout),
        Layer("dense", "probs", units=num_classes, fn="softmax"),
    ]


# The registered models built from a layout: their parameters and defaults are the builders'
# (kerasexp.models.registry.SIGNATURES, checked against them by tests/test_light_config.py).
LAYOUTS = {
    **dict.fromkeys(("baseline", "kernel", "kernel_first", "bn", "sigmoid"), annex1_layers),
    "vgg": vgg_layers,
}


def model_layers(name: str, num_classes: int, params: dict) -> list[Layer]:
    """The layers of registered model `name` with `params` (model.params) over its defaults."""
    from kerasexp.models.registry import SIGNATURES, check_model

    if name not in LAYOUTS:
        raise UserError(f"model {name!r} has no layer layout; one of: {', '.join(LAYOUTS)}")
    check_model(name, params)
    kwargs = {k: v for k, v in {**SIGNATURES[name], **params}.items() if k != "name"}
    return LAYOUTS[name](num_classes, **kwargs)


def _conv(layer: Layer, shape):
    h, w, c = shape
    trim = 0 if layer.padding == "same" else layer.size - 1
    weights = layer.size * layer.size * c * layer.units + layer.units * layer.bias
    return (h - trim, w - trim, layer.units), weights, 0


def _dense(layer: Layer, shape):
    return (layer.units,), shape[-1] * layer.units + layer.units * layer.bias, 0


# kind -> (layer, input shape without the batch) -> (output shape, trainable, non-trainable
# parameters). Shapes are channels last, as Keras has them; BatchNormalization's moving mean and
# variance are its non-trainable parameters (torch's running statistics).
SHAPES = {
    "rescale": lambda layer, s: (s, 0, 0),
    "conv": _conv,
    "bn": lambda layer, s: (s, 2 * s[-1], 2 * s[-1]),
    "activation": lambda layer, s: (s, 0, 0),
    "relu": lambda layer, s: (s, 0, 0),
    "maxpool": lambda layer, s: ((s[0] // layer.size, s[1] // layer.size, s[2]), 0, 0),
    "dropout": lambda layer, s: (s, 0, 0),
    "flatten": lambda layer, s: ((math.prod(s),), 0, 0),
    "gap": lambda layer, s: ((s[-1],), 0, 0),
    "dense": _dense,
}


def shapes(layers: list[Layer], input_shape) -> list[tuple[tuple[int, ...], int, int]]:
    """Each layer's (output shape, trainable, non-trainable parameters), in order."""
    out, shape = [], tuple(input_shape)
    for layer in layers:
        shape, trainable, frozen = SHAPES[layer.kind](layer, shape)
        out.append((shape, trainable, frozen))
    return out
