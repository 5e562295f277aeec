"""Evidence in human terms: what a person reads about a cluster's shared values and prompts.

Shared by the report, ``show`` and the notebook's :meth:`graphlink.ClusterView.templates`:

* :func:`evidence_by_kind` groups a cluster's shared values by signal kind,
  strongest kind first, with values too common to link (weight 0) hidden by
  default and counted;
* :func:`reconstruct_templates` turns the overlapping 5-word shingles a
  cluster shares, and a sample of its original prompts, into the template
  text, once, with its variable parts marked, plus an original example prompt.

The clock a cluster acts on is in :mod:`graphlink.views.schedule`. Pure
functions: plain frames and strings in, dataclasses out; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from graphlink.views.words import noun

__all__ = ["KIND_NAMES", "KindEvidence", "Template", "evidence_by_kind", "kind_label", "reconstruct_templates",
           "tokenise"]

#: Plain names of the built-in signal kinds (singular, plural).
KIND_NAMES: dict[str, tuple[str, str]] = {
    "payment": ("payment card", "payment cards"),
    "ip": ("IP address", "IP addresses"),
    "ip_net": ("network (/24 or /48)", "networks (/24 or /48)"),
    "asn": ("autonomous system", "autonomous systems"),
    "prompt": ("prompt phrase", "prompt phrases"),
    "timing": ("activity signature", "activity signatures"),
    "user_agent": ("user agent", "user agents"),
    "created_hour": ("account-creation hour", "account-creation hours"),
    "email_domain": ("e-mail domain", "e-mail domains"),
}


def kind_label(kind: str, n: int = 2) -> str:
    """Plain name of a signal kind, singular for ``n == 1``; ``--signal`` kinds keep their column name.

    Examples
    --------
    >>> kind_label("payment", 1), kind_label("ip", 3), kind_label("device_id", 2)
    ('payment card', 'IP addresses', 'device_id values')
    """
    singular, plural = KIND_NAMES.get(kind, (f"{kind} value", f"{kind} values"))
    return singular if n == 1 else plural


# --------------------------------------------------------------------------- evidence by kind


@dataclass(frozen=True)
class KindEvidence:
    """The values of one kind a cluster shares.

    Attributes
    ----------
    kind : str
    label : str
        Plain plural name (``"payment cards"``).
    strength : float
        The largest ``weight × accounts_sharing`` of its values: how strongly
        its best value binds the cluster (a maximum, not a sum, so a template's
        many overlapping shingles do not outweigh one shared card); kinds are
        ordered by it.
    values : DataFrame
        ``value, accounts_sharing, weight, df`` (``df``: accounts carrying the
        value in the whole input), strongest first, and ``meaning`` when the
        evidence has it (:func:`graphlink.views.schedule.timing_meanings`);
        zero-weight values only when asked for.
    hidden : int
        Zero-weight values (shared, but too common to link anybody) left out.
    summary : str
        One sentence, e.g. ``"3 payment cards shared; the most shared by 37 of 95 accounts"``.
    """

    kind: str
    label: str
    strength: float
    values: pl.DataFrame
    hidden: int
    summary: str


def evidence_by_kind(evidence: pl.DataFrame, size: int | None = None, *, include_zero: bool = False
                     ) -> list[KindEvidence]:
    """Group a cluster's evidence rows by kind, strongest kind first.

    Parameters
    ----------
    evidence : DataFrame
        ``kind, value, accounts_sharing, weight`` (and optionally ``df``) rows
        of one cluster (``evidence.parquet`` filtered to it).
    size : int, optional
        Cluster size, for "by k of n accounts".
    include_zero : bool
        Keep values of weight 0 (shared but too common to link); by default
        they are hidden and counted in :attr:`KindEvidence.hidden`.

    Returns
    -------
    list of KindEvidence
        Kinds ordered by strength (ties: more values, then kind name);
        kinds with only zero-weight values come last, when ``include_zero``.

    Examples
    --------
    >>> ev = pl.DataFrame({"kind": ["ip", "payment", "payment", "user_agent"],
    ...                    "value": ["1.2.3.4", "card1", "card2", "curl"],
    ...                    "accounts_sharing": [3, 10, 4, 12], "weight": [2.0, 5.0, 6.0, 0.0]})
    >>> groups = evidence_by_kind(ev, size=12)
    >>> [(g.kind, g.values["value"].to_list(), g.hidden) for g in groups]
    [('payment', ['card1', 'card2'], 0), ('ip', ['1.2.3.4'], 0)]
    >>> groups[0].summary
    '2 payment cards shared; the most shared by 10 of 12 accounts'
    """
    if evidence.is_empty():
        return []
    frame = evidence
    if "df" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.UInt32).alias("df"))
    frame = frame.with_columns((pl.col("weight").fill_null(0.0) * pl.col("accounts_sharing")).alias("_strength"))
    stats = (frame.group_by("kind")
             .agg(pl.col("_strength").max().alias("strength"), pl.len().alias("n"),
                  (pl.col("weight").fill_null(0.0) <= 0).sum().alias("zero"))
             .sort(["strength", "n", "kind"], descending=[True, True, False]))
    groups = []
    for kind, strength, n, zero in stats.iter_rows():
        values = frame.filter(pl.col("kind") == kind)
        hidden = 0
        if not include_zero:
            values = values.filter(pl.col("weight").fill_null(0.0) > 0)
            hidden = int(zero)
            if values.is_empty():
                continue
        values = (values.sort(["_strength", "accounts_sharing", "value"], descending=[True, True, False])
                  .select("value", "accounts_sharing", "weight", "df", *(["meaning"] if "meaning" in frame.columns
                                                                          else [])))
        top = int(values["accounts_sharing"].max())
        of = f" of {size:,}" if size else ""
        accounts = noun(size or top, "account")
        summary = f"{values.height:,} {kind_label(kind, values.height)} shared; the most shared by {top:,}{of} {accounts}"
        if values.height == 1:
            summary = f"1 {kind_label(kind, 1)} shared by {top:,}{of} {accounts}"
        if hidden:
            summary += f" ({hidden:,} more too common to link, hidden)"
        groups.append(KindEvidence(kind=kind, label=kind_label(kind, 2), strength=float(strength), values=values,
                                   hidden=hidden, summary=summary))
    return groups


# --------------------------------------------------------------------------- prompt templates

# What graphlink.stages.signals.normalise.normalise_prompt treats as separators: ASCII punctuation and whitespace.
_TOKEN = re.compile(r"[^\s!-/:-@\[-`{-~]+")
_DIGITS = re.compile(r"[0-9]+")
# The normaliser splits CamelCase at each lower-to-upper ASCII letter.
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def tokenise(text: str) -> list[tuple[str, int, int]]:
    """Words of a prompt as graphlink normalises them, with their span in the original text.

    A word is a run of characters other than ASCII punctuation and
    whitespace, lower-cased, digit runs replaced by ``0``
    (:func:`graphlink.stages.signals.normalise.normalise_prompt` word by word on ASCII text).

    Examples
    --------
    >>> tokenise("Give me 12 ideas, fast!")
    [('give', 0, 4), ('me', 5, 7), ('0', 8, 10), ('ideas', 11, 16), ('fast', 18, 22)]
    >>> [w for w, _, _ in tokenise("YouAreAnExpert.")]
    ['you', 'are', 'an', 'expert']
    """
    words = []
    for m in _TOKEN.finditer(text):
        cuts = [m.start()] + [m.start() + c.start() for c in _CAMEL.finditer(m.group())] + [m.end()]
        words.extend((_DIGITS.sub("0", text[a:b].lower()), a, b) for a, b in zip(cuts, cuts[1:]))
    return words


@dataclass(frozen=True)
class Template:
    """A prompt template reconstructed from shared shingles and sample prompts.

    Attributes
    ----------
    parts : list of (str, bool)
        The template in order: ``(text, variable)``; constant text is taken
        from the example prompt (original spelling, punctuation and case),
        a variable part is ``"…"`` (words that differ between prompts) or
        ``"#"`` (a number: normalisation maps every number to ``0``, so it
        may differ).
    example : str or None
        One original prompt that follows the template.
    prompts : int
        Sampled prompts that follow it (0 when reconstructed from shingles only).
    accounts : int
        Sampled accounts with at least one such prompt.
    """

    parts: list[tuple[str, bool]]
    example: str | None = None
    prompts: int = 0
    accounts: int = 0

    def text(self, open_mark: str = "⟨", close_mark: str = "⟩") -> str:
        """The template as one line, variable parts between marks.

        Examples
        --------
        >>> Template([("give me", False), ("#", True), ("ideas for", False), ("…", True)]).text()
        'give me ⟨#⟩ ideas for ⟨…⟩'
        """
        return " ".join(f"{open_mark}{t}{close_mark}" if var else t for t, var in self.parts)


def _chains(shingles: Sequence[Sequence[str]]) -> list[list[str]]:
    """Merge shingles overlapping by all but one word into maximal word chains (deterministic)."""
    unique = sorted({tuple(s) for s in shingles if s})
    if not unique:
        return []
    by_prefix: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    suffixes = set()
    for s in unique:
        by_prefix.setdefault(s[:-1], []).append(s)
        suffixes.add(s[1:])
    used: set[tuple[str, ...]] = set()
    chains = []
    starts = [s for s in unique if s[:-1] not in suffixes] + unique  # chain heads first, then any leftover
    for start in starts:
        if start in used:
            continue
        chain = list(start)
        used.add(start)
        current = start
        while True:
            nxt = [s for s in by_prefix.get(current[1:], []) if s not in used]
            if not nxt:
                break
            current = nxt[0]
            used.add(current)
            chain.append(current[-1])
        chains.append(chain)
    return sorted(chains, key=lambda c: (-len(c), c))


def _find(words: list[str], chain: list[str]) -> int:
    n = len(chain)
    for i in range(len(words) - n + 1):
        if words[i:i + n] == chain:
            return i
    return -1


def _frequent_shingles(prompts: Sequence[tuple[str, str]], ngram: int, min_share: float) -> list[tuple[str, ...]]:
    """Shingles found in the prompts of at least ``min_share`` of the sampled accounts (at least 2)."""
    owners: dict[tuple[str, ...], set[str]] = {}
    accounts = set()
    for account, text in prompts:
        accounts.add(account)
        words = [w for w, _, _ in tokenise(text)]
        for i in range(len(words) - ngram + 1):
            owners.setdefault(tuple(words[i:i + ngram]), set()).add(account)
    need = max(2, int(np.ceil(min_share * len(accounts))))
    return [s for s, who in owners.items() if len(who) >= need]


def reconstruct_templates(shingles: Sequence[str] = (), prompts: Sequence[tuple[str, str]] | pl.DataFrame = (),
                          *, ngram: int = 5, min_share: float = 0.3, max_templates: int = 3) -> list[Template]:
    """Reconstruct the prompt templates of a cluster, each once, with its variable parts marked.

    Parameters
    ----------
    shingles : sequence of str
        The cluster's shared prompt shingles (normalised ``ngram``-word
        phrases, e.g. the ``prompt`` rows of ``evidence.parquet``).
    prompts : sequence of (account_id, prompt) or DataFrame
        A sample of the members' original prompts (``account_id, prompt``).
        Phrases shared by at least ``min_share`` of the sampled accounts join
        the shingles; the prompts give the order of the phrases, the original
        spelling and an example. Optional: without them the template is the
        chained shingles, in an arbitrary order, joined by ``⟨…⟩``.
    ngram : int
        Words per shingle (``signals.ngram``, default 5).
    min_share : float
        Share of sampled accounts a phrase must be found in to count as template text.
    max_templates : int
        At most this many templates, most used first.

    Returns
    -------
    list of Template
        Empty when there is nothing to reconstruct.

    Method
    ------
    Each sampled prompt is tokenised as detection normalises it and its
    template phrases (shared shingles) located. The prompt with most of them
    is the example; prompts at least half of whose phrases are the
    example's follow the same template. Phrases most followers (60%) share
    are constant text, shown in the example's original spelling (numbers
    marked ``#``: they were normalised to ``0``); each run of other words is
    one variable part. The remaining prompts yield the next template.
    Without prompts, shingles overlapping by ``ngram - 1`` words are chained
    (the overlap assembly of sequence reads) and the chains joined. Words every follower of
    a template starts or ends with are template text too (a template's tail
    after its last variable part is shorter than a shingle).

    Examples
    --------
    >>> prompts = [("a1", "Think step by step about cats, then answer question 12."),
    ...            ("a2", "Think step by step about dogs, then answer question 7."),
    ...            ("a3", "Think step by step about the weather, then answer question 3.")]
    >>> [t.text() for t in reconstruct_templates(prompts=prompts, ngram=3)]
    ['Think step by step about ⟨…⟩ then answer question ⟨#⟩']
    """
    if isinstance(prompts, pl.DataFrame):
        prompts = list(prompts.select("account_id", "prompt").drop_nulls().iter_rows())
    prompts = [(str(a), str(p)) for a, p in prompts if p]
    # Evidence quotes shingles as written in one prompt (case, digits): compare them as tokenised.
    words_of = [tuple(w for w, _, _ in tokenise(s)) for s in shingles if s]
    words_of = [w for w in words_of if len(w) >= 2]
    if prompts:
        words_of += _frequent_shingles(prompts, ngram, min_share)
    chains = _chains(words_of)
    if not chains:
        return []
    if not prompts:
        parts: list[tuple[str, bool]] = []
        for chain in chains[:6]:
            if parts:
                parts.append(("…", True))
            parts.extend(_number_parts(chain))
        return [Template(parts=parts)]
    known = {tuple(w) for w in words_of if len(w) == ngram}
    located = []
    for account, text in prompts:
        tokens = tokenise(text)
        words = [w for w, _, _ in tokens]
        hits: dict[tuple[str, ...], int] = {}
        for i in range(len(words) - ngram + 1):
            gram = tuple(words[i:i + ngram])
            if gram in known and gram not in hits:
                hits[gram] = i
        if hits:
            located.append((account, text, tokens, hits))
    templates = []
    remaining = located
    while remaining and len(templates) < max_templates:
        # The example: the prompt with most template phrases (ties: shorter text, then text).
        best = min(remaining, key=lambda item: (-len(item[3]), len(item[1]), item[1]))
        grams = set(best[3])
        # Followers: prompts at least half of whose template phrases are the example's.
        followers = [item for item in remaining if 2 * len(grams & set(item[3])) >= len(item[3])]
        if len({f[0] for f in followers}) >= 2:
            # Constant text is what most followers share: a phrase with a varying word
            # ("question 0 about delta") frequent in the sample is not template text.
            need = 0.6 * len(followers)
            grams = {g for g in grams if sum(g in f[3] for f in followers) >= need} or grams
        spans = [(best[3][g], ngram) for g in grams]
        if len({f[0] for f in followers}) >= 2:  # words every follower starts or ends with are template text too
            word_lists = [[w for w, _, _ in f[2]] for f in followers]
            head, tail = _common_prefix(word_lists), _common_prefix([w[::-1] for w in word_lists])
            spans += [(0, head), (len(best[2]) - tail, tail)]
        templates.append(Template(parts=_parts(best[1], best[2], spans), example=best[1], prompts=len(followers),
                                  accounts=len({f[0] for f in followers})))
        taken = {id(f) for f in followers}
        remaining = [item for item in remaining if id(item) not in taken]
    return sorted(templates, key=lambda t: (-t.accounts, -t.prompts, t.text()))


def _common_prefix(word_lists: list[list[str]]) -> int:
    """Length of the longest common prefix of word lists."""
    shortest = min(len(w) for w in word_lists)
    for i in range(shortest):
        if len({w[i] for w in word_lists}) > 1:
            return i
    return shortest


def _number_parts(words: Sequence[str]) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    run: list[str] = []
    for w in words:
        if w == "0":
            if run:
                parts.append((" ".join(run), False))
                run = []
            parts.append(("#", True))
        else:
            run.append(w)
    if run:
        parts.append((" ".join(run), False))
    return parts


def _parts(text: str, tokens: list[tuple[str, int, int]], spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """Template parts of one example prompt given the token spans ``(start, length)`` that are constant."""
    constant = np.zeros(len(tokens), dtype=bool)
    for start, length in spans:
        constant[start:start + length] = True
    parts: list[tuple[str, bool]] = []
    i = 0
    while i < len(tokens):
        if not constant[i]:
            while i < len(tokens) and not constant[i]:
                i += 1
            parts.append(("…", True))
            continue
        j = i
        while j < len(tokens) and constant[j] and tokens[j][0] != "0":
            j += 1
        if j > i:
            end = tokens[j - 1][2]  # keep punctuation glued to the last word ("Problem:", "ideas.")
            limit = tokens[j][1] if j < len(tokens) else len(text)
            while end < limit and not text[end].isspace():
                end += 1
            parts.append((text[tokens[i][1]:end], False))
            i = j
        else:  # a number inside constant text
            parts.append(("#", True))
            i += 1
    merged: list[tuple[str, bool]] = []
    for part in parts:
        if merged and part[1] and merged[-1] == part:
            continue
        merged.append(part)
    return merged
