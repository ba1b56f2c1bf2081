"""Mixup, class-dependent mixup and cutmix: labels stay distributions and follow the pixels."""

import numpy as np
import pytest
import tensorflow as tf

from kerasexp.augment.compose import apply_to_batch
from kerasexp.augment.mixing import (
    batch_mix_probability,
    class_mixup,
    class_mixup_probabilities,
    cutmix,
    mix,
    mixup,
)


@pytest.fixture(scope="module")
def distinct(pbc96_small):
    """8 images, one of each class: a mixed label names both images it came from."""
    y = pbc96_small.y_train
    idx = [int(np.flatnonzero(y == c)[0]) for c in range(8)]
    return pbc96_small.x_train[idx].astype(np.float32), np.eye(8, dtype=np.float32)


def test_mixup_labels_sum_to_one_and_mix_the_right_pair(distinct):
    x, y = distinct
    for seed in range(4):
        images, labels = (t.numpy() for t in apply_to_batch(mixup(probability=1.0, alpha=0.4), x, y, seed))
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
        for i in range(8):
            others = np.delete(np.arange(8), i)
            j = int(others[np.argmax(labels[i, others])]) if labels[i, i] < 1 - 1e-6 else i
            lam = labels[i, i] if j != i else 1.0
            assert labels[i, j] == pytest.approx(1 - lam, abs=1e-6) or i == j
            assert np.count_nonzero(labels[i] > 1e-6) <= 2  # exactly one partner
            np.testing.assert_allclose(images[i], lam * x[i] + (1 - lam) * x[j], atol=1e-3)


def test_mix_uses_the_given_coefficient_and_partner(distinct):
    x, y = distinct
    perm = tf.constant([1, 0, 3, 2, 5, 4, 7, 6])
    images, labels = mix(tf.constant(x), tf.constant(y), 0.7, perm)
    np.testing.assert_allclose(images[0], 0.7 * x[0] + 0.3 * x[1], atol=1e-3)
    np.testing.assert_allclose(labels[0], 0.7 * y[0] + 0.3 * y[1], atol=1e-6)


def test_mixup_probability_zero_changes_nothing(distinct):
    x, y = distinct
    images, labels = apply_to_batch(mixup(probability=0.0), x, y, 0)
    np.testing.assert_array_equal(images.numpy(), x)
    np.testing.assert_array_equal(labels.numpy(), y)


def test_class_probabilities_follow_report_000s_formula():
    counts = [10, 20, 50, 30]
    expected = [0.3 + 0.4 * (1 - (c - 10) / (50 - 10)) for c in counts]
    np.testing.assert_allclose(class_mixup_probabilities(counts), expected)
    assert class_mixup_probabilities(counts)[0] == pytest.approx(0.7)  # rarest
    assert class_mixup_probabilities(counts)[2] == pytest.approx(0.3)  # most frequent
    np.testing.assert_allclose(class_mixup_probabilities([5, 5]), [0.7, 0.7])
    labels = tf.one_hot([0, 0, 2, 3], 4)
    assert float(batch_mix_probability(labels, expected)) == pytest.approx(
        np.mean([expected[i] for i in (0, 0, 2, 3)])
    )


def test_class_mixup_mixes_rare_batches_and_spares_frequent_ones(distinct):
    x, _ = distinct
    counts = [1] + [100] * 7  # class 0 rare: probability 1.0 with low=0, span=1; others 0.0
    policy = class_mixup(low=0.0, span=1.0, class_counts=counts)
    rare, frequent = np.eye(8, dtype=np.float32)[[0] * 8], np.eye(8, dtype=np.float32)[[3] * 8]
    for seed in range(3):
        images, _ = apply_to_batch(policy, x, frequent, seed)
        np.testing.assert_array_equal(images.numpy(), x)
    changed = [not np.array_equal(apply_to_batch(policy, x, rare, s)[0].numpy(), x) for s in range(3)]
    assert all(changed)


def test_cutmix_labels_follow_the_pasted_area(distinct):
    x, y = distinct
    images, labels = (t.numpy() for t in apply_to_batch(cutmix(probability=1.0), x, y, 2))
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    for i in range(8):
        own = labels[i, i]
        from_self = np.isclose(images[i], x[i]).all(axis=-1).mean()
        if own < 1:
            assert own == pytest.approx(from_self, abs=0.05)
