"""``graphlink expand`` and ``graphlink match``: start from known accounts or known rings.

Each command parses its arguments, calls one library function
(:func:`graphlink.views.expand.expand`, :func:`graphlink.views.match.match`)
and renders the result; library errors become a one-line message and exit
code 2 (:func:`graphlink.cli_support.cli_errors`). :mod:`graphlink.cli`
registers them on the application.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.table import Table
from rich.text import Text

from graphlink.cli_account import seeds_set_apart
from graphlink.cli_support import (
    FormatOpt, QuietJsonOpt, RedactKeyOpt, RedactOpt, SeparatorOpt, TimestampFormatOpt, cli_errors, emit_json, err, out,
    print_table, print_warnings, read_summary, separator_value)
from graphlink.contract import MATCHES_FILE
from graphlink.errors import GraphlinkError
from graphlink.stages.expand import DEFAULT_RESTART
from graphlink.stages.seed_groups import LONE_SEED, OTHER_CELL_SEED
from graphlink.views.safety import terminal_safe
from graphlink.views.words import noun, plural

__all__ = ["expand_command", "match_command"]

#: Seeds' set-apart notes printed before expand's table (``--json``'s ``set_apart`` has every one): a ticket names a
#: few accounts, but a cluster's ``set_apart.csv`` given as seeds printed 24 lines before the ranking (dev a1).
SEED_NOTES = 5

EXPAND_HEADERS = ["rank", "account", "score", "cluster", "campaign", "why"]
#: What expand's score is, in the terminal table's title (the full definition: :data:`graphlink.contract.EXPAND_SCHEMA`).
EXPAND_SCORE_NOTE = "score: relative to this list, 1.0 = seeds and best tie; not comparable across runs"
#: The same with one seed, where nothing is shared by every seed and the best tie scores 0.5.
EXPAND_ONE_SEED_NOTE = ("score: relative to this list, 0.5 = best tie (one seed: nothing shared by every seed); "
                        "not comparable across runs")


def _id(value: object) -> str:
    return "" if value is None else str(value)


@cli_errors
def expand_command(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="Output folder written by graphlink detect --out.")],
    seeds: Annotated[list[str], typer.Option("--seeds", "-s", metavar="FILE|ID", show_default=False,
                                             help="Seed accounts: account ids or files of them (one id per line, "
                                                  "or a Parquet/CSV table with account_id); repeatable.")],
    out_file: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE.parquet", show_default=False,
                                                     help="Also write the ranking (account_id, rank, score, "
                                                          "cluster_id, campaign_id, why; seeds rank 0) to this "
                                                          "Parquet file, atomically; an existing file is replaced "
                                                          "only if it is an earlier expand output.")] = None,
    top: Annotated[Optional[int], typer.Option(min=0, metavar="N", show_default=False,
                                               help="List this many accounts besides the seeds, per group when "
                                                    "the seeds fall in unlinked groups [default: the "
                                                    "ring the walk finds around the seeds].")] = None,
    restart: Annotated[float, typer.Option(min=0.01, max=0.99, metavar="P",
                                           help="Restart probability of the random walk: higher stays closer "
                                                "to the seeds.")] = DEFAULT_RESTART,
    shown: Annotated[int, typer.Option("--show", min=0, metavar="N",
                                       help="Listed accounts printed in the terminal table, after the seeds (the "
                                            "file and --json have all).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranking as JSON on standard output.")] = False,
    quiet: QuietJsonOpt = False,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Rank the accounts most strongly tied to a few known accounts (seeds).

    With two seeds or more, accounts sharing rare values with every seed
    (creation hours: the span of the seeds' hours) come first (score above
    0.5), by how much they share; then a random walk with restart
    (personalised PageRank) over the weighted account graph detect built
    ranks the rest: accounts the walk visits most, per unit of their own link
    weight (score 0.5 and below). The list stops where the seeds' ring ends
    (a conductance minimum that is tight, or after which the ranking drops
    five-fold, or the last account sharing values with every seed) unless
    --top says otherwise. Each account comes
    with the values it shares with every seed (or with a seed, or with a
    better-ranked account), how rare they are, and its cluster and campaign.

    score: unitless, 0 to 1, relative to this one ranking and NOT comparable
    across runs, seed sets or options. Seeds 1.0; above 0.5 the account shares
    values with every seed (or a seed's card): 0.5 + 0.5 x its evidence / the
    best listed account's; 0.5 and below: tied through the graph only, 0.5 x
    its visit rate / the best such rate. It never rises down the list. With
    one seed nothing is shared by every seed: all scores are 0.5 or less.
    """
    from graphlink.views.expand import (check_ranking_target, expand, expand_note, graph_outputs, redact_expansion,
                                        write_parquet_atomic)

    if out_file is not None:
        check_ranking_target(out_file, out_dir, seeds)  # before any work: never overwrite what expand did not write
    try:
        outputs = graph_outputs(out_dir)  # read once: the ranking and its note both read it
        ranked = expand(outputs, seeds, restart=restart, top=top)
    except GraphlinkError as exc:
        # A --seeds value read as an id because no such file exists is most likely a mistyped file name.
        missing = [v for v in seeds if "," not in v and Path(v).suffix.lower() in SEED_FILE_SUFFIXES
                   and not Path(v).exists()]
        if missing and "unknown seed account" in str(exc):
            raise GraphlinkError(f"{exc}; no file {missing[0]!r} either") from None
        raise
    note = expand_note(outputs, seeds) if top is None else None  # what the list cannot follow (burst seeds)
    apart = seeds_set_apart(outputs, ranked.filter(pl.col("rank") == 0)["account_id"].to_list())  # seeds detect set apart, why
    redacted = None
    if redact or redact_key:  # the file, the JSON and the table alike
        ranked, note, apart, redacted = redact_expansion(ranked, outputs, note, apart, key=redact_key)
    if out_file is not None:
        write_parquet_atomic(ranked, out_file)
    if as_json:
        emit_json({"out": None if out_file is None else str(out_file),
                   "seeds": ranked.filter(pl.col("rank") == 0).height, "listed": ranked.filter(pl.col("rank") > 0).height,
                   "notes": [note] if note else [], "set_apart": apart, "redaction": redacted,
                   "accounts": ranked.to_dicts()})
        return
    if quiet:
        return
    listed, seed_rows = ranked.filter(pl.col("rank") > 0), ranked.filter(pl.col("rank") == 0)
    clusters = listed.drop_nulls("cluster_id")["cluster_id"].n_unique()
    lone = seed_rows.filter(pl.col("why").is_in([LONE_SEED, OTHER_CELL_SEED])).height
    groups = seed_rows.filter(pl.col("why").str.starts_with("seed, group ")).select(
        pl.col("why").str.extract(r"^seed, group \d+ of (\d+)").cast(pl.Int64).max()).item()
    say = out.print if out.is_terminal else err.print
    say(Text(f"{plural(listed.height, 'account')} tied to {plural(seed_rows.height, 'seed')} "
             f"(in {plural(clusters, 'cluster')})"
             + (f"; the seeds fall in {groups} groups with no link between them{_campaigns_of(seed_rows, groups)}, each "
                "expanded on its own" if groups else "")
             + (f"; {plural(lone, 'seed')} set apart from the others, not expanded (see why)" if lone else "")
             + (f"; wrote {terminal_safe(out_file)}" if out_file else "")))
    if redacted:
        say(Text(f"redacted: {redacted}", style="yellow"))
    if note:
        say(Text(f"Note: {terminal_safe(note, limit=600)}"))
    for seed in (apart or [])[:SEED_NOTES]:  # a seed in no cluster from an abuse report: why detect left it out
        say(Text(terminal_safe(f"seed {seed['account_id']}: {seed['note']}")))
    if len(apart or []) > SEED_NOTES:  # a cluster's set_apart.csv given as seeds: not a screen of notes
        say(Text(f"... and {len(apart) - SEED_NOTES} more seeds set apart from a cluster (--json lists every "
                 f"seed's note: set_apart; graphlink account {terminal_safe(shlex.quote(str(out_dir)))} ID says it for one)"))
    rows = [[r["rank"], r["account_id"], round(r["score"], 3), _id(r["cluster_id"]), _id(r["campaign_id"]),
             r["why"] or ""] for r in pl.concat([seed_rows, listed.head(shown)]).iter_rows(named=True)]
    table = Table(title=f"Accounts tied to the seeds ({EXPAND_ONE_SEED_NOTE if seed_rows.height == 1 else EXPAND_SCORE_NOTE})",
                  title_justify="left")
    # Ids are copied from here: the account column is as wide as its longest id (to 40), the why column folds.
    widest = min(max((len(terminal_safe(r[1])) for r in rows), default=7), 40)
    for name, justify in zip(EXPAND_HEADERS, ("right", "left", "right", "right", "right", "left")):
        table.add_column(name, justify=justify, overflow="fold", min_width=widest if name == "account" else None)
    for row in rows:
        table.add_row(str(row[0]), Text(terminal_safe(row[1])), f"{row[2]:.3f}", row[3], row[4],
                      Text(terminal_safe(row[5], limit=200)))
    print_table(table, rows, EXPAND_HEADERS)
    if listed.height > shown:
        say(Text(f"{listed.height - shown:,} {'more ' if shown else ''}listed accounts not shown (--show N; --out FILE.parquet or --json "
                 "has all)"))


