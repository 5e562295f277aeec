"""Break-it review (session 50, brk50) of team50's wrapper rule for bursts of a public framework's system prompt.

A fleet writing its templates behind a public framework's system prompt, with 80 framework users in the log
instead of test_wrapper_bursts50's 40: the wrapper rule never held (the users stayed in the fleet's burst cluster,
7-23 of them by seed and window) -- a group going on with the fleet's template was tested against the number of
ALL the head's senders chance puts in the window (16 expected for 20 holders), which a public framework's many users
always exceed. Now against the head's senders going on with that continuation
(:func:`graphlink.stages.burst_templates.head_bystanders`).

Strict xfail (left; the reason says why): a fleet wrapping only short questions of its own in the framework's prompt.
"""

from __future__ import annotations

import polars as pl
import pytest

import graphlink
from tests.framework_world import events
from tests.test_wrapper_bursts50 import _fleet, _user

# The world's prompts are test_wrapper_bursts50's: a fleet's templates (accounts 0-39) or short questions of its own
# behind DocuChain's system prompt, and the framework users' questions behind it.


def _in_fleet_cluster(frame: pl.DataFrame, templated: int) -> pl.DataFrame:
    acc = graphlink.detect(frame).accounts.with_columns(
        pl.col("account_id").str.extract(r"^([a-z]+)").alias("group"),
        pl.col("account_id").str.extract(r"(\d+)$").cast(pl.Int64).alias("i"))
    fleet = acc.filter(pl.col("group") == "fleet", pl.col("i") < templated)["cluster_id"].drop_nulls()
    return acc.filter(pl.col("group") == "user", pl.col("cluster_id").is_in(fleet.unique().to_list()))


def test_framework_users_stay_out_of_a_wrapping_fleets_burst_when_the_framework_has_many_users():
    # test_wrapper_bursts50's world with 80 framework users over the three days (12 in the fleet's minutes).
    # ee75a66: 13 users in the fleet's cluster (the wrapper rule did not hold).
    frame = events(_fleet, _user, n_fleet=60, n_users=80, in_window=12, seed=1)
    assert _in_fleet_cluster(frame, 40).height == 0


@pytest.mark.xfail(strict=True, reason="a fleet sending only short questions of its own behind a public framework's "
                   "prompt is, request by request, the framework's users: its burst of the head keeps the users in its "
                   "minutes (8 on eb218bc and ee75a66); the wrapper rule needs a continuation of the fleet's own")
def test_framework_users_stay_out_of_a_fleet_wrapping_only_short_questions():
    frame = events(lambda rng, i: _user(rng), _user, n_fleet=60, n_users=40, in_window=6)
    assert _in_fleet_cluster(frame, 60).height == 0
