"""An experiment into a run folder: lock, train, evaluate on the test split, record (run.json,
predictions.npz), report. A single split is k-fold with k = 1: one path trains every fold, and
only where the files go (k = 1: the top of the folder, not fold_1/) and what the record keeps
differ. `kerasexp train`, `kerasexp report`, the variants table, study-report's retrain and the
speedrun bench call these; rundir.py names and writes the files."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kerasexp import rundir
from kerasexp.config import Experiment, check_against_data
from kerasexp.data import ImageData, load_dataset
from kerasexp.data.splits import fold_data
from kerasexp.errors import UserError
from kerasexp.evaluation.predict import check_tta, tta_candidates


def trainable_count(model) -> int:
    """Trainable parameters (what PyTorch-based reports such as 004 count as parameters)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


@dataclass
class Fold:
    """One fold of a run (k = 1: the run itself): where it trains, and what it made."""

    number: int
    data: ImageData
    folder: Path
    label: str
    model: object = None
    result: object = None
    probs: np.ndarray | None = None
    choices: dict = field(default_factory=dict)


def folds_of(exp: Experiment, data: ImageData, out_dir: Path) -> list[Fold]:
    """The run's folds: k = 1 (evaluation.kfold = 0) is the data's own split, trained at the top of
    the run folder; k > 1 are stratified folds of train+validation in fold_I/."""
    k = exp.evaluation.kfold or 1
    if k == 1:
        return [Fold(1, data, out_dir, exp.name)]
    return [
        Fold(i, fold, rundir.fold_dir(out_dir, i), f"fold {i}/{k}")
        for i, fold in enumerate(fold_data(data, k, exp.dataset.seed), start=1)
    ]


def _train_one(exp: Experiment, fold: Fold, progress, callbacks=(), tta=None) -> None:
    """Train, make every evaluation choice on the validation split, then predict the test split
    once, with those choices (the test split is sealed until then). `tta`: views fixed by the
    caller (a retrain without a validation split to choose on)."""
    from kerasexp.evaluation.ledger import record_look
    from kerasexp.evaluation.predict import choose_tta, predict_proba
    from kerasexp.training.session import train_experiment

    data = fold.data
    fold.model, fold.result = train_experiment(
        exp, data, fold.folder, progress=progress, label=fold.label, callbacks=callbacks
    )
    chosen, scores = (
        (tta, {}) if tta is not None else choose_tta(fold.model, data.x_val, data.y_val, exp.evaluation.tta)
    )
    fold.choices = {
        "epoch": epoch_choice(exp.training, fold.result),
        "tta": {
            "setting": exp.evaluation.tta,
            "chosen": chosen,
            **({"val_accuracy": scores} if scores else {}),
        },
        "kept_model": rundir.MODEL,
    }  # the model predicted with (for predict, Run.model)
    rundir.write_model(fold.folder, fold.model)
    record_look(exp, data, fold.folder, fold.choices)  # the test split is seen: evaluation/ledger.py
    fold.probs = predict_proba(fold.model, data.x_test, tta=chosen)


def epoch_choice(cfg, result) -> dict:
    """Which epoch's weights the model ends with, and the validation figure that chose it."""
    values = result.history.get(cfg.monitor, [])
    if (cfg.restore_best or cfg.early_stopping_patience) and values:
        best = result.best(cfg.monitor)
        return {"rule": f"best {cfg.monitor}", "epoch": values.index(best) + 1, cfg.monitor: best}
    if cfg.ema_momentum:  # validation saw the raw weights, not the average the model ends with
        return {
            "rule": f"last epoch, moving average of the weights (momentum {cfg.ema_momentum})",
            "epoch": result.epochs_run,
        }
    return {"rule": "last epoch", "epoch": result.epochs_run, **({cfg.monitor: values[-1]} if values else {})}


def _checked_inputs(exp: Experiment, out_dir, callbacks, give: str) -> tuple[Path, list]:
    """The checks that need only the config and the --out text, before any folder is made or locked."""
    from kerasexp.training.session import validate

    rundir.check_out_given(out_dir)  # before Path(): Path("") is the current folder
    out_dir = Path(out_dir)
    callbacks = _user_callbacks(callbacks)
    rundir.check_out_folder(out_dir, give)
    rundir.check_not_in_data(out_dir, exp.dataset.data_dir)
    validate(exp)
    return out_dir, callbacks


