"""`kerasexp study FILE`: run or join an Optuna study; every worker starts the same command."""

from __future__ import annotations

from kerasexp.cli.args import add_overrides, positive_int, read_study

HELP = "run or join an Optuna study (start the same command on every worker)"


def add_arguments(parser) -> None:
    parser.add_argument("study", help="studies/NAME.toml: an experiment plus [study] and [search]")
    parser.add_argument(
        "--storage",
        help="database URL shared by the workers, e.g. postgresql://user:pw@host/db "
        "(default: sqlite file in --out, one process)",
    )
    parser.add_argument(
        "--n-trials", type=positive_int, help="finished trials the study stops at (all workers)"
    )
    parser.add_argument("--study-name", help="default: the file's name")
    parser.add_argument("--out", help="study folder (default runs/studies/NAME): the SQLite file lives here")
    add_overrides(parser)
    parser.add_argument(
        "--create-only",
        action="store_true",
        help="create the study (and the storage's tables) and exit: prepare it before the workers start",
    )


def check(args) -> None:
    """The study file checked whole before Optuna is imported or any storage created."""
    args.spec = read_study(args.study, args.set or [])


def run(args) -> int:
    from kerasexp import api

    api.study(args.study, args.storage, args.n_trials, args.study_name, args.out, args.set, args.create_only)
    return 0
