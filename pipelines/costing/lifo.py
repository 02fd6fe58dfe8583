"""LIFO quantity application (R42, R44, R45) as stack matching, without a loop over entries.

Per application key the automatic stream (inbounds with their unreserved quantity, outbounds
without applies_to) moves two stacks: P, the units on hand, and N, the open outbound units.
While posting dates follow entry order, R42 (an outbound takes the latest open inbound first)
and R44 with LIFO (an inbound closes the latest open outbound first) make each a stack in entry
order: a unit at height y is pushed by the move that last raised the stack past y and popped by
the next move that lowers it below y. Usually one of them is empty and the pair is one balance;
a return with applies_to (R45) goes onto P while N stays open, and so may what a to-leg passing
over (R44a) has beyond the outbounds it closes (`lifo_passes.py`). The heights of both after
every move come from one max-plus scan (`lifo_stream`).

So every position j with height h_j > 0 names one application: the heights (h_p, h_j] were
pushed by the move at p + 1, where p is the previous position with a smaller height (PSV), and
are popped, down to h_t, by the move at t, the next position with a smaller height (NSV). On P
an inbound pushes and an outbound pops; on N the other way round. Equal heights name the same
application twice (deduplicated).

Previous/next smaller values of all positions come from a min pyramid (aligned blocks of 2^k):
each query climbs to the nearest block holding a smaller value and descends into it, about
2·log2(n) vectorized numpy steps whatever the data, each over the queries still unresolved.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

_BIG = np.iinfo(np.int64).max
_APPLICATION_SCHEMA = {"inbound": pl.Int64, "outbound": pl.Int64, "units": pl.Int64}
# inbounds that close no open outbound: returns with applies_to (R45), to-legs passing over (R44a)
CLOSES_NOTHING = (((pl.col("type") == "sales_return") & pl.col("receiving"))
                   | pl.col("passes").fill_null(False))


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
    """Previous/next smaller and next greater values of one int64 array, by batch of queries;
    each pyramid is built on first use."""

    def __init__(self, values: np.ndarray):
        self.values, self.n = values, len(values)

    @functools.cached_property
    def low(self):
        return _pyramid(self.values)

    @functools.cached_property
    def low_rev(self):
        return _pyramid(self.values[::-1])

    @functools.cached_property
    def high_rev(self):
        return _pyramid(-self.values[::-1])

    def prev_below(self, j, v):
        return _last_below(self.low, j, v)

    def next_below(self, j, v):
        return self._next(self.low_rev, j, v)

    def next_above(self, j, v):
        return self._next(self.high_rev, j, -v)

    def _next(self, levels, j, v):
        found = _last_below(levels, self.n - 1 - j, v)
        return np.where(found >= 0, self.n - 1 - found, -1)


def cum_max_per_segment(x: np.ndarray, new_key: np.ndarray) -> np.ndarray:
    """Running maximum of a non-negative `x` restarting where `new_key` is set."""
    span = int(x.max(initial=0)) + 1
    segment = np.cumsum(new_key) - 1
    if span * (int(segment.max(initial=0)) + 1) >= 1 << 62:
        raise OverflowError("LIFO stream: quantities too large for the running maximum")
    return np.maximum.accumulate(x + segment * span) - segment * span


def lifo_stream(flow: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Positions of the automatic stream of LIFO keys and the heights of its two stacks.

    `flow` is sorted by (key_id, entry_no) and has `delta` (unreserved inbound units, minus the
    outbound units), `type`, `receiving`, `passes` and optionally `n_push`. The stacks are P,
    the units on hand, and N, the open outbound units (R44). An outbound takes P first and
    pushes the rest onto N; an inbound closes N first and pushes the rest onto P; an inbound
    that closes nothing (a return with applies_to, R45; a to-leg marked `passes`, R44a) pushes
    all of it onto P, so both can be non-empty at once. With S the running balance (= P - N),
    P after each move is the max-plus recurrence P' = max(P + a, b): a = -units, b = 0 for an
    outbound; a = 0, b = S' for an inbound that closes; a = units, b = -inf for one that does
    not; a = 0, b = -inf for a move pushing onto N only (`n_push`, `lifo_passes.py`). Unrolled:
    P_t = A_t + max(0, max over k <= t of (b_k - A_k)) with A the running sum of a.

    Returns the stream with `pos`, `on_hand` (P) and `open` (N) after each row, and P and N by
    position, one start position (both 0) before each key.
    """
    key = flow.get_column("key_id").to_numpy()
    delta = flow.get_column("delta").to_numpy().astype(np.int64)
    inbound = flow.get_column("inbound").to_numpy()
    closes_nothing = (inbound & flow.select(CLOSES_NOTHING).to_series().to_numpy())
    # a move pushing onto N only (`lifo_passes.py`): a = 0, b = -inf
    n_only = (flow.get_column("n_push").to_numpy() if "n_push" in flow.columns
              else np.zeros(len(key), dtype=bool))
    new_key = np.ones(len(key), dtype=bool)
    new_key[1:] = key[1:] != key[:-1]
    pos = np.arange(1, len(key) + 1, dtype=np.int64) + np.cumsum(new_key) - 1
    closing = inbound & ~closes_nothing
    a = np.where(closing | n_only, 0, delta)
    total_a, total_s = cum_sum_per_segment(a, new_key), cum_sum_per_segment(delta, new_key)
    b_minus_a = np.where(closing, total_s - total_a, -total_a)
    p_rows = total_a + cum_max_per_segment(np.maximum(np.where(
        closes_nothing | n_only, 0, b_minus_a), 0), new_key)
    n_rows = p_rows - total_s
    size = len(key) + int(new_key.sum())
    p, n = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    p[pos], n[pos] = p_rows, n_rows
    stream = flow.with_columns(pos=pl.Series(pos), on_hand=pl.Series(p_rows),
                               open=pl.Series(n_rows))
    return stream, p, n


