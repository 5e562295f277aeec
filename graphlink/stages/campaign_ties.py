"""Private ties: clusters that share a card or a declared identifier more than chance gives.

:func:`graphlink.stages.campaigns.cluster_campaigns` weighs two clusters by the cosine of their value
profiles. A cell's profile spreads over its many cards, so two cells of one operator that share a
few of its cards have a cosine near 0 in that kind (BENCHMARKS.md, "Campaign grouping at a lower
resolution"), and the operator is split over dozens of campaigns. :func:`private_ties` weighs the
same pair by *what they share that few others hold, against chance*:

* Only private kinds count (:data:`graphlink.stages.campaigns.PRIVATE_TIE_KINDS` and user-declared
  identifier columns): a card is one payer's, so sharing one is the operator's doing, not its
  neighbourhood's. Addresses and templates do not: a commercial rotating proxy network gives each
  of its users exits as rare, pair by pair, as a private address (dev independent worlds: 12.6 % of
  cluster pairs of two operators share three or more exits held by no one else, against 6.9 % of
  pairs of one operator), and a public template is shared by operators who never met.
* Chance: were the holders of cluster ``A``'s values outside ``A`` spread over the log at random,
  cluster ``B`` (``n_B`` of the ``N`` accounts) would hold
  ``E = sum_v n_B x (df_v - a_v) / (N - n_A)`` of them -- a card held by a handful of accounts gives
  a few thousandths. A value whose term reaches 1 (a placeholder card thousands hold) chance gives
  ``B`` anyway: it is taken out of the shared count ``S`` and left out of ``E``
  (:func:`expected_shared`; in the mean, one such value held by one account per cell undid an
  operator's moved cards). Taken both ways, the weaker.
* Weight: the probability that chance gives *fewer* shared values than the ``S`` seen, under a
  Poisson law of mean ``E``: ``P(X < S)``. It lies in ``[0, 1)``, like the cosine it sits beside
  (the pair's similarity is the larger of the two), so CPM's ``campaign_resolution`` keeps its
  meaning: two cells of 20 in a log of 11,000, each with cards held by 10 accounts outside it, expect
  0.02 shared cards by chance, and one shared card weighs 0.98; two 300-account clusters in a log of
  4,500 with 40 such holders each expect 2.9, and one shared card weighs 0.06, five 0.84.
* Robustness: the shared values must be held by at least :data:`MIN_SIDE_HOLDERS` accounts on each
  side; a tie that one account makes (a stolen card, a placeholder) is no tie between clusters.

Output: ``source, target, weight`` (node numbers, ``source < target``), as the cosine edges.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["MIN_SIDE_HOLDERS", "chance_below", "expected_shared", "private_ties"]

#: A tie rests on at least this many accounts of each cluster holding the shared values. A tie one
#: account on either side makes is that account's link, not its cluster's: one ring account paying
#: with one employee's card, one carding-shop card in two rings, a placeholder card number typed once
#: per cell (session 18's break-it review: each made one campaign of two operators or of a ring and a
#: company). An operator moving cards between its cells moves them with their users. Two, because
#: it is the fewest for which removing any one account leaves the tie standing.
MIN_SIDE_HOLDERS = 2


def chance_below(shared: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``P(X < shared)`` for ``X`` Poisson of mean ``expected``, elementwise.

    Parameters
    ----------
    shared : ndarray of int, shape (m,)
        Values seen shared (``>= 0``).
    expected : ndarray of float, shape (m,)
        What chance gives (``>= 0``).

    Returns
    -------
    ndarray of float, shape (m,)
        In ``[0, 1]``: 0 when ``shared`` is 0.

    Examples
    --------
    >>> chance_below(np.array([0, 1, 1, 3]), np.array([0.1, 0.01, 2.0, 0.5])).round(3).tolist()
    [0.0, 0.99, 0.135, 0.986]
    """
    shared = np.asarray(shared, dtype=np.int64)
    expected = np.asarray(expected, dtype=np.float64)
    out = np.zeros(shared.size)
    term = np.exp(-expected)
    # Sum the Poisson terms k = 0 .. shared - 1; past 1,000 the sum is 1 for any mean a pair can have.
    for k in range(int(min(shared.max(initial=0), 1000))):
        out += np.where(k < shared, term, 0.0)
        term = term * expected / (k + 1)
    return np.clip(out, 0.0, 1.0)


