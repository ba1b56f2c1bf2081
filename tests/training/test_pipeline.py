"""The tf.data input pipeline (kerasexp/training/pipeline.py): its per-epoch index shuffle, casting
and one-hot labels."""

import numpy as np

from kerasexp.training.pipeline import make_dataset


def test_each_epochs_order_depends_on_the_seed_and_the_epoch_only():
    """A run resumed at epoch k gets exactly the batches of the uninterrupted run's epoch k on:
    the order is a permutation seeded by (seed, epoch), never by what ran before."""
    x = np.random.default_rng(0).integers(0, 256, (300, 2, 2, 1), dtype=np.uint8)
    y = np.arange(300) % 7

    def images(ds):
        return np.concatenate([b[0].numpy() for b in ds])

    counter = {"epoch": 0}
    running = make_dataset(x, y, 7, batch_size=64, shuffle=True, seed=3, epoch=lambda: counter["epoch"])
    passes = []
    for epoch in range(3):  # what the loop does: the same dataset, a new pass an epoch
        counter["epoch"] = epoch
        passes.append(images(running))
    for epoch in (1, 2):  # a process that starts at a later epoch
        np.testing.assert_array_equal(
            passes[epoch], images(make_dataset(x, y, 7, 64, True, seed=3, epoch=epoch))
        )
    first, second = passes[0], passes[1]
    for epoch in (first, second):  # every image once an epoch
        assert sorted(map(bytes, epoch.astype(np.uint8))) == sorted(map(bytes, x))
    other_seed = images(make_dataset(x, y, 7, batch_size=64, shuffle=True, seed=4))
    assert not np.array_equal(first, second) and not np.array_equal(first, other_seed)


def test_pipeline_shuffles_per_epoch_casts_and_one_hots():
    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    y = np.arange(10) % 3
    batches = [
        next(iter(make_dataset(x, y, num_classes=3, batch_size=10, shuffle=True, seed=1, epoch=e)))
        for e in range(3)
    ]  # one batch an epoch
    images, labels = batches[0]
    assert images.dtype.name == "float32" and labels.shape == (10, 3)
    np.testing.assert_array_equal(labels.numpy().argmax(1), images.numpy().reshape(-1).astype(int) % 3)
    epochs = [tuple(b[0].numpy().reshape(-1)) for b in batches]
    assert len(batches) == 3 and len(set(epochs)) > 1, "order should change between epochs"
