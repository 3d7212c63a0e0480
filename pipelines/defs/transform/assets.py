"""dbt (dbt-duckdb): staging → intermediate → marts, one Dagster asset per model.

The translator maps dbt's sources onto the ingest assets, so the lineage from landing to the
published files is one graph. All dbt models run in one `dbt build` inside the warehouse pool:
a DuckDB file has one writer at a time.
"""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines import locks
from pipelines.config import Settings
from pipelines.dbt_docs import page_of
from pipelines.dbt_project import dbt_environment, dbt_project
from pipelines.defs.ingest.assets import CANONICAL_KEYS, LEDGER_KEY, QUARANTINE_KEY
from pipelines.defs.resources import OWNERS, AbsenceSettings, tags
from pipelines.ingest.extract import ensure_layout

WAREHOUSE_POOL = "warehouse"

# Under `dagster dev` only (dagster-dbt's rule): parse the project with this deployment's
# settings exported, as the build will.
with dbt_environment(Settings.from_env()):
    dbt_project.prepare_if_dev()


class AbsenceDbtTranslator(DagsterDbtTranslator):
    """Sources become the ingest assets; the model's folder decides its group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            if source == "canonical" and table in CANONICAL_KEYS:
                return CANONICAL_KEYS[table]
            if source == "ledger":
                return LEDGER_KEY
            if source == "quarantine":
                return QUARANTINE_KEY
        if "operations" in dbt_resource_props.get("fqn", []):
            # The warehouse's copy of the ledger must not take the ingest asset's key.
            return dg.AssetKey(["warehouse", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's own description; its SQL only for models (a seed has none, and an
        empty "Raw SQL" block says nothing)."""
        description = (dbt_resource_props.get("description") or "").strip()
        code = (dbt_resource_props.get("raw_code") or "").strip()
        if dbt_resource_props["resource_type"] != "model" or not code:
            return description or f"dbt {dbt_resource_props['resource_type']} " \
                                  f"`{dbt_resource_props['name']}`"
        return f"{description}\n\n#### Raw SQL:\n```sql\n{code}\n```".strip()

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata plus the node's page of `make docs` (relative to the
        warehouse, so it means the same on every machine)."""
        return {**super().get_metadata(dbt_resource_props),
                "dbt_docs": dg.MetadataValue.path(page_of(dbt_resource_props["unique_id"]))}

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """dbt tests as checks, each with a description the UI shows: the test's own, else
        what it tests (test name, column, model) and its severity."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"].get(unique_id, {})
        meta = test.get("test_metadata") or {}
        column = test.get("column_name")
        severity = (test.get("config") or {}).get("severity", "error").lower()
        described = (test.get("description") or "").strip() or (
            f"dbt test `{meta.get('name', test.get('name', unique_id))}`"
            + (f" on column `{column}`" if column else "")
            + f" of `{asset_spec.key.to_user_string()}`; severity {severity}"
            + (": a failure fails the dbt build, so nothing is published."
               if severity == "error" else ": a failure warns."))
        return spec._replace(description=described)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> dict[str, str]:
        return {**super().get_tags(dbt_resource_props),
                **tags(self.get_group_name(dbt_resource_props) or "transform")}

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        for folder in ("staging", "intermediate", "marts", "operations"):
            if folder in fqn:
                return folder
        return "transform"


class DbtBuildConfig(dg.Config):
    """Launchpad options of the dbt build."""

    full_refresh: bool = False
    """Rebuild incremental models (int_pupil_periods) from scratch: after a change to their
    SQL or macros, or after an upgrade that adds a column to them."""


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=AbsenceDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def absence_dbt_assets(context: dg.AssetExecutionContext, config: DbtBuildConfig,
                       dbt: DbtCliResource, absence: AbsenceSettings):
    """Seeds, models and dbt data tests in one build; failing error-severity tests fail the
    run. The dbt unit tests are not part of the night: their inputs are fixed, so they run in
    CI (`make test`) on both engines, as dbt recommends, not against each night's data."""
    settings = absence.settings()
    ensure_layout(settings)
    args = ["build", "--exclude-resource-type", "unit_test",
            "--vars", json.dumps(settings.dbt_vars())]
    if config.full_refresh:
        args.append("--full-refresh")
    # The pool serialises writers within one Dagster instance; the file lock also keeps out an
    # `absence run` of another instance (or a run beside the daemon) on the same warehouse.
    with locks.hold(locks.lock_path(settings.warehouse, "warehouse")), \
            dbt_environment(settings):
        yield from dbt.cli(args, context=context, target_path=settings.dbt_target).stream()

