"""Learned element embeddings (shipped inside the matminer wheel) pooled over a composition.

Each element has a vector learned elsewhere: mat2vec/matscholar word embeddings from 3.3 M abstracts (200-d),
MEGNet's elemental embedding layer trained on Materials Project formation energies (16-d), or CGCNN's
one-hot atom features (92-d). A composition becomes the atomic-fraction-weighted statistics of its elements'
vectors — the same pooling Magpie applies to tabulated properties (Ward et al. 2016), and the input of
attention models such as CrabNet/Roost. Elements without a vector (e.g. MEGNet has none beyond Pu) are
left out of the pooling; a composition with none of its elements known gets NaN features.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from matforge.chem import ELEMENT_SYMBOLS, Compositions
from matforge.errors import InputError
from matforge.features._base import CompositionFeaturizer

__all__ = ["ElementEmbedding", "EMBEDDINGS", "embedding_table"]

EMBEDDINGS = {
    "matscholar": ("matscholar_els.json", "V. Tshitoyan et al., Unsupervised word embeddings capture latent knowledge from materials science literature, Nature 571, 95-98 (2019)."),
    "megnet": ("megnet_elemental_embedding.json", "C. Chen et al., Graph networks as a universal machine learning framework for molecules and crystals, Chem. Mater. 31, 3564-3572 (2019)."),
    "cgcnn": ("cgcnn_atom_feature.json", "T. Xie, J. C. Grossman, Crystal graph convolutional neural networks for an accurate and interpretable prediction of material properties, Phys. Rev. Lett. 120, 145301 (2018)."),
}  # fmt: skip
"""Embedding name → (file in ``matminer/utils/data_files``, citation)."""

STATS = ("mean", "std", "min", "max")


@cache
def embedding_table(name: str) -> np.ndarray:
    """(len(ELEMENT_SYMBOLS), d) array of element vectors, row i for ELEMENT_SYMBOLS[i]; NaN rows where unknown."""
    import matminer

    if name not in EMBEDDINGS:
        raise InputError(f"unknown element embedding '{name}'", hint=f"Choose from: {', '.join(EMBEDDINGS)}")
    path = Path(matminer.__file__).parent / "utils" / "data_files" / EMBEDDINGS[name][0]
    raw = json.loads(path.read_text())
    if isinstance(raw, list):  # MEGNet: a list indexed by atomic number (row 0 is a placeholder)
        vectors = {ELEMENT_SYMBOLS[z - 1]: v for z, v in enumerate(raw) if 0 < z <= len(ELEMENT_SYMBOLS)}
    elif all(key.isdigit() for key in raw):  # CGCNN: keyed by atomic number as text
        vectors = {ELEMENT_SYMBOLS[int(z) - 1]: v for z, v in raw.items() if 0 < int(z) <= len(ELEMENT_SYMBOLS)}
    else:  # matscholar: keyed by symbol
        vectors = raw
    width = len(next(iter(vectors.values())))
    table = np.full((len(ELEMENT_SYMBOLS), width), np.nan)
    for i, symbol in enumerate(ELEMENT_SYMBOLS):
        if symbol in vectors:
            table[i] = np.asarray(vectors[symbol], dtype=float)
    return table


class ElementEmbedding(CompositionFeaturizer):
    """Fraction-weighted statistics of learned element vectors.

    Parameters
    ----------
    embedding : ``"matscholar"`` (200-d), ``"megnet"`` (16-d) or ``"cgcnn"`` (92-d).
    stats : any of ``"mean"``, ``"std"`` (fraction-weighted), ``"min"``, ``"max"``.

    >>> ElementEmbedding("megnet", stats=("mean",)).fit_transform(["NaCl"]).shape
    (1, 16)
    """

    summary = "fraction-weighted statistics of learned element embeddings (matscholar, MEGNet, CGCNN)"

    def __init__(self, embedding: str = "matscholar", stats=("mean", "std"), formula_col=None, on_error="raise", n_jobs=1, chunk_size=4096):
        super().__init__(formula_col=formula_col, on_error=on_error, n_jobs=n_jobs, chunk_size=chunk_size)
        self.embedding = embedding
        self.stats = stats

    def _stats(self) -> tuple[str, ...]:
        stats = tuple(self.stats)
        unknown = [s for s in stats if s not in STATS]
        if unknown or not stats:
            raise InputError(f"unknown embedding statistic(s) {unknown or stats}", hint=f"Choose from: {', '.join(STATS)}")
        return stats

    def feature_labels(self) -> list[str]:
        width = embedding_table(self.embedding).shape[1]
        return [f"{self.embedding} {stat} {j}" for stat in self._stats() for j in range(width)]

    def citations(self) -> list[str]:
        return [EMBEDDINGS[self.embedding][1]]

    def compute(self, batch: Compositions) -> np.ndarray:
        table = embedding_table(self.embedding)
        vectors = table[batch.element.astype(np.int64)]  # (n, K, d)
        known = batch.mask & ~np.isnan(vectors[..., 0])
        weight = np.where(known, batch.fraction, 0.0)
        total = weight.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = weight / total  # renormalised over the elements that have a vector
        filled = np.where(known[..., None], vectors, 0.0)
        mean = np.einsum("nk,nkd->nd", weight, filled)
        blocks = []
        for stat in self._stats():
            if stat == "mean":
                blocks.append(mean)
            elif stat == "std":
                blocks.append(np.sqrt(np.maximum(np.einsum("nk,nkd->nd", weight, (filled - mean[:, None, :]) ** 2), 0.0)))
            elif stat == "min":
                blocks.append(np.where(known[..., None], vectors, np.inf).min(axis=1))
            else:
                blocks.append(np.where(known[..., None], vectors, -np.inf).max(axis=1))
        out = np.hstack(blocks)
        out[(total[:, 0] == 0)] = np.nan
        return out
