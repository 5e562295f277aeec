"""New-user review of ``expand`` / ``match`` (issue 15), session 15: what the README's user expects.

1. A wrong file given as the events (the accounts file) is a one-line error naming the file and the
   missing columns, exit 2, nothing written; partly bad input is still read, counted and warned about.
2. ``match`` rows say whether the matched cluster was flagged, and the summary counts the two apart.
3. ``expand``'s score is documented as what it is: relative to one ranking, in [0, 1].
4. ``graphlink simulate --day-two`` writes the day after a scenario world, and the README's recipe
   (simulate, detect, match) runs as written.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.contract import MATCHES_SCHEMA
from graphlink.errors import InputError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
EVENT_COLUMNS_TEXT = "missing timestamp, ip, payment_fingerprint, prompt, user_agent"


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory, fixture_detected) -> Path:
    """The bundled fixture detected once (five flagged rings, many unflagged clusters): this module's copy of
    ``graphlink.detect(FIXTURES / "events.parquet", FIXTURES / "accounts.parquet").save(...)`` (conftest)."""
    return Path(shutil.copytree(fixture_detected, tmp_path_factory.mktemp("fixture_run") / "out"))


def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and "Traceback" not in result.output and len(lines) == 1, result.output
    return lines[0]


def test_an_accounts_file_given_as_events_is_a_one_line_error(tmp_path, fixture_run):
    accounts = FIXTURES / "accounts.parquet"
    line = one_error_line(runner.invoke(app, ["detect", str(accounts), "--out", str(tmp_path / "d")]))
    assert line.startswith(f"error: {accounts}: ") and EVENT_COLUMNS_TEXT in line
    assert "account_id, created_at, email_domain" in line and "--accounts" in line
    assert not (tmp_path / "d").exists()
    line = one_error_line(runner.invoke(app, ["match", str(fixture_run), str(accounts), "--out", str(tmp_path / "m")]))
    assert line.startswith(f"error: {accounts}: ") and EVENT_COLUMNS_TEXT in line and "--accounts" in line
    assert not (tmp_path / "m").exists()
    # Any other table without an event column: the hint is to map or declare one.
    line = one_error_line(runner.invoke(app, ["detect", str(FIXTURES / "labels.parquet"), "--out", str(tmp_path / "l")]))
    assert EVENT_COLUMNS_TEXT in line and "--signal NAME" in line and not (tmp_path / "l").exists()
    with pytest.raises(InputError, match="no event column"):
        graphlink.detect(pl.read_parquet(accounts))


def test_the_spark_engine_refuses_an_accounts_file_as_events_alike(spark, tmp_path):
    """The rule lives in graphlink.stages.validation.check_columns, which both engines call."""
    pytest.importorskip("pyspark")
    path = tmp_path / "accounts.csv"
    pl.read_parquet(FIXTURES / "accounts.parquet").head(50).write_csv(path)
    with pytest.raises(InputError) as polars_error:
        graphlink.detect(path)
    with pytest.raises(InputError) as spark_error:
        graphlink.detect(str(path), engine="spark", spark=spark)
    assert str(polars_error.value) == str(spark_error.value) and EVENT_COLUMNS_TEXT in str(spark_error.value)


def test_partly_bad_input_is_still_read_counted_and_warned_about(tmp_path, fixture_run):
    """The warning paths stay warnings: a column the clusters are known by missing, invalid IPs, rejected rows."""
    events = pl.read_parquet(FIXTURES / "events.parquet").head(2000)
    partial = tmp_path / "partial.csv"
    (events.select("account_id", pl.col("timestamp").cast(pl.String), "ip")
     .with_columns(pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise("account_id").alias("account_id"))
     .write_csv(partial))
    result = runner.invoke(app, ["match", str(fixture_run), str(partial), "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "warning: the new log has no column payment_fingerprint, user_agent (the earlier log had them)" in result.output
    assert "if they are there under another name" in result.output
    record = json.loads((tmp_path / "m" / "match.json").read_text())
    assert record["inputs"]["events"]["rejected"] == {"missing_account_id": 200} and record["counts"]["matched"] > 0
    junk_ips = tmp_path / "junk_ips.csv"
    events.select("account_id", pl.lit("not-an-ip").alias("ip"), "prompt").write_csv(junk_ips)
    detected = runner.invoke(app, ["detect", str(junk_ips), "--out", str(tmp_path / "d")])
    assert detected.exit_code == 0 and "warning" in detected.output and (tmp_path / "d" / "run.json").exists()
    # A file of account ids alone is an empty log (no links), not an error; so is a file with no header.
    ids = tmp_path / "ids.csv"
    events.select("account_id").write_csv(ids)
    assert runner.invoke(app, ["detect", str(ids), "--out", str(tmp_path / "i"), "-q"]).exit_code == 0
    (tmp_path / "zero.csv").write_text("")
    assert runner.invoke(app, ["detect", str(tmp_path / "zero.csv"), "--out", str(tmp_path / "z"), "-q"]).exit_code == 0
    (tmp_path / "trailing.csv").write_text("account_id,\na,\nb,\n")  # a trailing comma's unnamed column
    assert runner.invoke(app, ["detect", str(tmp_path / "trailing.csv"), "--out", str(tmp_path / "t"), "-q"]).exit_code == 0


def terminal_console(monkeypatch) -> io.StringIO:
    """Point the CLI's standard-output console at a buffer that renders as a terminal would."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=250, soft_wrap=True)
    for module in ("graphlink.cli_support", "graphlink.cli_pivot"):
        monkeypatch.setattr(f"{module}.out", console)
    return buffer


