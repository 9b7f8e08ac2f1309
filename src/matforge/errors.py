"""Typed errors. The CLI turns `InputError` into one line on stderr and exit code 2."""

from __future__ import annotations

from typing import Any

__all__ = ["MatforgeError", "InputError", "ModelError"]


class MatforgeError(Exception):
    """Base class of every error matforge raises on purpose."""


class InputError(MatforgeError, ValueError):
    """The user's input (file, formula, option, design space) is not usable.

    Carries where the problem is, so that one line tells the user what to fix.

    Parameters
    ----------
    message : what is wrong, in the user's words.
    file, row, column, value : where; row is 0-based over data rows (the header is not a row).
    hint : what to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        self.hint = hint
        super().__init__(str(self))

    def located(self, *, file: str | None = None, row: int | None = None, column: str | None = None) -> InputError:
        """A copy of this error with missing location fields filled in."""
        return InputError(
            self.message,
            file=self.file if self.file is not None else file,
            row=self.row if self.row is not None else row,
            column=self.column if self.column is not None else column,
            value=self.value,
            hint=self.hint,
        )

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = (": ".join([", ".join(where), self.message]) if where else self.message)
        if self.value is not None:
            text += f" (value {shown_value(self.value)})"
        if self.hint:
            text += f". {self.hint}"
        return text.replace("\n", " ")


def shown_value(value: Any) -> str:
    """A cell's value as an error message quotes it: Python's repr of the plain value (``inf``, not
    ``np.float64(inf)``), at most 80 characters."""
    shown = repr(value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


class ModelError(MatforgeError):
    """A model or run folder cannot be used as asked (e.g. a run folder from a newer version)."""
