"""Break-it review of session 63's branches (helper brk63): pool carriers (on by default), tie63's passage / card-cell
rules, client kits and launch cells (opt-in), readme63's compressed-input errors; determinism and small logs.

Each case is a small hand-built input with the right answer. A strict xfail is a break the author must fix.
BENCHMARKS.md "Sixty-third pass (session 63, helper brk63)".
"""

from __future__ import annotations

import datetime as dt
import gzip
import random

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app

START = dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)
TEMPLATE = ("You are the internal assistant of our logistics company, answer in the house style, cite the shipment "
            "manual section and keep customer names out of the answer. Question: ")
VOCAB = ("river garden budget engine letter window market planet silver doctor travel kitchen winter paper signal "
         "harbor forest museum ticket camera pocket bridge island rocket violin candle orange blanket mirror ladder "
         "jacket tunnel basket dragon pepper sugar thunder puzzle anchor velvet saddle marble canyon meadow").split()
SCHEMA = {"account_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "ip": pl.String,
          "payment_fingerprint": pl.String, "prompt": pl.String}


def hybrid_company(office_days: float, pool: int, seed: int = 5, rate: float = 0.35) -> pl.DataFrame:
    """300 people on cards of their own, and a company of 30 staff on three department cards. Each employee works
    from the office on a share ``office_days`` of the six days (its egress a NAT pool of ``pool`` addresses,
    round-robin) and from its own home on the others -- everything it writes, the in-house prompt (a share ``rate``
    of its requests) and its own questions alike, from wherever it sits that day."""
    rng = random.Random(seed)
    text = lambda n: " ".join(rng.choice(VOCAB) for _ in range(n))  # noqa: E731
    rows = []
    for i in range(300):
        home = f"81.{i // 200}.{i % 200}.{rng.randrange(1, 250)}"
        rows += [(f"p{i:03d}", START + dt.timedelta(days=rng.randrange(6), hours=rng.randrange(7, 22),
                                                    minutes=rng.randrange(60)), home, f"card-p{i}",
                  text(rng.randrange(6, 25))) for _ in range(rng.randrange(4, 30))]
    for i in range(30):
        home = f"83.{i}.{rng.randrange(250)}.{rng.randrange(1, 250)}"
        office = {d: rng.random() < office_days for d in range(6)}
        for _ in range(rng.randrange(30, 50)):
            d = rng.randrange(6)
            ip = f"198.51.100.{20 + rng.randrange(pool)}" if office[d] else home
            prompt = TEMPLATE + text(rng.randrange(6, 20)) if rng.random() < rate else text(rng.randrange(6, 25))
            rows.append((f"co{i:02d}", START + dt.timedelta(days=d, hours=rng.randrange(8, 17), minutes=rng.randrange(60),
                                                            seconds=rng.randrange(60)), ip, f"card-dept{i % 3}", prompt))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").sort("timestamp")


