"""What a template burst is of: each sampled prompt's opening shingles, and which burst of a shared head its
continuation explains (:mod:`graphlink.stages.bursts`).

A burst template is a prompt's opening shingle, its first ``ngram`` normalised words. A prompt read past a head
other accounts' long prompts share (:mod:`graphlink.stages.signals.shared_heads`) has two openings: the head's and
the first words after it. The head is either a public wrapper -- an agent framework's system prompt, which every
one of the framework's users sends -- or an operator's own long template; text alone cannot tell which
(BENCHMARKS.md, thirty-first pass: dev independent s2 ``--agent-fleets``, a Japanese template of more than 64
characters is its own shared head). Their bursts can: a fleet wrapped in a framework sends its templates after the
head, so most holders of the head's burst also send, in the same minutes, what another holder sends after it, and
the head's other holders, each asking their own question, are the framework's users who happened to send it in those
minutes; an operator's long template is followed by fill-ins, each its own, and its head's burst keeps every holder.

Output schemas
--------------
:func:`prompt_openings`: ``openings`` -- ``key`` (prompt hash), ``template`` (UInt64 shingle hash), one row per
opening; ``opening_texts`` -- ``template, opening`` (String), ``head`` (Boolean).
:func:`head_bystanders`: its ``rows`` without a head burst's bystanders.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from graphlink.stages.burst_tails import poisson_tail_bound, trials_tail_bound

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
    (its words, at most 200 characters, none between two characters of a spaceless script as the prompt evidence
    quotes them; whether it opens a shared head)."""
    from graphlink.stages.signals.normalise import spaceless_joined  # the signals package imports this module

    pos = shingles.schema["pos"]
    cut = (pl.col("start").is_not_null() if kept and "start" in texts.columns else pl.lit(False)).alias("head")
    first = texts.select("text_hash", pl.lit(0, pos).alias("pos"), cut)
    first = pl.concat([first, first.filter("head").select("text_hash", pl.lit((kept or 0) + 1, pos).alias("pos"),
                                                          pl.lit(False).alias("head"))])
    # Only the shingles at an opening's position are joined (campaign preset: 1.7M of 8.2M rows; 1.6 -> 0.6 s of CPU).
    at = shingles.filter((pl.col("pos") == 0) | (pl.col("pos") == (kept or 0) + 1))
    opening = at.join(first, on=["text_hash", "pos"]).select("text_hash", "pos", "head",
                                                             pl.col("shingle_hash").alias("template"))
    openings = (text_keys.unique("key").join(opening, on="text_hash").select("key", "template").unique()
                .sort("key", "template"))
    texts = (opening.sort("text_hash", "pos").group_by("template")
             .agg(pl.col("text_hash", "pos").first(), pl.col("head").any()).join(texts, on="text_hash")
             .select("template", spaceless_joined(pl.col("norm").str.split(" ").list.slice("pos", ngram).list.join(" "))
                     .str.slice(0, 200).alias("opening"), "head"))
    return openings, texts


