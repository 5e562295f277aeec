"""Trying to break match as changed in session 17 (issue 15): detect's indexes, the public-template and
fragment rules, the riders' day shifts, the notebook path, determinism.

Hand-built logs as in tests/test_break_match16.py (whose helpers are reused): a ring of 6 on one card and a
three-address proxy pool writes its prompts from one template; 100 ordinary people write free text. Day two's
accounts go once through one pool address (not enough alone) and send various prompts.
"""

from __future__ import annotations

import random
import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.contract import (MATCH_CLOCKS_FILE, MATCH_INDEX_FILE, MATCH_MATES_FILE, MATCH_POOLS_FILE,
                                MATCH_TEMPLATES_FILE, MATCHES_FILE)
from graphlink.errors import GraphlinkError
from graphlink.store.outputs import load_outputs
from graphlink.views.match import write_matches
from test_break_match16 import (COLUMNS, DAY, T0, TEMPLATE, WORDS, cron_case, day_two, framework, free_text, known_run,
                                templated)

INDEXES = (MATCH_INDEX_FILE, MATCH_POOLS_FILE, MATCH_MATES_FILE, MATCH_CLOCKS_FILE, MATCH_TEMPLATES_FILE)


def fill(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(3))


def without_indexes(known: Path, to: Path) -> Path:
    """A copy of ``known`` without detect's match indexes (match counts the run's tables itself)."""
    copy = Path(shutil.copytree(known, to))
    for name in INDEXES:
        (copy / name).unlink(missing_ok=True)
    return copy


def matched(known, log, **options) -> int:
    return int(graphlink.match(known, log, **options).matches["cluster_id"].is_not_null().sum())


@pytest.fixture(scope="module")
def pool_ring(tmp_path_factory):
    return known_run(tmp_path_factory.mktemp("pool17") / "known", templated)


def mixed_log() -> pl.DataFrame:
    """Ten ring newcomers with the template and ten ordinary ones with free text, each once through a pool address."""
    return pl.concat([day_two("new", templated), day_two("ord", free_text)])


# --- templates: the fragment rule (a run the template goes on past) ------------------------------------------

def typo_mid(rng):
    return TEMPLATE.replace("of your", "off your").format(fill(rng))


def word_swapped(rng):
    return TEMPLATE.replace("all of", "every bit of").format(fill(rng))


def typo_late(rng):
    return TEMPLATE.replace("question", "questoin").format(fill(rng))


def test_control_the_template_whole_and_twice_in_one_prompt_is_matched(pool_ring):
    known, ring = pool_ring
    twice = graphlink.match(known, day_two("two", lambda rng: templated(rng) + " " + templated(rng))).matches
    assert twice["cluster_id"].to_list() == [ring] * 10


# Fixed in session 17 for a word changed inside the template (a run resumes within RUN_GAP shingle lengths); open
# where the typo falls near the template's end (nothing of it resumes after).
@pytest.mark.parametrize("prompt", [typo_mid, word_swapped, pytest.param(typo_late, marks=pytest.mark.xfail(
    strict=True, reason="fragment rule (33b54af): a typo near the template's end ('questoin') leaves the run "
    "ending before it, and the template goes on past that end: 0 of 10 ring newcomers through one pool exit "
    "matched (10 of 10 with the rule off); detect's MinHash tolerates the typo"))],
    ids=["typo_mid", "swap_mid", "typo_late"])
def test_a_ring_newcomer_with_one_word_of_the_template_changed_is_still_matched(pool_ring, prompt):
    known, ring = pool_ring
    assert graphlink.match(known, day_two("typ", prompt)).matches["cluster_id"].to_list() == [ring] * 10


@pytest.mark.xfail(strict=True, reason=(
    "fragment rule: a ring newcomer sending the template in two messages ('Think step by step and show all of "
    "your reasoning' / 'before you answer this question about ...') has two runs, each a fragment of the "
    "template: 0 of 10 matched"))
