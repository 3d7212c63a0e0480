"""Ingest of the lesson_marks_csv profile: what loads, what is rejected, and why."""

from __future__ import annotations

import dataclasses

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import scan_landing
from tests.conftest import TEST_KEY, csv_files, write_drop


def _ingest(settings):
    (drop,) = scan_landing(settings.landing)
    return ingest_drop(drop, settings, TEST_KEY.encode())


def _canonical(settings, table: str):
    return duckdb.sql(
        f"select * from read_parquet('{settings.canonical}/{table}/**/*.parquet') order by all"
    ).df()


def test_valid_drop_loads_pupil_days_and_latest_marking_wins(settings):
    write_drop(settings.landing, "091", "20260827T234000", csv_files())
    entry = _ingest(settings)
    assert entry.status == "loaded", entry.reason
    absences = _canonical(settings, "absences")
    # A1 lesson 1 was SE, corrected to S later: two S lessons that day, no SE.
    assert sorted(zip(absences.local_code, absences.lessons.astype(float), strict=True)) == [
        ("M", 1.0), ("S", 2.0)]
    attendance = _canonical(settings, "attendance")
    assert attendance.scheduled_lessons.astype(float).sum() == 22
    assert entry.rows_rejected == 0


def test_impossible_lesson_number_is_quarantined_with_reason_and_rest_loads(settings):
    marks = ("merkinnat.csv", MARKS_WITH_LESSON_15)
    # 1 bad row of 16 is above 5 %; raise the threshold so the row-level path is exercised.
    settings = dataclasses.replace(settings, reject_threshold=0.2)
    write_drop(settings.landing, "091", "20260827T234000", csv_files(marks=marks))
    entry = _ingest(settings)
    assert entry.status == "loaded"
    assert entry.rows_rejected == 1
    rejects = pq.read_table(
        settings.quarantine / "091" / entry.load_id / "rejected_rows.parquet").to_pylist()
    assert [(r["file"], r["row"], r["column"]) for r in rejects] == [("merkinnat.csv", 3, "tunti")]
    assert "not in 1-12" in rejects[0]["reason"]
    assert len(_canonical(settings, "absences")) == 2  # the other markings loaded


MARKS_WITH_LESSON_15 = (
    "oppilas_id;pvm;tunti;merkinta;muokattu\n"
    "A1;10.8.2026;1;S;10.8.2026 9:00\n"
    "A1;10.8.2026;2;S;10.8.2026 9:00\n"
    "A1;11.8.2026;15;S;11.8.2026 9:00\n"
    "A2;11.8.2026;3;M;11.8.2026 9:00\n")


def test_rejected_share_above_threshold_quarantines_whole_drop(settings):
    write_drop(settings.landing, "091", "20260827T234000",
               csv_files(marks=("merkinnat.csv", MARKS_WITH_LESSON_15)))
    entry = _ingest(settings)
    assert entry.status == "quarantined"
    assert "above the 5% threshold" in entry.reason
    assert not (settings.canonical / "absences" / "091").exists()
    reason = (settings.quarantine / "091" / entry.load_id / "reason.json").read_text()
    assert "merkinnat" in reason or "lesson number" in reason


def test_columns_outside_the_contract_are_dropped_and_reported_by_position(settings):
    write_drop(settings.landing, "091", "20260827T234000", csv_files())
    entry = _ingest(settings)
    # sukunimi and etunimi are the 3rd and 4th header cells: a header can hold a name or an
    # identity code, so drift names the position; lisatiedot is the contract's own name.
    assert entry.schema_drift == ("oppilaat.csv:column 3, oppilaat.csv:column 4, "
                                  "toimenpiteet.csv:lisatiedot")
    names = set()
    for path in settings.warehouse.rglob("*.parquet"):
        names.update(pq.read_schema(path).names)
    assert not names & {"sukunimi", "etunimi", "lisatiedot", "oppilas_id", "oppijanumero"}
    text = b"".join(p.read_bytes() for p in settings.warehouse.rglob("*") if p.is_file())
    for secret in (b"\xc3\x84ij\xc3\xa4l\xc3\xa4", b"A1;", b"10000000001", b"huolissaan"):
        assert secret not in text


