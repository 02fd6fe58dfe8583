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
