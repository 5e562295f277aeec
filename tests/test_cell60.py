"""Bound blocks (:mod:`graphlink.stages.bound_blocks`): a network or card held by the whole of a cell -- nearly all
its holders in the log flagged members of one campaign, the majority's value in each flagged cluster it lies on,
those clusters holding most of its holders -- gathers the cell's pieces after the judgement; a relay's or carrier's
/48 of strangers and families, an operator's shared pool sprinkled over its cells, another campaign's pieces and
unflagged clusters stay as they are, and no flag moves.

Hand-built tables as the scoring stage holds them once every cluster is judged: a partition, the clusters' flags and
campaigns, the clustered accounts' memberships (``account_idx, signal_idx``) and the values (``signal_idx, kind,
df``: ``df`` counts every holder in the log, clustered or not).
"""

from __future__ import annotations

import math

import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.bound_blocks import BLOCK, DENSE, MAJORITY, bound_moves
from tests._worlds import planted_world


class Log:
    """Accounts numbered as added, the values they hold (with kinds), clusters, flags and campaigns."""

    def __init__(self) -> None:
        self.held: list[tuple[int, int]] = []
        self.kind: dict[int, str] = {}
        self.cluster: dict[int, int | None] = {}
        self.judged: dict[int, tuple[bool, int | None]] = {}
        self.next_account = 0

    def value(self, kind: str) -> int:
        """A fresh value of ``kind``."""
        v = len(self.kind)
        self.kind[v] = kind
        return v

    def accounts(self, n: int, cluster: int | None, flagged: bool = True, campaign: int | None = 1) -> list[int]:
        """``n`` accounts in ``cluster`` (None: in no cluster), judged ``flagged`` in ``campaign``."""
        ids = list(range(self.next_account, self.next_account + n))
        self.next_account += n
        self.cluster.update({a: cluster for a in ids})
        if cluster is not None:
            self.judged[cluster] = (flagged, campaign)
        return ids

    def hold(self, accounts: list[int], value: int) -> None:
        self.held += [(a, value) for a in accounts]

    def card_groups(self, accounts: list[int], per_card: int) -> None:
        """The accounts pay in groups of ``per_card`` on cards of their own (what Leiden cuts along)."""
        for i in range(0, len(accounts), per_card):
            self.hold(accounts[i:i + per_card], self.value("payment"))

    def tables(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``clusters, partition, affiliations, signals`` (affiliations of clustered accounts only, as the stage has them)."""
        part = pl.DataFrame({"account_idx": list(self.cluster), "cluster_id": list(self.cluster.values())},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        cl = pl.DataFrame({"cluster_id": list(self.judged), "flagged": [f for f, _ in self.judged.values()],
                           "campaign_id": [c for _, c in self.judged.values()]},
                          schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64})
        held = pl.DataFrame(self.held, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row").unique()
        kinds = pl.DataFrame({"signal_idx": list(self.kind), "kind": list(self.kind.values())}, schema={"signal_idx": pl.UInt32, "kind": pl.String})
        sig = held.group_by("signal_idx").agg(pl.len().cast(pl.Int64).alias("df")).join(kinds, on="signal_idx")
        aff = held.join(part.drop_nulls("cluster_id"), on="account_idx", how="semi")
        return cl, part, aff, sig


def clusters_after(log: Log, min_size: int = 3, wider_than: int = 2) -> dict[int, int]:
    """``{account: cluster}`` for the clustered accounts once the moves are made."""
    cl, part, aff, sig = log.tables()
    moves = bound_moves(cl, part, aff, sig, min_size, wider_than)
    after = part.join(moves, on="account_idx", how="left").select("account_idx", pl.coalesce("to", "cluster_id").alias("c"))
    return dict(after.drop_nulls("c").iter_rows())


def rented_cell(log: Log, pieces: tuple[int, ...], first: int = 1, campaign: int = 1, kind: str = "ip_net") -> list[int]:
    """A cell on one network of its own (a rented /48), cut by Leiden along its card groups into ``pieces``."""
    net = log.value(kind)
    out = []
    for i, n in enumerate(pieces):
        members = log.accounts(n, first + i, campaign=campaign)
        log.card_groups(members, 5)
        out += members
    log.hold(out, net)
    return out


def test_a_rented_48_of_card_groups_stays_one_cluster():
    log = Log()
    cell = rented_cell(log, (15, 13, 12, 10))
    after = clusters_after(log)
    assert {after[a] for a in cell} == {1}


def test_a_cell_on_one_card_of_its_own_gathers_too():
    # mixed1001's shape: a card held by the whole cell, far over clique_limit.
    log = Log()
    cell = rented_cell(log, (20, 18, 9), kind="payment")
    assert {clusters_after(log)[a] for a in cell} == {1}


def test_a_relay_48_of_strangers_does_not_become_one():
    # A privacy relay's /48: a ring's two flagged pieces use it, and so do 60 strangers (most in no cluster, some in
    # small unflagged clusters). The /48 is not the campaign's own: nothing moves.
    log = Log()
    relay = log.value("ip_net")
    ring = log.accounts(12, 1) + log.accounts(10, 2)
    log.card_groups(ring, 6)
    strangers = log.accounts(40, None) + log.accounts(4, 3, flagged=False, campaign=None) + log.accounts(4, 4, flagged=False, campaign=None)
    log.hold(ring + strangers, relay)
    after = clusters_after(log)
    assert [after[a] for a in ring] == [1] * 12 + [2] * 10


def test_a_carrier_48_of_families_does_not_become_one():
    # Ten families of four, each its own (unflagged) cluster on its own card, all behind one carrier's /48.
    log = Log()
    carrier = log.value("ip_net")
    families = [log.accounts(4, 10 + f, flagged=False, campaign=None) for f in range(10)]
    for fam in families:
        log.hold(fam, log.value("payment"))
        log.hold(fam, carrier)
    after = clusters_after(log)
    assert [after[fam[0]] for fam in families] == [10 + f for f in range(10)]
    # ... and flagged families (a campaign the judgement made of them) still stay: the carrier's /48 is theirs only
    # when nearly all its holders are that campaign's flagged members; 40 more customers in no cluster share it.
    log2 = Log()
    carrier = log2.value("ip_net")
    fams = [log2.accounts(4, 10 + f) for f in range(10)]
    log2.hold([a for fam in fams for a in fam] + log2.accounts(40, None), carrier)
    assert [clusters_after(log2)[fam[0]] for fam in fams] == [10 + f for f in range(10)]


def test_an_operators_pool_sprinkled_over_its_cells_binds_none():
    # Three sibling cells of one campaign draw on one pool of 12 /24s: each /24 held by a few members of each cell
    # (a minority of every cluster) -- no value is any cluster's majority's, so the siblings stay apart.
    log = Log()
    cells = [log.accounts(12, c) for c in (1, 2, 3)]
    nets = [log.value("ip_net") for _ in range(12)]
    for cell in cells:
        log.card_groups(cell, 12)
        for i, a in enumerate(cell):
            log.hold([a], nets[i % 12])
            log.hold([a], nets[(i + 5) % 12])
    after = clusters_after(log)
    assert [after[cell[0]] for cell in cells] == [1, 2, 3]


def test_majority_is_the_threshold_on_each_cluster():
    # A piece of 9 of which MAJORITY hold the /48 is bound (its holders move); one fewer and it is not.
    need = math.ceil(MAJORITY * 9 - 1e-9)
    for holders, moved in ((need, True), (need - 1, False)):
        log = Log()
        net = log.value("ip_net")
        big = log.accounts(20, 1)
        piece = log.accounts(9, 2)
        log.hold(big + piece[:holders], net)
        after = clusters_after(log)
        assert (after[piece[0]] == 1) is moved
        assert after[piece[-1]] == 2  # a member not holding it stays with its remnant (3 or more: a cluster)


def test_siblings_on_a_narrow_pool_are_no_dense_block():
    # Two sibling cells of one campaign rotate through a narrow pool of 4 addresses nobody else uses: each address is
    # held by whichever half of each cell drew it (a pool is many values over one account set, each partial) -- no
    # address binds (under MAJORITY in each cluster, under DENSE over both), so the siblings stay apart.
    log = Log()
    a, b = log.accounts(20, 1), log.accounts(20, 2)
    pool = [log.value("ip") for _ in range(4)]
    for cell in (a, b):
        for i, acct in enumerate(cell):
            log.hold([acct], pool[i % 4])
            log.hold([acct], pool[(i + 1) % 4])
    after = clusters_after(log)
    assert (after[a[0]], after[b[0]]) == (1, 2)


def test_dense_is_the_threshold_over_the_bound_clusters():
    # Three clusters of 12 each bound by most members (9 of 12 = 0.75 >= MAJORITY): 27 of 36 hold it (0.75 < DENSE),
    # no block; with 10 of 12 each (30 of 36 = 0.83 >= DENSE) they gather.
    for holders, moved in ((9, False), (10, True)):
        assert (holders / 12 >= DENSE) is moved and holders / 12 >= MAJORITY
        log = Log()
        net = log.value("ip_net")
        cells = [log.accounts(12, c) for c in (1, 2, 3)]
        log.hold([x for cell in cells for x in cell[:holders]], net)
        after = clusters_after(log)
        assert (after[cells[2][0]] == 1) is moved


def test_a_value_no_wider_than_the_clique_limit_binds_none():
    # The projection holds every pair of a value's holders up to clique_limit: Leiden saw that block whole.
    for wider_than, moved in ((9, False), (8, True)):
        log = Log()
        cell = rented_cell(log, (4, 3, 2))
        after = clusters_after(log, min_size=2, wider_than=wider_than)
        assert (after[cell[-1]] == 1) is moved


def test_a_value_mostly_sprinkled_outside_the_clusters_it_binds_binds_none():
    # The /48 is the majority's in two clusters of 6, but 20 more holders lie a few in each of ten other flagged
    # clusters of the campaign: the bound clusters hold 12 of 32 (< BLOCK), so it is no block.
    log = Log()
    net = log.value("ip_net")
    a, b = log.accounts(6, 1), log.accounts(6, 2)
    others = [log.accounts(10, 3 + i) for i in range(10)]
    log.hold(a + b + [o for grp in others for o in grp[:2]], net)
    assert 12 / 32 < BLOCK
    after = clusters_after(log)
    assert after[b[0]] == 2 and after[a[0]] == 1


def test_a_remnant_too_small_to_be_a_cluster_follows():
    # A piece of 6 of which 4 hold the block's /48: its 2 others would be a cluster under min_size (3), so they follow;
    # with min_size 2 they stay.
    for min_size, follow in ((3, True), (2, False)):
        log = Log()
        net = log.value("ip_net")
        big = log.accounts(20, 1)
        piece = log.accounts(6, 2)
        log.hold(big + piece[:4], net)
        after = clusters_after(log, min_size)
        assert after[piece[0]] == 1
        assert (after[piece[5]] == 1) is follow


def test_other_campaigns_and_unflagged_clusters_stay():
    log = Log()
    net = log.value("ip_net")
    own = log.accounts(20, 1)
    other = log.accounts(10, 2, campaign=2)
    quiet = log.accounts(10, 3, flagged=False, campaign=None)
    log.hold(own + other + quiet, net)
    after = clusters_after(log)
    assert (after[other[0]], after[quiet[0]]) == (2, 3)


def test_the_cluster_holding_most_gathers_whatever_its_id():
    log = Log()
    small = log.accounts(5, 1)
    large = log.accounts(25, 7)
    mid = log.accounts(10, 3)
    log.hold(small + large + mid, log.value("ip"))
    after = clusters_after(log)
    assert {after[a] for a in small + large + mid} == {7}


def test_on_by_default_and_on_moves_no_flag_or_campaign():
    assert ScoringConfig().bound_blocks  # on since session 61 (bb61: a split's parts are not gathered again)
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    off = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(bound_blocks=False)))
    on = graphlink.detect(events)

    def flags(r):
        return (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
                .select("account_id", pl.col("flagged").fill_null(False), "campaign_id").sort("account_id"))
    assert flags(on).equals(flags(off))
