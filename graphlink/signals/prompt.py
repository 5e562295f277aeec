"""Prompt signals: hashed word n-gram shingles of normalised prompts.

Templated extraction prompts ("Think step by step and show all of your
reasoning...") reuse long word sequences with varied fills; shared 5-word
shingles reveal the template while free text rarely shares one by chance.

Cost is bounded three ways: each account contributes at most
``max_prompts_per_account`` distinct prompts (the ones with the smallest text
hash, so the sample does not depend on row order), each prompt only its first
``max_words_per_prompt`` words, and each distinct text is shingled once however
many accounts sent it.
"""

from __future__ import annotations

import functools
import string

import numpy as np
import polars as pl

from graphlink.encode import (
    EncodedEvents, count_by_account, encode_frame, position_in_run, text_pairs, value_counts, with_account_ids,
)

# Characters kept per word on average before the word cap applies; only bounds
# the regex work on megabyte prompts.
_CHARS_PER_WORD = 24
# Odd 64-bit multipliers (golden ratio and splitmix64 constants) weighting each word of a shingle.
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3)


# ASCII punctuation and whitespace but the space: what ``(?-u)[[:punct:]\s]`` matches.
_SEPARATORS = [*string.punctuation, "\t", "\n", "\x0b", "\x0c", "\r"]


# Invisible characters removed before comparing: every format character (Unicode
# category Cf: zero-width space/joiners U+200B-D, word joiner U+2060, BOM U+FEFF,
# soft hyphen, bidi controls, tags) and the invisible fillers and selectors of other
# categories (combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian free variation selectors, braille blank, variation selectors).
_INVISIBLE = (r"[\p{Cf}\x{034F}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{2800}\x{3164}"
              r"\x{FE00}-\x{FE0F}\x{FFA0}\x{E0100}-\x{E01EF}]")
# Scripts written without spaces between words: each character becomes a word, so
# 5-word shingles are 5-character n-grams of those runs.
_SPACELESS = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"


