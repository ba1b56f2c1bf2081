"""Several runs at once (runs.run_many): one process a core, each run at its recorded threads. The
fast path changes no number: a seed through it equals the same seed trained alone at the same
training.threads, bit for bit; a resumed or loaded run keeps the threads it was started with."""

import filecmp
from dataclasses import replace

import pytest

from kerasexp import rundir
from kerasexp.config import load_experiment
from kerasexp.errors import UserError
from kerasexp.runs import _recorded_threads, many_workers, run_experiment, run_seeds

TINY = """
[dataset]
name = "fashion_mnist"
limit = 300
data_dir = "{data_dir}"

[model]
name = "baseline"

[training]
epochs = 2
batch_size = 32
"""


def tiny(tmp_path, fashion_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(data_dir=fashion_path))
    return load_experiment(path)


@pytest.mark.slow
def test_a_seed_through_the_pool_equals_it_alone_bit_for_bit(tmp_path, fashion_path, capsys):
    exp = tiny(tmp_path, fashion_path)
    run_seeds(exp, tmp_path / "pool", [0, 1], workers=2)
    assert "training 2 runs, 2 at a time (one process each, 1 thread)" in capsys.readouterr().err
    alone = replace(exp, training=replace(exp.training, seed=1, threads=1))
    run_experiment(alone, tmp_path / "alone")  # threads set: trains in a process of its own
    pooled = tmp_path / "pool" / "seed_1"
    for name in (rundir.PREDICTIONS, rundir.HISTORY, rundir.METRICS, rundir.CONFIG):
        if name == rundir.METRICS:  # its run record holds the start time and wall seconds
            continue
        assert filecmp.cmp(pooled / name, tmp_path / "alone" / name, shallow=False), name
    assert rundir.read_config(pooled)["training"]["threads"] == 1
    # Loaded again, each run at the threads it was trained with: nothing trains.
    run_seeds(exp, tmp_path / "pool", [0, 1], workers=2)
    assert "loaded 2 finished runs, trained 0" in capsys.readouterr().err


def test_a_folder_keeps_the_threads_it_was_started_with(tmp_path, fashion_path):
    exp = tiny(tmp_path, fashion_path)
    assert _recorded_threads(exp, tmp_path / "new", 1).training.threads == 1
    chosen = replace(exp, training=replace(exp.training, threads=2))
    assert _recorded_threads(chosen, tmp_path / "new", 1).training.threads == 2  # the user's choice
    old = tmp_path / "old"  # a run started at TF's default threads (every committed run before)
    old.mkdir()
    rundir.write_config(old, exp)
    assert _recorded_threads(exp, old, 1).training.threads == 0


def test_workers_one_a_core_on_a_cpu_one_on_a_gpu(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr("kerasexp.runs._gpu_visible", lambda: False)
    assert many_workers(None, 15) == 2
    assert many_workers(None, 1) == 1
    assert many_workers(3, 2) == 2  # never more processes than runs
    monkeypatch.setattr("kerasexp.runs._gpu_visible", lambda: True)
    assert many_workers(None, 15) == 1


def test_gpu_hidden_by_cuda_visible_devices(monkeypatch):
    from kerasexp.runs import _gpu_visible

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert _gpu_visible() is False


def test_callbacks_with_several_workers_refused(tmp_path, fashion_path):
    import keras

    exp = tiny(tmp_path, fashion_path)
    with pytest.raises(UserError, match="callbacks run in this process, so --workers 2"):
        run_seeds(exp, tmp_path / "out", [0, 1], callbacks=[keras.callbacks.Callback()], workers=2)
    chosen = replace(exp, training=replace(exp.training, threads=1))
    with pytest.raises(UserError, match="leave training.threads at 0 to pass callbacks"):
        run_experiment(chosen, tmp_path / "one", callbacks=[keras.callbacks.Callback()])
    assert not (tmp_path / "one").exists()
