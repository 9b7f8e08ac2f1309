"""Screening: chunked results equal one-shot results, ranking by each objective, bounded top lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matforge.design import (
    DesignSpace,
    Objective,
    merge_summary,
    merge_top,
    screen,
    screen_chunk,
    summarize_chunk,
)
from matforge.errors import InputError
from tests.conftest import fcc_cell


def test_screen_finds_known_optimum_of_surrogate(surrogate, fe_ni_cr_space):
    result = screen(surrogate, fe_ni_cr_space, objective="max", top=5, chunk_size=97)
    best = result.top.iloc[0]
    assert best["formula"] == "Fe0.6Ni0.1Cr0.3" and best["T"] == 500
    assert result.summary["candidates"] == DesignSpace(fe_ni_cr_space).size
    assert list(result.top["score"]) == sorted(result.top["score"], reverse=True)


def test_chunked_screen_is_identical_to_one_chunk(surrogate, fe_ni_cr_space):
    whole = screen(surrogate, fe_ni_cr_space, top=50, chunk_size=10**6)
    pieces = screen(surrogate, fe_ni_cr_space, top=50, chunk_size=13)
    pd.testing.assert_frame_equal(whole.top, pieces.top)
    assert whole.summary == pieces.summary


def test_merge_top_is_order_independent(surrogate, fe_ni_cr_space):
    space = DesignSpace(fe_ni_cr_space)
    parts = [screen_chunk(surrogate, space.candidates(a, b), "target:5") for a, b in space.chunks(50)]
    forward, backward = None, None
    for part in parts:
        forward = merge_top(forward, part, 20)
    for part in reversed(parts):
        backward = merge_top(part, backward, 20)
    pd.testing.assert_frame_equal(forward, backward)
    assert np.all(np.diff(forward["score"]) <= 0)
    # equal scores: in domain first, then the smaller uncertainty, then the smaller candidate index
    keys = list(zip(-forward["score"], ~forward["in_domain"], forward["uncertainty"], forward["candidate"], strict=True))
    assert keys == sorted(keys)


def test_equal_scores_put_the_candidates_the_model_vouches_for_first(surrogate, fe_ni_cr_space):
    # every candidate inside the range scores 0: the model cannot rank them, so the trusted ones lead
    result = screen(surrogate, fe_ni_cr_space, objective="range:-1000:1000", top=30, chunk_size=37)
    top = result.top
    assert (top["score"] == 0).all() and result.summary["tied_at_best"] == 30
    inside = top["in_domain"].to_numpy()
    everything = DesignSpace(fe_ni_cr_space)
    scored = screen_chunk(surrogate, everything.candidates(0, everything.size), "range:-1000:1000")
    trusted = scored.loc[scored["in_domain"]].sort_values(["uncertainty", "candidate"])
    assert inside.all() and top["uncertainty"].tolist() == trusted["uncertainty"].head(30).tolist()
    assert top["candidate"].tolist() == trusted["candidate"].head(30).tolist()
    assert top["uncertainty"].iloc[0] == pytest.approx(0.1)  # no nickel: the surest candidates
    assert screen(surrogate, fe_ni_cr_space, objective="max", top=5).summary["tied_at_best"] == 1


@pytest.mark.parametrize(("spec", "value", "expected"), [("max", 3.0, 3.0), ("min", 3.0, -3.0), ("target:2", 3.5, -1.5), ("range:1:4", 3.0, 0.0), ("range:1:4", 5.0, -1.0)])
def test_objective_scores(spec, value, expected):
    assert Objective.parse(spec).score_values(np.array([value]))[0] == pytest.approx(expected)


@pytest.mark.parametrize("spec", ["maximum", "target:", "range:3:1", "target:abc"])
def test_bad_objective_is_input_error(spec):
    with pytest.raises(InputError):
        Objective.parse(spec)


def test_kappa_trades_value_against_uncertainty(surrogate, fe_ni_cr_space):
    careful = screen(surrogate, fe_ni_cr_space, objective=Objective.parse("max", kappa=-5.0), top=1)
    assert careful.top.iloc[0]["formula"] != "Fe0.6Ni0.1Cr0.3"  # the Ni-rich optimum is too uncertain
    assert careful.top.iloc[0]["uncertainty"] < 0.6


def test_in_domain_only_drops_out_of_domain(surrogate):
    space = {"variables": [{"type": "composition", "elements": {"Fe": [0, 1], "Ni": [0, 0], "Cr": [0, 1]}, "step": 0.1}], "fixed": {"T": 500}}
    everything = screen(surrogate, space, objective="min", top=100)
    inside = screen(surrogate, space, objective="min", top=100, in_domain_only=True)
    assert (~everything.top["in_domain"]).any() and inside.top["in_domain"].all()
    assert everything.summary["in_domain"] == inside.summary["in_domain"] == len(inside.top)


def test_screen_candidate_table(surrogate, tmp_path):
    table = pd.DataFrame({"formula": ["Fe0.6Ni0.1Cr0.3", "Fe", "Fe0.5Cr0.5"], "T": [500, 500, 300]})
    path = tmp_path / "cands.csv"
    table.to_csv(path, index=False)
    result = screen(surrogate, candidates=path, top=2)
    assert list(result.top["candidate"]) == [0, 2]


def test_missing_model_column_is_named(surrogate):
    space = {"variables": [{"type": "composition", "elements": {"Fe": [0, 1], "Cr": [0, 1]}, "step": 0.5}]}
    with pytest.raises(InputError, match="'T'"):
        screen(surrogate, space)


def test_summary_counts_classes():
    scored = pd.DataFrame({"prediction": [1, 1, -1], "proba_1": [0.9, 0.8, 0.2], "in_domain": [True, False, True], "candidate": [0, 1, 2], "score": [0.9, 0.8, 0.2]})
    total = merge_summary(summarize_chunk(scored.iloc[:2], 2), summarize_chunk(scored.iloc[2:], 1))
    assert total["classes"] == {"-1": {"in_domain": 1, "out_of_domain": 0}, "1": {"in_domain": 1, "out_of_domain": 1}}
    assert total["grid_points"] == 3 and total["in_domain"] == 2 and total["unreadable"] == 0
    # a candidate the model could not read (a bad formula) is counted apart, not as a class 'None'
    unread = pd.DataFrame({"prediction": ["glass", None], "proba_1": [0.9, np.nan], "in_domain": [True, False], "candidate": [0, 1], "score": [0.9, -np.inf]})
    counts = summarize_chunk(unread, 2)
    assert counts["unreadable"] == 1 and counts["classes"] == {"glass": {"in_domain": 1, "out_of_domain": 0}}


def test_space_screen_with_parsed_formulas_equals_screening_the_same_rows_as_text(tiny_run, fe_ni_cr_space):
    # a space screen hands the model parsed compositions; a table screen parses the formula text
    space = DesignSpace(fe_ni_cr_space)
    from_space = screen(tiny_run, fe_ni_cr_space, top=40, chunk_size=101)
    table = space.candidates(0, space.size).drop(columns="candidate")
    from_text = screen(tiny_run, candidates=table, top=40, chunk_size=101)
    pd.testing.assert_frame_equal(from_space.top, from_text.top)
    assert from_space.summary == from_text.summary


class DensitySurrogate:
    """A model of one structure column named ``cif``: prediction = density (g/cm³), read from its features."""

    def __init__(self, featurizer):
        self.featurizer = featurizer

    def predict_table(self, table: pd.DataFrame, on_error: str = "raise") -> pd.DataFrame:
        density = self.featurizer.transform(table)["density"].to_numpy()
        return pd.DataFrame({"prediction": density, "in_domain": np.ones(len(table), bool)}, index=table.index)


def test_a_folder_of_structure_files_is_screened_by_a_model_of_a_named_structure_column(tmp_path):

    from matforge.features._table import TableFeaturizer

    folder = tmp_path / "candidates"
    folder.mkdir()
    for lattice in (5.0, 5.6, 6.2):
        salt = fcc_cell(lattice, "Na", "Cl")
        salt.to(filename=str(folder / f"nacl_{lattice}.cif"))
    model = DensitySurrogate(TableFeaturizer(structure_cols=["cif"]).fit(pd.DataFrame({"cif": [salt.to_json()]})))
    result = screen(model, candidates=folder, objective="max", top=2)
    assert list(result.top["cif"]) == ["candidates/nacl_5.0.cif", "candidates/nacl_5.6.cif"]  # the densest first


def test_a_prototype_space_is_screened_by_a_structure_model(tmp_path):
    from pymatgen.core import Structure

    from matforge.features._table import TableFeaturizer

    salt = fcc_cell(5.64, "Na", "Cl")
    salt.to(filename=str(tmp_path / "nacl.cif"))
    model = DensitySurrogate(TableFeaturizer(structure_cols=["cif"]).fit(pd.DataFrame({"cif": [salt.to_json()]})))
    space = {"variables": [{"type": "prototype", "column": "cif", "structure": str(tmp_path / "nacl.cif"), "sites": {"Na": ["Li", "Na", "K", "Rb"], "Cl": ["F", "Cl", "Br", "I"]}}]}
    result = screen(model, space, objective="max", top=3)
    every = DesignSpace(space).candidates(0, 16)
    density = {f: Structure.from_str(s, fmt="json").density for f, s in zip(every["formula"], every["cif"], strict=True)}
    assert list(result.top["formula"]) == sorted(density, key=density.get, reverse=True)[:3]  # the densest substituted salts
    assert result.summary["candidates"] == 16 and len(set(density.values())) == 16
