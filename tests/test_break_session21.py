"""Break-it review of branch voice21b (session 21): ``operator_ties`` with tied cells leading ties and the
operator's template backing a card contact. Seven of these failed on the branch's first version (one shingle,
an address or a two-holder phrase backed a contact; a duplicated loud id doubled holdings) and pass since the
template must be five or more prompt phrases and loud ids are made unique; an eighth (clusters in no
campaign taken as one campaign, on main too) passes since each such cluster is a campaign of its own.

Every input is hand-built and tiny: clusters of a few accounts (one campaign per cluster unless said),
values of kind ``payment`` (a card), ``prompt`` (a text shingle) or ``ip``, and unclustered outsiders.
Cluster 1 is the loud ring unless said. The right answer is what a reviewer expects of a ring's flag:
it spreads along what the operator reuses, never to a household merely because the ring paid once with
its card.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import OPERATOR_ROUNDS, operator_ties

class World:
    """Clusters ``{cluster_id: size}`` (campaign = cluster id unless given), outsiders, and values."""

    def __init__(self, sizes: dict[int, int], campaigns: dict[int, int | None] | None = None, outsiders: int = 0):
        self.acc, start = {}, 0
        for cid, size in sizes.items():
            self.acc[cid] = list(range(start, start + size))
            start += size
        self.out = list(range(start, start + outsiders))
        self.campaigns = {c: c for c in sizes} | (campaigns or {})
        self.values: list[tuple[list[int], str]] = []

    def add(self, kind: str, *groups: list[int], copies: int = 1) -> "World":
        members = sorted({a for g in groups for a in g})
        self.values += [(members, kind)] * copies
        return self

    def frames(self):
        rows = [(a, s, kind) for s, (members, kind) in enumerate(self.values) for a in members]
        aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "kind": pl.String},
                           orient="row")
        signals = (aff.group_by("signal_idx").agg(pl.col("kind").first(), pl.len().cast(pl.UInt32).alias("df"))
                   .with_columns(pl.lit(True).alias("linked")).sort("signal_idx"))
        partition = pl.DataFrame({"account_idx": [a for c in self.acc for a in self.acc[c]] + self.out,
                                  "cluster_id": [c for c in self.acc for _ in self.acc[c]] + [None] * len(self.out)},
                                 schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        campaign_of = pl.DataFrame({"cluster_id": list(self.acc), "campaign_id": [self.campaigns[c] for c in self.acc]},
                                   schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
        return campaign_of, partition, aff.select("account_idx", "signal_idx"), signals

    def tied(self, loud=(1,), rounds: int = OPERATOR_ROUNDS) -> dict[int, int]:
        loud = loud if isinstance(loud, pl.Series) else pl.Series(list(loud), dtype=pl.Int64)
        out = operator_ties(*self.frames(), loud, rounds=rounds)
        assert out.columns == ["cluster_id", "lead", "ties", "cards", "texts", "addresses", "values", "cell", "other_cards", "others"]
        return dict(out.select("cluster_id", "lead").iter_rows())


def household(extra_shingle_outsiders: int | None = 8, kind: str = "prompt") -> World:
    """Ring 1 (20 accounts); household 2 (3): a card of members 0-1 that one ring account also paid with;
    member 0 writes one shingle held by 12 ring accounts (and ``extra_shingle_outsiders`` outsiders)."""
    w = World({1: 20, 2: 3}, outsiders=20)
    r, h = w.acc[1], w.acc[2]
    w.add("prompt", r, copies=5)                           # the ring's own template
    w.add("payment", h[:2], r[:1])                         # stolen card: one ring payment
    if extra_shingle_outsiders is not None:
        w.add(kind, r[:12], h[:1], w.out[:extra_shingle_outsiders])
    return w


# --- the stolen card and the ring's common phrasing -------------------------------------------------


def test_stolen_card_alone_is_a_contact():
    """A household whose card one ring account used once stays untied (held on both branches)."""
    assert household(None).tied() == {}


def test_household_writing_a_shingle_mostly_held_by_outsiders_stays_untied():
    """The card owner's shingle held mostly by outsiders (12 ring, 20 outsiders) backs nothing."""
    w = household(None)
    w.add("prompt", w.acc[1][:12], w.acc[2][:1], w.out[:20])
    assert w.tied() == {}


