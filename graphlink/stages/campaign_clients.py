"""Client vetoes: two cells tied only by a template, each running a client of its own, are two operators.

:func:`graphlink.stages.campaigns.cluster_similarity` ties two clusters by the larger of their
kinds' similarities. A template is the weakest of those ties: a distillation template is copied
from a public source or shared between resellers, so operators who never met send the same text.
On the dev worlds nearly every cross-operator cluster pair the grouping keeps is tied by templates alone
(scenario templates 1002: 790 of 791; independent 3: 4,251 of 4,263), and in worlds whose
operators share one template family the template cosine of two operators' cells is as high as
that of one operator's (median 0.49 against 0.50): no reweighing of the text can tell them apart.

What an operator does not copy from others is its tooling. A cell is run by one scheduler, and
its accounts send the few clients it is written with (``python-requests/2.28.1`` and
``langchain/0.1.0``, ``okhttp/4.12.0``): a *client signature*, a client profile concentrated on
one to three user agents. Two cells whose signatures are disjoint run different software; when
nothing but a template ties them, the template is all they have in common, and the pair is no
campaign tie. Dev worlds, cluster pairs tied by templates alone at the grouping's edge floor
(vetoed cross-operator / same-operator): scenario templates 1002 508 / 0 (of 790 / 602), 1005
22 / 0, independent 2 6 / 0, independent 3 753 / 0 (of 4,221 / 2,571), independent 1, its
standard form and orgs 1 0 / 0 (their operators rotate dozens of stock browser agents: no
signature); templates 1001's two operators share a client, and the cosine changes nothing there (own
clients below do).

The veto is one-sided on purpose:

* Only **disagreement** vetoes. Agreement proves nothing (unrelated people share a browser
  agent, which is why user agents are no tie kind, :data:`graphlink.stages.campaigns.AMBIENT_KINDS`),
  and a cell rotating stock browser agents has no signature (its profile spreads over dozens of
  agents, below :data:`SIGNATURE_CONCENTRATION`), nor has a cell too small to show one
  (:data:`MIN_SIGNATURE_SIZE`).
* Only **template ties** are vetoed (:data:`TEMPLATE_KINDS`). A shared card, identifier or
  address is infrastructure moved between cells, the operator's own doing whatever client each
  cell runs; such a pair keeps its tie.
* A log without user agents, or cells without signatures, group exactly as before.

**Own clients** (campaign grouping only, ``own_clients``). Agreement on one client is no agreement on the
toolkit: operators drawing two clients each from the same dozen libraries share one by chance (dev mixed 1008:
operators 3 and 4 each send ``python-requests`` beside a client of their own, cosine 0.5, and one of them sends
a subset of the other's public templates -- 90 cluster pairs tied at 0.43 by text alone, above
``campaign_resolution``, made one campaign of 599 accounts; ARI by operator 0.75). An operator's cells run its
toolkit, so a client most of one cell sends and no account of the other does says a different scheduler runs
it. Dev worlds (session 48): of template-only cluster pairs with both signatures, no same-operator pair has an
own client on each side (mixed 1002-1011; a1, t1, templates 1002, 1005); flags identical on mixed 1002-1011, the
8 ident worlds and independent 176-179; ARI by operator from this test: mixed 1008 0.754 -> 0.948, templates 1001 0.010 -> 0.836
(its two operators share one client, each sends one of its own), templates 1005 0.740 -> 0.877. The flags' operator ties
(:mod:`graphlink.stages.tie_weights`) keep the cosine alone: a copied template there drops a flag, and a cell
upgrading one library must not lose its operator's.

Output: ``source, target`` (node numbers) of the pairs vetoed.
"""

from __future__ import annotations

import polars as pl

__all__ = ["CLIENT_KINDS", "DISAGREE_COSINE", "MIN_SIGNATURE_COVERAGE", "MIN_SIGNATURE_SIZE", "PRINCIPAL_CLIENT_SHARE",
           "SIGNATURE_CONCENTRATION", "TEMPLATE_KINDS", "client_keys", "client_profiles", "client_vetoes"]

