"""Errors are values with context: which file, row and column, and why."""

from __future__ import annotations


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
        where = ", ".join(
            part
            for part in (
                self.file,
                f"row {self.row}" if self.row is not None else None,
                f"column {self.column}" if self.column else None,
            )
            if part
        )
        return f"{where}: {self.reason}" if where else self.reason
