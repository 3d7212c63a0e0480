"""The shared half of ingest: identity-code guard, Pandera, pseudonyms, staging and finalising.

Profile readers only turn their format into typed frames; everything that must be the same for
every source (DESIGN §4.4, §5) happens here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.ingest import identity_codes
from pipelines.ingest.code_maps import absence_counting_codes, mapped_codes
from pipelines.ingest.errors import DropError, describe
from pipelines.ingest.finalise import finalise
from pipelines.ingest.identity_codes import first_with_identity_code
from pipelines.ingest.landing import Manifest
from pipelines.ingest.limits import IngestLimits
from pipelines.ingest.pseudonym import Pseudonymiser
from pipelines.ingest.readers import RawSource
from pipelines.tables import CANONICAL, CANONICAL_TABLES, REJECTS, STAGED

CANONICAL_SCHEMAS: dict[str, pa.Schema] = {name: t.schema() for name, t in CANONICAL.items()}
# Vectorised pre-filter for the identity-code guard: every value that
# identity_codes.contains_identity_code accepts matches this (it lacks only the look-arounds).
# Arrow's regular expressions are RE2, whose \d is ASCII only; Python's \d (the checker's) is any
# Unicode digit, hence \p{Nd}.
_CODE_SHAPE = r"\p{Nd}{6}[-+A-FU-Y]\p{Nd}{3}[0-9A-Y]"
REJECTS_SCHEMA = REJECTS.schema()


@dataclass(frozen=True)
class SourceCount:
    path: Path
    sheet: str | None
    label: str
    rows_read: int


@dataclass
class WriteResult:
    sources: list[SourceCount]
    rows_read: int
    rows_rejected: int
    rows_loaded: dict[str, int]
    schema_drift: list[str]
    rejects_path: Path
    canonical_paths: dict[str, Path]
    top_reasons: list[tuple[str, int]]
    duplicates: dict[str, int]  # file -> identical repeated rows, counted once


class ExtractWriter:
    """Collects one extract's typed records into staged Parquet, then finalises canonical files."""

    def __init__(self, work_dir: Path, manifest: Manifest, extract_id: str,
                 pseudonymiser: Pseudonymiser, *, seeds: Path, limits: IngestLimits):
        self.work = work_dir
        self.work.mkdir(parents=True, exist_ok=True)
        self.manifest = manifest
        self.extract_id = extract_id
        self.pseudonyms = pseudonymiser
        self.seeds = seeds  # the code maps a profile's codes must have a row in
        self.limits = limits
        self.sources: list[RawSource] = []
        self._writers: dict[str, pq.ParquetWriter] = {}

    def mapped_codes(self, kind: str) -> frozenset[str]:
        """Local `absence` or `intervention` codes this municipality's rows may carry."""
        m = self.manifest
        return mapped_codes(self.seeds, kind, m.profile, m.municipality_code)

    # -- reading -------------------------------------------------------------------------
    def read(self, source: RawSource) -> Iterator[pd.DataFrame]:
        """Frames of a raw source, each checked for identity codes before anything else."""
        self.sources.append(source)
        for frame in source.frames():
            for column, values in source.values_to_check(frame):
                if pd.api.types.is_numeric_dtype(values):
                    continue  # a number's text never has the code's shape
                text = values[values.notna()].astype("str")
                # Only text holding the code's shape (a superset of what the checker accepts)
                # goes through the per-value check; dates, ids and counts never can.
                text = text[text.str.len() >= 11]
                if len(text):
                    shaped = pc.match_substring_regex(pa.array(text, pa.string()), _CODE_SHAPE)
                    text = text[shaped.to_numpy(zero_copy_only=False)]
                hit = first_with_identity_code(text.tolist())
                if hit is not None:
                    # Name the file and column, never the value (DESIGN §4.4).
                    raise DropError(identity_codes.FOUND, file=source.label, column=column)
            yield frame

    # -- typed records -------------------------------------------------------------------
    def students(self, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                 source: RawSource) -> None:
        valid = self._validate(frame, schema, source)
        valid = valid.assign(student_key=[
            self.pseudonyms.register(local_id, oid)
            for local_id, oid in zip(valid["local_id"], valid["learner_oid"], strict=True)])
        self._stage("students", valid, source)

    def records(self, kind: str, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                source: RawSource) -> None:
        """Attendance, absences, marks or interventions keyed by the local pupil id."""
        valid = self._validate(frame, schema, source)
        keys = valid["local_id"].map(self.pseudonyms.mapping)
        unknown = keys.isna()
        for row in valid.loc[unknown, "_row"]:
            source.reject(int(row), None, "pupil id not in the students file")
        self._stage(kind, valid[~unknown].assign(student_key=keys[~unknown]), source)

    def _validate(self, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                  source: RawSource) -> pd.DataFrame:
        """Rows failing a Pandera check are rejected, named by row, column and check — the
        check's own name or message, never the failing value (DESIGN §3)."""
        try:
            schema.validate(frame, lazy=True)
            return frame
        except pandera.errors.SchemaErrors as exc:
            failures = exc.failure_cases
        bad_index = set()
        for case in failures.itertuples(index=False):
            index = case.index
            column = case.column if isinstance(case.column, str) else None
            reason = str(case.check)
            if reason == "not_nullable":
                reason = "is empty"
            elif reason.startswith("unmapped code"):
                m = self.manifest
                reason += f" for municipality {m.municipality_code}, profile {m.profile}"
            if pd.isna(index):
                raise DropError(f"{schema.name}: {reason}", file=source.label, column=column)
            bad_index.add(index)
            source.reject(int(frame.at[index, "_row"]), column, reason)
        return frame.drop(index=list(bad_index))

    def _stage(self, kind: str, frame: pd.DataFrame, source: RawSource) -> None:
        columns = [c for c in STAGED[kind].names if c != "_file"]
        table = pa.Table.from_pandas(frame[columns].assign(_file=source.label),
                                     preserve_index=False)
        if kind not in self._writers:
            self._writers[kind] = pq.ParquetWriter(self.work / f"staged_{kind}.parquet",
                                                   table.schema)
        self._writers[kind].write_table(table.cast(self._writers[kind].schema))

    # -- finalising ----------------------------------------------------------------------
    def finish(self) -> WriteResult:
        """Cross-file checks and the canonical Parquet (finalise.py), then the rejected rows."""
        for writer in self._writers.values():
            writer.close()
        m = self.manifest
        outputs = {table: self.work / f"{table}.parquet" for table in CANONICAL_TABLES}
        done = finalise(
            staged={kind: self.work / f"staged_{kind}.parquet" for kind in STAGED},
            absence_codes=absence_counting_codes(self.seeds, m.profile, m.municipality_code),
            outputs=outputs,
            constants={"municipality_code": m.municipality_code, "profile": m.profile,
                       "extract_id": self.extract_id},
            temp_dir=self.work / "duckdb_tmp")
        by_file = {s.label: s for s in self.sources}
        for file, row, reason in done.rejects:
            by_file[file].reject(row, None, reason)

        rejects_path = self.work / "rejected_rows.parquet"
        # One line can fail twice alike (a JSON line is an attendance and an absence record).
        rows = list(dict.fromkeys((s.label, r, c, reason) for s in self.sources
                                  for r, c, reason in s.rejects))
        pq.write_table(pa.Table.from_pylist(
            [dict(zip(REJECTS_SCHEMA.names, row, strict=True)) for row in rows],
            schema=REJECTS_SCHEMA), rejects_path)
        # Counted by rule, file and column, so a summary still says where (never a row's data).
        reason_counts = pd.Series([describe(reason, file=file, column=column)
                                   for file, _, column, reason in rows],
                                  dtype="str").value_counts()
        return WriteResult(
            sources=[SourceCount(s.path, getattr(s, "sheet", None), s.label, s.rows_read)
                     for s in self.sources],
            rows_read=sum(s.rows_read for s in self.sources),
            rows_rejected=len({(r[0], r[1]) for r in rows}),
            rows_loaded=done.rows_loaded,
            schema_drift=list(dict.fromkeys(f"{s.label}:{c}" for s in self.sources
                                            for c in s.drift)),
            rejects_path=rejects_path,
            canonical_paths=outputs,
            top_reasons=list(reason_counts.head(5).items()),
            duplicates=done.duplicates,
        )
