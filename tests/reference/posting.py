"""Posting one transaction: item ledger entries, value entries, applications (R10-R33, R40-R52).

One function per transaction type, dispatched by `POSTERS`. AVERAGE items post like FIFO items
(R41, R51); their cost is decided by cost adjustment (§8). A revaluation posts its Revaluation
entries at 0.00; cost adjustment gives them their amounts (§7, `revaluation.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from pipelines.errors import InputError, Problem
from tests.reference import average, revaluation
from tests.reference.application import apply_inbound, apply_outbound
from tests.reference.arith import ZERO, exact, round_to
from tests.reference.book import OUTBOUND, RECEIVING, SOURCE, Book, Entry, Value

SUPPORTED_METHODS = ("FIFO", "LIFO", "STANDARD", "SPECIFIC", "AVERAGE")
# R170.1: the transaction types whose (inbound) entry an outbound may be fixed-applied to
INBOUND_TYPES = ("purchase", "purchase_receipt", "positive_adjustment", "sales_return", "transfer")


def _problem(tx: dict, column: str, rule: str) -> InputError:
    return InputError([Problem("transactions", f"transaction_no={tx['transaction_no']}", column,
                               str(tx.get(column)), rule)])


def _new_entry(book: Book, tx: dict, entry_type: str, sign: int, role: str, *,
               invoiced: bool = True, location: str | None = None) -> Entry:
    """R11/R12: the next item ledger entry; receipts and shipments start uninvoiced (R10)."""
    q = sign * exact(tx["quantity"])
    entry = Entry(
        entry_no=len(book.entries) + 1, transaction_no=tx["transaction_no"], tx_type=tx["type"],
        entry_type=entry_type, posting_date=tx["posting_date"], item_no=tx["item_no"],
        location_code=(tx.get("location_code") or "") if location is None else location,
        variant_code=tx.get("variant_code") or "",
        quantity=q, invoiced_quantity=q if invoiced else ZERO, remaining_quantity=q, role=role,
    )
    book.entries.append(entry)
    book.entries_of_tx.setdefault(tx["transaction_no"], []).append(entry.entry_no)
    return entry


def _value(book: Book, entry: Entry, tx: dict, entry_type: str, **fields) -> Value:
    """R20: a value entry with the common fields of its entry and its transaction; R93: those of
    an AVERAGE item's outbound without applies_to are valued by average."""
    value = Value(
        item_ledger_entry_no=entry.entry_no, transaction_no=tx["transaction_no"],
        entry_type=entry_type, posting_date=tx["posting_date"],
        document_no=tx["document_no"], gen_bus_posting_group=tx["gen_bus_posting_group"],
        item_charge_no=tx.get("item_charge_no") or None,
        valued_by_average_cost=average.valued_by_average(book, entry), **fields,
    )
    book.values.append(value)
    return value


def _target_tx(book: Book, tx: dict, types: tuple[str, ...], rule: str) -> int:
    """R160: applies_to names an earlier-posted transaction of the same item and allowed type."""
    target_tx = tx.get("applies_to")
    if target_tx is None or target_tx not in book.tx_type or target_tx >= tx["transaction_no"]:
        raise _problem(tx, "applies_to", f"must name an earlier-posted transaction (R160, {rule})")
    if book.tx_type[target_tx] not in types:
        raise _problem(tx, "applies_to", f"may not apply to a {book.tx_type[target_tx]} "
                                         f"(R160, {rule})")
    if book.entry(book.entries_of_tx[target_tx][0]).item_no != tx["item_no"]:
        raise _problem(tx, "applies_to", f"must name a transaction of the same item (R160, {rule})")
    return target_tx


def _inbound_of(book: Book, target_tx: int) -> Entry:
    """R10: the inbound entry of a transaction; for a transfer, its to-leg."""
    return book.entry(book.entries_of_tx[target_tx][-1])


def _fixed_target(book: Book, tx: dict) -> int | None:
    """R43, R170.1: the inbound entry an outbound's applies_to names; SPECIFIC needs one (R77)."""
    if tx.get("applies_to") is None:
        if book.method(tx["item_no"]) == "SPECIFIC":
            raise _problem(tx, "applies_to", "an outbound of a SPECIFIC item needs applies_to "
                                             "(R77, R160)")
        return None
    return _inbound_of(book, _target_tx(book, tx, INBOUND_TYPES, "R43")).entry_no


def _sales_amount(book: Book, tx: dict) -> Fraction:
    return round_to(exact(tx.get("sales_amount")) or ZERO, book.precision)


