"""Break-it review of session 41 (helper brk41), public names only; each test failed on main before its fix.

* Padding of combining marks on no letter (" \\u0301" repeated, or marks with a zero-width character between each
  two): comparing reads it as nothing, but the head read past padding counted only marks stacked 3+ deep with
  nothing between, so 1,000 such pairs in front of a template hid it again (no prompt evidence for the ring).
  (Guard test alongside: accents and two marks on a letter are kept.)
* CamelCase with a look-alike lower-case letter at a boundary ("ArеAn", Cyrillic е): the split after a Latin lower-case
  letter only (session 40) read "arean"; lower-case look-alikes after a Latin letter split too.
* match on a list of ids under ``account_id`` after a run that mapped account_id=user_id: "column 'user_id' not found".
* ``--map created_at=signup`` (the accounts file's column, as its own error advises) failed on the events file.
* A list of ids with two trailing commas read as having a column "_duplicated_0" ("no event column").
* A Parquet list under another column name was told it needs a header line.
* match.json recorded the earlier run's whole map and --signal columns for a list of ids read by its ids alone.
"""
import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

import graphlink
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import normalise_prompt, visible_head

FIXTURES = Path(graphlink.__file__).resolve().parents[1] / "fixtures"

TEMPLATE = ("You are a meticulous tutor. Reason through the following problem step by step, writing out every "
            "intermediate thought before you answer. Problem: {}")

#: Padding comparing reads as nothing: marks on blanks, on punctuation, on an invisible filler, or separated by
#: zero-width characters (each pair alone is no stack of three).
MARK_PADS = {"space-mark": " \u0301" * 1000, "space-two-marks": " \u0301\u0302" * 700, "mark-space": "\u0301 " * 1000,
             "dot-two-marks": ".\u0301\u0301" * 700, "zwnj-mark": "\u200c\u0301" * 1000,
             "filler-two-marks": "\u1160\u0301\u0301" * 700, "letter-zwnj-marks": "x" + "\u200c\u0301" * 1000}


def _norm(text: str) -> str:
    return pl.DataFrame({"p": [text]}).select(normalise_prompt(pl.col("p")))["p"][0]


@pytest.mark.parametrize("pad", list(MARK_PADS.values()), ids=list(MARK_PADS))
def test_a_head_read_past_marks_on_no_letter_holds_the_template(pad):
    text = pad + TEMPLATE.format("tides")
    assert len(_norm(pad)) <= 1  # comparing reads the padding as nothing (or one letter)
    head = pl.DataFrame({"p": [text]}).select(visible_head(pl.col("p"), 1536))["p"][0]
    # got: the head was 1,536 characters of padding, and its words none of the template's
    assert "meticulous tutor" in _norm(head)


def test_accents_and_two_marks_on_a_letter_are_kept_in_a_padded_head():
    text = "\u200b" * 2000 + "Cafe\u0301 Vie\u0302\u0323t and e\u0301\u0301 " + TEMPLATE.format("x")
    head = pl.DataFrame({"p": [text]}).select(visible_head(pl.col("p"), 1536))["p"][0]
    assert head.startswith("Cafe\u0301 Vie\u0302\u0323t and e\u0301\u0301 ")


def test_a_ring_padding_its_template_with_marks_on_blanks_still_has_prompt_evidence():
    rng = random.Random(7)
    background = pl.read_parquet(FIXTURES / "events.parquet")
    t0 = dt.datetime(2025, 1, 8, tzinfo=dt.timezone.utc)
    rows = [dict(account_id=f"pad_ring_{k:02d}", timestamp=t0 + dt.timedelta(minutes=rng.randint(0, 5000)),
                 ip=f"10.9.0.{rng.randint(1, 6)}", payment_fingerprint=f"pf_pad_{k // 4}",
                 prompt=" \u0301" * 1000 + TEMPLATE.format(f"{rng.choice(['tides', 'jazz', 'entropy'])} case {j}"),
                 user_agent=f"custom-agent/{k}.{j}") for k in range(12) for j in range(25)]
    result = graphlink.detect(pl.concat([background, pl.DataFrame(rows, schema=background.schema)]))
    ring = result.accounts.filter(pl.col("account_id").str.starts_with("pad_ring_"))
    cluster = ring["cluster_id"].drop_nulls().mode()[0]
    prompts = result.evidence.filter((pl.col("cluster_id") == cluster) & (pl.col("kind") == "prompt"))
    # got: no prompt evidence (the ring read as sending no prompt at all)
    assert prompts.height > 0


