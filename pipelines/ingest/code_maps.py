"""The code-map seeds, read at ingest so rows whose code dbt could not map are rejected early."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=16)
def _rows(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def resolved(seeds: Path, kind: str, profile: str, municipality_code: str) -> dict[str, str]:
    """local code -> what it maps to (absence category or intervention type) for one
    municipality: the profile's rows, a municipality's own row overriding the profile-wide row
    of the same code (the rule dbt applies in int_code_maps__resolved)."""
    target = {"absence": "category", "intervention": "intervention_type"}[kind]
    rows = [r for r in _rows(seeds / "code_maps" / f"{kind}_code_map.csv")
            if r["profile"] == profile and r["municipality_code"] in ("", municipality_code)]
    # Profile-wide rows first, so the municipality's own row is the one that stays.
    return {r["local_code"]: r[target]
            for r in sorted(rows, key=lambda r: r["municipality_code"] != "")}


def mapped_codes(seeds: Path, kind: str, profile: str, municipality_code: str
                 ) -> frozenset[str]:
    """Local codes with a mapping for this municipality."""
    return frozenset(resolved(seeds, kind, profile, municipality_code))


def absence_counting_codes(seeds: Path, profile: str, municipality_code: str
                           ) -> frozenset[str]:
    """Local absence codes whose category counts as absence (DESIGN §6.1)."""
    counting = {r["category"] for r in _rows(seeds / "code_maps" / "absence_categories.csv")
                if r["counts_as_absence"].strip().lower() == "true"}
    return frozenset(code for code, category
                     in resolved(seeds, "absence", profile, municipality_code).items()
                     if category in counting)


def known_municipalities(seeds: Path) -> set[str]:
    """Statistics Finland municipality codes of the reference seed, as 3-digit text."""
    return {row["kunta_code"] for row in _rows(seeds / "reference" / "kunnat_2026.csv")}
