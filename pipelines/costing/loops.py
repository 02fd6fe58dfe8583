"""R44a: no cost loops. An inbound entry must not close an open outbound its own cost depends on.

Only a cost-receiving inbound can depend on an outbound: a to-leg on its from-leg, a return with
applies_to on its sale, and an outbound on the inbounds applied to it. So a loop needs a to-leg
(returns close nothing, R45) applied to an outbound posted before it. Those candidates are rare;
their cost sources are followed backwards one level per step (the transfer and return depth), all
candidates at once.
"""

from __future__ import annotations

import polars as pl

from pipelines.errors import NotSupportedYet, Problem

MAX_DEPTH = 1_000


def check_no_cost_loops(entries: pl.DataFrame, applications: pl.DataFrame) -> None:
    """Raises NotSupportedYet when a to-leg closes an open outbound its cost depends on (R44a).

    BC passes over such an outbound and tries the next one; that re-application is not
    implemented, so the case is refused with the entries named rather than costed wrongly.
    """
    receiving = entries.filter(pl.col("receiving")).select(
        node="entry_no", source="source_entry")
    closing = (
        applications.filter(~pl.col("at_posting"))
        .join(receiving.rename({"node": "inbound"}), on="inbound")
        .select("inbound", "outbound", node="source")
    )
    if closing.height == 0:
        return
    pieces = applications.select(node="outbound", next="inbound")
    frontier, seen = closing, closing.select("inbound", "outbound", "node")
    for _ in range(MAX_DEPTH):
        loops = frontier.filter(pl.col("node") == pl.col("outbound"))
        if loops.height:
            tx = entries.select("entry_no", "transaction_no")
            named = (loops.unique(["inbound", "outbound"])
                     .join(tx.rename({"entry_no": "inbound"}), on="inbound")
                     .join(tx.rename({"entry_no": "outbound", "transaction_no": "closed_tx"}),
                           on="outbound").sort("transaction_no"))
            raise NotSupportedYet([
                Problem("transactions", f"transaction_no={row['transaction_no']}", None, None,
                        "not supported yet: its inbound entry would close the open outbound "
                        f"of transaction {row['closed_tx']}, on which its own cost depends "
                        "(R44a: BC passes over that outbound)")
                for row in named.head(20).iter_rows(named=True)
            ])
        # outbound -> the inbounds applied to it -> the sources of the cost-receiving ones
        frontier = (
            frontier.join(pieces, on="node").select("inbound", "outbound", node="next")
            .join(receiving, on="node").select("inbound", "outbound", node="source")
            .join(seen, on=["inbound", "outbound", "node"], how="anti").unique()
        )
        if frontier.height == 0:
            return
        seen = pl.concat([seen, frontier])
    raise NotSupportedYet([Problem("transactions", None, None, None,
                                   f"not supported yet: cost sources deeper than {MAX_DEPTH}")])
