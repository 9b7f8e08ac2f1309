"""Design spaces: what may be varied, within which bounds, under which constraints (YAML, JSON or a dict).

A space is a list of variables (composition, alloy, template, continuous, integer, categorical), fixed columns
and constraints. It enumerates its candidates deterministically by grid index (`candidates(start, stop)`), so
any index range can be screened anywhere and the pieces put back together exactly; and it decodes real vectors
(`decode`) for the optimizers. See docs/design.md for the file format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from matforge.design._blocks import (
    MAX_GRID,
    CompositionBlock,
    FixedBlock,
    ParameterBlock,
    PrototypeBlock,
    TemplateBlock,
    check_element,
)
from matforge.design._constraints import Constraint
from matforge.errors import InputError

__all__ = ["DesignSpace", "load_space"]

_TYPES = ("composition", "alloy", "template", "prototype", "continuous", "integer", "categorical")


def _number(value, where: str, file: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}: expected a number", file=file, value=value)
    return float(value)


def _range(value, where: str, file: str | None) -> tuple[float, float]:
    """A fraction range written as [min, max], {min:, max:} or one number (fixed)."""
    if isinstance(value, dict):
        unknown = set(value) - {"min", "max"}
        if unknown:
            raise InputError(f"{where}: unknown key(s) {sorted(unknown)}", file=file, hint="Use min and max")
        lo, hi = value.get("min", 0.0), value.get("max", 1.0)
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        lo = hi = value
    else:
        raise InputError(f"{where}: expected [min, max], {{min:, max:}} or a number", file=file, value=value)
    lo, hi = _number(lo, where, file), _number(hi, where, file)
    if not 0.0 <= lo <= hi <= 1.0:
        raise InputError(f"{where}: fractions need 0 <= min <= max <= 1", file=file, value=[lo, hi])
    return lo, hi


def _keys(spec: dict, allowed: set[str], where: str, file: str | None) -> None:
    unknown = set(spec) - allowed
    if unknown:
        raise InputError(f"{where}: unknown key(s) {sorted(unknown)}", file=file, hint=f"Allowed: {', '.join(sorted(allowed))}")


def _step(spec: dict, where: str, file: str | None) -> float | None:
    if spec.get("step") is None:
        return None
    step = _number(spec["step"], f"{where}.step", file)
    if not 0 < step <= 1 or abs(round(1 / step) * step - 1) > 1e-9:
        raise InputError(f"{where}.step: a fraction step must divide 1 exactly (0.1, 0.05, 0.001, ...)", file=file, value=step)
    return step


def _composition(spec: dict, where: str, file: str | None) -> CompositionBlock:
    kind = spec["type"]
    _keys(spec, {"type", "column", "elements", "step", "base", "max_total", "decimals"}, where, file)
    elements = spec.get("elements")
    if not isinstance(elements, dict) or not elements:
        raise InputError(f"{where}.elements: give a mapping element: [min, max]", file=file, value=elements)
    symbols = [check_element(e, f"{where}.elements", file) for e in elements]
    bounds = [_range(v, f"{where}.elements.{e}", file) for e, v in elements.items()]
    base = spec.get("base")
    if kind == "alloy":
        if base is None:
            raise InputError(f"{where}: an alloy needs a base element (the balance)", file=file, hint="Add base: Cu")
        check_element(base, f"{where}.base", file)
        if base in symbols:
            raise InputError(f"{where}.base: the base element '{base}' takes the balance; do not list it under elements", file=file)
        max_total = spec.get("max_total")
        total_hi = sum(hi for _, hi in bounds)
        if max_total is not None:
            total_hi = min(total_hi, _number(max_total, f"{where}.max_total", file))
        symbols, bounds = [base, *symbols], [(max(0.0, 1.0 - total_hi), 1.0), *bounds]
    elif base is not None or "max_total" in spec:
        raise InputError(f"{where}: base and max_total belong to type alloy", file=file)
    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    if low.sum() > 1 + 1e-9 or high.sum() < 1 - 1e-9:
        raise InputError(f"{where}: no composition fits: the minima sum to {low.sum():g} and the maxima to {high.sum():g} (fractions must sum to 1)", file=file)
    block = CompositionBlock(column=str(spec.get("column", "formula")), elements=symbols, low=low, high=high, step=_step(spec, where, file), base=base)
    if "decimals" in spec and not block.step:
        block.decimals = int(_number(spec["decimals"], f"{where}.decimals", file))
    return block


_SITE = re.compile(r"^(.*?)(\d+(?:\.\d+)?)?$")


def _template(spec: dict, where: str, file: str | None) -> TemplateBlock:
    _keys(spec, {"type", "column", "template", "sites", "charge_balanced", "anion_sites", "distinct", "unique"}, where, file)
    text, sites = spec.get("template"), spec.get("sites")
    if not isinstance(text, str) or not text.split():
        raise InputError(f"{where}.template: give the sites separated by spaces, like 'A B X3'", file=file, value=text)
    if not isinstance(sites, dict) or not sites:
        raise InputError(f"{where}.sites: give each site's elements, like A: [Ca, Sr]", file=file, value=sites)
    labels, amounts = [], []
    for token in text.split():
        label, amount = _SITE.match(token).groups()
        if label not in sites:
            raise InputError(f"{where}.template: site '{label}' has no element list under sites", file=file, value=text)
        labels.append(label)
        amounts.append(float(amount) if amount else 1.0)
    extra = set(sites) - set(labels)
    if extra:
        raise InputError(f"{where}.sites: site(s) {sorted(extra)} are not in the template '{text}'", file=file)
    elements = {}
    for label in labels:
        members = sites[label]
        if isinstance(members, str):
            members = members.split()
        if not isinstance(members, list) or not members:
            raise InputError(f"{where}.sites.{label}: give a list of elements", file=file, value=members)
        elements[label] = [check_element(e, f"{where}.sites.{label}", file) for e in dict.fromkeys(members)]
    anions = spec.get("anion_sites", [labels[-1]])
    anions = [anions] if isinstance(anions, str) else list(anions)
    if not set(anions) <= set(labels):
        raise InputError(f"{where}.anion_sites: {anions} are not all sites of '{text}'", file=file)
    size = math.prod(len(v) for v in elements.values())
    if size > 20_000_000:
        raise InputError(f"{where}: {size:,} site combinations are too many to list", file=file, hint="Use smaller element sets")
    return TemplateBlock(
        column=str(spec.get("column", "formula")), labels=labels, amounts=amounts, sites=elements, anion_sites=anions,
        charge_balanced=bool(spec.get("charge_balanced", True)), distinct=bool(spec.get("distinct", True)), unique=bool(spec.get("unique", True)),
    )  # fmt: skip


def _prototype(spec: dict, where: str, file: str | None) -> PrototypeBlock:
    from matforge.data import parse_structures

    _keys(spec, {"type", "column", "formula_column", "structure", "sites", "charge_balanced", "anion_sites", "distinct", "volume",
                 "relax", "relax_fmax", "relax_steps"}, where, file)
    if not isinstance(spec.get("structure"), str):
        raise InputError(f"{where}.structure: give the prototype's file (CIF, POSCAR, ...; relative to the space file) or its CIF text", file=file)
    prototype = parse_structures([spec["structure"]], source=file, column=f"{where}.structure")[0]
    species = list(dict.fromkeys(site.specie.symbol for site in prototype))  # in the order of the file's sites
    sites = spec.get("sites")
    if not isinstance(sites, dict) or not sites:
        raise InputError(f"{where}.sites: give the elements each species of the prototype may become, like Na: [Li, Na, K]", file=file, value=sites)
    unknown = [label for label in sites if label not in species]
    if unknown:
        raise InputError(f"{where}.sites: {unknown} are not elements of the prototype ({' '.join(species)})", file=file)
    elements = {}
    for label in species:  # a species without a list stays itself
        members = sites.get(label, [label])
        if isinstance(members, str):
            members = members.split()
        if not isinstance(members, list) or not members:
            raise InputError(f"{where}.sites.{label}: give a list of elements", file=file, value=members)
        elements[label] = [check_element(e, f"{where}.sites.{label}", file) for e in dict.fromkeys(members)]
    amounts = prototype.composition.reduced_composition
    guesses = prototype.composition.oxi_state_guesses(max_sites=-1)
    reference = {k: int(round(v)) for k, v in guesses[0].items()} if guesses else {}
    charge_balanced = bool(spec.get("charge_balanced", bool(reference)))
    if charge_balanced and not reference and "anion_sites" not in spec:
        raise InputError(f"{where}: the prototype {prototype.composition.reduced_formula} has no charge-balanced oxidation states to read its anion sites from", file=file, hint="Name them with anion_sites, or set charge_balanced: false")
    anions = spec.get("anion_sites", [label for label in species if reference.get(label, 0) < 0])
    anions = [anions] if isinstance(anions, str) else list(anions)
    if not set(anions) <= set(species):
        raise InputError(f"{where}.anion_sites: {anions} are not all elements of the prototype ({' '.join(species)})", file=file)
    volume = spec.get("volume", "radii")
    if volume not in ("radii", "keep"):
        raise InputError(f"{where}.volume: 'radii' (scaled to the new atoms' sizes) or 'keep' (the prototype's cell)", file=file, value=volume)
    size = math.prod(len(v) for v in elements.values())
    if size > 1_000_000:
        raise InputError(f"{where}: {size:,} substitutions are too many to list", file=file, hint="Use smaller element sets")
    relaxer = None
    if spec.get("relax") is not None:
        from matforge.design._relax import Relaxer

        relaxer = Relaxer.from_spec(spec["relax"], fmax=spec.get("relax_fmax", 0.01), steps=spec.get("relax_steps", 200), where=where, file=file)
        relaxer.check_elements({e for members in elements.values() for e in members}, where, file)
    return PrototypeBlock(
        column=str(spec.get("column", "structure")), labels=species, amounts=[float(amounts[e]) for e in species], sites=elements,
        anion_sites=anions, charge_balanced=charge_balanced, distinct=bool(spec.get("distinct", True)), unique=False,
        prototype=prototype, formula_column=str(spec.get("formula_column", "formula")), volume=volume, reference_states=reference,
        relaxer=relaxer,
    )  # fmt: skip


def _parameter(spec: dict, where: str, file: str | None) -> ParameterBlock:
    kind = spec["type"]
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: a {kind} parameter needs a name (the column the model was trained with)", file=file)
    if kind == "categorical":
        _keys(spec, {"type", "name", "choices"}, where, file)
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise InputError(f"{where}.choices: give a list of values", file=file, value=choices)
        return ParameterBlock(name, kind, choices=list(choices))
    _keys(spec, {"type", "name", "low", "high", "step", "levels"}, where, file)
    low, high = _number(spec.get("low"), f"{where}.low", file), _number(spec.get("high"), f"{where}.high", file)
    if low > high:
        raise InputError(f"{where}: low {low:g} is above high {high:g}", file=file)
    step = spec.get("step")
    if step is not None and (_number(step, f"{where}.step", file) <= 0):
        raise InputError(f"{where}.step: must be positive", file=file, value=step)
    if kind == "integer" and (low != int(low) or high != int(high) or (step is not None and step != int(step))):
        raise InputError(f"{where}: an integer parameter needs whole-number low, high and step", file=file)
    levels = spec.get("levels")
    if levels is not None and (not isinstance(levels, int) or levels < 2):
        raise InputError(f"{where}.levels: give a whole number of at least 2", file=file, value=levels)
    return ParameterBlock(name, kind, low=low, high=high, step=None if step is None else float(step), levels=levels)


class DesignSpace:
    """Candidates as the product of its variables, filtered by its constraints.

    Parameters
    ----------
    spec : the parsed space (see docs/design.md): ``variables`` (list), ``fixed`` (mapping column: value) and
        ``constraints`` (list of texts like ``"Cr + Zr <= 0.015"``).
    source : file name for error messages.

    ``size`` is the number of grid points before constraints; ``candidates(start, stop)`` returns the grid
    points with index in [start, stop) that satisfy every constraint, with their index in column ``candidate``.

    >>> space = DesignSpace({"variables": [{"type": "composition", "elements": {"Fe": [0, 1], "Ni": [0, 1]}, "step": 0.5}]})
    >>> list(space.candidates(0, space.size)["formula"])
    ['Ni1', 'Fe0.5Ni0.5', 'Fe1']
    """

    def __init__(self, spec: dict, source: str | None = None):
        self.source = source
        file = source
        if not isinstance(spec, dict):
            raise InputError("a design space must be a mapping with 'variables'", file=file)
        _keys(spec, {"name", "description", "variables", "fixed", "constraints"}, "space", file)
        variables = spec.get("variables")
        if not isinstance(variables, list) or not variables:
            raise InputError("space.variables: give a list of variables", file=file, hint="See docs/design.md")
        self.name = str(spec.get("name", Path(source).stem if source else "space"))
        self.blocks: list = []
        for i, item in enumerate(variables):
            where = f"variables[{i}]"
            if not isinstance(item, dict) or item.get("type") not in _TYPES:
                raise InputError(f"{where}: 'type' must be one of {', '.join(_TYPES)}", file=file, value=item.get("type") if isinstance(item, dict) else item)
            if item["type"] in ("composition", "alloy"):
                self.blocks.append(_composition(item, where, file))
            elif item["type"] == "template":
                self.blocks.append(_template(item, where, file))
            elif item["type"] == "prototype":
                self.blocks.append(_prototype(item, where, file))
            else:
                self.blocks.append(_parameter(item, where, file))
        fixed = spec.get("fixed") or {}
        if not isinstance(fixed, dict):
            raise InputError("space.fixed: give a mapping column: value", file=file, value=fixed)
        self.blocks += [FixedBlock(str(k), v) for k, v in fixed.items()]
        seen: set[str] = set()
        for block in self.blocks:
            for name in block.names:
                if name in seen:
                    raise InputError(f"space: column '{name}' is defined twice", file=file)
                seen.add(name)
        self.columns = [n for b in self.blocks for n in b.names]
        raw = spec.get("constraints") or []
        if not isinstance(raw, list):
            raise InputError("space.constraints: give a list of texts like 'Cr + Zr <= 0.1'", file=file, value=raw)
        self.constraints = [Constraint.parse(t, where=f"constraints[{i}]", file=file) for i, t in enumerate(raw)]
        known = self._known_names()
        for i, c in enumerate(self.constraints):
            for name in c.names:
                if name not in known:
                    raise InputError(f"constraints[{i}]: '{name}' is neither a numeric parameter nor an element of a composition", file=file, value=c.text)
                if known[name] > 1:
                    raise InputError(f"constraints[{i}]: element '{name}' appears in several compositions", file=file, value=c.text)

    def _known_names(self) -> dict[str, int]:
        known: dict[str, int] = {}
        for block in self.blocks:
            names = block.elements if isinstance(block, CompositionBlock) else ([block.name] if isinstance(block, ParameterBlock) and block.kind != "categorical" else [])
            if isinstance(block, FixedBlock) and not isinstance(block.value, str):
                names = [block.name]
            for name in names:
                known[name] = known.get(name, 0) + 1
        return known

    @classmethod
    def from_file(cls, path: str | Path) -> DesignSpace:
        """Read a space from YAML or JSON."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise InputError("design space file not found", file=str(path))
        try:
            spec = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)  # where the parser stopped (0-based line and column)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            what = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise InputError(f"cannot read the design space{where}: {what}", file=str(path), hint="Check the indentation and the '-' and ':' there (YAML)") from None
        return cls(spec, source=str(path))

    # ---- enumeration
    @property
    def radices(self) -> list[int]:
        sizes = []
        for block in self.blocks:
            size = block.size
            if size is None:
                what = f"composition '{block.column}'" if isinstance(block, CompositionBlock) else f"parameter '{block.name}'"
                raise InputError(f"the {what} is continuous and cannot be enumerated", file=self.source, hint="Give it a step (or levels), or search it with 'matforge design'")
            sizes.append(int(size))
        return sizes

    @property
    def size(self) -> int:
        """Grid points before constraints (raises `InputError` when a variable has no grid or it is too large)."""
        total = math.prod(self.radices)
        if total >= MAX_GRID:
            raise InputError(f"the space has {total:.3g} grid points, too many to enumerate", file=self.source, hint="Use coarser steps, or 'matforge design' to search it")
        return total

    def candidates(self, start: int, stop: int) -> pd.DataFrame:
        """Feasible candidates with grid index in [start, stop), in index order; pure function of the indices."""
        return self.candidates_parsed(start, stop)[0]

    def candidates_parsed(self, start: int, stop: int, *, text: bool = True) -> tuple[pd.DataFrame, dict]:
        """`candidates` plus, for each composition column, its parsed `matforge.chem.Compositions` (rows as in
        the frame). Screening hands these to the featurizer, which then skips writing and re-reading text.
        With ``text=False`` the composition columns are left out of the frame (`with_text` adds them to the
        few rows a screen keeps)."""
        stop = min(stop, self.size)
        return self._rows(np.arange(start, max(start, stop), dtype=np.int64), text=text, feasible_only=True)

    def with_text(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (rows of this space, with their grid index in ``candidate``) with the composition columns
        written back in their place, as `candidates` gives them."""
        rows, _ = self._rows(frame["candidate"].to_numpy(dtype=np.int64), text=True, feasible_only=False)
        missing = [c for c in rows.columns if c not in frame.columns]
        out = frame.reset_index(drop=True).copy()
        for column in missing:
            out.insert(list(rows.columns).index(column), column, rows[column].to_numpy())
        return out

    def _rows(self, index: np.ndarray, *, text: bool, feasible_only: bool) -> tuple[pd.DataFrame, dict]:
        radices = self.radices
        columns: dict = {"candidate": index}
        namespace: dict = {}
        parsed: dict = {}
        place = index.copy()
        digits = []
        for radix in reversed(radices):  # the last variable varies fastest
            digits.append(place % radix)
            place //= radix
        for block, digit in zip(self.blocks, reversed(digits), strict=True):
            if isinstance(block, CompositionBlock):
                counts = block.step_counts(digit)
                cols, names = block.grid_columns(counts, text=text)
                parsed[block.column] = block.compositions(counts)
            else:
                cols, names = block.grid(digit)
            columns.update(cols)
            namespace.update(names)
        frame = pd.DataFrame(columns)
        if feasible_only and self.constraints and len(frame):
            ok = self.violation(namespace, len(frame)) == 0
            frame = frame.loc[ok].reset_index(drop=True)
            parsed = {column: batch.take(np.flatnonzero(ok)) for column, batch in parsed.items()}
        return frame, parsed

    @property
    def max_chunk(self) -> int | None:
        """Candidates per chunk (and per cluster task) at most: few where each is relaxed by a potential."""
        limits = [b.max_chunk for b in self.blocks if getattr(b, "max_chunk", None)]
        return min(limits) if limits else None

    def chunks(self, chunk_size: int = 20_000) -> Iterator[tuple[int, int]]:
        """Index ranges [start, stop) covering the grid in order (shorter where candidates are relaxed)."""
        size = self.size
        chunk_size = min(chunk_size, self.max_chunk or chunk_size)
        for start in range(0, size, chunk_size):
            yield start, min(size, start + chunk_size)

    def violation(self, namespace: dict, n: int) -> np.ndarray:
        total = np.zeros(n)
        for constraint in self.constraints:
            total += constraint.violation(namespace, n)
        return total

    # ---- continuous encoding (optimizers)
    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the real vector the optimizers search."""
        return np.concatenate([b.lower for b in self.blocks]), np.concatenate([b.upper for b in self.blocks])

    def decode(self, X: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Candidates for the rows of `X` and their total constraint violation (0 = feasible)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        columns: dict = {}
        namespace: dict = {}
        violation = np.zeros(len(X))
        at = 0
        for block in self.blocks:
            width = len(block.lower)
            cols, names, outside = block.decode(X[:, at : at + width])
            at += width
            columns.update(cols)
            namespace.update(names)
            violation += outside
        return pd.DataFrame(columns), violation + self.violation(namespace, len(X))

    def __repr__(self) -> str:
        return f"DesignSpace({self.name!r}, columns={self.columns}, constraints={len(self.constraints)})"


def load_space(space: str | Path | dict | DesignSpace) -> DesignSpace:
    """A `DesignSpace` from a file path, a dict or an existing space."""
    if isinstance(space, DesignSpace):
        return space
    if isinstance(space, dict):
        return DesignSpace(space)
    return DesignSpace.from_file(space)
