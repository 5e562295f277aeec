"""Shared test fixtures: a small, seeded world with planted rings."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

T0 = 1_714_550_400  # 2024-05-01T08:00:00Z
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega apple river stone cloud garden window music paper").split()


def planted_world(seed: int = 0, n_background: int = 60, ring_size: int = 8) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Events of ``n_background`` independent accounts plus two rings.

    Ring ``card``: shares one payment fingerprint and a /24 of IPs.
    Ring ``template``: sends one templated prompt, in lock-step minutes, from a
    pool of three server addresses (a lock-step template ring that shares no
    infrastructure at all is not linked: prompts and timing only corroborate,
    see ``tests/test_detection_classes.py``).
    Returns ``(events, rings)`` with the ring members by name.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_background):
        n = int(rng.integers(3, 8))
        frames.append(pl.DataFrame({
            "account_id": [f"user{i:03d}"] * n,
            "timestamp": (T0 + rng.integers(0, 2 * 86_400, n)).tolist(),
            "ip": [f"10.{i}.{int(rng.integers(0, 255))}.{int(rng.integers(1, 255))}" for _ in range(n)],
            "payment_fingerprint": [f"card-{i}"] * n,
            "prompt": [" ".join(rng.choice(WORDS, 7)) for _ in range(n)],
        }))
    rings = {"card": [f"card{i:02d}" for i in range(ring_size)],
             "template": [f"tmpl{i:02d}" for i in range(ring_size)]}
    for j, acc in enumerate(rings["card"]):
        frames.append(pl.DataFrame({
            "account_id": [acc] * 6,
            "timestamp": (T0 + 3600 * 20 + rng.integers(0, 86_400, 6)).tolist(),
            "ip": [f"203.0.113.{int(rng.integers(1, 255))}" for _ in range(6)],
            "payment_fingerprint": ["card-shared"] * 6,
            "prompt": [" ".join(rng.choice(WORDS, 7)) for _ in range(6)],
        }))
    minutes = T0 + 60 * np.sort(rng.choice(24 * 60, 12, replace=False))
    for j, acc in enumerate(rings["template"]):
        frames.append(pl.DataFrame({
            "account_id": [acc] * 12,
            "timestamp": (minutes + rng.integers(0, 30, 12)).tolist(),
            "ip": [f"198.51.100.{int(rng.integers(1, 4))}" for _ in range(12)],
            "payment_fingerprint": [f"tmpl-card-{j}"] * 12,
            "prompt": [f"Think step by step and show all of your reasoning about {w} in detail please"
                       for w in rng.choice(WORDS, 12)],
        }))
    events = pl.concat(frames).with_columns(pl.from_epoch("timestamp").dt.replace_time_zone("UTC"))
    return events, rings


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def fixture_result():
    """``graphlink.detect(fixtures/events.parquet, fixtures/accounts.parquet)``, once per test process: the
    fresh (never saved and loaded) :class:`graphlink.Result` of the bundled fixture, for the tests that read a
    detect's result in memory (3-4 CPU-s a detect; was one detect of the same inputs in each of them). Read only:
    a test that changes a result detects its own."""
    import graphlink

    return graphlink.detect(FIXTURES / "events.parquet", FIXTURES / "accounts.parquet")


@pytest.fixture(scope="session")
def fixture_detected(fixture_result, tmp_path_factory) -> Path:
    """:func:`fixture_result` saved (``graphlink.detect(fixtures/events.parquet, fixtures/accounts.parquet)
    .save(...)``), once per test process: several tests start from that folder. Not to be changed: take a copy
    (``fixture_outputs``, or ``shutil.copytree`` in a module fixture)."""
    return fixture_result.save(tmp_path_factory.mktemp("fixture-detected") / "out")


@pytest.fixture
def fixture_cli_detect(fixture_result, monkeypatch):
    """``graphlink detect fixtures/events.parquet --accounts fixtures/accounts.parquet`` (default settings, polars, no
    ``--previous``) answered with a copy of :func:`fixture_result`'s run instead of detecting again, for the tests of
    what the CLI prints and writes from a fixture run (its tables, ``next:`` hints, piped rows, ``--json``): ~3.5
    CPU-s a detect saved (session 60). The CLI's own detect of these files writes the API's bytes
    (tests/test_output_identity.py runs it for real); any other input, setting or engine detects as usual."""
    import copy
    import dataclasses

    import graphlink.engines as engines
    from graphlink.config.build import build_config

    real, raw, default = engines.run_engine, fixture_result._raw, build_config()

    def run_engine(engine, events, accounts=None, config=None, progress=None, previous=None, **kwargs):
        if (engine == "polars" and previous is None and not kwargs.get("spark") and isinstance(events, Path)
                and events == FIXTURES / "events.parquet" and accounts is not None
                and Path(accounts) == FIXTURES / "accounts.parquet" and config == default):
            return dataclasses.replace(raw, run=copy.deepcopy(raw.run), warnings=list(raw.warnings))
        return real(engine, events, accounts, config, progress, previous, **kwargs)

    monkeypatch.setattr(engines, "run_engine", run_engine)
    return run_engine


@pytest.fixture
def fixture_outputs(fixture_detected, tmp_path) -> Path:
    """A copy of :func:`fixture_detected` at ``tmp_path / "out"``, the test's own to read or change."""
    return Path(shutil.copytree(fixture_detected, tmp_path / "out"))


