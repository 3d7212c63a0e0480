"""Detects Finnish personal identity codes (henkilötunnus), including the 2023 century signs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

# What a drop that holds a code is told (with its file and column, never the value).
FOUND = "holds a personal identity code (henkilötunnus); the whole drop is quarantined"
CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
           "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])(?![0-9A-Za-z])")


def is_identity_code(text: str) -> bool:
    """True when text is exactly one valid henkilötunnus (date, century sign, check character)."""
    match = _CANDIDATE.fullmatch(text.strip())
    return bool(match) and _valid(*match.groups())


def contains_identity_code(text: str) -> bool:
    """True when a valid henkilötunnus stands anywhere in text."""
    return any(_valid(*m.groups()) for m in _CANDIDATE.finditer(text))


def first_with_identity_code(values: Iterable[object]) -> int | None:
    """Index of the first value holding a valid code, or None (never the value itself)."""
    for index, value in enumerate(values):
        if isinstance(value, str) and len(value) >= 11 and contains_identity_code(value):
            return index
    return None


def _valid(birth: str, sign: str, individual: str, check: str) -> bool:
    day, month, year = int(birth[:2]), int(birth[2:4]), int(birth[4:6])
    try:
        date(CENTURY[sign] + year, month, day)
    except ValueError:
        return False
    # 002-899 are permanent codes, 900-999 temporary ones: both identify a person.
    if not 2 <= int(individual) <= 999:
        return False
    return CHECK_CHARS[int(birth + individual) % 31] == check
