"""Write a tiny canonical landing of two municipalities for checking the dbt project.

Usage: ``python tests/dbt_fixture_data.py WAREHOUSE_DIR [--empty]`` writes
``WAREHOUSE_DIR/canonical/<table>/<mmm>/<extract_id>.parquet``,
``WAREHOUSE_DIR/ledger/<mmm>/<extract_id>__<sha12>.parquet`` and the zero-row
``_schema.parquet`` files, in the layout of docs/architecture.md (``--empty``: only the
``_schema.parquet`` files, as on a fresh installation). Then run
``ABSENCE_WAREHOUSE=WAREHOUSE_DIR dbt build --project-dir dbt_project --profiles-dir dbt_project``.

Contents (school year 2026-2027):
- 091 Helsinki (region 01), ``lesson_marks_csv``, pupil-day records. Pupil P of DESIGN §7.1:
  grade 8, 6 lessons every weekday from Mon 10 Aug, 6 illness lessons on Wed 12 Aug,
  ``HUOLI`` (concern_raised) on 20 Aug and ``SUUNN`` (individual_attendance_plan) on 15 Sep.
  Two loaded extracts overlap on 1-10 Sep: the later one wins those days (it drops an
  unexplained absence of pupil B1 on 2 Sep). A superseded extract has canonical files that
  must be ignored (a 30-lesson absence of P on 3 Aug would change every number of P).
- 564 Oulu (region 17), ``weekly_totals_xlsx``, Monday-Sunday records. Pupil W1 has the same
  week 33 as P reported weekly (30 scheduled, 6 illness): crossing on Sun 16 Aug; a
  multi-professional group on 20 Aug is an intensive response. Its newest drop is
  quarantined (unreadable manifest).
"""

from __future__ import annotations

import hashlib
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

HELSINKI_TZ = timezone(timedelta(hours=3))

SCHEMAS = {
    "students": """
        municipality_code varchar, profile varchar, extract_id varchar,
        student_key varchar, school_code varchar, grade integer,
        enrolled_from date, enrolled_to date""",
    "attendance": """
        municipality_code varchar, profile varchar, extract_id varchar,
        student_key varchar, period_start date, period_end date,
        scheduled_lessons decimal(18, 3)""",
    "absences": """
        municipality_code varchar, profile varchar, extract_id varchar,
        student_key varchar, period_start date, period_end date,
        local_code varchar, lessons decimal(18, 3)""",
    "interventions": """
        municipality_code varchar, profile varchar, extract_id varchar,
        student_key varchar, intervention_date date, local_code varchar, role varchar""",
}

LEDGER_SCHEMA = """
    municipality_code varchar, extract_id varchar, profile varchar,
    extracted_at timestamp with time zone, coverage_start date, coverage_end date,
    status varchar, reason varchar, manifest_sha256 varchar,
    rows_read bigint, rows_loaded bigint, rows_rejected bigint, schema_drift varchar,
    started_at timestamp with time zone, finished_at timestamp with time zone"""


def student_key(name: str) -> str:
    """A stable 64-hex stand-in for the HMAC pseudonym of a named fixture pupil."""
    return hashlib.sha256(f"fixture:{name}".encode()).hexdigest()


def weekdays(start: date, end: date) -> list[date]:
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def sundays(start: date, end: date) -> list[date]:
    return [
        start + timedelta(days=n)
        for n in range((end - start).days + 1)
        if (start + timedelta(days=n)).weekday() == 6
    ]


