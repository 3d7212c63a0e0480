"""Text → typed columns for the profile readers; every value that will not convert is a reject."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.ingest.readers import RawSource


def _record(source: RawSource, frame: pd.DataFrame, bad: pd.Series, column: str,
            reason: str) -> None:
    """Reject the rows marked bad; the reason names the rule, never the value (DESIGN §3)."""
    for row in frame.loc[bad, "_row"]:
        source.reject(int(row), column, reason)


def to_date(source: RawSource, frame: pd.DataFrame, column: str, fmt: str,
            *, required: bool = True) -> pd.Series:
    """Parse dates; an unparseable (or, when required, empty) value rejects its row."""
    raw = frame[column]
    parsed = pd.to_datetime(raw, format=fmt, errors="coerce").astype("datetime64[us]")
    bad = parsed.isna() & (raw.notna() | required)
    human = {"%d.%m.%Y": "d.m.yyyy", "%Y-%m-%d": "yyyy-mm-dd"}.get(fmt, fmt)
    _record(source, frame, bad & raw.notna(), column, f"not a date {human}")
    _record(source, frame, bad & raw.isna(), column, "is empty")
    return parsed.where(~bad)


def to_number(source: RawSource, frame: pd.DataFrame, column: str, *, decimal_comma: bool,
              integer: bool = False) -> pd.Series:
    """Parse numbers (decimal comma where the profile says so); failures reject the row."""
    raw = frame[column]
    if pd.api.types.is_float_dtype(raw):  # already numbers (a JSON block read by Arrow)
        parsed = raw
    else:
        text = raw.astype("str").str.strip()
        if decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        parsed = pd.to_numeric(text.where(raw.notna()), errors="coerce")
    bad = parsed.isna()
    if integer:
        bad |= parsed.notna() & (np.floor(parsed) != parsed)
    _record(source, frame, bad & raw.notna(), column,
            "not a whole number" if integer else "not a number")
    _record(source, frame, bad & raw.isna(), column, "is empty")
    parsed = parsed.where(~bad)
    return parsed.astype("Int64") if integer else parsed.astype("float64")


def to_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Stripped text with empty strings as missing."""
    text = frame[column].astype("str").where(frame[column].notna()).str.strip()
    return text.where(text != "")


def without_rejected(source: RawSource, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of frame that no conversion of this source has rejected."""
    rejected = {row for row, _, _ in source.rejects}
    return frame[~frame["_row"].isin(rejected)] if rejected else frame
