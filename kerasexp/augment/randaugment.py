"""A fast RandAugment with keras-cv's operation set, magnitude meaning and per-image op choice.

keras-cv's `RandAugment` (the reference; report 003 used it with magnitude 0.32 and 5 ops an
image) runs `tf.map_fn` over the batch and a `tf.switch_case` per op slot, image by image
(reports/bench_augment.md measures it against this one). Keras' own `RandAugment` is batched but applies one op sequence to the
whole batch. This one works image by image too, but on uint8 pixels, as the PIL-based
RandAugments of timm and torchvision do (each op's result rounded to integers), in one
Numba-compiled loop over the batch: every point-wise op is one 256-entry table per channel,
every geometric op a one-dimensional shift (a shear moves each row, or column, by its own
offset; a translation moves all alike). Every random number of a batch is drawn at once from
one seed in NumPy; the loop runs without the GIL, so tf.data's parallel map calls use every core.

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

Geometric ops are bilinear with reflected borders (fedcba|abcdef), as keras-cv's. Each of the
`augmentations_per_image` slots is skipped with probability 1 - rate (keras-cv's default
rate 10/11 = the paper's identity op), else draws one op uniformly.
"""

from __future__ import annotations

import numpy as np

from kerasexp.augment.compose import numpy_rng
from kerasexp.augment.numba_cache import njit  # caches outside the package

