"""Descriptors of polymer repeat units and molecules written as SMILES (RDKit, the ``[polymer]`` extra).

A polymer is written as its repeat unit in polymer SMILES (PSMILES): ``*CC(*)c1ccccc1`` is polystyrene, the two
``*`` atoms mark where the unit bonds to its neighbours in the chain. A plain SMILES without ``*`` is read as a
molecule. Three kinds of numbers come out of a cell:

- RDKit's 2-D descriptors (``Descriptors.CalcMolDescriptors``: molar mass, TPSA, logP, ring and
  hydrogen-bond counts, topological indices, ...), computed on the repeat unit with its two ends capped by
  hydrogen, the monomer residue. ``Ipc`` is taken as log10(1 + Ipc): it reaches 10^13
  on the Tg set's repeat units.
- chain descriptors, for what sets a polymer's glass transition by physics (a stiff backbone of
  rings raises Tg, long flexible side chains lower it): the backbone is the shortest path between the two ``*``
  atoms together with every ring that path runs through (and the rings fused to those), side chains are the
  rest. Computed here to keep the extra to RDKit alone: PolyMetriX (Kunchapu & Jablonka 2025) has such
  featurizers, but its package (0.2.0) also requires mofdscribe, RadonPy and pandarallel.
- a Morgan (ECFP-like) fingerprint with counts, radius 2, folded into `n_bits` columns, on the repeat unit
  with its ``*`` atoms, so the environment of a chain end differs from that of a chain's middle.

Features depend on one cell only, so the transformer learns nothing from other rows.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from matforge._workers import worker_count
from matforge.errors import InputError

__all__ = ["PolymerFeatures", "polymer_keys", "parse_smiles_column", "smiles_problems"]

CHAIN_LABELS = (
    "chain_ends", "backbone_atoms", "sidechain_atoms", "sidechain_fraction", "sidechains", "longest_sidechain",
    "backbone_ring_fraction", "backbone_aromatic_fraction", "backbone_heteroatom_fraction",
    "backbone_rotatable_bonds", "backbone_rotatable_fraction", "heavy_atoms", "mass_per_backbone_atom",
)  # fmt: skip
# 6-9 ms a cell in one process; from this many rows on, in processes (2,000 Tg units: 15.5 s in one, 11.1 s in two;
# all 7,252: 64 s against 41 s)
PARALLEL_ROWS = 2000


def _require_rdkit():
    try:
        from rdkit import Chem, RDLogger
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InputError("SMILES columns need RDKit", hint="pip install 'matforge[polymer]'") from err
    RDLogger.DisableLog("rdApp.*")
    return Chem


def _descriptor_names() -> list[str]:
    from rdkit.Chem import Descriptors

    return [name for name, _ in Descriptors.descList]


def _read_cell(value) -> tuple[object, str | None]:
    """(molecule, None), or (None, why the cell is not a molecule or repeat unit)."""
    Chem = _require_rdkit()
    if not isinstance(value, str) or not value.strip():
        return None, "empty SMILES cell"
    mol = Chem.MolFromSmiles(value.strip())
    if mol is None:
        return None, "not a valid SMILES (RDKit could not parse it)"
    if sum(a.GetAtomicNum() == 0 for a in mol.GetAtoms()) not in (0, 2):
        return None, "a polymer repeat unit needs exactly two '*' chain ends (a molecule none)"
    return mol, None


def smiles_problems(values) -> dict[int, str]:
    """Row (0-based) → why that cell of a (P)SMILES column cannot be read, for every bad cell."""
    return {row: reason for row, (_, reason) in enumerate(map(_read_cell, values)) if reason}


def parse_smiles_column(values, *, source=None, column=None, on_error: str = "raise") -> list:
    """RDKit molecules for a column of (P)SMILES; a cell that does not parse raises an `InputError` naming its
    row (``on_error="keep"``: None in its place). A polymer repeat unit must have exactly two ``*`` atoms."""
    out = []
    for row, value in enumerate(values):
        mol, reason = _read_cell(value)
        if reason and on_error == "raise":
            raise InputError(reason, file=source, row=row, column=column, value=value, hint="Write a polymer as its repeat unit in PSMILES, e.g. *CC(*)c1ccccc1 for polystyrene")
        out.append(mol)
    return out


def _capped(mol):
    """The repeat unit with its ``*`` chain ends replaced by hydrogen (the monomer residue); the unit as written
    where that gives an impossible valence."""
    from rdkit import Chem

    stars = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if not stars:
        return mol
    editable = Chem.RWMol(mol)
    for idx in stars:
        for neighbour in editable.GetAtomWithIdx(idx).GetNeighbors():
            # a double bond to '*' (*=C...=*) becomes two hydrogens: implicit ones, recounted on sanitizing
            neighbour.SetNoImplicit(False)
    for idx in sorted(stars, reverse=True):
        editable.RemoveAtom(idx)
    capped = editable.GetMol()
    try:
        Chem.SanitizeMol(capped)
    except Exception:
        return mol
    return capped


def _chain(mol) -> list[float]:
    """The chain descriptors of `CHAIN_LABELS` (NaN for a molecule, which has no chain)."""
    from rdkit import Chem

    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    mass = sum(a.GetMass() for a in mol.GetAtoms() if a.GetAtomicNum() > 1)
    stars = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if len(stars) != 2:
        return [0.0] + [math.nan] * (len(CHAIN_LABELS) - 3) + [float(len(heavy)), math.nan]
    path = set(Chem.GetShortestPath(mol, stars[0], stars[1])) - set(stars)
    rings = [set(r) for r in mol.GetRingInfo().AtomRings()]
    backbone = set(path)
    grown = True
    while grown:  # rings the path runs through (two shared atoms), then rings fused to those
        grown = False
        for ring in rings:
            if not ring <= backbone and len(ring & backbone) >= 2:
                backbone |= ring
                grown = True
    side = [i for i in heavy if i not in backbone]
    # side chains: connected pieces of the non-backbone heavy atoms
    seen, sizes = set(), []
    for start in side:
        if start in seen:
            continue
        stack, size = [start], 0
        seen.add(start)
        while stack:
            atom = mol.GetAtomWithIdx(stack.pop())
            size += 1
            for nb in atom.GetNeighbors():
                j = nb.GetIdx()
                if j not in seen and j not in backbone and nb.GetAtomicNum() > 1:
                    seen.add(j)
                    stack.append(j)
        sizes.append(size)
    atoms = [mol.GetAtomWithIdx(i) for i in backbone]
    # bonds along the chain: between backbone atoms, plus the one across the repeat-unit boundary (each '*'
    # stands for the same bond, so one of them counts); single and outside rings = free to rotate
    chain_bonds = [b for b in mol.GetBonds() if b.GetBeginAtomIdx() in backbone and b.GetEndAtomIdx() in backbone]
    chain_bonds.append(mol.GetAtomWithIdx(stars[0]).GetBonds()[0])
    rotatable = sum(b.GetBondType() == Chem.BondType.SINGLE and not b.IsInRing() for b in chain_bonds)
    n_backbone = max(len(backbone), 1)
    return [
        2.0, float(len(backbone)), float(len(side)), len(side) / max(len(heavy), 1), float(len(sizes)), float(max(sizes, default=0)),
        sum(a.IsInRing() for a in atoms) / n_backbone, sum(a.GetIsAromatic() for a in atoms) / n_backbone,
        sum(a.GetAtomicNum() != 6 for a in atoms) / n_backbone, float(rotatable), rotatable / len(chain_bonds),
        float(len(heavy)), mass / n_backbone,
    ]  # fmt: skip


def _fingerprint(mol, radius: int, n_bits: int) -> np.ndarray:
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return generator.GetCountFingerprintAsNumPy(mol).astype(float)


def _featurize_cells(smiles: list, radius: int, n_bits: int) -> np.ndarray:
    from rdkit.Chem import Descriptors

    _require_rdkit()
    names = _descriptor_names()
    width = len(names) + len(CHAIN_LABELS) + n_bits
    out = np.full((len(smiles), width), np.nan)
    mols = parse_smiles_column(smiles, on_error="keep")
    for i, mol in enumerate(mols):
        if mol is None:
            continue
        values = Descriptors.CalcMolDescriptors(_capped(mol), missingVal=math.nan)
        descriptors = [float(values.get(n, math.nan)) for n in names]
        if "Ipc" in names:
            k = names.index("Ipc")
            descriptors[k] = math.log10(1.0 + descriptors[k]) if descriptors[k] >= 0 else math.nan
        out[i, : len(names)] = descriptors
        out[i, len(names) : len(names) + len(CHAIN_LABELS)] = _chain(mol)
        out[i, len(names) + len(CHAIN_LABELS) :] = _fingerprint(mol, radius, n_bits)
    with np.errstate(invalid="ignore"):
        out[~np.isfinite(out)] = np.nan
    return out


class PolymerFeatures(TransformerMixin, BaseEstimator):
    """(P)SMILES strings in, descriptors out: RDKit's 2-D descriptors of the hydrogen-capped repeat unit,
    chain descriptors (backbone, side chains, backbone stiffness) and a folded Morgan count fingerprint.

    Parameters
    ----------
    radius : Morgan radius (2 = ECFP4-like environments).
    n_bits : width of the folded count fingerprint.
    n_jobs : processes for large columns (-1: all cores).

    A cell that is not valid SMILES raises an `InputError` naming the row; `transform(..., on_error="nan")`
    gives that row NaN features instead.

    >>> PolymerFeatures(n_bits=64).fit_transform(["*CC(*)c1ccccc1", "*CC(*)C"]).shape[0]
    2

    References: G. Landrum, RDKit: open-source cheminformatics, https://www.rdkit.org; D. Rogers, M. Hahn,
    Extended-connectivity fingerprints, J. Chem. Inf. Model. 50, 742 (2010); S. Kunchapu, K. M. Jablonka,
    PolyMetriX, npj Comput. Mater. 11, 312 (2025) (backbone / side-chain descriptors).
    """

    summary = "RDKit descriptors, backbone and side-chain descriptors and a Morgan fingerprint of a polymer repeat unit"

    def __init__(self, radius: int = 2, n_bits: int = 512, n_jobs: int = 1):
        self.radius = radius
        self.n_bits = n_bits
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        self.n_features_out_ = len(self.feature_labels())
        return self

    def feature_labels(self) -> list[str]:
        _require_rdkit()
        return [*_descriptor_names(), *CHAIN_LABELS, *(f"morgan_{i}" for i in range(self.n_bits))]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_labels(), dtype=object)

    @staticmethod
    def citations() -> list[str]:
        return [
            "G. Landrum et al., RDKit: Open-source cheminformatics, https://www.rdkit.org",
            "D. Rogers, M. Hahn, Extended-connectivity fingerprints, J. Chem. Inf. Model. 50, 742-754 (2010).",
            "S. Kunchapu, K. M. Jablonka, PolyMetriX: an ecosystem for digital polymer chemistry, npj Comput. Mater. 11, 312 (2025).",
        ]

    def transform(self, X, on_error: str = "raise", source=None, column=None) -> np.ndarray:
        smiles = [v.strip() if isinstance(v, str) else v for v in np.asarray(X, dtype=object).ravel()]
        if on_error == "raise":
            parse_smiles_column(smiles, source=source, column=column)
        workers = worker_count(self.n_jobs) if len(smiles) >= PARALLEL_ROWS else 1
        if workers <= 1:
            return _featurize_cells(smiles, self.radius, self.n_bits)
        chunks = np.array_split(np.arange(len(smiles)), workers * 4)
        with ProcessPoolExecutor(workers) as pool:
            parts = pool.map(_featurize_cells, [[smiles[i] for i in c] for c in chunks], [self.radius] * len(chunks), [self.n_bits] * len(chunks))
            return np.vstack(list(parts))


def polymer_keys(smiles) -> np.ndarray:
    """A key per cell equal for the same polymer or molecule however it is written: RDKit's canonical SMILES of
    the repeat unit closed into a ring, its two chain ends bonded to each other (where they are the same atom
    or already bonded, two copies of the unit closed head to tail). ``*CC(*)C`` and ``*C(C)C*`` (the same chain
    cut at another atom) share a key, and so do ``*CC*`` and ``*CCCC*``. A unit with stereo marks
    (``*/C=C/CC*``, trans) keeps its canonical SMILES, so it is matched only when written the same way. A
    molecule's key is its canonical SMILES; a cell that does not parse keeps its text. (On the 7,252
    PolyMetriX repeat units: 6,923 distinct polymers, in 2-6 s; a ring of two units for every unit took 65 s,
    RDKit's ring perception and canonical ranking of large symmetric macrocycles being slow.)"""
    Chem = _require_rdkit()
    keys = np.empty(len(smiles), dtype=object)
    for i, (text, mol) in enumerate(zip(smiles, parse_smiles_column(list(smiles), on_error="keep"))):
        if mol is None:
            keys[i] = f"invalid:{text!r}"
            continue
        stars = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
        keys[i] = (_closed_ring(mol, stars) if len(stars) == 2 else None) or Chem.MolToSmiles(mol)
    return keys


