"""Rotation ties need corroboration: a rotation block ties only rotators something other than the pool links.

A rotation block (:func:`graphlink.stages.signals.ip_lines.rotation_networks`) is an IPv6 network where the
accounts seen with close requests mostly draw a fresh /64 across its /56s per request. An operator's rented /48 is
one; so is a privacy relay's /48 (a fresh /64 of the relay's prefix per connection, shared by everyone using the
relay), a campus handing out a /64 per device association across buildings' /56s, or a carrier whose phones
reconnect between requests. Six strangers on a relay among 70 IPv4 users made one cluster flagged at 0.60 (break-it
brk51, session 51): the pool is a product many people use, not evidence of one hand.

What strangers sharing a pool do not share is the operator: its cards, its templates, its clock. So the pool ties
two of its rotators only through a **corroborating value**: a value of a kind that is not network evidence
(``ip``, ``ip_net``, ``asn``, the pool itself) nor the client (``user_agent``: a relay is a browser's feature, its
users send one stock user agent), held by more of the block's rotators than chance allows. Chance: a value held
by ``df`` of the log's ``N`` accounts falls on ``k`` of the block's ``n`` rotators as a Poisson count of mean
``n * df / N`` (the block a random draw of the log's accounts); the value corroborates when ``k >= 2`` and the tail
``P(X >= k)`` is under :data:`CORROBORATION_ALPHA` divided by the values tested in the block (Bonferroni). A card
two rotators share passes at once (mean ~0); an operator's template held by its cells passes (dev templates
1000-1030: a 198-rotator block holds its template ~100 times against a mean ~10); a popular public template, a
shared creation hour or activity signature that the relay's users hold at the log's own rate does not. Network
evidence is left out because a relay's IPv4 egress addresses are the relay again.

A phrase (a prompt shingle: a template's words) must also be an **operator's template**, not a product's. The
chance test takes the block as a random draw of the log, but a hosted agent platform's (or relay's) users write its
framework's public template *because* of the network: 30 strangers on a platform's /48, each with its own card and
questions, were tied by it and flagged at 0.97-1.0 (break-it brk52, session 52). What the platform's users lack is
what an operator's accounts have besides the template: links, and links that make *one* hand. So a phrase ties only
the writers of **one linked group holding most of its writers on the block** (:func:`_operators_phrases`): the
groups are the connected components of the block's writers of the phrase and the non-phrase values linking them --
a card, clock or other value corroborated in the block, or a value of a linking kind (:data:`NOT_LINKING` excluded)
most of whose holders write the phrase (an operator's cells on their proxy addresses and cards, dev templates 1000:
140 of a 157-writer cell of unique cards share its proxy addresses), whose other holders, on the block or off it,
bridge too. Counting *linked writers* instead (ties54) let 8 two-person families on a carrier's /48, 16 of 30 phones
on a family card each, make a viral public prompt "an operator's" and tie all 30 phones, and joined two operators
renting one /48 on a public framework template, each linked by its own cards (break-it brk54): eight groups of 2 and
two groups of 8 of 16 hold no majority, so the phrase ties none of them (each operator stays tied by its cards).
Counting off-block writers as a majority of their own (session 53) let five companies using a framework in house
tie 30 platform strangers (brk53); off the block, only writers a block writer's value reaches count, as bridges.
A phrase no linked group dominates on the block is a platform's as much as an operator's and ties nobody; a ring's
cards or scheduler still do. A card two rotators share links them here (a couple's card, under the card pools'
``POOL_HOLDERS``, still ties its pair only: a group of 2 is a majority of no block with 4+ writers of the phrase).

A tied rotator's IP spread counts every brief /64 it drew from the pool (:func:`fold_drawn`), not only those after a
close request: the tie says the pool is an operator's.

The rotators of a block linked through corroborating values (connected components: two rotators sharing a value
are linked, chains included) share the block as one value each; a rotator linked to none keeps its rotation (the
score's IP spread, ``ip_lines``) but gets no tie. A ring's rotators hold its cards and templates, so its block
stays one value (or a few, one per card group); strangers on a relay get none.

Examples
--------
>>> rotation = pl.DataFrame({"account_idx": [0, 1, 2, 3], "kind": "ip_rotation", "value_key": 9, "count": 1},
...                          schema_overrides={"account_idx": pl.UInt32, "value_key": pl.UInt64, "count": pl.UInt32})
>>> texts = pl.DataFrame({"kind": ["ip_rotation"], "value_key": [9], "value": ["2001:db8::/48"]},
...                      schema_overrides={"value_key": pl.UInt64})
>>> cards = rotation.head(3).with_columns(kind=pl.lit("payment"), value_key=pl.Series([5, 5, 6], dtype=pl.UInt64))
>>> tied, named = corroborated_rotation(rotation, texts, cards, n_accounts=1_000)  # 0 and 1 share card 5
>>> tied["account_idx"].to_list(), named["value"].to_list()
([0, 1], ['2001:db8::/48'])
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.stages.signals.ip_lines import DRAWN_KIND

__all__ = ["CORROBORATION_ALPHA", "NOT_CORROBORATING", "NOT_LINKING", "PHRASE_KINDS", "corroborated_rotation", "fold_drawn"]

#: Kinds that never corroborate a rotation tie: network evidence (a relay's IPv4 egress is the relay again) and the
#: client (a relay is a browser's feature: its users send one stock user agent).
NOT_CORROBORATING = ("ip", "ip_net", "asn", "ip_rotation", "user_agent")

#: Kinds whose values are writing (prompt phrases: a template's shingles). A product's users write its framework's
#: template because of the network, so a phrase corroborates only as an operator's template
#: (:func:`_operators_phrases`).
PHRASE_KINDS = ("prompt",)

#: Kinds that never make a phrase's holder off the block *linked*: networks and attributes many strangers share
#: (``ip_net``, ``asn``, the pool, the client, an e-mail domain, an account-creation hour). An address, a card, an
#: activity signature or a ``--signal`` value can: a cell's proxy address or card is held by the cell.
NOT_LINKING = ("ip_net", "asn", "ip_rotation", "user_agent", "email_domain", "created_hour")

#: Family-wise chance, per block, that some value falls on two or more of its rotators beyond chance although the
#: block's rotators were drawn at random from the log (Bonferroni over the values tested there). 0.001: one chance
#: corroboration in a thousand blocks of strangers; a ring's card or template clears it by many orders (module
#: docstring).
CORROBORATION_ALPHA = 1e-3


def corroborated_rotation(rotation: pl.DataFrame, texts: pl.DataFrame, pairs: pl.DataFrame, n_accounts: int
                          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(tied, texts)``: each rotation block's ties kept only among rotators a corroborating value links.

    Parameters
    ----------
    rotation : polars.DataFrame
        The ``ip_rotation`` pairs (``account_idx`` UInt32, ``kind``, ``value_key`` UInt64: the block's network,
        ``count``; :func:`graphlink.stages.signals.ip.ip_pairs`): a block's rotators.
    texts : polars.DataFrame
        ``kind, value_key, value``: the blocks' text.
    pairs : polars.DataFrame
        Every other account-value pair of the log (same schema; :mod:`graphlink.stages.signals`).
    n_accounts : int
        Accounts in the log (N of the chance model, module docstring).

    Returns
    -------
    tuple of polars.DataFrame
        ``rotation`` and ``texts`` keyed anew: one value per linked group of 2+ rotators of a block (``value_key``
        numbered from 2**32 in (network, first member) order, the network's text); rotators linked to nobody
        dropped. Empty when nobody is linked.
    """
    members = rotation.select("account_idx", pl.col("value_key").alias("block"))
    groups = _linked_groups(pairs, members, n_accounts)
    tied = rotation.join(groups.rename({"block": "value_key"}), on=["account_idx", "value_key"])
    named = (tied.select("value_key", "group").unique()
             .join(texts.select("value_key", "value"), on="value_key", how="left")
             .select(pl.lit("ip_rotation").alias("kind"), pl.col("group").alias("value_key"), "value"))
    tied = tied.select("account_idx", "kind", pl.col("group").alias("value_key"), "count")
    return tied.cast(dict(rotation.schema)), named.cast(dict(texts.schema))


