"""`kerasexp bench many-runs`: the contenders, the command each runs, the images it counts, and the
report; the whole bench end to end on a tiny set (slow: two variant tables a round)."""

import json
import sys

import pytest

from kerasexp.bench import many_runs
from kerasexp.cli import main


def test_the_contenders_are_one_after_another_and_one_process_a_core():
    assert many_runs.contenders(2) == {"sequential": 1, "2_processes": 2}


def test_each_contender_runs_the_users_command_on_the_same_set(tmp_path):
    command = many_runs.variants_command(tmp_path / "v", 2, 3, 900, None)
    assert command[:3] == [sys.executable, "-m", "kerasexp.variants"]
    flags = dict(zip(command[3::2], command[4::2]))
    assert flags == {
        "--out": str(tmp_path / "v"),
        "--workers": "2",
        "--epochs": "3",
        "--limit": "900",
        "--seeds": "0,1,2",
    }


def test_the_variants_forward_cost_is_the_models_own():
    macs = many_runs.variant_macs()
    assert macs["baseline"] == 2_631_040  # counted by hand in tests/bench/test_roofline.py
    assert set(macs) == {"baseline", "kernel", "bn", "sgd", "sigmoid"}
    assert macs["sgd"] == macs["sigmoid"] == macs["baseline"]  # the same network, trained otherwise


def test_a_report_path_that_is_not_markdown_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "many-runs", "--out", "r.txt"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, err
    assert "--out r.txt: give the report's .md path" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_many_runs_end_to_end_writes_the_report(tmp_path, fashion_path):
    out = tmp_path / "many.md"
    code = main(
        [
            "bench",
            "many-runs",
            "--repeats",
            "1",
            "--images",
            "150",
            "--data-dir",
            str(fashion_path),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["set"]["runs"] == 15
    for row in record["contenders"].values():
        assert len(row["rounds"]["img_s"]) == 1 and row["img_s"] > 0
    rates = {name: row["rounds"]["img_s"][0] for name, row in record["contenders"].items()}
    fast = next(name for name in rates if name != "sequential")
    assert record["speedup_rounds"][0] == pytest.approx(rates[fast] / rates["sequential"], rel=1e-2)
    assert "Speed-up of one process a core" in out.read_text()
