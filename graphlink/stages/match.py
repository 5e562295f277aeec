"""Match: assign the accounts of a new log to the clusters of an earlier run.

No detection runs on either log. A known cluster is *known by* the values its
members share in the earlier run (``linking.parquet``): cards, IP addresses
and networks, user agents, e-mail domains, ``--signal`` columns. A value
identifies the cluster only if it is concentrated there:

``concentration = members / df``

where ``members`` is how many of the cluster's accounts had the value and
``df`` how many accounts of the whole earlier run had it (a value spread over
clusters of one campaign counts the campaign's accounts and is credited to
its cluster with the most of them). A proxy pool or a
card used by the ring alone has concentration 1; an office NAT, a popular
client or a stock phrase that the ring's five accounts shared with eighty
ordinary people has 0.06 and is ignored (below ``min_concentration``), so an
ordinary account that merely shares a popular value with a ring is never
matched to it (the same rarity argument as the graph's IDF weights, Sparck
Jones 1972, applied to the earlier run's counts).

Each new account gets, per cluster, ``evidence = sum(kind_weight * concentration)``
over the values it shares with the cluster, plus, when its activity falls in
the cluster's busy hours more than chance would put it there
(``activity.parquet``; :func:`clock_fit`: beyond chance for the account's number of events, so one request is
never a clock), ``timing_weight * fit``. As in the graph
(:mod:`graphlink.stages.graph`), weak kinds (networks, user agents, e-mail
domains) only add to evidence a strong kind (card, address, ``--signal``
column) gave, at most doubling it: a /24 alone matches nothing (an IPv6 /48, one site's, counts as an
address, never as the only one but with the campaign's templates, :mod:`graphlink.stages.match_templates`). One
strong value alone matches only at a card's weight (:data:`SINGLE_VALUE_FACTOR`), or an address corroborated by
the cluster's client, e-mail domain, hours (:data:`MIN_CLOCK_FIT`) or templates; addresses outsiders of the
campaign also went through (a rotating pool's exits, a NAT's) are one value however many an account shares. The
account is assigned to
the campaign of the cluster with the most evidence if it reaches ``min_evidence``, and within that campaign to the
cluster whose own values it shares (:func:`pick_cluster`: values the cluster's accounts hold
almost alone and that a fair share of them used, so a card or proxy pool the
operator's sibling cells share decides the campaign, not the cell; clusters on one shared proxy pool are
told apart by what differs, not by the pool: :mod:`graphlink.stages.match_pools`,
:mod:`graphlink.stages.match_coact`); an account that was a member of a cluster in the earlier
run keeps it; ``score = evidence / (evidence + 1)`` (0.5 at one address
of a ring's own pool, 0.75 at a card of the ring's own).

Output schema
-------------
:func:`match_accounts` returns :data:`graphlink.contract.MATCHES_SCHEMA`,
one row per account of the new log: ``account_id``, ``cluster_id``,
``flagged`` (whether the earlier run flagged that cluster) and
``campaign_id`` (all null when nothing matched), ``score`` (0 when unmatched) and
``why`` (the strongest shared values: kind, value, how many of the cluster's
accounts and of the earlier run's accounts had it).
"""

from __future__ import annotations

from typing import Callable

import polars as pl

from graphlink.config import PipelineConfig
from graphlink.config.kinds import kind_name_expr
from graphlink.contract import MATCHES_SCHEMA
from graphlink.stages.encode import EncodedEvents, count_by_account, with_account_ids
from graphlink.stages.match_clocks import account_clocks, clock_fit, cluster_clocks
from graphlink.stages.match_coact import move_to_riders
from graphlink.stages.match_pools import holdings_of, pooled_rank
from graphlink.stages.match_templates import with_templates
from graphlink.stages.signals import categorical_pairs
from graphlink.stages.signals.ip import ip_table, ip_texts

__all__ = ["DEFAULT_MIN_CONCENTRATION", "DEFAULT_MIN_EVIDENCE", "SINGLE_VALUE_FACTOR", "DEFAULT_MIN_OWN_SHARE", "DEFAULT_MIN_TYPICAL", "cluster_values", "account_values",
           "match_accounts", "pick_cluster", "MATCH_KINDS", "MIN_CLOCK_FIT", "KNOWN_MEMBER_WHY", "cluster_clocks", "account_clocks"]

