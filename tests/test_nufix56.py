"""The new-user review of session 56 (nu56), fixed: what a view says agrees with what it counts.

Finding 5: a prompt phrase is counted with its numbers normalised (every run of digits reads ``0``), yet was quoted
with one prompt's number ("80488: A graph measures the", in 1 prompt of the 92 that hold the phrase): every view
quoting a phrase now shows numbers as ``⟨#⟩``.
"""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.phrase_quotes import NUMBER_SLOT
from graphlink.stages.components import reason_exprs
from graphlink.views.member_ties import quoted_value

runner = CliRunner()


def test_the_why_quotes_a_template_with_its_numbers_as_slots():
    feats = pl.DataFrame({"template_share": [0.77], "template": ["80488: A graph measures the"]})
    why = feats.select(reason_exprs()["template_share"])[:, 0][0]
    assert "80488" not in why
    assert f'("{NUMBER_SLOT}: A graph measures the")' in why


def test_tied_by_quotes_a_phrase_with_slots_and_an_address_as_logged():
    df = pl.DataFrame({"kind": ["prompt", "ip"], "value": ["2270). What is the minimum", "10.0.0.12"]})
    shown = df.select(quoted_value(pl.col("kind"), pl.col("value")))[:, 0].to_list()
    assert shown[0] == f' "{NUMBER_SLOT}). What is the minimum"'
    assert shown[1] == " 10.0.0.12"  # an address's digits are the value


def _numbered(folder, name: str) -> None:
    """Give every prompt phrase of ``folder/name`` one prompt's number, as a quote from the log carries it."""
    path = folder / name
    table = pl.read_parquet(path)
    table.with_columns(pl.when(pl.col("kind") == "prompt").then(pl.lit("80488: ") + pl.col("value"))
                       .otherwise(pl.col("value")).alias("value")).write_parquet(path)


def test_show_and_campaign_quote_phrases_without_one_prompts_number(fixture_outputs):
    for name in ("evidence.parquet", "campaign_ties.parquet", "linking.parquet"):
        if (fixture_outputs / name).exists():
            _numbered(fixture_outputs, name)
    clusters = pl.read_parquet(fixture_outputs / "clusters.parquet")
    evidence = pl.read_parquet(fixture_outputs / "evidence.parquet").filter(pl.col("kind") == "prompt")
    cid = int(evidence.group_by("cluster_id").len().sort("len", descending=True)["cluster_id"][0])
    shown = runner.invoke(app, ["show", str(fixture_outputs), str(cid), "--evidence", "200", "--no-templates"])
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if line.startswith("prompt\t")]
    assert rows and all("80488" not in r and f"{NUMBER_SLOT}: " in r for r in rows)
    ties = pl.read_parquet(fixture_outputs / "campaign_ties.parquet").filter(pl.col("kind") == "prompt")
    assert ties.height, "the fixture's operator ties its clusters by phrases"
    camp = int(ties["campaign_id"][0])
    assert camp in clusters["campaign_id"].to_list()
    listed = runner.invoke(app, ["campaign", str(fixture_outputs), str(camp), "--ties", "5"])
    assert listed.exit_code == 0, listed.output
    tie_rows = [line for line in listed.output.splitlines() if line.startswith("prompt\t")]
    assert tie_rows and all("80488" not in r and f"{NUMBER_SLOT}: " in r for r in tie_rows)
    as_json = runner.invoke(app, ["campaign", str(fixture_outputs), str(camp), "--json"])
    assert "80488: " in as_json.output  # --json keeps the value as logged: data to join on


# Finding 4: the why said "off any schedule" while the report's Evidence, beside it, said "Acts on a clock: every
# 30 min at :08:18": the why's test is each account's alone (3+ runs at fixed minutes of the hour), the clock the
# members' events taken together. Each now says what it measured.

