"""`kerasexp` command: train | report | variants | bench. Same verbs for every experiment."""

from __future__ import annotations

import sys
from pathlib import Path

from kerasexp import import_tensorflow_quietly
from kerasexp.errors import ArgumentParser, exit_on_user_error, positive_int


def cmd_train(args) -> int:
    from kerasexp.config import load_experiment

    exp = load_experiment(args.experiment, args.set or [])
    out = Path(args.out or Path("runs") / exp.name)
    from kerasexp.experiment import run_experiment
    from kerasexp.report import markdown_table

    metrics = run_experiment(exp, out)
    import pandas as pd

    headline = {k: metrics[k] for k in ("accuracy", "macro_f1", "precision", "recall", "loss")}
    print(markdown_table(pd.DataFrame([headline])))
    print(f"wrote {out}/")
    return 0


def cmd_report(args) -> int:
    from kerasexp.experiment import report_run

    metrics = report_run(args.run_dir)
    print(f"accuracy {metrics['accuracy']:.4f}  macro_f1 {metrics['macro_f1']:.4f}  -> {args.run_dir}/")
    return 0


def cmd_compare(args) -> int:
    from kerasexp.compare import compare
    from kerasexp.report import markdown_table

    print(markdown_table(compare(args.run_dirs, args.out, args.title)))
    return 0


def cmd_variants(args, rest) -> int:
    from kerasexp import variants

    return variants.main(rest)


def cmd_bench(args) -> int:
    from kerasexp import bench

    return bench.main(args.what, args)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="kerasexp", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    t = sub.add_parser("train", help="run one experiment file")
    t.add_argument("experiment", help="studies/NAME.toml")
    t.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a value (repeatable)")
    t.add_argument("--out", help="run folder (default runs/NAME); rerunning resumes it")
    r = sub.add_parser("report", help="rebuild tables and figures of a finished run")
    r.add_argument("run_dir")
    c = sub.add_parser("compare", help="one table of finished runs beside their reports' figures")
    c.add_argument("run_dirs", nargs="+")
    c.add_argument("--out", required=True, help="reports/NAME (writes NAME.csv and NAME.md)")
    c.add_argument("--title", default="")
    sub.add_parser("variants", help="report 002's variant table (see python -m kerasexp.variants --help)", add_help=False)
    b = sub.add_parser("bench", help="throughput benchmarks, printed as one JSON object")
    b.add_argument("what", choices=["train"])
    b.add_argument("--images", type=positive_int, default=12000, help="training images per measurement")
    b.add_argument("--repeats", type=positive_int, default=3, help="alternating rounds; the median is reported")
    b.add_argument("--batch-size", type=positive_int, default=128)
    b.add_argument("--data-dir", default=None)
    return p


@exit_on_user_error
def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["variants"]:
        return cmd_variants(None, argv[1:])
    args = build_parser().parse_args(argv)
    import_tensorflow_quietly()
    return {"train": cmd_train, "report": cmd_report, "compare": cmd_compare, "bench": cmd_bench}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
