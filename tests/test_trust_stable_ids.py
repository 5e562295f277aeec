"""Stable cluster ids across runs: matching rules, and a ring keeping its id when the log grows."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.errors import ConfigError, InputError
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from graphlink.stages.stable_ids import MAPPING_SCHEMA, match_clusters
from tests._worlds import planted_world


def _frame(assignment: dict[str, int | None]) -> pl.DataFrame:
    return pl.DataFrame({"account_id": list(assignment), "cluster_id": list(assignment.values())},
                        schema={"account_id": pl.String, "cluster_id": pl.Int64})


def _greedy_oracle(prev: dict, new: dict, min_jaccard: float) -> dict[int, int]:
    """Plain-Python greedy best-first matching: new id -> previous id (a previous cluster counts only its
    members seen in the new log)."""
    def groups(assignment):
        out: dict[int, set] = {}
        for account, cluster in assignment.items():
            if cluster is not None:
                out.setdefault(cluster, set()).add(account)
        return out

    p, n = groups({a: c for a, c in prev.items() if a in new}), groups(new)
    pairs = []
    for pid, pm in p.items():
        for nid, nm in n.items():
            shared = len(pm & nm)
            if shared:
                jac = shared / len(pm | nm)
                if jac >= min_jaccard:
                    pairs.append((-jac, -shared, pid, nid))
    used_p, used_n, out = set(), set(), {}
    for _, _, pid, nid in sorted(pairs):
        if pid not in used_p and nid not in used_n:
            used_p.add(pid)
            used_n.add(nid)
            out[nid] = pid
    return out


assignments = st.dictionaries(st.sampled_from([f"a{i}" for i in range(30)]),
                              st.one_of(st.none(), st.integers(1, 6)), max_size=30)


@settings(max_examples=150, deadline=None, database=None)
@given(assignments, assignments, st.sampled_from([0.1, 0.3, 0.5, 1.0]), st.integers(0, 20), st.randoms())
def test_matching_is_greedy_best_first_one_to_one_and_order_free(prev, new, min_jaccard, floor, rnd):
    mapping = match_clusters(_frame(prev), _frame(new), min_jaccard, id_floor=floor)
    assert mapping.schema == MAPPING_SCHEMA
    matched = mapping.filter(pl.col("status") == "matched")
    assert dict(matched.select("cluster_id", "previous_id").iter_rows()) == _greedy_oracle(prev, new, min_jaccard)
    assert (matched["stable_id"] == matched["previous_id"]).all()
    assert (matched["jaccard"] >= min_jaccard).all()
    new_ids = set(v for v in new.values() if v is not None)
    prev_ids = set(v for v in prev.values() if v is not None)
    # every new cluster gets exactly one id; ids are unique
    published = mapping.drop_nulls("cluster_id")
    assert set(published["cluster_id"]) == new_ids and published["stable_id"].is_unique().all()
    fresh = mapping.filter(pl.col("status") == "new")
    top = max(prev_ids | {floor})
    assert sorted(fresh["stable_id"]) == list(range(top + 1, top + 1 + fresh.height))
    # fresh ids follow the new run's numbering (largest cluster first)
    assert fresh.sort("stable_id")["cluster_id"].is_sorted()
    vanished = set(mapping.filter(pl.col("status") == "vanished")["previous_id"])
    merged = mapping.filter(pl.col("status") == "merged")
    assert vanished | set(merged["previous_id"]) == prev_ids - set(matched["previous_id"])
    assert not vanished & set(merged["previous_id"])
    # a merged previous cluster names the stable id of the new cluster holding most of its members
    stable_of = dict(published.select("cluster_id", "stable_id").iter_rows())
    for pid, into in merged.select("previous_id", "stable_id").iter_rows():
        members = [a for a, c in prev.items() if c == pid and a in new]
        assert 2 * sum(stable_of.get(new.get(a)) == into for a in members) > len(members)
    for pid in vanished:
        members = [a for a, c in prev.items() if c == pid and a in new]
        assert all(2 * sum(new.get(a) == nid for a in members) <= len(members) for nid in new_ids)
    # the row order of the inputs does not matter
    shuffled = match_clusters(_frame(dict(rnd.sample(list(prev.items()), len(prev)))),
                              _frame(dict(rnd.sample(list(new.items()), len(new)))), min_jaccard, id_floor=floor)
    assert shuffled.equals(mapping)


def test_ties_break_by_smaller_previous_then_new_id():
    prev = _frame({"a": 1, "b": 1, "c": 2, "d": 2})
    new = _frame({"a": 1, "b": 1, "c": 1, "d": 1})  # both previous clusters overlap 0.5
    mapping = match_clusters(prev, new)
    assert mapping.select("cluster_id", "previous_id", "status").rows() == [
        (1, 1, "matched"), (None, 2, "merged")]  # cluster 2 went into new 1 (was 'vanished' before session 13)


def test_min_jaccard_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError, match="previous_min_jaccard"):
        match_clusters(_frame({"a": 1}), _frame({"a": 1}), 0.0)


def _grown_world():
    """Day 1..14 with rings 0 and 1; then one more day, ring 1 gone and a new ring 2."""
    before, _ = planted_world(seed=0)
    with_new, _ = planted_world(seed=0, rings=(25, 15, 12))
    last = with_new["timestamp"].max()
    extra_day = (with_new.filter(pl.col("timestamp") > last - pl.duration(days=1))
                 .with_columns(pl.col("timestamp") + pl.duration(days=1)))
    after = pl.concat([with_new, extra_day]).filter(~pl.col("account_id").str.starts_with("ring1_"))
    return before, after


def _ring_ids(accounts: pl.DataFrame) -> dict[str, list]:
    rings = accounts.filter(pl.col("account_id").str.starts_with("ring"))
    return dict(rings.group_by(pl.col("account_id").str.slice(0, 5).alias("ring"))
                .agg(pl.col("cluster_id").unique().sort()).sort("ring").iter_rows())


def test_ring_keeps_its_id_when_the_log_grows_by_a_day(tmp_path):
    before, after = _grown_world()
    first = run_detect(before)
    write_outputs(first, tmp_path / "day1")
    second = run_detect(after, previous=tmp_path / "day1")
    old, new = _ring_ids(first.accounts), _ring_ids(second.accounts)
    assert old["ring0"] == new["ring0"] and len(old["ring0"]) == 1
    assert new["ring2"][0] > first.run["counts"]["max_cluster_id"]
    section = second.run["previous"]
    assert section["vanished_ids"] == old["ring1"]
    assert len(new["ring2"]) == 1 and new["ring2"][0] in section["new_ids"]
    assert old["ring0"][0] in section["matched_ids"]
    assert section["matched"] + section["new"] == second.clusters.height
    # all three outputs agree on the re-keyed ids
    ids = set(second.clusters["cluster_id"])
    assert set(second.accounts["cluster_id"].drop_nulls()) == ids
    assert set(second.evidence["cluster_id"]) <= ids
    assert second.clusters["cluster_id"].is_sorted() and second.evidence["cluster_id"].is_sorted()
    # evidence for the old ring is still attached to its (kept) id
    ring0 = second.evidence.filter(pl.col("cluster_id") == old["ring0"][0])
    assert "pf_ring0_0" in ring0["value"].to_list()


def test_vanished_ids_are_never_reused(tmp_path):
    before, after = _grown_world()
    write_outputs(run_detect(before), tmp_path / "r1")
    write_outputs(run_detect(after, previous=tmp_path / "r1"), tmp_path / "r2")
    r2 = json.loads((tmp_path / "r2" / "run.json").read_text())
    # Third run on the first world again: ring 1 comes back but its old id vanished in r2.
    third = run_detect(before, previous=tmp_path / "r2")
    assert third.clusters["cluster_id"].min() >= 1
    assert set(third.run["previous"]["new_ids"]) & set(range(1, r2["counts"]["max_cluster_id"] + 1)) == set()


def test_missing_previous_folder_is_an_input_error(tmp_path):
    events, _ = planted_world(seed=0, n_benign=20, rings=(6,))
    with pytest.raises(InputError, match="not a previous graphlink output"):
        run_detect(events, previous=tmp_path / "nope")


def test_cli_previous_reports_matched_new_and_vanished(tmp_path):
    before, after = _grown_world()
    before.write_parquet(tmp_path / "day1.parquet")
    after.write_parquet(tmp_path / "day2.parquet")
    def cli(*args):  # in process (was python -m graphlink: ~3 s of start-up a run, nothing it asserted)
        return CliRunner().invoke(app, list(map(str, args)))

    out = tmp_path / "out"
    assert cli("detect", tmp_path / "day1.parquet", "--out", out).exit_code == 0
    first = pl.read_parquet(out / "accounts.parquet")
    # --previous may name the folder being replaced: it is read before anything is written.
    proc = cli("detect", tmp_path / "day2.parquet", "--out", out, "--previous", out)
    assert proc.exit_code == 0, proc.output
    second = pl.read_parquet(out / "accounts.parquet")
    run = json.loads((out / "run.json").read_text())
    old, new = _ring_ids(first), _ring_ids(second)
    assert new["ring0"] == old["ring0"]
    assert run["previous"]["vanished_ids"] == old["ring1"]
    assert new["ring2"][0] in run["previous"]["new_ids"]
    # Piped: summary lines go to stderr (stdout carries the tab-separated cluster rows).
    assert "vs previous run:" in proc.stderr and "vanished" in proc.stderr
    from graphlink.views.words import plural

    assert f"{plural(run['previous']['matched'], 'cluster')} kept their id" in proc.stderr


def test_rerun_on_the_same_log_counts_nobody_gone_quiet(tmp_path):
    """``quiet_members`` needs time after the previous run: on the same log it is null (not every
    member), while a grown log counts the previous members with no later event."""
    events, _ = planted_world(seed=3, n_benign=30, rings=(8, 6))
    first = run_detect(events)
    write_outputs(first, tmp_path / "day1")
    again = run_detect(events, previous=tmp_path / "day1")
    kept = again.clusters  # the same log again: no later period, so no run more (runs stays 1)
    assert (kept["runs"] == 1).all() and again.run["previous"]["same_log"] is True
    assert kept["quiet_members"].null_count() == kept.height
    assert (kept["new_members"] == 0).all()
    # A later day where one ring member is silent: exactly that member is quiet.
    ring_member = first.accounts.drop_nulls("cluster_id").row(0, named=True)
    later = (events.filter(pl.col("account_id") != ring_member["account_id"])
             .with_columns(pl.col("timestamp") + pl.duration(days=30)))
    grown = run_detect(pl.concat([events, later]), previous=tmp_path / "day1")
    row = grown.clusters.filter(pl.col("runs") == 2)
    assert row["quiet_members"].null_count() == 0 and int(row["quiet_members"].sum()) == 1


def test_quiet_members_is_null_when_either_run_has_no_times_and_the_period_is_recorded(tmp_path):
    events, _ = planted_world(seed=3, n_benign=30, rings=(8, 6))
    first = run_detect(events)
    write_outputs(first, tmp_path / "day1")
    # A frame with last_seen (the notebook path) behaves like the folder: same log, nothing to be quiet in.
    assert run_detect(events, previous=first.accounts).clusters["quiet_members"].null_count() > 0
    # A previous folder from an older graphlink (no last_seen): quiet is unknown, not 0.
    old = tmp_path / "old"
    old.mkdir()
    first.accounts.drop("first_seen", "last_seen").write_parquet(old / "accounts.parquet")
    later = events.with_columns(pl.col("timestamp") + pl.duration(days=30))
    from_old = run_detect(pl.concat([events, later]), previous=old)
    assert from_old.clusters.filter(pl.col("runs") == 2)["quiet_members"].null_count() == from_old.clusters.filter(
        pl.col("runs") == 2).height
    assert from_old.run["previous"]["later_seconds"] is None
    # A previous folder whose last_seen lost its time zone (rewritten by another tool) is read as UTC.
    naive = tmp_path / "naive"
    naive.mkdir()
    first.accounts.with_columns(pl.col("last_seen").dt.replace_time_zone(None)).write_parquet(naive / "accounts.parquet")
    grown = run_detect(pl.concat([events, later]), previous=naive)
    span = (later["timestamp"].max() - events["timestamp"].max()).total_seconds()
    assert grown.run["previous"]["later_seconds"] == pytest.approx(span)
    assert grown.clusters.filter(pl.col("runs") == 2)["quiet_members"].null_count() == 0


def test_a_rings_id_carries_to_a_log_of_the_next_day_alone():
    """New-user review, session 14: a day-two log holds the members active that day. Ring 18 had 40 members;
    14 are active on day two, all in one new cluster with 14 new accounts. Counting the 26 quiet members
    put the overlap at 14/54 = 0.26, under the 0.3 default, and the ring got a new id while ``match`` put
    the same accounts in cluster 18; counting the members seen in the new log: 14/28 = 0.5, matched."""
    ring = [f"r{i}" for i in range(40)]
    prev = _frame({**{a: 18 for a in ring}, **{f"o{i}": 3 for i in range(10)}})
    day_two = {**{a: 1 for a in ring[:14]}, **{f"n{i}": 1 for i in range(14)}, **{f"o{i}": 2 for i in range(10)}}
    mapping = match_clusters(prev, _frame(day_two), 0.3)
    row = mapping.filter(pl.col("cluster_id") == 1).row(0, named=True)
    assert (row["previous_id"], row["stable_id"], row["status"]) == (18, 18, "matched")
    assert row["jaccard"] == pytest.approx(0.5)
    # A log that includes day one (every member seen) keeps the old overlap: the 26 quiet members count.
    both = {**{a: None for a in ring[14:]}, **day_two}
    row = match_clusters(prev, _frame(both), 0.3).filter(pl.col("cluster_id") == 1).row(0, named=True)
    assert row["status"] == "new" and row["previous_id"] is None


def test_vanished_clusters_the_previous_run_flagged_are_named_with_where_their_members_went(fixture_outputs):
    """A flagged ring that split below the overlap needed to keep its id was reported only as 'vanished' among
    hundreds (new-user review of session 15): the summary names the flagged ones and their members' clusters now."""
    from graphlink.stages.stable_ids import PreviousRun, load_previous, summarise
    from graphlink.views.terminal import previous_summary

    out = fixture_outputs  # graphlink.detect(fixtures/events.parquet, fixtures/accounts.parquet).save(...)
    clusters = pl.read_parquet(out / "clusters.parquet")
    assert load_previous(out).flagged == sorted(clusters.filter(pl.col("flagged"))["cluster_id"].to_list())
    mapping = pl.DataFrame({"stable_id": [None, None], "previous_id": [7, 9], "status": ["vanished", "vanished"]},
                           schema={"stable_id": pl.Int64, "previous_id": pl.Int64, "status": pl.String})
    prev = PreviousRun(pl.DataFrame({"account_id": ["a", "b", "c", "d"], "cluster_id": [7, 7, 7, 9]}), 9, "<frame>",
                       flagged=[7])
    now = pl.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": [12, 15, None]},
                       schema={"account_id": pl.String, "cluster_id": pl.Int64})
    section = summarise(mapping, prev, now)
    assert section["vanished_flagged_ids"] == [7] and section["vanished_flagged_to"] == {"7": [12, 15]}
    line = previous_summary({**section, "later_seconds": None})
    assert "2 vanished (7, 9); 1 of them flagged before: 7 (now in 12, 15)" in line
    # New-user review (session 45): a ring none of whose members is in this log has gone quiet; "not clustered in
    # this log" read as its accounts still active outside any cluster. That wording is kept for that case only.
    gone = summarise(mapping, prev, now.filter(pl.col("account_id") == "d"))
    assert gone["vanished_flagged_absent"] == [7]
    assert "7 (none of its members in this log)" in previous_summary({**gone, "later_seconds": None})
    loose = summarise(mapping, prev, now.with_columns(pl.lit(None, pl.Int64).alias("cluster_id")))
    assert loose["vanished_flagged_absent"] == []
    assert "7 (not clustered in this log)" in previous_summary({**loose, "later_seconds": None})
