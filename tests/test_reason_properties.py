"""Properties of the manifest parser and of reasons, for arbitrary input (Hypothesis).

Whatever a manifest holds — any JSON, any Unicode — parsing either succeeds or raises a
DropError, and no string of the manifest appears in the reason. Whatever a cell or a header of
a data file holds, no reason, rejected row or ledger field repeats it (DESIGN §3: reasons name
file, row, column and rule, never the data).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipelines.config import Settings
from pipelines.ingest.errors import DropError, describe
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import Drop, read_manifest
from tests.conftest import STUDENTS, TEST_KEY, csv_files, write_drop

KNOWN = {"091", "837"}
CONTRACT = {"oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen",
            "lisatiedot"}
HEXISH = set("0123456789abcdefABCDEF.-: ")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
MANIFEST_KEYS = ["municipality_code", "profile", "extracted_at", "coverage", "encoding",
                 "files"]
# Strings that are also words of the fixed reasons could appear there by coincidence.
VOCABULARY = (
    "manifest json object has no municipality_code is not a 3-digit string does not match "
    "the municipality folder reference classification unknown profile lesson_marks_csv "
    "daily_summary_jsonl weekly_totals_xlsx extracted_at ISO 8601 timestamp with UTC offset "
    "in the future coverage two dates start end before its reaches outside 2000-2100 "
    "unsupported encoding utf-8 or cp1252 files an names no file students lessons marks "
    "interventions path of leaves drop folder named in missing SHA-256 for row count "
    "valid UTF-8 JSON nested too deeply to be larger than bytes cannot read"
    # The reason templates themselves, punctuation included: a generated value that is part
    # of a fixed phrase (`st.` of `manifest.json`) is a coincidence, not a quotation.
    + (Path(__file__).parents[1] / "pipelines" / "ingest" / "landing.py").read_text("utf-8")
    + (Path(__file__).parents[1] / "pipelines" / "ingest" / "limits.py").read_text("utf-8")
)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    return []


def _quotable(text: str) -> bool:
    """A string whose appearance in a reason would be a quotation, not a coincidence."""
    return len(text.strip()) >= 3 and text.strip() not in VOCABULARY


manifests = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={k: json_values for k in MANIFEST_KEYS}),
    st.fixed_dictionaries({
        "municipality_code": st.sampled_from(["091", "837"]) | st.text(),
        "profile": st.sampled_from(["lesson_marks_csv", "daily_summary_jsonl"]) | st.text(),
        "extracted_at": st.sampled_from(["2026-08-27T23:40:00+03:00"]) | st.text(),
        "coverage": st.fixed_dictionaries({"start": st.text(), "end": st.text()})
        | json_values,
        "files": st.dictionaries(st.sampled_from(["students", "lessons", "marks"]),
                                 json_values | st.fixed_dictionaries(
                                     {"path": st.text(), "sha256": st.text(),
                                      "rows": json_values})),
    }, optional={"encoding": st.text()}),
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=manifests)
def test_any_manifest_parses_or_is_refused_without_quoting_it(tmp_path_factory, manifest):
    folder = tmp_path_factory.mktemp("m") / "091" / "20260827T234000"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    try:
        read_manifest(Drop("091", folder.name, folder), KNOWN)
    except DropError as exc:
        reason = exc.describe()
        for text in _strings(manifest):
            if _quotable(text):
                assert text.strip() not in reason, (text, reason)


@given(file=st.text(), column=st.text(), row=st.integers(0, 10**9))
def test_the_reason_formatter_shows_only_plain_tokens(file, column, row):
    """A file or column name is shown only when it is a plain token; anything else (a name,
    an identity code, SQL, control characters) is replaced by what it is."""
    reason = describe("a rule", file=file, row=row, column=column)
    plain = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-[] ")
    assert set(reason) <= plain | set(":,")
    assert reason.endswith(": a rule")
    assert f"row {row}" in reason


_HONEST: list[bytes] = []


def _honest_bytes(tmp_path_factory) -> bytes:
    """Every byte the warehouse holds after the honest drop: the files' own structure."""
    if not _HONEST:
        root = tmp_path_factory.mktemp("honest")
        settings_ = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse")
        folder = write_drop(settings_.landing, "091", "20260827T234000", csv_files())
        ingest_drop(Drop("091", folder.name, folder), settings_, TEST_KEY.encode())
        _HONEST.append(b"".join(p.read_bytes() for p in settings_.warehouse.rglob("*")
                                if p.is_file()))
    return _HONEST[0]


cell_values = st.text(min_size=3, max_size=40).filter(
    lambda v: v.strip() and not any(c in v for c in ";\"\r\n\x00"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=cell_values, column=st.sampled_from(["koulu", "vuosiluokka", "alkaen"]),
       as_header=st.booleans())
def test_no_cell_or_header_value_reaches_a_reason_or_the_warehouse(tmp_path_factory, value,
                                                                   column, as_header):
    needle = value.strip()
    assume(needle not in VOCABULARY and not needle.isdigit() and needle not in CONTRACT)
    root = tmp_path_factory.mktemp("cell")
    settings_ = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse")
    name, text = STUDENTS
    header, *rows = text.splitlines(keepends=True)
    cells = header.rstrip("\n").split(";")
    if as_header:
        cells[cells.index("sukunimi")] = value  # a header that is not a contract column
        text = ";".join(cells) + "\n" + "".join(rows)
    else:
        position = cells.index(column)
        first = rows[0].rstrip("\n").split(";")
        first[position] = value
        text = header + ";".join(first) + "\n" + "".join(rows[1:])
    folder = write_drop(settings_.landing, "091", "20260827T234000",
                        csv_files(students=(name, text)))
    entry = ingest_drop(Drop("091", folder.name, folder), settings_, TEST_KEY.encode())
    for field in (entry.reason, entry.schema_drift, entry.top_reasons):
        assert needle not in (field or ""), (field, needle)
    for path in Path(settings_.warehouse).rglob("*"):
        if path.name in ("rejected_rows.parquet", "reason.json"):
            rows = pq.read_table(path).to_pylist() if path.suffix == ".parquet" \
                else [json.loads(path.read_text())]
            for row in rows:
                assert needle not in " ".join(str(v) for v in row.values()), (path, needle)
        # Anywhere else, as raw bytes: only values that our own files (column names, keys,
        # numbers) do not hold anyway when the drop is honest.
        elif path.is_file() and len(needle) >= 6 and not set(needle) <= HEXISH \
                and needle.encode() not in _honest_bytes(tmp_path_factory):
            assert needle.encode() not in path.read_bytes(), path
