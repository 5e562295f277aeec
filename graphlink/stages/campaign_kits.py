"""Client kits: cells sending one combination of clients almost no one else sends are one operator's.

:func:`graphlink.stages.campaigns.cluster_similarity` ties two clusters by what an operator moves between its cells
(cards, addresses, its template). An operator that gives each cell its own cards and its own slice of a proxy pool,
and disguises its template, leaves its cells nothing of those to share, and they end in campaigns of their own
(dev pools 1035: each of its three operators in two campaigns of 98-462 accounts; crowds 1046, schedules 1048). Yet
every account of such a cell is run by one scheduler, written with the operator's tooling, and sends its few clients:
``node-fetch/1.0`` *and* ``openai-python/1.3.0``, ``okhttp/3.14.9`` *and* ``Dalvik/2.1.0``. One client says little
(user agents are ambient, :data:`graphlink.stages.campaigns.AMBIENT_KINDS`: thousands send ``python-requests``, and on
dev a1 two operators' cells all send ``Go-http-client/2.0`` alone). A *combination* of clients -- a **kit** -- is
the toolkit's own; what weighs it is who else sends it. Dev pools 1035, accounts sending both clients of a kit:
``Dalvik + okhttp`` 582, of them 581 in operator 1's flagged cells; ``okhttp + python-requests`` 344 (343 operator
2's); ``node-fetch + openai-python`` 585 (547 operator 0's) -- where each client alone is sent by hundreds to
thousands of others (``openai-python`` by 1,871 unflagged accounts).

So a cluster's kit is the set of clients :data:`KIT_SHARE` of its members send, when it holds at least
:data:`KIT_CLIENTS` clients and the cluster has a client signature (:func:`~graphlink.stages.campaign_clients.client_profiles`:
a cell rotating stock browsers has none, its members each sending all 36 agents); two clusters with the same kit are
tied when the kit is **their own**: of the log's accounts sending every client of it, at least :data:`KIT_OWN_SHARE`
are members of clusters carrying it (clusters of any size at least :data:`KIT_SHARE` of whose members send the whole
kit: a card group Leiden cut from a cell is still the cell's). A public script's users, a team on one in-house pair of tools, a browser
and its stock extension: each is a kit many others send, and ties nobody. The tie's weight is that share times the
smaller share of the two clusters' members sending the whole kit, so CPM's ``campaign_resolution`` keeps its meaning.

Kit ties only *add* edges between clusters whose clients agree; they part nothing. Two operators drawing the same
two clients each, and no one else sending that pair, are tied (as one public script's two operators are by its
template, tests/test_brk62.py): the tie is the grouping's, not a flag's, and a campaign's flag moves only through
campaign-wide rules, which the sweep checks. Clients are compared by their folded key
(:func:`~graphlink.stages.campaign_clients.client_keys`: look-alike spellings of one client are one).

Only the grouping reads these ties (``CommunityConfig.client_kits``, opt-in).

Output: ``source, target`` (node numbers, ``source < target``), ``weight`` (Float64, in ``(0, 1]``).
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_clients import CLIENT_KINDS, MIN_SIGNATURE_SIZE, client_keys, client_profiles

__all__ = ["KIT_CLIENTS", "KIT_OWN_SHARE", "KIT_SHARE", "cluster_kits", "kit_ties", "kit_vetoes"]

#: A kit is the clients sent by at least this share of a cluster's members: a toolkit's clients are sent by most of a
#: cell's accounts, a stray agent by a few (``PRINCIPAL_CLIENT_SHARE`` of the client veto, for the same reason).
KIT_SHARE = 0.5
#: ... and holds at least this many clients. One client is a library thousands of scripts are written with (dev a1:
#: two operators' cells all send ``Go-http-client/2.0`` and nothing else; ``python-requests`` everywhere); the
#: combination of two is the tooling one scheduler was written with.
KIT_CLIENTS = 2
#: The kit is the cells' own when at least this share of the log's accounts sending every client of it are members of
#: the clusters carrying it: the public's senders of a kit are what makes it no tie. Three in four: a kit a quarter of
#: whose senders sit outside its cells is a public combination (or the cells are a fraction of its users) and ties
#: nobody; dev pools 1035's three kits are 0.93-1.0 their cells' own.
KIT_OWN_SHARE = 0.75

EMPTY = pl.Schema({"source": pl.UInt32, "target": pl.UInt32, "weight": pl.Float64})


def _held(affiliations: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, client``: every account of the log and the clients (folded keys) it sends, once each."""
    clients = client_keys(signals.filter(pl.col("kind").is_in(list(CLIENT_KINDS))))
    return (affiliations.select("account_idx", "signal_idx").join(clients.select("signal_idx", "client"), on="signal_idx")
            .select("account_idx", "client").unique())


