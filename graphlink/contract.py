"""The output contract: every file a detect run writes, and every table's schema.

This module is the one home of the output folder's names and schemas. The
pipeline, the stages that build the tables (:mod:`graphlink.stages.scoring`,
:mod:`graphlink.stages.evidence`, :mod:`graphlink.stages.drilldown`), the
writer and the reader (:mod:`graphlink.store.outputs`) all import them from
here, so a column added in one place is added everywhere.

Files of an output folder
-------------------------
===================== ======== ==================================================
file                  required contents
===================== ======== ==================================================
``accounts.parquet``  yes      one row per input account (:data:`ACCOUNTS_SCHEMA`, then
                               :data:`MEMBER_BEHAVIOUR_SCHEMA`'s columns)
``clusters.parquet``  yes      one row per cluster (:data:`CLUSTERS_SCHEMA`, then
                               :data:`CLUSTER_HISTORY_SCHEMA`)
``evidence.parquet``  yes      top shared values per cluster and kind (:data:`EVIDENCE_SCHEMA`)
``run.json``          yes      parameters, inputs, counts, timings; written last
``memberships.parquet`` no     affiliations (account-value edges) of clustered
                               accounts (:data:`MEMBERSHIPS_SCHEMA`)
``activity.parquet``  no       clustered accounts' events per UTC hour and day
                               (:data:`ACTIVITY_SCHEMA`)
``minutes.parquet``   no       clustered accounts' events per UTC minute
                               (:data:`MINUTES_SCHEMA`): the clock ``expand``
                               holds a list to
``templates.parquet`` no       clustered accounts' prompt template shingles
                               (:data:`TEMPLATES_SCHEMA`): whose templates
                               ``expand`` holds a list to
``campaigns.parquet`` no       one row per campaign: clusters tied by shared values (a flagged one: one operator)
                               (:data:`CAMPAIGNS_SCHEMA`)
``campaign_ties.parquet`` no   the values tying each campaign's clusters, the ones its ``why`` counts
                               (:data:`CAMPAIGN_TIES_SCHEMA`)
``links.parquet``     no       the weighted account graph Leiden partitioned
                               (:data:`LINKS_SCHEMA`): what ``expand`` walks
``linking.parquet``   no       every account's linking values with their rarity
                               (:data:`LINKING_SCHEMA`): what ``expand`` quotes
                               and ``match`` matches new accounts on
``set_apart.parquet`` no       accounts set apart from a cluster, and why (:data:`SET_APART_SCHEMA`)
===================== ======== ==================================================

A detect run writes all thirteen; folders written before the drill-down tables
existed still load (they are optional for readers).

Vocabulary: a *partition* maps accounts to clusters (``accounts.parquet``'s
``cluster_id``); *affiliations* are the bipartite account-value edges (the
``memberships.parquet`` file keeps its historical name).
"""

from __future__ import annotations

import polars as pl

ACCOUNTS_FILE, CLUSTERS_FILE, EVIDENCE_FILE, RUN_FILE = "accounts.parquet", "clusters.parquet", "evidence.parquet", "run.json"
MEMBERSHIPS_FILE, ACTIVITY_FILE, MINUTES_FILE, TEMPLATES_FILE = "memberships.parquet", "activity.parquet", "minutes.parquet", "templates.parquet"
CAMPAIGNS_FILE, CAMPAIGN_TIES_FILE = "campaigns.parquet", "campaign_ties.parquet"
LINKS_FILE, LINKING_FILE, SET_APART_FILE = "links.parquet", "linking.parquet", "set_apart.parquet"
#: What ``match`` derives from ``linking.parquet`` on every run, prepared once by detect (an index).
MATCH_INDEX_FILE = "match_index.parquet"
#: ... and how many of each cluster's accounts held each address (``match``'s shared address pools).
MATCH_POOLS_FILE = "match_pools.parquet"
#: ... and which clusters ride one another's address pools (``match``'s pool mates).
MATCH_MATES_FILE = "match_mates.parquet"
#: ... and each cluster's busy hours (``match``'s clocks, from ``activity.parquet``).
MATCH_CLOCKS_FILE = "match_clocks.parquet"
#: ... and the templates each cluster (campaign) is known by (``match``'s templates, from ``templates.parquet``).
MATCH_TEMPLATES_FILE = "match_templates.parquet"
#: Detect's indexes for ``match``, derived from the run's other files; ``run.json``'s ``match_indexes`` lists
#: those written with it (rows, bytes), so that ``match`` ignores one not this run's (an older graphlink
#: rerun into the folder keeps them; a copy from another folder).
MATCH_INDEX_FILES = (MATCH_INDEX_FILE, MATCH_POOLS_FILE, MATCH_MATES_FILE, MATCH_CLOCKS_FILE, MATCH_TEMPLATES_FILE)
#: Written by ``graphlink match`` into its own ``--out`` folder (not a detect output).
MATCHES_FILE = "matches.parquet"
MATCH_RUN_FILE = "match.json"

