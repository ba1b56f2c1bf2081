"""`kerasexp bench train`: training images per second of the Annex-1 baseline through
kerasexp's loop, a plain `model.fit` on numpy arrays, and the same model in a PyTorch eager
loop, measured side by side in one run (the PyTorch rounds in a child process), alternating
rounds with each loop first in turn, printed as one JSON object.

This machine's speed drifts by tens of percent within minutes, so each round times several
epochs of all three back to back and the ratios are medians of per-round ratios (the three of
one round saw the same machine); a float32 matmul's GFLOP/s is recorded beside them as a marker
of how fast the machine ran."""

from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np

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


EPOCHS = 4  # a round: the first epoch (tracing, warm-up) is not timed, the median of the rest is


def kerasexp_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """kerasexp's train(): tf.data pipeline, compile from TrainConfig; the first epoch (tracing)
    is excluded, validation time is excluded."""
    import keras

    from kerasexp.data.dataset import ImageData
    from kerasexp.models import create_model
    from kerasexp.train import TrainConfig, seed_everything, train

    data = ImageData(x, y, x[:batch_size], y[:batch_size], x[:0], y[:0], [str(i) for i in range(10)])
    seed_everything(0)
    model = create_model("baseline", (28, 28, 1), 10)
    timer = _TrainTimer()
    train(model, data, TrainConfig(epochs=epochs, batch_size=batch_size), callbacks=[timer])
    keras.backend.clear_session()
    return len(x) / statistics.median(timer.seconds[1:])


def keras_fit_round(x, y, batch_size: int, epochs: int = EPOCHS) -> float:
    """What a notebook does: float arrays in, `compile` with defaults, `fit`."""
    import keras

    from kerasexp.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("baseline", (28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = _TrainTimer()
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


class _TrainTimer:
    """Seconds of each epoch's training steps (validation excluded)."""

    def __new__(cls):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()
                self.stopped = False

            def on_test_begin(self, logs=None):
                if not self.stopped:
                    self.seconds.append(time.perf_counter() - self.start)
                    self.stopped = True

            def on_epoch_end(self, epoch, logs=None):
                if not self.stopped:
                    self.seconds.append(time.perf_counter() - self.start)

        return Timer()


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the torch rounds)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_train(images: int = 12000, repeats: int = 5, batch_size: int = 128, data_dir=None) -> dict:
    from kerasexp.report import onednn_enabled
    from kerasexp.train import TrainConfig

    x, y, source = _images(images, data_dir)
    rounds = {"kerasexp": [], "keras_fit": [], "torch": [], "matmul_gflop_s": [], "cpu_share": []}
    loops = {"kerasexp": kerasexp_round, "keras_fit": keras_fit_round,
             # its own process: torch's optimizers crash a process that has loaded TF (torch 2.14)
             "torch": lambda *args: call_in_child(torch_round, *args)}
    order = list(loops)
    for r in range(repeats):  # alternate, so drifts in machine load hit all three alike
        # CPU seconds this process got per wall second: well under the core count, other work
        # shared the cores during the round (a slow round with a low share is the machine, not us).
        cpu, wall = _cpu_seconds(), time.perf_counter()
        for name in order[r % len(order):] + order[:r % len(order)]:  # each goes first in turn
            rounds[name].append(loops[name](x, y, batch_size))
        rounds["matmul_gflop_s"].append(matmul_gflop_s())
        rounds["cpu_share"].append((_cpu_seconds() - cpu) / (time.perf_counter() - wall))
    has_torch = None not in rounds["torch"]

    def median_ratio(other):
        return round(statistics.median(a / b for a, b in zip(rounds["kerasexp"], rounds[other])), 3)

    return {
        "kerasexp_img_s": round(statistics.median(rounds["kerasexp"]), 1),
        "keras_fit_img_s": round(statistics.median(rounds["keras_fit"]), 1),
        "torch_img_s": round(statistics.median(rounds["torch"]), 1) if has_torch else None,
        "ratio_vs_keras_fit": median_ratio("keras_fit"),
        "ratio_vs_torch": median_ratio("torch") if has_torch else None,
        "matmul_gflop_s": round(statistics.median(rounds["matmul_gflop_s"]), 1),
        "images": len(x), "batch_size": batch_size, "repeats": repeats, "epochs_per_round": EPOCHS,
        # both Keras loops run in this process, on the same kernels (oneDNN: kerasexp/__init__.py)
        "onednn": onednn_enabled(), "kerasexp_steps_per_execution": TrainConfig().steps_per_execution,
        "data": source,
        "rounds": {k: [None if v is None else round(v, 2 if k == "cpu_share" else 1) for v in vals]
                   for k, vals in rounds.items()},
    }


def main(what: str, args) -> int:
    if what == "train":
        if args.images < 2 * args.batch_size:
            raise UserError("--images must be at least twice --batch-size")
        print(json.dumps(bench_train(args.images, args.repeats, args.batch_size, args.data_dir)))
        return 0
    if what in ("augment", "augment-train"):
        from kerasexp.bench_augment import main as bench_augment_main

        return bench_augment_main(args)
    if what == "kernels":
        from kerasexp.bench_kernels import main as bench_kernels_main

        return bench_kernels_main(args)
    raise UserError(f"unknown benchmark {what!r}; choose train, augment, augment-train or kernels")