def test_stolen_card_owner_writing_a_common_shingle_the_ring_uses_heavily_stays_untied():
    """One stock shingle (12 ring accounts, 8 ordinary) written by the card's owner does not tie the household."""
    assert household(8).tied() == {}


def test_household_member_on_the_rings_exit_address_is_not_the_template():
    """An ip most of whose holders are the ring is no template: card contact + that exit leave the household untied."""
    assert household(0, kind="ip").tied() == {}


def test_a_phrase_two_people_share_is_no_template():
    """One ring account and the card's owner sharing a rare phrase (df 2), plus the card contact: untied."""
    w = household(None)
    w.add("prompt", w.acc[1][5:6], w.acc[2][:1])
    assert w.tied() == {}


def test_ordinary_team_whose_questions_start_like_the_fill_ins_stays_untied():
    """A team of 4 writing the ring's first template shingles (ring 20, team 4, outsiders 10) and no card: untied."""
    w = World({1: 20, 2: 4}, outsiders=10)
    w.add("prompt", w.acc[1], w.acc[2], w.out[:10], copies=2)
    w.add("prompt", w.acc[1], copies=3)
    assert w.tied() == {}


def test_two_rings_do_not_pool_their_share_of_a_stock_phrase():
    """Rings 1 and 2 each hold 6 of 23 holders of a phrase: it is neither's template, so ring 1's contact stays one."""
    w = World({1: 10, 2: 10, 3: 3}, outsiders=10)
    a, b, h = w.acc[1], w.acc[2], w.acc[3]
    w.add("payment", h[:2], a[:1])
    w.add("prompt", a[:6], b[:6], w.out, h[:1])
    assert w.tied(loud=(1, 2)) == {}


def test_two_rings_one_account_each_on_a_card_sold_twice():
    """One account of each of two rings paying with a household's card is two contacts, not reuse."""
    w = World({1: 10, 2: 10, 3: 3})
    w.add("payment", w.acc[3][:2], w.acc[1][:1], w.acc[2][:1])
    assert w.tied(loud=(1, 2)) == {}


# --- tied cells leading ties ---------------------------------------------------------------------------


def tame_chain() -> World:
    """Ring 1 (10); cell 2 (4) pays with a card two ring accounts use (tied in round 1)."""
    w = World({1: 10, 2: 4, 3: 4, 4: 3, 5: 3}, outsiders=20)
    w.add("prompt", w.acc[1], copies=5)
    w.add("payment", w.acc[2], w.acc[1][:2])
    return w


def test_card_reused_by_two_accounts_of_a_tied_cell_ties_the_next_cell():
    """The intended change: a card two members of tied cell 2 use, held by cell 3, ties 3 with lead 1."""
    w = tame_chain()
    w.add("payment", w.acc[3], w.acc[2][:2])
    assert w.tied() == {2: 1, 3: 1}
    assert w.tied(rounds=1) == {2: 1}  # one round: only the loud cluster leads


def test_one_payment_by_a_tied_cell_on_an_office_card_is_a_contact():
    """An office (3) whose card one member of tied cell 2 used once, writing nothing of the ring's: untied."""
    w = tame_chain()
    w.add("payment", w.acc[3][:3], w.acc[2][:1])
    w.add("prompt", w.acc[3], w.out[:15], copies=5)  # the office's ordinary phrasing
    assert w.tied() == {2: 1}


