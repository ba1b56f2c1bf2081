"""Time from `kerasexp train bad.toml` (a typo: `[training] epoch = 3`) to its one-line error, for
two checkouts side by side in alternating rounds: python benchmarks/config_error_time.py BEFORE AFTER
[ROUNDS]. Each checkout runs with PYTHONPATH and the working directory set to it."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def once(checkout: str, bad: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kerasexp", "train", str(bad)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": checkout},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 2 and "unknown key training.epoch" in result.stderr, result.stderr[-500:]
    return seconds


def main(before: str, after: str, rounds: int = 5) -> None:
    bad = Path(tempfile.mkdtemp()) / "bad.toml"
    bad.write_text("[training]\nepoch = 3\n")
    times = {"before": [], "after": []}
    for r in range(rounds):
        for label, checkout in (
            (("before", before), ("after", after)) if r % 2 == 0 else (("after", after), ("before", before))
        ):
            times[label].append(once(checkout, bad))
        print(
            f"round {r + 1}: before {times['before'][-1]:.2f} s, after {times['after'][-1]:.2f} s", flush=True
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"median before {med['before']:.2f} s, after {med['after']:.2f} s, "
        f"ratio before/after {med['before'] / med['after']:.1f}x over {rounds} rounds each"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5)