def head_bystanders(rows: pl.DataFrame, windows: pl.DataFrame, cand: pl.DataFrame, texts: pl.DataFrame, n: int,
                    alpha: float, min_holders: int = 3) -> pl.DataFrame:
    """``rows`` (``account_idx, template, win, shift``, ...: who holds each burst value) without the bystanders of
    the bursts of a shared head (``texts``' ``head``; ``cand``: ``template, win, shift, k, n_t, a_w[, expected, var]``:
    ``k`` holders of the ``n_t`` accounts sending the template, ``a_w`` of the ``n`` accounts active in the window,
    and the mean and variance of the holders chance puts there (:func:`graphlink.stages.bursts.burst_values`;
    without them, ``n_t * a_w / n``: every account equally likely to be in the window).

    What follows the head in a holder's prompts is read from ``windows`` (every opening sent, with the same
    ``win, shift`` columns). A continuation is *theirs* when two or more of the burst's holders send it in that
    window, more than the share of the log's other accounts opening a prompt with it predicts (that share of the
    ``k`` holders, its Poisson tail below ``alpha``): a fleet's template, not a stock phrase ("tell me a fun fact")
    two framework users asking their own questions share by chance (before session 50 any continuation two holders
    shared counted).

    * One burst of a continuation (in ``rows``) held by half the head's holders: the head's burst is that
      template's, sent after a framework's system prompt, and goes (its other holders with it).
    * Otherwise, when half the head's holders go on with continuations of theirs (a fleet sending several templates
      behind the head, none a burst by itself) and the others, who send only their own, are no more than chance
      puts in the window (their count not significant at ``alpha`` by
      :func:`graphlink.stages.burst_tails.trials_tail_bound`), the head's burst keeps the first: the others
      asked each their own question in the same minutes (the framework's users).
    * Otherwise, when in one of the head's bursts at least ``min_holders`` holders go on with one continuation of
      theirs, and they alone are a burst of the head (their count beyond chance at ``alpha``), the head is a wrapper
      the fleet writes behind: each of its bursts keeps only the holders going on with a continuation of theirs,
      whatever the others' number (dev independent 177 at 224k: an agent fleet's leftover accounts sending a
      52-word framework prompt, 11 of a burst's 25 holders going on with the fleet's template and 14 each with a
      question of its own, two of them the framework's users -- text cannot tell the fleet's from the users' among
      those, and the users were flagged with the fleet's cluster). Only in windows where chance puts at least one
      of the head's senders (a public framework's users are in every busy window; an operator's own long template,
      its holders going on with templated and free fill-ins, has next to none outside its bursts). A few of an
      operator's own long template's fill-ins that coincide are no burst by themselves.
    * A head whose holders continue each their own way (an operator's long template and its fill-ins) keeps
      every holder.

    Examples
    --------
    Head 1 held by accounts 0-5 in window 9; 0-1 go on with template 2 and 2-3 with template 3 (neither a burst),
    4 and 5 each with their own:

    >>> windows = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5] * 2, "template": [1] * 6 + [2, 2, 3, 3, 4, 5],
    ...                         "win": [9] * 12, "shift": [0] * 12})
    >>> rows = windows.filter(pl.col("template") == 1)

    Of 1,000 accounts 300 send the head and 10 are active in the window: 3 holders are what chance gives.

    >>> cand = pl.DataFrame({"template": [1], "win": [9], "shift": [0], "k": [6], "n_t": [300], "a_w": [10]})
    >>> texts = pl.DataFrame({"template": [1, 2, 3, 4, 5], "head": [True] + [False] * 4})
    >>> sorted(head_bystanders(rows, windows, cand, texts, 1000, 0.01)["account_idx"].to_list())
    [0, 1, 2, 3]

    Had only 10 accounts ever sent the head, two holders on their own would be beyond chance: the fleet's too.

    >>> head_bystanders(rows, windows, cand.with_columns(n_t=pl.lit(10)), texts, 1000, 0.01).height
    6
    """
    at = ["template", "win", "shift"]
    heads = texts.filter("head").select("template")
    lam = (pl.col("expected") if "expected" in cand.columns
           else (pl.col("n_t").cast(pl.Float64) * pl.col("a_w") / n).alias("expected"))
    var = pl.col("var") if "var" in cand.columns else (lam * (1 - pl.col("a_w") / n)).alias("var")
    k = cand.join(heads, on="template", how="semi").select(*at, "k", "n_t", lam, var)
    on_head = rows.select("account_idx", *at).unique().join(k, on=at, how="semi")
    follow = windows.join(heads, on="template", how="anti").select(
        "account_idx", pl.col("template").alias("after"), "win", "shift").unique()
    pairs = on_head.join(follow, on=["account_idx", "win", "shift"])
    shared = pairs.group_by(*at, "after").agg(pl.len().alias("both"))
    bursts = rows.select(pl.col("template").alias("after"), "win", "shift").unique()
    one = (shared.join(bursts, on=["after", "win", "shift"], how="semi").join(k, on=at)
           .filter(2 * pl.col("both") >= pl.col("k")).select(at).unique())
    # A continuation is the holders' own when more of them send it than the share of the log's other accounts
    # opening a prompt with it predicts (a fleet's template; not a stock phrase thousands open with, which two
    # framework users asking their own questions share by chance).
    senders = (windows.join(shared.select(pl.col("after").alias("template")).unique(), on="template", how="semi")
               .select("template", "account_idx").unique().group_by(pl.col("template").alias("after"))
               .agg(pl.len().alias("n_c")))
    theirs = shared.filter(pl.col("both") >= 2).join(k.select(*at, "k"), on=at).join(senders, on="after")
    # (no other account sending it counts as half of one: the Poisson mean stays positive)
    expect = (theirs["k"] * (theirs["n_c"] - theirs["both"]).cast(pl.Float64).clip(0.5) / (n - theirs["k"]).clip(1)).to_numpy()
    both = theirs["both"].to_numpy()
    tail = np.where(both >= expect + 1, poisson_tail_bound(both.astype(np.int64), expect), 0.0)
    theirs = theirs.filter(pl.Series(tail < math.log(alpha)))
    covered = (pairs.join(theirs, on=[*at, "after"], how="semi").select("account_idx", *at).unique())
    some = (covered.group_by(at).agg(pl.len().alias("both")).join(k, on=at)
            .filter(2 * pl.col("both") >= pl.col("k")).join(one, on=at, how="anti"))
    own = trials_tail_bound((some["k"] - some["both"]).to_numpy(), some["expected"].to_numpy(), some["var"].to_numpy(),
                            some["n_t"].to_numpy())
    some = some.filter(pl.Series(own >= math.log(alpha))).select(at)  # (the rest: as many as chance puts there)
    # A group going on with one continuation of theirs, a burst of the head by itself (more of the head's holders
    # than chance puts in the window): the head is a wrapper the fleet writes behind, in each of its bursts,
    # whatever the number of the others. (A few of an operator's own long template's fill-ins that coincide are
    # no burst by themselves.)
    # Chance is of the head's senders going on with that continuation: the head's expected senders in the window
    # times the continuation's share of them. (Against all the head's senders, a public framework's many users put
    # more in every window than a fleet's template has holders, and the rule never held: brk50, 80 framework users.)
    group = (theirs.filter(pl.col("both") >= min_holders).join(k.select(*at, "expected", "var", "n_t"), on=at)
             .with_columns((pl.col("n_c").cast(pl.Float64) / pl.col("n_t").clip(1)).clip(0.0, 1.0).alias("share")))
    alone = trials_tail_bound(group["both"].to_numpy(), (group["expected"] * group["share"]).to_numpy(),
                              (group["var"] * group["share"]).to_numpy(), group.select(pl.min_horizontal("n_c", "n_t"))["n_c"].to_numpy())
    wrapper = group.filter(pl.Series(alone < math.log(alpha))).select("template").unique()
    # Bystanders only where chance puts at least one of the head's senders in the window (a public framework's users
    # are in every busy window; an operator's own long template has next to no senders outside its bursts: dev a2's
    # Japanese template, 0.2 expected, whose holders go on with fill-ins of their own besides its templated ones).
    public = k.join(wrapper, on="template", how="semi").filter(pl.col("expected") >= 1).select(at)
    wrapped = pl.concat([some, public]).unique().join(one, on=at, how="anti")
    return pl.concat([rows.join(one, on=at, how="anti").join(wrapped, on=at, how="anti"),
                      rows.join(wrapped, on=at, how="semi").join(covered, on=["account_idx", *at], how="semi")])
