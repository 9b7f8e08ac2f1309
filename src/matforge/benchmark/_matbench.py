"""MatBench v0.1 composition tasks (and the two smallest structure tasks) with the official folds, scored
exactly as the leaderboard scores them.

Protocol (Dunn et al., npj Comput. Mater. 6, 138 (2020)): 5 folds, shuffle, random_state=18012019, KFold for
regression and StratifiedKFold for classification. Each shared ``matbench_*`` folder has
``folds_matbench_v0.1.csv`` giving every row's test fold, so the folds are read, never recomputed. In fold k
only the rows with ``test_fold != k`` reach `AutoModel` (validation, featurization, selection, search, final
fit); the test rows are predicted once, at the end, each row on its own (duplicates merged for training are
still predicted and scored individually). MAE for regression, ROC-AUC for classification, plus the other
contract metrics. A finished fold is one JSON file, so an interrupted run resumes at the next fold.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["TASKS", "MatbenchTask", "load_task", "run_fold", "run_matbench", "summarize"]


@dataclass(frozen=True)
class MatbenchTask:
    """One MatBench task: where its data lives and the leaderboard figures to compare with (mean over 5 folds).
    `drop`: columns of the shared file that are not inputs (row numbers, text written from the structure)."""

    name: str
    folder: str
    file: str
    target: str
    task: str
    metric: str
    leaderboard: tuple[tuple[str, float], ...]
    drop: tuple[str, ...] = ()


TASKS: dict[str, MatbenchTask] = {
    t.name: t
    for t in [
        MatbenchTask("expt_gap", "matbench_expt_gap", "matbench_expt_gap.csv", "gap expt", "regression", "mae", (("Darwin", 0.2865), ("Ax/SAASBO CrabNet", 0.3310), ("MODNet", 0.3327), ("AMMExpress", 0.4161), ("RF-SCM/Magpie", 0.4461))),
        MatbenchTask("steels", "matbench_steels", "matbench_steels.csv", "yield strength", "regression", "mae", (("TPOT-Mat", 79.95), ("AutoML-Mat", 82.30), ("MODNet", 87.76), ("AMMExpress", 97.49), ("RF-SCM/Magpie", 103.51))),
        MatbenchTask("expt_is_metal", "matbench_expt_is_metal", "matbench_expt_is_metal.csv", "is_metal", "classification", "matbench_roc_auc", (("Darwin", 0.9598), ("AMMExpress", 0.9209), ("RF-SCM/Magpie", 0.9167), ("MODNet", 0.9161))),
        MatbenchTask("glass", "matbench_glass", "matbench_glass.csv", "gfa", "classification", "matbench_roc_auc", (("MODNet", 0.9603), ("AMMExpress", 0.8607), ("RF-SCM/Magpie", 0.8587))),
        MatbenchTask("mp_e_form", "matbench_mp_e_form", "matbench_mp_e_form_composition.csv", "target", "regression", "mae", (("Finder (composition)", 0.0839), ("CrabNet", 0.0862))),
        # structure tasks: the crystal structure is the input (its composition too, through the structure); the
        # reduced formula, the row number and the robocrystallographer text beside it in the shared files are not
        # inputs. Leaderboard figures as the shared MANIFEST.md records them (official submissions)
        MatbenchTask("jdft2d", "matbench_jdft2d", "matbench_jdft2d.csv", "exfoliation_en", "regression", "mae", (("coNGN", 36.17), ("AMMExpress", 39.85), ("ALIGNN", 43.42)), drop=("index", "formula", "description")),
        MatbenchTask("phonons", "matbench_phonons", "matbench_phonons.csv", "last phdos peak", "regression", "mae", (("coNGN", 28.89), ("ALIGNN", 29.54), ("AMMExpress", 56.17)), drop=("index", "formula", "description")),
    ]
}  # fmt: skip
"""The tasks `matforge benchmark matbench` knows, by short name: five composition tasks, two structure tasks."""


def load_task(data_dir: str | Path, name: str) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The task's table (formula column + target), each row's official test fold, and the fold file."""
    from matforge.data import read_table

    if name not in TASKS:
        raise InputError(f"unknown MatBench task '{name}'", hint=f"Choose from: {', '.join(TASKS)}")
    task = TASKS[name]
    folder = Path(data_dir) / task.folder
    data_file, fold_file = folder / task.file, folder / "folds_matbench_v0.1.csv"
    for path in (data_file, fold_file):
        if not path.exists():
            raise InputError("MatBench file not found", file=str(path), hint="Point --data-dir at the folder holding the matbench_* datasets")
    frame = read_table(data_file)
    folds = pd.read_csv(fold_file)
    if len(folds) != len(frame) or not np.array_equal(folds["row"].to_numpy(), np.arange(len(frame))):
        raise InputError("fold file does not match the data rows", file=str(fold_file), hint="Use the folds_matbench_v0.1.csv shipped beside the data")
    return frame.reset_index(drop=True), folds["test_fold"].to_numpy(dtype=int), folds