def _clock_cluster() -> pl.DataFrame:
    """Twenty accounts taking turns on one 30-minute clock (:08), each firing twice: together a clock, alone
    too few runs to show a schedule of its own."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 3, 19, 0, 8, 15, tzinfo=timezone.utc)
    rows = [(f"a{k % 20:02d}", t0 + timedelta(minutes=30 * k, seconds=k % 5)) for k in range(40)]
    return pl.DataFrame(rows, schema={"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC")}, orient="row")


def test_a_cluster_on_a_clock_is_not_said_to_be_off_any_schedule():
    from types import SimpleNamespace

    from graphlink.stages.schedules import scheduled_accounts
    from graphlink.views.report.evidence_section import evidence_context
    from graphlink.views.report.members import MemberEvents
    from graphlink.views.schedule import describe_schedule

    events = _clock_cluster()
    assert describe_schedule(events) is not None  # the members together keep a clock
    minutes = events.select(pl.col("account_id").str.slice(1).cast(pl.UInt32).alias("account_idx"),
                            (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.UInt64).alias("key"))
    assert not scheduled_accounts(minutes)["scheduled"].any()  # no account alone is on a schedule
    feats = pl.DataFrame({"scripted_members": [20], "prompt_members": [20], "cards": [1],
                          "sleepless_members": [None]}, schema_overrides={"sleepless_members": pl.Float64})  # as scoring fills it
    why = feats.select(reason_exprs()["scripted_accounts"])[:, 0][0]
    assert "off any schedule" not in why and "none on a schedule of its own" in why
    evidence = pl.DataFrame({"kind": ["payment"], "value": ["card"], "accounts_sharing": [20], "weight": [5.0]})
    members = events.select("account_id").unique()
    ctx = evidence_context(1, evidence, 20, MemberEvents(times=events, prompts=None), members,
                           SimpleNamespace(max_values_per_kind=10))
    assert "Acts on a clock, its members' events taken together: every 30 min at :08" in ctx["clock"]


# Finding 6: "addresses only" in the shares column beside a tied_by naming a prompt phrase (a member sharing fewer
# phrases than the template's bar: a stock phrase).

def test_shares_does_not_say_addresses_only_beside_a_phrase_that_ties_the_member():
    from graphlink.views.member_behaviour import behaviour_text

    rows = pl.DataFrame({
        "account_id": ["stock", "bystander", "ring"],
        "template_share": [0.0, 0.0, 0.9],
        "shared_behaviour": ["addresses only", "addresses only", "template, card"],
        "tied_by": ['2 IP networks, strongest 10.0.0.0/24 (2 members); 1+ prompt phrases, strongest "given a noisy '
                    'sensor (parameter" (11 members); user agent curl (3 members)',
                    'IP address 10.0.0.1 (3 members); user agent "prompt phrase" (2 members)',
                    'payment card c1 (9 members); 30 prompt phrases, strongest "x y z" (9 members)']})
    shares = dict(zip(rows["account_id"], behaviour_text(rows)))
    assert "addresses only" not in shares["stock"] and "phrase" in shares["stock"]
    assert shares["bystander"] == "addresses only"  # a value that reads "prompt phrase" is no phrase tie
    assert shares["ring"] == "template 90%, card"


# Finding 2 (lab): day two created every new account in the hour before the day, a creation burst in every group with
# a newcomer (a reseller flagged on day two by "18 of 44 accounts created in 1 burst hour").

def test_day_two_creates_new_accounts_as_day_one_does_for_their_kind():
    import numpy as np

    from graphlink.lab.simulate.day_two import day_two_plan
    from graphlink.lab.simulate.scenarios import build_plan, draw_params

    day_one = build_plan(draw_params("crowds", 1000, "small"))
    plan, new = day_two_plan(day_one, 1000)
    kind, created, hour = plan.cols["kind"], plan.cols["created"], plan.cols["created"] // (3600 * 10**6)
    assert (created[new] <= plan.start_us + 24 * 3600 * 10**6).all()
    benign = new & (kind < 2)
    assert benign.sum() >= 100
    _, per_hour = np.unique(hour[benign], return_counts=True)
    assert per_hour.max() <= 0.05 * benign.sum()  # spread: no hour holds a twentieth of the benign newcomers
    groups = plan.group[benign]
    for g in set(groups[kind[benign] == 1].tolist()):  # no team or reseller gets its newcomers in one hour
        rows = hour[benign][groups == g]
        if len(rows) >= 3:
            assert len(set(rows.tolist())) > 1, g
    # A ring cell registered in bulk on day one registers its day-two accounts in bulk too: its burst stays.
    ring = plan.cols["ring"]
    day_one_span = {r: np.ptp(day_one.cols["created"][(day_one.cols["kind"] == 2) & (day_one.cols["ring"] == r)])
                    for r in set(ring[new & (kind == 2)].tolist())}
    bursting = [r for r, span in day_one_span.items() if span <= 24 * 3600 * 10**6
                and (new & (kind == 2) & (ring == r)).sum() >= 3]
    assert bursting
    for r in bursting:
        assert np.ptp(created[new & (kind == 2) & (ring == r)]) <= day_one_span[r]
