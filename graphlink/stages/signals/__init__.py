"""Signals: turn canonical events into account-signal pairs.

Output schema (:func:`extract_signals`)
---------------------------------------
``SignalSet.pairs`` has one row per (account, signal value):

=========== ======= ===================================================
column      dtype   meaning
=========== ======= ===================================================
account_idx UInt32  the account (see :func:`graphlink.stages.ingest.build_account_index`)
kind        String  ``ip``, ``ip_net``, ``asn``, ``payment``, ``prompt``,
                    ``timing``, ``user_agent``, ``email_domain``,
                    ``created_hour`` or a user-declared column name
value_key   UInt64  the value, as a key unique within its kind
count       UInt32  how many of the account's events carry it
=========== ======= ===================================================

and ``SignalSet.values`` (``kind, value_key, value``) gives each value its
readable text (prompt: shingle text), so text is handled once per value, not
once per account.

Each kind is produced by one function from the encoded events
(:mod:`graphlink.stages.encode`); which kinds are produced depends on which columns
the input has. The ``*_signals`` functions run the same code on a canonical
frame and return text values keyed by ``account_id`` (for tests and notebooks).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl

from graphlink.config import SignalConfig
from graphlink.stages.encode import (
    COUNT_SCHEMA, PAIR_SCHEMA, VALUE_SCHEMA, EncodedEvents, count_by_account, encode_frame, text_pairs,
)
from graphlink.stages.ingest import AccountsInfo
from graphlink.stages.signals.asn import load_asn_table
from graphlink.stages.signals.ip import ip_pairs, ip_signals, parse_ips
from graphlink.stages.signals.ip_lines import DRAWN_KIND
from graphlink.stages.signals.rotation_ties import corroborated_rotation, fold_drawn
from graphlink.stages.signals.prompt import normalise_prompt, prompt_pairs, prompt_signals, shingle_texts
from graphlink.stages.signals.timing import timing_pairs, timing_signals
from graphlink.stages.cotiming import minute_counts
from graphlink.stages.bursts import burst_sent

__all__ = [
    "SignalSet", "extract_signals", "categorical_signals", "ip_signals", "prompt_signals",
    "timing_signals", "account_signals", "normalise_prompt", "shingle_texts", "parse_ips",
    "load_asn_table", "PAIR_SCHEMA", "VALUE_SCHEMA", "categorical_pairs", "ip_pairs", "prompt_pairs",
    "timing_pairs", "text_ranks",
]



@dataclass
class SignalSet:
    """Account-signal pairs, their values' text, and per-kind statistics."""

    pairs: pl.DataFrame
    values: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=VALUE_SCHEMA))
    stats: dict[str, int] = field(default_factory=dict)
    #: Per-account facts learned on the way: ``account_idx, prompts_sampled, prompts_templated,
    #: prompts_scripted, requests_sampled, requests_scripted``
    #: (:func:`graphlink.stages.signals.prompt.prompt_pairs`).
    account_stats: pl.DataFrame | None = None
    #: ``account_idx, kind, n_values``: values per account of kinds whose unshared values were
    #: dropped from ``pairs`` (ip, ip_net, timing), shared or not.
    value_counts: pl.DataFrame | None = None
    #: ``account_idx, minute``: active minutes (:func:`graphlink.stages.cotiming.account_minutes`).
    minutes: pl.DataFrame | None = None
    #: Seconds spent per extractor (``run.json``: ``timings_signals``).
    seconds: dict[str, float] = field(default_factory=dict)
    #: ``(account_idx, minute, template; template, opening)``: when each account sent a sampled prompt's
    #: opening shingle (:func:`graphlink.stages.bursts.burst_sent`) and the shingles' words, what template
    #: bursts are tested on (:mod:`graphlink.stages.bursts`), and the thin accounts' shingles (``account_idx, value,
    #: count``: :func:`graphlink.stages.signals.prompt.prompt_pairs`); None without prompts or timestamps.
    openings: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None
    #: ``account_idx, minute, count``: ``minutes`` with each minute's events (:func:`graphlink.stages.cotiming.minute_counts`;
    #: the same buffers): the drill-down's per-minute counts of any accounts, filtered, not counted again.
    minute_counts: pl.DataFrame | None = None

    def take_pairs(self) -> pl.DataFrame:
        """Hand over ``pairs``, leaving an empty frame: the taker holds the only reference and can free them."""
        pairs, self.pairs = self.pairs, self.pairs.clear()
        return pairs


