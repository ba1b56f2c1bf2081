"""`kerasexp predict RUN IMAGES`: a finished run's kept model on a folder of unlabelled images."""

from __future__ import annotations

HELP = (
    "predict a folder of unlabelled images with a finished run's kept "
    "model (model.keras, which made its test predictions): a submission CSV"
)


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a finished run folder: its kept model(s) and class names")
    parser.add_argument("images", help="folder of images")
    parser.add_argument("--out", required=True, help="CSV: one row an image")
    parser.add_argument(
        "--tta", default=None, help="none, flip or dihedral (default: the views the run chose)"
    )
    parser.add_argument(
        "--id-column", default="image", help="name of the file-name column (default %(default)s)"
    )
    parser.add_argument(
        "--label-column", default="label", help="name of the predicted-class column (default %(default)s)"
    )
    parser.add_argument("--probabilities", action="store_true", help="add one probability column a class")


def run(args) -> int:
    from kerasexp.evaluation.inference import predict_folder

    table = predict_folder(
        args.run_dir, args.images, args.out, args.tta, args.id_column, args.label_column, args.probabilities
    )
    print(f"{len(table)} predictions -> {args.out}")
    return 0
