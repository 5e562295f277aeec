"""Time the Spark engine's signal stage alone (ingest, then ``spark_signals``), outputs saved for comparison.

Usage::

    python benchmarks/spark_signal_stage.py WORLD OUT_DIR [--master local[2]]

WORLD is a ``graphlink simulate`` folder. Prints the ingest seconds, the
signal stage's seconds and its per-extractor laps, and writes the pairs
(sorted), the value texts, the per-account value counts and the stats to
OUT_DIR, so two versions of the code can be compared table by table
(``polars.DataFrame.equals``). Used for session 4 in ``benchmarks/spark-results.md``.
"""
import json
import sys
import time
from pathlib import Path

import polars as pl
from pyspark.sql import SparkSession

world, out = Path(sys.argv[1]), Path(sys.argv[2])
master = sys.argv[sys.argv.index("--master") + 1] if "--master" in sys.argv else "local[2]"
out.mkdir(parents=True, exist_ok=True)
spark = (SparkSession.builder.master(master).appName("signals").config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "8")
         .config("spark.driver.memory", "4g").config("spark.eventLog.enabled", "true")
         .config("spark.eventLog.dir", str(out.resolve())).config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
from graphlink.config import PipelineConfig  # noqa: E402
from graphlink.engines.spark.ingest import account_index, read_events, to_polars  # noqa: E402
from graphlink.engines.spark.signals import spark_signals, to_spark  # noqa: E402
from graphlink.stages.ingest import load_accounts  # noqa: E402

config = PipelineConfig()
scratch = str(out / "scratch")
t0 = time.perf_counter()
sev = read_events(spark, str(world / "events.parquet"), config.ingest, (), scratch)
acc = load_accounts(world / "accounts.parquet", config.ingest) if (world / "accounts.parquet").exists() else None
index = account_index(sev, acc)
ids = to_spark(spark, index.filter(pl.col("events") > 0).select("account_id", "account_idx"))
t1 = time.perf_counter()
found = spark_signals(sev, ids, index, config.signals, acc, scratch)
t2 = time.perf_counter()
print("ingest", round(t1 - t0, 1), "signals", round(t2 - t1, 1), found.seconds, flush=True)
to_polars(found.pairs).sort("kind", "value_key", "account_idx").write_parquet(out / "pairs.parquet")
found.values.sort("kind", "value_key").write_parquet(out / "values.parquet")
found.value_counts.sort("kind", "account_idx").write_parquet(out / "value_counts.parquet")
(out / "stats.json").write_text(json.dumps({"stats": found.stats, "ingest": round(t1 - t0, 1),
                                            "signals": round(t2 - t1, 1), "laps": found.seconds}, indent=1))
