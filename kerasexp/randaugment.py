"""A fast RandAugment with keras-cv's operation set, magnitude meaning and per-image op choice.

keras-cv's `RandAugment` (the reference; report 003 used it with magnitude 0.32 and 5 ops an
image) runs `tf.map_fn` over the batch and a `tf.switch_case` per op slot: ~260 img/s at
96x96 on this 2-core CPU. Keras' own `RandAugment` is batched but applies one op sequence to the
whole batch. This one works image by image too, but in NumPy/OpenCV on 96x96 arrays that stay
in the CPU cache, with every random number of a batch drawn at once from one seed, and runs
in `tf.data` through `tf.numpy_function(stateful=False)` (OpenCV and NumPy release the GIL,
so parallel map calls use both cores).

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

GRAY = np.array([0.2989, 0.5870, 0.1140], np.float32)  # tf.image.rgb_to_grayscale's weights
SOLARIZE_MAX_ADDITION = 110.0


def _clip(x):
    return np.clip(x, 0.0, 255.0, out=x)


def _channels(img):
    return cv2.split(img) if img.shape[-1] > 1 else [img[..., 0]]


def auto_contrast(img, _):
    lo, hi = np.array([cv2.minMaxLoc(c)[:2] for c in _channels(img)], np.float32).T
    span = hi - lo
    flat = span <= 0  # keras-cv keeps such channels as they are (its NaNs are replaced)
    scale = np.where(flat, 1.0, 255.0 / np.where(flat, 1.0, span)).astype(np.float32)
    return _clip(img * scale - np.where(flat, 0.0, lo * scale).astype(np.float32))


def equalize(img, _):
    """keras-cv's equalisation: values truncated to integers, per-channel lookup tables."""
    q = np.clip(img, 0, 255).astype(np.uint8)
    luts = np.empty((256, 1, img.shape[-1]), np.uint8)
    for c in range(img.shape[-1]):
        hist = cv2.calcHist([q], [c], None, [256], [0, 256]).ravel().astype(np.int64)
        step = (hist.sum() - hist[hist > 0].min()) // 255
        if step == 0:
            luts[:, 0, c] = np.arange(256)
            continue
        lut = np.concatenate([[0], (np.cumsum(hist) + step // 2) // step])[:256]
        luts[:, 0, c] = np.clip(lut, 0, 255)
    if img.shape[-1] == 1:
        return cv2.LUT(q[..., 0], luts[:, 0, 0]).astype(np.float32)[..., None]
    return cv2.LUT(q, luts).astype(np.float32)


def solarize(img, p):
    x = _clip(img + p["addition"])
    np.copyto(x, 255.0 - x, where=x >= p["threshold"])
    return x


def color(img, p):
    if img.shape[-1] != 3:
        return img  # no colour to take away
    gray = (img @ GRAY)[..., None]
    return _clip(img + p["factor"] * (gray - img))


def contrast(img, p):
    mean = np.array(cv2.mean(img)[:img.shape[-1]], np.float32)
    return _clip((img - mean) * p["factor"] + mean)


def brightness(img, p):
    return _clip(img + p["delta"])


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


def translate_x(img, p):
    return _warp(img, np.array([[1, 0, -p["shift"] * img.shape[1]], [0, 1, 0]], np.float32))


def translate_y(img, p):
    return _warp(img, np.array([[1, 0, 0], [0, 1, -p["shift"] * img.shape[0]]], np.float32))


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
    images = np.asarray(images, np.float32)
    params = sample_params(np.random.default_rng(seed), (len(images),), magnitude, magnitude_stddev)
    fn = OP_FUNCTIONS[name]
    return np.stack([fn(img, op_params(name, params, i)) for i, img in enumerate(images)]).astype(np.float32)


def rand_augment_batch(images: np.ndarray, seed, magnitude: float = 0.32, magnitude_stddev: float = 0.15,
                       augmentations_per_image: int = 5, rate: float = 10 / 11, geometric: bool = True) -> np.ndarray:
    """RandAugment on a float 0-255 batch (N, H, W, C); a pure function of (images, seed)."""
    rng = numpy_rng(seed)
    n, slots = len(images), augmentations_per_image
    names = OPS if geometric else OPS[:6]
    choice = rng.integers(0, len(names), (n, slots))
    applied = rng.random((n, slots)) <= rate
    params = sample_params(rng, (n, slots), magnitude, magnitude_stddev)
    out = np.empty(images.shape, np.float32)
    for i in range(n):
        img = np.asarray(images[i], np.float32)
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

    out = tf.numpy_function(lambda x, s: rand_augment_batch(x, s, **kwargs), [images, seed], tf.float32,
                            stateful=False)
    out.set_shape(images.shape)
    return out


def check_params(magnitude: float, magnitude_stddev: float, augmentations_per_image: int, rate: float) -> None:
    """keras-cv's own argument limits, so a setting valid there is valid here."""
    from kerasexp.errors import UserError

    if not 0.0 <= magnitude <= 1.0:
        raise UserError(f"randaugment magnitude must be in [0, 1], got {magnitude}")
    if not 0.0 <= magnitude_stddev <= 1.0:
        raise UserError(f"randaugment magnitude_stddev must be in [0, 1], got {magnitude_stddev}")
    if not (isinstance(augmentations_per_image, int) and augmentations_per_image >= 1):
        raise UserError(f"randaugment augmentations_per_image must be a positive integer, got {augmentations_per_image!r}")
    if not 0.0 <= rate <= 1.0:
        raise UserError(f"randaugment rate must be in [0, 1], got {rate}")
