"""kerasexp: Keras 3 image-classification experiments, reproducible from one command."""

import os
import platform

# TensorFlow's C++ chatter (start-up lines, and an E-level "NodeDef mentions attribute
# use_unbounded_threadpool" line for every tf.data map) hides our progress lines; real failures
# still surface as Python exceptions. Users can set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# TensorFlow turns its oneDNN kernels on by default only on x86 CPUs with AVX-512 VNNI/BF16 or
# AMX; on others (AVX2-only CPUs) it runs Eigen's, which train every
# model we build slower (`kerasexp bench kernels`, reports/bench_kernels.md). oneDNN's results are as deterministic under
# `enable_op_determinism` as Eigen's (same seed, same weights), though not bit-equal to them.
# It only takes effect if set before TensorFlow is imported; set it to 0 to keep Eigen.
if platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

# Bumped by every change that alters a run's numbers (same config, same seed, other results), so
# `kerasexp reports check` can tell a report that today's code would reproduce from an older one.
# 2: each epoch's order and augmentation seeds depend on (seed, epoch, batch) only (exact resume).
RESULTS_VERSION = 2


def import_tensorflow_quietly():
    """Import TensorFlow and probe its devices with the process's stderr muted: its C++ start-up
    lines (oneDNN, CUDA probing) ignore TF_CPP_MIN_LOG_LEVEL and would bury a one-line error.
    Python exceptions still surface, after stderr is restored."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf


# The Python API (kerasexp/api.py), imported on first use so that `import kerasexp` stays light.
from kerasexp.errors import UserError  # noqa: E402, F401  (kerasexp.UserError)

API = ("Run", "train", "load_run", "study", "compare")


def __getattr__(name):
    if name in API:
        # TensorFlow's C++ start-up lines would otherwise land in the notebook cell (ipykernel
        # forwards the process's stderr), as the command line mutes them.
        import_tensorflow_quietly()
        from kerasexp import api

        return getattr(api, name)
    raise AttributeError(f"module 'kerasexp' has no attribute {name!r}")
