"""Own-value members (stages/pendants) and the owner of a card a fleet pays with (new-user review, session 53).

An account holding nothing but one of a flagged fleet's cards -- two requests, no address, no prompt -- is the card's
owner as likely as the fleet's (a stolen card); one card of the cluster alone no longer joins it, as one address
alone does not (brk52). Two of the cluster's cards, or a card and an address of it, still do. (The review's case --
the fixture's fleet, whose card's owner only own values joined -- is fixed; a small world where CPM itself takes the
owner in is open, below.)
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink
from graphlink.stages.pendants import own_value_members
from tests.test_break52 import exit_world, flagged, timed


def with_owner(seed: int, rows: list[tuple]) -> pl.DataFrame:
    world = exit_world(seed)
    extra = timed(rows, ["ip", "payment_fingerprint", "prompt", "user_agent"])
    return pl.concat([world, extra.select(world.columns)], how="vertical_relaxed")


@pytest.mark.xfail(strict=True, reason="open: in this small world CPM itself takes the card's owner into the ring "
                   "(own values off too), and the bystander test cannot judge an account that sent no prompt (judging "
                   "it off the script lost ring accounts of logs recording a prompt on a few rows: brk53)")
@pytest.mark.parametrize("seed", [1, 2])
def test_the_owner_of_one_card_a_fleet_pays_with_is_not_joined_or_flagged(seed):
    owner = [("owner", 2 * 86400 + 40000, None, "card_ring_0", None, "Mozilla/5.0 Safari/17"),
             ("owner", 3 * 86400 + 41000, None, "card_ring_0", None, "Mozilla/5.0 Safari/17")]
    result = graphlink.detect(with_owner(seed, owner))
    assert flagged(result, "ring_") == {f"ring_{i}" for i in range(20)}
    assert result.accounts.filter(pl.col("account_id") == "owner")["cluster_id"].is_null().all()


def _frames():
    part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, None, None, None]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    # 0-2: the cluster's two cards (0, 1) and address 2; 3 holds card 0 only; 4 cards 0 and 1; 5 card 0 and address 2.
    mem = pl.DataFrame({"account_idx": [0, 1, 2, 0, 1, 2, 0, 1, 3, 4, 4, 5, 5],
                        "signal_idx": [0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 1, 0, 2]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["payment", "payment", "ip"], "df": [6, 4, 3]},
                       schema_overrides={"signal_idx": pl.UInt32})
    return part, mem, sig


def test_one_card_alone_joins_nobody_two_of_the_clusters_cards_or_a_card_and_an_address_do():
    part, mem, sig = _frames()
    _, _, joined = own_value_members(part, None, mem, sig)
    assert sorted(joined["account_idx"].to_list()) == [4, 5]
    assert set(joined["cluster_id"].to_list()) == {1}
