"""`kerasexp bench many-runs`: the variant table's runs (five variants x three seeds), trained as
users train them, `python -m kerasexp.variants` in a fresh process, once a round by each way of
scheduling them: one run after another in one process (`--workers 1`, TF at every core), and one
process a core at one thread each (`--workers N`, kerasexp.runs.run_many). Rounds alternate which
goes first (kerasexp.bench.timing), and a float32 matmul's GFLOP/s is measured after each round.
The runs are the table's own (its files, Fashion-MNIST, batch 32) with fewer epochs and images,
the same for every contender. Writes a Markdown report and a JSON record beside it."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kerasexp.errors import UserError

DEFAULT_OUT = "reports/bench_many_runs.md"
REPEATS = 3
EPOCHS = 2  # per run: enough that each run's start-up (data, graph tracing) is a minor share
LIMIT = 10000  # training images per run before the validation split (8,000 trained an epoch)
SEEDS = "0,1,2"


def contenders(cores: int) -> dict[str, int]:
    """Each way of scheduling the runs, by its --workers."""
    return {"sequential": 1, f"{cores}_processes": cores}


def variants_command(out: Path, workers: int, epochs: int, limit: int, data_dir: str | None) -> list[str]:
    extra = ["--data-dir", data_dir] if data_dir else []
    return [
        sys.executable, "-m", "kerasexp.variants", "--out", str(out), "--workers", str(workers),
        "--epochs", str(epochs), "--limit", str(limit), "--seeds", SEEDS, *extra,
    ]  # fmt: skip


def timed_set(workers: int, epochs: int, limit: int, data_dir: str | None, seen: list) -> float:
    """Images a second of training over the whole set: the runs' trained images over the command's
    wall seconds (start-up, validation, test predictions and reports included, as a user waits)."""
    with tempfile.TemporaryDirectory(prefix="kerasexp-many-runs-") as tmp:
        out = Path(tmp) / "variants"
        start = time.perf_counter()
        done = subprocess.run(
            variants_command(out, workers, epochs, limit, data_dir), capture_output=True, text=True
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise UserError(f"python -m kerasexp.variants failed: {done.stderr.strip().splitlines()[-1]}")
        record = json.loads((out / "variants.json").read_text(encoding="utf-8"))
        runs = sum(1 for _ in out.glob("*/seed_*"))
        seen.append({"workers": workers, "wall_seconds": round(wall, 1), "runs": runs, "record": record})
        return runs * record["train_images"] * record["epochs"] / wall


def variant_macs() -> dict[str, int]:
    """Forward multiply-adds of one image of each variant's network (kerasexp.models.cost)."""
    from kerasexp.config import load_experiment
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs
    from kerasexp.variants import DEFAULT_VARIANTS, STUDIES

    macs = {}
    for name in DEFAULT_VARIANTS:
        exp = load_experiment(STUDIES / f"{name}.toml", data=False)
        macs[name] = forward_macs(create_model(exp.model.name, (28, 28, 1), 10, **exp.model.params))
    return macs


def bench_many_runs(repeats: int = REPEATS, epochs: int = EPOCHS, limit: int = LIMIT, data_dir=None) -> dict:
    from kerasexp.bench.roofline import run_header, train_gflop_s
    from kerasexp.bench.timing import alternate
    from kerasexp.bench.train import matmul_gflop_s
    from kerasexp.provenance import machine_description, timestamp

    cores = len(os.sched_getaffinity(0))
    ways = contenders(cores)
    load_start, started = os.getloadavg(), timestamp()
    macs = variant_macs()
    mean_macs = statistics.mean(macs.values())  # every variant trains the same images
    seen: dict[str, list] = {name: [] for name in ways}
    rounds = alternate(
        {
            name: (lambda w=w, s=seen[name]: timed_set(w, epochs, limit, data_dir, s))
            for name, w in ways.items()
        },
        repeats,
        markers={"matmul_gflop_s": matmul_gflop_s},
    )
    matmul = rounds.figures["matmul_gflop_s"]
    rows = {}
    for name, workers in ways.items():
        img_s = rounds.figures[name]
        gflop = [train_gflop_s(mean_macs, r) for r in img_s]
        rows[name] = {
            "workers": workers,
            "img_s": round(statistics.median(img_s), 1),
            "gflop_s": round(statistics.median(gflop), 2),
            "share_of_matmul": round(statistics.median(g / m for g, m in zip(gflop, matmul)), 4),
            "wall_seconds": [s["wall_seconds"] for s in seen[name]],
            "rounds": {"img_s": [round(r, 1) for r in img_s], "gflop_s": [round(g, 2) for g in gflop]},
        }
    fast = f"{cores}_processes"
    ratios = [a / b for a, b in zip(rounds.figures[fast], rounds.figures["sequential"])]
    first = seen["sequential"][0]["record"]
    return {
        **run_header(started, load_start),
        "repeats": repeats,
        "set": {
            "runs": seen["sequential"][0]["runs"],
            "seeds": SEEDS,
            "epochs": epochs,
            "limit": limit,
            "train_images": first["train_images"],
            "forward_macs": macs,
        },
        "matmul_gflop_s": round(statistics.median(matmul), 1),
        "matmul_rounds": [round(m, 1) for m in matmul],
        "speedup": round(statistics.median(ratios), 3),
        "speedup_rounds": [round(r, 3) for r in ratios],
        "contenders": rows,
        "machine": machine_description(),
    }


