"""Why each member is in its cluster: what ties the account to the others, and how strongly.

A flag may get every member of a cluster banned, so an investigator answers for each account: what ties it
to this cluster, and is it core or a bystander (an ordinary user who shares one NAT address with a fleet)?
:func:`member_ties` is the one builder of the answer (:data:`graphlink.contract.MEMBER_TIES_SCHEMA`); ``show``,
``show --json``, ``members.csv``, the JSON case file, the graph exports, the report and the notebook only render
it (:func:`with_member_ties`). It reads what the output folder already holds, at view time:

* ``linking.parquet``: every account's linking values with ``df`` (accounts of the run holding the value) and
  the account's cluster, so it is complete for the kinds it lists (addresses, networks, cards, e-mail domains,
  user agents, creation hours, ``--signal`` identifiers);
* ``memberships.parquet`` for the kinds linking does not list (prompt phrases, activity signatures, template
  bursts: :data:`graphlink.stages.drilldown.UNLISTED_KINDS`), which lists at most ``member_values_per_kind``
  shared values per cluster and kind (the counts of those kinds are of the listed ones). A folder without
  ``linking.parquet`` (written by an older graphlink) gets every kind from memberships and no strength.

Logged values are attacker-written: the text is plain, and each front escapes it where it renders it.
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import MEMBER_TIES_COLUMNS, MEMBER_TIES_SCHEMA
from graphlink.stages.drilldown import UNLISTED_KINDS
from graphlink.stages.evidence import kind_strengths
from graphlink.phrase_quotes import phrase_shown
from graphlink.store.folder import Outputs
from graphlink.views.evidence import kind_label
from graphlink.views.member_behaviour import no_behaviour_first

__all__ = ["MEMBER_SORTS", "QUOTED_CHARS", "TERMINAL_CHARS", "member_ties", "outputs_member_ties", "quoted_value",
           "short_tied_by", "weak_kinds", "with_member_ties"]

#: A quoted value's characters in ``tied_by`` (longer ones end in ``…``).
QUOTED_CHARS = 40
#: Kinds whose values are hashes that mean nothing quoted: ``tied_by`` names the kind and the members only (a template
#: burst's value is its opening and window, quoted as ``show`` lists it).
_UNQUOTED = ("timing",)
#: ``tied_by`` characters a terminal's member table shows per member (:func:`short_tied_by`).
TERMINAL_CHARS = 160
#: Orders of a member list: ``events`` (most active first, the default) or ``strength`` (weakest tie first: the
#: periphery an investigator checks before a ban).
MEMBER_SORTS = ("events", "strength")

_KEYS = ["cluster_id", "account_id"]


def _shared(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with ``members``: how many of the cluster's members hold the value."""
    return rows.with_columns(pl.len().over("cluster_id", "kind", "value").cast(pl.Int64).alias("members"))


def _setting(run: dict | None, section: str, key: str) -> object:
    """``run["parameters"][section][key]``, or None where run.json (an older or edited one) lacks it or holds another type."""
    parameters = run.get("parameters") if isinstance(run, dict) else None
    part = parameters.get(section) if isinstance(parameters, dict) else None
    return part.get(key) if isinstance(part, dict) else None


def weak_kinds(run: dict | None) -> tuple[str, ...]:
    """Kinds that never link two accounts on their own (``strong = false``: networks, user agents, e-mail domains,
    creation hours ...), from a run's recorded ``[graph]`` settings, else (none recorded, or not as a table of
    kinds) the defaults; declared identifiers are strong."""
    kinds = _setting(run, "graph", "kinds")
    if not kinds or not isinstance(kinds, dict):
        from graphlink.config import GraphConfig

        return tuple(sorted(k for k, spec in GraphConfig().kinds.items() if not spec.strong))
    return tuple(sorted(k for k, spec in kinds.items() if isinstance(spec, dict) and spec.get("strong") is False))


def _finite_weight() -> pl.Expr:
    """``weight`` as Float64, null where it is not finite: a hand-edited folder's NaN (or infinite) weight is missing,
    not a tie_strength of NaN and a value that ties members by a weight nobody can read (NaN compares above 0)."""
    weight = pl.col("weight").cast(pl.Float64)
    return pl.when(weight.is_finite()).then(weight).otherwise(None).alias("weight")