#: A value identifies a cluster when at least this share of the earlier run's accounts holding
#: it were the cluster's: a majority. An NAT or a common client shared with outsiders falls below.
DEFAULT_MIN_CONCENTRATION = 0.5
#: Evidence needed to assign an account: one concentrated card (3.0) or two addresses of the
#: cluster's own pool (1.0 each); one address alone (an ordinary user who once went through the
#: same residential proxy exit) is not enough.
DEFAULT_MIN_EVIDENCE = 1.0
#: ... and from one value alone, at least this many times that: a card of the cluster's own (3.0 at
#: concentration 1; 2.0 at two thirds) matches alone; one address (1.0) only with something else of the cluster's
#: (its client or e-mail domain, its hours), and a site network never (break-it review of session 15: 30 of 30
#: ordinary newcomers once through one ring address, own card and browser, were matched at exactly 1.0; 10 of 10
#: hosting neighbours on a ring's IPv6 /48 in its hours at 0.5 + 0.5).
SINGLE_VALUE_FACTOR = 2.0
#: A value tells a cluster from its campaign's other clusters only if at least this share of its earlier
#: holders were the cluster's own (a few unclustered holders allowed): a card two sibling cells drew from
#: their operator's pool (0.7 / 0.3) is campaign evidence. 0.9 measured best of 0, 0.75, 0.9 on dev
#: scenario seeds 1002-1011 (BENCHMARKS.md, "match, session 12").
DEFAULT_MIN_OWN_SHARE = 0.9
#: ... and only if at least this share of the cluster's accounts used it. Two cells on one proxy pool each
#: hold some of its addresses alone by chance; 5 of a 151-account cluster's members (0.03) is such a chance,
#: not the cell's mark, and must not move an account from its 370-account sibling. 0.05 measured best of
#: 0, 0.05, 0.1, 0.2, 0.3, 0.5 (a plateau from 0.05) on dev seeds 1002-1011 (BENCHMARKS.md, "match, session 12").
DEFAULT_MIN_TYPICAL = 0.05
#: The clock corroborates one value when an account's hours fit the cluster's at least this well (:func:`clock_fit`):
#: one request of four in a ring's two busy hours is 0.18, chance's (break-it review 15b: 10 of 30 ordinary
#: newcomers through one ring address matched so); measured with templates corroborating (BENCHMARKS.md, match 16).
MIN_CLOCK_FIT = 0.5
#: Kinds a new log is matched on. Timing bands are specific to one log's minutes; prompt shingles, the costly part
#: of detection, are read only for accounts in doubt (:mod:`graphlink.stages.match_templates`).
MATCH_KINDS = ("payment", "ip", "ip_net", "user_agent", "email_domain")
#: Sums of evidence are rounded to this many decimals: polars sums a group's floats in an order that varies with its
#: threads, and equal sets of values must give equal evidence (ties broken the same way, scores equal run to run).
SUM_DECIMALS = 9
#: ``why`` of an account that was already a member of the cluster in the earlier run (score 1.0).
KNOWN_MEMBER_WHY = "a member of this cluster in the earlier run"


