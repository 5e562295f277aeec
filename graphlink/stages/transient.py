"""Exits of transient networks: weigh only what two accounts share beyond chance (opt-in).

A commercial rotating proxy network hands each request a fresh exit: its
users -- ring accounts of several operators, and ordinary people on a VPN --
each touch hundreds of its exits once. An exit two of them share is, pair by
pair, as rare as a private address (``df`` of 2-5), so the rarity weight of
:func:`graphlink.stages.graph.rate` counts it as strong evidence, and many such
chance coincidences glue accounts of different operators into one cluster.

The rule (``GraphConfig.transient_share`` > 0):

* a network (``ip_net``: /24, /48) is *transient* when its median holder sends
  less than ``transient_share`` of its events there (the account's ``ip_net``
  events in the memberships; a network someone lives on -- a home line, an
  office or carrier NAT, a cell's own datacenter block -- carries most of its
  holders' traffic and is left alone);
* its shared exits (``ip`` values, ``df <= clique_limit``) leave the ordinary
  projection. Under a configuration model over all ``E`` such exits, accounts
  holding ``d_a`` and ``d_b`` of them share ``lambda = d_a * d_b / E`` by
  chance; a pair sharing ``k >= transient_min_shared`` of them keeps
  ``max(0, 1 - lambda / k)`` of the weight those exits gave it (``sum weight *
  damp_a * damp_b``), as strong evidence; a pair sharing fewer keeps nothing
  (one exit in common among hundreds is what heavy users of one network have).

A cell rotating over its own pool shares many exits with its own members
(``k`` far above ``lambda``: the pool is a small part of all transient
exits) and keeps most of its links; two heavy users of one commercial network
sharing one exit among hundreds keep little.

**The rented-network chance test** (``GraphConfig.transient_alpha`` > 0, session 47; opt-in): the rule
above counts chance over *all* transient exits alike and leaves exits projected as cycles alone, so the
commercial network's exits -- shared by rotators, hence projected as cycles -- kept tying operators. With
``transient_alpha`` on:

* a network counts only when it holds at least ``transient_min_exits`` shared exits (the commercial
  network's /24s hold 8-11 each on dev worlds; an operator's residential pool scattered one address per
  /24 holds 1-2, and stays in the ordinary projection);
* every shared exit of those networks is tested, cycles included;
* chance is what accounts drawing their exits from the network by the exits' popularity share:
  ``lambda = d_a * d_b * sum_e pi_e**2`` with ``pi_e = df_e / sum df`` (``1 / M`` for ``M`` equally
  popular exits); a pair sharing ``k`` exits is evidence when ``P(Poisson(lambda) >= k) < alpha``
  (:func:`graphlink.stages.burst_tails.poisson_tail_bound`, as the template bursts test their windows),
  and keeps the full weight of the exits it shares;
* with ``transient_floor`` > 0, every other pair keeps ``floor`` of that weight (the exits stay in the
  projection, cycles and all, scaled), the rest only as a *carrier*: weak kinds (a template, a user
  agent) may add up to the full weight (:func:`graphlink.stages.linking.combine_weights`' ``carry``),
  so a cell on the network is still tied by what it sends; the /24s of those networks (weak) weigh
  ``floor`` too -- two renters share them by chance as they share exits.

Measured on dev worlds (BENCHMARKS, session 47 op47): ARI by operator a1 0.34 -> 0.50, t1 0.32 -> 0.54,
benign accounts flagged down, but t1 lost recall (ring accounts tied to anything only by chance exits
end unclustered) and independent 177 ARI by cell (cells on the network held together by chance exits
fall apart along their cards): off by default.

Schemas: :func:`transient_exits` returns ``signal_idx, network_idx`` (UInt32);
:func:`excess_pairs` returns the candidate rows :func:`graphlink.stages.linking.link`
sums: ``key`` (UInt64, source * 2**32 + target), ``weight`` (Int64, units of
1 / ``WEIGHT_SCALE``), ``strong`` (True), ``joint`` (False).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.burst_tails import poisson_tail_bound
from graphlink.stages.linking import quantised
from graphlink.stages.signals.ip import parse_ip_frame

__all__ = ["transient_exits", "excess_pairs"]


def transient_exits(signals: pl.DataFrame, memberships: pl.DataFrame, share: float, clique_limit: int,
                    ipv4_prefix: int = 24, ipv6_prefix: int = 48, min_exits: int = 1) -> pl.DataFrame:
    """``signal_idx`` of the linked exact-address values inside transient networks.

    Parameters
    ----------
    signals : DataFrame
        ``signal_idx, kind, value, df, linked`` (:func:`graphlink.stages.graph.weigh_signals`).
    memberships : DataFrame
        ``account_idx, signal_idx, count`` (events of the account carrying the value).
    share : float
        A network whose median holder sends less than this share of its
        ``ip_net`` events there is transient.
    clique_limit : int
        Only exits held by at most this many accounts are handled here (the
        rest keep the ordinary projection).
    ipv4_prefix, ipv6_prefix : int
        The network sizes the ``ip_net`` signal was built with.
    min_exits : int
        A network counts only when it holds at least this many of those exits (1: every network).

    Returns
    -------
    DataFrame
        ``signal_idx`` (UInt32), one row per exit, and ``network_idx`` (UInt32): the ``signal_idx`` of the exit's
        network (its ``ip_net`` value).

    Examples
    --------
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip_net", "ip_net", "ip"],
    ...                     "value": ["1.2.3.0/24", "9.9.9.0/24", "1.2.3.4"], "df": [2, 2, 2],
    ...                     "linked": [True, True, True]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 0, 1, 0, 1], "signal_idx": [0, 0, 1, 1, 2, 2],
    ...                     "count": [1, 1, 99, 99, 1, 1]}, schema_overrides={"account_idx": pl.UInt32,
    ...                     "signal_idx": pl.UInt32, "count": pl.UInt32})
    >>> transient_exits(sig, mem, 0.05, 32)["signal_idx"].to_list()
    [2]
    """
    nets = signals.filter(pl.col("kind") == "ip_net").select("signal_idx", pl.col("value").alias("network"))
    held = memberships.join(nets, on="signal_idx").with_columns(
        (pl.col("count") / pl.col("count").sum().over("account_idx")).alias("share"))
    transient = held.group_by("network").agg(pl.col("share").median().alias("median")).filter(
        pl.col("median") < share)
    exits = signals.filter((pl.col("kind") == "ip") & pl.col("linked") & (pl.col("df") <= clique_limit))
    if exits.height == 0 or transient.height == 0:
        return pl.DataFrame(schema={"signal_idx": pl.UInt32, "network_idx": pl.UInt32})
    parsed = parse_ip_frame(exits.select("signal_idx", "value"), "value", ipv4_prefix, ipv6_prefix)
    if min_exits > 1:
        parsed = parsed.filter(pl.len().over("network") >= min_exits)
    return (parsed.join(transient, on="network", how="semi")
            .join(nets.select(pl.col("signal_idx").alias("network_idx"), "network"), on="network")
            .select(pl.col("signal_idx").cast(pl.UInt32), pl.col("network_idx").cast(pl.UInt32)).sort("signal_idx"))


def excess_pairs(members: pl.DataFrame, n_exits: int, min_shared: int = 2, alpha: float = 0.0) -> pl.DataFrame:
    """Pairs sharing transient exits, weighted by their excess over a configuration model.

    Parameters
    ----------
    members : DataFrame
        ``account_idx, signal_idx, weight, damp``: the affiliations of the
        exits :func:`transient_exits` chose (``weight`` = the value's per-pair weight).
    n_exits : int
        ``E``, the number of such exits.
    min_shared : int
        Pairs sharing fewer of these exits get nothing (``GraphConfig.transient_min_shared``).
    alpha : float
        0: the pair keeps ``max(0, 1 - lambda / k)`` of the weight, ``lambda = d_a d_b / E``. Above 0:
        the popularity-weighted chance test of the module docstring; a pair keeps all of the weight when
        ``P(Poisson(lambda) >= k) < alpha``, else nothing.

    Returns
    -------
    DataFrame
        ``key, weight, strong, joint`` (module docstring); pairs with no excess are absent.

    Examples
    --------
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 0, 1], "signal_idx": [5, 5, 6, 6], "weight": [1.0] * 4,
    ...                     "damp": [1.0] * 4}, schema_overrides={"account_idx": pl.UInt32})
    >>> excess_pairs(mem, 100)["weight"].to_list()[0] > 0
    True
    """
    degree = members.group_by("account_idx").agg(pl.len().alias("d"))
    rows = members.select("account_idx", "signal_idx", "weight", "damp").join(degree, on="account_idx")
    pairs = (
        rows.join(rows.select("signal_idx", pl.col("account_idx").alias("other"), pl.col("damp").alias("damp_other"),
                              pl.col("d").alias("d_other")), on="signal_idx")
        .filter(pl.col("account_idx") < pl.col("other"))
        .group_by("account_idx", "other")
        .agg((pl.col("weight") * pl.col("damp") * pl.col("damp_other")).sum().alias("w"), pl.len().alias("k"),
             pl.col("d").first(), pl.col("d_other").first())
    )
    if alpha > 0:
        df = members.group_by("signal_idx").agg(pl.len().cast(pl.Float64).alias("df"))["df"]
        s2 = float((df * df).sum()) / max(float(df.sum()), 1.0) ** 2
        expected = pl.col("d").cast(pl.Float64) * pl.col("d_other").cast(pl.Float64) * s2
        pairs = pairs.filter(pl.col("k") >= min_shared).with_columns(expected.alias("lam"))
        bound = poisson_tail_bound(pairs["k"].to_numpy(), np.maximum(pairs["lam"].to_numpy(), 1e-12))
        pairs = pairs.with_columns(pl.Series("sig", bound < np.log(alpha)))
        kept = pl.when(pl.col("sig")).then(1.0).otherwise(0.0)
    else:
        expected = pl.col("d").cast(pl.Float64) * pl.col("d_other").cast(pl.Float64) / max(n_exits, 1)
        kept = (pl.when(pl.col("k") >= min_shared).then((1.0 - expected / pl.col("k")).clip(lower_bound=0.0))
                .otherwise(0.0))
    return (
        pairs.with_columns((pl.col("w") * kept).alias("excess"))
        .filter(pl.col("excess") > 0)
        .select((pl.col("account_idx").cast(pl.UInt64) * 2**32 + pl.col("other").cast(pl.UInt64)).alias("key"),
                quantised(pl.col("excess")).alias("weight"), pl.lit(True).alias("strong"),
                pl.lit(False).alias("joint"))
    )
