"""The seeds' own Leiden cluster as the structure of an ``expand`` list.

Used by :func:`graphlink.stages.expand.rank_accounts` after the sweep cut (the reasoning
and the measurements are in the docstring of :func:`complete_cluster` and in BENCHMARKS.md,
issue 15). The partition is detect's Leiden partition under CPM (Traag, Waltman & van Eck
2019, "From Louvain to Leiden: guaranteeing well-connected communities"); conductance is
the boundary measure of the sweep (Andersen, Chung & Lang 2006).
"""

from __future__ import annotations

import polars as pl

__all__ = ["CARD_CLUSTER_SHARE", "MIN_CLUSTER_SHARE", "MIN_TIE", "PARTIAL_KINDS", "complete_cluster", "complete_reach",
           "outside_seed_cluster",
           "partial_evidence"]

#: The seeds' cluster completes a list that ended inside it when the list (seeds included)
#: already holds more than this share of the cluster: a majority. Dev worlds (mixed 1000-1009,
#: 286 cells): 0.5 finds 234 cells at recall and precision >= 0.9 against 231 without the rule;
#: completing any listed cluster (share 0) finds 221 (blocks of cells merged by Leiden).
MIN_CLUSTER_SHARE = 0.5
#: ... unless the list and the rest of the cluster are two blocks: each tied within (mean link weight
#: per pair, absent pairs counting 0) more than 1 / this as densely as across, as in a stochastic
#: block model's two groups (Holland, Laskey & Leinhardt 1983); a rest of one account has no ties of
#: its own and is completed. Half: dev worlds mixed 1000-1009 and 1010-1019 (286 and 328 cells, with
#: the coverage weighting of :func:`graphlink.stages.consensus.seed_consensus`) find 243 and 259 cells
#: at recall and precision >= 0.9 (before: 240 and 258); comparing with the list's density alone,
#: 241 and 260 (tiny cells whose last member is loosely tied were lost); 0.4 (list alone) 241 / 259.
MIN_TIE = 0.5
#: A list of the seeds' cards (:func:`graphlink.stages.consensus.card_evidence`) is completed from the seeds' coherent Leiden cluster when it holds at least this share
#: of it (instead of :data:`MIN_CLUSTER_SHARE`): a card is one of the
#: cell's several, so its holders are a part of the cell. Dev worlds (mixed 1000-1019, 614 cells):
#: 523 cells at 0.5, 525 at 0.1, 522 at 0 (a few seeds' card holders inside a merged block of
#: hundreds then took the whole block).
CARD_CLUSTER_SHARE = 0.1
#: Kinds of value a cell holds several of: its addresses (a residential slice, a /24 of proxies, the
#: /64s of an IPv6 block). When the seeds' common values include one, the accounts sharing it with
#: every seed are the part of the cell that used that address, as a card's holders are the part that
#: used that card, so the list is completed from :data:`CARD_CLUSTER_SHARE` of the seeds' cluster.
#: Dev worlds (mixed 1000-1019, 614 cells): 549 -> 554 cells at recall and precision >= 0.9, none
#: lost (1006/1, 1008/62, 1010/6, 1014/1, 1016/13: clusters that are the cell, the list 17-44 % of
#: them); counting cards every seed holds too: 553 (one lost); any share: 554. Creation hours and
#: clients are not partial in this sense (one batch, one fleet) and keep the majority rule.
PARTIAL_KINDS = ("ip", "ip_net")


def partial_evidence(shared: pl.DataFrame) -> bool:
    """Whether the seeds' common values (``kind, value``) include a value of :data:`PARTIAL_KINDS`.

    Examples
    --------
    >>> partial_evidence(pl.DataFrame({"kind": ["created_hour", "ip"], "value": ["h", "1.2.3.4"]}))
    True
    >>> partial_evidence(pl.DataFrame({"kind": ["user_agent"], "value": ["curl/8"]}))
    False
    """
    return bool(shared.height) and bool(shared["kind"].is_in(list(PARTIAL_KINDS)).any())