def _strength(linking: pl.DataFrame, weak: tuple[str, ...]) -> pl.DataFrame:
    """``cluster_id, account_id, tie_strength``: sum(w * (s - 1)) / sum(w * (df - 1)) over each member's linking
    values of the kinds that link on their own (not ``weak``); ``s`` the value's ``suspects`` when given, else the
    cluster's members holding it."""
    linking = _shared(linking).filter(~pl.col("kind").is_in(list(weak)))
    held = pl.col("suspects") if "suspects" in linking.columns else pl.col("members")
    w = pl.col("weight").fill_null(0.0)
    # Terms summed in sorted order, so each member's float sums do not depend on the order joins left the rows in
    # (members.csv of one folder is byte-identical from export to export).
    inside = (w * (held - 1)).sort().sum()
    total = (w * (pl.col("df").cast(pl.Int64) - 1).clip(lower_bound=0)).sort().sum()
    return (linking.group_by(_KEYS)
            .agg(pl.when(total > 0).then((inside / total).clip(0.0, 1.0)).otherwise(None).alias("tie_strength")))


#: A template burst's window, ``" @ 2025-01-06T10:00Z (+10 min)"`` (:func:`graphlink.stages.bursts.burst_values`):
#: kept whole when its opening is cut, so ``tied_by`` says when the burst was.
_WINDOW = r" @ \d{4}-\d\d-\d\dT\d\d:\d\dZ \(\+\d+ min\)$"


#: Characters a value may hold that no reader sees as written: control characters (an ANSI escape) and invisible ones
#: (format characters -- zero-width space, bidi overrides -- and the fillers and selectors
#: :func:`graphlink.views.safety.spell_invisible` spells out). A value holding one is quoted; the character is kept
#: as logged here and spelled (``⟨U+001B⟩``) by every view that renders ``tied_by`` for a person, as the value itself
#: is (terminal, piped rows, report, CSV, graph labels; ``--json`` escapes it as JSON does). Escaped here as well, it
#: read ``\\x1b`` in ``tied_by`` beside ``⟨U+001B⟩`` in the evidence (new-user review, session 47).
_UNSEEN = ("[\\p{Cc}\\p{Cf}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
           "\U000e0100-\U000e01ef]")


def quoted_value(kind: pl.Expr, value: pl.Expr) -> pl.Expr:
    """A value as ``tied_by`` names it: cut to :data:`QUOTED_CHARS`, quoted as a string literal (``\\``, ``\\"``,
    ``\\n``, ``\\r``, ``\\t`` inside) when it holds spaces, ``;``, ``"``, ``\\`` or control or invisible characters
    (:data:`_UNSEEN`: kept, spelled where rendered), after a space; empty for kinds named without their values
    (activity signatures). A prompt phrase's numbers read as slots (:func:`graphlink.phrase_quotes.phrase_shown`)."""
    value = phrase_shown(kind, value)
    window = pl.when(kind == "burst").then(value.str.extract(f"({_WINDOW})", 1)).otherwise(None).fill_null("")
    head = value.str.slice(0, value.str.len_chars() - window.str.len_chars())
    cut = pl.when(head.str.len_chars() > QUOTED_CHARS).then(head.str.slice(0, QUOTED_CHARS - 1) + "…").otherwise(head) + window
    # Text with spaces, separators, quotes or backslashes (a prompt phrase; an attacker's "; card x") is quoted as a
    # string literal is, so it reads as one value and shows what was logged: \ and \" inside, \n \r \t for line
    # breaks and tabs; an empty value reads "".
    escaped = (cut.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
               .str.replace_all("\n", "\\n", literal=True).str.replace_all("\r", "\\r", literal=True)
               .str.replace_all("\t", "\\t", literal=True))
    cut = pl.when(cut.str.contains(r'^$|[\s;"\\]|' + _UNSEEN)).then(pl.lit('"') + escaped + '"').otherwise(cut)
    return pl.when(kind.is_in(_UNQUOTED)).then(pl.lit("")).otherwise(pl.lit(" ") + cut)


