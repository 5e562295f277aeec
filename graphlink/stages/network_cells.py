"""Network cells: clusters joined because their members live on networks no one else uses.

An operator's cell with no shared exact address -- datacenter VMs, one per few accounts, or IPv6
addresses rotated per account-day -- falls apart under CPM into its card or VM groups: across them the
members share only their /24 or /48 (``ip_net``), which by design only reinforces links a card or an
exact address made (one network is shared by neighbours on an ISP block). On independent dev worlds such
cells were cut into 13-14 clusters each (BENCHMARKS.md "Where it fails"; 11,000 seed 3 cell 2: 310
accounts in 57 card groups, its four /24s used by nobody else).

:func:`network_cells` joins such pieces when the network evidence is *exclusive* and *principal*, and only
pieces -- never units that merely rent addresses of one block:

* a network is **exclusive** when clustered accounts send at least :data:`CLUSTERED_SHARE` of the events
  seen on it in the whole log (memberships of every account): a datacenter /24 rented by one operator,
  not a residential block whose other users are single people in no cluster. Traffic, not accounts: a few
  throw-away accounts with a handful of requests do not make an operator's block shared;
* a member's **principal** networks are the fewest exclusive networks, at most :data:`MAX_PRINCIPAL`,
  carrying at least :data:`PRINCIPAL_SHARE` of its events (all its events count, since the memberships
  hold only networks two accounts share): an ordinary user's occasional mobile-carrier exit or a VPN is
  not where the user lives, a cell drawing its requests evenly from three blocks lives on them;
* a cluster with a **home** -- an exact address principal for :data:`COVER` of its members (a branch
  office's NAT, a firm's office address, a customer's VM), or a timing band most of them share with no
  one else (a customer's cron job) -- is a unit, not a piece, and is never joined
  (:func:`home_clusters`). An operator's card group on a datacenter block spreads over VM addresses and
  keeps the cell's clock;
* a cluster is tied to a network when at least :data:`MIN_MEMBERS_ON_NETWORK` of its members have it as
  a principal network; two clusters tied to one network are **linked only through a mark they share**
  (:func:`cluster_marks`: a template shingle or client held by :data:`MARK_SHARE` of each, and most of
  whose holders are in clusters tied to the network's block, :data:`MARK_SPECIFIC`): households of
  a building, a co-working space's firms and two operators renting one block write different things.
  Each connected component of linked clusters proposes one group;
* with the clustered accounts' hours, each component is cut into the clusters running on one clock
  (:mod:`graphlink.stages.clock_groups`: an operator renting one block for many cells); a cluster joins its
  group only when at least :data:`COVER` of its members have a principal network among the group's networks.

The join groups, and the flag a joined cluster gets rests on more than the network: its pieces share a
mark, have no address or clock of their own, and together carry nearly all traffic of their block.
:func:`with_join_reason` says so in the why. The rule reads only what any log holds (an address and a
time per event, a prompt or client when present) and has no constant of a simulator. What it cannot tell
apart: an operator's cells on one block keeping one clock are joined (its campaign, not one cell); an
operator giving each card group its own proxy address or cron minute looks like a set of units and is not
joined; a company's branches sending one in-house template from their own VMs on one block look like a cell.

Output: the partition (``account_idx`` UInt32, ``cluster_id`` Int64), renumbered (:func:`~graphlink.stages.communities.renumber`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaigns import cluster_campaigns
from graphlink.stages.clock_groups import clock_groups
from graphlink.stages.client_cells import leading_clients
from graphlink.stages.communities import renumber
from graphlink.stages.encode import position_in_run, sort_keys

# igraph (and matplotlib through it: ~0.4 s) loads where a graph is built: `match` and the CLI's start-up never pay for it.
if TYPE_CHECKING:
    import igraph as ig

#: A member's network is principal when it carries at least this share of its events: "where the account
#: lives". Half is the least share only one network can hold.
PRINCIPAL_SHARE = 0.5
#: A network is exclusive to clusters when at least this share of the accounts seen on it are clustered
#: (``df`` counts every account on it). 0.9 tolerates a few members the partition left out (on the dev
#: cell of 310 accounts, 4-7 of 69-86 accounts per /24 were in no cluster).
CLUSTERED_SHARE = 0.9
#: Members of a cluster that must have the network as principal for the cluster to be tied to it: one
#: member is a coincidence (one employee's home ISP), two are a shared habit.
MIN_MEMBERS_ON_NETWORK = 2
#: A cluster joins its component's group when at least this share of its members have their principal
#: network among the component's networks. Dev worlds (18, ARI by cell): 0.5 -> 0.685, 0.8 -> 0.697,
#: 0.9 -> 0.694 (0.5 joined clusters that only half lived there, merging an operator's sibling cells).
COVER = 0.8
#: The kinds whose values are networks (IPv4 /24 and IPv6 /48 by default).
NETWORK_KINDS = ("ip_net",)
#: A member's principal networks are at most this many (the fewest carrying half its events): a cell
#: drawing each request evenly from three rented blocks still lives on them; more is a rotating network.
MAX_PRINCIPAL = 3
#: Kinds whose values mark an operator's pieces as one: its template's shingles, its client. Two
#: clusters on one network are joined only through such a value (a building's households, a co-working
#: space's firms and unrelated operators write different things).
SHARED_KINDS = ("prompt", "user_agent")
#: A value marks a cluster when at least this share of its members hold it (a template every member
#: sends, not one employee's question that a neighbour also asked).
MARK_SHARE = 0.5
#: A mark links clusters on a network only when the clusters tied to the network's block (see
#: :func:`network_cells`) hold at least this share of its holders in the whole log: the block's own
#: template, not a stock question everyone asks (a campus's students and an operator on the campus NAT
#: ask the same ones).
MARK_SPECIFIC = 0.5


def principal_networks(memberships: pl.DataFrame, signals: pl.DataFrame, partition: pl.DataFrame,
                       events: pl.DataFrame, kinds: tuple[str, ...] = NETWORK_KINDS,
                       totals: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each clustered member's principal exclusive networks.

    A network is exclusive when clustered accounts send at least :data:`CLUSTERED_SHARE` of the events
    seen on it (traffic, not accounts: a few throw-away accounts with a handful of requests do not make
    an operator's block shared). A member's principal networks are the smallest set of exclusive
    networks, at most :data:`MAX_PRINCIPAL`, that carries at least :data:`PRINCIPAL_SHARE` of its events
    (an account spreading its requests evenly over three blocks still lives on them).

    Parameters
    ----------
    memberships : DataFrame
        ``account_idx, signal_idx, count`` (events of the account carrying the value), every account.
    signals : DataFrame
        ``signal_idx, kind, df`` (``df``: accounts carrying the value in the whole log).
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    events : DataFrame
        ``account_idx, events``: every account's events (the account index), the share's denominator.
    kinds : tuple of str
        Network kinds.
    totals : DataFrame, optional
        ``signal_idx, all``: each network's events over every account, when ``memberships`` holds only
        clustered accounts (the Spark engine); None: summed from ``memberships``.

    Returns
    -------
    DataFrame
        ``account_idx, cluster_id, signal_idx``: one row per member and principal network.
    """
    clustered = partition.drop_nulls("cluster_id")
    nets = signals.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx")
    on_nets = memberships.select("account_idx", "signal_idx", "count").join(nets, on="signal_idx")
    if totals is None:
        totals = on_nets.group_by("signal_idx").agg(pl.col("count").sum().alias("all"))
    exclusive = (on_nets.join(clustered, on="account_idx").group_by("signal_idx").agg(pl.col("count").sum().alias("clustered"))
                 .join(totals.select("signal_idx", pl.col("all").cast(pl.Int64)), on="signal_idx")
                 .filter(pl.col("clustered") >= CLUSTERED_SHARE * pl.col("all")).select("signal_idx"))
    rows = _leading(on_nets.join(exclusive, on="signal_idx"), clustered, events.select("account_idx", "events"))
    # The set: networks taken in order of share until half the events are covered, within the bound.
    reach = rows.group_by("account_idx").agg(pl.col("share").sum().alias("reach"))
    return (rows.filter(pl.col("before") < PRINCIPAL_SHARE).join(reach, on="account_idx")
            .filter(pl.col("reach") >= PRINCIPAL_SHARE).select("account_idx", "cluster_id", "signal_idx"))


