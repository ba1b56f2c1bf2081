"""A diverging run stops at the first NaN loss with one line naming the rate to lower (Keras'
TerminateOnNaN would stop silently and the run would end "finished" with NaN metrics)."""

from dataclasses import replace

import pytest

from kerasexp.config import TrainConfig
from kerasexp.errors import UserError
from kerasexp.models import create_model
from kerasexp.training.loop import seed_everything, train


def test_a_nan_loss_stops_the_run_with_one_line_before_the_epoch_is_recorded(fashion_2000, tmp_path):
    data = replace(fashion_2000, x_train=fashion_2000.x_train[:200], y_train=fashion_2000.y_train[:200])
    seed_everything(0)
    model = create_model("baseline", data.input_shape, data.num_classes)
    cfg = TrainConfig(epochs=2, batch_size=32, optimizer="sgd", learning_rate=1e6, steps_per_execution=1)
    with pytest.raises(UserError) as info:
        train(model, data, cfg, tmp_path / "run")
    assert str(info.value) == (
        "training diverged: loss is nan at epoch 1 step 3; lower training.learning_rate (now 1e+06)"
    )
    # stopped inside the first epoch: no history row, checkpoint or backup of NaN weights
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == []
