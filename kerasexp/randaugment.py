"""A fast RandAugment with keras-cv's operation set, magnitude meaning and per-image op choice.

keras-cv's `RandAugment` (the reference; report 003 used it with magnitude 0.32 and 5 ops an
image) runs `tf.map_fn` over the batch and a `tf.switch_case` per op slot: ~260 img/s at
96x96 on this 2-core CPU. Keras' own `RandAugment` is batched but applies one op sequence to the
whole batch. This one works image by image too, but on uint8 images with OpenCV, as the
PIL-based RandAugments of timm and torchvision do (each op's result rounded to integers):
every point-wise op is one 256-entry lookup table (`cv2.LUT`), colour is `cv2.addWeighted`
with the grey image, geometry `cv2.warpAffine`; every random number of a batch is drawn at once
from one seed, and it runs in `tf.data` through `tf.numpy_function(stateful=False)` (a pure
function of images and seed, so tf.data may run map calls in parallel).

What `magnitude` m and `magnitude_stddev` s mean for each op (as keras-cv's
`RandAugment.get_standard_policy`; N is a normal draw clipped to the interval, U uniform; every
draw is per image and per op slot; images are float 0-255):

| op | what |
|---|---|
| auto_contrast | per-channel min/max stretch to 0-255 (no magnitude) |
| equalize | per-channel 256-bin histogram equalisation of the truncated values (no magnitude) |
| solarize | add N(110m, 110s) in [0, 110], clip, invert pixels >= N(255(1-m), 255s) in [0, 255] |
| color | blend towards grayscale by N(m, s) in [0, 1] |
| contrast | (x - channel mean) * U(1-m, 1+m) + mean (s unused, as keras-cv) |
| brightness | add U(-m, m) * 255 (s unused) |
| shear_x / shear_y | shear by N(m, s) in [0, 1] with a random sign, about the top-left corner |
| translate_x / translate_y | shift by U(-m, m) of the width / height |

Geometric ops are bilinear with reflected borders, as keras-cv's. Each of the
`augmentations_per_image` slots is skipped with probability 1 - rate (keras-cv's default
rate 10/11 = the paper's identity op), else draws one op uniformly.
"""

from __future__ import annotations

import cv2
import numpy as np

from kerasexp.augment_compose import numpy_rng

OPS = ("auto_contrast", "equalize", "solarize", "color", "contrast", "brightness",
       "shear_x", "shear_y", "translate_x", "translate_y")
"""In keras-cv's order (RandAugment.get_standard_policy)."""

SOLARIZE_MAX_ADDITION = 110.0
LEVELS = np.arange(256, dtype=np.float32)  # every value a uint8 pixel can take


def _lut(values) -> np.ndarray:
    """Float lookup values (256,) or (256, C) -> an OpenCV uint8 table, rounded and saturated."""
    values = np.asarray(values, np.float32)
    return cv2.convertScaleAbs(np.maximum(values, 0.0)).reshape(256, 1, -1)  # rounds, saturates at 255


def _apply_lut(img, table):
    """One table for every channel, or one a channel."""
    if img.shape[-1] == 1:
        return cv2.LUT(img[..., 0], table[..., 0].copy())[..., None]
    return cv2.LUT(img, table if table.shape[-1] == img.shape[-1] else table[:, :, 0])


def _channels(img):
    return cv2.split(img) if img.shape[-1] > 1 else [img[..., 0]]


def auto_contrast(img, _):
    lo, hi = np.array([cv2.minMaxLoc(c)[:2] for c in _channels(img)], np.float32).T
    span = hi - lo
    flat = span <= 0  # keras-cv keeps such channels as they are (its NaNs are replaced)
    scale = np.where(flat, 1.0, 255.0 / np.where(flat, 1.0, span))
    return _apply_lut(img, _lut((LEVELS[:, None] - np.where(flat, 0.0, lo)) * scale))


