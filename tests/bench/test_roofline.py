"""`kerasexp bench roofline`: the FLOP arithmetic, the share of the matmul rate, and the command
end to end (one model, one round, a few steps)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kerasexp.bench.roofline import shares, train_gflop_s
from kerasexp.cli import main

ROOT = Path(__file__).resolve().parents[2]

# The Annex-1 baseline on 28x28x1, counted by hand: conv 3x3 1->32 on a 26x26 output (194,688),
# pool to 13x13, conv 3x3 32->64 on 11x11 (2,230,272), pool to 5x5, dense 1600->128 (204,800),
# dense 128->10 (1,280).
BASELINE_MACS = 194_688 + 2_230_272 + 204_800 + 1_280


def test_gflop_s_is_six_times_the_forward_multiply_adds_times_images_a_second():
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs

    macs = forward_macs(create_model("baseline", (28, 28, 1), 10))
    assert macs == BASELINE_MACS == 2_631_040
    assert train_gflop_s(macs, 1000.0) == pytest.approx(6 * 2_631_040 * 1000 / 1e9, rel=1e-12)  # 15.78624


def test_the_share_is_each_rounds_rate_over_that_rounds_matmul():
    assert shares([50.0, 30.0, 90.0], [100.0, 60.0, 45.0]) == [0.5, 0.5, 2.0]
    with pytest.raises(ValueError):  # a round without its matmul is an error, not a shorter list
        shares([50.0, 30.0], [100.0])


def test_roofline_runs_end_to_end_and_writes_the_report(tmp_path):
    out = tmp_path / "roofline.md"
    argv = ["bench", "roofline", "--models", "baseline", "--repeats", "1", "--steps", "8", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "kerasexp", *argv], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(out.with_suffix(".json").read_text())
    row = record["models"]["baseline"]
    assert list(record["models"]) == ["baseline"] and record["repeats"] == 1
    assert row["forward_macs"] == BASELINE_MACS and row["batch_size"] == 32 and row["steps_per_round"] == 8
    (img_s,), (matmul,) = row["rounds"]["img_s"], record["matmul_rounds"]
    # the record rounds img/s to 0.1, GFLOP/s to 0.01, the matmul to 0.1 and shares to 1e-4
    (gflop,) = row["rounds"]["gflop_s"]
    assert gflop == pytest.approx(6 * BASELINE_MACS * img_s / 1e9, abs=0.005 + 6 * BASELINE_MACS * 0.05 / 1e9)
    share = gflop / matmul
    assert row["share_of_matmul"] == pytest.approx(share, abs=share * (0.005 / gflop + 0.05 / matmul) + 5e-5)
    assert len(record["load_average_start"]) == 3 and len(record["load_average_end"]) == 3
    assert record["machine"]["cores"] >= 1 and record["command"].endswith(" ".join(argv))
    lines = out.read_text().splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| model")]
    assert len(rows) == 1 and rows[0].startswith(
        "| baseline | `studies/variants/baseline.toml` | 28x28x1 | 32 | 8 |"
    )
    assert "## How to read it" in lines and json.loads(proc.stdout) == {"baseline": row["share_of_matmul"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "baseline,resnet9000"], "--models: unknown resnet9000; choose from baseline,"),
        (["--out", "report.txt"], "--out report.txt: give the report's .md path"),
    ],
)
def test_bad_roofline_arguments_are_one_line_exit_2_and_write_nothing(
    tmp_path, monkeypatch, capsys, argv, message
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "roofline", *argv])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, err
    assert message in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []
