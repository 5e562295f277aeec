"""Break-it review of session 41's changes (brk41b): template variants, spelled ids, CSV export, --map, timestamps."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from graphlink.cli import app
from graphlink.views.safety import terminal_safe, unspelled, visible_text
from graphlink.views.templates import reconstruct_templates

WORDS = "apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def test_a_weak_template_does_not_take_in_a_template_sharing_only_its_tail():
    # "⟨…⟩ you must answer" (7 prompts) listed "Summarise this article ...: ⟨…⟩ you must answer" as its variant:
    # its constant opening, 9 of its 12 words, vanished into a slot and its 3 accounts were counted as the other's.
    w = WORDS
    prompts = [(f"s{i}", f"Translate the following text into French carefully and with style: {w[i]} {w[i + 3]} "
                         f"{w[i + 5]} {w[i + 7]} you must answer") for i in range(3)]
    prompts += [(f"t{i}", f"Summarise this article for me in five bullet points: {w[i + 1]} {w[i + 4]} {w[i + 8]} "
                          f"{w[i + 2]} you must answer") for i in range(3)]
    prompts += [(f"w{i}", f"Hello there friend {w[i + 2]} {w[i + 6]} {w[i]} {w[i + 9]} you must answer")
                for i in range(4)]
    texts = {t.text(): t.accounts for t in reconstruct_templates(prompts=prompts, ngram=3, max_templates=5)}
    assert texts.get("Summarise this article for me in five bullet points: ⟨…⟩ you must answer") == 3, texts


IDS = ["ring\u200b1", "ring\u200b\u200b1", "ring⟨U+200B⟩1", "ja\u2028ja", "plain3", "plain4"]


def _ring_log(tmp_path):
    rows = [{"account_id": a, "timestamp": f"2025-03-01T{10 + j:02d}:{i:02d}:00Z", "ip": f"192.0.2.{j + 1}",
             "payment_fingerprint": "card-1", "prompt": f"Think step by step about topic {j} and answer in detail"}
            for i, a in enumerate(IDS) for j in range(6)]
    pl.DataFrame(rows).write_parquet(tmp_path / "events.parquet")
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "events.parquet"), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path / "o"


def test_two_ids_never_look_alike_and_a_spelled_id_reads_back():
    # The id written "ring⟨U+200B⟩1" looked exactly like "ring\u200b1" spelled, in the report and on a terminal.
    for show in (visible_text, terminal_safe):
        assert len({show(i) for i in IDS}) == len(IDS)
        assert all(unspelled(show(i)) == i for i in IDS if "\u2028" not in i or show is visible_text)


def test_expand_reads_ids_copied_from_the_report_and_a_seeds_file_line_with_a_line_separator(tmp_path):
    out = _ring_log(tmp_path)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("ja\u2028ja\n", encoding="utf-8")  # splitlines cut it in two: "unknown seed account 'ja'"
    for given in [str(seeds), visible_text("ring\u200b\u200b1"), visible_text("ja\u2028ja"), visible_text(IDS[2])]:
        result = CliRunner().invoke(app, ["expand", str(out), "-s", given, "--json", "--top", "1"])
        assert result.exit_code == 0, (given, result.output)
        wanted = {str(seeds): "ja\u2028ja"}.get(given, unspelled(given))
        assert f'"account_id": {wanted!r}'.replace("'", '"') in result.output or wanted in result.output


def test_a_prompts_own_slot_marks_are_not_read_as_slots():
    # "Fill the blank ⟨…⟩ ..." printed as a template whose opening varies; the parts said it was constant.
    prompts = [(f"a{i}", f"Fill the blank ⟨…⟩ in this sentence about {w} and explain ⟨#⟩ carefully step by step")
               for i, w in enumerate(WORDS[:6])]
    template = reconstruct_templates(prompts=prompts)[0]
    assert template.raw_text().count("⟨…⟩") == 2
    assert template.text().count("⟨…⟩") == 1 and "⟨#⟩" not in template.text()


def test_spreadsheet_serial_dates_beside_iso_times_are_named_in_a_warning(tmp_path):
    # Two of three rows, serial dates, were dropped with only "rejected timestamp_out_of_range: 2": the hint came only
    # when every row was rejected (and read every row's value, so ISO rows beside the serial ones hid it).
    path = tmp_path / "mixed.csv"
    path.write_text("user,Event Time,ip\na,45719.5,192.0.2.1\nb,2025-03-01T00:00:00Z,192.0.2.1\nc,45721,192.0.2.1\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["detect", str(path), "--map", "account_id=user", "--map", "timestamp=Event Time",
                                      "--out", str(tmp_path / "o")])
    line = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "2 rows rejected (timestamp out of range); column 'Event Time' (such as 45719.5) looks like spreadsheet" in line


def test_spark_names_the_files_timestamp_column_when_none_parses(spark, tmp_path):
    # The polars engine names 'Event Time' (nu41); --engine spark still said column timestamp.
    from graphlink.config import build_config
    from graphlink.engines.spark.ingest import read_events
    from graphlink.errors import InputError

    path = tmp_path / "words.csv"
    path.write_text("user,Event Time,ip\na,yesterday,192.0.2.1\n", encoding="utf-8")
    config = build_config(columns=[("account_id", "user"), ("timestamp", "Event Time")]).ingest
    try:
        read_events(spark, str(path), config)
    except InputError as exc:
        assert "Event Time" in str(exc) and "no timestamp could be parsed" in str(exc), str(exc)
    else:
        raise AssertionError("no error")
