"""The code location loads, and every asset is described, grouped and typed (style.md)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from assets import definitions
from assets.checks import IN_OP
from assets.definitions import ALL_ASSETS, ALL_CHECKS, defs
from assets.io_manager import DEFAULT_BASE_DIR
from assets.jobs import JOB_NAME
from assets.schedules import NIGHTLY_CRON
from assets.sensors import SENSOR_NAME
from pipelines.pipeline import OUTPUT_TABLES

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {"ingest", "ledger", "costing", "gl", "valuation", "reconciliation"}


@pytest.fixture(scope="module")
def repo():
    dg.Definitions.validate_loadable(defs)
    return defs.get_repository_def()


def test_definitions_load(repo) -> None:
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert set(OUTPUT_TABLES) | {"rejected_transactions", "external_gl_entries",
                                 "adjusted_value_entries", "items", "transactions"} <= keys


def test_every_asset_has_description_group_and_kinds(repo) -> None:
    for key, asset in repo.assets_defs_by_key.items():
        spec = asset.specs_by_key[key]
        assert spec.description and len(spec.description) > 40, key
        assert spec.group_name in GROUPS, key
        assert spec.kinds == {"polars", "parquet"}, key
    groups = {a.specs_by_key[k].group_name for k, a in repo.assets_defs_by_key.items()}
    assert groups == GROUPS


def test_asset_graph_runs_ingest_to_reconciliation(repo) -> None:
    graph = repo.asset_graph

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert parents("adjusted_value_entries") == {"transactions", "items", "inventory_periods",
                                                 "accounting_periods"}
    assert parents("rejected_transactions") == {"transactions", "items", "inventory_periods",
                                                "accounting_periods", "ingest_rejections"}
    assert parents("gl_entries") == {"adjusted_value_entries", "inventory_posting_setup",
                                     "general_posting_setup"}
    assert parents("inventory_valuation") == {"item_ledger_entries", "value_entries"}
    assert parents("inventory_valuation_by_period") == {"item_ledger_entries", "value_entries"}
    assert {"value_entries", "gl_entries", "external_gl_entries"} <= parents("reconciliation")


def test_checks_cover_every_output_table(repo) -> None:
    checked = {(key.asset_key.to_user_string(), key.name)
               for key in repo.asset_graph.asset_check_keys}
    for table in OUTPUT_TABLES:
        assert (table, f"{table}_schema") in checked
    assert ("gl_entries", "gl_entries_balance_per_value_entry") in checked
    assert ("reconciliation", "reconciliation_differences_explained") in checked
    assert ("reconciliation", "reconciliation_within_tolerance") in checked
    assert ("inventory_valuation_by_period", "inventory_valuation_by_period_schema") in checked


def test_every_check_but_the_settling_warning_is_blocking_and_the_nightly_job_runs_them() -> None:
    """At ERROR a blocking check fails the run (the nightly one included): the product's
    guarantees (schemas, R126, R156, R157) and the company's tolerance. Only R60's unsettled
    items are a warning that lets the run go on, as in BC."""
    graph = defs.resolve_asset_graph()
    open_checks = {key.name for key in graph.asset_check_keys
                   if not graph.get_check_spec(key).blocking}
    assert open_checks == {"costs_settled"}
    assert len(graph.asset_check_keys) == 14
    # the schema and balance checks are evaluated in the ops of their tables (assets/checks.py)
    in_ops = {key.name for a in ALL_ASSETS for key in a.check_keys}
    assert {"value_entries_schema", "gl_entries_schema", "adjusted_value_entries_schema",
            "gl_entries_balance_per_value_entry"} <= in_ops
    assert not in_ops & {key.name for c in ALL_CHECKS for key in c.check_keys}
    job = defs.resolve_job_def(JOB_NAME)
    assert "reconciliation_reconciliation_within_tolerance" in job.graph.node_names()


def test_job_schedule_sensor_and_executor() -> None:
    job = defs.resolve_job_def(JOB_NAME)
    assert job.executor_def.name == dg.in_process_executor.name
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert set(OUTPUT_TABLES) <= selected
    schedule = defs.resolve_schedule_def("invrec_nightly")
    assert schedule.cron_schedule == NIGHTLY_CRON == "0 2 * * *"
    assert schedule.job_name == JOB_NAME
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    assert sensor.job_name == JOB_NAME


def test_resources_default_to_the_sample(monkeypatch) -> None:
    monkeypatch.delenv("INVREC_DATA_DIR", raising=False)
    res = definitions.resources()
    assert res["invrec_config"].data_dir.endswith("data/sample")
    assert res["invrec_config"].on_bad_rows == "fail"
    monkeypatch.setenv("INVREC_DATA_DIR", "/elsewhere")
    assert definitions.resources()["invrec_config"].data_dir == "/elsewhere"


def test_the_input_folder_is_an_observable_source_of_ingest(repo) -> None:
    graph = repo.asset_graph
    folder = graph.get(dg.AssetKey("input_folder"))
    assert folder.is_observable and not folder.is_materializable
    assert folder.group_name == "ingest" and "data version" in folder.description
    for table in ("transactions", "items", "external_gl_entries"):
        assert dg.AssetKey("input_folder") in graph.get(dg.AssetKey(table)).parent_keys
    # the job observes the folder it reads (test_assets: a run leaves its tables fresh)
    selected = defs.resolve_job_def(JOB_NAME).asset_layer.selected_asset_keys
    assert dg.AssetKey("input_folder") in selected


def test_dagster_dev_runs_one_run_at_a_time(tmp_path) -> None:
    """`dagster dev` from the repository root reads its dagster.yaml: the run queue launches one
    run at a time, since every run writes out/ in place."""
    ref = InstanceRef.from_dir(str(tmp_path), config_dir=str(ROOT))
    with dg.DagsterInstance.from_ref(ref) as instance:
        queue = instance.run_coordinator.get_run_queue_config()
    assert queue.max_concurrent_runs == 1


def test_the_ui_writes_to_the_repository_out_folder(monkeypatch) -> None:
    monkeypatch.delenv("INVREC_OUT_DIR", raising=False)
    base = definitions.resources()["io_manager"].base_dir
    assert base == DEFAULT_BASE_DIR == str(ROOT / "out")


def test_a_check_either_runs_alone_or_says_how_to_run_it_again() -> None:
    """A check page's Execute runs the check alone: a check of its own step can; one evaluated
    in its table's op cannot (Dagster refuses the subset), and its description says what to do."""
    job = defs.resolve_implicit_global_asset_job_def()
    for check in ALL_CHECKS:
        for key in check.check_keys:
            alone = job.get_subset(asset_check_selection={key}, asset_selection=set())
            assert len(alone.graph.node_names()) == 1, key
    in_op = [spec for asset in ALL_ASSETS for spec in asset.check_specs]
    assert len(in_op) == 11
    for spec in in_op:
        assert spec.description.endswith(IN_OP), spec.name
        with pytest.raises(dg.DagsterInvalidSubsetError):
            job.get_subset(asset_check_selection={spec.key}, asset_selection=set())
