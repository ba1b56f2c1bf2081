"""`kerasexp bench roofline`: how close each model of the reports trains to the machine's arithmetic
rate. For every model: images a second of real training steps (the model compiled from its
experiment file's TrainConfig by the loop's compile_model, `model.fit` on the loop's tf.data
pipeline over in-memory images, at the report's batch and image size), the GFLOP/s that makes
(6 x forward multiply-adds x images/s, kerasexp.models.cost), and that rate's share of a float32
matmul's GFLOP/s measured in the same round (kerasexp.bench.timing: alternating rounds, medians).
Writes a Markdown report and a JSON record beside it."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from kerasexp.errors import UserError

DEFAULTS = {"roofline": (None, None)}  # no --images, --batch-size: each model has the report's own
REPEATS = 3  # default rounds (`--repeats`): the default run takes about 5 minutes on 2 cores
DEFAULT_OUT = "reports/bench_roofline.md"


@dataclass(frozen=True)
class RooflineModel:
    """A model of a report: the experiment file that trains it (its model, batch and optimizer),
    overrides, the report's image shape and classes, and the timed training steps a round (a
    few seconds each on 2 cores)."""

    study: str
    overrides: tuple[str, ...]
    shape: tuple[int, int, int]
    classes: int
    steps: int


LADDER_STEPS = {
    "ladder_baseline": 128,
    "ladder_dropout": 128,
    "ladder_bn": 64,
    "ladder_both": 64,
    "ladder_advanced": 16,
    "ladder_resnet": 4,
}
# weights=none: random initial weights time the same as ImageNet's (no weights file is read)
MOBILENET = ("model.params.weights=none",)
MODELS = {
    "baseline": RooflineModel("studies/variants/baseline.toml", (), (28, 28, 1), 10, 320),
    "speedrun": RooflineModel("studies/fmnist_fast.toml", (), (28, 28, 1), 10, 48),
    **{
        rung: RooflineModel("studies/pbc96_ladder.toml", (f"model.name={rung}",), (32, 32, 3), 8, steps)
        for rung, steps in LADDER_STEPS.items()
    },
    "mobilenet_64": RooflineModel(
        "studies/pbc96_transfer.toml", (*MOBILENET, "dataset.image_size=64"), (64, 64, 3), 8, 32
    ),
    "mobilenet_96": RooflineModel("studies/pbc96_transfer.toml", MOBILENET, (96, 96, 3), 8, 16),
}


def train_gflop_s(macs: int, img_s: float) -> float:
    """GFLOP/s of training at `img_s` images a second: 6 x forward multiply-adds an image
    (kerasexp.models.cost.train_flops: forward and backward, 2 FLOPs a multiply-add)."""
    from kerasexp.models.cost import train_flops

    return train_flops(macs, 1) * img_s / 1e9


def shares(gflop_s: list[float], matmul_gflop_s: list[float]) -> list[float]:
    """Each round's share of the matmul rate: the model's GFLOP/s over the matmul's of that round."""
    return [g / m for g, m in zip(gflop_s, matmul_gflop_s, strict=True)]


def pick_models(names: str | None) -> list[str]:
    """--models as a list of MODELS' names (all of them by default)."""
    if not names:
        return list(MODELS)
    picked = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in picked if n not in MODELS]
    if unknown or not picked:
        raise UserError(
            f"--models: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(MODELS)}"
        )
    return picked


@dataclass
class Prepared:
    """One model, compiled and traced, with its pipeline of in-memory images."""

    model: object
    dataset: object
    images: int
    batch_size: int
    macs: int


