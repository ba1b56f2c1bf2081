"""`kerasexp study-compare REPORT...`: study reports side by side (e.g. with and without pruning)."""

from __future__ import annotations

HELP = "study reports side by side (e.g. with and without pruning)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "report_dirs", nargs="+", help="study-report folders (each with summary.json), the reference first"
    )
    parser.add_argument("--out", required=True, help="reports/NAME (writes NAME.csv and NAME.md)")


def run(args) -> int:
    from kerasexp.evaluation.report import markdown_table
    from kerasexp.tuning.report import study_compare

    print(markdown_table(study_compare(args.report_dirs, args.out)))
    return 0
