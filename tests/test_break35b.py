"""Break-it review of session 35 (helper brk35): template bursts' account-window null, CSV row warnings, tied_by.

1. Bursts: the chance null counts account-windows, so a template's rate is its holder-windows over the log's
   account-windows. An operator that inflates its own template's holder-windows (a few unclustered heavy accounts
   sending it all the time) and dilutes the burst window with one-off decoys sending other prompts hides the burst:
   with the null over accounts the same burst stood out at any dilution.
2. CSV: genuine multi-line prompts whose lines hold as many separators as the header (a pasted CSV table, code
   with four commas a line) are warned as rows swallowed by a stray quote; a stray quote *inside* an unquoted field
   is an error blamed on the header; warnings on standard input name the deleted spool file.
3. tied_by: a value with control or invisible (bidi, zero-width) characters but no space is written unquoted and
   unescaped, so members.csv / GEXF / case files carry a right-to-left override that reverses the rest of the cell.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from tests.burst_world import OPENERS, START, TEMPLATE, TOPICS, burst_accounts, burst_log

runner = CliRunner()


# -- 1. hiding a burst by inflating the template's holder-windows -------------------------------------------------------

def _heavy(n: int, seed: int) -> list[tuple]:
    """``n`` accounts of the operator sending the template (with a random tail) once in every window of the log's
    three days, each from its own addresses and card."""
    rng, rows = random.Random(seed), []
    for h in range(n):
        for w in range(3 * 144):
            t = START + dt.timedelta(minutes=10 * w + rng.randrange(10), seconds=rng.randrange(60))
            rows.append((f"hv{h:03d}", t, f"172.16.{h}.{rng.randrange(250)}", f"card-hv{h:03d}",
                         TEMPLATE.format(topic=rng.choice(TOPICS)) + f" {rng.randrange(10**9)} {rng.randrange(10**9)}"))
    return rows


def _decoys(n: int, seed: int) -> list[tuple]:
    """``n`` one-off accounts sending other prompts in the burst's minutes (two requests each)."""
    rng, rows = random.Random(seed), []
    at = START + dt.timedelta(days=1, hours=14, minutes=7)
    for i in range(n):
        first = at + dt.timedelta(seconds=rng.randrange(180))
        for j in range(2):
            rows.append((f"dc{i:03d}", first + dt.timedelta(seconds=40 * j + rng.randrange(20)), f"100.64.{i}.{10 + j}",
                         f"card-dc{i:03d}", f"{rng.choice(OPENERS)} {rng.randrange(10**6)} {rng.choice(TOPICS)}"))
    return rows


# brk35b finding 1 (was a strict xfail): the account-window null let an operator inflate its template's rate
# (3 heavy accounts, ~1,300 requests) and dilute the window (40 decoys). The null now gives each account its own
# chance of a window, min(1, r * a_w / pop): the heavy accounts count about 1 each, the one-off accounts stay a burst.
def test_heavy_accounts_and_decoys_of_the_operator_do_not_hide_its_one_off_burst(tmp_path):
    log = burst_log(0)
    events = pl.concat([log, pl.DataFrame(_heavy(3, 7) + _decoys(40, 9), schema=log.schema, orient="row")])
    accounts = burst_accounts(0)
    extra = [(f"hv{h:03d}", START - dt.timedelta(days=30 + h), "gmail.com") for h in range(3)]
    extra += [(f"dc{i:03d}", START + dt.timedelta(days=1, hours=13, minutes=10, seconds=7 * i), "gmail.com")
              for i in range(40)]
    accounts = pl.concat([accounts, pl.DataFrame(extra, schema=accounts.schema, orient="row")])
    events.write_parquet(tmp_path / "events.parquet")
    accounts.write_parquet(tmp_path / "accounts.parquet")
    # control: the same log without the heavy accounts still finds the 40 (decoys alone do not hide it)
    result = graphlink.detect(tmp_path / "events.parquet", tmp_path / "accounts.parquet")
    ops = result.accounts.filter(pl.col("account_id").str.starts_with("op"))
    assert ops.height == 40
    assert ops["cluster_id"].null_count() == 0 and ops["cluster_id"].n_unique() == 1


def test_decoys_alone_do_not_hide_the_burst(tmp_path):
    # (what holds: diluting the window without inflating the template's holder-windows changes nothing)
    log = burst_log(0)
    events = pl.concat([log, pl.DataFrame(_decoys(40, 9), schema=log.schema, orient="row")])
    events.write_parquet(tmp_path / "events.parquet")
    burst_accounts(0).write_parquet(tmp_path / "accounts.parquet")
    result = graphlink.detect(tmp_path / "events.parquet", tmp_path / "accounts.parquet")
    ops = result.accounts.filter(pl.col("account_id").str.starts_with("op"))
    assert ops["cluster_id"].null_count() == 0 and ops["cluster_id"].n_unique() == 1


# -- 2. CSV ----------------------------------------------------------------------------------------------------------------

_HEADER = ["account_id", "timestamp", "ip", "payment_fingerprint", "prompt"]


