"""The Spark engine (``--engine spark``) against the polars engine: the same outputs, bit for bit.

"Equal" is checked as strictly as it can be: every output table is equal
(same rows, same order, same floats), which implies the same partition
(ARI = 1 after canonical relabelling, asserted explicitly too), the same flags
and the same evidence. Spark runs in local mode, one session for the test run (``spark`` in conftest.py).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.contract import OUTPUT_FILES, RUN_FILE
from graphlink.stages.portable import xxhash64
from tests._worlds import planted_world

pyspark = pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
TABLES = [name for name in OUTPUT_FILES if name != RUN_FILE]


def ari(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings (unclustered accounts are singletons)."""
    from math import comb

    if len(a) < 2:  # no pair of accounts to agree or disagree on
        return 1.0
    table = pl.DataFrame({"a": a, "b": b}).group_by("a", "b").len()
    both = sum(comb(int(n), 2) for n in table["len"])
    left = sum(comb(int(n), 2) for n in table.group_by("a").agg(pl.col("len").sum())["len"])
    right = sum(comb(int(n), 2) for n in table.group_by("b").agg(pl.col("len").sum())["len"])
    expected = left * right / comb(len(a), 2)
    top = (left + right) / 2
    return 1.0 if top == expected else (both - expected) / (top - expected)


def labels(accounts: pl.DataFrame) -> np.ndarray:
    singles = pl.int_range(pl.len(), dtype=pl.Int64) + 1_000_000_000
    return accounts.sort("account_id").select(pl.coalesce("cluster_id", singles))["cluster_id"].to_numpy()


def assert_same(polars_result, spark_result) -> None:
    for name in ("accounts", "clusters", "evidence", "campaigns", "member_affiliations", "activity", "templates"):
        left, right = getattr(polars_result, name), getattr(spark_result, name)
        assert left.schema == right.schema, name
        assert left.equals(right), f"{name} differs"
    assert ari(labels(polars_result.accounts), labels(spark_result.accounts)) == 1.0
    assert polars_result.clusters["flagged"].to_list() == spark_result.clusters["flagged"].to_list()
    assert polars_result.run["counts"] == spark_result.run["counts"]


def test_portable_hash_is_sparks_xxhash64(spark):
    from pyspark.sql import functions as F

    rng = np.random.default_rng(3)
    a = [0, 1, -1, 2**63 - 1, -(2**63), 42, *rng.integers(-(2**63), 2**63 - 1, 40, dtype=np.int64).tolist()]
    b = rng.integers(0, 2**32, len(a)).tolist()
    frame = spark.createDataFrame(list(zip(a, b)), "a long, b long")
    got = frame.select(F.xxhash64("a").alias("one"), F.xxhash64(F.lit(7).cast("long"), "a", "b").alias("three"))
    got = got.toPandas()
    mine = pl.DataFrame({"a": a, "b": b}, schema={"a": pl.Int64, "b": pl.Int64}).select(
        xxhash64(pl.col("a")).reinterpret(signed=True).alias("one"),
        xxhash64(7, pl.col("a"), pl.col("b")).reinterpret(signed=True).alias("three"))
    assert mine["one"].to_list() == got["one"].tolist()
    assert mine["three"].to_list() == got["three"].tolist()


