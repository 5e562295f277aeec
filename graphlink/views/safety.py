"""Rendering attacker-written text (prompts, user agents) safely.

Logged text is written by the accounts under investigation. Wherever graphlink
shows it — terminal, HTML, CSV — it goes through one of these functions.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

import polars as pl

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Invisible characters besides the format characters (Unicode category Cf: zero-width
#: space and joiners, BOM, bidi marks and overrides, tags): the same fillers and selectors
#: the prompt normaliser removes (:mod:`graphlink.stages.signals.normalise`).
_INVISIBLE_EXTRA = frozenset([0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810), 0x2800, 0x3164,
                              *range(0xFE00, 0xFE10), 0xFFA0, *range(0xE0100, 0xE01F0)])
#: Line breaks besides the newline: NEL (U+0085), the line and paragraph separators (U+2028, U+2029; Unicode's only
#: Zl and Zp characters). A terminal, a page or ``str.splitlines`` may break a line at them as at a newline, so they are
#: treated as newlines wherever a value is made safe: ``⏎`` on a terminal (:func:`terminal_safe`), a space in piped
#: rows (:func:`graphlink.views.terminal.tsv_cell`), spelled out (``⟨U+2028⟩``) on a page and in the notebook
#: (:func:`visible_text`), where an id copied from a table must stay one line (new-user review, session 41).
LINE_BREAKS = "\u0085\u2028\u2029"
#: The pattern of one of :data:`LINE_BREAKS`.
LINE_BREAK = re.compile(f"[{LINE_BREAKS}]")
#: A cell a spreadsheet may read as a formula: it opens (after any spaces and invisible format characters, which
#: a spreadsheet may drop on import -- a BOM, a zero-width space) with = + - @ or their full-width forms
#: (＝ ＋ － ＠, which East Asian spreadsheet locales convert on entry), or with a tab or carriage return
#: (OWASP, "CSV Injection"). One pattern for :func:`csv_safe` and :func:`csv_safe_expr`.
_FORMULA = "^[ \u00a0\u200b-\u200f\u2060-\u2064\ufeff]*[=+\\-@\uff1d\uff0b\uff0d\uff20\t\r]"
# Guarded too: a cell that already starts with the guard's ' (an id such as "'=x" would otherwise read as the guarded
# "=x", and a copy pasted back would name the wrong account; break-it review, session 40).
_GUARDED = f"(?:{_FORMULA})|^'"


#: Control characters, by code, that no format here holds as they are: C0 (tab and newline are the caller's to
#: keep: ``keep``), DEL and C1. A terminal acts on them (ESC starts an escape sequence, BEL rings), a page hides them.
CONTROLS = frozenset([*range(0x00, 0x20), *range(0x7F, 0xA0)])


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or ord(char) in _INVISIBLE_EXTRA


def spell_invisible(text: str, line_breaks: bool = False, keep: str = "\t\n") -> str:
    """Spell out the characters no reader sees as written, as ``⟨U+001B⟩``: control characters (C0 but ``keep``,
    DEL, C1: an escape, a bell), format characters (category Cf, bidi controls included) and the invisible fillers
    and selectors the prompt normaliser removes. A run of one such character is spelled once with its length
    (``⟨U+200B ×200⟩``: 200 zero-width spaces read as one mark, not 1,800 characters of marks); with
    ``line_breaks``, :data:`LINE_BREAKS` too.

    The one spelling of such a character wherever graphlink renders text for a person (new-user review, session
    47: an escape and a bell both read U+FFFD on the terminal and in the report, ``⟨U+001B⟩`` in the CSV export and
    ``\\x1b`` in ``tied_by``, so two user agents differing only there could not be told apart): the terminal
    (:func:`terminal_safe`), piped rows (:func:`graphlink.views.terminal.tsv_cell`), the report and the notebook
    (:func:`visible_text`), the CSV export (:func:`csv_safe`) and graph labels (:func:`spelled_expr`). Such a
    character is never written raw where a person reads it; machine outputs (parquet, ``--json``: JSON's own
    ``\\u001b`` escapes, :func:`json_escaped`) keep the text exact. :func:`unspelled` reads a spelling back.

    Examples
    --------
    >>> spell_invisible("ring\\u200b42\\u202e"), spell_invisible("plain")
    ('ring⟨U+200B⟩42⟨U+202E⟩', 'plain')
    >>> spell_invisible("a" + "\\u200b" * 200 + "\\u200c\\u200cb")
    'a⟨U+200B ×200⟩⟨U+200C ×2⟩b'
    >>> spell_invisible("ua \\x1b]0;x\\x07\\tok"), spell_invisible("a\\x07\\x07")
    ('ua ⟨U+001B⟩]0;x⟨U+0007⟩\\tok', 'a⟨U+0007 ×2⟩')

    Text that reads as a spelling has its ``⟨`` spelled, so the id ``ring⟨U+200B⟩1`` does not look like
    ``ring\\u200b1`` (:func:`unspelled` reads either back):

    >>> spell_invisible("ring⟨U+200B⟩1"), spell_invisible("⟨…⟩ ⟨U")
    ('ring⟨U+27E8⟩U+200B⟩1', '⟨…⟩ ⟨U')
    """
    if text.isascii() and not _CONTROL.search(text) and all(c in keep or c not in text for c in "\t\n"):
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        j = i + 1
        code = ord(char)
        if (code in CONTROLS and char not in keep) or _invisible(char) or line_breaks and char in LINE_BREAKS:
            while j < n and text[j] == char:
                j += 1
            out.append(f"⟨U+{code:04X}⟩" if j - i == 1 else f"⟨U+{code:04X} ×{j - i}⟩")
        elif char == "⟨" and text.startswith("U+", j):  # text that reads as a spelling is spelled: two ids, two looks
            out.append("⟨U+27E8⟩")
        else:
            out.append(char)
        i = j
    return "".join(out)


def _unseen_pattern(keep: str) -> str:
    """The polars (Rust) pattern of text :func:`spell_invisible` changes (``keep``: the controls it leaves)."""
    controls = "".join(f"\\x{{{c:x}}}" for c in sorted(CONTROLS) if chr(c) not in keep)
    extra = "".join(f"\\x{{{c:x}}}" for c in sorted(_INVISIBLE_EXTRA))
    return f"[{controls}\\p{{Cf}}{extra}]|⟨U\\+"


def spelled_expr(expr: pl.Expr, keep: str = "\t\n") -> pl.Expr:
    """Polars form of :func:`spell_invisible` (the same text) for a string expression: each distinct value holding
    such a character spelled once; other values as they are.

    Examples
    --------
    >>> pl.DataFrame({"t": ["ua\\x1b", "ua\\x07", "plain", None]}).select(spelled_expr(pl.col("t")))["t"].to_list()
    ['ua⟨U+001B⟩', 'ua⟨U+0007⟩', 'plain', None]
    """
    pattern = _unseen_pattern(keep)

    def spell(values: pl.Series) -> pl.Series:
        hit = values.str.contains(pattern).fill_null(False)
        if not hit.any():
            return values
        return values.replace({v: spell_invisible(v, keep=keep) for v in values.filter(hit).unique().to_list()})
    return expr.map_batches(spell, return_dtype=pl.String)


_SPELLED = re.compile(r"⟨U\+([0-9A-F]{4,6})(?: ×([0-9]{1,5}))?⟩")


def unspelled(text: str) -> str:
    """The text :func:`spell_invisible` spelled (and :func:`visible_text` shows): each ``⟨U+200B⟩`` or
    ``⟨U+200B ×200⟩`` read back as the characters it stands for -- what an id copied from the report, ``show``
    or a template stands for (``expand --seeds``, ``match``'s lists: :func:`graphlink.views.expand.exported_ids`).

    Examples
    --------
    >>> unspelled("ring⟨U+200B ×2⟩1") == "ring\\u200b\\u200b1", unspelled(spell_invisible("ring⟨U+200B⟩1"))
    (True, 'ring⟨U+200B⟩1')
    """
    def char(m: re.Match) -> str:
        code = int(m.group(1), 16)
        valid = code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF  # a surrogate is no character (UTF-8 cannot hold it)
        return chr(code) * int(m.group(2) or 1) if valid and int(m.group(2) or 1) else m.group()
    return _SPELLED.sub(char, text) if "⟨U+" in text else text


class Spelled(str):
    """Text already made safe for a person (:func:`terminal_safe`'s result, a template as ``show`` writes it): a
    second pass (:func:`graphlink.views.terminal.tsv_cell` writing it to a piped row, :func:`terminal_safe` again)
    leaves it as it is, where spelling its ``⟨U+001B⟩`` again would read ``⟨U+27E8⟩U+001B⟩``."""

    __slots__ = ()


def terminal_safe(text: object, limit: int | None = None) -> Spelled:
    """Neutralise control characters (ANSI escapes) and show invisible ones for a terminal.

    Newlines become ``⏎`` (and so do the other line breaks, :data:`LINE_BREAKS`: NEL, U+2028,
    U+2029); other control characters and invisible ones (an escape, a bell, zero-width space and joiners, BOM,
    bidi marks and overrides, tag characters, Hangul fillers...) are spelled out as ``⟨U+001B⟩``
    (:func:`spell_invisible`) after the text is cut to ``limit``. Rich markup
    must additionally be avoided by passing the result as ``rich.text.Text``,
    never as a markup string.

    Examples
    --------
    >>> terminal_safe("hi\\x1b[31m there\\nnext")
    'hi⟨U+001B⟩[31m there⏎next'
    >>> terminal_safe("ring\\u200b42"), terminal_safe("ja\\u2028ja\\u0085x")
    ('ring⟨U+200B⟩42', 'ja⏎ja⏎x')
    >>> terminal_safe("abcdef", limit=4)
    'abc…'
    """
    value = "" if text is None else str(text)
    if not isinstance(text, Spelled):
        value = LINE_BREAK.sub("⏎", value.replace("\r\n", "\n").replace("\n", "⏎"))
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + "…"
    return Spelled(value if isinstance(text, Spelled) else spell_invisible(value))


def visible_text(text: object) -> str:
    """Attacker-written text made visible for a page: control characters (but tab and newline) and invisible ones
    spelled out as ``⟨U+001B⟩``, ``⟨U+200B⟩`` (:func:`spell_invisible`), and so are the line breaks besides the newline (:data:`LINE_BREAKS`: NEL, U+2028, U+2029; a copied id
    stays one line and reads as what it is).

    What the report shows wherever it renders a value (its templates' ``finalize``), before HTML
    escaping: a right-to-left override or a zero-width space in an account id or a prompt can
    neither reorder the text around it nor make two ids look the same.

    Examples
    --------
    >>> visible_text("acct\u202egpj.exe\x1b[2J"), visible_text(None), visible_text("ja\\u2028ja")
    ('acct⟨U+202E⟩gpj.exe⟨U+001B⟩[2J', '', 'ja⟨U+2028⟩ja')
    """
    value = "" if text is None else str(text)
    return spell_invisible(value, line_breaks=True)


_JSON_UNSEEN = re.compile(r"[^\x00-\x7e]")


def json_escaped(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the characters a terminal would act on or not
    show written as ``\\u`` escapes: DEL and the C1 controls (``json.dumps`` escapes C0 only), invisible characters
    (:func:`spell_invisible`'s: bidi overrides, zero-width spaces, tags) and the line breaks :data:`LINE_BREAKS`. The
    strings parse back exactly as they were (attacker text in ``show --json``: a right-to-left override printed raw
    reorders the line around it); other text (CJK, accents) stays as written.

    Examples
    --------
    >>> import json
    >>> doc = json_escaped(json.dumps({"t": "say \\u202e!\\u0085 é"}, ensure_ascii=False))
    >>> doc, json.loads(doc)["t"] == "say \\u202e!\\u0085 é"
    ('{"t": "say \\\\u202e!\\\\u0085 é"}', True)
    """
    def escape(m: re.Match) -> str:
        char = m.group()
        code = ord(char)
        if not (code <= 0x9F or _invisible(char) or char in LINE_BREAKS):
            return char
        if code > 0xFFFF:  # a surrogate pair, as JSON spells a character beyond the basic plane
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"
    # (DEL is ASCII: a document of ASCII only is returned as is only without it)
    return document if document.isascii() and "\x7f" not in document else _JSON_UNSEEN.sub(escape, document)


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


#: The whitespace a CSV cell holds as it is (quoted): tab, newline, carriage return; every other control character,
#: and every invisible one, is spelled (:func:`spell_invisible`).
_CSV_KEEP = "\t\n\r"


def csv_safe(text: str | None) -> str | None:
    """Neutralise spreadsheet formulas and terminal control characters in a CSV cell.

    Cells starting with = + - @ (or tab/CR), also in full width (＝＋－＠) or behind spaces and
    invisible characters (a BOM, a zero-width space), get a leading ' (OWASP, CSV injection), and so do
    cells already starting with ' (so a guarded cell reads back as one value only: :func:`csv_unguarded`);
    control and invisible characters are spelled out as ``⟨U+001B⟩`` (:func:`spell_invisible`, as the terminal and
    the report spell them), so printing the file cannot retitle or clear a terminal nor a bidi override reorder a
    row, and an id holding one reads back (:func:`unspelled`: ``match``'s and ``expand``'s lists) where U+FFFD, written
    until session 42, made ``bob\\x07`` and ``bob\\x1b`` one cell that neither could be looked up by.

    Examples
    --------
    >>> csv_safe("=HYPERLINK(\\"http://x\\")"), csv_safe("plain"), csv_safe("-1"), csv_safe("'=x")
    ('\\'=HYPERLINK("http://x")', 'plain', "'-1", "''=x")
    >>> csv_safe("\\x1b]0;pwned\\x07 ok"), unspelled(csv_safe("bob\\x07")) == "bob\\x07"
    ('⟨U+001B⟩]0;pwned⟨U+0007⟩ ok', True)
    """
    if text is None:
        return None
    text = spell_invisible(text, keep=_CSV_KEEP)
    return "'" + text if re.match(_GUARDED, text) else text


def csv_unguarded(ids: Iterable[str]) -> dict[str, str]:
    """Ids as :func:`csv_safe` wrote them with its formula guard, mapped to the id before it: what a cell of
    graphlink's CSV export copied back into ``expand`` or ``match`` may mean (the caller checks which one the run has).

    Examples
    --------
    >>> csv_unguarded(["'+1-555-0100", "'plain", "acct_1", "'=x"])
    {"'+1-555-0100": '+1-555-0100', "'=x": '=x'}
    """
    return {i: read for i in ids if i.startswith("'") and csv_safe(read := unspelled(i[1:])) == i}


def read_back_forms(account_id: str) -> list[str]:
    """What an id copied back from one of graphlink's views may stand for, most literal first, the id itself left out:
    spelled (``a⟨U+202E⟩b``, as ``show``, the report and the CSV export spell a control or invisible character; read
    by :func:`unspelled`) and behind the CSV formula guard (``'=x``, read by :func:`csv_unguarded`). The caller
    keeps the first form the run holds (``expand``'s seeds, ``match``'s lists, ``account``); an id the run holds as
    given is itself.

    Examples
    --------
    >>> read_back_forms("'=x⟨U+200B⟩") == ["'=x\u200b", "=x\u200b"], read_back_forms("acct_1")
    (True, [])
    """
    forms = [unspelled(account_id), *csv_unguarded([account_id]).values()]
    return [f for f in dict.fromkeys(forms) if f != account_id]


def csv_safe_expr(column: str) -> pl.Expr:
    """Polars form of :func:`csv_safe` for a string column."""
    col = spelled_expr(pl.col(column).cast(pl.String), keep=_CSV_KEEP)
    return pl.when(col.str.contains(_GUARDED)).then(pl.lit("'") + col).otherwise(col).alias(column)
