"""graphlink's command line: a thin front over the library.

Each command parses its arguments, calls one library function and renders the
result; library errors become a one-line message and exit code 2.
"""

from __future__ import annotations

import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

if "polars" not in sys.modules:
    # Polars allocates through jemalloc, which by default returns freed pages to the OS
    # within ~0.5 s; the pipeline frees and reallocates tens of millions of rows per
    # stage, so each new frame faulted its pages in again. Keeping freed pages for 5 s
    # (then releasing them at once) cut system time 27 s -> 17 s and wall time 6-12 s on
    # the 24M-event campaign preset, for ~0.5 GiB more peak RSS. Read once, when polars
    # loads, so it is set here, in the command-line entry point, before polars is
    # imported (``import graphlink`` loads nothing and sets nothing); a value the user
    # set wins (polars appends it after its own defaults). Library users who want the
    # same tuning set ``_RJEM_MALLOC_CONF`` before importing polars.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:5000,muzzy_decay_ms:0")

import polars  # noqa: E402,F401  (loaded after the allocator setting above)
import typer
from rich.text import Text  # noqa: E402

from graphlink.cli_support import (  # noqa: E402
    DEBUG_ENV, FormatOpt, QuietJsonOpt, QuietOpt, RedactKeyOpt, RedactOpt, SeparatorOpt, TimestampFormatOpt, check_terminated,
    cli_errors, emit_json, err, out, print_table, print_warnings, read_summary, separator_value)
from graphlink.config import PipelineConfig, build_config, parse_column_maps  # noqa: E402
from graphlink.config.checks import MAX_SEED  # noqa: E402
from graphlink.errors import ConfigError, GraphlinkError  # noqa: E402
from graphlink.views.safety import terminal_safe  # noqa: E402
from graphlink.views.words import plural  # noqa: E402
from graphlink.views.terminal import (  # noqa: E402
    CLUSTER_HEADERS, StageProgress, cluster_rows, clusters_table, human_size, plain_argument_usage, previous_summary)

app = typer.Typer(
    name="graphlink",
    help="Find coordinated account rings (distillation campaigns) in API logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: option placeholders are the metavars given below (FILE, DIR, N…), never <bool>.
    rich_markup_mode=None,
)
out_console = out  # commands with an --out option shadow the name ``out``


plain_argument_usage()


def _version(value: bool) -> None:
    if value:
        from graphlink import __version__

        out.print(f"graphlink {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", help="Print graphlink's version and exit.",
                                          is_eager=True, callback=_version)] = False,
    debug: Annotated[bool, typer.Option("--debug", help=f"Show the traceback of an unexpected error (a bug) instead "
                                                        f"of one line; also ${DEBUG_ENV}=1.")] = False,
) -> None:
    """Find coordinated account rings (distillation campaigns) in API logs.

    Typical run: graphlink detect events.parquet --accounts accounts.parquet --out out/,
    then graphlink report out/ (HTML), graphlink show out/ 3 (one cluster in the terminal)
    and graphlink export out/ --format gexf (Gephi, case files, CSV).
    """
    if debug:  # read by cli_errors when a command fails unexpectedly
        os.environ[DEBUG_ENV] = "1"


def detect_config(config_file: Path | None, maps: list[str] | None, signals: list[str] | None,
                  **flags: object) -> PipelineConfig:
    """The config of ``graphlink detect``: the TOML file, then --map/--signal, then the flags given.

    ``--separator`` also takes ``tab`` or ``\\t`` for a tab.
    """
    flags["separator"] = separator_value(flags.get("separator"))  # type: ignore[arg-type]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        config = build_config(toml=config_file, columns=parse_column_maps(maps), signals=signals or (), **flags)
    for warning in caught:
        err.print(Text(f"warning: {terminal_safe(str(warning.message))}", style="yellow"), soft_wrap=True)
    return config


_DEFAULTS = PipelineConfig()


