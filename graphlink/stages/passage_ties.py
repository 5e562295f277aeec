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
(a score above 0: some coordination *and* some evasion of its own, :mod:`graphlink.stages.scoring`). A cluster
scoring 0 -- every member on its own card, its own office addresses, office hours, no burst -- has nothing a second
piece could come from, and one pasted passage does not make it the operator's. An operator's tame cell keeps its flag
when any of these holds: it shares a card or an address with the operator, it writes two or more of the operator's
passages (a template's fixed clauses between its fill-in slots chain apart: dev d300's text-tied cells hold 2-6), or
it shows a trace of a fleet of its own (dev templates1000: cells of 5-251 accounts tied by one 63-phrase passage, each
scoring 0.38-0.55 on their own cards, volume and clock).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.evidence import prompt_templates

__all__ = ["single_passage_ties", "quiet_clusters"]


def quiet_clusters(clusters: pl.DataFrame) -> pl.Series:
    """Ids of the clusters showing nothing of a fleet on their own: ``score`` 0 (or null).

    The score is ``sqrt(coordination * evasion)`` discounted by organisational coherence
    (:mod:`graphlink.stages.scoring`), so 0 means no coordination, no evasion, or a whole organisation; a cluster
    scoring anything above it has a trace of the fleet's own tooling (cards pooled, addresses rotated, a burst of
    openings, round-the-clock work) that a second piece of evidence can come from.

    Examples
    --------
    >>> quiet_clusters(pl.DataFrame({"cluster_id": [1, 2, 3], "score": [0.0, 0.4, None]})).to_list()
    [1, 3]
    """
    return clusters.filter(pl.col("score").fill_null(0.0) <= 0.0)["cluster_id"].cast(pl.Int64)


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
