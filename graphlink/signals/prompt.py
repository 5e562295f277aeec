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


def prompt_signals(events: pl.LazyFrame, ngram: int, max_prompts: int, max_words: int,
                   seed: int, min_share: float = 0.0, min_prompts: int = 1
                   ) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """Account-signal pairs of kind ``prompt``: ``account_id, kind, value, count``.

    ``value`` is the normalised shingle text (at most ``ngram`` words, cut to
    200 characters) and ``count`` the number of the account's sampled distinct
    prompts containing it. Shingles seen in only one account are dropped.

    Only an account's *dominant* shingles are kept: those found in at least
    ``min_share`` of its sampled prompts, for accounts with at least
    ``min_prompts`` of them. An operator's template runs through most of each
    fake account's traffic; a person uses "what is the difference between" in a
    few prompts among many. Keeping only what dominates an account's traffic
    stops generic phrasing from tying the whole benign population together.
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
    shingles = shingle_texts(texts, ngram, max_words, seed).collect()
    n_sampled = sampled.group_by("account_id").agg(pl.len().cast(pl.UInt32).alias("n_sampled"))
    per_account = (
        sampled.lazy().select("account_id", "text_hash")
        .join(shingles.lazy().select("text_hash", "shingle_hash"), on="text_hash")
        .group_by("account_id", "shingle_hash").agg(pl.len().cast(pl.UInt32).alias("count"))
        .join(n_sampled.lazy(), on="account_id")
        .filter((pl.col("n_sampled") >= min_prompts) & (pl.col("count") >= min_share * pl.col("n_sampled")))
        .drop("n_sampled")
    )
    shared = per_account.group_by("shingle_hash").agg(pl.len().alias("df")).filter(pl.col("df") >= 2)
    kept = per_account.join(shared.select("shingle_hash"), on="shingle_hash", how="semi").collect()
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
             "shingles_shared": int(shared.select(pl.len()).collect().item())}
    return pairs, stats, n_sampled.rename({"n_sampled": "prompts_sampled"})