OPS = (
    "auto_contrast",
    "equalize",
    "solarize",
    "color",
    "contrast",
    "brightness",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
"""In keras-cv's order (RandAugment.get_standard_policy); an op's index is its code below."""

SOLARIZE_MAX_ADDITION = 110.0
_JIT = dict(nogil=True, cache=True)  # nogil: tf.data's parallel map calls run side by side


# ---- kernels: one image (H, W, C) uint8 `src` -> `dst`, pixels walked in memory order -------


@njit(**_JIT)
def _u8(value):
    """Round half to even and saturate, as OpenCV's saturate_cast."""
    return np.uint8(min(max(np.rint(value), 0.0), 255.0))


@njit(**_JIT)
def _apply_lut(src, dst, lut):
    """dst = lut[src, channel]: a whole run of point-wise ops in one pass. Channel by channel
    with a contiguous table: twice as fast as indexing lut[v, k] pixel by pixel."""
    c = src.shape[2]
    s, d = src.reshape(-1, c), dst.reshape(-1, c)
    by_channel = np.ascontiguousarray(lut.T)
    for k in range(c):
        table = by_channel[k]
        for p in range(s.shape[0]):
            d[p, k] = table[s[p, k]]


@njit(**_JIT)
def _histogram(src, hist):
    """Per-channel 256-bin counts (channel by channel, as _apply_lut)."""
    c = src.shape[2]
    s = src.reshape(-1, c)
    counts = np.zeros((c, 256), np.int64)
    for k in range(c):
        row = counts[k]
        for p in range(s.shape[0]):
            row[s[p, k]] += 1
    hist[:] = counts.T


@njit(**_JIT)
def _through(hist, lut, out):
    """The histogram of lut[image] from the histogram of the image: the statistics of a run of
    point-wise ops without materialising it (equal to counting the transformed pixels)."""
    out[:] = 0
    for v in range(256):
        for k in range(hist.shape[1]):
            out[lut[v, k], k] += hist[v, k]


@njit(**_JIT)
def _auto_contrast(hist, table):
    for k in range(hist.shape[1]):
        lo, hi = 255, 0
        for v in range(256):
            if hist[v, k]:
                lo, hi = min(lo, v), max(hi, v)
        scale = 255.0 / (hi - lo) if hi > lo else 1.0  # a flat channel stays as it is
        for v in range(256):
            table[v, k] = (v - lo) * scale if hi > lo else v


@njit(**_JIT)
def _equalize(hist, table):
    """keras-cv's equalisation: its step (total minus the smallest non-empty bin, // 255) and
    rounding; a flat channel stays as it is."""
    for k in range(hist.shape[1]):
        pixels = hist[:, k].sum()
        smallest = pixels
        for v in range(256):
            if 0 < hist[v, k] < smallest:
                smallest = hist[v, k]
        step = (pixels - smallest) // 255
        total = 0
        table[0, k] = 0
        for v in range(256):
            if step == 0:
                table[v, k] = v
            elif v < 255:
                total += hist[v, k]
                table[v + 1, k] = (total + step // 2) // step


@njit(**_JIT)
def _solarize(table, addition, threshold):
    for v in range(256):
        x = min(max(v + addition, 0.0), 255.0)
        table[v, :] = x if x < threshold else 255.0 - x


@njit(**_JIT)
def _contrast(hist, table, factor):
    for k in range(hist.shape[1]):
        mean = (hist[:, k] * np.arange(256)).sum() / hist[:, k].sum()  # integer sums: exact
        for v in range(256):
            table[v, k] = (v - mean) * factor + mean


@njit(**_JIT)
def _color(src, dst, factor):
    """Blend towards the grey image (OpenCV's fixed-point RGB -> grey) by `factor`."""
    c = src.shape[2]
    if c != 3:  # no colour to take away
        _copy(src.reshape(-1), dst.reshape(-1))
        return
    s, d = src.reshape(-1, 3), dst.reshape(-1, 3)
    keep, mix = np.float32(1.0 - factor), np.float32(factor)
    for p in range(s.shape[0]):
        grey = (np.int32(s[p, 0]) * 4899 + np.int32(s[p, 1]) * 9617 + np.int32(s[p, 2]) * 1868 + 8192) >> 14
        for k in range(3):
            d[p, k] = np.uint8(np.rint(s[p, k] * keep + grey * mix))  # a blend: stays in 0-255


@njit(**_JIT)
def _reflected(n, reach):
    """Indices -reach .. n + reach (stored from 0) reflected into 0 .. n - 1 (fedcba|abcdef)."""
    out = np.empty(n + 2 * reach + 2, np.int64)
    for j in range(out.shape[0]):
        i = (j - reach) % (2 * n)
        out[j] = i if i < n else 2 * n - 1 - i
    return out


@njit(**_JIT)
def _weight(at):
    """Whole part of a sampling position and its fraction in 1/256ths (bilinear weights as
    OpenCV's fixed point: each result within one level of the exact one)."""
    whole = np.int64(np.floor(at))
    return whole, np.int64(np.rint((at - whole) * 256.0))


@njit(**_JIT)
def _blend(a, b, d, w1):
    """d = a * (1 - w1/256) + b * w1/256, rounded; flat uint8 runs (vectorised)."""
    w0 = 256 - w1
    for j in range(d.shape[0]):
        d[j] = (np.int32(a[j]) * w0 + np.int32(b[j]) * w1 + 128) >> 8


@njit(**_JIT)
def _shift_rows(src, dst, offset, slope):
    """Row y samples the input at x + offset + slope * y (bilinear, reflected borders):
    translate_x (slope 0) and shear_x (offset 0). A row's inside is one contiguous blend."""
    h, w, c = src.shape
    reach = np.int64(abs(offset) + abs(slope) * h) + 2
    index = _reflected(w, reach)
    for y in range(h):
        whole, w1 = _weight(offset + slope * y)
        s, d = src[y].reshape(-1), dst[y].reshape(-1)
        lo, hi = min(max(-whole, 0), w), max(min(w - 1 - whole, w), 0)  # both taps inside the row
        lo = min(lo, hi)
        _blend(
            s[(lo + whole) * c : (hi + whole) * c],
            s[(lo + whole + 1) * c : (hi + whole + 1) * c],
            d[lo * c : hi * c],
            w1,
        )
        for x in range(w):
            if lo <= x < hi:
                continue
            a, b = index[x + whole + reach], index[x + whole + 1 + reach]
            for k in range(c):
                dst[y, x, k] = (np.int32(src[y, a, k]) * (256 - w1) + np.int32(src[y, b, k]) * w1 + 128) >> 8


@njit(**_JIT)
def _shift_columns(src, dst, offset, slope):
    """Column x samples the input at y + offset + slope * x: translate_y (every column alike:
    whole rows blended) and shear_y (a column's own offset: pixel by pixel)."""
    h, w, c = src.shape
    reach = np.int64(abs(offset) + abs(slope) * w) + 2
    index = _reflected(h, reach)
    if slope == 0.0:
        whole, w1 = _weight(offset)
        for y in range(h):
            a, b = index[y + whole + reach], index[y + whole + 1 + reach]
            _blend(src[a].reshape(-1), src[b].reshape(-1), dst[y].reshape(-1), w1)
        return
    wholes, w1s = np.empty(w, np.int64), np.empty(w, np.int64)
    for x in range(w):
        wholes[x], w1s[x] = _weight(offset + slope * x)
    for y in range(h):  # rows outermost: memory order
        for x in range(w):
            a, b = index[y + wholes[x] + reach], index[y + wholes[x] + 1 + reach]
            for k in range(c):
                dst[y, x, k] = (
                    np.int32(src[a, x, k]) * (256 - w1s[x]) + np.int32(src[b, x, k]) * w1s[x] + 128
                ) >> 8


@njit(**_JIT)
def _point_table(op, hist, p0, p1, table):
    """The float table of point-wise op `op` (an index into OPS) on an image with histogram `hist`."""
    if op == 0:
        _auto_contrast(hist, table)
    elif op == 1:
        _equalize(hist, table)
    elif op == 2:
        _solarize(table, p0, p1)
    elif op == 4:
        _contrast(hist, table, p0)
    else:  # brightness
        for v in range(256):
            table[v, :] = v + p0


@njit(**_JIT)
def _geometric(op, src, dst, p0):
    """Colour (op 3) or a geometric op (6-9): these need every pixel."""
    h, w = src.shape[0], src.shape[1]
    if op == 3:
        _color(src, dst, p0)
    elif op == 6:
        _shift_rows(src, dst, 0.0, p0)
    elif op == 7:
        _shift_columns(src, dst, 0.0, p0)
    elif op == 8:
        _shift_rows(src, dst, -p0 * w, 0.0)
    else:
        _shift_columns(src, dst, -p0 * h, 0.0)


@njit(**_JIT)
def _copy(s, d):
    for j in range(d.shape[0]):
        d[j] = s[j]


@njit(**_JIT)
def _augment(images, ops, p0, p1):
    """Every uint8 image's ops in slot order; ops[i, s] < 0 skips the slot.

    A run of point-wise ops is one composed 256-entry table per channel, applied in one pass
    when a colour or geometric op (or the end) needs the pixels; the statistics an op reads
    (min/max, histogram, mean) come from the image's histogram sent through the table so far.
    Each op's table is rounded to uint8 before composing, so the result equals applying the ops
    one by one on uint8 images."""
    n, h, w, c = images.shape
    out = np.empty_like(images)
    a = np.empty((h, w, c), np.uint8)
    b = np.empty((h, w, c), np.uint8)
    table = np.empty((256, c), np.float64)
    lut = np.empty((256, c), np.uint8)
    hist = np.empty((256, c), np.int64)
    seen = np.empty((256, c), np.int64)
    for i in range(n):
        _copy(images[i].reshape(-1), a.reshape(-1))
        pending = False  # lut holds point-wise ops not yet applied to a
        counted = False  # hist holds a's histogram
        for slot in range(ops.shape[1]):
            op = ops[i, slot]
            if op < 0:
                continue
            if op == 3 or op >= 6:
                if pending:
                    _apply_lut(a, b, lut)
                    a, b = b, a
                    pending = False
                _geometric(op, a, b, p0[i, slot])
                a, b = b, a
                counted = False
                continue
            if not pending:
                for v in range(256):
                    lut[v, :] = v
            if op in (0, 1, 4):  # statistics of the image the run so far makes
                if not counted:
                    _histogram(a, hist)
                    counted = True
                _through(hist, lut, seen)
            _point_table(op, seen, p0[i, slot], p1[i, slot], table)
            for v in range(256):
                for k in range(c):
                    lut[v, k] = _u8(table[lut[v, k], k])
            pending = True
        if pending:
            _apply_lut(a, out[i], lut)
        else:
            _copy(a.reshape(-1), out[i].reshape(-1))
    return out


# ---- random draws ------------------------------------------------------------------------------


def _normal(rng, shape, mean, std, low, high):
    return np.clip(rng.normal(mean, std, shape), low, high)


def sample_params(rng: np.random.Generator, shape, magnitude: float, stddev: float) -> dict:
    """Every op's parameters for `shape` (images, slots) draws, as keras-cv samples them."""
    m, s = magnitude, stddev
    sign = np.where(rng.random(shape) > 0.5, -1.0, 1.0)
    return {
        "addition": _normal(
            rng, shape, m * SOLARIZE_MAX_ADDITION, s * SOLARIZE_MAX_ADDITION, 0, SOLARIZE_MAX_ADDITION
        ),
        "threshold": _normal(rng, shape, 255 - m * 255, s * 255, 0, 255),
        "factor_color": _normal(rng, shape, m, s, 0, 1),
        "factor_contrast": rng.uniform(1 - max(m, 1e-3), 1 + max(m, 1e-3), shape),
        "delta": rng.uniform(-m, m, shape) * 255.0,
        "shear": _normal(rng, shape, m, s, 0, 1) * sign,
        "shift": rng.uniform(-m, m, shape),
    }


# The draws each op reads as its (p0, p1), in OPS order (None: no parameter).
_OP_PARAMS = (
    (None, None),
    (None, None),
    ("addition", "threshold"),
    ("factor_color", None),
    ("factor_contrast", None),
    ("delta", None),
    ("shear", None),
    ("shear", None),
    ("shift", None),
    ("shift", None),
)


def _op_arrays(codes: np.ndarray, params: dict):
    """(p0, p1) arrays: each slot's parameters for the op it drew."""
    p0, p1 = np.zeros(codes.shape), np.zeros(codes.shape)
    for code, (first, second) in enumerate(_OP_PARAMS):
        chosen = codes == code
        if first:
            p0[chosen] = params[first][chosen]
        if second:
            p1[chosen] = params[second][chosen]
    return p0, p1


def to_uint8(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(images)


def apply_op(name: str, images: np.ndarray, seed, magnitude: float = 0.32, magnitude_stddev: float = 0.15):
    """Op `name` on every image, with parameters drawn as the RandAugment layer draws them
    (for comparing each op with keras-cv's, and for previews). Float32 out."""
    params = sample_params(np.random.default_rng(seed), (len(images), 1), magnitude, magnitude_stddev)
    codes = np.full((len(images), 1), OPS.index(name))
    return _augment(to_uint8(images), codes, *_op_arrays(codes, params)).astype(np.float32)


def rand_augment_batch(
    images: np.ndarray,
    seed,
    magnitude: float = 0.32,
    magnitude_stddev: float = 0.15,
    augmentations_per_image: int = 5,
    rate: float = 10 / 11,
    geometric: bool = True,
) -> np.ndarray:
    """RandAugment on a 0-255 batch (N, H, W, C), uint8 out; a pure function of (images, seed)."""
    rng = numpy_rng(seed)
    n, slots = len(images), augmentations_per_image
    count = len(OPS) if geometric else 6
    codes = rng.integers(0, count, (n, slots))
    applied = rng.random((n, slots)) <= rate
    params = sample_params(rng, (n, slots), magnitude, magnitude_stddev)
    p0, p1 = _op_arrays(codes, params)
    return _augment(to_uint8(images), np.where(applied, codes, -1), p0, p1)


def rand_augment(images, seed, **kwargs):
    """The same inside a TF graph (tf.data): `seed` is an int64 tensor of shape [2], one a batch.

    stateful=False because the result depends only on the inputs: tf.data may then run map
    calls in parallel even with op determinism on."""
    import tensorflow as tf

    pixels = tf.saturate_cast(tf.round(images), tf.uint8)  # conversions in TF: vectorised, all cores
    out = tf.numpy_function(
        lambda x, s: rand_augment_batch(x, s, **kwargs), [pixels, seed], tf.uint8, stateful=False
    )
    out.set_shape(images.shape)
    return tf.cast(out, images.dtype)


def check_params(
    magnitude: float, magnitude_stddev: float, augmentations_per_image: int, rate: float
) -> None:
    """keras-cv's own argument limits, so a setting valid there is valid here."""
    from kerasexp.errors import UserError

    if not 0.0 <= magnitude <= 1.0:
        raise UserError(f"randaugment magnitude must be in [0, 1], got {magnitude}")
    if not 0.0 <= magnitude_stddev <= 1.0:
        raise UserError(f"randaugment magnitude_stddev must be in [0, 1], got {magnitude_stddev}")
    if not (isinstance(augmentations_per_image, int) and augmentations_per_image >= 1):
        raise UserError(
            f"randaugment augmentations_per_image must be a positive integer, got {augmentations_per_image!r}"
        )
    if not 0.0 <= rate <= 1.0:
        raise UserError(f"randaugment rate must be in [0, 1], got {rate}")
