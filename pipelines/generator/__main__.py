"""`python -m pipelines.generator`: the same options as `absence generate`."""

from pipelines.generator.run import main

raise SystemExit(main())