def equalize(img, _):
    """keras-cv's equalisation (its step and rounding), a lookup table per channel."""
    hist = np.stack([cv2.calcHist([img], [c], None, [256], [0, 256]).ravel()
                     for c in range(img.shape[-1])], axis=-1).astype(np.int64)  # (256, C)
    step = (hist.sum(axis=0) - np.where(hist > 0, hist, hist.sum(axis=0) + 1).min(axis=0)) // 255
    safe = np.maximum(step, 1)
    levels = (np.cumsum(hist, axis=0) + safe // 2) // safe
    tables = np.concatenate([np.zeros((1, hist.shape[1]), np.int64), levels])[:256]
    tables = np.where(step == 0, np.arange(256)[:, None], tables)  # a flat channel stays as it is
    return _apply_lut(img, _lut(tables))


def solarize(img, p):
    x = np.clip(LEVELS + p["addition"], 0, 255)
    return _apply_lut(img, _lut(np.where(x < p["threshold"], x, 255.0 - x)))


def color(img, p):
    if img.shape[-1] != 3:
        return img  # no colour to take away
    gray = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    f = float(p["factor"])
    return cv2.addWeighted(img, 1.0 - f, gray, f, 0.0)


def contrast(img, p):
    mean = np.array(cv2.mean(img)[:img.shape[-1]], np.float32)
    return _apply_lut(img, _lut((LEVELS[:, None] - mean) * p["factor"] + mean))


def brightness(img, p):
    return _apply_lut(img, _lut(LEVELS + p["delta"]))


def _warp(img, matrix):
    """Output pixel (x, y) samples the input at matrix @ (x, y, 1), as TF's projective transform."""
    h, w = img.shape[:2]
    out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REFLECT)
    return out.reshape(img.shape)


def shear_x(img, p):
    return _warp(img, np.array([[1, p["shear"], 0], [0, 1, 0]], np.float32))


def shear_y(img, p):
    return _warp(img, np.array([[1, 0, 0], [p["shear"], 1, 0]], np.float32))


def _shift(img, pixels: float, axis: int):
    """Bilinear shift by `pixels` along `axis` with reflected borders, as a warp would do it, but
    as a blend of two whole-pixel shifts (a translation moves every row alike): cheaper."""
    n = int(np.floor(-pixels))
    frac = float(-pixels - n)
    size = img.shape[axis]
    pad = abs(n) + 2
    widths = (pad, pad, 0, 0) if axis == 0 else (0, 0, pad, pad)
    padded = cv2.copyMakeBorder(img, *widths, cv2.BORDER_REFLECT)
    padded = padded.reshape(img.shape[:axis] + (-1,) + img.shape[axis + 1:])
    start = min(max(pad + n, 0), 2 * pad - 1)
    a = padded[start:start + size] if axis == 0 else padded[:, start:start + size]
    b = padded[start + 1:start + 1 + size] if axis == 0 else padded[:, start + 1:start + 1 + size]
    return cv2.addWeighted(a, 1.0 - frac, b, frac, 0.0).reshape(img.shape)


def translate_x(img, p):
    return _shift(img, p["shift"] * img.shape[1], axis=1)


def translate_y(img, p):
    return _shift(img, p["shift"] * img.shape[0], axis=0)


OP_FUNCTIONS = dict(zip(OPS, (auto_contrast, equalize, solarize, color, contrast, brightness,
                              shear_x, shear_y, translate_x, translate_y)))


def _normal(rng, shape, mean, std, low, high):
    return np.clip(rng.normal(mean, std, shape), low, high)


def sample_params(rng: np.random.Generator, shape, magnitude: float, stddev: float) -> dict:
    """Every op's parameters for `shape` (images, slots) draws, as keras-cv samples them."""
    m, s = magnitude, stddev
    sign = np.where(rng.random(shape) > 0.5, -1.0, 1.0)
    return {
        "addition": _normal(rng, shape, m * SOLARIZE_MAX_ADDITION, s * SOLARIZE_MAX_ADDITION, 0,
                            SOLARIZE_MAX_ADDITION),
        "threshold": _normal(rng, shape, 255 - m * 255, s * 255, 0, 255),
        "factor_color": _normal(rng, shape, m, s, 0, 1),
        "factor_contrast": rng.uniform(1 - max(m, 1e-3), 1 + max(m, 1e-3), shape),
        "delta": rng.uniform(-m, m, shape) * 255.0,
        "shear": _normal(rng, shape, m, s, 0, 1) * sign,
        "shift": rng.uniform(-m, m, shape),
    }


