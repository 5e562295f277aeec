"""Expand: rank the accounts most strongly tied to a few seed accounts.

The ranking is a random walk with restart (personalised PageRank) over the
weighted account graph that detect partitioned (``links.parquet``): a walker
starts at a seed, at each step follows an edge with probability proportional
to its weight, and with probability ``restart`` jumps back to a seed (chosen
uniformly). The stationary visit probability ``p(v)`` is how strongly ``v`` is
tied to the seeds through every path, not only the direct ones (Page, Brin,
Motwani & Winograd 1999, "The PageRank citation ranking"; Haveliwala 2002,
"Topic-sensitive PageRank", for the personalised restart vector; Tong,
Faloutsos & Pan 2006, "Fast random walk with restart and its applications",
for its use as a proximity between nodes). igraph's PRPACK solver computes
it exactly (no sampling, so no seed is needed: the result is deterministic).

Seed consensus
--------------
An operator's cells share its proxy pool, templates and often cards, and the
projected graph blurs which value ties whom, so a cell inside such a block
drew its siblings in. What its seeds all have is the cell's own evidence
(registration burst, card, addresses). Accounts are ordered first by their
*seed-consensus evidence*: the summed rarity weight (``linking.parquet``'s
``weight``) of the values they share with **every** seed, times the share of
those values they hold, then by the walk:
"common neighbours" (Liben-Nowell & Kleinberg 2007, "The link-prediction
problem for social networks") over the bipartite account-value graph,
rarity-weighted as in Adamic & Adar 2003 ("Friends and neighbors on the
Web"), required of the whole seed set (a set-expansion query: Ghahramani &
Heller 2005, "Bayesian sets", count a feature by how consistently the query
items share it). A value counts only if every seed holding it by chance is unlikely
(:data:`graphlink.stages.consensus.MAX_CHANCE`: a popular client all seeds use is no evidence). Creation hours
count as the seeds' *span*: a batch registered over several hours puts each seed in another hour, and the batch
is the hours from the earliest seed's to the latest's, widened by the expected overshoot of three draws
(:func:`consensus_values`). Seeds sharing no such value are ordered by the walk alone; a single seed by the visit
probability ``p(v)`` first (below: ``p / d`` ranks an account tied to the seed alone, a VPN user on one of its
exits, ahead of the seed's cell). An account the walk never reaches is not listed (a value every seed has that
links no one, a client or a creation hour, is no tie on its own) unless the seeds have no link at all.

Dev worlds (mixed 1000-1004, 85 cells, 3 seeds, ``benchmarks/pivot.py``'s draw), cells at recall and
precision >= 0.9: 53 before, 54 with this order and the old cut, 56 with the new cut (below) alone, 59 with
both; 66 with the span, the reach rule and the end of the evidence as a boundary (mixed 1005-1009, 201
cells: 142 -> 165). Worse: a walk on the bipartite graph (25-42: ``linking.parquet`` lacks templates and
clocks), consensus of 2 of 3 seeds (56), an evidence-weighted restart vector (43-53), restart 0.05-0.5
(53); the span without widening (62 with the other two changes); no evidence drop inside the evidence (66, 160).

Where the ring ends
-------------------
Without consensus evidence, accounts are ordered by ``p(v) / d(v)`` (``d``: the account's summed link
weight), the degree-normalised score of Andersen, Chung & Lang 2006 ("Local graph partitioning using
PageRank vectors"). The listed set is the prefix of the order at the first local minimum of *conductance*
(link weight leaving the set over the set's link weight) that is tight enough (:data:`MAX_CONDUCTANCE`) or
that the ordering key itself marks as a boundary: the next account's evidence (or, without evidence, its
visit rate) is at least :data:`MIN_DROP` times lower. The last account that shares values with every seed
ends the list whether or not conductance has a minimum there: a small cell inside its operator's block sends
half its link weight to its siblings (more than it keeps), so no prefix around it is tight and the first
tight set was the whole block (the cost: a cell Leiden found whole whose seeds share a value only part of it
has, e.g. one of its cards, is cut to that part; 2 of 85 dev cells, 5 of 201). Where that part is most of
the seeds' own Leiden cluster and the cluster is coherent, the cluster completes the list
(:func:`graphlink.stages.seed_cluster.complete_cluster`; dev cells 231 -> 234 of 286; a second round of
consensus, values most of the evidence set holds, found 229; the evidence drop or the walk's rate as a
boundary past the evidence, 223 and 186-193). The evidence also ends where it falls (:data:`TIER_DROP`) to
accounts whose rarest shared value many more accounts hold than are listed: a client an operator's whole
fleet uses under the cell's own burst (234 -> 240). The cluster does not complete the list when the list and
the rest are two blocks, each tied within more than twice as densely per pair as across
(:data:`graphlink.stages.seed_cluster.MIN_TIE`: the rest is a sibling cell Leiden merged), and each
account's evidence is scaled by the share of the seeds' common values it holds (one fleet client without the
seeds' burst or card is a sibling's): dev mixed 1000-1009 240 -> 243 of 286, 1010-1019 258 -> 259 of 328.
Seeds sharing no value fall back to the cards any seed holds (:func:`card_evidence`); seeds that keep a
clock (a scripted cell's bursts) have the list held to it (:func:`graphlink.stages.seed_clock.apply_clock`).
Dev mixed 1000-1019: 502 -> 525 of 614 cells. Then the same per minute (a burst is a minute wide): seeds
each tied beyond chance to the other seeds' minutes hold the list to them (``minutes.parquet``,
:func:`graphlink.stages.seed_minutes.apply_minute_clock`): 525 -> 545 of 614, no cell lost. Seeds whose
common values include an address (one of a cell's several, like a card) have their list completed from a
tenth of their cluster, not a majority (:data:`graphlink.stages.seed_cluster.PARTIAL_KINDS`): 549 -> 554 of
614, none lost. Last, seeds that share prompt templates drop listed accounts sending none of them (another
operator's cells on a shared pool; ``templates.parquet``,
:func:`graphlink.stages.seed_templates.apply_templates`), then accounts running none of the clients every
seed runs (:func:`graphlink.stages.seed_clients.apply_clients`); and the evidence ends where it falls to
half the seeds' best into accounts outside their cluster
(:func:`graphlink.stages.seed_cluster.outside_seed_cluster`): 558 -> 566 of 614. Seeds registered in a batch
share all of it (:func:`consensus_values`), their cluster's members of the batch join and accounts
registered a day or more from it leave (:mod:`graphlink.stages.seed_batch`): 569 -> 578. The holders of the
narrowest address every seed used join across clusters, reached by the walk or not, when the list holds half
of them (a /24 or /48 adds only holders with another of the seeds' values or in a cluster of its holders:
:mod:`graphlink.stages.seed_ties`), and the seeds' cluster joins the minute clock at 0.2: 578 -> 585. The
result is the seeds' ring as the data draws it, however large, not the chain of rings a few stray links tie it to.

Output schema
-------------
:func:`rank_accounts` returns :data:`graphlink.contract.EXPAND_SCHEMA`:
``account_id, rank`` (0 for the seeds, then 1, 2, ...), ``score``: unitless, in [0, 1], **relative to this one
ranking** (normalised to its best listed account: not comparable across runs, seed sets or options; no probability):
seeds 1.0; in (0.5, 1] an account holding the seeds' evidence (values every seed shares, or failing those a seed's
card), ``0.5 + 0.5 x`` its evidence over the best listed account's; in [0, 0.5] one tied through the graph (or the
seeds' clock) only, ``0.5 x`` its visit rate (one seed: probability) over the best such's; never above the score
before it (one seed: <= 0.5).
``cluster_id``, ``campaign_id`` (null when unclustered) and ``why``: the
values it shares with every seed, else the strongest it shares with a seed
(kind, value, how many accounts of the run have it), or, tied to the seeds
only through others, with the best-ranked account it shares one with; an
account that fits the seeds' clock adds "active in the seeds' hours (N% of
its events)", one tied to their minutes "active within a minute of the seeds
(N% of its events)".
"""