def cum_sum_per_segment(x: np.ndarray, new_key: np.ndarray) -> np.ndarray:
    """Cumulative sum of `x` restarting where `new_key` is set."""
    total = np.cumsum(x)
    starts = np.flatnonzero(new_key)
    before = (total - x)[starts]
    return total - np.repeat(before, np.diff(np.append(starts, len(x))))


def stack_pops(h: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, ...]:
    """The pieces a stack's heights `h` by position name: a unit at height y is pushed by the
    move after the previous position below y and popped by the next position below it. `owner`
    is -1 at the start positions (height 0) that separate the stacks: a piece whose next lower
    position is one is still open at the end. Returns (j, pushed at, popped at, units) of the
    popped pieces, one per position j (equal heights between two moves repeat a piece)."""
    near = Nearest(h)
    j = np.flatnonzero(h > 0)
    prev, t = near.prev_below(j, h[j]), near.next_below(j, h[j])
    popped = (t >= 0) & (owner[t] >= 0)
    j, prev, t = j[popped], prev[popped], t[popped]
    return j, prev + 1, t, h[j] - np.maximum(h[prev], h[t])


def _stack_applications(s: np.ndarray, entry: np.ndarray, key: np.ndarray,
                        pushes_in: bool) -> pl.DataFrame:
    """The applications one stack's heights `s` by position name (`stack_pops`)."""
    _, pushed, popped, units = stack_pops(s, key)
    pusher, popper = entry[pushed], entry[popped]
    inbound, outbound = (pusher, popper) if pushes_in else (popper, pusher)
    return pl.DataFrame({"inbound": inbound, "outbound": outbound, "units": units},
                        schema=_APPLICATION_SCHEMA)


def lifo_applications(flow: pl.DataFrame) -> pl.DataFrame:
    """R42, R44, R45 (LIFO): the automatic applications of LIFO keys: inbound, outbound, units.

    P's units are pushed by inbounds and popped by outbounds; N's pushed by outbounds and
    popped (closed) by inbounds. Positions with equal height between the same two moves name
    the same application (deduplicated).
    """
    if flow.height == 0:
        return pl.DataFrame(schema=_APPLICATION_SCHEMA)
    stream, p, n = lifo_stream(flow)
    entry = np.full(len(p), -1, dtype=np.int64)
    key = np.full(len(p), -1, dtype=np.int64)
    pos = stream.get_column("pos").to_numpy()
    # the moves of `lifo_passes.py` push on behalf of an outbound (`owner`) or pop what they
    # re-order (`n_pop`: no application, like the end of a key)
    owner = "owner" if "owner" in stream.columns else "entry_no"
    entry[pos] = stream.get_column(owner).to_numpy()
    key[pos] = stream.select(pl.when(pl.col("n_pop")).then(-1).otherwise("key_id")
                             if "n_pop" in stream.columns else "key_id").to_series().to_numpy()
    return pl.concat([_stack_applications(p, entry, key, pushes_in=True),
                      _stack_applications(n, entry, key, pushes_in=False)]).filter(
        pl.col("units") > 0).unique(["inbound", "outbound"], maintain_order=True)


def lifo_capacity_violations(flow: pl.DataFrame, reserved: pl.DataFrame) -> pl.DataFrame:
    """R43, R160 for LIFO keys: fixed-applied inbounds whose reserved units the automatic
    application would have taken before the last fixed application named them.

    The stream treats reserved units as absent; in BC they sit in P at the height L that P had
    before the inbound, under its unreserved units, until their fixed application comes. They
    are taken when an inbound closing open outbounds runs out of unreserved units (N stays above
    0 after it; an inbound that closes nothing never does), or when an outbound posted before
    the last fixed application asks for more than P holds above L. `reserved`: inbound,
    last_fixed_tx. Returns the offending rows of `reserved`.
    """
    stream, p, _ = lifo_stream(flow)
    size = len(p)
    # the moves of `lifo_passes.py` change N only: P is read at the entries' positions
    if "n_pop" in stream.columns:
        stream = stream.filter(~pl.col("n_push") & ~pl.col("n_pop"))
    at = stream.get_column("pos").to_numpy()
    outbound_pos = stream.filter(~pl.col("inbound")).get_column("pos").to_numpy()
    # what P would fall to if an outbound took it all (only outbounds take reserved units)
    wanted = np.full(size, _BIG, dtype=np.int64)
    wanted[outbound_pos] = p[outbound_pos - 1] - stream.filter(
        ~pl.col("inbound")).get_column("units").to_numpy()
    tx = np.full(size, _BIG, dtype=np.int64)
    tx[at] = stream.get_column("transaction_no").to_numpy()
    key = np.full(size, -1, dtype=np.int64)
    key[at] = stream.get_column("key_id").to_numpy()
    checked = reserved.join(
        stream.select(pl.col("entry_no").alias("inbound"), "pos", "key_id", "open", "cap",
                      closes_nothing=CLOSES_NOTHING),
        on="inbound",
    )
    if checked.height == 0:
        return checked
    pos = checked.get_column("pos").to_numpy()
    level = p[pos - 1]
    found = _last_below(_pyramid(wanted[::-1]), size - 1 - pos, level)
    dip = np.where(found >= 0, size - 1 - found, 0)
    taken_later = (found >= 0) & (key[dip] == checked.get_column("key_id").to_numpy()) & (
        tx[dip] < checked.get_column("last_fixed_tx").to_numpy())
    return checked.filter(
        (pl.col("cap") < 0)
        | (~pl.col("closes_nothing") & (pl.col("open") > 0))
        | pl.Series(taken_later)
    )
