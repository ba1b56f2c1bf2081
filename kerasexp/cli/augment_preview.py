"""`kerasexp augment-preview FILE --out grid.png`: an experiment's augmentation policy shown on
training images before training (the grid itself: kerasexp.cli.preview)."""

from __future__ import annotations

from kerasexp.cli.args import add_overrides, positive_int, read_experiment

HELP = "grid of training images and their augmented versions (PNG)"


def add_arguments(parser) -> None:
    parser.add_argument("experiment", help="studies/NAME.toml")
    parser.add_argument("--out", required=True, help="PNG file")
    add_overrides(parser)
    parser.add_argument("--images", type=positive_int, default=8, help="training images (rows)")
    parser.add_argument("--views", type=positive_int, default=3, help="augmented draws of each (columns)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the first augmented draw (default %(default)s)"
    )


def check(args) -> None:
    """The file read and checked whole before TensorFlow is imported."""
    args.exp = read_experiment(args.experiment, args.set or [])


def run(args) -> int:
    from kerasexp.cli.preview import augment_preview

    path = augment_preview(args.experiment, args.out, args.set or [], args.images, args.views, args.seed)
    print(f"wrote {path}")
    return 0
