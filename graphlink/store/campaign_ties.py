"""The values tying campaigns' clusters, as an output folder holds them (read by :func:`graphlink.store.outputs.load_outputs`).

Detect keeps them in ``campaign_ties.parquet`` (:data:`graphlink.contract.CAMPAIGN_TIES_SCHEMA`: the values each
campaign's ``why`` counts). A folder written before that file existed has them only in part:
:func:`read_campaign_ties` then gathers them from ``linking.parquet`` (cards, addresses, identifiers: all of them) and
``memberships.parquet`` (prompt phrases: each cluster's strongest only), and :func:`ties_note` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from graphlink.contract import (ACCOUNTS_FILE, CAMPAIGN_TIES_FILE, CAMPAIGN_TIES_SCHEMA, LINKING_FILE,
                                MEMBERSHIPS_FILE, RUN_FILE)
from graphlink.errors import GraphlinkError

if TYPE_CHECKING:  # pragma: no cover
    from graphlink.config import GraphConfig

__all__ = ["KEPT_NOTE", "RECOMPUTED_NOTE", "read_campaign_ties", "ties_note"]

#: What the listed values are, said under their table, in ``--json``, the report and the exports: kept at detect ...
KEPT_NOTE = ("values of cards, addresses, prompt phrases and declared identifiers held in two or more of its "
             "clusters: all those its why counts")
#: ... or gathered from an older folder's drill-down tables.
RECOMPUTED_NOTE = ("values of cards, addresses, prompt phrases and declared identifiers held in two or more of its "
                   "clusters (prompt phrases: those the output keeps, the strongest of each cluster; this folder "
                   "predates campaign_ties.parquet: rerun graphlink detect for all its why counts)")


def ties_note(folder: Path | None) -> str:
    """:data:`KEPT_NOTE` for a folder with ``campaign_ties.parquet`` (or a result in memory, ``None``), else
    :data:`RECOMPUTED_NOTE`."""
    return KEPT_NOTE if folder is None or (Path(folder) / CAMPAIGN_TIES_FILE).is_file() else RECOMPUTED_NOTE


def read_campaign_ties(folder: Path, campaign_of: pl.DataFrame, graph_config: GraphConfig | None = None) -> pl.DataFrame:
    """The values tying the clusters of the campaigns in ``campaign_of``, each held by two or more of them.

    Parameters
    ----------
    folder : Path
        A detect output folder.
    campaign_of : DataFrame
        ``cluster_id, campaign_id`` (Int64) of the campaigns wanted, every cluster of each.
    graph_config : GraphConfig, optional
        Which kinds tie (:func:`graphlink.stages.campaigns.is_tie_kind`), for a folder without
        ``campaign_ties.parquet``; default: the settings its ``run.json`` records.

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.CAMPAIGN_TIES_SCHEMA` in its order (``value`` as logged: escape before
        printing). Empty when the campaigns have one cluster each or the folder has none of the files.

    Raises
    ------
    GraphlinkError
        A damaged table (the message names the folder and the files).
    """
    from graphlink.stages.tie_table import tie_order

    # Campaign ids as the folder writes them (Int64); a hand-made campaigns table's text ids are kept as they are.
    schema = {**dict(CAMPAIGN_TIES_SCHEMA), "campaign_id": campaign_of.schema["campaign_id"]}
    empty = pl.DataFrame(schema=schema)
    campaign_of = campaign_of.select(pl.col("cluster_id").cast(pl.Int64), "campaign_id")
    if campaign_of.is_empty():
        return empty
    ids = campaign_of["cluster_id"].implode()
    try:
        if (folder / CAMPAIGN_TIES_FILE).is_file():  # kept at detect: each row's clusters lie in one campaign,
            # named as campaign_of names it (the campaigns table read beside it)
            return (pl.scan_parquet(folder / CAMPAIGN_TIES_FILE, glob=False)
                    .filter(pl.col("clusters").list.first().is_in(ids)).drop("campaign_id")
                    .join(campaign_of.lazy(), left_on=pl.col("clusters").list.first(), right_on="cluster_id",
                          maintain_order="left")
                    .collect().select(list(schema)).cast(schema))
        sources = [pl.scan_parquet(folder / name, glob=False).select(
            "account_id", "kind", "value", pl.col("weight").cast(pl.Float64))
            for name in (LINKING_FILE, MEMBERSHIPS_FILE) if (folder / name).is_file()]
        if not sources:
            return empty
        mine = (pl.scan_parquet(folder / ACCOUNTS_FILE, glob=False).select("account_id", pl.col("cluster_id").cast(pl.Int64))
                .join(campaign_of.lazy(), on="cluster_id"))
        held = pl.concat(sources).join(mine, on="account_id").unique(["account_id", "kind", "value"]).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:  # a damaged table: name the files, not polars' words alone
        raise GraphlinkError(f"{folder}: cannot read {CAMPAIGN_TIES_FILE}, {ACCOUNTS_FILE}, {LINKING_FILE} or "
                             f"{MEMBERSHIPS_FILE}: {str(exc).splitlines()[0]}") from None
    from graphlink.stages.campaigns import is_tie_kind

    graph_config = graph_config or _run_graph_config(folder)
    kinds = [k for k in held["kind"].unique().to_list() if is_tie_kind(k, graph_config)]
    if not kinds:
        return empty
    table = (held.filter(pl.col("kind").is_in(kinds))
             .group_by("campaign_id", "kind", "value")
             .agg(pl.col("cluster_id").unique().sort().alias("clusters"),
                  pl.col("account_id").n_unique().alias("accounts"), pl.col("weight").max())
             .filter(pl.col("clusters").list.len() >= 2)
             .select(list(schema)).cast(schema))
    return tie_order(table, ("campaign_id",))


def _run_graph_config(folder: Path) -> GraphConfig:
    """The graph settings the folder's run used (``run.json`` ``parameters``; defaults when it has none)."""
    from graphlink.config import GraphConfig, build_config
    from graphlink.errors import ConfigError
    from graphlink.store.outputs import read_run

    if not (folder / RUN_FILE).is_file():
        return GraphConfig()
    try:
        return build_config(parameters=read_run(folder).get("parameters") or {}).graph
    except (TypeError, ValueError, ConfigError) as exc:
        raise GraphlinkError(f"{folder / RUN_FILE}: unreadable parameters: {exc}") from None
