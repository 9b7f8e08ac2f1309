"""The sections of report.html. Each returns HTML; a figure that cannot be drawn becomes a note in its
section instead of breaking the report (and so never breaks training, which renders the report last)."""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matforge.report._style import figure_to_base64

__all__ = ["ReportContext", "SECTIONS"]

# rows used by the explanations (seeded subsamples), to keep a 5000-row report within ~20 s on 2 cores
EXPLAIN_ROWS = {"screen": 100, "permutation": 300, "shap": 200, "partial_dependence": 150, "sensitivity": 200}
# permutation importance is measured (3 shuffles) for the features a one-shuffle screen ranks first
IMPORTANCE_FEATURES = 25
# the sensitivity matrix of the page covers the most important numeric features (CSV: all, via explain)
SENSITIVITY_FEATURES = 20


@dataclass
class ReportContext:
    """What the sections read: the run folder's tables, its loaded model (None when it could not be
    loaded) and its training table (None for runs written before it was stored)."""

    path: object
    metrics: dict
    card: dict
    board: pd.DataFrame
    oof: pd.DataFrame
    run: object | None
    table: pd.DataFrame | None
    seed: int = 0
    timings: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.metrics["task"]

    @property
    def target(self) -> str:
        return self.metrics["target"]


def esc(value) -> str:
    return html.escape(str(value))


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def figure(title: str, draw: Callable[[], object], caption: str = "") -> str:
    """An inline PNG of ``draw()``'s figure with a caption, or a note saying why it is missing."""
    try:
        fig = draw()
    except Exception as err:  # an optional figure failing must not take the report down
        return f'<figure class="missing">{note(f"{title}: not available ({type(err).__name__}: {err})")}</figure>'
    cap = f"<figcaption><b>{esc(title)}.</b> {caption}</figcaption>"
    return f'<figure><img alt="{esc(title)}" src="data:image/png;base64,{figure_to_base64(fig)}"/>{cap}</figure>'


def table_html(frame: pd.DataFrame, digits: int = 4) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.{digits}g}", border=0, classes="data")


def _cached(ctx: ReportContext, key: str, compute: Callable[[], object]):
    """Compute once per render, remember failures (so one section's note and another's figure agree)."""
    if key not in ctx.cache:
        try:
            ctx.cache[key] = compute()
        except Exception as err:
            ctx.cache[key] = err
    value = ctx.cache[key]
    if isinstance(value, Exception):
        raise value
    return value


def _y(ctx: ReportContext) -> pd.Series:
    return ctx.table[ctx.target] if ctx.table is not None else ctx.oof["y_true"]


# ---------------------------------------------------------------------------------------------------- data
def data_section(ctx: ReportContext) -> str:
    from matforge.report._periodic import element_counts, periodic_table_figure
    from matforge.report._plots import target_figure

    d = ctx.card.get("data", {})
    notes = d.get("notes") or []
    facts = [
        ("source", d.get("source") or "table given in Python"), ("rows used for training", ctx.metrics["n_samples"]),
        ("distinct compositions or polymers (CV groups)", d.get("n_groups", "?")), ("duplicate rows merged", d.get("duplicates_merged", 0)),
        ("formula columns", ", ".join(d.get("formula_cols", [])) or "none"), ("structure columns", ", ".join(d.get("structure_cols", [])) or "none"), *([("SMILES columns", ", ".join(d["smiles_cols"]))] if d.get("smiles_cols") else []), ("process columns", ", ".join(d.get("numeric_cols", []) + d.get("categorical_cols", [])) or "none"),
        ("columns ignored", ", ".join(d.get("dropped_cols", [])) or "none"),
    ]  # fmt: skip
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    remarks = "".join(f"<li>{esc(n)}</li>" for n in notes) or "<li>no rows rejected, nothing merged</li>"
    parts = [f'<table class="facts">{rows}</table><p>Rows rejected or changed, and why:</p><ul>{remarks}</ul>']
    parts.append(figure("Target distribution", lambda: target_figure(_y(ctx), ctx.target, ctx.task), "of the rows used for training (after merging duplicates)."))
    from matforge.data._structures import input_formulas

    inputs = ctx.card.get("inputs", {})
    formula_cols = inputs.get("formula_cols", []) + inputs.get("structure_cols", [])
    if formula_cols and ctx.table is not None:
        formulas = pd.Series(np.concatenate(input_formulas(ctx.table, inputs.get("formula_cols", []), inputs.get("structure_cols", []))))
        parts.append(figure("Element frequency", lambda: periodic_table_figure(element_counts(formulas), n_rows=len(formulas)), "Number of rows in which each element occurs (colour: share of rows, log scale). Predictions for compositions with elements that are rare or grey here rest on little data."))
    elif formula_cols:
        parts.append(note("element frequency: this run folder has no model/train_data.parquet (written since matforge 0.1); re-train to get it"))
    return "".join(parts)