def test_a_ring_newcomer_sending_the_template_in_two_messages_is_matched(pool_ring):
    known, ring = pool_ring
    rng = random.Random(11)
    rows = [(f"spl{i:02d}", f"card-spl{i}", f"203.0.113.{i % 3 + 1}" if k == 0 else f"100.64.{i}.{k}",
             "Go-http-client/2.0", T0 + timedelta(days=5, hours=9 + k), text)
            for i in range(10)
            for k, text in enumerate(["Think step by step and show all of your reasoning",
                                      "before you answer this question about " + fill(rng)])]
    log = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    assert graphlink.match(known, log).matches["cluster_id"].to_list() == [ring] * 10


# --- templates: the public rule (more than a tenth of a shingle's holders in no cluster) --------------------

def ring_with_missed(path: Path, missed: int):
    """``known_run``'s ring and people, plus ``missed`` ring accounts sending the template from their own card and
    address in other hours (detect leaves them unclustered)."""
    rng = random.Random(7)
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i),
             templated(rng)) for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(f"lone{j}", f"card-lone{j}", f"172.16.{j}.9", "Mozilla/5.0", T0 + timedelta(days=d, hours=11 + j),
              templated(rng)) for j in range(missed) for d in range(3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              free_text(rng)) for i, p in enumerate(f"person{i:02d}" for i in range(100)) for d in range(3)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(path)
    accounts = pl.read_parquet(known / "accounts.parquet")
    assert accounts.filter(pl.col("account_id").str.starts_with("lone"))["cluster_id"].null_count() == missed
    return known


@pytest.mark.xfail(strict=True, reason=(
    "public rule (9b99dea): one ring account detect missed (lone0: own card and address, the template) is 1 of "
    "the template's 7 holders, more than MAX_PUBLIC_SHARE (a tenth), so the whole template is judged public: "
    "0 of 10 ring newcomers through one pool exit matched (10 of 10 without lone0)"))
def test_one_missed_ring_account_does_not_make_a_small_rings_template_public(tmp_path):
    known = ring_with_missed(tmp_path / "known", missed=1)
    assert matched(known, day_two("new", templated)) == 10


# --- templates: Unicode and numbers ---------------------------------------------------------------------------

FULL_WIDTH = "Ｔｈｉｎｋ ｓｔｅｐ ｂｙ ｓｔｅｐ and show all of your reasoning before you answer this question about {}"
TURKISH = "İSTANBUL İÇİN ŞİMDİ DÜŞÜN ADIM ADIM VE TÜM AKIL YÜRÜTMENİ GÖSTER SONRA CEVAP VER {}"
CYRILLIC = "Пожалуйста подумай шаг за шагом и покажи все свои рассуждения прежде чем ответить на вопрос о {}"
EMOJI = "🔥🔥 Think step by step 🤖 and show all of your reasoning ✅ before you answer this question about {}"
CHINESE = "请一步一步地思考并在回答这个问题之前展示你所有的推理过程关于这个问题 {}"
UNICODE_CASES = {  # the earlier ring's template, the newcomers' spelling of it
    "full_width_known_ascii_new": (FULL_WIDTH, TEMPLATE),
    "turkish_upper_known_lower_new": (TURKISH, TURKISH.lower()),
    "cyrillic": (CYRILLIC, CYRILLIC), "emoji": (EMOJI, EMOJI), "chinese": (CHINESE, CHINESE)}


@pytest.mark.parametrize("case", sorted(UNICODE_CASES))
def test_unicode_templates_match_ring_newcomers_not_people_and_index_equals_counting(tmp_path, case):
    known_text, new_text = UNICODE_CASES[case]
    known, ring = known_run(tmp_path / "known", lambda rng: known_text.format(fill(rng)))
    log = pl.concat([day_two("new", lambda rng: new_text.format(fill(rng))), day_two("ord", free_text)])
    result = graphlink.match(known, log).matches
    assert result.filter(pl.col("account_id").str.starts_with("new"))["cluster_id"].to_list() == [ring] * 10
    assert result.filter(pl.col("account_id").str.starts_with("ord"))["cluster_id"].null_count() == 10
    assert graphlink.match(without_indexes(known, tmp_path / "bare"), log).matches.equals(result)


