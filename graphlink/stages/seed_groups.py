"""The seeds' groups: seeds tied to none of the others are expanded on their own.

Used by :func:`graphlink.views.expand.expand` before :func:`graphlink.stages.expand.rank_accounts`
(reasoning and measurements in BENCHMARKS.md, issue 15, "expand, twelfth pass"). Every rule of the
ranking reads the seeds as one group: the values every seed holds, the clients every seed runs, the
minutes every seed fires in. A ticket naming two accounts of a ring and one wrong account (a customer
who complained, a typo) has no such consensus, and the list collapsed: two ring seeds list their whole
ring alone, but with one stranger added the list lost most of it (new-user review of session 15; bundled
fixture, 2 ring seeds and 1 ordinary account, 6 draws per ring: 21 of 30 found the ring, worst recall 0.12).

Two seeds are *tied* when Leiden put them in one campaign, when the account graph links them
(``links.parquet``) or links both to a common account, or when they hold a common linking value (a card,
an address or network, a client, a sign-up hour, a ``--signal`` value) held by at most :data:`MAX_TIE_SHARE`
of the run. The groups are the connected components of that relation. One group: the ranking is unchanged. Several: each group of two or more seeds is ranked on its own (the largest first)
and the lists follow each other, so a second ring in the same ticket is listed too; a seed tied to no
other is listed but not expanded (from one account the walk lists its whole neighbourhood), and its
``why`` says so. A group whose seeds lie in several detect clusters -- one operator's cells are tied by its
pool and templates -- is ranked per cluster when its joint list keeps less than :data:`KEEP_SHARE` of what
its largest cluster's seeds list alone (each cell's clock, clients and templates are its own; together
they listed next to nothing). With these rules the draws above find the ring in 30 of 30 (100 of 100 with 20 draws per
ring, ordinary or benign-linked strangers alike).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.consensus import MIN_CONSENSUS_SEEDS

__all__ = ["KEEP_SHARE", "LONE_SEED", "MAX_TIE_SHARE", "OTHER_CELL_SEED", "by_cluster", "rank_groups", "seed_groups"]

#: A value two seeds share ties them when at most this share of the run holds it. An account holds ~30 linking
#: values (addresses, networks, a client, a card, a sign-up hour); a stranger shares one given value this rare
#: with chance 0.3 %, so one of them with chance ~9 %, and a seed wrongly tied falls back to the ranking as
#: before. Bundled fixture, 2 ring seeds and 1 stranger (100 draws each, ordinary and benign-linked strangers):
#: 100 and 100 rings found at 0.3 %, 99 and 99 at 1 %; dev cells (mixed 1000-1019) 581 of 614 at both.
MAX_TIE_SHARE = 0.003
#: ``why`` of a seed tied to none of the others while some are tied among themselves: it is listed, not
#: expanded (from one account alone the walk lists its whole neighbourhood: 112-329 accounts around a
#: fixture's ordinary account, flooding the ring's list).
LONE_SEED = ("seed, tied to none of the other seeds (no shared rare value, link or campaign): "
             "not expanded here; expand it on its own")
#: ``why`` of a seed in another detect cluster than the others whose joint list lost their cell with it.
OTHER_CELL_SEED = ("seed, in another cluster than the other seeds (likely another cell of their operator: with it "
                   "their list lost most of theirs): not expanded here; expand it on its own")
#: A group of seeds over several clusters is ranked per cluster when its joint list keeps less than this share
#: of what its largest cluster's seeds list alone: adding a seed should not lose what the others found.
#: Bundled fixture, 2 seeds of a ring and 1 of another (every ordered pair of the five rings, 2 draws; new-user
#: review of session 15): the ring found in 2 of 40 jointly, 28 at 0.5, 37 at 0.8, 38 at 0.9, 40 when every
#: such group is split; dev cells (mixed 1000-1019: seeds of one cell that Leiden split over clusters) 580 of
#: 614 at 0.5, 579 at 0.9, 575 when every such group is split.
KEEP_SHARE = 0.9


def seed_groups(seeds: list[str], links: pl.DataFrame, linking: pl.DataFrame, accounts: pl.DataFrame,
                max_share: float = MAX_TIE_SHARE) -> list[list[str]]:
    """The seeds split into groups tied among themselves, largest first (ties: the earlier seed first).

    Parameters
    ----------
    seeds : list of str
        Seed account ids, in the order given (duplicates dropped).
    links : DataFrame
        ``source, target, weight`` (``links.parquet``).
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``).
    accounts : DataFrame
        ``account_id, campaign_id`` of every account of the run (``accounts.height`` is the run's size).
    max_share : float
        :data:`MAX_TIE_SHARE`.

    Returns
    -------
    list of list of str
        Each group's seeds in the order given; one group holding every seed when they are all tied.

    Examples
    --------
    ``s1`` and ``s2`` share a card; ``x`` shares only a popular client with them.

    >>> lk = pl.DataFrame({"account_id": ["s1", "s2", "s1", "s2", "x"], "kind": ["payment", "payment"] + ["user_agent"] * 3,
    ...                    "value": ["c1", "c1", "ua", "ua", "ua"], "df": [2, 2, 30, 30, 30]})
    >>> acc = pl.DataFrame({"account_id": [f"a{i}" for i in range(1000)] + ["s1", "s2", "x"],
    ...                     "campaign_id": [None] * 1003}, schema={"account_id": pl.String, "campaign_id": pl.Int64})
    >>> links = pl.DataFrame(schema={"source": pl.String, "target": pl.String, "weight": pl.Float64})
    >>> seed_groups(["x", "s1", "s2"], links, lk, acc)
    [['s1', 's2'], ['x']]
    """
    seeds = list(dict.fromkeys(seeds))
    if len(seeds) < 2:
        return [seeds]
    ids = pl.Series("account_id", seeds, dtype=pl.String)
    order = pl.DataFrame({"account_id": ids, "i": range(len(seeds))})
    held = (linking.filter(pl.col("account_id").is_in(ids.implode()) & (pl.col("df") <= max_share * accounts.height))
            .select("account_id", pl.concat_str("kind", pl.lit("\x1f"), "value").alias("key")))
    campaign = (accounts.filter(pl.col("account_id").is_in(ids.implode())).drop_nulls("campaign_id")
                .select("account_id", pl.format("campaign {}", "campaign_id").alias("key")))
    # Linked, or linked to a common account (a cell's members are a dense block: two of them share neighbours).
    both = pl.concat([links.select("source", "target"), links.select(pl.col("target").alias("source"),
                                                                     pl.col("source").alias("target"))])
    near = pl.concat([both.join(order.rename({"account_id": "source"}), on="source").select("i", pl.col("target").alias("key")),
                      order.select("i", pl.col("account_id").alias("key"))])  # a seed is its own node: a direct link ties
    # Seeds, and the values, campaigns and neighbours they hold, as one graph: two seeds are tied when they hold
    # a common node, so the groups are its connected components -- linear in the seeds' ties, where pairing
    # every two holders of a node was cubic for a densely linked ticket (400 seeds: 11 s; breakx15b).
    edges = pl.concat([pl.concat([held, campaign]).join(order, on="account_id").select("i", "key"),
                       near.with_columns(pl.concat_str(pl.lit("account\x1f"), "key").alias("key"))])
    nodes = edges.select("key").unique(maintain_order=True).with_row_index("node", offset=len(seeds))
    pairs = edges.join(nodes, on="key").select("i", "node")
    import igraph as ig  # loaded by expand's walk anyway

    graph = ig.Graph(n=len(seeds) + nodes.height, edges=pairs.rows())
    membership = graph.connected_components().membership
    groups: dict[int, list[str]] = {}
    for k, seed in enumerate(seeds):
        groups.setdefault(membership[k], []).append(seed)
    return sorted(groups.values(), key=lambda g: (-len(g), seeds.index(g[0])))


def rank_groups(links: pl.DataFrame, linking: pl.DataFrame, accounts: pl.DataFrame, seeds: list[str],
                **ranking) -> pl.DataFrame:
    """:func:`graphlink.stages.expand.rank_accounts` for each group of :func:`seed_groups`, lists one after another.

    One group, or no two seeds tied: exactly ``rank_accounts`` over every seed. Otherwise each group of
    at least :data:`graphlink.stages.consensus.MIN_CONSENSUS_SEEDS` seeds is ranked on its own, its seeds'
    ``why`` naming the group when there are several (``seed, group 2 of 2: tied to no seed of another
    group ...``), and a seed tied to no other is listed at rank 0 but not expanded (``why``:
    :data:`LONE_SEED`). Every seed comes first (rank 0), then the first group's list, the second's, ...;
    an account two groups list stays where it came first. Scores fall within each group's part, not
    across them.

    Parameters
    ----------
    links, linking, accounts, seeds
        As :func:`graphlink.stages.expand.rank_accounts` (``accounts`` with ``campaign_id``).
    **ranking
        Passed on to :func:`graphlink.stages.expand.rank_accounts` (``restart``, ``top``, ``activity``,
        ``minutes``, ``templates``).

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.EXPAND_SCHEMA`.

    Raises
    ------
    GraphlinkError
        As :func:`graphlink.stages.expand.rank_accounts` (an unknown seed is named before grouping).
    """
    from graphlink.stages.expand import rank_accounts

    seeds = list(dict.fromkeys(seeds))
    known = pl.Series(seeds, dtype=pl.String).is_in(accounts["account_id"].implode())
    groups = seed_groups(seeds, links, linking, accounts) if bool(known.all()) else [seeds]
    cache: dict[tuple[str, ...], pl.DataFrame] = {}

    def ranked(group: list[str]) -> pl.DataFrame:
        if tuple(group) not in cache:
            cache[tuple(group)] = rank_accounts(links, linking, accounts, group, **ranking)
        return cache[tuple(group)]

    split: set[str] = set()  # seeds set apart as another cell's
    final: list[list[str]] = []
    for group in groups:
        cells = by_cluster(group, accounts)
        if len(cells) > 1:
            # Seeds of one operator's several cells: when the group's joint list keeps less than KEEP_SHARE of
            # what its largest cluster's seeds list alone, the cells' consensus broke it: each is ranked alone.
            joint = set(ranked(group).filter(pl.col("rank") > 0)["account_id"])
            first = set(ranked(cells[0]).filter(pl.col("rank") > 0)["account_id"])
            if len(joint & first) < KEEP_SHARE * len(first):
                final.extend(cells)
                split |= {s for cell in cells[1:] if len(cell) < MIN_CONSENSUS_SEEDS for s in cell}
                continue
        final.append(group)
    groups = sorted(final, key=lambda g: (-len(g), seeds.index(g[0])))
    tied = [g for g in groups if len(g) >= MIN_CONSENSUS_SEEDS]
    if len(groups) == 1 or not tied:  # one group, or no two seeds tied: nothing to set apart
        return ranked(seeds)
    parts = []
    for k, group in enumerate(tied, start=1):
        note = "seed" if len(tied) == 1 else f"seed, group {k} of {len(tied)}, expanded on its own"
        parts.append(ranked(group).with_columns(pl.when(pl.col("rank") == 0).then(pl.lit(note)).otherwise(pl.col("why"))
                                                .alias("why")))
    alone = [seed for g in groups if len(g) < MIN_CONSENSUS_SEEDS for seed in g]
    if alone:
        parts.append(rank_accounts(links, linking, accounts, alone, top=0).filter(pl.col("rank") == 0)
                     .with_columns(pl.when(pl.col("account_id").is_in(sorted(split))).then(pl.lit(OTHER_CELL_SEED))
                                   .otherwise(pl.lit(LONE_SEED)).alias("why")))
    every = pl.concat(parts)
    seed_rows = every.filter(pl.col("rank") == 0)
    listed = (every.filter((pl.col("rank") > 0) & ~pl.col("account_id").is_in(seed_rows["account_id"].implode()))
              .unique("account_id", keep="first", maintain_order=True))
    listed = listed.with_columns(pl.int_range(1, listed.height + 1).cast(pl.UInt32).alias("rank"))
    return pl.concat([seed_rows, listed]).cast(every.schema)


def by_cluster(group: list[str], accounts: pl.DataFrame) -> list[list[str]]:
    """``group`` split by detect's cluster when two or more clusters hold its seeds and one holds at least two
    (seeds of two cells of one operator: each cell's consensus is its own); unclustered seeds join the largest
    part. Else ``[group]``."""
    cluster = dict(accounts.filter(pl.col("account_id").is_in(pl.Series(group, dtype=pl.String).implode()))
                   .select("account_id", "cluster_id").iter_rows())
    parts: dict[int, list[str]] = {}
    for seed in group:
        if cluster.get(seed) is not None:
            parts.setdefault(int(cluster[seed]), []).append(seed)
    if len(parts) < 2 or max(len(p) for p in parts.values()) < MIN_CONSENSUS_SEEDS:
        return [group]
    ordered = sorted(parts.values(), key=lambda p: (-len(p), group.index(p[0])))
    ordered[0] = [s for s in group if s in ordered[0] or cluster.get(s) is None]
    return ordered
