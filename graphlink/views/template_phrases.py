"""Template phrases of a cluster's prompts: the shingles a sample shares, chained into runs of words, and the words
prompts open with alike -- the pieces :func:`graphlink.views.templates.reconstruct_templates` builds templates from
(moved out of :mod:`graphlink.views.templates`, which neared the module size limit; session 42)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["chain_shingles", "frequent_shingles", "common_prefix"]


def chain_shingles(shingles: Sequence[Sequence[str]]) -> list[list[str]]:
    """Merge shingles overlapping by all but one word into maximal word chains (deterministic).

    A chain does not go through a crossing, words several shingles end with and several others begin with (two
    templates sharing a clause one word shorter than a shingle): which opening goes on to which ending is not known,
    and a chain read across it was a template no one sends (as :func:`graphlink.stages.evidence.prompt_templates`
    reads them; helper ev43).

    >>> [" ".join(c) for c in chain_shingles([s.split() for s in ("a x y z", "x y z b", "c x y z", "x y z d")])]
    ['a x y z', 'c x y z', 'x y z b', 'x y z d']
    """
    unique = sorted({tuple(s) for s in shingles if s})
    if not unique:
        return []
    by_prefix: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    by_suffix: dict[tuple[str, ...], int] = {}
    for s in unique:
        by_prefix.setdefault(s[:-1], []).append(s)
        by_suffix[s[1:]] = by_suffix.get(s[1:], 0) + 1
    crossings = {key for key, outs in by_prefix.items() if len(outs) > 1 and by_suffix.get(key, 0) > 1}
    used: set[tuple[str, ...]] = set()
    chains = []
    # Chain heads first (nothing ends where they begin, or a crossing does), then any leftover
    starts = [s for s in unique if s[:-1] not in by_suffix or s[:-1] in crossings] + unique
    for start in starts:
        if start in used:
            continue
        chain = list(start)
        used.add(start)
        current = start
        while current[1:] not in crossings:
            nxt = [s for s in by_prefix.get(current[1:], []) if s not in used]
            if not nxt:
                break
            current = nxt[0]
            used.add(current)
            chain.append(current[-1])
        chains.append(chain)
    return sorted(chains, key=lambda c: (-len(c), c))


def frequent_shingles(prompts: Sequence[tuple[str, str]], ngram: int, min_share: float,
                      tokens: dict[str, list[tuple[str, int, int]]]) -> list[tuple[str, ...]]:
    """Shingles found in the prompts of at least ``min_share`` of the sampled accounts (at least 2); ``tokens``: each
    prompt's :func:`graphlink.views.tokens.keyed_tokens`."""
    owners: dict[tuple[str, ...], set[str]] = {}
    accounts = set()
    for account, text in prompts:
        accounts.add(account)
        words = [w for w, _, _ in tokens[text]]
        for i in range(len(words) - ngram + 1):
            owners.setdefault(tuple(words[i:i + ngram]), set()).add(account)
    need = max(2, int(np.ceil(min_share * len(accounts))))
    return [s for s, who in owners.items() if len(who) >= need]


def common_prefix(word_lists: list[list[str]]) -> int:
    """Length of the longest common prefix of word lists."""
    shortest = min(len(w) for w in word_lists)
    for i in range(shortest):
        if len({w[i] for w in word_lists}) > 1:
            return i
    return shortest
