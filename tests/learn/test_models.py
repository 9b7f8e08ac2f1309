"""One common test over the whole model registry: a model is tested the moment it is registered."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

from matforge.features._table import TableFeaturizer
from matforge.learn import build_pipeline
from matforge.learn._run import TRUSTED_PREFIXES
from matforge.models import MODELS

CASES = [(name, task) for name, spec in MODELS.items() for task in spec.tasks]


def _fast(pipeline):
    """Shrink training schedules of the deep models so the common test stays quick."""
    params = pipeline.get_params()
    fast = {k: 8 for k in params if k.endswith("max_epochs")}
    fast.update({k: 32 for k in params if k.endswith("__width")})
    return pipeline.set_params(**fast)


@pytest.fixture(scope="module")
def features(regression_table, classification_table):
    out = {}
    for task, table, target in [("regression", regression_table, "hardness"), ("classification", classification_table, "kind")]:
        numeric = ["anneal_T_K"] if "anneal_T_K" in table else []
        featurizer = TableFeaturizer(["formula"], numeric, [], presets=("magpie", "fractions")).fit(table)
        out[task] = (featurizer, featurizer.transform(table), table[target].to_numpy())
    return out


@pytest.mark.parametrize("name,task", CASES)
def test_every_model_fits_predicts_clones_and_round_trips_through_skops(name, task, features, tmp_path):
    spec = MODELS[name]
    if not spec.available():
        pytest.skip(f"{name} needs the [{spec.extra}] extra")
    featurizer, F, y = features[task]
    columns = spec.columns(featurizer.feature_sets_)
    pipeline = _fast(build_pipeline(spec, task, spec.defaults, columns=columns, categorical=[], seed=0))
    train, test = np.arange(0, 120), np.arange(120, len(y))
    pipeline.fit(F.iloc[train], y[train])
    pred = pipeline.predict(F.iloc[test])
    assert len(pred) == len(test)
    if task == "regression":
        assert np.isfinite(pred).all()
    else:
        proba = pipeline.predict_proba(F.iloc[test])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        assert set(pred) <= set(y)
    twin = clone(pipeline)
    assert twin.get_params().keys() == pipeline.get_params().keys()
    path = tmp_path / "model.skops"
    sio.dump(pipeline, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith(TRUSTED_PREFIXES) for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    again = loaded.predict(F.iloc[test])
    if task == "regression":
        np.testing.assert_allclose(again, pred, rtol=1e-5)
    else:
        assert list(again) == list(pred)


def test_every_model_has_a_citation_and_a_search_space():
    import optuna

    for spec in MODELS.values():
        assert len(spec.citation) > 20, spec.name
        for task in spec.tasks:
            trial = optuna.trial.FixedTrial(dict(spec.defaults))
            regression_only = set() if spec.regression_space is None else set(spec.regression_space(trial))
            expected = set(spec.defaults) - (regression_only if task == "classification" else set())
            assert set(spec.sample(trial, task)) == expected, (spec.name, task)


def test_a_cheaper_default_cuts_trees_or_rounds_in_proportion_within_its_bounds():
    from matforge.models._registry import BOOST_RATE, BOOST_ROUNDS, FOREST_TREES

    forest, boosted = MODELS["extra_trees"], MODELS["lightgbm"]
    half, share = forest.cheaper(forest.defaults, 0.5)
    assert half["n_estimators"] == forest.defaults["n_estimators"] // 2 and share == 0.5
    # no fewer trees than the search tries: the cut configuration is one the search could have proposed, and the
    # share it is expected to take says so
    fewest, share = forest.cheaper(forest.defaults, 0.01)
    assert fewest["n_estimators"] == FOREST_TREES[0] and share == FOREST_TREES[0] / forest.defaults["n_estimators"]
    assert forest.cheaper(forest.defaults, 3.0) == (forest.defaults, 1.0)  # never dearer than the default
    half, share = boosted.cheaper(boosted.defaults, 0.5)
    assert half["n_estimators"] == boosted.defaults["n_estimators"] // 2 and share == 0.5
    # fewer rounds take larger steps: rounds x rate as before
    assert half["n_estimators"] * half["learning_rate"] == pytest.approx(boosted.defaults["n_estimators"] * boosted.defaults["learning_rate"])
    tiny, _ = boosted.cheaper(boosted.defaults, 0.01)
    assert tiny["n_estimators"] == BOOST_ROUNDS[0] and tiny["learning_rate"] == BOOST_RATE[1]
    # the other parameters stay, and every cheaper configuration is one the model can build
    assert {k: v for k, v in tiny.items() if k not in ("n_estimators", "learning_rate")} == {k: v for k, v in boosted.defaults.items() if k not in ("n_estimators", "learning_rate")}
    for spec in MODELS.values():
        if spec.cheaper is not None and spec.available():
            for task in spec.tasks:
                spec.build(task, spec.cheaper(spec.defaults, 0.1)[0])


def test_table_features_are_one_block_and_infinite_process_values_count_as_missing():
    import pandas as pd

    from matforge.features._table import TableFeaturizer

    table = pd.DataFrame({"formula": ["Fe2O3", "NiO", "Al2O3"], "T": [300.0, float("inf"), 500.0], "gas": ["Ar", "N2", None]})
    featurizer = TableFeaturizer(["formula"], ["T"], ["gas"]).fit(table)
    F = featurizer.transform(table)
    assert list(F.columns) == list(featurizer.get_feature_names_out())
    assert np.isnan(F.loc[1, "T"]) and F.loc[0, "T"] == 300.0 and F.loc[2, "gas"] == "missing"
    numeric = featurizer.transform(table[["formula", "T"]].assign(gas="Ar")).drop(columns="gas")
    assert not np.isinf(numeric.to_numpy(dtype=float)).any()
    plain = TableFeaturizer(["formula"], ["T"]).fit(table)
    values = plain.transform(table)
    assert values._mgr.nblocks == 1  # read back by the models without a copy


def test_models_on_element_fractions_are_left_out_of_tables_without_compositions():
    from matforge.errors import InputError
    from matforge.models import MODELS, resolve_models

    assert "extra_trees_fractions" in resolve_models(None, "regression", 300)
    names = resolve_models(None, "regression", 300, compositions=False)
    assert names and not any(MODELS[n].uses_fractions for n in names)
    assert not any(MODELS[n].uses_fractions for n in resolve_models("all", "regression", 300, compositions=False))
    with pytest.raises(InputError, match="reads element fractions"):
        resolve_models("lightgbm,extra_trees_fractions", "regression", 300, compositions=False)


def test_median_imputer_gives_scikit_learns_median_imputation():
    """`MedianImputer` is SimpleImputer(strategy="median", keep_empty_features=True) at nanmedian's speed: the same
    medians (odd and even row counts, ties), 0 for a column with no value, a fresh array from every transform."""
    import pandas as pd
    from sklearn.impute import SimpleImputer

    from matforge.learn._pipeline import MedianImputer

    rng = np.random.default_rng(0)
    for rows in (7, 8, 500):
        X = rng.normal(size=(rows, 6)).round(1)  # rounded: ties among the middle values
        X[rng.random(X.shape) < 0.3] = np.nan
        X[:, 4] = np.nan
        new = np.where(rng.random((9, 6)) < 0.4, np.nan, rng.normal(size=(9, 6)))
        ours, theirs = MedianImputer().fit(X), SimpleImputer(strategy="median", keep_empty_features=True).fit(X)
        assert np.array_equal(ours.statistics_, theirs.statistics_)
        assert np.array_equal(ours.transform(new), theirs.transform(new))
        assert np.array_equal(ours.transform(pd.DataFrame(new)), theirs.transform(new))
    full = rng.normal(size=(5, 3))
    assert ours.fit(full).transform(full) is not full and np.array_equal(ours.transform(full), full)
    infinite = full.copy()
    infinite[2, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ours.transform(infinite)
    with pytest.raises(ValueError, match="expecting 3 features"):
        ours.transform(np.zeros((2, 4)))
    named = pd.DataFrame(full, columns=["a", "b", "c"])
    assert MedianImputer().fit(named).get_feature_names_out().tolist() == ["a", "b", "c"]
    # a nullable integer column's missing values are missing values, as for scikit-learn
    nullable = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [1.0, np.nan, 2.0]})
    assert np.array_equal(MedianImputer().fit_transform(nullable), SimpleImputer(strategy="median").fit_transform(nullable))
