"""The seeds' narrowest common address as the tie of an ``expand`` list, across detect's clusters.

Used by :func:`graphlink.stages.expand.rank_accounts` (reasoning and measurements in BENCHMARKS.md, issue 15,
"expand, tenth pass"). From three accounts of one cell, an investigator takes as the cell the accounts tied to
the seeds by a value specific to the seeds' group: an address every seed used and few others did (a cell's own
IPv6 /48, its residential or datacenter addresses), not the values the seeds share with their operator's other
cells (a card of the operator's pool, its clients, its proxy pool). Two things kept such a cell short: the
walk and the sweep follow detect's account graph and clusters, and a value too weak on its own to make a link
(a /48 whose holders share nothing else) or a cell that Leiden split over several clusters (a conductance
minimum at the first cluster's edge) ended the list part-way through the cell.

* :func:`own_value_holders`: among the values every seed holds (the seeds' consensus,
  :func:`graphlink.stages.consensus.consensus_values`) of :data:`OWN_KINDS`, the narrowest (fewest holders)
  is the seeds' group's; its holders are ranked by their evidence even where the walk does not reach them.
  A broader such value (an address of the proxy pool the operator's cells share) is the campaign's.
* :func:`fill_own`: those holders join the list after the sweep and the cluster completions, whatever
  cluster they are in; the later vetoes (the seeds' clock, templates, clients and registration batch) still
  apply to them.

The consensus test already bounds how common the value can be (:data:`graphlink.stages.consensus.MAX_CHANCE`):
three seeds sharing it by chance must be unlikely.
"""

from __future__ import annotations

import polars as pl

__all__ = ["OWN_KINDS", "fill_own", "own_value_holders"]

#: Kinds of value a cell holds as its own: its addresses (an IP, a /24 or an IPv6 /48 network). Clients,
#: creation hours and mail domains are a fleet's, a batch's or a crowd's and link nobody on their own
#: (:mod:`graphlink.stages.expand`). Cards are not counted either: a card every seed pays with may be
#: their operator's pool card, held by sibling cells Leiden kept apart, which the fall out of the seeds'
#: cluster ends the list before (:func:`graphlink.stages.seed_cluster.outside_seed_cluster`); on dev, 7 % of
#: the holders of a narrowest card were not the cell's, against 0.3 % of an address's. Dev worlds (mixed
#: 1000-1019, 614 cells, BENCHMARKS.md "expand, tenth pass"): 578 -> 585 cells at recall and precision
#: >= 0.9, none lost, with or without cards.
OWN_KINDS = ("ip", "ip_net")


def own_value_holders(linking: pl.DataFrame, shared: pl.DataFrame, kinds: tuple[str, ...] = OWN_KINDS) -> pl.Series:
    """Holders of the narrowest value of ``kinds`` every seed holds: the seeds' group's own address.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``: ``df`` how many accounts of the run hold the value).
    shared : DataFrame
        ``kind, value``: the seeds' consensus values (:func:`graphlink.stages.consensus.consensus_values`).
    kinds : tuple of str
        :data:`OWN_KINDS`.

    Returns
    -------
    Series
        ``account_id`` (str) of every holder of the value(s) of ``kinds`` in ``shared`` held by the fewest
        accounts (ties: all of them), seeds included, unique; empty when ``shared`` has no such value.

    Examples
    --------
    Every seed used the /48 ``p`` (4 holders) and the proxy ``q`` (6): ``p`` is the group's.

    >>> lk = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "s1", "s2", "a", "x", "y", "z"],
    ...                    "kind": ["ip_net"] * 4 + ["ip"] * 6, "value": ["p"] * 4 + ["q"] * 6,
    ...                    "df": [4] * 4 + [6] * 6})
    >>> sorted(own_value_holders(lk, pl.DataFrame({"kind": ["ip_net", "ip"], "value": ["p", "q"]})))
    ['a', 'b', 's1', 's2']
    """
    own = shared.filter(pl.col("kind").is_in(list(kinds))).select("kind", "value")
    if own.is_empty():
        return pl.Series("account_id", [], dtype=pl.String)
    held = linking.join(own, on=["kind", "value"], how="semi")
    # A broader value every seed holds is their operator's (a proxy its sibling cells use too), not the group's.
    return held.filter(pl.col("df") == pl.col("df").min())["account_id"].unique().sort()


def fill_own(ordered: pl.DataFrame, keep: int, holders: pl.Series) -> tuple[pl.DataFrame, int]:
    """List the ``holders`` of the seeds' own address (:func:`own_value_holders`) not yet listed, after the prefix.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    holders : Series
        Account ids (str).

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` with the holders past the prefix moved right after it (in their order), and the new
        prefix length. Holders absent from ``ordered`` are not added.

    Examples
    --------
    >>> order = pl.DataFrame({"account_id": ["s1", "a", "x", "b"]})
    >>> out, keep = fill_own(order, 2, pl.Series(["a", "b"]))
    >>> out["account_id"].to_list()[:keep]
    ['s1', 'a', 'b']
    """
    if holders.is_empty():
        return ordered, keep
    is_holder = pl.col("account_id").is_in(holders.cast(pl.String).implode())
    head, rest = ordered.head(keep), ordered.slice(keep)
    extra = rest.filter(is_holder)
    return pl.concat([head, extra, rest.filter(~is_holder)]), keep + extra.height
