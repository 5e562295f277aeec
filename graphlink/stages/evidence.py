"""Evidence: the shared values that explain why each cluster exists.

Output schema (:func:`cluster_evidence`)
----------------------------------------
============== ======= ==========================================================
column         dtype   meaning
============== ======= ==========================================================
cluster_id     Int64
kind           String  signal kind
value          String  the shared value (prompts: a shingle as written in one prompt, <= 200 chars)
accounts_sharing UInt32 cluster members carrying it
weight         Float64 its rarity weight (0 if over the hub cap: shared, but too common to link)
df             UInt32  accounts carrying it in the whole input
ties           Boolean it ties the cluster to the flagged cluster its ``why`` names
outside_flagged UInt32 of a tying value: accounts holding it in the input outside flagged clusters (else null)
============== ======= ==========================================================

At most ``evidence_per_kind`` values per cluster and kind are kept (of prompts, 3 phrases of each of up to
``evidence_per_kind`` templates when that is more: :data:`PHRASES_PER_TEMPLATE`): values that
link (weight > 0) first, then the strongest, the most shared, the heaviest, with each prompt template's first
phrases before any template's fourth (:func:`top_per_kind`) -- and, for a
cluster flagged through a tie, every value that tied it
(:mod:`graphlink.stages.tie_evidence`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.contract import EVIDENCE_SCHEMA
from graphlink.stages.encode import count_by_account, position_in_run
from graphlink.stages.match_templates import head_words, tail_words, words_of


def shared_in_clusters(memberships: pl.DataFrame, clusters: pl.DataFrame, at_least: int = 2,
                       values: pl.Series | None = None) -> pl.DataFrame:
    """``cluster_id, signal_idx, accounts_sharing``: values at least two members of a cluster carry.

    ``at_least`` (default 2) members: 1 counts every value a member carries, as the profiles of
    :func:`graphlink.stages.campaigns.cluster_similarity` do; ``values`` (``signal_idx``): only these are counted
    (a mask read by position, not a semi-join).

    ``memberships`` has one row per (account, signal); ``clusters`` maps
    ``account_idx`` to ``cluster_id`` (nulls ignored). Counted by sorting one
    packed (cluster, signal) key, which orders the rows too: 33M memberships in ~2 s, against ~5 s for a
    two-column group-by.

    Examples
    --------
    >>> m = pl.DataFrame({"account_idx": [0, 1, 2, 0], "signal_idx": [5, 5, 5, 6]}, schema={
    ...     "account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [1, 1, 2]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> shared_in_clusters(m, c).rows()
    [(1, 5, 2)]
    """
    members = clusters.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.UInt64))
    if memberships.is_empty() or members.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    # Each membership's cluster by indexing a per-account array: a gather, not a 38M-row join.
    size = int(max(memberships["account_idx"].max(), members["account_idx"].max())) + 1
    cluster_of = pl.DataFrame({"account_idx": pl.int_range(size, dtype=pl.UInt32, eager=True)}).join(
        members, on="account_idx", how="left", maintain_order="left")["cluster_id"]
    if values is not None:
        wanted = np.zeros(max(int(memberships["signal_idx"].max()), int(values.max() or 0)) + 1, dtype=bool)
        wanted[values.to_numpy()] = True
        memberships = memberships.filter(pl.lit(pl.Series(wanted)).gather(pl.col("signal_idx")))
    rows = memberships.select(
        "signal_idx", cluster_of.gather(memberships["account_idx"]).alias("cluster_id")).drop_nulls("cluster_id")
    if rows.is_empty():
        return pl.DataFrame(schema={"cluster_id": pl.Int64, "signal_idx": pl.UInt32, "accounts_sharing": pl.UInt32})
    # count_by_account packs its first column above its second: here (cluster, signal), so its rows come sorted as
    # returned (one row per cluster and value). Packed (signal, cluster) they needed a sort on the two columns after:
    # 0.1-1 s of CPU a call on the campaign preset.
    counted = count_by_account(rows.select(pl.col("cluster_id").alias("account_idx"), "signal_idx"), "signal_idx",
                               int(rows["cluster_id"].max()) + 1)
    return counted.filter(pl.col("count") >= at_least).select(
        pl.col("account_idx").cast(pl.Int64).alias("cluster_id"), pl.col("key").cast(pl.UInt32).alias("signal_idx"),
        pl.col("count").alias("accounts_sharing"))


def cluster_evidence(memberships: pl.DataFrame, signals: pl.DataFrame, clusters: pl.DataFrame,
                     per_kind: int = 10, shared: pl.DataFrame | None = None) -> pl.DataFrame:
    """Values shared by at least two members of a cluster (schema in the module docstring).

    Parameters
    ----------
    memberships : DataFrame
        ``account_idx, signal_idx`` (bipartite edges).
    signals : DataFrame
        ``signal_idx, kind, value, df, weight``.
    clusters : DataFrame
        ``account_idx, cluster_id`` (null cluster ids are ignored).
    per_kind : int
        Values kept per cluster and kind.
    shared : DataFrame, optional
        :func:`shared_in_clusters` of these memberships and clusters, if already computed.
    """
    if shared is None:
        shared = shared_in_clusters(memberships, clusters)
    return (top_per_kind(shared, per_kind, signals).with_columns(pl.lit(False).alias("ties"), pl.lit(None, pl.UInt32).alias("outside_flagged"))
            .select(list(EVIDENCE_SCHEMA.names())).cast(dict(EVIDENCE_SCHEMA)))


#: Phrases of one template (one chain of overlapping prompt values: :func:`prompt_templates`) kept before the
#: other templates' next phrases: 3 shingles of 5 words overlap into a 7-word passage, enough to recognise a template.
#: Each of a cluster's first ``evidence_per_kind`` templates (strongest phrase first) is quoted by this many phrases:
#: the prompt kind lists ``max(per_kind, PHRASES_PER_TEMPLATE * min(templates, per_kind))`` values, so with the
#: default 10 a cluster of up to 3 templates lists 10 as before and one of 5 templates lists 15 (10 left the fifth
#: unquoted: 3 + 3 + 3 + 1; new-user review, session 42). The cap at ``per_kind`` templates (30 rows by default)
#: bounds what a cluster of many chains costs: every scenario-family dev cluster has at most 6 templates, 85 % of
#: dev independent 1's clusters with prompt evidence and of the fixture's at most 10; the rest (up to 107 chains)
#: are mostly one template cut at many slots, or a crowd's, and the views rebuild templates from sample prompts.
PHRASES_PER_TEMPLATE = 3


def prompt_templates(prompts: pl.DataFrame) -> pl.DataFrame:
    """Which template each of a cluster's prompt values quotes: the chain of overlapping phrases it belongs to.

    Parameters
    ----------
    prompts : DataFrame
        ``cluster_id, value``: prompt values (word shingles of ``evidence.parquet``, some quoted as written, see
        :func:`graphlink.stages.signals.prompt.quote_shingles`), shape (n, 2+); other columns are kept.

    Returns
    -------
    DataFrame
        ``prompts`` with ``template`` (UInt32) and ``step`` (UInt32), shape (n, 4+). Two values of one cluster are
        of one template when a chain of its values joins them, each overlapping the next by all but one word (a
        value's last ``n - 1`` words are the next one's first: as :func:`graphlink.views.passages.phrase_passages`
        and :func:`graphlink.stages.match_templates.head_words` chain them), compared as detection compares words
        (:func:`graphlink.stages.signals.normalise.normalise_prompt`): values of the same words are one place. The
        templates are the weakly connected components of that overlap graph (a template's phrases split by a
        variable slot, held by different members, are two), but for its crossings: where several values end with
        the same ``n - 1`` words and several others begin with them (two templates sharing a clause that long), the
        words do not say which goes on to which, and none is linked there. Templates sharing a longer clause share
        its values, and are one. ``step`` is how far along its chain a value is (0 at a
        value nothing comes before; a chain that only loops starts at its first value in the order of the words).
        Linear in the values (two edges each, through the words they meet at), with one breadth-first search
        (python-igraph) over all clusters.

    Examples
    --------
    >>> p = pl.DataFrame({"cluster_id": [1, 1, 1, 1, 2], "value": ["b c d e f", "A b c d e", "x y z w v",
    ...                                                           "c d e f g", "c d e f g"]})
    >>> prompt_templates(p).sort("cluster_id", "step", "value").select("cluster_id", "value", "template", "step").rows()
    [(1, 'A b c d e', 0, 0), (1, 'x y z w v', 1, 0), (1, 'b c d e f', 0, 1), (1, 'c d e f g', 0, 2), (2, 'c d e f g', 2, 0)]
    >>> prompt_templates(pl.DataFrame({"cluster_id": [1, 1], "value": ["ha ha ha ha ho", "Ha ha ha ha ha!"]}))["step"].to_list()
    [1, 0]
    """
    import igraph as ig  # here, not at import: the views load this module

    schema = {"template": pl.UInt32, "step": pl.UInt32}
    if prompts.is_empty():
        return prompts.with_columns(*[pl.lit(None, dtype).alias(name) for name, dtype in schema.items()])
    texts = prompts.select(pl.col("value").alias("__text")).unique()
    # (CamelCase split at every boundary: a quote's words are the shingle's so read, graphlink.stages.signals.prompt)
    words = words_of(texts, "__text", camel=False).select("__text", pl.col("value").alias("__words"))
    # One node per cluster and words (the same words spelled otherwise share a place), numbered in that order.
    keyed = prompts.join(words, left_on="value", right_on="__text", how="left", maintain_order="left")
    nodes = (keyed.select("cluster_id", "__words").unique().sort("cluster_id", "__words")
             .with_row_index("__node").with_columns(
                 # A value of one word neither follows nor precedes another.
                 pl.when(pl.col("__words").str.contains(" ")).then(head_words(pl.col("__words"))).alias("__head"),
                 pl.when(pl.col("__words").str.contains(" ")).then(tail_words(pl.col("__words"))).alias("__tail")))
    n = nodes.height
    # Values meet at the words one ends and the next begins with: i -> (words) -> j, one node per words some value
    # ends with and some begins with, so the edges are two per value, not one per pair (3,000 attacker-written values
    # ending and 3,000 beginning alike: 9M edges, 5 s).
    joints = (nodes.select("cluster_id", pl.col("__tail").alias("__key")).drop_nulls().unique()
              .join(nodes.select("cluster_id", pl.col("__head").alias("__key")).unique(), on=["cluster_id", "__key"])
              .sort("cluster_id", "__key").with_row_index("__joint", offset=n))
    ends = nodes.join(joints, left_on=["cluster_id", "__tail"], right_on=["cluster_id", "__key"])
    begins = nodes.join(joints, left_on=["cluster_id", "__head"], right_on=["cluster_id", "__key"])
    # A crossing -- words several values end with and several others begin with -- links none of them: the words do
    # not say which opening goes on to which ending (two templates sharing a clause of ngram - 1 words, "... tutor who
    # will | read the question twice | before answering ..." and "... poem and then | read the question twice | then
    # reply ...", were one template, the second never quoted; helper ev43). Each side is a chain of its own.
    ending = ends.group_by("__joint").len("__ending")
    crossing = ending.join(begins.group_by("__joint").len("__beginning"), on="__joint").filter(
        (pl.col("__ending") > 1) & (pl.col("__beginning") > 1)).select("__joint")
    ends, begins = ends.join(crossing, on="__joint", how="anti"), begins.join(crossing, on="__joint", how="anti")
    source = n + joints.height  # reaches the values chains start at
    graph = ig.Graph(n=source + 1, directed=True, edges=list(zip(ends["__node"].to_list(), ends["__joint"].to_list()))
                     + list(zip(begins["__joint"].to_list(), begins["__node"].to_list())))
    # Values that come after another (than themselves: "ha ha ha ha ha" follows itself, and can start a chain).
    after = (begins.join(ending, on="__joint").filter((pl.col("__ending") > 1) | (pl.col("__head") != pl.col("__tail")))
             .select("__node", pl.lit(1, pl.UInt32).alias("__in")))
    placed = nodes.select("__node").with_columns(
        pl.Series("template", graph.connected_components(mode="weak").membership[:n], dtype=pl.UInt32)).join(
        after, on="__node", how="left").with_columns(pl.col("__in").fill_null(0))
    # Chains start at values nothing comes before; a template without one (a loop) at its first value.
    looped = placed.group_by("template").agg((pl.col("__in") == 0).any().alias("__open"), pl.col("__node").min().alias("__first"))
    starts = pl.concat([placed.filter(pl.col("__in") == 0)["__node"], looped.filter(~pl.col("__open"))["__first"]])
    graph.add_edges([(source, s) for s in starts.to_list()])
    reach = pl.Series("__d", graph.distances(source=[source], mode="out")[0][:n], dtype=pl.Float64)
    steps = placed.with_columns(  # one step is two edges (through the words values meet at); a value only a loop
        # leads to: after the rest of its chain
        pl.when(reach.is_infinite()).then(n).otherwise((reach - 1) // 2).cast(pl.UInt32).alias("step"))
    located = nodes.select("__node", "cluster_id", "__words").join(steps.select("__node", "template", "step"), on="__node")
    return keyed.join(located.drop("__node"), on=["cluster_id", "__words"], how="left", maintain_order="left").drop("__words")


def top_per_kind(shared: pl.DataFrame, per_kind: int, signals: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ``per_kind`` values per cluster and kind to show: linking values first, then the strongest
    (``weight × accounts_sharing``, the order every view lists a kind's values in:
    :func:`graphlink.views.evidence.strongest_first`), then the most shared, the heaviest, then by text.

    Values that link (weight > 0) come first so that a cluster whose members
    also share many too-common values (a stock user agent, an over-cap proxy
    /24) still shows what links it. Strength before members: kept by members alone, a public prompt every member
    and hundreds of outsiders send (a framework's system prompt) filled an agent fleet's prompt rows, and its own
    template was cut (new-user review, session 39: 10 of 19 flagged clusters of independent 154 quoted only it; 2
    now). A prompt template's phrases (:func:`prompt_templates`) past its :data:`PHRASES_PER_TEMPLATE` strongest come
    after the other templates' first ones, so a cluster's several templates are all quoted (each of its first
    ``per_kind`` templates by its :data:`PHRASES_PER_TEMPLATE` strongest: the kind lists that many values when they
    are more than ``per_kind``); a template's equally
    strong phrases are listed in the order of its chain, so those kept read as one passage.
    ``shared`` has ``cluster_id, signal_idx,
    accounts_sharing`` and, unless ``signals`` is given to supply them,
    ``kind, value, weight``. Candidates are cut on the numbers first, keeping
    ties at the cut, so the text is read and compared only for the few rows
    that can make the list (a proxy fleet's clusters share millions of values); a cluster's prompt values are read
    to chain them. The result has ``shared``'s columns, ``value`` and ``df`` (if ``signals`` has it) and
    ``template, step`` (:func:`prompt_templates`; null for other kinds): a list cut again keeps the templates of
    the whole, so the shorter list is the one cut from the whole.
    """
    if signals is not None:
        # A list cut before (the pipeline cuts once for evidence and drill-down) has them already.
        missing = [c for c in ("kind", "weight") if c not in shared.columns]
        if missing:
            shared = shared.join(signals.select("signal_idx", *missing), on="signal_idx")
    ranked = shared.with_columns((pl.col("weight") > 0).alias("__links"),
                                 (pl.col("weight") * pl.col("accounts_sharing")).alias("__strength"))
    is_prompt = pl.col("kind") == "prompt"
    prompts = ranked.filter(is_prompt)
    if "value" not in prompts.columns and signals is not None:
        prompts = prompts.join(signals.select("signal_idx", "value"), on="signal_idx")
    if "template" not in prompts.columns:
        prompts = prompt_templates(prompts)
    # Past a template's PHRASES_PER_TEMPLATE strongest phrases the other templates' phrases come first, so each
    # template of a cluster is quoted (break-it reviews, sessions 40 and 42: 26 of 29 flagged clusters with several
    # templates quoted one only; then templates equally strong, or graded, counted as one or as several); a cluster's
    # first ``per_kind`` templates are quoted so, each with its own PHRASES_PER_TEMPLATE rows.
    within = ["template", "__links", "__strength", "accounts_sharing", "weight", "step", "value"]
    prompts = (prompts.sort(["cluster_id", *within], descending=[False, False, True, True, True, True, False, False])
               .with_columns(position_in_run(pl.col("template") != pl.col("template").shift(1)).alias("__pos")))
    # Templates ranked by their strongest phrase, in the kind's order (ties: its text, so a list cut again ranks
    # them alike).
    best = ["__links", "__strength", "accounts_sharing", "weight", "step", "value"]
    rank = (prompts.filter(pl.col("__pos") == 0).sort(["cluster_id", *best], descending=[False, True, True, True, True, False, False])
            .select("cluster_id", "template", position_in_run(pl.col("cluster_id") != pl.col("cluster_id").shift(1))
                    .alias("__rank"), pl.col("__links").cast(pl.Int64).sum().over("cluster_id").alias("__linking")))
    prompts = prompts.join(rank, on=["cluster_id", "template"], how="left").with_columns(
        ((pl.col("__pos") >= PHRASES_PER_TEMPLATE) | (pl.col("__rank") >= per_kind)).alias("__over"),
        # The kind's rows: PHRASES_PER_TEMPLATE for each linking template, up to per_kind templates; at least per_kind.
        pl.max_horizontal(pl.lit(per_kind, pl.Int64), PHRASES_PER_TEMPLATE * pl.col("__linking").clip(0, per_kind))
        .alias("__limit"))
    columns = [c for c in ranked.columns if c not in ("template", "step")] + ["template", "step", "__over", "__limit"]
    prompts = prompts.select(columns)
    others = ranked.filter(~is_prompt).with_columns(pl.lit(None, pl.UInt32).alias("template"),
                                                     pl.lit(None, pl.UInt32).alias("step"), pl.lit(False).alias("__over"),
                                                     pl.lit(per_kind, pl.Int64).alias("__limit"))
    ranked = pl.concat([others.select(prompts.columns), prompts.cast(others.select(prompts.columns).schema)])
    order = ["cluster_id", "kind", "__links", "__over", "__strength", "accounts_sharing", "weight", "step"]
    descending = [False, False, True, False, True, True, True, False]
    ranked = ranked.sort(order, descending=descending)
    new_group = (pl.col("cluster_id") != pl.col("cluster_id").shift(1)) | (pl.col("kind") != pl.col("kind").shift(1))
    ranked = ranked.with_columns(position_in_run(new_group).alias("__nth"))
    ties = ["__links", "__over", "__strength", "accounts_sharing", "weight", "step"]
    boundary = ranked.filter(pl.col("__nth") == pl.col("__limit") - 1).select(
        "cluster_id", "kind", *[pl.col(c).alias(f"__b{c}") for c in ties])
    at_cut = pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"__b{c}")) for c in ties])
    candidates = (
        ranked.join(boundary, on=["cluster_id", "kind"], how="left", maintain_order="left")
        .filter((pl.col("__nth") < pl.col("__limit")) | at_cut)
        .drop("__nth", *[f"__b{c}" for c in ties])
    )
    if signals is not None:
        extra = [c for c in ("value", "df") if c in signals.columns and c not in candidates.columns]
        if extra:
            candidates = candidates.join(signals.select("signal_idx", *extra), on="signal_idx")
    return (
        candidates.sort([*order, "value"], descending=[*descending, False])
        .filter(position_in_run(new_group) < pl.col("__limit"))
        .drop("__links", "__strength", "__over", "__limit")
    )


