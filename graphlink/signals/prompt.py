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
    return (
        prompt.str.to_lowercase()
        .str.replace_all(r"\d+", "0")
        .str.replace_all(r"[^\w\s]|_", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def shingle_texts(texts: pl.LazyFrame, ngram: int, max_words: int, seed: int) -> pl.LazyFrame:
    """Explode ``text_hash, norm`` rows into ``text_hash, shingle_hash, shingle``.

    A text with fewer than ``ngram`` words yields no shingle.

    Examples
    --------
    >>> lf = pl.LazyFrame({"text_hash": [1], "norm": ["a b c d"]})
    >>> shingle_texts(lf, 3, 64, 0).collect()["shingle"].to_list()
    ['a b c', 'b c d']
    """
    words = pl.col("norm").str.split(" ").list.head(max_words)
    grams = words.list.eval(
        pl.concat_str([pl.element().shift(-i) for i in range(ngram)], separator=" ")
    ).list.drop_nulls()
    return (
        texts.select("text_hash", grams.alias("shingle"))
        .explode("shingle")
        .drop_nulls("shingle")
        .with_columns(pl.col("shingle").hash(seed).alias("shingle_hash"))
    )


def prompt_signals(events: pl.LazyFrame, ngram: int, max_prompts: int, max_words: int, seed: int,
                   min_share: float = 0.0, min_templated: float = 0.0, min_prompts: int = 1,
                   ) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
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
    sampled = (
        events.select("account_id", "prompt").drop_nulls()
        .with_columns(normalise_prompt(pl.col("prompt").str.slice(0, max_words * _CHARS_PER_WORD)).alias("norm"))
        .filter(pl.col("norm").str.len_bytes() > 0)
        .select("account_id", "norm", pl.col("norm").hash(seed).alias("text_hash"))
        .unique(["account_id", "text_hash"])
        .filter(pl.col("text_hash").rank("min").over("account_id") <= max_prompts)
        .collect()
    )
    texts = sampled.lazy().select("text_hash", "norm").unique("text_hash")
    shingles = shingle_texts(texts, ngram, max_words, seed).unique(["text_hash", "shingle_hash"]).collect()
    occurrences = (
        sampled.lazy().select("account_id", "text_hash")
        .join(shingles.lazy().select("text_hash", "shingle_hash"), on="text_hash")
    )
    shared = (
        occurrences.select("account_id", "shingle_hash").unique()
        .group_by("shingle_hash").agg(pl.len().alias("df")).filter(pl.col("df") >= 2)
    )
    occurrences = occurrences.join(shared.select("shingle_hash"), on="shingle_hash", how="semi").collect()
    per_account = (
        sampled.group_by("account_id").agg(pl.len().cast(pl.UInt32).alias("prompts_sampled"))
        .join(occurrences.group_by("account_id").agg(pl.col("text_hash").n_unique().cast(pl.UInt32)
                                                     .alias("prompts_templated")), on="account_id", how="left")
        .with_columns(pl.col("prompts_templated").fill_null(0))
    )
    templated = per_account.filter(
        (pl.col("prompts_sampled") >= min_prompts)
        & (pl.col("prompts_templated") >= min_templated * pl.col("prompts_sampled"))
    )
    kept = (
        occurrences.lazy().join(templated.lazy(), on="account_id")
        .group_by("account_id", "shingle_hash")
        .agg(pl.len().cast(pl.UInt32).alias("count"), pl.col("prompts_sampled").first())
        .filter(pl.col("count") >= min_share * pl.col("prompts_sampled"))
        .drop("prompts_sampled")
        .collect()
    )
    text_of = (
        shingles.lazy().join(kept.lazy().select("shingle_hash").unique(), on="shingle_hash", how="semi")
        .group_by("shingle_hash").agg(pl.col("shingle").min().str.slice(0, 200))
    )
    pairs = (
        kept.lazy().join(text_of, on="shingle_hash")
        .select("account_id", pl.lit("prompt").alias("kind"), pl.col("shingle").alias("value"), "count")
        .collect()
    )
    stats = {"prompts_sampled": sampled.height, "distinct_prompt_texts": texts.collect().height,
             "shingles_shared": int(shared.select(pl.len()).collect().item()),
             "accounts_templated": templated.height}
    return pairs, stats, per_account
