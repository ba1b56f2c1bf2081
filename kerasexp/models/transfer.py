"""Transfer models (report 003): a `keras.applications` backbone by name, frozen, its last N
layers unfrozen with normalisation kept in inference mode, and a dense head.

Pixels enter as 0-255 floats; each backbone's own preprocessing is a layer inside the model,
so a saved model is self-contained. Backbones whose Keras builders include their
preprocessing (EfficientNetV2, ConvNeXt, MobileNetV3) get none added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import keras
from keras import layers

from kerasexp.errors import UserError
from kerasexp.models.registry import register_model
from kerasexp.registry import BACKBONES  # the name table: backbone name -> keras.applications builder

NORMALISATION = (layers.BatchNormalization, layers.LayerNormalization, layers.GroupNormalization)


@dataclass(frozen=True)
class Backbone:
    """The pixel preprocessing a backbone's ImageNet weights expect ("tf": [-1, 1], "caffe": BGR
    minus ImageNet means, "torch": ImageNet mean/std, "none": the builder does it itself), and
    builder arguments always passed."""

    preprocess: str
    extra: dict = field(default_factory=dict)


_OWN = Backbone("none", {"include_preprocessing": True})
# One entry a name of BACKBONES (tests/test_light_config.py checks they match).
PREPROCESSING = {
    "MobileNet": Backbone("tf"),
    "MobileNetV2": Backbone("tf"),
    "MobileNetV3Small": _OWN,
    "MobileNetV3Large": _OWN,
    "EfficientNetV2B0": _OWN,
    "EfficientNetV2S": _OWN,
    "ConvNeXtTiny": _OWN,
    "ConvNeXtSmall": _OWN,
    "ConvNeXtBase": _OWN,
    "VGG16": Backbone("caffe"),
    "VGG19": Backbone("caffe"),
    "ResNet50": Backbone("caffe"),
    "ResNet50V2": Backbone("tf"),
    "DenseNet121": Backbone("torch"),
}


@keras.saving.register_keras_serializable(package="kerasexp")
class ImagenetPreprocess(layers.Layer):
    """keras.applications' `preprocess_input` as a layer (0-255 RGB in), saved with the model."""

    def __init__(self, mode: str = "tf", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, x):
        from keras.src.applications import imagenet_utils

        return imagenet_utils.preprocess_input(x, data_format="channels_last", mode=self.mode)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="kerasexp")
class InferenceBatchNormalization(layers.BatchNormalization):
    """BatchNormalization that always normalises with its moving statistics and never updates
    them, even while its scale and offset learn. (Keras 3 passes the outer model's
    training=True down to every layer that takes `training`, so `backbone(x, training=False)`
    alone does not keep a trainable BatchNormalization in inference mode.)"""

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=False, mask=mask)


def with_inference_batchnorm(backbone: keras.Model) -> keras.Model:
    """The same backbone and weights with every BatchNormalization an InferenceBatchNormalization."""

    def clone(layer):
        if type(layer) is layers.BatchNormalization:
            return InferenceBatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(backbone, clone_function=clone)
    copy.set_weights(backbone.get_weights())
    return copy


NORM_MODES = ("frozen", "affine", "train")


def _weights_argument(weights: str | None) -> str | None:
    if weights in (None, "", "none"):
        return None
    if weights == "imagenet":
        return "imagenet"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(
            f'weights file {weights} not found; give "imagenet", "none" or the path of a '
            "keras.applications weights file (.h5)"
        )
    return str(path)


def build_backbone(name: str, input_shape, weights: str | None = "imagenet", **params) -> keras.Model:
    """The named backbone without its top; a weights file that does not fit it is a UserError."""
    build, spec = BACKBONES[name], PREPROCESSING[name]
    weights = _weights_argument(weights)
    try:
        return build(
            include_top=False, weights=weights, input_shape=tuple(input_shape), **spec.extra, **params
        )
    except (ValueError, TypeError, OSError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if weights not in (None, "imagenet"):
            raise UserError(
                f"weights file {weights} does not fit backbone {name} {params or ''} "
                f"with input {tuple(input_shape)} ({first[:200]})"
            ) from None
        raise UserError(
            f"backbone {name} cannot be built for input {tuple(input_shape)} with {params} ({first[:200]})"
        ) from None


def backbone_layers(backbone: keras.Model) -> list[layers.Layer]:
    """The layers `unfreeze` counts: all but the input layer, in graph order."""
    return [layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)]


