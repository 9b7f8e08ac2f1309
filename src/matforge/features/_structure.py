"""Descriptors of a crystal structure: density and packing, symmetry, layer gaps, nearest-neighbour bonds.

Chosen to cost milliseconds a structure (MatBench phonons' 1,265 structures in about 6 s on one core, most of
it spglib's symmetry search), so that they can be computed for every row at every prediction. matminer's site
fingerprints are not among them: its `SiteStatsFingerprint` with CrystalNN order parameters took 100-450 ms a
structure on the phonons and jdft2d structures and changed the MAE of fixed extra trees by less than the fold
noise, in either direction (docs/benchmark.md, last section). Composition features of a structure column come from the composition presets, applied to each
structure's reduced formula (`featurize_structures`, used by `matforge.features.TableFeaturizer`).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from matforge._workers import worker_count

__all__ = ["StructureFeatures", "featurize_structure_cells", "featurize_structures", "structure_feature_names"]

_STATS = ("mean", "min", "max", "std")
_PER_SITE = ("nn_distance", "nn_relative_distance", "first_shell_cn", "nn_reduced_mass", "nn_frequency_proxy")
_SHAPE = ("primitive_sites", "wyckoff_orbits", "axis_ratio_long", "axis_ratio_middle", "max_angle_deviation")
_PER_SITE_MORE = ("nn_electronegativity_difference", "nn_distance_over_volume", "second_shell_ratio")
PARALLEL_ROWS = 1000  # below this, starting worker processes costs more than it saves (about 5 ms a structure)
_CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")


class StructureFeatures(TransformerMixin, BaseEstimator):
    """pymatgen structures in, 47 descriptors out (NaN where one cannot be computed).

    - ``density`` (g/cm³), ``volume_per_atom`` (Å³), ``packing_fraction`` (volume of atomic spheres of
      pymatgen's empirical atomic radii over the cell volume, as matminer's ``DensityFeatures``);
    - ``spacegroup_number``, ``crystal_system`` (1 triclinic ... 7 cubic), ``point_group_order`` and
      ``centrosymmetric`` (spglib through pymatgen's ``SpacegroupAnalyzer``, tolerance `symprec` Å);
    - ``largest_gap`` (Å), ``largest_gap_fraction`` and ``median_axis_gap`` (Å): the widest slab free of atomic
      centres between the (100), (010) and (001) planes of the Niggli-reduced primitive cell, the largest over the three
      plane families, its share of their spacing, and the median of the three. A layered crystal has a wide
      one (its van der Waals gap); a dense 3-D one has none. No library computes this cheaply (matminer's
      ``Dimensionality`` finds bonds with CrystalNN: 190 ms a structure on the first 20 jdft2d structures,
      against about 2 ms for all of these descriptors), so it is written here;
    - per site, then mean / min / max / std over the sites: ``nn_distance`` (Å) to the nearest neighbour,
      ``nn_relative_distance`` (that distance over the two atomic radii), ``first_shell_cn`` (neighbours within
      1.2 × the nearest distance), ``nn_reduced_mass`` (amu, of the site and its nearest neighbour) and
      ``nn_frequency_proxy`` (1 / sqrt(reduced mass) / relative distance³: a harmonic bond's frequency
      sqrt(k / mu) with a stiffness that grows as the bond is short for its atoms). One pass over pymatgen's
      neighbour list (its Cython cell lists) within `cutoff` Å;
    - the cell's complexity and shape: ``primitive_sites`` (atoms in the primitive cell), ``wyckoff_orbits``
      (symmetry-distinct sites), ``axis_ratio_long`` and ``axis_ratio_middle`` (the Niggli-reduced primitive
      cell's longest and middle edge over its shortest: a layered or chain crystal is elongated) and
      ``max_angle_deviation`` (its angle farthest from 90°, degrees);
    - per site, then mean / min / max / std: ``nn_electronegativity_difference`` (Pauling, the site and its
      nearest neighbour: the bond's ionicity), ``nn_distance_over_volume`` (the nearest distance over the
      cube root of the volume per atom: short bonds in an open framework against even spacing) and
      ``second_shell_ratio`` (the first distance beyond the first shell over the nearest: how separated the
      coordination shells are).

    The values depend on the structure, not on the cell it is written in (a test checks a supercell). A
    partially occupied site (a solid solution, Ba0.5Sr0.5TiO3, or a site with vacancies) takes the occupancy-
    weighted mean of its occupants' radius and mass, and counts its occupancy in the packing fraction: the
    virtual-crystal reading, which spglib's symmetry search shares (it treats each distinct mix of occupants
    as one kind of atom).
    """

    summary = "density, symmetry, layer gaps and nearest-neighbour bonds of a crystal structure"

    def __init__(self, symprec: float = 0.1, cutoff: float = 8.0, n_jobs: int = 1):
        self.symprec = symprec
        self.cutoff = cutoff
        self.n_jobs = n_jobs

    def fit(self, X=None, y=None):
        self.n_features_out_ = len(self.feature_labels())
        return self

    @staticmethod
    def feature_labels() -> list[str]:
        return [
            "density", "volume_per_atom", "packing_fraction", "spacegroup_number", "crystal_system", "point_group_order",
            "centrosymmetric", "largest_gap", "largest_gap_fraction", "median_axis_gap",
            *[f"{stat} {name}" for name in _PER_SITE for stat in _STATS], *_SHAPE,
            *[f"{stat} {name}" for name in _PER_SITE_MORE for stat in _STATS],
        ]  # fmt: skip

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_labels(), dtype=object)

    @staticmethod
    def citations() -> list[str]:
        return ["A. Togo, K. Shinohara, I. Tanaka, Sci. Technol. Adv. Mater. Meth. 4, 2384822 (2024) (spglib)", "S. P. Ong et al., Comput. Mater. Sci. 68, 314 (2013) (pymatgen)"]

    def transform(self, X) -> np.ndarray:
        """One row per structure (None gives a row of NaN). With `n_jobs` > 1 (-1: all cores), tables of at
        least `PARALLEL_ROWS` structures are cut into slices that worker processes featurize."""
        X = list(X)
        n_jobs = worker_count(self.n_jobs, processes=True)
        if n_jobs > 1 and len(X) >= PARALLEL_ROWS:
            bounds = np.linspace(0, len(X), n_jobs * 4 + 1).astype(int)
            with ProcessPoolExecutor(n_jobs) as pool:
                return np.vstack(list(pool.map(self._rows, [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])])))
        return self._rows(X)

    def _rows(self, X: list) -> np.ndarray:
        rows = np.full((len(X), len(self.feature_labels())), np.nan)
        for i, structure in enumerate(X):
            if structure is not None:
                rows[i] = self._one(structure)
        return rows

    def _one(self, s) -> np.ndarray:
        from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # spglib's notice about its error handling, every call
                analyzer = SpacegroupAnalyzer(s, symprec=self.symprec)
                symmetry = [
                    analyzer.get_space_group_number(), _CRYSTAL_SYSTEMS.index(analyzer.get_crystal_system()) + 1,
                    _point_group_order(analyzer.get_point_group_symbol()), float(analyzer.is_laue()),
                ]  # fmt: skip
                # the gaps and the cell's shape are read from the primitive lattice (spglib's, in the input's
                # frame), so a supercell gives the same planes
                dataset = analyzer.get_symmetry_dataset()
                lattice = dataset.primitive_lattice
                sites = [float(np.rint(len(s) * abs(np.linalg.det(lattice)) / s.volume)), len(np.unique(dataset.equivalent_atoms))]
        except Exception:  # spglib finds no cell for a degenerate structure: unknown, not an error
            symmetry, lattice, sites = [np.nan] * 4, s.lattice.matrix, [np.nan] * 2
        from pymatgen.core import Lattice

        reduced = Lattice(lattice).get_niggli_reduced_lattice()
        edges = np.sort(reduced.abc)
        shape = [*sites, edges[2] / edges[0], edges[1] / edges[0], float(np.max(np.abs(np.asarray(reduced.angles) - 90)))]
        per_site, more = self._neighbours(s)
        return np.concatenate([self._density(s), symmetry, self._gaps(reduced.matrix, s.cart_coords), per_site, shape, more])

    @staticmethod
    def _site_means(s, read) -> tuple[np.ndarray, np.ndarray]:
        """Per site, the occupancy-weighted mean of `read(element)` over the site's species (NaN where one is
        unknown), and the site's total occupancy. A disordered site (Ba0.5Sr0.5) is read as the average of its
        occupants, the virtual-crystal reading; an ordered site gives its element's value and occupancy 1."""
        means, occupancy = np.empty(len(s)), np.empty(len(s))
        for i, site in enumerate(s):
            total = weighted = 0.0
            for species, amount in site.species.items():
                value = read(species)
                weighted += amount * (np.nan if value is None else float(value))
                total += amount
            means[i], occupancy[i] = weighted / total, total
        return means, occupancy

    @classmethod
    def _density(cls, s) -> list[float]:
        cubes, occupancy = cls._site_means(s, lambda e: None if e.atomic_radius is None else float(e.atomic_radius) ** 3)
        return [float(s.density), s.volume / len(s), float(np.sum(4 / 3 * np.pi * cubes * occupancy) / s.volume)]

    @staticmethod
    def _gaps(matrix: np.ndarray, cart: np.ndarray) -> list[float]:
        """`matrix`: the Niggli-reduced primitive lattice."""
        gaps = np.empty(3)
        spacing = np.empty(3)
        for axis in range(3):
            normal = np.cross(matrix[(axis + 1) % 3], matrix[(axis + 2) % 3])
            normal /= np.linalg.norm(normal)
            spacing[axis] = abs(float(matrix[axis] @ normal))
            heights = np.sort((cart @ normal) % spacing[axis])
            gaps[axis] = np.max(np.diff(np.r_[heights, heights[0] + spacing[axis]]))
        widest = int(np.argmax(gaps))
        return [gaps[widest], gaps[widest] / spacing[widest], float(np.median(gaps))]

    def _neighbours(self, s) -> tuple[list[float], list[float]]:
        """The per-site statistics of `_PER_SITE` and of `_PER_SITE_MORE`."""
        centres, neighbours, _, distances = s.get_neighbor_list(self.cutoff)
        n = len(s)
        out = np.full((len(_PER_SITE) + len(_PER_SITE_MORE), n), np.nan)
        if len(distances):
            mass, _ = self._site_means(s, lambda e: e.atomic_mass)
            radius, _ = self._site_means(s, lambda e: e.atomic_radius)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pymatgen warns for elements without a Pauling electronegativity (NaN)
                chi, _ = self._site_means(s, lambda e: e.X)
            order = np.lexsort((distances, centres))
            centres, neighbours, distances = centres[order], neighbours[order], distances[order]
            sites, first = np.unique(centres, return_index=True)
            nearest, partner = distances[first], neighbours[first]
            nearest_of = np.full(n, np.nan)
            nearest_of[sites] = nearest
            inside = distances <= 1.2 * nearest_of[centres]
            shell = np.bincount(centres[inside], minlength=n)
            relative = nearest / (radius[sites] + radius[partner])
            reduced = mass[sites] * mass[partner] / (mass[sites] + mass[partner])
            # the first neighbour beyond the first shell (within the cutoff), per site
            beyond = np.full(n, np.nan)
            outer, at = np.unique(centres[~inside], return_index=True)
            beyond[outer] = distances[~inside][at]
            spacing = (s.volume / n) ** (1 / 3)
            out[:, sites] = [
                nearest, relative, shell[sites], reduced, 1 / np.sqrt(reduced) / relative**3,
                np.abs(chi[sites] - chi[partner]), nearest / spacing, beyond[sites] / nearest,
            ]  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a site without neighbours within the cutoff stays NaN
            stats = np.column_stack([np.nanmean(out, axis=1), np.nanmin(out, axis=1), np.nanmax(out, axis=1), np.nanstd(out, axis=1)])
        return list(stats[: len(_PER_SITE)].ravel()), list(stats[len(_PER_SITE) :].ravel())