def run_experiment(exp: Experiment, out_dir: str | Path, progress=None, callbacks=()) -> dict:
    """Train and evaluate `exp` into `out_dir` (resuming what is already there). The checks that
    need nothing but the config come first; then the folder is locked, and only then judged (another
    config's run is refused, never overwritten) and the data read: a refusal at any point leaves
    nothing this call created (rundir.claim). `progress` (a Progress shared by several runs, e.g.
    seeds) makes the time-left estimate cover all of them. `callbacks`: the user's Keras callbacks, run
    in every fold's main training phase (kerasexp.api.train says what they see)."""
    from kerasexp.training.session import check_model_builds

    out_dir, callbacks = _checked_inputs(exp, out_dir, callbacks, "a folder for the run")
    if exp.training.threads and not _OWN_PROCESS and not rundir.is_finished(out_dir):
        return _in_own_process(exp, out_dir, callbacks)
    with rundir.claim(out_dir):  # one writer per run folder, and the folder judged under its lock
        rundir.check_run_folder(out_dir)
        rundir.check_same_config(out_dir, exp)
        if rundir.is_finished(out_dir):  # loaded, not retrained (committed reports keep no weights)
            return _load_finished(exp, out_dir, progress)
        rundir.remove_temporaries(out_dir)  # a killed writer's; no one else writes here now
        data = load_dataset(exp.dataset)
        check_against_data(exp, data)  # class_weight's length, k-fold against the smallest class
        if exp.evaluation.test_noise_std:  # report 003's local test set: white noise on the test images
            from kerasexp.augment.image_policies import add_white_noise  # an exception in the import table

            data = replace(
                data, x_test=add_white_noise(data.x_test, exp.evaluation.test_noise_std, exp.dataset.seed)
            )
        check_model_builds(exp, data)
        for tta in tta_candidates(exp.evaluation.tta, data.input_shape):
            check_tta(tta, data.input_shape)
        return train_and_report(exp, data, out_dir, progress, callbacks)


def _in_own_process(exp: Experiment, out_dir: Path, callbacks) -> dict:
    """A run at set training.threads trains in a process of its own: TF's threads are global and
    fixed once it has run an op, and the caller's TF stays as it was."""
    from kerasexp.processes import call_in_child

    if callbacks:
        raise UserError(
            f"callbacks run in this process, and training.threads = {exp.training.threads} trains in "
            "a process of its own; leave training.threads at 0 to pass callbacks"
        )
    return _result(call_in_child(_run_alone, (exp, out_dir, ""), (), preload=PRELOAD))


def _user_callbacks(callbacks) -> list:
    """kerasexp.train's callbacks= checked (one line naming a bad item); none needs no Keras."""
    if callbacks is None or (isinstance(callbacks, (list, tuple)) and not callbacks):
        return []
    from kerasexp.training.session import user_callbacks

    return user_callbacks(callbacks)


def _load_finished(exp: Experiment, out_dir: Path, progress) -> dict:
    """A finished run's report rebuilt from its files (with a warning when today's code would not
    reproduce it)."""
    stale = rundir.stale_reason(out_dir)
    if stale:
        print(
            f"warning: {out_dir} is loaded as it is, though {stale}; delete it to train it with today's code",
            file=sys.stderr,
        )
    if progress:
        progress.skip(run_epochs(exp))
    metrics = report_run(out_dir)
    print(f"loaded {out_dir}{finished_when(metrics.get('run', {}))}", file=sys.stderr)
    return metrics


def finished_when(record: dict) -> str:
    """' (finished 2026-12-06 09:19 UTC)' from a run's record: its start plus its wall time."""
    from datetime import datetime, timedelta

    try:
        started = datetime.strptime(record["started"], "%Y-%m-%d %H:%M:%S %Z")
        end = started + timedelta(seconds=float(record["wall_seconds"]))
    except (KeyError, TypeError, ValueError):
        return ""
    return f" (finished {end:%Y-%m-%d %H:%M} {record['started'].rsplit(' ', 1)[-1]})"


def trained_line(out_dir: Path, results) -> str:
    """What this process trained of a run: its epochs, and where a resumed run took over."""
    trained = sum(r.epochs_run - r.resumed_from for r in results)
    resumed = [r.resumed_from + 1 for r in results if 0 < r.resumed_from < r.epochs_run]
    after = f", resumed at epoch {resumed[0]}" if len(results) == 1 and resumed else ""
    return f"trained {out_dir} ({trained} epoch{'' if trained == 1 else 's'}{after})"