#: Kinds whose values are a cell's client software.
CLIENT_KINDS = ("user_agent",)
#: Tie kinds that rest on the text alone: prompt shingles and template bursts (``burst``, the same
#: template sent in one window: the window is a schedule, which unrelated fleets share too).
TEMPLATE_KINDS = ("prompt", "burst")
#: A cluster has a client signature when its client profile (``p_v``: share of its members sending
#: agent ``v``) is concentrated: ``sum p_v**2 / (sum p_v)**2`` -- one over the effective number of
#: agents -- at least this. One agent gives 1, two used alike 0.5, three 0.33; a cell rotating 36
#: stock browser agents, every account sending all of them, 0.03. 0.3: a scheduler's toolkit of up to
#: three clients, with room for a stray agent. The share of members holding the top agent is no
#: measure: in that rotating cell every agent is held by every member (dev independent 2: 48
#: same-operator pairs of an ``okhttp`` cell and such a cell were vetoed when it counted).
SIGNATURE_CONCENTRATION = 0.3
#: ... and at least this many members: a cell of 2-4 accounts holds one agent by chance (two
#: accounts of a rotating cell sending the same browser agent); 5 is ``min_flag_size``, the size at
#: which graphlink lets a group speak for itself. Dev, at 2: 5 same-operator pairs vetoed on
#: independent 3 and 1,600-2,000 pairs of ordinary users' clusters per independent world; at 5: none
#: same-operator, 0-10 pairs of ordinary users' clusters per world.
MIN_SIGNATURE_SIZE = 5
#: ... held by at least this share of its members (members sending any client value): the concentration is a
#: ratio, blind to how many members the profile speaks for, and a log that records user agents for some requests
#: only (one member of six on ``curl/8``, the rest none) gave a cell the one member's agent as its signature (break-it
#: review, session 44: two such cells, ``curl/8`` and ``curl/7``, were vetoed). A majority: the scheduler's clients
#: are sent by its accounts, not by a few.
MIN_SIGNATURE_COVERAGE = 0.5
#: With ``own_clients`` (the campaign grouping), two signatures also disagree when each cluster sends a *principal*
#: client -- one held by at least this share of its members -- that no member of the other sends: each cell runs
#: a tool of its own the other never touches (module docstring, *own clients*). Half: a toolkit's clients are sent
#: by most of a cell's accounts, a stray agent by a few.
PRINCIPAL_CLIENT_SHARE = 0.5
#: Two signatures disagree when the cosine of the clusters' client profiles (share of members
#: holding each value) is below this: disjoint clients give 0, and a cell with a few members on the
#: other cell's client stays under 0.1 (dev: 0.1 and 0.3 veto the same pairs on all 8 worlds).
DISAGREE_COSINE = 0.1