def prepare(spec: RooflineModel, steps: int, seed: int = 0) -> Prepared:
    """Build and compile the model as the loop does (compile_model from the experiment file's
    TrainConfig), then one untimed `fit` of one execution of steps: tracing and kernel setup."""
    import numpy as np

    from kerasexp.config import load_experiment
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs
    from kerasexp.training.loop import compile_model
    from kerasexp.training.pipeline import make_dataset

    exp = load_experiment(spec.study, list(spec.overrides), data=False)
    cfg = exp.training
    rng = np.random.default_rng(seed)
    n = steps * cfg.batch_size
    x = rng.integers(0, 256, (n, *spec.shape), dtype=np.uint8)  # seeded noise: speed is content-blind
    y = rng.integers(0, spec.classes, n)
    model = create_model(exp.model.name, spec.shape, spec.classes, **exp.model.params)
    compile_model(model, cfg, steps)
    warm = min(steps, cfg.steps_per_execution) * cfg.batch_size
    model.fit(
        make_dataset(x[:warm], y[:warm], spec.classes, cfg.batch_size, shuffle=True), verbose=0, shuffle=False
    )
    dataset = make_dataset(x, y, spec.classes, cfg.batch_size, shuffle=True)
    return Prepared(model, dataset, n, cfg.batch_size, forward_macs(model))


