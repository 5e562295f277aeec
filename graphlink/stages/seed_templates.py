"""The seeds' templates: an account that sends none of the prompt templates the seeds send leaves their list.

Used by :func:`graphlink.stages.expand.rank_accounts` last, after the clocks (reasoning and
measurements in BENCHMARKS.md, issue 15, "expand, seventh pass"). An operator writes its prompts
from a few templates of its own; cells of *different* operators on one shared proxy pool are tied
as densely by the pool as a cell is within, and a cell without a clock (uniform schedules) has
nothing else to tell them apart, so the list ran on into the other operators' cells. What those
accounts do not do is send the seeds' templates.

The templates are read from ``templates.parquet`` (each clustered account's templated prompt
shingles, :func:`graphlink.stages.drilldown.member_templates`; an unclustered account has no row
and is never judged). A shingle counts when at most :data:`MAX_TEMPLATE_SHARE` of the run's
accounts send it (a stock phrase everybody writes is no operator's). The seeds *keep templates*
when at least two have rows, most of each seed's shingles count, and each shares a counted
shingle with another seed (seeds writing freely, or a template much of the run sends, are not
tested). Then a
listed account with rows but no counted shingle any seed sends leaves the list. Template reuse
is the coordination signal of Pacheco et al. 2021 ("Uncovering coordinated networks on social
media: methods and case studies", shared text), read from the seeds instead of searched for.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaigns import AMBIENT_KINDS, PRIVATE_TIE_KINDS, TIE_KINDS

__all__ = ["MAX_TEMPLATE_SHARE", "MIN_OWN", "PUBLIC_KINDS", "apply_templates", "hold_prefix", "private_ties", "seed_templates"]

#: Kinds shared by accounts of several operators or cells (a proxy pool, a network, a template
#: family, a clock, a client, a sign-up hour or domain): holding a seed's value of one of these says
#: nothing about being the seeds' own. Any other kind (cards, user-declared identifiers) does: the
#: campaigns' rule (:data:`graphlink.stages.campaigns.AMBIENT_KINDS`, and the tie kinds that are not
#: private, :data:`~graphlink.stages.campaigns.PRIVATE_TIE_KINDS`).
PUBLIC_KINDS = AMBIENT_KINDS + tuple(k for k in TIE_KINDS if k not in PRIVATE_TIE_KINDS)

#: A shingle counts as a template when at most this share of the run's accounts send it: three seeds
#: sharing a phrase that common by chance is 1 in 1,000 (``0.1 ** 3``, the chance bound of
#: :data:`graphlink.stages.consensus.MAX_CHANCE`'s order).
MAX_TEMPLATE_SHARE = 0.1
#: ... and the seeds' templates are their own when at least this share of each seed's shingles
#: counts (half): seeds writing a template a large part of the run sends (a template family
#: several operators share) share only chance fill-ins beyond it, which most of their cell lacks.
#: Dev worlds (mixed 1000-1019, 614 cells): 557 without this condition (one cell lost: 1003/5, seeds
#: with 3-7 of 42-46 shingles counted), 558 with it, none lost (a majority, over half: 557, 1010/15
#: lost: a seed with exactly half).
MIN_OWN = 0.5


def private_ties(linking: pl.DataFrame, seeds: list[str]) -> pl.Series:
    """Accounts holding a value of a private kind (not in :data:`PUBLIC_KINDS`: a card) that a seed holds.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value`` (``linking.parquet``).
    seeds : list of str
        Seed account ids.

    Returns
    -------
    Series
        The holders' ids (the seeds among them), imploded into one list for ``is_in``.

    Examples
    --------
    >>> lk = pl.DataFrame({"account_id": ["s1", "a", "b"], "kind": ["payment", "payment", "ip"],
    ...                    "value": ["c1", "c1", "c1"]})
    >>> sorted(private_ties(lk, ["s1"]).explode().to_list())
    ['a', 's1']
    """
    private = linking.filter(~pl.col("kind").is_in(list(PUBLIC_KINDS))).select("account_id", "kind", "value")
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()
    seeds_values = private.filter(pl.col("account_id").is_in(seed_list)).select("kind", "value").unique()
    return private.join(seeds_values, on=["kind", "value"], how="semi")["account_id"].unique().implode()


def hold_prefix(ordered: pl.DataFrame, keep: int, leave: pl.Expr, seeds: list[str],
                linking: pl.DataFrame | None = None) -> tuple[pl.DataFrame, int]:
    """The listed accounts matching ``leave`` leave the list's prefix -- never a seed, nor a holder of a
    private value a seed holds (:func:`private_ties`, when ``linking`` is given).

    The one step behind every check that holds an ``expand`` list to the seeds' evidence (their
    templates, clients, registration batch).

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` rearranged (the kept prefix, the accounts leaving it, then the rest) and the new
        prefix length.

    Examples
    --------
    >>> o = pl.DataFrame({"account_id": ["s1", "a", "b", "c"]})
    >>> out, keep = hold_prefix(o, 3, pl.col("account_id").is_in(["s1", "a"]), ["s1"])
    >>> out["account_id"].to_list(), keep
    (['s1', 'b', 'a', 'c'], 2)
    """
    leave = leave & ~pl.col("account_id").is_in(pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode())
    if linking is not None and linking.height:
        leave = leave & ~pl.col("account_id").is_in(private_ties(linking, seeds))
    head, rest = ordered.head(keep), ordered.slice(keep)
    kept = head.filter(~leave)
    return pl.concat([kept, head.filter(leave), rest]), kept.height


def seed_templates(templates: pl.DataFrame, seeds: list[str], n_accounts: int,
                   max_share: float = MAX_TEMPLATE_SHARE) -> pl.DataFrame | None:
    """The counted shingles the seeds send, when they keep templates; else ``None``.

    Parameters
    ----------
    templates : DataFrame
        ``account_id, shingle, df`` rows of the seeds (other accounts' rows are ignored).
    seeds : list of str
        Seed account ids.
    n_accounts : int
        Accounts of the run (``df`` over this is a shingle's share).
    max_share : float
        :data:`MAX_TEMPLATE_SHARE`.

    Returns
    -------
    DataFrame or None
        ``shingle``: every counted shingle some seed sends, shape (n, 1); ``None`` when fewer than
        two seeds have rows, or less than :data:`MIN_OWN` of a seed's shingles count, or a seed shares
        no counted shingle with another seed.

    Examples
    --------
    >>> rows = [("s1", "step by step", 3), ("s2", "step by step", 3), ("s3", "show your work", 2),
    ...         ("s3", "step by step", 3), ("s1", "hello there", 900)]
    >>> t = pl.DataFrame(rows, schema=["account_id", "shingle", "df"], orient="row")
    >>> sorted(seed_templates(t, ["s1", "s2", "s3"], 1000)["shingle"].to_list())
    ['show your work', 'step by step']
    >>> seed_templates(t.filter(pl.col("shingle") != "step by step"), ["s1", "s2", "s3"], 1000) is None
    True
    """
    own = templates.filter(pl.col("account_id").is_in(pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()))
    active = own["account_id"].n_unique()
    rare = pl.col("df") <= max_share * n_accounts
    if active < 2 or own.group_by("account_id").agg(rare.mean().alias("own"))["own"].min() < MIN_OWN:
        return None
    counted = own.filter(rare).select("account_id", "shingle").unique()
    held = counted.group_by("shingle").agg(pl.len().alias("seeds"))
    shared = counted.join(held, on="shingle").group_by("account_id").agg((pl.col("seeds") >= 2).any().alias("tied"))
    if shared.height < active or not shared["tied"].all():
        return None
    return counted.select("shingle").unique().sort("shingle")


def apply_templates(ordered: pl.DataFrame, keep: int, templates: pl.DataFrame | pl.LazyFrame | None,
                    seeds: list[str], n_accounts: int, max_share: float = MAX_TEMPLATE_SHARE,
                    linking: pl.DataFrame | None = None) -> tuple[pl.DataFrame, int]:
    """Hold an ``expand`` list to the seeds' templates, when they keep some (:func:`seed_templates`).

    Listed non-seed accounts with rows in ``templates`` but none of the seeds' counted shingles
    leave the list (they follow it, in their order); accounts without rows are never judged, nor
    accounts holding a card or identifier a seed holds (``linking``): an operator writes from several
    templates, and one paying with the seeds' card is theirs whatever it writes (break-it review: a
    ring of two templates on one card pool lost the half writing the other).

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    templates : DataFrame, LazyFrame or None
        ``templates.parquet`` (``account_id, cluster_id, shingle, df``); ``None``: no test.
    seeds : list of str
        The seed ids.
    n_accounts : int
        Accounts of the run.
    max_share : float
        :data:`MAX_TEMPLATE_SHARE`.
    linking : DataFrame, optional
        ``linking.parquet`` (``account_id, kind, value``): holders of a seed's value of a private kind
        (any kind not in :data:`PUBLIC_KINDS`: cards, user-declared identifiers) are never judged.

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` rearranged (the kept prefix, the accounts leaving it, then the rest) and the new
        prefix length; unchanged when the seeds keep no templates.

    Examples
    --------
    Seeds s1-s3 and ``a`` send one template; ``b`` (listed) another operator's; ``c`` has no rows.

    >>> rows = [(s, 1, "think step by step", 4) for s in ("s1", "s2", "s3", "a")] + [("b", 1, "translate this", 9)]
    >>> t = pl.DataFrame(rows, schema=["account_id", "cluster_id", "shingle", "df"], orient="row")
    >>> ordered = pl.DataFrame({"account_id": ["s1", "s2", "s3", "b", "a", "c"]})
    >>> out, keep = apply_templates(ordered, 6, t, ["s1", "s2", "s3"], 100)
    >>> out["account_id"].to_list()[:keep]
    ['s1', 's2', 's3', 'a', 'c']
    """
    if templates is None:
        return ordered, keep
    lazy = templates.lazy().select("account_id", "shingle", "df")
    seed_list = pl.Series(list(dict.fromkeys(seeds)), dtype=pl.String).implode()
    common = seed_templates(lazy.filter(pl.col("account_id").is_in(seed_list)).collect(), seeds, n_accounts, max_share)
    if common is None:
        return ordered, keep
    rows = lazy.filter(pl.col("account_id").is_in(ordered.head(keep)["account_id"].implode())).collect()
    judged = rows["account_id"].unique().implode()
    sending = rows.join(common, on="shingle", how="semi")["account_id"].unique().implode()
    leave = pl.col("account_id").is_in(judged) & ~pl.col("account_id").is_in(sending)
    return hold_prefix(ordered, keep, leave, seeds, linking)
