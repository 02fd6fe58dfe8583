"""Reading the input folder (contract §2): CSV dialects, Parquet, defaults, files, quarantine."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import page_cache
from pipelines.errors import InputError
from pipelines.ingest import read_input, validate_input
from schemas.base import columns, polars_schema
from schemas.inputs import Item, RejectedTransaction, Transaction
from tests._ingest_company import (
    GENERAL_POSTING_SETUP,
    ITEMS,
    TX_HEADER,
    company,
    problems_of,
    tx,
)
from tests.shared_examples import SHARED_EXAMPLES as EXAMPLES
from tests.shared_examples import needs_shared, shared_case_names

INPUT_SUFFIXES = (".csv", ".parquet", ".toml")


def test_bom_crlf_and_quotes(tmp_path):
    items = ('\ufeffitem_no,costing_method,inventory_posting_group,gen_prod_posting_group\r\n'
             '"A","FIFO","RESALE","RETAIL"\r\n')
    setup = ('\ufeff"location_code","inventory_posting_group","inventory_account",'
             '"inventory_account_interim"\r\n"","RESALE","02130"," 02131 "\r\n')
    rows = '\r\n'.join([TX_HEADER, '1,2020-01-01,"purchase","A",,,,"2.5","10.25",,,,,"P, 1",'
                        'DOMESTIC']) + '\r\n'
    t = read_input(company(tmp_path, items__csv=items, inventory_posting_setup__csv=setup,
                           transactions__csv=rows))
    assert t.items.to_dicts() == [{
        "item_no": "A", "description": None, "costing_method": "FIFO", "standard_cost": None,
        "indirect_cost_pct": 0.0, "overhead_rate": 0.0, "inventory_posting_group": "RESALE",
        "gen_prod_posting_group": "RETAIL"}]
    assert t.inventory_posting_setup.row(0) == ("", "RESALE", "02130", "02131")
    row = t.transactions.row(0, named=True)
    assert (row["quantity"], row["unit_cost"], row["document_no"]) == (2.5, 10.25, "P, 1")
    assert (row["location_code"], row["variant_code"]) == ("", "")


def test_typed_frames_follow_the_schemas(tmp_path):
    t = read_input(company(tmp_path, tx(2, "sale", cost=""), tx(1, "purchase", cost=3)))
    assert t.transactions.schema == pl.Schema(polars_schema(Transaction))
    assert t.items.columns == columns(Item)
    assert t.transactions["transaction_no"].to_list() == [1, 2]  # posting order (R170.14)
    assert t.rejected_transactions.schema == pl.Schema(polars_schema(RejectedTransaction))
    assert t.rejected_transactions.height == 0


def test_optional_columns_absent_take_defaults_and_extra_columns_are_dropped(tmp_path):
    items = "item_no,costing_method,inventory_posting_group,gen_prod_posting_group,colour\n" \
            "A,FIFO,RESALE,RETAIL,red\n"
    rows = "transaction_no,posting_date,type,item_no,quantity,unit_cost,document_no," \
           "gen_bus_posting_group,comment\n1,2020-01-01,purchase,A,1,5,P1,DOMESTIC,hello\n"
    t = read_input(company(tmp_path, items__csv=items, transactions__csv=rows))
    assert t.items.columns == columns(Item)
    assert t.transactions.columns == columns(Transaction)
    row = t.transactions.row(0, named=True)
    assert (row["location_code"], row["variant_code"], row["applies_to"]) == ("", "", None)


def test_unknown_files_are_ignored(tmp_path):
    folder = company(tmp_path, tx(1, "purchase", cost=1), **{"NOTES__md": "# notes\n",
                                                            "expected__json": "{}",
                                                            "other__csv": "x\n1\n"})
    assert validate_input(folder) == []


def test_read_input_releases_the_files_it_read_and_leaves_them_as_they_were(tmp_path,
                                                                            monkeypatch):
    """Every table's file is advised out of the page cache once read (pipelines/page_cache.py),
    the other files of the folder are not, and no file changes."""

    folder = company(tmp_path, tx(1, "purchase", cost=1), **{"other__csv": "x\n1\n"})
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    released = []
    monkeypatch.setattr(page_cache.os, "posix_fadvise", lambda fd, offset, length, advice:
                        released.append((os.fstat(fd).st_ino, offset, length, advice)))
    monkeypatch.setattr(page_cache.os, "fdatasync", lambda fd: pytest.fail("inputs are read"))
    read_input(folder)
    inode = {p.stat().st_ino: p.name for p in folder.iterdir()}
    assert sorted(inode[i] for i, *_ in released) == [
        "general_posting_setup.csv", "inventory_posting_setup.csv", "items.csv",
        "transactions.csv"]
    assert {(o, n, a) for _, o, n, a in released} == {(0, 0, os.POSIX_FADV_DONTNEED)}
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before


def test_releasing_a_named_pipe_neither_waits_nor_fails(tmp_path, monkeypatch):
    """An input given as a named pipe (read by then, its writer gone) is skipped: opening it
    to advise the kernel must not wait for a writer, and a pipe has no cached pages."""

    fifo = tmp_path / "transactions.csv"
    os.mkfifo(fifo)
    advised = []
    monkeypatch.setattr(page_cache.os, "posix_fadvise", lambda *a: advised.append(a))
    done = threading.Thread(target=page_cache.release, args=([fifo],), daemon=True)
    done.start()
    done.join(timeout=5)
    assert not done.is_alive()
    assert advised == []


def test_read_input_without_posix_fadvise(tmp_path, monkeypatch):
    """Where the system has no posix_fadvise (macOS, Windows) nothing is released, all is read."""
    monkeypatch.delattr(page_cache.os, "posix_fadvise")
    assert read_input(company(tmp_path, tx(1, "purchase", cost=1))).transactions.height == 1


def test_optional_tables_absent(tmp_path):
    t = read_input(company(tmp_path))
    assert t.gl_entries is None
    assert t.gl_accounts.height == t.inventory_periods.height == t.accounting_periods.height == 0
    assert t.inventory_periods.schema == pl.Schema({"ending_date": pl.Date, "closed": pl.Boolean})


def test_required_table_with_header_only_is_valid(tmp_path):
    t = read_input(company(tmp_path))
    assert t.transactions.height == 0
    assert t.transactions.schema == pl.Schema(polars_schema(Transaction))


def test_missing_required_table_and_column(tmp_path):
    setup = "gen_bus_posting_group,gen_prod_posting_group,cogs_account\nDOMESTIC,RETAIL,7290\n"
    folder = company(tmp_path, items__csv=None, general_posting_setup__csv=setup)
    gps = "general_posting_setup"
    assert problems_of(validate_input(folder)) == [
        ("items", None, None, None, "required table missing (items.csv or items.parquet)"),
        *[(gps, None, col, None, "required column missing") for col in (
            "cogs_account_interim", "inventory_adjmt_account", "direct_cost_applied_account",
            "overhead_applied_account", "purchase_variance_account", "invt_accrual_acc_interim")],
    ]


def test_table_given_as_csv_and_parquet_is_an_error_r170_14(tmp_path):
    folder = company(tmp_path)
    pl.read_csv(folder / "items.csv").write_parquet(folder / "items.parquet")
    assert problems_of(validate_input(folder)) == [
        ("items", None, None, None, "given both as items.csv and items.parquet (R170.14)"),
    ]


def test_columns_only_some_rows_leave_blank_are_still_required(tmp_path):
    """quantity and unit_cost may be blank on some rows (item charges; sales), not absent: a
    file without quantity got "must be > 0" on every row. A G/L without document_no made every
    row a direct posting (R147). The contract's optional columns may be absent."""
    rows = "transaction_no,posting_date,type,item_no,document_no,gen_bus_posting_group\n" \
           "1,2020-01-01,purchase,A,P1,DOMESTIC\n"
    gl = "entry_no,posting_date,account_no,amount\n1,2020-01-01,2130,5\n"
    folder = company(tmp_path, transactions__csv=rows, gl_entries__csv=gl)
    assert problems_of(validate_input(folder)) == [
        ("transactions", None, "quantity", None, "required column missing"),
        ("transactions", None, "unit_cost", None, "required column missing"),
        ("gl_entries", None, "document_no", None, "required column missing"),
    ]