def cluster_values(linking: pl.DataFrame | pl.LazyFrame, min_concentration: float = DEFAULT_MIN_CONCENTRATION,
                   kinds: tuple[str, ...] | None = None, campaigns: pl.DataFrame | None = None,
                   grouped: bool = False) -> pl.DataFrame:
    """The values each known cluster is known by.

    Parameters
    ----------
    linking : DataFrame or LazyFrame
        ``linking.parquet`` of the earlier run (``account_id, kind, value, df, weight, cluster_id``), or counted rows.
    min_concentration : float
        Keep values at least this share of whose holders were the cluster's.
    kinds : tuple of str, optional
        Only these kinds (all when None).
    campaigns : DataFrame, optional
        ``cluster_id, campaign_id``. A value spread over several clusters of one
        campaign (a cell Leiden split in two, cells sharing their operator's
        pool) identifies the campaign if concentrated there; it is credited to
        the campaign's cluster holding most of its holders, with the campaign's
        concentration.
    grouped : bool
        ``linking`` is counted rows already one per ``cluster_id, kind, value``
        (``members``; :mod:`graphlink.stages.match_prep`): not grouped again.

    Returns
    -------
    DataFrame
        ``cluster_id, kind, value, members, df, own, concentration``: values
        shared by at least two of the cluster's (campaign's) accounts, shape
        (values, 7); ``own`` counts the cluster's own holders only (``members``
        those of its campaign when the value was credited to it as the
        campaign's).

    Examples
    --------
    >>> linking = pl.DataFrame({"account_id": ["a", "b", "a", "b", "x", "y"], "kind": ["payment"] * 2 + ["ip"] * 4,
    ...                         "value": ["c1", "c1", "nat", "nat", "nat", "nat"], "df": [2, 2, 4, 4, 4, 4],
    ...                         "weight": [3.0] * 6, "cluster_id": [1, 1, 1, 1, None, None]})
    >>> cluster_values(linking, 0.6).select("cluster_id", "value", "concentration").rows()
    [(1, 'c1', 1.0)]
    """
    rows = linking.lazy().drop_nulls("cluster_id")
    rows = rows if kinds is None else rows.filter(pl.col("kind").is_in(list(kinds)))
    # df is the value's (one per kind and value): a key, not an aggregate (half the time of .first() at 1m). Counted
    # rows (``members``: the cluster's holders of the value, templates' rows) are summed instead.
    counted = pl.col("members").sum() if "members" in rows.collect_schema().names() else pl.len()
    per_cluster = (rows if grouped else rows.group_by("cluster_id", "kind", "value", "df").agg(counted.alias("members"))
                   ).select("cluster_id", "kind", "value", "members", "df", pl.col("members").alias("own"))
    found = [per_cluster]
    if campaigns is not None:
        top = pl.col("cluster_id").sort_by(["members", "cluster_id"], descending=[True, False]).first()
        per_campaign = (per_cluster.join(campaigns.lazy().select("cluster_id", "campaign_id").drop_nulls(),
                                         on="cluster_id")
                        .group_by("campaign_id", "kind", "value", "df")
                        .agg(top, pl.col("members").sum(), pl.col("own").max()))
        found.append(per_campaign.select("cluster_id", "kind", "value", "members", "df", "own"))
    concentration = (pl.col("members") / pl.col("df").cast(pl.Float64)).clip(upper_bound=1.0)
    return (
        pl.concat(found).with_columns(concentration.alias("concentration"))
        .select("cluster_id", "kind", "value", "members", "df", "own", "concentration")
        .filter((pl.col("members") >= 2) & (pl.col("concentration") >= min_concentration))
        .sort(["concentration", "members"], descending=True)
        .unique(["cluster_id", "kind", "value"], keep="first")
        .sort("cluster_id", "kind", "value")
        .collect()
    )


