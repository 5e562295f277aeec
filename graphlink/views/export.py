"""Exports of chosen clusters for other tools.

:func:`export` is the function behind ``graphlink export``. Formats:

``gexf``, ``graphml``
    A graph for Gephi (or any graph tool): account nodes and the signal nodes
    they share, built by :func:`cluster_graph`. Every node has a ``type``
    (``account`` or ``signal``), ``label``, ``cluster_id`` and ``score``;
    accounts add ``events``, ``first_seen``, ``last_seen``, ``flagged``,
    why their cluster is flagged (``flag``, ``score_note``, ``why``: :data:`graphlink.contract.FLAG_EXPLANATION_COLUMNS`) and
    what of its cluster's behaviour it shares (``template_share``, left out when not known, and
    ``shared_behaviour``: :data:`graphlink.contract.MEMBER_BEHAVIOUR_COLUMNS`) and
    why the account is in it (``tie_strength``, left out when not known, and ``tied_by``:
    :data:`graphlink.contract.MEMBER_TIES_COLUMNS`);
    signals add ``kind``, ``value``, ``weight`` (rarity weight; 0 means too
    common to link), ``accounts`` (exported accounts carrying it) and ``ties_campaigns`` (the campaigns, ids joined
    by ``;``, whose clusters it ties: :attr:`graphlink.store.folder.Outputs.campaign_ties`; "" when none). Edges
    carry ``weight`` (the signal's weight), ``kind`` and the account's
    ``cluster_id``. Only signals carried by at least two exported accounts
    are included: the others link nothing. Default file: ``DIR/graph.gexf``
    or ``DIR/graph.graphml``.
``json``
    One case file per cluster (``cluster-<id>.json``, schema
    ``graphlink.case/1``) with the score and its components, why it is flagged
    (``flag``, ``why``, ``reasons``, ``flagged_with``, ``score_note``: :data:`graphlink.contract.FLAG_EXPLANATION`),
    the values tying its campaign's clusters (``campaign_ties``, what the campaign's ``why`` counts, and
    ``campaign_ties_note``),
    members (each with ``template_share``, ``shared_behaviour``, ``tie_strength`` and ``tied_by``), evidence (strongest first, as ``show`` lists it), an hour-of-day profile and the run's parameters, for
    case-management tools (:func:`case_file`). Default folder: ``DIR/cases``.
    The folder is replaced as a whole: it then holds exactly the exported
    clusters' files (a folder holding anything else is refused).
``csv``
    ``members.csv`` (each member with ``template_share``, ``shared_behaviour``, ``tie_strength`` and ``tied_by``, and its cluster's score, ``flagged``,
    ``flag``, ``score_note`` and ``why``),
    ``campaign_ties.csv`` (the values tying the clusters of the exported clusters' campaigns),
    ``evidence.csv`` (strongest first per cluster; ``kind_name`` beside the ``kind`` code:
    :data:`graphlink.contract.EVIDENCE_CSV_COLUMNS`), ``affiliations.csv`` (which member holds which
    value tying the exported clusters: :data:`graphlink.contract.AFFILIATIONS_CSV_SCHEMA`) and
    ``README.txt``, the data dictionary (:data:`graphlink.contract.CSV_DICTIONARY`), built by
    :mod:`graphlink.views.export_csv`; cells that a spreadsheet would run
    as a formula (starting ``=``, ``+``, ``-``, ``@``) get a leading ``'``; with ``bom`` (``--bom``: for Excel)
    each CSV starts with a UTF-8 byte-order mark. Default folder: ``DIR/csv``.

Control and invisible characters an attacker may put in a user agent (some not valid in XML 1.0) are spelled
out in graph exports' text as everywhere a person reads it (``⟨U+001B⟩``, :func:`xml_text`), and so are the
characters XML cannot hold in node ids (``⟨U+0001⟩``, :func:`xml_id`): two ids stay two nodes. Every file is written
atomically.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from graphlink.errors import GraphlinkError
from graphlink.contract import FLAG_EXPLANATION_COLUMNS, JSON_TIME_FORMAT
from graphlink.store.atomic import write_atomic
from graphlink.store.campaign_ties import ties_note
from graphlink.store.targets import check_csv_targets, check_file_target
from graphlink.store.folder import Outputs, Selection, score_columns
from graphlink.store.outputs import load_outputs
from graphlink.views.evidence import strongest_first
from graphlink.views.explain import cluster_explanations, flag_explanation, json_default
from graphlink.views.member_behaviour import with_behaviour_columns
from graphlink.views.member_ties import outputs_member_ties, with_member_ties
from graphlink.views.safety import spelled_expr
from graphlink.views.export_csv import affiliations_table, csv_bytes, csv_files, evidence_csv, iso_columns, members_table
from graphlink.views.schedule import timing_bucket, timing_meanings

FORMATS = ("gexf", "graphml", "json", "csv")
CASE_SCHEMA = "graphlink.case/1"


@dataclass(frozen=True)
class ExportInfo:
    """What :func:`export` wrote."""

    format: str
    paths: list[Path]
    clusters: list[int]
    nodes: int | None = None
    edges: int | None = None
    redacted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def xml_text(expr: pl.Expr) -> pl.Expr:
    """Text for a label or attribute a person reads: control and invisible characters spelled out
    (:func:`graphlink.views.safety.spelled_expr`: ``⟨U+0007⟩``, as the terminal, the report and the CSV export
    spell them; U+FFFD until session 47 made an escape and a bell one look), and the two non-characters XML 1.0
    cannot hold either (U+FFFE, U+FFFF) likewise.

    Examples
    --------
    >>> pl.select(xml_text(pl.lit("a\\x07b\\x1b\\ufffe"))).item()
    'a⟨U+0007⟩b⟨U+001B⟩⟨U+FFFE⟩'
    """
    return _xml_nonchars(spelled_expr(expr))


def xml_id(expr: pl.Expr) -> pl.Expr:
    """A node id XML 1.0 can hold, one per text: control and invisible characters spelled out (``⟨U+0001⟩``,
    ``⟨U+202E⟩``; tabs and newlines too: :func:`graphlink.views.safety.spell_invisible`, whose spelling reads back
    one way, so two ids stay two), and U+FFFE and U+FFFF, which XML cannot hold.

    Replaced by U+FFFD (as labels were until session 47), the ids of accounts ``ctl\\x01x`` and ``ctl\\x02x`` were
    one node and their edges one; spelled out, text reading as a spelling escaped as well, two ids stay two (the
    spelling decodes); a bidi override written raw reordered the id wherever the graph tool showed it (session 47).

    Examples
    --------
    >>> pl.DataFrame({"i": ["a\\x01b", "a\\x02b", "a⟨U+0001⟩b", "plain"]}).select(xml_id(pl.col("i")))["i"].to_list()
    ['a⟨U+0001⟩b', 'a⟨U+0002⟩b', 'a⟨U+27E8⟩U+0001⟩b', 'plain']
    """
    return _xml_nonchars(spelled_expr(expr, keep=""))


def _xml_nonchars(expr: pl.Expr) -> pl.Expr:
    """The two non-characters XML 1.0 cannot hold (U+FFFE, U+FFFF) spelled out, as :func:`spelled_expr` spells the rest."""
    for char in ("\ufffe", "\uffff"):
        expr = expr.str.replace_all(char, f"⟨U+{ord(char):04X}⟩", literal=True)
    return expr


def _require_memberships(outputs: Outputs) -> pl.DataFrame:
    if outputs.memberships is None:
        raise GraphlinkError(f"{outputs.path}: no memberships.parquet (written by an older graphlink); "
                             "rerun graphlink detect to export graphs")
    return outputs.memberships


def graph_tables(outputs: Outputs, min_shared: int = 2) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Node and edge tables of the cluster graph: ``(accounts, signals, edges)``.

    Node ids are ``account:<account_id>`` and ``signal:<kind>:<value>`` (:func:`xml_id`);
    signal values carried by fewer than ``min_shared`` loaded accounts are left out.
    """
    memberships = _require_memberships(outputs)
    info = outputs.clusters.select("cluster_id", "score", "flagged")
    explained = cluster_explanations(outputs.clusters, outputs.run, outputs.campaigns)  # why each account's cluster is flagged
    accounts = (
        with_member_ties(with_behaviour_columns(outputs.accounts), outputs).join(info, on="cluster_id", how="left")
        .join(explained, on="cluster_id", how="left")
        .select(
            (pl.lit("account:") + pl.col("account_id")).alias("node"),
            pl.lit("account").alias("type"),
            xml_text(pl.col("account_id")).alias("label"),
            pl.col("cluster_id").cast(pl.Int64),
            pl.col("score").cast(pl.Float64).fill_null(0.0),
            pl.col("flagged").fill_null(False),
            pl.col("events").cast(pl.Int64),
            pl.col("first_seen").dt.strftime(JSON_TIME_FORMAT).fill_null(""),
            pl.col("last_seen").dt.strftime(JSON_TIME_FORMAT).fill_null(""),
            *[xml_text(pl.col(c).fill_null("")).alias(c) for c in FLAG_EXPLANATION_COLUMNS],
            pl.col("template_share"), xml_text(pl.col("shared_behaviour").fill_null("")).alias("shared_behaviour"),
            xml_text(pl.col("joined_by").fill_null("")).alias("joined_by"),  # own values / hub twin: a weaker membership
            pl.col("tie_strength"), xml_text(pl.col("tied_by")).alias("tied_by"),  # why the member is in its cluster
        )
        .sort("node")
    )
    per_cluster = (
        memberships.group_by("kind", "value", "cluster_id").agg(pl.col("account_id").n_unique().alias("n"))
        .join(info, on="cluster_id", how="left")
        .sort(["kind", "value", "n", "cluster_id"], descending=[False, False, True, False])
    )
    signals = (
        per_cluster.group_by("kind", "value", maintain_order=True)
        .agg(pl.col("n").sum().alias("accounts"),
             pl.col("cluster_id").first(), pl.col("score").first(),
             pl.col("flagged").any(),
             pl.col("cluster_id").sort().cast(pl.String).str.join(";").alias("clusters"))
        .filter(pl.col("accounts") >= min_shared)
        .join(memberships.group_by("kind", "value").agg(pl.col("weight").max()), on=["kind", "value"])
        .join(_tying_campaigns(outputs), on=["kind", "value"], how="left")
        .select(
            pl.concat_str([pl.lit("signal:"), pl.col("kind"), pl.lit(":"), pl.col("value")]).alias("node"),
            pl.lit("signal").alias("type"),
            xml_text(pl.col("value")).alias("label"),
            "cluster_id", pl.col("score").fill_null(0.0), pl.col("flagged").fill_null(False),
            "kind", xml_text(pl.col("value")).alias("value"), pl.col("weight").cast(pl.Float64),
            pl.col("accounts").cast(pl.Int64), "clusters", pl.col("ties_campaigns").fill_null(""),
        )
        .sort("node")
    )
    edges = (
        memberships.select(
            (pl.lit("account:") + pl.col("account_id")).alias("source"),
            pl.concat_str([pl.lit("signal:"), pl.col("kind"), pl.lit(":"), pl.col("value")]).alias("target"),
            pl.col("weight").cast(pl.Float64), "kind", pl.col("cluster_id").cast(pl.Int64),
        )
        .join(signals.select(pl.col("node").alias("target")), on="target", how="semi")
        .sort("source", "target")
    )
    # XML-safe node ids too (they appear as attributes in both formats), one per account or value.
    fix = lambda frame, cols: frame.with_columns([xml_id(pl.col(c)) for c in cols])  # noqa: E731
    return fix(accounts, ["node"]), fix(signals, ["node"]), fix(edges, ["source", "target"])


