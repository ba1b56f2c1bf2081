"""Run one function in a fresh spawned Python process and get its result back.

For work that must not share a process with what this one holds: a study trial (Keras/TF keep
every trained model's graphs for the life of a process) or PyTorch next to TensorFlow (importing
torch's optimizers into a process that has loaded TF can crash it with a segmentation fault)."""

from __future__ import annotations

import multiprocessing


class ChildDied(RuntimeError):
    """The child exited without a result (killed, out of memory, crashed)."""


def call_in_child(fn, *args, preload: tuple[str, ...] = ()):
    """fn(*args) in a fresh process; `fn` and its arguments must be picklable, i.e. defined at a
    module's top level. Never a fork of this process (it may hold TF's threads): a spawned
    interpreter, or with `preload` a fork of a forkserver that imported those modules once
    (TensorFlow takes 5-10 s to import; a study pays that once instead of every trial)."""
    if preload:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
    else:
        context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_run, args=(fn, args, send))
    child.start()
    send.close()  # the child holds the only sending end: its exit ends recv() below
    try:
        result = receive.recv()
    except EOFError:
        child.join()
        raise ChildDied(
            f"{getattr(fn, '__name__', fn)} died in its process (exit code {child.exitcode})"
        ) from None
    finally:
        receive.close()
    child.join()
    return result


def _run(fn, args, send) -> None:
    send.send(fn(*args))
    send.close()
