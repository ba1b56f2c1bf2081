"""The fast RandAugment against keras-cv's layer: same ops, same magnitude meaning, per image."""

import numpy as np
import pytest
import tensorflow as tf

from kerasexp.augment.image_policies import keras_cv_random_generator
from kerasexp.augment.randaugment import OPS, apply_op, rand_augment, rand_augment_batch
from kerasexp.training.loop import seed_everything


@pytest.fixture(scope="module")
def cells(pbc96_small):
    return pbc96_small.x_train[:256].astype(np.float32)


@pytest.fixture(scope="module")
def keras_cv_ops():
    keras_cv = pytest.importorskip("keras_cv")
    seed_everything(7)  # op determinism on, as after any seeded run in this process
    keras_cv_random_generator(7)
    layers = keras_cv.layers.RandAugment.get_standard_policy((0, 255), 0.32, 0.15, seed=7)
    return dict(zip(OPS, layers))


def summary(images, original):
    """Statistics an op's magnitude shows in: mean absolute change, output mean and spread."""
    change = np.abs(images - original).mean(axis=(1, 2, 3))
    return np.array([change.mean(), images.mean(), images.std()])


@pytest.mark.parametrize("name", OPS)
def test_each_op_matches_keras_cv_statistics(name, cells, keras_cv_ops):
    ours = apply_op(name, cells, seed=1)
    ref = keras_cv_ops[name](tf.constant(cells), training=True).numpy()
    assert ours.shape == cells.shape and ours.dtype == np.float32
    assert 0.0 <= ours.min() and ours.max() <= 255.0
    if name in ("auto_contrast", "equalize"):  # no randomness: the same pixels
        np.testing.assert_allclose(ours, ref, atol=0.5 + 1e-3)  # ours rounds to integers
        return
    s_ours, s_ref = summary(ours, cells), summary(ref, cells)
    # 256 images: over seeds these means differ by up to ~12% (brightness), a wrong magnitude by far more
    np.testing.assert_allclose(
        s_ours, s_ref, rtol=0.15, atol=1.0, err_msg=f"{name}: ours {s_ours} keras-cv {s_ref}"
    )


def test_magnitude_scales_the_change(cells):
    weak = np.abs(apply_op("brightness", cells, 0, magnitude=0.1) - cells).mean()
    strong = np.abs(apply_op("brightness", cells, 0, magnitude=0.5) - cells).mean()
    assert strong > 3 * weak


def test_ops_are_chosen_per_image_and_a_seed_fixes_the_result(cells):
    same = np.repeat(cells[:1], 32, axis=0)  # one image 32 times: any differences are per-image draws
    out = rand_augment_batch(same, [5, 0], augmentations_per_image=1, rate=1.0, magnitude_stddev=0.0)
    distinct = {np.round(o, 2).tobytes() for o in out}
    assert len(distinct) > 10
    again = rand_augment_batch(same, [5, 0], augmentations_per_image=1, rate=1.0, magnitude_stddev=0.0)
    np.testing.assert_array_equal(out, again)
    assert not np.array_equal(out, rand_augment_batch(same, [6, 0], augmentations_per_image=1, rate=1.0))


def test_rate_zero_is_identity_and_graph_version_keeps_shape(cells):
    np.testing.assert_array_equal(rand_augment_batch(cells[:4], [1, 2], rate=0.0), cells[:4])
    images = tf.constant(cells[:8])
    out = tf.function(lambda x, s: rand_augment(x, s))(images, tf.constant([3, 4], tf.int64))
    assert out.shape == images.shape and out.dtype == tf.float32


def test_fused_point_wise_runs_equal_the_ops_one_by_one(cells):
    """Runs of point-wise ops are composed into one table and their statistics read from a
    histogram: the pixels must equal applying each drawn op to the previous op's uint8 result."""
    from kerasexp.augment.randaugment import _augment, _op_arrays, sample_params, to_uint8

    images = to_uint8(cells[:64])
    rng = np.random.default_rng(3)
    codes = rng.integers(0, len(OPS), (64, 8))
    codes[:16, :6] = rng.integers(0, 6, (16, 6))  # long runs of point-wise ops only
    codes[rng.random(codes.shape) < 0.1] = -1
    p0, p1 = _op_arrays(codes, sample_params(rng, codes.shape, 0.5, 0.2))
    fused = _augment(images, codes, p0, p1)
    step = images
    for s in range(codes.shape[1]):
        step = _augment(step, codes[:, s : s + 1], p0[:, s : s + 1], p1[:, s : s + 1])
    np.testing.assert_array_equal(fused, step)
    assert not np.array_equal(fused, images)
