"""Benchmark: wall time and peak memory of every stage on generated companies, against a floor.

    uv run python scripts/benchmark.py --sizes 100000 1000000 10000000 --out /tmp/invrec-bench
    uv run python scripts/benchmark.py --sizes 1000000 --months 120 --average-cost-period day month
    uv run python scripts/benchmark.py --sizes 100000 1000000 --cli --only-cli
    uv run python scripts/benchmark.py --sizes 10000000 --repeat 3

Each size is generated once into `OUT/n<size>_s<seed>_m<months>[_gl]/` (kept while its `.complete`
marker says it was made by the same generator arguments). Every measurement then runs in a fresh
Python process, so its peak RSS is its own:

- pipeline: ingest (read + validate), costing, G/L posting, valuation, reconciliation; each
  output table written to Parquet as soon as its stage has made it, and let go once no later
  stage reads it, as `invrec run` does (the writes are timed together as one stage, write); per
  stage the wall time and the peak RSS during it (the kernel's high-water mark, reset before each
  stage through /proc/self/clear_refs).
- floor: read the same input files (polars' own type inference), sort the transactions once, write
  as many rows and columns as the pipeline wrote (the sorted transactions cycled, built untimed
  one table at a time) to Parquet. `ratio = pipeline total / floor total`. A size whose pipeline
  did not finish gets a floor with output rows scaled from the last finished size ("est.").
- cli (`--cli`): `invrec run --data D --out O` under `/usr/bin/time -v` (wall, max RSS).

`--average-cost-period` runs the pipeline once per period on a sibling folder that links every
input file and carries its own settings.toml, to show how costing grows with the period count.
The load average is recorded next to every measurement: the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("ingest", "costing", "posting", "valuation", "reconciliation", "write")
PERIODS = ("day", "week", "month", "quarter", "year", "accounting_period")
MARKER = ".complete"
GB = 1024**3


# --- measured in a child process ----------------------------------------------------------------

def _reset_peak() -> None:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_bytes() -> int:
    """VmHWM since the last reset; ru_maxrss (never reset) where /proc is not there."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) * 1024
    except (OSError, TypeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _Recorder:
    """Times stages, keeps their peak RSS, and saves the partial result after each one."""

    def __init__(self, progress: Path):
        self.progress = progress
        self.result: dict = {"seconds": {}, "peak_bytes": {}, "rows": {}, "user": {}, "sys": {},
                             "faults": {}}

    def stage(self, name: str, fn):
        """Runs `fn` as stage `name`; a stage run again (write) adds its time, keeps its peak."""
        _reset_peak()
        usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        value = fn()
        seconds = self.result["seconds"]
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        # the kernel's share: on this machine first touching memory (a page fault) is costly
        after = resource.getrusage(resource.RUSAGE_SELF)
        for key, spent in (("user", after.ru_utime - usage.ru_utime),
                           ("sys", after.ru_stime - usage.ru_stime),
                           ("faults", after.ru_minflt - usage.ru_minflt)):
            self.result[key][name] = self.result[key].get(name, 0) + spent
        self.result["peak_bytes"][name] = max(_peak_bytes(), self.result["peak_bytes"].get(name, 0))
        self.save()
        print(f"  {name}: {self.result['seconds'][name]:.2f} s", file=sys.stderr, flush=True)
        return value

    def save(self) -> None:
        self.result["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.progress.write_text(json.dumps(self.result))


def child_pipeline(data: Path, out: Path, progress: Path) -> None:
    """Every stage of `pipelines.pipeline.run_pipeline`, one at a time, then the Parquet files."""
    from pipelines import page_cache
    from pipelines.costing import cost_ledger
    from pipelines.ingest import read_input
    from pipelines.posting import post_inventory_cost_to_gl
    from pipelines.reconcile import reconcile
    from pipelines.valuation import inventory_valuation

    rec = _Recorder(progress)
    warm(data)
    inputs = rec.stage("ingest", lambda: read_input(data))
    rec.result["transactions"] = inputs.transactions.height
    rec.save()
    s, gl_input = inputs.settings, inputs.gl_entries
    setups = inputs.inventory_posting_setup, inputs.general_posting_setup
    ledger = rec.stage("costing", partial(
        cost_ledger, inputs.transactions, inputs.items, inputs.inventory_periods, s,
        inputs.accounting_periods))
    del inputs  # as `invrec run` does, a frame goes once no later stage reads it
    out.mkdir(parents=True, exist_ok=True)

    def write(name: str, frame) -> None:
        """Written when its stage is done, as `invrec run` writes each asset (then flushed and
        released from the page cache, as its IO manager does); summed as write."""
        rec.stage("write", partial(page_cache.write_parquet, frame, out / f"{name}.parquet"))
        rec.result["rows"][name] = list(frame.shape)

    ile, unposted = ledger.item_ledger_entries, ledger.value_entries
    write("item_ledger_entries", ile)
    write("item_application_entries", ledger.item_application_entries)
    del ledger
    gl, value_entries = rec.stage("posting", partial(
        post_inventory_cost_to_gl, unposted, *setups, s))
    del unposted
    write("value_entries", value_entries)
    write("gl_entries", gl)
    valuation = rec.stage("valuation", partial(
        inventory_valuation, ile, value_entries, None, precision=s.amount_rounding_precision))
    del ile
    write("inventory_valuation", valuation)
    reconciliation, variance = rec.stage("reconciliation", partial(
        reconcile, value_entries, gl if gl_input is None else gl_input, *setups, s))
    write("reconciliation", reconciliation)
    write("reconciliation_variance", variance)
    rec.save()


def warm(data: Path) -> None:
    """Read the input files once, untimed, so that every measurement finds them in the page
    cache: invrec releases them after its read, so the run after it would otherwise read them
    from disk (at 10M with the G/L, 2.9 GB: about 4 s more, most of it system time)."""
    for path in sorted(data.glob("*.csv")):
        with path.open("rb") as file:
            while file.read(1 << 24):
                pass


def child_floor(data: Path, out: Path, progress: Path, shapes: dict[str, list[int]]) -> None:
    """Read the inputs, sort the transactions once, write `shapes` worth of rows to Parquet."""
    import polars as pl

    from pipelines import page_cache

    rec = _Recorder(progress)
    inputs = sorted(data.glob("*.csv"))
    warm(data)

    def read() -> dict[str, pl.DataFrame]:
        return {p.stem: pl.read_csv(p) for p in inputs}

    frames = rec.stage("read", read)
    tx = rec.stage("sort", lambda: frames["transactions"].sort("item_no", "transaction_no"))
    out.mkdir(parents=True, exist_ok=True)
    cols, written, peak = tx.columns, 0.0, 0
    for name, (rows, width) in shapes.items():  # one table at a time; only writing is timed
        take = pl.int_range(rows, dtype=pl.Int64) % max(tx.height, 1)
        frame = tx.select(
            pl.col(cols[i % len(cols)]).gather(take).alias(f"c{i}") for i in range(width)
        ) if tx.height else pl.DataFrame()
        _reset_peak()
        start = time.perf_counter()
        page_cache.write_parquet(frame, out / f"{name}.parquet")  # as the pipeline writes
        written += time.perf_counter() - start
        peak = max(peak, _peak_bytes())
        del frame
    rec.result["seconds"]["write"], rec.result["peak_bytes"]["write"] = written, peak
    rec.save()


# --- orchestration (the parent process) ---------------------------------------------------------

@dataclass
class Measurement:
    label: str  # size, or size and the settings it overrides
    size: int
    kind: str  # pipeline | floor | cli
    seconds: dict[str, float] = field(default_factory=dict)
    peak_bytes: dict[str, int] = field(default_factory=dict)
    user: dict[str, float] = field(default_factory=dict)  # user CPU seconds per stage (threads)
    sys: dict[str, float] = field(default_factory=dict)  # system CPU seconds per stage
    faults: dict[str, int] = field(default_factory=dict)  # minor page faults per stage
    max_rss_bytes: int = 0
    rows: dict[str, list[int]] = field(default_factory=dict)
    transactions: int = 0
    load_before: float = 0.0
    load_after: float = 0.0
    error: str | None = None
    note: str = ""
    command: str = ""

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def company(out: Path, size: int, seed: int, months: int, gl: bool, force: bool,
            methods: list[str] | None = None) -> Path:
    """The cached input folder of a size, generated when missing or made with other arguments."""
    from pipelines.generate import generate
    from pipelines.generate.company import SUPPORTED_METHODS

    methods = list(methods or SUPPORTED_METHODS)
    tag = "" if methods == list(SUPPORTED_METHODS) else "_" + "-".join(methods).lower()
    folder = out / f"n{size}_s{seed}_m{months}{tag}{'_gl' if gl else ''}"
    key = json.dumps({"transactions": size, "seed": seed, "months": months, "gl": gl,
                      "methods": methods, "generator": _generator_stamp()})
    marker = folder / MARKER
    if not force and marker.exists() and marker.read_text() == key:
        return folder
    marker.unlink(missing_ok=True)
    print(f"generating {folder} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = generate(folder, size, seed=seed, gl=gl, months=months, costing_methods=methods)
    print(f"  generated {result.rows['transactions']:,} transactions in "
          f"{time.perf_counter() - start:.1f} s {result.notes or ''}", file=sys.stderr)
    marker.write_text(key)
    return folder


def _generator_stamp() -> float:
    """The newest modification time of the generator's sources: a changed generator regenerates."""
    return max(p.stat().st_mtime for p in (ROOT / "pipelines" / "generate").glob("*.py"))


def with_settings(folder: Path, period: str | None, expected_cost: str | None = None) -> Path:
    """`folder` itself, or a sibling linking its files with `average_cost_period = period`
    and/or `expected_cost_posting_to_gl` on or off (`expected_cost`)."""
    if period is None and expected_cost is None:
        return folder
    names = [period, expected_cost and f"expected_{expected_cost}"]
    variant = folder.with_name("_".join([folder.name, *filter(None, names)]))
    shutil.rmtree(variant, ignore_errors=True)
    variant.mkdir()
    for f in folder.iterdir():
        if f.name not in ("settings.toml", MARKER):
            (variant / f.name).symlink_to(f)
    settings = (folder / "settings.toml").read_text()
    if period is not None:
        settings = re.sub(r'(?m)^average_cost_period = ".*"$',
                          f'average_cost_period = "{period}"', settings)
    if expected_cost is not None:
        settings = re.sub(r"(?m)^expected_cost_posting_to_gl = .*$",
                          f"expected_cost_posting_to_gl = {str(expected_cost == 'on').lower()}",
                          settings)
    (variant / "settings.toml").write_text(settings)
    return variant


def run_child(m: Measurement, args: list[str], scratch: Path, timeout: float | None,
              max_rss_gb: float, extra: list[str] = ()) -> None:
    """Run this script in a child process; fill `m` from its result file, even after a failure.

    The child is stopped past `timeout` seconds or `max_rss_gb` of RSS (the machine is shared:
    better a missing number than the OOM killer picking a colleague's process)."""
    progress = scratch / f"{m.kind}-{m.label}.json".replace(" ", "_")
    progress.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args,
           "--progress", str(progress), *extra]
    m.load_before = os.getloadavg()[0]
    print(f"{m.kind} {m.label} ...", file=sys.stderr, flush=True)
    start, rss = time.perf_counter(), 0
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          cwd=ROOT) as proc:
        while proc.poll() is None:
            rss = max(rss, _rss_bytes(proc.pid))
            elapsed = time.perf_counter() - start
            if timeout and elapsed > timeout or rss > max_rss_gb * GB:
                proc.kill()
                m.error = (f"stopped after the {timeout:.0f} s timeout" if rss <= max_rss_gb * GB
                           else f"stopped at {rss / GB:.1f} GB RSS (cap {max_rss_gb:g} GB)")
                break
            time.sleep(0.2)
        stderr = proc.stderr.read()
    if proc.returncode and not m.error:
        lines = stderr.strip().splitlines()
        m.error = lines[-1] if lines else f"exit {proc.returncode}"
    m.load_after = os.getloadavg()[0]
    if progress.exists():
        r = json.loads(progress.read_text())
        m.seconds, m.peak_bytes = r["seconds"], r["peak_bytes"]
        m.user, m.sys, m.faults = r.get("user", {}), r.get("sys", {}), r.get("faults", {})
        m.max_rss_bytes, m.rows = r.get("max_rss_bytes", 0), r.get("rows", {})
        m.transactions = r.get("transactions", 0)
    if m.error:
        stages = STAGES if m.kind == "pipeline" else ("read", "sort", "write")
        running = next((s for s in stages if s not in m.seconds), None)
        m.error += f" in {running}" if running else ""
        print(f"  failed: {m.error}", file=sys.stderr)


def _scaled_shapes(reference: Measurement | None, size: int) -> dict[str, list[int]]:
    """Output shapes of an unfinished size, scaled from a finished one (for its floor)."""
    if reference is None:
        return {}
    return {name: [round(rows * size / reference.size), width]
            for name, (rows, width) in reference.rows.items()}


def _rss_bytes(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) * 1024
    except (OSError, TypeError):
        return 0


def run_cli(m: Measurement, data: Path, out: Path) -> None:
    """`invrec run` end to end, under /usr/bin/time -v when present."""
    invrec = Path(sys.executable).with_name("invrec")
    cmd = [str(invrec), "run", "--data", str(data), "--out", str(out)]
    m.command = f"invrec run --data {data} --out {out}"
    timed = Path("/usr/bin/time").exists()
    warm(data)
    m.load_before = os.getloadavg()[0]
    print(f"cli {m.label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run((["/usr/bin/time", "-v"] if timed else []) + cmd, capture_output=True,
                          text=True, cwd=ROOT)
    m.seconds["invrec run"] = time.perf_counter() - start
    m.load_after = os.getloadavg()[0]
    if timed:
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
        if wall:
            h, mi, s = wall.groups()
            m.seconds["invrec run"] = int(h or 0) * 3600 + int(mi) * 60 + float(s)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        m.max_rss_bytes = int(rss[1]) * 1024 if rss else 0
    else:
        m.max_rss_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if proc.returncode:
        m.error = f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[:1]}"


