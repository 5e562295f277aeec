"""Session 61, op61: signed template ties (``[communities] signed_templates``, opt-in).

An operator disguising its template (typos, random case) leaves two of its cells a thin slice of shared passages: the
template cosine stays under ``campaign_resolution`` and the cells are two campaigns. With ``signed_templates`` the
passages two clusters share are weighed against chance, as cards are, but only between clusters that both send one
toolkit (client signatures the client veto does not part). Each test builds a small log by hand.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaigns import cluster_campaigns
from graphlink.stages.signed_templates import signed_template_ties

N_LOG = 2_000  # accounts in the (imagined) log: the chance's N


def _disguised(s: int, c: int) -> str:
    """Passage ``s`` of one template as cluster ``c`` sends it: even clusters as written, odd ones upper-cased with
    the words run together (session 62, op62: the signed ties also ask the clusters' template skeletons to agree --
    the own passages differ as strings, as a disguise leaves them, and read alike once case and spacing are undone)."""
    text = f"post the weekly digest part {s} to the channel"
    return text if c % 2 == 0 else text.upper().replace(" ", "")


def _world(clients: dict[int, list[str]], shared: int = 4, own: int = 40, shared_df: int | None = None,
           holders: int = 3, size: int = 8):
    """Clusters 0.. (``size`` accounts each): each member writes ``own`` passages of its cluster's own (every member
    all of them) and the first ``holders`` members of each cluster write ``shared`` passages every cluster writes
    (held by ``shared_df`` accounts in the log; by default only these). ``clients[c]`` lists the user agents of cluster
    ``c``'s members, one per member in turn (one string: the whole cluster sends it)."""
    n_clusters = len(clients)
    rows, sig_rows = [], []
    sig = 0
    shared_ids = list(range(shared))
    df_shared = shared_df if shared_df is not None else holders * n_clusters
    for s in shared_ids:
        sig_rows.append((s, "prompt", df_shared, 1.0, True, f"shared{s}"))
    sig = shared
    for c in range(n_clusters):
        members = list(range(c * size, (c + 1) * size))
        for s in range(own):
            sig_rows.append((sig, "prompt", size, 1.0, True, _disguised(s, c)))
            rows += [(a, sig) for a in members]
            sig += 1
        rows += [(a, s) for a in members[:holders] for s in shared_ids]
    agents = {}
    for c in range(n_clusters):
        for i, a in enumerate(range(c * size, (c + 1) * size)):
            ua = clients[c][i % len(clients[c])]
            if ua not in agents:
                agents[ua] = sig
                sig_rows.append((sig, "user_agent", 0, 0.1, False, ua))
                sig += 1
            rows.append((a, agents[ua]))
    affiliations = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    signals = pl.DataFrame(sig_rows, schema={"signal_idx": pl.UInt32, "kind": pl.String, "df": pl.UInt32,
                                             "weight": pl.Float64, "linked": pl.Boolean, "value": pl.String}, orient="row")
    signals = signals.join(affiliations.group_by("signal_idx").len(), on="signal_idx", how="left").with_columns(
        pl.when(pl.col("kind") == "user_agent").then(pl.col("len")).otherwise(pl.col("df")).cast(pl.UInt32).alias("df")
    ).drop("len")
    partition = pl.DataFrame({"account_idx": list(range(n_clusters * size)),
                              "cluster_id": [c + 1 for c in range(n_clusters) for _ in range(size)]},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    node_of = partition.select("account_idx", pl.col("cluster_id").sub(1).cast(pl.UInt32).alias("node"),
                               pl.lit(size).alias("size"))
    return partition, affiliations, signals, node_of


def _campaigns(partition, affiliations, signals, on: bool) -> list[int]:
    config = CommunityConfig(signed_templates=on)
    return cluster_campaigns(partition, affiliations, signals, GraphConfig(), config, N_LOG)["campaign_id"].to_list()


def test_one_toolkit_and_private_passages_tie_two_cells():
    # Two cells sending one scheduler client share 4 passages no one else writes, a thin slice of their 44 each.
    # (op62: written by 6 of each cell's 8 -- a template is what most of a cell writes, WRITTEN_BY.)
    partition, aff, sig, node_of = _world({0: ["sched/1.2"], 1: ["sched/1.2"]}, holders=6)
    ties = signed_template_ties(node_of, aff, sig, ["prompt"], N_LOG)
    assert ties.select("source", "target").rows() == [(0, 1)]
    assert ties["weight"][0] > 0.99  # chance gives two 8-account cells of 2,000 ~0.0002 such passages
    # The cosine alone leaves them two campaigns; the signed tie makes them one.
    assert _campaigns(partition, aff, sig, on=False) == [1, 2]
    assert _campaigns(partition, aff, sig, on=True) == [1, 1]


def test_clients_of_their_own_part_the_cells():
    # Same passages, but each cell runs a client the other never sends: two operators copying one text.
    partition, aff, sig, node_of = _world({0: ["sched/1.2"], 1: ["okhttp/4.12.0"]})
    assert signed_template_ties(node_of, aff, sig, ["prompt"], N_LOG).height == 0
    assert _campaigns(partition, aff, sig, on=True) == [1, 2]


def test_rotating_browsers_have_no_signature_and_gain_nothing():
    # Cluster 1 rotates eight stock browsers (no client signature): nothing is read for it.
    browsers = [f"Mozilla/5.0 browser {i}" for i in range(8)]
    partition, aff, sig, node_of = _world({0: ["sched/1.2"], 1: browsers})
    assert signed_template_ties(node_of, aff, sig, ["prompt"], N_LOG).height == 0
    assert _campaigns(partition, aff, sig, on=True) == _campaigns(partition, aff, sig, on=False) == [1, 2]


def test_a_stock_phrase_many_write_is_no_tie():
    # The shared passages are held by 600 accounts of the log: chance gives each cell some of them anyway.
    partition, aff, sig, node_of = _world({0: ["sched/1.2"], 1: ["sched/1.2"]}, shared_df=600)
    assert signed_template_ties(node_of, aff, sig, ["prompt"], N_LOG).height == 0
    assert _campaigns(partition, aff, sig, on=True) == [1, 2]


def test_one_account_a_side_is_no_tie():
    # One member of each cell writes the shared passages: the tie is that account's, not its cell's (MIN_SIDE_HOLDERS).
    partition, aff, sig, node_of = _world({0: ["sched/1.2"], 1: ["sched/1.2"]}, holders=1)
    assert signed_template_ties(node_of, aff, sig, ["prompt"], N_LOG).height == 0


def test_off_by_default():
    assert CommunityConfig().signed_templates is False
