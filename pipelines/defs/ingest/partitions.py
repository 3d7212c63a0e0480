"""One partition per municipality, added by the landing sensor as drops first arrive."""

import dagster as dg

municipality_partitions = dg.DynamicPartitionsDefinition(name="municipality")
