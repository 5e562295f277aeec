"""Passage ties: one pasted passage is one piece of evidence, not one per phrase.

:func:`graphlink.stages.campaign_flags.operator_ties` ties a tame cluster to a flagged operator by the values both
hold, and counts them: :data:`~graphlink.stages.campaigns.MIN_TIE_VALUES` values tie a cluster by values alone. A
prompt value is a 5-word shingle, so one pasted sentence of 19 words is 15 values that always come together -- the
same words, held by the same accounts, in the same prompts. Counted one by one, a company of 14 that starts every
prompt with the framework system prompt a ring of 20 also pastes was flagged "tied to flagged cluster 2 by 15 prompt
phrases" with a score of 0.0, and was not flagged without the ring beside it (break-it review, session 61: brk61's
strict xfail on main). Text is what strangers copy (a framework's stock system prompt, a public jailbreak, a
tutorial's template): the phrases of one passage say once that the cluster pastes what the operator pastes.

:func:`single_passage_ties` reads the phrases tying a cluster as the passages they chain into (phrases overlapping by
all but one word, :func:`graphlink.stages.evidence.prompt_templates`, the chains the views quote as one passage). A
cluster tied by prompt phrases alone (no card, no address, not even a contact) whose phrases are **one passage**
holds one piece of the operator's evidence; it then inherits the flag only when it shows something of a fleet itself
beyond that text (:func:`quiet_clusters`: any abuse component of :mod:`graphlink.stages.scoring` above 0 but the
template share the passage makes by itself). A cluster showing nothing else -- every member on its own card, its own
office addresses, office hours, ordinary use, no burst -- has nothing a second piece could come from, and one pasted
passage does not make it the operator's. An operator's tame cell keeps its flag when any of these holds: it shares a
card or an address with the operator, it writes two or more of the operator's passages (a template's fixed clauses
between its fill-in slots chain apart: 15 of dev d300's 18 text-tied cells hold 2-6), or it shows a trace of a fleet of its own
(dev templates1000: cells of 5-251 accounts tied by one 63-phrase passage, scoring 0.45-0.49 on their cards, volume
and clock; dev a1: a cell of 3 on one 9-word passage, 7 times the typical use).

Limit: passages are chains of overlapping phrases, read from account-level holdings, which do not say which phrases
share a prompt; a company pasting two public passages that always come together (a system prompt and a stock closing
instruction) is tied by two pieces, as an operator's cell writing a template of two clauses is.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from graphlink.contract import COMPONENTS  # every abuse component, read when no weights are given
from graphlink.stages.evidence import prompt_templates

__all__ = ["single_passage_ties", "quiet_clusters", "TEXT_COMPONENTS", "COMPONENTS"]

#: The abuse components (:mod:`graphlink.stages.scoring`) a pasted passage makes by itself: a cluster every prompt of
#: which opens with one framework prompt is 100 % templated. They are not a second piece of evidence.
TEXT_COMPONENTS = ("template_share",)


def quiet_clusters(clusters: pl.DataFrame, weights: Mapping[str, float] | None = None) -> pl.Series:
    """Ids of the clusters showing nothing of a fleet on their own but their text.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id`` and the abuse components of :mod:`graphlink.stages.scoring` (``payment_reuse``, ``volume``,
        ``around_the_clock`` ...), as scored.
    weights : mapping of str to float, optional
        :attr:`graphlink.config.ScoringConfig.component_weights`: the components read are those weighing more than 0
        (a component weighed 0 is no evidence by the user's own setting), but for :data:`TEXT_COMPONENTS`. None: every
        component of the frame but those.

    Returns
    -------
    Series
        ``cluster_id`` (Int64) of the clusters every such component of which is 0 or null. The text a cluster shares
        with the operator is what one pasted passage already says (a company pasting a framework prompt is 100 %
        templated), so it is not a second piece; anything else -- cards pooled, addresses rotated, a burst of
        openings, round-the-clock work, heavy use -- is the cluster's own and may be one (dev a1: a ring cell of 3
        tied by one 9-word passage, 7 times the typical use, score 0.0 for no evasion). Without any component
        column, the clusters scoring 0.

    Examples
    --------
    >>> cl = pl.DataFrame({"cluster_id": [1, 2, 3], "score": [0.0, 0.0, 0.4], "template_share": [1.0, 0.7, 0.9],
    ...                    "volume": [0.0, 0.8, 0.0], "around_the_clock": [None, 0.0, 1.0]})
    >>> quiet_clusters(cl).to_list()
    [1]
    >>> quiet_clusters(cl, {"volume": 0.0, "around_the_clock": 0.3, "template_share": 1.0}).to_list()  # volume weighs 0
    [1, 2]
    """
    names = [c for c in (COMPONENTS if weights is None else weights)
             if c in clusters.columns and c not in TEXT_COMPONENTS and (weights is None or weights[c] > 0)]
    if not names:
        return clusters.filter(pl.col("score").fill_null(0.0) <= 0.0)["cluster_id"].cast(pl.Int64)
    return clusters.filter(pl.all_horizontal(pl.col(c).fill_null(0.0) <= 0.0 for c in names))["cluster_id"].cast(pl.Int64)


def single_passage_ties(rows: pl.DataFrame, signals: pl.DataFrame, quiet: pl.Series | None) -> pl.DataFrame:
    """The candidate clusters of ``quiet`` tied by the phrases of one passage and nothing else (module docstring).

    Parameters
    ----------
    rows : DataFrame
        ``cluster_id, signal_idx, text``: each candidate cluster's tying values (``text``: a prompt phrase), as
        :func:`graphlink.stages.campaign_flags.operator_ties` weighs them in a round.
    signals : DataFrame
        ``signal_idx, value``: the phrases' words. Without ``value`` (a hand-built table) no phrase can be chained
        to another and nothing is returned: each counts as before.
    quiet : Series or None
        Ids of the clusters that show nothing of a fleet on their own (:func:`quiet_clusters`); None or empty:
        nothing is returned.

    Returns
    -------
    DataFrame
        ``cluster_id`` (Int64), one row per cluster of ``quiet`` every tying value of which is a prompt phrase and
        whose phrases chain into a single passage (:func:`graphlink.stages.evidence.prompt_templates`).

    Examples
    --------
    Cluster 7's three phrases are one sentence; cluster 8's are two; cluster 9 holds a card beside its one passage:

    >>> rows = pl.DataFrame({"cluster_id": [7, 7, 7, 8, 8, 9, 9], "signal_idx": [0, 1, 2, 0, 3, 0, 4],
    ...                      "text": [True, True, True, True, True, True, False]})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2, 3, 4], "value": ["you are a helpful assistant",
    ...     "are a helpful assistant that", "a helpful assistant that answers", "reason step by step first", "card"]})
    >>> single_passage_ties(rows, sig, pl.Series([7, 8, 9]))["cluster_id"].to_list()
    [7]
    >>> single_passage_ties(rows, sig, pl.Series([8, 9])).height  # cluster 7 shows a fleet trait of its own
    0
    """
    empty = pl.DataFrame(schema={"cluster_id": pl.Int64})
    if quiet is None or quiet.is_empty() or rows.is_empty() or "value" not in signals.columns:
        return empty
    only_text = (rows.select(pl.col("cluster_id").cast(pl.Int64), "signal_idx", "text")
                 .filter(pl.col("cluster_id").is_in(quiet.cast(pl.Int64).implode()))
                 .filter(pl.col("text").all().over("cluster_id")))
    if only_text.is_empty():
        return empty
    phrases = only_text.join(signals.select(pl.col("signal_idx").cast(only_text.schema["signal_idx"]), "value"),
                             on="signal_idx").select("cluster_id", "value").unique()
    return (prompt_templates(phrases).group_by("cluster_id").agg(pl.col("template").n_unique().alias("passages"))
            .filter(pl.col("passages") == 1).select("cluster_id").sort("cluster_id"))