def _tying_campaigns(outputs: Outputs) -> pl.DataFrame:
    """``kind, value, ties_campaigns``: the campaigns (ids joined by ``;``) whose clusters a value ties
    (:attr:`Outputs.campaign_ties`), for the graph's signal nodes."""
    ties = outputs.campaign_ties if outputs.campaign_ties is not None else pl.DataFrame(
        schema={"campaign_id": pl.Int64, "kind": pl.String, "value": pl.String})
    return ties.group_by("kind", "value").agg(
        pl.col("campaign_id").unique().sort().cast(pl.String).str.join(";").alias("ties_campaigns"))


def cluster_graph(outputs: Outputs, min_shared: int = 2) -> nx.Graph:
    """The cluster graph of the loaded clusters as a networkx graph (see the module docstring).

    The one account-value graph of graphlink: the GEXF/GraphML exports and the
    notebook's :meth:`graphlink.ClusterView.graph` are this graph.
    """
    accounts, signals, edges = graph_tables(outputs, min_shared)
    graph = nx.Graph()
    for frame in (accounts, signals):  # a null (no tie strength known) is left out: graph formats type each attribute
        graph.add_nodes_from((row.pop("node"), {k: v for k, v in row.items() if v is not None}) for row in frame.to_dicts())
    graph.add_edges_from((row.pop("source"), row.pop("target"), row) for row in edges.to_dicts())
    return graph


