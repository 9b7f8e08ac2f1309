"""Learning curve and domain-of-applicability check of a run: would more data help, and which rows are
outside what the model has seen?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matforge.report._style import plt

__all__ = ["learning_curve", "learning_curve_figure", "domain_check"]

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def _groups(table: pd.DataFrame, formula_cols: list[str], structure_cols: list[str] = (), smiles_cols: list[str] = ()) -> np.ndarray:
    from matforge.data import composition_keys
    from matforge.data._structures import input_formulas

    if not formula_cols and not structure_cols and not smiles_cols:
        return np.arange(len(table)).astype(str)
    keys = [composition_keys(formulas) for formulas in input_formulas(table, formula_cols, structure_cols)]
    if smiles_cols:
        from matforge.features._polymer import polymer_keys

        keys += [polymer_keys(table[c].to_numpy(dtype=object)) for c in smiles_cols]
    return np.array(["|".join(parts) for parts in zip(*keys, strict=True)], dtype=object)


def learning_curve(run, table: pd.DataFrame | None = None, *, fractions=FRACTIONS, folds: int = 3, seed: int = 0, n_jobs: int = 1, max_rows: int | None = 20000, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Out-of-fold score of the run's best single model as the training set grows.

    The final model's top-ranked algorithm with its tuned hyper-parameters is refitted on random `fractions`
    of the training part of `folds` grouped CV folds (same composition never on both sides) and scored on
    the whole test part, with the run's selection metric (MAE or ROC-AUC). A curve still falling (MAE) or
    rising (AUC) at the right end says that more measurements would likely improve the model. Hyper-parameters
    are not re-tuned per size, so small sizes are slightly pessimistic.

    `run` is a `matforge.learn.Run`; `table` defaults to its ``model/train_data.parquet``. Returns
    ``n_train``, ``fraction``, ``test_mean``, ``test_std``, ``train_mean``, ``train_std``; attrs name the
    model and metric. Tables larger than `max_rows` are subsampled first (seeded) to bound the refits.
    `features`: the run's featurizer output for `table` (same index), when the caller has it already (the
    report: featurizing a SMILES or structure column again took 16 s of a 794-row polymer table's report).
    """
    from matforge.learn import make_splits
    from matforge.learn._pipeline import selection_metric
    from matforge.learn._search import _score, fit_pipeline, predict_with
    from matforge.models import get_model

    card, predictor = run.card, run.predictor
    table = pd.read_parquet(run.path / "model" / "train_data.parquet") if table is None else table
    if max_rows is not None and len(table) > max_rows:
        table = table.sample(max_rows, random_state=seed)
    task, target = card["task"], card["target"]
    tuned = {t["model"]: t["params"] for t in card.get("final_tuning", [])}
    names = [m for m in card.get("final_members", []) if get_model(m).extra is None] or [m for m in tuned if get_model(m).extra is None]
    if not names:
        raise ValueError("no model without optional extras to refit for a learning curve")
    spec = get_model(names[0])
    columns = spec.columns(predictor.featurizer.feature_sets_)
    F = predictor.featurizer.transform(table) if features is None else features.loc[table.index]
    y = table[target].to_numpy(float) if task == "regression" else table[target].astype(str).to_numpy()
    classes = predictor.classes
    splits = make_splits(task, y, _groups(table, card["inputs"]["formula_cols"], card["inputs"].get("structure_cols", []), card["inputs"].get("smiles_cols", [])), folds, seed)
    rng = np.random.default_rng(seed)
    records = []
    for train, test in splits:
        order = rng.permutation(train)
        for fraction in fractions:
            size = max(10, int(round(fraction * len(train))))
            subset = order[:size]
            if task == "classification" and len(np.unique(y[subset])) < 2:
                continue
            params = dict(tuned.get(spec.name, spec.defaults))
            if "n_neighbors" in params:  # a k tuned on the full data can exceed a small subset
                params["n_neighbors"] = min(int(params["n_neighbors"]), size - 1)
            model = fit_pipeline(spec, task, params, F.iloc[subset], y[subset], columns=columns, categorical=predictor.featurizer.categorical_cols, seed=seed, n_jobs=n_jobs)
            score_test = _score(task, y[test], predict_with(model, task, F.iloc[test], classes), classes)
            score_train = _score(task, y[subset], predict_with(model, task, F.iloc[subset], classes), classes)
            records.append({"fraction": fraction, "n_train": size, "test": score_test, "train": score_train})
    raw = pd.DataFrame(records)
    curve = raw.groupby("fraction").agg(n_train=("n_train", "mean"), test_mean=("test", "mean"), test_std=("test", "std"), train_mean=("train", "mean"), train_std=("train", "std")).reset_index()
    curve.attrs.update(model=spec.name, metric=selection_metric(task)[0], folds=folds)
    return curve


