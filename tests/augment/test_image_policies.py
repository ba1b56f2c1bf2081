"""The reports' augmentation policies inside tf.data: training batches only, shapes, dtypes and
value range kept, random per image and per epoch, fixed by the seed."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kerasexp.augment.policies import POLICIES, build_policy
from kerasexp.config import AugmentationConfig, EvaluationConfig
from kerasexp.errors import UserError
from kerasexp.augment.image_policies import add_white_noise
from kerasexp.training.pipeline import make_dataset

IMAGE_POLICIES = [
    "randaugment",
    "saturation",
    "rotate_flip_noise",
    "crop_flip",
    "cutout",
    "color_jitter",
    "multicrop",
    "mixup",
    "class_mixup",
    "cutmix",
]


def epochs(policy, x, y, num_classes=8, seed=0, n=2):
    """`n` epochs of one batch holding all of x, through the training pipeline."""
    return [
        tuple(
            t.numpy()
            for t in next(
                iter(make_dataset(x, y, num_classes, batch_size=len(x), seed=seed, augment=policy, epoch=e))
            )
        )
        for e in range(n)
    ]


@pytest.fixture(scope="module")
def cells(pbc96_small):
    """24 real blood-cell images, 3 of each class."""
    y = pbc96_small.y_train
    idx = np.concatenate([np.flatnonzero(y == c)[:3] for c in range(8)])
    idx = idx[np.random.default_rng(0).permutation(len(idx))]
    return pbc96_small.x_train[idx], y[idx]


@pytest.mark.parametrize("name", IMAGE_POLICIES)
def test_policy_keeps_shapes_dtype_range_and_is_seeded_per_epoch(name, cells):
    x, y = cells
    # every batch mixed: balanced counts make each class the rarest, 0.6 + 0.4 = 1.0 for class_mixup
    params = {
        "multicrop": {"threshold": 10**6},
        "mixup": {"probability": 1.0},
        "cutmix": {"probability": 1.0},
        "class_mixup": {"low": 0.6, "span": 0.4},
    }.get(name, {})
    policy = build_policy(
        AugmentationConfig(policy=name, params=params), class_counts=np.bincount(y, minlength=8)
    )
    (a, la), (b, _) = epochs(policy, x, y)
    assert a.shape == x.shape and a.dtype == np.float32 and la.shape == (len(x), 8)
    assert 0.0 <= a.min() and a.max() <= 255.0
    np.testing.assert_allclose(la.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.array_equal(a, x.astype(np.float32)), "the policy changed nothing"
    if name != "saturation":  # saturation at probability 1 is deterministic
        assert not np.array_equal(a, b), "a new epoch must draw new randomness"
    (again, _), _ = epochs(policy, x, y)
    np.testing.assert_array_equal(again, a)
    (other, _), _ = epochs(policy, x, y, seed=1)
    if name != "saturation":
        assert not np.array_equal(other, a)
    if name not in ("mixup", "class_mixup", "cutmix"):
        np.testing.assert_array_equal(la.argmax(1), y)


def test_saturation_is_opencv_and_random_per_image_and_per_epoch(cells):
    x, y = cells
    same = np.repeat(x[:1], 32, axis=0)  # one image 32 times
    policy = build_policy(AugmentationConfig(policy="saturation", params={"probability": 0.5}))
    (a, _), (b, _) = epochs(policy, same, np.repeat(y[:1], 32))
    tweaked = cv2.convertScaleAbs(same[0], alpha=1.5, beta=0).astype(np.float32)
    hit = np.array([np.array_equal(img, tweaked) for img in a])
    kept = np.array([np.array_equal(img, same[0].astype(np.float32)) for img in a])
    assert np.all(hit | kept) and 4 < hit.sum() < 28  # each image either tweaked or not, ~half
    hit_b = np.array([np.array_equal(img, tweaked) for img in b])
    assert not np.array_equal(hit, hit_b), "the draw must change between epochs (not frozen at trace time)"


def test_policy_lists_compose_in_order_and_check_their_params(cells):
    x, y = cells
    cfg = AugmentationConfig(
        policy=["crop_flip", "saturation", "mixup"], params={"mixup": {"probability": 1.0}}
    )
    batches = epochs(build_policy(cfg), x, y, n=3)  # a Beta(0.4, 0.4) draw can be all but 1: three draws
    (a, la) = batches[0]
    assert a.shape == x.shape and all(np.all(lb.max(axis=1) < 1.0 + 1e-6) for _, lb in batches)
    assert any((lb.max(axis=1) < 0.999).any() for _, lb in batches)
    with pytest.raises(UserError, match="params are keyed by policy name"):
        build_policy(AugmentationConfig(policy=["mixup"], params={"probability": 0.4}))
    with pytest.raises(UserError, match="'cutout'"):
        build_policy(AugmentationConfig(policy=["cutout"], params={"cutout": {"radius": 3}}))
    with pytest.raises(UserError, match="magnitude"):
        build_policy(AugmentationConfig(policy="randaugment", params={"magnitude": 2.0}))


def test_seeded_policies_run_on_training_batches_only(pbc96_small):
    from kerasexp.augment.compose import seeded
    from kerasexp.data.dataset import ImageData
    from kerasexp.models import create_model
    from kerasexp.config import TrainConfig
    from kerasexp.training.loop import train

    calls = []

    @seeded
    def spy(images, labels, seed):
        calls.append(seed.shape)  # traced once per pipeline it is part of
        return images, labels

    d = pbc96_small
    small = ImageData(
        d.x_train[:32], d.y_train[:32], d.x_val[:16], d.y_val[:16], d.x_test, d.y_test, d.class_names
    )
    train(create_model("baseline", (96, 96, 3), 8), small, TrainConfig(epochs=1, batch_size=32), augment=spy)
    assert calls == [tf.TensorShape([2])]


def test_white_noise_test_set_is_seeded_and_has_the_asked_spread(cells):
    x, _ = cells
    noisy = add_white_noise(x, 10.0, seed=3)
    assert noisy.dtype == np.uint8 and noisy.shape == x.shape
    np.testing.assert_array_equal(noisy, add_white_noise(x, 10.0, seed=3))
    inner = (x > 30) & (x < 225)  # away from clipping
    assert 9.0 < (noisy.astype(float) - x)[inner].std() < 11.0
    with pytest.raises(UserError, match="test_noise_std"):
        EvaluationConfig(test_noise_std=-1.0)


def test_every_policy_is_registered():
    assert set(IMAGE_POLICIES) <= set(POLICIES)


def test_keras_cv_reference_policy_builds_after_a_seeded_run(cells):
    """Seeded runs turn on TF op determinism, under which keras-cv cannot create its generator."""
    from kerasexp.training.loop import seed_everything

    seed_everything(0)
    x, y = cells
    policy = build_policy(
        AugmentationConfig(policy="randaugment_keras_cv"), class_counts=np.bincount(y, minlength=8)
    )
    ((a, la),) = epochs(policy, x, y, n=1)
    assert a.shape == x.shape and 0.0 <= a.min() and a.max() <= 255.0
    assert not np.array_equal(a, x.astype(np.float32))
    np.testing.assert_array_equal(la.argmax(1), y)