CAMEL = "YouAreAnExpertTutorThatReasonsStepByStepBeforeItAnswers"


@pytest.mark.parametrize("spelled", [
    CAMEL.replace("reAn", "r\u0435An"),  # Cyrillic е before a Latin capital
    CAMEL.replace("reAn", "r\u0435\u0410n"),  # Cyrillic е before a Cyrillic А (a look-alike capital)
    CAMEL.replace("e", "\u0435").replace("o", "\u043e").replace("a", "\u0430"),  # every e, o, a a look-alike
    CAMEL.replace("epBy", "\u0435\u0440By"),  # two look-alikes in a row
], ids=["lower-before-latin", "lower-before-lookalike", "all-lookalikes", "two-lookalikes"])
def test_a_camelcase_template_with_lookalike_lower_case_letters_reads_as_its_words(spelled):
    from graphlink.views.tokens import keyed_tokens

    # got: "you arean expert ..." (the split after a Latin lower-case letter only missed the look-alike е)
    assert _norm(spelled) == _norm(CAMEL) == "you are an expert tutor that reasons step by step before it answers"
    assert [w for w, _, _ in keyed_tokens([spelled])[0]] == _norm(CAMEL).split(" ")


def test_random_case_in_cyrillic_words_is_read_whole_where_the_texts_write_the_words():
    plain = "\u043f\u0440\u043e\u0432\u0435\u0440\u043a\u0430 \u043f\u0440\u0438\u0432\u0435\u0442"
    flipped = ["\u043f\u0440\u041e\u0432\u0435\u0440\u043a\u0430 \u043f\u0440\u0438\u0412\u0435\u0442",
               # capitals spelled with Latin look-alikes (O, B) after Cyrillic letters, look-alike (р) or not (и)
               "\u043f\u0440O\u0432\u0435\u0440\u043a\u0430 \u043f\u0440\u0438B\u0435\u0442"]
    # as detection reads its sample: each boundary against the texts' words (session 42; sessions 40-41 never split
    # Cyrillic, which left Cyrillic CamelCase joined)
    read = read_camel(pl.DataFrame({"p": [plain, *flipped]}).select(normalise_prompt(pl.col("p"), MARK)), "p")["p"]
    assert read.to_list() == [_norm(plain)] * 3


