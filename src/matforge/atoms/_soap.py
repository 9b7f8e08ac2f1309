"""SOAP + sparse kernel ridge potential fitted on energies and forces (a small, fast GAP-like baseline).

Energy model: E = Σ_s n_s e0_s + Σ_i Σ_m w_m k(p_i, q_m), with p_i the SOAP power spectrum of atom i
(dscribe), q_m representative environments ("sparse points", chosen by farthest-point sampling among the
training environments of the same species) and the dot-product kernel k = (p̂·q̂)^ζ of GAP-SOAP. Forces are
the exact negative gradient of that energy (chain rule through dscribe's descriptor derivatives), so the
potential is conservative and the same weights w fit energies and forces in one weighted ridge regression,
accumulated frame by frame in normal-equation form so memory does not grow with the data.

References: A. P. Bartók, R. Kondor, G. Csányi, Phys. Rev. B 87, 184115 (2013) (SOAP); A. P. Bartók et al.,
Phys. Rev. Lett. 104, 136403 (2010) (GAP); L. Himanen et al., Comput. Phys. Commun. 247, 106949 (2020)
(dscribe).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from matforge.atoms._frames import config_types, ref_energy, ref_forces
from matforge.atoms._regression import (
    DELTA_GRID,
    ENERGY_SIGMA_GRID,
    TYPE_BALANCE_GRID,
    NormalEquations,
    assign_folds,
)
from matforge.errors import InputError, ModelError

__all__ = ["SoapKernelCalculator", "fit_soap"]

SOAP_DEFAULTS = {
    "r_cut": 5.0,  # Å
    "n_max": 6,
    "l_max": 4,
    "sigma": 0.5,  # Å, Gaussian width of the atomic density
    "n_sparse": 400,  # representative environments per species
    "zeta": 4,  # kernel exponent, GAP-SOAP's usual choice
    # eV/atom, expected energy error (weights energy rows); "auto" = chosen by K-fold CV on the training frames
    "energy_sigma": "auto",
    "force_sigma": 0.05,  # eV/Å, expected force error (weights force rows); fixes the scale, only ratios matter
    "delta": "auto",  # eV, prior scale of the atomic interaction energy (GAP's δ); smaller = smoother; or "auto"
    # energy weight of a frame ∝ (frames of its config_type)^-type_balance: 0 = all frames equal, 1 = all
    # configuration families equal (rare relaxed surfaces count as much as many MD snapshots); or "auto"
    "type_balance": "auto",
    "cv_folds": 4,  # folds of the cross-validation used for "auto" values (frames stratified by config_type)
}
# Number of atom centres whose descriptor derivatives are held at once; bounds memory on large cells.
_CHUNK = 24


def _make_soap(species: list[str], params: dict, periodic: bool):
    from dscribe.descriptors import SOAP

    return SOAP(species=species, r_cut=params["r_cut"], n_max=params["n_max"], l_max=params["l_max"],
                sigma=params["sigma"], periodic=periodic, sparse=False)


class _SoapModel:
    """The fitted state and the maths shared by fitting and prediction."""

    def __init__(self, species, params, periodic, e0, sparse, weights):
        self.species = list(species)
        self.params = dict(params)
        self.periodic = bool(periodic)
        self.e0 = dict(e0)  # eV per atom of each species
        self.sparse = {s: np.asarray(v, dtype=float) for s, v in sparse.items()}  # normalized, (M_s, F)
        self.weights = {s: np.asarray(v, dtype=float) for s, v in weights.items()}
        self.soap = _make_soap(self.species, self.params, self.periodic)

    def _check(self, atoms) -> None:
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.species))
        if unknown:
            raise InputError(f"structure contains elements the potential was not trained on: {unknown}",
                             hint=f"Trained on {self.species}")
        if self.periodic and not all(atoms.pbc):
            raise InputError("this SOAP potential was fitted on periodic cells; give a periodic structure")

    def offsets(self, atoms) -> float:
        return float(sum(self.e0[s] for s in atoms.get_chemical_symbols()))

    def kernel_rows(self, atoms, with_forces: bool):
        """Energy design row (Σ_i k(p_i, q_m) per species block) and, optionally, force rows −∂/∂r of it."""
        symbols = np.asarray(atoms.get_chemical_symbols())
        zeta = self.params["zeta"]
        blocks = []
        n = len(atoms)
        if with_forces:
            P = np.empty((n, self.soap.get_number_of_features()))
        else:
            P = self.soap.create(atoms)
        force_blocks = {s: np.zeros((n, 3, len(self.sparse[s]))) for s in self.species} if with_forces else None
        if with_forces:
            for start in range(0, n, _CHUNK):
                centers = list(range(start, min(n, start + _CHUNK)))
                D, Pc = self.soap.derivatives(atoms, centers=centers, method="numerical", return_descriptor=True)
                P[centers] = Pc
                # dscribe's finite differences hold the centre fixed when its own atom moves, so the
                # self-derivative it returns is wrong; translation invariance (Σ_j ∂p_i/∂r_j = 0) gives it exactly.
                local = np.arange(len(centers))
                D[local, centers] = 0.0
                D[local, centers] = -D.sum(axis=1)
                norms = np.linalg.norm(Pc, axis=1)
                Phat = Pc / norms[:, None]
                for s in self.species:
                    rows = np.flatnonzero(symbols[centers] == s)
                    if rows.size == 0:
                        continue
                    Q = self.sparse[s]
                    Dr = D[rows]  # (r, n, 3, F)
                    flat = Dr.reshape(-1, Dr.shape[-1])  # one GEMM, not r·n tiny (3 × F) products
                    c = Phat[rows] @ Q.T  # (r, M)
                    G = (flat @ Q.T).reshape(*Dr.shape[:3], -1)  # (r, n, 3, M): ∂p_i/∂r_jα · q_m
                    sdot = np.einsum("rf,rnaf->rna", Phat[rows], Dr, optimize=True)  # p̂_i · ∂p_i/∂r_jα
                    dcos = (G - sdot[..., None] * c[:, None, None, :]) / norms[rows, None, None, None]
                    force_blocks[s] -= np.einsum("rm,rnam->nam", zeta * c ** (zeta - 1), dcos, optimize=True)
        Phat_all = P / np.linalg.norm(P, axis=1)[:, None]
        for s in self.species:
            rows = symbols == s
            blocks.append(((Phat_all[rows] @ self.sparse[s].T) ** zeta).sum(axis=0))
        energy_row = np.concatenate(blocks)
        if not with_forces:
            return energy_row, None
        force_rows = np.concatenate([force_blocks[s] for s in self.species], axis=2).reshape(3 * n, -1)
        return energy_row, force_rows

    def predict(self, atoms, with_forces: bool):
        self._check(atoms)
        w = np.concatenate([self.weights[s] for s in self.species])
        energy_row, force_rows = self.kernel_rows(atoms, with_forces)
        energy = self.offsets(atoms) + float(energy_row @ w)
        forces = None if force_rows is None else (force_rows @ w).reshape(len(atoms), 3)
        return energy, forces

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"sparse_{s}": self.sparse[s] for s in self.species}
        arrays.update({f"weights_{s}": self.weights[s] for s in self.species})
        np.savez(folder / "soap_kernel.npz", **arrays)
        (folder / "soap_kernel.json").write_text(json.dumps(
            {"species": self.species, "params": self.params, "periodic": self.periodic, "e0": self.e0}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> _SoapModel:
        try:
            meta = json.loads((folder / "soap_kernel.json").read_text())
            with np.load(folder / "soap_kernel.npz", allow_pickle=False) as data:
                sparse = {s: data[f"sparse_{s}"] for s in meta["species"]}
                weights = {s: data[f"weights_{s}"] for s in meta["species"]}
        except (OSError, KeyError, ValueError) as err:
            raise ModelError(f"{folder}: not a SOAP potential folder ({err})") from None
        return cls(meta["species"], meta["params"], meta["periodic"], meta["e0"], sparse, weights)


class SoapKernelCalculator(Calculator):
    """ASE calculator of a fitted SOAP kernel potential: energy (eV), forces (eV/Å), stress (eV/Å³).

    Stress is the finite-difference strain derivative of the energy (energies are cheap; forces are not).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model: _SoapModel, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        want_forces = "forces" in properties
        energy, forces = self.model.predict(self.atoms, want_forces)
        self.results["energy"] = self.results["free_energy"] = energy
        if forces is not None:
            self.results["forces"] = forces
        if "stress" in properties:
            self.results["stress"] = self._numerical_stress(self.atoms)

    def _numerical_stress(self, atoms, delta: float = 1e-5) -> np.ndarray:
        cell = atoms.cell.array.copy()
        volume = atoms.get_volume()
        stress = np.zeros((3, 3))
        for i in range(3):
            for j in range(i, 3):
                energies = []
                for sign in (1, -1):
                    strain = np.eye(3)
                    strain[i, j] += sign * delta
                    if i != j:
                        strain[j, i] += sign * delta
                    strained = atoms.copy()
                    strained.set_cell(cell @ strain, scale_atoms=True)
                    energies.append(self.model.predict(strained, False)[0])
                value = (energies[0] - energies[1]) / (2 * delta) / volume
                stress[i, j] = stress[j, i] = value / (2 if i != j else 1)
        return stress.reshape(9)[[0, 4, 8, 5, 2, 1]]

    def save(self, folder: str | Path) -> None:
        self.model.save(Path(folder))

    @classmethod
    def load(cls, folder: str | Path) -> SoapKernelCalculator:
        return cls(_SoapModel.load(Path(folder)))


