"""Break-it review of session 26: a class flagged as a fleet's operator through students on the fleet's VPN.

A class pastes the teacher's prompt within three minutes (a template burst: the burst step makes it one
cluster, which alone flags nobody). Four students send everything through three exits of a commercial VPN that
a rotating fleet uses; with few requests each, some stay unclustered and hold the class's burst (joining the
class's cluster), others are pulled into the fleet's cluster as bystanders. The class's cluster is then tied to
the fleet: by the VPN exits its members hold, and by the teacher's prompt, whose shingles the bystanders inside
the flagged fleet hold too -- all 27 students flagged "same operator as flagged cluster" (main since session 25).

Tried in session 26 and not enough (BENCHMARKS.md, twenty-sixth pass): asking half the tied cluster's members to
hold its tying values (the prompt's shingles are held by all of them); counting a value the operator's clusters
hold with one account as that account's contact (fixes seed 0, not seed 2, where two students sit inside the
fleet); text as a tie only when one of the operator's clusters writes it across half its members (fixes seeds
0-3, but loses legitimate template ties on dev: ind_s1_11000 F1 0.9765 -> 0.9737, ind_s3_11000 0.9687 -> 0.9645,
orgs 1-3 -0.001 to -0.003, ind_s2_224000 0.9681 -> 0.9677). The rule it needs ties through the flagged side's
reuse (a pool, a template) without the bystanders inside it, and without losing the ties of cells that write one
of the operator's several templates. A student inside the fleet's cluster is flagged with it (a bystander
question of its own; the test counts students outside the fleet's cluster).

Fixed in session 27 (``graphlink.stages.tie_carriers``): a tie by values alone needs as many of the operator's
accounts holding its values as a flag needs accounts (five): inside the fleet's cluster only the VPN students hold
the teacher's prompt. (Ten students on the VPN, five of them inside the fleet's cluster, still flag the class:
tests/test_break_carriers27.py.)
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

import graphlink
from tests.burst_world import OPENERS, START, TOPICS, burst_log

CLAUSE = ("Translate the following legal clause into plain English, then list every obligation it creates, "
          "who bears it, and any deadline, citing the clause number {n}.")

TEACHER = ("Summarise the causes of the French Revolution in five bullet points for a ninth grade history "
           "class, then suggest two discussion questions.")


def class_log(seed: int = 0, n_students: int = 30, vpn: tuple[int, ...] = tuple(range(4)), exits: int = 12,
              vpn_exits: int = 3, vpn_events: tuple[int, int] = (2, 6)) -> pl.DataFrame:
    """People and a company (:func:`burst_log` without its operator); a class of ``n_students`` on their own
    addresses and cards, all pasting the teacher's prompt within three minutes of 10:02 on day 2 and asking their
    own questions over three days; the ``vpn`` students send everything through ``vpn_exits`` exits of a
    commercial VPN that a rotating fleet (12 accounts, a pool of three cards, a legal-clause template) uses
    all of."""
    rng = random.Random(seed)
    base = burst_log(seed, n_ops=0)
    rows = []
    at = START + dt.timedelta(days=1, hours=10, minutes=2)
    for i in range(n_students):
        sid, card = f"st{i:03d}", f"card-st{i:03d}"

        def ip() -> str:
            return f"100.64.{(i * 5 + rng.randrange(vpn_exits) * 7) % exits}.7" if i in vpn else f"172.16.{i}.9"
        rows.append((sid, at + dt.timedelta(seconds=rng.randrange(180)), ip(), card, TEACHER))
        for _ in range(rng.randrange(*(vpn_events if i in vpn else (2, 6)))):
            rows.append((sid, START + dt.timedelta(seconds=rng.randrange(3 * 86400)), ip(), card,
                         f"{rng.choice(OPENERS)} {rng.choice(TOPICS)} {rng.randrange(10**6)}"))
    for i in range(12):
        for _ in range(60):
            rows.append((f"fleet{i:02d}", START + dt.timedelta(seconds=rng.randrange(3 * 86400)),
                         f"100.64.{rng.randrange(exits)}.7", f"card-fleet{i % 3}", CLAUSE.format(n=rng.randrange(10**4))))
    return pl.concat([base, pl.DataFrame(rows, schema=base.schema, orient="row")])


def _flagged_students(result) -> int:
    """Students flagged outside the fleet's cluster (one Leiden puts inside the fleet is flagged with it: a
    bystander question of its own, not the class's)."""
    fleet = result.accounts.filter(pl.col("account_id").str.starts_with("fleet"))["cluster_id"].unique()
    students = result.accounts.filter(pl.col("account_id").str.starts_with("st")).join(
        result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(students.filter(~pl.col("cluster_id").is_in(fleet.implode()))["flagged"].fill_null(False).sum())


def test_a_class_with_no_student_on_the_fleets_vpn_is_a_burst_cluster_and_no_flag():
    result = graphlink.detect(class_log(0, vpn=()))
    students = result.accounts.filter(pl.col("account_id").str.starts_with("st"))
    assert students["cluster_id"].null_count() == 0 and students["cluster_id"].n_unique() == 1
    assert _flagged_students(result) == 0


@pytest.mark.parametrize("seed", [0, 2])
def test_a_class_is_not_flagged_through_students_on_the_fleets_vpn(seed):
    result = graphlink.detect(class_log(seed))
    assert _flagged_students(result) == 0
