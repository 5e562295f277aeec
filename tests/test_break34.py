"""Session 34's attempt to break graphlink as an attacker or an unlucky user would: the accounts file (a file
and a notebook frame), frames given to the notebook API, and ``--previous`` folders edited by hand.

World: :func:`tests._worlds.planted_world` (80 people, two rings), its accounts in a file or a frame.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.errors import GraphlinkError, InputError
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from tests._worlds import planted_world

runner = CliRunner()


@pytest.fixture(scope="module")
def world():
    events, _ = planted_world(0, n_benign=80)
    ids = events["account_id"].unique().sort()
    # Each ring's accounts created in one hour (the created_hour evidence), people over a month.
    created = [dt.datetime(2024, 4, 30, 10, 5 + i % 40) if a.startswith("ring") else
               dt.datetime(2024, 4, 1) + dt.timedelta(hours=7 * i) for i, a in enumerate(ids)]
    accounts = pl.DataFrame({"account_id": ids, "created_at": [c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in created],
                             "email_domain": ["example.com"] * len(ids)})
    return events, accounts


# -- the accounts file: created_at values that do not parse ------------------------------------------------------------

def test_created_at_values_that_do_not_parse_are_counted_and_reported(world, tmp_path):
    """A third of the accounts file's created_at spelled day-first (``31/12/2023 10:00``) were silently dropped:
    ``rejected: {}``, no warning, the created_hour evidence quietly short of a third of each ring."""
    events, accounts = world
    bad = accounts.with_columns(pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("30/04/2024 10:05"))
                                .otherwise(pl.col("created_at")).alias("created_at"))
    path = tmp_path / "accounts.csv"
    bad.write_csv(path)
    run = run_detect(events, accounts=path).run
    n_bad = (pl.int_range(bad.height, eager=True) % 3 == 0).sum()
    said = [w for w in run["warnings"] if "created_at" in w]
    assert len(said) == 1 and f"{n_bad} of {bad.height}" in said[0] and "row 1" in said[0], run["warnings"]
    assert "30/04" not in said[0]  # cell values are never quoted


def test_created_at_that_all_parse_give_no_warning(world, tmp_path):
    events, accounts = world
    path = tmp_path / "accounts.csv"
    accounts.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(" ")).otherwise(pl.col("created_at"))
                          .alias("created_at")).write_csv(path)  # a blank one is missing, not unparseable
    assert not [w for w in run_detect(events, accounts=path).run["warnings"] if "created_at" in w]


# -- the notebook API: an accounts frame is read as an accounts file is --------------------------------------------

def test_an_accounts_frame_with_text_created_at_is_read_like_the_file(world, tmp_path):
    """``graphlink.detect(events, accounts=frame)`` with created_at as ISO text (as read from a CSV) failed with
    ``<frame>: could not process the input: `…` operation not supported for dtype `…```; the file ran."""
    events, accounts = world
    path = tmp_path / "accounts.csv"
    accounts.write_csv(path)
    from_file = run_detect(events, accounts=path)
    from_frame = run_detect(events, accounts=accounts)
    assert from_frame.accounts.equals(from_file.accounts)
    assert from_frame.clusters.drop("seconds", strict=False).equals(from_file.clusters.drop("seconds", strict=False))
    assert from_frame.run["inputs"]["accounts"]["path"] == "<frame>"


def test_an_accounts_frame_with_email_gives_the_email_domain_as_the_file_does(world):
    """An ``email`` column in a frame was ignored silently (the file's ``email`` gives ``email_domain``)."""
    events, accounts = world
    frame = accounts.drop("email_domain").with_columns(pl.lit("x@Example.com").alias("email"))
    result = run_detect(events, accounts=frame)
    assert result.index["email_domain"].drop_nulls().unique().to_list() == ["example.com"]


def test_an_accounts_frame_with_integer_ids_matches_text_ids_as_the_file_does(world, tmp_path):
    events, accounts = world
    numbered = {a: str(1000 + i) for i, a in enumerate(accounts["account_id"])}
    events = events.with_columns(pl.col("account_id").replace(numbered))
    frame = accounts.with_columns(pl.col("account_id").replace(numbered).cast(pl.Int64))
    result = run_detect(events, accounts=frame)
    assert result.index.height == accounts.height and result.index["created_at"].null_count() == 0


@pytest.mark.parametrize("frame", [pl.DataFrame({"user": ["ring0_001"], "email_domain": ["x.com"]}),
                                   pl.DataFrame({"account_id": ["ring0_001"], "created_at": [b"\x01"]})])
def test_a_bad_accounts_frame_is_an_input_error_naming_the_frame(world, frame):
    events, _ = world
    with pytest.raises(InputError) as caught:
        run_detect(events, accounts=frame)
    assert str(caught.value).startswith("<frame>") and "could not process" not in str(caught.value)


def test_a_pandas_accounts_frame_is_a_clear_error_not_an_attribute_error(world):
    """Events given as pandas are a clear error; accounts given as pandas raised ``AttributeError: 'DataFrame'
    object has no attribute 'height'``."""
    pd = pytest.importorskip("pandas")
    events, accounts = world
    with pytest.raises(GraphlinkError, match="accounts must be a path or a polars DataFrame"):
        graphlink.detect(events, accounts=accounts.to_pandas())


def test_an_events_frame_error_names_the_frame_not_a_temporary_file():
    """Errors about an events frame named the temporary Parquet file it was written to
    (``/tmp/tmpk2xhs_gx/events.parquet: no account_id column``), a path the user never saw."""
    for frame in (pl.DataFrame({"user": ["a"], "ip": ["1.2.3.4"]}),
                  pl.DataFrame({"account_id": ["a"], "ip": [[1]]})):
        with pytest.raises(InputError) as caught:
            run_detect(frame)
        assert str(caught.value).startswith("<frame>: ") and "events.parquet" not in str(caught.value)


# -- --previous folders edited by hand -----------------------------------------------------------------------------------

@pytest.mark.parametrize("ids", [pl.col("cluster_id") + 2 ** 40, -pl.col("cluster_id")], ids=["huge", "negative"])
def test_previous_cluster_ids_out_of_range_are_a_clear_error(world, tmp_path, ids):
    """Previous cluster ids above 2^32 crashed in ``with_row_index`` (traceback, exit 1); negative ones failed deep
    in the drill-down naming the events file (``could not process the input: conversion from `…` to `…```)."""
    events, _ = world
    previous = tmp_path / "previous"
    write_outputs(run_detect(events), previous)
    path = previous / "accounts.parquet"
    pl.read_parquet(path).with_columns(ids).write_parquet(path)
    events_path = tmp_path / "events.parquet"
    events.write_parquet(events_path)
    result = runner.invoke(app, ["detect", str(events_path), "--out", str(tmp_path / "out"), "--previous",
                                 str(previous), "-q"])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "accounts.parquet" in result.output and "cluster_id" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# -- simulate into a folder the user made ------------------------------------------------------------------------------

def test_simulate_does_not_replace_a_log_it_did_not_write(tmp_path):
    """``graphlink simulate data/`` replaced the user's own ``data/events.parquet`` (their log) with a simulated
    one, silently; detect refuses a folder that is not its output, simulate now refuses files it did not write."""
    pytest.importorskip("pyarrow")
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.parquet").write_bytes(b"the user's own log")
    (data / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["simulate", str(data), "-q"])
    assert result.exit_code == 2 and "events.parquet" in result.output and "Traceback" not in result.output
    assert (data / "events.parquet").read_bytes() == b"the user's own log" and sorted(p.name for p in data.iterdir()) == [
        "events.parquet", "notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_simulate_replaces_its_own_world(tmp_path):
    pytest.importorskip("pyarrow")
    world = tmp_path / "world"
    assert runner.invoke(app, ["simulate", str(world), "-q"]).exit_code == 0
    (world / "notes.txt").write_text("mine")
    first = (world / "events.parquet").read_bytes()
    assert runner.invoke(app, ["simulate", str(world), "-q", "--seed", "1"]).exit_code == 0
    assert (world / "events.parquet").read_bytes() != first and (world / "notes.txt").read_text() == "mine"


def test_simulate_into_a_file_is_a_clear_error(tmp_path):
    """``graphlink simulate log.csv`` said ``[Errno 20] Not a directory: '.../.log.csv.tmp-22371/events.parquet'``."""
    pytest.importorskip("pyarrow")
    path = tmp_path / "log.csv"
    path.write_text("account_id\na\n")
    result = runner.invoke(app, ["simulate", str(path), "-q"])
    assert result.exit_code == 2 and "tmp-" not in result.output and "Errno" not in result.output, result.output
    assert "not a folder" in result.output and path.read_text() == "account_id\na\n"


# -- settings: infinity -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["resolution", "campaign_resolution", "co_timing_weight", "min_edge_weight"])
def test_an_infinite_setting_is_a_config_error(setting):
    """``--resolution inf`` ran, found no cluster at all without a word, and wrote ``"resolution": Infinity`` to
    run.json, which is not JSON (``jq`` and strict parsers refuse it); nan was already refused."""
    with pytest.raises(graphlink.ConfigError, match=f"{setting} must be finite"):
        graphlink.build_config(**{setting: float("inf")})


def test_an_infinite_kind_weight_or_component_weight_is_a_config_error():
    with pytest.raises(graphlink.ConfigError, match="finite"):
        graphlink.build_config(kinds={"payment": {"weight": float("inf")}})
    with pytest.raises(graphlink.ConfigError, match="component_weights"):
        graphlink.build_config(component_weights={"payment": float("inf")})


def test_resolution_inf_on_the_command_line_exits_2_and_writes_nothing(tmp_path, world):
    events, _ = world
    path = tmp_path / "events.parquet"
    events.write_parquet(path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "--resolution", "inf", "-q"])
    assert result.exit_code == 2 and "resolution must be finite" in result.output and not (tmp_path / "out").exists()


# -- report and graph exports: --out naming a file graphlink did not write ---------------------------------------------

@pytest.fixture(scope="module")
def detected(world, tmp_path_factory):
    events, _ = world
    out = tmp_path_factory.mktemp("break34") / "out"
    write_outputs(run_detect(events), out)
    return out


def fresh_copy(out, tmp_path):
    import shutil

    return Path(shutil.copytree(out, tmp_path / "out"))


@pytest.mark.parametrize("command", [["report"], ["export", "-f", "gexf"], ["export", "-f", "graphml"]])
def test_an_output_file_does_not_replace_the_users_log(detected, tmp_path, command):
    """``graphlink report out -o events.csv`` (a slip for ``-o report.html``) replaced the user's log with the
    HTML page, and ``export -f gexf -o notes.txt`` any file, silently (expand and match refuse files they did
    not write)."""
    out = fresh_copy(detected, tmp_path)
    log = tmp_path / "events.csv"
    log.write_text("account_id,ip\na,1.2.3.4\n")
    result = runner.invoke(app, [command[0], str(out), *command[1:], "-o", str(log)])
    assert result.exit_code == 2 and "events.csv" in result.output and "Traceback" not in result.output
    assert log.read_text() == "account_id,ip\na,1.2.3.4\n"


@pytest.mark.parametrize("command", [["report"], ["export", "-f", "gexf"]])
@pytest.mark.parametrize("name", ["run.json", "accounts.parquet"])
def test_an_output_file_does_not_replace_the_detect_outputs_own_files(detected, tmp_path, command, name):
    """``report out -o out/run.json`` wrote the page over run.json: every later command on the folder failed
    (``run.json: not valid JSON``)."""
    out = fresh_copy(detected, tmp_path)
    before = (out / name).read_bytes()
    result = runner.invoke(app, [command[0], str(out), *command[1:], "-o", str(out / name)])
    assert result.exit_code == 2 and (out / name).read_bytes() == before
    assert runner.invoke(app, ["show", str(out), "1"]).exit_code == 0


@pytest.mark.parametrize("command, name", [(["report"], "report.html"), (["export", "-f", "gexf"], "graph.gexf"),
                                           (["export", "-f", "graphml"], "graph.graphml")])
def test_an_earlier_report_or_graph_is_replaced(detected, tmp_path, command, name):
    out = fresh_copy(detected, tmp_path)
    for target in (out / name, tmp_path / "elsewhere" / name):
        target.parent.mkdir(exist_ok=True)
        args = [command[0], str(out), *command[1:], "-o", str(target)]
        assert runner.invoke(app, args).exit_code == 0 and target.stat().st_size
        first = target.stat().st_mtime_ns
        assert runner.invoke(app, args).exit_code == 0, "an earlier output of the same command is replaced"
        assert target.stat().st_mtime_ns >= first


def test_a_csv_export_does_not_replace_the_users_own_members_csv(detected, tmp_path):
    """``export -f csv -o shared/`` replaced a ``members.csv`` of the user's in that folder; an earlier CSV export
    there is still replaced."""
    out = fresh_copy(detected, tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "members.csv").write_text("name,team\nann,blue\n")
    result = runner.invoke(app, ["export", str(out), "-f", "csv", "-o", str(shared)])
    assert result.exit_code == 2 and "members.csv" in result.output
    assert (shared / "members.csv").read_text() == "name,team\nann,blue\n" and not (shared / "evidence.csv").exists()
    again = tmp_path / "again"
    for _ in range(2):
        assert runner.invoke(app, ["export", str(out), "-f", "csv", "-o", str(again)]).exit_code == 0


# -- the accounts file: placeholder creation times ---------------------------------------------------------------------

def test_a_1970_placeholder_created_at_is_missing_and_counted_not_a_creation_burst(world, tmp_path):
    """A database export writes ``0`` (1970-01-01) for an unknown creation time. Every account then shared one
    creation hour: each ring's why said "25 of 25 accounts created in 1 burst hour" and its score rose. Event times
    outside 1990-2100 are rejected; a creation time there is missing now, and counted in the warning."""
    events, accounts = world
    path = tmp_path / "accounts.csv"
    accounts.with_columns(pl.lit("0").alias("created_at")).write_csv(path)
    result = run_detect(events, accounts=path)
    assert result.index["created_at"].null_count() == accounts.height
    assert not result.clusters["why"].str.contains("burst hour").any()
    said = [w for w in result.run["warnings"] if "created_at" in w]
    assert len(said) == 1 and f"{accounts.height} of {accounts.height}" in said[0] and "1990" in said[0]


@pytest.mark.xfail(strict=True, reason="creation bursts count accounts of a cluster created in one hour (at least 3) "
                   "with no base rate: an hour holding every account of the log (a migration's or a default's time) "
                   "reads as a burst; a base-rate rule is a scoring change for the owners of scoring")
def test_a_creation_hour_shared_by_every_account_is_not_a_creation_burst(world, tmp_path):
    events, accounts = world
    path = tmp_path / "accounts.csv"
    accounts.with_columns(pl.lit("2024-04-01T00:00:00Z").alias("created_at")).write_csv(path)
    assert not run_detect(events, accounts=path).clusters["why"].str.contains("burst hour").any()


@pytest.mark.xfail(strict=True, reason="Decimal identifier columns (a NUMERIC id exported to Parquet) are spelled with "
                   "their scale ('1000.000000000'), not as the integers the float rule writes ('1000'), so they match "
                   "no id of a CSV accounts file; a fix spells whole decimals as integers in both engines "
                   "(validation.float_text and the Spark engine's rule)")
def test_decimal_account_ids_are_spelled_as_integers_like_float_ones(world, tmp_path):
    events, accounts = world
    numbered = {a: 1000 + i for i, a in enumerate(accounts["account_id"])}
    events = events.with_columns(pl.col("account_id").replace_strict(numbered, return_dtype=pl.Int64)
                                 .cast(pl.Decimal(38, 9)))
    path = tmp_path / "accounts.csv"
    accounts.with_columns(pl.col("account_id").replace_strict(numbered, return_dtype=pl.Int64)).write_csv(path)
    result = run_detect(events, accounts=path)
    assert result.index.height == accounts.height and int((result.index["events"] == 0).sum()) == 0


# -- the notebook API: integer seeds -------------------------------------------------------------------------------------

def test_expand_takes_integer_seeds_as_the_ids_detect_spelled(world, tmp_path):
    """A log with integer account ids: ``graphlink.expand(out, [1000])`` raised ``TypeError: expected str, bytes
    or os.PathLike object, not int``; the ids are compared as text, ``"1000"`` worked."""
    events, accounts = world
    numbered = {a: 1000 + i for i, a in enumerate(accounts["account_id"])}
    out = tmp_path / "out"
    write_outputs(run_detect(events.with_columns(pl.col("account_id").replace_strict(numbered, return_dtype=pl.Int64))),
                  out)
    seed = numbered["ring0_003"]
    assert graphlink.expand(out, [seed]).equals(graphlink.expand(out, [str(seed)]))
    with pytest.raises(GraphlinkError, match="not float"):
        graphlink.expand(out, [1000.0])


def test_an_unwritable_output_is_named_as_given_not_as_its_temporary_sibling(detected, tmp_path):
    """``report out -o /proc/self/r.html`` said ``[Errno 2] No such file or directory:
    '/proc/self/.r.html.tmp-7744'``: a hidden temporary name the user never gave."""
    result = runner.invoke(app, ["report", str(detected), "-o", "/proc/self/r.html"])
    assert result.exit_code == 2 and "/proc/self/r.html:" in result.output
    assert ".tmp-" not in result.output and "Errno" not in result.output, result.output


def test_rows_swallowed_by_a_stray_quote_are_counted_or_warned(tmp_path):
    events, _ = planted_world(0, n_benign=30)
    lines = events.write_csv().splitlines()
    for i, end in ((101, False), (111, True)):  # data rows 100 and 110
        fields = lines[i].split(",")
        fields[4] = fields[4] + ' end"' if end else '"stray ' + fields[4]
        lines[i] = ",".join(fields)
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    run = run_detect(path).run
    assert run["inputs"]["events"]["rows_read"] == events.height or any("quote" in w for w in run["warnings"])


def test_a_config_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    """A graphlink.toml saved by a Windows editor (UTF-8 with a BOM) was ``not valid TOML: Invalid statement (at
    line 1, column 1)``; CSV, TSV and NDJSON inputs with a BOM are read."""
    path = tmp_path / "graphlink.toml"
    path.write_bytes(b"\xef\xbb\xbf[communities]\nresolution = 0.3\n")
    assert graphlink.build_config(toml=path).communities.resolution == 0.3


def test_a_previous_accounts_table_listing_an_account_twice_is_a_clear_error(world, tmp_path):
    """Two runs' accounts.parquet joined into one (each account in two clusters) was read as history: the run
    reported the second copy's clusters as 'merged' into the first's, silently."""
    events, _ = world
    previous = tmp_path / "previous"
    write_outputs(run_detect(events), previous)
    path = previous / "accounts.parquet"
    table = pl.read_parquet(path)
    pl.concat([table, table.with_columns(pl.col("cluster_id") + 5)]).write_parquet(path)
    with pytest.raises(InputError, match="repeat an account id") as caught:
        run_detect(events, previous=previous)
    assert "accounts.parquet" in str(caught.value)
    with pytest.raises(InputError, match="repeat an account id"):
        run_detect(events, previous=pl.concat([table, table]))


# -- a placeholder card ----------------------------------------------------------------------------------------------

def test_a_placeholder_payment_value_most_accounts_hold_is_warned_about(world):
    """People without a card logged as ``none``: the 80 of them became one cluster ("80 accounts pay with 1 payment
    fingerprint"), the report's top unflagged cluster, with no word that the value is no card."""
    events, _ = world
    people = pl.col("account_id").str.starts_with("user")
    result = run_detect(events.with_columns(pl.when(people).then(pl.lit("none")).otherwise(pl.col("payment_fingerprint"))
                                            .alias("payment_fingerprint")))
    said = [w for w in result.run["warnings"] if "payment_fingerprint value" in w]
    assert len(said) == 1 and "80 of 120" in said[0] and "none" in said[0] and "'none'" not in said[0]
    assert not [w for w in run_detect(events).run["warnings"] if "payment_fingerprint value" in w]
