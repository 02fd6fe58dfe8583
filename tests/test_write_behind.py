"""`invrec run` writes its tables behind (assets/io_manager.py `WritesBehind`): each table on a
background thread while the next steps compute, the last table's step waiting for all, and a
write that fails fails the run with nothing published."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import assets.cli as cli
from assets.cli import main
from assets.io_manager import WRITES, ParquetIOManager
from pipelines import page_cache
from pipelines.errors import InputError, Problem
from tests._run_company import small_company

FRAME = pl.DataFrame({"entry_no": [1, 2], "amount": [10.5, -10.5]})


def _output(name: str) -> dg.OutputContext:
    return dg.build_output_context(asset_key=dg.AssetKey(name))


@pytest.fixture
def gate(monkeypatch):
    """Writes wait for `gate.set()`; a path in `gate.fail` raises instead of being written."""
    real = page_cache.write_parquet
    event = threading.Event()
    event.fail = set()

    def gated(frame: pl.DataFrame, path) -> None:
        assert event.wait(10), "the gate was never opened"
        real(frame, path)  # a failed write may leave part of its file: removed after
        if Path(path).name in event.fail:
            raise OSError(f"no space left writing {Path(path).name}")

    monkeypatch.setattr(page_cache, "write_parquet", gated)
    yield event
    event.set()
    WRITES.wait()


def _manager(tmp_path: Path, **config) -> dg.IOManager:
    return ParquetIOManager(base_dir=str(tmp_path), persist=["a", "b"], write_behind=True,
                            **config).create_io_manager(None)


def test_a_table_is_written_behind_and_the_last_ones_step_waits_for_all(tmp_path, gate) -> None:
    io = _manager(tmp_path)
    io.handle_output(_output("a"), FRAME)  # returns with its write still waiting
    assert not (tmp_path / "a.parquet").exists()
    threading.Timer(0.2, gate.set).start()
    io.handle_output(_output("b"), FRAME)  # the last of `persist`: returns once all are written
    for name in ("a", "b"):
        assert_frame_equal(pl.read_parquet(tmp_path / f"{name}.parquet"), FRAME)


def test_a_failed_write_behind_fails_the_last_step_and_leaves_no_file(tmp_path, gate) -> None:
    io = _manager(tmp_path)
    gate.fail.add("a.parquet")
    io.handle_output(_output("a"), FRAME)
    gate.set()
    with pytest.raises(OSError, match="no space left writing a.parquet"):
        io.handle_output(_output("b"), FRAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.parquet"]


def test_a_load_waits_for_the_write_of_its_file(tmp_path, gate) -> None:
    io = _manager(tmp_path)
    io.handle_output(_output("a"), FRAME)
    threading.Timer(0.2, gate.set).start()
    assert_frame_equal(io.load_input(dg.build_input_context(asset_key=dg.AssetKey("a"))), FRAME)


def test_without_persist_or_write_behind_each_write_is_done_in_its_step(tmp_path) -> None:
    """The UI's runs write every asset (no `persist`): each step writes its own table, so
    Dagster sees a failed write as the failure of the asset's step."""
    for io in (ParquetIOManager(base_dir=str(tmp_path), write_behind=True).create_io_manager(None),
               ParquetIOManager(base_dir=str(tmp_path), persist=["a"]).create_io_manager(None)):
        (tmp_path / "a.parquet").unlink(missing_ok=True)
        io.handle_output(_output("a"), FRAME)
        assert_frame_equal(pl.read_parquet(tmp_path / "a.parquet"), FRAME)


@pytest.mark.slow
def test_a_failed_write_fails_invrec_run_and_leaves_out_untouched(tmp_path, gate,
                                                                  capsys) -> None:
    out = tmp_path / "out"
    data = small_company(tmp_path / "in")
    gate.set()
    assert main(["run", "--data", str(data), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    gate.fail.add("item_ledger_entries.parquet")  # the first table written
    capsys.readouterr()
    assert main(["run", "--data", str(data), "--out", str(out), "--as-of", "2020-01-01"]) == 3
    assert capsys.readouterr().err.strip() == (
        "invrec: error: OSError: no space left writing item_ledger_entries.parquet")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_a_run_that_fails_reports_its_own_cause_not_a_write_that_failed_beside_it(
        tmp_path, gate, capsys, monkeypatch) -> None:
    """A run stopped by its input while a write behind fails too: the input problem is what
    invrec reports (exit 1), and no write is still going when the staging folder goes."""
    def stopped(data, staging, tables, args):
        path = staging / "item_ledger_entries.parquet"
        gate.fail.add(path.name)
        WRITES.submit(str(path), lambda: page_cache.write_parquet(FRAME, path))
        gate.set()
        raise InputError([Problem("transactions", "2", "quantity", "x", "not a number")])

    monkeypatch.setattr(cli, "_materialize", stopped)
    out = tmp_path / "out"
    assert main(["run", "--data", str(small_company(tmp_path / "in")), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "transactions row 2, column quantity, value 'x': not a number" in err
    assert "no space left" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


@pytest.mark.slow
def test_invrec_run_changes_no_environment_variable_while_a_write_is_behind(
        tmp_path, monkeypatch) -> None:
    """A write behind reads the process environment on its thread (polars' settings live
    there); changing it from another thread meanwhile is unsafe and once crashed a test worker
    (`pl.Config` in the previews, now built by hand: assets/metadata.py)."""
    changed = []

    def recorded(real):
        def change(key, *value) -> None:
            if WRITES._pending:  # a write handed over and not yet waited for: it may run
                changed.append(key)
            real(key, *value)
        return change

    for name in ("putenv", "unsetenv"):
        monkeypatch.setattr(os, name, recorded(getattr(os, name)))
    data = small_company(tmp_path / "in")
    assert main(["run", "--data", str(data), "--out", str(tmp_path / "out")]) == 0
    assert changed == []