def test_fixture_cli_spark_writes_the_polars_outputs(spark, tmp_path, fixture_detected):
    """The polars side is the session's fixture run (``fixture_detected``: the API's save, which writes the
    CLI's bytes, tests/test_output_identity.py), not one more polars detect of the fixture here."""
    args = [str(ROOT / "fixtures" / "events.parquet"), "--accounts", str(ROOT / "fixtures" / "accounts.parquet")]
    result = CliRunner().invoke(app, ["detect", *args, "--engine", "spark", "--spark-master", "local[2]",
                                      "--out", str(tmp_path / "s"), "-q"])
    assert result.exit_code == 0, result.output
    for name in TABLES:
        left, right = pl.read_parquet(fixture_detected / name), pl.read_parquet(tmp_path / "s" / name)
        assert left.equals(right), f"{name} differs"
    accounts = pl.read_parquet(fixture_detected / "accounts.parquet")
    assert accounts["cluster_id"].n_unique() > 50  # the fixture has many clusters: a real comparison
    assert ari(labels(accounts), labels(pl.read_parquet(tmp_path / "s" / "accounts.parquet"))) == 1.0
    run = __import__("json").loads((tmp_path / "s" / RUN_FILE).read_text())
    assert run["engine"]["name"] == "spark" and set(run["timings"]) >= {"ingest", "graph", "communities"}


def test_simulated_worlds_agree_read_from_a_catalog_table(spark, tmp_path):
    """The pools and mixed scenarios side by side in one log (account ids kept apart by a prefix): one Spark run
    covers both, and each still forms its own clusters (templates, whose behaviours mixed draws too, dropped in
    session 42 for suite time).

    EVENTS may name a table or view in the session's catalog (the log warehouse's table): the Spark side reads
    the log as a temporary view of the file and gives the polars engine's outputs from the file (session 53:
    was a test of its own, one more pair of detects on a planted world; every other Spark test reads a path
    with no such table, still read as a path)."""
    import graphlink
    from graphlink.lab.simulate.scenarios import simulate_scenario

    events, accounts = [], []
    for seed, scenario in zip((7, 9), ("pools", "mixed")):  # (the seeds they had beside templates)
        e, a, _, _ = simulate_scenario(scenario, seed, "tiny")
        prefix = pl.lit(f"{scenario}:")
        events.append(e.with_columns(pl.concat_str([prefix, pl.col("account_id")]).alias("account_id")))
        accounts.append(a.with_columns(pl.concat_str([prefix, pl.col("account_id")]).alias("account_id")))
    pl.concat(events).write_parquet(tmp_path / "events.parquet")
    accounts = pl.concat(accounts)
    spark.read.parquet(str(tmp_path / "events.parquet")).createOrReplaceTempView("graphlink_test_events")
    try:
        a = graphlink.detect(tmp_path / "events.parquet", accounts)
        b = graphlink.detect("graphlink_test_events", accounts, engine="spark", spark=spark)
    finally:
        spark.catalog.dropTempView("graphlink_test_events")
    clustered = a.accounts.drop_nulls("cluster_id")["account_id"].str.split(":").list.first().value_counts()
    assert set(clustered["account_id"]) == {"pools", "mixed"}
    assert a.clusters.height >= 10
    assert_same(a._raw, b._raw)


