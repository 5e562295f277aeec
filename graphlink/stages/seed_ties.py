"""The seeds' narrowest common address as the tie of an ``expand`` list, across detect's clusters.

Used by :func:`graphlink.stages.expand.rank_accounts` (reasoning and measurements in BENCHMARKS.md, issue 15,
"expand, eleventh pass"; the tenth pass's version was reverted after a break-it review). From three accounts of
one cell, an investigator takes as the cell the accounts tied to the seeds by a value specific to the seeds'
group: an address every seed used and few others did (a cell's own IPv6 /48, its residential or datacenter
addresses). Two things kept such a cell short: the walk and the sweep follow detect's account graph and clusters,
and a value too weak on its own to make a link (a /48 whose holders share nothing else) or a cell Leiden split
over several clusters (a conductance minimum at the first cluster's edge) ended the list part-way through it.

An address is a place, not a person: a hosting provider's /24 or an ISP's /48 also holds the provider's other
customers and the neighbouring households, whom nothing else ties to the seeds. So:

* :func:`own_value_holders`: the narrowest value of :data:`OWN_KINDS` every seed holds (the seeds' consensus,
  :func:`graphlink.stages.consensus.consensus_values`) names the seeds' group, but **a network alone adds no
  one**: of the holders of a /24 or /48 only those that also hold a consensus value of another kind (the seeds'
  card, client, registration batch; not a sign-up hour of their span), or sit in a seed's Leiden cluster, are
  ranked where the walk does not reach them.
* :func:`fill_own`: those holders join the list after the sweep and the cluster completions **only when the
  list already holds** :data:`MIN_OWN_SHARE` **of the address's holders** (a 12-account list beside 40 other
  customers of its /24 is the block, not the cell), and **never past the fall out of the seeds' cluster**: when
  that stop (:func:`graphlink.stages.seed_cluster.outside_seed_cluster`) ended the list, the accounts outside the
  cluster the walk reached stay off (a sibling cell on the operator's pool proxy). The later vetoes (the seeds'
  clock, templates, clients and registration batch) still apply.
* :func:`own_reasons`: an account the fill listed says so in ``why`` (and whether the walk reached it).
"""

from __future__ import annotations

import polars as pl

from graphlink.config.kinds import kind_name
from graphlink.stages.consensus import TIME_KINDS

__all__ = ["MIN_OWN_SHARE", "NETWORK_KINDS", "OWN_KINDS", "cluster_stopped", "fill_own",
           "own_reasons", "own_value_holders"]

#: Kinds of value a cell holds as its own: its addresses (an IP, a /24 or an IPv6 /48 network). Cards are not
#: counted: a card every seed pays with may be their operator's pool card, held by sibling cells Leiden kept
#: apart (tenth pass, dev: 7 % of the holders of a narrowest card were not the cell's, 0.3 % of an address's).
OWN_KINDS = ("ip", "ip_net")
#: Of :data:`OWN_KINDS`, the networks: a place many unrelated accounts share (a hosting provider's /24, an ISP's
#: /48), which detect lets only reinforce a link (``strong=False``). Their holders need a second tie to the seeds
#: (:func:`own_value_holders`); one address (``ip``) is a link of its own in detect, and its holders do not.
NETWORK_KINDS = ("ip_net",)
#: The fill lists the address's eligible holders only when the list (seeds included) already holds at least
#: this share of all the address's holders: then the address is the list's, and the rest of its holders are the
#: part of the cell the walk or the sweep missed; below it, the address is a block the list is a corner of
#: (break-it review of the tenth pass: 12 cell accounts beside 40 hosting customers on one /24). A majority.
#: Dev (mixed 1000-1019, 614 cells, BENCHMARKS.md "expand, eleventh pass"): 585 cells at 1/3 and 1/2, 583 at
#: 2/3 (1003/4 and 1019/7, cells Leiden split, listed 22 of 41 and 49 of 92 before the fill), 579 without a fill.
MIN_OWN_SHARE = 0.5

