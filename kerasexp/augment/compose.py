"""Seeded batch functions and their composition.

A *seeded* batch function takes `(images, labels, seed)`, where `seed` is an int64 tensor of
shape [2] that `train.make_dataset` draws from `tf.data.Dataset.random(training seed)`: one a
batch, new every epoch. Its randomness comes from stateless TF ops (or NumPy generators
seeded from it inside `tf.numpy_function`), so it is never frozen at trace time, a seed fixes
the result, and tf.data can run it in parallel even with op determinism on (a stateful
random op in a map makes TF run that map serially, and a Keras SeedGenerator variable turns
off prefetching as well)."""

from __future__ import annotations

from collections.abc import Callable


def seeded(fn: Callable) -> Callable:
    """Mark `fn(images, labels, seed)` as wanting a per-batch seed."""
    fn.takes_seed = True
    return fn


def takes_seed(fn) -> bool:
    return bool(getattr(fn, "takes_seed", False))


def compose(functions: list[Callable]) -> Callable:
    """Apply batch functions in order; each seeded one gets its own seed split from the batch's."""
    import tensorflow as tf

    @seeded
    def apply(images, labels, seed):
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=len(functions))
        for i, fn in enumerate(functions):
            images, labels = fn(images, labels, seeds[i]) if takes_seed(fn) else fn(images, labels)
        return images, labels

    return apply


def apply_to_batch(fn: Callable, images, labels, seed: int = 0):
    """Run a batch function once, outside tf.data (previews, tests): seeded ones get [seed, 0]."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    labels = tf.convert_to_tensor(labels, tf.float32)
    if takes_seed(fn):
        return fn(images, labels, tf.constant([seed, 0], tf.int64))
    return fn(images, labels)


def numpy_rng(seed):
    """A NumPy generator from a batch seed (any int64 values) inside tf.numpy_function."""
    import numpy as np

    return np.random.default_rng(np.asarray(seed, np.int64).view(np.uint64).tolist())
