"""R44a: a to-leg that would close the open sale its own cost depends on is refused clearly."""

from __future__ import annotations

import pytest

from pipelines.costing import cost_ledger
from pipelines.errors import NotSupportedYet
from tests.test_costing import DEFAULT, NO_PERIODS, D, entry_costs, items, txs

RED, BLUE = {"location_code": "RED"}, {"location_code": "BLUE"}


def test_to_leg_closing_the_sale_it_comes_from_is_refused() -> None:
    """The returned unit of an open sale, transferred back to the sale's location: its to-leg
    would close the sale, whose cost would then depend on itself."""
    frame = txs((D(2020, 1, 1), "purchase", 1, 10.0, None, RED),
                (D(2020, 1, 2), "sale", 2, None, None, RED),
                (D(2020, 1, 3), "sales_return", 1, None, 2, BLUE),
                (D(2020, 1, 4), "transfer", 1, None, None, BLUE | {"to_location_code": "RED"}))
    with pytest.raises(NotSupportedYet, match=r"transaction_no=4.*transaction 2.*R44a"):
        cost_ledger(frame, items(), NO_PERIODS, DEFAULT)


def test_to_leg_closing_an_unrelated_open_sale_is_costed() -> None:
    """The same shape without the return: the to-leg's cost comes from a purchase at BLUE."""
    frame = txs((D(2020, 1, 1), "purchase", 1, 10.0, None, RED),
                (D(2020, 1, 2), "sale", 2, None, None, RED),
                (D(2020, 1, 3), "purchase", 1, 12.0, None, BLUE),
                (D(2020, 1, 4), "transfer", 1, None, None, BLUE | {"to_location_code": "RED"}))
    led = cost_ledger(frame, items(), NO_PERIODS, DEFAULT)
    assert entry_costs(led) == [10.0, -22.0, 12.0, -12.0, 12.0]