def test_parquet_rows_are_named_by_their_key(tmp_path):
    folder = company(tmp_path, items__csv=None, transactions__csv=None)
    pl.DataFrame({
        "item_no": ["A", "B"], "costing_method": ["FIFO", "FOO"],
        "inventory_posting_group": ["RESALE"] * 2, "gen_prod_posting_group": ["RETAIL"] * 2,
    }).write_parquet(folder / "items.parquet")
    pl.DataFrame({
        "transaction_no": [12, 13], "posting_date": [dt.date(2020, 1, 1)] * 2,
        "type": ["purchase", "sale"], "item_no": ["A", "A"], "quantity": [2.0, -1.0],
        "unit_cost": [1.5, None], "document_no": ["P1", "S1"],
        "gen_bus_posting_group": ["DOMESTIC"] * 2,
    }).write_parquet(folder / "transactions.parquet")
    pl.DataFrame({
        "entry_no": [5, 5], "posting_date": ["2020-01-01", "2020-02-31"],
        "account_no": ["02130", "7291"], "amount": [1.0, -1.0], "document_no": ["G1", "G1"],
    }).write_parquet(folder / "gl_entries.parquet")
    assert problems_of(validate_input(folder)) == [
        ("items", "item_no=B", "costing_method", "FOO",
         "must be one of FIFO, LIFO, AVERAGE, STANDARD, SPECIFIC"),
        ("transactions", "transaction_no=13", "quantity", "-1.0",
         "must be > 0 (R170.13: except item_charge, revaluation)"),
        ("gl_entries", "entry_no=5", "entry_no", "5", "must be unique"),
        ("gl_entries", "entry_no=5", "entry_no", "5", "must be unique"),
        ("gl_entries", "entry_no=5", "posting_date", "2020-02-31", "not a date (YYYY-MM-DD)"),
    ]


