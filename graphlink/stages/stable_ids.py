"""Stable cluster ids: carry a previous run's ids over to a new run by member overlap.

A ring found yesterday should keep its id today, when the log has grown by a
day and Leiden (which numbers clusters by size) may have numbered it
differently. :func:`match_clusters` pairs each new cluster with at most one
previous cluster and vice versa:

* the overlap of two clusters is the Jaccard similarity of their member sets, ``|A ∩ B| / |A ∪ B|``, the previous
  cluster ``A`` counting only its members with an event in the new log (a day's log holds the members active that
  day; a log that includes the earlier period counts them all); pairs below ``min_jaccard`` never match;
* pairs are taken greedily, best first: higher Jaccard, then more shared members, then the smaller previous id,
  then the smaller new id. The order is total, so the matching is deterministic;
* a matched new cluster takes the previous cluster's id; unmatched new clusters get fresh ids above every id issued
  before (``id_floor`` and the previous run's ids), in the order of their new ids (largest cluster first); previous
  clusters left unmatched were *merged* into the new cluster holding most of their members (:data:`MERGED_SHARE`;
  two pieces joined by Leiden or :mod:`graphlink.stages.network_cells`) or have *vanished*.

Greedy best-first is computed without a Python loop over pairs: in each round
every pair that is the best remaining pair of both its clusters is matched
(the greedy algorithm would take exactly those), and the clusters matched are
removed. Rounds are few (a chain of conflicting overlaps is needed for more
than one).

Output schema (:func:`match_clusters`)
--------------------------------------
One row per new cluster and per merged or vanished previous cluster:

=========== ======= =====================================================
column      dtype   meaning
=========== ======= =====================================================
cluster_id  Int64   the new run's own id (null for a merged or vanished previous cluster)
previous_id Int64   the matched previous id (null for a new cluster)
stable_id   Int64   the id to publish; for a merged cluster the id it went to (null: vanished)
jaccard     Float64 member overlap of the match or merge (null when new or vanished)
status      String  ``matched``, ``new``, ``merged`` or ``vanished``
=========== ======= =====================================================

Sorted by status (matched, new, merged, vanished), then stable or previous id, then previous id
(several previous clusters merged into one new cluster share its stable id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from graphlink.config import StableIdConfig
from graphlink.errors import ConfigError, InputError, safe_reason
from graphlink.store.atomic import cleanup_stale
from graphlink.stages.rekeying import apply_mapping, rekey, rekey_campaigns, rekey_why  # noqa: F401 (public here too)

MAPPING_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "previous_id": pl.Int64, "stable_id": pl.Int64,
    "jaccard": pl.Float64, "status": pl.String,
})
#: Default minimum member overlap for a new cluster to inherit a previous id
#: (:attr:`graphlink.config.StableIdConfig.previous_min_jaccard`, with the reasons).
DEFAULT_MIN_JACCARD = StableIdConfig().previous_min_jaccard
#: An unmatched previous cluster is *merged* into the new cluster holding more than this share of its
#: members (most of them: at most one new cluster can), else it has *vanished*.
MERGED_SHARE = 0.5


def _in_log(accounts: pl.DataFrame) -> pl.DataFrame:
    """The accounts with an event in the log (an accounts file's other accounts have ``events == 0``)."""
    return accounts.filter(pl.col("events") > 0) if "events" in accounts.columns else accounts


def _members(accounts: pl.DataFrame, name: str) -> pl.DataFrame:
    return (
        accounts.select(pl.col("account_id").cast(pl.String), pl.col("cluster_id").cast(pl.Int64).alias(name))
        .drop_nulls()
        .unique()
    )


def match_clusters(previous_accounts: pl.DataFrame, new_accounts: pl.DataFrame,
                   min_jaccard: float = DEFAULT_MIN_JACCARD, id_floor: int = 0) -> pl.DataFrame:
    """Map the new run's cluster ids onto the previous run's (schema in the module docstring).

    Parameters
    ----------
    previous_accounts, new_accounts : DataFrame
        ``account_id`` and ``cluster_id`` (null = in no cluster) of each run,
        e.g. the ``accounts.parquet`` files.
    min_jaccard : float
        Minimum member overlap (0 < min_jaccard <= 1) for a match.
    id_floor : int
        Fresh ids start above ``max(id_floor, previous ids)``; pass the
        highest id ever issued so a vanished cluster's id is never reused.

    Examples
    --------
    >>> prev = pl.DataFrame({"account_id": list("abcdefg"), "cluster_id": [1, 1, 1, 2, 2, 3, 3]})
    >>> new = pl.DataFrame({"account_id": list("abcdexyz"), "cluster_id": [2, 2, 2, 2, None, 1, 1, 1]})
    >>> match_clusters(prev, new).rows()
    [(2, 1, 1, 0.75, 'matched'), (1, None, 4, None, 'new'), (None, 2, None, None, 'vanished'), (None, 3, None, None, 'vanished')]

    Two previous clusters joined into one: the larger keeps its id, the other names where it went.

    >>> prev = pl.DataFrame({"account_id": list("abcdef"), "cluster_id": [1, 1, 1, 1, 2, 2]})
    >>> new = pl.DataFrame({"account_id": list("abcdef"), "cluster_id": [1] * 6})
    >>> match_clusters(prev, new).select("previous_id", "stable_id", "status").rows()
    [(1, 1, 'matched'), (2, 1, 'merged')]
    """
    if not 0 < min_jaccard <= 1:
        raise ConfigError(f"previous_min_jaccard must be in (0, 1], got {min_jaccard}")
    prev = _members(previous_accounts, "previous_id")
    new = _members(new_accounts, "cluster_id")
    # A previous cluster's size counts only its members with an event in the new log (not an accounts file's other accounts):
    # a day's log holds the members active that day; the quiet ones say nothing about whether the ring is the same.
    seen = _in_log(new_accounts).select(pl.col("account_id").cast(pl.String)).unique()
    prev_sizes = (prev.join(seen, on="account_id", how="semi")
                  .group_by("previous_id").agg(pl.len().alias("prev_size")))
    new_sizes = new.group_by("cluster_id").agg(pl.len().alias("new_size"))
    overlaps = (
        prev.join(new, on="account_id")
        .group_by("previous_id", "cluster_id").agg(pl.len().alias("shared"))
        .join(prev_sizes, on="previous_id").join(new_sizes, on="cluster_id")
        .with_columns((pl.col("shared") / (pl.col("prev_size") + pl.col("new_size") - pl.col("shared")))
                      .alias("jaccard"))
    )
    candidates = (
        overlaps.filter(pl.col("jaccard") >= min_jaccard)
        .sort(["jaccard", "shared", "previous_id", "cluster_id"], descending=[True, True, False, False])
        .with_row_index("rank")
        .select("rank", "previous_id", "cluster_id", "jaccard")
    )
    matched = []
    while candidates.height:
        best = (pl.col("rank") == pl.col("rank").min().over("previous_id")) & (
            pl.col("rank") == pl.col("rank").min().over("cluster_id"))
        picked = candidates.filter(best)
        matched.append(picked)
        candidates = (
            candidates.join(picked.select("previous_id"), on="previous_id", how="anti")
            .join(picked.select("cluster_id"), on="cluster_id", how="anti")
        )
    pairs = (
        pl.concat(matched).select("cluster_id", "previous_id", "jaccard") if matched
        else pl.DataFrame(schema={"cluster_id": pl.Int64, "previous_id": pl.Int64, "jaccard": pl.Float64})
    )
    top = max(int(prev["previous_id"].max() or 0), int(id_floor))
    fresh = (
        new_sizes.select("cluster_id").join(pairs, on="cluster_id", how="anti").sort("cluster_id")
        .with_row_index("n", offset=top + 1)
        .select("cluster_id", pl.lit(None, pl.Int64).alias("previous_id"), pl.col("n").cast(pl.Int64).alias("stable_id"),
                pl.lit(None, pl.Float64).alias("jaccard"), pl.lit("new").alias("status"))
    )
    kept = pairs.select("cluster_id", "previous_id", pl.col("previous_id").alias("stable_id"), "jaccard",
                        pl.lit("matched").alias("status"))
    # An unmatched previous cluster most of whose members sit in one new cluster was merged into it (Leiden
    # or network_cells joined it with others): it names the id it went to, with no cluster_id of its own.
    published = pl.concat([kept.select("cluster_id", "stable_id"), fresh.select("cluster_id", "stable_id")])
    into = (overlaps.join(pairs, on="previous_id", how="anti").filter(pl.col("shared") > MERGED_SHARE * pl.col("prev_size"))
            .join(published, on="cluster_id").select("previous_id", pl.col("stable_id").alias("into"), pl.col("jaccard").alias("j")))
    vanished = (
        prev.select("previous_id").unique().join(pairs, on="previous_id", how="anti").join(into, on="previous_id", how="left")
        .select(pl.lit(None, pl.Int64).alias("cluster_id"), "previous_id", pl.col("into").alias("stable_id"),
                pl.col("j").alias("jaccard"),
                pl.when(pl.col("into").is_null()).then(pl.lit("vanished")).otherwise(pl.lit("merged")).alias("status"))
    )
    order = pl.col("status").replace_strict({"matched": 0, "new": 1, "merged": 2, "vanished": 3}, return_dtype=pl.Int8)
    return (
        pl.concat([kept.cast(dict(MAPPING_SCHEMA)), fresh.cast(dict(MAPPING_SCHEMA)), vanished.cast(dict(MAPPING_SCHEMA))])
        .sort(order, pl.coalesce("stable_id", "previous_id"), "previous_id", nulls_last=True)
    )


def summarise(mapping: pl.DataFrame, previous: PreviousRun | None = None,
              accounts: pl.DataFrame | None = None, flagged: list[int] | None = None) -> dict[str, object]:
    """Counts and id lists for ``run.json``'s ``previous`` section (ids only, no members).

    With ``previous`` (``flagged`` known) and this run's ``accounts`` (``account_id, cluster_id``, ids published): the
    vanished clusters the previous run flagged (``vanished_flagged_ids``), where their members are now (``vanished_flagged_to``:
    id as text -> this run's cluster ids, ascending; ``[]``: unclustered or not in this log; a ring split below the overlap
    to keep its id is not gone) and those none of whose members is in this log (``vanished_flagged_absent``: gone quiet);
    with this run's ``flagged`` ids too, the clusters that kept their id and lost their flag (``unflagged_ids``).

    Examples
    --------
    >>> m = pl.DataFrame({"stable_id": [1, 4, 1, None], "previous_id": [1, None, 3, 2],
    ...                   "status": ["matched", "new", "merged", "vanished"]})
    >>> summarise(m)
    {'matched': 1, 'new': 1, 'merged': 1, 'vanished': 1, 'matched_ids': [1], 'new_ids': [4], 'merged_ids': [3], 'vanished_ids': [2]}
    >>> prev = PreviousRun(pl.DataFrame({"account_id": ["a", "b"], "cluster_id": [2, 2]}), 4, "<frame>", flagged=[2])
    >>> now = pl.DataFrame({"account_id": ["a", "b"], "cluster_id": [4, None]}, schema_overrides={"cluster_id": pl.Int64})
    >>> {k: v for k, v in summarise(m, prev, now).items() if "flagged" in k}
    {'vanished_flagged_ids': [2], 'vanished_flagged_to': {'2': [4]}, 'vanished_flagged_absent': []}
    """
    matched, new, merged, vanished = ([int(v) for v in mapping.filter(pl.col("status") == status)[column].sort().to_list()]
                                      for status, column in (("matched", "stable_id"), ("new", "stable_id"),
                                                             ("merged", "previous_id"), ("vanished", "previous_id")))
    out: dict[str, object] = {"matched": len(matched), "new": len(new), "merged": len(merged), "vanished": len(vanished),
                              "matched_ids": matched, "new_ids": new, "merged_ids": merged, "vanished_ids": vanished}
    if previous is not None and previous.flagged is not None and accounts is not None:
        gone = sorted(set(vanished) & set(previous.flagged))
        seen = (previous.accounts.filter(pl.col("cluster_id").is_in(gone)).select("account_id", "cluster_id")
                .join(_in_log(accounts).select("account_id", pl.col("cluster_id").alias("now")), on="account_id"))
        went = seen.drop_nulls("now").group_by("cluster_id").agg(pl.col("now").unique().sort())
        to = {int(k): [int(v) for v in vs] for k, vs in went.iter_rows()}
        out |= {"vanished_flagged_ids": gone, "vanished_flagged_to": {str(k): to.get(k, []) for k in gone},
                "vanished_flagged_absent": [g for g in gone if g not in set(seen["cluster_id"].to_list())],
                **({} if flagged is None else {"unflagged_ids": sorted(set(matched) & set(previous.flagged) - set(flagged))})}
    return out


@dataclass
class PreviousRun:
    """What a new run needs from a previous one: its memberships and highest id issued.

    ``accounts`` is ``account_id, cluster_id`` (and ``last_seen`` when known);
    ``clusters`` is ``cluster_id`` with the history columns it has (``since``,
    ``runs``), None when unknown; ``log`` is :func:`log_digest` of its accounts
    (None when unknown): which log it read.
    """

    accounts: pl.DataFrame
    max_cluster_id: int
    path: str
    clusters: pl.DataFrame | None = None
    log: str | None = None
    #: Ids of the clusters the previous run flagged (None when unknown).
    flagged: list[int] | None = None


#: ``accounts.parquet`` columns that depend on the log alone (not on the settings): what :func:`log_digest` reads.
LOG_COLUMNS = ("account_id", "events", "first_seen", "last_seen")


def log_digest(accounts: pl.DataFrame) -> str | None:
    """SHA-256 of the log a run read, as its accounts show it: each account's id, events, first and last event.

    Two runs on the same log agree whatever their settings; a log with one more event, or
    one that reaches further, does not. ``None`` when ``accounts`` lacks a column of
    :data:`LOG_COLUMNS` (folders written before they existed).

    Examples
    --------
    >>> a = pl.DataFrame({"account_id": ["x", "y"], "events": [3, 1], "first_seen": [None, None],
    ...                   "last_seen": [None, None]})
    >>> log_digest(a) == log_digest(a.reverse()), log_digest(a) == log_digest(a.with_columns(events=pl.lit(2)))
    (True, False)
    """
    if any(c not in accounts.columns for c in LOG_COLUMNS):
        return None
    lines = (accounts.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in LOG_COLUMNS],
                                           separator="\t").alias("line"))
             .sort("line")["line"].str.join("\n"))
    return hashlib.sha256((lines[0] or "").encode("utf-8")).hexdigest()