def test_match_rows_say_whether_the_matched_cluster_was_flagged(tmp_path, fixture_run, monkeypatch):
    clusters = pl.read_parquet(fixture_run / "clusters.parquet").select("cluster_id", "flagged")
    accounts = pl.read_parquet(fixture_run / "accounts.parquet").join(clusters, on="cluster_id")
    # Day two: a third of the fixture's log under new ids, so new accounts join flagged and unflagged clusters.
    picked = pl.concat([accounts.filter(pl.col("flagged")).head(40), accounts.filter(~pl.col("flagged")).head(60)])
    events = pl.read_parquet(FIXTURES / "events.parquet")
    renamed = (events.join(picked.select("account_id"), on="account_id", how="semi")
               .with_columns(("new-" + pl.col("account_id")).alias("account_id")))
    new = tmp_path / "day2.parquet"
    pl.concat([renamed, events.filter(pl.col("account_id") < "acct_2")]).write_parquet(new)

    result = runner.invoke(app, ["match", str(fixture_run), str(new), "--out", str(tmp_path / "m"), "--json"])
    assert result.exit_code == 0, result.output
    matches = pl.read_parquet(tmp_path / "m" / "matches.parquet")
    assert pl.Schema(matches.schema) == MATCHES_SCHEMA and matches.columns[1:3] == ["cluster_id", "flagged"]
    matched = matches.drop_nulls("cluster_id")
    truth = matched.select("account_id", "cluster_id").join(clusters, on="cluster_id", how="left")
    assert matched["flagged"].to_list() == truth["flagged"].to_list() and matched["flagged"].null_count() == 0
    assert matches.filter(pl.col("cluster_id").is_null())["flagged"].null_count() == matches.height - matched.height
    new_rows = matched.filter(pl.col("account_id").str.starts_with("new-"))
    assert new_rows["flagged"].sum() >= 30 and (~new_rows["flagged"]).sum() >= 10  # both kinds among the new
    data = json.loads(result.stdout)
    counts = data["counts"]
    assert counts["matched_to_flagged"] == matched["flagged"].sum()
    assert counts["matched_to_flagged"] + counts["matched_to_unflagged"] == counts["matched"]
    assert counts["new_to_flagged"] + counts["new_to_unflagged"] == counts["matched_new"]
    assert counts["new_to_flagged"] == new_rows["flagged"].sum()
    assert counts["flagged_clusters_matched"] == matched.filter("flagged")["cluster_id"].n_unique()
    assert {row["account_id"]: row["flagged"] for row in data["matched"]} == dict(matched.select("account_id",
                                                                                                 "flagged").rows())
    # The summary separates the two; the table has the column, beside cluster.
    piped = runner.invoke(app, ["match", str(fixture_run), str(new), "--out", str(tmp_path / "m"), "--show", "5"])
    summary = f"{counts['matched_to_flagged']:,} to {counts['flagged_clusters_matched']} flagged clusters " \
              f"({counts['new_to_flagged']} new, {counts['matched_to_flagged'] - counts['new_to_flagged']} already members)"
    assert summary in piped.output and f"{counts['matched_to_unflagged']:,} to " in piped.output
    assert piped.stdout.splitlines()[0].split("\t") == ["account", "cluster", "flagged", "campaign", "score", "why"]
    assert {line.split("\t")[2] for line in piped.stdout.splitlines()[1:]} <= {"True", "False"}
    buffer = terminal_console(monkeypatch)
    assert runner.invoke(app, ["match", str(fixture_run), str(new), "--out", str(tmp_path / "m")]).exit_code == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buffer.getvalue())
    assert re.search(r"account\s*┃\s*cluster\s*┃\s*flagged\s*┃\s*campaign", shown) and re.search(r"│\s+yes\s+│", shown)


