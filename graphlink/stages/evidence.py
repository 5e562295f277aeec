"""Evidence: the shared values that explain why each cluster exists.

Output schema (:func:`cluster_evidence`)
----------------------------------------
============== ======= ==========================================================
column         dtype   meaning
============== ======= ==========================================================
cluster_id     Int64
kind           String  signal kind
value          String  the shared value (prompts: a shingle as written in one prompt, <= 200 chars)
accounts_sharing UInt32 cluster members carrying it
weight         Float64 its rarity weight (0 if over the hub cap: shared, but too common to link)
df             UInt32  accounts carrying it in the whole input
ties           Boolean it ties the cluster to the flagged cluster its ``why`` names
outside_flagged UInt32 of a tying value: accounts holding it in the input outside flagged clusters (else null)
============== ======= ==========================================================

At most ``evidence_per_kind`` values per cluster and kind are kept: values that
link (weight > 0) first, then the most shared, then the heaviest -- and, for a
cluster flagged through a tie, every value that tied it
(:mod:`graphlink.stages.tie_evidence`).
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import EVIDENCE_SCHEMA
from graphlink.stages.encode import count_by_account, position_in_run


def shared_in_clusters(memberships: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """``cluster_id, signal_idx, accounts_sharing``: values at least two members of a cluster carry.

    ``memberships`` has one row per (account, signal); ``clusters`` maps
    ``account_idx`` to ``cluster_id`` (nulls ignored). Counted by sorting one
    packed (signal, cluster) key: 33M memberships in ~2 s, against ~5 s for a
    two-column group-by.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 0], "signal_idx": [5, 5, 5, 6]}, schema={
    ...     "account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [1, 1, 2]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> shared_in_clusters(m, c).rows()
    [(1, 5, 2)]
    """
    members = clusters.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.UInt64))
    if memberships.is_empty() or members.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    # Each membership's cluster by indexing a per-account array: a gather, not a 38M-row join.
    size = int(max(memberships["account_idx"].max(), members["account_idx"].max())) + 1
    cluster_of = pl.DataFrame({"account_idx": pl.int_range(size, dtype=pl.UInt32, eager=True)}).join(
        members, on="account_idx", how="left", maintain_order="left")["cluster_id"]
    rows = memberships.select(
        "signal_idx", cluster_of.gather(memberships["account_idx"]).alias("cluster_id")).drop_nulls("cluster_id")
    if rows.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    # count_by_account packs its first column above its second: here (signal, cluster).
    counted = count_by_account(rows.select(pl.col("signal_idx").alias("account_idx"), "cluster_id"), "cluster_id",
                               int(memberships["signal_idx"].max()) + 1)
    return (  # sorted lazily (one row per cluster and value: the same rows as eager, faster)
        counted.lazy().filter(pl.col("count") >= 2)
        .select(pl.col("key").cast(pl.Int64).alias("cluster_id"), pl.col("account_idx").alias("signal_idx"),
                pl.col("count").alias("accounts_sharing"))
        .sort("cluster_id", "signal_idx").collect()
    )


def cluster_evidence(memberships: pl.DataFrame, signals: pl.DataFrame, clusters: pl.DataFrame,
                     per_kind: int = 10, shared: pl.DataFrame | None = None) -> pl.DataFrame:
    """Values shared by at least two members of a cluster (schema in the module docstring).

    Parameters
    ----------
    memberships : DataFrame
        ``account_idx, signal_idx`` (bipartite edges).
    signals : DataFrame
        ``signal_idx, kind, value, df, weight``.
    clusters : DataFrame
        ``account_idx, cluster_id`` (null cluster ids are ignored).
    per_kind : int
        Values kept per cluster and kind.
    shared : DataFrame, optional
        :func:`shared_in_clusters` of these memberships and clusters, if already computed.
    """
    if shared is None:
        shared = shared_in_clusters(memberships, clusters)
    return (top_per_kind(shared, per_kind, signals).with_columns(pl.lit(False).alias("ties"), pl.lit(None, pl.UInt32).alias("outside_flagged"))
            .select(list(EVIDENCE_SCHEMA.names())).cast(dict(EVIDENCE_SCHEMA)))


#: Phrases of one template (equally strong prompt values) kept before the next template's: 3 shingles of 5 words
#: overlap into a 7-word passage, enough to recognise a template, and with the default 10 phrases a kind three
#: templates are quoted.
PHRASES_PER_TEMPLATE = 3


def top_per_kind(shared: pl.DataFrame, per_kind: int, signals: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``per_kind`` values per cluster and kind to show: linking values first, then the strongest
    (``weight × accounts_sharing``, the order every view lists a kind's values in:
    :func:`graphlink.views.evidence.strongest_first`), then the most shared, the heaviest, then by text.

    Values that link (weight > 0) come first so that a cluster whose members
    also share many too-common values (a stock user agent, an over-cap proxy
    /24) still shows what links it. Strength before members: kept by members alone, a public prompt every member
    and hundreds of outsiders send (a framework's system prompt) filled an agent fleet's prompt rows, and its own
    template was cut (new-user review, session 39: 10 of 19 flagged clusters of independent 154 quoted only it; 2
    now). A kind's values equally strong (one template's phrases) past :data:`PHRASES_PER_TEMPLATE` of them
    (prompt phrases only) come after the other values, so a cluster's several templates are all quoted.
    ``shared`` has ``cluster_id, signal_idx,
    accounts_sharing`` and, unless ``signals`` is given to supply them,
    ``kind, value, weight``. Candidates are cut on the numbers first, keeping
    ties at the cut, so the text is read and compared only for the few rows
    that can make the list (a proxy fleet's clusters share millions of values).
    """
    if signals is not None:
        # A list cut before (the pipeline cuts once for evidence and drill-down) has them already.
        missing = [c for c in ("kind", "weight") if c not in shared.columns]
        if missing:
            shared = shared.join(signals.select("signal_idx", *missing), on="signal_idx")
    strength = ["__links", "__strength", "accounts_sharing", "weight"]
    ranked = shared.with_columns((pl.col("weight") > 0).alias("__links"),
                                 (pl.col("weight") * pl.col("accounts_sharing")).alias("__strength")).sort(
        ["cluster_id", "kind", *strength, "signal_idx"], descending=[False, False, True, True, True, True, False])
    # One template's phrases are equally strong (the same members send them all): past PHRASES_PER_TEMPLATE of
    # them, the next template's phrases come first, so each template of a cluster is quoted (break-it review,
    # session 40: 26 of 29 flagged clusters with several templates quoted one only).
    same = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in ["cluster_id", "kind", *strength]]).fill_null(True)
    ranked = ranked.with_columns(((pl.col("kind") == "prompt") & (position_in_run(same) >= PHRASES_PER_TEMPLATE))
                                 .alias("__over"))
    order = ["cluster_id", "kind", "__links", "__over", "__strength", "accounts_sharing", "weight"]
    descending = [False, False, True, False, True, True, True]
    ranked = ranked.sort(order, descending=descending, maintain_order=True)
    new_group = (pl.col("cluster_id") != pl.col("cluster_id").shift(1)) | (pl.col("kind") != pl.col("kind").shift(1))
    ranked = ranked.with_columns(position_in_run(new_group).alias("__nth"))
    ties = ["__links", "__over", "__strength", "accounts_sharing", "weight"]
    boundary = ranked.filter(pl.col("__nth") == per_kind - 1).select(
        "cluster_id", "kind", *[pl.col(c).alias(f"__b{c}") for c in ties])
    at_cut = pl.all_horizontal([pl.col(c) == pl.col(f"__b{c}") for c in ties])
    candidates = (
        ranked.join(boundary, on=["cluster_id", "kind"], how="left", maintain_order="left")
        .filter((pl.col("__nth") < per_kind) | at_cut)
        .drop("__nth", *[f"__b{c}" for c in ties])
    )
    if signals is not None:
        extra = [c for c in ("value", "df") if c in signals.columns and c not in candidates.columns]
        if extra:
            candidates = candidates.join(signals.select("signal_idx", *extra), on="signal_idx")
    return (
        candidates.sort([*order, "value"], descending=[*descending, False])
        .group_by("cluster_id", "kind", maintain_order=True).head(per_kind)
        .drop("__links", "__strength", "__over")
    )


