"""The `invrec` command (contract §1): run, validate, generate.

`run` materializes the same Dagster definitions the UI shows, in process, into a staging folder next
to OUT, and moves the output tables into OUT only once the whole run succeeded.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import polars as pl

from pipelines.errors import InputError, Problem
from pipelines.pipeline import OUTPUT_TABLES, REJECTED_TABLE
from pipelines.staging import publish, staging_for

EXIT_OK, EXIT_INVALID_INPUT, EXIT_USAGE, EXIT_FAILURE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_CHECK_FAILED = 4  # every table written, but a blocking check failed at ERROR severity
# (a check of the last step: the tolerance, R156); one failing earlier stops the run: EXIT_FAILURE
SUMMARY_TABLES = ("inventory_valuation", "reconciliation", REJECTED_TABLE)  # read for the summary
PROG = "invrec"


# --- arguments -----------------------------------------------------------------------------------

def _iso_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def _path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no folder")
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inventory costing and inventory-to-G/L reconciliation, the way Business "
                    "Central adjusts and posts cost.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="cost, post, value and reconcile an input folder")
    run.add_argument("--data", metavar="DIR", type=_path,
                     help="input folder (default: the bundled sample)")
    run.add_argument("--out", metavar="DIR", type=_path, required=True, help="output folder")
    run.add_argument("--as-of", metavar="DATE", type=_iso_date,
                     help="inventory valuation date (default: the last posting date)")
    run.add_argument("--on-bad-rows", choices=["fail", "quarantine"], default="fail",
                     help="stop on any invalid row (fail) or set bad transactions aside")
    run.add_argument("--debug", action="store_true", help="show Dagster's log and tracebacks")

    validate = sub.add_parser("validate", help="check an input folder and list every problem")
    validate.add_argument("--data", metavar="DIR", type=_path,
                          help="input folder (default: the sample)")
    validate.add_argument("--debug", action="store_true", help="show tracebacks")

    gen = sub.add_parser("generate", help="write a synthetic input folder")
    gen.add_argument("--out", metavar="DIR", type=_path, required=True, help="folder to write")
    gen.add_argument("--transactions", metavar="N", type=_positive_int, required=True)
    gen.add_argument("--items", metavar="K", type=_positive_int)
    gen.add_argument("--seed", metavar="S", type=int)
    gen.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def command() -> NoReturn:
    """The installed `invrec` command: `main`, then the process ends without the interpreter's
    teardown, which frees Dagster's thousands of modules and objects one by one (0.4 s after
    the imports alone, 0.6-0.8 s after a run at 1M and 10M transactions, for nothing: the
    process ends). Everything a normal exit does for invrec still happens first: the exit
    handlers (logging's, weakref finalizers, file locks; `atexit._run_exitfuncs`) and the
    flush of stdout and stderr. The writer thread of the writes behind is idle by then (`_run`
    waited for every write)."""
    code = main()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a reader gone (`invrec validate | head`): 120, as Python's own exit says
        code = 120
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `invrec` (and of the tests); returns the exit code (argparse exits 2 on
    usage errors)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help exits 0, usage errors 2
        return int(exc.code or 0)
    command = {"run": _run, "validate": _validate, "generate": _generate}[args.command]
    try:
        with _terminate_as_interrupt():
            return command(args)
    except InputError as exc:
        _print_problems(exc)
        return EXIT_INVALID_INPUT
    except Exception as exc:  # one line, no traceback unless --debug (contract §1)
        if args.debug:
            traceback.print_exc()
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except BaseException as exc:  # Ctrl-C or SIGTERM: one line too; staging is gone by now
        if not _interrupted(exc):
            raise
        if args.debug:
            traceback.print_exc()
        print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM handled as Ctrl-C (Python's default ends the process at once, leaving the
    staging folder behind): the run stops the same way, cleaning up. Dagster maps SIGTERM to
    its SIGINT handler during a run as well."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can be set on the main thread only (tests call main anywhere)
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: BaseException) -> bool:
    """Whether `exc` is an interrupt: Python's, or Dagster's for a step stopped by one."""
    return isinstance(exc, KeyboardInterrupt) or (
        type(exc).__name__ == "DagsterExecutionInterruptedError")


# --- run -----------------------------------------------------------------------------------------

def _data_dir(args: argparse.Namespace) -> Path:
    from assets.resources import SAMPLE_DIR

    data = Path(args.data) if args.data else SAMPLE_DIR
    if not data.is_dir():
        why = "is a file, not a folder" if data.exists() else "does not exist"
        raise InputError([Problem(str(data), None, None, None, f"input folder {why}")])
    return data.resolve()


def _usage_error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _out_dir(args: argparse.Namespace) -> Path | str:
    """--out as a folder to write, or why it cannot be one (a usage error)."""
    out = Path(args.out).resolve()
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        return f"--out {args.out}: {existing} is a file, not a folder"
    return out


def _run(args: argparse.Namespace) -> int:
    from assets.io_manager import WRITES

    data = _data_dir(args)
    out = _out_dir(args)
    if isinstance(out, str):
        return _usage_error(out)
    if out == data:  # the tables written there would be read as input the next time
        return _usage_error(f"--out {args.out} is the input folder; write the tables elsewhere")
    tables = [*OUTPUT_TABLES, *([REJECTED_TABLE] if args.on_bad_rows == "quarantine" else [])]
    check_failure = None
    with staging_for(out) as staging:
        unsettled: list[str] = []
        with _quiet(args.debug):
            try:
                try:
                    unsettled = _materialize(data, staging, tables, args)
                except BaseException:  # no write still going when staging is read; the
                    WRITES.wait(raise_failure=False)  # run's own failure is the one told
                    raise
                WRITES.wait()  # done by the last table's step, unless it was never handed over
            except Exception as exc:
                # a blocking check at ERROR (reconciliation_severity = "error") fails the run
                # after every table was written: the controller gets them, and the exit code
                check_failure = _check_failure(exc)
                if check_failure is None:
                    raise
        missing = [t for t in tables if not (staging / f"{t}.parquet").is_file()]
        if missing and check_failure is not None:  # a guarantee broken on the way: none published
            print(f"invrec: error: {check_failure}", file=sys.stderr)
            return EXIT_FAILURE
        if missing:
            raise RuntimeError(f"the run did not produce {', '.join(missing)}")
        # only now: a failed run leaves OUT as it was
        publish(staging, out, [f"{table}.parquet" for table in tables])
        if args.on_bad_rows != "quarantine":  # a stale quarantine from an earlier run would mislead
            (out / f"{REJECTED_TABLE}.parquet").unlink(missing_ok=True)
    # row counts from the files' footers: reading the ledgers whole to count them took 15 s
    rows = {t: pl.scan_parquet(out / f"{t}.parquet").select(pl.len()).collect().item()
            for t in tables}
    shown = {t: pl.read_parquet(out / f"{t}.parquet") for t in SUMMARY_TABLES if t in tables}
    # R132 reads the default valuation, which holds every value entry (R131): told beside the
    # valuation as of --as-of
    default_value = None if args.as_of is None else round(
        pl.scan_parquet(out / "value_entries.parquet")
        .select(pl.sum_horizontal(pl.col("cost_amount_actual", "cost_amount_expected").sum()))
        .collect().item(), 2)
    print(summary(rows, shown, data, out, args.as_of, unsettled, default_value))
    rejected = shown.get(REJECTED_TABLE)
    if rejected is not None and rejected.height:
        for row in rejected.select("transaction_no", "reason").iter_rows():
            print(f"rejected transaction_no {row[0]}: {row[1]}", file=sys.stderr)
        return EXIT_INVALID_INPUT  # invalid input, rejected rows in rejected_transactions
    if check_failure is not None:
        print(f"invrec: error: {check_failure}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK


def _materialize(data: Path, staging: Path, tables: list[str],
                 args: argparse.Namespace) -> list[str]:
    """Every asset and check of the code location but the monthly report (`cli_job`), the IO
    manager rooted in staging and writing only `tables` (the rest of staging would be thrown
    away: the other assets are handed over in memory). Returns the items cost adjustment left
    alone (R60, the costs_settled check)."""
    import dagster as dg

    from assets.costing import COSTS_SETTLED
    from assets.definitions import cli_job
    from assets.resources import RESOURCE_KEY

    level = "DEBUG" if args.debug else "CRITICAL"
    config = {"data_dir": str(data), "as_of": args.as_of, "on_bad_rows": args.on_bad_rows}
    with _dagster_home():
        try:
            with dg.DagsterInstance.ephemeral() as instance:
                result = dg.execute_job(
                    dg.reconstructable(cli_job), instance=instance, raise_on_error=True,
                    run_config={
                        "resources": {RESOURCE_KEY: {"config": config},
                                      "io_manager": {"config": {"base_dir": str(staging),
                                                                "persist": tables,
                                                                "write_behind": True}}},
                        "loggers": {"console": {"config": {"log_level": level}}},
                    },
                    tags={"invrec/source": "cli"},
                )
                return [item for check in result.get_asset_check_evaluations()
                        if check.check_name == COSTS_SETTLED and not check.passed
                        for item in check.metadata["item_nos"].value]
        except Exception as exc:
            cause = _input_error(exc)
            if cause is not None and cause is not exc:
                raise cause from exc
            raise


def _check_failure(exc: BaseException) -> str | None:
    """The message of a failed blocking asset check behind `exc`, if that is what failed."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if type(exc).__name__ == "DagsterAssetCheckFailedError":
            return " ".join(str(exc).split())
        exc = getattr(exc, "user_exception", None) or exc.__cause__ or exc.__context__
    return None


def _input_error(exc: BaseException) -> InputError | None:
    """The InputError behind a Dagster step failure (user_exception or the cause chain), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, InputError):
            return exc
        exc = getattr(exc, "user_exception", None) or exc.__cause__ or exc.__context__
    return None


@contextlib.contextmanager
def _dagster_home() -> Iterator[None]:
    """A throwaway DAGSTER_HOME when none is set, so Dagster warns about nothing."""
    if os.environ.get("DAGSTER_HOME"):
        yield
        return
    home = tempfile.mkdtemp(prefix="invrec-dagster-home-")
    os.environ["DAGSTER_HOME"] = home
    try:
        yield
    finally:
        os.environ.pop("DAGSTER_HOME", None)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def _quiet(debug: bool) -> Iterator[None]:
    """Keep Dagster's output off stdout (the summary must be readable) and its warnings away."""
    if debug:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        yield


def summary(rows: dict[str, int], frames: dict[str, pl.DataFrame], data: Path, out: Path,
            as_of: str | None, unsettled: Sequence[str] = (),
            default_value: float | None = None) -> str:
    """Rows per table, inventory value (R132; with `as_of`, the default valuation's
    `default_value` and the valuation as of that date), all-time reconciliation difference by
    account, and the items whose costs did not settle (R60); `frames` holds the
    SUMMARY_TABLES."""
    from assets.reconciliation import all_time
    from assets.valuation import inventory_value

    lines = [f"invrec run: {data} -> {out}", "rows per table:"]
    width = max(len(t) for t in rows)
    lines += [f"  {t:<{width}}  {n:>10,}" for t, n in rows.items()]
    valuation = frames["inventory_valuation"]
    if as_of and default_value is not None:
        lines.append(f"inventory value (as of the last posting date): {default_value:,.2f}")
    when = f"as of {as_of}" if as_of else "as of the last posting date"
    lines.append(f"inventory value ({when}): {inventory_value(valuation):,.2f}")
    accounts = all_time(frames["reconciliation"])
    differing = accounts.filter(pl.col("difference").abs() >= 0.005)
    lines.append(f"reconciliation differences by account (all time): "
                 f"{differing.height} of {accounts.height} accounts differ")
    for acc, role, sub, gl, diff in accounts.iter_rows():
        lines.append(f"  {acc:<10} {role:<28} subledger {sub:>14,.2f}  G/L {gl:>14,.2f}  "
                     f"difference {diff:>12,.2f}")
    if unsettled:
        lines.append(f"cost adjustment: {len(unsettled)} item(s) did not settle in 100 rounds "
                     f"and were left unadjusted (R60): {', '.join(unsettled)}")
    return "\n".join(lines)


# --- validate and generate ------------------------------------------------------------------------

def _validate(args: argparse.Namespace) -> int:
    from pipelines.pipeline import input_problems

    data = _data_dir(args)
    problems = input_problems(data)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {data}")
        return EXIT_INVALID_INPUT
    print(f"{data}: no problems found")
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate

    options = {k: v for k, v in (("items", args.items), ("seed", args.seed)) if v is not None}
    out = _out_dir(args)
    if isinstance(out, str):
        return _usage_error(out)
    made = generate(Path(args.out), args.transactions, **options)
    print(f"wrote a synthetic input folder of about {args.transactions:,} transactions "
          f"to {args.out}")
    for note in made.notes:  # e.g. too few documents to plant G/L discrepancies in
        print(f"note: {note}")
    return EXIT_OK


def _print_problems(exc: InputError) -> None:
    for p in exc.problems:
        print(p, file=sys.stderr)
    print(f"{PROG}: {len(exc.problems)} input problem(s); nothing written", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]


if __name__ == "__main__":
    sys.exit(main())
