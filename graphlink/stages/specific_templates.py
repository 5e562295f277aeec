"""Templated prompts that are linked groups' phrasing, not everyone's stock phrasing.

A shingle two accounts share makes their prompts "templated"
(:mod:`graphlink.stages.signals.prompt`). Operators' extraction templates are
shared, but so is ordinary phrasing: "what are the pros and cons of" is asked
by a sixth of a population, a grammatical ending of a spaceless script by
nearly everyone writing in it. What tells them apart is who uses them: a
template is sent by fleets, so most of the accounts holding it are in clusters
(linked groups); a stock phrase is used by ordinary people, most of whom are
linked to nobody. :func:`group_shingles` keeps the prompt shingles at least
:data:`SPECIFIC_SHARE` of whose holders are clustered (the "at least half of
the holders" rule campaign ties and ``match`` use for specific values); the
partition, not a campaign, is the unit, because campaign grouping can split an
operator whose cells share one template.

:func:`specific_template_ratio` gives each member the ratio of its most used
group shingle to its most used shared shingle (both in distinct prompt texts
holding them): 1 when the member's main template is a group's phrasing, 0 when
all it shares is stock phrasing. Scoring counts a member's templated prompts
times that ratio, and quotes only group shingles.
"""

from __future__ import annotations

import polars as pl

__all__ = ["SPECIFIC_SHARE", "group_shingles", "specific_template_ratio"]

#: A value is a group's when at least this share of the accounts holding it are in it.
SPECIFIC_SHARE = 0.5


def group_shingles(partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """Prompt shingles held mostly by clustered accounts.

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx`` of every kind (the projection's memberships).
    signals : DataFrame
        ``signal_idx, kind, df``.

    Returns
    -------
    DataFrame
        ``signal_idx`` (unique, sorted): prompt shingles with two or more
        clustered holders making at least :data:`SPECIFIC_SHARE` of ``df``.

    Examples
    --------
    >>> import polars as pl
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, None, None]})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 0, 1, 2, 3], "signal_idx": [5, 5, 6, 6, 6, 6]})
    >>> sig = pl.DataFrame({"signal_idx": [5, 6], "kind": ["prompt", "prompt"], "df": [2, 4]})
    >>> group_shingles(part, aff, sig)["signal_idx"].to_list()
    [5, 6]
    """
    prompts = signals.filter(pl.col("kind") == "prompt").select("signal_idx", "df")
    clustered = partition.drop_nulls("cluster_id").select(pl.col("account_idx").cast(affiliations.schema["account_idx"]))
    inside = (affiliations.select("account_idx", "signal_idx")
              .join(prompts.select(pl.col("signal_idx").cast(affiliations.schema["signal_idx"])), on="signal_idx")
              .join(clustered, on="account_idx").group_by("signal_idx").agg(pl.len().alias("inside")))
    return (inside.join(prompts.with_columns(pl.col("signal_idx").cast(inside.schema["signal_idx"])), on="signal_idx")
            .filter((pl.col("inside") >= 2) & (pl.col("inside") >= SPECIFIC_SHARE * pl.col("df")))
            .select("signal_idx").sort("signal_idx"))


def specific_template_ratio(prompts: pl.DataFrame, specific: pl.DataFrame) -> pl.DataFrame:
    """Per member: how much of its shared phrasing is a group's.

    Parameters
    ----------
    prompts : DataFrame
        ``account_idx, signal_idx, count`` -- members' shared prompt shingles
        (``count``: the member's distinct texts holding it).
    specific : DataFrame
        ``signal_idx`` of :func:`group_shingles`.

    Returns
    -------
    DataFrame
        ``account_idx, specific_ratio`` (Float64 in 0..1), one row per member
        holding a shared shingle.

    Examples
    --------
    >>> import polars as pl
    >>> prompts = pl.DataFrame({"account_idx": [0, 0, 1, 1, 2], "signal_idx": [7, 9, 7, 9, 9],
    ...                         "count": [4, 2, 2, 4, 3]})
    >>> specific_template_ratio(prompts, pl.DataFrame({"signal_idx": [7]})).sort("account_idx")["specific_ratio"].to_list()
    [1.0, 0.5, 0.0]
    """
    mark = specific.select(pl.col("signal_idx").cast(prompts.schema["signal_idx"]), pl.lit(True).alias("specific"))
    return (prompts.join(mark, on="signal_idx", how="left")
            .group_by("account_idx")
            .agg((pl.col("count").filter(pl.col("specific").fill_null(False)).max().fill_null(0)
                  / pl.col("count").max()).cast(pl.Float64).alias("specific_ratio")))