def short_tied_by(tied_by: pl.Expr, chars: int = TERMINAL_CHARS) -> pl.Expr:
    """``tied_by`` cut for a terminal table: its first kinds (strongest first) while they fit in ``chars``
    characters, then ``; … N more kinds``; a first kind longer than that ends in ``…``. Text that fits is kept as it
    is. Only a terminal shows this: ``--json``, piped rows, exports and case files keep the whole text.

    Kinds are split at the ``; `` between them, never inside a quoted value (:func:`member_ties` quotes any value
    holding ``;`` or ``"``).

    Examples
    --------
    >>> t = pl.DataFrame({"t": ['IP address 1.2.3.4 (3 members); prompt phrase "a; b" (2 members); user agent x (2 members)']})
    >>> t.select(short_tied_by(pl.col("t"), 60))["t"][0]
    'IP address 1.2.3.4 (3 members); … 2 more kinds'
    >>> t.select(short_tied_by(pl.col("t"), 12))["t"][0], t.select(short_tied_by(pl.col("t"), 500))["t"][0] == t["t"][0]
    ('IP address …; … 2 more kinds', True)
    """
    clauses = tied_by.str.extract_all(r'(?:[^;"]|"(?:[^"\\]|\\.)*")+').list.eval(pl.element().str.strip_chars(" "))
    ends = clauses.list.eval((pl.element().str.len_chars() + 2).cum_sum() - 2)  # each kind's end with its "; "
    kept = ends.list.eval((pl.element() <= chars).sum()).list.first().clip(lower_bound=1)
    head = clauses.list.head(kept).list.join("; ")
    head = pl.when(head.str.len_chars() > chars).then(head.str.slice(0, chars - 1) + "…").otherwise(head)
    more = clauses.list.len() - kept
    return (pl.when(tied_by.str.len_chars() <= chars).then(tied_by)
            .when(more > 0).then(pl.concat_str([head, pl.lit("; … "), more.cast(pl.String),
                                                pl.when(more == 1).then(pl.lit(" more kind")).otherwise(pl.lit(" more kinds"))]))
            .otherwise(head))