# --- report --------------------------------------------------------------------------------------

def _gb(b: int) -> str:
    return f"{b / GB:.2f}"


def pipeline_table(pipes: list[Measurement], floors: dict[str, Measurement]) -> str:
    head = ["size", "transactions", *(f"{s} s" for s in STAGES), "total s", "floor s",
            "total / floor", "peak RSS GB", "floor peak GB", "load 1-min (before/after)"]
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for m in pipes:
        f = floors.get(m.label)
        cells = [m.label, f"{m.transactions:,}" if m.transactions else "?"]
        cells += [f"{m.seconds[s]:.2f}" if s in m.seconds else "-" for s in STAGES]
        done = not m.error and len(m.seconds) == len(STAGES)
        cells.append(f"{m.total:.1f}" if done else f"> {m.total:.0f} ({m.error})")
        fl = f.total if f and not f.error else None
        cells.append(f"{fl:.1f}{f' ({f.note})' if f.note else ''}" if fl else "-")
        cells.append(f"{m.total / fl:.1f}" if fl and done else "-")
        cells.append(_gb(max(m.peak_bytes.values(), default=m.max_rss_bytes)))
        cells.append(_gb(max(f.peak_bytes.values(), default=0)) if f else "-")
        loads = [m.load_before, m.load_after] + ([f.load_after] if f else [])
        cells.append(" / ".join(f"{x:.2f}" for x in loads))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stage_peaks_table(pipes: list[Measurement]) -> str:
    head = ["size", *(f"{s} peak GB" for s in STAGES)]
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for m in pipes:
        cells = [m.label] + [_gb(m.peak_bytes[s]) if s in m.peak_bytes else "-" for s in STAGES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def kernel_table(pipes: list[Measurement]) -> str:
    """Per stage: user and system CPU seconds / GB first touched (minor page faults of 4 KB
    pages)."""
    head = ["size", *(f"{s} user s / sys s / faulted GB" for s in STAGES)]
    lines = ["| " + " | ".join(head) + " |", "|" + " ---: |" * len(head)]
    for m in pipes:
        cells = [m.label] + [f"{m.user.get(s, float('nan')):.1f} / {m.sys[s]:.1f} / "
                             f"{m.faults[s] * 4096 / GB:.1f}" if s in m.sys else "-"
                             for s in STAGES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cli_table(clis: list[Measurement]) -> str:
    lines = ["| size | wall s | max RSS GB | load 1-min (before/after) | command |",
             "| ---: | ---: | ---: | ---: | --- |"]
    for m in clis:
        wall = f"{m.seconds['invrec run']:.1f}" + (f" ({m.error})" if m.error else "")
        lines.append(f"| {m.label} | {wall} | {_gb(m.max_rss_bytes)} | "
                     f"{m.load_before:.2f} / {m.load_after:.2f} | `{m.command}` |")
    return "\n".join(lines)


def findings(pipes: list[Measurement], floors: dict[str, Measurement]) -> list[str]:
    """The slowest stage, growth between sizes, and the 10M targets."""
    notes = []
    done = [m for m in pipes if not m.error and len(m.seconds) == len(STAGES)]
    for m in done:
        slowest = max(STAGES, key=lambda s: m.seconds[s])
        notes.append(f"- {m.label}: slowest stage **{slowest}** "
                     f"({m.seconds[slowest]:.1f} s of {m.total:.1f} s)")
    for a, b in zip(done, done[1:], strict=False):
        if b.size > a.size and a.label.split()[1:] == b.label.split()[1:]:
            notes.append(f"- growth {a.label} -> {b.label}: x{b.total / a.total:.1f} in time for "
                         f"x{b.size / a.size:.0f} in rows (linear: x{b.size / a.size:.0f}); "
                         f"peak RSS x{max(b.peak_bytes.values()) / max(a.peak_bytes.values()):.1f}")
            if a.user and b.user:  # the work, apart from the kernel's first touches
                x = {k: sum(getattr(b, k).values()) / max(sum(getattr(a, k).values()), 1e-9)
                     for k in ("user", "sys", "faults")}
                notes.append(f"  - user CPU x{x['user']:.1f}, system CPU x{x['sys']:.1f}, "
                             f"memory first touched x{x['faults']:.1f}")
    for m in done:
        if m.size >= 10_000_000:
            fl = floors.get(m.label)
            peak = max(m.peak_bytes.values()) / GB
            if fl and not fl.error:
                ratio = m.total / fl.total
                against = f"x{ratio:.1f} the floor (<= 3: {'met' if ratio <= 3 else 'missed'})"
            else:
                against = "no floor measured (--no-floor, or it failed): no ratio"
            notes.append(f"- target at {m.label}: {m.total:.1f} s (<= 60 s: "
                         f"{'met' if m.total <= 60 else 'missed'}), peak {peak:.1f} GB (<= 12 GB: "
                         f"{'met' if peak <= 12 else 'missed'}), {against}")
            if fl and not fl.error and "write" in m.seconds:  # what 3x leaves the stages
                split = ", ".join(f"{k} {v:.1f} s" for k, v in fl.seconds.items())
                notes.append(f"  - floor: {split}; at 3x the floor the stages before writing "
                             f"may take {3 * fl.total - m.seconds['write']:.1f} s (here "
                             f"{m.total - m.seconds['write']:.1f} s)")
    return notes


def _median(runs: list[Measurement]) -> Measurement:
    """The finished run with the median total (the lower of the two middle ones), else the
    last run."""
    done = sorted((m for m in runs if not m.error), key=lambda m: m.total)
    return done[(len(done) - 1) // 2] if done else runs[-1]


def spread(repeats: dict[str, tuple[list[Measurement], list[Measurement]]]) -> list[str]:
    """Per repeated size: every run's total, the floor's, and their ratio, in the order run."""
    notes = []
    for label, (runs, floor_runs) in repeats.items():
        def totals(ms: list[Measurement]) -> str:
            return " / ".join(f"{m.total:.1f}" if not m.error else "-" for m in ms)
        ratios = " / ".join(f"{m.total / f.total:.1f}" if not (m.error or f.error) else "-"
                            for m, f in zip(runs, floor_runs, strict=False))
        notes.append(f"- runs at {label} in turn (the table shows the median): pipeline "
                     f"{totals(runs)} s, floor {totals(floor_runs) or '-'} s, ratio "
                     f"{ratios or '-'}")
    return notes


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    mem = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/meminfo").read_text()
                .splitlines() if ln.startswith("MemTotal")), "?")
    return (f"{os.cpu_count()} cores (`nproc`), {cpu}, MemTotal {mem}, "
            f"Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    # before polars and after ROOT is on the path: the pipeline and the floor (children running
    # this) share the allocator setting of `pipelines/__init__.py`
    import pipelines  # noqa: F401

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("/tmp/invrec-bench"),
                        help="cache of generated companies and scratch outputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--months", type=int, default=24, help="history length (generator)")
    parser.add_argument("--methods", nargs="+",
                        choices=["FIFO", "AVERAGE", "STANDARD", "LIFO", "SPECIFIC"],
                        help="costing methods of the generated items (default: every method "
                             "the costing stage supports, SPECIFIC at half the others' share)")
    parser.add_argument("--gl", action="store_true",
                        help="generate an external G/L with planted differences (runs the "
                             "pipeline once more at generation)")
    parser.add_argument("--average-cost-period", nargs="+", choices=PERIODS, default=[None],
                        help="run the pipeline once per period (default: the generator's)")
    parser.add_argument("--expected-cost-posting", choices=["on", "off"],
                        help="override the companies' expected_cost_posting_to_gl (off: R145.1's "
                             "expected_cost_setup rows in the variance, one per Xe cell)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each size this many times, pipeline and floor in turn, and "
                             "report the runs with the median total (the machine's speed varies)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    parser.add_argument("--cli", action="store_true", help="also time `invrec run` end to end")
    parser.add_argument("--only-cli", action="store_true", help="time `invrec run` only")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measurement")
    parser.add_argument("--max-rss-gb", type=float, default=16.0,
                        help="stop a measurement whose RSS passes this (shared machine)")
    parser.add_argument("--report", type=Path, help="append the markdown report to this file")
    parser.add_argument("--force", action="store_true", help="regenerate cached companies")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--shapes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")

    if args.child:  # inside a measured child process
        kind, data, out = args.child[0], Path(args.child[1]), Path(args.child[2])
        if kind == "pipeline":
            child_pipeline(data, out, args.progress)
        else:
            child_floor(data, out, args.progress, json.loads(args.shapes))
        return 0

    scratch = args.out / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().isoformat(timespec="seconds")
    pipes, floors, clis = [], {}, []
    repeats: dict[str, tuple[list[Measurement], list[Measurement]]] = {}
    reference: Measurement | None = None  # the last size whose output rows are known
    for size in args.sizes:
        folder = company(args.out, size, args.seed, args.months, args.gl, args.force,
                         args.methods)
        for period in args.average_cost_period:
            data = with_settings(folder, period, args.expected_cost_posting)
            expected = args.expected_cost_posting and f"expected {args.expected_cost_posting}"
            label = " ".join([f"{size:,}", *filter(None, [period, expected])])
            if not args.only_cli:
                runs, floor_runs = [], []
                for _ in range(args.repeat):  # pipeline and floor in turn: the same conditions
                    m = Measurement(label, size, "pipeline")
                    run_child(m, ["pipeline", str(data), str(scratch / "out")], scratch,
                              args.timeout, args.max_rss_gb)
                    runs.append(m)
                    if m.rows:
                        reference = m
                    shapes = m.rows or _scaled_shapes(reference, size)
                    if not args.no_floor and shapes:
                        f = Measurement(label, size, "floor")
                        if not m.rows:
                            f.note = "est."  # output rows scaled from a smaller size
                        run_child(f, ["floor", str(data), str(scratch / "floor")], scratch,
                                  args.timeout, args.max_rss_gb, ["--shapes", json.dumps(shapes)])
                        floor_runs.append(f)
                pipes.append(_median(runs))
                if floor_runs:
                    floors[label] = _median(floor_runs)
                if args.repeat > 1:
                    repeats[label] = (runs, floor_runs)
            if args.cli or args.only_cli:
                c = Measurement(label, size, "cli")
                run_cli(c, data, scratch / "cli")
                clis.append(c)

    argv_text = " ".join(sys.argv[1:] if argv is None else argv)
    parts = [f"### Run of {started} (load 1-min at start {os.getloadavg()[0]:.2f})", "",
             f"Machine: {machine()}.", "",
             f"Command: `uv run python scripts/benchmark.py {argv_text}`", ""]
    if pipes:
        parts += ["Seconds per stage, peak RSS of the whole run (per size, own process):", "",
                  pipeline_table(pipes, floors), "", "Peak RSS during each stage:", "",
                  stage_peaks_table(pipes), "",
                  "CPU time (all threads) and memory first touched (page faults) during each "
                  "stage:", "",
                  kernel_table(pipes), "", *findings(pipes, floors), *spread(repeats), ""]
    if clis:
        parts += ["`invrec run` end to end (`/usr/bin/time -v`):", "", cli_table(clis), ""]
    report = "\n".join(parts)
    print(report)
    if args.report:
        with args.report.open("a", encoding="utf-8") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
