"""Scoring: how suspicious each cluster is, and why.

Community detection finds *linked* groups; most linked groups are innocent
(offices behind one NAT, families on one card, teams running one batch job).
The score asks whether a group behaves like a fleet of fake accounts run by one
operator. It is built from interpretable components, each in 0..1 (null when
the input lacks the data) and stored as a column of ``clusters.parquet``:

========================= =================================================================
component                 abuse pattern it looks for
========================= =================================================================
``payment_reuse``         Cards shared across accounts that otherwise look unrelated: fleets
                          pay from a small pool of cards. ``1 - cards / accounts with a
                          card``, times ``1 - org_coherence`` (a team on one corporate card
                          is related by its own domain).
``ip_spread``             Residential-proxy rotation: the median member (at most the 2nd largest: group_count) uses many /24 (or
                          /48) networks, plus fast IPv6 /64 changes (signals.ip_lines). ``log(median networks / 3) / log(10)``: home,
                          office and phone (3) is 0, thirty or more is 1.
``template_share``        Templated extraction prompts: share of members' requests (sampled
                          prompts, each weighed by its events) whose prompt shares a passage
                          of 8 or more 5-word shingles (12 words; 20 in spaceless scripts)
                          with other accounts' prompts (``TEMPLATE_SHINGLES``): an instruction
                          an operator scripts, not a stock request of a few words.
``timing_sync``           Scripted clocks: share of members whose active-minute profile
                          matches another member's (they share a timing MinHash band); null
                          only when no member has a timestamped event.
``card_pool``             A pool of cards: ``1 - 1 / n`` for ``n`` cards each paying for three
                          or more members (a card two people share is a couple's). Payment providers limit accounts per card, so an
                          operator needing many accounts pays from several cards; a company
                          or a family pays with one (0). Times ``1 - card_alignment``:
                          organisations merged into one cluster each keep their own card
                          *and* their own address, template or clock; an operator's cards
                          cross its proxies, template and clock (:mod:`graphlink.stages.card_pools`).
                          Times the members' mean template share (each member's share of
                          its own sampled prompts that are scripted, averaged over members;
                          when prompts were read): a pool pays for a fleet whose accounts
                          all send its template, however much camouflage each mixes in;
                          staff on a card per office or department write their own
                          requests, and a company's few busy cron accounts stay a few
                          accounts (the share of *prompts* let their volume speak for all).
                          With ``[scoring] pool_carriers``, at least the share of members
                          carrying the template above one half (:mod:`graphlink.stages.pool_carriers`).
``scripted_accounts``     Load spread over accounts: one payer running one script from many
                          accounts to stay under per-account limits. The share of members
                          whose sampled requests are mostly (half or more) the cluster's own
                          template, not on a schedule (:mod:`graphlink.stages.schedules`:
                          runs starting at one phase of the hour or of a period dividing
                          it are a company's job) and not on a card whose holders work from
                          an office (:func:`graphlink.stages.card_pools.office_members`),
                          above one half (``2 * share - 1``), times ``1 - cards / accounts
                          with a card``. A company's scripted accounts are a few service
                          accounts, a fleet's all. Null without timestamps, prompts or cards.
                          With ``[scoring] sleepless_members`` a member that never sleeps counts
                          too (:mod:`graphlink.stages.sleepless`).
``around_the_clock``      Bots do not sleep: hours of the UTC day with at least a quarter
                          of the mean hourly activity; 12 such hours or fewer is 0, all 24
                          is 1.
``creation_burst``        Accounts created in bulk: share of members created in a creation
                          hour shared by at least 3 members.
``short_lived``           Throwaway accounts: share of members that sent at least 10
                          requests within 48 h and were then silent for 48 h or more
                          before the log ends (null in logs shorter than 6 days).
                          Operators discard accounts (bans, a new model); a company's
                          stay in use.
``volume``                Load spread over accounts is still heavy per account: median (at most the 2nd largest)
                          events per member against the median account,
                          ``log(ratio) / log(10)``.
``org_coherence``         Benign counter-evidence: share of members whose email domain is
                          (mostly) private to the cluster — one company's domain, not a
                          free-mail or disposable provider shared by the population.
========================= =================================================================

The components fall in two groups. *Coordination* (payment reuse, templates,
timing, volume) says one operator drives the accounts — but a company's batch
jobs on its corporate card are coordinated too. *Evasion* (IP spread, card
pool, scripted accounts, creation bursts, short-lived accounts, around the clock) is the tooling of
fake accounts: proxies, card pools, load spread over accounts, bulk sign-up, throwaway accounts, bots
that never sleep. The score is their
geometric mean, discounted for a private domain as far as proxy rotation and a
card pool (``tooling``, the larger of the two), which no company's own domain
explains, are absent::

    score = sqrt(coordination * evasion) * (1 - org_discount * org_coherence * (1 - tooling))

Coordination is the noisy-or of its weighted components, ``1 - prod(1 - w*c)``:
any one sign of a single operator is evidence and several add up, as
independent evidence does (a cluster sharing cards but sending no templates is
no less coordinated). Evasion is the strongest weighted tooling sign: a fleet
needs only one tool, and averaging a card pool with the proxies it does not
use hid it. ``around_the_clock`` weighs 0.3 because companies' batch jobs run
all day too, so it never flags alone: with the default threshold 0.6, a flag
needs ``evasion >= 0.36`` (two or more pooled cards, proxy rotation, bulk
sign-up, most accounts on few cards running one unscheduled script). On dev seeds of the scenario family (:mod:`graphlink.lab.simulate`)
the benign teams' scores stayed at or below 0.55.

None of these constants come from a simulator: each transfer function maps a
count to 0..1 at a point an investigator would call "clearly abnormal".

Output schema (:func:`score_clusters`)
--------------------------------------
``cluster_id`` Int64, ``size`` UInt32, ``score`` Float64, ``flagged`` Boolean,
the components above (Float64), ``kinds`` List(String) (signal kinds with
linking evidence, strongest first), ``top_values`` List(String)
(``kind=value`` of the most shared evidence), ``why`` String (the top three
reasons with their numbers).
"""

