"""kerasexp: Keras 3 image-classification experiments, reproducible from one command."""

import os

# TensorFlow's C++ chatter (start-up lines, and an E-level "NodeDef mentions attribute
# use_unbounded_threadpool" line for every tf.data map) hides our progress lines; real failures
# still surface as Python exceptions. Users can set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"


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
