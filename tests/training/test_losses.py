"""Class weights and focal loss against hand computation."""

import keras
import numpy as np
import pytest

from kerasexp.training.losses import class_weights
from kerasexp.config import TrainConfig
from kerasexp.training.pipeline import make_dataset
from kerasexp.errors import UserError
from kerasexp.training.losses import LOSSES

Y = np.array([0, 0, 0, 1])
PROBS = np.array([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]], dtype="float32")
ONE_HOT = np.eye(2, dtype="float32")[Y]


def test_balanced_weights_follow_the_training_counts():
    np.testing.assert_allclose(class_weights(Y, 2, "balanced"), [4 / (2 * 3), 4 / (2 * 1)])
    assert class_weights(Y, 2, "none") is None
    with pytest.raises(UserError, match="give 2 non-negative numbers"):
        class_weights(Y, 2, [1.0])


def test_class_weights_change_the_loss_as_computed_by_hand():
    """Keras' weighted loss is mean_i(w[y_i] * -log p_i[y_i]); the pipeline supplies w[y_i]."""
    w = class_weights(Y, 2, "balanced")
    ds = make_dataset(np.zeros((4, 1, 1, 1), "uint8"), Y, 2, batch_size=4, weights=w)
    _, labels, sample_w = next(iter(ds))
    np.testing.assert_allclose(sample_w.numpy(), w[Y])
    loss = LOSSES["crossentropy"](TrainConfig())
    weighted = float(loss(labels, PROBS, sample_weight=sample_w))
    by_hand = np.mean(w[Y] * -np.log(PROBS[np.arange(4), Y]))
    assert weighted == pytest.approx(by_hand, rel=1e-5)
    assert weighted != pytest.approx(float(loss(labels, PROBS)), rel=1e-3)


def test_mixed_labels_are_weighted_by_their_mix():
    w = np.array([1.0, 3.0], "float32")
    ds = make_dataset(
        np.zeros((2, 1, 1, 1), "uint8"),
        np.array([0, 1]),
        2,
        batch_size=2,
        weights=w,
        augment=lambda x, y: (x, y * 0.5 + 0.25),
    )  # labels become [.75,.25], [.25,.75]
    _, _, sample_w = next(iter(ds))
    np.testing.assert_allclose(sample_w.numpy(), [0.75 + 0.75, 0.25 + 2.25])


def test_focal_equals_crossentropy_at_gamma_0():
    ce = float(LOSSES["crossentropy"](TrainConfig())(ONE_HOT, PROBS))
    focal = float(
        LOSSES["focal"](TrainConfig(loss="focal", focal_gamma=0.0, focal_alpha=1.0))(ONE_HOT, PROBS)
    )
    assert focal == pytest.approx(ce, rel=1e-5)
    quarter = float(
        LOSSES["focal"](TrainConfig(loss="focal", focal_gamma=0.0, focal_alpha=0.25))(ONE_HOT, PROBS)
    )
    assert quarter == pytest.approx(0.25 * ce, rel=1e-5)


def test_focal_down_weights_easy_examples():
    """gamma 2 multiplies each example's CE by (1 - p)^2: the easy 0.9 one almost vanishes."""
    focal = LOSSES["focal"](TrainConfig(loss="focal", focal_gamma=2.0, focal_alpha=1.0))
    by_hand = np.mean((1 - PROBS[np.arange(4), Y]) ** 2 * -np.log(PROBS[np.arange(4), Y]))
    assert float(focal(ONE_HOT, PROBS)) == pytest.approx(by_hand, rel=1e-5)


def test_label_smoothing_reaches_the_loss():
    smooth = LOSSES["crossentropy"](TrainConfig(label_smoothing=0.1))
    y = keras.ops.convert_to_tensor(ONE_HOT * 0.9 + 0.05)
    plain = LOSSES["crossentropy"](TrainConfig())
    assert float(smooth(ONE_HOT, PROBS)) == pytest.approx(float(plain(y, PROBS)), rel=1e-5)
