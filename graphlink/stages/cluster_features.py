"""Per-cluster features the scoring components are computed from (:func:`cluster_features`).

One row per cluster of raw counts and shares -- cards and card holders, IP networks per member, sampled and
scripted prompts, timing bands, events, creation hours, email domains, active hours -- that
:func:`graphlink.stages.scoring.score_clusters` turns into components (0..1). Split out of
:mod:`graphlink.stages.scoring` (module size), which re-exports these names.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.card_pools import POOL_HOLDERS, card_alignment, card_units, office_members
from graphlink.stages.feature_reuse import ClusterReuse
from graphlink.stages.pool_carriers import carrier_members, office_based
from graphlink.stages.components import SHORT_LIVED_EVENTS, SHORT_LIVED_HOURS, group_count
from graphlink.stages.schedules import request_columns, unscheduled_scripted
from graphlink.stages.signals.prompt import TEMPLATE_SHINGLES

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
                     whole: bool = False, schedules: pl.DataFrame | None = None,
                     reuse: ClusterReuse | None = None, carriers: bool = False) -> pl.DataFrame:
    """Raw per-cluster facts the components are computed from (one row per cluster); ``reuse`` keeps the
    features of a cluster's own members between passes (:class:`graphlink.stages.feature_reuse.ClusterReuse`);
    ``carriers`` (``[scoring] pool_carriers``) counts ``template_carriers`` (:mod:`graphlink.stages.pool_carriers`)."""
    sizes = members.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("size"))
    feats = sizes
    if affiliations is not None:
        # Are the shared cards a pool, or one card per organisation merged into the cluster?
        aligned = (card_units(members, affiliations, signals) if whole
                   else reuse.per_cluster("card_alignment", members, lambda m: card_alignment(m, affiliations, signals))
                   if reuse is not None else card_alignment(members, affiliations, signals))
        feats = feats.join(aligned, on="cluster_id", how="left")
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
        offices = (None if affiliations is None
                   else reuse.per_account("office_members", members, lambda m: office_members(m, affiliations, signals))
                   if reuse is not None and not whole else office_members(members, affiliations, signals))
        stats = (stats.join(offices, on="account_idx", how="left")
                 if affiliations is not None else stats.with_columns(office=pl.lit(None, pl.Boolean), card=pl.lit(None, pl.UInt32)))
        if carriers:  # members at an office carry nothing (graphlink.stages.pool_carriers.office_based)
            shares = stats.filter(pl.col(sent) > 0).select(
                "account_idx", (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64)).alias("share"))
            stats = (stats.join(office_based(members, affiliations, signals, shares, index.select("account_idx", "events")), on="account_idx", how="left")
                     if affiliations is not None else stats.with_columns(at_office=pl.lit(None, pl.Boolean)))
        feats = feats.join(stats.group_by("cluster_id").agg(
            pl.col(sent).sum().alias("prompts_sampled"), pl.col(scripted).sum().alias("template_prompts"),
            # Each member's own scripted share, averaged over the members with sampled prompts
            # (one account, one vote: a few busy service accounts are a few accounts); a member
            # whose passages are all public (_own_template) scripts nothing of the cluster's own.
            (pl.col(scripted) / pl.col(sent) * pl.col("own").fill_null(True).cast(pl.Float64))
            .filter(pl.col(sent) > 0).mean().alias("member_template_share"),
            (pl.col(sent) > 0).sum().alias("prompt_members"), unscheduled_scripted(sent, scripted, schedules),
            *([carrier_members(sent, scripted)] if carriers else []),  # [scoring] pool_carriers
            # [scoring] sleepless_members: how many members never sleep (graphlink.stages.sleepless), for the why
            *([(pl.col("sleepless").fill_null(False) & (pl.col(sent) > 0)).sum().alias("sleepless_members")]
              if schedules is not None and "sleepless" in schedules.columns else [])),
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
