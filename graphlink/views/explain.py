"""Explanations of a cluster in words, and small escaped HTML tables for notebooks.

:func:`why_text` is the one long-form explanation of a cluster (the notebook's
:meth:`graphlink.ClusterView.why` and the exported case file); the short
``why`` column of ``clusters.parquet`` is written by
:mod:`graphlink.stages.scoring`. Logged values are attacker-written: text is
made terminal-safe and HTML escaped (:mod:`graphlink.views.safety`).

Evidence in human terms (shared by the report, ``show`` and the notebook's
:meth:`graphlink.ClusterView.schedule` / :meth:`~graphlink.ClusterView.templates`):

* :func:`evidence_by_kind` groups a cluster's shared values by signal kind,
  strongest kind first, with values too common to link (weight 0) hidden by
  default and counted;
* :func:`reconstruct_templates` turns the overlapping 5-word shingles a
  cluster shares, and a sample of its original prompts, into the template
  text, once, with its variable parts marked, plus an original example prompt;
* :func:`describe_schedule` finds the clock a fleet runs on from its members'
  event timestamps ("every 10 min at :03:20 ± 30 s, 24 h a day, 96% of
  members"), something an investigator can check against the raw log;
  :func:`describe_sync` says how often members act in the same minute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import numpy as np
import polars as pl

from graphlink.contract import JSON_TIME_FORMAT
from graphlink.views.safety import html_safe, terminal_safe

#: Signal kinds in words.
KIND_LABELS = {
    "payment": "payment fingerprint", "ip": "IP address", "ip_net": "IP network", "asn": "ASN",
    "prompt": "prompt phrase", "timing": "activity-timing signature", "user_agent": "user agent",
    "email_domain": "email domain", "created_hour": "account-creation hour",
}


def why_text(row: dict[str, Any], evidence: pl.DataFrame, flag_threshold: float, min_flag_size: int) -> str:
    """Plain-language explanation of one cluster: size, score, verdict and strongest evidence.

    Parameters
    ----------
    row : dict
        The cluster's ``clusters.parquet`` row.
    evidence : DataFrame
        The cluster's ``evidence.parquet`` rows.
    flag_threshold, min_flag_size : float, int
        The run's :class:`graphlink.config.ScoringConfig` settings, quoted in the verdict.

    Returns
    -------
    str
        Several lines; one per signal kind its most shared value, linking kinds first.
    """
    size, score = int(row["size"]), float(row["score"])
    verdict = "flagged" if row["flagged"] else "not flagged"
    lines = [f"Cluster {row['cluster_id']}: {size:,} accounts, score {score:.3f}, {verdict} "
             f"(flag_threshold {flag_threshold:g}, min_flag_size {min_flag_size})"]
    kinds = row.get("kinds") or []
    if kinds:
        lines.append("Linked by: " + ", ".join(terminal_safe(k) for k in kinds))
    # One line per kind (linking kinds in strength order first): its most shared value.
    order = {k: i for i, k in enumerate(kinds)}
    ranked = (
        evidence.sort(["accounts_sharing", "weight", "value"], descending=[True, True, False])
        .group_by("kind", maintain_order=True)
        .agg(pl.col("value").first(), pl.col("accounts_sharing").first(), pl.col("weight").first(),
             pl.col("df").first(), pl.len().alias("n_values"))
        .with_columns(pl.col("kind").replace_strict(order, default=len(order), return_dtype=pl.Int64)
                      .alias("rank"))
        .sort(["rank", "accounts_sharing", "kind"], descending=[False, True, False])
    )
    lines.append("Shared evidence:" if ranked.height else "No value is shared by two or more members.")
    for kind, value, n, weight, df, n_values in ranked.select(
            "kind", "value", "accounts_sharing", "weight", "df", "n_values").iter_rows():
        label = KIND_LABELS.get(kind, terminal_safe(kind))
        note = (f"{df:,} accounts carry it in the whole input" if weight > 0
                else f"too common to link on its own: {df:,} accounts carry it")
        more = f"; {n_values - 1} more shared {label} value(s) in the evidence" if n_values > 1 else ""
        lines.append(f"  - {n:,} of {size:,} members share {label} "
                     f"{terminal_safe(value, limit=80)!r} ({note}{more})")
    return "\n".join(lines)


def table_html(frame: pl.DataFrame, max_rows: int = 10, max_chars: int = 120) -> str:
    """A small HTML table with every cell escaped (cells are attacker-controlled)."""
    head = "".join(f"<th>{html_safe(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(max_rows).iter_rows():
        cells = []
        for value in row:
            if isinstance(value, float):
                text = f"{value:.3f}"
            elif isinstance(value, list):
                text = ", ".join(map(str, value))
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td style='text-align:left'>{html_safe(terminal_safe(text, limit=max_chars))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = (f"<p><small>… {frame.height - max_rows:,} more rows</small></p>" if frame.height > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: datetimes as :data:`graphlink.contract.JSON_TIME_FORMAT` (UTC), dates ISO.

    The one JSON date format of graphlink's exports.

    Examples
    --------
    >>> from datetime import timezone
    >>> json_default(datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)), json_default(date(2024, 5, 1))
    ('2024-05-01T09:30:00Z', '2024-05-01')
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(timezone.utc).strftime(JSON_TIME_FORMAT)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- evidence in human terms

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
        value in the whole input), strongest first; zero-weight values only
        when asked for.
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
                  .select("value", "accounts_sharing", "weight", "df"))
        top = int(values["accounts_sharing"].max())
        of = f" of {size:,}" if size else ""
        summary = f"{values.height:,} {kind_label(kind, values.height)} shared; the most shared by {top:,}{of} accounts"
        if values.height == 1:
            summary = f"1 {kind_label(kind, 1)} shared by {top:,}{of} accounts"
        if hidden:
            summary += f" ({hidden:,} more too common to link, hidden)"
        groups.append(KindEvidence(kind=kind, label=kind_label(kind, 2), strength=float(strength), values=values,
                                   hidden=hidden, summary=summary))
    return groups


# --------------------------------------------------------------------------- prompt templates

# What graphlink.signals.prompt.normalise_prompt treats as separators: ASCII punctuation and whitespace.
_TOKEN = re.compile(r"[^\s!-/:-@\[-`{-~]+")
_DIGITS = re.compile(r"[0-9]+")


def tokenise(text: str) -> list[tuple[str, int, int]]:
    """Words of a prompt as graphlink normalises them, with their span in the original text.

    A word is a run of characters other than ASCII punctuation and
    whitespace, lower-cased, digit runs replaced by ``0``
    (:func:`graphlink.signals.prompt.normalise_prompt` word by word).

    Examples
    --------
    >>> tokenise("Give me 12 ideas, fast!")
    [('give', 0, 4), ('me', 5, 7), ('0', 8, 10), ('ideas', 11, 16), ('fast', 18, 22)]
    """
    return [(_DIGITS.sub("0", m.group().lower()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


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
    words_of = [tuple(s.split()) for s in shingles if s and len(s.split()) >= 2]
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


# --------------------------------------------------------------------------- schedules

#: Candidate periods in seconds: each divides the next day boundary, so an offset reads as clock time.
PERIODS = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400)


@dataclass(frozen=True)
class Schedule:
    """A clock a cluster's accounts act on.

    Attributes
    ----------
    period : int
        Seconds between slots.
    offset : float
        Seconds after the start of each period (periods aligned to UTC
        midnight) at which the slot falls.
    spread : float
        90% of on-schedule events fall within ``offset ± spread`` seconds.
    event_share : float
        Share of the cluster's events on the schedule.
    account_share : float
        Share of members (with timestamps) having at least half of their
        events on the schedule.
    hours : list of int
        UTC hours of day in which on-schedule events happen.
    events : int
        Events examined.
    """

    period: int
    offset: float
    spread: float
    event_share: float
    account_share: float
    hours: list[int] = field(default_factory=list)
    events: int = 0

    def text(self) -> str:
        """The schedule as a person can check it against the log.

        Examples
        --------
        >>> Schedule(600, 200, 30, 0.99, 0.96, list(range(24))).text()
        'every 10 min at :03:20 ± 30 s, 24 h a day, 96% of members'
        >>> Schedule(86400, 3600 * 14 + 5, 2, 0.9, 1.0, [14]).text()
        'every day at 14:00:05 UTC ± 2 s, 14:00–15:00 UTC, 100% of members'
        """
        off = int(round(self.offset)) % self.period
        if self.period < 3600:
            when = f"every {self.period // 60} min at :{off % 3600 // 60:02d}:{off % 60:02d}"
        elif self.period == 3600:
            when = f"every hour at :{off // 60:02d}:{off % 60:02d}"
        elif self.period < 86400:
            first = f"{off // 3600:02d}:{off % 3600 // 60:02d}:{off % 60:02d}"
            when = f"every {self.period // 3600} h at {first} UTC and every {self.period // 3600} h after"
        else:
            when = f"every day at {off // 3600:02d}:{off % 3600 // 60:02d}:{off % 60:02d} UTC"
        return f"{when} ± {_duration(self.spread)}, {hours_text(self.hours)}, {self.account_share:.0%} of members"


def _duration(seconds: float) -> str:
    s = max(1, int(round(seconds)))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{round(s / 60)} min"
    return f"{round(s / 3600)} h"


def hours_text(hours: Sequence[int]) -> str:
    """UTC hours of day as a person says them.

    Examples
    --------
    >>> hours_text(range(24)), hours_text([2, 3, 4]), hours_text([22, 23, 0, 1, 9])
    ('24 h a day', '02:00–05:00 UTC', '09:00–10:00 and 22:00–02:00 UTC')
    >>> hours_text([])
    'no active hours'
    """
    present = sorted({int(h) % 24 for h in hours})
    if len(present) == 24:
        return "24 h a day"
    if not present:
        return "no active hours"
    runs: list[list[int]] = []
    for h in present:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 23:  # wrap around midnight
        runs[0] = runs.pop() + runs[0]
    ranges = sorted(f"{r[0]:02d}:00–{(r[-1] + 1) % 24:02d}:00" for r in runs)
    if len(ranges) > 4:
        return f"{len(present)} h a day"
    return (" and ".join([", ".join(ranges[:-1]), ranges[-1]]) if len(ranges) > 1 else ranges[0]) + " UTC"


def describe_schedule(events: pl.DataFrame, *, min_events: int = 20, min_share: float = 0.5,
                      window: float = 0.05, max_window: float = 300.0) -> Schedule | None:
    """Find the repeating clock a cluster's events follow, if any.

    Parameters
    ----------
    events : DataFrame
        ``account_id, timestamp`` of the cluster's members (``timestamp`` a
        datetime, UTC).
    min_events : int
        Fewer events: no schedule is claimed.
    min_share : float
        Share of events that must fall in the slot window (5x the share a
        random clock would put there, with the default ``window``).
    window : float
        Half-width of a slot as a fraction of the period (default 5%: ± 30 s
        on a 10-minute clock).
    max_window : float
        Largest half-width in seconds (default 5 min): a daily burst spread
        over hours is activity in working hours, not a clock.

    Returns
    -------
    Schedule or None
        The longest candidate period (1 min to 1 day, see :data:`PERIODS`)
        whose slot holds at least ``min_share`` of events and at least 85% of
        the share the best period holds, so a 10-minute clock is not
        reported as a 20-minute one with half the events; ``None`` when no
        period qualifies or the events span fewer than three periods.

    Method
    ------
    For each period, each event's phase (seconds since UTC midnight modulo
    the period) is binned into 40 bins; the circular window of ± ``window``
    periods with most events is the slot, its centre refined to the
    circular mean of the phases in it. This is epoch folding, the standard
    test for a periodic signal in event times (Leahy et al. 1983, ApJ 266, 160).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2025, 1, 6, tzinfo=timezone.utc) + timedelta(seconds=200)
    >>> ts = [t0 + timedelta(minutes=10 * k, seconds=(k * 7) % 21 - 10) for k in range(300)]  # :03:10, :03:17, :03:24
    >>> ev = pl.DataFrame({"account_id": [f"a{k % 5}" for k in range(300)], "timestamp": ts})
    >>> describe_schedule(ev).text()
    'every 10 min at :03:17 ± 7 s, 24 h a day, 100% of members'
    """
    frame = events.select("account_id", "timestamp").drop_nulls()
    if frame.height < min_events:
        return None
    micros = frame["timestamp"].dt.epoch("us").to_numpy()
    seconds = (micros // 1_000_000).astype(np.int64) % 86400 + (micros % 1_000_000) / 1e6
    span = float((micros.max() - micros.min()) / 1e6)
    results = []
    for period in PERIODS:
        if span < 3 * period:
            break
        phase = np.mod(seconds, period)
        half = min(window * period, max_window)
        bins = max(40, int(np.ceil(2 * period / half)))
        counts = np.bincount(np.minimum((phase / period * bins).astype(np.int64), bins - 1), minlength=bins)
        width = max(1, int(round(2 * half / period * bins)))  # bins in the window
        padded = np.concatenate([counts, counts[:width]])
        sums = np.convolve(padded, np.ones(width + 1, dtype=np.int64), mode="valid")[:bins]
        start = int(np.argmax(sums))
        centre = (start + (width + 1) / 2) / bins * period
        # Refine: circular mean of phases within the window around the centre, until it settles.
        dev = (phase - centre + period / 2) % period - period / 2
        near = np.abs(dev) <= half
        for _ in range(4):
            if not near.any():
                break
            angle = np.angle(np.mean(np.exp(2j * np.pi * phase[near] / period)))
            centre = (angle / (2 * np.pi) * period) % period
            dev = (phase - centre + period / 2) % period - period / 2
            near = np.abs(dev) <= half
        results.append((period, centre, dev, near, float(near.mean())))
    passing = [r for r in results if r[4] >= min_share]
    if not passing:
        return None
    best = max(r[4] for r in passing)
    period, centre, dev, near, share = max((r for r in passing if r[4] >= 0.85 * best), key=lambda r: r[0])
    spread = float(np.quantile(np.abs(dev[near]), 0.9))
    on = pl.DataFrame({"account_id": frame["account_id"], "on": near})
    per_account = on.group_by("account_id").agg(pl.col("on").mean())
    account_share = float((per_account["on"] >= 0.5).mean())
    hour_counts = np.bincount((seconds[near] // 3600).astype(np.int64), minlength=24)
    hours = [h for h in range(24) if hour_counts[h] >= max(1, 0.01 * near.sum() / 24)]
    return Schedule(period=period, offset=centre, spread=spread, event_share=share, account_share=account_share,
                    hours=hours, events=frame.height)


def describe_sync(events: pl.DataFrame, *, window: str = "1m", min_accounts: int = 3) -> str | None:
    """Say how often members act in the same minute, with the busiest minute to check in the log.

    Parameters
    ----------
    events : DataFrame
        ``account_id, timestamp`` of the cluster's members.
    window : str
        Polars duration of a shared window (default one minute, the timing signal's bucket).
    min_accounts : int
        A window counts as shared when at least this many members act in it.

    Returns
    -------
    str or None
        E.g. ``"92% of events fall in minutes when at least 3 members act together
        (busiest: 40 accounts at 2025-01-08 14:03 UTC)"``; ``None`` when no window is shared.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2025, 1, 8, 14, 3, 10, tzinfo=timezone.utc)
    >>> ev = pl.DataFrame({"account_id": ["a", "b", "c", "d"],
    ...                    "timestamp": [t, t, t, datetime(2025, 1, 9, tzinfo=timezone.utc)]})
    >>> describe_sync(ev)
    '75% of events fall in minutes when at least 3 members act together (busiest: 3 accounts at 2025-01-08 14:03 UTC)'
    """
    frame = events.select("account_id", "timestamp").drop_nulls()
    if frame.is_empty():
        return None
    per_window = (frame.group_by(pl.col("timestamp").dt.truncate(window).alias("w"))
                  .agg(pl.col("account_id").n_unique().alias("accounts"), pl.len().alias("events")))
    shared = per_window.filter(pl.col("accounts") >= min_accounts)
    if shared.is_empty():
        return None
    share = shared["events"].sum() / frame.height
    busiest = shared.sort(["accounts", "w"], descending=[True, False]).row(0, named=True)
    unit = "minutes" if window == "1m" else f"{window} windows"
    return (f"{share:.0%} of events fall in {unit} when at least {min_accounts} members act together "
            f"(busiest: {busiest['accounts']:,} accounts at {busiest['w']:%Y-%m-%d %H:%M} UTC)")
