"""The tf.data input pipeline of the training loop: uint8 images and labels to batches whose order
and augmentation seeds are functions of (seed, epoch, batch) only, so a resumed run sees the
batches an uninterrupted one sees."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    weights: np.ndarray | None = None,
    augment: Callable | None = None,
    whole_batches: bool = False,
    epoch: int | Callable[[], int] = 0,
) -> tf.data.Dataset:
    """uint8 images and int labels -> batches of (float32 0-255 images, one-hot labels[, weights]).

    One pass over the images a iteration, for the epoch `epoch` (an int, or a function the loop
    points at its epoch counter, read each time an iteration starts). With `shuffle` the order is a
    permutation seeded by (seed, epoch), and each batch's augmentation seed is (seed, epoch) folded
    with the batch's number: functions of where the batch is in the run, never of how many epochs
    this process ran before, so a run resumed at epoch k sees exactly the batches an uninterrupted
    run sees from epoch k on. Casting and one-hot happen after batching (one vectorised op a
    batch). `augment(images, labels[, seed]) -> (images, labels)` runs on batches; per-class
    `weights` become per-sample weights y @ w after it, so mixed labels are weighted by their mix.
    `whole_batches` drops a last short batch: under a MirroredStrategy TF fails on one split
    unevenly over the replicas (AddN shapes), so there training and validation leave out the last
    len % batch_size images.
    """
    n = len(x)
    seed = tf.constant(seed, tf.int64)

    def epoch_batches(epoch):
        key = tf.stack([seed, epoch])
        # Shuffle indices, not images: a batch is one gather, the data is never copied.
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.gather(order, tf.argsort(tf.random.stateless_uniform([n], seed=key)))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=whole_batches)
        return batches.enumerate().map(
            lambda i, indices: (indices, tf.random.experimental.stateless_fold_in(key, i))
        )

    if callable(epoch):

        def current_epoch(_):
            value = tf.py_function(lambda: np.int64(epoch()), [], tf.int64)
            value.set_shape([])
            return value

        epochs = tf.data.Dataset.range(1).map(current_epoch)
    else:
        epochs = tf.data.Dataset.from_tensors(tf.constant(epoch, tf.int64))
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()

    def gather_batch(batch, arrays):
        (indices, batch_seed), (images, labels) = batch, arrays
        images = tf.cast(tf.gather(images, indices), tf.float32)
        return images, tf.one_hot(tf.gather(labels, indices), num_classes), batch_seed

    batches = n // batch_size if whole_batches else -(-n // batch_size)
    ds = tf.data.Dataset.zip(epochs.flat_map(epoch_batches), arrays).map(
        gather_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))  # Keras knows an epoch's steps up front
    if augment is not None and getattr(augment, "takes_seed", False):
        # Stateless policies (kerasexp.augment.compose) get the batch's seed.
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    elif augment is not None:
        ds = ds.map(
            lambda images, labels, _: augment(images, labels),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    else:
        ds = ds.map(lambda images, labels, _: (images, labels))
    if weights is not None:
        w = tf.constant(weights, tf.float32)
        ds = ds.map(lambda images, labels: (images, labels, tf.linalg.matvec(labels, w)))
    return ds.prefetch(tf.data.AUTOTUNE).with_options(PIPELINE_OPTIONS)


def _pipeline_options() -> tf.data.Options:
    """tf.data's autotuner off: on few cores its background tuning stalled whole epochs of the
    training steps (a core left idle; `kerasexp bench train` shows it). Without it the AUTOTUNE'd
    maps run one call per core and prefetch a batch ahead, which keeps these in-memory pipelines
    ahead of the model."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


PIPELINE_OPTIONS = _pipeline_options()
