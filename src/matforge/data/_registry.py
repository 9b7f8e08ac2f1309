"""Datasets available offline (shipped inside installed packages) and loaders for downloadable ones."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from matforge.errors import InputError

__all__ = ["DatasetInfo", "DATASETS", "load_dataset", "dataset_info"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    n_rows: int | None
    target: str
    task: str
    columns: dict[str, str]
    citation: str
    source: str
    loader: Callable[[], pd.DataFrame]
    offline: bool = True

    def describe(self) -> dict:
        return {
            "name": self.name, "title": self.title, "rows": self.n_rows, "default_target": self.target,
            "task": self.task, "columns": self.columns, "citation": self.citation, "source": self.source,
            "offline": self.offline,
        }  # fmt: skip


RICCI_2017 = (
    "F. Ricci, W. Chen, U. Aydemir, G. J. Snyder, G.-M. Rignanese, A. Jain, G. Hautier, An ab initio electronic "
    "transport database for inorganic materials, Sci. Data 4, 170085 (2017). doi:10.1038/sdata.2017.85"
)

_TRANSPORT_COLUMNS = {
    "formula": "reduced formula of the Materials Project entry",
    "mp_id": "Materials Project identifier",
    "sigma_p": "electrical conductivity, p-type, in S/m (constant relaxation time 1e-14 s), 300 K, 1e20 cm^-3 holes",
    "sigma_n": "electrical conductivity, n-type, in S/m (constant relaxation time 1e-14 s), 300 K, 1e20 cm^-3 electrons",
    "S_p": "Seebeck coefficient, p-type, in µV/K, 300 K, 1e20 cm^-3 holes",
    "S_n": "Seebeck coefficient, n-type, in µV/K, 300 K, 1e20 cm^-3 electrons",
    "kappa_p": "electronic thermal conductivity, p-type, in W/(m·K) (relaxation time 1e-14 s)",
    "kappa_n": "electronic thermal conductivity, n-type, in W/(m·K) (relaxation time 1e-14 s)",
    "PF_p": "power factor S²σ, p-type, in µW/(cm·K²)",
    "PF_n": "power factor S²σ, n-type, in µW/(cm·K²)",
    "m_p": "conductivity effective mass of holes, in electron masses",
    "m_n": "conductivity effective mass of electrons, in electron masses",
}


@lru_cache(maxsize=1)
def _load_transport() -> pd.DataFrame:
    archive = resources.files("matminer") / "utils" / "data_files" / "mp_transport" / "transport_database.tar.xz"
    with resources.as_file(archive) as path, tarfile.open(path, mode="r:xz") as tar:
        member = tar.extractfile("transport_database.csv")
        if member is None:  # pragma: no cover - depends on the matminer wheel
            raise InputError("transport_database.csv missing from matminer's archive")
        frame = pd.read_csv(member)
    frame = frame.rename(columns={"pretty_formula": "formula"})
    return frame[["formula", "mp_id", *[c for c in _TRANSPORT_COLUMNS if c not in ("formula", "mp_id")]]]


@lru_cache(maxsize=1)
def _load_transport_elements() -> pd.DataFrame:
    path = resources.files("matminer") / "utils" / "data_files" / "mp_transport" / "transport_pure_elems.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file)


def _matminer_loader(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import socket

        from matminer.datasets import load_dataset as mm_load

        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(15)  # fail fast offline instead of hanging on a dead connection
        try:
            frame = mm_load(name)
        except Exception as err:  # network or checksum failure, whatever matminer raises
            raise InputError(
                f"could not download the matminer dataset '{name}': {type(err).__name__}",
                hint="matminer downloads it once (from the address it printed above) into its data folder (MATMINER_DATA, "
                     "by default inside the matminer package); check the network",
            ) from None
        finally:
            socket.setdefaulttimeout(previous)
        if "composition" in frame.columns and not isinstance(frame["composition"].iloc[0], str):
            frame["composition"] = frame["composition"].map(str)
        return frame

    return load


DATASETS: dict[str, DatasetInfo] = {
    "transport": DatasetInfo(
        "transport", "Ab initio electronic transport of 47,737 inorganic compounds (Ricci et al. 2017)", 47737, "S_p",
        "regression", _TRANSPORT_COLUMNS, RICCI_2017, "shipped inside the matminer wheel (mp_transport/transport_database.tar.xz)",
        _load_transport,
    ),
    "transport_elements": DatasetInfo(
        "transport_elements", "Transport properties of the pure elements in the Ricci database", None, "S_p", "regression",
        {"element": "element symbol", **{k: v for k, v in _TRANSPORT_COLUMNS.items() if k not in ("formula", "mp_id")}},
        RICCI_2017, "shipped inside the matminer wheel (mp_transport/transport_pure_elems.csv)", _load_transport_elements,
    ),
}  # fmt: skip

for _name, _target, _task, _rows in [
    ("matbench_expt_gap", "gap expt", "regression", 4604), ("matbench_expt_is_metal", "is_metal", "classification", 4921),
    ("matbench_glass", "gfa", "classification", 5680), ("matbench_steels", "yield strength", "regression", 312),
    ("matbench_mp_e_form", "e_form", "regression", 132752), ("expt_formation_enthalpy", "e_form expt", "regression", 1276),
]:  # fmt: skip
    DATASETS[_name] = DatasetInfo(
        _name, f"matminer dataset {_name} (downloads once, checksum verified by matminer)", _rows, _target, _task, {},
        "A. Dunn, Q. Wang, A. Ganose, D. Dopp, A. Jain, Benchmarking materials property prediction methods: the "
        "Matbench test set and Automatminer reference algorithm, npj Comput. Mater. 6, 138 (2020).",
        "https://ml.materialsproject.org (via matminer.datasets)", _matminer_loader(_name), offline=False,
    )


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise InputError(f"unknown dataset '{name}'", hint=f"Available: {', '.join(DATASETS)}")
    return DATASETS[name]


def load_dataset(name: str) -> pd.DataFrame:
    """Load a registered dataset as a DataFrame (offline ones need no network).

    >>> load_dataset("transport").shape  # doctest: +SKIP
    (47737, 12)
    """
    frame = dataset_info(name).loader().copy()
    frame.attrs["source"] = f"dataset:{name}"
    return frame
