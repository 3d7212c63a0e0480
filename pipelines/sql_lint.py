"""SQL lint of the dbt project on both engines' dialects (DESIGN §8.2): `make lint`, or
`python -m pipelines.sql_lint`.

dbt compiles the project once per target (`duckdb`, `spark`) against an empty scratch
warehouse, so every macro has been dispatched for that engine, and sqlfluff then lints the
compiled models with the engine's own dialect (`duckdb`, `sparksql`). SQL that only DuckDB
parses (a `::` cast to a DuckDB type, `string_agg(... order by ...)`) fails the Spark pass.
The rules are sqlfluff's core rules without those of layout and style that compiled SQL
cannot meet (EXCLUDED_RULES); a statement sqlfluff cannot parse always fails. Compiling for
Spark starts a local Spark session (the `spark` extra, Java 17).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from pipelines.config import Settings

DIALECTS = {"duckdb": "duckdb", "spark": "sparksql"}
# Layout (indentation, line length, spacing), reference quoting and the case of type names
# follow the Jinja and macros the SQL was compiled from, not what a reader of the model sees;
# `select *` from a CTE, joins to subqueries and unqualified columns of a one-table select
# are the house style (STYLE.md, jaffle-shop).
EXCLUDED_RULES = ("layout,RF02,RF04,RF05,RF06,ST05,ST06,ST09,AL09,AL10,AM03,AM04,AM06,"
                  "CP05,CV11")


def compile_project(settings: Settings, engine: str, target_path: Path) -> Path:
    """`dbt compile` for one engine; returns the folder of the compiled models. dbt runs in a
    process of its own, as in a build: ours keep PySpark out (pipelines/__init__.py)."""
    from pipelines.dbt_project import dbt_environment
    from pipelines.ingest.extract import ensure_layout

    ensure_layout(settings)
    with dbt_environment(settings):
        result = subprocess.run([
            str(Path(sys.executable).parent / "dbt"), "compile", "--quiet", "--target", engine,
            "--project-dir", str(settings.dbt_project_dir),
            "--profiles-dir", str(settings.dbt_project_dir),
            "--target-path", str(target_path), "--select", "resource_type:model"])
    if result.returncode != 0:
        raise RuntimeError(f"dbt compile --target {engine} failed (exit {result.returncode})")
    return target_path / "compiled" / "absence" / "models"


def lint(folder: Path, dialect: str) -> int:
    """sqlfluff over every compiled model; returns its exit code (0: clean). No model is
    skipped for its size (sqlfluff's default skips files over 20 kB)."""
    files = sorted(str(p) for p in folder.rglob("*.sql"))
    config = folder.parent / ".sqlfluff"
    config.write_text("[sqlfluff]\nlarge_file_skip_byte_limit = 0\n", "utf-8")
    command = [sys.executable, "-m", "sqlfluff", "lint", "--dialect", dialect,
               "--templater", "raw", "--exclude-rules", EXCLUDED_RULES, "--disable-progress-bar",
               "--nocolor", "--config", str(config), *files]
    return subprocess.run(command).returncode


def main(engines: list[str] | None = None) -> int:
    failed = []
    with tempfile.TemporaryDirectory(prefix="absence-sql-lint-") as scratch:
        root = Path(scratch)
        for engine in engines or list(DIALECTS):
            settings = Settings.from_env(landing=root / "landing",
                                         warehouse=root / f"warehouse-{engine}", engine=engine)
            models = compile_project(settings, engine, root / f"target-{engine}")
            print(f"sqlfluff ({DIALECTS[engine]}) over the models compiled for {engine}:",
                  flush=True)
            if lint(models, DIALECTS[engine]) != 0:
                failed.append(engine)
    if failed:
        print(f"SQL lint failed for: {', '.join(failed)}")
        return 1
    print("SQL lint: clean on every engine")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
