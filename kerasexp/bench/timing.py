"""One timing harness for every bench. This machine's speed drifts by tens of percent within
minutes, so contenders are timed in rounds, each contender once a round and each first in turn;
a ratio is the median of per-round ratios (the contenders of one round saw the same machine),
and each round records the CPU share this process got (well under the core count: other work
shared the cores, so a slow round is the machine, not the code)."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from collections.abc import Callable


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (rounds run in child processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Rounds:
    """Each contender's figure (e.g. img/s; None where it could not run) per round, and the CPU
    share of each round."""

    figures: dict[str, list]
    cpu_share: list[float]

    def median(self, name: str) -> float | None:
        values = self.figures[name]
        return None if None in values or not values else statistics.median(values)

    def ratio(self, numerator: str, denominator: str) -> float | None:
        """The median over rounds of numerator / denominator (None if either missed a round)."""
        pairs = list(zip(self.figures[numerator], self.figures[denominator]))
        if not pairs or any(a is None or b is None for a, b in pairs):
            return None
        return statistics.median(a / b for a, b in pairs)

    def as_dict(self, digits: int = 1) -> dict:
        """Every round's figures, for the report (the evidence behind the medians)."""
        return {
            **{
                k: [None if v is None else round(v, digits) for v in vals] for k, vals in self.figures.items()
            },
            "cpu_share": [round(v, 2) for v in self.cpu_share],
        }


def alternate(
    contenders: dict[str, Callable[[], float | None]],
    repeats: int,
    markers: dict[str, Callable[[], float]] | None = None,
) -> Rounds:
    """Run every contender once a round for `repeats` rounds, round r starting at contender r
    (mod their number); `markers` (e.g. a matmul's GFLOP/s) are measured after each round."""
    markers = markers or {}
    order = list(contenders)
    figures = {name: [] for name in [*order, *markers]}
    shares = []
    for r in range(repeats):
        cpu, wall = cpu_seconds(), time.perf_counter()
        start = r % len(order)
        for name in order[start:] + order[:start]:
            figures[name].append(contenders[name]())
        for name, measure in markers.items():
            figures[name].append(measure())
        shares.append((cpu_seconds() - cpu) / (time.perf_counter() - wall))
    return Rounds(figures, shares)


class EpochTimer:
    """Seconds of each epoch's training steps (validation excluded)."""

    def __new__(cls):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()
                self.stopped = False

            def on_test_begin(self, logs=None):
                if not self.stopped:
                    self.seconds.append(time.perf_counter() - self.start)
                    self.stopped = True

            def on_epoch_end(self, epoch, logs=None):
                if not self.stopped:
                    self.seconds.append(time.perf_counter() - self.start)

        return Timer()


def torch_contenders(fn, *args) -> tuple[dict[str, Callable[[], float | None]], dict[str, list]]:
    """The PyTorch peers of a bench, eager and torch.compile: each round `fn(*args, compiled)` in its
    own process (torch's optimizers can crash a process that has loaded TF), returning a
    dict with "img_s" (or None without torch). Returns the contenders for `alternate` and every
    round's full result by kind ("eager", "compiled")."""
    from kerasexp.processes import call_in_child

    runs: dict[str, list] = {"eager": [], "compiled": []}

    def contender(kind: str):
        def run():
            result = call_in_child(fn, *args, kind == "compiled")
            runs[kind].append(result)
            return None if result is None else result["img_s"]

        return run

    return {"torch_eager": contender("eager"), "torch_compiled": contender("compiled")}, runs