def kind_strengths(evidence: pl.DataFrame, by: list[str] | tuple[str, ...] = ()) -> pl.DataFrame:
    """``*by, kind, kind_strength``: the kinds of evidence rows strongest first, ties by name -- the one order of kinds
    (``clusters.parquet``'s ``kinds``, ``show``, the report, the notebook's ``why()``).

    A kind is as strong as its best value, ``weight × accounts_sharing``: a template's many overlapping shingles do
    not outrank one card every member pays with. ``by``: group columns (``cluster_id``), sorted first.

    >>> ev = pl.DataFrame({"kind": ["timing", "ip", "timing", "payment"], "weight": [0.5, 1.0, 0.1, 2.0],
    ...                    "accounts_sharing": [6, 3, 3, 2]})
    >>> kind_strengths(ev)["kind"].to_list()  # ip and timing tie at 3.0: by name
    ['payment', 'ip', 'timing']
    """
    return (evidence.group_by(*by, "kind").agg((pl.col("weight").fill_null(0.0) * pl.col("accounts_sharing")).max()
                                              .alias("kind_strength"))
            .sort([*by, "kind_strength", "kind"], descending=[False] * len(by) + [True, False]))


def evidence_summary(evidence: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``cluster_id, kinds`` (linking kinds, strongest first) and ``cluster_id, top_values`` (``kind=value``
    of the five strongest shared values) of :func:`cluster_evidence`'s table, for ``clusters.parquet``."""
    linking = evidence.filter(pl.col("weight") > 0)
    kinds = kind_strengths(linking, ["cluster_id"]).group_by("cluster_id", maintain_order=True).agg(
        pl.col("kind").alias("kinds"))
    top = (
        # Strongest evidence first: what a value adds to the cluster's links (its per-pair weight times
        # the members sharing it), so two cards that bind the cluster come before an address 271
        # accounts share; ties by how many share it.
        linking.with_columns((pl.col("weight") * pl.col("accounts_sharing")).alias("__strength"))
        .sort(["cluster_id", "__strength", "accounts_sharing", "kind", "value"],
              descending=[False, True, True, False, False])
        .group_by("cluster_id", maintain_order=True).head(5)
        .group_by("cluster_id", maintain_order=True)
        .agg(pl.concat_str([pl.col("kind"), pl.lit("="), pl.col("value").str.slice(0, 80)]).alias("top_values"))
    )
    return kinds, top

