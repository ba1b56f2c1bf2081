"""The `kerasexp dedup | predict | filters` verbs: their arguments and what they call
(kept here so cli/commands.py only registers them)."""

from __future__ import annotations

from kerasexp.errors import non_negative_int


def cmd_dedup(args) -> int:
    from kerasexp.data.dedup import clean, load_labelled

    summary = clean(
        load_labelled(args.data, args.csv, args.size), args.out, args.max_distance, args.outlier_z
    )
    print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items()) + f" -> {args.out}/")
    return 0


def cmd_predict(args) -> int:
    from kerasexp.evaluation.inference import predict_folder

    table = predict_folder(
        args.run_dir, args.images, args.out, args.tta, args.id_column, args.label_column, args.probabilities
    )
    print(f"{len(table)} predictions -> {args.out}")
    return 0


def cmd_filters(args) -> int:
    from kerasexp.evaluation.inference import first_conv_filters

    print(f"wrote {first_conv_filters(args.run_dir, args.out, args.layer)}")
    return 0


def add_parsers(sub) -> None:
    """Add the verbs to `sub` (argparse subparsers); each sets `args.tool` to its function."""
    d = sub.add_parser(
        "dedup", help="exact/near duplicates (pHash), conflicting labels, outliers -> report + drop list"
    )
    d.add_argument(
        "data", help="an image folder (one sub-folder a class), an .npz file, or the images of --csv"
    )
    d.add_argument("--csv", default="", help="CSV of file name, label for the images in DATA (Kaggle layout)")
    d.add_argument(
        "--out", required=True, help="folder for report.md, duplicates.csv, outliers.csv, drop.csv"
    )
    d.add_argument(
        "--max-distance",
        type=non_negative_int,
        default=4,
        help="pHash bits two near duplicates may differ in",
    )
    d.add_argument(
        "--outlier-z", type=float, default=8.0, help="robust z-score above which an image is an outlier"
    )
    d.add_argument(
        "--size", type=non_negative_int, default=64, help="images are compared at this size (0 = as stored)"
    )
    p = sub.add_parser(
        "predict",
        help="predict a folder of unlabelled images with a finished run's kept "
        "model (model.keras, which made its test predictions): a submission CSV",
    )
    p.add_argument("run_dir", help="a finished run folder: its kept model(s) and class names")
    p.add_argument("images", help="folder of images")
    p.add_argument("--out", required=True, help="CSV: one row an image")
    p.add_argument("--tta", default=None, help="none, flip or dihedral (default: the views the run chose)")
    p.add_argument("--id-column", default="image", help="name of the file-name column (default %(default)s)")
    p.add_argument(
        "--label-column", default="label", help="name of the predicted-class column (default %(default)s)"
    )
    p.add_argument("--probabilities", action="store_true", help="add one probability column a class")
    f = sub.add_parser("filters", help="picture of a run's first convolution filters")
    f.add_argument("run_dir", help="a finished run folder with a saved model")
    f.add_argument("--out", required=True, help="PNG file")
    f.add_argument("--layer", default="", help="a Conv2D layer name (default: the first)")
    for parser, function in ((d, cmd_dedup), (p, cmd_predict), (f, cmd_filters)):
        parser.set_defaults(tool=function)
