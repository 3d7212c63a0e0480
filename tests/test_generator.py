"""Specification of the synthetic drop generator (DESIGN §3-4), read back with plain readers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from pipelines import generator as g
from pipelines.generator.calendar import _municipality_index

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
START = date(2026, 10, 1)  # 25 school days from here span Helsinki's autumn break (week 42)
SCHOOL_DAYS = 25
FI_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
FI_STAMP = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})$")
HETU = re.compile(r"^(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])$")
OID = re.compile(r"^1\.2\.246\.562\.24\.\d{11}$")
CONTRACT_CSV = {
    "students": ["oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen"],
    "lessons": ["oppilas_id", "pvm", "tunnit"],
    "marks": ["oppilas_id", "pvm", "tunti", "merkinta", "muokattu"],
    "interventions": ["oppilas_id", "pvm", "toimenpide", "vastuutaho", "lisatiedot"],
}
CONTRACT_SHEETS = {
    "Oppilaat": ["tunniste", "koulu", "luokka", "alkaen", "paattyen"],
    "Poissaolot": [
        "tunniste",
        "vuosi",
        "viikko",
        "pidetyt_tunnit",
        "sairaus",
        "luvallinen",
        "luvaton",
        "selvittamaton",
        "myohastymiset",
    ],  # fmt: skip
    "Toimenpiteet": ["tunniste", "pvm", "toimenpide"],
}
CSV_CATEGORY = {"S": 0, "L": 1, "LV": 2, "SE": 3, "M": 4, "K": 5}
JSONL_CATEGORY = {code: i for i, code in enumerate(g.JSONL_CODES)}


# --- plain readers


def read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def read_sheets(path: Path) -> dict[str, list[dict]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = {}
    for sheet in workbook.worksheets:
        header, *rows = sheet.iter_rows(values_only=True)
        sheets[sheet.title] = [dict(zip(header, row, strict=True)) for row in rows]
    workbook.close()
    return sheets


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def fi_date(text: str) -> date:
    day, month, year = map(int, FI_DATE.match(text).groups())
    return date(year, month, day)


def fi_stamp(text: str) -> datetime:
    day, month, year, hour, minute = map(int, FI_STAMP.match(text).groups())
    return datetime(year, month, day, hour, minute)


def number(local_id: str) -> int:
    """The pupil number behind a profile's local id (OP123, S123, T123)."""
    return int(re.sub(r"^\D+", "", local_id))


def csv_pupil_days(folder: Path) -> dict[tuple[int, date], tuple[int, list[int]]]:
    """Per (pupil, day): scheduled lessons and lessons per category, latest marking winning."""
    encoding = manifest(folder).get("encoding", "utf-8")
    latest: dict[tuple[str, str, str], tuple[datetime, str]] = {}
    for row in read_csv(folder / "merkinnat.csv", encoding):
        key = (row["oppilas_id"], row["pvm"], row["tunti"])
        stamp = fi_stamp(row["muokattu"])
        if key not in latest or stamp > latest[key][0]:
            latest[key] = (stamp, row["merkinta"])
    counts: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0] * 6)
    for (pupil, day, _), (_, code) in latest.items():
        counts[number(pupil), fi_date(day)][CSV_CATEGORY[code]] += 1
    return {
        (number(r["oppilas_id"]), fi_date(r["pvm"])): (
            int(r["tunnit"]),
            counts.get((number(r["oppilas_id"]), fi_date(r["pvm"])), [0] * 6),
        )
        for r in read_csv(folder / "tunnit.csv", encoding)
    }


def jsonl_pupil_days(folder: Path) -> dict[tuple[int, date], tuple[int, list[int]]]:
    result = {}
    for record in read_jsonl(folder / "attendance.jsonl"):
        counts = [0] * 6
        for code, lessons in record["absences"].items():
            counts[JSONL_CATEGORY[code]] = lessons
        key = (number(record["student_ref"]), date.fromisoformat(record["date"]))
        result[key] = (record["scheduled_lessons"], counts)
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- fixtures


@pytest.fixture(scope="module")
def sim() -> g.Simulation:
    return g.simulate_municipality("091", START, SCHOOL_DAYS, seed=7, pupils=150)


