"""Master data of the synthetic company: items, calendar, posting setups, periods, settings.

Everything here is a deterministic function of (seed, item count, costing methods); the transaction
stream (`stream.py`) only reads it. Chart of accounts: the one of the worked examples, plus one
inventory account pair per location so that transfers show in the G/L.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.costing import ledger as costing_ledger
from schemas.base import conform
from schemas.inputs import (
    AccountingPeriod,
    GeneralPostingSetup,
    GLAccount,
    InventoryPeriod,
    InventoryPostingSetup,
    Item,
)

START = dt.date(2024, 1, 1)
MONTHS = 24  # the default horizon; `generate(months=...)` chooses another
OPEN_MONTHS = 3  # the last months stay open; every earlier inventory period is closed (R110)

LOCATIONS = ("BLUE", "RED", "GREEN")
LOCATION_WEIGHTS = (0.5, 0.3, 0.2)
VARIANTS = ("", "V1", "V2")  # variant slot 0 is "no variant"
BUS_GROUPS = ("DOMESTIC", "EU", "EXPORT")
INVENTORY_GROUPS = ("RESALE", "PARTS")
PROD_GROUPS = ("RETAIL", "PARTS")
CHARGES = ("FREIGHT", "INSURANCE")
GENERATED_METHODS = ("FIFO", "LIFO", "AVERAGE", "STANDARD", "SPECIFIC")
METHOD_WEIGHTS = {"FIFO": 1.0, "LIFO": 1.0, "AVERAGE": 1.0, "STANDARD": 1.0, "SPECIFIC": 0.5}
# the default: every generated method the costing stage supports today
SUPPORTED_METHODS = tuple(m for m in GENERATED_METHODS if m in costing_ledger.SUPPORTED_METHODS)

# location -> (inventory, inventory interim); the blank location shares BLUE's accounts.
INVENTORY_ACCOUNTS = {"": ("2130", "2131"), "BLUE": ("2130", "2131"),
                      "RED": ("2140", "2141"), "GREEN": ("2150", "2151")}
ACCOUNT_NAMES = {
    "2130": "Inventory", "2131": "Inventory (Interim)",
    "2140": "Inventory RED", "2141": "Inventory RED (Interim)",
    "2150": "Inventory GREEN", "2151": "Inventory GREEN (Interim)",
    "5530": "Invt. Accrual (Interim)", "7290": "COGS", "7291": "Direct Cost Applied",
    "7292": "Overhead Applied", "7293": "Purchase Variance", "7270": "Inventory Adjmt.",
    "7295": "COGS (Interim)",
}
SETTINGS_TOML = """\
average_cost_calc_type = "item"
average_cost_period = "month"
expected_cost_posting_to_gl = true
amount_rounding_precision = 0.01
unit_amount_rounding_precision = 0.00001
"""


@dataclass(frozen=True)
class Company:
    """Item attributes as numpy arrays indexed by item number 0..K-1, plus the calendar."""

    item_no: pl.Series
    popularity_cdf: np.ndarray  # Zipf-like, over a random permutation of the items
    base_cost: np.ndarray
    drift: np.ndarray  # yearly relative change of the unit cost
    margin: np.ndarray
    has_variants: np.ndarray
    sale_mean: np.ndarray  # mean quantity of one sale
    lot: np.ndarray  # purchase lot size
    safety: np.ndarray  # reorder point above zero
    costing_method: np.ndarray
    day_weight: np.ndarray  # seasonality, one weight per day of the horizon
    months: int = MONTHS  # the horizon: calendar months from START

    @property
    def n_items(self) -> int:
        return len(self.item_no)

    @property
    def n_days(self) -> int:
        return len(self.day_weight)

    def unit_cost(self, item: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Purchase cost of an item on a day: drifts over time, two decimals."""
        return np.round(self.base_cost[item] * np.exp(self.drift[item] * day / 365.0), 2)

    def unit_price(self, item: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.round(self.unit_cost(item, day) * (1 + self.margin[item]), 2)


def month_starts(months: int = MONTHS) -> list[dt.date]:
    """First day of each month of the horizon, plus the day after its end."""
    return [dt.date(START.year + (START.month - 1 + m) // 12, (START.month - 1 + m) % 12 + 1, 1)
            for m in range(months + 1)]


def make_company(n_items: int, seed: int, costing_methods: Collection[str],
                 months: int = MONTHS) -> Company:
    """Draw the items: popularity, costs, margins, lot sizes, variants and costing methods.

    The draws do not depend on `months`: a shorter horizon has the same items.
    """
    rng = np.random.default_rng([seed, 0])
    rank = rng.permutation(n_items) + 1
    pop = 1.0 / rank**1.1
    # rounded after the + 0.5 too: standard costs like 8.120000000000001 in items.csv otherwise
    base_cost = np.round(np.round(rng.lognormal(np.log(20), 0.9, n_items), 2) + 0.5, 2)
    sale_mean = rng.geometric(0.45, n_items) + (base_cost < 10) * 3  # cheap items sell more
    lot = np.ceil(sale_mean * rng.integers(10, 40, n_items) / 5) * 5
    methods = np.array(sorted(costing_methods, key=GENERATED_METHODS.index))
    weights = np.array([METHOD_WEIGHTS[m] for m in methods])
    days = np.arange((month_starts(months)[-1] - START).days)
    dates = np.datetime64(START, "D") + days
    doy = (dates - dates.astype("datetime64[Y]")).astype(int)
    weekday = (days + START.weekday()) % 7
    weight = (1 + 0.3 * np.sin(2 * np.pi * (doy - 80) / 365) + 0.5 * (doy >= 320)) * np.where(
        weekday == 6, 0.2, np.where(weekday == 5, 0.6, 1.0))
    return Company(
        item_no=pl.Series("item_no", [f"IT{i:06d}" for i in range(1, n_items + 1)]),
        popularity_cdf=np.cumsum(pop) / pop.sum(),
        base_cost=base_cost,
        drift=rng.normal(0.03, 0.05, n_items),
        margin=rng.uniform(0.15, 0.6, n_items),
        has_variants=rng.random(n_items) < 0.1,
        sale_mean=sale_mean.astype(float),
        lot=lot,
        safety=np.ceil(sale_mean * 2.0),
        costing_method=_methods(rng, methods, weights, rank),
        day_weight=weight,
        months=months,
    )


def _methods(rng, methods: np.ndarray, weights: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Costing methods stratified by popularity: down the popularity ranks, every cycle of
    slots (two per unit of weight) is a random permutation of them, so each method's share of
    the volume follows its weight instead of which method the best sellers happen to get. The
    first cycle keeps the methods' order: the best seller (about a tenth of the volume) is
    FIFO, the most common method, whatever the seed."""
    slots = np.repeat(np.arange(len(methods)), np.round(weights * 2).astype(int))
    cycles = -(-len(rank) // len(slots))
    drawn = rng.permuted(np.tile(slots, (cycles, 1)), axis=1)
    drawn[0] = np.sort(drawn[0])
    drawn = drawn.ravel()[:len(rank)]
    return methods[drawn[rank - 1]]  # rank 1 is the best seller


def items_table(co: Company, seed: int) -> pl.DataFrame:
    """items.csv: groups, a few items with indirect cost or overhead (R21), standard costs (R24)."""
    rng = np.random.default_rng([seed, 1])
    n = co.n_items
    group = (rng.random(n) < 0.2).astype(int)
    indirect = np.where(rng.random(n) < 0.08, rng.choice([1.0, 2.0, 5.0], n), 0.0)
    overhead = np.where(rng.random(n) < 0.04, np.round(co.base_cost * 0.02, 2), 0.0)
    standard = np.where(co.costing_method == "STANDARD", co.base_cost, np.nan)
    return conform(pl.DataFrame({
        "item_no": co.item_no,
        "description": "Item " + co.item_no,
        "costing_method": co.costing_method,
        "standard_cost": pl.Series(standard).fill_nan(None),
        "indirect_cost_pct": indirect,
        "overhead_rate": overhead,
        "inventory_posting_group": np.array(INVENTORY_GROUPS)[group],
        "gen_prod_posting_group": np.array(PROD_GROUPS)[group],
    }), Item)


def inventory_posting_setup() -> pl.DataFrame:
    """Every location, blank included, times every inventory posting group (R122)."""
    rows = [(loc, grp, *INVENTORY_ACCOUNTS[loc]) for loc in ("", *LOCATIONS)
            for grp in INVENTORY_GROUPS]
    return conform(pl.DataFrame(rows, orient="row", schema=[
        "location_code", "inventory_posting_group", "inventory_account",
        "inventory_account_interim"]), InventoryPostingSetup)


def general_posting_setup() -> pl.DataFrame:
    """Every business group times every product group, on the examples' chart (R122)."""
    accounts = ("7290", "7295", "7270", "7291", "7292", "7293", "5530")
    rows = [(bus, prod, *accounts) for bus in BUS_GROUPS for prod in PROD_GROUPS]
    return conform(pl.DataFrame(rows, orient="row", schema=[
        "gen_bus_posting_group", "gen_prod_posting_group", "cogs_account",
        "cogs_account_interim", "inventory_adjmt_account", "direct_cost_applied_account",
        "overhead_applied_account", "purchase_variance_account", "invt_accrual_acc_interim"]),
        GeneralPostingSetup)


def gl_accounts() -> pl.DataFrame:
    return conform(pl.DataFrame({"account_no": list(ACCOUNT_NAMES),
                                 "name": list(ACCOUNT_NAMES.values())}), GLAccount)


def inventory_periods(months: int = MONTHS) -> pl.DataFrame:
    """Monthly inventory periods; all but the last OPEN_MONTHS are closed (R110)."""
    starts = month_starts(months)
    ends = [s - dt.timedelta(days=1) for s in starts[1:]]
    return conform(pl.DataFrame({"ending_date": ends,
                                 "closed": [m < months - OPEN_MONTHS for m in range(months)]}),
                   InventoryPeriod)


def accounting_periods(months: int = MONTHS) -> pl.DataFrame:
    return conform(pl.DataFrame({"starting_date": month_starts(months)[:-1]}), AccountingPeriod)
