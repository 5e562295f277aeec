"""graphlink's command line: a thin front over the library.

Each command parses its arguments, calls one library function and renders the
result; library errors become a one-line message and exit code 2.
"""

from __future__ import annotations

import contextlib
import functools
import os
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

import polars as pl  # noqa: E402  (after the allocator setting above)
import typer
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from graphlink.config import PipelineConfig, build_config  # noqa: E402
from graphlink.errors import ConfigError, GraphlinkError, safe_reason  # noqa: E402
from graphlink.views.safety import terminal_safe  # noqa: E402

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
    """``canonical=source`` items, each possibly several comma-separated pairs.

    Canonical names are checked by :func:`graphlink.config.build_config`.

    Examples
    --------
    >>> parse_maps(["account_id=user_id,timestamp=ts", "ip = client ip"])
    (('account_id', 'user_id'), ('timestamp', 'ts'), ('ip', 'client ip'))
    """
    pairs = []
    for item in maps or []:
        parts = item.split(",")
        if not all("=" in part for part in parts):
            parts = [item]  # a source column name with a comma in it
        for part in parts:
            canonical, sep, source = part.partition("=")
            if not sep or not canonical.strip() or not source.strip():
                raise ConfigError(f"--map expects canonical=source (comma-separated pairs allowed), got {item!r}")
            pairs.append((canonical.strip(), source.strip()))
    return tuple(pairs)


