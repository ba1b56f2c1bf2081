"""`kerasexp compare RUN_DIR ... --out reports/NAME`: one table of finished runs, each beside the
figures its experiment file quotes from a report ([reference])."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.errors import UserError
from kerasexp.atomic import write_text
from kerasexp.evaluation.intervals import span
from kerasexp.evaluation.report import markdown_table


def run_row(run_dir: Path) -> dict:
    if rundir.is_seed_group(run_dir):
        return seed_group_row(Path(run_dir))
    metrics = rundir.read_metrics(run_dir)
    config = rundir.read_config(run_dir)
    if "training" not in config:
        raise UserError(
            f"{run_dir}: no {rundir.CONFIG} with a [training] section; is it a kerasexp run folder?"
        )
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
        "tta": "auto " + "/".join(tta)
        if isinstance(tta := config["evaluation"].get("tta", "none"), list)
        else tta,
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
    row.update(
        run=group.name,
        seed=",".join(map(str, summary["seeds"])),
        minutes=round(sum(r["minutes"] for r in runs), 1),
    )
    if len(runs) > 1:  # one seed has no spread: its row keeps the run's own 95% intervals
        row.update(
            test_acc_ci95=f"std {summary['accuracy']['std']:.4f}",
            test_macro_f1_ci95=f"std {summary['macro_f1']['std']:.4f}",
        )
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


def _paired(reference_dir: Path, other_dir: Path) -> tuple[float, float, float, float]:
    """One pair of trained networks on the same test images: McNemar p, paired-bootstrap macro-F1 p,
    and each one's accuracy (the per-seed figures the seed-level test pairs)."""
    from kerasexp.evaluation.intervals import mcnemar_p, paired_bootstrap_macro_f1_p

    y_true, reference, k = _predictions(reference_dir)
    other_true, other, other_k = _predictions(other_dir)
    if len(other_true) != len(y_true) or not np.array_equal(other_true, y_true) or other_k != k:
        raise UserError(
            f"{other_dir} was tested on other images than {reference_dir} ({len(other_true)} vs "
            f"{len(y_true)} test images, or other labels); a paired comparison needs one test split"
        )
    return (
        mcnemar_p(reference == y_true, other == y_true)["p_value"],
        paired_bootstrap_macro_f1_p(y_true, reference, other, k),
        float(np.mean(reference == y_true)),
        float(np.mean(other == y_true)),
    )


NOT_TESTED = {
    "effect": None,
    "effect_ci95": "",
    "direction": "",
    "p_value": None,
    "wilcoxon_p": None,
    "p_holm": None,
    "mcnemar_p": "",
    "macro_f1_p_value": "",
}


def _signed_span(ci) -> str:
    return f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else ""


def _ps(values) -> str:
    """Per-seed p-values as one cell, in seed order."""
    return " / ".join(f"{p:.2g}" for p in values)


def _pair_row(reference_dir: str, run_dir: str):
    """The test of one row against its reference: a SeedTest over the seeds both share, and the
    per-seed McNemar and macro-F1 p-values as detail (None: a group beside a single run)."""
    from kerasexp.evaluation.significance import seed_test

    reference, other = _seed_runs(reference_dir), _seed_runs(run_dir)
    if (None in reference) != (None in other):  # a group beside a single run: shown, not tested
        return None
    seeds = [s for s in reference if s in other]
    if not seeds:
        raise UserError(
            f"{run_dir} shares no training seed with {reference_dir}; pair groups run with the same --seeds"
        )
    pairs = [_paired(reference[s], other[s]) for s in seeds]
    names = distinct_names([Path(reference_dir), Path(run_dir)])
    test = seed_test([p[2] for p in pairs], [p[3] for p in pairs], *names)
    return test, _ps(p[0] for p in pairs), _ps(p[1] for p in pairs)


def paired_tests(run_dirs: list[str], against: str = "first") -> list[dict]:
    """Each run against the first (the reference), or with against="previous" against the row
    before it (a ladder's rungs), on the same test images; runs tested on other images are refused.

    The finding is a test over training seeds (kerasexp.evaluation.significance): seed i against
    seed i, a paired t-test of accuracy (`p_value`, Holm-adjusted over the table in `p_holm`, which
    decides `significant`), the Wilcoxon signed-rank beside it, the direction and the mean paired
    difference (`effect`) with its 95% t interval. With fewer than 3 seeds (single runs included)
    nothing is tested: "too few seeds to test". Exact McNemar (accuracy) and the paired bootstrap
    (macro-F1) of each seed's two networks stay as detail: they see the test images' noise only."""
    from kerasexp.evaluation.significance import holm, verdict

    rows, tests = [{**NOT_TESTED, "significant": "reference"}], [None]
    for i, run_dir in enumerate(run_dirs[1:], start=1):
        reference_dir = run_dirs[0] if against == "first" else run_dirs[i - 1]
        found = _pair_row(reference_dir, run_dir)
        if found is None:
            rows.append({**NOT_TESTED, "significant": "not paired (group vs run)"})
            tests.append(None)
            continue
        test, mcnemar, macro_f1 = found
        rows.append(
            {
                "effect": test.effect,
                "effect_ci95": _signed_span(test.effect_ci95),
                "direction": test.direction,
                "p_value": test.t_p,
                "wilcoxon_p": test.wilcoxon_p,
                "p_holm": None,
                "mcnemar_p": mcnemar,
                "macro_f1_p_value": macro_f1,
            }
        )
        tests.append(test)
    adjusted = holm([row["p_value"] for row in rows])
    for row, test, p in zip(rows[1:], tests[1:], adjusted[1:]):
        row["p_holm"] = p
        if test is not None:
            row["significant"] = verdict(test, p)
    return rows