def test_match_looks_up_ids_listed_under_account_id_after_a_run_that_mapped_account_id(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(6000)
    renamed = events.rename({"account_id": "user_id", "timestamp": "ts"})
    graphlink.detect(renamed, column_map={"account_id": "user_id", "timestamp": "ts"}).save(tmp_path / "out")
    listed = tmp_path / "ids.csv"
    ids = events["account_id"].unique().sort().head(3).to_list()
    # the header graphlink's own exports (members.csv, matches) give the column
    listed.write_text("account_id\n" + "\n".join(ids) + "\nnever_seen\n")
    # got: InputError "column 'user_id' (mapped to account_id) not found; columns are: account_id"
    result = graphlink.match(tmp_path / "out", listed)
    assert sorted(result.matches["account_id"].to_list()) == sorted([*ids, "never_seen"])
    # a list under the earlier log's own name is read as before; a log in graphlink's names lacking the earlier
    # map's columns is read by the names it has (session 41), each missing kind warned about with the --map hint
    (tmp_path / "ids2.csv").write_text("user_id\n" + "\n".join(ids) + "\n")
    assert graphlink.match(tmp_path / "out", tmp_path / "ids2.csv").matches.height == 3
    (tmp_path / "log.csv").write_text("account_id,ip\n" + ids[0] + ",10.0.0.1\n")
    warned = " ".join(graphlink.match(tmp_path / "out", tmp_path / "log.csv").run["warnings"])
    assert "timestamp" in warned and "--map" in warned


def test_mapping_the_accounts_files_created_at_does_not_require_the_column_in_the_events_file(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(6000)
    accounts = (pl.read_parquet(FIXTURES / "accounts.parquet").filter(pl.col("account_id").is_in(events["account_id"].implode()))
                .rename({"created_at": "signup"}))
    events.write_parquet(tmp_path / "events.parquet")
    accounts.write_parquet(tmp_path / "accounts.parquet")
    # the accounts file's own error says: "map a column with --map created_at=COLUMN"; got, doing so: "events.parquet:
    # column 'signup' (mapped to created_at) not found" -- the map was applied to the events file too
    result = graphlink.detect(tmp_path / "events.parquet", accounts=tmp_path / "accounts.parquet",
                              column_map={"created_at": "signup"})
    assert "created_hour" in result.evidence["kind"].unique().to_list()
    with pytest.raises(graphlink.InputError, match="'ts' \\(mapped to timestamp\\) not found"):  # an events column still
        graphlink.detect(tmp_path / "events.parquet", column_map={"timestamp": "ts"})


def test_a_list_of_ids_with_two_trailing_commas_is_looked_up(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(6000)
    graphlink.detect(events).save(tmp_path / "out")
    ids = events["account_id"].unique().sort().head(2).to_list()
    listed = tmp_path / "ids.csv"
    listed.write_text("account_id,,\n" + "".join(f"{i},,\n" for i in ids))  # a spreadsheet's export of one column
    # got: "no event column ... (columns in the file: account_id, _duplicated_0)": polars names the second unnamed
    # column, so it read as a column of the file's own (one trailing comma was read as none)
    assert sorted(graphlink.match(tmp_path / "out", listed).matches["account_id"].to_list()) == ids


def test_a_parquet_list_under_another_column_name_is_not_told_it_needs_a_header_line(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(6000)
    graphlink.detect(events).save(tmp_path / "out")
    pl.DataFrame({"id": events["account_id"].head(2)}).write_parquet(tmp_path / "ids.parquet")
    # got: "... a list of ids needs a header line, account_id (its first line is read as the header)": a Parquet file
    # has no header line; its column is to be mapped (or renamed)
    with pytest.raises(graphlink.InputError) as raised:
        graphlink.match(tmp_path / "out", tmp_path / "ids.parquet")
    assert "header line" not in str(raised.value) and "--map account_id=COLUMN" in str(raised.value)


def test_match_json_records_the_map_and_signals_a_list_of_ids_was_read_with(tmp_path):
    events = pl.read_parquet(FIXTURES / "events.parquet").head(6000).with_columns(
        device_id=pl.col("payment_fingerprint").str.slice(0, 6))
    renamed = events.rename({"account_id": "user_id", "timestamp": "ts"})
    graphlink.detect(renamed, column_map={"account_id": "user_id", "timestamp": "ts"},
                     extra_signals=("device_id",)).save(tmp_path / "out")
    listed = tmp_path / "ids.csv"
    listed.write_text("user_id\n" + "\n".join(events["account_id"].unique().sort().head(2)) + "\n")
    read = graphlink.match(tmp_path / "out", listed).run["inputs"]["events"]
    # got: the earlier run's whole map and --signal columns ({account_id: user_id, timestamp: ts}, [device_id]),
    # which the list was not read with (it has neither column)
    assert read["column_map"] == {"account_id": "user_id"} and read["signals"] == []
