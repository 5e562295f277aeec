"""A rerun with ``--previous`` names the clusters that kept their id but lost their flag (new-user review, session 45).

``run.json``'s ``previous`` section listed the vanished clusters the previous run flagged, but a cluster that kept its
id and was no longer flagged (its evidence changed, the flagged cluster it was tied to left the log, a stricter
threshold) went unmentioned: an investigator reading the rerun's summary could not tell that a ring they acted on is
no longer called suspicious. ``unflagged_ids`` lists them and the terminal summary names them.
"""

from __future__ import annotations


from graphlink.config import build_config
from graphlink.pipeline import run_detect
from graphlink.store.outputs import write_outputs
from graphlink.views.terminal import previous_summary
from tests._worlds import planted_world


def test_a_rerun_names_the_clusters_that_kept_their_id_but_lost_their_flag(tmp_path):
    events, _ = planted_world(0, n_benign=200, rings=(25, 15))
    first = run_detect(events)
    write_outputs(first, tmp_path / "day1")
    flagged = sorted(first.clusters.filter("flagged")["cluster_id"].to_list())
    assert len(flagged) == 2
    # The same log at a threshold nothing reaches: every cluster keeps its id, none is flagged.
    strict = build_config(flag_threshold=0.999)
    section = run_detect(events, config=strict, previous=tmp_path / "day1").run["previous"]
    assert section["unflagged_ids"] == flagged
    assert section["vanished_flagged_ids"] == []
    assert f"2 clusters flagged before not flagged now ({', '.join(map(str, flagged))})" in previous_summary(section)
    # At the same threshold nothing lost its flag.
    same = run_detect(events, previous=tmp_path / "day1").run["previous"]
    assert same["unflagged_ids"] == []
    assert "not flagged now" not in previous_summary(same)
