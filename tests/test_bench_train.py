"""`kerasexp bench train` on a tiny run: the JSON the README and reports/bench_train.md quote."""

import os

from kerasexp.bench import bench_train


def test_bench_train_reports_each_loop_per_round_and_the_cpu_share():
    result = bench_train(images=512, repeats=1, batch_size=128)
    for key in ("kerasexp_img_s", "keras_fit_img_s", "ratio_vs_keras_fit", "matmul_gflop_s"):
        assert result[key] > 0, key
    assert abs(result["ratio_vs_keras_fit"] - result["kerasexp_img_s"] / result["keras_fit_img_s"]) < 0.002
    assert all(len(v) == 1 for v in result["rounds"].values())
    # process CPU seconds per wall second: positive, at most the cores the process may use
    assert 0 < result["rounds"]["cpu_share"][0] <= len(os.sched_getaffinity(0)) + 0.05
