"""One experiment file, one run directory: build, train (single split or stratified k-fold),
evaluate on the test split, report. `kerasexp train` and `kerasexp report` call these."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from kerasexp.config import Experiment, to_toml
from kerasexp.data import ImageData, load_dataset
from kerasexp.errors import UserError
from kerasexp.io import write_text
from kerasexp.models.normalization import with_train_stats
from kerasexp.train import check_tta

PREDICTIONS = "predictions.npz"


def _with_defaults(text: str) -> str:
    """A saved config.toml re-resolved, so keys added to the config since it was written read as
    their defaults (an older run folder stays resumable); as saved if it no longer parses."""
    import tomllib

    from kerasexp.config import experiment_from_dict

    try:
        return to_toml(experiment_from_dict(tomllib.loads(text)))
    except (UserError, tomllib.TOMLDecodeError):
        return text


def check_run_dir(out_dir: Path, exp: Experiment) -> None:
    """A run directory belongs to one resolved config: resuming another is refused, by key."""
    saved = out_dir / "config.toml"
    if not saved.exists():
        return
    old, new = _with_defaults(saved.read_text()).splitlines(), to_toml(exp).splitlines()
    if old != new:
        section, diff = "", None
        for a, b in zip(old, new):
            if a.startswith("["):
                section = a.strip("[]")
            if a != b:
                diff = f"{section}.{a.split(' = ')[0]}: {a.split(' = ', 1)[-1]} -> {b.split(' = ', 1)[-1]}"
                break
        raise UserError(
            f"{out_dir} holds a run of a different config ({diff or 'keys differ'}); "
            "pass another --out, or delete that folder to start over"
        )


def validate(exp: Experiment) -> None:
    """Names and parameters that only the registries know, checked before any data is read."""
    from kerasexp.augment_policies import build_policy
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
    """Stratified k-fold over train+validation; each fold validates on its own part."""
    from sklearn.model_selection import StratifiedKFold

    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return [replace(data, x_train=x[tr], y_train=y[tr], x_val=x[va], y_val=y[va]) for tr, va in folds]


def _train_one(exp: Experiment, data: ImageData, out_dir: Path, label: str, progress):
    import keras

    from kerasexp.augment_policies import build_policy
    from kerasexp.finetune import train_head_first
    from kerasexp.models import create_model
    from kerasexp.train import predict_proba, seed_everything, train

    keras.backend.clear_session()
    seed_everything(exp.training.seed)
    model = create_model(exp.model.name, data.input_shape, data.num_classes,
                         **with_train_stats(exp.model.params, data.x_train))
    augment = build_policy(exp.augmentation, seed=exp.training.seed,
                           class_counts=np.bincount(data.y_train, minlength=data.num_classes))
    if exp.training.head_epochs:
        train_head_first(model, data, exp.training, out_dir,
                         [progress.callback(f"{label} head", exp.training.head_epochs)], augment=augment)
    result = train(model, data, exp.training, out_dir, [progress.callback(label, exp.training.epochs)], augment=augment)
    probs = predict_proba(model, data.x_test, tta=exp.evaluation.tta)
    return model, result, probs


def run_experiment(exp: Experiment, out_dir: str | Path) -> dict:
    """Train and evaluate `exp` into `out_dir` (resuming what is already there)."""
    from kerasexp.evaluate import ensemble, fold_summary, headline_metrics
    from kerasexp.io import write_csv
    from kerasexp.progress import Progress
    from kerasexp.report import command_line, machine_description, markdown_table, timestamp

    out_dir = Path(out_dir)
    validate(exp)
    check_run_dir(out_dir, exp)
    data = load_dataset(exp.dataset)
    if exp.evaluation.test_noise_std:  # report 003's local test set: white noise on the test images
        from kerasexp.image_policies import add_white_noise

        data = replace(data, x_test=add_white_noise(data.x_test, exp.evaluation.test_noise_std, exp.dataset.seed))
    check_model_builds(exp, data)
    check_tta(exp.evaluation.tta, data.input_shape)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "config.toml", to_toml(exp))
    started, wall = timestamp(), time.perf_counter()
    k = exp.evaluation.kfold
    meta = {"experiment": exp.name, "command": command_line(), "started": started,
            "data": data.source, "train_images": len(data.x_train), "val_images": len(data.x_val),
            "test_images": len(data.x_test), "data_notes": data.notes, "machine": machine_description()}
    results = []
    if not k:
        progress = Progress(exp.training.epochs + exp.training.head_epochs)
        model, result, probs = _train_one(exp, data, out_dir, exp.name, progress)
        results.append(result)
        meta.update(params=model.count_params(), trainable_params=trainable_count(model),
                    epochs_run=result.epochs_run, train_seconds=result.seconds,
                    resumed_from=result.resumed_from,
                    final={k_: v[-1] for k_, v in result.history.items()})
        np.savez_compressed(out_dir / PREDICTIONS, probs=probs, y_true=data.y_test,
                            class_names=np.array(data.class_names))
    else:
        progress = Progress((exp.training.epochs + exp.training.head_epochs) * k)
        fold_probs, fold_rows = [], []
        for i, fold in enumerate(fold_data(data, k, exp.dataset.seed), start=1):
            model, result, probs = _train_one(exp, fold, out_dir / f"fold_{i}", f"fold {i}/{k}", progress)
            results.append(result)
            fold_probs.append(probs)
            fold_rows.append({"fold": i, **headline_metrics(data.y_test, probs),
                              "val_accuracy": result.last("val_accuracy"), "epochs_run": result.epochs_run,
                              "train_seconds": result.seconds})
        kept = [p for i, p in enumerate(fold_probs, start=1) if i not in exp.evaluation.drop_folds]
        probs = ensemble(kept, exp.evaluation.ensemble)
        summary = fold_summary(fold_rows)
        write_csv(out_dir / "folds.csv", summary)
        write_text(out_dir / "folds.md", markdown_table(summary))
        meta.update(params=model.count_params(), folds=fold_rows,
                    ensemble={"method": exp.evaluation.ensemble, "dropped": exp.evaluation.drop_folds})
        np.savez_compressed(out_dir / PREDICTIONS, probs=probs, y_true=data.y_test,
                            class_names=np.array(data.class_names), fold_probs=np.stack(fold_probs))
    meta["wall_seconds"] = time.perf_counter() - wall
    from kerasexp.io import write_json

    previous = out_dir / "run.json"
    if previous.exists() and all(r.resumed_from == r.epochs_run for r in results):
        # a finished run loaded, not retrained: its record (command, start, wall time) stands
        old = json.loads(previous.read_text())
        meta.update({key: old[key] for key in ("command", "started", "machine", "resumed_from", "wall_seconds")
                     if key in old})
    write_json(previous, meta)
    return report_run(out_dir)


def report_run(run_dir: str | Path) -> dict:
    """(Re)build metrics.json, per_class, confusion matrix and curves from a finished run."""
    import json

    import pandas as pd

    from kerasexp.evaluate import headline_metrics
    from kerasexp.io import save_figure, write_json
    from kerasexp.report import per_class_table, plot_curves, write_classification_report

    run_dir = Path(run_dir)
    pred_file = run_dir / PREDICTIONS
    if not pred_file.exists():
        raise UserError(f"{run_dir}: no {PREDICTIONS}; is this a finished `kerasexp train` run folder?")
    saved = np.load(pred_file)
    probs, y_true, names = saved["probs"], saved["y_true"], [str(n) for n in saved["class_names"]]
    y_pred = probs.argmax(axis=1)
    meta = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    title = f"{meta.get('experiment', run_dir.name)}: test set"
    write_classification_report(run_dir, y_true, y_pred, names, title)
    metrics = {**headline_metrics(y_true, probs),
               "per_class": per_class_table(y_true, y_pred, names).set_index("class").to_dict("index"),
               "run": meta}
    histories = sorted(run_dir.glob("history.csv")) or sorted(run_dir.glob("fold_*/history.csv"))
    for hist in histories:
        frame = pd.read_csv(hist)
        save_figure(hist.parent / "curves.png", plot_curves({c: frame[c].tolist() for c in frame.columns},
                                                            f"{meta.get('experiment', '')} {hist.parent.name}"))
    write_json(run_dir / "metrics.json", metrics)
    return metrics
