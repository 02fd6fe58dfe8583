"""Where the costing stage and the reference disagree and the reference follows costing.md.

Each disagreement is pinned by a strict xfail in test_differential.py; random histories hitting
one are left out of the comparisons (and counted as a hypothesis event) until the stage is fixed.
When a pinned test starts passing, remove its case here.

Refusals are not disagreements: the stage may refuse a history by name (NotSupportedYet) where
costing.md lists the case as not supported yet; `refusals_for` adds the ones this history can
meet.
"""

from __future__ import annotations

from hypothesis import event, note

from pipelines.costing import Ledger, cost_ledger
from pipelines.errors import NotSupportedYet
from tests.reference import reference_book
from tests.reference.book import Book
from tests.strategies import History

R44A_REFUSAL = "(R44a)"  # a to-leg passing over one open outbound and closing another
# a fixed application to a passing to-leg: whether its units stay for it is not modelled
R44A_FIXED_REFUSAL = "a fixed application to a to-leg that passes over"


def known_disagreement(h: History, book: Book) -> str | None:  # noqa: ARG001 - the registry
    """The disagreement `h` hits (a short name and its pinned test), or None."""
    return None


def refusals_for(book: Book, refusals: tuple[str, ...]) -> tuple[str, ...]:
    """`refusals`, plus R44a's where the reference passes over an outbound (`book.passed_over`):
    a fixed application to the passing to-leg, or any R44a refusal on a key the stage closes
    by posting date, one with a back-dated outbound (there a passing to-leg closes nothing, so
    one that closes another outbound is refused)."""
    refusable = any(_closes_nothing_when_passing(book, inbound)
                    for inbound, _ in book.passed_over)
    return (refusals + ((R44A_FIXED_REFUSAL,) if book.passed_over else ())
            + ((R44A_REFUSAL,) if refusable else ()))


def _closes_nothing_when_passing(book: Book, inbound: int) -> bool:
    entry = book.entry(inbound)
    return _back_dated([e.posting_date for e in book.entries
                        if e.key == entry.key and not e.inbound])


def _back_dated(dates: list) -> bool:
    """R41: an entry dated before an earlier-posted one of its side."""
    return any(date < max(dates[:k]) for k, date in enumerate(dates) if k)


def costed_unless_known(h: History, refusals: tuple[str, ...] = ()) -> tuple[Book, Ledger] | None:
    """The reference book of `h` and the stage's ledger of it; None, with a hypothesis event
    saying why, when `h` hits a pinned disagreement or the stage refuses it (NotSupportedYet) by
    one of the `refusals` the reference's book names (`refusals_for`). Any other refusal raises."""
    book = reference_book(h.transaction_rows, h.item_rows, h.settings, h.period_rows,
                          h.accounting_period_rows)
    known = known_disagreement(h, book)
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
