"""Odd input (break-it review of issue 16): the Spark engine gives the polars engine's tables or its error.

Each case failed before: the engines spelled a float id or signal differently,
sniffed a ``;`` CSV differently, accepted what the other refused (a repeated
CSV header, a broken NDJSON line, ``Account_ID`` next to ``account_id``,
``--signal account_id``), or read a leap second or a sub-microsecond
timestamp differently. The rules live in :mod:`graphlink.stages.validation`
(and :mod:`graphlink.stages.reading`), used by both engines.
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink
from graphlink.errors import InputError
from tests._worlds import planted_world

pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")


def assert_same_run(a, b) -> None:
    for name in ("accounts", "clusters", "evidence", "campaigns", "member_affiliations", "activity", "links",
                 "linking"):
        left, right = getattr(a._raw, name), getattr(b._raw, name)
        assert left.schema == right.schema, name
        assert left.equals(right), f"{name} differs"
    assert a._raw.run["counts"] == b._raw.run["counts"]
    # the first rejected rows are named by the polars engine only (a Spark read has no row order): compared without
    left, right = ({k: v for k, v in r._raw.run["inputs"]["events"].items() if k != "rejected_rows"} for r in (a, b))
    assert left == right


def both_refuse(spark, path, **kwargs) -> str:
    """Both engines raise the same one-line InputError; returns it."""
    with pytest.raises(InputError) as polars_error:
        graphlink.detect(path, **kwargs)
    with pytest.raises(InputError) as spark_error:
        graphlink.detect(str(path), engine="spark", spark=spark, **kwargs)
    assert str(polars_error.value) == str(spark_error.value)
    assert "\n" not in str(polars_error.value)
    return str(polars_error.value)


def small_world() -> pl.DataFrame:
    events, _ = planted_world(seed=4, n_benign=30)
    return events


def test_whole_float_ids_and_nanosecond_times_agree(spark, tmp_path):
    """Integers stored as floats (pandas writes an int column with gaps so): ``12.0`` is the id ``12``
    in both engines, NaN a missing id; the prompts (read on the driver by polars) still join to the
    accounts (before: Spark spelled ids ``1.0E18``, polars ``1e+18``, and the prompt signal was lost).
    The same file has nanosecond timestamps (pandas and polars write them), which Spark refused to read
    ("Illegal Parquet type"): read as int64 nanoseconds, floored to microseconds as polars casts them,
    and the session's setting put back after. An unused time-of-day column (Spark 4.0 refused the whole file)
    is left out, as polars leaves it.

    The file is named as a timestamped export (``:`` in the name: Spark failed with "Relative path in
    absolute URI"; it now reads the file through a link in its scratch folder). One Spark detect for
    both (each costs Spark's fixed ~50 jobs), as in the CSV test below."""
    events = small_world()
    number = pl.col("account_id").rank("dense").cast(pl.Float64) * 1000
    ts = pl.col("timestamp").dt.cast_time_unit("ns") + pl.duration(nanoseconds=pl.int_range(pl.len()) % 1000)
    events = events.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(float("nan")).otherwise(number).alias("account_id"),
        (pl.col("payment_fingerprint").rank("dense").cast(pl.Float32)).alias("device"), ts.alias("timestamp"),
        pl.col("timestamp").dt.time().alias("time_of_day"))  # unused; Spark cannot read the type at all
    path = tmp_path / "ev 2024-05-03T10:00.parquet"
    events.write_parquet(path)
    a = graphlink.detect(path, extra_signals=("device",))
    b = graphlink.detect(str(path), engine="spark", spark=spark, extra_signals=("device",))
    assert a._raw.run["inputs"]["events"]["rejected"] == {"missing_account_id": 1}
    assert a._raw.run["inputs"]["events"]["rows_read"] == events.height
    assert a.accounts["account_id"].str.contains(r"^\d+000$").all()  # "1000", not "1000.0" nor "1e3"
    assert a._raw.run["counts"]["distinct_prompt_texts"] > 0 and a.clusters.height >= 1
    assert "device" in a.evidence["kind"].to_list()
    assert_same_run(a, b)
    assert a.accounts["last_seen"].equals(b.accounts["last_seen"])
    assert spark.conf.get("spark.sql.legacy.parquet.nanosAsLong") == "false"


@pytest.mark.parametrize("bad", [0.25, 1e18, float("inf")], ids=["fraction", "beyond-2**53", "infinity"])
def test_float_ids_without_an_integer_spelling_are_refused_alike(spark, tmp_path, bad):
    events = small_world().head(6)
    ids = pl.Series("account_id", [bad if i == 3 else 1.0 + i for i in range(6)])
    events.with_columns(ids).write_parquet(tmp_path / "ids.parquet")
    message = both_refuse(spark, tmp_path / "ids.parquet")
    assert "column account_id, row 4:" in message and "store the column as text or integers" in message
    # A --signal column: the same rule, naming the signal column.
    events.with_columns(pl.Series("device", [0.5 * i for i in range(6)])).write_parquet(tmp_path / "dev.parquet")
    assert "column device, row 2:" in both_refuse(spark, tmp_path / "dev.parquet", extra_signals=("device",))


def test_timestamp_edge_values_parse_as_the_polars_engine(spark):
    """Leap seconds, nanosecond integers (exact floor division) and half-microsecond values (half to
    even) as text, integers and doubles: the same microseconds in both engines."""
    from pyspark.sql import types as T

    from graphlink.engines.spark.ingest import timestamp_micros
    from graphlink.stages.timestamps import parse_timestamp

    texts = ["2024-05-03T23:59:60Z", "2024-05-03T10:00:60.25Z", "2024-05-03T23:59:61Z", "1714730400.0000005",
             "1714730400500000999", "1714730400000000.5", "1714730401000000.5", "1714730400.0000015"]
    longs = [1714730400500000999, 1714730400999999999, 1714730400000000, 1714730400123]
    doubles = [1714730400000000.5, 1714730401000000.5, 1714730400.0000005, 1.7147304005e12]
    for values, polars_type, spark_type in ((texts, pl.String, T.StringType()), (longs, pl.Int64, T.LongType()),
                                            (doubles, pl.Float64, T.DoubleType())):
        expected = pl.DataFrame({"t": values}, schema={"t": polars_type}).select(
            parse_timestamp("t", polars_type)).select(pl.col("t").dt.epoch("us"))["t"].to_list()
        frame = spark.createDataFrame([(v,) for v in values], T.StructType([T.StructField("t", spark_type)]))
        got = [row[0] for row in frame.select(timestamp_micros("t", spark_type)).collect()]
        assert got == expected, (values, got, expected)
    assert expected[0] is not None


def test_inputs_one_engine_accepted_and_the_other_refused_are_refused_alike(spark, tmp_path):
    """A repeated CSV header (Spark renamed it ip1, ip2), a broken NDJSON line (Spark kept the good lines
    silently), names equal up to case (Spark could not read the Parquet file; polars took one of them),
    ``--signal`` naming a built-in column (Spark crashed with a traceback), a UTF-16 CSV (Spark listed
    garbled column names), a CSV named ``.parquet`` and an empty folder (each engine's own words)."""
    (tmp_path / "dup.csv").write_text("account_id,ip,ip\na,1.2.3.4,5.6.7.8\n")
    assert "duplicate column name(s): ip" in both_refuse(spark, tmp_path / "dup.csv")
    (tmp_path / "bad.ndjson").write_text('{"account_id": "a", "ip": "1.2.3.4"}\n{not json\n')
    assert "line 2 is not a JSON object" in both_refuse(spark, tmp_path / "bad.ndjson")
    events = small_world().head(20)
    events.with_columns(pl.lit("x").alias("Account_ID")).write_parquet(tmp_path / "case.parquet")
    assert "'account_id' and 'Account_ID' differ only in case" in both_refuse(spark, tmp_path / "case.parquet")
    events.rename({"ip": "IP"}).with_columns(pl.lit("x").alias("ip")).write_csv(tmp_path / "case.csv")
    assert "'ip' and 'IP' differ only in case" in both_refuse(spark, tmp_path / "case.csv")
    events.write_parquet(tmp_path / "events.parquet")
    assert "already a built-in signal" in both_refuse(spark, tmp_path / "events.parquet",
                                                       extra_signals=("account_id",))
    # A datetime as a --signal: printed differently by the engines (tables differed); refused alike.
    events.with_columns(pl.col("timestamp").alias("seen")).write_parquet(tmp_path / "seen.parquet")
    assert "column seen: holds datetimes" in both_refuse(spark, tmp_path / "seen.parquet", extra_signals=("seen",))
    events.with_columns(pl.col("timestamp").dt.time().alias("tod")).write_parquet(tmp_path / "tod.parquet")
    assert "column tod: holds datetimes" in both_refuse(spark, tmp_path / "tod.parquet", extra_signals=("tod",))
    (tmp_path / "utf16.csv").write_bytes(events.write_csv().encode("utf-16"))
    assert "UTF-16" in both_refuse(spark, tmp_path / "utf16.csv")
    # A CSV named .parquet, an empty folder: the same words (were polars' and Spark's own).
    (tmp_path / "csv.parquet").write_text(events.write_csv())
    assert "not a Parquet file" in both_refuse(spark, tmp_path / "csv.parquet")
    (tmp_path / "empty.parquet").mkdir()
    (tmp_path / "empty.parquet" / "_SUCCESS").write_text("")
    assert "is an empty folder" in both_refuse(spark, tmp_path / "empty.parquet")
    # The caller's session keeps its own case setting.
    assert spark.conf.get("spark.sql.caseSensitive") == "false"


def test_accounts_file_float_ids_follow_the_events_rule(tmp_path):
    """The accounts file (read by polars for both engines) spells whole-number float ids as the events
    file does, so ``12.0`` in one joins ``12`` in the other; a fraction is refused naming the row."""
    from graphlink.stages.ingest import load_accounts

    pl.DataFrame({"account_id": [12.0, 7.0, float("nan")], "email_domain": ["a.com", "b.com", "c.com"]}
                 ).write_parquet(tmp_path / "accounts.parquet")
    assert load_accounts(tmp_path / "accounts.parquet").frame["account_id"].to_list() == ["12", "7"]
    pl.DataFrame({"account_id": [1.0, 2.5]}).write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="column account_id, row 2: floating-point"):
        load_accounts(tmp_path / "bad.parquet")


