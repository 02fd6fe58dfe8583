"""Periodic average cost (R90-R103): every average-valued decrease of a pool and period.

A pool's history is one sorted list of events: per period, first everything entering the pool with
a valuation date in it (increases, fixed-applied decreases, charges, R94), then its valued
decreases in entry order, each followed by the returns it gets back within the period (R94 item 2,
R96 step 4); a return in a later period enters at its part of its decrease's cost (R73), computed
in the same passes. A decrease costs `-round(C·q/Q)` of the running pool (R96), so each cost
depends on the rounded costs before it. That recurrence is solved without a loop over entries: a
first guess from the unrounded recurrence `x_p = r_p·(x_{p-1} + vin_p)` (an associative scan over
periods, Hillis-Steele, log2(periods) steps), then whole-array passes of the exact rule until no
cost changes. A pass fixes at least the first wrong cost of every pool, and rounding differences
rarely reach far, so the passes are few; the pools still moving after a few are then valued exactly
from their first moving event, window by window (`_Pools.exact_in`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from pipelines.costing.by_entry import aligned
from pipelines.costing.ledger import QTY_SCALE
from pipelines.rounding import round_array as _round
from pipelines.rounding import round_shares
from pipelines.settings import Settings

_NO_END = dt.date(9999, 12, 31)  # the last accounting period has no end (R91)
_EPS = 1e-6
MAX_PASSES = 500
_WHOLE_ARRAY_PASSES = 4  # then the segments still moving are valued exactly (`exact_in`)
_WINDOW = 256  # rows `exact_in` guesses at once per run, to begin with
_REFINE = 2  # guesses recomputed from the pool they imply, before the exact scan
_DRIFT = 4  # cents the true pool may differ from the guessed one within a window
_AFTER_ADD_BACKS = 1 << 62  # ord2 of a Revaluation event: after the add-backs of its entry


def period_end(date: pl.Expr, settings: Settings) -> pl.Expr:
    """R91: the last day of the average cost period a date belongs to."""
    period = settings.average_cost_period
    if period == "day":
        return date
    if period == "week":  # ISO weeks end on Sunday (weekday 7)
        return date + pl.duration(days=7 - date.dt.weekday())
    if period == "month":
        return date.dt.month_end()
    if period == "quarter":
        return pl.date(date.dt.year(), (date.dt.month() - 1) // 3 * 3 + 3, 1).dt.month_end()
    if period == "year":
        return pl.date(date.dt.year(), 12, 31)
    raise ValueError(f"period {period!r} needs the accounting periods (see accounting_period_end)")


def accounting_period_end(dates: pl.Series, accounting_periods: pl.DataFrame) -> pl.Series:
    """R91 for `accounting_period`: the day before the next period's starting date."""
    starts = accounting_periods.select("starting_date").unique().sort("starting_date").with_columns(
        end=(pl.col("starting_date").shift(-1) - pl.duration(days=1)).fill_null(_NO_END))
    frame = dates.to_frame("date").with_row_index("_row").sort("date")
    return (
        frame.join_asof(starts, left_on="date", right_on="starting_date", strategy="backward")
        .sort("_row").get_column("end")
    )


def pool_of(settings: Settings) -> pl.Expr:
    """R94: an entry's average pool as an integer (sorted and ranked each round, where the item
    number as text cost several times more): its key's id under calc type
    item_location_variant, the first key id of its item under calc type item (an item's keys
    are numbered together, in item order)."""
    if settings.average_cost_calc_type == "item":
        return pl.col("key_id").min().over("item_no")
    return pl.col("key_id")