def client_vetoes(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                  pairs: pl.DataFrame, signed_source: bool = True, own_clients: bool = False) -> pl.DataFrame:
    """The pairs of ``pairs`` whose clusters run different clients (module docstring).

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind``: values of :data:`CLIENT_KINDS` are read, linked or not.
    pairs : DataFrame
        ``source, target`` (node numbers): the pairs tied by templates alone.
    signed_source : bool
        False: ``source`` needs no signature of its own, only its members' agents (``MIN_SIGNATURE_COVERAGE`` of
        them sending one, at any size) and ``target``'s signature: an office whose staff each run a browser of their
        own shows no signature, yet never sends the ring's scripted client
        (:func:`graphlink.stages.tie_weights.client_split_texts`). ``MIN_SIGNATURE_SIZE`` guards a *signature*
        (a small cell holds one agent by chance), not the copier's side: that none of a team of four sends the ring's
        client is what it says, whatever its size (break-it review, session 49: four staff copying a ring's public
        template from their browsers were flagged). The grouping keeps both sides signed.
    own_clients : bool
        Also veto a pair of signed clusters each of which sends a principal client (held by
        :data:`PRINCIPAL_CLIENT_SHARE` of its members) that no member of the other sends (module docstring,
        *own clients*): the campaign grouping asks this; flags spread along operator ties ask the cosine alone.

    Returns
    -------
    DataFrame
        ``source, target`` (UInt32): the vetoed pairs, each both clusters (``target`` alone with
        ``signed_source=False``) of at least :data:`MIN_SIGNATURE_SIZE` members with a signature (:data:`SIGNATURE_CONCENTRATION`, sent by
        :data:`MIN_SIGNATURE_COVERAGE` of them) and a client
        cosine below :data:`DISAGREE_COSINE`; empty when the log has no client values.

    Examples
    --------
    Clusters 0 and 1 each send one client of their own; cluster 2 rotates browsers (no signature).

    >>> node_of = pl.DataFrame({"account_idx": list(range(15)), "node": [0] * 5 + [1] * 5 + [2] * 5,
    ...                         "size": [5] * 15}, schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": list(range(15)), "signal_idx": [0] * 5 + [1] * 5 + [2, 3, 4, 5, 6]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": list(range(7)), "kind": ["user_agent"] * 7},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> pairs = pl.DataFrame({"source": [0, 0], "target": [1, 2]}, schema={"source": pl.UInt32, "target": pl.UInt32})
    >>> client_vetoes(node_of, aff, sig, pairs).rows()
    [(0, 1)]
    """
    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32})
    if pairs.height == 0:
        return empty
    profile, profiled, signed = client_profiles(node_of, affiliations, signals, any_size=not signed_source)
    if profile.height == 0:
        return empty
    sources = signed if signed_source else profiled
    candidates = (pairs.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32))
                  .join(sources.rename({"node": "source", "norm": "ns"}), on="source")
                  .join(signed.rename({"node": "target", "norm": "nt"}), on="target"))
    if candidates.height == 0:
        return empty
    p = profile.select(pl.col("node").cast(pl.UInt32), "signal_idx", "p", "product")
    dot = (candidates.select("source", "target")
           .join(p.rename({"node": "source", "p": "ps"}), on="source")
           .join(p.rename({"node": "target", "p": "pt"}), on=["target", "signal_idx"])
           .group_by("source", "target").agg((pl.col("ps") * pl.col("pt")).sum().alias("dot")))
    apart = pl.col("dot").fill_null(0.0) < DISAGREE_COSINE * pl.col("ns") * pl.col("nt")
    if own_clients:
        # Each side's principal clients of a product no member of the other side sends in any minor version (own_clients).
        principal = p.filter(pl.col("p") >= PRINCIPAL_CLIENT_SHARE).select("node", "product")
        ends = candidates.select("source", "target")

        def owns(side: str, other: str) -> pl.DataFrame:
            return (ends.join(principal.rename({"node": side}), on=side)
                    .join(p.select(pl.col("node").alias(other), "product").unique(), on=[other, "product"], how="anti")
                    .select("source", "target").unique().with_columns(pl.lit(True).alias(f"own_{side}")))
        candidates = (candidates.join(owns("source", "target"), on=["source", "target"], how="left")
                      .join(owns("target", "source"), on=["source", "target"], how="left"))
        apart = apart | (pl.col("own_source").fill_null(False) & pl.col("own_target").fill_null(False))
    return (candidates.join(dot, on=["source", "target"], how="left").filter(apart)
            .select("source", "target").sort("source", "target"))


def client_keys(clients: pl.DataFrame) -> pl.DataFrame:
    """Each client value's *key* and *product*: what two logged clients are compared as.

    A client string is the sender's to write: logged apart, ``python-requests/2.31.0``, ``Python-Requests/2.31.0``,
    ``python-requests/2.31.0`` with a zero-width space, in full-width letters or with a Cyrillic ``е`` are one client,
    and an operator writing its cells' clients so (break-it review, session 49: each variant made two cells of one
    operator "disagree", cosine 0, a veto in the flags' ties and the grouping alike) would part its cells at will. The
    *key* is the text folded as prompts are (:func:`graphlink.stages.signals.normalise.fold_unicode`: NFKC,
    invisible characters removed, TR39 look-alikes to Latin, case folded) with every run of characters other than
    letters and digits one space. The *product* is the key of the client with each version cut to its major
    number (``python-requests/2.31.0`` -> ``python requests 2``): a minor or patch release is a drop-in upgrade
    (semantic versioning), which an operator rolls onto some cells before others (``scraper/1.0`` -> ``scraper/1.1``
    changes the version, not the product), while another major version is another install (``okhttp/3.14.9``
    and ``okhttp/4.12.0``: two operators drawing one library each keep their own). Own clients
    (:func:`client_vetoes`) compare products.

    Parameters
    ----------
    clients : DataFrame
        ``signal_idx`` and, when known, ``value`` (the client as logged); without ``value`` each signal is a client
        of its own (its number the key and product).

    Returns
    -------
    DataFrame
        ``signal_idx, client, product`` (String): one row per row of ``clients``; values of one key share a product.

    Examples
    --------
    >>> v = ["python-requests/2.31.0", "Python-Requests/2.31.0\u200b", "python-r\u0435quests/2.32.0", "okhttp/3.14.9"]
    >>> client_keys(pl.DataFrame({"signal_idx": range(4), "value": v})).rows()  # doctest: +NORMALIZE_WHITESPACE
    [(0, 'python requests 2 31 0', 'python requests 2'), (1, 'python requests 2 31 0', 'python requests 2'),
     (2, 'python requests 2 32 0', 'python requests 2'), (3, 'okhttp 3 14 9', 'okhttp 3')]
    """
    from graphlink.stages.signals.normalise import fold_unicode

    if "value" not in clients.columns:
        key = pl.col("signal_idx").cast(pl.String)
        return clients.select("signal_idx", key.alias("client"), key.alias("product"))
    def keyed(text: pl.Expr) -> pl.Expr:
        return fold_unicode(text, "").str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()

    value = pl.col("value").fill_null("")
    # A version's major number alone (2.31.0 -> 2), read before folding turns its dots into spaces; NFKC and invisible
    # characters first, so that a full-width or zero-width-split version is still one.
    major = value.str.normalize("NFKC").str.replace_all(r"\p{Cf}", "").str.replace_all(r"(\d+)(?:\.\d+)+", "$1")
    # One product per key (values reading alike may cut their versions apart: "a/2.31" and "a 2 31"): the least.
    return (clients.select("signal_idx", keyed(value).alias("client"), keyed(major).alias("product"))
            .with_columns(pl.col("product").min().over("client")))