def cluster_history(accounts: pl.DataFrame, clusters: pl.DataFrame, prev: PreviousRun | None) -> pl.DataFrame:
    """The history columns of ``clusters.parquet`` (:data:`graphlink.contract.CLUSTER_HISTORY_SCHEMA`).

    Parameters
    ----------
    accounts : DataFrame
        This run's ``accounts.parquet`` rows (``account_id, cluster_id, first_seen``), ids already stable.
    clusters : DataFrame
        This run's clusters (``cluster_id``).
    prev : PreviousRun, optional
        The previous run (``--previous``).

    Returns
    -------
    DataFrame
        ``cluster_id, since, runs, new_members, quiet_members``, one row per
        cluster. A cluster that kept a previous id inherits its ``since`` (the
        earlier of the two) and counts one more run (none for a rerun on the
        log the previous run read, :func:`same_log`); its ``new_members`` are
        members the previous cluster of that id did not have, its
        ``quiet_members`` the previous members with no event after the previous
        run's last event (absent from this log, or last seen before then) --
        null when this log has no event after that moment (a rerun on the same
        or an older log: there is no later period anyone could have been quiet
        in) or when either run's times are unknown (no ``last_seen``, no
        timestamps); :func:`later_seconds` says how long that period is.
        Without ``prev``: ``runs`` 1 and null member counts.

    Examples
    --------
    Yesterday's cluster 7 was a, b, c (seen in two runs); today b and the new d
    are active, c was last seen yesterday and a not at all.

    >>> from datetime import datetime, timezone
    >>> t = [datetime(2025, 1, d, tzinfo=timezone.utc) for d in (1, 2, 3, 4)]
    >>> prev_acc = pl.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": [7, 7, 7], "last_seen": t[:3]})
    >>> prev = PreviousRun(prev_acc, 7, "<frame>", pl.DataFrame({"cluster_id": [7], "since": [t[0]], "runs": [2]}))
    >>> now = pl.DataFrame({"account_id": ["b", "c", "d"], "cluster_id": [7, 7, 7], "first_seen": t[1:],
    ...                     "last_seen": [t[3], t[2], t[3]]})
    >>> cluster_history(now, pl.DataFrame({"cluster_id": [7]}), prev).row(0)[1:]
    (datetime.datetime(2025, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 3, 1, 2)
    """
    utc = pl.Datetime("us", "UTC")
    members = accounts.drop_nulls("cluster_id").select("account_id", "cluster_id", pl.col("first_seen").cast(utc))
    history = clusters.select("cluster_id").join(
        members.group_by("cluster_id").agg(pl.col("first_seen").min().alias("since")), on="cluster_id", how="left")
    if prev is None:
        return history.with_columns(pl.lit(1, pl.UInt32).alias("runs"), pl.lit(None, pl.UInt32).alias("new_members"),
                                    pl.lit(None, pl.UInt32).alias("quiet_members"))
    before = prev.accounts.drop_nulls("cluster_id")
    new = (members.join(before.select("account_id", "cluster_id"), on=["account_id", "cluster_id"], how="anti")
           .group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("new_members")))
    # Quiet: no event after the previous run's last event (a rolling or a growing log alike),
    # defined only when both ends are known and this log reaches past it.
    later = later_seconds(accounts, prev) is not None
    quiet = pl.DataFrame(schema={"cluster_id": before.schema["cluster_id"], "quiet_members": pl.UInt32})
    if later:
        still = accounts.filter(pl.col("last_seen").cast(utc) > prev.accounts["last_seen"].max()).select("account_id")
        quiet = (before.join(still, on="account_id", how="anti")
                 .group_by("cluster_id").agg(pl.len().cast(pl.UInt32).alias("quiet_members")))
    past = (prev.clusters if prev.clusters is not None else pl.DataFrame({"cluster_id": []}, schema={"cluster_id": pl.Int64}))
    past = past.select("cluster_id", *[c for c in ("since", "runs") if c in past.columns])
    if "since" not in past.columns:
        past = past.with_columns(pl.lit(None, utc).alias("since"))
    if "runs" not in past.columns:
        past = past.with_columns(pl.lit(1, pl.UInt32).alias("runs"))
    kept = prev.accounts.drop_nulls("cluster_id")["cluster_id"].unique().implode()
    return (
        history.join(past.rename({"since": "since_before", "runs": "runs_before"}), on="cluster_id", how="left")
        .join(new, on="cluster_id", how="left").join(quiet, on="cluster_id", how="left")
        .with_columns(pl.col("cluster_id").is_in(kept).alias("__kept"))
        .select("cluster_id",
                pl.min_horizontal("since", pl.col("since_before").cast(utc)).alias("since"),
                pl.when("__kept").then(pl.col("runs_before").fill_null(1) + (0 if same_log(accounts, prev) else 1))
                .otherwise(1).cast(pl.UInt32).alias("runs"),
                pl.col("new_members").fill_null(0).cast(pl.UInt32),
                (pl.when("__kept").then(pl.col("quiet_members").fill_null(0)).otherwise(0) if later
                 else pl.lit(None)).cast(pl.UInt32).alias("quiet_members"))
    )


