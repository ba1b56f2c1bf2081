"""`kerasexp study-report STUDY_DIR`: a study's trials, plots, and its best configuration retrained."""

from __future__ import annotations

from kerasexp.cli.args import seed_list

HELP = "a study's trials, plots, and its best configuration retrained"


def add_arguments(parser) -> None:
    parser.add_argument(
        "study_dir",
        nargs="?",
        metavar="STUDY_DIR",
        help="the study's folder (--out of `kerasexp study`): its study.db and study.txt give the "
        "storage and the study's name",
    )
    parser.add_argument(
        "--storage",
        help="database URL of a study kept elsewhere, e.g. postgresql://user:pw@host/db "
        "(default: STUDY_DIR/study.db)",
    )
    parser.add_argument(
        "--study-name",
        help="the study in the storage (default: the one STUDY_DIR/study.txt names, "
        "or the storage's only study)",
    )
    parser.add_argument(
        "--out", help="folder for summary.md, trials.csv, plots and best/ (default: STUDY_DIR/report)"
    )
    parser.add_argument("--no-retrain", action="store_true", help="tables and plots only")
    parser.add_argument(
        "--seeds",
        type=seed_list,
        help="e.g. 0,1,2: retrain the best configuration once a training "
        "seed (OUT/best/seed_S/) and report mean ± std",
    )


def run(args) -> int:
    from kerasexp.tuning.report import locate_study, study_report, summary_text

    storage, name, out = locate_study(args.study_dir, args.storage, args.study_name, args.out)
    summary = study_report(storage, name, out, retrain=not args.no_retrain, seeds=args.seeds)
    print(summary_text(summary, out))
    return 0
