"""Linking: the projection of node-value affiliations onto weighted node pairs.

Shared by the account projection (:func:`graphlink.stages.graph.project`) and
the cluster graph of campaigns (:mod:`graphlink.stages.campaigns`). A value
shared by few nodes links them all (its clique); a popular value is projected
as a union of random Hamiltonian cycles through its nodes (:func:`link`,
:func:`generators`), an expander whose cuts carry the clique's share of weight.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.config import GraphConfig
from graphlink.stages.portable import signed, xxhash64

__all__ = ["apply_pair_budget", "clique_support", "generators", "graded_thinning", "link", "planned_pair_count", "planned_pairs", "with_projection",
           "cycle_order", "cycle_sorted", "WEIGHT_SCALE", "quantised", "combine_weights"]

#: Pair weights are summed as integers in units of ``1 / WEIGHT_SCALE`` (2**-32, ~2e-10):
#: integer sums do not depend on the order of summation, so every engine (and any
#: partitioning of the work) gets the same edge weights bit for bit.
WEIGHT_SCALE = 2**32


def cycle_order(seed: int, generator: int) -> pl.Expr:
    """Position key of an account on a value's ``generator``-th cycle: ``xxhash64(seed, generator,
    signal_idx, account_idx)`` read as a signed 64-bit integer (:mod:`graphlink.stages.portable`).

    Accounts of a value are ordered by this key, ties by ``account_idx``.
    """
    return signed(xxhash64(seed, generator, pl.col("signal_idx"), pl.col("account_idx"))).alias("order")


def cycle_sorted(frame: pl.DataFrame, seed: int, generator: int) -> pl.DataFrame:
    """``frame`` (``signal_idx``, ``account_idx`` and any payload) sorted by ``signal_idx``, then
    :func:`cycle_order`, then ``account_idx``: the order of each value's ``generator``-th cycle.

    Sorted on one packed ``UInt64`` key -- ``signal_idx`` in the top bits, the order key's top bits below
    (read unsigned with its sign bit flipped, so the signed order is kept) -- instead of three columns
    (campaign preset: ~2.6x less CPU per sort). Where the key holds each row once, its order is the
    three-column order (distinct top bits within a value order the rows as the full key does); a repeated
    key (two accounts of one value agreeing in the order's top bits: rare) sorts on the three columns.

    Examples
    --------
    >>> f = pl.DataFrame({"signal_idx": [0, 0, 0, 1], "account_idx": [5, 6, 7, 5]},
    ...                  schema={"signal_idx": pl.UInt32, "account_idx": pl.UInt32})
    >>> full = f.sort("signal_idx", cycle_order(3, 1), "account_idx")
    >>> cycle_sorted(f, 3, 1).equals(full)
    True
    """
    if frame.height < 2:
        return frame
    bits = max(1, int(frame["signal_idx"].max()).bit_length())
    order = cycle_order(seed, generator).reinterpret(signed=False) ^ pl.lit(2**63, pl.UInt64)
    key = (pl.col("signal_idx").cast(pl.UInt64) * pl.lit(2**(64 - bits), pl.UInt64)
           + order // pl.lit(2**bits, pl.UInt64)).alias("__cycle")
    keyed = frame.lazy().with_columns(key).sort("__cycle").collect()
    keys = keyed["__cycle"]
    if (keys.slice(1) == keys.slice(0, keys.len() - 1)).any():
        return frame.lazy().sort("signal_idx", cycle_order(seed, generator), "account_idx").collect()
    return keyed.drop("__cycle")


def quantised(weight: pl.Expr) -> pl.Expr:
    """A contribution's weight as an integer count of ``1 / WEIGHT_SCALE`` (floor; exact in any engine)."""
    return (weight * float(WEIGHT_SCALE)).floor().cast(pl.Int64)


def combine_weights(strong: pl.Expr, weak: pl.Expr, carry: pl.Expr | None = None) -> pl.Expr:
    """A pair's weight from its strong and weak integer sums: strong plus at most as much again from weak.

    ``carry`` (optional): weight of strong values counted only as a carrier -- weak kinds may add up to
    ``strong + carry`` (:mod:`graphlink.stages.transient`: exits shared at chance rate).
    """
    cap = strong if carry is None else strong + carry.fill_null(0)
    return (strong + pl.min_horizontal(weak.fill_null(0), cap)).cast(pl.Float64) / float(WEIGHT_SCALE)


def generators(members: pl.DataFrame, config: GraphConfig) -> pl.DataFrame:
    """``signal_idx, generators, sparse``: how each value is projected.

    An account holding ``m`` popular values of a kind gets about ``2 * k * m``
    neighbours from them if each is projected as ``k`` random cycles, so a
    value whose members hold ``m`` such values on average gets ``k =
    ceil(sparse_degree / m)`` cycles (between 1 and ``sparse_degree``): an
    office's one NAT address gets the full degree, each of a proxy rotator's
    hundreds of pool addresses one cycle, and every account ends up with at
    least ``2 * sparse_degree`` neighbours per kind. A value is projected
    ``sparse`` (as cycles) when it is shared by more than ``clique_limit``
    accounts, or by more than ``4 * k`` when ``k < sparse_degree`` (its members
    are rotators, whose many shared values already knit them together): the
    clique of a proxy address shared by 30 rotators costs 435 pairs, its cycle 30.
    Values shared by at most 4 accounts are always cliques.
    """
    empty = pl.DataFrame(schema={"signal_idx": pl.UInt32, "generators": pl.Int64, "sparse": pl.Boolean})
    # Only the three columns read, cut lazily (not a copy of every column of 35M memberships).
    popular = members.lazy().filter(pl.col("df") > 4).select("account_idx", "kind_code", "signal_idx").collect()
    if popular.height == 0:
        return empty
    n_kinds = int(popular["kind_code"].max()) + 1
    slot = popular.select(pl.col("account_idx").cast(pl.UInt64) * n_kinds
                          + pl.col("kind_code").cast(pl.UInt64)).to_series().to_numpy()
    held = np.bincount(slot)  # popular values per (account, kind)
    per_member = held[slot].astype(np.float64)
    del slot
    signal = popular["signal_idx"].to_numpy()
    del popular
    # Signal ids are small integers: their counts list the distinct ids (np.unique sorted 35M).
    counts = np.bincount(signal)
    mean_held = np.bincount(signal, weights=per_member) / np.maximum(counts, 1)
    del per_member, signal
    ids = np.flatnonzero(counts)
    k = np.clip(np.ceil(config.sparse_degree / mean_held[ids]), 1, config.sparse_degree).astype(np.int64)
    df = counts[ids]
    sparse = (df > config.clique_limit) | ((k < config.sparse_degree) & (df > 4 * k))
    return pl.DataFrame({"signal_idx": ids.astype(np.uint32), "generators": k, "sparse": sparse})


def with_projection(frame: pl.DataFrame, config: GraphConfig) -> pl.DataFrame:
    """Fill ``generators``/``sparse`` of values :func:`generators` left out (cliques)."""
    return frame.with_columns(pl.col("generators").fill_null(config.sparse_degree),
                              pl.col("sparse").fill_null(pl.col("df") > config.clique_limit))


def planned_pairs() -> pl.Expr:
    """Pairs a value plans: ``df (df - 1) / 2`` as a clique, ``df * generators`` as cycles."""
    dfi = pl.col("df").cast(pl.Int64)
    return pl.when(~pl.col("sparse")).then(dfi * (dfi - 1) // 2).otherwise(dfi * pl.col("generators"))


def planned_pair_count(signals: pl.DataFrame, config: GraphConfig) -> int:
    """Candidate account pairs the projection builds for the linking values.

    ``signals`` needs ``df``, ``linked`` and, for values above ``clique_limit``,
    ``generators`` (else ``sparse_degree`` is assumed).
    """
    frame = signals.filter("linked")
    if "generators" not in frame.columns:
        frame = frame.with_columns(pl.lit(config.sparse_degree, pl.Int64).alias("generators"))
    if "sparse" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Boolean).alias("sparse"))
    frame = with_projection(frame, config)
    return int(frame.select(planned_pairs().sum()).item() or 0)


