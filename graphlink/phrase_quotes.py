"""How a view quotes a prompt phrase: its numbers as slots.

Detection reads every run of digits as ``0`` (:func:`graphlink.stages.signals.normalise.normalise_prompt`), so a
phrase counted in 92 prompts is one shingle, and its value (:func:`graphlink.stages.signals.prompt.quote_shingles`)
is quoted as written in one of them: "80488: A graph measures the" names one prompt's number, a search of the log
for it finds 1 prompt and seems to refute the count (new-user review, session 56). Every view quoting a phrase to a
reader -- a cluster's ``why``, ``show``'s evidence and ``tied_by``, ``campaign``'s ties, the report -- shows it
with each run of digits as :data:`NUMBER_SLOT` (the template view's and the passages' mark for a number that varies),
through the one rule here. ``--json`` output and exports keep the value as logged: data to join on.

No graphlink import: the stages (a ``why`` is written at detect time) and the views both use it.
"""

from __future__ import annotations

import re

import polars as pl

__all__ = ["NUMBER_SLOT", "number_slots", "numbers_as_slots", "phrase_shown", "shown_value"]

#: How a quoted prompt phrase shows a number (a run of digits of any script).
NUMBER_SLOT = "⟨#⟩"
# Any script's digits; a run of them is one number, as normalise_prompt reads it.
_DIGIT_RUN = r"\d+"
_DIGIT_RE = re.compile(_DIGIT_RUN)


def number_slots(text: str) -> str:
    """``text`` with each run of digits written :data:`NUMBER_SLOT`.

    Parameters
    ----------
    text : str
        A prompt phrase as logged.

    Returns
    -------
    str
        The phrase as a view quotes it; text without digits is returned unchanged.

    Examples
    --------
    >>> number_slots("80488: A graph measures the")
    '⟨#⟩: A graph measures the'
    >>> number_slots("solve x^2 - 3x")
    'solve x^⟨#⟩ - ⟨#⟩x'
    """
    return _DIGIT_RE.sub(NUMBER_SLOT, text)


def numbers_as_slots(text: pl.Expr) -> pl.Expr:
    """:func:`number_slots` as an expression (String in, String out; null stays null).

    Examples
    --------
    >>> pl.DataFrame({"p": ["2270). What is the minimum", None]}).select(numbers_as_slots(pl.col("p")))["p"].to_list()
    ['⟨#⟩). What is the minimum', None]
    """
    return text.str.replace_all(_DIGIT_RUN, NUMBER_SLOT)


def phrase_shown(kind: pl.Expr, value: pl.Expr) -> pl.Expr:
    """A value as a view quotes it: a prompt phrase (``kind == "prompt"``) with its numbers as slots
    (:func:`numbers_as_slots`); every other kind's value as logged (an IP address's or a card's digits are the value).

    Examples
    --------
    >>> df = pl.DataFrame({"kind": ["prompt", "ip"], "value": ["Task 31975: A graph measures", "10.0.0.1"]})
    >>> df.select(phrase_shown(pl.col("kind"), pl.col("value")))["value"].to_list()
    ['Task ⟨#⟩: A graph measures', '10.0.0.1']
    """
    return pl.when(kind == "prompt").then(numbers_as_slots(value)).otherwise(value)


def shown_value(kind: str, value: str | None) -> str | None:
    """:func:`phrase_shown` of one value: a prompt phrase with its numbers as slots, any other value (or None) as is.

    Examples
    --------
    >>> shown_value("prompt", "Task 12: go"), shown_value("ip", "10.0.0.1"), shown_value("prompt", None)
    ('Task ⟨#⟩: go', '10.0.0.1', None)
    """
    return number_slots(value) if kind == "prompt" and value else value