def company_flagged(events: pl.DataFrame, **settings) -> int:
    result = graphlink.detect(events, config=graphlink.build_config(**settings))
    acc = result.accounts.join(result.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
    return int(acc.filter(pl.col("account_id").str.starts_with("co"))["flagged"].fill_null(False).sum())


# ---------------------------------------------------------------------------------------------------------------------
# pool carriers (on by default since rec63)


@pytest.mark.parametrize("office_days", [0.5])
def test_staff_mostly_at_the_office_behind_a_nat_pool_stay_unflagged(office_days):
    assert company_flagged(hybrid_company(office_days, pool=4), pool_carriers=True) == 0


def test_hybrid_staff_at_one_nat_address_stay_unflagged():
    # rec62's one-address rule: the office's one NAT address holds most of each employee's *linked* requests
    assert company_flagged(hybrid_company(0.3, pool=1), pool_carriers=True) == 0


def test_hybrid_staff_behind_a_nat_pool_are_unflagged_without_pool_carriers():
    # the control: main's card pool does not flag them, so the xfail below is pool carriers'
    assert company_flagged(hybrid_company(0.3, pool=4), pool_carriers=False) == 0


@pytest.mark.xfail(strict=True, reason=(
    "brk63: pool carriers flag a hybrid company (30 of 30 staff). Staff in the office two days in six, behind a NAT "
    "pool of 4 round-robin, send the in-house prompt (35 %) and their own writing alike from the office and from home. "
    "c (share through the shared exits) ~0.33, t 0.35: c - t < (1 - t) / 2, so the shared-addresses rule reads no "
    "office; no address holds most of anyone's linked requests, so rec62's one-address rule reads none either; every "
    "employee is a carrier. The c - t bound assumes every template request went through the exits (the fleet twin's "
    "shape); an office's exits carry the template in the same proportion as the rest. Reproduced on seeds 5-7, office "
    "days 0.2-0.4, pools of 4 and 8 (and of 2 on some seeds)."))
@pytest.mark.parametrize("pool", [4])
def test_hybrid_staff_behind_a_nat_pool_stay_unflagged_with_pool_carriers(pool):
    assert company_flagged(hybrid_company(0.3, pool=pool), pool_carriers=True) == 0


@pytest.mark.xfail(strict=True, reason=(
    "brk63: the office excuse turns on the number of exits, for a fleet as for a company. rec63's fleet twin (every "
    "account sends its template through the shared exits, its camouflage from its own home: flagged with 4 exits, "
    "tests/test_rec63.py) sends it through ONE exit here: rec62's one-address rule reads that exit as an office (most "
    "of each member's *linked* requests, the home linking nothing) and no member carries -- 0 of 30 flagged (2 exits: "
    "30). The hybrid company above is the mirror (one NAT address: excused; a pool of 4: flagged). What tells an office "
    "from a script's exit is the template share of the requests through it against elsewhere, per request."))
def test_a_fleet_sending_its_template_through_one_exit_is_flagged_with_pool_carriers():
    from tests.test_rec63 import _twin  # noqa: F401 -- the twin, through one exit below
    events = _twin(own_writing_from_home=True).with_columns(
        pl.when(pl.col("ip").str.starts_with("198.51.100.")).then(pl.lit("198.51.100.20")).otherwise(pl.col("ip")).alias("ip"))
    assert company_flagged(events, pool_carriers=True) == 30


# ---------------------------------------------------------------------------------------------------------------------
# determinism, small logs and the output contract with every session-63 switch on

ALL_ON = dict(passage_ties=True, card_cells=True, pool_carriers=True, client_kits=True, launch_cells=True)
ALL_OFF = dict(passage_ties=False, card_cells=False, pool_carriers=False, client_kits=False, launch_cells=False)


def test_same_input_same_output_with_every_session_63_switch_on():
    events = hybrid_company(0.3, pool=4, seed=6)
    config = graphlink.build_config(**ALL_ON)
    one, two = graphlink.detect(events, config=config), graphlink.detect(events, config=config)
    assert one.accounts.sort("account_id").equals(two.accounts.sort("account_id"))
    assert one.clusters.sort("cluster_id").equals(two.clusters.sort("cluster_id"))


@pytest.mark.parametrize("n", [1, 3, 5])
def test_small_logs_run_with_every_session_63_switch_on(n):
    # look-alike user agents (Cyrillic 'о', a zero-width space, a bidi mark) and prompts with the same tricks
    ts = [START + dt.timedelta(minutes=m) for m in range(3 * n)]
    agents = ["python-requests/2.31", "pyth\u043en-requests/2.31", "openai-python/1.3.0\u200b"]
    log = pl.DataFrame({"account_id": [f"a{i % n}" for i in range(3 * n)], "timestamp": ts,
                        "ip": ["198.51.100.9"] * (3 * n), "payment_fingerprint": ["card-1"] * (3 * n),
                        "user_agent": [agents[i % 3] for i in range(3 * n)],
                        "prompt": [TEMPLATE + "\u200b\u202eпривет 🙂"] * (3 * n)})
    result = graphlink.detect(log, config=graphlink.build_config(**ALL_ON))
    base = graphlink.detect(log, config=graphlink.build_config(**ALL_OFF))
    assert result.accounts.height == n and set(result.accounts.columns) == set(base.accounts.columns)
    assert result.clusters.schema == base.clusters.schema
    assert not result.clusters["flagged"].any()  # never a flag below min_flag_size


# ---------------------------------------------------------------------------------------------------------------------
# compressed inputs named oddly (readme63)

CSV = b"account_id,timestamp,ip,prompt\na,2025-01-01T00:00:00Z,1.2.3.4,hi\nb,2025-01-01T00:01:00Z,1.2.3.4,yo\n"


@pytest.mark.parametrize("name, extra", [("events.csv", []), ("events.ndjson", []), ("events.parquet", []),
                                         ("EVENTS.CSV.GZ", []), ("events", ["--format", "csv"])])
def test_a_gzip_file_under_any_name_is_one_line_saying_so(tmp_path, name, extra):
    path = tmp_path / name
    path.write_bytes(gzip.compress(CSV))
    got = CliRunner().invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "-q", *extra])
    assert got.exit_code != 0 and "gzip-compressed" in got.output and "Traceback" not in got.output


# ---------------------------------------------------------------------------------------------------------------------
# client kits (opt-in, op63): vetoes and ties on the grouping's own frames


def kit_frames(clusters, outsiders=(), shared_ips: int = 0):
    """``clusters``: (members, clients each sends) per cluster; ``outsiders``: (accounts, clients) in no cluster;
    ``shared_ips``: addresses every clustered account sends from (the operator's own pool). node_of, aff, signals."""
    rows, nodes, a = [], [], 0
    for node, (n, clients) in enumerate(clusters):
        for _ in range(n):
            nodes.append((a, node))
            rows += [(a, c) for c in clients] + [(a, f"ip:198.18.0.{j}") for j in range(shared_ips)]
            a += 1
    for n, clients in outsiders:
        for _ in range(n):
            rows += [(a, c) for c in clients]
            a += 1
    held = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "value": pl.String}, orient="row")
    sig = (held.group_by("value").agg(pl.len().cast(pl.UInt32).alias("df")).sort("value").with_row_index("signal_idx")
           .with_columns(kind=pl.when(pl.col("value").str.starts_with("ip:")).then(pl.lit("ip")).otherwise(pl.lit("user_agent")),
                         linked=pl.col("df") >= 2, weight=pl.lit(1.0)))
    aff = held.join(sig, on="value").select("account_idx", "signal_idx")
    node = pl.DataFrame(nodes, schema={"account_idx": pl.UInt32, "node": pl.UInt32}, orient="row")
    node_of = node.join(node.group_by("node").len().rename({"len": "size"}), on="node")
    return node_of, aff, sig.select("signal_idx", "kind", "df", "weight", "linked", "value")