def _indirect_rate(book: Book, item_no: str, c: Fraction) -> Fraction:
    """R21: the indirect unit amount c*indirect_cost_pct/100 + overhead_rate."""
    item = book.item(item_no)
    return c * (exact(item.get("indirect_cost_pct")) or ZERO) / 100 + (
        exact(item.get("overhead_rate")) or ZERO)


def _invoice_amounts(book: Book, entry: Entry, tx: dict, q: Fraction, c: Fraction,
                     standard_amount: Fraction | None, **direct_fields) -> None:
    """R21/R23 Direct Cost and Indirect Cost, then R24's Variance S - D - I for STANDARD items.

    Only the Direct Cost entry carries the quantities; the others carry valued_quantity (R170.3).
    """
    d = round_to(q * c, book.precision)
    _value(book, entry, tx, "Direct Cost", valued_quantity=q, invoiced_quantity=q,
           cost_amount_actual=d, **direct_fields)
    i = round_to(q * _indirect_rate(book, entry.item_no, c), book.precision)
    if i != 0:  # R32
        _value(book, entry, tx, "Indirect Cost", valued_quantity=q, cost_amount_actual=i)
    if standard_amount is not None and standard_amount - d - i != 0:  # R24, R32
        _value(book, entry, tx, "Variance", valued_quantity=q,
               cost_amount_actual=standard_amount - d - i)


def _is_standard(book: Book, item_no: str) -> bool:
    return book.method(item_no) == "STANDARD"


def _no_applies_to(tx: dict) -> None:
    if tx.get("applies_to") is not None:
        raise _problem(tx, "applies_to", "not allowed on this type (R10)")


# --- increases ---------------------------------------------------------------------------------

def post_purchase(book: Book, tx: dict) -> None:
    """R21 purchase (R24: Variance round(q*s) - D - I for STANDARD); R44 closes open outbounds."""
    _no_applies_to(tx)
    entry = _new_entry(book, tx, "Purchase", +1, SOURCE)
    q = entry.quantity
    s = round_to(q * book.standard_cost(entry.item_no), book.precision) if _is_standard(
        book, entry.item_no) else None
    _invoice_amounts(book, entry, tx, q, exact(tx["unit_cost"]), s, item_ledger_entry_quantity=q)
    apply_inbound(book, entry, tx)


def post_receipt(book: Book, tx: dict) -> None:
    """R22: expected cost round(q*(c*(1+pct/100) + overhead)); STANDARD: round(q*s) (R24)."""
    _no_applies_to(tx)
    entry = _new_entry(book, tx, "Purchase", +1, SOURCE, invoiced=False)
    q = entry.quantity
    if _is_standard(book, entry.item_no):
        expected = round_to(q * book.standard_cost(entry.item_no), book.precision)
    else:
        c = exact(tx["unit_cost"])
        expected = round_to(q * (c + _indirect_rate(book, entry.item_no, c)), book.precision)
    _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           cost_amount_expected=expected, expected_cost=True)
    apply_inbound(book, entry, tx)


def post_cost_source(book: Book, tx: dict, entry_type: str) -> None:
    """R28 positive_adjustment / R26 sales_return without applies_to: Direct Cost round(q*c)
    (STANDARD: round(q*s), R24), no indirect cost; a cost source that closes outbounds (R44)."""
    _no_applies_to(tx)
    entry = _new_entry(book, tx, entry_type, +1, SOURCE)
    q = entry.quantity
    c = book.standard_cost(entry.item_no) if _is_standard(book, entry.item_no) else exact(
        tx["unit_cost"])
    sales = -_sales_amount(book, tx) if tx["type"] == "sales_return" else ZERO
    _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           invoiced_quantity=q, cost_amount_actual=round_to(q * c, book.precision),
           sales_amount_actual=sales)
    apply_inbound(book, entry, tx)


def post_sales_return(book: Book, tx: dict) -> None:
    """R26: without applies_to a cost source; with it a cost-receiving inbound carrying
    round(C_s*q_r/|q_s|) of the sale's value as known then (R52), not closing anything (R45)."""
    if tx.get("applies_to") is None:
        post_cost_source(book, tx, "Sale")
        return
    sale = book.entry(book.entries_of_tx[_target_tx(
        book, tx, ("sale", "sales_shipment"), "R74")][0])
    returned = sum((r.quantity for r in book.returns_of(sale)), ZERO)
    if returned + exact(tx["quantity"]) > -sale.quantity:
        raise _problem(tx, "quantity", "returns exceed the quantity sold minus returned (R160)")
    entry = _new_entry(book, tx, "Sale", +1, RECEIVING)
    entry.source_entry = entry.applies_to_entry = sale.entry_no
    if any(not e.inbound and e.key == entry.key and e.remaining_quantity < 0
           for e in book.entries):
        book.open_key_returns.append(entry.entry_no)  # R45's known issue: it closes nothing
    c_s = -sum((v.value for v in book.values_of(sale)), ZERO)  # at posting: no adjustment yet
    q = entry.quantity
    _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           invoiced_quantity=q, cost_amount_actual=round_to(c_s * q / -sale.quantity,
                                                             book.precision),
           sales_amount_actual=-_sales_amount(book, tx))
    apply_inbound(book, entry, tx)