#: Not a second tie: being in a Leiden cluster made mostly of the network's holders (the eleventh pass's
#: ``MIN_CLUSTER_HOLDERS``, removed after its break-it review: every family an ISP's /48 serves is such a
#: cluster, on its home address and card, and the fill listed them as the cell; dev 585 -> 582 cells), nor
#: a sign-up hour of the seeds' span (:data:`graphlink.stages.consensus.TIME_KINDS`: held by up to ~5 % of
#: the run by the chance test, neighbours who signed up the same morning hold one).

_EMPTY = pl.DataFrame(schema={"account_id": pl.String, "cluster_id": pl.Int64, "eligible": pl.Boolean})


def own_value_holders(linking: pl.DataFrame, shared: pl.DataFrame, accounts: pl.DataFrame, seeds: list[str],
                      kinds: tuple[str, ...] = OWN_KINDS) -> tuple[pl.DataFrame, int, str]:
    """Holders of the seeds' narrowest common address that something besides the address ties to the seeds.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``: ``df`` how many accounts of the run hold the value).
    shared : DataFrame
        ``kind, value``: the seeds' consensus values (:func:`graphlink.stages.consensus.consensus_values`).
    accounts : DataFrame
        ``account_id, cluster_id`` of every account of the run (``cluster_id`` null: unclustered).
    seeds : list of str
        The seed ids.
    kinds : tuple of str
        :data:`OWN_KINDS`.

    Returns
    -------
    tuple of (DataFrame, int, str)
        ``account_id, cluster_id, eligible`` of every holder (seeds included, unique, in id order) of the
        value(s) of ``kinds`` in ``shared`` held by the fewest accounts (ties: all of them); ``eligible``: the
        holder holds such a value that is not a network (:data:`NETWORK_KINDS`), or a value of ``shared`` of
        another kind than ``kinds`` and :data:`graphlink.stages.consensus.TIME_KINDS`, or its cluster is a
        seed's, or it is a seed.
        Then how many accounts hold that value (``df``; 0 without one) and its text (``"kind value"``; empty
        without one).

    Examples
    --------
    Every seed used the /48 ``p`` (4 holders) and the proxy ``q`` (6) and runs client ``u``: ``p`` is the
    group's; ``a`` runs ``u`` too, ``b`` holds only ``p`` and its cluster is mostly other accounts.

    >>> lk = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "s1", "s2", "a", "x", "y", "z", "s1", "s2", "a"],
    ...                    "kind": ["ip_net"] * 4 + ["ip"] * 6 + ["user_agent"] * 3,
    ...                    "value": ["p"] * 4 + ["q"] * 6 + ["u"] * 3, "df": [4] * 4 + [6] * 6 + [3] * 3})
    >>> acc = pl.DataFrame({"account_id": ["s1", "s2", "a", "b", "x", "y", "z"], "cluster_id": [1, 1, 2, 4, 4, 4, 4]})
    >>> held, df, text = own_value_holders(lk, pl.DataFrame({"kind": ["ip_net", "ip", "user_agent"],
    ...                                                       "value": ["p", "q", "u"]}), acc, ["s1", "s2"])
    >>> held.filter("eligible")["account_id"].to_list(), held.height, df, text
    (['a', 's1', 's2'], 4, 4, 'IP network p')
    """
    own = shared.filter(pl.col("kind").is_in(list(kinds))).select("kind", "value")
    if own.is_empty():
        return _EMPTY, 0, ""
    held = linking.join(own, on=["kind", "value"], how="semi")
    # A broader value every seed holds is their operator's (a proxy its sibling cells use too), not the group's.
    narrowest = held.filter(pl.col("df") == pl.col("df").min())
    df = int(narrowest["df"].max())
    first = narrowest.sort("kind", "value").row(0, named=True)
    # A second tie: a value every seed holds that is not an address nor a sign-up hour (a card, a client).
    other = shared.filter(~pl.col("kind").is_in(list(kinds) + list(TIME_KINDS))).select("kind", "value")
    tied = linking.join(other, on=["kind", "value"], how="semi")["account_id"].implode()
    seed_list = pl.Series(seeds, dtype=pl.String).implode()
    seed_clusters = (accounts.filter(pl.col("account_id").is_in(seed_list))["cluster_id"].cast(pl.Int64)
                     .drop_nulls().implode())
    holders = (narrowest.group_by("account_id").agg(pl.col("kind").is_in(list(NETWORK_KINDS)).all().alias("network"))
               .join(accounts.select("account_id", pl.col("cluster_id").cast(pl.Int64)), on="account_id", how="left"))
    holders = (holders.with_columns((~pl.col("network") | pl.col("account_id").is_in(tied)
                                     | pl.col("cluster_id").is_in(seed_clusters)
                                     | pl.col("account_id").is_in(seed_list)).fill_null(False).alias("eligible"))
               .drop("network").sort("account_id"))
    return holders, df, f"{kind_name(first['kind'])} {first['value']}"


