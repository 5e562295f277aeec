"""Prompt signals: hashed word n-gram shingles of normalised prompts.

Templated extraction prompts ("Think step by step and show all of your reasoning...") reuse long word
sequences with varied fills; shared 5-word shingles reveal the template while free text rarely shares one by chance.

Cost is bounded three ways: each account contributes at most ``max_prompts_per_account`` distinct prompts (the ones
with the smallest text hash, so the sample does not depend on row order), each prompt ``max_words_per_prompt`` words (its first; a longer
prompt opening like other accounts' long ones is read past the head they share: :mod:`.shared_heads`), and each
distinct text is shingled once however many accounts sent it.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import SignalConfig
from graphlink.stages.signals.normalise import (SPACELESS, ascii_lower, ascii_words, copied_head, fold_unicode,
                                                is_ascii, normalise_prompt, visible_head, written_quote, written_words)
from graphlink.stages.burst_templates import prompt_openings
from graphlink.stages.burst_writing import thin_phrases
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.shared_heads import kept_words, plain_positions, read_past_shared_heads, spans_cut
from graphlink.stages.encode import (EncodedEvents, PromptHeads, count_by_account, encode_frame, position_in_run,
                                     text_pairs, value_counts, with_account_ids)

# Characters kept per word on average before the word cap applies; only bounds the regex work on megabyte prompts.
_CHARS_PER_WORD = 24
# Odd 64-bit multipliers (golden ratio and splitmix64 constants) weighting each word of a shingle.
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93,
                0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3)


def shingle_texts(texts: pl.LazyFrame, ngram: int, max_words: int, seed: int, cut: bool = False) -> pl.LazyFrame:
    """Explode ``text_hash, norm`` rows into ``text_hash, pos, shingle_hash``.

    Each word is hashed once and a shingle's hash mixes its words' hashes
    (a sum with a distinct odd multiplier per position, then hashed), so no
    n-gram string is ever built (texts of kept shingles are recovered
    afterwards with :func:`shingle_text`). A text with fewer than ``ngram``
    words yields no shingle; a shingle repeated within a text appears once per
    repetition (deduplicating 30M rows cost 3 s for a handful of repeats). ``cut``: no shingle spans
    :data:`~graphlink.stages.signals.shared_heads.CUT` (a text read past a shared head).

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
    within = (pl.col("text_hash").shift(-(ngram - 1)) == pl.col("text_hash")) & (~spans_cut("word", ngram) if cut else True)
    return (
        words.with_columns(gram.alias("shingle_hash"), within.alias("within"))
        .filter(pl.col("within"))
        .select("text_hash", "pos", "shingle_hash")
    )


def quote_shingles(enc: EncodedEvents, texts: pl.DataFrame, located: pl.DataFrame, text_keys: pl.DataFrame,
                   ngram: int, max_words: int, raw: pl.DataFrame | None = None) -> pl.DataFrame:
    """``shingle_hash, shingle``: each located shingle as it stands in a prompt (<= 200 chars).

    The original prompt (the smallest prompt hash giving the located text) is
    read back and cut at the words :func:`normalise_prompt` would give
    (:func:`written_words`), and the shingle's words are quoted with what stands
    between them in the prompt (:func:`written_quote`): case, digits, script,
    look-alike letters, punctuation and CamelCase as logged ("OrbitAgent, step-by-step",
    not "Orbit Agent step by step"), so a search of the log for the quote finds it;
    invisible characters and nonspacing marks are left out, a line break is one space (normalisation compares).
    Where that cut does not line up with the normalised words (a compatibility character NFKC expands into
    punctuation; a spacing accent alone and one in a word cancel in the count: each quote is normalised to check)
    or two shingles would read alike, the normalised words are quoted. ``raw`` (``key, prompt``: the
    prompts' first ``max_words * _CHARS_PER_WORD`` characters, as
    :func:`sample_prompts` read them) saves reading the prompt column again.
    """
    normalised = shingle_text(texts, located, ngram)
    if located.is_empty():
        return normalised
    keys = (text_keys.join(located.select("text_hash").unique(), on="text_hash", how="semi")
            .group_by("text_hash").agg(pl.col("key").min()))
    head = visible_head(pl.col("prompt"), max_words * _CHARS_PER_WORD)
    if raw is not None:
        # The sampled prompts' heads, kept from the read that chose them.
        originals = raw.join(keys.select("key"), on="key", how="semi").lazy().select(
            "key", written_words(pl.col("prompt")).alias("display")).collect(engine="streaming")
    else:
        # One more pass over the prompt column (about what reading it costs: 1.4 s on 1M events).
        originals = enc.texts("prompt", keys["key"], written_words(head)).rename({"prompt": "display"})
    words = pl.col("display")  # (and of the texts, only the located ones split: 176k of 1.7M, 2.0 -> 0.2 s of CPU)
    quoted = (
        located.join(keys, on="text_hash").join(originals, on="key")
        .join(texts.join(keys, on="text_hash", how="semi").select("text_hash", pl.col("norm").str.split(" ")), on="text_hash")
        .filter(words.list.len() == pl.col("norm").list.len())
        .select("shingle_hash", written_quote(words.list.slice(pl.col("pos"), ngram)).alias("quote"),
                pl.col("norm").list.slice(pl.col("pos"), ngram).list.join(" ").alias("words"))
        .filter(normalise_prompt(pl.col("quote")) == pl.col("words")).select("shingle_hash", pl.col("quote").str.slice(0, 200)))
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


