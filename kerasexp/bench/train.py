"""`kerasexp bench train`: training images per second of the Annex-1 baseline, measured side by
side in one run (kerasexp.bench.timing: alternating rounds, each contender first in turn, medians
of per-round ratios), printed as one JSON object. Two comparisons, each named for what it measures:

  ratio_loop_overhead      kerasexp's train() against `model.fit` on the same tf.data pipeline,
                           compiled from the same TrainConfig (same steps_per_execution): what the
                           loop itself adds (callbacks, seeding); ~1.0 means nothing
  ratio_defaults_vs_keras  kerasexp at its defaults against a notebook's `model.fit` at Keras'
                           defaults (NumPy arrays, one step a call): what a user gains by switching,
                           split into the input pipeline (ratio_pipeline: fit on kerasexp's pipeline
                           against fit on NumPy arrays, both steps_per_execution 8) and the flag
                           (ratio_steps_per_execution: fit on NumPy arrays, 8 steps a call against 1)

and the same training in PyTorch (kerasexp.bench.torch_peer), each in its own process: eager with channels_last
and its threads set to the cores, and torch.compile (its compile time reported apart, not in
img/s). A float32 matmul's GFLOP/s is recorded beside each round as a marker of the machine."""

from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np

from kerasexp.bench.timing import EpochTimer
from kerasexp.errors import UserError


def _images(n: int, data_dir=None, seed: int = 0):
    """Real Fashion-MNIST training images where installed, else seeded noise of the same shape."""
    from kerasexp.data.fashion_mnist import load_arrays

    try:
        arrays, source = load_arrays(data_dir)
        return arrays["x_train"][:n, ..., None], arrays["y_train"][:n].astype("int64"), source
    except UserError:
        if data_dir:
            raise
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, n), "synthetic"


DEFAULTS = {"train": (12000, None)}  # --images, --batch-size (None: the training default, TrainConfig's)
EPOCHS = 4  # a round: the first epoch (tracing, warm-up) is not timed, the median of the rest is


def bench_experiment(batch_size: int, epochs: int = EPOCHS):
    """The experiment both kerasexp and the PyTorch peer train: the Annex-1 baseline, defaults."""
    from kerasexp.config import Experiment, TrainConfig

    return Experiment(training=TrainConfig(epochs=epochs, batch_size=batch_size), name="bench")


