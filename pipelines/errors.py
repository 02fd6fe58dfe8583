"""Input errors: every problem names table, row, column, value and rule (contract §2)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

PROBLEM_COLUMNS = ("table", "row", "column", "value", "rule")


@dataclass(frozen=True)
class Problem:
    table: str
    row: str | None  # CSV line number ("7") or the Parquet row's key ("transaction_no=12")
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = self.table if self.row is None else f"{self.table} row {self.row}"
        col = f", column {self.column}" if self.column else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.rule}"


def keyed_transaction(problem: Problem) -> int | None:
    """The transaction_no of a problem that names its transactions row by key (`transaction_no=12`,
    as every stage after ingest does), else None."""
    if problem.table != "transactions" or not (problem.row or "").startswith(_TX_KEY):
        return None
    return int(problem.row.removeprefix(_TX_KEY))


def transaction_row(transaction_no: int) -> str:
    """How the stages after ingest name a transactions row: by its key."""
    return f"{_TX_KEY}{transaction_no}"


_TX_KEY = "transaction_no="


class InputError(Exception):
    """Invalid input; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} input problem(s):\n" + "\n".join(str(p) for p in self.problems)
        )

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [tuple(getattr(p, c) for c in PROBLEM_COLUMNS) for p in self.problems],
            schema=dict.fromkeys(PROBLEM_COLUMNS, pl.String),
            orient="row",
        )


class NotSupportedYet(InputError):
    """Valid input that this version of invrec cannot cost yet: never silently skipped."""
