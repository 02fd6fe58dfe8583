"""Read and validate the input folder (contract §2) into typed tables; quarantine bad transactions.

CSV columns are read as text, so codes such as "02130" stay text and every value that is not of
its column's type is reported with its CSV line (header = line 1). Parquet rows are named by their
key (`transaction_no=12`). All problems are collected before anything is raised (R160).

Speed: numeric CSV columns are first parsed by the CSV reader itself (parallel, no text copy). That
reader accepts no value the text path rejects, except non-finite numbers, which the typed checks
flag; so a folder without problems reads the same either way, and a folder with any problem is read
again as text, so messages quote values exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandera.polars as pa
import polars as pl

from pipelines import page_cache
from pipelines.csv_lines import record_lines, why_unreadable
from pipelines.errors import InputError, Problem, keyed_transaction
from pipelines.posting import GENERAL_SETUP, INVENTORY_SETUP, setup_account_numbers
from pipelines.settings import SETTINGS_FILE, Settings, load_settings
from pipelines.validation import (
    PROBLEM_SCHEMA,
    flag,
    gl_entry_problems,
    no_problems,
    problem,
    schema_problems,
    transaction_problems,
)
from schemas.base import conform, empty, polars_schema
from schemas.inputs import (
    QUANTITY_DECIMALS,
    AccountingPeriod,
    GeneralPostingSetup,
    GLAccount,
    GLEntry,
    InventoryPeriod,
    InventoryPostingSetup,
    Item,
    RejectedTransaction,
    Transaction,
)

OnBadRows = Literal["fail", "quarantine"]


@dataclass(frozen=True)
class TableSpec:
    model: type[pa.DataFrameModel]
    required: bool
    key: str | None  # names a Parquet row in messages
    # copied into one chunk after the cast (the CSV reader gives hundreds): the transactions'
    # checks and costing gather and join them dozens of times. The G/L is filtered and hashed
    # a few times only, as fast in chunks: at 10M, 0.5 s and 0.8 GB of fresh pages saved
    one_chunk: bool = True


TABLES: dict[str, TableSpec] = {
    "items": TableSpec(Item, True, "item_no"),
    "transactions": TableSpec(Transaction, True, "transaction_no"),
    "inventory_posting_setup": TableSpec(InventoryPostingSetup, True, None),
    "general_posting_setup": TableSpec(GeneralPostingSetup, True, None),
    "gl_accounts": TableSpec(GLAccount, False, "account_no"),
    "inventory_periods": TableSpec(InventoryPeriod, False, "ending_date"),
    "accounting_periods": TableSpec(AccountingPeriod, False, "starting_date"),
    "gl_entries": TableSpec(GLEntry, False, "entry_no", one_chunk=False),
}
_TRUE = ["true", "1", "yes", "y"]
_FALSE = ["false", "0", "no", "n"]


@dataclass(frozen=True)
class InputTables:
    items: pl.DataFrame  # schemas.inputs.Item columns, defaults filled
    transactions: pl.DataFrame  # schemas.inputs.Transaction, sorted by transaction_no
    inventory_posting_setup: pl.DataFrame
    general_posting_setup: pl.DataFrame
    gl_accounts: pl.DataFrame  # empty frame when absent
    inventory_periods: pl.DataFrame  # empty frame when absent
    accounting_periods: pl.DataFrame  # empty frame when absent
    gl_entries: pl.DataFrame | None  # None when absent: reconcile against our own G/L
    settings: Settings
    rejected_transactions: pl.DataFrame  # schemas.inputs.RejectedTransaction
    # per CSV table, the lines without any value left out (blank lines, lines of only commas)
    empty_lines: dict[str, int]


@dataclass
class _Loaded:
    """Everything read from the folder: typed tables carrying `_idx`, row labels, problems."""

    tables: dict[str, pl.DataFrame | None]
    raw: dict[str, pl.DataFrame]
    paths: dict[str, Path]  # the file each table was read from (rows are labelled on demand)
    problems: pl.DataFrame
    settings: Settings | None
    empty_lines: dict[str, int]  # per CSV table: lines without any value, not rows


def read_input(data_dir: str | Path, on_bad_rows: OnBadRows = "fail") -> InputTables:
    """Read the input folder; raise InputError with every problem, or quarantine bad transactions.

    With `quarantine`, transactions with problems and every transaction whose `applies_to` chain
    reaches one are returned in `rejected_transactions`; problems anywhere else still raise.
    """
    if on_bad_rows not in ("fail", "quarantine"):
        raise ValueError(f"on_bad_rows must be 'fail' or 'quarantine', not {on_bad_rows!r}")
    loaded = _load(Path(data_dir))
    probs = loaded.problems
    tx_rows = (pl.col("table") == "transactions") & pl.col("_idx").is_not_null()
    if probs.height and (on_bad_rows == "fail" or probs.filter(~tx_rows).height):
        raise InputError(_to_problems(loaded))
    tx = loaded.tables["transactions"]
    rejected = set_aside(tx, _reasons(loaded, probs.filter(tx_rows)))
    keep = tx.join(rejected.select("_idx"), on="_idx", how="anti") if rejected.height else tx
    if not keep["transaction_no"].is_sorted():  # files are usually in posting order already
        keep = keep.sort("transaction_no")
    # every table is in memory now and is not read again: its file's cached pages go back
    page_cache.release(loaded.paths.values())
    t = loaded.tables
    return InputTables(
        items=conform(t["items"], Item),
        # one chunk, as `_load` made it (a filter or sort above may split it): every gather of
        # costing's is faster on one chunk (all columns at 10M: 1.3-1.6 s as read, one chunk 0.3 s)
        # a quantity is the millionth its model allows float noise around (3.0999999999999996
        # is 3.1, as BC holds it); one written with its decimals stays the same float
        transactions=conform(keep, Transaction).with_columns(
            pl.col("quantity").round(QUANTITY_DECIMALS)).rechunk(),
        inventory_posting_setup=conform(t["inventory_posting_setup"], InventoryPostingSetup),
        general_posting_setup=conform(t["general_posting_setup"], GeneralPostingSetup),
        gl_accounts=conform(t["gl_accounts"], GLAccount),
        inventory_periods=conform(t["inventory_periods"], InventoryPeriod),
        accounting_periods=conform(t["accounting_periods"], AccountingPeriod),
        gl_entries=None if t["gl_entries"] is None else conform(t["gl_entries"], GLEntry),
        settings=loaded.settings,
        rejected_transactions=conform(rejected.sort("_idx"), RejectedTransaction),
        empty_lines=loaded.empty_lines,
    )


def validate_input(data_dir: str | Path) -> list[Problem]:
    """Every problem of the input folder (schemas, R160 rules, settings); never raises for them."""
    try:
        return _to_problems(_load(Path(data_dir)))
    except InputError as exc:  # no folder to read
        return exc.problems


def by_csv_line(problems: list[Problem], data_dir: str | Path) -> list[Problem]:
    """`problems` with each transaction named by its key (`transaction_no=12`, as the stages after
    ingest name them) named by its CSV line instead when the transactions came from a CSV
    (contract §2). Reads the file's transaction_no column again: on the error path only."""
    path = Path(data_dir) / "transactions.csv"
    keyed = {keyed_transaction(p) for p in problems} - {None}
    if not keyed or not path.is_file():
        return problems
    number = pl.col("transaction_no").str.strip_chars().cast(pl.Int64, strict=False)
    found = (pl.scan_csv(path, infer_schema=False, encoding="utf8").select("transaction_no")
             .with_row_index("_idx").filter(number.is_in(list(keyed)))
             .select(number, pl.col("_idx").cast(pl.Int64)).collect())
    lines = dict(zip(found.get_column("transaction_no"),
                     record_lines(path, found.get_column("_idx")), strict=True))
    return [replace(p, row=lines.get(keyed_transaction(p), p.row)) for p in problems]