def expected_shared(outside: pl.DataFrame, node: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What chance gives a cluster of cluster ``node``'s values: rare values in expectation, common ones counted.

    Parameters
    ----------
    outside : DataFrame
        ``node, out`` sorted by both: one row per value a cluster holds, ``out`` its holders outside it.
    node : ndarray of int, shape (m,)
        The cluster whose values are counted, per query.
    share : ndarray of float, shape (m,)
        The other cluster's share of the accounts outside ``node`` (``n_B / (N - n_A)``).

    Returns
    -------
    rare : ndarray of float, shape (m,)
        ``sum_v share x out_v`` over the values with ``share x out_v < 1``: a value held by ``out_v``
        accounts spread at random lands in the other cluster that often on average; the count of such
        values shared is about Poisson of this mean.
    common : ndarray of int, shape (m,)
        The values with ``share x out_v >= 1``: chance gives them to the other cluster anyway (a
        placeholder card a thousand hold), so each is no evidence when shared and the caller takes them
        out of the shared count -- counted in the mean instead, one such value would drown the cards a
        pair really shares (``n_B x 1,000 / N`` ~ 5 against 2).

    Examples
    --------
    >>> out = pl.DataFrame({"node": [0, 0, 0], "out": [2, 10, 1000]})
    >>> rare, common = expected_shared(out, np.array([0, 0]), np.array([0.01, 0.5]))
    >>> rare.round(3).tolist(), common.tolist()
    ([0.12, 0.0], [1, 3])
    """
    nodes = outside["node"].to_numpy().astype(np.float64)
    out = outside["out"].to_numpy().astype(np.float64)
    span = float(out.max(initial=0.0)) + 2.0
    key = nodes * span + out
    running = np.r_[0.0, np.cumsum(out)]
    start = np.searchsorted(key, node * span, side="left")
    end = np.searchsorted(key, node * span + span - 1.0, side="right")
    limit = np.minimum(1.0 / np.maximum(share, 1e-300), span - 1.0)  # values with out >= limit count 1 each
    cut = np.searchsorted(key, node * span + limit, side="left")
    return share * (running[cut] - running[start]), (end - cut).astype(np.int64)


def private_ties(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                 kinds: list[str], accounts: int, spare: int = 0) -> pl.DataFrame:
    """Cluster pairs sharing values of private ``kinds``, weighed against chance (module docstring).

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind, df, linked``: ``df`` is the value's holders in the whole log.
    kinds : list of str
        The private kinds (cards, user-declared identifiers).
    accounts : int
        Accounts in the log (``N``).
    spare : int
        Shared values left out of ``S`` before the chance test (default 0): with 1, the tie must stand
        without whichever one value it rests on most -- one card sold to two operators is not enough
        (:mod:`graphlink.stages.card_campaigns`).

    Returns
    -------
    DataFrame
        ``source, target`` (UInt32, ``source < target``), ``weight`` (Float64, ``P(X < S)``), one row
        per pair of clusters sharing at least one linked value of ``kinds``, held by at least
        :data:`MIN_SIDE_HOLDERS` accounts on each side.

    Examples
    --------
    Clusters 0 and 1 (5 accounts each, of 1,000) share a card held by 4 accounts: chance gives 0.01.

    >>> node_of = pl.DataFrame({"account_idx": list(range(10)), "node": [0] * 5 + [1] * 5, "size": [5] * 10},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 5, 6], "signal_idx": [0, 0, 0, 0]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0], "kind": ["payment"], "df": [4], "linked": [True]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> private_ties(node_of, aff, sig, ["payment"], 1000).with_columns(pl.col("weight").round(3)).rows()
    [(0, 1, 0.99)]

    Held by one account on each side (accounts 0 and 5), the card ties no one (:data:`MIN_SIDE_HOLDERS`).

    >>> private_ties(node_of, aff.filter(pl.col("account_idx").is_in([0, 5])), sig, ["payment"], 1000).height
    0
    """
    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    values = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx", "df")
    if values.is_empty() or node_of.is_empty():
        return empty
    held = (affiliations.select("account_idx", "signal_idx").join(values, on="signal_idx")
            .join(node_of, on="account_idx")
            .group_by("node", "signal_idx").agg(pl.len().alias("a"), pl.col("df").first(), pl.col("size").first(),
                                                pl.col("account_idx").min().alias("lo"),
                                                pl.col("account_idx").max().alias("hi")))
    # Each cluster's values by their holders outside it (what chance spreads over the rest of the log),
    # ascending, with running sums: the expected count of any pair is two searches (expected_shared).
    outside = held.select("node", (pl.col("df") - pl.col("a")).alias("out")).sort("node", "out")
    sizes = held.group_by("node").agg(pl.col("size").first())
    shared = held.filter(pl.len().over("signal_idx") >= 2).select("node", "signal_idx", "a", "lo", "hi")

    def holders(side: str) -> pl.Expr:
        # Two or more of the side's accounts hold the shared values: one holds two (a >= 2), or the
        # values' single holders are not all one account (smallest != largest).
        return (pl.col(f"a{side}").max() >= MIN_SIDE_HOLDERS) | (pl.col(f"lo{side}").min() != pl.col(f"hi{side}").max())

    pairs = (shared.join(shared, on="signal_idx", suffix="_b").filter(pl.col("node") < pl.col("node_b"))
             .group_by("node", "node_b").agg(pl.len().alias("shared"), holders("").alias("ok"), holders("_b").alias("ok_b"))
             .filter(pl.col("ok") & pl.col("ok_b")).drop("ok", "ok_b"))
    if pairs.is_empty():
        return empty
    rest = max(accounts, 1)
    pairs = (pairs.join(sizes, on="node").join(sizes, left_on="node_b", right_on="node", suffix="_b")
             .sort("node", "node_b"))
    node, node_b = pairs["node"].to_numpy().astype(np.int64), pairs["node_b"].to_numpy().astype(np.int64)
    size, size_b = pairs["size"].to_numpy().astype(np.float64), pairs["size_b"].to_numpy().astype(np.float64)
    shared_n = pairs["shared"].to_numpy().astype(np.int64)
    weight = np.ones(len(shared_n))
    for mine, other_share in ((node, size_b / np.maximum(rest - size, 1)), (node_b, size / np.maximum(rest - size_b, 1))):
        rare, common = expected_shared(outside, mine, other_share)
        # Values chance gives the other cluster at least once on average are no evidence: they leave S.
        weight = np.minimum(weight, chance_below(np.maximum(shared_n - common - spare, 0), rare))
    return pairs.select(pl.col("node").cast(pl.UInt32).alias("source"), pl.col("node_b").cast(pl.UInt32).alias("target"),
                        pl.Series("weight", weight, dtype=pl.Float64))
