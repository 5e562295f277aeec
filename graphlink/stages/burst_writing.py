"""Burst writing (opt-in, ``[communities] burst_writing``): a template burst's members hold the phrases they write.

An account with fewer than ``prompt_min_prompts`` sampled prompts gives no prompt signal: one or two prompts cannot
show a habit (:class:`graphlink.config.SignalConfig`). A member of a template burst (:mod:`graphlink.stages.bursts`)
shows one: it is one of a group that opened with one template in one window far beyond chance. Without its phrases
nothing of a flagged operator's template reaches the burst's cluster, and without the accounts file (no bulk
sign-up to see) a burst of one-off accounts scores nothing: dev world d303 (session 59, events only) left a
25-account burst of one operator, one request an account, unflagged, flagged with the accounts file only because
one member happened to send three prompts. :func:`thin_phrases` lists what thin accounts write (by the signal
stage, every engine); :func:`burst_writing` gives them to the burst clusters' members once the partition is final.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphlink.stages.bursts import BURST_KIND

__all__ = ["thin_phrases", "burst_writing", "thin_members"]


def thin_phrases(per_account_shingle: pl.DataFrame, kept: pl.DataFrame, per_account: pl.DataFrame,
                 values: pl.DataFrame, min_prompts: int, min_templated: float, min_share: float) -> pl.DataFrame:
    """``account_idx, value, count``: the kept shingles (by text) of accounts too thin for prompt signals.

    The accounts with fewer than ``min_prompts`` sampled prompts, templated as ``min_templated`` asks of every
    account; of each, the shingles in ``kept`` (shared with a templated account) in at least ``min_share`` of its
    texts, as :func:`graphlink.stages.signals.prompt.prompt_pairs` keeps a templated account's. Inputs are that
    function's: ``per_account_shingle`` (``account_idx, key, count``), ``kept`` (``shingle_hash``),
    ``per_account`` (``account_idx, prompts_sampled, prompts_templated, texts``), ``values`` (``value_key, value``).
    """
    thin = per_account.filter((pl.col("prompts_sampled") < min_prompts)
                              & (pl.col("prompts_templated") >= min_templated * pl.col("prompts_sampled")))
    return (per_account_shingle.rename({"key": "shingle_hash"})
            .join(kept.select("shingle_hash").unique(), on="shingle_hash", how="semi")
            .join(thin.select("account_idx", "texts"), on="account_idx")
            .filter(pl.col("count") >= min_share * pl.col("texts"))
            .join(values.select(pl.col("value_key").alias("shingle_hash"), "value"), on="shingle_hash")
            .select("account_idx", "value", "count"))


def burst_writing(projection: Any, signal_set: Any, config: Any, partition: pl.DataFrame) -> None:
    """Once the partition is final (every engine, before scoring): ``projection``'s ``signals`` and ``memberships``
    extended in place by :func:`thin_members` for the clustered holders of burst values, when
    ``config.communities.burst_writing`` is on (opt-in) and the log had bursts. After the partition, so the clusters
    scoring starts from are unchanged: what reads the memberships after it (scores, campaigns, ties to flagged
    clusters, the batch joins made after the judgement) sees them."""
    openings = signal_set.openings
    if not config.communities.burst_writing or openings is None or len(openings) < 3:
        return
    bursts = projection.signals.filter(pl.col("kind") == BURST_KIND).select("signal_idx")
    if bursts.is_empty():
        return
    members = projection.memberships.join(bursts, on="signal_idx", how="semi").select("account_idx").unique()
    clustered = partition.drop_nulls("cluster_id").select(pl.col("account_idx").cast(pl.UInt32))
    projection.signals, projection.memberships = thin_members(projection.signals, projection.memberships,
                                                              openings[2], members, clustered)


def thin_members(signals: pl.DataFrame, memberships: pl.DataFrame, thin: pl.DataFrame, members: pl.DataFrame,
                 clustered: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(signals, memberships)`` with the burst clusters' ``members`` holding the prompt phrases they wrote.

    An account with fewer than ``prompt_min_prompts`` sampled prompts gives no prompt signal: one or two
    prompts cannot show a habit (:class:`graphlink.config.SignalConfig`). A member of a template burst shows
    one: it is one of a group that opened with one template in one window far beyond chance, so the phrases
    it shares with templated accounts (``thin``: ``account_idx, value, count``, by the phrase's text, from
    :func:`graphlink.stages.signals.prompt.prompt_pairs`) are its operator's template as much as any
    templated account's. They are added once the partition is final (the clusters scoring starts from are
    unchanged), so what reads the memberships after it -- scores, campaigns, ties to flagged clusters
    (:func:`graphlink.stages.campaign_flags.operator_ties`, with its specificity and carrier tests) -- reads a
    burst cell that writes a flagged operator's template as tied to it. Only phrases already among the prompt
    signals are added (``df`` counts the new holders); a phrase only thin accounts share stays unread. With
    ``clustered`` (``account_idx`` of the accounts in a cluster), only a phrase whose holders in clusters
    outnumber its holders in none (``df`` less those in clusters: the same count whichever engine's memberships
    hold the unclustered accounts; plus ``thin``'s accounts in none, too thin to be in ``df``) is added: a public prompt that many people in no cluster send now and then
    is no one's template (as a cluster's own passage, :mod:`graphlink.stages.cluster_features`), so a class pasting it in one
    burst holds nothing a fleet sending it too could tie. Rows stay ordered by ``signal_idx, account_idx``.

    Examples
    --------
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["prompt", "ip"], "value": ["act as a", "1.2.3.4"],
    ...                     "df": [2, 2]}, schema_overrides={"signal_idx": pl.UInt32, "df": pl.UInt32})
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 0, 1], "signal_idx": [0, 0, 1, 1], "count": [1] * 4,
    ...                     "damp": [1.0] * 4}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32,
    ...                                                           "count": pl.UInt32})
    >>> thin = pl.DataFrame({"account_idx": [5, 6], "value": ["act as a"] * 2, "count": [1, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32, "count": pl.UInt32})
    >>> s, m = thin_members(sig, mem, thin, pl.DataFrame({"account_idx": [5]}, schema={"account_idx": pl.UInt32}))
    >>> s["df"].to_list(), m.filter(pl.col("signal_idx") == 0)["account_idx"].to_list()
    ([3, 2], [0, 1, 5])
    """
    if thin.is_empty() or members.is_empty():
        return signals, memberships
    prompts = signals.filter(pl.col("kind") == "prompt")
    if clustered is not None:  # a cell's phrase, not the public's: holders in clusters outnumber those in none
        inside = (memberships.join(prompts.select("signal_idx"), on="signal_idx", how="semi")
                  .join(clustered, on="account_idx", how="semi").group_by("signal_idx").agg(pl.len().alias("_in")))
        # People too thin for a prompt signal hold no membership (``df`` leaves them out): the casual senders of a
        # public prompt, one or two requests each, are counted among its holders in none from ``thin`` (break-it
        # review brk59: 300 people pasting it once made a fleet's 20 its holders, and a class pasting it was flagged).
        casual = (thin.join(clustered.select(pl.col("account_idx").cast(thin.schema["account_idx"])), on="account_idx", how="anti")
                  .join(prompts.select("signal_idx", "value"), on="value").group_by("signal_idx")
                  .agg(pl.col("account_idx").n_unique().alias("_out")))
        prompts = (prompts.join(inside, on="signal_idx").join(casual, on="signal_idx", how="left")
                   .filter(2 * pl.col("_in") > pl.col("df") + pl.col("_out").fill_null(0)).drop("_in", "_out"))
    # One signal per phrase text (the smallest index when two quotes read alike).
    phrases = prompts.group_by("value").agg(pl.col("signal_idx").min())
    rows = (thin.join(members.select(pl.col("account_idx").cast(thin.schema["account_idx"])), on="account_idx")
            .join(phrases, on="value").select("account_idx", "signal_idx", "count")
            .join(memberships.select("account_idx", "signal_idx"), on=["account_idx", "signal_idx"], how="anti"))
    if rows.is_empty():
        return signals, memberships
    extra = [c for c in memberships.columns if c not in rows.columns]
    rows = rows.with_columns([pl.lit(1.0 if c == "damp" else None).alias(c) for c in extra])
    rows = rows.select(memberships.columns).cast(memberships.schema)
    added = rows.group_by("signal_idx").agg(pl.len().alias("_new"))
    signals = (signals.join(added, on="signal_idx", how="left", maintain_order="left")
               .with_columns((pl.col("df") + pl.col("_new").fill_null(0)).cast(signals.schema["df"]).alias("df"))
               .drop("_new"))
    return signals, pl.concat([memberships, rows]).sort("signal_idx", "account_idx")
