"""How many values of each kind a cluster's members share, against the few ``evidence.parquet`` lists.

``evidence.parquet`` keeps ``[scoring] evidence_per_kind`` values per cluster and kind (ten by default;
:mod:`graphlink.stages.evidence`), so a cluster whose 592 accounts pay with 48 shared cards lists ten of them. A
view that counts the listed rows ("10 payment cards shared") understates the evidence; the views say "48 payment
cards shared (10 listed)" instead, from :func:`shared_totals`: the values held by two or more members that link
(weight > 0), counted in ``linking.parquet`` (complete for the kinds it lists) and, for the kinds it leaves out
(prompt phrases, activity signatures, template bursts: :data:`graphlink.stages.drilldown.UNLISTED_KINDS`), in
``memberships.parquet``, which lists at most ``[drilldown] member_values_per_kind`` of them: a count reaching it is a
lower bound (``50+``). A folder without either table gives no totals, and the views count what they list.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.drilldown import UNLISTED_KINDS
from graphlink.store.folder import Outputs

__all__ = ["TOTALS_SCHEMA", "listed_per_kind", "outputs_shared_totals", "shared_totals", "total_text", "totals_caption"]

#: :func:`shared_totals`: per kind, the linking values two or more members hold, and whether that is a lower bound.
TOTALS_SCHEMA = pl.Schema({"kind": pl.String, "shared": pl.UInt32, "lower_bound": pl.Boolean})


def shared_totals(memberships: pl.DataFrame | None, linking: pl.DataFrame | None, listed: int = 0) -> pl.DataFrame:
    """:data:`TOTALS_SCHEMA` of one cluster: per kind, how many values two or more of its members hold that link.

    ``memberships`` / ``linking``: the cluster's ``memberships.parquet`` / ``linking.parquet`` rows (``account_id,
    kind, value, weight``), or None where the folder lacks the table; ``listed``: ``member_values_per_kind`` (0: not
    cut), so a memberships kind with that many linking values is counted as a lower bound.

    Examples
    --------
    >>> lk = pl.DataFrame({"account_id": ["a", "b", "a", "b", "c"], "kind": ["payment"] * 4 + ["ip"],
    ...                    "value": ["k1", "k1", "k2", "k2", "1.2.3.4"], "weight": [1.0] * 5})
    >>> ms = pl.DataFrame({"account_id": ["a", "b", "a", "b"], "kind": ["prompt"] * 4, "value": ["x", "x", "y", "y"],
    ...                    "weight": [1.0, 1.0, 0.0, 0.0]})
    >>> shared_totals(ms, lk, listed=1).rows()
    [('payment', 2, False), ('prompt', 1, True)]
    """
    parts = []
    if linking is not None:
        parts.append(linking.select("account_id", "kind", "value", "weight"))
    if memberships is not None:
        rows = memberships.select("account_id", "kind", "value", "weight")
        parts.append(rows.filter(pl.col("kind").is_in(UNLISTED_KINDS)) if linking is not None else rows)
    if not parts:
        return pl.DataFrame(schema=TOTALS_SCHEMA)
    from_memberships = pl.col("kind").is_in(UNLISTED_KINDS) if linking is not None else pl.lit(True)
    cut = from_memberships & (pl.col("shared") >= listed) & pl.lit(listed > 0)  # memberships listed no more
    return (pl.concat(parts).filter(pl.col("weight").fill_null(0.0) > 0).unique(["account_id", "kind", "value"])
            .group_by("kind", "value").agg(pl.len().alias("holders")).filter(pl.col("holders") >= 2)
            .group_by("kind").agg(pl.len().cast(pl.UInt32).alias("shared"))
            .with_columns(cut.alias("lower_bound")).sort("kind").select(list(TOTALS_SCHEMA.names())).cast(dict(TOTALS_SCHEMA)))


def listed_per_kind(run: dict | None) -> int:
    """``[drilldown] member_values_per_kind`` the run recorded (the default for a ``run.json`` without it)."""
    parameters = run.get("parameters") if isinstance(run, dict) else None
    part = parameters.get("drilldown") if isinstance(parameters, dict) else None
    listed = part.get("member_values_per_kind") if isinstance(part, dict) else None
    if type(listed) is int and listed >= 0:
        return listed
    from graphlink.config import DrilldownConfig

    return DrilldownConfig().member_values_per_kind


def outputs_shared_totals(outputs: Outputs, cluster_id: int) -> pl.DataFrame:
    """:func:`shared_totals` of one cluster of a loaded output folder."""
    one = pl.col("cluster_id") == cluster_id
    linking = outputs.member_linking.filter(one) if outputs.member_linking is not None else None
    return shared_totals(outputs.cluster_memberships(cluster_id), linking, listed_per_kind(outputs.run))


def total_text(kind: str, shown: int, totals: pl.DataFrame | None) -> str | None:
    """``48 payment cards shared (10 listed)`` when ``totals`` (:func:`shared_totals`) counts more of ``kind`` than the
    ``shown`` listed linking values (``50+`` for a lower bound), else None: the listed ones are all of them.

    >>> t = pl.DataFrame({"kind": ["payment", "prompt"], "shared": [48, 50], "lower_bound": [False, True]})
    >>> total_text("payment", 10, t), total_text("prompt", 10, t), total_text("payment", 48, t), total_text("ip", 3, t)
    ('48 payment cards shared (10 listed)', '50+ prompt phrases shared (10 listed)', None, None)
    """
    from graphlink.config.kinds import kind_name

    if totals is None:
        return None
    row = totals.filter(pl.col("kind") == kind)
    if row.is_empty():
        return None
    total, lower = int(row["shared"][0]), bool(row["lower_bound"][0])
    if total <= shown:  # every one listed (a lower bound no larger than the list: the list is the most known)
        return None
    count = f"{total:,}{'+' if lower else ''}"
    return f"{count} {kind_name(kind, total)} shared ({shown:,} listed)"


def totals_caption(totals: pl.DataFrame | None, shown: pl.DataFrame) -> str:
    """The kinds ``show`` lists fewer of than its members share: ``the strongest values per kind are listed:``, then
    a line per kind, ``48 payment cards shared (10 listed)`` ("" when none is cut; a line wraps only on a terminal
    narrower than it). ``shown``: the listed linking rows (``kind``), in the order the kinds are listed."""
    counts = shown.group_by("kind", maintain_order=True).agg(pl.len().alias("n")).rows() if shown.height else []
    texts = [t for kind, n in counts if (t := total_text(kind, n, totals))]
    return "the strongest values per kind are listed:\n  " + ",\n  ".join(texts) if texts else ""
