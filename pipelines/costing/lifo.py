"""LIFO quantity application (R42, R44) as stack matching, without a loop over entries.

Per application key the automatic stream (inbounds with their unreserved quantity, outbounds
without applies_to) moves the balance S: the quantity on hand above 0, the open outbound quantity
below 0. While posting dates follow entry order, R42 (an outbound takes the latest open inbound
first) and R44 with LIFO (an inbound closes the latest open outbound first) make both sides one
stack over the levels of S: a unit at level y is pushed by the move that last crossed y and popped
by the next move that crosses it back.

So every position j with S_j > 0 names one application: the levels (S_p, S_j] were pushed by the
inbound at p + 1, where p is the previous position with a smaller S (PSV), and are popped, down to
S_t, by the outbound at t, the next position with a smaller S (NSV). Below 0 the same holds
mirrored (previous and next greater values): the outbound at p + 1 opened the levels, the inbound
at t closes them. Equal values name the same application twice (deduplicated).

Previous/next smaller values of all positions come from a min pyramid (aligned blocks of 2^k):
each query climbs to the nearest block holding a smaller value and descends into it, about
2·log2(n) vectorized numpy steps whatever the data, each over the queries still unresolved.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_BIG = np.iinfo(np.int64).max


def _pyramid(values: np.ndarray) -> list[np.ndarray]:
    """Level k holds the minimum of each aligned block of 2^k values (padded with +inf)."""
    size = 1 << max(len(values) - 1, 0).bit_length()
    level = np.full(size, _BIG, dtype=np.int64)
    level[: len(values)] = values
    levels = [level]
    while len(level) > 1:
        level = np.minimum(level[0::2], level[1::2])
        levels.append(level)
    return levels


def _last_below(levels: list[np.ndarray], r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per query: the largest j < r with value[j] < v, or -1."""
    found_level = np.full(len(r), -1, dtype=np.int64)
    block = np.zeros(len(r), dtype=np.int64)
    # climb: [0, r) cut into aligned blocks from the right; the first holding a smaller value
    idx, rr, vv = np.arange(len(r)), r.astype(np.int64), v
    for k, level in enumerate(levels):
        if not len(idx):
            break
        has = np.flatnonzero((rr >> k) & 1)
        b = (rr[has] >> k) - 1
        hit = level[b] < vv[has]
        found_level[idx[has[hit]]], block[idx[has[hit]]] = k, b[hit]
        rr[has] -= 1 << k
        keep = rr > 0
        keep[has[hit]] = False
        idx, rr, vv = idx[keep], rr[keep], vv[keep]
    # descend: prefer the right half whenever it holds a smaller value
    for k in range(len(levels) - 1, 0, -1):
        at = np.flatnonzero(found_level == k)
        right = 2 * block[at] + 1
        block[at] = np.where(levels[k - 1][right] < v[at], right, right - 1)
        found_level[at] = k - 1
    return np.where(found_level >= 0, block, -1)


class Nearest:
    """Previous/next smaller and greater values of one int64 array, by batch of queries."""

    def __init__(self, values: np.ndarray):
        self.n = len(values)
        self.low, self.low_rev = _pyramid(values), _pyramid(values[::-1])
        self.high, self.high_rev = _pyramid(-values), _pyramid(-values[::-1])

    def prev_below(self, j, v):
        return _last_below(self.low, j, v)

    def next_below(self, j, v):
        return self._next(self.low_rev, j, v)

    def prev_above(self, j, v):
        return _last_below(self.high, j, -v)

    def next_above(self, j, v):
        return self._next(self.high_rev, j, -v)

    def _next(self, levels, j, v):
        found = _last_below(levels, self.n - 1 - j, v)
        return np.where(found >= 0, self.n - 1 - found, -1)


def lifo_stream(flow: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, Nearest]:
    """Positions of the automatic stream of LIFO keys, one start position (S = 0) per key.

    `flow` is sorted by (key_id, entry_no) and has `delta` (unreserved inbound units, minus the
    outbound units). Returns the stream with `pos` and `balance`, the balance by position, and
    the nearest-value index over it.
    """
    key = flow.get_column("key_id").to_numpy()
    delta = flow.get_column("delta").to_numpy().astype(np.int64)
    new_key = np.ones(len(key), dtype=bool)
    new_key[1:] = key[1:] != key[:-1]
    pos = np.arange(1, len(key) + 1, dtype=np.int64) + np.cumsum(new_key) - 1
    total = np.cumsum(delta)
    starts = np.flatnonzero(new_key)
    before_key = (total - delta)[starts]
    balance_rows = total - np.repeat(before_key, np.diff(np.append(starts, len(key))))
    balance = np.zeros(len(key) + len(starts), dtype=np.int64)
    balance[pos] = balance_rows
    stream = flow.with_columns(pos=pl.Series(pos), balance=pl.Series(balance_rows))
    return stream, balance, Nearest(balance)


