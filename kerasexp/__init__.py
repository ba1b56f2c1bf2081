"""kerasexp: Keras 3 image-classification experiments, reproducible from one command."""

import os

# TensorFlow's C++ start-up chatter hides our progress lines; users can still set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
