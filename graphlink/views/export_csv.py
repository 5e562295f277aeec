"""The CSV export (``graphlink export --format csv``) and the CSV tables of a case (``ClusterView.export``).

:func:`csv_files` builds the folder's files (:data:`graphlink.contract.CSV_DICTIONARY` names them and their
columns): ``members.csv`` (:func:`members_table`), ``evidence.csv`` (:func:`evidence_csv`), ``affiliations.csv``
(:func:`affiliations_table`: which member holds which value tying the exported clusters), ``campaign_ties.csv``
(:func:`campaign_ties_table`: the values tying their campaigns' clusters), ``set_apart.csv`` (:func:`set_apart_table`:
the accounts detect set apart from them, and why) and ``README.txt``, the
data dictionary (:func:`data_dictionary`). Every table goes through :func:`csv_bytes`: times in the JSON format,
lists joined with ``; ``, every text cell through the formula guard (:func:`graphlink.views.safety.csv_safe_expr`).

Byte-order mark. Excel on Windows opens a CSV without a UTF-8 byte-order mark in the system's ANSI code page, so
non-ASCII account ids and prompts read as mojibake (``rïng0`` as ``rÃ¯ng0``); with one it reads UTF-8. But the files
also go to case tools and scripts: Python's ``csv`` module keeps a mark in the first column's name unless the file is
opened with ``encoding="utf-8-sig"`` (``row["cluster_id"]`` then fails), pandas' sniffing engine and ``awk`` keep it
too (polars, pandas' default engine and graphlink's own readers skip it). So none by default (as before session 41);
``bom=True`` (``export --bom``) writes one for Excel, and the data dictionary says which the folder has.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from graphlink.config.kinds import kind_name_expr
from graphlink.contract import (AFFILIATIONS_CSV_FILE, AFFILIATIONS_CSV_SCHEMA, CAMPAIGN_TIES_CSV_FILE,
                                CAMPAIGN_TIES_SCHEMA, CSV_BOM, CSV_DICTIONARY, CSV_DICTIONARY_FILE, EVIDENCE_CSV_FILE, JSON_TIME_FORMAT, MEMBERS_CSV_COLUMNS,
                                MEMBERS_CSV_FILE, SET_APART_CSV_FILE, SET_APART_SCHEMA)
from graphlink.store.folder import Outputs
from graphlink.views.evidence import strongest_first
from graphlink.views.explain import cluster_explanations
from graphlink.views.member_behaviour import with_behaviour_columns
from graphlink.views.member_ties import with_member_ties
from graphlink.views.passages import with_passage_column
from graphlink.views.safety import csv_safe_expr
from graphlink.views.schedule import timing_bucket, timing_meanings

__all__ = ["set_apart_table", "csv_bytes", "evidence_with_meaning", "evidence_csv", "members_table", "affiliations_table",
           "campaign_ties_table", "data_dictionary", "csv_files", "iso_columns"]


def iso_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its datetime columns as text in the JSON format (:data:`graphlink.contract.JSON_TIME_FORMAT`)."""
    return frame.with_columns([pl.col(name).dt.strftime(JSON_TIME_FORMAT) for name, dtype in frame.schema.items()
                               if isinstance(dtype, pl.Datetime)])


def csv_bytes(frame: pl.DataFrame, bom: bool = False) -> bytes:
    """CSV of ``frame``: times in the JSON format, lists joined with ``; ``, formula-like text neutralised; with
    ``bom``, a UTF-8 byte-order mark first (see the module docstring).

    Examples
    --------
    >>> csv_bytes(pl.DataFrame({"id": ["=1+1", "r\\u00efng"], "n": [1, 2]}), bom=True)
    b"\\xef\\xbb\\xbfid,n\\n'=1+1,1\\nr\\xc3\\xafng,2\\n"
    """
    frame = iso_columns(frame)
    frame = frame.with_columns([pl.col(name).cast(pl.List(pl.String)).list.join("; ")
                                for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)])
    frame = frame.with_columns([csv_safe_expr(name) for name, dtype in frame.schema.items() if dtype == pl.String])
    return (CSV_BOM if bom else b"") + frame.write_csv().encode("utf-8")


def evidence_with_meaning(outputs: Outputs, evidence: pl.DataFrame) -> pl.DataFrame:
    """``evidence`` rows (any clusters) with the ``meaning`` of their timing values
    (:func:`graphlink.views.schedule.timing_meanings`, each cluster against its own members)."""
    return timing_meanings(evidence, outputs.memberships, outputs.activity, timing_bucket(outputs.run))


