"""The scoring stage: score the clusters, detach fleet outsiders, rescore, group campaigns, spread flags.

:func:`scoring_stage` is the step of :func:`graphlink.pipeline.run_detect` (and of the Spark engine) between
communities and stable ids; :class:`Scored` is what it hands on. Split out of :mod:`graphlink.pipeline` (module size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from graphlink.config import PipelineConfig
from graphlink.contract import EVIDENCE_SCHEMA
from graphlink.stages.bursts import with_burst_reason
from graphlink.stages.campaign_flags import flag_with_campaign, operator_ties, pooled_partition, substantial_campaigns
from graphlink.stages.campaign_wholes import tied_wholes
from graphlink.stages.campaigns import MIN_TIE_VALUES, score_campaigns
from graphlink.stages.communities import renumber
from graphlink.stages.cotiming import with_co_timing_reason
from graphlink.stages.feature_reuse import ClusterReuse
from graphlink.stages.evidence import cluster_evidence, shared_in_clusters, top_per_kind
from graphlink.stages.ingest import Events
from graphlink.stages.join_notes import with_grouping_reason
from graphlink.stages.pool_pieces import pool_pieces
from graphlink.stages.lone_cells import lone_cells
from graphlink.stages.card_campaigns import card_campaigns
from graphlink.stages.cell_pieces import cell_pieces
from graphlink.stages.batch_cells import batch_cells, joined_clusters, member_moves, moved_partition, with_batch_reason
from graphlink.stages.block_pieces import block_moves, carry_joins
from graphlink.stages.bound_blocks import bound_gave_note, bound_moves, bound_note
from graphlink.stages.sibling_parts import carry_parts, part_origins, sibling_moves
from graphlink.stages.card_cells import card_cell_moves, card_kinds, card_note
from graphlink.stages.launch_cells import launch_moves, launch_note
from graphlink.stages.batch_judgement import (carry_evidence, carry_judgement, carry_shared, cluster_origins, judged_moves, moves_made_later,
                                              remnants_followed)
from graphlink.stages.network_cells import network_cells, piece_campaigns, with_join_reason
from graphlink.stages.misplaced import misplaced_stage
from graphlink.stages.outsiders import set_apart_members
from graphlink.stages.set_apart import set_apart_table
from graphlink.stages.schedules import scheduled_accounts
from graphlink.stages.sleepless import sleepless_accounts
from graphlink.stages.cluster_features import clustered_affiliations, scored_memberships
from graphlink.stages.scoring import score_clusters
from graphlink.stages.small_cells import strong_clusters
from graphlink.stages.passage_ties import quiet_clusters
from graphlink.stages.split_guard import held_blocks, held_why, wording_wholes
from graphlink.stages.tie_evidence import with_tie_evidence
from graphlink.stages.tie_table import campaign_tie_table

@dataclass
class Scored:
    """What :func:`scoring_stage` hands on: the final partition, its shared values and tables."""

    partition: pl.DataFrame
    shared: pl.DataFrame
    evidence: pl.DataFrame
    clusters: pl.DataFrame
    detached: int
    campaigns: pl.DataFrame
    ties: pl.DataFrame | None = None  # campaign_ties.parquet: the values each campaign's why counts
    set_apart: pl.DataFrame | None = None  # the members clusters lost after Leiden, and why (graphlink.stages.set_apart)


def scoring_stage(partition: pl.DataFrame, index: pl.DataFrame, ev: Events, signal_set: Any, projection: Any,
                  activity_idx: pl.DataFrame, config: PipelineConfig, wholes: pl.DataFrame | None = None,
                  minutes_idx: pl.DataFrame | None = None, schedules: pl.DataFrame | None = None) -> Scored:
    """Score, detach fleet outsiders, rescore; campaigns from ``wholes`` when given (:func:`graphlink.stages.blocks.split_wholes`); ``minutes_idx``
    (:func:`graphlink.stages.drilldown.account_minutes`): which accounts run on a schedule (``schedules``, :func:`scheduled_accounts`, when known)."""
    c = config.communities
    if c.misplaced_members:  # a member paying only with another cluster's cards, tied to it beside them, moves there first (misplaced)
        partition, wholes, projection.joins = misplaced_stage(partition, wholes, projection, config.graph, c, index.height)
    pieces, (split_from, wholes) = partition, wording_wholes(wholes)  # network_cells joins pieces (campaigns from them); split_guard
    partition = network_cells(partition, projection.memberships, projection.signals, index, c.min_cluster_size,
                              totals=projection.network_events, tools=c.client_cells,
                              hours=activity_idx if c.network_cell_clocks and "timestamp" in ev.columns else None) if c.network_cells else partition
    nets = partition  # then short-lived batches' pieces (graphlink.stages.batch_cells): a network join holding a long-lived cell is no batch
    if c.batch_cells and "timestamp" in ev.columns:
        partition = batch_cells(partition, projection.memberships, projection.signals, activity_idx, c.min_cluster_size, index=index)
    batches = partition  # batch members: found here, where card groups still hold the batch's accounts; made after the judgement
    moves = (member_moves(partition, projection.memberships, projection.signals, activity_idx, index=index)
             if c.batch_cells and c.batch_members and "timestamp" in ev.columns else None)
    hour_counts = None if "timestamp" not in ev.columns else activity_idx.group_by("account_idx", "hour").agg(
        pl.col("events").sum().alias("n")).join(index.select("account_idx", "account_id"), on="account_idx").select("account_id", "hour", "n")
    schedules = schedules if schedules is not None else scheduled_accounts(minutes_idx, signal_set.account_stats) if minutes_idx is not None and "timestamp" in ev.columns else None
    if config.scoring.sleepless_members and minutes_idx is not None and schedules is not None:  # every member tested: a sleepless one need not be mostly scripted
        schedules = scheduled_accounts(minutes_idx).join(sleepless_accounts(
            activity_idx.group_by("account_idx", "hour").agg(pl.col("events").sum().alias("n")), on="account_idx"), on="account_idx", how="left")
    # Every step below reads only clustered accounts' affiliations, and clusters only lose members from here
    # (fleet outsiders): cut them out of the 38M once, instead of joining the whole table in a dozen steps.
    affiliations = clustered_affiliations(projection.memberships, partition)
    # Both scoring passes read the same few kinds: cut their affiliations out once.
    scoring_rows = scored_memberships(affiliations, projection.signals)

    def rate(partition: pl.DataFrame, shared: pl.DataFrame | None = None, whole: bool = False,
             reuse: ClusterReuse | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
        evidence = (cluster_evidence(affiliations, projection.signals, partition, config.scoring.evidence_per_kind, shared)
                    if shared is not None else pl.DataFrame(schema=EVIDENCE_SCHEMA))
        return evidence, score_clusters(partition, index, scoring_rows, projection.signals, evidence,
                                        ev.frame, signal_set.account_stats, config.scoring, signal_set.value_counts,
                                        hour_counts, affiliations, whole, schedules, reuse)
    def score(partition: pl.DataFrame, shared: pl.DataFrame | None = None, whole: bool = False,
              reuse: ClusterReuse | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
        evidence, clusters = rate(partition, shared, whole, reuse)  # the guard rescores with rate: a self-calling score was a cycle only a full GC freed
        return evidence, held_blocks(clusters, partition, None if whole else split_from, lambda p: rate(p)[1], config.scoring.flag_threshold, config.scoring.min_flag_size)

    # A provisional pass finds fleet outsiders: flags do not depend on the evidence table (it only words the "why").
    # The final pass's clusters only lose members: features of a cluster's own members are kept for those that lose none.
    reuse = ClusterReuse()
    _, provisional = score(partition, reuse=reuse)
    outsiders = set_apart_members(partition, provisional, signal_set.value_counts, config.scoring,
                                  affiliations, projection.signals, config.graph, signal_set.account_stats)
    judged = partition  # what the provisional scoring judged: set_apart.parquet names what it lost, and why
    if outsiders.height:  # detached members leave their cluster; clusters are renumbered and rescored
        detached = partition.with_columns(pl.when(pl.col("account_idx").is_in(outsiders["account_idx"].implode())).then(None)
                                          .otherwise(pl.col("cluster_id")).alias("cluster_id"))
        partition = renumber(detached, config.communities.min_cluster_size)
    # Values shared inside the final clusters, cut once to what the evidence and the drill-down list (a longest list's top values contain every shorter one's).
    shared = shared_in_clusters(affiliations, partition)
    listed_per_kind = config.drilldown.member_values_per_kind
    if listed_per_kind > 0:
        shared = top_per_kind(shared, max(listed_per_kind, config.scoring.evidence_per_kind), projection.signals)
    cut = (lambda s: top_per_kind(s, max(listed_per_kind, config.scoring.evidence_per_kind), projection.signals)) if listed_per_kind > 0 else None

    def recounted(shared: pl.DataFrame, evidence: pl.DataFrame, origins: pl.DataFrame, partition: pl.DataFrame,
                  changed_when: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
        # After a move (batch members, sibling parts, block pieces): shared values carried, evidence counted again only
        # for the clusters ``changed_when`` picks from ``origins`` (a second count of every cluster: ~0.3 GB more at 224k).
        shared = carry_shared(shared, origins, affiliations, partition, cut)
        changed = origins.filter(changed_when).select("cluster_id")
        return shared, carry_evidence(evidence, origins, cluster_evidence(
            affiliations, projection.signals, partition.join(changed, on="cluster_id"), config.scoring.evidence_per_kind,
            shared.join(changed, on="cluster_id", how="semi")))
    evidence, clusters = score(partition, shared, reuse=reuse)
    del reuse  # (the first pass's features, no longer needed)
    timed = projection.co_timed is not None and projection.co_timed.height
    clusters = with_burst_reason(with_co_timing_reason(clusters, partition, projection.co_timed) if timed else clusters, evidence)
    if c.network_cells and batches is nets:
        clusters = with_join_reason(clusters, pieces, partition, affiliations, projection.signals)
    elif c.network_cells:  # each join said by its own step: the network's counts only the clusters it joined
        net_only = nets.filter(pl.col("cluster_id").is_in(joined_clusters(pieces, nets).implode())).select("account_idx")
        clusters = with_join_reason(clusters, pieces.join(net_only, on="account_idx", how="semi"),
                                    partition.join(net_only, on="account_idx", how="semi"), affiliations, projection.signals)
    clusters = with_batch_reason(clusters, nets, batches, partition) if batches is not nets else clusters
    clusters = with_grouping_reason(clusters, getattr(projection, "joins", None), partition, projection.signals)  # own values, hub twins
    # Campaigns: the final clusters grouped by operator (a split whole's blocks as one unless evidence places them apart).
    wholes = tied_wholes(partition, wholes, affiliations, projection.signals, config.graph, c, index.height)
    campaign_of = piece_campaigns(partition, wholes if wholes is not None else pieces if c.network_cells else None,
                                  affiliations, projection.signals, config.graph, c, index.height)
    clusters = clusters.drop("campaign_id", strict=False).join(campaign_of, on="cluster_id", how="left")
    pooled = None
    if config.scoring.flag_campaigns:
        loud = clusters.filter("flagged")["cluster_id"]
        tied = substantial_campaigns(campaign_of, partition, affiliations, projection.signals, config.graph, loud)
        if config.scoring.pool_campaigns:
            # Campaigns none of whose clusters is loud scored as a whole (a pool shows across cells: ScoringConfig.pool_campaigns).
            whole = pooled_partition(campaign_of, partition, clusters, tied, config.scoring.flag_threshold)
            if whole.height:
                pooled = score(whole, whole=True)[1].select(pl.col("cluster_id").alias("campaign_id"), "size", "score", "why")
        # Flags spread along an operator's values (not by campaign placement), and to strong small cells.
        # One pasted passage is one piece of evidence: it ties no cluster showing nothing of a fleet itself (passage_ties).
        quiet = quiet_clusters(clusters, config.scoring.component_weights) if config.scoring.passage_ties else None
        operators = operator_ties(campaign_of, partition, affiliations, projection.signals, loud, config.graph,
                                  strong=strong_clusters(clusters), quiet=quiet)
        clusters = flag_with_campaign(clusters, config.scoring.flag_threshold, config.scoring.min_flag_size, tied, pooled, operators)
        evidence = with_tie_evidence(evidence, operators, clusters, partition, affiliations, projection.signals)  # what tied each
    if config.scoring.pool_pieces:  # a flagged cell left alone joins the campaign whose closed address pool it draws from (flags as they are)
        clusters = pool_pieces(clusters, partition, affiliations, projection.signals, c.campaign_resolution, MIN_TIE_VALUES)
    if config.scoring.lone_cells:  # a flagged cell left alone joins the larger campaign whose whole it resembles (flags as they are)
        clusters = lone_cells(clusters, partition, affiliations, projection.signals, config.graph, c, index.height)
    moves = moves_made_later(batches, moves, partition) if moves is not None and moves.height else None
    moves = judged_moves(moves, partition, clusters) if moves is not None and moves.height else None  # only out of the operator's clusters
    if moves is not None and moves.height:  # an account the moves leave alone follows its mates when its card or addresses tie it to them
        moves = remnants_followed(moves, partition, clusters, affiliations, projection.signals, c.min_cluster_size, config.graph)
    if moves is not None and moves.height:  # batch members: after the judgement, which they keep
        before, partition = partition, renumber(moved_partition(partition, moves), c.min_cluster_size)
        origins = cluster_origins(before, partition, moves)
        clusters = carry_judgement(clusters, origins, before, partition)
        # Only the clusters that took or gave members are counted again.
        shared, evidence = recounted(shared, evidence, origins, partition, (pl.col("took") > 0) | (pl.col("gave") > 0))
    # Card campaigns after batch members: a campaign move made before them would change which accounts they may move (only
    # out of a cluster flagged or in the batch's campaign), and so a flag; here every flag is final.
    # Sibling parts, next, part clusters; each part keeps its cluster's campaign.
    if config.scoring.card_campaigns:  # a campaign of several flagged cells joins the larger one it shares cards with beyond chance (flags as they are)
        clusters = card_campaigns(clusters, partition, affiliations, projection.signals, config.graph, index.height, config=c)
    bound = (bound_moves(clusters, partition, affiliations, projection.signals, c.min_cluster_size, config.graph.clique_limit, split_from=split_from)
             if config.scoring.bound_blocks else None)
    if bound is not None and bound.height:  # bound blocks: a cell's pieces on one network or card of its own gather, before sibling parts
        before, partition = partition, renumber(moved_partition(partition, bound), c.min_cluster_size)
        origins = cluster_origins(before, partition, bound)
        clusters = carry_joins(clusters, origins, partition, note=bound_note, gave_note=bound_gave_note)
        shared, evidence = recounted(shared, evidence, origins, partition, (pl.col("took") > 0) | (pl.col("gave") > 0))
    parts = (sibling_moves(clusters, partition, affiliations, projection.signals, activity_idx, config.scoring.min_flag_size,
                           sittings=config.scoring.sibling_sittings)
             if config.scoring.sibling_parts and "timestamp" in ev.columns else None)
    if parts is not None and parts.height:  # sibling parts: a flagged union of an operator's cells parted by creation burst; judgement kept
        before, partition = partition, renumber(moved_partition(partition, parts), c.min_cluster_size)
        clusters = carry_parts(clusters, before, partition)
        origins = part_origins(before, partition)
        shared, evidence = recounted(shared, evidence, origins, partition, pl.col("gave") > 0)
    # Phrases part card groups only where the wording split may part cells by their templates (wording cells off: no).
    parts = (card_cell_moves(clusters, partition, affiliations, projection.signals, minutes_idx, config.scoring.min_flag_size,
                             kinds=card_kinds(config.communities.wording_cells)) if config.scoring.card_cells else None)
    if parts is not None and parts.height:  # card cells: a flagged cluster's card groups behaving apart on a pool parted; judgement kept
        before, partition = partition, renumber(moved_partition(partition, parts), c.min_cluster_size)
        clusters = carry_parts(clusters, before, partition, note=card_note)
        origins = part_origins(before, partition)
        shared, evidence = recounted(shared, evidence, origins, partition, pl.col("gave") > 0)
    launch = launch_moves(clusters, partition, index) if config.scoring.launch_cells else None
    if launch is not None and launch.height:  # launch cells: a campaign's flagged pieces (parted as above) started and stopped together gather
        before, partition = partition, renumber(moved_partition(partition, launch), c.min_cluster_size)
        origins = cluster_origins(before, partition, launch)
        clusters = carry_joins(clusters, origins, partition, note=launch_note)
        shared, evidence = recounted(shared, evidence, origins, partition, pl.col("took") > 0)
    joins = block_moves(clusters, partition, affiliations, projection.signals, pieces=pieces) if config.scoring.block_pieces else None
    if joins is not None and joins.height:  # block pieces: flagged pieces of one campaign's address block, after the judgement
        before, partition = partition, renumber(moved_partition(partition, joins), c.min_cluster_size)
        origins = cluster_origins(before, partition, joins)
        clusters = carry_joins(clusters, origins, partition)
        shared, evidence = recounted(shared, evidence, origins, partition, pl.col("took") > 0)
    if config.scoring.cell_pieces:  # opt-in: a piece every member of which draws from a flagged cell's own exits / cards is judged with it
        clusters = cell_pieces(clusters, partition, affiliations, projection.signals, lambda merged: set_apart_members(  # judged as its cell's members
            merged, clusters, signal_set.value_counts, config.scoring, affiliations, projection.signals, config.graph, signal_set.account_stats))
    campaigns = score_campaigns(clusters, partition, affiliations, projection.signals, config.graph, pooled)
    ties = campaign_tie_table(clusters, partition, affiliations, projection.signals, config.graph)
    lost = set_apart_table(judged, outsiders, provisional.select("cluster_id", "flagged"), partition)
    return Scored(partition, shared, evidence, held_why(clusters).drop("flagged_own", strict=False), outsiders.height, campaigns, ties, lost)
