"""Score components: each one's transfer function and its plain-language reason.

What each component looks for is in :mod:`graphlink.stages.scoring`; this
module holds the expressions that turn a cluster's counted features into the
0..1 components (:func:`component_exprs`) and the "why" text with its numbers
(:func:`reason_exprs`).
"""

from __future__ import annotations

import math

import polars as pl

from graphlink.config.kinds import kind_name_expr
from graphlink.contract import nested_reasons
from graphlink.phrase_quotes import numbers_as_slots
from graphlink.stages.sleepless import NIGHT_HOURS, SLEEPLESS_SHARE

__all__ = ["group_count", "ORG_UNEXPLAINED", "SHORT_LIVED_EVENTS", "SHORT_LIVED_HOURS", "clip01", "component_exprs",
           "fmt_int", "pct", "reason_exprs"]

#: A throwaway account: active at most this many hours (a fleet's cell ran for hours
#: or a day or two, then its operator moved on; a company's accounts stay in use).
SHORT_LIVED_HOURS = 48
#: ... and sent at least this many requests in that time: a person trying the API
#: once sends a handful, a scripted worker dozens.
SHORT_LIVED_EVENTS = 10

#: How a per-member count becomes the cluster's (``ip_spread``, ``volume``): the median over members, but never
#: more than the second-largest member's count (:func:`group_count`). No one member's behaviour is the group's
#: (two holders, as for a shared value): the median of two members is their mean, so one proxy-rotating
#: account beside a person who used one of its exits once made "the median account" use 21 networks and the
#: pair scored as a fleet (dev ind_s1_11000: three such pairs flagged). From three members on the median is
#: already at most the second largest; the lower median instead let a fleet half of whose accounts sit on
#: static addresses escape (break-it review, tests/test_break36.py).


def group_count(col: str) -> pl.Expr:
    """The cluster's value of a per-member count (see the comment above): ``min(median, 2nd largest)``."""
    return pl.min_horizontal(pl.col(col).median(), pl.col(col).sort(descending=True, nulls_last=True).slice(1, 1).first())


#: Evasion components an organisation's own domain does not explain.
ORG_UNEXPLAINED = ("ip_spread", "card_pool")

def clip01(expr: pl.Expr) -> pl.Expr:
    return expr.clip(0.0, 1.0)


def fmt_int(expr: pl.Expr) -> pl.Expr:
    """Thousands-separated integer text (polars has no format spec): ``1234567`` -> ``1,234,567`` (each group of three
    digits from the right, not only the first: it read ``1234,567``)."""
    text = expr.cast(pl.Int64).cast(pl.String)
    return text.str.reverse().str.replace_all(r"(\d{3})", "$1,").str.replace(r",(-?)$", "$1").str.reverse()


