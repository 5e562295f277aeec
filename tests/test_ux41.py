"""Session 41's investigator-facing fixes: the template view keeps what members typed (operators, punctuation),
flagged campaigns first in the report and ``show``, the CSV export's affiliations and data dictionary, and the
CSV byte-order mark."""

from __future__ import annotations

import html
import random
import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.views.templates import reconstruct_templates
from tests.test_detection_classes import Log, add_people, add_ring, add_team

runner = CliRunner()
RING_NAME = "=r\u00efng"
#: The ring's template: an operator, a power and a constant number around the varying ones ({1}: a number, {0}: words).
RING = "You are an expert tutor. Solve x^2 - {1}x + 7 = 0 for {0}, and show every step (no shortcuts)!"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A detect output folder: a flagged ring sending :data:`RING`, its account ids and cards non-ASCII and opening
    with '=' (a spreadsheet formula), a company team (unflagged) and ordinary people."""
    rng = np.random.default_rng(41)
    log = Log()
    add_ring(log, rng, RING_NAME, 24, 4, [f"34.{120 + k}.9.{k + 2}" for k in range(10)], RING)
    add_team(log, rng, "corp", 8, "192.0.2.44", "corp-card", minute=0)
    add_people(log, rng, 60)
    root = tmp_path_factory.mktemp("ux41")
    log.frame().write_parquet(root / "events.parquet")
    done = runner.invoke(app, ["detect", str(root / "events.parquet"), "--out", str(root / "out"), "--quiet"])
    assert done.exit_code == 0, done.output
    return root / "out"


def _copy(world: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(world, out)
    return out

# -- 1. the template view keeps the text as sent ------------------------------------------------------------------

MATH = "Please solve x^2 - {a}x + {b} = 0 and explain (step by step) why it works, then check: f(x) = {c}?"


def _math_prompts(n: int = 8) -> list[tuple[str, str]]:
    rng = random.Random(41)
    return [(f"m{i}", MATH.format(a=rng.randint(10, 99), b=rng.randint(1, 9), c=rng.randint(100, 999)))
            for i in range(n)]


def test_template_keeps_operators_and_punctuation_as_typed():
    """'solve x^2 - 36x' read 'x^ # 36x': the text between a number and the next word was dropped and a number
    inside a word kept the example's digits; constant numbers (the 2, the 0) read as slots."""
    (template,) = reconstruct_templates(prompts=_math_prompts())
    assert template.text() == ("Please solve x^2 - ⟨#⟩x + ⟨#⟩ = 0 and explain (step by step) why it works, "
                               "then check: f(x) = ⟨#⟩?")


def test_template_marks_an_operator_the_followers_wrote_differently():
    """Detection reads words only: '-' and '+' between the same words are one template; the view shows the
    operator as a slot rather than the example's, and the shared spacing around it as written."""
    prompts = [(f"p{i}", f"You are a careful math tutor. Solve x^2 {'-+'[i % 2]} 36x = 0, then say why.")
               for i in range(6)]
    (template,) = reconstruct_templates(prompts=prompts)
    assert template.text() == "You are a careful math tutor. Solve x^2 ⟨≠⟩ 36x = 0, then say why."  # its own mark (tv41)


def test_template_keeps_punctuation_around_a_varying_part():
    prompts = [("a1", "Think step by step about cats, then answer question 12."),
               ("a2", "Think step by step about dogs, then answer question 7."),
               ("a3", "Think step by step about the weather, then answer question 3.")]
    assert [t.text() for t in reconstruct_templates(prompts=prompts, ngram=3)] == [
        "Think step by step about ⟨…⟩, then answer question ⟨#⟩."]


def test_template_from_shingles_only_spaces_its_slots():
    (template,) = reconstruct_templates(["give me 0 ideas for", "me 0 ideas for the"])
    assert template.text() == "give me ⟨#⟩ ideas for the"