def _write_graph(graph: nx.Graph, fmt: str, path: Path) -> None:
    buffer = io.BytesIO()
    if fmt == "gexf":
        nx.write_gexf(graph, buffer)
    else:
        nx.write_graphml(graph, buffer)
    write_atomic(path, buffer.getvalue())


def case_file(outputs: Outputs, cluster_id: int, exported_at: datetime | None = None,
              ties: pl.DataFrame | None = None) -> dict[str, Any]:
    """The JSON case of one cluster (schema ``graphlink.case/1``) as plain data (``ties``: the loaded members'
    :func:`graphlink.views.member_ties.outputs_member_ties`, if already built)."""
    from graphlink.views.set_apart import set_apart_from, set_apart_json

    row = outputs.cluster_row(cluster_id)
    members = iso_columns(with_member_ties(outputs.members(cluster_id), outputs, cluster_id, ties=ties).drop("cluster_id"))
    run = outputs.run
    # A timing value is a hash: ``meaning`` says who acts in the same windows and when (null for other kinds).
    # Strongest evidence first, as show and the report list it (graphlink.views.evidence.strongest_first).
    evidence = strongest_first(timing_meanings(outputs.cluster_evidence(cluster_id).drop("cluster_id"),
                                               outputs.cluster_memberships(cluster_id), outputs.cluster_activity(cluster_id),
                                               timing_bucket(run)))
    explained = flag_explanation(row, run, outputs.campaigns, outputs.clusters)  # the same words as show and the report
    hours = outputs.hour_profile(cluster_id)
    first, last = members["first_seen"].drop_nulls().min(), members["last_seen"].drop_nulls().max()
    return {
        "schema": CASE_SCHEMA,
        "cluster_id": int(cluster_id),
        "size": int(row["size"]),
        "score": row["score"],
        "flagged": bool(row["flagged"]),
        "flag": explained["flag"],  # what the flag rests on, in detect's, show's and the report's words
        "score_components": {name: row[name] for name in score_columns(outputs.clusters)},
        "kinds": list(row.get("kinds") or []),
        "why": explained["why"],
        "reasons": explained["reasons"],
        "score_note": explained["score_note"],
        "campaign_id": row.get("campaign_id"),
        "flagged_with": explained["flagged_with"],
        # The values tying its campaign's clusters (what the campaign's why counts; graphlink campaign --json's ties)
        "campaign_ties": _campaign_ties_of(outputs, row.get("campaign_id")),
        "campaign_ties_note": ties_note(outputs.folder),
        "carried_to": explained["carried_to"],  # the flagged clusters whose flag came from this one
        "top_values": list(row.get("top_values") or []),
        "first_seen": first,
        "last_seen": last,
        "events_by_hour_utc": hours,
        "members": members.to_dicts(),
        "set_apart": set_apart_json(set_apart_from(outputs, cluster_id)),  # accounts detect set apart from it, and why
        "evidence": evidence.to_dicts(),
        "redaction": outputs.redaction,
        "source": {
            "output_folder": str(outputs.path),
            "parameters": run.get("parameters"),
            "inputs": run.get("inputs"),
            "versions": run.get("versions"),
        },
        "exported_at": (exported_at or datetime.now(timezone.utc)).strftime(JSON_TIME_FORMAT),
    }


