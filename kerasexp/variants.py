"""Report 002's variant table on Fashion-MNIST: `python -m kerasexp.variants`.

Each variant and training seed is an ordinary run folder, trained by the one experiment path
(resumable, locked, with its own metrics.json and intervals): OUT/<variant>/seed_S/. The tables
over seeds are then written (atomically) into OUT:
  variants.csv / variants.md   one row per variant: mean ± std over seeds beside report 002's Table 1
  seeds.csv                    every variant and seed: its figures and the test accuracy's interval
  test.csv                     the two best by mean validation accuracy on the test set (Table 2),
                               with a paired t-test between them over training seeds
  per_class_<variant>.csv      Table 3: per-class precision/recall/F1, mean ± std over seeds
  variants.json                command, seeds, epochs, wall time, machine
A rerun loads finished runs instead of training them again.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kerasexp.errors import ArgumentParser, UserError, exit_on_user_error, fraction, positive_int, non_negative_int, seed_list


@dataclass(frozen=True)
class Variant:
    """One row of report 002's Table 1: a registered model plus how it is optimised,
    and the figures the report gives for it."""

    model: str
    description: str
    report_train_acc: float
    report_val_acc: float
    report_test_acc: float | None = None
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0


VARIANTS = {
    "baseline": Variant("baseline", "Annex-1 CNN, Adam 1e-3", 0.9188, 0.9173, 0.9156),
    "kernel": Variant("kernel", "7x7 kernels in conv 1 and 2", 0.9017, 0.9007),
    "bn": Variant("bn", "BatchNorm after each conv and the hidden dense", 0.9180, 0.9191, 0.9084),
    "sgd": Variant("baseline", "SGD lr 0.01, momentum 0.9", 0.9027, 0.9067,
                   optimizer="sgd", learning_rate=0.01, momentum=0.9),
    "sigmoid": Variant("sigmoid", "sigmoid in conv and hidden dense", 0.8673, 0.8765),
    # The report's other reading of its kernel variant (not run by default).
    "kernel_first": Variant("kernel_first", "7x7 kernel in conv 1 only", 0.9017, 0.9007),
}
DEFAULT_VARIANTS = ["baseline", "kernel", "bn", "sgd", "sigmoid"]
DEFAULT_EPOCHS = 15
DEFAULT_SEEDS = "0,1,2"
RECORD = "variants.json"
# The report trained with Keras defaults; batch 32 (model.fit's default) gives the
# sigmoid and SGD variants enough steps in 15 epochs, where batch 128 left them under-trained.


def parse_variants(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise UserError(
            f"unknown variant {', '.join(map(repr, unknown)) or repr(text)}; "
            f"choose from: {', '.join(VARIANTS)} (comma-separated)"
        )
    return list(dict.fromkeys(names))


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m kerasexp.variants", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=positive_int, default=DEFAULT_EPOCHS, help="epochs per variant (default %(default)s)")
    p.add_argument("--limit", type=positive_int, default=None, help="use only the first N training images (quick runs)")
    p.add_argument("--seeds", type=seed_list, default=seed_list(DEFAULT_SEEDS),
                   help=f"training seeds, one run each (default {DEFAULT_SEEDS}); splits and test images stay the same")
    p.add_argument("--seed", type=non_negative_int, default=None, help="one training seed (same as --seeds N)")
    p.add_argument("--split-seed", type=non_negative_int, default=0, help="seed of the validation split (default 0)")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help="comma-separated (default %(default)s)")
    p.add_argument("--out", default="reports/variants", help="output folder (default %(default)s)")
    p.add_argument("--data-dir", default=None, help="folder with the four Fashion-MNIST IDX files (or $KERASEXP_DATA)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="default %(default)s, as the report (Keras' default)")
    p.add_argument("--val-fraction", type=fraction, default=0.2, help="stratified validation share (default %(default)s)")
    p.add_argument("--schedule", choices=["constant", "step"], default="constant",
                   help="learning-rate schedule; step halves it every 5 epochs (default %(default)s)")
    return p


def variant_experiment(name: str, args):
    """The experiment of one variant: what `kerasexp train` would run from a file saying the same."""
    from kerasexp.config import DatasetConfig, Experiment, ModelConfig, ReferenceConfig, TrainConfig

    v = VARIANTS[name]
    return Experiment(
        dataset=DatasetConfig(name="fashion_mnist", data_dir=args.data_dir or "", val_fraction=args.val_fraction,
                              limit=args.limit or 0, seed=args.split_seed),
        model=ModelConfig(v.model),
        # Each variant ends with the weights of its best validation epoch (a checkpoint's choice):
        # at a constant rate the last epoch's validation accuracy jitters by about half a point.
        training=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=v.optimizer,
                             learning_rate=v.learning_rate, momentum=v.momentum, schedule=args.schedule,
                             restore_best=True, monitor="val_accuracy"),
        reference=ReferenceConfig(source=f"report 002, Tables 1-2: {v.description}",
                                  test_accuracy=v.report_test_acc or 0.0, val_accuracy=v.report_val_acc),
        name=f"variant_{name}",
    )


def check_out(out: Path) -> None:
    """OUT holds this command's output only: a new or empty folder, or one it wrote before."""
    from kerasexp.rundir import check_out_folder

    check_out_folder(out)
    if out.is_dir() and not (out / RECORD).exists():
        other = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in VARIANTS]
        if other:
            raise UserError(f"--out {out} holds other files ({other[0]}, ...), not a variants table; give a new "
                            "or empty folder, or the folder of an earlier variants run")