def fold_drawn(counts: pl.DataFrame, tied: pl.DataFrame) -> pl.DataFrame:
    """``counts`` with each tied rotator's drawn /64s added to its ``ip_lines`` and the :data:`DRAWN_KIND` rows dropped.

    Parameters
    ----------
    counts : polars.DataFrame
        ``account_idx, kind, n_values``: the signals' value counts, with :data:`DRAWN_KIND` rows (a block rotator's
        fresh, brief /64s beyond its close changes, :func:`graphlink.stages.signals.ip_lines.rotation_networks`).
    tied : polars.DataFrame
        The ``ip_rotation`` pairs :func:`corroborated_rotation` kept (``account_idx``).

    Returns
    -------
    polars.DataFrame
        ``counts`` (same schema) less the :data:`DRAWN_KIND` rows, ``ip_lines`` raised for tied rotators only: a
        rotator of a pool nothing corroborates (a relay's user) keeps the changes after its close requests.
        An account in two blocks, tied in one, has the /64s of both added (each block's are not kept apart).
    """
    drawn = counts.filter(pl.col("kind") == DRAWN_KIND)
    rest = counts.filter(pl.col("kind") != DRAWN_KIND)
    extra = (drawn.join(tied.select("account_idx").unique(), on="account_idx", how="semi")
             .select("account_idx", pl.col("n_values").alias("extra")))
    if not extra.height:
        return rest
    lines = pl.col("kind") == "ip_lines"
    return (rest.join(extra, on="account_idx", how="left")
            .with_columns(pl.when(lines).then(pl.col("n_values") + pl.col("extra").fill_null(0))
                          .otherwise(pl.col("n_values")).cast(counts.schema["n_values"]).alias("n_values"))
            .drop("extra"))


