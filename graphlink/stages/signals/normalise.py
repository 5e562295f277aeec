"""Prompt text normalisation: what two prompts are compared as.

Unicode NFKC, invisible and control characters removed, TR39 look-alike letters folded to
Latin, full case folding, spaceless scripts split by character, digits to
``0``, punctuation and whitespace to single spaces (:func:`normalise_prompt`);
and the same words cut out of the text as written (:func:`written_words`, :func:`written_quote`), for quoting.
"""

from __future__ import annotations

import functools
import string

import polars as pl

__all__ = ["PADDING_BOUND", "SEPARATOR", "SPACELESS", "spaceless_joined", "ascii_lower", "ascii_words", "camel_pattern",
           "casefold_table", "confusable_table",
           "copied_head", "fold_unicode", "is_ascii", "normalise_prompt", "visible_head", "written_quote", "written_words"]

# ASCII punctuation and whitespace but the space: what ``(?-u)[[:punct:]\s]`` matches.
_SEPARATORS = [*string.punctuation, "\t", "\n", "\x0b", "\x0c", "\r"]
# ASCII control characters other than whitespace (NUL, BEL, ESC, DEL ...): invisible in most renderings, so an
# attacker can drop them into every copy of a template ("thi\x07nk") to break its shingles; removed, as
# format characters are (below).
_ASCII_CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F)]


# Invisible characters removed before comparing: every format character (Unicode
# category Cf: zero-width space/joiners U+200B-D, word joiner U+2060, BOM U+FEFF,
# soft hyphen, bidi controls, tags), every control character (Cc) but the whitespace ones
# and NEL U+0085 (separators: a line break), and the invisible fillers and selectors of other
# categories (combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian free variation selectors, braille blank, variation selectors).
_INVISIBLE = (r"[\p{Cf}\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F\x{034F}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{2800}\x{3164}"
              r"\x{FE00}-\x{FE0F}\x{FFA0}\x{E0100}-\x{E01EF}]")
# Nonspacing combining marks (accents, kana voicing marks, stacked diacritics): removed after
# canonical decomposition, so a mark dropped into every word ("Thi\u0301nk") or an accent
# written or left out compares alike; precomposed letters are decomposed first (NFKD), so
# "é" and "e\u0301" both read "e".
_MARKS = r"\p{Mn}"
# A lower-case letter followed by an upper-case one is a word boundary: a template written in CamelCase without
# spaces ("YouAreAnExpert", "ТыВнимательныйРепетитор") reads as its words, as a model reads it. The capital may be
# any script's: look-alike capitals ("YouАreАnExpert", Cyrillic А) are folded to Latin after this split, and an
# ASCII-only split missed them (break-it review, session 39). Random case is not CamelCase ("meTicuLous", "приВет"),
# and case alone cannot tell them apart: detection marks each boundary and reads it against the words of the texts
# compared (graphlink.stages.signals.camel.read_camel). Sessions 40-41 split after a Latin lower-case letter only,
# which kept random case in Cyrillic whole but cut Latin words and left Cyrillic CamelCase joined. See
# :func:`camel_pattern`.


def _split_camel(text: pl.Expr, mark: str = " ") -> pl.Expr:
    """``mark`` at each CamelCase boundary (:func:`camel_pattern`)."""
    return text.str.replace_all(camel_pattern(), f"$1{mark}$2")


# The same on ASCII text not yet cleaned of control characters (the fast path removes them later): a boundary
# with controls between its letters ("a\x07B") is one, as after their removal.
_CAMEL_ASCII = r"(?-u)([a-z])[\x00-\x08\x0E-\x1F\x7F]*([A-Z])"
# Scripts written without spaces between words: each character becomes a word, so
# 5-word shingles are 5-character n-grams of those runs.
SPACELESS = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"


