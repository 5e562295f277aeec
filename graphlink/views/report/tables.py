"""Report tables and figures as plain values for the templates: cell texts computed with polars expressions."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.views import plots
from graphlink.views.words import plural, shell_path

__all__ = ["Column", "Table", "build_table", "figure", "fmt_float", "fmt_int", "fmt_list", "fmt_number", "fmt_time",
           "number_text", "value_text", "history_text", "unflagged_note"]


@dataclass(frozen=True)
class Column:
    """One rendered table column.

    ``text`` is an expression giving the cell's plain text (escaped when
    rendered); ``sort`` an optional numeric sort key; ``link`` an optional
    expression giving an in-page anchor to wrap the text in (null: no link).
    """

    header: str
    text: pl.Expr
    numeric: bool = False
    sort: pl.Expr | None = None
    link: pl.Expr | None = None
    title: str = ""
    cell_title: pl.Expr | None = None
    css: str = ""


# -- cell formatting (expressions) ---------------------------------------------


def fmt_int(expr: pl.Expr) -> pl.Expr:
    """Integer text.

    Examples
    --------
    >>> pl.select(fmt_int(pl.lit(1234))).item()
    '1234'
    """
    return expr.cast(pl.Int64).cast(pl.String)


def fmt_float(expr: pl.Expr, digits: int = 3) -> pl.Expr:
    """Fixed-point text with ``digits`` decimals.

    Examples
    --------
    >>> pl.DataFrame({"x": [0.5, -2.25, 3.0]}).select(fmt_float(pl.col("x"), 2).alias("x"))["x"].to_list()
    ['0.50', '-2.25', '3.00']
    """
    scale = 10**digits
    scaled = (expr.cast(pl.Float64).abs() * scale).round(0).cast(pl.Int64, strict=False)
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    frac = (scaled % scale).cast(pl.String).str.zfill(digits)
    return pl.concat_str([sign, (scaled // scale).cast(pl.String), pl.lit("."), frac]) if digits else \
        pl.concat_str([sign, scaled.cast(pl.String)])


def fmt_number(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Integers as integers, floats with 3 decimals."""
    return fmt_int(expr) if dtype.is_integer() else fmt_float(expr, 3)


