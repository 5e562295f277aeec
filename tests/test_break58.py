"""Break-it review of session 58's branches (helper brk58): hand-built inputs against each change's stated rule.

Card campaigns (:mod:`graphlink.stages.card_campaigns`, card58's ``held_whole``: "on each side, the flagged clusters
holding the cards the two share hold most of its flagged accounts"): the frames are one row per account value, the
clusters and campaigns given, every cluster flagged, in a log of :data:`BIG` accounts (dev ind176big's size, where
chance gives two wholes of these sizes almost no shared card). A campaign moving into another operator's campaign
is the break: ``campaign_id`` is what the investigator reads as "one operator".
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink.stages.card_campaigns as card_module
from graphlink.stages.card_campaigns import card_campaigns

#: card58's both-ways rule is on this code (its public ``held_whole``): the "next candidate" break is its own.
HELD_WHOLE = hasattr(card_module, "held_whole")

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
        """``n`` accounts of ``cluster`` in ``campaign``, each sending ``template``'s 12 values and (``own_cards``)
        paying two by two with the cell's own cards."""
        ids = list(range(self.next, self.next + n))
        self.next += n
        self.members[cluster], self.campaign[cluster] = ids, campaign
        for i, a in enumerate(ids):
            if own_cards:
                self.rows.append((a, "payment", f"card-{cluster}-{i // 2}"))
            self.rows += [(a, "prompt", f"{template}-{j}") for j in range(12)]
        return ids

    def pay(self, accounts: list[int], card: str) -> None:
        """``accounts`` pay with ``card``."""
        self.rows += [(a, "payment", card) for a in accounts]

    def moved(self) -> dict[int, int]:
        """Each cluster's campaign after card campaigns."""
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
        out = card_campaigns(cl, part, aff, sig.select("signal_idx", "kind", "df", "weight", "linked"), n_accounts=BIG)
        return dict(out.select("cluster_id", "campaign_id").iter_rows())


# brk58 (a strict xfail until session 59): held_whole counts a cluster as holding the shared cards when any one of its
# accounts does; card59's second tie beside the cards (none here: two templates, nothing else shared) keeps them apart.
def test_two_buyers_in_a_big_cell_do_not_carry_another_operators_campaign():
    # Operator A: campaign 1, cells 1 (200) and 2 (20), own cards, template A. Operator B: campaign 2, cells 3 and 4
    # (6 each), template B, paying with its pool's six cards (each held by one account of each cell). Two accounts of
    # A's cell 1 bought four of B's cards. By held_whole, A's side is "held" by cell 1's 200 of 220; B's by both cells;
    # mostly_shared 8 of B's 12 on A's cards; chance with one card left out: three cards where ~0 are expected.
    log = Log()
    a1 = log.cell(1, 1, 200, "A")
    log.cell(2, 1, 20, "A")
    b3 = log.cell(3, 2, 6, "B", own_cards=False)
    b4 = log.cell(4, 2, 6, "B", own_cards=False)
    for k in range(6):
        log.pay([b3[k], b4[k]], f"b-pool-{k}")
    for k in range(4):
        log.pay(a1[:2], f"b-pool-{k}")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}


# brk58 (a strict xfail until session 59): every card test reads a shared dump as one operator's pool; card59's second
# tie beside the cards (the two operators share nothing else) keeps them apart.
def test_a_dump_sold_whole_to_two_operators_does_not_join_them():
    # Operator A: campaign 1, cells 1 (30) and 2 (20), template A; 14 of its accounts (7 in each cell) pay with the
    # dump's 7 cards two by two. Operator B: campaign 2, cells 3 (8) and 4 (6), template B, paying only with the dump.
    log = Log()
    a1 = log.cell(1, 1, 30, "A")
    a2 = log.cell(2, 1, 20, "A")
    b = log.cell(3, 2, 8, "B", own_cards=False) + log.cell(4, 2, 6, "B", own_cards=False)
    a = a1[:7] + a2[:7]
    for k in range(7):
        log.pay(b[2 * k:2 * k + 2], f"dump-{k}")
        log.pay(a[2 * k:2 * k + 2], f"dump-{k}")
    assert log.moved() == {1: 1, 2: 1, 3: 2, 4: 2}


# brk58 (a strict xfail until session 59): a piece refused by its own operator's campaign took its next card tie, into a
# third operator's; card59's second tie beside the cards (the piece shares nothing else with that campaign) refuses it.
def test_a_piece_refused_by_its_operators_campaign_does_not_move_to_the_next():
    # Campaign 2 (40): operator B's cell 3 (10) merged with operator C's cell 4 (30). B's piece, campaign 3 (cells 5
    # and 6, 6 each), pays with six of B's cards held by cell 3 (2 + 2 accounts each) and with six dump cards operator
    # A's campaign 1 (cells 1 and 2, 10 each) pays with too. Main asks the strongest tie first (campaign 2, the larger),
    # which cell 3 -- 10 of 40 -- does not carry: the piece stays. Card58 drops that tie and takes campaign 1.
    log = Log()
    a = log.cell(1, 1, 10, "A") + log.cell(2, 1, 10, "A")
    c3 = log.cell(3, 2, 10, "B")
    log.cell(4, 2, 30, "C")
    p = log.cell(5, 3, 6, "B", own_cards=False) + log.cell(6, 3, 6, "B", own_cards=False)
    for k in range(6):
        log.pay(p[2 * k:2 * k + 2], f"b-{k}")
        log.pay(c3[2 * k:2 * k + 2] if 2 * k + 2 <= len(c3) else c3[:2], f"b-{k}")
        log.pay(p[2 * k:2 * k + 2], f"dump-{k}")
        log.pay(a[2 * k:2 * k + 2], f"dump-{k}")
    assert log.moved()[5] == 3 and log.moved()[6] == 3


