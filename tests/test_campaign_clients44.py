"""Campaigns of operators who share a template but not their tooling (:mod:`graphlink.stages.campaign_clients`).

Issue 17 (ARI by operator): on the dev worlds every cross-operator cluster pair the campaign grouping
kept was tied by templates alone, and in worlds whose operators copy one template family the
template cosine cannot tell two operators' cells from one operator's. A cell's client software (its
user agent, sent from every account by its scheduler) is the operator's own: two cells tied only by a
template, each with a client signature, the signatures disjoint, are two campaigns. Cards and
addresses moved between cells, cells rotating stock browser agents, and cells too small to show a
signature group as before.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.campaigns import cluster_campaigns

CELL = 6
TEMPLATE = 8  # shingles of the shared template, held by every ring account


def world(clients: list[list[str | list[str]]], cards: list[list[int]] | None = None,
          cell: int = CELL) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cells of ``cell`` accounts, all sending one template. ``clients[c][i]``: the user agent (or
    agents) of account ``i`` of cell ``c``; ``cards[c]``: card numbers paid with by every account of cell ``c``
    (cell-private cards when omitted). Plus 200 ordinary accounts holding nothing shared."""
    n_cells = len(clients)
    cards = cards or [[1000 + c] for c in range(n_cells)]
    accounts = [(c, i, c * cell + i) for c in range(n_cells) for i in range(cell)]
    part = pl.DataFrame({"account_idx": [a for *_, a in accounts], "cluster_id": [c + 1 for c, *_ in accounts]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    sent = [[[u] if isinstance(u, str) else u for u in cl] for cl in clients]
    agents = sorted({u for cl in sent for us in cl for u in us})
    ua_idx = {u: 100 + k for k, u in enumerate(agents)}
    rows = [(a, s) for *_, a in accounts for s in range(TEMPLATE)]
    rows += [(a, ua_idx[u]) for c, i, a in accounts for u in sent[c][i]]
    rows += [(a, card) for c, _, a in accounts for card in cards[c]]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    df = aff.group_by("signal_idx").len()
    kind = (pl.when(pl.col("signal_idx") < 100).then(pl.lit("prompt"))
            .when(pl.col("signal_idx") < 1000).then(pl.lit("user_agent")).otherwise(pl.lit("payment")))
    sig = df.select("signal_idx", kind.alias("kind"), pl.col("len").cast(pl.UInt32).alias("df"),
                    pl.lit(1.0).alias("weight"), pl.lit(True).alias("linked"))
    return part, aff, sig


def campaigns(clients: list[list[str]], cards: list[list[int]] | None = None, cell: int = CELL) -> list[int]:
    part, aff, sig = world(clients, cards, cell)
    out = cluster_campaigns(part, aff, sig, GraphConfig(), n_accounts=part.height + 200)
    return out.sort("cluster_id")["campaign_id"].to_list()


def same_grouping(labels: list[int], expected: list[int]) -> bool:
    return len({(a, b) for a, b in zip(labels, expected)}) == len(set(labels)) == len(set(expected))


def test_two_operators_sharing_one_public_template_on_different_clients_are_two_campaigns():
    # Operator A's cells run toolA, operator B's toolB; own cards each; one template for all four.
    clients = [["toolA/1.0"] * CELL, ["toolA/1.0"] * CELL, ["toolB/2.0"] * CELL, ["toolB/2.0"] * CELL]
    assert same_grouping(campaigns(clients), [1, 1, 2, 2])


def test_a_client_signature_held_by_most_members_is_enough():
    # One account of each cell sends another client (a developer's test): still each cell's signature.
    a = ["toolA/1.0"] * (CELL - 1) + ["curl/8.0"]
    b = ["toolB/2.0"] * (CELL - 1) + ["curl/8.1"]
    assert same_grouping(campaigns([a, a, b, b]), [1, 1, 2, 2])


def test_one_operator_whose_cells_share_the_template_and_its_client_is_one_campaign():
    clients = [["toolA/1.0"] * CELL] * 4
    assert campaigns(clients) == [1, 1, 1, 1]


def test_a_card_moved_between_cells_on_different_clients_still_ties_them():
    # Infrastructure is the operator's own whatever client each cell runs: the card tie is not vetoed.
    clients = [["toolA/1.0"] * CELL, ["toolB/2.0"] * CELL]
    assert campaigns(clients, cards=[[1000, 1002], [1001, 1002]]) == [1, 1]


def test_cells_rotating_stock_browser_agents_have_no_signature_and_keep_their_template_tie():
    browsers = [f"Mozilla/5.0 ({k})" for k in range(2 * CELL)]
    clients = [browsers[:CELL], browsers[CELL:], ["toolB/2.0"] * CELL]
    assert campaigns(clients) == [1, 1, 1]


def test_a_cell_whose_every_account_rotates_every_browser_agent_has_no_signature():
    # Each agent is held by every member (the share holding the top agent is 1.0), yet the profile
    # spreads over 36 agents: no scheduler's toolkit, so its template tie to an okhttp cell stands.
    browsers = [f"Mozilla/5.0 ({k})" for k in range(36)]
    assert campaigns([[browsers] * CELL, ["okhttp/4.12.0"] * CELL]) == [1, 1]


def test_a_toolkit_of_two_clients_is_a_signature():
    # Every account of operator A sends its HTTP library and its SDK; operator B another pair.
    a, b = [["python-requests/2.28.1", "langchain/0.1.0"]] * CELL, [["Go-http-client/1.1", "Python-urllib/3.11"]] * CELL
    assert same_grouping(campaigns([a, a, b, b]), [1, 1, 2, 2])


def test_cells_too_small_to_show_a_signature_keep_their_template_tie():
    # Four accounts each: two accounts of a rotating cell share an agent by chance at this size.
    clients = [["toolA/1.0"] * 4, ["toolB/2.0"] * 4]
    assert campaigns(clients, cell=4) == [1, 1]


def test_a_log_without_user_agents_groups_as_before():
    part, aff, sig = world([["toolA/1.0"] * CELL, ["toolB/2.0"] * CELL])
    keep = sig.filter(pl.col("kind") != "user_agent")
    aff = aff.join(keep.select("signal_idx"), on="signal_idx", how="semi")
    out = cluster_campaigns(part, aff, keep, GraphConfig(), n_accounts=part.height + 200)
    assert out["campaign_id"].to_list() == [1, 1]
