"""What the AVERAGE differential tests accept as a known gap: a pool that feeds its own cost
back (R60), which the stage may leave unsettled where the reference settles it.

Pinned disagreements and named refusals of every method are in `tests.known_disagreements`.
"""

from __future__ import annotations

from tests.reference import average
from tests.reference.adjust import quantity_applications
from tests.reference.book import OUTBOUND, RECEIVING, Book, Entry


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
