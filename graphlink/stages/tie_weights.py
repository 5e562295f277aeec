"""How much a value shared with a flagged operator says: whose value it is, and whose client sends it.

:func:`graphlink.stages.campaign_flags.operator_ties` ties a tame cluster ``C`` to a flagged operator by
values both hold. Held is not enough on either of two counts, each read here.

* **Whose card or address it is** (:func:`card_slivers`). A card both hold is the operator's reuse when the
  operator pays with it; it is ``C``'s own, and the operator's accounts' payments with it contacts, when the
  operator's accounts make a sliver of its payments (an office's corporate card, paid with every day by its 36
  accounts, that two ring accounts used once each: a stolen or misused card says little about the 40 people who use
  it; break-it review, session 46: the office was flagged "same operator" by that card). The split is of the card's
  uses (events), not of its holders -- two thieves are two holders, but two payments -- and of every use, whoever
  made it (a company a wording split parts into departments makes the same payments). An address is weighed alike,
  and one the operator's accounts make a sliver of the uses of ties nothing (only a card is a contact a template can
  back): a campus's NAT addresses, sent through by its 120 students all day, that a ring run from a dorm passed
  through once or twice per account, tied the campus to the ring "by 6 IP addresses" (break-it review, session 48:
  all 120 students flagged).
* **Whose client sends the template** (:func:`client_split_texts`). Text is the one thing unrelated people
  copy (a popular prompt going round): an operator's template is sent by its cells with its
  tooling, a copied one with the copier's own. A cluster tied by the operator's template and
  nothing else (no card the operator reuses, no address), whose clients disagree with the signature of
  every operator cluster sending the template, copied the text
  (:func:`graphlink.stages.campaign_clients.client_vetoes`, the rule the campaign grouping already
  applies to template ties; offices sending a ring's public template half the time from their browsers were tied
  by it: "tied to flagged cluster 4 by 14 prompt phrases"). The copier needs no signature of its own: an office
  whose staff each run a browser of their own has none, yet never sends the ring's scripted client (break-it
  review, session 48: three offices of six on six browsers were tied), nor a size: a team of four none of whose staff
  sends the ring's client is no ring cell for being small (break-it review, session 49). A sender without a
  signature (rotating stock browser agents, or too small to speak for its clients: under
  :data:`~graphlink.stages.campaign_clients.MIN_SIGNATURE_SIZE`) and a log without user agents split nothing off, so
  the senders' signatures are read first and only phrases every sender of which is signed are compared: every small
  cluster's phrases joined to every sender of them took the 224k worlds' peak memory from 4 to 11 GB (session 49).
  Every sender, not the one sending it most: operators drawing one public template family send each other's
  phrases, and a cell tied to another operator's loud cluster by them is still its own operator's when its own
  loud clusters send them too, on its client (dev templates 1002 and 1005: 4 and 2 ring cells, 111 accounts, lost
  when only the top sender counted). The senders are the operator's clusters that vouch for a client: the loud
  ones and those tied by a card or an address, never one tied by text alone (a copier team too small for a
  signature, once tied, vouched for its browsers, and offices copying the text were tied through it).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_clients import client_profiles, client_vetoes

__all__ = ["CONTACT_USE", "card_slivers", "client_split_texts", "weighed"]

#: A card ``C`` shares with a flagged operator is ``C``'s own, the operator's payments with it contacts, when
#: the operator's accounts make fewer than this share of the payments made with it (every account's).
#: A tenth: an operator moving its card into a cell pays with it itself (a ring's pool card used alike by its
#: loud and tame cells splits by the cells' sizes, a cell of 40 beside 4 loud holders still 0.1), while the
#: office card two ring accounts paid with once each splits 2 of about 290.
CONTACT_USE = 0.1


def card_slivers(cards: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                 operator: pl.Series) -> pl.DataFrame:
    """Which of the cards tying a cluster the operator's accounts pay with only a sliver of the time.

    Parameters
    ----------
    cards : DataFrame
        ``cluster_id, signal_idx``: each candidate cluster's tying cards or identifiers.
    partition : DataFrame
        ``account_idx, cluster_id`` (null: unclustered).
    affiliations : DataFrame
        ``account_idx, signal_idx`` and ``count`` (events of the account carrying the value; 1 each
        without it).
    operator : Series
        Ids of the operator's clusters (the loud ones and those tied to them so far).

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), ``signal_idx`` (UInt32), ``sliver`` (Boolean: the operator's clusters make
        fewer than :data:`CONTACT_USE` of the events carrying the value, every account's), one row per row of
        ``cards``.

    Examples
    --------
    Cluster 2's 3 accounts pay 30 times with card 5, which 2 accounts of the operator's cluster 1 used once
    each; card 6 is paid with alike by both:

    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "cluster_id": [1, 1, 2, 2, 2]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 0, 2], "signal_idx": [5, 5, 5, 5, 5, 6, 6],
    ...                     "count": [1, 1, 10, 10, 10, 4, 5]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> cards = pl.DataFrame({"cluster_id": [2, 2], "signal_idx": [5, 6]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> card_slivers(cards, part, aff, pl.Series([1])).rows()
    [(2, 5, True), (2, 6, False)]
    """
    cards = cards.select(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32))
    n = pl.col("count").cast(pl.Float64) if "count" in affiliations.columns else pl.lit(1.0)
    held = (affiliations.filter(pl.col("signal_idx").is_in(cards["signal_idx"].unique().implode()))
            .select("account_idx", pl.col("signal_idx").cast(pl.UInt32), n.alias("n")))
    # Every use counts, whoever made it: a company's card is no more the operator's because a wording split parted the
    # company into departments (three blocks of 10 on the card 90 % of the time, 12 ring accounts paying 4 times each:
    # 8 % of the card's uses, 21 % of one department's and the ring's; break-it review, session 48).
    total = held.group_by("signal_idx").agg(pl.col("n").sum().alias("all"))
    ops = pl.DataFrame({"cluster_id": operator.cast(pl.Int64)}).unique()
    by_op = (held.join(partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64)), on="account_idx")
             .join(ops, on="cluster_id").group_by("signal_idx").agg(pl.col("n").sum().alias("op")))
    op, every = pl.col("op").fill_null(0.0), pl.col("all").fill_null(0.0)
    return (cards.join(total, on="signal_idx", how="left").join(by_op, on="signal_idx", how="left")
            .select("cluster_id", "signal_idx", (op < CONTACT_USE * every).alias("sliver")))


def client_split_texts(pairs: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame,
                       signals: pl.DataFrame) -> pl.DataFrame:
    """The pairs of ``pairs`` (a cluster tied by text alone and an operator cluster sending that text; :func:`weighed`
    asks this of every sender) whose clients disagree: :func:`graphlink.stages.campaign_clients.client_vetoes` on
    clusters.

    Parameters
    ----------
    pairs : DataFrame
        ``cluster_id, holder`` (cluster ids).
    partition, affiliations, signals : DataFrame
        ``account_idx, cluster_id``; ``account_idx, signal_idx``; ``signal_idx, kind`` (user agents are read).

    Returns
    -------
    DataFrame
        ``cluster_id, holder`` (Int64): the pairs whose holder has a client signature that the cluster's
        clients disagree with (``client_vetoes(signed_source=False)``); empty when the log has no client values.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": list(range(10)), "cluster_id": [1] * 5 + [2] * 5},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": list(range(10)), "signal_idx": [0] * 5 + [1] * 5},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["user_agent"] * 2}, schema_overrides={"signal_idx": pl.UInt32})
    >>> client_split_texts(pl.DataFrame({"cluster_id": [2], "holder": [1]}), part, aff, sig).rows()
    [(2, 1)]
    """
    empty = pl.DataFrame(schema={"cluster_id": pl.Int64, "holder": pl.Int64})
    if pairs.is_empty():
        return empty
    node_of = _nodes(partition, pl.concat([pairs["cluster_id"], pairs["holder"]]))
    vetoed = client_vetoes(node_of, affiliations, signals, pairs.select(pl.col("cluster_id").alias("source"),
                                                                         pl.col("holder").alias("target")).unique(),
                           signed_source=False)
    if vetoed.is_empty():
        return empty
    return vetoed.select(pl.col("source").cast(pl.Int64).alias("cluster_id"), pl.col("target").cast(pl.Int64).alias("holder"))


def _nodes(partition: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """``account_idx, node, size`` (UInt32) of the accounts of clusters ``ids``, as ``client_vetoes`` reads them."""
    return (partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
            .filter(pl.col("cluster_id").is_in(ids.cast(pl.Int64).unique().implode()))
            .select("account_idx", pl.col("cluster_id").cast(pl.UInt32).alias("node"),
                    pl.len().over("cluster_id").cast(pl.UInt32).alias("size")))


def weighed(rows: pl.DataFrame, near: pl.DataFrame, aside: pl.DataFrame, partition: pl.DataFrame,
            affiliations: pl.DataFrame, signals: pl.DataFrame, operator: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One round of :func:`graphlink.stages.campaign_flags.operator_ties`' tying values, weighed (module docstring).

    ``rows``: ``cluster_id, signal_idx, private, text, contact`` (each candidate cluster's tying values: whether a card
    or identifier, a prompt phrase, held by one account per operator campaign); ``near``: ``cluster_id, signal_idx``
    (the operator's template phrases the clusters not yet the operator's hold); ``aside``: ``cluster_id, signal_idx``
    (what the operator's clusters that vouch for a client hold: the loud ones and those tied by a card or address); ``operator``: the operator's cluster ids.

    Returns ``rows`` with ``contact`` also True for a card the operator pays with a sliver of the time and a Boolean
    ``sliver`` column (:func:`card_slivers`), without the addresses the operator's accounts make a sliver of the
    uses of (the module docstring), and without the prompt phrases of a cluster tied by nothing else (no
    address, no card but contacts) whose client disagrees with that of every operator cluster sending the phrase
    (:func:`client_split_texts`; a sender without a signature never disagrees); and ``cluster_id, signal_idx`` of
    ``near``'s phrases so split (they back no contact card).
    """
    keys = ["cluster_id", "signal_idx"]
    if rows.is_empty() and near.is_empty():  # nothing to weigh (an operator's last round): the same empty frames
        return (rows.with_columns(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32),
                                  pl.col("contact") | pl.lit(False), pl.lit(False).alias("sliver")), near.select(keys))
    held = rows.filter(~pl.col("text")).select("cluster_id", "signal_idx").unique()
    slivers = card_slivers(held, partition, affiliations, operator)
    rows = (rows.with_columns(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32))
            .join(slivers, on=["cluster_id", "signal_idx"], how="left")
            .with_columns(pl.col("sliver").fill_null(False))
            # An address the operator passes through a sliver of the time is the cluster's own, and ties nothing.
            .filter(pl.col("private") | ~pl.col("sliver"))
            .with_columns(pl.col("contact") | pl.col("sliver")))
    other = (~pl.col("text") & ~(pl.col("private") & pl.col("contact"))).any().over("cluster_id")
    # Only senders with a client signature can disagree: a phrase any other operator cluster sends (too small for a
    # signature, or rotating stock browsers) is kept without looking further. Read first, on the senders alone, so
    # that the join below holds the phrases every sender of which is signed: the copier may be any size
    # (client_vetoes(signed_source=False)), and every small cluster's phrases joined to every sender of them took the
    # 224k worlds' peak memory from 4 to 11 GB (session 49; dev 176big: 132 of 1,445 senders signed, 84 million
    # triples -> about 1,000).
    senders = aside.select(pl.col("signal_idx").cast(pl.UInt32), pl.col("cluster_id").cast(pl.Int64).alias("holder"))
    signed = client_profiles(_nodes(partition, senders["holder"]), affiliations, signals)[2]
    unsigned = (senders.join(signed.select(pl.col("node").cast(pl.Int64).alias("holder")), on="holder", how="anti")
                .select("signal_idx").unique())
    texts = (pl.concat([rows.filter(pl.col("text") & ~other).select(keys),
                        near.select(pl.col("cluster_id").cast(pl.Int64), pl.col("signal_idx").cast(pl.UInt32))]).unique()
             .join(unsigned, on="signal_idx", how="anti"))
    sent = texts.join(senders, on="signal_idx")
    split = client_split_texts(sent.select("cluster_id", "holder").unique(), partition, affiliations, signals)
    # A phrase is copied when every operator cluster sending it runs another client than the cluster's.
    copied = (sent.join(split.with_columns(pl.lit(True).alias("apart")), on=["cluster_id", "holder"], how="left")
              .group_by(keys).agg(pl.col("apart").fill_null(False).all()).filter("apart").select(keys))
    dropped = rows.filter(pl.col("text") & ~other).select(keys).join(copied, on=keys, how="semi")
    return rows.join(dropped, on=keys, how="anti"), near.select(keys).join(copied, on=keys, how="semi")