# --- decreases ---------------------------------------------------------------------------------

def post_decrease(book: Book, tx: dict, entry_type: str) -> Entry:
    """R25 sale and shipment, R27 purchase_return and negative_adjustment: Direct Cost -C (R51),
    optional fixed application (R43); a shipment carries it as expected cost, uninvoiced."""
    fixed = _fixed_target(book, tx)
    shipment = tx["type"] == "sales_shipment"
    entry = _new_entry(book, tx, entry_type, -1, OUTBOUND, invoiced=not shipment)
    entry.applies_to_entry = fixed
    cost = apply_outbound(book, entry, tx)
    q = entry.quantity
    if shipment:
        _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
               cost_amount_expected=-cost, expected_cost=True)
    else:
        _value(book, entry, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
               invoiced_quantity=q, cost_amount_actual=-cost,
               sales_amount_actual=_sales_amount(book, tx) if tx["type"] == "sale" else ZERO)
    return entry


def post_transfer(book: Book, tx: dict) -> None:
    """R11, R29: from-leg (fully applied at posting, R46) then to-leg carrying +C; R44 at the
    destination for the to-leg, R47 cost application row."""
    to_location = tx.get("to_location_code") or ""
    if to_location == (tx.get("location_code") or ""):
        raise _problem(tx, "to_location_code", "a transfer to its own location (R160)")
    from_leg = post_decrease(book, tx, "Transfer")
    if from_leg.remaining_quantity != 0:
        raise _problem(tx, "quantity", "not enough stock at the from-location (R46, R160)")
    to_leg = _new_entry(book, tx, "Transfer", +1, RECEIVING, location=to_location)
    to_leg.source_entry = from_leg.entry_no
    q = to_leg.quantity
    _value(book, to_leg, tx, "Direct Cost", item_ledger_entry_quantity=q, valued_quantity=q,
           invoiced_quantity=q, cost_amount_actual=-book.values_of(from_leg)[0].cost_amount_actual)
    apply_inbound(book, to_leg, tx)


# --- invoices and charges ----------------------------------------------------------------------

def _reversed_expected(book: Book, entry: Entry, n: Fraction) -> Fraction:
    """R23 reversal: all expected cost left when this invoice completes the entry, otherwise
    round(E*n/|q|) with E the expected cost its receipt or shipment posted."""
    mine = book.values_of(entry)
    if entry.invoiced_quantity + n == entry.quantity:
        return sum((v.cost_amount_expected for v in mine), ZERO)
    posted = mine[0].cost_amount_expected  # the receipt's or shipment's own entry
    return round_to(posted * abs(n) / abs(entry.quantity), book.precision)


def _invoiced_entry(book: Book, tx: dict, types: tuple[str, ...], sign: int) -> tuple:
    entry = book.entry(book.entries_of_tx[_target_tx(book, tx, types, "R23")][0])
    n = sign * exact(tx["quantity"])
    if abs(entry.invoiced_quantity + n) > abs(entry.quantity):
        raise _problem(tx, "quantity", "invoices exceed the quantity still to invoice (R160)")
    return entry, n


def post_purchase_invoice(book: Book, tx: dict) -> None:
    """R23: Direct Cost round(n*c') with expected -x, Indirect Cost; R24 Variance x - D - I."""
    entry, n = _invoiced_entry(book, tx, ("purchase_receipt",), +1)
    x = _reversed_expected(book, entry, n)
    _invoice_amounts(book, entry, tx, n, exact(tx["unit_cost"]),
                     x if _is_standard(book, entry.item_no) else None, cost_amount_expected=-x)
    entry.invoiced_quantity += n


def post_sales_invoice(book: Book, tx: dict) -> None:
    """R25: the reversed expected cost x (negative) becomes actual cost; revenue on the invoice."""
    entry, n = _invoiced_entry(book, tx, ("sales_shipment",), -1)
    x = _reversed_expected(book, entry, n)
    _value(book, entry, tx, "Direct Cost", valued_quantity=n, invoiced_quantity=n,
           cost_amount_expected=-x, cost_amount_actual=x,
           sales_amount_actual=_sales_amount(book, tx))
    entry.invoiced_quantity += n