def cluster_stopped(ordered: pl.DataFrame, keep: int, outside: pl.Series, n_seeds: int, tier_drop: float,
                    min_probability: float) -> pl.Series:
    """The accounts the fall out of the seeds' cluster ended the list before (``expand.sweep_cut``'s stop).

    Parameters
    ----------
    ordered : DataFrame
        ``account_id, evidence, p`` in sweep order, seeds first (``p``: the walk's visit probability, 0 unreached).
    keep : int
        Length of the listed prefix the sweep kept (seeds included).
    outside : Series
        :func:`graphlink.stages.seed_cluster.outside_seed_cluster` of ``ordered`` (bool, same order).
    n_seeds : int
        How many seeds lead ``ordered``.
    tier_drop : float
        :data:`graphlink.stages.expand.TIER_DROP`.
    min_probability : float
        :data:`graphlink.stages.expand.MIN_PROBABILITY`: the walk reached an account at this ``p`` or more.

    Returns
    -------
    Series
        When the first account past the prefix is outside the seeds' cluster and holds evidence at most
        ``1 / tier_drop`` of the best listed (the stop's condition): the ids (str) of every account past the
        prefix outside the cluster that the walk reached (the links and values that end there are the
        operator's); otherwise empty. Accounts the walk never reached were not judged by the stop.

    Examples
    --------
    >>> order = pl.DataFrame({"account_id": ["s", "a", "b", "c"], "evidence": [0.0, 4.0, 1.0, 1.0],
    ...                       "p": [0.5, 0.2, 0.1, 0.0]})
    >>> cluster_stopped(order, 2, pl.Series([False, False, True, True]), 1, 2.0, 1e-6).to_list()
    ['b']
    >>> cluster_stopped(order, 2, pl.Series([False, False, False, True]), 1, 2.0, 1e-6).to_list()
    []
    """
    none = pl.Series("account_id", [], dtype=pl.String)
    if keep >= ordered.height or not bool(outside[keep]):
        return none
    after = float(ordered["evidence"][keep])
    best = float(ordered["evidence"].slice(n_seeds, max(keep - n_seeds, 0)).max() or 0.0)
    if not 0.0 < after * tier_drop <= best:
        return none
    rest = ordered.with_columns(outside.alias("outside")).slice(keep)
    return rest.filter(pl.col("outside") & (pl.col("p") >= min_probability))["account_id"]