def markdown(r: dict) -> str:
    from kerasexp.bench.roofline import load_note

    m, s = r["machine"], r["set"]
    rows = "\n".join(
        f"| {name} | {row['workers']} | {row['img_s']:.1f} | {row['gflop_s']:.2f} | {row['share_of_matmul']:.3f} "
        f"| {', '.join(f'{v:.1f}' for v in row['rounds']['img_s'])} | {', '.join(map(str, row['wall_seconds']))} |"
        for name, row in r["contenders"].items()
    )
    spread = f"{min(r['speedup_rounds']):.2f} to {max(r['speedup_rounds']):.2f}"
    load = "Load average (1, 5, 15 min) at start {} and at end {}".format(
        *(", ".join(f"{v:.2f}" for v in r[k]) for k in ("load_average_start", "load_average_end"))
    )
    return f"""# kerasexp bench many-runs

Command: `{r["command"]}` ({r["started"]} to {r["finished"]})

Machine: {m["cpu"]}, {m["cores"]} cores, GPU: {m["gpus"]}, oneDNN: {m["onednn"]}; TensorFlow
{m.get("tensorflow")}, Keras {m.get("keras")}, kerasexp at commit {str(m.get("commit"))[:12]} (the full record is in the .json beside this file).
{load}.{load_note(r)}

The set: the variant table's {s["runs"]} runs (five variants x seeds {s["seeds"]}), each
`python -m kerasexp.variants --epochs {s["epochs"]} --limit {s["limit"]}` ({s["train_images"]} training images an epoch,
batch 32), run whole in a fresh process by each contender, {r["repeats"]} alternating rounds. img/s is every
run's trained images over the command's wall seconds (start-up, validation, test predictions
and reports included). GFLOP/s is 6 x the variants' mean forward multiply-adds x img/s
(kerasexp.models.cost; validation and test passes not counted), and its share is against a
float32 matmul measured after each round: {r["matmul_gflop_s"]} GFLOP/s (median; rounds
{", ".join(map(str, r["matmul_rounds"]))}).

| contender | processes | img/s | GFLOP/s | share of matmul | img/s, each round | wall s, each round |
|---|---|---|---|---|---|---|
{rows}

Speed-up of one process a core over one run after another: **{r["speedup"]:.2f}x** (median of the
per-round ratios; rounds {spread}).

Each process of the fast path trains one run at `training.threads = 1`, recorded in its
config.toml; the same seed trained alone at the same threads gives the same numbers bit for bit
(tests/test_runs_many.py). Sequential runs use TensorFlow's default threads (every core), so
their numbers differ from the fast path's at float rounding, which training amplifies like a
change of seed.
"""


def report_path(out: str | None) -> Path:
    path = Path(out or DEFAULT_OUT)
    if path.suffix != ".md":
        raise UserError(f"--out {path}: give the report's .md path, e.g. {DEFAULT_OUT}")
    return path


def write_report(out: Path, r: dict) -> Path:
    from kerasexp.atomic import write_json, write_text

    write_json(out.with_suffix(".json"), r)
    return write_text(out, markdown(r))


DEFAULTS = {"many-runs": (LIMIT, None)}  # --images: each run's training images before the split


def main(args) -> int:
    out = report_path(args.out)
    result = bench_many_runs(args.repeats, EPOCHS, args.images, args.data_dir)
    write_report(out, result)
    print(f"{result['speedup']:.2f}x (rounds {result['speedup_rounds']}); wrote {out}")
    return 0
