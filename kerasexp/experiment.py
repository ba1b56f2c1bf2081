"""One experiment file, one run directory: build, train (single split or stratified k-fold),
evaluate on the test split, report. `kerasexp train` and `kerasexp report` call these."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from kerasexp.config import Experiment, check_against_data
from kerasexp.data import ImageData, load_dataset
from kerasexp.errors import UserError
from kerasexp import rundir
from kerasexp.io import write_text
from kerasexp.models.normalization import with_train_stats
from kerasexp.evaluation.predict import check_tta, tta_candidates

def validate(exp: Experiment) -> None:
    """Names and parameters that only the registries know, checked before any data is read."""
    from kerasexp.augment.policies import build_policy
    from kerasexp.models import check_model

    check_model(exp.model.name, exp.model.params)
    build_policy(exp.augmentation, seed=exp.training.seed)


def check_model_builds(exp: Experiment, data: ImageData) -> None:
    """Build the model once for the data's shape, so that parameter values its builder refuses
    stop the run before its folder is written."""
    import keras

    from kerasexp.models import create_model

    create_model(exp.model.name, data.input_shape, data.num_classes,
                 **with_train_stats(exp.model.params, data.x_train))
    keras.backend.clear_session()


def trainable_count(model) -> int:
    """Trainable parameters (what PyTorch-based reports such as 004 count as parameters)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def fold_data(data: ImageData, k: int, seed: int) -> list[ImageData]:
    """Stratified k-fold over train+validation; each fold validates on its own part. Duplicate
    groups (data.groups) stay within one fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    if data.groups is not None and len(data.groups) == len(y) and len(np.unique(data.groups)) < len(y):
        folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y,
                                                                                        data.groups)
    else:
        folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return [replace(data, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va]) for tr, va in folds]


def _train_one(exp: Experiment, data: ImageData, out_dir: Path, label: str, progress, callbacks=()):
    """Train, make every evaluation choice on the validation split, then predict the test split
    once, with those choices (the test split is sealed until then)."""
    from kerasexp.evaluation.ledger import record_look
    from kerasexp.evaluation.predict import choose_tta, predict_proba
    from kerasexp.io import atomic_path
    from kerasexp.training.session import train_experiment

    model, result = train_experiment(exp, data, out_dir, progress=progress, label=label, callbacks=callbacks)
    tta, tta_scores = choose_tta(model, data.x_val, data.y_val, exp.evaluation.tta)
    choices = {"epoch": epoch_choice(exp.training, result),
               "tta": {"setting": exp.evaluation.tta, "chosen": tta, **({"val_accuracy": tta_scores} if tta_scores else {})},
               "kept_model": rundir.MODEL}  # in out_dir: the model predicted with, for `predict`, Run.model
    with atomic_path(Path(out_dir) / rundir.MODEL) as tmp:
        model.save(tmp)
    record_look(exp, data, out_dir, choices)  # the test split is seen: kerasexp/evaluation/ledger.py
    return model, result, predict_proba(model, data.x_test, tta=tta), choices


def epoch_choice(cfg, result) -> dict:
    """Which epoch's weights the model ends with, and the validation figure that chose it."""
    values = result.history.get(cfg.monitor, [])
    if (cfg.restore_best or cfg.early_stopping_patience) and values:
        best = result.best(cfg.monitor)
        return {"rule": f"best {cfg.monitor}", "epoch": values.index(best) + 1, cfg.monitor: best}
    if cfg.ema_momentum:  # validation saw the raw weights, not the average the model ends with
        return {"rule": f"last epoch, moving average of the weights (momentum {cfg.ema_momentum})",
                "epoch": result.epochs_run}
    return {"rule": "last epoch", "epoch": result.epochs_run, **({cfg.monitor: values[-1]} if values else {})}


