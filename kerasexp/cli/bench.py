"""`kerasexp bench WHAT`: throughput benchmarks, each a module of kerasexp.bench."""

from __future__ import annotations

import importlib
import json

from kerasexp.cli.args import positive_int, read_experiment, seed_list

HELP = "throughput benchmarks, printed as one JSON object"

# bench name -> its module in kerasexp.bench (each module's DEFAULTS: --images, --batch-size)
BENCHES = {
    "train": "train",
    "augment": "augment",
    "augment-train": "augment",
    "kernels": "kernels",
    "speedrun": "speedrun",
    "roofline": "roofline",
    "many-runs": "many_runs",
}
# bench -> the experiment file it reads by default (kerasexp.bench.speedrun / augment)
BENCH_EXPERIMENTS = {
    "speedrun": "studies/fmnist_fast.toml",
    "augment-train": "studies/pbc96_augment_bench.toml",
}


def add_arguments(parser) -> None:
    parser.add_argument("what", choices=list(BENCHES), help="what to measure: " + ", ".join(BENCHES))
    parser.add_argument(
        "--images",
        type=positive_int,
        help="images per measurement (train: 12000; augment: 1024, cycled; many-runs: each run's "
        "training images before the validation split, 10000)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        help="alternating rounds; medians of img/s and of per-round ratios are reported "
        "(default 5; roofline and many-runs 3)",
    )
    parser.add_argument("--batch-size", type=positive_int, help="train: 128; augment: 64")
    parser.add_argument(
        "--data-dir", default=None, help="train: Fashion-MNIST files; augment: an image folder (pbc96)"
    )
    parser.add_argument(
        "--experiment",
        help="augment-train: the model and data (default studies/pbc96_augment_bench.toml); "
        "speedrun: the recipe (default studies/fmnist_fast.toml)",
    )
    parser.add_argument("--seeds", type=seed_list, help="speedrun: training seeds (default 0,1,2)")
    parser.add_argument(
        "--out",
        help="speedrun: its folder (default reports/speedrun); "
        "roofline: the report's .md (default reports/bench_roofline.md, its .json beside it); "
        "many-runs: the same (default reports/bench_many_runs.md)",
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        help="roofline: timed training steps a round for every model (default: each model's own)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="speedrun: run in an --out that holds another recipe's runs"
    )
    parser.add_argument(
        "--models",
        help="kernels: comma-separated (default: baseline,ladder_both,ladder_resnet,mobilenet_finetune); "
        "roofline: comma-separated (default: all of kerasexp.bench.roofline.MODELS)",
    )


def check(args) -> None:
    """The roofline's flags and the experiment file a bench reads, checked before TensorFlow."""
    if args.what == "roofline":
        from kerasexp.bench.roofline import check_arguments

        check_arguments(args)
    elif args.what == "many-runs":
        from kerasexp.bench.many_runs import report_path

        report_path(args.out)
    elif args.what in BENCH_EXPERIMENTS:
        data_dir = [f"dataset.data_dir={json.dumps(args.data_dir)}"] if args.data_dir else []
        read_experiment(
            args.experiment or BENCH_EXPERIMENTS[args.what], data_dir if args.what == "augment-train" else []
        )


def run(args) -> int:
    module = importlib.import_module(f"kerasexp.bench.{BENCHES[args.what]}")
    images, batch_size = getattr(module, "DEFAULTS", {}).get(args.what, (None, None))
    args.images, args.batch_size = args.images or images, args.batch_size or batch_size
    args.repeats = args.repeats or getattr(module, "REPEATS", 5)
    return module.main(args)