SIGNIFICANCE_TEXT = (
    "`significant` is a test over training seeds, not over test images: seed i of a row against seed i of "
    "its reference (same split), a paired t-test of per-seed accuracy (`p_value`), Holm-Bonferroni adjusted "
    "over the tests of this table (`p_holm`, which decides `significant` at 0.05; the direction is stated). "
    "`effect` is the mean paired accuracy difference (row minus reference) with its 95% t interval "
    "(`effect_ci95`); `wilcoxon_p` is the signed-rank test beside it (with 3 seeds its smallest two-sided p "
    "is 0.25: it cannot reject alone). With fewer than 3 seeds (a single run included) nothing is tested: "
    '"too few seeds to test". `mcnemar_p` (exact McNemar on accuracy) and `macro_f1_p_value` (paired '
    "bootstrap) compare each seed's two trained networks, in seed order: detail that sees the test images' "
    "noise but not the training seed's."
)


def distinct_names(paths: list[Path]) -> list[str]:
    """Each run's folder name, or as many trailing path parts as tell the runs apart
    (`none/report/best` beside `hyperband/report/best`, not `best` twice)."""
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        names = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]


def render(
    run_dirs: list[str], out: str, title: str = "", against: str = "first", found: list[Path] | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table and the text of OUT.csv and OUT.md, written nowhere: `kerasexp compare` writes
    them, `kerasexp reports check` compares them with the committed files. `found`: where the run
    folders are read from when they moved since (the text names them as `run_dirs`)."""
    found = [Path(d) for d in (found or run_dirs)]
    table = pd.DataFrame([run_row(d) for d in found])
    table["run"] = distinct_names([Path(d) for d in run_dirs])
    tests = pd.DataFrame(paired_tests([str(d) for d in found], against))
    at = table.columns.get_loc("test_macro_f1_ci95") + 1
    for column in reversed(tests.columns):
        table.insert(at, column, tests[column])
    first = found[0]
    if rundir.is_seed_group(first):
        first = next(d for d in sorted(first.glob("seed_*")) if (d / rundir.METRICS).exists())
    machine = rundir.read_metrics(first).get("run", {}).get("machine", {})
    lines = [
        f"# {title or Path(out).stem}",
        "",
        "Each row is a run folder made by `kerasexp train` (its command, seed, wall time and "
        "machine are in the folder's run.json and metrics.json); this table was made by "
        f"`kerasexp compare {' '.join(run_dirs)} --out {out}"
        f"{'' if against == 'first' else ' --against previous'}`.",
        "",
        "Intervals are 95%: Wilson for accuracy, a bootstrap over test images for macro-F1. Each row is "
        f"tested against {'the first' if against == 'first' else 'the row above'}. "
        "Seed groups show mean over seeds with the std as spread (a group of one seed its own "
        "intervals). " + SIGNIFICANCE_TEXT,
        "",
    ]
    if machine:
        lines += [
            f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, GPU: {machine.get('gpus')}; "
            f"TensorFlow {machine.get('tensorflow')}, Keras {machine.get('keras')}.",
            "",
        ]
    formats = {c: ".2g" for c in ("p_value", "wilcoxon_p", "p_holm")}
    lines.append(markdown_table(table, formats={**formats, "effect": "+.4f"}))
    notes = reference_notes(found, list(table["run"]))
    if notes:
        lines += ["", *notes]
    return table, {".csv": table.to_csv(index=False), ".md": "\n".join(lines)}


def reference_notes(found: list[Path], names: list[str]) -> list[str]:
    """For each seed group whose experiment quotes a report's test figure ([reference]): is that
    figure one of our runs? A t prediction interval for one new run (`new_run_p`); fewer than 3
    seeds: too few to test. `diff` in the table is the bare distance."""
    from kerasexp.evaluation.significance import new_run_p

    notes = []
    for folder, name in zip(found, names):
        if not rundir.is_seed_group(folder):
            continue
        summary = rundir.read_json(folder / rundir.SEEDS)
        ref = rundir.read_config(rundir.seed_dir(folder, summary["seeds"][0])).get("reference", {})
        if not ref.get("test_accuracy"):
            continue
        n, figure = len(summary["seeds"]), ref["test_accuracy"]
        mean, std = summary["accuracy"]["mean"], summary["accuracy"]["std"]
        p = new_run_p(mean, std, n, figure)
        p_text = "" if p is None else f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"
        verdict = (
            f"too few seeds to test ({n})"
            if p is None
            else f"a new run of ours lands this far or farther with p {p_text} "
            f"(t prediction interval, {n - 1} degrees of freedom)"
        )
        notes.append(
            f"`{name}`: the reference's test accuracy {figure:.4f} is {figure - mean:+.4f} from our mean "
            f"over {n} seeds ({mean:.4f} ± {std:.4f}); {verdict}. Reference: {ref.get('source', '')}."
        )
    return notes


def compare(run_dirs: list[str], out: str, title: str = "", against: str = "first") -> pd.DataFrame:
    table, texts = render(run_dirs, out, title, against)
    for suffix, text in texts.items():
        write_text(Path(out).with_suffix(suffix), text)
    return table