# ------------------------------------------------------------------------------------------ model selection
def _inner(protocol: dict) -> str:
    """The inner CV in words: k-fold, or a holdout where only some of its folds were scored (`AutoModel._scored_folds`)."""
    folds, scored = protocol.get("inner_folds", "?"), protocol.get("inner_scored_folds")
    if scored is not None and folds != "?" and int(scored) < int(folds):
        return f"a holdout: {int(scored)} of {int(folds)} inner folds fitted and scored"
    return f"inner {folds}-fold CV"


def _repeated(protocol: dict) -> str:
    """How the inner CV was repeated, or why not where the budget could not pay for it (`AutoModel._plan`)."""
    repeats = protocol.get("inner_repeats", 1)
    if repeats and int(repeats) > 1:
        return f", repeated {int(repeats)} times on reshuffled folds"
    plan = protocol.get("repeat_plan")
    if plan and int(plan.get("inner_repeats", 1)) == 1 and int(plan.get("repeats_wanted", 1)) > 1:
        return f"; run once, not repeated on reshuffled folds as on other tables this small: the budget's {plan['stage_seconds']:.0f} s a stage could not pay for it"
    return ""


def _cut(protocol: dict) -> str:
    from matforge.learn import cut_defaults

    cut = cut_defaults(protocol)
    return f" The budget could not pay for a default configuration in every stage, so it was cut before the search ({esc(cut)}); a larger --budget fits it whole." if cut else ""


def _unreached(names: list[str], board) -> str:
    if not names:
        return ""
    return f" {len(names)} of the {len(board)} algorithms were never reached within the budget ({esc(', '.join(names))}): a larger --budget tries them."


def selection_section(ctx: ReportContext) -> str:
    from matforge.learn import unreached_models
    from matforge.learn._pipeline import selection_metric
    from matforge.report._plots import leaderboard_figure

    metric = selection_metric(ctx.task)[0]
    shown = ctx.board.copy()
    unreached = unreached_models(shown)
    text = (
        f"<p>{len(shown) - len(unreached)} algorithms were tuned (Optuna, {_inner(ctx.metrics['protocol'])}{_repeated(ctx.metrics['protocol'])}) and scored on "
        f"the outer folds of {esc(ctx.metrics['protocol']['name'])} cross-validation; the final model is <b>{esc(ctx.metrics['best_model'])}</b>, "
        f"refitted on all rows. Scores below are out-of-fold, so they estimate accuracy on new compositions.{_unreached(unreached, shown)}{_cut(ctx.metrics['protocol'])}</p>"
    )  # fmt: skip
    return text + figure("Leaderboard", lambda: leaderboard_figure(ctx.board, metric), f"Outer-fold mean ± std of {metric}; fit time of one training per fold.") + table_html(shown)