from __future__ import annotations

import numbers

import numpy as np
import polars as pl

from graphlink.contract import EXPAND_SCHEMA
from graphlink.errors import GraphlinkError
from graphlink.stages.consensus import MIN_CONSENSUS_SEEDS, card_evidence, consensus_values, seed_consensus
from graphlink.stages.expand_reasons import tie_reasons
from graphlink.stages.seed_batch import fill_batch, hold_to_batch
from graphlink.stages.seed_clock import apply_clock, clock_reasons
from graphlink.stages.seed_cluster import (CARD_CLUSTER_SHARE, complete_cluster, complete_reach,
                                          outside_seed_cluster, partial_evidence)
from graphlink.stages.seed_clients import apply_clients
from graphlink.stages.seed_minutes import apply_minute_clock
from graphlink.stages.seed_templates import apply_templates
from graphlink.stages.seed_ties import cluster_stopped, fill_own, own_reasons, own_value_holders

__all__ = ["DEFAULT_RESTART", "personalised_pagerank", "consensus_values", "seed_consensus", "sweep_cut",
           "complete_cluster", "card_evidence", "rank_accounts", "tie_reasons"]

#: Probability of jumping back to a seed at each step. Tong et al. (2006) use 0.1-0.2 for
#: proximity on social graphs; a ring is a dense block one or two hops from its seeds, and
#: 0.25 keeps 3/4 of the mass within two hops of the seeds, so a neighbouring ring reached
#: through one stray link gets little. Lower values reach further (larger, looser results).
DEFAULT_RESTART = 0.25
#: Accounts with a visit probability below this share of the seeds' total are not listed unless
#: they share evidence with every seed: they are beyond the walk's reach (numerical dust of the solver).
MIN_PROBABILITY = 1e-7
#: A set of accounts is a ring's boundary when at most this share of its link weight leaves it.
#: On the dev worlds a cell's boundary shows as a local minimum of a few per cent (3 % for a
#: 10-account cell of mixed world 1000); 0.25 accepts a ring whose members also talk to a few
#: outsiders, not a fragment of a larger block (half its weight leaving). Without such a minimum
#: the first local minimum is taken, however loose.
MAX_CONDUCTANCE = 0.25
#: A local minimum must be lower than the next this many prefixes (one more account is noise).
LOCAL_WINDOW = 3
#: A local minimum of conductance above :data:`MAX_CONDUCTANCE` still ends the list when the
#: ordering key drops this many times from the last listed account to the next (evidence shared
#: with every seed, or the walk's visit rate). Dev worlds (before the span and the evidence's end
#: as a boundary): 2, 3 and 5 find the same cells (59 of 85), 10 one fewer; with
#: ``MAX_CONDUCTANCE`` 0.15 59, 0.4 58.
MIN_DROP = 5.0
#: The evidence also ends where it falls at least this many times (it halves) and the next
#: account's rarest shared value is held by :data:`MIN_DROP` times as many accounts as are listed
#: (:func:`sweep_cut`). Dev worlds (mixed 1000-1009, 286 cells, with the cluster completion):
#: 234 cells without the rule, any fall 233, 1.5 and 2 240, 3 239.
TIER_DROP = 2.0


