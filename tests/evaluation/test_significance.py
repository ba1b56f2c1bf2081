"""Significance at the level of training seeds: the direction counts, fewer than 3 seeds are never
"significant", a table's tests are Holm-adjusted, and per-class recall has a Wilson interval."""

import numpy as np
import pytest

from kerasexp.evaluation.compare import paired_tests, reference_notes
from kerasexp.evaluation.intervals import recall_ci95
from kerasexp.evaluation.significance import holm, new_run_p, seed_test

from test_intervals import predictions, seed_groups  # tests/evaluation is on sys.path (rootdir-less prepend)


def test_seeds_significant_in_opposite_directions_are_not_significant(tmp_path):
    y, p = predictions(n=1000)
    rng = np.random.default_rng(1)
    better = np.where(rng.random(len(y)) < 0.5, y, p)  # right where p is, and on half of p's errors
    worse = np.where(rng.random(len(y)) < 0.5, (y + 1) % 6, p)  # wrong on half of the images
    dirs = seed_groups(tmp_path, {"ref": (p, p, p), "flip": (better, worse, better)}, y)
    row = paired_tests(dirs)[1]
    # every seed's McNemar test is far below 0.05 (the old rule said "yes"), in opposite directions
    assert all(float(v) < 1e-10 for v in row["mcnemar_p"].split(" / "))
    assert row["p_value"] > 0.3 and row["significant"] == "no"


def test_a_one_seed_group_is_too_few_seeds_to_test(tmp_path):
    y, p = predictions(n=1000)
    better = np.where(np.random.default_rng(1).random(len(y)) < 0.5, y, p)
    row = paired_tests(seed_groups(tmp_path, {"ref": (p,), "better": (better,)}, y))[1]
    assert float(row["mcnemar_p"]) < 1e-20  # one network beats the other by far...
    assert row["significant"] == "too few seeds to test (1 paired)"  # ...but one seed is no finding
    assert row["p_value"] is None and row["p_holm"] is None and row["effect"] > 0.05


def test_paired_t_on_students_sleep_data_gives_the_textbook_p():
    """Cushny and Peebles' hours of extra sleep under two drugs, ten patients (Student 1908; R's
    `t.test(extra ~ group, data = sleep, paired = TRUE)`): t = -4.0621, df = 9, p = 0.002833, mean
    difference -1.58, 95% interval -2.4598858 to -0.7001142."""
    drug_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    drug_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    test = seed_test(drug_2, drug_1, "drug 2", "drug 1")  # B - A = drug 1 - drug 2
    assert test.t_p == pytest.approx(0.002833, abs=5e-7)
    assert test.effect == pytest.approx(-1.58, abs=1e-12)
    assert test.effect_ci95 == pytest.approx([-2.4598858, -0.7001142], abs=1e-7)
    assert test.direction == "drug 1 < drug 2" and test.n == 10


def test_wilcoxon_with_three_seeds_cannot_reach_below_a_quarter():
    test = seed_test([0.80, 0.81, 0.82], [0.90, 0.92, 0.95])
    assert test.wilcoxon_p == pytest.approx(0.25, abs=1e-12) and test.t_p < 0.05


def test_holm_adjusted_p_values_match_a_hand_computation():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> kept at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    assert holm([None, 0.02, 0.6]) == [None, pytest.approx(0.04), pytest.approx(0.6)]  # None: no test
    assert holm([0.5, 0.7]) == [1.0, 1.0]  # capped at 1


def test_a_report_figure_at_the_t_quantile_of_a_new_run_has_p_0_05():
    # 3 seeds, mean 0, std 1: one new run lands beyond t(0.975, 2) * sqrt(1 + 1/3) with p 0.05
    at_quantile = 4.302652729911275 * (4 / 3) ** 0.5
    assert new_run_p(0.0, 1.0, 3, at_quantile) == pytest.approx(0.05, abs=1e-9)
    assert new_run_p(0.0, 1.0, 3, -at_quantile) == pytest.approx(0.05, abs=1e-9)  # two-sided
    assert new_run_p(0.5, 0.1, 3, 0.5) == pytest.approx(1.0)
    assert new_run_p(0.0, 1.0, 2, 9.0) is None and new_run_p(0.0, 0.0, 5, 1.0) is None  # too few / no spread


def test_compare_notes_whether_a_reference_figure_is_one_of_our_runs(tmp_path):
    import json

    at_quantile = 4.302652729911275 * (4 / 3) ** 0.5
    for name, seeds in (("three", [0, 1, 2]), ("two", [0, 1])):
        group = tmp_path / name
        (group / "seed_0").mkdir(parents=True)
        summary = {"seeds": seeds, "accuracy": {"mean": 0.5, "std": 0.01}}
        (group / "seeds.json").write_text(json.dumps(summary))
        figure = 0.5 + 0.01 * at_quantile
        (group / "seed_0" / "config.toml").write_text(
            f'[reference]\nsource = "report X"\ntest_accuracy = {figure!r}\n'
        )
    three, two = reference_notes([tmp_path / "three", tmp_path / "two"], ["three", "two"])
    assert three.startswith("`three`: the reference's test accuracy 0.5497 is +0.0497 from our mean over 3")
    assert "with p 0.050 (t prediction interval, 2 degrees of freedom)" in three
    assert "too few seeds to test (2)." in two and two.endswith("Reference: report X.")


def test_per_class_recall_has_a_wilson_interval():
    y = np.array([0] * 244 + [1] * 100)
    pred = np.array([0] * 244 + [1] * 90 + [0] * 10)
    all_right, ninety = recall_ci95(y, pred, 3)[:2]
    assert all_right[0] == pytest.approx(0.98451, abs=1e-5) and all_right[1] == 1.0  # not [1, 1]
    assert ninety[0] < 0.9 < ninety[1]
    assert np.isnan(recall_ci95(y, pred, 3)[2]).all()  # a class without test images
