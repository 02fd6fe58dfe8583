"""Range maxima over a key's events in a window of transactions, without pairing them up.

The fixed-capacity checks of a reserved inbound ask whether anything of one kind happened on its
key between two transactions (R43, R160). Joining every reserved inbound with every event of its
key would pair thousands with thousands on a busy key; instead the events are sorted once by
(key, transaction), each window becomes a range of rows found by binary search, and a sparse
table answers the maximum of any range from two of its levels. The levels stop at the longest
window asked for (one step per doubling: a small loop, not one per row).
"""

from __future__ import annotations

import numpy as np
import polars as pl

NONE = np.iinfo(np.int64).min  # the maximum of an empty window
_TX_BITS = 40  # transaction numbers below 2^40; key ids below 2^23


def window_max(queries: pl.DataFrame, events: pl.DataFrame) -> pl.Series:
    """Per row of `queries` (key_id, lo, hi): the largest `value` of the `events` (key_id,
    transaction_no, value) of its key with lo <= transaction_no < hi; NONE where there is none."""
    events = events.sort("key_id", "transaction_no")
    stamp = events.get_column("key_id").to_numpy().astype(np.int64) << _TX_BITS
    stamp = stamp + events.get_column("transaction_no").to_numpy()
    key = queries.get_column("key_id").to_numpy().astype(np.int64) << _TX_BITS
    lo = np.searchsorted(stamp, key + queries.get_column("lo").to_numpy(), side="left")
    hi = np.searchsorted(stamp, key + queries.get_column("hi").to_numpy(), side="left")
    length = np.maximum(hi - lo, 0)
    out = np.full(len(lo), NONE, dtype=np.int64)
    asked = length > 0
    if not asked.any():
        return pl.Series("max", out)
    level = events.get_column("value").to_numpy().astype(np.int64)
    k = np.zeros(len(lo), dtype=np.int64)  # floor(log2(length)) where asked
    k[asked] = np.floor(np.log2(length[asked])).astype(np.int64)
    for step in range(int(k.max()) + 1):
        at = asked & (k == step)
        out[at] = np.maximum(level[lo[at]], level[hi[at] - (1 << step)])
        if step < k.max():  # the next level: maxima of 2^(step + 1) rows
            width = 1 << step
            level = np.maximum(level[:-width], level[width:]) if len(level) > width else level[:0]
    return pl.Series("max", out)