# ------------------------------------------------------------------------------------------------ accuracy
def accuracy_section(ctx: ReportContext) -> str:
    from matforge.report import _plots as plots
    from matforge.report._learning import learning_curve, learning_curve_figure

    scores = "".join(f"<tr><th>{esc(m)}</th><td>{v['mean']:.4g} ± {v['std']:.2g}</td></tr>" for m, v in ctx.metrics["cv"].items())
    parts = [f'<table class="facts">{scores}</table>']
    if ctx.task == "regression":
        parts.append('<div class="row">' + figure("Parity", lambda: plots.parity_figure(ctx.oof, ctx.target), "Every row predicted by a model that never saw it (nested CV).") + figure("Residuals", lambda: plots.residual_figure(ctx.oof, ctx.target)) + "</div>")
    else:
        parts.append(figure("Confusion matrix", lambda: plots.confusion_figure(ctx.oof), "Out-of-fold counts; in brackets the share of each true class."))
        parts.append('<div class="row">' + figure("ROC", lambda: plots.roc_figure(ctx.oof)) + figure("Precision-recall", lambda: plots.precision_recall_figure(ctx.oof)) + "</div>")
    if ctx.run is None or ctx.table is None:
        parts.append(note("learning curve: needs the saved model and model/train_data.parquet"))
    else:
        parts.append(figure(
            "Learning curve", lambda: learning_curve_figure(_cached(ctx, "learning", lambda: learning_curve(ctx.run, ctx.table, seed=ctx.seed, n_jobs=min(4, os.cpu_count() or 1), features=_features(ctx)[0]))),
            "Would more experiments help? The best algorithm, refitted on growing random subsets of the training folds (tuned settings kept), scored on held-out compositions. A curve still improving at the right end means more data should pay off; a flat curve means better features or cleaner data are needed instead.",
        ))  # fmt: skip
    return "".join(parts)


# ------------------------------------------------------------------------------------------- explanations
def _features(ctx: ReportContext) -> tuple[pd.DataFrame, np.ndarray]:
    def compute():
        F = ctx.run.predictor.featurizer.transform(ctx.table)
        y = ctx.table[ctx.target].to_numpy()
        return F, (y.astype(float) if ctx.task == "regression" else y.astype(str))

    return _cached(ctx, "features", compute)


