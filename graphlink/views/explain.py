"""Explanations of a cluster in words, and small escaped HTML tables for notebooks.

:func:`why_text` is the one long-form explanation of a cluster (the notebook's
:meth:`graphlink.ClusterView.why` and the exported case file); the short
``why`` column of ``clusters.parquet`` is written by
:mod:`graphlink.stages.scoring`. Logged values are attacker-written: text is
made terminal-safe and HTML escaped (:mod:`graphlink.views.safety`).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from typing import Any

import polars as pl

from graphlink.contract import FLAG_EXPLANATION, FLAG_EXPLANATION_COLUMNS, JSON_TIME_FORMAT, why_reasons
from graphlink.config.kinds import kind_name, kinds_text
from graphlink.stages.campaign_flags import AS_A_WHOLE
from graphlink.stages.evidence import kind_strengths
from graphlink.stages.split_guard import HELD_PATTERN
from graphlink.stages.tie_words import LEAD_PATTERN, also_tied_to, carried_to, flagged_with
from graphlink.views.passages import passage_kind_name, passage_summary, with_passages
from graphlink.views.safety import html_safe, terminal_safe
from graphlink.views.shared_counts import total_text
from graphlink.views.words import plural

#: Tying values :func:`why_text` lists (all are in ``evidence.parquet``, column ``ties``).
TIES_LISTED = 20

def why_text(row: dict[str, Any], evidence: pl.DataFrame, flag_threshold: float, min_flag_size: int,
             totals: pl.DataFrame | None = None) -> str:
    """Plain-language explanation of one cluster: size, score, verdict and strongest evidence.

    Parameters
    ----------
    row : dict
        The cluster's ``clusters.parquet`` row.
    evidence : DataFrame
        The cluster's ``evidence.parquet`` rows; with a ``meaning`` column
        (:func:`graphlink.views.schedule.timing_meanings`) a timing value is
        quoted by its meaning, not its hash.
    flag_threshold, min_flag_size : float, int
        The run's :class:`graphlink.config.ScoringConfig` settings, quoted in the verdict.
    totals : DataFrame, optional
        :func:`graphlink.views.shared_counts.shared_totals` of the cluster: a kind the evidence lists only the
        strongest values of says of how many (``48 payment cards shared (10 listed)``).

    Returns
    -------
    str
        Several lines; one per signal kind its most shared value, linking kinds first.
    """
    size, score = int(row["size"]), float(row["score"])
    verdict = "flagged" if row["flagged"] else "not flagged"
    if row["flagged"] and (score < flag_threshold or size < min_flag_size):
        verdict = _campaign_verdict(row, min_flag_size)
    lines = [f"Cluster {row['cluster_id']}: {plural(size, 'account')}, score {score:.3f}, {verdict} "
             f"(flag_threshold {flag_threshold:g}, min_flag_size {min_flag_size})"]
    kinds = row.get("kinds") or []
    if kinds:
        lines.append("Linked by: " + terminal_safe(kinds_text(kinds)))
    # One line per kind, strongest first as show lists them (graphlink.stages.evidence.kind_strengths): its most shared value.
    order = {k: i for i, k in enumerate(kind_strengths(evidence)["kind"])} if evidence.height else {}
    ranked = (
        evidence.sort(["accounts_sharing", "weight", "value"], descending=[True, True, False])
        .group_by("kind", maintain_order=True)
        .agg((pl.coalesce("meaning", "value") if "meaning" in evidence.columns else pl.col("value")).first()
             .alias("value"),
             pl.col("accounts_sharing").first(), pl.col("weight").first(),
             pl.col("df").first(), pl.len().alias("n_values"))
        .with_columns(pl.col("kind").replace_strict(order, default=len(order), return_dtype=pl.Int64)
                      .alias("rank"))
        .sort("rank")
    )
    lines.append("Shared evidence:" if ranked.height else "No value is shared by two or more members.")
    for kind, value, n, weight, df, n_values in ranked.select(
            "kind", "value", "accounts_sharing", "weight", "df", "n_values").iter_rows():
        label = terminal_safe(kind_name(kind, 1))  # graphlink.config.kinds: what show and tied_by call it too
        note = (f"{plural(df, 'account')} {'carries' if df == 1 else 'carry'} it in the whole input" if weight > 0
                else f"too common to link on its own: {plural(df, 'account')} carry it")
        more = (f"; {n_values - 1:,} more shared {terminal_safe(kind_name(kind, n_values - 1))} in the evidence"
                if n_values > 1 else "")
        cut = total_text(kind, n_values, totals)  # the evidence keeps the strongest per kind: of how many
        more += f"; {terminal_safe(cut)}" if cut else ""
        quoted = (f"{label}: {terminal_safe(value, limit=200)}" if kind == "timing"  # its meaning, not its hash
                  else f"{label} {terminal_safe(value, limit=80)!r}")
        lines.append(f"  - {n:,} of {plural(size, 'member')} share {quoted} ({note}{more})")
    tying = tying_values(evidence, passages=True)
    if tying.height:
        lines.append(f"Values that tied it to {tied_to_text(row.get('why') or '')} ({passage_summary(tying)}):")
        for kind, value, n, df, outside, phrases in tying.head(TIES_LISTED).iter_rows():
            label = terminal_safe(passage_kind_name(kind, phrases))
            rest = f" ({outside:,} in no flagged cluster)" if outside is not None else ""
            lines.append(f"  - {label} {terminal_safe(value, limit=80)!r}: {n:,} of {plural(size, 'member')}, "
                         f"{plural(df, 'account')} in the whole input{rest}")
        if tying.height > TIES_LISTED:
            lines.append(f"  - and {tying.height - TIES_LISTED:,} more rows (all in the cluster's evidence, column ties)")
    return "\n".join(lines)


def tied_to_text(why: str) -> str:
    """The flagged clusters an inherited flag's ``why`` names, for a heading over the values that tied it: its lead
    and the others its tie names (:func:`graphlink.stages.tie_words.also_tied_to`). Only ids are quoted.

    Examples
    --------
    >>> tied_to_text("tied to flagged cluster 2 (campaign 1) by 2 IP addresses, and to flagged cluster 17 by 1 payment card or identifier; x")
    'flagged clusters 2 and 17'
    >>> tied_to_text("same operator as flagged cluster 4 (campaign 3) by 1 payment card or identifier; x"), tied_to_text("proxies")
    ('flagged cluster 4', 'the flagged cluster its why names')
    """
    lead = flagged_with(why)
    if lead is None:
        return "the flagged cluster its why names"
    also = also_tied_to(why)
    if not also:
        return f"flagged cluster {lead['cluster_id']}"
    ids = [lead["cluster_id"], *also]
    return f"flagged clusters {', '.join(str(i) for i in ids[:-1])} and {ids[-1]}"


#: Tying values are listed cards and identifiers first, then prompt phrases, then addresses: the order the ``why``
#: counts them in (:func:`graphlink.stages.tie_words.inherited_why`), the strongest evidence of one operator first.
_TIE_ORDER = {"payment": 0, "prompt": 2, "ip": 3, "ip_net": 3, "asn": 3}


#: The headers of the table of :func:`tying_values`, one set for ``show`` and the report: kind, value, the cluster's
#: members holding it, the accounts holding it in the whole input, those of them in no flagged cluster.
TIE_HEADERS = ("kind", "value", "accounts sharing", "accounts in input", "in no flagged cluster")


def tying_values(evidence: pl.DataFrame, passages: bool = False) -> pl.DataFrame:
    """The values that tied a cluster to the flagged cluster its ``why`` names: ``kind, value, accounts_sharing, df,
    outside_flagged`` (and ``phrases`` with ``passages``).

    ``evidence`` is ``evidence.parquet`` rows (one cluster's or several); rows with ``ties`` True are kept
    (:mod:`graphlink.stages.tie_evidence`; none in folders written before it), cards and ``--signal``
    identifiers first, then prompt phrases, then addresses; within a kind those most members hold, then the
    rarest in the input. ``accounts_sharing``: the cluster's members holding the value; ``df``: accounts
    holding it in the whole input; ``outside_flagged``: those in no flagged cluster (null in folders written
    before it) -- a public text (a framework's system prompt) is held by many outside any flagged fleet, an
    operator's template mostly by its fleet. With ``passages`` the prompt phrases are folded into the passages they
    overlap into (:func:`graphlink.views.passages.with_passages`: one row per passage, ``phrases`` says how many),
    as ``show``, the report and :func:`why_text` list them.

    Examples
    --------
    >>> ev = pl.DataFrame({"kind": ["ip", "prompt", "payment", "prompt"], "value": ["1.2.3.4", "b c", "card", "a b"],
    ...                    "accounts_sharing": [2, 3, 2, 3], "weight": [1.0] * 4, "df": [9, 40, 3, 12],
    ...                    "ties": [True, True, True, False], "outside_flagged": [1, 30, 0, None]})
    >>> tying_values(ev)["value"].to_list()
    ['card', 'b c', '1.2.3.4']
    """
    if "outside_flagged" not in evidence.columns:
        evidence = evidence.with_columns(pl.lit(None, pl.UInt32).alias("outside_flagged"))
    if "ties" not in evidence.columns:
        return evidence.clear().select("kind", "value", "accounts_sharing", "df", "outside_flagged")
    rank = pl.col("kind").replace_strict(_TIE_ORDER, default=1, return_dtype=pl.Int64)
    tying = (evidence.filter(pl.col("ties").fill_null(False))
             .sort([rank, "accounts_sharing", "df", "kind", "value"], descending=[False, True, False, False, False])
             .select("kind", "value", "accounts_sharing", "df", "outside_flagged"))
    return with_passages(tying) if passages else tying


def table_html(frame: pl.DataFrame, max_rows: int = 10, max_chars: int = 120) -> str:
    """A small HTML table with every cell escaped (cells are attacker-controlled)."""
    head = "".join(f"<th>{html_safe(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(max_rows).iter_rows():
        cells = []
        for value in row:
            if isinstance(value, float):
                text = f"{value:.3f}"
            elif isinstance(value, list):
                text = ", ".join(map(str, value))
            else:
                text = "" if value is None else str(value)
            cells.append(f"<td style='text-align:left'>{html_safe(terminal_safe(text, limit=max_chars))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    more = (f"<p><small>… {plural(frame.height - max_rows, 'more row')}</small></p>" if frame.height > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback: datetimes as :data:`graphlink.contract.JSON_TIME_FORMAT` (UTC), dates ISO.

    The one JSON date format of graphlink's exports.

    Examples
    --------
    >>> from datetime import timezone
    >>> json_default(datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)), json_default(date(2024, 5, 1))
    ('2024-05-01T09:30:00Z', '2024-05-01')
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(timezone.utc).strftime(JSON_TIME_FORMAT)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def flag_settings(run: dict[str, Any]) -> tuple[float, int, bool]:
    """``flag_threshold``, ``min_flag_size`` and ``flag_campaigns`` a folder's ``run.json`` ran with (the
    :class:`graphlink.config.ScoringConfig` defaults for a folder without them)."""
    from graphlink.config import ScoringConfig

    scoring = {**vars(ScoringConfig()), **((run.get("parameters") or {}).get("scoring") or {})}
    return float(scoring["flag_threshold"]), int(scoring["min_flag_size"]), bool(scoring.get("flag_campaigns", True))


def score_note(row: dict[str, Any], run: dict[str, Any], campaigns: pl.DataFrame | None = None) -> str:
    """What to read beside a cluster's score when the score alone does not say whether it is flagged ('' otherwise).

    A cluster flagged through a tie to a flagged cluster, with its campaign, or scored as a whole can score
    anything, 0.000 included (its own evidence shows no fleet tooling): ``show`` and the report say so beside
    the score rather than leave a flagged 0.000 unexplained. An unflagged cluster scoring ``flag_threshold`` or
    more is one whose accounts, counted with its campaign's (a substantially tied one), are under
    ``min_flag_size``: the note says so and how many were counted; or a block the split guard held (its ``why``
    opens with :data:`graphlink.stages.split_guard.HELD_PATTERN`): the note names its whole's accounts and score. ``run`` is the folder's ``run.json`` (the
    ``[scoring]`` settings it ran with; the defaults for a folder without them); ``campaigns`` is
    ``campaigns.parquet`` (``campaign_id, accounts``; without it the note cannot say how many accounts the
    campaign has). Only numbers are quoted. A score a private e-mail domain discounted says so after it
    (:func:`discount_note`).

    Examples
    --------
    >>> score_note({"flagged": True, "score": 0.0, "size": 17, "why": "tied to flagged cluster 12 (campaign 3) by 8 prompt phrases"}, {})
    'flagged through its tie to flagged cluster 12 (campaign 3): its own score alone would not flag it (threshold 0.6)'
    >>> score_note({"flagged": True, "score": 0.9, "size": 17, "why": "proxies"}, {})
    ''
    >>> score_note({"flagged": False, "score": 0.71, "size": 16, "why": "split by wording from a cluster of 32 accounts scoring 0.530; x"}, {})
    'not flagged: split by wording from a cluster of 32 accounts scoring 0.530, under the threshold 0.6 (a block is flagged on its own score only when its whole would be)'
    >>> score_note({"flagged": False, "score": 0.85, "size": 3, "campaign_id": 7}, {},
    ...            pl.DataFrame({"campaign_id": [7], "accounts": [3]}))
    'not flagged: its campaign 7 has 3 accounts (this cluster alone), under min_flag_size 5'
    """
    return "; ".join(note for note in (_flag_note(row, run, campaigns), discount_note(row)) if note)


def discount_note(row: dict[str, Any]) -> str:
    """How much a private e-mail domain discounted a cluster's score ('' when it did not).

    The score is ``sqrt(coordination * evasion)`` times the discount (:mod:`graphlink.stages.scoring`): a cluster
    whose members sign up on a domain private to it (``org_coherence``, read from ``--accounts``) looks like a
    company, as far as proxy rotation and a card pool are absent. Read off the row's own columns, so a score
    far under its reasons (a bulk sign-up fleet on its own domain) says why.

    Examples
    --------
    >>> discount_note({"score": 0.401, "coordination": 0.558, "evasion": 1.0, "org_coherence": 1.0})
    'score discounted ×0.54 from 0.747 for a private e-mail domain (organisation coherence 1.00)'
    >>> discount_note({"score": 0.747, "coordination": 0.558, "evasion": 1.0, "org_coherence": 0.0})
    ''
    """
    coordination, evasion, score = row.get("coordination"), row.get("evasion"), row.get("score")
    coherence = row.get("org_coherence")
    if not coherence or coordination is None or evasion is None or score is None:
        return ""
    full = math.sqrt(max(float(coordination), 0.0) * max(float(evasion), 0.0))
    if full <= 0 or float(score) >= 0.995 * full:
        return ""
    return (f"score discounted ×{float(score) / full:.2f} from {full:.3f} for a private e-mail domain "
            f"(organisation coherence {float(coherence):.2f})")


def _flag_note(row: dict[str, Any], run: dict[str, Any], campaigns: pl.DataFrame | None) -> str:
    """:func:`score_note`'s part about the flag."""
    threshold, min_size, by_campaign = flag_settings(run)
    score, size = row.get("score"), int(row.get("size") or 0)
    low = score is None or float(score) < threshold
    if not row.get("flagged"):
        held = re.match(HELD_PATTERN, row.get("why") or "")
        if held and not low:  # the split guard (graphlink.stages.split_guard)
            return (f"not flagged: split by wording from a cluster of {held.group(1)} accounts scoring {held.group(2)}, under "
                    f"the threshold {threshold:g} (a block is flagged on its own score only when its whole would be)")
        return "" if low or size >= min_size else _unflagged_note(row, size, min_size, by_campaign, campaigns)
    if not (low or size < min_size):
        return ""
    why = row.get("why") or ""
    lead = flagged_with(why)
    whole = re.match(r"campaign (\d+)" + re.escape(AS_A_WHOLE), why)
    basis = flag_basis(row, min_size)  # the words detect's table, show's heading and the report use: they agree
    how = (f"flagged through its tie to flagged cluster {lead['cluster_id']}"
           + (f" (campaign {lead['campaign_id']})" if lead["campaign_id"] else "") if lead
           else f"flagged with campaign {whole.group(1)} scored as a whole" if whole
           else f"flagged {flag_words(basis)}" if basis.startswith(OWN_SCORE)
           else "flagged with its campaign")
    alone = (f"its own score alone would not flag it (threshold {threshold:g})" if low
             else f"its own {plural(size, 'account')} alone are under min_flag_size {min_size}")
    return f"{how}: {alone}"


def _unflagged_note(row: dict[str, Any], size: int, min_size: int, by_campaign: bool,
                    campaigns: pl.DataFrame | None) -> str:
    """Why a cluster scoring the threshold is not flagged: the accounts ``min_flag_size`` counted are too few
    (:func:`graphlink.stages.campaign_flags.flag_with_campaign`: its campaign's when substantially tied, else its own)."""
    own = f"its {plural(size, 'account')}"
    campaign_id = row.get("campaign_id")
    if not by_campaign:
        return f"not flagged: {own} are under min_flag_size {min_size} (campaigns not counted: flag_campaigns = false)"
    accounts = None
    if campaign_id is not None and campaigns is not None and {"campaign_id", "accounts"} <= set(campaigns.columns):
        found = campaigns.filter(pl.col("campaign_id") == campaign_id)["accounts"]
        accounts = int(found[0]) if found.len() and found[0] is not None else None
    if accounts is None:
        return f"not flagged: {own}, with its campaign's if substantially tied, are under min_flag_size {min_size}"
    if accounts <= size:
        return f"not flagged: its campaign {campaign_id} has {plural(accounts, 'account')} (this cluster alone), under min_flag_size {min_size}"
    if accounts < min_size:
        return f"not flagged: its campaign {campaign_id} has {plural(accounts, 'account')}, under min_flag_size {min_size}"
    return (f"not flagged: {own} are under min_flag_size {min_size}; its campaign {campaign_id}'s "
            f"{accounts:,} are not counted (its clusters' tie is not substantial)")


#: :func:`flag_basis_expr` of a cluster flagged on its own evidence: its own score and its own size (at least
#: ``min_flag_size`` accounts).
OWN_EVIDENCE = "own evidence"
#: :func:`flag_basis_expr` of a cluster flagged on its own score whose own accounts are under ``min_flag_size``: its
#: campaign's accounts were counted for the size (:func:`graphlink.stages.campaign_flags.flag_with_campaign`), so
#: the size is borrowed, not its own evidence: ``own score, size of campaign 7`` (``of its campaign`` when its
#: campaign is not known).
OWN_SCORE = "own score, size of "
#: What a column of :func:`flag_basis_expr` says, for its header's hover text (the report's ranked table).
FLAG_TITLE = ("What the flag rests on: the cluster's own evidence; its own score with its campaign's accounts counted "
              "for min_flag_size (its own are fewer); a flagged cluster it is tied to (its operator's, or a fleet's "
              "whose tooling it uses); or its campaign scored as a whole")


#: :func:`flag_basis_expr` of a flagged cluster whose ``why`` is not known (a folder written without the column, a null
#: ``why``): what rests the flag is not claimed, the view says only "flagged".
UNKNOWN_BASIS = "flagged"


def flag_basis_expr(flagged: str = "flagged", why: str | pl.Expr = "why", min_flag_size: int | None = None,
                    campaign: str | None = "campaign_id") -> pl.Expr:
    """What a cluster's flag rests on, read off the start of its ``why`` as :func:`flagged_with` reads it: ``own
    evidence``, ``own score, size of campaign N`` (its score, with its campaign N's accounts counted for
    ``min_flag_size``: its own ``size`` is under it; :data:`OWN_SCORE`), ``with cluster N`` (inherited from flagged
    cluster N, its operator's or a fleet's whose tooling it uses), ``with campaign N`` (its campaign scored as a
    whole), "" when not flagged; named ``flag``. Detect's table, ``show``'s heading, the report and the exports
    (:data:`graphlink.contract.FLAG_EXPLANATION_COLUMNS`) mark flags with it. ``min_flag_size``: the run's (read
    the ``size`` column and ``campaign``, None for a frame without it); None tells no borrowed size from own evidence.

    Examples
    --------
    >>> pl.DataFrame({"flagged": [True, True, True, False, True], "size": [9, 2, 3, 1, 2], "campaign_id": [1, 3, 4, 5, 7],
    ...               "why": ["proxies", "same operator as flagged cluster 12 (campaign 3) by 1 card",
    ...                       "campaign 4 as a whole (80 accounts): x; this cluster: y", "z", "proxies"]}
    ...              ).select(flag_basis_expr(min_flag_size=5))["flag"].to_list()
    ['own evidence', 'with cluster 12', 'with campaign 4', '', 'own score, size of campaign 7']

    A ``why`` not known (null, or ``why`` given as ``pl.lit(None)`` for a folder without the column) claims no basis:
    :data:`UNKNOWN_BASIS`.
    """
    text = pl.col(why) if isinstance(why, str) else why
    lead = text.str.extract(LEAD_PATTERN, 2)
    whole = text.str.extract(r"^campaign (\d+)" + re.escape(AS_A_WHOLE), 1)
    borrowed = (pl.col("size") < min_flag_size) if min_flag_size is not None else pl.lit(False)
    campaign_text = pl.col(campaign).cast(pl.String) if min_flag_size is not None and campaign else pl.lit(None, pl.String)
    return (pl.when(~pl.col(flagged).fill_null(False)).then(pl.lit(""))
            .when(text.is_null()).then(pl.lit(UNKNOWN_BASIS))
            .when(lead.is_not_null()).then(pl.format("with cluster {}", lead))
            .when(whole.is_not_null()).then(pl.format("with campaign {}", whole))
            .when(borrowed.fill_null(False)).then(pl.lit(OWN_SCORE) + pl.concat_str([pl.lit("campaign "), campaign_text])
                                                  .fill_null("its campaign"))
            .otherwise(pl.lit(OWN_EVIDENCE))).alias("flag")


def flag_basis(row: dict[str, Any], min_flag_size: int | None = None) -> str:
    """:func:`flag_basis_expr` of one ``clusters.parquet`` row (``min_flag_size``: the run's, as there)."""
    campaign = row.get("campaign_id")  # named as written (an id, or a hand-made folder's text)
    frame = pl.DataFrame({"flagged": [bool(row.get("flagged"))], "why": [row.get("why")], "size": [row.get("size")],
                          "campaign_id": [None if campaign is None else str(campaign)]},
                         schema={"flagged": pl.Boolean, "why": pl.String, "size": pl.Int64, "campaign_id": pl.String})
    return frame.select(flag_basis_expr(min_flag_size=min_flag_size))["flag"][0]


def flag_words(basis: str) -> str:
    """What follows "flagged" in ``show``'s heading and the report's badge for a :func:`flag_basis` (no claim for
    :data:`UNKNOWN_BASIS`).

    >>> flag_words("own evidence"), flag_words("own score, size of campaign 7"), flag_words("with cluster 12")
    ('on its own evidence', "on its own score, with campaign 7's accounts counted for min_flag_size", 'with cluster 12')
    """
    if basis.startswith(OWN_SCORE):  # "campaign 7" or "its campaign"
        return f"on its own score, with {basis[len(OWN_SCORE):]}'s accounts counted for min_flag_size"
    return {OWN_EVIDENCE: "on its own evidence", UNKNOWN_BASIS: ""}.get(basis, basis)


def flag_explanation(row: dict[str, Any], run: dict[str, Any], campaigns: pl.DataFrame | None = None,
                     clusters: pl.DataFrame | None = None) -> dict[str, Any]:
    """What a view or export says about a cluster's flag (:data:`graphlink.contract.FLAG_EXPLANATION`): ``why``,
    ``reasons``, ``flagged_with``, ``carried_to`` (with ``clusters``: :func:`graphlink.stages.tie_words.carried_to`,
    else ``[]``) and ``score_note``, from its ``clusters.parquet`` row and ``run.json``. The one
    place they are built: ``show --json`` and the case file carry these, the table exports
    :func:`cluster_explanations` of them.

    Examples
    --------
    >>> e = flag_explanation({"flagged": True, "score": 0.0, "size": 9, "why": "tied to flagged cluster 12 (campaign 3) by 8 prompt phrases; x"}, {})
    >>> e["flagged_with"], e["reasons"][1], e["score_note"].startswith("flagged through its tie to flagged cluster 12")
    ({'cluster_id': 12, 'campaign_id': 3, 'same_operator': False}, 'x', True)
    """
    why = row.get("why") or ""
    explained = {"flag": flag_basis(row, flag_settings(run)[1]), "why": why, "reasons": why_reasons(why),
                 "flagged_with": flagged_with(why), "score_note": score_note(row, run, campaigns),
                 "carried_to": [] if clusters is None or row.get("cluster_id") is None else carried_to(clusters, row["cluster_id"])}
    return {key: explained[key] for key in FLAG_EXPLANATION}


def cluster_explanations(clusters: pl.DataFrame, run: dict[str, Any], campaigns: pl.DataFrame | None = None) -> pl.DataFrame:
    """``cluster_id`` and :data:`graphlink.contract.FLAG_EXPLANATION_COLUMNS` (``score_note``, ``why``) of each row of
    ``clusters``: :func:`flag_explanation`'s flat part, for ``members.csv`` and the graph exports."""
    explained = (flag_explanation(row, run, campaigns) for row in clusters.iter_rows(named=True))
    rows = [{c: e[c] for c in FLAG_EXPLANATION_COLUMNS} for e in explained]
    return pl.DataFrame(rows, schema=dict.fromkeys(FLAG_EXPLANATION_COLUMNS, pl.String)).with_columns(
        clusters["cluster_id"]).select("cluster_id", *FLAG_EXPLANATION_COLUMNS)


def _campaign_verdict(row: dict[str, Any], min_flag_size: int) -> str:
    """Why a cluster under the threshold or ``min_flag_size`` is flagged, read off its ``why``
    (:func:`graphlink.stages.campaign_flags.flag_with_campaign` writes its start): with a flagged
    cluster of its campaign, with its campaign scored as a whole, or on its own score with its
    campaign's accounts counted for ``min_flag_size`` (:func:`flag_words`). Only numbers are quoted (``why`` may quote
    prompts)."""
    why, campaign = row.get("why") or "", row.get("campaign_id")
    lead = flagged_with(why)
    if lead:  # the campaign in the why is the lead's (graphlink.stages.tie_words)
        named = f"flagged cluster {lead['cluster_id']}" + (f" (campaign {lead['campaign_id']})" if lead["campaign_id"] else "")
        also = also_tied_to(why)  # a card leading to another flagged cluster (tie_words.ALSO)
        card = (f", and by a card or identifier to flagged cluster{'s' if len(also) > 1 else ''} "
                f"{', '.join(str(c) for c in also)}" if also else "")
        if not lead["same_operator"]:
            return (f"flagged with a flagged cluster: tied to {named} by prompt phrases or addresses its fleet uses, "
                    f"not by a card or identifier of that fleet{card}: it uses that fleet's tooling, "
                    f"which another operator may use too; this cluster's campaign is {campaign}")
        return f"flagged with its operator: same operator as {named}{card}"
    whole = re.match(r"campaign (\d+)" + re.escape(AS_A_WHOLE) + r"(\d+) accounts\)", why)
    if whole:
        return f"flagged with campaign {whole.group(1)} scored as a whole ({whole.group(2)} accounts)"
    return f"flagged {flag_words(flag_basis(row, min_flag_size))}"  # its own score, its campaign's size: as every view says