def run_experiment(exp: Experiment, out_dir: str | Path, progress=None, callbacks=()) -> dict:
    """Train and evaluate `exp` into `out_dir` (resuming what is already there). The checks that
    need nothing but the config come first; then the folder is locked, and only then judged (another
    config's run is refused, never overwritten) and the data read: a refusal at any point leaves
    nothing this call created (rundir.claim). `progress` (a Progress shared by several runs, e.g.
    seeds) makes the time-left estimate cover all of them. `callbacks`: the user's Keras callbacks, run
    in every fold's main training phase (kerasexp.api.train says what they see)."""
    out_dir = Path(out_dir)
    rundir.check_out_given(out_dir)
    rundir.check_out_folder(out_dir, "a folder for the run")
    rundir.check_not_in_data(out_dir, exp.dataset.data_dir)
    validate(exp)
    with rundir.claim(out_dir):  # one writer per run folder, and the folder judged under its lock
        rundir.check_run_folder(out_dir)
        rundir.check_same_config(out_dir, exp)
        if rundir.is_finished(out_dir):  # loaded, not retrained (committed reports keep no weights)
            return _load_finished(exp, out_dir, progress)
        rundir.remove_temporaries(out_dir)  # a killed writer's; no one else writes here now
        data = load_dataset(exp.dataset)
        check_against_data(exp, data)  # class_weight's length, k-fold against the smallest class
        if exp.evaluation.test_noise_std:  # report 003's local test set: white noise on the test images
            from kerasexp.augment.image_policies import add_white_noise

            data = replace(data, x_test=add_white_noise(data.x_test, exp.evaluation.test_noise_std,
                                                        exp.dataset.seed))
        check_model_builds(exp, data)
        for tta in tta_candidates(exp.evaluation.tta, data.input_shape):
            check_tta(tta, data.input_shape)
        return _train_and_report(exp, data, out_dir, progress, callbacks)


def _load_finished(exp: Experiment, out_dir: Path, progress) -> dict:
    """A finished run's report rebuilt from its files (with a warning when today's code would not
    reproduce it)."""
    import sys

    stale = rundir.stale_reason(out_dir)
    if stale:
        print(f"warning: {out_dir} is loaded as it is, though {stale}; delete it to train it with "
              "today's code", file=sys.stderr)
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


def _train_and_report(exp: Experiment, data: ImageData, out_dir: Path, progress=None, callbacks=()) -> dict:
    from kerasexp.evaluation.metrics import ensemble, fold_summary, headline_metrics
    from kerasexp.evaluation.report import markdown_table
    from kerasexp.io import write_csv
    from kerasexp.provenance import command_line, machine_description, timestamp
    from kerasexp.training.progress import Progress

    progress = progress or Progress(run_epochs(exp))
    rundir.write_config(out_dir, exp)
    started, wall = timestamp(), time.perf_counter()
    k = exp.evaluation.kfold
    meta = {"experiment": exp.name, "command": command_line(), "started": started,
            "data": data.source, "train_images": len(data.x_train), "val_images": len(data.x_val),
            "test_images": len(data.x_test), "data_notes": data.notes, "machine": machine_description(),
            "steps_per_execution": exp.training.steps_per_execution}
    results = []
    if not k:
        model, result, probs, choices = _train_one(exp, data, out_dir, exp.name, progress, callbacks)
        meta["evaluation_choices"] = choices
        results.append(result)
        meta.update(params=model.count_params(), trainable_params=trainable_count(model),
                    epochs_run=result.epochs_run, train_seconds=result.seconds,
                    resumed_from=result.resumed_from,
                    final={k_: v[-1] for k_, v in result.history.items()})
        save_predictions(out_dir, probs=probs, y_true=data.y_test, class_names=np.array(data.class_names))
    else:
        fold_probs, fold_rows = [], []
        for i, fold in enumerate(fold_data(data, k, exp.dataset.seed), start=1):
            model, result, probs, choices = _train_one(exp, fold, rundir.fold_dir(out_dir, i), f"fold {i}/{k}",
                                                       progress, callbacks)
            meta.setdefault("evaluation_choices", {"folds": []})["folds"].append({"fold": i, **choices})
            results.append(result)
            fold_probs.append(probs)
            fold_rows.append({"fold": i, **headline_metrics(data.y_test, probs),
                              "val_accuracy": result.last("val_accuracy"), "epochs_run": result.epochs_run,
                              "train_seconds": result.seconds})
        kept = [p for i, p in enumerate(fold_probs, start=1) if i not in exp.evaluation.drop_folds]
        probs = ensemble(kept, exp.evaluation.ensemble)
        summary = fold_summary(fold_rows)
        write_csv(out_dir / f"{rundir.FOLDS_TABLE}.csv", summary)
        write_text(out_dir / f"{rundir.FOLDS_TABLE}.md", markdown_table(summary))
        meta.update(params=model.count_params(), folds=fold_rows,
                    ensemble={"method": exp.evaluation.ensemble, "dropped": exp.evaluation.drop_folds})
        save_predictions(out_dir, probs=probs, y_true=data.y_test, class_names=np.array(data.class_names),
                         fold_probs=np.stack(fold_probs))
    meta["wall_seconds"] = time.perf_counter() - wall
    if exp.logging.tensorboard:
        from kerasexp.training.tensorboard import write_test_images

        write_test_images(out_dir / rundir.TENSORBOARD, data.x_test, data.y_test, probs, data.class_names,
                          step=max(r.epochs_run for r in results))
    from kerasexp.io import write_json

    previous = out_dir / rundir.RECORD
    if previous.exists() and all(r.resumed_from == r.epochs_run for r in results):
        # a finished run loaded, not retrained: its record (command, start, wall time) stands
        old = rundir.read_record(out_dir)
        meta.update({key: old[key] for key in ("command", "started", "machine", "resumed_from", "wall_seconds")
                     if key in old})
    write_json(previous, meta)
    metrics = report_run(out_dir)
    import sys

    print(trained_line(out_dir, results), file=sys.stderr)
    return metrics


