"""Adjust Cost - Item Entries, one run (R60-R76), with valuation dates (R92) and dates (R110, R111).

FIFO, STANDARD and SPECIFIC items (§6), AVERAGE items (§8, `average.py`) and revaluations (§7,
`revaluation.py`). Targets depend on targets along chains (purchase -> transfer -> transfer ->
sale -> return) and, for AVERAGE items, through the pools; revaluation amounts depend on adjusted
costs: all are recomputed from the costs at posting until no amount changes (R60, R170.15).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from pipelines.settings import Settings
from tests.reference import average, revaluation
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
        if value.entry_type == revaluation.REVALUATION:  # its own posting date
            return value.posting_date
        return of(entry)

    def of(entry: Entry) -> dt.date:
        if entry.entry_no in memo:
            return memo[entry.entry_no]
        if entry.role == RECEIVING and entry.tx_type == "transfer":
            date = of(book.entry(entry.source_entry))  # to-leg: the from-leg's valuation date
            memo[entry.entry_no] = date
            return date
        date = entry.posting_date  # cost sources and returns with applies_to: their own date
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
        if value.entry_type != revaluation.REVALUATION:
            value.valuation_date = book.entry(value.item_ledger_entry_no).valuation_date


# --- R70 - R74 -----------------------------------------------------------------------------

Targets = dict[int, Fraction]  # entry_no -> target value T of a cost recipient (R61)


def own_posted_value(book: Book, entry: Entry) -> Fraction:
    """The value the entry's own transaction posted on it (a cost recipient's cost at posting)."""
    return sum((v.value for v in book.values_of(entry)
                if v.transaction_no == entry.transaction_no), ZERO)


def base(book: Book, inbound: Entry, targets: Targets) -> Fraction:
    """R70: B_i, the value of the inbound's Direct/Indirect/Variance entries (charges included).

    R61: a cost-receiving inbound's own posting entry plus its adjustments is its target; item
    charges on it come on top.
    """
    b = sum((v.value for v in book.values_of(inbound)
             if v.entry_type in COST_ELEMENTS and not v.adjustment), ZERO)
    if inbound.role == RECEIVING:
        b += targets[inbound.entry_no] - own_posted_value(book, inbound)
    return b


def share(book: Book, inbound: Entry, applied_qty: Fraction, targets: Targets,
          outbound: Entry) -> Fraction:
    """R71: round(a*B_i/q_i) + sum of round(a*A_R/r_R) over the revaluations of i that affect
    the outbound (R83)."""
    return round_to(applied_qty * base(book, inbound, targets) / inbound.quantity,
                    book.precision) + revaluation.revaluation_shares(book, inbound, applied_qty,
                                                                     outbound)


def quantity_applications(book: Book, outbound: Entry):
    return [a for a in book.applications
            if a.outbound_item_entry_no == outbound.entry_no and not a.cost_application]


def target(book: Book, entry: Entry, targets: Targets) -> Fraction:
    """R61: the target of a cost recipient from the current targets of the others.

    R72 outbound: -sum of shares, plus the unapplied part at its posting cost (R170.8).
    R73 transfer to-leg: -T(from-leg).
    R74 sales return with applies_to: its part of the cumulative split of -T(sale) over the
    sale's returns in entry order, weights their quantities, whole |q_s|.
    """
    if entry.role == OUTBOUND:
        t = -sum((share(book, book.entry(a.inbound_item_entry_no), -a.quantity, targets, entry)
                  for a in quantity_applications(book, entry)), ZERO)
        return t - round_to(-entry.remaining_quantity * entry.u0, book.precision)
    source = book.entry(entry.source_entry)
    if entry.tx_type == "transfer":
        return -targets[source.entry_no]
    returns = book.returns_of(source)
    parts = cumulative_split(-targets[source.entry_no], [r.quantity for r in returns],
                             -source.quantity, book.precision)
    return parts[returns.index(entry)]


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

def rounding_entry(book: Book, inbound: Entry, targets: Targets) -> Value | None:
    """R76: on a closed, completely invoiced inbound: forwarded shares minus its own value."""
    if inbound.remaining_quantity != 0 or inbound.invoiced_quantity != inbound.quantity:
        return None
    forwarded = sum((share(book, inbound, -a.quantity, targets,
                           book.entry(a.outbound_item_entry_no)) for a in book.applications
                     if a.inbound_item_entry_no == inbound.entry_no
                     and a.outbound_item_entry_no is not None and not a.cost_application), ZERO)
    amount = forwarded - (base(book, inbound, targets) + revaluation.revalued_total(book, inbound))
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

def settle(book: Book, start: Targets | None = None, *,
           what_if: bool = True) -> tuple[Targets, set[str]]:
    """R60, R170.15: targets from the costs at posting, updated in place round by round (the
    revaluation amounts, then the targets in entry order, then the average pools period by
    period, §8) until no amount changes; after MAX_ROUNDS, the items whose targets or
    revaluation amounts still change did not settle; their Revaluation entries keep the amounts
    computed from the posting amounts (R60).

    `start` replaces the costs at posting as the starting point (to tell whether an average
    pool that feeds itself has more than one fixed point; R60 starts from the costs at posting);
    `what_if` then leaves the Revaluation amounts as they were.
    """
    recipients = [e for e in book.entries if e.role in (OUTBOUND, RECEIVING)]
    targets: Targets = {e.entry_no: own_posted_value(book, e) for e in recipients}
    targets.update(start or {})

    def value_of(entry: Entry) -> Fraction:
        """R94: an entry's value at its adjusted amount. In place (R170.15): a cost-receiving
        inbound's target follows its source's current target at once (R73, R74), so a pool
        sees a transfer from another pool valued earlier in the same round at its new cost."""
        if entry.role == RECEIVING:
            targets[entry.entry_no] = target(book, entry, targets)
        return base(book, entry, targets) if entry.inbound else targets[entry.entry_no]

    revaluations = [v for v in book.values if v.entry_type == revaluation.REVALUATION]

    def amounts() -> list[Fraction]:
        return [v.cost_amount_actual for v in revaluations]

    if start is not None and what_if:  # leave the Revaluation amounts as they were
        kept = amounts()
        try:
            return _rounds(book, recipients, targets, revaluations, amounts, value_of)
        finally:
            for v, a in zip(revaluations, kept, strict=True):
                v.cost_amount_actual = a
    return _rounds(book, recipients, targets, revaluations, amounts, value_of)


def _rounds(book: Book, recipients: list[Entry], targets: Targets, revaluations: list[Value],
            amounts, value_of) -> tuple[Targets, set[str]]:
    """The rounds of `settle` (R60, R170.15)."""
    at_posting: list[Fraction] | None = None
    for _ in range(MAX_ROUNDS):
        before, amounts_before = dict(targets), amounts()
        revaluation.revalue(book, targets)  # R81, R85 from the current targets
        if at_posting is None:
            at_posting = amounts()
        for e in recipients:
            if not average.valued_by_average(book, e):  # R61: those are §8's
                targets[e.entry_no] = target(book, e, targets)
        average.value_pools(book, targets, value_of, lambda r: target(book, r, targets))
        if targets == before and amounts() == amounts_before:
            return targets, set()
    changed = {book.entry(n).item_no for n in targets if targets[n] != before[n]} | {
        book.entry(v.item_ledger_entry_no).item_no
        for v, a in zip(revaluations, amounts_before, strict=True) if v.cost_amount_actual != a}
    for v, a in zip(revaluations, at_posting or [], strict=True):  # R60: from posting amounts
        if book.entry(v.item_ledger_entry_no).item_no in changed:
            v.cost_amount_actual = a
    return targets, changed


def adjust_cost(book: Book, start: Targets | None = None) -> set[str]:
    """R60: targets to a fixed point, then adjustment entries (R63) and Rounding entries (R76).

    An item that did not settle gets nothing (R60); the unsettled items are returned. `start`:
    the rounds start there instead of the costs at posting (another fixed point, if it is one).
    """
    assign_valuation_dates(book)
    targets, unsettled = settle(book, start, what_if=False)
    book.targets = targets
    created: list[Value] = []
    for entry in book.entries:
        if entry.item_no in unsettled:
            continue
        if entry.role in (OUTBOUND, RECEIVING):
            created += adjustment_entries(book, entry, targets[entry.entry_no])
    for entry in book.entries:  # R76 with the final bases (targets of cost-receiving inbounds)
        if entry.inbound and entry.item_no not in unsettled and (
                book.method(entry.item_no) != "AVERAGE"):  # R102: the pool keeps residuals
            rounding = rounding_entry(book, entry, targets)
            if rounding is not None:
                created.append(rounding)
    book.values += created
    return unsettled


def unit_cost_of(value: Value, unit_precision: Fraction) -> Fraction:
    """R33 cost_per_unit: actual/invoiced, else value/valued quantity, else 0; unit-rounded."""
    if value.invoiced_quantity != 0:
        return round_to(value.cost_amount_actual / value.invoiced_quantity, unit_precision)
    if value.valued_quantity != 0:
        return round_to(value.value / value.valued_quantity, unit_precision)
    return ZERO