def _labels(y: pd.Series) -> np.ndarray:
    # the same label text `prepare_dataset` gives classification targets (booleans as "False"/"True"; runs
    # before 2026-12-06 wrote them "0"/"1")
    return y.astype(str).to_numpy()


def run_fold(frame: pd.DataFrame, test_fold: np.ndarray, fold: int, spec: MatbenchTask, *, budget: float, max_trials: int = 40, seed: int = 0, models=None, ensemble: int = 5, preset: str = "auto", n_jobs: int = 1, verbose: bool = False) -> tuple[dict, pd.DataFrame]:
    """Train on the fold's training rows only, predict its test rows; return scores and per-row predictions.

    The search stops at `max_trials` per model or at `budget` seconds, whichever comes first; when the trial
    cap binds, the same seed gives the same predictions (a wall-clock limit depends on the machine's load)."""
    from sklearn.metrics import roc_auc_score

    from matforge.data import prepare_dataset
    from matforge.learn._automodel import AutoModel
    from matforge.learn._pipeline import score_predictions

    start, cpu_start = time.monotonic(), time.process_time()
    train_rows = np.flatnonzero(test_fold != fold)
    test_rows = np.flatnonzero(test_fold == fold)
    inputs = [c for c in frame.columns if c != spec.target and c not in spec.drop]
    dataset = prepare_dataset(frame.iloc[train_rows].reset_index(drop=True)[[*inputs, spec.target]], spec.target, task=spec.task)
    model = AutoModel(
        task=spec.task, models=models, budget=budget, ensemble=ensemble, preset=preset, formula_cols=dataset.formula_cols, structure_cols=dataset.structure_cols,
        numeric_cols=dataset.numeric_cols, categorical_cols=dataset.categorical_cols, seed=seed, n_jobs=n_jobs,
        max_trials=max_trials, evaluate=False, verbose=verbose,
    )  # fmt: skip
    model.fit(dataset.frame, dataset.y, dataset.groups, sample_weight=dataset.weights)
    test = frame.iloc[test_rows].reset_index(drop=True)
    table = model.predictor_.predict_table(test[inputs])
    y_true = test[spec.target]
    predictions = pd.DataFrame({"row": test_rows, "fold": fold})
    if spec.task == "regression":
        y_true = y_true.to_numpy(dtype=float)
        scores = score_predictions("regression", y_true, table["prediction"].to_numpy(dtype=float))
        predictions["y_true"], predictions["y_pred"] = y_true, table["prediction"].to_numpy(dtype=float)
    else:
        classes = model.classes_
        proba = table[[f"proba_{c}" for c in classes]].to_numpy(dtype=float)
        labels, decided = _labels(y_true), model.decide(table).astype(str)
        scores = score_predictions("classification", labels, decided, proba, classes)
        # MatBench (matbench >= 0.4, data_ops.score_array) takes either booleans or probabilities in [0, 1] and
        # scores its ROC-AUC on what it is given: matforge submits the probability of the positive class
        # (True). A submission of labels would score the ROC-AUC of the labels (= their balanced accuracy),
        # recorded beside it because some leaderboard entries were labels.
        positive = labels == classes[1]
        scores["matbench_roc_auc"] = float(roc_auc_score(positive, proba[:, 1]))
        scores["roc_auc_of_labels"] = float(roc_auc_score(positive, decided == classes[1]))
        predictions["y_true"], predictions["y_pred"] = labels, decided
        for j, c in enumerate(classes):
            predictions[f"proba_{c}"] = proba[:, j]
    record = {
        "task": spec.name, "fold": int(fold), "n_train": int(len(train_rows)), "n_train_after_merge": int(len(dataset.y)),
        "n_test": int(len(test_rows)), "scores": scores, "best_model": model.best_model_,
        "configurations": model.final_configurations_, "preset": model.preset_, "preset_screen": model.preset_scores_,
        "decision_threshold": getattr(model, "decision_threshold_", None),
        "inner_cv": {m: v["mean"] for m, v in model.cv_scores_.items()}, "seconds": time.monotonic() - start,
        # of those, AutoModel.fit's own (what --budget bounds); the rest is preparing the training rows and
        # featurizing and predicting the test rows: MatBench mp_e_form fold 2 ran 3,740 s against a 3,600 s budget
        # (2b458df) and the record could not say which part overran
        "fit_seconds": float(model.fit_seconds_),
        # the budget's plan (`AutoModel._plan`): the probe's timings, the floor, the defaults cut to fit
        "plan": model.plan_,
        # each model's search in the final stage: trials, seconds, and its default trial's seconds against the plan's
        "final_tuning": model.final_tuned_,
        # CPU seconds of this process: on a shared machine wall time depends on others' load, CPU time much less
        "cpu_seconds": time.process_time() - cpu_start,
    }  # fmt: skip
    return record, predictions