NUMBERS = "{} 4417 0093 2281 7765 1029 3348 5561 9902 1187 6634 2219 8873 {}"


@pytest.mark.xfail(strict=True, reason=(
    "a numbers-only template ('4417 0093 2281 ...', a ring checking codes) normalises to the one shingle "
    "'0 0 0 0 0' (every number is 0), below MIN_TEMPLATE_SHINGLES: 0 of 10 ring newcomers through one pool exit "
    "matched. Low harm: detect's own normalisation, and the same shingle would be everyone's"))
def test_a_numbers_only_template_corroborates_a_pool_exit(tmp_path):
    def numbers(rng):
        return NUMBERS.format(rng.randint(0, 99999), rng.randint(0, 99999))
    known, ring = known_run(tmp_path / "known", numbers)
    assert graphlink.match(known, day_two("num", numbers)).matches["cluster_id"].to_list() == [ring] * 10


# --- detect's indexes --------------------------------------------------------------------------------------------

def test_indexes_give_the_matches_counting_the_tables_gives(pool_ring, tmp_path):
    known, _ = pool_ring
    log = mixed_log()
    bare = without_indexes(known, tmp_path / "b")
    assert graphlink.match(known, log).matches.equals(graphlink.match(bare, log).matches)


# Fixed in session 17: run.json lists the indexes written with it (bytes); match ignores, and names, any other.
# The finding: an index copied in from another run was read as this run's without a word (0 of 10 ring newcomers
# matched instead of 10; on dev crowds 1004, 52 accounts matched differently).
def test_an_index_copied_in_from_another_run_is_refused_or_ignored(pool_ring, tmp_path):
    known, _ = pool_ring
    other, _ = known_run(tmp_path / "other", lambda rng: CHINESE.format(fill(rng)))
    copy = Path(shutil.copytree(known, tmp_path / "copy"))
    shutil.copy(other / MATCH_TEMPLATES_FILE, copy / MATCH_TEMPLATES_FILE)
    log = mixed_log()
    try:
        got = graphlink.match(copy, log).matches
    except GraphlinkError as exc:
        assert MATCH_TEMPLATES_FILE in str(exc)
        return
    assert got.equals(graphlink.match(known, log).matches)


def test_a_folder_rewritten_by_detect_previous_has_indexes_matching_its_tables(pool_ring, tmp_path):
    known, _ = pool_ring
    # Day two detected with --previous: the ring's returning members and its newcomers, people again.
    rng = random.Random(5)
    again = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", T0 + timedelta(days=6, hours=h, minutes=i),
              templated(rng)) for i, a in enumerate(f"ring{i}" for i in range(4)) for h in (2, 3)]
    people = [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=6, hours=(i * 5) % 24), free_text(rng))
              for i, p in enumerate(f"person{i:02d}" for i in range(60))]
    day = pl.concat([pl.DataFrame(again + people, schema=COLUMNS, orient="row"), day_two("new", templated)])
    day.write_parquet(tmp_path / "day.parquet")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["detect", str(tmp_path / "day.parquet"), "--out", str(out),
                                   "--previous", str(known)])
    assert run.exit_code == 0, run.output
    log = mixed_log()
    assert graphlink.match(out, log).matches.equals(graphlink.match(without_indexes(out, tmp_path / "b"), log).matches)


# --- min_concentration edges: the index is the default's only --------------------------------------------------

@pytest.mark.parametrize("min_concentration", [0.0, 1.0, 0.5000001])
def test_min_concentration_edges_match_the_ring_newcomers_and_spare_people(pool_ring, min_concentration):
    known, ring = pool_ring
    result = graphlink.match(known, mixed_log(), min_concentration=min_concentration).matches
    assert result.filter(pl.col("account_id").str.starts_with("new"))["cluster_id"].to_list() == [ring] * 10
    assert result.filter(pl.col("account_id").str.starts_with("ord"))["cluster_id"].null_count() == 10


