"""`kerasexp compare RUN_DIR ... --out reports/NAME`: one table of finished runs, each beside the
figures its experiment file quotes from a report ([reference])."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError
from kerasexp.io import write_csv, write_text
from kerasexp.evaluation.report import markdown_table


def run_row(run_dir: Path) -> dict:
    if rundir.is_seed_group(run_dir):
        return seed_group_row(Path(run_dir))
    metrics = rundir.read_metrics(run_dir)
    config = rundir.read_config(run_dir)
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
        "tta": config["evaluation"].get("tta", "none"),
        "test_acc": metrics["accuracy"],
        "test_acc_ci95": _interval(metrics.get("accuracy_ci95")),
        "test_macro_f1": metrics["macro_f1"],
        "test_macro_f1_ci95": _interval(metrics.get("macro_f1_ci95")),
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
    import json

    summary = json.loads((group / rundir.SEEDS).read_text())
    runs = [run_row(rundir.seed_dir(group, seed)) for seed in summary["seeds"]]
    row = dict(runs[0])
    for key, metric in (("test_acc", "accuracy"), ("test_macro_f1", "macro_f1"), ("test_loss", "loss")):
        row[key] = summary[metric]["mean"]
    row.update(run=group.name, test_acc_ci95=f"std {summary['accuracy']['std']:.4f}",
               test_macro_f1_ci95=f"std {summary['macro_f1']['std']:.4f}",
               seed=",".join(map(str, summary["seeds"])), minutes=round(sum(r["minutes"] for r in runs), 1))
    if row["reference_test_acc"] is not None:
        row["diff"] = row["test_acc"] - row["reference_test_acc"]
    return row


def _interval(ci) -> str:
    """[low, high] as text ("" where the run predates intervals: reports check lists it)."""
    return f"{ci[0]:.4f}-{ci[1]:.4f}" if ci else ""


def _predictions(run_dir: Path):
    saved = np.load(Path(run_dir) / rundir.PREDICTIONS)
    return saved["y_true"], saved["probs"].argmax(axis=1), saved["probs"].shape[1]


def paired_tests(run_dirs: list[str]) -> list[dict]:
    """Each run against the first (the reference) on the same test images: exact McNemar for
    accuracy, paired bootstrap for macro-F1. Runs tested on other images are refused."""
    from kerasexp.evaluation.intervals import mcnemar_p, paired_bootstrap_macro_f1_p

    if any(rundir.is_seed_group(d) for d in run_dirs):  # groups: mean +/- std over seeds, no single pairing
        return [{"p_value": None, "macro_f1_p_value": None, "significant": "see std over seeds"} for _ in run_dirs]
    y_true, reference, k = _predictions(run_dirs[0])
    rows = [{"p_value": None, "macro_f1_p_value": None, "significant": "reference"}]
    for run_dir in run_dirs[1:]:
        other_true, other, other_k = _predictions(run_dir)
        if len(other_true) != len(y_true) or not np.array_equal(other_true, y_true) or other_k != k:
            raise UserError(f"{run_dir} was tested on other images than {run_dirs[0]} ({len(other_true)} vs "
                            f"{len(y_true)} test images, or other labels); a paired comparison needs one test split")
        test = mcnemar_p(reference == y_true, other == y_true)
        rows.append({"p_value": test["p_value"],
                     "macro_f1_p_value": paired_bootstrap_macro_f1_p(y_true, reference, other, k),
                     "significant": "yes" if test["p_value"] < 0.05 else "no"})
    return rows


def compare(run_dirs: list[str], out: str, title: str = "") -> pd.DataFrame:
    table = pd.DataFrame([run_row(Path(d)) for d in run_dirs])
    tests = pd.DataFrame(paired_tests(run_dirs))
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
             f"`kerasexp compare {' '.join(run_dirs)} --out {out}`.", "",
             "Intervals are 95%: Wilson for accuracy, a bootstrap over test images for macro-F1. `p_value` is an "
             "exact McNemar test of each run against the first on the same test images, `macro_f1_p_value` a "
             "paired bootstrap; `significant` says whether p < 0.05 (\"no\": the difference is within the noise).",
             ""]
    if machine:
        lines += [f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, GPU: {machine.get('gpus')}; "
                  f"TensorFlow {machine.get('tensorflow')}, Keras {machine.get('keras')}.", ""]
    lines.append(markdown_table(table))
    write_text(out.with_suffix(".md"), "\n".join(lines))
    return table
