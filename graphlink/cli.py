"""graphlink's command line: a thin front over the library.

Each command parses its arguments, calls one library function and renders the
result; library errors become a one-line message and exit code 2.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from graphlink.config import PipelineConfig, load_config
from graphlink.errors import ConfigError, GraphlinkError, safe_reason
from graphlink.safety import terminal_safe

app = typer.Typer(
    name="graphlink",
    help="Find coordinated account rings (distillation campaigns) in API logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
out_console = out  # commands with an --out option shadow the name ``out``
err = Console(stderr=True)


@app.callback()
def main_callback() -> None:
    """Find coordinated account rings (distillation campaigns) in API logs.

    Typical run: graphlink detect events.parquet --accounts accounts.parquet --out out/,
    then graphlink report out/ (HTML), graphlink show out/ 3 (one cluster in the terminal)
    and graphlink export out/ --format gexf (Gephi, case files, CSV).
    """


def fail(message: str) -> None:
    """Print a one-line error and exit 2."""
    err.print(Text(f"error: {terminal_safe(message)}", style="bold red"), soft_wrap=True)
    raise typer.Exit(2)


def cli_errors(func):
    """Turn library errors into clean CLI errors (no traceback, exit 2)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GraphlinkError as exc:
            fail(str(exc))
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
            fail(f"could not process the input: {safe_reason(exc)}")
        except (OSError, UnicodeDecodeError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130)

    return wrapper


def parse_maps(maps: list[str] | None) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in maps or []:
        canonical, sep, source = item.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            raise ConfigError(f"--map expects canonical=source, got {item!r}")
        pairs.append((canonical.strip(), source.strip()))
    return tuple(pairs)


def build_config(config_file: Path | None, maps, signals, fmt, seed, resolution, asn_table,
                 ipv4_prefix, ipv6_prefix, threshold) -> PipelineConfig:
    config = load_config(config_file)
    ingest = dataclasses.replace(
        config.ingest,
        column_map=config.ingest.column_map + parse_maps(maps),
        extra_signals=tuple(dict.fromkeys(config.ingest.extra_signals + tuple(signals or ()))),
        format=fmt or config.ingest.format,
    )
    sig = config.signals
    sig = dataclasses.replace(
        sig,
        asn_table=str(asn_table) if asn_table else sig.asn_table,
        ipv4_prefix=ipv4_prefix or sig.ipv4_prefix,
        ipv6_prefix=ipv6_prefix or sig.ipv6_prefix,
    )
    com = config.communities
    com = dataclasses.replace(
        com,
        seed=com.seed if seed is None else seed,
        resolution=com.resolution if resolution is None else resolution,
    )
    scoring = config.scoring
    if threshold is not None:
        scoring = dataclasses.replace(scoring, flag_threshold=threshold)
    return dataclasses.replace(config, ingest=ingest, signals=sig, communities=com, scoring=scoring)


