"""`kerasexp study-report`: a finished study's trials table, best parameters and Optuna's plots,
then the best configuration retrained on train+validation and evaluated once on the test split
(the same per-class table and confusion matrix as every run). `study-compare` puts several
study reports side by side (e.g. with and without pruning)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from kerasexp.errors import UserError
from kerasexp.atomic import save_figure, write_csv, write_json, write_text

PLOTS = {
    "history.png": "plot_optimization_history",
    "importances.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
    "intermediate_values.png": "plot_intermediate_values",
}


def spec_from_study(study):
    """The study file a study was made from (kept in its user attributes by `kerasexp study`)."""
    from kerasexp.tuning.config import study_from_dict

    saved = study.user_attrs.get("study_file")
    if saved is None:
        raise UserError(
            f"study {study.study_name!r} was not made by `kerasexp study` (no study_file attribute)"
        )
    raw = {**saved["experiment"], "study": saved["study"], "search": saved["search"]}
    return study_from_dict(raw, saved["name"])


def study_summary(study, spec) -> dict:
    """Counts, epochs run and epochs pruning saved, best value: what a pruning comparison needs."""
    from optuna.trial import TrialState

    from kerasexp.tuning.config import LowestTrial

    trials = study.get_trials(deepcopy=False)
    max_epochs = spec.trial_experiment(LowestTrial()).training.epochs
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    best = _best(study)
    epochs = [t.user_attrs.get("epochs_run", 0) for t in finished]
    seconds = [t.user_attrs.get("seconds", 0.0) for t in finished]
    return {
        "study": study.study_name,
        "metric": spec.study.metric,
        "pruner": spec.study.pruner,
        "trials": len(trials),
        "complete": sum(t.state == TrialState.COMPLETE for t in trials),
        "pruned": len(pruned),
        "failed": sum(t.state == TrialState.FAIL for t in trials),
        "epochs_per_trial": max_epochs,
        "epochs_run": int(sum(epochs)),
        "epochs_saved_by_pruning": int(sum(max_epochs - t.user_attrs.get("epochs_run", 0) for t in pruned)),
        "trial_minutes": round(sum(seconds) / 60, 2),
        "best_value": None if best is None else best.value,
        "best_trial": None if best is None else best.number,
        "best_params": {} if best is None else best.params,
        "top5_mean": _top_mean(study, 5),
    }


def _top_mean(study, k: int):
    from optuna.trial import TrialState

    values = sorted(
        (t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
        reverse=study.direction.name == "MAXIMIZE",
    )
    return float(np.mean(values[:k])) if values else None


def _best(study):
    try:
        return study.best_trial
    except ValueError:
        return None


def write_plots(study, out: Path) -> list[str]:
    """Optuna's matplotlib plots; a plot Optuna cannot draw yet (too few trials) is skipped.
    Optuna draws with pyplot: on the user's backend, left as it is (no switch to Agg), with
    interactive mode off (no window pops up) and each figure closed once saved, so none lingers in
    a notebook; its style sheet (ggplot) applies inside rc_context only, so the user's rcParams
    come back unchanged. Importances are drawn here on a plain Figure: Optuna's version needs an
    Agg canvas, which a vector backend (pdf, svg) lacks."""
    import warnings

    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis

    written = []
    for filename, name in PLOTS.items():
        before = set(plt.get_fignums())
        try:
            with warnings.catch_warnings(), plt.rc_context(), plt.ioff():
                warnings.simplefilter("ignore")
                draw = OWN_PLOTS.get(name) or getattr(vis, name)
                ax = draw(study)
                fig = (ax.flat[0] if isinstance(ax, np.ndarray) else ax).get_figure()
                fig.set_size_inches(9, 5.5)
                save_figure(out / filename, fig)
            written.append(filename)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            print(f"skipped {filename}: {err}")
        finally:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)
    return written


def plot_param_importances(study):
    """Optuna's importances (fANOVA) as horizontal bars, most important on top."""
    import optuna
    from matplotlib.figure import Figure

    importances = optuna.importance.get_param_importances(study)
    names, values = list(importances)[::-1], list(importances.values())[::-1]
    ax = Figure().subplots()
    ax.barh(names, values, color="tab:blue")
    for y, value in enumerate(values):
        ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
    ax.set(title="Hyperparameter importances", xlabel=f"importance for {_objective_name(study)}")
    ax.grid(axis="x", alpha=0.3)
    return ax


OWN_PLOTS = {"plot_param_importances": plot_param_importances}


def _objective_name(study) -> str:
    return (study.metric_names or ["objective value"])[0]