def _campaign_ties_of(outputs: Outputs, campaign_id: int | None) -> list[dict[str, Any]]:
    """``kind, value, clusters, accounts, weight`` of each value tying the clusters of ``campaign_id``, values as
    logged ([] for a campaign of one cluster or an older folder without campaigns)."""
    if outputs.campaign_ties is None or campaign_id is None:
        return []
    return (outputs.campaign_ties.filter(pl.col("campaign_id") == campaign_id)
            .select("kind", "value", "clusters", "accounts", "weight").to_dicts())


def case_json(outputs: Outputs, cluster_id: int, exported_at: datetime | None = None,
              ties: pl.DataFrame | None = None, templates: dict | None = None) -> str:
    """The case file of one cluster as JSON text (see :func:`case_file`); ``templates``: its prompt templates as
    ``show --json`` lists them (:func:`graphlink.views.terminal_templates.template_json`), after the evidence."""
    case = case_file(outputs, cluster_id, exported_at, ties)
    if templates:
        at = list(case).index("evidence") + 1
        items = list(case.items())
        case = dict(items[:at] + list(templates.items()) + items[at:])
    return json.dumps(case, indent=2, ensure_ascii=False, default=json_default, allow_nan=False) + "\n"


def write_case(outputs: Outputs, cluster_id: int, folder: Path, bom: bool = False) -> dict[str, Path]:
    """Write one cluster's case file and its members, evidence and affiliations CSVs into ``folder`` (atomically; with
    ``bom`` the CSVs start with a UTF-8 byte-order mark, for Excel: :mod:`graphlink.views.export_csv`, whose
    ``data_dictionary`` describes their columns as the CSV export's ``README.txt`` does).

    Returns ``{"json": cluster-<id>.json, "members": cluster-<id>-members.csv,
    "evidence": cluster-<id>-evidence.csv, "affiliations": cluster-<id>-affiliations.csv}``; the notebook's
    :meth:`graphlink.ClusterView.export`.
    """
    stem = f"cluster-{cluster_id}"
    members = members_table(outputs, cluster_id)
    return {"json": write_atomic(folder / f"{stem}.json", case_json(outputs, cluster_id)),
            "members": write_atomic(folder / f"{stem}-members.csv", csv_bytes(members, bom)),
            "evidence": write_atomic(folder / f"{stem}-evidence.csv",  # in the case file's order: strongest first
                                     evidence_csv(outputs, outputs.cluster_evidence(cluster_id), bom)),
            "affiliations": write_atomic(folder / f"{stem}-affiliations.csv",
                                         csv_bytes(affiliations_table(outputs, cluster_id=cluster_id), bom))}


