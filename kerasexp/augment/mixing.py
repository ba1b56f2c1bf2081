"""Label-mixing policies: mixup (report 000: a batch mixed with probability 0.4), its
class-dependent probability, and cutmix. Seeded batch functions (see augment_compose) on
float32 0-255 images and one-hot labels; mixed labels stay probability vectors.

Keras' own MixUp/CutMix layers draw from a SeedGenerator variable, which under op determinism
makes tf.data run the whole pipeline serially; these draw from the batch's seed instead, one
mixing coefficient and one partner permutation a batch, as report 000's `mixup_data`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasexp.augment.compose import seeded
from kerasexp.errors import UserError


def beta(seed, alpha: float):
    """One Beta(alpha, alpha) draw from a stateless seed (ratio of two gamma draws)."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=2)
    a = tf.random.stateless_gamma([], seeds[0], alpha)
    b = tf.random.stateless_gamma([], seeds[1], alpha)
    return a / (a + b)


def permutation(seed, n):
    return tf.argsort(tf.random.stateless_uniform([n], seed))


def mix(images, labels, lam, perm):
    """lam * (x, y) + (1 - lam) * (x, y)[perm]: each image mixed with its partner perm[i]."""
    lam = tf.cast(lam, images.dtype)
    return (
        lam * images + (1 - lam) * tf.gather(images, perm),
        lam * labels + (1 - lam) * tf.gather(labels, perm),
    )


def class_mixup_probabilities(class_counts, low: float = 0.3, span: float = 0.4) -> np.ndarray:
    """Report 000's per-class mixup probability, low + span * (1 - (count - min) / (max - min)):
    0.7 for the rarest class, 0.3 for the most frequent. All classes equally frequent -> each
    is the rarest (0.7)."""
    counts = np.asarray(class_counts, np.float64)
    spread = counts.max() - counts.min()
    rarity = np.ones_like(counts) if spread == 0 else 1.0 - (counts - counts.min()) / spread
    return low + span * rarity


def batch_mix_probability(labels, probabilities):
    """The mean of the batch's per-image class probabilities (report 000 averaged per batch)."""
    return tf.reduce_mean(tf.linalg.matvec(labels, tf.cast(probabilities, labels.dtype)))


def _check(alpha: float, probability: float | None = None) -> None:
    if not alpha > 0:
        raise UserError(f"mixing alpha must be positive, got {alpha}")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise UserError(f"mixing probability must be in [0, 1], got {probability}")


def _mixup(alpha: float, probability_of):
    @seeded
    def apply(images, labels, seed):
        s_coin, s_lam, s_perm = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
        )
        coin = tf.random.stateless_uniform([], s_coin)
        lam = tf.where(coin < probability_of(labels), beta(s_lam, alpha), 1.0)
        return mix(images, labels, lam, permutation(s_perm, tf.shape(images)[0]))

    return apply


def mixup(seed: int = 0, probability: float = 0.4, alpha: float = 0.4):
    """Mixup of a whole batch with `probability` (report 000: 0.4), lam ~ Beta(alpha, alpha).
    The report's text gives 0.4 both as the probability and, in its summary, as "alpha"."""
    _check(alpha, probability)
    return _mixup(alpha, lambda labels: probability)


def class_mixup(seed: int = 0, alpha: float = 0.4, low: float = 0.3, span: float = 0.4, class_counts=None):
    """Report 000's class-dependent mixup: a batch is mixed with the mean of its images'
    class probabilities (class_mixup_probabilities of the training class counts)."""
    _check(alpha)
    if not (0 <= low and low + span <= 1 and span >= 0):
        raise UserError(f"class_mixup low {low} and span {span}: need 0 <= low <= low + span <= 1")
    probs = class_mixup_probabilities(class_counts if class_counts is not None else [1], low, span)
    table = tf.constant(probs, tf.float32)
    return _mixup(alpha, lambda labels: batch_mix_probability(labels, table))


def cutmix(seed: int = 0, probability: float = 1.0, alpha: float = 1.0):
    """CutMix (Yun et al.): paste a box of the partner image, lam ~ Beta(alpha, alpha) sets its
    area; labels mixed by the area actually pasted (boxes are clipped at the borders)."""
    _check(alpha, probability)

    @seeded
    def apply(images, labels, seed):
        n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
        s_coin, s_lam, s_perm, s_y, s_x = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=5)
        )
        lam = tf.where(tf.random.stateless_uniform([], s_coin) < probability, beta(s_lam, alpha), 1.0)
        cut = tf.sqrt(1.0 - lam)
        ch, cw = tf.cast(cut * h, tf.int32), tf.cast(cut * w, tf.int32)
        cy = tf.random.stateless_uniform([], s_y, 0, h, tf.int32)
        cx = tf.random.stateless_uniform([], s_x, 0, w, tf.int32)
        y0, y1 = tf.maximum(cy - ch // 2, 0), tf.minimum(cy + ch // 2, h)
        x0, x1 = tf.maximum(cx - cw // 2, 0), tf.minimum(cx + cw // 2, w)
        rows, cols = tf.range(h)[None, :, None, None], tf.range(w)[None, None, :, None]
        box = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)
        perm = permutation(s_perm, n)
        pasted = tf.cast((y1 - y0) * (x1 - x0), tf.float32) / float(h * w)
        images = tf.where(box, tf.gather(images, perm), images)
        labels = (1 - pasted) * labels + pasted * tf.gather(labels, perm)
        return images, labels

    return apply
