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
err = Console(stderr=True)


@app.callback()
def main_callback() -> None:
    """Find coordinated account rings (distillation campaigns) in API logs.

    Typical run: graphlink detect events.parquet --accounts accounts.parquet --out out/
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
    from graphlink.pipeline import run_detect, write_outputs

    config = build_config(config_file, maps, signals, fmt, seed, resolution, asn_table,
                          ipv4_prefix, ipv6_prefix, threshold)
    if quiet or not sys.stderr.isatty():
        progress = None if quiet else (lambda stage: err.print(f"[dim]… {stage}[/dim]"))
        result = run_detect(events, accounts, config, progress=progress, previous=previous)
    else:
        with err.status("starting") as status:
            result = run_detect(events, accounts, config, progress=lambda s: status.update(f"{s} …"),
                                previous=previous)
    write_outputs(result, out_dir)
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


def main() -> None:  # pragma: no cover - console entry
    app()
