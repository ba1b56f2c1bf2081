"""What a model costs: forward multiply-adds an image, counted from its layers' shapes
(convolutions, depthwise and separable convolutions, dense layers; nested models such as a
transfer model's backbone included). Normalisation, activations and pooling are left out: they
are a few percent of a CNN's arithmetic. A training step costs about three forward passes, so a
run's FLOPs are 6 x multiply-adds x images trained on (2 FLOPs a multiply-add, forward and
backward), plus 2 x multiply-adds x images only evaluated."""

from __future__ import annotations

import math

import keras


def _spatial(shape) -> int:
    return math.prod(d for d in shape[1:-1])


def layer_macs(layer) -> int:
    """Forward multiply-adds of one layer for one image (0 for layers without weights to multiply)."""
    if isinstance(layer, keras.Model):
        return forward_macs(layer)
    out_shape = layer.output.shape if hasattr(layer, "output") else None
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        k = math.prod(layer.kernel_size)
        return _spatial(out_shape) * k * out_shape[-1]
    if isinstance(layer, keras.layers.SeparableConv2D):
        in_channels = layer.input.shape[-1]
        depthwise = _spatial(out_shape) * math.prod(layer.kernel_size) * in_channels * layer.depth_multiplier
        return depthwise + _spatial(out_shape) * in_channels * layer.depth_multiplier * out_shape[-1]
    if isinstance(layer, keras.layers.Conv2D):
        in_channels = layer.input.shape[-1]
        return (
            _spatial(out_shape) * math.prod(layer.kernel_size) * in_channels // layer.groups * out_shape[-1]
        )
    if isinstance(layer, keras.layers.Dense):
        in_shape = layer.input.shape
        return math.prod(d for d in in_shape[1:-1]) * in_shape[-1] * layer.units
    return 0


def forward_macs(model: keras.Model) -> int:
    """Multiply-adds of one forward pass of one image through `model`."""
    return int(sum(layer_macs(layer) for layer in model.layers))


def train_flops(macs: int, trained_images: int, evaluated_images: int = 0) -> float:
    """FLOPs of a run: 6 x multiply-adds for every image trained on (forward and backward),
    2 x multiply-adds for every image only evaluated (validation, test-time views)."""
    return 6.0 * macs * trained_images + 2.0 * macs * evaluated_images
