"""Misspelt words run together, read as the log's words: a noisy-channel segmentation of the tokens left over.

An operator can stack both disguises the readers before this undo one at a time: drop spaces
(:mod:`graphlink.stages.signals.runs` cuts a run into the words the log writes) *and* misspell words
(:mod:`graphlink.stages.signals.typos` reads one token as the frequent word one edit away). A run holding misspelt
words ("Produceadetaliedrtaionalefwrthefolmlowingexecrise") is neither: no cut makes only log words, and no word is
one edit from the whole. Dev scenario worlds whose operator draws both (typos 0.4-0.7 of words, 0.6-0.8 of spaces
dropped) kept about half that operator's recall (crowds 1012: 80 of 157 flagged).

So, in a log whose texts are found to misspell (detect's texts; not ``match``'s few newcomers, read against the known
templates' words instead) (:func:`graphlink.stages.signals.typos.read_typos` read some typo:
the only logs this runs on), each token of :data:`MIN_CHARS` letters or more that the first texts write fewer than
:data:`RARE` times is segmented as the most probable sequence of the log's words, each possibly misspelt once: the
noisy-channel segmentation of Norvig ("Natural Language Corpus Data", in *Beautiful Data*, 2009), a word's cost
``-log`` of its share of the first texts' tokens, a misspelt word (a letter inserted or deleted, or one letter
deleted from each at any place: a substitution, two adjacent letters swapped, or a letter moved -- looser than the
typo reader, which asks a substitution's letters to be at the same place; symmetric deletes, Garbe's SymSpell 2012)
:data:`EDIT_COST` more. A token read as two words or more is
rewritten as them, in every text (one token -> phrase map, built over distinct tokens). A token nothing segments
(letters no word covers) is kept as written.

Dev, main -> this (precision 1.000 throughout): crowds 1012 recall 0.841 -> 0.988, 1050 0.893 -> 0.990, 1010 0.893
-> 0.998; crowds 1071 (random capitals too) 0.870 unchanged; templates 1008, 1012, 1018, 1026 and the dev independent
worlds identical flags. Cost: one Python pass over the rare long tokens (about 70,000 letters a second), only in such
logs, at most :data:`MAX_LETTERS` letters.
"""

from __future__ import annotations

import math

import polars as pl

from graphlink.stages.signals.runs import replace_tokens

__all__ = ["EDIT_COST", "MAX_CHARS", "MAX_LETTERS", "MIN_CHARS", "RARE", "WORD_COUNT", "read_segments"]

#: Tokens this long or longer are segmented: two words run together, shorter ones are
#: :mod:`graphlink.stages.signals.runs`' (its short runs) or one misspelt word.
MIN_CHARS = 8
#: A word of the segmentation is a token the first texts write at least this often (the typo reader's
#: :data:`~graphlink.stages.signals.typos.TYPO_RATIO`: a template's word, or the language's).
WORD_COUNT = 20
#: A token the first texts write this often or more is a word of its own, not a run (kept as written).
RARE = 3
#: The cost of a misspelt word over its correct spelling, in nats: about a 1-in-400 chance per word. Dev: 4-8 give
#: the same readings of the crowds worlds' templates; lower lets a misspelt short word beat a correct long one.
EDIT_COST = 6.0
#: Words of one or two letters cost this much more ("a", "to" fit anywhere and would cut long words apart; under
#: EDIT_COST, so a frequent "a" between two words is read, not taken for a letter inserted into one).
SHORT_COST = 2.0
#: The longest word tried, in letters.
MAX_WORD = 16
#: Tokens longer than this are read as written (the run reader's longest run, ``RUN_MAX_CHARS``): the segmentation
#: costs about the token's length times :data:`MAX_WORD` lookups.
MAX_CHARS = 256
#: At most this many letters, over all distinct tokens, are segmented (those of the first texts first, then
#: alphabetical): the segmentation is a Python pass whose work is about the letters times the longest word, so letters,
#: not tokens, bound what an attacker's text can cost. Dev crowds 1012 (230k prompts): 54,967 such tokens, 855k letters,
#: all read, 11.8 s of CPU (2 cores loaded); 50,000 crafted 256-letter tokens of the log's words, each misspelt (the
#: session-45 break-it review: 353 s of CPU when tokens were counted) stop after 3,906 tokens, 9.9 s.
MAX_LETTERS = 1_000_000
_SAMPLE = 50_000


