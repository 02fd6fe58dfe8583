"""`invrec` in process through main(argv), plus one run of the installed entry point."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

import assets.cli as cli
from assets.cli import main
from assets.io_manager import PolarsParquetIOManager
from assets.valuation import VALUATION_REPORT
from pipelines.pipeline import OUTPUT_TABLES
from schemas.base import columns, polars_schema
from schemas.gl import (
    GLEntry,
    InventoryValuation,
    Reconciliation,
    ReconciliationVariance,
)
from schemas.inputs import RejectedTransaction
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry
from tests._ingest_company import GENERAL_POSTING_SETUP, company, tx
from tests._run_company import (
    AS_OF_JANUARY,
    INVENTORY_VALUE,
    INVENTORY_VALUE_JANUARY,
    bad_company,
    small_company,
)

CONTRACT_MODELS = {
    "item_ledger_entries": ItemLedgerEntry,
    "item_application_entries": ItemApplicationEntry,
    "value_entries": ValueEntry,
    "gl_entries": GLEntry,
    "inventory_valuation": InventoryValuation,
    "reconciliation": Reconciliation,
    "reconciliation_variance": ReconciliationVariance,
}


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.name: p.read_bytes() if p.is_file() else None for p in sorted(folder.iterdir())}


def _no_staging_left(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".staging-" in p.name]


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> tuple[Path, int, str, str]:
    """One successful run shared by the read-only tests: (OUT, exit code, stdout, stderr)."""
    root = tmp_path_factory.mktemp("run")
    data = small_company(root / "in")
    out = root / "deep" / "out"  # parents created
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", "--data", str(data), "--out", str(out)])
    return out, code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.slow
def test_run_writes_every_contract_table(ran) -> None:
    out, code, stdout, stderr = ran
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in OUTPUT_TABLES)
    for table, model in CONTRACT_MODELS.items():
        # names and types (contract §4): texts as text, even where costing holds them as
        # Categorical on the way
        written = pl.read_parquet(out / f"{table}.parquet")
        assert written.columns == columns(model), table
        assert written.schema == pl.Schema({
            name: pl.String if dtype == pl.Categorical else dtype
            for name, dtype in polars_schema(model).items()}), table
    assert _no_staging_left(out.parent)


@pytest.mark.slow
def test_run_computes_only_what_it_writes_and_holds_no_frame_at_the_end(tmp_path: Path,
                                                                        monkeypatch) -> None:
    """`invrec run` leaves the monthly report out (no table of the contract), and hands every
    frame it keeps in memory over to its last reader: none is left held when the run ends."""
    managers, outputs = [], []
    handle_output = PolarsParquetIOManager.handle_output

    def spy(self, context, obj) -> None:
        managers.append(self)
        outputs.append(context.asset_key.to_user_string())
        handle_output(self, context, obj)

    monkeypatch.setattr(PolarsParquetIOManager, "handle_output", spy)
    data = small_company(tmp_path / "in")
    assert main(["run", "--data", str(data), "--out", str(tmp_path / "out")]) == 0
    assert set(OUTPUT_TABLES) <= set(outputs)
    assert VALUATION_REPORT not in outputs
    assert [m._held for m in managers] == [{}] * len(managers)


@pytest.mark.slow
def test_run_prints_a_readable_summary(ran) -> None:
    out, _, stdout, _ = ran
    assert f"inventory value (as of the last posting date): {INVENTORY_VALUE:,.2f}" in stdout
    rows = dict(re.findall(r"^  (\w+) +([\d,]+)$", stdout, re.M))
    assert rows["item_ledger_entries"] == str(pl.read_parquet(
        out / "item_ledger_entries.parquet").height) == "4"
    assert set(rows) == set(OUTPUT_TABLES)
    assert "0 of 9 accounts differ" in stdout
    assert "dagster" not in stdout.lower()  # Dagster's log stays off stdout
    ile = pl.read_parquet(out / "item_ledger_entries.parquet")
    assert ile["remaining_quantity"].sum() == 3.0


@pytest.mark.slow
def test_run_as_of_and_rerun_replaces_outputs(ran, capsys) -> None:
    out, *_ = ran
    code = main(["run", "--data", str(out.parent.parent / "in"), "--out", str(out),
                 "--as-of", AS_OF_JANUARY])
    stdout = capsys.readouterr().out
    assert code == 0
    assert f"inventory value (as of {AS_OF_JANUARY}): {INVENTORY_VALUE_JANUARY:,.2f}" in stdout
    # R132's default valuation too, every value entry
    assert f"inventory value (as of the last posting date): {INVENTORY_VALUE:,.2f}" in stdout
    valuation = pl.read_parquet(out / "inventory_valuation.parquet")
    assert valuation["cost_amount_actual"].sum() == INVENTORY_VALUE_JANUARY


@pytest.mark.slow
def test_invalid_input_exits_1_and_leaves_out_untouched(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", "--data", str(small_company(tmp_path / "good")), "--out", str(out)]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    code = main(["run", "--data", str(bad_company(tmp_path / "bad")), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "transactions row 3, column posting_date, value '2020-02-30'" in err
    assert "not a date" in err
    assert _snapshot(out) == before
    assert _no_staging_left(tmp_path)


def test_invalid_input_writes_nothing_to_a_new_out(tmp_path: Path, capsys) -> None:
    """Not even OUT's missing parents: staging goes into the nearest folder there is."""
    out = tmp_path / "new" / "out"
    assert main(["run", "--data", str(bad_company(tmp_path / "bad")), "--out", str(out)]) == 1
    assert not (tmp_path / "new").exists()
    assert _no_staging_left(tmp_path)


