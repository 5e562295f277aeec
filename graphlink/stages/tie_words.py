"""How an inherited flag's ``why`` says what tied the cluster to a flagged one.

:func:`graphlink.stages.campaign_flags.operator_ties` ties a tame cluster to a
cluster flagged on its own evidence (its *lead*) by values specific to the
lead's operator: cards or ``--signal`` identifiers (private to an operator),
prompt values (5-word shingles of its template) and addresses (its proxies). Only a card or
identifier says *same operator*: simulated operators who drew the same public
extraction template, or rented the same residential proxy network, share
prompt values and addresses without being one operator (dev worlds: 23 of 202
text-only ties named another operator's cluster, BENCHMARKS.md twenty-eighth
pass). So the ``why`` starts

* ``same operator as flagged cluster N (campaign M) by 1 card or identifier, 8 prompt values; ...``
  when a card or identifier ties it (:data:`INHERITED`), and
* ``tied to flagged cluster N (campaign M) by 8 prompt values, 3 addresses; ...``
  otherwise (:data:`TIED`): the flag stands (the cluster uses what only a
  flagged fleet uses), the operator may be another that uses the same.

(prompt values are the 5-word shingles of prompts). ``M`` is ``N``'s campaign. A
cluster tied by a card or identifier is the lead's operator's, so
:func:`graphlink.stages.campaign_flags.flag_with_campaign` moves it into campaign
``M`` (a campaign is one operator; the grouping had left it apart); one tied by
text or addresses keeps its own campaign (its ``campaign_id``), which may differ. :data:`LEAD_PATTERN` reads ``N`` back
(:func:`graphlink.stages.rekeying.rekey_why`, :mod:`graphlink.views.explain`).
When several flagged clusters' values tie a cluster, the lead is the one most
of its reused cards or identifiers lead to (then most of all its tying values; a
contact -- a card one account of the lead's campaign holds -- names no lead over
the template the cell writes), and the counts are of the values that lead to it.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

__all__ = ["INHERITED", "TIED", "LEAD_PATTERN", "inherited_why", "flagged_with"]

#: How an inherited flag's ``why`` starts when a card or identifier ties it, followed by the lead's id.
INHERITED = "same operator as flagged cluster "
#: How it starts when only values of the operator's template or addresses tie it.
TIED = "tied to flagged cluster "
#: A regular expression whose group 2 is the lead's id (group 1: the wording before it).
LEAD_PATTERN = f"^({INHERITED}|{TIED})(\\d+)"


def _count(col: str, one: str, many: str) -> pl.Expr:
    n = pl.col(col).fill_null(0)
    return pl.when(n > 0).then(pl.concat_str([n.cast(pl.String), pl.when(n == 1).then(pl.lit(one)).otherwise(pl.lit(many))]))


def inherited_why(lead: str = "lead", campaign: str = "campaign_id", why: str = "why") -> pl.Expr:
    """The ``why`` of a cluster flagged through a tie (columns ``cards``, ``texts``, ``addresses`` counted;
    ``campaign``: the lead's campaign).

    Without the count columns' values (null), only the lead and campaign are named.

    Examples
    --------
    >>> df = pl.DataFrame({"lead": [3, 3, 4], "campaign_id": [1, 2, 2], "why": ["one card", "office hours", "x"],
    ...                    "cards": [1, 0, None], "texts": [8, 5, None], "addresses": [0, 2, None]})
    >>> df.select(inherited_why())["why"].to_list()  # doctest: +NORMALIZE_WHITESPACE
    ['same operator as flagged cluster 3 (campaign 1) by 1 card or identifier, 8 prompt values; one card',
     'tied to flagged cluster 3 (campaign 2) by 5 prompt values, 2 addresses; office hours',
     'same operator as flagged cluster 4 (campaign 2); x']
    """
    parts = pl.concat_list([_count("cards", " card or identifier", " cards or identifiers"),
                            _count("texts", " prompt value", " prompt values"),
                            _count("addresses", " address", " addresses")]).list.drop_nulls()
    counted = pl.col("cards").is_not_null()
    start = pl.when(~counted | (pl.col("cards") > 0)).then(pl.lit(INHERITED)).otherwise(pl.lit(TIED))
    by = pl.when(counted & (parts.list.len() > 0)).then(pl.lit(" by ") + parts.list.join(", ")).otherwise(pl.lit(""))
    return pl.concat_str([start, pl.col(lead).cast(pl.String), pl.lit(" (campaign "), pl.col(campaign).cast(pl.String),
                          pl.lit(")"), by, pl.lit("; "), pl.col(why)]).alias("why")


def flagged_with(why: str) -> dict[str, Any] | None:
    """The flagged cluster a cluster's flag came from, read off the start of its ``why`` (the wording
    :func:`inherited_why` writes): ``{"cluster_id", "campaign_id", "same_operator"}`` (a card or
    identifier tied them) or None (flagged on its own evidence, or not flagged).

    Examples
    --------
    >>> flagged_with("tied to flagged cluster 12 (campaign 3) by 8 prompt values; proxies")
    {'cluster_id': 12, 'campaign_id': 3, 'same_operator': False}
    >>> flagged_with("proxies; tied to flagged cluster 12 (campaign 3)") is None  # only the start counts
    True
    """
    lead = re.match(LEAD_PATTERN + r"(?: \(campaign (\d+)\))?", why)
    if lead is None:
        return None
    return {"cluster_id": int(lead.group(2)), "campaign_id": int(lead.group(3)) if lead.group(3) else None,
            "same_operator": lead.group(1) == INHERITED}
