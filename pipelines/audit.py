"""`absence audit`: a leak scan of everything the pipeline wrote (DESIGN §4.4).

It reads the raw drops in the landing zone the way an auditor would — every column, kept or
not — and collects what must never leave them: local pupil ids, learner OIDs, and every value
of a column outside the contract (names, identity codes, addresses, free text). Then it opens
every file under the warehouse (DuckDB tables and Parquet by their string columns, any other
file as text) and reports each place such a value, or any valid henkilötunnus, appears.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.config import SEEDS_DIR
from pipelines.ingest.identity_codes import contains_identity_code

# Columns whose values identify a pupil although the contract reads them.
IDENTIFYING = {"oppilas_id", "oppijanumero", "student_ref", "learner_oid", "tunniste"}
CONTRACT = {
    "oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen", "pvm", "tunnit",
    "tunti", "merkinta", "muokattu", "toimenpide", "vastuutaho", "student_ref", "learner_oid",
    "school_code", "grade", "enrolled_from", "enrolled_to", "date", "scheduled_lessons",
    "absences", "type", "role", "luokka", "vuosi", "viikko", "pidetyt_tunnit", "sairaus",
    "luvallinen", "luvaton", "selvittamaton", "myohastymiset",
}
MIN_TEXT_TOKEN = 6  # shorter values (e.g. a first name "Aino") are only matched as whole cells


@dataclass(frozen=True)
class Finding:
    file: str
    where: str
    kind: str  # never the value itself

    def __str__(self) -> str:
        return f"{self.file} {self.where}: {self.kind}"


def sensitive_values(landing: Path) -> dict[str, str]:
    """value -> what it is (`pupil id`, `column sukunimi`...), from every drop's raw files."""
    found: dict[str, str] = {}

    def add(column: str, value: object) -> None:
        if value is None or isinstance(value, bool | int | float):
            return
        text = str(value).strip()
        if len(text) >= 3 and (column in IDENTIFYING or column not in CONTRACT):
            found.setdefault(text, "pupil identifier" if column in IDENTIFYING
                             else f"value of dropped column {column}")

    for manifest_path in landing.glob("*/*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        encoding = manifest.get("encoding", "utf-8")
        for entry in (manifest.get("files") or {}).values():
            path = manifest_path.parent / str(entry.get("path", ""))
            if not path.is_file():
                continue
            if path.suffix == ".csv":
                text = path.read_bytes().decode(encoding, errors="replace")
                for row in csv.DictReader(io.StringIO(text), delimiter=";"):
                    for column, value in row.items():
                        add(column or "", value)
            elif path.suffix == ".jsonl":
                for line in path.read_text("utf-8", errors="replace").splitlines():
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    for column, value in (record.items() if isinstance(record, dict) else []):
                        add(column, value)
            elif path.suffix == ".xlsx":
                from openpyxl import load_workbook

                book = load_workbook(path, read_only=True, data_only=True)
                for sheet in book.worksheets:
                    rows = sheet.iter_rows(values_only=True)
                    header = [str(h) for h in next(rows, ())]
                    for values in rows:
                        for column, value in zip(header, values, strict=False):
                            add(column, value)
                book.close()
    return found


def _public_values() -> set[str]:
    """Every value of the public reference and code-map seeds: a first name that is also a
    municipality's Swedish name (say) is public wherever it appears, not a leak."""
    values: set[str] = set()
    for path in SEEDS_DIR.rglob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                values.update(cell.strip() for cell in row)
    return values


def audit(warehouse: Path, landing: Path) -> list[Finding]:
    """Every place under the warehouse where an input secret or an identity code appears."""
    public = _public_values()
    secrets = {v: kind for v, kind in sensitive_values(landing).items() if v not in public}
    long_tokens = [v for v in secrets if len(v) >= MIN_TEXT_TOKEN]
    pattern = re.compile("|".join(re.escape(v) for v in sorted(long_tokens, key=len,
                                                                reverse=True))) \
        if long_tokens else None
    findings: list[Finding] = []

    def check_strings(file: Path, where: str, values, *, free_text: bool = False) -> None:
        # Table cells are compared whole (a name inside a public place name is no leak);
        # free text such as logs is also searched for the longer secrets inside it.
        for value in values:
            if not isinstance(value, str):
                continue
            if value.strip() in secrets:
                findings.append(Finding(str(file), where, secrets[value.strip()]))
            elif contains_identity_code(value):
                findings.append(Finding(str(file), where, "personal identity code"))
            elif free_text and pattern is not None and (hit := pattern.search(value)):
                findings.append(Finding(str(file), where, secrets[hit.group(0)]))

    for file in sorted(p for p in warehouse.rglob("*") if p.is_file()):
        if file.suffix == ".duckdb":
            _scan_duckdb(file, check_strings)
        elif file.suffix == ".parquet":
            table = pq.read_table(file)
            for name in table.column_names:
                if str(table.schema.field(name).type) in ("string", "large_string"):
                    check_strings(file, f"column {name}", set(table[name].to_pylist()))
        elif file.name == "pseudonym.key" or file.suffix in (".wal", ".tmp"):
            continue
        else:
            text = file.read_bytes().decode("utf-8", errors="replace")
            check_strings(file, "text", [line for line in text.splitlines() if line],
                          free_text=True)
    return findings


def _scan_duckdb(file: Path, check_strings) -> None:
    with duckdb.connect(str(file), read_only=True) as con:
        columns = con.execute("""
            select c.table_schema, c.table_name, c.column_name
            from information_schema.columns c
            join information_schema.tables t
              on t.table_schema = c.table_schema and t.table_name = c.table_name
            where c.data_type = 'VARCHAR' and t.table_type = 'BASE TABLE'""").fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}"').fetchall()
            check_strings(file, f"{table}.{column}", [v[0] for v in values])
