"""How an inherited flag's ``why`` says what tied the cluster to a flagged one.

:func:`graphlink.stages.campaign_flags.operator_ties` ties a tame cluster to a
cluster flagged on its own evidence (its *lead*) by values specific to the
lead's operator: cards or ``--signal`` identifiers (private to an operator),
prompt phrases (5-word shingles of its template) and addresses (its proxies). Only a card or
identifier says *same operator*: simulated operators who drew the same public
extraction template, or rented the same residential proxy network, share
prompt phrases and addresses without being one operator (dev worlds: 23 of 202
text-only ties named another operator's cluster, BENCHMARKS.md twenty-eighth
pass). So the ``why`` starts

* ``same operator as flagged cluster N (campaign M) by 1 payment card or identifier, 8 prompt phrases; ...``
  when a card or identifier ties it (:data:`INHERITED`), and
* ``tied to flagged cluster N (campaign M) by 8 prompt phrases, 3 IP addresses; ...``
  otherwise (:data:`TIED`): the flag stands (the cluster uses what only a
  flagged fleet uses), the operator may be another that uses the same.

(prompt phrases are the 5-word shingles of prompts). ``M`` is ``N``'s campaign. A
cluster tied by a card or identifier is the lead's operator's, so
:func:`graphlink.stages.campaign_flags.flag_with_campaign` moves it into campaign
``M`` (a campaign is one operator; the grouping had left it apart); one tied by
text or addresses keeps its own campaign (its ``campaign_id``), which may differ, unless the grouping left it alone
and it could not be a fleet on its own (:mod:`graphlink.stages.lead_campaigns`). :data:`LEAD_PATTERN` reads ``N`` back
(:func:`graphlink.stages.rekeying.rekey_why`, :mod:`graphlink.views.explain`).
A campaign with such clusters names their leads in other campaigns (:func:`flagged_through`).
When several flagged clusters' values tie a cluster, the lead is the one most
of its reused cards or identifiers lead to (then most of all its tying values; a
contact -- a card one account of the lead's campaign holds -- names no lead over
the template the cell writes), and the counts are of the values that lead to it.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from graphlink.config.kinds import kind_name

__all__ = ["INHERITED", "TIED", "TEMPLATE_CELL", "LEAD_PATTERN", "LEAD_CAMPAIGN_PATTERN", "THROUGH", "THROUGH_PATTERN", "inherited_why", "flagged_with",
           "flagged_through", "ALSO", "OTHERS_PATTERN", "OTHER_COUNTS", "OPERATOR_TIES_SCHEMA", "other_ties",
           "also_tied_to", "carried_to", "carried_text"]

#: How an inherited flag's ``why`` starts when a card or identifier ties it, followed by the lead's id.
INHERITED = "same operator as flagged cluster "
#: How it starts when only values of the operator's template or addresses tie it.
TIED = "tied to flagged cluster "
#: What follows the counts of a cluster tied as a strong small cell (:mod:`graphlink.stages.small_cells`: too small
#: to flag, mostly templated, with a trace of tooling), not because its campaign holds the values as its own.
TEMPLATE_CELL = ", the operator's template written by most members"
#: A regular expression whose group 2 is the lead's id (group 1: the wording before it).
LEAD_PATTERN = f"^({INHERITED}|{TIED})(\\d+)"
#: :data:`LEAD_PATTERN` and, in group 3, the lead's campaign when the ``why`` names it.
LEAD_CAMPAIGN_PATTERN = LEAD_PATTERN + r"(?: \(campaign (\d+)\))?"
#: How a campaign's ``why`` names the flagged clusters elsewhere its clusters inherited their flags from.
THROUGH = "; flagged through "
#: The whole of a campaign ``why`` that ends with :data:`THROUGH`: group 1 everything before it, group 2 the
#: ``cluster N (campaign M)`` items, group 3 the ``, and K more`` (possibly empty).
_ITEM = r"cluster \d+(?: \(campaign \d+\))?"
THROUGH_PATTERN = f"^(.*?){THROUGH}((?:{_ITEM}, )*{_ITEM})((?:, and \\d+ more)?)$"
#: What follows the counts when a card or identifier that tied the cluster leads to another flagged cluster than the one
#: named first (a contact: one account of another flagged operator's paid with it), ``, and to flagged cluster 17 by 1
#: card or identifier`` (``clusters 17, 23`` for several): the card, without which the rest may tie nothing, is named.
ALSO = ", and to flagged cluster"
#: The first reason's :data:`ALSO` clause: group 1 the ids (``17`` or ``17, 23``), group 2 what follows them.
OTHERS_PATTERN = f"^((?:{INHERITED}|{TIED})[^;]*?{ALSO}s? )((?:\\d+, )*\\d+)( by )"
#: Count of the tying cards and identifiers leading to other flagged clusters (:func:`other_ties`).
OTHER_COUNTS = ("other_cards",)
#: :func:`graphlink.stages.campaign_flags.operator_ties`: a row per tied cluster.
OPERATOR_TIES_SCHEMA = pl.Schema({"cluster_id": pl.Int64, "lead": pl.Int64, **dict.fromkeys(("ties", "cards", "texts", "addresses"), pl.UInt32),
                                  "values": pl.List(pl.UInt32), "cell": pl.Boolean, "other_cards": pl.UInt32,
                                  "others": pl.List(pl.Int64)})


def other_ties(rows: pl.DataFrame, tied: pl.DataFrame) -> pl.DataFrame:
    """``tied`` (one row per tied cluster: ``lead``, the counts of the values leading to it, ``values``, ``cell``) with the
    tying cards and identifiers that lead to other flagged clusters counted (``other_cards``), those clusters
    (``others``, most cards first, ties by smaller id) and the cards' ``signal_idx`` added to ``values``.

    The counts of a ``why`` are of the values leading to the lead it names (a template another flagged operator
    also sends does not say whose fleet the cluster is), but a card is never left out: a cluster tied by a contact
    card (one account of another flagged operator paid with it) and two addresses of the lead's pool read "tied by 2
    addresses", and two addresses tie nothing alone. ``rows``: ``cluster_id, signal_idx, private, lead`` (each
    tying value, whether it is a card or identifier, and the flagged cluster it leads to). A strong cell's values
    are its own (``cell``): none are added.

    Examples
    --------
    >>> rows = pl.DataFrame({"cluster_id": [5, 5, 5, 5], "signal_idx": [1, 2, 3, 4], "private": [False, False, True, False],
    ...                      "lead": [2, 2, 17, 17]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> tied = pl.DataFrame({"cluster_id": [5], "lead": [2], "ties": [4], "cards": [0], "texts": [0], "addresses": [2],
    ...                      "values": [[1, 2]], "cell": [False]}, schema_overrides=dict(OPERATOR_TIES_SCHEMA))
    >>> other_ties(rows, tied).select("values", "other_cards", "others").rows()  # the card, not 17's template
    [([1, 2, 3], 1, [17])]
    """
    named = tied.filter(~pl.col("cell")).select("cluster_id", pl.col("lead").alias("__named"))
    other = (rows.join(named, on="cluster_id").filter(pl.col("private") & (pl.col("lead") != pl.col("__named")))
             .with_columns(pl.col("lead").count().over("cluster_id", "lead").alias("__n")))
    counted = other.group_by("cluster_id").agg(
        pl.len().alias("other_cards"),
        pl.col("lead").sort_by(["__n", "lead"], descending=[True, False]).unique(maintain_order=True).alias("others"),
        pl.col("signal_idx").alias("__more"))
    return (tied.join(counted, on="cluster_id", how="left", maintain_order="left")
            .with_columns(pl.col("other_cards").fill_null(0), pl.col("others").fill_null([]),
                          pl.concat_list(["values", pl.col("__more").fill_null([])]).list.unique().list.sort().alias("values"))
            .drop("__more").cast(dict(OPERATOR_TIES_SCHEMA)).select(list(OPERATOR_TIES_SCHEMA.names())))


#: How an inherited ``why`` counts its cards and ``--signal`` identifiers (one count: both are an operator's own), the
#: kinds named as every view names them (:func:`graphlink.config.kinds.kind_name`: payment card, prompt phrase, IP
#: address).
_CARDS = (f" {kind_name('payment', 1)} or identifier", f" {kind_name('payment', 2)} or identifiers")


def _count(col: str, one: str, many: str) -> pl.Expr:
    n = pl.col(col).fill_null(0)
    return pl.when(n > 0).then(pl.concat_str([n.cast(pl.String), pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many))]))


def inherited_why(lead: str = "lead", campaign: str = "campaign_id", why: str = "why", cell: str | None = None,
                  columns: tuple[str, ...] = ()) -> pl.Expr:
    """The ``why`` of a cluster flagged through a tie (columns ``cards``, ``texts``, ``addresses`` counted;
    ``campaign``: the lead's campaign; ``cell``: a Boolean column, True for a strong small cell, whose counts are
    followed by :data:`TEMPLATE_CELL`; with ``"others"`` in ``columns``, the cards and identifiers leading to other
    flagged clusters, ``other_cards`` and ``others`` (:func:`other_ties`), follow as :data:`ALSO`).

    Without the count columns' values (null), only the lead and campaign are named.

    Examples
    --------
    >>> df = pl.DataFrame({"lead": [3, 3, 4], "campaign_id": [1, 2, 2], "why": ["one card", "office hours", "x"],
    ...                    "cards": [1, 0, None], "texts": [8, 5, None], "addresses": [0, 2, None]})
    >>> df.select(inherited_why())["why"].to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['same operator as flagged cluster 3 (campaign 1) by 1 payment card or identifier, 8 prompt phrases; one card',
     'tied to flagged cluster 3 (campaign 2) by 5 prompt phrases, 2 IP addresses; office hours',
     'same operator as flagged cluster 4 (campaign 2); x']
    >>> df.head(2).with_columns(cell=pl.Series([False, True])).select(inherited_why(cell="cell"))["why"][1]
    "tied to flagged cluster 3 (campaign 2) by 5 prompt phrases, 2 IP addresses, the operator's template written by most members; office hours"
    >>> other = df.head(1).with_columns(cards=pl.lit(0), texts=pl.lit(0), addresses=pl.lit(2), other_cards=pl.lit(1),
    ...                                 others=pl.lit([17]))
    >>> other.select(inherited_why(columns=tuple(other.columns)))["why"][0]
    'tied to flagged cluster 3 (campaign 1) by 2 IP addresses, and to flagged cluster 17 by 1 payment card or identifier; one card'
    """
    parts = pl.concat_list([_count("cards", *_CARDS), _count("texts", f" {kind_name('prompt', 1)}", f" {kind_name('prompt', 2)}"),
                            _count("addresses", f" {kind_name('ip', 1)}", f" {kind_name('ip', 2)}")]).list.drop_nulls()
    counted = pl.col("cards").is_not_null()
    start = pl.when(~counted | (pl.col("cards") > 0)).then(pl.lit(INHERITED)).otherwise(pl.lit(TIED))
    by = pl.when(counted & (parts.list.len() > 0)).then(pl.lit(" by ") + parts.list.join(", ")).otherwise(pl.lit(""))
    if cell is not None:  # tied as a strong small cell, not by who else holds the values
        by = pl.when(pl.col(cell).fill_null(False)).then(by + pl.lit(TEMPLATE_CELL)).otherwise(by)
    if "others" in columns:  # cards leading to other flagged clusters (other_ties): every card that tied it is named
        ids = pl.col("others").fill_null([])
        also = pl.concat_str([pl.lit(ALSO), pl.when(ids.list.len() > 1).then(pl.lit("s ")).otherwise(pl.lit(" ")),
                              ids.cast(pl.List(pl.String)).list.join(", "), pl.lit(" by "),
                              _count("other_cards", *_CARDS)])
        by = pl.when(ids.list.len() > 0).then(by + also).otherwise(by)
    return pl.concat_str([start, pl.col(lead).cast(pl.String), pl.lit(" (campaign "), pl.col(campaign).cast(pl.String),
                          pl.lit(")"), by, pl.lit("; "), pl.col(why)]).alias("why")


def flagged_with(why: str) -> dict[str, Any] | None:
    """The flagged cluster a cluster's flag came from, read off the start of its ``why`` (the wording
    :func:`inherited_why` writes): ``{"cluster_id", "campaign_id", "same_operator"}`` (a card or
    identifier tied them) or None (flagged on its own evidence, or not flagged).

    Examples
    --------
    >>> flagged_with("tied to flagged cluster 12 (campaign 3) by 8 prompt phrases; proxies")
    {'cluster_id': 12, 'campaign_id': 3, 'same_operator': False}
    >>> flagged_with("proxies; tied to flagged cluster 12 (campaign 3)") is None  # only the start counts
    True
    """
    lead = re.match(LEAD_CAMPAIGN_PATTERN, why)
    if lead is None:
        return None
    return {"cluster_id": int(lead.group(2)), "campaign_id": int(lead.group(3)) if lead.group(3) else None,
            "same_operator": lead.group(1) == INHERITED}


def also_tied_to(why: str) -> list[int]:
    """The other flagged clusters an inherited flag's ``why`` names after its lead (:data:`ALSO`), most values first.

    Examples
    --------
    >>> also_tied_to("tied to flagged cluster 2 (campaign 1) by 2 IP addresses, and to flagged clusters 17, 5 by 2 payment cards or identifiers; x")
    [17, 5]
    >>> also_tied_to("tied to flagged cluster 2 (campaign 1) by 8 prompt phrases; and to flagged cluster 9 by 1 IP address")
    []
    >>> also_tied_to('templated ("x, and to flagged cluster 9 by y")')  # only an inherited flag's first reason
    []
    """
    found = re.match(OTHERS_PATTERN, why or "")
    return [int(i) for i in found.group(2).split(", ")] if found else []


def flagged_through(clusters: pl.DataFrame, most: int = 3) -> pl.DataFrame:
    """The flagged clusters elsewhere a campaign's clusters inherited their flags from, in words.

    Only clusters flagged but not on their own evidence (``flagged`` and not ``flagged_own``, as
    :func:`graphlink.stages.campaign_flags.flag_with_campaign` leaves them) are read, and only the
    start of their ``why`` (:data:`LEAD_PATTERN`, the wording :func:`inherited_why` writes): a value
    quoted later in a ``why`` is never read as a lead. Leads in the campaign itself are not named (its
    own flagged clusters are counted already); a lead in another campaign is, whatever else flagged the
    campaign (a reader assumes a flag came from inside it). The words hold ids only.

    Parameters
    ----------
    clusters : DataFrame
        ``campaign_id, flagged, flagged_own, why``.
    most : int
        Leads named per campaign; more are counted (``, and K more``).

    Returns
    -------
    DataFrame
        ``campaign_id, through``: ``cluster N (campaign M)`` per distinct lead in another campaign, the most
        cited first (ties by smaller cluster id), joined by ``, ``; one row per campaign with such a lead.
        Empty without ``flagged_own`` or ``why`` columns.

    Examples
    --------
    >>> cl = pl.DataFrame({"campaign_id": [5, 5, 5, 6, 6], "flagged": [True] * 5,
    ...                    "flagged_own": [False, False, False, True, False],
    ...                    "why": ["tied to flagged cluster 9 (campaign 2) by 6 prompt phrases; x",
    ...                            "same operator as flagged cluster 4 (campaign 1) by 1 payment card or identifier; y",
    ...                            "tied to flagged cluster 9 (campaign 2) by 5 IP addresses; z", "proxies",
    ...                            "same operator as flagged cluster 8 (campaign 6) by 2 payment cards or identifiers; w"]})
    >>> flagged_through(cl).rows()  # campaign 6's inherited flag came from inside it
    [(5, 'cluster 9 (campaign 2), cluster 4 (campaign 1)')]
    >>> flagged_through(cl, most=1).rows()
    [(5, 'cluster 9 (campaign 2), and 1 more')]
    """
    schema = {"campaign_id": clusters.schema.get("campaign_id", pl.Int64), "through": pl.String}
    if "why" not in clusters.columns or "flagged_own" not in clusters.columns:
        return pl.DataFrame(schema=schema)
    why = pl.col("why").fill_null("")
    leads = clusters.filter(pl.col("flagged") & ~pl.col("flagged_own")).select(
        "campaign_id", why.str.extract(LEAD_PATTERN, 2).cast(pl.Int64).alias("lead"),
        why.str.extract(LEAD_CAMPAIGN_PATTERN, 3).cast(pl.Int64).alias("lead_campaign"),
    ).drop_nulls("lead").filter(pl.col("lead_campaign").is_null() | (pl.col("lead_campaign") != pl.col("campaign_id")))
    if leads.is_empty():  # (no flag inherited from another campaign: the same empty table, without its queries)
        return pl.DataFrame(schema=schema)
    named = pl.concat_str([pl.lit("cluster "), pl.col("lead").cast(pl.String),
                           pl.when(pl.col("lead_campaign").is_not_null())
                           .then(pl.concat_str([pl.lit(" (campaign "), pl.col("lead_campaign").cast(pl.String), pl.lit(")")]))
                           .otherwise(pl.lit(""))])
    return (
        leads.group_by("campaign_id", "lead", "lead_campaign").agg(pl.len().alias("cited"))
        .sort(["campaign_id", "cited", "lead", "lead_campaign"], descending=[False, True, False, False], nulls_last=True)
        .group_by("campaign_id", maintain_order=True).agg(named.head(most).str.join(", ").alias("through"), pl.len().alias("n"))
        .select("campaign_id", pl.concat_str([
            pl.col("through"), pl.when(pl.col("n") > most).then(pl.concat_str([
                pl.lit(", and "), (pl.col("n") - most).cast(pl.String), pl.lit(" more")])).otherwise(pl.lit(""))]).alias("through"))
        .cast(schema)
    )


def carried_to(clusters: pl.DataFrame, cluster_id: int) -> list[dict[str, Any]]:
    """The flagged clusters whose flag came from ``cluster_id``: their ``why`` names it first (:func:`flagged_with`).

    ``clusters`` needs ``cluster_id, size, flagged, why``. Returns ``[{"cluster_id", "size", "same_operator"}]`` by
    id (``same_operator``: a card or identifier tied it), ``[]`` when the flag went nowhere. What an investigator acting
    on a flagged ring also has to look at (new-user review, session 45).

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "size": [20, 8, 6], "flagged": [True, True, True],
    ...                    "why": ["proxies", "same operator as flagged cluster 1 (campaign 1) by 1 payment card", "x"]})
    >>> carried_to(cl, 1)
    [{'cluster_id': 2, 'size': 8, 'same_operator': True}]
    """
    if not {"why", "flagged", "size"} <= set(clusters.columns):  # a folder written without reasons claims nothing
        return []
    lead = pl.col("why").fill_null("").str.extract(LEAD_PATTERN, 2).cast(pl.Int64)
    rows = clusters.filter(pl.col("flagged").fill_null(False) & (lead == cluster_id)).sort("cluster_id")
    return [{"cluster_id": int(c), "size": int(n), "same_operator": w.startswith(INHERITED)}
            for c, n, w in rows.select("cluster_id", "size", "why").iter_rows()]


def carried_text(carried: list[dict[str, Any]], shown: int = 10) -> str:
    """:func:`carried_to` in words: ``clusters 2, 3 (16 accounts)``; past ``shown`` ids, ``, and K more``.

    >>> carried_text([{"cluster_id": 2, "size": 8, "same_operator": True}])
    'cluster 2 (8 accounts)'
    """
    ids = ", ".join(str(c["cluster_id"]) for c in carried[:shown]) + (f", and {len(carried) - shown} more" if len(carried) > shown else "")
    return f"cluster{'s' if len(carried) > 1 else ''} {ids} ({sum(c['size'] for c in carried):,} accounts)"