# Sibling sittings (cell58, opt-in ``[scoring] sibling_sittings``): :func:`opening_sittings` reads each member's
# first active hour (epoch hours: ``day`` is a date, any year the log's timestamps carry).
import graphlink.stages.sibling_parts as sibling_module  # noqa: E402

SITTINGS = hasattr(sibling_module, "opening_sittings")


@pytest.mark.skipif(not SITTINGS, reason="sibling sittings are cell58's (not on this code)")
# brk58: opening_sittings counted openings per hour over the whole span of first hours (20 members 456 years apart:
# 64 MB traced); fixed in the integration (counted over the occupied hours, output-identical).
def test_opening_sittings_memory_does_not_grow_with_the_span_of_hours():
    import tracemalloc

    import numpy as np

    # 20 members: 10 opened at hour 0, 10 at hour 4,000,000 (456 years later). Two sittings whatever the span.
    first = np.r_[[0] * 10, [4_000_000] * 10].astype(np.int64)
    tracemalloc.start()
    try:
        labels = sibling_module.opening_sittings(first, 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sorted(set(labels.tolist())) == [0, 1]
    assert peak < 4_000_000  # bytes: a count per hour of the span would be 32 MB


# Redaction (graphlink.store.redact, read by ux58's ``graphlink account --redact-key`` as by ``show``): an account id
# that is an e-mail address is hashed everywhere. Main's address pattern ran on the raw text, so an id with an
# invisible character inside or the fullwidth '@' was printed whole by show and account alike; brk58's patch reads
# format characters (\p{Cf}) inside an address and the fullwidth / small at signs as part of it (the id is hashed as
# written: two ids differing by an invisible character keep two tokens).
import inspect  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

import graphlink  # noqa: E402
from graphlink.cli import app  # noqa: E402
from graphlink.views.account import account_view  # noqa: E402

ACCOUNT_REDACTS = "redact_key" in inspect.signature(account_view).parameters
#: E-mail ids a person reads as ``jane.doe@example.com``: a zero-width space pasted inside, the fullwidth at sign.
HIDDEN_ADDRESSES = ["jane.doe\u200b@example.com", "jane.doe\uff20example.com"]


@pytest.fixture(scope="module")
def addressed_folder() -> Path:
    """Four ring accounts and the two e-mail ids on one card and address, one account alone; detected and saved."""
    ring = [f"ring{i}" for i in range(4)] + HIDDEN_ADDRESSES
    events = pl.DataFrame([{"account_id": a, "payment_fingerprint": "card-r", "user_agent": "curl/8", "ip": "203.0.113.7"}
                           for a in ring]
                          + [{"account_id": "alone", "payment_fingerprint": "z", "user_agent": "curl/8", "ip": "198.51.100.1"}])
    return graphlink.detect(events).save(Path(tempfile.mkdtemp(prefix="brk58-")) / "out")


def test_show_redacted_hashes_an_e_mail_id_with_an_invisible_character(addressed_folder):
    done = CliRunner().invoke(app, ["show", str(addressed_folder), "1", "--redact-key", "k", "--members", "20"],
                              env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    assert "ring0" in done.stdout and "jane" not in done.stdout.lower()


@pytest.mark.skipif(not ACCOUNT_REDACTS, reason="graphlink account --redact-key is ux58's (not on this code)")
@pytest.mark.parametrize("account", HIDDEN_ADDRESSES, ids=["zero-width", "fullwidth-at"])
@pytest.mark.parametrize("json_out", [False, True], ids=["table", "json"])
def test_account_redacted_hashes_an_e_mail_id_with_an_invisible_character(addressed_folder, account, json_out):
    done = CliRunner().invoke(app, ["account", str(addressed_folder), account, "--redact-key", "k",
                                    *(["--json"] if json_out else [])], env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    assert "jane" not in done.stdout.lower()


def test_ids_differing_by_an_invisible_character_keep_two_redacted_tokens(addressed_folder):
    # The patch must not merge two accounts in a redacted view: jane.doe<U+200B>@example.com and jane.doe@example.com
    # are two ids, hashed as written; a plain address hashes as before (show's members list both, neither in clear).
    from graphlink.store.redact import Redactor

    tokens = Redactor(b"k").text(pl.Series(["jane.doe\u200b@example.com", "jane.doe@example.com", "jane.doe\uff20example.com"]))
    assert tokens.n_unique() == 3 and all(t.startswith("email#") and t.endswith("@example.com") for t in tokens)