def explanation_section(ctx: ReportContext) -> str:
    from matforge import explain
    from matforge.explain._inputs import numeric_columns
    from matforge.report import _explain_plots as plots

    if ctx.run is None or ctx.table is None:
        return note("explanations need the saved model and model/train_data.parquet; re-train, or run 'matforge explain RUN_DIR DATA'")
    predictor, rows = ctx.run.predictor, EXPLAIN_ROWS

    def importance():
        # screen every feature with one shuffle of a few rows, then measure the leading ones properly:
        # a third of the cost of shuffling all 100+ descriptors three times
        F, y = _features(ctx)
        screen = explain.permutation_importance(predictor, F, y, n_repeats=1, max_rows=rows["screen"], seed=ctx.seed)
        leading = list(screen["feature"][:IMPORTANCE_FEATURES])
        return explain.permutation_importance(predictor, F, y, features=leading, n_repeats=3, max_rows=rows["permutation"], seed=ctx.seed)

    parts = [f"<p>Explanations of the final model on seeded random subsamples of the training rows (at most {rows['permutation']} rows for importance, {rows['shap']} for SHAP, {rows['sensitivity']} for the sensitivity matrix, {rows['partial_dependence']} for partial dependence) to keep this page fast; <code>matforge explain</code> computes them on any table. They describe what the model has learned, which is a correlation in the data, not necessarily a physical cause.</p>"]
    parts.append(figure("Permutation importance", lambda: plots.importance_figure(_cached(ctx, "importance", importance)), f"How much worse the model predicts the training rows when one feature's values are shuffled (3 shuffles of {rows['permutation']} rows, for the {IMPORTANCE_FEATURES} features that a one-shuffle screen of {rows['screen']} rows ranked first). Correlated descriptors share their importance."))
    names = ctx.card.get("final_members")
    if explain.tree_member(predictor, names) is None:
        parts.append(note("SHAP summary: the final model has no tree-ensemble member SHAP can explain exactly here (lightgbm, or random_forest/extra_trees with pip install 'matforge[explain]'); a forest that predicts the median of its leaves' targets (leaf_statistic median) or a zero-inflated target's gate + regressor has no single additive SHAP decomposition"))
    else:
        parts.append(figure("SHAP summary", lambda: plots.shap_summary_figure(explain.shap_values(predictor, _features(ctx)[0], member_names=names, max_rows=rows["shap"], seed=ctx.seed)), "TreeSHAP contributions of each feature to each prediction of the best tree-ensemble member (Lundberg et al. 2020; exact for LightGBM, Saabas path attributions for scikit-learn forests); red dots: high feature values."))

    def dependence():
        F, _ = _features(ctx)
        numeric = set(numeric_columns(predictor, F))
        ranked = [f for f in _cached(ctx, "importance", importance)["feature"] if f in numeric][:3]
        curves = [explain.partial_dependence(predictor, F, f, max_rows=rows["partial_dependence"], seed=ctx.seed) for f in ranked]
        return plots.partial_dependence_figure(curves, {f: F[f].to_numpy(float) for f in ranked})

    parts.append(figure("Partial dependence", dependence, "Average prediction when one of the three most important numeric features is swept over its 5–95 % range, the others kept as measured."))

    def sensitivity():
        F, _ = _features(ctx)
        numeric = numeric_columns(predictor, F)
        wanted = set(numeric)
        try:  # the matrix shows the features that matter; computing it for all 100+ descriptors costs seconds
            ranked = [f for f in _cached(ctx, "importance", importance)["feature"] if f in wanted][:SENSITIVITY_FEATURES]
        except Exception:
            ranked = numeric
        return explain.sensitivity_matrix(predictor, F, features=ranked, max_rows=rows["sensitivity"], seed=ctx.seed)

    what = "each class probability" if ctx.task == "classification" else "the prediction"
    parts.append(figure("Sensitivity matrix", lambda: plots.sensitivity_figure(_cached(ctx, "sensitivity", sensitivity)), f"Average change of {what} when a feature increases by one standard deviation, for the {SENSITIVITY_FEATURES} most important numeric features (finite differences, Zhou et al., npj Comput. Mater. 5, 128 (2019)). <code>matforge explain</code> writes it per feature unit as CSV."))
    return "".join(parts)


# -------------------------------------------------------------------------------------------- uncertainty
def uncertainty_section(ctx: ReportContext) -> str:
    from matforge.report._calibration import (
        calibration_figure,
        coverage_curve,
        miscalibration_area,
        reliability_figure,
    )
    from matforge.report._learning import domain_check

    parts = []
    if ctx.task == "regression" and "y_std" in ctx.oof:
        unc = ctx.metrics.get("uncertainty", {})
        try:
            curve = coverage_curve(ctx.oof)
            at90 = float(curve.loc[np.isclose(curve["nominal"], 0.9), "conformal"].iloc[0])
            scale = f", each row's scaled by the {esc(unc['scale'])}" if unc.get("scale") else ""
            parts.append(f"<p>Intervals: {esc(unc.get('method', 'conformal'))}{scale}. Measured on out-of-fold rows with quantiles from the other folds, the 90 % intervals cover <b>{at90:.1%}</b> of the targets (miscalibration area {miscalibration_area(curve):.3f}; 0 is ideal).</p>")
        except Exception as err:
            curve = err
        parts.append(figure("Interval calibration", lambda: calibration_figure(curve if not isinstance(curve, Exception) else coverage_curve(ctx.oof)), "Observed share of targets inside the predicted intervals vs the nominal level. Below the diagonal: intervals too narrow."))
    elif ctx.task == "classification":
        parts.append(figure("Probability calibration", lambda: reliability_figure(ctx.oof), "Out-of-fold probabilities (before the final Platt/temperature calibration, which `matforge predict` applies)."))
    if ctx.run is not None and ctx.table is not None:
        try:
            check = domain_check(ctx.run, ctx.table, ctx.oof, features=_features(ctx)[0])
            out = check.loc[check["group"] == "out of domain"].iloc[0]
            parts.append(f"<p>Domain of applicability: when each outer fold is checked against the others, <b>{out['fraction']:.1%}</b> of the rows are flagged out of domain (what <code>in_domain = False</code> in <code>matforge predict</code> means). How well each group is predicted:</p>" + table_html(check))
        except Exception as err:
            parts.append(note(f"domain check: not available ({type(err).__name__}: {err})"))
    return "".join(parts) or note("no uncertainty estimates in this run")


