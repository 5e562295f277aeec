"""A cluster's prompt templates: the one function behind the report's template view and ``ClusterView.templates()``.

Both read the same sample of the members' original prompts (:func:`sample_prompts`: the first
:data:`SAMPLE_ACCOUNTS` members by id, each one's first :data:`SAMPLE_PROMPTS` prompts in the events file, each
prompt's first :data:`MAX_CHARS` characters) and rebuild the templates from it and the cluster's shared prompt
shingles (:func:`cluster_templates`, :func:`reconstruct_templates`), so the report and
the notebook show the same templates. A prompt is read far enough to hold a template behind a long shared head
(an agent framework's system prompt, which detect reads past: :mod:`graphlink.stages.signals.shared_heads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from graphlink.stages.signals.normalise import visible_head
from graphlink.views.safety import visible_text
from graphlink.views.template_parts import (SHARE, SLOT_MEANINGS, align_follower, chain_parts, merge_variants,
                                            written_parts)
from graphlink.views.template_phrases import chain_shingles, common_prefix, frequent_shingles
from graphlink.views.tokens import join_words, keyed_tokens, tokenise
from graphlink.views.words import plural

__all__ = ["MAX_CHARS", "SAMPLE_ACCOUNTS", "SAMPLE_PROMPTS", "TEMPLATES_LISTED", "Template", "cluster_templates", "reconstruct_templates",
           "sample_prompts", "tokenise", "join_words"]

#: Members of a cluster whose prompts are sampled (the first by account id).
SAMPLE_ACCOUNTS = 20
#: Prompts sampled per account (its first in the events file).
SAMPLE_PROMPTS = 5
#: Characters read of each sampled prompt: a shared head of up to 128 words and the 48 words detect reads after it
#: (about 1,300 characters of English) fit; a megabyte prompt costs no more than this.
MAX_CHARS = 2_000
#: Prompt rows read at most (the report samples every section's cluster in one scan).
MAX_ROWS = 100_000


def sample_prompts(events: pl.LazyFrame, members: pl.DataFrame, *, accounts: int = SAMPLE_ACCOUNTS,
                   prompts_per_account: int = SAMPLE_PROMPTS, max_rows: int = MAX_ROWS,
                   max_chars: int = MAX_CHARS) -> pl.DataFrame:
    """``account_id, prompt``: the prompts the template view reads of each cluster of ``members``.

    ``members`` is ``account_id, cluster_id`` (one cluster or many); ``events`` the log (canonical
    ``account_id``, a ``prompt`` column), read once, lazily.
    """
    chosen = (members.select("account_id", "cluster_id").sort("account_id")
              .group_by("cluster_id", maintain_order=True).head(accounts)["account_id"])
    return (events.filter(pl.col("account_id").is_in(chosen.implode()) & pl.col("prompt").is_not_null())
            .select("account_id", visible_head(pl.col("prompt").cast(pl.String), max_chars))
            .head(max_rows).collect(engine="streaming").group_by("account_id", maintain_order=True)
            .head(prompts_per_account).sort("account_id", "prompt"))


#: Templates the report and ``show`` list per cluster, most accounts first; when there are more, they say so.
TEMPLATES_LISTED = 3


def cluster_templates(evidence: pl.DataFrame, prompts: pl.DataFrame | None = None,
                      members: pl.Series | None = None, max_templates: int = TEMPLATES_LISTED) -> list[Template]:
    """The templates of one cluster from its evidence rows (``kind, value``: its ``prompt`` values) and, when
    given, :func:`sample_prompts` (filtered to ``members``, its account ids, when given); at most ``max_templates``,
    most accounts first (the report and ``show`` ask for one more than they list, to say that more were left out)."""
    shingles = evidence.filter(pl.col("kind") == "prompt")["value"].to_list()
    if prompts is not None and members is not None:
        prompts = prompts.filter(pl.col("account_id").is_in(members.implode()))
    found = reconstruct_templates(shingles, prompts if prompts is not None else (), max_templates=max_templates)
    if prompts is None or not found:
        return found
    sampled = prompts["account_id"].n_unique() if isinstance(prompts, pl.DataFrame) else len({a for a, _ in prompts})
    return [replace(t, sampled=sampled) for t in found]


def used_by(t: Template) -> str:
    """How many of the sampled prompts and accounts follow ``t``, in words (the report's and ``show``'s "used by"):
    of how many accounts sampled, so a template a cluster's sample reads for 11 of its 20 accounts is not read as 11
    of the cluster's 166 (new-user review nu43)."""
    if not t.accounts:
        return "reconstructed from the shared phrases"
    of = f" of the {t.sampled:,} sampled" if t.sampled else ""
    return f"{plural(t.accounts, 'account')}{of} ({plural(t.prompts, 'sampled prompt')})"


