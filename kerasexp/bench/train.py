"""`kerasexp bench train`: training images per second of the Annex-1 baseline through
kerasexp's loop, a plain `model.fit` on numpy arrays, and the same model in a PyTorch eager
loop, measured side by side in one run (the PyTorch rounds in a child process), alternating
rounds with each loop first in turn, printed as one JSON object.

Each round times several epochs of all three back to back (kerasexp.bench.timing: alternating
order, medians of per-round ratios, CPU share); a float32 matmul's GFLOP/s is recorded beside
them as a marker of how fast the machine ran."""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

from kerasexp.bench.timing import EpochTimer
from kerasexp.child import call_in_child
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


def kerasexp_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """kerasexp's one experiment path (the Annex-1 baseline at its defaults): tf.data pipeline,
    compile from TrainConfig; the first epoch (tracing) is excluded, validation time is excluded."""
    import keras

    from kerasexp.config import Experiment, TrainConfig
    from kerasexp.data.dataset import ImageData
    from kerasexp.training.session import train_experiment

    data = ImageData(x, y, x[:batch_size], y[:batch_size], x[:0], y[:0], [str(i) for i in range(10)])
    exp = Experiment(training=TrainConfig(epochs=epochs, batch_size=batch_size), name="bench")
    timer = EpochTimer()
    train_experiment(exp, data, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def keras_fit_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """What a notebook does: float arrays in, `compile` with defaults, `fit`."""
    import keras

    from kerasexp.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("baseline", (28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    model.fit(x.astype("float32"), y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def torch_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float | None:
    """The same Annex-1 network and Adam in a plain PyTorch eager loop (None without torch)."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).astype("float32") / 255.0)
    yt = torch.from_numpy(np.asarray(y, dtype="int64"))
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(xt))
        model.train()
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    return len(x) / statistics.median(seconds[1:])


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
    from kerasexp.bench.timing import alternate
    from kerasexp.config import TrainConfig
    from kerasexp.provenance import onednn_enabled

    batch_size = batch_size or TrainConfig.batch_size

    x, y, source = _images(images, data_dir)
    rounds = alternate({
        "kerasexp": lambda: kerasexp_round(x, y, batch_size),
        "keras_fit": lambda: keras_fit_round(x, y, batch_size),
        # its own process: torch's optimizers crash a process that has loaded TF (torch 2.14)
        "torch": lambda: call_in_child(torch_round, x, y, batch_size),
    }, repeats, markers={"matmul_gflop_s": matmul_gflop_s})

    def rounded(value, digits=1):
        return None if value is None else round(value, digits)

    return {
        "kerasexp_img_s": rounded(rounds.median("kerasexp")),
        "keras_fit_img_s": rounded(rounds.median("keras_fit")),
        "torch_img_s": rounded(rounds.median("torch")),
        "ratio_vs_keras_fit": rounded(rounds.ratio("kerasexp", "keras_fit"), 3),
        "ratio_vs_torch": rounded(rounds.ratio("kerasexp", "torch"), 3),
        "matmul_gflop_s": rounded(rounds.median("matmul_gflop_s")),
        "images": len(x), "batch_size": batch_size, "repeats": repeats, "epochs_per_round": EPOCHS,
        # both Keras loops run in this process, on the same kernels (oneDNN: kerasexp/__init__.py)
        "onednn": onednn_enabled(), "kerasexp_steps_per_execution": TrainConfig().steps_per_execution,
        "data": source, "rounds": rounds.as_dict(),
    }


def main(args) -> int:
    from kerasexp.config import TrainConfig

    args.batch_size = args.batch_size or TrainConfig.batch_size
    if args.images < 2 * args.batch_size:
        raise UserError("--images must be at least twice --batch-size")
    print(json.dumps(bench_train(args.images, args.repeats, args.batch_size, args.data_dir)))
    return 0
