"""`kerasexp bench augment`: RandAugment images per second inside a tf.data map, batch 64 —
kerasexp's fast implementation, keras-cv's layer (the reference) and Keras' own layer, same
images and setting (report 003's magnitude 0.32, 5 ops an image), side by side in one process,
alternating rounds (kerasexp.bench.timing); medians printed as one JSON object.

`kerasexp bench augment-train --experiment studies/pbc96_augment_bench.toml` times that experiment's
model training with and without report 003's full policy (RandAugment + saturation)."""

from __future__ import annotations

import gc
import json
import statistics
import time
from dataclasses import replace

import numpy as np

from kerasexp.bench.timing import EpochTimer, alternate

MAGNITUDE, OPS_PER_IMAGE = 0.32, 5
BATCH_SIZE = 64  # report 003's
DEFAULTS = {"augment": (1024, BATCH_SIZE), "augment-train": (4096, BATCH_SIZE)}  # --images, --batch-size


def _images(n: int, data_dir=None, size: int = 96, seed: int = 0):
    """Real pbc96 images when `data_dir` names the folder, else seeded smooth synthetic ones."""
    if data_dir:
        from kerasexp.data.folders import load_image_folder

        data = load_image_folder(data_dir, limit=n + 200, seed=seed, image_size=size)
        return data.x_train[:n], f"{data_dir} ({len(data.x_train[:n])} images, {size}x{size})"
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, size // 8, size // 8, 3)).astype(np.uint8)
    import cv2

    return np.stack([cv2.resize(b, (size, size), interpolation=cv2.INTER_CUBIC) for b in base]), "synthetic"


def pipelines(x: np.ndarray, batch_size: int, seed: int = 0) -> dict:
    """One infinite tf.data pipeline per implementation, each a map over float batches."""
    import keras
    import keras_cv
    import tensorflow as tf

    from kerasexp.augment.image_policies import keras_cv_random_generator
    from kerasexp.augment.randaugment import rand_augment

    def batches():
        return (
            tf.data.Dataset.from_tensor_slices(x)
            .repeat()
            .batch(batch_size, drop_remainder=True)
            .map(lambda b: tf.cast(b, tf.float32))
        )

    keras_cv_random_generator(seed)
    cv_layer = keras_cv.layers.RandAugment(
        value_range=(0, 255), magnitude=MAGNITUDE, augmentations_per_image=OPS_PER_IMAGE, seed=seed
    )
    keras_layer = keras.layers.RandAugment(
        value_range=(0, 255), num_ops=OPS_PER_IMAGE, factor=MAGNITUDE, seed=seed
    )
    seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)
    auto = tf.data.AUTOTUNE
    return {
        "fast": tf.data.Dataset.zip(batches(), seeds).map(
            lambda b, s: rand_augment(b, s), num_parallel_calls=auto
        ),
        "keras_cv": batches().map(lambda b: cv_layer(b, training=True), num_parallel_calls=auto),
        "keras": batches().map(lambda b: keras_layer(b, training=True), num_parallel_calls=auto),
    }


def throughput(iterator, batch_size: int, min_seconds: float, min_batches: int = 4) -> float:
    """Images per second over at least `min_seconds` and `min_batches` batches."""
    count, start = 0, time.perf_counter()
    while count < min_batches or time.perf_counter() - start < min_seconds:
        next(iterator)
        count += 1
    return count * batch_size / (time.perf_counter() - start)


