"""`kerasexp grid FILE --grid K=V1,V2`: a grid of values (or seeds) run by every worker that starts
the same command on one storage (kerasexp.tuning.grid: an Optuna GridSampler study)."""

from __future__ import annotations

from kerasexp.cli.args import positive_int

HELP = "a grid of values (or seeds) shared by workers on one storage"


def add_arguments(parser) -> None:
    parser.add_argument("experiment", help="studies/NAME.toml: the experiment every point starts from")
    parser.add_argument(
        "--grid",
        action="append",
        metavar="SECTION.KEY=V1,V2",
        help="the values of one key (repeatable; the grid is every combination), e.g. training.seed=0,1,2",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="override a value of every point (repeatable)",
    )
    parser.add_argument(
        "--storage",
        help="database URL the workers share, e.g. postgresql://user:pw@host/db "
        "(default: OUT/grid.db, SQLite, one worker)",
    )
    parser.add_argument("--out", help="folder of the run folders, one a point (default runs/grids/NAME)")
    parser.add_argument("--study-name", help="the grid's study in the storage (default NAME-grid)")
    parser.add_argument(
        "--metric",
        default="val_accuracy",
        help="the validation figure a trial reports, at the epoch the run kept (default %(default)s)",
    )
    parser.add_argument(
        "--heartbeat",
        type=positive_int,
        default=10,
        help="seconds between a running trial's heartbeats; a trial silent for 3 is failed and "
        "retried by another worker (default %(default)s)",
    )


def check(args) -> None:
    """The file, every point's experiment, the storage URL's form and --out, before TF or Optuna."""
    from kerasexp.tuning.grid import read_job

    args.job = read_job(args)


def run(args) -> int:
    from kerasexp.tuning.grid import read_job, run as run_grid

    return run_grid(getattr(args, "job", None) or read_job(args))
