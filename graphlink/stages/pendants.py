"""Own-value members: an unclustered account most of whose values are one cluster's joins that cluster.

CPM (:mod:`graphlink.stages.communities`) asks a cluster's member pairs to share ``resolution`` on average, so
an account joins a cluster of ``n`` only with ``resolution * n`` of evidence to it. That is right for the
pairs Leiden weighs, but it leaves out an account that holds almost nothing of its own: a bot whose own
friend list is hidden, friended by two bots of a trader's block of 283, shares its one value with them
and nothing with anyone else (weight ``2 * (2 / 3) ** 0.5``, against the 57 CPM asks), and stays in no
cluster, although everything it holds is the block's (vk-bots: 101 of PARIK's 403 linkable bots were in no
cluster, 87 of them holding only their own id; OLENI 50 of 274, 41; BENCHMARKS.md, fifty-second pass, helper
vk52). A cluster's size should not decide whether an account whose whole identity is the cluster's belongs to it.

Rule. For a strong kind's shared value ``v`` (``df`` holders), ``v`` is cluster ``C``'s when more than half
of the holders other than any one of them are ``C``'s members: ``2 * in_C > df - 1``. An unclustered
account joins ``C`` when more than half of all the values of strong kinds it holds (shared or not; a
kind whose unshared values the signals stage counted instead of listing counts from ``value_counts``)
are ``C``'s. More than half: an account with an address of the cluster and a card of its own (one of
two) stays out -- a card of its own is an identity of its own; a user of an office NAT that the
office's cluster holds, with a card and a home address of its own, stays out. Weak kinds (networks,
phrases, timing, user agents) are not counted: they are shared by unrelated groups and never link alone.
And one of the cluster's values it holds is no address or card (:data:`MEETING_KINDS`), or it holds several of the
cluster's addresses and cards (:data:`MIN_MEETING_VALUES`: the pool's rotation), or it phrases like the cluster (a prompt
passage that is the cluster's by the same majority, :data:`PHRASE_KIND`): a ring's proxy
or datacenter exit is shared with strangers who pass through it (a VPN's users, a phone's NAT), so an
account holding one of the ring's addresses and nothing else -- one request from the exit, no card, no prompt
the fleet-bystander test could read (:func:`graphlink.stages.outsiders.address_bystanders` leaves
such an account unjudged) -- is no more the ring's than a passer-by's, nor is the owner of one card the ring
pays with; an identifier, a friend or the script of the cluster is (break-it review brk52: one-request accounts
on a flagged ring's exit were joined and flagged, 3 of 3 on each of six seeds; new-user review, session 53: a
stolen card's owner).

One pass over the final clusters (no chains: an account joined here makes no value another's). The
joined accounts are scored with their cluster (nothing here flags) and take their cluster's whole, so
they are in its campaign.

Output schema
-------------
:func:`own_value_members` returns ``(partition, wholes, joined)``: the partition
(``account_idx, cluster_id``) with joined accounts' ``cluster_id`` set, ``wholes`` likewise (when given),
and ``joined`` (``account_idx`` UInt32, ``cluster_id`` of the partition, then :data:`JOINED_EXTRA`).
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig

__all__ = ["JOINED_EXTRA", "MEETING_KINDS", "MIN_MEETING_VALUES", "PHRASE_KIND", "cluster_values", "own_value_members",
           "strong_kinds"]

#: The kinds one of whose values alone never makes an account a cluster's here, the places where strangers meet a
#: cluster: an IP address is shared by whoever passes through it (proxy and VPN exits, NATs; the fleet-outsider and
#: bystander tests, :mod:`graphlink.stages.outsiders`, likewise treat a link by an address alone as no link), and a
#: card by its owner and whoever stole it (new-user review, session 53: the owner of a card a fleet pays with, two
#: requests, no address, no prompt, was joined to the flagged fleet and listed among its strongest members). They
#: still count among an account's values (an address or a card of its own keeps it out).
MEETING_KINDS = ("ip", "payment")
#: ... unless it holds two or more of the cluster's values of those kinds: one is where a passer-by or a card's owner
#: met the cluster; several are its pool drawn request by request (dev templates 1001: ring accounts on their own
#: cards holding 8-19 of their cell's proxy addresses and nothing else of the cell's), or ...
MIN_MEETING_VALUES = 2
#: ... unless it phrases like the cluster: a prompt passage (this kind's value) more than half of whose other holders
#: are the cluster's members -- its script, which a passer-by on its exit does not send.
PHRASE_KIND = "prompt"
#: ``joined``'s columns past ``account_idx, cluster_id``: how many of its strong values are the cluster's (``owned``)
#: of how many it holds (``held``), and which (``values``, their ``signal_idx``): what its membership rests on
#: (:mod:`graphlink.stages.join_notes` words it).
JOINED_EXTRA = {"owned": pl.UInt32, "held": pl.UInt32, "values": pl.List(pl.UInt32)}


def strong_kinds(signals: pl.DataFrame, graph_config: GraphConfig) -> list[str]:
    """The kinds of ``signals`` (a frame with a ``kind`` column) that link on their own
    (:attr:`graphlink.config.KindSpec.strong` in ``graph_config``), sorted by name."""
    return [k for k in signals["kind"].unique().sort().to_list() if graph_config.spec(k).strong]


def cluster_values(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                   graph_config: GraphConfig | None = None, kinds: list[str] | None = None) -> pl.DataFrame:
    """Each cluster's values: every shared value of a strong kind more than half of whose ``df - 1`` other holders
    (any one holder aside) are that cluster's members.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64, null: unclustered).
    memberships : DataFrame
        ``account_idx, signal_idx``; only the clustered accounts' rows are read (others may be absent: the Spark
        engine collects these first).
    signals : DataFrame
        ``signal_idx, kind, df`` (``df``: the value's holders among all accounts).
    graph_config : GraphConfig, optional
        Which kinds are strong.
    kinds : list of str, optional
        The kinds read (default: the strong ones).

    Returns
    -------
    DataFrame
        ``signal_idx, cluster_id``, one row per value a cluster owns (a value has at most one owner), sorted by
        ``signal_idx``.
    """
    graph_config = graph_config or GraphConfig()
    kinds = strong_kinds(signals, graph_config) if kinds is None else kinds
    values = signals.filter(pl.col("kind").is_in(kinds) & (pl.col("df") >= 2)).select(
        "signal_idx", "df")
    # Strong values first: on the campaign preset most memberships are prompt shingles (a weak kind).
    return (memberships.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(partition.drop_nulls("cluster_id"), on="account_idx")
            .group_by("signal_idx", "cluster_id").agg(pl.len().alias("in_c"), pl.col("df").first())
            .filter(2 * pl.col("in_c") > pl.col("df") - 1).select("signal_idx", "cluster_id").sort("signal_idx"))


def own_value_members(partition: pl.DataFrame, wholes: pl.DataFrame | None, memberships: pl.DataFrame,
                      signals: pl.DataFrame, graph_config: GraphConfig | None = None,
                      value_counts: pl.DataFrame | None = None
                      ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    """Unclustered accounts most of whose strong values are one cluster's, joined to it (module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64, null: unclustered), every account.
    wholes : DataFrame or None
        The clusters before blocks were split (same schema), or None when none was split.
    memberships : DataFrame
        ``account_idx, signal_idx`` of every account (at least of the unclustered accounts and of every
        clustered holder of a value they hold; :class:`graphlink.stages.graph.Projection`).
    signals : DataFrame
        ``signal_idx, kind, df`` (``df``: the value's holders among all accounts).
    graph_config : GraphConfig, optional
        Which kinds are strong (:class:`graphlink.config.KindSpec`).
    value_counts : DataFrame, optional
        ``account_idx, kind, n_values``: every value an account holds of a kind whose unshared values are not
        in ``memberships`` (the signals stage's counts, IP addresses); other kinds are counted from
        ``memberships``.

    Returns
    -------
    tuple
        ``(partition, wholes, joined)`` (module docstring); unchanged frames and an empty ``joined`` when
        no account qualifies.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, None, None]},
    ...                     schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["friend"] * 3, "df": [3, 2, 1]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 2, 3, 0, 3], "signal_idx": [0, 0, 0, 2, 1, 1]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> part2, _, joined = own_value_members(part, None, mem, sig)
    >>> joined.select("account_idx", "cluster_id", "owned", "held").rows(), part2["cluster_id"].to_list()
    ([(2, 1, 1, 1)], [1, 1, 1, None])
    """
    graph_config = graph_config or GraphConfig()
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "cluster_id": partition.schema["cluster_id"], **JOINED_EXTRA})
    loose = partition.filter(pl.col("cluster_id").is_null()).select("account_idx")
    owned = cluster_values(partition, memberships, signals, graph_config)
    if loose.is_empty() or owned.is_empty():
        return partition, wholes, empty
    strong = strong_kinds(signals, graph_config)
    values = signals.filter(pl.col("kind").is_in(strong)).select("signal_idx", "kind")
    mine = memberships.select("account_idx", "signal_idx").join(loose, on="account_idx", how="semi").join(
        values, on="signal_idx")
    clustered = partition.drop_nulls("cluster_id")
    per = (mine.join(owned, on="signal_idx").group_by("account_idx", "cluster_id")
           .agg(pl.len().alias("owned"), pl.col("signal_idx").sort().alias("values"),
                (~pl.col("kind").is_in(MEETING_KINDS)).sum().alias("beyond_meeting"),
                pl.col("kind").is_in(MEETING_KINDS).sum().alias("meetings")))
    if per.is_empty():  # (no loose account holds a cluster's value: joined would be empty, as below)
        return partition, wholes, empty
    # Every strong value each candidate holds: listed ones from the memberships, kinds counted upstream from
    # value_counts (their unshared values are not listed).
    counted = (value_counts.filter(pl.col("kind").is_in(strong)) if value_counts is not None
               else pl.DataFrame(schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32}))
    listed = (mine.join(per.select("account_idx").unique(), on="account_idx", how="semi")
              .filter(~pl.col("kind").is_in(counted["kind"].unique().implode()))
              .group_by("account_idx").agg(pl.len().alias("n")))
    upstream = (counted.join(per.select("account_idx").unique(), on="account_idx", how="semi")
                .group_by("account_idx").agg(pl.col("n_values").sum().alias("n")))
    total = pl.concat([listed, upstream.cast(listed.schema)]).group_by("account_idx").agg(pl.col("n").sum())
    # Held through addresses and cards alone: the account must hold several of them (the pool) or phrase like the cluster (a
    # prompt passage that is the cluster's by the same majority), as the bystander test asks of a member linked by an
    # address (stages.outsiders).
    phrases = cluster_values(partition, memberships, signals, graph_config, [PHRASE_KIND])
    phrased = (memberships.select("account_idx", "signal_idx").join(per.select("account_idx").unique(), on="account_idx",
               how="semi").join(phrases, on="signal_idx").select("account_idx", "cluster_id").unique()
               .with_columns(pl.lit(True).alias("phrased")))
    joined = (per.join(total, on="account_idx").join(phrased, on=["account_idx", "cluster_id"], how="left")
              .filter((2 * pl.col("owned") > pl.col("n")) & ((pl.col("beyond_meeting") > 0) | (pl.col("meetings") >= MIN_MEETING_VALUES)
                      | pl.col("phrased").fill_null(False)))
              .select(pl.col("account_idx").cast(pl.UInt32), pl.col("cluster_id").cast(empty.schema["cluster_id"]),
                      *(pl.col(c).cast(t) for c, t in JOINED_EXTRA.items() if c != "held"), pl.col("n").cast(pl.UInt32).alias("held"))
              .select(list(empty.columns)).sort("account_idx"))
    if joined.is_empty():
        return partition, wholes, empty
    out = partition.join(joined.select("account_idx", pl.col("cluster_id").alias("new")), on="account_idx", how="left", maintain_order="left"
                         ).with_columns(pl.coalesce("cluster_id", "new").alias("cluster_id")).drop("new")
    if wholes is not None:
        whole_of = clustered.join(wholes.rename({"cluster_id": "whole"}), on="account_idx").group_by("cluster_id").agg(
            pl.col("whole").first())
        into = joined.join(whole_of, on="cluster_id").select("account_idx", pl.col("whole").cast(wholes.schema["cluster_id"]))
        wholes = wholes.join(into, on="account_idx", how="left", maintain_order="left").with_columns(
            pl.coalesce("cluster_id", "whole").alias("cluster_id")).drop("whole")
    return out, wholes, joined
