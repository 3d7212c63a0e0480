"""Great Expectations suites over the suppressed, about-to-be-published marts (DESIGN §2).

`quality.checks` names the checks (cheap to import: Dagster builds its asset-check specs from
it); `quality.suites` builds the GX expectation suites; `quality.runner` validates the tables
with GX's pandas data source, builds the Data Docs and keeps last night's row counts.
"""

import pipelines  # noqa: E402, F401 — keeps GX from importing PySpark (see there)