@app.command()
@cli_errors
def detect(
    events: Annotated[str, typer.Argument(metavar="EVENTS", show_default=False,
                                           help="Events file: Parquet, CSV/TSV or NDJSON (chosen by extension); - reads standard input "
                                                "(Parquet when it starts with Parquet's PAR1 bytes, NDJSON when its first line is a JSON object, else CSV, "
                                                "unless --format says otherwise).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", show_default=False,
                                          help="Output folder: created, or replaced if it is a graphlink output "
                                               "(files detect did not write are kept); any other folder is refused.")],
    accounts: Annotated[Optional[Path], typer.Option(metavar="FILE", show_default=False, help="Accounts file: account_id, created_at, email_domain or email.")] = None,
    fmt: FormatOpt = None,
    maps: Annotated[Optional[list[str]], typer.Option("--map", metavar="CANONICAL=COLUMN", show_default=False, help="Read a canonical column from another column name (repeatable or comma-separated), e.g. --map account_id=user,timestamp=ts.")] = None,
    timestamp_format: TimestampFormatOpt = None,
    separator: SeparatorOpt = None,
    signals: Annotated[Optional[list[str]], typer.Option("--signal", metavar="COLUMN", show_default=False, help="Use this column as an extra shared-identifier signal (repeatable), e.g. --signal device_id.")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", metavar="FILE", show_default=False, help="graphlink.toml with [columns], stage settings and [kinds.*] tables.")] = None,
    seed: Annotated[Optional[int], typer.Option(min=0, max=MAX_SEED, metavar="N", show_default=False, help=f"Leiden seed. [default: {_DEFAULTS.communities.seed}]")] = None,
    resolution: Annotated[Optional[float], typer.Option(metavar="X", show_default=False, help=f"Leiden resolution; higher gives smaller clusters. [default: {_DEFAULTS.communities.resolution}]")] = None,
    asn_table: Annotated[Optional[Path], typer.Option(metavar="FILE", show_default=False, help="IP-to-ASN table (cidr,asn CSV or start/end/ASN TSV): adds the asn signal.")] = None,
    ipv4_prefix: Annotated[Optional[int], typer.Option(metavar="BITS", show_default=False, help=f"IPv4 network size for the ip_net signal. [default: {_DEFAULTS.signals.ipv4_prefix}]")] = None,
    ipv6_prefix: Annotated[Optional[int], typer.Option(metavar="BITS", show_default=False, help=f"IPv6 network size for the ip_net signal. [default: {_DEFAULTS.signals.ipv6_prefix}]")] = None,
    threshold: Annotated[Optional[float], typer.Option(metavar="SCORE", show_default=False, help=f"Flag clusters scoring at least this (0..1) whose campaign (or the cluster alone, when its campaign's tie is not substantial) has min_flag_size accounts. [default: {_DEFAULTS.scoring.flag_threshold}]")] = None,
    top: Annotated[int, typer.Option(min=0, metavar="N", help="Clusters shown in the summary table.")] = 10,
    previous: Annotated[Optional[Path], typer.Option("--previous", metavar="DIR", show_default=False, help="A previous output folder: rings keep its cluster ids (matched by member overlap); new and vanished clusters are reported.")] = None,
    engine: Annotated[str, typer.Option(metavar="polars|spark", help="Where the stages run: polars on this machine, or Apache Spark (pip install 'graphlink[spark]'; EVENTS may then be any path, URI or table name Spark reads).")] = "polars",
    spark_master: Annotated[Optional[str], typer.Option("--spark-master", metavar="URL", show_default=False, help="Spark master for --engine spark, e.g. local[4], spark://host:7077, yarn [default: the active session, else local[*]].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on standard output (counts, warnings, top clusters).")] = False,
    quiet: QuietJsonOpt = False,
) -> None:
    """Detect linked account clusters in an API log and score them.

    Writes to --out: accounts.parquet (account -> cluster), clusters.parquet (score, flagged, why,
    campaign), campaigns.parquet (clusters tied by the values they share; a flagged one is one
    operator's) and campaign_ties.parquet (those values), evidence.parquet (shared values per cluster),
    set_apart.parquet (accounts set apart from a cluster, and why), memberships.parquet and activity.parquet
    (for report, show and export), links.parquet, linking.parquet, minutes.parquet, templates.parquet and
    five match_*.parquet indexes (for expand and match) and run.json (settings, counts, warnings, timings). Progress goes to standard
    error on a terminal; the summary to standard output (tab-separated rows
    when it is not a terminal).

    Weaker grouping steps, on by default (the why and joined_by say them; run.json counts them): own-value members
    (own_value_members: an unclustered account most of whose strong values are a cluster's joins it; off:
    [communities] own_values = false in --config), hub twins (hub_twins: holders of a cluster's address or card
    writing its template made a cluster; off: [communities] hub_twins = false).
    """
    from graphlink.engines import run_engine
    from graphlink.store.outputs import carried_over, check_out_dir, write_outputs
    from graphlink.store.spool import stdin_file

    config = detect_config(config_file, maps, signals, format=fmt, seed=seed, resolution=resolution,
                           asn_table=asn_table, ipv4_prefix=ipv4_prefix, ipv6_prefix=ipv6_prefix,
                           flag_threshold=threshold, timestamp_format=timestamp_format, separator=separator)
    check_out_dir(out_dir)  # refuse a foreign folder before any work

    def run(path: Path | str):
        if quiet or not err.is_terminal:
            return run_engine(engine, path, accounts, config, None, previous, master=spark_master)
        with StageProgress(err) as progress:
            return run_engine(engine, path, accounts, config, progress, previous, master=spark_master)

    if str(events) == "-":
        with stdin_file(config.ingest.format) as spooled:
            try:
                result = run(spooled)
            except GraphlinkError as exc:
                raise GraphlinkError(str(exc).replace(str(spooled), "<stdin>")) from None
            result.run["inputs"]["events"]["path"] = "<stdin>"
            # (the log's own warnings name the file read: the spool, deleted on return)
            result.run["warnings"] = [str(w).replace(str(spooled), "<stdin>") for w in result.run.get("warnings") or []]
            result.warnings = [str(w).replace(str(spooled), "<stdin>") for w in result.warnings]  # the terminal's
            result.run["inputs"]["events"].pop("given", None)
    else:  # Spark reads URIs and table names as given
        result = run(events if engine == "spark" else Path(events))
    kept = carried_over(out_dir)
    check_terminated()  # a SIGTERM whose exception a finaliser swallowed: publish nothing
    write_outputs(result, out_dir)
    run = result.run
    if as_json:
        emit_json({"out": str(out_dir), "inputs": run["inputs"], "counts": run["counts"],
                   "warnings": result.warnings, "kept_from_before": kept, "previous": run.get("previous"),
                   "seconds": round(sum(run["timings"].values()), 3),
                   "top_clusters": [dict(zip(["cluster_id", "size", "score", "flagged", "campaign_id", "kinds", "why", "flag"], r))
                                    for r in cluster_rows(result.clusters, top, run)]})
    if quiet:
        return
    print_warnings(result.warnings)
    if kept:
        shown = ", ".join(kept[:8]) + (", …" if len(kept) > 8 else "")
        err.print(Text(f"kept in {out_dir} from before this run: {terminal_safe(shown)} "
                       "(they describe the previous results: rerun graphlink report / export)", style="yellow"))
    if as_json:
        return
    ev = run["inputs"]["events"]
    say = out.print if out.is_terminal else err.print  # piped: stdout carries only the rows
    for line in read_summary(ev, run["counts"]["accounts"], run["counts"].get("invalid_ip_events", 0), with_events=run["counts"].get("accounts_with_events")):
        say(line)
    if result.accounts.height == 0:
        say("the input has no events: wrote empty outputs")
    counts = run["counts"]
    say(f"{plural(counts['clusters'], 'cluster')} in {plural(counts['campaigns'], 'campaign')}; "
        f"{counts['flagged_clusters']:,} flagged in {plural(counts['flagged_campaigns'], 'campaign')} "
        f"({plural(counts['accounts_flagged'], 'account')}); "
        f"{sum(run['timings'].values()):.1f} s; outputs in {out_dir}")
    if run.get("previous"):
        say(previous_summary(run["previous"]))
    if result.clusters.height:
        print_table(clusters_table(result.clusters, top, "Top clusters", run),  # piped: kinds named as on a terminal
                    cluster_rows(result.clusters, top, run, words=True), CLUSTER_HEADERS)
        # What to run next (new-user review, session 40: after detect nothing said where to look).
        first, camp = (cluster_rows(result.clusters, 1, run)[0][i] for i in (0, 4))  # the table's first row
        where = shlex.quote(str(out_dir))
        cells = camp is not None and int((result.clusters["campaign_id"] == camp).sum()) > 1  # its campaign, if several
        say(Text(terminal_safe(f"next: graphlink show {where} {first} (members and evidence) · "
                               + (f"graphlink campaign {where} {camp} (its campaign's clusters, what ties them) · "
                                  if cells else "") + f"graphlink report {where} (HTML) · graphlink export {where} "
                               "--format csv (the flagged clusters for a case tool)")),
            soft_wrap=True)  # --format is required: "graphlink export DIR" alone was a usage error (nu47)


OutDirArg = Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                           help="Output folder written by graphlink detect --out.")]


