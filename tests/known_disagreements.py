"""Where the costing stage and the reference disagree and the reference follows costing.md.

Each disagreement is pinned by a strict xfail in test_differential.py; random histories hitting
one are left out of the comparisons (and counted as a hypothesis event) until the stage is fixed.
When a pinned test starts passing, remove its case here.
"""

from __future__ import annotations

from tests.reference.book import Book
from tests.strategies import History


def known_disagreement(h: History, book: Book) -> str | None:
    """The disagreement `h` hits (a short name and its pinned test), or None."""
    fixed_to = {book.entry(n).applies_to_entry for n in range(1, len(book.entries) + 1)
                if not book.entry(n).inbound}
    if fixed_to & set(book.open_key_returns):  # R43/R45: valid, the stage says InputError
        return ("fixed application to a return on a key with open outbounds "
                "(test_fixed_application_to_an_open_r45_return_is_valid)")
    if book.passed_over:  # R44a: the stage applies what the reference passes over
        return "R44a pass-over (test_r44a_to_leg_does_not_close_the_sale_it_depends_on)"
    return None