def lifo_applications(flow: pl.DataFrame) -> pl.DataFrame:
    """R42, R44 (LIFO): the automatic applications of LIFO keys: inbound, outbound, units."""
    schema = {"inbound": pl.Int64, "outbound": pl.Int64, "units": pl.Int64}
    if flow.height == 0:
        return pl.DataFrame(schema=schema)
    stream, s, near = lifo_stream(flow)
    size = len(s)
    entry = np.full(size, -1, dtype=np.int64)
    key = np.full(size, -1, dtype=np.int64)
    pos = stream.get_column("pos").to_numpy()
    entry[pos] = stream.get_column("entry_no").to_numpy()
    key[pos] = stream.get_column("key_id").to_numpy()
    pieces = []
    for up in (True, False):  # on hand above 0, open outbounds below 0 (mirrored)
        j = pos[s[pos] > 0] if up else pos[s[pos] < 0]
        if up:
            p, t = near.prev_below(j, s[j]), near.next_below(j, s[j])
        else:
            p, t = near.prev_above(j, s[j]), near.next_above(j, s[j])
        # t beyond the key (its next start position) or nowhere: still open at the end
        popped = t >= 0
        popped[popped] = key[t[popped]] == key[j[popped]]
        j, p, t = j[popped], p[popped], t[popped]
        if up:
            units = s[j] - np.maximum(np.maximum(s[p], s[t]), 0)
            inbound, outbound = entry[p + 1], entry[t]
        else:
            units = np.minimum(np.minimum(s[p], s[t]), 0) - s[j]
            inbound, outbound = entry[t], entry[p + 1]
        pieces.append(pl.DataFrame({"inbound": inbound, "outbound": outbound, "units": units},
                                   schema=schema))
    # positions with equal S between the same two moves name the same application
    return pl.concat(pieces).filter(pl.col("units") > 0).unique(
        ["inbound", "outbound"], maintain_order=True)


def lifo_capacity_violations(flow: pl.DataFrame, reserved: pl.DataFrame) -> pl.DataFrame:
    """R43, R160 for LIFO keys: fixed-applied inbounds whose reserved units the automatic
    application would have taken before the last fixed application named them.

    The stream treats reserved units as absent; in BC they sit at the inbound's level
    L = max(S before it, 0) of that stream until their fixed application comes. They are taken
    when an inbound closing open outbounds runs out of unreserved units (S stays below 0 after
    it; a return with applies_to closes nothing, R45), or when an earlier-posted outbound than the
    last fixed application pushes S below L. `reserved`: inbound, last_fixed_tx. Returns the
    offending rows of `reserved`.
    """
    stream, s, _ = lifo_stream(flow)
    size = len(s)
    outbound_pos = stream.filter(~pl.col("inbound")).get_column("pos").to_numpy()
    outbound_s = np.full(size, _BIG, dtype=np.int64)  # only outbounds take reserved units
    outbound_s[outbound_pos] = s[outbound_pos]
    tx = np.full(size, _BIG, dtype=np.int64)
    tx[stream.get_column("pos").to_numpy()] = stream.get_column("transaction_no").to_numpy()
    key = np.full(size, -1, dtype=np.int64)
    key[stream.get_column("pos").to_numpy()] = stream.get_column("key_id").to_numpy()
    checked = reserved.join(
        stream.select(pl.col("entry_no").alias("inbound"), "pos", "key_id", "balance", "delta",
                      "cap", r45=(pl.col("type") == "sales_return") & pl.col("receiving")),
        on="inbound",
    )
    if checked.height == 0:
        return checked
    pos = checked.get_column("pos").to_numpy()
    level = np.maximum(s[pos] - checked.get_column("delta").to_numpy(), 0)
    rev = _pyramid(outbound_s[::-1])
    found = _last_below(rev, size - 1 - pos, level)
    dip = np.where(found >= 0, size - 1 - found, 0)
    taken_later = (found >= 0) & (key[dip] == checked.get_column("key_id").to_numpy()) & (
        tx[dip] < checked.get_column("last_fixed_tx").to_numpy())
    return checked.filter(
        (pl.col("cap") < 0)
        | (~pl.col("r45") & (pl.col("balance") < 0))
        | pl.Series(taken_later)
    )


def meets_later_open(flow: pl.DataFrame, back: pl.DataFrame) -> pl.DataFrame:
    """R42 with back-dating: the rows of `back` (back-dated entries of the LIFO keys of `flow`)
    posted while an entry of their side dated later is still open.

    Only these change LIFO's order. Up to the first of them, each entry is dated on or after
    every open entry of its side when it is posted, so the open entries by descending (posting
    date, entry number) are the stack in entry order that `lifo_applications` pops, and the
    top of the stack is the latest-dated open entry: the one that opened the level the key's
    balance stands at (the entry after the previous smaller balance; below 0, greater).
    """
    if flow.height == 0:
        return flow
    stream, s, near = lifo_stream(flow)
    checked = stream.join(back.select("entry_no"), on="entry_no", how="semi")
    at = checked.get_column("pos").to_numpy()
    before = at - 1  # the key's balance when the entry was posted (its start position: 0)
    up, down = s[before] > 0, s[before] < 0
    opener = np.full(len(at), -1, dtype=np.int64)
    opener[up] = near.prev_below(before[up], s[before][up]) + 1
    opener[down] = near.prev_above(before[down], s[before][down]) + 1
    date = np.zeros(len(s), dtype=np.int64)
    date[stream.get_column("pos").to_numpy()] = (
        stream.get_column("posting_date").cast(pl.Int64).to_numpy())
    inbound = checked.get_column("inbound").to_numpy()
    open_side = np.where(inbound, up, down)
    return checked.filter(pl.Series(open_side & (date[opener] > date[at])))