# --- reading -------------------------------------------------------------------------------------

def _load(data_dir: Path, typed_csv: bool = True) -> _Loaded:
    if not data_dir.is_dir():
        raise InputError([Problem(str(data_dir), None, None, None, "input folder not found")])
    tables: dict[str, pl.DataFrame | None] = {}
    raw: dict[str, pl.DataFrame] = {}
    paths: dict[str, Path] = {}
    problems, cast_failures = [no_problems()], [no_problems()]
    empty_lines: dict[str, int] = {}
    for name, spec in TABLES.items():
        csv, parquet = data_dir / f"{name}.csv", data_dir / f"{name}.parquet"
        if csv.exists() and parquet.exists():
            problems.append(problem(name, None, None,
                                    f"given both as {csv.name} and {parquet.name} (R170.14)"))
            tables[name] = None
            continue
        if not (csv.exists() or parquet.exists()):
            if spec.required:
                problems.append(problem(name, None, None,
                                        f"required table missing ({csv.name} or {parquet.name})"))
                tables[name] = None
            else:
                tables[name] = None if name == "gl_entries" else _with_idx(empty(spec.model))
            continue
        path = csv if csv.exists() else parquet
        frame, table_problems = _read_file(path, name, spec, typed_csv)
        problems.append(table_problems)
        if frame is None:
            tables[name] = None
            continue
        if path.suffix == ".csv":
            read = frame.height
            frame = _without_empty_lines(frame)
            empty_lines[name] = read - frame.height
        if not (typed_csv and path.suffix == ".csv"):  # else problems mean a text re-read
            raw[name] = frame
        paths[name] = path
        typed, cast_problems = _cast(frame, name, spec.model)
        del frame  # the typed table shares what did not change
        # one chunk (the CSV reader gives hundreds): the checks below filter and join it a dozen
        # times, each faster on one chunk (R160's at 10M: 5.6 s as read, 3.4 s; the copy 0.2 s)
        if spec.one_chunk:
            typed = typed.rechunk()
        cast_failures.append(cast_problems)
        problems.append(schema_problems(name, typed, spec.model))
        tables[name] = typed
    settings = None
    try:
        settings = load_settings(data_dir)
    except InputError as exc:
        problems += [problem(SETTINGS_FILE, p.column, p.value, p.rule) for p in exc.problems]
    if tables["transactions"] is not None:
        problems.append(transaction_problems(tables["transactions"], tables["items"],
                                             tables["accounting_periods"], settings))
    if tables["gl_entries"] is not None and settings is not None:
        setups = [tables[name] for name in (INVENTORY_SETUP, GENERAL_SETUP)]
        accounts = None if any(s is None for s in setups) else setup_account_numbers(*setups)
        problems.append(gl_entry_problems(tables["gl_entries"], settings, accounts))
    cast = pl.concat(cast_failures)
    # a value that could not be read is reported once, not again as missing by later checks
    problems = pl.concat(
        [cast, pl.concat(problems).join(cast, on=["table", "_idx", "column"], how="anti")])
    if typed_csv and problems.height and any(p.suffix == ".csv" for p in paths.values()):
        return _load(data_dir, typed_csv=False)  # values quoted as written (module docstring)
    return _Loaded(tables, raw, paths, problems, settings, empty_lines)


