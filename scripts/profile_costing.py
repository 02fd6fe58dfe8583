"""Where the costing stage spends its time: cProfile around `cost_ledger` on a generated company.

    uv run python scripts/profile_costing.py /tmp/invrec-bench/n3000000_s0_m24 [--top 40]

The company folder is one `scripts/benchmark.py` generated (or `invrec generate` wrote). Prints
the functions of `pipelines/` by cumulative wall time; the benchmark, not this, is the measure.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)

    from pipelines.costing import cost_ledger
    from pipelines.ingest import read_input

    inputs = read_input(args.data)
    s = inputs.settings
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    ledger = cost_ledger(inputs.transactions, inputs.items, inputs.inventory_periods, s,
                         inputs.accounting_periods)
    profiler.disable()
    wall = time.perf_counter() - start
    print(f"cost_ledger: {wall:.1f} s wall, {inputs.transactions.height:,} transactions, "
          f"{ledger.value_entries.height:,} value entries")
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats("pipelines", args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
