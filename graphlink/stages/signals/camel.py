"""CamelCase boundaries read against the log's own words: where a capital inside a word is a word boundary.

A capital after a lower-case letter is a word boundary in a template written without spaces ("YouAreAnExpert"
reads "you are an expert", as a model reads it), but not in a template whose letters an operator flipped to
upper case at random ("meTicuLous" is "meticulous" to a model). Case alone cannot tell the two apart; the log can:
a word flipped at random is written whole, in some case, in other prompts (with 10 % of letters flipped a
10-letter word is untouched in a third of the copies), where a CamelCase run joined ("youareanexpert") is not a word
anyone writes. Nor does CamelCase move: it marks a word's boundaries at the same places in every copy, where random
case marks one word at different places in different copies (even when no copy writes it whole, as an operator
putting one capital inside every word of a template of rare words makes sure). So a CamelCase token is read whole when
its lower-case form is a word of the texts compared or is marked at more than one set of places, and
split at each boundary otherwise (break-it review, session 41: 10 % random case flips in a 12-account ring's
template cut its template share from 1.0 to 0.42 and unflagged it, because every split cut a word in two).

The normaliser marks each boundary with :data:`MARK` (:func:`graphlink.stages.signals.normalise.normalise_prompt`
with ``mark=MARK``); :func:`read_camel` resolves the marks of a set of texts at once.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.signals.runs import RUN_CHARS, RUN_MAX_CHARS, read_runs
from graphlink.stages.signals.typos import read_typos

__all__ = ["MARK", "read_camel", "written_alone"]

#: The boundary mark: U+2063 INVISIBLE SEPARATOR, a format character the normaliser removes from the text before it
#: inserts any, so a mark in a normalised text is always one it put there.
MARK = "\u2063"
# Regex metacharacters (escaped in the searches' alternations), the most words one regex is built for, and the
# longest word searched for as a pattern (characters).
_META = frozenset("\\.+*?()|[]{}^$#&-~ ")
_REGEX_WORDS, _PATTERN_CHARS = 256, 32


def read_camel(texts: pl.DataFrame, column: str = "norm", vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``texts`` with the CamelCase marks (:data:`MARK`) of ``column`` resolved against the words of ``column``.

    A token (space-separated) holding marks is read as one word, its marks removed, when that word stands alone
    somewhere in ``column`` (the vocabulary is the texts given: detect's sampled prompts, or the prompts ``match``
    reads) or when the texts mark it at more than one set of places (random case: CamelCase marks a word's
    boundaries alike in every text) or is a word of ``vocabulary`` (words or phrases read elsewhere, as they were read there:
    ``match`` reads a few accounts' prompts against the known templates' words, which detect read against its whole
    sample); otherwise each mark becomes a space, as :func:`~graphlink.stages.signals.normalise.normalise_prompt`
    splits every boundary, but where the log's words cut a token of 16 letters or more. Then words run together are
    read as the words the texts write alone (:func:`graphlink.stages.signals.runs.read_runs`), and a rare token as the
    frequent word one edit away (a typo: :func:`graphlink.stages.signals.typos.read_typos`). Rows, their order and
    the other columns are kept.

    Examples
    --------
    >>> m = MARK
    >>> t = pl.DataFrame({"norm": [f"a me{m}ticulous tutor", "a meticulous tutor", f"you{m}are{m}an expert",
    ...                            f"zor{m}blax", f"zorbl{m}ax"]})
    >>> read_camel(t)["norm"].to_list()
    ['a meticulous tutor', 'a meticulous tutor', 'you are an expert', 'zorblax', 'zorblax']
    """
    text = pl.col(column)
    rows = texts.select(text.str.contains(MARK, literal=True).fill_null(False).arg_true())[column]
    if rows.is_empty():
        return read_typos(read_runs(texts, column, vocabulary), column, vocabulary)
    marked = texts[column].gather(rows).to_frame(column)
    tokens = (marked.select(text.str.extract_all(f"[^ ]*{MARK}[^ ]*").alias("token")).explode("token")
              .drop_nulls().unique().with_columns(pl.col("token").str.replace_all(MARK, "", literal=True).alias("word")))
    words = tokens["word"].unique().sort()
    written = written_alone(texts[column], words)
    # A word the texts mark at different places is random case too, whether or not any text writes it whole: CamelCase
    # puts its boundaries where the words meet, the same in every copy, and copies whose capitals fall at random
    # (one inside every word, no copy writing a word whole) otherwise split each differently (break-it review,
    # session 42: a 12-account ring so writing a template of rare words fell from template share 1.0 to 0.12).
    varied = tokens.group_by("word").len().filter(pl.col("len") > 1)  # (distinct tokens of a word: distinct marks)
    known = pl.Series("w", [], pl.String) if vocabulary is None else vocabulary.cast(pl.String).str.split(" ").explode()
    read_whole = (pl.col("word").is_in(written.implode()) | pl.col("word").is_in(varied["word"].implode())
                  | pl.col("word").is_in(known.implode()))
    # A run of RUN_CHARS letters or more split at its marks is cut where its words meet if the log's words cut it
    # (graphlink.stages.signals.runs): CamelCase with a one-letter word ("AMeticulous") or an operator's extra
    # capitals puts marks where no words meet, and its copies written without capitals are cut so.
    long = (~read_whole & pl.col("word").str.len_chars().is_between(RUN_CHARS, RUN_MAX_CHARS)
            & pl.col("word").str.contains(r"^\p{L}+$"))
    split = pl.col("token").str.replace_all(MARK, " ", literal=True)
    fallback = dict(tokens.filter(long).select("word", split).iter_rows())
    whole = tokens.filter(read_whole | long)
    resolved = pl.col(column)
    if whole.height:
        # Whole tokens only: each space doubled and the text padded, so every token has its own spaces around it;
        # then undone with literal replacements (a regex collapsing the runs of spaces took 15 s on 1M texts).
        padded = pl.concat_str([pl.lit(" "), resolved.str.replace_all(" ", "  ", literal=True), pl.lit(" ")])
        resolved = (padded.str.replace_many((" " + whole["token"] + " ").to_list(), (" " + whole["word"] + " ").to_list())
                    .str.replace_all("  ", " ", literal=True).str.slice(1).str.head(-1))
    resolved = resolved.str.replace_all(MARK, " ", literal=True)
    # (a copy: scatter writes in place, and the frame given is the caller's)
    read = texts.with_columns(texts[column].clone().scatter(rows, marked.select(resolved.alias(column))[column]))
    # Then words run together (a CamelCase run read whole as random case among them): graphlink.stages.signals.runs;
    # then misspelt words, once the runs are cut (graphlink.stages.signals.typos).
    return read_typos(read_runs(read, column, vocabulary, fallback), column, vocabulary)