def timed_fit(p: Prepared) -> float:
    """Images a second of one `fit` epoch over the prepared images (the epoch's own seconds)."""
    from kerasexp.bench.timing import EpochTimer

    timer = EpochTimer()
    p.model.fit(p.dataset, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    return p.images / timer.seconds[0]


def bench_roofline(models: list[str], repeats: int = REPEATS, steps: int | None = None) -> dict:
    from kerasexp.bench.timing import alternate
    from kerasexp.bench.train import matmul_gflop_s
    from kerasexp.provenance import machine_description, timestamp
    from kerasexp.training.loop import seed_everything

    load_start, started = os.getloadavg(), timestamp()
    seed_everything(0)  # as the loop does: deterministic kernels are the ones a run trains with
    prepared = {name: prepare(MODELS[name], steps or MODELS[name].steps) for name in models}
    rounds = alternate(
        {name: (lambda p=p: timed_fit(p)) for name, p in prepared.items()},
        repeats,
        markers={"matmul_gflop_s": matmul_gflop_s},
    )
    matmul = rounds.figures["matmul_gflop_s"]
    rows = {}
    for name, p in prepared.items():
        img_s = rounds.figures[name]
        gflop = [train_gflop_s(p.macs, r) for r in img_s]
        per_round = shares(gflop, matmul)
        spec = MODELS[name]
        rows[name] = {
            "study": " ".join([spec.study, *(f"--set {o}" for o in spec.overrides)]),
            "input": "x".join(map(str, spec.shape)),
            "batch_size": p.batch_size,
            "steps_per_round": p.images // p.batch_size,
            "forward_macs": p.macs,
            "img_s": round(statistics.median(img_s), 1),
            "gflop_s": round(statistics.median(gflop), 2),
            "share_of_matmul": round(statistics.median(per_round), 4),
            "rounds": {
                "img_s": [round(r, 1) for r in img_s],
                "gflop_s": [round(g, 2) for g in gflop],
                "share_of_matmul": [round(s, 4) for s in per_round],
            },
        }
    return {
        **run_header(started, load_start),
        "repeats": repeats,
        "matmul_gflop_s": round(statistics.median(matmul), 1),
        "matmul_rounds": [round(m, 1) for m in matmul],
        "cpu_share": [round(s, 2) for s in rounds.cpu_share],
        "data": "seeded uint8 noise of each report's image shape, in memory (no augmentation)",
        "models": rows,
        "machine": machine_description(),
    }


HOW_TO_READ = """\
## How to read it

GFLOP/s is 6 x the forward multiply-adds of one image (`kerasexp.models.cost`: convolutions and
dense layers; normalisation, activations and pooling left out) x images a second of real training
steps: the loop's compiled step (`compile_model` from the experiment file, `fit` on the loop's
tf.data pipeline of in-memory images, no augmentation), timed after an untimed warm-up execution.
"share" is that rate over a float32 1024 x 1024 matmul's GFLOP/s measured in the same round, a
round being every model once (each first in turn) and the matmul after them; the figure is the
median of the per-round shares. The matmul is a reference rate of the machine at that moment, not
its peak: well-blocked convolutions can pass it (a share above 1). A share near or above 1 means
the model is bound by arithmetic; a share well under it means per-step overhead (Python, the input pipeline, optimizer updates) or small,
memory-bound kernels (small images, few channels, depthwise convolutions, BatchNorm) dominate, and
a faster matmul would not make it train faster. The MobileNet rows use random initial weights
(`weights=none`): the same arithmetic as ImageNet's. When other jobs share the machine (a load
average above the core count, a CPU share of this process under it), absolute rates are lower,
while each share is measured against the matmul rate of the same round: it is the figure to
compare across runs.
"""


def run_header(started: str, load_start) -> dict:
    """A bench record's first keys: its command, start and end, and the load averages around it."""
    from kerasexp.provenance import command_line, timestamp

    return {
        "command": command_line(),
        "started": started,
        "finished": timestamp(),
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
    }


def load_note(r: dict) -> str:
    """Whether other jobs shared the machine, from the load averages (1 minute) against the cores."""
    cores, peak = r["machine"]["cores"], max(r["load_average_start"][0], r["load_average_end"][0])
    if peak <= cores:
        return ""
    return (
        f" Other jobs shared the machine (1-minute load up to {peak:.2f} on {cores} cores): absolute"
        " rates are lower than on an idle machine; each share is against the same round's matmul."
    )


def markdown(r: dict) -> str:
    m = r["machine"]
    rows = "\n".join(
        f"| {name} | `{row['study']}` | {row['input']} | {row['batch_size']} | {row['steps_per_round']} "
        f"| {row['forward_macs'] / 1e6:.2f} | {row['img_s']:.1f} | {row['gflop_s']:.2f} "
        f"| {row['share_of_matmul']:.3f} | {', '.join(f'{s:.3f}' for s in row['rounds']['share_of_matmul'])} |"
        for name, row in r["models"].items()
    )
    load = "Load average (1, 5, 15 min) at start {} and at end {}".format(
        *(", ".join(f"{v:.2f}" for v in r[k]) for k in ("load_average_start", "load_average_end"))
    )
    return f"""# kerasexp bench roofline

Command: `{r["command"]}` ({r["started"]} to {r["finished"]})

Machine: {m["cpu"]}, {m["cores"]} cores, GPU: {m["gpus"]}, oneDNN: {m["onednn"]}; TensorFlow
{m.get("tensorflow")}, Keras {m.get("keras")}, kerasexp at commit {str(m.get("commit"))[:12]} (the full record is in the .json beside this file).
{load}; CPU share this process got each round (of {m["cores"]} cores): \
{", ".join(map(str, r["cpu_share"]))}.{load_note(r)}

{r["repeats"]} alternating rounds; float32 matmul {r["matmul_gflop_s"]} GFLOP/s (median; rounds:
{", ".join(map(str, r["matmul_rounds"]))}). Data: {r["data"]}.

| model | experiment file | input | batch | steps a round | forward M multiply-adds | img/s | GFLOP/s \
| share of matmul | share, each round |
|---|---|---|---|---|---|---|---|---|---|
{rows}

{HOW_TO_READ}"""


def report_path(out: str | None) -> Path:
    """--out as the report's .md path (its .json goes beside it)."""
    path = Path(out or DEFAULT_OUT)
    if path.suffix != ".md":
        raise UserError(f"--out {path}: give the report's .md path, e.g. {DEFAULT_OUT}")
    return path


def check_arguments(args) -> None:
    """--models and --out checked before TensorFlow is imported: a typo is one line, at once."""
    pick_models(args.models)
    report_path(args.out)


def write_report(out: Path, r: dict) -> Path:
    from kerasexp.atomic import write_json, write_text

    write_json(out.with_suffix(".json"), r)
    return write_text(out, markdown(r))


def main(args) -> int:
    models, out = pick_models(args.models), report_path(args.out)
    result = bench_roofline(models, args.repeats, args.steps)
    write_report(out, result)
    print(json.dumps({name: row["share_of_matmul"] for name, row in result["models"].items()}))
    return 0
