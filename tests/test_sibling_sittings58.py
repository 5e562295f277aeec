"""Sittings within a long opening (:func:`graphlink.stages.sibling_parts.opening_sittings`, ``[scoring]
sibling_sittings``): in a large flagged union the creation bursts run together -- a cell trickling accounts in over
days fills every gap -- so sibling parts reads each part again by the hours that open more accounts than the part's
own background would by chance, and parts those sittings by cards exactly as it parts bursts.

Hand-built tables as the scoring stage holds them once every cluster is judged: a partition, the clusters' flags,
the clustered accounts' card memberships (``account_idx, signal_idx``), the values (``signal_idx, kind``) and
events per account and UTC hour (an account's first active hour is when the log sees it opened).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.sibling_parts import opening_sittings, sibling_moves
from tests._worlds import planted_world

ORIGIN = dt.datetime(2026, 3, 1)


class Log:
    """Accounts numbered as added: their cluster, the hour they were opened (hours since ORIGIN) and their card."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, str]] = []  # (cluster, opened, card)

    def add(self, cluster: int, opened: list[int], cards: list[str]) -> list[int]:
        """One account per entry of ``opened``, paying with ``cards`` in turn; returns their indices."""
        start = len(self.rows)
        self.rows += [(cluster, h, cards[i % len(cards)]) for i, h in enumerate(opened)]
        return list(range(start, len(self.rows)))

    def groups(self, sittings: bool, min_part: int = 5) -> list[set[int]]:
        """The groups of accounts sibling parts leaves (each moved part, and each cluster's rest)."""
        n = len(self.rows)
        part = pl.DataFrame({"account_idx": list(range(n)), "cluster_id": [c for c, _, _ in self.rows]},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        cl = pl.DataFrame({"cluster_id": sorted({c for c, _, _ in self.rows})}).with_columns(flagged=pl.lit(True))
        cards = sorted({v for _, _, v in self.rows})
        aff = pl.DataFrame({"account_idx": list(range(n)), "signal_idx": [cards.index(v) for _, _, v in self.rows]},
                           schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
        sig = pl.DataFrame({"signal_idx": list(range(len(cards))), "kind": ["payment"] * len(cards)}, schema_overrides={"signal_idx": pl.UInt32})
        # each account active in the hour it was opened and two days later (the later hour is not its first)
        when = [ORIGIN + dt.timedelta(hours=h + d) for _, h, _ in self.rows for d in (0, 48)]
        hours = pl.DataFrame({"account_idx": [i for i in range(n) for _ in (0, 1)], "day": [w.date() for w in when],
                              "hour": [w.hour for w in when], "events": [1] * len(when)}, schema_overrides={"account_idx": pl.UInt32})
        moved = sibling_moves(cl, part, aff, sig, hours, min_part, sittings=sittings)
        after = part.join(moved, on="account_idx", how="left").select("account_idx", pl.coalesce("to", "cluster_id").alias("group"))
        return sorted((set(g) for g in after.group_by("group").agg("account_idx")["account_idx"].to_list()), key=min)


def trickle(log: Log, hours: int = 200, every: int = 2) -> list[int]:
    """A long-lived cell opening one account every ``every`` hours for ``hours`` hours, paying from its own cards."""
    return log.add(1, list(range(0, hours, every)), [f"t{i}" for i in range(20)])


def together(groups: list[set[int]], ids: list[int]) -> bool:
    return any(set(ids) <= g for g in groups)


def test_two_sibling_sittings_chained_by_a_trickling_cell_are_parted_only_with_sittings():
    log = Log()
    t = trickle(log)
    a = log.add(1, [50] * 20, ["a1", "a2", "a3", "a4"])  # a cell opened in one hour on its own cards
    b = log.add(1, [150] * 20, ["b1", "b2", "b3", "b4"])  # a sibling opened four days later on its own cards
    # The trickle leaves no gap of three hours: one creation burst, nothing parted (main's reading).
    assert log.groups(sittings=False) == [set(t) | set(a) | set(b)]
    on = log.groups(sittings=True)
    assert together(on, a) and together(on, b) and not together(on, a + b)


def test_one_cell_opened_in_two_sittings_paying_with_its_cards_in_both_is_not_parted():
    log = Log()
    t = trickle(log)
    cards = ["c1", "c2", "c3", "c4"]
    first = log.add(1, [50] * 20, cards)
    second = log.add(1, [150] * 20, cards)  # the same cell's second sitting: its cards tie the two
    assert log.groups(sittings=True) == [set(t) | set(first) | set(second)]


def test_sittings_that_share_no_card_inside_are_not_parted():
    log = Log()
    trickle(log)
    log.add(1, [50] * 20, [f"x{i}" for i in range(20)])  # each account on a card of its own: creation alone
    log.add(1, [150] * 20, [f"y{i}" for i in range(20)])
    assert len(log.groups(sittings=True)) == 1


def test_bursts_standing_apart_part_as_without_sittings():
    log = Log()
    log.add(1, [10] * 12, ["a1", "a2", "a3"])
    log.add(1, [100] * 12, ["b1", "b2", "b3"])  # 90 hours with no account opened: two bursts already
    assert log.groups(sittings=True) == log.groups(sittings=False) and len(log.groups(sittings=False)) == 2


def test_an_hour_is_a_sitting_only_beyond_what_its_background_opens_by_chance():
    # eight accounts opened in hour 10 of a day: against one account an hour it is a sitting (P ~ 1e-5 < 1/24) ...
    quiet = np.r_[np.arange(24), [10] * 7]
    assert set(opening_sittings(quiet, 5)[quiet == 10].tolist()) == {0}
    # ... against four an hour, seven in one hour is not (P(X >= 7 | 4) ~ 0.11 > 1/24): the background's own peaks.
    busy = np.r_[np.repeat(np.arange(24), 4), [10] * 3]
    assert (opening_sittings(busy, 5) == -1).all()
    # ... and no hour opening fewer than min_part accounts is one, however quiet the rest.
    few = np.r_[np.arange(0, 48, 6), [20] * 3]
    assert (opening_sittings(few, 5) == -1).all()


def test_sitting_hours_within_the_gap_are_one_sitting():
    first = np.r_[[10] * 6, [12] * 6, [30] * 6]
    lab = opening_sittings(first, 5, gap=3)
    assert lab[first == 10][0] == lab[first == 12][0] != lab[first == 30][0]


def test_on_by_default_and_moves_no_flag_or_campaign():
    assert ScoringConfig().sibling_sittings
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    off = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(sibling_sittings=False)))
    on = graphlink.detect(events)

    def flags(r):
        return (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
                .select("account_id", pl.col("flagged").fill_null(False), "campaign_id").sort("account_id"))
    assert flags(on).equals(flags(off))
    pair = on.accounts.select("account_id", "cluster_id").join(off.accounts.select("account_id", pl.col("cluster_id").alias("off")), on="account_id")
    assert pair.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.col("off").n_unique()).filter(pl.col("off") > 1).is_empty()
