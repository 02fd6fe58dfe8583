"""The reconciliation check a controller trusts: tolerance and severity from settings.toml, metadata
read at a glance, and a nightly run that fails when the check fails at ERROR; the monthly Inventory
Valuation report asset and its tie-out check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.definitions import ALL_ASSETS, ALL_CHECKS, resources
from assets.ingest import SOURCES
from assets.jobs import invrec_job
from assets.reconciliation import (
    TOLERANCE_CHECK,
    differences_by_month,
    tolerance_result,
    top_differences,
)
from assets.resources import InvrecConfig
from assets.schedules import nightly_schedule
from assets.valuation import closing_result, inventory_valuation_report
from pipelines.errors import InputError
from pipelines.ingest import read_input
from pipelines.pipeline import run_pipeline
from pipelines.posting import post_inventory_cost_to_gl
from pipelines.reconcile import reconcile
from pipelines.settings import Settings, load_settings
from pipelines.valuation import inventory_valuation
from tests._run_company import EXTERNAL_GL, small_company
from tests.gl_helpers import D, general_posting_setup, inventory_posting_setup
from tests.test_reconcile import VES

IPS, GPS = inventory_posting_setup(), general_posting_setup()
JAN = D(2020, 1, 31)
GL_ACCOUNTS = pl.DataFrame({"account_no": ["2130", "7291"],
                            "name": ["Inventory", "Direct Cost Applied"]})


def _mismatch(setting: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Our own G/L with P1 booked at 90 instead of 100 on Inventory: 10.00 on 2130 in January."""
    gl = post_inventory_cost_to_gl(VES, IPS, GPS, setting)[0].with_columns(
        amount=pl.when((pl.col("document_no") == "P1") & (pl.col("account_no") == "2130"))
        .then(90.0).otherwise("amount"))
    return reconcile(VES, gl, IPS, GPS, setting)


# --- settings ----------------------------------------------------------------------------------

def test_settings_keys_default_and_read(tmp_path: Path) -> None:
    default = Settings()
    assert (default.reconciliation_tolerance, default.reconciliation_severity) == (0.0, "warn")
    (tmp_path / "settings.toml").write_text(
        'reconciliation_tolerance = 5\nreconciliation_severity = "error"\n')
    got = load_settings(tmp_path)
    assert (got.reconciliation_tolerance, got.reconciliation_severity) == (5.0, "error")
    assert isinstance(got.reconciliation_tolerance, float)


def test_bad_settings_keys_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        'reconciliation_tolerance = -1\nreconciliation_severity = "fatal"\n')
    with pytest.raises(InputError) as exc:
        load_settings(tmp_path)
    assert sorted((p.column, p.value) for p in exc.value.problems) == [
        ("reconciliation_severity", "'fatal'"), ("reconciliation_tolerance", "-1")]


# --- the tolerance check -----------------------------------------------------------------------

def test_zero_tolerance_warns_by_default_and_shows_where() -> None:
    recon, variance = _mismatch(Settings())
    result = tolerance_result(recon, variance, GL_ACCOUNTS, Settings())
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    meta = {k: v.value for k, v in result.metadata.items()}
    assert meta["rows_over_tolerance"] == 2  # January and all time
    assert meta["accounts_over_tolerance"] == 1
    assert meta["accounts_with_difference_all_time"] == 1
    over = meta["over_tolerance"].splitlines()  # the rows that broke it, largest first
    assert len(over) == 4 and "| 2020-01-31 | 2130 " in over[2] and "| null " in over[3]
    assert meta["largest_difference"] == 10.0
    assert meta["total_difference"] == 10.0 and meta["inventory_accounts_difference"] == 10.0
    assert "| 2130       | Inventory " in meta["by_account"]
    assert "| P1          | 2130       | amount_mismatch | ITEM1   |" in meta["top_documents"]
    assert "| 2020-01-31 | 1                  | 10.00 | 10.00 | 10.00              | " \
           + "█" * 30 + " |" in meta["differences_by_month"]
    assert "differ by more than 0.00" in result.description


@pytest.mark.parametrize(("tolerance", "severity", "passed", "level"), [
    (10.0, "error", True, "ERROR"),    # a difference equal to the tolerance is within it
    (9.99, "error", False, "ERROR"),
    (9.99, "warn", False, "WARN"),
])
def test_tolerance_and_severity_come_from_settings(tolerance, severity, passed, level) -> None:
    setting = Settings(reconciliation_tolerance=tolerance, reconciliation_severity=severity)
    recon, variance = _mismatch(setting)
    result = tolerance_result(recon, variance, GL_ACCOUNTS, setting)
    assert result.passed is passed
    assert result.severity == getattr(dg.AssetCheckSeverity, level)
    assert result.metadata["tolerance"].value == tolerance


def test_no_difference_passes_with_zero_tolerance() -> None:
    gl = post_inventory_cost_to_gl(VES, IPS, GPS, Settings())[0]
    recon, variance = reconcile(VES, gl, IPS, GPS, Settings())
    result = tolerance_result(recon, variance, GL_ACCOUNTS.clear(), Settings())
    assert result.passed and result.metadata["gross_difference"].value == 0.0
    assert result.metadata["top_documents"].value == "_no differences_"


