"""`kerasexp report RUN`: a finished run's tables and figures rebuilt from its files."""

from __future__ import annotations

HELP = "rebuild tables and figures of a finished run"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a finished run folder (or a --seeds group of them)")


def run(args) -> int:
    from kerasexp.runs import report_run

    metrics = report_run(args.run_dir)
    print(f"accuracy {metrics['accuracy']:.4f}  macro_f1 {metrics['macro_f1']:.4f}  -> {args.run_dir}/")
    return 0