def personalised_pagerank(links: pl.DataFrame, seeds: list[str], restart: float = DEFAULT_RESTART,
                          ) -> pl.DataFrame:
    """Visit probability of a random walk restarting at ``seeds``.

    Parameters
    ----------
    links : DataFrame
        ``source, target, weight`` (``links.parquet``; undirected, weight > 0).
    seeds : list of str
        Account ids the walk restarts at, uniformly.
    restart : float
        Restart probability in (0, 1); igraph's ``damping`` is ``1 - restart``.

    Returns
    -------
    DataFrame
        ``account_id, p, degree`` (``p`` sums to 1, ``degree`` the summed link
        weight), one row per account of ``links`` or ``seeds`` with ``p`` > 0,
        shape (n, 3).

    Raises
    ------
    GraphlinkError
        ``restart`` outside (0, 1) or no seeds.

    Examples
    --------
    >>> links = pl.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"], "weight": [1.0, 1.0, 0.1]})
    >>> ppr = personalised_pagerank(links, ["a"], restart=0.5).sort("p", descending=True)
    >>> ppr["account_id"].to_list()
    ['a', 'b', 'c', 'd']
    """
    import igraph as ig  # here, not at import: the command line loads this module for its defaults

    if not 0 < restart < 1:
        raise GraphlinkError(f"restart must be between 0 and 1 (exclusive), got {restart!r}")
    if not seeds:
        raise GraphlinkError("no seed accounts given")
    names = pl.concat([links["source"], links["target"], pl.Series(seeds, dtype=pl.String)]).unique().sort()
    ids = pl.DataFrame({"account_id": names}).with_row_index("idx")
    coded = (links.join(ids.rename({"account_id": "source", "idx": "s"}), on="source")
             .join(ids.rename({"account_id": "target", "idx": "t"}), on="target"))
    graph = ig.Graph(n=ids.height, edges=list(zip(coded["s"].to_list(), coded["t"].to_list())), directed=False)
    weights = coded["weight"].to_list()
    reset = ids.filter(pl.col("account_id").is_in(pl.Series(seeds).implode()))["idx"].to_list()
    p = np.asarray(graph.personalized_pagerank(damping=1 - restart, reset_vertices=reset, weights=weights,
                                               directed=False), dtype=float)
    degree = np.asarray(graph.strength(weights=weights), dtype=float) if weights else np.zeros(ids.height)
    return ids.with_columns(pl.Series("p", p), pl.Series("degree", degree)).filter(pl.col("p") > 0).drop("idx")