def account_values(enc: EncodedEvents, config: PipelineConfig, kinds: set[str],
                   accounts: pl.DataFrame | None = None, stats: dict[str, int] | None = None) -> pl.DataFrame:
    """``account_id, kind, value``: every value of ``kinds`` each account of the new log has, shared or not.

    Spelled as the earlier run spells them (:mod:`graphlink.stages.signals`):
    addresses canonical, networks ``a.b.c.0/24``, cards and columns as given.
    ``stats``, when given, receives ``ip_events`` and ``invalid_ip_events``
    (events whose IP is unreadable: kept for the other kinds), as detect counts them.
    """
    frames: list[pl.DataFrame] = []
    columns = set(enc.columns)
    n = enc.index.height
    sig = config.signals
    if "ip" in columns and kinds & {"ip", "ip_net"}:
        counted = count_by_account(enc.frame, "ip", n)
        per_ip = counted.select("account_idx", "key")
        table = ip_table(enc.dictionary("ip"), sig.ipv4_prefix, sig.ipv6_prefix, sig.ip_chain_position)
        if stats is not None:
            invalid = counted.join(table.filter(pl.col("version").is_null()).select("key"), on="key", how="semi")
            stats["ip_events"] = int(counted["count"].sum() or 0)
            stats["invalid_ip_events"] = int(invalid["count"].sum() or 0)
        table = table.drop_nulls("version")
        for kind, key in (("ip", "addr_key"), ("ip_net", "net_key")):
            if kind not in kinds:
                continue
            keyed = per_ip.join(table.select("key", pl.col(key).alias("value_key")), on="key").select(
                "account_idx", "value_key").unique()
            texts = ip_texts(keyed.select("value_key").unique(), table, kind, sig.ipv4_prefix, sig.ipv6_prefix)
            frames.append(keyed.join(texts, on="value_key").select("account_idx", "kind", "value"))
    for column, kind in (("payment_fingerprint", "payment"), ("user_agent", "user_agent"),
                         *((c, c) for c in sig.extra_signals)):
        if column in columns and kind in kinds:
            pairs, values = categorical_pairs(enc, column, kind)
            frames.append(pairs.join(values, on=["kind", "value_key"]).select("account_idx", "kind", "value"))
    # E-mail domains as account_signals spells them (the column as given), of the log's accounts only.
    domains = None
    if accounts is not None and "email_domain" in kinds and "email_domain" in accounts.columns:
        domains = (accounts.drop_nulls("email_domain").join(enc.index.select("account_id"), on="account_id", how="semi")
                   .select(pl.col("account_id").cast(pl.String), pl.lit("email_domain").alias("kind"),
                           pl.col("email_domain").cast(pl.String).alias("value")))
    found = [with_account_ids(pl.concat(frames), enc.index).select("account_id", "kind", "value")] if frames else []
    if domains is not None:
        found.append(domains)
    if not found:
        return pl.DataFrame(schema={"account_id": pl.String, "kind": pl.String, "value": pl.String})
    return pl.concat(found)


def pick_cluster(per_cluster: pl.DataFrame, hits: pl.DataFrame, clusters: pl.DataFrame,
                 min_share: float = DEFAULT_MIN_OWN_SHARE, min_typical: float = DEFAULT_MIN_TYPICAL) -> pl.DataFrame:
    """Each account's cluster: its campaign by evidence, the cluster within it by the values characteristic of it.

    The campaign is the one of the cluster with the most ``evidence``. Among
    that campaign's clusters the account qualifies for, the one with the most
    *characteristic* evidence wins: ``sum(kind_weight * own / df * own / size)``
    over the shared values the cluster itself holds almost alone (``own / df >=
    min_share``) and at least a few of its members used (``own / size >=
    min_typical``), where ``own`` is how many of the cluster's own
    accounts had the value (:func:`cluster_values`), ``df`` how many of the
    earlier run's, ``size`` the cluster's accounts. ``own / df`` is how
    specific the value is to the cluster (a pool card or proxy used by sibling
    cells is campaign evidence, not the cluster's), ``own / size`` how typical
    it is of the cluster's members (a card 36 of a 37-account cell used is
    its mark; an address 5 of a 297-account cluster went through is not), so
    a dozen pool addresses a big sibling holds do not outvote the card of a
    cell detect split into small clusters. A tie keeps the most ``rank``
    (:func:`graphlink.stages.match_pools.pooled_rank`, when ``per_cluster``
    has it: the campaign too is then the top cluster's by rank), then evidence.
    Without a ``size`` column in ``clusters`` the typicality is left out.

    Parameters
    ----------
    per_cluster : DataFrame
        ``account_id, cluster_id, evidence, fit`` of the (account, cluster)
        pairs that reached the evidence bar.
    hits : DataFrame
        ``account_id, cluster_id, kind_weight, own, df``: the shared values.
    clusters : DataFrame
        ``cluster_id, campaign_id`` and optionally ``size``.
    min_share : float
        Share of a value's earlier holders the cluster's own accounts must be
        for the value to tell the cluster from its siblings
        (:data:`DEFAULT_MIN_OWN_SHARE`).
    min_typical : float
        Share of the cluster's accounts that must have used the value
        (:data:`DEFAULT_MIN_TYPICAL`).

    Returns
    -------
    DataFrame
        ``per_cluster``'s row of each account's chosen cluster, shape (accounts, columns of per_cluster).
    """
    size = (pl.col("size").cast(pl.Float64) if "size" in clusters.columns else pl.col("own").cast(pl.Float64))
    sized = hits.join(clusters.select("cluster_id", size.alias("size")) if "size" in clusters.columns
                      else clusters.select("cluster_id", pl.lit(None, pl.Float64).alias("size")), on="cluster_id",
                      how="left")
    typical = (pl.col("own") / pl.col("size").fill_null(pl.col("own").cast(pl.Float64))).clip(upper_bound=1.0)
    share = pl.col("own") / pl.col("df").cast(pl.Float64)
    specific = (sized.group_by("account_id", "cluster_id")
                .agg((pl.col("kind_weight") * share * typical * ((share >= min_share) & (typical >= min_typical)))
                     .sum().round(SUM_DECIMALS)
                     .alias("specific")))
    ranked = (per_cluster.join(specific, on=["account_id", "cluster_id"], how="left")
              .with_columns(pl.col("specific").fill_null(0.0))
              .join(clusters.select("cluster_id", "campaign_id"), on="cluster_id", how="left"))
    order = ["rank", "evidence"] if "rank" in ranked.columns else ["evidence"]  # rank: match_pools.pooled_rank
    top = (ranked.sort(["account_id", *order, "cluster_id"], descending=[False, *[True] * len(order), False])
           .group_by("account_id", maintain_order=True).first()
           .select("account_id", pl.col("cluster_id").alias("top_cluster"), pl.col("campaign_id").alias("top_campaign")))
    return (ranked.join(top, on="account_id")
            .filter((pl.col("campaign_id") == pl.col("top_campaign")).fill_null(False)
                    | (pl.col("cluster_id") == pl.col("top_cluster")))
            .sort(["account_id", "specific", *order, "cluster_id"], descending=[False, True, *[True] * len(order), False])
            .group_by("account_id", maintain_order=True).first()
            .select(per_cluster.columns))


