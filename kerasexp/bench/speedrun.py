"""`kerasexp bench speedrun`: compute to accuracy on Fashion-MNIST. A shared machine's speed drifts
from hour to hour, so the target is compute, not minutes: the recipe (an experiment
file, default studies/fmnist_fast.toml) trains once a seed through the one experiment path
(resumable run folders, OUT/seed_S/), its FLOPs are counted from the model (kerasexp.models.cost:
6 x forward multiply-adds x training images seen, plus 2 x multiply-adds x every validation and
test-time view evaluated), and the same training in PyTorch (kerasexp.bench.torch_peer) is timed
beside a Keras round of it (alternating rounds, each in its own process for torch) for
`ratio_vs_torch`. Writes
OUT/summary.json and OUT/summary.md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

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
    from kerasexp.bench.torch_peer import check_recipe, torch_round
    from kerasexp.config import Experiment, load_experiment, to_dict
    from kerasexp.data import load_dataset
    from kerasexp.models import create_model
    from kerasexp.models.cost import forward_macs
    from kerasexp.models.normalization import with_train_stats
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.runs import run_seeds

    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    check_recipe(exp, "bench speedrun")
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
