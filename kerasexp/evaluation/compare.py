"""`kerasexp compare RUN_DIR ... --out reports/NAME`: one table of finished runs, each beside the
figures its experiment file quotes from a report ([reference])."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError
from kerasexp.io import write_csv, write_text
from kerasexp.evaluation.intervals import span
from kerasexp.evaluation.report import markdown_table


def run_row(run_dir: Path) -> dict:
    if rundir.is_seed_group(run_dir):
        return seed_group_row(Path(run_dir))
    metrics = rundir.read_metrics(run_dir)
    config = rundir.read_config(run_dir)
    if "training" not in config:
        raise UserError(f"{run_dir}: no {rundir.CONFIG} with a [training] section; "
                        "is it a kerasexp run folder?")
    run = metrics.get("run", {})
    ref = config.get("reference", {})
    t = config["training"]
    ref_acc = ref.get("test_accuracy") or None
    return {
        "run": run_dir.name,
        "model": config["model"]["name"],
        "loss": t["loss"] + (f" (ls {t['label_smoothing']})" if t["label_smoothing"] else ""),
        "class_weight": t["class_weight"] if isinstance(t["class_weight"], str) else "given",
        "schedule": t["schedule"],
        "kfold": config["evaluation"]["kfold"] or "",
        "tta": "auto " + "/".join(tta) if isinstance(tta := config["evaluation"].get("tta", "none"), list) else tta,
        "test_acc": metrics["accuracy"],
        "test_acc_ci95": span(metrics.get("accuracy_ci95")),
        "test_macro_f1": metrics["macro_f1"],
        "test_macro_f1_ci95": span(metrics.get("macro_f1_ci95")),
        "test_loss": metrics.get("loss"),
        "trainable_params": run.get("trainable_params", run.get("params")),
        "epochs": t["epochs"],
        "seed": t["seed"],
        "minutes": round(run.get("wall_seconds", float("nan")) / 60, 1),
        "reference_test_acc": ref_acc,
        "diff": None if ref_acc is None else metrics["accuracy"] - ref_acc,
        "reference": ref.get("source", ""),
    }


def seed_group_row(group: Path) -> dict:
    """A `kerasexp train --seeds` folder as one row: mean over seeds, the std as its spread."""
    summary = rundir.read_json(group / rundir.SEEDS)
    runs = [run_row(rundir.seed_dir(group, seed)) for seed in summary["seeds"]]
    row = dict(runs[0])
    for key, metric in (("test_acc", "accuracy"), ("test_macro_f1", "macro_f1"), ("test_loss", "loss")):
        row[key] = summary[metric]["mean"]
    row.update(run=group.name, seed=",".join(map(str, summary["seeds"])),
               minutes=round(sum(r["minutes"] for r in runs), 1))
    if len(runs) > 1:  # one seed has no spread: its row keeps the run's own 95% intervals
        row.update(test_acc_ci95=f"std {summary['accuracy']['std']:.4f}",
                   test_macro_f1_ci95=f"std {summary['macro_f1']['std']:.4f}")
    if row["reference_test_acc"] is not None:
        row["diff"] = row["test_acc"] - row["reference_test_acc"]
    return row


def _predictions(run_dir: Path):
    saved = rundir.read_predictions(run_dir)
    return saved["y_true"], saved["probs"].argmax(axis=1), saved["probs"].shape[1]


def _seed_runs(run_dir: str) -> dict[int | None, Path]:
    """A run as {None: folder}; a seed group as {seed: its seed's folder}."""
    if not rundir.is_seed_group(run_dir):
        return {None: Path(run_dir)}
    seeds = rundir.read_json(Path(run_dir) / rundir.SEEDS)["seeds"]
    return {seed: rundir.seed_dir(run_dir, seed) for seed in seeds}


def _paired(reference_dir: Path, other_dir: Path) -> tuple[float, float]:
    from kerasexp.evaluation.intervals import mcnemar_p, paired_bootstrap_macro_f1_p

    y_true, reference, k = _predictions(reference_dir)
    other_true, other, other_k = _predictions(other_dir)
    if len(other_true) != len(y_true) or not np.array_equal(other_true, y_true) or other_k != k:
        raise UserError(f"{other_dir} was tested on other images than {reference_dir} ({len(other_true)} vs "
                        f"{len(y_true)} test images, or other labels); a paired comparison needs one test split")
    return (mcnemar_p(reference == y_true, other == y_true)["p_value"],
            paired_bootstrap_macro_f1_p(y_true, reference, other, k))


def paired_tests(run_dirs: list[str], against: str = "first") -> list[dict]:
    """Each run against the first (the reference), or with against="previous" against the row
    before it (a ladder's rungs), on the same test images: exact McNemar for accuracy, paired
    bootstrap for macro-F1. Runs tested on other images are refused.

    Seed groups pair seed with seed (the same test images, the same training seed): one test a
    seed; `p_value` is the largest of them and `significant` counts the seeds with p < 0.05, so
    "yes" means the difference held in every seed."""
    rows = [{"p_value": None, "macro_f1_p_value": None, "significant": "reference"}]
    for i, run_dir in enumerate(run_dirs[1:], start=1):
        reference_dir = run_dirs[0] if against == "first" else run_dirs[i - 1]
        reference, other = _seed_runs(reference_dir), _seed_runs(run_dir)
        if (None in reference) != (None in other):  # a group beside a single run: shown, not tested
            rows.append({"p_value": None, "macro_f1_p_value": None, "significant": "not paired (group vs run)"})
            continue
        seeds = [s for s in reference if s in other]
        if not seeds:
            raise UserError(f"{run_dir} shares no training seed with {reference_dir}; "
                            "pair groups run with the same --seeds")
        tests = [_paired(reference[s], other[s]) for s in seeds]
        p_acc, p_f1 = max(t[0] for t in tests), max(t[1] for t in tests)
        hits = sum(t[0] < 0.05 for t in tests)
        if None in reference:
            significant = "yes" if hits else "no"
        else:
            significant = "yes" if hits == len(tests) else f"no ({hits} of {len(tests)} seeds p < 0.05)"
        rows.append({"p_value": p_acc, "macro_f1_p_value": p_f1, "significant": significant})
    return rows


def compare(run_dirs: list[str], out: str, title: str = "", against: str = "first") -> pd.DataFrame:
    table = pd.DataFrame([run_row(Path(d)) for d in run_dirs])
    tests = pd.DataFrame(paired_tests(run_dirs, against))
    at = table.columns.get_loc("test_macro_f1_ci95") + 1
    for column in reversed(tests.columns):
        table.insert(at, column, tests[column])
    out = Path(out)
    write_csv(out.with_suffix(".csv"), table)
    first = Path(run_dirs[0])
    if rundir.is_seed_group(first):
        first = next(d for d in sorted(first.glob("seed_*")) if (d / rundir.METRICS).exists())
    machine = rundir.read_metrics(first).get("run", {}).get("machine", {})
    lines = [f"# {title or out.stem}", "",
             "Each row is a run folder made by `kerasexp train` (its command, seed, wall time and "
             "machine are in the folder's run.json and metrics.json); this table was made by "
             f"`kerasexp compare {' '.join(run_dirs)} --out {out}"
             f"{'' if against == 'first' else ' --against previous'}`.", "",
             "Intervals are 95%: Wilson for accuracy, a bootstrap over test images for macro-F1. `p_value` is an "
             f"exact McNemar test of each run against {'the first' if against == 'first' else 'the row above'} "
             "on the same test images, `macro_f1_p_value` a "
             "paired bootstrap; `significant` says whether p < 0.05 (\"no\": the difference is within the noise). "
             "Seed groups show mean over seeds with the std as spread (a group of one seed its own intervals), "
             "and are tested seed with seed: the "
             "largest p of the seeds, \"yes\" only if every seed's p < 0.05.",
             ""]
    if machine:
        lines += [f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, GPU: {machine.get('gpus')}; "
                  f"TensorFlow {machine.get('tensorflow')}, Keras {machine.get('keras')}.", ""]
    lines.append(markdown_table(table, formats={"p_value": ".2g", "macro_f1_p_value": ".2g"}))
    write_text(out.with_suffix(".md"), "\n".join(lines))
    return table