def test_cp1252_with_finnish_letters_and_quoted_delimiter_parses(settings):
    write_drop(settings.landing, "091", "20260827T234000", csv_files(), encoding="cp1252")
    entry = _ingest(settings)
    assert entry.status == "loaded", entry.reason
    assert len(_canonical(settings, "interventions")) == 1


def test_identity_code_in_a_kept_column_quarantines_the_drop_without_the_value(settings):
    code = "131052-308T"  # valid check character
    students = ("oppilaat.csv", STUDENTS_TEXT.replace("A2;;", f"A2;{code};"))
    write_drop(settings.landing, "091", "20260827T234000", csv_files(students=students))
    entry = _ingest(settings)
    assert entry.status == "quarantined"
    assert "oppilaat.csv" in entry.reason and "oppijanumero" in entry.reason
    assert code not in entry.reason
    everything = b"".join(p.read_bytes() for p in settings.warehouse.rglob("*") if p.is_file())
    assert code.encode() not in everything


STUDENTS_TEXT = ("oppilas_id;oppijanumero;koulu;vuosiluokka;alkaen;paattyen\n"
                 "A1;1.2.246.562.24.10000000001;00101;8;10.8.2026;\n"
                 "A2;;00101;3;10.8.2026;\n")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("checksum", "checksum does not match"),
        ("rows", "manifest says 4 data rows, the file has 3"),
        ("missing_file", "missing: tunnit.csv"),
        ("profile", "unknown profile"),
        ("empty", "empty"),
        ("encoding", "cannot be parsed as utf-8"),
        ("missing_column", "missing column(s) merkinta"),
    ],
)
def test_broken_drops_are_quarantined_whole_with_a_clear_reason(settings, case, expected):
    files = csv_files()
    overrides = None
    folder = write_drop(settings.landing, "091", "20260827T234000", files)
    manifest_path = folder / "manifest.json"
    import json

    manifest = json.loads(manifest_path.read_text())
    if case == "checksum":
        (folder / "tunnit.csv").write_text(LESSONS_TEXT.replace(";6", ";7"))
    elif case == "rows":
        manifest["files"]["lessons"]["rows"] = 4
        (folder / "tunnit.csv").write_text(LESSONS_TEXT.rsplit("A2;11", 1)[0])
        _rehash(folder, manifest, "lessons")
    elif case == "missing_file":
        (folder / "tunnit.csv").unlink()
    elif case == "profile":
        manifest["profile"] = "fax_machine"
    elif case == "empty":
        (folder / "merkinnat.csv").write_text("")
        manifest["files"]["marks"]["rows"] = 0
        _rehash(folder, manifest, "marks")
    elif case == "encoding":
        (folder / "oppilaat.csv").write_bytes(STUDENTS_TEXT.replace("A2", "Ä2").encode("cp1252"))
        _rehash(folder, manifest, "students")
    elif case == "missing_column":
        (folder / "merkinnat.csv").write_text(
            "oppilas_id;pvm;tunti;muokattu\nA1;10.8.2026;1;10.8.2026 9:00\n")
        manifest["files"]["marks"]["rows"] = 1
        _rehash(folder, manifest, "marks")
    del overrides
    manifest_path.write_text(json.dumps(manifest))
    entry = _ingest(settings)
    assert entry.status == "quarantined"
    assert expected in entry.reason
    assert not (settings.canonical / "attendance" / "091").exists()
    assert (settings.quarantine / "091" / entry.load_id / "reason.json").exists()
    assert (folder / "manifest.json").exists()  # originals stay where they were


LESSONS_TEXT = ("oppilas_id;pvm;tunnit\n"
                "A1;10.8.2026;6\nA1;11.8.2026;6\nA2;10.8.2026;5\nA2;11.8.2026;5\n")


def _rehash(folder, manifest, key):
    import hashlib

    path = folder / manifest["files"][key]["path"]
    manifest["files"][key]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