def best_experiment(spec, study):
    """The best trial's experiment, to train on train+validation for the trial's best epoch count
    (chosen on validation during the study)."""
    import optuna

    best = _best(study)
    if best is None:
        raise UserError(f"study {study.study_name!r} has no complete trial to retrain")
    exp = spec.trial_experiment(optuna.trial.FixedTrial(best.params))
    epochs = int(best.user_attrs.get("best_epoch", exp.training.epochs))
    exp.training = replace(exp.training, epochs=epochs, early_stopping_patience=0, restore_best=False)
    return best, exp


def retrain_best(spec, study, out: Path, seeds: list[int] | None = None) -> dict:
    """The best configuration trained on train+validation and evaluated once on the test split:
    one run folder (OUT), or one a training seed (OUT/seed_S/) with their mean +/- std
    (OUT/seeds.json). A finished retrain loads instead of training again."""
    from kerasexp import rundir
    from kerasexp.data import load_dataset
    from kerasexp.runs import summarize_seeds

    best, exp = best_experiment(spec, study)
    data = load_dataset(exp.dataset)
    if seeds is None:
        return _retrain(exp, best, study, data, out)
    metrics = [
        _retrain(
            replace(exp, training=replace(exp.training, seed=seed)),
            best,
            study,
            data,
            rundir.seed_dir(out, seed),
        )
        for seed in seeds
    ]
    return summarize_seeds(f"{study.study_name} best (trial {best.number})", out, seeds, metrics)


def _retrain(exp, best, study, data, out: Path) -> dict:
    """One retrain through the runs path (kerasexp.runs.train_and_report) on train+validation: no
    validation split is left to choose TTA views on, so "auto" (or a list) predicts without them, and
    the record says which trial and epoch count were chosen, on what."""
    from kerasexp import rundir
    from kerasexp.evaluation.predict import chooses_tta
    from kerasexp.runs import report_run, train_and_report

    if exp.evaluation.kfold:  # the trials trained one split; so does their retrain (k = 1)
        exp = replace(exp, evaluation=replace(exp.evaluation, kfold=0, drop_folds=[]))
    rundir.check_out_dir(out)
    rundir.check_same_config(out, exp)
    out.mkdir(parents=True, exist_ok=True)
    with rundir.writer_lock(out):
        if rundir.is_finished(out):
            return report_run(out)
        tta = "none" if chooses_tta(exp.evaluation.tta) else exp.evaluation.tta
        merged = replace(
            data,
            x_train=np.concatenate([data.x_train, data.x_val]),
            y_train=np.concatenate([data.y_train, data.y_val]),
        )
        metric = study.user_attrs.get("study_file", {}).get("study", {}).get("metric", "value")
        record = {
            "experiment": f"{study.study_name} best (trial {best.number})",
            "val_images": 0,
            "note": "trained on train+validation for the best trial's best epoch count; the validation "
            "columns in history.csv are measured on images it trained on",
        }
        choices = {
            "trial": {
                "rule": f"best {metric} over the study's trials (validation)",
                "trial": best.number,
                "value": best.value,
            },
            "epoch": {"rule": "the best trial's best validation epoch", "epoch": exp.training.epochs},
            "tta": {
                "setting": exp.evaluation.tta,
                "chosen": tta,
                **(
                    {"note": "choosing needs a validation split; the retrain has none"}
                    if chooses_tta(exp.evaluation.tta)
                    else {}
                ),
            },
        }
        return train_and_report(exp, merged, out, tta=tta, record=record, choices=choices)


def best_value_interval(study, metric: str) -> list[float] | None:
    """95% Wilson interval of the best trial's validation accuracy (None for other metrics, or a
    study made before trials recorded their validation size)."""
    from kerasexp.evaluation.intervals import accuracy_ci95

    best = _best(study)
    n = best.user_attrs.get("val_images") if best is not None else None
    if not n or not metric.endswith("accuracy"):
        return None
    return accuracy_ci95(round(best.value * n), n)


