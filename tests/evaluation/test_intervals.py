"""Error bars and paired tests: the numbers behind every interval and p-value in the reports."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from kerasexp.errors import UserError
from kerasexp.evaluation.compare import paired_tests
from kerasexp.evaluation.intervals import (
    accuracy_ci95,
    bootstrap_intervals,
    macro_f1_of,
    mcnemar_p,
    paired_bootstrap_macro_f1_p,
)


def predictions(n=2000, k=6, right=0.8, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return y, np.where(rng.random(n) < right, y, rng.integers(0, k, n))


def test_macro_f1_of_a_confusion_matrix_is_scikit_learns():
    y, p = predictions(k=5)
    confusion = np.zeros((5, 5))
    np.add.at(confusion, (y, p), 1)
    assert macro_f1_of(confusion[None])[0] == pytest.approx(f1_score(y, p, average="macro"), abs=1e-12)


def test_wilson_intervals_have_the_widths_the_guide_quotes():
    low, high = accuracy_ci95(384, 480)  # 480 test images near 80%: about +-3.6 points
    assert (high - low) / 2 == pytest.approx(0.036, abs=0.002) and low < 0.8 < high
    low, high = accuracy_ci95(700, 1000)  # 1,000 near 70%: about +-2.8 points
    assert (high - low) / 2 == pytest.approx(0.028, abs=0.002)


def test_bootstrap_intervals_hold_the_figure_and_shrink_with_more_images():
    small, large = predictions(n=400), predictions(n=8000)
    widths = []
    for y, p in (small, large):
        ci = bootstrap_intervals(y, p, 6)
        assert ci["macro_f1_ci95"][0] < f1_score(y, p, average="macro") < ci["macro_f1_ci95"][1]
        widths.append(ci["macro_f1_ci95"][1] - ci["macro_f1_ci95"][0])
    assert widths[1] < widths[0] / 3  # 20x the images: about 1/sqrt(20) the width
    assert bootstrap_intervals(*small, 6) == bootstrap_intervals(*small, 6)  # seeded


def test_mcnemar_counts_only_the_images_where_the_models_disagree():
    y, p = predictions()
    assert mcnemar_p(p == y, p == y)["p_value"] == 1.0
    better = np.where(np.random.default_rng(1).random(len(y)) < 0.5, y, p)
    test = mcnemar_p(p == y, better == y)
    assert test["only_reference_right"] == 0 and test["only_other_right"] > 100 and test["p_value"] < 1e-20
    noisy = predictions(seed=0, right=0.8)[1]
    assert paired_bootstrap_macro_f1_p(y, p, noisy, 6) == 1.0  # the same predictions: no difference
    # a difference no resample reverses: the smallest p the resamples can show, never 0
    assert paired_bootstrap_macro_f1_p(y, p, better, 6, resamples=999) == pytest.approx(2 / 1000)


def test_runs_tested_on_other_images_are_not_paired(tmp_path):
    y, p = predictions(n=300)
    for name, labels in (("a", y), ("b", y), ("c", y[:200])):
        (tmp_path / name).mkdir()
        np.savez(tmp_path / name / "predictions.npz", probs=np.eye(6)[p[: len(labels)]], y_true=labels)
    rows = paired_tests([str(tmp_path / "a"), str(tmp_path / "b")])
    assert rows[0]["significant"] == "reference" and rows[1]["mcnemar_p"] == "1"
    assert rows[1]["p_value"] is None and rows[1]["significant"] == "too few seeds to test (1 paired)"
    with pytest.raises(UserError, match="other images"):
        paired_tests([str(tmp_path / "a"), str(tmp_path / "c")])


def seed_groups(tmp_path, groups: dict, y):
    """Seed groups of prediction files: {name: (seed 0's predictions, seed 1's, ...)}."""
    import json

    for group, per_seed in groups.items():
        for seed, pred in enumerate(per_seed):
            (tmp_path / group / f"seed_{seed}").mkdir(parents=True)
            np.savez(tmp_path / group / f"seed_{seed}" / "predictions.npz", probs=np.eye(6)[pred], y_true=y)
        (tmp_path / group / "seeds.json").write_text(json.dumps({"seeds": list(range(len(per_seed)))}))
    return [str(tmp_path / g) for g in groups]


def test_seed_groups_are_paired_seed_with_seed(tmp_path):
    y, p = predictions(n=1000)
    rng = np.random.default_rng(1)
    better = [np.where(rng.random(len(y)) < share, y, p) for share in (0.3, 0.5, 0.4)]  # 3 gains, 3 sizes
    # "all": better in every seed; "one": better in seed 1 only; the reference is p in every seed.
    dirs = seed_groups(tmp_path, {"ref": (p, p, p), "all": better, "one": (p, better[1], p)}, y)
    rows = paired_tests(dirs)
    assert rows[1]["significant"] == "yes (all > ref)" and rows[1]["p_value"] < 0.05
    assert rows[1]["direction"] == "all > ref" and rows[1]["effect"] > 0
    assert all(float(v) < 1e-10 for v in rows[1]["mcnemar_p"].split(" / "))  # per-seed detail
    assert rows[2]["significant"] == "no" and rows[2]["p_value"] > 0.05  # 1 of 3 seeds moved
    # p_holm: the two tests of the table, Holm-adjusted (the smaller p doubled, the running maximum kept)
    assert rows[1]["p_holm"] == pytest.approx(min(1, 2 * rows[1]["p_value"]))
    assert rows[2]["p_holm"] == pytest.approx(max(rows[1]["p_holm"], rows[2]["p_value"]))
    ladder = paired_tests(dirs, against="previous")  # "one" against "all": worse in seeds 0 and 2
    assert ladder[1]["p_value"] == rows[1]["p_value"] and ladder[2]["direction"] == "one < all"
    mixed = paired_tests([dirs[0], str(tmp_path / "all" / "seed_0")])
    assert mixed[1]["p_value"] is None and mixed[1]["significant"].startswith("not paired")