def sweep_cut(order: pl.DataFrame, links: pl.DataFrame, min_size: int = 1,
              max_conductance: float = MAX_CONDUCTANCE, min_drop: float = MIN_DROP,
              tier_drop: float = TIER_DROP) -> int:
    """Length of the first prefix of ``order`` at a local minimum of conductance (Andersen, Chung & Lang 2006).

    Parameters
    ----------
    order : DataFrame
        ``account_id, degree`` in sweep order (best-tied first), optionally
        ``evidence`` and ``rate`` (the ordering key: seed-consensus evidence,
        then visit rate) and ``specific`` (how many accounts of the run hold
        the rarest value behind the evidence), shape (n, 2, 4 or 5).
    links : DataFrame
        ``source, target, weight``.
    min_size : int
        Shortest prefix considered (the seeds).
    max_conductance : float
        A local minimum counts if at most this share of the set's link
        weight leaves it (:data:`MAX_CONDUCTANCE`) ...
    min_drop : float
        ... or if the ordering key drops at least this many times to the next
        account (:data:`MIN_DROP`; needs ``evidence`` and ``rate``): the next
        evidence is that much lower, the next account has no evidence while
        the last listed had some, or neither has any and the next visit rate is
        that much lower. The seeds' own keys are not compared.
    tier_drop : float
        With ``specific``: the evidence also ends where it falls at least this
        many times (:data:`TIER_DROP`) to an account whose rarest value is held
        by at least ``min_drop`` times as many accounts as the prefix holds, or,
        with a boolean ``outside`` column in ``order`` (the account is not in the seeds' common
        Leiden cluster), to an account outside it holding ``1 / tier_drop`` of the best evidence or less.

    Returns
    -------
    int
        The prefix length: the first prefix (from ``min_size`` on) whose
        conductance is lower than the next :data:`LOCAL_WINDOW` prefixes' and
        that is tight enough or followed by a drop, or that ends with the
        last account with ``evidence`` (minimum or not: past the evidence
        every seed shares, only links the siblings share too) or before such a
        fall into broad evidence (an operator's fleet-wide client); without one,
        the first local minimum, however loose; without any, every account.

    Examples
    --------
    A triangle joined by a weak link to a block of five: the triangle is the first tight set.

    >>> block = [("d", "e"), ("d", "f"), ("d", "g"), ("e", "f"), ("e", "h"), ("f", "g"), ("g", "h"), ("f", "h")]
    >>> pairs = [("a", "b"), ("a", "c"), ("b", "c"), ("c", "d"), *block]
    >>> links = pl.DataFrame({"source": [p[0] for p in pairs], "target": [p[1] for p in pairs],
    ...                       "weight": [1.0, 1.0, 1.0, 0.1] + [1.0] * len(block)})
    >>> degree = pl.concat([links.select(pl.col("source").alias("account_id"), "weight"),
    ...                     links.select(pl.col("target").alias("account_id"), "weight")]).group_by(
    ...     "account_id").agg(pl.col("weight").sum().alias("degree")).sort("account_id")
    >>> sweep_cut(degree, links)
    3
    """
    pos = order.select("account_id").with_row_index("pos")
    # An edge becomes internal when its later end joins the prefix.
    internal = (links.join(pos.rename({"account_id": "source", "pos": "ps"}), on="source")
                .join(pos.rename({"account_id": "target", "pos": "pt"}), on="target")
                .group_by(pl.max_horizontal("ps", "pt").alias("pos")).agg(pl.col("weight").sum()))
    prefix = (pos.join(internal, on="pos", how="left").sort("pos")
              .with_columns(pl.Series("degree", order["degree"]))
              .with_columns(pl.col("degree").cum_sum().alias("vol"), pl.col("weight").fill_null(0).cum_sum().alias("inner"))
              .with_columns((pl.col("vol") - 2 * pl.col("inner")).alias("cut"))
              .with_columns((pl.col("cut") / pl.col("vol")).alias("phi")))
    phi = pl.when(pl.col("phi").is_finite()).then("phi").otherwise(
        pl.when(pl.col("cut") <= 0).then(0.0).otherwise(float("inf")))
    if {"evidence", "rate"} <= set(order.columns):
        e, r = order["evidence"].fill_null(0.0), order["rate"].fill_null(0.0)
        e_next, r_next = pl.col("e").shift(-1).fill_null(0.0), pl.col("r").shift(-1).fill_null(0.0)
        # Drop from the last listed account to the next; the list's end is an infinite drop.
        drop = (pl.when((pl.col("e") > 0) & (e_next > 0)).then(pl.col("e") / e_next)
                .when(pl.col("e") > 0).then(float("inf"))
                .when(r_next > 0).then(pl.col("r") / r_next)
                .otherwise(float("inf")))
        prefix = prefix.with_columns(pl.Series("e", e), pl.Series("r", r)).with_columns(
            pl.when(pl.col("pos") >= min_size).then(drop).otherwise(0.0).alias("drop"))
    else:
        prefix = prefix.with_columns(pl.lit(0.0).alias("drop"))
    # The first local minimum that is tight or marked by a drop: the smallest set around the seeds.
    # The global minimum is the seeds' whole connected component (nothing leaves it), and an
    # operator's cells chained by a few links each would be swept up together.
    prefix = prefix.with_columns(phi.alias("phi")).filter(pl.col("pos") >= min_size - 1).with_columns(
        (pl.col("phi") < pl.min_horizontal([pl.col("phi").shift(-k).fill_null(float("inf"))
                                            for k in range(1, LOCAL_WINDOW + 1)])).alias("local"))
    # The last account sharing values with every seed ends the list, minimum or not: past it the
    # walk follows the links an operator's cells share (a block Leiden may have merged).
    tier_end = ((pl.col("e") > 0) & (pl.col("e").shift(-1).fill_null(0.0) <= 0) & (pl.col("pos") >= min_size)
                if "e" in prefix.columns else pl.lit(False))
    if "e" in prefix.columns and "specific" in order.columns:
        # A fall of the evidence into values held far more widely than the list so far (a client the
        # operator's whole fleet uses, under the cell's own burst): past it, the fleet, not the ring.
        broad = pl.Series("broad", order["specific"].cast(pl.Float64).shift(-1).fill_null(0.0))
        prefix = prefix.join(pl.DataFrame({"pos": pos["pos"], "broad": broad}), on="pos", how="left")
        e_next = pl.col("e").shift(-1).fill_null(0.0)
        fall = (e_next > 0) & (e_next * tier_drop <= pl.col("e")) & (pl.col("pos") >= min_size)
        tier_end = tier_end | (fall & (pl.col("broad") >= min_drop * (pl.col("pos") + 1)))
        if "outside" in order.columns:  # ... or into accounts outside the seeds' own cluster: their operator's value
            prefix = prefix.join(pl.DataFrame({"pos": pos["pos"], "out_next": order["outside"].shift(-1).fill_null(
                False)}), on="pos", how="left")
            # From the seeds' best evidence (a member holding part of it would hide the fall past it).
            e_top = pl.col("e").filter(pl.col("pos") >= min_size).max()
            tier_end = tier_end | ((e_next > 0) & (e_next * tier_drop <= e_top) & (pl.col("pos") >= min_size)
                                   & pl.col("out_next"))
    good = prefix.filter((pl.col("local") & ((pl.col("phi") <= max_conductance) | (pl.col("drop") >= min_drop)))
                         | tier_end)
    # No tight set: the first local minimum, however loose (a ring that talks to many outsiders).
    loose = prefix.filter(pl.col("local"))
    if not prefix.height:
        return order.height
    best = (good if good.height else loose if loose.height else prefix).row(0, named=True)
    return int(best["pos"]) + 1


