"""Misplaced members: a member paying only with another cluster's cards, tied to its own only otherwise, moves there.

Leiden places an account where its evidence sums highest, and an address pool two operators rent gives a member of
one operator's cell dozens of addresses in common with the other operator's cell beside a card or two in common with
its own. CPM then keeps it where the addresses are: dev pools 1035 left 49 of operator 1's accounts inside operator
2's 333-account cell, each paying with a card 45-65 accounts of operator 1's own cell pay with and 1-19 of the
contaminated cell (all of them those misplaced accounts). Such a member carries its operator's cards into the foreign
cluster, and the campaign grouping, which ties clusters by the cards they share beyond chance, then ties the two
operators' cells (0.969) and makes them one campaign (BENCHMARKS.md, session 58, helper op58; the fresh test world of
this kind merged all its operators). What the grouping reads cannot part them: the cluster itself holds both.

Rule. A card (a value of a private tie kind: :data:`graphlink.stages.campaigns.PRIVATE_TIE_KINDS` and declared strong
kinds) is *carried* by member ``m`` of cluster ``A`` when one other cluster ``D`` holds it through at least
:data:`MIN_HOME_HOLDERS` members and through more members than ``A``'s others do -- the card is ``D``'s, ``m`` one of
its payers sitting elsewhere. A card ``m`` shares with another member of ``A`` that is not carried is ``A``'s and
keeps ``m`` where it is. ``m`` is *misplaced* when

1. it holds one or more carried cards and no card of ``A``'s (its own cluster's evidence of payment points away);
2. beside the cards it shares a value of another linked kind with ``D``'s members (an address, a template passage):
   a card alone is where a card's owner meets the accounts paying with it (a stolen card: the owner is no member of
   the cluster that pays with it; :mod:`graphlink.stages.pendants`' ``MEETING_KINDS`` reads one card the same way);
   and what it does (:data:`BEHAVIOUR_KINDS`: template passages, clock) it shares with ``A``'s other members in no
   more values than with ``D``'s -- its tie to ``A`` is where it connects from (a rented pool), not what it does;
3. it is one of fewer than half of ``A``'s members so placed: a cluster most of whose members pay with another's
   cards is that one's sibling, not its contamination (dev pools 1031: 20 of a 33-account cell of operator 1 paying
   with the cards of operator 1's 466-account cell); and :data:`MIN_REMNANT` or more members stay; and no member
   staying shares more behaviour values (:data:`BEHAVIOUR_KINDS`) with the movers than with the others staying while
   sharing one with ``m`` -- ``m`` is what that member is tied to its cluster by, and a move must not unflag a member
   that was flagged where it stood (session 60, def60: dev d304 / d305, a ring account left among people on its
   exits);
4. ``A`` and ``D`` without the members so placed are no campaign: their remaining members pay with no common card,
   and the campaign grouping's similarity of the two (:func:`graphlink.stages.campaigns.cluster_similarity`) is
   under ``campaign_resolution``. Cells of one operator trade cards between them (dev independent world d300, without this
   test: 152 accounts moved, every one within its own operator and 137 out of their own cell, ARI by cell 0.605 ->
   0.541); moving them would only cut cells the grouping joins anyway. A member is
   misplaced when it carries the only tie between two clusters that are otherwise not one operator's.

``D`` is the cluster holding most of ``m``'s carried cards' payers (ties: the smaller cluster id). One pass over
the clusters Leiden and the splits made, before they are judged: no chains (a move makes no card anyone's), and a
cluster moved members leave keeps the ones they leave; a cluster left under ``min_cluster_size`` is dissolved as
any other (:func:`graphlink.stages.communities.renumber`). The moved members take ``D``'s whole, so they are in its
campaign, and the step is named in each moved member's row and the ``why`` of the cluster it joined
(:mod:`graphlink.stages.join_notes`).

Output schema
-------------
:func:`misplaced_members` returns ``account_idx`` (UInt32), ``cluster_id`` (the cluster it sits in), ``home`` (the
cluster its cards are, Int64), ``values`` (List(UInt32): the carried cards' ``signal_idx``), sorted by account.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import CommunityConfig, GraphConfig
from graphlink.stages.campaign_flags import SPECIFIC_SHARE
from graphlink.stages.campaigns import PRIVATE_TIE_KINDS, TIE_KINDS, cluster_similarity, is_tie_kind

__all__ = ["BEHAVIOUR_KINDS", "MIN_HOME_HOLDERS", "MIN_REMNANT", "tied_without", "MISPLACED_SCHEMA", "card_kinds", "misplaced_members", "moved_home"]

#: A card is another cluster's when at least this many of that cluster's members pay with it: two payers make it
#: the cluster's pool (one is a pair that met on the card, a couple's card or a resold one), and more than ``m``'s
#: own cluster's other payers. On the dev pools worlds the carried cards have 5-65 payers in their home cluster.
MIN_HOME_HOLDERS = 2
#: What a member does, not where it connects from: the template passages it writes and the clock it keeps. A member
#: whose passages or clock it shares with more of its own cluster's values than of the home cluster's is its own
#: cluster's, whoever's cards it pays with (dev d300: accounts of one operator's cell writing its own template variant,
#: 62 passages in common with their cell against 29 with the cell whose card they pay with, were moved without it).
BEHAVIOUR_KINDS = ("prompt", "burst", "timing")
#: A cluster keeps at least this many members once its misplaced ones leave: the others of a smaller one may have been
#: joined only through the one leaving, and the judgement of what is left reads them anew (dev d300 / d302: a ring
#: account moved out of a three-account cluster left a ring account and a person on its exit, whom the bystander
#: test had set apart beside the pair's card, as a flagged pair). Three: the smallest cluster a member can leave a
#: bound pair in.
MIN_REMNANT = 3
MISPLACED_SCHEMA = pl.Schema({"account_idx": pl.UInt32, "cluster_id": pl.Int64, "home": pl.Int64,
                              "values": pl.List(pl.UInt32)})


def card_kinds(signals: pl.DataFrame, graph_config: GraphConfig | None = None) -> list[str]:
    """The kinds of ``signals`` that are cards here: private tie kinds (payment) and declared strong kinds
    (device ids, card BINs), as :func:`graphlink.stages.campaigns.cluster_similarity`'s private ties read them."""
    return [k for k in signals["kind"].unique().sort().to_list()
            if is_tie_kind(k, graph_config) and (k in PRIVATE_TIE_KINDS or k not in TIE_KINDS)]