_PARAM_KEYS = {"color": {"factor": "factor_color"}, "contrast": {"factor": "factor_contrast"}}


def op_params(name: str, params: dict, index) -> dict:
    """The parameters op `name` reads, at one (image, slot) index."""
    rename = _PARAM_KEYS.get(name, {})
    keys = {"solarize": ("addition", "threshold"), "color": ("factor",), "contrast": ("factor",),
            "brightness": ("delta",), "shear_x": ("shear",), "shear_y": ("shear",),
            "translate_x": ("shift",), "translate_y": ("shift",)}.get(name, ())
    return {k: np.float32(params[rename.get(k, k)][index]) for k in keys}


def apply_op(name: str, images: np.ndarray, seed, magnitude: float = 0.32, magnitude_stddev: float = 0.15):
    """Op `name` on every image, with parameters drawn as the RandAugment layer draws them
    (for comparing each op with keras-cv's, and for previews)."""
    images = to_uint8(images)
    params = sample_params(np.random.default_rng(seed), (len(images),), magnitude, magnitude_stddev)
    fn = OP_FUNCTIONS[name]
    return np.stack([fn(img, op_params(name, params, i)) for i, img in enumerate(images)]).astype(np.float32)


def to_uint8(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def rand_augment_batch(images: np.ndarray, seed, magnitude: float = 0.32, magnitude_stddev: float = 0.15,
                       augmentations_per_image: int = 5, rate: float = 10 / 11, geometric: bool = True) -> np.ndarray:
    """RandAugment on a 0-255 batch (N, H, W, C), returned as uint8; a pure function of
    (images, seed)."""
    rng = numpy_rng(seed)
    n, slots = len(images), augmentations_per_image
    names = OPS if geometric else OPS[:6]
    choice = rng.integers(0, len(names), (n, slots))
    applied = rng.random((n, slots)) <= rate
    params = sample_params(rng, (n, slots), magnitude, magnitude_stddev)
    images = to_uint8(images)
    out = np.empty(images.shape, np.uint8)
    for i in range(n):
        img = images[i]
        for k in range(slots):
            if applied[i, k]:
                name = names[choice[i, k]]
                img = OP_FUNCTIONS[name](img, op_params(name, params, (i, k)))
        out[i] = img
    return out


def rand_augment(images, seed, **kwargs):
    """The same inside a TF graph (tf.data): `seed` is an int64 tensor of shape [2], one a batch.

    stateful=False because the result depends only on the inputs: tf.data may then run map
    calls in parallel even with op determinism on."""
    import tensorflow as tf

    pixels = tf.saturate_cast(tf.round(images), tf.uint8)  # conversions in TF: no GIL, all cores
    out = tf.numpy_function(lambda x, s: rand_augment_batch(x, s, **kwargs), [pixels, seed], tf.uint8,
                            stateful=False)
    out.set_shape(images.shape)
    return tf.cast(out, images.dtype)


def check_params(magnitude: float, magnitude_stddev: float, augmentations_per_image: int, rate: float) -> None:
    """keras-cv's own argument limits, so a setting valid there is valid here."""
    from kerasexp.errors import UserError

    if not 0.0 <= magnitude <= 1.0:
        raise UserError(f"randaugment magnitude must be in [0, 1], got {magnitude}")
    if not 0.0 <= magnitude_stddev <= 1.0:
        raise UserError(f"randaugment magnitude_stddev must be in [0, 1], got {magnitude_stddev}")
    if not (isinstance(augmentations_per_image, int) and augmentations_per_image >= 1):
        raise UserError("randaugment augmentations_per_image must be a positive integer, "
                        f"got {augmentations_per_image!r}")
    if not 0.0 <= rate <= 1.0:
        raise UserError(f"randaugment rate must be in [0, 1], got {rate}")
