"""What the report reads beyond the output tables: members' original events and the interactive network data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from graphlink.config.kinds import kind_name, kind_name_expr
from graphlink.store.folder import Outputs
from graphlink.store.outputs import events_file
from graphlink.views import plots
from graphlink.views.member_behaviour import behaviour_expr
from graphlink.views.report.tables import Column, fmt_float, fmt_int, fmt_time
from graphlink.views.safety import visible_text
from graphlink.views.templates import sample_prompts
from graphlink.views.words import plural

__all__ = ["MemberEvents", "member_columns", "member_events", "network_data"]


def member_columns() -> list[Column]:
    """The report's member table: each member's activity, what of the cluster's behaviour it shares (``shares``,
    :mod:`graphlink.views.member_behaviour`) and why it is in the cluster (:mod:`graphlink.views.member_ties`)."""
    return [
        Column("account", pl.col("account_id"), css="text"),
        Column("events", fmt_int(pl.col("events")), numeric=True, sort=pl.col("events")),
        Column("first seen (UTC)", fmt_time(pl.col("first_seen"))),
        Column("last seen (UTC)", fmt_time(pl.col("last_seen"))),
        Column("shares", behaviour_expr(tied_by=pl.col("tied_by")), css="text", sort=pl.col("template_share"),
               title="What of the cluster's behaviour the account shares with other members: its prompts carrying the "
                     "cluster's template phrases (share of its sampled prompts), a payment card, same-minute activity, "
                     "a template burst, a declared identifier; 'addresses only': none -- in the cluster by addresses, "
                     "networks, user agents, e-mail domains or creation hours alone, as a bystander is; 'addresses and "
                     "stock phrases only': none, and tied by fewer than 5 prompt phrases too (a stock phrase, not a template)"),
        Column("tie strength", fmt_float(pl.col("tie_strength"), 2), numeric=True, sort=pl.col("tie_strength"),
               title="Share of the account's card and address link weight going to suspected accounts (its campaign or a flagged cluster); low: tied mostly to unsuspected accounts, as a bystander is; blank: it shares no card or address"),
        Column("tied by", pl.col("tied_by"), css="text"),
    ]


def network_data(memberships: pl.DataFrame, max_nodes: int = 150, seed: int = 0) -> dict[str, Any] | None:
    """Nodes (with positions, colours and hover texts) and edges of one cluster's interactive view.

    The same sample of accounts and signals as the static drawing
    (:func:`graphlink.views.plots.sample_network`) and the same seeded
    spring layout (networkx), so both show the same picture. Returns
    ``None`` when no signal is shared by two members.
    """
    edges, _ = plots.sample_network(memberships, max_nodes=max_nodes)
    if edges.is_empty():
        return None
    account_list, signals, positions = plots.network_layout(edges, seed)  # the static drawing's layout
    signals = signals.with_row_index("n").with_columns(pl.format("v{}", pl.col("n")).alias("node"))
    edges = edges.join(signals.select("kind", "value", "node"), on=["kind", "value"])
    accounts = pl.Series("account_id", account_list, dtype=pl.String)
    account_node = {a: f"a{i}" for i, a in enumerate(account_list)}
    pairs = list(zip([account_node[a] for a in edges["account_id"].to_list()], edges["node"].to_list()))
    pos = dict(zip(list(account_node.values()) + signals["node"].to_list(), positions))
    kinds = signals["kind"].unique().sort().to_list()
    # Hover text of an account: every value it shares with other members (memberships), linking ones first.
    shared = (memberships.filter(pl.col("account_id").is_in(accounts.implode()))
              .sort(["account_id", "weight", "kind", "value"], descending=[False, True, False, False])
              .group_by("account_id", maintain_order=True)
              .agg(pl.concat_str([kind_name_expr("kind"), pl.lit(" "), pl.col("value").str.slice(0, 80)]).head(12).alias("v"),
                   pl.len().alias("n")))
    tips = {a: f"account {a}\nshares {plural(n, 'value')}: " + "; ".join(v) + (" …" if n > len(v) else "")
            for a, v, n in shared.iter_rows()}
    top = max(int(signals["sharing"].max()), 1)
    nodes = [{"id": account_node[a], "kind": "account", "colour": plots.ACCOUNT_COLOUR, "size": 8,
              "x": round(float(pos[account_node[a]][0]) * 300, 2), "y": round(float(pos[account_node[a]][1]) * 300, 2),
              "tip": tips.get(a, f"account {a}")} for a in accounts.to_list()]
    nodes += [{"id": node, "kind": kind, "colour": plots.kind_colour(kind, kinds),
               "size": round(10 + 16 * (sharing / top) ** 0.5, 1),
               "x": round(float(pos[node][0]) * 300, 2), "y": round(float(pos[node][1]) * 300, 2),
               "tip": f"{kind_name(kind)} {value}\nshared by {plural(sharing, 'member')} · weight {weight:.2f}"}
              for _, kind, value, sharing, weight, node in signals.iter_rows()]
    for node in nodes:  # hover texts are read with textContent: invisible characters spelled out there too
        node["tip"] = visible_text(node["tip"])
    return {"nodes": nodes, "edges": [list(p) for p in pairs],
            "kinds": [[visible_text(kind_name(k)), plots.kind_colour(k, kinds)] for k in kinds]}


@dataclass(frozen=True)
class MemberEvents:
    """Original events of the section clusters' members, read back from the events file.

    Attributes
    ----------
    times : DataFrame or None
        ``account_id, timestamp`` of every member event (None: no timestamp column).
    prompts : DataFrame or None
        ``account_id, prompt``: a few prompts of a sample of each cluster's members.
    note : str
        Why something is missing ("" when all is there).
    missing : bool
        The events could not be read back (the note is then a warning for the command line too).
    """

    times: pl.DataFrame | None
    prompts: pl.DataFrame | None
    note: str = ""
    missing: bool = False


def member_events(outputs: Outputs, *, prompts: bool = True) -> MemberEvents:
    """Read the section clusters' members' events from the events file recorded in ``run.json``.

    Two streaming scans of the events file: ``account_id, timestamp`` of every
    member (16 bytes per event), and the prompts the template view reads
    (:func:`graphlink.views.templates.sample_prompts`, as ``ClusterView.templates()``).

    Never raises for a missing or unreadable events file: the note says why
    and the report falls back to what the output folder holds.
    """
    from graphlink.config import build_config
    from graphlink.errors import GraphlinkError
    from graphlink.stages.ingest import scan_events

    recorded, path = events_file(outputs.run)
    if path is None:
        what = ("were read from memory or standard input" if recorded in ("", "<frame>", "<stdin>")
                else f"file {recorded} recorded in run.json is not there")
        return MemberEvents(None, None, f"Schedules and example prompts are not shown: the events {what} "
                                        "(rerun graphlink report where the events file is).", missing=True)
    try:
        config = build_config(parameters=outputs.run.get("parameters") or {})
        lf = scan_events(path, config.ingest)
        schema = lf.collect_schema()
        members = outputs.accounts.select("account_id", "cluster_id")
        ids = members["account_id"].implode()
        times = None
        if "timestamp" in schema:
            times = (lf.filter(pl.col("account_id").is_in(ids)).select("account_id", "timestamp")
                     .drop_nulls("timestamp").collect(engine="streaming"))
        sample = None
        if prompts and "prompt" in schema:  # the notebook's sample too (ClusterView.templates)
            sample = sample_prompts(lf, members.drop_nulls("cluster_id"))
    except (GraphlinkError, pl.exceptions.PolarsError, OSError, TypeError, ValueError) as exc:
        return MemberEvents(None, None, f"Schedules and example prompts are not shown: the events file {path} "
                                        "could not be read back "
                                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}).",
                            missing=True)
    note = "" if prompts else "Example prompts are left out of a redacted report."
    return MemberEvents(times, sample, note)
