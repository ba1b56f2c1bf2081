"""Groups of seed runs (one experiment file each, `kerasexp train --seeds` folders) as one table
beside the figures their files quote from a report ([reference]): mean ± std over seeds, the two
best by validation on the test set with paired tests, and their per-class figures. Report 002's
variant table (python -m kerasexp.variants) is one such table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp import rundir
from kerasexp.evaluation.compare import paired_tests
from kerasexp.evaluation.intervals import accuracy_ci95, span
from kerasexp.evaluation.report import markdown_table, per_class_table
from kerasexp.atomic import write_csv


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for one seed)."""
    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def quoted(figure: float) -> float | None:
    """A [reference] figure, None where the report gave none (0 in the file)."""
    return figure or None


def seed_rows(groups: dict[str, Path], seeds: list[int]) -> pd.DataFrame:
    """One row per group and seed, read back from the run folders: train and validation accuracy
    at the epoch chosen on validation, and the test figures of those weights."""
    rows = []
    for name, group in groups.items():
        for seed in seeds:
            run_dir = rundir.seed_dir(group, seed)
            metrics = rundir.read_metrics(run_dir)
            history = pd.read_csv(run_dir / rundir.HISTORY)
            best = metrics["evaluation_choices"]["epoch"]["epoch"]  # chosen on validation
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    "params": metrics["run"]["params"],
                    "train_acc": history["accuracy"].iloc[best - 1],
                    "val_acc": history["val_accuracy"].iloc[best - 1],
                    "test_acc": metrics["accuracy"],
                    "test_acc_ci95": metrics["accuracy_ci95"],
                    "test_macro_f1": metrics["macro_f1"],
                    "epochs": len(history),
                    "best_epoch": best,
                    "seconds": metrics["run"]["wall_seconds"],
                }
            )
    return pd.DataFrame(rows)


def _within(reference: float | None, mean: float, std: float, n: int) -> str:
    """Whether a published figure lies inside our seeds' spread (mean ± 2 std)."""
    if reference is None or n < 2:
        return ""
    return "yes" if abs(reference - mean) <= 2 * std else "no"


