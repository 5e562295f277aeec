"""What a template burst is of: each sampled prompt's opening shingles, and which burst of a shared head its
continuation explains (:mod:`graphlink.stages.bursts`).

A burst template is a prompt's opening shingle, its first ``ngram`` normalised words. A prompt read past a head
other accounts' long prompts share (:mod:`graphlink.stages.signals.shared_heads`) has two openings: the head's and
the first words after it. The head is either a public wrapper -- an agent framework's system prompt, which every
one of the framework's users sends -- or an operator's own long template; text alone cannot tell which
(BENCHMARKS.md, thirty-first pass: dev independent s2 ``--agent-fleets``, a Japanese template of more than 64
characters is its own shared head). Their bursts can: a fleet wrapped in a framework sends one template after the
head, so most holders of the head's burst also hold one burst of what follows it, and the head's other holders in
that window are the framework's users who happened to send it in the same minutes; an operator's long template is
followed by fill-ins, each its own, and its head's burst stands.

Output schemas
--------------
:func:`prompt_openings`: ``openings`` -- ``key`` (prompt hash), ``template`` (UInt64 shingle hash), one row per
opening; ``opening_texts`` -- ``template, opening`` (String), ``head`` (Boolean).
:func:`explained_heads`: ``template, win, shift`` of the burst values to drop.
"""

from __future__ import annotations

import polars as pl

__all__ = ["explained_heads", "prompt_openings"]


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



def explained_heads(rows: pl.DataFrame, cand: pl.DataFrame, texts: pl.DataFrame) -> pl.DataFrame:
    """``template, win, shift`` of the burst values of a shared head (``texts``' ``head``) half of whose holders
    (``cand``'s ``k``) hold one burst value of what follows a head in the same window (``rows``: ``account_idx,
    template, win, shift``): the burst is of that template, sent after a framework's system prompt, and the head's
    other holders used the framework in the same minutes (a wrapped fleet's window holds the framework's users
    too). A head whose senders continue each their own way (an operator's long template and its fill-ins) keeps
    its burst."""
    heads = texts.filter("head").select("template")
    held = rows.select("account_idx", "template", "win", "shift").unique()
    on_head = held.join(heads, on="template", how="semi")
    after = held.join(heads, on="template", how="anti")
    overlap = (on_head.join(after, on=["account_idx", "win", "shift"], suffix="_after")
               .group_by("template", "win", "shift", "template_after").agg(pl.len().alias("both")))
    return (overlap.join(cand.select("template", "win", "shift", "k"), on=["template", "win", "shift"])
            .filter(2 * pl.col("both") >= pl.col("k")).select("template", "win", "shift").unique())
