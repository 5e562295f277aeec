"""Campaign consensus: the groups most Leiden runs agree on, on the part of the cluster graph that can group.

:func:`graphlink.stages.campaigns.cluster_campaigns` builds the cluster similarity graph (exact cosine of
value profiles) and :func:`consensus_groups` groups it. One Leiden run's groups hang on its seed and on
the order it visits nodes in (BENCHMARKS.md, fourteenth pass), so the campaigns are those a majority of
runs agree on. Running Leiden 30 times on the whole graph cost 780 s of a 1,337 s run on the dev 224k
world (sixteenth pass); three reductions keep the majority at a small share of that:

1. nodes with no edge of at least the resolution are left out -- exact: under CPM a node gains by
   joining a group only if its summed similarity to the group exceeds ``resolution x`` the group's
   size, which needs one edge above the resolution, so such a node is alone in every run anyway;
2. edges below :data:`EDGE_FLOOR` of the resolution are left out -- bounded: a group's mean pairwise
   similarity, which CPM compares with the resolution, moves by less than that share;
3. each run stops after :data:`CONSENSUS_ITERATIONS` passes, and large graphs get fewer runs
   (:data:`CONSENSUS_EDGE_RUNS`, at least :data:`MIN_CONSENSUS_RUNS`).

Output: one group label (int) per node.
"""

from __future__ import annotations

import random

import numpy as np
import polars as pl

from graphlink.config import CommunityConfig

__all__ = ["CONSENSUS_EDGE_RUNS", "CONSENSUS_ITERATIONS", "CONSENSUS_RUNS", "EDGE_FLOOR", "MIN_CONSENSUS_RUNS",
           "consensus_groups", "consensus_runs", "grouping_edges", "majority_groups"]

#: Leiden runs whose majority groups campaigns (:func:`consensus_groups`). On dev world ind_s3_11000's
#: cluster graph (1,111 linked clusters, 47,612 edges) two seeds' single runs agree at ARI 0.82-0.91
#: over accounts; majorities of 10 runs at 0.86-0.98 (a pair near half the runs flips between seed
#: sets), of 30 runs at 0.95-0.99, of 50 no better (0.94-0.97).
CONSENSUS_RUNS = 30
#: Edges lighter than this share of ``campaign_resolution`` are left out of the grouping (0.0525 at
#: the default 0.35): a group's mean similarity moves by less than that. Dev ind_s3_11000 (1,098
#: clusters, 381,039 edges, median 0.0065): at 0.05 20,606 edges are left and the 30-run majority is
#: the full graph's (account ARI 1.000 with 2-pass runs), 0.3 s instead of 24 s; dev 224k s2 (9,871
#: clusters, 1.63M edges, the prompt kind projected as cycles past ``max_pairs``): 687,184 edges left.
EDGE_FLOOR = 0.15
#: Leiden passes per consensus run (igraph's default; the partition's own Leiden runs to convergence).
#: Dev 224k s2, one run on the floored graph: 1.0 s at 2 passes, 3.7 s to convergence; the majority of
#: 30 two-pass runs and that of 30 converged runs on the full graph agree at ARI 0.970 over accounts,
#: and on ind_s3_11000 they are the same groups (1.000).
CONSENSUS_ITERATIONS = 2
#: Edge-runs the consensus may spend: ``runs = CONSENSUS_EDGE_RUNS // edges`` (after the floor),
#: between :data:`MIN_CONSENSUS_RUNS` and :data:`CONSENSUS_RUNS`. Graphs of up to 200,000 edges left keep
#: all 30 runs (ind_s3_11000: 11,498); the dev 224k world (~687,000 edges) gets 8, 17 s at load ~6
#: against 22 s for one converged run on the unfloored graph (main's one run: 13.6 s in a detect at
#: load ~2) -- its majority agrees with a second seed set's at ARI 0.945 (one converged run: 0.917;
#: 30 two-pass runs: 0.978 at 52 s).
CONSENSUS_EDGE_RUNS = 6_000_000
#: Fewest runs a majority is taken over, however large the graph (a single run's groups moved with its
#: seed at ARI 0.80 on the dev 224k world).
MIN_CONSENSUS_RUNS = 5