def save_predictions(out_dir: Path, **arrays) -> Path:
    """predictions.npz, written under a temporary name and renamed (never half a file)."""
    from kerasexp.io import atomic_path

    with atomic_path(out_dir / rundir.PREDICTIONS) as tmp:
        np.savez_compressed(tmp, **arrays)
    return out_dir / rundir.PREDICTIONS


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
    return {**headline_metrics(y_true, probs), **intervals,
            "evaluation_choices": meta.get("evaluation_choices", {}), "per_class": per_class, "run": meta}


def report_run(run_dir: str | Path) -> dict:
    """(Re)build metrics.json, per_class, confusion matrix and curves from a finished run."""
    from kerasexp.io import save_figure, write_json
    from kerasexp.evaluation.report import plot_curves, write_classification_report

    run_dir = Path(run_dir)
    metrics = run_metrics(run_dir)
    saved = rundir.read_predictions(run_dir, rundir.PREDICTION_KEYS)
    meta = metrics["run"]
    names = [str(n) for n in saved["class_names"]]
    write_classification_report(run_dir, saved["y_true"], saved["probs"].argmax(axis=1), names,
                                f"{meta.get('experiment', run_dir.name)}: test set")
    for hist in rundir.history_files(run_dir):
        frame = rundir.read_csv(hist)
        save_figure(hist.parent / rundir.CURVES, plot_curves({c: frame[c].tolist() for c in frame.columns},
                                                            f"{meta.get('experiment', '')} {hist.parent.name}"))
    write_json(run_dir / rundir.METRICS, metrics)
    return metrics


SUMMARY_KEYS = ("accuracy", "macro_f1", "loss")