def fill_own(ordered: pl.DataFrame, keep: int, holders: pl.DataFrame, df: int, ended: pl.Series,
             unreached: pl.DataFrame | None = None,
             min_share: float = MIN_OWN_SHARE) -> tuple[pl.DataFrame, int, pl.Series]:
    """List the eligible ``holders`` of the seeds' own address not yet listed, after the prefix.

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    holders : DataFrame
        ``account_id, cluster_id, eligible``: :func:`own_value_holders` (all the address's holders; only the
        eligible are listed).
    df : int
        How many accounts of the run hold the address.
    ended : Series
        :func:`cluster_stopped`: ids the fall out of the seeds' cluster ended the list before; never listed here.
    unreached : DataFrame, optional
        Rows of accounts the walk did not reach, ``ordered``'s columns, in its order: its eligible holders are
        listed too (after the reached ones). They are never in ``ordered`` itself, so neither the sweep nor
        ``top`` lists them: an unreached holder is listed by this fill only.
    min_share : float
        :data:`MIN_OWN_SHARE`: the listed prefix must already hold this share of the ``df`` holders.

    Returns
    -------
    tuple of (DataFrame, int, Series)
        ``ordered`` with the holders past the prefix (and those of ``unreached``) right after it, in their
        order, the new prefix length, and the ids moved (str).

    Examples
    --------
    >>> order = pl.DataFrame({"account_id": ["s1", "a", "x", "b"]})
    >>> acc = pl.DataFrame({"account_id": ["s1", "a", "x", "b"], "cluster_id": [1, 1, None, 2]})
    >>> held = acc.filter(pl.col("account_id") != "x").with_columns(eligible=True)
    >>> out, keep, moved = fill_own(order, 2, held, 3, pl.Series([], dtype=pl.String))
    >>> out["account_id"].to_list()[:keep], moved.to_list()
    (['s1', 'a', 'b'], ['b'])
    >>> fill_own(order, 2, held, 5, pl.Series([], dtype=pl.String))[1]  # 2 of the address's 5 holders listed
    2
    >>> fill_own(order, 2, held, 3, pl.Series(["x", "b"]))[1]  # the fall out of the seeds' cluster ended b
    2
    """
    none = pl.Series("account_id", [], dtype=pl.String)
    if holders.is_empty() or df <= 0:
        return ordered, keep, none
    head, rest = ordered.head(keep), ordered.slice(keep)
    if head.filter(pl.col("account_id").is_in(holders["account_id"].implode())).height < min_share * df:
        return ordered, keep, none  # the list is a corner of the address's holders: a block, not the cell
    holders = holders.filter("eligible")
    # What the fall out of the seeds' cluster ended stays ended (a sibling cell on the operator's pool proxy).
    holders = holders.filter(~pl.col("account_id").is_in(ended.cast(pl.String).implode()))
    move = pl.col("account_id").is_in(holders["account_id"].implode())
    if unreached is not None:  # never swept: listed here or not at all
        rest = pl.concat([rest, unreached.filter(move).select(rest.columns)])
    extra = rest.filter(move)
    return pl.concat([head, extra, rest.filter(~move)]), keep + extra.height, extra["account_id"]


def own_reasons(reasons: pl.DataFrame, moved: pl.Series | None, reached: pl.Series, text: str, df: int) -> pl.DataFrame:
    """``account_id, why`` with the accounts :func:`fill_own` listed saying so, before their ties.

    Parameters
    ----------
    reasons : DataFrame
        ``account_id, why`` (:func:`graphlink.stages.expand_reasons.tie_reasons`).
    moved : Series or None
        Ids listed by :func:`fill_own` (``None``: it did not run).
    reached : Series
        Ids the walk reached (personalised PageRank above its floor).
    text, df : str, int
        The address (``"kind value"``) and how many accounts hold it.

    Returns
    -------
    DataFrame
        ``reasons`` with ``why`` of each moved account prefixed ``"added for the seeds' narrowest common address
        <text> (<df> accounts)[, not reached through links]: "``.

    Examples
    --------
    >>> r = pl.DataFrame({"account_id": ["a", "b"], "why": ["shares x", "shares y"]})
    >>> own_reasons(r, pl.Series(["b"]), pl.Series(["a"]), "IP network p", 4)["why"].to_list()[1]
    "added for the seeds' narrowest common address IP network p (4 accounts), not reached through links: shares y"
    """
    if moved is None or moved.is_empty():
        return reasons
    lead = pl.format("added for the seeds' narrowest common address {} ({} accounts){}: ", pl.lit(text), pl.lit(df),
                     pl.when(pl.col("account_id").is_in(reached.implode())).then(pl.lit(""))
                     .otherwise(pl.lit(", not reached through links")))
    return reasons.with_columns(pl.when(pl.col("account_id").is_in(moved.implode()))
                                .then(lead + pl.col("why").fill_null("")).otherwise(pl.col("why")).alias("why"))
