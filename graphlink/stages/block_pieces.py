"""Block pieces: flagged clusters of one campaign that are pieces of one address block are joined, after the judgement.

A cell that shares one address block -- a datacenter address every member calls from, or a private proxy pool its
members rotate through (each address held by a few of them, at random) -- is one dense bipartite block of accounts
and addresses. The projection and CPM do not see it whole: an address above ``clique_limit`` is projected as a sparse
stand-in for its clique, and a pool whose addresses each tie a few random members is, pair by pair, far sparser than
the CPM resolution asks. Leiden then cuts the block along the values that are dense pair by pair -- its cards -- and
one cell becomes many flagged clusters (issue 17, failure class 3; BENCHMARKS.md session 56, helper cell56: dev
templates 1006's 608-account cell in 21 clusters on 4,923 addresses no one else holds; templates 1000's 278-account
cell in 8 clusters on one address held by all of them).

What tells such pieces from separate units is **exchangeability** on the addresses: the pieces were cut along cards,
not along addresses, so a member of piece B shares addresses with members of piece A about as often as with members
of its own piece (somewhat less: Leiden kept B apart where it is denser). A unit of its own (a team with its office
address, a sibling cell with its own pool) shares its addresses inside itself. :func:`block_moves` counts, over
addresses held almost only by the campaign's flagged accounts (:data:`EXCLUSIVE`: a carrier NAT's or a public proxy's
users are no block), the addresses shared by pairs of members inside each flagged cluster and across each two
clusters of one campaign, each as a rate: shared addresses per possible pair (an address held by k members of one
cluster and j of another counts k(k-1)/2 inside the first and k*j across). Two clusters are pieces of one block when
the rate across is at least :data:`EXCHANGE` of the rate inside the smaller, and most (:data:`COVER`) of the
smaller's members share an address with the larger. Linked pieces join the largest of their connected component.

Only clusters the communities stage made take part: a cluster network cells or batch cells joined from several is a
union whose rate inside mixes its cells' (at 224k network cells' unions of sibling cells on one operator's pools
passed the test against every sibling). It runs after the judgement and joins only flagged clusters of one campaign, so it changes no flag and no campaign:
the joined accounts were flagged and placed with that operator already; the cluster keeps the larger piece's score,
and its why says what joined. What it cannot tell apart: two cells of one operator drawing at random from one pool
that only they use are one block by every address (sibling cells on a shared pool are joined) -- and at scale that is
the common case: on the 224k dev world (independent 176) an operator's pools are drawn on by hundreds of its cells,
every sibling passed against network cells' unions of siblings, and ARI by cell fell 0.15 -> 0.02 (clusters of
15,767 and 6,782 accounts); with such unions left out, the siblings' card-group pieces, whose rate inside is near
nothing, chain through each other into the operator's largest Leiden cluster instead (0.15 -> 0.03: 12,030 and 4,362
accounts, 399 and 156 cells). Hence opt-in: a test of specificity (a piece ties to its block more than to the
rest of the campaign) or of the clock is needed before it can be on. An
operator that gives each card group its own addresses has units, not pieces, and is left as it is.

Source: graphlink session 56 (helper cell56). Output: ``account_idx, to`` moves (:func:`block_moves`).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

__all__ = ["ADDRESS_KINDS", "COVER", "EXCHANGE", "EXCLUSIVE", "block_moves", "block_note", "carry_joins", "component_moves"]

#: The kinds whose values are addresses: exact addresses only. Networks (``ip_net``) are shared by an operator's
#: sibling cells on one commercial block as by one cell's pieces (session 53: sibling merges shared /24s at Jaccard
#: 0.6-0.9), so they would join siblings.
ADDRESS_KINDS = ("ip",)
#: An address counts when at least this share of the accounts holding it (in the whole log) are flagged members of
#: the campaign: a block nobody else uses. 0.9, as network cells' CLUSTERED_SHARE: tolerates a few members the
#: partition left out.
EXCLUSIVE = 0.9
#: The smaller of two clusters is a piece of the larger's block when its members share an address with the larger's
#: at least this share as often (per pair possible) as with each other. A piece Leiden kept apart is denser inside
#: than across by selection (dev templates 1006's 608-account pool cell: its pieces 1.6-6.7 times, one 0.3 times); a
#: unit with addresses of its own shares them inside orders of magnitude more often than across (a sibling cell
#: on its own pool touching another's at one address). A quarter joins the first and leaves the second far apart.
EXCHANGE = 0.25
#: ... and at least this share of the smaller cluster's members share an exclusive address with the larger: a
#: piece lives on the block, it does not touch it once. 0.8, as network cells' COVER.
COVER = 0.8


def block_moves(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                exclusive: float = EXCLUSIVE, exchange: float = EXCHANGE, cover: float = COVER,
                kinds: tuple[str, ...] = ADDRESS_KINDS, pieces: pl.DataFrame | None = None) -> pl.DataFrame:
    """Members of flagged clusters to move into the larger piece of the same address block (see the module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged, campaign_id`` (one row per cluster, judged; other columns ignored).
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``: the clustered accounts' memberships.
    signals : DataFrame
        ``signal_idx, kind, df`` (``df``: accounts holding the value in the whole log).
    exclusive, exchange, cover : float
        :data:`EXCLUSIVE`, :data:`EXCHANGE`, :data:`COVER` (shares in [0, 1]).
    kinds : tuple of str
        The address kinds (:data:`ADDRESS_KINDS`).
    pieces : DataFrame, optional
        ``account_idx, cluster_id``: the partition as the communities stage made it, before any cluster was joined
        (network cells, batch cells). A cluster whose members come from two or more of its clusters takes no part:
        the test reads a cluster's rate inside as one cell's, and a union of cells mixes theirs -- at 224k network
        cells' unions of 178 and 80 sibling cells on an operator's pools took 16,676 more of their siblings' accounts
        (dev independent 176, ARI by cell 0.15 -> 0.02). None: every flagged cluster takes part.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64): every member of a joined piece with the cluster it joins (the
        largest of its component of linked pieces; ties: the lower id), by ``account_idx``. Empty when nothing joins.

    Examples
    --------
    A cell of 9 on one address nobody else holds, cut into card groups of 4, 3 and 2: one cluster.

    >>> part = pl.DataFrame({"account_idx": list(range(9)), "cluster_id": [1] * 4 + [2] * 3 + [3] * 2},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True] * 3, "campaign_id": [1] * 3})
    >>> aff = pl.DataFrame({"account_idx": list(range(9)), "signal_idx": [0] * 9}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["ip"], "df": [9]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> block_moves(cl, part, aff, sig)["to"].to_list()
    [1, 1, 1, 1, 1]
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    if not {"flagged", "campaign_id"} <= set(clusters.columns):
        return empty
    judged = clusters.filter(pl.col("flagged") & pl.col("campaign_id").is_not_null()).select(
        pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64))
    if pieces is not None:  # only clusters the communities stage made whole: a union of its clusters mixes cells' rates
        unions = (partition.drop_nulls("cluster_id").join(pieces.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("piece")),
                                                          on="account_idx")
                  .group_by("cluster_id").agg(pl.col("piece").n_unique().alias("from")).filter(pl.col("from") > 1)
                  .select(pl.col("cluster_id").cast(pl.Int64)))
    else:
        unions = pl.DataFrame(schema={"cluster_id": pl.Int64})
    members = partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(judged, on="cluster_id")
    if members.is_empty():
        return empty
    sizes = members.group_by("cluster_id", "campaign_id").agg(pl.len().cast(pl.Int64).alias("size"))
    addresses = signals.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx", pl.col("df").cast(pl.Int64))
    held = (affiliations.select("account_idx", "signal_idx").join(addresses.select("signal_idx"), on="signal_idx")
            .join(members, on="account_idx"))
    # Exclusive addresses: nearly all their holders in the log are this campaign's flagged members.
    per_campaign = held.group_by("signal_idx", "campaign_id").agg(pl.len().alias("in_campaign")).join(addresses, on="signal_idx")
    exclusive_ids = per_campaign.filter(pl.col("in_campaign") >= exclusive * pl.col("df")).select("signal_idx", "campaign_id")
    held = held.join(exclusive_ids, on=["signal_idx", "campaign_id"])
    if held.is_empty():
        return empty
    held = held.join(unions, on="cluster_id", how="anti")  # a union still makes an address exclusive, but is no piece
    sizes = sizes.join(unions, on="cluster_id", how="anti")
    members = members.join(unions, on="cluster_id", how="anti")
    counts = held.group_by("signal_idx", "cluster_id", "campaign_id").agg(pl.len().cast(pl.Int64).alias("n"))
    inside = (counts.group_by("cluster_id").agg((pl.col("n") * (pl.col("n") - 1) // 2).sum().alias("pairs_in"))
              .join(sizes, on="cluster_id").with_columns(
                  rate_in=pl.when(pl.col("size") > 1).then(pl.col("pairs_in") / (pl.col("size") * (pl.col("size") - 1) / 2)).otherwise(0.0)))
    spread = counts.join(counts.group_by("signal_idx").agg(pl.len().alias("clusters")).filter(pl.col("clusters") > 1), on="signal_idx", how="semi")
    across = (spread.join(spread.select("signal_idx", pl.col("cluster_id").alias("other"), pl.col("n").alias("n_other")), on="signal_idx")
              .filter(pl.col("cluster_id") < pl.col("other"))
              .group_by("cluster_id", "other").agg((pl.col("n") * pl.col("n_other")).sum().alias("pairs_across")))
    if across.is_empty():
        return empty
    rate = inside.select("cluster_id", "campaign_id", "size", "rate_in")
    pairs = (across.join(rate, on="cluster_id")
             .join(rate.rename({"cluster_id": "other", "campaign_id": "campaign_other", "size": "size_other", "rate_in": "rate_other"}), on="other")
             .filter(pl.col("campaign_id") == pl.col("campaign_other"))
             .with_columns(rate_across=pl.col("pairs_across") / (pl.col("size") * pl.col("size_other"))))
    # Cover: the smaller cluster's members sharing an exclusive address with the larger.
    small = pl.when(pl.col("size") < pl.col("size_other")).then(pl.col("cluster_id")).when(pl.col("size") > pl.col("size_other")).then(pl.col("other"))
    pairs = pairs.with_columns(small=small.otherwise(pl.max_horizontal("cluster_id", "other")),
                               large=pl.when(small.otherwise(pl.max_horizontal("cluster_id", "other")) == pl.col("cluster_id"))
                               .then(pl.col("other")).otherwise(pl.col("cluster_id")))
    small_rate = pl.when(pl.col("small") == pl.col("cluster_id")).then(pl.col("rate_in")).otherwise(pl.col("rate_other"))
    pairs = pairs.filter(pl.col("rate_across") >= exchange * small_rate)
    if pairs.is_empty():
        return empty
    on_block = (held.select("account_idx", "cluster_id", "signal_idx").join(pairs.select(pl.col("small").alias("cluster_id"), "large"), on="cluster_id")
                .join(counts.select("signal_idx", pl.col("cluster_id").alias("large")), on=["signal_idx", "large"])
                .group_by("cluster_id", "large").agg(pl.col("account_idx").n_unique().alias("tied")))
    links = (pairs.select(pl.col("small").alias("cluster_id"), "large").join(on_block, on=["cluster_id", "large"])
             .join(sizes.select("cluster_id", "size"), on="cluster_id").filter(pl.col("tied") >= cover * pl.col("size")))
    if links.is_empty():
        return empty
    return component_moves(links.select("cluster_id", "large"), sizes, members)


def component_moves(links: pl.DataFrame, sizes: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Each connected component of ``links`` (``cluster_id, large``: pairs of clusters to join) joined into its
    largest cluster (ties: the lower id): ``account_idx`` (UInt32), ``to`` (Int64) for the members (``cluster_id,
    account_idx``) of the clusters that move. ``sizes``: ``cluster_id, size``. Used by block pieces and launch cells."""
    import igraph as ig  # only when something joins (commands that build no graph never load igraph)

    ids = pl.concat([links["cluster_id"], links["large"]]).unique().sort()
    pos = pl.DataFrame({"cluster_id": ids}).with_row_index("v")
    edges = (links.join(pos, on="cluster_id").join(pos.rename({"cluster_id": "large", "v": "v_b"}), on="large")
             .select("v", "v_b"))
    g = ig.Graph(n=ids.len(), edges=edges.rows())
    comp = pos.with_columns(component=pl.Series(g.connected_components().membership)).join(
        sizes.select("cluster_id", "size"), on="cluster_id")
    head = (comp.sort(["component", "size", "cluster_id"], descending=[False, True, False]).group_by("component", maintain_order=True)
            .first().select("component", pl.col("cluster_id").alias("to")))
    moved = comp.join(head, on="component").filter(pl.col("cluster_id") != pl.col("to")).select("cluster_id", "to")
    return (members.join(moved, on="cluster_id").select(pl.col("account_idx").cast(pl.UInt32), pl.col("to").cast(pl.Int64))
            .sort("account_idx"))


def carry_joins(clusters: pl.DataFrame, origins: pl.DataFrame, after: pl.DataFrame, note: Callable[[pl.Expr, pl.Expr], pl.Expr] | None = None,
                gave_note: Callable[[pl.Expr, pl.Expr], pl.Expr] | None = None) -> pl.DataFrame:
    """``clusters`` (judged before :func:`block_moves`) for the partition after the joins.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, size, why`` and any other columns, by the ids before the joins.
    origins : DataFrame
        :func:`graphlink.stages.batch_judgement.cluster_origins` of the moves (``cluster_id, was, took, gave``).
    after : DataFrame
        ``account_idx, cluster_id``: the partition after the joins (renumbered).
    note : callable, optional
        ``(took, size) -> why`` for a cluster that took members; None: :func:`block_note` (bound blocks pass theirs).
    gave_note : callable, optional
        ``(gave, size) -> why`` for a cluster that gave members and kept a remnant (its why's figures are of the
        cluster judged, so it must say it gave them: bound blocks pass :func:`graphlink.stages.bound_blocks.bound_gave_note`);
        None: a giver's why is kept as it was (block pieces move whole pieces, and leave no remnant).

    Returns
    -------
    DataFrame
        ``clusters``' columns, one row per cluster of ``after``: each keeps the judgement (score, flag, campaign) of
        the cluster it was -- the pieces it took were flagged in the same campaign -- with its new ``size``; the why
        of one that took pieces says so (:func:`block_note`, counting the accounts judged).
    """
    size = after.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.len().alias("size"))
    note = (note or block_note)(pl.col("took"), pl.col("size"))
    if gave_note is not None:  # a remnant that gave members says so (its why's figures are of the cluster judged)
        note = pl.when(pl.col("took") > 0).then(note).when(pl.col("gave") > 0).then(gave_note(pl.col("gave"), pl.col("size")))
    else:
        note = pl.when(pl.col("took") > 0).then(note)
    why = (pl.when(note.is_null()).then(pl.col("why")).when(pl.col("why").is_null() | (pl.col("why") == "")).then(note)
           .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), note])))
    out = (origins.join(clusters.rename({"cluster_id": "was"}), on="was").with_columns(why.alias("why")).drop("size")
           .join(size.with_columns(pl.col("size").cast(clusters.schema["size"])), on="cluster_id")
           .with_columns(pl.col("cluster_id").cast(clusters.schema["cluster_id"])))
    return out.select(clusters.columns).sort("cluster_id")


def block_note(took: pl.Expr, size: pl.Expr) -> pl.Expr:
    """The why of a cluster that took pieces: ``judged on its SIZE accounts before TOOK more joined ...``."""
    return pl.concat_str([pl.lit("judged on its "), size.cast(pl.String), pl.lit(" accounts before "), took.cast(pl.String),
                          pl.lit(" more joined: flagged pieces of its operator's campaign sharing its addresses as often as it shares them within (block pieces)")])