def fmt_time(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD HH:MM`` (UTC)."""
    return expr.dt.strftime("%Y-%m-%d %H:%M")


def fmt_list(expr: pl.Expr) -> pl.Expr:
    """Comma-separated list items."""
    return expr.list.join(", ")


# -- building blocks -------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table ready for the ``table`` template macro: plain values, escaped when rendered."""

    id: str
    classes: str
    columns: list[dict[str, str]]
    rows: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def height(self) -> int:
        return len(self.rows)


def build_table(frame: pl.DataFrame, columns: list[Column], *, table_id: str = "", sortable: bool = True,
                css_class: str = "") -> Table:
    """Cell texts, sort keys, links and titles of ``frame`` computed with polars, for the template.

    Examples
    --------
    >>> df = pl.DataFrame({"v": ["<b>"], "n": [2]})
    >>> t = build_table(df, [Column("value", pl.col("v")), Column("n", fmt_int(pl.col("n")), numeric=True,
    ...                                                               sort=pl.col("n"))])
    >>> t.rows[0][0]["text"], t.rows[0][1]["sort"]
    ('<b>', '2.0')
    """
    heads = []
    exprs = []
    for i, col in enumerate(columns):
        kind = "num" if col.numeric else "text"
        heads.append({"header": col.header, "kind": kind, "title": col.title,
                      "cell_class": " ".join(c for c in (kind, col.css) if c)})
        exprs.append(col.text.cast(pl.String).fill_null("").alias(f"t{i}"))
        exprs.append((col.sort.cast(pl.Float64).cast(pl.String) if col.sort is not None
                      else pl.lit(None, pl.String)).alias(f"s{i}"))
        exprs.append((col.link.cast(pl.String) if col.link is not None else pl.lit(None, pl.String)).alias(f"l{i}"))
        exprs.append((col.cell_title.cast(pl.String) if col.cell_title is not None
                      else pl.lit(None, pl.String)).alias(f"h{i}"))
    rows: list[list[dict[str, Any]]] = []
    if not frame.is_empty():
        values = frame.select(exprs).rows()
        n = len(columns)
        rows = [[{"text": r[4 * i], "sort": r[4 * i + 1], "link": r[4 * i + 2], "title": r[4 * i + 3]}
                 for i in range(n)] for r in values]
    classes = " ".join(c for c in ("sortable" if sortable else "", css_class) if c)
    return Table(id=table_id, classes=classes, columns=heads, rows=rows)


def figure(plot: plots.Plot, alt: str) -> dict[str, Any]:
    """An inline figure (PNG as base64) for the ``figure`` template macro."""
    return {"data": base64.b64encode(plot.png).decode("ascii"), "width": plot.width, "height": plot.height,
            "alt": alt, "caption": plot.caption, "network": False}


def number_text(value: Any) -> str:
    """Integers with thousands separators, anything else as ``str``."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def value_text(value: Any) -> str:
    """Floats with 3 decimals, a missing value (a component the input has no data for) as
    ``n/a`` as ``show`` prints it, else :func:`number_text`.

    Examples
    --------
    >>> value_text(0.12345), value_text(None), value_text(1200)
    ('0.123', 'n/a', '1,200')
    """
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return number_text(value)


def history_text(row: dict[str, Any]) -> str:
    """`` · found in 3 runs since 2025-01-06 · 4 new members, 2 gone quiet`` (empty for folders without history).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> history_text({"since": datetime(2025, 1, 6, tzinfo=timezone.utc), "runs": 3, "new_members": 4,
    ...               "quiet_members": 2})
    ' · found in 3 runs since 2025-01-06 · 4 new members, 2 gone quiet since the previous run'
    >>> history_text({"since": datetime(2025, 1, 6, tzinfo=timezone.utc), "runs": 2, "new_members": 0,
    ...               "quiet_members": None})  # a rerun on a log that ends where the previous run's did
    ' · found in 2 runs since 2025-01-06 · 0 new members since the previous run'
    >>> history_text({"runs": 1, "since": None, "new_members": None, "quiet_members": None})
    ' · first found in this run'
    """
    runs = row.get("runs")
    if runs is None:
        return ""
    since = row.get("since")
    text = (f" · found in {int(runs):,} runs" if runs > 1 else " · first found in this run") + (
        f" since {since:%Y-%m-%d}" if since is not None and runs > 1 else "")
    if row.get("new_members") is not None and runs > 1:
        quiet = row.get("quiet_members")
        text += (f" · {plural(int(row['new_members']), 'new member')}"
                 + (f", {int(quiet):,} gone quiet" if quiet is not None else "") + " since the previous run")
    return text


def left_out_note(clusters: pl.DataFrame, sections: set[int], shown: int, folder: str | Path | None,
                  most: int = 30) -> str:
    """Which flagged clusters have no section (``--max-sections``; highest scores first) and how to read each one
    (commands naming ``folder``, the output folder the report was written from)."""
    left = (clusters.filter(pl.col("flagged") & ~pl.col("cluster_id").is_in(list(sections)))
            .sort(["score", "size", "cluster_id"], descending=[True, True, False], nulls_last=True)["cluster_id"])
    ids = ", ".join(str(c) for c in left.head(most)) + (f" and {left.len() - most:,} more" if left.len() > most else "")
    where = shell_path(folder)
    first = f" (e.g. graphlink show {where} {left[0]})" if left.len() else ""
    return (f"Detailed sections for the {shown:,} highest-scoring of {shown + left.len():,} flagged clusters; "
            f"left out: {plural(left.len(), 'flagged cluster')} ({ids}), listed in the cluster table. Read one with "
            f"graphlink show {where} ID{first}, or give them all a section with "
            f"graphlink report {where} --max-sections N.")


def unflagged_note(clusters: pl.DataFrame, unflagged: list[int], run: dict[str, Any]) -> str:
    """The report's note over the sections of unflagged clusters (``unflagged``: their ids): below the flag
    threshold, or scoring it with fewer than ``min_flag_size`` accounts counted (each such section says so beside
    its score: :func:`graphlink.views.explain.score_note`)."""
    from graphlink.views.explain import flag_settings

    threshold, min_size, _ = flag_settings(run)
    high = int(clusters.filter(pl.col("cluster_id").is_in(pl.Series(unflagged, dtype=pl.Int64).implode())
                               & (pl.col("score") >= threshold)).height)
    n = len(unflagged)
    if not high:
        why = f"linked accounts below the flag threshold {threshold:g}"
    elif high == n:
        why = (f"linked accounts scoring the flag threshold {threshold:g} or more, but with fewer than min_flag_size "
               f"{min_size} accounts counted (their own, with their campaign's) -- each says so beside its score")
    else:
        why = (f"linked accounts below the flag threshold {threshold:g}, except {high:,} scoring it or more with fewer "
               f"than min_flag_size {min_size} accounts counted (their own, with their campaign's) -- each of those "
               "says so beside its score")
    return (f"The {plural(n, 'highest-scoring cluster')} that {'are' if n != 1 else 'is'} not flagged "
            f"{'have a section' if n != 1 else 'has a section'} too, marked \"not flagged\": {why}; worth a look.")
