"""Session 63, helper readme63: a new user's first hour from the README alone.

Each test is one thing that went wrong for that user, with a small hand-built input and the right answer:

* a log exported compressed (``events.csv.gz``, or gzip bytes named ``.csv``) failed as "a double quote opens a
  value that no later quote closes" on row 1, or as "unknown file format"; it is one line saying what the file is and
  how to unpack it (``graphlink.stages.reading.check_compressed``);
* a template's example prompt was spelled out twice in the notebook (``⟨U+27E8⟩U+001B⟩``: ``dataclasses.replace``
  ran ``Template.__post_init__`` on the spelled text again) and three times in the report (its Jinja ``finalize``
  spells every printed value once more): it reads ``⟨U+001B⟩`` everywhere;
* a ``.json`` export (one JSON array of records) was "line 1 is not a JSON object"; it is named as an array, with
  the conversion (``jq -c '.[]'``);
* ``evaluate``'s ``campaigns`` row repeated ``ari_campaign``'s whole note; it points to it.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import re
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.stages.reading import check_compressed
from graphlink.views.templates import Template

runner = CliRunner()


def _log(tmp_path):
    """A small CSV log: 8 accounts on one card and two addresses, a shared template holding an escape and a bell
    (a terminal title sequence), acting in the same minutes; 12 ordinary accounts of their own."""
    t0 = datetime(2025, 3, 3, 10, tzinfo=timezone.utc)
    rows = [{"account_id": f"r{i}", "timestamp": (t0 + timedelta(minutes=10 * k, seconds=i)).isoformat(),
             "ip": f"10.0.{k % 2}.{i % 2}", "payment_fingerprint": "card1",
             "prompt": f"\x1b]0;pwn\x07 explain step by step the answer to question {k} please now {i}"}
            for i in range(8) for k in range(6)]
    rows += [{"account_id": f"u{i}", "timestamp": (t0 + timedelta(hours=i)).isoformat(), "ip": f"20.0.{i}.1",
              "payment_fingerprint": f"c{i}", "prompt": f"hello there {i}"} for i in range(12)]
    path = tmp_path / "events.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def _one_error(result) -> str:
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("name, pack, kind", [
    ("events.csv.gz", gzip.compress, "gzip-compressed"),  # by its extension
    ("events.csv", gzip.compress, "gzip-compressed"),     # by its bytes: a .gz renamed, or a server's Content-Encoding
    ("events.csv", bz2.compress, "bzip2-compressed"),
    ("events.xlsx", lambda data: b"PK\x03\x04" + data, "spreadsheet workbook"),
])
def test_a_compressed_log_is_one_line_saying_so(tmp_path, name, pack, kind):
    packed = tmp_path / name
    packed.write_bytes(pack(_log(tmp_path).read_bytes()))
    out = tmp_path / "out"
    line = _one_error(runner.invoke(app, ["detect", str(packed), "--out", str(out)]))
    assert kind in line and str(packed) in line
    assert "quote" not in line  # was: "a double quote opens a value that no later quote closes"
    assert not out.exists()


def test_a_compressed_accounts_file_and_a_format_override_say_so_too(tmp_path):
    events = _log(tmp_path)
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(gzip.compress(b"account_id,created_at\nr1,2025-01-01T00:00:00Z\n"))
    line = _one_error(runner.invoke(app, ["detect", str(events), "--accounts", str(accounts), "--out",
                                          str(tmp_path / "out")]))
    assert "accounts.csv" in line and "gzip-compressed" in line and "gzip -dk" in line
    packed = tmp_path / "log.gz"
    packed.write_bytes(gzip.compress(events.read_bytes()))
    line = _one_error(runner.invoke(app, ["detect", str(packed), "--format", "csv", "--out", str(tmp_path / "o2")]))
    assert "gzip-compressed" in line


def test_a_text_file_opening_like_a_signature_is_read(tmp_path):
    # "BZh" alone is no bzip2 file (a header may open so): the block magic must follow.
    path = tmp_path / "events.csv"
    path.write_text("BZh9,account_id,ip\nx,a,1.2.3.4\n")
    check_compressed(path)  # no error
    path.write_bytes(bz2.compress(b"account_id,ip\na,1.2.3.4\n"))
    with pytest.raises(Exception, match="bzip2-compressed"):
        check_compressed(path)


def test_a_templates_example_is_spelled_once_after_replace():
    made = Template([("say ", False), ("…", True)], example="x\x1by")
    again = dataclasses.replace(made, sampled=3)  # what cluster_templates does to every template it returns
    assert made.example == again.example == "x⟨U+001B⟩y"
    assert again.raw_example == "x\x1by"


def test_the_reports_example_prompt_is_spelled_once(tmp_path):
    events, out = _log(tmp_path), tmp_path / "out"
    assert runner.invoke(app, ["detect", str(events), "--out", str(out), "-q"]).exit_code == 0
    assert runner.invoke(app, ["report", str(out), "-q", "--no-plots"]).exit_code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    examples = re.findall(r'<blockquote class="example">(.*?)</blockquote>', html)
    assert examples, "no example prompt in the report"
    for example in examples:
        assert example.startswith("⟨U+001B⟩]0;pwn⟨U+0007⟩ explain step by step"), example
        assert "U+27E8" not in example and "\x1b" not in example


def test_a_json_array_file_is_named_as_one_with_the_conversion(tmp_path):
    # A .json export is one array of records: it was "line 1 is not a JSON object (NDJSON needs ...)".
    path = tmp_path / "events.json"
    path.write_text('[{"account_id": "a", "ip": "1.2.3.4"},\n {"account_id": "b", "ip": "1.2.3.4"}]\n')
    line = _one_error(runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")]))
    assert "one JSON array, not one JSON object per line" in line and "jq -c" in line
    path.write_text('{"account_id": "a", "ip": "1.2.3.4"}\n[1]\n')  # a stray array line further down: named by line
    line = _one_error(runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")]))
    assert "line 2 is not a JSON object" in line and "JSON array" not in line


def test_evaluate_says_why_there_is_no_campaign_ari_once():
    from graphlink.lab.evaluation_text import evaluation_rows

    rows = dict(evaluation_rows({"precision": 1.0, "ari_campaign": None, "campaigns": None, "per_ring": []}))
    assert rows["ari_campaign"].startswith("- (the labels give no ring account a campaign_id")
    assert rows["campaigns"] == "- (as ari_campaign)"  # was the whole note again
    assert evaluation_rows({"campaigns": None})[0][1].startswith("- (the labels give")  # alone: the note itself