@app.command()
@cli_errors
def report(
    out_dir: OutDirArg,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="FILE", show_default=False, help="Report file [default: DIR/report.html]; an existing file is replaced only if it is an earlier report.")] = None,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    max_sections: Annotated[int, typer.Option(min=0, metavar="N", help="Flagged clusters given a detailed section, highest scores first (the report names those left out).")] = 1000,
    max_unflagged: Annotated[int, typer.Option("--max-unflagged", min=0, metavar="N", help="Highest-scoring clusters that are not flagged also given a section (marked 'not flagged').")] = 10,
    max_members: Annotated[int, typer.Option(min=1, metavar="N", help="Members listed per cluster section, weakest tie first (as show and members.csv list them).")] = 500,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw hour-of-day, timeline and network plots.")] = True,
    interactive: Annotated[bool, typer.Option("--interactive/--static", help="Add an interactive network view per section (about 440 kB once per report); --static keeps the drawings only.")] = True,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Read the members' events back from the events file in run.json, for schedules and example prompts.")] = True,
    quiet: QuietOpt = False,
) -> None:
    """Write a self-contained HTML report (DIR/report.html) for investigators.

    Campaigns first (when detect wrote campaigns.parquet; flagged ones first, by
    score, then the others of two or more clusters), a sortable table of clusters ranked the same way, and a section per flagged cluster and per top
    unflagged cluster: reasons, evidence in human terms (templates, schedule),
    activity plots, an interactive network and members; run details last.
    Opens offline in any browser.
    """
    from graphlink.views.report import ReportOptions, write_report

    options = ReportOptions(max_sections=max_sections, max_unflagged_sections=max_unflagged, max_members=max_members,
                            plots=plots, interactive=interactive, events=events)
    info = write_report(out_dir, out, redact=redact, redact_key=redact_key, options=options)
    if not quiet:
        print_warnings(list(info.warnings))
        note = ", redacted" if info.redacted else ""
        out_console.print(Text(f"wrote {terminal_safe(info.path)} ({human_size(info.bytes)}; {info.sections:,} "
                               f"cluster sections, {info.flagged:,} flagged of {info.clusters:,}{note}) "
                               f"in {info.seconds:.1f} s"), soft_wrap=True)


