"""The one timing harness of the benches: order, medians of per-round ratios, CPU share."""

from kerasexp.bench.timing import alternate


def test_rounds_alternate_the_order_and_ratios_are_medians_of_per_round_ratios():
    calls = []
    figures = {"a": iter([1.0, 10.0, 4.0]), "b": iter([1.0, 2.0, 8.0]), "c": iter([3.0, 3.0, 3.0])}

    def contender(name):
        def run():
            calls.append(name)
            return next(figures[name])

        return run

    rounds = alternate({name: contender(name) for name in "abc"}, repeats=3, markers={"gflops": lambda: 50.0})
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # each goes first in turn
    # per-round a/b: 1, 5, 0.5 -> median 1; the ratio of medians (4 / 2 = 2) is not what it reports
    assert rounds.ratio("a", "b") == 1.0
    assert rounds.median("a") == 4.0 and rounds.median("gflops") == 50.0
    assert len(rounds.cpu_share) == 3 and all(share >= 0 for share in rounds.cpu_share)
    assert rounds.as_dict()["a"] == [1.0, 10.0, 4.0] and len(rounds.as_dict()["cpu_share"]) == 3


def test_a_contender_that_could_not_run_has_no_median_or_ratio():
    rounds = alternate({"x": lambda: 2.0, "torch": lambda: None}, repeats=2)
    assert rounds.median("torch") is None and rounds.ratio("x", "torch") is None
    assert rounds.as_dict()["torch"] == [None, None]
