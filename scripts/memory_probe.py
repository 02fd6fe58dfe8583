"""What a gigabyte of fresh memory costs on this machine right now, as the process holds more.

Allocates `--gb` blocks of 1 GB with polars, holding each (or, with `--release`, dropping each
before the next), and prints the system CPU seconds and wall seconds each block took. On the
virtual machines here the answer depends on how much memory is in use, not on the process: the
first gigabytes cost a few tenths of a second each, later ones can cost ten times more
(docs/benchmarks.md, run BD). Run it before a benchmark to know which regime the host is in.

    uv run python scripts/memory_probe.py --gb 12
"""

from __future__ import annotations

import argparse
import resource
import time

import pipelines  # noqa: F401  (before polars: the allocator setting the pipeline runs with)

_BLOCK = 2**27  # Float64 values: 1 GB


def probe(blocks: int, release: bool) -> list[tuple[float, float]]:
    """(system seconds, wall seconds) per block."""
    import polars as pl

    held, costs = [], []
    for _ in range(blocks):
        sys0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_stime, time.perf_counter()
        block = pl.repeat(1.0, _BLOCK, eager=True)
        costs.append((resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys0,
                      time.perf_counter() - t0))
        if not release:
            held.append(block)
        del block
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=int, default=12, help="blocks of 1 GB to allocate")
    parser.add_argument("--release", action="store_true",
                        help="drop each block before the next (reuse instead of growth)")
    args = parser.parse_args(argv)
    for i, (system, wall) in enumerate(probe(args.gb, args.release), start=1):
        print(f"GB {i:3d}: system {system:5.2f} s, wall {wall:5.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
