"""Break-it tests of session 30 for the tie evidence (``ties`` in ``evidence.parquet``: the values that tied a
cluster flagged through a tie, listed by ``show``, ``show --json`` (``tied_by``), the report, the notebook and the
case file / CSV export).

Worlds: :func:`tests.test_tie_evidence.tame_world` (a loud cell and a tame cell of one operator sending one
template, 100 people), varied: two tame members paying with the loud cell's card 0 (a card tie, "same operator as
flagged cluster N by 1 payment card or identifier"), a ``--signal`` device column shared the same way, an attacker-written
card value or template, and a second loud operator. What held is kept as regression tests; what broke is a strict
xfail with the reason.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.contract import EVIDENCE_SCHEMA
from graphlink.pipeline import run_detect
from graphlink.stages.tie_evidence import with_tie_evidence
from graphlink.store.outputs import write_outputs
from graphlink.views.explain import tying_values
from tests.test_detection_classes import OTHER_TEMPLATE, RING_TEMPLATE, Log, add_people, add_ring, cluster_row, run
from tests.test_tie_evidence import tame_world

runner = CliRunner()
KEY = ["--redact-key", "k30"]
HOSTILE_CARD = ('=HYPERLINK("http://evil.example/x","click")\x1b[31mRED\x1b]8;;http://e\x07\u202eevil\u200b'
                "<script>alert(1)</script>")
SECRET_CARD = "tok_4242_secret_card"
SECRET_DEVICE = "DEV-7781-SECRET"
PII_TEMPLATE = ("You are an expert. Bill card 4111 1111 1111 1111 via 10.20.30.40 then solve the following task "
                "and show every step: {} ({})")


def world(template: str = RING_TEMPLATE, card: str | None = None, device: bool = False, payers: int = 2) -> pl.DataFrame:
    """:func:`tame_world`'s log; with ``card`` the loud cell's card 0 is ``card`` and the first ``payers`` tame
    members pay with it (4: they join the loud cluster and the tame rest is tied by their address); with ``device`` a
    ``device`` column (loud: a pool of 5 devices, tame 0 and 1 the loud pool's first, others their own)."""
    if template == RING_TEMPLATE:
        log, _, _ = tame_world()
    else:
        rng = np.random.default_rng(21)
        log = Log()
        add_ring(log, rng, "opAloud", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], template)
        add_ring(log, rng, "opAtame", 12, 12, ["35.190.3.3"], template)
        add_people(log, rng, 100)
    df = log.frame()
    acc = pl.col("account_id")
    first_two = acc.is_in(["opAtame0", "opAtame1"])
    if card is not None:
        df = df.with_columns(pl.when(acc.is_in([f"opAtame{i}" for i in range(payers)]) | (pl.col("payment_fingerprint") == "opAloud-card-0")).then(pl.lit(card))
                             .otherwise(pl.col("payment_fingerprint")).alias("payment_fingerprint"))
    if device:
        pool = pl.lit(SECRET_DEVICE + "-") + (acc.str.extract(r"(\d+)$").cast(pl.Int64) % 5).cast(pl.String)
        df = df.with_columns(pl.when(acc.str.starts_with("opAloud")).then(pool)
                             .when(first_two).then(pl.lit(SECRET_DEVICE + "-0"))
                             .otherwise(pl.lit("own-") + acc).alias("device"))
    return df