def outside_seed_cluster(ordered: pl.DataFrame, accounts: pl.DataFrame, seeds: list[str]) -> pl.Series:
    """Whether each account of ``ordered`` lies outside the Leiden cluster every seed is in.

    Detect put the seeds' cell in that cluster; a value the seeds share with accounts of *other*
    clusters (or unclustered ones) is, past the values only the cluster holds, their operator's: a
    card of its pool, a client of its fleet. :func:`graphlink.stages.expand.sweep_cut` ends the
    evidence where it falls (:data:`graphlink.stages.expand.TIER_DROP`) into such an account (dev
    worlds, BENCHMARKS.md "expand, eighth pass": 1018/3, a cell Leiden found whole on its own,
    listed 45 accounts of two sibling cells paying with the operator's card after its 37; mixed
    1000-1019: 564 -> 566 of 614 cells, none lost, the same at any fall; dropping every listed account
    outside the cluster instead: 560). The fall is measured from the seeds' best evidence, not the last
    listed account's (ninth pass: a member holding part of it hid the fall past it, 1012/14).

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column.
    accounts : DataFrame
        ``account_id, cluster_id`` of every account of the run.
    seeds : list of str
        The seed ids.

    Returns
    -------
    Series
        ``outside`` (bool), one per row of ``ordered``, in its order; all ``False`` when the seeds are
        not all in one cluster (a seed unclustered, or seeds in several: no cluster is theirs).

    Examples
    --------
    >>> acc = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "c"], "cluster_id": [1, 1, 1, 2, None]})
    >>> outside_seed_cluster(pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "c"]}), acc, ["s1", "s2"]).to_list()
    [False, False, False, True, True]
    """
    seed_clusters = accounts.filter(pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode()))["cluster_id"]
    if seed_clusters.null_count() or seed_clusters.n_unique() != 1:
        return pl.Series("outside", [False] * ordered.height, dtype=pl.Boolean)
    members = accounts.filter(pl.col("cluster_id") == seed_clusters[0])["account_id"].implode()
    return ordered.select(~pl.col("account_id").is_in(members))["account_id"].alias("outside")


def complete_cluster(ordered: pl.DataFrame, keep: int, accounts: pl.DataFrame, links: pl.DataFrame,
                     degree: pl.DataFrame, seeds: list[str], max_conductance: float,
                     min_share: float = MIN_CLUSTER_SHARE, min_tie: float = MIN_TIE,
                     ) -> tuple[pl.DataFrame, int]:
    """List the rest of the seeds' Leiden cluster when the list holds most of it.

    The end of the seeds' evidence cuts a ring whose seeds share a value only part of it has (one
    of its cards, one hour of its registration burst). When every seed is in one cluster of the
    partition, the prefix ``ordered[:keep]`` lies inside it and holds more than ``min_share`` of
    its accounts, and the cluster is coherent (conductance, link weight leaving it over its link
    weight, at most ``max_conductance``), the cluster is the seeds' ring as detect drew it:
    its other members are listed next, in their order, unless the list and the rest are two blocks
    (each tied within more than ``1 / min_tie`` times as densely per pair as across). A list that
    is a minority of its cluster, or a cluster whose rest is a block of its own (a sibling cell
    Leiden merged), is a cell of a merged block, and stays as it is.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    accounts : DataFrame
        ``account_id, cluster_id`` of every account of the run.
    links : DataFrame
        ``source, target, weight``.
    degree : DataFrame
        ``account_id, degree``: each account's summed link weight.
    seeds : list of str
        The seed ids.
    max_conductance : float
        Loosest cluster counted as coherent (expand's
        :data:`graphlink.stages.expand.MAX_CONDUCTANCE`, the sweep's bound).
    min_share : float
        :data:`MIN_CLUSTER_SHARE`.
    min_tie : float
        :data:`MIN_TIE`: the list and a rest of two or more accounts are two blocks when the mean
        link weight per pair across is below this share of the mean within each (pairs without a
        link count 0).

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` with the cluster's other members moved right after the
        prefix, and the new prefix length (unchanged when the rule does not apply).
    """
    seed_clusters = accounts.filter(pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode()))["cluster_id"]
    if seed_clusters.null_count() or seed_clusters.n_unique() != 1:
        return ordered, keep
    members = accounts.filter(pl.col("cluster_id") == seed_clusters[0])["account_id"].implode()
    in_cluster = pl.col("account_id").is_in(members)
    head, rest = ordered.head(keep), ordered.slice(keep)
    if not head.filter(~in_cluster).is_empty() or head.height <= min_share * accounts.filter(in_cluster).height:
        return ordered, keep
    inner_links = links.filter(pl.col("source").is_in(members) & pl.col("target").is_in(members))
    volume = degree.filter(in_cluster)["degree"].sum()
    if not volume or (volume - 2 * inner_links["weight"].sum()) / volume > max_conductance:
        return ordered, keep
    # The list and the rest of the cluster are two blocks (the rest a sibling cell Leiden merged with
    # the seeds', not their ring) when each is tied within more than twice as densely per pair as
    # across; a rest of one account has no ties of its own and is a loosely tied member.
    listed = head["account_id"].implode()
    n_in, n_out = head.height, accounts.filter(in_cluster).height - head.height
    a, b = pl.col("source").is_in(listed), pl.col("target").is_in(listed)
    within = inner_links.filter(a & b)["weight"].sum() / max(n_in * (n_in - 1) / 2, 1)
    among = inner_links.filter(~a & ~b)["weight"].sum() / max(n_out * (n_out - 1) / 2, 1)
    across = inner_links.filter(a ^ b)["weight"].sum() / max(n_in * n_out, 1)
    if n_out >= 2 and across < min_tie * within and across < min_tie * among:
        return ordered, keep
    extra = rest.filter(in_cluster)
    return pl.concat([head, extra, rest.filter(~in_cluster)]), keep + extra.height


