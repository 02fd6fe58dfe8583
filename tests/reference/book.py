"""The reference's state: item ledger entries, value entries and applications as plain objects.

`Book` holds everything posted so far; `posting.post_transaction` adds to it row by row and
`adjust.adjust_cost` adds the entries of the one cost adjustment run (R60).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

from pipelines.settings import Settings
from tests.reference.arith import ZERO, exact

# R6 roles of an item ledger entry.
SOURCE = "cost source"  # inbound whose cost comes from its own transactions
RECEIVING = "cost-receiving"  # inbound whose cost comes from an outbound (transfer to-leg, return)
OUTBOUND = "outbound"

COST_ELEMENTS = ("Direct Cost", "Indirect Cost", "Variance")  # the base B_i of R70


@dataclass
class Entry:
    """An item ledger entry (R10-R12); amounts are summed from its value entries at the end."""

    entry_no: int
    transaction_no: int
    tx_type: str
    entry_type: str
    posting_date: dt.date
    item_no: str
    location_code: str
    variant_code: str
    quantity: Fraction
    invoiced_quantity: Fraction
    remaining_quantity: Fraction
    role: str
    applies_to_entry: int | None = None
    source_entry: int | None = None  # R6: the outbound a cost-receiving inbound takes cost from
    u0: Fraction = ZERO  # R51: unit cost for the part left unapplied at posting (outbounds)
    valuation_date: dt.date | None = None  # R92, set after posting

    @property
    def key(self) -> tuple[str, str, str]:
        """R6 application key."""
        return (self.item_no, self.location_code, self.variant_code)

    @property
    def inbound(self) -> bool:
        return self.quantity > 0


@dataclass
class Value:
    """A value entry (R20-R33, R63, R76). `entry_no` is given when the run is complete (R33)."""

    item_ledger_entry_no: int
    transaction_no: int | None
    entry_type: str
    posting_date: dt.date
    document_no: str
    gen_bus_posting_group: str
    item_ledger_entry_quantity: Fraction = ZERO
    valued_quantity: Fraction = ZERO
    invoiced_quantity: Fraction = ZERO
    cost_amount_expected: Fraction = ZERO
    cost_amount_actual: Fraction = ZERO
    sales_amount_actual: Fraction = ZERO
    expected_cost: bool = False
    adjustment: bool = False
    applies_to: Value | None = None  # the value entry an adjustment/Rounding entry applies to
    item_charge_no: str | None = None
    valued_by_average_cost: bool = False
    valuation_date: dt.date | None = None  # R92, set after posting
    entry_no: int = 0

    @property
    def value(self) -> Fraction:
        """R6: actual plus expected cost."""
        return self.cost_amount_actual + self.cost_amount_expected


@dataclass
class Application:
    """An item application entry (R47); `made_by` is the transaction that made it (R92)."""

    item_ledger_entry_no: int
    inbound_item_entry_no: int
    outbound_item_entry_no: int | None
    quantity: Fraction
    posting_date: dt.date
    cost_application: bool
    made_by: int


@dataclass
class Book:
    """Everything posted so far, plus the company data the rules read."""

    items: dict[str, dict]
    settings: Settings
    inventory_periods: list[dict] = field(default_factory=list)
    accounting_periods: list[dict] = field(default_factory=list)  # R91: rows with starting_date
    entries: list[Entry] = field(default_factory=list)  # entry_no - 1 -> entry (R11)
    values: list[Value] = field(default_factory=list)  # creation order
    applications: list[Application] = field(default_factory=list)
    entries_of_tx: dict[int, list[int]] = field(default_factory=dict)  # transaction_no -> entries
    tx_type: dict[int, str] = field(default_factory=dict)
    last_tx: int | None = None
    passed_over: list[tuple[int, int]] = field(default_factory=list)  # R44a (inbound, outbound)
    unsettled: set[str] = field(default_factory=set)  # R60 items that did not settle
    targets: dict[int, Fraction] = field(default_factory=dict)  # R61 final targets, by entry
    revaluations: list = field(default_factory=list)  # §7: revaluation.Revaluation, posted order
    open_key_returns: list[int] = field(default_factory=list)  # R45: returns on keys with open
    # outbounds when posted (entry numbers)

    @property
    def precision(self) -> Fraction:
        return exact(self.settings.amount_rounding_precision)

    @property
    def unit_precision(self) -> Fraction:
        return exact(self.settings.unit_amount_rounding_precision)

    def entry(self, entry_no: int) -> Entry:
        return self.entries[entry_no - 1]

    def values_of(self, entry: Entry) -> list[Value]:
        return [v for v in self.values if v.item_ledger_entry_no == entry.entry_no]

    def item(self, item_no: str) -> dict:
        return self.items[item_no]

    def method(self, item_no: str) -> str:
        return self.items[item_no]["costing_method"]

    def standard_cost(self, item_no: str) -> Fraction:
        """R24/R84: the standard cost in force now: the new cost of the item's last revaluation
        without applies_to posted so far, else items.standard_cost."""
        per_item = [r for r in self.revaluations
                    if r.item_no == item_no and r.applies_to_entry is None]
        if per_item:
            return per_item[-1].new_cost
        return exact(self.items[item_no]["standard_cost"])

    def returns_of(self, sale: Entry) -> list[Entry]:
        """R74: the sales returns with applies_to naming `sale`, in entry order."""
        return [e for e in self.entries if e.role == RECEIVING and e.tx_type == "sales_return"
                and e.source_entry == sale.entry_no]