def prompts_per_account(counts: pl.Series, max_prompts: int, max_total: int | None) -> int:
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
#: Fewest shingles a prompt shares with other accounts' prompts to count as a *template's* for
#: scoring (``prompts_scripted``; ``template_share``): a shared passage of at least ``ngram + 7``
#: words (12 at the default 5). A stock request ("what are common mistakes with X", "give me an
#: example of Y") shares a frame of a few words, and when two people ask the very same short thing,
#: a whole prompt of a few shingles; an operator's extraction template is an instruction of
#: sentences. Independent dev world 1 (11,000 accounts): 89 % of ring prompts share 8 or more
#: shingles, 10 % of ordinary people's (92 % share one); graphlink's own dev world mixed_1000:
#: 48 % of ring prompts against 51 % sharing any. Linking is unchanged: a shared shingle of any
#: prompt still links (``prompts_templated``).
TEMPLATE_SHINGLES = 8
#: The same passage in a script written without spaces (Han, kana, Thai...), whose words
#: :func:`normalise_prompt` splits by character: 12 words are about 24 characters (Chinese words
#: average under two characters, Japanese about two with its kana), so 20 shingles of 5 characters.
#: At 8, a polite request ("...について、わかりやすく説明してください", 18 characters shared by many
#: speakers) read as a template (break-it review, session 11).
SPACELESS_TEMPLATE_SHINGLES = 20
#: ``max_total`` of :func:`prompt_signals` when not given: no bound on the prompts sampled in all.
NO_TOTAL_CAP = 2**62


