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

import polars as pl

# Characters kept per word on average before the word cap applies; only bounds
# the regex work on megabyte prompts.
_CHARS_PER_WORD = 24


def normalise_prompt(prompt: pl.Expr) -> pl.Expr:
    """Lower-case, digits to ``0``, punctuation to spaces, whitespace collapsed.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["  Solve: 12 + 7 = ?\\n Think STEP-by-step! "]})
    >>> df.select(normalise_prompt(pl.col("p")))["p"][0]
    'solve 0 0 think step by step'
    """
    # ASCII classes: 2.5x faster than Unicode-aware ones (measured on 1M prompts);
    # non-ASCII punctuation stays attached to its word, which only splits a shingle.
    return (
        prompt.str.to_lowercase()
        .str.replace_all(r"(?-u)[0-9]+", "0")
        .str.replace_all(r"(?-u)[[:punct:]]+", " ")
        .str.replace_all(r"(?-u)\s+", " ")
        .str.strip_chars()
    )


def shingle_texts(texts: pl.LazyFrame, ngram: int, max_words: int, seed: int) -> pl.LazyFrame:
    """Explode ``text_hash, norm`` rows into ``text_hash, pos, shingle_hash``.

    Each word is hashed once and a shingle's hash is the hash of its words'
    hashes, so no n-gram string is ever built (texts of kept shingles are
    recovered afterwards with :func:`shingle_text`). A text with fewer than
    ``ngram`` words yields no shingle; a shingle repeated within a text is kept once.

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
    gram = pl.struct([pl.col("word_hash").shift(-i).alias(f"w{i}") for i in range(ngram)]).hash(seed)
    within = pl.col("text_hash").shift(-(ngram - 1)) == pl.col("text_hash")
    return (
        words.with_columns(gram.alias("shingle_hash"), within.alias("within"))
        .filter(pl.col("within"))
        .select("text_hash", "pos", "shingle_hash")
        .unique(["text_hash", "shingle_hash"], keep="first", maintain_order=True)
    )


def shingle_text(texts: pl.DataFrame, located: pl.DataFrame, ngram: int) -> pl.DataFrame:
    """Readable text (<= 200 chars) of shingles located by ``shingle_hash, text_hash, pos``."""
    return (
        located.join(texts.select("text_hash", "norm"), on="text_hash")
        .select("shingle_hash",
                pl.col("norm").str.split(" ").list.slice(pl.col("pos"), ngram).list.join(" ")
                .str.slice(0, 200).alias("shingle"))
    )


def _prompts_per_account(hashed: pl.DataFrame, max_prompts: int, max_total: int | None) -> int:
    """Largest per-account sample size k <= max_prompts with sum(min(n_a, k)) <= max_total."""
    if max_total is None or hashed.height <= max_total:
        return max_prompts
    counts = hashed.group_by("account_id").agg(pl.len().alias("n"))["n"]
    lo, hi = 1, max_prompts
    while lo < hi:  # binary search on k: the total is monotone in k
        mid = (lo + hi + 1) // 2
        if int(counts.clip(upper_bound=mid).sum()) <= max_total:
            lo = mid
        else:
            hi = mid - 1
    return lo


def prompt_signals(events: pl.LazyFrame, ngram: int, max_prompts: int, max_words: int, seed: int,
                   min_share: float = 0.0, min_templated: float = 0.0, min_prompts: int = 1,
                   max_total: int | None = None) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Account-signal pairs of kind ``prompt``: ``account_id, kind, value, count``.

    ``value`` is the normalised shingle text (at most ``ngram`` words, cut to
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
    # Sample on hashes of the raw text first: only the sampled prompts' text is
    # ever materialised and normalised (the costly steps).
    raw = pl.col("prompt").str.slice(0, max_words * _CHARS_PER_WORD)
    hashed = (
        events.select("account_id", raw.hash(seed).alias("raw_hash"), pl.col("prompt").is_null().alias("missing"))
        .filter(~pl.col("missing")).drop("missing")
        .unique(["account_id", "raw_hash"])
        .with_columns(pl.col("raw_hash").rank("min").over("account_id").alias("rank"))
        .collect()
    )
    per_account_cap = _prompts_per_account(hashed, max_prompts, max_total)
    chosen = hashed.filter(pl.col("rank") <= per_account_cap).select("account_id", "raw_hash")
    sampled = (
        events.select("account_id", raw.alias("prompt")).drop_nulls()
        .with_columns(pl.col("prompt").hash(seed).alias("raw_hash"))
        .join(chosen.lazy(), on=["account_id", "raw_hash"], how="semi")
        .unique(["account_id", "raw_hash"])
        .select("account_id", normalise_prompt(pl.col("prompt")).alias("norm"))
        .filter(pl.col("norm").str.len_bytes() > 0)
        .with_columns(pl.col("norm").hash(seed).alias("text_hash"))
        .unique(["account_id", "text_hash"])
        .collect()
    )
    del hashed, chosen
    # Integer account keys from here on: grouping tens of millions of shingle
    # occurrences by a string id was the slowest step of this stage.
    keys = sampled.select(pl.col("account_id").unique().sort()).with_row_index("acct")
    sampled = sampled.join(keys, on="account_id").drop("account_id")
    texts = sampled.select("text_hash", "norm").unique("text_hash")
    shingles = shingle_texts(texts.lazy(), ngram, max_words, seed).collect()
    occurrences = (
        sampled.lazy().select("acct", "text_hash")
        .join(shingles.lazy().select("text_hash", "shingle_hash"), on="text_hash")
        .collect()
    )
    shared = (
        occurrences.group_by("shingle_hash").agg(pl.col("acct").n_unique().alias("df"))
        .filter(pl.col("df") >= 2)
    )
    occurrences = occurrences.join(shared.select("shingle_hash"), on="shingle_hash", how="semi")
    per_account = (
        sampled.group_by("acct").agg(pl.len().cast(pl.UInt32).alias("prompts_sampled"))
        .join(occurrences.group_by("acct").agg(pl.col("text_hash").n_unique().cast(pl.UInt32)
                                               .alias("prompts_templated")), on="acct", how="left")
        .with_columns(pl.col("prompts_templated").fill_null(0))
    )
    templated = per_account.filter(
        (pl.col("prompts_sampled") >= min_prompts)
        & (pl.col("prompts_templated") >= min_templated * pl.col("prompts_sampled"))
    )
    kept = (
        occurrences.lazy().join(templated.lazy(), on="acct")
        .group_by("acct", "shingle_hash")
        .agg(pl.len().cast(pl.UInt32).alias("count"), pl.col("prompts_sampled").first())
        .filter(pl.col("count") >= min_share * pl.col("prompts_sampled"))
        .drop("prompts_sampled")
        .collect()
    )
    located = (
        shingles.join(kept.select("shingle_hash").unique(), on="shingle_hash", how="semi")
        .sort("shingle_hash", "text_hash", "pos")
        .unique("shingle_hash", keep="first")
    )
    pairs = (
        kept.join(shingle_text(texts, located, ngram), on="shingle_hash").join(keys, on="acct")
        .select("account_id", pl.lit("prompt").alias("kind"), pl.col("shingle").alias("value"), "count")
    )
    per_account = per_account.join(keys, on="acct").select("account_id", "prompts_sampled", "prompts_templated")
    stats = {"prompts_sampled": sampled.height, "distinct_prompt_texts": texts.height,
             "shingles_shared": shared.height,
             "accounts_templated": templated.height, "prompts_per_account_used": per_account_cap}
    return pairs, stats, per_account