def test_top_differences_rank_a_moved_date_by_its_gross_amount() -> None:
    """A date moved across months nets to zero but is the largest difference of the month."""
    variance = pl.DataFrame({
        "period_end": [JAN, D(2020, 2, 29), JAN], "account_no": ["2130"] * 3,
        "document_no": ["S1", "S1", "P1"], "item_no": ["ITEM1"] * 3,
        "difference": [-60.0, 60.0, 10.0],
        "cause": ["posting_date_mismatch", "posting_date_mismatch", "amount_mismatch"]})
    got = top_differences(variance)
    assert got.select("document_no", "net", "gross", "first_month", "last_month").rows() == [
        ("S1", 0.0, 120.0, JAN, D(2020, 2, 29)), ("P1", 10.0, 10.0, JAN, JAN)]


def test_differences_by_month_counts_accounts_and_inventory_roles() -> None:
    recon = pl.DataFrame({
        "period_end": [JAN, JAN, JAN, None], "account_no": ["2130", "2131", "7270", "2130"],
        "account_role": ["inventory", "inventory_interim", "inventory_adjmt", "inventory"],
        "difference": [-5.0, 2.0, 3.0, -5.0]})
    got = differences_by_month(recon)
    assert got.drop("plot").rows() == [(JAN, 3, 10.0, 0.0, -3.0)]


# --- the nightly run fails visibly -------------------------------------------------------------

def _nightly_run(data: Path, out: Path) -> dg.ExecuteInProcessResult:
    """Execute the nightly schedule's job, in process, on `data` (as the daemon would launch it)."""
    defs = dg.Definitions(assets=[*SOURCES, *ALL_ASSETS], asset_checks=ALL_CHECKS,
                          jobs=[invrec_job], schedules=[nightly_schedule],
                          resources=resources(str(data), str(out)), executor=dg.in_process_executor)
    schedule = defs.resolve_schedule_def("invrec_nightly")
    with dg.build_schedule_context(scheduled_execution_time=dt.datetime(
            2024, 7, 1, 2, 0, tzinfo=dt.UTC)) as context:
        requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1 and requests[0].tags["invrec/trigger"] == "nightly"
    job = defs.resolve_job_def(schedule.job_name)
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False)


@pytest.mark.slow
def test_nightly_run_fails_when_the_reconciliation_check_fails_at_error(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in", gl_entries__csv=EXTERNAL_GL,
                         settings__toml='reconciliation_severity = "error"\n')
    result = _nightly_run(data, tmp_path / "out")
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    message = failures[0].step_failure_data.error.message
    assert "blocking asset check failed with ERROR severity" in message
    assert f"reconciliation: {TOLERANCE_CHECK}" in message
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.check_name == TOLERANCE_CHECK)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    # the reconciliation itself was written: the controller can open it
    assert (tmp_path / "out" / "reconciliation_variance.parquet").is_file()


@pytest.mark.slow
def test_nightly_run_succeeds_within_tolerance(tmp_path: Path) -> None:
    data = small_company(tmp_path / "in", gl_entries__csv=EXTERNAL_GL,
                         settings__toml='reconciliation_severity = "error"\n'
                                        "reconciliation_tolerance = 1000\n")
    result = _nightly_run(data, tmp_path / "out")
    assert result.success
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.check_name == TOLERANCE_CHECK)
    assert check.passed and check.metadata["rows_over_tolerance"].value == 0
    assert check.metadata["gross_difference"].value > 0


# --- the monthly Inventory Valuation report asset ----------------------------------------------

def test_valuation_report_asset_ends_at_the_valuation(tmp_path: Path) -> None:
    """The small company as of Feb 10: the Feb 15 freight charge is not in yet, its share of the
    January sale is (the adjustment keeps the sale's date, R111); the last month ends on Feb 10."""
    data = small_company(tmp_path / "in")
    tables = run_pipeline(read_input(data))
    config = InvrecConfig(data_dir=str(data), as_of="2020-02-10")
    output, schema = inventory_valuation_report(config, tables["item_ledger_entries"],
                                                tables["value_entries"])
    assert schema.passed and schema.check_name == "inventory_valuation_by_period_schema"
    report = output.value
    assert report.select(
        "period_end", "opening_quantity", "opening_value", "increases_quantity",
        "increases_value", "decreases_quantity", "decreases_value", "closing_quantity",
        "closing_value").rows() == [
        (D(2020, 1, 31), 0.0, 0.0, 10.0, 50.0, 4.0, 24.0, 6.0, 26.0),
        (D(2020, 2, 10), 6.0, 26.0, 5.0, 35.0, 8.0, 50.0, 3.0, 11.0),
    ]
    assert output.metadata["months"].value == 2
    assert output.metadata["closing_value"].value == 11.0
    valuation = inventory_valuation(tables["item_ledger_entries"], tables["value_entries"],
                                    D(2020, 2, 10))
    assert closing_result(report, valuation).passed
    bad = closing_result(report, valuation.with_columns(cost_amount_actual=pl.lit(12.0)))
    assert not bad.passed and bad.metadata["rows_differing"].value == 1
    assert not closing_result(report, valuation.clear()).passed  # a missing row counts as zero
