"""Real-log robustness, session 36 (helper robust36).

1. A double quote inside an unquoted CSV value (``hello "world``, ``a 5" screen``) is read as a literal quote and its
   rows counted (polars alone failed the whole file and blamed the header); a quote that opens a value no later one
   closes is an error naming its row.
3. Every seed option takes 0 to 2**63 - 1 (``detect --seed -1`` was taken, ``[signals] seed = -1`` a traceback);
   NDJSON on standard input is sniffed as Parquet is, and input that could be either asks for --format.
4. Rows with fewer fields than the header are still filled with empty values, and now counted in a warning naming
   the first few (surplus fields were; both are counted from the bytes, graphlink.stages.csv_bytes).
5. Inputs not tried before: an NDJSON record repeating a key (one value was kept silently) is an error like a
   repeated CSV header name; non-UTF-8 bytes in an NDJSON prompt are replaced as in CSV (the run stopped, saying
   the line was no JSON object); an accounts file's rows without an id are warned (counted in run.json only), and
   an accounts file none of whose rows has one is an error, as for the events.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.stages.ingest import scan_events

runner = CliRunner()

_HEADER = ["account_id", "timestamp", "ip", "payment_fingerprint", "prompt"]


def _rows(n: int = 300) -> list[list[str]]:
    t0 = dt.datetime(2026, 3, 1)
    return [[f"u{i % 60}", (t0 + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"), f"10.0.{i % 60}.1",
             f"card{i % 60}", f"hello world {i}"] for i in range(n)]


def _raw(path: Path, rows: list[list[str]], tail: str = "", sep: str = ",", newline: str = "\n",
         bom: bool = False) -> Path:
    """Rows joined as written (no quoting), so a quote stays where the test puts it."""
    text = newline.join([sep.join(_HEADER), *(sep.join(r) for r in rows)]) + newline + tail
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _detect(path: Path, *args: str) -> tuple[int, str, dict | None]:
    out = path.parent / "out"
    done = runner.invoke(app, ["detect", str(path), "--out", str(out), "-q", *args])
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else None
    return done.exit_code, done.output, run


# -- 1. quotes inside unquoted values ----------------------------------------------------------------------------------

def test_quotes_inside_unquoted_values_are_read_literally_and_their_rows_counted(tmp_path):
    rows = _rows()
    rows[100][4] = 'hello "world 100'
    rows[150][4] = 'a 5" screen'
    rows[200][4] = 'say "hi" twice'  # balanced: polars read it before; counted all the same
    tail = 'u1,2026-03-03T10:00:00Z,10.0.1.1,card1,"a quoted, genuine\ntwo-line ""prompt"""\n'
    path = _raw(tmp_path / "events.csv", rows, tail)
    code, output, run = _detect(path)
    assert code == 0, output
    assert run["inputs"]["events"]["rows_read"] == 301
    [warning] = [w for w in run["warnings"] if "double quote inside a value" in w]
    assert "3 rows" in warning and "rows 101, 151, 201" in warning
    prompts = set(scan_events(path).collect()["prompt"].to_list())
    assert {'hello "world 100', 'a 5" screen', 'say "hi" twice', 'a quoted, genuine\ntwo-line "prompt"'} <= prompts


def test_a_quote_inside_a_value_of_a_tsv_file_with_bom_and_crlf_is_read(tmp_path):
    rows = _rows()
    rows[7][4] = 'hello "world'
    path = _raw(tmp_path / "events.tsv", rows, sep="\t", newline="\r\n", bom=True)
    code, output, run = _detect(path)
    assert code == 0, output
    assert run["inputs"]["events"]["rows_read"] == 300
    assert [w for w in run["warnings"] if "double quote inside a value (row 8)" in w]


@pytest.mark.parametrize("bad, row", [
    ('ab",cd', 51),          # a quote closing a value that never opened, before a genuine quoted value
    ('"never closed', 201),  # a quote opening a value at the end of the file
])
def test_a_quote_no_later_quote_closes_is_an_error_naming_its_row(tmp_path, bad, row):
    rows = _rows()
    rows[row - 1][4] = bad
    tail = 'u1,2026-03-03T10:00:00Z,10.0.1.1,card1,"a quoted, genuine\ntwo-line prompt"\n' if row < 100 else ""
    rows = rows[:row] if row > 100 else rows
    path = _raw(tmp_path / "events.csv", rows, tail)
    code, output, run = _detect(path)
    assert code == 2 and run is None
    assert output.strip().splitlines() == [output.strip()]
    assert f"events.csv: row {row}: a double quote opens a value that no later quote closes" in output
    assert "header" not in output and "Traceback" not in output


# -- 4. rows with too few fields ---------------------------------------------------------------------------------------

def test_rows_with_too_few_fields_are_counted_and_warned_and_still_filled(tmp_path):
    rows = _rows()
    for i in (4, 8, 9, 20, 30, 31):
        rows[i] = rows[i][:3]  # no payment_fingerprint, no prompt
    # a blank line (a row without an account id) and a row whose last field is empty: neither is counted
    tail = "\n" + "u1,2026-03-03T10:00:00Z,10.0.1.1,card1,\n"
    path = _raw(tmp_path / "events.csv", rows, tail)
    code, output, run = _detect(path)
    assert code == 0, output
    assert run["inputs"]["events"]["rows_read"] == 302
    said = [w for w in run["warnings"] if "fewer fields than its header" in w]
    assert said == [f"6 rows of {path} had fewer fields than its header (the first: rows 5, 9, 10, 21, 31); the "
                    "missing fields were read as empty"], run["warnings"]
    short = scan_events(path).collect().filter(pl.col("payment_fingerprint").is_null())
    assert short.height == 6 and short["prompt"].null_count() == 6


