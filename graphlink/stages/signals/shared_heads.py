"""Which words of a long prompt are read: not all of a long head many accounts' prompts share.

A prompt is read up to ``max_words`` words (:class:`graphlink.config.SignalConfig` ``max_words_per_prompt``),
which bounds the cost of megabyte prompts. Requests sent through an agent framework, a retrieval tool or a
company's wrapper open with the same long system prompt, and an operator can wrap an extraction template in a
public one: read from its first word, such a prompt spends the whole budget on the shared passage, its own request
is never read, and everyone sending the passage -- the framework's ordinary users too -- looks like one fleet
(BENCHMARKS.md, thirtieth pass; ``benchmarks/independent_world.py --agent-fleets``).

So a prompt longer than ``max_words`` whose first ``max_words // 2`` words open long prompts of at least two
accounts is read past the head those prompts share word for word (:func:`shared_heads`: their longest common
prefix, at least ``max_words // 2`` words, at most ``2 * max_words``): its first :data:`KEPT_HEAD_SHARE` of
``max_words`` words -- the shared passage still counts as shared, with few values -- then the words after the
shared head, ``max_words`` in all, with no shingle across the cut. A prompt at most ``max_words`` long is read
whole as before, and so is a long prompt opening no one else's (a pasted document, a chat's own history).

Examples
--------
>>> texts = pl.DataFrame({"text_hash": [1, 2, 3], "norm": [
...     "a b c d e f g h x y", "a b c d e f g h z w", "short"]})
>>> sent = pl.DataFrame({"account_idx": [0, 1, 2], "text_hash": [1, 2, 3]})
>>> read_past_shared_heads(texts, sent, 8, 0.25)["norm"].to_list()
['a b … x y', 'a b … z w', 'short']
"""

from __future__ import annotations

import os

import polars as pl

__all__ = ["CUT", "KEPT_HEAD_SHARE", "kept_words", "plain_positions", "read_past_shared_heads", "shared_heads",
           "spans_cut"]

#: The word standing for the words left out: punctuation, which :func:`graphlink.stages.signals.normalise.normalise_prompt`
#: never leaves in a word, so no prompt's own words equal it.
CUT = "…"
#: Share of ``max_words`` read from the start of a shared head (16 of 64 words: 12 shingles of 5). A private
#: instruction longer than the budget still ties its senders (at least ``TEMPLATE_SHINGLES`` = 8 shingles, at least
#: ``MIN_TIE_VALUES`` = 5 values); a public passage gives those few values, not the whole budget.
KEPT_HEAD_SHARE = 0.25


def shared_heads(texts: pl.DataFrame, sent: pl.DataFrame, max_words: int) -> pl.DataFrame:
    """``text_hash, start``: the long texts (more than ``max_words`` words) read past a shared head, and where the
    head ends (in words): the longest prefix common to every long text opening with the same ``max_words // 2``
    words, when texts of at least two accounts (``sent``: ``account_idx, text_hash``) open so and the prefix is at
    least ``max_words // 2`` words; at most ``2 * max_words``."""
    half = max(max_words // 2, 1)
    words = pl.col("norm").str.split(" ")
    none = pl.DataFrame(schema={"text_hash": texts.schema["text_hash"], "start": pl.UInt32})
    # Each text's first 2 * max_words words, each followed by a space: the words common to a group's texts are
    # the spaces in the common prefix of its smallest and largest (as strings, every text lies between them).
    # (A text of more than max_words words has more than 2 * max_words bytes: only those are split to count
    # their words; 1.68M texts: 0.9 -> 0.1 s.)
    long = (texts.filter(pl.col("norm").str.len_bytes() > 2 * max_words).filter(words.list.len() > max_words)
            .select("text_hash", words.list.head(half).list.join(" ").hash(0).alias("head"),
                    (words.list.head(2 * max_words).list.join(" ") + " ").alias("words")))
    groups = (long.select("text_hash", "head").join(sent.select("account_idx", "text_hash"), on="text_hash")
              .group_by("head").agg(pl.col("account_idx").n_unique().alias("accounts"),
                                    pl.col("text_hash").n_unique().alias("texts"))
              .filter((pl.col("accounts") >= 2) & (pl.col("texts") >= 2)))
    if groups.is_empty():
        return none
    ends = (long.join(groups.select("head"), on="head")
            .group_by("head").agg(pl.col("words").min().alias("lo"), pl.col("words").max().alias("hi")))
    start = [os.path.commonprefix([lo, hi]).count(" ") for lo, hi in zip(ends["lo"], ends["hi"])]
    ends = ends.select("head", pl.Series("start", start, dtype=pl.UInt32)).filter(pl.col("start") >= half)
    return long.join(ends, on="head").select("text_hash", "start") if ends.height else none


def read_past_shared_heads(texts: pl.DataFrame, sent: pl.DataFrame, max_words: int,
                           kept_share: float = KEPT_HEAD_SHARE) -> pl.DataFrame:
    """``texts`` (``text_hash, norm``) with the words read of each text past a shared head (:func:`shared_heads`):
    its first ``kept_share * max_words`` words, :data:`CUT`, then the words after the head, ``max_words`` in all;
    ``start`` says where the head ended (null for a text read as it was). ``texts`` itself when none is."""
    starts = shared_heads(texts, sent, max_words)
    if starts.is_empty():
        return texts
    kept = kept_words(max_words, kept_share)
    words = pl.col("norm").str.split(" ")
    past = (texts.join(starts, on="text_hash")
            .select("text_hash", pl.concat_list([words.list.head(kept), pl.lit([CUT], dtype=pl.List(pl.String)),
                                                 words.list.slice(pl.col("start"), max_words - kept)])
                    .list.join(" ").alias("norm")))
    return texts.join(past.join(starts, on="text_hash"), on="text_hash", how="left", suffix="_past").select(
        "text_hash", pl.coalesce("norm_past", "norm").alias("norm"), "start")


def kept_words(max_words: int, kept_share: float = KEPT_HEAD_SHARE) -> int:
    """Words read from the start of a shared head."""
    return int(kept_share * max_words)


def plain_positions(located: pl.DataFrame, texts: pl.DataFrame, max_words: int) -> pl.DataFrame:
    """``located`` (``shingle_hash, text_hash, pos``, positions in the words :func:`read_past_shared_heads` read of
    ``texts``) with each position in the text's normalised words (a shingle never spans :data:`CUT`), so quotes
    are read from the prompt as written."""
    if "start" not in texts.columns:
        return located
    kept = kept_words(max_words)
    pos, start = pl.col("pos"), pl.col("start")
    return (located.join(texts.select("text_hash", "start"), on="text_hash", how="left")
            .with_columns(pl.when(start.is_null() | (pos < kept)).then(pos).otherwise(pos - kept - 1 + start)
                          .cast(located.schema["pos"]).alias("pos")).drop("start"))


def spans_cut(word: str, ngram: int) -> pl.Expr:
    """True for a row whose ``ngram``-word window (this row's word and the next ``ngram - 1``, rows in word
    order) holds :data:`CUT`."""
    return pl.any_horizontal([(pl.col(word).shift(-i) == CUT).fill_null(False) for i in range(ngram)])