def same_log(accounts: pl.DataFrame, prev: PreviousRun | None) -> bool:
    """Whether this run (its ``accounts.parquet`` rows) read the very log ``prev`` read (:func:`log_digest`):
    a rerun, whatever its settings, is not another period, so ``runs`` does not grow."""
    return prev is not None and prev.log is not None and prev.log == log_digest(accounts)


def later_seconds(accounts: pl.DataFrame, prev: PreviousRun | None) -> float | None:
    """How far (seconds) this log reaches past the previous run's last event: the period
    ``quiet_members`` is counted over. ``None`` when either end is unknown or this log does not
    reach past it (then ``quiet_members`` is null).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = [datetime(2025, 1, d, tzinfo=timezone.utc) for d in (1, 2)]
    >>> prev = PreviousRun(pl.DataFrame({"account_id": ["a"], "cluster_id": [1], "last_seen": [t[0]]}), 1, "<frame>")
    >>> later_seconds(pl.DataFrame({"account_id": ["a"], "last_seen": [t[1]]}), prev)
    86400.0
    >>> later_seconds(pl.DataFrame({"account_id": ["a"], "last_seen": [t[0]]}), prev) is None
    True
    """
    if prev is None or "last_seen" not in prev.accounts.columns or "last_seen" not in accounts.columns:
        return None
    end, now = prev.accounts["last_seen"].max(), accounts["last_seen"].max()
    if end is None or now is None or now <= end:
        return None
    return (now - end).total_seconds()


