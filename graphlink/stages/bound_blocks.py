"""Bound blocks: one network or card held by the whole of a cell gathers the cell's pieces, after the judgement.

A cell of several hundred accounts that rotates through one network nobody else uses (an IPv6 /48 rented whole, a
fresh /128 per request) or pays through one card is one dense bipartite block of accounts and a value -- but that
value is one among each member's several, it lies far above ``clique_limit`` and weighs little (rarity), so the
projection and CPM do not hold the block together: Leiden cuts it along its cards, and the cell becomes tens of
flagged clusters (issue 17, failure classes 2 and 3; BENCHMARKS.md session 60, helper cell60: dev d300's 361-account
cell on one /48 held by exactly those 361, in 73 clusters; d304's 313 on one /48, in 36).

What tells such a value from a NAT, a carrier's /48 or a privacy relay is not its popularity but **whose it is and
how it lies over the clusters**:

* it is wider than ``clique_limit``: the projection holds every pair of a narrower value's holders, so Leiden saw
  that block whole and a cut through it is its own judgement; a wider value is projected as a sparse stand-in (issue
  17, class 3: a group bound by one value of more than ``clique_limit`` accounts is cut by the projection);
* it is the campaign's own: nearly all its holders in the whole log (:data:`EXCLUSIVE`) are flagged members of one
  campaign -- a carrier's families, a relay's strangers, an office behind one address are not flagged together, so
  no value of theirs qualifies, whatever its size;
* it **binds** the clusters it lies on: in each, most members hold it (:data:`MAJORITY`); those clusters hold most
  of its holders (:data:`BLOCK`); and together they are its dense block -- :data:`DENSE` of all their members hold
  it (FRAUDAR, KDD'16: a block is dense on both sides). The value is what the pieces are made of, not sprinkled over
  them. A value of an operator's shared pool is one of many its holders rotate through: each is held by whichever
  members drew it -- a few of each cell on a wide pool (it binds no cluster), about half of two sibling cells on a
  narrow one (dev ind178 / e178: 58-74 pool addresses each held by 50-70 % of two siblings' clusters, density
  0.58-0.76) -- while a cell's own network carries every member's traffic (dev d300's /48: 0.80 with the siblings
  Leiden put beside its card groups; templates / schedules cells on one address: 0.99-1.00).

The holders of a binding value in the clusters it binds move into the one of them holding most of its holders
(values binding overlapping clusters are taken together: connected components); a cluster's members not holding it
stay, unless fewer than ``min_size`` would be left (they follow: a cluster that small is no cluster, and a flagged
account is never left without one). Sibling cells of one operator bound by one network of theirs (a /48 both rotate
through) pass this test alike; the step runs before sibling parts, which parts a flagged cluster into its creation
bursts when no card ties them (:mod:`graphlink.stages.sibling_parts`), so siblings opened apart are parted again.

**What a split parted stays parted.** The wording and client splits (:mod:`graphlink.stages.wording_cells`,
:mod:`graphlink.stages.client_cells`) part a Leiden cluster by what a cell *is* -- the template it writes, the tool it
sends with -- read from evidence the projection barely weighs; Leiden's and the block test's cuts read the projection
itself, where a binding value is the sparse stand-in that let them cut. A piece's *origin* is the cluster most of
its members were split from (:data:`graphlink.stages.split_guard.SPLIT_FROM`); its *script* of a kind
(:data:`SCRIPT_KINDS`) the values more than half its members hold. A network or card held alike by two parts of one
origin whose scripts differ (:data:`SCRIPT_SHARE`) is the operator's, shared by sibling cells that write or send
apart, and binds nothing (two sibling cells of one operator on one proxy pool, one template or one client each,
were joined again: tests test_wording_cells46 / test_client_cells50 with the step on); values chaining two such
parts together through a third cluster are refused with them (:func:`bound_moves`, ``split_from``). Parts that
write and send alike are one cell the split cut (dev schedules1000: a 242-account cell parted 177 / 65, one template
in both) and gather, as do the cuts Leiden made along a cell's cards (no origin).

It runs after the judgement and moves only flagged members of one campaign into a flagged cluster of that
campaign, so it changes no flag and no campaign by construction; the cluster that gathered keeps its score and its
why says what joined (:func:`bound_note`); a cluster that gave its holders and kept a remnant keeps its judgement and
its why says what left (:func:`bound_gave_note`: its figures are of the cluster judged).

Source: graphlink session 60 (helper cell60). Output: ``account_idx, to`` moves (:func:`bound_moves`).
"""

from __future__ import annotations

import polars as pl

