"""make_dataset's index shuffle and what train() leaves behind (issue 3's throughput work)."""

import gc
import weakref

import numpy as np

from kerasexp.models import create_model
from kerasexp.config import TrainConfig
from kerasexp.training.loop import make_dataset, seed_everything, train


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
