"""Revaluation (costing.md §7, R80-R85) row by row, over the reference's `Book`.

A revaluation row posts one Revaluation value entry per revalued inbound entry (R80, R170.4) with
amount 0; cost adjustment gives each its amount (R81, R85), every round before the targets
(R170.15), because a cost-receiving entry's unit value is its adjusted cost and an AVERAGE pool's
unit cost is made of adjusted amounts. Shares (R71, R83), Rounding (R76), valuation dates (R92)
and the pools (R94 item 3, R96 step 1, R101) read the entries posted here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from tests.reference.arith import ZERO, cumulative_split, exact, round_to
from tests.reference.book import COST_ELEMENTS, RECEIVING, Book, Entry, Value

REVALUATION = "Revaluation"


@dataclass
class Revaluation:
    """A posted revaluation row: date d, new unit cost c, the entry named by applies_to."""

    transaction_no: int
    posting_date: dt.date
    item_no: str
    new_cost: Fraction
    applies_to_entry: int | None  # the inbound entry named (a transfer's to-leg, R10)


def revaluations_of(book: Book) -> list[Revaluation]:
    """The revaluations posted into `book`, in posting order."""
    return book.revaluations


def revaluation(book: Book, transaction_no: int) -> Revaluation:
    return next(r for r in revaluations_of(book) if r.transaction_no == transaction_no)


# --- R84 -----------------------------------------------------------------------------------

def standard_cost_in_force(book: Book, item_no: str, before_tx: int | None = None) -> Fraction:
    """R84/R24: the new cost of the item's last revaluation without applies_to posted before
    `before_tx` (all of them if None), else items.standard_cost. With applies_to it stays."""
    per_item = [r for r in revaluations_of(book) if r.item_no == item_no
                and r.applies_to_entry is None
                and (before_tx is None or r.transaction_no < before_tx)]
    if per_item:
        return per_item[-1].new_cost
    return exact(book.item(item_no)["standard_cost"])


# --- R80 -----------------------------------------------------------------------------------

def invoiced_before(book: Book, entry: Entry, tx_no: int) -> bool:
    """R80: completely invoiced by transactions before `tx_no` (STANDARD items: invoiced or not)."""
    if book.method(entry.item_no) == "STANDARD":
        return True
    invoiced = sum((v.invoiced_quantity for v in book.values_of(entry)
                    if v.transaction_no is not None and v.transaction_no < tx_no), ZERO)
    return invoiced == entry.quantity


def counted(book: Book, outbound: Entry, r: Revaluation) -> bool:
    """R80: an outbound counted in r (it keeps the old cost, R83): posted before R, dated by d."""
    return outbound.transaction_no < r.transaction_no and outbound.posting_date <= r.posting_date


def revaluable_quantity(book: Book, entry: Entry, r: Revaluation) -> Fraction:
    """R80: r_i = q_i - sum of a over the outbounds applied to i that R counts; 0 when i was
    posted after R, dated after d, or not completely invoiced before R."""
    if (not entry.inbound or entry.item_no != r.item_no
            or entry.transaction_no >= r.transaction_no or entry.posting_date > r.posting_date
            or not invoiced_before(book, entry, r.transaction_no)):
        return ZERO
    used = sum((-a.quantity for a in book.applications
                if a.inbound_item_entry_no == entry.entry_no and not a.cost_application
                and a.outbound_item_entry_no is not None
                and counted(book, book.entry(a.outbound_item_entry_no), r)), ZERO)
    return entry.quantity - used


def revalued_entries(book: Book, r: Revaluation) -> list[tuple[Entry, Fraction]]:
    """R80: (entry, r_i > 0) in entry order; with applies_to that entry only, every inbound entry
    of the item otherwise (all locations and variants)."""
    if r.applies_to_entry is not None:
        candidates = [book.entry(r.applies_to_entry)]
    else:
        candidates = [e for e in book.entries if e.inbound and e.item_no == r.item_no]
    pairs = [(e, revaluable_quantity(book, e, r)) for e in candidates]
    return [(e, q) for e, q in pairs if q > 0]


# --- R81 / R85 -----------------------------------------------------------------------------

def revaluation_values(book: Book, entry: Entry) -> list[Value]:
    """The entry's Revaluation value entries, in posting order."""
    return [v for v in book.values_of(entry) if v.entry_type == REVALUATION]