def grouping_edges(edges: pl.DataFrame, resolution: float, floor: float = EDGE_FLOOR) -> pl.DataFrame:
    """The edges Leiden needs to see: at least ``floor x resolution``, between nodes that can group.

    A node none of whose edges reaches ``resolution`` is alone in every CPM optimum Leiden finds (joining a
    group of ``k`` nodes gains its summed similarity to them minus ``resolution x k``), so its edges go.

    Parameters
    ----------
    edges : DataFrame
        ``source, target, weight`` (node numbers, similarity).
    resolution : float
        The CPM resolution (``campaign_resolution``).
    floor : float
        :data:`EDGE_FLOOR`.

    Returns
    -------
    DataFrame
        The kept rows of ``edges``, in their order.

    Examples
    --------
    Node 3 reaches nobody at 0.35: its edge goes; the light edge 0-2 goes too.

    >>> e = pl.DataFrame({"source": [0, 0, 1, 2], "target": [1, 2, 2, 3], "weight": [0.9, 0.01, 0.5, 0.2]})
    >>> grouping_edges(e, 0.35).rows()
    [(0, 1, 0.9), (1, 2, 0.5)]
    """
    strong = edges.filter(pl.col("weight") >= resolution)
    can_group = pl.concat([strong["source"], strong["target"]]).unique().implode()
    return edges.filter((pl.col("weight") >= floor * resolution)
                        & pl.col("source").is_in(can_group) & pl.col("target").is_in(can_group))


