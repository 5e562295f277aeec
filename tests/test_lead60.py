"""Session 60 (lead): ``match --redact`` -- the table and the JSON hash cards, e-mail ids and IPs as ``show --redact``
does; the folder's ``matches.parquet`` stays raw (as detect's folder). Hand-built logs; public names only."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.views.match import redact_matches

runner = CliRunner()
CARD = "tok_ringcard_7741"


def _log(prefix: str, n: int, start: str) -> pl.DataFrame:
    rows = [{"account_id": f"{prefix}{i}@mail.example", "timestamp": f"{start}T0{i % 6}:00:00",
             "ip": f"198.51.100.{i % 4 + 1}", "payment_fingerprint": CARD, "user_agent": "ringbot/2",
             "prompt": "explain step by step how you reach the answer"} for i in range(n)]
    rows += [{"account_id": f"person{i}@home.example", "timestamp": f"{start}T12:00:00", "ip": f"203.0.113.{i + 10}",
              "payment_fingerprint": f"own_{i}", "user_agent": "browser", "prompt": f"recipe {i}"} for i in range(4)]
    return pl.DataFrame(rows)


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    return graphlink.detect(_log("ring", 8, "2026-01-01")).save(tmp_path / "day1")


def test_match_redact_hashes_ids_cards_and_ips_in_json_and_keeps_the_folder_raw(earlier, tmp_path):
    new = tmp_path / "day2.parquet"
    _log("fresh", 5, "2026-01-02").write_parquet(new)
    plain = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m0"), "--json"])
    assert plain.exit_code == 0, plain.output
    raw = json.loads(plain.stdout)["matched"]
    assert raw and any(CARD in (r["why"] or "") for r in raw)  # the raw run quotes the card (the test can fail)
    done = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m1"), "--json",
                               "--redact-key", "k1"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    text = json.dumps(body["matched"])
    assert CARD not in text and "fresh0@" not in text and "198.51.100.1 " not in text
    assert "@mail.example" in text  # domains kept, as show --redact keeps them
    assert len(body["matched"]) == len(raw) and "HMAC" in body["redaction"]
    written = pl.read_parquet(tmp_path / "m1" / "matches.parquet")  # the folder stays raw
    assert written["account_id"].str.starts_with("fresh0@").any()


def test_match_redact_table_prints_no_raw_card_and_says_it_is_redacted(earlier, tmp_path):
    new = tmp_path / "day2.parquet"
    _log("fresh", 5, "2026-01-02").write_parquet(new)
    done = runner.invoke(app, ["match", str(earlier), str(new), "--out", str(tmp_path / "m"), "--redact"])
    assert done.exit_code == 0, done.output
    assert CARD not in done.output and "fresh1@mail" not in done.output
    assert "redacted:" in done.output


def test_redact_matches_keeps_rows_and_order_and_is_keyed(earlier, tmp_path):
    result = graphlink.match(earlier, _log("fresh", 5, "2026-01-02"))
    a, _ = redact_matches(result.matches, earlier, key="k1")
    b, _ = redact_matches(result.matches, earlier, key="k1")
    c, _ = redact_matches(result.matches, earlier, key="k2")
    assert a.schema == result.matches.schema and a.height == result.matches.height
    assert a["cluster_id"].to_list() == result.matches["cluster_id"].to_list()
    assert a.equals(b) and not a.equals(c)


# --- campaign ids in the whys across --previous: one polars expression, checked against the per-row rewrite ---
import itertools  # noqa: E402
import re  # noqa: E402

from graphlink.stages.stable_campaigns import rekey_campaign_ids  # noqa: E402
from tests._why_oracle import reference_why  # noqa: E402


def _whys():
    leads = ["same operator as flagged cluster 12", "tied to flagged cluster 3", "campaign 12", "campaign 1", "proxies"]
    camps = ["", " (campaign 1)", " (campaign 12)", " (campaign 7)", " (campaign 3)", " as a whole (30 accounts): y", " by 2 cards"]
    tails = ["", "; x", ' templated ("a campaign (campaign 1)"); flagged through cluster 9 (campaign 1)']
    cluster = ["".join(p) for p in itertools.product(leads, camps, tails)] + [None, ""]
    items = ["cluster 2 (campaign 1)", "cluster 5", "cluster 8 (campaign 12)", "cluster 9 (campaign 7)"]
    heads = ["1 cluster, 4 accounts", 'templated "(campaign 1)"', ""]
    campaign = [f"{h}; flagged through {', '.join(c)}{more}" for h in heads for k in (1, 2, 3)
                for c in itertools.permutations(items, k) for more in ("", ", and 3 more")]
    campaign += ["2 clusters", "(campaign 1) flagged through cluster 2 (campaign 1)", None, ""]
    return cluster, campaign


@pytest.mark.parametrize("pairs", [{1: 12, 12: 1, 7: 40}, {3: 5}, {}])
def test_campaign_ids_in_whys_match_the_per_row_rewrite(pairs):
    cluster, campaign = _whys()
    mapping = pl.DataFrame({"cluster_id": list(pairs), "stable_id": list(pairs.values())},
                           schema={"cluster_id": pl.Int64, "stable_id": pl.Int64})
    clusters = pl.DataFrame({"cluster_id": range(len(cluster)), "campaign_id": [1] * len(cluster), "why": cluster})
    campaigns = pl.DataFrame({"campaign_id": range(100, 100 + len(campaign)), "why": campaign, "row": range(len(campaign))})
    accounts = pl.DataFrame({"account_id": ["a"], "campaign_id": [1]})
    _, got_clusters, got_campaigns, _ = rekey_campaign_ids(mapping, accounts, clusters, campaigns, None)
    assert got_clusters["why"].to_list() == [reference_why(t, pairs, False) for t in cluster]
    assert got_campaigns.sort("row")["why"].to_list() == [reference_why(t, pairs, True) for t in campaign]
    if pairs:  # the rewrite does something on these inputs (the comparison can fail)
        assert got_clusters["why"].to_list() != cluster


def _reference_others(text, ids):
    """Session 30's per-row rewrite of the other flagged clusters a tie names, the oracle for the expression."""
    from graphlink.stages.tie_words import OTHERS_PATTERN
    m = re.match(OTHERS_PATTERN, text or "")
    if not m:
        return text
    return text[:m.start(2)] + ", ".join(str(ids.get(int(i), i)) for i in m.group(2).split(", ")) + text[m.end(2):]


def test_other_flagged_clusters_a_tie_names_match_the_per_row_rewrite():
    from graphlink.stages.rekeying import rekey_why
    from graphlink.stages.tie_words import ALSO
    pairs = {1: 7, 2: 3, 3: 9, 12: 1}
    whys = [f"tied to flagged cluster 2 (campaign 1) by 2 IP addresses{ALSO}{'s' if len(o) > 1 else ''} {', '.join(o)}"
            f" by 1 payment card or identifier; z" for k in (1, 2, 3)
            for o in itertools.permutations(["1", "3", "12", "40"], k)] + ["proxies", None]
    clusters = pl.DataFrame({"cluster_id": range(len(whys)), "why": whys})
    mapping = pl.DataFrame({"cluster_id": list(pairs), "stable_id": list(pairs.values())})
    got = rekey_why(clusters, mapping)["why"].to_list()
    led = [None if t is None else re.sub(r"^(tied to flagged cluster )2", r"\g<1>3", t) for t in whys]
    assert got == [_reference_others(t, pairs) if t else t for t in led]
    assert got[0] != whys[0]
