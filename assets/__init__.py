"""invrec's Dagster wiring; the computations are in `pipelines/`."""

import pipelines  # noqa: F401  (first, before polars: it sets polars' allocator)
