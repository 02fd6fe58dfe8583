"""Company settings from `settings.toml` (contract §2), with BC's defaults.

Beyond the contract's keys, two optional keys steer the reconciliation check (not the figures):
- `reconciliation_tolerance` (decimal >= 0, default 0): the largest absolute difference per account
  and month (and all time) the check accepts; 0 accepts only differences below half a rounding
  unit, which R147 calls zero.
- `reconciliation_severity` (`warn` or `error`, default `warn`): how the check fails when a
  difference exceeds the tolerance; `error` fails the run (the check is blocking).
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from pipelines.errors import InputError, Problem

AVERAGE_COST_CALC_TYPES = ("item", "item_location_variant")
AVERAGE_COST_PERIODS = ("day", "week", "month", "quarter", "year", "accounting_period")
RECONCILIATION_SEVERITIES = ("warn", "error")
SETTINGS_FILE = "settings.toml"


@dataclass(frozen=True)
class Settings:
    average_cost_calc_type: str = "item"
    average_cost_period: str = "day"
    expected_cost_posting_to_gl: bool = True
    allow_posting_from: dt.date | None = None
    amount_rounding_precision: float = 0.01
    unit_amount_rounding_precision: float = 0.00001
    # ours, optional (module docstring): the reconciliation check's tolerance and severity
    reconciliation_tolerance: float = 0.0
    reconciliation_severity: str = "warn"


def load_settings(data_dir: Path) -> Settings:
    """Read `settings.toml` from the input folder; absent file or keys take the defaults,
    other keys are ignored unless they look like a misspelt known key."""
    path = Path(data_dir) / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        problem = Problem(SETTINGS_FILE, None, None, None, f"not valid TOML: {exc}")
        raise InputError([problem]) from exc
    problems: list[Problem] = []
    known = {f.name for f in fields(Settings)}
    values: dict = {}
    for key, value in raw.items():
        if key in known:
            values[key] = value
            continue
        # extra keys are ignored, like extra columns; a misspelt one would silently leave its
        # setting at the default, so a key this close to a known one is an error
        near = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.8)
        if near:
            problems.append(Problem(SETTINGS_FILE, None, key, repr(value),
                                    f"unknown key: did you mean {near[0]}?"))
    checks = {
        "average_cost_calc_type": lambda v: v in AVERAGE_COST_CALC_TYPES,
        "average_cost_period": lambda v: v in AVERAGE_COST_PERIODS,
        "expected_cost_posting_to_gl": lambda v: isinstance(v, bool),
        "allow_posting_from": lambda v: isinstance(v, dt.date | str),
        "amount_rounding_precision": lambda v: isinstance(v, int | float) and v > 0,
        "unit_amount_rounding_precision": lambda v: isinstance(v, int | float) and v > 0,
        "reconciliation_tolerance": lambda v: (isinstance(v, int | float)
                                               and not isinstance(v, bool) and v >= 0),
        "reconciliation_severity": lambda v: v in RECONCILIATION_SEVERITIES,
    }
    for key, value in values.items():
        if not checks[key](value):
            problems.append(Problem(SETTINGS_FILE, None, key, repr(value), "invalid value"))
    if isinstance(values.get("allow_posting_from"), str):
        try:
            values["allow_posting_from"] = dt.date.fromisoformat(values["allow_posting_from"])
        except ValueError:
            problems.append(
                Problem(SETTINGS_FILE, None, "allow_posting_from", values["allow_posting_from"],
                        "must be an ISO date")
            )
    if problems:
        raise InputError(problems)
    for key in ("amount_rounding_precision", "unit_amount_rounding_precision",
                "reconciliation_tolerance"):
        if key in values:
            values[key] = float(values[key])
    return Settings(**values)