def apply_pair_budget(linked: pl.DataFrame, config: GraphConfig) -> tuple[pl.DataFrame, list[str]]:
    """Fit the planned pairs in ``max_pairs``: fewer generators first, then a lower hub cap.

    ``linked`` has ``signal_idx, kind, df, generators, sparse``; returns it cut, with a warning.
    """
    def total(frame: pl.DataFrame) -> int:
        return int(frame.select(planned_pairs().sum()).item() or 0)

    planned = total(linked)
    if planned <= config.max_pairs:
        return linked, []
    warnings = []
    degree = config.sparse_degree
    if config.graded_budget:
        linked, degree = graded_thinning(linked, config.max_pairs, degree)
    # Thinning a popular value's circulant keeps it linking (at a weaker expansion).
    while degree > 1 and total(linked) > config.max_pairs:
        degree //= 2
        # Fewer cycles per value, and values over 4 times their cycles as cycles, not cliques.
        linked = linked.with_columns(pl.col("generators").clip(None, degree)).with_columns(
            (pl.col("sparse") | (pl.col("df") > 4 * pl.col("generators"))).alias("sparse"))
    if degree < config.sparse_degree:
        which, rest = ("the most popular values", ", the rest as under the budget") if config.graded_budget else ("popular values", "")
        warnings.append(f"pair budget: {planned:,} account pairs planned > max_pairs {config.max_pairs:,}; "
                        f"{which} linked by at most {degree} circulant generator(s){rest}")
    if total(linked) <= config.max_pairs:
        return linked, warnings
    # Still over: drop the most popular values, whole popularity levels together
    # (an adaptive hub cap), so the cut never depends on how values are numbered.
    levels = (
        linked.with_columns(planned_pairs().alias("planned"))
        .group_by("df").agg(pl.col("planned").sum()).sort("df")
        .with_columns(pl.col("planned").cum_sum().alias("cum"))
    )
    new_cap = int(levels.filter(pl.col("cum") <= config.max_pairs)["df"].max() or 0)
    dropped = linked.filter(pl.col("df") > new_cap)
    by_kind = dropped.group_by("kind").agg(pl.len()).sort("kind").rows()
    warnings.append(
        f"pair budget: {planned:,} account pairs planned > max_pairs {config.max_pairs:,}; "
        f"values shared by more than {new_cap} accounts were not linked ("
        + ", ".join(f"{k}: {n:,}" for k, n in by_kind) + ")")
    return linked.filter(pl.col("df") <= new_cap), warnings


