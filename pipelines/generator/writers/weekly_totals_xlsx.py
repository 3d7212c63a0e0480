"""The `weekly_totals_xlsx` profile: one workbook with pupils, weekly totals per pupil and
interventions, archived with fixed timestamps so equal content gives equal bytes (DESIGN §4.3)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

from pipelines.generator.calendar import _to_date
from pipelines.generator.simulation import pupil_day_counts
from pipelines.generator.vocabulary import CATEGORIES, INTERVENTION_TYPES, XLSX_COLUMNS
from pipelines.generator.writers._common import (
    _FILE_NAMES,
    _LARGE,
    _as_text,
    _chunks,
    _Extract,
    _join,
    _string_bytes,
)

EXCEL_MAX_DATA_ROWS = 1_048_575


def _weekly_totals(ext: _Extract) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pupil and ISO week: pupil, Monday (days since 1970), scheduled lessons, counts."""
    sim = ext.sim
    rows = ext.pupil_day_rows()
    counts = pupil_day_counts(sim, ext.cutoff)[rows].astype(np.int64)
    eday = sim.days.astype(np.int64)[sim.pupil_days.day[rows]]
    monday = eday - (eday + 3) % 7
    pupil = sim.pupil_days.pupil[rows].astype(np.int64)
    # Rows are sorted by pupil then day, so each pupil-week is one contiguous run.
    key = pupil * 1_000_000 + monday
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, int)
    if len(starts) == 0:
        return pupil, monday, np.zeros(0, np.int64), np.zeros((0, len(CATEGORIES)), np.int64)
    lessons = np.add.reduceat(sim.pupil_days.lessons[rows].astype(np.int64), starts)
    totals = np.add.reduceat(counts, starts, axis=0)
    return pupil[starts], monday[starts], lessons, totals


def _weekly_rows_xml(
    ids: pa.Array, year: np.ndarray, week: np.ndarray, lessons: np.ndarray, totals: np.ndarray
) -> Iterator[memoryview]:
    """Poissaolot data rows as worksheet XML, cell for cell as openpyxl's write-only mode writes.

    openpyxl serialises ~20,000 rows a second without lxml; building the same XML with
    Arrow string kernels keeps a scale-1 run to seconds per workbook.
    """
    columns = [year, week, lessons, *totals[:, : len(XLSX_COLUMNS)].T]
    for chunk in _chunks(np.arange(len(year))):
        r = _as_text(chunk + 2)  # row 1 is the header
        parts: list[pa.Array | str] = ['<row r="', r, '"><c r="A', r, '" t="inlineStr"><is><t>']
        parts += [ids.take(pa.array(chunk)), "</t></is></c>"]
        for letter, values in zip("BCDEFGHI", columns, strict=True):
            parts += [f'<c r="{letter}', r, '" t="n"><v>', _as_text(values[chunk]), "</v></c>"]
        parts.append("</row>")
        yield _string_bytes(_join(parts, ""))


def _write_fixed_zip(
    path: Path, data: bytes, moment: datetime, rows: dict[str, Iterator[memoryview]]
) -> None:
    """Rewrite openpyxl's archive with fixed timestamps (equal content, equal bytes).

    `rows` maps a worksheet part to extra row XML inserted before its `</sheetData>`.
    """
    stamp = moment.timetuple()[:6]
    props = DocumentProperties(creator="absence generator", created=moment, modified=moment)
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = tostring(props.to_tree())
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            if info.filename not in rows:
                target.writestr(fixed, content)
                continue
            head, tail = content.split(b"</sheetData>", 1)
            with target.open(fixed, "w", force_zip64=True) as member:
                member.write(head)
                for chunk in rows[info.filename]:
                    member.write(chunk)
                member.write(b"</sheetData>" + tail)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_xlsx_profile(ext: _Extract, folder: Path) -> dict:
    sim = ext.sim
    ids = sim.local_ids("weekly_totals_xlsx")
    p = sim.pupils
    to = ext.enrolled_to()
    pupil, monday, lessons, totals = _weekly_totals(ext)
    if len(pupil) > EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"{len(pupil)} weekly rows do not fit one Excel sheet")
    # A weekly workbook is appended to week by week: rows by week, then pupil.
    order = np.lexsort((pupil, monday))
    iso = {m: _to_date(m).isocalendar() for m in np.unique(monday).tolist()}
    year = np.array([iso[m][0] for m in monday[order].tolist()], dtype=np.int64)
    week = np.array([iso[m][1] for m in monday[order].tolist()], dtype=np.int64)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Oppilaat")
    sheet.append(["tunniste", "koulu", "luokka", "alkaen", "paattyen", "nimi", "hetu"])
    visible = ext.pupils_visible().tolist()
    for i in visible:
        sheet.append(
            [
                ids[i],
                str(p.school_code[i]),
                f"{p.grade[i]}{p.class_letter[i]}",
                p.enrolled_from[i].item(),
                None if np.isnat(to[i]) else to[i].item(),
                f"{p.first_name[i]} {p.surname[i]}",
                p.identity_code[i],
            ]
        )
    # The data rows of this sheet are added while archiving (see _weekly_rows_xml).
    workbook.create_sheet("Poissaolot").append(
        ["tunniste", "vuosi", "viikko", "pidetyt_tunnit", *XLSX_COLUMNS]
    )
    sheet = workbook.create_sheet("Toimenpiteet")
    sheet.append(["tunniste", "pvm", "toimenpide"])
    iv = sim.interventions
    iv_rows = ext.interventions().tolist()
    for i in iv_rows:
        sheet.append([ids[iv.pupil[i]], iv.date[i].item(), INTERVENTION_TYPES[iv.type[i]][1]])

    buffer = io.BytesIO()
    workbook.save(buffer)
    id_array = pa.array(ids.tolist(), _LARGE).take(pa.array(pupil[order]))
    weekly_xml = _weekly_rows_xml(id_array, year, week, lessons[order], totals[order])
    name = _FILE_NAMES["weekly_totals_xlsx"]["workbook"]
    moment = ext.extracted_at.replace(tzinfo=None)
    _write_fixed_zip(folder / name, buffer.getvalue(), moment, {_POISSAOLOT_PART: weekly_xml})
    rows = {"Oppilaat": len(visible), "Poissaolot": len(order), "Toimenpiteet": len(iv_rows)}
    return {"workbook": {"path": name, "sha256": _file_digest(folder / name), "rows": rows}}


_POISSAOLOT_PART = "xl/worksheets/sheet2.xml"  # openpyxl numbers sheets in creation order