def campaigns(node_of, aff, sig, **community) -> int:
    from graphlink.config import CommunityConfig, GraphConfig
    from graphlink.stages.campaigns import cluster_campaigns
    partition = node_of.select("account_idx", pl.col("node").cast(pl.Int64).alias("cluster_id"))
    return cluster_campaigns(partition, aff, sig, GraphConfig(), CommunityConfig(**community),
                             n_accounts=1000)["campaign_id"].n_unique()


KIT = ["node-fetch/1.0", "openai-python/1.3.0"]
PAIR = pl.DataFrame({"source": [0], "target": [1]}, schema={"source": pl.UInt32, "target": pl.UInt32})


@pytest.mark.parametrize("later", [["node-fetch/1.0", "openai-python/1.4.0"],  # a minor release rolled onto one cell
                                   KIT + ["axios/1.6.0"],                      # a tool added to a later cell
                                   ["Node-Fetch/1.0\u200b", "openai-pyth\u043en/1.3.0"]])  # look-alike spellings
def test_one_operators_kit_grown_between_cells_vetoes_nothing(later):
    # fixed on brk63: two cells of one operator on its own pool of 30 addresses, the later cell's kit a minor upgrade
    # or a superset of the first's; both kits their own (300 others send openai-python alone). Before: vetoed, the
    # operator's one campaign parted in two by the switch
    from graphlink.stages.campaign_kits import kit_vetoes
    node_of, aff, sig = kit_frames([(20, KIT), (12, later)], [(300, ["openai-python/1.3.0"])], shared_ips=30)
    assert kit_vetoes(node_of, aff, sig, PAIR, PAIR.clear()).height == 0
    assert campaigns(node_of, aff, sig) == 1 and campaigns(node_of, aff, sig, client_kits=True) == 1


def test_kits_each_with_a_product_of_its_own_are_still_apart():
    # the look-alike that must stay vetoed (op63's case): okhttp + Dalvik against okhttp + python-requests; and a
    # major version is another install (okhttp 3 against okhttp 4, each beside Dalvik)
    from graphlink.stages.campaign_kits import kit_vetoes
    for second in (["okhttp/3.14.9", "python-requests/2.25.1"], ["okhttp/4.12.0", "Dalvik/2.1.0"]):
        node_of, aff, sig = kit_frames([(20, ["okhttp/3.14.9", "Dalvik/2.1.0"]), (12, second)],
                                       [(200, ["python-requests/2.25.1"])])
        assert kit_vetoes(node_of, aff, sig, PAIR, PAIR.clear()).rows() == [(0, 1)]


@pytest.mark.xfail(strict=True, reason=(
    "brk63 (opt-in client_kits, a reason not to turn it on): two operators each running the stock SDK pair "
    "python-requests + openai-python, sharing nothing else, are tied into one campaign when the log's public sends "
    "browsers (no one else sends the pair, so the pair reads as their own). Ownership is read against the log's other "
    "senders, and a log whose API users are few (a small tenant, a browser-heavy platform) has no public to tell a "
    "stock pair from a private one. Acknowledged in campaign_kits' docstring; no fix here."))
def test_two_operators_on_one_stock_sdk_pair_stay_apart_with_client_kits():
    stock = ["python-requests/2.31.0", "openai-python/1.3.0"]
    node_of, aff, sig = kit_frames([(20, stock), (12, stock)], [(300, ["Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0"])])
    assert campaigns(node_of, aff, sig) == 2
    assert campaigns(node_of, aff, sig, client_kits=True) == 2


# ---------------------------------------------------------------------------------------------------------------------
# input errors (readme63 / brk63)


@pytest.mark.parametrize("text", ["\n\n[{}]\n", "\ufeff\n[\n  {}\n]\n", "  [{}]"])
def test_a_json_array_after_blank_lines_is_named_as_one(tmp_path, text):
    # fixed on brk63: a blank line before the array's '[' made it "line 2 is not a JSON object"
    record = '{"account_id": "a", "timestamp": "2025-01-01T00:00:00Z", "ip": "1.2.3.4", "prompt": "hi"}'
    path = tmp_path / "events.json"
    path.write_text(text.replace("{}", record), encoding="utf-8")
    got = CliRunner().invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert got.exit_code != 0 and "one JSON array" in got.output and "Traceback" not in got.output