@app.command()
@cli_errors
def show(
    out_dir: OutDirArg,
    cluster_id: Annotated[int, typer.Argument(metavar="CLUSTER_ID", show_default=False, help="Cluster id (the cluster column of detect and report).")],
    members: Annotated[int, typer.Option(min=0, metavar="N", help="Members listed, weakest tie first (--sort-members).")] = 25,
    evidence: Annotated[int, typer.Option(min=0, metavar="N", help="Evidence rows listed, strongest kind first, and as many of the values that tied an inherited flag; 0 lists neither (the reasons still name the flagged cluster and count the tying values; --json keeps them all).")] = 30,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    all_values: Annotated[bool, typer.Option("--all-values", help="Also list values shared but too common to link anybody (weight 0), hidden by default.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cluster (row, reasons, members, evidence, templates) as JSON on standard output.")] = False,
    quiet: QuietJsonOpt = False,
    sort_members: Annotated[str, typer.Option("--sort-members", metavar="strength|events", help="Members in order of strength (members sharing none of the cluster's behaviour -- shares 'addresses only' -- first, then weakest tie to suspected accounts first, members sharing no card or address before them: the periphery to check before a ban, in view however long the list) or events (most active first).")] = "strength",
    templates: Annotated[bool, typer.Option("--templates/--no-templates", help="List the prompt templates the members send, as the report does, also in --json (reads a sample of their prompts from the events file run.json records).")] = True,
    max_templates: Annotated[int, typer.Option("--max-templates", min=1, metavar="N", help="Templates listed, those most accounts follow first (the report lists 3).")] = 3,
) -> None:
    """Show one cluster in the terminal: reasons, prompt templates, members and shared evidence.

    Evidence is grouped by kind, strongest kind first (graphlink.views.evidence). Tables are tab-separated rows when standard output is not a terminal.
    """
    from graphlink.store.outputs import load_outputs
    from graphlink.cli_account import print_set_apart, set_apart_part
    from graphlink.views.terminal import cluster_json, cluster_tables

    if sort_members not in ("events", "strength"):
        raise typer.BadParameter(f"{sort_members!r}: use events or strength", param_hint="--sort-members")
    outputs = load_outputs(out_dir, [cluster_id], redact=redact, redact_key=redact_key)
    if as_json:  # set_apart: the accounts detect set apart from it, and why (graphlink.views.set_apart)
        from graphlink.views.terminal_templates import template_json
        emit_json({**cluster_json(outputs, cluster_id, members=members, evidence=evidence, all_values=all_values, sort=sort_members),
                   **(template_json(outputs, cluster_id, max_templates) if templates else {}), **set_apart_part(outputs, cluster_id)})
        return
    if quiet:
        return
    heading, tables = cluster_tables(outputs, cluster_id, members=members, evidence=evidence, all_values=all_values,
                                     sort=sort_members, width=out_console.width if out_console.is_terminal else None)  # piped rows: whole
    if templates:  # after the reasons (and what tied an inherited flag): the report's template view
        from graphlink.views.terminal_templates import template_table

        view, at = template_table(outputs, cluster_id, max_templates), len(tables) - (members > 0) - (evidence > 0)
        tables[at:at] = [view] if view else []
    for line in heading:
        out_console.print(line)
    camp = outputs.cluster_row(cluster_id).get("campaign_id")  # one of its operator's cells: where to see the others
    cells = 0 if camp is None or outputs.campaigns is None else int(outputs.campaigns.filter(
        polars.col("campaign_id") == camp)["clusters"].list.len().sum())
    if cells > 1:
        out_console.print(Text(terminal_safe(f"its campaign's {cells} clusters side by side, and the values tying "
                                             f"them: graphlink campaign {shlex.quote(str(out_dir))} {camp}")),
                          soft_wrap=True)
    for table, rows, headers in tables:
        print_table(table, rows, headers, titled=True)
    print_set_apart(outputs, cluster_id)  # under the members: who detect set apart from it (graphlink account says why)


