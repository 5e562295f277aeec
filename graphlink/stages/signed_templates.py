"""Signed template ties: two cells sending one toolkit and sharing passages no one else writes, beyond chance.

:func:`graphlink.stages.campaigns.cluster_similarity` ties clusters by template through the cosine of their shingle
profiles. An operator that disguises its template -- a typo in most words, letters upper-cased at random, words run
together -- leaves each copy few shingles another copy holds, so two of its cells share a thin slice of their
profiles and the cosine stays far below ``campaign_resolution`` however private that slice is (dev schedules 1048:
operator 2's five cells, 19-391 accounts, template cosine 0.137-0.148 with each other and no tie to anyone else; its
391- and 327-account cells were two campaigns). A lower resolution would tie them and every pair of operators whose
cells copy one stock phrase alike (dev crowds 1046: cross-operator template cosines 0.10-0.16).

Here the same slice is weighed the way a card is (:func:`graphlink.stages.campaign_ties.private_ties`): the shingles
two clusters share against what chance gives clusters of their sizes, the values chance gives the other cluster
anyway (a stock phrase thousands write) taken out of the count. Text alone is no campaign: a template is copied
between operators and a public phrase is written by strangers (the private-ties module's own reason for leaving
templates out; dev crowds 1046, offline: 15 of 63 cross-operator pairs of 10+ accounts tied at 0.9 or more by
passages alone, and every pair of two benign companies' clusters writing one job template). The second half of the
evidence is the tooling (:mod:`graphlink.stages.campaign_clients`): a pair counts only when **both** clusters have a
client signature -- one to three clients sent by most of their members -- and the two signatures do not disagree
(no client veto, own clients included). A cell rotating stock browser agents has no signature and gains nothing
here; two companies or two operators running their own clients are vetoed. What stays is what an investigator
reads as one operator: the same scheduler software sending the same private passages, more of them than chance
gives (dev schedules 1048, offline: 31 pairs of operator 2's clusters kept, no cross-operator or benign pair;
crowds 1046: 4 cross-operator pairs kept, all through one 47-account cluster the partition mixed from operators 2
and 3, against 58 of one operator).

Only the grouping reads these ties (``CommunityConfig.signed_templates``, opt-in): the campaigns' ``why`` lists the
prompt phrases two clusters share (:func:`graphlink.stages.campaigns.score_campaigns`), and a campaign's flag moves
only through campaign-wide rules, which the sweep checks.

Output: ``source, target, weight`` (node numbers, ``source < target``, ``P(X < S)``), as the private ties.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_clients import client_profiles, client_vetoes
from graphlink.stages.campaign_ties import private_ties

__all__ = ["signed_template_ties"]


def signed_template_ties(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                         kinds: list[str], accounts: int) -> pl.DataFrame:
    """Pairs of signed clusters whose clients agree, tied by template values shared beyond chance (module docstring).

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind, df, linked`` (and ``value`` for client kinds, when known).
    kinds : list of str
        The template kinds read (prompt shingles, template bursts).
    accounts : int
        Accounts in the log (the chance's ``N``).

    Returns
    -------
    DataFrame
        ``source, target`` (UInt32, ``source < target``), ``weight`` (Float64, above 0): the private ties of ``kinds``
        between clusters both of which have a client signature, less the pairs the client veto parts.

    Examples
    --------
    Clusters 0 and 1 (5 accounts each, of 1,000) send one client and share a passage no one else writes; cluster 2
    shares it too but sends a client of its own.

    >>> node_of = pl.DataFrame({"account_idx": list(range(15)), "node": [0] * 5 + [1] * 5 + [2] * 5,
    ...                         "size": [5] * 15}, schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": list(range(15)) * 2, "signal_idx": [0] * 15 + [1] * 10 + [2] * 5},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["prompt", "user_agent", "user_agent"],
    ...                     "df": [15, 10, 5], "linked": [True, True, True],
    ...                     "value": ["p", "sched/1.0", "other/2.0"]}, schema_overrides={"signal_idx": pl.UInt32})
    >>> signed_template_ties(node_of, aff, sig, ["prompt"], 1000).select("source", "target").rows()
    [(0, 1)]
    """
    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})
    if not kinds or node_of.is_empty():
        return empty
    _, _, signed = client_profiles(node_of, affiliations, signals)
    if signed.height < 2:
        return empty
    # Only signed clusters' values are paired (the chance still counts every holder in the log: ``df``).
    ties = private_ties(node_of.join(signed.select(pl.col("node").cast(node_of.schema["node"])), on="node", how="semi"),
                        affiliations, signals, kinds, accounts).filter(pl.col("weight") > 0)
    if ties.is_empty():
        return empty
    vetoed = client_vetoes(node_of, affiliations, signals, ties.select("source", "target"), own_clients=True)
    return ties.join(vetoed, on=["source", "target"], how="anti").sort("source", "target")
