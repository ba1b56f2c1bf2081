"""The reports' per-image augmentation policies, as seeded batch functions for tf.data
(float32 0-255 images, one-hot labels; see augment_compose). Each factory takes `seed` (unused:
the per-batch seed comes from the pipeline) and the policy's parameters, checked at build time.

Geometric parts are one projective transform a batch with a matrix per image (flip, rotation,
shift and crop composed), so an image pays for one resampling whatever the policy combines.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from kerasexp.augment.compose import numpy_rng, seeded
from kerasexp.errors import UserError


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def _uniform(seed, shape, low=0.0, high=1.0):
    return tf.random.stateless_uniform(shape, seed, low, high)


def _seeds(seed, n: int):
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=n))


# ---- geometry: 3x3 matrices mapping output pixel (x, y, 1) to input coordinates -------------


def _matrix(rows) -> tf.Tensor:
    """[B] tensors a entry, row-major 3x3 -> [B, 3, 3]."""
    return tf.reshape(tf.stack(rows, axis=-1), [-1, 3, 3])


def _translation(dx, dy):
    one, zero = tf.ones_like(dx), tf.zeros_like(dx)
    return _matrix([one, zero, dx, zero, one, dy, zero, zero, one])


def _scale(sx, sy):
    one, zero = tf.ones_like(sx), tf.zeros_like(sx)
    return _matrix([sx, zero, zero, zero, sy, zero, zero, zero, one])


def _rotation(angles):
    c, s = tf.cos(angles), tf.sin(angles)
    one, zero = tf.ones_like(c), tf.zeros_like(c)
    return _matrix([c, -s, zero, s, c, zero, zero, zero, one])


def _about_center(m, height, width):
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    n = tf.shape(m)[0]
    to = _translation(tf.fill([n], cx), tf.fill([n], cy))
    back = _translation(tf.fill([n], -cx), tf.fill([n], -cy))
    return to @ m @ back


def _flips(flip_x, flip_y):
    """Per-image mirror matrices (about the centre) from boolean draws."""
    return _scale(tf.where(flip_x, -1.0, 1.0), tf.where(flip_y, -1.0, 1.0))


def warp(images, matrices, fill_mode: str = "constant", interpolation: str = "bilinear"):
    """Resample every image with its own output->input matrix (TF's projective transform)."""
    flat = tf.reshape(matrices, [-1, 9])[:, :8]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=flat,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        fill_mode=fill_mode.upper(),
        interpolation=interpolation.upper(),
    )


# ---- colour -------------------------------------------------------------------------------


def _gray(images):
    if images.shape[-1] == 3:
        return tf.image.rgb_to_grayscale(images)
    return images


def jitter_colours(images, seed, brightness: float, contrast: float, saturation: float, active=None):
    """torchvision's ColorJitter (brightness, contrast, saturation; in that order) per image;
    `active` (bool [B]) limits it to some images."""
    n = tf.shape(images)[0]
    sb, sc, ss = _seeds(seed, 3)
    factors = [
        _uniform(s, [n, 1, 1, 1], 1 - v, 1 + v)
        for s, v in ((sb, brightness), (sc, contrast), (ss, saturation))
    ]
    if active is not None:
        factors = [tf.where(active[:, None, None, None], f, 1.0) for f in factors]
    b, c, s = factors
    images = tf.clip_by_value(images * b, 0, 255)
    mean = tf.reduce_mean(_gray(images), axis=[1, 2, 3], keepdims=True)
    images = tf.clip_by_value(c * images + (1 - c) * mean, 0, 255)
    return tf.clip_by_value(s * images + (1 - s) * _gray(images), 0, 255)


# ---- policies -----------------------------------------------------------------------------


def randaugment(
    seed: int = 0,
    magnitude: float = 0.32,
    magnitude_stddev: float = 0.15,
    augmentations_per_image: int = 5,
    rate: float = 10 / 11,
    geometric: bool = True,
):
    """Fast RandAugment (kerasexp.augment.randaugment): keras-cv's ops and magnitudes, per image.
    Defaults are report 003's setting (magnitude 0.32, 5 ops an image) and keras-cv's."""
    from kerasexp.augment.randaugment import check_params, rand_augment

    check_params(magnitude, magnitude_stddev, augmentations_per_image, rate)
    kwargs = dict(
        magnitude=magnitude,
        magnitude_stddev=magnitude_stddev,
        augmentations_per_image=augmentations_per_image,
        rate=rate,
        geometric=geometric,
    )

    @seeded
    def apply(images, labels, seed):
        return rand_augment(images, seed, **kwargs), labels

    return apply


def keras_cv_random_generator(seed: int = 0) -> None:
    """keras-cv layers take TF's global random generator, which TF refuses to create once op
    determinism is on (our seeded runs); setting it first from the seed keeps them usable and seeded."""
    try:
        tf.random.get_global_generator()
    except RuntimeError:  # "cannot be called if determinism is enabled": TF's public API has no query
        tf.random.set_global_generator(tf.random.Generator.from_seed(seed))


