"""The code-map seeds, read at ingest so rows whose code dbt could not map are rejected early."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pipelines.config import SEEDS_DIR

CODE_MAPS = SEEDS_DIR / "code_maps"
REFERENCE = SEEDS_DIR / "reference"


@lru_cache(maxsize=8)
def _rows(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def mapped_codes(kind: str, profile: str, municipality_code: str) -> frozenset[str]:
    """Local codes with a mapping for this municipality: the profile's own plus its overrides."""
    path = CODE_MAPS / f"{kind}_code_map.csv"
    return frozenset(
        row["local_code"]
        for row in _rows(path)
        if row["profile"] == profile and row["municipality_code"] in ("", municipality_code)
    )


def absence_counting_codes(profile: str, municipality_code: str) -> frozenset[str]:
    """Local absence codes whose category counts as absence (DESIGN §6.1), a municipality's own
    row overriding the profile-wide row of the same code (as in dbt)."""
    category: dict[str, str] = {}
    rows = [r for r in _rows(CODE_MAPS / "absence_code_map.csv") if r["profile"] == profile]
    for row in sorted(rows, key=lambda r: r["municipality_code"] != ""):  # profile-wide first
        if row["municipality_code"] in ("", municipality_code):
            category[row["local_code"]] = row["category"]
    counting = {r["category"] for r in _rows(CODE_MAPS / "absence_categories.csv")
                if r["counts_as_absence"].strip().lower() == "true"}
    return frozenset(code for code, cat in category.items() if cat in counting)


def known_municipalities() -> set[str]:
    """Statistics Finland municipality codes of the reference seed, as 3-digit text."""
    return {row["kunta_code"] for row in _rows(REFERENCE / "kunnat_2026.csv")}


def region_of() -> dict[str, str]:
    """Municipality code -> maakunta (region) code."""
    return {row["kunta_code"]: row["maakunta_code"] for row in _rows(REFERENCE / "kunnat_2026.csv")}