def _read_file(
    path: Path, name: str, spec: TableSpec, typed_csv: bool = False
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """The file as read (CSV: text columns; with `typed_csv` numeric columns parsed while reading
    when every value parses), or the problem that stops reading it."""
    try:
        if path.suffix == ".csv":
            frame = _read_typed_csv(path, spec) if typed_csv else None
            if frame is None:
                frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
        else:
            frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one problem, not a crash
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if path.is_dir():
            reason = "a folder, not a file"
        elif path.suffix == ".csv":  # the line, where the reader names none
            reason = why_unreadable(path) or reason
        return None, problem(name, None, None, f"cannot read {path.name}: {reason}")
    schema = spec.model.to_schema()
    missing = [
        col for col, c in schema.columns.items()
        if col not in frame.columns and c.required and c.default is None
    ]
    if missing:
        return None, pl.concat(problem(name, c, None, "required column missing") for c in missing)
    return _with_idx(frame), no_problems()


def _without_empty_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """The CSV's records without those that hold no value at all (a blank line, a line of only
    commas, as spreadsheets leave at the end): no data is lost, and the others keep their _idx,
    so their line numbers. How many were left out is reported (`InputTables.empty_lines`)."""
    empty = pl.all_horizontal(pl.exclude("_idx").is_null())
    return frame.filter(~empty) if frame.select(empty.any()).item() else frame


def _read_typed_csv(path: Path, spec: TableSpec) -> pl.DataFrame | None:
    """The CSV with the model's Int64/Float64 columns parsed by the reader; None when a value does
    not parse (the text path then reports it)."""
    header = pl.read_csv(path, n_rows=0, infer_schema=False, encoding="utf8").columns
    numeric = {c: t for c, t in polars_schema(spec.model).items()
               if c in header and t in (pl.Int64, pl.Float64)}
    try:
        return pl.read_csv(path, infer_schema=False, schema_overrides=numeric, encoding="utf8")
    except pl.exceptions.PolarsError:
        return None


def _with_idx(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("_idx").with_columns(pl.col("_idx").cast(pl.Int64))


def _labels(frame: pl.DataFrame, path: Path, spec: TableSpec) -> pl.DataFrame:
    """The row as a message names it: CSV line number, or `key=value` for Parquet (contract §2)."""
    if path.suffix == ".csv":
        row = record_lines(path, frame.get_column("_idx"))
    elif spec.key and spec.key in frame.columns:
        row = pl.coalesce(pl.format("{}={}", pl.lit(spec.key), pl.col(spec.key).cast(pl.String)),
                          pl.format("#{}", pl.col("_idx") + 1))
    else:
        row = pl.format("#{}", pl.col("_idx") + 1)
    return frame.select("_idx", row=row)


def _cast(frame: pl.DataFrame, table: str, model: type[pa.DataFrameModel]) -> tuple[
    pl.DataFrame, pl.DataFrame
]:
    """Cast to the model's types (strict=False), reporting each value that failed; fill defaults.

    Text is stripped and blanks made null only in the columns that need it: each is a copy of
    the whole column, and the check for it a pass over it. A column kept as text is checked
    first; one parsed to another type is parsed as written, and again stripped only when a
    value did not parse (a clean value parses as written; at 10M transactions the G/L's dates
    are parsed in 0.2 s instead of checked and parsed in 0.9 s)."""
    schema = polars_schema(model)
    text = [c for c in schema if c in frame.columns and frame.schema[c] == pl.String]
    kept = [c for c in text if schema[c] == pl.String]
    padded = _padded(frame, kept)
    blank = frame.select((pl.col(c) == "").any() for c in kept).row(0) if kept else ()
    strip = {c for c, p in zip(kept, padded, strict=True) if p}
    tidy = strip | {c for c, b in zip(kept, blank, strict=True) if b}
    typed, bad = _typed(frame, model, strip, tidy)
    retry = {c for c in text if bad.get(c)}  # not parsed as written: stripped, parsed again
    if retry:
        typed, bad = _typed(frame, model, strip | retry, tidy | retry)
    problems = [no_problems()] + [
        flag(frame.with_columns(typed[f"_bad_{c}"]), table, pl.col(f"_bad_{c}"), c,
             pl.col(c).cast(pl.String), rule)
        for c, rule in bad.items() if rule is not None
    ]
    return typed.drop(f"_bad_{c}" for c in bad), pl.concat(problems)


_SAMPLE, _FEW = 65_536, 1_024


def _padded(frame: pl.DataFrame, columns: list[str]) -> tuple[bool, ...]:
    """Per text column: does a value start or end with whitespace? A column of few values (a
    code: at most _FEW among its first _SAMPLE rows) is checked on its distinct values, the
    others row by row (at 10M transactions the G/L's accounts in 0.2 s instead of 0.5 s)."""
    if not columns:
        return ()
    few = frame.head(_SAMPLE).select(pl.col(c).n_unique() <= _FEW for c in columns).row(0)
    padding = r"^\s|\s$"
    return frame.select(
        (pl.col(c).unique() if f else pl.col(c)).str.contains(padding).any()
        for c, f in zip(columns, few, strict=True)).row(0)


def _typed(frame: pl.DataFrame, model: type[pa.DataFrameModel], strip: set[str],
           tidy: set[str]) -> tuple[pl.DataFrame, dict[str, str | None]]:
    """`frame` cast to the model's types with a `_bad_<column>` flag per column whose cast can
    fail, and per such column the rule it breaks if any value failed (else None). Columns in
    `strip` are stripped, blanks in `tidy` made null, before the cast."""
    columns = model.to_schema().columns
    exprs, failures, rules = [], [], {}
    for name, dtype in polars_schema(model).items():
        if name not in frame.columns:
            exprs.append(pl.lit(columns[name].default, dtype).alias(name))
            continue
        src = pl.col(name)
        if name in strip:
            src = src.str.strip_chars()
        if name in tidy:
            src = pl.when(src == "").then(None).otherwise(src)
        parsed, rule = _parse(src, frame.schema[name], dtype)
        if rule is not None:
            rules[name] = rule
            failures.append((src.is_not_null() & parsed.is_null()).alias(f"_bad_{name}"))
        if columns[name].default is not None:
            parsed = parsed.fill_null(columns[name].default)
        exprs.append(parsed.alias(name))
    typed = frame.select("_idx", *exprs, *failures)
    failed = typed.select(pl.col(f"_bad_{c}").any() for c in rules).row(0) if rules else ()
    return typed, {c: rule if f else None for (c, rule), f in zip(rules.items(), failed,
                                                                   strict=True)}


def _parse(src: pl.Expr, src_type: pl.DataType, dtype: pl.DataType) -> tuple[pl.Expr, str | None]:
    """The typed expression and the rule a failed cast breaks (None: the cast cannot fail)."""
    text = src_type == pl.String
    if dtype == pl.String:
        return src.cast(pl.String), None
    if dtype == pl.Float64:
        x = src.cast(pl.Float64, strict=False)
        return pl.when(x.is_finite()).then(x), "not a number"
    if dtype == pl.Int64:
        if src_type.is_float():  # Parquet floats: only whole numbers are integers
            return pl.when(src == src.round(0)).then(src.cast(pl.Int64, strict=False)), \
                "not an integer"
        return src.cast(pl.Int64, strict=False), "not an integer"
    if dtype == pl.Date:
        if text:
            return src.str.to_date("%Y-%m-%d", strict=False), "not a date (YYYY-MM-DD)"
        return src.cast(pl.Date, strict=False), "not a date"
    if dtype == pl.Boolean:
        if text:
            low = src.str.to_lowercase()
            return (pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)), \
                "not a boolean (true/false)"
        return src.cast(pl.Boolean, strict=False), "not a boolean"
    return src.cast(dtype, strict=False), f"not a {dtype}"


# --- reporting and quarantine --------------------------------------------------------------------

def _named(loaded: _Loaded, problems: pl.DataFrame) -> pl.DataFrame:
    """Problems with their row label and, where the file has it, the value exactly as written."""
    order = {name: i for i, name in enumerate([SETTINGS_FILE, *TABLES])}
    parts = []
    for table, group in problems.with_row_index("_n").group_by("table", maintain_order=True):
        name = table[0]
        if name in loaded.raw:
            rows = loaded.raw[name].join(group.select("_idx").unique(), on="_idx", how="semi")
            as_written = (
                rows.select("_idx", pl.exclude("_idx").cast(pl.String))
                .unpivot(index="_idx", variable_name="column", value_name="written")
            )
            group = (
                group.join(_labels(rows, loaded.paths[name], TABLES[name]), on="_idx", how="left")
                .join(as_written, on=["_idx", "column"], how="left")
                .with_columns(value=pl.when(pl.col("value").is_not_null())
                              .then(pl.coalesce("written", "value")))
            )
        else:
            group = group.with_columns(row=pl.lit(None, pl.String))
        cols = list(TABLES[name].model.to_schema().columns) if name in TABLES else []
        rank = pl.DataFrame({"_first": cols, "_c": list(range(len(cols)))},
                            schema={"_first": pl.String, "_c": pl.Int64})
        group = (
            group.with_columns(_t=pl.lit(order.get(name, len(order))),
                               _first=pl.col("column").str.split(", ").list.first())
            .join(rank, on="_first", how="left")
        )
        parts.append(group)
    if not parts:
        return problems.with_columns(row=pl.lit(None, pl.String), _t=pl.lit(0), _n=pl.lit(0))
    # file order, then row, then column order, then the order the rules ran
    return pl.concat(parts, how="diagonal").sort("_t", "_idx", "_c", "_n", nulls_last=False)


def _to_problems(loaded: _Loaded) -> list[Problem]:
    named = _named(loaded, loaded.problems)
    return [Problem(*row) for row in named.select("table", "row", "column", "value", "rule")
            .iter_rows()]


def _reasons(loaded: _Loaded, problems: pl.DataFrame) -> pl.DataFrame:
    """One reason per bad transaction row: its problems, joined."""
    return (
        _named(loaded, problems)
        .with_columns(reason=pl.format(
            "{}{}: {}", pl.col("column"),
            pl.when(pl.col("value").is_not_null()).then(pl.format(" '{}'", pl.col("value")))
            .otherwise(pl.lit("")),
            pl.col("rule"),
        ))
        .group_by("_idx", maintain_order=True)
        .agg(pl.col("reason").str.join("; "))
    )


def set_aside(tx: pl.DataFrame, reasons: pl.DataFrame, key: str = "_idx") -> pl.DataFrame:
    """Bad rows (`reasons`: key, reason) plus every row whose applies_to chain reaches one (R160:
    dependents cannot post), with their reasons."""
    rejected = tx.join(reasons, on=key, how="inner")
    frontier = rejected
    while frontier.height:  # one step per level of the applies_to chain
        bad_nos = frontier.select(pl.col("transaction_no").drop_nulls().unique())
        frontier = (
            tx.join(rejected.select(key), on=key, how="anti")
            .join(bad_nos, left_on="applies_to", right_on="transaction_no", how="semi")
            .with_columns(reason=pl.format("applies_to {}: that transaction is rejected",
                                           pl.col("applies_to")))
        )
        rejected = pl.concat([rejected, frontier])
    return rejected


__all__ = ["InputTables", "TABLES", "by_csv_line", "read_input", "set_aside", "validate_input",
           "PROBLEM_SCHEMA"]
