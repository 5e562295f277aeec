"""Accounts set apart from a cluster, in words: one note per account wherever a cluster's members are listed.

Detect sets some members apart after Leiden (:mod:`graphlink.stages.set_apart`: fleet outsiders, address bystanders,
the remnants they leave) and records each in ``set_apart.parquet``. A set-apart account is in no cluster, so no member
list held it and nothing said why an account tied to a flagged ring by its addresses was left unflagged (new-user
review nu56, finding 3). :func:`set_apart_note` is the one wording; :func:`set_apart_from` lists a cluster's, read by
``graphlink show`` (a line under the members, ``set_apart`` in ``--json``), the exports (``set_apart`` in the JSON
case file, ``set_apart.csv``), the notebook's :meth:`graphlink.ClusterView.set_apart` and ``graphlink account``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphlink.contract import SET_APART_SCHEMA
from graphlink.store.folder import Outputs

__all__ = ["SET_APART_WORDS", "set_apart_note", "set_apart_from", "set_apart_line", "set_apart_json"]

#: What each reason means, said to an investigator (:data:`graphlink.stages.outsiders.SET_APART_REASONS`, ``remnant``).
SET_APART_WORDS = {
    "outsider": "a fleet outsider: it used far fewer networks than its rotating fleet and holds none of the fleet's "
                "own values (card, template passage, identifier) with a member",
    "off_script": "off the fleet's script: its prompts follow the fleet's template far less than the fleet's do, and "
                  "it holds none of the fleet's own values with a member",
    "bystander": "an address bystander: tied in by addresses alone, its own prompts off the cluster's script (no "
                 "more than chance) and no card, template passage or identifier held with a member on it",
    "remnant": "a remnant: the piece of its cluster it was left in fell under the minimum cluster size once other "
               "members were set apart or moved",
}


def set_apart_note(reason: str | None, cluster_id: int | None, flagged: bool | None,
                   judged: bool | None = None) -> str:
    """One account's note: the cluster it was set apart from (``flagged``: that cluster's flag in the run's output)
    and why, in words; when ``judged`` (the cluster's flag when the account was set apart, ``set_apart.parquet``'s
    ``flagged``) differs from ``flagged``, the note says so, so that the note and a row's ``flagged`` column never
    read as a contradiction (a cluster flagged later in the run through its campaign or a tie: 9 of dev a1's 60).

    Examples
    --------
    >>> set_apart_note("bystander", 7, True)[:58]
    'set apart from flagged cluster 7: an address bystander: ti'
    >>> set_apart_note("remnant", None, False)[:60]
    'set apart from a cluster that dissolved: a remnant: the piec'
    >>> set_apart_note("bystander", 7, True, judged=False).split("; ")[-1]
    'cluster 7 was flagged later in the run, not yet when this account was set apart'
    """
    row = pl.DataFrame({"reason": [reason], "cluster_id": [cluster_id], "__now": [flagged], "flagged": [judged]},
                       schema={"reason": pl.String, "cluster_id": pl.Int64, "__now": pl.Boolean, "flagged": pl.Boolean})
    return row.select(_note_expr())["note"][0]


def _note_expr() -> pl.Expr:
    """:func:`set_apart_note` over columns ``reason``, ``cluster_id``, ``__now`` (the flag in the output) and
    ``flagged`` (the flag when set apart): one expression for every row, no Python call per account."""
    cluster, now, judged = pl.col("cluster_id"), pl.col("__now"), pl.col("flagged")
    reason = pl.when(pl.col("reason") != "").then(pl.col("reason"))  # "" and null: no reason recorded
    words = reason.replace_strict(SET_APART_WORDS, default=reason, return_dtype=pl.String)
    where = (pl.when(cluster.is_null()).then(pl.lit("a cluster that dissolved"))
             .when(now).then(pl.lit("flagged cluster ") + cluster.cast(pl.String))
             .otherwise(pl.lit("cluster ") + cluster.cast(pl.String)))
    note = pl.lit("set apart from ") + where + pl.lit(": ") + words.fill_null(pl.lit("no reason recorded"))
    differs = cluster.is_not_null() & judged.is_not_null() & now.is_not_null() & (judged != now)
    later = (pl.lit("; cluster ") + cluster.cast(pl.String) + pl.when(now)
             .then(pl.lit(" was flagged later in the run, not yet when this account was set apart"))
             .otherwise(pl.lit(" was flagged when this account was set apart, not in the run's output")))
    return pl.when(differs).then(note + later).otherwise(note).alias("note")


def set_apart_from(outputs: Outputs, cluster_id: int | None = None) -> pl.DataFrame | None:
    """The accounts set apart from ``cluster_id`` (every one when None), with their ``note`` (:func:`set_apart_note`).

    Parameters
    ----------
    outputs : Outputs
        A loaded folder or a fresh result's (:attr:`graphlink.store.folder.Outputs.set_apart`).
    cluster_id : int, optional
        The cluster they left (``set_apart.parquet``'s ``cluster_id``, the final cluster holding most of it).

    Returns
    -------
    DataFrame or None
        :data:`graphlink.contract.SET_APART_SCHEMA` (``flagged``: the cluster's flag when the account was judged) and
        ``note`` (String; names the cluster flagged when it is flagged in the output, and says so when that
        differs from ``flagged``), sorted by account id; None when
        the folder was written before ``set_apart.parquet`` (not known, unlike an empty frame: none was set apart).
    """
    table = outputs.set_apart
    if table is None:
        return None
    if cluster_id is not None:
        table = table.filter(pl.col("cluster_id") == cluster_id)
    now = outputs.clusters.select(pl.col("cluster_id").cast(pl.Int64), pl.col("flagged").alias("__now"))
    return (table.select(list(SET_APART_SCHEMA.names())).sort("account_id")
            .join(now, on="cluster_id", how="left", maintain_order="left")
            .with_columns(_note_expr())
            .drop("__now"))


def set_apart_line(rows: pl.DataFrame | None, listed: int = 5, folder: str = "DIR", more: str | None = None) -> str:
    """The line under a cluster's members: how many were set apart from it, by reason, and the first few ids
    ("" when none or not known); ``more``: where the ids beyond the first ``listed`` are all listed (the view's
    ``--json``, the CSV export's ``set_apart.csv``), said after "and N more".

    Examples
    --------
    >>> rows = pl.DataFrame({"account_id": ["a", "b"], "reason": ["bystander", "bystander"]})
    >>> set_apart_line(rows)
    'set apart from this cluster: 2 accounts (2 address bystanders): a, b; graphlink account DIR ID says why'
    >>> set_apart_line(rows, listed=1, more="--json lists them all").split(": ")[-1].split("; ")[0]
    'a and 1 more (--json lists them all)'
    """
    if rows is None or rows.is_empty():
        return ""
    names = {"outsider": "fleet outsider", "off_script": "off the fleet's script", "bystander": "address bystander",
             "remnant": "remnant"}
    counts = rows.group_by("reason").len().sort(["len", "reason"], descending=[True, False]).rows()
    parts = ", ".join(f"{n} {names.get(r, r)}{'s' if n != 1 and r in ('outsider', 'bystander', 'remnant') else ''}"
                      for r, n in counts)
    ids = rows["account_id"].head(listed).to_list()
    more = (f" and {rows.height - len(ids)} more" + (f" ({more})" if more else "")) if rows.height > len(ids) else ""
    noun = "account" if rows.height == 1 else "accounts"
    return (f"set apart from this cluster: {rows.height} {noun} ({parts}): {', '.join(ids)}{more}; "
            f"graphlink account {folder} ID says why")


def set_apart_json(rows: pl.DataFrame | None) -> list[dict[str, Any]] | None:
    """``rows`` (:func:`set_apart_from`) as JSON-ready dicts (``account_id, reason, note``); None when not known."""
    return None if rows is None else rows.select("account_id", "reason", "note").to_dicts()