def member_ties(accounts: pl.DataFrame, memberships: pl.DataFrame | None, linking: pl.DataFrame | None,
                evidence: pl.DataFrame | None = None, weak: tuple[str, ...] | None = None,
                listed: int | None = None) -> pl.DataFrame:
    """Why each member is in its cluster (:data:`graphlink.contract.MEMBER_TIES_SCHEMA`), a row per account of ``accounts``.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id, cluster_id`` of the members to explain (other columns ignored; null clusters dropped).
    memberships : DataFrame or None
        ``account_id, cluster_id, kind, value, weight`` (``memberships.parquet`` of their clusters).
    linking : DataFrame or None
        ``account_id, cluster_id, kind, value, df, weight[, suspects]``: every linking value of those clusters'
        members (``linking.parquet`` rows of the clusters; ``suspects`` from
        :func:`graphlink.store.member_linking.member_linking`); None for a folder without it.
    evidence : DataFrame, optional
        ``cluster_id, kind, weight, accounts_sharing`` (``evidence.parquet``): the cluster's order of kinds
        (:func:`graphlink.stages.evidence.kind_strengths`, as ``show`` lists evidence); kinds it lacks come after, in
        the same order of the shared values themselves.
    weak : tuple of str, optional
        Kinds left out of ``tie_strength`` (:func:`weak_kinds`; default: the default configuration's weak kinds).
    listed : int, optional
        ``[drilldown] member_values_per_kind``: a cluster's kind with this many values in ``memberships`` was cut
        there, so a member's count of it is a lower bound, written ``50+``.

    Returns
    -------
    DataFrame
        ``account_id, cluster_id, tie_strength, tied_by``, in the order of ``accounts``.

        ``tie_strength`` = sum over the member's linking values v of the kinds that link on their own (cards,
        addresses, declared identifiers: not ``weak``) of ``w_v * (s_v - 1)``, divided by the same sum of
        ``w_v * (df_v - 1)``: ``w_v`` the value's weight (rarity), ``df_v`` the run's accounts holding it, ``s_v``
        its holders graphlink already suspects -- in the member's campaign (its cluster and the clusters grouped
        with it as one operator) or in any flagged cluster (``suspects``; without that column, the cluster's
        members holding it). Two accounts' link weight is the summed weight of the values they share (before the
        graph thins popular values), and a pair sharing only weak values (a /24, a browser, an e-mail provider)
        is not linked at all (:class:`graphlink.config.KindSpec`), so this is the share of the member's link
        weight that goes to suspects: 1.0 when every card or address it shares it shares only with them; low when
        most accounts it is tied to are unsuspected (a bystander behind a NAT address a fleet also uses). Null
        without ``linking`` or when the member shares no card or address with any account.

        ``tied_by``: per kind, the cluster's shared values (held by two or more members) the member holds: the
        count and the strongest (largest ``weight × members``, as ``show`` orders a kind's values; then most members,
        then by text) with how many members hold it; a value with spaces, ``;``, ``"`` or ``\\`` in double quotes, escaped as
        a string literal is (``"say \\"hi\\""``); a template burst's with its window kept whole.

    Examples
    --------
    >>> acc = pl.DataFrame({"account_id": ["a", "b", "c", "z"], "cluster_id": [1, 1, 1, 1]})
    >>> lk = pl.DataFrame({"account_id": ["a", "b", "c", "a", "b", "z", "a"], "cluster_id": [1] * 7,
    ...                    "kind": ["payment"] * 3 + ["ip"] * 4, "value": ["k"] * 3 + ["1.2.3.4"] * 3 + ["9.9.9.9"],
    ...                    "df": [3, 3, 3, 10, 10, 10, 2], "weight": [2.0] * 3 + [0.5] * 3 + [1.0]})
    >>> t = member_ties(acc, None, lk)
    >>> t["tied_by"].to_list()[0], t["tied_by"].to_list()[3]
    ('payment card k (3 members); IP address 1.2.3.4 (3 members)', 'IP address 1.2.3.4 (3 members)')
    >>> [round(s, 3) for s in t["tie_strength"].to_list()]
    [0.526, 0.588, 1.0, 0.222]
    """
    members = accounts.select("account_id", pl.col("cluster_id").cast(pl.Int64)).drop_nulls("cluster_id")
    parts = []
    if linking is not None:
        parts.append(_shared(linking.select("account_id", pl.col("cluster_id").cast(pl.Int64), "kind", "value",
                                            _finite_weight())))
    if memberships is not None:
        rows = memberships.select("account_id", pl.col("cluster_id").cast(pl.Int64), "kind", "value",
                                  _finite_weight())
        if linking is not None:  # linking is complete for its kinds; memberships adds the kinds it does not list
            rows = rows.filter(pl.col("kind").is_in(UNLISTED_KINDS))
        cut = pl.col("value").n_unique().over("cluster_id", "kind") >= (listed or 2**31)
        parts.append(_shared(rows).with_columns(cut.alias("cut")))
    parts = [p if "cut" in p.columns else p.with_columns(pl.lit(False).alias("cut")) for p in parts]
    shared = (pl.concat(parts) if parts else pl.DataFrame(schema={
        "account_id": pl.String, "cluster_id": pl.Int64, "kind": pl.String, "value": pl.String,
        "weight": pl.Float64, "members": pl.Int64, "cut": pl.Boolean}))
    shared = shared.filter((pl.col("members") >= 2) & (pl.col("weight").fill_null(0.0) > 0)).join(
        members.select(_KEYS), on=_KEYS, how="semi")
    ranks = (kind_strengths(evidence.filter(_finite_weight().fill_null(0.0) > 0), ["cluster_id"])
             .with_columns(pl.int_range(pl.len()).over("cluster_id").alias("kind_rank"))
             .select(pl.col("cluster_id").cast(pl.Int64), "kind", "kind_rank")
             if evidence is not None and evidence.height else
             pl.DataFrame(schema={"cluster_id": pl.Int64, "kind": pl.String, "kind_rank": pl.Int64}))
    # Each member's strongest value of a kind as show orders a kind's values (weight x members, then members, then
    # text), picked with windows: sorting the whole table took 16 s on a 10M-row linking (24k flagged members).
    group = [*_KEYS, "kind"]
    strength = pl.col("weight") * pl.col("members")
    best = (shared.filter(strength == strength.max().over(group))
            .filter(pl.col("members") == pl.col("members").max().over(group))
            .group_by(group).agg(pl.col("value").min(), pl.col("members").first()))
    per_kind = (
        shared.group_by(group).agg(pl.len().alias("n"), pl.col("cut").any())
        .join(best, on=group, how="left")
        .join(ranks, on=["cluster_id", "kind"], how="left")
        .join(kind_strengths(shared.rename({"members": "accounts_sharing"}), ["cluster_id"])  # kinds evidence lacks
              .with_columns(pl.int_range(pl.len()).over("cluster_id").alias("own_rank"))
              .select("cluster_id", "kind", "own_rank"), on=["cluster_id", "kind"], how="left")
    )
    labels = {k: (kind_label(k, 1), kind_label(k, 2)) for k in per_kind["kind"].unique().to_list()}
    one = pl.col("kind").replace_strict({k: v[0] for k, v in labels.items()}, return_dtype=pl.String)
    many = pl.col("kind").replace_strict({k: v[1] for k, v in labels.items()}, return_dtype=pl.String)
    quoted = quoted_value(pl.col("kind"), pl.col("value"))
    held = pl.format("({} members)", pl.col("members"))
    count = pl.col("n").cast(pl.String) + pl.when(pl.col("cut")).then(pl.lit("+")).otherwise(pl.lit(""))  # a lower bound
    text = (pl.when((pl.col("n") == 1) & ~pl.col("cut")).then(pl.concat_str([one, quoted, pl.lit(" "), held]))
            .when(pl.col("kind").is_in(_UNQUOTED))
            .then(pl.concat_str([count, pl.lit(" "), many, pl.lit(", the most shared "), held]))
            .otherwise(pl.concat_str([count, pl.lit(" "), many, pl.lit(", strongest"), quoted, pl.lit(" "), held])))
    ties = (per_kind.with_columns(text.alias("text"))
            .sort([*_KEYS, "kind_rank", "own_rank"], nulls_last=True)
            .group_by(_KEYS, maintain_order=True).agg(pl.col("text").str.join("; ").alias("tied_by")))
    strength = (_strength(linking.select("account_id", pl.col("cluster_id").cast(pl.Int64), "kind", "value", "df",
                                         _finite_weight(),
                                         *(["suspects"] if "suspects" in linking.columns else [])),
                          weak_kinds(None) if weak is None else weak)
                if linking is not None else
                pl.DataFrame(schema={"cluster_id": pl.Int64, "account_id": pl.String, "tie_strength": pl.Float64}))
    return (members.join(strength, on=_KEYS, how="left", maintain_order="left")
            .join(ties, on=_KEYS, how="left", maintain_order="left")
            .with_columns(pl.col("tied_by").fill_null(""))
            .select(list(MEMBER_TIES_SCHEMA.names())).cast(dict(MEMBER_TIES_SCHEMA)))