def rank_accounts(links: pl.DataFrame, linking: pl.DataFrame, accounts: pl.DataFrame, seeds: list[str],
                  restart: float = DEFAULT_RESTART, top: int | None = None,
                  activity: pl.DataFrame | None = None,
                  minutes: pl.DataFrame | pl.LazyFrame | None = None,
                  templates: pl.DataFrame | pl.LazyFrame | None = None) -> pl.DataFrame:
    """Seeds, then the accounts most tied to them (schema in the module docstring).

    Parameters
    ----------
    links, linking : DataFrame
        ``links.parquet`` and ``linking.parquet`` of a detect run.
    accounts : DataFrame
        ``account_id, cluster_id, campaign_id`` of every account of the run.
    seeds : list of str
        Seed account ids (each must be in ``accounts``).
    restart : float
        Restart probability (:data:`DEFAULT_RESTART`).
    top : int, optional
        List this many accounts besides the seeds, best first, whatever the
        sweep cut says (default: the accounts the sweep cut keeps).
    activity : DataFrame, optional
        ``activity.parquet`` (``account_id, day, hour, events``; clustered
        accounts only): the seeds' clock holds the list to their shared hours
        (:func:`graphlink.stages.seed_clock.apply_clock`); without it, no clock.
    minutes : DataFrame or LazyFrame, optional
        ``minutes.parquet`` (``account_id, cluster_id, minute, events``; clustered accounts only):
        the seeds' minute clock, after the hour clock
        (:func:`graphlink.stages.seed_minutes.apply_minute_clock`); without it, none.
    templates : DataFrame or LazyFrame, optional
        ``templates.parquet`` (``account_id, cluster_id, shingle, df``): listed accounts sending none of
        the seeds' templates leave the list, last
        (:func:`graphlink.stages.seed_templates.apply_templates`); without it, no such test.

    Returns
    -------
    DataFrame
        :data:`graphlink.contract.EXPAND_SCHEMA`, shape (seeds + listed, 6).

    Raises
    ------
    GraphlinkError
        An unknown seed id (the message names it), no seeds, a bad ``restart``
        or ``top`` (negative, not a whole number; a huge one lists every account reached).
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 0):
        raise GraphlinkError(f"top must be a whole number of accounts, 0 or more, got {top!r}")
    top = None if top is None else int(top)
    seeds = list(dict.fromkeys(seeds))
    unknown = pl.Series(seeds, dtype=pl.String).filter(~pl.Series(seeds, dtype=pl.String).is_in(
        accounts["account_id"].implode()))
    if unknown.len():
        raise GraphlinkError(f"unknown seed account {unknown[0]!r}: not an account of this run "
                             f"({unknown.len()} of {len(seeds)} {'seed' if len(seeds) == 1 else 'seeds'} unknown)")
    ppr = personalised_pagerank(links, seeds, restart)
    # One seed has no consensus (every value of it would count): the walk alone orders, by how likely it reaches an
    # account (p), not p per link weight, which put a VPN user tied to the seed alone ahead of its cell (nu39).
    walk = "p" if len(seeds) == 1 else "rate"
    shared = (consensus_values(linking, seeds, accounts.height) if len(seeds) >= MIN_CONSENSUS_SEEDS
              else pl.DataFrame(schema={"kind": pl.String, "value": pl.String}))
    evidence = (seed_consensus(linking, seeds, accounts.height, shared=shared) if shared.height
                else pl.DataFrame(schema={"account_id": pl.String, "evidence": pl.Float64, "specific": pl.Int64}))
    card_used = False
    if evidence.is_empty() and len(seeds) >= MIN_CONSENSUS_SEEDS:
        # No value every seed has: the cards any seed holds are the cell's (one of its several each).
        evidence = card_evidence(linking, seeds)
        card_used = not evidence.is_empty()
    is_seed = pl.col("account_id").is_in(pl.Series(seeds, dtype=pl.String).implode())
    # An account without links (a seed nobody shares a value with) has no rate.
    rate = pl.when(pl.col("degree") > 0).then(pl.col("p") / pl.col("degree")).otherwise(0.0)
    # Summed link weight of every account (one the walk never reaches still has its links, which
    # leave the listed set and count in the sweep's conductance).
    degree = pl.concat([links.select(pl.col("source").alias("account_id"), "weight"),
                        links.select(pl.col("target").alias("account_id"), "weight")]).group_by(
        "account_id").agg(pl.col("weight").sum().alias("degree"))
    # An account the walk never reaches is listed for its evidence only when the seeds have no link at all
    # (then evidence is all there is): otherwise values every seed has but that link no one (weak kinds: a
    # client, a creation hour) would list accounts the graph does not tie to them ...
    seed_list = pl.Series(seeds, dtype=pl.String).implode()
    isolated = links.filter(pl.col("source").is_in(seed_list) | pl.col("target").is_in(seed_list)).is_empty()
    own_held, own_df, own_text = own_value_holders(linking, shared, accounts, seeds)  # ... or seed_ties's fill
    reach = (pl.col("p") >= MIN_PROBABILITY) | ((pl.col("evidence") > 0) & pl.lit(isolated)) | is_seed
    scored = (ppr.drop("degree").join(evidence, on="account_id", how="full", coalesce=True)
              .join(degree, on="account_id", how="left").with_columns(pl.col("p", "degree", "evidence").fill_null(0.0))
              .with_columns(rate.alias("rate"))
              .sort([is_seed, "evidence", walk, "p", "rate", "account_id"], descending=[True] * 5 + [False]))
    ordered = scored.filter(reach)
    n_seeds, outside = ordered.filter(is_seed).height, outside_seed_cluster(ordered, accounts, seeds)
    keep = (sweep_cut(ordered.select("account_id", "degree", "evidence", "rate", "specific").with_columns(outside),
                      links, min_size=n_seeds)
            if top is None else n_seeds + min(top, ordered.height))  # a huge top: every account the walk reaches
    ended, moved = cluster_stopped(ordered, keep, outside, n_seeds, TIER_DROP, MIN_PROBABILITY), None
    if top is None:
        # The holders of a seed's card, or of an address every seed used, are a part of the cell (it
        # has several of each): completed from a tenth of the seeds' cluster, not a majority.
        partial = card_used or partial_evidence(shared)
        ordered, keep = complete_cluster(ordered, keep, accounts, links, degree, seeds, MAX_CONDUCTANCE,
                                         **({"min_share": CARD_CLUSTER_SHARE} if partial else {}))
        ordered, keep = complete_reach(ordered, keep, accounts, links, degree, seeds, ppr["account_id"], MAX_CONDUCTANCE)
        ordered, keep = fill_batch(ordered, keep, accounts, linking, shared, seeds)
        ordered, keep, moved = fill_own(ordered, keep, own_held, own_df, ended, scored.filter(~reach))
        ordered, keep, on_clock = apply_clock(ordered, keep, activity, seeds)
        ordered, keep, on_minutes = apply_minute_clock(ordered, keep, minutes, seeds, accounts=accounts)
        ordered, keep = apply_templates(ordered, keep, templates, seeds, accounts.height, linking=linking)
        ordered, keep = apply_clients(ordered, keep, linking, seeds, accounts.height, clocked=on_minutes["account_id"])
        ordered, keep = hold_to_batch(ordered, keep, linking, shared, seeds)
    else:
        on_clock = on_minutes = pl.DataFrame(schema={"account_id": pl.String, "fit": pl.Float64})
    listed = ordered.head(max(keep, n_seeds)).filter(~is_seed)
    best_evidence = float(listed["evidence"].max() or 0.0)
    best_rate = float(listed.filter(pl.col("evidence") <= 0)[walk].max() or 0.0)
    # Monotone in rank: (0.5, 1] shares values with every seed, [0, 0.5] tied through the graph only.
    score = (pl.when(pl.col("evidence") > 0).then(0.5 + 0.5 * pl.col("evidence") / (best_evidence or 1.0))
             .otherwise(0.5 * pl.col(walk) / (best_rate or 1.0)))
    seed_rows = pl.DataFrame({"account_id": seeds, "rank": [0] * len(seeds), "score": [1.0] * len(seeds)})
    ranked = pl.concat([
        seed_rows.cast({"rank": pl.UInt32}),
        # Accounts joining for the seeds' clock come after the kept ones whatever their key: the
        # running minimum keeps the score monotone in rank.
        listed.with_row_index("rank", offset=1).select("account_id", "rank", score.cum_min().alias("score")),
    ], how="vertical_relaxed")
    reasons = tie_reasons(ranked.select("account_id", "rank"), linking, shared=shared, n_seeds=len(seeds), links=links)
    reasons = clock_reasons(clock_reasons(reasons, on_clock), on_minutes, "active within a minute of the seeds")
    reasons = own_reasons(reasons, moved, ppr.filter(pl.col("p") >= MIN_PROBABILITY)["account_id"], own_text, own_df)
    return (ranked.join(accounts.select("account_id", "cluster_id", "campaign_id"), on="account_id", how="left")
            .join(reasons, on="account_id", how="left")
            .with_columns(pl.when(pl.col("rank") == 0).then(pl.lit("seed")).otherwise(pl.col("why")).alias("why"))
            .sort("rank", "account_id").select(list(EXPAND_SCHEMA.names())).cast(dict(EXPAND_SCHEMA)))