def kind_strengths(evidence: pl.DataFrame, by: list[str] | tuple[str, ...] = ()) -> pl.DataFrame:
    """``*by, kind, kind_strength``: the kinds of evidence rows strongest first, ties by name -- the one order of kinds
    (``clusters.parquet``'s ``kinds``, ``show``, the report, the notebook's ``why()``).

    A kind is as strong as its best value, ``weight × accounts_sharing``: a template's many overlapping shingles do
    not outrank one card every member pays with. ``by``: group columns (``cluster_id``), sorted first.

    >>> ev = pl.DataFrame({"kind": ["timing", "ip", "timing", "payment"], "weight": [0.5, 1.0, 0.1, 2.0],
    ...                    "accounts_sharing": [6, 3, 3, 2]})
    >>> kind_strengths(ev)["kind"].to_list()  # ip and timing tie at 3.0: by name
    ['payment', 'ip', 'timing']
    """
    return (evidence.group_by(*by, "kind").agg((pl.col("weight").fill_null(0.0) * pl.col("accounts_sharing")).max()
                                              .alias("kind_strength"))
            .sort([*by, "kind_strength", "kind"], descending=[False] * len(by) + [True, False]))


def evidence_summary(evidence: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``cluster_id, kinds`` (linking kinds, strongest first) and ``cluster_id, top_values`` (``kind=value``
    of the five strongest shared values) of :func:`cluster_evidence`'s table, for ``clusters.parquet``."""
    linking = evidence.filter(pl.col("weight") > 0)
    kinds = kind_strengths(linking, ["cluster_id"]).group_by("cluster_id", maintain_order=True).agg(
        pl.col("kind").alias("kinds"))
    top = (
        # Strongest evidence first: what a value adds to the cluster's links (its per-pair weight times
        # the members sharing it), so two cards that bind the cluster come before an address 271
        # accounts share; ties by how many share it.
        linking.with_columns((pl.col("weight") * pl.col("accounts_sharing")).alias("__strength"))
        .sort(["cluster_id", "__strength", "accounts_sharing", "kind", "value"],
              descending=[False, True, True, False, False])
        .group_by("cluster_id", maintain_order=True).head(5)
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.concat_str([pl.col("kind"), pl.lit("="), pl.col("value").str.slice(0, 80)]).alias("top_values"))
    )
    return kinds, top