def run_variants(args) -> dict:
    """Train (or load) every variant and seed, then write the tables over seeds."""
    from kerasexp.data import load_dataset

    # Every check on the user's input runs before TensorFlow is imported (its start-up
    # chatter would bury a one-line error) and before anything is written.
    names = parse_variants(args.variants)
    seeds = [args.seed] if args.seed is not None else args.seeds
    out = Path(args.out)
    check_out(out)
    experiments = {name: variant_experiment(name, args) for name in names}
    data = load_dataset(experiments[names[0]].dataset)

    from kerasexp import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerasexp.experiment import run_seeds
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.training.progress import format_seconds

    started, wall = timestamp(), time.perf_counter()
    for name in names:
        run_seeds(experiments[name], out / name, seeds)
    meta = {
        "command": command_line(), "started": started, "wall_seconds": round(time.perf_counter() - wall, 1),
        "seeds": seeds, "split_seed": args.split_seed, "epochs": args.epochs, "batch_size": args.batch_size,
        "limit": args.limit, "schedule": args.schedule, "val_fraction": args.val_fraction, "data": data.source,
        "train_images": len(data.x_train), "val_images": len(data.x_val), "test_images": len(data.x_test),
        "machine": machine_description(),
    }
    tables = write_tables(out, names, seeds, meta)
    from kerasexp.evaluation.report import markdown_table

    print(markdown_table(tables["variants"]))
    print(f"wrote {out}/ in {format_seconds(meta['wall_seconds'])} "
          f"({format_seconds(meta['training_seconds'])} of training over all runs)")
    return meta


def seed_rows(out: Path, names: list[str], seeds: list[int]):
    """One row per variant and seed, read back from the run folders."""
    import pandas as pd

    from kerasexp import rundir

    rows = []
    for name in names:
        for seed in seeds:
            run_dir = rundir.seed_dir(out / name, seed)
            metrics = rundir.read_metrics(run_dir)
            history = pd.read_csv(run_dir / rundir.HISTORY)
            best = metrics["evaluation_choices"]["epoch"]["epoch"]  # chosen on validation
            rows.append({"variant": name, "seed": seed, "params": metrics["run"]["params"],
                         "train_acc": history["accuracy"].iloc[best - 1],
                         "val_acc": history["val_accuracy"].iloc[best - 1],
                         "test_acc": metrics["accuracy"], "test_acc_ci95": metrics["accuracy_ci95"],
                         "test_macro_f1": metrics["macro_f1"], "epochs": len(history), "best_epoch": best,
                         "seconds": metrics["run"]["wall_seconds"]})
    return pd.DataFrame(rows)


def _mean_std(values) -> tuple[float, float]:
    import numpy as np

    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _within(reference: float | None, mean: float, std: float, n: int) -> str:
    """Whether a published figure lies inside our seeds' spread (mean ± 2 std)."""
    if reference is None or n < 2:
        return ""
    return "yes" if abs(reference - mean) <= 2 * std else "no"