def match_accounts(new_values: pl.DataFrame, new_accounts: pl.Series, known: pl.DataFrame,
                   clusters: pl.DataFrame, config: PipelineConfig,
                   min_evidence: float = DEFAULT_MIN_EVIDENCE, per_account: int = 3,
                   members: pl.DataFrame | None = None,
                   clocks: tuple[pl.DataFrame, pl.DataFrame] | None = None,
                   pools: pl.DataFrame | pl.LazyFrame | None = None,
                   minutes: pl.DataFrame | None = None, mates: pl.DataFrame | None = None,
                   templates: Callable[[pl.Series], pl.DataFrame] | None = None) -> pl.DataFrame:
    """Assign each new account to the known cluster it shares the most concentrated values with.

    Parameters
    ----------
    new_values : DataFrame
        ``account_id, kind, value`` of the new log (:func:`account_values`).
    new_accounts : Series
        Every account id of the new log (one output row each).
    known : DataFrame
        :func:`cluster_values` of the earlier run.
    clusters : DataFrame
        ``cluster_id, campaign_id`` of the earlier run, optionally ``size``
        (:func:`pick_cluster`) and ``flagged`` (copied to each matched row;
        null throughout without it).
    config : PipelineConfig
        The earlier run's configuration: kind weights and which kinds are strong.
    min_evidence : float
        Evidence needed to assign an account (:data:`DEFAULT_MIN_EVIDENCE`).
    per_account : int
        Values quoted in ``why``.
    members : DataFrame, optional
        ``account_id, cluster_id`` of the earlier run's clustered accounts: one
        of them seen again keeps its cluster (score 1.0), whatever it shares.
    clocks : tuple of DataFrame, optional
        ``(account_clocks(new log), cluster_clocks(activity))``: an account whose
        hours fit a cluster's clock (:func:`clock_fit`) adds ``timing weight *
        fit`` to that cluster's weak evidence, as a clock corroborates (never
        makes) a match.
    pools : DataFrame or LazyFrame, optional
        The earlier run's ``linking.parquet`` or its address holdings (``match_pools.parquet``,
        :func:`graphlink.stages.match_pools.holdings_of`): among the clusters an account qualified for, those
        on one shared address pool are told apart by the values that differ, not by the pool's addresses
        (:func:`graphlink.stages.match_pools.pooled_rank`).
    minutes : DataFrame, optional
        ``account_id, m, events`` of the new log (with ``pools``): an account
        matched on a pool's addresses alone moves to a cluster riding that
        pool whose accounts it acts with, minute by minute, beyond chance and
        schedule (:func:`graphlink.stages.match_coact.riders_by_minutes`).
    mates : DataFrame, optional
        :func:`graphlink.stages.match_pools.all_pool_mates` of the address holdings (detect's
        ``match_mates.parquet``): which clusters ride one another's pools, looked up instead of judged.
    templates : callable, optional
        The accounts in doubt -> the known campaigns' templates they send (:mod:`graphlink.stages.match_templates`).

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.MATCHES_SCHEMA`, one row per account of
        ``new_accounts``, sorted by account id.
    """
    kinds = known["kind"].unique().sort().to_list()
    spec = pl.DataFrame({"kind": kinds, "kind_weight": [config.graph.spec(k).weight for k in kinds],
                         "strong": [config.graph.spec(k).strong for k in kinds]},
                        schema={"kind": pl.String, "kind_weight": pl.Float64, "strong": pl.Boolean})
    # An IPv6 network is one site's allocation (SignalConfig.ipv6_prefix), not an ISP block: concentrated, the cluster's.
    site = (pl.col("kind") == "ip_net") & pl.col("value").str.contains(":", literal=True)
    hits = (new_values.join(known, on=["kind", "value"]).join(spec, on="kind")
            .with_columns((pl.col("kind_weight") * pl.col("concentration")).alias("evidence"),
                          (pl.col("strong") | site).alias("strong")))
    # Independent strong values: addresses, cards, --signal values (a site network is the address's own site again:
    # evidence, not a second value), counted over the campaign: an operator's card and a cell's address are two.
    independent = pl.col("strong") & ~site
    # An address that accounts outside the campaign also went through (``members < df``) is a shared exit: a rotating
    # pool's or a NAT's, which any of its users reaches. However many of them an account shares, they are one value
    # (the pool), so a pool user with its own card and client needs the cluster's corroboration as one address does.
    shared_exit = (pl.col("kind") == "ip") & (pl.col("members") < pl.col("df"))
    one_value = pl.when(shared_exit).then(pl.lit("ip shared exit")).otherwise(pl.concat_str("kind", "value"))
    campaign_of = clusters.select("cluster_id", pl.coalesce("campaign_id", -pl.col("cluster_id")).alias("_campaign"))
    hits = hits.join(campaign_of.unique("cluster_id"), on="cluster_id", how="left")
    by_campaign = (hits.group_by("account_id", "_campaign")
                   .agg(one_value.filter(independent).n_unique().alias("n_values"),
                        pl.col("evidence").filter(independent).max().fill_null(0.0).alias("best"),
                        (pl.col("evidence").filter(~pl.col("strong") & (pl.col("kind") != "ip_net")).sum() > 0)
                        .alias("corroborated")))
    per_cluster = (hits.group_by("account_id", "cluster_id")
                   .agg(pl.col("evidence").filter("strong").sum().round(SUM_DECIMALS).alias("strong"),
                        pl.col("evidence").filter(~pl.col("strong")).sum().round(SUM_DECIMALS).alias("weak"),
                        pl.col("_campaign").first())
                   .filter(pl.col("strong") > 0)
                   .join(by_campaign, on=["account_id", "_campaign"], how="left").drop("_campaign"))
    if clocks is not None and per_cluster.height:
        fits = clock_fit(per_cluster.select("account_id", "cluster_id"), *clocks)
        per_cluster = (per_cluster.join(fits, on=["account_id", "cluster_id"], how="left")
                       .with_columns(pl.col("fit").fill_null(0.0))
                       .with_columns(pl.col("weak") + config.graph.spec("timing").weight * pl.col("fit")))
    else:
        per_cluster = per_cluster.with_columns(pl.lit(0.0).alias("fit"))
    # One value alone matches only at a card's weight or corroborated by the cluster's client, e-mail domain, hours or
    # templates (read for accounts not matched without): one ring address an ordinary newcomer used, or a site, is not.
    alone = (pl.col("n_values") >= 2) | (pl.col("best") >= SINGLE_VALUE_FACTOR * min_evidence) | (
        (pl.col("n_values") == 1) & (pl.col("corroborated") | (pl.col("fit") >= MIN_CLOCK_FIT)))
    evidence = pl.col("strong") + pl.min_horizontal("weak", "strong")
    per_cluster = with_templates(per_cluster, campaign_of.unique("cluster_id"), templates, alone & (evidence >= min_evidence))
    sent = pl.col("templates") > 0  # a site network (n_values 0) too, with the campaign's templates
    per_cluster = per_cluster.with_columns(evidence.alias("evidence")).filter((pl.col("evidence") >= min_evidence) & (alone | sent))
    held = None if pools is None or not per_cluster.height else holdings_of(pools)
    if held is not None:
        per_cluster = pooled_rank(hits, per_cluster, held, mates=mates)
    best = pick_cluster(per_cluster, hits, clusters)
    quoted = pl.format("{} {} ({} of the cluster's accounts, {} in all)", kind_name_expr("kind"), "value", "members",
                       "df")  # the kind as every view names it
    why = (hits.join(best.select("account_id", "cluster_id"), on=["account_id", "cluster_id"])
           .sort(["account_id", "evidence", "kind", "value"], descending=[False, True, False, False])
           .group_by("account_id", maintain_order=True).head(per_account)
           .group_by("account_id", maintain_order=True).agg(quoted.str.join("; ").alias("values")))
    clock = pl.when(pl.col("fit") >= MIN_CLOCK_FIT).then(pl.format("; active in the cluster's hours (clock fit {})",
                                                          pl.col("fit").round(2))).otherwise(pl.lit(""))
    sends = pl.when(sent).then(pl.format("; sends its campaign's templates ({} shingles)", "templates")).otherwise(pl.lit(""))
    matched = (best.join(why, on="account_id", how="left")
               .join(clusters.select("cluster_id", "campaign_id"), on="cluster_id", how="left")
               .select("account_id", "cluster_id", "campaign_id",
                       (pl.col("evidence") / (pl.col("evidence") + 1)).alias("score"),
                       pl.concat_str([pl.format("shares {}", "values"), clock, sends]).alias("why")))
    if held is not None and minutes is not None and matched.height:
        matched = move_to_riders(matched, best, hits, members, clusters, minutes, held, mates)
    if members is not None and members.height:
        again = (members.join(pl.DataFrame({"account_id": new_accounts.cast(pl.String)}), on="account_id", how="semi")
                 .join(clusters.select("cluster_id", "campaign_id"), on="cluster_id", how="left")
                 .select("account_id", "cluster_id", "campaign_id", pl.lit(1.0).alias("score"),
                         pl.lit(KNOWN_MEMBER_WHY).alias("why")))
        matched = pl.concat([again, matched.join(again, on="account_id", how="anti")], how="vertical_relaxed")
    every = pl.DataFrame({"account_id": new_accounts.cast(pl.String)}).unique()
    flagged = (clusters.select("cluster_id", pl.col("flagged").cast(pl.Boolean)) if "flagged" in clusters.columns
               else clusters.select("cluster_id", pl.lit(None, pl.Boolean).alias("flagged")))
    return (every.join(matched, on="account_id", how="left").with_columns(pl.col("score").fill_null(0.0))
            .join(flagged.unique("cluster_id"), on="cluster_id", how="left")  # null cluster_id: null flagged
            .with_columns(earlier_member=pl.when(pl.col("cluster_id").is_not_null()).then(pl.col("why") == KNOWN_MEMBER_WHY))
            .select(list(MATCHES_SCHEMA.names())).cast(dict(MATCHES_SCHEMA)).sort("account_id"))