def group_table(per_seed: pd.DataFrame, references: dict, n: int) -> pd.DataFrame:
    """Table 1: a row a group, mean ± std over seeds beside its file's reference figures."""
    rows = []
    for name, group in per_seed.groupby("variant", sort=False):
        ref = references[name]
        row = {"variant": name, "params": int(group["params"].iloc[0])}
        for key in ("train_acc", "val_acc", "test_acc"):
            row[f"{key}_mean"], row[f"{key}_std"] = mean_std(group[key])
        row.update(
            val_acc_min=group["val_acc"].min(),
            val_acc_max=group["val_acc"].max(),
            best_epochs=",".join(map(str, group["best_epoch"])),
            minutes=group["seconds"].sum() / 60,
            report_train_acc=quoted(ref.train_accuracy),
            report_val_acc=quoted(ref.val_accuracy),
            report_val_within_2sd=_within(
                quoted(ref.val_accuracy), row["val_acc_mean"], row["val_acc_std"], n
            ),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def best_on_test(
    per_seed: pd.DataFrame, groups: dict[str, Path], references: dict, best_two: list[str], n: int
) -> pd.DataFrame:
    """Table 2: the two best by mean validation accuracy on the test set, paired seed with seed."""
    paired = paired_tests([str(groups[name]) for name in best_two]) if len(best_two) == 2 else []
    rows = []
    for i, name in enumerate(best_two):
        group = per_seed[per_seed["variant"] == name]
        mean, std = mean_std(group["test_acc"])
        f1_mean, f1_std = mean_std(group["test_macro_f1"])
        ref = quoted(references[name].test_accuracy)
        rows.append(
            {
                "variant": name,
                "test_acc_mean": mean,
                "test_acc_std": std,
                "per_seed": ", ".join(
                    f"{a:.4f} [{lo:.4f}-{hi:.4f}]"
                    for a, (lo, hi) in zip(group["test_acc"], group["test_acc_ci95"])
                ),
                "macro_f1_mean": f1_mean,
                "macro_f1_std": f1_std,
                "report_test_acc": ref,
                "test_acc_diff": None if ref is None else ref - mean,
                "report_within_2sd": _within(ref, mean, std, n),
                **({k: paired[i][k] for k in ("p_value", "significant")} if paired else {}),
            }
        )
    return pd.DataFrame(rows)


def per_class_over_seeds(group: Path, seeds: list[int]) -> pd.DataFrame:
    """Per-class precision, recall and F1 of each seed's test predictions: mean and std over seeds."""
    frames = []
    for seed in seeds:
        saved = np.load(rundir.seed_dir(group, seed) / rundir.PREDICTIONS)
        names = [str(c) for c in saved["class_names"]]
        frames.append(per_class_table(saved["y_true"], saved["probs"].argmax(1), names))
    stacked = pd.concat(frames)
    stats = stacked.groupby("class", sort=False)[["precision", "recall", "f1"]].agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    return stats.reset_index().assign(support=frames[0]["support"].to_numpy())


def seed_tables(groups: dict[str, Path], references: dict, seeds: list[int]) -> dict:
    """Tables 1-3 of seed groups (name -> folder) beside their [reference] figures (name ->
    ReferenceConfig)."""
    per_seed = seed_rows(groups, seeds)
    table = group_table(per_seed, references, len(seeds))
    best_two = table.sort_values("val_acc_mean", ascending=False, kind="stable")["variant"].head(2).tolist()
    return {
        "seeds": per_seed,
        "variants": table,
        "best_two": best_two,
        "test": best_on_test(per_seed, groups, references, best_two, len(seeds)),
        "per_class": {name: per_class_over_seeds(groups[name], seeds) for name in best_two},
    }


def write_seed_tables(out: Path, tables: dict) -> None:
    """seeds.csv, variants.csv, test.csv and per_class_<name>.csv into `out`."""
    per_seed = tables["seeds"]
    write_csv(out / "seeds.csv", per_seed.assign(test_acc_ci95=per_seed["test_acc_ci95"].map(span)))
    write_csv(out / "variants.csv", tables["variants"])
    write_csv(out / "test.csv", tables["test"])
    for name, frame in tables["per_class"].items():
        write_csv(out / f"per_class_{name}.csv", frame)


def _pm(mean, std) -> str:
    return f"{mean:.4f} ± {std:.4f}"


def render_markdown(tables: dict, meta: dict, title: str, quoted_from: str) -> str:
    """The tables as one markdown page: how they were made (meta: command, seeds, data, machine),
    Table 1, Table 2 with how far the report's test figures lie from ours, Table 3 and the curves.
    `quoted_from` names the report tables the [reference] figures come from."""
    from kerasexp.training.progress import format_seconds

    table, test, per_seed, best_two = tables["variants"], tables["test"], tables["seeds"], tables["best_two"]
    m = meta["machine"]
    seeds = meta["seeds"]
    show = pd.DataFrame(
        {
            "variant": table["variant"],
            "params": table["params"],
            "train_acc": [_pm(a, b) for a, b in zip(table["train_acc_mean"], table["train_acc_std"])],
            "val_acc": [_pm(a, b) for a, b in zip(table["val_acc_mean"], table["val_acc_std"])],
            "val_acc range": [f"{a:.4f}-{b:.4f}" for a, b in zip(table["val_acc_min"], table["val_acc_max"])],
            "test_acc": [_pm(a, b) for a, b in zip(table["test_acc_mean"], table["test_acc_std"])],
            "best_epochs": table["best_epochs"],
            "minutes": table["minutes"],
            "report_train_acc": table["report_train_acc"],
            "report_val_acc": table["report_val_acc"],
            "report val within ± 2 std": table["report_val_within_2sd"],
        }
    )
    test_show = test.assign(
        test_acc=[_pm(a, b) for a, b in zip(test["test_acc_mean"], test["test_acc_std"])],
        macro_f1=[_pm(a, b) for a, b in zip(test["macro_f1_mean"], test["macro_f1_std"])],
    )
    test_cols = [
        "variant",
        "test_acc",
        "per_seed",
        "macro_f1",
        "report_test_acc",
        "report_within_2sd",
        *[c for c in ("p_value", "significant") if c in test],
    ]
    lines = [
        f"# {title}",
        "",
        f"Produced by `{meta['command']}` (started {meta['started']}; "
        f"{format_seconds(meta['training_seconds'])} of training over {len(per_seed)} runs, each run's own "
        "record in `<variant>/seed_S/run.json`).",
        "",
        f"- training seeds {', '.join(map(str, seeds))} (one run each; the split, seed {meta['split_seed']}, "
        f"and the test images are the same for all), {meta['epochs']} epochs, batch {meta['batch_size']}, "
        f"learning-rate schedule `{meta['schedule']}`",
        f"- data: {meta['data']}; {meta['train_images']} train / {meta['val_images']} validation "
        f"(stratified, fraction {meta['val_fraction']}) / {meta['test_images']} test images",
        f"- machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpus']}; TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, Python {m['python']}",
        "- Each run keeps the weights of its best validation epoch (`best_epochs`, one a seed); train_acc "
        "and val_acc are that epoch's (train_acc as Keras logs it, dropout on), test_acc is those weights on "
        "the "
        f'test set. Figures are mean ± std over seeds; report_* are {quoted_from}; "within ± 2 '
        "std\" says whether the report's figure lies inside our seeds' spread.",
        "",
        "## Table 1: training and validation accuracy",
        "",
        markdown_table(show),
        "## Table 2: test accuracy of the two best by mean validation accuracy",
        "",
        "Chosen on validation only; per_seed gives each seed's test accuracy with its 95% Wilson interval. "
        "`p_value`: paired t-test over training seeds of the two's per-seed test accuracy (seed i against "
        'seed i; kerasexp.evaluation.compare.paired_tests); `significant` states its direction, or "too few '
        'seeds to test" under 3 seeds.',
        "",
        markdown_table(test_show[test_cols]),
        gap_note(test, meta["test_images"], len(meta["seeds"])),
        "",
    ]
    for name in best_two:
        frame = tables["per_class"][name]
        shown = pd.DataFrame(
            {
                "class": frame["class"],
                **{
                    k: [_pm(a, b) for a, b in zip(frame[f"{k}_mean"], frame[f"{k}_std"])]
                    for k in ("precision", "recall", "f1")
                },
                "support": frame["support"],
            }
        )
        lines += [
            f"## Table 3: {name}, per class on the test set (mean ± std over seeds)",
            "",
            f"![confusion matrix, seed {seeds[0]}]({name}/seed_{seeds[0]}/confusion_matrix.png)",
            "",
            markdown_table(shown),
        ]
    lines += [f"## Training curves (seed {seeds[0]})", ""]
    lines += [f"![{name}]({name}/seed_{seeds[0]}/curves.png)" for name in table["variant"]]
    return "\n".join(lines) + "\n"


def gap_note(test: pd.DataFrame, test_images: int, n_seeds: int) -> str:
    """One sentence a row: how far the report's test figure lies from ours, in our seeds' std, in
    the width of one run's 95% interval, and as the two-sided p of a t prediction interval for one
    new run of our recipe (n - 1 degrees of freedom: with 3 seeds a wide one)."""
    from kerasexp.evaluation.significance import new_run_p

    notes = []
    for row in test.itertuples(index=False):
        if row.report_test_acc is None or row.report_test_acc != row.report_test_acc:
            continue
        lo, hi = accuracy_ci95(round(row.test_acc_mean * test_images), test_images)
        spread = (
            f"{abs(row.test_acc_diff) / row.test_acc_std:.1f} std of our seeds" if row.test_acc_std else "n/a"
        )
        p = new_run_p(row.test_acc_mean, row.test_acc_std, n_seeds, row.report_test_acc)
        new_run = "" if p is None else f"; a new run of ours lands this far or farther with p {p:.3f}"
        notes.append(
            f"The report's {row.variant} test accuracy {row.report_test_acc:.4f} is "
            f"{row.test_acc_diff:+.4f} from our mean ({spread}; one run's 95% interval at our mean "
            f"is {lo:.4f}-{hi:.4f}{new_run})."
        )
    return "\n".join(notes)
