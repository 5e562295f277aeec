"""Words run together read against the log's own words: where a long token is several words written without spaces.

An operator can hide a template from word shingles by writing some of its words without the spaces between them
("youareameticuloustutor reasonthrough..." in some copies, "You are a meticulous tutor. Reason through..." in
others): every shingle over a joined run is a shingle no other copy holds (break-it review, session 41: a 12-account
ring joining its template's first 12 words in half its prompts fell to template share 0.48, not flagged). CamelCase
marks such a run, and :func:`graphlink.stages.signals.camel.read_camel` reads it; a run in lower case, or a CamelCase
run its operator sprinkled with more capitals (read whole, as random case), is marked by nothing. The log marks it:
its words are written alone, in the other copies or in other people's prompts, and a token of
:data:`RUN_CHARS` letters or more is rarely a word of any language written with spaces. So such a token is read as the
words of the texts it can be cut into (a word-break by dynamic programming over the distinct long tokens, never per
row), the most likely cut by the words' frequencies (``you are a``, not ``you area``); a long token that cannot be
cut into the texts' words (a name, an identifier, a hash) is read whole, as before. The same token reads alike in
every text, so a ring's joined and spaced copies read the same words, and two people writing one long word still
share it.

Shorter runs are read as written: an operator joining two words at a time ("youare") makes tokens no longer than
words, and cutting every such word ("together" as "to get her") would change every reading.
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["RUN_CHARS", "read_runs"]

#: The fewest letters of a token read as a possible run of words (English words of 16 letters or more are rare:
#: "responsibilities", "telecommunications"; a run of three ordinary words is about that long).
RUN_CHARS = 16
# The most letters of a token cut (a run of about 40 words), the longest word a cut uses, the most distinct tokens cut
# (the ones the most texts write), and how many texts' words give the words' frequencies (the first; rarer words are
# looked up in every text, with a frequency below any counted one).
_MAX_RUN, _MAX_PIECE, _MAX_RUNS, _SAMPLE = 256, 24, 2_000, 100_000


def read_runs(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``texts`` with each run of words in ``column`` (a token of :data:`RUN_CHARS` to 256 letters) read as its words.

    A run is cut into words of ``column`` (normalised texts: words between single spaces) written alone, or of
    ``vocabulary`` (words read elsewhere: ``match`` reads a few accounts' prompts against the known templates'
    words): the cut of least cost, a word's cost ``-log`` of its share of the words of the first 100,000 texts
    (a word they do not write: half of one). The token itself is no word of its cut. A token with no cut, or past
    the 2,000 distinct runs the most texts write, is kept. Rows, their order and the other columns are kept.

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["you are a meticulous tutor", "youareameticuloustutor now", "zorblaxquintessential"]})
    >>> read_runs(t)["norm"].to_list()
    ['you are a meticulous tutor', 'you are a meticulous tutor now', 'zorblaxquintessential']
    """
    text = pl.col(column)
    rows = texts.select(text.str.contains(f"\\p{{L}}{{{RUN_CHARS}}}").fill_null(False).arg_true())[column]
    if rows.is_empty():
        return texts
    held = texts[column].gather(rows).to_frame(column)
    token = pl.col("run")
    runs = (held.select(text.str.split(" ").alias("run")).explode("run")
            .filter(token.str.len_chars().is_between(RUN_CHARS, _MAX_RUN) & token.str.contains(r"^\p{L}+$"))
            .group_by("run").len().sort("len", "run", descending=[True, False]).head(_MAX_RUNS)["run"])
    if runs.is_empty():
        return texts
    reading = _cut(runs, _frequencies(texts[column], _pieces(runs), vocabulary))
    if not reading:
        return texts
    # Whole tokens only: each space doubled and the text padded, so every token has its own spaces around it
    # (as read_camel puts back whole words).
    padded = pl.concat_str([pl.lit(" "), text.str.replace_all(" ", "  ", literal=True), pl.lit(" ")])
    read = (padded.str.replace_many([f" {r} " for r in reading], [f" {w} " for w in reading.values()])
            .str.replace_all("  ", " ", literal=True).str.slice(1).str.head(-1))
    # (a copy: scatter writes in place, and the frame given is the caller's)
    return texts.with_columns(texts[column].clone().scatter(rows, held.select(read.alias(column))[column]))


def _pieces(runs: pl.Series) -> pl.Series:
    """The distinct substrings of ``runs`` of up to ``_MAX_PIECE`` letters."""
    run, start, size = pl.col("run"), pl.col("start"), pl.col("size")
    return (runs.to_frame("run").with_columns(pl.int_ranges(0, run.str.len_chars()).alias("start")).explode("start")
            .with_columns(pl.int_ranges(1, pl.min_horizontal(run.str.len_chars() - start, _MAX_PIECE) + 1).alias("size"))
            .explode("size").select(run.str.slice(start, size).alias("piece")).unique()["piece"])


def _frequencies(texts: pl.Series, pieces: pl.Series, vocabulary: pl.Series | None) -> dict[str, float]:
    """Of ``pieces``, those ``texts`` write alone (or ``vocabulary`` holds), each with its cost (``-log`` share)."""
    first = texts.head(_SAMPLE).drop_nulls().str.split(" ")
    total = max(int(first.list.len().sum()), 1)
    counted = (first.list.unique().explode().alias("piece").to_frame().join(pieces.to_frame("piece"), on="piece", how="semi")
               .group_by("piece").len())
    costs = {p: math.log(total / n) for p, n in counted.iter_rows()}
    rare = pieces.filter(~pieces.is_in(counted["piece"].implode()) & (pieces.str.len_chars() >= 4))
    found: list[str] = []
    if rare.len():
        # One Aho-Corasick pass over the texts, each rare piece between spaces: the texts writing it alone.
        padded = pl.concat_str([pl.lit(" "), pl.col("t"), pl.lit(" ")])
        found = (texts.alias("t").to_frame().lazy().select(padded.str.extract_many((" " + rare + " ").to_list(), overlapping=True).alias("t"))
                 .explode("t").drop_nulls().unique().collect()["t"].str.strip_chars(" ").to_list())
    if vocabulary is not None:
        found += pieces.filter(pieces.is_in(vocabulary.cast(pl.String).implode()) & ~pieces.is_in(counted["piece"].implode())).to_list()
    costs.update((p, math.log(2 * total)) for p in found)
    return costs


def _cut(runs: pl.Series, costs: dict[str, float]) -> dict[str, str]:
    """Each run of ``runs`` that can be cut into words of ``costs`` -> its cheapest cut (its words as they read)."""
    reading: dict[str, str] = {}
    # Shorter runs first: a run that is a word of a longer run's cut reads as its own cut there.
    for run in sorted(runs.to_list(), key=len):
        best, back = [0.0] + [math.inf] * len(run), [0] * (len(run) + 1)
        for end in range(1, len(run) + 1):
            for start in range(max(int(end == len(run)), end - _MAX_PIECE), end):  # (the run itself is no word of it)
                cost = costs.get(run[start:end])
                if cost is not None and best[start] + cost < best[end]:
                    best[end], back[end] = best[start] + cost, start
        if best[-1] < math.inf:
            words, end = [], len(run)
            while end:
                words.append(reading.get(run[back[end]:end], run[back[end]:end]))
                end = back[end]
            reading[run] = " ".join(reversed(words))
    return reading