# the order of each of the 32 crystallographic point groups, by Hermann-Mauguin symbol (with the settings
# spglib may write: -4m2/-42m, -62m/-6m2, 321/312, ...). A table, because building pymatgen's PointGroup to
# count its operations took 90 ms a structure (a profile of the rock-salt CLI test: 43 s of 476 structures,
# where spglib's search took 17 ms a structure)
_POINT_GROUP_ORDER = {
    "1": 1, "-1": 2, "2": 2, "m": 2, "2/m": 4, "222": 4, "mm2": 4, "mmm": 8,
    "4": 4, "-4": 4, "4/m": 8, "422": 8, "4mm": 8, "-42m": 8, "-4m2": 8, "4/mmm": 16,
    "3": 3, "-3": 6, "32": 6, "321": 6, "312": 6, "3m": 6, "3m1": 6, "31m": 6, "-3m": 12, "-3m1": 12, "-31m": 12,
    "6": 6, "-6": 6, "6/m": 12, "622": 12, "6mm": 12, "-6m2": 12, "-62m": 12, "6/mmm": 24,
    "23": 12, "m-3": 24, "432": 24, "-43m": 24, "m-3m": 48,
}  # fmt: skip


def _point_group_order(symbol: str) -> float:
    """The number of operations of a point group: the same for any cell of the crystal (the operations spglib
    lists for a supercell are only those that keep the supercell's basis)."""
    return float(_POINT_GROUP_ORDER.get(symbol.strip(), np.nan))


