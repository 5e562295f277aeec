"""How the account-value graph is weighted and projected: :class:`GraphConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphlink.config.checks import at_least, check, frozen_mapping, share
from graphlink.config.kinds import DEFAULT_CUSTOM_KIND, KindSpec, default_kinds
from graphlink.errors import ConfigError

__all__ = ["GraphConfig"]


@dataclass(frozen=True)
class GraphConfig:
    """How the account-signal graph is weighted and projected.

    Attributes
    ----------
    kinds : dict of str to KindSpec
        Per-kind weight, hub cap and strength (see :class:`KindSpec`).
    rarity_exponent : float
        A value shared by ``df`` accounts weighs ``kind_weight * (2 / df) **
        rarity_exponent`` per pair: 1 for a value two accounts share, never 0,
        independent of the log's size. 0.5 lies between Adamic-Adar's ``1 /
        log df`` (FRAUDAR's column weight, Hooi et al. KDD 2016), too flat to
        tell a NAT of a thousand people from a ring, and resource allocation's
        ``1 / df`` (Zhou et al. 2009), under which one card no longer holds a
        40-account fleet together.
    damping : float
        Rotation damping exponent: an account holding ``n`` values of a kind
        (median account ``r``) weighs ``min(1, r / n) ** damping`` on each. 0
        counts every shared value in full: a proxy pool is many values shared
        by one account set (dev seeds: cell ARI 0.85 at 0, 0.63 at 0.5).
    clique_limit : int
        A value shared by at most this many accounts links them all pairwise.
        Above it (and under the hub cap) its accounts are linked by a sparse
        random regular-like graph instead: each to ``sparse_degree`` pseudo-random
        others, weights scaled so every account keeps the strength the clique
        would have given it. Cost per value is then O(df * degree), not O(df**2).
    sparse_degree : int
        Neighbours per account in the sparse projection. 8 keeps the group an
        expander (Leiden still sees one dense block) at 1/4 of the pairs of a
        32-clique.
    co_timing_weight : float
        Weight of a pair that a template or a clock proposed and whose active
        minutes agree (:mod:`graphlink.stages.cotiming`); 0 turns co-timing off.
        3, a card two accounts share: the same minutes, spread over the hour,
        again and again, are private to the pair's script. Dev worlds (18, events
        only): 1 gave cell ARI 0.635, 3 gave 0.645.
    transient_share : float
        0 (default) is off. Above 0, a network (``ip_net``) whose median holder
        sends less than this share of its traffic there is *transient* (a
        rotating proxy network), and an exit of it two accounts share counts
        only for the excess over chance (:mod:`graphlink.stages.transient`).
        Off by default: measured on dev worlds only, no clear win (BENCHMARKS
        twelfth pass). 0.05: the commercial network's /24s carry a median 1% of
        their holders' traffic, homes, offices and NATs 60% (dev worlds).
    transient_min_shared : int
        With ``transient_share`` on, a pair must share at least this many
        transient exits to be linked by them at all. 2: dev independent worlds
        lose ARI by cell to pairs of different operators sharing one exit
        (mean 1.2 shared, 0.6 expected by chance), same-cell pairs share 3.4.
    transient_min_exits : int
        With ``transient_share`` on, a network counts as transient only when it
        holds at least this many shared exits (1: every network). 5 with
        ``transient_alpha``: the commercial network's /24s hold 8-11 on dev
        worlds, an operator's residential pool scattered one address a /24, 1-2.
    transient_alpha : float
        0 (default): the twelfth pass's rule. Above 0: the rented-network chance
        test (:mod:`graphlink.stages.transient`): every shared exit of those
        networks, cycles included, counts for a pair only when it shares more than
        accounts drawing exits by popularity would with probability ``alpha``.
        0.001 measured (BENCHMARKS, session 47 op47); opt-in: recall lost on dev t1, and dev
        independent 177/178's cells held by chance exits fall apart; letting pairs that send the same
        template keep their exits joins sibling cells instead, and the same template in the same hours
        still loses dev t1 recall and cells (BENCHMARKS, session 48 op48; branch op48-clock).
    transient_floor : float
        With ``transient_alpha``: the share of a chance pair's exit weight kept
        (the rest carries weak kinds only), and the weight of those networks'
        /24s. 0: chance pairs lose the exits. 0.1 measured.
    min_edge_weight : float
        Account pairs linked with less total weight are dropped.
    max_pairs : int
        Memory guard: if the projection would create more account pairs than
        this, popular values are first projected with fewer cycles, then the
        most popular stop linking (a lower hub cap, with a warning). The
        random-cycle projection peaked at 7.7 GiB for 20 million planned pairs
        on the campaign preset (about 380 bytes per planned pair), so the
        default of 12 million aims at the 6 GiB budget.
    graded_budget : bool
        False (default): past ``max_pairs`` every popular value's circulant is halved at once. True: whole
        popularity levels are thinned from the most popular down, only as far as the budget needs
        (:func:`graphlink.stages.linking.graded_thinning`), so a log just past the budget projects its
        less popular values as a log just under it does. Opt-in: measured on one dev log past the budget.
    """

    kinds: dict[str, KindSpec] = field(default_factory=default_kinds)
    rarity_exponent: float = 0.5
    damping: float = 0.0
    clique_limit: int = 32
    sparse_degree: int = 8
    co_timing_weight: float = 3.0
    transient_share: float = 0.0
    transient_min_shared: int = 2
    transient_min_exits: int = 1
    transient_alpha: float = 0.0
    transient_floor: float = 0.0
    min_edge_weight: float = 0.0
    max_pairs: int = 12_000_000
    graded_budget: bool = False

    def spec(self, kind: str) -> KindSpec:
        """Return the spec of ``kind`` (user-declared kinds get the custom default)."""
        return self.kinds.get(kind, DEFAULT_CUSTOM_KIND)

    def __post_init__(self) -> None:
        frozen_mapping(self, "kinds")
        for kind, spec in self.kinds.items():
            check(isinstance(spec, KindSpec), f"kinds[{kind!r}]: expected a KindSpec, got {spec!r}")
        at_least(self, 0, "min_edge_weight")
        at_least(self, 0, "co_timing_weight")
        at_least(self, 0, "max_pairs")
        at_least(self, 1, "transient_min_shared")
        at_least(self, 1, "transient_min_exits")
        share(self, "transient_alpha")
        share(self, "transient_floor")
        check(0 < self.rarity_exponent <= 2, f"rarity_exponent must be in (0, 2], got {self.rarity_exponent!r}")
        share(self, "damping", "transient_share")
        if self.clique_limit < 2:
            raise ConfigError("clique_limit must be at least 2")
        if self.sparse_degree < 1:
            raise ConfigError("sparse_degree must be at least 1")
        if self.clique_limit < 2 * self.sparse_degree:
            # Otherwise circulant offsets wrap around and count a pair twice.
            raise ConfigError("clique_limit must be at least twice sparse_degree")
