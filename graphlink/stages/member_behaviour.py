"""What of its cluster's *behaviour* each member shares: ``accounts.parquet``'s member columns.

A cluster's reasons (templated prompts, a card pool, same-minute activity) are the cluster's: a bystander -- an
ordinary user tied in by one shared proxy exit and a common browser -- inherits them in every view. These columns
say, per member, whether the member itself sent the cluster's template, paid with its cards or was active in its
minutes (:data:`graphlink.contract.MEMBER_BEHAVIOUR_SCHEMA`), from the run's own affiliations, in the drill-down
stage (both engines):

* ``template_share``: the share of the member's sampled prompts that carry a prompt phrase (shingle) another member
  of its cluster also holds, when it shares at least :data:`TEMPLATE_PHRASES` (5) such phrases -- fewer are a stock
  phrase, not a template; 0 for a member whose prompts share none (or fewer) with the cluster; null without sampled
  prompts. Estimated from what the run keeps per member (no per-prompt table survives the signals stage): the
  share of its sampled prompts that share a phrase with any other account (``prompts_templated`` /
  ``prompts_sampled``), times the share of its phrase occurrences (each phrase counted once per prompt text holding
  it) that are on phrases the cluster shares. Exact in the cases that decide a ban: every phrase it shares is the
  cluster's (a ring member: its templated share) or none is (a bystander: 0). Null too for a member some of whose
  prompts share phrases with other accounts but too few for the run to keep its phrases (``[signals]
  prompt_min_templated``): whose phrases they are is not known (a camouflaged ring account sending its cell's
  template in one prompt of eight read 0, "writes its own questions").
* ``shared_behaviour``: which behaviours it shares with at least one other member, in a fixed order --
  ``template`` (a prompt phrase), ``card`` (a payment card), ``minutes`` (an activity signature: the same
  minutes), ``burst`` (a template burst), then each declared ``--signal`` identifier by its column name (by its kind
  name, ``template value``, for a column called like one of these words: :func:`declared_word`) -- joined
  by ``", "``; :data:`ADDRESSES_ONLY` when it shares none of them: it is in the cluster by addresses, networks,
  user agents, e-mail domains or creation hours alone (:data:`ADDRESS_KINDS`).

Unclustered accounts have null in both.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from graphlink.contract import MEMBER_BEHAVIOUR_SCHEMA
from graphlink.stages.campaigns import MIN_TIE_VALUES

#: Distinct prompt phrases a member must share with the rest of its cluster to share its *template*: the bar a
#: campaign's prompt tie clears (:data:`graphlink.stages.campaigns.MIN_TIE_VALUES`). A 9-word sentence gives 5
#: shingles; a stock phrase ("how do I get started with", held by 450-1,258 accounts of a log) 1-4, and strangers
#: share those: a person opening questions with it read ``template 11%`` beside a ring (new-user review nu37b).
TEMPLATE_PHRASES = MIN_TIE_VALUES

__all__ = ["ADDRESSES_ONLY", "ADDRESS_KINDS", "BEHAVIOUR_WORDS", "declared_word", "member_behaviour", "with_member_behaviour"]

#: Kinds that place an account near others without being something it *does*: where it connects from and with what
#: software, its mail provider, when it signed up. Every other kind is behaviour (declared identifiers included:
#: a device or card BIN the operator reuses).
ADDRESS_KINDS = ("ip", "ip_net", "asn", "user_agent", "email_domain", "created_hour")
#: A behaviour kind's word in ``shared_behaviour``, in its order; a declared identifier is named by its column.
BEHAVIOUR_WORDS = {"prompt": "template", "payment": "card", "timing": "minutes", "burst": "burst"}
#: ``shared_behaviour`` of a member that shares none of its cluster's behaviour.
ADDRESSES_ONLY = "addresses only"

_EMPTY_STATS = {"account_idx": pl.UInt32, "prompts_sampled": pl.UInt32, "prompts_templated": pl.UInt32}


def declared_word(kind: str) -> str:
    """A behaviour kind's word in ``shared_behaviour``: :data:`BEHAVIOUR_WORDS`', or a declared identifier's column
    name -- by its kind name (``template value``) when the column is called like one of the words or
    :data:`ADDRESSES_ONLY`: a log's ``template`` (template id) or ``card`` column is no prompt template or card.

    >>> declared_word("prompt"), declared_word("device_id"), declared_word("template"), declared_word("addresses only")
    ('template', 'device_id', 'template value', 'addresses only value')
    """
    if kind in BEHAVIOUR_WORDS:
        return BEHAVIOUR_WORDS[kind]
    if kind in BEHAVIOUR_WORDS.values() or kind == ADDRESSES_ONLY:
        from graphlink.config.kinds import kind_name

        return kind_name(kind, 1)
    return kind


def member_behaviour(memberships: pl.DataFrame, signals: pl.DataFrame, clustered: pl.DataFrame,
                     account_stats: pl.DataFrame | None) -> pl.DataFrame:
    """``account_id, template_share, shared_behaviour`` of each clustered account (module docstring).

    ``memberships``: the projection's ``account_idx, signal_idx, count`` (``count``: for a prompt phrase, the
    account's sampled prompt texts holding it); ``signals``: ``signal_idx, kind``; ``clustered``:
    ``account_idx, account_id, cluster_id`` (:func:`graphlink.stages.drilldown.clustered_accounts`);
    ``account_stats``: ``account_idx, prompts_sampled, prompts_templated`` (None: no prompts read).

    Examples
    --------
    Accounts a and b send one template (prompt phrases 1-5), c shares an address (0) and one phrase (6) with b only:

    >>> m = pl.DataFrame({"account_idx": [0, 1, 2] + [0] * 5 + [1] * 6 + [2], "signal_idx": [0, 0, 0, 1, 2, 3, 4, 5,
    ...                   1, 2, 3, 4, 5, 6, 6], "count": [1, 1, 1] + [4] * 5 + [3] * 6 + [1]},
    ...                  schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "count": pl.UInt32})
    >>> s = pl.DataFrame({"signal_idx": range(7), "kind": ["ip"] + ["prompt"] * 6}, schema_overrides={"signal_idx": pl.UInt32})
    >>> c = pl.DataFrame({"account_idx": [0, 1, 2], "account_id": ["a", "b", "c"], "cluster_id": [1, 1, 1]},
    ...                  schema_overrides={"account_idx": pl.UInt32})
    >>> st = pl.DataFrame({"account_idx": [0, 1, 2], "prompts_sampled": [4, 4, 5], "prompts_templated": [4, 3, 1]},
    ...                   schema={"account_idx": pl.UInt32, "prompts_sampled": pl.UInt32, "prompts_templated": pl.UInt32})
    >>> member_behaviour(m, s, c, st).rows()
    [('a', 1.0, 'template'), ('b', 0.75, 'template'), ('c', 0.0, 'addresses only')]
    """
    members = clustered.select(pl.col("account_idx").cast(pl.UInt32), "account_id", pl.col("cluster_id").cast(pl.Int64))
    behaviour = signals.filter(~pl.col("kind").is_in(ADDRESS_KINDS)).select(pl.col("signal_idx").cast(pl.UInt32), "kind")
    # Each behaviour kind by a small code (its place in the words' order; declared identifiers after, by name).
    kinds = sorted(behaviour["kind"].unique().to_list(), key=lambda k: (list(BEHAVIOUR_WORDS).index(k)
                                                                       if k in BEHAVIOUR_WORDS else len(BEHAVIOUR_WORDS), k))
    rows = pl.DataFrame(schema={"account_idx": pl.UInt32, "count": pl.UInt32, "code": pl.Int8, "shared": pl.Boolean})
    if not (memberships.is_empty() or members.is_empty() or behaviour.is_empty()):
        # The members' behaviour rows cut out of every affiliation (38M rows on the campaign preset) by per-position
        # arrays, a gather each and no join: the member's cluster (-1: not a member) and the value's kind code (-1: an
        # address kind). A value is shared when two members of one cluster hold it (one packed key per pair).
        size = int(max(memberships["account_idx"].max(), members["account_idx"].max())) + 1
        cluster = np.full(size, -1, dtype=np.int64)
        cluster[members["account_idx"].to_numpy()] = members["cluster_id"].to_numpy()
        code = np.full(int(max(memberships["signal_idx"].max(), behaviour["signal_idx"].max())) + 1, -1, dtype=np.int8)
        code[behaviour["signal_idx"].to_numpy()] = behaviour["kind"].replace_strict(
            {k: i for i, k in enumerate(kinds)}, return_dtype=pl.Int8).to_numpy()
        of, kind = (pl.lit(pl.Series(cluster)).gather(pl.col("account_idx")),
                    pl.lit(pl.Series(code)).gather(pl.col("signal_idx")))
        key = pl.col("cluster_id").cast(pl.UInt64) * 2**32 + pl.col("signal_idx").cast(pl.UInt64)  # (cluster, value)
        rows = (memberships.lazy().select("account_idx", "signal_idx", "count")
                .filter((kind >= 0) & (of >= 0))
                .select(pl.col("account_idx").cast(pl.UInt32), pl.col("count").cast(pl.UInt32), kind.alias("code"),
                        "signal_idx", of.alias("cluster_id"))
                .select("account_idx", "count", "code", (pl.len().over(key) >= 2).alias("shared")).collect())
    prompt = pl.col("code") == (kinds.index("prompt") if "prompt" in kinds else -2)
    count = pl.col("count").cast(pl.Float64)
    # Fewer than TEMPLATE_PHRASES shared phrases are a stock phrase, not the cluster's template: none shared.
    template = (prompt & pl.col("shared")).sum() >= TEMPLATE_PHRASES
    per_member = rows.group_by("account_idx").agg(
        pl.when(template).then(count.filter(prompt & pl.col("shared")).sum()).otherwise(0.0).alias("inside"),
        count.filter(prompt).sum().alias("phrases"),
        *[(pl.col("shared") & (pl.col("code") == i)).any().and_(template if kinds[i] == "prompt" else True).alias(f"_{i}")
          for i in range(len(kinds))])
    words = [declared_word(k) for k in kinds]
    shares = pl.concat_list([pl.when(pl.col(f"_{i}")).then(pl.lit(w)).otherwise(None) for i, w in enumerate(words)]
                            ).list.drop_nulls().list.join(", ") if kinds else pl.lit("")
    stats = (account_stats if account_stats is not None else pl.DataFrame(schema=_EMPTY_STATS)).select(
        pl.col("account_idx").cast(pl.UInt32), "prompts_sampled", "prompts_templated")
    sampled = pl.col("prompts_sampled").cast(pl.Float64)
    inside = pl.when(pl.col("phrases") > 0).then(pl.col("inside") / pl.col("phrases")).otherwise(0.0).fill_null(0.0)
    templated = pl.col("prompts_templated").cast(pl.Float64)
    # A member whose prompts share phrases with other accounts but gave the run no phrase (under
    # prompt_min_templated): whether they are its cluster's is not known -- null, not 0 ("writes its own").
    known = (pl.col("phrases").fill_null(0) > 0) | (templated.fill_null(0) == 0)
    share = (pl.when((sampled > 0) & known).then((templated / sampled * inside).clip(0.0, 1.0))
             .otherwise(None))
    return (members.join(per_member, on="account_idx", how="left", maintain_order="left")
            .join(stats, on="account_idx", how="left", maintain_order="left")
            .select("account_id", share.alias("template_share"),
                    pl.when(shares.fill_null("") == "").then(pl.lit(ADDRESSES_ONLY)).otherwise(shares)
                    .alias("shared_behaviour"))
            .cast({name: MEMBER_BEHAVIOUR_SCHEMA[name] for name in ("template_share", "shared_behaviour")}))


def with_member_behaviour(accounts: pl.DataFrame, behaviour: pl.DataFrame) -> pl.DataFrame:
    """``accounts`` (``accounts.parquet`` rows) with :data:`graphlink.contract.MEMBER_BEHAVIOUR_SCHEMA`'s columns last,
    in their order (null for accounts ``behaviour`` has no row of: the unclustered)."""
    behaviour = behaviour.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in MEMBER_BEHAVIOUR_SCHEMA.items()
                                       if name not in behaviour.columns)  # (joined_by: only the join steps' members)
    return accounts.join(behaviour.select(list(MEMBER_BEHAVIOUR_SCHEMA.names())).cast(dict(MEMBER_BEHAVIOUR_SCHEMA)),
                         on="account_id", how="left", maintain_order="left")