__all__ = ["BLOCK", "BOUND_KINDS", "DENSE", "EXCLUSIVE", "MAJORITY", "SCRIPT_KINDS", "SCRIPT_SHARE", "bound_moves", "bound_note"]

#: The kinds whose values may bind a cell: an address, a network (``ip_net``: /24, /48) and a card -- what a cell
#: holds as one body. Prompts and clocks are shared by an operator's cells alike (its template), not one cell's.
BOUND_KINDS = ("ip", "ip_net", "payment")
#: A value counts when at least this share of its holders in the whole log are flagged members of one campaign. 0.9,
#: as block pieces' EXCLUSIVE and network cells' CLUSTERED_SHARE: tolerates a few members the partition left out.
EXCLUSIVE = 0.9
#: A value binds a cluster when at least this share of the cluster's members hold it: most of them. Leiden's pieces of
#: a bound cell can hold a few siblings' accounts beside the cell's (dev d300: 12 of 17, 9 of 13), so not all; a pool
#: address drawn by about half of a cluster binds it not (dev replica: 1/2 joined ind178's / e178's sibling pairs,
#: ARI by cell 0.93 -> 0.85; 2/3 left them and kept d300's 0.61 -> 0.79).
MAJORITY = 2 / 3
#: ... and the clusters a value binds hold at least this share of its flagged holders: the value lies on the pieces,
#: not sprinkled over the operator's clusters a few members each (a pool /24 binds none; dev d300's /48: 94 %).
BLOCK = 0.75
#: ... and at least this share of all the members of the clusters it binds hold it: the clusters are its dense block.
#: 0.8, as block pieces' and network cells' COVER; siblings on a narrow pool reach 0.58-0.76 (dev ind178, e178, a2),
#: a cell's own network 0.80-1.00.
DENSE = 0.8
#: The kinds a split reads as a cell's identity (:mod:`graphlink.stages.wording_cells`: the template's phrases;
#: :mod:`graphlink.stages.client_cells`: the client). A part's *script* of a kind: its values more than half the part holds.
SCRIPT_KINDS = ("prompt", "user_agent")
#: Two parts of one split differ in a kind when their scripts share under this share of the shorter: half, as the
#: split's own ratio test (:data:`graphlink.stages.blocks.BLOCK_RATIO` 2) asks a block to be twice as alike inside.
SCRIPT_SHARE = 0.5