def run_matbench(data_dir: str | Path, tasks, out: str | Path, *, folds=(0, 1, 2, 3, 4), budget: float = 60.0, max_trials: int = 40, seed: int = 0, models=None, ensemble: int = 5, preset: str = "auto", n_jobs: int = 1, verbose: bool = False, say=None, scheduler: str | None = None, workers: int | None = None) -> dict:
    """Run the tasks × folds, one JSON + one predictions CSV per finished fold under `out/<task>/`, then write
    ``results.json`` and ``results.md`` in `out`. Folds already in `out` (same budget and seed) are reused.
    With `scheduler`/`workers` (see `matforge.scale.scheduler_from_options`) the folds are Dask tasks, one
    fold each, run side by side; each fold's files are written here as it finishes."""
    from matforge.files import atomic_file

    out = Path(out)
    names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
    for name in names:
        if name not in TASKS:
            raise InputError(f"unknown MatBench task '{name}'", hint=f"Choose from: {', '.join(TASKS)}")
    folds = [int(f) for f in (str(folds).split(",") if isinstance(folds, str) else folds)]
    if any(f not in range(5) for f in folds):
        raise InputError(f"folds must be among 0-4, not {folds}")
    if budget <= 0:
        raise InputError(f"--budget must be positive seconds, not {budget}")
    if max_trials < 1:
        raise InputError(f"--trials must be at least 1, not {max_trials}")
    settings = {"budget_per_fold_s": float(budget), "max_trials_per_model": int(max_trials), "seed": int(seed), "models": models, "ensemble": int(ensemble), "preset": preset}
    started = time.monotonic()
    records, jobs, data = [], [], {}
    for name in names:
        frame, test_fold, _ = load_task(data_dir, name)
        data[name] = (frame, test_fold)
        for k in folds:
            done = out / name / f"fold_{k}.json"
            if done.exists():
                record = json.loads(done.read_text())
                if record.get("settings") == settings:
                    records.append(record)
                    if say:
                        say(f"{name} fold {k}: reused {done}")
                    continue
            jobs.append((name, k))

    def finished(_i: int, result: tuple[str, int, dict, pd.DataFrame]) -> None:
        name, k, record, predictions = result
        spec = TASKS[name]
        record["settings"] = settings
        (out / name).mkdir(parents=True, exist_ok=True)
        with atomic_file(out / name / f"fold_{k}_predictions.csv") as tmp:
            predictions.to_csv(tmp, index=False)
        with atomic_file(out / name / f"fold_{k}.json") as tmp:
            Path(tmp).write_text(json.dumps(record, indent=1))
        records.append(record)
        if say:
            say(f"{name} fold {k}: {spec.metric} {record['scores'][spec.metric]:.4g} ({record['best_model']} on {record['preset']}, {record['seconds']:.0f} s)")

    options = {"budget": budget, "max_trials": max_trials, "seed": seed, "models": models, "ensemble": ensemble, "preset": preset, "n_jobs": n_jobs}
    if scheduler or workers:
        from matforge.scale._cluster import map_partitions, scheduler_from_options

        with scheduler_from_options(scheduler, workers) as client:
            map_partitions(_fold_job, jobs, client=client, shared={"data": data, "options": options}, label="MatBench folds", on_done=finished)
    else:
        for i, job in enumerate(jobs):
            finished(i, _fold_job(job, data=data, options={**options, "verbose": verbose}))
    records.sort(key=lambda r: (names.index(r["task"]), r["fold"]))  # cluster folds finish in any order
    runner = "this process"
    if scheduler or workers:
        from matforge.scale._cluster import describe_scheduler

        runner = describe_scheduler(scheduler, workers) or runner
    results = summarize(records, settings, data_dir=data_dir, wall_seconds=time.monotonic() - started, runner=runner, reused=len(records) - len(jobs))
    with atomic_file(out / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1))
    with atomic_file(out / "results.md") as tmp:
        Path(tmp).write_text(markdown_table(results))
    return results


