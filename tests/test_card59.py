"""Card campaigns with a second tie beside the cards (session 59, helper card59; :mod:`graphlink.stages.card_campaigns`).

Two operators buying one card dump share cards held across both of their wholes: every card test reads that as one
operator's pool (brk58's strict xfails until this session). The rule now also asks a tie the cards cannot make -- values
of :data:`~graphlink.stages.card_campaigns.OWN_KINDS` (addresses, client, clock) the flagged campaigns hold almost alone,
shared beyond chance (:func:`~graphlink.stages.card_campaigns.own_ties`), or the two wholes' private templates -- and
both wholes must carry it, as they carry the cards.

Hand-built frames: accounts numbered from 0, one row per account value, every cluster flagged, in a log of :data:`BIG`
accounts (dev 224k's size).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.card_campaigns import OWN_KINDS, card_campaigns, own_ties

#: Accounts in the log (chance's N).
BIG = 224_000


class Log:
    """Cells of accounts with their values, and each cell's campaign."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str]] = []
        self.members: dict[int, list[int]] = {}
        self.campaign: dict[int, int] = {}
        self.next = 0

    def cell(self, cluster: int, campaign: int, n: int, template: str, own_cards: bool = True) -> list[int]:
        """``n`` accounts of ``cluster`` in ``campaign``, each sending ``template``'s 12 values and (``own_cards``) paying
        two by two with the cell's own cards."""
        ids = list(range(self.next, self.next + n))
        self.next += n
        self.members[cluster], self.campaign[cluster] = ids, campaign
        for i, a in enumerate(ids):
            if own_cards:
                self.rows.append((a, "payment", f"card-{cluster}-{i // 2}"))
            self.rows += [(a, "prompt", f"{template}-{j}") for j in range(12)]
        return ids

    def hold(self, accounts: list[int], kind: str, value: str) -> None:
        """``accounts`` hold ``value`` of ``kind``."""
        self.rows += [(a, kind, value) for a in accounts]

    def ordinary(self, n: int, kind: str, value: str) -> None:
        """``n`` accounts in no cluster hold ``value`` of ``kind`` (a proxy exit, a stock agent)."""
        self.hold(list(range(self.next, self.next + n)), kind, value)
        self.next += n

    def frames(self) -> tuple[pl.DataFrame, ...]:
        rows = pl.DataFrame(self.rows, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String},
                            orient="row").unique()
        sig = (rows.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("kind", "value")
               .with_row_index("signal_idx")
               .with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(1.0).alias("weight"), (pl.col("df") >= 2).alias("linked")))
        aff = rows.join(sig.select("kind", "value", "signal_idx"), on=["kind", "value"]).select("account_idx", "signal_idx")
        part = pl.DataFrame([(a, c) for c, ids in self.members.items() for a in ids],
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
        cl = pl.DataFrame({"cluster_id": list(self.campaign), "flagged": [True] * len(self.campaign),
                           "campaign_id": list(self.campaign.values())},
                          schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64}).sort("cluster_id")
        return cl, part, aff, sig.select("signal_idx", "kind", "df", "weight", "linked")

    def moved(self, own: bool = True) -> dict[int, int]:
        """Each cluster's campaign after card campaigns."""
        cl, part, aff, sig = self.frames()
        out = card_campaigns(cl, part, aff, sig, n_accounts=BIG, own=own)
        return dict(out.select("cluster_id", "campaign_id").iter_rows())


def dump_world(piece_template: str = "B") -> tuple[Log, list[int], list[int]]:
    """Operator A: campaign 1, cells 1 (30) and 2 (20), template A. Campaign 2: cells 3 (8) and 4 (6), writing
    ``piece_template``, paying only with a dump of 7 cards that 14 of A's accounts (7 in each cell) pay with too, two by
    two. Returns the log, A's 50 accounts and campaign 2's 14."""
    log = Log()
    a = log.cell(1, 1, 30, "A") + log.cell(2, 1, 20, "A")
    b = log.cell(3, 2, 8, piece_template, own_cards=False) + log.cell(4, 2, 6, piece_template, own_cards=False)
    payers = a[:7] + a[30:37]
    for k in range(7):
        log.hold(b[2 * k:2 * k + 2], "payment", f"dump-{k}")
        log.hold(payers[2 * k:2 * k + 2], "payment", f"dump-{k}")
    return log, a, b


def share_pool(log: Log, a: list[int], b: list[int], kind: str, values: int, prefix: str) -> None:
    """``values`` values of ``kind``, each held by two of ``b`` and by two accounts of each of A's cells."""
    for k in range(values):
        log.hold(b[2 * k % len(b):2 * k % len(b) + 2] + a[2 * k:2 * k + 2] + a[30 + 2 * k:30 + 2 * k + 2], kind, f"{prefix}-{k}")


