"""What a template burst is of: each sampled prompt's opening shingles, and which burst of a shared head its
continuation explains (:mod:`graphlink.stages.bursts`).

A burst template is a prompt's opening shingle, its first ``ngram`` normalised words. A prompt read past a head
other accounts' long prompts share (:mod:`graphlink.stages.signals.shared_heads`) has two openings: the head's and
the first words after it. The head is either a public wrapper -- an agent framework's system prompt, which every
one of the framework's users sends -- or an operator's own long template; text alone cannot tell which
(BENCHMARKS.md, thirty-first pass: dev independent s2 ``--agent-fleets``, a Japanese template of more than 64
characters is its own shared head). Their bursts can: a fleet wrapped in a framework sends its templates after the
head, so most holders of the head's burst also hold a burst of what follows it, and the head's other holders in
that window are the framework's users who happened to send it in the same minutes; an operator's long template is
followed by fill-ins, each its own, and its head's burst keeps every holder.

Output schemas
--------------
:func:`prompt_openings`: ``openings`` -- ``key`` (prompt hash), ``template`` (UInt64 shingle hash), one row per
opening; ``opening_texts`` -- ``template, opening`` (String), ``head`` (Boolean).
:func:`head_bystanders`: its ``rows`` without a head burst's bystanders.
"""

from __future__ import annotations

import polars as pl

__all__ = ["head_bystanders", "prompt_openings"]


def prompt_openings(shingles: pl.DataFrame, text_keys: pl.DataFrame, texts: pl.DataFrame, ngram: int,
                    kept: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(openings, opening_texts)``: each sampled prompt's opening shingles (its first ``ngram`` normalised words).

    ``shingles`` (``text_hash, pos, shingle_hash``), ``text_keys`` (``key, text_hash``) and ``texts``
    (``text_hash, norm[, start]``) are the prompt signal's (:func:`graphlink.stages.signals.prompt.prompt_pairs`;
    shingles cut to those another text holds or another account sent). A prompt read past a head other
    accounts' long prompts share (non-null ``start``, ``kept`` head words before the cut:
    :mod:`graphlink.stages.signals.shared_heads`) opens twice: with the head (``head`` true: a framework's
    system prompt, or an operator's own long template) and with the first shingle after the cut (a wrapped
    fleet's template, or a framework user's own question); :func:`burst_values` tells which one burst.
    ``openings``: ``key, template`` (opening shingle's hash); ``opening_texts``: ``template, opening, head``
    (its words, at most 200 characters; whether it opens a shared head)."""
    pos = shingles.schema["pos"]
    cut = (pl.col("start").is_not_null() if kept and "start" in texts.columns else pl.lit(False)).alias("head")
    first = texts.select("text_hash", pl.lit(0, pos).alias("pos"), cut)
    first = pl.concat([first, first.filter("head").select("text_hash", pl.lit((kept or 0) + 1, pos).alias("pos"),
                                                          pl.lit(False).alias("head"))])
    opening = shingles.join(first, on=["text_hash", "pos"]).select("text_hash", "pos", "head",
                                                                   pl.col("shingle_hash").alias("template"))
    openings = (text_keys.unique("key").join(opening, on="text_hash").select("key", "template").unique()
                .sort("key", "template"))
    texts = (opening.sort("text_hash", "pos").group_by("template")
             .agg(pl.col("text_hash", "pos").first(), pl.col("head").any()).join(texts, on="text_hash")
             .select("template", pl.col("norm").str.split(" ").list.slice("pos", ngram).list.join(" ").str.slice(0, 200)
                     .alias("opening"), "head"))
    return openings, texts



def head_bystanders(rows: pl.DataFrame, cand: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``account_idx, template, win, shift``, ...: who holds each burst value) without the bystanders of a
    head's burst. A burst of a shared head (``texts``' ``head``; ``cand``'s ``k`` holders) at least half of whose
    holders also hold one burst of what follows a head in the same window is that template's, sent after a
    framework's system prompt: it goes, and the head's other holders (the framework's users in the same minutes) with
    it. When no one continuation holds half but all of them together do (a fleet sending several templates behind
    the head), the head's burst keeps only the holders who hold one of them. A head whose senders continue each
    their own way (an operator's long template and its fill-ins) keeps every holder.

    Examples
    --------
    Head 1 held by accounts 0-5; 0-1 also hold template 2 and 2-3 template 3 sent after it; 4 and 5 hold neither:

    >>> rows = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 0, 1, 2, 3], "template": [1] * 6 + [2, 2, 3, 3],
    ...                      "win": [9] * 10, "shift": [0] * 10})
    >>> cand = pl.DataFrame({"template": [1, 2, 3], "win": [9] * 3, "shift": [0] * 3, "k": [6, 2, 2]})
    >>> texts = pl.DataFrame({"template": [1, 2, 3], "head": [True, False, False]})
    >>> sorted(head_bystanders(rows, cand, texts).filter(pl.col("template") == 1)["account_idx"].to_list())
    [0, 1, 2, 3]

    Had 0-3 all held template 2, the head's burst would be template 2's and go:

    >>> rows = rows.with_columns(pl.when(pl.col("template") == 3).then(2).otherwise(pl.col("template"))
    ...                          .alias("template"))
    >>> head_bystanders(rows, cand, texts).filter(pl.col("template") == 1).height
    0
    """
    at = ["template", "win", "shift"]
    heads = texts.filter("head").select("template")
    held = rows.select("account_idx", *at).unique()
    on_head = held.join(heads, on="template", how="semi")
    after = held.join(heads, on="template", how="anti")
    k = cand.select(*at, "k")
    one = (on_head.join(after, on=["account_idx", "win", "shift"], suffix="_after")
           .group_by(*at, "template_after").agg(pl.len().alias("both")).join(k, on=at)
           .filter(2 * pl.col("both") >= pl.col("k")).select(at).unique())
    covered = on_head.join(after.select("account_idx", "win", "shift").unique(), on=["account_idx", "win", "shift"])
    some = (covered.group_by(at).agg(pl.len().alias("both")).join(k, on=at)
            .filter(2 * pl.col("both") >= pl.col("k")).select(at).join(one, on=at, how="anti"))
    return pl.concat([rows.join(one, on=at, how="anti").join(some, on=at, how="anti"),
                      rows.join(some, on=at, how="semi").join(covered, on=["account_idx", *at], how="semi")])