def consensus_runs(n_edges: int) -> int:
    """Leiden runs for a graph of ``n_edges`` edges: :data:`CONSENSUS_EDGE_RUNS` // edges, between
    :data:`MIN_CONSENSUS_RUNS` and :data:`CONSENSUS_RUNS`.

    >>> consensus_runs(10_000), consensus_runs(687_184), consensus_runs(50_000_000)
    (30, 8, 5)
    """
    return int(min(CONSENSUS_RUNS, max(MIN_CONSENSUS_RUNS, CONSENSUS_EDGE_RUNS // max(n_edges, 1))))


def consensus_groups(edges: pl.DataFrame, n: int, config: CommunityConfig, runs: int | None = None) -> np.ndarray:
    """Groups of ``n`` nodes that Leiden (CPM at ``campaign_resolution``) puts together in most runs.

    Leiden runs on the edges :func:`grouping_edges` keeps, ``runs`` times on each connected component
    (seeded ``config.seed``, ``config.seed + 1``, ... alike in every component, so a component's groups
    depend on it alone), :data:`CONSENSUS_ITERATIONS` passes each; two nodes joined by a kept edge stay
    together when more than half of the runs group them, and the groups are the connected components of
    those edges, each joined from its nodes by average linkage over the runs (:func:`majority_groups`): a
    node a majority of runs groups with each of two groups does not join groups the runs keep apart.

    Parameters
    ----------
    edges : DataFrame
        ``source, target, weight`` (node numbers < ``n``, similarity), each pair once.
    n : int
        Nodes (clusters).
    config : CommunityConfig
        ``seed`` and ``campaign_resolution`` (CPM resolution).
    runs : int, optional
        Leiden runs; default :func:`consensus_runs` of the kept edges. 1 gives one run's grouping.

    Returns
    -------
    numpy.ndarray
        One group label (int) per node, ``n`` long.

    Notes
    -----
    The cluster similarity graph has no clear campaign boundary (on dev world ind_s3_11000 the median
    edge is 0.0065 and the 90th percentile 0.028 against a resolution of 0.35), so CPM has many near-equal
    optima: one run's seed alone moved the grouping (ARI 0.75-0.85 between seeds on one graph) and, with
    it, which tame cells inherit a flag. Edges kept by a majority are those most optima agree on; a pair
    split in a third of the runs is not a campaign the evidence fixes. Measured in BENCHMARKS.md
    (fourteenth and sixteenth passes).

    Examples
    --------
    Two tight pairs joined by a light edge: two groups; node 4 has no edge.

    >>> from graphlink.config import CommunityConfig
    >>> e = pl.DataFrame({"source": [0, 1, 2], "target": [1, 2, 3], "weight": [0.9, 0.1, 0.8]})
    >>> consensus_groups(e, 5, CommunityConfig()).tolist()
    [0, 0, 1, 1, 2]
    """
    import igraph as ig

    from graphlink.stages.communities import build_graph

    kept_edges = grouping_edges(edges, config.campaign_resolution)
    runs = consensus_runs(kept_edges.height) if runs is None else runs
    graph = build_graph(kept_edges, n)
    src, tgt = kept_edges["source"].to_numpy(), kept_edges["target"].to_numpy()
    together = np.zeros(src.size, dtype=np.int64)
    member = np.zeros(n, dtype=np.int64)
    # Each connected component on its own, seeded alike: Leiden draws one random visiting order over
    # all nodes, so a group added anywhere else would reshuffle this one's.
    parts = [(p, graph.subgraph(p)) for p in graph.connected_components() if len(p) > 1]
    members = np.zeros((runs, n), dtype=np.int64)
    try:
        for run in range(runs):
            for part, sub in parts:
                ig.set_random_number_generator(random.Random(config.seed + run))
                member[part] = np.asarray(sub.community_leiden(
                    objective_function="CPM", weights="weight", resolution=config.campaign_resolution,
                    n_iterations=CONSENSUS_ITERATIONS).membership) + part[0] * n
            together += member[src] == member[tgt]
            members[run] = member
    finally:
        ig.set_random_number_generator(random)
    keep = 2 * together > runs
    kept = ig.Graph(n=n, edges=np.column_stack([src[keep], tgt[keep]]).tolist())
    return majority_groups(np.asarray(kept.connected_components().membership), members, src[keep], tgt[keep])


def majority_groups(components: np.ndarray, members: np.ndarray, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """The components of the majority edges, joined only where most runs group their nodes together on average.

    Two nodes a majority of runs group together need not be grouped with each other's partners: node ``x``
    with group ``A`` in runs 1-3 of 5 and with ``B`` in runs 3-5 keeps an edge to each, and the connected
    components join ``A`` and ``B``, which one run in five put together. Few runs make such nodes common
    (the campaign graph of a 224,000-account log gets :data:`MIN_CONSENSUS_RUNS` runs), and large groups
    hold many of them: on dev independent 177 at 224,000 accounts with its accounts table, every run kept
    an operator's 9,700 accounts apart from the group of the other two, and 5,213 majority edges through
    small clusters between them made the three one campaign (ARI by operator 0.41 -> 0.006; session 48's
    grouping rules moved the edges enough for it). So the nodes of a component are joined as consensus
    clustering does (Monti, Tamayo, Mesirov & Golub 2003: average linkage on the share of runs grouping
    two nodes together): first the nodes every run groups alike, then along the majority edges from the
    most agreed, two groups joining when the runs group their node pairs together more than half the time
    on average. A component whose node pairs the runs agree on is kept whole.

    Parameters
    ----------
    components : ndarray of int, shape (n,)
        Connected components of the majority edges.
    members : ndarray of int, shape (runs, n)
        Each run's group label of every node (labels of nodes in different components never compared).
    src, tgt : ndarray of int
        The majority edges (node numbers).

    Returns
    -------
    ndarray of int, shape (n,)
        One group label per node; every group lies within one component.

    Examples
    --------
    Five runs over nodes 0-4: node 2 is with 0-1 in runs 0-2 and with 3-4 in runs 2-4; 0-1 and 3-4 are
    together in run 2 only. Its two majority edges make one component; the runs make two groups.

    >>> runs = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]])
    >>> majority_groups(np.zeros(5, dtype=int), runs, np.array([0, 1, 2, 2]), np.array([1, 2, 3, 4])).tolist()
    [0, 0, 0, 1, 1]
    """
    n_runs, n = members.shape
    if src.size == 0:
        return components
    # Atoms: nodes of one component that every run groups alike.
    _, atom = np.unique(np.vstack([components[None, :], members]).T, axis=0, return_inverse=True)
    atom = atom.ravel()
    a, b = np.minimum(atom[src], atom[tgt]), np.maximum(atom[src], atom[tgt])
    # One packed key per atom pair, in the order of (a, b), and the runs' agreement summed a run at a time: np.unique
    # over two columns (axis=0) and a (runs x pairs) gather hold several times the edges' memory (same result).
    n_atoms = int(atom.max()) + 1
    key = np.unique(a[a != b].astype(np.int64) * n_atoms + b[a != b])
    if key.size == 0:
        return components
    pairs = np.column_stack([key // n_atoms, key % n_atoms])
    first = np.full(n_atoms, n, dtype=np.int64)
    np.minimum.at(first, atom, np.arange(n))
    f0, f1 = first[pairs[:, 0]], first[pairs[:, 1]]
    agree = np.zeros(key.size, dtype=np.int64)
    for run in members:  # a run at a time
        agree += run[f0] == run[f1]
    # Ties broken by the atoms' first nodes, not their numbers: atoms are numbered by the runs' label values,
    # which are names (a relabelled run must group alike), and which of two equally agreed joins comes first
    # decides which is made.
    lo, hi = np.minimum(f0, f1), np.maximum(f0, f1)
    order = np.lexsort((hi, lo, -agree))
    size = np.bincount(atom).astype(np.int64)
    # Each group's nodes by (run, run label): the pairs two groups have together in a run are the products.
    mass = [{(r, int(members[r, first[x]])): int(size[x]) for r in range(n_runs)} for x in range(atom.max() + 1)]
    root = np.arange(atom.max() + 1)

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return int(x)

    nodes = size.copy()
    for x, y in pairs[order]:
        x, y = find(int(x)), find(int(y))
        if x == y:
            continue
        small, large = (mass[x], mass[y]) if len(mass[x]) <= len(mass[y]) else (mass[y], mass[x])
        together = sum(count * large.get(key, 0) for key, count in small.items())
        if 2 * together <= n_runs * nodes[x] * nodes[y]:
            continue
        for key, count in small.items():
            large[key] = large.get(key, 0) + count
        keep, gone = (y, x) if large is mass[y] else (x, y)
        root[gone], nodes[keep] = keep, nodes[keep] + nodes[gone]
        mass[gone] = {}
    labels = np.array([find(x) for x in range(atom.max() + 1)])[atom]
    return np.unique(labels, return_inverse=True)[1].ravel()
