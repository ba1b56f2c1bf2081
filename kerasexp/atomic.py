"""Atomic file output: every file is written under a temporary name and renamed into place,
so an interrupted or failed run never leaves a half-written report."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
from pathlib import Path

from kerasexp.errors import UserError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The temporary name keeps the extension (or `suffix`) so writers that infer the format
    from it (matplotlib, Keras) still work. It is created with mode 0666 less the umask, like
    any file (tempfile.mkstemp's 0600 would make every report private). A full disk, a quota or a
    read-only file system becomes a one-line WriteFailed naming the file.
    """
    path = Path(path)
    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_temporary(path, suffix or path.suffix)
    try:
        with write_errors(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _new_temporary(path: Path, suffix: str) -> Path:
    """An empty new file `.STEM.XXXXXXXX.SUFFIX` beside `path` (rundir.remove_temporaries knows the form)."""
    import secrets

    while True:
        tmp = path.parent / f".{path.stem}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies
            return tmp
        except FileExistsError:
            continue


# errno values that mean "this storage cannot take the file", not a bug
STORAGE_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EFBIG: "the file is too large for it",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class WriteFailed(UserError):
    """A file could not be written for want of space or permission: what is already written stays
    (a rerun resumes), so a run folder is not removed for it."""


@contextlib.contextmanager
def write_errors(path: Path):
    """Turn an OSError of STORAGE_ERRORS while writing `path` into a one-line WriteFailed."""
    try:
        yield
    except OSError as err:
        if err.errno not in STORAGE_ERRORS:
            raise
        raise WriteFailed(
            f"cannot write {path}: {STORAGE_ERRORS[err.errno]}; free space (or give a "
            "folder on another disk) and rerun the same command: a run resumes from its "
            "last finished epoch"
        ) from None


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, data) -> Path:
    """JSON as the standard reads it: a NaN or infinite value is refused in one line naming its key
    (json.dumps would write NaN, which no strict reader takes)."""
    try:
        text = json.dumps(data, indent=2, sort_keys=False, default=_jsonable, allow_nan=False)
    except ValueError:
        key = non_finite_key(data) or "a value"
        raise UserError(
            f"{path} is not written: {key} is NaN or infinite, which JSON cannot hold; a "
            "diverged training shows it in its history (lower the learning rate)"
        ) from None
    return write_text(path, text + "\n")


def non_finite_key(data, at: str = "") -> str | None:
    """The dotted key of the first NaN or infinite number in `data` (None: there is none)."""
    if isinstance(data, dict):
        items = ((f"{at}.{k}" if at else str(k), v) for k, v in data.items())
    elif isinstance(data, (list, tuple)):
        items = ((f"{at}[{i}]", v) for i, v in enumerate(data))
    elif hasattr(data, "tolist"):  # numpy arrays and scalars
        return non_finite_key(data.tolist() if getattr(data, "ndim", 0) else data.item(), at)
    elif isinstance(data, float) and not math.isfinite(data):
        return at or "the value"
    else:
        return None
    return next((found for key, value in items if (found := non_finite_key(value, key))), None)


def write_csv(path: str | os.PathLike, frame, **kwargs) -> Path:
    """Write a pandas DataFrame as CSV atomically."""
    kwargs.setdefault("index", False)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(path)


def save_figure(path: str | os.PathLike, fig, dpi: int = 120) -> Path:
    """Save a matplotlib figure. Ours are plain Figure objects (no pyplot, so the user's backend
    stays theirs); one that pyplot manages (Optuna's plots) is closed after saving."""
    import sys

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(fig.canvas, "manager", None) is not None:
        pyplot.close(fig)
    return Path(path)


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str, fix: str):
    """Hold an exclusive lock on `path` for the block, or raise a one-line UserError naming the
    holder's pid. The operating system frees it when the process dies (fcntl), so a SIGKILL never
    leaves a stale lock; the file stays and only records the last holder's pid. A lock file removed
    while it was being taken (a refused run cleaning up, rundir.claim) is taken anew."""
    import fcntl

    path = Path(path)
    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with write_errors(path):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(f"{what} is in use by another process (pid {holder}); {fix}") from None
        if _same_file(fd, path):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False