# --- the notebook path ---------------------------------------------------------------------------------------------

def test_notebook_outputs_and_selections_match_as_the_folder(pool_ring):
    known, ring = pool_ring
    log = mixed_log()
    folder = graphlink.match(known, log).matches
    assert graphlink.match(graphlink.load(known).outputs, log).matches.equals(folder)
    for selection in ("flagged", [ring], "all"):
        assert graphlink.match(load_outputs(known, selection, graph=True), log).matches.equals(folder), selection
    assert graphlink.match(load_outputs(known, "all", whole=True, graph=True), log).matches.equals(folder)


# --- earlier runs: no campaign ids, unclustered accounts ---------------------------------------------------------

def test_an_earlier_run_whose_clusters_have_no_campaign_id_still_matches(pool_ring, tmp_path):
    known, ring = pool_ring
    copy = Path(shutil.copytree(known, tmp_path / "copy"))
    for name in ("clusters.parquet", "accounts.parquet"):
        table = pl.read_parquet(copy / name)
        table.with_columns(pl.lit(None, pl.Int64).alias("campaign_id")).write_parquet(copy / name)
    log = mixed_log().with_columns(  # the newcomers pay with the ring's card: no template needed
        pl.when(pl.col("account_id").str.starts_with("new")).then(pl.lit("card-ring"))
        .otherwise(pl.col("payment_fingerprint")).alias("payment_fingerprint"))
    result = graphlink.match(copy, log).matches
    assert result.filter(pl.col("account_id").str.starts_with("new"))["cluster_id"].to_list() == [ring] * 10
    assert result["campaign_id"].null_count() == 20
    assert graphlink.match(without_indexes(copy, tmp_path / "b"), log).matches.equals(result)


def test_accounts_unclustered_in_the_earlier_run_are_not_members_and_returning_members_are(pool_ring):
    known, ring = pool_ring
    rng = random.Random(3)
    rows = [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=7, hours=i), free_text(rng))
            for i, p in enumerate(["person00", "person01"])]
    rows += [("ring0", "card-x", "198.51.100.7", "Mozilla/5.0", T0 + timedelta(days=7), free_text(rng))]
    result = graphlink.match(known, pl.DataFrame(rows, schema=COLUMNS, orient="row")).matches.sort("account_id")
    assert result["cluster_id"].to_list() == [None, None, ring]
    assert result["score"].to_list() == [0.0, 0.0, 1.0]


def test_an_empty_new_log_gives_no_rows_and_counts_zero(pool_ring, tmp_path):
    known, _ = pool_ring
    result = graphlink.match(known, mixed_log().head(0))
    assert result.matches.height == 0 and result.run["counts"]["matched"] == 0
    write_matches(result, tmp_path / "m")
    assert pl.read_parquet(tmp_path / "m" / MATCHES_FILE).height == 0


# --- determinism ----------------------------------------------------------------------------------------------------

def test_identical_runs_write_identical_matches_bytes(pool_ring, tmp_path):
    known, _ = pool_ring
    log = mixed_log()
    for name in ("a", "b"):
        write_matches(graphlink.match(known, log), tmp_path / name)
    assert (tmp_path / "a" / MATCHES_FILE).read_bytes() == (tmp_path / "b" / MATCHES_FILE).read_bytes()


# --- riders over several days: a cell whose bursts are partly daily ---------------------------------------------

DAILY = [d * DAY + 120 for d in range(7)]


def cell_with_extra_bursts(extra: int) -> list[int]:
    """The cell's bursts over a week: 02:00 each day and ``extra`` bursts at random other minutes."""
    return sorted(DAILY + random.Random(3).sample(range(200, 7 * DAY - 200), extra))