class Landing:
    """Collects canonical rows per (table, municipality, extract) and writes them."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse
        self.rows: dict[tuple[str, str, str], list[tuple]] = {}
        self.ledger: list[tuple] = []
        self.db = duckdb.connect()
        self.db.execute("set TimeZone = 'UTC'")

    def add(
        self, table: str, municipality: str, profile: str, extract_id: str, *values: object
    ) -> None:
        key = (table, municipality, extract_id)
        self.rows.setdefault(key, []).append((municipality, profile, extract_id, *values))

    def add_drop(
        self,
        municipality: str,
        extract_id: str,
        profile: str | None,
        extracted_at: datetime | None,
        coverage: tuple[date, date] | None,
        status: str,
        reason: str | None = None,
        rows_rejected: int = 0,
        seen_at: datetime | None = None,
    ) -> None:
        rows_loaded = sum(
            len(rows)
            for (_, m, e), rows in self.rows.items()
            if m == municipality and e == extract_id
        )
        sha = hashlib.sha256(f"{municipality}/{extract_id}/{status}".encode()).hexdigest()
        started = seen_at or extracted_at
        self.ledger.append(
            (
                municipality,
                extract_id,
                profile,
                extracted_at,
                coverage[0] if coverage else None,
                coverage[1] if coverage else None,
                status,
                reason,
                sha,
                rows_loaded + rows_rejected,
                rows_loaded,
                rows_rejected,
                None,
                started,
                started + timedelta(minutes=2) if started else None,
            )
        )

    def _copy(self, schema: str, rows: list[tuple], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db.execute(f"create or replace temp table t ({schema})")
        if rows:
            placeholders = ", ".join("?" for _ in rows[0])
            self.db.executemany(f"insert into t values ({placeholders})", rows)
        self.db.execute(f"copy t to '{path}' (format parquet)")

    def write(self) -> None:
        for table, schema in SCHEMAS.items():
            self._copy(schema, [], self.warehouse / "canonical" / table / "_schema.parquet")
        self._copy(LEDGER_SCHEMA, [], self.warehouse / "ledger" / "_schema.parquet")
        for (table, municipality, extract_id), rows in self.rows.items():
            path = self.warehouse / "canonical" / table / municipality / f"{extract_id}.parquet"
            self._copy(SCHEMAS[table], rows, path)
        for row in self.ledger:
            municipality, extract_id, sha = row[0], row[1], row[8]
            path = self.warehouse / "ledger" / municipality / f"{extract_id}__{sha[:12]}.parquet"
            self._copy(LEDGER_SCHEMA, [row], path)


def helsinki(landing: Landing) -> None:
    """091: daily lesson markings, two overlapping loaded extracts and a superseded one."""
    m, profile = "091", "lesson_marks_csv"
    e1, e2, e0 = "20260910T230000", "20260925T230000", "20260905T230000"
    e1_days = weekdays(date(2026, 8, 10), date(2026, 9, 10))
    e2_days = weekdays(date(2026, 9, 1), date(2026, 9, 25))

    # name: (school, grade, enrolled_from, enrolled_to)
    pupils = {
        "P": ("09101", 8, date(2026, 8, 10), None),
        "A1": ("09101", 8, date(2026, 8, 10), None),
        "A2": ("09101", 2, date(2026, 8, 10), None),
        "B1": ("09102", 4, date(2026, 8, 10), None),
        "B2": ("09102", 1, date(2026, 8, 10), date(2026, 8, 31)),
        "C": ("09102", 7, date(2026, 8, 10), None),
    }
    # (pupil, day) -> [(local code, lessons)]; the same in both extracts except where noted
    marks = {
        ("P", date(2026, 8, 12)): [("S", 6)],
        ("A2", date(2026, 8, 18)): [("M", 1)],
        ("A2", date(2026, 9, 3)): [("M", 2)],
        ("B1", date(2026, 8, 17)): [("L", 3), ("K", 1)],
        ("C", date(2026, 8, 24)): [("LV", 6)],
        ("C", date(2026, 8, 25)): [("LV", 6)],
    }
    e1_only_marks = {("B1", date(2026, 9, 2)): [("SE", 2)]}  # corrected away by e2

    for extract_id, days, extra in ((e1, e1_days, e1_only_marks), (e2, e2_days, {})):
        for name, (school, grade, enrolled_from, enrolled_to) in pupils.items():
            key = student_key(name)
            landing.add(
                "students", m, profile, extract_id, key, school, grade, enrolled_from, enrolled_to
            )
            for day in days:
                if enrolled_to is not None and day > enrolled_to:
                    continue
                landing.add("attendance", m, profile, extract_id, key, day, day, 6)
                for code, lessons in marks.get((name, day), []) + extra.get((name, day), []):
                    landing.add("absences", m, profile, extract_id, key, day, day, code, lessons)

    landing.add(
        "interventions",
        m,
        profile,
        e1,
        student_key("P"),
        date(2026, 8, 20),
        "HUOLI",
        "luokanvalvoja",
    )
    landing.add(
        "interventions", m, profile, e2, student_key("P"), date(2026, 9, 15), "SUUNN", "kuraattori"
    )
    # C crossed 10 % on 25 Aug; a group 23 days later is too late to count as timely.
    landing.add(
        "interventions", m, profile, e2, student_key("C"), date(2026, 9, 17), "MONIAL", None
    )

    landing.add_drop(
        m,
        e1,
        profile,
        datetime(2026, 9, 10, 23, 0, tzinfo=HELSINKI_TZ),
        (date(2026, 8, 10), date(2026, 9, 10)),
        "loaded",
    )
    landing.add_drop(
        m,
        e2,
        profile,
        datetime(2026, 9, 25, 23, 0, tzinfo=HELSINKI_TZ),
        (date(2026, 9, 1), date(2026, 9, 25)),
        "loaded",
        rows_rejected=1,
    )

    # Superseded: older than e1 but seen after it. Ingest would not write canonical files
    # for it; these exist only to prove that dbt reads loaded extracts only.
    landing.add(
        "attendance", m, profile, e0, student_key("P"), date(2026, 8, 13), date(2026, 8, 13), 30
    )
    landing.add(
        "absences", m, profile, e0, student_key("P"), date(2026, 8, 13), date(2026, 8, 13), "S", 30
    )
    landing.add_drop(
        m,
        e0,
        profile,
        datetime(2026, 9, 5, 23, 0, tzinfo=HELSINKI_TZ),
        (date(2026, 8, 10), date(2026, 9, 5)),
        "superseded",
        reason="an extract extracted later was already loaded",
        seen_at=datetime(2026, 9, 11, 1, 0, tzinfo=HELSINKI_TZ),
    )


def oulu(landing: Landing) -> None:
    """564: weekly totals (a record covers Monday-Sunday and counts on its Sunday)."""
    m, profile = "564", "weekly_totals_xlsx"
    f1 = "20260927T060000"
    # name: (school, grade, weekly scheduled hours)
    pupils = {"W1": ("56401", 4, 30), "W2": ("56401", 9, 30), "W3": ("56402", 1, 20)}
    # (pupil, Sunday) -> [(local code, hours)]
    absences = {
        ("W1", date(2026, 8, 16)): [("sairaus", 6)],
        ("W2", date(2026, 8, 30)): [("luvaton", 2), ("myohastymiset", 1)],
        ("W3", date(2026, 9, 13)): [("luvallinen", 1.5)],
    }
    for name, (school, grade, hours) in pupils.items():
        key = student_key(name)
        landing.add("students", m, profile, f1, key, school, grade, date(2026, 8, 10), None)
        for sunday in sundays(date(2026, 8, 10), date(2026, 9, 27)):
            monday = sunday - timedelta(days=6)
            landing.add("attendance", m, profile, f1, key, monday, sunday, hours)
            for code, lessons in absences.get((name, sunday), []):
                landing.add("absences", m, profile, f1, key, monday, sunday, code, lessons)
    landing.add(
        "interventions",
        m,
        profile,
        f1,
        student_key("W1"),
        date(2026, 8, 20),
        "Monialainen asiantuntijaryhmä",
        None,
    )

    landing.add_drop(
        m,
        f1,
        profile,
        datetime(2026, 9, 27, 6, 0, tzinfo=HELSINKI_TZ),
        (date(2026, 8, 10), date(2026, 9, 27)),
        "loaded",
    )
    landing.add_drop(
        m,
        "20261004T060000",
        None,
        None,
        None,
        "quarantined",
        reason="manifest.json is not valid JSON",
        rows_rejected=0,
        seen_at=datetime(2026, 10, 4, 6, 30, tzinfo=HELSINKI_TZ),
    )


def main(argv: list[str]) -> int:
    args = argv[1:]
    empty = "--empty" in args
    paths = [arg for arg in args if arg != "--empty"]
    if len(paths) != 1:
        print(__doc__)
        return 2
    warehouse = Path(paths[0]).resolve()
    landing = Landing(warehouse)
    if not empty:
        helsinki(landing)
        oulu(landing)
    landing.write()
    print(f"fixture written to {warehouse}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