def test_a_dump_sold_to_two_operators_stays_apart_and_joined_by_the_cards_alone():
    # The cards alone (own=False, session 58's rule) join the dump's two buyers; beside the cards they share nothing.
    log, _, _ = dump_world()
    assert log.moved(own=False) == {1: 1, 2: 1, 3: 1, 4: 1}
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}


def test_the_operators_own_addresses_beside_the_cards_join_a_piece_writing_another_template():
    # The same cards, and 4 residential exits no one else uses, held across both of A's cells and by the piece: one
    # operator's piece (its cards and its address pool), though it writes another template.
    log, a, b = dump_world()
    share_pool(log, a, b, "ip_net", 4, "resi")
    assert log.moved() == {1: 1, 2: 1, 3: 1, 4: 1}


def test_a_proxy_exit_ordinary_users_share_is_no_second_tie():
    # The same 4 exits used by 40 ordinary accounts each (a commercial proxy network's): public, they tie no one.
    log, a, b = dump_world()
    share_pool(log, a, b, "ip_net", 4, "resi")
    for k in range(4):
        log.ordinary(40, "ip_net", f"resi-{k}")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}


def test_a_stock_client_agent_is_no_second_tie_but_the_operators_own_client_is():
    # A client user agent every ring and many ordinary scripts send (requests) ties no one; one only these accounts
    # send (the operator's own build), held across both wholes, ties them.
    log, a, b = dump_world()
    log.hold(a + b, "user_agent", "python-requests/2.31")
    log.ordinary(500, "user_agent", "python-requests/2.31")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}
    share_pool(log, a, b, "user_agent", 3, "opclient")
    assert log.moved() == {1: 1, 2: 1, 3: 1, 4: 1}


def test_the_second_tie_must_be_carried_by_most_of_the_target():
    # The piece's exits are held in campaign 1 only by cell 2 (20 of 50): a minority of the target -- another operator's
    # cells the grouping put there would look the same -- carries no second tie.
    log, a, b = dump_world()
    for k in range(4):
        log.hold(b[2 * k:2 * k + 2] + a[30 + 2 * k:30 + 2 * k + 2], "ip_net", f"resi-{k}")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}
    for k in range(4):  # held by cell 1 too: carried
        log.hold(a[2 * k:2 * k + 2], "ip_net", f"resi-{k}")
    assert log.moved() == {1: 1, 2: 1, 3: 1, 4: 1}


def test_a_template_is_no_second_tie_but_the_operators_clock_is():
    # The piece writes A's template (held by no one else): operators share templates as they share cards (a kit sold
    # like a dump), so it stays. Active in the same minutes as both of A's cells (3 activity bands no one else holds):
    # one operator's clock, and it joins.
    log, a, b = dump_world(piece_template="A")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}
    share_pool(log, a, b, "timing", 3, "band")
    assert log.moved() == {1: 1, 2: 1, 3: 1, 4: 1}


def test_a_single_exit_is_no_address_tie():
    # Exits (kind ip) held by the two wholes alone are not asked: one exit a ring account on each side uses and no one
    # else is often a commercial proxy exit whose other users the log never saw; the block is asked (the test above).
    assert "ip" not in OWN_KINDS and "ip_net" in OWN_KINDS
    log, a, b = dump_world()
    share_pool(log, a, b, "ip", 4, "exit")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}


def test_own_ties_weigh_holders_and_chance():
    # own_ties alone: 3 address blocks shared by campaigns 1 and 2 no one else holds tie them; one shared block is
    # chance's in a log of 300 accounts, most of them flagged; the cards never count.
    assert "payment" not in OWN_KINDS
    wh = pl.DataFrame({"account_idx": list(range(40)), "campaign_id": [1] * 20 + [2] * 20}, schema_overrides={"account_idx": pl.UInt32})
    aff = pl.DataFrame({"account_idx": [0, 1, 20, 21, 2, 3, 22, 23, 4, 5, 24, 25], "signal_idx": [0] * 4 + [1] * 4 + [2] * 4},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip_net"] * 3, "df": [4] * 3, "linked": [True] * 3},
                       schema_overrides={"signal_idx": pl.UInt32})
    assert sorted(own_ties(wh, aff, sig, 10_000).rows()) == [(1, 2, "ip_net"), (2, 1, "ip_net")]
    assert own_ties(wh, aff.filter(pl.col("signal_idx") == 0), sig, 300).height == 0
    assert own_ties(wh, aff, sig.with_columns(pl.lit("payment").alias("kind")), 10_000).height == 0
