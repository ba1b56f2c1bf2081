"""What every run and report records about how it was made: the command, the time, the
machine and the libraries (so a reader can weigh a wall time and rerun it)."""

from __future__ import annotations

import functools
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from kerasexp.errors import mask_secrets


def machine_description() -> dict:
    """What a reader needs to weigh a wall time and rerun a figure: the code (version, commit),
    the CPU and its flags, the kernels and threads TF ran with, the GPU, the libraries."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        **cpu_description(),
        "cores": os.cpu_count(),
        "gpus": gpus or "none",
        "onednn": onednn_enabled(),
        "tf_threads": tf_threads(),
        **code_version(),
        "python": platform.python_version(),
        **library_versions(),
        "os": platform.platform(),
    }


def tf_threads() -> dict:
    """TensorFlow's thread pools (0: its default, one thread a core)."""
    import tensorflow as tf

    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


LIBRARIES = ("tensorflow", "keras", "keras-cv", "optuna", "numpy", "scikit-learn")


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_description() -> dict:
    """The CPU model and the instruction-set flags that decide which kernels TF runs."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    model = model or platform.processor()
    return {"cpu": model, "cpu_flags": [f for f in CPU_FLAGS if f in flags]}


def code_version() -> dict:
    """kerasexp's version, its git commit where it runs from a checkout ("+dirty" when its files
    differ from it), and `code`: what this process's kerasexp is (code_fingerprint)."""
    import kerasexp

    code = code_fingerprint()
    commit = code["commit"] and code["commit"] + ("+dirty" if code["diff_sha256"] else "")
    return {
        "kerasexp": kerasexp.__version__,
        "results_version": kerasexp.RESULTS_VERSION,
        "commit": commit,
        "code": dict(code),
    }


@functools.cache
def code_fingerprint() -> dict:
    """The code this process runs, computed once, at first use (about 20 ms): `source_sha256` over
    every kerasexp/**/*.py (relative path and content, sorted by path), true even without git; from
    a checkout, `commit` (HEAD) and `diff_sha256`, the sha256 of `git diff HEAD -- kerasexp/` (None
    when kerasexp/ is as committed). A record's commit alone says what was checked out when the run
    started, not the code it ran: the source hash says that."""
    import hashlib
    import subprocess

    import kerasexp

    package = Path(kerasexp.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    commit = diff = None
    try:
        git = ["git", "-C", str(package.parent)]
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        patch = subprocess.run(
            [*git, "diff", "HEAD", "--", "kerasexp/"], capture_output=True, timeout=10, check=True
        ).stdout
        diff = hashlib.sha256(patch).hexdigest() if patch else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"source_sha256": digest.hexdigest(), "commit": commit or None, "diff_sha256": diff}


def onednn_enabled() -> bool | None:
    """Whether TF runs its oneDNN CPU kernels (kerasexp/__init__.py): results differ from Eigen's
    in the last bits, so a report says which produced it (None: TF does not tell)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (`python -m kerasexp ...`), secrets masked (`--storage URL` and
    `--storage=URL` alike: every argument is masked on its own before quoting)."""
    argv = sys.argv if argv is None else argv
    spec = getattr(sys.modules["__main__"], "__spec__", None)  # `python -m kerasexp` runs kerasexp.__main__
    prog = "python -m " + spec.name.removesuffix(".__main__") if spec else argv[0]
    return " ".join([mask_secrets(prog), *(shlex.quote(mask_secrets(a)) for a in argv[1:])])


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")
