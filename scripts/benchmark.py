"""Benchmark: generate companies of several sizes once (cached), then time each stage on them.

    uv run python scripts/benchmark.py --sizes 100000 1000000 --out /tmp/bench

Each size is generated into `OUT/n<size>_s<seed>_<types>/` unless that folder already holds a
complete company (`.complete` marker), so later runs time the stages only. Results print as a
markdown table, one row per size and one column per stage. Add a stage by adding a function
`(folder: Path) -> None` to `STAGES`; it runs on the cached folder and is timed as a whole.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.generate import ALL_TYPES, SUPPORTED_TYPES, generate  # noqa: E402

TYPE_SETS = {"supported": SUPPORTED_TYPES, "all": ALL_TYPES}
MARKER = ".complete"

# name -> function run on a generated folder; the lead adds ingest, costing, posting, ... here.
STAGES: dict[str, Callable[[Path], None]] = {}


@dataclass
class Row:
    size: int
    transactions: int = 0
    timings: dict[str, float | None] = field(default_factory=dict)  # None: cached, not timed
    peak_rss_mb: float = 0.0


def company(out: Path, size: int, seed: int, types: str, force: bool) -> tuple[Path, Row]:
    """The cached folder for a size, generated (and timed) when missing."""
    folder = out / f"n{size}_s{seed}_{types}"
    row = Row(size)
    if force or not (folder / MARKER).exists():
        (folder / MARKER).unlink(missing_ok=True)
        start = time.perf_counter()
        result = generate(folder, size, seed=seed, types=TYPE_SETS[types],
                          costing_methods=("FIFO",) if types == "supported" else
                          ("FIFO", "LIFO", "AVERAGE", "STANDARD"), gl=False)
        row.timings["generate"] = time.perf_counter() - start
        (folder / MARKER).write_text(str(result.rows["transactions"]))
    else:
        row.timings["generate"] = None
    row.transactions = int((folder / MARKER).read_text())
    return folder, row


def run(sizes: list[int], out: Path, seed: int, types: str, force: bool) -> list[Row]:
    rows = []
    for size in sizes:
        folder, row = company(out, size, seed, types, force)
        for name, stage in STAGES.items():
            start = time.perf_counter()
            stage(folder)
            row.timings[name] = time.perf_counter() - start
        row.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(row)
        print(f"size {size}: done", file=sys.stderr)
    return rows


def markdown(rows: list[Row]) -> str:
    """One line per size; seconds per stage ("cached" when not run); peak RSS so far."""
    stages = ["generate", *STAGES]
    head = ["size", "transactions", *(f"{s} (s)" for s in stages), "peak RSS (MB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [f"{r.size:,}", f"{r.transactions:,}"]
        cells += ["cached" if r.timings.get(s) is None else f"{r.timings[s]:.2f}" for s in stages]
        cells.append(f"{r.peak_rss_mb:,.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("/tmp/invrec-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--types", choices=sorted(TYPE_SETS), default="supported")
    parser.add_argument("--force", action="store_true", help="regenerate cached companies")
    args = parser.parse_args(argv)
    print(markdown(run(args.sizes, args.out, args.seed, args.types, args.force)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