def written_alone(texts: pl.Series, words: pl.Series) -> pl.Series:
    """The ``words`` some of ``texts`` (normalised: words between single spaces) write as a word of their own.

    Only texts that may hold one are cut into words: for words of up to :data:`_PATTERN_CHARS` characters, those
    holding one as a substring (a few words as one regex, with literal prefilters: 0.35 s on the campaign preset's
    1.7M sampled texts; many as an Aho-Corasick automaton); for longer words, those holding a word that long. A
    regex of 256 words of 800 letters (CamelCase tokens a prompt head of 1,536 characters holds) was past polars'
    10 MB limit and raised, and an automaton of 2,000 of them took 2 s to build (break-it review, session 42).
    """
    frame = texts.alias("t").to_frame().lazy()
    text, found = pl.col("t"), []
    for many in (words.filter(words.str.len_chars() <= _PATTERN_CHARS), words.filter(words.str.len_chars() > _PATTERN_CHARS)):
        if not many.len():
            continue
        if many.str.len_chars().max() > _PATTERN_CHARS:
            anywhere = text.str.contains(f"[^ ]{{{_PATTERN_CHARS + 1}}}")
        elif many.len() <= _REGEX_WORDS:
            anywhere = text.str.contains("|".join("".join("\\" + c if c in _META else c for c in w) for w in many))
        else:
            anywhere = text.str.contains_any(many.to_list())
        found.append(frame.filter(anywhere).select(text.str.split(" ").alias("w")).explode("w")
                     .filter(pl.col("w").is_in(many.implode())).unique().collect()["w"])
    return pl.concat(found).unique() if found else pl.Series("w", [], pl.String)
