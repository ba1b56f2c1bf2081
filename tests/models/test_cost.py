"""Forward multiply-adds counted from layer shapes, against hand counts and the MobileNet paper."""

import keras
import pytest

from kerasexp.models import create_model
from kerasexp.models.cost import forward_macs, train_flops


def test_the_annex_1_baseline_by_hand():
    # conv 3x3 1->32 on 26x26, conv 3x3 32->64 on 11x11, dense 1600->128, dense 128->10
    by_hand = 26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 1600 * 128 + 128 * 10
    assert forward_macs(create_model("baseline", (28, 28, 1), 10)) == by_hand == 2_631_040


@pytest.mark.parametrize("alpha, published", [(0.25, 41e6), (1.0, 569e6)])
def test_mobilenet_matches_its_paper(alpha, published):
    # Howard et al. 2017, Table 8 (1.0 MobileNet-224: 569 M mult-adds) and Table 6 (0.25: 41 M)
    model = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=alpha, weights=None)
    assert forward_macs(model) == pytest.approx(published, rel=0.005)


def test_a_transfer_model_counts_its_nested_backbone():
    model = create_model(
        "transfer", (96, 96, 3), 8, backbone="MobileNet", weights="none", backbone_params={"alpha": 0.25}
    )
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert forward_macs(model) > forward_macs(backbone) > 0


def test_train_flops_count_three_passes_for_training_one_for_evaluation():
    assert train_flops(10, trained_images=4, evaluated_images=5) == 6 * 10 * 4 + 2 * 10 * 5
