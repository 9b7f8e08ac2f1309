"""Distributed tuning: several processes, on one machine or many, add trials to one Optuna study in an RDB.

Each worker evaluates the same objective (the model's inner grouped cross-validation on the same data, with
the same splits: they come from `seed`), so their trials are comparable and the study's best is the best of
all. Only the samplers differ (seeded by the worker's name), so that workers do not propose the same
configurations. SQLite (``sqlite:///study.db``) serves the processes of one machine; PostgreSQL
(``postgresql://user:pass@host/db``) serves a team's machines.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.errors import InputError

__all__ = ["tune_worker", "study_storage", "masked_storage"]


def masked_storage(url: str) -> str:
    """The storage URL with its password hidden, as recorded in run folders."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL sqlalchemy understands: optuna will reject it with its own message
        return url


def study_storage(url: str):
    """An Optuna RDB storage for `url`, with the settings that let several processes share it.

    SQLite locks the whole file for each write, so writers wait up to a minute instead of failing at once;
    connections are checked before use, so a worker survives a database restart.
    """
    import optuna

    if not url or "://" not in url:
        raise InputError(f"--storage must be a database URL, not '{url}'", hint="Use sqlite:///study.db or postgresql://user@host/db")
    kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 60}
    for attempt in range(6):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except (ImportError, ModuleNotFoundError) as err:
            raise InputError(f"no database driver for {masked_storage(url)}: {err}", hint="pip install 'matforge[dist]'") from None
        except Exception as err:  # sqlalchemy's OperationalError and friends
            # workers starting together race to create optuna's tables; the loser sees a unique-key error
            if "UNIQUE" in str(err).upper() or "DUPLICATE" in str(err).upper() or "ALREADY EXISTS" in str(err).upper():
                time.sleep(0.3 * (attempt + 1))
                continue
            raise InputError(f"cannot open the study storage {masked_storage(url)}: {str(err).splitlines()[0]}") from None
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def _open_study(name: str, storage, direction: str, sampler):
    """Create the study or join it: `(study, created)`. Two workers starting at the same moment may both try to
    create it; the database's unique study name lets exactly one succeed, so `created` is true for one worker."""
    import optuna

    for attempt in range(5):
        try:
            return optuna.create_study(study_name=name, storage=storage, direction=direction, sampler=sampler), True
        except optuna.exceptions.DuplicatedStudyError:
            return optuna.load_study(study_name=name, storage=storage, sampler=sampler), False
        except Exception as err:  # the losing creator can also see an integrity error from the database
            if "UNIQUE" not in str(err).upper() and "DUPLICATE" not in str(err).upper():
                raise
            time.sleep(0.2 * (attempt + 1))
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler), False


