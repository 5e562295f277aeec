"""The report's table of the values tying a campaign's clusters (each campaign section, under its ``why``).

The campaign's ``why`` counts them ("tied by 183 prompt phrases, 69 IP addresses"); ``graphlink campaign`` lists
them in the terminal, and the report, where an investigator reads the campaign, did not (session 48). Read with the
folder (:attr:`graphlink.store.folder.Outputs.campaign_ties`, redacted with it under ``report --redact``); every
value is escaped and its invisible characters spelled out when the template prints it
(:func:`graphlink.views.report.assets.environment`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from graphlink.config.kinds import kind_name, kind_name_expr
from graphlink.phrase_quotes import phrase_shown
from graphlink.store.campaign_ties import ties_note
from graphlink.store.folder import Outputs
from graphlink.views.report.tables import Column, build_table, fmt_float, fmt_int

__all__ = ["REPORT_TIES_PER_KIND", "campaign_ties_context"]

#: Values listed per kind in a campaign section, most shared first: a template family ties by a hundred-odd phrases
#: and an address pool by dozens, and ten show what the tie is without burying the next campaign; ``graphlink
#: campaign DIR ID --json`` lists all.
REPORT_TIES_PER_KIND = 10


def campaign_ties_context(outputs: Outputs, campaign_id: Any, clusters: list[int]) -> dict[str, Any] | None:
    """The tying values of one campaign for its report section: ``{"table", "summary", "note"}``, or None for a
    campaign of one cluster.

    ``summary`` counts the values per kind and says how many are listed; ``note`` says where they come from
    (:func:`graphlink.store.campaign_ties.ties_note`), or, when the report read none of the campaign's clusters, which
    command lists them.
    """
    if len(clusters) < 2:
        return None
    command = f"graphlink campaign {outputs.path} {campaign_id}"
    loaded = set(outputs.selected) & set(clusters)
    if outputs.campaign_ties is None or not loaded:
        return {"table": None, "summary": "", "note": f"Values tying its clusters not read with this report: {command}"}
    ties = outputs.campaign_ties.filter(pl.col("campaign_id") == campaign_id)
    if ties.is_empty():
        return {"table": None, "summary": "No card, address, prompt phrase or identifier is held in two of its "
                "clusters.", "note": ties_note(outputs.folder)}
    per_kind = ties.group_by("kind", maintain_order=True).len().rows()
    shown = ties.filter(pl.int_range(pl.len()).over("kind") < REPORT_TIES_PER_KIND)
    counts = ", ".join(f"{n:,} {kind_name(k, n)}" for k, n in per_kind)
    more = f"; the {REPORT_TIES_PER_KIND} most shared of each kind listed, all: {command} --json" \
        if shown.height < ties.height else ""
    table = build_table(shown, [
        Column("kind", kind_name_expr("kind")),
        Column("value", phrase_shown(pl.col("kind"), pl.col("value")), css="text"),
        Column("clusters", pl.col("clusters").cast(pl.List(pl.String)).list.join(", ")),
        Column("accounts", fmt_int(pl.col("accounts")), numeric=True, sort=pl.col("accounts")),
        Column("weight", fmt_float(pl.col("weight")), numeric=True, sort=pl.col("weight"),
               title="The value's rarity weight: higher, held by fewer accounts of the log"),
    ], table_id=f"campaign-{campaign_id}-ties")
    return {"table": table, "summary": f"Values tying its clusters: {counts}{more}.", "note": ties_note(outputs.folder)}
