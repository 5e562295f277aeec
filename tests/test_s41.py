"""Session 41: findings of this session's own review (the break-it review's are in test_break41.py)."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.config import build_config
from graphlink.errors import ConfigError


def _log(tmp_path):
    """A small log whose account column is named ``user``."""
    path = tmp_path / "events.csv"
    pl.DataFrame({"user": ["a", "b", "c"], "timestamp": ["2026-01-01T00:00:00Z"] * 3,
                  "ip": ["192.0.2.1"] * 3}).write_csv(path)
    return path


def test_one_column_mapped_to_two_names_is_refused_naming_both(tmp_path):
    """``--map account_id=user --map user_agent=user`` renamed ``user`` once: account_id was left unmapped and the
    error said to map it, which the user had done. Now: one line naming the column and both names, exit 2."""
    result = CliRunner().invoke(app, ["detect", str(_log(tmp_path)), "--map", "account_id=user", "--map",
                                      "user_agent=user", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert "'user' is mapped to both account_id and user_agent" in line, result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_a_later_map_of_the_same_name_still_replaces_an_earlier_one(tmp_path):
    """Control: a config file's ``[columns]`` then ``--map`` of the same canonical name is a replacement, not a
    conflict; and the same source under one name twice is no conflict either."""
    toml = tmp_path / "graphlink.toml"
    toml.write_text('[columns]\naccount_id = "uid"\n', encoding="utf-8")
    config = build_config(toml=toml, columns=(("account_id", "user"), ("account_id", "user")))
    assert dict(config.ingest.column_map) == {"account_id": "user"}
    with pytest.raises(ConfigError, match="'uid' is mapped to both account_id and ip"):
        build_config(toml=toml, columns=(("ip", "uid"),))
    result = CliRunner().invoke(app, ["detect", str(_log(tmp_path)), "--map", "account_id=user", "--out",
                                      str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output


def test_match_says_which_name_the_earlier_run_kept_for_the_column(tmp_path):
    """match keeps the earlier run's map: mapping its account column to another name says that map."""
    runner = CliRunner()
    log = _log(tmp_path)
    assert runner.invoke(app, ["detect", str(log), "--map", "account_id=user", "--out", str(tmp_path / "o"),
                               "-q"]).exit_code == 0
    result = runner.invoke(app, ["match", str(tmp_path / "o"), str(log), "--map", "user_agent=user", "--out",
                                 str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    line = " ".join(result.output.split())
    assert "mapped to both account_id and user_agent" in line and "earlier run: account_id=user" in line, line


def test_a_prompt_quote_reads_as_the_words_it_stands_for_when_accents_cancel_in_the_count(tmp_path):
    """A spacing accent standing alone ("¨": no word once normalised) and one inside a word ("a¨b": two words) leave
    the written and normalised word counts equal, so the count check passed and every quote after the first was
    cut one word off ("alpha ¨ bravo charlie delta" for "alpha bravo charlie delta echo"). Each quote now
    normalises to exactly the shingle's words (else the normalised words are shown)."""
    import datetime as dt

    import graphlink
    from graphlink.stages.signals.normalise import normalise_prompt

    template = "alpha \u00a8 bravo charlie delta echo foxtrot golf a\u00a8b hotel india juliet kilo lima"
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    rows = [(f"r{i}", t0 + dt.timedelta(minutes=97 * j + 13 * i), f"198.51.100.{i % 4}", f"card{i % 3}",
             f"{template} item {i * 31 + j}") for i in range(14) for j in range(12)]
    rows += [(f"u{i}", t0 + dt.timedelta(hours=i), f"100.64.{i}.9", f"own{i}", f"my own question number {i} about tea")
             for i in range(60)]
    pl.DataFrame(rows, schema=["account_id", "timestamp", "ip", "payment_fingerprint", "prompt"],
                 orient="row").write_parquet(tmp_path / "events.parquet")
    result = graphlink.detect(tmp_path / "events.parquet")
    quotes = result.evidence.filter(pl.col("kind") == "prompt")["value"]
    assert quotes.len() >= 3
    words = pl.DataFrame({"q": quotes}).select(normalise_prompt(pl.col("q")))["q"].to_list()
    normalised = pl.DataFrame({"t": [template]}).select(normalise_prompt(pl.col("t")))["t"][0]
    assert all(len(w.split(" ")) == 5 and w in normalised for w in words), list(zip(quotes, words))


def test_match_reads_a_log_in_graphlinks_names_after_a_run_that_mapped_them(tmp_path):
    """After ``detect --map account_id=user``, a list of ids headed ``account_id`` (as graphlink writes them) or a
    log already in graphlink's column names failed: "column 'user' (mapped to account_id) not found". A map kept
    from the earlier run is dropped when the new file lacks its column; a map given now is still applied (and its
    missing column still an error in a log)."""
    runner = CliRunner()
    log = _log(tmp_path)
    assert runner.invoke(app, ["detect", str(log), "--map", "account_id=user", "--out", str(tmp_path / "o"),
                               "-q"]).exit_code == 0
    ids = tmp_path / "ids.csv"
    ids.write_text("\ufeffaccount_id\na\nzz\n", encoding="utf-8")
    renamed = tmp_path / "renamed.csv"
    pl.read_csv(log).rename({"user": "account_id"}).write_csv(renamed)
    for path in (ids, renamed):
        result = runner.invoke(app, ["match", str(tmp_path / "o"), str(path), "--out", str(tmp_path / path.stem)])
        assert result.exit_code == 0, result.output
        got = pl.read_parquet(tmp_path / path.stem / "matches.parquet")["account_id"].sort().to_list()
        assert got == (["a", "zz"] if path == ids else ["a", "b", "c"])
    result = runner.invoke(app, ["match", str(tmp_path / "o"), str(renamed), "--map", "ip=client", "--out",
                                 str(tmp_path / "m")])
    assert result.exit_code == 2 and "'client' (mapped to ip) not found" in " ".join(result.output.split())


def test_a_name_mapped_to_two_columns_is_refused_and_a_later_layer_replaces(tmp_path):
    """``--map ip="Client IP" --map ip="Card Token"`` (or a config file's ``[columns]`` then ``--map`` of the same
    name) renamed both columns to ``ip``: "cannot read: column '…' is duplicate". Two columns for one name in one
    layer are refused naming both; ``--map`` over a config file's ``[columns]`` replaces its pair."""
    path = tmp_path / "two.csv"
    pl.DataFrame({"u": ["a", "b"], "Client IP": ["192.0.2.1"] * 2, "Card Token": ["x", "y"]}).write_csv(path)
    result = CliRunner().invoke(app, ["detect", str(path), "--map", "account_id=u", "--map", "ip=Client IP",
                                      "--map", "ip=Card Token", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "ip is mapped to 2 columns ('Card Token', 'Client IP')" in " ".join(result.output.split())
    toml = tmp_path / "g.toml"
    toml.write_text('[columns]\naccount_id = "u"\nip = "Client IP"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", str(path), "--config", str(toml), "--map", "ip=Card Token",
                                      "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    run = __import__("json").loads((tmp_path / "o" / "run.json").read_text())
    assert dict(run["parameters"]["ingest"]["column_map"]) == {"account_id": "u", "ip": "Card Token"}


def test_affiliations_csv_reads_with_default_settings_and_every_row_has_its_evidence_row(fixture_detected, tmp_path):
    """nu41 on the bundled fixture: ``pl.read_csv("affiliations.csv")`` failed (``clusters`` held "4; 54" after 100
    rows of one id: polars typed it as a number), and 8 rows named a timing band ``evidence.csv`` does not list (it
    lists one band of a signature the same members hold in several). ``clusters`` is now a count, and the rows are
    those of the values evidence.csv lists."""
    out = tmp_path / "csv"
    result = CliRunner().invoke(app, ["export", str(fixture_detected), "-f", "csv", "-c", "all", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(out / "affiliations.csv")  # polars' defaults, as a script's first line
    assert rows.schema["clusters"].is_integer() and rows["clusters"].max() > 1
    evidence = pl.read_csv(out / "evidence.csv", infer_schema_length=None)
    assert rows.filter(pl.col("kind") == "timing").height > 0
    assert rows.join(evidence, on=["cluster_id", "kind", "value"], how="anti").is_empty()


def _report_with_addresses_only(folder, accounts: pl.DataFrame, account: str) -> str:
    """The report of ``folder`` after ``account`` is marked as sharing none of its cluster's behaviour."""
    accounts.with_columns(pl.when(pl.col("account_id") == account).then(pl.lit("addresses only"))
                          .otherwise(pl.col("shared_behaviour")).alias("shared_behaviour")
                          ).write_parquet(folder / "accounts.parquet")
    result = CliRunner().invoke(app, ["report", str(folder), "--quiet", "--no-plots", "--static"])
    assert result.exit_code == 0, result.output
    return (folder / "report.html").read_text(encoding="utf-8")


def test_the_report_lists_members_weakest_tie_first_as_show_does(fixture_outputs):
    """nu41: a member sharing none of its cluster's behaviour (``addresses only``: the one to check before a ban) sat
    at row 221 of 224 in the report, which listed members most active first, while show and members.csv list it
    first. The report now lists them weakest tie first too."""
    accounts = pl.read_parquet(fixture_outputs / "accounts.parquet")
    top = (pl.read_parquet(fixture_outputs / "clusters.parquet").filter("flagged")
           .sort(["score", "cluster_id"], descending=[True, False])["cluster_id"][0])
    members = accounts.filter(pl.col("cluster_id") == top).sort(["events", "account_id"], descending=[True, False])
    busiest, quiet = members["account_id"][0], members["account_id"][members.height // 2]
    html = _report_with_addresses_only(fixture_outputs, accounts, quiet)
    section = html[html.index(f'id="cluster-{top}"'):]
    section = section[section.index("weakest tie first"):]
    assert section.index(quiet) < section.index(busiest)


def test_the_reports_campaign_table_lists_campaigns_with_a_section_and_counts_the_rest(fixture_outputs):
    """nu41: after the flagged campaigns, ~15 rows of "1 cluster, 8 accounts, 0 flagged" filled the first screen (117
    on the fixture); nothing there counted the flagged members sharing addresses only (the ones to check). The table
    now lists flagged campaigns and those of two or more clusters, says how many it leaves to the cluster table, and a
    card counts the flagged members tied by addresses only."""
    import re

    accounts = pl.read_parquet(fixture_outputs / "accounts.parquet")
    top = pl.read_parquet(fixture_outputs / "clusters.parquet").filter("flagged")["cluster_id"][0]
    quiet = accounts.filter(pl.col("cluster_id") == top)["account_id"][0]
    html = _report_with_addresses_only(fixture_outputs, accounts, quiet)
    campaigns = pl.read_parquet(fixture_outputs / "campaigns.parquet")
    listed = campaigns.filter(pl.col("flagged") | (pl.col("clusters").list.len() >= 2))
    lone = campaigns.height - listed.height
    assert lone > 0 and f"{lone} unflagged campaigns of one cluster each not listed" in html
    table = html[html.index('id="campaigns"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr") - 1 == listed.height  # the header row, then one row per listed campaign
    cards = dict((label, n) for n, label in re.findall(r'<div class="n">([^<]*)</div><div class="l">([^<]*)</div>', html))
    assert cards["flagged, tied by addresses (or stock phrases) only"] == "1"


def test_spreadsheet_serial_dates_are_named_as_such_under_the_files_column_name(tmp_path):
    """nu41: Excel serial dates (45719.5) gave "every row was rejected (timestamp out of range: 2)" with no column
    named and no hint, and a date that does not parse named ``column timestamp``, not the user's ``Event Time``."""
    serial = tmp_path / "serial.csv"
    serial.write_text("user,Event Time,ip\na,45719.5,192.0.2.1\nb,45720.25,192.0.2.2\n", encoding="utf-8")
    args = ["--map", "account_id=user", "--map", "timestamp=Event Time", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, ["detect", str(serial), *args])
    line = " ".join(result.output.split())
    assert result.exit_code == 2 and "column 'Event Time' (such as 45719.5) looks like spreadsheet serial dates" in line
    words = tmp_path / "words.csv"
    words.write_text("user,Event Time,ip\na,yesterday,192.0.2.1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", str(words), *args])
    assert result.exit_code == 2 and "column Event Time, row 1: no timestamp could be parsed" in result.output
    epoch = tmp_path / "epoch.csv"  # control: epoch seconds before 1990 are rejected without the spreadsheet note
    epoch.write_text("user,Event Time,ip\na,100000,192.0.2.1\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", str(epoch), *args])
    assert result.exit_code == 2 and "timestamp_out_of_range" in result.output and "looks like" not in result.output


def test_a_case_export_writes_its_clusters_affiliations(fixture_outputs, tmp_path):
    """nu41: the notebook's case export (``ClusterView.export``) wrote no affiliations, which ``export -f csv`` does.
    A case's affiliations are its own cluster's: the rows of that cluster in the CSV export of all clusters, with
    holders counted among its members."""
    import graphlink

    loaded = graphlink.load(fixture_outputs)
    cid = int(loaded.top(1)["cluster_id"][0])
    paths = loaded.cluster(cid).export(tmp_path / "case")
    case = pl.read_csv(paths["affiliations"])
    assert case.height > 0 and set(case["cluster_id"]) == {cid}
    from graphlink.contract import AFFILIATIONS_CSV_SCHEMA
    assert case.columns == list(AFFILIATIONS_CSV_SCHEMA)
    assert (case["holders"] == case["members"]).all() and (case["clusters"] == 1).all()
    members = set(pl.read_csv(paths["members"])["account_id"])
    assert set(case["account_id"]) <= members


def test_a_seed_spelling_a_surrogate_is_an_unknown_seed_not_a_traceback(fixture_detected, tmp_path):
    """brk41b's ``unspelled`` reads ``⟨U+200B⟩`` in a copied id back as the character; ``⟨U+D800⟩`` (a surrogate,
    which UTF-8 cannot hold) became one and expand died with a UnicodeEncodeError traceback."""
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("a\u27e8U+D800\u27e9b\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["expand", str(fixture_detected), "--seeds", str(seeds)])
    assert result.exit_code == 2 and "unknown seed account" in result.output, result.output


def test_match_names_the_earlier_runs_account_column_when_the_new_file_has_neither(tmp_path):
    """brk41b: after ``detect --map account_id=user``, a new log whose account column is ``user id`` got "no
    account_id column", which does not say the earlier run read ``user``. With neither ``user`` nor ``account_id`` in
    the file, the earlier map is kept and the error names it."""
    runner = CliRunner()
    log = _log(tmp_path)
    assert runner.invoke(app, ["detect", str(log), "--map", "account_id=user", "--out", str(tmp_path / "o"),
                               "-q"]).exit_code == 0
    other = tmp_path / "other.csv"
    pl.read_csv(log).rename({"user": "user id"}).write_csv(other)
    result = runner.invoke(app, ["match", str(tmp_path / "o"), str(other), "--out", str(tmp_path / "m")])
    line = " ".join(result.output.split())
    assert result.exit_code == 2 and "column 'user' (mapped to account_id) not found" in line and "user id" in line