def categorical_pairs(enc: EncodedEvents, column: str, kind: str | None = None,
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keyed pairs ``(pairs, values)`` for a column of shared identifiers (card, device, user agent)."""
    kind = kind or column
    # Identifiers repeat within an account: few (account, value) groups, so hash grouping.
    counted = count_by_account(enc.frame, column, enc.index.height, strategy="hash")
    # The value's key is its rank among the column's distinct values (byte order): the
    # same in every engine, where the encoding hash is polars' own.
    ranked = text_ranks(enc.dictionary(column))
    pairs = counted.join(ranked.select("key", "value_key"), on="key").select(
        "account_idx", pl.lit(kind).alias("kind"), "value_key", "count")
    values = ranked.select(pl.lit(kind).alias("kind"), "value_key", "value")
    return pairs, values


def text_ranks(dictionary: pl.DataFrame) -> pl.DataFrame:
    """``key, value, value_key``: each distinct text's 0-based rank in byte order (``UInt64``), the
    portable key of categorical values (:mod:`graphlink.stages.portable`)."""
    return dictionary.sort("value").with_row_index("value_key").select(
        "key", "value", pl.col("value_key").cast(pl.UInt64))


def categorical_signals(events: pl.LazyFrame, column: str, kind: str | None = None) -> pl.DataFrame:
    """Pairs for a column whose values are shared identifiers, with text values.

    Examples
    --------
    >>> lf = pl.LazyFrame({"account_id": ["a", "a", "b"], "device": ["d1", "d1", None]})
    >>> categorical_signals(lf, "device").rows()
    [('a', 'device', 'd1', 2)]
    """
    enc = encode_frame(events.select("account_id", column))
    pairs, values = categorical_pairs(enc, column, kind)
    return text_pairs(pairs, values, enc.index)


def account_signals(accounts: pl.DataFrame, index: pl.DataFrame, creation_bucket_seconds: int,
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keyed pairs ``(pairs, values)`` from the accounts file: ``created_hour`` (creation bucket)
    and ``email_domain``."""
    frames = []
    if "created_at" in accounts.columns:
        bucket = pl.col("created_at").dt.truncate(f"{creation_bucket_seconds}s")
        frames.append(accounts.drop_nulls("created_at").select(
            "account_id", pl.lit("created_hour").alias("kind"), bucket.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("value")))
    if "email_domain" in accounts.columns:
        frames.append(accounts.drop_nulls("email_domain").select(
            "account_id", pl.lit("email_domain").alias("kind"), pl.col("email_domain").alias("value")))
    if not frames:
        return pl.DataFrame(schema=PAIR_SCHEMA), pl.DataFrame(schema=VALUE_SCHEMA)
    # Keys as for categorical values: the rank of the text within its kind (byte order).
    rank = (pl.col("value").rank("dense").over("kind") - 1).cast(pl.UInt64)
    rows = pl.concat(frames).with_columns(rank.alias("value_key")).join(
        index.select("account_id", "account_idx"), on="account_id")
    pairs = rows.select("account_idx", "kind", "value_key", pl.lit(1, pl.UInt32).alias("count"))
    return pairs, rows.select("kind", "value_key", "value").unique(["kind", "value_key"])


def extract_signals(enc: EncodedEvents, config: SignalConfig | None = None,
                    accounts: AccountsInfo | None = None, extra_signals: tuple[str, ...] = (),
                    release: bool = False) -> SignalSet:
    """All account-signal pairs the input supports (schema in the module docstring).

    Parameters
    ----------
    enc : EncodedEvents
        Output of :func:`graphlink.stages.encode.encode_events`.
    config : SignalConfig
    accounts : AccountsInfo, optional
        Adds ``created_hour`` and ``email_domain``.
    extra_signals : tuple of str
        User-declared categorical columns.
    release : bool
        Drop each encoded column from ``enc.frame`` once its extractor has
        run (the pipeline does: ~190 MiB per column on 24M events, off the
        memory high-water mark of the extractors that follow).
    """
    config = config or SignalConfig()
    cols = set(enc.columns)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    rotation = None  # a rotation block's pairs and text, kept until the other kinds can corroborate them

    def lap(name: str, column: str | None = None) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now
        if release and column is not None and column in enc.frame.columns:
            enc.frame = enc.frame.drop(column)
            if column == "prompt":
                enc.prompt_heads = None

    frames: list[pl.DataFrame] = []
    texts: list[pl.DataFrame] = []
    value_counts: list[pl.DataFrame] = []

    def add(pairs: pl.DataFrame, values: pl.DataFrame, counts: pl.DataFrame | None = None) -> None:
        frames.append(pairs)
        texts.append(values)
        if counts is not None:
            value_counts.append(counts)
    stats: dict[str, int] = {}
    account_stats = pl.DataFrame(schema={"account_idx": pl.UInt32, "prompts_sampled": pl.UInt32,
                                         "prompts_templated": pl.UInt32, "prompts_scripted": pl.UInt32,
                                         "requests_sampled": pl.UInt32, "requests_scripted": pl.UInt32})
    if "ip" in cols:
        asn = load_asn_table(config.asn_table) if config.asn_table else None
        pairs, values, s, counts = ip_pairs(enc, config.ipv4_prefix, config.ipv6_prefix, asn, config.ip_chain_position,
                                            config.rotation_ties)
        if config.rotation_ties and pairs.select((pl.col("kind") == "ip_rotation").any()).item():
            rotation = (pairs.filter(pl.col("kind") == "ip_rotation"), values.filter(pl.col("kind") == "ip_rotation"))
            pairs, values = pairs.filter(pl.col("kind") != "ip_rotation"), values.filter(pl.col("kind") != "ip_rotation")
        add(pairs, values, counts)
        stats.update(s)
        lap("ip", "ip")
    for column, kind in (("payment_fingerprint", "payment"), ("user_agent", "user_agent"),
                         *((c, c) for c in extra_signals)):
        if column in cols:
            add(*categorical_pairs(enc, column, kind))
            lap(kind, column)
    if "prompt" in cols:
        pairs, values, s, account_stats, (openings, opening_texts, thin) = prompt_pairs(enc, config)
        openings = (burst_sent(enc.frame, openings), opening_texts, thin) if "timestamp" in cols else None
        add(pairs, values)
        stats.update(s)
        lap("prompt", "prompt")
    else:
        openings = None
    if "timestamp" in cols:
        counted = minute_counts(enc.frame.select("account_idx", "timestamp"))
        minutes = counted.select("account_idx", "minute")
        pairs, values, s, counts = timing_pairs(enc, config.timing_bucket_seconds, config.timing_min_buckets,
                                                config.timing_bands, config.timing_rows, config.seed, minutes)
        add(pairs, values, counts)
        stats.update(s)
        lap("timing")
    else:
        minutes = counted = None
    if accounts is not None:
        add(*account_signals(accounts.frame, enc.index, config.creation_bucket_seconds))
        lap("accounts")
    counts_out = pl.concat([c.cast(dict(COUNT_SCHEMA)) for c in value_counts]) if value_counts else \
        pl.DataFrame(schema=COUNT_SCHEMA)
    if rotation is None:  # no tie: the rotators' drawn /64s stay uncounted (fold_drawn)
        counts_out = counts_out.filter(pl.col("kind") != DRAWN_KIND)
    frames = [f.select(list(PAIR_SCHEMA.names())).cast(dict(PAIR_SCHEMA)) for f in frames if f.height]
    texts = [t.select(list(VALUE_SCHEMA.names())).cast(dict(VALUE_SCHEMA)) for t in texts if t.height]
    if not frames:
        return SignalSet(pl.DataFrame(schema=PAIR_SCHEMA), pl.DataFrame(schema=VALUE_SCHEMA), stats, account_stats,
                         counts_out.filter(pl.col("kind") != DRAWN_KIND), minutes, seconds, openings, counted)
    pairs, values = pl.concat(frames), pl.concat(texts)
    if rotation is not None:  # a rotation block ties only rotators a card, template or clock links (rotation_ties)
        tied, named = corroborated_rotation(*rotation, pairs, enc.index.height)
        counts_out = fold_drawn(counts_out, tied)  # a tied rotator's drawn /64s are its lines (ip_lines)
        pairs = pl.concat([pairs, tied.select(list(PAIR_SCHEMA.names())).cast(dict(PAIR_SCHEMA))], rechunk=False)
        values = pl.concat([values, named.select(list(VALUE_SCHEMA.names())).cast(dict(VALUE_SCHEMA))], rechunk=False)
    stats["signal_pairs"] = pairs.height
    lap("combine")
    return SignalSet(pairs, values, stats, account_stats, counts_out, minutes, seconds, openings, counted)
