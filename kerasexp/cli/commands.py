"""`kerasexp` command: train | report | variants | bench | study | study-report. Same verbs for every experiment."""

from __future__ import annotations

import json
import sys

from kerasexp import import_tensorflow_quietly
from kerasexp.errors import ArgumentParser, exit_on_user_error, positive_int, seed_list
from kerasexp.tuning import grid


def cmd_train(args) -> int:
    from kerasexp import api
    from kerasexp.evaluation.report import markdown_table

    exp = getattr(args, "exp", None) or read_experiment(args.experiment, args.set or [])
    run = api.train(exp, out=args.out, seeds=args.seeds)
    metrics = run.metrics
    if args.seeds:
        from kerasexp.runs import SUMMARY_KEYS

        print(
            ", ".join(f"{k} {metrics[k]['mean']:.4f} ± {metrics[k]['std']:.4f}" for k in SUMMARY_KEYS)
            + f" over seeds {args.seeds}"
        )
    else:
        import pandas as pd

        print(
            markdown_table(
                pd.DataFrame(
                    [{k: metrics[k] for k in ("accuracy", "macro_f1", "precision", "recall", "loss")}]
                )
            )
        )
    return 0  # what happened to each run (trained, resumed, loaded) its own line on stderr said


def cmd_report(args) -> int:
    from kerasexp.runs import report_run

    metrics = report_run(args.run_dir)
    print(f"accuracy {metrics['accuracy']:.4f}  macro_f1 {metrics['macro_f1']:.4f}  -> {args.run_dir}/")
    return 0


def cmd_compare(args) -> int:
    from kerasexp.api import compare
    from kerasexp.evaluation.report import markdown_table

    print(markdown_table(compare(args.run_dirs, args.out, args.title, args.against)))
    return 0


def cmd_variants(args) -> int:
    from kerasexp import variants

    variants.run_variants(args)
    return 0


def cmd_bench(args) -> int:
    import importlib

    module = importlib.import_module(f"kerasexp.bench.{BENCHES[args.what]}")
    images, batch_size = getattr(module, "DEFAULTS", {}).get(args.what, (None, None))
    args.images, args.batch_size = args.images or images, args.batch_size or batch_size
    args.repeats = args.repeats or getattr(module, "REPEATS", 5)
    return module.main(args)


# bench name -> its module in kerasexp.bench (each module's DEFAULTS: --images, --batch-size)
BENCHES = {
    "train": "train",
    "augment": "augment",
    "augment-train": "augment",
    "kernels": "kernels",
    "speedrun": "speedrun",
    "roofline": "roofline",
}


def cmd_reports(args) -> int:
    """kerasexp reports check: exit 1 listing what does not prove itself (kerasexp.audit);
    kerasexp reports ledger: the looks at each test split (kerasexp.evaluation.ledger)."""
    from kerasexp.audit.check import check_reports

    if args.action == "ledger":
        from kerasexp.evaluation.ledger import main as ledger

        return ledger(args.root, args.backfill, args.order, args.before or ())
    return check_reports(args.root, args.replay or 0, args.replay_seed, args.replay_max_images)


def cmd_study(args) -> int:
    from kerasexp import api

    api.study(args.study, args.storage, args.n_trials, args.study_name, args.out, args.set, args.create_only)
    return 0


def cmd_study_report(args) -> int:
    from kerasexp.tuning.report import locate_study, study_report, summary_text

    storage, name, out = locate_study(args.study_dir, args.storage, args.study_name, args.out)
    summary = study_report(storage, name, out, retrain=not args.no_retrain, seeds=args.seeds)
    print(summary_text(summary, out))
    return 0


def cmd_study_compare(args) -> int:
    from kerasexp.evaluation.report import markdown_table
    from kerasexp.tuning.report import study_compare

    print(markdown_table(study_compare(args.report_dirs, args.out)))
    return 0


