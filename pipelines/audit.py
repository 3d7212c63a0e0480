"""`absence audit`: a leak scan of everything the pipeline wrote (DESIGN §4.4).

It reads the raw drops in the landing zone the way an auditor would — every column, kept or
not — and collects what must never leave them: local pupil ids, learner OIDs, and every value
of a column outside the contract (names, identity codes, addresses, free text). Then it reads
every file under the warehouse — DuckDB tables and Parquet by their string columns, JSON,
logs, Dagster's SQLite storage and anything else as text — and reports each place where such a
value stands *anywhere inside a string* (a reason quoting `('Turunen Ella')` is a leak), and
each valid henkilötunnus. Findings name the file, the table or column and what kind of value
it is, never the value.

Matching is by words: each short value (a name, an id) contributes its words, and a string
leaks when one of its words is such a word. Longer values (addresses, free text) are matched
as whole phrases: their single words are ordinary language ("kanssa", "oppilas") that a
Finnish report may well use. Words of the public seeds (municipality names, code maps) and
short numbers are never evidence.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.config import DEFAULT_DBT_PROJECT_DIR
from pipelines.ingest.identity_codes import contains_identity_code
from pipelines.ingest.limits import IngestLimits, check_workbook
from pipelines.ingest.readers import open_workbook

# Columns whose values identify a pupil although the contract reads them.
IDENTIFYING = {"oppilas_id", "oppijanumero", "student_ref", "learner_oid", "tunniste"}
CONTRACT = {
    "oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen", "pvm", "tunnit",
    "tunti", "merkinta", "muokattu", "toimenpide", "vastuutaho", "student_ref", "learner_oid",
    "school_code", "grade", "enrolled_from", "enrolled_to", "date", "scheduled_lessons",
    "absences", "type", "role", "luokka", "vuosi", "viikko", "pidetyt_tunnit", "sairaus",
    "luvallinen", "luvaton", "selvittamaton", "myohastymiset",
}
MIN_WORD = 4  # shorter words ("Ari", "A1") are too common to be evidence on their own
PHRASE_WORDS = 4  # values of this many words or more are matched as a phrase
# A "word" keeps the inner dots and dashes of ids such as 1.2.246.562.24.10000000001 or A-17.
_WORD = re.compile(r"\w+(?:[.\-:]\w+)*")


@dataclass(frozen=True)
class Finding:
    file: str
    where: str
    kind: str  # never the value itself

    def __str__(self) -> str:
        return f"{self.file} {self.where}: {self.kind}"


def sensitive_values(landing: Path) -> dict[str, str]:
    """value -> what it is (`pupil identifier`, `value of dropped column sukunimi`...), from
    every drop's raw files."""
    found: dict[str, str] = {}

    def add(column: str, value: object) -> None:
        if value is None or isinstance(value, bool | int | float):
            return
        text = str(value).strip()
        if len(text) >= 3 and (column in IDENTIFYING or column not in CONTRACT):
            # The header is named only when it is a plain word: it could itself be a secret.
            shown = column if re.fullmatch(r"[a-z_]{1,30}", column) else "(unnamed)"
            found.setdefault(text, "pupil identifier" if column in IDENTIFYING
                             else f"value of dropped column {shown}")

    for manifest_path in landing.glob("*/*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            continue
        encoding = manifest.get("encoding") if manifest.get("encoding") in (
            "utf-8", "cp1252", "utf8", "windows-1252") else "utf-8"
        for entry in manifest["files"].values():
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue
            path = manifest_path.parent / entry["path"]
            if not path.is_file():
                continue
            for column, value in _raw_cells(path, encoding):
                add(column, value)
    return found


def _raw_cells(path: Path, encoding: str) -> Iterable[tuple[str, object]]:
    """(column, value) of every cell of a raw file; unreadable files yield nothing."""
    try:
        if path.suffix == ".csv":
            text = path.read_bytes().decode(encoding, errors="replace")
            for row in csv.DictReader(io.StringIO(text), delimiter=";"):
                for column, value in row.items():
                    yield column or "", value
        elif path.suffix == ".jsonl":
            for line in path.read_text("utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                yield from (record.items() if isinstance(record, dict) else [])
        elif path.suffix == ".xlsx":
            # The auditor is as exposed as ingest: a workbook that ingest would refuse for its
            # size or shape is not opened here either (it was never loaded, so never leaked).
            check_workbook(path, IngestLimits(), label=path.name)
            book = open_workbook(path)
            try:
                for name in book.sheet_names:
                    rows = book.get_sheet_by_name(name).iter_rows()
                    header = [str(h) for h in next(rows, ())]
                    for values in rows:
                        yield from zip(header, values, strict=False)
            finally:
                book.close()
    except Exception:  # an auditor's read of a broken file: nothing to collect from it
        return


def _public_words(seeds: Path) -> set[str]:
    """Every word of the public reference and code-map seeds, of the report's labels and of
    its Finnish number and calendar locale: a surname that is also a municipality's name, or
    a first name that is also a month's abbreviation ("Helmi", helmikuu), is public wherever
    it appears, not a leak."""
    import json

    import vl_convert

    cells: list[str] = []
    for path in [*seeds.rglob("*.csv"), Path(__file__).parent / "publish" / "labels.csv"]:
        with path.open(encoding="utf-8", newline="") as handle:
            cells += [cell for row in csv.reader(handle) for cell in row]
    cells.append(json.dumps(vl_convert.get_time_format_locale("fi-FI"), ensure_ascii=False))
    cells.append(json.dumps(vl_convert.get_format_locale("fi-FI"), ensure_ascii=False))
    words: set[str] = set()
    for cell in cells:
        words.update(w.casefold() for w in _WORD.findall(cell))
        words.add(cell.strip().casefold())
    return words


class LeakMatcher:
    """Finds secret words and phrases, and identity codes, inside any string."""

    def __init__(self, secrets: dict[str, str], seeds: Path):
        public = _public_words(seeds)
        self.words: dict[str, str] = {}
        # first word of a phrase -> (phrase, kind): a string is searched for a phrase only
        # when it holds the phrase's first word (one regex of thousands of alternatives over
        # megabytes of logs would take hours).
        self.phrases: dict[str, list[tuple[str, str]]] = {}
        for value, kind in secrets.items():
            words = _WORD.findall(value.casefold())
            if len(words) >= PHRASE_WORDS:
                self.phrases.setdefault(words[0], []).append((value.casefold().strip(), kind))
                continue
            for word in words:
                if len(word) >= MIN_WORD and word not in public and not _numeric_small(word):
                    self.words.setdefault(word, kind)

    def kind_of(self, text: str) -> str | None:
        """What secret `text` holds, or None."""
        folded = text.casefold()
        for word in _WORD.findall(folded):
            if word in self.words:
                return self.words[word]
            # "Turunen-Ella" or "1.2.246.562.24.10000000001" also hold their parts
            for part in re.split(r"[.\-:]", word):
                if part in self.words:
                    return self.words[part]
                for phrase, kind in self.phrases.get(part, ()):
                    if phrase in folded:
                        return kind
        if contains_identity_code(text):
            return "personal identity code"
        return None


def _numeric_small(word: str) -> bool:
    """Short numbers (counts, years, school codes) appear in every table: no evidence."""
    return word.isdigit() and len(word) < 8


def audit(warehouse: Path, landing: Path, also: Iterable[Path] = (),
          seeds: Path = DEFAULT_DBT_PROJECT_DIR / "seeds") -> list[Finding]:
    """Every place under the warehouse (and the folders in `also`, e.g. a DAGSTER_HOME kept
    elsewhere) where an input secret or an identity code appears."""
    matcher = LeakMatcher(sensitive_values(landing), seeds)
    findings: list[Finding] = []

    def check(file: Path, where: str, values: Iterable[object]) -> None:
        for value in values:
            if isinstance(value, str) and (kind := matcher.kind_of(value)):
                findings.append(Finding(str(file), where, kind))
                return  # one finding per column is enough to act on

    folders = [warehouse, *(f for f in also if f.is_dir() and warehouse not in f.parents)]
    files = sorted({p for folder in folders for p in folder.rglob("*") if p.is_file()})
    for file in files:
        if file.name == "pseudonym.key" or file.suffix in (".wal", ".tmp") \
                or ".tmp" in file.name or file.parent.name.endswith(".tmp"):
            continue
        if file.suffix == ".duckdb":
            _scan_duckdb(file, check)
        elif file.suffix == ".parquet":
            _scan_parquet(file, check)
        else:
            text = file.read_bytes().decode("utf-8", errors="replace")
            check(file, "text", [line for line in text.splitlines() if line])
    return findings


def _scan_parquet(file: Path, check: Callable) -> None:
    parquet = pq.ParquetFile(file)
    metadata = parquet.schema_arrow.metadata or {}
    check(file, "schema metadata", [v.decode("utf-8", "replace") for v in metadata.values()])
    check(file, "column names", parquet.schema_arrow.names)
    table = parquet.read()
    for name in table.column_names:
        if str(table.schema.field(name).type) in ("string", "large_string"):
            check(file, f"column {name}", set(table[name].to_pylist()))


def _scan_duckdb(file: Path, check: Callable) -> None:
    with duckdb.connect(str(file), read_only=True) as con:
        columns = con.execute("""
            select c.table_schema, c.table_name, c.column_name
            from information_schema.columns c
            join information_schema.tables t
              on t.table_schema = c.table_schema and t.table_name = c.table_name
            where c.data_type = 'VARCHAR' and t.table_type = 'BASE TABLE'""").fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f"select distinct {_ident(column)} from {_ident(schema)}.{_ident(table)}"
            ).fetchall()
            check(file, f"{table}.{column}", [v[0] for v in values])
        comments = con.execute(
            "select comment from duckdb_columns() where comment is not null "
            "union all select comment from duckdb_tables() where comment is not null"
        ).fetchall()
        check(file, "comments", [c[0] for c in comments])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
