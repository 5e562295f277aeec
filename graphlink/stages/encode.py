"""Encode: the canonical events as integers, read once.

Every later stage needs the same few facts per event (whose, when, which IP,
card, user agent, prompt) and grouping tens of millions of strings again in
each extractor dominated the run time. :func:`encode_events` reads the input
once, in polars' streaming engine, and keeps per event only:

================== ======================== ===========================================
column             dtype                    meaning
================== ======================== ===========================================
account_idx        UInt32                   the account (:func:`graphlink.stages.ingest.build_account_index`)
timestamp          Datetime(us, UTC)        if the input has one (null where missing)
<text column>      UInt64                   a 64-bit hash of the value, null where missing
================== ======================== ===========================================

so memory grows by ~8 bytes per event and column (README, "Memory model"),
plus one ``key, value`` dictionary per text column with each distinct value
once (:meth:`EncodedEvents.dictionary`). Hashes are salted with the run's
seed; a collision between two values of a column is detected and raises
rather than merging the values. Prompts are hashed with a per-run salt
(:func:`prompt_salt`: the seed and a digest of the log's accounts), since the
prompt sample is chosen by smallest hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from graphlink.errors import GraphlinkError
from graphlink.stages.ingest import AccountsInfo, Events, index_accounts
from graphlink.stages.keycount import NUMPY_KEYS, account_bits, count_by_account, n_distinct, sort_keys, value_counts

__all__ = ["EncodedEvents", "PromptHeads", "encode_events", "encode_frame", "hash_text", "prompt_salt", "count_by_account",
           "value_counts", "distinct_pairs",
           "position_in_run", "with_account_ids", "text_pairs", "shared_only", "PAIR_SCHEMA", "VALUE_SCHEMA",
           "COUNT_SCHEMA", "account_bits", "n_distinct", "sort_keys", "NUMPY_KEYS"]


def hash_text(column: str, salt: int) -> pl.Expr:
    """64-bit hash of a text column, null where the value is missing."""
    col = pl.col(column)
    return pl.when(col.is_not_null()).then(col.hash(salt)).alias(column)


def prompt_salt(index: pl.DataFrame, seed: int) -> int:
    """The salt prompts are hashed with in this run: ``seed`` mixed with a digest of the log's accounts.

    The prompt sample keeps each account's distinct prompts with the smallest
    hash (:func:`graphlink.stages.signals.prompt.smallest_prompts`). With a salt
    anyone can know (``signals.seed``, 0 by default) an operator can grind
    camouflage prompts whose hash is smallest offline and fill its accounts'
    samples with them (break-it review, session 13: a third of its traffic as
    ground camouflage read its template share 0.003). The digest is of every
    account with events in the log -- its id and its number of events, summed
    over accounts (wrapping 64-bit), so row order does not matter -- which a
    sender cannot know when writing its prompts: it holds everyone else's
    traffic. The same log and seed give the same salt (the output is
    reproducible); another day's log, a subset of it or another seed gives
    another sample.

    Parameters
    ----------
    index : DataFrame
        The account index (``account_id`` String, ``events`` Int64; rows with
        no events, from an accounts file, are left out).
    seed : int
        The run's ``signals.seed``.

    Returns
    -------
    int
        A salt in ``[0, 2**63)`` for :func:`hash_text`.

    Examples
    --------
    >>> ix = pl.DataFrame({"account_id": ["a", "b"], "events": [3, 1]})
    >>> prompt_salt(ix, 0) == prompt_salt(ix.reverse(), 0) != prompt_salt(ix, 1)
    True
    """
    rows = index.filter(pl.col("events") > 0).select(
        pl.struct(pl.col("account_id"), pl.col("events").cast(pl.Int64)).hash(seed).alias("h"))
    digest = int(rows["h"].sum() or 0)  # UInt64 sums wrap: order-free
    return int(pl.Series([digest], dtype=pl.UInt64).hash(seed)[0]) >> 1


@dataclass
class PromptHeads:
    """Which prompts' text :func:`encode_events` keeps while it reads the prompt column to hash it.

    ``limits`` maps the index's events per account (``account_idx`` order) to
    the largest prompt hash kept per account (``uint64``), or None to keep
    none; ``text`` (on column ``prompt``) is what is kept of each, as it returns it: it must build new strings
    (a concatenation, as :func:`graphlink.stages.signals.prompt.head_text` does), or the kept heads would hold the
    buffers the whole prompt column was read into. The prompt
    signal's sampler (:func:`graphlink.stages.signals.prompt.prompt_heads`)
    then finds its sample's text there instead of reading the column again.
    """

    limits: Callable[[pl.Series], np.ndarray | None]
    text: pl.Expr


@dataclass
class EncodedEvents:
    """Events as integer keys (schema in the module docstring) plus the way back to text."""

    frame: pl.DataFrame
    index: pl.DataFrame
    #: The canonical events (text), read again only for the sampled prompts' text.
    source: pl.LazyFrame
    columns: tuple[str, ...]
    salt: int
    #: ``key, value`` per hashed text column (not prompts): the text behind every key.
    dictionaries: dict[str, pl.DataFrame] = field(default_factory=dict)
    #: The input before rejected rows were dropped (None: only ``source`` is known).
    unfiltered: pl.LazyFrame | None = None
    #: ``key, prompt``: :attr:`PromptHeads.text` of the prompts below their account's
    #: hash limit, one row per key (None: none kept, see :class:`PromptHeads`); the prompt
    #: sampler takes what it needs and sets it to None.
    prompt_heads: pl.DataFrame | None = None
    #: The salt of the ``prompt`` column's hashes (:func:`prompt_salt`; None: ``salt``).
    prompt_salt: int | None = None

    def texts(self, column: str, keys: pl.Series, transform: pl.Expr) -> pl.DataFrame:
        """``key, <column>``: ``transform`` of the text behind the given hashes of ``column``.

        Streams the column once, keeping only rows whose hash is wanted, one
        row per key found. ``transform`` must build new strings (prompts are
        normalised here): a filtered string column still points into the
        buffers it was read into, so keeping 2M of 24M prompts as read held
        all 4 GiB of them on the campaign preset. Rows the ingest rejected may
        be read too: a hash names its text whichever row carries it.
        """
        source = self.unfiltered if self.unfiltered is not None else self.source
        salt = self.prompt_salt if column == "prompt" and self.prompt_salt is not None else self.salt
        key = hash_text(column, salt).alias("key")
        return (
            source.select(key, pl.col(column)).filter(pl.col("key").is_in(keys.implode()))
            .select("key", transform.alias(column))
            .collect(engine="streaming")
            .unique("key")
        )

    def dictionary(self, column: str) -> pl.DataFrame:
        """``key, value``: the text behind the hashed values of ``column``."""
        return self.dictionaries[column]


def _dictionary(raw: pl.DataFrame, column: str, salt: int) -> tuple[pl.Series, pl.DataFrame]:
    """``(hashes, key/value table)`` of a text column; raises if two values share a hash.

    A second, independently salted hash must find as many distinct values as
    the first, or two values collided (about 1 in 10^7 runs at a few million
    distinct values); checking costs ~0.3 s of CPU on 24M rows (:func:`n_distinct`; polars'
    ``n_unique`` 0.7 s), comparing strings ~2 s.
    """
    hashes = raw.select(hash_text(column, salt))[column]
    first = hashes.arg_unique()  # one position per distinct hash: its length is the number of hashes
    second = raw.select(hash_text(column, salt + 0x9E37))[column]
    if first.len() != n_distinct(second):
        raise GraphlinkError(f"hash collision between two {column} values; rerun with another --seed")
    table = pl.DataFrame({"key": hashes.gather(first), "value": raw[column].gather(first)}).drop_nulls("key")
    return hashes, table


def encode_events(events: Events, accounts: AccountsInfo | None = None, salt: int = 0,
                  heads: PromptHeads | None = None) -> EncodedEvents:
    """Read ``events`` once into integer form (schema in the module docstring).

    The account index (:func:`graphlink.stages.ingest.build_account_index`) and the
    text dictionaries are built on the way. Each text column is read in its
    own streaming pass, hashed and dropped, so only one column's text is ever
    in memory (prompts not even that: they are hashed while streaming); which
    rows are kept is read once from the columns the ingest filter needs.
    With ``heads``, the pass that hashes the prompts also keeps the text the
    prompt sampler will need (:class:`PromptHeads`).
    """
    has_ts = "timestamp" in events.columns
    text = [c for c in events.columns if c not in ("account_id", "timestamp", "prompt")]
    firsts = ["account_id", *(["timestamp"] if has_ts else [])]
    if events.unfiltered is not None and events.kept is not None:
        source = events.unfiltered
        base = events.base
        events.base = None  # taken: not held by the caller's Events for the rest of the run
        if base is None:
            base = source.select(*firsts, events.kept.alias("__kept")).collect(engine="streaming")
        mask = base["__kept"]
        base = base.filter(mask).drop("__kept")
    else:
        source, mask = events.frame, None
        base = source.select(*firsts).collect(engine="streaming")

    def read(*exprs: pl.Expr | str) -> pl.DataFrame:
        frame = source.select(*exprs).collect(engine="streaming")
        return frame if mask is None else frame.filter(mask)

    index = index_accounts(base, has_ts, accounts)
    # The index holds each account id once: distinct ids with distinct hashes is an exact collision check.
    keys = index.select("account_idx", pl.col("account_id").hash(salt).alias("__account"))
    if keys["__account"].n_unique() != keys.height:
        raise GraphlinkError("hash collision between two account_id values; rerun with another --seed")
    frame = base.select(pl.col("account_id").hash(salt).alias("__account"), *(["timestamp"] if has_ts else []))
    del base
    dictionaries = {}
    for column in text:
        hashes, dictionaries[column] = _dictionary(read(column), column, salt)
        frame = frame.with_columns(hashes)
    # Accounts with events only; the index may also hold accounts-file-only rows.
    frame = frame.join(keys, on="__account", maintain_order="left").drop("__account")
    kept_heads, salted = None, None
    if "prompt" in events.columns:
        # Prompts are hashed with a per-run salt: the sample (smallest hashes) cannot be aimed at.
        salted = prompt_salt(index, salt)
        limits = heads.limits(index["events"]) if heads is not None else None
        if limits is None:
            frame = frame.with_columns(read(hash_text("prompt", salted))["prompt"])
        else:
            hashes, kept_heads = _prompt_pass(source, mask, frame["account_idx"], limits, heads.text, salted)
            frame = frame.with_columns(hashes)
    frame = frame.select("account_idx", pl.exclude("account_idx"))
    return EncodedEvents(frame=frame, index=index, source=events.frame, columns=events.columns, salt=salt,
                         dictionaries=dictionaries, unfiltered=events.unfiltered, prompt_heads=kept_heads,
                         prompt_salt=salted)


def _prompt_pass(source: pl.LazyFrame, mask: pl.Series | None, account_idx: pl.Series, limits: np.ndarray,
                 text: pl.Expr, salt: int) -> tuple[pl.Series, pl.DataFrame]:
    """``(prompt hashes of the kept rows, key/prompt heads)``: one streaming pass over the prompt column.

    A row's ``text`` is kept when its hash is at most its account's limit
    (rejected rows: limit 0); the per-row limits ride along as a gathered
    literal, so the column's text is never held whole. ``text`` must map a
    null prompt to null and build new strings (:class:`PromptHeads`).
    """
    per_row = limits[account_idx.to_numpy()]
    if mask is not None:
        full = np.zeros(mask.len(), dtype=np.uint64)
        full[mask.to_numpy()] = per_row
        per_row = full
    key = pl.col("__key")
    # Other rows' prompts become null before ``text`` (null stays null): a when/then around
    # ``text`` would build every row's text and throw most away.
    taken = pl.when(key <= pl.lit(pl.Series(per_row)).gather(pl.col("__row"))).then(pl.col("prompt"))
    out = (
        source.select("prompt").with_row_index("__row").with_columns(hash_text("prompt", salt).alias("__key"))
        .with_columns(taken.alias("prompt")).select(key, text.alias("__head"))
        .collect(engine="streaming")
    )
    del per_row
    # Not copied again: ``text`` writes new strings (:class:`PromptHeads`), and null rows hold none, so the kept rows'
    # views hold the kept heads' buffers only (campaign preset: 4.6M heads, 0.55 GB, of which 9 % repeat a key; a copy
    # of the distinct ones cost 1.5 s of CPU and built 0.52 GB beside them).
    kept = out.filter(pl.col("__head").is_not_null()).select(pl.col("__key").alias("key"),
                                                             pl.col("__head").alias("prompt")).unique("key")
    hashes = out["__key"] if mask is None else out["__key"].filter(mask)
    return hashes.alias("prompt"), kept


def encode_frame(events: pl.LazyFrame | pl.DataFrame, salt: int = 0) -> EncodedEvents:
    """Encode an already canonical frame (``account_id`` plus event columns); for tests and helpers.

    Examples
    --------
    >>> enc = encode_frame(pl.DataFrame({"account_id": ["b", "a", "b"], "ip": ["1.1.1.1", None, "1.1.1.1"]}))
    >>> enc.frame["account_idx"].to_list(), enc.frame["ip"].null_count()
    ([1, 0, 1], 1)
    """
    lf = events.lazy()
    columns = tuple(lf.collect_schema().names())
    ev = Events(frame=lf, path="<frame>", rows_read=0, columns=columns)
    return encode_events(ev, None, salt)


#: Keyed account-value pairs, the text of their values, and values per account (see :mod:`graphlink.stages.signals`).
PAIR_SCHEMA = pl.Schema({"account_idx": pl.UInt32, "kind": pl.String, "value_key": pl.UInt64, "count": pl.UInt32})
VALUE_SCHEMA = pl.Schema({"kind": pl.String, "value_key": pl.UInt64, "value": pl.String})
COUNT_SCHEMA = pl.Schema({"account_idx": pl.UInt32, "kind": pl.String, "n_values": pl.UInt32})


def position_in_run(starts: pl.Expr) -> pl.Expr:
    """0-based position of each row within its run of a sorted frame; ``starts`` is True on a run's first row.

    Examples
    --------
    >>> df = pl.DataFrame({"a": [1, 1, 2, 2, 2]})
    >>> df.select(position_in_run(pl.col("a") != pl.col("a").shift(1)).alias("pos"))["pos"].to_list()
    [0, 1, 0, 1, 2]
    """
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    return row - pl.when(starts.fill_null(True)).then(row).forward_fill()


def distinct_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame.unique()`` of a two-column frame, in order where it is sorted by both (runs: no hash table).

    Examples
    --------
    >>> distinct_pairs(pl.DataFrame({"a": [1, 1, 2, 2], "b": [5, 5, 5, 6]})).rows()
    [(1, 5), (2, 5), (2, 6)]
    """
    a, b = (pl.col(c) for c in frame.columns)
    ordered = frame.select(((a > a.shift(1)) | ((a == a.shift(1)) & (b >= b.shift(1)))).all()).item()
    return frame.filter(((a != a.shift(1)) | (b != b.shift(1))).fill_null(True)) if ordered else frame.unique()


def with_account_ids(frame: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``account_id`` in place of ``account_idx`` (same column position)."""
    columns = ["account_id" if c == "account_idx" else c for c in frame.columns]
    return frame.join(index.select("account_idx", "account_id"), on="account_idx").select(columns)


def text_pairs(pairs: pl.DataFrame, values: pl.DataFrame, index: pl.DataFrame) -> pl.DataFrame:
    """Keyed pairs (``account_idx, kind, value_key, count``) back to ``account_id, kind, value, count``."""
    named = with_account_ids(pairs.join(values, on=["kind", "value_key"]), index)
    return named.select("account_id", "kind", "value", "count").sort("account_id", "kind", "value")


def shared_only(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs whose value at least two accounts share (pairs hold one row per account and value)."""
    counts = value_counts(pairs["value_key"])
    shared = counts.filter(pl.col("count") >= 2).select("value_key")
    return pairs.join(shared, on="value_key", how="semi", maintain_order="left")