@pytest.fixture(scope="module")
def drops(sim: g.Simulation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same simulation written as four municipalities, one per profile and encoding."""
    landing = tmp_path_factory.mktemp("landing")
    return {
        "csv": g.write_drop(sim, "lesson_marks_csv", landing),
        "csv_cp1252": g.write_drop(
            sim, "lesson_marks_csv", landing, municipality_code="681", encoding="cp1252"
        ),
        "jsonl": g.write_drop(sim, "daily_summary_jsonl", landing, municipality_code="049"),
        "xlsx": g.write_drop(sim, "weekly_totals_xlsx", landing, municipality_code="837"),
    }


# --- determinism, manifest


def test_same_seed_writes_identical_bytes(drops: dict[str, Path], tmp_path: Path) -> None:
    again = g.simulate_municipality("091", START, SCHOOL_DAYS, seed=7, pupils=150)
    rewritten = {
        "csv": g.write_drop(again, "lesson_marks_csv", tmp_path),
        "jsonl": g.write_drop(again, "daily_summary_jsonl", tmp_path, municipality_code="049"),
        "xlsx": g.write_drop(again, "weekly_totals_xlsx", tmp_path, municipality_code="837"),
    }
    for name, folder in rewritten.items():
        original = drops[name]
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in original.iterdir()
        )
        for path in folder.iterdir():
            assert path.read_bytes() == (original / path.name).read_bytes(), path.name


def test_other_seed_writes_other_data(drops: dict[str, Path], tmp_path: Path) -> None:
    other = g.simulate_municipality("091", START, SCHOOL_DAYS, seed=8, pupils=150)
    folder = g.write_drop(other, "lesson_marks_csv", tmp_path)
    assert sha256(folder / "merkinnat.csv") != sha256(drops["csv"] / "merkinnat.csv")


def test_manifest_checksums_and_row_counts_match_files(drops: dict[str, Path]) -> None:
    for folder in drops.values():
        m = manifest(folder)
        for key, entry in m["files"].items():
            path = folder / entry["path"]
            assert entry["sha256"] == sha256(path), key
            if m["profile"] == "lesson_marks_csv":
                assert entry["rows"] == len(read_csv(path, m["encoding"])), key
            elif m["profile"] == "daily_summary_jsonl":
                assert entry["rows"] == len(read_jsonl(path)), key
            else:
                sheets = read_sheets(path)
                assert entry["rows"] == {name: len(rows) for name, rows in sheets.items()}


def test_manifest_has_contract_keys_and_extract_id_convention(drops: dict[str, Path]) -> None:
    m = manifest(drops["csv"])
    assert set(m) == {
        "municipality_code",
        "profile",
        "extracted_at",
        "coverage",
        "encoding",
        "files",
    }
    assert m["municipality_code"] == "091" and m["profile"] == "lesson_marks_csv"
    assert set(m["files"]) == {"students", "lessons", "marks", "interventions"}
    assert set(manifest(drops["jsonl"])["files"]) == {"students", "attendance", "interventions"}
    assert set(manifest(drops["xlsx"])["files"]) == {"workbook"}
    extracted = datetime.fromisoformat(m["extracted_at"])
    assert extracted.utcoffset() == timedelta(hours=2)  # EET in November
    assert (extracted.hour, extracted.minute) == (23, 40)
    assert extracted.date() == date.fromisoformat(m["coverage"]["end"])
    assert drops["csv"].name == extracted.strftime("%Y%m%dT%H%M%S")
    assert drops["csv"].parent.name == "091"
    assert not list(drops["csv"].glob("*.tmp"))


def test_weekly_drop_covers_whole_iso_weeks(drops: dict[str, Path]) -> None:
    coverage = manifest(drops["xlsx"])["coverage"]
    assert date.fromisoformat(coverage["start"]).weekday() == 0
    assert date.fromisoformat(coverage["end"]).weekday() == 6
    assert drops["xlsx"].name.endswith("T234000")


# --- contract formats


def test_csv_files_have_contract_headers_and_formats(drops: dict[str, Path]) -> None:
    folder = drops["csv"]
    files = manifest(folder)["files"]
    for key, columns in CONTRACT_CSV.items():
        with open(folder / files[key]["path"], encoding="utf-8", newline="") as f:
            header = next(csv.reader(f, delimiter=";"))
        assert header[: len(columns)] == columns, key
    students = read_csv(folder / "oppilaat.csv", "utf-8")
    assert {"sukunimi", "etunimi", "hetu", "osoite", "huoltajan_hetu"} <= set(students[0])
    for row in students:
        assert re.fullmatch(r"\d{5}", row["koulu"]) and 1 <= int(row["vuosiluokka"]) <= 9
        assert row["oppijanumero"] == "" or OID.match(row["oppijanumero"])
        fi_date(row["alkaen"])
        assert row["paattyen"] == "" or fi_date(row["paattyen"]) >= fi_date(row["alkaen"])
    for row in read_csv(folder / "merkinnat.csv", "utf-8"):
        assert row["merkinta"] in CSV_CATEGORY and 1 <= int(row["tunti"]) <= 12
        assert fi_stamp(row["muokattu"]).date() >= fi_date(row["pvm"])
    codes = {row[3] for row in g.INTERVENTION_TYPES}
    assert {r["toimenpide"] for r in read_csv(folder / "toimenpiteet.csv", "utf-8")} <= codes


def test_jsonl_records_have_contract_keys(drops: dict[str, Path]) -> None:
    folder = drops["jsonl"]
    students = read_jsonl(folder / "students.jsonl")
    contract = {
        "student_ref",
        "learner_oid",
        "school_code",
        "grade",
        "enrolled_from",
        "enrolled_to",
    }
    for record in students:
        assert contract <= set(record) and "name" in record
        assert record["learner_oid"] is None or OID.match(record["learner_oid"])
        assert isinstance(record["grade"], int) and isinstance(record["school_code"], str)
    share_with_oid = sum(r["learner_oid"] is not None for r in students) / len(students)
    assert 0.7 < share_with_oid < 0.97
    for record in read_jsonl(folder / "attendance.jsonl"):
        assert set(record) == {"student_ref", "date", "scheduled_lessons", "absences"}
        assert set(record["absences"]) <= set(g.JSONL_CODES)
        assert (
            sum(v for k, v in record["absences"].items() if k != "LATE")
            <= record["scheduled_lessons"]
        )
    types = {row[4] for row in g.INTERVENTION_TYPES}
    for record in read_jsonl(folder / "interventions.jsonl"):
        assert {"student_ref", "date", "type", "role"} <= set(record)
        assert record["type"] in types


def test_xlsx_sheets_have_contract_columns(drops: dict[str, Path]) -> None:
    sheets = read_sheets(drops["xlsx"] / "poissaolot_viikoittain.xlsx")
    assert list(sheets) == list(CONTRACT_SHEETS)
    for name, columns in CONTRACT_SHEETS.items():
        assert list(sheets[name][0])[: len(columns)] == columns, name
    assert {"nimi", "hetu"} <= set(sheets["Oppilaat"][0])
    for row in sheets["Oppilaat"]:
        assert re.fullmatch(r"[1-9][A-Z]", row["luokka"]) and isinstance(row["alkaen"], datetime)
    names = {row[1] for row in g.INTERVENTION_TYPES}
    assert {row["toimenpide"] for row in sheets["Toimenpiteet"]} <= names


def test_fast_weekly_sheet_is_what_openpyxl_writes(drops: dict[str, Path]) -> None:
    path = drops["xlsx"] / "poissaolot_viikoittain.xlsx"
    rows = read_sheets(path)["Poissaolot"]
    workbook = openpyxl.Workbook(write_only=True)
    workbook.create_sheet("Oppilaat")
    sheet = workbook.create_sheet("Poissaolot")
    sheet.append(CONTRACT_SHEETS["Poissaolot"])
    for row in rows:
        sheet.append(list(row.values()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    reference = zipfile.ZipFile(buffer).read("xl/worksheets/sheet2.xml")
    assert zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml") == reference


def test_intervention_codes_map_to_the_same_types_in_every_profile(drops: dict[str, Path]) -> None:
    with open(SEEDS / "code_maps" / "intervention_code_map.csv", encoding="utf-8") as f:
        code_map = {
            (r["profile"], r["local_code"]): r["intervention_type"] for r in csv.DictReader(f)
        }
    csv_rows = read_csv(drops["csv"] / "toimenpiteet.csv", "utf-8")
    jsonl_rows = read_jsonl(drops["jsonl"] / "interventions.jsonl")
    xlsx_rows = read_sheets(drops["xlsx"] / "poissaolot_viikoittain.xlsx")["Toimenpiteet"]
    from_csv = Counter(code_map["lesson_marks_csv", r["toimenpide"]] for r in csv_rows)
    from_jsonl = Counter(code_map["daily_summary_jsonl", r["type"]] for r in jsonl_rows)
    from_xlsx = Counter(code_map["weekly_totals_xlsx", r["toimenpide"]] for r in xlsx_rows)
    assert from_csv == from_jsonl and from_csv["concern_raised"] > 0
    # The weekly drop's window is whole weeks, so it may hold a few more.
    assert not from_csv - from_xlsx
    assert {r["vastuutaho"] for r in csv_rows} <= {*g.ROLES, ""}


# --- encodings, personal data


def test_cp1252_drop_declares_encoding_and_holds_finnish_letters(drops: dict[str, Path]) -> None:
    folder = drops["csv_cp1252"]
    assert manifest(folder)["encoding"] == "cp1252"
    raw = (folder / "oppilaat.csv").read_bytes()
    assert "ä".encode("cp1252") in raw and "ä".encode() not in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert any(letter in text for letter in "öåÄÖÅ")
    notes = [r["lisatiedot"] for r in read_csv(folder / "toimenpiteet.csv", "cp1252")]
    assert any(";" in note for note in notes)  # quoted, so the row still has five fields


def test_identity_codes_have_valid_check_characters(drops: dict[str, Path]) -> None:
    assert g.identity_code(date(1952, 10, 13), 308) == "131052-308T"  # DVV's example
    checks = "0123456789ABCDEFHJKLMNPRSTUVWXY"
    students = read_csv(drops["csv"] / "oppilaat.csv", "utf-8")
    workbook = read_sheets(drops["xlsx"] / "poissaolot_viikoittain.xlsx")
    pupils = [r["hetu"] for r in students] + [r["hetu"] for r in workbook["Oppilaat"]]
    guardians = [r["huoltajan_hetu"] for r in students]
    for code in pupils + guardians:
        birth, _, individual, check = HETU.match(code).groups()
        assert 2 <= int(individual) <= 899
        assert check == checks[int(birth + individual) % 31]
        datetime.strptime(birth, "%d%m%y")
    pupil_signs = {HETU.match(c).group(2) for c in pupils}
    guardian_signs = {HETU.match(c).group(2) for c in guardians}
    assert "A" in pupil_signs and pupil_signs <= set("ABCDEF")  # born in the 2010s
    assert "-" in guardian_signs and guardian_signs <= set("-YXWVU")  # born 1972-1995
    assert (pupil_signs | guardian_signs) & set("BCDEFYXWVU")  # the 2023 signs appear too


def test_contract_columns_hold_no_identity_codes_or_names(drops: dict[str, Path]) -> None:
    loose_hetu = re.compile(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]")
    names = {r["sukunimi"] for r in read_csv(drops["csv"] / "oppilaat.csv", "utf-8")}
    for key, columns in CONTRACT_CSV.items():
        path = drops["csv"] / manifest(drops["csv"])["files"][key]["path"]
        for row in read_csv(path, "utf-8"):
            for column in columns:
                if column == "lisatiedot":
                    continue  # free text, never read by the pipeline
                assert not loose_hetu.search(row[column]) and row[column] not in names


# --- one simulation, three profiles


@pytest.mark.parametrize("coverage", [None, (date(2026, 10, 5), date(2026, 10, 20))])
def test_csv_and_jsonl_agree_per_pupil_day(
    sim: g.Simulation, tmp_path: Path, coverage: tuple[date, date] | None
) -> None:
    as_csv = g.write_drop(sim, "lesson_marks_csv", tmp_path, coverage=coverage)
    as_jsonl = g.write_drop(
        sim, "daily_summary_jsonl", tmp_path, municipality_code="049", coverage=coverage
    )
    from_csv, from_jsonl = csv_pupil_days(as_csv), jsonl_pupil_days(as_jsonl)
    assert from_csv == from_jsonl
    assert sum(sum(counts[:4]) for _, counts in from_csv.values()) > 0
    if coverage:
        assert {day for _, day in from_csv} <= {
            coverage[0] + timedelta(days=i) for i in range((coverage[1] - coverage[0]).days + 1)
        }


def test_latest_marking_is_the_simulated_truth(sim: g.Simulation, drops: dict[str, Path]) -> None:
    marks = read_csv(drops["csv"] / "merkinnat.csv", "utf-8")
    keys = Counter((r["oppilas_id"], r["pvm"], r["tunti"]) for r in marks)
    repeated = sum(n - 1 for n in keys.values())
    assert 0.01 < repeated / len(marks) < 0.15 and max(keys.values()) <= 3
    counts = sim.counts()
    truth = {}
    days = sim.days.astype(date)
    ids = sim.pupils.local_number
    for i in range(len(sim.pupil_days)):
        day = days[sim.pupil_days.day[i]]
        truth[int(ids[sim.pupil_days.pupil[i]]), day] = counts[i].tolist()
    assert {k: v[1] for k, v in csv_pupil_days(drops["csv"]).items()} == truth


def test_weekly_totals_equal_daily_totals_monday_to_sunday(drops: dict[str, Path]) -> None:
    weekly: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0] * 6)
    for (pupil, day), (lessons, counts) in jsonl_pupil_days(drops["jsonl"]).items():
        year, week, _ = day.isocalendar()
        totals = weekly[pupil, year, week]
        totals[0] += lessons
        for i in range(5):
            totals[i + 1] += counts[i]
    rows = read_sheets(drops["xlsx"] / "poissaolot_viikoittain.xlsx")["Poissaolot"]
    from_sheet = {
        (number(r["tunniste"]), r["vuosi"], r["viikko"]): [
            r[c] for c in CONTRACT_SHEETS["Poissaolot"][3:]
        ]
        for r in rows
    }
    assert from_sheet == dict(weekly)


def test_students_agree_across_profiles(drops: dict[str, Path]) -> None:
    csv_rows = read_csv(drops["csv"] / "oppilaat.csv", "utf-8")
    jsonl_rows = read_jsonl(drops["jsonl"] / "students.jsonl")
    from_csv = {
        number(r["oppilas_id"]): (r["koulu"], int(r["vuosiluokka"]), fi_date(r["alkaen"]))
        for r in csv_rows
    }
    from_jsonl = {
        number(r["student_ref"]): (
            r["school_code"],
            r["grade"],
            date.fromisoformat(r["enrolled_from"]),
        )
        for r in jsonl_rows
    }
    assert from_csv == from_jsonl


# --- calendar


def _days_off_from_seeds(code: str) -> set[date]:
    off = set()
    with open(SEEDS / "reference" / "fi_holidays_2024_2029.csv", encoding="utf-8") as f:
        off |= {date.fromisoformat(r["date"]) for r in csv.DictReader(f)}
    with open(SEEDS / "reference" / "school_holidays_sample_2025_2027.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["kunta_code"] == code and "perusopetus" in r["school_level"]:
                first, last = date.fromisoformat(r["start_date"]), date.fromisoformat(r["end_date"])
                off |= {first + timedelta(days=i) for i in range((last - first).days + 1)}
    return off


def test_records_fall_on_school_days_only(drops: dict[str, Path]) -> None:
    off = _days_off_from_seeds("091")
    assert date(2026, 10, 12) in off  # Helsinki's autumn break lies inside the simulated window
    days = {fi_date(r["pvm"]) for r in read_csv(drops["csv"] / "tunnit.csv", "utf-8")}
    days |= {fi_date(r["pvm"]) for r in read_csv(drops["csv"] / "merkinnat.csv", "utf-8")}
    days |= {date.fromisoformat(r["date"]) for r in read_jsonl(drops["jsonl"] / "attendance.jsonl")}
    assert days and all(d.weekday() < 5 and d not in off for d in days)
    assert len(days) == SCHOOL_DAYS


def test_calendar_skips_christmas_winter_break_and_summer() -> None:
    days = g.school_calendar("091", date(2026, 12, 14), 10)
    assert days[4] == date(2026, 12, 18) and days[5] == date(2027, 1, 7)
    winter = g.school_calendar("091", date(2027, 2, 15), 10)  # Helsinki: week 8 in the sample
    assert not any(date(2027, 2, 22) <= d <= date(2027, 2, 26) for d in winter)
    default_winter = g.school_calendar("005", date(2027, 2, 22), 10)  # no sample row: week 9
    assert not any(date(2027, 3, 1) <= d <= date(2027, 3, 5) for d in default_winter)
    summer = g.school_calendar("091", date(2027, 5, 24), 10)
    assert summer[4] == date(2027, 5, 28) and summer[5] == date(2027, 8, 10)


def test_enrolment_bounds_every_record(sim: g.Simulation) -> None:
    pupils, pd = sim.pupils, sim.pupil_days
    day = sim.days[pd.day]
    assert (day >= pupils.enrolled_from[pd.pupil]).all()
    to = pupils.enrolled_to[pd.pupil]
    assert ((day <= to) | (to != to)).all()  # NaT (ongoing) compares unequal to itself
    left = ~(pupils.enrolled_to != pupils.enrolled_to)
    assert 0 < left.sum() < len(pupils) * 0.15


# --- generate and sizes


def test_generate_starts_with_helsinki_and_spreads_profiles_over_regions(tmp_path: Path) -> None:
    folders = g.generate(tmp_path, municipalities=3, days=5, seed=42)
    manifests = [manifest(f) for f in folders]
    assert manifests[0]["municipality_code"] == "091"
    assert [m["profile"] for m in manifests] == list(g.PROFILES)
    regions = {_municipality_index()[m["municipality_code"]].region_code for m in manifests}
    assert len(regions) == 3
    for folder, m in zip(folders, manifests, strict=True):
        assert folder.parent.name == m["municipality_code"] and folder.parent.parent == tmp_path


def test_pupil_counts_follow_the_size_model() -> None:
    codes = [m.code for m in g.municipalities()]
    assert len(codes) == 308
    whole = {c: g.pupil_count(c, 1.0) for c in codes}
    assert abs(sum(whole.values()) - 560_000) < 5_600
    assert 0.09 <= whole["091"] / sum(whole.values()) <= 0.10
    assert sum(50 <= n <= 500 for n in whole.values()) > 100
    demo = {c: g.pupil_count(c) for c in codes}
    assert all(150 <= n <= 900 for n in demo.values()) and demo["091"] == max(demo.values())
    assert g.pupil_count("091", 0.01) == round(whole["091"] / 100)


def test_a_later_night_brings_a_new_day_and_corrections(tmp_path: Path) -> None:
    """`through` leaves the last school days out of the first extract; an extract of the same
    simulation a night later holds the next day's marks and markings corrected that day for
    earlier days, and no mark modified after its own extraction."""
    first = g.generate(tmp_path / "a", municipalities=["049"], days=40, seed=7, scale=0.01,
                       through=38)[0]
    sim = g.simulate_municipality("049", date(2026, 8, 10), 40, seed=7,
                                  pupils=g.pupil_count("049", 0.01))
    day38, day39 = sim.days[37].item(), sim.days[38].item()
    m1 = manifest(first)
    assert m1["coverage"]["end"] == day38.isoformat()
    assert m1["extracted_at"].startswith(day38.isoformat())
    later = g.write_drop(sim, "lesson_marks_csv", tmp_path / "b",
                         coverage=(day39 - timedelta(days=13), day39))

    def marks(folder: Path) -> list[dict[str, str]]:
        return read_csv(folder / "merkinnat.csv", "utf-8")

    before, after = marks(first), marks(later)
    assert max(fi_date(r["pvm"]) for r in before) == day38
    assert any(fi_date(r["pvm"]) == day39 for r in after)
    for rows, extracted in ((before, day38), (after, day39)):
        assert all(fi_date(r["muokattu"].split()[0]) <= extracted for r in rows)
    corrected = {(r["oppilas_id"], r["pvm"], r["tunti"]) for r in after
                 if fi_date(r["muokattu"].split()[0]) == day39
                 and fi_date(r["pvm"]) < day39}
    assert corrected, "no marking corrected on the new day"
    earlier = {(r["oppilas_id"], r["pvm"], r["tunti"]) for r in before}
    assert corrected <= earlier  # corrections of lessons the first extract already had
    with pytest.raises(ValueError, match="through"):
        g.generate(tmp_path / "c", municipalities=["049"], days=5, seed=7, through=6)
