"""Library manners: importing or calling kerasexp leaves the user's matplotlib backend and
rcParams as they were (a notebook keeps its inline plots, a script its own backend)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # TensorFlow's start-up and a 1-epoch run in a fresh process: ~30 s on 2 busy cores
def test_training_and_plotting_leave_the_backend_and_rcparams_alone(fashion_path, tmp_path):
    code = textwrap.dedent(f"""
        import matplotlib
        matplotlib.use("pdf")  # any backend that is not Agg
        before = dict(matplotlib.rcParams)
        import kerasexp, kerasexp.evaluation.report, kerasexp.tuning.report, kerasexp.cli.preview
        run = kerasexp.train({str(ROOT / "studies" / "fmnist_step_decay.toml")!r}, out={str(tmp_path / "run")!r},
                             overrides={{"dataset.data_dir": {str(fashion_path)!r}, "dataset.limit": 200,
                                         "training.epochs": 1}})
        fig = run.plot_curves()
        png = fig._repr_png_()  # what a notebook shows for it
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        written = kerasexp.tuning.report.write_plots(study, __import__("pathlib").Path({str(tmp_path)!r}))
        import matplotlib.pyplot as plt
        changed = sorted(k for k, v in matplotlib.rcParams.items() if before.get(k) != v)
        print(matplotlib.get_backend(), changed, png[:4] == b"\\x89PNG", written, plt.get_fignums())
    """)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    backend, rest = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert backend == "pdf"
    assert rest == (
        "[] True ['history.png', 'importances.png', 'parallel_coordinate.png', 'intermediate_values.png'] []"
    ), rest
    assert (tmp_path / "run" / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_predicting_with_one_new_model_after_another_logs_no_retracing_warning():
    """Each new model traces its own predict function and TensorFlow counts them all together: six
    models in one process (variants, seeds, folds, trials) used to log "triggered tf.function
    retracing" twice. predict_proba drops that one message while it predicts, nothing else."""
    import logging

    import keras
    import numpy as np

    from kerasexp.evaluation.predict import predict_proba

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        x = np.random.default_rng(0).integers(0, 255, size=(300, 4, 4, 1), dtype=np.uint8)
        for _ in range(6):
            model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
            model.compile(steps_per_execution=8)
            assert predict_proba(model, x, batch_size=16).shape == (300, 3)
        logger.warning("something else")
        logger.warning("5 out of the last 5 calls to <f> triggered tf.function retracing.")  # outside predict
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage()[:20] for r in records] == ["something else", "5 out of the last 5 "]