def tune_worker(
    data: str | Path | pd.DataFrame,
    target: str,
    *,
    study: str,
    storage: str,
    model: str = "lightgbm",
    trials: int = 20,
    timeout: float | None = None,
    max_trials: int | None = None,
    seed: int = 0,
    preset: str = "magpie",
    formula_cols: str | list[str] | None = None,
    drop: str | list[str] | None = None,
    group_col: str | None = None,
    inner_folds: int = 3,
    worker: str | None = None,
    out: str | Path | None = None,
) -> dict:
    """Join (or start) the study `study` in `storage` and add up to `trials` trials of `model` to it.

    Parameters
    ----------
    data, target, preset, formula_cols, drop, group_col : as `matforge.learn.train`; every worker must give the
        same data and options (a fingerprint of them is stored in the study and checked on joining).
    study, storage : study name and database URL (``sqlite:///...`` or ``postgresql://...``).
    model : a name from `matforge.models.MODELS`.
    trials, timeout : this worker's trials at most, and seconds at most.
    max_trials : stop once the whole study has this many finished trials (all workers together).
    seed : seed of the CV splits (shared by all workers) and, with the worker name, of this worker's sampler.
    worker : this worker's name, recorded on each of its trials (default: host:pid).
    out : optional folder for this worker's record: ``tuning.json`` (storage with the password hidden,
        study, model, best configuration so far, trial counts) and ``trials.csv``.

    Returns the record written to ``tuning.json``. The first worker also evaluates the model's default
    configuration, so the study always holds a sensible baseline.
    """
    import optuna

    from matforge.data import prepare_dataset, read_table
    from matforge.features._table import TableFeaturizer
    from matforge.learn._pipeline import make_splits, selection_metric
    from matforge.learn._search import STARTUP_TRIALS, _score, fit_pipeline, predict_with
    from matforge.models import get_model

    if trials < 0 or (max_trials is not None and max_trials < 1):
        raise InputError("--trials must be 0 or more and --max-trials at least 1")
    spec = get_model(model)
    frame = read_table(data) if isinstance(data, (str, Path)) else data
    dataset = prepare_dataset(frame, target, formula_cols=formula_cols, drop=drop, group_col=group_col)
    task = dataset.task
    if task not in spec.tasks:
        raise InputError(f"model '{spec.name}' does not do {task}")
    presets = (preset, "fractions") if spec.uses_fractions else (preset,)
    featurizer = TableFeaturizer(dataset.formula_cols, dataset.numeric_cols, dataset.categorical_cols, presets=presets, structure_cols=dataset.structure_cols, smiles_cols=dataset.smiles_cols).fit(dataset.frame)
    F = featurizer.transform(dataset.frame)
    columns = spec.columns(featurizer.feature_sets_)
    y = dataset.y.to_numpy(dtype=float) if task == "regression" else dataset.y.astype(str).to_numpy()
    classes = sorted(np.unique(y).tolist()) if task == "classification" else None
    splits = make_splits(task, y, dataset.groups, inner_folds, seed)
    fingerprint = hashlib.sha256(json.dumps([pd.util.hash_pandas_object(dataset.frame, index=False).sum().item(),
                                             list(map(str, y[:50])), len(y), model, preset, inner_folds, seed]).encode()).hexdigest()  # fmt: skip

    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    sampler_seed = int.from_bytes(hashlib.sha256(f"{seed}/{worker}".encode()).digest()[:4], "little")
    _, direction = selection_metric(task)
    storage_obj = study_storage(storage)
    # ERROR: a configuration that fails to fit is a failed trial (the search goes on), not a traceback for
    # the user; nor is a Ctrl-C, which the CLI reports in one line
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    shared, created = _open_study(study, storage_obj, direction, optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=STARTUP_TRIALS))
    known = shared.user_attrs.get("matforge_fingerprint")
    if known is None:
        shared.set_user_attr("matforge_fingerprint", fingerprint)
        shared.set_user_attr("matforge_model", spec.name)
        shared.set_user_attr("matforge_target", target)
    elif known != fingerprint:
        raise InputError(f"study '{study}' was started with other data or options", hint="Give every worker the same data, target, --model, --preset and --seed, or use a new study name")

    def objective(trial) -> float:
        params = spec.sample(trial, task)
        pred = np.zeros(len(y)) if task == "regression" else np.zeros((len(y), len(classes)))
        for train, test in splits:
            weight = None if dataset.weights is None else dataset.weights[train]
            pipeline = fit_pipeline(spec, task, params, F.iloc[train], y[train], columns=columns, categorical=dataset.categorical_cols, seed=seed, n_jobs=1, sample_weight=weight)
            pred[test] = predict_with(pipeline, task, F.iloc[test], classes)
        value = _score(task, y, pred, classes, dataset.weights)
        if not np.isfinite(value):
            raise optuna.TrialPruned()
        # credited when it finishes, not when it starts: if another worker took the same enqueued trial and told
        # it first, this raises (the trial is finished), and that worker keeps the credit for the recorded result
        trial.set_user_attr("worker", worker)
        return value

    # only the worker that created the study queues the default: two workers that each found the study empty
    # both queued it (optuna's skip_if_exists reads, then writes), and the default ran twice
    if created:
        shared.enqueue_trial(spec.defaults)
    callbacks = []
    if max_trials is not None:
        callbacks.append(optuna.study.MaxTrialsCallback(max_trials, states=(optuna.trial.TrialState.COMPLETE,)))
    start = time.monotonic()
    if trials:
        from matforge.learn._search import optimize_shared

        optimize_shared(shared, objective, n_trials=trials, timeout=timeout, callbacks=callbacks)
    finished = [t for t in shared.trials if t.state == optuna.trial.TrialState.COMPLETE]
    record = {
        "study": study, "storage": masked_storage(storage), "model": spec.name, "target": target, "task": task,
        "worker": worker, "seed": seed, "inner_folds": inner_folds, "seconds": time.monotonic() - start,
        "trials_by_this_worker": sum(1 for t in finished if t.user_attrs.get("worker") == worker),
        "trials_in_study": len(finished), "workers_in_study": sorted({str(t.user_attrs.get("worker")) for t in finished}),
        "best": {"value": shared.best_value if finished else None, "params": {**spec.defaults, **shared.best_params} if finished else None},
    }  # fmt: skip
    if out is not None:
        from matforge.files import atomic_dir

        with atomic_dir(out) as folder:
            (folder / "tuning.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
            shared.trials_dataframe().to_csv(folder / "trials.csv", index=False)
    return record