def cluster_kits(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """Each signed cluster's kit, its coverage and how much of the kit's senders it and its kin hold.

    Parameters
    ----------
    node_of : DataFrame
        ``account_idx, node, size``: each clustered account's cluster (a node number) and its size.
    affiliations : DataFrame
        ``account_idx, signal_idx`` of every account of the log (the kit's senders outside clusters count).
    signals : DataFrame
        ``signal_idx, kind`` and, when known, ``value`` (values of the client kinds are read, linked or not).

    Returns
    -------
    DataFrame
        ``node`` (UInt32), ``kit`` (String: the kit's clients, sorted, joined by a tab), ``cover`` (share of the
        node's members sending every client of the kit), ``own`` (share of the log's senders of the whole kit who
        are members of nodes :data:`KIT_SHARE` of whose members send it): one row per node with a kit of :data:`KIT_CLIENTS` or more.

    Examples
    --------
    Clusters 0 and 1 (5 members each) send ``a`` and ``b``; 10 unclustered accounts send ``a`` alone.

    >>> node_of = pl.DataFrame({"account_idx": range(10), "node": [0] * 5 + [1] * 5, "size": [5] * 10},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [*range(10), *range(10), *range(10, 20)],
    ...                     "signal_idx": [0] * 10 + [1] * 10 + [0] * 10}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["user_agent"] * 2, "value": ["a/1", "b/1"]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> cluster_kits(node_of, aff, sig).sort("node").rows()
    [(0, 'a 1\\tb 1', 1.0, 1.0), (1, 'a 1\\tb 1', 1.0, 1.0)]
    """
    out = pl.DataFrame(schema={"node": pl.UInt32, "kit": pl.String, "cover": pl.Float64, "own": pl.Float64})
    big = node_of.filter(pl.col("size") >= MIN_SIGNATURE_SIZE).select(
        pl.col("account_idx").cast(pl.UInt32), pl.col("node").cast(pl.UInt32), "size")
    if big.height == 0:
        return out
    _, _, signed = client_profiles(big, affiliations, signals)
    if signed.height == 0:
        return out
    held = _held(affiliations, signals).with_columns(pl.col("account_idx").cast(pl.UInt32))
    members = big.join(signed.select("node"), on="node", how="semi")
    shares = (held.join(members, on="account_idx").group_by("node", "client")
              .agg((pl.len() / pl.col("size").first()).alias("p")))
    kits = (shares.filter(pl.col("p") >= KIT_SHARE).group_by("node")
            .agg(pl.col("client").sort().alias("clients"))
            .filter(pl.col("clients").list.len() >= KIT_CLIENTS)
            .with_columns(pl.col("clients").list.join("\t").alias("kit")))
    if kits.height == 0:
        return out
    # Senders of every client of a kit, in the whole log: an account holding all of the kit's clients.
    parts = kits.select("kit", pl.col("clients").list.len().alias("k"), pl.col("clients")).unique("kit").explode("clients")
    senders = (parts.rename({"clients": "client"}).join(held, on="client").group_by("kit", "account_idx")
               .agg(pl.len().alias("n"), pl.col("k").first()).filter(pl.col("n") == pl.col("k")).select("kit", "account_idx"))
    # Each sender's cluster (any size, signed or not: a card group cut from a cell is still the cell's) and the share
    # of that cluster's members sending the whole kit; senders in no cluster, or in one where few send it, are the public.
    everyone = node_of.select(pl.col("account_idx").cast(pl.UInt32), pl.col("node").cast(pl.UInt32), "size")
    inside = senders.join(everyone, on="account_idx", how="left")
    whole = inside.drop_nulls("node").group_by("kit", "node").agg(pl.len().alias("whole"), pl.col("size").first())
    carried = whole.filter(pl.col("whole") >= KIT_SHARE * pl.col("size"))
    own = (inside.group_by("kit").agg(pl.len().alias("senders"))
           .join(carried.group_by("kit").agg(pl.col("whole").sum().alias("theirs")), on="kit", how="left")
           .select("kit", (pl.col("theirs").fill_null(0) / pl.col("senders")).alias("own")))
    return (kits.select("node", "kit").join(whole.select("kit", "node", "whole"), on=["kit", "node"], how="left")
            .join(own, on="kit").join(members.select("node", "size").unique("node"), on="node")
            .select("node", "kit", (pl.col("whole").fill_null(0) / pl.col("size")).alias("cover"), "own"))


def kit_ties(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame,
             kits: pl.DataFrame | None = None) -> pl.DataFrame:
    """Pairs of clusters carrying one kit of their own (module docstring): ``source, target, weight``.

    Parameters are :func:`cluster_kits`'; ``kits``, when given, is its result for them (computed once by the
    campaign grouping for ties and vetoes alike). The weight is the kit's own share times the smaller cover of the two.

    Examples
    --------
    >>> node_of = pl.DataFrame({"account_idx": range(10), "node": [0] * 5 + [1] * 5, "size": [5] * 10},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [*range(10), *range(10)], "signal_idx": [0] * 10 + [1] * 10},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1], "kind": ["user_agent"] * 2, "value": ["a/1", "b/1"]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> kit_ties(node_of, aff, sig).rows()
    [(0, 1, 1.0)]
    """
    kits = (cluster_kits(node_of, affiliations, signals) if kits is None else kits).filter(pl.col("own") >= KIT_OWN_SHARE)
    if kits.height < 2:
        return pl.DataFrame(schema=EMPTY)
    pairs = (kits.join(kits, on="kit", suffix="_t").filter(pl.col("node") < pl.col("node_t"))
             .select(pl.col("node").alias("source"), pl.col("node_t").alias("target"),
                     (pl.col("own") * pl.min_horizontal("cover", "cover_t")).alias("weight")))
    return pairs.filter(pl.col("weight") > 0).cast(dict(EMPTY)).sort("source", "target")


def kit_vetoes(node_of: pl.DataFrame, affiliations: pl.DataFrame, signals: pl.DataFrame, pairs: pl.DataFrame,
               carded: pl.DataFrame, kits: pl.DataFrame | None = None) -> pl.DataFrame:
    """The pairs of ``pairs`` whose clusters each carry a kit of their own, each kit holding a client product (a
    client to its major version, :func:`~graphlink.stages.campaign_clients.client_keys`) the other lacks, less ``carded``.

    Two schedulers written with different tooling, each combination sent by almost no one else, are two operators:
    what ties their cells then is what operators share -- a rented proxy pool's exits (dev pools 1035: one pool's
    1,346 addresses made one campaign of three operators' cells, each operator's kit its own), a stock phrase. A card
    (or declared identifier) tie beyond chance (``carded``: :func:`~graphlink.stages.campaign_ties.private_ties`) is
    the operator's own infrastructure moved between its cells and keeps its pair, whatever each cell runs; so does a
    pair with no kit on either side (one client, rotating browsers, a cell too small).

    Parameters
    ----------
    node_of, affiliations, signals : DataFrame
        As for :func:`cluster_kits`.
    pairs : DataFrame
        ``source, target`` (node numbers): the pairs tied.
    carded : DataFrame
        ``source, target``: the pairs tied by cards or declared identifiers.
    kits : DataFrame, optional
        :func:`cluster_kits`' result for these arguments, when already computed.

    Returns
    -------
    DataFrame
        ``source, target`` (UInt32).

    Examples
    --------
    >>> node_of = pl.DataFrame({"account_idx": range(10), "node": [0] * 5 + [1] * 5, "size": [5] * 10},
    ...                        schema_overrides={"account_idx": pl.UInt32, "node": pl.UInt32})
    >>> aff = pl.DataFrame({"account_idx": [*range(10), *range(10)], "signal_idx": [0] * 5 + [2] * 5 + [1] * 10},
    ...                    schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["user_agent"] * 3, "value": ["a/1", "b/1", "c/1"]},
    ...                    schema_overrides={"signal_idx": pl.UInt32})
    >>> pair = pl.DataFrame({"source": [0], "target": [1]}, schema={"source": pl.UInt32, "target": pl.UInt32})
    >>> kit_vetoes(node_of, aff, sig, pair, pair.clear()).rows(), kit_vetoes(node_of, aff, sig, pair, pair).rows()
    ([(0, 1)], [])
    """
    empty = pl.DataFrame(schema={"source": pl.UInt32, "target": pl.UInt32})
    if pairs.height == 0:
        return empty
    kits = (cluster_kits(node_of, affiliations, signals) if kits is None else kits).filter(pl.col("own") >= KIT_OWN_SHARE).select("node", "kit")
    if kits.height < 2:
        return empty
    # Kits are apart when each holds a product the other lacks (brk63): a minor release rolled onto some cells first,
    # or a tool added to a later cell, is one operator's kit grown, not another operator's (client_keys' products).
    products = client_keys(signals.filter(pl.col("kind").is_in(list(CLIENT_KINDS)))).select("client", "product").unique("client")
    made = (kits.with_columns(pl.col("kit").str.split("\t").alias("client")).explode("client")
            .join(products, on="client", how="left").group_by("node")
            .agg(pl.col("product").fill_null(pl.col("client")).unique().alias("products")))
    ends = pairs.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32))
    apart = (ends.join(made.rename({"node": "source"}), on="source")
             .join(made.rename({"node": "target", "products": "products_t"}), on="target")
             .filter((pl.col("products").list.set_difference("products_t").list.len() > 0)
                     & (pl.col("products_t").list.set_difference("products").list.len() > 0)).select("source", "target"))
    return apart.join(carded.select(pl.col("source").cast(pl.UInt32), pl.col("target").cast(pl.UInt32)),
                      on=["source", "target"], how="anti")