def _own_posted(book: Book, entry: Entry) -> Fraction:
    return sum((v.value for v in book.values_of(entry)
                if v.transaction_no == entry.transaction_no), ZERO)


def unit_value(book: Book, entry: Entry, r: Revaluation, targets: dict[int, Fraction]) -> Fraction:
    """R81: u_i = B_i/q_i over its base entries from transactions before R dated on or before d
    (a cost-receiving entry at its adjusted cost: its target), plus A_R'/r_R' for each earlier
    revaluation R' of i."""
    b = sum((v.value for v in book.values_of(entry)
             if v.entry_type in COST_ELEMENTS and not v.adjustment
             and v.transaction_no < r.transaction_no and v.posting_date <= r.posting_date), ZERO)
    if entry.role == RECEIVING:
        b += targets[entry.entry_no] - _own_posted(book, entry)
    earlier = sum((v.cost_amount_actual / v.valued_quantity for v in revaluation_values(book, entry)
                   if v.transaction_no < r.transaction_no), ZERO)
    return b / entry.quantity + earlier


def entry_amount(book: Book, value: Value, r: Revaluation, targets: dict[int, Fraction]
                 ) -> Fraction:
    """R81: A_R = round(r_i*c) - round(r_i*u_i)."""
    p, q = book.precision, value.valued_quantity
    u = unit_value(book, book.entry(value.item_ledger_entry_no), r, targets)
    return round_to(q * r.new_cost, p) - round_to(q * u, p)


def per_pool(book: Book, r: Revaluation) -> bool:
    """R85: a revaluation without applies_to of an AVERAGE item is computed per pool."""
    return r.applies_to_entry is None and book.method(r.item_no) == "AVERAGE"


def pool_unit_cost(book: Book, members: list[Entry], r: Revaluation,
                   targets: dict[int, Fraction]) -> Fraction:
    """R85: value over quantity of the pool's value entries with valuation date <= d created by
    transactions before R, or adjustment entries of entries posted before R, at adjusted amounts
    (a cost recipient at its target); earlier Revaluation entries at their current amounts.
    R170.9: an empty pool has unit cost 0."""
    q, c = ZERO, ZERO
    for e in members:
        for v in revaluation_values(book, e):
            if v.transaction_no < r.transaction_no and v.valuation_date <= r.posting_date:
                c += v.cost_amount_actual
        if e.transaction_no >= r.transaction_no or e.valuation_date > r.posting_date:
            continue
        q += e.quantity
        own = [v for v in book.values_of(e) if v.entry_type in COST_ELEMENTS
               and not v.adjustment and v.transaction_no < r.transaction_no]
        if e.role == RECEIVING or not e.inbound:
            # its own posting entries plus its adjustments are its target; a shipment's later
            # invoices only move expected cost to actual (R25), charges come on top (R61)
            c += targets[e.entry_no] + sum((v.value for v in own
                                            if v.transaction_no != e.transaction_no
                                            and e.inbound), ZERO)
        else:
            c += sum((v.value for v in own), ZERO)
    return c / q if q != 0 else ZERO


