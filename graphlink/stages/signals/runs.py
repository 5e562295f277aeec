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

A shorter run ("youare", "fromthetext": an operator dropping spaces at random leaves many) is no longer than a word,
and a cut by the words' frequencies alone would read words of the language as runs ("together" as "to get her"). The
log tells them apart by how it writes the words: a word of the language is written whole far more often than its
pieces as a phrase ("to get her" is rare beside "together"), while a run is a phrase the log writes spaced at least
as often as joined -- the run's other copies, and other people, write "you are" (:func:`read_short_runs`, after the
long runs are read, so a copy run together throughout still writes its phrases spaced).
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["RUN_CHARS", "RUN_MAX_CHARS", "SHORT_RUN_WORDS", "read_runs", "read_short_runs", "replace_tokens", "short_runs"]

#: The fewest letters of a token read as a possible run of words (English words of 16 letters or more are rare:
#: "responsibilities", "telecommunications"; a run of three ordinary words is about that long).
RUN_CHARS = 16
#: The most letters of a token cut (a run of about 40 words; a longer token is read whole).
RUN_MAX_CHARS = 256
# The longest word a cut uses, the most letters of all the distinct tokens cut (the ones the most texts write first),
# and how many texts' words give the words' frequencies (the first: all of the ring tests' texts, a third of dev
# independent 1's distinct prompts, 3 % of the campaign preset's sample).
_MAX_PIECE, _MAX_LETTERS, _SAMPLE = 24, 32_768, 50_000
# Rarer words looked up in every text: of 5 letters or more (shorter pieces are in too many words: "ticu" in
# "particular"), at most 64: one regex search of literals (graphlink.stages.signals.camel.written_alone: 256 of them
# took 6 s on the campaign preset's 1.7M texts), in at most 3 rounds.
_RARE_CHARS, _RARE_WORDS, _RARE_ROUNDS = 5, 64, 3
#: The most words a shorter run (under :data:`RUN_CHARS` letters) is read as: a phrase of 5 words of 3 letters is
#: 15 letters ("youareaman" is 4).
SHORT_RUN_WORDS = 5
# Rounds of short runs read (each reads on the texts the rounds before read).
_SHORT_ROUNDS = 3
# Tails the normaliser leaves of an English contraction split at its apostrophe ("we're", "she'll", "we've"), besides
# the one-letter ones: no phrase ends in one ("we re" is no spacing of "were").
_TAILS = ("re", "ll", "ve")


def read_runs(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None,
              fallback: dict[str, str] | None = None) -> pl.DataFrame:
    """``texts`` with each run of words in ``column`` (a token of :data:`RUN_CHARS` to 256 letters) read as its words.

    A run is cut into words of ``column`` (normalised texts: words between single spaces) written alone, or of
    ``vocabulary`` (words or phrases read elsewhere: ``match`` reads a few accounts' prompts against the known
    templates' shingles): the cut of least cost, a word's cost ``-log`` of its share of the words of the first 50,000 texts (a word
    they do not write: half of one, where ``vocabulary`` holds it or another text writes it alone). The token itself
    is no word of its cut, nor are two one-letter words in a row. A token with no cut, or past the first 32,768 letters of distinct runs (the most written
    first), is kept, or read as ``fallback`` gives it (CamelCase: split at its marks). Rows, their order and the other
    columns are kept.

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["you are a meticulous tutor", "youareameticuloustutor now", "are you a tutor",
    ...                            "zorblaxquintessential"]})
    >>> read_runs(t)["norm"].to_list()[1:]
    ['you are a meticulous tutor now', 'are you a tutor', 'zorblaxquintessential']
    """
    text = pl.col(column)
    # (any 16 characters but spaces: as fast as any regex or numpy scan tried, about 1 s on the campaign preset's 1.7M
    # sampled texts at load 4-10)
    rows = texts.select(text.str.contains(f"[^ ]{{{RUN_CHARS}}}").fill_null(False).arg_true())[column]
    if rows.is_empty():
        return read_short_runs(texts, column, vocabulary)
    held = texts[column].gather(rows).to_frame(column)
    token = pl.col("run")
    runs = (held.select(text.str.split(" ").alias("run")).explode("run")
            .filter(token.str.len_chars().is_between(RUN_CHARS, RUN_MAX_CHARS) & token.str.contains(r"^\p{L}+$"))
            .group_by("run").len().sort("len", "run", descending=[True, False]))
    # (the most written first, as many as _MAX_LETTERS letters: the cut's work is about 24 steps a letter)
    runs = runs.filter(runs["run"].str.len_chars().cum_sum() <= _MAX_LETTERS)["run"]
    reading = _cut(runs, _frequencies(texts[column], runs, vocabulary)) if runs.len() else {}
    reading |= {run: read for run, read in (fallback or {}).items() if run not in reading}
    if not reading:
        return read_short_runs(texts, column, vocabulary)
    # Whole tokens only: each space doubled and the text padded, so every token has its own spaces around it
    # (as read_camel puts back whole words).
    padded = pl.concat_str([pl.lit(" "), text.str.replace_all(" ", "  ", literal=True), pl.lit(" ")])
    read = (padded.str.replace_many([f" {r} " for r in reading], [f" {w} " for w in reading.values()])
            .str.replace_all("  ", " ", literal=True).str.slice(1).str.head(-1))
    # (a copy: scatter writes in place, and the frame given is the caller's)
    return read_short_runs(texts.with_columns(texts[column].clone().scatter(rows, held.select(read.alias(column))[column])),
                           column, vocabulary)


