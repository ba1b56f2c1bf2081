"""`kerasexp compare RUN_DIR ... --out reports/NAME`: one table of finished runs, each beside the
figures its experiment file quotes from a report ([reference])."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kerasexp import rundir
from kerasexp.io import write_csv, write_text
from kerasexp.evaluation.report import markdown_table


def run_row(run_dir: Path) -> dict:
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
        "test_macro_f1": metrics["macro_f1"],
        "test_loss": metrics.get("loss"),
        "trainable_params": run.get("trainable_params", run.get("params")),
        "epochs": t["epochs"],
        "seed": t["seed"],
        "minutes": round(run.get("wall_seconds", float("nan")) / 60, 1),
        "reference_test_acc": ref_acc,
        "diff": None if ref_acc is None else metrics["accuracy"] - ref_acc,
        "reference": ref.get("source", ""),
    }


def compare(run_dirs: list[str], out: str, title: str = "") -> pd.DataFrame:
    table = pd.DataFrame([run_row(Path(d)) for d in run_dirs])
    out = Path(out)
    write_csv(out.with_suffix(".csv"), table)
    machine = rundir.read_metrics(run_dirs[0]).get("run", {}).get("machine", {})
    lines = [f"# {title or out.stem}", "",
             "Each row is a run folder made by `kerasexp train` (its command, seed, wall time and "
             "machine are in the folder's run.json and metrics.json); this table was made by "
             f"`kerasexp compare {' '.join(run_dirs)} --out {out}`.", ""]
    if machine:
        lines += [f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, GPU: {machine.get('gpus')}; "
                  f"TensorFlow {machine.get('tensorflow')}, Keras {machine.get('keras')}.", ""]
    lines.append(markdown_table(table))
    write_text(out.with_suffix(".md"), "\n".join(lines))
    return table