def locate_study(
    study_dir: str | Path | None,
    storage_url: str | None = None,
    study_name: str | None = None,
    out: str | Path | None = None,
) -> tuple[str, str, Path]:
    """(storage URL, study name, report folder) from a study folder made by `kerasexp study`
    (STUDY/study.db; STUDY/study.txt names the study; the report goes to STUDY/report), or from
    --storage (a PostgreSQL study: the folder has no database and its study.txt no password).
    A storage that holds a single study needs no name."""
    from kerasexp.tuning.storage import default_storage, mask_url, open_storage

    folder = Path(study_dir) if study_dir is not None else None
    if folder is not None and not folder.is_dir():
        raise UserError(f"{folder}: no such study folder; give the --out folder of `kerasexp study`")
    record = _study_record(folder) if folder is not None else {}
    if storage_url is None:
        if folder is None:
            raise UserError("give a study folder (kerasexp study-report runs/studies/NAME) or --storage URL")
        if not (folder / "study.db").exists():
            where = f" (its study.txt: storage {record['storage']})" if "storage" in record else ""
            raise UserError(
                f"{folder}: no study.db{where}; give --storage URL (with its password) and --study-name"
            )
        storage_url = default_storage(folder)
    if out is None:
        if folder is None:
            raise UserError("give --out (the report's folder) with --storage, or a study folder")
        out = folder / "report"
    if study_name is None:
        study_name = record.get("study")
    if study_name is None:
        import optuna

        names = optuna.get_all_study_names(open_storage(storage_url))
        if len(names) != 1:
            raise UserError(
                f"{mask_url(storage_url)} holds {len(names)} studies ({', '.join(names) or 'none'}); "
                "give --study-name"
            )
        study_name = names[0]
    return storage_url, study_name, Path(out)


def _study_record(folder: Path) -> dict:
    """study.txt's `storage URL` and `study NAME` lines (written by `kerasexp study`), if any."""
    path = folder / "study.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split(" ", 1) for line in lines[:2] if line.startswith(("storage ", "study ")))


def format_value(value) -> str:
    """A parameter or metric as a person writes it: 0.30000000000000004 -> 0.3, 0.0012345678 -> 0.001235."""
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".4g")
    return str(value)


def format_params(params: dict) -> str:
    return ", ".join(f"{name} = {format_value(value)}" for name, value in sorted(params.items()))


def summary_text(s: dict, out: str | Path) -> str:
    """What `kerasexp study-report` prints: the best trial, its parameters, the retrain's test figures."""
    lines = [
        f"study {s['study']}: {s['trials']} trials ({s['complete']} complete, {s['pruned']} pruned, "
        f"{s['failed']} failed)"
    ]
    if s["best_trial"] is not None:
        lines.append(
            f"best {s['metric']} {_num(s['best_value'])} (trial {s['best_trial']}; selected among "
            f"{s['trials']} trials, so biased upward and given no interval): {format_params(s['best_params'])}"
        )
    t = s.get("test")
    if t and "seeds" in t:
        lines.append(
            f"retrained with seeds {t['seeds']}, test: accuracy {t['accuracy']:.4f} ± {t['accuracy_std']:.4f}, "
            f"macro-F1 {t['macro_f1']:.4f} ± {t['macro_f1_std']:.4f}"
        )
    elif t:
        lines.append(
            f"retrained on train+validation, test: accuracy {t['accuracy']:.4f}{_ci(t.get('accuracy_ci95'))}, "
            f"macro-F1 {t['macro_f1']:.4f}{_ci(t.get('macro_f1_ci95'))}"
        )
    return "\n".join(lines + [f"wrote {out}/"])


def study_report(
    storage_url: str, study_name: str, out: str | Path, retrain: bool = True, seeds: list[int] | None = None
) -> dict:
    from kerasexp.provenance import command_line, machine_description
    from kerasexp.tuning.storage import load_existing_study, mask_url, open_storage

    out = Path(out)
    storage = open_storage(storage_url)
    study = load_existing_study(storage, storage_url, study_name)
    spec = spec_from_study(study)
    out.mkdir(parents=True, exist_ok=True)
    trials = study.trials_dataframe()
    write_csv(out / "trials.csv", trials)
    summary = {
        **study_summary(study, spec),
        "best_value_ci95": best_value_interval(study, spec.study.metric),
        "storage": mask_url(storage_url),
        "command": command_line(),
        "machine": machine_description(),
    }
    best = _best(study)
    if best is not None:
        import optuna

        best_exp = spec.trial_experiment(optuna.trial.FixedTrial(best.params))
        from kerasexp.config import to_toml

        write_text(out / "best_config.toml", to_toml(best_exp))
    summary["plots"] = write_plots(study, out)
    if retrain and best is not None:
        metrics = retrain_best(spec, study, out / "best", seeds)
        if seeds is None:
            summary["test"] = {
                k: metrics[k] for k in ("accuracy", "accuracy_ci95", "macro_f1", "macro_f1_ci95")
            }
        else:
            summary["test"] = {
                "seeds": seeds,
                **{k: metrics[k]["mean"] for k in ("accuracy", "macro_f1")},
                **{f"{k}_std": metrics[k]["std"] for k in ("accuracy", "macro_f1")},
            }
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", summary_markdown(summary))
    return summary