def _fold_job(job: tuple[str, int], *, data: dict, options: dict) -> tuple[str, int, dict, pd.DataFrame]:
    """One task's fold (here or on a cluster worker): the record and the test predictions."""
    name, k = job
    frame, test_fold = data[name]
    record, predictions = run_fold(frame, test_fold, k, TASKS[name], **options)
    return name, k, record, predictions


def summarize(records: list[dict], settings: dict, *, data_dir, wall_seconds: float, runner: str = "this process", reused: int = 0) -> dict:
    """Per-task mean/std over folds, per-fold scores, and the protocol (folds, seed, data, cores, where the
    folds ran, times, and the machine's load average at the end: on a shared machine it explains the times).
    `reused` folds were read back from an earlier run: their seconds count in the folds' totals, not in
    `wall_seconds`."""
    import platform

    tasks = {}
    for name in dict.fromkeys(r["task"] for r in records):
        spec = TASKS[name]
        mine = sorted((r for r in records if r["task"] == name), key=lambda r: r["fold"])
        metrics = list(mine[0]["scores"])
        tasks[name] = {
            "task": spec.task, "metric": spec.metric, "target": spec.target, "folds": [r["fold"] for r in mine],
            "mean": {m: float(np.mean([r["scores"][m] for r in mine])) for m in metrics},
            "std": {m: float(np.std([r["scores"][m] for r in mine])) for m in metrics},
            "per_fold": [{"fold": r["fold"], **r["scores"], "best_model": r["best_model"], "preset": r.get("preset"), "seconds": r["seconds"], **({"fit_seconds": r["fit_seconds"]} if "fit_seconds" in r else {}), "n_train": r["n_train"], "n_test": r["n_test"], **_searches(r)} for r in mine],
            "fold_seconds_total": float(sum(r["seconds"] for r in mine)),
            "fold_cpu_seconds_total": float(sum(r.get("cpu_seconds", float("nan")) for r in mine)),
            "leaderboard": dict(spec.leaderboard),
        }  # fmt: skip
    from matforge import __version__

    return {
        "benchmark": "MatBench v0.1",
        "protocol": {"folds": "official folds_matbench_v0.1.csv (5 folds, shuffle, random_state=18012019; KFold regression, StratifiedKFold classification)", "training": "AutoModel(evaluate=False) on each fold's training rows only", **settings},
        "data_dir": str(data_dir), "matforge": __version__, "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "load_average_1_5_15_min": [round(v, 2) for v in os.getloadavg()]},
        "folds_ran_on": runner, "wall_seconds": float(wall_seconds), "folds_reused": int(reused), "fold_seconds_total": float(sum(r["seconds"] for r in records)),
        "fold_cpu_seconds_total": float(sum(r.get("cpu_seconds", float("nan")) for r in records)), "tasks": tasks,
    }  # fmt: skip