def test_parquet_input_reads_like_csv(tmp_path):
    csv = company(tmp_path / "csv", tx(1, "purchase", cost=1, qty=3), tx(2, "sale", applies=1))
    pq = tmp_path / "pq"
    shutil.copytree(csv, pq)
    for name in ("items", "transactions"):
        read = pl.read_csv(pq / f"{name}.csv", infer_schema=False)
        (pq / f"{name}.csv").unlink()
        read.write_parquet(pq / f"{name}.parquet")
    a, b = read_input(csv), read_input(pq)
    assert_frame_equal(a.transactions, b.transactions)
    assert_frame_equal(a.items, b.items)


def test_codes_stay_text_and_booleans_are_read(tmp_path):
    gl = "entry_no,posting_date,account_no,amount,document_no,description\n" \
         "1,2020-01-31,02130,-0.5,007,x\n"
    periods = "ending_date,closed\n2020-01-31,TRUE\n2020-02-29,false\n2020-03-31,maybe\n"
    folder = company(tmp_path, gl_entries__csv=gl, inventory_periods__csv=periods)
    assert problems_of(validate_input(folder)) == [
        ("inventory_periods", "4", "closed", "maybe", "not a boolean (true/false)"),
    ]
    (folder / "inventory_periods.csv").write_text(periods.replace("maybe", "0"))
    t = read_input(folder)
    # the entry's text is accepted and not kept: reconciliation reads none of it
    assert t.gl_entries.row(0) == (1, dt.date(2020, 1, 31), "02130", -0.5, "007")
    assert "description" not in t.gl_entries.columns
    assert t.inventory_periods["closed"].to_list() == [True, False, False]


