"""Run one function in a fresh spawned Python process and get its result back.

For work that must not share a process with what this one holds: a study trial (Keras/TF keep
every trained model's graphs for the life of a process) or PyTorch next to TensorFlow (importing
torch's optimizers into a process that has loaded TF can crash it with a segmentation fault), or
one of several runs trained at once, each in its own process on its own cores (map_pinned)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor


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


def core_slots(workers: int) -> list[tuple[int, ...]]:
    """This process's cores dealt into `workers` equal groups (2 cores, 2 workers: one core each)."""
    cores = sorted(os.sched_getaffinity(0))
    size = max(1, len(cores) // workers)
    return [tuple(cores[i * size : (i + 1) * size]) or tuple(cores) for i in range(workers)]


def map_pinned(
    fn, jobs: list, workers: int, preload: tuple[str, ...] = (), stops=lambda result: False
) -> list:
    """[fn(job, cores) for job in jobs], `workers` at a time, each call in a fresh process of its
    own (call_in_child) given its own cores, which it pins itself to. Results in the jobs' order.
    After a failure, or a result `stops` is true of, no new job starts (its result is None); the
    running ones finish; then the first failure is raised. Why not a multiprocessing.Pool: each
    call needs a fresh process (TF keeps every graph it built) and a known set of cores."""
    free: queue.Queue = queue.Queue()
    for cores in core_slots(workers):
        free.put(cores)
    failed = threading.Event()

    def one(job):
        if failed.is_set():
            return None
        cores = free.get()
        try:
            result = call_in_child(fn, job, cores, preload=preload)
            if stops(result):
                failed.set()
            return result
        except BaseException:
            failed.set()
            raise
        finally:
            free.put(cores)

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(one, job) for job in jobs]
    for future in futures:
        if future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]