from __future__ import annotations


import polars as pl

from graphlink.config import ScoringConfig
from graphlink.stages.cluster_features import (SCORED_KINDS, account_hours, cluster_features, clustered_affiliations,
                                               linked_own, scored_memberships)
from graphlink.stages.evidence import evidence_summary
from graphlink.stages.feature_reuse import ClusterReuse
from graphlink.stages.components import ORG_UNEXPLAINED, component_exprs, reason_exprs
from graphlink.stages.pool_carriers import pool_template_share
from graphlink.config.kinds import kinds_text_expr
from graphlink.contract import CLUSTERS_SCHEMA as CLUSTER_SCHEMA, COMPONENTS, COORDINATION, EVASION

#: Kept importable from here (they lived in this module until session 49; tests and callers import them).
__all__ = ["COMPONENTS", "SCORED_KINDS", "account_hours", "cluster_features", "clustered_affiliations", "linked_own",
           "score_clusters", "scored_memberships"]


def score_clusters(clusters: pl.DataFrame, index: pl.DataFrame, memberships: pl.DataFrame,
                   signals: pl.DataFrame, evidence: pl.DataFrame, events: pl.LazyFrame | None = None,
                   account_stats: pl.DataFrame | None = None,
                   config: ScoringConfig | None = None, value_counts: pl.DataFrame | None = None,
                   hour_counts: pl.DataFrame | None = None,
                   affiliations: pl.DataFrame | None = None, whole: bool = False,
                   schedules: pl.DataFrame | None = None, reuse: ClusterReuse | None = None) -> pl.DataFrame:
    """Score, flag and explain clusters (schema in the module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``account_idx, cluster_id`` from :func:`graphlink.stages.communities.detect_communities`.
    index : DataFrame
        Account index (``account_idx, account_id, events`` and, with an accounts
        file, ``created_at, email_domain``).
    memberships, signals : DataFrame
        Bipartite edges and weighted signal table from :func:`graphlink.stages.graph.project`.
    evidence : DataFrame
        From :func:`graphlink.stages.evidence.cluster_evidence`.
    events : LazyFrame, optional
        Canonical events (for the hour-of-day profile).
    account_stats : DataFrame, optional
        ``account_idx, prompts_sampled, prompts_scripted`` (and more) from signal extraction.
    config : ScoringConfig
    value_counts : DataFrame, optional
        ``account_idx, kind, n_values`` (IPs and networks per account).
    hour_counts : DataFrame, optional
        :func:`account_hours` of (at least) the clustered accounts; computed
        from ``events`` when not given.
    affiliations : DataFrame, optional
        ``account_idx, signal_idx`` of every kind (the projection's
        memberships): with them a card pool counts only as far as the cards are
        not each one organisation's (:func:`graphlink.stages.card_pools.card_alignment`).
    whole : bool
        Each row of ``clusters`` is a campaign scored as a whole: the cards' alignment is
        :func:`graphlink.stages.card_pools.card_units` (each card's own evidence), not what the
        campaign's clusters share.
    schedules : DataFrame, optional
        :func:`graphlink.stages.schedules.scheduled_accounts` of the clustered accounts; without it
        (no timestamps) ``scripted_accounts`` is null.
    reuse : ClusterReuse, optional
        Features of a cluster's own members kept from an earlier pass over a partition whose clusters this
        one's only lost members of (:class:`graphlink.stages.feature_reuse.ClusterReuse`): the same result,
        computed for the changed clusters only. Source: session 49 (perf49), the campaign preset's second
        scoring pass.
    """
    config = config or ScoringConfig()
    members = clusters.drop_nulls("cluster_id")
    feats = cluster_features(members, index, memberships, signals, events, account_stats, value_counts,
                             hour_counts, affiliations, whole, schedules, reuse, config.pool_carriers)
    needed = {"cards", "card_accounts", "shared_cards", "networks_per_account", "lines_per_account", "ips", "template_prompts",
              "prompts_sampled", "template", "synced_accounts", "timed_accounts", "active_hours",
              "burst_created", "created_known", "burst_hours", "median_events", "typical_events",
              "private_domain_accounts", "domain_known", "domains", "seen_accounts", "short_lived_accounts",
              "card_alignment", "member_template_share", "scripted_members", "prompt_members", "sleepless_members",
              "template_carriers"}
    feats = feats.with_columns([pl.lit(None, pl.Float64).alias(n) for n in sorted(needed - set(feats.columns))])
    feats = feats.with_columns(pl.col("template").cast(pl.String),
                               pl.col(sorted(needed - {"template"})).cast(pl.Float64))
    if config.pool_carriers:  # a pool counted as far as most members carry the template (graphlink.stages.pool_carriers)
        feats = feats.with_columns(pool_template_share())
    comps = component_exprs()
    feats = feats.with_columns([comps["org_coherence"].cast(pl.Float64).alias("org_coherence")])
    feats = feats.with_columns([comps[c].cast(pl.Float64).alias(c) for c in COMPONENTS if c != "payment_reuse"])
    feats = feats.with_columns(
        (comps["payment_reuse"] * (1 - pl.col("org_coherence").fill_null(0))).cast(pl.Float64).alias("payment_reuse"))
    feats = feats.with_columns(
        # Null (n/a) only without timestamps (0: none acts in the same minutes as another); the score reads null as 0.
        pl.when((pl.col("timed_accounts").fill_null(0) > 0) | pl.col("active_hours").is_not_null())
        .then(pl.col("timing_sync")).otherwise(None)
        .alias("timing_sync"),
        pl.when(pl.col("template_prompts").is_not_null()).then(pl.col("template_share"))
        .otherwise(pl.when(pl.col("prompts_sampled").is_not_null()).then(0.0)).alias("template_share"),
    )
    weights = config.component_weights

    # Coordination: any one sign of a single operator (shared cards, templates, a shared
    # clock, heavy volume) is evidence; several add up as independent evidence would
    # (noisy-or: 1 - prod(1 - w * c)). Evasion: the strongest sign of fleet tooling
    # (a card pool, proxy rotation, bulk sign-up); around-the-clock activity weighs
    # 0.3 because companies' batch jobs run all day too.
    noisy_or = 1 - pl.fold(pl.lit(1.0), lambda acc, x: acc * x,
                           [1 - (pl.col(c).fill_null(0) * weights.get(c, 0.0)).clip(0, 1) for c in COORDINATION])
    feats = feats.with_columns(noisy_or.alias("coordination"),
                               pl.max_horizontal([pl.col(c).fill_null(0) * weights.get(c, 0.0)
                                                  for c in EVASION]).alias("evasion"))
    # Geometric mean: a fleet is coordinated AND hides behind fake-account tooling.
    # A private email domain is counter-evidence for what a company does for its own
    # reasons (one card, one NAT, one schedule, a sign-up day); it explains neither
    # proxy rotation nor a pool of cards, so it discounts only as far as those are absent.
    tooling = pl.max_horizontal([pl.col(c).fill_null(0) * weights.get(c, 0.0) for c in ORG_UNEXPLAINED]).clip(0, 1)
    feats = feats.with_columns(
        ((pl.col("coordination") * pl.col("evasion")).sqrt()
         * (1 - config.org_discount * pl.col("org_coherence").fill_null(0) * (1 - tooling))).alias("score"))
    feats = feats.with_columns(
        ((pl.col("size") >= config.min_flag_size) & (pl.col("score") >= config.flag_threshold)).alias("flagged"))

    # Why: the three components contributing most, each with its numbers.
    reasons = reason_exprs()
    contrib = [pl.struct((pl.col(c).fill_null(0) * weights.get(c, 0.0)).alias("v"), pl.lit(i).alias("pos"),
                         reasons[c].alias("text")) for i, c in enumerate(COMPONENTS)]
    feats = feats.with_columns(pl.concat_list(contrib).alias("_r"))
    why = (
        feats.select("cluster_id", "_r").explode("_r").unnest("_r")
        .filter((pl.col("v") > 0.05) & pl.col("text").is_not_null())
        .sort(["cluster_id", "v", "pos"], descending=[False, True, False])  # ties: component order
        .group_by("cluster_id", maintain_order=True).head(3)
        .group_by("cluster_id", maintain_order=True).agg(pl.col("text").str.join("; ").alias("why"))
    )
    kinds, top = evidence_summary(evidence)
    out = (
        feats.drop("_r")
        .join(why, on="cluster_id", how="left")
        .join(kinds, on="cluster_id", how="left")
        .join(top, on="cluster_id", how="left")
        .with_columns(pl.col("kinds").fill_null(pl.lit([], pl.List(pl.String))),
                      pl.col("top_values").fill_null(pl.lit([], pl.List(pl.String))))
        .with_columns(pl.when(pl.col("why").is_null() | (pl.col("why") == ""))
                      .then(pl.concat_str([pl.lit("linked by "), kinds_text_expr("kinds")]))  # kinds by name
                      .otherwise(pl.col("why")).alias("why"))
        .sort("cluster_id")
    )
    # Campaigns are assigned after scoring (graphlink.stages.campaigns).
    out = out.with_columns(pl.lit(None, pl.Int64).alias("campaign_id"))
    return out.select(list(CLUSTER_SCHEMA.names())).cast(dict(CLUSTER_SCHEMA))
