"""Signals: turn canonical events into account-signal pairs.

Output schema (:func:`extract_signals`)
---------------------------------------
One row per (account, signal):

=========== ======= ===================================================
column      dtype   meaning
=========== ======= ===================================================
account_idx UInt32  the account (see :func:`graphlink.ingest.build_account_index`)
kind        String  ``ip``, ``ip_net``, ``asn``, ``payment``, ``prompt``,
                    ``timing``, ``user_agent``, ``email_domain``,
                    ``created_hour`` or a user-declared column name
value       String  the shared value, readable (prompt: shingle text)
count       UInt32  how many of the account's events carry it
=========== ======= ===================================================

Each kind is produced by one function from the events frame; which kinds are
produced depends on which columns the input has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from graphlink.config import SignalConfig
from graphlink.ingest import AccountsInfo, Events
from graphlink.signals.ip import ip_signals, load_asn_table, parse_ips
from graphlink.signals.prompt import normalise_prompt, prompt_signals, shingle_texts
from graphlink.signals.timing import timing_signals

__all__ = [
    "SignalSet", "extract_signals", "categorical_signals", "ip_signals", "prompt_signals",
    "timing_signals", "account_signals", "normalise_prompt", "shingle_texts", "parse_ips",
    "load_asn_table", "PAIR_SCHEMA",
]

PAIR_SCHEMA = pl.Schema({"account_idx": pl.UInt32, "kind": pl.String, "value": pl.String, "count": pl.UInt32})


@dataclass
class SignalSet:
    """Account-signal pairs plus per-kind statistics."""

    pairs: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    #: Per-account facts learned on the way: ``account_idx, prompts_sampled, prompts_templated``.
    account_stats: pl.DataFrame | None = None
    #: ``account_idx, kind, n_values``: values per account of kinds whose unshared values were
    #: dropped from ``pairs`` (ip, ip_net, timing), shared or not.
    value_counts: pl.DataFrame | None = None


def categorical_signals(events: pl.LazyFrame, column: str, kind: str | None = None) -> pl.DataFrame:
    """Pairs for a column whose values are shared identifiers (card, device, user agent).

    Examples
    --------
    >>> lf = pl.LazyFrame({"account_id": ["a", "a", "b"], "device": ["d1", "d1", None]})
    >>> categorical_signals(lf, "device").rows()
    [('a', 'device', 'd1', 2)]
    """
    return (
        events.select("account_id", column).drop_nulls()
        .group_by("account_id", column).agg(pl.len().cast(pl.UInt32).alias("count"))
        .select("account_id", pl.lit(kind or column).alias("kind"), pl.col(column).alias("value"), "count")
        .sort("account_id", "value")
        .collect()
    )


def account_signals(accounts: pl.DataFrame, creation_bucket_seconds: int) -> pl.DataFrame:
    """Pairs from the accounts file: ``created_hour`` (creation bucket) and ``email_domain``."""
    frames = []
    if "created_at" in accounts.columns:
        bucket = pl.col("created_at").dt.truncate(f"{creation_bucket_seconds}s")
        frames.append(
            accounts.drop_nulls("created_at").select(
                "account_id", pl.lit("created_hour").alias("kind"),
                bucket.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("value"), pl.lit(1, pl.UInt32).alias("count"))
        )
    if "email_domain" in accounts.columns:
        frames.append(
            accounts.drop_nulls("email_domain").select(
                "account_id", pl.lit("email_domain").alias("kind"), pl.col("email_domain").alias("value"),
                pl.lit(1, pl.UInt32).alias("count"))
        )
    if not frames:
        return pl.DataFrame(schema={"account_id": pl.String, "kind": pl.String, "value": pl.String,
                                    "count": pl.UInt32})
    return pl.concat(frames)


def extract_signals(events: Events, index: pl.DataFrame, config: SignalConfig | None = None,
                    accounts: AccountsInfo | None = None, extra_signals: tuple[str, ...] = ()) -> SignalSet:
    """All account-signal pairs the input supports (schema in the module docstring).

    Parameters
    ----------
    events : Events
        Output of :func:`graphlink.ingest.load_events`.
    index : DataFrame
        Account index from :func:`graphlink.ingest.build_account_index`.
    config : SignalConfig
    accounts : AccountsInfo, optional
        Adds ``created_hour`` and ``email_domain``.
    extra_signals : tuple of str
        User-declared categorical columns.
    """
    config = config or SignalConfig()
    lf = events.frame
    cols = set(events.columns)
    frames: list[pl.DataFrame] = []
    value_counts: list[pl.DataFrame] = []
    stats: dict[str, int] = {}
    account_stats = pl.DataFrame(schema={"account_idx": pl.UInt32, "prompts_sampled": pl.UInt32,
                                         "prompts_templated": pl.UInt32})
    if "ip" in cols:
        asn = load_asn_table(config.asn_table) if config.asn_table else None
        pairs, s, counts = ip_signals(lf, config.ipv4_prefix, config.ipv6_prefix, asn)
        frames.append(pairs)
        value_counts.append(counts)
        stats.update(s)
    if "payment_fingerprint" in cols:
        frames.append(categorical_signals(lf, "payment_fingerprint", "payment"))
    if "user_agent" in cols:
        frames.append(categorical_signals(lf, "user_agent"))
    for column in extra_signals:
        frames.append(categorical_signals(lf, column))
    if "prompt" in cols:
        pairs, s, sampled = prompt_signals(lf, config.ngram, config.max_prompts_per_account,
                                           config.max_words_per_prompt, config.seed,
                                           config.prompt_min_share, config.prompt_min_templated,
                                           config.prompt_min_prompts, config.max_prompts_total)
        frames.append(pairs)
        account_stats = sampled.join(index.select("account_id", "account_idx"), on="account_id").select(
            "account_idx", "prompts_sampled", "prompts_templated").sort("account_idx")
        stats.update(s)
    if "timestamp" in cols:
        pairs, s, counts = timing_signals(lf, config.timing_bucket_seconds, config.timing_min_buckets,
                                          config.timing_bands, config.timing_rows, config.seed)
        frames.append(pairs)
        value_counts.append(counts)
        stats.update(s)
    if accounts is not None:
        frames.append(account_signals(accounts.frame, config.creation_bucket_seconds))
    counts_out = (
        pl.concat(value_counts).join(index.select("account_id", "account_idx"), on="account_id")
        .select("account_idx", "kind", pl.col("n_values").cast(pl.UInt32))
        if value_counts else pl.DataFrame(schema={"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})
    )
    frames = [f.cast({"account_id": pl.String, "kind": pl.String, "value": pl.String, "count": pl.UInt32})
              for f in frames if f.height]
    if not frames:
        return SignalSet(pl.DataFrame(schema=PAIR_SCHEMA), stats, account_stats, counts_out)
    pairs = (
        pl.concat(frames)
        .join(index.select("account_id", "account_idx"), on="account_id")
        .select("account_idx", "kind", "value", "count")
        .sort("account_idx", "kind", "value")
    )
    stats["signal_pairs"] = pairs.height
    return SignalSet(pairs, stats, account_stats, counts_out)