def _leading(on_nets: pl.DataFrame, clustered: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """``on_nets`` (``account_idx, signal_idx, count``) of the ``clustered`` accounts (``account_idx, cluster_id``)
    with ``cluster_id, events, share, rank, before``: each member's :data:`MAX_PRINCIPAL` largest shares of its
    events, in order (account, share descending, network).

    Within an account a share falls as its count does (one denominator), so the rows are ordered by one packed key,
    the count inverted (campaign preset: 14.5M member-network rows, ~7 s of CPU sorted on the float share and two
    columns, ~0.5 s so); (account, network) is unique, so any sort gives the same rows. Ranked and cut first, then
    given their events and shares: the running sum of the first ranks is the one over all of the account's rows.
    """
    share = (pl.col("count") / pl.col("events")).alias("share")
    before = (pl.col("share").cum_sum().over("account_idx") - pl.col("share")).alias("before")
    bits = [max(1, int(on_nets[c].max() or 0).bit_length()) for c in ("account_idx", "count", "signal_idx")]
    if on_nets.is_empty() or sum(bits) > 64:
        return (on_nets.join(clustered, on="account_idx").join(events, on="account_idx").with_columns(share)
                .sort(["account_idx", "share", "signal_idx"], descending=[False, True, False])
                .with_columns(pl.int_range(pl.len()).over("account_idx").alias("rank"), before)
                .filter(pl.col("rank") < MAX_PRINCIPAL))
    a_bits, c_bits, s_bits = bits
    top = 2**c_bits - 1
    packed = (pl.col("account_idx").cast(pl.UInt64) * 2**(c_bits + s_bits) + (top - pl.col("count").cast(pl.UInt64)) * 2**s_bits
              + pl.col("signal_idx").cast(pl.UInt64))
    keys = sort_keys(on_nets.join(clustered, on="account_idx", how="semi").select(packed.alias("key")).to_series())
    account = (pl.col("key") // 2**(c_bits + s_bits)).cast(on_nets.schema["account_idx"])
    ranked = (keys.to_frame().with_columns(position_in_run(account != account.shift(1)).alias("rank"))
              .filter(pl.col("rank") < MAX_PRINCIPAL)
              .select(account.alias("account_idx"),
                      (pl.col("key") % 2**s_bits).cast(on_nets.schema["signal_idx"]).alias("signal_idx"),
                      (top - pl.col("key") // 2**s_bits % 2**c_bits).cast(on_nets.schema["count"]).alias("count"), "rank"))
    return (ranked.join(clustered, on="account_idx", maintain_order="left").join(events, on="account_idx", maintain_order="left")
            .with_columns(share).with_columns(before)
            .select("account_idx", "signal_idx", "count", "cluster_id", "events", "share", "rank", "before"))


def home_clusters(memberships: pl.DataFrame, signals: pl.DataFrame, partition: pl.DataFrame,
                  events: pl.DataFrame, kind: str = "ip", clock: str = "timing") -> pl.DataFrame:
    """Clusters with an address or a clock of their own: a unit (an office, a customer's job), not a piece.

    A cluster has a home when one exact address (``kind``) is principal (:data:`PRINCIPAL_SHARE` of the
    events) for at least :data:`COVER` of its members and two or more, and they are at least half of
    the clustered accounts whose principal address it is: a branch office's NAT, a firm's office
    address, a customer's VM its bots share. Or when one ``clock`` value (a timing band: the same active
    minutes) is held by :data:`COVER` of its members and two or more, who are at least half of its
    holders in the whole log: a customer's cron job firing its bots together and apart from its
    neighbours'. An operator's card group on a datacenter block spreads over VM addresses (one per
    account or a few) and keeps the cell's clock, so it has neither.

    Parameters
    ----------
    memberships, signals, partition, events
        As for :func:`principal_networks`.
    kind, clock : str
        The exact address kind and the timing kind.

    Returns
    -------
    DataFrame
        ``cluster_id`` of the clusters with a home (unique).
    """
    clustered = partition.drop_nulls("cluster_id")
    vals = signals.filter(pl.col("kind").is_in([kind, clock]) & (pl.col("df") >= 2)).select("signal_idx", "kind", "df")
    rows = (_maybe_home(memberships.select("account_idx", "signal_idx", "count"), vals, clock, clustered, events).join(vals, on="signal_idx")
            .join(clustered, on="account_idx").join(events.select("account_idx", "events"), on="account_idx")
            .filter((pl.col("kind") == clock) | (pl.col("count") >= PRINCIPAL_SHARE * pl.col("events")))
            .group_by("cluster_id", "signal_idx", "kind", "df").agg(pl.len().alias("n"))
            .with_columns(pl.when(pl.col("kind") == clock).then(pl.col("df")).otherwise(pl.col("n").sum().over("signal_idx")).alias("all")))
    sizes = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    return (rows.join(sizes, on="cluster_id")
            .filter((pl.col("n") >= 2) & (pl.col("n") >= COVER * pl.col("size")) & (2 * pl.col("n") >= pl.col("all")))
            .select("cluster_id").unique())


def _maybe_home(rows: pl.DataFrame, vals: pl.DataFrame, clock: str, clustered: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (``account_idx, signal_idx, count``) :func:`home_clusters` can read: a clustered account's clock value
    (``vals``) or a value of ``vals`` carrying :data:`PRINCIPAL_SHARE` of its events. A filter through per-position
    tables (gathers), the rows' order kept, before any join (campaign preset: 39M rows, 15M of them clustered accounts'
    addresses and clocks, joined three times to find the ~1% that can be a home: ~3.3 s of CPU, ~1 s so)."""
    if rows.is_empty() or vals.is_empty() or clustered.is_empty() or events.is_empty():
        return rows
    n_accounts = int(max(rows["account_idx"].max(), clustered["account_idx"].max(), events["account_idx"].max())) + 1
    n_values = int(max(rows["signal_idx"].max(), vals["signal_idx"].max())) + 1
    code = np.zeros(n_values, dtype=np.uint8)  # 1: a value of vals, 2: a clock value
    code[vals["signal_idx"].to_numpy()] = np.where(vals["kind"].to_numpy() == clock, 2, 1)
    # Half the account's events where it is clustered and has a row in ``events`` (else past any count).
    member, sent, half = np.zeros(n_accounts, dtype=bool), np.full(n_accounts, np.inf), np.full(n_accounts, np.inf)
    member[events["account_idx"].to_numpy()] = True
    sent[events["account_idx"].to_numpy()] = events["events"].cast(pl.Float64).fill_null(np.inf).to_numpy()
    member &= np.isin(np.arange(n_accounts), clustered["account_idx"].to_numpy())
    half[member] = PRINCIPAL_SHARE * sent[member]
    value, account = pl.lit(pl.Series(code)).gather(pl.col("signal_idx")), pl.col("account_idx")
    return rows.filter((value == 2) & pl.lit(pl.Series(member)).gather(account)
                       | (value == 1) & (pl.col("count") >= pl.lit(pl.Series(half)).gather(account)))


def cluster_marks(memberships: pl.DataFrame, signals: pl.DataFrame, partition: pl.DataFrame,
                  kinds: tuple[str, ...] = SHARED_KINDS) -> pl.DataFrame:
    """Values (templates' shingles, clients) held by at least :data:`MARK_SHARE` of a cluster's members.

    Returns
    -------
    DataFrame
        ``cluster_id, mark, n, df``: the value's ``signal_idx``, its holders in the cluster and in the log.
    """
    clustered = partition.drop_nulls("cluster_id")
    vals = signals.filter(pl.col("kind").is_in(list(kinds)) & (pl.col("df") >= 2)).select("signal_idx")
    sizes = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    return (memberships.select("account_idx", "signal_idx").join(vals, on="signal_idx").join(clustered, on="account_idx")
            .group_by("cluster_id", "signal_idx").agg(pl.len().alias("n")).join(sizes, on="cluster_id")
            .filter(pl.col("n") >= MARK_SHARE * pl.col("size"))
            .join(signals.select("signal_idx", "df"), on="signal_idx")
            .select("cluster_id", pl.col("signal_idx").alias("mark"), "n", "df"))


def network_cells(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                  events: pl.DataFrame, min_cluster_size: int = 2, kinds: tuple[str, ...] = NETWORK_KINDS,
                  totals: pl.DataFrame | None = None, tools: bool = False, hours: pl.DataFrame | None = None) -> pl.DataFrame:
    """Join clusters whose members live on the same exclusive networks (see the module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    memberships : DataFrame
        ``account_idx, signal_idx, count``.
    signals : DataFrame
        ``signal_idx, kind, df``.
    events : DataFrame
        ``account_idx, events`` (the account index: every account's events).
    min_cluster_size : int
        Passed to :func:`graphlink.stages.communities.renumber`.
    kinds, totals
        Network kinds; as for :func:`principal_networks`.
    tools : bool
        Link two pieces only when their tools agree (:func:`graphlink.stages.client_cells.leading_clients`).
    hours : DataFrame, optional
        ``account_idx, day, hour, events`` of the clustered accounts: each component of links is cut into the groups
        running on one clock (:func:`graphlink.stages.clock_groups.clock_groups`); None: components join whole.

    Returns
    -------
    DataFrame
        The partition with joined clusters under one id, renumbered (1, 2, ... by decreasing size);
        unclustered accounts stay unclustered.

    Examples
    --------
    Two card groups of one cell, each account on its own address of a /24 nobody else uses, one template shingle, join:

    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3], "cluster_id": [1, 1, 2, 2]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> mem = pl.DataFrame({"account_idx": [0, 1, 2, 3] * 2, "signal_idx": [5] * 4 + [6] * 4, "count": [9] * 8},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [5, 6], "kind": ["ip_net", "prompt"], "df": [4, 4]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> ev = pl.DataFrame({"account_idx": [0, 1, 2, 3], "events": [9, 9, 9, 9]}, schema_overrides={"account_idx": pl.UInt32})
    >>> network_cells(part, mem, sig, ev)["cluster_id"].to_list()
    [1, 1, 1, 1]
    """
    import igraph as ig
    main = principal_networks(memberships, signals, partition, events, kinds, totals)
    homes = home_clusters(memberships, signals, partition, events)
    tied = (main.join(homes, on="cluster_id", how="anti").group_by("cluster_id", "signal_idx").agg(pl.len().alias("n"))
            .filter(pl.col("n") >= MIN_MEMBERS_ON_NETWORK).select("cluster_id", "signal_idx"))
    if tied.height == 0:
        return partition
    # Two clusters tied to one network are linked when they also share a mark (the operator's template or client)
    # and, with tools, agree in tool: a star per (network, mark, tool); components of these links propose groups.
    marks = cluster_marks(memberships, signals, partition.join(tied.select("cluster_id").unique(), on="cluster_id"))
    # A mark counts only when the clusters tied to the network hold most of its holders (MARK_SPECIFIC): a
    # stock question the whole campus asks is no operator's template. Counted over the network's *block*:
    # the networks joined by clusters tied to two or more of them (a cell whose card groups each live on
    # its four exclusive /24s holds its template on each with a quarter of them), not over unrelated blocks
    # that merely send the same product's prompt (break19: framework firms on separate /24s).
    blocked = tied.join(_network_blocks(tied), on="signal_idx")
    specific = (blocked.select("cluster_id", "block").unique().join(marks, on="cluster_id")
                .group_by("block", "mark").agg(pl.col("n").sum().alias("held"), pl.col("df").first())
                .filter(pl.col("held") >= MARK_SPECIFIC * pl.col("df")).select("block", "mark"))
    tool = leading_clients(partition, memberships, signals, events) if tools else pl.DataFrame(schema={"cluster_id": pl.Int64, "tool": pl.Int64})
    star = (blocked.join(marks, on="cluster_id").join(specific, on=["block", "mark"], how="semi").join(tool, on="cluster_id", how="left")
            .with_columns(pl.col("cluster_id").min().over("signal_idx", "mark", "tool").alias("hub"))
            .filter(pl.col("hub") != pl.col("cluster_id")).select("hub", "cluster_id").unique())
    if star.height == 0:
        return partition
    clusters = pl.concat([star["hub"], star["cluster_id"]]).unique().sort().to_frame("cluster_id").with_row_index("node")
    edges = (star.join(clusters.rename({"cluster_id": "hub", "node": "a"}), on="hub")
             .join(clusters.rename({"node": "b"}), on="cluster_id"))
    graph = ig.Graph(n=clusters.height, edges=np.column_stack([edges["a"].to_numpy(), edges["b"].to_numpy()]).tolist())
    comp = clusters.with_columns(pl.Series("comp", graph.connected_components().membership, dtype=pl.Int64))
    comp = comp if hours is None else clock_groups(comp.select("cluster_id", "comp"), partition, hours)
    vcomp = tied.join(comp, on="cluster_id").select("signal_idx", pl.col("comp").alias("vcomp")).unique()
    sizes = partition.drop_nulls("cluster_id").group_by("cluster_id").agg(pl.len().alias("size"))
    # Members whose principal network lies in their cluster's component.
    inside = (main.join(comp.select("cluster_id", "comp"), on="cluster_id").join(vcomp, on="signal_idx")
              .filter(pl.col("vcomp") == pl.col("comp"))
              .group_by("cluster_id", "comp").agg(pl.col("account_idx").n_unique().alias("inside")))
    joined = (inside.join(sizes, on="cluster_id").filter(pl.col("inside") >= COVER * pl.col("size"))
              .filter(pl.len().over("comp") >= 2).select("cluster_id", "comp"))
    if joined.height == 0:
        return partition
    target = joined.with_columns(pl.col("cluster_id").min().over("comp").alias("group")).select("cluster_id", "group")  # smallest id; renumbered
    merged = partition.join(target, on="cluster_id", how="left").select(
        "account_idx", pl.coalesce("group", "cluster_id").alias("cluster_id"))
    return renumber(merged, min_cluster_size)


def _network_blocks(tied: pl.DataFrame) -> pl.DataFrame:
    """``signal_idx, block``: each network's connected component in the graph of clusters and the networks
    they are tied to (``tied``: ``cluster_id, signal_idx``)."""
    import igraph as ig
    nets = tied.select("signal_idx").unique().sort("signal_idx").with_row_index("node")
    cl = tied.select("cluster_id").unique().sort("cluster_id").with_row_index("cnode")
    edges = tied.join(nets, on="signal_idx").join(cl, on="cluster_id")
    n_nets = nets.height
    graph = ig.Graph(n=n_nets + cl.height, edges=np.column_stack(
        [edges["node"].to_numpy().astype(np.int64), edges["cnode"].to_numpy().astype(np.int64) + n_nets]).tolist())
    member = np.asarray(graph.connected_components().membership, dtype=np.int64)
    return nets.select("signal_idx", pl.Series("block", member[:n_nets], dtype=pl.Int64))


def with_join_reason(clusters: pl.DataFrame, pieces: pl.DataFrame, partition: pl.DataFrame,
                     memberships: pl.DataFrame, signals: pl.DataFrame, kinds: tuple[str, ...] = NETWORK_KINDS,
                     ) -> pl.DataFrame:
    """``clusters`` with ``why`` saying which clusters :func:`network_cells` joined, and on what networks.

    "joined: K clusters living on <network>[, <network> ...] and sharing a template or client (network
    cells)", the networks being
    those held by the most members (at most three), appended to the why of every final cluster whose
    members came from two or more pieces: a reviewer sees that the cluster is not one Leiden found.

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, why`` (and any other columns, kept).
    pieces, partition : DataFrame
        ``account_idx, cluster_id`` before and after the join (after any later detachment).
    memberships, signals, kinds
        As for :func:`network_cells`; ``signals`` needs ``value``.

    Returns
    -------
    DataFrame
        ``clusters``, ``why`` extended where a join happened.
    """
    final = partition.drop_nulls("cluster_id")
    count = (final.join(pieces.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("piece")), on="account_idx")
             .group_by("cluster_id").agg(pl.col("piece").n_unique().alias("pieces")).filter(pl.col("pieces") >= 2))
    if count.height == 0:
        return clusters
    nets = signals.filter(pl.col("kind").is_in(list(kinds))).select("signal_idx", "value")
    top = (memberships.select("account_idx", "signal_idx").join(final.join(count, on="cluster_id", how="semi"), on="account_idx")
           .join(nets, on="signal_idx").group_by("cluster_id", "value").agg(pl.len().alias("n"))
           .sort(["cluster_id", "n", "value"], descending=[False, True, False]).group_by("cluster_id", maintain_order=True)
           .agg(pl.col("value").head(3).str.join(", ").alias("nets")))
    reason = (count.join(top, on="cluster_id", how="left").select("cluster_id", pl.concat_str(
        [pl.lit("joined: "), pl.col("pieces").cast(pl.String), pl.lit(" clusters living on "),
         pl.col("nets").fill_null("their networks"), pl.lit(" and sharing a template or client (network cells)")]).alias("joined")))
    return (clusters.join(reason, on="cluster_id", how="left")
            .with_columns(pl.when(pl.col("joined").is_null()).then(pl.col("why"))
                          .when(pl.col("why").is_null() | (pl.col("why") == "")).then(pl.col("joined"))
                          .otherwise(pl.concat_str([pl.col("why"), pl.lit("; "), pl.col("joined")])).alias("why"))
            .drop("joined"))


def piece_campaigns(partition: pl.DataFrame, pieces: pl.DataFrame | None, affiliations: pl.DataFrame,
                    signals: pl.DataFrame, graph_config: GraphConfig, config: CommunityConfig | None = None,
                    n_accounts: int | None = None) -> pl.DataFrame:
    """Campaigns of the final clusters, grouped from the pieces :func:`network_cells` joined.

    :func:`graphlink.stages.campaigns.cluster_campaigns` groups clusters by the cosine of their value
    profiles at ``campaign_resolution``, a threshold set on clusters as Leiden leaves them. A joined
    cell has a different profile (the union of its pieces'), and on dev worlds regrouping with it
    reshuffled campaigns far from the joined cells: unrelated small clusters of ordinary users landed in
    flagged campaigns (ordinary accounts flagged 52 -> 62). So campaigns are grouped from the pieces
    (restricted to accounts still clustered) and each final cluster takes the campaign holding most of
    its members (ties: the smaller campaign id).

    Parameters
    ----------
    partition : DataFrame
        The final ``account_idx, cluster_id``.
    pieces : DataFrame or None
        ``account_idx, cluster_id`` before :func:`network_cells`; None (it is off): the final clusters
        are grouped directly.
    affiliations, signals, graph_config, config, n_accounts
        As for :func:`graphlink.stages.campaigns.cluster_campaigns` (``n_accounts``: the log's accounts,
        which the pseudo-mass and the rarity floor are shares of; estimated from the account numbers when
        not given, which falls short when the last accounts hold no linked value).

    Returns
    -------
    DataFrame
        ``cluster_id, campaign_id`` (Int64), one row per final cluster; campaign ids are the pieces'
        (numbered by :func:`~graphlink.stages.campaigns.cluster_campaigns`), so some may go unused.
    """
    if pieces is None:
        return cluster_campaigns(partition, affiliations, signals, graph_config, config, n_accounts)
    live = pieces.join(partition.drop_nulls("cluster_id").select("account_idx"), on="account_idx", how="semi")
    of_piece = cluster_campaigns(live, affiliations, signals, graph_config, config, n_accounts)
    votes = (partition.drop_nulls("cluster_id")
             .join(live.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").alias("piece")), on="account_idx")
             .join(of_piece.select(pl.col("cluster_id").alias("piece"), "campaign_id"), on="piece")
             .group_by("cluster_id", "campaign_id").agg(pl.len().alias("n")))
    return (votes.sort(["cluster_id", "n", "campaign_id"], descending=[False, True, False])
            .group_by("cluster_id", maintain_order=True).first()
            .select(pl.col("cluster_id").cast(pl.Int64), pl.col("campaign_id").cast(pl.Int64)).sort("cluster_id"))