def run_seeds(exp: Experiment, out_dir: str | Path, seeds: list[int], callbacks=()) -> dict:
    """One run a training seed (OUT/seed_S/, the same splits and test images), then OUT/seeds.json,
    seeds.csv and seeds.md: each seed's figures with their intervals, and mean +/- std over seeds.
    The group's folder is locked (and judged) before any seed's run starts."""
    from kerasexp.training.progress import Progress

    out_dir = Path(out_dir)
    rundir.check_out_given(out_dir)
    rundir.check_out_folder(out_dir, "a folder for the runs")
    rundir.check_not_in_data(out_dir, exp.dataset.data_dir)
    validate(exp)
    with rundir.claim(out_dir):
        rundir.check_seed_group_folder(out_dir)
        progress = Progress(run_epochs(exp) * len(seeds))
        metrics = []
        loaded = finished_seeds(out_dir, seeds)
        for seed in seeds:
            progress.prefix = f"seed {seed} "
            metrics.append(run_experiment(replace(exp, training=replace(exp.training, seed=seed)),
                                          rundir.seed_dir(out_dir, seed), progress, callbacks))
        import sys

        print(f"{exp.name}: {tally(len(loaded), len(seeds) - len(loaded))}", file=sys.stderr)
        return summarize_seeds(exp.name, out_dir, seeds, metrics, trained=len(loaded) < len(seeds))


def finished_seeds(group: str | Path, seeds: list[int]) -> list[int]:
    """The seeds whose runs are finished in `group` (before a call, they are the ones it loads)."""
    return [seed for seed in seeds if rundir.is_finished(rundir.seed_dir(group, seed))]


def tally(loaded: int, trained: int) -> str:
    """'loaded 15 finished runs, trained 0': what a command of several runs did."""
    return f"loaded {loaded} finished run{'' if loaded == 1 else 's'}, trained {trained}"


def summarize_seeds(name: str, out_dir: Path, seeds: list[int], metrics: list[dict],
                    trained: bool = True) -> dict:
    """OUT/seeds.json, seeds.csv and seeds.md from each seed's metrics.json. With `trained` false
    (every seed's run loaded) an earlier summary of the same seeds keeps its command: the files
    are rebuilt byte for byte, not claimed by this command."""
    from kerasexp.io import write_json
    from kerasexp.provenance import command_line

    old = rundir.read_json(out_dir / rundir.SEEDS, {}) if not trained else {}
    command = old["command"] if old.get("seeds") == list(seeds) and "command" in old else command_line()
    summary, texts = seed_summary(name, seeds, metrics, command)
    for file, text in texts.items():
        write_text(out_dir / file, text)
    write_json(out_dir / rundir.SEEDS, summary)
    return summary


def seed_summary(name: str, seeds: list[int], metrics: list[dict],
                 command: str) -> tuple[dict, dict[str, str]]:
    """seeds.json's content and the text of seeds.csv and seeds.md, written nowhere (`kerasexp
    reports check` rebuilds them from the seeds' metrics.json and the recorded command)."""
    import pandas as pd

    from kerasexp.evaluation.intervals import span
    from kerasexp.evaluation.report import markdown_table

    table = pd.DataFrame([{"seed": seed, **{k: m[k] for k in SUMMARY_KEYS},
                           "accuracy_ci95": m["accuracy_ci95"], "macro_f1_ci95": m["macro_f1_ci95"]}
                          for seed, m in zip(seeds, metrics)])
    summary = {"experiment": name, "command": command, "seeds": list(seeds),
               **{k: {"mean": float(table[k].mean()), "std": float(table[k].std(ddof=1)) if len(table) > 1 else 0.0,
                      "values": table[k].tolist()} for k in SUMMARY_KEYS}}
    text = {k: f"{summary[k]['mean']:.4f} ± {summary[k]['std']:.4f}" for k in SUMMARY_KEYS}
    md = (f"# {name}: {len(seeds)} training seeds\n\nMade by `{command}`; "
          "the same splits and test images for every seed, only the training seed differs; intervals are "
          "95% (Wilson for accuracy, bootstrap over test images for macro-F1).\n\n"
          + markdown_table(table.assign(accuracy_ci95=table["accuracy_ci95"].map(span),
                                        macro_f1_ci95=table["macro_f1_ci95"].map(span)))
          + "\nmean ± std over seeds: " + ", ".join(f"{k} {v}" for k, v in text.items()) + "\n")
    return summary, {"seeds.csv": table.to_csv(index=False), "seeds.md": md}
