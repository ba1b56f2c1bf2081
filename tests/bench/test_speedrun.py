"""`kerasexp bench speedrun`: the FLOP count of a run from its record and model, the summary's
keys, and the PyTorch peer of a recipe (where torch is installed)."""

import json
import textwrap

import pytest


TINY = """
[dataset]
name = "fashion_mnist"
data_dir = "{data}"
limit = 600
[model]
name = "vgg"
params = {{ widths = [8, 16], convs_per_block = 1, dense_units = 16 }}
[training]
epochs = 2
batch_size = 64
optimizer = "adamw"
schedule = "cosine"
label_smoothing = 0.1
ema_momentum = 0.5
[augmentation]
policy = "flip_translate"
[evaluation]
tta = "auto"
[reference]
source = "a target"
test_accuracy = 0.99
"""


@pytest.mark.slow
def test_speedrun_counts_every_image_it_trains_and_evaluates(fashion_path, tmp_path):
    from kerasexp.bench.speedrun import speedrun
    from kerasexp.data import load_dataset
    from kerasexp.config import load_experiment
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs

    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TINY.format(data=fashion_path)))
    summary = speedrun(path, [0, 1], tmp_path / "speedrun", repeats=1, timing_images=256)
    saved = json.loads((tmp_path / "speedrun" / "summary.json").read_text())
    assert saved["mean_test_accuracy"] == pytest.approx(summary["mean_test_accuracy"])
    exp = load_experiment(path)
    data = load_dataset(exp.dataset)
    macs = forward_macs(create_model("vgg", (28, 28, 1), 10, **exp.model.params))
    assert summary["forward_macs"] == macs and summary["epochs"] == 2
    # 2 epochs of 480 training images; 2 validation passes of 120, plus the TTA candidates scored on
    # validation (none: 1 view, flip: 2, dihedral: 8) and the chosen views on 10,000 test images
    row = summary["per_seed"][0]
    choice = json.loads((tmp_path / "speedrun" / "seed_0" / "metrics.json").read_text())[
        "evaluation_choices"
    ]["tta"]
    test_views = {"none": 1, "flip": 2, "dihedral": 8}[choice["chosen"]]
    evaluated = 120 * (2 + 1 + 2 + 8) + 10_000 * test_views
    assert len(data.x_train) == 480 and row["evaluated_images"] == evaluated
    assert row["pflop"] == pytest.approx((6 * macs * 480 * 2 + 2 * macs * evaluated) / 1e15)
    accuracies = [r["test_accuracy"] for r in summary["per_seed"]]
    assert summary["mean_test_accuracy"] == pytest.approx(sum(accuracies) / 2) and summary["seeds"] == [0, 1]
    text = (tmp_path / "speedrun" / "summary.md").read_text()
    assert summary["kerasexp_img_s"] > 0 and "PFLOP" in text
    # a tiny net on 480 images is below the target it names, and two seeds are said to be a first look
    assert "Reference (a target): 0.990; this mean is below it." in text and "2 seed(s) only" in text
    if summary["torch_eager_img_s"] is not None:  # torch installed ([bench] extra)
        assert summary["ratio_vs_torch"] > 0 and summary["torch_mode"] in ("eager", "compiled")