def write_tables(out: Path, names: list[str], seeds: list[int], meta: dict) -> dict:
    import pandas as pd

    from kerasexp.evaluation.compare import paired_tests
    from kerasexp.evaluation.intervals import span
    from kerasexp.evaluation.report import markdown_table, per_class_table
    from kerasexp.io import write_csv, write_json, write_text
    from kerasexp.training.progress import format_seconds

    per_seed = seed_rows(out, names, seeds)
    meta["training_seconds"] = round(float(per_seed["seconds"].sum()), 1)
    n = len(seeds)
    rows = []
    for name, group in per_seed.groupby("variant", sort=False):
        v = VARIANTS[name]
        row = {"variant": name, "params": int(group["params"].iloc[0])}
        for key in ("train_acc", "val_acc", "test_acc"):
            row[f"{key}_mean"], row[f"{key}_std"] = _mean_std(group[key])
        row.update(val_acc_min=group["val_acc"].min(), val_acc_max=group["val_acc"].max(),
                   best_epochs=",".join(map(str, group["best_epoch"])), minutes=group["seconds"].sum() / 60,
                   report_train_acc=v.report_train_acc, report_val_acc=v.report_val_acc,
                   report_val_within_2sd=_within(v.report_val_acc, row["val_acc_mean"], row["val_acc_std"], n))
        rows.append(row)
    table = pd.DataFrame(rows)
    best_two = table.sort_values("val_acc_mean", ascending=False, kind="stable")["variant"].head(2).tolist()
    paired = paired_tests([str(out / name) for name in best_two]) if len(best_two) == 2 else []
    test_rows = []
    for i, name in enumerate(best_two):
        group = per_seed[per_seed["variant"] == name]
        mean, std = _mean_std(group["test_acc"])
        f1_mean, f1_std = _mean_std(group["test_macro_f1"])
        ref = VARIANTS[name].report_test_acc
        test_rows.append({"variant": name, "test_acc_mean": mean, "test_acc_std": std,
                          "per_seed": ", ".join(f"{a:.4f} [{lo:.4f}-{hi:.4f}]" for a, (lo, hi)
                                                in zip(group["test_acc"], group["test_acc_ci95"])),
                          "macro_f1_mean": f1_mean, "macro_f1_std": f1_std, "report_test_acc": ref,
                          "test_acc_diff": None if ref is None else ref - mean,
                          "report_within_2sd": _within(ref, mean, std, n),
                          **({k: paired[i][k] for k in ("p_value", "significant")} if paired else {})})
    test_table = pd.DataFrame(test_rows)
    per_class = {name: per_class_over_seeds(out / name, seeds, per_class_table) for name in best_two}
    write_csv(out / "seeds.csv", per_seed.assign(test_acc_ci95=per_seed["test_acc_ci95"].map(span)))
    write_csv(out / "variants.csv", table)
    write_csv(out / "test.csv", test_table)
    for name, frame in per_class.items():
        write_csv(out / f"per_class_{name}.csv", frame)
    write_json(out / RECORD, {**meta, "best_two": best_two})
    write_text(out / "variants.md", render_markdown(table, test_table, per_seed, per_class, best_two, meta,
                                                    markdown_table, format_seconds))
    return {"variants": table, "test": test_table, "seeds": per_seed}


def per_class_over_seeds(group: Path, seeds: list[int], per_class_table):
    """Per-class precision, recall and F1 of each seed's test predictions: mean and std over seeds."""
    import numpy as np
    import pandas as pd

    from kerasexp import rundir

    frames = []
    for seed in seeds:
        saved = np.load(rundir.seed_dir(group, seed) / rundir.PREDICTIONS)
        names = [str(c) for c in saved["class_names"]]
        frames.append(per_class_table(saved["y_true"], saved["probs"].argmax(1), names))
    stacked = pd.concat(frames)
    stats = stacked.groupby("class", sort=False)[["precision", "recall", "f1"]].agg(["mean", "std"])
    stats.columns = [f"{a}_{b}" for a, b in stats.columns]
    return stats.reset_index().assign(support=frames[0]["support"].to_numpy())


def _pm(mean, std) -> str:
    return f"{mean:.4f} ± {std:.4f}"


