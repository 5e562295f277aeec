"""Expand from the seeds of a burst cluster: detect's template bursts are not links.

A cell that gives each account one short life leaves no pairwise link; detect groups it by a *template burst*
(:mod:`graphlink.stages.bursts`): ``k`` accounts opening their prompts with one template in one 10-minute window,
far beyond chance. A burst is not in ``linking.parquet`` nor in the account graph (``links.parquet``): it is a
value of the cluster (kind ``burst`` in ``evidence.parquet``), not of an account. The walk from such seeds follows
their pairwise links -- the operator's pool, clients and templates shared with its other cells -- and the seeds'
clocks and templates then cut most of those away: the burst's own members are never reached (session 33's new-user
review: 3 seeds of a 9-account burst cluster listed 2 accounts, neither of the cluster's 6 others).

When every seed sits in one cluster detect formed from bursts, the cluster's members not listed join the list
after it (:func:`fill_burst`), each saying so: the burst groups them as detect found it, though the graph does not
tie them. What detect does not keep per account -- the burst's senders it left out of the cluster, and the cell's
other bursts (other windows) -- expand cannot follow; :func:`burst_note` says so.
"""

from __future__ import annotations

import polars as pl

__all__ = ["BURST_WHY", "burst_note", "fill_burst", "seed_burst"]

#: ``why`` of an account listed because it shares the seeds' burst cluster (followed by the cluster and its bursts).
BURST_WHY = "in the seeds' template-burst cluster"
#: Bursts quoted in ``why`` and in the note (the strongest first).
QUOTED_BURSTS = 2


def seed_burst(evidence: pl.DataFrame | None, accounts: pl.DataFrame, seeds: list[str]) -> pl.DataFrame | None:
    """The bursts of the cluster every seed sits in (``value, accounts_sharing, df``, most members first), or
    None when the seeds are not all in one cluster or detect did not form it from bursts.

    Examples
    --------
    >>> acc = pl.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": [7, 7, 7]})
    >>> ev = pl.DataFrame({"cluster_id": [7, 7], "kind": ["burst", "ip"], "value": ["t @ 10:00Z (+10 min)", "1.2.3.4"],
    ...                    "accounts_sharing": [3, 2], "df": [4, 2]})
    >>> seed_burst(ev, acc, ["a", "b"])["value"].to_list()
    ['t @ 10:00Z (+10 min)']
    >>> seed_burst(ev, acc.with_columns(pl.Series("cluster_id", [7, 8, 7])), ["a", "b"]) is None
    True
    """
    if evidence is None or not {"kind", "value"} <= set(evidence.columns):
        return None
    held = accounts.filter(pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode()))["cluster_id"]
    if held.len() != len(seeds) or held.null_count() or held.n_unique() != 1:
        return None
    bursts = (evidence.filter((pl.col("cluster_id") == held[0]) & (pl.col("kind") == "burst"))
              .select("value", "accounts_sharing", "df")
              .sort(["accounts_sharing", "value"], descending=[True, False]))
    return bursts.with_columns(pl.lit(held[0], pl.Int64).alias("cluster_id")) if bursts.height else None


def _quoted(bursts: pl.DataFrame) -> str:
    shown = bursts.head(QUOTED_BURSTS).select(pl.format("{} ({} senders)", "value", "df"))
    more = bursts.height - shown.height
    return "; ".join(shown.to_series().to_list()) + (f" (+{more} more)" if more else "")


def fill_burst(ranked: pl.DataFrame, accounts: pl.DataFrame, evidence: pl.DataFrame | None,
               seeds: list[str]) -> pl.DataFrame:
    """``ranked`` (:data:`graphlink.contract.EXPAND_SCHEMA`) with the seeds' burst cluster's unlisted members after it.

    Each added account ranks after the list (by id), scores no more than the last listed account nor 0.5 (it holds
    no value every seed shares in ``linking.parquet``; scores never rise down the list), and its ``why`` names the
    cluster and its bursts (:data:`BURST_WHY`). Unchanged when :func:`seed_burst` finds no burst cluster.
    """
    bursts = seed_burst(evidence, accounts, seeds)
    if bursts is None:
        return ranked
    cluster = int(bursts["cluster_id"][0])
    members = accounts.filter(pl.col("cluster_id") == cluster).select("account_id")
    added = members.join(ranked.select("account_id"), on="account_id", how="anti").sort("account_id")
    if not added.height:
        return ranked
    last_rank = int(ranked["rank"].max() or 0)
    last_score = float(ranked.filter(pl.col("rank") > 0)["score"].min() or 0.5)
    why = (f"{BURST_WHY} {cluster}, grouped by detect from template bursts the link graph does not hold: "
           f"{_quoted(bursts)}")
    rows = (added.with_row_index("rank", offset=last_rank + 1)
            .join(accounts.select("account_id", "cluster_id", "campaign_id"), on="account_id", how="left")
            .with_columns(pl.lit(min(last_score, 0.5)).alias("score"), pl.lit(why).alias("why"))
            .select(ranked.columns).cast(dict(ranked.schema)))
    return pl.concat([ranked, rows])


def burst_note(evidence: pl.DataFrame | None, accounts: pl.DataFrame, seeds: list[str]) -> str | None:
    """What expand cannot follow from seeds of a burst cluster (None for other seeds): the burst's senders detect
    left out of the cluster and the cell's other bursts are kept per cluster, not per account."""
    bursts = seed_burst(evidence, accounts, seeds)
    if bursts is None:
        return None
    cluster = int(bursts["cluster_id"][0])
    left_out = int((bursts["df"] - bursts["accounts_sharing"]).clip(lower_bound=0).max() or 0)
    return (f"the seeds' cluster {cluster} was grouped by template bursts ({_quoted(bursts)}), which are not links: "
            f"its members are listed for them"
            + (f"; up to {left_out} other senders of a burst sat outside it" if left_out else "")
            + "; detect keeps bursts per cluster, not per account, so expand cannot follow a burst's other senders "
              "or the cell's other bursts")
