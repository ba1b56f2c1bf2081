"""`kerasexp compare RUN...`: finished runs in one table, with paired tests between them."""

from __future__ import annotations

HELP = "one table of finished runs beside their reports' figures"


def add_arguments(parser) -> None:
    parser.add_argument("run_dirs", nargs="+", help="finished run folders, the reference first")
    parser.add_argument("--out", required=True, help="reports/NAME (writes NAME.csv and NAME.md)")
    parser.add_argument("--title", default="", help="heading of NAME.md")
    parser.add_argument(
        "--against",
        choices=["first", "previous"],
        default="first",
        help="paired tests against the first run (default) or the row above (a ladder)",
    )


def run(args) -> int:
    from kerasexp.api import compare
    from kerasexp.evaluation.report import markdown_table

    print(markdown_table(compare(args.run_dirs, args.out, args.title, args.against)))
    return 0