def read_segments(texts: pl.DataFrame, column: str = "norm") -> pl.DataFrame:
    """``texts`` with each rare long token of ``column`` read as the log's words it runs together, misspellings and all.

    ``column`` holds normalised texts (words between single spaces), read for runs and typos already. Rows, their
    order and the other columns are kept; a token is rewritten only when its segmentation has two words or more.

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["produce a detailed rationale for the following exercise"] * 30
    ...                   + ["produceadetaliedrationalefrthefollowingexrecise", "a zzzzzzzzzzzz"]})
    >>> read_segments(t)["norm"].to_list()[-2:]
    ['produce a detailed rationale for the following exercise', 'a zzzzzzzzzzzz']
    """
    first = texts[column].head(_SAMPLE).drop_nulls().str.split(" ").explode().alias("t").to_frame()
    counts = first.group_by("t").len()
    freq = dict(counts.filter((pl.col("len") >= WORD_COUNT) & pl.col("t").str.contains(r"^\p{L}+$")).iter_rows())
    if not freq:
        return texts
    long = pl.col("t").str.len_chars().is_between(MIN_CHARS, MAX_CHARS) & pl.col("t").str.contains(r"^\p{L}+$")
    every = (texts[column].alias("t").to_frame().lazy().select(pl.col("t").str.split(" ").explode().unique())
             .filter(long).collect())
    # The first texts' tokens first, then the others (each set sorted: the same input reads alike), up to MAX_LETTERS.
    rare = every.join(counts, on="t", how="left").filter(pl.col("len").fill_null(0) < RARE)
    tokens = (rare.with_columns(later=pl.col("len").is_null()).sort("later", "t")
              .filter(pl.col("t").str.len_chars().cast(pl.Int64).cum_sum() <= MAX_LETTERS)["t"].to_list())
    if not tokens:
        return texts
    read = _segmented(tokens, freq)
    if not read:
        return texts
    return replace_tokens(texts, column, pl.DataFrame({"w": list(read), "phrase": list(read.values())}))


def _segmented(tokens: list[str], freq: dict[str, int]) -> dict[str, str]:
    """Token -> phrase for each of ``tokens`` the words of ``freq`` (word -> count) segment into two words or more."""
    total = sum(freq.values())
    deleted: dict[str, list[str]] = {}
    for word in freq:
        for i in range(len(word)):
            deleted.setdefault(word[:i] + word[i + 1:], []).append(word)
    keys = set(freq) | set(deleted)  # what a piece with one letter deleted must be, to be near a word
    known: dict[str, tuple[str | None, bool]] = {}

    def word_of(piece: str) -> tuple[str | None, bool]:
        """The word ``piece`` is, or the most frequent neighbour (module docstring; ties: alphabetical), and whether it was misspelt."""
        hit = known.get(piece)
        if hit is None:
            if piece in freq:
                hit = (piece, False)
            elif len(piece) < 2:  # ("fr": "for", as the typo reader; a single letter is no word's neighbour)
                hit = (None, False)
            else:
                near = set(deleted.get(piece, ()))  # a letter deleted from a word
                for less in {piece[:i] + piece[i + 1:] for i in range(len(piece))} & keys:
                    if less in freq:
                        near.add(less)  # a letter inserted into a word
                    near.update(deleted.get(less, ()))  # a letter deleted from each, at any place
                near = {w for w in near if len(w) >= 3}
                hit = (min(near, key=lambda w: (-freq[w], w)), True) if near else (None, False)
            known[piece] = hit
        return hit

    # A piece longer than the longest word by two letters or more is no word and no word's neighbour.
    longest = min(MAX_WORD, max(map(len, freq)) + 1)
    out: dict[str, str] = {}
    for token in tokens:
        n = len(token)
        cost, back = [0.0] + [math.inf] * n, [None] * (n + 1)
        for j in range(1, n + 1):
            for i in range(max(0, j - longest), j):
                if cost[i] == math.inf:
                    continue
                word, misspelt = word_of(token[i:j])
                if word is None:
                    continue
                c = (cost[i] - math.log(freq[word] / total) + (EDIT_COST if misspelt else 0.0)
                     + (SHORT_COST if len(word) <= 2 else 0.0))
                if c < cost[j]:
                    cost[j], back[j] = c, (i, word)
        if cost[n] == math.inf:
            continue
        words, j = [], n
        while j > 0:
            i, word = back[j]
            words.append(word)
            j = i
        if len(words) >= 2:
            out[token] = " ".join(reversed(words))
    return out