#: Files a folder must have to be read as a detect output (``run.json`` marks it complete).
REQUIRED_FILES = (ACCOUNTS_FILE, CLUSTERS_FILE, EVIDENCE_FILE, RUN_FILE)
#: Drill-down files a detect run writes but a reader does without.
OPTIONAL_FILES = (MEMBERSHIPS_FILE, ACTIVITY_FILE, CAMPAIGNS_FILE, CAMPAIGN_TIES_FILE, LINKS_FILE, LINKING_FILE, MINUTES_FILE,
                  TEMPLATES_FILE, MATCH_INDEX_FILE, MATCH_POOLS_FILE, MATCH_MATES_FILE, MATCH_CLOCKS_FILE, MATCH_TEMPLATES_FILE, SET_APART_FILE)
#: What ``expand`` and ``match`` need besides the required files.
GRAPH_FILES = (LINKS_FILE, LINKING_FILE)
#: Everything a detect run writes.
OUTPUT_FILES = REQUIRED_FILES + OPTIONAL_FILES

#: ``accounts.parquet``: the partition (``cluster_id`` null for unclustered accounts).
ACCOUNTS_SCHEMA = pl.Schema({
    "account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64, "events": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"), "last_seen": pl.Datetime("us", "UTC"),
})

#: Coordination components: one operator drives the accounts. Legitimate automation (a
#: team's batch jobs on a corporate card) is coordinated too.
COORDINATION = ("payment_reuse", "template_share", "timing_sync", "volume")
#: Evasion components: the tooling of fake accounts — proxies, card pools, bots that never sleep,
#: bulk sign-up, accounts worked hard and thrown away.
EVASION = ("ip_spread", "card_pool", "scripted_accounts", "around_the_clock", "creation_burst", "short_lived")
#: Every score component column of ``clusters.parquet``.
COMPONENTS = COORDINATION + EVASION

#: What ``show`` and the report call the score and its components (``clusters.parquet`` keeps the column names, as
#: ``show --json``, the case files and the notebook do): words an investigator reads, never a kind's code
#: (``payment_reuse`` is "card reuse", ``ip_spread`` "network spread"). A column not listed (a later scoring version's)
#: is shown by its name with spaces (:func:`component_label`).
COMPONENT_LABELS = {
    "score": "score", "coordination": "coordination", "evasion": "evasion", "payment_reuse": "card reuse",
    "template_share": "templated prompts", "timing_sync": "same-minute activity", "volume": "volume",
    "ip_spread": "network spread", "card_pool": "card pool", "scripted_accounts": "scripted accounts",
    "around_the_clock": "around the clock", "creation_burst": "creation burst", "short_lived": "short-lived",
    "org_coherence": "organisation coherence",
}


def component_label(name: str) -> str:
    """What a score column is called where people read it (:data:`COMPONENT_LABELS`).

    >>> component_label("ip_spread"), component_label("new_signal")
    ('network spread', 'new signal')
    """
    return COMPONENT_LABELS.get(name, name.replace("_", " "))


#: ``clusters.parquet`` (see :mod:`graphlink.stages.scoring` for each column's meaning).
CLUSTERS_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "size": pl.UInt32, "score": pl.Float64, "flagged": pl.Boolean,
    "coordination": pl.Float64, "evasion": pl.Float64,
    **{c: pl.Float64 for c in COMPONENTS}, "org_coherence": pl.Float64,
    "kinds": pl.List(pl.String), "top_values": pl.List(pl.String), "why": pl.String,
    "campaign_id": pl.Int64,
})
#: Separates the reasons of a ``why`` (clusters and campaigns). A ``why`` nested in another, or a template
#: quoted as written (punctuation kept), has it replaced by :func:`nested_reasons`.
REASON_SEPARATOR = "; "


def why_reasons(why: str | None) -> list[str]:
    """The reasons of a ``why`` value, in order (``[]`` for null or empty).

    >>> why_reasons('90% of prompts are templated ("show your reasoning"); active 24 h a day')
    ['90% of prompts are templated ("show your reasoning")', 'active 24 h a day']
    """
    return [r for r in (why or "").split(REASON_SEPARATOR) if r]