def build_parser() -> ArgumentParser:
    from kerasexp import __version__

    p = ArgumentParser(prog="kerasexp", description=__doc__)
    p.add_argument("--version", action="version", version=f"kerasexp {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    t = sub.add_parser("train", help="run one experiment file")
    t.add_argument("experiment", help="studies/NAME.toml")
    t.add_argument(
        "--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value (repeatable)"
    )
    t.add_argument("--out", help="run folder (default runs/NAME); rerunning resumes it")
    t.add_argument(
        "--seeds",
        type=seed_list,
        help="e.g. 0,1,2: one run a training seed in OUT/seed_S/, and their mean ± std in OUT/seeds.md",
    )
    r = sub.add_parser("report", help="rebuild tables and figures of a finished run")
    r.add_argument("run_dir", help="a finished run folder (or a --seeds group of them)")
    c = sub.add_parser("compare", help="one table of finished runs beside their reports' figures")
    c.add_argument("run_dirs", nargs="+", help="finished run folders, the reference first")
    c.add_argument("--out", required=True, help="reports/NAME (writes NAME.csv and NAME.md)")
    c.add_argument("--title", default="", help="heading of NAME.md")
    c.add_argument(
        "--against",
        choices=["first", "previous"],
        default="first",
        help="paired tests against the first run (default) or the row above (a ladder)",
    )
    from kerasexp import variants

    variants.add_arguments(
        sub.add_parser("variants", help="report 002's variant table (python -m kerasexp.variants)")
    )
    b = sub.add_parser("bench", help="throughput benchmarks, printed as one JSON object")
    b.add_argument("what", choices=list(BENCHES), help="what to measure: " + ", ".join(BENCHES))
    b.add_argument(
        "--images", type=positive_int, help="images per measurement (train: 12000; augment: 1024, cycled)"
    )
    b.add_argument(
        "--repeats",
        type=positive_int,
        help="alternating rounds; medians of img/s and of per-round ratios are reported "
        "(default 5; roofline 3)",
    )
    b.add_argument("--batch-size", type=positive_int, help="train: 128; augment: 64")
    b.add_argument(
        "--data-dir", default=None, help="train: Fashion-MNIST files; augment: an image folder (pbc96)"
    )
    b.add_argument(
        "--experiment",
        help="augment-train: the model and data (default studies/pbc96_augment_bench.toml); "
        "speedrun: the recipe (default studies/fmnist_fast.toml)",
    )
    b.add_argument("--seeds", type=seed_list, help="speedrun: training seeds (default 0,1,2)")
    b.add_argument(
        "--out",
        help="speedrun: its folder (default reports/speedrun); "
        "roofline: the report's .md (default reports/bench_roofline.md, its .json beside it)",
    )
    b.add_argument(
        "--steps",
        type=positive_int,
        help="roofline: timed training steps a round for every model (default: each model's own)",
    )
    b.add_argument(
        "--reuse", action="store_true", help="speedrun: run in an --out that holds another recipe's runs"
    )
    b.add_argument(
        "--models",
        help="kernels: comma-separated (default: baseline,ladder_both,ladder_resnet,mobilenet_finetune); "
        "roofline: comma-separated (default: all of kerasexp.bench.roofline.MODELS)",
    )
    rp = sub.add_parser("reports", help="check the committed reports against today's code")
    rp.add_argument(
        "action",
        choices=["check", "ledger"],
        help="check: list the run folders today's code would not reproduce; "
        "ledger: count the looks at each test split (ROOT/test_ledger.csv)",
    )
    rp.add_argument(
        "--backfill",
        action="store_true",
        help="ledger: first add rows for the finished runs under --root, from their run.json",
    )
    rp.add_argument("--order", action="store_true", help="ledger: list every look, in order, a split")
    rp.add_argument(
        "--before",
        nargs="+",
        metavar="RUN",
        help="ledger: the looks each RUN's test split had before it (RUN relative to --root)",
    )
    rp.add_argument("--root", default="reports", help="the folder of reports (default %(default)s)")
    rp.add_argument(
        "--replay",
        type=positive_int,
        metavar="N",
        help="retrain the first epoch of N runs (drawn by --replay-seed); compare it with history.csv",
    )
    rp.add_argument(
        "--replay-seed", type=int, default=0, help="which runs --replay draws (default %(default)s)"
    )
    rp.add_argument(
        "--replay-max-images",
        type=positive_int,
        metavar="N",
        help="--replay draws only runs with at most N training images",
    )
    s = sub.add_parser("study", help="run or join an Optuna study (start the same command on every worker)")
    s.add_argument("study", help="studies/NAME.toml: an experiment plus [study] and [search]")
    s.add_argument(
        "--storage",
        help="database URL shared by the workers, e.g. postgresql://user:pw@host/db "
        "(default: sqlite file in --out, one process)",
    )
    s.add_argument("--n-trials", type=positive_int, help="finished trials the study stops at (all workers)")
    s.add_argument("--study-name", help="default: the file's name")
    s.add_argument("--out", help="study folder (default runs/studies/NAME): the SQLite file lives here")
    s.add_argument(
        "--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value (repeatable)"
    )
    s.add_argument(
        "--create-only",
        action="store_true",
        help="create the study (and the storage's tables) and exit: prepare it before the workers start",
    )
    sr = sub.add_parser("study-report", help="a study's trials, plots, and its best configuration retrained")
    sr.add_argument(
        "study_dir",
        nargs="?",
        metavar="STUDY_DIR",
        help="the study's folder (--out of `kerasexp study`): its study.db and study.txt give the "
        "storage and the study's name",
    )
    sr.add_argument(
        "--storage",
        help="database URL of a study kept elsewhere, e.g. postgresql://user:pw@host/db "
        "(default: STUDY_DIR/study.db)",
    )
    sr.add_argument(
        "--study-name",
        help="the study in the storage (default: the one STUDY_DIR/study.txt names, "
        "or the storage's only study)",
    )
    sr.add_argument(
        "--out", help="folder for summary.md, trials.csv, plots and best/ (default: STUDY_DIR/report)"
    )
    sr.add_argument("--no-retrain", action="store_true", help="tables and plots only")
    sr.add_argument(
        "--seeds",
        type=seed_list,
        help="e.g. 0,1,2: retrain the best configuration once a training "
        "seed (OUT/best/seed_S/) and report mean ± std",
    )
    sc = sub.add_parser("study-compare", help="study reports side by side (e.g. with and without pruning)")
    sc.add_argument(
        "report_dirs", nargs="+", help="study-report folders (each with summary.json), the reference first"
    )
    sc.add_argument("--out", required=True, help="reports/NAME (writes NAME.csv and NAME.md)")
    grid.add_arguments(
        sub.add_parser("grid", help="a grid of values (or seeds) shared by workers on one storage")
    )
    from kerasexp.cli.tools import add_parsers

    add_parsers(sub)  # dedup, predict, filters
    from kerasexp.cli.preview import add_parser as add_preview_parser

    add_preview_parser(sub)  # augment-preview
    return p


def read_experiment(path, overrides=()):
    """An experiment file as `kerasexp train` reads it: every key, value, name (model parameters
    and backbone included) and data path checked, importing no TensorFlow, Keras or Optuna."""
    from kerasexp.config import load_experiment
    from kerasexp.models import check_model

    exp = load_experiment(path, overrides)
    check_model(exp.model.name, exp.model.params)
    return exp


def read_study(path, overrides=()):
    """A study file as `kerasexp study` reads it (kerasexp.tuning.config.load_study_file): checked
    whole, data paths included, before Optuna is imported or any storage created."""
    from kerasexp.tuning.config import load_study_file

    return load_study_file(path, overrides)


# bench -> the experiment file it reads by default (kerasexp.bench.speedrun / augment)
BENCH_EXPERIMENTS = {
    "speedrun": "studies/fmnist_fast.toml",
    "augment-train": "studies/pbc96_augment_bench.toml",
}


def read_inputs(args) -> None:
    """The files a verb reads, checked before TensorFlow is imported (seconds) and before anything
    is created: a typo or a missing data folder is one line, at once."""
    if args.command == "study":
        args.spec = read_study(args.study, args.set or [])
    elif args.command in ("train", "augment-preview"):
        args.exp = read_experiment(args.experiment, args.set or [])
    elif args.command == "bench" and args.what == "roofline":
        from kerasexp.bench.roofline import check_arguments

        check_arguments(args)
    elif args.command == "bench" and args.what in BENCH_EXPERIMENTS:
        data_dir = [f"dataset.data_dir={json.dumps(args.data_dir)}"] if args.data_dir else []
        read_experiment(
            args.experiment or BENCH_EXPERIMENTS[args.what], data_dir if args.what == "augment-train" else []
        )


@exit_on_user_error
def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    read_inputs(args)
    if args.command not in ("reports", "grid"):  # reports: no TensorFlow; grid: after its checks
        import_tensorflow_quietly()
    if getattr(args, "tool", None):
        return args.tool(args)
    return {
        "train": cmd_train,
        "report": cmd_report,
        "compare": cmd_compare,
        "bench": cmd_bench,
        "variants": cmd_variants,
        "reports": cmd_reports,
        "study": cmd_study,
        "study-report": cmd_study_report,
        "study-compare": cmd_study_compare,
        "grid": grid.run,
    }[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