# --------------------------------------------------------------------------------------------- provenance
def members_text(card: dict) -> str:
    """The final ensemble in words: each model with its weight (times picked) and, when ensemble selection
    averaged several of its configurations, how many (the parameters are in the card's final_configurations),
    and over how many seeds its fits were averaged where the time left paid for more than one."""
    configurations = card.get("final_configurations")
    if not configurations:  # runs saved before configurations were recorded
        return ", ".join(card.get("final_members", []))
    by_model: dict[str, list[dict]] = {}
    for c in configurations:
        by_model.setdefault(c["model"], []).append(c)
    parts = []
    for model, entries in by_model.items():
        text = f"{model} ×{sum(c['weight'] for c in entries)}" + (f" ({len(entries)} configurations)" if len(entries) > 1 else "")
        most = max(entries, key=lambda c: c.get("seeds", 1))
        if most.get("seeds", 1) > 1:
            cut = most.get("last_seed_share")
            text += f" (averaged over {most['seeds']} seeds" + (f", the last cut to {cut:.0%} of its work to fit the time left" if cut else "") + ")"
        parts.append(text)
    return ", ".join(parts)


def provenance_section(ctx: ReportContext) -> str:
    card = ctx.card
    facts = [
        ("target", card.get("target")), ("task", card.get("task")), ("final model", card.get("best_model")),
        ("ensemble members", members_text(card)), ("feature preset", card.get("feature_preset") or "none (no formula or structure column)"),
        ("number of features", len(card.get("features", []))), ("training data sha256", card.get("data", {}).get("sha256")),
        ("seed", card.get("seed")), ("command", card.get("command") or "Python API"),
        ("versions", ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items())),
    ]  # fmt: skip
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    cites = "".join(f"<li>{esc(c)}</li>" for c in card.get("citations", []))
    features = esc(", ".join(card.get("features", [])))
    return f'<table class="facts">{rows}</table><details><summary>features ({len(card.get("features", []))})</summary><p class="small">{features}</p></details><h3>Please cite</h3><ul>{cites}</ul><details><summary>model card (card.json)</summary><pre>{esc(json.dumps(card, indent=1, default=str)[:20000])}</pre></details>'


SECTIONS = (
    ("data", "Data", data_section),
    ("model-selection", "Model selection", selection_section),
    ("accuracy", "Accuracy", accuracy_section),
    ("explanations", "Explanations", explanation_section),
    ("uncertainty", "Uncertainty", uncertainty_section),
    ("provenance", "Provenance", provenance_section),
)


def render_section(ctx: ReportContext, key: str, build: Callable[[ReportContext], str]) -> str:
    start = time.perf_counter()
    try:
        body = build(ctx)
    except Exception as err:  # a whole section failing still leaves the rest of the report
        body = note(f"this section could not be built ({type(err).__name__}: {err})")
    ctx.timings[key] = time.perf_counter() - start
    return body
