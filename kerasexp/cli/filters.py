"""`kerasexp filters RUN`: a picture of a run's first convolution filters."""

from __future__ import annotations

HELP = "picture of a run's first convolution filters"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a finished run folder with a saved model")
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--layer", default="", help="a Conv2D layer name (default: the first)")


def run(args) -> int:
    from kerasexp.evaluation.inference import first_conv_filters

    print(f"wrote {first_conv_filters(args.run_dir, args.out, args.layer)}")
    return 0
