"""Per-cluster features of one scoring pass kept for a later pass whose clusters only lost members.

The scoring stage scores the partition twice (:func:`graphlink.stages.scoring_stage.scoring_stage`): a
provisional pass finds fleet outsiders, they are detached, the clusters are renumbered and scored again.
On the campaign preset 31 of ~24,000 clustered accounts leave; every other cluster keeps exactly its
members under a new id. Features that are a function of a cluster's own members alone
(:func:`graphlink.stages.card_pools.card_alignment` per cluster, :func:`graphlink.stages.card_pools.office_members`
per member) are then the same: :class:`ClusterReuse` computes them for the changed clusters only and takes
the others' from the first pass, under their new ids. Features that read other clusters (a prompt shingle's
clustered holders, :func:`graphlink.stages.cluster_features.linked_own`) are not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl


def unchanged_clusters(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """``old_id, new_id``: the clusters of ``after`` with exactly the members of one cluster of ``before``.

    Parameters
    ----------
    before, after : DataFrame
        ``cluster_id, account_idx`` (unclustered accounts absent or with a null cluster id).

    Returns
    -------
    DataFrame
        One row per cluster of ``after`` whose members all were in one cluster of ``before`` that had no
        other member; ``old_id`` / ``new_id`` in the dtypes of the two frames' ``cluster_id``.

    Examples
    --------
    >>> before = pl.DataFrame({"cluster_id": [1, 1, 2, 2, 2], "account_idx": [0, 1, 2, 3, 4]})
    >>> after = pl.DataFrame({"cluster_id": [7, 7, 8, 8], "account_idx": [0, 1, 2, 3]})  # 4 detached from 2
    >>> unchanged_clusters(before, after).rows()
    [(1, 7)]
    """
    old = before.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("old_id"))
    old_size = old.group_by("old_id").agg(pl.len().alias("old_size"))
    new = after.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("new_id"))
    return (new.join(old, on="account_idx", how="left")
            .group_by("new_id").agg(pl.col("old_id").first(), pl.col("old_id").n_unique().alias("olds"),
                                    pl.col("old_id").null_count().alias("fresh"), pl.len().alias("size"))
            .join(old_size, on="old_id")
            .filter((pl.col("olds") == 1) & (pl.col("fresh") == 0) & (pl.col("size") == pl.col("old_size")))
            .select("old_id", "new_id").sort("new_id"))


@dataclass
class ClusterReuse:
    """Features of the first partition scored, reused for the unchanged clusters of a later one.

    The first call of :meth:`per_cluster` or :meth:`per_account` for a name computes on every cluster and
    keeps the result (and the first partition's members); later calls compute on the clusters whose
    members changed (:func:`unchanged_clusters`) and add the kept rows of the others, re-keyed to the new
    ids. Only for features of a cluster's own members (see the module docstring): the result is then the
    one computing on every cluster gives, row for row.
    """

    members: pl.DataFrame | None = None
    kept: dict[str, pl.DataFrame] = field(default_factory=dict)

    def _first(self, name: str, members: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame]
               ) -> pl.DataFrame:
        """The first pass: ``compute`` on every cluster, kept with the partition's members."""
        self.members = members.select("cluster_id", "account_idx") if self.members is None else self.members
        self.kept[name] = out = compute(members)
        return out

    def per_cluster(self, name: str, members: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame]
                    ) -> pl.DataFrame:
        """``compute(members)`` (rows keyed by ``cluster_id``, sorted by it), reusing unchanged clusters' rows."""
        if name not in self.kept:
            return self._first(name, members, compute)
        same = unchanged_clusters(self.members, members)
        kept = self.kept[name]
        changed = members.join(same.select(pl.col("new_id").alias("cluster_id")), on="cluster_id", how="anti")
        fresh = compute(changed) if changed.height else kept.clear()
        moved = (kept.join(same, left_on="cluster_id", right_on="old_id")
                 .with_columns(pl.col("new_id").cast(kept.schema["cluster_id"]).alias("cluster_id")).drop("new_id"))
        return pl.concat([moved, fresh.select(kept.columns)]).sort("cluster_id")

    def per_account(self, name: str, members: pl.DataFrame, compute: Callable[[pl.DataFrame], pl.DataFrame]
                    ) -> pl.DataFrame:
        """``compute(members)`` (rows keyed by ``account_idx``, sorted by it), reusing unchanged clusters' members' rows."""
        if name not in self.kept:
            return self._first(name, members, compute)
        same = unchanged_clusters(self.members, members)
        stay = members.join(same.select(pl.col("new_id").alias("cluster_id")), on="cluster_id", how="semi")
        changed = members.join(stay.select("account_idx"), on="account_idx", how="anti")
        kept = self.kept[name]
        fresh = compute(changed) if changed.height else kept.clear()
        moved = kept.join(stay.select("account_idx"), on="account_idx", how="semi")
        return pl.concat([moved, fresh.select(kept.columns)]).sort("account_idx")