def _farthest_points(X: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `m` rows of X spread out by farthest-point sampling (rows are unit vectors)."""
    m = min(m, len(X))
    chosen = [int(rng.integers(len(X)))]
    dist = 2 - 2 * (X @ X[chosen[0]])
    for _ in range(m - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, 2 - 2 * (X @ X[nxt]))
    return np.asarray(chosen)


# Options that "auto" chooses by cross-validation, and the grid each is searched on.
AUTO_OPTIONS = {"energy_sigma": ENERGY_SIGMA_GRID, "delta": DELTA_GRID, "type_balance": TYPE_BALANCE_GRID}


def _check_options(options: dict, n_frames: int) -> dict:
    unknown = set(options) - set(SOAP_DEFAULTS)
    if unknown:
        raise InputError(f"unknown SOAP options {sorted(unknown)}", hint=f"Known: {sorted(SOAP_DEFAULTS)}")
    params = {**SOAP_DEFAULTS, **options}
    # the descriptor's and kernel's sizes: a bad value would otherwise fail deep in dscribe or numpy
    for key, (kind, low) in {"n_max": (int, 1), "l_max": (int, 0), "n_sparse": (int, 1), "cv_folds": (int, 1),
                             "zeta": (float, 1e-300), "r_cut": (float, 1e-300), "sigma": (float, 1e-300), "force_sigma": (float, 1e-300)}.items():
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)) or value < low:
            what = "a whole number" if kind is int else "a number"
            raise InputError(f"SOAP option {key} must be {what} {'>= ' + str(low) if low >= 1 or low == 0 else '> 0'}", value=value,
                             hint=f"e.g. --option {key}={SOAP_DEFAULTS[key]} (the default)")
        if kind is int:
            params[key] = int(value)
    for key in AUTO_OPTIONS:
        value = params[key]
        low = 0 if key == "type_balance" else 1e-300  # a balance of 0 is allowed, a σ or δ of 0 is not
        if value != "auto" and not (isinstance(value, (int, float)) and value >= low):
            raise InputError(f"SOAP option {key} must be 'auto' or a number ({'>= 0' if low == 0 else '> 0'}), "
                             f"not {value!r}")
    tuned = [k for k in AUTO_OPTIONS if params[k] == "auto"]
    if tuned:
        params["cv_folds"] = int(params["cv_folds"])
        if params["cv_folds"] < 2 or n_frames < params["cv_folds"]:
            raise InputError(f"choosing {' and '.join(tuned)} by cross-validation needs cv_folds >= 2 and at least "
                             f"that many frames (got cv_folds={params['cv_folds']}, {n_frames} frames)",
                             hint="Give energy_sigma and delta as numbers, or lower cv_folds")
    return params


def fit_soap(frames, *, seed: int = 0, progress=None, **options) -> SoapKernelCalculator:
    """Fit the SOAP kernel potential to frames' energies (eV) and forces (eV/Å); see the module docstring.

    Options (defaults in `SOAP_DEFAULTS`): r_cut (Å), n_max, l_max, sigma (Å), n_sparse, zeta,
    energy_sigma (eV/atom), force_sigma (eV/Å), delta (eV), type_balance, cv_folds. ``energy_sigma``,
    ``delta`` and ``type_balance`` set the energy-versus-force weighting, the smoothness prior and the weight
    of rare configuration families; left at "auto", each is chosen by K-fold cross-validation over the
    training frames (`matforge.atoms._regression`), never by the frames you test on. The choice and its CV
    errors are kept in ``calc.tuning``.
    """
    params = _check_options(options, len(frames))
    species = sorted({s for a in frames for s in a.get_chemical_symbols()})
    periodic = all(all(a.pbc) for a in frames)
    rng = np.random.default_rng(seed)

    # Per-species reference energies by least squares on composition, so the kernel only learns the
    # (much smaller) interaction energy; this is what makes absolute DFT energies with large constants usable.
    counts = np.array([[a.get_chemical_symbols().count(s) for s in species] for a in frames], dtype=float)
    energies = np.array([ref_energy(a) for a in frames])
    e0_values = np.linalg.lstsq(counts, energies, rcond=None)[0]
    e0 = dict(zip(species, e0_values.tolist(), strict=True))

    soap = _make_soap(species, params, periodic)
    descriptors = {s: [] for s in species}
    for a in frames:
        P = soap.create(a)
        P = P / np.linalg.norm(P, axis=1)[:, None]
        symbols = np.asarray(a.get_chemical_symbols())
        for s in species:
            descriptors[s].append(P[symbols == s])
    sparse = {}
    for s in species:
        X = np.concatenate(descriptors[s])
        sparse[s] = X[_farthest_points(X, int(params["n_sparse"]), rng)]
    model = _SoapModel(species, params, periodic, e0, sparse, {s: np.zeros(len(sparse[s])) for s in species})

    tuned = any(params[key] == "auto" for key in AUTO_OPTIONS)
    n_folds = params["cv_folds"] if tuned else 1
    groups = config_types(frames)
    folds = assign_folds(groups, n_folds, seed) if tuned else np.zeros(len(frames), dtype=int)
    dim = sum(len(sparse[s]) for s in species)
    equations = NormalEquations(dim, n_folds, force_samples=48 if tuned else 0, seed=seed)
    task = progress.add_task("SOAP descriptors", total=len(frames)) if progress is not None else None
    for a, fold, group in zip(frames, folds, groups, strict=True):
        n = len(a)
        energy_row, force_rows = model.kernel_rows(a, with_forces=True)
        equations.add(int(fold), energy_row / n, (ref_energy(a) - model.offsets(a)) / n, force_rows,
                      ref_forces(a).reshape(-1), group)
        if task is not None:
            progress.advance(task)
    # GAP's sparse (projected-process) prior: w ~ N(0, δ² K_MM⁻¹), i.e. the regularizer is K_MM/δ², which
    # penalises roughness of the fitted energy rather than the size of weights on nearly collinear kernels.
    prior = np.zeros((dim, dim))
    start = 0
    for s in species:
        m = len(sparse[s])
        prior[start:start + m, start:start + m] = (sparse[s] @ sparse[s].T) ** params["zeta"]
        start += m
    tuning = None
    if tuned:
        grids = {f"{key}s": values if params[key] == "auto" else (params[key],) for key, values in AUTO_OPTIONS.items()}
        tuning = equations.cross_validate(params["force_sigma"], prior, progress=progress, **grids)
        params = {**params, **{key: tuning[key] for key in AUTO_OPTIONS}}
        model.params = params
    w = equations.solve(params["energy_sigma"], params["force_sigma"], params["delta"], prior,
                        type_balance=params["type_balance"])
    split = np.cumsum([len(sparse[s]) for s in species])[:-1]
    model.weights = dict(zip(species, np.split(w, split), strict=True))
    calc = SoapKernelCalculator(model)
    calc.tuning = tuning
    return calc