def nested_reasons(why: pl.Expr) -> pl.Expr:
    """A ``why`` quoted inside another (a campaign's reasons in a cluster's): its reasons joined by ", ",
    so that :func:`why_reasons` of the outer ``why`` keeps them in the one reason that introduces them."""
    return why.str.replace_all(REASON_SEPARATOR, ", ", literal=True)


#: ``campaigns.parquet`` (see :mod:`graphlink.stages.campaigns`): the ids of the
#: ``clusters`` it holds and how many ``accounts``, ``score`` (its highest cluster score), ``flagged`` (any
#: cluster flagged), ``flagged_clusters``, ``ties`` (kinds of the values its clusters
#: share, most shared first) and ``why``.
CAMPAIGNS_SCHEMA = pl.Schema({
    "campaign_id": pl.Int64, "clusters": pl.List(pl.Int64), "accounts": pl.UInt32, "score": pl.Float64,
    "flagged": pl.Boolean, "flagged_clusters": pl.UInt32, "ties": pl.List(pl.String), "why": pl.String,
})
#: ``campaign_ties.parquet`` (:func:`graphlink.stages.tie_table.campaign_tie_table`): each value of a tie kind
#: (cards, IP addresses, prompt phrases, strong ``--signal`` kinds) held by two or more clusters of a campaign -- the
#: values its ``why`` counts ("tied by 183 prompt phrases"), kept at detect time (prompt phrases are not in
#: ``linking.parquet`` and ``memberships.parquet`` keeps a cluster's strongest only). ``value`` as logged
#: (attacker-written: escape wherever rendered), ``clusters`` the campaign's clusters holding it (ascending),
#: ``accounts`` its accounts holding it, ``weight`` the value's rarity weight. By campaign, then cards, declared
#: identifiers, IP addresses, prompt phrases, then most clusters, most accounts, heaviest, value.
CAMPAIGN_TIES_SCHEMA = pl.Schema({
    "campaign_id": pl.Int64, "kind": pl.String, "value": pl.String, "clusters": pl.List(pl.Int64),
    "accounts": pl.UInt32, "weight": pl.Float64,
})
#: History columns detect appends to ``clusters.parquet`` after the stable ids
#: (:func:`graphlink.stages.stable_ids.cluster_history`): ``since``, the first event of the
#: cluster's members in the first run it was seen in (UTC); ``runs``, runs in a row it has been
#: found in (``--previous`` chains); ``new_members``, members it did not have in the previous
#: run; ``quiet_members``, previous members with no event since the previous run's last one (null when this log has no later event).
#: The last two are null without ``--previous``. Folders written before lack them.
CLUSTER_HISTORY_SCHEMA = pl.Schema({
    "since": pl.Datetime("us", "UTC"), "runs": pl.UInt32, "new_members": pl.UInt32, "quiet_members": pl.UInt32,
})
#: What of its cluster's *behaviour* each member shares, columns detect appends to ``accounts.parquet`` after
#: :data:`ACCOUNTS_SCHEMA` (:mod:`graphlink.stages.member_behaviour`; null for unclustered accounts):
#: ``template_share``, the share of the member's sampled prompts that carry a prompt phrase another member of its
#: cluster holds (0: none of its prompts does; null: no sampled prompts, or its shared ones gave the run no phrase -- under
#: ``prompt_min_templated`` -- so not known; estimated from per-member counts, exact when
#: all or none of the phrases it shares with other accounts are the cluster's); ``shared_behaviour``, which of
#: ``template`` (prompt phrase), ``card``, ``minutes`` (activity signature), ``burst`` (template burst) and declared
#: ``--signal`` identifiers it shares with another member, in that order, joined by ", ", or ``addresses only``: it
#: shares none of them (in the cluster by addresses, networks, user agents, e-mail domains or creation hours). Folders
#: written before lack them: the reader adds them as null (not known). ``show``, the report, ``members.csv``, the
#: JSON exports and the notebook show them beside :data:`MEMBER_TIES_COLUMNS`.
#: ``joined_by``: how a member a later, weaker step added got in (:mod:`graphlink.stages.join_notes`): "joined: 3 of its 4
#: strong values are the cluster's (own values)" or "hub twin: holds IP address ... and writes the template ..."; else null.
MEMBER_BEHAVIOUR_SCHEMA = pl.Schema({"account_id": pl.String, "template_share": pl.Float64,
                                     "shared_behaviour": pl.String, "joined_by": pl.String})
#: What a member row carries of :data:`MEMBER_BEHAVIOUR_SCHEMA` besides its account.
MEMBER_BEHAVIOUR_COLUMNS = ("template_share", "shared_behaviour", "joined_by")


