"""`kerasexp bench speedrun`: compute to accuracy on Fashion-MNIST. A shared machine's speed drifts
from hour to hour, so the target is compute, not minutes: the recipe (an experiment
file, default studies/fmnist_fast.toml) trains once a seed through the one experiment path
(resumable run folders, OUT/seed_S/), its FLOPs are counted from the model (kerasexp.models.cost:
6 x forward multiply-adds x training images seen, plus 2 x multiply-adds x every validation and
test-time view evaluated), and the same training in PyTorch is timed beside a Keras round of it
(alternating rounds, each in its own process for torch) for `ratio_vs_torch`. Writes
OUT/summary.json and OUT/summary.md."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from kerasexp.errors import UserError

DEFAULT_EXPERIMENT = "studies/fmnist_fast.toml"
TIMED_EPOCHS = 3  # a timing round: the first epoch (tracing, compiling) is not timed


def run_flops(exp, data, run_dir: Path, macs: int) -> dict:
    """A finished run's compute from its record: every epoch trained (head phase included), every
    validation pass, the TTA candidates scored on validation and the chosen views on test."""
    from kerasexp import rundir
    from kerasexp.evaluation.predict import TTA_VIEWS
    from kerasexp.models.cost import train_flops

    record = rundir.read_record(run_dir)
    epochs = int(record["epochs_run"]) + exp.training.head_epochs
    tta = record.get("evaluation_choices", {}).get("tta", {})
    scored = tta.get("val_accuracy", {})
    val_views = sum(len(TTA_VIEWS[name]) for name in scored)
    test_views = len(TTA_VIEWS[tta.get("chosen", "none")])
    evaluated = len(data.x_val) * (epochs + val_views) + len(data.x_test) * test_views
    return {
        "epochs": epochs,
        "trained_images": len(data.x_train) * epochs,
        "evaluated_images": evaluated,
        "pflop": train_flops(macs, len(data.x_train) * epochs, evaluated) / 1e15,
    }


def keras_round(exp, x, y, epochs: int = TIMED_EPOCHS) -> float:
    """Training images a second of the recipe through kerasexp (the first epoch not timed)."""
    from dataclasses import replace

    import keras

    from kerasexp.bench.timing import EpochTimer
    from kerasexp.data.dataset import ImageData
    from kerasexp.training.session import train_experiment

    n_classes = int(y.max()) + 1
    data = ImageData(x, y, x[:256], y[:256], x[:0], y[:0], [str(i) for i in range(n_classes)])
    timed = replace(
        exp,
        training=replace(
            exp.training, epochs=epochs, head_epochs=0, restore_best=False, early_stopping_patience=0
        ),
    )
    timer = EpochTimer()
    train_experiment(timed, data, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def check_torch_recipe(exp) -> None:
    """The PyTorch peer implements the recipes it can run as the same work: the vgg model, the
    flip_translate policy (or none), Adam(W) and SGD, constant or cosine rates."""
    if exp.model.name != "vgg":
        raise UserError(f'bench speedrun: the PyTorch peer builds model "vgg" only, not {exp.model.name!r}')
    if exp.augmentation.policy not in ("none", "flip_translate"):
        raise UserError(
            f'bench speedrun: the PyTorch peer applies augmentation.policy "flip_translate" or '
            f'"none", not {exp.augmentation.policy!r}'
        )
    if exp.training.optimizer not in ("adam", "adamw", "sgd"):
        raise UserError(
            f"bench speedrun: the PyTorch peer uses adam, adamw or sgd, not {exp.training.optimizer!r}"
        )


def torch_round(exp_dict: dict, x, y, epochs: int = TIMED_EPOCHS, compiled: bool = False) -> dict | None:
    """The same recipe in PyTorch (channels_last, threads set to the cores): the vgg net, its
    optimizer and rate schedule, label smoothing, the weight average if any, flips and
    translations done per image on whole batches. Training images a second, the first epoch
    not timed; None without torch."""
    try:
        import torch
        import torch.nn.functional as F
        from torch import nn
    except ImportError:
        return None
    from kerasexp.config import experiment_from_dict

    exp = experiment_from_dict(exp_dict)
    cfg, params = exp.training, exp.model.params
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    widths = params.get("widths", (32, 64, 128))
    convs = params.get("convs_per_block", 2)
    convs = (convs,) * len(widths) if isinstance(convs, int) else convs
    block_dropout, head_dropout = params.get("block_dropout", 0.1), params.get("head_dropout", 0.3)
    dense_units = params.get("dense_units", 0)
    layers, channels, size = [], x.shape[-1], x.shape[1]
    for b, (width, count) in enumerate(zip(widths, convs), start=1):
        for _ in range(count):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        if b < len(widths):
            layers.append(nn.MaxPool2d(2))
            size //= 2
        layers.append(nn.Dropout(block_dropout * b))
    if dense_units:
        layers += [
            nn.Flatten(),
            nn.Linear(channels * size * size, dense_units, bias=False),
            nn.BatchNorm1d(dense_units),
            nn.ReLU(),
        ]
        channels = dense_units
    else:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Dropout(head_dropout), nn.Linear(channels, int(y.max()) + 1)]
    model = nn.Sequential(*layers).to(memory_format=torch.channels_last)
    steps = -(-len(x) // cfg.batch_size)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), cfg.learning_rate, momentum=cfg.momentum, nesterov=cfg.nesterov
        )
    else:
        decay = cfg.weight_decay or (1e-4 if cfg.optimizer == "adamw" else 0.0)
        opt = torch.optim.AdamW(model.parameters(), cfg.learning_rate, weight_decay=decay, eps=1e-7)
    total = max(1, cfg.epochs * steps)
    warmup = cfg.warmup_epochs * steps

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if cfg.schedule != "cosine":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))

    schedule = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    aug = exp.augmentation.params if exp.augmentation.policy == "flip_translate" else None
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).astype("float32") / 255.0).contiguous(
        memory_format=torch.channels_last
    )
    yt = torch.from_numpy(np.asarray(y, dtype="int64"))
    net = torch.compile(model) if compiled else model

    def augment(images):
        if aug is None:
            return images
        n = len(images)
        if aug.get("flip", True):
            flip = torch.rand(n) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        shift = aug.get("translate", 0.1)
        if shift:
            theta = torch.zeros(n, 2, 3)
            theta[:, 0, 0] = theta[:, 1, 1] = 1.0
            theta[:, :, 2] = (torch.rand(n, 2) * 2 - 1) * shift * 2  # grid units: [-1, 1] spans the image
            grid = F.affine_grid(theta, images.shape, align_corners=False)
            images = F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        return images

    params = list(model.parameters())
    average = [p.detach().clone() for p in params] if cfg.ema_momentum else None  # training.ema_momentum

    def step(idx):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(augment(xt[idx])), yt[idx], label_smoothing=cfg.label_smoothing)
        loss.backward()
        opt.step()
        schedule.step()
        if average is not None:
            with torch.no_grad():
                torch._foreach_lerp_(average, params, 1.0 - cfg.ema_momentum)

    model.train()
    start = time.perf_counter()
    step(torch.arange(cfg.batch_size))
    first_step = time.perf_counter() - start
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), cfg.batch_size):
            step(perm[i : i + cfg.batch_size])
        seconds.append(time.perf_counter() - start)
    return {
        "img_s": len(x) / statistics.median(seconds[1:]),
        "first_step_seconds": first_step,
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
    }


def check_reuse(out: Path, exp, experiment, reuse: bool) -> None:
    """Refuse an --out that holds another recipe's runs (a candidate's figures loaded as this
    one's, and a test look counted twice), unless --reuse says to keep them beside this one's."""
    from kerasexp import rundir

    made = rundir.read_json(out / f"{rundir.SUMMARY}.json", {}).get("experiment")
    same = not made or Path(made).resolve() == Path(str(experiment)).resolve()
    other = [] if same else [f"summary.json of {made}"]
    for folder in sorted(rundir.seed_folders(out)) if out.is_dir() else []:
        try:
            rundir.check_same_config(folder, exp)
        except UserError:
            other.append(f"{folder.name}/ of another config")
    if other and not reuse:
        raise UserError(
            f"bench speedrun: --out {out} holds another recipe's runs ({', '.join(other)}); "
            "give a new --out, or pass --reuse to keep them beside this recipe's"
        )


def speedrun(
    experiment: str | Path,
    seeds: list[int],
    out: str | Path,
    repeats: int = 3,
    timing_images: int = 12000,
    reuse: bool = False,
) -> dict:
    from kerasexp import rundir
    from kerasexp.bench.timing import alternate, torch_contenders
    from kerasexp.config import Experiment, load_experiment, to_dict
    from kerasexp.data import load_dataset
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs
    from kerasexp.models.normalization import with_train_stats
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.runs import run_seeds

    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    check_torch_recipe(exp)
    out = Path(out)
    check_reuse(out, exp, experiment, reuse)
    started = timestamp()
    run_seeds(exp, out, seeds)
    data = load_dataset(exp.dataset)
    macs = forward_macs(
        create_model(
            exp.model.name,
            data.input_shape,
            data.num_classes,
            **with_train_stats(exp.model.params, data.x_train),
        )
    )
    per_seed = []
    for seed in seeds:
        run_dir = rundir.seed_dir(out, seed)
        metrics, record = rundir.read_metrics(run_dir), rundir.read_record(run_dir)
        per_seed.append(
            {
                "seed": seed,
                "test_accuracy": metrics["accuracy"],
                "accuracy_ci95": metrics["accuracy_ci95"],
                "wall_minutes": record["wall_seconds"] / 60,
                **run_flops(exp, data, run_dir, macs),
            }
        )

    x, y = data.x_train[:timing_images], data.y_train[:timing_images]
    torch_peers, torch_runs = torch_contenders(torch_round, to_dict(exp), x, y, TIMED_EPOCHS)
    rounds = alternate({"kerasexp": lambda: keras_round(exp, x, y), **torch_peers}, repeats)
    eager, compiled = rounds.median("torch_eager"), rounds.median("torch_compiled")
    faster = None if eager is None else ("compiled" if compiled and compiled > eager else "eager")
    accuracies = [row["test_accuracy"] for row in per_seed]
    summary = {
        "experiment": str(experiment),
        "command": command_line(),
        "started": started,
        "seeds": seeds,
        "mean_test_accuracy": statistics.mean(accuracies),
        "std_test_accuracy": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
        "train_pflop": statistics.mean(row["pflop"] for row in per_seed),
        "epochs": per_seed[0]["epochs"],
        "wall_minutes": statistics.mean(row["wall_minutes"] for row in per_seed),
        "forward_macs": macs,
        "train_images": len(data.x_train),
        "val_images": len(data.x_val),
        "test_images": len(data.x_test),
        # torch's seconds for the same training over kerasexp's: > 1 means Keras is faster
        "ratio_vs_torch": None if faster is None else rounds.ratio("kerasexp", f"torch_{faster}"),
        "torch_mode": faster,
        "kerasexp_img_s": rounds.median("kerasexp"),
        "torch_eager_img_s": eager,
        "torch_compiled_img_s": compiled,
        "torch_compile_seconds": statistics.median(
            r["first_step_seconds"] for r in torch_runs["compiled"] if r
        )
        if any(torch_runs["compiled"])
        else None,
        "timing_images": len(x),
        "timed_epochs_per_round": TIMED_EPOCHS - 1,
        "repeats": repeats,
        "per_seed": per_seed,
        "rounds": rounds.as_dict(),
        "machine": machine_description(),
        "reference": {"source": exp.reference.source, "test_accuracy": exp.reference.test_accuracy}
        if exp.reference.source
        else None,
    }
    rundir.write_summary(out, summary, summary_markdown(summary))
    return summary


def summary_markdown(s: dict) -> str:
    """summary.md: the speedrun's headline figures, then one row a seed."""
    from kerasexp.evaluation.intervals import span

    rows = "\n".join(
        f"| {r['seed']} | {r['test_accuracy']:.4f} | {span(r['accuracy_ci95'])} "
        f"| {r['epochs']} | {r['pflop']:.4f} | {r['wall_minutes']:.1f} |"
        for r in s["per_seed"]
    )
    ratio = (
        "n/a (no torch)"
        if s["ratio_vs_torch"] is None
        else f"{s['ratio_vs_torch']:.3f} (PyTorch {s['torch_mode']})"
    )
    m = s["machine"]
    verdict = []
    if s.get("reference"):
        r = s["reference"]
        verdict.append(
            f"Reference ({r['source']}): {r['test_accuracy']:.3f}; this mean is "
            f"{'at or above' if s['mean_test_accuracy'] >= r['test_accuracy'] else 'below'} it."
        )
    if len(s["seeds"]) < 3:
        verdict.append(
            f"{len(s['seeds'])} seed(s) only: a first look, not evidence of an order (three seeds are)."
        )
    verdict = "\n" + "\n".join(verdict) + "\n" if verdict else ""
    return f"""# Speedrun: {s["experiment"]}

Made by `{s["command"]}` ({s["started"]}); machine: {m["cpu"]} ({", ".join(m["cpu_flags"])}), {m["cores"]} cores,
GPU: {m["gpus"]}; TensorFlow {m["tensorflow"]}, Keras {m["keras"]}.

**Test accuracy {s["mean_test_accuracy"]:.4f} ± {s["std_test_accuracy"]:.4f}** (mean ± std over seeds
{", ".join(map(str, s["seeds"]))}) for **{s["train_pflop"]:.4f} PFLOP** a run ({s["forward_macs"] / 1e6:.1f} M forward
multiply-adds an image; 6 x multiply-adds x {s["train_images"]} training images x {s["epochs"]} epochs, plus
2 x multiply-adds x every validation and test-time view), {s["wall_minutes"]:.1f} minutes a run.
ratio_vs_torch: {ratio}: PyTorch's time for the same training over kerasexp's, medians of
{s["repeats"]} alternating rounds of {s["timed_epochs_per_round"]} timed epochs on {s["timing_images"]} images.
{verdict}
| seed | test accuracy | 95% interval | epochs | PFLOP | minutes |
|---|---|---|---|---|---|
{rows}
"""


DEFAULTS = {"speedrun": (None, None)}


def main(args) -> int:
    seeds = args.seeds or [0, 1, 2]
    summary = speedrun(
        args.experiment or DEFAULT_EXPERIMENT,
        seeds,
        args.out or "reports/speedrun",
        repeats=args.repeats,
        reuse=getattr(args, "reuse", False),
    )
    print(json.dumps({k: v for k, v in summary.items() if k not in ("per_seed", "rounds", "machine")}))
    return 0
