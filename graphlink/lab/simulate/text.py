"""Prompt templates and a vectorised template renderer.

A template is a string with ``{slot}`` placeholders.  :func:`render` turns an
array of template indices into an Arrow string array, filling every slot of
every row at once with :mod:`pyarrow.compute` (one pass per template, never
one per row).  Slots are word lists (:data:`~graphlink.lab.simulate.vocab.SLOT_WORDS`),
random integers, free text drawn from a Zipf distribution over
:data:`~graphlink.lab.simulate.vocab.WORDS`, or nested template libraries
(``{problem}``, ``{subq}``).

Examples
--------
>>> import numpy as np
>>> out = render(BENIGN_TEMPLATES, np.zeros(3, dtype=np.int64),
...              np.random.default_rng(0), free_words=(2, 3))
>>> len(out), out[0].as_py().startswith("can you help me with")
(3, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphlink.lab.simulate.vocab import SLOT_WORDS, WORDS

__all__ = [
    "Template",
    "BENIGN_TEMPLATES",
    "RING_TEMPLATES",
    "TEAM_TEMPLATES",
    "PROBLEM_TEMPLATES",
    "SUBQUESTION_TEMPLATES",
    "render",
    "free_text",
    "flip_case",
    "run_together",
    "misspell",
]

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Template:
    """A parsed prompt template.

    Attributes
    ----------
    text : str
        The raw template, e.g. ``"explain {concept} simply"``.
    pieces : tuple[tuple[bool, str], ...]
        ``(is_slot, value)`` pairs in order: literals and slot names.
    """

    text: str
    pieces: tuple[tuple[bool, str], ...]

    @classmethod
    def parse(cls, text: str) -> "Template":
        """Parse ``text`` into literal and slot pieces.

        Parameters
        ----------
        text : str
            Template with ``{slot}`` placeholders.

        Returns
        -------
        Template
            The parsed template.

        Examples
        --------
        >>> Template.parse("a {x} b").pieces
        ((False, 'a '), (True, 'x'), (False, ' b'))
        """
        pieces: list[tuple[bool, str]] = []
        pos = 0
        for m in _SLOT.finditer(text):
            if m.start() > pos:
                pieces.append((False, text[pos : m.start()]))
            pieces.append((True, m.group(1)))
            pos = m.end()
        if pos < len(text):
            pieces.append((False, text[pos:]))
        return cls(text, tuple(pieces))

    @property
    def prefix(self) -> str:
        """Literal text before the first slot (used to recognise a template)."""
        first_is_slot, value = self.pieces[0]
        return "" if first_is_slot else value


def _lib(texts: list[str]) -> list[Template]:
    return [Template.parse(t) for t in texts]


#: Generic prompts shared by the whole benign population.  ``{free}`` appends
#: free text so prompts reach ~15-50 words.
BENIGN_TEMPLATES: list[Template] = _lib([
    "can you help me with {task} for my {thing}? {free}",
    "write a {lang} function that {pyfunc}. {free}",
    "explain {concept} in simple terms, {free}",
    "what is the difference between {concept} and {concept}? {free}",
    "fix this error: {error} {free}",
    "summarize this text in {n} sentences: {free}",
    "translate to {language}: {free}",
    "give me {n} ideas for {thing} {free}",
    "rewrite this in a {tone} tone: {free}",
    "{free}",
    "{free}?",
    "i am working on {task} and i need help, {free}",
    "how do i {free}",
    "proofread the following paragraph: {free}",
    "convert this to {format}: {free}",
    "what are the pros and cons of {concept} for a {thing}? {free}",
])

#: Chain-of-thought extraction templates used by ring operators.
RING_TEMPLATES: list[Template] = _lib([
    "Solve the following problem. Think step by step and show all of your "
    "reasoning before giving the final answer: {problem}",
    "Explain your chain of thought in detail, listing every intermediate "
    "step, then state the final answer clearly. Question: {problem}",
    "You are an expert {subject} tutor. Work through this question "
    "carefully, reasoning out loud at each step before you answer: {problem}",
    "Before answering, write out your complete internal reasoning process "
    "step by step. Problem: {problem} Then verify your answer. {subq}",
    "Break this problem into sub-questions, answer each sub-question with "
    "full reasoning, then combine them: {problem} {subq}",
    "Show all of your thinking. {problem} Explain why each step follows from "
    "the previous one and double check the result.",
    "Reason through the following {subject} problem one step at a time and "
    "do not skip any step: {problem}",
    "Think carefully and write down every thought you have while solving "
    "this, including mistakes you correct: {problem} {subq}",
])

#: The ``{problem}`` slot of ring templates.
PROBLEM_TEMPLATES: list[Template] = _lib([
    "A train travels {b} km in {c} hours. What is its average speed?",
    "If {c} workers build a wall in {a} days, how long would {n} workers "
    "take?",
    "Find all integer solutions of x^2 - {a}x + {b} = 0.",
    "Prove that the sum of the first {a} odd numbers is a perfect square.",
    "A bag has {a} red and {c} blue {object}. What is the probability of "
    "drawing {n} red {object} in a row without replacement?",
    "Write a {lang} function that {pyfunc} and analyse its time complexity.",
    "{name} has {b} {object} and gives {a} to {name}. How many are left "
    "after doubling the rest?",
    "What is the remainder when {d} is divided by {c}?",
    "How many ways can {n} people sit around a round table of {c} seats?",
    "Compute the derivative of x^{n} * sin({a}x) and evaluate it at x = {c}.",
    "A rectangle has perimeter {b} and area {d}. Find its side lengths.",
])

#: The ``{subq}`` slot: extra sub-questions.
SUBQUESTION_TEMPLATES: list[Template] = _lib([
    "Also, what happens if the number {a} is replaced by {c}?",
    "Then generalise the answer to {n} cases.",
    "Finally, explain which step is most error prone.",
    "Also give a second method and compare the two.",
    "Then rate your confidence from 1 to 10.",
])

#: Scheduled batch jobs of benign-linked enterprise teams.
TEAM_TEMPLATES: list[Template] = _lib([
    "Summarize the following support ticket for the {dept} team in three "
    "bullet points: {free}",
    "Classify the sentiment of this customer review as positive, negative or "
    "neutral and return {format}: {free}",
    "Extract the invoice number, date, vendor and total from this text and "
    "return {format}: {free}",
    "Translate the following product description into {language}, keeping "
    "the brand names: {free}",
    "Draft a {tone} reply to this customer email from the {dept} "
    "department: {free}",
    "Tag this log excerpt with a severity level and a probable root cause: "
    "{free}",
])

_WORDS = pa.array(WORDS, pa.string())
_WORD_CDF = np.cumsum(1.0 / np.arange(1, len(WORDS) + 1) ** 0.8)
_WORD_CDF /= _WORD_CDF[-1]
_SLOT_ARRAYS = {k: pa.array(v, pa.string()) for k, v in SLOT_WORDS.items()}
_INT_SLOTS = {"n": (2, 9), "a": (2, 99), "b": (10, 999), "c": (2, 48),
              "d": (100, 9999)}
_NESTED = {"problem": PROBLEM_TEMPLATES, "subq": SUBQUESTION_TEMPLATES}


def free_text(
    rng: np.random.Generator, n: int, words: tuple[int, int]
) -> pa.Array:
    """Draw ``n`` free-text snippets of ``words[0]..words[1]`` Zipf words.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of snippets.
    words : tuple[int, int]
        Inclusive range of words per snippet.

    Returns
    -------
    pyarrow.Array
        ``n`` strings.

    Examples
    --------
    >>> s = free_text(np.random.default_rng(1), 4, (3, 3))
    >>> [len(x.as_py().split()) for x in s]
    [3, 3, 3, 3]
    """
    k = rng.integers(words[0], words[1] + 1, size=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=offsets[1:])
    idx = np.searchsorted(_WORD_CDF, rng.random(int(offsets[-1])), side="right")
    values = _WORDS.take(pa.array(np.minimum(idx, len(WORDS) - 1)))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return pc.binary_join(lists, " ")


def _fill(slot: str, rng: np.random.Generator, n: int,
          free_words: tuple[int, int]) -> pa.Array:
    if slot == "free":
        return free_text(rng, n, free_words)
    if slot in _INT_SLOTS:
        lo, hi = _INT_SLOTS[slot]
        return pc.cast(pa.array(rng.integers(lo, hi + 1, size=n)), pa.string())
    if slot in _NESTED:
        lib = _NESTED[slot]
        return render(lib, rng.integers(0, len(lib), size=n), rng, free_words)
    words = _SLOT_ARRAYS[slot]
    return words.take(pa.array(rng.integers(0, len(words), size=n)))


def render(
    library: list[Template],
    template_ids: np.ndarray,
    rng: np.random.Generator,
    free_words: tuple[int, int] = (5, 25),
) -> pa.Array:
    """Render one prompt per entry of ``template_ids``.

    Parameters
    ----------
    library : list[Template]
        Templates indexed by ``template_ids``.
    template_ids : numpy.ndarray
        Integer template index per output row.
    rng : numpy.random.Generator
        Source of randomness for slot fills.
    free_words : tuple[int, int]
        Word-count range of ``{free}`` slots.

    Returns
    -------
    pyarrow.Array
        Strings in the order of ``template_ids``.

    Examples
    --------
    >>> lib = [Template.parse("x {n}"), Template.parse("y")]
    >>> out = render(lib, np.array([1, 0, 1]), np.random.default_rng(0))
    >>> [s.as_py()[0] for s in out]
    ['y', 'x', 'y']
    """
    ids = np.asarray(template_ids, dtype=np.int64)
    n = len(ids)
    if n == 0:
        return pa.array([], pa.string())
    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], np.arange(len(library) + 1))
    parts = []
    for t in range(len(library)):
        m = int(bounds[t + 1] - bounds[t])
        if m == 0:
            continue
        pieces = [
            _fill(value, rng, m, free_words) if is_slot else pa.scalar(value)
            for is_slot, value in library[t].pieces
        ]
        if not any(isinstance(p, pa.Array) for p in pieces):
            parts.append(pa.repeat(pa.scalar(library[t].text), m))
            continue
        parts.append(pc.binary_join_element_wise(*pieces, ""))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return pa.concat_arrays(parts).take(pa.array(inverse))


def flip_case(texts: pa.Array, share: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """``texts`` with each ASCII lower-case letter of row ``i`` upper-cased with probability ``share[i]``.

    An operator's disguise: copies of one template with their letters' case flipped at random read alike to a
    model but share few words as written. Bytes of other characters are untouched (UTF-8 continuation bytes are
    never ASCII letters), so Chinese text passes through. Vectorised over the array's data buffer.

    Examples
    --------
    >>> out = flip_case(pa.array(["think step by step", "思考 step"]), np.array([1.0, 0.0]), np.random.default_rng(0))
    >>> out.to_pylist()
    ['THINK STEP BY STEP', '思考 step']
    """
    offsets, data = _utf8(texts)
    data = data.copy()
    p = np.repeat(np.asarray(share, np.float64), np.diff(offsets))
    upper = (data >= 97) & (data <= 122) & (rng.random(len(data)) < p)
    data[upper] -= 32
    return _strings(offsets, data)


def run_together(texts: pa.Array, share: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """``texts`` with each ASCII space between two ASCII letters of row ``i`` removed with probability ``share[i]``.

    An operator's disguise: copies of one template with some of their words run together ("you areameticulous
    tutor") read alike to a model but share few word shingles as written (session 41's break-it review: a ring
    joining its template's words in half its copies fell to template share 0.48, not flagged). Only a space with a
    Latin letter on each side goes, so Chinese text and numbers pass through. Vectorised over the data buffer.

    Examples
    --------
    >>> out = run_together(pa.array(["think step by step", "思考 step 2 by"]), np.array([1.0, 1.0]), np.random.default_rng(0))
    >>> out.to_pylist()
    ['thinkstepbystep', '思考 step 2 by']
    """
    offsets, data, row, letter = _letters(texts)
    inner = np.zeros(len(data), bool)
    if len(data) > 2:
        inner[1:-1] = (data[1:-1] == 32) & letter[:-2] & letter[2:] & (row[:-2] == row[1:-1]) & (row[2:] == row[1:-1])
    drop = inner & (rng.random(len(data)) < np.asarray(share, np.float64)[row])
    return _strings(np.r_[0, np.cumsum(~drop)][offsets], data[~drop])


def misspell(texts: pa.Array, share: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """``texts`` with each word of three ASCII letters or more of row ``i`` given one typo with probability ``share[i]``.

    An operator's disguise: copies of one template with a typo in (nearly) every word ("yuo are a metculous tutr")
    read alike to a model but share no word shingle as written (session 43: template share 0.00, a ring unflagged).
    A typo is one of the four single-letter errors of Damerau (1964), drawn alike: a letter deleted, a random lower-case
    letter inserted before one, a letter replaced by another, or a letter swapped with the next (a word's place
    drawn uniformly). Words are runs of ASCII letters, so Chinese text and numbers pass through, and words of one or
    two letters are kept (a typo there changes the word: "is" -> "in"). Vectorised over the data buffer.

    Examples
    --------
    >>> out = misspell(pa.array(["think step by step", "思考 step"]), np.array([1.0, 0.0]), np.random.default_rng(0))
    >>> out.to_pylist()
    ['thbnk stpe by mtep', '思考 step']
    """
    offsets, data, row, letter = _letters(texts)
    start = letter.copy()
    start[1:] &= ~letter[:-1] | (row[1:] != row[:-1])
    word = np.cumsum(start) - 1  # (each letter's word; meaningless elsewhere)
    first = np.flatnonzero(start)
    size = np.bincount(word[letter], minlength=len(first))
    n = len(first)
    hit = (size >= 3) & (rng.random(n) < np.asarray(share, np.float64)[row[first]])
    kind = rng.integers(0, 4, n)  # 0 delete, 1 insert, 2 substitute, 3 swap with the next
    place = first + (rng.random(n) * np.where(kind == 3, size - 1, size)).astype(np.int64)
    other = rng.integers(1, 26, n)
    out = data.copy()
    sub = place[hit & (kind == 2)]
    lower = out[sub] | 32
    out[sub] = (lower - 97 + other[hit & (kind == 2)]) % 26 + 97
    swap = place[hit & (kind == 3)]
    out[swap], out[swap + 1] = data[swap + 1], data[swap]
    count = np.ones(len(data), np.int64)
    count[place[hit & (kind == 0)]] = 0
    count[place[hit & (kind == 1)]] = 2
    out = np.repeat(out, count)
    ends = np.cumsum(count)
    ins = place[hit & (kind == 1)]
    out[ends[ins] - 2] = 97 + other[hit & (kind == 1)]
    return _strings(np.r_[0, ends][offsets], out)


def _utf8(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, data)``: the rows' byte offsets (from 0, one more than the rows) and their UTF-8 bytes (read-only
    view; nulls read as empty)."""
    texts = pa.array(texts.to_pylist(), pa.large_string()) if texts.null_count else texts.cast(pa.large_string())
    offsets = np.frombuffer(texts.buffers()[1], np.int64)[texts.offset:texts.offset + len(texts) + 1]
    return offsets - offsets[0], np.frombuffer(texts.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]


def _letters(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_utf8`'s ``(offsets, data)``, each byte's row and whether it is an ASCII letter."""
    offsets, data = _utf8(texts)
    return offsets, data, np.repeat(np.arange(len(texts)), np.diff(offsets)), ((data | 32) >= 97) & ((data | 32) <= 122)


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """The string array of :func:`_utf8`'s ``(offsets, data)``."""
    return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(np.ascontiguousarray(offsets, np.int64)),
                                           pa.py_buffer(np.ascontiguousarray(data))).cast(pa.string())
