"""The report's evidence of one cluster: its clock, then each kind of shared value, strongest first
(:func:`evidence_context`, for ``templates/evidence.html.j2``), and the columns its value tables (and the table of
values that tied an inherited flag) show (:func:`value_columns`). Moved out of :mod:`graphlink.views.report.html`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphlink.config.kinds import kind_name_expr
from graphlink.phrase_quotes import numbers_as_slots
from graphlink.views.evidence import evidence_by_kind
from graphlink.views.explain import TIE_HEADERS
from graphlink.views.passages import passage_kind_expr
from graphlink.views.report.members import MemberEvents
from graphlink.views.report.tables import Column, build_table, fmt_float, fmt_int
from graphlink.views.schedule import describe_schedule, describe_sync, hours_text
from graphlink.views.shared_counts import total_text
from graphlink.views.template_parts import SLOT_MEANINGS
from graphlink.views.templates import TEMPLATES_LISTED, cluster_templates, used_by
from graphlink.views.words import plural

__all__ = ["evidence_context", "tie_columns", "value_columns"]


def value_columns(kind: str) -> list[Column]:
    return [  # a timing value is a hash: its meaning is shown, the hash on hover
        Column("shared windows", pl.col("meaning"), css="text", cell_title=pl.col("value")) if kind == "timing"
        else Column("value", pl.col("value"), css="text"),
        Column("accounts sharing", fmt_int(pl.col("accounts_sharing")), numeric=True, sort=pl.col("accounts_sharing"),
               title="Members of this cluster carrying the value"),
        Column("accounts in input", fmt_int(pl.col("df")), numeric=True, sort=pl.col("df"),
               title="Accounts carrying the value in the whole input"),
        Column("weight", fmt_float(pl.col("weight")), numeric=True, sort=pl.col("weight"),
               title="Rarity weight of the value; 0 means too common to link accounts"),
    ]


def evidence_context(cluster_id: int, evidence: pl.DataFrame, size: int, events: MemberEvents | None,
                     members: pl.DataFrame, options: Any, totals: pl.DataFrame | None = None) -> dict[str, Any]:
    """The evidence of one cluster in human terms: its clock, then each kind, strongest first.

    Built on :mod:`graphlink.views.evidence` and :mod:`graphlink.views.schedule` (shared with ``show``
    and notebooks). ``options``: the :class:`graphlink.views.report.html.ReportOptions`; ``totals``:
    :func:`graphlink.views.shared_counts.shared_totals` of the cluster -- a kind ``evidence.parquet`` cut to its
    strongest values says of how many (``48 payment cards shared (10 listed)``).
    """
    cid = int(cluster_id)
    ids = members["account_id"].implode()
    times = None
    if events is not None and events.times is not None:
        times = events.times.filter(pl.col("account_id").is_in(ids))
    clock = ""
    if times is not None and times.height:
        schedule = describe_schedule(times)
        hours = times["timestamp"].dt.hour().unique().to_list()
        # The members' events taken together (epoch folding over the cluster): an account alone may have too few
        # runs at the clock's minutes to be on a schedule of its own, what the why's scripted_accounts counts (nu56).
        clock = (f"Acts on a clock, its members' events taken together: {schedule.text()}." if schedule is not None else
                 f"No repeating schedule found; active {hours_text(hours)}.")
        sync = describe_sync(times)
        if sync:
            clock += f" {sync[0].upper()}{sync[1:]}."
    kinds = []
    limit = max(options.max_values_per_kind, 1)
    for group in evidence_by_kind(evidence, size, totals=totals):
        item: dict[str, Any] = {"kind": group.kind, "label": group.label, "summary": group.summary,
                                "templates": [], "table": None, "more": None, "more_title": ""}
        values = group.values
        if group.kind == "prompt":  # its numbers as slots: the phrase is counted with numbers normalised
            values = values.with_columns(numbers_as_slots(pl.col("value")))
        cut = total_text(group.kind, int((values["weight"].fill_null(0.0) > 0).sum()), totals)  # "48 … shared (10 listed)"
        of = f" listed of {cut.split(' ', 1)[0]}" if cut else ""  # "10 shared activity signatures listed of 50+"
        if group.kind == "prompt":
            found = cluster_templates(evidence, events.prompts if events is not None else None, members["account_id"],
                                      TEMPLATES_LISTED + 1)  # one more than listed: were some left out?
            item["templates"] = [
                {"parts": [(text, SLOT_MEANINGS.get(text, "varies between prompts") if variable else None)
                           for text, variable in t.parts], "example": t.raw_example,
                 "used": f"followed by {used_by(t)}" if t.accounts else used_by(t)}
                for t in found[:TEMPLATES_LISTED]]
            if len(found) > TEMPLATES_LISTED:
                summary = item["summary"].rstrip()  # nu43: "... by 95 of 95 accounts The 3 templates ..."
                item["summary"] = (summary + ("" if summary.endswith((".", "!", "?")) else ".")
                                   + f" The {TEMPLATES_LISTED} templates most accounts follow are listed; more were found "
                                   "(graphlink show CLUSTER --max-templates N, or the notebook's ClusterView.templates(max_templates=N), "
                                   "lists them).")
        elif group.kind == "timing":
            item["summary"] = (f"{plural(values.height, 'shared activity signature')}{of}: accounts active in the same "
                               f"windows again and again (the largest group: "
                               f"{plural(int(values['accounts_sharing'].max()), 'account')}), with the hours in "
                               "which all of each group are active.")
        columns = value_columns(group.kind)
        if group.kind in ("prompt", "timing"):  # the template / clock says it; the raw values on request
            item["more"] = build_table(values, columns, table_id=f"evidence-{cid}-{group.kind}")
            item["more_title"] = f"The {values.height:,} shared {group.label}{of}"
        else:
            item["table"] = build_table(values.head(limit), columns, table_id=f"evidence-{cid}-{group.kind}")
            if values.height > limit:
                item["more"] = build_table(values.slice(limit), columns, table_id=f"evidence-{cid}-{group.kind}-more")
                item["more_title"] = f"{values.height - limit:,} more"
        kinds.append(item)
    zero = evidence.filter(pl.col("weight").fill_null(0.0) <= 0)
    common = None
    if zero.height:
        common = build_table(zero.sort(["kind", "accounts_sharing"], descending=[False, True]),
                             [Column("kind", kind_name_expr("kind")), *value_columns("")[:3]],
                             table_id=f"evidence-{cid}-common")
    return {"clock": clock, "kinds": kinds, "common": common, "n_common": f"{zero.height:,}"}


def tie_columns() -> list[Column]:
    """The columns of the table of values that tied an inherited flag (:func:`graphlink.views.explain.tying_values`),
    headed as ``show`` heads them (:data:`graphlink.views.explain.TIE_HEADERS`)."""
    kind, value, sharing, in_input, outside = TIE_HEADERS
    return [Column(kind, passage_kind_expr()), Column(value, pl.col("value"), css="text"),
            Column(sharing, fmt_int(pl.col("accounts_sharing")), numeric=True, sort=pl.col("accounts_sharing"),
                   title="Members of this cluster carrying the value"),
            Column(in_input, fmt_int(pl.col("df")), numeric=True, sort=pl.col("df"),
                   title="Accounts carrying the value in the whole input (a prompt phrase: accounts whose prompts give "
                         "prompt signals, mostly templated; a search of the log can find more)"),
            Column(outside, fmt_int(pl.col("outside_flagged")), numeric=True, sort=pl.col("outside_flagged"),
                   title="Accounts holding the value outside every flagged cluster")]