def parse_clusters(values: list[str] | None) -> str | list[int | str]:
    """``--clusters`` values: ``flagged``, ``all`` or cluster ids (repeatable, comma-separated).

    Examples
    --------
    >>> parse_clusters(None), parse_clusters(["all"]), parse_clusters(["3,1", "7"]), parse_clusters(["flagged,56"])
    ('flagged', 'all', [3, 1, 7], ['flagged', 56])
    """
    items = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    if not items:
        return "flagged"
    if len(items) == 1 and items[0].lower() in ("flagged", "all"):
        return items[0].lower()
    try:  # ids, with flagged or all among them: their clusters and the ids (flagged,56)
        return [item.lower() if item.lower() in ("flagged", "all") else int(item) for item in items]
    except ValueError:
        raise ConfigError(f"--clusters expects flagged, all or cluster ids, got {', '.join(items)}") from None


@app.command("export")
@cli_errors
def export_command(
    out_dir: OutDirArg,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="gexf|graphml|json|csv", show_default=False, help="gexf or graphml (Gephi graph), json (a case file per cluster) or csv (members.csv, evidence.csv, affiliations.csv: which member holds which shared value, campaign_ties.csv: the values tying their campaigns' clusters, set_apart.csv: the accounts set apart from them, and README.txt: the columns).")],
    clusters: Annotated[Optional[list[str]], typer.Option("--clusters", "-c", metavar="flagged|all|ID,...", show_default=False, help="Clusters to export: flagged, all, or cluster ids (repeatable or comma-separated: -c 3,7; -c flagged,56 adds cluster 56 to the flagged ones). [default: flagged]")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="PATH", show_default=False, help="File for gexf/graphml [default: DIR/graph.FORMAT; an existing file is replaced only if it is an earlier graph of that format]; folder for json [default: DIR/cases, replaced as a whole] and csv [default: DIR/csv].")] = None,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    bom: Annotated[bool, typer.Option("--bom/--no-bom", help="csv: start each CSV with a UTF-8 byte-order mark, for Excel on Windows (without one it reads non-ASCII ids and prompts in the ANSI code page); off by default: scripts' CSV readers (Python's csv module, awk) would see it in the first column's name.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Export chosen clusters: a Gephi-ready graph, JSON case files, or CSV."""
    from graphlink.views.export import export

    info = export(out_dir, fmt, parse_clusters(clusters), out, redact=redact, redact_key=redact_key, bom=bom)
    if quiet:
        return
    what = plural(len(info.clusters), "cluster")
    if info.nodes is not None:
        what += f", {plural(info.nodes, 'node')}, {plural(info.edges, 'edge')}"
    if info.redacted:
        what += ", redacted"
    where = info.paths[0] if len(info.paths) == 1 else (info.paths[0].parent if info.paths else out_dir)
    out_console.print(Text(f"wrote {info.format} ({what}) to {terminal_safe(where)}"), soft_wrap=True)


@app.command()
@cli_errors
def simulate(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False, help="Folder to write events.parquet, accounts.parquet and labels.parquet to.")],
    preset: Annotated[str, typer.Option(metavar="small|medium|campaign", help="small (fixture size), medium (~1M events) or campaign (>=24k ring accounts, >=16M prompts).")] = "small",
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, metavar="N", help="Simulator seed: the same seed gives byte-identical files.")] = 0,
    camouflage: Annotated[Optional[float], typer.Option(metavar="SHARE", show_default=False, help="Share of each ring account's traffic made to look benign, in [0, 1) [default: the preset's].")] = None,
    quiet: QuietOpt = False,
    scenario: Annotated[Optional[str], typer.Option(metavar="pools|schedules|templates|crowds|giant|mixed", show_default=False, help="A scenario of the family: parameters drawn at random per seed; writes params.json too. Replaces --preset.")] = None,
    scale: Annotated[str, typer.Option(metavar="small|1m|campaign", help="With --scenario: small (~10-20k accounts, by scenario), 1m (~1M events) or campaign (~220k accounts, ~20M events).")] = "small",
    day_two: Annotated[Optional[Path], typer.Option("--day-two", metavar="DIR2", show_default=False, help="With --scenario: also write the day after to DIR2 (new accounts of the same ring cells, teams and people, plus continuing accounts; labels.parquet marks the new ones), the log to try graphlink match on.")] = None,
) -> None:
    """Simulate an API log with planted rings, benign-linked teams and benign users.

    To try graphlink match: simulate DIR --scenario NAME --seed N --day-two DIR2,
    detect DIR/events.parquet, then match that output with DIR2/events.parquet.
    """
    earlier = [d for d in (out_dir, day_two) if d is not None and (Path(d) / "events.parquet").is_file()]
    try:
        from graphlink.lab.commands import simulate_preset

        if day_two is not None and scenario is None:
            raise ConfigError("--day-two needs --scenario (a second day exists for scenario worlds, not presets)")
        if scenario is not None:
            from graphlink.lab.commands import simulate_scenario_world, simulate_two_days

            if camouflage is not None:
                raise ConfigError("--camouflage applies to --preset worlds; scenarios draw it per seed")
            days = (simulate_two_days(out_dir, day_two, scenario, seed=seed, scale=scale) if day_two is not None
                    else {"day_one": simulate_scenario_world(out_dir, scenario, seed=seed, scale=scale)})
            info = days["day_one"]
        else:
            info = simulate_preset(out_dir, preset, seed=seed, camouflage=camouflage)
    except ImportError as exc:  # pyarrow is an optional extra
        raise ConfigError(f"graphlink simulate needs {exc.name or 'pyarrow'}: "
                          "pip install 'graphlink[simulate]' (from a source checkout: pip install '.[simulate]')") from None
    for folder in earlier:  # a simulated world (check_world_folder refuses any other) replaced: said, even with -q
        print_warnings([f"replaced the simulated world that was in {folder}"])  # terminal-safe, not rich markup
    if quiet:
        return
    if scenario is not None:
        out_console.print(
            f"wrote {plural(info['n_events'], 'event')} from {plural(info['n_accounts'], 'account')} "
            f"({plural(info['n_ring_accounts'], 'ring account')} in {plural(info['n_cells'], 'cell')} of "
            f"{plural(info['n_campaigns'], 'operator')}, {info['n_benign_linked']:,} benign-linked) "
            f"to {out_dir} in {info['seconds']:.1f} s")
        if "day_two" in days:
            two = days["day_two"]
            out_console.print(
                f"wrote day two: {plural(two['n_events'], 'event')} from {plural(two['n_accounts'], 'account')} "
                f"({two['n_new_accounts']:,} new, of them {plural(two['n_ring_accounts'], 'ring account')}) to "
                f"{day_two}")
        return
    out_console.print(
        f"wrote {plural(info['n_events'], 'event')} from {plural(info['n_accounts'], 'account')} "
        f"({plural(info['n_ring_accounts'], 'ring account')} in {plural(info['n_rings'], 'ring')}, "
        f"{info['n_benign_linked']:,} benign-linked) to {out_dir} in {info['seconds']:.1f} s")