def summary_markdown(s: dict) -> str:
    lines = [
        f"# Study {s['study']}",
        "",
        f"Made by `{s['command']}` from storage `{s['storage']}`; machine: {s['machine'].get('cpu')}, "
        f"{s['machine'].get('cores')} cores, GPU: {s['machine'].get('gpus')}.",
        "",
        f"- trials: {s['trials']} ({s['complete']} complete, {s['pruned']} pruned, {s['failed']} failed); "
        f"pruner: {s['pruner']}",
        f"- epochs run: {s['epochs_run']} of at most {s['trials'] * s['epochs_per_trial']} "
        f"({s['trials']} trials of up to {s['epochs_per_trial']}); epochs saved by pruning: "
        f"{s['epochs_saved_by_pruning']}; trial time {s['trial_minutes']} min",
        f"- best {s['metric']}: {_num(s['best_value'])} (trial {s['best_trial']}; selected among "
        f"{s['trials']} trials: biased upward, so no interval; the retrained figure on test below has the honest one); "
        f"mean of the top 5: {_num(s['top5_mean'])}",
        f"- best parameters: {format_params(s['best_params']) or 'none'}",
    ]
    if "test" in s:
        t = s["test"]
        if "seeds" in t:
            lines.append(
                f"- best configuration retrained on train+validation with seeds {t['seeds']}, test split: "
                f"accuracy {t['accuracy']:.4f} ± {t['accuracy_std']:.4f}, macro-F1 {t['macro_f1']:.4f} ± "
                f"{t['macro_f1_std']:.4f} (mean ± std; best/seeds.md, best/seed_S/per_class.md)"
            )
        else:
            lines.append(
                f"- best configuration retrained on train+validation, test split: accuracy "
                f"{t['accuracy']:.4f}{_ci(t.get('accuracy_ci95'))}, macro-F1 {t['macro_f1']:.4f}"
                f"{_ci(t.get('macro_f1_ci95'))} (best/per_class.md, best/confusion_matrix.png)"
            )
    lines += [
        "",
        "Plots: " + ", ".join(s["plots"]),
        "",
        "trials.csv: every trial, its parameters, state and value.",
    ]
    return "\n".join(lines) + "\n"


def _num(value) -> str:
    return "none" if value is None else f"{value:.4f}"


def _ci(ci) -> str:
    from kerasexp.evaluation.intervals import span

    return f" (95% interval {span(ci)})" if ci else ""


COMPARE_COLUMNS = (
    "study",
    "pruner",
    "trials",
    "complete",
    "pruned",
    "epochs_run",
    "epochs_saved_by_pruning",
    "trial_minutes",
    "best_value",
    "top5_mean",
)


def study_compare(report_dirs: list[str], out: str | Path) -> pd.DataFrame:
    """Studies side by side from their summary.json (written by study-report), each against the
    first: how many epochs it ran and, where both retrained their best configuration, a test over
    training seeds on the test split. A best trial is selected among many, so its validation value
    gets no interval here (one that ignored the selection would be too narrow)."""
    from kerasexp import rundir
    from kerasexp.evaluation.compare import paired_tests

    rows, summaries = [], []
    for d in report_dirs:
        f = Path(d) / "summary.json"
        if not f.exists():
            raise UserError(f"{d}: no summary.json; run `kerasexp study-report ... --out {d}` first")
        s = rundir.read_json(f)
        summaries.append(s)
        rows.append(
            {**{k: s.get(k) for k in COMPARE_COLUMNS}, "test_accuracy": s.get("test", {}).get("accuracy")}
        )
    table = pd.DataFrame(rows)
    first = summaries[0]
    table["epochs_vs_first"] = [
        s["epochs_run"] / first["epochs_run"] if first.get("epochs_run") else None for s in summaries
    ]
    best_dirs = [Path(d) / "best" for d in report_dirs]
    if all(rundir.is_finished(b) or rundir.is_seed_group(b) for b in best_dirs):
        tests = pd.DataFrame(paired_tests([str(b) for b in best_dirs]))
        table["test_p_value"], table["test_significant"] = tests["p_value"], tests["significant"]
    from kerasexp.provenance import command_line
    from kerasexp.evaluation.report import markdown_table

    out = Path(out)
    write_csv(out.with_suffix(".csv"), table)
    write_text(
        out.with_suffix(".md"),
        f"# {out.stem}\n\nMade by `{command_line()}` from "
        f"{', '.join(report_dirs)} (each folder's summary.json).\n\n"
        "best_value is the best trial's validation figure, selected among the study's trials: biased "
        "upward, so it gets no interval; `epochs_vs_first` is the epochs trained relative to the first "
        "study. Where each study retrained its best configuration, "
        "`test_p_value` is a paired t-test over training seeds against the first's "
        '(kerasexp.evaluation.compare.paired_tests; under 3 seeds "too few seeds to test").\n\n'
        f"{markdown_table(table)}\n",
    )
    return table