def run_epochs(exp: Experiment) -> int:
    """The epochs one run trains at most (every fold's, head-first epochs included)."""
    return (exp.training.epochs + exp.training.head_epochs) * (exp.evaluation.kfold or 1)


def train_and_report(
    exp: Experiment,
    data: ImageData,
    out_dir: Path,
    progress=None,
    callbacks=(),
    *,
    tta=None,
    record: dict | None = None,
    choices: dict | None = None,
) -> dict:
    """Train every fold (k = 1: the run), predict the test split, write run.json and
    predictions.npz, then the report. For a caller that locked and judged `out_dir` itself (a
    study's retrain: `tta` fixed, `record` and `choices` added to the record's, replacing theirs)."""
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.training.progress import Progress

    progress = progress or Progress(run_epochs(exp))
    rundir.write_config(out_dir, exp)
    started, wall = timestamp(), time.perf_counter()
    meta = {
        "experiment": exp.name,
        "command": command_line(),
        "started": started,
        "data": data.source,
        "train_images": len(data.x_train),
        "val_images": len(data.x_val),
        "test_images": len(data.x_test),
        "data_notes": data.notes,
        "machine": machine_description(),
        "steps_per_execution": exp.training.steps_per_execution,
        **(record or {}),
    }
    folds = folds_of(exp, data, out_dir)
    for fold in folds:
        _train_one(exp, fold, progress, callbacks, tta)
        if choices:  # the caller's choices first, then the fold's that they leave
            fold.choices = {**choices, **{k: v for k, v in fold.choices.items() if k not in choices}}
    probs = (_record_folds if exp.evaluation.kfold else _record_single)(exp, data, out_dir, folds, meta)
    meta["wall_seconds"] = time.perf_counter() - wall
    results = [fold.result for fold in folds]
    if exp.logging.tensorboard:
        from kerasexp.training.tensorboard import write_test_images

        write_test_images(
            out_dir / rundir.TENSORBOARD,
            data.x_test,
            data.y_test,
            probs,
            data.class_names,
            step=max(r.epochs_run for r in results),
        )
    _write_record(out_dir, meta, results)
    metrics = report_run(out_dir)
    print(trained_line(out_dir, results), file=sys.stderr)
    return metrics


def _record_single(exp: Experiment, data: ImageData, out_dir: Path, folds: list[Fold], meta: dict):
    """k = 1: the run's choices, model size and epochs in run.json; its test predictions."""
    (fold,) = folds
    result = fold.result
    meta.update(
        evaluation_choices=fold.choices,
        params=fold.model.count_params(),
        trainable_params=trainable_count(fold.model),
        epochs_run=result.epochs_run,
        train_seconds=result.seconds,
        resumed_from=result.resumed_from,
        final={key: values[-1] for key, values in result.history.items()},
    )
    rundir.write_predictions(
        out_dir, probs=fold.probs, y_true=data.y_test, class_names=np.array(data.class_names)
    )
    return fold.probs


def _record_folds(exp: Experiment, data: ImageData, out_dir: Path, folds: list[Fold], meta: dict):
    """k > 1: each fold's choices and test figures, folds.csv/md, and the ensemble of the kept folds."""
    from kerasexp.evaluation.metrics import ensemble, fold_summary, headline_metrics
    from kerasexp.evaluation.report import markdown_table

    rows = [
        {
            "fold": f.number,
            **headline_metrics(data.y_test, f.probs),
            "val_accuracy": f.result.last("val_accuracy"),
            "epochs_run": f.result.epochs_run,
            "train_seconds": f.result.seconds,
        }
        for f in folds
    ]
    probs = ensemble(
        [f.probs for f in folds if f.number not in exp.evaluation.drop_folds], exp.evaluation.ensemble
    )
    summary = fold_summary(rows)
    rundir.write_table(out_dir, rundir.FOLDS_TABLE, summary, markdown_table(summary))
    meta.update(
        evaluation_choices={"folds": [{"fold": f.number, **f.choices} for f in folds]},
        params=folds[-1].model.count_params(),
        folds=rows,
        ensemble={"method": exp.evaluation.ensemble, "dropped": exp.evaluation.drop_folds},
    )
    rundir.write_predictions(
        out_dir,
        probs=probs,
        y_true=data.y_test,
        class_names=np.array(data.class_names),
        fold_probs=np.stack([f.probs for f in folds]),
    )
    return probs


