"""Side-by-side RandAugment throughput: FastRandAugment vs keras-cv vs keras.

All three run the same way, inside ``tf.data.Dataset.map`` on batches, in one
process, so the numbers are comparable on whatever machine runs them.  Each
method is timed in ``rounds`` alternating rounds (so a background load that
comes and goes hits all of them alike); every round starts a fresh iterator
and discards ``warmup_batches`` batches first (tracing and pipeline fill are
not timed), and the iterator is dropped afterwards so it stops computing ahead
while the next method is timed.

Run ``python -m kerasexp.augment.bench --data DIR`` (DIR holds ``<class>/*.jpg``)
to print one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def load_image_folder(path, n: int = 512, seed: int = 0, size: int | None = None) -> np.ndarray:
    """``n`` images (float32, 0..255, RGB) drawn at random from ``path/**/*.{jpg,png,...}``.

    Images are resized to ``size`` (or the first image's size) when they differ,
    so they stack into one array.
    """
    files = sorted(p for p in Path(path).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images under {path}")
    rng = np.random.default_rng(seed)
    chosen = [files[i] for i in rng.permutation(len(files))[: min(n, len(files))]]
    images = []
    for file in chosen:
        image = tf.io.decode_image(tf.io.read_file(str(file)), channels=3, expand_animations=False)
        if size is None:
            size = int(image.shape[0])
        if image.shape[0] != size or image.shape[1] != size:
            image = tf.image.resize(image, (size, size))
        images.append(tf.cast(image, tf.float32).numpy())
    return np.stack(images)


def synthetic_images(n: int = 512, size: int = 96, seed: int = 0) -> np.ndarray:
    """Smooth, image-like float32 RGB in 0..255 (upsampled low-res noise plus blobs).

    Only a stand-in when no data folder is given: white noise would make
    histogram ops and interpolation behave unlike real photos.
    """
    rng = np.random.default_rng(seed)
    low = rng.uniform(60, 230, size=(n, 6, 6, 3)).astype(np.float32)
    images = tf.image.resize(low, (size, size), method="bicubic").numpy()
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        cy, cx, r = rng.uniform(0.3 * size, 0.7 * size, 2).tolist() + [rng.uniform(0.1, 0.25) * size]
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < r**2
        images[i][blob] = images[i][blob] * 0.4 + rng.uniform(0, 120, 3)
    images += rng.normal(0, 4, images.shape).astype(np.float32)
    return np.clip(images, 0, 255).astype(np.float32)


def _make_augmenters(magnitude: float, augmentations_per_image: int, seed: int) -> dict:
    import keras
    import keras_cv

    from kerasexp.augment.randaugment import FastRandAugment

    return {
        "fast": FastRandAugment(
            value_range=(0, 255), magnitude=magnitude, augmentations_per_image=augmentations_per_image, seed=seed
        ),
        "keras_cv": keras_cv.layers.RandAugment(
            value_range=(0, 255), magnitude=magnitude, augmentations_per_image=augmentations_per_image, seed=seed
        ),
        "keras": keras.layers.RandAugment(
            value_range=(0, 255), num_ops=augmentations_per_image, factor=magnitude, seed=seed
        ),
    }


def _time_round(dataset, batch_size: int, seconds: float, warmup_batches: int) -> tuple[int, float]:
    iterator = iter(dataset)
    for _ in range(warmup_batches):
        next(iterator)
    count = 0
    start = time.perf_counter()
    while True:
        next(iterator)
        count += batch_size
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    del iterator
    return count, elapsed


def bench_augment(
    images,
    batch_size: int = 64,
    seconds: float = 20.0,
    rounds: int = 2,
    warmup_batches: int = 3,
    magnitude: float = 0.32,
    augmentations_per_image: int = 5,
    num_parallel_calls=tf.data.AUTOTUNE,
    seed: int = 0,
) -> dict:
    """Images/second of FastRandAugment, keras-cv RandAugment and keras RandAugment.

    ``images`` is a float ``[N, H, W, 3]`` array in 0..255.  Each method gets
    ``seconds`` of timed work in total, split over ``rounds`` alternating rounds.
    Returns ``{"fast_img_s", "keras_cv_img_s", "keras_img_s", "ratio_vs_keras_cv"}``.
    """
    images = np.asarray(images, dtype=np.float32)
    augmenters = _make_augmenters(magnitude, augmentations_per_image, seed)
    datasets = {}
    for name, layer in augmenters.items():
        dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(batch_size, drop_remainder=True)
        datasets[name] = dataset.map(
            lambda batch, layer=layer: layer(batch, training=True), num_parallel_calls=num_parallel_calls
        )
    totals = {name: [0, 0.0] for name in datasets}
    for _ in range(max(1, rounds)):
        for name, dataset in datasets.items():
            count, elapsed = _time_round(dataset, batch_size, seconds / max(1, rounds), warmup_batches)
            totals[name][0] += count
            totals[name][1] += elapsed
    rate = {name: count / elapsed for name, (count, elapsed) in totals.items()}
    return {
        "fast_img_s": round(rate["fast"], 1),
        "keras_cv_img_s": round(rate["keras_cv"], 1),
        "keras_img_s": round(rate["keras"], 1),
        "ratio_vs_keras_cv": round(rate["fast"] / rate["keras_cv"], 2),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="image folder (<class>/*.jpg); synthetic if omitted")
    parser.add_argument("--n", type=int, default=512, help="number of images to load (default 512)")
    parser.add_argument("--size", type=int, default=96, help="image side (synthetic, or resize target)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per method (all rounds)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--magnitude", type=float, default=0.32)
    parser.add_argument("--augmentations-per-image", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.data is not None:
        images = load_image_folder(args.data, n=args.n, seed=args.seed, size=args.size)
    else:
        images = synthetic_images(n=args.n, size=args.size, seed=args.seed)
    result = bench_augment(
        images,
        batch_size=args.batch_size,
        seconds=args.seconds,
        rounds=args.rounds,
        magnitude=args.magnitude,
        augmentations_per_image=args.augmentations_per_image,
        seed=args.seed,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