def _searches(record: dict) -> dict:
    """A fold's final searches without their parameters (trials, seconds, the default trial's seconds against the
    stage's estimate, the chosen configuration's fit): where a fold's time went. Records before 6d096fe have none."""
    if "final_tuning" not in record:
        return {}
    return {"searches": [{key: value for key, value in entry.items() if key != "params"} for entry in record["final_tuning"]]}


def _reused_note(results: dict) -> str:
    n = results.get("folds_reused", 0)
    total = sum(len(t["folds"]) for t in results["tasks"].values())
    return f" ({n} of the {total} folds read back from earlier runs in this folder, their time not in it)" if n else ""


def markdown_table(results: dict) -> str:
    """Our mean ± std over the folds next to the leaderboard figures (↓ lower is better, ↑ higher)."""
    lines = [
        f"MatBench v0.1 — matforge {results['matforge']}, budget {results['protocol']['budget_per_fold_s']:g} s per fold, "
        f"seed {results['protocol']['seed']}, {results['machine']['cores']} cores, folds on {results.get('folds_ran_on', 'this process')}: "
        f"{results['wall_seconds'] / 60:.1f} min wall in all{_reused_note(results)}, {results['fold_seconds_total'] / 60:.1f} min of fold wall time ({results['fold_cpu_seconds_total'] / 60:.1f} CPU min of the fold processes).",
        "",
        "| task | metric | folds | matforge (mean ± std) | best on leaderboard | others | matforge, other metrics | wall (min) | CPU (min) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in results["tasks"].items():
        arrow = "↓" if t["metric"] == "mae" else "↑"
        label = {"mae": "MAE", "matbench_roc_auc": "ROC-AUC"}[t["metric"]]
        extra = ["rmse", "r2"] if t["task"] == "regression" else ["roc_auc_of_labels", "balanced_accuracy"]
        also = ", ".join(f"{m.replace('roc_auc_of_labels', 'ROC-AUC of labels')} {t['mean'][m]:.4g}" for m in extra if m in t["mean"])
        board = list(t["leaderboard"].items())
        best = f"{board[0][0]} {board[0][1]:.4g}"
        others = ", ".join(f"{k} {v:.4g}" for k, v in board[1:])
        lines.append(f"| {name} | {label} {arrow} | {len(t['folds'])} | {t['mean'][t['metric']]:.4g} ± {t['std'][t['metric']]:.2g} | {best} | {others} | {also} | {t['fold_seconds_total'] / 60:.1f} | {t['fold_cpu_seconds_total'] / 60:.1f} |")
    if any(t["task"] == "classification" for t in results["tasks"].values()):
        lines += [
            "",
            "Classification: MatBench accepts probabilities or booleans and computes its ROC-AUC on what it is given",
            "(matbench >= 0.4, `data_ops.score_array`); matforge submits probabilities. A submission of labels scores",
            "the ROC-AUC of the labels, which equals their balanced accuracy; some leaderboard entries were labels, so",
            "that figure is given beside it (labels cut where the two recalls balance on the training rows' inner-CV",
            "predictions).",
        ]
    if any(TASKS[name].drop for name in results["tasks"] if name in TASKS):
        lines += ["", "Structure tasks: the leaderboard figures are the official submissions the shared dataset's MANIFEST.md records, not the whole leaderboard."]
    return "\n".join(lines) + "\n"
