"""Prompt phrases read as the passages they come from.

Detection links accounts by prompt *shingles*: every run of ``ngram`` consecutive normalised words
(:mod:`graphlink.stages.signals.prompt`). One templated sentence of 30 words is 26 overlapping shingles, so a
table of the values that tied a cluster listed the same sentence 26 times, five words at a time, and "tied by 59
prompt phrases" read as 59 independent values when it was about four templates (new-user review, session 37).

:func:`phrase_passages` chains phrases that overlap by all but one word (the way
:func:`graphlink.views.templates.reconstruct_templates` rebuilds a template from shingles) into maximal passages,
quoted in the spelling of the phrases themselves (so a search of the log finds the words between two digits);
:func:`with_passages` folds a table's prompt rows into one row per passage. The counts of a passage row are those
of its most-held phrase: at least that many accounts hold some of its words, and no phrase of it is held by more.

Words are compared as :func:`graphlink.views.templates.tokenise` reads them (case, digit runs and punctuation do not
matter), after Unicode NFKC with control and invisible format characters (categories Cc, Cf: escapes, zero-width
spaces, joiners, direction overrides) removed, as detection normalises prompts; look-alike letters (TR39 confusables) are not folded here, so a phrase spelled with
them starts a passage of its own: the table then lists more rows, never hides one.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

import polars as pl

from graphlink.config.kinds import kind_name, kind_name_expr
from graphlink.views.templates import tokenise
from graphlink.views.words import plural

__all__ = ["PASSAGE_SCHEMA", "phrase_passages", "passage_kind_name", "passage_kind_expr", "with_passages", "passage_summary"]

#: ``passage`` (Int64, 0, 1, ... in the order of :func:`phrase_passages`), ``position`` (Int64, the phrase's place
#: in its passage), ``text`` (String, the whole passage) per phrase.
PASSAGE_SCHEMA = pl.Schema({"passage": pl.Int64, "position": pl.Int64, "text": pl.String})


def _key(word: str) -> str:
    """A word as compared: NFKC, control and format characters (Cc, Cf) removed, case folded."""
    return "".join(c for c in unicodedata.normalize("NFKC", word) if unicodedata.category(c) not in ("Cc", "Cf")).casefold()


def phrase_passages(phrases: Sequence[str]) -> pl.DataFrame:
    """Chain prompt phrases that overlap by all but one word into passages.

    Parameters
    ----------
    phrases : sequence of str
        Prompt phrases (``prompt`` values of ``evidence.parquet``), in any order; duplicates allowed.

    Returns
    -------
    DataFrame
        One row per phrase, in input order, schema :data:`PASSAGE_SCHEMA`: the passage it belongs to, its place
        in it and the passage's text. A phrase whose last ``n - 1`` words are the next one's first ``n - 1`` is
        followed by it; each passage is a maximal chain, started at a phrase no phrase left over precedes (then at
        the smallest phrase left, for cycles), the next phrase taken in sorted order where several could follow
        (template variants share a head: the other variant's branch is a passage of its own), so the result
        depends only on the set of phrases. Linear in the phrases but for variants and cycles (one pass over
        the phrases left per round). The text is the
        first phrase followed by each next phrase's last word with what precedes it in that phrase (its
        punctuation and spacing), and what follows the last phrase's last word.

    Examples
    --------
    >>> p = phrase_passages(["out loud. Before answering, write", "Ignore brevity. Think out loud",
    ...                      "brevity. Think out loud. Before", "Think out loud. Before answering",
    ...                      "What is the final value"])
    >>> p["passage"].to_list(), p["position"].to_list()
    ([0, 0, 0, 0, 1], [3, 0, 1, 2, 0])
    >>> p["text"][0]
    'Ignore brevity. Think out loud. Before answering, write'
    >>> phrase_passages([]).height
    0
    """
    texts = [str(p) for p in phrases]
    if not texts:
        return pl.DataFrame(schema=PASSAGE_SCHEMA)
    tokens = [[(_key(w), a, b) for w, a, b in tokenise(t) if _key(w)] for t in texts]  # no word of controls alone
    words = [tuple(w for w, _, _ in tok) for tok in tokens]
    order = sorted(range(len(texts)), key=lambda i: (words[i], texts[i]))
    first: dict[tuple[str, ...], int] = {}  # the same words spelled otherwise (another number) share a place
    for i in order:
        first.setdefault(words[i], i)
    unique = [i for i in order if first[words[i]] == i]
    followers: dict[tuple[str, ...], list[int]] = {}
    for i in unique:
        if len(words[i]) >= 2:
            followers.setdefault(words[i][:-1], []).append(i)
    ends = Counter(words[i][1:] for i in unique if len(words[i]) >= 2)  # left over, by the words they end with
    place: dict[int, tuple[int, int]] = {}
    chains: list[str] = []

    def chain(start: int) -> None:
        number, current, step = len(chains), start, 0
        cut = tokens[start][-1][2] if tokens[start] else len(texts[start])
        text, trail = texts[start][:cut], texts[start][cut:]  # what follows a phrase's last word ends the passage
        while True:
            place[current] = (number, step)
            if len(words[current]) < 2:
                break
            ends[words[current][1:]] -= 1
            current = next((j for j in followers.get(words[current][1:], ()) if j not in place), -1)
            if current < 0:
                break
            tok = tokens[current]
            text += texts[current][tok[-2][2]:tok[-1][2]]
            trail = texts[current][tok[-1][2]:]
            step += 1
        chains.append(text + trail)

    while len(place) < len(unique):
        # A passage starts at a phrase no phrase left over precedes (a variant's branch once its head is used);
        # when none does (a cycle of repeated words), at the smallest left.
        started = False
        for i in unique:
            if i not in place and (len(words[i]) < 2 or not ends[words[i][:-1]]):
                chain(i)
                started = True
        if not started:
            chain(next(i for i in unique if i not in place))
    passage = [place[first[w]][0] for w in words]
    position = [place[first[w]][1] for w in words]
    return pl.DataFrame({"passage": passage, "position": position, "text": [chains[p] for p in passage]},
                        schema=PASSAGE_SCHEMA)


def passage_kind_name(kind: str, phrases: int) -> str:
    """The kind of a row of :func:`with_passages` as read: ``prompt passage (26 phrases)`` for a passage of several
    phrases, else :func:`graphlink.config.kinds.kind_name`.

    Examples
    --------
    >>> passage_kind_name("prompt", 26), passage_kind_name("prompt", 1), passage_kind_name("payment", 1)
    ('prompt passage (26 phrases)', 'prompt phrase', 'payment card')
    """
    if kind == "prompt" and phrases > 1:
        return f"prompt passage ({plural(phrases, 'phrase')})"
    return kind_name(kind)


def passage_kind_expr() -> pl.Expr:
    """:func:`passage_kind_name` of columns ``kind`` and ``phrases`` as a polars expression.

    Examples
    --------
    >>> pl.DataFrame({"kind": ["prompt", "ip"], "phrases": [3, 1]}).select(passage_kind_expr())["kind"].to_list()
    ['prompt passage (3 phrases)', 'IP address']
    """
    return (pl.when((pl.col("kind") == "prompt") & (pl.col("phrases") > 1))
            .then(pl.format("prompt passage ({} phrases)", pl.col("phrases")))
            .otherwise(kind_name_expr("kind")).alias("kind"))


def with_passages(table: pl.DataFrame, counts: Sequence[str] = ("accounts_sharing", "df", "outside_flagged")
                  ) -> pl.DataFrame:
    """Fold a table's prompt rows into one row per passage (:func:`phrase_passages`); other rows as they are.

    Parameters
    ----------
    table : DataFrame
        ``kind, value`` and the count columns ``counts`` (those present are used), rows in the order to keep.
    counts : sequence of str
        Columns a passage row takes the largest of over its phrases (nulls ignored).

    Returns
    -------
    DataFrame
        The table's columns plus ``phrases`` (UInt32: the phrases a row stands for, 1 for every other kind);
        a passage row takes ``value`` = the passage's text and the place of its first row in ``table``.

    Examples
    --------
    >>> t = pl.DataFrame({"kind": ["payment", "prompt", "prompt", "prompt"],
    ...                   "value": ["card-1", "Think out loud. Before answering", "Ignore brevity. Think out loud",
    ...                             "brevity. Think out loud. Before"], "accounts_sharing": [3, 9, 7, 8]})
    >>> with_passages(t).rows()
    [('payment', 'card-1', 3, 1), ('prompt', 'Ignore brevity. Think out loud. Before answering', 9, 3)]
    """
    present = [c for c in counts if c in table.columns]
    ordered = table.with_row_index("__row")
    prompts = ordered.filter(pl.col("kind") == "prompt")
    if not prompts.height:
        return table.with_columns(pl.lit(1, pl.UInt32).alias("phrases"))
    chained = pl.concat([prompts, phrase_passages(prompts["value"].to_list())], how="horizontal")
    folded = chained.group_by("passage").agg(
        pl.col("__row").min(), pl.col("text").first().alias("value"), pl.len().cast(pl.UInt32).alias("phrases"),
        *[pl.col(c).max() for c in present],
        *[pl.col(c).first() for c in table.columns if c not in present and c not in ("kind", "value")],
    ).with_columns(pl.lit("prompt").alias("kind"))
    others = ordered.filter(pl.col("kind") != "prompt").with_columns(pl.lit(1, pl.UInt32).alias("phrases"))
    columns = ["__row", *table.columns, "phrases"]
    return (pl.concat([others.select(columns), folded.select(columns).cast(others.select(columns).schema)])
            .sort("__row").drop("__row"))


def passage_summary(table: pl.DataFrame) -> str:
    """How many values a :func:`with_passages` table stands for, and its passages when it folded any.

    Examples
    --------
    >>> t = pl.DataFrame({"kind": ["payment", "prompt", "prompt"], "value": ["c", "p1", "p2"],
    ...                   "phrases": [1, 26, 4]}, schema_overrides={"phrases": pl.UInt32})
    >>> passage_summary(t)
    '31 values: 30 prompt phrases in 2 passages'
    >>> passage_summary(t.head(1)), passage_summary(t.tail(2))
    ('1 value', '30 prompt phrases in 2 passages')
    """
    if "phrases" not in table.columns:
        return plural(table.height, "value")
    total = int(table["phrases"].sum() or 0)
    prompts = table.filter(pl.col("kind") == "prompt")
    phrases = int(prompts["phrases"].sum() or 0)
    if prompts.height == phrases:  # nothing folded
        return plural(total, "value")
    folded = f"{plural(phrases, 'prompt phrase')} in {plural(prompts.height, 'passage')}"
    return folded if phrases == total else f"{plural(total, 'value')}: {folded}"
