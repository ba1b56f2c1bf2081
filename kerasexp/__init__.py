"""kerasexp: Keras 3 image-classification experiments, reproducible from one command."""

import os

# TensorFlow's C++ start-up chatter hides our progress lines; users can still set it lower.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
