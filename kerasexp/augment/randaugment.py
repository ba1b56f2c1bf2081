"""Batched RandAugment with keras-cv 0.9's operation set and meaning of ``magnitude``.

keras-cv's ``RandAugment`` picks an independent op sequence for every image but
does so by running a ``tf.map_fn`` over the batch with a ``tf.switch_case`` per
op slot, which is slow on CPU (a few hundred 96x96 images/s).  Keras'
``keras.layers.RandAugment`` is fast but applies one op sequence to the whole
batch.  This module keeps keras-cv's per-image semantics and computes every op
slot for the whole batch at once:

* the five point-wise colour ops (auto_contrast, solarize, color, contrast,
  brightness) are all written as ``clip(a * x + g * gray + t)`` with per-image,
  per-channel ``a``, ``g``, ``t`` (identity for images that draw another op),
  followed by solarize's threshold (``+inf`` for images that do not solarize);
* equalize runs only on the images that drew it (gather / scatter);
* the four geometric ops (shear_x/y, translate_x/y) are one batched
  ``ImageProjectiveTransformV3`` call with a per-image matrix, again only on the
  images that drew one of them.

All randomness comes from TF stateless random ops keyed by a ``[2]`` integer
seed, so ``rand_augment(images, seed)`` is a pure function of its inputs; the
``FastRandAugment`` layer draws a fresh seed per call from a
``tf.random.Generator`` so batches and epochs differ.

Magnitude mapping (identical to ``keras_cv.layers.RandAugment.get_standard_policy``
with ``m = magnitude`` and ``s = magnitude_stddev``; ``N`` is a normal draw
clipped to the given interval, ``U`` a uniform draw; all per image and op slot):

=============  ==============================================================
auto_contrast  per-channel min/max stretch to 0..255 (no magnitude)
equalize       per-channel 256-bin histogram equalisation (no magnitude)
solarize       add ``N(110m, 110s)`` clipped to [0, 110], clip to 0..255, then
               invert pixels >= threshold ``N(255 - 255m, 255s)`` in [0, 255]
color          blend towards grayscale by ``N(m, s)`` clipped to [0, 1]
contrast       ``(x - mean) * U(1 - m', 1 + m') + mean``, ``m' = max(m, 1e-3)``
               (``s`` is ignored, as in keras-cv)
brightness     add ``U(-m, m) * 255`` (``s`` ignored)
shear_x/y      shear by ``+-N(m, s)`` clipped to [0, 1], random sign, about the
               top-left corner (keras-cv's matrix), reflect fill, bilinear
translate_x/y  shift by ``U(-m, m)`` times width/height (``s`` ignored), reflect
               fill, bilinear
=============  ==============================================================

Each of the ``augmentations_per_image`` slots is applied with probability
``rate`` (keras-cv skips a slot when ``uniform > rate``) and then picks one of
the ops uniformly.
"""

from __future__ import annotations

import keras
import tensorflow as tf

OP_NAMES = (
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
"""Op indices, in the order of keras-cv's ``RandAugment.get_standard_policy`` layer list."""

AUTO_CONTRAST, EQUALIZE, SOLARIZE, COLOR, CONTRAST, BRIGHTNESS = range(6)
SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y = range(6, 10)
NUM_COLOR_OPS = 6
SKIPPED = -1

# tf.image.rgb_to_grayscale's weights (used by keras-cv's RandomColorDegeneration).
_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)
_SOLARIZE_MAX_ADDITION = 110.0


