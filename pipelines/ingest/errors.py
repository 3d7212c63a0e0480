"""Errors are values with context: which file, row and column, and which rule (DESIGN §3).

A reason never quotes the data: cell values, column headers and keys taken from a file can be
names or identity codes. Reasons are written from the fixed phrases of the code, the contract's
own names (files, sheets, columns) and numbers. The two parts a drop chooses itself — a file
name from the manifest and a column name — are shown only when they are harmless tokens;
anything else is replaced by what it is (`the students file`, `a column`).
"""

from __future__ import annotations

import re

# A file name as the manifest gives it, shown when it is a plain token (`oppilaat.csv`,
# `workbook.xlsx[Poissaolot]`); otherwise the file is named by its manifest key.
_SAFE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(\[[A-Za-z]{1,20}\])?")
# Column names that can appear in a reason: the contract's lowercase names, or a position.
_STAND_IN = re.compile(r"the [a-z]{1,20} file|the [A-Za-z]{1,20} sheet")
_SAFE_COLUMN = re.compile(r"[a-z][a-z_]{0,29}|column (\d{1,5}|[A-Z]{1,3})")


def file_label(name: str, key: str) -> str:
    """How a reason names a data file: its name when that is a plain token, else its key."""
    return name if _SAFE_FILE.fullmatch(name) else f"the {key} file"


def safe_file(file: str | None) -> str | None:
    if file is None or _SAFE_FILE.fullmatch(file) or _STAND_IN.fullmatch(file):
        return file
    return "a file"


def safe_column(column: str | None) -> str | None:
    if column is None or _SAFE_COLUMN.fullmatch(column):
        return column
    return "a column"


def describe(reason: str, *, file: str | None = None, row: int | None = None,
             column: str | None = None) -> str:
    """`file, row N, column C: reason`, with file and column passed through the guards."""
    parts = [safe_file(file), f"row {row}" if row is not None else None,
             f"column {safe_column(column)}" if column else None]
    where = ", ".join(p for p in parts if p)
    return f"{where}: {reason}" if where else reason


class DropError(Exception):
    """A problem that quarantines the whole drop (DESIGN §3)."""

    def __init__(self, reason: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.reason = reason
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.describe())

    def describe(self) -> str:
        return describe(self.reason, file=self.file, row=self.row, column=self.column)

    def fields(self) -> dict:
        """Keyword arguments that rebuild this error (it crosses a process boundary)."""
        return {"reason": self.reason, "file": self.file, "row": self.row, "column": self.column}