def randaugment_keras_cv(
    seed: int = 0,
    magnitude: float = 0.32,
    magnitude_stddev: float = 0.15,
    augmentations_per_image: int = 5,
    rate: float = 10 / 11,
    geometric: bool = True,
):
    """keras-cv's own RandAugment layer, the reference (image by image, slow: reports/bench_augment.md;
    its random generator is stateful, so with op determinism tf.data runs it serially)."""
    from kerasexp.augment.randaugment import check_params

    check_params(magnitude, magnitude_stddev, augmentations_per_image, rate)
    import keras_cv

    keras_cv_random_generator(seed)
    layer = keras_cv.layers.RandAugment(
        value_range=(0, 255),
        magnitude=magnitude,
        magnitude_stddev=magnitude_stddev,
        augmentations_per_image=augmentations_per_image,
        rate=rate,
        geometric=geometric,
        seed=seed,
    )

    def apply(images, labels):
        return layer(images, training=True), labels

    return apply


def _convert_scale_abs(images, seed, alpha, beta, probability):
    import cv2

    rng = numpy_rng(seed)
    chosen = rng.random(len(images)) < probability
    alphas = rng.uniform(alpha[0], alpha[1], len(images))
    out = np.array(images, np.float32, copy=True)
    for i in np.flatnonzero(chosen):
        out[i] = cv2.convertScaleAbs(images[i], alpha=float(alphas[i]), beta=beta).reshape(images[i].shape)
    return out


def saturation(seed: int = 0, alpha: float | list = 1.5, beta: float = 0.0, probability: float = 1.0):
    """Report 003's OpenCV tweak: `cv2.convertScaleAbs(image, alpha, beta)` (|alpha x + beta|,
    rounded, saturated to 0-255), on each image with `probability`; `alpha = [lo, hi]` draws
    it per image. Runs OpenCV itself, through tf.numpy_function with the batch's seed."""
    alpha = list(alpha) if isinstance(alpha, (list, tuple)) else [alpha, alpha]
    _check(
        len(alpha) == 2 and 0 <= alpha[0] <= alpha[1],
        f"saturation alpha {alpha}: give a number or [low, high]",
    )
    _check(0.0 <= probability <= 1.0, f"saturation probability must be in [0, 1], got {probability}")

    @seeded
    def apply(images, labels, seed):
        out = tf.numpy_function(
            lambda x, s: _convert_scale_abs(x, s, alpha, float(beta), probability),
            [images, seed],
            tf.float32,
            stateful=False,
        )
        out.set_shape(images.shape)
        return out, labels

    return apply


FLIPS = {
    "none": (False, False),
    "horizontal": (True, False),
    "vertical": (False, True),
    "horizontal_and_vertical": (True, True),
}


def _check_flip(flip):
    _check(flip in FLIPS, f"flip {flip!r}: choose one of {', '.join(FLIPS)}")
    return FLIPS[flip]


def rotate_flip_noise(
    seed: int = 0,
    degrees: float = 20.0,
    flip: str = "horizontal_and_vertical",
    noise_variance: float = 0.01,
    fill_mode: str = "constant",
):
    """Report 002's augmentation: a random rotation, flips of the rotated image, and Gaussian
    noise of mean 0 and `noise_variance` on the 0-1 scale (0.01 = std 25.5 of 255). The report
    names no angle (20 degrees here) and discusses vertical flips, so both flips are on."""
    fx, fy = _check_flip(flip)
    _check(degrees >= 0 and noise_variance >= 0, "rotate_flip_noise degrees and noise_variance must be >= 0")
    std = math.sqrt(noise_variance) * 255.0

    @seeded
    def apply(images, labels, seed):
        n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
        s_angle, s_fx, s_fy, s_noise = _seeds(seed, 4)
        angles = _uniform(s_angle, [n], -degrees, degrees) * (math.pi / 180)
        flips = _flips(
            tf.logical_and(fx, _uniform(s_fx, [n]) < 0.5), tf.logical_and(fy, _uniform(s_fy, [n]) < 0.5)
        )
        images = warp(images, _about_center(_rotation(angles) @ flips, h, w), fill_mode)
        noise = tf.random.stateless_normal(tf.shape(images), s_noise, stddev=std)
        return tf.clip_by_value(images + noise, 0, 255), labels

    return apply


def crop_flip(seed: int = 0, padding: int = 4, flip: str = "horizontal"):
    """Report 004's standard augmentation: zero-pad by `padding` pixels, crop back to the size
    at a random offset (an integer shift with zero fill), and a random horizontal flip."""
    fx, fy = _check_flip(flip)
    _check(
        isinstance(padding, int) and padding >= 0,
        f"crop_flip padding must be an integer >= 0, got {padding!r}",
    )

    @seeded
    def apply(images, labels, seed):
        n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
        s_shift, s_fx, s_fy = _seeds(seed, 3)
        shifts = tf.cast(
            tf.random.stateless_uniform([2, n], s_shift, -padding, padding + 1, tf.int32), tf.float32
        )
        flips = _flips(
            tf.logical_and(fx, _uniform(s_fx, [n]) < 0.5), tf.logical_and(fy, _uniform(s_fy, [n]) < 0.5)
        )
        m = _translation(shifts[0], shifts[1]) @ _about_center(flips, h, w)
        return warp(images, m, "constant", "nearest"), labels

    return apply


