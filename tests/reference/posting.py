"""Posting one transaction: item ledger entry, value entries, applications (R10-R33, R40-R51).

One function per transaction type, dispatched by `POSTERS`. Types of later slices (receipts and
invoices, returns, transfers, revaluation) are missing from `POSTERS` and raise NotImplementedError.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.errors import InputError, Problem
from tests.reference.application import apply_inbound, apply_outbound
from tests.reference.arith import ZERO, exact, round_to
from tests.reference.book import OUTBOUND, SOURCE, Book, Entry, Value

SUPPORTED_METHODS = ("FIFO",)  # later: LIFO (R42), SPECIFIC (R77), STANDARD (R24), AVERAGE (§8)


def _problem(tx: dict, column: str, rule: str) -> InputError:
    return InputError([Problem("transactions", f"transaction_no={tx['transaction_no']}", column,
                               str(tx.get(column)), rule)])


def _new_entry(book: Book, tx: dict, entry_type: str, sign: int, role: str) -> Entry:
    """R11/R12: the next item ledger entry, fully invoiced (every type of this slice is)."""
    q = sign * exact(tx["quantity"])
    entry = Entry(
        entry_no=len(book.entries) + 1, transaction_no=tx["transaction_no"], tx_type=tx["type"],
        entry_type=entry_type, posting_date=tx["posting_date"], item_no=tx["item_no"],
        location_code=tx.get("location_code") or "", variant_code=tx.get("variant_code") or "",
        quantity=q, invoiced_quantity=q, remaining_quantity=q, role=role,
    )
    book.entries.append(entry)
    book.entries_of_tx.setdefault(tx["transaction_no"], []).append(entry.entry_no)
    return entry


def _value(book: Book, entry: Entry, tx: dict, entry_type: str, **fields) -> Value:
    """R20: a value entry with the common fields of its entry and its transaction."""
    value = Value(
        item_ledger_entry_no=entry.entry_no, transaction_no=tx["transaction_no"],
        entry_type=entry_type, posting_date=tx["posting_date"],
        document_no=tx["document_no"], gen_bus_posting_group=tx["gen_bus_posting_group"],
        item_charge_no=tx.get("item_charge_no") or None, **fields,
    )
    book.values.append(value)
    return value


def _fixed_target(book: Book, tx: dict) -> int | None:
    """The inbound entry named by `applies_to` (R10, R43, R170.1), checked as R160 says."""
    if tx.get("applies_to") is None:
        return None
    target_tx = tx["applies_to"]
    if target_tx not in book.entries_of_tx or target_tx >= tx["transaction_no"]:
        raise _problem(tx, "applies_to", "must name an earlier-posted transaction (R160)")
    inbound = [n for n in book.entries_of_tx[target_tx] if book.entry(n).inbound]
    if not inbound or book.entry(inbound[0]).item_no != tx["item_no"]:
        raise _problem(tx, "applies_to", "must name an inbound entry of the same item (R160)")
    return inbound[0]


def post_increase(book: Book, tx: dict, entry_type: str, *, indirect: bool) -> None:
    """R21 purchase / R28 positive_adjustment: Direct Cost round(q*c) (+ Indirect Cost), R44."""
    if tx.get("applies_to") is not None:
        raise _problem(tx, "applies_to", "not allowed on this type (R10)")
    entry = _new_entry(book, tx, entry_type, +1, SOURCE)
    q, c = entry.quantity, exact(tx["unit_cost"])
    _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           invoiced_quantity=q, cost_amount_actual=round_to(q * c, book.precision))
    if indirect:
        item = book.item(entry.item_no)
        pct = exact(item.get("indirect_cost_pct")) or ZERO
        overhead = exact(item.get("overhead_rate")) or ZERO
        amount = round_to(q * (c * pct / 100 + overhead), book.precision)
        if amount != 0:  # R21, R32: only when non-zero; R170.3: no quantities but valued_quantity
            _value(book, entry, tx, "Indirect Cost", valued_quantity=q, cost_amount_actual=amount)
    apply_inbound(book, entry, tx)


def post_decrease(book: Book, tx: dict, entry_type: str) -> None:
    """R25 sale / R27 negative_adjustment: Direct Cost -C with C from R51; optional R43."""
    fixed = _fixed_target(book, tx)
    entry = _new_entry(book, tx, entry_type, -1, OUTBOUND)
    entry.applies_to_entry = fixed
    cost = apply_outbound(book, entry, tx)
    sales = (exact(tx.get("sales_amount")) or ZERO) if tx["type"] == "sale" else ZERO
    q = entry.quantity
    _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           invoiced_quantity=q, cost_amount_actual=-cost,
           sales_amount_actual=round_to(sales, book.precision))


CHARGEABLE = ("purchase", "positive_adjustment")  # later: receipts, returns, to-legs (R30)


def post_item_charge(book: Book, tx: dict) -> None:
    """R30: a Direct Cost entry of `amount` on the inbound entry named by applies_to."""
    target_tx = tx.get("applies_to")
    if target_tx is None or target_tx not in book.entries_of_tx:
        raise _problem(tx, "applies_to", "an item charge must name an earlier inbound (R30)")
    if book.tx_type[target_tx] not in CHARGEABLE:
        raise NotImplementedError(f"item charge on a {book.tx_type[target_tx]}")
    entry = book.entry(_fixed_target(book, tx))
    _value(book, entry, tx, "Direct Cost", valued_quantity=entry.quantity,
           cost_amount_actual=round_to(exact(tx["amount"]), book.precision))


POSTERS: dict[str, Callable[[Book, dict], None]] = {
    "purchase": lambda b, tx: post_increase(b, tx, "Purchase", indirect=True),
    "positive_adjustment": lambda b, tx: post_increase(b, tx, "Positive Adjmt.", indirect=False),
    "sale": lambda b, tx: post_decrease(b, tx, "Sale"),
    "negative_adjustment": lambda b, tx: post_decrease(b, tx, "Negative Adjmt."),
    "item_charge": post_item_charge,
    # later slices: purchase_receipt, purchase_invoice, purchase_return, sales_shipment,
    # sales_invoice, sales_return, transfer, revaluation
}


def post_transaction(book: Book, tx: dict) -> None:
    """Post one row, in transaction_no order (R4, R170.14)."""
    if book.last_tx is not None and tx["transaction_no"] <= book.last_tx:
        raise ValueError("post transactions in increasing transaction_no order")
    if tx["item_no"] not in book.items:
        raise _problem(tx, "item_no", "must exist in items")
    method = book.item(tx["item_no"])["costing_method"]
    if method not in SUPPORTED_METHODS:
        raise NotImplementedError(f"costing method {method}")
    if tx["type"] not in POSTERS:
        raise NotImplementedError(f"transaction type {tx['type']}")
    POSTERS[tx["type"]](book, tx)
    book.tx_type[tx["transaction_no"]] = tx["type"]
    book.last_tx = tx["transaction_no"]