@functools.cache
def _confusable_table() -> tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]]:
    """Two ``(sources, targets)`` tables folding non-ASCII look-alike letters to the ASCII letter or digit they imitate.

    Built from the Unicode TR39 confusables data shipped by the
    ``confusable_homoglyphs`` package (MIT licence; its ``confusables.json``
    is generated from Unicode's ``confusables.txt``). Only single characters
    confusable with a single ASCII letter or digit of the same case are
    folded (Cyrillic ``а`` and ``Т``, Greek ``ο`` and ``Ν``, Latin ``ɑ``...),
    so text is folded to one script (Latin) and ASCII is never touched. The
    first table applies before lower-casing (targets lower case); the second
    after it: the lower-case forms of upper-case look-alikes not folded
    already (Cyrillic ``Т`` may arrive as ``т``) and full case folding
    (``ß`` -> ``ss``, ``ς`` -> ``σ``).
    """
    import importlib.resources
    import json

    data = json.loads((importlib.resources.files("confusable_homoglyphs") / "confusables.json")
                      .read_text(encoding="utf-8"))
    exact: dict[str, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = sorted(g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum())
        same_case = [c for c in ascii_ if c.isupper() == char.isupper()]
        if same_case:
            exact[char] = same_case[0].lower()
    for char in data:  # an upper-case look-alike of only lower-case letters (Greek Ι, "l"): as its lower case
        low = char.lower()
        if len(char) == 1 and not char.isascii() and char not in exact and len(low) == 1 and low in exact:
            exact[char] = exact[low]
    after: dict[str, str] = {}
    for char, target in exact.items():
        low = char.lower()
        if len(low) == 1 and not low.isascii() and low not in exact:
            after.setdefault(low, target)
    for char, target in _casefold_table().items():
        after.setdefault(char, target)
    before_keys, after_keys = sorted(exact), sorted(after)
    return (before_keys, [exact[k] for k in before_keys]), (after_keys, [after[k] for k in after_keys])


@functools.cache
def _casefold_table() -> dict[str, str]:
    """Lower-case characters whose Unicode case folding differs from themselves (``ß`` -> ``ss``, ``ς`` -> ``σ``)."""
    table = {}
    for code in range(0x80, 0x20000):
        char = chr(code)
        if char.lower() == char and char.casefold() != char:
            table[char] = char.casefold()
    return table


def _fold_unicode(text: pl.Expr) -> pl.Expr:
    """Unicode normalisation and lower case before comparison (see :func:`normalise_prompt`)."""
    (before, before_to), (after, after_to) = _confusable_table()
    return (
        text.str.normalize("NFKC")
        .str.replace_all(_INVISIBLE, "")
        .str.replace_many(before, before_to)
        .str.to_lowercase()
        .str.replace_many(after, after_to)
        .str.replace_all(_SPACELESS, " $0 ")
        .str.replace_all(r"[\p{P}\p{Z}]", " ")
    )


def _words(lowered: pl.Expr) -> pl.Expr:
    """Digits to ``0``, ASCII punctuation and whitespace to single spaces (ASCII-only classes)."""
    # ASCII only: 2.5x faster than Unicode-aware classes (measured on 1M prompts).
    # Punctuation and whitespace become spaces one character at a time (an
    # Aho-Corasick replace_many: 4x faster than a regex class on 2M prompts), then
    # runs of spaces collapse.
    return (
        lowered.str.replace_all(r"(?-u)[0-9]+", "0")
        .str.replace_many(_SEPARATORS, [" "] * len(_SEPARATORS))
        .str.replace_all(" {2,}", " ")
        .str.strip_chars()
    )


def _is_ascii(text: pl.Expr) -> pl.Expr:
    return text.str.len_bytes() == text.str.len_chars()


def normalise_prompt(prompt: pl.Expr) -> pl.Expr:
    """Prompt text as compared: cosmetic variation removed, one word per space-separated token.

    Steps: Unicode NFKC (full-width and mathematical letters, ligatures);
    invisible and format characters removed (category Cf such as U+200B-D,
    U+2060, U+FEFF, and invisible fillers); look-alike letters of other
    scripts folded to the ASCII letters they imitate (Unicode TR39
    confusables, see :func:`_confusable_table`); lower case with full case
    folding (``ß`` -> ``ss``); characters of scripts written without spaces (Han,
    kana, Thai, Lao, Khmer, Myanmar, Tibetan) split into one word each;
    digits to ``0``; punctuation and whitespace to single spaces.

    ASCII text (nearly all prompts) needs none of the Unicode steps: the
    pipeline (:func:`_sample`) runs them only on the others; this expression
    runs them on every row and gives the same result.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["  Solve: 12 + 7 = ?\\n Think STEP-by-step! ",
    ...                          "Thi\\u200bnk st\\u0435p ｂｙ step", "请把下面这段话翻译成英文"]})
    >>> df.select(normalise_prompt(pl.col("p")))["p"].to_list()
    ['solve 0 0 think step by step', 'think step by step', '请 把 下 面 这 段 话 翻 译 成 英 文']
    """
    return _words(_fold_unicode(prompt))


def _display_words(prompt: pl.Expr) -> pl.Expr:
    """The prompt as written, split into the words :func:`normalise_prompt` would give (for quoting shingles)."""
    return (
        prompt.str.replace_all(_INVISIBLE, "")
        .str.replace_all(_SPACELESS, " $0 ")
        .str.replace_all(r"[\p{P}\p{Z}]", " ")
        .str.replace_many(_SEPARATORS, [" "] * len(_SEPARATORS))
        .str.replace_all(" {2,}", " ")
        .str.strip_chars()
    )


def shingle_texts(texts: pl.LazyFrame, ngram: int, max_words: int, seed: int) -> pl.LazyFrame:
    """Explode ``text_hash, norm`` rows into ``text_hash, pos, shingle_hash``.

    Each word is hashed once and a shingle's hash mixes its words' hashes
    (a sum with a distinct odd multiplier per position, then hashed), so no
    n-gram string is ever built (texts of kept shingles are recovered
    afterwards with :func:`shingle_text`). A text with fewer than ``ngram``
    words yields no shingle; a shingle repeated within a text appears once per
    repetition (deduplicating 30M rows cost 3 s for a handful of repeats).

    Examples
    --------
    >>> lf = pl.LazyFrame({"text_hash": [1, 2], "norm": ["a b c d", "x b c d"]})
    >>> out = shingle_texts(lf, 3, 64, 0).collect().sort("text_hash", "pos")
    >>> out["pos"].to_list()
    [0, 1, 0, 1]
    >>> out["shingle_hash"][1] == out["shingle_hash"][3]  # "b c d" in both
    True
    """
    words = (
        texts.select("text_hash", pl.col("norm").str.split(" ").list.head(max_words).alias("word"))
        .with_columns(pl.int_ranges(0, pl.col("word").list.len(), dtype=pl.UInt32).alias("pos"))
        .explode(["word", "pos"])
        .drop_nulls("word")
        .with_columns(pl.col("word").hash(seed).alias("word_hash"))
    )
    # Rows are grouped by text after the explode, so a global shift reads the next
    # words of the same text until the text ends (checked via text_hash).
    # u64 arithmetic wraps; the multipliers are odd, so every position matters (5x faster than a struct hash).
    gram = pl.sum_horizontal([pl.col("word_hash").shift(-i) * pl.lit(_MULTIPLIERS[i % len(_MULTIPLIERS)], pl.UInt64)
                              for i in range(ngram)]).hash(seed)
    within = pl.col("text_hash").shift(-(ngram - 1)) == pl.col("text_hash")
    return (
        words.with_columns(gram.alias("shingle_hash"), within.alias("within"))
        .filter(pl.col("within"))
        .select("text_hash", "pos", "shingle_hash")
    )


def quote_shingles(enc: EncodedEvents, texts: pl.DataFrame, located: pl.DataFrame, text_keys: pl.DataFrame,
                   ngram: int, max_words: int) -> pl.DataFrame:
    """``shingle_hash, shingle``: each located shingle's words as a person wrote them (<= 200 chars).

    The original prompt (the smallest prompt hash giving the located text) is
    read back and split into the words :func:`normalise_prompt` would give
    (:func:`_display_words`), so the quote keeps its case, digits, script and
    look-alike letters. Words of spaceless scripts are joined without spaces.
    Where that split does not line up with the normalised words (a compatibility
    character NFKC expands into punctuation) or two shingles would read alike,
    the normalised words are quoted instead.
    """
    normalised = shingle_text(texts, located, ngram)
    if located.is_empty():
        return normalised
    keys = (text_keys.join(located.select("text_hash").unique(), on="text_hash", how="semi")
            .group_by("text_hash").agg(pl.col("key").min()))
    # One more pass over the prompt column (about what reading it costs: 1.4 s on 1M events).
    head = pl.col("prompt").str.slice(0, max_words * _CHARS_PER_WORD)
    originals = enc.texts("prompt", keys["key"], _display_words(head)).rename({"prompt": "display"})
    spaced = f"({_SPACELESS}) ({_SPACELESS})"
    words = pl.col("display").str.split(" ")
    quoted = (
        located.join(keys, on="text_hash").join(originals, on="key")
        .join(texts.select("text_hash", "norm"), on="text_hash")
        .filter(words.list.len() == pl.col("norm").str.split(" ").list.len())
        .select("shingle_hash", words.list.slice(pl.col("pos"), ngram).list.join(" ")
                .str.replace_all(spaced, "$1$2").str.replace_all(spaced, "$1$2")
                .str.slice(0, 200).alias("quote"))
    )
    out = normalised.join(quoted, on="shingle_hash", how="left").with_columns(
        pl.coalesce("quote", "shingle").alias("shown"))
    # Two shingles quoted alike would read as one value: those keep their normalised words.
    return out.select("shingle_hash", pl.when(pl.col("shown").is_duplicated()).then(pl.col("shingle"))
                      .otherwise(pl.col("shown")).alias("shingle"))


def shingle_text(texts: pl.DataFrame, located: pl.DataFrame, ngram: int) -> pl.DataFrame:
    """Readable text (<= 200 chars) of shingles located by ``shingle_hash, text_hash, pos``."""
    return (
        located.join(texts.select("text_hash", "norm"), on="text_hash")
        .select("shingle_hash",
                pl.col("norm").str.split(" ").list.slice(pl.col("pos"), ngram).list.join(" ")
                .str.slice(0, 200).alias("shingle"))
    )


def _prompts_per_account(counts: pl.Series, max_prompts: int, max_total: int | None) -> int:
    """Largest per-account sample size k <= max_prompts with sum(min(n_a, k)) <= max_total."""
    if max_total is None or int(counts.sum()) <= max_total:
        return max_prompts
    lo, hi = 1, max_prompts
    while lo < hi:  # binary search on k: the total is monotone in k
        mid = (lo + hi + 1) // 2
        if int(counts.clip(upper_bound=mid).sum()) <= max_total:
            lo = mid
        else:
            hi = mid - 1
    return lo


# The hash pre-filter keeps about this many times the prompts an account may contribute.
_HEADROOM = 4


def _ranked(frame: pl.DataFrame, n_accounts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(distinct, counts)``: distinct ``account_idx, key`` prompts with their rank in the
    account (by hash), and ``account_idx, count``: distinct prompts per account."""
    distinct = count_by_account(frame, "prompt", n_accounts).select("account_idx", "key")
    # Sorted by (account, hash): an account's rank is its row number from its first row.
    account = pl.col("account_idx")
    distinct = distinct.with_columns(position_in_run(account != account.shift(1)).alias("rank"))
    return distinct, value_counts(distinct["account_idx"])


def _smallest_prompts(enc: EncodedEvents, max_prompts: int, max_total: int | None) -> tuple[pl.DataFrame, int]:
    """``(account_idx, key of each chosen prompt; k)``: each account's ``k`` distinct prompts with the smallest hash.

    Counting the distinct prompts of every event (24M on the campaign preset)
    is not needed to find the smallest few: an account with ``n`` events
    keeps only hashes below ``_HEADROOM * k0 / n`` of the hash range, where
    ``k0 <= k`` is the sample size its event counts allow. The result is
    exact: if an account so cut kept fewer distinct prompts than the ``k``
    found, everything is counted again in full (heavy repetition of prompts
    does that; tested against the full count).
    """
    n_accounts = enc.index.height
    frame = enc.frame.select("account_idx", "prompt")
    events = enc.index["events"]
    lower = _prompts_per_account(events.filter(events > 0), max_prompts, max_total)
    share = np.minimum(_HEADROOM * lower / np.maximum(events.to_numpy().astype(np.float64), 1.0), 1.0)
    cut = share < 1.0
    distinct = None
    if cut.any():
        limits = (share * 2.0**63).astype(np.uint64) * np.uint64(2)  # below 2**64: no overflow
        limits[~cut] = np.uint64(2**64 - 1)
        kept = frame.filter(pl.col("prompt") <= pl.lit(pl.Series(limits)).gather(pl.col("account_idx")))
        distinct, counts = _ranked(kept, n_accounts)
        # Cut accounts' counts are lower bounds: the k they give is exact when every cut
        # account still has at least k distinct prompts (then min(n, k) = k either way).
        cap = _prompts_per_account(counts["count"], max_prompts, max_total)
        was_cut = pl.lit(pl.Series(cut)).gather(pl.col("account_idx"))
        if counts.filter(was_cut & (pl.col("count") >= cap)).height < int(cut.sum()):
            distinct = None  # a cut account kept too few: count everything
    if distinct is None:
        distinct, counts = _ranked(frame, n_accounts)
        cap = _prompts_per_account(counts["count"], max_prompts, max_total)
    return distinct.filter(pl.col("rank") < cap).select("account_idx", "key"), cap


def _sample(enc: EncodedEvents, max_prompts: int, max_total: int | None, max_words: int,
            seed: int) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """``(account_idx, norm, text_hash; k; key, text_hash)``: each account's sampled distinct prompts,
    normalised, the per-account sample size, and which prompt hashes (``key``) gave each text.

    The sample is each account's ``k`` distinct prompts with the smallest hash
    (``k`` from :func:`_prompts_per_account`), chosen on the encoded hashes;
    only the chosen prompts' text is read back and normalised (the costly steps).
    """
    chosen, cap = _smallest_prompts(enc, max_prompts, max_total)
    # Only the chosen prompts' text is read back, once per distinct prompt, copied out of the
    # read buffers while streaming (a concatenation writes new strings; case is kept for the
    # Unicode steps, which fold upper-case look-alikes before lower-casing).
    head = pl.col("prompt").str.slice(0, max_words * _CHARS_PER_WORD)
    texts = enc.texts("prompt", chosen["key"].unique(), pl.concat_str([head, pl.lit("")]))
    # Nearly all prompts are ASCII, where the Unicode steps change nothing: they run on the rest only
    # (the same result as normalise_prompt on every row, tested).
    ascii_ = _is_ascii(pl.col("prompt"))
    others = texts.filter(~ascii_)
    texts = texts.filter(ascii_).select("key", _words(pl.col("prompt").str.to_lowercase()).alias("norm"))
    if others.height:  # (the confusables table is loaded only then)
        texts = pl.concat([texts, others.select("key", _words(_fold_unicode(pl.col("prompt"))).alias("norm"))])
    sampled = (
        chosen.join(texts, on="key")
        .filter(pl.col("norm").str.len_bytes() > 0)
        .select("account_idx", "norm", pl.col("norm").hash(seed).alias("text_hash"), "key")
    )
    keys = sampled.select("key", "text_hash")
    return sampled.drop("key").unique(["account_idx", "text_hash"]), cap, keys


def prompt_pairs(enc: EncodedEvents, ngram: int, max_prompts: int, max_words: int, seed: int,
                 min_share: float = 0.0, min_templated: float = 0.0, min_prompts: int = 1,
                 max_total: int | None = None,
                 ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Keyed prompt pairs from encoded events: ``(pairs, values, stats, per_account)``.

    ``pairs`` has ``account_idx, kind, value_key, count`` (kind ``prompt``, one
    value per shingle), ``values`` the shingle texts; ``per_account`` has
    ``account_idx, prompts_sampled, prompts_templated``. Semantics as in
    :func:`prompt_signals`.
    """
    sampled, per_account_cap, text_keys = _sample(enc, max_prompts, max_total, max_words, seed)
    texts = sampled.select("text_hash", "norm").unique("text_hash")
    shingles = shingle_texts(texts.lazy(), ngram, max_words, seed).collect()
    # Most shingles carry a template's fill and occur once (22M of 30M on the campaign
    # preset). A shingle two accounts share occurs in two texts or in a text two accounts
    # sent: only those candidates are joined to accounts, which halves the rows counted
    # below and is the high-water mark of the signals stage.
    sent_twice = value_counts(sampled["text_hash"]).filter(pl.col("count") >= 2).select("text_hash")
    candidates = pl.concat([
        value_counts(shingles["shingle_hash"]).filter(pl.col("count") >= 2).select("shingle_hash"),
        shingles.join(sent_twice, on="text_hash", how="semi").select("shingle_hash"),
    ]).unique()
    # Every later use of the shingles (sharing, templated texts, spelling) is among the candidates.
    shingles = shingles.join(candidates, on="shingle_hash", how="semi")
    occurrences = sampled.select("account_idx", "text_hash").join(
        shingles.select("text_hash", "shingle_hash"), on="text_hash")
    # Occurrences of each shingle per account, then how many accounts have it:
    # sort-based counting on 36M occurrences instead of an n_unique per shingle.
    per_account_shingle = count_by_account(occurrences, "shingle_hash", enc.index.height)
    del occurrences  # tens of millions of rows, not needed again
    shared = (
        value_counts(per_account_shingle["key"])
        .filter(pl.col("count") >= 2).select(pl.col("key").alias("shingle_hash"))
    )
    # A prompt text is templated when one of its shingles is shared: a property of the text.
    templated_texts = shingles.join(shared, on="shingle_hash", how="semi").select(pl.col("text_hash").unique())
    per_account = (
        sampled.group_by("account_idx").agg(pl.len().cast(pl.UInt32).alias("prompts_sampled"))
        .join(sampled.join(templated_texts, on="text_hash", how="semi").group_by("account_idx")
              .agg(pl.len().cast(pl.UInt32).alias("prompts_templated")), on="account_idx", how="left")
        .with_columns(pl.col("prompts_templated").fill_null(0))
        .sort("account_idx")
    )
    templated = per_account.filter(
        (pl.col("prompts_sampled") >= min_prompts)
        & (pl.col("prompts_templated") >= min_templated * pl.col("prompts_sampled"))
    )
    kept = (
        per_account_shingle.rename({"key": "shingle_hash"})
        .join(shared, on="shingle_hash", how="semi")
        .join(templated.select("account_idx", "prompts_sampled"), on="account_idx")
        .filter(pl.col("count") >= min_share * pl.col("prompts_sampled"))
        .drop("prompts_sampled")
    )
    # Each shingle is quoted as written in one prompt: its first occurrence in the text with
    # the smallest hash (the same whatever the row order).
    occurring = shingles.join(kept.select("shingle_hash").unique(), on="shingle_hash", how="semi")
    located = (
        occurring.group_by("shingle_hash").agg(pl.col("text_hash").min())
        .join(occurring, on=["shingle_hash", "text_hash"])
        .group_by("shingle_hash", "text_hash").agg(pl.col("pos").min())
    )
    values = quote_shingles(enc, texts, located, text_keys, ngram, max_words).select(
        pl.lit("prompt").alias("kind"), pl.col("shingle_hash").alias("value_key"), pl.col("shingle").alias("value"))
    pairs = kept.select("account_idx", pl.lit("prompt").alias("kind"), pl.col("shingle_hash").alias("value_key"),
                        "count")
    stats = {"prompts_sampled": sampled.height, "distinct_prompt_texts": texts.height,
             "shingles_shared": shared.height,
             "accounts_templated": templated.height, "prompts_per_account_used": per_account_cap}
    return pairs, values, stats, per_account


def prompt_signals(events: pl.LazyFrame, ngram: int, max_prompts: int, max_words: int, seed: int,
                   min_share: float = 0.0, min_templated: float = 0.0, min_prompts: int = 1,
                   max_total: int | None = None) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Account-signal pairs of kind ``prompt``: ``account_id, kind, value, count``.

    ``value`` is the shingle as written in one prompt (at most ``ngram`` words, cut to
    200 characters) and ``count`` the number of the account's sampled distinct
    prompts containing it. Shingles seen in only one account are dropped.

    Only *templated* accounts give prompt signals: accounts with at least
    ``min_prompts`` sampled prompts of which at least ``min_templated`` contain
    a shingle shared with another account. An operator's templates run through
    nearly all of each fake account's traffic; a person uses "what is the
    difference between" in a few prompts among many. Of a templated account,
    shingles found in at least ``min_share`` of its prompts are kept: each of
    the operator's templates, not every incidental phrase.

    ``max_total`` bounds the prompts sampled over all accounts: when the log
    has more, the per-account sample shrinks below ``max_prompts`` until the
    total fits (the size used is reported as ``prompts_per_account_used``).

    Returns ``(pairs, stats, per_account)`` where ``per_account`` has
    ``account_id, prompts_sampled, prompts_templated`` (distinct prompts
    shingled, and those sharing a shingle with another account) for scoring.
    The pipeline runs :func:`prompt_pairs` on the encoded events instead.

    Examples
    --------
    >>> lf = pl.LazyFrame({"account_id": ["a", "a", "b", "b"], "prompt": [
    ...     "think step by step about x", "think step by step about y", "think step by step about z", "hello"]})
    >>> pairs, _, per_account = prompt_signals(lf, 4, 10, 64, 0, min_templated=0.5, min_prompts=2)
    >>> sorted(set(pairs["value"]))
    ['step by step about', 'think step by step']
    >>> per_account.sort("account_id").rows()
    [('a', 2, 2), ('b', 2, 1)]
    """
    enc = encode_frame(events.select("account_id", "prompt"), seed)
    pairs, values, stats, per_account = prompt_pairs(enc, ngram, max_prompts, max_words, seed, min_share,
                                                     min_templated, min_prompts, max_total)
    per_account = with_account_ids(per_account, enc.index)
    return text_pairs(pairs, values, enc.index), stats, per_account