@pytest.fixture(scope="session")
def world() -> tuple[pl.DataFrame, dict[str, list[str]]]:
    return planted_world()


#: Settings fixed when a JVM starts, for every Spark JVM the tests start (the shared session below and the
#: CLI runs in subprocesses), through a ``spark-defaults.conf`` in ``SPARK_CONF_DIR`` (unless the caller set
#: one): no web UI (its listener does work for every job) and a JVM tuned for short work (the client JIT
#: only, the serial collector). The first detect of a new JVM went from 27-33 s to 20-22 s, later ones
#: 8-10 s either way (fixture world, one at a time, 3 runs each); the suite 676 -> 592 s with the split
#: of the slowest Spark test and ``--dist worksteal`` (pyproject.toml).
SPARK_TEST_START_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
}
if "SPARK_CONF_DIR" not in os.environ:
    _conf_dir = tempfile.mkdtemp(prefix="graphlink-spark-conf-")
    with open(os.path.join(_conf_dir, "spark-defaults.conf"), "w", encoding="utf-8") as _file:
        _file.writelines(f"{key} {value}\n" for key, value in SPARK_TEST_START_CONF.items())
    os.environ["SPARK_CONF_DIR"] = _conf_dir  # inherited by xdist workers and CLI subprocesses
    atexit.register(shutil.rmtree, _conf_dir, True)

#: Settings of the test session for tiny worlds, put back before every Spark test (``spark`` below): a
#: test that goes through the CLI with ``--spark-master`` gets :func:`graphlink.engines.spark.session.get_session`'s
#: settings applied to the shared session (8 shuffle partitions, adaptive execution on: the product's path,
#: still exercised there), which used to stay for every later test.
SPARK_TEST_CONF = {
    # Small worlds: one busy partition. Adaptive execution (Spark's default, left on by get_session)
    # coalesced these shuffles to one partition anyway (they are far below its 1 MB minimum partition),
    # so the tests see the same partitioning, without re-planning every query stage at run time.
    # CPU (process tree) of one Spark detect of planted_world(7, 120), 3 interleaved runs, load 11:
    # adaptive + 2 partitions 9.6-15.5 s, adaptive + 8 (after the CLI test) 11.1-12.9 s,
    # no adaptive + 2: 8.0-13.7 s, no adaptive + 1: 6.8-10.6 s.
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    # Tiny worlds: compiling each query's whole-stage Java code costs more than running it. The fixture's
    # detect on one session, codegen on/off interleaved x3 (loaded machine): 173/131, 90/51, 48/39 s.
    "spark.sql.codegen.wholeStage": "false",
    # The same for the code generated per operator (projections, predicates, orderings): interpreted,
    # none compiled (Spark's own test suites run this path; an internal setting, for tests only). One
    # detect of planted_world(7, 120) on one session, interleaved x3, load 5-6: 15.9 -> 13.0 s median
    # (and 12.3 -> 10.8 s); the parity tests check the outputs are still the polars engine's.
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    # Bookkeeping of each of the ~50 queries a detect runs, no output changed: the plan text posted to
    # Spark's listeners at every query's start in the short form (default: "formatted"), and cached
    # (persisted) tables held uncompressed. With the two settings above, interleaved x3 at load 15-16:
    # 48.1 -> 28.6 s median per detect (noisy).
    "spark.sql.ui.explainMode": "simple",
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}