def detect(tmp: Path, df: pl.DataFrame, *extra: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    df.write_parquet(tmp / "events.parquet")
    out = tmp / "out"
    done = runner.invoke(app, ["detect", str(tmp / "events.parquet"), "--out", str(out), "--quiet", *extra])
    assert done.exit_code == 0, done.output
    return out


def tame_id(out: Path) -> int:
    acc = pl.read_parquet(out / "accounts.parquet")
    return int(acc.filter(pl.col("account_id") == "opAtame5")["cluster_id"].item())


def tied_by(out: Path, cid: int, *extra: str) -> list[dict]:
    shown = runner.invoke(app, ["show", str(out), str(cid), "--json", *extra])
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.output)["tied_by"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return detect(tmp_path_factory.mktemp("hostile"), world(card=HOSTILE_CARD))


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    return detect(tmp_path_factory.mktemp("secret"), world(card=SECRET_CARD))


@pytest.fixture(scope="module")
def address(tmp_path_factory) -> Path:
    return detect(tmp_path_factory.mktemp("address"), world(card=SECRET_CARD, payers=4))


@pytest.fixture(scope="module")
def device(tmp_path_factory) -> Path:
    return detect(tmp_path_factory.mktemp("device"), world(device=True), "--signal", "device")


# -- attacker-written tying values --------------------------------------------------------------------------------

def test_a_hostile_tying_card_is_listed_and_neutralised_in_every_renderer(hostile, tmp_path):
    cid = tame_id(hostile)
    ties = tied_by(hostile, cid)
    assert ties[0] == {"kind": "payment", "value": HOSTILE_CARD, "accounts_sharing": 2, "df": 6,
                       "outside_flagged": 0}  # cards first
    piped = runner.invoke(app, ["show", str(hostile), str(cid)]).output
    assert "\x1b" not in piped and "\x07" not in piped
    view = graphlink.load(hostile).cluster(cid)
    why = view.why()
    assert "Values that tied it to flagged cluster" in why and "\x1b" not in why and "\u202e" not in why
    assert "⟨U+202E⟩" in why
    folder = Path(shutil.copytree(hostile, tmp_path / "r"))
    assert runner.invoke(app, ["report", str(folder), "--quiet"]).exit_code == 0
    page = (folder / "report.html").read_text()
    ties_table = page[page.index(f'id="ties-{cid}"'):]
    ties_table = ties_table[:ties_table.index("</table>")]
    assert "&lt;script&gt;" in ties_table and "⟨U+202E⟩" in ties_table
    assert "<script>alert" not in page and "\u202e" not in page and "\x1b" not in page
    files = view.export(tmp_path / "case")
    cells = pl.read_csv(files["evidence"]).filter(pl.col("ties"))["value"].to_list()
    assert any(c.startswith("'=HYPERLINK") for c in cells) and not any(c.startswith("=") for c in cells)
    case = json.loads(files["json"].read_text())
    assert [e["value"] for e in case["evidence"] if e["ties"] and e["kind"] == "payment"] == [HOSTILE_CARD]


def test_attacker_text_in_tying_prompt_values_never_reaches_a_terminal_raw(tmp_path):
    template = ("=HYPERLINK(\"http://evil.example\",\"x\") \x1b[31m You\u202e are\u200b an <script>alert(1)</script> "
                "expert. Solve the following task @SUM(1) and show every intermediate step: {} ({})")
    out = detect(tmp_path, world(template=template))
    cid = tame_id(out)
    values = [t["value"] for t in tied_by(out, cid)]
    assert len(values) > 20  # the template's shingles (the prompt normaliser keeps ESC in the quote as written)
    assert "\x1b" not in runner.invoke(app, ["show", str(out), str(cid), "--evidence", "100"]).output
    assert "\x1b" not in graphlink.load(out).cluster(cid).why()


# -- --redact -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["card", "address"])
def test_a_redacted_tying_card_or_address_is_hashed_in_show_json_report_and_export(which, secret, address, tmp_path):
    out, raw, kind, token = (secret, SECRET_CARD, "payment", "pay#") if which == "card" else (address, "35.190.3.3", "ip",
                                                                                          "35.190.3.0/24#")
    cid = tame_id(out)
    assert {t["kind"]: t["value"] for t in tied_by(out, cid)}[kind] == raw  # it tied the cluster, in clear
    assert {t["kind"]: t["value"] for t in tied_by(out, cid, *KEY)}[kind].startswith(token)
    assert raw not in runner.invoke(app, ["show", str(out), str(cid), "--evidence", "100", *KEY]).output
    folder = Path(shutil.copytree(out, tmp_path / "r"))
    assert runner.invoke(app, ["report", str(folder), "--quiet", *KEY]).exit_code == 0
    assert raw not in (folder / "report.html").read_text()
    for fmt in ("json", "csv"):
        assert runner.invoke(app, ["export", str(out), "--format", fmt, "--out", str(tmp_path / fmt), *KEY]).exit_code == 0
        assert not any(raw in f.read_text() for f in (tmp_path / fmt).iterdir())


@pytest.mark.xfail(strict=True, reason="--redact hashes payment fingerprints, e-mails and IPs only (README): a --signal "
                   "identifier that ties a cluster ('same operator as flagged cluster N by 1 payment card or identifier') is "
                   "listed in clear in tied_by, the report's ties table and the case file (pre-existing for the "
                   "evidence rows on main; an e-mail-shaped identifier is hashed by the free-text search)")
def test_a_redacted_tying_signal_identifier_is_not_in_clear(device):
    cid = tame_id(device)
    kinds = {t["kind"]: t["value"] for t in tied_by(device, cid)}
    assert kinds.get("device") == SECRET_DEVICE + "-0"  # the identifier tied it
    redacted = {t["kind"]: t["value"] for t in tied_by(device, cid, *KEY)}
    assert SECRET_DEVICE not in redacted["device"]


# Fixed (brk30): prompt phrases were left alone by --redact (SAFE_KINDS: "normalised prompt shingles (no punctuation,
# digits as 0)"), but the value shown is the shingle as written, digits kept: a card number or IP typed in the
# operator's template was in clear in the redacted tied_by, report and case file, and listing every tying value (not
# 10 per kind) showed all of it. Their digits are now written 0 (redact.DIGIT_KINDS); e-mail words stay readable.
def test_redacted_tying_prompt_values_hide_a_card_number_and_an_ip_typed_in_the_template(tmp_path):
    out = detect(tmp_path, world(template=PII_TEMPLATE))
    values = [t["value"] for t in tied_by(out, tame_id(out), *KEY)]
    # Quoted as logged (punctuation kept, session 31): "expert. Bill card", the typed address "00.00.00.00" redacted.
    assert any("expert. Bill card" in v for v in values) and any("0000 0000" in v for v in values)
    assert not any("4111" in v or "10.20.30.40" in v or "10 20 30 40" in v for v in values)
    assert any("00.00.00.00" in v for v in values)
    assert any("4111" in t["value"] for t in tied_by(out, tame_id(out)))  # in clear without --redact


# -- ids, determinism, several leads -----------------------------------------------------------------------------

def test_ids_swapped_by_previous_carry_their_tying_values_and_name_the_new_lead(tmp_path):
    log, loud, tame = tame_world()
    base = run(log)
    assert (cluster_row(base, loud[0])["cluster_id"], cluster_row(base, tame[0])["cluster_id"]) == (1, 2)
    previous = pl.DataFrame({"account_id": loud + tame, "cluster_id": [2] * len(loud) + [1] * len(tame)})
    swapped = run(log, previous=previous)
    assert cluster_row(swapped, tame[0])["why"].startswith("tied to flagged cluster 2 (campaign ")
    keyed = swapped.evidence.filter("ties")
    assert set(keyed["cluster_id"]) == {1}
    same = lambda ev: sorted(ev.filter("ties").select("kind", "value", "accounts_sharing").rows())  # noqa: E731
    assert same(keyed) == same(base.evidence)
    write_outputs(swapped, tmp_path / "out")
    shown = runner.invoke(app, ["show", str(tmp_path / "out"), "1"]).output
    assert f"Values that tied it to flagged cluster 2 ({keyed.height} prompt phrases in " in shown


def test_the_same_input_and_seed_write_byte_identical_evidence(tmp_path):
    log, _, _ = tame_world()
    for name in ("a", "b"):
        write_outputs(run(log), tmp_path / name)
    first, second = ((tmp_path / n / "evidence.parquet").read_bytes() for n in ("a", "b"))
    assert first == second
    assert pl.read_parquet(tmp_path / "a" / "evidence.parquet")["ties"].sum() > 0


def test_a_cluster_tied_to_two_flagged_operators_lists_only_the_values_leading_to_the_lead_its_why_names():
    rng = np.random.default_rng(5)
    log = Log()
    a = add_ring(log, rng, "opA", 20, 5, [f"34.{110 + k}.7.9" for k in range(12)], RING_TEMPLATE)
    b = add_ring(log, rng, "opB", 20, 5, [f"44.{110 + k}.8.9" for k in range(12)], OTHER_TEMPLATE)
    tame = add_ring(log, rng, "tame", 12, 12, ["35.190.3.3"], RING_TEMPLATE)  # A's template, B's card
    add_people(log, rng, 100)
    df = log.frame().with_columns(pl.when(pl.col("account_id").is_in(tame[:2])).then(pl.lit("opB-card-0"))
                                  .otherwise(pl.col("payment_fingerprint")).alias("payment_fingerprint"))
    result = run_detect(df)
    row, lead_b = cluster_row(result, tame[5]), cluster_row(result, b[0])
    assert cluster_row(result, a[0])["flagged"] and lead_b["flagged"]
    assert row["why"].startswith(f"same operator as flagged cluster {lead_b['cluster_id']} (campaign ")
    assert re.match(r"^[^;]* by 1 payment card or identifier;", row["why"])
    ties = result.evidence.filter((pl.col("cluster_id") == row["cluster_id"]) & pl.col("ties"))
    assert ties.select("kind", "value").rows() == [("payment", "opB-card-0")]


# -- display limits, old and empty folders -----------------------------------------------------------------------

def test_show_with_evidence_0_lists_no_tying_row_and_json_keeps_them_all(hostile):
    # Session 31: --evidence 0 leaves the evidence lists out (no empty table with "N more"); the why counts them.
    cid = tame_id(hostile)
    n = len(tied_by(hostile, cid, "--evidence", "0"))
    shown = runner.invoke(app, ["show", str(hostile), str(cid), "--evidence", "0"]).output
    assert n and "# Values that tied it" not in shown and "more: --evidence" not in shown


def test_hundreds_of_tying_values_are_all_listed_cards_first():
    n = 300
    tied = pl.DataFrame({"cluster_id": [2], "values": [list(range(n + 1))]},
                        schema={"cluster_id": pl.Int64, "values": pl.List(pl.UInt32)})
    clusters = pl.DataFrame({"cluster_id": [1, 2], "flagged": [True, True], "flagged_own": [True, False]})
    part = pl.DataFrame({"account_idx": range(6), "cluster_id": [1, 1, 1, 2, 2, 2]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": [a for _ in range(n + 1) for a in range(6)],
                        "signal_idx": [v for v in range(n + 1) for _ in range(6)]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": range(n + 1), "kind": ["prompt"] * n + ["payment"],
                        "value": [f"phrase {i}" for i in range(n)] + ["card"], "weight": [0.5] * (n + 1),
                        "df": [6] * (n + 1)}, schema_overrides={"signal_idx": pl.UInt32})
    ev = pl.DataFrame(schema=EVIDENCE_SCHEMA)
    out = with_tie_evidence(ev, tied, clusters, part, aff, sig)
    assert out.height == n + 1 and out["ties"].all() and set(out["cluster_id"]) == {2}
    listed = tying_values(out)
    assert listed.height == n + 1 and listed["value"][0] == "card"


def test_empty_and_unflagged_logs_write_the_ties_column():
    rng = np.random.default_rng(1)
    log = Log()
    add_people(log, rng, 40)
    for frame in (log.frame(), log.frame().head(0)):
        result = run_detect(frame)
        assert result.evidence.schema["ties"] == pl.Boolean and result.evidence.filter("ties").height == 0


# Fixed (brk30): a folder written before the tie evidence was read with ties False, so the case file and CSV
# exported from it said of every value, the tying ones included, that it did not tie the cluster; it is null now.
def test_a_case_file_from_a_folder_without_ties_does_not_say_no_value_tied(hostile, tmp_path):
    old = Path(shutil.copytree(hostile, tmp_path / "old"))
    pl.read_parquet(old / "evidence.parquet").drop("ties").write_parquet(old / "evidence.parquet")
    cid = tame_id(old)
    assert graphlink.load(old).cluster(cid).ties.height == 0  # nothing listed: holds
    files = graphlink.load(old).cluster(cid).export(tmp_path / "case")
    case = json.loads(files["json"].read_text())
    assert case["evidence"] and all(e["ties"] is None for e in case["evidence"])
