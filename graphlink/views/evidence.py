"""Evidence in human terms: what a person reads about a cluster's shared values and prompts.

Shared by the report, ``show`` and the notebook's :meth:`graphlink.ClusterView.templates`:

* :func:`evidence_by_kind` groups a cluster's shared values by signal kind,
  strongest kind first, with values too common to link (weight 0) hidden by
  default and counted;
* :func:`reconstruct_templates` (:mod:`graphlink.views.templates`) turns the overlapping 5-word shingles a
  cluster shares, and a sample of its original prompts, into the template
  text, once, with its variable parts marked, plus an original example prompt.

The clock a cluster acts on is in :mod:`graphlink.views.schedule`. Pure
functions: plain frames and strings in, dataclasses out; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from graphlink.config.kinds import KIND_NAMES, kind_name
from graphlink.stages.evidence import kind_strengths
from graphlink.views.shared_counts import total_text
from graphlink.views.templates import Template, reconstruct_templates, tokenise  # their home since session 31
from graphlink.views.words import noun

__all__ = ["KIND_NAMES", "KindEvidence", "Template", "evidence_by_kind", "kind_label", "reconstruct_templates",
           "strongest_first", "tokenise"]

def kind_label(kind: str, n: int = 2) -> str:
    """Plain name of a signal kind, plural unless ``n == 1``: :func:`graphlink.config.kinds.kind_name`, the one
    vocabulary of kinds (:data:`KIND_NAMES`); ``--signal`` kinds keep their column name.

    Examples
    --------
    >>> kind_label("payment", 1), kind_label("ip", 3), kind_label("device_id", 2)
    ('payment card', 'IP addresses', 'device_id values')
    """
    return kind_name(kind, n)


# --------------------------------------------------------------------------- evidence by kind


@dataclass(frozen=True)
class KindEvidence:
    """The values of one kind a cluster shares.

    Attributes
    ----------
    kind : str
    label : str
        Plain plural name (``"payment cards"``).
    strength : float
        The largest ``weight × accounts_sharing`` of its values: how strongly
        its best value binds the cluster (a maximum, not a sum, so a template's
        many overlapping shingles do not outweigh one shared card); kinds are
        ordered by it.
    values : DataFrame
        ``value, accounts_sharing, weight, df`` (``df``: accounts carrying the
        value in the whole input), strongest first, and ``meaning`` when the
        evidence has it (:func:`graphlink.views.schedule.timing_meanings`);
        zero-weight values only when asked for.
    hidden : int
        Zero-weight values (shared, but too common to link anybody) left out.
    summary : str
        One sentence, e.g. ``"3 payment cards shared; the most shared by 37 of 95 accounts"``.
    """

    kind: str
    label: str
    strength: float
    values: pl.DataFrame
    hidden: int
    summary: str


_STRENGTH = (pl.col("weight").fill_null(0.0) * pl.col("accounts_sharing")).alias("_strength")
#: Within a kind: the strongest value first (what it adds to the cluster's links), then the most shared, then by text.
_VALUE_ORDER = (["_strength", "accounts_sharing", "value"], [True, True, False])


def strongest_first(evidence: pl.DataFrame) -> pl.DataFrame:
    """Evidence rows in the order ``show`` and the report list them: strongest kind first (the largest
    ``weight × accounts_sharing`` of its values, then the kind's name: :func:`graphlink.stages.evidence.kind_strengths`, the
    order of ``clusters.parquet``'s ``kinds``), within a kind the strongest
    value first (then the most shared, then by text); one cluster's rows, or several clusters' (by ``cluster_id``,
    then as for one). Deterministic: the same rows in any order come out in one order. Columns are kept.

    Examples
    --------
    >>> ev = pl.DataFrame({"kind": ["ip", "payment", "user_agent", "payment"], "value": ["1.2.3.4", "card2", "curl", "card1"],
    ...                    "accounts_sharing": [3, 4, 12, 10], "weight": [2.0, 6.0, 0.0, 5.0]})
    >>> strongest_first(ev)["value"].to_list()
    ['card1', 'card2', '1.2.3.4', 'curl']
    """
    by = ["cluster_id"] if "cluster_id" in evidence.columns else []
    frame = evidence.with_columns(_STRENGTH)
    kinds = kind_strengths(frame, by).with_row_index("_kind_rank")  # the one order of kinds (clusters.parquet's too)
    keys, descending = _VALUE_ORDER
    return (frame.join(kinds.select(*by, "kind", "_kind_rank"), on=[*by, "kind"], how="left")
            .sort([*by, "_kind_rank", *keys], descending=[False] * len(by) + [False, *descending])
            .select(evidence.columns))


def evidence_by_kind(evidence: pl.DataFrame, size: int | None = None, *, include_zero: bool = False,
                     totals: pl.DataFrame | None = None) -> list[KindEvidence]:
    """Group a cluster's evidence rows by kind, strongest kind first.

    Parameters
    ----------
    evidence : DataFrame
        ``kind, value, accounts_sharing, weight`` (and optionally ``df``) rows
        of one cluster (``evidence.parquet`` filtered to it).
    size : int, optional
        Cluster size, for "by k of n accounts".
    include_zero : bool
        Keep values of weight 0 (shared but too common to link); by default
        they are hidden and counted in :attr:`KindEvidence.hidden`.
    totals : DataFrame, optional
        :func:`graphlink.views.shared_counts.shared_totals` of the cluster: a kind its members share more linking
        values of than the evidence lists (cut per kind) says so, ``"48 payment cards shared (10 listed); the most
        shared by 28 of 643 accounts"``.

    Returns
    -------
    list of KindEvidence
        Kinds ordered by strength (ties: kind name; :func:`graphlink.stages.evidence.kind_strengths`);
        kinds with only zero-weight values come last, when ``include_zero``.

    Examples
    --------
    >>> ev = pl.DataFrame({"kind": ["ip", "payment", "payment", "user_agent"],
    ...                    "value": ["1.2.3.4", "card1", "card2", "curl"],
    ...                    "accounts_sharing": [3, 10, 4, 12], "weight": [2.0, 5.0, 6.0, 0.0]})
    >>> groups = evidence_by_kind(ev, size=12)
    >>> [(g.kind, g.values["value"].to_list(), g.hidden) for g in groups]
    [('payment', ['card1', 'card2'], 0), ('ip', ['1.2.3.4'], 0)]
    >>> groups[0].summary
    '2 payment cards shared; the most shared by 10 of 12 accounts'
    """
    if evidence.is_empty():
        return []
    frame = evidence
    if "df" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.UInt32).alias("df"))
    frame = frame.with_columns(_STRENGTH)
    zeros = frame.group_by("kind").agg((pl.col("weight").fill_null(0.0) <= 0).sum().alias("zero"))
    stats = kind_strengths(frame).join(zeros, on="kind", how="left", maintain_order="left")  # the one order of kinds
    groups = []
    for kind, strength, zero in stats.select("kind", "kind_strength", "zero").iter_rows():
        values = frame.filter(pl.col("kind") == kind)
        hidden = 0
        if not include_zero:
            values = values.filter(pl.col("weight").fill_null(0.0) > 0)
            hidden = int(zero)
            if values.is_empty():
                continue
        values = (values.sort(_VALUE_ORDER[0], descending=_VALUE_ORDER[1])
                  .select("value", "accounts_sharing", "weight", "df", *(["meaning"] if "meaning" in frame.columns
                                                                          else [])))
        top = int(values["accounts_sharing"].max())
        of = f" of {size:,}" if size else ""
        accounts = noun(size or top, "account")
        listed = int((values["weight"].fill_null(0.0) > 0).sum())
        cut = total_text(kind, listed, totals)  # the evidence keeps the strongest few per kind: say of how many
        summary = f"{cut or f'{values.height:,} {kind_label(kind, values.height)} shared'}; the most shared by {top:,}{of} {accounts}"
        if values.height == 1 and not cut:
            summary = f"1 {kind_label(kind, 1)} shared by {top:,}{of} {accounts}"
        if hidden:
            summary += f" ({hidden:,} more too common to link, hidden)"
        groups.append(KindEvidence(kind=kind, label=kind_label(kind, 2), strength=float(strength), values=values,
                                   hidden=hidden, summary=summary))
    return groups
