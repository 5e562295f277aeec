"""Fleet outsiders: members of a flagged proxy-rotating cluster linked in only by a reused address.

Output schema
-------------
:func:`fleet_outsiders`: a ``account_idx`` Series (UInt32), sorted.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig, ScoringConfig
from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.campaigns import is_tie_kind

__all__ = ["fleet_outsiders"]


def fleet_outsiders(clusters: pl.DataFrame, scored: pl.DataFrame, value_counts: pl.DataFrame | None,
                    config: ScoringConfig | None = None, memberships: pl.DataFrame | None = None,
                    signals: pl.DataFrame | None = None, graph_config: GraphConfig | None = None) -> pl.Series:
    """Members of flagged proxy-rotating clusters linked in only by addresses the pool reused.

    Proxy pools reuse residential and office addresses, so a person who once
    shared an address with a fleet can be linked into its cluster. In a
    flagged cluster whose ``ip_spread`` is at least ``outsider_min_spread``, a
    member that used fewer than ``outsider_network_share`` of the cluster's
    median number of networks does not rotate like the fleet. It is detached
    unless it shares with its cluster a value of another kind than addresses
    that the flagged clusters hold as their own -- a card, a template
    shingle or an identifier of which at least half the holders in the log
    (:data:`graphlink.stages.campaign_flags.SPECIFIC_SHARE`) are members of
    flagged clusters: an operator's member that pays from its cards or sends
    its template from a static server (or sent three requests from three
    networks) is the operator's; a bystander shares a reused address, and at
    most phrasing or a client everyone has.

    Parameters
    ----------
    clusters : DataFrame
        ``account_idx, cluster_id`` (the partition).
    scored : DataFrame
        ``cluster_id, flagged, ip_spread`` (a provisional scoring).
    value_counts : DataFrame or None
        ``account_idx, kind, n_values`` (distinct values per account and kind).
    config : ScoringConfig, optional
    memberships, signals : DataFrame, optional
        ``account_idx, signal_idx`` and ``signal_idx, kind, df``: the
        affiliations. Without them a member's other ties are not checked.
    graph_config : GraphConfig, optional
        Which user-declared kinds are strong: the ties are the campaign tie
        kinds (:func:`graphlink.stages.campaigns.is_tie_kind`) other than
        addresses, the pool's own currency.

    Returns
    -------
    Series
        ``account_idx`` (UInt32) of the detached members, sorted.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 1, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> scored = pl.DataFrame({"cluster_id": [1], "flagged": [True], "ip_spread": [1.0]})
    >>> counts = pl.DataFrame({"account_idx": [0, 1, 2, 3], "kind": ["ip_net"] * 4, "n_values": [40, 50, 60, 1]},
    ...                       schema_overrides={"account_idx": pl.UInt32})
    >>> fleet_outsiders(part, scored, counts).to_list()  # one home network in a rotating fleet
    [3]
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 3], "signal_idx": [7, 7, 7]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [7], "kind": ["payment"], "df": [3]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> fleet_outsiders(part, scored, counts, memberships=aff, signals=sig).to_list()  # pays from the fleet's card
    []
    """
    config = config or ScoringConfig()
    empty = pl.Series("account_idx", [], dtype=pl.UInt32)
    if value_counts is None or not value_counts.height or config.outsider_network_share <= 0:
        return empty
    fleets = scored.filter(pl.col("flagged") & (pl.col("ip_spread") >= config.outsider_min_spread))
    if not fleets.height:
        return empty
    nets = value_counts.filter(pl.col("kind") == "ip_net").select("account_idx", "n_values")
    members = (
        clusters.join(fleets.select("cluster_id"), on="cluster_id")
        .join(nets, on="account_idx", how="left")
        .with_columns(pl.col("n_values").fill_null(0).cast(pl.Float64))
        .with_columns(pl.col("n_values").median().over("cluster_id").alias("median_networks"))
    )
    static = members.filter(pl.col("n_values") < config.outsider_network_share * pl.col("median_networks"))
    if memberships is not None and signals is not None and static.height:
        kinds = [k for k in signals["kind"].unique().to_list() if k != "ip" and is_tie_kind(k, graph_config)]
        ties = signals.filter(pl.col("kind").is_in(kinds)).select("signal_idx", "df")
        flagged = clusters.join(scored.filter("flagged").select("cluster_id"), on="cluster_id", how="semi")
        held = memberships.select("account_idx", "signal_idx").join(ties, on="signal_idx")
        own = (held.join(flagged.select("account_idx"), on="account_idx", how="semi")
               .group_by("signal_idx").agg(pl.len().alias("inside"), pl.col("df").first())
               .filter(pl.col("inside") >= SPECIFIC_SHARE * pl.col("df")).select("signal_idx"))
        # Held with another member of the static member's own cluster.
        shared = (held.join(own, on="signal_idx", how="semi").join(flagged, on="account_idx")
                  .filter(pl.len().over("cluster_id", "signal_idx") >= 2))
        static = static.join(shared.select("account_idx").unique(), on="account_idx", how="anti")
    return static["account_idx"].sort()