def learning_curve_figure(curve: pd.DataFrame):
    """Score vs number of training rows (test: out of fold; train: on the rows fitted), mean ± std over folds."""
    fig, ax = plt().subplots(figsize=(5.5, 3.6))
    for kind, colour in (("test", "tab:blue"), ("train", "tab:gray")):
        mean, std = curve[f"{kind}_mean"].to_numpy(float), np.nan_to_num(curve[f"{kind}_std"].to_numpy(float))
        ax.plot(curve["n_train"], mean, "o-", color=colour, label="held-out folds" if kind == "test" else "training rows")
        ax.fill_between(curve["n_train"], mean - std, mean + std, color=colour, alpha=0.2)
    metric = curve.attrs.get("metric", "score")
    ax.set(xscale="log", xlabel="training rows", ylabel=metric, title=f"learning curve: {curve.attrs.get('model', '')} ({curve.attrs.get('folds', '?')}-fold grouped CV)")
    ax.legend(fontsize=8)
    return fig


def domain_check(run, table: pd.DataFrame | None = None, oof: pd.DataFrame | None = None, *, max_rows: int | None = 5000, seed: int = 0, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """How often rows fall outside the domain of the *other* outer folds, and how much worse they are predicted.

    For each outer fold a `DomainGuard` (the one `matforge predict` uses for ``in_domain``) is fitted on the
    other folds' features and flags the held-out rows. Returns one row per group (``in domain`` / ``out of
    domain``): ``rows``, ``fraction`` and the out-of-fold error there (MAE for regression, error rate for
    classification) — flagged rows should be predicted worse, which is what makes the flag worth heeding.
    With more than `max_rows` rows a seeded subsample is checked (the neighbour search grows as rows²).
    `features`: the featurizer output for `table` (same index), as for `learning_curve`.
    """
    from matforge.learn import DomainGuard

    predictor = run.predictor
    if predictor.domain is None or not predictor.domain_columns:
        raise ValueError("this model has no domain guard (no numeric features)")
    table = pd.read_parquet(run.path / "model" / "train_data.parquet") if table is None else table
    oof = run.oof() if oof is None else oof
    if max_rows is not None and len(table) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(table), max_rows, replace=False))
        table, oof = table.iloc[keep], oof.iloc[keep]
    X = (predictor.featurizer.transform(table) if features is None else features.loc[table.index])[predictor.domain_columns].to_numpy(dtype=float)
    folds = oof["fold"].to_numpy()
    inside = np.ones(len(X), bool)
    for fold in np.unique(folds):
        held = folds == fold
        guard = DomainGuard(n_neighbors=predictor.domain.n_neighbors, quantile=predictor.domain.quantile).fit(X[~held])
        inside[held] = guard.predict(X[held])
    if run.card["task"] == "regression":
        error = np.abs(oof["y_true"].to_numpy(float) - oof["y_pred"].to_numpy(float))
        measure = "MAE"
    else:
        error = (oof["y_true"].astype(str).to_numpy() != oof["y_pred"].astype(str).to_numpy()).astype(float)
        measure = "error rate"
    rows = []
    for name, mask in (("in domain", inside), ("out of domain", ~inside)):
        rows.append({"group": name, "rows": int(mask.sum()), "fraction": float(mask.mean()), measure: float(error[mask].mean()) if mask.any() else float("nan")})
    return pd.DataFrame(rows)