def _rows(n: int = 300) -> list[list[str]]:
    t0 = dt.datetime(2026, 3, 1)
    return [[f"u{i % 60}", (t0 + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"), f"10.0.{i % 60}.1",
             f"card{i % 60}", f"hello world {i}"] for i in range(n)]


def _write(path: Path, rows: list[list[str]], sep: str = ",") -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(_HEADER)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


_PROMPTS = {
    "csv table": "Convert this CSV to JSON:\nname,age,city,country,zip\nbob,31,paris,fr,75001\nann,22,rome,it,00100",
    "python": "def f(a, b, c, d, e):\n    return g(a, b, c, d, e)\nprint(f(1, 2, 3, 4, 5))",
}


@pytest.mark.parametrize("kind", sorted(_PROMPTS))
def test_a_genuine_multi_line_prompt_shaped_like_rows_is_not_warned_as_swallowed_rows(tmp_path, kind):
    path = _write(tmp_path / "events.csv", [*_rows(), ["u1", "2026-03-03T10:00:00Z", "10.0.1.1", "card1", _PROMPTS[kind]]])
    result = graphlink.detect(path)
    assert result.run["inputs"]["events"]["rows_read"] == 301
    assert not [w for w in result.warnings if "stray double quote" in w]


def test_rows_really_swallowed_by_a_stray_quote_are_still_warned(tmp_path):
    rows = _rows()
    rows[100][4] = '"stray ' + rows[100][4]
    rows[110][4] = rows[110][4] + ' end"'
    text = "\n".join([",".join(_HEADER), *(",".join(r) for r in rows)]) + "\n"
    (tmp_path / "events.csv").write_text(text, encoding="utf-8")
    result = graphlink.detect(tmp_path / "events.csv")
    assert [w for w in result.warnings if "stray double quote" in w and "row 101" in w]


# brk35b finding 3 (was a strict xfail, fixed by robust36: graphlink.stages.csv_bytes): polars' reader failed on a
# quote inside an unquoted field and the run blamed the header; the quote is now read as a literal one and counted.
def test_a_quote_inside_an_unquoted_field_is_not_blamed_on_the_header(tmp_path):
    rows = _rows()
    rows[100][4] = 'hello "world 100'  # (a 5" screen, written unquoted) ...
    text = "\n".join([",".join(_HEADER), *(",".join(r) for r in rows)]) + "\n"
    text += 'u1,2026-03-03T10:00:00Z,10.0.1.1,card1,"a quoted, genuine\ntwo-line prompt"\n'  # ... and a quoted value after it
    (tmp_path / "events.csv").write_text(text, encoding="utf-8")
    try:
        result = graphlink.detect(tmp_path / "events.csv")
    except graphlink.GraphlinkError as exc:
        assert "header" not in str(exc)
    else:
        assert result.run["inputs"]["events"]["rows_read"] >= 290


def test_warnings_on_standard_input_do_not_name_the_deleted_spool_file(tmp_path):
    rows = _rows()
    rows[10] = [*rows[10][:4], rows[10][4] + ",surplus"]
    text = "\n".join([",".join(_HEADER), *(",".join(r) for r in rows)]) + "\n"
    out = tmp_path / "out"
    done = runner.invoke(app, ["detect", "-", "--out", str(out), "-q"], input=text)
    assert done.exit_code == 0, done.output
    import json

    warnings = json.loads((out / "run.json").read_text())["warnings"]
    assert [w for w in warnings if "more fields than its header" in w]
    assert not [w for w in warnings if "graphlink-stdin" in w]


# -- 3. tied_by: control and invisible characters ----------------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [
    ("\u202eevil\u200b#31", '"⟨U+202E⟩evil⟨U+200B⟩#31"'),
    ("\x1b[31mred\x1b[0m#61", '"⟨U+001B⟩[31mred⟨U+001B⟩[0m#61"'),
    ("plain#1", "plain#1"),
    ('q"uo\\te', '"q\\"uo\\\\te"'),
])
def test_tied_by_quotes_control_and_invisible_characters_and_every_view_spells_them(value, shown):
    # quoted as a string literal; the character kept and spelled where rendered, as the value itself is (session 47:
    # tied_by read \x1b and \u202e beside ⟨U+001B⟩ in the evidence and U+FFFD on the terminal)
    from graphlink.views.member_ties import quoted_value
    from graphlink.views.safety import spell_invisible, terminal_safe, visible_text

    frame = pl.DataFrame({"kind": ["payment"], "value": [value]})
    quoted = frame.select(quoted_value(pl.col("kind"), pl.col("value")).alias("q"))["q"][0]
    assert spell_invisible(quoted) == terminal_safe(quoted) == visible_text(quoted) == " " + shown


# -- 3b. a --signal column named as a built-in kind ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["burst", "timing", "ip_net", "payment"])
def test_a_signal_column_named_as_a_built_in_kind_is_refused_not_merged_into_it(tmp_path, name):
    """``--signal burst`` read a device-id column as template bursts: a ring sharing device "dev 4" was explained as
    "132 accounts opened their prompts with one template within 10 minutes, far beyond chance: dev 4"; ``timing``
    made it an activity signature (value never shown), ``ip_net`` an IP network. Refused with the way round."""
    events = pl.DataFrame({"account_id": ["a", "b", "c"], "timestamp": ["2026-03-01T00:00:00Z"] * 3,
                           "ip": ["10.0.0.1", "10.0.0.2", "10.0.0.3"], name: ["dev 1"] * 3})
    events.write_csv(tmp_path / "events.csv")
    done = runner.invoke(app, ["detect", str(tmp_path / "events.csv"), "--signal", name, "--out", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 2
    assert f"--map {name}_id={name}" in done.output
    done = runner.invoke(app, ["detect", str(tmp_path / "events.csv"), "--signal", f"{name}_id", "--map",
                               f"{name}_id={name}", "--out", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 0, done.output
