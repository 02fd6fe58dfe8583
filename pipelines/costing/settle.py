"""R60: Adjust Cost's fixed point. Costs flow along applications, transfers, returns and average
pools until no target moves; each round recomputes only what the last round moved.

A round has four steps, each a method of `_Rounds`:
1. `outbounds`: the outbounds whose inbounds moved get their cost at posting, target and
   valuation date from their applications (`fifo.outbound_costs`, R51, R72, R92);
2. `pools`: the average pools with a moved input value their decreases again (§8);
3. `received`: cost-receiving inbounds (to-legs, returns) follow their sources (R73, R74);
4. `pool_revaluations`: per-pool revaluation amounts follow what they read (R85, R170.15).
What moved in steps 3 and 4 chooses the next round's outbounds (`next_outbounds`). The rounds
carry only the outbounds other entries read; the others (most sales) are costed once, after them.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from pipelines.costing import average, revaluation
from pipelines.costing import average_revaluation as pooled_revaluation
from pipelines.costing.by_entry import ByEntry, Grouped, marks
from pipelines.costing.fifo import (
    RESULT_SCHEMA,
    NotYet,
    inbound_table,
    outbound_costs,
    outbound_table,
    received_values,
)
from pipelines.costing.unsettled import posting_amounts
from pipelines.frames import where
from pipelines.settings import Settings

MAX_ROUNDS = 100  # R60: BC caps its recursion at 100 levels the same way
_CENT_EPS = 1e-6


class Settled(NamedTuple):
    """The fixed point of R60: outbound results, the final inbound table, the revaluation
    amounts, and the items that did not settle in MAX_ROUNDS rounds (item_no)."""

    outbound: pl.DataFrame
    inbound: pl.DataFrame
    amounts: pl.DataFrame | None
    unsettled: pl.DataFrame


def settle_costs(
    entries: pl.DataFrame,
    source_values: pl.DataFrame,
    applications: pl.DataFrame,
    settings: Settings,
    accounting_periods: pl.DataFrame | None = None,
    revalued: pl.DataFrame | None = None,
    reval_links: pl.DataFrame | None = None,
) -> Settled:
    """R60: rounds until nothing moves, at most MAX_ROUNDS; an item still moving then is
    unsettled (its revaluation amounts come from the posting amounts, `unsettled.py`)."""
    rounds = _Rounds(entries, source_values, applications, settings, accounting_periods,
                     revalued, reval_links)
    # R60, R170.15: the rounds start from the costs at posting. Chains (transfers, returns)
    # carry them first with every pool's decreases at their costs at posting; then the pools
    # join. Where rounding leaves two fixed points this start picks the reference's whenever
    # the costs only fall or only rise from it (the order of R170.15 decides the rest)
    rounds.at_posting = True
    rounds.run(rounds.read_outbounds)
    rounds.at_posting, rounds.inputs_moved = False, None  # the first pool round values them all
    rounds.amounts_moved = None
    converged = rounds.run(rounds.read_outbounds.clear())
    rounds.results.put(rounds.costs(rounds.unread_outbounds))
    return rounds.settled(converged)


class _Rounds:
    """The state of the fixed point between rounds, and its steps."""

    def __init__(self, entries, source_values, applications, settings, accounting_periods,
                 revalued, reval_links) -> None:
        self.entries, self.source_values = entries, source_values
        # the applications of given outbounds, of given inbounds: taken without a join
        self.applied_from = Grouped(applications, "outbound", entries.height + 1)
        self.applied_to = Grouped(applications, "inbound", entries.height + 1)
        self.settings, self.accounting_periods = settings, accounting_periods
        self.p = settings.amount_rounding_precision
        self.inbound = ByEntry(inbound_table(entries, source_values), entries.height + 1,
                               key="inbound")
        self.not_yet = NotYet(source_values, self.inbound.frame)
        self.outbounds_table = outbound_table(entries)
        # the outbounds by entry, and by the entry that is their u0 (R51), taken without a join
        self.outbound_of = ByEntry(self.outbounds_table, entries.height + 1)
        self.valued_at = Grouped(self.outbounds_table.with_columns(
            pl.col("u0_entry").fill_null(0)), "u0_entry", entries.height + 1)
        # the cost-receiving inbounds of given sources, the revaluation links of given outbounds
        receiving = where(
            entries, pl.col("receiving"), pl.col("entry_no").alias("inbound"), "source_entry",
            "type", "posting_date", pl.col("quantity").alias("q_in"),
        ).join(entries.select(pl.col("entry_no").alias("source_entry"),
                              source_q=pl.col("quantity").abs()), on="source_entry")
        self.received_from = Grouped(receiving, "source_entry", entries.height + 1)
        self.links_of = None if reval_links is None else Grouped(reval_links, "outbound",
                                                                 entries.height + 1)
        self.averaged = where(
            entries, pl.col("costing_method") == "AVERAGE", "entry_no", "item_no", "key_id",
            "inbound", "receiving", "source_entry", "type", "leg", "units", "quantity",
            "applies_to_entry", pool=average.pool_of(settings))  # what pool_events reads
        # the outbounds other entries read: sources of cost-receiving inbounds (R73, R74) and
        # AVERAGE decreases (their pools, R85). The others are costed once, after the rounds,
        # from the final costs of what they read (a sale is most of them, and its inbounds can
        # move in many rounds)
        self._read = marks(pl.concat([receiving.get_column("source_entry"),
                                      self.averaged.get_column("entry_no")]), entries.height + 1)
        is_read = pl.Series(self._read[self.outbounds_table.get_column("entry_no").to_numpy()])
        self.read_outbounds, self.unread_outbounds = (self.outbounds_table.filter(is_read),
                                                      self.outbounds_table.filter(~is_read))
        # R93: the pool, not the application, values these decreases; their application-based
        # target is only a placeholder until their pool is recomputed
        self.by_pool = self.averaged.filter(
            ~pl.col("inbound") & pl.col("applies_to_entry").is_null()).select("entry_no")
        self._by_pool = marks(self.by_pool.get_column("entry_no"), entries.height + 1)
        # R99: under calc type item the to-leg of a decrease valued by its pool is held back in
        # its own pool, so its received cost never enters a pool: its cost moving (not its date,
        # which dates its charges) is no reason to recompute one
        self.outside_pools = self.averaged.filter(
            pl.lit(settings.average_cost_calc_type == "item") & (pl.col("type") == "transfer")
            & pl.col("receiving")
        ).join(self.by_pool.select(source_entry="entry_no"), on="source_entry",
               how="semi").select(pl.col("entry_no").alias("inbound"))
        self.item_of = ByEntry(entries.select("entry_no", "item_no"), entries.height + 1)
        self.at_posting = False  # True: the pools wait, their decreases at their posting cost
        # items with a pool that feeds its own cost back inside one valuation (R60): given up,
        # their pools are not valued again
        self.stuck = entries.select("item_no").clear()
        self.in_key_order = entries.select("item_no").clear()  # items whose pools oscillated
        self.last_moved = pl.DataFrame(schema={"entry_no": pl.Int64, "old": pl.Float64,
                                               "backs": pl.Int32})
        # the outbounds' costs so far: a round reads and writes only the entries it moves
        self.results = ByEntry(pl.DataFrame(schema=RESULT_SCHEMA), entries.height + 1)
        self.targets = None  # the average costs of the last round: the next starts from them
        self.inputs_moved = None  # entries whose cost inputs moved last round (None: first)
        self.hit = None  # inbounds that moved last round
        self.inside = None  # marks the returns this round's pools valued themselves (`_average`)
        self.revalued = self.amounts = self.avg_revalued = self.per_pool = None
        self.contributions = self.reval_inputs = None
        # items whose Revaluation amounts moved (None: all, to begin with): their R85 amounts
        # read the earlier ones, so they are recomputed
        self.amounts_moved: pl.DataFrame | None = None
        if revalued is not None:
            self._revaluations(revalued)

    def _revaluations(self, revalued: pl.DataFrame) -> None:
        """Splits the revaluations into per entry (R81) and per pool (R85), with their start."""
        settings, entries = self.settings, self.entries
        self.avg_revalued = pooled_revaluation.after_entry(
            revalued.filter(pl.col("costing_method") == "AVERAGE").join(
                self.averaged.select(inbound="entry_no", pool="pool"), on="inbound",
                how="left", maintain_order="left"),
            entries)
        self.per_pool = self.avg_revalued.filter(pl.col("applies_to").is_null())  # R85
        self.revalued = revalued.join(self.per_pool, on=["reval_tx", "inbound"], how="anti")
        self.amounts = pl.concat([
            revaluation.revaluation_amounts(
                self.revalued, self.inbound.frame.select("inbound", "target"), self.p),
            self.per_pool.select("reval_tx", "inbound", "r_units", amount=pl.lit(0.0)),
        ])
        self.contributions = pooled_revaluation.pool_contributions(
            entries, self.source_values, average.pool_of(settings), self.per_pool)
        # the entries whose cost or date the R85 amounts read
        self.reval_inputs = self.contributions.select("entry_no").unique()
        self._reval_input = marks(self.reval_inputs.get_column("entry_no"), entries.height + 1)

    def run(self, todo: pl.DataFrame) -> bool:
        """Rounds from the outbounds `todo` until nothing moves (True) or MAX_ROUNDS (False)."""
        for _ in range(MAX_ROUNDS):
            fresh, triggers = self.outbounds(todo)
            fresh = self.pools(fresh, triggers)
            changed = self.received(fresh)
            again = self.pool_revaluations(fresh, changed)
            if changed.height == 0 and again.height == 0:
                return True
            todo = self.next_outbounds(changed, again)
        return False

    def items(self, entry_no: pl.Series) -> pl.DataFrame:
        """The items (item_no, each once, sorted) of these entries."""
        return self.item_of.take(entry_no).select("item_no").unique().sort("item_no")

    def valued_by_pool(self, frame: pl.DataFrame) -> pl.Series:
        """Per row of `frame`: is its entry a decrease its pool values (`by_pool`)?"""
        return pl.Series(self._by_pool[frame.get_column("entry_no").to_numpy()])

    def costs(self, todo: pl.DataFrame) -> pl.DataFrame:
        """R51, R72, R92: the costs of the outbounds `todo` from their applications now."""
        reval = None if self.links_of is None else revaluation.shares_per_outbound(
            self.links_of.take(todo.get_column("entry_no")), self.amounts, self.p)
        applied = self.applied_from.take(todo.get_column("entry_no"))
        if todo.height > self.inbound.frame.height // 4:  # most inbounds: no lookup
            asked = self.inbound.frame
        else:
            asked = self.inbound.take(pl.concat([applied.get_column("inbound"),
                                                 todo.get_column("u0_entry")]))
        return outbound_costs(todo, asked, applied, self.not_yet, self.settings, reval)

    def outbounds(self, todo: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """Step 1: costs of `todo` from their applications. Returns them (`fresh`) and the
        entries whose pools must be recomputed (`triggers`; None: every pool, first round)."""
        fresh = self.costs(todo)
        by_pool = self.valued_by_pool(fresh)
        pooled, own = fresh.filter(by_pool), fresh.filter(~by_pool)
        if self.at_posting:  # before the pools: a decrease valued by its pool at its posting cost
            fresh = pl.concat([own, pooled.with_columns(target=-pl.col("cost_at_posting"))])
            triggers = None
        elif self.inputs_moved is None:
            triggers = None
        elif pooled.height:
            # a decrease valued by its pool keeps its last pool cost, and moves its pool only
            # through its valuation date, or its cost at posting when its pool was empty before
            # it (R96, R102)
            old = self.results.take(pooled.get_column("entry_no"))
            posting_moved = pooled.join(old, on="entry_no", suffix="_old").join(
                self.targets.select("entry_no", "valued"), on="entry_no", how="left").filter(
                (pl.col("valuation_date") != pl.col("valuation_date_old"))
                | (((pl.col("cost_at_posting") - pl.col("cost_at_posting_old")).abs()
                    > _CENT_EPS) & ~pl.col("valued").fill_null(False))).select("entry_no")
            fresh = pl.concat([own, pooled.update(old.select("entry_no", "target"),
                                                  on="entry_no")])
            triggers = pl.concat([own.select("entry_no"), posting_moved, self.inputs_moved])
        else:
            triggers = pl.concat([fresh.select("entry_no"), self.inputs_moved])
        self.results.put(fresh)
        return fresh, triggers

    def pools(self, fresh: pl.DataFrame, triggers: pl.DataFrame | None) -> pl.DataFrame:
        """Step 2: the pools with a moved input (a whole item, so that all returns of a sale are
        in one frame, R3) value their decreases; `fresh` plus the decreases that moved."""
        self.inside = None
        if self.at_posting:
            return fresh
        now = self.averaged if triggers is None else self.averaged.join(
            self.items(triggers.get_column("entry_no")),
            on="item_no", how="semi")
        if now.height == 0:
            return fresh
        # R170.15: a cost-receiving inbound follows its source's new cost at once, so that a
        # pool holding a from-leg and its to-leg sees both in the same round (a to-leg one round
        # behind makes the pool oscillate); not yet where the source is valued by a pool (its
        # cost so far is a placeholder): after the pools, in step 3
        received = received_values(self.received_from.take(
            fresh.filter(~self.valued_by_pool(fresh)).get_column("entry_no")), fresh,
            self.settings)
        ids = now.select("entry_no")  # what the pools read, before the joins of pool_events
        found, inside = self._value_pools(
            now, self.inbound.take(ids.get_column("entry_no")).update(received, on="inbound"),
            self.results.take(ids.get_column("entry_no")))
        self.inside = marks(inside.get_column("entry_no"), self.entries.height + 1)
        self.targets = found if self.targets is None else pl.concat(
            [self.targets.join(found, on="entry_no", how="anti"), found])
        moved = found.join(self.results.take(found.get_column("entry_no"))
                           .select("entry_no", old=pl.col("target")), on="entry_no")
        moved = moved.filter((pl.col("target") - pl.col("old")).abs() > _CENT_EPS)
        self._watch_oscillation(moved)
        self.results.put(found.drop("valued"))
        return self.results.take(
            pl.concat([fresh.get_column("entry_no"), moved.get_column("entry_no")]))

    def _value_pools(self, now: pl.DataFrame, inbound: pl.DataFrame,
                     results: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """§8 for the pools of `now`, all at once; the items in `in_key_order` pool by pool in
        key order, each pool reading the to-legs of the pools before it at their new cost
        (R170.15: the reference's order), so that two pools feeding each other in one period
        cannot swap their roundings round after round. Returns the costs, and the returns
        valued inside the pools (entry_no, `_average`)."""
        ordered = now.join(self.in_key_order, on="item_no", how="semi")
        costs, returns = self._average(now.join(ordered, on="entry_no", how="anti"), inbound,
                                       results)
        found, inside = [costs], [returns]
        ordered = ordered.with_columns(
            rank=pl.col("key_id") - pl.col("key_id").min().over("item_no"))
        for rank in range(ordered.get_column("rank").max() + 1 if ordered.height else 0):
            if rank:  # the to-legs of the decreases just valued take their new cost
                done = found[-1].drop("valued")
                inbound = inbound.update(received_values(
                    self.received_from.take(done.get_column("entry_no")),
                    results.update(done, on="entry_no"), self.settings), on="inbound")
            costs, returns = self._average(ordered.filter(pl.col("rank") == rank).drop("rank"),
                                           inbound, results)
            found.append(costs)
            inside.append(returns)
        return pl.concat(found), pl.concat(inside)

    def _average(self, now: pl.DataFrame, inbound: pl.DataFrame,
                 results: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """R94-R102: the costs of the decreases of the pools of `now` (entry_no, target, valued),
        and the returns their pools value from them (entry_no): added back (R96 step 4) or in a
        later period, each at its part of its decrease's new cost, which `received` then gives
        it again."""
        events = average.pool_events(
            now, inbound, results, self.settings, self.accounting_periods,
            None if self.avg_revalued is None
            else pooled_revaluation.pool_events_of(self.avg_revalued, self.amounts))
        found, _, stuck = average.average_costs(events, self.settings, self.targets)
        inside = events.filter(pl.col("source_row").is_not_null()).select(
            entry_no=pl.when(pl.col("cls") == 0).then("ord1").otherwise("ord2"))
        if stuck.height == 0:
            return found, inside
        # R60: such an item does not settle; its decreases keep the costs they had
        items = stuck.join(now.select("pool", "item_no").unique("pool"), on="pool").select(
            "item_no").unique()
        self.stuck = pl.concat([self.stuck, items]).unique().sort("item_no")
        self.averaged = self.averaged.join(items, on="item_no", how="anti")
        return found.join(now.join(items, on="item_no", how="semi").select("entry_no"),
                          on="entry_no", how="anti"), inside

    def _watch_oscillation(self, moved: pl.DataFrame) -> None:
        """Two pools feeding each other in one period (calc type item_location_variant) can
        swap their roundings round after round (two fixed points): a decrease moving back to
        its cost of two rounds ago for the second round running. From then on its item's pools
        go in key order."""
        if self.settings.average_cost_calc_type != "item_location_variant":
            return
        moved = moved.join(self.last_moved, on="entry_no", how="left", suffix="_before").select(
            "entry_no", "old", backs=pl.when(
                (pl.col("target") - pl.col("old_before")).abs() <= _CENT_EPS)
            .then(pl.col("backs").fill_null(0) + 1).otherwise(0))
        self.last_moved = moved
        swapping = moved.filter(pl.col("backs") >= 2)
        if swapping.height:
            self.in_key_order = pl.concat(
                [self.in_key_order, self.items(swapping.get_column("entry_no"))]).unique()

    def received(self, fresh: pl.DataFrame) -> pl.DataFrame:
        """Step 3: the inbounds whose source was just recomputed (all returns of a sale) take
        its cost (R73, R74); returns those that moved, `cost_only` where the date did not."""
        affected = self.received_from.take(fresh.get_column("entry_no"))
        changed = received_values(affected, fresh, self.settings).join(
            self.inbound.take(affected.get_column("inbound"))
            .select("inbound", "at_posting", "target", "vdate"), on="inbound", suffix="_old",
        ).filter(
            ((pl.col("at_posting") - pl.col("at_posting_old")).abs() > _CENT_EPS)
            | ((pl.col("target") - pl.col("target_old")).abs() > _CENT_EPS)
            | (pl.col("vdate") != pl.col("vdate_old"))
        ).select("inbound", "at_posting", "target", "vdate",
                 cost_only=pl.col("vdate") == pl.col("vdate_old"),
                 target_only=(pl.col("vdate") == pl.col("vdate_old"))
                 & ((pl.col("at_posting") - pl.col("at_posting_old")).abs() <= _CENT_EPS))
        self.inbound.put(changed.drop("cost_only", "target_only"), keep_on_null=True)
        return changed

    def pool_revaluations(self, fresh: pl.DataFrame, changed: pl.DataFrame) -> pl.DataFrame:
        """Step 4 (R85, R170.15): per-pool revaluation amounts from this round's pools and the
        received costs they pass on, so that a cost-receiving entry's share and its
        revaluation see the same round (one round behind, a self-feeding pool oscillates).
        Returns the inbounds whose amounts moved."""
        none = pl.DataFrame(schema={"inbound": pl.Int64})
        # before the pools (at posting) they wait too: the first pool round computes them all
        if self.per_pool is None or self.per_pool.height == 0 or self.at_posting:
            return none
        per_pool, revalued, contributions, inputs = (
            self.per_pool, self.avg_revalued, self.contributions, self.reval_inputs)
        if self.amounts_moved is not None:  # only the items whose inputs moved (R85 is per item)
            moved_inputs = pl.concat([fresh.get_column("entry_no"),
                                      changed.get_column("inbound")])
            moved_inputs = moved_inputs.filter(
                pl.Series(self._reval_input[moved_inputs.to_numpy()]))
            items = pl.concat([self.items(moved_inputs), self.amounts_moved]).unique()
            if items.height == 0:
                return none
            per_pool, revalued, contributions = (
                frame.join(items, on="item_no", how="semi")
                for frame in (per_pool, revalued, contributions))
            inputs = inputs.join(contributions.select("entry_no"), on="entry_no", how="semi")
        read = self.inbound.take(inputs.get_column("entry_no"))
        out_read = self.results.take(inputs.get_column("entry_no"))
        vdates = pl.concat([read.select(entry_no="inbound", vdate="vdate"),
                            out_read.select("entry_no", vdate="valuation_date")])
        targets = pl.concat([read.filter(pl.col("receiving")).select(entry_no="inbound",
                                                                     target="target"),
                             out_read.select("entry_no", "target")])
        self.amounts, moved = pooled_revaluation.amounts_in_place(
            per_pool, revalued, contributions, vdates, targets, self.amounts, self.p, _CENT_EPS)
        self.amounts_moved = self.items(moved.get_column("inbound"))
        return moved

    def next_outbounds(self, changed: pl.DataFrame, again: pl.DataFrame) -> pl.DataFrame:
        """The outbounds applied to an inbound that moved, or valued at its cost as u0 (R51);
        the per-entry revaluations of those inbounds follow them (R81)."""
        hit = self.hit = pl.concat([changed.select("inbound"), again]).unique()
        # a cost alone moving moves no pool where the pool does not read it (R99), or where it
        # valued it itself from the decrease it just valued (`_average`)
        cost_only = changed.filter("cost_only")
        if self.inside is not None:
            cost_only = cost_only.filter(~pl.Series(self.inside[cost_only["inbound"].to_numpy()]))
        self.inputs_moved = pl.concat([
            changed.filter(~pl.col("cost_only")).select("inbound"),
            cost_only.join(self.outside_pools, on="inbound", how="anti").select("inbound"),
            again,
        ]).unique().select(entry_no="inbound")
        if self.revalued is not None:  # R81: a received cost, an earlier per-pool revaluation
            recompute = self.revalued.join(hit, on="inbound", how="semi")
            if recompute.height:
                self.amounts_moved = (None if self.amounts_moved is None else pl.concat(
                    [self.amounts_moved, self.items(recompute.get_column("inbound"))]).unique())
                moved = pooled_revaluation.moved_amounts(revaluation.revaluation_amounts(
                    recompute, self.inbound.take(recompute.get_column("inbound"))
                    .select("inbound", "target"), self.p,
                    self.amounts.join(self.per_pool, on=["reval_tx", "inbound"], how="semi")),
                    self.amounts, _CENT_EPS)
                self.amounts = self.amounts.update(moved, on=["reval_tx", "inbound"])
                # a Revaluation entry is an event of its pool (R101): even where its inbound is
                # held outside the pools (R99), its amount moving moves the pool
                self.inputs_moved = pl.concat([self.inputs_moved,
                                               moved.select(entry_no="inbound")]).unique()
        # a decrease its pool values reads of its inbounds only their costs at posting and
        # dates (its target is the pool's): an inbound whose target alone moved leaves it be
        full = marks(pl.concat([changed.filter(~pl.col("target_only")).get_column("inbound"),
                                again.get_column("inbound")]), self.entries.height + 1)
        applied = self.applied_to.take(hit.get_column("inbound"))
        out, read = (applied.get_column(c).to_numpy() for c in ("outbound", "inbound"))
        at_u0 = self.valued_at.take(hit.get_column("inbound"))  # u0_entry is a hit inbound, not 0
        u0_out, u0 = (at_u0.get_column(c).to_numpy() for c in ("entry_no", "u0_entry"))
        # the outbounds nothing reads wait for the end (`settle_costs`)
        return pl.concat([
            self.outbound_of.take(pl.Series(
                out[self._read[out] & (~self._by_pool[out] | full[read])])),
            at_u0.filter(pl.Series(self._read[u0_out] & (~self._by_pool[u0_out] | full[u0]))),
        ]).unique("entry_no", maintain_order=True)

    def settled(self, converged: bool) -> Settled:
        """R60: the items given up (`stuck`) and, unless the rounds `converged`, what still
        moved in the last one did not settle; their revaluations are computed from the posting
        amounts, and cost adjustment leaves their items alone (cost_ledger)."""
        unsettled = self.stuck if converged else pl.concat(
            [self.stuck, self.items(self.hit.get_column("inbound"))]).unique().sort("item_no")
        amounts = self.amounts
        if amounts is not None and unsettled.height:
            at_posting = posting_amounts(self.revalued, self.per_pool, self.avg_revalued,
                                         self.contributions, self.inbound.frame,
                                         self.results.frame, self.p)
            item_of_inbound = self.entries.select(inbound="entry_no", item_no="item_no")
            amounts = amounts.update(
                at_posting.join(item_of_inbound, on="inbound").join(
                    unsettled, on="item_no", how="semi").drop("item_no"),
                on=["reval_tx", "inbound"])
        return Settled(self.results.frame, self.inbound.frame, amounts, unsettled)
