"""Prompt words as detection reads them, with their spans in the text as written: the tokenisation behind the
template view (:mod:`graphlink.views.templates`) and the tying tables' passages (:mod:`graphlink.views.passages`).

:func:`tokenise` splits a prompt where detection's normaliser puts word boundaries (ASCII punctuation and
whitespace, Unicode punctuation and separators, CamelCase, each character of a script written without spaces);
:func:`keyed_tokens` gives each word the key detection compares it by
(:func:`graphlink.stages.signals.normalise.normalise_prompt` of the word as written: accents, invisible and control
characters removed, look-alike letters folded), so two copies of a template an attacker spelled differently read
alike in the views as they do in detection (break-it review, session 39).
"""

from __future__ import annotations

import itertools

import re
import unicodedata
from collections.abc import Sequence

import polars as pl

from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.runs import RUN_CHARS, short_runs
from graphlink.stages.signals.typos import read_typos
from graphlink.stages.signals.normalise import SEPARATOR, SPACELESS, normalise_prompt

__all__ = ["tokenise", "keyed_tokens", "join_words"]

# What graphlink.stages.signals.normalise.normalise_prompt treats as separators: ASCII punctuation and whitespace.
# ASCII whitespace is the five characters normalisation reads as separators (Python's \s would also split at the
# information separators \x1c-\x1f, control characters normalisation removes from inside a word).
_TOKEN = re.compile(r"[^ \t\n\x0b\x0c\r!-/:-@\[-`{-~]+")
_DIGITS = re.compile(r"[0-9]+")
# The normaliser splits CamelCase at each lower-to-upper letter (ASCII text: this pattern; other text: by category).
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Non-ASCII characters as the normaliser reads them: 0 part of a word, 1 a word of its own (a script written without
# spaces: SPACELESS), 2 a separator (Unicode punctuation and separators). Classified by the normaliser's own
# patterns (polars regex), once per character met.
_CHAR_CLASS: dict[str, int] = {}
_SEPARATOR = f"^{SEPARATOR}$"


def _classes(text: str) -> dict[str, int]:
    new = {c for c in text if c not in _CHAR_CLASS}
    if new:
        chars = pl.Series(sorted(new), dtype=pl.String)
        for char, alone, between in zip(chars, chars.str.contains(SPACELESS), chars.str.contains(_SEPARATOR)):
            _CHAR_CLASS[char] = 1 if alone else 2 if between else 0
    return _CHAR_CLASS


def _word_run(text: str, start: int, end: int, camel: bool = True) -> list[tuple[str, int, int]]:
    """A run of word characters as normalised words: CamelCase split (at a lower-case letter followed by an
    upper-case one, as the normaliser splits; ``camel=False``: not split), lower case, digit runs to ``0``."""
    if not camel:
        inner = []
    elif text.isascii():
        inner = [start + c.start() for c in _CAMEL.finditer(text[start:end])]
    else:
        inner = [i for i in range(start + 1, end)
                 if unicodedata.category(text[i]) == "Lu" and unicodedata.category(text[i - 1]) == "Ll"]
    cuts = [start, *inner, end]
    return [(_DIGITS.sub("0", text[a:b].lower()), a, b) for a, b in zip(cuts, cuts[1:])]


def tokenise(text: str, camel: bool = True) -> list[tuple[str, int, int]]:
    """Words of a prompt as graphlink normalises them, with their span in the original text (``camel=False``: a
    CamelCase run left one word, as :func:`keyed_tokens` reads it against the texts' words).

    A word is a run of characters other than punctuation and whitespace (ASCII and Unicode), lower-cased,
    digit runs replaced by ``0``; each character of a script written without spaces (Han, kana, Thai ...:
    :data:`graphlink.stages.signals.normalise.SPACELESS`) is a word of its own, as detection shingles such
    scripts by characters (:func:`graphlink.stages.signals.normalise.normalise_prompt` word by word).

    Examples
    --------
    >>> tokenise("Give me 12 ideas, fast!")
    [('give', 0, 4), ('me', 5, 7), ('0', 8, 10), ('ideas', 11, 16), ('fast', 18, 22)]
    >>> [w for w, _, _ in tokenise("YouAreAnExpert.")]
    ['you', 'are', 'an', 'expert']
    >>> [w for w, _, _ in tokenise("あなたは、Rust 2 の先生。")]
    ['あ', 'な', 'た', 'は', 'rust', '0', 'の', '先', '生']
    """
    if text.isascii():
        if camel:
            return [w for m in _TOKEN.finditer(text) for w in _word_run(text, m.start(), m.end(), camel)]
        # A run one word (as _word_run reads it unsplit: lower case, digit runs 0), the text lowered once
        low = text.lower()
        if _DIGITS.search(low) is None:
            return [(low[m.start():m.end()], m.start(), m.end()) for m in _TOKEN.finditer(low)]
        return [(_DIGITS.sub("0", low[m.start():m.end()]), m.start(), m.end()) for m in _TOKEN.finditer(low)]
    classes = _classes(text)
    words: list[tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        kind = classes[text[i]]
        if kind:
            if kind == 1:
                words.append((text[i].lower(), i, i + 1))
            i += 1
            continue
        j = i
        while j < n and not classes[text[j]]:
            j += 1
        words.extend(_word_run(text, i, j, camel))
        i = j
    return words


def join_words(words: Sequence[str]) -> str:
    """Normalised words as text: separated by spaces, but none between two characters of a script written without
    spaces (``あ な た`` reads ``あなた``), as the prompt evidence quotes them.

    Examples
    --------
    >>> join_words(["あ", "な", "た", "は", "rust", "0"]), join_words(["give", "me"])
    ('あなたは rust 0', 'give me')
    """
    classes = _classes("".join(words))
    alone = [len(w) == 1 and classes.get(w) == 1 for w in words]
    return "".join(w if not i or (alone[i] and alone[i - 1]) else " " + w for i, w in enumerate(words))




#: Written words and their keys (``normalise_prompt`` with CamelCase marks, before they are read), kept between calls:
#: at most this many, then forgotten at once.
_KEYS_HELD = 100_000
_KEYS: dict[str, str] = {}


#: Texts tokenised (their characters, at most: a sampled prompt holds up to 2,000), kept between calls.
_SPANS_HELD = 1_000_000
_SPANS: dict[str, list[tuple[str, int, int]]] = {}
_SPANS_CHARS = [0]


def _spans(text: str) -> list[tuple[str, int, int]]:
    """:func:`tokenise` of ``text`` unsplit at CamelCase, kept between calls as :data:`_KEYS` are (the view reads a
    cluster's phrases and prompts again for each shared head it reads behind: 40 % of the texts it tokenised)."""
    spans = _SPANS.get(text)
    if spans is None:
        if _SPANS_CHARS[0] + len(text) > _SPANS_HELD:
            _SPANS.clear()
            _SPANS_CHARS[0] = 0
        spans = _SPANS[text] = tokenise(text, camel=False)
        _SPANS_CHARS[0] += len(text)
    return spans


def keyed_tokens(texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    """:func:`tokenise` of each text, each word keyed as detection compares it (``normalise_prompt`` of the word as
    written, one polars call for all, its CamelCase read against the words of all the texts as detection reads its
    sample: :func:`graphlink.stages.signals.camel.read_camel`, misspelt words too); a key of several words gives each, on the written
    word's span; words whose key is empty (control or format characters alone) dropped.

    Examples
    --------
    >>> [[w for w, _, _ in t] for t in keyed_tokens(["Thi\x07nk st\u0435p", "caf\u00e9 \u200b 12", "ThInk YouAre"])]
    [['think', 'step'], ['cafe', '0'], ['think', 'you', 'are']]
    """
    spans = [_spans(t) for t in texts]
    written = [t[a:b] for t, span in zip(texts, spans) for _, a, b in span]
    if not written:
        return [[] for _ in texts]
    # Each written word normalised once (normalise_prompt reads a word alone): the template view keys the same
    # words again and again (a cluster's sample, then the text behind a shared head), and a polars call per text set
    # was most of its time (the fixture's 122 clusters: 350 calls, 158k words, 11k distinct).
    known = {w: _KEYS[w] for w in dict.fromkeys(written) if w in _KEYS}
    new = [w for w in dict.fromkeys(written) if w not in known]
    if new:
        keyed = pl.Series(new, dtype=pl.String).to_frame("w").select(normalise_prompt(pl.col("w"), MARK))["w"].to_list()
        if len(_KEYS) + len(new) > _KEYS_HELD:
            _KEYS.clear()
        _KEYS.update(zip(new, keyed))
        known.update(zip(new, keyed))
    keyed = [known[w] for w in written]
    if any(len(k) >= RUN_CHARS for k in known.values()):
        # A possible run of words (runs.read_runs): cut by the words' frequencies ("you are a", not "you area"), so
        # each written word is read once per time it is written, as detection reads the texts.
        keyed = read_camel(pl.DataFrame({"w": keyed}, schema={"w": pl.String}), "w")["w"].to_list()
    elif any(MARK in k for k in known.values()):  # CamelCase marks read against the words of all the texts (each
        # distinct key once: what read_camel reads of them is which words stand alone and how each is marked)
        distinct = list(dict.fromkeys(known.values()))
        read = dict(zip(distinct, read_camel(pl.DataFrame({"w": distinct}, schema={"w": pl.String}), "w")["w"].to_list()))
        keyed = [read[k] for k in keyed]
    if not any(len(k) >= RUN_CHARS for k in known.values()):  # (read_camel read them above)
        # Misspelt words read as the words the texts write (graphlink.stages.signals.typos.read_typos), as detection
        # reads them: every written word a row, so the words' frequencies are the texts'.
        keyed = read_typos(pl.DataFrame({"w": keyed}, schema={"w": pl.String}), "w")["w"].to_list()
    keyed = _phrases(keyed, [len(span) for span in spans])
    keys = iter(keyed)
    # A key may hold several words: characters the key removes sat at a boundary the written word hides
    # ("You\u200bAre", "a\u0301B": a CamelCase or script boundary once they are gone), and detection reads the
    # words apart; each is a word of its own here, on the written word's span (break-it review, session 40).
    return [[(w, a, b) for _, a, b in span for w in next(keys).split(" ") if w] for span in spans]


def _phrases(keyed: list[str], lengths: list[int]) -> list[str]:
    """``keyed`` (the texts' keys in order, ``lengths`` of them a text) with each shorter run of words read as the
    phrase the texts write beside the same words (:func:`graphlink.stages.signals.runs.short_runs`, as detection
    reads its sample): a ring dropping spaces at random showed one template as three ("Youare acareful mathtutor"),
    each its copies' other spellings. Only when some key is two or three others joined (a dict lookup a word)."""
    known = set(keyed)
    if not any(a + b in known or a + b + c in known for a, b, c in zip(keyed, keyed[1:], keyed[2:] + [""])):
        return keyed
    ends = list(itertools.accumulate(lengths))
    texts = [" ".join(keyed[end - n:end]) for n, end in zip(lengths, ends)]
    reading = dict(short_runs(pl.DataFrame({"norm": texts}, schema={"norm": pl.String})).iter_rows())
    return [reading.get(k, k) for k in keyed]
