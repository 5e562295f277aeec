"""Campaigns scored as a whole: the partition of the campaigns worth pooling.

Output schema
-------------
:func:`pooled_partition`: ``account_idx`` UInt32, ``cluster_id`` Int64 (the campaign id).

Moved out of :mod:`graphlink.stages.campaign_flags` (the module line limit), which applies the pooled scores
(:func:`graphlink.stages.campaign_flags.flag_with_campaign`).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.split_guard import HELD

__all__ = ["pooled_partition"]


def pooled_partition(campaign_of: pl.DataFrame, partition: pl.DataFrame, clusters: pl.DataFrame,
                     substantial: pl.DataFrame, flag_threshold: float = 0.6) -> pl.DataFrame:
    """The campaigns worth scoring as a whole, as a partition: ``account_idx, cluster_id`` (= campaign id).

    Campaigns tied by infrastructure (cards, identifiers or addresses: the
    ``infrastructure`` column of :func:`substantial_campaigns`), of two or
    more clusters, none of which scores ``flag_threshold`` on its own (a
    campaign with such a cluster is flagged through it already) -- a block the split guard holds
    (column :data:`graphlink.stages.split_guard.HELD` not null) is flagged through nothing and does not
    count: its campaign is pooled as with wording cells off, where its whole scores under the threshold. Teams tied
    only by a job or framework template are not pooled: their corporate cards
    and time zones would add up to a false card pool and a 24-hour clock
    (issue 17, class 1: aggregates over merged groups look like evasion).
    Scoring this
    partition with :func:`graphlink.stages.scoring.score_clusters` gives each
    campaign's pooled score: an operator's card pool or proxy pool spread over
    its cells shows in the whole, not in any one cell.

    Examples
    --------
    >>> camp = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "campaign_id": [1, 1, 2, 2]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 2, 3, 4]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3, 4], "score": [0.1, 0.2, 0.9, 0.1]})
    >>> tied = pl.DataFrame({"campaign_id": [1, 2], "substantial": [True, True], "infrastructure": [True, True]})
    >>> pooled_partition(camp, part, cl, tied).rows()  # campaign 2 has a flagged cluster already
    [(0, 1), (1, 1), (2, 1)]
    """
    held = pl.col(HELD).is_not_null() if HELD in clusters.columns else pl.lit(False)
    loud = clusters.filter((pl.col("score") >= flag_threshold) & ~held).join(campaign_of, on="cluster_id")["campaign_id"]
    wanted = (campaign_of.filter(pl.len().over("campaign_id") >= 2)
              .join(substantial.filter("infrastructure"), on="campaign_id", how="semi")
              .filter(~pl.col("campaign_id").is_in(loud.implode())))
    return (partition.join(wanted, on="cluster_id").sort("account_idx")
            .select("account_idx", pl.col("campaign_id").cast(pl.Int64).alias("cluster_id")))
