import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from matforge.data import composition_keys
from matforge.errors import InputError
from matforge.learn import PROTOCOLS, chemical_systems, loco_clusters, make_splits, protocol_groups

# four chemically distinct families, each with stoichiometry variations (known clusters)
FAMILIES = {"stainless": ("Fe", "Ni", "Cr"), "cathode": ("Li", "Co", "O"), "halide": ("Cs", "Pb", "Br"), "iii_v": ("Ga", "In", "As")}
CENTRES = {"stainless": (7, 1, 2), "cathode": (1, 1, 2), "halide": (1, 1, 3), "iii_v": (0.5, 0.5, 1)}


@pytest.fixture(autouse=True)
def one_thread_per_worker():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def families() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for offset, (name, elements) in enumerate(FAMILIES.items()):
        for _ in range(25):
            amounts = np.asarray(CENTRES[name]) * rng.uniform(0.85, 1.15, 3)
            rows.append({"formula": "".join(f"{e}{a:.3f}" for e, a in zip(elements, amounts, strict=True)), "family": name, "y": offset + rng.normal(0, 0.1)})
    frame = pd.DataFrame(rows)
    # the same compositions again, written with doubled amounts: a group must stay on one side
    doubled = frame.iloc[::5].copy()
    doubled["formula"] = ["".join(f"{e}{2 * float(a):.3f}" for e, a in _pairs(f)) for f in doubled["formula"]]
    return pd.concat([frame, doubled], ignore_index=True).sample(frac=1.0, random_state=0).reset_index(drop=True)


def _pairs(formula: str):
    import re

    return re.findall(r"([A-Z][a-z]?)([\d.]+)", formula)


def _assert_kept_together(splits, labels):
    labels = np.asarray(labels)
    seen = np.zeros(len(labels), dtype=int)
    for train, test in splits:
        assert not set(labels[train]) & set(labels[test])
        seen[test] += 1
    assert np.all(seen == 1)  # every row is tested exactly once


def test_loco_clusters_are_the_chemical_families(families):
    clusters = loco_clusters(formulas=families["formula"], n_clusters=4, seed=0)
    assert adjusted_rand_score(families["family"], clusters) == 1.0


def test_loco_never_puts_a_cluster_on_both_sides(families):
    keys = composition_keys(families["formula"].to_numpy(dtype=object))
    splits = make_splits("regression", families["y"], keys, 4, seed=0, protocol="loco")
    clusters = protocol_groups("loco", keys, folds=4, seed=0)
    assert len(splits) == 4
    _assert_kept_together(splits, clusters)
    _assert_kept_together(splits, keys)  # a composition (Fe7Ni1Cr2 and Fe14Ni2Cr4) stays in one cluster
    for _, test in splits:
        assert families["family"].iloc[test].nunique() == 1  # each held-out fold is one whole family


def test_loco_on_explicit_features_keeps_groups_whole():
    rng = np.random.default_rng(1)
    features = np.r_[rng.normal(0, 1, (40, 3)), rng.normal(6, 1, (40, 3)), rng.normal(-6, 1, (40, 3))]
    groups = np.repeat(np.arange(60), 2)  # pairs of rows share a group, even across the blobs' edges
    splits = make_splits("regression", np.zeros(120), groups, 3, seed=0, protocol="loco", features=features)
    _assert_kept_together(splits, groups)
    assert sorted(len(test) for _, test in splits) == [40, 40, 40]


def test_loco_classification_holds_out_clusters(families):
    splits = make_splits("classification", families["family"], None, 4, seed=0, protocol="loco", formulas=families["formula"])
    for train, test in splits:
        assert not set(families["family"].iloc[train]) & set(families["family"].iloc[test])


def test_chemsys_keeps_a_chemical_system_together():
    formulas = ["FeNi2Cr", "Fe3NiCr", "CrFeNi", "Fe2O3", "FeO", "Fe3O4", "NaCl", "Na2Cl2", "LiCoO2", "Li2CoO3", "Fe", "Fe0.9C0.1", "Fe0.8C0.2", "SrTiO3", "BaTiO3"]
    systems = chemical_systems(formulas)
    assert systems[0] == systems[1] == systems[2] == "Cr-Fe-Ni"
    assert systems[3] == systems[5] == "Fe-O" and systems[10] == "Fe" and systems[11] == "C-Fe"
    splits = make_splits("regression", np.arange(15.0), None, 5, seed=0, protocol="chemsys", formulas=formulas)
    _assert_kept_together(splits, systems)