def complete_reach(ordered: pl.DataFrame, keep: int, accounts: pl.DataFrame, links: pl.DataFrame,
                   degree: pl.DataFrame, seeds: list[str], reach: pl.Series, max_conductance: float,
                   min_share: float = MIN_CLUSTER_SHARE, min_tie: float = MIN_TIE) -> tuple[pl.DataFrame, int]:
    """List the rest of the seeds' connected component of the account graph when the list holds most of it.

    The coarsest structure the graph has: a ring that links to nothing else is its own component,
    however many clusters detect split it into (dev world 1003: a 713-account cell over 24 clusters,
    its seeds in two, listed 390 from one seed's card). The component keeps all its link weight
    (conductance 0), so :func:`complete_cluster`'s rule applies to it as to a cluster: when every seed
    is in it and the list lies inside it and holds more than ``min_share`` of it, its other members
    follow, unless the list and the rest are two blocks. Dev worlds (mixed 1000-1019, 614 cells): 566 ->
    569 at recall and precision >= 0.9, none lost; completing only with the clusters the list reaches,
    567. Its cost, seen on the templates family's dev world 1003: a sibling cell in the component that
    the two-block test does not separate is completed too.

    Parameters
    ----------
    ordered, keep, accounts, links, degree, seeds, max_conductance, min_share, min_tie
        As :func:`complete_cluster` (``accounts``: ``account_id`` of every account of the run).
    reach : Series
        Account ids the seeds' walk reaches (visit probability above 0): the union of the seeds'
        components.

    Returns
    -------
    tuple of (DataFrame, int)
        As :func:`complete_cluster`; unchanged when the list is not a majority of the reach or the
        seeds lie in several components.

    Examples
    --------
    A chain a-b-c-d with seeds a, b and c listed: d, the rest of the component, follows.

    >>> links = pl.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"], "weight": [1.0, 1.0, 1.0]})
    >>> acc = pl.DataFrame({"account_id": ["a", "b", "c", "d", "e"]})
    >>> deg = pl.DataFrame({"account_id": ["a", "b", "c", "d"], "degree": [1.0, 2.0, 2.0, 1.0]})
    >>> out, keep = complete_reach(pl.DataFrame({"account_id": ["a", "b", "c", "d"]}), 3, acc, links, deg,
    ...                            ["a", "b"], pl.Series(["a", "b", "c", "d"]), 0.25)
    >>> out["account_id"].to_list()[:keep]
    ['a', 'b', 'c', 'd']
    """
    import igraph as ig  # here, not at import: the command line loads expand for its defaults

    if keep <= min_share * reach.len():
        return ordered, keep
    ids = pl.DataFrame({"account_id": reach.cast(pl.String).unique().sort()}).with_row_index("idx")
    coded = (links.join(ids.rename({"account_id": "source", "idx": "s"}), on="source")
             .join(ids.rename({"account_id": "target", "idx": "t"}), on="target"))
    graph = ig.Graph(n=ids.height, edges=list(zip(coded["s"].to_list(), coded["t"].to_list())), directed=False)
    if len(graph.connected_components()) != 1:
        return ordered, keep  # seeds in several components: no one structure is theirs
    labelled = accounts.select("account_id", pl.when(pl.col("account_id").is_in(ids["account_id"].implode()))
                               .then(pl.lit(0, pl.Int64)).otherwise(None).alias("cluster_id"))
    return complete_cluster(ordered, keep, labelled, links, degree, seeds, max_conductance, min_share, min_tie)
