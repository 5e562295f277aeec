"""The seeds' clients: an account using clients but none the seeds all use leaves their list.

Used by :func:`graphlink.stages.expand.rank_accounts` after the templates (reasoning and
measurements in BENCHMARKS.md, issue 15, "expand, eighth pass"). An operator runs its accounts
from its own scripts, so they announce its clients (``user_agent``); cells of *another* operator on
a shared proxy pool are tied to the seeds as densely as the seeds' own cell, and where the seeds
keep no clock and the operators write alike, the list ran on into them. A client every seed uses is
too common to be evidence of who *is* in the ring (three seeds sharing a client a few per cent of
the run uses is not unlikely enough for :data:`graphlink.stages.consensus.MAX_CHANCE`), but an
account that uses clients and *none* of the seeds' common ones is running someone else's scripts.

The clients are read from ``linking.parquet`` (every account of the run has rows there, so
unclustered accounts are judged too; an account with no client row is not). A client counts when
every seed uses it and at most :data:`MAX_CLIENT_SHARE` of the run's accounts do (a browser string
half the run sends says nothing about an operator). Accounts holding a card or identifier a seed
holds are never judged (:data:`graphlink.stages.seed_templates.PUBLIC_KINDS`: one paying with the
seeds' card is theirs whatever client it runs), nor are those firing in the seeds' minutes beyond chance and
beyond their own schedule (:mod:`graphlink.stages.seed_minutes`): an operator may spread its fleet over several
scripts, and seeds all on one of them by chance do not make the rest strangers. This is the consistency test of a set-expansion
query (Ghahramani & Heller 2005, "Bayesian sets": a feature every query item has, which a candidate
lacks, counts against it), applied to one kind as a veto.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.seed_templates import hold_prefix

__all__ = ["CLIENT_KINDS", "MAX_CLIENT_SHARE", "apply_clients", "client_rows", "seed_clients"]

#: Kinds whose values are the client software an account runs (its scripts' HTTP library, an SDK).
CLIENT_KINDS = ("user_agent",)
#: A client every seed uses counts when at most this share of the run's accounts use it: three seeds
#: of a cell sharing a client that common by chance is 1 in 64 (``0.25 ** 3``), and a quarter is well
#: below the popular browser strings and SDKs ordinary users share. Dev worlds (mixed 1000-1019, 614
#: cells; BENCHMARKS.md "expand, eighth pass"): 558 cells at recall and precision >= 0.9 without the
#: test, 564 at a quarter and at a half, 562 at a tenth (an operator's two clients held by 9 and 13 % of
#: the run: only the rarer counted, and members running only the other left).
MAX_CLIENT_SHARE = 0.25


def seed_clients(linking: pl.DataFrame, seeds: list[str], n_accounts: int,
                 max_share: float = MAX_CLIENT_SHARE, kinds: tuple[str, ...] = CLIENT_KINDS) -> pl.DataFrame | None:
    """``kind, value`` of the clients every seed uses and at most ``max_share`` of the run; ``None`` if none.

    Parameters
    ----------
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``).
    seeds : list of str
        Seed account ids (at least two, else ``None``).
    n_accounts : int
        Accounts of the run (``df`` over this is a client's share).
    max_share : float
        :data:`MAX_CLIENT_SHARE`.
    kinds : tuple of str
        :data:`CLIENT_KINDS`.

    Returns
    -------
    DataFrame or None
        Shape (n, 2), sorted; ``None`` when fewer than two seeds are given or no client qualifies.

    Examples
    --------
    >>> rows = [(s, "user_agent", "axios/1.6", 40) for s in ("s1", "s2", "s3")] + [("s1", "user_agent", "curl/8", 9)]
    >>> lk = pl.DataFrame(rows, schema=["account_id", "kind", "value", "df"], orient="row")
    >>> seed_clients(lk, ["s1", "s2", "s3"], 1000).rows()
    [('user_agent', 'axios/1.6')]
    >>> seed_clients(lk, ["s1", "s2", "s3"], 100) is None   # 40 % of the run: a crowd's client
    True
    """
    seed_list = list(dict.fromkeys(seeds))
    if len(seed_list) < 2:
        return None
    rows = client_rows(linking.filter(pl.col("account_id").is_in(pl.Series(seed_list, dtype=pl.String).implode())
                                      & pl.col("kind").is_in(list(kinds)) & (pl.col("df") <= max_share * n_accounts)))
    common = (rows.group_by("kind", "client").agg(pl.col("account_id").n_unique().alias("k"), pl.col("value").min())
              .filter(pl.col("k") == len(seed_list)).select("kind", "value").sort("kind", "value"))
    return common if common.height else None


def client_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``kind, value``, ...) with ``client``: the value's key (:func:`graphlink.stages.campaign_clients.client_keys`:
    one client written apart -- case, invisible characters, full-width or look-alike letters -- is one client)."""
    from graphlink.stages.campaign_clients import client_keys

    values = rows.select("value").unique().sort("value").with_row_index("signal_idx")
    keys = client_keys(values).join(values, on="signal_idx").select("value", "client")
    return rows.join(keys, on="value", how="left", maintain_order="left")


def apply_clients(ordered: pl.DataFrame, keep: int, linking: pl.DataFrame, seeds: list[str], n_accounts: int,
                  max_share: float = MAX_CLIENT_SHARE, kinds: tuple[str, ...] = CLIENT_KINDS,
                  clocked: pl.Series | None = None) -> tuple[pl.DataFrame, int]:
    """Hold an ``expand`` list to the seeds' common clients (:func:`seed_clients`), when they have some.

    Listed non-seed accounts with rows of ``kinds`` but none of the seeds' common clients leave the
    list (they follow it, in their order). Never judged: accounts without such rows, accounts holding a
    private value a seed holds (a card), and the ``clocked`` accounts (firing in the seeds' minutes beyond
    chance and beyond their own schedule): an operator spreading its fleet over several scripts, three seeds
    on one of them by chance do not make the others strangers when they fire in its bursts (bundled fixture,
    whose rings run one of two scripts per account: 2 seeds found their ring in 46 of 100 draws without it,
    100 with; BENCHMARKS.md, "expand, twelfth pass"). A card a listed account on the seeds' client shares is
    no such evidence (break-it review: one marketplace card, or a team's corporate card, carried another
    operator or a team in).

    Parameters
    ----------
    ordered : DataFrame
        ``account_id`` first column, seeds first, in rank order.
    keep : int
        Length of the listed prefix (seeds included).
    linking : DataFrame
        ``account_id, kind, value, df`` (``linking.parquet``).
    seeds, n_accounts, max_share, kinds
        As :func:`seed_clients`.
    clocked : Series of str, optional
        Accounts firing in the seeds' minutes beyond chance (the ids of
        :func:`graphlink.stages.seed_minutes.apply_minute_clock`'s third result).

    Returns
    -------
    tuple of (DataFrame, int)
        ``ordered`` rearranged (the kept prefix, the accounts leaving it, then the rest) and the new
        prefix length; unchanged when the seeds have no common client.

    Examples
    --------
    Seeds and ``a`` run ``axios``; ``b`` (listed) runs another client; ``c`` has no client row.

    >>> rows = [(x, "user_agent", "axios/1.6", 4) for x in ("s1", "s2", "a")] + [("b", "user_agent", "Go/2", 9)]
    >>> lk = pl.DataFrame(rows, schema=["account_id", "kind", "value", "df"], orient="row")
    >>> out, keep = apply_clients(pl.DataFrame({"account_id": ["s1", "s2", "b", "a", "c"]}), 5, lk, ["s1", "s2"], 100)
    >>> out["account_id"].to_list()[:keep]
    ['s1', 's2', 'a', 'c']
    """
    common = seed_clients(linking, seeds, n_accounts, max_share, kinds)
    if common is None:
        return ordered, keep
    listed = ordered.head(keep)["account_id"].implode()
    rows = client_rows(linking.filter(pl.col("kind").is_in(list(kinds)) & pl.col("account_id").is_in(listed)))
    # By key: an account writing the seeds' client apart runs it (break-it review, session 49).
    using = rows.join(client_rows(common).select("kind", "client"), on=["kind", "client"], how="semi")["account_id"].unique()
    spared = pl.concat([using, pl.Series("account_id", [] if clocked is None else clocked, dtype=pl.String)])
    leave = pl.col("account_id").is_in(rows["account_id"].unique().implode()) & ~pl.col("account_id").is_in(spared.implode())
    return hold_prefix(ordered, keep, leave, seeds, linking)