def tied_without(clustered: pl.DataFrame, moving: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                 graph_config: GraphConfig | None, config: CommunityConfig | None, n_accounts: int | None) -> pl.DataFrame:
    """``cluster_id, home``: the pairs of ``moving`` (``account_idx, cluster_id, home``) whose clusters, without the
    moving members, are tied at ``campaign_resolution`` or more by the campaign grouping's similarity
    (:func:`graphlink.stages.campaigns.cluster_similarity`; a pair's similarity reads only its two clusters' values,
    so only the clusters of the pairs are compared)."""
    config = config or CommunityConfig()
    pairs = moving.select("cluster_id", "home").unique()
    involved = pl.concat([pairs["cluster_id"], pairs["home"]]).unique()
    sub = (clustered.filter(pl.col("cluster_id").is_in(involved.implode()))
           .join(moving.select("account_idx"), on="account_idx", how="anti"))
    n = n_accounts if n_accounts is not None else max(int(clustered["account_idx"].max() or 0) + 1, 1)
    node, _, edges = cluster_similarity(sub, memberships.join(sub.select("account_idx"), on="account_idx", how="semi"),
                                        signals, graph_config or GraphConfig(), config, n)
    tied = (edges.filter(pl.col("weight") >= config.campaign_resolution)
            .join(node.rename({"node": "source", "cluster_id": "a"}), on="source")
            .join(node.rename({"node": "target", "cluster_id": "b"}), on="target").select("a", "b"))
    both = pl.concat([tied.select(pl.col("a").alias("cluster_id"), pl.col("b").alias("home")),
                      tied.select(pl.col("b").alias("cluster_id"), pl.col("a").alias("home"))])
    return pairs.join(both.cast({"cluster_id": pl.Int64, "home": pl.Int64}), on=["cluster_id", "home"], how="semi")