def graded_thinning(linked: pl.DataFrame, max_pairs: int, degree: int) -> tuple[pl.DataFrame, int]:
    """Thin the most popular values' circulants first, and only as far as ``max_pairs`` needs.

    :func:`apply_pair_budget`'s step halves every value's generators (and turns every value shared by more than
    four times the new count into cycles) once the planned pairs exceed the budget at all: a log one pair over
    ``max_pairs`` loses half of every popular value's cycles, a cell's card held by 20 becomes cycles instead of
    its clique, and each remaining cycle edge carries twice the weight (``(df - 1) / (2 * generators)``) -- so
    whether a value is projected whole depends on how large the rest of the log is. Here each halving is
    applied to whole popularity levels (every value shared by ``df`` accounts or more, so the cut never depends on
    how values are numbered), from the most popular down, until the pairs fit: values below the cut keep the
    projection a log within the budget gives them.

    Parameters
    ----------
    linked : DataFrame
        ``df, generators, sparse`` (one row per linking value), as :func:`apply_pair_budget` takes it.
    max_pairs : int
        The budget (``GraphConfig.max_pairs``).
    degree : int
        The generators a value may hold now (``GraphConfig.sparse_degree``).

    Returns
    -------
    tuple of (DataFrame, int)
        ``linked`` thinned, and the degree the last (partial) halving went to: the caller's uniform halving
        goes on from there only if even thinning every level at that degree did not fit.

    Examples
    --------
    >>> frame = pl.DataFrame({"df": [40, 400, 4000], "generators": [8, 8, 8], "sparse": [True] * 3})
    >>> out, degree = graded_thinning(frame, 40 * 8 + 400 * 8 + 4000 * 4, 8)
    >>> out["generators"].to_list(), degree
    ([8, 8, 4], 4)
    """
    def thinned(frame: pl.DataFrame, to: int, floor) -> pl.DataFrame:
        hit = pl.col("df") >= floor
        return frame.with_columns(pl.when(hit).then(pl.col("generators").clip(None, to))
                                  .otherwise(pl.col("generators")).alias("generators")).with_columns(
            (pl.col("sparse") | (hit & (pl.col("df") > 4 * pl.col("generators")))).alias("sparse"))

    while degree > 1:
        excess = int(linked.select(planned_pairs().sum()).item() or 0) - max_pairs
        if excess <= 0:
            return linked, degree
        half = degree // 2
        # Pairs each popularity level saves when halved, cumulated from the most popular level down.
        levels = (
            thinned(linked.with_columns(planned_pairs().alias("before")), half, 0)
            .with_columns((pl.col("before") - planned_pairs()).alias("saved"))
            .group_by("df").agg(pl.col("saved").sum()).sort("df", descending=True)
            .with_columns(pl.col("saved").cum_sum().alias("cum"))
        )
        enough = levels.filter(pl.col("cum") >= excess)
        if enough.height:
            return thinned(linked, half, int(enough["df"].max())), half
        linked, degree = thinned(linked, half, 0), half
    return linked, degree


