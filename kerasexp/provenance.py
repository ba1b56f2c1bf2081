"""What every run and report records about how it was made: the command, the time, the
machine and the libraries (so a reader can weigh a wall time and rerun it)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from pathlib import Path


def machine_description() -> dict:
    """What a reader needs to weigh a wall time: CPU, cores, library versions."""
    import keras
    import tensorflow as tf

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "cpu": cpu, "cores": os.cpu_count(), "gpus": gpus or "none",
        "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
        "onednn": onednn_enabled(), "os": platform.platform(),
    }


def onednn_enabled() -> bool | None:
    """Whether TF runs its oneDNN CPU kernels (kerasexp/__init__.py): results differ from Eigen's
    in the last bits, so a report says which produced it (None: TF does not tell)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def command_line() -> str:
    prog = "python -m " + sys.modules["__main__"].__spec__.name if getattr(sys.modules["__main__"], "__spec__", None) else sys.argv[0]
    return " ".join([prog, *map(shlex.quote, sys.argv[1:])])


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")
