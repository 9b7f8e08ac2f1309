"""Constraints of a design space as small arithmetic expressions, evaluated safely over whole columns.

``"Cr + Zr <= 0.015"`` or ``"aging_time * aging_temperature >= 2000"``: names are process parameters or element
fractions; only numbers, names, ``+ - * / **``, one comparison and a few functions are allowed (parsed with
`ast`, never `eval`), so a space file cannot run code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from matforge.errors import InputError

__all__ = ["Constraint", "TOLERANCE"]

# fractions are sums of grid steps in floating point: compare with this slack
TOLERANCE = 1e-9
_FUNCTIONS = {"abs": np.abs, "sqrt": np.sqrt, "log": np.log, "exp": np.exp}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq)


@dataclass(frozen=True)
class Constraint:
    """One inequality (or equality) over the columns of a candidate; ``violation`` is 0 where it holds."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, *, where: str = "constraints", file: str | None = None) -> Constraint:
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: a constraint must be a text like 'Cr + Zr <= 0.1'", file=file, value=text)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise InputError(f"{where}: cannot read constraint", file=file, value=text, hint="Write it like 'Cr + Zr <= 0.1'") from None
        body = tree.body
        if not (isinstance(body, ast.Compare) and len(body.ops) == 1 and isinstance(body.ops[0], _COMPARE)):
            raise InputError(f"{where}: a constraint needs exactly one comparison (<, <=, >, >=, ==)", file=file, value=text)
        names: list[str] = []
        for node in ast.walk(body):
            if isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Call):
                if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and len(node.args) == 1 and not node.keywords):
                    raise InputError(f"{where}: only {', '.join(_FUNCTIONS)} of one argument may be called", file=file, value=text)
            elif not isinstance(node, (ast.Compare, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Load, ast.USub, ast.UAdd, *_BINARY, *_COMPARE)):
                raise InputError(f"{where}: '{type(node).__name__}' is not allowed in a constraint", file=file, value=text)
            if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
                raise InputError(f"{where}: only numbers may appear as constants", file=file, value=text)
        called = {n.func.id for n in ast.walk(body) if isinstance(n, ast.Call)}
        return cls(text=text.strip(), tree=tree, names=tuple(dict.fromkeys(n for n in names if n not in called)))

    def _value(self, node: ast.AST, namespace: dict[str, np.ndarray]) -> np.ndarray:
        if isinstance(node, ast.Constant):
            return np.asarray(float(node.value))
        if isinstance(node, ast.Name):
            return np.asarray(namespace[node.id], dtype=float)
        if isinstance(node, ast.UnaryOp):
            inner = self._value(node.operand, namespace)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            with np.errstate(divide="ignore", invalid="ignore"):
                return _BINARY[type(node.op)](self._value(node.left, namespace), self._value(node.right, namespace))
        if isinstance(node, ast.Call):
            with np.errstate(divide="ignore", invalid="ignore"):
                return _FUNCTIONS[node.func.id](self._value(node.args[0], namespace))
        raise AssertionError(f"unvalidated node {type(node).__name__}")  # parse() admits no other node

    def violation(self, namespace: dict[str, np.ndarray], n: int) -> np.ndarray:
        """How far each row is from satisfying the constraint (0 where satisfied; NaN counts as violated)."""
        body = self.tree.body
        left = self._value(body.left, namespace)
        right = self._value(body.comparators[0], namespace)
        op = body.ops[0]
        if isinstance(op, (ast.Lt, ast.LtE)):
            gap = left - right
        elif isinstance(op, (ast.Gt, ast.GtE)):
            gap = right - left
        else:
            gap = np.abs(left - right)
        gap = np.broadcast_to(np.asarray(gap, dtype=float), (n,))
        return np.where(np.isnan(gap), np.inf, np.maximum(gap - TOLERANCE, 0.0))
