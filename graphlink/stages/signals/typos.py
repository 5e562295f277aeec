"""Typos read against the log's own words: where a rare token is a frequent word of the log misspelt by one letter.

An operator can hide a template from word shingles by misspelling its words ("yuo are a metculous tutr. reasn
thruogh ..."): with a typo in (nearly) every word, every shingle of every copy is one no other copy holds, and the
template signal finds nothing (session 43: template share 0.00, a 12-account ring unflagged). Character n-grams would
see through it but need a calibration of their own (typo'd copies' 3-gram Jaccard 0.27-0.34, reached by 1,073 of
79,800 stranger pairs of the fixture log). The log itself knows the words: the other copies, and other people's
prompts, write them correctly, far more often than any one misspelling. So a rare token is read as the frequent word
of the texts one edit away (a letter deleted, inserted, substituted, or two adjacent letters swapped: the
Damerau-Levenshtein distance 1 of nearly all typing errors, Damerau 1964), when the texts write that word far more
often than the token and no other word one edit away comes near it: a spelling correction against the log's own
vocabulary, as Norvig's corrector reads a word as its most frequent known neighbour (P. Norvig, "How to write a
spelling corrector", 2007), the neighbours found by symmetric deletes (W. Garbe, SymSpell, 2012): a token and a word
one substitution apart lose the same letter to one deletion each, at the same place. Every text reads a token alike
(one token -> word map for all the texts, built over the distinct tokens, never per row).

What is read as written, where a correction would merge words rather than undo a typo (measured on the dev
independent worlds, whose made-up names and template words sit one edit from English words): words of fewer than
:data:`TYPO_CHARS` letters and tokens holding a digit or any character but a letter (identifiers, hashes, numbers);
a token one edit from a word the texts do not misspell :data:`TYPO_SPREAD` ways or more (a name next to a word:
"selfi" next to "self"); a token the texts themselves misspell so (a word: "that" next to "what"); a token with a
letter more than a three-letter word ("then", "they", "form" next to "the", "for"); and two frequent words run
together ("doof": "do of", not "door"). A two-letter token is read as the three-letter word it is with a letter
deleted ("th", "fr").
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.signals.runs import replace_tokens
from graphlink.stages.signals.segments import read_segments

__all__ = ["TYPO_CHARS", "TYPO_RATIO", "TYPO_SPREAD", "TYPO_TIE", "read_typos"]

#: The fewest letters of a word read (3: "teh", "yuo", "adn", "th" are read as "the", "you", "and"; two-letter words
#: have too many neighbours among the frequent words of any log: "on"/"in"/"an"/"at").
TYPO_CHARS = 3
#: How many times more often the first texts must write the word than the token (or than once, for a token they do not
#: write). A misspelling is written at most a few times per hundred correct spellings, though a template misspelt in
#: every copy writes its swaps and deletions of a short word often (a 60-copy ring's "teh": 1/8 of its misspellings
#: of "the"); words one edit apart are mostly written within a factor of 20 of each other ("than"/"then",
#: "form"/"from"), and the ones written further apart are left by the rules below (dev independent worlds: "that" and
#: "chat" 64 times rarer than "what", "ten" 53 times rarer than "then", none read).
TYPO_RATIO = 20
#: The word read must be written this many times as often as any other word one edit from the token (written
#: :data:`TYPO_RATIO` times or more); otherwise the token is read as written (a tie: "fro" next to "for" and "from").
TYPO_TIE = 10
#: The fewest distinct tokens read as one word (misspellings at random spread over many: a ring's 48 copies with a
#: typo in every word misspell each word 30-45 ways; the made-up names of dev independent worlds are one or two
#: tokens one edit from a word: "selfi" and "self", "fidralo" and "fidrazo" and "fidrapo").
TYPO_SPREAD = 4
# How many texts' words give the frequencies (the first: as graphlink.stages.signals.runs counts its words' costs; all
# of the ring tests' texts, a third of dev independent 1's distinct prompts, 3 % of the campaign preset's sample), and
# the most letters of a token read (a longer one is no misspelt word: a run, a hash).
_SAMPLE, _MAX_CHARS = 50_000, 32


def read_typos(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``texts`` with each misspelt word of ``column`` read as the frequent word of the texts one edit away.

    ``column`` holds normalised texts (words between single spaces). A token of :data:`TYPO_CHARS` to 32 letters is
    read as a word one edit from it (Damerau-Levenshtein: one letter deleted, inserted or substituted, or two adjacent
    letters swapped) that the first 50,000 texts write at least :data:`TYPO_RATIO` times as often as the token (a
    token they do not write counts once), and :data:`TYPO_TIE` times as often as any other word one edit away, where
    the texts misspell that word :data:`TYPO_SPREAD` ways or more, do not misspell the token so, and the token is
    not two frequent words written together nor a three-letter word with a letter more; a two-letter token is read
    as the three-letter word it is with a letter deleted. A word of ``vocabulary`` (words or phrases read elsewhere:
    ``match`` reads a few accounts' prompts against the known templates' shingles) counts as written :data:`TYPO_RATIO` times as
    often as any token. Every other token is read as written. Rows, their order and the other columns are kept.

    Neighbours are found by symmetric deletes (Garbe, SymSpell, 2012): each distinct token's and word's variants
    with one letter deleted, joined, plus the token's swaps of two adjacent letters; about 2 s on 1.7M texts (the
    distinct tokens of every text are the cost).

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["you are a meticulous tutor"] * 40 + [
    ...     "yuo aer a metculous tutr", "yo rae a meticlous tuto", "oyu ar a meticulos ttuor", "yau arr a mmeticulous",
    ...     "a f3c tutorx"]})
    >>> read_typos(t)["norm"].to_list()[-5:]
    ['you are a meticulous tutor', 'you are a meticulous tutor', 'you are a meticulous tutor', 'you are a meticulous', 'a f3c tutor']
    """
    reading = _reading(texts[column], vocabulary)
    if not reading.height:
        return texts
    # (whole tokens only, only the texts holding one rewritten: graphlink.stages.signals.runs.replace_tokens); a log that
    # misspells may run misspelt words together too (graphlink.stages.signals.segments) -- read from the log's own word
    # counts, so not for match's few newcomers read against the known templates (``vocabulary``)
    read = replace_tokens(texts, column, reading.select(w="token", phrase="word"))
    return read_segments(read, column) if vocabulary is None else read