def _utc_last_seen(accounts: pl.DataFrame) -> pl.DataFrame:
    """``last_seen`` as UTC microseconds (a naive time is read as UTC, as at ingest); dropped when not a time."""
    if "last_seen" not in accounts.columns:
        return accounts
    dtype = accounts.schema["last_seen"]
    if not isinstance(dtype, pl.Datetime):
        return accounts.drop("last_seen")
    column = pl.col("last_seen")
    column = column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column.dt.convert_time_zone("UTC")
    return accounts.with_columns(column.cast(pl.Datetime("us", "UTC")))


def load_previous(previous: str | Path | pl.DataFrame, required: Iterable[str] = ()) -> PreviousRun:
    """Read a previous output folder (``accounts.parquet``; ``run.json`` if present).

    A frame with ``account_id, cluster_id`` is accepted as is. Leftovers of a
    killed run writing that folder are cleaned up first, which may put its
    previous output back (see :mod:`graphlink.store.atomic`).

    Raises
    ------
    InputError
        The folder or its ``accounts.parquet`` is missing or unreadable, or odd (:func:`check_previous_ids`).
    """
    if isinstance(previous, pl.DataFrame):
        missing = {"account_id", "cluster_id"} - set(previous.columns)
        if missing:
            raise InputError(f"previous accounts need column(s) {', '.join(sorted(missing))}", file="<frame>")
        ids = previous["cluster_id"].cast(pl.Int64, strict=False)
        check_previous_ids(ids.min(), ids.max(), "<frame>", previous["account_id"].cast(pl.String).is_duplicated().sum())
        kept = previous.select("account_id", "cluster_id", *(["last_seen"] if "last_seen" in previous.columns else []))
        return PreviousRun(_utc_last_seen(kept), int(ids.max() or 0), "<frame>")
    folder = Path(previous)
    cleanup_stale(folder, required)
    accounts_path = folder / "accounts.parquet"
    if not folder.is_dir() or not accounts_path.is_file():
        raise InputError("not a previous graphlink output folder (no accounts.parquet)", file=str(folder))
    reading = accounts_path  # the file being read when a read fails: the error names it (then clusters.parquet)
    try:
        present = pl.scan_parquet(accounts_path, glob=False).collect_schema()
        accounts = pl.read_parquet(accounts_path, glob=False, columns=["account_id", "cluster_id", *(["last_seen"] if "last_seen" in present else [])])
        log = log_digest(pl.read_parquet(accounts_path, columns=list(LOG_COLUMNS), glob=False)) if all(
            c in present for c in LOG_COLUMNS) else None
        accounts = accounts.with_columns(pl.col("account_id").cast(pl.String), pl.col("cluster_id").cast(pl.Int64))
        accounts = _utc_last_seen(accounts)
        clusters, flagged = None, None
        if (reading := folder / "clusters.parquet").is_file():
            known = pl.scan_parquet(reading, glob=False).collect_schema()
            clusters = pl.read_parquet(reading, glob=False, columns=[
                "cluster_id", *[c for c in ("since", "runs", "flagged") if c in known]])
            flagged = (clusters.filter(pl.col("flagged"))["cluster_id"].cast(pl.Int64).sort().to_list()
                       if "flagged" in clusters.columns else None)
            clusters = clusters.drop("flagged", strict=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read the previous {reading.stem}: {safe_reason(exc)}", file=str(reading)) from None
    max_id = int(accounts["cluster_id"].max() or 0)
    check_previous_ids(accounts["cluster_id"].min(), max_id, str(accounts_path), accounts["account_id"].is_duplicated().sum())
    run_path = folder / "run.json"
    if run_path.is_file():
        try:
            recorded = json.loads(run_path.read_text(encoding="utf-8")).get("counts", {}).get("max_cluster_id")
            max_id = max(max_id, int(recorded or 0))
        except (ValueError, TypeError, AttributeError, OSError, OverflowError):
            raise InputError("previous run.json is not valid", file=str(run_path)) from None
        check_previous_ids(0, max_id, f"{run_path} (counts.max_cluster_id)")
    return PreviousRun(accounts, max_id, str(folder), clusters, log, flagged)

MAX_PREVIOUS_ID = 2**31 - 1  #: The highest cluster id a previous run may hold (32-bit inside, room for new ones).


def check_previous_ids(lowest: int | None, highest: int | None, where: str, repeated: int = 0) -> None:
    """Previous cluster ids from 0 to :data:`MAX_PREVIOUS_ID`, each account once, else an error naming the file.

    >>> check_previous_ids(-1, 3, "prev/accounts.parquet")
    Traceback (most recent call last):
    graphlink.errors.InputError: prev/accounts.parquet: column cluster_id: previous cluster ids must be whole numbers from 0 to 2,147,483,647 (a folder edited by hand, or written by another tool?)
    """
    if (lowest is not None and lowest < 0) or (highest is not None and highest > MAX_PREVIOUS_ID):
        raise InputError(f"previous cluster ids must be whole numbers from 0 to {MAX_PREVIOUS_ID:,} (a folder edited "
                         "by hand, or written by another tool?)", file=where, column="cluster_id")
    if repeated:
        raise InputError(f"{repeated:,} rows repeat an account id (one row per account; two runs joined?)",
                         file=where, column="account_id")