def misplaced_members(partition: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame,
                      graph_config: GraphConfig | None = None, config: CommunityConfig | None = None,
                      n_accounts: int | None = None) -> pl.DataFrame:
    """The members whose cards are another cluster's and who are tied to it beside them (module docstring).

    Parameters
    ----------
    partition : DataFrame
        ``account_idx, cluster_id`` (null: in no cluster).
    memberships : DataFrame
        ``account_idx, signal_idx`` (the projection's memberships; any superset of the clustered accounts' rows).
    signals : DataFrame
        ``signal_idx, kind, df, weight, linked`` (the projection's signals).
    graph_config : GraphConfig, optional
        Which declared kinds are strong (cards), and the grouping's kind weights.
    config : CommunityConfig, optional
        ``campaign_resolution``: two clusters tied at it without the movers are one campaign already.
    n_accounts : int, optional
        Accounts in the log (the grouping's pseudo-mass and chance); by default the largest clustered number plus one.

    Returns
    -------
    DataFrame
        :data:`MISPLACED_SCHEMA`, one row per misplaced member.

    Examples
    --------
    >>> part = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4, 5, 6], "cluster_id": [1, 1, 1, 2, 2, 2, 1]},
    ...                     schema_overrides={"account_idx": pl.UInt32})
    >>> # card 0: cluster 2's three members and account 6 of cluster 1; address 1: cluster 1 and account 6 ...
    >>> aff = pl.DataFrame({"account_idx": [3, 4, 5, 6, 0, 1, 2, 6, 6, 3],
    ...                     "signal_idx": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]},
    ...                    schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    >>> sig = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["payment", "ip", "ip"], "df": [4, 4, 2],
    ...                     "weight": [1.0] * 3, "linked": [True] * 3}, schema_overrides={"signal_idx": pl.UInt32})
    >>> misplaced_members(part, aff, sig).select("account_idx", "cluster_id", "home").rows()  # ... address 2: 6 and 3
    [(6, 1, 2)]
    """
    empty = pl.DataFrame(schema=MISPLACED_SCHEMA)
    kinds = card_kinds(signals, graph_config)
    clustered = partition.drop_nulls("cluster_id").select("account_idx", pl.col("cluster_id").cast(pl.Int64))
    if not kinds or clustered.is_empty():
        return empty
    cards = signals.filter(pl.col("kind").is_in(kinds) & pl.col("linked"))["signal_idx"]
    held = memberships.filter(pl.col("signal_idx").is_in(cards.implode())).join(clustered, on="account_idx")
    # Payers of each card per cluster; a card one account holds ties nobody.
    per = held.group_by("signal_idx", "cluster_id").agg(pl.len().alias("n")).filter(pl.col("n").sum().over("signal_idx") > 1)
    if per.is_empty():
        return empty
    # Each member's cards: payers in its own cluster besides it, and the other cluster holding the most payers.
    mine = held.join(per.select("signal_idx", "cluster_id", pl.col("n").alias("inside")), on=["signal_idx", "cluster_id"])
    # (The two clusters holding the most payers of each card, found once per card: a card many clusters pay with,
    # joined to every holder for every cluster, is quadratic at 224,000 accounts.)
    ranked = (per.sort("n", "cluster_id", descending=[True, False]).with_columns(pl.int_range(pl.len()).over("signal_idx").alias("r"))
              .filter(pl.col("r") < 2))
    first, second = (ranked.filter(pl.col("r") == r).select("signal_idx", pl.col("cluster_id").alias(f"c{r}"), pl.col("n").alias(f"n{r}"))
                     for r in (0, 1))
    away = pl.col("c0") != pl.col("cluster_id")
    cards_of = (mine.join(first, on="signal_idx", how="left").join(second, on="signal_idx", how="left")
                .with_columns(home=pl.when(away).then(pl.col("c0")).otherwise(pl.col("c1")),
                              there=pl.when(away).then(pl.col("n0")).otherwise(pl.col("n1")))
                .with_columns(carried=((pl.col("there") >= MIN_HOME_HOLDERS) & (pl.col("there") > pl.col("inside") - 1)).fill_null(False)))
    # 1. Carried cards, none of its own cluster's (a card another member of it pays with that is not carried).
    own = (pl.col("inside") > 1) & ~pl.col("carried")
    member = (cards_of.group_by("account_idx", "cluster_id")
              .agg(own.any().alias("own"), pl.col("carried").any().alias("carries"))
              .filter(pl.col("carries") & ~pl.col("own")).select("account_idx", "cluster_id"))
    if member.is_empty():
        return empty
    carried = cards_of.filter("carried").join(member, on=["account_idx", "cluster_id"], how="semi")
    # Home: the cluster most of its carried cards' payers are in.
    home = (carried.group_by("account_idx", "home").agg(pl.col("there").sum(), pl.col("signal_idx").sort().alias("values"))
            .sort("there", "home", descending=[True, False]).group_by("account_idx", maintain_order=True).first()
            .join(member, on="account_idx").select("account_idx", "cluster_id", "home", "values"))
    # 2. Beside the cards, another linked value shared with the home cluster's members; and its behaviour (what it
    # writes, when it acts) ties it to its own cluster no more than to the home one.
    # The value met beside the cards is the two clusters' own -- SPECIFIC_SHARE of its holders in the log (``df``) are
    # their members (a pool both rent is): a carrier's NAT exit or a stock client thousands share is where anyone meets
    # anyone (break-it review brk59: a stolen card's owner on one CGNAT address with a ring member moved into the ring).
    df = pl.col("df") if "df" in signals.columns else pl.lit(None, pl.UInt32)
    other = signals.filter(pl.col("linked") & ~pl.col("kind").is_in(kinds)).select("signal_idx", "kind", df.alias("__df"))
    theirs = (memberships.filter(pl.col("account_idx").is_in(home["account_idx"].implode()))
              .join(other, on="signal_idx").join(home.select("account_idx", "cluster_id", "home"), on="account_idx"))
    # Holders counted per value and cluster, in the two clusters of each candidate only (a clock bucket or a popular
    # passage has tens of thousands of holders at 224,000 accounts).
    near = clustered.filter(pl.col("cluster_id").is_in(pl.concat([home["cluster_id"], home["home"]]).unique().implode()))
    at = (memberships.filter(pl.col("signal_idx").is_in(theirs["signal_idx"].unique().implode())).join(near, on="account_idx")
          .group_by("signal_idx", "cluster_id").agg(pl.len().alias("k")))
    shared = (theirs.join(at, on=["signal_idx", "cluster_id"], how="left")
              .join(at.rename({"cluster_id": "home", "k": "k_home"}), on=["signal_idx", "home"], how="left")
              .select("account_idx", "signal_idx", "kind", here=pl.col("k").fill_null(0) > 1, there=pl.col("k_home").fill_null(0) > 0,
                      theirs_own=(pl.col("k").fill_null(0) + pl.col("k_home").fill_null(0) >= SPECIFIC_SHARE * pl.col("__df")).fill_null(True)))
    behaviour = pl.col("kind").is_in(BEHAVIOUR_KINDS)
    verdict = shared.group_by("account_idx").agg(
        (pl.col("there") & pl.col("theirs_own")).any().alias("met"),
        (behaviour & pl.col("here")).sum().alias("here_b"), (behaviour & pl.col("there")).sum().alias("there_b"))
    home = home.join(verdict.filter(pl.col("met") & (pl.col("here_b") <= pl.col("there_b"))), on="account_idx", how="semi")
    # 3. A minority of its cluster: a cluster most of whose members pay with another's cards is that one's sibling.
    # ... leaving MIN_REMNANT or more behind.
    sizes = clustered.group_by("cluster_id").agg(pl.len().alias("size"))
    size = pl.col("cluster_id").replace_strict(sizes["cluster_id"], sizes["size"], default=0)
    home = home.filter((pl.len().over("cluster_id") * 2 < size) & (size - pl.len().over("cluster_id") >= MIN_REMNANT))
    if home.is_empty():
        return empty
    # 3b. No member staying behind is left without what it does: one that shares more behaviour values with the
    # movers than with the others staying was tied to its cluster through them, and a move that takes them would leave
    # it to be judged among strangers (dev d304 / d305: a ring account whose template only the mover wrote beside it,
    # left with two people on its exits, lost the flag it had where it stood). The movers it shares them with stay.
    home = home.join(_stranding(clustered, home, memberships, signals), on="account_idx", how="anti")
    if home.is_empty():
        return empty
    # 4. The two clusters' own members share no card and are no campaign without the movers: cells of one operator
    # trading cards are no contamination (the grouping joins them anyway, and a move would only cut a cell).
    stay = held.join(home.select("account_idx"), on="account_idx", how="anti")
    pairs = home.select("cluster_id", "home").unique()
    traded = (stay.join(stay.select("signal_idx", pl.col("cluster_id").alias("home")), on="signal_idx")
              .join(pairs, on=["cluster_id", "home"], how="semi").select("cluster_id", "home").unique())
    home = home.join(traded, on=["cluster_id", "home"], how="anti")
    if home.is_empty():
        return empty
    home = home.join(tied_without(clustered, home, memberships, signals, graph_config, config, n_accounts),
                     on=["cluster_id", "home"], how="anti")
    return (home.sort("account_idx")
            .select(pl.col("account_idx").cast(pl.UInt32), pl.col("cluster_id").cast(pl.Int64), pl.col("home").cast(pl.Int64),
                    pl.col("values").cast(pl.List(pl.UInt32))))