def _check_args(magnitude, magnitude_stddev, rate, augmentations_per_image, value_range):
    """Same argument checks as keras-cv, so a config valid there is valid here."""
    if not 0.0 <= magnitude <= 1.0:
        raise ValueError(f"`magnitude` must be in the range [0, 1], got {magnitude!r}")
    if not 0.0 <= magnitude_stddev <= 1.0:
        raise ValueError(f"`magnitude_stddev` must be in the range [0, 1], got {magnitude_stddev!r}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"`rate` must be in the range [0, 1], got {rate!r}")
    if int(augmentations_per_image) != augmentations_per_image or augmentations_per_image < 0:
        raise ValueError(f"`augmentations_per_image` must be a non-negative int, got {augmentations_per_image!r}")
    if len(value_range) != 2 or not value_range[0] < value_range[1]:
        raise ValueError(f"`value_range` must be (low, high) with low < high, got {value_range!r}")


def _as_seed(seed) -> tf.Tensor:
    """Accept an int, a scalar tensor or a ``[2]`` tensor; stateless ops want ``[2]`` int64."""
    if isinstance(seed, int):
        return tf.constant([seed, 0], tf.int64)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    if seed.shape.rank == 0:
        return tf.stack([seed, tf.zeros_like(seed)])
    return tf.reshape(seed, [2])


def sample_plan(
    batch_size,
    seed,
    augmentations_per_image: int = 5,
    rate: float = 10 / 11,
    magnitude: float = 0.32,
    magnitude_stddev: float = 0.15,
    geometric: bool = True,
) -> dict:
    """Draw every random choice of a batch up front, as ``[slots, batch]`` tensors.

    Returned keys: ``ops`` (int32 op index into ``OP_NAMES`` or ``SKIPPED``) and the
    per-image parameters ``clipped_normal`` (``N(m, s)`` clipped to [0, 1]: colour
    factor and shear size), ``normal_a``/``normal_b`` (raw standard normals used by
    solarize), ``uniform`` (``U(-1, 1)``: contrast, brightness, translation) and
    ``sign`` (+-1: shear direction).  Ops in one slot are exclusive per image, so
    one draw of each kind serves whichever op the image picked.  Exposed so tests
    can check that images get different op sequences.
    """
    seed = _as_seed(seed)
    n = int(augmentations_per_image)
    num_ops = len(OP_NAMES) if geometric else NUM_COLOR_OPS
    shape = tf.stack([tf.constant(n), tf.cast(batch_size, tf.int32)])
    seeds = tf.random.experimental.stateless_split(seed, num=7)
    apply = tf.random.stateless_uniform(shape, seeds[0]) <= rate
    ops = tf.random.stateless_uniform(shape, seeds[1], minval=0, maxval=num_ops, dtype=tf.int32)
    normal_a = tf.random.stateless_normal(shape, seeds[2])
    normal_b = tf.random.stateless_normal(shape, seeds[3])
    uniform = tf.random.stateless_uniform(shape, seeds[4], minval=-1.0, maxval=1.0)
    sign = tf.where(tf.random.stateless_uniform(shape, seeds[5]) > 0.5, -1.0, 1.0)
    return {
        "ops": tf.where(apply, ops, SKIPPED),
        "clipped_normal": tf.clip_by_value(magnitude + magnitude_stddev * normal_a, 0.0, 1.0),
        "normal_a": normal_a,
        "normal_b": normal_b,
        "uniform": uniform,
        "sign": sign,
    }


def _equalize(x: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """keras-cv's Equalization (bins=256) of the 0..255 images ``x[index]``.

    Like keras-cv, values are truncated to int, ``step`` uses the smallest
    non-zero bin (PIL uses the last one) and a channel with ``step == 0`` is
    returned unchanged (but truncated).  Histograms of all images and channels
    come from one segment sum over offset indices (XLA-compatible, unlike
    ``bincount``); the cumulative sum is a matmul with a triangular matrix,
    exact for counts below 2**24, because XLA would otherwise fuse a
    ``cumsum`` into the lookup gather and redo it for every pixel.
    """
    images = tf.gather(x, index)
    shape = tf.shape(images)
    n, channels = shape[0], shape[3]
    values = tf.clip_by_value(tf.cast(images, tf.int32), 0, 255)
    offsets = tf.reshape(tf.range(n * channels) * 256, tf.stack([n, 1, 1, channels]))
    flat = tf.reshape(values + offsets, [-1])
    hist = tf.math.unsorted_segment_sum(tf.ones_like(flat), flat, n * channels * 256)
    hist = tf.reshape(hist, tf.stack([n * channels, 256]))
    nonzero_min = tf.reduce_min(tf.where(hist == 0, tf.int32.max, hist), axis=-1, keepdims=True)
    step = (tf.reduce_sum(hist, axis=-1, keepdims=True) - nonzero_min) // 255
    safe_step = tf.maximum(step, 1)
    # keras-cv: lut = (cumsum + step // 2) // step, shifted right by one with a
    # leading 0, i.e. the same formula on the exclusive cumulative sum.
    exclusive = tf.linalg.band_part(tf.ones([256, 256], tf.float32), 0, -1) - tf.eye(256)
    cdf = tf.cast(tf.matmul(tf.cast(hist, tf.float32), exclusive), tf.int32)
    lut = tf.clip_by_value((cdf + safe_step // 2) // safe_step, 0, 255)
    lut = tf.where(step == 0, tf.range(256)[tf.newaxis, :], lut)
    out = tf.gather(tf.reshape(tf.cast(lut, x.dtype), [-1]), flat)
    return tf.reshape(out, shape)


def _channel_stats(x: tf.Tensor):
    """Per image and channel min, max and mean, as ``[B, 1, 1, C]``.

    Reduced in two stages (over rows of ``W * C`` values first, then over
    pixels) because a direct reduction over axes (1, 2) of a channels-last
    tensor is strided and ~7x slower on CPU.
    """
    shape = tf.shape(x)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    rows = tf.reshape(x, tf.stack([batch, height, width * channels]))
    per_pixel = tf.stack([batch, width, channels])
    low = tf.reduce_min(tf.reshape(tf.reduce_min(rows, axis=1), per_pixel), axis=1)
    high = tf.reduce_max(tf.reshape(tf.reduce_max(rows, axis=1), per_pixel), axis=1)
    total = tf.reduce_sum(tf.reshape(tf.reduce_sum(rows, axis=1), per_pixel), axis=1)
    mean = total / tf.cast(height * width, x.dtype)
    as4 = tf.stack([batch, 1, 1, channels])
    return tf.reshape(low, as4), tf.reshape(high, as4), tf.reshape(mean, as4)


def _pick(y, subset, mask):
    """``y`` with image ``b`` replaced by ``subset[k]`` where ``mask[b]`` is the k-th True.

    ``subset`` lists the images of ``tf.where(mask)`` in order (plus padding),
    so a cumulative sum gives each image its row; gather + select fuse into the
    output pass under XLA, where a scatter would copy the batch.
    """
    position = tf.maximum(tf.cumsum(tf.cast(mask, tf.int32)) - 1, 0)
    return tf.where(tf.reshape(mask, [-1, 1, 1, 1]), tf.gather(subset, position), y)


def _pointwise_math(
    x, ops, clipped_normal, normal_a, normal_b, uniform, warped, equalized, magnitude, magnitude_stddev
):
    """One op slot's output: the five colour ops for the whole batch, plus the subsets.

    Every image computes ``clip(a * x + g * gray + t)`` and then solarize's
    inversion above a threshold, with per-image ``a``, ``g``, ``t`` and threshold
    chosen so that images that drew another op (or none) come out unchanged;
    images that drew a geometric op or equalize take their row of ``warped`` /
    ``equalized`` (``warped=None``: no geometric ops).  Written for XLA, which
    fuses it into one pass plus one for the statistics.
    """
    m = float(magnitude)
    s = float(magnitude_stddev)

    def per_image(v):
        return tf.reshape(v, [-1, 1, 1, 1])

    def is_op(k):
        return per_image(ops == k)

    low, high, mean = _channel_stats(x)
    # auto_contrast: keras-cv's NaN guard leaves a flat channel (high == low) unchanged.
    stretch = high > low
    ac_scale = tf.where(stretch, 255.0 / tf.where(stretch, high - low, 1.0), 1.0)
    ac_offset = tf.where(stretch, -low * ac_scale, 0.0)
    contrast = per_image(1.0 + max(m, 0.001) * uniform)
    color = per_image(clipped_normal)
    solar_add = per_image(
        tf.clip_by_value(_SOLARIZE_MAX_ADDITION * (m + s * normal_a), 0.0, _SOLARIZE_MAX_ADDITION)
    )
    solar_threshold = per_image(tf.clip_by_value(255.0 - 255.0 * m + 255.0 * s * normal_b, 0.0, 255.0))
    brightness = per_image(m * uniform * 255.0)

    scale = tf.where(
        is_op(AUTO_CONTRAST), ac_scale, tf.where(is_op(CONTRAST), contrast, tf.where(is_op(COLOR), 1.0 - color, 1.0))
    )
    offset = tf.where(
        is_op(AUTO_CONTRAST),
        ac_offset,
        tf.where(
            is_op(CONTRAST),
            (1.0 - contrast) * mean,
            tf.where(is_op(BRIGHTNESS), brightness, tf.where(is_op(SOLARIZE), solar_add, 0.0)),
        ),
    )
    gray_weight = tf.where(is_op(COLOR), color, 0.0)
    threshold = tf.where(is_op(SOLARIZE), solar_threshold, float("inf"))
    gray = x[..., 0:1] * _GRAY_WEIGHTS[0] + x[..., 1:2] * _GRAY_WEIGHTS[1] + x[..., 2:3] * _GRAY_WEIGHTS[2]
    y = tf.clip_by_value(scale * x + gray_weight * gray + offset, 0.0, 255.0)
    y = tf.where(y < threshold, y, 255.0 - y)
    if warped is not None:
        y = _pick(y, warped, ops >= SHEAR_X)
    return _pick(y, equalized, ops == EQUALIZE)


def _reflect_index(k, length):
    """Index into a signal extended by reflection about its edges (``dcba|abcd|dcba``).

    ``k`` and ``length`` are integer-valued floats: float floor-division
    vectorises on CPU, integer modulo does not (it was most of the warp's time).
    """
    period = 2.0 * length
    k = k - period * tf.floor(k / period)
    return tf.where(k < length, k, period - 1.0 - k)


def _warp_math(x, index, ops, clipped_normal, uniform, sign, magnitude):
    """shear_x/y and translate_x/y of images ``x[index]``, each by its own op.

    Matches ``ImageProjectiveTransformV3(fill_mode="REFLECT",
    interpolation="BILINEAR")`` with keras-cv's matrices: output pixel
    ``(x, y)`` reads input ``(x + s*y - dx, y + s*x - dy)``.  Each op moves
    pixels along one axis, so bilinear needs two taps along it; and REFLECT
    mirrors the pixel lattice onto itself, so those taps are neighbours in the
    reflected signal: one gather of an ``(H+1) x (W+1)`` grid gives both (the
    second is the first shifted by one).  About 5x faster than the TF kernel.
    """
    shape = tf.shape(x)
    height, width = shape[1], shape[2]
    m = float(magnitude)
    ops = tf.gather(ops, index)
    shear = tf.gather(clipped_normal, index) * tf.gather(sign, index)
    shift = m * tf.gather(uniform, index)
    along_x = tf.logical_or(ops == SHEAR_X, ops == TRANSLATE_X)
    slope = tf.where(ops == SHEAR_X, shear, tf.where(ops == SHEAR_Y, shear, 0.0))
    length = tf.where(along_x, tf.cast(width, tf.float32), tf.cast(height, tf.float32))
    offset = tf.where(
        tf.logical_or(ops == TRANSLATE_X, ops == TRANSLATE_Y), -shift * length, tf.zeros_like(shift)
    )

    def per_image(v):
        return tf.reshape(v, [-1, 1, 1])

    rows = tf.range(height + 1)[tf.newaxis, :, tf.newaxis]
    cols = tf.range(width + 1)[tf.newaxis, tf.newaxis, :]
    moving_x = per_image(along_x)
    # Coordinate along the moving axis; the other coordinate is the output's own.
    along = tf.where(moving_x, cols, rows)
    across = tf.where(moving_x, rows, cols)
    coord = tf.cast(along, tf.float32) + per_image(slope) * tf.cast(across, tf.float32) + per_image(offset)
    base = tf.floor(coord)
    weight = (coord - base)[:, :-1, :-1, tf.newaxis]
    moved = tf.cast(
        _reflect_index(base, tf.cast(tf.where(moving_x, width, height), tf.float32)), tf.int32
    )
    src_x = tf.where(moving_x, moved, tf.minimum(cols, width - 1))
    src_y = tf.where(moving_x, tf.minimum(rows, height - 1), moved)
    pixels = tf.reshape(x, tf.stack([-1, shape[3]]))
    taps = tf.gather(pixels, tf.reshape((per_image(index) * height + src_y) * width + src_x, [-1]))
    taps = tf.reshape(taps, tf.stack([-1, height + 1, width + 1, shape[3]]))
    low = taps[:, :-1, :-1]
    high = tf.where(per_image(along_x)[..., tf.newaxis], taps[:, :-1, 1:], taps[:, 1:, :-1])
    return (1.0 - weight) * low + weight * high


_COMPILED: dict = {}


def _compiled(fn, jit_compile: bool):
    """``fn`` as a ``tf.function``, XLA-compiled when ``jit_compile``; built once.

    XLA fuses the dozens of element-wise ops of a slot into a few passes (about
    5x faster on CPU than TF's kernels) and works inside ``tf.data`` map
    functions.  The three parts of a slot are separate programs so that the
    subsets are materialised once (fused into the output pass, XLA would
    recompute them for every image).  ``jit_compile=False`` runs the same ops
    with plain TF kernels.
    """
    key = (fn.__name__, bool(jit_compile))
    if key not in _COMPILED:
        _COMPILED[key] = tf.function(fn, jit_compile=bool(jit_compile), reduce_retracing=True)
    return _COMPILED[key]


def _subset(mask, bucket: int):
    """Indices where ``mask`` is True, padded with 0 to a non-zero multiple of ``bucket``.

    XLA compiles one program per input shape; padding the subsets bounds the
    number of shapes (so of compilations) while wasting little work.
    """
    index = tf.cast(tf.where(mask)[:, 0], tf.int32)
    n = tf.shape(index)[0]
    padded = tf.maximum((n + bucket - 1) // bucket, 1) * bucket
    return tf.concat([index, tf.zeros([padded - n], tf.int32)], axis=0)


def _apply_slot(
    x: tf.Tensor,
    plan: dict,
    i: int,
    magnitude: float,
    magnitude_stddev: float,
    geometric: bool = True,
    jit_compile: bool = True,
    bucket: int = 8,
) -> tf.Tensor:
    """Apply op slot ``i`` of ``plan`` (one op or none per image) to a 0..255 batch.

    The geometric ops and equalize run only on the images that drew them (read
    from the slot's input); the colour ops run on the whole batch and the
    output pass picks each image's result.
    """
    ops = plan["ops"][i]
    clipped_normal = plan["clipped_normal"][i]
    uniform = plan["uniform"][i]
    warped = None
    if geometric:
        warped = _compiled(_warp_math, jit_compile)(
            x, _subset(ops >= SHEAR_X, bucket), ops, clipped_normal, uniform, plan["sign"][i], magnitude
        )
    equalized = _compiled(_equalize, jit_compile)(x, _subset(ops == EQUALIZE, bucket))
    return _compiled(_pointwise_math, jit_compile)(
        x,
        ops,
        clipped_normal,
        plan["normal_a"][i],
        plan["normal_b"][i],
        uniform,
        warped,
        equalized,
        magnitude,
        magnitude_stddev,
    )


def _to_unit_range(images, value_range):
    low, high = float(value_range[0]), float(value_range[1])
    if (low, high) == (0.0, 255.0):
        return images
    return (images - low) * (255.0 / (high - low))


def _from_unit_range(images, value_range):
    low, high = float(value_range[0]), float(value_range[1])
    if (low, high) != (0.0, 255.0):
        images = images * ((high - low) / 255.0) + low
    return tf.clip_by_value(images, low, high)


def _run_plan(images, plan, n, value_range, magnitude, magnitude_stddev, geometric=True, jit_compile=True):
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"expected a batch of images [B, H, W, C], got shape {images.shape}")
    if images.shape[-1] is not None and images.shape[-1] != 3:
        raise ValueError(f"RandAugment's color op needs RGB images (3 channels), got shape {images.shape}")
    x = _to_unit_range(tf.cast(images, tf.float32), value_range)
    for i in range(n):
        x = _apply_slot(x, plan, i, magnitude, magnitude_stddev, geometric, jit_compile)
    return _from_unit_range(x, value_range)


def rand_augment(
    images,
    seed,
    magnitude: float = 0.32,
    augmentations_per_image: int = 5,
    magnitude_stddev: float = 0.15,
    rate: float = 10 / 11,
    value_range=(0, 255),
    geometric: bool = True,
    jit_compile: bool = True,
) -> tf.Tensor:
    """RandAugment a batch ``[B, H, W, 3]``: own op sequence per image, batched compute.

    ``seed`` is an int or a ``[2]`` integer tensor; the result is a pure function
    of ``(images, seed)``, so use a different seed per batch (e.g. from
    ``tf.data.Dataset.random`` zipped with the data, or the ``FastRandAugment``
    layer).  Graph-compatible.  Returns float32 in ``value_range`` (clipped).
    Defaults are those of the course report (keras-cv's magnitude 0.32, 5 ops).
    """
    _check_args(magnitude, magnitude_stddev, rate, augmentations_per_image, value_range)
    images = tf.convert_to_tensor(images)
    plan = sample_plan(
        tf.shape(images)[0], seed, augmentations_per_image, rate, magnitude, magnitude_stddev, geometric
    )
    return _run_plan(
        images, plan, int(augmentations_per_image), value_range, magnitude, magnitude_stddev, geometric, jit_compile
    )


def apply_op(
    images,
    op: str,
    seed,
    magnitude: float = 0.32,
    magnitude_stddev: float = 0.15,
    value_range=(0, 255),
    jit_compile: bool = True,
) -> tf.Tensor:
    """Apply the single op ``op`` (a name in ``OP_NAMES``) to every image, with per-image draws.

    The same code path as ``rand_augment`` with the op forced; meant for
    comparing each op with the matching keras-cv layer.
    """
    if op not in OP_NAMES:
        raise ValueError(f"unknown op {op!r}; expected one of {OP_NAMES}")
    _check_args(magnitude, magnitude_stddev, 1.0, 1, value_range)
    images = tf.convert_to_tensor(images)
    plan = sample_plan(tf.shape(images)[0], seed, 1, 1.0, magnitude, magnitude_stddev)
    plan["ops"] = tf.fill(tf.shape(plan["ops"]), OP_NAMES.index(op))
    return _run_plan(images, plan, 1, value_range, magnitude, magnitude_stddev, True, jit_compile)


class FastRandAugment(keras.layers.Layer):
    """keras-cv-compatible RandAugment that runs batched (≥10x faster on CPU).

    Same arguments, defaults and per-image op semantics as
    ``keras_cv.layers.RandAugment`` (``magnitude`` default here is the course
    report's 0.32; ``augmentations_per_image`` 5).  Each call draws a new seed
    from a ``tf.random.Generator`` seeded by ``seed`` and hands it to
    ``rand_augment``, so it works eagerly and inside ``tf.data.Dataset.map`` and
    gives new draws on every batch and epoch.  With ``seed`` set, a fresh layer
    reproduces the same sequence of batches when called in the same order (a
    parallel ``map`` may hand the seeds to batches in a different order; use
    ``rand_augment`` with per-element seeds for exact reproducibility there).
    With ``training=False`` images pass through (cast to float32).
    """

    def __init__(
        self,
        value_range=(0, 255),
        magnitude: float = 0.32,
        augmentations_per_image: int = 5,
        magnitude_stddev: float = 0.15,
        rate: float = 10 / 11,
        seed: int | None = None,
        geometric: bool = True,
        jit_compile: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_args(magnitude, magnitude_stddev, rate, augmentations_per_image, value_range)
        self.value_range = tuple(value_range)
        self.magnitude = float(magnitude)
        self.augmentations_per_image = int(augmentations_per_image)
        self.magnitude_stddev = float(magnitude_stddev)
        self.rate = float(rate)
        self.seed = seed
        self.geometric = bool(geometric)
        self.jit_compile = bool(jit_compile)
        if seed is None:
            self._generator = tf.random.Generator.from_non_deterministic_state()
        else:
            self._generator = tf.random.Generator.from_seed(int(seed))
        self.supports_masking = False

    def call(self, images, training=True):
        images = tf.convert_to_tensor(images)
        if not training:
            return tf.cast(images, tf.float32)
        unbatched = images.shape.rank == 3
        if unbatched:
            images = images[tf.newaxis]
        seed = self._generator.make_seeds(1)[:, 0]
        out = rand_augment(
            images,
            seed,
            magnitude=self.magnitude,
            augmentations_per_image=self.augmentations_per_image,
            magnitude_stddev=self.magnitude_stddev,
            rate=self.rate,
            value_range=self.value_range,
            geometric=self.geometric,
            jit_compile=self.jit_compile,
        )
        return out[0] if unbatched else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "value_range": self.value_range,
                "magnitude": self.magnitude,
                "augmentations_per_image": self.augmentations_per_image,
                "magnitude_stddev": self.magnitude_stddev,
                "rate": self.rate,
                "seed": self.seed,
                "geometric": self.geometric,
                "jit_compile": self.jit_compile,
            }
        )
        return config
