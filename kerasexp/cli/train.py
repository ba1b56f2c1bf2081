"""`kerasexp train FILE`: one experiment file, one run folder (or one a training seed)."""

from __future__ import annotations

from kerasexp.cli.args import add_overrides, positive_int, read_experiment, seed_list

HELP = "run one experiment file"


def add_arguments(parser) -> None:
    parser.add_argument("experiment", help="studies/NAME.toml")
    add_overrides(parser)
    parser.add_argument("--out", help="run folder (default runs/NAME); rerunning resumes it")
    parser.add_argument(
        "--seeds",
        type=seed_list,
        help="e.g. 0,1,2: one run a training seed in OUT/seed_S/, and their mean ± std in OUT/seeds.md",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="with --seeds: runs trained at once, one process each (default: one a core on a CPU, "
        "1 with a GPU)",
    )


def check(args) -> None:
    """The file read and checked whole before TensorFlow is imported; train takes it as it is."""
    args.exp = read_experiment(args.experiment, args.set or [])


def run(args) -> int:
    from kerasexp import api
    from kerasexp.evaluation.report import markdown_table

    exp = getattr(args, "exp", None) or read_experiment(args.experiment, args.set or [])
    metrics = api.train(exp, out=args.out, seeds=args.seeds, workers=args.workers).metrics
    if args.seeds:
        from kerasexp.runs import SUMMARY_KEYS

        print(
            ", ".join(f"{k} {metrics[k]['mean']:.4f} ± {metrics[k]['std']:.4f}" for k in SUMMARY_KEYS)
            + f" over seeds {args.seeds}"
        )
    else:
        import pandas as pd

        keys = ("accuracy", "macro_f1", "precision", "recall", "loss")
        print(markdown_table(pd.DataFrame([{k: metrics[k] for k in keys}])))
    return 0  # what happened to each run (trained, resumed, loaded) its own line on stderr said