def evidence_csv(outputs: Outputs, evidence: pl.DataFrame, bom: bool = False) -> bytes:
    """``evidence.csv`` (:data:`graphlink.contract.EVIDENCE_CSV_COLUMNS`): strongest first per cluster, as ``show``
    lists it, with ``kind_name`` -- the kind as people read it -- beside the ``kind`` code scripts read, and each prompt
    phrase's ``passage`` (:func:`graphlink.views.passages.with_passage_column`: the views list passages, the CSV
    every phrase). ``evidence`` may carry its ``meaning`` already (:func:`evidence_with_meaning`)."""
    rows = evidence if "meaning" in evidence.columns else evidence_with_meaning(outputs, evidence)
    rows = with_passage_column(strongest_first(rows))
    columns = list(rows.columns)
    columns.insert(columns.index("kind") + 1, "kind_name")
    return csv_bytes(rows.with_columns(kind_name_expr("kind").alias("kind_name")).select(columns), bom)


def members_table(outputs: Outputs, cluster_id: int | None = None) -> pl.DataFrame:
    """Members of the loaded clusters (or of ``cluster_id`` alone) with why each is in its cluster
    (:data:`graphlink.contract.MEMBER_BEHAVIOUR_COLUMNS`: ``template_share``, ``shared_behaviour``, what of the
    cluster's behaviour it shares; :data:`graphlink.contract.MEMBER_TIES_COLUMNS`: ``tie_strength``, ``tied_by``) and their
    cluster's score, campaign and why it is flagged: the ``members.csv`` rows
    (:data:`graphlink.contract.MEMBERS_CSV_COLUMNS`; :data:`graphlink.contract.FLAG_EXPLANATION_COLUMNS` last:
    ``flag``, ``score_note``, ``why``), by cluster, weakest tie first within each
    (:func:`graphlink.views.member_ties.with_member_ties`, ``sort="strength"``; ties by events).

    ``campaign_id`` is null for folders written before campaigns existed.
    """
    clusters, accounts = outputs.clusters, outputs.accounts
    if cluster_id is not None:  # one case: explain its cluster only, not every loaded one
        clusters = clusters.filter(pl.col("cluster_id") == cluster_id)
        accounts = accounts.filter(pl.col("cluster_id") == cluster_id)
    info = clusters.select("cluster_id", "score", "flagged").join(
        cluster_explanations(clusters, outputs.run, outputs.campaigns), on="cluster_id", how="left")
    if "campaign_id" not in accounts.columns:
        accounts = accounts.with_columns(pl.lit(None, pl.Int64).alias("campaign_id"))
    # Weakest tie first within each cluster, as show and ClusterView.member_ties list them: the members to check
    # before a ban lead (new-user review, session 39: a bystander sat at row 84 of 91, sorted by events).
    accounts = with_behaviour_columns(accounts).sort(["cluster_id", "events", "account_id"], descending=[False, True, False])
    return (with_member_ties(accounts, outputs, cluster_id, sort="strength").join(info, on="cluster_id", how="left")
            .select(MEMBERS_CSV_COLUMNS).sort("cluster_id", maintain_order=True))


def affiliations_table(outputs: Outputs, min_holders: int = 2, cluster_id: int | None = None,
                       listed: pl.DataFrame | None = None) -> pl.DataFrame:
    """Which member holds which value tying the loaded clusters (:data:`graphlink.contract.AFFILIATIONS_CSV_SCHEMA`):
    the members' ``memberships.parquet`` rows (values each shares with others of its cluster) of the values their
    cluster's evidence lists (``evidence.csv``'s rows, joined on ``cluster_id, kind, value``: the values the views
    show, at most ten per kind besides tying ones, so the table stays a bounded breakdown of ``evidence.csv``) that
    ``min_holders`` or more loaded accounts hold, as the graph exports keep a value. By cluster, the strongest value
    first (``weight`` x its members, as ``show`` lists evidence), then kind, value and account. ``cluster_id``: that
    cluster alone, as its case exports it (its members the exported accounts). ``listed``: the evidence rows with
    their meaning (:func:`evidence_with_meaning`), when the caller has them. Empty when the folder has no
    ``memberships.parquet`` (an older graphlink)."""
    rows, evidence = outputs.memberships, outputs.evidence
    if rows is None or rows.is_empty():
        return pl.DataFrame(schema=AFFILIATIONS_CSV_SCHEMA)
    if cluster_id is not None:
        rows, evidence = rows.filter(pl.col("cluster_id") == cluster_id), outputs.cluster_evidence(cluster_id)
    keys = ["kind", "value"]
    # The rows evidence.csv writes: a timing signature the same members hold in several MinHash bands is one row there.
    listed = evidence_with_meaning(outputs, evidence) if listed is None else listed
    listed = listed.select("cluster_id", *keys, pl.col("df").cast(pl.UInt32)).unique(["cluster_id", *keys])
    rows = rows.select("cluster_id", "account_id", *keys, "weight").unique()
    holders = rows.group_by(keys).agg(pl.col("account_id").n_unique().cast(pl.UInt32).alias("holders"),
                                      pl.col("cluster_id").n_unique().cast(pl.UInt32).alias("clusters"))
    rows = rows.join(listed, on=["cluster_id", *keys])  # the values evidence.csv lists, with df
    members = rows.group_by("cluster_id", *keys).agg(pl.col("account_id").n_unique().cast(pl.UInt32).alias("members"))
    return (rows.join(holders.filter(pl.col("holders") >= min_holders), on=keys)
            .join(members, on=["cluster_id", *keys])
            .with_columns(kind_name_expr("kind").alias("kind_name"), pl.col("weight").cast(pl.Float64))
            .sort([pl.col("cluster_id"), pl.col("weight") * pl.col("members"), "kind", "value", "account_id"],
                  descending=[False, True, False, False, False], nulls_last=True)
            .select(list(AFFILIATIONS_CSV_SCHEMA)).cast(dict(AFFILIATIONS_CSV_SCHEMA)))


