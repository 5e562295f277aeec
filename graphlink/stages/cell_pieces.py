"""Cell pieces: an unflagged piece of a flagged cell, judged with its cell.

Leiden cuts a large cell along what its members share least with each other: a residential pool of thousands of
exits leaves each small group of accounts tied to the rest by two or three addresses only (issue 17, class 3:
splitting by the projection). The piece is then scored alone -- a handful of accounts, too few for
``min_flag_size`` or for the fleet signals a score reads (dev mixed 1000: operator cells 5 and 10 cut into 11
and 7 pieces, 57 ring accounts in pieces of 2-6 left unflagged, each piece a campaign of its own). What the piece
shows is that its accounts draw from the flagged cell's own exits and cards, not that they look like a fleet.

A piece is judged with the flagged cluster it draws from when, after every flag is decided:

* **Exact values only.** Only values one party holds -- an address (``ip``) or a card (``payment``): an address
  block (``ip_net``) is a neighbourhood, and a household two doors from a ring's exit shares its /24 by chance
  (dev a1, d300, e179: pairs of people on a ring's /24 and nothing else; 199 benign accounts joined a flag when
  blocks counted, offline on session 59's main).
* **Held almost only by flagged accounts.** A value ties when at least :data:`MIN_OTHER_HOLDERS` accounts outside
  the piece hold it and at least :data:`FLAGGED_SHARE` of them are members of flagged clusters (its holders
  counted over the whole log, unclustered ones too): a carrier's exit or an office NAT is held by people.
* **Two values, every member.** The piece holds at least :data:`MIN_TIE_VALUES` such values and *every* member
  holds one: one shared value is one coincidence (a household whose home address a ring's residential proxy
  exits through: dev d303, ind179), two are a pattern; and a member on none of them is not shown to be the cell's.
* **One tooling.** When the log names clients (:data:`CLIENT_KINDS`), every member sends with a client another
  member of the piece sends with: a cell's accounts run its scripts. A person Leiden paired with one ring account
  on the ring's residential exits sends from a phone's browser, the ring account from its HTTP library (dev d301,
  d302, d303: one such pair each, flagged without this test).

The piece keeps its members (the partition is not changed) and takes the flag and the campaign of the flagged
cluster holding most of its tying values; its ``why`` says so. Offline on session 59's main outputs (54 dev
worlds of 11,200 accounts): 51 ring accounts newly flagged, no benign one.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

__all__ = ["CLIENT_KINDS", "FLAGGED_SHARE", "MIN_OTHER_HOLDERS", "MIN_TIE_VALUES", "PIECE_KINDS", "cell_pieces", "piece_ties"]

#: Kinds whose values one party holds: an address and a card (never an address block, a client or a phrase).
PIECE_KINDS = ("ip", "payment")
#: Share of a value's holders outside the piece that must be flagged accounts: almost all, so a value people hold
#: too (a carrier's exit, an office NAT, a family's card) never ties.
FLAGGED_SHARE = 0.8
#: Holders outside the piece a value needs: one other holder is a contact, not the cell's reuse.
MIN_OTHER_HOLDERS = 2
#: Distinct tying values a piece needs: one is a coincidence (a home address a proxy exits through).
MIN_TIE_VALUES = 2
#: Kinds naming the client an account sends with (its user agent): a piece's members share one.
CLIENT_KINDS = ("user_agent",)


def piece_ties(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
               signals: pl.DataFrame, flagged_share: float = FLAGGED_SHARE, min_other: int = MIN_OTHER_HOLDERS,
               min_values: int = MIN_TIE_VALUES) -> pl.DataFrame:
    """Unflagged clusters every member of which holds a value the flagged clusters hold almost alone.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged`` (judged clusters).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``: at least every clustered account's.
    signals : DataFrame
        ``signal_idx, kind, df`` (``df``: the value's holders in the whole log).
    flagged_share : float
        :data:`FLAGGED_SHARE`.
    min_other : int
        :data:`MIN_OTHER_HOLDERS`.
    min_values : int
        :data:`MIN_TIE_VALUES`.

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``lead`` (Int64: the flagged cluster holding most of the tying values' flagged
        holders; ties by smaller id), ``values`` (UInt32: the tying values), one row per piece, by ``cluster_id``.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, False]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 1, 2, 2]})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 3, 4, 1, 2, 3, 4], "signal_idx": [0, 0, 0, 0, 1, 1, 1, 4]})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["ip", "ip"], "df": [4, 4]})
    >>> piece_ties(cl, part, aff, sig).rows()  # ip 1: 3 holders outside the piece, 2 flagged
    []
    >>> piece_ties(cl, part, aff, sig.with_columns(df=pl.Series([4, 3]))).rows()
    [(2, 1, 2)]
    """
    kinds = signals.filter(pl.col("kind").is_in(PIECE_KINDS)).select(pl.col("signal_idx").cast(pl.Int64), pl.col("df").cast(pl.Int64))
    judged = clusters.select(pl.col("cluster_id").cast(pl.Int64), pl.col("flagged").fill_null(False))
    members = partition.drop_nulls("cluster_id").select(pl.col("account_idx").cast(pl.Int64), pl.col("cluster_id").cast(pl.Int64))
    held = (affiliations.select(pl.col("account_idx").cast(pl.Int64), pl.col("signal_idx").cast(pl.Int64)).unique()
            .join(kinds, on="signal_idx").join(members, on="account_idx").join(judged, on="cluster_id"))
    if held.is_empty() or not judged["flagged"].any():
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "lead": pl.Int64, "values": pl.UInt32})
    per = held.group_by("signal_idx", "cluster_id").agg(pl.len().alias("h"), pl.col("flagged").first(), pl.col("df").first())
    flagged = per.filter("flagged").group_by("signal_idx").agg(pl.col("h").sum().alias("fl"))
    lead_of = (per.filter("flagged").sort(["signal_idx", "h", "cluster_id"], descending=[False, True, False])
               .group_by("signal_idx", maintain_order=True).agg(pl.col("cluster_id").first().alias("lead"), pl.col("h").first().alias("lh")))
    ties = (per.filter(~pl.col("flagged")).join(flagged, on="signal_idx").join(lead_of, on="signal_idx")
            .with_columns((pl.col("df") - pl.col("h")).alias("other"))
            .filter((pl.col("other") >= min_other) & (pl.col("fl") >= flagged_share * pl.col("other"))))
    sizes = members.group_by("cluster_id").agg(pl.len().alias("size"))
    clients = signals.filter(pl.col("kind").is_in(CLIENT_KINDS)).select(pl.col("signal_idx").cast(pl.Int64))
    if clients.height:  # one tooling: each member sends with a client another member of the piece sends with
        sent = (affiliations.select(pl.col("account_idx").cast(pl.Int64), pl.col("signal_idx").cast(pl.Int64)).unique()
                .join(clients, on="signal_idx").join(members.join(ties.select("cluster_id").unique(), on="cluster_id"), on="account_idx"))
        agreeing = (sent.filter(pl.len().over("cluster_id", "signal_idx") >= 2).group_by("cluster_id")
                    .agg(pl.col("account_idx").n_unique().alias("agreeing")))
        sizes = sizes.join(agreeing, on="cluster_id", how="left").filter(pl.col("agreeing") == pl.col("size")).drop("agreeing")
    covered = (held.join(ties.select("signal_idx", "cluster_id"), on=["signal_idx", "cluster_id"], how="semi")
               .group_by("cluster_id").agg(pl.col("account_idx").n_unique().alias("tied")))
    lead = (ties.group_by("cluster_id", "lead").agg(pl.col("lh").sum().alias("w"))
            .sort(["cluster_id", "w", "lead"], descending=[False, True, False])
            .group_by("cluster_id", maintain_order=True).agg(pl.col("lead").first()))
    return (ties.group_by("cluster_id").agg(pl.col("signal_idx").n_unique().cast(pl.UInt32).alias("values"))
            .filter(pl.col("values") >= min_values)
            .join(covered, on="cluster_id").join(sizes, on="cluster_id").filter(pl.col("tied") == pl.col("size"))
            .join(lead, on="cluster_id").select("cluster_id", "lead", "values").sort("cluster_id"))


def cell_pieces(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                signals: pl.DataFrame, bystanders: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> pl.DataFrame:
    """Flag each piece :func:`piece_ties` finds, in its lead's campaign, saying why.

    Judged with its cell means judged as its cell's members are: a piece a member of which would be set apart from the
    cell as a bystander (:func:`graphlink.stages.outsiders.set_apart_members`: a person on the fleet's commercial proxy
    exits, rotating like it but holding none of its cards and not writing its script) is not the cell's. On the
    agent-fleet dev worlds such pieces are two people Leiden paired on the fleets' exits (dev a1, d303: 18 and 20
    ordinary accounts flagged without this test).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged, why, campaign_id`` (and ``flagged_own`` when present: a piece is not flagged on its
        own evidence, so it stays false).
    partition, affiliations, signals : DataFrame
        As for :func:`piece_ties`.
    bystanders : callable, optional
        Given a partition (``account_idx, cluster_id``) in which each piece sits inside its lead, the members to set
        apart (``account_idx``): the pipeline's :func:`~graphlink.stages.outsiders.set_apart_members`. Without it
        every piece :func:`piece_ties` finds is flagged.

    Returns
    -------
    DataFrame
        ``clusters``, same rows and order, with the pieces flagged and moved to their lead's campaign.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, False], "why": ["proxies", "two accounts"],
    ...                    "campaign_id": [1, 2]})
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 1, 2, 2]})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 3, 4, 1, 2, 3, 4], "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1]})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["ip", "payment"], "df": [4, 4]})
    >>> cell_pieces(cl, part, aff, sig).rows()[1]  # doctest: +NORMALIZE_WHITESPACE
    (2, True, 'a piece of flagged cluster 1 (campaign 1): each of its 2 members holds one of 2 addresses or cards
    held almost only by flagged accounts; two accounts', 1)
    """
    ties = piece_ties(clusters, partition, affiliations, signals)
    if bystanders is not None and ties.height:
        inside = partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(
            ties.select("cluster_id", "lead"), on="cluster_id", how="left")
        leads = ties.select(pl.col("lead").alias("cluster_id")).unique()
        merged = (inside.filter(pl.col("lead").is_not_null() | pl.col("cluster_id").is_in(leads["cluster_id"].implode()))
                  .select("account_idx", pl.coalesce("lead", "cluster_id").cast(partition.schema["cluster_id"]).alias("cluster_id")))
        apart = bystanders(merged).select(pl.col("account_idx").cast(inside.schema["account_idx"]))
        refused = inside.join(apart, on="account_idx", how="semi").filter(pl.col("lead").is_not_null())["cluster_id"].unique()
        ties = ties.filter(~pl.col("cluster_id").is_in(refused.implode()))
    if ties.is_empty():
        return clusters
    dtype = clusters.schema["cluster_id"]
    leads = clusters.select(pl.col("cluster_id").cast(pl.Int64).alias("lead"), pl.col("campaign_id").alias("__lc"))
    sizes = partition.drop_nulls("cluster_id").group_by(pl.col("cluster_id").cast(pl.Int64)).agg(pl.len().alias("__n"))
    ties = ties.join(leads, on="lead", how="left").join(sizes, on="cluster_id").with_columns(pl.col("cluster_id").cast(dtype))
    out = clusters.join(ties, on="cluster_id", how="left", maintain_order="left")
    piece = pl.col("lead").is_not_null()
    why = pl.concat_str([pl.lit("a piece of flagged cluster "), pl.col("lead").cast(pl.String), pl.lit(" (campaign "),
                         pl.col("__lc").cast(pl.String), pl.lit("): each of its "), pl.col("__n").cast(pl.String),
                         pl.lit(" members holds one of "), pl.col("values").cast(pl.String),
                         pl.lit(" addresses or cards held almost only by flagged accounts; "), pl.col("why").fill_null("")])
    return out.with_columns(
        (pl.col("flagged") | piece).alias("flagged"),
        pl.when(piece).then(why).otherwise(pl.col("why")).alias("why"),
        pl.when(piece & pl.col("__lc").is_not_null()).then(pl.col("__lc").cast(clusters.schema["campaign_id"]))
        .otherwise(pl.col("campaign_id")).alias("campaign_id"),
    ).drop("lead", "values", "__lc", "__n")
