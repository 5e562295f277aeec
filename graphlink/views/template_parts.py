"""A reconstructed template's parts as its prompts were written: the text between and around the words is kept.

:func:`graphlink.views.templates.reconstruct_templates` finds which words of an example prompt are template text
(words detection compares, :mod:`graphlink.views.tokens`); :func:`written_parts` cuts the example into the parts
an investigator reads: constant text exactly as typed -- operators, punctuation, brackets and spacing between and
around the words included ("solve x^2 - ⟨#⟩x") -- and slots only where the followers of the template differ: a
run of words that varies (``…``), a number that varies (``#``, also inside a word: ``⟨#⟩x``), or the text between
two template words when the followers wrote different text there (``x^2 ⟨…⟩ 36x`` when some wrote ``-`` and some
``+``: detection, which reads words only, cannot tell them apart). Concatenated, the parts are the template.

Before session 41 the parts were the words only, joined by spaces: text between a number and the next word was
dropped ("x^2 - 36x" read "x^ # 36x"), as was punctuation opening a word or following a varying part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["WORDS_SLOT", "NUMBER_SLOT", "align_follower", "written_parts", "chain_parts", "merge_parts"]

#: The slot of words that differ between prompts.
WORDS_SLOT = "…"
#: The slot of a number that differs between prompts (detection reads every number as ``0``).
NUMBER_SLOT = "#"

_DIGITS = re.compile(r"[0-9]+")
_SPACE = re.compile(r"\s+")

Token = tuple[str, int, int]
#: A follower of a template: its text, its tokens, and for each template word (index in the example's tokens) the
#: index of the same word in its own tokens.
Follower = tuple[str, Sequence[Token], dict[int, int]]


def align_follower(example_hits: dict[tuple[str, ...], int], hits: dict[tuple[str, ...], int],
                   grams: Sequence[tuple[str, ...]], ngram: int, sizes: tuple[int, int], head: int = 0,
                   tail: int = 0) -> dict[int, int]:
    """Example token index -> follower token index, from the template phrases both hold (``hits``: phrase -> its
    first word's index) and the ``head`` / ``tail`` words all followers open and end with; ``sizes`` is the
    example's and the follower's number of tokens.

    Examples
    --------
    >>> align_follower({("a", "b"): 1}, {("a", "b"): 3}, [("a", "b")], 2, (4, 6), head=1)
    {0: 0, 1: 3, 2: 4}
    """
    n, m = sizes
    pairs = {k: k for k in range(min(head, n, m))}
    pairs.update({n - k: m - k for k in range(1, min(tail, n, m) + 1)})
    for gram in grams:
        if gram in hits and gram in example_hits:
            pairs.update({example_hits[gram] + k: hits[gram] + k for k in range(ngram)})
    return pairs


def _before(text: str, tokens: Sequence[Token], k: int) -> str:
    """The text between token ``k`` and the previous token of another span (the start of the text for the first;
    ``k == len(tokens)``: after the last)."""
    end = tokens[k][1] if k < len(tokens) else len(text)
    j = k - 1
    while j >= 0 and k < len(tokens) and tokens[j][1:] == tokens[k][1:]:
        j -= 1
    return text[tokens[j][2] if j >= 0 else 0:end]


def _after(text: str, tokens: Sequence[Token], k: int) -> str:
    """The text between token ``k`` and the next token of another span (the end of the text after the last)."""
    j = k + 1
    while j < len(tokens) and tokens[j][1:] == tokens[k][1:]:
        j += 1
    return text[tokens[k][2]:tokens[j][1] if j < len(tokens) else len(text)]


def _prefix(texts: list[str]) -> str:
    first = texts[0]
    for i, c in enumerate(first):
        if any(len(t) <= i or t[i] != c for t in texts[1:]):
            return first[:i]
    return first


def _suffix(texts: list[str]) -> str:
    return _prefix([t[::-1] for t in texts])[::-1]


def _between(texts: list[str]) -> list[tuple[str, bool]]:
    """The text between two template words as the followers wrote it (the example's first): as written when they
    all wrote the same (spacing aside), else what they share before and after a slot."""
    if all(_SPACE.sub(" ", t) == _SPACE.sub(" ", texts[0]) for t in texts):
        return [(texts[0], False)]
    head = _prefix(texts)
    tail = _suffix([t[len(head):] for t in texts])
    return [(head, False), (WORDS_SLOT, True), (tail, False)]


def _word(word: str, written: list[str]) -> list[tuple[str, bool]]:
    """A template word as written in the example; its numbers slots unless two prompts or more follow the template
    and all wrote the same digits there (one prompt cannot say whether they vary)."""
    if not _DIGITS.search(word) or len(written) >= 2 and all(_DIGITS.findall(w) == _DIGITS.findall(word) for w in written):
        return [(word, False)]
    parts: list[tuple[str, bool]] = []
    at = 0
    for digits in _DIGITS.finditer(word):
        parts += [(word[at:digits.start()], False), (NUMBER_SLOT, True)]
        at = digits.end()
    return parts + [(word[at:], False)]


def written_parts(text: str, tokens: Sequence[Token], constant: Sequence[bool],
                  followers: Sequence[Follower]) -> list[tuple[str, bool]]:
    """The parts of a template given its example prompt (``text``, its ``tokens``), which of its tokens are template
    words (``constant``) and the prompts that follow it (the example among them, each aligned to the example:
    :func:`align_follower`; the example first). See the module's docstring; concatenated, the parts read as the
    template.

    Examples
    --------
    >>> a, b = "solve x^2 - 36x now", "solve x^2 - 7x now"
    >>> ta = [("solve", 0, 5), ("x", 6, 7), ("0", 8, 9), ("0x", 12, 15), ("now", 16, 19)]
    >>> tb = [("solve", 0, 5), ("x", 6, 7), ("0", 8, 9), ("0x", 12, 14), ("now", 15, 18)]
    >>> same = {k: k for k in range(5)}
    >>> "".join(f"<{p}>" if v else p for p, v in written_parts(a, ta, [True] * 5, [(a, ta, same), (b, tb, same)]))
    'solve x^2 - <#>x now'
    """
    n = len(tokens)
    # Tokens sharing one written span (a word whose key holds several words) are one unit, constant if all are.
    units: list[list[int]] = []
    for k in range(n):
        if units and tokens[units[-1][0]][1:] == tokens[k][1:]:
            units[-1].append(k)
        else:
            units.append([k])
    fixed = [all(constant[k] for k in unit) for unit in units]
    parts: list[tuple[str, bool]] = []
    for u, unit in enumerate(units + [[]]):
        left = u > 0 and fixed[u - 1]
        right = u < len(units) and fixed[u]
        if left and right:  # between two template words: what the followers wrote there
            a, b = units[u - 1][-1], unit[0]
            texts = [f_text[f_tokens[f_map[a]][2]:f_tokens[f_map[b]][1]] for f_text, f_tokens, f_map in followers
                     if a in f_map and b in f_map and f_map[a] < f_map[b]]
            parts += _between(texts or [_after(text, tokens, a)])
        elif left:  # after a template word, before a slot or the end: what every follower wrote after it
            a = units[u - 1][-1]
            parts.append((_prefix([_after(t, ft, fm[a]) for t, ft, fm in followers if a in fm]
                                  or [_after(text, tokens, a)]), False))
        elif right:  # before a template word, after a slot or the start: what every follower wrote before it
            b = unit[0]
            parts.append((_suffix([_before(t, ft, fm[b]) for t, ft, fm in followers if b in fm]
                                  or [_before(text, tokens, b)]), False))
        if u == len(units):
            break
        if fixed[u]:
            k = unit[0]
            parts += _word(text[tokens[k][1]:tokens[k][2]],
                           [t[ft[fm[k]][1]:ft[fm[k]][2]] for t, ft, fm in followers if k in fm])
        else:
            parts.append((WORDS_SLOT, True))
    return merge_parts(parts)


def chain_parts(chains: Sequence[Sequence[str]], join) -> list[tuple[str, bool]]:
    """The parts of a template known only by its shingles' words (``chains``, each a run of normalised words;
    ``join`` writes words as text): words separated by spaces, every number (``0``) a slot, chains apart by a
    :data:`WORDS_SLOT` slot.

    Examples
    --------
    >>> chain_parts([["give", "me", "0", "ideas"], ["for", "it"]], " ".join)
    [('give me ', False), ('#', True), (' ideas ', False), ('…', True), (' for it', False)]
    """
    parts: list[tuple[str, bool]] = []
    for c, chain in enumerate(chains):
        if c:
            parts += [(" ", False), (WORDS_SLOT, True), (" ", False)]
        pieces: list[tuple[str, bool]] = []
        run: list[str] = []
        for w in [*chain, "0"]:  # a number ends a run of words (the last "0" only flushes it)
            if w != "0":
                run.append(w)
                continue
            if run:
                pieces.append((join(run), False))
                run = []
            pieces.append((NUMBER_SLOT, True))
        for i, piece in enumerate(pieces[:-1]):
            parts += [(" ", False), piece] if i else [piece]
    return merge_parts(parts)


def merge_parts(parts: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Adjacent constant parts joined, empty ones dropped, a slot repeated right after itself dropped.

    Examples
    --------
    >>> merge_parts([("a", False), ("", False), ("b", False), ("…", True), ("…", True), ("", False)])
    [('ab', False), ('…', True)]
    """
    merged: list[tuple[str, bool]] = []
    for text, variable in parts:
        if not text:
            continue
        if merged and merged[-1][1] == variable and (not variable or merged[-1][0] == text):
            if not variable:
                merged[-1] = (merged[-1][0] + text, False)
            continue
        merged.append((text, variable))
    return merged
