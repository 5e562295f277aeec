"""Batch cells: the pieces of one short-lived batch of accounts joined -- they lived and died in the same hours.

Why (issue 17, BENCHMARKS.md "Fifty-third pass (session 53, helper cell53)"): on the dev independent worlds the
largest single loss of ARI by cell is short-lived cells cut into card groups. An operator that runs a batch of
accounts for a few hours (a burst of sign-ups, an extraction run) gives them the batch's script and tool, but
draws their cards from pools and their addresses from residential slices, datacenter VMs or rotated IPv6: Leiden
cuts the batch along its cards (a1 cell 33: 219 accounts in 23 clusters; ind179 cell 2: 263 in 12), and nothing
pairwise joins the pieces. What an investigator sees is that the pieces *live in the same hours*: every one of them
starts and stops within the same few hours of a log weeks long, and they send the same template through the same
client. Sibling batches of the operator run at other times, and a company's team lives as long as the log does.

:func:`batch_cells` joins clusters when

* each is **short-lived**: its members' activity (first to last active UTC hour, all members) spans at most
  :data:`BATCH_SHARE` of the log;
* their lifetimes **coincide**: they overlap for at least half of the shorter one, and together they span at most
  :data:`BATCH_SHARE` of the log (two unrelated short clusters placed at random in the log overlap with probability
  about the share of the log their union covers, so at most 1 in 20);
* they run **one tool** (with the account index: the same leading client, or neither has one), and
* they share a **mark**: a template shingle (a ``prompt`` value) held by at least half the members of each
  (:func:`graphlink.stages.network_cells.cluster_marks`), so that two unrelated short-lived groups in the same hours
  (a workshop and a burst of sign-ups) stay apart. A client alone is no mark here: a browser's user agent is sent
  by a good share of everyone active in any hour, and a ring piece rotating browsers would tie any short-lived
  group of people (a hackathon team, a conference's visitors) that happened to use it that day.

It runs after :mod:`graphlink.stages.network_cells`: a network join that holds a long-lived sibling is no batch and
is never joined again here (run before it, a joined batch tied its operator's datacenter block to long-lived siblings:
dev a1 cluster of 243 ring accounts from 5 cells).

Linked clusters join by average linkage over their lifetimes' coincidence (:func:`graphlink.stages.clock_groups.average_groups`
on the overlap share, cut at one half): a cluster joins a group only when it coincides with its members on average, so
a chain of windows drifting across the log does not join its ends.

What it cannot tell apart: two batches of one operator running in the same hours with the same script are
joined (its campaign, not one cell: the log has nothing that parts them but their cards and addresses); a batch whose
pieces run in disjoint shifts stays in pieces. A log shorter than twenty batch lifetimes joins nothing.

:func:`member_moves` (``batch_members``, on beside it) then takes the batch's accounts back from the card groups
they share with other cells: an operator's card pool is paid with by accounts of many of its cells, and Leiden leaves
some of a batch's accounts in small clusters mixing them with long-lived siblings (dev a1: cell 10's 134 accounts in
30 clusters, most of them mixing 2-5 cells). A member of a cluster that is no batch (it lives longer than
:data:`BATCH_SHARE` of the log) moves to a batch cluster when its own lifetime overlaps the batch's for more than half
of it, the two together span at most :data:`BATCH_SHARE` of the log, and it holds more than half of the batch's marks
-- and only when exactly one batch cluster qualifies and it sends the batch's tool. The moves are made after every cluster is scored, flagged and
placed in a campaign, and only out of a cluster flagged or in the batch's campaign
(:func:`graphlink.stages.batch_judgement.judged_moves`: an office's visitor or a family's teenager pasting the ring's
public template in its hours from a stock browser is neither), and change no judgement (:func:`graphlink.stages.batch_judgement.carry_judgement`): the moved accounts take their batch's, and
every cluster keeps its own -- what a cluster that gave members leaves behind is no new evidence (session 54).

Reads only timestamps (events per account and UTC hour) and the prompt shingles; no constant of a simulator.
Output: the partition (``account_idx`` UInt32, ``cluster_id`` Int64), renumbered
(:func:`~graphlink.stages.communities.renumber`); unchanged when nothing joins.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.client_cells import leading_clients
from graphlink.stages.clock_groups import average_groups
from graphlink.stages.communities import renumber
from graphlink.stages.network_cells import cluster_marks

__all__ = ["BATCH_SHARE", "COINCIDE", "MARK_KINDS", "batch_cells", "batch_members", "cluster_lifetimes", "joined_clusters", "member_moves",
           "moved_partition", "with_batch_reason"]

#: A batch's lifetime (and two joined batches' together) covers at most this share of the log: two unrelated
#: clusters living this short a time coincide by chance about this often (the share of the log their union covers).
#: One in twenty is the usual level of a chance event one still calls a coincidence. Dev 11k (BENCHMARKS.md, cell53):
#: 1/50 lost most joins (a1 ARI by cell +0.05 instead of +0.13), 1/10 joined the same clusters as 1/20.
BATCH_SHARE = 1 / 20
#: The kinds whose values mark a batch: its template's shingles (module docstring: not its client).
MARK_KINDS = ("prompt",)
#: Two lifetimes coincide when they overlap for more than this share of the shorter one (a majority of it).
COINCIDE = 0.5


def cluster_lifetimes(hours: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """Each cluster's lifetime: its members' first and last active UTC hour.

    Parameters
    ----------
    hours : DataFrame
        ``account_idx, day`` (Date), ``hour`` (0-23), ``events``: events per account and UTC hour
        (:func:`graphlink.stages.drilldown.hours_from_minutes`); rows without events count as no activity.
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).

    Returns
    -------
    DataFrame
        ``cluster_id, first, last`` (Int64 hours since the epoch; ``last`` is the last active hour + 1, so
        ``last - first`` is the lifetime in hours), one row per cluster with activity.

    Examples
    --------
    >>> import datetime as dt
    >>> h = pl.DataFrame({"account_idx": [0, 1, 1], "day": [dt.date(1970, 1, 1)] * 3, "hour": [2, 3, 5], "events": [1, 1, 1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> p = pl.DataFrame({"account_idx": [0, 1], "cluster_id": [7, 7]}, schema_overrides={"account_idx": pl.UInt32})
    >>> cluster_lifetimes(h, p).rows()
    [(7, 2, 6)]
    """
    slot = (pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64)).alias("slot")
    return (hours.filter(pl.col("events") > 0).join(partition.drop_nulls("cluster_id"), on="account_idx")
            .select("cluster_id", slot).group_by("cluster_id")
            .agg(pl.col("slot").min().alias("first"), (pl.col("slot").max() + 1).alias("last")).sort("cluster_id"))


def batch_cells(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame, hours: pl.DataFrame,
                min_cluster_size: int = 2, span: int | None = None, index: pl.DataFrame | None = None) -> pl.DataFrame:
    """Join short-lived clusters whose lifetimes coincide and that share a mark (module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    memberships : DataFrame
        ``account_idx, signal_idx`` (every account; other columns ignored).
    signals : DataFrame
        ``signal_idx, kind, df``: the marks are values of :data:`MARK_KINDS`.
    hours : DataFrame
        ``account_idx, day, hour, events`` of (at least) the clustered accounts.
    min_cluster_size : int
        Passed to :func:`graphlink.stages.communities.renumber`.
    span : int, optional
        The log's length in hours; None: the span of ``hours`` (the clustered accounts' activity, which is never
        longer than the log's: the rule only gets stricter).
    index : DataFrame, optional
        ``account_idx, events`` (every account's events): with it, two clusters link only when their tools agree
        (:func:`graphlink.stages.client_cells.leading_clients`: the same leading client, or neither has one; needs
        ``count`` in ``memberships``) -- one batch runs one tool, and two operators' batches in the same hours pasting
        one public template do not (dev pools 1002: two operators' cells, 118 and 96 accounts, no card, address or
        client in common, joined without it).

    Returns
    -------
    DataFrame
        The partition with joined clusters under one id, renumbered; the input itself when nothing joins.

    Examples
    --------
    Two card groups of one batch living in hours 100-103 of a 1,000-hour log, one template shingle, join; a third
    cluster with that shingle but living in hours 500-503 does not:

    >>> import datetime as dt
    >>> d = [dt.date(1970, 1, 1) + dt.timedelta(days=int(s) // 24) for s in (100, 103, 100, 102, 500, 503, 0, 999)]
    >>> h = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6, 7], "day": d, "hour": [s % 24 for s in (100, 103, 100, 102, 500, 503, 0, 999)],
    ...                   "events": [1] * 8}, schema_overrides={"account_idx": pl.UInt32})
    >>> p = pl.DataFrame({"account_idx": list(range(8)), "cluster_id": [1, 1, 2, 2, 3, 3, 4, 4]}, schema_overrides={"account_idx": pl.UInt32})
    >>> m = pl.DataFrame({"account_idx": list(range(6)), "signal_idx": [9] * 6}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> s = pl.DataFrame({"signal_idx": [9], "kind": ["prompt"], "df": [6]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> batch_cells(p, m, s, h).sort("account_idx")["cluster_id"].to_list()
    [1, 1, 1, 1, 2, 2, 3, 3]
    """
    life = cluster_lifetimes(hours, partition)
    if life.height < 2:
        return partition
    span = int(span if span is not None else life["last"].max() - life["first"].min())
    limit = BATCH_SHARE * span
    short = life.filter((pl.col("last") - pl.col("first")) <= limit)
    if short.height < 2:
        return partition
    marks = cluster_marks(memberships, signals, partition.join(short.select("cluster_id"), on="cluster_id"), MARK_KINDS)
    pairs = (marks.select("cluster_id", "mark").join(marks.select(pl.col("cluster_id").alias("other"), "mark"), on="mark")
             .filter(pl.col("cluster_id") < pl.col("other")).select("cluster_id", "other").unique()
             .join(short, on="cluster_id").join(short.rename({"cluster_id": "other", "first": "first_b", "last": "last_b"}), on="other"))
    if index is not None:  # one batch, one tool: the same leading client or none on either side
        tool = leading_clients(partition.join(short.select("cluster_id"), on="cluster_id"), memberships, signals, index)
        pairs = (pairs.join(tool, on="cluster_id", how="left").join(tool.rename({"cluster_id": "other", "tool": "tool_b"}), on="other", how="left")
                 .filter(pl.col("tool").eq_missing(pl.col("tool_b"))).drop("tool", "tool_b"))
    overlap = (pl.min_horizontal("last", "last_b") - pl.max_horizontal("first", "first_b")).clip(0)
    shorter = pl.min_horizontal(pl.col("last") - pl.col("first"), pl.col("last_b") - pl.col("first_b"))
    union = pl.max_horizontal("last", "last_b") - pl.min_horizontal("first", "first_b")
    links = (pairs.with_columns((overlap / shorter).alias("share"), union.alias("union"))
             .filter((pl.col("share") > COINCIDE) & (pl.col("union") <= limit)).select("cluster_id", "other", "share"))
    if links.height == 0:
        return partition
    import igraph as ig
    nodes = pl.concat([links["cluster_id"], links["other"]]).unique().sort().to_frame("cluster_id").with_row_index("node")
    edges = links.join(nodes, on="cluster_id").join(nodes.rename({"cluster_id": "other", "node": "node_b"}), on="other")
    graph = ig.Graph(n=nodes.height, edges=np.column_stack([edges["node"].to_numpy(), edges["node_b"].to_numpy()]).tolist())
    comp = np.asarray(graph.connected_components().membership, dtype=np.int64)
    group = np.full(nodes.height, -1, dtype=np.int64)
    a, b, w = edges["node"].to_numpy(), edges["node_b"].to_numpy(), edges["share"].to_numpy()
    sizes = np.bincount(comp)
    members = np.split(np.argsort(comp, kind="stable"), np.cumsum(sizes)[:-1])  # each component's nodes, ascending
    local = np.empty(len(comp), dtype=np.int64)
    for at in members:
        local[at] = np.arange(len(at))
    by_comp = np.argsort(comp[a], kind="stable")
    ends = np.cumsum(np.bincount(comp[a], minlength=len(members)))
    for c, at in enumerate(members):  # within a component, average linkage over the coincidence (0: no link)
        sel = by_comp[(ends[c - 1] if c else 0):ends[c]]
        sim = np.zeros((len(at), len(at)))
        sim[local[a[sel]], local[b[sel]]] = w[sel]
        sim[local[b[sel]], local[a[sel]]] = w[sel]
        np.fill_diagonal(sim, 1.0)
        group[at] = at[average_groups(sim, COINCIDE)]
    target = (nodes.with_columns(pl.Series("group", group))
              .with_columns(pl.col("cluster_id").min().over("group").alias("to")).filter(pl.col("to") != pl.col("cluster_id"))
              .select("cluster_id", "to"))
    if target.height == 0:
        return partition
    merged = partition.join(target, on="cluster_id", how="left").select(
        "account_idx", pl.coalesce("to", "cluster_id").alias("cluster_id"))
    return renumber(merged, min_cluster_size)


def with_batch_reason(clusters: pl.DataFrame, pieces: pl.DataFrame, batches: pl.DataFrame, partition: pl.DataFrame) -> pl.DataFrame:
    """``clusters`` with ``why`` saying which final clusters hold a batch :func:`batch_cells` joined.

    "joined: K clusters living in the same few hours and sharing a template (batch cells)" is appended
    to the why of every final cluster holding members of a joined batch (K: the most pieces one batch in it joined),
    so a reviewer sees that the cluster is not one Leiden found.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, why`` (any other columns kept).
    pieces, batches, partition : DataFrame
        ``account_idx, cluster_id`` before :func:`batch_cells`, after it, and final (after any later join or detachment).

    Returns
    -------
    DataFrame
        ``clusters``, ``why`` extended where a batch was joined.

    Examples
    --------
    >>> p0 = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2]}, schema_overrides={"account_idx": pl.UInt32})
    >>> p1 = p0.with_columns(pl.lit(1).alias("cluster_id"))
    >>> c = pl.DataFrame({"cluster_id": [1], "why": ["shared card"]})
    >>> with_batch_reason(c, p0, p1, p1)["why"].to_list()
    ['shared card; joined: 2 clusters living in the same few hours and sharing a template (batch cells)']
    """
    joined = (batches.drop_nulls("cluster_id").join(pieces.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("piece")),
                                                     on="account_idx")
              .group_by("cluster_id").agg(pl.col("piece").n_unique().alias("pieces")).filter(pl.col("pieces") >= 2))
    if joined.height == 0:
        return clusters
    count = (partition.drop_nulls("cluster_id")
             .join(batches.join(joined, on="cluster_id").select("account_idx", "pieces"), on="account_idx")
             .group_by("cluster_id").agg(pl.col("pieces").max()))
    reason = count.select("cluster_id", pl.concat_str([pl.lit("joined: "), pl.col("pieces").cast(pl.String),
                                                       pl.lit(" clusters living in the same few hours and sharing a template (batch cells)")]).alias("joined"))
    return (clusters.join(reason, on="cluster_id", how="left")
            .with_columns(pl.when(pl.col("joined").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null() | (pl.col("why") == "")).then(pl.col("joined"))
                          .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), pl.col("joined")])).alias("why"))
            .drop("joined"))


def joined_clusters(pieces: pl.DataFrame, joined: pl.DataFrame) -> pl.Series:
    """The ids of ``joined``'s clusters (``account_idx, cluster_id``) that hold members of two or more of ``pieces``' clusters.

    Examples
    --------
    >>> p0 = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 3]}, schema_overrides={"account_idx": pl.UInt32})
    >>> p1 = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [5, 5, 6, 6]}, schema_overrides={"account_idx": pl.UInt32})
    >>> joined_clusters(p0, p1).to_list()
    [6]
    """
    return (joined.drop_nulls("cluster_id").join(pieces.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("piece")), on="account_idx")
            .group_by("cluster_id").agg(pl.col("piece").n_unique().alias("n")).filter(pl.col("n") >= 2)["cluster_id"].sort())


def batch_members(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame, hours: pl.DataFrame,
                  min_cluster_size: int = 2, span: int | None = None) -> pl.DataFrame:
    """The partition with :func:`member_moves`' accounts in their batch's cluster, renumbered (the input itself when none moves).

    Examples
    --------
    See :func:`member_moves` (the same small log: account 3 joins the batch, the remnant of one dissolves).
    """
    moves = member_moves(partition, memberships, signals, hours, span)
    return partition if moves.height == 0 else renumber(moved_partition(partition, moves), min_cluster_size)


def moved_partition(partition: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """``partition`` with each of ``moves``' accounts (``account_idx, to``) in cluster ``to`` (not renumbered)."""
    return partition.join(moves, on="account_idx", how="left").select("account_idx", pl.coalesce("to", "cluster_id").alias("cluster_id"))