@functools.cache
def confusable_table() -> tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]]:
    """Two ``(sources, targets)`` tables folding non-ASCII look-alike letters to the ASCII letter or digit they imitate.

    Built from the Unicode TR39 confusables data shipped by the
    ``confusable_homoglyphs`` package (MIT licence; its ``confusables.json``
    is generated from Unicode's ``confusables.txt``). Only single characters
    confusable with a single ASCII letter or digit of the same case are
    folded (Cyrillic ``а`` and ``Т``, Greek ``ο`` and ``Ν``, Latin ``ɑ``...),
    so text is folded to one script (Latin) and ASCII is never touched. The
    first table applies before lower-casing (targets lower case); the second
    after it: the lower-case forms of upper-case look-alikes not folded
    already (Cyrillic ``Т`` may arrive as ``т``) and full case folding
    (``ß`` -> ``ss``, ``ς`` -> ``σ``).
    """
    import importlib.resources
    import json

    data = json.loads((importlib.resources.files("confusable_homoglyphs") / "confusables.json")
                      .read_text(encoding="utf-8"))
    exact: dict[str, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = sorted(g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum())
        same_case = [c for c in ascii_ if c.isupper() == char.isupper()]
        if same_case:
            exact[char] = same_case[0].lower()
    for char in data:  # an upper-case look-alike of only lower-case letters (Greek Ι, "l"): as its lower case
        low = char.lower()
        if len(char) == 1 and not char.isascii() and char not in exact and len(low) == 1 and low in exact:
            exact[char] = exact[low]
    after: dict[str, str] = {}
    for char, target in exact.items():
        low = char.lower()
        if len(low) == 1 and not low.isascii() and low not in exact:
            after.setdefault(low, target)
    # The folded form's letters are look-alikes like any others: final sigma "ς" folds to "σ", which reads "o" as "σ"
    # and "Σ" do (it stayed "σ", so an all-caps copy of a Greek template read every word ending in sigma apart from
    # the lower-case copies: "ΟΔΟΣ" "oδoo", "οδος" "oδoσ"; break-it review, session 42).
    for char, target in casefold_table().items():
        after.setdefault(char, "".join(exact.get(c, c) for c in target))
    before_keys, after_keys = sorted(exact), sorted(after)
    return (before_keys, [exact[k] for k in before_keys]), (after_keys, [after[k] for k in after_keys])


def camel_pattern() -> str:
    """Where a CamelCase run is split (group 1 ends the word before, 2 starts the next): a lower-case letter followed
    by an upper-case one, of any scripts. A match takes two letters, the second upper case, so no boundary is missed.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["YouAreAn", "YouAr\u0435An", "\u0422\u044b\u0412\u043d\u0438\u043c"]})
    >>> df.select(pl.col("p").str.replace_all(camel_pattern(), "$1 $2"))["p"].to_list()
    ['You Are An', 'You Arе An', 'Ты Вним']
    """
    return r"(\p{Ll})(\p{Lu})"


@functools.cache
def casefold_table() -> dict[str, str]:
    """Lower-case characters whose Unicode case folding differs from themselves (``ß`` -> ``ss``, ``ς`` -> ``σ``)."""
    table = {}
    for code in range(0x80, 0x20000):
        char = chr(code)
        if char.lower() == char and char.casefold() != char:
            table[char] = char.casefold()
    return table


def fold_unicode(text: pl.Expr, mark: str = " ") -> pl.Expr:
    """Unicode normalisation and lower case before comparison (see :func:`normalise_prompt`; ``mark`` as there)."""
    (before, before_to), (after, after_to) = confusable_table()
    return (
        text.str.normalize("NFKD")
        .str.replace_all(_MARKS, "")
        .str.normalize("NFKC")
        .str.replace_all(_INVISIBLE, "")
        .pipe(_split_camel, mark)
        .str.replace_many(before, before_to)
        .str.to_lowercase()
        .str.replace_many(after, after_to)
        .str.replace_all(SPACELESS, " $0 ")
        .str.replace_all(r"[\p{P}\p{Z}\x{85}]", " ")
    )


def ascii_words(lowered: pl.Expr) -> pl.Expr:
    """Digits to ``0``, ASCII punctuation and whitespace to single spaces (ASCII-only classes)."""
    # ASCII only: 2.5x faster than Unicode-aware classes (measured on 1M prompts).
    # Punctuation and whitespace become spaces one character at a time (an
    # Aho-Corasick replace_many: 4x faster than a regex class on 2M prompts), then
    # runs of spaces collapse.
    # Control characters go in the same pass, before digit runs are read ("1\x072" is one number, as on the
    # Unicode path, which removes them first).
    return (
        lowered.str.replace_many([*_SEPARATORS, *_ASCII_CONTROLS], [" "] * len(_SEPARATORS) + [""] * len(_ASCII_CONTROLS))
        .str.replace_all(r"(?-u)[0-9]+", "0")
        .str.replace_all(" {2,}", " ")
        .str.strip_chars()
    )


def ascii_lower(text: pl.Expr, mark: str = " ") -> pl.Expr:
    """ASCII text as :func:`fold_unicode` would give it: CamelCase split (``mark`` at each boundary), lower case
    (control characters between the two letters of a CamelCase boundary go with the split; :func:`ascii_words`
    removes the others)."""
    return text.str.replace_all(_CAMEL_ASCII, f"$1{mark}$2").str.to_lowercase()


# What pads a prompt without being read: the invisible characters comparing removes, runs of 3+ combining marks (no
# script stacks more than two on a letter; Zalgo text and padding do), combining marks on no letter (at the start or
# on a blank or punctuation) and runs of whitespace and punctuation (a line of "=", compared as one space: a run of
# three or more keeps its first and last character). Marks with invisible characters between them are stacked, as
# comparing reads them: " \u0301" or "\u200c\u0301" repeated 1,000 times, which comparing reads as nothing, hid a
# template when only marks stacked 3+ deep with nothing between were padding (break-it review, session 41).
#: One separator character as comparing reads it (Unicode punctuation and separators, ASCII punctuation, whitespace).
SEPARATOR = r"[\p{P}\p{Z}\s!-/:-@\[-`{-~]"
_PADDING = r"(?:" + _INVISIBLE + r"|\p{Mn}{3,})+"
# Then marks 3+ deep once the invisible characters between them are gone, and marks on no letter. Two passes: one
# pattern doing both needs its capture group over every match, and a run of 40,000 zero-width spaces took 9 times as
# long; the first pass alone has no group.
_UNBORNE = f"\\p{{Mn}}{{3,}}|(^|{SEPARATOR})\\p{{Mn}}+"
_BLANKS = f"({SEPARATOR}){SEPARATOR}+({SEPARATOR})"
#: How far past the head padding is removed, in heads: cleaning is regex work, so it is bounded on megabyte prompts;
#: padding past 32 heads (49,152 characters at the default 64 words) costs the sender more than 32 times the read
#: prompt in tokens on every request.
PADDING_BOUND = 32


def visible_head(prompt: pl.Expr, chars: int) -> pl.Expr:
    """A prompt's first ``chars`` characters once padding is taken out: what a head cut by characters reads.

    A head is cut by characters (so the regex work of comparing is bounded on megabyte prompts). Where padding
    fills more than half of a prompt's first ``chars`` characters, it is removed before the cut, within the first
    ``PADDING_BOUND * chars`` characters: invisible and control characters (as :func:`normalise_prompt` removes
    them), runs of three or more combining marks, combining marks on no letter, and runs of whitespace and punctuation but their first and last
    character. Otherwise 2,000
    zero-width spaces, blanks or stacked marks in front of a template fill the head, and a ring sending it reads as
    sending no prompt at all (found in session 40: a 30-account ring went unflagged). Any other prompt is cut as
    before, so its words and quotes are unchanged.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["\\u200b" * 300 + "Think step by step", " " * 300 + "Tell   me\\n\\nwhy", "Short  one", None]})
    >>> df.select(visible_head(pl.col("p"), 10))["p"].to_list()
    ['Think step', '  Tell  me', 'Short  one', None]
    """
    return prompt.map_batches(lambda batch: _visible_head(batch, chars), return_dtype=pl.String, is_elementwise=True)


def copied_head(prompt: pl.Expr, chars: int) -> pl.Expr:
    """:func:`visible_head` written as new strings (a copy, not views of the read buffers), null where ``prompt`` is.

    Computed on the present rows of each batch only: the encoder's prompt pass nulls every prompt it does not keep
    (campaign preset: 19 % of 24M kept), and copying the whole batch's column cost about twice the present rows'.

    Examples
    --------
    >>> df = pl.DataFrame({"p": [None, "\u200b" * 30 + "Think step by step", None, "Short"]})
    >>> df.select(copied_head(pl.col("p"), 10))["p"].to_list()
    [None, 'Think step', None, 'Short']
    """
    return prompt.map_batches(lambda batch: _copied_head(batch, chars), return_dtype=pl.String, is_elementwise=True)


def _copied_head(prompts: pl.Series, chars: int) -> pl.Series:
    """:func:`copied_head` on a batch: the present rows' heads copied, then put back at their rows."""
    prompts = prompts.cast(pl.String)
    present = prompts.is_not_null()
    whole = prompts.null_count() == 0
    rows = prompts if whole else prompts.filter(present)
    heads = pl.select(pl.concat_str([pl.lit(_visible_head(rows, chars)), pl.lit("")])).to_series()
    if whole:
        return heads.alias(prompts.name)
    # Each present row's position among the present rows (null elsewhere: a null gathered).
    at = pl.select(pl.when(pl.lit(present)).then(pl.lit(present).cum_sum() - 1)).to_series()
    return heads.gather(at).alias(prompts.name)


def _visible_head(prompts: pl.Series, chars: int) -> pl.Series:
    """:func:`visible_head` on a batch, each step on the rows that need it."""
    prompts = prompts.cast(pl.String)
    head = prompts.str.slice(0, chars)
    # Only a prompt longer than the head can lose words to padding (a shorter one is read whole, and comparing
    # removes the padding), and only one whose head is mostly padding loses many: the long prompts' heads are
    # cleaned to find those, and only they are cleaned past the head. Every other prompt is cut as before.
    rows = (prompts.str.len_chars() > chars).arg_true()
    if rows.len():
        cleaned = _unpadded(head.gather(rows), exact=False)
        rows = rows.filter(cleaned.str.len_chars() < chars // 2)
    # Read 4, 8, 16, 32 heads deep, each row until its cleaned text fills the head: every row was cleaned 32 heads
    # deep, 49,152 characters, and a pretty-printed JSON prompt (runs of blanks and punctuation, 23 % of it read at
    # indent 2) needs 5 (brk41: 20,000 of them took 20 s); 2,000 zero-width spaces before a template need 2.
    bound = 4
    while rows.len():
        bound = min(bound, PADDING_BOUND)
        ahead = prompts.gather(rows)
        deep = _unpadded(ahead.str.slice(0, chars * bound))
        # (with a margin: padding cut at the slice's end is cleaned differently within its last few characters)
        done = (deep.str.len_chars() >= chars + 64) | (ahead.str.len_chars() <= chars * bound) | (bound == PADDING_BOUND)
        head = head.scatter(rows.filter(done), deep.filter(done).str.slice(0, chars))
        rows, bound = rows.filter(~done), bound * 2
    return head


def _unpadded(text: pl.Series, exact: bool = True) -> pl.Series:
    """``text`` without padding (see :func:`visible_head`); ``exact=False``: only its length is right (cheaper)."""
    frame = text.alias("t").to_frame()
    # ASCII text can pad only with control characters and blanks: byte-level classes, cheaper than Unicode ones.
    ascii_ = frame.select(is_ascii(pl.col("t")))["t"]
    if exact:
        frame = frame.with_columns(pl.when(ascii_).then(
            pl.col("t").str.replace_all(r"(?-u)[\x00-\x08\x0E-\x1F\x7F]+", "")
            .str.replace_all(r"(?-u)([[:punct:]\s])[[:punct:]\s]+([[:punct:]\s])", "$1$2")))
    else:  # one pass: a run of controls, blanks and punctuation counts two characters
        frame = frame.with_columns(pl.when(ascii_).then(
            pl.col("t").str.replace_all(r"(?-u)[[:punct:]\s\x00-\x08\x0E-\x1F\x7F]{3,}", "  ")))
    other = (~ascii_).arg_true()
    if other.len():
        unicode_ = (text.gather(other).str.replace_all(_PADDING, "").str.replace_all(_UNBORNE, "$1")
                    .str.replace_all(_BLANKS, "$1$2"))
        return frame["t"].scatter(other, unicode_)
    return frame["t"]


def is_ascii(text: pl.Expr) -> pl.Expr:
    """True where the text is pure ASCII (one byte per character)."""
    return text.str.len_bytes() == text.str.len_chars()


def normalise_prompt(prompt: pl.Expr, mark: str = " ") -> pl.Expr:
    """Prompt text as compared: cosmetic variation removed, one word per space-separated token.

    Steps: Unicode NFKD, nonspacing combining marks removed (accents, kana
    voicing marks, marks stacked on letters to break matching), then NFKC
    (full-width and mathematical letters, ligatures);
    invisible and format characters removed (category Cf such as U+200B-D,
    U+2060, U+FEFF, and invisible fillers), and control characters but
    whitespace (NUL, BEL, ESC, DEL, C1; NEL U+0085 is a line break); look-alike letters of other
    scripts folded to the ASCII letters they imitate (Unicode TR39
    confusables, see :func:`confusable_table`); lower case with full case
    folding (``ß`` -> ``ss``), a CamelCase run split after each lower-case
    letter followed by a capital (``mark`` put at each boundary: detection puts
    :data:`graphlink.stages.signals.camel.MARK` and reads the boundaries against
    the log's words, :func:`graphlink.stages.signals.camel.read_camel`); characters of scripts written without spaces (Han,
    kana, Thai, Lao, Khmer, Myanmar, Tibetan) split into one word each;
    digits to ``0``; punctuation and whitespace to single spaces.

    ASCII text (nearly all prompts) needs none of the Unicode steps: the
    prompt sampler (:mod:`graphlink.stages.signals.prompt`) runs them only on the others; this expression
    runs them on every row and gives the same result.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["  Solve: 12 + 7 = ?\\n Think STEP-by-step! ",
    ...                          "Thi\\u200bnk st\\u0435p ｂｙ step", "请把下面这段话翻译成英文"]})
    >>> df.select(normalise_prompt(pl.col("p")))["p"].to_list()
    ['solve 0 0 think step by step', 'think step by step', '请 把 下 面 这 段 话 翻 译 成 英 文']
    """
    return ascii_words(fold_unicode(prompt, mark))


# Marks a word boundary inside a written word (CamelCase, a spaceless script's characters) for :func:`written_words`:
# an invisible separator, removed from the text before any is inserted, so the text holds no other.
_JOIN = "\u2063"
# Characters between words: what normalisation turns into spaces (Unicode punctuation and separators, ASCII
# punctuation and the five ASCII whitespace controls), and the boundary mark.
_BETWEEN = r"[\p{P}\p{Z}!-/:-@\[-`{-~\t\n\x0B\x0C\r\x{85}\x{2063}]"


def written_words(prompt: pl.Expr) -> pl.Expr:
    """The prompt as written, as a list with one item per word :func:`normalise_prompt` gives: the word as
    written followed by the characters up to the next word (punctuation, spaces). A run of items joined
    (:func:`written_quote`) is the text of those words as it stands in the prompt: a CamelCase word or a
    spaceless script's characters are one written word holding several normalised words, quoted whole.

    Only invisible characters and nonspacing marks are removed first (as normalisation removes them, so
    that the words line up); nothing else is changed.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["You are OrbitAgent, step-by-step!"]})
    >>> df.select(written_words(pl.col("p")))["p"].to_list()[0]
    ['You ', 'are ', 'Orbit\u2063', 'Agent, ', 'step-', 'by-', 'step!']
    """
    return (
        prompt.str.replace_all(_INVISIBLE, "")
        .str.replace_all(_MARKS, "")
        .pipe(_split_camel, _JOIN)
        .str.replace_all(SPACELESS, f"{_JOIN}$0{_JOIN}")
        .str.extract_all(f"[^{_BETWEEN[1:-1]}]+{_BETWEEN}*")
    )


def written_quote(words: pl.Expr) -> pl.Expr:
    r"""Items of :func:`written_words` joined into the text they stand for in the prompt: the characters after
    the last word dropped, the boundary marks removed, a run of white space holding a line break or tab
    written as one space (a quote is one line); spaces and punctuation between words as written.

    Examples
    --------
    >>> df = pl.DataFrame({"p": ["You are OrbitAgent, step-by-step!\n\nUser: go"]})
    >>> df.select(written_quote(written_words(pl.col("p")).list.slice(2, 6)))["p"].to_list()
    ['OrbitAgent, step-by-step! User']
    """
    return (words.list.join("").str.replace(f"{_BETWEEN}+$", "").str.replace_all(_JOIN, "", literal=True)
            .str.replace_all(r"\s*[\t\n\x0B\x0C\r\x{85}\x{2028}\x{2029}]\s*", " "))


def spaceless_joined(words: pl.Expr) -> pl.Expr:
    """Normalised words joined by spaces (:func:`normalise_prompt`'s text) read as written: no space between two
    characters of a script written without spaces, as the prompt evidence quotes them (a burst's opening,
    :func:`graphlink.stages.burst_templates.prompt_openings`). Other spaces stay.

    Examples
    --------
    >>> pl.DataFrame({"p": ["あ な た は rust 0 の 先 生"]}).select(spaceless_joined(pl.col("p")))["p"][0]
    'あなたは rust 0 の先生'
    """
    pair = f"({SPACELESS}) ({SPACELESS})"  # twice: a match takes both characters, so every other gap is left once
    return words.str.replace_all(pair, "$1$2").str.replace_all(pair, "$1$2")
