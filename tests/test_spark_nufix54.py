"""The Spark engine reads the placeholder spellings as the polars engine does (review nu54): ``NA``, ``#N/A``,
``(null)`` ids rejected, a ``NaT``/``nan`` timestamp cell a missing time (row kept)."""

from __future__ import annotations

import pytest

import graphlink

pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")


def test_spark_reads_placeholder_ids_and_timestamps_as_polars(spark, tmp_path):
    rows = [f"ok{i},2025-01-01T00:{i:02d}:00Z,10.0.{i}.1,pf{i // 2}" for i in range(20)]
    rows += [f"{s},2025-01-01T01:00:00Z,10.5.0.{i},pfz{i}" for i, s in enumerate(["NA", "#N/A", " (null) ", "nil"])]
    rows += [f"ts{i},{s},10.6.0.{i},pfy{i}" for i, s in enumerate(["NaT", "nan", "None", "null"])]
    path = tmp_path / "ph.csv"
    path.write_text("account_id,timestamp,ip,payment_fingerprint\n" + "\n".join(rows) + "\n")
    a = graphlink.detect(path)
    b = graphlink.detect(str(path), engine="spark", spark=spark)
    for run in (a.run, b.run):
        assert run["inputs"]["events"]["rejected"] == {"placeholder_account_id": 4}
        assert run["inputs"]["events"]["rows_without_timestamp"] == 4