MATCH_HEADERS = ["account", "cluster", "flagged", "campaign", "score", "why"]


def matched_part(counts: dict, which: str) -> str:
    """The summary's words for the accounts matched to flagged (``which="flagged"``) or unflagged clusters.

    Examples
    --------
    >>> matched_part({"matched_to_flagged": 12, "flagged_clusters_matched": 2, "new_to_flagged": 3}, "flagged")
    '12 to 2 flagged clusters (3 new, 9 already members)'
    """
    n, new = counts[f"matched_to_{which}"], counts[f"new_to_{which}"]
    members = n - new
    return (f"{n:,} to {plural(counts[f'{which}_clusters_matched'], f'{which} cluster')} "
            f"({new:,} new, {members:,} already {noun(members, 'a member', 'members')})")
#: Suffixes of the seed files ``--seeds`` reads (a value with one that is no file is named in the error).
SEED_FILE_SUFFIXES = (".txt", ".csv", ".tsv", ".parquet", ".ndjson", ".jsonl")


def full_run_command(events: Path, known_dir: Path, accounts: Path | None = None, maps: list[str] | None = None,
                     reading: dict[str, str | None] | None = None, signals: list[str] | None = None) -> str:
    """The shell command for a full detect run of the new log, keeping the earlier run's cluster ids.

    ``reading`` holds the reading options given to ``match`` (``--format``, ``--timestamp-format``,
    ``--separator``: option name to value); they are carried over, as ``--map`` (the earlier run's map with
    match's on top) and the earlier run's ``--signal`` columns are, so the command reads the log as match did.

    Examples
    --------
    >>> full_run_command(Path("day 2.csv"), Path("out"))
    "graphlink detect 'day 2.csv' --previous out --out out-next"
    >>> full_run_command(Path("d.csv"), Path("out"), reading={"--timestamp-format": "%d/%m/%Y %H:%M"})
    "graphlink detect d.csv --previous out --out out-next --timestamp-format '%d/%m/%Y %H:%M'"
    """
    suggested = known_dir.with_name(f"{known_dir.name}-next") if known_dir.name else Path("out-next")
    words = ["graphlink", "detect", str(events), "--previous", str(known_dir), "--out", str(suggested)]
    if accounts is not None:
        words += ["--accounts", str(accounts)]
    for value in maps or ():
        words += ["--map", value]
    for column in signals or ():
        words += ["--signal", column]
    for option, value in (reading or {}).items():
        if value is not None:
            words += [option, str(getattr(value, "value", value))]
    return " ".join(shlex.quote(word) if i > 1 else word for i, word in enumerate(words))