def unfreeze_last(backbone: keras.Model, n: int, norm_trainable: bool = False) -> int:
    """Freeze the backbone, then make its last `n` layers trainable. Normalisation layers stay
    frozen (a frozen layer runs in inference mode: its moving statistics never change) unless
    `norm_trainable`. Returns the number of layers with weights that became trainable."""
    candidates = backbone_layers(backbone)
    if not 0 <= n <= len(candidates):
        raise UserError(
            f"unfreeze = {n}, but backbone {backbone.name} has {len(candidates)} layers; "
            f"choose 0..{len(candidates)}"
        )
    backbone.trainable = True  # the container must be trainable for any child to be
    for layer in candidates:
        layer.trainable = False
    opened = 0
    for layer in candidates[len(candidates) - n :]:
        if isinstance(layer, NORMALISATION) and not norm_trainable:
            continue
        layer.trainable = True
        opened += bool(layer.weights)
    return opened


def dense_head(x, units, dropouts, batchnorm: bool = True, activation: str = "relu"):
    """Dense -> (BatchNorm) -> ReLU -> Dropout for each width (report 003: 512/256/128, .5/.4/.3)."""
    for i, (width, rate) in enumerate(zip(units, dropouts), start=1):
        x = layers.Dense(width, use_bias=not batchnorm, name=f"head_dense{i}")(x)
        if batchnorm:
            x = layers.BatchNormalization(name=f"head_bn{i}")(x)
        x = layers.Activation(activation, name=f"head_{activation}{i}")(x)
        if rate:
            x = layers.Dropout(rate, name=f"head_drop{i}")(x)
    return x


@register_model("transfer")
def transfer(
    input_shape=(96, 96, 3),
    num_classes: int = 8,
    backbone: str = "MobileNet",
    weights: str = "imagenet",
    backbone_params: dict | None = None,
    unfreeze: int = 0,
    norm_mode: str = "frozen",
    head_units: list | tuple = (512, 256, 128),
    head_dropouts: list | tuple | float = (0.5, 0.4, 0.3),
    head_batchnorm: bool = True,
    pooling: str = "avg",
    name: str = "transfer",
) -> keras.Model:
    """A pretrained backbone (`backbone` names a key of BACKBONES; `weights` is "imagenet",
    "none" or a weights file; `backbone_params` e.g. {alpha = 0.25} for MobileNet) with its last
    `unfreeze` layers trainable, global pooling and a dense head of `head_units` widths with
    `head_dropouts` (one rate per layer, or one rate for all), then a softmax.

    `norm_mode` says what the unfrozen normalisation layers do: "frozen" (inference mode, scale
    and offset fixed), "affine" (inference mode: moving statistics fixed, scale and offset
    learn), "train" (ordinary fine-tuning: batch statistics, moving statistics updated)."""
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise UserError(
            f"transfer backbones need RGB images (H, W, 3), got {tuple(input_shape)}; "
            "use an RGB dataset or another model"
        )
    units = [int(u) for u in head_units]
    rates = (
        [float(head_dropouts)] * len(units)
        if isinstance(head_dropouts, (int, float))
        else [float(r) for r in head_dropouts]
    )
    if len(rates) != len(units) or any(not 0 <= r < 1 for r in rates) or any(u < 1 for u in units):
        raise UserError(
            f"model.params head_units {units} and head_dropouts {rates}: give one dropout in "
            "[0, 1) per dense layer and positive widths"
        )
    if pooling not in ("avg", "max"):
        raise UserError(f"model.params pooling {pooling!r}: choose avg or max")
    if norm_mode not in NORM_MODES:
        raise UserError(f"model.params norm_mode {norm_mode!r}: choose one of: {', '.join(NORM_MODES)}")
    base = build_backbone(backbone, input_shape, weights, **(backbone_params or {}))
    if norm_mode == "affine":
        base = with_inference_batchnorm(base)
    unfreeze_last(base, int(unfreeze), norm_trainable=norm_mode != "frozen")
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    if PREPROCESSING[backbone].preprocess != "none":
        x = ImagenetPreprocess(PREPROCESSING[backbone].preprocess, name="preprocess")(x)
    x = base(x)
    pool = layers.GlobalAveragePooling2D if pooling == "avg" else layers.GlobalMaxPooling2D
    x = pool(name="pool")(x)
    x = dense_head(x, units, rates, head_batchnorm)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probs")(x)
    return keras.Model(inputs, outputs, name=name)