@pytest.fixture(scope="session")
def spark_session():
    """One local Spark session (2 cores) for every Spark test of the run: starting Java costs seconds.
    Under ``pytest -n 2`` (README) the Spark tests' modules are all dealt to the first worker
    (:func:`pytest_collection_modifyitems`), so one session serves them; a worker that steals a Spark test
    starts its own. (Session 42 kept them on one worker by ``--dist loadgroup``, without steals, when they
    were most of the suite: 1,191 s wall at load 10-12; since sessions 53-54 they are ~a quarter of it.)"""
    pytest.importorskip("pyspark", reason="the test extra installs pyspark; .ci/run installs Java")
    from graphlink.engines.spark.session import get_session

    session = get_session(None, "local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def spark(spark_session):
    """The shared Spark session with :data:`SPARK_TEST_CONF` (re)applied."""
    for key, value in SPARK_TEST_CONF.items():
        spark_session.conf.set(key, value)
    return spark_session


def pytest_configure(config):
    """Write the bytecode of graphlink's own modules once, before any test process imports them (the xdist
    controller, or the only process without xdist), so that every fresh interpreter the run starts reads it
    instead of compiling graphlink's source again: the xdist workers, the ~40 CLI subprocesses (crash, kill,
    fresh-process and install tests), Spark's Python workers (each imports graphlink to run the engine's pandas
    functions) and the report's plot helpers.

    Why it is needed: with ``PYTHONDONTWRITEBYTECODE`` set (this machine's environment, hence CI's) no process
    writes ``__pycache__``, so each one compiled the graphlink modules it imported (~0.5 CPU-s for all 200; a CLI
    detect subprocess 2.7 -> 2.2 CPU-s with them cached, three runs each, load ~17). The variable stops writing,
    not reading. ``compileall`` writes what a run without the variable would have written: the package's own
    ``__pycache__`` folders (git-ignored), checked against each source's size and mtime as usual, so an edited
    module is compiled afresh. Nothing else is compiled (site-packages ship their bytecode) and nothing is
    written elsewhere. A read-only checkout is left as it is (the run is then as slow as before, never wrong)."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller compiled before starting it
        return
    import compileall

    try:
        compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "graphlink"), quiet=2)
    except OSError:
        pass


def _runs_spark(item) -> bool:
    """Whether a collected test runs a Spark detect or starts a JVM (the suite's long tests: 50-340 s each on
    a loaded 2-core machine, most others under 30 s)."""
    return "spark" in getattr(item, "fixturenames", ()) or item.nodeid.startswith("tests/test_spark_engine")


def pytest_collection_modifyitems(config, items):
    """Under xdist (README: ``pytest -n 2``, ``--dist worksteal``): every module with a Spark test at the head of
    the FIRST worker's share, so one JVM serves the whole run and the long tests start at once.

    ``worksteal`` hands worker k the k-th contiguous slice of the collection (``len // workers`` items, the
    rest split alike), runs it in order and, when a worker runs dry, moves half of the other's queue (its
    tail) over. In collection (file name) order the Spark tests sat in the middle and at the end
    (``test_spark_engine*.py``), so a 100-340 s test could be the last one left on one worker while the other
    idled. Here the modules with a Spark test are put, whole (module fixtures computed once), at the head of
    worker 0's slice; every other test keeps its order and the other workers steal worker 0's light tail.

    Why one worker, not dealt between both (session 53-56): a JVM's first Spark detect costs ~3-4x a warm one
    (class loading, the JIT, Spark's Python workers: 44 CPU-s vs 5-16 for the next ones in session 57's
    profile of main, load ~17), so a second JVM costs ~30 CPU-s and ~1 GB more for nothing: the suite is
    CPU-bound (session 55: the Spark tests' threads runnable in 95-97 % of samples), so two JVMs do not
    overlap waits either. The Spark modules are ~a quarter to a third of the suite's CPU, well under one
    worker's half, so the other worker's light tests and its steals keep both busy to the end. Every worker
    collects the same list (deterministic), as xdist requires."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2 or not items:
        return
    modules: dict[str, list] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    heads: list[list] = [[] for _ in range(workers)]
    light = []
    for module in modules.values():
        (heads[0] if any(map(_runs_spark, module)) else light).extend(module)
    ordered, remaining, start = [], len(items), 0
    for k in range(workers):  # the slice sizes of xdist's worksteal (scheduler/worksteal.py, check_schedule)
        size = remaining // (workers - k)
        remaining -= size
        take = max(0, size - len(heads[k]))
        ordered.extend(heads[k] + light[start:start + take])
        start += take
    ordered.extend(light[start:])
    assert len(ordered) == len(items)
    items[:] = ordered
