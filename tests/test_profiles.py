"""The three source profiles are interchangeable: same pupils, same published figures; and
each reports its own kind of bad input clearly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipelines.config import Settings
from pipelines.generator import simulate_municipality, write_drop
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import scan_landing
from pipelines.orchestrate import run_pipeline
from tests.conftest import TEST_KEY, csv_files
from tests.conftest import write_drop as write_raw_drop

PROFILES = {"lesson_marks_csv": "091", "daily_summary_jsonl": "837", "weekly_totals_xlsx": "564"}


# The unknown-code drop of 092 (one mark of a code 092's map lacks) rides on the same night.
UNKNOWN_CODE_MARKS = ("merkinnat.csv", "oppilas_id;pvm;tunti;merkinta;muokattu\n"
                      "A1;10.8.2026;1;SAIR;10.8.2026 9:00\n"
                      + "".join(f"A1;11.8.2026;{n};S;11.8.2026 9:00\n" for n in range(1, 7))
                      + "".join(f"A2;10.8.2026;{n};L;11.8.2026 9:00\n" for n in range(1, 6))
                      + "".join(f"A2;11.8.2026;{n};M;11.8.2026 9:00\n" for n in range(1, 6)))


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One night for the module's whole-pipeline tests (each night costs about a minute of
    processor time): the same pupils as a lesson-marks, a daily-summary and a weekly-totals
    drop, and a lesson-marks drop of 092 with a code its map lacks."""
    root = tmp_path_factory.mktemp("profiles")
    settings = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse",
                                 dagster_home=root / "dagster", pseudonym_key=TEST_KEY)
    sim = simulate_municipality("091", date(2026, 8, 10), school_days=15, seed=3, pupils=160)
    for profile, code in PROFILES.items():
        write_drop(sim, profile, settings.landing, municipality_code=code)
    write_raw_drop(settings.landing, "092", "20260827T234000",
                   csv_files(marks=UNKNOWN_CODE_MARKS))
    return settings, run_pipeline(settings)


def test_same_pupils_in_all_three_profiles_publish_identical_weekly_figures(night):
    settings, outcome = night
    assert outcome.published and not outcome.quarantined, outcome.error
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        rows = con.execute("""
            select municipality_code, grade_band, period_start, students, scheduled_lessons,
                   absent_lessons, illness_rate, authorised_rate, unauthorised_rate,
                   unexplained_rate, late_count
            from absence_rates
            where level = 'municipality' and period_type = 'week'
              and municipality_code in ('091', '837', '564')
            order by grade_band, period_start, municipality_code""").fetchall()
    by_code: dict[str, list] = {code: [] for code in PROFILES.values()}
    for row in rows:
        by_code[row[0]].append(row[1:])
    figures = list(by_code.values())
    assert len(figures[0]) == 3 * 4  # three whole weeks x four grade bands
    assert figures[0] == figures[1] == figures[2]


def test_cp1252_finnish_letters_decimal_comma_and_quoted_delimiter_parse_exactly(settings):
    lessons = ("tunnit.csv", "oppilas_id;pvm;tunnit\n"
               "A1;10.8.2026;5,5\nA1;11.8.2026;6\nA2;10.8.2026;5\nA2;11.8.2026;5\n")
    interventions = ("toimenpiteet.csv", "oppilas_id;pvm;toimenpide;vastuutaho;lisatiedot\n"
                     'A1;11.8.2026;HUOLI;"kuraattori; Åström";"äiti; isä"\n')
    write_raw_drop(settings.landing, "091", "20260827T234000",
                   csv_files(lessons=lessons, interventions=interventions), encoding="cp1252")
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "loaded", entry.reason
    attendance = pq.read_table(settings.canonical / "attendance" / "091").to_pylist()
    assert sorted(float(r["scheduled_lessons"]) for r in attendance) == [5, 5, 5.5, 6]
    (intervention,) = pq.read_table(settings.canonical / "interventions" / "091").to_pylist()
    assert intervention["role"] == "kuraattori; Åström"
    assert intervention["local_code"] == "HUOLI"