def pct(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([(expr * 100).round(0).cast(pl.Int64).cast(pl.String), pl.lit("%")])


def component_exprs() -> dict[str, pl.Expr]:
    def col(name: str) -> pl.Expr:
        return pl.col(name) if name else pl.lit(None)

    return {
        "org_coherence": col("private_domain_accounts").fill_null(0) / col("domain_known"),
        "payment_reuse": clip01(1 - col("cards") / col("card_accounts")),
        # One shared card is a company's or a family's; providers limit accounts per
        # card, so an operator needing many accounts pays from a pool: 2 shared cards
        # 0.5, 4 0.75, 10 0.9.
        # Counted only as far as the cards are not each one unit's (a branch, a family,
        # a firm merged into the cluster): see graphlink.stages.card_pools.
        # And only as far as the accounts the cards pay for do scripted work: the members'
        # mean template share, each member's share of its own sampled requests averaged over
        # the members with prompts (``member_template_share``; requests, so a resent fixed
        # instruction counts each time; only members holding a passage of the cluster's own,
        # not a public prompt unlinked accounts also send: scoring._own_template). A fleet's accounts all send
        # its template, camouflaged or not; a company's staff on a card per office or
        # department write their own requests, and its few cron service accounts, however
        # busy, are a few accounts (weighting by prompts let their volume read as the whole
        # company's). Independent dev worlds with benign organisations
        # (benchmarks/independent_world.py --orgs, seeds 1-3 at 11k): 1,216 of 2,106
        # organisation accounts flagged without the factor, 103 with the share of prompts,
        # 0 with the members' mean; dev scenario worlds (mixed 1000-1019 and the 18 of
        # session 10): flags identical to the share of prompts. Logs without prompts: unchanged.
        "card_pool": pl.when(col("card_accounts").is_null()).then(None)
        .otherwise(clip01(1 - 1 / col("shared_cards").fill_null(0).clip(1, None))
                   * (1 - col("card_alignment").fill_null(0).clip(0, 1))
                   * pl.when(col("prompts_sampled").fill_null(0) > 0)
                   .then(clip01(col("member_template_share").fill_null(0)))
                   .otherwise(1.0)),
        # Load spread over accounts: one payer running one script from many accounts to stay
        # under per-account limits. The share of members (with sampled prompts) whose requests
        # are mostly (at least half) the cluster's own template and that are not on an hourly
        # schedule (graphlink.stages.schedules: a job whose runs start at one phase of the hour,
        # or of a period dividing it, is a company's, however many accounts run it), above one half, times the payment
        # reuse among the members with a card. A company's scripted accounts are its few
        # service accounts beside staff who write their own requests (independent dev worlds
        # 1-3 at 11k, with and without benign organisations: at most a third of any benign
        # cluster of 5+ accounts, schedules aside); a fleet's accounts all send its template,
        # each camouflaging at most a minority of its requests. The card factor keeps accounts
        # tied by nothing but a popular prompt (developers sending one framework's system
        # prompt, each on their own card) at 0.
        "scripted_accounts": pl.when((col("prompt_members").fill_null(0) > 0) & col("card_accounts").is_not_null())
        .then(clip01((col("scripted_members") / col("prompt_members") - 0.5) / 0.5)
              * clip01(1 - col("cards") / col("card_accounts"))),
        # Networks, each fast move to a fresh IPv6 /64 of one network counted as one more (signals.ip_lines:
        # rotation inside an operator's /48 is proxy rotation); networks alone where no account made one.
        "ip_spread": clip01((pl.coalesce(col("lines_per_account"), col("networks_per_account")) / 3).log() / math.log(10)),
        "template_share": clip01(col("template_prompts") / col("prompts_sampled")),
        "timing_sync": clip01(col("synced_accounts").fill_null(0) / col("size")),
        "around_the_clock": clip01((col("active_hours") - 12) / 12),
        "creation_burst": clip01(col("burst_created").fill_null(0) / col("created_known")),
        "short_lived": clip01(col("short_lived_accounts").fill_null(0) / col("seen_accounts")),
        "volume": clip01((col("median_events") / col("typical_events")).log() / math.log(10)),
    }


def reason_exprs() -> dict[str, pl.Expr]:
    """Plain-language text for each component, with its numbers."""
    c = pl.col
    # The quoted phrase with its numbers as slots: one prompt's number would be searched for and found once.
    shown = numbers_as_slots(c("template").str.strip_chars())
    return {
        # Accounts with a card and the distinct cards they pay with (not all of them shared:
        # ``card_pool`` counts the shared ones).
        # Kinds are named as every view names them (graphlink.config.kinds.KIND_NAMES).
        "payment_reuse": pl.concat_str([fmt_int(c("card_accounts")), pl.lit(" accounts pay with "),
                                        fmt_int(c("cards")), pl.lit(" "), kind_name_expr(pl.lit("payment"), c("cards"))]),
        "ip_spread": pl.concat_str([pl.lit("median account used "), fmt_int(c("ips").round(0)), pl.lit(" "),
                                    kind_name_expr(pl.lit("ip"), c("ips").round(0)), pl.lit(" in "),
                                    fmt_int(c("networks_per_account").round(0)), pl.lit(" "),
                                    kind_name_expr(pl.lit("ip_net"), c("networks_per_account").round(0)),
                                    # IPv6 rotation (signals.ip_lines), said only where it counted
                                    pl.when(c("lines_per_account").round(0) > c("networks_per_account").round(0))
                                    .then(pl.concat_str([pl.lit(", moving to a fresh IPv6 /64 "),
                                                         fmt_int(c("lines_per_account") - c("networks_per_account")),
                                                         pl.lit(" times, each /64 dropped within the hour")]))
                                    .otherwise(pl.lit(""))]),
        # The template is quoted only when there is one to quote: never an empty "…". A quote is text as written,
        # punctuation kept: nested_reasons keeps a "; " in it from reading as the end of the reason.
        "template_share": pl.concat_str([
            pct(c("template_share")), pl.lit(" of prompts are templated"),
            pl.when(c("template").str.strip_chars().str.len_chars() > 0)
            .then(pl.concat_str([pl.lit(" (\""), nested_reasons(shown.str.slice(0, 60)),
                                 pl.when(shown.str.len_chars() > 60).then(pl.lit("…"))
                                 .otherwise(pl.lit("")), pl.lit("\")")]))
            .otherwise(pl.lit(""))]),
        "scripted_accounts": pl.concat_str([fmt_int(c("scripted_members")), pl.lit(" of "), fmt_int(c("prompt_members")),
                                            # What schedules.scheduled_accounts measured: each account alone (3+ runs
                                            # at fixed minutes of the hour). Not "off any schedule": the members'
                                            # events together may still keep a clock (the report's "Acts on a clock",
                                            # ClusterView.schedule), and both were said under one word (nu56).
                                            pl.lit(" accounts send mostly the cluster's own template"),
                                            # [scoring] sleepless_members: members that never sleep count too (graphlink.stages.sleepless)
                                            pl.when(c("sleepless_members").fill_null(0) > 0).then(pl.concat_str([
                                                pl.lit(" or never sleep ("), fmt_int(c("sleepless_members")),
                                                pl.lit(f" send {SLEEPLESS_SHARE:.0%}+ of their requests in their quietest {NIGHT_HOURS} hours)")]))
                                            .otherwise(pl.lit("")),
                                            pl.lit(", none on a schedule of its own (3+ runs at fixed minutes of the hour), paid with "),
                                            fmt_int(c("cards")), pl.lit(" card"),
                                            pl.when(c("cards") == 1).then(pl.lit("")).otherwise(pl.lit("s"))]),
        "card_pool": pl.concat_str([fmt_int(c("shared_cards")), pl.lit(" "), kind_name_expr(pl.lit("payment"), 2),
                                    pl.lit(" each shared by several accounts (a card pool)")]),
        "timing_sync": pl.concat_str([pct(c("timing_sync")), pl.lit(" of accounts act in the same minutes")]),
        "around_the_clock": pl.concat_str([pl.lit("active "), c("active_hours").cast(pl.Int64).cast(pl.String),
                                           pl.lit(" h a day")]),
        "creation_burst": pl.concat_str([fmt_int(c("burst_created")), pl.lit(" of "), fmt_int(c("created_known")),
                                         pl.lit(" accounts created in "), c("burst_hours").cast(pl.Int64).cast(pl.String),
                                         pl.when(c("burst_hours") == 1).then(pl.lit(" burst hour"))
                                         .otherwise(pl.lit(" burst hours"))]),
        "short_lived": pl.concat_str([fmt_int(c("short_lived_accounts")), pl.lit(" of "), fmt_int(c("seen_accounts")),
                                      pl.lit(f" accounts sent {SHORT_LIVED_EVENTS}+ requests within "
                                             f"{SHORT_LIVED_HOURS} h and went silent")]),
        "volume": pl.concat_str([pl.lit("median "), fmt_int(c("median_events")), pl.lit(" events per account ("),
                                 (c("median_events") / c("typical_events")).round(0).cast(pl.Int64).cast(pl.String),
                                 pl.lit("× typical)")]),
    }