def outputs_member_ties(outputs: Outputs, cluster_id: int | None = None) -> pl.DataFrame:
    """:func:`member_ties` of the loaded clusters' members (or of ``cluster_id``'s alone), from the folder's tables."""
    accounts, memberships, linking, evidence = (outputs.accounts, outputs.memberships, outputs.member_linking,
                                                outputs.evidence)
    if cluster_id is not None:
        one = pl.col("cluster_id") == cluster_id
        accounts, evidence = accounts.filter(one), evidence.filter(one)
        memberships = memberships.filter(one) if memberships is not None else None
        linking = linking.filter(one) if linking is not None else None
    listed = _setting(outputs.run, "drilldown", "member_values_per_kind")
    if not (type(listed) is int and listed > 0):  # not recorded (an older run.json) or odd: the default cut it
        from graphlink.config import DrilldownConfig

        listed = DrilldownConfig().member_values_per_kind
    return member_ties(accounts.drop_nulls("cluster_id"), memberships, linking, evidence, weak_kinds(outputs.run),
                       listed)


def with_member_ties(members: pl.DataFrame, outputs: Outputs, cluster_id: int | None = None,
                     sort: str = "events", ties: pl.DataFrame | None = None) -> pl.DataFrame:
    """``members`` (rows with ``account_id, cluster_id``) with :data:`graphlink.contract.MEMBER_TIES_COLUMNS` added
    last; ``sort="strength"`` orders them weakest tie first: members a join step added (``joined_by``: own values,
    hub twins; the weakest way into a cluster) first, then members that share none of their cluster's behaviour
    (``shared_behaviour`` ``addresses only``, :mod:`graphlink.stages.member_behaviour`), then by
    ``tie_strength`` (members sharing no card or address -- null -- before the rest), else their order is kept. ``ties``: :func:`outputs_member_ties` of these members, if already built (one export of many clusters builds it once)."""
    if sort not in MEMBER_SORTS:
        raise ValueError(f"sort={sort!r}: use events or strength")
    ties = (outputs_member_ties(outputs, cluster_id) if ties is None else ties).select("account_id", *MEMBER_TIES_COLUMNS)
    joined = members.join(ties, on="account_id", how="left", maintain_order="left").with_columns(
        pl.col("tied_by").fill_null(""))
    if sort == "strength":  # members sharing none of the cluster's behaviour (addresses only) first
        shares = no_behaviour_first() if "shared_behaviour" in joined.columns else pl.lit(True)
        # before them, members a join step added (own values, hub twins: joined_by) rather than Leiden: their tie
        # strength reads 1.00 (all they share is the cluster's) yet theirs is the weakest way in (review nu54: last of
        # 86, out of view at --members 25)
        drawn = pl.col("joined_by").is_null() if "joined_by" in joined.columns else pl.lit(True)
        joined = (joined.with_row_index("__order").with_columns(shares.alias("__shares"), drawn.alias("__drawn"))
                  .sort(["__drawn", "__shares", "tie_strength", "__order"], nulls_last=False)
                  .drop("__order", "__shares", "__drawn"))
    return joined
