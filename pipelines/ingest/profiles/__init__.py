"""Profile readers: the only source-specific code (DESIGN §4). Each turns its format into typed
frames and hands them to the shared ExtractWriter."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd
import pandera.pandas as pandera

from pipelines.ingest.landing import Manifest
from pipelines.ingest.writer import ExtractWriter

ProfileReader = Callable[[Manifest, ExtractWriter], None]


def reader_for(profile: str) -> ProfileReader:
    """The reader of a known profile (the manifest check has already rejected unknown ones)."""
    return load_readers()[profile]


@functools.cache
def load_readers() -> dict[str, ProfileReader]:
    """Every profile's reader, with what reading a drop loads on first use loaded now.

    Each drop is read in a forked child (pipelines/ingest/isolation.py), which shares what its
    parent has loaded and loses what it loads itself when it exits. Pandera registers its
    pandas checks on the first validation, importing its data-synthesis strategies (Hypothesis,
    pandas-on-Spark where PySpark is installed): 0.6 CPU-seconds that every child paid again
    for every drop, the larger part of a typical drop's reading. Called by the parent before
    it forks; once per process.
    """
    from pipelines.ingest.profiles import daily_summary_jsonl, lesson_marks_csv, weekly_totals_xlsx

    pandera.DataFrameSchema({"x": pandera.Column(int, pandera.Check.ge(0))}).validate(
        pd.DataFrame({"x": pd.Series([0], dtype="int64")}))

    return {
        "lesson_marks_csv": lesson_marks_csv.read,
        "daily_summary_jsonl": daily_summary_jsonl.read,
        "weekly_totals_xlsx": weekly_totals_xlsx.read,
    }
