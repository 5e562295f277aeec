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

A shared toolkit and a shared passage are still not one template: python-requests is sent by thousands, and two
operators that each paste one public jailbreak (or a framework's stock system prompt) into their own prompts share
passages no third party writes and a client (brk61, tests/test_brk61.py: tied at weight 1.0). What an operator's
cells share and two operators do not is the template under its disguise -- written by the whole cell, where a
pasted passage is written by the few members who pasted it. So a pair is kept only when the passages it shares are
written by :data:`WRITTEN_BY` of each side's members or more, and the two
clusters' **template skeletons** agree (:func:`skeleton_similarity`, session 62, op62): every prompt passage a
cluster's members hold, lower-cased with all but letters and digits dropped (random case and words run together
undone), cut into character 4-grams (a typo changes the few 4-grams over its letter and leaves the word's others),
weighed by the share of the cluster's members holding the passage and by how few clusters write the 4-gram at all
(a stock word every cluster writes says nothing); the cosine of two clusters' profiles must reach
:data:`SKELETON_BAR`. Dev, offline on op61's dumped groupings (pairs of 10+ accounts): the disguised operators'
signed pairs read 0.94-0.99 (schedules 1048, operator 2's ten pairs) and 0.98-1.00 (crowds 1046, 19 pairs), the
cross-operator signed pairs 0.16-0.21 (a2, three pairs through one 13-account cluster), every cross-operator pair
of schedules 1048 0.02-0.37. Two cells of one operator writing two different templates of its own (dev a2:
operator 2's 95- and 48-account cells, skeleton 0.002) are not tied here: text alone cannot tell them from two
operators sharing a passage.

Output: ``source, target, weight`` (node numbers, ``source < target``, ``P(X < S)``), as the private ties.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_clients import client_profiles, client_vetoes
from graphlink.stages.campaign_ties import private_ties

__all__ = ["SKELETON_BAR", "SKELETON_GRAM", "WRITTEN_BY", "signed_template_ties", "skeleton_similarity"]

# Two skeletons are one template when they agree more than they differ (a cosine of 0.5): the disguised operators'
# signed pairs measured 0.94-1.00 on dev, the cross-operator ones 0.16-0.37 (module docstring), so the bar sits in
# the wide gap rather than on either edge.
SKELETON_BAR = 0.5
# Character 4-grams: a typo (one letter swapped, dropped or doubled) changes the 4-grams over it and leaves the
# rest of its word's; 3-grams are shared by most English words ("the", "ing"), 5-grams lose short words to one typo.
SKELETON_GRAM = 4
# A template is what a cell writes, not what a few of its members paste: the passages two cells share must be
# written by half the members of each or more (dev, op61's signed pairs of one operator: schedules 1048 / crowds 1046
# 0.99-1.00 of each side, templates 1001 0.67 or more; a public jailbreak pasted into 8 % of prompts: 0.25-0.30 of
# each fleet, brk61). The cost: an operator whose disguise leaves almost no passage intact (dev mixed 1000,
# operator 0: 0.05-0.15 of each cell write a shared passage, skeletons 0.52-0.92) is not tied -- by the text the
# grouping sees it reads as the jailbreak's two fleets do, so its tie must come from elsewhere (clock, batches).
WRITTEN_BY = 0.5
SKELETON_KIND = "prompt"  # passages (text); a burst's value is a template with its time, not writing


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
    ...                     "value": ["post the weekly digest", "sched/1.0", "other/2.0"]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
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
    ties = ties.join(vetoed, on=["source", "target"], how="anti")
    if ties.is_empty():
        return empty
    # A template is what a cell's members write: the passages the pair shares, written by half of each side or more.
    values = signals.filter(pl.col("linked") & pl.col("kind").is_in(kinds)).select("signal_idx")
    held = node_of.join(affiliations.join(values, on="signal_idx", how="semi"), on="account_idx")
    both = (ties.select("source", "target")
            .join(held.select(pl.col("node").alias("source"), "signal_idx").unique(), on="source")
            .join(held.select(pl.col("node").alias("target"), "signal_idx").unique(), on=["target", "signal_idx"]))
    shares = [both.join(held.rename({"node": side}), on=[side, "signal_idx"]).group_by("source", "target")
              .agg((pl.col("account_idx").n_unique() / pl.col("size").first()).alias(f"{side}_share"))
              for side in ("source", "target")]
    written = shares[0].join(shares[1], on=["source", "target"]).filter(
        (pl.col("source_share") >= WRITTEN_BY) & (pl.col("target_share") >= WRITTEN_BY))
    ties = ties.join(written, on=["source", "target"], how="semi")
    if ties.is_empty():
        return empty
    # One template under its disguise, not one passage two templates paste (module docstring).
    alike = skeleton_similarity(node_of, affiliations, signals, ties.select("source", "target"))
    return (ties.join(alike.filter(pl.col("similarity") >= SKELETON_BAR), on=["source", "target"], how="semi")
            .sort("source", "target"))


def skeleton_similarity(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                        pairs: pl.DataFrame) -> pl.DataFrame:
    """Cosine of two clusters' template skeletons: their passages' character 4-grams, case and spacing undone.

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind`` and ``value``: the text of :data:`SKELETON_KIND` values is read (without ``value``, no
        skeleton: every pair reads 0, so no signed tie stands on text nobody read).
    pairs : DataFrame
        ``source, target``: the node pairs to compare.

    Returns
    -------
    DataFrame
        ``source, target, similarity`` (Float64 in [0, 1]; 0 when either cluster holds no passage).
        A 4-gram's weight in a cluster is the summed share of its members holding each passage it occurs in, times
        ``log(1 + clusters / clusters writing it)`` (all clusters of ``node_of``: a 4-gram of a stock word every
        cluster writes weighs least; the ``1 +`` keeps it above 0 when there are only two clusters).

    Examples
    --------
    One template under two disguises (case, run-together words, a typo) against another template:

    >>> node_of = pl.DataFrame({"account_idx": [0, 1, 2], "node": [0, 1, 2], "size": [1, 1, 1]},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [0, 1, 2], "signal_idx": [0, 1, 2]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["prompt"] * 3,
    ...                     "value": ["Write a glowing review of this blender", "wRITE a glowingreveiw of THIS blender",
    ...                               "Summarise the quarterly ledger for the audit"]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> pairs = pl.DataFrame({"source": [0, 0], "target": [1, 2]}, schema={"source": pl.UInt32, "target": pl.UInt32})
    >>> skeleton_similarity(node_of, aff, sig, pairs).with_columns(pl.col("similarity").round(2)).rows()
    [(0, 1, 0.68), (0, 2, 0.0)]
    """
    out = pairs.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32))
    if "value" not in signals.columns or out.is_empty():
        return out.with_columns(pl.lit(0.0).alias("similarity"))
    texts = signals.filter(pl.col("kind") == SKELETON_KIND).select(
        "signal_idx", pl.col("value").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "").alias("text"))
    held = (node_of.join(affiliations, on="account_idx").join(texts, on="signal_idx")
            .group_by("node", "signal_idx").agg((pl.len() / pl.col("size").first()).alias("share"), pl.col("text").first()))
    n = SKELETON_GRAM
    grams = (held.filter(pl.col("text").str.len_chars() > 0)  # a passage shorter than a 4-gram is its own gram
             .with_columns(pl.int_ranges(0, (pl.col("text").str.len_chars().cast(pl.Int64) - n + 1).clip(lower_bound=1)).alias("at"))
             .explode("at")
             .select("node", "share", pl.col("text").str.slice(pl.col("at"), n).alias("gram"))
             .group_by("node", "gram").agg(pl.col("share").sum()))
    clusters = node_of["node"].n_unique()
    rarity = grams.group_by("gram").agg((1.0 + clusters / pl.len()).log().alias("rarity"))
    profile = grams.join(rarity, on="gram").select("node", "gram", (pl.col("share") * pl.col("rarity")).alias("w"))
    norms = profile.group_by("node").agg(pl.col("w").pow(2).sum().sqrt().alias("norm"))
    dots = (out.join(profile.rename({"node": "source", "w": "ws"}), on="source")
            .join(profile.rename({"node": "target", "w": "wt"}), on=["target", "gram"])
            .group_by("source", "target").agg((pl.col("ws") * pl.col("wt")).sum().alias("dot")))
    return (out.join(dots, on=["source", "target"], how="left")
            .join(norms.rename({"node": "source", "norm": "ns"}), on="source", how="left")
            .join(norms.rename({"node": "target", "norm": "nt"}), on="target", how="left")
            .select("source", "target", (pl.col("dot") / (pl.col("ns") * pl.col("nt"))).fill_null(0.0).fill_nan(0.0)
                    .clip(0.0, 1.0).alias("similarity")))
