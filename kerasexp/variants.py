"""Report 002's variant table on Fashion-MNIST: `python -m kerasexp.variants` (or `kerasexp variants`).

Each variant is an experiment file, studies/variants/<variant>.toml, whose [reference] section
quotes report 002's figures. Each is run as `kerasexp train FILE --seeds ...` runs it (resumable,
locked, one run folder a seed: OUT/<variant>/seed_S/), then the tables over seeds are written
(atomically) into OUT:
  variants.csv / variants.md   one row per variant: mean ± std over seeds beside report 002's Table 1
  seeds.csv                    every variant and seed: its figures and the test accuracy's interval
  test.csv                     the two best by mean validation accuracy on the test set (Table 2),
                               with a paired t-test between them over training seeds
  per_class_<variant>.csv      Table 3: per-class precision/recall/F1, mean ± std over seeds
  variants.json                command, seeds, epochs, wall time, machine
The flags are `--set` overrides of every file. A rerun loads finished runs instead of training them
again; when none trained and the tables come out the same, every file stays as it was, its record
(command, start, wall time, machine) included.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from kerasexp.cli.args import (
    ArgumentParser,
    exit_on_user_error,
    fraction,
    non_negative_int,
    positive_int,
    seed_list,
)
from kerasexp.errors import UserError

STUDIES = Path(__file__).resolve().parents[1] / "studies" / "variants"
DEFAULT_VARIANTS = ["baseline", "kernel", "bn", "sgd", "sigmoid"]  # kernel_first: the report's other reading
DEFAULT_SEEDS = "0,1,2"
RECORD = "variants.json"
NAME = "variant_{}"  # each experiment's name (the committed runs' records carry it)
TITLE = "Report 002: Annex-1 CNN and four variants on Fashion-MNIST"
QUOTED_FROM = "report 002's Table 1 and 2"
# flag -> the key of every variant's file it sets (None: the files' value)
OVERRIDES = {
    "epochs": "training.epochs",
    "batch_size": "training.batch_size",
    "schedule": "training.schedule",
    "limit": "dataset.limit",
    "data_dir": "dataset.data_dir",
    "val_fraction": "dataset.val_fraction",
    "split_seed": "dataset.seed",
}
PROVENANCE = (
    "command",
    "started",
    "wall_seconds",
    "machine",
    "workers",
)  # what a table rebuilt unchanged keeps


def variant_names() -> list[str]:
    return sorted(path.stem for path in STUDIES.glob("*.toml"))


def parse_variants(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = variant_names()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UserError(
            f"unknown variant {', '.join(map(repr, unknown)) or repr(text)}; "
            f"choose from: {', '.join(known)} (comma-separated; the files in {STUDIES})"
        )
    return list(dict.fromkeys(names))


def add_arguments(p) -> None:
    """The command's flags (also `kerasexp variants`'s: kerasexp.cli.variants)."""
    p.add_argument("--epochs", type=positive_int, help="epochs per variant (default: the files', 15)")
    p.add_argument(
        "--limit", type=positive_int, default=None, help="use only the first N training images (quick runs)"
    )
    p.add_argument(
        "--seeds",
        type=seed_list,
        default=seed_list(DEFAULT_SEEDS),
        help=f"training seeds, one run each (default {DEFAULT_SEEDS}); splits and test images stay the same",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=None, help="one training seed (same as --seeds N)"
    )
    p.add_argument(
        "--split-seed", type=non_negative_int, help="seed of the validation split (default: the files', 0)"
    )
    p.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="comma-separated names of studies/variants/*.toml (default %(default)s)",
    )
    p.add_argument("--out", default="reports/variants", help="output folder (default %(default)s)")
    p.add_argument(
        "--workers",
        type=positive_int,
        help="runs trained at once, one process each (default: one a core on a CPU, 1 with a GPU)",
    )
    p.add_argument(
        "--data-dir", default=None, help="folder with the four Fashion-MNIST IDX files (or $KERASEXP_DATA)"
    )
    p.add_argument(
        "--batch-size", type=positive_int, help="default: the files', 32, as the report (Keras' default)"
    )
    p.add_argument(
        "--val-fraction", type=fraction, help="stratified validation share (default: the files', 0.2)"
    )
    p.add_argument(
        "--schedule",
        choices=["constant", "step"],
        help="learning-rate schedule; step halves it every 5 epochs (default: the files', constant)",
    )


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m kerasexp.variants", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return p


def overrides(args) -> list[str]:
    """The flags given, as `--set` texts."""
    from kerasexp.config import toml_value

    return [
        f"{key}={toml_value(getattr(args, flag))}"
        for flag, key in OVERRIDES.items()
        if getattr(args, flag, None) is not None
    ]


def variant_experiment(name: str, args):
    """The experiment of one variant: its file with the flags as overrides."""
    from kerasexp.config import load_experiment

    return replace(load_experiment(STUDIES / f"{name}.toml", overrides(args)), name=NAME.format(name))


def check_out(out: Path) -> None:
    """OUT holds this command's output only: a new or empty folder, or one it wrote before."""
    from kerasexp.rundir import check_out_folder

    check_out_folder(out)
    if out.is_dir() and not (out / RECORD).exists():
        known = variant_names()
        other = [p.name for p in out.iterdir() if not p.name.startswith(".") and p.name not in known]
        if other:
            raise UserError(
                f"--out {out} holds other files ({other[0]}, ...), not a variants table; give a new "
                "or empty folder, or the folder of an earlier variants run"
            )


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
    first = experiments[names[0]]
    data = load_dataset(first.dataset)

    from kerasexp import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerasexp.evaluation.report import markdown_table
    from kerasexp.evaluation.seed_table import seed_tables
    from kerasexp.runs import finished_seeds, many_workers, run_groups, tally
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.training.progress import format_seconds

    started, wall = timestamp(), time.perf_counter()
    loaded = sum(len(finished_seeds(out / name, seeds)) for name in names)
    workers = many_workers(args.workers, len(names) * len(seeds) - loaded)
    run_groups([(experiments[name], out / name, seeds) for name in names], workers=args.workers)
    trained = len(names) * len(seeds) - loaded
    print(tally(loaded, trained), file=sys.stderr)
    meta = {
        "command": command_line(),
        "started": started,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "workers": workers,  # runs trained at once, one process each (kerasexp.runs.run_many)
        "seeds": seeds,
        "split_seed": first.dataset.seed,
        "epochs": first.training.epochs,
        "batch_size": first.training.batch_size,
        "limit": first.dataset.limit or None,
        "schedule": first.training.schedule,
        "val_fraction": first.dataset.val_fraction,
        "data": data.source,
        "train_images": len(data.x_train),
        "val_images": len(data.x_val),
        "test_images": len(data.x_test),
        "machine": machine_description(),
    }
    tables = seed_tables(
        {name: out / name for name in names}, {name: experiments[name].reference for name in names}, seeds
    )
    meta["training_seconds"] = round(float(tables["seeds"]["seconds"].sum()), 1)
    took = meta["wall_seconds"]
    kept = not trained and keep_record(out, meta, tables)
    write_tables(out, tables, meta)
    print(markdown_table(tables["variants"]))
    if kept:
        print(
            f"rebuilt {out}/ from its finished runs in {format_seconds(took)}: the same tables, so its "
            f"record stands (made by `{meta['command']}`, started {meta['started']})"
        )
    else:
        print(
            f"wrote {out}/ in {format_seconds(took)} "
            f"({format_seconds(meta['training_seconds'])} of training over all runs)"
        )
    return meta


