"""`kerasexp dedup DATA`: exact and near duplicates, conflicting labels and outliers of a data set."""

from __future__ import annotations

from kerasexp.cli.args import non_negative_int

HELP = "exact/near duplicates (pHash), conflicting labels, outliers -> report + drop list"


def add_arguments(parser) -> None:
    parser.add_argument(
        "data", help="an image folder (one sub-folder a class), an .npz file, or the images of --csv"
    )
    parser.add_argument(
        "--csv", default="", help="CSV of file name, label for the images in DATA (Kaggle layout)"
    )
    parser.add_argument(
        "--out", required=True, help="folder for report.md, duplicates.csv, outliers.csv, drop.csv"
    )
    parser.add_argument(
        "--max-distance",
        type=non_negative_int,
        default=4,
        help="pHash bits two near duplicates may differ in",
    )
    parser.add_argument(
        "--outlier-z", type=float, default=8.0, help="robust z-score above which an image is an outlier"
    )
    parser.add_argument(
        "--size", type=non_negative_int, default=64, help="images are compared at this size (0 = as stored)"
    )


def run(args) -> int:
    from kerasexp.data.dedup import clean, load_labelled

    summary = clean(
        load_labelled(args.data, args.csv, args.size), args.out, args.max_distance, args.outlier_z
    )
    print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items()) + f" -> {args.out}/")
    return 0
