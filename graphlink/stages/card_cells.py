"""Card cells: a flagged cluster whose card groups behave apart is parted into them, where the values binding it are a pool.

Why (issue 17, BENCHMARKS.md "Sixty-first pass (session 61, helper merge61)"): on the dev crowds worlds the ARI by
cell lost is almost all *merges*: several cells in one cluster (crowds1052: ARI by cell 0.706, 0.999 with the merges
undone). What merged them is a residential proxy pool several operators rent (crowds1052 cluster 5: nine cells of four
operators, 79 accounts on ~2,500 addresses of one pool, each address held by one to six of them). A pool is sprinkled
over its users: two accounts share pool addresses as often across two cells as inside one (a shared-address weight
of 0.2-1.0 per pair either way there), so the pool binds the cells as one block and says nothing of where one ends. What each
cell holds for itself: its **cards** (an account pays with one of its cell's cards), and how it **behaves** -- the
minutes it works in (a cell sending in bursts, on a cadence or in office hours works in the same minutes; a cell
beside it in other minutes), the phrases it writes (an operator's templates) and its own addresses (a cell on its own
exits). Sibling parts (:mod:`graphlink.stages.sibling_parts`) parts such a union by *when its accounts were opened*;
crowds cells opened over the same first day, or trickling in, run together there.

:func:`card_cell_moves` parts a flagged cluster:

1. **Units**: the members tied by a card (connected through shared cards inside the cluster): one cell's accounts
   pay with its cards, and a card is a cell's (sibling cells that share the operator's cards stay one unit: the
   opposite failure, a cell cut along its cards, cannot come from a unit). Members sharing no card are strays.
2. A kind is **apart** for two units when they share its values across, per pair of members, less than
   :data:`EXCHANGE` times the geometric mean of the rates at which each shares them inside, and that is not chance:
   were they one block, at least :data:`MIN_EXPECTED` shared values would be expected across. Under exchangeability
   -- one cell, whose members draw minutes, phrases and addresses alike -- the rate across equals that geometric
   mean whatever each member's volume (a heavy unit shares more inside, and as much more across). Two units **behave
   apart** (:func:`_verdict`, session 62) when two kinds are apart, or one while no other kind ties them, or when
   their clocks are apart and not one plan's. One kind apart is no proof: one cell's card groups may each keep a
   shift, fire at their own minutes past the hour, call from their card's country or run their own task, and still
   write one template (test_break_scoring's worker and task rings, brk61). What ties: a kind shared across as
   inside -- but not the pool (the addresses binding the cluster: a pool is shared across as inside by its premise,
   so its tie says nothing), and minutes only where the two meet beyond chance (more than ``1 / EXCHANGE`` times
   what independent clocks would: two uniform clocks tie nothing). What makes clocks apart not one plan's
   (:func:`_clock_verdicts`): they meet in at least :data:`EXCHANGE` times the minutes independent clocks would by
   chance (each unit's minutes spread over the :data:`DAY` of each day it works; a shift plan's shifts and a
   script's phases avoid each other and meet in far fewer), or they work on other days (under :data:`EXCHANGE` of
   one's minutes on days the other works: a cell's shifts work the days their cell works). Phrases are read only
   with the wording split on (:func:`card_kinds`). Units that behave apart on nothing are **tied**; the most
   exchangeable tied pair is merged, the rates counted again, until no pair is tied (as sibling parts merges its
   bursts). So card groups of one cell, which work in the same minutes, write the same templates and draw on the
   same pool, stay one; a cell's card groups on a uniform clock and a sibling's on the same are tied too (nothing
   tells them apart; left merged).
3. Merged units of at least ``min_part`` members are **parts**; smaller units and strays join the part whose
   evidence they share most, per kind against its inside rate (:func:`_affinity`), else the largest. A cluster with
   fewer than two parts stays whole.

Only flagged clusters are parted, after the judgement, as sibling parts (and after them, on their parts): each part
keeps the judgement and campaign of the cluster it was part of (:func:`graphlink.stages.sibling_parts.carry_parts`),
so no flag and no campaign changes by construction. Clusters over :data:`MAX_MEMBERS` are not examined (a bound on
the work). Reads no constant of a simulator: card sharing, and rates compared with each other.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.block_pieces import EXCHANGE

__all__ = ["DAY", "EVIDENCE", "EXCHANGE", "MAX_MEMBERS", "MIN_EXPECTED", "card_cell_moves", "card_kinds", "card_note", "card_parts"]

#: A part's why after "parted into N" (:func:`graphlink.stages.sibling_parts.carry_parts`).
card_note = (" by its card groups: groups paying with cards of their own that work on clocks of their own, write other phrases or"
             " call from other addresses than each other, while the addresses they share are shared across as inside (card cells)")

#: The kinds whose shared values tell whether two card units behave as one cell: exact addresses (a cell's own exits;
#: a pool is exchangeable and ties), prompt phrases (an operator's templates) and active minutes (read from the
#: minute counts, not a kind of the projection). ``ip_net`` is left out: a /24 of a pool is shared by its renters as
#: by one cell (block_pieces' reason), and it repeats the exact addresses.
EVIDENCE = ("ip", "prompt")
#: Two units behave apart on a kind only when, were they one block, this many shared values would be expected across
#: them: fewer than a quarter of five (one at most) is seen by chance with probability ~0.04 (Poisson); fewer
#: expected and chance alone may leave two small card groups of one cell without a minute or phrase in common.
MIN_EXPECTED = 5.0
#: Clusters with more members are not examined: the unit-by-unit counts are dense. A bound on the work (as wording
#: cells' MAX_MEMBERS), not a rule of the data.
MAX_MEMBERS = 4_000
#: Minutes in a day: independent clocks are compared day by day (a unit's minutes spread evenly over each day it
#: works), so two units working on other days meet by chance in no minute and their clocks tell nothing.
DAY = 1_440


def card_kinds(wording: bool) -> tuple[str, ...]:
    """The evidence kinds card cells reads: :data:`EVIDENCE`, without the phrases when the wording split is off (the
    switch that says whether a cluster's templates may tell its cells apart: off, one operator's card groups each on
    its own task template are one cell, as the wording split would leave them -- test_break_scoring's task ring).

    Parameters
    ----------
    wording : bool
        ``[communities] wording_cells``.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> card_kinds(True), card_kinds(False)
    (('ip', 'prompt'), ('ip',))
    """
    return EVIDENCE if wording else tuple(k for k in EVIDENCE if k != "prompt")


def _units(cards: list[np.ndarray]) -> np.ndarray:
    """Label members by the card components among them (members sharing no card: a unit each), numbered in order of
    each component's first member (scipy's connected components of the members x cards incidence)."""
    from scipy.sparse.csgraph import connected_components

    m = _matrix(cards)
    return connected_components(m @ m.T, directed=False)[1].astype(np.int64)


def _matrix(rows: list[np.ndarray]):
    """Members x values 0/1 sparse matrix from each member's held values."""
    from scipy.sparse import csr_matrix

    held = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    _, col = np.unique(held, return_inverse=True)
    return csr_matrix((np.ones(len(held)), (owner, col)), shape=(len(rows), int(col.max()) + 1 if len(col) else 0))


