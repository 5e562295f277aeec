"""Why each account of an ``expand`` list is there: the values it shares with a seed or a better-ranked account.

Used by :func:`graphlink.stages.expand.rank_accounts` (the output's ``why`` column; schema and
reasoning in :mod:`graphlink.stages.expand`). Attacker-written values are quoted as they are; the
terminal table and exports neutralise them where rendered.
"""

from __future__ import annotations

import polars as pl

from graphlink.config.kinds import kind_name_expr
from graphlink.stages.consensus import TIME_KINDS

__all__ = ["tie_reasons"]


def tie_reasons(ranked: pl.DataFrame, linking: pl.DataFrame, per_account: int = 3,
                shared: pl.DataFrame | None = None, n_seeds: int = 0, links: pl.DataFrame | None = None) -> pl.DataFrame:
    """``account_id, why``: what ties each ranked account to a seed or to a better-ranked account.

    ``ranked`` is ``account_id, rank`` (seeds rank 0); ``linking`` is
    ``linking.parquet``. For each non-seed account the anchor is the seed it
    shares the most value weight with, or, sharing nothing with a seed, the
    better-ranked account it shares the most with; ``why`` quotes the
    heaviest shared values (kind, value, accounts of the run that have it),
    at most ``per_account``. With ``links`` (``links.parquet``: ``source, target``), an anchor the account is
    linked to comes first: values of kinds that link no one (a client, an e-mail domain) shared with a seed
    named the seed while the walk reached the account through another account's address (new-user review,
    session 39). An account holding values of ``shared`` (``kind,
    value``: the values every one of ``n_seeds`` >= 2 seeds has,
    :func:`consensus_values`) quotes those instead, "with all N seeds" (or
    "with both seeds"): the evidence it was ranked by.

    Examples
    --------
    >>> ranked = pl.DataFrame({"account_id": ["s", "a", "b"], "rank": [0, 1, 2]})
    >>> linking = pl.DataFrame({"account_id": ["s", "a", "a", "b"], "kind": ["payment", "payment", "ip", "ip"],
    ...                         "value": ["c1", "c1", "1.2.3.4", "1.2.3.4"], "df": [2, 2, 2, 2],
    ...                         "weight": [3.0, 3.0, 1.0, 1.0]})
    >>> tie_reasons(ranked, linking).sort("account_id").rows()
    [('a', 'shares payment card c1 (2 accounts) with seed s'), ('b', 'shares IP address 1.2.3.4 (2 accounts) with rank-1 a')]
    """
    values = linking.select("account_id", "kind", "value", "df", "weight").join(
        ranked.select("account_id", "rank"), on="account_id")
    named = kind_name_expr("kind")  # "payment card", "IP network": as every view names a kind
    text = pl.format("{} {} ({} accounts)", named, "value", "df")
    if shared is not None and shared.height and n_seeds >= 2:
        everyone = "both seeds" if n_seeds == 2 else f"all {n_seeds} seeds"
        # A creation hour is shared as the seeds' span, not as the hour itself.
        spanned = pl.when(pl.col("kind").is_in(list(TIME_KINDS))).then(
            pl.format("{} {} ({} accounts, in the seeds' span)", named, "value", "df")).otherwise(text)
        consensus = (values.filter(pl.col("rank") > 0).join(shared.select("kind", "value"), on=["kind", "value"])
                     .sort(["account_id", "weight", "kind", "value"], descending=[False, True, False, False])
                     .group_by("account_id", maintain_order=True).head(per_account)
                     .group_by("account_id", maintain_order=True).agg(spanned.str.join("; ").alias("values"))
                     .select("account_id", pl.format("shares {} with {}", "values", pl.lit(everyone)).alias("why")))
    else:
        consensus = pl.DataFrame(schema={"account_id": pl.String, "why": pl.String})
    # Accounts quoting the seeds' common values need no anchor: leaving them out before the pairs are built
    # keeps the join linear in a value's listed holders (thousands of a block's holders paired with each other
    # cost 30-70 s and 9 GB on one expand call: break-it review of the tenth pass).
    pairs = (values.filter(~pl.col("account_id").is_in(consensus["account_id"].implode()))
             .join(values.select("kind", "value", pl.col("account_id").alias("other"),
                                 pl.col("rank").alias("other_rank")), on=["kind", "value"])
             .filter(pl.col("other_rank") < pl.col("rank")))
    anchors = pairs.group_by("account_id", "other", "other_rank").agg(pl.col("weight").sum().alias("total"))
    if links is not None:
        ids = ranked["account_id"].implode()
        listed = links.filter(pl.col("source").is_in(ids) & pl.col("target").is_in(ids))  # the ranked accounts' only
        edges = pl.concat([listed.select(pl.col("source").alias("account_id"), pl.col("target").alias("other")),
                           listed.select(pl.col("target").alias("account_id"), pl.col("source").alias("other"))])
        anchors = anchors.join(edges.unique().with_columns(pl.lit(False).alias("unlinked")),
                               on=["account_id", "other"], how="left").with_columns(pl.col("unlinked").fill_null(True))
    else:
        anchors = anchors.with_columns(pl.lit(False).alias("unlinked"))
    anchors = (anchors.with_columns((pl.col("other_rank") > 0).alias("indirect"))
               .sort(["account_id", "unlinked", "indirect", "total", "other_rank", "other"],
                     descending=[False, False, False, True, False, False])
               .group_by("account_id", maintain_order=True).first().select("account_id", "other"))
    top = (pairs.join(anchors, on=["account_id", "other"])
           .sort(["account_id", "weight", "kind", "value"], descending=[False, True, False, False])
           .group_by("account_id", maintain_order=True).head(per_account))
    return pl.concat([consensus, top.group_by("account_id", maintain_order=True).agg(
        pl.col("other").first(), pl.col("other_rank").first(), text.str.join("; ").alias("values")).select(
        "account_id", pl.format("shares {} with {} {}", "values",
                                pl.when(pl.col("other_rank") == 0).then(pl.lit("seed")).otherwise(pl.lit("rank-")
                                .add(pl.col("other_rank").cast(pl.String))), "other").alias("why"))])
