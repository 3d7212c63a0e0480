"""Pandera schemas: the structure, types and ranges every profile's records must have."""

import pipelines  # noqa: E402, F401 — keeps pandera from importing PySpark (see there)
