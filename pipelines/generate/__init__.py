"""Synthetic company generator (`invrec generate`, contract §1): a valid input folder of ~N rows.

    generate(out_dir, transactions, items=None, seed=0, types=SUPPORTED_TYPES,
             costing_methods=SUPPORTED_METHODS, chunk_size=1_000_000, gl=True,
             months=24) -> GeneratedCompany

Modules: `company` (items, calendar, setups), `pieces` (one generator per transaction type),
`stream` (blocks of days in posting order, R160 validity), `gl` (external G/L with planted
discrepancies).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from pipelines.errors import NotSupportedYet
from pipelines.generate import company as co_
from pipelines.generate.gl import plant_gl_discrepancies, readme
from pipelines.generate.pieces import ALL_TYPES, SUPPORTED_TYPES
from pipelines.generate.stream import transaction_stream
from pipelines.staging import publish, staging_for
from schemas.base import empty
from schemas.inputs import Transaction

__all__ = ["ALL_TYPES", "SUPPORTED_TYPES", "GeneratedCompany", "default_items", "generate",
           "plant_gl_discrepancies"]


@dataclass(frozen=True)
class GeneratedCompany:
    """What `generate` wrote: row counts per table and per transaction type, file paths."""

    out_dir: Path
    rows: dict[str, int]  # table -> rows written
    types: dict[str, int]  # transaction type -> rows
    paths: dict[str, Path]
    discrepancies: pl.DataFrame | None = None  # planted G/L differences; None: no G/L written
    notes: list[str] = field(default_factory=list)


def default_items(transactions: int) -> int:
    """About one item per 200 transactions, between 10 and 50,000."""
    return max(10, min(50_000, transactions // 200))


def generate(
    out_dir: Path, transactions: int, items: int | None = None, seed: int = 0,
    types: Collection[str] = SUPPORTED_TYPES,
    costing_methods: Collection[str] = co_.SUPPORTED_METHODS,
    chunk_size: int = 1_000_000, gl: bool = True, months: int = co_.MONTHS,
) -> GeneratedCompany:
    """Write an input folder of about `transactions` rows, deterministic for `seed`.

    Every row is valid by the contract and R160. The transactions span `months` calendar months
    from 2024-01-01, one inventory period per month. `chunk_size` bounds the rows buffered
    before writing `transactions.csv`; the output does not depend on it. With `gl` and
    `pipelines.pipeline` available, also writes `gl_entries.csv` (our own G/L with planted
    discrepancies) and `README.md` listing them.
    """
    _check_args(transactions, items, types, costing_methods, chunk_size, months)
    out_dir = Path(out_dir)
    # written beside the folder and moved in whole: a failed run leaves it as it was
    with staging_for(out_dir) as staging:
        made = _generate(staging, transactions, items, seed, types, costing_methods, chunk_size,
                         gl, months)
        # a G/L left over would be read as input, a table's Parquet file beside the CSV
        # written now would make the folder invalid (contract §2: given twice)
        written = {p.name for p in made.paths.values()}
        tables = [*(p.stem for p in made.paths.values() if p.suffix == ".csv"), "gl_entries"]
        for stale in ("README.md", *(f"{t}.{ext}" for t in tables for ext in ("csv", "parquet"))):
            if stale not in written:
                (out_dir / stale).unlink(missing_ok=True)
        publish(staging, out_dir, [path.name for path in made.paths.values()])
    return replace(made, out_dir=out_dir,
                   paths={name: out_dir / path.name for name, path in made.paths.items()})


def _generate(out_dir: Path, transactions: int, items: int | None, seed: int,
              types: Collection[str], costing_methods: Collection[str], chunk_size: int,
              gl: bool, months: int) -> GeneratedCompany:
    """`generate` into the empty folder `out_dir`."""
    co = co_.make_company(items or default_items(transactions), seed, costing_methods, months)
    tables = {
        "items": co_.items_table(co, seed),
        "inventory_posting_setup": co_.inventory_posting_setup(),
        "general_posting_setup": co_.general_posting_setup(),
        "gl_accounts": co_.gl_accounts(),
        "inventory_periods": co_.inventory_periods(months),
        "accounting_periods": co_.accounting_periods(months),
    }
    paths = {name: out_dir / f"{name}.csv" for name in (*tables, "transactions")}
    for name, frame in tables.items():
        frame.write_csv(paths[name])
    paths["settings"] = out_dir / "settings.toml"
    paths["settings"].write_text(co_.SETTINGS_TOML, encoding="utf-8")
    rows = {name: frame.height for name, frame in tables.items()}
    rows["transactions"], counts = _write_transactions(
        paths["transactions"], transaction_stream(co, transactions, seed, set(types)), chunk_size)
    result = GeneratedCompany(out_dir, rows, counts, paths)
    return _with_external_gl(result, seed) if gl else result


def _check_args(transactions, items, types, costing_methods, chunk_size, months) -> None:
    if transactions < 0 or chunk_size < 1 or months < 1 or (items is not None and items < 1):
        raise ValueError("transactions must be >= 0, items, chunk_size and months >= 1")
    unknown = set(types) - set(ALL_TYPES)
    if unknown:
        raise ValueError(f"unknown transaction types: {sorted(unknown)}")
    methods = set(costing_methods)
    if not methods or methods - set(co_.GENERATED_METHODS):
        raise ValueError(f"costing_methods must be a non-empty subset of {co_.GENERATED_METHODS}")


def _write_transactions(path: Path, chunks, chunk_size: int) -> tuple[int, dict[str, int]]:
    """Append blocks to the CSV, flushing whenever `chunk_size` rows are buffered."""
    total, counts, buffer = 0, {}, [empty(Transaction)]
    with path.open("wb") as f:
        def flush() -> None:
            nonlocal total
            frame = pl.concat(buffer)
            frame.write_csv(f, include_header=f.tell() == 0)
            total += frame.height
            buffer.clear()
            for t, n in frame["type"].value_counts().iter_rows():
                counts[t] = counts.get(t, 0) + n

        for chunk in chunks:
            buffer.append(chunk)
            if sum(b.height for b in buffer) >= chunk_size:
                flush()
        if buffer:
            flush()
    return total, dict(sorted(counts.items()))


def _own_gl(data_dir: Path) -> pl.DataFrame | None:
    """The G/L invrec posts for the folder, or None while `pipelines.pipeline` does not exist."""
    if importlib.util.find_spec("pipelines.pipeline") is None:
        return None
    from pipelines.ingest import read_input
    from pipelines.pipeline import run_pipeline

    return run_pipeline(read_input(data_dir))["gl_entries"]


def _with_external_gl(result: GeneratedCompany, seed: int) -> GeneratedCompany:
    try:
        own = _own_gl(result.out_dir)
        if own is None:
            return replace(result, notes=["no gl_entries.csv: pipelines.pipeline is not there"])
        external, listing = plant_gl_discrepancies(own, seed)
    except NotSupportedYet as exc:  # types or methods the pipeline cannot cost yet
        return replace(result, notes=[f"no gl_entries.csv: {exc.problems[0]}"])
    except ValueError as exc:  # too few documents to plant in
        return replace(result, notes=[f"no gl_entries.csv: {exc}"])
    paths = {**result.paths, "gl_entries": result.out_dir / "gl_entries.csv",
             "readme": result.out_dir / "README.md"}
    external.write_csv(paths["gl_entries"])
    paths["readme"].write_text(readme(listing), encoding="utf-8")
    return replace(result, rows={**result.rows, "gl_entries": external.height}, paths=paths,
                   discrepancies=listing)
