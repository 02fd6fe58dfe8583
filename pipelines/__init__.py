"""invrec's computations: pure Polars transforms, no Dagster (that wiring is in `assets/`).

Importing the package first keeps memory that polars frees for 10 s before it goes back to the
system (jemalloc's own default; polars sets 0.5 s). Costing frees and allocates tens of gigabytes
at 10M transactions; on a virtual machine touching a page the host took back costs 2-3 s per GB,
and with 0.5 s costing touched 38 GB for a peak of 11.4 GB (docs/benchmarks.md, run AQ). It only
works before polars is imported; a `_RJEM_MALLOC_CONF` set by the user is left as it is.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000")