def campaign_ties_table(outputs: Outputs) -> pl.DataFrame:
    """``campaign_ties.csv``: the values tying the clusters of the loaded clusters' campaigns
    (:attr:`graphlink.store.folder.Outputs.campaign_ties`), ``kind_name`` beside ``kind``; header only without them."""
    ties = outputs.campaign_ties if outputs.campaign_ties is not None else pl.DataFrame(schema=CAMPAIGN_TIES_SCHEMA)
    return ties.select("campaign_id", "kind", kind_name_expr("kind").alias("kind_name"), "value", "clusters",
                       "accounts", "weight")


def set_apart_table(outputs: Outputs) -> pl.DataFrame:
    """``set_apart.csv``: the accounts detect set apart from the loaded clusters, with the reason in words
    (:func:`graphlink.views.set_apart.set_apart_from`); header only from a folder written before ``set_apart.parquet``."""
    from graphlink.views.set_apart import set_apart_from

    rows = set_apart_from(outputs)
    if rows is None:
        return pl.DataFrame(schema={**SET_APART_SCHEMA, "note": pl.String})
    return rows.filter(pl.col("cluster_id").is_in(pl.Series(outputs.selected, dtype=pl.Int64).implode()))


def data_dictionary(bom: bool = False, redacted: bool = False) -> str:
    """``README.txt`` of the CSV export: each file, what a row is, and each column
    (:data:`graphlink.contract.CSV_DICTIONARY`), whether the files start with a byte-order mark (``bom``) and whether
    identifying values are keyed hashes (``redacted``); ASCII.

    Examples
    --------
    >>> data_dictionary().splitlines()[0]
    'graphlink CSV export: data dictionary'
    """
    mark = ("start with a UTF-8 byte-order mark (export --bom), so Excel reads them as UTF-8; read them with encoding "
            "utf-8-sig in Python's csv module" if bom else "have no byte-order mark (export --bom adds one for Excel)")
    lines = ["graphlink CSV export: data dictionary", "",
             "Formula guard: a text cell a spreadsheet would run as a formula (starting =, +, -, @, a tab or a carriage "
             "return, also in full width or behind spaces or invisible characters) and a cell starting with ' have "
             "a ' put in front: drop the first ' of any cell starting with ' to read the value as logged. A control "
             "character (escape, bell ...) or an invisible one (zero-width space, right-to-left override ...) is "
             "spelled out as its code point between the brackets U+27E8 and U+27E9 (escape: U+27E8 'U+001B' U+27E9; "
             "a run of one such character is spelled once, with its count), as graphlink's terminal and report spell them, and text that "
             "would read as such a spelling has its opening bracket spelled; graphlink match and expand read ids so "
             "written back. Lists are "
             f"separated by '; '. The CSV files {mark}.", ""]
    if redacted:
        lines += ["Redacted (export --redact): payment cards, e-mail addresses and IP addresses are keyed hashes "
                  "(HMAC-SHA256), the same value hashing alike in every file of this export; IP networks and e-mail "
                  "domains are kept. 'As logged' below means as logged, then hashed.", ""]
    for name, (rows, columns) in CSV_DICTIONARY.items():
        lines += [f"{name}: {rows}."] + [f"  {column}: {meaning}" for column, meaning in columns] + [""]
    return "\n".join(lines)


def csv_files(outputs: Outputs, folder: Path, bom: bool = False, redacted: bool = False) -> dict[Path, bytes]:
    """The CSV export of the loaded clusters: path in ``folder`` -> content (the module docstring)."""
    listed = evidence_with_meaning(outputs, outputs.evidence)  # the rows of evidence.csv, which affiliations.csv breaks down
    return {folder / MEMBERS_CSV_FILE: csv_bytes(members_table(outputs), bom),
            folder / EVIDENCE_CSV_FILE: evidence_csv(outputs, listed, bom),  # per cluster, as show lists it
            folder / AFFILIATIONS_CSV_FILE: csv_bytes(affiliations_table(outputs, listed=listed), bom),
            folder / CAMPAIGN_TIES_CSV_FILE: csv_bytes(campaign_ties_table(outputs), bom),
            folder / SET_APART_CSV_FILE: csv_bytes(set_apart_table(outputs), bom),  # who detect set apart from them, why
            folder / CSV_DICTIONARY_FILE: data_dictionary(bom, redacted).encode("ascii")}
