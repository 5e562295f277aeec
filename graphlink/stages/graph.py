"""Graph: weight signals by rarity and project the bipartite graph onto accounts.

Weights
-------
A value shared by ``df`` of the ``N`` accounts weighs ``kind_weight * log(N / df)``
(IDF): a card shared by two accounts says far more than an IP shared by eighty.
A value shared by more than its kind's hub cap (``KindSpec.max_accounts``)
weighs nothing and links nobody.

Projection without cliques
--------------------------
Two accounts are linked with the summed weight of the values they share. A
value shared by ``df`` accounts would add ``df * (df - 1) / 2`` pairs, so:

* ``df <= clique_limit`` (default 32): all pairs, exactly as networkx's
  weighted bipartite projection (the oracle in ``tests/test_graph.py``);
* ``clique_limit < df <= cap``: a sparse circulant instead of the clique. The
  value's accounts are put in a pseudo-random order (a hash of account and
  value, so independent of input order) and each is linked to the next
  ``sparse_degree`` accounts around the circle, with weight scaled by
  ``(df - 1) / (2 * sparse_degree)`` so each account keeps the total link
  strength the clique would have given it. The group stays one dense,
  well-connected block for Leiden at ``df * sparse_degree`` pairs;
* ``df > cap``: nothing.

If the pairs still planned exceed ``GraphConfig.max_pairs`` (a memory guard),
the most popular values are dropped until they fit, and a warning says so.

Weak kinds (``KindSpec.strong = False``) add weight only to pairs a strong
kind linked, and at most as much as the strong kinds gave: a stock template
shared by a whole operator, or a /24 shared by neighbours, can double a link
but never outweigh the evidence that made it.

Rotation damping
----------------
An account that rotates through many values of a kind says less with each
one: a proxy user with 130 IPs shares some with every account of the same
proxy pool, a household's two IPs are its own. Each account-value link is
damped by ``sqrt(min(1, r / n))`` where ``n`` is how many values of that kind
the account has and ``r`` the median over accounts having the kind, so a pair
weighs ``weight * damp_a * damp_b`` per shared value (the TF normalisation of
text retrieval). Typical accounts are not damped at all.

Output schema
-------------
``Projection.edges``: ``source`` UInt32, ``target`` UInt32 (``source < target``,
account indices), ``weight`` Float64, sorted by (source, target).
``Projection.signals``: ``signal_idx`` UInt32, ``kind``, ``value``, ``df``
(accounts sharing it), ``weight`` (0 if it links nobody), ``linked`` (bool).
``Projection.memberships``: the bipartite edges ``account_idx, signal_idx,
count`` (events of the account carrying the value), ``damp`` (rotation damping).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.cotiming import CANDIDATE_KINDS, CoTiming
from graphlink.stages.encode import sort_keys
from graphlink.stages.portable import signal_hash
from graphlink.stages.linking import apply_pair_budget, generators, link, planned_pairs, with_projection
from graphlink.stages.transient import excess_pairs, transient_exits

EDGE_SCHEMA = pl.Schema({"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})


@dataclass
class Projection:
    """Weighted account-account edges and the weighted signal table behind them."""

    edges: pl.DataFrame
    signals: pl.DataFrame
    memberships: pl.DataFrame
    n_accounts: int
    stats: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: ``source, target, weight``: the pairs co-timing linked (:mod:`graphlink.stages.cotiming`), part of ``edges``.
    co_timed: pl.DataFrame | None = None
    #: ``signal_idx, all``: events per network value over every account, when ``memberships`` holds only
    #: clustered accounts (the Spark engine); None: read from ``memberships`` (:mod:`graphlink.stages.network_cells`).
    network_events: pl.DataFrame | None = None
    #: The accounts own-value membership and hub twins added (:data:`graphlink.stages.join_notes.JOINS_SCHEMA`; None:
    #: neither ran), for the ``why``, each member's ``joined_by`` and run.json's counts.
    joins: pl.DataFrame | None = None



def _number(pairs: pl.DataFrame, values: pl.DataFrame, n_accounts: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the signals: ``(memberships, signals)``.

    ``memberships`` is ``account_idx, signal_idx, count`` sorted by (signal,
    account); ``signals`` is ``signal_idx, kind, value_key, value, df``.
    Signals are numbered in the order of a fixed 64-bit hash of (kind,
    value_key) (:func:`graphlink.stages.portable.signal_hash`, the same in every engine), so numbering does not depend on input order; two distinct
    values would share an id only on a hash collision, about 1 in 10^5 runs at
    ten million distinct values. ``pairs``' ``kind`` may be text or an Enum of
    the kinds (:func:`coded_kinds`).

    One sort of a packed key (top bits of the signal hash, then the account)
    numbers signals and orders memberships at once, carrying only ``count``
    along: kind and value are read off the (small) ``values`` table. The sort
    runs on the keys alone where counts are 1 (:func:`sort_unique_keys`: eager
    ``DataFrame.sort`` of the key and its payload took 5.1-5.6 s of CPU on the
    campaign preset's 38M pairs, this about 1.2 s); one account holds a value
    once, so keys are unique and any sort gives the same rows.
    """
    bits = max(1, (max(n_accounts, 1) - 1).bit_length())
    hashed = signal_hash(sorted(set(values["kind"].unique().to_list()) | set(pairs["kind"].unique().to_list())))
    top = pl.col("signal_hash") // 2**bits
    table = values.select("kind", "value_key", "value", hashed.alias("signal_hash")).with_columns(
        top.alias("top"))
    if table["top"].n_unique() == table.height:
        keyed = pairs.select((hashed // 2**bits * 2**bits + pl.col("account_idx")).alias("__packed"), "count")
        rows = sort_unique_keys(keyed).with_columns((pl.col("__packed") // 2**bits).alias("top"))
        del keyed
        first = pl.col("top") != pl.col("top").shift(1)
        runs = rows.filter(first.fill_null(True)).select("top").with_columns(
            rows["top"].rle().struct.field("len").cast(pl.UInt32).alias("df"))
        signals = runs.with_row_index("signal_idx").join(table, on="top", how="left", maintain_order="left")
        if signals["kind"].null_count() == 0:
            memberships = rows.select((pl.col("__packed") % 2**bits).cast(pl.UInt32).alias("account_idx"),
                                      pl.col("top").rle_id().cast(pl.UInt32).alias("signal_idx"), "count")
            return memberships, signals.select("signal_idx", "kind", "value_key", "value", "df")
    # Two values agree on the packed bits (or a pair's value has no text): number exactly.
    rows = (
        pairs.select("account_idx", pl.col("kind").cast(pl.String), "value_key", "count", hashed.alias("signal_hash"))
        .sort("signal_hash", "account_idx")
        .with_columns(pl.col("signal_hash").rle_id().cast(pl.UInt32).alias("signal_idx"))
    )
    first = pl.col("signal_idx") != pl.col("signal_idx").shift(1).fill_null(-1)
    signals = (
        rows.filter(first).select("signal_idx", "kind", "value_key")
        .with_columns(rows["signal_idx"].rle().struct.field("len").cast(pl.UInt32).alias("df"))
        .join(values.select("kind", "value_key", "value"), on=["kind", "value_key"], how="left",
              maintain_order="left")
        .with_columns(pl.col("value").fill_null(pl.col("value_key").cast(pl.String)))
    )
    return rows.select("account_idx", "signal_idx", "count"), signals.select(
        "signal_idx", "kind", "value_key", "value", "df")


def sort_unique_keys(keyed: pl.DataFrame) -> pl.DataFrame:
    """``keyed`` (``__packed`` UInt64, all distinct; ``count`` UInt32) sorted by ``__packed``.

    Most pairs are seen once (``count`` 1: 85% of the campaign preset's 38M), so the keys are
    sorted alone (:func:`graphlink.stages.encode.sort_keys`), the few rows
    with a larger count are sorted with it (polars' lazy sort) and their counts are put back by
    position (``np.searchsorted``: the keys are distinct, so each lands on its one row): 1.2 s of
    CPU against 2.7 s for the lazy sort of every key with its count. When fewer than half the
    counts are 1 (or a key repeats), all rows are sorted with their counts. Either way the
    same frame.
    """
    counted = keyed.filter(pl.col("count") != 1)
    if 2 * counted.height > keyed.height or keyed["__packed"].null_count():
        return keyed.lazy().sort("__packed").collect()
    keys = sort_keys(keyed["__packed"])
    if keys.len() > 1 and bool((keys.to_numpy()[1:] == keys.to_numpy()[:-1]).any()):
        return keyed.lazy().sort("__packed").collect()  # a repeated key: sorted with its counts
    counted = counted.lazy().sort("__packed").collect()
    counts = np.ones(keys.len(), dtype=np.uint32)
    counts[np.searchsorted(keys.to_numpy(), counted["__packed"].to_numpy())] = counted["count"].to_numpy()
    return pl.DataFrame({"__packed": keys, "count": pl.Series(counts, dtype=keyed.schema["count"])})


def coded_kinds(pairs: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with ``kind`` as an Enum of the kinds of ``pairs`` and ``values`` (sorted).

    A kind's text is 16 bytes a row in polars (0.6 GB over the campaign preset's 38M
    pairs), its Enum code one: :func:`project` swaps the column before numbering so the
    text is freed before the numbering sort allocates. The same signals come out
    (:func:`graphlink.stages.portable.signal_hash` reads the kind through the same Enum).

    Examples
    --------
    >>> pairs = pl.DataFrame({"account_idx": [0], "kind": ["ip"], "value_key": [7], "count": [1]})
    >>> coded_kinds(pairs, pl.DataFrame({"kind": ["payment"], "value_key": [1], "value": ["c"]}))["kind"].dtype
    Enum(categories=['ip', 'payment'])
    """
    kinds = sorted(set(values["kind"].unique().to_list()) | set(pairs["kind"].unique().to_list()))
    return pairs.with_columns(pl.col("kind").cast(pl.Enum(kinds)))


def kind_specs(kinds: list[str], config: GraphConfig) -> pl.DataFrame:
    """``kind, kind_code, kind_weight, cap, strong`` of the given (sorted) kinds; ``kind_code`` is the position."""
    return pl.DataFrame(
        {
            "kind": kinds,
            "kind_code": list(range(len(kinds))),
            "kind_weight": [config.spec(k).weight for k in kinds],
            "cap": [config.spec(k).max_accounts or 2**62 for k in kinds],
            "strong": [config.spec(k).strong for k in kinds],
        },
        schema={"kind": pl.String, "kind_code": pl.UInt64, "kind_weight": pl.Float64, "cap": pl.Int64,
                "strong": pl.Boolean},
    )


def rate(frame: pl.DataFrame, config: GraphConfig) -> pl.DataFrame:
    """``frame`` (``df, kind_weight, cap``) plus ``linked`` and the per-pair ``weight`` of each value.

    Per-pair weight of a value: 1 when two accounts share it, falling with
    popularity as (2 / df) ** exponent (see GraphConfig.rarity_exponent).
    A function of ``(kind, df)`` alone: the Spark engine applies it to the
    distinct ``(kind, df)`` combinations and joins the result back.
    """
    rarity = (2.0 / pl.col("df").cast(pl.Float64)).pow(config.rarity_exponent)
    linked = (pl.col("df") >= 2) & (pl.col("df") <= pl.col("cap")) & (pl.col("kind_weight") > 0)
    return frame.with_columns(linked.alias("linked")).with_columns(
        pl.when("linked").then(pl.col("kind_weight") * rarity).otherwise(0.0).alias("weight"))


def damping(median: pl.Expr, config: GraphConfig) -> pl.Expr:
    """Rotation damping of an account holding ``n_values`` values of a kind whose median account holds ``median``."""
    return (median / pl.col("n_values")).clip(upper_bound=1.0).pow(config.damping)


def weigh_signals(pairs: pl.DataFrame, n_accounts: int, config: GraphConfig,
                  value_counts: pl.DataFrame | None = None,
                  values: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the signals and weigh them.

    ``pairs`` is either keyed (``account_idx, kind, value_key[, count]`` with the
    text in ``values``: ``kind, value_key, value``, one row per value, as
    :mod:`graphlink.stages.signals` returns them) or carries the text itself
    (``account_idx, kind, value``).
    Returns ``(signals, affiliations)`` (schemas in the module docstring).
    ``n_accounts`` and ``value_counts`` are accepted for callers that pass
    them; the weight of a value depends only on its own popularity.

    Examples
    --------
    >>> pairs = pl.DataFrame({"account_idx": [0, 1, 2, 0], "kind": ["payment"] * 3 + ["ip"],
    ...                       "value": ["c1", "c1", "c1", "1.2.3.4"]},
    ...                      schema_overrides={"account_idx": pl.UInt32})
    >>> signals, _ = weigh_signals(pairs, 10, GraphConfig())
    >>> signals.sort("kind").select("kind", "value", "df", "linked").rows()
    [('ip', '1.2.3.4', 1, False), ('payment', 'c1', 3, True)]
    """
    if "value_key" not in pairs.columns:
        pairs = pairs.with_columns(pl.col("value").hash(0x5EED).alias("value_key"))
        values = pairs.select("kind", "value_key", "value").unique(["kind", "value_key"])
    elif values is None:
        values = pairs.select("kind", "value_key").unique().with_columns(
            pl.col("value_key").cast(pl.String).alias("value"))
    count = pl.col("count") if "count" in pairs.columns else pl.lit(1, pl.UInt32).alias("count")
    numbered, signals = _number(pairs.select("account_idx", "kind", "value_key", count), values, n_accounts)
    spec = kind_specs(signals["kind"].unique().sort().to_list(), config)
    signals = rate(signals.join(spec, on="kind", how="left", maintain_order="left"), config).select(
        "signal_idx", "kind", "value", "df", "weight", "linked", "strong", "cap")
    if config.damping == 0:  # (x ** 0 is 1 for every account: nothing to count; the default)
        return signals, numbered.select("account_idx", "signal_idx", "count", pl.lit(1.0).alias("damp"))
    # Rotation damping: an account holding n values of a kind, against the median
    # account's r, weighs sqrt(min(1, r / n)) on each of them (see module docstring).
    # Each (account, kind) is a slot of a dense array: memberships read their damping
    # with a gather instead of a join, and only kinds not in value_counts are counted.
    codes = spec.select("kind", "kind_code")
    n_kinds = max(codes.height, 1)
    slot = (pl.col("account_idx").cast(pl.UInt64) * n_kinds + pl.col("kind_code")).alias("slot")
    signal_codes = signals.select("signal_idx", "kind").join(codes, on="kind", maintain_order="left")["kind_code"]
    # Memberships are sorted by signal: reading each row's kind code is a sequential gather.
    numbered = numbered.with_columns(signal_codes.gather(numbered["signal_idx"]).alias("kind_code")).with_columns(slot)
    counted = (value_counts.join(codes, on="kind").with_columns(slot).select("slot", pl.col("n_values").cast(pl.UInt32))
               if value_counts is not None and value_counts.height else None)
    # Memberships per slot by a bincount (slots are dense: accounts times kinds), not a group-by of the 38M
    # memberships: the same counts, one row per slot held (their order is read by nothing below).
    held = np.bincount(numbered["slot"].to_numpy().astype(np.int64, copy=False))
    if counted is not None:
        # Kinds whose unshared values were dropped early are counted from value_counts.
        counted_codes = codes.join(value_counts.select("kind").unique(), on="kind", how="semi")["kind_code"]
        held[np.isin(np.arange(held.size) % n_kinds, counted_codes.to_numpy())] = 0
    slots = np.flatnonzero(held)
    per_account = pl.DataFrame({"slot": pl.Series(slots, dtype=numbered.schema["slot"]),
                                "n_values": pl.Series(held[slots], dtype=pl.UInt32)})
    if counted is not None:
        per_account = pl.concat([per_account, counted])
    per_account = per_account.with_columns(
        damping(pl.col("n_values").median().over(pl.col("slot") % n_kinds), config).alias("damp"))
    dense = np.ones(max(n_accounts, int(numbered["account_idx"].max() or 0) + 1) * n_kinds)
    dense[per_account["slot"].to_numpy()] = per_account["damp"].to_numpy()
    # A polars gather: numpy's fancy indexing took 1.4 s for 38M memberships, this 0.4 s.
    memberships = numbered.select("account_idx", "signal_idx", "count",
                                  pl.lit(pl.Series(dense)).gather(pl.col("slot")).alias("damp"))
    return signals, memberships


def project(pairs: pl.DataFrame, n_accounts: int, config: GraphConfig | None = None,
            seed: int = 0, value_counts: pl.DataFrame | None = None,
            values: pl.DataFrame | None = None, minutes: pl.DataFrame | None = None,
            ip_prefixes: tuple[int, int] = (24, 48)) -> Projection:
    """Project account-signal pairs onto weighted account-account edges.

    Parameters
    ----------
    pairs : DataFrame
        ``account_idx, kind, value_key, count`` (see :mod:`graphlink.signals`)
        or ``account_idx, kind, value``.
    n_accounts : int
        Number of accounts (vertices).
    config : GraphConfig
    seed : int
        Seeds the order of accounts in sparse projections.
    value_counts : DataFrame, optional
        Accepted for compatibility; unused.
    values : DataFrame, optional
        ``kind, value_key, value``: the text of keyed values.
    minutes : DataFrame, optional
        ``account_idx, minute``: active minutes, to verify the pairs a template or
        a timing band projected and nothing strong linked
        (:mod:`graphlink.stages.cotiming`; off when None or ``config.co_timing_weight`` is 0).
    ip_prefixes : (int, int)
        IPv4 and IPv6 network sizes of the ``ip_net`` signal, to find each exit's
        network when ``config.transient_share`` is on (:mod:`graphlink.stages.transient`).

    Returns
    -------
    Projection
        Schemas in the module docstring.

    Examples
    --------
    >>> pairs = pl.DataFrame({"account_idx": [0, 1, 1, 2], "kind": ["payment"] * 4,
    ...                       "value": ["c1", "c1", "c2", "c2"]}, schema_overrides={"account_idx": pl.UInt32})
    >>> project(pairs, 100).edges.select("source", "target").rows()
    [(0, 1), (1, 2)]
    """
    config = config or GraphConfig()
    # igraph's imports (~0.8 s, matplotlib's among them) run beside the projection's polars work, which releases
    # the GIL: the communities stage after it no longer waits for them.
    threading.Thread(target=importlib.import_module, args=("igraph",), daemon=True).start()
    if values is not None and "value_key" in pairs.columns and pairs.schema["kind"] == pl.String:
        pairs = coded_kinds(pairs, values)  # frees the kind's text (if the caller handed the pairs over)
    signals, memberships = weigh_signals(pairs, n_accounts, config, value_counts, values)
    # The memberships carry the pairs from here on; if the caller handed them over
    # (the pipeline does), this frees them before the projection's peak.
    del pairs
    kinds = signals.select("kind").unique().sort("kind").with_row_index("kind_code")
    linked = signals.filter("linked").join(kinds, on="kind").select(
        "signal_idx", "kind", "kind_code", "df", "weight", "strong")
    # 38M rows on the campaign preset: only the columns generators() and link() read (not kind's text).
    members = memberships.select("account_idx", "signal_idx", "damp").join(
        linked.select("signal_idx", "kind_code", "df", "weight", "strong"), on="signal_idx")
    linked = with_projection(linked.join(generators(members, config), on="signal_idx", how="left"), config)
    linked, warnings = apply_pair_budget(linked, config)
    if len(warnings):
        members = members.join(linked.select("signal_idx"), on="signal_idx", how="semi")
    signals = signals.with_columns(pl.col("signal_idx").is_in(linked["signal_idx"].implode()).alias("linked"))
    signals = signals.with_columns(pl.when("linked").then(pl.col("weight")).otherwise(0.0).alias("weight"))

    members = members.join(linked.select("signal_idx", "generators", "sparse"), on="signal_idx", how="left")
    extra = None
    if config.transient_share > 0:
        found = transient_exits(signals, memberships, config.transient_share, config.clique_limit, *ip_prefixes,
                                min_exits=config.transient_min_exits)
        exits = found.select("signal_idx")
        # The twelfth pass's rule leaves values projected as cycles alone (a clique would add pairs); the chance
        # test (alpha > 0) tests them too, adding only the pairs it keeps.
        if config.transient_alpha == 0:
            exits = exits.join(members.filter(~pl.col("sparse")).select("signal_idx"), on="signal_idx",
                               how="semi").unique()
        if exits.height:
            extra = excess_pairs(members.join(exits, on="signal_idx", how="semi"), exits.height,
                                 config.transient_min_shared, config.transient_alpha)
            if config.transient_floor > 0:
                nets = found["network_idx"].unique()  # the networks of every chosen exit, cycles included
                members = members.with_columns(pl.when(pl.col("signal_idx").is_in(nets.implode()))
                                               .then(pl.col("weight") * config.transient_floor)
                                               .otherwise(pl.col("weight")))
                chosen = pl.col("signal_idx").is_in(exits["signal_idx"].implode())
                extra = extra.with_columns((pl.col("weight").cast(pl.Float64) * (1 - config.transient_floor)).floor()
                                           .cast(pl.Int64))
                members = members.with_columns(
                    pl.when(chosen).then(pl.col("weight") * config.transient_floor).otherwise(pl.col("weight")),
                    pl.when(chosen).then((1 - config.transient_floor) / config.transient_floor).otherwise(0.0)
                    .alias("carry"))
            else:
                members = members.join(exits, on="signal_idx", how="anti")
    verify = None
    if minutes is not None and config.co_timing_weight > 0:
        joint_codes = kinds.filter(pl.col("kind").is_in(list(CANDIDATE_KINDS)))["kind_code"]
        members = members.with_columns(pl.col("kind_code").is_in(joint_codes.implode()).alias("joint"))
        verify = CoTiming(minutes, n_accounts, config.co_timing_weight)
    edges = link(members, config, seed, verify, extra)
    co_timed = verify.edges() if verify is not None else None
    stats = {
        "signals": signals.height,
        "signals_linking": int(signals["linked"].sum() or 0),
        "signals_over_cap": int(signals.filter(pl.col("df") > pl.col("cap")).height),
        "projected_pairs": edges.height,
        "planned_pairs": int(linked.select(planned_pairs().sum()).item() or 0),
    }
    if co_timed is not None:
        stats["co_timed_pairs"] = co_timed.height
    return Projection(edges=edges, signals=signals.drop("strong", "cap"), memberships=memberships,
                      n_accounts=n_accounts, stats=stats, warnings=warnings, co_timed=co_timed)