def test_control_a_newcomer_in_every_burst_of_a_mostly_unscheduled_cell_moves():
    cell = cell_with_extra_bursts(7)
    assert cron_case(cell, rider_minutes=cell)["cluster_id"].to_list() == [2]


@pytest.mark.xfail(strict=True, reason=(
    "day shifts (6748cc0): a ring newcomer acting in every one of its cell's bursts over a week stays with the "
    "pool's biggest cluster when the cell fires at 02:00 daily (7 bursts alone; or with up to 4 other bursts; or "
    "at 02:00 and 14:00 daily): the rider's minutes shifted by a day hold 6 of its 7 daily hits, and k must be "
    "BEYOND_SCHEDULE (2) times that. A cell of 2 days of daily bursts moves, 3 days does not"))
@pytest.mark.parametrize("cell", [DAILY, cell_with_extra_bursts(4), sorted(DAILY + [m + 720 for m in DAILY])],
                         ids=["daily_only", "daily_plus_4", "twice_daily"])
def test_a_ring_newcomer_in_every_burst_of_a_daily_cell_moves(cell):
    assert cron_case(cell, rider_minutes=cell)["cluster_id"].to_list() == [2]


# --- the public rule counts only unclustered holders: an office team detect clustered ---------------------------

def framework_ring_and_office(path: Path, office: int = 4):
    """The ring of ``known_run`` sending a public framework's prompt, an office team of ``office`` behind one NAT
    address sending it too (detect clusters the team, and puts it in the ring's campaign), 100 people."""
    rng = random.Random(7)
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i),
             framework(rng)) for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(f"off{j}", f"card-off{j}", "192.0.2.50", "Mozilla/5.0 Office", T0 + timedelta(days=d, hours=9 + j),
              framework(rng)) for j in range(office) for d in range(3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              free_text(rng)) for i, p in enumerate(f"person{i:02d}" for i in range(100)) for d in range(3)]
    known = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1).save(path)
    accounts = pl.read_parquet(known / "accounts.parquet")
    team = accounts.filter(pl.col("account_id").str.starts_with("off"))
    ring = accounts.filter(pl.col("account_id").str.starts_with("ring"))
    assert team["cluster_id"].null_count() == 0 and team["cluster_id"].n_unique() == 1
    assert ring["cluster_id"].n_unique() == 1 and ring["cluster_id"][0] != team["cluster_id"][0]
    return known


def test_control_with_an_office_team_the_framework_prompt_alone_matches_no_one(tmp_path):
    known = framework_ring_and_office(tmp_path / "known")
    assert matched(known, day_two("co", framework, through_pool=False)) == 0


@pytest.mark.xfail(strict=True, reason=(
    "public rule counts only holders in no cluster: a public framework prompt sent by the ring (6) and by an "
    "office team of 4 that detect clustered (and joined to the ring's campaign through that prompt) has no "
    "unclustered holder, so it is the campaign's template: 10 of 10 company newcomers sending the framework "
    "prompt once through one ring proxy exit are matched to the ring's cluster ('sends its campaign's templates "
    "(28 shingles)'); with 6 office accounts too (2 shingles)"))
def test_company_using_a_framework_an_office_team_also_used_is_not_matched_through_one_exit(tmp_path):
    known = framework_ring_and_office(tmp_path / "known")
    assert matched(known, day_two("co", framework)) == 0


def test_a_fresh_detect_results_outputs_match_as_its_saved_folder(tmp_path):
    rng = random.Random(7)
    rows = [(a, "card-ring", f"203.0.113.{i % 3 + 1}", "curl/8.0", T0 + timedelta(days=d, hours=h, minutes=i),
             templated(rng)) for i, a in enumerate(f"ring{i}" for i in range(6)) for d in range(3) for h in (2, 3)]
    rows += [(p, f"card-{p}", f"10.0.{i}.1", "Mozilla/5.0", T0 + timedelta(days=d, hours=(i * 5) % 24, minutes=i),
              free_text(rng)) for i, p in enumerate(f"person{i:02d}" for i in range(100)) for d in range(3)]
    fresh = graphlink.detect(pl.DataFrame(rows, schema=COLUMNS, orient="row"), seed=1)
    folder = fresh.save(tmp_path / "known")
    log = mixed_log()
    assert graphlink.match(fresh.outputs, log).matches.equals(graphlink.match(folder, log).matches)