def test_report_and_notebook_show_the_ring_template_as_typed(world, tmp_path):
    """The report's template view (HTML-escaped) and ``ClusterView.templates()`` keep '^', '-', '+', '=', the
    brackets and the '!' the ring typed, with only the varying number and words as slots."""
    import graphlink

    out = _copy(world, tmp_path)
    ring = pl.read_parquet(out / "accounts.parquet").filter(pl.col("account_id") == f"{RING_NAME}0")["cluster_id"][0]
    (template,) = graphlink.load(out).cluster(ring).templates()
    assert template.text() == "You are an expert tutor. Solve x^2 - ⟨#⟩x + 7 = 0 for ⟨…⟩, and show every step (no shortcuts)!"
    assert runner.invoke(app, ["report", str(out), "--quiet", "--no-plots", "--static"]).exit_code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    section = page[page.index(f'id="cluster-{ring}"'):]
    (shown,) = re.findall(r'<div class="template">(.*?)</div>', section[:section.index("</section>")], re.S)
    assert "x^2 - <mark" in shown and "</mark>x + 7 = 0 for <mark" in shown and "(no shortcuts)!" in shown
    assert html.unescape(re.sub(r"<mark[^>]*>(.*?)</mark>", r"⟨\1⟩", shown)) == template.text()


# -- 2. flagged campaigns first ----------------------------------------------------------------------------------