def bound_moves(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                min_size: int, wider_than: int, exclusive: float = EXCLUSIVE, majority: float = MAJORITY, block: float = BLOCK, dense: float = DENSE,
                kinds: tuple[str, ...] = BOUND_KINDS, split_from: pl.DataFrame | None = None) -> pl.DataFrame:
    """Members of flagged clusters to move into the cluster of their campaign their binding value gathers in.

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
    min_size : int
        The fewest members a cluster keeps (the pipeline passes ``min_cluster_size``): a smaller remnant of a bound
        cluster follows its holders.
    wider_than : int
        Only values held by more accounts than this in the log bind (the pipeline passes ``clique_limit``: narrower
        values are projected as whole cliques, so their holders' cut is Leiden's own).
    exclusive, majority, block, dense : float
        :data:`EXCLUSIVE`, :data:`MAJORITY`, :data:`BLOCK`, :data:`DENSE` (shares in [0, 1]).
    kinds : tuple of str
        :data:`BOUND_KINDS`.
    split_from : DataFrame, optional
        ``account_idx, cluster_id``: the cluster the wording or client split parted each account's cluster from
        (:func:`graphlink.stages.split_guard.wording_wholes`; only accounts of split clusters). A flagged cluster
        most of whose members (more than half) come from one split cluster has that *origin*; a value binding two
        clusters of one origin whose scripts differ -- or linking them through others -- gathers nothing (module
        docstring). None: no split was made, every value as above.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64): every account that moves, with the cluster it moves into (of each
        component of bound clusters, the one holding most binding holders; ties: the lower id). Empty when nothing
        moves.

    Examples
    --------
    A cell of 9 on one /48 nobody else holds, cut along its cards into clusters of 4, 3 and 2: one cluster.

    >>> part = pl.DataFrame({"account_idx": list(range(9)), "cluster_id": [1] * 4 + [2] * 3 + [3] * 2},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "flagged": [True] * 3, "campaign_id": [1] * 3})
    >>> aff = pl.DataFrame({"account_idx": list(range(9)), "signal_idx": [0] * 9}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["ip_net"], "df": [9]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> bound_moves(cl, part, aff, sig, 3, 2)["to"].to_list()
    [1, 1, 1, 1, 1]
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    if not {"flagged", "campaign_id"} <= set(clusters.columns):
        return empty
    judged = clusters.filter(pl.col("flagged") & pl.col("campaign_id").is_not_null()).select(
        pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64))
    members = partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(judged, on="cluster_id")
    if members.is_empty():
        return empty
    sizes = members.group_by("cluster_id").agg(pl.len().cast(pl.Int64).alias("size"))
    values = signals.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") > max(wider_than, 1))).select("signal_idx", pl.col("df").cast(pl.Int64))
    held = (affiliations.select("account_idx", "signal_idx").join(values.select("signal_idx"), on="signal_idx")
            .join(members, on="account_idx"))
    # The campaign's own values: nearly all their holders in the log are its flagged members.
    own = (held.group_by("signal_idx", "campaign_id").agg(pl.len().alias("in_campaign")).join(values, on="signal_idx")
           .filter(pl.col("in_campaign") >= exclusive * pl.col("df")).select("signal_idx", "campaign_id", "in_campaign"))
    held = held.join(own.select("signal_idx", "campaign_id"), on=["signal_idx", "campaign_id"])
    if held.is_empty():
        return empty
    # Bound clusters: most of their members hold the value; they hold most of its holders, and are its dense block.
    counts = (held.group_by("signal_idx", "cluster_id").agg(pl.len().cast(pl.Int64).alias("n")).join(sizes, on="cluster_id")
              .filter(pl.col("n") >= majority * pl.col("size")))
    binding = (counts.group_by("signal_idx").agg(pl.col("n").sum().alias("bound"), pl.col("size").sum().alias("rows"), pl.len().alias("clusters"))
               .join(own, on="signal_idx").filter((pl.col("clusters") >= 2) & (pl.col("bound") >= block * pl.col("in_campaign"))
                                                  & (pl.col("bound") >= dense * pl.col("rows"))))
    links = counts.join(binding.select("signal_idx"), on="signal_idx")
    origin = _origins(members, sizes, split_from, affiliations, signals)
    if origin is not None:  # a value held alike by pieces a split parted into two scripts is their operator's, not a cell's body
        parted = (links.join(origin, on="cluster_id").group_by("signal_idx", "origin").agg(pl.col("script").n_unique().alias("k"))
                  .filter(pl.col("k") >= 2).select("signal_idx").unique())
        links = links.join(parted, on="signal_idx", how="anti")
    if links.is_empty():
        return empty
    return _gathered(links, held, members, min_size, origin)


def _origins(members: pl.DataFrame, sizes: pl.DataFrame, split_from: pl.DataFrame | None, affiliations: pl.DataFrame,
             signals: pl.DataFrame) -> pl.DataFrame | None:
    """``cluster_id, origin, script``: the split cluster more than half of a flagged cluster's members were parted
    from, and which of that split's parts it writes / sends like (parts alike in every :data:`SCRIPT_KINDS`, directly
    or through another part, share a ``script``)."""
    if split_from is None or split_from.is_empty():
        return None
    came = (members.join(split_from.select(pl.col("account_idx").cast(members.schema["account_idx"]), pl.col("cluster_id").cast(pl.Int64).alias("origin")),
                         on="account_idx").group_by("cluster_id", "origin").agg(pl.len().alias("n")).join(sizes, on="cluster_id")
            .filter(2 * pl.col("n") > pl.col("size")).select("cluster_id", "origin"))
    if came.is_empty():
        return None
    # A part's script: the values of each identity kind more than half its members hold (its template's phrases, its client).
    kinds = signals.filter(pl.col("kind").is_in(list(SCRIPT_KINDS))).select("signal_idx", "kind")
    script = (affiliations.select("account_idx", "signal_idx").join(kinds, on="signal_idx")
              .join(members.select("account_idx", "cluster_id").join(came, on="cluster_id"), on="account_idx")
              .group_by("cluster_id", "kind", "signal_idx").agg(pl.len().alias("n")).join(sizes, on="cluster_id")
              .filter(2 * pl.col("n") > pl.col("size")).select("cluster_id", "kind", "signal_idx"))
    length = script.group_by("cluster_id", "kind").agg(pl.len().alias("m"))
    pairs = came.join(came, on="origin", suffix="_b").filter(pl.col("cluster_id") < pl.col("cluster_id_b"))
    shared = (pairs.join(script, on="cluster_id").join(script.rename({"cluster_id": "cluster_id_b"}), on=["cluster_id_b", "kind", "signal_idx"])
              .group_by("cluster_id", "cluster_id_b", "kind").agg(pl.len().alias("shared")))
    # Two parts differ in a kind when both have a script of it and they share under half of the shorter one.
    differ = (pairs.join(length, on="cluster_id").join(length.rename({"cluster_id": "cluster_id_b", "m": "m_b"}), on=["cluster_id_b", "kind"])
              .join(shared, on=["cluster_id", "cluster_id_b", "kind"], how="left").with_columns(pl.col("shared").fill_null(0))
              .filter(pl.col("shared") < SCRIPT_SHARE * pl.min_horizontal("m", "m_b")).select("cluster_id", "cluster_id_b").unique())
    alike = pairs.join(differ, on=["cluster_id", "cluster_id_b"], how="anti")
    import igraph as ig

    ids = came["cluster_id"].sort()
    pos = {int(c): i for i, c in enumerate(ids.to_list())}
    g = ig.Graph(n=len(pos), edges=[(pos[int(a)], pos[int(b)]) for a, b in alike.select("cluster_id", "cluster_id_b").iter_rows()])
    return came.join(pl.DataFrame({"cluster_id": ids, "script": g.connected_components().membership}), on="cluster_id")


def _gathered(links: pl.DataFrame, held: pl.DataFrame, members: pl.DataFrame, min_size: int,
              origin: pl.DataFrame | None = None) -> pl.DataFrame:
    """The moves: each component of clusters linked by binding values gathers its holders into its head cluster
    (none, in a component holding two clusters of one ``origin``: values chaining a split's parts together)."""
    import igraph as ig

    ids = links["cluster_id"].unique().sort()
    pos = {int(c): i for i, c in enumerate(ids.to_list())}
    first = links.group_by("signal_idx").agg(pl.col("cluster_id").min().alias("root"))
    edges = links.join(first, on="signal_idx").filter(pl.col("cluster_id") != pl.col("root")).select("cluster_id", "root")
    g = ig.Graph(n=len(pos), edges=[(pos[int(a)], pos[int(b)]) for a, b in edges.iter_rows()])
    comp = pl.DataFrame({"cluster_id": ids, "component": g.connected_components().membership})
    if origin is not None:
        rejoined = (comp.join(origin, on="cluster_id").group_by("component", "origin").agg(pl.col("script").n_unique().alias("k"))
                    .filter(pl.col("k") >= 2).select("component").unique())
        comp = comp.join(rejoined, on="component", how="anti")
        if comp.is_empty():
            return pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
        links = links.join(comp.select("cluster_id"), on="cluster_id")
    # Holders of a binding value, in a cluster it binds.
    holders = (held.join(links.select("signal_idx", "cluster_id"), on=["signal_idx", "cluster_id"])
               .select("account_idx", "cluster_id").unique().join(comp, on="cluster_id"))
    weight = holders.group_by("component", "cluster_id").agg(pl.len().alias("holders"))
    head = (weight.sort(["component", "holders", "cluster_id"], descending=[True, True, False]).group_by("component", maintain_order=True)
            .first().select("component", pl.col("cluster_id").alias("to")))
    moving = holders.join(head, on="component").filter(pl.col("cluster_id") != pl.col("to"))
    # A remnant smaller than min_size follows its cluster's holders (no flagged account is left without a cluster).
    left = (members.join(comp, on="cluster_id").join(head, on="component").filter(pl.col("cluster_id") != pl.col("to"))
            .join(moving.select("account_idx"), on="account_idx", how="anti"))
    small = left.filter(pl.len().over("cluster_id") < min_size)
    out = pl.concat([moving.select("account_idx", "to"), small.select("account_idx", "to")])
    return out.select(pl.col("account_idx").cast(pl.UInt32), pl.col("to").cast(pl.Int64)).unique("account_idx").sort("account_idx")


def bound_note(took: pl.Expr, size: pl.Expr) -> pl.Expr:
    """The why of a cluster that gathered a bound block: ``judged on its SIZE accounts before TOOK more joined ...``."""
    return pl.concat_str([pl.lit("judged on its "), size.cast(pl.String), pl.lit(" accounts before "), took.cast(pl.String),
                          pl.lit(" more joined: flagged members of its operator's campaign on a network or card held by the whole of these clusters and no one else (bound blocks)")])


def bound_gave_note(gave: pl.Expr, size: pl.Expr) -> pl.Expr:
    """The why of a remnant that gave its holders: ``judged as the SIZE accounts it was before GAVE moved ...``.

    Its why's figures (cards, templates, addresses) are of the cluster judged, not of the few left (break-it review,
    session 61: dev d300's 2-account remnants read "13 accounts pay with 1 payment card").
    """
    return pl.concat_str([pl.lit("judged as the "), size.cast(pl.String), pl.lit(" accounts it was before "), gave.cast(pl.String),
                          pl.lit(" moved to the cluster of its campaign gathering the network or card of its own they hold (bound blocks)")])
