"""What of its cluster's behaviour a member shares, as the views render it (``accounts.parquet``'s
:data:`graphlink.contract.MEMBER_BEHAVIOUR_COLUMNS`, built by :mod:`graphlink.stages.member_behaviour`).

One short text per member for the tables (``show``'s member table, the report's): the behaviours it shares with
other members, the template with the share of its prompts that carry the cluster's phrases (``template 95%, card``),
or ``addresses only``; empty where the folder predates the columns. The values are fixed words and declared
``--signal`` column names, not logged text; the tables escape them anyway.
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import with_member_behaviour_columns as with_behaviour_columns
from graphlink.stages.member_behaviour import ADDRESSES_ONLY

__all__ = ["ADDRESSES_ONLY", "STOCK_PHRASES_ONLY", "behaviour_expr", "behaviour_text", "no_behaviour_first",
           "with_behaviour_columns"]

#: ``shares`` of a member sharing none of its cluster's behaviour (``addresses only``) whose ``tied_by`` still names a
#: prompt phrase: it shares fewer than the template's bar of phrases with the others
#: (:data:`graphlink.stages.member_behaviour.TEMPLATE_PHRASES`, 5: a stock phrase, not the cluster's template). The
#: label said "addresses only" beside "tied by ... 1+ prompt phrases" (new-user review, session 56); it stays in the
#: same group (sorted first, counted on the report's card), and now says what ties it.
STOCK_PHRASES_ONLY = "addresses and stock phrases only"
# tied_by's part for a prompt phrase ("prompt phrase \"...\"" or "3+ prompt phrases, strongest ..."), at a part's start.
_PHRASE_PART = r"(?:^|; )(?:prompt phrase |\d[\d,]*\+? prompt phrases)"


def behaviour_expr(brief: bool = False, tied_by: pl.Expr | None = None) -> pl.Expr:
    """The ``shares`` text of a member row with ``template_share``, ``shared_behaviour`` and ``joined_by`` ("" where
    all are null: a folder written before them); a member a join step added ends with how it joined: the whole note,
    or with ``brief`` only its label before the colon (``hub twin``, ``joined``: a narrow terminal, where the note
    took two lines of each twin's row; the cluster's reasons give it once, new-user review nu54). With ``tied_by``
    (the row's :func:`graphlink.views.member_ties.member_ties` text), ``addresses only`` beside a ``tied_by`` naming a
    prompt phrase reads :data:`STOCK_PHRASES_ONLY`, so the two agree."""
    share = pl.col("template_share")
    percent = (pl.when((share > 0) & (share < 0.005)).then(pl.lit("<1%"))
               .otherwise((share * 100).round(0).cast(pl.Int64).cast(pl.String) + "%"))
    words = pl.col("shared_behaviour").fill_null("")
    if tied_by is not None:
        words = (pl.when((words == ADDRESSES_ONLY) & tied_by.fill_null("").str.contains(_PHRASE_PART))
                 .then(pl.lit(STOCK_PHRASES_ONLY)).otherwise(words))
    shares = (pl.when(share.is_not_null() & words.str.contains(r"^template(,|$)"))
              .then(pl.lit("template ") + percent + words.str.slice(len("template"))).otherwise(words))
    joined = pl.col("joined_by")  # a weaker membership (own values, hub twin) says so beside what it shares
    joined = joined.str.split(":").list.first() if brief else joined
    return (pl.when(joined.is_null()).then(shares).when(shares == "").then(joined)
            .otherwise(pl.concat_str([shares, pl.lit("; "), joined]))).alias("shares")


def behaviour_text(frame: pl.DataFrame, brief: bool = False) -> pl.Series:
    """:func:`behaviour_expr` of each row of ``frame`` ("" for a frame without the columns).

    Examples
    --------
    >>> f = pl.DataFrame({"template_share": [0.953, 0.0, None, 0.004], "shared_behaviour": [
    ...     "template, card", "addresses only", None, "template"], "joined_by": [None, "joined: 2 of its 3 ...", None, None]})
    >>> behaviour_text(f).to_list()
    ['template 95%, card', 'addresses only; joined: 2 of its 3 ...', '', 'template <1%']
    >>> behaviour_text(f, brief=True)[1]
    'addresses only; joined'
    >>> g = pl.DataFrame({"template_share": [0.0, 0.0], "shared_behaviour": ["addresses only"] * 2,
    ...                   "tied_by": ['IP address 1.2.3.4 (3 members); prompt phrase "how do I" (2 members)', "IP address 1.2.3.4 (3 members)"]})
    >>> behaviour_text(g).to_list()
    ['addresses and stock phrases only', 'addresses only']
    """
    if "shared_behaviour" not in frame.columns or "template_share" not in frame.columns:
        return pl.Series("shares", [""] * frame.height, dtype=pl.String)
    tied = pl.col("tied_by") if "tied_by" in frame.columns else None  # the ties beside it, when the rows carry them
    return with_behaviour_columns(frame).select(behaviour_expr(brief, tied))["shares"]


def no_behaviour_first() -> pl.Expr:
    """A sort key putting members that share none of their cluster's behaviour (``addresses only``) first; members
    of a folder without the column (null) sort with those sharing some."""
    return (pl.col("shared_behaviour") != ADDRESSES_ONLY).fill_null(True)
