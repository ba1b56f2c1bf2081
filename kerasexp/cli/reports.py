"""`kerasexp reports check | ledger`: the committed reports against today's code, and the looks at
each test split. Reading run folders needs no TensorFlow."""

from __future__ import annotations

from kerasexp.cli.args import positive_int

HELP = "check the committed reports against today's code"
TENSORFLOW = False  # main() imports it for every other verb


def add_arguments(parser) -> None:
    parser.add_argument(
        "action",
        choices=["check", "ledger"],
        help="check: list the run folders today's code would not reproduce; "
        "ledger: count the looks at each test split (ROOT/test_ledger.csv)",
    )
    parser.add_argument(
        "--backfill",
        action="store_true",
        help="ledger: first add rows for the finished runs under --root, from their run.json",
    )
    parser.add_argument("--order", action="store_true", help="ledger: list every look, in order, a split")
    parser.add_argument(
        "--before",
        nargs="+",
        metavar="RUN",
        help="ledger: the looks each RUN's test split had before it (RUN relative to --root)",
    )
    parser.add_argument("--root", default="reports", help="the folder of reports (default %(default)s)")
    parser.add_argument(
        "--replay",
        type=positive_int,
        metavar="N",
        help="retrain the first epoch of N runs (drawn by --replay-seed); compare it with history.csv",
    )
    parser.add_argument(
        "--replay-seed", type=int, default=0, help="which runs --replay draws (default %(default)s)"
    )
    parser.add_argument(
        "--replay-max-images",
        type=positive_int,
        metavar="N",
        help="--replay draws only runs with at most N training images",
    )


def run(args) -> int:
    """check: exit 1 listing what does not prove itself (kerasexp.audit); ledger: the looks at each
    test split (kerasexp.evaluation.ledger)."""
    from kerasexp.audit.check import check_reports

    if args.action == "ledger":
        from kerasexp.evaluation.ledger import main as ledger

        return ledger(args.root, args.backfill, args.order, args.before or ())
    return check_reports(args.root, args.replay or 0, args.replay_seed, args.replay_max_images)
