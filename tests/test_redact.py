"""Redaction: keyed hashes replace payment fingerprints, e-mails and IPs in every output."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.store.outputs import load_outputs
from graphlink.store.redact import ENV_KEY, Redactor, apply_mapping, make_redactor
from tests._report_worlds import EMAILS, RING_A_CARD, RING_B_CARDS, world, world_session  # noqa: F401


def raw_sensitive_values(out_dir) -> set[str]:
    """Every raw card and IP the unredacted outputs hold, plus the planted e-mails."""
    memberships = pl.read_parquet(out_dir / "memberships.parquet")
    evidence = pl.read_parquet(out_dir / "evidence.parquet")
    both = pl.concat([memberships.select("kind", "value"), evidence.select("kind", "value")])
    values = set(both.filter(pl.col("kind").is_in(["payment", "ip"]))["value"].to_list())
    assert RING_A_CARD in values and set(RING_B_CARDS) <= values and "198.51.100.23" in values
    # Ring B's per-account IPv6 addresses are unshared, so no output needs them; they
    # must not leak either (canonical and compressed spellings).
    return values | set(EMAILS) | {"2001:db8:77:1::1", "2001:db8:77:1:0:0:0:1"}


def test_redaction_removes_raw_values_from_every_output(world, tmp_path, monkeypatch):
    raw = raw_sensitive_values(world)
    monkeypatch.setenv(ENV_KEY, "test-key")
    runner = CliRunner()
    out = tmp_path / "redacted"
    commands = [
        ["report", str(world), "--out", str(out / "report.html"), "--redact", "--no-plots"],
        ["export", str(world), "-f", "gexf", "-c", "all", "-o", str(out / "g.gexf"), "--redact"],
        ["export", str(world), "-f", "graphml", "-c", "all", "-o", str(out / "g.graphml"), "--redact"],
        ["export", str(world), "-f", "json", "-c", "all", "-o", str(out / "cases"), "--redact"],
        ["export", str(world), "-f", "csv", "-c", "all", "-o", str(out / "csv"), "--redact"],
    ]
    texts = {}
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    cluster_ids = pl.read_parquet(world / "clusters.parquet")["cluster_id"].to_list()
    for cluster_id in cluster_ids:
        result = runner.invoke(app, ["show", str(world), str(cluster_id), "--redact", "--members", "100"])
        assert result.exit_code == 0
        texts[f"show {cluster_id}"] = result.stdout
    for path in out.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_text(encoding="utf-8")
    n = len(cluster_ids)
    assert len(texts) == n + 1 + 2 + n + 6  # show per cluster, report, 2 graphs, case files, 5 CSV files and README.txt
    leaks = {(name, value) for name, text in texts.items() for value in raw if value in text}
    assert not leaks
    # Still useful: networks and e-mail domains remain, equal values stay equal.
    report = texts[str(out / "report.html")]
    assert "10.77.3.0/24" in report and "pay#" in report and "@ringmail.example" in report
    assert "HMAC-SHA256" in report and ENV_KEY in report
    case = json.loads(texts[str(out / "cases" / "cluster-1.json")])
    payment = [e["value"] for e in case["evidence"] if e["kind"] == "payment"]
    # Equal values stay equal: the case file's summary names the same redacted card as its evidence.
    assert len(payment) == 1 and payment[0].startswith("pay#")
    assert any(payment[0] in value for value in case["top_values"])


def test_same_key_same_hashes_random_key_differs(world_session):
    a = load_outputs(world_session, [1], redact_key="k1").evidence
    b = load_outputs(world_session, [1], redact_key="k1").evidence
    c = load_outputs(world_session, [1], redact=True).evidence
    d = load_outputs(world_session, [1], redact=True).evidence
    pay = lambda e: e.filter(pl.col("kind") == "payment")["value"].to_list()  # noqa: E731
    assert pay(a) == pay(b) and pay(a) != pay(c) and pay(c) != pay(d)


def test_key_sources(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    assert make_redactor().key_source == "random"
    monkeypatch.setenv(ENV_KEY, "from-env")
    assert make_redactor().key == b"from-env" and make_redactor().key_source == ENV_KEY
    assert make_redactor("explicit").key == b"explicit"
    assert "explicit" not in repr(make_redactor("explicit"))


@pytest.mark.parametrize("text, expected", [
    ("ip 10.1.2.3 end", "ip 10.1.2.0/24#{h} end"),
    ("net 10.1.2.0/24 stays", "net 10.1.2.0/24 stays"),
    ("host route 10.1.2.3/32", "host route 10.1.2.0/24#{h}"),
    ("not an ip 300.1.2.3 or 12:34:56", "not an ip 300.1.2.3 or 12:34:56"),
    ("mapped ::ffff:10.1.2.3 too", "mapped 10.1.2.0/24#{h} too"),
])
def test_ipv4_forms(text, expected):
    r = Redactor(b"k")
    h = r.digest(pl.Series(["10.1.2.3"]))[0]
    assert r.text(pl.Series([text]))[0] == expected.format(h=h)


def test_ipv6_and_email():
    r = Redactor(b"k", ipv6_prefix=48)
    out = r.text(pl.Series(["from 2001:DB8:0:12::1 and Bob.Smith+x@Example.COM, net 2001:db8:7::/48"]))[0]
    h6 = r.digest(pl.Series(["2001:db8:0:12:0:0:0:1"]))[0]
    he = r.digest(pl.Series(["bob.smith+x@example.com"]))[0]
    assert out == f"from 2001:db8:0::/48#{h6} and email#{he}@example.com, net 2001:db8:7::/48"


def test_longest_match_wins():
    assert apply_mapping(pl.Series(["card_10 card_1"]), {"card_1": "A", "card_10": "B"}).to_list() == ["B A"]


def test_truncated_values_in_why_are_redacted(world):
    # A 64-character card: why cuts values at 60 characters and top_values at 80.
    card = "f" * 64
    evidence = pl.read_parquet(world / "evidence.parquet").with_columns(
        pl.when(pl.col("kind") == "payment").then(pl.lit(card)).otherwise(pl.col("value")).alias("value"))
    evidence.write_parquet(world / "evidence.parquet")
    clusters = pl.read_parquet(world / "clusters.parquet").with_columns(
        pl.concat_str([pl.lit("12 accounts share payment "), pl.lit(card[:60])]).alias("why"))
    clusters.write_parquet(world / "clusters.parquet")
    outputs = load_outputs(world, "all", redact_key="k")
    assert not outputs.clusters["why"].str.contains("f" * 20).any()
    assert outputs.clusters["why"].str.contains("pay#").all()


def test_cluster_table_of_unloaded_clusters_is_redacted(world):
    # Only the top cluster gets a section (and is loaded); the table still quotes
    # every cluster's why / top_values, which name cards and IPs of the others.
    from graphlink.views.report import ReportOptions, write_report

    raw = raw_sensitive_values(world)
    html = write_report(world, redact_key="k", options=ReportOptions(max_sections=1, plots=False)).path.read_text()
    ranked = pl.read_parquet(world / "clusters.parquet").filter("flagged").sort(
        ["score", "cluster_id"], descending=[True, False])["cluster_id"].to_list()
    assert len(ranked) >= 2
    assert f'id="cluster-{ranked[0]}"' in html and not [c for c in ranked[1:] if f'id="cluster-{c}"' in html]
    assert not [value for value in raw if value in html]