def short_runs(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``w, phrase``: each shorter run of words in ``column`` (a token of 3 to :data:`RUN_CHARS` - 1 letters) and the
    phrase it reads as, the texts writing the phrase spaced at least as often as they write the token joined.

    Counted in the first 50,000 texts (normalised: words between single spaces), as :func:`read_runs` counts words:
    each phrase of 2 to :data:`SHORT_RUN_WORDS` words of letters (no two one-letter words in a row, nor one last),
    joined, against the same letters written as one token. Where the phrase is written at least as often, the token
    reads as the phrase (the finest such spacing) in every text: "youare" as "you are" where the log writes "you are"
    at least as often as "youare". A word of the language is written whole far more often than its pieces as a phrase (dev
    scenario worlds, session 44: "into" 0.25 "in to" a time, "without" 0.02 "with out", any other under 0.06; an
    operator's runs 0.5-7). A phrase of ``vocabulary`` (phrases read elsewhere: ``match`` reads a few accounts'
    prompts against the known templates' shingles, which detect read against its whole sample) is read wherever its
    letters are written joined, however often; a word ``vocabulary`` writes whole is read as written (detect reads a
    token alike in every text: one its shingles write whole is one it did not read).

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["you are a tutor", "youare a tutor", "together we go", "together again",
    ...                            "to get her"]})
    >>> short_runs(t).rows()
    [('youare', 'you are')]
    """
    text = pl.col(column)
    known = pl.Series(column, [], pl.String) if vocabulary is None else vocabulary.cast(pl.String).rename(column)
    counted = pl.concat([texts.head(_SAMPLE).select(text), known.filter(known.str.contains(" ")).to_frame()])
    whole = known.str.split(" ").explode().unique()  # (the vocabulary's words: no runs, _short_round)
    first = min(texts.height, _SAMPLE)  # (the rows from here on are vocabulary's phrases)
    reading: dict[str, str] = {}
    # Rounds: a run read gives the others its phrase ("stepbystep" read "step by step" writes "step by" beside "step"
    # for "stepby"), while a round reads something (dev: a ring dropping each space with p 0.5 read in 2-3 rounds).
    for _ in range(_SHORT_ROUNDS):
        found = _short_round(counted, column, first, whole)
        if found.is_empty():
            break
        reading.update(found.iter_rows())
        counted = replace_tokens(counted, column, found)
    for _ in range(_SHORT_ROUNDS):  # (a phrase's words read in a later round read so in it too)
        reading = {w: " ".join(reading.get(p, p) for p in phrase.split(" ")) for w, phrase in reading.items()}
    return pl.DataFrame({"w": list(reading), "phrase": list(reading.values())},
                        schema={"w": pl.String, "phrase": pl.String}).sort("w")


def _short_round(counted: pl.DataFrame, column: str, first: int, whole: pl.Series) -> pl.DataFrame:
    """One round of :func:`short_runs` over ``counted`` (texts, then from row ``first`` on the vocabulary's phrases);
    no token of ``whole`` (the vocabulary's words) is a run."""
    empty = pl.DataFrame(schema={"w": pl.String, "phrase": pl.String})
    text, word, row = pl.col(column), pl.col("w"), pl.col("r")

    def beside(k: int) -> pl.Expr:  # (the word k places on, "^" / "$" past the text's ends)
        return pl.when(row.shift(-k) == row).then(word.shift(-k)).otherwise(pl.lit("^" if k < 0 else "$"))

    # (each word of the first texts with its text's row and the word before it; a phrase is the words from one word on
    # in the same text)
    words = (counted.select(text.str.split(" ").alias("w")).with_row_index("r").explode("w")
             .drop_nulls("w").with_columns(word.str.len_chars().alias("n"), word.str.contains(r"^\p{L}+$").alias("l"),
                                           beside(-1).alias("left"), beside(1).alias("right")))
    # (its neighbours read before the filter: after it, the next word of three letters or more -- "youare a tutor"
    # stood beside "tutor", where "you are a" stands beside "a": break-it review, session 44)
    # A word the vocabulary writes whole is no run: detect reads a token alike in every text, so a token its read
    # shingles still write whole is one it did not read, and a newcomer's exact copy must read as detect read it (a
    # known template writing "into" and another "log in to" read "go into" as "go in to": break-it review, session 44).
    at = words.filter(pl.col("l") & pl.col("n").is_between(3, RUN_CHARS - 1) & (row < first)
                      & ~word.is_in(whole.implode())).select("w", "left", "right")
    if at.is_empty():
        return empty
    phrases = []
    for size in range(2, SHORT_RUN_WORDS + 1):
        ahead = list(range(size))
        same = pl.all_horizontal([row.shift(-k) == row for k in ahead[1:]] + [pl.col("l").shift(-k) for k in ahead])
        letters = pl.sum_horizontal([pl.col("n").shift(-k) for k in ahead])
        # (no two one-letter words in a row, as in a long run's cut, nor one last: a word the normaliser split at an
        # apostrophe ends so -- "user's" is "user s", "don't" "don t" -- and is no phrase anyone wrote: dev independent
        # 1 writes "user s" 48 times as often as "users"), nor an apostrophe's other tails ("we're" is "we re", and
        # "were" read "we re" in every text where the log writes "we're going" as often as "were going": break-it
        # review, session 44)
        pairs_ok = pl.all_horizontal([(pl.col("n").shift(-k) > 1) | (pl.col("n").shift(-k - 1) > 1)
                                      for k in ahead[:-1]] + [pl.col("n").shift(-ahead[-1]) > 1,
                                                              ~pl.col("w").shift(-ahead[-1]).is_in(_TAILS)])
        # (where each phrase starts, then its words gathered: a phrase's strings built at every word took 0.7 s on
        # the campaign preset's first 50,000 texts)
        starts = words.select((same & letters.is_between(3, RUN_CHARS - 1) & pairs_ok).fill_null(False).arg_true()
                              .alias("at"))["at"]
        parts = pl.DataFrame({f"w{k}": words["w"].gather(starts + k) for k in ahead})
        right = words.select(beside(size).alias("right"))["right"].gather(starts)
        phrases.append(parts.select(pl.concat_str(parts.columns).alias("w"),
                                    pl.concat_str(parts.columns, separator=" ").alias("phrase"))
                       .with_columns(words["left"].gather(starts), right, (words["r"].gather(starts) >= first).alias("known")))
    # A phrase counts where it stands as the token does, beside a word the token is written beside: a run's copies
    # write the template's words around it alike, while a word of the language and a phrase of its letters stand in
    # other places (the campaign preset writes "sit around a round table" in 26,000 prompts: "a round" as often as
    # "around", never in its place). (Only the phrases some text writes joined: a sort of every phrase took 1.8 s on
    # 50,000 dev texts.)
    lefts = at.select("w", "left").unique().with_columns(pl.lit(True).alias("by_left"))
    rights = at.select("w", "right").unique().with_columns(pl.lit(True).alias("by_right"))
    spaced = (pl.concat(phrases).join(at.select("w").unique(), on="w", how="semi")
              .join(lefts, on=["w", "left"], how="left").join(rights, on=["w", "right"], how="left")
              .filter(pl.col("by_left") | pl.col("by_right") | pl.col("known"))
              .group_by("w", "phrase").agg(pl.len().alias("spaced"), pl.col("known").any()))
    # Of the spacings written at least as often as the token joined, the finest: a run's copies also write it partly
    # joined ("stepby step" beside "step by step"), and a coarser reading would keep the words a copy joined.
    return (spaced.join(at.group_by("w").len("joined"), on="w")
            .filter(pl.col("known") | (pl.col("spaced") >= pl.col("joined")))
            .group_by("w").agg(pl.col("phrase").sort_by(pl.col("known"), pl.col("phrase").str.count_matches(" "),
                                                        pl.col("spaced"), pl.col("phrase"),
                                                        descending=[True, True, True, False]).first())
            .sort("w"))


def read_short_runs(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``texts`` with each shorter run of words in ``column`` read as its phrase (:func:`short_runs`), whole tokens
    only. Rows, their order and the other columns are kept.

    Examples
    --------
    >>> t = pl.DataFrame({"norm": ["you are a tutor", "youare a tutor", "you are here", "together we go",
    ...                            "together again", "to get her"]})
    >>> read_short_runs(t)["norm"].to_list()[:4]
    ['you are a tutor', 'you are a tutor', 'you are here', 'together we go']
    """
    return replace_tokens(texts, column, short_runs(texts, column, vocabulary))


def replace_tokens(texts: pl.DataFrame, column: str, reading: pl.DataFrame) -> pl.DataFrame:
    """``texts`` with each whole token of ``column`` that is a ``w`` of ``reading`` (``w, phrase``) written as its
    ``phrase``; only the rows holding one are rewritten. Rows, their order and the other columns are kept."""
    if reading.is_empty():
        return texts
    text = pl.col(column)
    # Only the texts holding a run as a word of its own are rewritten (an Aho-Corasick search: 0.13 s on 1.8M dev
    # texts, where rewriting them all took 5 s, then with spaces around it in the texts it finds, padded), whole
    # tokens only, as read_runs rewrites. (Searched as a substring only, two prompts making "kln" a run -- "qq kln
    # zz", "qq k ln zz" -- sent every text holding those letters to be rewritten: 3.5x this pass's time on 1.7M
    # synthetic texts; break-it review, session 44.)
    rows = texts.select(text.str.contains_any(reading["w"].to_list()).fill_null(False).arg_true())[column]
    alone = pl.concat_str([pl.lit(" "), text, pl.lit(" ")]).str.contains_any((" " + reading["w"] + " ").to_list())
    rows = rows.filter(texts[column].gather(rows).to_frame(column).select(alone.alias(column))[column])
    held = texts[column].gather(rows).to_frame(column)
    padded = pl.concat_str([pl.lit(" "), text.str.replace_all(" ", "  ", literal=True), pl.lit(" ")])
    read = (padded.str.replace_many((" " + reading["w"] + " ").to_list(), (" " + reading["phrase"] + " ").to_list())
            .str.replace_all("  ", " ", literal=True).str.slice(1).str.head(-1))
    return texts.with_columns(texts[column].clone().scatter(rows, held.select(read.alias(column))[column]))


def _pieces(runs: pl.Series) -> pl.Series:
    """The distinct substrings of ``runs`` of up to ``_MAX_PIECE`` letters."""
    run, start, size = pl.col("run"), pl.col("start"), pl.col("size")
    return (runs.to_frame("run").with_columns(pl.int_ranges(0, run.str.len_chars()).alias("start")).explode("start")
            .with_columns(pl.int_ranges(1, pl.min_horizontal(run.str.len_chars() - start, _MAX_PIECE) + 1)
                          .alias("size"))
            .explode("size").select(run.str.slice(start, size).alias("piece")).unique()["piece"])


def _frequencies(texts: pl.Series, runs: pl.Series, vocabulary: pl.Series | None) -> dict[str, float]:
    """The words ``runs`` may be cut into, each with its cost: ``-log`` of its share of the words of the first
    ``_SAMPLE`` ``texts``; a word they do not write but ``vocabulary`` holds, or another text writes alone where a cut
    needs it, costs half a word.

    Only the gaps of runs those words do not cut are looked up in every text (:func:`_gaps`, in up to
    ``_RARE_ROUNDS`` rounds of ``_RARE_WORDS``: each round's words reach further into the runs).
    """
    from graphlink.stages.signals.camel import written_alone  # (camel reads runs after CamelCase)

    # Every text's words cost 5-10 s on the campaign preset's 1.7M sampled texts, and an Aho-Corasick search for
    # thousands of pieces in all of them 20 s: the words' frequencies are the first texts'.
    first = texts.head(_SAMPLE).drop_nulls().str.split(" ").explode()
    total = max(first.len(), 1)
    pieces = _pieces(runs)
    counted = first.filter(first.is_in(pieces.implode())).value_counts(name="n")
    costs = {p: math.log(total / n) for p, n in counted.iter_rows()}
    if vocabulary is not None:
        known = vocabulary.cast(pl.String).str.split(" ").explode()
        known = known.filter(known.is_in(pieces.implode()))
        costs.update((p, math.log(2 * total)) for p in known.to_list() if p not in costs)
    searched: set[str] = set()
    for _ in range(_RARE_ROUNDS):  # (each round's words reach further into the runs: the next round's gaps)
        gaps = _gaps(runs, costs, searched)
        rare = written_alone(texts, pl.Series(gaps, dtype=pl.String)) if gaps else []
        if not len(rare):
            break
        searched.update(gaps)
        costs.update((p, math.log(2 * total)) for p in rare)
    return costs


def _gaps(runs: pl.Series, costs: dict[str, float], searched: set[str]) -> list[str]:
    """Pieces of ``runs`` that ``costs``' words do not cut, of ``_RARE_CHARS`` to ``_MAX_PIECE`` letters, starting at
    one of the last three places those words reach from a run's start or ending at one of the first three they reach
    from its end (where the cut stops: a word is missing there), not ``searched`` already; the first runs' first."""
    gaps: dict[str, None] = {}
    backward = {w[::-1] for w in costs}
    for run in runs.to_list():
        ahead = _reach(run, costs)
        if ahead[-1]:
            continue  # (cut already)
        behind = _reach(run[::-1], backward)[::-1]
        starts = [i for i in range(len(run), -1, -1) if ahead[i]][:3]
        ends = [i for i in range(len(run) + 1) if behind[i]][:3]
        spans = {*((a, a + n) for a in starts for n in range(_RARE_CHARS, _MAX_PIECE + 1)),
                 *((b - n, b) for b in ends for n in range(_RARE_CHARS, _MAX_PIECE + 1))}
        gaps.update(dict.fromkeys(sorted(run[a:b] for a, b in spans if 0 <= a and b <= len(run) and b - a < len(run)
                                         and run[a:b] not in costs and run[a:b] not in searched)))
        if len(gaps) >= _RARE_WORDS:
            break
    return list(gaps)[:_RARE_WORDS]


def _reach(run: str, words: dict[str, float] | set[str]) -> list[bool]:
    """Of each place in ``run`` (0 to its length), whether ``words`` (a container) cut ``run`` up to it from its
    start, no two one-letter words in a row (:func:`_cut`); ``run`` itself is no word of its cut."""
    # (by the last word's letters: one, or more / none yet)
    single, other = [False] * (len(run) + 1), [True] + [False] * len(run)
    for end in range(1, len(run) + 1):
        starts = range(max(int(end == len(run)), end - _MAX_PIECE), end)
        single[end] = other[end - 1] and run[end - 1:end] in words
        other[end] = any((other[start] or single[start]) and run[start:end] in words for start in starts
                         if start < end - 1)
    return [a or b for a, b in zip(single, other)]


def _cut(runs: pl.Series, costs: dict[str, float]) -> dict[str, str]:
    """Each run of ``runs`` that can be cut into words of ``costs`` -> its cheapest cut (its words as they read).

    A cut holds no two one-letter words in a row: text writes few ("a i"), and a log writing every letter alone (the
    options of a quiz: "a b c d") would otherwise cut any token of letters, a name, a hash, a compound of words it does
    not write, into its letters (break-it review, session 43: "donaudampfschifffahrtsgesellschaft" read as 34 words).
    """
    reading: dict[str, str] = {}
    # Shorter runs first: a run that is a word of a longer run's cut reads as its own cut there.
    for run in sorted(runs.to_list(), key=len):
        # (the cheapest cut up to each place by its last word's letters: index 1 one letter, 0 more or none yet)
        best = [[0.0, math.inf]] + [[math.inf, math.inf] for _ in run]
        back = [[0, 0] for _ in range(len(run) + 1)]
        for end in range(1, len(run) + 1):
            for start in range(max(int(end == len(run)), end - _MAX_PIECE), end):  # (the run itself is no word of it)
                cost = costs.get(run[start:end])
                if cost is None:
                    continue
                one = int(end - start == 1)
                # (from a place reached by a longer word, or also by one letter when this word is longer)
                came = 0 if one or best[start][0] <= best[start][1] else 1
                if best[start][came] + cost < best[end][one]:
                    best[end][one], back[end][one] = best[start][came] + cost, start * 2 + came
        state = int(best[-1][1] < best[-1][0])
        if best[-1][state] < math.inf:
            words, end = [], len(run)
            while end:
                start, came = divmod(back[end][state], 2)
                words.append(reading.get(run[start:end], run[start:end]))
                end, state = start, came
            reading[run] = " ".join(reversed(words))
    return reading
