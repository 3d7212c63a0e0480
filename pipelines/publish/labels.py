"""Every word an official reads, from one table: `labels.csv` (key, then one column per
language). Finnish is the only language today; Swedish or English is a new column, not code.

Numbers are written the way the language writes them: decimal and thousands separators come
from the same locale Vega uses for the charts (`format.locale`, e.g. fi-FI), units and date
patterns from the labels (`format.pct` = "{value} %"), so the tables and the charts agree.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

LABELS_CSV = Path(__file__).with_name("labels.csv")
DEFAULT_LANGUAGE = "fi"
NBSP = "\u00a0"
MINUS = "\u2212"


class Labels(Mapping[str, str]):
    """key -> text in one language (falling back to Finnish where a translation is empty)."""

    def __init__(self, texts: Mapping[str, str], language: str = DEFAULT_LANGUAGE) -> None:
        self._texts = dict(texts)
        self.language = language

    def __getitem__(self, key: str) -> str:
        try:
            return self._texts[key]
        except KeyError:
            raise KeyError(f"no label {key!r} in {LABELS_CSV.name}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def get_text(self, key: str, default: str) -> str:
        """The label, or `default` (e.g. a name carried by the data) where there is none."""
        return self._texts.get(key) or default

    def fill(self, key: str, **values: object) -> str:
        """A label with `{placeholders}` filled in."""
        return self[key].format(**values)

    # -- numbers, dates ------------------------------------------------------------------

    @property
    def number_locale(self) -> dict:
        """d3-format locale of the language (what Vega formats chart numbers with), with the
        percent sign written as the labels write it ("6,1 %")."""
        return {**_format_locale(self["format.locale"]),
                "percent": self["format.pct"].replace("{value}", "").replace(" ", NBSP)}

    @property
    def time_locale(self) -> dict:
        return _time_locale(self["format.locale"])

    def number(self, value: float, decimals: int = 0) -> str:
        """12345.6 -> "12 345,6" (fi)."""
        locale = _format_locale(self["format.locale"])
        text = f"{abs(value):,.{decimals}f}"
        text = (text.replace(",", "\x00").replace(".", locale["decimal"])
                .replace("\x00", locale["thousands"]))
        # No sign on a value that rounds to zero ("−0,0" would be noise).
        negative = value < 0 and round(abs(value), decimals) != 0
        return (MINUS if negative else "") + text

    def pct(self, share: float, decimals: int = 1) -> str:
        return self._unit("format.pct", self.number(share * 100, decimals))

    def points(self, change: float, decimals: int = 1) -> str:
        """A change of a share in percentage points, always signed: -0.03 -> "−3,0 %-yks."."""
        text = self.number(change * 100, decimals)
        if not text.startswith(MINUS) and round(change * 100, decimals) != 0:
            text = "+" + text
        return self._unit("format.pp", text)

    def days(self, value: float) -> str:
        return self._unit("format.days", self.number(value, 1))

    def lessons(self, value: float) -> str:
        return self.number(value, 0 if float(value).is_integer() else 1)

    def date(self, value: date) -> str:
        return self.fill("format.date", d=value.day, m=value.month, y=value.year)

    def datetime(self, value: datetime) -> str:
        local = value.astimezone(ZoneInfo(self["format.time_zone"])) if value.tzinfo else value
        return self.fill("format.datetime", d=local.day, m=local.month, y=local.year,
                         H=local.hour, M=f"{local.minute:02d}")

    def month(self, value: date) -> str:
        return self.fill("format.month", month=self[f"month.{value.month}"], y=value.year)

    def week(self, start: date, end: date) -> str:
        return self.fill("format.week", week=start.isocalendar().week,
                         start=self.fill("format.day_month", d=start.day, m=start.month),
                         end=self.date(end))

    def _unit(self, key: str, number: str) -> str:
        # No line break between a number and its unit.
        return self.fill(key, value=number).replace(" ", NBSP)


@lru_cache(maxsize=8)
def load_labels(language: str = DEFAULT_LANGUAGE, path: Path = LABELS_CSV) -> Labels:
    """The labels of `language` (a column of labels.csv)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and language not in rows[0]:
        raise KeyError(f"{path.name} has no column {language!r}")
    return Labels({row["key"]: (row.get(language) or row[DEFAULT_LANGUAGE]) for row in rows},
                  language)


@lru_cache(maxsize=8)
def _format_locale(name: str) -> dict:
    import vl_convert

    return vl_convert.get_format_locale(name)


@lru_cache(maxsize=8)
def _time_locale(name: str) -> dict:
    import vl_convert

    return vl_convert.get_time_format_locale(name)
