"""Session 35: input robustness items left open -- CSV rows read without a word, the notebook loader given
nothing, negative counts, Parquet on standard input, NaN weights in a hand-edited folder, and account ids that
differ only by Unicode normalisation.

World: :func:`tests._worlds.planted_world` (30 people, two rings).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.pipeline import run_detect
from tests._worlds import planted_world

runner = CliRunner()


@pytest.fixture(scope="module")
def events():
    return planted_world(0, n_benign=30)[0]


def _csv_lines(events: pl.DataFrame) -> list[str]:
    return events.write_csv().splitlines()


def _stray_quote(lines: list[str]) -> list[str]:
    """A quote opening data row 100's prompt and another closing row 110's: 9 whole rows between them."""
    lines = list(lines)
    for i, end in ((101, False), (111, True)):
        fields = lines[i].split(",")
        fields[4] = fields[4] + ' end"' if end else '"stray ' + fields[4]
        lines[i] = ",".join(fields)
    return lines


# -- 1. rows swallowed by a stray quote ------------------------------------------------------------------------------

def test_rows_swallowed_by_a_stray_quote_are_counted_with_the_row_where_they_start(events, tmp_path):
    """A stray quote made rows 101-110 one multi-line prompt: 10 rows gone from rows_read, no word. Genuine
    multi-line prompts in the same file (one with a comma in a line) are not counted."""
    lines = _stray_quote(_csv_lines(events))
    for i in (5, 20, 300):  # genuine multi-line prompts, quoted
        fields = lines[i].split(",")
        fields[4] = f'"{fields[4]}\nsecond line, with a comma\nthird line"'
        lines[i] = ",".join(fields)
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    run = run_detect(path).run
    assert run["inputs"]["events"]["rows_read"] == events.height - 10
    said = [w for w in run["warnings"] if "quote" in w]
    assert len(said) == 1 and "9 lines" in said[0] and "column prompt, row 101" in said[0], run["warnings"]
    assert "stray ring" not in said[0] and "user00" not in said[0]  # cell values are never quoted


def test_a_stray_quote_is_warned_about_on_the_command_line(events, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("\n".join(_stray_quote(_csv_lines(events))) + "\n")
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0 and "9 lines look like rows of the file" in result.output, result.output


# -- 2. rows with more fields than the header -----------------------------------------------------------------------

def test_rows_with_surplus_fields_are_counted_and_warned(events, tmp_path):
    """``c,x,10.0.0.1,surplus`` under a three-name header: the surplus fields were dropped with no count."""
    lines = _csv_lines(events)
    for i in (3, 40, 41):
        lines[i] += ",surplus,more"
    lines[50] += ","  # an empty extra field loses nothing: not counted
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    run = run_detect(path).run
    assert run["inputs"]["events"]["rows_read"] == events.height
    said = [w for w in run["warnings"] if "more fields than its header" in w]
    assert said == [f"3 rows of {path} had more fields than its header (the first: rows 3, 40, 41); their extra "
                    "fields were ignored"], run["warnings"]


def test_an_accounts_file_row_with_surplus_fields_is_warned(events, tmp_path):
    ids = events["account_id"].unique().sort()
    path = tmp_path / "accounts.csv"
    rows = [f"{a},example.com" for a in ids]
    rows[0] += ",oops"
    path.write_text("account_id,email_domain\n" + "\n".join(rows) + "\n")
    run = run_detect(events, accounts=path).run
    assert [w for w in run["warnings"] if "1 row of" in w and "more fields than its header" in w], run["warnings"]


def test_surplus_fields_of_a_semicolon_file_are_counted_by_its_separator(events, tmp_path):
    path = tmp_path / "events.csv"
    text = events.select("account_id", "ip", "payment_fingerprint").write_csv(separator=";").splitlines()
    text[2] += ";x"
    path.write_text("\n".join(text) + "\n")
    assert [w for w in run_detect(path).run["warnings"] if "1 row of" in w and "(row 2)" in w]


# -- 3. the notebook entry points given nothing, a number or a missing path -------------------------------------------

@pytest.fixture(scope="module")
def folder(events, tmp_path_factory):
    import graphlink

    return graphlink.detect(events).save(tmp_path_factory.mktemp("brk35") / "out")


@pytest.mark.parametrize("value", [None, 3])
@pytest.mark.parametrize("call", ["load", "expand", "match"])
def test_an_output_folder_that_is_no_path_is_a_graphlink_error(events, call, value):
    """``graphlink.load(None)`` raised ``TypeError: expected str, bytes or os.PathLike object, not NoneType``;
    expand and match the same."""
    import graphlink

    args = {"load": (value,), "expand": (value, ["ring0_001"]), "match": (value, events)}[call]
    with pytest.raises(graphlink.GraphlinkError, match="an output folder is a path .*not " + type(value).__name__):
        getattr(graphlink, call)(*args)


def test_saving_to_no_path_is_a_graphlink_error(folder):
    import graphlink

    with pytest.raises(graphlink.GraphlinkError, match="an output folder is a path .*not NoneType"):
        graphlink.load(folder).save(None)


def test_expand_with_no_seeds_or_one_bare_integer_seed(folder):
    """``expand(out, None)`` raised ``TypeError: 'NoneType' object is not iterable``; one integer seed the same."""
    import graphlink

    with pytest.raises(graphlink.GraphlinkError, match="seeds are account ids .*not NoneType"):
        graphlink.expand(folder, None)
    with pytest.raises(graphlink.GraphlinkError, match="unknown seed account '3'"):
        graphlink.expand(folder, 3)
    assert graphlink.expand(folder, "ring0_001").equals(graphlink.expand(folder, ["ring0_001"]))


def test_build_config_given_a_number_is_a_config_error():
    """``build_config(3)`` raised ``AttributeError: 'int' object has no attribute 'signals'``, ``toml=3`` a
    TypeError."""
    import graphlink

    with pytest.raises(graphlink.ConfigError, match="base: expected a PipelineConfig, got int"):
        graphlink.build_config(3)
    with pytest.raises(graphlink.ConfigError, match="toml: expected the path of a graphlink.toml, got int"):
        graphlink.build_config(toml=3)



# -- 4. negative counts ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["detect", "EVENTS", "--out", "OUT", "--top", "-1"],
                                  ["simulate", "OUT", "--seed", "-1"]])
def test_a_negative_count_or_seed_is_a_usage_error(events, tmp_path, args):
    """``detect --top -1`` ran and printed every cluster but the last (``head(-1)``); ``simulate --seed -1``
    ended in numpy's ``ValueError`` traceback (exit 1)."""
    path = tmp_path / "events.parquet"
    events.write_parquet(path)
    args = [str(path) if a == "EVENTS" else str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    assert "greater than or equal to 0" in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("n", [-1, 1.5, None])
def test_result_top_takes_a_whole_number_of_clusters(folder, n):
    """``Result.top(-1)`` returned every cluster but the last."""
    import graphlink

    with pytest.raises(graphlink.GraphlinkError, match="top: the number of clusters must be a whole number"):
        graphlink.load(folder).top(n)


# -- 5. Parquet on standard input ------------------------------------------------------------------------------------

def test_parquet_piped_on_standard_input_is_read_without_format(events, tmp_path):
    """``cat events.parquet | graphlink detect - --out d`` read the bytes as CSV: ``error: <stdin>: cannot read
    the header: CSV malformed: expected 62 rows, actual 83 rows``. Parquet's ``PAR1`` magic is sniffed now."""
    import io
    import json

    buffer = io.BytesIO()
    events.write_parquet(buffer)
    out = tmp_path / "out"
    result = runner.invoke(app, ["detect", "-", "--out", str(out), "-q"], input=buffer.getvalue())
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["events"]["path"] == "<stdin>" and run["inputs"]["events"]["rows_read"] == events.height
    with_format = runner.invoke(app, ["detect", "-", "--out", str(tmp_path / "o2"), "--format", "parquet", "-q"],
                                input=buffer.getvalue())
    assert with_format.exit_code == 0
    assert pl.read_parquet(out / "accounts.parquet").equals(pl.read_parquet(tmp_path / "o2" / "accounts.parquet"))


# -- 6. a hand-edited folder's NaN weights -------------------------------------------------------------------------

def _nan_cards(folder, tmp_path):
    import shutil

    edited = Path(shutil.copytree(folder, tmp_path / "edited"))
    linking = pl.read_parquet(edited / "linking.parquet")
    nan = pl.when(pl.col("kind") == "payment").then(float("nan")).otherwise(pl.col("weight")).alias("weight")
    linking.with_columns(nan).write_parquet(edited / "linking.parquet")
    return edited


def test_nan_weights_of_an_edited_folder_are_missing_not_a_nan_tie_strength(folder, tmp_path):
    """linking.parquet's payment weights set to NaN by hand: every ring member's tie_strength was NaN, and NaN (which
    compares above 0) still named the card in tied_by."""
    import graphlink

    edited = _nan_cards(folder, tmp_path)
    loaded = graphlink.load(edited)
    ring = loaded.accounts.filter(pl.col("account_id") == "ring0_001")["cluster_id"][0]
    ties = loaded.cluster(ring).member_ties("events")
    assert not ties["tie_strength"].is_nan().any() and not ties["tied_by"].str.contains("payment card").any()
    before = graphlink.load(folder).cluster(ring).member_ties("events")
    assert before["tied_by"].str.contains("payment card").all()  # the card did tie them in the folder as written


def test_show_json_of_an_edited_folder_with_nan_weights_is_valid_json(folder, tmp_path):
    import json

    import graphlink

    edited = _nan_cards(folder, tmp_path)
    ring = graphlink.load(edited).accounts.filter(pl.col("account_id") == "ring0_001")["cluster_id"][0]
    result = runner.invoke(app, ["show", str(edited), str(ring), "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in show --json"))


# -- 7. account ids that differ only by Unicode normalisation -------------------------------------------------------

def test_accounts_file_ids_matching_only_after_nfc_are_not_joined_but_warned(events, tmp_path):
    """Events spell ``josé_1`` precomposed (NFC), the accounts file with ``e`` and a combining accent (NFD, as macOS
    writes file names): the two never joined, and the only word was "N accounts appear only in the accounts file"."""
    import unicodedata

    named = {a: f"jos\u00e9_{i}" for i, a in enumerate(events["account_id"].unique().sort()[:5])}
    events = events.with_columns(pl.col("account_id").replace(named))
    ids = events["account_id"].unique().sort()
    path = tmp_path / "accounts.csv"
    pl.DataFrame({"account_id": [unicodedata.normalize("NFD", a) for a in ids],
                  "email_domain": ["example.com"] * len(ids)}).write_csv(path)
    result = run_detect(events, accounts=path)
    assert result.index.height == len(ids) + 5  # not merged: five ids of each spelling
    said = [w for w in result.run["warnings"] if "Unicode normalisation" in w]
    assert said == [f"5 account ids of {path} match an events id only after Unicode normalisation (NFC); they were "
                    "not joined (ids are compared as written): write both files' ids in one form"], result.run["warnings"]
    assert "jos" not in said[0]  # cell values are never quoted


def test_match_warns_of_a_new_logs_swallowed_rows_as_detect_does(events, folder, tmp_path):
    """``graphlink match`` read the new log's warnings nowhere: rows lost to a stray quote went unsaid."""
    import graphlink

    path = tmp_path / "new.csv"
    path.write_text("\n".join(_stray_quote(_csv_lines(events))) + "\n")
    said = [w for w in graphlink.match(folder, path).run["warnings"] if "quote" in w]
    assert len(said) == 1 and "9 lines" in said[0], said