def _closed_ring(mol, stars) -> str | None:
    """Canonical SMILES of the repeat unit with its chain ends joined (see `polymer_keys`); None where that
    gives no valid molecule or the unit is one backbone atom (every way of writing it is then the same graph)."""
    from rdkit import Chem

    ends = [mol.GetAtomWithIdx(s).GetNeighbors()[0].GetIdx() for s in stars]
    if ends[0] == ends[1]:
        return None
    if any(b.GetStereo() != Chem.BondStereo.STEREONONE for b in mol.GetBonds()) or any(a.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED for a in mol.GetAtoms()):
        # a small ring cannot carry the cis/trans of a chain double bond (RDKit drops it below 8 atoms), and
        # cis- and trans-polybutadiene are different polymers: a unit with stereo keeps its own SMILES
        return None
    bond = mol.GetAtomWithIdx(stars[0]).GetBonds()[0].GetBondType()
    if mol.GetBondBetweenAtoms(*ends) is None:
        joined = Chem.RWMol(mol)
        joined.AddBond(ends[0], ends[1], bond)
        removed = sorted(stars, reverse=True)
    else:  # a two-atom backbone: two copies, each one's head bonded to the other's tail
        n = mol.GetNumAtoms()
        joined = Chem.RWMol(Chem.CombineMols(mol, mol))
        joined.AddBond(ends[1], ends[0] + n, bond)
        joined.AddBond(ends[1] + n, ends[0], bond)
        removed = sorted([stars[0], stars[1], stars[0] + n, stars[1] + n], reverse=True)
    for idx in removed:
        joined.RemoveAtom(idx)
    ring = joined.GetMol()
    try:
        Chem.SanitizeMol(ring)
    except Exception:  # an impossible valence after joining: the unit's own canonical SMILES is the key
        return None
    return Chem.MolToSmiles(ring)
