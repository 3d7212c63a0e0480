"""The `daily_summary_jsonl` profile: students, per pupil and day the scheduled lessons and the
absences in force at extraction, and interventions as JSON lines (DESIGN §4.2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.generator.simulation import pupil_day_counts
from pipelines.generator.vocabulary import INTERVENTION_TYPES, JSONL_CODES, ROLES
from pipelines.generator.writers._common import (
    _FILE_NAMES,
    _LARGE,
    _as_text,
    _chunks,
    _date_strings,
    _Extract,
    _HashingFile,
    _join,
    _lookup,
    _write_lines,
)


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _write_jsonl_profile(ext: _Extract, folder: Path) -> dict:
    sim, names = ext.sim, _FILE_NAMES["daily_summary_jsonl"]
    ids = sim.local_ids("daily_summary_jsonl")
    p = sim.pupils
    to = ext.enrolled_to()

    out = _HashingFile(folder / names["students"])
    for i in ext.pupils_visible().tolist():
        record = {
            "student_ref": ids[i],
            "learner_oid": p.learner_oid[i],
            "school_code": str(p.school_code[i]),
            "grade": int(p.grade[i]),
            "enrolled_from": p.enrolled_from[i].item().isoformat(),
            "enrolled_to": None if np.isnat(to[i]) else to[i].item().isoformat(),
            "name": f"{p.first_name[i]} {p.surname[i]}",
            "class": f"{p.grade[i]}{p.class_letter[i]}",
        }
        out.write(_json_line(record).encode("utf-8"), 1)
    files = {"students": out.close()}

    rows = ext.pupil_day_rows()
    counts = pupil_day_counts(sim, ext.cutoff)
    day_strings = _date_strings(sim.days.astype(np.int64).tolist(), "iso")
    id_array = pa.array(ids.tolist(), _LARGE)

    def attendance_lines() -> Iterator[pa.Array]:
        pd = sim.pupil_days
        for chunk in _chunks(rows):
            fragments = []
            for c, name in enumerate(JSONL_CODES):
                n = counts[chunk, c]
                text = _join([f'"{name}": ', _as_text(n), ", "], "")
                fragments.append(pc.if_else(pa.array(n > 0), text, pa.scalar("", _LARGE)))
            # Each fragment ends in ", " after a digit, so trimming those characters is exact.
            absences = pc.utf8_rtrim(_join(fragments, ""), characters=", ")
            fields = [
                '{"student_ref": "',
                id_array.take(pa.array(pd.pupil[chunk])),
                '", "date": "',
                _lookup(day_strings, pd.day[chunk]),
                '", "scheduled_lessons": ',
                _as_text(pd.lessons[chunk]),
                ', "absences": {',
                absences,
                "}}\n",
            ]
            yield _join(fields, "")

    out = _HashingFile(folder / names["attendance"])
    _write_lines(out, attendance_lines(), "utf-8")
    files["attendance"] = out.close()

    iv = sim.interventions
    out = _HashingFile(folder / names["interventions"])
    for i in ext.interventions().tolist():
        record = {
            "student_ref": ids[iv.pupil[i]],
            "date": iv.date[i].item().isoformat(),
            "type": INTERVENTION_TYPES[iv.type[i]][4],
            "role": ROLES[iv.role[i]] if iv.role[i] >= 0 else None,
            "notes": iv.note[i] or None,
        }
        out.write(_json_line(record).encode("utf-8"), 1)
    files["interventions"] = out.close()
    return files