def featurize_structures(structures, presets, n_jobs: int = 1) -> np.ndarray:
    """The features of a structure column: each composition preset in `presets` applied to the structures'
    reduced formulas, then `StructureFeatures` (in `n_jobs` processes for large tables); None (a cell that could
    not be read) gives a row of NaN. The one place a structure column becomes numbers, for `TableFeaturizer`,
    `matforge featurize` and `explore`."""
    from matforge.chem import parse_compositions
    from matforge.data._structures import structure_formulas
    from matforge.features._registry import make_featurizer

    compositions = parse_compositions(structure_formulas(structures), on_error="keep")
    blocks = [make_featurizer(preset).transform_compositions(compositions) for preset in presets]
    return np.hstack([*blocks, StructureFeatures(n_jobs=n_jobs).fit().transform(structures)])


def featurize_structure_cells(cells, presets, *, source: str | None = None, base: str | None = None, column: str | None = None,
                              first_row: int = 0, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray, dict]:
    """`featurize_structures` of the cells of a structure column, as `matforge featurize` writes them: the
    features (NaN rows where a cell cannot be read), which rows are valid, and for the others an `InputError`
    by row of `cells`, naming `source` and the row ``first_row + row``. Paths in the cells are read relative to
    the folder of `base` (default `source`)."""
    from matforge.data._structures import STRUCTURE_HINT, parse_structures
    from matforge.errors import InputError

    structures = parse_structures(cells, source=base or source, column=column, on_error="keep")
    errors = {row: InputError(message, file=source, row=first_row + row, column=column, hint=STRUCTURE_HINT) for row, message in structures.errors.items()}
    valid = np.array([s is not None for s in structures], dtype=bool)
    return featurize_structures(structures, presets, n_jobs=n_jobs), valid, errors


def structure_feature_names(presets) -> list[str]:
    """The column names of `featurize_structures` with the same presets, in order."""
    from matforge.features._registry import make_featurizer

    return [str(n) for preset in presets for n in make_featurizer(preset).get_feature_names_out()] + StructureFeatures.feature_labels()
