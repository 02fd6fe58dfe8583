"""Row-by-row reference of costing.md (R10-R111; FIFO, STANDARD, SPECIFIC, AVERAGE) for the diff
tests."""

from tests.reference.ledger import frames, new_book, reference_book, reference_ledger
from tests.reference.posting import post_transaction

__all__ = ["frames", "new_book", "post_transaction", "reference_book", "reference_ledger"]