def _day_of_columns(rows: list[np.ndarray]) -> np.ndarray:
    """The day (minute // :data:`DAY`) of each column of :func:`_matrix` over the same rows (columns: sorted values)."""
    held = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    values = np.unique(held)
    day = values // DAY
    return np.unique(day, return_inverse=True)[1].astype(np.int64)


def _apart(pairs: np.ndarray, sizes: np.ndarray, self_pairs: np.ndarray, exchange: float,
           expected: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(apart, ratio, told): units behaving apart on one kind; across / (geometric mean inside) per pair of units;
    pairs on which the kind has evidence enough to tell (``expected`` shared values expected across).

    ``pairs`` (k, k): shared-value pairs between units (diagonal: ordered pairs inside, self-pairs included);
    ``self_pairs`` (k,): values held per unit (the diagonal's self-pairs)."""
    inside = (np.diag(pairs) - self_pairs) / np.maximum(sizes * (sizes - 1), 1)
    geo = np.sqrt(np.outer(inside, inside))
    wanted = geo * np.outer(sizes, sizes)  # shared values expected across were the two one block
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(geo > 0, pairs / np.maximum(wanted, 1e-300), np.inf)
    told = wanted >= expected
    apart = told & (pairs < exchange * wanted)
    np.fill_diagonal(apart, False)
    return apart, ratio, told


def _chance(days: np.ndarray) -> np.ndarray:
    """Shared minutes two units would meet in by chance were their clocks independent: per pair, the sum over days of
    the product of their member-minutes that day over the minutes of a day (each unit's minutes spread evenly over the
    days it works; ``days``: units x days, member-minutes)."""
    return days @ days.T / DAY


def _clock_verdicts(pairs: np.ndarray, days: np.ndarray, exchange: float, expected: float) -> tuple[np.ndarray, np.ndarray]:
    """(not one plan, beyond chance) per pair of units, from their shared minutes and member-minutes per day.

    Not one plan: the two meet in at least ``exchange`` times the minutes independent clocks would by chance (chance
    telling: ``expected`` minutes at least), or they work on other days -- under ``exchange`` of one's minutes fall on
    days the other works (a shift plan's shifts work the days their cell works). Beyond chance: they meet in more than
    ``1 / exchange`` times what chance gives (a clock they keep together, not two uniform ones)."""
    chance = _chance(days)
    independent = (chance >= expected) & (pairs >= exchange * chance)
    works = (days > 0).astype(float)
    on = days @ works.T / np.maximum(days.sum(axis=1), 1e-300)[:, None]  # [i, j]: share of i's minutes on j's days
    other_days = (on < exchange) | (on.T < exchange)
    beyond = pairs * exchange > chance
    out = independent | other_days
    np.fill_diagonal(out, False)
    return out, beyond


def _verdict(verdicts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], pool: int | None, clock: int | None,
             clocks: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Pairs of units that part (step 2 of the module docstring) from each kind's (apart, ratio, told).

    A pair parts when two kinds are apart, or one while no kind ties it -- the pool's tie is no vote (a pool is
    shared across as inside by its premise) and the clock ties only where the two meet beyond chance (``clocks[1]``:
    uniform clocks tie nothing) -- or when it is apart on the clock and the clocks are not one plan's (``clocks[0]``:
    independent, or on other days)."""
    k = verdicts[0][0].shape[0]
    apart = np.add.reduce([v[0].astype(int) for v in verdicts])
    ties = [v[2] & ~v[0] for i, v in enumerate(verdicts) if i not in (pool, clock)]
    if clock is not None and clocks is not None:
        ties.append(verdicts[clock][2] & ~verdicts[clock][0] & clocks[1])
    tied = np.logical_or.reduce(ties) if ties else np.zeros((k, k), dtype=bool)
    out = (apart >= 2) | ((apart == 1) & ~tied)
    if clock is not None and clocks is not None:
        out |= verdicts[clock][0] & clocks[0]
    return out


def card_parts(cards: list[np.ndarray], evidence: list[list[np.ndarray]], min_part: int, exchange: float = EXCHANGE,
               expected: float = MIN_EXPECTED, pool: int | None = 0, clock: int | None = -1) -> np.ndarray | None:
    """One cluster's parts (labels ``0 .. k - 1`` for every member), or None when it stays whole (module docstring).

    Parameters
    ----------
    cards : list of ndarray of int
        Each member's cards.
    evidence : list of (list of ndarray of int)
        Per evidence kind, each member's values (minutes, phrases, addresses: any integer ids).
    min_part : int
        The fewest members a part holds.
    exchange, expected : float
        :data:`EXCHANGE`, :data:`MIN_EXPECTED`.
    pool : int or None
        Which of ``evidence`` holds the addresses that bind the cluster (the pipeline's first kind, ``ip``): two units
        apart on them are on exits of their own, no pool binds them, and card cells does not part them. None: no
        kind binds.
    clock : int or None
        Which of ``evidence`` holds the minutes (minutes since the epoch; the pipeline's last kind): units apart on
        the clock alone, while another kind (not the pool) ties them, are one plan's shifts, unless their clocks meet
        as often as independent clocks would by chance. None (or the pool's index, or a single kind): no clock.

    Returns
    -------
    ndarray of int64 or None

    Examples
    --------
    Two cells of 6 on one pool (every member holds two of the same eight addresses at random), each paying with a
    card of its own, each working in its own minutes: two parts. The same with one clock for all: one cell's two
    card groups, whole. The same two groups writing one template (phrases shared across as inside): their minutes
    are one kind against two, a shift plan's by all they show -- whole.

    >>> rng = np.random.default_rng(0)
    >>> cards = [np.array([i // 6]) for i in range(12)]
    >>> pool = [rng.choice(8, 2, replace=False) for _ in range(12)]
    >>> own = [np.arange(10) + 100 * (i // 6) for i in range(12)]
    >>> card_parts(cards, [pool, own], 5).tolist()
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    >>> card_parts(cards, [pool, [np.arange(10)] * 12], 5) is None
    True
    >>> card_parts(cards, [pool, [np.arange(10)] * 12, own], 5) is None
    True
    """
    n = len(cards)
    unit = _units(cards)
    k = int(unit.max()) + 1 if n else 0
    sizes = np.bincount(unit, minlength=k).astype(float)
    grouped = np.flatnonzero(sizes >= 2)  # card groups; strays (no card shared) are placed after
    if len(grouped) < 2:
        return None
    from scipy.sparse import csr_matrix

    mats = [_matrix(rows) for rows in evidence]
    at = np.flatnonzero(sizes[unit] >= 2)
    remap = np.full(k, -1, dtype=np.int64)
    remap[grouped] = np.arange(len(grouped))
    label = remap[unit]
    g = len(grouped)
    onehot = csr_matrix((np.ones(len(at)), (label[at], at)), shape=(g, n))
    counts = [onehot @ m for m in mats]  # units x values
    pairs = [np.asarray((c @ c.T).todense(), dtype=float) for c in counts]
    held = [np.asarray(c.sum(axis=1)).ravel() for c in counts]
    size = sizes[grouped].copy()
    members = [[int(u)] for u in range(g)]  # unit ids merged into each row
    pool = None if pool is None else pool % len(evidence)
    clock = None if clock is None or len(evidence) < 2 else clock % len(evidence)
    clock = None if clock == pool else clock
    days = None
    if clock is not None:  # units x days: member-minutes per day (the chance two independent clocks meet)
        col_day = _day_of_columns(evidence[clock])
        dm = csr_matrix((np.ones(len(col_day)), (np.arange(len(col_day)), col_day)),
                        shape=(len(col_day), int(col_day.max()) + 1 if len(col_day) else 0))
        days = np.asarray((counts[clock] @ dm).todense(), dtype=float)
    while len(size) >= 2:
        verdicts = [_apart(p, size, h, exchange, expected) for p, h in zip(pairs, held)]
        apart = _verdict(verdicts, pool, clock, None if days is None else _clock_verdicts(pairs[clock], days, exchange, expected))
        np.fill_diagonal(apart, False)
        # The pair whose least exchangeable kind, among those with evidence enough, is most exchangeable merges
        # first; pairs with no such kind merge last (nothing says they are one: merged first, they would carry
        # one side's members into the other's rates).
        told = [v[2] for v in verdicts]
        score = np.minimum.reduce([np.where(t, np.minimum(v[1], 1.0), np.inf) for v, t in zip(verdicts, told)])
        score = np.where(np.isinf(score), 0.0, score)
        score = np.where(apart, -1.0, score)
        np.fill_diagonal(score, -1.0)
        i, j = sorted(np.unravel_index(int(np.argmax(score)), score.shape))
        if score[i, j] < 0:
            break
        for p in pairs:
            p[i, :] += p[j, :]
            p[:, i] += p[:, j]
        pairs = [np.delete(np.delete(p, j, axis=0), j, axis=1) for p in pairs]
        held = [np.delete(np.r_[h[:i], h[i] + h[j], h[i + 1:]], j) for h in held]
        if days is not None:
            days[i] += days[j]
            days = np.delete(days, j, axis=0)
        size = np.delete(np.r_[size[:i], size[i] + size[j], size[i + 1:]], j)
        members[i] += members.pop(j)
    keep = np.flatnonzero(size >= min_part)
    if len(keep) < 2:
        return None
    keep = keep[np.argsort(-size[keep], kind="stable")]  # the largest first: ties in affinity go to it
    part_of_unit = np.full(g, -1, dtype=np.int64)
    for p, row in enumerate(keep):
        part_of_unit[members[row]] = p
    out = np.full(n, -1, dtype=np.int64)
    out[at] = part_of_unit[label[at]]
    rest = np.flatnonzero(out < 0)
    if len(rest):
        out[rest] = _affinity(out, rest, mats, len(keep))
    return out


def _affinity(label: np.ndarray, rest: np.ndarray, mats: list, k: int) -> np.ndarray:
    """The part each of ``rest`` shares its evidence with most: per kind, its shared values per member of the part
    against the part's rate inside (capped at 1: as much as a member), multiplied over kinds; ties to the largest."""
    from scipy.sparse import csr_matrix

    placed = np.flatnonzero(label >= 0)
    onehot = csr_matrix((np.ones(len(placed)), (label[placed], placed)), shape=(k, len(label)))
    sizes = np.bincount(label[placed], minlength=k).astype(float)
    score = np.ones((len(rest), k))
    for m in mats:
        c = onehot @ m
        pairs = np.asarray((c @ c.T).todense(), dtype=float)
        inside = (np.diag(pairs) - np.asarray(c.sum(axis=1)).ravel()) / np.maximum(sizes * (sizes - 1), 1)
        shared = np.asarray((m[rest] @ c.T).todense(), dtype=float) / sizes[None, :]
        score *= np.where(inside[None, :] > 0, np.minimum(shared / np.maximum(inside[None, :], 1e-300), 1.0), 1.0)
    return np.argmax(score, axis=1)


def card_cell_moves(clusters: pl.DataFrame, partition: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                    minutes: pl.DataFrame | None, min_part: int, exchange: float = EXCHANGE,
                    expected: float = MIN_EXPECTED, kinds: tuple[str, ...] = EVIDENCE) -> pl.DataFrame:
    """Members of flagged clusters to move into new clusters: the parts their card cells make (module docstring).

    Parameters
    ----------
    clusters : DataFrame
        ``cluster_id, flagged`` (judged; other columns ignored).
    partition : DataFrame
        ``account_idx`` (UInt32), ``cluster_id`` (Int64; null: in no cluster).
    affiliations : DataFrame
        ``account_idx, signal_idx``: the clustered accounts' memberships.
    signals : DataFrame
        ``signal_idx, kind``.
    minutes : DataFrame or None
        ``account_idx, key`` (any other columns ignored): the minutes each clustered account was active in
        (:func:`graphlink.stages.drilldown.account_minutes`); None: no timestamps, minutes are no evidence.
    min_part : int
        The fewest members a part holds (the pipeline passes ``min_flag_size``).
    exchange, expected : float
        :data:`EXCHANGE`, :data:`MIN_EXPECTED`.
    kinds : tuple of str
        :data:`EVIDENCE`.

    Returns
    -------
    DataFrame
        ``account_idx`` (UInt32), ``to`` (Int64, a new id above every cluster id): the members of every part but the
        largest of each parted cluster; empty when nothing is parted.
    """
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "to": pl.Int64})
    if "flagged" not in clusters.columns or partition.drop_nulls("cluster_id").is_empty():
        return empty
    flagged = clusters.filter("flagged").select(pl.col("cluster_id").cast(pl.Int64))
    members = (partition.drop_nulls("cluster_id").with_columns(pl.col("cluster_id").cast(pl.Int64)).join(flagged, on="cluster_id")
               .filter(pl.len().over("cluster_id").is_between(2 * min_part, MAX_MEMBERS)).select("account_idx", "cluster_id"))
    if members.is_empty():
        return empty
    kind_of = signals.select("signal_idx", "kind")
    held = affiliations.select("account_idx", "signal_idx").join(members.select("account_idx"), on="account_idx").join(kind_of, on="signal_idx")
    tables = [("payment", held.filter(pl.col("kind") == "payment").select("account_idx", pl.col("signal_idx").cast(pl.Int64).alias("v")))]
    tables += [(k, held.filter(pl.col("kind") == k).select("account_idx", pl.col("signal_idx").cast(pl.Int64).alias("v"))) for k in kinds]
    if minutes is not None and not minutes.is_empty():
        tables.append(("minute", minutes.join(members.select("account_idx"), on="account_idx").select("account_idx", pl.col("key").cast(pl.Int64).alias("v"))))
    for name, t in tables:
        members = members.join(t.group_by("account_idx").agg(pl.col("v").alias(name)), on="account_idx", how="left")
    members = members.sort("cluster_id", "account_idx")
    names = [name for name, _ in tables]
    clock = names.index("minute") - 1 if "minute" in names else None  # evidence index (cards are column 0)
    pool = names.index("ip") - 1 if "ip" in names else None
    next_id = int(partition["cluster_id"].max() or 0) + 1
    out = []
    for (_,), group in members.group_by("cluster_id", maintain_order=True):
        cols = [[np.asarray(v if v is not None else [], dtype=np.int64) for v in group[name].to_list()] for name in names]
        label = card_parts(cols[0], cols[1:], min_part, exchange, expected, pool=pool, clock=clock)
        if label is None:
            continue
        ids = group["account_idx"].to_numpy()
        for part in range(1, int(label.max()) + 1):  # part 0 is the largest: it keeps the cluster's id
            at = label == part
            out.append(pl.DataFrame({"account_idx": ids[at], "to": np.full(int(at.sum()), next_id, dtype=np.int64)},
                                    schema={"account_idx": pl.UInt32, "to": pl.Int64}))
            next_id += 1
    return pl.concat(out).sort("account_idx") if out else empty