def _linked_groups(pairs: pl.DataFrame, members: pl.DataFrame, n_accounts: int) -> pl.DataFrame:
    """``account_idx, block, group``: rotators in a linked group of 2+ (module docstring), ``group`` its new key."""
    # the rotators' values first (a semi join: nothing of the log's pairs is copied), then those values' holders
    held = (pairs.join(members.select("account_idx").unique(), on="account_idx", how="semi")
            .filter(~pl.col("kind").is_in(NOT_CORROBORATING)).select("account_idx", "kind", "value_key"))
    df = (pairs.join(held.select("kind", "value_key").unique(), on=["kind", "value_key"], how="semi")
          .group_by("kind", "value_key").agg(pl.len().alias("df")))
    size = members.group_by("block").agg(pl.len().alias("n"))
    inside = (held.join(members, on="account_idx")
              .group_by("block", "kind", "value_key").agg(pl.len().alias("k"))
              .filter(pl.col("k") >= 2).join(df, on=["kind", "value_key"]).join(size, on="block"))
    tested = pl.len().over("block")
    mean = (pl.col("n") * pl.col("df")).cast(pl.Float64) / max(n_accounts, 1)
    from scipy.stats import poisson  # here: scipy.stats costs ~1-2 s of CPU to import on every command (suite55)
    tail = poisson.sf(inside["k"].to_numpy() - 1, inside.select(mean).to_series().to_numpy())
    kept = (inside.with_columns(pl.Series("tail", tail, dtype=pl.Float64), tested.alias("tested"))
            .filter(pl.col("tail") < CORROBORATION_ALPHA / pl.col("tested")).select("block", "kind", "value_key"))
    links = _operators_phrases(held.join(members, on="account_idx").join(kept, on=["block", "kind", "value_key"]),
                               pairs, members)
    empty = pl.DataFrame(schema={"account_idx": pl.UInt32, "block": pl.UInt64, "group": pl.UInt64})
    if not links.height:
        return empty
    # A bipartite graph of (block, rotator) and (block, value) nodes: its components are the linked groups.
    rotators = links.select("block", "account_idx").unique().sort("block", "account_idx").with_row_index("node")
    shared = (links.select("block", "kind", "value_key").unique().sort("block", "kind", "value_key")
              .with_row_index("vnode").with_columns(pl.col("vnode") + rotators.height))
    edges = links.join(rotators, on=["block", "account_idx"]).join(shared, on=["block", "kind", "value_key"])
    n = rotators.height + shared.height
    from scipy.sparse import coo_matrix  # here, as poisson: scipy.sparse loads in ~0.5 s on every command
    from scipy.sparse.csgraph import connected_components
    graph = coo_matrix((np.ones(edges.height), (edges["node"].to_numpy(), edges["vnode"].to_numpy())), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    grouped = rotators.with_columns(pl.Series("label", label[: rotators.height]))
    grouped = grouped.filter(pl.len().over("label") >= 2)
    first = pl.col("account_idx").min().over("label")
    key = (2**32 + pl.struct(pl.col("block"), first).rank("dense") - 1).cast(pl.UInt64)
    return grouped.select("account_idx", "block", key.alias("group")).cast(dict(empty.schema))




def _operators_phrases(links: pl.DataFrame, pairs: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """``links`` less the prompt phrases that are no operator's template (a product's, module docstring).

    The block's writers of a phrase fall in linked groups: components of the writers and the values linking them --
    a card, clock or other non-phrase value corroborated in the block, or a value of a linking kind (not
    :data:`NOT_LINKING`) most of whose holders write the phrase (a cell's proxy address or card; its other holders,
    on the block or off it, bridge). The phrase stays a link in the block for the writers of the one group of 2+
    holding most of its writers there, and for nobody else: eight families of 2 or two operators of 8 on one /48 make
    no majority (break-it brk54); writers off the block that no block writer's value reaches count for nothing
    (companies using a framework in house, break-it brk53).
    """
    phrase = pl.col("kind").is_in(PHRASE_KINDS)
    other = links.filter(~phrase)
    phrases = links.filter(phrase).select("block", "account_idx", pkind="kind", pkey="value_key")
    if not phrases.height:
        return other
    holders = (pairs.join(phrases.select(kind="pkind", value_key="pkey").unique(), on=["kind", "value_key"],
                          how="semi").select("account_idx", pkind="kind", pkey="value_key"))
    # the block writers' own values of a linking kind, who else holds them, and how many of those write the phrase
    theirs = (pairs.join(phrases.select("account_idx").unique(), on="account_idx", how="semi")
              .filter(pl.col("kind").is_in(PHRASE_KINDS + NOT_LINKING).not_()).select("account_idx", "kind", "value_key"))
    with_them = (pairs.join(theirs.select("kind", "value_key").unique(), on=["kind", "value_key"], how="semi")
                 .select("account_idx", "kind", "value_key"))
    shared = with_them.group_by("kind", "value_key").len("holders").filter(pl.col("holders") >= 2)
    writers = (with_them.join(holders, on="account_idx").group_by("kind", "value_key", "pkind", "pkey").len("writers")
               .join(shared, on=["kind", "value_key"]).filter(2 * pl.col("writers") > pl.col("holders")))
    # Linked groups, per block and phrase: components of the block writers and the values linking them -- values
    # corroborated in the block (cards, clocks) and values most of whose holders write the phrase (then their other
    # holders, on the block or off it, bridge too). One group holding most of the block's writers is an operator's.
    keys = ["block", "pkind", "pkey"]
    inner = phrases.join(other, on=["block", "account_idx"]).select(*keys, "account_idx", "kind", "value_key")
    outer = (with_them.join(holders, on="account_idx").join(writers.select("kind", "value_key", "pkind", "pkey"),
                                                             on=["kind", "value_key", "pkind", "pkey"], how="semi")
             .join(phrases.select(keys).unique(), on=["pkind", "pkey"])
             .select(*keys, "account_idx", pl.col("kind").cast(inner.schema["kind"]),
                     pl.col("value_key").cast(inner.schema["value_key"])))
    edges = pl.concat([inner, outer]).unique()
    nodes = pl.concat([phrases.select(*keys, "account_idx"), edges.select(*keys, "account_idx")]).unique()
    nodes = nodes.sort(*keys, "account_idx").with_row_index("node")
    values = (edges.select(*keys, "kind", "value_key").unique().sort(*keys, "kind", "value_key")
              .with_row_index("vnode").with_columns(pl.col("vnode") + nodes.height))
    e = edges.join(nodes, on=[*keys, "account_idx"]).join(values, on=[*keys, "kind", "value_key"])
    n = nodes.height + values.height
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    graph = coo_matrix((np.ones(e.height), (e["node"].to_numpy(), e["vnode"].to_numpy())), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    on_block = phrases.join(nodes, on=[*keys, "account_idx"])
    on_block = on_block.with_columns(pl.Series("label", label[on_block["node"].to_numpy()]))
    sized = on_block.with_columns(pl.len().over(keys).alias("n"), pl.len().over([*keys, "label"]).alias("g"))
    kept = (sized.filter((2 * pl.col("g") > pl.col("n")) & (pl.col("g") >= 2))
            .select("block", "account_idx", kind="pkind", value_key="pkey"))
    return pl.concat([other, links.filter(phrase).join(kept, on=["block", "account_idx", "kind", "value_key"],
                                                       how="semi")])
