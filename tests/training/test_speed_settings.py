"""The runtime choices behind kerasexp's speed (README, "Speed"): oneDNN kernels on x86 unless the
user chose, tf.data's autotuner off in the training pipelines, and `kerasexp bench kernels`, the
command that measures the first."""

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from kerasexp.bench.kernels import bench_kernels
from kerasexp.errors import UserError
from kerasexp.training.pipeline import make_dataset


def _onednn_in_fresh_process(env_value):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    code = (
        "import os, json, kerasexp; from kerasexp.provenance import onednn_enabled; "
        "print(json.dumps([os.environ.get('TF_ENABLE_ONEDNN_OPTS'), onednn_enabled()]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64"), reason="kerasexp only chooses oneDNN on x86"
)
def test_importing_kerasexp_turns_onednn_on_unless_the_user_set_it():
    assert _onednn_in_fresh_process(None) == ["1", True]
    assert _onednn_in_fresh_process("0") == ["0", False]


def test_training_and_validation_pipelines_run_without_the_tfdata_autotuner():
    x = np.zeros((10, 4, 4, 1), np.uint8)
    y = np.arange(10) % 2
    for ds in (
        make_dataset(x, y, 2, 4, shuffle=True),
        make_dataset(x, y, 2, 4),
        make_dataset(
            x,
            y,
            2,
            4,
            shuffle=True,
            weights=np.array([1.0, 2.0]),
            augment=lambda images, labels: (images + 1, labels),
        ),
    ):
        assert ds.options().autotune.enabled is False
        assert [len(b[0]) for b in ds] == [4, 4, 2]  # and still every image, in batches


@pytest.mark.slow
def test_bench_kernels_measures_each_setting_in_its_own_process():
    before = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    result = bench_kernels(["baseline"], repeats=1)  # raises if a child did not get its setting
    row = result["models"]["baseline"]
    assert row["onednn_img_s"] > 0 and row["eigen_img_s"] > 0
    assert len(row["rounds"]["onednn"]) == len(row["rounds"]["eigen"]) == 1
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == before  # this process's setting is left as it was


def test_bench_kernels_names_the_models_it_knows():
    with pytest.raises(UserError, match="choose from baseline, ladder_both"):
        bench_kernels(["resnet9000"], repeats=1)