def _write_record(out_dir: Path, meta: dict, results) -> None:
    """run.json; a finished run loaded, not retrained, keeps its record (command, start, wall time)."""
    if (out_dir / rundir.RECORD).exists() and all(r.resumed_from == r.epochs_run for r in results):
        old = rundir.read_record(out_dir)
        meta.update(
            {
                key: old[key]
                for key in ("command", "started", "machine", "resumed_from", "wall_seconds")
                if key in old
            }
        )
    rundir.write_record(out_dir, meta)


def run_metrics(run_dir: str | Path) -> dict:
    """metrics.json's content, computed from predictions.npz and run.json and written nowhere
    (report_run writes it; `kerasexp reports check` compares it with the committed file)."""
    from kerasexp.evaluation.intervals import test_intervals
    from kerasexp.evaluation.metrics import headline_metrics
    from kerasexp.evaluation.report import per_class_table

    saved = rundir.read_predictions(run_dir, rundir.PREDICTION_KEYS)
    probs, y_true, names = saved["probs"], saved["y_true"], [str(n) for n in saved["class_names"]]
    y_pred = probs.argmax(axis=1)
    meta = rundir.read_record(run_dir)
    intervals = test_intervals(y_true, probs)
    per_class = per_class_table(y_true, y_pred, names).set_index("class").to_dict("index")
    for name, ci in zip(names, intervals.pop("recall_ci95")):  # null: no test image of the class
        per_class[name]["recall_ci95"] = [v if np.isfinite(v) else None for v in ci]
    return {
        **headline_metrics(y_true, probs),
        **intervals,
        "evaluation_choices": meta.get("evaluation_choices", {}),
        "per_class": per_class,
        "run": meta,
    }


def report_run(run_dir: str | Path) -> dict:
    """(Re)build metrics.json, per_class, confusion matrix and curves from a finished run."""
    from kerasexp.evaluation.report import class_report, plot_curves

    run_dir = Path(run_dir)
    metrics = run_metrics(run_dir)
    saved = rundir.read_predictions(run_dir, rundir.PREDICTION_KEYS)
    meta = metrics["run"]
    names = [str(n) for n in saved["class_names"]]
    rundir.write_class_report(
        run_dir,
        class_report(
            saved["y_true"],
            saved["probs"].argmax(axis=1),
            names,
            f"{meta.get('experiment', run_dir.name)}: test set",
        ),
    )
    for hist in rundir.history_files(run_dir):
        frame = rundir.read_csv(hist)
        rundir.write_curves(
            hist.parent,
            plot_curves(
                {c: frame[c].tolist() for c in frame.columns},
                f"{meta.get('experiment', '')} {hist.parent.name}",
            ),
        )
    rundir.write_metrics(run_dir, metrics)
    return metrics


SUMMARY_KEYS = ("accuracy", "macro_f1", "loss")


def run_seeds(
    exp: Experiment, out_dir: str | Path, seeds: list[int], callbacks=(), workers: int | None = None
) -> dict:
    """One run a training seed (OUT/seed_S/, the same splits and test images), then OUT/seeds.json,
    seeds.csv and seeds.md: each seed's figures with their intervals, and mean +/- std over seeds.
    The group's folder is locked (and judged) before any seed's run starts. `workers`: run_many's."""
    return run_groups([(exp, out_dir, seeds)], callbacks, workers)[0]


def run_groups(
    groups: list[tuple[Experiment, str | Path, list[int]]], callbacks=(), workers=None
) -> list[dict]:
    """Several seed groups (the variant table: five experiments x three seeds) as one set of runs
    for run_many, so that no core idles between groups; then each group's summary."""
    checked = [
        (exp, _checked_inputs(exp, out, callbacks, "a folder for the runs")[0], seeds)
        for exp, out, seeds in groups
    ]
    callbacks = _user_callbacks(callbacks)
    with contextlib.ExitStack() as locks:
        for _, out, _ in checked:
            locks.enter_context(rundir.claim(out))
            rundir.check_seed_group_folder(out)
        loaded = [finished_seeds(out, seeds) for _, out, seeds in checked]
        jobs = [
            (
                replace(exp, training=replace(exp.training, seed=seed)),
                rundir.seed_dir(out, seed),
                f"seed {seed} ",
            )
            for exp, out, seeds in checked
            for seed in seeds
        ]
        metrics = iter(run_many(jobs, workers, callbacks))
        summaries = []
        for (exp, out, seeds), done in zip(checked, loaded):
            print(f"{exp.name}: {tally(len(done), len(seeds) - len(done))}", file=sys.stderr)
            group = [next(metrics) for _ in seeds]
            summaries.append(summarize_seeds(exp.name, out, seeds, group, trained=len(done) < len(seeds)))
        return summaries