def _rows_of(memberships: pl.DataFrame, column: str, keys: pl.Series) -> pl.DataFrame:
    """``memberships``' rows whose ``column`` (``account_idx`` or ``signal_idx``) is one of ``keys``, in their order."""
    if memberships.is_empty() or keys.is_empty():
        return memberships.clear()
    wanted = np.zeros(max(int(memberships[column].max()), int(keys.max())) + 1, dtype=bool)
    wanted[keys.to_numpy()] = True
    return memberships.filter(pl.lit(pl.Series(wanted)).gather(pl.col(column)))


def member_moves(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame, hours: pl.DataFrame,
                 span: int | None = None, index: pl.DataFrame | None = None) -> pl.DataFrame:
    """Members of long-lived clusters that lived only in one batch's hours and write its template, with their batch.

    A batch cluster lives at most :data:`BATCH_SHARE` of the log; a member of a longer-lived cluster moves to it when
    the member's own lifetime (first to last active hour) overlaps the batch's for more than :data:`COINCIDE` of the
    member's, the two together span at most :data:`BATCH_SHARE` of the log, and the member holds more than half of
    the batch's marks (:data:`MARK_KINDS` values held by half its members); a member that would qualify for two
    batch clusters stays.

    Parameters
    ----------
    partition, memberships, signals, hours, span
        As for :func:`batch_cells`.
    index : DataFrame, optional
        As for :func:`batch_cells`: with it, a member moves only when its tool is its batch's (the client it sends for
        most requests is the batch's leading client, or neither has one) -- a batch is one script *and one tool*, and a
        person pasting a viral template in a ring batch's hours from a browser is not its account.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64: the batch's ``cluster_id`` in ``partition``), one row per account that
        moves, by account; empty when none does.

    Examples
    --------
    A batch (cluster 1: accounts 0-2, hours 100-104, template shingle 9) and a card group mixing one more of its accounts
    (3, hour 101) with an account of a long-lived sibling cell (4, hours 10-900): account 3 moves to the batch.

    >>> import datetime as dt
    >>> slots = [(0, 100), (1, 102), (2, 103), (3, 101), (4, 10), (4, 900), (5, 0), (5, 999)]
    >>> h = pl.DataFrame({"account_idx": [a for a, _ in slots], "day": [dt.date(1970, 1, 1) + dt.timedelta(days=t // 24) for _, t in slots],
    ...                   "hour": [t % 24 for _, t in slots], "events": [1] * 8}, schema_overrides={"account_idx": pl.UInt32})
    >>> p = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5], "cluster_id": [1, 1, 1, 2, 2, None]}, schema_overrides={"account_idx": pl.UInt32})
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 3], "signal_idx": [9] * 4}, schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> s = pl.DataFrame({"signal_idx": [9], "kind": ["prompt"], "df": [4]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> member_moves(p, m, s, h, span=1000).rows()
    [(3, 1)]
    >>> batch_members(p, m, s, h, span=1000).sort("account_idx")["cluster_id"].to_list()
    [1, 1, 1, 1, None, None]
    """
    none = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    slot = (pl.col("day").cast(pl.Int32).cast(pl.Int64) * 24 + pl.col("hour").cast(pl.Int64)).alias("slot")
    own = (hours.filter(pl.col("events") > 0).join(partition.drop_nulls("cluster_id"), on="account_idx").select("account_idx", "cluster_id", slot)
           .group_by("account_idx", "cluster_id").agg(pl.col("slot").min().alias("first"), (pl.col("slot").max() + 1).alias("last")))
    if own.height == 0:
        return none
    life = own.group_by("cluster_id").agg(pl.col("first").min(), pl.col("last").max())
    span = int(span if span is not None else life["last"].max() - life["first"].min())
    limit = BATCH_SHARE * span
    lived = (pl.col("last") - pl.col("first"))
    batches = life.filter(lived <= limit)
    if batches.height == 0:
        return none
    # Every read of the memberships below is cut first to the few rows it can use -- the batches' members', the marks',
    # the movers' -- by a mask read by position: joined whole, the 38M rows of 224k accounts cost 2.4 GB here (memb55).
    in_batch = partition.join(batches.select("cluster_id"), on="cluster_id")
    marks = cluster_marks(_rows_of(memberships, "account_idx", in_batch["account_idx"]), signals, in_batch, MARK_KINDS)
    n_marks = marks.group_by("cluster_id").agg(pl.len().alias("marks"))
    # A member moves only when it and the batch together live at most ``limit``: so only members living that short a
    # time are candidates. Without the cut every long-lived member holding a public template's shingle was paired
    # with every batch marked by it (224k dev: 3.77 GB, against 3.40 for the rest of the run; memb55).
    loose = own.join(life.filter(lived > limit).select("cluster_id"), on="cluster_id").drop("cluster_id").filter(lived <= limit)
    held = (_rows_of(memberships, "signal_idx", marks["mark"]).select("account_idx", "signal_idx")
            .join(loose.select("account_idx"), on="account_idx").join(marks.select("cluster_id", pl.col("mark").alias("signal_idx")), on="signal_idx")
            .group_by("account_idx", "cluster_id").agg(pl.len().alias("held")).join(n_marks, on="cluster_id")
            .filter(pl.col("held") > 0.5 * pl.col("marks")))
    window = batches.rename({"first": "batch_first", "last": "batch_last"})
    overlap = (pl.min_horizontal("last", "batch_last") - pl.max_horizontal("first", "batch_first")).clip(0)
    union = pl.max_horizontal("last", "batch_last") - pl.min_horizontal("first", "batch_first")
    moves = (held.join(loose, on="account_idx").join(window, on="cluster_id")
             .filter((overlap > COINCIDE * (pl.col("last") - pl.col("first"))) & (union <= limit))
             .filter(pl.len().over("account_idx") == 1).select("account_idx", pl.col("cluster_id").cast(pl.Int64).alias("to")).sort("account_idx"))
    if index is not None and moves.height:  # one batch, one tool (each mover's own: itself as a cluster of one)
        own_tool = leading_clients(moves.select("account_idx", pl.col("account_idx").cast(pl.Int64).alias("cluster_id")),
                                   _rows_of(memberships, "account_idx", moves["account_idx"]), signals, index)
        targets = partition.join(moves.select(pl.col("to").alias("cluster_id")).unique(), on="cluster_id")
        tool = leading_clients(targets, _rows_of(memberships, "account_idx", targets["account_idx"]), signals, index)
        moves = (moves.join(own_tool.select(pl.col("cluster_id").alias("mover"), pl.col("tool").alias("own")),
                            left_on=pl.col("account_idx").cast(pl.Int64), right_on="mover", how="left")
                 .join(tool.rename({"cluster_id": "to"}), on="to", how="left")
                 .filter(pl.col("own").eq_missing(pl.col("tool"))).select("account_idx", "to"))
    return moves