def cutout(seed: int = 0, size: int = 16, probability: float = 1.0):
    """Cutout (DeVries & Taylor; report 004's strong augmentation): zero a `size` x `size`
    square at a random centre of each image (clipped at the borders). Report 004 names no size;
    16 pixels is the paper's CIFAR setting."""
    _check(isinstance(size, int) and size > 0, f"cutout size must be a positive integer, got {size!r}")
    _check(0.0 <= probability <= 1.0, f"cutout probability must be in [0, 1], got {probability}")

    @seeded
    def apply(images, labels, seed):
        n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
        s_y, s_x, s_p = _seeds(seed, 3)
        cy = tf.random.stateless_uniform([n, 1, 1, 1], s_y, 0, h, tf.int32)
        cx = tf.random.stateless_uniform([n, 1, 1, 1], s_x, 0, w, tf.int32)
        on = tf.reshape(_uniform(s_p, [n]) < probability, [n, 1, 1, 1])
        rows = tf.reshape(tf.range(h), [1, h, 1, 1])
        cols = tf.reshape(tf.range(w), [1, 1, w, 1])
        top, left = cy - size // 2, cx - size // 2
        inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size) & on
        return tf.where(inside, 0.0, images), labels

    return apply


def color_jitter(seed: int = 0, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2):
    """torchvision-style colour jitter (report 000's 0.2 each): brightness and contrast and
    saturation factors drawn from [1 - v, 1 + v] per image."""
    _check(
        all(0 <= v < 1 for v in (brightness, contrast, saturation)), "color_jitter values must be in [0, 1)"
    )

    @seeded
    def apply(images, labels, seed):
        return jitter_colours(images, seed, brightness, contrast, saturation), labels

    return apply


def multicrop(
    seed: int = 0,
    threshold: int = 50,
    scale: list = (0.6, 1.0),
    ratio: list = (3 / 4, 4 / 3),
    degrees: float = 15.0,
    jitter: float = 0.2,
    class_counts=None,
):
    """Report 000's multi-crop for minority classes: images of classes with fewer than
    `threshold` training images get a random resized crop (area `scale`, aspect `ratio`), a
    horizontal flip, a rotation of up to `degrees` and colour jitter; the others only the flip.
    One draw of the crop (clipped to the image) where torchvision retries up to 10 times."""
    _check(
        len(scale) == 2 and 0 < scale[0] <= scale[1] <= 1,
        f"multicrop scale {scale}: need 0 < low <= high <= 1",
    )
    _check(len(ratio) == 2 and 0 < ratio[0] <= ratio[1], f"multicrop ratio {ratio}: need 0 < low <= high")
    counts = np.ones(1) * threshold if class_counts is None else np.asarray(class_counts, np.float64)
    minority = tf.constant(counts < threshold)

    @seeded
    def apply(images, labels, seed):
        n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
        s_area, s_ratio, s_x, s_y, s_flip, s_angle, s_jitter = _seeds(seed, 7)
        small = tf.gather(minority, tf.argmax(labels, axis=-1))
        area = _uniform(s_area, [n], scale[0], scale[1])
        aspect = tf.exp(_uniform(s_ratio, [n], math.log(ratio[0]), math.log(ratio[1])))
        cw = tf.minimum(tf.sqrt(area * aspect), 1.0) * w  # crop size in pixels
        ch = tf.minimum(tf.sqrt(area / aspect), 1.0) * h
        x0 = _uniform(s_x, [n]) * (w - cw)
        y0 = _uniform(s_y, [n]) * (h - ch)
        crop = _translation(x0, y0) @ _scale(cw / w, ch / h)
        angles = _uniform(s_angle, [n], -degrees, degrees) * (math.pi / 180)
        flips = _flips(_uniform(s_flip, [n]) < 0.5, tf.zeros([n], tf.bool))
        identity = tf.eye(3, batch_shape=[n])
        crop = tf.where(small[:, None, None], crop, identity)
        turn = tf.where(small[:, None, None], _rotation(angles), identity)
        m = crop @ _about_center(flips @ turn, h, w)
        images = warp(images, m, "constant")
        return jitter_colours(images, s_jitter, jitter, jitter, jitter, active=small), labels

    return apply


def add_white_noise(images: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """uint8 images plus seeded Gaussian white noise of `std` (0-255 scale), rounded and clipped:
    report 003's corrupted local test set (an evaluation option, not a training policy)."""
    rng = np.random.default_rng(seed)
    noisy = images.astype(np.float32) + rng.normal(0.0, std, images.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(images.dtype)