def test_xlsx_sheet_missing_a_column_names_sheet_and_column(settings):
    sim = simulate_municipality("564", date(2026, 8, 10), school_days=5, seed=1, pupils=20)
    folder = write_drop(sim, "weekly_totals_xlsx", settings.landing)
    manifest = json.loads((folder / "manifest.json").read_text())
    path = folder / manifest["files"]["workbook"]["path"]
    book = load_workbook(path)
    sheet = book["Poissaolot"]
    column = [c.value for c in sheet[1]].index("luvaton") + 1
    sheet.delete_cols(column)
    book.save(path)
    import hashlib

    manifest["files"]["workbook"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "quarantined"
    assert entry.reason == f"{path.name}[Poissaolot]: missing column(s) luvaton"


def _json_drop_with_one_line_changed(settings, index: int, change) -> Path:
    """A generated daily-summary drop of 837 whose attendance line `index` (0-based) went
    through `change(record)`, the manifest's checksum made to fit; the file's path."""
    import hashlib

    sim = simulate_municipality("837", date(2026, 8, 10), school_days=5, seed=1, pupils=60)
    folder = write_drop(sim, "daily_summary_jsonl", settings.landing)
    manifest = json.loads((folder / "manifest.json").read_text())
    path = folder / manifest["files"]["attendance"]["path"]
    lines = path.read_text("utf-8").splitlines()
    record = json.loads(lines[index])
    change(record)
    lines[index] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    manifest["files"]["attendance"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_json_line_with_a_wrong_type_is_rejected_with_row_and_reason(settings):
    path = _json_drop_with_one_line_changed(
        settings, 1, lambda record: record.update(scheduled_lessons="six"))
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "loaded" and entry.rows_rejected == 1
    (reject,) = pq.read_table(
        settings.quarantine / "837" / entry.load_id / "rejected_rows.parquet").to_pylist()
    assert (reject["file"], reject["row"], reject["column"]) == (path.name, 2,
                                                                "scheduled_lessons")
    assert reject["reason"] == "expected a number, found a string"


@pytest.mark.parametrize("where", ["count", "count_key", "scheduled_lessons"])
def test_an_identity_code_in_a_json_line_that_is_rejected_still_quarantines(settings, where):
    """DESIGN §4.4: an identity code in any kept column quarantines the drop. A line with one
    where a number belongs is rejected by the reader, before the writer's guard sees it; the
    reader checks what it rejects, so the drop is quarantined all the same, naming file, row
    and column, and the code is written nowhere."""
    code = "131052-308T"  # valid check character
    changes = {"count": {"absences": {"SAIR": code}},
               "count_key": {"absences": {code: "x"}},  # a text count beside a key that is it
               "scheduled_lessons": {"scheduled_lessons": f"oppilas {code}"}}
    path = _json_drop_with_one_line_changed(
        settings, 2, lambda record: record.update(changes[where]))
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "quarantined", entry.reason
    column = "absences" if where.startswith("count") else where
    assert "henkilötunnus" in entry.reason and path.name in entry.reason, entry.reason
    assert "row 3" in entry.reason and column in entry.reason, entry.reason
    assert code not in entry.reason
    written = [p for p in settings.warehouse.rglob("*") if p.is_file()]
    assert all(code.encode() not in p.read_bytes() for p in written)


def test_unknown_code_is_rejected_naming_municipality_profile_and_count_not_the_code(night):
    settings, outcome = night
    assert outcome.published
    (entry,) = [e for e in outcome.entries if e["municipality_code"] == "092"]
    assert entry["status"] == "loaded" and entry["rows_rejected"] == 1
    reasons = json.loads(entry["top_reasons"])
    # The code is the file's own text (it could be anything a hostile file holds): the reason
    # names the rule and where, and rejected_rows names the row and column.
    assert reasons == [["merkinnat.csv, column merkinta: unmapped code for municipality 092, "
                         "profile lesson_marks_csv", 1]]
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        assert con.execute("select rejected_rows from data_freshness "
                           "where municipality_code = '092'").fetchall() == [(1,)]


def test_onboarding_a_municipality_with_its_own_illness_code_needs_only_a_seed_row(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "dbt_project"), project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    with (project / "seeds/code_maps/absence_code_map.csv").open("a") as seeds:
        seeds.write("lesson_marks_csv,092,SAIR,illness\n")
    marks = ("merkinnat.csv", "oppilas_id;pvm;tunti;merkinta;muokattu\n"
             "A1;10.8.2026;1;SAIR;10.8.2026 9:00\nA1;10.8.2026;2;SAIR;10.8.2026 9:00\n"
             "A2;11.8.2026;3;L;11.8.2026 9:00\n")
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_raw_drop(landing, "092", "20260827T234000", csv_files(marks=marks))
    env = {**os.environ, "ABSENCE_DBT_PROJECT_DIR": str(project)}
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing", str(landing),
                          "--warehouse", str(warehouse)], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    with duckdb.connect(str(warehouse / "absence.duckdb"), read_only=True) as con:
        illness, authorised = con.execute("""
            select illness_rate * scheduled_lessons, authorised_rate * scheduled_lessons
            from absence_rates where level = 'national' and period_type = 'school_year'
              and grade_band = 'all'""").fetchone()
    assert (round(illness), round(authorised)) == (2, 1)


def test_learner_oid_keeps_the_key_across_municipalities_local_ids_do_not(settings):
    for code in ("091", "049"):
        write_raw_drop(settings.landing, code, "20260827T234000", csv_files())
    for drop in scan_landing(settings.landing):
        assert ingest_drop(drop, settings, TEST_KEY.encode()).status == "loaded"
    rows = duckdb.sql(f"""
        select municipality_code, student_key, grade
        from read_parquet('{settings.canonical}/students/*/*.parquet')""").fetchall()
    keys = {(m, grade): key for m, key, grade in rows}
    assert keys[("091", 8)] == keys[("049", 8)]  # A1 has a learner OID
    assert keys[("091", 3)] != keys[("049", 3)]  # A2 has only a local id


@pytest.mark.parametrize("profile", list(PROFILES))
def test_extra_columns_of_every_profile_are_reported_as_drift(settings, profile):
    sim = simulate_municipality("091", date(2026, 8, 10), school_days=3, seed=2, pupils=15)
    write_drop(sim, profile, settings.landing)
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "loaded", entry.reason
    # Reported by position (CSV, Excel) or by count (JSON keys), never by the header's text.
    expected = {"lesson_marks_csv": "oppilaat.csv:column 7, oppilaat.csv:column 8",
                "daily_summary_jsonl": "students.jsonl:2 key(s) outside the contract",
                "weekly_totals_xlsx": "[Oppilaat]:column F"}[profile]
    assert expected in entry.schema_drift
    assert not {"hetu", "nimi", "sukunimi", "etunimi", "name"} & set(
        entry.schema_drift.replace(":", " ").replace(",", " ").split())


def test_a_json_chunk_without_any_absence_loads(settings):
    students = ('{"student_ref": "A1", "learner_oid": null, "school_code": "00101", "grade": 3, '
                '"enrolled_from": "2026-08-10", "enrolled_to": null}\n')
    attendance = ('{"student_ref": "A1", "date": "2026-08-10", "scheduled_lessons": 5, '
                  '"absences": {}}\n')
    write_raw_drop(settings.landing, "837", "20260827T234000",
                   {"students": ("students.jsonl", students),
                    "attendance": ("attendance.jsonl", attendance),
                    "interventions": ("interventions.jsonl", "")},
                   profile="daily_summary_jsonl")
    (drop,) = scan_landing(settings.landing)
    entry = ingest_drop(drop, settings, TEST_KEY.encode())
    assert entry.status == "loaded", entry.reason
    assert entry.rows_rejected == 0


# Every kind of line a JSON Lines file can hold. Arrow reads whole blocks; each block it could
# read differently from the contract falls back to the line reader (readers.JsonLinesSource).
_GOOD = {"student_ref": "A1", "date": "2026-08-10", "scheduled_lessons": 5,
         "absences": {"S": 2, "L": 1.5}}
_JSON_LINES = [json.dumps(_GOOD).encode(),
               json.dumps({**_GOOD, "absences": {}}).encode(),
               b"", b"   ", b'  {"student_ref": "A2", "date": "2026-08-10", '
               b'"scheduled_lessons": 4, "absences": {"S": 1}}',
               b"not json", b"[1, 2]", b'"text"', b"7",
               json.dumps(_GOOD).encode() + json.dumps(_GOOD).encode(),
               json.dumps({**_GOOD, "scheduled_lessons": "six"}).encode(),
               json.dumps({**_GOOD, "student_ref": 12}).encode(),
               json.dumps({**_GOOD, "date": None}).encode(),
               json.dumps({k: v for k, v in _GOOD.items() if k != "date"}).encode(),
               json.dumps({k: v for k, v in _GOOD.items() if k != "absences"}).encode(),
               json.dumps({**_GOOD, "absences": {"S": None}}).encode(),
               json.dumps({**_GOOD, "absences": {"S": "2"}}).encode(),
               json.dumps({**_GOOD, "absences": {"S": {"x": 1}}}).encode(),
               json.dumps({**_GOOD, "absences": {"S": True}}).encode(),
               json.dumps({**_GOOD, "absences": None}).encode(),
               json.dumps({**_GOOD, "absences": [1]}).encode(),
               b'{"student_ref": "A3", "date": "2026-08-11", "scheduled_lessons": NaN, '
               b'"absences": {}}',
               b'{"student_ref": "A3", "date": "2026-08-11", "scheduled_lessons": 5, '
               b'"absences": {"S": Infinity}}',
               b'{"student_ref": "A1", "student_ref": "A4", "date": "2026-08-12", '
               b'"scheduled_lessons": 5, "absences": {}}',
               json.dumps({**_GOOD, "extra": "x", "nimi": {"a": 1}}).encode(),
               json.dumps({**_GOOD, "date": "12.8.2026", "scheduled_lessons": 6.5}).encode(),
               json.dumps(_GOOD).encode() + b"\r",
               # Deeper than orjson's 1,024 levels: not JSON to the line reader, while Arrow
               # would load it (an extra key) if it were not sent back for its depth.
               b'{"student_ref": "A5", "date": "2026-08-12", "scheduled_lessons": 5, '
               b'"absences": {}, "x": ' + b"[" * 1500 + b"]" * 1500 + b"}"]
_JSON_TYPES = {"student_ref": ("a string", False), "date": ("a string", False),
               "scheduled_lessons": ("a number", False), "absences": ("an object", False)}


def _read_json_lines(path, *, arrow: bool, block_size: int, max_line_bytes: int = 4096):
    from pipelines.ingest.readers import JsonLinesSource

    source = JsonLinesSource(path, list(_JSON_TYPES), "attendance.jsonl",
                             max_line_bytes=max_line_bytes,
                             types=_JSON_TYPES, explode="absences", block_size=block_size,
                             arrow=arrow)
    rows, entries = [], []
    for frame in source.frames():
        rows += [(r["_row"], r["student_ref"], r["date"], float(r["scheduled_lessons"]))
                 for r in frame.to_dict("records")]
        entries += list(source.entries.itertuples(index=False, name=None))
    return source, rows, entries


@pytest.mark.parametrize("block_size", [2048, 16384, 1 << 20])
def test_json_blocks_read_by_arrow_give_the_line_readers_rows_and_rejects(tmp_path,
                                                                           block_size):
    # Good lines around each odd one, so some blocks are all good (Arrow) and some are not.
    lines = []
    for odd in [*_JSON_LINES, None]:
        lines += [json.dumps({**_GOOD, "student_ref": f"B{len(lines)}"}).encode()] * 60
        lines += [odd] if odd is not None else []
    path = tmp_path / "attendance.jsonl"
    path.write_bytes(b"\n".join(lines))  # the last line has no newline
    reference, ref_rows, ref_entries = _read_json_lines(path, arrow=False,
                                                        block_size=block_size)
    fast, rows, entries = _read_json_lines(path, arrow=True, block_size=block_size)
    assert reference.blocks["arrow"] == 0
    assert fast.blocks["arrow"] > 0 and fast.blocks["lines"] > 0
    assert rows == ref_rows and len(rows) > 60 * len(_JSON_LINES)
    assert entries == ref_entries
    assert sorted(fast.rejects) == sorted(reference.rejects) and len(fast.rejects) >= 15
    assert (fast.rows_read, fast.drift) == (reference.rows_read, reference.drift) \
        == (len(lines), ["2 key(s) outside the contract"])


@pytest.mark.parametrize("bad", [b'{"student_ref": "\xff"}', b'{"x": "' + b"y" * 5000 + b'"}',
                                 b"\xef\xbb\xbf" + json.dumps(_GOOD).encode()])
def test_json_errors_that_quarantine_name_the_same_row_either_way(tmp_path, bad):
    from pipelines.ingest.errors import DropError

    lines = [json.dumps(_GOOD).encode()] * 40 + [bad] + [json.dumps(_GOOD).encode()] * 3
    path = tmp_path / "attendance.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for arrow in (True, False):
        with pytest.raises(DropError) as caught:
            _read_json_lines(path, arrow=arrow, block_size=1024)
        assert caught.value.row == 41


@pytest.mark.parametrize("odd", ["deep", "wide"])
def test_a_deep_or_wide_json_line_is_left_to_the_line_reader(tmp_path, odd):
    # Arrow's reader slows down without bound on deep nesting (5,000 levels did not finish
    # in a minute) and makes a column of every distinct key; orjson stops at 1,024 levels.
    extra = ("[" * 5000 + "]" * 5000) if odd == "deep" else \
        "{" + ", ".join(f'"k{i}": {i}' for i in range(5000)) + "}"
    line = json.dumps(_GOOD)[:-1] + f', "x": {extra}}}'
    path = tmp_path / "attendance.jsonl"
    path.write_text("\n".join([json.dumps(_GOOD), line, json.dumps(_GOOD)]) + "\n")
    source, rows, _ = _read_json_lines(path, arrow=True, block_size=1 << 20,
                                       max_line_bytes=1 << 20)
    assert source.blocks == {"arrow": 0, "lines": 1}
    assert [r[0] for r in rows] == ([1, 3] if odd == "deep" else [1, 2, 3])