# --------------------------------------------------------------------------- prompt templates

@dataclass(frozen=True)
class Template:
    """A prompt template reconstructed from shared shingles and sample prompts.

    What a notebook prints is safe to print: :meth:`text` and :attr:`example` spell out invisible and
    control characters as the report and the terminal do (``⟨U+202E⟩``, a run once: ``⟨U+200B ×200⟩``;
    :func:`graphlink.views.safety.visible_text`), so ``print(t.text())`` cannot be reordered by a
    right-to-left override an attacker wrote; :meth:`raw_text` and :attr:`raw_example` are the text exactly
    as typed (for a search in the log).

    Attributes
    ----------
    parts : list of (str, bool)
        The template in order, as typed (raw): ``(text, variable)``; concatenated, they read
        as the template. Constant text is the example prompt's as written
        (spelling, case, and the operators, punctuation and spacing between
        and around its words); a variable part is ``"…"`` (words that differ
        between prompts), ``"#"`` (a number that differs between prompts, also
        inside a word: ``x^2 - ⟨#⟩x``; detection reads every number as ``0``)
        or ``"≠"`` (the text between two template words, no word in it, when the
        prompts wrote different text there: ``x^2 ⟨≠⟩ 5x``). See
        :mod:`graphlink.views.template_parts` (``SLOT_MEANINGS``).
    example : str or None
        One original prompt that follows the template, invisible and control characters spelled out.
    prompts : int
        Sampled prompts that follow it (0 when reconstructed from shingles only).
    accounts : int
        Sampled accounts with at least one such prompt.
    raw_example : str or None
        The example exactly as typed (given ``example`` when not given).
    sampled : int
        Accounts whose prompts were sampled (:func:`sample_prompts`: at most ``SAMPLE_ACCOUNTS`` per cluster); 0 when
        not known.
    """

    parts: list[tuple[str, bool]]
    example: str | None = None
    prompts: int = 0
    accounts: int = 0
    raw_example: str | None = None
    sampled: int = 0

    def __post_init__(self) -> None:
        if self.raw_example is None and self.example is not None:
            object.__setattr__(self, "raw_example", self.example)
        if self.raw_example is not None:  # spelled from the raw text: dataclasses.replace() must not spell it again
            object.__setattr__(self, "example", visible_text(self.raw_example))

    def raw_text(self, open_mark: str = "⟨", close_mark: str = "⟩") -> str:
        """The template exactly as typed, variable parts between marks (invisible and bidi characters raw).

        Examples
        --------
        >>> Template([("say ", False), ("…", True), ("\\u202e!", False)]).raw_text()
        'say ⟨…⟩\\u202e!'
        """
        return "".join(f"{open_mark}{t}{close_mark}" if var else t for t, var in self.parts)

    def text(self, open_mark: str = "⟨", close_mark: str = "⟩", spell=visible_text) -> str:
        """The template as written, variable parts between marks, safe to print: invisible and control
        characters spelled out (``spell``: :func:`graphlink.views.safety.visible_text`, as the report and notebook;
        ``show`` gives :func:`graphlink.views.safety.terminal_safe`; :meth:`raw_text` keeps them).

        Examples
        --------
        >>> Template([("solve x^", False), ("#", True), (" - ", False), ("#", True), ("x for ", False),
        ...           ("…", True)]).text()
        'solve x^⟨#⟩ - ⟨#⟩x for ⟨…⟩'
        >>> Template([("say ", False), ("…", True), ("\\u202e!", False)]).text()
        'say ⟨…⟩⟨U+202E⟩!'

        Constant text that reads as a slot has its mark spelled (a prompt's own "⟨…⟩" is no slot):

        >>> Template([("fill ⟨…⟩ about ", False), ("…", True)]).text()
        'fill ⟨U+27E8⟩…⟩ about ⟨…⟩'
        """
        def constant(text: str) -> str:
            text = spell(text)
            for slot in SLOT_MEANINGS:
                text = text.replace(f"{open_mark}{slot}{close_mark}",
                                    f"⟨U+{ord(open_mark[0]):04X}⟩{open_mark[1:]}{slot}{close_mark}") if open_mark else text
            return text
        return "".join(f"{open_mark}{t}{close_mark}" if var else constant(t) for t, var in self.parts)


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
        spelling and an example. Optional: without them each chain of
        shingles is a template of its own (at most ``max_templates``).
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
    are the template's words; a follower holding less than 60% of them is
    read again for a template of its own, and a word some remaining follower
    does not write where the example does is a slot: constant text is what
    every follower writes. An example less than 60% of whose template words
    (its phrases', the common opening and ending) are constant text writes
    another template than its followers share: it is read again, and the
    template built from the next example. It is shown in the example's original spelling with the
    text between and around its words as the followers wrote it (numbers
    marked ``#`` where they differ: detection normalised them to ``0``;
    :func:`graphlink.views.template_parts.written_parts`); each run of other
    words is one variable part. The remaining prompts yield the next template;
    a template all of whose prompts follow another's (its constant text in
    order, anything in its slots: :func:`graphlink.views.template_parts.merge_variants`)
    is that template's variant, its prompts counted there, and not listed again.
    Without prompts, shingles overlapping by ``ngram - 1`` words are chained
    (the overlap assembly of sequence reads; not through a crossing,
    :func:`graphlink.views.template_phrases.chain_shingles`), each chain a template. A template is found by
    its phrases: one whose constant text holds no run of ``ngram`` words (``"⟨…⟩ please answer now quickly"``, 4
    at the default 5) shares no shingle and is not found, as detection does not link by it; one of ``ngram``
    words is. Words every follower of
    a template starts or ends with are template text too (a template's tail
    after its last variable part is shorter than a shingle).

    Examples
    --------
    >>> prompts = [("a1", "Think step by step about cats, then answer question 12."),
    ...            ("a2", "Think step by step about dogs, then answer question 7."),
    ...            ("a3", "Think step by step about the weather, then answer question 3.")]
    >>> [t.text() for t in reconstruct_templates(prompts=prompts, ngram=3)]
    ['Think step by step about ⟨…⟩, then answer question ⟨#⟩.']
    """
    if isinstance(prompts, pl.DataFrame):
        prompts = list(prompts.select("account_id", "prompt").drop_nulls().iter_rows())
    prompts = [(str(a), str(p)) for a, p in prompts if p]
    # Evidence quotes shingles as written in one prompt (case, digits): compare them as tokenised.
    # Words keyed as detection compares them: copies spelled with controls, accents or look-alikes read alike.
    texts = list(dict.fromkeys([*(s for s in shingles if s), *(p for _, p in prompts)]))
    tokens = dict(zip(texts, keyed_tokens(texts)))
    words_of = [tuple(w for w, _, _ in tokens[s]) for s in shingles if s]
    words_of = [w for w in words_of if len(w) >= 2]
    if prompts:
        words_of += frequent_shingles(prompts, ngram, min_share, tokens)
    chains = chain_shingles(words_of)
    if not chains:
        return []
    if not prompts:
        # Each chain of phrases its own template: the phrases say nothing of which chains one template's slots part,
        # and a cluster's several templates read as one line of five (new-user review nu42, a redacted view)
        return [Template(parts=chain_parts([chain], join_words)) for chain in chains[:max_templates]]
    known = {tuple(w) for w in words_of if len(w) == ngram}
    located = []
    for account, text in prompts:
        words = [w for w, _, _ in tokens[text]]
        hits: dict[tuple[str, ...], int] = {}
        for i in range(len(words) - ngram + 1):
            gram = tuple(words[i:i + ngram])
            if gram in known and gram not in hits:
                hits[gram] = i
        if hits:
            located.append((account, text, tokens[text], hits))
    joined = {id(item): _run_together(item[2]) for item in located}
    templates = []
    built: list[list] = []  # each template's [example, followers, alignments, constant] (merge_variants)
    remaining = located
    # Built most phrases first, kept most accounts first: the cut comes after the sort, so a short template most
    # members send is not dropped for longer ones fewer send (break-it review, session 40). Bounded for long samples.
    passed: list = []  # examples whose own template is not the one their followers share (below)
    read_behind: dict[tuple, tuple[list, list, list]] = {}
    owners: list[set[str]] = []  # each template's accounts
    while remaining and len(templates) + len(built) < 10 * max_templates:
        # The example: the prompt with most template phrases (ties: fewer words written run together -- a copy
        # writing "Youareameticulous" is shorter but unreadable beside the spaced ones, new-user review nu43 --, then
        # shorter text, then text).
        best = min([item for item in remaining if all(item is not p for p in passed)] or remaining,
                   key=lambda item: (-len(item[3]), joined[id(item)], len(item[1]), item[1]))
        grams = set(best[3])
        # Followers: prompts at least half of whose template phrases are the example's.
        followers = [item for item in remaining if 2 * len(grams & set(item[3])) >= len(item[3])]
        if len({f[0] for f in followers}) >= 2:
            # Constant text is what most followers share: a phrase with a varying word
            # ("question 0 about delta") frequent in the sample is not template text.
            need = 0.6 * len(followers)
            grams = {g for g in grams if sum(g in f[3] for f in followers) >= need} or grams
        spans = [(best[3][g], ngram) for g in grams]
        head = tail = 0
        if len({f[0] for f in followers}) >= 2:  # words every follower starts or ends with are template text too
            word_lists = [[w for w, _, _ in f[2]] for f in followers]
            head, tail = common_prefix(word_lists), common_prefix([w[::-1] for w in word_lists])
            # A long head most followers open with (a framework's system prompt): each template written behind it.
            opens = [common_prefix([word_lists[followers.index(best)], w]) for w in word_lists]
            # The head most (60%) open with, else the one all open with: a fleet of most of them opens its own
            # template alike too, and behind the head most share only its opening's fill followed.
            for shared in dict.fromkeys([sorted(opens, reverse=True)[int(np.ceil(0.6 * len(opens))) - 1], head]):
                headed = [f for f, n in zip(followers, opens) if n >= shared]
                key = (shared, *sorted(id(f) for f in headed))  # a passed example (below) leaves the next this head
                if key not in read_behind:
                    read_behind[key] = _behind_head(shingles, headed, shared, ngram, min_share, max_templates)
                behind, sent, who = read_behind[key]
                if behind:
                    break
            if behind:  # the head's other followers (its users' own requests) are read again: the head and ⟨…⟩
                templates += behind
                owners += who
                remaining = [item for item in remaining if all(item is not f for f in sent)]
                continue
            spans += [(0, head), (len(best[2]) - tail, tail)]
        constant = np.zeros(len(best[2]), dtype=bool)
        for start, length in spans:
            constant[start:start + length] = True
        # Each follower's words aligned to the example's (the example first: its spacing is shown), so the text
        # around them reads as they all wrote it.
        ordered = ordered_all = [best, *(f for f in followers if f is not best)]
        aligned = [align_follower(best[3], f[3], sorted(grams), ngram, (len(best[2]), len(f[2])), head, tail)
                   for f in ordered]
        # Constant text is only what every follower holds: a prompt holding most of it (60%) follows the template
        # and a word some such follower does not write where the example does is a slot ("=HYPERLINK(...)",
        # "-2+3", "=1+1" opening one template read "⟨#⟩+⟨#⟩" as its constant opening when 3 of its 5 openings
        # tokenise to "0 0"; new-user review, session 41); a prompt holding less is read again for a template of
        # its own (two openings of one shared tail are two templates, not one ⟨…⟩ and the tail).
        words = np.flatnonzero(constant)
        holds = [sum(int(k) in fm for k in words) >= 0.6 * len(words) for fm in aligned]
        holds[0] = True
        followers = [f for f, keep in zip(ordered, holds) if keep]
        ordered, aligned = followers, [fm for fm, keep in zip(aligned, holds) if keep]
        for k in words:
            constant[k] = all(int(k) in fm for fm in aligned)
        # The example belongs to the template whose words it shares most, as a template is merged into another only
        # when most (60%) of its words are the other's (merge_variants): when the constant text is less of the
        # example's template words (its phrases', the common opening and ending), its followers' template is
        # built from another example and it is read again ("⟨…⟩ please answer now quickly" took in the three
        # "Translate ...: ⟨…⟩ please answer now quickly" prompts whose example was one of theirs; break-it review,
        # session 41).
        own = constant.copy()
        for start, length in [*spans, *((i, ngram) for i in best[3].values())]:
            own[start:start + length] = True
        if constant.sum() < SHARE * own.sum() and len(passed) < len(remaining) - 1:
            passed += [f for f in ordered_all if f[3].keys() == best[3].keys()]  # the same example again: passed too
            continue
        passed = []
        built.append([best, ordered, aligned, constant.tolist()])
        remaining = [item for item in remaining if all(item is not f for f in followers)]
    for best, ordered, aligned, constant in merge_variants(built):
        templates.append(Template(parts=written_parts(best[1], best[2], constant,
                                                      [(f[1], f[2], fm) for f, fm in zip(ordered, aligned)]),
                                  example=best[1], prompts=len(ordered), accounts=len({f[0] for f in ordered})))
        owners.append({f[0] for f in ordered})
    templates = _each_once(templates, owners)
    return sorted(templates, key=lambda t: (-t.accounts, -t.prompts, t.raw_text()))[:max_templates]


def _run_together(tokens: list[tuple[str, int, int]]) -> int:
    """Words of ``tokens`` read on the span of the word before (a run or CamelCase word read as several)."""
    return sum(1 for i in range(1, len(tokens)) if tokens[i][1] == tokens[i - 1][1])


def _each_once(templates: list[Template], owners: list[set[str]]) -> list[Template]:
    """Templates reading alike (the same parts) listed once, their prompts and accounts (``owners``) together: a
    template found behind a shared head and the same template built from prompts the head's reading did not take
    were listed twice ("<head> If ⟨#⟩ workers build a wall ... ⟨…⟩", 8 and 4 accounts)."""
    once: dict[str, tuple[Template, set[str]]] = {}
    for t, who in zip(templates, owners):
        if t.raw_text() in once:
            kept, accounts = once[t.raw_text()]
            big = kept if kept.prompts >= t.prompts else t
            t, who = Template(parts=big.parts, example=big.raw_example, prompts=kept.prompts + t.prompts,
                              accounts=len(accounts | who)), accounts | who
        once[t.raw_text()] = (t, who)
    return [t for t, _ in once.values()]


#: Words a template's followers must all open with for the rest to be read as templates of their own: a shared head
#: (an agent framework's system prompt, a company wrapper), as detect reads past one (16 of 64 words kept,
#: :mod:`graphlink.stages.signals.shared_heads`).
SHARED_HEAD_WORDS = 16
#: Words of constant text a template behind such a head needs (a passage: 8 shingles of 5 words, as
#: ``template_share`` counts one); less is a template's own variable tail ("What is the final value?").
PASSAGE_WORDS = 12


def _behind_head(shingles: Sequence[str], followers: list, head: int, ngram: int, min_share: float,
                 most: int) -> tuple[list[Template], list, list[set[str]]]:
    """The templates written behind a head of ``head`` words all ``followers`` open with, the head in front of
    each, the followers sending one of them and each template's accounts (``[], [], []`` when the head is short or
    no template follows it directly: then ``head ⟨…⟩`` says it all).

    Behind a framework's system prompt every fleet writes its own template; read as one template, the head
    makes every prompt a follower and each fleet's template varies (``⟨…⟩``). So the text after the head is
    read as prompts of their own, and each template found there that opens right where the head ends and
    holds a passage (:data:`PASSAGE_WORDS` constant words or more), sent by as large a share of the head's
    accounts as template text needs (``min_share``, two accounts or more), is shown after the head: a question a few
    of the head's users happen to share is their own request, not a template of its own (the head was listed twice,
    ``head ⟨…⟩`` and, for 2 of its 20 accounts, ``head If ⟨#⟩ workers build a wall ...``). A template's own fill
    after a long constant opening is no such template: it opens with the fill's own words."""
    if head < SHARED_HEAD_WORDS or most <= 0:
        return [], [], []
    full: dict[str, str] = {}
    rest = []
    for account, text, tokens, _ in followers:
        if len(tokens) > head:
            rest.append((account, text[tokens[head][1]:]))
            full.setdefault(rest[-1][1], text)
    need = max(2, int(np.ceil(min_share * len({f[0] for f in followers}))))
    # Cut to ``most`` after keeping those with a passage: the users' short "User: ⟨…⟩" templates hid a fleet's.
    found = [t for t in reconstruct_templates(shingles, rest, ngram=ngram, min_share=min_share,
                                              max_templates=10 * most)
             if t.accounts >= need and not t.parts[0][1]
             and sum(len(tokenise(p)) for p, variable in t.parts if not variable) >= PASSAGE_WORDS][:most]
    opening = [[w for w, _, _ in tok] for tok in keyed_tokens([t.parts[0][0] for t in found])]
    each = [[f for f in followers if len(f[2]) > head and [w for w, _, _ in f[2][head:head + len(o)]] == o]
            for o in opening]
    sent = list({id(f): f for one in each for f in one}.values())
    same = {k: k for k in range(head)}
    cut = [(text[:tokens[head][1] if len(tokens) > head else len(text)], tokens[:head], same)
           for _, text, tokens, _ in followers]
    parts = written_parts(cut[0][0], cut[0][1], [True] * head, cut)
    return [Template(parts=parts + t.parts, example=full.get(t.raw_example or ""), prompts=t.prompts,
                     accounts=t.accounts) for t in found], sent, [{f[0] for f in one} for one in each]