def _stranding(clustered: pl.DataFrame, movers: pl.DataFrame, memberships: pl.DataFrame, signals: pl.DataFrame) -> pl.DataFrame:
    """``account_idx`` of the ``movers`` (``account_idx, cluster_id``) that share a behaviour value with a member
    staying in their cluster who holds more behaviour values in common with its cluster's movers than with the
    others staying (step 3b of :func:`misplaced_members`)."""
    behaviour = signals.filter(pl.col("linked") & pl.col("kind").is_in(BEHAVIOUR_KINDS)).select("signal_idx")
    around = (clustered.filter(pl.col("cluster_id").is_in(movers["cluster_id"].unique().implode()))
              .join(movers.select("account_idx", pl.lit(True).alias("moving")), on="account_idx", how="left")
              .with_columns(pl.col("moving").fill_null(False)))
    held = memberships.join(behaviour, on="signal_idx", how="semi").join(around, on="account_idx")
    per = held.group_by("cluster_id", "signal_idx").agg(pl.col("moving").sum().alias("movers"),
                                                         (~pl.col("moving")).sum().alias("staying"))
    staying = (held.filter(~pl.col("moving")).join(per, on=["cluster_id", "signal_idx"])
               .group_by("account_idx", "cluster_id").agg((pl.col("movers") > 0).sum().alias("with_movers"),
                                                          (pl.col("staying") > 1).sum().alias("with_staying"),
                                                          pl.col("signal_idx").filter(pl.col("movers") > 0).alias("values")))
    stranded = (staying.filter(pl.col("with_movers") > pl.col("with_staying")).explode("values")
                .select("cluster_id", pl.col("values").alias("signal_idx")).unique())
    return held.filter("moving").join(stranded, on=["cluster_id", "signal_idx"], how="semi").select("account_idx").unique()


