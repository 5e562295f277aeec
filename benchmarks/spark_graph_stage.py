"""Time the Spark engine's graph and communities stages alone, from saved signal pairs.

Usage::

    python benchmarks/spark_graph_stage.py save WORLD            # ingest + signals once, pairs saved
    python benchmarks/spark_graph_stage.py run WORLD OUT_DIR     # spark_project + spark_partition, timed

``save`` writes the signal pairs and driver tables of WORLD (a ``graphlink
simulate`` folder) to ``/tmp/spark3/gh_<world name>``; ``run`` reads them,
times the two stages in ``local[2]`` and writes edges, partition, signal
table and memberships to OUT_DIR, so two versions of the code can be
compared table by table (``polars.DataFrame.equals``). Used for session 3 in
``benchmarks/spark-results.md``.
"""
import sys
import time
from pathlib import Path
import polars as pl
mode, world = sys.argv[1], Path(sys.argv[2]); d = Path("/tmp/spark3/gh_" + world.name); d.mkdir(parents=True, exist_ok=True)
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[2]").appName("gh").config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "8")
         .config("spark.driver.memory", "4g").config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
from graphlink.config import PipelineConfig
from graphlink.engines.spark.ingest import read_events, account_index, to_polars
from graphlink.engines.spark.signals import spark_signals, to_spark
from graphlink.engines.spark.projection import spark_project
from graphlink.engines.spark.communities import spark_partition
from graphlink.stages.ingest import load_accounts
config = PipelineConfig()
if mode == "save":
    sev = read_events(spark, str(world / "events.parquet"), config.ingest, (), "/tmp/spark3/scr")
    acc = load_accounts(world / "accounts.parquet", config.ingest)
    index = account_index(sev, acc)
    ids = to_spark(spark, index.filter(pl.col("events") > 0).select("account_id", "account_idx"))
    found = spark_signals(sev, ids, index, config.signals, acc, "/tmp/spark3/scr")
    found.pairs.write.mode("overwrite").parquet(str(d / "pairs"))
    found.values.write_parquet(d / "values.parquet"); found.value_counts.write_parquet(d / "vc.parquet")
    index.write_parquet(d / "index.parquet")
else:
    pairs = spark.read.parquet(str(d / "pairs")).localCheckpoint()
    pairs.count()
    values = pl.read_parquet(d / "values.parquet"); vc = pl.read_parquet(d / "vc.parquet"); n = pl.read_parquet(d / "index.parquet").height
    t = time.perf_counter()
    proj = spark_project(pairs, values, vc, config.graph, seed=config.signals.seed)
    t1 = time.perf_counter(); print("graph", round(t1 - t, 1), proj.stats, flush=True)
    part, on_driver = spark_partition(proj.edges, n, config.communities)
    t2 = time.perf_counter(); print("communities", round(t2 - t1, 1), flush=True)
    edges = to_polars(proj.edges).sort("source", "target")
    out = Path(sys.argv[3]); out.mkdir(exist_ok=True)
    edges.write_parquet(out / "edges.parquet"); part.write_parquet(out / "part.parquet"); proj.signals.write_parquet(out / "signals.parquet")
    to_polars(proj.memberships).sort("account_idx", "signal_idx").write_parquet(out / "memb.parquet")
    print("saved", edges.height, part.height)
