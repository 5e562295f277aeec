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
kind linked.

Output schema
-------------
``Projection.edges``: ``source`` UInt32, ``target`` UInt32 (``source < target``,
account indices), ``weight`` Float64, sorted by (source, target).
``Projection.signals``: ``signal_idx`` UInt32, ``kind``, ``value``, ``df``
(accounts sharing it), ``weight`` (0 if it links nobody), ``linked`` (bool).
``Projection.memberships``: the bipartite edges ``account_idx, signal_idx``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from graphlink.config import GraphConfig

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


def weigh_signals(pairs: pl.DataFrame, n_accounts: int, config: GraphConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the signals and weigh them.

    Returns ``(signals, memberships)`` (schemas in the module docstring);
    signal numbering follows (kind, value) order, so it is deterministic.

    Examples
    --------
    >>> pairs = pl.DataFrame({"account_idx": [0, 1, 2, 0], "kind": ["payment"] * 3 + ["ip"],
    ...                       "value": ["c1", "c1", "c1", "1.2.3.4"]},
    ...                      schema_overrides={"account_idx": pl.UInt32})
    >>> signals, _ = weigh_signals(pairs, 10, GraphConfig())
    >>> signals.select("kind", "df", "linked").rows()
    [('ip', 1, False), ('payment', 3, True)]
    """
    signals = (
        pairs.group_by("kind", "value").agg(pl.len().cast(pl.UInt32).alias("df"))
        .sort("kind", "value")
        .with_row_index("signal_idx")
        .with_columns(pl.col("signal_idx").cast(pl.UInt32))
    )
    kinds = signals["kind"].unique().sort().to_list()
    spec = pl.DataFrame(
        {
            "kind": kinds,
            "kind_weight": [config.spec(k).weight for k in kinds],
            "cap": [config.spec(k).max_accounts for k in kinds],
            "strong": [config.spec(k).strong for k in kinds],
        },
        schema={"kind": pl.String, "kind_weight": pl.Float64, "cap": pl.Int64, "strong": pl.Boolean},
    )
    idf = (pl.lit(max(n_accounts, 1), pl.Float64) / pl.col("df")).log().clip(lower_bound=0.0)
    linked = (pl.col("df") >= 2) & (pl.col("df") <= pl.col("cap")) & (pl.col("kind_weight") > 0)
    signals = (
        signals.join(spec, on="kind", how="left")
        .with_columns(linked.alias("linked"))
        .with_columns(pl.when("linked").then(pl.col("kind_weight") * idf).otherwise(0.0).alias("weight"))
        .with_columns((pl.col("linked") & (pl.col("weight") > 0)).alias("linked"))
        .select("signal_idx", "kind", "value", "df", "weight", "linked", "strong", "cap")
    )
    memberships = (
        pairs.select("account_idx", "kind", "value")
        .join(signals.select("kind", "value", "signal_idx"), on=["kind", "value"])
        .select("account_idx", "signal_idx")
        .sort("signal_idx", "account_idx")
    )
    return signals, memberships


def _planned_pairs(df: pl.Expr, clique_limit: int, degree: int) -> pl.Expr:
    dfi = df.cast(pl.Int64)
    return pl.when(dfi <= clique_limit).then(dfi * (dfi - 1) // 2).otherwise(dfi * degree)


def _apply_pair_budget(signals: pl.DataFrame, config: GraphConfig) -> tuple[pl.DataFrame, list[str]]:
    planned = _planned_pairs(pl.col("df"), config.clique_limit, config.sparse_degree)
    linked = signals.filter("linked").with_columns(planned.alias("planned"))
    total = int(linked["planned"].sum() or 0)
    if total <= config.max_pairs:
        return signals, []
    # Drop the most popular values first: they cost the most pairs and say the least.
    # Whole popularity levels go together (an adaptive hub cap), so the cut never
    # depends on how values that are equally popular happen to be numbered.
    levels = (
        linked.group_by("df").agg(pl.col("planned").sum()).sort("df")
        .with_columns(pl.col("planned").cum_sum().alias("cum"))
    )
    new_cap = int(levels.filter(pl.col("cum") <= config.max_pairs)["df"].max() or 0)
    dropped = linked.filter(pl.col("df") > new_cap)
    by_kind = dropped.group_by("kind").agg(pl.len()).sort("kind").rows()
    warning = (
        f"pair budget: {total:,} account pairs planned > max_pairs {config.max_pairs:,}; "
        f"values shared by more than {new_cap} accounts were not linked ("
        + ", ".join(f"{k}: {n:,}" for k, n in by_kind) + ")"
    )
    signals = signals.with_columns(
        pl.when(pl.col("signal_idx").is_in(dropped["signal_idx"].implode()))
        .then(False).otherwise(pl.col("linked")).alias("linked")
    ).with_columns(pl.when("linked").then(pl.col("weight")).otherwise(0.0).alias("weight"))
    return signals, [warning]


def project(pairs: pl.DataFrame, n_accounts: int, config: GraphConfig | None = None,
            seed: int = 0) -> Projection:
    """Project account-signal pairs onto weighted account-account edges.

    Parameters
    ----------
    pairs : DataFrame
        ``account_idx, kind, value`` (see :mod:`graphlink.signals`).
    n_accounts : int
        N in the rarity weight ``log(N / df)``.
    config : GraphConfig
    seed : int
        Seeds the order of accounts in sparse projections.

    Examples
    --------
    >>> pairs = pl.DataFrame({"account_idx": [0, 1, 1, 2], "kind": ["payment"] * 4,
    ...                       "value": ["c1", "c1", "c2", "c2"]}, schema_overrides={"account_idx": pl.UInt32})
    >>> project(pairs, 100).edges.select("source", "target").rows()
    [(0, 1), (1, 2)]
    """
    config = config or GraphConfig()
    signals, memberships = weigh_signals(pairs, n_accounts, config)
    signals, warnings = _apply_pair_budget(signals, config)
    linked = signals.filter("linked").select("signal_idx", "df", "weight", "strong")
    members = memberships.join(linked, on="signal_idx")

    small = members.filter(pl.col("df") <= config.clique_limit).select("signal_idx", "account_idx", "weight", "strong")
    clique = (
        small.join(small.select("signal_idx", pl.col("account_idx").alias("other")), on="signal_idx")
        .filter(pl.col("account_idx") < pl.col("other"))
        .select(pl.col("account_idx").alias("source"), pl.col("other").alias("target"), "weight", "strong")
    )

    degree = config.sparse_degree
    large = (
        members.filter(pl.col("df") > config.clique_limit)
        .with_columns(pl.struct("account_idx", "signal_idx").hash(seed).alias("order"))
        .with_columns((pl.col("order").rank("ordinal").over("signal_idx") - 1).cast(pl.Int64).alias("pos"))
    )
    ring = [
        large.select("signal_idx", "account_idx", "weight", "strong", "df",
                     ((pl.col("pos") + j) % pl.col("df").cast(pl.Int64)).alias("pos"))
        for j in range(1, degree + 1)
    ]
    parts = [clique]
    if large.height:
        # Each account gets 2 * degree circulant neighbours instead of df - 1 clique
        # neighbours: scale weights so its total strength is unchanged.
        scale = (pl.col("df").cast(pl.Float64) - 1) / (2 * degree)
        parts.append(
            pl.concat(ring)
            .join(large.select("signal_idx", "pos", pl.col("account_idx").alias("other")), on=["signal_idx", "pos"])
            .select(
                pl.min_horizontal("account_idx", "other").alias("source"),
                pl.max_horizontal("account_idx", "other").alias("target"),
                (pl.col("weight") * scale).alias("weight"),
                "strong",
            )
        )
    edges = pl.concat(parts)
    edges = (
        edges.group_by("source", "target")
        .agg(pl.col("weight").sum(), pl.col("weight").filter("strong").sum().alias("strong_weight"))
        .filter((pl.col("strong_weight") > 0) & (pl.col("weight") >= config.min_edge_weight))
        .select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32), "weight")
        .sort("source", "target")
    )
    stats = {
        "signals": signals.height,
        "signals_linking": int(signals["linked"].sum() or 0),
        "signals_over_cap": int(signals.filter(pl.col("df") > pl.col("cap")).height),
        "projected_pairs": edges.height,
    }
    return Projection(edges=edges, signals=signals.drop("strong", "cap"), memberships=memberships,
                      n_accounts=n_accounts, stats=stats, warnings=warnings)