def with_member_behaviour_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with :data:`MEMBER_BEHAVIOUR_COLUMNS`, null where it lacks them (an output folder written before
    them, or member rows built by hand: not known). The reader and the exports both fill them here."""
    return frame.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in MEMBER_BEHAVIOUR_SCHEMA.items()
                              if name not in frame.columns)
#: Columns a reader needs in ``accounts.parquet`` (``campaign_id`` came later).
ACCOUNTS_READ_COLUMNS = ("account_id", "cluster_id", "events", "first_seen", "last_seen")
#: Cluster columns that are not score components.
NON_COMPONENT_COLUMNS = ("cluster_id", "size", "flagged", "campaign_id", *CLUSTER_HISTORY_SCHEMA)

#: ``evidence.parquet`` (see :mod:`graphlink.stages.evidence`).
EVIDENCE_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "kind": pl.String, "value": pl.String,
    "accounts_sharing": pl.UInt32, "weight": pl.Float64, "df": pl.UInt32, "ties": pl.Boolean,
    "outside_flagged": pl.UInt32,
})
#: ``evidence.csv`` (``export --format csv``, and a case's ``cluster-<id>-evidence.csv``): :data:`EVIDENCE_SCHEMA` with
#: ``kind_name`` beside ``kind`` (what every view calls the kind, :data:`graphlink.config.kinds.KIND_NAMES`:
#: ``payment card``, ``IP network``) and ``meaning`` (a timing value's windows) last. ``kind`` keeps the code
#: (``payment``, ``ip_net``) in every machine-read output -- the Parquet files, ``top_values``' ``kind=value``, JSON
#: (``show --json``, case files), piped table rows -- so scripts keep working; the CSV is opened by people in case
#: tools and spreadsheets, hence the name beside it.
EVIDENCE_CSV_COLUMNS = ("cluster_id", "kind", "kind_name", "value", "passage", "accounts_sharing", "weight", "df", "ties",
                        "outside_flagged", "meaning")
#: ``export --format csv``: the files of its folder. The data dictionary (:data:`CSV_DICTIONARY`) is written beside
#: the tables as ``README.txt``; with ``--bom`` every CSV starts with a UTF-8 byte-order mark
#: (:data:`CSV_BOM`: Excel reads a CSV without one in the system's ANSI code page).
MEMBERS_CSV_FILE, EVIDENCE_CSV_FILE, AFFILIATIONS_CSV_FILE = "members.csv", "evidence.csv", "affiliations.csv"
CAMPAIGN_TIES_CSV_FILE, SET_APART_CSV_FILE = "campaign_ties.csv", "set_apart.csv"
CSV_DICTIONARY_FILE = "README.txt"
CSV_BOM = b"\xef\xbb\xbf"
#: ``members.csv``: one row per member of the exported clusters (by cluster, weakest tie first).
MEMBERS_CSV_COLUMNS = ("campaign_id", "cluster_id", "score", "flagged", "account_id", "events", "first_seen", "last_seen",
                       "template_share", "shared_behaviour", "joined_by", "tie_strength", "tied_by", "flag", "score_note", "why")
#: ``affiliations.csv``: which member holds which value tying the exported clusters -- the ``memberships.parquet`` rows
#: (values a member shares with others of its cluster) of the values ``evidence.csv`` lists for its cluster, held by
#: two or more exported accounts; by cluster, strongest value first. Detect keeps no count or times of an account's
#: events per value: read the events file for them.
AFFILIATIONS_CSV_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "account_id": pl.String, "kind": pl.String, "kind_name": pl.String, "value": pl.String,
    "weight": pl.Float64, "members": pl.UInt32, "holders": pl.UInt32, "clusters": pl.UInt32, "df": pl.UInt32,
})
_TIME = "UTC, ISO 8601 (2025-03-03T14:01:00Z)"
_KIND = ("kind", "the signal kind's code, as scripts and the Parquet files read it (payment, ip, ip_net, prompt, "
                 "timing, user_agent, a --signal column ...)")
_KIND_NAME = ("kind_name", "the kind as the views name it (payment card, IP address, IP network, prompt phrase ...)")
_CLUSTER = ("cluster_id", "the cluster (ids as in clusters.parquet and graphlink show DIR ID)")
#: The data dictionary of the CSV export: file -> (what a row is, ((column, meaning), ...)), in the files' column
#: order; ASCII, for any text viewer.
CSV_DICTIONARY: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    MEMBERS_CSV_FILE: ("one row per account of the exported clusters, by cluster, weakest tie first", (
        ("campaign_id", "its cluster's campaign (clusters tied by shared values); empty before campaigns existed"),
        _CLUSTER, ("score", "the cluster's score, 0-1, higher = more suspicious"),
        ("flagged", "whether the cluster is flagged"), ("account_id", "the account, as logged"),
        ("events", "events of the account in the log"),
        ("first_seen", f"its first event, {_TIME}"), ("last_seen", f"its last event, {_TIME}"),
        ("template_share", "share of its sampled prompts following its cluster's templates; empty when not known"),
        ("shared_behaviour", "what of its cluster's behaviour it shares, in words"),
        ("joined_by", "how a member a weaker, later step added got in (own values: N of its M strong values are the "
                      "cluster's; hub twin: the address or card it shares and the template); empty for other members"),
        ("tie_strength", "0-1: share of its link weight inside its cluster (low: tied mostly to outsiders, as a "
                         "bystander is); empty when not known"),
        ("tied_by", "per kind, how many of the cluster's shared values it holds and its strongest"),
        ("flag", "what the cluster's flag rests on (own evidence, with cluster N ...); empty when not flagged"),
        ("score_note", "why the score alone would not decide the flag, when so"),
        ("why", "the cluster's reasons, separated by '; '"))),
    EVIDENCE_CSV_FILE: ("one row per value shared in an exported cluster, by cluster, strongest first", (
        _CLUSTER, _KIND, _KIND_NAME,
        ("value", "the shared value as logged (a prompt phrase as written in one prompt; a timing value is a hash: "
                  "see meaning)"),
        ("passage", "a prompt phrase's passage: the cluster's overlapping phrases joined; empty for other kinds"),
        ("accounts_sharing", "accounts of the cluster holding it"),
        ("weight", "its per-pair link weight; 0 = too common to link anybody"),
        ("df", "accounts of the whole log holding it"),
        ("ties", "true when it tied this cluster to the flagged cluster its why names"),
        ("outside_flagged", "of a tying value, its holders in no flagged cluster"),
        ("meaning", "a timing value's members and the hours they act in; empty for other kinds"))),
    AFFILIATIONS_CSV_FILE: ("one row per member and value tying the exported clusters: who holds each value "
                            "evidence.csv lists (join on cluster_id, kind, value) that 2 or more exported accounts "
                            "hold, by cluster, strongest value first (header only from an output folder without "
                            "memberships.parquet: rerun detect); detect keeps no events or times per value: search "
                            "the events file for them", (
        _CLUSTER, ("account_id", "the member holding the value, as logged"), _KIND, _KIND_NAME,
        ("value", "the value as logged (as in evidence.csv)"),
        ("weight", "its per-pair link weight; 0 = too common to link anybody"),
        ("members", "accounts of this cluster holding it"),
        ("holders", "exported accounts holding it, every exported cluster"),
        ("clusters", "how many exported clusters have members holding it (more than 1: filter this file on the value)"),
        ("df", "accounts of the whole log holding it (as in evidence.csv)"))),
    CAMPAIGN_TIES_CSV_FILE: ("one row per value tying two or more clusters of an exported cluster's campaign (the "
                             "values the campaign's why counts), by campaign, cards first, then most clusters; header "
                             "only from a folder without campaign_ties.parquet or linking.parquet", (
        ("campaign_id", "the campaign (members.csv's campaign_id)"), _KIND, _KIND_NAME,
        ("value", "the value as logged"),
        ("clusters", "the campaign's clusters whose members hold it, separated by '; '"),
        ("accounts", "the campaign's accounts holding it"),
        ("weight", "its per-pair link weight (rarity)"))),
    SET_APART_CSV_FILE: ("one row per account detect set apart from an exported cluster after Leiden (in no cluster now; "
                         "set_apart.parquet); header only from a folder written before it", (
        ("account_id", "the account"), ("cluster_id", "the cluster it was set apart from (members.csv's cluster_id)"),
        ("flagged", "that cluster was flagged when the account was judged"),
        ("reason", "outsider, off_script, bystander or remnant"), ("note", "the reason in words"))),
}

#: Columns a reader needs in ``evidence.parquet`` (``ties`` and ``outside_flagged`` came later: null, not known, when a folder lacks them).
EVIDENCE_READ_COLUMNS = ("cluster_id", "kind", "value", "accounts_sharing", "weight", "df")

#: ``memberships.parquet``: affiliations of clustered accounts (see :mod:`graphlink.stages.drilldown`).
MEMBERSHIPS_SCHEMA = pl.Schema({
    "account_id": pl.String, "kind": pl.String, "value": pl.String, "weight": pl.Float64,
})

#: ``set_apart.parquet`` (:mod:`graphlink.stages.set_apart`, where each column is defined): an account a cluster lost after
#: Leiden, the cluster it left, its flag then, why. Shown by ``account``, ``show``, the exports, the notebook.
SET_APART_SCHEMA = pl.Schema({"account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean, "reason": pl.String})

#: ``activity.parquet`` (see :mod:`graphlink.stages.drilldown`).
ACTIVITY_SCHEMA = pl.Schema({
    "account_id": pl.String, "cluster_id": pl.Int64, "hour": pl.Int8, "day": pl.Date, "events": pl.Int64,
})

#: ``minutes.parquet`` (see :mod:`graphlink.stages.drilldown`): events per clustered account and UTC
#: minute (``minute``: the minute's start), one row per active minute, sorted by account and minute.
#: Bursts of a scripted cell are a minute wide: ``expand`` reads the seeds' clock from it
#: (:mod:`graphlink.stages.seed_clock`).
MINUTES_SCHEMA = pl.Schema({
    "account_id": pl.String, "cluster_id": pl.Int64, "minute": pl.Datetime("us", "UTC"), "events": pl.Int64,
})

#: ``templates.parquet`` (see :mod:`graphlink.stages.drilldown`): each clustered account's prompt
#: shingles (the word n-grams detect found templated, as written in one prompt), with ``df``, how many
#: accounts of the run sent them; at most :data:`graphlink.stages.drilldown.TEMPLATES_PER_ACCOUNT` per
#: account, sorted by account and shingle. ``expand`` reads whose templates the seeds share
#: (:mod:`graphlink.stages.seed_templates`).
TEMPLATES_SCHEMA = pl.Schema({"account_id": pl.String, "cluster_id": pl.Int64, "shingle": pl.String, "df": pl.UInt32})

#: ``links.parquet``: the account graph's edges, ``source < target`` (account ids), summed weight of the
#: values the two share (:mod:`graphlink.stages.graph`); sorted by (source, target).
LINKS_SCHEMA = pl.Schema({"source": pl.String, "target": pl.String, "weight": pl.Float64})

#: ``linking.parquet``: account-value edges of every account (clustered or not) for the values that link
#: accounts (``weight`` > 0), with ``df``, how many accounts of the run have the value, and the account's
#: ``cluster_id`` (null when unclustered); sorted by account, kind, value.
LINKING_SCHEMA = pl.Schema({
    "account_id": pl.String, "kind": pl.String, "value": pl.String, "df": pl.UInt32, "weight": pl.Float64,
    "cluster_id": pl.Int64,
})

#: ``match_index.parquet``: the values each cluster is known by (:func:`graphlink.stages.match.cluster_values` of
#: ``linking.parquet`` at the default ``min_concentration``, every kind, the campaign credit), written by detect so
#: ``match`` need not group linking's rows on each run; ``match`` falls back to linking when it is absent (an older
#: folder) or ``--min-concentration`` is not the default.
MATCH_INDEX_SCHEMA = pl.Schema({
    "cluster_id": pl.Int64, "kind": pl.String, "value": pl.String, "members": pl.UInt32, "df": pl.UInt32,
    "own": pl.UInt32, "concentration": pl.Float64,
})

#: ``match_pools.parquet``: how many of each cluster's accounts held each address (``linking.parquet`` rows of kind
#: ``ip``; :func:`graphlink.stages.match_pools.address_holdings`), sorted by ``cluster_id, value``.
MATCH_POOLS_SCHEMA = pl.Schema({"value": pl.String, "cluster_id": pl.Int64, "own": pl.UInt32})

#: ``match_mates.parquet``: every pair of clusters where ``cluster_id`` rides ``mate_id``'s address pool (``shared``:
#: the share of its address holdings on addresses ``mate_id`` also held, at least the default
#: :data:`graphlink.stages.match_pools.DEFAULT_MIN_POOL_SHARE`; :func:`graphlink.stages.match_pools.all_pool_mates`),
#: sorted by ``cluster_id, mate_id``; ``match`` judges the pairs it needs from ``match_pools.parquet`` without it.
MATCH_MATES_SCHEMA = pl.Schema({"cluster_id": pl.Int64, "mate_id": pl.Int64, "shared": pl.Float64})

#: ``match_clocks.parquet``: each cluster's busy UTC hours and the share of the day they cover
#: (:func:`graphlink.stages.match_clocks.cluster_clocks` of ``activity.parquet``'s clustered rows), sorted by
#: ``cluster_id, hour``; ``match`` reads ``activity.parquet`` without it.
MATCH_CLOCKS_SCHEMA = pl.Schema({"cluster_id": pl.Int64, "hour": pl.Int8, "chance": pl.Float64})

#: ``match_templates.parquet``: the normalised shingles each cluster (campaign) is known by
#: (:func:`graphlink.stages.match_templates.known_templates` of ``templates.parquet`` at ``match``'s default
#: ``min_concentration``), sorted by ``cluster_id, value``; ``match`` counts ``templates.parquet`` without it.
MATCH_TEMPLATES_SCHEMA = pl.Schema({"cluster_id": pl.Int64, "value": pl.String, "members": pl.UInt32,
                                    "df": pl.UInt32, "concentration": pl.Float64})

#: ``graphlink expand --out``: accounts ranked by their tie to the seeds (seeds first, ``rank`` 0).
#: ``score`` is unitless, in [0, 1], and relative to this one ranking: normalised to its best listed
#: account, so it is not comparable across runs, seed sets or options, and is no probability. Seeds
#: 1.0; (0.5, 1]: the account shares values with every seed (or, when they share none, a seed's card),
#: ``0.5 + 0.5 * evidence / best listed evidence``; [0, 0.5]: tied through the graph (or the seeds'
#: clock) only, ``0.5 * visit rate / best such rate``; never above the score ranked before it. One seed
#: has no shared evidence, so its list scores 0.5 at most (:mod:`graphlink.stages.expand`).
EXPAND_SCHEMA = pl.Schema({
    "account_id": pl.String, "rank": pl.UInt32, "score": pl.Float64, "cluster_id": pl.Int64,
    "campaign_id": pl.Int64, "why": pl.String,
})

#: ``graphlink match --out DIR``: ``DIR/matches.parquet``, one row per account of the new log;
#: ``cluster_id`` / ``flagged`` / ``campaign_id`` null when nothing matched. ``flagged`` is the matched
#: cluster's ``flagged`` in the earlier run's ``clusters.parquet`` (a match to a ring the run flagged,
#: or to an ordinary cluster: households, teams); ``score`` in [0, 1], 0 when unmatched, 1.0 for an
#: account that was already a member (:mod:`graphlink.stages.match`); ``earlier_member`` True for such an
#: account, False for a new match, null when nothing matched (the summary's "new" / "already members").
MATCHES_SCHEMA = pl.Schema({
    "account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean, "campaign_id": pl.Int64,
    "score": pl.Float64, "why": pl.String, "earlier_member": pl.Boolean,
})

#: What every view and export of a cluster says about its flag, built in one place
#: (:func:`graphlink.views.explain.flag_explanation`, :func:`graphlink.views.explain.cluster_explanations`):
#: ``flag`` (what the flag rests on, :func:`graphlink.views.explain.flag_basis_expr`: ``own evidence``, ``own score,
#: size of campaign N`` -- its score, its campaign's accounts counted for ``min_flag_size`` --, ``with cluster N``,
#: ``with campaign N``; "" when not flagged: the words of detect's table, ``show``'s heading and the report), ``why``
#: (the ``clusters.parquet`` reasons), ``reasons`` (the same, split: :func:`why_reasons`), ``flagged_with``
#: (the flagged cluster a flag came from: ``{"cluster_id", "campaign_id", "same_operator"}``, null for a flag on the
#: cluster's own evidence) and ``score_note`` (beside the score when the score or size alone would not flag the
#: cluster: a flag through a tie, with its campaign's accounts counted for ``min_flag_size`` or of the campaign as a
#: whole; or why a cluster scoring the threshold is not flagged: too few accounts counted for ``min_flag_size``; ""
#: otherwise); ``carried_to`` (the flagged clusters whose flag came from this one: ``[{"cluster_id", "size",
#: "same_operator"}]``, empty when none). ``show --json`` and the JSON case file carry all six; ``members.csv`` (a row per member) and the graph
#: exports' account nodes carry :data:`FLAG_EXPLANATION_COLUMNS`.
FLAG_EXPLANATION = ("flag", "why", "reasons", "flagged_with", "carried_to", "score_note")
#: The flat part of :data:`FLAG_EXPLANATION`: what a table or graph export carries per cluster (or member).
FLAG_EXPLANATION_COLUMNS = ("flag", "score_note", "why")

#: Why each member is in its cluster, built in one place (:func:`graphlink.views.member_ties.member_ties`) from the
#: folder's ``linking.parquet`` and ``memberships.parquet`` at view time, and shown wherever members are: ``show``
#: (columns ``strength`` and ``tied by``), ``show --json`` and the JSON case file (each member), ``members.csv``,
#: the graph exports' account nodes, the report's member lists and the notebook's
#: :meth:`graphlink.ClusterView.member_ties`. ``tie_strength`` in [0, 1]: the share of the member's link weight that
#: lies inside its cluster, ``sum(w * (m - 1)) / sum(w * (df - 1))`` over its linking values (``w`` the value's
#: weight, ``m`` the cluster's members holding it, ``df`` the run's accounts holding it); low: most of what ties the
#: account ties it to accounts outside the cluster (a bystander on a shared address); null when the folder has no
#: ``linking.parquet`` or the member holds no value another account holds. ``tied_by``: per kind, in the cluster's
#: order of kinds, how many of the cluster's shared values (held by two or more members) the member holds and its
#: strongest (largest weight) with how many members hold it, e.g. ``payment card pf_147f (40 members); 34 IP
#: addresses, strongest 93.66.155.216 (17 members)``; "" when it holds none. Logged values, attacker-written:
#: kept as logged (quoted as a string literal when they hold spaces, separators or unseen characters), their control
#: and invisible characters spelled ``⟨U+001B⟩`` wherever rendered (:func:`graphlink.views.safety.spell_invisible`).
MEMBER_TIES_SCHEMA = pl.Schema({"account_id": pl.String, "cluster_id": pl.Int64, "tie_strength": pl.Float64, "tied_by": pl.String})
#: What a member row carries besides its account (:data:`MEMBER_TIES_SCHEMA` less the keys).
MEMBER_TIES_COLUMNS = ("tie_strength", "tied_by")

#: Dates and times in JSON exports (case files, ``ClusterView.export``): UTC, second precision.
JSON_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

__all__ = [
    "ACCOUNTS_FILE", "CLUSTERS_FILE", "EVIDENCE_FILE", "RUN_FILE", "MEMBERSHIPS_FILE", "ACTIVITY_FILE", "REQUIRED_FILES", "OPTIONAL_FILES",
    "OUTPUT_FILES", "ACCOUNTS_SCHEMA", "CLUSTERS_SCHEMA", "EVIDENCE_SCHEMA", "EVIDENCE_READ_COLUMNS", "MEMBERSHIPS_SCHEMA", "ACTIVITY_SCHEMA",
    "COMPONENTS", "COORDINATION", "EVASION", "NON_COMPONENT_COLUMNS", "JSON_TIME_FORMAT", "MINUTES_FILE", "MINUTES_SCHEMA", "TEMPLATES_FILE",
    "TEMPLATES_SCHEMA", "CAMPAIGNS_FILE", "CAMPAIGNS_SCHEMA", "CAMPAIGN_TIES_FILE", "CAMPAIGN_TIES_SCHEMA", "CAMPAIGN_TIES_CSV_FILE",
    "SET_APART_CSV_FILE", "ACCOUNTS_READ_COLUMNS", "LINKS_FILE", "LINKING_FILE", "MATCH_INDEX_FILE", "MATCH_INDEX_SCHEMA", "MATCH_POOLS_FILE",
    "MATCH_POOLS_SCHEMA", "MATCH_MATES_FILE", "MATCH_MATES_SCHEMA", "MATCH_CLOCKS_FILE", "MATCH_CLOCKS_SCHEMA", "MATCH_TEMPLATES_FILE",
    "MATCH_TEMPLATES_SCHEMA", "MATCH_INDEX_FILES", "GRAPH_FILES", "LINKS_SCHEMA", "LINKING_SCHEMA", "EXPAND_SCHEMA", "MATCHES_FILE", "MATCHES_SCHEMA",
    "MATCH_RUN_FILE", "SET_APART_FILE", "SET_APART_SCHEMA", "CLUSTER_HISTORY_SCHEMA", "REASON_SEPARATOR", "why_reasons", "nested_reasons",
    "FLAG_EXPLANATION", "FLAG_EXPLANATION_COLUMNS", "MEMBER_TIES_SCHEMA", "MEMBER_TIES_COLUMNS", "COMPONENT_LABELS", "component_label",
    "EVIDENCE_CSV_COLUMNS", "MEMBERS_CSV_FILE", "EVIDENCE_CSV_FILE", "AFFILIATIONS_CSV_FILE", "CSV_DICTIONARY_FILE", "CSV_BOM", "MEMBERS_CSV_COLUMNS",
    "AFFILIATIONS_CSV_SCHEMA", "CSV_DICTIONARY", "MEMBER_BEHAVIOUR_SCHEMA", "MEMBER_BEHAVIOUR_COLUMNS", "with_member_behaviour_columns",
]
