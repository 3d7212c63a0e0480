"""What each published table and column means, read from the dbt docs (one source of truth).

`dbt_project/models/marts/_marts.yml` documents every published table and column (formula,
unit); publishing carries the same text into the DuckDB files (COMMENT ON), the Parquet schema
metadata, the `Selite` sheet of the workbooks and the report, so the definitions travel with
the data (DESIGN §8.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=4)
def published_docs(dbt_project_dir: Path) -> dict[str, TableDoc]:
    """table -> its description and its columns' descriptions, as the dbt docs give them."""
    document = yaml.safe_load((dbt_project_dir / "models" / "marts" / "_marts.yml")
                              .read_text("utf-8"))
    return {model["name"]: TableDoc(
        description=_plain(model.get("description", "")),
        columns={c["name"]: _plain(c.get("description", "")) for c in model.get("columns", [])})
        for model in document["models"]}


def _plain(text: str) -> str:
    """One line of plain text: folded whitespace, Markdown backticks dropped."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()
