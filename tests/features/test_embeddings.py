"""Element-embedding featurizers: values equal hand-computed pooling of the matminer vectors."""

from __future__ import annotations

import numpy as np
import pytest

from matforge.chem import ELEMENT_SYMBOLS
from matforge.errors import InputError
from matforge.features import featurize, make_featurizer
from matforge.features._embeddings import ElementEmbedding, embedding_table


@pytest.mark.parametrize("name, width", [("matscholar", 200), ("megnet", 16), ("cgcnn", 92)])
def test_tables_cover_common_elements(name, width):
    table = embedding_table(name)
    assert table.shape == (len(ELEMENT_SYMBOLS), width)
    for symbol in ("H", "O", "Fe", "Na", "Cl", "U"):
        assert np.isfinite(table[ELEMENT_SYMBOLS.index(symbol)]).all()


def test_weighted_mean_and_std_by_hand():
    table = embedding_table("megnet")
    fe, o = table[ELEMENT_SYMBOLS.index("Fe")], table[ELEMENT_SYMBOLS.index("O")]
    out = ElementEmbedding("megnet", stats=("mean", "std", "min", "max")).fit_transform(["Fe2O3"])[0]
    mean = 0.4 * fe + 0.6 * o
    std = np.sqrt(0.4 * (fe - mean) ** 2 + 0.6 * (o - mean) ** 2)
    np.testing.assert_allclose(out[:16], mean)
    np.testing.assert_allclose(out[16:32], std, atol=1e-12)
    np.testing.assert_allclose(out[32:48], np.minimum(fe, o))
    np.testing.assert_allclose(out[48:], np.maximum(fe, o))


def test_single_element_has_zero_spread_and_presets_registered():
    frame = featurize(["Cu", "NaCl"], "matscholar")
    assert frame.shape == (2, 400)
    assert np.allclose(frame.iloc[0, 200:], 0.0)
    parts = sum(len(make_featurizer(p).get_feature_names_out()) for p in ("magpie", "fractions", "megnet", "matscholar"))
    assert len(make_featurizer("magpie_embeddings").get_feature_names_out()) == parts


def test_unknown_embedding_and_stat_raise():
    with pytest.raises(InputError):
        ElementEmbedding("nope").fit_transform(["NaCl"])
    with pytest.raises(InputError):
        ElementEmbedding("megnet", stats=("median",)).fit_transform(["NaCl"])
