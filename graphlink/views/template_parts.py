"""A reconstructed template's parts as its prompts were written: the text between and around the words is kept.

:func:`graphlink.views.templates.reconstruct_templates` finds which words of an example prompt are template text
(words detection compares, :mod:`graphlink.views.tokens`); :func:`written_parts` cuts the example into the parts
an investigator reads: constant text exactly as typed -- operators, punctuation, brackets and spacing between and
around the words included ("solve x^2 - ⟨#⟩x") -- and slots only where the followers of the template differ: a
run of words that varies (``…``), a number that varies (``#``, also inside a word: ``⟨#⟩x``), or the text between
two template words when the followers wrote different text there, no word in it (``≠``: ``x^2 ⟨≠⟩ 36x`` when some
wrote ``-`` and some ``+``; detection, which reads words only, cannot tell them apart). Concatenated, the parts are
the template; :data:`SLOT_MEANINGS` says what each slot stands for (the report's hover text).

Before session 41 the parts were the words only, joined by spaces: text between a number and the next word was
dropped ("x^2 - 36x" read "x^ # 36x"), as was punctuation opening a word or following a varying part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SHARE", "WORDS_SLOT", "NUMBER_SLOT", "BETWEEN_SLOT", "SLOT_MEANINGS", "align_follower", "fit_follower",
           "merge_variants", "written_parts", "chain_parts", "merge_parts"]

#: The slot of words that differ between prompts.
WORDS_SLOT = "…"
#: The slot of a number that differs between prompts (detection reads every number as ``0``).
NUMBER_SLOT = "#"
#: The slot of the text between two template words (operators, punctuation, symbols: no word) when the prompts wrote
#: different text there (``x^2 ⟨≠⟩ 5x``: ``-`` in some, ``+`` in others); not :data:`WORDS_SLOT`, which says words
#: vary (new-user review, session 41).
BETWEEN_SLOT = "≠"
#: What each slot stands for, in words.
SLOT_MEANINGS = {WORDS_SLOT: "words that vary between prompts", NUMBER_SLOT: "a number that varies between prompts",
                 BETWEEN_SLOT: "the prompts write different text here (operators, punctuation; no word)"}

#: Share of a template's words another template's prompts must write to be taken in by it (:func:`merge_variants`;
#: :func:`graphlink.views.templates.reconstruct_templates` holds its followers and examples to it too).
SHARE = 0.6

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


def _filled(texts: list[str]) -> list[str]:
    """The texts beside a slot of the followers that wrote something there: one whose slot at the prompt's start or
    end is empty wrote no separator either, and is no evidence the others' space is part of the slot (new-user review
    nu54: prompts "<prefix> You are ..." beside a bare "You are ..." read as "⟨…⟩You are ...")."""
    return [t for t in texts if t] or texts


def _between(texts: list[str]) -> list[tuple[str, bool]]:
    """The text between two template words as the followers wrote it (the example's first): as written when they
    all wrote the same (spacing aside), else what they share before and after a slot."""
    # Spacing aside, and no text at all (words run together: "Youarea" beside "You are a", read as the same words,
    # new-user review nu43) reads as a space.
    spaced = [_SPACE.sub(" ", t) or " " for t in texts]
    if all(t == spaced[0] for t in spaced):
        return [(texts[0], False)]
    head = _prefix(texts)
    tail = _suffix([t[len(head):] for t in texts])
    return [(head, False), (BETWEEN_SLOT, True), (tail, False)]


def _word(word: str, written: list[str]) -> list[tuple[str, bool]]:
    """A template word as written in the example; its numbers slots unless two prompts or more follow the template
    and all wrote the same digits there (one prompt cannot say whether they vary). Where the prompts write it in
    different case (random capitals), in lower case, as compared: the example's casing is not the template's (new-user
    review, session 42: a random-capital ring's template read ``You ARe An ExpeRT tutor``, one prompt's casing)."""
    if len(set(written)) > 1 and len({w.casefold() for w in written}) == 1:
        word = word.lower()
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
            after = [_after(t, ft, fm[a]) for t, ft, fm in followers if a in fm]
            parts.append((_prefix((_filled(after) if u < len(units) else after)
                                  or [_after(text, tokens, a)]), False))
        elif right:  # before a template word, after a slot or the start: what every follower wrote before it
            b = unit[0]
            before = [_before(t, ft, fm[b]) for t, ft, fm in followers if b in fm]
            parts.append((_suffix((_filled(before) if u > 0 else before)
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


def fit_follower(words: Sequence[str], example: Sequence[str], constant: Sequence[bool]) -> dict[int, int] | None:
    """Example token index -> ``words`` index when ``words`` (a prompt's keyed words) follow the template the
    ``example``'s words and their ``constant`` flags describe -- each run of its constant words in order, where it
    is (the start, the end) when the template opens or ends with constant text, with any words (or none) where the
    template has a slot --, else ``None``.

    Examples
    --------
    >>> ex, const = ["see", "x", "then", "go"], [True, False, True, True]
    >>> fit_follower(["see", "a", "b", "then", "go"], ex, const), fit_follower(["see", "then", "stop"], ex, const)
    ({0: 0, 2: 3, 3: 4}, None)
    """
    runs: list[tuple[int, int]] = []  # [start, end) of each run of constant words in the example
    for k, fixed in enumerate(constant):
        if fixed and runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0], k + 1)
        elif fixed:
            runs.append((k, k + 1))
    if not runs:
        return None
    words = list(words)
    pairs: dict[int, int] = {}
    at = 0
    for r, (a, b) in enumerate(runs):
        run = list(example[a:b])
        if r == 0 and a == 0:
            found = 0 if words[:b] == run else -1
        elif r == len(runs) - 1 and b == len(example):
            found = len(words) - len(run) if len(words) - len(run) >= at and words[len(words) - len(run):] == run else -1
        else:
            found = next((i for i in range(at, len(words) - len(run) + 1) if words[i:i + len(run)] == run), -1)
        if found < 0:
            return None
        pairs.update({a + k: found + k for k in range(b - a)})
        at = found + len(run)
    return pairs if runs[-1][1] < len(example) or at == len(words) else None


def _holds(covered, constant: Sequence[bool]) -> bool:
    """Whether the template words ``covered`` (indices in a template's example) are most (60%) of its ``constant``
    words: a template whose constant text another's slots would mostly hide is not that template's variant (a
    weak "⟨…⟩ you must answer" took in "Summarise this article ...: ⟨…⟩ you must answer"; break-it review, session
    41)."""
    covered = set(covered)
    words = [k for k, fixed in enumerate(constant) if fixed]
    return sum(k in covered for k in words) >= SHARE * len(words)


def merge_variants(built: list[list]) -> list[list]:
    """Templates that are one template's variants, merged: a template all of whose prompts follow another's
    (:func:`fit_follower`: its constant text in order, anything in its slots) is that template, written with a
    slot's fill as constant text ("snippet <script>x()</script> and explain ..." beside "snippet ⟨…⟩ and explain
    ...", "https://blog.example.org/⟨…⟩&id=⟨#⟩" beside "https://⟨…⟩&id=⟨#⟩"); its prompts join the other's followers
    (aligned by the fit) and it is not listed again. ``built``: each template's ``[example, followers,
    alignments, constant]`` (an example or follower: ``account, text, tokens, ...``), in the order built; the
    template taking them in is the one with most followers (then built first), which may take in several.

    Examples
    --------
    >>> tok = lambda text: [(w, 0, 0) for w in text.split()]
    >>> a = [("a1", "see x then go", tok("see x then go"))] * 2
    >>> b = [("a2", "see y z then go", tok("see y z then go"))]
    >>> merged = merge_variants([[a[0], a, [{}, {}], [True, False, True, True]], [b[0], b, [{}], [True] * 5]])
    >>> len(merged), len(merged[0][1]), merged[0][2][-1]
    (1, 3, {0: 0, 2: 3, 3: 4})
    """
    keys = [[[w for w, _, _ in f[2]] for f in entry[1]] for entry in built]
    order = sorted(range(len(built)), key=lambda i: (-len(built[i][1]), i))
    taken: dict[int, list[int]] = {i: [] for i in range(len(built))}
    fitted: dict[int, list[dict[int, int]]] = {i: [] for i in range(len(built))}  # the taken prompts' alignments
    gone: set[int] = set()
    for j in reversed(order):  # the smallest variants first, into the largest template they follow
        for i in order:
            if i == j or i in gone or j in gone:
                continue
            example = keys[i][0]
            fits = [fit_follower(w, example, built[i][3]) for w in keys[j] + [x for t in taken[j] for x in keys[t]]]
            if all(fit is not None for fit in fits) and _holds(fits[0].values(), built[j][3]):
                taken[i] += [j, *taken[j]]
                fitted[i] += fits  # in the order of taken[j]'s prompts: j's, then those it had taken
                gone.add(j)
                break
    merged = []
    for i in range(len(built)):
        if i in gone:
            continue
        best, followers, aligned, constant = built[i]
        followers = [*followers, *(f for t in taken[i] for f in built[t][1])]
        merged.append([best, followers, [*aligned, *fitted[i]], constant])
    return merged