def link(members: pl.DataFrame, config: GraphConfig, seed: int = 0, verify=None,
         extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """Weighted node pairs from node-value affiliations (the projection proper).

    Parameters
    ----------
    members : DataFrame
        ``account_idx`` (UInt32 node id), ``signal_idx``, ``df`` (nodes holding
        the value), ``weight``, ``strong``, ``damp`` (a per-affiliation
        multiplier) and ``generators`` (circulant generators of values above
        ``clique_limit``, see :func:`generators`).
    config : GraphConfig
    seed : int
        Seeds the order of nodes on each value's circle.

    Returns
    -------
    DataFrame
        ``source, target, weight`` (``EDGE_SCHEMA``), ``source < target``,
        sorted. A pair's weight is its strong kinds' sum plus at most as much
        again from weak kinds.
    verify : callable, optional
        Given the ``key`` of each pair only ``joint`` values (a ``members``
        column) projected and no strong value linked, returns ``key, weight`` of
        those to link as if strongly (:class:`graphlink.stages.cotiming.CoTiming`).
    extra : DataFrame, optional
        More candidate rows ``key, weight, strong, joint`` (as built here), summed
        with the projected ones (:func:`graphlink.stages.transient.excess_pairs`).
    """
    members = with_projection(members, config)
    # One u64 key per pair (source in the top 32 bits) and the contribution as an integer
    # count of 1 / WEIGHT_SCALE, computed in each part: a candidate is 17 bytes from the
    # start, and no wider pair list (ids, float weights, both endpoints' columns) is kept.
    carried = "carry" in members.columns

    def keyed(source: pl.Expr, target: pl.Expr, weight: pl.Expr) -> list[pl.Expr]:
        out = [(source.cast(pl.UInt64) * 2**32 + target.cast(pl.UInt64)).alias("key"),
               quantised(weight).alias("weight"), pl.col("strong"), pl.col("joint")]
        return out + [quantised(weight * pl.col("carry")).alias("carry")] if carried else out

    if "joint" not in members.columns:
        members = members.with_columns(pl.lit(False).alias("joint"))
    more = ["carry"] if carried else []

    small = members.lazy().filter(~pl.col("sparse")).select(
        "signal_idx", "account_idx", "weight", "strong", "damp", "joint", *more)
    clique = (
        small.join(small.select("signal_idx", pl.col("account_idx").alias("other"),
                                pl.col("damp").alias("damp_other")), on="signal_idx")
        .filter(pl.col("account_idx") < pl.col("other"))
        .select(keyed(pl.col("account_idx"), pl.col("other"), pl.col("weight") * pl.col("damp") * pl.col("damp_other")))
        .collect()
    )
    if carried and extra is not None and "carry" not in extra.columns:
        extra = extra.with_columns(pl.lit(0, pl.Int64).alias("carry"))
    parts = [clique] if extra is None else [clique, extra.select(clique.columns).cast(clique.schema)]
    del clique
    # Each account gets 2 * k neighbours instead of df - 1: weights scaled so the
    # value's total weight (and each account's expected strength) is the clique's.
    scale = (pl.col("df").cast(pl.Float64) - 1) / (2 * pl.col("generators"))
    large = members.filter(pl.col("sparse")).select(
        "signal_idx", "account_idx", (pl.col("weight") * scale).alias("scaled"), "strong", "generators", "damp",
        "joint", *more)
    if large.height:
        # Each generator is a random Hamiltonian cycle through the value's accounts
        # (its own seeded order, next account around the circle): a union of k random
        # cycles is a random 2k-regular graph, an expander whose every cut carries the
        # clique's share of weight, so Leiden sees one dense block and no arc of one
        # order is denser than a random subset (a single order with k strides was: arcs
        # held its short strides, and CPM cut large values into arcs).
        # The next account around the circle is the next row of the value's run, the
        # run's first after its last (its position + 1 modulo df: a run holds the df
        # accounts of its value). Read with shifts, not by joining the run to itself.
        signal = pl.col("signal_idx")
        first = (signal != signal.shift(1)).fill_null(True)
        last = (signal != signal.shift(-1)).fill_null(True)

        def around(column: str) -> pl.Expr:
            return (pl.when(last).then(pl.when(first).then(pl.col(column)).forward_fill())
                    .otherwise(pl.col(column).shift(-1)))

        for j in range(1, int(large["generators"].max()) + 1):
            parts.append(
                cycle_sorted(large.filter(pl.col("generators") >= j), seed, j).lazy()
                .with_columns(around("account_idx").alias("other"), around("damp").alias("damp_other"))
                .filter(pl.col("account_idx") != pl.col("other"))
                .select(keyed(pl.min_horizontal("account_idx", "other"), pl.max_horizontal("account_idx", "other"),
                              pl.col("scaled") * pl.col("damp") * pl.col("damp_other")))
                .collect()
            )
    del large, small
    # Strong pairs first, so the many weak-only candidate pairs (stock phrasing, shared
    # /24s) are dropped by a semi-join instead of being grouped (1M-event world: 5 s -> 0.5 s).
    candidates = pl.concat(parts, rechunk=False)
    del parts
    # Grouped lazily (polars' eager group-by was ~2x slower here); integer sums, so any order gives the same weights.
    sums = [pl.col("weight").sum().alias("strong_weight")] + ([pl.col("carry").sum()] if carried else [])
    strong = candidates.lazy().filter("strong").group_by("key").agg(sums).collect()
    if verify is not None:
        joint = candidates.filter(pl.col("joint")).select("key").unique().join(strong.select("key"), on="key",
                                                                               how="anti")
        promoted = verify(joint)
        strong = pl.concat([strong, promoted.select("key", pl.col("weight").alias("strong_weight"),
                                                    *([pl.lit(0, pl.Int64).alias("carry")] if carried else []))])
    weak = (
        candidates.filter(~pl.col("strong")).join(strong.select("key"), on="key", how="semi")
        .lazy().group_by("key").agg(pl.col("weight").sum().alias("weak_weight")).collect()
    )
    del candidates
    edges = (
        strong.join(weak, on="key", how="left")
        .filter(pl.col("strong_weight") > 0)
        .with_columns(combine_weights(pl.col("strong_weight"), pl.col("weak_weight"),
                                      pl.col("carry") if carried else None).alias("weight"))
        .filter(pl.col("weight") >= config.min_edge_weight)
        .sort("key")
        .select((pl.col("key") // 2**32).cast(pl.UInt32).alias("source"),
                (pl.col("key") % 2**32).cast(pl.UInt32).alias("target"), "weight")
    )
    return edges


def clique_support(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                   config: GraphConfig) -> pl.DataFrame:
    """``cluster_id, size, strong, weak, top``: each cluster's internal weight under the exact projection.

    :func:`link` projects a popular value as random cycles whose total weight
    is its clique's, but a run of one cycle is locally denser than the clique,
    so Leiden can carve a slice of a NAT's users into a cluster the clique
    (pair weight below the CPM resolution) would never support. This sums,
    for the members of each cluster, every linking value's clique weight
    ``weight * sum_{a<b} damp_a * damp_b`` inside it, strong and weak kinds
    apart, and ``top``, the largest single strong value's share of it (in
    weight units): a slice of one value is made of that value alone.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    memberships : DataFrame
        ``account_idx, signal_idx, damp``.
    signals : DataFrame
        ``signal_idx, kind, weight, linked``.
    config : GraphConfig
        Which kinds are strong.

    Returns
    -------
    DataFrame
        One row per cluster (``size`` UInt32, ``strong``/``weak``/``top`` Float64).
    """
    kinds = signals["kind"].unique().to_list()
    strong = {k: config.spec(k).strong for k in kinds}
    clustered = partition.drop_nulls("cluster_id")
    values = (
        _clustered_linking(memberships, clustered, signals.filter("linked").select("signal_idx", "kind", "weight"))
        .group_by("cluster_id", "signal_idx")
        .agg(pl.col("kind").first(), pl.col("weight").first(), pl.col("damp").sum().alias("sd"),
             (pl.col("damp") ** 2).sum().alias("sd2"))
        .with_columns((pl.col("weight") * (pl.col("sd") ** 2 - pl.col("sd2")) / 2).alias("w"),
                      pl.col("kind").is_in([k for k, is_strong in strong.items() if is_strong]).alias("strong"))
    )
    sizes = clustered.group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("size"))
    sums = values.group_by("cluster_id").agg(pl.col("w").filter("strong").sum().alias("strong"),
                                              pl.col("w").filter(~pl.col("strong")).sum().alias("weak"),
                                              pl.col("w").filter("strong").max().alias("top"))
    return (sizes.join(sums, on="cluster_id", how="left")
            .with_columns(pl.col("strong", "weak", "top").fill_null(0.0)).sort("cluster_id"))


def _clustered_linking(memberships: pl.DataFrame, clustered: pl.DataFrame, linked: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, signal_idx, damp, cluster_id, kind, weight``: the memberships of clustered accounts in linking
    values, in the memberships' order -- the rows (and order) of joining them to ``clustered`` and ``linked``, by
    per-account and per-value gathers and one filter instead (38M memberships: ~2.2 -> ~0.8 s of CPU on the
    campaign preset, the same rows in the same order, so the group sums add the same floats in the same order).
    Falls back to the joins for ids not dense from 0 (an account listed twice)."""
    if memberships.is_empty() or clustered.is_empty() or clustered["account_idx"].is_duplicated().any() \
            or linked["signal_idx"].is_duplicated().any():
        return (memberships.select("account_idx", "signal_idx", "damp").join(clustered, on="account_idx")
                .join(linked, on="signal_idx"))
    n_accounts = int(max(memberships["account_idx"].max(), clustered["account_idx"].max())) + 1
    n_values = int(max(memberships["signal_idx"].max(), linked["signal_idx"].max() or 0)) + 1
    cluster = pl.DataFrame({"account_idx": pl.int_range(n_accounts, dtype=pl.UInt32, eager=True)}).join(
        clustered.select(pl.col("account_idx").cast(pl.UInt32), "cluster_id"), on="account_idx", how="left",
        maintain_order="left")["cluster_id"]
    table = pl.DataFrame({"signal_idx": pl.int_range(n_values, dtype=pl.UInt32, eager=True)}).join(
        linked.with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(True).alias("__linked")), on="signal_idx",
        how="left", maintain_order="left")
    value = pl.col("signal_idx")
    return (memberships.select("account_idx", "signal_idx", "damp")
            .filter(pl.lit(cluster.is_not_null()).gather(pl.col("account_idx"))
                    & pl.lit(table["__linked"].fill_null(False)).gather(value))
            .with_columns(pl.lit(cluster).gather(pl.col("account_idx")).alias("cluster_id"),
                          pl.lit(table["kind"]).gather(value).alias("kind"),
                          pl.lit(table["weight"]).gather(value).alias("weight")))