@app.command()
@cli_errors
def evaluate(
    out_dir: OutDirArg,
    labels: Annotated[Path, typer.Argument(metavar="LABELS", show_default=False, help="Labels (Parquet/CSV/NDJSON): account_id, kind, ring_id and/or group_id (integer or string ids), optional campaign_id; e.g. labels.parquet from graphlink simulate.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON on standard output instead of the table.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE", show_default=False, help="Also write the metrics as JSON to this file (atomically).")] = None,
    quiet: QuietJsonOpt = False,
) -> None:
    """Score a detect output against ground-truth labels (precision, recall, F1, ARI by cell and campaign, pairwise F1)."""
    from graphlink.lab.commands import evaluate_output
    from graphlink.lab.evaluate import evaluation_rows, format_evaluation

    result = evaluate_output(out_dir, labels, output)
    if as_json:
        emit_json(result)
    elif not quiet:  # a rich table on a terminal, tab-separated rows when piped
        print_table(format_evaluation(result), evaluation_rows(result), ["metric", "value"])


from graphlink.cli_account import account_command  # noqa: E402
from graphlink.cli_campaign import campaign_command  # noqa: E402
from graphlink.cli_pivot import expand_command, match_command  # noqa: E402
for _name, _command in (("expand", expand_command), ("match", match_command), ("campaign", campaign_command),
                        ("account", account_command)):
    app.command(_name)(_command)


def main() -> None:  # pragma: no cover - console entry
    app()
