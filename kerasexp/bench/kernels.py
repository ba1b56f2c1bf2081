"""`kerasexp bench kernels`: training steps per second of kerasexp's models with TensorFlow's
oneDNN CPU kernels against its Eigen ones, the choice kerasexp/__init__.py makes for the user.

TF reads TF_ENABLE_ONEDNN_OPTS once, at import, so each setting runs in its own spawned process;
the rounds alternate which goes first and the ratios are medians of per-round ratios
(kerasexp.bench.timing). A step is one tf.function forward + backward + Adam update on a fixed
batch: kernel speed alone, with no input pipeline in the way."""

from __future__ import annotations

import json
import os
import statistics
import time

from kerasexp.bench.timing import Rounds, alternate
from kerasexp.processes import call_in_child
from kerasexp.errors import UserError

# name: (model, input shape, classes, batch, timed steps, model params): the reports' models
KERNEL_MODELS = {
    "baseline": ("baseline", (28, 28, 1), 10, 128, 40, {}),
    "ladder_both": ("ladder_both", (32, 32, 3), 100, 128, 20, {}),
    "ladder_resnet": ("ladder_resnet", (32, 32, 3), 100, 32, 6, {}),
    "mobilenet_finetune": (
        "transfer",
        (96, 96, 3),
        8,
        64,
        10,
        {"backbone_params": {"alpha": 0.25}, "weights": "none", "unfreeze": 85, "norm_mode": "train"},
    ),
}


def kernel_round(onednn: str, models: list[str], blocks: int = 3) -> dict:
    """In a fresh process, with TF_ENABLE_ONEDNN_OPTS=`onednn` set before TF is imported: img/s
    of each model's training step (median of `blocks` timed runs of its steps, after one untimed
    step that traces), and whether oneDNN was on."""
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = onednn
    from kerasexp import import_tensorflow_quietly

    tf = import_tensorflow_quietly()
    import keras

    from kerasexp.models import create_model
    from kerasexp.provenance import onednn_enabled

    result = {"onednn": onednn_enabled()}
    for name in models:
        model_name, shape, classes, batch, steps, params = KERNEL_MODELS[name]
        keras.utils.set_random_seed(0)
        model = create_model(model_name, shape, classes, **params)
        optimizer = keras.optimizers.Adam(1e-4)
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
        optimizer.build(model.trainable_variables)

        @tf.function  # traced and called within this iteration only: the loop's names are its own
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            optimizer.apply_gradients(
                zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
            )
            return loss

        x = tf.random.stateless_uniform((batch, *shape), seed=(0, 1), maxval=255.0)
        y = tf.random.stateless_uniform((batch,), seed=(0, 2), maxval=classes, dtype=tf.int32)
        float(step(x, y))
        rates = []
        for _ in range(blocks):
            start = time.perf_counter()
            for _ in range(steps):
                loss = step(x, y)
            float(loss)
            rates.append(batch * steps / (time.perf_counter() - start))
        result[name] = statistics.median(rates)
        keras.backend.clear_session()
    return result


def bench_kernels(models: list[str] | None = None, repeats: int = 3) -> dict:
    models = list(models or KERNEL_MODELS)
    unknown = [m for m in models if m not in KERNEL_MODELS]
    if unknown:
        raise UserError(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(KERNEL_MODELS)}")
    runs = alternate(
        {
            "onednn": lambda: call_in_child(kernel_round, "1", models),
            "eigen": lambda: call_in_child(kernel_round, "0", models),
        },
        repeats,
    )
    took = [rd["onednn"] for rd in runs.figures["onednn"]], [rd["onednn"] for rd in runs.figures["eigen"]]
    if False in took[0] or True in took[1]:
        raise RuntimeError(f"TF_ENABLE_ONEDNN_OPTS did not take effect in the child processes: {took}")
    out = {}
    for name in models:
        rounds = Rounds(
            {setting: [rd[name] for rd in runs.figures[setting]] for setting in runs.figures}, runs.cpu_share
        )
        out[name] = {
            "onednn_img_s": round(rounds.median("onednn"), 1),
            "eigen_img_s": round(rounds.median("eigen"), 1),
            "ratio": round(rounds.ratio("onednn", "eigen"), 3),
            "rounds": rounds.as_dict(),
        }
    return {
        "models": out,
        "repeats": repeats,
        "steps": {m: {"batch": KERNEL_MODELS[m][3], "steps": KERNEL_MODELS[m][4]} for m in models},
    }


def main(args) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    print(json.dumps(bench_kernels(models, args.repeats)))
    return 0