def keep_record(out: Path, meta: dict, tables: dict) -> bool:
    """When the tables come out as OUT already holds them, the record of the command that made
    them stands (PROVENANCE copied into `meta`): rebuilding from unchanged runs changes no file."""
    from kerasexp.rundir import read_json

    previous = read_json(out / RECORD, {})
    same = (
        previous
        and all(previous.get(k) == v for k, v in meta.items() if k not in PROVENANCE)
        and previous.get("best_two") == tables["best_two"]
        and (out / "variants.csv").exists()
        and (out / "variants.csv").read_text(encoding="utf-8") == tables["variants"].to_csv(index=False)
    )
    if same:
        for key in PROVENANCE:  # as the record has them (an older record names no workers)
            if key in previous:
                meta[key] = previous[key]
            else:
                meta.pop(key, None)
    return bool(same)


def write_tables(out: Path, tables: dict, meta: dict) -> None:
    from kerasexp.evaluation.seed_table import render_markdown, write_seed_tables
    from kerasexp.atomic import write_json, write_text

    write_seed_tables(out, tables)
    write_json(out / RECORD, {**meta, "best_two": tables["best_two"]})
    write_text(out / "variants.md", render_markdown(tables, meta, TITLE, QUOTED_FROM))


@exit_on_user_error
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    parse_variants(args.variants)  # fail on a bad name before loading anything
    run_variants(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