def test_csv_text_timestamps_signal_columns_doubled_quotes_and_ip_spellings_agree(spark, tmp_path):
    """Text timestamps without an offset are UTC in both engines even when the caller's
    session runs in another time zone (restored after the run).

    RFC 4180 in the same file (one Spark detect for both; was a test of its own): a field with a comma is
    quoted and a quote inside it doubled (break-it review: Spark's backslash escape split such prompts at
    the comma, shifted the later columns and rejected a quarter of the rows as unparseable timestamps,
    exit 0); the prompt is the second column, so a split shifts the timestamps.

    IP spellings in the same file too (session 53: was a test of its own, one more pair of detects; a Spark
    detect of a world this small costs the same at 20 or 120 benign accounts, its ~50 queries' fixed cost):
    canonical dotted quads are keyed on Spark, every other spelling on the driver: the same address written
    several ways still links accounts, and the distinct-IP and invalid-address counts match.

    Placeholder spellings in the same file too (review nu54; session 60: was tests/test_spark_nufix54.py, one more
    pair of detects of a 28-row CSV): ids ``NA``, ``#N/A``, `` (null) ``, ``nil`` are rejected rows
    (``placeholder_account_id``) and timestamp cells ``NaT``, ``nan``, ``None``, ``null`` missing times (rows kept,
    ``rows_without_timestamp``), on Spark as with polars."""
    import graphlink

    events, _ = planted_world(seed=4, n_benign=150)
    row = pl.int_range(pl.len()) % 9
    octets = pl.col("ip").str.split(".")
    padded = pl.concat_str([octets.list.get(i).str.zfill(3) for i in range(4)], separator=".")
    plain_ips = events.filter(row == 0)["ip"].n_unique()
    events = events.with_columns(
        pl.when(row == 1).then(padded)  # leading zeros: the same address (decimal, never octal)
        .when(row == 2).then(pl.col("ip") + ":443")  # a port
        .when(row == 3).then("::FFFF:" + pl.col("ip"))  # IPv4-mapped IPv6, upper case
        .when(row == 4).then(pl.lit("2001:DB8::1"))
        .when(row == 5).then(pl.lit("[2001:db8:0:0:0:0:0:1]:8443"))
        .when(row == 6).then(pl.col("ip").str.replace(r"^\d+", "300"))  # an octet above 255: invalid
        .when(row == 7).then(pl.col("ip").str.replace(r"\.\d+$", ""))  # three octets: invalid
        .otherwise(pl.col("ip")).alias("ip"))
    spelled = pl.int_range(pl.len()) % 3  # ISO-8601 spellings logs use, the comma and lower-case ones too
    ts = pl.col("timestamp")
    quoted = pl.int_range(pl.len()) % 4 == 0
    events = events.with_columns(
        pl.when(spelled == 0).then(ts.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        .when(spelled == 1).then(ts.dt.strftime("%Y-%m-%d %H:%M:%S,%6f"))
        .otherwise(ts.dt.strftime("%Y-%m-%dt%H:%M:%S%.3fz")).alias("timestamp"),
        (pl.col("payment_fingerprint") + "_dev").alias("device"),
        pl.when(quoted).then(pl.lit('Write "a poem, please" about ') + pl.col("prompt"))
        .otherwise(pl.col("prompt")).alias("prompt"))
    events = events.select(["account_id", "prompt"] + [c for c in events.columns if c not in ("account_id", "prompt")])
    # Kept without a time: a timestamp cell spelled as a tool's missing value (review nu54).
    events = pl.concat([events, events.head(4).with_columns(
        pl.Series("account_id", [f"ts{i}" for i in range(4)]),
        pl.Series("timestamp", ["NaT", "nan", "None", "null"]))])
    # Rejected rows, one per reason, counted alike: no account id, junk timestamp, one before 1990; and an id
    # spelled as a tool's missing value, four spellings (review nu54).
    bad = events.head(7).with_columns(
        pl.Series("account_id", [" ", "acct_junk", "acct_old", "NA", "#N/A", " (null) ", "nil"]),
        pl.Series("timestamp", ["2024-01-01 10:00:00", "not a time", "1980-01-01 00:00:00"]
                  + ["2024-01-01 11:00:00"] * 4))
    pl.concat([events, bad]).write_csv(tmp_path / "events.csv")
    assert '""a poem, please""' in (tmp_path / "events.csv").read_text(encoding="utf-8")
    a = graphlink.detect(tmp_path / "events.csv", extra_signals=("device",))
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        b = graphlink.detect(str(tmp_path / "events.csv"), engine="spark", spark=spark, extra_signals=("device",))
        assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert a.clusters.height >= 2 and "device" in a.evidence["kind"].to_list()
    kept = [r.run["inputs"]["events"] for r in (a._raw, b._raw)]
    assert kept[0]["rejected"] == kept[1]["rejected"] == {"missing_account_id": 1, "unparseable_timestamp": 1,
                                                         "timestamp_out_of_range": 1, "placeholder_account_id": 4}
    assert kept[0]["rows_kept"] == kept[1]["rows_kept"] == events.height
    assert kept[0]["rows_without_timestamp"] == kept[1]["rows_without_timestamp"] == 4
    counts = a._raw.run["counts"]
    assert counts["invalid_ip_events"] > 0 and counts["distinct_ips"] > plain_ips
    assert_same(a._raw, b._raw)
    assert a.accounts["first_seen"].equals(b.accounts["first_seen"])


def test_bad_input_is_one_line_and_exit_2_before_java_starts(tmp_path, monkeypatch):
    """A missing local path (or a refused setting) is reported before a Spark session is even looked for."""
    import graphlink.engines.spark.run as spark_run

    def no_session(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(spark_run, "get_session", no_session)
    for args in ([str(tmp_path / "missing.parquet")], [str(tmp_path / "nothing-*.csv")],
                 [str(ROOT / "fixtures" / "events.parquet"), "--asn-table", str(tmp_path / "asn.csv")]):
        if "--asn-table" in args:
            (tmp_path / "asn.csv").write_text("network,asn\n10.0.0.0/8,1\n")
        result = CliRunner().invoke(app, ["detect", *args, "--engine", "spark", "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert result.output.strip().startswith("error:") and result.output.strip().count("\n") == 0
        assert "Traceback" not in result.output and "java" not in result.output.lower()
    assert "file not found" in CliRunner().invoke(app, ["detect", str(tmp_path / "missing.parquet"), "--engine",
                                                        "spark", "--out", str(tmp_path / "o")]).output
    assert not (tmp_path / "o").exists()


def test_a_rerun_with_previous_on_spark_says_it_is_the_same_log(spark, tmp_path):
    """``--previous`` on the same log: both engines record ``same_log`` (no cluster's run count grows)
    and say so, and carry the same history."""
    import json

    events, _ = planted_world(seed=8, n_benign=100)
    events.write_parquet(tmp_path / "events.parquet")
    runner = CliRunner()
    first = runner.invoke(app, ["detect", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "p0"), "-q"])
    assert first.exit_code == 0, first.output
    previous = {}
    for engine in ("polars", "spark"):
        res = runner.invoke(app, ["detect", str(tmp_path / "events.parquet"), "--previous", str(tmp_path / "p0"),
                                  "--engine", engine, "--out", str(tmp_path / engine)])
        assert res.exit_code == 0, res.output
        assert "the same log as the previous run" in " ".join(res.output.split()), res.output
        run = json.loads((tmp_path / engine / "run.json").read_text())
        previous[engine] = run["previous"]
        # Spark's start is a stage of its own (the summary's total is the run's time)
        assert ("session" in run["timings"]) == (engine == "spark")
    assert previous["polars"]["same_log"] is True
    assert previous["polars"] == previous["spark"]
    a, b = (pl.read_parquet(tmp_path / e / "clusters.parquet") for e in ("polars", "spark"))
    assert a.equals(b)


def test_jobs_cancelled_by_ctrl_c_exit_130_not_as_an_input_error(spark, tmp_path, monkeypatch):
    """PySpark's SIGINT handler cancels every job; the call then returns SPARK_JOB_CANCELLED instead of
    the interrupt. That is an interrupt (exit 130, "interrupted"), not "Spark failed" (exit 2)."""
    from pyspark.errors import PySparkException

    import graphlink.engines.spark.run as spark_run

    def cancelled_run(*args, **kwargs):
        raise PySparkException(message="[SPARK_JOB_CANCELLED] Job 7 cancelled part of cancelled job group 2")

    monkeypatch.setattr(spark_run, "_run", cancelled_run)
    result = CliRunner().invoke(app, ["detect", str(ROOT / "fixtures" / "events.parquet"), "--engine", "spark",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Spark failed" not in result.output
    assert not (tmp_path / "o").exists()


def test_py4j_report_of_an_interrupted_call_is_dropped_and_other_records_kept():
    """py4j logs ``logging.exception("KeyboardInterrupt while sending command.")`` on the root logger when
    Ctrl-C or SIGTERM interrupts a call: a traceback on stderr after the CLI's "interrupted"."""
    import logging

    from graphlink.engines.spark.session import quiet_interrupt_log

    quiet_interrupt_log()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            logging.exception("KeyboardInterrupt while sending command.")
        logging.error("something else went wrong")
    finally:
        root.removeHandler(handler)
    assert seen == ["something else went wrong"]


def test_empty_csv_is_an_empty_run_as_with_polars(spark, tmp_path):
    import graphlink

    for name, text in (("zero.csv", ""), ("blank.csv", "\n  \n")):
        (tmp_path / name).write_text(text)
        a = graphlink.detect(tmp_path / name)
        b = graphlink.detect(str(tmp_path / name), engine="spark", spark=spark)
        assert a.accounts.height == b.accounts.height == 0
        assert_same(a._raw, b._raw)


def test_bad_spark_master_gives_sparks_reason_on_one_line(tmp_path):
    """A master URL Spark would refuse is refused before a session is looked for (``check_master``, first in
    ``get_session`` when a master is given), so a session already running in this process changes nothing: in
    process (was a fresh ``python -m graphlink`` process, 12-50 s of the suite for an import and a refusal; the
    CLI's entry point and its stderr are covered by the subprocess run of ``test_sigterm_removes_the_scratch_copy``
    and tests/test_cli.py)."""
    result = CliRunner().invoke(app, ["detect", str(ROOT / "fixtures" / "events.parquet"), "--engine", "spark",
                                      "--spark-master", "nonsense://x", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "master URL" in lines[0] and "nonsense://x" in lines[0], result.output
    assert "yarn" in lines[0]  # Spark's rule for master URLs, stated
    assert "Traceback" not in result.output and "Exception in thread" not in result.output
    assert not (tmp_path / "o").exists()


def test_spark_options_need_the_spark_engine(tmp_path):
    result = CliRunner().invoke(app, ["detect", str(ROOT / "fixtures" / "events.parquet"), "--spark-master",
                                      "local[2]", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--engine spark" in result.output
    result = CliRunner().invoke(app, ["detect", str(ROOT / "fixtures" / "events.parquet"), "--engine", "dask",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "polars, spark" in result.output


def test_text_timestamps_parse_as_the_polars_engine(spark):
    """Every spelling the polars engine reads (comma fractions, lower-case ``t``/``z``, offsets,
    ``UTC`` suffixes, bare dates, epoch text) gives the same microseconds on Spark; junk is null in both."""
    from graphlink.engines.spark.ingest import timestamp_micros
    from graphlink.stages.timestamps import parse_timestamp
    from pyspark.sql import types as T

    texts = ["2024-01-01 10:00:00,123", "2024-01-01t10:00:00z", "2024-01-01T10:00:00.123456789Z",
             "2024-01-01 10:00:00.5 +01:00", "2024-01-01 10:00:00-0530", "2024-01-01T10:00+05",
             "2024-01-01 10:00:00 utc", "2024-01-01 10:00:00 GMT", "2024-01-01", "2024-01-01 10:00",
             "  2024-01-01T10:00:00Z  ", "2024-02-30 10:00:00", "2024-01-01 25:00:00", "2024-01-01 10:00:00 +25:00",
             "2024-01-01 10:00:00 CET", "03/05/2025", "nope", "", "1704164645", "1704164645123", "1704164645.5",
             "2024-01-01T10:00:00.1234567+00:00", "2024-01-01 10:00:00UTC+02:00"]
    expected = pl.DataFrame({"t": texts}).select(parse_timestamp("t", pl.String)).select(
        pl.col("t").dt.epoch("us"))["t"].to_list()
    frame = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [row[0] for row in frame.select(timestamp_micros("t", T.StringType())).collect()]
    assert got == expected
    assert sum(v is not None for v in expected) >= 15  # most spellings parse: a real comparison


def test_sigterm_removes_the_scratch_copy(tmp_path):
    """``kill PID`` (SIGTERM) during a Spark run: the CLI turns it into an exception, so the run's
    scratch folder (here a CSV's cleaned copy) is deleted and nothing is written to --out (exit 143)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # The fixture's first 3,000 rows: the copy is written sooner (the new JVM's detect after it still takes
    # seconds, so the signal comes mid-run); the whole fixture's copy took 20-30 % longer to appear.
    pl.read_parquet(ROOT / "fixtures" / "events.parquet").head(3000).write_csv(tmp_path / "events.csv")
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch_root), "PYTHONPATH": str(ROOT)}
    env.pop("GRAPHLINK_SPARK_SCRATCH", None)
    proc = subprocess.Popen([sys.executable, "-m", "graphlink", "detect", str(tmp_path / "events.csv"), "--engine",
                             "spark", "--spark-master", "local[2]", "--out", str(tmp_path / "o"), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    deadline = time.monotonic() + 400
    while not list(scratch_root.glob("graphlink-spark-*/events.parquet/_SUCCESS")):  # the copy is written
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    # py4j and the JVM log the interrupted call around it (their loggers, asynchronously: a JVM line
    # may come after ours, or even be cut by it -- "\tat jterminated" then the JVM line's rest on the next
    # line, seen in CI), not an uncaught error: our one line is there, ending a line.
    assert any(line.strip().endswith("terminated") for line in stderr.splitlines()), stderr
    assert not list(scratch_root.glob("graphlink-spark-*")), "scratch folder left behind"
    assert not (tmp_path / "o" / "accounts.parquet").exists()


def test_co_timed_pairs_agree(spark, tmp_path):
    """A ring linked only by co-timing (its own card and address per account, one template, the
    same bursts) next to two companies on one vendor job template at :00: Spark verifies the
    same pairs on the driver and every table agrees."""
    import graphlink
    from tests.test_cotiming import scripted_ring_world
    from tests.test_detection_classes import add_team

    log, ring = scripted_ring_world()
    rng = np.random.default_rng(5)
    add_team(log, rng, "initech", 12, "192.0.2.30", "initech-card", minute=0, template="vendor job {}")
    add_team(log, rng, "umbrella", 12, "198.51.100.40", "umbrella-card", minute=0, template="vendor job {}")
    log.frame().write_parquet(tmp_path / "events.parquet")
    a = graphlink.detect(tmp_path / "events.parquet")
    b = graphlink.detect(str(tmp_path / "events.parquet"), engine="spark", spark=spark)
    assert a._raw.run["counts"]["co_timed_pairs"] > 16
    assert len(set(a.accounts.filter(pl.col("account_id").is_in(ring))["cluster_id"].to_list())) == 1
    assert_same(a._raw, b._raw)


def test_an_unmapped_time_column_is_warned_about_on_spark_as_with_polars(spark, tmp_path):
    """The polars engine's warning for a log whose time column is left unmapped (``ts`` read as no time)."""
    import graphlink

    events = pl.read_parquet(ROOT / "fixtures" / "events.parquet").head(2000)
    events.select(pl.col("account_id").alias("user"), pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                  .alias("ts"), "ip", "payment_fingerprint").write_csv(tmp_path / "log.csv")
    a = graphlink.detect(tmp_path / "log.csv", column_map={"account_id": "user"})
    b = graphlink.detect(str(tmp_path / "log.csv"), engine="spark", spark=spark, column_map={"account_id": "user"})
    hinted = [[w for w in r.warnings if "--map timestamp=ts" in w] for r in (a, b)]
    assert len(hinted[0]) == 1 and hinted[0] == hinted[1]
    unread = [[w for w in r.warnings if "columns not read: 'ts'" in w] for r in (a, b)]  # and the unread column
    assert len(unread[0]) == 1 and unread[0] == unread[1]
