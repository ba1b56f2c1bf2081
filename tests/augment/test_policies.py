"""Augmentation policies inside tf.data: per image, per epoch, seeded, training batches only."""

import numpy as np
import pytest

from kerasexp.augment.policies import build_policy, flip_translate
from kerasexp.config import AugmentationConfig
from kerasexp.errors import UserError
from kerasexp.training.pipeline import make_dataset


def batches(policy, x, y, epochs=2):
    ds = make_dataset(x, y, 10, batch_size=len(x), augment=policy)
    return [next(iter(ds)) for _ in range(epochs)]


def test_flip_translate_is_random_per_image_and_per_epoch_and_seeded(fashion_2000):
    x, y = fashion_2000.x_train[:16], fashion_2000.y_train[:16]
    (a, la), (b, _) = batches(flip_translate(seed=3), x, y)
    a, b = a.numpy(), b.numpy()
    assert a.shape == (16, 28, 28, 1) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 255
    np.testing.assert_array_equal(la.numpy().argmax(1), y)  # labels untouched
    changed = [not np.array_equal(a[i], x[i].astype("float32")) for i in range(16)]
    assert 0 < sum(changed)
    assert not np.array_equal(a, b), "a new epoch must draw new transformations"
    (again, _), _ = batches(flip_translate(seed=3), x, y)
    np.testing.assert_array_equal(again.numpy(), a)


def test_validation_batches_are_never_augmented(fashion_2000):
    from kerasexp.data.dataset import ImageData
    from kerasexp.models import create_model
    from kerasexp.config import TrainConfig
    from kerasexp.training.loop import train

    seen = []

    def spy(images, labels):
        seen.append(images.shape)  # traced once per pipeline it is part of
        return images, labels

    d = fashion_2000
    small = ImageData(
        d.x_train[:64], d.y_train[:64], d.x_val[:48], d.y_val[:48], d.x_test, d.y_test, d.class_names
    )
    train(create_model("baseline", (28, 28, 1), 10), small, TrainConfig(epochs=1, batch_size=64), augment=spy)
    assert len(seen) == 1 and seen[0][0] in (None, 64)


def test_unknown_policy_and_parameter():
    with pytest.raises(UserError, match="unknown augmentation.policy 'warp'"):
        build_policy(AugmentationConfig(policy="warp"))
    with pytest.raises(UserError, match="flip_translate"):
        build_policy(AugmentationConfig(policy="flip_translate", params={"rotate": 10}))