def detect_config(config_file: Path | None, maps: list[str] | None, signals: list[str] | None,
                  **flags: object) -> PipelineConfig:
    """The config of ``graphlink detect``: the TOML file, then --map/--signal, then the flags given.

    ``--separator`` also takes ``tab`` or ``\\t`` for a tab.
    """
    if flags.get("separator") in ("\\t", "tab"):
        flags["separator"] = "\t"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        config = build_config(toml=config_file, columns=parse_maps(maps), signals=signals or (), **flags)
    for warning in caught:
        err.print(Text(f"warning: {terminal_safe(str(warning.message))}", style="yellow"), soft_wrap=True)
    return config


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
    events: Annotated[Path, typer.Argument(help="Events file: Parquet, CSV/TSV or NDJSON (by extension); - reads standard input (CSV unless --format says otherwise).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")],
    accounts: Annotated[Optional[Path], typer.Option(help="Accounts file: account_id, created_at, email_domain or email.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="Override the events format: parquet, csv, tsv, ndjson.")] = None,
    maps: Annotated[Optional[list[str]], typer.Option("--map", help="Column mapping canonical=source (repeatable or comma-separated), e.g. account_id=user,timestamp=ts.")] = None,
    timestamp_format: Annotated[Optional[str], typer.Option("--timestamp-format", help="strftime format of the timestamp text, e.g. '%d/%m/%Y %H:%M' (default: ISO-8601 and epoch numbers).")] = None,
    separator: Annotated[Optional[str], typer.Option("--separator", help="CSV field separator (default: sniffed from the header: , ; tab or |).")] = None,
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
    from graphlink.store.outputs import write_outputs

    config = detect_config(config_file, maps, signals, format=fmt, seed=seed, resolution=resolution,
                           asn_table=asn_table, ipv4_prefix=ipv4_prefix, ipv6_prefix=ipv6_prefix,
                           flag_threshold=threshold, timestamp_format=timestamp_format, separator=separator)
    if str(events) == "-":
        with stdin_file(config.ingest.format) as spooled:
            try:
                result = _run(spooled, accounts, config, quiet, previous)
            except GraphlinkError as exc:
                raise GraphlinkError(str(exc).replace(str(spooled), "<stdin>")) from None
            result.run["inputs"]["events"]["path"] = "<stdin>"
    else:
        result = _run(events, accounts, config, quiet, previous)
    write_outputs(result, out_dir)
    _summarise(result, out_dir, top, quiet)


@contextlib.contextmanager
def stdin_file(fmt: str | None):
    """Standard input spooled to a temporary file (``.csv`` unless ``fmt`` names another format)."""
    import shutil
    import tempfile

    suffix = {"parquet": ".parquet", "tsv": ".tsv", "ndjson": ".ndjson"}.get((fmt or "csv").lower(), ".csv")
    with tempfile.TemporaryDirectory(prefix="graphlink-stdin-") as tmp:
        path = Path(tmp) / f"stdin{suffix}"
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield path


def _run(events, accounts, config, quiet: bool, previous):
    from graphlink.pipeline import run_detect

    if quiet or not sys.stderr.isatty():
        progress = None if quiet else (lambda stage: err.print(f"[dim]… {stage}[/dim]"))
        return run_detect(events, accounts, config, progress=progress, previous=previous)
    with err.status("starting") as status:
        return run_detect(events, accounts, config, progress=lambda s: status.update(f"{s} …"),
                          previous=previous)


def _summarise(result, out_dir: Path, top: int, quiet: bool) -> None:
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
    from graphlink.views.report import ReportOptions, write_report

    options = ReportOptions(max_sections=max_sections, max_members=max_members, plots=plots)
    info = write_report(out_dir, out, redact=redact, redact_key=redact_key, options=options)
    if not quiet:
        note = ", redacted" if info.redacted else ""
        out_console.print(Text(f"wrote {terminal_safe(info.path)} ({human_size(info.bytes)}; {info.sections:,} "
                               f"cluster sections, {info.flagged:,} flagged of {info.clusters:,}{note}) "
                               f"in {info.seconds:.1f} s"), soft_wrap=True)


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
    from graphlink.views.terminal import show_cluster

    for part in show_cluster(out_dir, cluster_id, members=members, evidence=evidence, redact=redact,
                             redact_key=redact_key):
        out_console.print(part)


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
    from graphlink.views.export import export

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
    scenario: Annotated[Optional[str], typer.Option(help="A scenario of the family (pools, schedules, templates, crowds, giant, mixed): parameters drawn at random per seed; writes params.json too. Replaces --preset.")] = None,
    scale: Annotated[str, typer.Option(help="With --scenario: small (~10k accounts), 1m (~1M events) or campaign (~220k accounts, ~20M events).")] = "small",
) -> None:
    """Simulate an API log with planted rings, benign-linked teams and benign users."""
    from graphlink.lab.commands import simulate_preset

    if scenario is not None:
        from graphlink.lab.commands import simulate_scenario_world

        if camouflage is not None:
            raise ConfigError("--camouflage applies to --preset worlds; scenarios draw it per seed")
        info = simulate_scenario_world(out_dir, scenario, seed=seed, scale=scale)
        out_console.print(
            f"wrote {info['n_events']:,} events from {info['n_accounts']:,} accounts "
            f"({info['n_ring_accounts']:,} ring accounts in {info['n_cells']} cells of "
            f"{info['n_campaigns']} operators, {info['n_benign_linked']:,} benign-linked) "
            f"to {out_dir} in {info['seconds']:.1f} s")
        return
    info = simulate_preset(out_dir, preset, seed=seed, camouflage=camouflage)
    out_console.print(
        f"wrote {info['n_events']:,} events from {info['n_accounts']:,} accounts "
        f"({info['n_ring_accounts']:,} ring accounts in {info['n_rings']} rings, "
        f"{info['n_benign_linked']:,} benign-linked) to {out_dir} in {info['seconds']:.1f} s")


@app.command()
@cli_errors
def evaluate(
    out_dir: Annotated[Path, typer.Argument(help="A graphlink detect output folder.")],
    labels: Annotated[Path, typer.Argument(help="Labels (Parquet/CSV/NDJSON): account_id, kind, ring_id and/or group_id (integer or string ids), optional campaign_id; e.g. labels.parquet from graphlink simulate.")],
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the metrics as JSON to this file.")] = None,
) -> None:
    """Score a detect output against ground-truth labels (precision, recall, F1, ARI by cell and campaign, pairwise F1)."""
    from graphlink.lab.commands import evaluate_output
    from graphlink.lab.evaluate import format_evaluation

    out_console.print(format_evaluation(evaluate_output(out_dir, labels, json_path)))


def main() -> None:  # pragma: no cover - console entry
    app()