@cli_errors
def match_command(
    known_dir: Annotated[Path, typer.Argument(metavar="KNOWN_DIR", show_default=False,
                                              help="Output folder of an earlier graphlink detect run.")],
    events: Annotated[Path, typer.Argument(metavar="NEW_EVENTS", show_default=False,
                                           help="The new log (Parquet, CSV/TSV or NDJSON), in the earlier log's "
                                                "schema.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", show_default=False,
                                          help="Folder for matches.parquet (one row per account of the new log) "
                                               "and match.json; created, or replaced if it is a match output.")],
    accounts: Annotated[Optional[Path], typer.Option(metavar="FILE", show_default=False,
                                                     help="Accounts file of the new log (adds e-mail domains).")] = None,
    maps: Annotated[Optional[list[str]], typer.Option("--map", metavar="CANONICAL=COLUMN", show_default=False,
                                                      help="Read a canonical column of the new log from another "
                                                           "column name (repeatable or comma-separated).")] = None,
    min_evidence: Annotated[float, typer.Option(min=0.0, metavar="X",
                                                help="Evidence needed to assign an account (a card of the "
                                                     "cluster's own weighs 3, one of its addresses 1).")] = 1.0,
    min_concentration: Annotated[float, typer.Option(min=0.0, max=1.0, metavar="SHARE",
                                                     help="A value identifies a cluster only if at least this share "
                                                          "of the earlier run's accounts with it were the cluster's.")
                                 ] = 0.5,
    fmt: FormatOpt = None,
    timestamp_format: TimestampFormatOpt = None,
    separator: SeparatorOpt = None,
    shown: Annotated[int, typer.Option("--show", min=0, metavar="N",
                                       help="Matched accounts printed: newly matched first, best first, then "
                                            "accounts already members.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print counts and matched accounts as JSON on standard "
                                                         "output.")] = False,
    quiet: QuietJsonOpt = False,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Assign the accounts of a new log to the clusters and campaigns of an earlier run.

    No detection runs: each new account is matched on the values the known
    clusters are known by (cards, IP addresses and networks, clients, e-mail
    domains, --signal columns), counting only values concentrated in one
    cluster in the earlier run, so sharing a NAT or a common client with a
    ring matches nothing; activity in a cluster's busy hours corroborates. Unmatched accounts (null cluster_id in
    matches.parquet) are left for a full graphlink detect run. An account that
    was already a member of a cluster in the earlier run keeps it, with score
    1.0 (listed after the newly matched accounts). Each matched row says
    whether the earlier run flagged its cluster (flagged), and the summary
    counts matches to flagged and to unflagged clusters apart. The new log is
    read as the earlier one was (column map, format, timestamp format,
    separator) unless --map, --format, --timestamp-format or --separator say otherwise.
    --redact hashes cards, e-mails and IPs in the printed table and --json (the
    folder's matches.parquet is written raw, as detect's folder is).
    """
    from dataclasses import replace

    from graphlink.config import parse_column_maps
    from graphlink.stages.match import KNOWN_MEMBER_WHY
    from graphlink.views.match import match, redact_matches, write_matches

    result = match(known_dir, events, accounts, min_evidence=min_evidence, min_concentration=min_concentration,
                   columns=parse_column_maps(maps), format=fmt, timestamp_format=timestamp_format,
                   separator=separator_value(separator))
    write_matches(result, out_dir)
    redacted = None
    if redact or redact_key:  # where the rows leave: the table and the JSON (the folder stays raw, as detect's)
        rows, redacted = redact_matches(result.matches, known_dir, key=redact_key)
        result = replace(result, matches=rows)
    counts = result.run["counts"]
    # Newly matched accounts first (what match is for), best first; accounts already in a cluster after.
    matched = result.matches.filter(pl.col("cluster_id").is_not_null()).sort(
        [pl.col("why") == KNOWN_MEMBER_WHY, "score", "account_id"], descending=[False, True, False])
    # A list of accounts to look up (account_id alone): where each stands in the earlier run, no full-run hint.
    lookup = result.run["inputs"]["events"].get("columns_read") == ["account_id"]
    if as_json:
        emit_json({"out": str(out_dir), "inputs": result.run["inputs"], "counts": counts,
                   "warnings": result.run["warnings"], "seconds": result.run["seconds"], "matched": matched.to_dicts(),
                   "redaction": redacted,
                   **({"looked_up": result.matches.to_dicts()} if lookup else {})})
    if quiet:
        return
    print_warnings(result.run["warnings"])
    if as_json:
        return
    say = out.print if out.is_terminal else err.print
    reading = {"--format": fmt, "--timestamp-format": timestamp_format, "--separator": separator}
    read = result.run["inputs"]["events"]  # the map and --signal columns the new log was read with (brk40)
    full_run = full_run_command(events, known_dir, accounts, [f"{k}={v}" for k, v in read["column_map"].items()],
                                reading, read["signals"])
    for line in read_summary(read, counts["accounts"], counts["invalid_ip_events"],
                             noun="id" if lookup else "event"):
        say(Text(terminal_safe(line)))
    unseen = counts["unmatched"] - counts.get("earlier_unclustered", 0)
    rest = (f"{counts.get('earlier_unclustered', 0):,} in the earlier run in no cluster, {unseen:,} not in the earlier run"
            if lookup else f"{counts['unmatched']:,} unmatched (for a full run: {terminal_safe(full_run)})")
    say(Text(f"{counts['matched']:,} of {plural(counts['accounts'], 'account')} matched "
             f"{plural(counts['clusters_matched'], 'known cluster')}: "
             f"{matched_part(counts, 'flagged')}, {matched_part(counts, 'unflagged')}; {rest}; "
             f"{result.run['seconds']:.2f} s; wrote {terminal_safe(out_dir)}"), soft_wrap=True)  # copy-pastable
    if redacted:
        say(Text(f"redacted: {redacted}", style="yellow"))
    if lookup:  # every id looked up, with where it stands (brk39): members first, then the run's loners, then the unseen
        matched = result.matches.sort([pl.col("cluster_id").is_null(), pl.col("why").is_null(), "account_id"])
    # A looked-up id in no cluster has no score (0.0 read as a weak match: new-user review, session 40).
    rows = [[r["account_id"], _id(r["cluster_id"]), r["flagged"], _id(r["campaign_id"]),
             None if lookup and r["cluster_id"] is None else round(r["score"], 3),
             r["why"] or ("not in the earlier run" if lookup else "")] for r in matched.head(shown).iter_rows(named=True)]
    table = Table(title="Accounts looked up" if lookup else "Matched accounts", title_justify="left")
    for name, justify in zip(MATCH_HEADERS, ("left", "right", "center", "right", "right", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(Text(terminal_safe(row[0])), row[1], {True: "yes", False: "no"}.get(row[2], ""), row[3],
                      "" if row[4] is None else f"{row[4]:.3f}", Text(terminal_safe(row[5], limit=200)))
    if rows:
        print_table(table, rows, MATCH_HEADERS)
    if matched.height > shown:
        say(Text(f"{matched.height - shown:,} {'more ' if shown else ''}matched accounts not shown (--show N; {MATCHES_FILE} in "
                 f"{terminal_safe(out_dir)} has all)"))


def _campaigns_of(seed_rows: pl.DataFrame, groups: int) -> str:
    """' (in k campaigns)' when the seeds' groups are fewer campaigns: groups unlinked by values may be one operator's
    cells (new-user review, session 51: "5 unrelated groups" of which 3 were one campaign)."""
    k = seed_rows["campaign_id"].drop_nulls().n_unique()
    return f" (in {plural(k, 'campaign')})" if 0 < k < groups else ""