# Several runs on a CPU: one process a core, each run at one thread, beats one process running them
# in turn at two threads (reports/bench_many_runs.md): a small CNN's ops are too small to keep
# two cores busy in one process, and per-step overhead is paid in parallel.
PRELOAD = ("tensorflow", "keras", "kerasexp.runs")  # imported once by the forkserver (processes.py)
_OWN_PROCESS = False  # True in a process kerasexp started for one run: its TF settings are ours


def many_workers(requested: int | None, runs: int) -> int:
    """Processes for `runs` runs: `requested`, or on a CPU one a core (at most one a run); one
    where a GPU is visible, which one process already keeps busy."""
    if requested is not None:
        return max(1, min(requested, runs))
    if runs < 2 or _gpu_visible():
        return 1
    return min(runs, len(os.sched_getaffinity(0)))


def _gpu_visible() -> bool:
    """An NVIDIA (or WSL) GPU device node, not hidden by CUDA_VISIBLE_DEVICES; without importing TF."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidia0") or os.path.exists("/dev/dxg")


def run_many(
    jobs: list[tuple[Experiment, Path, str]], workers: int | None = None, callbacks=()
) -> list[dict]:
    """Runs (experiment, run folder, progress label) -> their metrics, in order. With more than one
    worker each run trains in a process of its own pinned to its own cores, at one thread a core
    (training.threads, recorded in its config.toml); finished runs are loaded here. A run keeps the
    threads it was started with, so a resumed run continues exactly; the same seed trained alone
    with the same training.threads gives the same numbers bit for bit (tests/test_runs_many.py).
    User callbacks need the runs in this process: workers > 1 with callbacks is refused."""
    from kerasexp.processes import core_slots, map_pinned
    from kerasexp.training.progress import Progress

    callbacks = _user_callbacks(callbacks)
    n = many_workers(workers, sum(not rundir.is_finished(out) for _, out, _ in jobs))
    if n > 1 and callbacks:
        if workers is not None:
            raise UserError(
                f"callbacks run in this process, so --workers {workers} cannot train the runs in "
                "processes of their own; pass workers=1 (or no callbacks)"
            )
        n = 1
    threads = len(core_slots(n)[0]) if n > 1 else 0
    jobs = [(_recorded_threads(exp, Path(out), threads), Path(out), label) for exp, out, label in jobs]
    if n == 1:
        progress = Progress(sum(run_epochs(exp) for exp, _, _ in jobs))
        results = []
        for exp, out, label in jobs:
            progress.prefix = label
            results.append(run_experiment(exp, out, progress, callbacks))
        return results
    results = {i: run_experiment(exp, out) for i, (exp, out, _) in enumerate(jobs) if rundir.is_finished(out)}
    todo = [i for i in range(len(jobs)) if i not in results]
    print(
        f"training {len(todo)} runs, {n} at a time (one process each, {threads} thread{'s' * (threads > 1)})",
        file=sys.stderr,
    )
    outcomes = map_pinned(_run_alone, [jobs[i] for i in todo], n, PRELOAD, stops=_refused)
    for i, outcome in zip(todo, outcomes):
        if outcome is None:  # not started: an earlier run was refused
            continue
        results[i] = _result(outcome)
    refusal = next((o for o in outcomes if o is not None and _refused(o)), None)
    if refusal:
        raise UserError(refusal[1])
    return [results[i] for i in range(len(jobs))]


def _recorded_threads(exp: Experiment, out_dir: Path, threads: int) -> Experiment:
    """`exp` at the threads its folder's run was started with (an exact resume, and a finished run
    loaded as the config it is), else at its own training.threads, else at `threads`."""
    if (out_dir / rundir.CONFIG).exists():
        recorded = rundir.read_config(out_dir).get("training", {}).get("threads", 0)
    else:
        recorded = exp.training.threads or threads
    return replace(exp, training=replace(exp.training, threads=recorded))


def _refused(outcome) -> bool:
    return outcome[0] == "refused"


def _result(outcome) -> dict:
    kind, value = outcome
    if kind == "refused":
        raise UserError(value)
    return value


def _run_alone(job, cores=()):
    """One run in a process kerasexp started for it (call_in_child): pinned to `cores`, TF at the
    run's threads. A refusal comes back as ("refused", message), a result as ("done", metrics)."""
    global _OWN_PROCESS
    from kerasexp.training.progress import Progress

    _OWN_PROCESS = True
    exp, out_dir, label = job
    try:
        if cores and exp.training.threads:
            os.sched_setaffinity(0, cores)
        set_threads(exp.training.threads)
        progress = Progress(run_epochs(exp))
        progress.prefix = label
        return ("done", run_experiment(exp, out_dir, progress))
    except UserError as err:
        return ("refused", str(err))


