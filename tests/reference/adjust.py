"""Adjust Cost - Item Entries, one run (R60-R76), with valuation dates (R92) and dates (R110, R111).

This slice: FIFO items whose inbounds are all cost sources, so every target is known after one
round; the fixed-point loop of R60 is written anyway so that cost-receiving inbounds (transfers,
returns, R73/R74) can make targets depend on targets in later slices.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from pipelines.settings import Settings
from tests.reference.arith import ZERO, cumulative_split, round_to
from tests.reference.book import COST_ELEMENTS, OUTBOUND, RECEIVING, Book, Entry, Value

MAX_ROUNDS = 100  # R60


# --- R110 / R111 ---------------------------------------------------------------------------

def first_allowed_date(settings: Settings, inventory_periods: list[dict]) -> dt.date | None:
    """R110: the later of allow_posting_from and the day after the last closed period's end."""
    candidates = []
    if settings.allow_posting_from is not None:
        candidates.append(settings.allow_posting_from)
    closed = [p["ending_date"] for p in inventory_periods if p["closed"]]
    if closed:  # [ours] closed periods are a prefix: everything up to the last closed end
        candidates.append(max(closed) + dt.timedelta(days=1))
    return max(candidates) if candidates else None


def adjustment_date(book: Book, applied: Value) -> dt.date:
    """R111: the applied entry's posting date if allowed, else the first allowed date."""
    first = first_allowed_date(book.settings, book.inventory_periods)
    if first is None or applied.posting_date >= first:
        return applied.posting_date
    return first


# --- R92 -----------------------------------------------------------------------------------

def assign_valuation_dates(book: Book) -> None:
    """R92: valuation date of every entry and of its (non-Revaluation) value entries."""
    memo: dict[int, dt.date] = {}

    def value_date(entry: Entry, value: Value) -> dt.date:
        # Revaluation entries (later slice) would carry their own posting date
        assert value.entry_type != "Revaluation"
        return of(entry)

    def of(entry: Entry) -> dt.date:
        if entry.entry_no in memo:
            return memo[entry.entry_no]
        if entry.role == RECEIVING:
            raise NotImplementedError("R92 for transfer to-legs and returns")
        date = entry.posting_date  # cost sources: their own posting date
        if entry.role == OUTBOUND:  # latest of its date and its inbounds' values then existing
            for app in quantity_applications(book, entry):
                inbound = book.entry(app.inbound_item_entry_no)
                existing = [v for v in book.values_of(inbound)
                            if v.transaction_no is not None and v.transaction_no <= app.made_by]
                date = max([date] + [value_date(inbound, v) for v in existing])
        memo[entry.entry_no] = date
        return date

    for entry in book.entries:
        entry.valuation_date = of(entry)
    for value in book.values:
        value.valuation_date = book.entry(value.item_ledger_entry_no).valuation_date


# --- R70 - R72 -----------------------------------------------------------------------------

def base(book: Book, inbound: Entry) -> Fraction:
    """R70: B_i, the value of the inbound's Direct/Indirect/Variance entries (charges included)."""
    return sum((v.value for v in book.values_of(inbound) if v.entry_type in COST_ELEMENTS), ZERO)


def share(book: Book, inbound: Entry, applied_qty: Fraction) -> Fraction:
    """R71: round(a*B_i/q_i) (revaluation terms: later slice)."""
    return round_to(applied_qty * base(book, inbound) / inbound.quantity, book.precision)


def quantity_applications(book: Book, outbound: Entry):
    return [a for a in book.applications
            if a.outbound_item_entry_no == outbound.entry_no and not a.cost_application]


def target(book: Book, entry: Entry) -> Fraction:
    """R61/R72: T(o) = -sum of shares, plus the unapplied part at its posting cost (R170.8)."""
    if entry.role != OUTBOUND:
        raise NotImplementedError("R73/R74 targets of cost-receiving inbounds")
    t = -sum((share(book, book.entry(a.inbound_item_entry_no), -a.quantity)
              for a in quantity_applications(book, entry)), ZERO)
    return t - round_to(-entry.remaining_quantity * entry.u0, book.precision)


# --- R62 / R63 -----------------------------------------------------------------------------