@pytest.mark.parametrize("interrupt", ["KeyboardInterrupt", "DagsterExecutionInterruptedError",
                                       "SIGTERM"])
def test_an_interrupted_run_says_so_in_one_line_and_writes_nothing(
        tmp_path: Path, capsys, monkeypatch, interrupt: str) -> None:
    """Ctrl-C (Python's KeyboardInterrupt, or Dagster's error for a step it stopped) and SIGTERM
    (which by default would end the process at once, staging folder left behind) end the run
    with 130 and one line, OUT as it was and no staging left."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "reconciliation.parquet").write_bytes(b"earlier run")
    handler = signal.getsignal(signal.SIGTERM)

    def stopped(*args, **kwargs):
        if interrupt == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)
        raise {"KeyboardInterrupt": KeyboardInterrupt,
               "DagsterExecutionInterruptedError": dg.DagsterExecutionInterruptedError,
               "SIGTERM": AssertionError}[interrupt]()

    monkeypatch.setattr(cli, "_materialize", stopped)
    data = str(small_company(tmp_path / "in"))
    assert main(["run", "--data", data, "--out", str(out)]) == 130
    assert capsys.readouterr().err == "invrec: interrupted; nothing written\n"
    assert _snapshot(out) == {"reconciliation.parquet": b"earlier run"}
    assert _no_staging_left(tmp_path)
    assert signal.getsignal(signal.SIGTERM) is handler  # as it was before the command


@pytest.mark.slow
def test_failure_mid_run_leaves_out_untouched(tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "out"
    data = small_company(tmp_path / "in")
    assert main(["run", "--data", str(data), "--out", str(out)]) == 0
    before = _snapshot(out)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("assets.reconciliation.reconcile", broken)
    capsys.readouterr()
    code = main(["run", "--data", str(data), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3
    assert err.strip() == "invrec: error: RuntimeError: disk on fire second line"
    assert _snapshot(out) == before
    assert _no_staging_left(tmp_path)


@pytest.mark.slow
def test_a_folder_in_a_tables_place_fails_before_any_table_moves(tmp_path: Path, capsys) -> None:
    """The tables move into OUT one by one: a folder where one goes stopped the move half way,
    with the tables before it new and the rest old. Now nothing moves."""
    out = tmp_path / "out"
    data = small_company(tmp_path / "in")
    assert main(["run", "--data", str(data), "--out", str(out)]) == 0
    (out / "reconciliation.parquet").unlink()
    (out / "reconciliation.parquet").mkdir()
    before = _snapshot(out)
    capsys.readouterr()
    assert main(["run", "--data", str(data), "--out", str(out), "--as-of", "2020-01-01"]) == 3
    assert "reconciliation.parquet is a folder, not a file: nothing written" in (
        capsys.readouterr().err)
    assert _snapshot(out) == before
    assert _no_staging_left(tmp_path)


def test_out_must_be_a_folder_other_than_the_input(tmp_path: Path, capsys) -> None:
    """--out naming a file, or the input folder itself (whose next read would take the tables
    written there for input: gl_entries.parquet beside gl_entries.csv, R170.14), is a usage
    error; nothing is written."""
    data = small_company(tmp_path / "in")
    before = sorted(p.name for p in data.iterdir())
    (tmp_path / "file").write_text("x")
    for argv, said in (
            (["run", "--data", str(data), "--out", str(tmp_path / "file")], "is a file"),
            (["run", "--data", str(data), "--out", str(data)], "is the input folder"),
            (["generate", "--out", str(tmp_path / "file"), "--transactions", "10"],
             "is a file"),
            (["run", "--data", str(data), "--out", str(tmp_path / "file" / "sub")],
             f"{tmp_path / 'file'} is a file, not a folder")):
        assert main(argv) == 2
        assert said in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == before
    assert (tmp_path / "file").read_text() == "x"


def test_other_failure_is_one_line_unless_debug(tmp_path: Path, capsys, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(cli, "_materialize", broken)
    data = str(small_company(tmp_path / "in"))
    assert main(["run", "--data", data, "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert err == "invrec: error: OSError: no space left\n"
    assert main(["run", "--data", data, "--out", str(tmp_path / "o"), "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.slow
def test_quarantine_writes_rejected_rows_and_exits_1(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["run", "--data", str(bad_company(tmp_path / "bad")), "--out", str(out),
                 "--on-bad-rows", "quarantine"])
    err = capsys.readouterr().err
    assert code == 1
    rejected = pl.read_parquet(out / "rejected_transactions.parquet")
    assert rejected.columns == columns(RejectedTransaction)
    assert rejected["transaction_no"].to_list() == [2]
    assert "rejected transaction_no 2" in err
    assert (out / "gl_entries.parquet").is_file()


@pytest.mark.parametrize("argv", [
    [],
    ["run"],
    ["run", "--out", "x", "--as-of", "2020-13-01"],
    ["run", "--out", "x", "--on-bad-rows", "skip"],
    ["frobnicate"],
    ["generate", "--out", "x", "--transactions", "0"],
    ["run", "--out", ""],  # an empty path is no folder (not the current one)
    ["run", "--data", " ", "--out", "x"],
    ["validate", "--data", ""],
    ["generate", "--out", "", "--transactions", "10"],
])
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    assert "usage: invrec" in capsys.readouterr().err


def test_validate(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--data", str(small_company(tmp_path / "good"))]) == 0
    assert "no problems found" in capsys.readouterr().out
    bad = bad_company(tmp_path / "bad")
    assert main(["validate", "--data", str(bad)]) == 1
    stdout = capsys.readouterr().out
    assert "transactions row 3, column posting_date, value '2020-02-30': not a date" in stdout
    assert "1 problem(s)" in stdout
    assert sorted(p.name for p in bad.iterdir()) == sorted(
        ["items.csv", "transactions.csv", "inventory_posting_setup.csv",
         "general_posting_setup.csv"])


# R43: the return names purchase 2, whose 10 units the sale of 15 took 5 of (CSV line 5)
FIXED_BEYOND_REMAINING = (
    tx(1, "purchase", qty="10", cost="1"), tx(2, "purchase", qty="10", cost="2"),
    tx(3, "sale", qty="15"), tx(4, "purchase_return", qty="10", applies="2"))
R43_LINE = ("transactions row 5, column applies_to, value '2': R43: the entry it applies to has "
            "less remaining quantity than needed when this row is posted")


@pytest.mark.parametrize(("rows", "files", "problem"), [
    (FIXED_BEYOND_REMAINING, {}, R43_LINE),
    ((tx(1, "purchase", qty="10", cost="1"), tx(2, "transfer", qty="15", to="BLUE")),
     {}, "transactions row 3, column quantity, value '15': R46: not enough stock at location '' "
         "to transfer (only 10 on hand)"),
    ((tx(1, "purchase", qty="10", cost="1"),),
     {"general_posting_setup.csv": GENERAL_POSTING_SETUP.replace("DOMESTIC", "EXPORT")},
     "R122: no general_posting_setup row for gen_bus_posting_group='DOMESTIC', "
     "gen_prod_posting_group='RETAIL'; direct_cost_applied_account (direct_cost_applied) needed "
     "by transaction_no 1"),
], ids=["R43", "R46", "R122"])
def test_validate_finds_what_only_posting_finds(tmp_path: Path, capsys, rows, files,
                                                problem) -> None:
    """R160's errors that quantity application or posting finds: validate reports them as run
    does, the row by its CSV line (contract §2), and writes nothing."""
    data = company(tmp_path / "in", *rows, **files)
    before = _snapshot(data)
    assert main(["validate", "--data", str(data)]) == 1
    assert problem in capsys.readouterr().out
    assert main(["run", "--data", str(data), "--out", str(tmp_path / "out")]) == 1
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert _snapshot(data) == before



def test_validate_names_the_problems_of_every_stage_at_once(tmp_path: Path, capsys) -> None:
    """A row ingest refuses (line 6), a fixed application costing refuses (R43, line 5) and a
    location without inventory posting setup (R122, GREEN): one validate names all three, the
    later stages' on the rows the earlier ones let through, as quarantine posts them."""
    data = company(tmp_path / "in", *FIXED_BEYOND_REMAINING, tx(5, "sale", qty="x"),
                   tx(6, "purchase", qty="1", cost="1", loc="GREEN"))
    assert main(["validate", "--data", str(data)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "transactions row 6, column quantity, value 'x': not a number"
    assert lines[1] == R43_LINE
    assert lines[2].startswith("inventory_posting_setup row location_code='GREEN'")
    assert "needed by transaction_no 6" in lines[2]
    assert lines[3:] == [f"3 problem(s) in {data.resolve()}"]

def test_a_blank_account_is_an_error_only_where_a_value_entry_needs_it_r122(
        tmp_path: Path, capsys) -> None:
    """R122, R170.12: interim accounts blank while expected cost is not posted, and overhead and
    variance accounts blank in a company without overhead or STANDARD variances, are valid (they
    were "value required"); once a value entry needs one, the run names it."""
    head, row = GENERAL_POSTING_SETUP.splitlines()
    blanks = ",".join(v if c in ("gen_bus_posting_group", "gen_prod_posting_group", "cogs_account",
                                 "inventory_adjmt_account", "direct_cost_applied_account") else ""
                      for c, v in zip(head.split(","), row.split(","), strict=True))
    files = {"general_posting_setup__csv": f"{head}\n{blanks}\n",
             "inventory_posting_setup__csv": "location_code,inventory_posting_group,"
             "inventory_account,inventory_account_interim\n,RESALE,2130,\n",
             "settings__toml": "expected_cost_posting_to_gl = false\n"}
    rows = (tx(1, "purchase_receipt", qty="10", cost="3"), tx(2, "sale", qty="4"))
    out = tmp_path / "out"
    assert main(["run", "--data", str(company(tmp_path / "ok", *rows, **files)),
                 "--out", str(out)]) == 0
    accounts = pl.read_parquet(out / "reconciliation.parquet").get_column("account_no")
    assert sorted(accounts.unique().to_list()) == ["2130", "7270", "7290", "7291"]
    variance = (*rows, tx(3, "purchase", item="S", qty="1", cost="16"))
    assert main(["validate", "--data", str(company(tmp_path / "std", *variance, **files))]) == 1
    assert ("R122: purchase_variance_account is blank for gen_bus_posting_group='DOMESTIC', "
            "gen_prod_posting_group='RETAIL'; purchase_variance_account (purchase_variance) "
            "needed by transaction_no 3") in capsys.readouterr().out


def test_rows_after_a_quoted_line_break_are_named_by_their_line(tmp_path: Path, capsys) -> None:
    """Contract §2: the row is the CSV line. A document_no quoted over two lines moves every
    later record a line down: they were named by record (line - 1). Both for ingest's checks
    and for what posting finds (R43, named through transaction_no)."""
    rows = (tx(1, "purchase", qty="10", cost="1", doc='"P\n1"'), *FIXED_BEYOND_REMAINING[1:])
    data = company(tmp_path / "bad", *rows, tx(5, "sale", qty="0"))
    assert main(["validate", "--data", str(data)]) == 1
    assert "transactions row 7, column quantity, value '0': must be > 0" in \
        capsys.readouterr().out
    assert main(["validate", "--data", str(company(tmp_path / "r43", *rows))]) == 1
    assert R43_LINE.replace("row 5", "row 6") in capsys.readouterr().out


def test_a_parquet_row_after_ingest_is_named_by_its_key(tmp_path: Path, capsys) -> None:
    data = company(tmp_path / "in", *FIXED_BEYOND_REMAINING)
    transactions = data / "transactions.csv"
    pl.read_csv(transactions).write_parquet(data / "transactions.parquet")
    transactions.unlink()
    assert main(["validate", "--data", str(data)]) == 1
    assert R43_LINE.replace("row 5", "row transaction_no=4") in capsys.readouterr().out


def test_missing_data_folder_is_invalid_input(tmp_path: Path, capsys) -> None:
    assert main(["validate", "--data", str(tmp_path / "nowhere")]) == 1
    assert "input folder does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["validate", "--data", str(tmp_path / "file")]) == 1
    assert "input folder is a file, not a folder" in capsys.readouterr().err


def test_generate_calls_the_generator(tmp_path: Path, capsys, monkeypatch) -> None:
    calls = []
    notes = ["no gl_entries.csv: too few documents to plant discrepancies in"]
    monkeypatch.setattr("pipelines.generate.generate", lambda out, n, **kw: (
        calls.append((out, n, kw)), SimpleNamespace(notes=notes))[1])
    assert main(["generate", "--out", str(tmp_path / "g"), "--transactions", "500",
                 "--items", "7", "--seed", "3"]) == 0
    assert calls == [(tmp_path / "g", 500, {"items": 7, "seed": 3})]
    assert capsys.readouterr().out.endswith(f"note: {notes[0]}\n")  # the generator's notes


@pytest.mark.slow
def test_installed_entry_point(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "invrec"
    assert exe.is_file(), "invrec is not installed in the environment (uv sync)"
    data = small_company(tmp_path / "in")
    proc = subprocess.run([str(exe), "run", "--data", str(data), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("invrec run: ")
    assert f"{INVENTORY_VALUE:,.2f}" in proc.stdout
    assert (tmp_path / "out" / "reconciliation.parquet").is_file()


# a Python process from the repository, its output buffered as a user's would be (this
# machine sets PYTHONUNBUFFERED, which would hide a missing flush)
_BUFFERED = {"cwd": Path(__file__).resolve().parents[1],
             "env": {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}}


def test_the_command_ends_with_mains_exit_code_after_exit_handlers_and_flushes(
        tmp_path: Path) -> None:
    """The installed command skips the interpreter's teardown (`command`), not what a normal
    exit does for invrec: exit handlers run, buffered output reaches the pipe, the exit code is
    main's (1: invalid input)."""
    data = small_company(tmp_path / "in")
    (data / "items.csv").write_text("item_no,costing_method\nA,NOPE\n")
    marker = tmp_path / "exit_handler_ran"
    script = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        f"sys.argv = ['invrec', 'validate', '--data', {str(data)!r}]\n"
        "print('x' * 100_000)\n"  # more than a pipe's buffer, still held by Python's
        "from assets.cli import command\n"
        "command()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, **_BUFFERED)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("x" * 100_000 + "\n")
    assert proc.stdout.endswith(f"2 problem(s) in {data.resolve()}\n")  # the last line
    assert marker.read_text() == "yes"


def test_the_command_ends_with_120_when_its_reader_is_gone(tmp_path: Path) -> None:
    """Output that cannot be flushed (the reading end of the pipe closed, `| head`) ends the
    command with 120 and no traceback, as Python's own exit does."""
    data = small_company(tmp_path / "in")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from assets.cli import command; "
         f"sys.argv = ['invrec', 'validate', '--data', {str(data)!r}]; command()"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **_BUFFERED)
    proc.stdout.close()  # before the child has written anything
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 120
    assert b"Traceback" not in err


def test_without_data_the_bundled_sample_is_used(tmp_path: Path, capsys, monkeypatch) -> None:
    sample = small_company(tmp_path / "sample")
    monkeypatch.setattr("assets.resources.SAMPLE_DIR", sample)
    assert main(["validate"]) == 0
    assert f"{sample.resolve()}: no problems found" in capsys.readouterr().out


def test_a_broken_guarantee_stops_the_run_and_publishes_nothing(tmp_path, monkeypatch) -> None:
    """The product's own checks are blocking: G/L entries that do not balance (R126) were
    written with exit 0 and the check red only in the UI. Now the run stops there, OUT keeps what
    it had, and the one line names the check."""
    import assets.gl

    def unbalanced(gl):
        return dg.AssetCheckResult(passed=False, asset_key=assets.gl.GL_ENTRIES,
                                   check_name=assets.gl.BALANCE_CHECK)

    monkeypatch.setattr(assets.gl, "balance_result", unbalanced)
    data, out = small_company(tmp_path / "in"), tmp_path / "out"
    out.mkdir()
    (out / "reconciliation.parquet").write_bytes(b"an earlier run's table")
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = main(["run", "--data", str(data), "--out", str(out)])
    assert code == cli.EXIT_FAILURE
    assert stderr.getvalue().splitlines() == [
        "invrec: error: 1 blocking asset check failed with ERROR severity: "
        "gl_entries: gl_entries_balance_per_value_entry"]
    assert [p.name for p in out.iterdir()] == ["reconciliation.parquet"]
    assert (out / "reconciliation.parquet").read_bytes() == b"an earlier run's table"
    assert _no_staging_left(tmp_path)


@pytest.mark.slow
def test_reconciliation_over_tolerance_at_error_writes_everything_and_exits_4(tmp_path) -> None:
    """reconciliation_severity = "error": the blocking check fails the run, yet every table is
    written (the controller needs them to see why) and the exit code says so, in one line."""
    from tests.test_reconciliation_checks import EXTERNAL_GL

    data = small_company(tmp_path / "in", gl_entries__csv=EXTERNAL_GL,
                         settings__toml='reconciliation_severity = "error"\n')
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = main(["run", "--data", str(data), "--out", str(tmp_path / "out")])
    assert code == cli.EXIT_CHECK_FAILED == 4
    assert stderr.getvalue().splitlines() == [
        "invrec: error: 1 blocking asset check failed with ERROR severity: "
        "reconciliation: reconciliation_within_tolerance"]
    assert {p.stem for p in (tmp_path / "out").iterdir()} == set(OUTPUT_TABLES)
    assert _no_staging_left(tmp_path)


def test_ctrl_c_while_the_command_loads_is_one_line(monkeypatch, capsys) -> None:
    """The installed command loads `assets.cli` (polars, Dagster: about a second) from a light
    module: a Ctrl-C meanwhile ends with 130 and one line, not a traceback of the imports."""
    from assets.entry import command

    class Loading:
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "assets.cli", Loading())
    with pytest.raises(SystemExit) as stop:
        command()
    assert stop.value.code == 130
    assert capsys.readouterr().err == "invrec: interrupted; nothing written\n"