def test_contacts_through_two_tied_cells_in_two_campaigns_stay_contacts():
    """A household card used once by tied cell 2 and once by tied cell 3 (two campaigns): untied."""
    w = tame_chain()
    w.add("payment", w.acc[3], w.acc[1][2:4])              # cell 3 also tied in round 1
    w.add("payment", w.acc[4][:2], w.acc[2][:1], w.acc[3][:1])
    assert w.tied() == {2: 1, 3: 1}


def test_a_household_found_by_a_contact_does_not_lead_its_relatives():
    """Household 4 (stolen card + one stock shingle) and relatives 5 sharing 4's card both stay untied."""
    w = tame_chain()
    r, h, rel = w.acc[1], w.acc[4], w.acc[5]
    w.add("payment", h[:2], r[5:6])                        # stolen card, one ring payment
    w.add("prompt", r[:8], h[:1], w.out[:6])               # a stock shingle the ring writes heavily
    w.add("payment", h, rel[:2])                           # the family card, held by both households
    assert w.tied() == {2: 1}


def test_benign_cluster_with_a_round1_cells_card_and_a_stock_phrase():
    """An office (3) whose card one member of tied cell 2 used, writing a phrase the ring uses heavily: untied."""
    w = tame_chain()
    w.add("payment", w.acc[3][:3], w.acc[2][:1])
    w.add("prompt", w.acc[1], w.acc[3][:1], w.out[:8])     # ring 10 of 19 holders
    assert w.tied() == {2: 1}


def test_value_held_only_by_found_clusters_ties_with_the_loud_lead():
    """A card only tied cell 2 (2 members) and cell 3 hold ties 3, naming loud 1 as its lead."""
    w = tame_chain()
    w.add("payment", w.acc[2][2:], w.acc[3][:2])
    assert w.tied() == {2: 1, 3: 1}


def test_found_cell_keeps_its_lead_when_two_rings_reach_it():
    """Cells tied to ring 1 and ring 6 name the loud cluster of the card they share (by size)."""
    w = World({1: 10, 2: 4, 3: 4, 6: 10})
    w.add("payment", w.acc[2], w.acc[1][:2])
    w.add("payment", w.acc[3], w.acc[6][:3])
    assert w.tied(loud=(1, 6)) == {2: 1, 3: 6}


# --- degenerate inputs ---------------------------------------------------------------------------------


def test_no_loud_clusters():
    """An empty ``loud`` (typed or untyped) ties nothing."""
    w = tame_chain()
    assert w.tied(loud=pl.Series([], dtype=pl.Int64)) == {}
    assert w.tied(loud=pl.Series([])) == {}


def test_loud_clusters_holding_nothing():
    """A loud cluster with no values, or one not in the partition, ties nothing."""
    w = World({1: 5, 2: 4}, outsiders=3)
    w.add("payment", w.acc[2], w.out[:1])
    assert w.tied() == {}
    assert w.tied(loud=(99,)) == {}


def test_null_in_loud_is_ignored():
    """A null among the loud ids changes nothing."""
    w = tame_chain()
    assert w.tied(loud=pl.Series([1, None], dtype=pl.Int64)) == {2: 1}


def test_duplicated_loud_id_does_not_turn_a_contact_into_reuse():
    """``loud`` listing cluster 1 twice gives the same answer as listing it once (stolen card: untied)."""
    assert household(None).tied(loud=(1, 1)) == {}


def test_rounds_zero_and_one_run_one_round():
    """rounds=0 runs one round like rounds=1."""
    w = tame_chain()
    w.add("payment", w.acc[3], w.acc[2][:2])
    assert w.tied(rounds=0) == w.tied(rounds=1) == {2: 1}


def test_null_campaign_clusters_are_not_one_campaign():
    """Two ring clusters without a campaign each paying once with a household card: two contacts, untied."""
    w = World({1: 10, 2: 10, 3: 3}, campaigns={1: None, 2: None})
    w.add("payment", w.acc[3][:2], w.acc[1][:1], w.acc[2][:1])
    assert w.tied(loud=(1, 2)) == {}