def test_a_shuffled_new_log_gives_the_same_matches(pool_ring):
    known, _ = pool_ring
    log = mixed_log()
    assert graphlink.match(known, log.sample(fraction=1.0, shuffle=True, seed=4)).matches.equals(
        graphlink.match(known, log).matches)


def test_matches_bytes_do_not_depend_on_the_thread_count(pool_ring, tmp_path):
    import os
    import subprocess
    import sys
    known, _ = pool_ring
    mixed_log().write_parquet(tmp_path / "log.parquet")
    for threads in ("1", "3"):
        root = str(Path(graphlink.__file__).parents[1])  # this checkout's graphlink, not an installed one
        env = {**os.environ, "POLARS_MAX_THREADS": threads, "PYTHONPATH": root}
        done = subprocess.run([sys.executable, "-m", "graphlink", "match", str(known), str(tmp_path / "log.parquet"),
                               "--out", str(tmp_path / threads)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "1" / MATCHES_FILE).read_bytes() == (tmp_path / "3" / MATCHES_FILE).read_bytes()


# --- templates: an optional closing sentence, a fill-in in the middle -----------------------------------------------

OPENS = "{} : think step by step and show all of your reasoning before you answer this question"
OPTIONAL = " then reply only in valid json with the keys answer and confidence"


def short_or_long(rng):
    """The ring's template: its fill-in, the fixed part, and half the time an optional closing sentence."""
    return OPENS.format(fill(rng)) + (OPTIONAL if rng.random() < 0.5 else "")


@pytest.fixture(scope="module")
def optional_ring(tmp_path_factory):
    return known_run(tmp_path_factory.mktemp("optional") / "known", short_or_long)


def test_control_a_newcomer_sending_the_long_form_is_matched(optional_ring):
    known, ring = optional_ring
    long_form = graphlink.match(known, day_two("lng", lambda rng: OPENS.format(fill(rng)) + OPTIONAL)).matches
    assert long_form["cluster_id"].to_list() == [ring] * 10


@pytest.mark.xfail(strict=True, reason=(
    "fragment rule: a ring whose accounts add an optional closing sentence half the time ('... then reply only in "
    "valid json ...'): a newcomer sending the short form, exactly as half the ring did, is a 'fragment' (the "
    "continuation is held by 3 of 6, >= TEMPLATE_GOES_ON of the run's end): 0 of 10 matched, the long form 10 of 10"))
def test_a_newcomer_sending_the_short_form_of_a_template_with_an_optional_ending_is_matched(optional_ring):
    known, ring = optional_ring
    short = graphlink.match(known, day_two("sht", lambda rng: OPENS.format(fill(rng)))).matches
    assert short["cluster_id"].to_list() == [ring] * 10


def test_a_template_with_its_fill_in_in_the_middle_is_matched(tmp_path):
    def middle(rng):
        return "Translate " + fill(rng) + " into French and explain every grammar rule you use step by step"
    known, ring = known_run(tmp_path / "known", middle)
    assert graphlink.match(known, day_two("mid", middle)).matches["cluster_id"].to_list() == [ring] * 10


@pytest.mark.xfail(strict=True, reason=(
    "day shifts need three days: over a two-day log a daily cron job at a rider's 02:00 burst (the rider firing "
    "at 02:00 both days) moves to the rider (k 2 of 2, the day-shifted minutes hold 1 on average); low harm: "
    "both clusters ride the pool the account was matched on"))
def test_a_daily_cron_job_at_a_riders_minute_over_two_days_stays():
    two_days = [120, DAY + 120]
    assert cron_case(two_days, rider_minutes=two_days).height == 0