def test_unreadable_csv_and_bad_settings_are_problems(tmp_path):
    folder = company(tmp_path, gl_accounts__csv="account_no,name\n2130,Inventory,extra\n",
                     settings__toml='average_cost_period = "fortnight"\n')
    found = problems_of(validate_input(folder))
    assert found[0] == ("settings.toml", None, "average_cost_period", "'fortnight'",
                        "invalid value")
    assert found[1][:4] == ("gl_accounts", None, None, None)
    assert found[1][4] == "cannot read gl_accounts.csv: line 2 has 3 fields, the header 2"
    assert len(found) == 2


def test_lines_without_any_value_are_not_rows(tmp_path):
    """A blank line, or one of only commas (spreadsheets leave them at the end), holds no data:
    it was reported as a row missing every required value. Later rows keep their line."""
    rows = [tx(1, "purchase", qty="10", cost="1"), "", tx(2, "sale", qty="0"),
            "," * TX_HEADER.count(","), "\r"]
    items = ITEMS + "\n,,,,,,,\n"
    folder = company(tmp_path, *rows, items__csv=items)
    assert problems_of(validate_input(folder)) == [
        ("transactions", "4", "quantity", "0",
         "must be > 0 (R170.13: except item_charge, revaluation)")]
    (folder / "transactions.csv").write_text("\n".join([TX_HEADER, *rows]).replace(",0,", ",4,"))
    t = read_input(folder)
    assert t.transactions.get_column("transaction_no").to_list() == [1, 2]
    assert t.items.height == 3
    # left out, not silently: the ingest asset shows the count in its metadata
    assert {k: v for k, v in t.empty_lines.items() if v} == {"transactions": 3, "items": 2}


def test_a_line_with_a_value_only_in_an_extra_column_is_a_row_not_an_empty_line(tmp_path):
    """Extra columns are ignored, but a line whose only value is in one holds data: a row
    missing its values, not an empty line. (So the reader reads them: skipping the G/L's
    descriptions would save 0.6 GB at 10M, but a reader told to skip columns also stops
    reporting a line with more fields than the header.)"""
    gl = ("entry_no,posting_date,account_no,amount,document_no,description\n"
          "1,2020-01-31,2130,-0.5,D1,x\n,,,,,only a text\n,,,,,\n2,2020-01-31,2130,0.5,D1,y\n")
    folder = company(tmp_path, gl_entries__csv=gl)
    assert problems_of(validate_input(folder)) == [
        ("gl_entries", "3", column, None, "value required")
        for column in ("entry_no", "posting_date", "account_no", "amount")]
    (folder / "gl_entries.csv").write_text(gl.replace(",,,,,only a text\n", ""))
    t = read_input(folder)
    assert t.gl_entries.get_column("entry_no").to_list() == [1, 2]
    assert t.empty_lines["gl_entries"] == 1


def test_an_unreadable_csv_names_the_line_contract_2(tmp_path):
    """The reader names no line for a record wider than the header, or bytes that are not
    UTF-8; both were one problem for the whole file. Lines count the breaks inside quoted
    values and blank lines."""
    names = 'account_no,name\n2130,"Inventory,\nraw"\r\n\r\n2131,Interim,x\n'
    folder = company(tmp_path, gl_accounts__csv=names)
    assert problems_of(validate_input(folder)) == [
        ("gl_accounts", None, None, None,
         "cannot read gl_accounts.csv: line 5 has 3 fields, the header 2")]
    (folder / "gl_accounts.csv").write_bytes(b"account_no,name\n2130,Inventory\n2131,B\xe9\n")
    assert problems_of(validate_input(folder)) == [
        ("gl_accounts", None, None, None,
         "cannot read gl_accounts.csv: line 3 is not UTF-8 (byte 0xe9)")]
    (folder / "gl_accounts.csv").unlink()
    (folder / "gl_accounts.csv").mkdir()  # crashed: no bytes to find the line in
    assert problems_of(validate_input(folder)) == [
        ("gl_accounts", None, None, None, "cannot read gl_accounts.csv: a folder, not a file")]