def export(out_dir: str | Path, fmt: str, clusters: Selection = "flagged", out: str | Path | None = None, *,
           redact: bool = False, redact_key: str | None = None,
           exported_at: datetime | None = None, bom: bool = False) -> ExportInfo:
    """Export the chosen clusters of a detect output folder.

    Parameters
    ----------
    out_dir : str or Path
        The ``--out`` folder of ``graphlink detect``.
    fmt : {"gexf", "graphml", "json", "csv"}
    clusters : "flagged", "all" or sequence of int
    out : str or Path, optional
        File (gexf, graphml) or folder (json, csv); defaults in the module docstring.
    redact : bool
        Replace payment fingerprints, e-mails and IPs with keyed hashes.
    redact_key : str, optional
        HMAC key (default ``GRAPHLINK_REDACT_KEY``, else random).
    bom : bool
        csv: start each CSV with a UTF-8 byte-order mark, so Excel on Windows reads it as UTF-8 (default False:
        scripts' CSV readers would see it; :mod:`graphlink.views.export_csv`).

    Raises
    ------
    GraphlinkError
        Unknown format, not an output folder, unknown cluster ids, or a graph
        export from a folder without ``memberships.parquet``.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise GraphlinkError(f"unknown export format {fmt!r}; use {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    if fmt in ("gexf", "graphml"):  # checked before anything is read: nothing is written over a file of yours
        other = "graphml" if fmt == "gexf" else "gexf"
        if out is not None and Path(out).name.lower().endswith(f".{other}"):  # GEXF in a .graphml file opens as neither
            raise GraphlinkError(f"{out}: names a .{other} file but the format is {fmt}; nothing was written: "
                                 f"use --format {other}, or an --out ending in .{fmt}")
        target = check_file_target(Path(out) if out is not None else out_dir / f"graph.{fmt}", fmt, f"graph.{fmt}")
    outputs = load_outputs(out_dir, clusters, redact=redact, redact_key=redact_key)
    redacted = outputs.redaction is not None
    if fmt in ("gexf", "graphml"):
        graph = cluster_graph(outputs)
        _write_graph(graph, fmt, target)
        return ExportInfo(fmt, [target], outputs.selected, graph.number_of_nodes(), graph.number_of_edges(), redacted)
    folder = Path(out) if out is not None else out_dir / ("cases" if fmt == "json" else "csv")
    if folder.exists() and not folder.is_dir():
        raise GraphlinkError(f"{folder}: exists and is not a folder; --out for {fmt} is a folder")
    if fmt == "json":
        # One export = one consistent set: the folder is replaced as a whole (atomically), and only
        # a folder holding nothing but case files may be replaced.
        import re

        from graphlink.store.atomic import write_dir_atomically

        if folder.is_dir():
            foreign = sorted(p.name for p in folder.iterdir() if not re.fullmatch(r"cluster-\d+\.json", p.name))
            if foreign:
                shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
                raise GraphlinkError(f"{folder}: holds files that are not graphlink case files ({shown}); "
                                     "nothing was written: choose an empty or new folder for --out")

        def write(tmp: Path) -> None:
            from graphlink.views.terminal_templates import cluster_prompt_sample, template_json

            ties = outputs_member_ties(outputs)  # every member's, built once
            # The templates each case lists, as show --json does (nu43: case files had none), from one pass over the log
            sample = cluster_prompt_sample(outputs, [int(c) for c in outputs.selected]) if outputs.selected else None
            for cluster_id in outputs.selected:
                text = case_json(outputs, cluster_id, exported_at, ties, template_json(outputs, cluster_id, sample=sample))
                (tmp / f"cluster-{cluster_id}.json").write_text(text, encoding="utf-8")

        write_dir_atomically(folder, write)
        paths = [folder / f"cluster-{cluster_id}.json" for cluster_id in outputs.selected]
        return ExportInfo(fmt, paths, outputs.selected, redacted=redacted)
    files = csv_files(outputs, folder, bom, redacted)  # members, evidence, affiliations and the data dictionary
    check_csv_targets(files)  # never over a members.csv (or README.txt) of yours
    paths = [write_atomic(path, content) for path, content in files.items()]
    rows = {path.stem: content.count(b"\n") - 1 for path, content in files.items() if path.suffix == ".csv"}
    return ExportInfo(fmt, paths, outputs.selected, redacted=redacted, extra=rows)