def set_threads(threads: int) -> None:
    """TensorFlow's intra- and inter-op threads for this process (0: TF's default). Only called in a
    process of one run (_run_alone): it is global, and fixed once TF has run an op."""
    if threads:
        from kerasexp import import_tensorflow_quietly

        tf = import_tensorflow_quietly()
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def finished_seeds(group: str | Path, seeds: list[int]) -> list[int]:
    """The seeds whose runs are finished in `group` (before a call, they are the ones it loads)."""
    return [seed for seed in seeds if rundir.is_finished(rundir.seed_dir(group, seed))]


def tally(loaded: int, trained: int) -> str:
    """'loaded 15 finished runs, trained 0': what a command of several runs did."""
    return f"loaded {loaded} finished run{'' if loaded == 1 else 's'}, trained {trained}"


def summarize_seeds(
    name: str, out_dir: Path, seeds: list[int], metrics: list[dict], trained: bool = True
) -> dict:
    """OUT/seeds.json, seeds.csv and seeds.md from each seed's metrics.json. With `trained` false
    (every seed's run loaded) an earlier summary of the same seeds keeps its command: the files
    are rebuilt byte for byte, not claimed by this command."""
    from kerasexp.provenance import command_line

    old = rundir.read_json(out_dir / rundir.SEEDS, {}) if not trained else {}
    command = old["command"] if old.get("seeds") == list(seeds) and "command" in old else command_line()
    summary, texts = seed_summary(name, seeds, metrics, command)
    rundir.write_seed_summary(out_dir, summary, texts)
    return summary


def seed_summary(
    name: str, seeds: list[int], metrics: list[dict], command: str
) -> tuple[dict, dict[str, str]]:
    """seeds.json's content and the text of seeds.csv and seeds.md, written nowhere (`kerasexp
    reports check` rebuilds them from the seeds' metrics.json and the recorded command)."""
    import pandas as pd

    from kerasexp.evaluation.intervals import span
    from kerasexp.evaluation.report import markdown_table

    table = pd.DataFrame(
        [
            {
                "seed": seed,
                **{k: m[k] for k in SUMMARY_KEYS},
                "accuracy_ci95": m["accuracy_ci95"],
                "macro_f1_ci95": m["macro_f1_ci95"],
            }
            for seed, m in zip(seeds, metrics)
        ]
    )
    summary = {
        "experiment": name,
        "command": command,
        "seeds": list(seeds),
        **{
            k: {
                "mean": float(table[k].mean()),
                "std": float(table[k].std(ddof=1)) if len(table) > 1 else 0.0,
                "values": table[k].tolist(),
            }
            for k in SUMMARY_KEYS
        },
    }
    text = {k: f"{summary[k]['mean']:.4f} ± {summary[k]['std']:.4f}" for k in SUMMARY_KEYS}
    md = (
        f"# {name}: {len(seeds)} training seeds\n\nMade by `{command}`; "
        "the same splits and test images for every seed, only the training seed differs; intervals are "
        "95% (Wilson for accuracy, bootstrap over test images for macro-F1).\n\n"
        + markdown_table(
            table.assign(
                accuracy_ci95=table["accuracy_ci95"].map(span), macro_f1_ci95=table["macro_f1_ci95"].map(span)
            )
        )
        + "\nmean ± std over seeds: "
        + ", ".join(f"{k} {v}" for k, v in text.items())
        + "\n"
    )
    return summary, {f"{rundir.SEEDS_TABLE}.csv": table.to_csv(index=False), f"{rundir.SEEDS_TABLE}.md": md}