def _adjustment(book: Book, entry: Entry, applied: Value, **amounts) -> Value:
    """R63: an adjustment entry applying to `applied`, fields copied from it, date by R111."""
    return Value(
        item_ledger_entry_no=entry.entry_no, transaction_no=None, entry_type="Direct Cost",
        posting_date=adjustment_date(book, applied), document_no=applied.document_no,
        gen_bus_posting_group=applied.gen_bus_posting_group,
        valued_quantity=applied.valued_quantity, adjustment=True, applies_to=applied,
        valued_by_average_cost=applied.valued_by_average_cost,
        valuation_date=applied.valuation_date, **amounts,
    )


def adjustment_entries(book: Book, entry: Entry, t: Fraction) -> list[Value]:
    """R62 split of the target into actual (per invoice entry) and expected parts; R63 entries."""
    originals = [v for v in book.values_of(entry) if not v.adjustment]
    invoices = [v for v in originals if v.invoiced_quantity != 0]
    actual_targets = cumulative_split(t, [v.invoiced_quantity for v in invoices], entry.quantity,
                                      book.precision)
    new: list[Value] = []
    expected_target = t - sum(actual_targets, ZERO)
    expected_diff = expected_target - sum((v.cost_amount_expected for v in book.values_of(entry)),
                                          ZERO)
    if expected_diff != 0:
        new.append(_adjustment(book, entry, originals[0], cost_amount_expected=expected_diff,
                               expected_cost=True))
    for v, v_target in zip(invoices, actual_targets, strict=True):
        diff = v_target - v.cost_amount_actual
        if diff != 0:
            new.append(_adjustment(book, entry, v, cost_amount_actual=diff))
    return new


# --- R76 -----------------------------------------------------------------------------------

def rounding_entry(book: Book, inbound: Entry) -> Value | None:
    """R76: on a closed, completely invoiced inbound: forwarded shares minus its own value."""
    if inbound.remaining_quantity != 0 or inbound.invoiced_quantity != inbound.quantity:
        return None
    forwarded = sum((share(book, inbound, -a.quantity) for a in book.applications
                     if a.inbound_item_entry_no == inbound.entry_no
                     and a.outbound_item_entry_no is not None and not a.cost_application), ZERO)
    amount = forwarded - base(book, inbound)  # + sum of A_R: revaluation, later slice
    if amount == 0:
        return None
    applied = [v for v in book.values_of(inbound) if not v.adjustment
               and v.entry_type == "Direct Cost" and v.invoiced_quantity != 0][-1]
    return Value(
        item_ledger_entry_no=inbound.entry_no, transaction_no=None, entry_type="Rounding",
        posting_date=adjustment_date(book, applied), document_no=applied.document_no,
        gen_bus_posting_group=applied.gen_bus_posting_group, valued_quantity=inbound.quantity,
        cost_amount_actual=amount, adjustment=True, applies_to=applied,
        valuation_date=applied.valuation_date,
    )


# --- the run -------------------------------------------------------------------------------

def adjust_cost(book: Book) -> None:
    """R60: targets to a fixed point, then one set of adjustment entries and Rounding entries."""
    assign_valuation_dates(book)
    recipients = [e for e in book.entries if e.role in (OUTBOUND, RECEIVING)]
    targets: dict[int, Fraction] = {}
    for _ in range(MAX_ROUNDS):
        # In this slice a target reads only cost-source bases, so round 2 repeats round 1.
        new = {e.entry_no: target(book, e) for e in recipients}
        if new == targets:
            break
        targets = new
    else:
        raise NotImplementedError("R60 items that do not settle (cannot happen in this slice)")
    created: list[Value] = []
    for entry in recipients:
        created += adjustment_entries(book, entry, targets[entry.entry_no])
    # R76 after the targets: B_i of a cost-receiving inbound includes its adjustments (later).
    for entry in book.entries:
        if entry.inbound and book.item(entry.item_no)["costing_method"] != "AVERAGE":
            rounding = rounding_entry(book, entry)
            if rounding is not None:
                created.append(rounding)
    book.values += created


def unit_cost_of(value: Value, unit_precision: Fraction) -> Fraction:
    """R33 cost_per_unit: actual/invoiced, else value/valued quantity, else 0; unit-rounded."""
    if value.invoiced_quantity != 0:
        return round_to(value.cost_amount_actual / value.invoiced_quantity, unit_precision)
    if value.valued_quantity != 0:
        return round_to(value.value / value.valued_quantity, unit_precision)
    return ZERO