def render_markdown(table, test_table, per_seed, per_class, best_two, meta, markdown_table, format_seconds) -> str:
    import pandas as pd

    m = meta["machine"]
    seeds = meta["seeds"]
    show = pd.DataFrame({
        "variant": table["variant"], "params": table["params"],
        "train_acc": [_pm(a, b) for a, b in zip(table["train_acc_mean"], table["train_acc_std"])],
        "val_acc": [_pm(a, b) for a, b in zip(table["val_acc_mean"], table["val_acc_std"])],
        "val_acc range": [f"{a:.4f}-{b:.4f}" for a, b in zip(table["val_acc_min"], table["val_acc_max"])],
        "test_acc": [_pm(a, b) for a, b in zip(table["test_acc_mean"], table["test_acc_std"])],
        "best_epochs": table["best_epochs"], "minutes": table["minutes"],
        "report_train_acc": table["report_train_acc"], "report_val_acc": table["report_val_acc"],
        "report val within ± 2 std": table["report_val_within_2sd"],
    })
    test_show = test_table.assign(
        test_acc=[_pm(a, b) for a, b in zip(test_table["test_acc_mean"], test_table["test_acc_std"])],
        macro_f1=[_pm(a, b) for a, b in zip(test_table["macro_f1_mean"], test_table["macro_f1_std"])],
    )
    test_cols = ["variant", "test_acc", "per_seed", "macro_f1", "report_test_acc", "report_within_2sd",
                 *[c for c in ("p_value", "significant") if c in test_table]]
    lines = [
        "# Report 002: Annex-1 CNN and four variants on Fashion-MNIST",
        "",
        f"Produced by `{meta['command']}` (started {meta['started']}; {format_seconds(meta['training_seconds'])} "
        f"of training over {len(per_seed)} runs, each run's own record in `<variant>/seed_S/run.json`).",
        "",
        f"- training seeds {', '.join(map(str, seeds))} (one run each; the split, seed {meta['split_seed']}, and the "
        f"test images are the same for all), {meta['epochs']} epochs, batch {meta['batch_size']}, learning-rate "
        f"schedule `{meta['schedule']}`",
        f"- data: {meta['data']}; {meta['train_images']} train / {meta['val_images']} validation "
        f"(stratified, fraction {meta['val_fraction']}) / {meta['test_images']} test images",
        f"- machine: {m['cpu']}, {m['cores']} cores, GPU: {m['gpus']}; TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, Python {m['python']}",
        "- Each run keeps the weights of its best validation epoch (`best_epochs`, one a seed); train_acc and "
        "val_acc are that epoch's (train_acc as Keras logs it, dropout on), test_acc is those weights on the "
        "test set. Figures are mean ± std over seeds; report_* are report 002's Table 1 and 2; \"within ± 2 "
        "std\" says whether the report's figure lies inside our seeds' spread.",
        "",
        "## Table 1: training and validation accuracy",
        "",
        markdown_table(show),
        "## Table 2: test accuracy of the two best by mean validation accuracy",
        "",
        "Chosen on validation only; per_seed gives each seed's test accuracy with its 95% Wilson interval. "
        "`p_value`: paired t-test over training seeds of the two's per-seed test accuracy (seed i against "
        "seed i; kerasexp.evaluation.compare.paired_tests); `significant` states its direction, or \"too few "
        "seeds to test\" under 3 seeds.",
        "",
        markdown_table(test_show[test_cols]),
        gap_note(test_table, meta),
        "",
    ]
    for name in best_two:
        frame = per_class[name]
        shown = pd.DataFrame({"class": frame["class"],
                              **{k: [_pm(a, b) for a, b in zip(frame[f"{k}_mean"], frame[f"{k}_std"])]
                                 for k in ("precision", "recall", "f1")},
                              "support": frame["support"]})
        lines += [f"## Table 3: {name}, per class on the test set (mean ± std over seeds)", "",
                  f"![confusion matrix, seed {seeds[0]}]({name}/seed_{seeds[0]}/confusion_matrix.png)", "",
                  markdown_table(shown)]
    lines += [f"## Training curves (seed {seeds[0]})", ""]
    lines += [f"![{name}]({name}/seed_{seeds[0]}/curves.png)" for name in table["variant"]]
    return "\n".join(lines) + "\n"


def gap_note(test_table, meta) -> str:
    """One sentence a row: how far the report's test figure lies from ours, in our seeds' std and
    in the width of one run's 95% interval."""
    from kerasexp.evaluation.intervals import accuracy_ci95

    notes = []
    for row in test_table.itertuples(index=False):
        if row.report_test_acc is None or row.report_test_acc != row.report_test_acc:
            continue
        lo, hi = accuracy_ci95(round(row.test_acc_mean * meta["test_images"]), meta["test_images"])
        spread = f"{abs(row.test_acc_diff) / row.test_acc_std:.1f} std of our seeds" if row.test_acc_std else "n/a"
        notes.append(f"The report's {row.variant} test accuracy {row.report_test_acc:.4f} is {row.test_acc_diff:+.4f} "
                     f"from our mean ({spread}; one run's 95% interval at our mean is {lo:.4f}-{hi:.4f}).")
    return "\n".join(notes)


@exit_on_user_error
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    parse_variants(args.variants)  # fail on a bad name before loading anything
    run_variants(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
