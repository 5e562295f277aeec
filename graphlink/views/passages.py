"""Prompt phrases read as the passages they come from.

Detection links accounts by prompt *shingles*: every run of ``ngram`` consecutive normalised words
(:mod:`graphlink.stages.signals.prompt`). One templated sentence of 30 words is 26 overlapping shingles, so a
table of the values that tied a cluster listed the same sentence 26 times, five words at a time, and "tied by 59
prompt phrases" read as 59 independent values when it was about four templates (new-user review, session 37).

:func:`phrase_passages` chains phrases that overlap by all but one word (the way
:func:`graphlink.views.templates.reconstruct_templates` rebuilds a template from shingles) into maximal passages,
quoted in the spelling of the phrases themselves with numbers as ``⟨#⟩`` (so a search of the log finds the words
between two numbers); :func:`with_passages` folds a table's prompt rows into one row per passage. The counts of a
passage row are those of its least-held phrase: no more accounts hold the whole passage.

Words are split and keyed as detection compares them (:func:`graphlink.views.tokens.keyed_tokens`):
each word's key is :func:`graphlink.stages.signals.normalise.normalise_prompt` of it (accents and invisible or
control characters removed, NFKC, look-alike letters of other scripts folded to the letters they imitate, case
folded, digit runs of any script as one number), so two phrases detection counts as one value share a place
in a passage, however an attacker spelled them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from graphlink.config.kinds import kind_name, kind_name_expr
from graphlink.phrase_quotes import number_slots
from graphlink.views.tokens import keyed_tokens
from graphlink.views.words import plural

__all__ = ["PASSAGE_SCHEMA", "phrase_passages", "passage_kind_name", "passage_kind_expr", "with_passages", "passage_summary",
           "with_passage_column"]

#: ``passage`` (Int64, 0, 1, ... in the order of :func:`phrase_passages`), ``position`` (Int64, the phrase's place
#: in its passage), ``text`` (String, the whole passage) per phrase.
PASSAGE_SCHEMA = pl.Schema({"passage": pl.Int64, "position": pl.Int64, "text": pl.String})




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
        in it and the passage's text. A phrase is followed by another when the other's first ``n - 1`` words are
        its last ``n - 1``, it is the only phrase that can follow and it can follow no other: the passages are the
        maximal non-branching paths (unitigs) of the phrases' de Bruijn graph (Compeau, Pevzner and Tesler, "How to
        apply de Bruijn graphs to genome assembly", Nature Biotechnology 29, 2011). Where two texts share ``n - 1``
        words the passage stops there rather than join them, so a passage is not stitched from two templates at a
        common clause; it can still join two texts whose only overlap in the table is ``n - 1`` words long.
        Phrases with the same words (spelled with other numbers, cases or widths) share a place. The result
        depends only on the set of phrases; linear in the phrases. The text is the first phrase followed by each
        next phrase's last word with what precedes it in that phrase (its punctuation and spacing), and what
        follows the last phrase's last word; digit runs read ``⟨#⟩``: phrases are matched with numbers
        normalised, and each is quoted from one prompt in the log, not necessarily one of the cluster's, so a
        number in a quote would name an account's prompt the cluster may never have sent.

    Examples
    --------
    >>> p = phrase_passages(["out loud. Before answering, write", "Ignore brevity. Think out loud",
    ...                      "brevity. Think out loud. Before", "Think out loud. Before answering",
    ...                      "What is the final value"])
    >>> p["passage"].to_list(), p["position"].to_list()
    ([0, 0, 0, 0, 1], [3, 0, 1, 2, 0])
    >>> p["text"][0]
    'Ignore brevity. Think out loud. Before answering, write'
    >>> phrase_passages(["Task 15020: solve it", "15020: solve it now"])["text"].to_list()
    ['Task ⟨#⟩: solve it now', 'Task ⟨#⟩: solve it now']
    >>> phrase_passages([]).height
    0
    """
    texts = ["" if p is None else str(p) for p in phrases]  # a null value quotes nothing, not the word "None"
    if not texts:
        return pl.DataFrame(schema=PASSAGE_SCHEMA)
    tokens = keyed_tokens(texts)  # as detection compares the words; no word of controls alone
    words = [tuple(w for w, _, _ in tok) for tok in tokens]
    order = sorted(range(len(texts)), key=lambda i: (words[i], texts[i]))
    first: dict[tuple[str, ...], int] = {}  # the same words spelled otherwise (another number) share a place
    for i in order:
        first.setdefault(words[i], i)
    unique = [i for i in order if first[words[i]] == i]
    by_head: dict[tuple[str, ...], list[int]] = {}
    by_tail: dict[tuple[str, ...], list[int]] = {}
    for i in unique:
        if len(words[i]) >= 2:
            by_head.setdefault(words[i][:-1], []).append(i)
            by_tail.setdefault(words[i][1:], []).append(i)
    # i -> j only where j is the one phrase that can follow i and i the one that can precede j (a unitig of the
    # phrases' de Bruijn graph): where two texts share n - 1 words (a stock clause, four characters of Chinese),
    # the passage stops instead of stitching them into a text nobody wrote.
    nxt: dict[int, int] = {}
    for i in unique:
        if len(words[i]) >= 2 and len(after := by_head.get(words[i][1:], [])) == 1 and after[0] != i:
            j = after[0]
            if len(by_tail.get(words[j][:-1], [])) == 1:
                nxt[i] = j
    preceded = set(nxt.values())
    place: dict[int, tuple[int, int]] = {}
    chains: list[str] = []
    for start in [i for i in unique if i not in preceded] + unique:  # path heads first; then cycles, smallest first
        if start in place:
            continue
        number, current, step = len(chains), start, 0
        cut = tokens[start][-1][2] if tokens[start] else len(texts[start])
        text, trail = texts[start][:cut], texts[start][cut:]  # what follows a phrase's last word ends the passage
        while True:
            place[current] = (number, step)
            current = nxt.get(current, -1)
            if current < 0 or current in place:
                break
            tok = tokens[current]
            text += texts[current][tok[-2][2]:tok[-1][2]]
            trail = texts[current][tok[-1][2]:]
            step += 1
        chains.append(number_slots(text + trail))
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
        Columns a passage row takes from its least-held phrase (fewest ``accounts_sharing``, then ``df``): at most
        that many accounts hold the whole passage, and the three counts describe one phrase.

    Returns
    -------
    DataFrame
        The table's columns plus ``phrases`` (UInt32: the phrases a row stands for, 1 for every other kind);
        a prompt row's ``value`` is its passage's text (digit runs as ``⟨#⟩``, also for a passage of one phrase)
        and it takes the place of its passage's first row in ``table``.

    Examples
    --------
    >>> t = pl.DataFrame({"kind": ["payment", "prompt", "prompt", "prompt"],
    ...                   "value": ["card-1", "Think out loud. Before answering", "Ignore brevity. Think out loud",
    ...                             "brevity. Think out loud. Before"], "accounts_sharing": [3, 9, 7, 8]})
    >>> with_passages(t).rows()
    [('payment', 'card-1', 3, 1), ('prompt', 'Ignore brevity. Think out loud. Before answering', 7, 3)]
    """
    present = [c for c in counts if c in table.columns]
    ordered = table.with_row_index("__row")
    prompts = ordered.filter(pl.col("kind") == "prompt")
    if not prompts.height:
        return table.with_columns(pl.lit(1, pl.UInt32).alias("phrases"))
    chained = pl.concat([prompts, phrase_passages(prompts["value"].to_list())], how="horizontal")
    # The counts of the passage's least-held phrase, all from that one row: no more accounts hold the whole passage.
    least = [c for c in ("accounts_sharing", "df") if c in present]
    counted = (chained.sort(["passage", *least, "__row"], nulls_last=True).group_by("passage", maintain_order=True)
               .agg(*[pl.col(c).first() for c in present]))
    folded = chained.group_by("passage").agg(
        pl.col("__row").min(), pl.col("text").first().alias("value"), pl.len().cast(pl.UInt32).alias("phrases"),
        *[pl.col(c).first() for c in table.columns if c not in present and c not in ("kind", "value")],
    ).join(counted, on="passage").with_columns(pl.lit("prompt").alias("kind"))
    others = ordered.filter(pl.col("kind") != "prompt").with_columns(pl.lit(1, pl.UInt32).alias("phrases"))
    columns = ["__row", *table.columns, "phrases"]
    return (pl.concat([others.select(columns), folded.select(columns).cast(others.select(columns).schema)])
            .sort("__row").drop("__row"))


def with_passage_column(table: pl.DataFrame) -> pl.DataFrame:
    """``table`` with ``passage`` (String) after ``value``: for each prompt row, the passage its phrase belongs to
    among its cluster's prompt phrases (:func:`phrase_passages`, per ``cluster_id`` when the table has one); null for
    other kinds. Every row stays: a spreadsheet groups the phrases by passage (``evidence.csv``).

    Examples
    --------
    >>> t = pl.DataFrame({"cluster_id": [1, 1, 1, 2], "kind": ["prompt", "ip", "prompt", "prompt"],
    ...                   "value": ["Think out loud. Before answering", "1.2.3.4", "brevity. Think out loud. Before",
    ...                             "Ignore brevity. Think out loud"]})
    >>> with_passage_column(t)["passage"].to_list()
    ['brevity. Think out loud. Before answering', None, 'brevity. Think out loud. Before answering', 'Ignore brevity. Think out loud']
    """
    ordered = table.with_row_index("__row")
    groups = ["cluster_id"] if "cluster_id" in table.columns else []
    prompts = ordered.filter(pl.col("kind") == "prompt")
    parts = [pl.DataFrame(schema={"__row": pl.UInt32, "passage": pl.String})]
    for part in (prompts.partition_by(groups, maintain_order=True) if groups else [prompts]):
        if part.height:
            parts.append(part.select("__row").with_columns(phrase_passages(part["value"].to_list())["text"].alias("passage")))
    columns = list(table.columns)
    columns.insert(columns.index("value") + 1, "passage")
    return ordered.join(pl.concat(parts), on="__row", how="left", maintain_order="left").select(columns)


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