def bench_augment(
    images: int = 1024,
    repeats: int = 3,
    batch_size: int = BATCH_SIZE,
    data_dir=None,
    min_seconds: float = 3.0,
) -> dict:
    x, source = _images(images, data_dir)
    datasets = pipelines(x, batch_size)

    def timed(ds):
        # one live pipeline at a time: an idle one's tf.data threads still took a third of the
        # CPU from the one being timed (about half its rate, when measured beside the others)
        it = iter(ds.prefetch(2))
        throughput(it, batch_size, 0.0, min_batches=3)  # trace and fill before timing
        rate = throughput(it, batch_size, min_seconds)
        del it
        gc.collect()
        return rate

    rounds = alternate({name: (lambda ds=ds: timed(ds)) for name, ds in datasets.items()}, repeats)
    return {
        "fast_img_s": round(rounds.median("fast"), 1),
        "keras_cv_img_s": round(rounds.median("keras_cv"), 1),
        "keras_img_s": round(rounds.median("keras"), 1),
        "ratio_vs_keras_cv": round(rounds.ratio("fast", "keras_cv"), 2),
        "ratio_vs_keras": round(rounds.ratio("fast", "keras"), 2),
        "magnitude": MAGNITUDE,
        "augmentations_per_image": OPS_PER_IMAGE,
        "batch_size": batch_size,
        "image_shape": list(x.shape[1:]),
        "data": source,
        "repeats": repeats,
        "min_seconds": min_seconds,
        "rounds": rounds.as_dict(),
    }


TRAIN_POLICY = ["randaugment", "saturation"]  # report 003's full policy


def _train_round(exp, data, policy, epochs: int) -> float:
    """Training images per second of one fresh model (first epoch and validation not timed)."""
    import keras

    from kerasexp.config import AugmentationConfig
    from kerasexp.training.session import train_experiment

    exp = replace(
        exp,
        augmentation=AugmentationConfig(policy=policy),
        training=replace(exp.training, epochs=epochs, restore_best=False, early_stopping_patience=0),
    )
    timer = EpochTimer()
    train_experiment(exp, data, callbacks=[timer])
    keras.backend.clear_session()
    return len(data.x_train) / statistics.median(timer.seconds[1:])


def bench_augment_train(
    experiment: str, images: int = 4096, repeats: int = 2, epochs: int = 3, data_dir=None, policy=TRAIN_POLICY
) -> dict:
    """The experiment's model trained with and without `policy` on the same images, alternating
    rounds: does the augmentation starve training?"""
    from kerasexp.config import load_experiment
    from kerasexp.data import load_dataset

    exp = load_experiment(experiment, [f"dataset.data_dir={json.dumps(data_dir)}"] if data_dir else [])
    data = load_dataset(exp.dataset)
    n = min(images, len(data.x_train))
    b = exp.training.batch_size
    data = replace(
        data, x_train=data.x_train[:n], y_train=data.y_train[:n], x_val=data.x_val[:b], y_val=data.y_val[:b]
    )
    rounds = alternate(
        {
            "none": lambda: _train_round(exp, data, "none", epochs),
            "augmented": lambda: _train_round(exp, data, policy, epochs),
        },
        repeats,
    )
    return {
        "train_img_s_none": round(rounds.median("none"), 1),
        "train_img_s_augmented": round(rounds.median("augmented"), 1),
        "ratio_augmented_vs_none": round(rounds.ratio("augmented", "none"), 3),
        "policy": policy,
        "experiment": experiment,
        "model": exp.model.name,
        "model_params": exp.model.params,
        "image_shape": list(data.input_shape),
        "images": n,
        "batch_size": b,
        "epochs_timed": epochs - 1,
        "repeats": repeats,
        "data": data.source,
        "rounds": rounds.as_dict(),
    }


def main(args) -> int:
    from kerasexp.errors import UserError

    if args.images < 2 * args.batch_size:
        raise UserError("--images must be at least twice --batch-size")
    if args.what == "augment-train":
        print(
            json.dumps(
                bench_augment_train(
                    args.experiment or "studies/pbc96_augment_bench.toml",
                    args.images,
                    args.repeats,
                    data_dir=args.data_dir,
                )
            )
        )
        return 0
    print(json.dumps(bench_augment(args.images, args.repeats, args.batch_size, args.data_dir)))
    return 0