def moved_home(partition: pl.DataFrame, wholes: pl.DataFrame | None, misplaced: pl.DataFrame,
               ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``(partition, wholes)`` with each misplaced member in its home cluster and its home's whole.

    ``partition`` keeps its columns and order; ``wholes`` (``account_idx, cluster_id`` and any other columns, or
    None) gives a moved member the whole its home cluster's first member has (a cluster lies in one whole).
    """
    if misplaced.is_empty():
        return partition, wholes
    to = misplaced.select("account_idx", pl.col("home").alias("__home"))
    dtype = partition.schema["cluster_id"]
    moved = (partition.join(to, on="account_idx", how="left", maintain_order="left")
             .with_columns(pl.coalesce(pl.col("__home").cast(dtype), pl.col("cluster_id")).alias("cluster_id")).drop("__home"))
    if wholes is None:
        return moved, None
    whole_of = (partition.drop_nulls("cluster_id").join(to, on="account_idx", how="anti")
                .join(wholes.select("account_idx", pl.col("cluster_id").alias("__whole")), on="account_idx")
                .group_by("cluster_id").agg(pl.col("__whole").sort_by("account_idx").first())
                .select(pl.col("cluster_id").cast(pl.Int64).alias("__home"), "__whole"))
    wdtype = wholes.schema["cluster_id"]
    new = misplaced.select("account_idx", pl.col("home").alias("__home")).join(whole_of, on="__home")
    wholes = (wholes.join(new.select("account_idx", "__whole"), on="account_idx", how="left", maintain_order="left")
              .with_columns(pl.coalesce(pl.col("__whole").cast(wdtype), pl.col("cluster_id")).alias("cluster_id")).drop("__whole"))
    return moved, wholes


def misplaced_stage(partition: pl.DataFrame, wholes: pl.DataFrame | None, projection, graph_config: GraphConfig | None,
                    config: CommunityConfig | None = None, n_accounts: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """The scoring stage's first step: ``(partition, wholes, joins)`` with the misplaced members moved home.

    ``projection`` gives ``memberships, signals`` and ``joins`` (:data:`graphlink.stages.join_notes.JOINS_SCHEMA`
    rows of the steps that added members, or None); the moved members' rows are appended to it, so each one's row
    and its home cluster's ``why`` say why it is there. The partition is renumbered (a cluster the moves leave under
    ``config.min_cluster_size`` dissolves) and ``wholes`` follows it. ``n_accounts``: accounts in the log.
    """
    from graphlink.stages.communities import renumber
    from graphlink.stages.join_notes import misplaced_joins
    joins = getattr(projection, "joins", None)
    config = config or CommunityConfig()
    moved = misplaced_members(partition, projection.memberships, projection.signals, graph_config, config, n_accounts)
    if moved.is_empty():
        return partition, wholes, joins
    partition, wholes = moved_home(partition, wholes, moved)
    partition = renumber(partition, config.min_cluster_size)
    if wholes is not None:  # a dissolved cluster's accounts are in no whole either
        wholes = wholes.join(partition.select("account_idx", pl.col("cluster_id").alias("__c")), on="account_idx",
                             how="left", maintain_order="left").with_columns(
            pl.when(pl.col("__c").is_null()).then(None).otherwise(pl.col("cluster_id")).alias("cluster_id")).drop("__c")
    notes = misplaced_joins(moved)
    return partition, wholes, notes if joins is None else pl.concat([joins, notes])