def test_one_short_row_of_an_accounts_file_is_named(tmp_path):
    rows = _rows(60)
    events = _raw(tmp_path / "events.csv", rows)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,created_at,email_domain\n" + "\n".join(
        f"u{i},2026-02-01T00:00:00Z,example.com" if i != 7 else f"u{i}" for i in range(60)) + "\n")
    code, output, run = _detect(events, "--accounts", str(accounts))
    assert code == 0, output
    assert [w for w in run["warnings"] if f"1 row of {accounts} had fewer fields than its header (row 8)" in w]


# -- 3. seeds, NDJSON on standard input --------------------------------------------------------------------------------

def test_a_negative_seed_is_refused_by_detect_as_by_simulate(tmp_path):
    path = _raw(tmp_path / "events.csv", _rows(30))
    for args in (["detect", str(path), "--out", str(tmp_path / "out")], ["simulate", str(tmp_path / "world")]):
        done = runner.invoke(app, [*args, "--seed", "-1", "-q"])
        assert done.exit_code == 2, args
        assert "--seed" in done.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "world").exists()


@pytest.mark.parametrize("section", ["signals", "communities"])
def test_a_negative_seed_in_the_config_file_is_a_one_line_error(tmp_path, section):
    path = _raw(tmp_path / "events.csv", _rows(30))
    (tmp_path / "g.toml").write_text(f"[{section}]\nseed = -1\n")
    done = runner.invoke(app, ["detect", str(path), "--config", str(tmp_path / "g.toml"), "--out", str(tmp_path / "o"),
                               "-q"])
    assert done.exit_code == 2
    assert "seed must be an integer from 0 to 2**63 - 1, got -1" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)


def test_ndjson_on_standard_input_is_sniffed(tmp_path):
    frame = pl.DataFrame([dict(zip(_HEADER, r)) for r in _rows(60)])
    text = "\ufeff" + "\n".join(json.dumps(r) for r in frame.to_dicts()) + "\n"
    done = runner.invoke(app, ["detect", "-", "--out", str(tmp_path / "out"), "-q"], input=text)
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "out" / "run.json").read_text())["inputs"]["events"]["rows_read"] == 60


def test_a_json_array_on_standard_input_asks_for_format(tmp_path):
    text = json.dumps([dict(zip(_HEADER, r)) for r in _rows(5)])
    done = runner.invoke(app, ["detect", "-", "--out", str(tmp_path / "out"), "-q"], input=text)
    assert done.exit_code == 2
    assert done.output.startswith("error: <stdin>: cannot tell whether it is NDJSON or CSV")
    assert "--format ndjson" in done.output and not (tmp_path / "out").exists()


# -- 5. inputs not tried before ----------------------------------------------------------------------------------------

def _ndjson(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(json.dumps(dict(zip(_HEADER, r))) for r in rows) + "\n", encoding="utf-8")
    return path


def test_an_ndjson_record_repeating_a_key_is_an_error_naming_it(tmp_path):
    path = tmp_path / "events.ndjson"
    records = (json.dumps(dict(zip(_HEADER, r)))[:-1] + ', "ip": "192.0.2.1"}' for r in _rows(40))
    path.write_text("\n".join(records) + "\n")
    code, output, run = _detect(path)
    assert code == 2 and run is None
    assert output.strip() == f"error: {path}: duplicate key(s) in line 1: ip; a record must name each column once"


def test_non_utf8_bytes_in_an_ndjson_prompt_are_replaced_as_in_csv(tmp_path):
    path = _ndjson(tmp_path / "events.ndjson", _rows())
    path.write_bytes(path.read_bytes().replace(b"hello world 5\"", b"hello \xff w\xc3orld 5\""))
    code, output, run = _detect(path)
    assert code == 0, output
    assert run["inputs"]["events"]["rows_read"] == 300
    # each byte that is not UTF-8 read as U+FFFD and its \xNN, as in CSV (session 54: lossless, so never two as one)
    assert "hello \ufffd\\xff w\ufffd\\xc3orld 5" in scan_events(path).collect()["prompt"].to_list()


def test_accounts_file_rows_without_an_id_are_warned_and_a_file_with_none_is_an_error(tmp_path):
    events = _raw(tmp_path / "events.csv", _rows(60))
    accounts = tmp_path / "accounts.parquet"
    ids = [None if i % 10 == 3 else f"u{i}" for i in range(60)]
    pl.DataFrame({"account_id": ids, "created_at": ["2026-02-01T00:00:00Z"] * 60}).write_parquet(accounts)
    code, output, run = _detect(events, "--accounts", str(accounts))
    assert code == 0, output
    assert f"6 rows have no account_id in {accounts} (the first: row 4); ignored" in run["warnings"]
    pl.DataFrame({"account_id": [None] * 60, "created_at": ["2026-02-01T00:00:00Z"] * 60},
                 schema={"account_id": pl.String, "created_at": pl.String}).write_parquet(accounts)
    shutil.rmtree(tmp_path / "out")
    code, output, run = _detect(events, "--accounts", str(accounts))
    assert code == 2 and run is None
    assert "column account_id: every row (60) has an empty account_id" in output
