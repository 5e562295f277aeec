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


import numpy as np
import polars as pl

from graphlink.config import ScoringConfig
from graphlink.stages.card_pools import POOL_HOLDERS, card_alignment, card_units, office_members
from graphlink.stages.evidence import evidence_summary
from graphlink.stages.schedules import request_columns, unscheduled_scripted
from graphlink.stages.signals.prompt import TEMPLATE_SHINGLES
from graphlink.stages.components import (group_count, ORG_UNEXPLAINED, SHORT_LIVED_EVENTS, SHORT_LIVED_HOURS, component_exprs,
                                         reason_exprs)
from graphlink.config.kinds import kinds_text_expr
from graphlink.contract import CLUSTERS_SCHEMA as CLUSTER_SCHEMA, COMPONENTS, COORDINATION, EVASION


def _member_kind(memberships: pl.DataFrame, signals: pl.DataFrame, members: pl.DataFrame, kind: str) -> pl.DataFrame:
    """``cluster_id, account_idx, signal_idx, count, df`` for members' values of one kind."""
    ids = signals.filter(pl.col("kind") == kind).select("signal_idx", "df", "value")
    return memberships.join(ids, on="signal_idx").join(members, on="account_idx")


def account_hours(events: pl.LazyFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_id, hour, n``: events per UTC hour of day of the given accounts.

    Computed once per run and shared by every scoring pass.
    """
    return (
        events.select("account_id", pl.col("timestamp").dt.hour().alias("hour")).drop_nulls()
        .join(accounts.lazy().select("account_id"), on="account_id", how="semi")
        .group_by("account_id", "hour").agg(pl.len().alias("n"))
        .collect()
    )


def linked_own() -> pl.Expr:
    """Per prompt membership row (all clusters' members): its shingle's holders in clusters outnumber those in none."""
    return (clustered := pl.len().over("signal_idx").cast(pl.Int64)) > pl.col("df").cast(pl.Int64) - clustered


def _own_template(prompts: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, own``: does a member hold a prompt passage mostly its cluster's?

    ``prompts``: :func:`_member_kind` of kind ``prompt`` over every cluster's members. A shingle is linked accounts'
    own (an operator's, a company's: :func:`linked_own`), and a member owns a template when it holds
    :data:`~graphlink.stages.signals.prompt.TEMPLATE_SHINGLES` such shingles (a passage, not where a public prompt
    meets its fill: "you must answer" + a word). A public agent framework's prompt that 40 staff and 60 developers whom nothing links
    send is no one's template (break-it review, session 13). An operator's template is its
    clustered cells' however many cells share it: counted per cluster (this cluster's members
    against the unclustered holders), a cell of 17 at 224,000 accounts did not own the template
    13,000 clustered accounts of its operator and 400 unclustered ones send (independent dev world
    2). Members holding no prompt phrase are absent (their share is taken as it is)."""
    return (prompts.select("account_idx", linked_own().alias("own"))
            .group_by("account_idx").agg(pl.col("own").sum() >= TEMPLATE_SHINGLES))


#: The kinds whose memberships scoring reads (IPs are counted from value_counts).
SCORED_KINDS = ("payment", "prompt", "timing")


def scored_memberships(memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """The memberships of the kinds scoring reads: a few million of the tens of millions.

    Idempotent, so a caller scoring several times (the pipeline does) cuts them once.
    """
    wanted = signals.filter(pl.col("kind").is_in(SCORED_KINDS)).select("signal_idx")
    return memberships.join(wanted, on="signal_idx", how="semi", maintain_order="left")


def clustered_affiliations(memberships: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``memberships`` whose account is in a cluster of ``partition``, in their order.

    A filter through a per-account mask (a gather), not a join: the scoring
    steps see the same rows in the same order as when each joined the whole
    table to the partition itself.
    """
    clustered = partition.drop_nulls("cluster_id")["account_idx"]
    if memberships.is_empty() or clustered.is_empty():
        return memberships.clear()
    size = int(max(memberships["account_idx"].max(), clustered.max())) + 1
    mask = np.zeros(size, dtype=bool)
    mask[clustered.to_numpy()] = True
    return memberships.filter(pl.lit(pl.Series(mask)).gather(pl.col("account_idx")))


def cluster_features(members: pl.DataFrame, index: pl.DataFrame, memberships: pl.DataFrame,
                     signals: pl.DataFrame, events: pl.LazyFrame | None,
                     account_stats: pl.DataFrame | None, value_counts: pl.DataFrame | None = None,
                     hour_counts: pl.DataFrame | None = None, affiliations: pl.DataFrame | None = None,
                     whole: bool = False, schedules: pl.DataFrame | None = None) -> pl.DataFrame:
    """Raw per-cluster facts the components are computed from (one row per cluster)."""
    sizes = members.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("size"))
    feats = sizes
    if affiliations is not None:
        # Are the shared cards a pool, or one card per organisation merged into the cluster?
        feats = feats.join((card_units if whole else card_alignment)(members, affiliations, signals), on="cluster_id", how="left")
    memberships = scored_memberships(memberships, signals).join(
        members.select("account_idx"), on="account_idx", how="semi")

    # Payment: accounts with a card and distinct cards among them.
    pay = _member_kind(memberships, signals, members, "payment")
    feats = feats.join(
        pay.group_by("cluster_id").agg(pl.col("account_idx").n_unique().alias("card_accounts"),
                                       pl.col("signal_idx").n_unique().alias("cards")),
        on="cluster_id", how="left")
    # Cards each paying for several (3 or more) members: a pool, not one corporate or
    # family card, nor a card a couple shares.
    feats = feats.join(
        pay.group_by("cluster_id", "signal_idx").agg(pl.len().alias("holders")).filter(pl.col("holders") >= POOL_HOLDERS)
        .group_by("cluster_id").agg(pl.len().alias("shared_cards")), on="cluster_id", how="left")

    # IPs: addresses and networks per member (shared or not), the median over members, at most the 2nd largest (group_count).
    if value_counts is not None and value_counts.height:
        per_member = value_counts.join(members, on="account_idx").pivot(
            on="kind", index=["cluster_id", "account_idx"], values="n_values")
        for kind, name in (("ip", "ips"), ("ip_net", "networks_per_account"), ("ip_lines", "lines_per_account")):
            if kind in per_member.columns:
                feats = feats.join(per_member.group_by("cluster_id").agg(group_count(kind).alias(name)),
                                   on="cluster_id", how="left")

    # Prompts: share of members' sampled requests whose prompt shares a passage with other accounts.
    # Whether a cluster sent prompts is its own members' fact: a run where no clustered account shares
    # a shingle still read prompts, and each share is 0, not unknown (break-it review, session 13).
    if account_stats is not None and account_stats.height:
        sent, scripted = request_columns(account_stats)
        prompts = _member_kind(memberships, signals, members, "prompt")
        stats = account_stats.join(members, on="account_idx").join(_own_template(prompts), on="account_idx", how="left")
        stats = stats.join(schedules, on="account_idx", how="left") if schedules is not None else stats
        stats = (stats.join(office_members(members, affiliations, signals), on="account_idx", how="left")
                 if affiliations is not None else stats.with_columns(office=pl.lit(None, pl.Boolean), card=pl.lit(None, pl.UInt32)))
        feats = feats.join(stats.group_by("cluster_id").agg(
            pl.col(sent).sum().alias("prompts_sampled"), pl.col(scripted).sum().alias("template_prompts"),
            # Each member's own scripted share, averaged over the members with sampled prompts
            # (one account, one vote: a few busy service accounts are a few accounts); a member
            # whose passages are all public (_own_template) scripts nothing of the cluster's own.
            (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64))
            .filter(pl.col(sent) > 0).mean().alias("member_template_share"),
            (pl.col(sent) > 0).sum().alias("prompt_members"), unscheduled_scripted(sent, scripted, schedules)),
            on="cluster_id", how="left")
        # The shingle to quote: the cluster's own phrasing. Ranked by holders * (holders / df): tf-idf's support
        # times specificity, a template nine members send and no one else (9 * 1) over "give me 9 ideas for" that 28
        # members and 500 strangers write (28 * 0.056). Only a phrase linked accounts own (linked_own) that 2+
        # members hold: one member's question was quoted over the ring's template (new-user review, session 40).
        if prompts.height:
            top = (
                prompts.filter(linked_own()).group_by("cluster_id", "signal_idx").agg(
                    (pl.len().cast(pl.Float64) ** 2 / pl.col("df").first().cast(pl.Float64).clip(1, None)).alias("rank"),
                    pl.col("count").sum().alias("n"), pl.col("value").first().alias("template"), pl.len().alias("held"))
                .filter(pl.col("held") >= 2).sort(["cluster_id", "rank", "n", "signal_idx"], descending=[False, True, True, False])
                .group_by("cluster_id", maintain_order=True).first()
                .select("cluster_id", "template")
            )
            feats = feats.join(top, on="cluster_id", how="left")

    # Timing: members sharing a timing band with another member.
    timing = _member_kind(memberships, signals, members, "timing")
    if timing.height:
        shared = timing.with_columns(pl.len().over("cluster_id", "signal_idx").alias("in_cluster")).filter(
            pl.col("in_cluster") >= 2)
        feats = feats.join(
            timing.group_by("cluster_id").agg(pl.col("account_idx").n_unique().alias("timed_accounts")),
            on="cluster_id", how="left",
        ).join(shared.group_by("cluster_id").agg(pl.col("account_idx").n_unique().alias("synced_accounts")),
               on="cluster_id", how="left")

    # Volume and, from the accounts file, creation and email domains.
    info = index.join(members, on="account_idx")
    feats = feats.join(info.group_by("cluster_id").agg(group_count("events").alias("median_events")),
                       on="cluster_id", how="left")
    typical = float(index.filter(pl.col("events") > 0)["events"].median() or 1.0)
    feats = feats.with_columns(pl.lit(typical).alias("typical_events"))
    if "last_seen" in info.columns:
        # Throwaway accounts: worked (at least ``SHORT_LIVED_EVENTS`` requests) for at most
        # ``SHORT_LIVED_HOURS`` and then silent for at least as long before the log ends.
        # Measurable only in a log of at least three such spans.
        seen = index.select(pl.col("first_seen").min().alias("start"), pl.col("last_seen").max().alias("end")).row(0)
        if seen[0] is not None and (seen[1] - seen[0]).total_seconds() >= 3 * SHORT_LIVED_HOURS * 3600:
            span = pl.duration(hours=SHORT_LIVED_HOURS)
            gone = ((pl.col("last_seen") - pl.col("first_seen") <= span) & (pl.col("last_seen") <= seen[1] - span)
                    & (pl.col("events") >= SHORT_LIVED_EVENTS))
            feats = feats.join(info.drop_nulls("last_seen").group_by("cluster_id").agg(
                pl.len().alias("seen_accounts"), gone.sum().alias("short_lived_accounts")), on="cluster_id", how="left")
    if "created_at" in info.columns:
        created = info.drop_nulls("created_at").with_columns(pl.col("created_at").dt.truncate("1h").alias("hour"))
        burst = created.with_columns(pl.len().over("cluster_id", "hour").alias("same_hour")).filter(
            pl.col("same_hour") >= 3)
        feats = feats.join(created.group_by("cluster_id").agg(pl.len().alias("created_known")),
                           on="cluster_id", how="left").join(
            burst.group_by("cluster_id").agg(pl.len().alias("burst_created"),
                                             pl.col("hour").n_unique().alias("burst_hours")),
            on="cluster_id", how="left")
    if "email_domain" in info.columns:
        domain_df = index.drop_nulls("email_domain").group_by("email_domain").agg(pl.len().alias("domain_df"))
        doms = info.drop_nulls("email_domain").join(domain_df, on="email_domain").join(
            members.group_by("cluster_id").agg(pl.len().alias("cluster_size")), on="cluster_id").with_columns(
            pl.len().over("cluster_id", "email_domain").alias("in_cluster"))
        # Private to the cluster: most of the domain's accounts are members, and far more of
        # them than the cluster's share of the population would give (gmail.com is not
        # "private" to a cluster holding half of all accounts).
        n_total = max(index.height, 1)
        share_of_domain = pl.col("in_cluster") / pl.col("domain_df")
        population_share = pl.col("cluster_size") / n_total
        private = doms.filter((pl.col("in_cluster") >= 2) & (share_of_domain >= 0.5)
                              & (share_of_domain >= 5 * population_share))
        feats = feats.join(doms.group_by("cluster_id").agg(pl.len().alias("domain_known"),
                                                           pl.col("email_domain").n_unique().alias("domains")),
                           on="cluster_id", how="left").join(
            private.group_by("cluster_id").agg(pl.len().alias("private_domain_accounts")),
            on="cluster_id", how="left")

    # Hour-of-day profile of the members' events.
    if hour_counts is None and events is not None and "timestamp" in events.collect_schema().names():
        hour_counts = account_hours(events, info.select("account_id"))
    if hour_counts is not None:
        hours = (
            hour_counts.join(info.select("account_id", "cluster_id"), on="account_id")
            .group_by("cluster_id", "hour").agg(pl.col("n").sum())
        )
        full = hours.group_by("cluster_id").agg(pl.col("n").sum().alias("timed_events"))
        active = (
            hours.join(full, on="cluster_id")
            .filter(pl.col("n") >= 0.25 * pl.col("timed_events") / 24)
            .group_by("cluster_id").agg(pl.len().alias("active_hours"))
        )
        feats = feats.join(active, on="cluster_id", how="left")
    return feats


def score_clusters(clusters: pl.DataFrame, index: pl.DataFrame, memberships: pl.DataFrame,
                   signals: pl.DataFrame, evidence: pl.DataFrame, events: pl.LazyFrame | None = None,
                   account_stats: pl.DataFrame | None = None,
                   config: ScoringConfig | None = None, value_counts: pl.DataFrame | None = None,
                   hour_counts: pl.DataFrame | None = None,
                   affiliations: pl.DataFrame | None = None, whole: bool = False,
                   schedules: pl.DataFrame | None = None) -> pl.DataFrame:
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
    """
    config = config or ScoringConfig()
    members = clusters.drop_nulls("cluster_id")
    feats = cluster_features(members, index, memberships, signals, events, account_stats, value_counts,
                             hour_counts, affiliations, whole, schedules)
    needed = {"cards", "card_accounts", "shared_cards", "networks_per_account", "lines_per_account", "ips", "template_prompts",
              "prompts_sampled", "template", "synced_accounts", "timed_accounts", "active_hours",
              "burst_created", "created_known", "burst_hours", "median_events", "typical_events",
              "private_domain_accounts", "domain_known", "domains", "seen_accounts", "short_lived_accounts",
              "card_alignment", "member_template_share", "scripted_members", "prompt_members"}
    feats = feats.with_columns([pl.lit(None, pl.Float64).alias(n) for n in sorted(needed - set(feats.columns))])
    feats = feats.with_columns(pl.col("template").cast(pl.String),
                               pl.col(sorted(needed - {"template"})).cast(pl.Float64))
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