def test_expand_score_is_relative_to_one_ranking_and_says_so(tmp_path, fixture_run, monkeypatch):
    from graphlink.cli_pivot import EXPAND_SCORE_NOTE

    labels = pl.read_parquet(FIXTURES / "labels.parquet").filter(pl.col("kind") == "ring")
    ring = labels.filter(pl.col("ring_id") == labels["ring_id"].min())["account_id"].sort().to_list()
    for seeds in (ring[:1], ring[:3]):
        ranked = graphlink.expand(fixture_run, seeds)
        listed = ranked.filter(pl.col("rank") > 0)
        assert ranked.filter(pl.col("rank") == 0)["score"].to_list() == [1.0] * len(seeds)
        assert listed.height and listed["score"].is_between(0.0, 1.0).all()
        assert (listed["score"].diff().drop_nulls() <= 0).all()  # never rises down the list
        assert listed["score"].max() == pytest.approx(0.5 if len(seeds) == 1 else 1.0)  # to this list's best
    helped = " ".join(runner.invoke(app, ["expand", "--help"]).output.split())
    assert "relative to this one ranking and NOT comparable across runs" in helped
    assert "With one seed nothing is shared by every seed: all scores are 0.5 or less" in helped
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "**relative to this one ranking**" in readme and "*not* comparable across runs" in readme
    assert "every listed score is 0.5 or less" in readme
    buffer = terminal_console(monkeypatch)
    shown = runner.invoke(app, ["expand", str(fixture_run), "--seeds", ",".join(ring[:3]), "--show", "3"])
    assert shown.exit_code == 0, shown.output
    assert f"Accounts tied to the seeds ({EXPAND_SCORE_NOTE})" in buffer.getvalue()
    assert "not comparable across runs" in EXPAND_SCORE_NOTE


def readme_bash_block(after: str) -> list[list[str]]:
    """The commands of the first ```bash block after ``after`` in the README, as argument lists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(after):], re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_simulate_day_two_and_the_readme_match_recipe_run_as_written(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    commands = readme_bash_block("### Yesterday's rings, today's accounts: `graphlink match`")
    assert [words[:2] for words in commands] == [["graphlink", "simulate"], ["graphlink", "detect"],
                                                 ["graphlink", "match"]]
    for words in commands:
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, (words, result.output)
        if words[1] == "simulate":
            assert "wrote day two:" in result.output
    day1 = pl.read_parquet(tmp_path / "day1" / "labels.parquet")
    day2 = pl.read_parquet(tmp_path / "day2" / "labels.parquet")
    assert day2["new"].any() and not day2.filter("new")["account_id"].is_in(day1["account_id"].implode()).any()
    matches = pl.read_parquet(tmp_path / "matched" / "matches.parquet")
    new_ring = day2.filter(pl.col("new") & (pl.col("kind") == "ring")).select("account_id")
    assert new_ring.height >= 20
    joined = new_ring.join(matches, on="account_id")
    assert joined.height == new_ring.height and joined["flagged"].fill_null(False).mean() >= 0.8
    # --day-two belongs to scenario worlds, and never to the folder day one goes to.
    for args, message in ((["simulate", "x", "--day-two", "y"], "--day-two needs --scenario"),
                          (["simulate", "z", "--scenario", "crowds", "--day-two", "z"], "is the folder day one")):
        failed = runner.invoke(app, args)
        assert failed.exit_code == 2 and message in failed.output and "Traceback" not in failed.output
        assert not (tmp_path / args[1]).exists()


def test_an_events_log_given_as_the_accounts_file_is_a_one_line_error(tmp_path):
    """The two files swapped the other way (``--accounts EVENTS``) ran silently with nothing added (new-user
    review of session 15: 114 clusters instead of 122); now exit 2, one line naming the file, no output."""
    from typer.testing import CliRunner

    from graphlink.cli import app

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["detect", str(fixtures / "events.parquet"), "--accounts",
                                      str(fixtures / "events.parquet"), "--out", str(out)])
    assert result.exit_code == 2
    assert "events.parquet: no created_at, email_domain or email column in the accounts file" in result.output
    assert "it looks like an events log" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_long_comma_separated_seed_list_is_read_as_ids_and_a_match_without_clocks_says_so(tmp_path):
    """Twelve pasted ids in one --seeds value (over 255 characters) crashed with 'File name too long'; a match
    against a folder without activity.parquet dropped the clusters' clocks without a word (new-user review of
    session 15)."""
    import graphlink
    from graphlink.views.expand import read_seeds

    ids = [f"acct_{i:016x}" for i in range(12)]
    assert read_seeds([",".join(ids)]) == ids
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    out = graphlink.detect(fixtures / "events.parquet").save(tmp_path / "out")
    (out / "activity.parquet").unlink()
    # detect's clock index still holds the clocks ...
    kept = graphlink.match(out, fixtures / "events.parquet")
    assert not any("has no activity.parquet" in w for w in kept.run["warnings"])
    # ... without it too, there are none, and match says so.
    (out / "match_clocks.parquet").unlink()
    result = graphlink.match(out, fixtures / "events.parquet")
    assert any("has no activity.parquet" in w and "without the clusters' clocks" in w for w in result.run["warnings"])
