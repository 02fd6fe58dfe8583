"""`scripts/benchmark.py --repeat`: which run the table shows, and the line listing them all."""

import importlib.util
import sys
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "benchmark", Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py")
benchmark = sys.modules.setdefault("benchmark", importlib.util.module_from_spec(_SPEC))
_SPEC.loader.exec_module(benchmark)  # registered first: its dataclass looks its module up


def _run(kind: str, seconds: float, error: str | None = None):
    m = benchmark.Measurement("10,000,000", 10_000_000, kind, error=error)
    m.seconds = {"ingest": seconds / 2, "costing": seconds / 2}
    return m


def test_the_median_run_is_shown_and_failed_runs_are_left_out():
    runs = [_run("pipeline", 120.0), _run("pipeline", 100.0), _run("pipeline", 150.0)]
    assert benchmark._median(runs) is runs[0]
    # of two, the lower; a failed run is no candidate
    assert benchmark._median(runs[:2] + [_run("pipeline", 1.0, "timeout")]) is runs[1]
    failed = [_run("pipeline", 5.0, "timeout"), _run("pipeline", 6.0, "timeout")]
    assert benchmark._median(failed) is failed[-1]


def test_every_run_is_listed_in_the_order_run_with_its_ratio():
    runs = [_run("pipeline", 120.0), _run("pipeline", 90.0, "stopped")]
    floors = [_run("floor", 40.0), _run("floor", 30.0)]
    assert benchmark.spread({"10,000,000": (runs, floors)}) == [
        "- runs at 10,000,000 in turn (the table shows the median): pipeline 120.0 / - s, "
        "floor 40.0 / 30.0 s, ratio 3.0 / -"
    ]


def _complete(kind: str, seconds: float):
    m = benchmark.Measurement("10,000,000", 10_000_000, kind)
    m.seconds = dict.fromkeys(benchmark.STAGES, seconds / len(benchmark.STAGES))
    m.peak_bytes = {"costing": 10 * benchmark.GB}
    return m


def test_the_target_line_gives_the_ratio_only_when_a_floor_was_measured():
    pipe = _complete("pipeline", 90.0)
    floor = benchmark.Measurement("10,000,000", 10_000_000, "floor")
    floor.seconds = {"read": 4.0, "sort": 1.0, "write": 15.0}
    with_floor = benchmark.findings([pipe], {"10,000,000": floor})
    assert with_floor[-2:] == [
        "- target at 10,000,000: 90.0 s (<= 60 s: missed), peak 10.0 GB (<= 12 GB: met), x4.5 "
        "the floor (<= 3: missed)",
        # 3 x 20 s less the pipeline's own write (90 / 6 stages): what ingest to reconciliation
        # may take
        "  - floor: read 4.0 s, sort 1.0 s, write 15.0 s; at 3x the floor the stages before "
        "writing may take 45.0 s (here 75.0 s)"]
    without = benchmark.findings([pipe], {})
    assert without[-1].endswith("no floor measured (--no-floor, or it failed): no ratio")
    assert "nan" not in without[-1]


def test_a_settings_variant_links_the_company_and_overrides_only_what_is_asked(tmp_path):
    folder = tmp_path / "n100_s0_m24"
    folder.mkdir()
    (folder / "transactions.csv").write_text("transaction_no\n1\n")
    (folder / "settings.toml").write_text(
        'average_cost_period = "month"\nexpected_cost_posting_to_gl = true\n')
    assert benchmark.with_settings(folder, None, None) == folder
    variant = benchmark.with_settings(folder, "day", "off")
    assert variant.name == "n100_s0_m24_day_expected_off"
    assert (variant / "transactions.csv").resolve() == (folder / "transactions.csv").resolve()
    assert (variant / "settings.toml").read_text() == (
        'average_cost_period = "day"\nexpected_cost_posting_to_gl = false\n')
    only_expected = benchmark.with_settings(folder, None, "off")
    assert (only_expected / "settings.toml").read_text() == (
        'average_cost_period = "month"\nexpected_cost_posting_to_gl = false\n')
