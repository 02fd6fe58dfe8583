"""Quantity application (R40-R47) and the cost an outbound carries at posting (R50, R51)."""

from __future__ import annotations

from fractions import Fraction

from pipelines.errors import InputError, Problem
from tests.reference.arith import ZERO, round_to
from tests.reference.book import COST_ELEMENTS, OUTBOUND, RECEIVING, Application, Book, Entry


def known_unit_cost(book: Book, inbound: Entry, before_tx: int) -> Fraction:
    """R50: value of the inbound's Direct/Indirect/Variance entries before `before_tx`, / q."""
    value = sum(
        (v.value for v in book.values_of(inbound)
         if v.entry_type in COST_ELEMENTS and v.transaction_no is not None
         and v.transaction_no < before_tx),
        ZERO,
    )
    return value / inbound.quantity


def _latest_first(book: Book, item_no: str) -> bool:
    """R41/R42: LIFO takes entries by descending (posting date, entry number), the others
    (FIFO, STANDARD, and AVERAGE, applied like FIFO) by ascending."""
    method = book.method(item_no)
    if method not in ("FIFO", "STANDARD", "AVERAGE", "LIFO"):
        raise NotImplementedError(f"R41/R42 application order for {method}")
    return method == "LIFO"


def _inbound_order(book: Book, outbound: Entry) -> list[Entry]:
    """R41 (FIFO, STANDARD, AVERAGE): open inbound entries of the key by (posting date, entry
    number); R42 (LIFO): the same order reversed, latest-dated first, then latest posted.

    SPECIFIC items have no automatic application (R77): every outbound is fixed (R43).
    """
    candidates = [e for e in book.entries
                  if e.inbound and e.key == outbound.key and e.remaining_quantity > 0]
    return sorted(candidates, key=lambda e: (e.posting_date, e.entry_no),
                  reverse=_latest_first(book, outbound.item_no))


def depends_on(book: Book, inbound: Entry, outbound: Entry) -> bool:
    """R44a: following cost sources backwards from `inbound` (a cost-receiving inbound to its
    source outbound, an outbound to the inbounds it is applied to) reaches `outbound`."""
    seen: set[int] = set()
    todo = [inbound]
    while todo:
        e = todo.pop()
        if e.entry_no in seen:
            continue
        seen.add(e.entry_no)
        if e.entry_no == outbound.entry_no:
            return True
        if e.inbound:
            if e.role == RECEIVING:
                todo.append(book.entry(e.source_entry))
        else:
            todo += [book.entry(a.inbound_item_entry_no) for a in book.applications
                     if a.outbound_item_entry_no == e.entry_no and not a.cost_application]
    return False


def _outbound_order(book: Book, inbound: Entry) -> list[Entry]:
    """R44: open outbound entries of the key in the costing method's order of R41/R42 (FIFO:
    oldest posting date and entry first; LIFO: latest first), passing over those the inbound's
    cost depends on (R44a)."""
    if book.method(inbound.item_no) == "SPECIFIC":
        return []  # R77: no negative inventory, nothing to close
    latest_first = _latest_first(book, inbound.item_no)
    candidates = []
    for e in book.entries:
        if not e.inbound and e.key == inbound.key and e.remaining_quantity < 0:
            if depends_on(book, inbound, e):
                book.passed_over.append((inbound.entry_no, e.entry_no))
            else:
                candidates.append(e)
    return sorted(candidates, key=lambda e: (e.posting_date, e.entry_no), reverse=latest_first)


def _apply(book: Book, inbound: Entry, outbound: Entry, qty: Fraction, tx_no: int) -> None:
    """Apply `qty` units; R47: the row lives under the outbound, dated by the later-posted entry."""
    inbound.remaining_quantity -= qty
    outbound.remaining_quantity += qty
    later = inbound if inbound.entry_no > outbound.entry_no else outbound
    book.applications.append(Application(
        item_ledger_entry_no=outbound.entry_no, inbound_item_entry_no=inbound.entry_no,
        outbound_item_entry_no=outbound.entry_no, quantity=-qty, posting_date=later.posting_date,
        cost_application=False, made_by=tx_no,
    ))


def apply_outbound(book: Book, outbound: Entry, tx: dict) -> Fraction:
    """R40-R43 application of a new outbound, and its cost at posting C >= 0 (R51)."""
    tx_no = tx["transaction_no"]
    need = -outbound.quantity
    applied: list[tuple[Entry, Fraction]] = []
    if outbound.applies_to_entry is not None:  # R43 fixed application, whole quantity
        inbound = book.entry(outbound.applies_to_entry)
        if inbound.key != outbound.key or inbound.remaining_quantity < need:
            raise InputError([Problem(
                "transactions", f"transaction_no={tx_no}", "applies_to", str(tx["applies_to"]),
                "fixed application needs the same item, location and variant and enough "
                "remaining quantity (R43, R160)")])
        applied.append((inbound, need))
    else:
        for inbound in _inbound_order(book, outbound):
            if need == 0:
                break
            a = min(need, inbound.remaining_quantity)
            applied.append((inbound, a))
            need -= a
    cost = ZERO
    for inbound, a in applied:
        _apply(book, inbound, outbound, a, tx_no)
        cost += round_to(a * known_unit_cost(book, inbound, tx_no), book.precision)
    # R51: the unapplied part at u0, the known unit cost of the last earlier inbound of the key;
    # R170.7: for a STANDARD item the standard cost in force.
    earlier = [e for e in book.entries[: outbound.entry_no - 1]
               if e.inbound and e.key == outbound.key]
    if book.method(outbound.item_no) == "STANDARD":
        outbound.u0 = book.standard_cost(outbound.item_no)
    else:
        outbound.u0 = known_unit_cost(book, earlier[-1], tx_no) if earlier else ZERO
    m = -outbound.remaining_quantity
    return cost + round_to(m * outbound.u0, book.precision)


def apply_inbound(book: Book, inbound: Entry, tx: dict) -> None:
    """R47 own row of a new inbound, then R44: it closes open outbounds of its key.

    A cost source's row is a quantity row (cost_application false); a transfer to-leg's and a
    return's name their source outbound as a cost application. A sales return with applies_to
    closes nothing (R45).
    """
    receiving = inbound.role == RECEIVING
    book.applications.append(Application(
        item_ledger_entry_no=inbound.entry_no, inbound_item_entry_no=inbound.entry_no,
        outbound_item_entry_no=inbound.source_entry, quantity=inbound.quantity,
        posting_date=inbound.posting_date, cost_application=receiving,
        made_by=tx["transaction_no"],
    ))
    if receiving and inbound.tx_type == "sales_return":
        return  # R45
    for outbound in _outbound_order(book, inbound):
        if inbound.remaining_quantity == 0:
            break
        assert outbound.role == OUTBOUND
        a = min(inbound.remaining_quantity, -outbound.remaining_quantity)
        _apply(book, inbound, outbound, a, tx["transaction_no"])