def _reading(texts: pl.Series, vocabulary: pl.Series | None) -> pl.DataFrame:
    """``token, word``: each misspelt token of ``texts`` and the word it reads as (sorted by token)."""
    empty = pl.DataFrame(schema={"token": pl.String, "word": pl.String})
    # (tokens of one letter less than a word: "th", "fr" are "the", "for" with a letter deleted)
    readable = (pl.col("token").str.len_chars().is_between(TYPO_CHARS - 1, _MAX_CHARS)
                & pl.col("token").str.contains(r"^\p{L}+$"))
    first = texts.head(_SAMPLE).drop_nulls().str.split(" ").explode().alias("token").to_frame()
    counts = first.filter(readable).group_by("token").agg(pl.len().cast(pl.Int64).alias("n"))
    if vocabulary is not None:
        # (as written TYPO_RATIO times as often as any token: a few newcomers' prompts misspelling a known template's
        # word in every copy may write each misspelling a few times and the word never)
        most = TYPO_RATIO * max(int(counts["n"].max() or 0), 1)
        known = vocabulary.cast(pl.String).str.split(" ").explode().alias("token").to_frame().filter(readable).unique()
        counts = (pl.concat([counts, known.with_columns(pl.lit(most, pl.Int64).alias("n"))])
                  .group_by("token").agg(pl.col("n").max()))
    words = (counts.filter((pl.col("n") >= TYPO_RATIO) & (pl.col("token").str.len_chars() >= TYPO_CHARS))
             .rename({"token": "word", "n": "n_word"}))
    if not words.height:
        return empty
    # The first texts' misspellings first: every text's distinct tokens are most of the cost (3.5 s of CPU on the
    # campaign preset's 1.7M sampled texts), and a log whose first 50,000 texts misspell no word TYPO_SPREAD ways
    # (the preset's: none) reads none (a ring misspelling its template in every copy misspells each word 30-45 ways
    # in 48 copies).
    read = _read(first.filter(readable).unique(), counts, words, first)
    if texts.len() <= _SAMPLE or not read.height:
        return read
    # Every text's distinct tokens (the streaming engine spreads the split over the threads).
    every = (texts.alias("token").to_frame().lazy().select(pl.col("token").str.split(" ").explode().unique())
             .filter(readable).collect(engine="streaming"))
    return _read(every, counts, words, first)


