"""Lone cells (:mod:`graphlink.stages.lone_cells`): a flagged cell left alone in its campaign joins the larger campaign
whose flagged clusters, pooled, it resembles; another operator's cell, a campaign of several clusters and an
unflagged cluster stay where they are, and no flag moves.

Hand-built logs: each account sends some of its operator's template shingles (values of kind ``prompt``, one id per
5-word shingle of the normalised text) and draws addresses from a proxy network; clusters are given, with their
flags and the grouping's campaigns, as the scoring stage holds them when the flags are decided.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import CommunityConfig, GraphConfig, PipelineConfig, ScoringConfig
from graphlink.stages.campaigns import cluster_similarity
from graphlink.stages.lone_cells import LONE_SHARE, lone_cells, lone_ties
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt
from tests._worlds import planted_world

TEMPLATE_A = ("Write a rigorous solution with every deduction made explicit. Do not skip steps. Then summarise the answer "
              "in one sentence and list the assumptions you relied on before answering")
TEMPLATE_B = ("Extract the entities and the reasoning behind each label from the text below step by step and show "
              "your reasoning as a numbered list with one entity on every line of it")


def flipped(text: str, seed: int) -> str:
    """``text`` with the case of each letter flipped at random (the mixed 1001 operator's disguise)."""
    rng = np.random.default_rng(seed)
    return "".join(c.swapcase() if rng.random() < 0.5 else c for c in text)


def read(texts: list[str]) -> list[list[str]]:
    """Each text's words as detection reads a sample of prompts: normalised (case folded, punctuation dropped), a
    capital inside a word marked and read against the words of all the texts (:func:`read_camel`)."""
    marked = pl.DataFrame({"norm": texts}).select(normalise_prompt(pl.col("norm"), MARK))
    return [t.split() for t in read_camel(marked)["norm"].to_list()]


def shingles(words: list[str], n: int = 5) -> list[str]:
    """The ``n``-word shingles of ``words``."""
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


class Log:
    """Accounts numbered as added, their values (``kind, value``) and clusters."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str]] = []
        self.texts: list[tuple[int, str, float, int]] = []  # (account, text, share of its shingles sent, seed)
        self.cluster: dict[int, int] = {}
        self.next_account = 0

    def cell(self, n: int, cluster: int, text: str, network: list[str], seed: int, share: float = 1.0) -> list[int]:
        """``n`` accounts of ``cluster``, each sending ``share`` of ``text``'s shingles (case flipped per account) and
        leaving through 30 exits of ``network`` (a rotating proxy: pooled over a campaign, every exit of it)."""
        rng = np.random.default_rng(seed)
        ids = list(range(self.next_account, self.next_account + n))
        self.next_account += n
        for a in ids:
            self.cluster[a] = cluster
            if text:
                self.texts.append((a, flipped(text, seed * 1000 + a), share, seed * 1000 + a))
            self.rows += [(a, "ip", ip) for ip in rng.choice(network, 30, replace=False)]
        return ids

    def frames(self, clusters: dict[int, tuple[bool, int]]) -> tuple[pl.DataFrame, ...]:
        """``clusters, partition, affiliations, signals``; ``clusters`` maps id -> (flagged, campaign)."""
        prompts = []
        for (a, _, share, seed), words in zip(self.texts, read([t for _, t, _, _ in self.texts])):
            held = shingles(words)
            keep = np.random.default_rng(seed).random(len(held)) < share
            prompts += [(a, "prompt", s) for s, k in zip(held, keep) if k]
        rows = pl.DataFrame(self.rows + prompts, schema={"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String},
                            orient="row").unique()
        sig = (rows.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("kind", "value")
               .with_row_index("signal_idx").with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(1.0).alias("weight"),
                                                          (pl.col("df") >= 2).alias("linked")))
        aff = rows.join(sig.select("kind", "value", "signal_idx"), on=["kind", "value"]).select("account_idx", "signal_idx")
        part = pl.DataFrame({"account_idx": list(range(self.next_account)),
                             "cluster_id": [self.cluster.get(a) for a in range(self.next_account)]},
                            schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
        cl = pl.DataFrame({"cluster_id": list(clusters), "flagged": [f for f, _ in clusters.values()],
                           "campaign_id": [c for _, c in clusters.values()]},
                          schema={"cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64})
        return cl.sort("cluster_id"), part, aff, sig.select("signal_idx", "kind", "df", "weight", "linked")


NETWORK = [f"45.{n // 256}.{n % 256}.{h}" for n in range(40) for h in range(1, 11)]  # one rented network: 400 exits


def operators(piece_text: str = TEMPLATE_A, piece_flagged: bool = True) -> tuple[pl.DataFrame, ...]:
    """Operator A: clusters 1-3 (campaign 1, 30 + 12 + 10 accounts, each account sending part of template A), and a
    lone 6-account piece, cluster 4 (campaign 2), sending ``piece_text`` (default: template A; "": none); operator B: cluster 5
    (campaign 3, 20 accounts, template B). Every account of both draws its addresses from one rented network."""
    log = Log()
    log.cell(30, 1, TEMPLATE_A, NETWORK, 1, share=0.6)
    log.cell(12, 2, TEMPLATE_A, NETWORK, 2, share=0.6)
    log.cell(10, 3, TEMPLATE_A, NETWORK, 3, share=0.6)
    log.cell(6, 4, piece_text, NETWORK, 4, share=0.6)
    log.cell(20, 5, TEMPLATE_B, NETWORK, 5, share=0.6)
    return log.frames({1: (True, 1), 2: (True, 1), 3: (True, 1), 4: (piece_flagged, 2), 5: (True, 3)})


def campaigns(frames: tuple[pl.DataFrame, ...]) -> dict[int, int]:
    cl, part, aff, sig = frames
    out = lone_cells(cl, part, aff, sig, GraphConfig(), CommunityConfig(), n_accounts=part.height)
    return dict(out.select("cluster_id", "campaign_id").iter_rows())


def test_case_flipped_template_piece_joins_its_operators_campaign():
    # Every account writes template A with its case flipped at random: normalised, the shingles are one template's,
    # and the lone 6-account piece joins the campaign of clusters 1-3 -- the cell no longer splits into two campaigns.
    assert read([flipped(TEMPLATE_A, 7), TEMPLATE_A]) == read([TEMPLATE_A, TEMPLATE_A])
    assert campaigns(operators()) == {1: 1, 2: 1, 3: 1, 4: 1, 5: 3}


def test_two_operators_with_different_templates_stay_two_campaigns():
    # Operator B's lone cell (cluster 5, campaign 3) shares the rented network with A but not A's template: it stays.
    # A lone piece of B's template stays out of A's campaign too, and joins B's (the larger campaign it resembles).
    cl, part, aff, sig = operators(piece_text=TEMPLATE_B)
    out = campaigns((cl, part, aff, sig))
    assert out[5] == 3 and out[1] == out[2] == out[3] == 1
    assert out[4] == 3  # B's piece (6 accounts) joins B's larger campaign, not A's


def test_shared_network_alone_ties_nothing():
    # The piece sends no prompt at all: the rented network's exits are all it shares. Pooled, each campaign's cells
    # cover the network's 400 exits evenly (address cosine between the wholes 0.37-0.54, over the threshold), as
    # another renter's do: addresses tie no lone cell (tests/test_rented_network47.py).
    assert campaigns(operators(piece_text=""))[4] == 2


def test_flags_partition_and_other_columns_unchanged():
    cl, part, aff, sig = operators()
    out = lone_cells(cl.with_columns(pl.lit(0.9).alias("score")), part, aff, sig, GraphConfig())
    assert out.drop("campaign_id").equals(cl.with_columns(pl.lit(0.9).alias("score")).drop("campaign_id"))
    assert out.schema == cl.with_columns(pl.lit(0.9).alias("score")).schema


def test_why_names_the_moved_leads_campaign():
    # Cluster 5 inherited its flag from the lone piece (cluster 4, campaign 2); the piece moves, the why follows it.
    cl, part, aff, sig = operators()
    why = ["proxies", "proxies", "proxies", "proxies", "tied to flagged cluster 4 (campaign 2) by 5 prompt phrases; x"]
    out = lone_cells(cl.with_columns(pl.Series("why", why)), part, aff, sig, GraphConfig())
    new = dict(out.select("cluster_id", "campaign_id").iter_rows())[4]
    assert new != 2
    assert out["why"].to_list() == why[:4] + [f"tied to flagged cluster 4 (campaign {new}) by 5 prompt phrases; x"]


def test_lone_cell_does_not_follow_a_minority_into_another_operators_campaign():
    # The grouping put operator B's cluster 5 (20 accounts) into operator A's campaign 1 (52 accounts); B's lone piece
    # (cluster 4, template B) resembles that campaign's whole through cluster 5 alone: it stays (dev tpl1007).
    cl, part, aff, sig = operators(piece_text=TEMPLATE_B)
    cl = cl.with_columns(pl.when(pl.col("cluster_id") == 5).then(1).otherwise(pl.col("campaign_id")).alias("campaign_id"))
    ties = lone_ties(cl, part, aff, sig, GraphConfig(), 0.0)
    assert ties.filter(pl.col("campaign_id") == 2).is_empty()
    assert dict(lone_cells(cl, part, aff, sig, GraphConfig()).select("cluster_id", "campaign_id").iter_rows())[4] == 2
    # ... while the whole alone would have taken it: its tie to campaign 1's whole clears the threshold.
    wholes = part.drop_nulls("cluster_id").join(cl.select("cluster_id", "campaign_id"), on="cluster_id").select(
        "account_idx", pl.col("campaign_id").alias("cluster_id"))
    node, _, edges = cluster_similarity(wholes, aff, sig.filter(pl.col("kind") != "ip"), GraphConfig(), None, part.height)
    n = dict(node.select("cluster_id", "node").iter_rows())
    pair = edges.filter((pl.col("source") == min(n[1], n[2])) & (pl.col("target") == max(n[1], n[2])))["weight"]
    assert pair.len() == 1 and pair.item() >= LONE_SHARE * CommunityConfig().campaign_resolution


def test_unflagged_lone_cluster_does_not_move():
    assert campaigns(operators(piece_flagged=False))[4] == 2


def test_campaign_of_several_clusters_never_moves():
    # Clusters 2 and 3 as their own campaign (2 clusters) tied to campaign 1 by the template: not lone, both stay.
    cl, part, aff, sig = operators()
    cl = cl.with_columns(pl.when(pl.col("cluster_id").is_in([2, 3])).then(4).otherwise(pl.col("campaign_id")).alias("campaign_id"))
    out = dict(lone_cells(cl, part, aff, sig, GraphConfig()).select("cluster_id", "campaign_id").iter_rows())
    assert out[2] == out[3] == 4
    assert out[4] in (1, 4)  # the lone piece still joins one of operator A's (larger) campaigns, the one it resembles most


def test_lone_cell_joins_only_larger_campaigns_and_chains_end():
    # Every cluster lone in its own campaign: each joins a larger one, so all of operator A's end in the largest's.
    cl, part, aff, sig = operators()
    cl = cl.with_columns(pl.col("cluster_id").alias("campaign_id"))
    out = dict(lone_cells(cl, part, aff, sig, GraphConfig()).select("cluster_id", "campaign_id").iter_rows())
    assert out[1] == out[2] == out[3] == out[4] == 1 and out[5] == 5
    ties = lone_ties(cl, part, aff, sig, GraphConfig(), LONE_SHARE * CommunityConfig().campaign_resolution)
    assert 1 not in ties["campaign_id"].to_list()  # the largest whole follows no tie


def test_threshold_is_a_share_of_the_resolution():
    # The piece's tie, read at share 0, moves it at a share just under it and leaves it alone just over it.
    cl, part, aff, sig = operators()
    ties = lone_ties(cl, part, aff, sig, GraphConfig(), 0.0)
    need = ties.filter(pl.col("campaign_id") == 2)["similarity"].item() / CommunityConfig().campaign_resolution
    under = lone_cells(cl, part, aff, sig, GraphConfig(), share=need * 0.99)
    over = lone_cells(cl, part, aff, sig, GraphConfig(), share=need * 1.01)
    assert dict(under.select("cluster_id", "campaign_id").iter_rows())[4] != 2
    assert dict(over.select("cluster_id", "campaign_id").iter_rows())[4] == 2


def test_switch_on_by_default_and_flags_equal_off():
    assert ScoringConfig().lone_cells
    events, _ = planted_world(3, n_benign=200, rings=(25, 15, 8))
    on = graphlink.detect(events)
    off = graphlink.detect(events, config=PipelineConfig(scoring=ScoringConfig(lone_cells=False)))
    flags = [r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
             .select("account_id", "cluster_id", pl.col("flagged").fill_null(False)).sort("account_id") for r in (on, off)]
    assert flags[0].equals(flags[1])
