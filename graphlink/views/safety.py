"""Rendering attacker-written text (prompts, user agents) safely.

Logged text is written by the accounts under investigation. Wherever graphlink
shows it — terminal, HTML, CSV — it goes through one of these functions.
"""

from __future__ import annotations

import html
import re

import polars as pl

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Invisible format characters (soft hyphen, Arabic letter mark, Mongolian vowel separator,
#: zero-width space/joiners and direction marks, word joiner and invisible operators, BOM):
#: shown as ``⟨U+200B⟩`` so an account id or a template cannot hide them from the investigator.
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(text: object, limit: int | None = None) -> str:
    """Neutralise control characters (ANSI escapes, bidi overrides) for a terminal.

    Newlines become ``⏎``; invisible format characters (zero-width space and
    joiners, BOM, direction marks) are spelled out as ``⟨U+200B⟩``. Rich markup
    must additionally be avoided by passing the result as ``rich.text.Text``,
    never as a markup string.

    Examples
    --------
    >>> terminal_safe("hi\\x1b[31m there\\nnext")
    'hi\\ufffd[31m there⏎next'
    >>> terminal_safe("ring\\u200b42")
    'ring⟨U+200B⟩42'
    >>> terminal_safe("abcdef", limit=4)
    'abc…'
    """
    value = "" if text is None else str(text)
    value = _CONTROL.sub("\ufffd", value.replace("\r\n", "\n").replace("\n", "⏎"))
    value = _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + "…"
    return value


def html_safe(text: object) -> str:
    """HTML-escape text, quotes included.

    Examples
    --------
    >>> html_safe('"><img src=x onerror=alert(1)>')
    '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape("" if text is None else str(text), quote=True)


def html_safe_expr(expr: pl.Expr) -> pl.Expr:
    """Polars form of :func:`html_safe` (same output) for a string expression.

    Examples
    --------
    >>> df = pl.DataFrame({"t": ['<b a="1">&' + "'x'</b>", None]})
    >>> df.select(html_safe_expr(pl.col("t")))["t"].to_list() == [html_safe(df["t"][0]), None]
    True
    """
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        expr = expr.str.replace_all(raw, escaped, literal=True)
    return expr


#: Control characters (C0 but tab, newline and carriage return; DEL; C1) that a
#: terminal would act on when a CSV file is printed (``cat evidence.csv``).
_CSV_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def csv_safe(text: str | None) -> str | None:
    """Neutralise spreadsheet formulas and terminal control characters in a CSV cell.

    Cells starting with = + - @ (or tab/CR) get a leading ' (OWASP, CSV
    injection); control characters become U+FFFD, so printing the file cannot
    retitle or clear a terminal.

    Examples
    --------
    >>> csv_safe("=HYPERLINK(\\"http://x\\")"), csv_safe("plain"), csv_safe("-1")
    ('\\'=HYPERLINK("http://x")', 'plain', "'-1")
    >>> csv_safe("\\x1b]0;pwned\\x07 ok")
    '\ufffd]0;pwned\ufffd ok'
    """
    if text is None:
        return None
    text = re.sub(_CSV_CONTROL, "\ufffd", text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_safe_expr(column: str) -> pl.Expr:
    """Polars form of :func:`csv_safe` for a string column."""
    col = pl.col(column).cast(pl.String).str.replace_all(_CSV_CONTROL, "\ufffd")
    return pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + col).otherwise(col).alias(column)