def _campaign_rows(page: str) -> list[tuple[str, bool]]:
    """The campaigns table's rows as (campaign id, flagged), in the page's order."""
    table = page[page.index('id="campaigns-section"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]
    return [(c[0], c[4] == "flagged") for c in cells]


def test_report_lists_flagged_campaigns_first_then_by_score(world, tmp_path):
    """A flagged campaign scoring under unflagged ones (flagged through a tie, or a pair of accounts under
    min_flag_size scoring high) was listed after them: campaigns were ranked by score alone."""
    out = _copy(world, tmp_path)
    campaigns = pl.read_parquet(out / "campaigns.parquet")
    assert campaigns["flagged"].any() and not campaigns["flagged"].all()
    # The unflagged campaigns outscore the flagged ones, as a high-scoring pair under min_flag_size does.
    campaigns.with_columns(pl.when(pl.col("flagged")).then(pl.lit(0.61)).otherwise(
        0.9 + pl.col("campaign_id") / 1000).alias("score")).write_parquet(out / "campaigns.parquet")
    assert runner.invoke(app, ["report", str(out), "--quiet", "--no-plots", "--static"]).exit_code == 0
    rows = _campaign_rows((out / "report.html").read_text(encoding="utf-8"))
    flags = [f for _, f in rows]
    assert flags == sorted(flags, reverse=True) and flags[0]
    unflagged = [int(c) for c, f in rows if not f]
    assert unflagged == sorted(unflagged, reverse=True)  # then by score, highest first


# -- 3. the CSV export: affiliations and a data dictionary -------------------------------------------------------

def _read(path: Path) -> list[dict[str, str]]:
    """A CSV as a spreadsheet-minded reader sees it: Python's csv module, the byte-order mark dropped."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_export_has_affiliations_and_a_data_dictionary(world, tmp_path):
    from graphlink.contract import AFFILIATIONS_CSV_SCHEMA, CSV_DICTIONARY

    out = _copy(world, tmp_path)
    done = runner.invoke(app, ["export", str(out), "-f", "csv"])
    assert done.exit_code == 0, done.output
    folder = out / "csv"
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "affiliations.csv", "campaign_ties.csv", "evidence.csv",
                                                             "members.csv", "set_apart.csv"]
    rows = _read(folder / "affiliations.csv")
    assert rows and list(rows[0]) == list(AFFILIATIONS_CSV_SCHEMA)
    evidence = {(r["cluster_id"], r["kind"], r["value"]) for r in _read(folder / "evidence.csv")}
    assert all((r["cluster_id"], r["kind"], r["value"]) in evidence for r in rows)  # a breakdown of evidence.csv
    assert all(int(r["holders"]) >= 2 and int(r["members"]) >= 2 for r in rows)
    # Who pays with the ring's cards: every ring member, its id and the card formula-guarded as in members.csv.
    cards = [r for r in rows if r["kind"] == "payment"]
    assert cards and all(r["account_id"].startswith(f"'{RING_NAME}") for r in cards)
    assert {r["value"] for r in cards} == {f"'{RING_NAME}-card-{i}" for i in range(4)}
    assert {r["account_id"] for r in cards} == {f"'{RING_NAME}{i}" for i in range(24)}
    assert all(r["kind_name"] == "payment card" and r["df"] == "6" for r in cards)
    # The data dictionary describes every column of every file, in the files' order; ASCII for any viewer.
    readme = (folder / "README.txt").read_bytes().decode("ascii")
    for name, (_, columns) in CSV_DICTIONARY.items():
        header = (folder / name).read_text(encoding="utf-8").splitlines()[0].split(",")  # campaign_ties.csv: header only
        assert header == [c for c, _ in columns], name
        section = readme[readme.index(f"{name}: "):]
        assert all(f"\n  {c}: " in section for c in header), name


def test_redacted_csv_export_redacts_the_affiliations_too(world, tmp_path):
    out = _copy(world, tmp_path)
    plain = runner.invoke(app, ["export", str(out), "-f", "csv", "-o", str(tmp_path / "plain")])
    done = runner.invoke(app, ["export", str(out), "-f", "csv", "--redact", "-o", str(tmp_path / "red")])
    assert plain.exit_code == 0 and done.exit_code == 0, done.output
    addresses = [f",34.{120 + k}.9.{k + 2}," for k in range(10)]  # the ring's IPs (a redacted one keeps its /24)
    raw = (tmp_path / "plain" / "affiliations.csv").read_text(encoding="utf-8-sig")
    assert "-card-" in raw and any(a in raw for a in addresses)
    text = (tmp_path / "red" / "affiliations.csv").read_text(encoding="utf-8-sig")
    assert "-card-" not in text and not any(a in text for a in addresses)
    assert len(_read(tmp_path / "red" / "affiliations.csv")) == len(_read(tmp_path / "plain" / "affiliations.csv"))
    # The data dictionary says the values are hashes only in the redacted export (nu41: it said "as logged").
    assert "keyed hashes" in (tmp_path / "red" / "README.txt").read_text()
    assert "keyed hashes" not in (tmp_path / "plain" / "README.txt").read_text()


def test_csv_export_does_not_write_over_a_readme_of_yours(world, tmp_path):
    out = _copy(world, tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "README.txt").write_text("my notes\n")
    done = runner.invoke(app, ["export", str(out), "-f", "csv", "-o", str(tmp_path / "mine")])
    assert done.exit_code == 2 and "README.txt" in done.output
    assert (tmp_path / "mine" / "README.txt").read_text() == "my notes\n"


# -- 4. a UTF-8 byte-order mark for Excel (--bom; none by default, session 41's nu41: scripts' readers keep it) ---

def test_csv_files_start_with_a_byte_order_mark_only_with_bom(world, tmp_path):
    import csv
    import io

    out = _copy(world, tmp_path)
    assert runner.invoke(app, ["export", str(out), "-f", "csv", "--bom"]).exit_code == 0
    for name in ("members.csv", "evidence.csv", "affiliations.csv"):
        data = (out / "csv" / name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), name
        assert pl.read_csv(out / "csv" / name).columns[0] in ("campaign_id", "cluster_id")  # polars skips it
    assert "start with a UTF-8 byte-order mark" in (out / "csv" / "README.txt").read_text()
    members = pl.read_csv(out / "csv" / "members.csv")
    assert f"'{RING_NAME}0" in members["account_id"].to_list()  # the id as written, decoded as UTF-8
    # An earlier export with the mark is replaced by one without it (the default), and the other way round.
    assert runner.invoke(app, ["export", str(out), "-f", "csv"]).exit_code == 0
    for name in ("members.csv", "evidence.csv", "affiliations.csv"):  # Python's csv module reads the names as written
        data = (out / "csv" / name).read_bytes()
        assert next(csv.DictReader(io.StringIO(data.decode("utf-8")))).get("cluster_id") is not None, name
    assert "have no byte-order mark" in (out / "csv" / "README.txt").read_text()
    assert runner.invoke(app, ["export", str(out), "-f", "csv", "--bom"]).exit_code == 0
    assert (out / "csv" / "members.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "--bom" in runner.invoke(app, ["export", "--help"]).output


def test_a_case_export_writes_its_csvs_with_the_mark_only_when_told(world, tmp_path):
    import graphlink

    out = _copy(world, tmp_path)
    ring = graphlink.load(out).cluster(int(pl.read_parquet(out / "accounts.parquet").filter(
        pl.col("account_id") == f"{RING_NAME}0")["cluster_id"][0]))
    marked, plain = ring.export(tmp_path / "a", bom=True), ring.export(tmp_path / "b")
    assert marked["members"].read_bytes().startswith(b"\xef\xbb\xbf")
    assert plain["members"].read_bytes() == marked["members"].read_bytes()[3:]