def ranked_prompts(frame: pl.DataFrame, n_accounts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(distinct, counts)``: distinct ``account_idx, key, requests`` prompts (``requests``: the
    account's events sending it) with their rank in the account (by hash), and ``account_idx,
    count``: distinct prompts per account."""
    distinct = count_by_account(frame, "prompt", n_accounts).select("account_idx", "key",
                                                                    pl.col("count").alias("requests"))
    # Sorted by (account, hash): an account's rank is its row number from its first row.
    account = pl.col("account_idx")
    distinct = distinct.with_columns(position_in_run(account != account.shift(1)).alias("rank"))
    return distinct, value_counts(distinct["account_idx"])


def hash_limits(events: pl.Series, max_prompts: int, max_total: int | None) -> np.ndarray | None:
    """Per account (``account_idx`` order): the largest prompt hash :func:`smallest_prompts` looks at first.

    ``events`` is the index's events per account. ``2**64 - 1`` for accounts
    not cut (few events); None when no account is cut. Also tells
    :func:`graphlink.stages.encode.encode_events` which prompts' heads to keep
    while it reads the prompt column, so the sample's text needs no second read.
    """
    lower = prompts_per_account(events.filter(events > 0), max_prompts, max_total)
    share = np.minimum(_HEADROOM * lower / np.maximum(events.to_numpy().astype(np.float64), 1.0), 1.0)
    cut = share < 1.0
    if not cut.any():
        return None
    limits = (share * 2.0**63).astype(np.uint64) * np.uint64(2)  # below 2**64: no overflow
    limits[~cut] = np.uint64(2**64 - 1)
    return limits


def head_text(max_words: int) -> pl.Expr:
    """A prompt's first ``max_words * _CHARS_PER_WORD`` characters past its padding (:func:`visible_head`), as new strings.

    A concatenation writes new strings, so the kept heads do not hold the read
    buffers; case is kept for the Unicode steps, which fold upper-case
    look-alikes before lower-casing.
    """
    return copied_head(pl.col("prompt"), max_words * _CHARS_PER_WORD)


def prompt_heads(config: SignalConfig) -> PromptHeads:
    """What :func:`graphlink.stages.encode.encode_events` keeps of the prompts for :func:`sampled_prompts`."""
    return PromptHeads(limits=lambda events: hash_limits(events, config.max_prompts_per_account,
                                                         config.max_prompts_total),
                       text=head_text(config.max_words_per_prompt))


def smallest_prompts(enc: EncodedEvents, max_prompts: int, max_total: int | None) -> tuple[pl.DataFrame, int]:
    """``(account_idx, key, requests of each chosen prompt; k)``: each account's ``k`` distinct prompts with the
    smallest hash, with the account's events sending each (``requests``).

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
    limits = hash_limits(enc.index["events"], max_prompts, max_total)
    distinct = None
    if limits is not None:
        cut = limits != np.uint64(2**64 - 1)
        kept = frame.filter(pl.col("prompt") <= pl.lit(pl.Series(limits)).gather(pl.col("account_idx")))
        distinct, counts = ranked_prompts(kept, n_accounts)
        # Cut accounts' counts are lower bounds: the k they give is exact when every cut
        # account still has at least k distinct prompts (then min(n, k) = k either way).
        cap = prompts_per_account(counts["count"], max_prompts, max_total)
        was_cut = pl.lit(pl.Series(cut)).gather(pl.col("account_idx"))
        if counts.filter(was_cut & (pl.col("count") >= cap)).height < int(cut.sum()):
            distinct = None  # a cut account kept too few: count everything
    if distinct is None:
        distinct, counts = ranked_prompts(frame, n_accounts)
        cap = prompts_per_account(counts["count"], max_prompts, max_total)
    # (a cut account's kept rows hold every event of the prompts kept: requests are exact)
    return distinct.filter(pl.col("rank") < cap).select("account_idx", "key", "requests"), cap


def sample_prompts(enc: EncodedEvents, max_prompts: int, max_total: int | None, max_words: int, seed: int) -> tuple:
    """:func:`sampled_prompts` without the prompts' raw heads: ``(per_text, k, keys)``."""
    per_text, cap, keys, _ = sampled_prompts(enc, max_prompts, max_total, max_words, seed)
    return per_text, cap, keys


def sampled_prompts(enc: EncodedEvents, max_prompts: int, max_total: int | None, max_words: int,
                    seed: int) -> tuple[pl.DataFrame, int, pl.DataFrame, pl.DataFrame]:
    """``(account_idx, text_hash, norm, prompts, requests; k; key, text_hash)``: each account's sampled distinct prompts,
    normalised (``prompts``: how many sampled raw prompts gave the text; ``requests``: the account's events sending them), the per-account sample size,
    and which prompt hashes (``key``) gave each text; last, ``key, prompt``: each chosen prompt's
    first ``max_words * _CHARS_PER_WORD`` characters as read (for :func:`quote_shingles`).

    The sample is each account's ``k`` distinct prompts with the smallest hash
    (``k`` from :func:`prompts_per_account`), chosen on the encoded hashes;
    only the chosen prompts' text is read back and normalised (the costly steps).
    """
    chosen, cap = smallest_prompts(enc, max_prompts, max_total)
    # Only the chosen prompts' text is used, once per distinct prompt: kept while the encoder
    # hashed the column (enc.prompt_heads: every prompt below its account's hash limit) or
    # read back in one more pass over the column.
    wanted = chosen["key"].unique()
    heads = enc.prompt_heads
    if heads is None:
        raw = enc.texts("prompt", wanted, head_text(max_words))
    else:
        # Copied out of the kept heads, which are released here (the sample is their only use).
        raw = heads.join(wanted.to_frame(), on="key", how="semi").with_columns(
            pl.concat_str([pl.col("prompt"), pl.lit("")]))
        enc.prompt_heads = heads = None
        missing = wanted.to_frame().join(raw, on="key", how="anti")["key"] if raw.height < wanted.len() else []  # (unique keys)
        if len(missing):  # a cut account kept too few below its limit (smallest_prompts counted all)
            raw = pl.concat([raw, enc.texts("prompt", missing, head_text(max_words))])
    # Nearly all prompts are ASCII, where the Unicode steps change nothing: they run on the rest only (the same result
    # as normalise_prompt on every row, tested). Streaming splits the rows over the threads (eager runs on one).
    ascii_ = is_ascii(pl.col("prompt"))
    others = raw.filter(~ascii_)
    texts = raw.lazy().filter(ascii_).select("key", ascii_words(ascii_lower(pl.col("prompt"), MARK)).alias("norm")
                                             ).collect(engine="streaming")
    if others.height:  # (the confusables table is loaded only then)
        texts = pl.concat([texts, others.select("key", ascii_words(fold_unicode(pl.col("prompt"), MARK)).alias("norm"))])
    texts = read_camel(texts.sort("key"))  # (by hash: read_runs counts the first texts' words; rows come in no fixed order)
    sampled = (
        chosen.join(texts, on="key")
        .filter(pl.col("norm").str.len_bytes() > 0)
        .select("account_idx", "norm", pl.col("norm").hash(seed).alias("text_hash"), "key", "requests")
    )
    keys = sampled.select("key", "text_hash")
    # Distinct raw prompts that normalise to one text (a job numbered 1, 2, 3...) are one
    # text to shingle but each a sampled prompt: ``prompts`` counts them.
    per_text = (sampled.group_by("account_idx", "text_hash")
                .agg(pl.col("norm").first(), pl.len().cast(pl.UInt32).alias("prompts"),
                     pl.col("requests").sum().cast(pl.UInt32).alias("requests"))
                .sort("account_idx", "text_hash"))
    return per_text, cap, keys, raw


def prompt_pairs(enc: EncodedEvents, config: SignalConfig,
                 ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int], pl.DataFrame, tuple[pl.DataFrame, ...]]:
    """Keyed prompt pairs from encoded events: ``(pairs, values, stats, per_account, (openings, texts, thin))``.

    ``pairs`` has ``account_idx, kind, value_key, count`` (kind ``prompt``, one value per shingle), ``values`` the shingle texts; ``per_account`` has
    ``account_idx, prompts_sampled, prompts_templated, prompts_scripted`` (sampled prompts, those
    sharing a shingle with another account's, those sharing :data:`TEMPLATE_SHINGLES` or more:
    a template's) and ``requests_sampled, requests_scripted`` (the account's events sending the
    sampled prompts and the scripted ones, for scoring's share of traffic). Settings are the
    ``ngram``, ``max_*`` and ``prompt_*`` fields and ``seed`` of ``config``;
    semantics as in :func:`prompt_signals`; ``openings, texts``: :func:`graphlink.stages.bursts.prompt_openings`;
    ``thin``: :func:`graphlink.stages.burst_writing.thin_phrases`.
    """
    ngram, max_prompts, max_words, seed = (config.ngram, config.max_prompts_per_account,
                                           config.max_words_per_prompt, config.seed)
    min_share, min_templated, min_prompts = (config.prompt_min_share, config.prompt_min_templated,
                                             config.prompt_min_prompts)
    max_total = config.max_prompts_total
    sampled, per_account_cap, text_keys, raw = sampled_prompts(enc, max_prompts, max_total, max_words, seed)
    # A long prompt is read past the head it shares with other accounts' (a framework's system prompt).
    plain = sampled.select("text_hash", "norm").unique("text_hash")
    texts = read_past_shared_heads(plain, sampled, max_words)
    shingles = shingle_texts(texts.lazy(), ngram, max_words, seed, texts is not plain).collect()
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
    # A prompt text is templated when one of its shingles is shared: a property of the text. It is
    # a template's (scripted) when it shares a passage of TEMPLATE_SHINGLES shingles or more.
    shared_per_text = (shingles.join(shared, on="shingle_hash", how="semi")
                       .group_by("text_hash").agg(pl.len().alias("n_shared")))
    # A text mostly in a spaceless script needs the longer passage (its words are characters);
    # only texts past the shorter bar are read.
    words = pl.col("norm").str.count_matches(" ") + 1
    bar = (shared_per_text.filter(pl.col("n_shared") >= TEMPLATE_SHINGLES).join(texts, on="text_hash")
           .select("text_hash", pl.when(2 * pl.col("norm").str.count_matches(SPACELESS) > words)
                   .then(SPACELESS_TEMPLATE_SHINGLES).otherwise(TEMPLATE_SHINGLES).alias("bar")))
    shared_per_text = shared_per_text.join(bar, on="text_hash", how="left")
    # Shares are of sampled raw prompts (a text sent as 48 numbered jobs counts 48 times) and, for
    # scoring, of requests: each sampled prompt weighs its events, so a ring resending one fixed
    # instruction with a tenth free-form reads 0.9, not 1 text of 8 (0.118; break-it review, session
    # 13). The sample stays k distinct prompts per account. One pass over the sampled texts.
    n_shared = pl.col("n_shared").fill_null(0)
    per_account = (
        sampled.join(shared_per_text, on="text_hash", how="left")
        .group_by("account_idx").agg(
            pl.col("prompts").sum().cast(pl.UInt32).alias("prompts_sampled"),
            pl.len().cast(pl.UInt32).alias("texts"),
            pl.col("prompts").filter(n_shared > 0).sum().cast(pl.UInt32).alias("prompts_templated"),
            pl.col("prompts").filter(n_shared >= pl.col("bar").fill_null(TEMPLATE_SHINGLES)).sum().cast(pl.UInt32)
            .alias("prompts_scripted"),
            pl.col("requests").sum().cast(pl.UInt32).alias("requests_sampled"),
            pl.col("requests").filter(n_shared >= pl.col("bar").fill_null(TEMPLATE_SHINGLES)).sum().cast(pl.UInt32)
            .alias("requests_scripted"))
        .sort("account_idx")
    )
    templated = per_account.filter(
        (pl.col("prompts_sampled") >= min_prompts)
        & (pl.col("prompts_templated") >= min_templated * pl.col("prompts_sampled"))
    )
    # A shingle's count is of the account's distinct texts holding it, against its distinct texts.
    kept = (
        per_account_shingle.rename({"key": "shingle_hash"})
        .join(shared, on="shingle_hash", how="semi")
        .join(templated.select("account_idx", "texts"), on="account_idx")
        .filter(pl.col("count") >= min_share * pl.col("texts"))
        .drop("texts")
    )
    # Each shingle is quoted as written in one prompt: its first occurrence in the text with
    # the smallest hash (the same whatever the row order).
    occurring = shingles.join(kept.select("shingle_hash").unique(), on="shingle_hash", how="semi")
    located = (
        occurring.group_by("shingle_hash").agg(pl.col("text_hash").min())
        .join(occurring, on=["shingle_hash", "text_hash"])
        .group_by("shingle_hash", "text_hash").agg(pl.col("pos").min())
    )
    openings = prompt_openings(shingles, text_keys, texts, ngram, kept_words(max_words))  # what bursts test
    values = quote_shingles(enc, plain, plain_positions(located, texts, max_words), text_keys, ngram, max_words, raw).select(
        pl.lit("prompt").alias("kind"), pl.col("shingle_hash").alias("value_key"), pl.col("shingle").alias("value"))
    pairs = kept.select("account_idx", pl.lit("prompt").alias("kind"), pl.col("shingle_hash").alias("value_key"),
                        "count")
    thin = thin_phrases(per_account_shingle, kept, per_account, values, min_prompts, min_templated, min_share)
    stats = {"prompts_sampled": sampled.height, "distinct_prompt_texts": texts.height, "shingles_shared": shared.height,
             "accounts_templated": templated.height, "prompts_per_account_used": per_account_cap}
    return pairs, values, stats, per_account.drop("texts"), (*openings, thin)


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
    ``account_id, prompts_sampled, prompts_templated, prompts_scripted`` (distinct prompts
    shingled, those sharing a shingle with another account, and those sharing
    :data:`TEMPLATE_SHINGLES` or more) and ``requests_sampled, requests_scripted`` for scoring.
    The pipeline runs :func:`prompt_pairs` on the encoded events instead.

    Examples
    --------
    >>> lf = pl.LazyFrame({"account_id": ["a", "a", "b", "b"], "prompt": [
    ...     "think step by step about x", "think step by step about y", "think step by step about z", "hello"]})
    >>> pairs, _, per_account = prompt_signals(lf, 4, 10, 64, 0, min_templated=0.5, min_prompts=2)
    >>> sorted(set(pairs["value"]))
    ['step by step about', 'think step by step']
    >>> per_account.sort("account_id").rows()  # account_id, sampled, templated, scripted; requests
    [('a', 2, 2, 0, 2, 0), ('b', 2, 1, 0, 2, 0)]
    """
    enc = encode_frame(events.select("account_id", "prompt"), seed)
    config = SignalConfig(ngram=ngram, max_prompts_per_account=max_prompts, max_words_per_prompt=max_words,
                          seed=seed, prompt_min_share=min_share, prompt_min_templated=min_templated,
                          prompt_min_prompts=min_prompts,
                          max_prompts_total=NO_TOTAL_CAP if max_total is None else max_total)
    pairs, values, stats, per_account, _ = prompt_pairs(enc, config)
    per_account = with_account_ids(per_account, enc.index)
    return text_pairs(pairs, values, enc.index), stats, per_account