def test_settings_are_loaded(tmp_path):
    folder = company(tmp_path, settings__toml='average_cost_period = "month"\n')
    assert read_input(folder).settings.average_cost_period == "month"


def test_quarantine_sets_aside_bad_rows_and_their_dependents(tmp_path):
    rows = [
        tx(1, "purchase_receipt", qty=-5, cost=10),  # bad: quantity
        tx(2, "purchase_invoice", qty=5, cost=11, applies=1),  # invoices the rejected receipt
        tx(3, "sale", qty=2, applies=1),  # fixed application to it
        tx(4, "sales_return", qty=1, applies=3),  # returns that sale: two steps away
        tx(5, "purchase", qty=4, cost=2),
        tx(6, "sale", qty=1, doc=""),  # bad: no document
        tx(7, "sale", qty=1),
        tx(8, "item_charge", qty="", amount=3, applies=5),
    ]
    t = read_input(company(tmp_path, *rows), on_bad_rows="quarantine")
    assert t.transactions["transaction_no"].to_list() == [5, 7, 8]
    assert t.rejected_transactions.select("transaction_no", "reason").rows() == [
        (1, "quantity '-5': must be > 0 (R170.13: except item_charge, revaluation)"),
        (2, "applies_to 1: that transaction is rejected"),
        (3, "applies_to 1: that transaction is rejected"),
        (4, "applies_to 3: that transaction is rejected"),
        (6, "document_no: value required"),
    ]
    assert t.rejected_transactions.columns == columns(RejectedTransaction)
    assert t.rejected_transactions.row(0, named=True)["quantity"] == -5.0


def test_quarantine_keeps_unreadable_values_as_null(tmp_path):
    rows = [tx(1, "purchase", cost=1, date="01/02/2020"), tx(2, "purchase", cost=1)]
    t = read_input(company(tmp_path, *rows), on_bad_rows="quarantine")
    assert t.rejected_transactions.select("transaction_no", "posting_date", "reason").rows() == [
        (1, None, "posting_date '01/02/2020': not a date (YYYY-MM-DD)"),
    ]
    assert t.transactions["transaction_no"].to_list() == [2]


def test_quarantine_still_fails_on_master_data(tmp_path):
    items = "item_no,costing_method,inventory_posting_group,gen_prod_posting_group\n" \
            "A,FIFO,RESALE,RETAIL\nB,STANDARD,RESALE,RETAIL\n"
    folder = company(tmp_path, tx(1, "purchase", cost=1, doc=""), items__csv=items,
                     general_posting_setup__csv=GENERAL_POSTING_SETUP + "DOMESTIC,RETAIL," * 4
                     + "1\n")
    with pytest.raises(InputError) as err:
        read_input(folder, on_bad_rows="quarantine")
    assert [(p.table, p.row, p.column) for p in err.value.problems] == [
        ("items", "3", "standard_cost"),
        ("transactions", "2", "document_no"),
        ("general_posting_setup", "2", "gen_bus_posting_group, gen_prod_posting_group"),
        ("general_posting_setup", "3", "gen_bus_posting_group, gen_prod_posting_group"),
    ]


def test_missing_folder(tmp_path):
    missing = tmp_path / "nope"
    assert problems_of(validate_input(missing)) == [
        (str(missing), None, None, None, "input folder not found")]
    with pytest.raises(InputError):
        read_input(missing)


def test_on_bad_rows_must_be_known(tmp_path):
    with pytest.raises(ValueError, match="on_bad_rows"):
        read_input(company(tmp_path), on_bad_rows="ignore")


@needs_shared
@pytest.mark.parametrize("case", shared_case_names())
def test_examples_read_cleanly(tmp_path, case):
    folder = shutil.copytree(EXAMPLES / case, tmp_path / case)  # with expected.json and NOTES.md
    assert validate_input(folder) == []
    t = read_input(folder)
    expected_rows = len((EXAMPLES / case / "transactions.csv").read_text().splitlines()) - 1
    assert t.transactions.height == expected_rows
    assert t.items["costing_method"].is_in(["FIFO", "AVERAGE"]).all()