def client_profiles(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
                    any_size: bool = False) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Each cluster's client profile, the clusters it speaks for and those with a client signature (module docstring).

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx``.
    signals : DataFrame
        ``signal_idx, kind`` and, when known, ``value``: values of :data:`CLIENT_KINDS` are read (:func:`client_keys`).
    any_size : bool
        Profile clusters of any size (the copier's side of :func:`client_vetoes` with ``signed_source=False``);
        False: of :data:`MIN_SIGNATURE_SIZE` members or more only. Signatures need that size either way.

    Returns
    -------
    profile : DataFrame
        ``node, signal_idx`` (the client key, String), ``p`` (Float64: share of the node's members sending it),
        ``product``; empty when the log has no client values.
    profiled : DataFrame
        ``node`` (UInt32), ``norm`` (Float64: the profile's Euclidean norm): the nodes whose members sending a
        client are :data:`MIN_SIGNATURE_COVERAGE` of them or more.
    signed : DataFrame
        ``node, norm``: those of ``profiled`` of :data:`MIN_SIGNATURE_SIZE` members or more whose profile is
        concentrated (:data:`SIGNATURE_CONCENTRATION`): the nodes with a client signature.

    Examples
    --------
    Cluster 0 sends one client, cluster 1 rotates five browsers:

    >>> node_of = pl.DataFrame({"account_idx": list(range(10)), "node": [0] * 5 + [1] * 5, "size": [5] * 10},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": list(range(10)), "signal_idx": [0] * 5 + [1, 2, 3, 4, 5]},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": list(range(6)), "kind": ["user_agent"] * 6}, schema_overrides={"signal_idx": pl.UInt32})
    >>> _, profiled, signed = client_profiles(node_of, aff, sig)
    >>> sorted(profiled["node"].to_list()), signed["node"].to_list()
    ([0, 1], [0])
    """
    clients = client_keys(signals.filter(pl.col("kind").is_in(list(CLIENT_KINDS))))
    # A client is its key (client_keys): values logged apart that read alike are one client; an account sending
    # two of them counts once. Only the nodes' accounts are read.
    held = (affiliations.select("account_idx", "signal_idx").join(node_of.select("account_idx"), on="account_idx", how="semi")
            .join(clients, on="signal_idx").select("account_idx", "client", "product").unique(["account_idx", "client"]))
    profile = (held.join(node_of if any_size else node_of.filter(pl.col("size") >= MIN_SIGNATURE_SIZE), on="account_idx")
               .group_by("node", pl.col("client").alias("signal_idx"))
               .agg((pl.len() / pl.col("size").first()).alias("p"), pl.col("product").first()))
    squares = (pl.col("p") ** 2).sum()
    covered = (held.join(node_of, on="account_idx").group_by("node")
               .agg((pl.col("account_idx").n_unique() / pl.col("size").first()).alias("coverage")))
    profiled = (profile.group_by("node").agg(squares.sqrt().alias("norm"), (squares / pl.col("p").sum() ** 2).alias("concentration"))
                .join(covered, on="node").filter(pl.col("coverage") >= MIN_SIGNATURE_COVERAGE)
                .select(pl.col("node").cast(pl.UInt32), "norm", "concentration"))
    sizes = node_of.select(pl.col("node").cast(pl.UInt32), "size").unique("node")
    signed = (profiled.filter(pl.col("concentration") >= SIGNATURE_CONCENTRATION).join(sizes, on="node")
              .filter(pl.col("size") >= MIN_SIGNATURE_SIZE).select("node", "norm"))
    return profile, profiled.drop("concentration"), signed
