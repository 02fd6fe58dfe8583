"""Where the costing stage and the reference disagree on AVERAGE histories and the reference
follows costing.md.

Each disagreement is pinned by a strict xfail in test_differential_average.py; random histories
hitting one are left out of the comparisons (and counted as a hypothesis event) until the stage is
fixed. When a pinned test starts passing, remove its case here.
"""

from __future__ import annotations

from hypothesis import event, note

from pipelines.costing import Ledger, cost_ledger
from pipelines.errors import NotSupportedYet
from tests.known_disagreements import known_disagreement, refusals_for
from tests.reference import average, reference_book
from tests.reference.adjust import quantity_applications
from tests.reference.book import OUTBOUND, RECEIVING, Book, Entry
from tests.strategies import History


def feeds_itself(book: Book) -> bool:
    """R60: some average-valued decrease's cost depends on itself: its pool (up to its period's
    end) holds a cost recipient whose cost comes, along applications (R72), transfers (R73),
    returns (R74) or other pools, from the decrease. A superset: every member valued by then is
    taken as a dependency."""
    def sources(e: Entry) -> list[Entry]:
        if average.valued_by_average(book, e):
            end = average.period_end(book, e.valuation_date)
            pool = average.pool_of(book, e)
            return [m for m in book.entries if average.is_average(book, m) and m is not e
                    and average.pool_of(book, m) == pool and m.valuation_date <= end]
        if e.role == RECEIVING:
            return [book.entry(e.source_entry)]
        if e.role == OUTBOUND:
            return [book.entry(a.inbound_item_entry_no) for a in quantity_applications(book, e)]
        return []

    for d in book.entries:
        if not average.valued_by_average(book, d):
            continue
        seen: set[int] = set()
        todo = sources(d)
        while todo:
            e = todo.pop()
            if e is d:
                return True
            if e.entry_no not in seen:
                seen.add(e.entry_no)
                todo += sources(e)
    return False


def known_average_disagreement(h: History, book: Book) -> str | None:
    """The disagreement `h` hits (a short name and its pinned test), or None."""
    known = known_disagreement(h, book)
    if known is not None:
        return known
    return None


def costed_unless_known(h: History, refusals: tuple[str, ...] = ()) -> tuple[Book, Ledger] | None:
    """The reference book of `h` and the stage's ledger of it; None, with a hypothesis event
    saying why, when `h` hits a pinned disagreement or the stage refuses it (NotSupportedYet) by
    one of the `refusals` the reference's book names (`refusals_for`). Any other refusal raises."""
    book = reference_book(h.transaction_rows, h.item_rows, h.settings, h.period_rows,
                          h.accounting_period_rows)
    known = known_average_disagreement(h, book)
    if known is not None:
        event(f"left out: {known}")
        return None
    try:
        got = cost_ledger(h.transactions, h.items, h.inventory_periods, h.settings,
                          h.accounting_periods)
    except NotSupportedYet as exc:
        accepted = [r for r in refusals_for(book, refusals) if r in str(exc)]
        if not accepted:
            raise
        event(f"cost_ledger: NotSupportedYet ({accepted[0]})")
        note(f"NotSupportedYet: {exc}")
        return None
    return book, got
