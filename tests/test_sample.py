"""The bundled sample company (data/sample/): valid, reconciles to exactly the planted
discrepancies (R145, R146), and is exactly what scripts/make_sample.py writes."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.generate import SUPPORTED_TYPES
from pipelines.generate.company import LOCATIONS, SUPPORTED_METHODS
from pipelines.ingest import read_input, validate_input
from pipelines.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
REGENERATE = "the sample is stale: regenerate it with `uv run python scripts/make_sample.py`"
PLANTED_SCHEMA = {
    "kind": pl.String, "period_end": pl.Date, "account_no": pl.String, "document_no": pl.String,
    "item_no": pl.String, "subledger_amount": pl.Float64, "gl_amount": pl.Float64,
    "difference": pl.Float64, "cause": pl.String,
}
KIND_CAUSE = {"direct_posting": "direct_posting", "missing_posting": "unposted_cost",
              "amount_mismatch": "amount_mismatch",
              "posting_date_mismatch": "posting_date_mismatch"}


@pytest.fixture(scope="module")
def inputs():
    return read_input(SAMPLE)


@pytest.fixture(scope="module")
def outputs(inputs):
    return run_pipeline(inputs)


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return pl.read_csv(SAMPLE / "planted.csv", schema=PLANTED_SCHEMA)


def test_sample_validates_cleanly():
    assert validate_input(SAMPLE) == []


def test_sample_is_the_company_the_issue_asks_for(inputs):
    """About 2,000 transactions over six months, three locations, a few dozen items, every
    supported type and costing method, monthly inventory periods, a chart of accounts."""
    tx, items = inputs.transactions, inputs.items
    assert 1_900 <= tx.height <= 2_100
    assert tx["posting_date"].min().isoformat() == "2024-01-01"
    assert tx["posting_date"].max().isoformat() == "2024-06-30"
    moves = tx.filter(pl.col("type") != "revaluation")  # R80: a revaluation has no location
    to = tx.filter(pl.col("type") == "transfer")["to_location_code"]
    assert set(moves["location_code"]) | set(to) == set(LOCATIONS)
    assert 24 <= items.height <= 60
    assert set(tx["type"]) == set(SUPPORTED_TYPES), REGENERATE
    assert set(items["costing_method"]) == set(SUPPORTED_METHODS), REGENERATE
    assert inputs.inventory_periods["ending_date"].dt.month().to_list() == [1, 2, 3, 4, 5, 6]
    assert inputs.inventory_periods["closed"].to_list() == [True] * 3 + [False] * 3
    assert inputs.gl_accounts.height == 13 and inputs.gl_entries is not None


def test_planted_listing_has_one_discrepancy_of_each_kind(planted):
    kinds = planted.select("kind", "cause", "document_no").unique()
    assert kinds.height == 4
    assert dict(kinds.select("kind", "cause").rows()) == KIND_CAUSE
    assert (planted["difference"] == (planted["subledger_amount"] - planted["gl_amount"])
            .round(2)).all()
    # the README lists every planted row: kind, document, account, period, difference, cause
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for r in planted.iter_rows(named=True):
        assert (f"| {r['kind']} | {r['document_no']} | {r['account_no']} | {r['period_end']} |"
                in readme)
        assert f"| {r['difference']:.2f} | {r['cause']} |" in readme


def test_reconciliation_reports_exactly_the_planted_discrepancies(outputs, planted):
    """R145: each planted discrepancy with its cause, document, account, period and amounts;
    nothing else."""
    variance = outputs["reconciliation_variance"]
    keys = ["period_end", "account_no", "document_no", "cause"]
    try:
        assert_frame_equal(variance.sort(keys), planted.drop("kind").sort(keys),
                           check_exact=False, abs_tol=1e-6)
    except AssertionError as exc:  # gl_entries.csv is frozen: costing changes show up here
        raise AssertionError(f"{exc}\nif costing or posting changed on purpose, {REGENERATE}\n"
                             f"{variance}") from None


def test_all_time_differences_are_the_planted_ones(outputs, planted):
    """R147: per account, the all-time difference is the sum of its variance rows; the moved
    document cancels out."""
    rec = outputs["reconciliation"]
    all_time = (rec.filter(pl.col("period_end").is_null() & (pl.col("difference").abs() >= 0.005))
                .select("account_no", pl.col("difference").round(2)).sort("account_no"))
    expected = (planted.group_by("account_no").agg(pl.col("difference").sum().round(2))
                .filter(pl.col("difference").abs() >= 0.005).sort("account_no"))
    assert_frame_equal(all_time, expected)
    moved = planted.filter(pl.col("kind") == "posting_date_mismatch")
    assert moved["difference"].sum() == pytest.approx(0, abs=1e-9)
    assert moved.height >= 4 and moved["period_end"].n_unique() == 2


def test_own_gl_reconciles_without_difference(inputs):
    """R146: against the G/L invrec posts itself the sample has no variance at all."""
    outputs = run_pipeline(dataclasses.replace(inputs, gl_entries=None))
    assert outputs["reconciliation_variance"].is_empty()
    assert (outputs["reconciliation"]["difference"].abs() < 0.005).all()


def test_sample_is_reproducible(tmp_path):
    """scripts/make_sample.py writes byte-identical files (R7): the sample is never hand-edited."""
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "scripts" /
                                                  "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_sample(tmp_path)
    committed = sorted(p.name for p in SAMPLE.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), (
            f"{name}: {REGENERATE}")


def test_validate_names_every_broken_row_of_a_broken_copy(tmp_path, capsys) -> None:
    """Issue 3: `invrec validate` on a broken copy of the sample exits 1 and names each broken
    row (its CSV line) and rule; the copy's files are left as they were."""
    import shutil

    from assets.cli import main

    broken = tmp_path / "sample"
    shutil.copytree(SAMPLE, broken)
    lines = (broken / "transactions.csv").read_text(encoding="utf-8").splitlines()
    column = lines[0].split(",").index

    def broken_line(line: int, name: str, value: str) -> None:
        fields = lines[line - 1].split(",")  # the sample's fields hold no commas
        fields[column(name)] = value
        lines[line - 1] = ",".join(fields)

    broken_line(2, "posting_date", "2024-02-30")  # not a date
    broken_line(3, "item_no", "NO-SUCH-ITEM")  # unknown item
    broken_line(4, "quantity", "-9.0")  # quantity must be > 0
    text = "\n".join(lines) + "\n"
    (broken / "transactions.csv").write_text(text, encoding="utf-8")
    assert main(["validate", "--data", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "transactions row 2, column posting_date, value '2024-02-30'" in out
    assert "transactions row 3, column item_no, value 'NO-SUCH-ITEM'" in out
    assert "transactions row 4, column quantity, value '-9.0'" in out
    assert (broken / "transactions.csv").read_text(encoding="utf-8") == text