def kerasexp_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """kerasexp's one experiment path (the Annex-1 baseline at its defaults): tf.data pipeline,
    compile from TrainConfig; the first epoch (tracing) is excluded, validation time is excluded."""
    import keras

    from kerasexp.data.dataset import ImageData
    from kerasexp.training.session import train_experiment

    data = ImageData(x, y, x[:batch_size], y[:batch_size], x[:0], y[:0], [str(i) for i in range(10)])
    exp = bench_experiment(batch_size, epochs)
    timer = EpochTimer()
    train_experiment(exp, data, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def fit_pipeline_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """`model.fit` on kerasexp's own training pipeline, compiled from the same TrainConfig (same
    steps_per_execution, same kernels): kerasexp's round without its loop."""
    import keras

    from kerasexp.config import TrainConfig
    from kerasexp.models import create_model
    from kerasexp.training.loop import compile_model
    from kerasexp.training.pipeline import make_dataset

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size)
    keras.utils.set_random_seed(0)
    model = compile_model(create_model("baseline", (28, 28, 1), 10), cfg, -(-len(x) // batch_size))
    timer = EpochTimer()
    model.fit(make_dataset(x, y, 10, batch_size, shuffle=True), epochs=epochs, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def keras_fit_round(x, y, batch_size: int, epochs: int = EPOCHS, steps_per_execution: int = 1) -> float:
    """What a notebook does: float arrays in, `compile` with defaults, `fit`."""
    import keras

    from kerasexp.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("baseline", (28, 28, 1), 10)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    timer = EpochTimer()
    model.fit(x.astype("float32"), y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def matmul_gflop_s(n: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of a float32 n x n matmul in TensorFlow: how fast the machine runs right now."""
    import tensorflow as tf

    a = tf.random.stateless_normal((n, n), seed=(0, 0))
    step = tf.function(lambda a: tf.matmul(a, a))
    step(a).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        step(a).numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def bench_train(images: int = 12000, repeats: int = 5, batch_size: int | None = None, data_dir=None) -> dict:
    from kerasexp.bench.timing import alternate, torch_contenders
    from kerasexp.bench.torch_peer import torch_round
    from kerasexp.config import TrainConfig, to_dict
    from kerasexp.provenance import cpu_description, onednn_enabled, tf_threads

    batch_size = batch_size or TrainConfig.batch_size
    spe = TrainConfig().steps_per_execution
    x, y, source = _images(images, data_dir)
    torch_peers, torch_runs = torch_contenders(
        torch_round, to_dict(bench_experiment(batch_size)), x, y, EPOCHS
    )
    rounds = alternate(
        {
            "kerasexp": lambda: kerasexp_round(x, y, batch_size),
            "fit_pipeline": lambda: fit_pipeline_round(x, y, batch_size),
            "keras_fit": lambda: keras_fit_round(x, y, batch_size),
            "keras_fit_spe": lambda: keras_fit_round(x, y, batch_size, steps_per_execution=spe),
            **torch_peers,
        },
        repeats,
        markers={"matmul_gflop_s": matmul_gflop_s},
    )

    def rounded(value, digits=1):
        return None if value is None else round(value, digits)

    best_torch = [
        None if e is None or c is None else max(e, c)
        for e, c in zip(rounds.figures["torch_eager"], rounds.figures["torch_compiled"])
    ]
    rounds.figures["torch_best"] = best_torch
    compiled = [r for r in torch_runs["compiled"] if r]
    eager = [r for r in torch_runs["eager"] if r]
    return {
        "kerasexp_img_s": rounded(rounds.median("kerasexp")),
        "fit_same_pipeline_img_s": rounded(rounds.median("fit_pipeline")),
        "keras_fit_img_s": rounded(rounds.median("keras_fit")),
        "keras_fit_spe_img_s": rounded(rounds.median("keras_fit_spe")),
        "torch_eager_img_s": rounded(rounds.median("torch_eager")),
        "torch_compiled_img_s": rounded(rounds.median("torch_compiled")),
        "torch_compile_seconds": rounded(statistics.median(r["first_step_seconds"] for r in compiled), 1)
        if compiled
        else None,
        "ratio_loop_overhead": rounded(rounds.ratio("kerasexp", "fit_pipeline"), 3),
        "ratio_defaults_vs_keras": rounded(rounds.ratio("kerasexp", "keras_fit"), 3),
        "ratio_pipeline": rounded(rounds.ratio("fit_pipeline", "keras_fit_spe"), 3),
        "ratio_steps_per_execution": rounded(rounds.ratio("keras_fit_spe", "keras_fit"), 3),
        # the keys the README documented before: the same figures under their old names
        "torch_img_s": rounded(rounds.median("torch_eager")),
        "ratio_vs_keras_fit": rounded(rounds.ratio("kerasexp", "keras_fit"), 3),
        "ratio_vs_torch": rounded(rounds.ratio("kerasexp", "torch_best"), 3),
        "matmul_gflop_s": rounded(rounds.median("matmul_gflop_s")),
        "images": len(x),
        "batch_size": batch_size,
        "repeats": repeats,
        "epochs_per_round": EPOCHS,
        # the Keras loops run in this process, on the same kernels (oneDNN: kerasexp/__init__.py)
        "onednn": onednn_enabled(),
        "kerasexp_steps_per_execution": spe,
        "tf_threads": tf_threads(),
        "torch_threads": eager[0]["threads"] if eager else None,
        "torch_interop_threads": eager[0]["interop_threads"] if eager else None,
        "torch_version": eager[0]["version"] if eager else None,
        **cpu_description(),
        "cores": os.cpu_count(),
        "data": source,
        "rounds": rounds.as_dict(),
    }


def main(args) -> int:
    from kerasexp.config import TrainConfig

    args.batch_size = args.batch_size or TrainConfig.batch_size
    if args.images < 2 * args.batch_size:
        raise UserError("--images must be at least twice --batch-size")
    print(json.dumps(bench_train(args.images, args.repeats, args.batch_size, args.data_dir)))
    return 0