def _read(tokens: pl.DataFrame, counts: pl.DataFrame, words: pl.DataFrame, first: pl.DataFrame) -> pl.DataFrame:
    """``token, word`` of :func:`_reading` over ``tokens`` (distinct), with the first texts' ``counts``, ``words``
    and tokens (``first``)."""
    empty = pl.DataFrame(schema={"token": pl.String, "word": pl.String})
    # (those the first texts write rarely enough that a word may be written TYPO_RATIO times as often)
    tokens = (tokens.join(counts, on="token", how="left").select("token", pl.col("n").fill_null(0).clip(1).alias("n_token"))
              .filter(pl.col("n_token") * TYPO_RATIO <= words["n_word"].max()))
    if not tokens.height:
        return empty
    one_less, word_less = _deletes(tokens["token"]), _deletes(words["word"]).rename({"token": "word"})
    pairs = pl.concat([
        # the token with a letter substituted: both lose it at the same place
        one_less.join(word_less, on=["variant", "at"]).select("token", "word"),
        # the token with a letter inserted (not into a word of TYPO_CHARS letters: "then", "they", "them" are "the"
        # with a letter more, and "for" is "form" with one less), or with one deleted
        one_less.join(words.select("word").filter(pl.col("word").str.len_chars() > TYPO_CHARS), left_on="variant",
                      right_on="word").select("token", word="variant"),
        tokens.select("token").join(word_less, left_on="token", right_on="variant").select("token", "word"),
        # two adjacent letters swapped
        _swaps(tokens["token"]).join(words.select("word"), left_on="variant", right_on="word")
        .select("token", word="variant"),
    ]).unique().filter(pl.col("token") != pl.col("word"))
    # The most frequent neighbour, where the texts write it TYPO_RATIO times as often as the token and TYPO_TIE times
    # as often as any other neighbour (ties read as written).
    ranked = (pairs.join(words, on="word").sort(["token", "n_word", "word"], descending=[False, True, False])
              .group_by("token", maintain_order=True)
              .agg(pl.col("word").first(), pl.col("n_word").first().alias("top"),
                   pl.col("n_word").get(1, null_on_oob=True).fill_null(0).alias("next")))
    read = (ranked.join(tokens, on="token")
            .filter((pl.col("top") >= TYPO_RATIO * pl.col("n_token")) & (pl.col("top") >= TYPO_TIE * pl.col("next"))))
    # Two frequent words written together are words run together, not a typo ("doof": "do of", not "door"; "aout":
    # "a out", not "about"; runs this short are read as written, graphlink.stages.signals.runs).
    often = first.group_by("token").len().filter(pl.col("len") >= TYPO_RATIO)["token"]  # (of any letters: "a")
    read = read.filter(~pl.col("token").is_in(_joined(read["token"], often).implode()))
    # Only words the texts misspell TYPO_SPREAD ways or more: a name one edit from a word is one token ("selfi" next to
    # "self"), where misspellings come in many kinds; and a token the texts misspell so is a word itself ("that" next
    # to "what", where a template misspells both).
    spread = read.group_by("word").len().filter(pl.col("len") >= TYPO_SPREAD)["word"]
    return (read.filter(pl.col("word").is_in(spread.implode()) & ~pl.col("token").is_in(spread.implode()))
            .select("token", "word").sort("token"))


def _joined(tokens: pl.Series, frequent: pl.Series) -> pl.Series:
    """The ``tokens`` that are two of ``frequent`` written together."""
    token, at = pl.col("token"), pl.col("at")
    return (tokens.alias("token").to_frame().with_columns(pl.int_ranges(1, token.str.len_chars()).alias("at"))
            .explode("at").drop_nulls("at")
            .filter(token.str.slice(0, at).is_in(frequent.implode()) & token.str.slice(at).is_in(frequent.implode()))
            ["token"].unique())


def _deletes(words: pl.Series) -> pl.DataFrame:
    """``token, at, variant``: each of ``words`` (as ``token``) with its letter at ``at`` deleted."""
    word, at = pl.col("token"), pl.col("at")
    return (words.alias("token").to_frame().with_columns(pl.int_ranges(0, word.str.len_chars(), dtype=pl.Int32).alias("at"))
            .explode("at").with_columns(pl.concat_str([word.str.slice(0, at), word.str.slice(at + 1)]).alias("variant")))


def _swaps(words: pl.Series) -> pl.DataFrame:
    """``token, variant``: each of ``words`` (as ``token``) with its letters at ``at`` and ``at + 1`` swapped (where
    they differ)."""
    word, at = pl.col("token"), pl.col("at")
    return (words.alias("token").to_frame().with_columns(pl.int_ranges(0, word.str.len_chars() - 1, dtype=pl.Int32).alias("at"))
            .explode("at").filter(word.str.slice(at, 1) != word.str.slice(at + 1, 1))
            .select("token", pl.concat_str([word.str.slice(0, at), word.str.slice(at + 1, 1), word.str.slice(at, 1),
                                            word.str.slice(at + 2)]).alias("variant")))