def pool_events(
    entries: pl.DataFrame,
    inbound: pl.DataFrame,
    results: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None,
    revaluations: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The events of every average pool in pool order (R94), from the current entry values.

    `revaluations` (inbound, reval_tx, reval_date, amount, after_entry): Revaluation entries of
    AVERAGE entries; each enters its pool in its period right after the last entry posted before
    it, so it reaches the decreases posted after it (R96 step 1, R101).

    Columns: pool, period_end, cls (0 entering, 1 decrease or its return), ord1, ord2, dq, dc,
    decrease (valued by average), q_dec, c_post, source_row (add-backs and returns in a later
    period: their decrease's row), base (their value besides their part of its cost), split_hi,
    split_lo, whole (their R3 part of the decrease's cost).
    """
    by_item = settings.average_cost_calc_type == "item"
    values = entries.select(
        "entry_no", "inbound", "receiving", "source_entry", "type", "leg", "units", "pool",
        q=pl.col("quantity"),
        decrease=~pl.col("inbound") & pl.col("applies_to_entry").is_null(),
    )
    entry_no = values.get_column("entry_no")
    values = values.hstack(
        aligned(inbound.select("inbound", "source_base", "target", "vdate"), "inbound", entry_no)
    ).hstack(
        aligned(results.select("entry_no", out_target="target", c_post="cost_at_posting",
                               out_vdate="valuation_date"), "entry_no", entry_no)
    ).with_columns(vdate=pl.coalesce("vdate", "out_vdate"))
    values = _with_period_end(values, "vdate", settings, accounting_periods)
    source = values.select(
        "entry_no", source_pool="pool", source_period="period_end",
        source_decrease="decrease", source_q=pl.col("q").abs(),
    )
    values = values.hstack(aligned(source, "entry_no", values.get_column("source_entry")))
    # R94 item 2: a return (or, calc type item, a to-leg) of a valued decrease of the same pool and
    # period is held back and added back right after it; R99: under calc type item a transfer
    # changes nothing in the pool, so its from-leg is valued without being deducted.
    of_a_decrease = (pl.col("receiving") & pl.col("source_decrease").fill_null(False)
                     & (pl.col("source_pool") == pl.col("pool")))
    held_back = of_a_decrease & (pl.col("source_period") == pl.col("period_end"))
    # a return in a later period enters its pool at its decrease's cost (R73) computed in the
    # same valuation, as an add-back is: no round of the fixed point between the two
    later_return = (of_a_decrease & (pl.col("type") != "transfer")
                    & (pl.col("source_period") < pl.col("period_end")))
    transfer_in_pool = (pl.col("type") == "transfer") & pl.lit(by_item)
    # R3: a decrease's cost is split over all its cost-receiving entries, in entry order
    splits = values.filter(pl.col("receiving")).sort("source_entry", "entry_no").select(
        "entry_no", split_hi=pl.col("q").cum_sum().over("source_entry"))
    values = values.hstack(aligned(splits, "entry_no", entry_no)).with_columns(
        held_back=held_back.fill_null(False), later_return=later_return.fill_null(False))
    entering = values.filter(~pl.col("decrease")).select(
        "pool", "period_end", pl.lit(0).alias("cls"), pl.col("entry_no").alias("ord1"),
        pl.lit(0, dtype=pl.Int64).alias("ord2"),
        dq=pl.when(pl.col("held_back")).then(0.0).otherwise(pl.col("q")),
        dc=pl.when(~pl.col("inbound")).then(pl.col("out_target"))  # fixed-applied (R97)
        .when(pl.col("held_back")).then(pl.col("source_base"))  # its charges stay (R170.10)
        .otherwise(pl.col("source_base") + pl.col("target")),
        back_of=pl.when("later_return").then("source_entry"),
        base=pl.when("later_return").then("source_base"),
        split_hi=pl.when("later_return").then("split_hi"),
        whole=pl.when("later_return").then("source_q"),
    )
    decreases = values.filter(pl.col("decrease")).select(
        "pool", "period_end", pl.lit(1).alias("cls"), pl.col("entry_no").alias("ord1"),
        pl.lit(0, dtype=pl.Int64).alias("ord2"),
        dq=pl.when(transfer_in_pool).then(0.0).otherwise(pl.col("q")),
        dc=pl.lit(0.0), q_dec=-pl.col("q"), c_post=pl.col("c_post"),
        deducted=~transfer_in_pool,
    )
    # held-back to-legs under calc type item are already netted out by their undeducted from-leg
    added_back = values.filter(pl.col("held_back") & (pl.col("type") != "transfer")).select(
        "pool", "period_end", pl.lit(1).alias("cls"), pl.col("source_entry").alias("ord1"),
        pl.col("entry_no").alias("ord2"), "split_hi", dq=pl.col("q"), dc=pl.lit(0.0),
        back_of="source_entry", base=pl.lit(0.0), whole=pl.col("source_q"),
    )
    revalued = pl.DataFrame()
    if revaluations is not None and revaluations.height:
        revalued = _with_period_end(
            revaluations.join(values.select(pl.col("entry_no").alias("inbound"), "pool"),
                              on="inbound"), "reval_date", settings, accounting_periods,
        ).select("pool", "period_end", pl.lit(1).alias("cls"), pl.col("after_entry").alias("ord1"),
                 pl.lit(_AFTER_ADD_BACKS, dtype=pl.Int64).alias("ord2"), dq=pl.lit(0.0),
                 dc=pl.col("amount"), reval=pl.lit(True))
    events = pl.concat([entering, decreases, added_back, revalued],
                       how="diagonal_relaxed").sort(
        "pool", "period_end", "cls", "ord1", "ord2").with_row_index("row")
    rows = events.filter(pl.col("ord2") == 0).select("ord1", source_row="row")
    return events.hstack(aligned(rows, "ord1", events.get_column("back_of"))).with_columns(
        decrease=(pl.col("cls") == 1) & (pl.col("ord2") == 0),
        split_lo=pl.col("split_hi") - pl.col("dq"),
    )


def _with_period_end(frame: pl.DataFrame, date: str, settings: Settings,
                     accounting_periods: pl.DataFrame | None) -> pl.DataFrame:
    if settings.average_cost_period == "accounting_period":
        return frame.with_columns(
            period_end=accounting_period_end(frame.get_column(date), accounting_periods))
    return frame.with_columns(period_end=period_end(pl.col(date), settings))


def _scan_affine(a: np.ndarray, b: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Inclusive scan of x -> a·x + b within each group (Hillis-Steele): returns F_p(0)."""
    a, b = a.copy(), b.copy()
    step = 1
    while step < len(a):
        same = np.zeros(len(a), dtype=bool)
        same[step:] = group[step:] == group[:-step]
        a_prev = np.concatenate([np.ones(step), a[:-step]])
        b_prev = np.concatenate([np.zeros(step), b[:-step]])
        a, b = np.where(same, a * a_prev, a), np.where(same, a * b_prev + b, b)
        if not same.any():
            break
        step *= 2
    return b


def _sums_before(x: np.ndarray, start: np.ndarray, p: float) -> np.ndarray:
    """Per row the sum of the amounts x (multiples of p) from row `start` (of its run) to the
    row before it, in whole numbers of p: a float sum over all runs carries a large pool's
    rounding error into the small ones after it. Pools whose rounds diverge (R60: beyond any
    amount, nan counting as moving) keep float sums."""
    exact = bool(np.all(np.abs(x) < 2.0**52 * p))
    whole = np.rint(x / p).astype(np.int64) if exact else x
    before = np.cumsum(whole) - whole
    before -= before[start]
    return before * p if exact else before


class _Pools:
    """The event arrays of every pool, and the two ways to evaluate R96 on them."""

    def __init__(self, ev: pl.DataFrame, p: float) -> None:
        self.p = p
        self.pool_id = ev.select(pl.col("pool").rank("dense")).to_series().to_numpy()
        # quantities in units (millionths): their sums are exact, so a pool emptied is empty
        # (float sums over all pools once left 1e-15 where the pool was empty, and valued a
        # decrease from it)
        self.dq = np.rint(ev.get_column("dq").fill_null(0.0).to_numpy() * QTY_SCALE).astype(
            np.int64)
        self.dc = ev.get_column("dc").fill_null(0.0).to_numpy().copy()
        self.is_dec = ev.get_column("decrease").to_numpy()
        self.deducted = self.is_dec & ev.get_column("deducted").fill_null(False).to_numpy()
        self.q_dec = ev.get_column("q_dec").fill_null(0.0).to_numpy()
        self.q_dec_units = np.rint(self.q_dec * QTY_SCALE).astype(np.int64)
        self.c_post = ev.get_column("c_post").fill_null(0.0).to_numpy()
        # add-backs and returns in a later period: dc is base + a part of their decrease's cost
        self.is_back = ev.get_column("source_row").is_not_null().to_numpy()
        self.src = ev.get_column("source_row").fill_null(0).to_numpy()
        self.base = ev.get_column("base").fill_null(0.0).to_numpy()
        self.added_back = self.is_back & (ev.get_column("cls") == 1).to_numpy()
        # the returns' R3 split, in quantity units
        self.hi, self.lo, self.whole = (
            np.rint(ev.get_column(c).fill_null(fill).to_numpy() * QTY_SCALE).astype(np.int64)
            for c, fill in (("split_hi", 0.0), ("split_lo", 0.0), ("whole", 1.0)))
        n = ev.height
        first = np.concatenate([[True], self.pool_id[1:] != self.pool_id[:-1]])
        self.start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        self.end = np.append(np.flatnonzero(first)[1:], n)[np.cumsum(first) - 1]  # pool's end
        # segments: a pool's period, cut after each Revaluation event (R101)
        reval = (ev.get_column("reval").fill_null(False).to_numpy() if "reval" in ev.columns
                 else np.zeros(n, dtype=bool))
        period = ev.get_column("period_end").to_physical().to_numpy()
        boundary = first | np.concatenate([[True], period[1:] != period[:-1]]) | reval
        self.seg_id = np.cumsum(boundary) - 1
        self.seg_start = np.flatnonzero(boundary)
        self.seg_len = np.diff(np.append(self.seg_start, n))
        q_before = self.exclusive(self.dq)
        self.valued = self.is_dec & (q_before > 0)
        self.q_before, self.q_before_units = q_before / QTY_SCALE, q_before

    def exclusive(self, x: np.ndarray) -> np.ndarray:
        """Sum of x over the earlier events of the same pool."""
        before = np.cumsum(x) - x
        return before - before[self.start]

    def value_before(self) -> np.ndarray:
        """The pool's value before each event, in whole cents (summed as floats over all
        pools, 1e-9 of a pool of 10^7 made a decrease of 0.025 in a later pool one of 0.02)."""
        return _sums_before(self.dc, self.start, self.p)

    def _back(self, total: np.ndarray, i: np.ndarray) -> np.ndarray:
        """R96 step 4, R73: the value of the returns at rows `i`: their base plus their R3 part
        of `total` (what their decrease took from the pool: minus its cost)."""
        return self.base[i] + (round_shares(total, self.hi[i], self.whole[i], self.p)
                               - round_shares(total, self.lo[i], self.whole[i], self.p))

    def costs(self, t: np.ndarray) -> np.ndarray:
        """One pass of R96 over everything: every cost from the running pools `t` implies."""
        self.dc[self.deducted] = t[self.deducted]
        back = np.flatnonzero(self.is_back)
        self.dc[back] = self._back(-t[self.src[back]], back)
        c_before = self.value_before()
        # R96: the decrease's share of the pool by quantity, exact near a tie
        share = round_shares(c_before, self.q_dec_units,
                             np.where(self.valued, self.q_before_units, 1), self.p)
        return np.where(self.valued, -share, -self.c_post)

    def exact_in(self, t: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """R96 exactly in the pools of the `moving` rows, from each pool's first moving row.

        The rows before a pool's first moving row are exact (each is what the rows before it
        give); from there the recurrence is sequential, each decrease passing its rounding
        residual to the next. Window by window from an exact row, the costs are guessed from the
        unrounded recurrence (an affine scan); the true pool then differs from the guessed one
        by a whole number m of cents, which each decrease changes by its rounding difference, a
        map of m over -_DRIFT.._DRIFT. Composing the maps (a scan, log2(window) steps) gives
        every row's m, hence its exact cost. A run stops where m leaves the range or at an
        add-back whose decrease was guessed wrong; its next window starts there, and a clean
        window doubles the next. The loop is over windows, not rows.
        """
        t = t.copy()
        self.costs(t)  # dc from t
        _, first = np.unique(self.pool_id[moving], return_index=True)
        g_first = moving[first]  # each pool's first row not known to be exact
        c0 = self.value_before()[g_first]  # the pool's value before it
        ends, width = self.end[g_first], np.full(len(g_first), _WINDOW)
        m = np.arange(-_DRIFT, _DRIFT + 1)
        while len(g_first):
            lengths = np.minimum(ends - g_first, width)
            off = np.concatenate([[0], np.cumsum(lengths)])
            r = np.repeat(np.arange(len(g_first)), lengths)
            k = np.arange(off[-1])
            g = k - off[r] + g_first[r]
            opens = k == off[r]
            dec, back, valued, deducted = (self.is_dec[g], self.is_back[g], self.valued[g],
                                           self.deducted[g])
            q_dec, q = self.q_dec[g], np.where(valued, self.q_before[g], 1.0)
            src = self.src[g]
            inside = back & (src >= g_first[r])  # an add-back of a decrease in this window
            at_src = np.where(inside, off[r] + src - g_first[r], 0)
            # the guess: the unrounded pool, each valued decrease taking its share at the unit
            # cost (x -> (1 - q/Q)·x), every other row its amount as it stands
            a = np.where(valued & deducted, 1 - q_dec / q, 1.0)
            b = np.where(dec, np.where(~valued & deducted, -self.c_post[g], 0.0), self.dc[g])
            after = _scan_affine(np.where(opens, 0.0, a), np.where(opens, a * c0[r] + b, b), r)
            unrounded = np.where(opens, c0[r], np.concatenate([[0.0], after[:-1]]))
            tt = np.where(valued, -_round(unrounded * q_dec / q, self.p), -self.c_post[g])
            backs = np.flatnonzero(back)
            for again in range(_REFINE + 1):  # then each decrease at the guessed pool's cost
                d = np.where(dec, np.where(deducted, tt, 0.0), self.dc[g])
                d[backs] = self._back(-np.where(inside[backs], tt[at_src[backs]],
                                                t[src[backs]]), g[backs])
                guessed = c0[r] + _sums_before(d, off[r], self.p)  # the pool, guessed
                if again < _REFINE:
                    tt = np.where(valued, -_round(guessed * q_dec / q, self.p), tt)
            # per valued decrease: its cost for each m, and the state (m's index) after it
            vd = np.flatnonzero(valued)
            cand = -round_shares(  # R96 as in `costs`
                (guessed[vd, None] + m * self.p).ravel(),
                np.repeat(self.q_dec_units[g[vd]], len(m)),
                np.repeat(self.q_before_units[g[vd]], len(m)), self.p).reshape(len(vd), len(m))
            moved = np.rint((cand - tt[vd, None]) / self.p).astype(np.int64)
            moved = np.where(deducted[vd, None], moved, 0)
            # only the decreases that move some m are composed; the others keep it
            shifts = np.flatnonzero(moved.any(axis=1))
            maps = m + moved[shifts] + _DRIFT
            maps = np.where((maps >= 0) & (maps < len(m)), maps, len(m))  # len(m): out of range
            state = _compose(maps.astype(np.int8), r[vd[shifts]])
            # each row's state before it: the state after the run's last such decrease before
            # it, or m = 0 at the run's start
            shifting = np.zeros(len(g), dtype=np.int64)
            shifting[vd[shifts]] = 1
            seen = np.cumsum(shifting) - shifting  # shifting decreases before the row, all runs
            prev = np.where(seen > seen[off[:-1]][r], seen - 1, len(state))
            s_before = np.append(state, _DRIFT)[prev]
            ok = s_before < len(m)
            cost = tt.copy()
            cost[vd] = cand[np.arange(len(vd)), np.minimum(s_before[vd], len(m) - 1)]
            bad = ~ok | (inside & (np.abs(cost[at_src] - tt[at_src]) >= _EPS))
            true_d = np.where(dec, np.where(deducted, cost, 0.0), d)
            # per run the last exact row: the one before its first bad row, or the window's end
            last = off[1:] - 1
            runs_bad, at = np.unique(r[bad], return_index=True)
            last[runs_bad] = np.flatnonzero(bad)[at] - 1  # never before the run's first row
            exact = k <= last[r]
            t[g[exact & dec]] = cost[exact & dec]
            self.dc[g[exact & back]] = true_d[exact & back]
            c0 = guessed[last] + (s_before[last] - _DRIFT) * self.p + true_d[last]
            g_first = g[last] + 1
            width = width * 2
            width[runs_bad] = _WINDOW
            going = g_first < ends
            g_first, c0, ends, width = g_first[going], c0[going], ends[going], width[going]
        return t


def _compose(maps: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, the state after it from the start state (index _DRIFT) of its group: an
    inclusive scan composing the rows' state maps (row i: state before -> state after, a value
    len(m) meaning out of range, which stays out) within each group, Hillis-Steele."""
    out = maps.shape[1]
    table = np.concatenate([maps, np.full((len(maps), 1), out, dtype=maps.dtype)], axis=1)
    step = 1
    while step < len(table):
        rows = np.flatnonzero(group[step:] == group[:-step]) + step
        if not len(rows):
            break
        table[rows] = np.take_along_axis(table[rows], table[rows - step].astype(np.intp), 1)
        step *= 2
    return table[:, _DRIFT]


def average_costs(events: pl.DataFrame, settings: Settings, previous: pl.DataFrame | None = None
                  ) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """R96, R102: the cost of every decrease. Returns (entry_no, target, valued), the passes,
    and the pools still moving after MAX_PASSES (pool: a pool feeding its own cost back, R60;
    their costs are the last pass's); a decrease is valued when its pool holds something
    before it, otherwise it keeps its cost at posting (R102).

    Whole-array passes from the first guess (or from `previous`, the costs of the last round of
    the fixed point, where they exist) settle almost every pool at once; the segments still
    moving after a few (long runs of decreases passing a rounding residual on) are then valued
    exactly from their first moving row (`exact_in`), and the passes go on until nothing
    changes. The result does not depend on the path: the costs where a pass changes nothing
    are the ones R96 gives decrease by decrease.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # R60: costs may grow past floats
        pools = _Pools(events, settings.amount_rounding_precision)
        t = _first_guess(events, pools)
        if previous is not None and previous.height:
            known = events.select(entry_no=pl.when(pl.col("decrease")).then(pl.col("ord1"))).join(
                previous, on="entry_no", how="left", maintain_order="left").get_column("target")
            t = np.where(known.is_not_null().to_numpy(), known.fill_null(0.0).to_numpy(), t)
        passes, moving = 0, np.zeros(len(t), dtype=bool)
        for passes in range(1, MAX_PASSES + 1):  # noqa: B007 - the count is reported
            new = pools.costs(t)
            moving = ~(np.abs(new - t) < _EPS)  # a cost grown past the floats (nan) still moves
            moving &= pools.is_dec
            if not moving.any():
                break
            t = new
            if passes >= _WHOLE_ARRAY_PASSES:
                t = pools.exact_in(t, np.flatnonzero(moving))
    stuck = events.filter(pl.Series(moving)).select("pool").unique().sort("pool")
    out = events.filter(pl.col("decrease")).select(pl.col("ord1").alias("entry_no"))
    return out.with_columns(target=pl.Series(t[pools.is_dec]),
                            valued=pl.Series(pools.valued[pools.is_dec])), passes, stuck


def _first_guess(ev: pl.DataFrame, pools: _Pools) -> np.ndarray:
    """The unrounded recurrence per segment: every valued decrease at the segment's unit cost.

    A segment is a period, cut after each Revaluation event in it: the decreases posted after a
    revaluation see it, those before do not (R101).
    """
    pool_id, dq, dc, is_dec = pools.pool_id, pools.dq, pools.dc, pools.is_dec
    deducted, valued, q_dec, c_post, p = (pools.deducted, pools.valued, pools.q_dec,
                                          pools.c_post, pools.p)
    per = ev.select("pool", "period_end").with_columns(
        seg=pl.Series(pools.seg_id),
        pool_id=pl.Series(pool_id), entering=pl.Series(~is_dec & ~pools.added_back),
        dq=pl.Series(dq), dc=pl.Series(dc),
        valued_q=pl.Series(np.where(valued & deducted, q_dec, 0.0)),
        posted=pl.Series(np.where(is_dec & ~valued & deducted, -c_post, 0.0)),
    )
    periods = per.group_by("pool_id", "seg", maintain_order=True).agg(
        vin=pl.col("dc").filter(pl.col("entering")).sum(),
        qin=pl.col("dq").filter(pl.col("entering")).sum(),
        q_all=pl.col("dq").sum(),
        valued_q=pl.col("valued_q").sum(),
        posted=pl.col("posted").sum(),
    ).with_columns(
        q_base=pl.col("q_all").cum_sum().over("pool_id") - pl.col("q_all") + pl.col("qin"))
    q_base = periods.get_column("q_base").to_numpy()  # units
    safe = np.where(q_base > 0, q_base / QTY_SCALE, 1.0)
    r = np.where(q_base > 0, 1 - periods.get_column("valued_q").to_numpy() / safe, 1.0)
    vin = periods.get_column("vin").to_numpy()
    x = _scan_affine(r, r * vin + periods.get_column("posted").to_numpy(),
                     periods.get_column("pool_id").to_numpy())
    group = periods.get_column("pool_id").to_numpy()
    x_prev = np.concatenate([[0.0], x[:-1]])
    x_prev[np.concatenate([[True], group[1:] != group[:-1]])] = 0.0
    unit = (x_prev + vin) / safe
    period_of = per.join(
        periods.select("pool_id", "seg").with_row_index("period_row"),
        on=["pool_id", "seg"], how="left", maintain_order="left",
    ).get_column("period_row").to_numpy()
    return np.where(valued, -_round(unit[period_of] * q_dec, p), -c_post)
