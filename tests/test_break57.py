"""Break-it review (session 57, helper brk57) of this session's branches: the accounts set apart, one-account lookup
and campaign ids across ``--previous`` (ux57), tie reach (camp57, ``[scoring] tie_reach``), card campaigns' carding-shop
rules (op57, ``[scoring] card_campaigns``) and sibling parts (cell57, ``[scoring] sibling_parts``).

Hand-built inputs. A test for a feature main lacks skips on main; a plain test that fails on a branch is a break of
that branch (a regression for the lead to decide on); a limit main shares is a strict xfail. Figures and verdicts:
BENCHMARKS.md, "Fifty-seventh pass (session 57, helper brk57)".
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app

runner = CliRunner()
U32 = {"account_idx": pl.UInt32, "signal_idx": pl.UInt32}
APART_SCHEMA = {"account_id": pl.String, "cluster_id": pl.Int64, "flagged": pl.Boolean, "reason": pl.String}


def _log(groups: dict[str, list[str]], agent: str = "curl/8", prompt: str | None = None) -> pl.DataFrame:
    """One event per account: its card (accounts on one card form a cluster), a user agent and a prompt."""
    return pl.DataFrame([{"account_id": a, "payment_fingerprint": card, "user_agent": agent,
                          **({"prompt": prompt} if prompt else {})} for card, accounts in groups.items() for a in accounts])


def _set_apart(folder: Path, rows: list[tuple]) -> None:
    """``set_apart.parquet`` as detect records it (written by hand: who was set apart is not what is tested)."""
    pl.DataFrame(rows, schema=APART_SCHEMA, orient="row").write_parquet(folder / "set_apart.parquet")


# --- ux57: set_apart.parquet under --redact --------------------------------------------------------------------------

SECRET = "jane.doe@example.com"  # an account id that is an e-mail address: --redact hashes it everywhere else


@pytest.fixture(scope="module")
def apart_folder(tmp_path_factory) -> Path:
    """A ring of six on one card, saved; ``SECRET`` (an account paying with a card of its own) recorded as set apart
    from the ring's cluster as an address bystander. Once per module: its tests only read it (their views and
    exports are written to their own ``tmp_path``)."""
    pytest.importorskip("graphlink.views.set_apart")  # ux57: set_apart.parquet (main: no such file, nothing to leak)
    folder = graphlink.detect(_log({"card-r": [f"ring{i}" for i in range(6)], "own": [SECRET]})).save(
        tmp_path_factory.mktemp("apart") / "out")
    _set_apart(folder, [(SECRET, 1, True, "bystander")])
    return folder


def test_the_redaction_hashes_the_members_e_mail_ids(tmp_path):
    # Control (main's rule for account ids): a member whose id is an e-mail address is hashed by --redact.
    folder = graphlink.detect(_log({"card-r": [f"ring{i}" for i in range(5)] + ["ring.boss@example.com"]})).save(tmp_path / "o")
    done = runner.invoke(app, ["show", str(folder), "1", "--redact-key", "k", "--members", "10"], env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    assert "@example.com" in done.stdout and "ring.boss" not in done.stdout


# ux57 228a99a: the redactor (graphlink.store.redact.Redactor.outputs) rewrites accounts, memberships, member_linking,
# activity and campaign_ties, but not Outputs.set_apart -- every view that lists who was set apart prints the raw id.
@pytest.mark.parametrize("args", [["show", "{d}", "1", "--redact-key", "k"],
                                  ["show", "{d}", "1", "--redact-key", "k", "--json"],
                                  ["report", "{d}", "--redact-key", "k", "-o", "{t}/r.html"]])
def test_redacted_views_do_not_print_a_set_apart_accounts_e_mail(apart_folder, tmp_path, args):
    args = [a.format(d=apart_folder, t=tmp_path) for a in args]
    done = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert done.exit_code == 0, done.output
    text = done.stdout + (Path(args[-1]).read_text(encoding="utf-8") if args[0] == "report" else "")
    assert "jane.doe" not in text


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_redacted_exports_do_not_write_a_set_apart_accounts_e_mail(apart_folder, tmp_path, fmt):
    out = tmp_path / fmt
    done = runner.invoke(app, ["export", str(apart_folder), "-f", fmt, "-c", "1", "--redact-key", "k", "-o", str(out)])
    assert done.exit_code == 0, done.output
    leaked = [p.name for p in out.iterdir() if "jane.doe" in p.read_text(encoding="utf-8-sig")]
    assert leaked == []


# --- ux57: graphlink account on hostile text (holds) -----------------------------------------------------------------

HOSTILE = ["[bold red]x[/]", "acct\u202egpj.exe", '=HYPERLINK("http://e")', "007", "x" * 3000,
           "<script>alert(1)</script>", "a\u200bb"]


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    """Once per module: its tests only read it (the CSV export is written to the test's own ``tmp_path``)."""
    pytest.importorskip("graphlink.views.account")  # ux57
    events = _log({"card-r": HOSTILE}, agent="[link=http://evil]ua[/link]\x1b[2J",
                  prompt="=cmd|' /C calc'!A0 \x1b]8;;http://e\x07click")
    folder = graphlink.detect(events).save(tmp_path_factory.mktemp("hostile") / "out")
    _set_apart(folder, [(h, 1, True, "bystander") for h in HOSTILE])
    return folder


@pytest.mark.parametrize("account", HOSTILE)
def test_account_lookup_spells_hostile_ids_and_values_safe(hostile_folder, account):
    done = runner.invoke(app, ["account", str(hostile_folder), account], env={"COLUMNS": "120"})
    assert done.exit_code == 0, done.output
    for bad in ("\x1b", "\x07", "\u202e", "\u200b"):
        assert bad not in done.stdout
    assert "link=http://evil" in done.stdout  # Rich markup shown as text, never interpreted
    assert json.loads(runner.invoke(app, ["account", str(hostile_folder), account, "--json"]).stdout)["account_id"] == account


def test_set_apart_csv_guards_formulas(hostile_folder, tmp_path):
    done = runner.invoke(app, ["export", str(hostile_folder), "-f", "csv", "-c", "all", "-o", str(tmp_path / "csv")])
    assert done.exit_code == 0, done.output
    lines = (tmp_path / "csv" / "set_apart.csv").read_text(encoding="utf-8").splitlines()
    assert not any(line.startswith(("=", '"=')) for line in lines)


# --- ux57: campaign ids across --previous (holds) ------------------------------------------------------------------

def _detect(tmp_path: Path, name: str, events: pl.DataFrame, previous: Path | None = None) -> Path:
    events.write_parquet(tmp_path / f"{name}.parquet")
    args = ["detect", str(tmp_path / f"{name}.parquet"), "--out", str(tmp_path / name), "-q"]
    done = runner.invoke(app, args + (["--previous", str(previous)] if previous else []))
    assert done.exit_code == 0, done.output
    return tmp_path / name


def _campaigns(folder: Path) -> dict[str, int]:
    rows = pl.read_parquet(folder / "accounts.parquet").drop_nulls("campaign_id")
    return dict(rows.select("account_id", "campaign_id").iter_rows())


# Two operators' campaigns merge on day two (a card both pay with), split again on day three; day four a third
# operator appears. An id must never name two groups that share no account: the merged campaign keeps one id, the
# split-off one takes a fresh id (never the retired one, never one in use), the newcomer a fresh id again.
def test_campaign_ids_across_a_merge_and_a_split_never_name_two_groups(tmp_path):
    pytest.importorskip("graphlink.stages.stable_campaigns")  # ux57
    a, b = [f"a{i}" for i in range(5)], [f"b{i}" for i in range(4)]
    day1 = _detect(tmp_path, "d1", _log({"kA": a, "kB": b}))
    one = _campaigns(day1)
    merged = pl.concat([_log({"kA": a, "kB": b}), _log({"kAB": a + b})])  # a card all pay with too: one cluster
    day2 = _detect(tmp_path, "d2", merged, previous=day1)
    two = _campaigns(day2)
    day3 = _detect(tmp_path, "d3", _log({"kA": a, "kB": b}), previous=day2)
    three = _campaigns(day3)
    day4 = _detect(tmp_path, "d4", _log({"kA": a, "kB": b, "kC": ["c0", "c1", "c2"]}), previous=day3)
    four = _campaigns(day4)
    issued = set(one.values()) | set(two.values()) | set(three.values())
    assert len({two[x] for x in a + b}) == 1 and two["a0"] in (one["a0"], one["b0"])  # merged: one of the two ids
    assert three["a0"] != three["b0"] and two["a0"] in (three["a0"], three["b0"])  # split: one side keeps it
    before = set(one.values()) | set(two.values())
    assert {three["a0"], three["b0"]} - {two["a0"]} == {max(before) + 1}  # the other a fresh id, never the retired one
    assert four["a0"] == three["a0"] and four["b0"] == three["b0"]
    assert four["c0"] not in issued  # a newcomer never takes an id issued before


# --- camp57: tie reach (opt-in) loses a cell whose members do not themselves hold the tie ------------------------------

LOUD = list(range(6))  # cluster 1: the operator's loud cell, on its card and template
CARD, CELL_CARD = 100, 101
TEMPLATE = list(range(200, 210))  # the operator's template (the loud cell's)
CELL_SCRIPT = list(range(400, 410))  # the tame cell's own script
POOL = list(range(150, 162))  # the tame cell's 12 proxy exits
FREE = 1000  # a value of one account's own


def _reach_world(holds: dict[int, list[int]], scripted: set[int]):
    """Loud cluster 1 (accounts 0-5, ``CARD`` and ``TEMPLATE``) and cluster 2 (``holds``' accounts); each value's
    ``df`` counted from the rows; ``scripted`` accounts have 10 of 10 sampled prompts scripted, others none."""
    cluster2 = sorted(holds)
    part = pl.DataFrame({"account_idx": LOUD + cluster2, "cluster_id": [1] * 6 + [2] * len(cluster2)},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    rows = [(a, v) for a in LOUD for v in [CARD, *TEMPLATE]] + [(a, v) for a, vs in holds.items() for v in vs]
    aff = pl.DataFrame(rows, schema=U32, orient="row").unique()
    kind = (pl.when(pl.col("signal_idx").is_in([CARD, CELL_CARD])).then(pl.lit("payment"))
            .when(pl.col("signal_idx").is_in(POOL)).then(pl.lit("ip")).otherwise(pl.lit("prompt")))
    sig = (aff.group_by("signal_idx").agg(pl.len().cast(pl.Int64).alias("df"))
           .with_columns(kind.alias("kind"), pl.lit(True).alias("linked")).select("signal_idx", "kind", "linked", "df")
           .sort("signal_idx"))
    clusters = pl.DataFrame({"cluster_id": [1, 2], "size": [6, len(cluster2)], "score": [0.95, 0.3],
                             "flagged": [True, False], "why": ["proxies", "addresses"], "campaign_id": [1, 2]},
                            schema_overrides={"size": pl.UInt32, "cluster_id": pl.Int64})
    n = 6 + len(cluster2)
    stats = pl.DataFrame({"account_idx": list(range(n)), "prompts_sampled": [10] * n,
                          "prompts_scripted": [10 if a in scripted else 0 for a in range(n)]},
                         schema_overrides={"account_idx": pl.UInt32})
    return part, aff, sig, clusters, stats


def _set_apart_by_reach(holds: dict[int, list[int]], scripted: set[int]) -> list[int]:
    mod = pytest.importorskip("graphlink.stages.tie_reach")  # camp57
    from graphlink.stages.campaign_flags import flag_with_campaign, operator_ties
    part, aff, sig, clusters, stats = _reach_world(holds, scripted)
    tied = operator_ties(clusters.select("cluster_id", "campaign_id"), part, aff, sig, pl.Series([1], dtype=pl.Int64))
    flagged = flag_with_campaign(clusters, tied_to=tied)
    assert flagged.filter(pl.col("cluster_id") == 2).select("flagged", "flagged_own").row(0) == (True, False)
    return mod.tie_reach(tied, flagged, part, aff, sig, account_stats=stats)["account_idx"].to_list()


def _exits(a: int) -> list[int]:
    """Three of the pool's 12 exits per account, the pool covered by every six consecutive accounts."""
    return [POOL[(3 * a + k) % 12] for k in range(3)]


# A cell of eight on one proxy pool: two accounts pay with the operator's card (the tie), writing freely; the six
# others run the cell's own script (or pay with the cell's own card), each drawing three of the pool's twelve exits.
# Each of the six shares at most three exits with the two holders (under MIN_TIE_VALUES = 5), holds no card with them
# and none of their phrases: tie reach's core is the two holders (2 of 8, under half), the six are set apart and
# dissolve -- six of the operator's accounts unflagged; main flags the cluster whole through the tie. The six share
# the pool's whole range with the holders between them; only the per-account count of exits misses it.
@pytest.mark.parametrize("others", ["script", "card"])
def test_tie_reach_keeps_a_cell_whose_members_share_the_holders_pool(others):
    holds = {6: [CARD, *_exits(6), FREE + 6], 7: [CARD, *_exits(7), FREE + 7]}
    holds |= {a: [*(CELL_SCRIPT if others == "script" else [CELL_CARD]), *_exits(a)] for a in range(8, 14)}
    assert _set_apart_by_reach(holds, set(range(8, 14)) if others == "script" else set()) == []


# Control (holds on camp57): four people beside the two holders on one home address, writing their own, each paying
# with a card of its own -- set apart (the rule's purpose).
def test_tie_reach_sets_apart_people_on_one_address_beside_the_holders():
    holds = {6: [CARD, POOL[0], FREE + 6], 7: [CARD, POOL[0], FREE + 7]} | {a: [POOL[0], FREE + a] for a in range(8, 12)}
    assert _set_apart_by_reach(holds, set()) == [8, 9, 10, 11]


# --- op57: card campaigns -- a buyer with few payers ---------------------------------------------------------------

def _shop(resold: int, own_payers: int, a_sizes=(30, 10, 10), b_sizes=(8, 8)):
    """brk56's carding shop (``tests/test_break56.py::two_operators``, A's cards in its main cluster) with operator B
    paying with a card only on ``own_payers`` accounts per cell besides the ``2 * resold`` on the shop's resold cards
    (the rest of B's accounts pay no card: a free tier, a voucher, crypto)."""
    rows, part, acc = [], [], 0
    for k, s in enumerate(a_sizes):
        for i in range(s):
            part.append((acc, k + 1))
            rows += [(acc, f"tA{j}") for j in range(12)] + [(acc, f"card-A{k}-{i % 2}")]
            rows += [(acc, f"card-X{c}") for c in range(resold) if k == 0 and 2 * c <= i < 2 * c + 2]
            acc += 1
    for k, s in enumerate(b_sizes):
        for i in range(s):
            part.append((acc, 10 + k))
            rows += [(acc, f"tB{j}") for j in range(12)]
            if k == 0 and i < 2 * resold:
                rows.append((acc, f"card-X{i // 2}"))
            elif i < own_payers:
                rows.append((acc, f"card-B{k}-{i % 2}"))
            acc += 1
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "value": pl.String}, orient="row")
    sig = (aff.group_by("value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("value").with_row_index("signal_idx")
           .with_columns(pl.col("signal_idx").cast(pl.UInt32), pl.lit(1.0).alias("weight"), (pl.col("df") >= 2).alias("linked"),
                         pl.when(pl.col("value").str.starts_with("card")).then(pl.lit("payment")).otherwise(pl.lit("prompt"))
                         .alias("kind")))
    aff = aff.join(sig.select("value", "signal_idx"), on="value").select("account_idx", "signal_idx")
    partition = pl.DataFrame(part, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    ids = [1, 2, 3, *[10 + k for k in range(len(b_sizes))]]
    clusters = pl.DataFrame({"cluster_id": ids, "flagged": [True] * len(ids), "campaign_id": [1, 1, 1] + [2] * len(b_sizes)})
    return clusters, partition, aff, sig.select("signal_idx", "kind", "df", "weight", "linked"), 1000


def _card_campaigns(frames) -> list[int]:
    mod = pytest.importorskip("graphlink.stages.card_campaigns")
    from graphlink.config import CommunityConfig, GraphConfig
    cl, part, aff, sig, n = frames
    return mod.card_campaigns(cl, part, aff, sig, GraphConfig(), n, config=CommunityConfig())["campaign_id"].to_list()


# Control (holds on op57, broken on main's opt-in stage): B's every account pays, 6 of 16 on the shop's cards.
def test_a_shop_buyer_paying_mostly_with_its_own_cards_stays_apart():
    result = _card_campaigns(_shop(3, 8))
    if "MOSTLY_SHARED" not in dir(pytest.importorskip("graphlink.stages.card_campaigns")):
        pytest.skip("main's opt-in stage: brk56's shop limit (tests/test_break56.py)")
    assert result == [1, 1, 1, 2, 2]


# op57's MOSTLY_SHARED counts B's *payers*: when B's accounts mostly pay no card, the 6 on the shop's three resold cards
# are most of its payers (6 of 6, 6 of 10) and B joins A's campaign. Main's opt-in stage joins them too; op57's
# docstring names the case ("a buyer most of whose payers are on cards a shop sold to another operator too").
# Counting B's flagged accounts instead of its payers (6 of 16) keeps them apart: fixed in the integration (session 57).
@pytest.mark.parametrize("own_payers", [0, 4])
def test_a_shop_buyer_with_few_payers_stays_apart(own_payers):
    assert _card_campaigns(_shop(3, own_payers)) == [1, 1, 1, 2, 2]


# End to end (camp57's switch on where the branch has it; main: the default run). 300 IPv4 users; the operator's loud
# cell (six bots in scheduled bursts on proxies, its card and template, flagged on its own); a tame cell of eight on a
# pool of twelve residential exits, writing freely, two sessions a day: two accounts pay with the operator's card, six
# with the cell's own card, each account on three fixed exits of the pool. World seed 2 (the seeds where Leiden keeps the
# tame cell apart from the loud one and the tie flags it): main and camp57 off flag 8 of 8; camp57 on flags the two
# holders and sets the six apart (2 of 8). With the group count of exits (/tmp/brk57/reachfix.patch) 8 of 8.
def _reach_end_to_end_world(seed: int):
    from datetime import timedelta

    from tests.test_rotation_relay52 import DAYS, DESKTOP, T0, World, _text
    w = World(seed)
    w.ipv4_users(300)
    fixed = "Rewrite this product review in a new voice and keep it under eighty words with five stars given:"
    for day in range(DAYS):
        start = T0 + timedelta(days=day, hours=int(w.rng.integers(0, 24)))
        for step in range(8):
            for i in range(6):
                ts = start + timedelta(minutes=7 * step, seconds=int(w.rng.integers(0, 50)))
                w.rows.append((f"loud{i}", ts, f"185.{int(w.rng.integers(1, 60))}.{int(w.rng.integers(0, 4))}.7", "op-card",
                               f"{fixed} {_text(w.rng, 6)}", DESKTOP[0]))
    pool = [f"73.{20 + k}.{k * 7 % 250}.{10 + k}" for k in range(12)]
    start = len(w.rows)
    tame = {"cellpay0": pool[0:3], "cellpay1": pool[3:6]} | {f"cellmate{j}": [pool[(3 * (j + 2) + k) % 12] for k in range(3)]
                                                             for j in range(6)}
    for acc, exits in tame.items():
        for _ in range(2):
            w.person(acc, lambda exits=exits: exits[int(w.rng.integers(0, len(exits)))], DESKTOP[1])
    w.rows = w.rows[:start] + [(a, t, ip, "op-card" if a.startswith("cellpay") else "cell-card", p, ua)
                               for a, t, ip, _, p, ua in w.rows[start:]]
    return w.frame()


def test_end_to_end_a_tame_cell_on_the_holders_pool_stays_flagged_with_tie_reach_on():
    import dataclasses

    from graphlink.config.build import build_config
    from graphlink.pipeline import run_detect
    config = build_config()
    if hasattr(config.scoring, "tie_reach"):
        config = dataclasses.replace(config, scoring=dataclasses.replace(config.scoring, tie_reach=True))
    result = run_detect(_reach_end_to_end_world(2), None, config)
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    flagged = set(acc.filter(pl.col("flagged").fill_null(False))["account_id"].to_list())
    assert {a for a in flagged if a.startswith("cell")} == {"cellpay0", "cellpay1", *(f"cellmate{j}" for j in range(6))}
    assert not {a for a in flagged if a.startswith("v4user")}
