"""The `lesson_marks_csv` profile: students, scheduled lessons, every version of every lesson
marking and interventions as semicolon CSV, UTF-8 or cp1252 (DESIGN §4.1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.generator.vocabulary import INTERVENTION_TYPES, MARK_CODES, ROLES
from pipelines.generator.writers._common import (
    _FILE_NAMES,
    _LARGE,
    _as_text,
    _chunks,
    _date_strings,
    _Extract,
    _fi_date,
    _HashingFile,
    _join,
    _lookup,
    _write_lines,
)


def _csv_text(rows: Iterable[Sequence[str]], eol: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator=eol, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue()


def _write_small_csv(
    path: Path, header: Sequence[str], rows: list[list[str]], ext: _Extract, eol: str
) -> dict:
    out = _HashingFile(path)
    out.write(_csv_text([header, *rows], eol).encode(ext.encoding))
    out.rows = len(rows)
    return out.close()


def _eol(encoding: str) -> str:
    # Windows-era exports in cp1252 end lines with CRLF; UTF-8 API exports with LF.
    return "\r\n" if encoding.lower() in ("cp1252", "windows-1252") else "\n"


def _write_csv_profile(ext: _Extract, folder: Path) -> dict:
    sim, names, eol = ext.sim, _FILE_NAMES["lesson_marks_csv"], _eol(ext.encoding)
    ids = sim.local_ids("lesson_marks_csv")
    p = sim.pupils
    to = ext.enrolled_to()
    students = [
        [
            ids[i],
            p.learner_oid[i] or "",
            p.school_code[i],
            str(p.grade[i]),
            _fi_date(p.enrolled_from[i].item()),
            "" if np.isnat(to[i]) else _fi_date(to[i].item()),
            p.surname[i],
            p.first_name[i],
            p.identity_code[i],
            p.address[i],
            p.guardian_identity_code[i],
        ]
        for i in ext.pupils_visible().tolist()
    ]
    header = ["oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen"]
    files = {
        "students": _write_small_csv(
            folder / names["students"],
            [*header, "sukunimi", "etunimi", "hetu", "osoite", "huoltajan_hetu"],
            students,
            ext,
            eol,
        )
    }

    rows = ext.pupil_day_rows()
    day_strings = _date_strings(sim.days.astype(np.int64).tolist(), "fi")
    id_array = pa.array(ids.tolist(), _LARGE)

    def lesson_lines() -> Iterator[pa.Array]:
        for chunk in _chunks(rows):
            pd = sim.pupil_days
            yield _join(
                [
                    _join(
                        [
                            id_array.take(pa.array(pd.pupil[chunk])),
                            _lookup(day_strings, pd.day[chunk]),
                            _as_text(pd.lessons[chunk]),
                        ],
                        ";",
                    ),
                    "",
                ],
                eol,
            )

    out = _HashingFile(folder / names["lessons"])
    out.write(f"oppilas_id;pvm;tunnit{eol}".encode(ext.encoding))
    _write_lines(out, lesson_lines(), ext.encoding)
    files["lessons"] = out.close()

    in_rows = np.zeros(len(sim.pupil_days), dtype=bool)
    in_rows[rows] = True
    modified = sim.marks.modified.astype(np.int64)
    mark_rows = np.flatnonzero(in_rows[sim.marks.pupil_day] & (modified <= ext.cutoff))
    mark_days = (modified[mark_rows] // 1440) if len(mark_rows) else np.zeros(0, np.int64)
    first_day = int(min(mark_days.min(initial=10**9), sim.days.astype(np.int64)[0]))
    last_day = int(mark_days.max(initial=first_day))
    stamp_days = _date_strings(range(first_day, last_day + 1), "fi")
    clock = [f"{m // 60}:{m % 60:02d}" for m in range(1440)]
    mark_code = pa.array(MARK_CODES, _LARGE)

    def mark_lines() -> Iterator[pa.Array]:
        for chunk in _chunks(mark_rows):
            pd = sim.marks.pupil_day[chunk]
            minute = modified[chunk]
            stamp = _join(
                [_lookup(stamp_days, minute // 1440 - first_day), _lookup(clock, minute % 1440)],
                " ",
            )
            fields = [
                id_array.take(pa.array(sim.pupil_days.pupil[pd])),
                _lookup(day_strings, sim.pupil_days.day[pd]),
                _as_text(sim.marks.lesson[chunk]),
                mark_code.take(pa.array(sim.marks.code[chunk])),
                stamp,
            ]
            yield _join([_join(fields, ";"), ""], eol)

    out = _HashingFile(folder / names["marks"])
    out.write(f"oppilas_id;pvm;tunti;merkinta;muokattu{eol}".encode(ext.encoding))
    _write_lines(out, mark_lines(), ext.encoding)
    files["marks"] = out.close()

    iv = sim.interventions
    interventions = [
        [
            ids[iv.pupil[i]],
            _fi_date(iv.date[i].item()),
            INTERVENTION_TYPES[iv.type[i]][3],
            ROLES[iv.role[i]] if iv.role[i] >= 0 else "",
            iv.note[i],
        ]
        for i in ext.interventions().tolist()
    ]
    files["interventions"] = _write_small_csv(
        folder / names["interventions"],
        ["oppilas_id", "pvm", "toimenpide", "vastuutaho", "lisatiedot"],
        interventions,
        ext,
        eol,
    )
    return files