def test_chemsys_reads_systems_from_composition_groups(families):
    keys = composition_keys(families["formula"].to_numpy(dtype=object))
    labels = protocol_groups("chemsys", keys)
    assert set(labels) == {"Cr-Fe-Ni", "Co-Li-O", "Br-Cs-Pb", "As-Ga-In"}
    splits = make_splits("regression", families["y"], keys, 5, seed=0, protocol="chemsys")
    assert len(splits) == 4  # capped at the number of systems
    _assert_kept_together(splits, labels)


def test_group_and_kfold_protocols_are_unchanged():
    groups = np.repeat(np.arange(10), 3)
    _assert_kept_together(make_splits("regression", np.arange(30.0), groups, 5, seed=0, protocol="group"), groups)
    kfold = make_splits("regression", np.arange(30.0), groups, 5, seed=0, protocol="kfold")
    assert len(kfold) == 5 and sorted(np.concatenate([t for _, t in kfold]).tolist()) == list(range(30))
    straddles = any(set(groups[tr]) & set(groups[te]) for tr, te in kfold)
    assert straddles  # plain K-fold ignores groups: that is its optimism


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_text_groups_give_the_splits_scikit_learn_gives_them(task):
    """Groups are passed to the splitters as their ranks (scikit-learn's shuffled GroupKFold is quadratic in the
    rows on text groups); the splits are the ones the splitters give the text itself."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    rng = np.random.default_rng(0)
    groups = np.array([f"Fe{rng.integers(0, 60)}Ni" for _ in range(400)], dtype=object)
    y = rng.normal(size=400) if task == "regression" else (rng.random(400) < 0.4).astype(int)
    for seed in (0, 3):
        ours = make_splits(task, y, groups, 4, seed=seed)
        splitter = (GroupKFold if task == "regression" else StratifiedGroupKFold)(4, shuffle=True, random_state=seed)
        theirs = list(splitter.split(np.arange(400), y, groups))
        assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(ours, theirs, strict=True))


def test_stratified_group_splits_are_computed_once_per_content(monkeypatch):
    """The stratified grouped split (slow: a Python loop over the groups) is remembered by the content of
    (y, groups) and (folds, seed): a second call with equal arrays gets the same read-only splits without
    splitting again; another seed, other labels or other groups split anew."""
    from sklearn.model_selection import StratifiedGroupKFold

    from matforge.learn import _protocols

    calls = []
    original = StratifiedGroupKFold.split

    def counted(self, *args, **kwargs):
        calls.append(self.random_state)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StratifiedGroupKFold, "split", counted)
    monkeypatch.setattr(_protocols, "_STRATIFIED_GROUP_CACHE", {})
    rng = np.random.default_rng(1)
    groups = np.array([f"Co{rng.integers(0, 50)}O" for _ in range(300)], dtype=object)
    y = (rng.random(300) < 0.3).astype(int)
    first = make_splits("classification", y, groups, 3, seed=0)
    again = make_splits("classification", y.copy(), groups.copy(), 3, seed=0)
    assert calls == [0]
    assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(first, again, strict=True))
    assert not first[0][0].flags.writeable and not first[0][1].flags.writeable
    make_splits("classification", y, groups, 3, seed=1)
    make_splits("classification", 1 - y, groups, 3, seed=0)
    make_splits("classification", y, np.roll(groups, 1), 3, seed=0)
    assert calls == [0, 1, 0, 0]
    for seed in range(2, 2 + _protocols.STRATIFIED_GROUP_CACHE_SIZE + 4):
        make_splits("classification", y, groups, 3, seed=seed)
    assert len(_protocols._STRATIFIED_GROUP_CACHE) == _protocols.STRATIFIED_GROUP_CACHE_SIZE


def test_protocol_errors_are_input_errors():
    with pytest.raises(InputError, match="unknown CV protocol"):
        make_splits("regression", np.arange(10.0), None, 5, seed=0, protocol="random")
    with pytest.raises(InputError, match="not formulas"):
        make_splits("regression", np.arange(12.0), np.repeat(["batch1", "batch2", "batch3"], 4), 3, seed=0, protocol="loco")


def test_training_with_loco_names_the_protocol_and_folds_are_clusters(tmp_path, families):
    from matforge.learn import train

    frame = families[["formula", "y"]]
    out = train(frame, "y", tmp_path / "run", models="ridge", cv=4, budget=4.0, ensemble=1, protocol="loco", seed=0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["name"] == "nested-" + PROTOCOLS["loco"] == "nested-loco-kmeans"
    assert metrics["protocol"]["folds"] == 4
    oof = pd.read_csv(out / "oof_predictions.csv")
    family = families["family"].to_numpy()[oof["row"].to_numpy()]
    assert adjusted_rand_score(family, oof["fold"]) == 1.0
