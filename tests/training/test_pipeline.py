"""make_dataset's index shuffle and what train() leaves behind (issue 3's throughput work)."""

import gc
import weakref

import numpy as np
import tensorflow as tf

from kerasexp.models import create_model
from kerasexp.config import TrainConfig
from kerasexp.training.loop import make_dataset, seed_everything, train


def test_index_shuffle_gives_the_order_of_shuffling_the_images():
    """Shuffling indices instead of images keeps every seeded run's batches (and numbers)."""
    x = np.random.default_rng(0).integers(0, 256, (300, 2, 2, 1), dtype=np.uint8)
    y = np.arange(300) % 7
    ours = make_dataset(x, y, 7, batch_size=64, shuffle=True, seed=3)
    images = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(300, seed=3, reshuffle_each_iteration=True)
    for epoch in range(2):  # a new order each epoch, the same one both ways
        expected = np.concatenate([b[0].numpy() for b in images.batch(64)])
        got = np.concatenate([b[0].numpy() for b in ours])
        np.testing.assert_array_equal(got, expected.astype("float32"))
    labels = np.concatenate([b[1].numpy() for b in ours]).argmax(1)
    np.testing.assert_array_equal(labels, np.concatenate([b[1].numpy() for b in images.batch(64)]))


def test_train_keeps_no_reference_to_the_model(fashion_2000):
    """k-fold runs and in-process studies call train() many times: the model (its variables,
    optimizer, traced steps and datasets) must be collectable once the caller drops it."""
    seed_everything(0)
    model = create_model("baseline", fashion_2000.input_shape, fashion_2000.num_classes)
    train(model, fashion_2000, TrainConfig(epochs=1, batch_size=256))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