def test_a_json_array_file_is_refused_by_both(spark, tmp_path):
    """``json.dump(records)`` writes one JSON array, not NDJSON: polars refused it, Spark read its
    elements as rows and ran (session 8's review)."""
    path = tmp_path / "events.json"
    path.write_text('[{"account_id": "a", "ip": "1.2.3.4"},\n {"account_id": "b", "ip": "1.2.3.4"}]\n')
    assert "the file is one JSON array, not one JSON object per line" in both_refuse(spark, path)


def test_semicolon_csv_with_odd_times_line_breaks_and_names_agrees(spark, tmp_path):
    """Four break-it findings in one ``;`` CSV, one Spark detect (each costs Spark's fixed ~50 jobs; were
    four tests). A European spreadsheet's ``;`` CSV is sniffed alike (Spark read one column before). In
    the timestamp column: a leap second ``23:59:60`` is the next second in both (Spark gave null: an
    unparseable row); nanosecond epochs and half-microsecond fractions round alike (Spark was 1
    microsecond later in first/last seen); epoch seconds written ``.17147304e10`` or ``+.17147304e10``
    (polars' float parser reads them; Spark's numeric pattern wanted a digit before the dot: null).
    Session 8's review: a prompt with line breaks inside its quotes (``\\n`` and ``\\r\\n``) is one
    field of one row for both engines (Spark split the row at the break: rows unreadable, prompts cut); a
    ``--signal`` column named ``dev.id`` is a column, not a struct's field (Spark failed with
    UNRESOLVED_COLUMN). Glob braces in the file's name: Spark named another file; it now reads the file
    through a link in its scratch folder, and messages still name the file."""
    events = small_world()
    row = pl.int_range(pl.len()) % 6
    ts = pl.col("timestamp")
    nanos = ts.dt.epoch("us").cast(pl.Int64) * 1000 + 999
    epoch = ts.dt.epoch("s").cast(pl.String)
    events = events.with_columns(
        pl.when(row == 1).then(ts.dt.strftime("%Y-%m-%dT%H:%M:60Z"))
        .when(row == 2).then(nanos.cast(pl.String))  # epoch nanoseconds as text: floor to microseconds
        .when(row == 3).then((ts.dt.epoch("us").cast(pl.String) + ".5"))  # half a microsecond
        .when(row == 4).then(pl.concat_str([pl.lit("."), epoch, pl.lit("e10")]))
        .when(row == 5).then(pl.concat_str([pl.lit(" +."), epoch, pl.lit("e10 ")]))
        .otherwise(ts.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).alias("timestamp"),
        pl.when(pl.int_range(pl.len()) % 4 == 0).then(pl.col("prompt") + "\nsecond line, with a comma\r\nthird")
        .otherwise(pl.col("prompt")).alias("prompt"),
        (pl.col("payment_fingerprint") + "-d").alias("dev.id"))
    path = tmp_path / "ev{a,b}.csv"
    events.write_csv(path, separator=";")
    a = graphlink.detect(path, extra_signals=("dev.id",))
    b = graphlink.detect(str(path), engine="spark", spark=spark, extra_signals=("dev.id",))
    assert a._raw.run["inputs"]["events"]["rejected"] == {}
    assert a._raw.run["inputs"]["events"]["rows_read"] == events.height
    assert a.clusters.height >= 1
    assert (a._raw.evidence["kind"] == "dev.id").any()
    assert_same_run(a, b)
    assert a.accounts["first_seen"].equals(b.accounts["first_seen"])
    assert a.accounts["last_seen"].equals(b.accounts["last_seen"])
