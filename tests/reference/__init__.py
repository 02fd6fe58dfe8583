"""Row-by-row reference implementation of costing.md, for differential tests (R10-R111)."""

from tests.reference.ledger import new_book, reference_ledger
from tests.reference.posting import post_transaction

__all__ = ["new_book", "post_transaction", "reference_ledger"]
