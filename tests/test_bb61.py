"""Bound blocks on by default (session 61, bb61): a cell's pieces Leiden cut along its cards gather on the network or
card of its own; the parts the wording or client split parted -- sibling cells on their operator's one pool -- stay
parted (:mod:`graphlink.stages.bound_blocks`, ``split_from``: a value held alike by a split's parts is their
operator's, not a cell's body).

Hand-built tables as the scoring stage holds them (:class:`tests.test_cell60.Log`), and one small world end to end.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import PipelineConfig, ScoringConfig
from graphlink.stages.bound_blocks import bound_moves
from tests._worlds import planted_world
from tests.test_cell60 import Log, rented_cell


def after(log: Log, split: dict[int, list[int]] | None = None) -> dict[int, int]:
    """``{account: cluster}`` once the moves are made; ``split``: ``{cluster split from: its accounts}``."""
    cl, part, aff, sig = log.tables()
    frm = None if split is None else pl.DataFrame(
        [(a, w) for w, accs in split.items() for a in accs], schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    moves = bound_moves(cl, part, aff, sig, 3, 2, split_from=frm)
    out = part.join(moves, on="account_idx", how="left").select("account_idx", pl.coalesce("to", "cluster_id").alias("c"))
    return dict(out.drop_nulls("c").iter_rows())


def test_a_cell_cut_along_its_cards_is_gathered_beside_a_split():
    # A cell on a /48 of its own cut into three card groups (no split parted them) gathers, though another cluster of
    # the campaign was split by wording: the guard reads only the pieces the value binds.
    log = Log()
    cell = rented_cell(log, (12, 10, 9))
    other = log.accounts(8, 4) + log.accounts(7, 5)
    got = after(log, {40: other})
    assert {got[a] for a in cell} == {1}
    assert {got[a] for a in other} == {4, 5}


def script(log: Log, accounts: list[int], phrases: int = 4, kind: str = "prompt") -> None:
    """The accounts all send one template of ``phrases`` phrases of its own (or one client: ``kind='user_agent'``)."""
    for _ in range(phrases):
        log.hold(accounts, log.value(kind))


def test_two_parts_of_a_wording_split_on_one_network_stay_two():
    # Two sibling cells on one /24 of the operator's (every member on it, no one else): one Leiden cluster, parted by
    # their templates. The /24 binds both parts; it is their operator's, not a cell's, and gathers nothing.
    log = Log()
    net, card = log.value("ip_net"), log.value("payment")
    a, b = log.accounts(30, 1), log.accounts(30, 2)
    log.hold(a + b, net)
    log.hold(a + b, card)
    script(log, a)
    script(log, b)
    log.hold(a + b, log.value("prompt"))  # a phrase both templates share: one of five, under half the shorter script
    assert after(log) == {**{x: 1 for x in a + b}}  # without the split's mark the two are gathered (the test can fail)
    got = after(log, {9: a + b})
    assert {got[x] for x in a} == {1} and {got[x] for x in b} == {2}


def test_two_parts_of_a_client_split_stay_two():
    # Same template, different clients: the client split's parts differ in their user-agent scripts.
    log = Log()
    net = log.value("ip_net")
    a, b = log.accounts(20, 1), log.accounts(20, 2)
    log.hold(a + b, net)
    script(log, a + b)
    script(log, a, 1, "user_agent")
    script(log, b, 3, "user_agent")
    got = after(log, {9: a + b})
    assert {got[x] for x in a} == {1} and {got[x] for x in b} == {2}


def test_parts_of_a_split_that_write_and_send_alike_gather():
    # A split that parted one cell whose parts share their template and client (dev schedules1000: a 242-account cell
    # in parts of 177 and 65, both sending one template): the network of its own binds them, and they gather.
    log = Log()
    net = log.value("ip_net")
    a, b = log.accounts(20, 1), log.accounts(12, 2)
    log.hold(a + b, net)
    script(log, a + b)
    script(log, a[:8], 2)  # a few phrases only some members send: under half of either part, no script
    script(log, a + b, 1, "user_agent")
    got = after(log, {9: a + b})
    assert {got[x] for x in a + b} == {1}
    script(log, a, 6)  # each part's own template beside the shared phrases: 4 of 10 shared, under half
    script(log, b, 6)
    got = after(log, {9: a + b})
    assert {got[x] for x in a} == {1} and {got[x] for x in b} == {2}


def test_a_part_mostly_from_elsewhere_has_no_origin():
    # Only a cluster more than half of whose members came from one split cluster has that origin: a piece of the cell
    # holding 4 of 12 members of a split is a Leiden piece, and the cell gathers.
    log = Log()
    cell = rented_cell(log, (12, 10))
    got = after(log, {9: cell[:4] + cell[12:16]})
    assert {got[a] for a in cell} == {1}
    script(log, cell[:12])
    script(log, cell[12:])
    got = after(log, {9: cell[:7] + cell[12:18]})  # 7 of 12 and 6 of 10: both parts of split 9, writing apart
    assert {got[a] for a in cell[:12]} == {1} and {got[a] for a in cell[12:]} == {2}


def test_parts_of_a_split_chained_through_a_third_piece_stay_apart():
    # Part 1 and a Leiden piece 3 share one network, part 2 and piece 3 another: no value binds the two parts, but
    # gathering would put them in one cluster through piece 3. The component is left as it was.
    log = Log()
    p1, p2, p3 = log.accounts(10, 1), log.accounts(10, 2), log.accounts(10, 3)
    x, y = log.value("ip_net"), log.value("ip_net")
    log.hold(p1 + p3, x)
    log.hold(p2 + p3, y)
    script(log, p1)
    script(log, p2)
    assert len(set(after(log).values())) == 1  # unguarded: one cluster
    got = after(log, {9: p1 + p2})
    assert {got[a] for a in p1} == {1} and {got[a] for a in p2} == {2} and {got[a] for a in p3} == {3}


TEMPLATES = ("write a five star review of the product {} praising its battery and its fast delivery to my door",
             "summarise this news article about {} in three short bullet points for a social media post today")
WORDS = np.array("river stone cloud maple harbor falcon lantern meadow copper violet orchid summit".split())


def sibling(c: int, n: int, rng: np.random.Generator, per: int = 12) -> pl.DataFrame:
    """``n`` accounts of cell ``c``: the operator's 12 exits on one /24 and its 4 cards, template ``c``, one clock."""
    start = np.datetime64("2024-05-01T00:00:00")
    acc = np.repeat(np.arange(n), per)
    m = len(acc)
    seconds = rng.integers(0, 14, m) * 86400 + rng.integers(8, 16, m) * 3600 + rng.integers(0, 3600, m)
    return pl.DataFrame({
        "account_id": [f"sib{c}_{i:03d}" for i in acc],
        "timestamp": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": [f"198.51.100.{x}" for x in rng.integers(1, 13, m)],
        "payment_fingerprint": [f"pf_sib_{x}" for x in rng.integers(0, 4, m)],
        "prompt": [TEMPLATES[c].format(w) for w in rng.choice(WORDS, m)],
        "user_agent": "python-requests/2.31",
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))


def test_two_sibling_cells_on_one_pool_with_their_own_templates_stay_two_clusters_by_default():
    assert ScoringConfig().bound_blocks
    events, _ = planted_world(1, n_benign=300, rings=())
    rng = np.random.default_rng(5)
    log = pl.concat([events, sibling(0, 30, rng), sibling(1, 30, rng)], how="diagonal_relaxed")
    on = graphlink.detect(log)
    out = (on.accounts.join(on.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
           .filter(pl.col("account_id").str.starts_with("sib")).with_columns(cell=pl.col("account_id").str.slice(3, 1)))
    per_cell = out.group_by("cell").agg(pl.col("cluster_id").n_unique().alias("n"), pl.col("cluster_id").first())
    assert per_cell["n"].to_list() == [1, 1] and per_cell["cluster_id"].n_unique() == 2, per_cell
    assert out["flagged"].all() and out["campaign_id"].n_unique() == 1
    off = graphlink.detect(log, config=PipelineConfig(scoring=ScoringConfig(bound_blocks=False)))

    def flags(r):
        return (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
                .select("account_id", pl.col("flagged").fill_null(False)).sort("account_id"))
    assert flags(on).equals(flags(off))