CHARGEABLE = ("purchase", "purchase_receipt", "positive_adjustment", "sales_return", "transfer")
CHARGEABLE_STANDARD = ("purchase", "purchase_receipt")  # R30 [ours]


def post_item_charge(book: Book, tx: dict) -> None:
    """R30: Direct Cost `amount` on the inbound entry named; STANDARD adds Variance -amount."""
    entry = _inbound_of(book, _target_tx(book, tx, CHARGEABLE, "R30"))
    allowed = CHARGEABLE_STANDARD if _is_standard(book, entry.item_no) else CHARGEABLE
    if entry.tx_type not in allowed or (entry.tx_type == "sales_return"
                                        and entry.role == RECEIVING):
        raise _problem(tx, "applies_to", "an item charge on an entry R30 does not allow (R160)")
    amount = round_to(exact(tx["amount"]), book.precision)
    _value(book, entry, tx, "Direct Cost", valued_quantity=entry.quantity,
           cost_amount_actual=amount)
    if _is_standard(book, entry.item_no) and amount != 0:
        _value(book, entry, tx, "Variance", valued_quantity=entry.quantity,
               cost_amount_actual=-amount)


def post_revaluation(book: Book, tx: dict) -> None:
    """R31, R80: Revaluation entries on the revalued inbound entries (see revaluation.py), after
    R160's checks: applies_to an earlier inbound of the item (R170.1), never dated before an
    earlier-posted revaluation of the item (R170.11), an AVERAGE item's on the last day of an
    average cost period (R85; the last accounting period has none)."""
    if tx.get("applies_to") is not None:
        _target_tx(book, tx, INBOUND_TYPES, "R80")
    if exact(tx.get("unit_cost")) is None:
        raise _problem(tx, "unit_cost", "a revaluation needs unit_cost (R170.13)")
    d = tx["posting_date"]
    if any(r.item_no == tx["item_no"] and r.posting_date > d for r in book.revaluations):
        raise _problem(tx, "posting_date", "before an earlier-posted revaluation of the item "
                                           "(R160, R170.11)")
    if book.method(tx["item_no"]) == "AVERAGE" and average.period_end(book, d) != d:
        raise _problem(tx, "posting_date", "an AVERAGE revaluation must fall on the last day of "
                                           "an average cost period (R85, R160, R170.11)")
    revaluation.post_revaluation(book, tx)


POSTERS: dict[str, Callable[[Book, dict], None]] = {
    "purchase": post_purchase,
    "purchase_receipt": post_receipt,
    "purchase_invoice": post_purchase_invoice,
    "purchase_return": lambda b, tx: post_decrease(b, tx, "Purchase"),
    "positive_adjustment": lambda b, tx: post_cost_source(b, tx, "Positive Adjmt."),
    "sale": lambda b, tx: post_decrease(b, tx, "Sale"),
    "sales_shipment": lambda b, tx: post_decrease(b, tx, "Sale"),
    "sales_invoice": post_sales_invoice,
    "sales_return": post_sales_return,
    "negative_adjustment": lambda b, tx: post_decrease(b, tx, "Negative Adjmt."),
    "transfer": post_transfer,
    "item_charge": post_item_charge,
    "revaluation": post_revaluation,
}


def post_transaction(book: Book, tx: dict) -> None:
    """Post one row, in transaction_no order (R4, R170.14)."""
    if book.last_tx is not None and tx["transaction_no"] <= book.last_tx:
        raise ValueError("post transactions in increasing transaction_no order")
    if tx["item_no"] not in book.items:
        raise _problem(tx, "item_no", "must exist in items")
    method = book.method(tx["item_no"])
    if method not in SUPPORTED_METHODS:
        raise NotImplementedError(f"costing method {method}")
    if method == "STANDARD" and book.item(tx["item_no"]).get("standard_cost") is None:
        raise _problem(tx, "item_no", "a STANDARD item needs standard_cost (R160)")
    if tx["type"] not in POSTERS:
        raise NotImplementedError(f"transaction type {tx['type']}")
    if not tx.get("document_no"):
        raise _problem(tx, "document_no", "a transaction needs document_no (R160)")
    POSTERS[tx["type"]](book, tx)
    book.tx_type[tx["transaction_no"]] = tx["type"]
    book.last_tx = tx["transaction_no"]