def pool_amounts(book: Book, r: Revaluation, targets: dict[int, Fraction]
                 ) -> dict[int, Fraction]:
    """R85 per pool: A = round(r_P*c) - round(r_P*u_P), split over the pool's revalued entries by
    R3 with weights r_i in entry order. Returns entry_no -> amount."""
    from tests.reference.average import pool_of  # average reads this module's entries

    p = book.precision
    values = [v for v in book.values if v.entry_type == REVALUATION
              and v.transaction_no == r.transaction_no]
    pools: dict[tuple, list[Value]] = {}
    for v in values:
        pools.setdefault(pool_of(book, book.entry(v.item_ledger_entry_no)), []).append(v)
    out: dict[int, Fraction] = {}
    for pool, mine in pools.items():
        members = [e for e in book.entries if book.method(e.item_no) == "AVERAGE"
                   and pool_of(book, e) == pool]
        r_pool = sum((v.valued_quantity for v in mine), ZERO)
        u = pool_unit_cost(book, members, r, targets)
        total = round_to(r_pool * r.new_cost, p) - round_to(r_pool * u, p)
        parts = cumulative_split(total, [v.valued_quantity for v in mine], r_pool, p)
        out.update({v.item_ledger_entry_no: a for v, a in zip(mine, parts, strict=True)})
    return out


def revalue(book: Book, targets: dict[int, Fraction]) -> None:
    """R81, R85, R170.15: every Revaluation entry's amount from the current targets, in place, in
    posting order (a later revaluation of an entry starts from the earlier ones)."""
    for r in revaluations_of(book):
        mine = [v for v in book.values if v.entry_type == REVALUATION
                and v.transaction_no == r.transaction_no]
        if per_pool(book, r):
            amounts = pool_amounts(book, r, targets)
            for v in mine:
                v.cost_amount_actual = amounts[v.item_ledger_entry_no]
        else:
            for v in mine:
                v.cost_amount_actual = entry_amount(book, v, r, targets)


# --- R71 / R76 / R83 -----------------------------------------------------------------------

def affects(book: Book, value: Value, outbound: Entry) -> bool:
    """R83: a revaluation reaches an outbound it did not count: posted after R, or dated after d."""
    return outbound.transaction_no > value.transaction_no or outbound.posting_date > (
        value.posting_date)


def revaluation_shares(book: Book, inbound: Entry, a: Fraction, outbound: Entry) -> Fraction:
    """R71: sum of round(a*A_R/r_R) over the revaluations of `inbound` that affect `outbound`."""
    return sum((round_to(a * v.cost_amount_actual / v.valued_quantity, book.precision)
                for v in revaluation_values(book, inbound) if affects(book, v, outbound)), ZERO)


def revalued_total(book: Book, inbound: Entry) -> Fraction:
    """R76: sum of A_R over the inbound's revaluations."""
    return sum((v.cost_amount_actual for v in revaluation_values(book, inbound)), ZERO)


def existed_when_applied(value: Value, made_by: int) -> bool:
    """R92: a Revaluation entry is among an inbound's value entries when an application was made
    if R was posted no later than the transaction that made it."""
    return value.transaction_no <= made_by


# --- posting (R31, R80, R160, R170.4, R170.11) ------------------------------------------------

def post_revaluation(book: Book, tx: dict) -> list[Value]:
    """R31/R80: one Revaluation entry per revalued entry, in entry order, amount 0 until cost
    adjustment (R81, R85); R170.4: written even when its amount will end at 0.00.

    Validation (R160) is the caller's: an AVERAGE revaluation on a period's last day, not dated
    before an earlier-posted revaluation of the item, applies_to an earlier inbound (R170.1).
    """
    named = None
    if tx.get("applies_to") is not None:
        named = book.entries_of_tx[tx["applies_to"]][-1]  # a transfer's to-leg (R10)
    r = Revaluation(transaction_no=tx["transaction_no"], posting_date=tx["posting_date"],
                    item_no=tx["item_no"], new_cost=exact(tx["unit_cost"]),
                    applies_to_entry=named)
    created = []
    for entry, q in revalued_entries(book, r):
        v = Value(item_ledger_entry_no=entry.entry_no, transaction_no=r.transaction_no,
                  entry_type=REVALUATION, posting_date=r.posting_date,
                  document_no=tx["document_no"], gen_bus_posting_group=tx["gen_bus_posting_group"],
                  valued_quantity=q, item_charge_no=tx.get("item_charge_no") or None,
                  valuation_date=r.posting_date)  # R92: its own posting date
        book.values.append(v)
        created.append(v)
    revaluations_of(book).append(r)
    return created