def clusters_table(clusters: pl.DataFrame, top: int, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in (("cluster", "right"), ("size", "right"), ("score", "right"), ("flagged", "center"),
                          ("linked by", "left"), ("why", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    ranked = clusters.sort(["flagged", "score", "size"], descending=True).head(top)
    for row in ranked.iter_rows(named=True):
        table.add_row(
            str(row["cluster_id"]), f"{row['size']:,}", f"{row['score']:.3f}",
            "yes" if row["flagged"] else "",
            Text(terminal_safe(", ".join(row["kinds"] or []))),
            Text(terminal_safe(row.get("why") or "", limit=160)),
        )
    return table


def previous_summary(section: dict, limit: int = 12) -> str:
    """One line on how this run's cluster ids relate to the previous run's."""
    def ids(values: list[int]) -> str:
        shown = ", ".join(str(v) for v in values[:limit])
        return f" ({shown}{', …' if len(values) > limit else ''})" if values else ""

    return (f"vs previous run: {section['matched']:,} clusters kept their id, "
            f"{section['new']:,} new{ids(section['new_ids'])}, "
            f"{section['vanished']:,} vanished{ids(section['vanished_ids'])}")


@app.command()
@cli_errors
def detect(
    events: Annotated[Path, typer.Argument(help="Events file: Parquet, CSV/TSV or NDJSON (by extension).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")],
    accounts: Annotated[Optional[Path], typer.Option(help="Accounts file: account_id, created_at, email_domain or email.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="Override the events format: parquet, csv, tsv, ndjson.")] = None,
    maps: Annotated[Optional[list[str]], typer.Option("--map", help="Column mapping canonical=source (repeatable), e.g. account_id=user.")] = None,
    signals: Annotated[Optional[list[str]], typer.Option("--signal", help="Extra column to use as a shared-identifier signal (repeatable).")] = None,
    config_file: Annotated[Optional[Path], typer.Option("--config", help="graphlink.toml with \\[columns], stage settings and \\[kinds.*] tables.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Leiden seed (default 42).")] = None,
    resolution: Annotated[Optional[float], typer.Option(help="Leiden resolution; higher gives smaller clusters (default 1.0).")] = None,
    asn_table: Annotated[Optional[Path], typer.Option(help="IP-to-ASN table (cidr,asn CSV or start/end/ASN TSV).")] = None,
    ipv4_prefix: Annotated[Optional[int], typer.Option(help="IPv4 network size for ip_net (default 24).")] = None,
    ipv6_prefix: Annotated[Optional[int], typer.Option(help="IPv6 network size for ip_net (default 48).")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Flag clusters scoring at least this.")] = None,
    top: Annotated[int, typer.Option(help="Clusters shown in the summary table.")] = 10,
    previous: Annotated[Optional[Path], typer.Option("--previous", help="A previous output folder: rings keep its cluster ids (matched by member overlap); new and vanished clusters are reported.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Detect linked account clusters in an API log and score them.

    Writes accounts.parquet, clusters.parquet, evidence.parquet and run.json to --out.
    """
    from graphlink.pipeline import carried_over, check_out_dir, run_detect, write_outputs

    config = build_config(config_file, maps, signals, fmt, seed, resolution, asn_table,
                          ipv4_prefix, ipv6_prefix, threshold)
    check_out_dir(out_dir)  # refuse a foreign folder before any work
    if quiet or not sys.stderr.isatty():
        progress = None if quiet else (lambda stage: err.print(f"[dim]… {stage}[/dim]"))
        result = run_detect(events, accounts, config, progress=progress, previous=previous)
    else:
        with err.status("starting") as status:
            result = run_detect(events, accounts, config, progress=lambda s: status.update(f"{s} …"),
                                previous=previous)
    kept = carried_over(out_dir)
    write_outputs(result, out_dir)
    if kept and not quiet:
        shown = ", ".join(kept[:8]) + (", …" if len(kept) > 8 else "")
        err.print(Text(f"kept in {out_dir} from before this run: {terminal_safe(shown)} "
                       "(they describe the previous results: rerun graphlink report / export)", style="yellow"))
    if quiet:
        return
    run = result.run
    ev = run["inputs"]["events"]
    for warning in result.warnings:
        err.print(Text(f"warning: {terminal_safe(warning)}", style="yellow"))
    rejected = ", ".join(f"{k}: {v:,}" for k, v in ev["rejected"].items()) or "none"
    out.print(f"read {ev['rows_read']:,} events ({ev['rows_kept']:,} kept; rejected {rejected}) "
              f"from {run['counts']['accounts']:,} accounts")
    invalid = run["counts"].get("invalid_ip_events", 0)
    if invalid:
        out.print(f"{invalid:,} events had an invalid IP (kept for other signals)")
    if result.accounts.height == 0:
        out.print("the input has no events: wrote empty outputs")
    counts = run["counts"]
    out.print(f"{counts['clusters']:,} clusters, {counts['flagged_clusters']:,} flagged "
              f"({counts['accounts_flagged']:,} accounts); "
              f"{sum(run['timings'].values()):.1f} s; outputs in {out_dir}")
    if run.get("previous"):
        out.print(previous_summary(run["previous"]))
    if result.clusters.height:
        out.print(clusters_table(result.clusters, top, "Top clusters"))


RedactOpt = Annotated[bool, typer.Option(
    "--redact",
    help="Replace payment fingerprints, e-mail addresses and IPs with keyed hashes "
         "(HMAC-SHA256; IP networks and e-mail domains are kept).")]
RedactKeyOpt = Annotated[Optional[str], typer.Option(
    "--redact-key", show_default=False,
    help="HMAC key for --redact (implies --redact). Default: $GRAPHLINK_REDACT_KEY, else a random key "
         "for this run only. Prefer the environment variable: command lines are visible to other users.")]
OutDirArg = Annotated[Path, typer.Argument(help="Output folder written by graphlink detect --out.")]


def human_size(n_bytes: int) -> str:
    """``1.2 MB``-style size.

    Examples
    --------
    >>> human_size(512), human_size(2_500_000)
    ('512 B', '2.4 MB')
    """
    size = float(n_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


@app.command()
@cli_errors
def report(
    out_dir: OutDirArg,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Report file (default: DIR/report.html).")] = None,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    max_sections: Annotated[int, typer.Option(min=0, help="Flagged clusters given a detailed section, highest scores first.")] = 100,
    max_members: Annotated[int, typer.Option(min=1, help="Members listed per cluster section, most active first.")] = 500,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Draw hour-of-day, timeline and network plots.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Write a self-contained HTML report (DIR/report.html) for investigators.

    Run summary, a sortable table of clusters ranked by score, and a section per
    flagged cluster: reasons, members, shared evidence, activity plots and a
    network drawing. Opens offline in any browser.
    """
    from graphlink.report import ReportOptions, write_report

    options = ReportOptions(max_sections=max_sections, max_members=max_members, plots=plots)
    info = write_report(out_dir, out, redact=redact, redact_key=redact_key, options=options)
    if not quiet:
        note = ", redacted" if info.redacted else ""
        out_console.print(Text(f"wrote {terminal_safe(info.path)} ({human_size(info.bytes)}; {info.sections:,} "
                               f"cluster sections, {info.flagged:,} flagged of {info.clusters:,}{note}) "
                               f"in {info.seconds:.1f} s"), soft_wrap=True)


def sparkline(values: list[int]) -> str:
    """Unicode block sparkline of non-negative counts.

    Examples
    --------
    >>> sparkline([0, 1, 2, 4])
    ' ▂▄█'
    """
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values) if values else 0
    if top <= 0:
        return " " * len(values)
    return "".join(blocks[0 if v <= 0 else max(1, round(v / top * 8))] for v in values)


@app.command()
@cli_errors
def show(
    out_dir: OutDirArg,
    cluster_id: Annotated[int, typer.Argument(help="Cluster id (the cluster column of detect and report).")],
    members: Annotated[int, typer.Option(min=0, help="Members listed, most active first.")] = 25,
    evidence: Annotated[int, typer.Option(min=0, help="Evidence rows listed, most shared first.")] = 30,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
) -> None:
    """Show one cluster in the terminal: reasons, members and shared evidence."""
    from graphlink.outputs import load_outputs, score_columns

    outputs = load_outputs(out_dir, [cluster_id], redact=redact, redact_key=redact_key)
    row = outputs.cluster_row(cluster_id)
    member_rows = outputs.members(cluster_id)
    evidence_rows = outputs.cluster_evidence(cluster_id)
    hours = outputs.hour_profile(cluster_id)

    title = Text(f"Cluster {cluster_id}", style="bold")
    if row["flagged"]:
        title.append("  flagged", style="bold red")
    out_console.print(title)
    first, last = member_rows["first_seen"].min(), member_rows["last_seen"].max()
    active = f"; active {first:%Y-%m-%d} to {last:%Y-%m-%d} UTC" if first and last else ""
    out_console.print(Text(f"{row['size']:,} accounts; score {row['score']:.3f}{active}"))
    if outputs.redaction:
        out_console.print(Text(f"redacted: {outputs.redaction}", style="yellow"))

    reasons = Table(title="Reasons", title_justify="left", show_header=False, box=None, padding=(0, 2))
    reasons.add_column("what", style="dim")
    reasons.add_column("value", overflow="fold")
    for reason in [r for r in (row.get("why") or "").split("; ") if r] or ["no shared evidence recorded"]:
        reasons.add_row("why", Text(terminal_safe(reason, limit=300)))
    for name in score_columns(outputs.clusters):
        value = row[name]
        reasons.add_row(Text(terminal_safe(name)), Text(f"{value:.3f}" if isinstance(value, float) else f"{value}"))
    reasons.add_row("linked by", Text(terminal_safe(", ".join(row.get("kinds") or []) or "none")))
    if hours and any(hours):
        reasons.add_row("hours (UTC)", Text(f"00 {sparkline(hours)} 23"))
    out_console.print(reasons)

    table = Table(title=f"Members ({member_rows.height:,})", title_justify="left")
    for name, justify in (("account", "left"), ("events", "right"), ("first seen (UTC)", "left"),
                          ("last seen (UTC)", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    stamp = lambda t: f"{t:%Y-%m-%d %H:%M}" if t is not None else ""  # noqa: E731
    for m in member_rows.head(members).iter_rows(named=True):
        table.add_row(Text(terminal_safe(m["account_id"], limit=80)), f"{m['events']:,}",
                      stamp(m["first_seen"]), stamp(m["last_seen"]))
    if member_rows.height > members:
        table.caption = f"{member_rows.height - members:,} more (graphlink export DIR --format csv --clusters {cluster_id})"
    out_console.print(table)

    table = Table(title=f"Shared evidence ({evidence_rows.height:,})", title_justify="left")
    for name, justify in (("kind", "left"), ("value", "left"), ("sharing", "right"), ("weight", "right"),
                          ("in input", "right")):
        table.add_column(name, justify=justify, overflow="fold")
    for e in evidence_rows.head(evidence).iter_rows(named=True):
        table.add_row(Text(terminal_safe(e["kind"])), Text(terminal_safe(e["value"], limit=120)),
                      f"{e['accounts_sharing']:,}", f"{e['weight']:.3f}", f"{e['df']:,}")
    if evidence_rows.height > evidence:
        table.caption = f"{evidence_rows.height - evidence:,} more (use --evidence)"
    out_console.print(table)


def parse_clusters(values: list[str] | None) -> str | list[int]:
    """``--clusters`` values: ``flagged``, ``all`` or cluster ids (repeatable, comma-separated).

    Examples
    --------
    >>> parse_clusters(None), parse_clusters(["all"]), parse_clusters(["3,1", "7"])
    ('flagged', 'all', [3, 1, 7])
    """
    items = [part.strip() for value in values or [] for part in value.split(",") if part.strip()]
    if not items:
        return "flagged"
    if len(items) == 1 and items[0].lower() in ("flagged", "all"):
        return items[0].lower()
    try:
        return [int(item) for item in items]
    except ValueError:
        raise ConfigError(f"--clusters expects flagged, all or cluster ids, got {', '.join(items)}") from None


@app.command("export")
@cli_errors
def export_command(
    out_dir: OutDirArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="gexf or graphml (Gephi graph), json (a case file per cluster) or csv (members.csv and evidence.csv).")],
    clusters: Annotated[Optional[list[str]], typer.Option("--clusters", "-c", help="flagged (default), all, or cluster ids (repeatable or comma-separated: -c 3,7).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="File for gexf/graphml (default DIR/graph.FORMAT); folder for json (default DIR/cases) and csv (default DIR/csv).")] = None,
    redact: RedactOpt = False,
    redact_key: RedactKeyOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Export chosen clusters: a Gephi-ready graph, JSON case files, or CSV."""
    from graphlink.export import export

    info = export(out_dir, fmt, parse_clusters(clusters), out, redact=redact, redact_key=redact_key)
    if quiet:
        return
    what = f"{len(info.clusters):,} cluster{'' if len(info.clusters) == 1 else 's'}"
    if info.nodes is not None:
        what += f", {info.nodes:,} nodes, {info.edges:,} edges"
    if info.redacted:
        what += ", redacted"
    where = info.paths[0] if len(info.paths) == 1 else (info.paths[0].parent if info.paths else out_dir)
    out_console.print(Text(f"wrote {info.format} ({what}) to {terminal_safe(where)}"), soft_wrap=True)


@app.command()
@cli_errors
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write events.parquet, accounts.parquet and labels.parquet to.")],
    preset: Annotated[str, typer.Option(help="small (fixture size), medium (~1M events) or campaign (>=24k ring accounts, >=16M prompts).")] = "small",
    seed: Annotated[int, typer.Option(help="Simulator seed: the same seed gives byte-identical files.")] = 0,
    camouflage: Annotated[Optional[float], typer.Option(help="Share of each ring account's traffic made to look benign (preset default otherwise).")] = None,
) -> None:
    """Simulate an API log with planted rings, benign-linked teams and benign users."""
    from graphlink.simulate import PRESETS, write_world

    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    config = PRESETS[preset]
    if camouflage is not None:
        if not 0.0 <= camouflage < 1.0:
            raise ConfigError("--camouflage must be in [0, 1)")
        config = config.replace(camouflage_share=camouflage)
    info = write_world(out_dir, config, seed=seed)
    out_console.print(
        f"wrote {info['n_events']:,} events from {info['n_accounts']:,} accounts "
        f"({info['n_ring_accounts']:,} ring accounts in {info['n_rings']} rings, "
        f"{info['n_benign_linked']:,} benign-linked) to {out_dir} in {info['seconds']:.1f} s")


@app.command()
@cli_errors
def evaluate(
    out_dir: Annotated[Path, typer.Argument(help="A graphlink detect output folder.")],
    labels: Annotated[Path, typer.Argument(help="labels.parquet (account_id, ring_id, kind) from graphlink simulate.")],
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the metrics as JSON to this file.")] = None,
) -> None:
    """Score a detect output against ground-truth labels (precision, recall, F1, ARI)."""
    import json

    from graphlink.evaluate import evaluate_dir, format_evaluation

    for path in (out_dir / "accounts.parquet", out_dir / "clusters.parquet", labels):
        if not path.is_file():
            raise GraphlinkError(f"{path}: file not found")
    result = evaluate_dir(out_dir, labels)
    out_console.print(format_evaluation(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def main() -> None:  # pragma: no cover - console entry
    app()
