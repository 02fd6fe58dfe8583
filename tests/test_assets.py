"""Dagster round trips: the IO manager, the whole graph against run_pipeline, assets and checks
called directly, the sensor."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from assets.checks import schema_result
from assets.costing import ADJUSTED_VALUE_ENTRIES
from assets.definitions import ALL_ASSETS, ALL_CHECKS, resources
from assets.gl import GL_ENTRIES, VALUE_ENTRIES, balance_result, value_entry_sums
from assets.ingest import EXTERNAL_GL, folder_state, input_folder, input_tables
from assets.io_manager import ParquetIOManager
from assets.jobs import invrec_job
from assets.metadata import markdown
from assets.reconciliation import differences_result
from assets.resources import InvrecConfig
from assets.sensors import input_folder_sensor
from assets.valuation import inventory_valuation
from pipelines import page_cache
from pipelines.ingest import read_input
from pipelines.pipeline import OUTPUT_TABLES, run_pipeline
from schemas.base import CODES_KEY, as_text, conform
from schemas.gl import GLEntry
from tests._run_company import (
    EXTERNAL_GL as EXTERNAL_GL_CSV,
)
from tests._run_company import (
    INVENTORY_VALUE,
    INVENTORY_VALUE_JANUARY,
    small_company,
)

FRAME = pl.DataFrame({"entry_no": [1, 2], "amount": [10.5, -10.5],
                      "posting_date": [dt.date(2020, 1, 1), dt.date(2020, 1, 2)]})


def test_io_manager_round_trip(tmp_path: Path) -> None:
    @dg.asset(key=["gl", "entries"])
    def upstream() -> pl.DataFrame:
        return FRAME

    @dg.asset(ins={"entries": dg.AssetIn(["gl", "entries"])})
    def doubled(entries: pl.DataFrame) -> pl.DataFrame:
        return entries.with_columns(pl.col("amount") * 2)

    result = dg.materialize([upstream, doubled],
                            resources={"io_manager": ParquetIOManager(base_dir=str(tmp_path))})
    assert result.success
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["doubled.parquet", "gl/entries.parquet"]
    assert_frame_equal(pl.read_parquet(tmp_path / "gl" / "entries.parquet"), FRAME)
    assert pl.read_parquet(tmp_path / "doubled.parquet")["amount"].to_list() == [21.0, -21.0]


def test_io_manager_writes_code_columns_as_text_and_loads_them_back(tmp_path: Path) -> None:
    """Code columns held as Categorical (schemas.base.Code) are text in the file, the contract's
    type, and Categorical again when a later run loads the asset from it."""
    frame = FRAME.with_columns(item_no=pl.Series(["A", "B"], dtype=pl.Categorical),
                               document_no=pl.lit("D1"))
    io = ParquetIOManager(base_dir=str(tmp_path)).create_io_manager(None)
    key = dg.AssetKey("entries")
    io.handle_output(dg.build_output_context(asset_key=key), frame)
    written = pl.read_parquet(tmp_path / "entries.parquet")
    assert written.schema["item_no"] == pl.String and written.schema["document_no"] == pl.String
    assert_frame_equal(written, frame.with_columns(pl.col("item_no").cast(pl.String)))
    assert_frame_equal(io.load_input(dg.build_input_context(asset_key=key)), frame)


def test_io_manager_flushes_and_releases_each_file_it_writes(tmp_path: Path, monkeypatch) -> None:
    """Each asset's file is on disk (fdatasync) and advised out of the page cache, after it was
    written whole (pipelines/page_cache.py)."""
    calls = []

    def seen(name: str):
        def call(fd, *args):
            calls.append((name, Path(f"/proc/self/fd/{fd}").resolve().name, os.fstat(fd).st_size))
        return call

    monkeypatch.setattr(page_cache.os, "fdatasync", seen("fdatasync"))
    monkeypatch.setattr(page_cache.os, "posix_fadvise", seen("posix_fadvise"))

    @dg.asset
    def entries() -> pl.DataFrame:
        return FRAME

    assert dg.materialize([entries], resources={
        "io_manager": ParquetIOManager(base_dir=str(tmp_path))}).success
    size = (tmp_path / "entries.parquet").stat().st_size
    assert calls == [("fdatasync", "entries.parquet", size),
                     ("posix_fadvise", "entries.parquet", size)]


def test_io_manager_hands_the_frame_over_until_its_last_load(tmp_path: Path) -> None:
    """Two loads of `gl/entries` get the frame written, the third reads the file back."""
    manager = ParquetIOManager(base_dir=str(tmp_path), hand_over={"gl/entries": 2})
    io = manager.create_io_manager(None)
    key = dg.AssetKey(["gl", "entries"])
    io.handle_output(dg.build_output_context(asset_key=key), FRAME)
    path = tmp_path / "gl" / "entries.parquet"
    assert_frame_equal(pl.read_parquet(path), FRAME)
    FRAME.with_columns(amount=pl.lit(0.0)).write_parquet(path)  # what a read would now see

    def load() -> pl.DataFrame:
        return io.load_input(dg.build_input_context(asset_key=key))

    assert load() is FRAME and load() is FRAME
    assert load()["amount"].to_list() == [0.0, 0.0]
    other = dg.AssetKey("other")  # not loaded again in the job: never held
    io.handle_output(dg.build_output_context(asset_key=other), FRAME)
    assert io.load_input(dg.build_input_context(asset_key=other)) is not FRAME


def test_io_manager_writes_only_what_it_persists(tmp_path: Path) -> None:
    """An asset left out of `persist` is handed over to its loads and never written; a load
    beyond them is an error, not a read of a file some earlier run left there."""
    manager = ParquetIOManager(base_dir=str(tmp_path), hand_over={"kept": 1, "passed": 1},
                               persist=["kept"])
    io = manager.create_io_manager(None)
    for name in ("kept", "passed"):
        io.handle_output(dg.build_output_context(asset_key=dg.AssetKey(name)), FRAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.parquet"]
    passed = dg.build_input_context(asset_key=dg.AssetKey("passed"))
    assert io.load_input(passed) is FRAME
    FRAME.write_parquet(tmp_path / "passed.parquet")  # a stale file from another run
    with pytest.raises(RuntimeError, match="passed is not written by this run"):
        io.load_input(passed)


@pytest.mark.slow
def test_graph_materializes_what_run_pipeline_computes(tmp_path: Path) -> None:
    """The Dagster graph and the pure pipeline are the same composition of stages."""
    data = small_company(tmp_path / "in", gl_entries__csv=EXTERNAL_GL_CSV)
    out = tmp_path / "store"
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(str(data), str(out)))
    assert result.success
    expected = run_pipeline(read_input(data))
    for table in OUTPUT_TABLES:
        assert_frame_equal(pl.read_parquet(out / f"{table}.parquet"),
                           as_text(expected[table]).collect())
    assert pl.read_parquet(out / f"{EXTERNAL_GL}.parquet").height == 5
    # The external G/L leaves differences, all explained: the tolerance check warns (the default
    # severity), the run succeeds.
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    explained = evaluations["reconciliation_differences_explained"]
    assert explained.passed and explained.metadata["unexplained_rows"].value == 0
    assert explained.metadata["rows_with_difference"].value > 0
    tolerance = evaluations["reconciliation_within_tolerance"]
    assert not tolerance.passed and tolerance.severity == dg.AssetCheckSeverity.WARN
    assert tolerance.blocking
    assert evaluations["inventory_valuation_by_period_closes_at_inventory_valuation"].passed
    assert all(e.passed for name, e in evaluations.items() if name.endswith("_schema"))
    assert evaluations["gl_entries_balance_per_value_entry"].passed
    valuation = result.asset_materializations_for_node("inventory_valuation")[0]
    assert valuation.metadata["inventory_value"].value == INVENTORY_VALUE


def test_a_later_run_loads_the_files_an_earlier_invrec_wrote(tmp_path: Path) -> None:
    """Files written before invrec named its Categorical columns in their metadata (text, no
    metadata): materializing only the G/L posting on them loads the Code columns as
    Categorical, so its schema checks pass and the G/L is the one a whole run posts."""
    data = small_company(tmp_path / "in")
    out = tmp_path / "store"
    assert dg.materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(str(data), str(out))
                          ).success
    posted = pl.read_parquet(out / f"{GL_ENTRIES}.parquet")
    earlier = out / f"{ADJUSTED_VALUE_ENTRIES}.parquet"
    pl.read_parquet(earlier).write_parquet(earlier)  # as an earlier invrec wrote it
    assert CODES_KEY not in pl.read_parquet_metadata(earlier)
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], resources=resources(str(data), str(out)),
                            selection=[GL_ENTRIES, VALUE_ENTRIES])
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"gl_entries_balance_per_value_entry": True, "gl_entries_schema": True,
                      "value_entries_schema": True}
    assert_frame_equal(pl.read_parquet(out / f"{GL_ENTRIES}.parquet"), posted)


def test_reconciliation_alone_reads_the_gl_ingest_read_not_the_folder_now(tmp_path: Path) -> None:
    """A G/L export lands after the run: re-materializing only the reconciliation reconciled the
    stale empty external_gl_entries as if it were that G/L (every amount a difference). It
    reconciles what ingest read, our own G/L here, until ingest runs again."""
    data = small_company(tmp_path / "in")
    out = tmp_path / "store"
    everything = [*ALL_ASSETS, *ALL_CHECKS]
    with dg.DagsterInstance.ephemeral() as instance:  # closed: its storage is not left to gc
        assert dg.materialize(everything, resources=resources(str(data), str(out)),
                              instance=instance).success
        (data / "gl_entries.csv").write_text(EXTERNAL_GL_CSV)
        result = dg.materialize(everything, resources=resources(str(data), str(out)),
                                instance=instance, selection=["reconciliation",
                                                              "reconciliation_variance"])
        assert result.success
        recon = result.asset_materializations_for_node("reconcile_inventory_to_gl")[0]
        assert recon.metadata["gl_source"].value == "gl_entries (own posting)"
        assert pl.read_parquet(out / "reconciliation_variance.parquet").height == 0
        # ingest run again: the export is read, and reconciled
        assert dg.materialize(everything, resources=resources(str(data), str(out)),
                              instance=instance).success
        assert pl.read_parquet(out / "reconciliation_variance.parquet").height > 0


def test_ingest_without_external_gl_flags_it_absent(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in")
    outputs = {o.output_name: o for o in input_tables(invrec_config=InvrecConfig(
        data_dir=str(data)))}
    external = outputs[EXTERNAL_GL]
    assert external.metadata["present"].value is False
    assert external.value.height == 0 and external.value.columns[:3] == [
        "entry_no", "posting_date", "account_no"]
    assert outputs["transactions"].metadata["dagster/row_count"].value == 5
    assert outputs["ingest_rejections"].value.height == 0


def test_a_bar_in_a_text_does_not_split_its_cell_in_a_preview() -> None:
    """Markdown previews escape `|` (a document number or a reason may hold one)."""
    frame = pl.DataFrame({"document_no": ["PI|1", "PI-2"], "amount": [1.5, -2.0]}).with_columns(
        reason=pl.Series(["a|b", "c"]).cast(pl.Categorical))
    rows = markdown(frame).splitlines()
    assert rows[2] == r"| PI\|1       | 1.50   | a\|b   |"
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows)


def _as_polars_prints(df: pl.DataFrame) -> str:
    """polars' own markdown print, with the settings previews used before they were built by
    hand (`pl.Config` changes the process environment: fine in a test, not in a run)."""
    df = df.head(10).with_columns(pl.col(pl.String, pl.Categorical).cast(pl.String)
                                  .str.replace_all("|", r"\|", literal=True))
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=10, tbl_cols=-1,
                   tbl_width_chars=10_000, fmt_str_lengths=60, float_precision=2):
        return str(df)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(
    st.one_of(st.none(), st.text(st.sampled_from("AZaz09 |-/é"), max_size=70)),
    st.one_of(st.none(), st.floats(-1e9, 1e9, allow_nan=False).map(lambda v: round(v, 4))),
    st.one_of(st.none(), st.integers(-10**12, 10**12)),
    st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31))),
    st.one_of(st.none(), st.booleans())), min_size=1, max_size=14))
def test_a_preview_is_the_markdown_polars_prints(rows: list[tuple]) -> None:
    """Previews are built by hand, the way polars prints a frame as markdown: amounts to the
    cent, texts cut at 60 characters, nulls as `null`, the first ten rows."""
    frame = pl.DataFrame(rows, schema={"document_no": pl.String, "amount": pl.Float64,
                                       "entry_no": pl.Int64, "posting_date": pl.Date,
                                       "open": pl.Boolean}, orient="row")
    assert markdown(frame) == _as_polars_prints(frame)


def test_a_preview_changes_no_environment_variable(monkeypatch) -> None:
    """polars keeps its print settings in the process environment; a preview must not touch
    it (a write behind reads it on another thread: assets/io_manager.py)."""
    changed = []
    monkeypatch.setattr(os, "putenv", lambda *a: changed.append(a))
    monkeypatch.setattr(os, "unsetenv", lambda *a: changed.append(a))
    markdown(pl.DataFrame({"amount": [1.234], "reason": ["a|b"]}))
    assert changed == []


def test_ingest_shows_the_empty_lines_it_left_out(tmp_path: Path) -> None:
    """Lines without any value are not rows (ingest leaves them out); the analyst sees how many."""
    data = small_company(tmp_path / "in")
    with (data / "transactions.csv").open("a") as csv:
        csv.write("\n,,,,\n")
    outputs = {o.output_name: o for o in input_tables(invrec_config=InvrecConfig(
        data_dir=str(data)))}
    assert outputs["transactions"].metadata["dagster/row_count"].value == 5
    assert outputs["transactions"].metadata["empty_lines_left_out"].value == 2
    assert "empty_lines_left_out" not in outputs["items"].metadata


def test_inventory_valuation_asset_reads_as_of_from_config(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in")
    tables = run_pipeline(read_input(data))
    config = InvrecConfig(data_dir=str(data), as_of="2020-01-31")
    output, check = inventory_valuation(config, tables["item_ledger_entries"],
                                        tables["value_entries"])
    assert check.passed and check.check_name == "inventory_valuation_schema"
    assert output.metadata["as_of"].value == "2020-01-31"
    assert output.metadata["inventory_value"].value == INVENTORY_VALUE_JANUARY
    assert output.value["quantity"].to_list() == [6.0]



def test_a_run_config_with_a_date_that_is_not_iso_fails_at_the_start(tmp_path: Path) -> None:
    """as_of is checked when the run starts (resource initialization), not when valuation
    reads it after ingest and costing; the launchpad describes every field."""
    with pytest.raises(ValueError, match=r"as_of must be an ISO date \(YYYY-MM-DD\), "
                                         r"not '31/03/2024'"):
        InvrecConfig(as_of="31/03/2024")
    fields = InvrecConfig.to_config_schema().as_field().config_type.fields
    assert {name: bool(field.description) for name, field in fields.items()} == {
        "data_dir": True, "as_of": True, "on_bad_rows": True}
    data = small_company(tmp_path / "in")
    result = dg.materialize(
        [*ALL_ASSETS, *ALL_CHECKS], raise_on_error=False,
        resources={**resources(str(data), str(tmp_path / "out")),
                   "invrec_config": InvrecConfig.configure_at_launch()},
        run_config={"resources": {"invrec_config": {"config": {"as_of": "31/03/2024"}}}})
    assert not result.success
    assert not result.get_asset_materialization_events()  # nothing read, nothing costed

def test_balance_check_names_the_unbalanced_value_entry() -> None:
    gl = pl.DataFrame({"value_entry_no": [1, 1, 2, 2], "amount": [50.0, -50.0, 10.0, -9.0]})
    result = balance_result(gl)
    assert not result.passed
    assert result.metadata["unbalanced_value_entries"].value == 1
    assert "| 2 " in result.metadata["unbalanced"].value
    assert balance_result(gl.filter(pl.col("value_entry_no") == 1)).passed
    assert not balance_result(gl.reverse()).passed  # a table in another order: the group-by


def test_balance_check_fails_a_value_entry_with_a_nan_amount() -> None:
    gl = pl.DataFrame({"value_entry_no": [1, 1, 2, 2], "amount": [50.0, float("nan"), 1.0, -1.0]})
    result = balance_result(gl)
    assert not result.passed and result.metadata["unbalanced_value_entries"].value == 1


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(-10**9, 10**9)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_value_entry_sums_by_runs_are_the_group_by_sums(rows) -> None:
    """The runs of a table in value entry order give each entry the sum a group-by gives,
    to the millionth (amounts in cents of up to ten million)."""
    gl = pl.DataFrame({"value_entry_no": [e for e, _ in rows],
                       "amount": [c / 100 for _, c in rows]},
                      schema={"value_entry_no": pl.Int64, "amount": pl.Float64})
    grouped = gl.group_by("value_entry_no").agg(pl.col("amount").sum()).sort("value_entry_no")
    assert_frame_equal(value_entry_sums(gl.sort("value_entry_no")), grouped, abs_tol=1e-6)
    assert_frame_equal(value_entry_sums(gl), grouped, abs_tol=1e-6)  # any order


def _recon(differences: list[float]) -> pl.DataFrame:
    jan = dt.date(2020, 1, 31)
    return pl.DataFrame({"period_end": [jan, None], "account_no": ["2130", "2130"],
                         "difference": differences})


def test_difference_check_passes_zero_and_explained_errors_unexplained() -> None:
    no_variance = pl.DataFrame(schema={"period_end": pl.Date, "account_no": pl.String,
                                       "difference": pl.Float64})
    assert differences_result(_recon([0.0, 0.0]), no_variance).passed
    variance = pl.DataFrame({"period_end": [dt.date(2020, 1, 31)], "account_no": ["2130"],
                             "difference": [4.0]})
    explained = differences_result(_recon([4.0, 4.0]), variance)
    assert explained.passed and explained.metadata["rows_with_difference"].value == 2
    unexplained = differences_result(_recon([5.0, 5.0]), variance)
    assert not unexplained.passed and unexplained.severity == dg.AssetCheckSeverity.ERROR
    assert unexplained.metadata["unexplained_rows"].value == 2
    assert "| 2130 " in unexplained.metadata["unexplained"].value
    # a variance row for a month the reconciliation does not have is an error too
    stray = variance.with_columns(period_end=pl.lit(dt.date(2020, 2, 29)))
    assert not differences_result(_recon([0.0, 4.0]), stray).passed


def test_schema_check_reports_failure_cases() -> None:
    gl = pl.DataFrame({"entry_no": [1, 1], "posting_date": [dt.date(2020, 1, 1)] * 2,
                       "account_no": ["2130", "7291"], "amount": [1.0, -1.0],
                       "value_entry_no": [1, 1], "document_no": ["D1"] * 2,
                       "item_no": ["A"] * 2, "location_code": [""] * 2,
                       "description": ["x"] * 2}).pipe(conform, GLEntry)
    bad = schema_result(gl, GLEntry)
    assert not bad.passed and bad.metadata["failures"].value >= 1
    assert "unique" in bad.metadata["failure_cases"].value
    assert schema_result(gl.with_columns(entry_no=pl.Series([1, 2])), GLEntry).passed


def _sense(config: InvrecConfig, cursor: str | None = None):
    with dg.build_sensor_context(cursor=cursor, resources={"invrec_config": config}) as context:
        return input_folder_sensor(context)


def test_sensor_runs_on_change_only(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in")
    config = InvrecConfig(data_dir=str(data))
    first = _sense(config)
    (request,) = first.run_requests
    (observed,) = first.asset_events  # the input folder, at the version the run reads
    assert observed.asset_key == dg.AssetKey("input_folder")
    assert observed.tags["dagster/data_version"] == request.tags["invrec/input_state"]
    assert isinstance(_sense(config, first.cursor), dg.SkipReason)
    (data / "NOTES.md").write_text("not an input table")  # ignored
    assert isinstance(_sense(config, first.cursor), dg.SkipReason)
    tx = data / "transactions.csv"
    before, stat = tx.read_text(), tx.stat()
    tx.write_text(before + "6,2020-03-01,sale,A,,,,1,,,,,,D6,DOMESTIC\n")
    os.utime(tx, ns=(1, 2))
    changed = _sense(config, first.cursor)
    (second,) = changed.run_requests
    assert second.run_key != request.run_key
    assert second.tags["invrec/input_state"] != request.tags["invrec/input_state"]
    # the folder restored as it was: the same state as the first run, and yet a run of its own
    tx.write_text(before)
    os.utime(tx, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    restored = _sense(config, changed.cursor)
    (third,) = restored.run_requests
    assert third.tags["invrec/input_state"] == request.tags["invrec/input_state"]
    assert len({request.run_key, second.run_key, third.run_key}) == 3


def test_sensor_reads_a_cursor_of_the_earlier_version(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in")
    config = InvrecConfig(data_dir=str(data))
    state = json.loads(_sense(config).cursor)["state"]
    # before run counts, the cursor was the folder state alone
    assert isinstance(_sense(config, json.dumps(state)), dg.SkipReason)
    (request,) = _sense(config, json.dumps({**state, "items.csv": [1, 2]})).run_requests
    assert request.run_key.startswith("1-")


def test_sensor_skips_an_empty_folder_and_runs_once_files_arrive(tmp_path: Path) -> None:
    config = InvrecConfig(data_dir=str(tmp_path))
    empty = _sense(config)
    assert not empty.run_requests and "no input files" in empty.skip_reason.skip_message
    small_company(tmp_path)
    assert len(_sense(config, empty.cursor).run_requests) == 1


def test_observing_the_input_folder_gives_its_data_version(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in")
    config = InvrecConfig(data_dir=str(data))
    observe = dg.define_asset_job("observe", dg.AssetSelection.assets("input_folder"))
    job = dg.Definitions(assets=[input_folder], jobs=[observe],
                         resources={"invrec_config": config}).resolve_job_def("observe")
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance).success
        (record,) = instance.fetch_observations(dg.AssetKey("input_folder"), limit=5).records
    observation = record.asset_observation
    (request,) = _sense(config).run_requests
    assert observation.tags["dagster/data_version"] == request.tags["invrec/input_state"]
    assert observation.metadata["files"].value == len(folder_state(data)) >= 3
    assert "transactions.csv" in observation.metadata["preview"].value


def test_ingest_goes_stale_when_an_observation_finds_the_folder_changed(tmp_path: Path) -> None:
    """What the UI shows (its stale status, computed as Dagster's own resolver computes it)."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    data = small_company(tmp_path / "in")
    defs = dg.Definitions(
        assets=[input_folder, input_tables],
        jobs=[dg.define_asset_job("observe", dg.AssetSelection.assets("input_folder")),
              dg.define_asset_job("ingest", dg.AssetSelection.all())],
        resources=resources(str(data), str(tmp_path / "out")))
    transactions = dg.AssetKey("transactions")

    def status(instance: dg.DagsterInstance) -> StaleStatus:
        graph = defs.resolve_asset_graph()
        return CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance)
                                          ).get_status(transactions)

    with dg.instance_for_test() as instance:
        for job in ("observe", "ingest"):
            assert defs.resolve_job_def(job).execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.FRESH
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.FRESH  # observed again, nothing changed
        os.utime(data / "transactions.csv", ns=(1, 2))
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.STALE


def test_a_run_of_the_job_leaves_ingest_fresh_until_the_folder_changes(tmp_path: Path) -> None:
    """invrec_job (the nightly run, Materialize all) observes the folder it reads: its tables
    record that version, so observing the unchanged folder afterwards leaves them fresh (they
    recorded none before, and any observation showed them stale)."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    data = small_company(tmp_path / "in")
    defs = dg.Definitions(
        assets=[input_folder, input_tables],
        jobs=[dg.define_asset_job("observe", dg.AssetSelection.assets("input_folder")),
              dg.define_asset_job("run", invrec_job.selection)],
        resources=resources(str(data), str(tmp_path / "out")))

    def status(instance: dg.DagsterInstance) -> StaleStatus:
        return CachingStaleStatusResolver(instance, defs.resolve_asset_graph(),
                                          LoadingContextForTest(instance)
                                          ).get_status(dg.AssetKey("transactions"))

    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("run").execute_in_process(instance=instance).success
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.FRESH
        os.utime(data / "transactions.csv", ns=(1, 2))
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.STALE
        assert defs.resolve_job_def("run").execute_in_process(instance=instance).success
        assert status(instance) == StaleStatus.FRESH
