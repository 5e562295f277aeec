"""New-user review nu54 (session 54): missing values in other spellings, bytes that are not UTF-8, and wording.

* A timestamp cell written ``NaT``/``nan``/``None``/``null`` (pandas' ``astype(str)``, polars' ``write_csv`` of a
  float NaN) is a missing time: the row is kept with its evidence, never rejected as unparseable.
* Placeholder account ids R, spreadsheets and C write (``NA``, ``#N/A``, ``(null)``) and NFKC look-alikes
  (full-width ``Ｎｏｎｅ``) are rejected like ``None``.
* Bytes that are not UTF-8 in a value column (a card ``card\\xff42``) stay distinct (never one card for six
  strangers) and are counted and warned about per column.
"""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

import graphlink
from graphlink.cli import app
from graphlink.stages.ingest import load_events
from graphlink.stages.signals.normalise import normalise_prompt

runner = CliRunner()
HEADER = b"account_id,timestamp,ip,payment_fingerprint\n"


def _rows(n: int, prefix: str = "ok") -> bytes:
    """``n`` ordinary rows with a parseable time, two accounts sharing each card."""
    return b"".join(f"{prefix}{i},2025-01-01T00:{i % 60:02d}:00Z,10.0.{i}.1,pf{i // 2}\n".encode() for i in range(n))


def test_placeholder_timestamps_are_missing_not_unparseable(tmp_path):
    spellings = ["NaT", "nan", "NaN", "None", "null", "NULL", " none ", "<NA>", "NA"]
    rows = "".join(f"ph{i},{s},10.9.{i}.1,pfx{i}\n" for i, s in enumerate(spellings)).encode()
    path = tmp_path / "ts.csv"
    path.write_bytes(HEADER + _rows(40) + rows)
    events = load_events(path)
    assert events.rejected == {}  # every row kept, with its card and address
    assert events.rows_kept == 40 + len(spellings)
    assert events.rows_without_timestamp == len(spellings)
    cards = events.frame.select("payment_fingerprint").collect()["payment_fingerprint"].to_list()
    assert "pfx0" in cards and f"pfx{len(spellings) - 1}" in cards


def test_all_placeholder_timestamp_column_behaves_like_an_empty_one(tmp_path):
    path = tmp_path / "allnat.csv"
    path.write_bytes(HEADER + b"".join(f"a{i},NaT,10.0.{i}.1,pf{i // 2}\n".encode() for i in range(12)))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(HEADER + b"".join(f"a{i},,10.0.{i}.1,pf{i // 2}\n".encode() for i in range(12)))
    got, want = load_events(path), load_events(empty)  # an all-empty column: a warning, no error
    assert got.rejected == want.rejected == {}
    assert got.rows_without_timestamp == want.rows_without_timestamp == 12
    assert [w.replace(str(path), "F") for w in got.warnings] == [w.replace(str(empty), "F") for w in want.warnings]


def test_accounts_created_at_placeholder_is_missing_not_unparseable(tmp_path):
    events = tmp_path / "ev.csv"
    events.write_bytes(HEADER + _rows(20))
    accounts = tmp_path / "acc.csv"
    accounts.write_text("account_id,created_at\n" + "".join(f"ok{i},{'NaT' if i % 2 else '2024-01-01'}\n"
                                                            for i in range(20)))
    result = graphlink.detect(events, accounts=accounts)
    assert not [w for w in result.run["warnings"] if "created_at" in w]


def test_more_placeholder_ids_are_rejected(tmp_path):
    spellings = ["NA", "#N/A", "N/A", "(null)", "undefined", "nil", "\uff2e\uff4f\uff4e\uff45", "\ufeffNone", '"None"']
    rows = "".join(f"{s},2025-01-01T01:{i:02d}:00Z,10.7.{i}.1,pfz{i}\n" for i, s in enumerate(spellings))
    path = tmp_path / "ph.csv"
    path.write_bytes(HEADER + _rows(20) + rows.encode())
    events = load_events(path)
    assert events.rejected == {"placeholder_account_id": len(spellings)}
    kept = set(events.frame.select("account_id").collect()["account_id"])
    assert kept == {f"ok{i}" for i in range(20)}


def test_real_ids_resembling_placeholders_are_kept(tmp_path):
    names = ["Nadia", "nan2", "n/a/b", "nil_user", "NAB", "undefined1"]
    rows = "".join(f"{s},2025-01-01T01:{i:02d}:00Z,10.7.{i}.1,pfz{i}\n" for i, s in enumerate(names))
    path = tmp_path / "real.csv"
    path.write_bytes(HEADER + rows.encode())
    assert load_events(path).rejected == {}


def test_non_utf8_bytes_in_value_columns_stay_distinct_and_are_warned(tmp_path):
    rows = b"".join(b"s%d,2025-01-01T02:%02d:00Z,10.8.%d.1,card%c42,dev%c\n" % (i, i, i, b, b)
                    for i, b in enumerate(b"\xff\xfe\xe9\xe8\xc0\xa0"))
    path = tmp_path / "latin.csv"
    path.write_bytes(b"account_id,timestamp,ip,payment_fingerprint,device\n"
                     + b"".join(f"ok{i},2025-01-01T00:{i:02d}:00Z,10.0.{i}.1,pf{i // 2},d{i}\n".encode()
                                for i in range(20)) + rows)
    events = load_events(path, extra_signals=("device",))
    frame = events.frame.collect()
    cards = frame.filter(pl.col("account_id").str.starts_with("s"))["payment_fingerprint"]
    assert cards.n_unique() == 6  # six strangers, six cards (were one: card\ufffd42)
    assert frame.filter(pl.col("account_id").str.starts_with("s"))["device"].n_unique() == 6
    warning = next(w for w in events.warnings if "not UTF-8" in w)
    assert "payment_fingerprint (6 rows, the first: row 21)" in warning and "device (6 rows" in warning
    assert "ip (" not in warning


def test_non_utf8_cards_do_not_make_a_card_cluster(tmp_path):
    rows = b"".join(b"s%d,2025-01-01T02:%02d:00Z,10.8.%d.1,card%c42\n" % (i, i, i, b)
                    for i, b in enumerate(b"\xff\xfe\xe9\xe8\xc0\xa0"))
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER + _rows(20) + rows)
    result = graphlink.detect(path)
    strangers = result.accounts.filter(pl.col("account_id").str.starts_with("s"))
    assert strangers.height == 6
    assert strangers["cluster_id"].drop_nulls().n_unique() <= 1 and strangers["cluster_id"].is_null().all()
    assert any("not UTF-8 in payment_fingerprint" in w for w in result.run["warnings"])


def test_non_utf8_bytes_in_ndjson_values_stay_distinct(tmp_path):
    lines = [b'{"account_id": "ok%d", "timestamp": "2025-01-01T00:%02d:00Z", "payment_fingerprint": "pf%d"}'
             % (i, i, i // 2) for i in range(10)]
    lines += [b'{"account_id": "s%d", "timestamp": "2025-01-01T01:00:00Z", "payment_fingerprint": "card%c42"}'
              % (i, b) for i, b in enumerate(b"\xff\xfe\xe9")]
    path = tmp_path / "latin.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    events = load_events(path)
    cards = events.frame.collect().filter(pl.col("account_id").str.starts_with("s"))["payment_fingerprint"]
    assert cards.n_unique() == 3
    assert any("not UTF-8 in payment_fingerprint (3 rows" in w for w in events.warnings)


def test_non_utf8_prompts_differing_in_one_byte_are_not_one_text(tmp_path):
    rows = b"".join(b"p%d,2025-01-01T02:%02d:00Z,10.8.%d.1,c%d,hello there caf%c dear friend of mine today\n"
                    % (i, i, i, i, b) for i, b in enumerate(b"\xff\xfe"))
    path = tmp_path / "p.csv"
    path.write_bytes(b"account_id,timestamp,ip,payment_fingerprint,prompt\n" + rows)
    prompts = load_events(path).frame.collect().select(normalise_prompt(pl.col("prompt")))["prompt"]
    assert prompts.n_unique() == 2  # as compared, too (were one: "caf\ufffd")


def test_joined_members_are_listed_first_as_the_weakest(fixture_detected, tmp_path):
    accounts = pl.read_parquet(fixture_detected / "accounts.parquet")
    joined = accounts.filter(pl.col("joined_by").is_not_null())
    assert joined.height  # the fixture has own-value members
    cluster = joined["cluster_id"][0]
    want = set(joined.filter(pl.col("cluster_id") == cluster)["account_id"])
    out = runner.invoke(app, ["show", str(fixture_detected), str(cluster), "--json", "--members", str(len(want))])
    assert out.exit_code == 0, out.output
    listed = [m["account_id"] for m in json.loads(out.output)["members"]]
    assert set(listed) == want  # the weakest way in, first (were last of 86: out of view at --members 25)
    export = runner.invoke(app, ["export", str(fixture_detected), "-f", "csv", "-o", str(tmp_path / "csv")])
    assert export.exit_code == 0, export.output
    members = pl.read_csv(tmp_path / "csv" / "members.csv", infer_schema=False).filter(
        pl.col("cluster_id") == str(cluster))
    if members.height:
        assert set(members["account_id"][:len(want)]) == want


def test_hub_twins_on_one_address_name_the_address_not_its_network():
    from graphlink.stages.hub_twins import twin_accounts
    from graphlink.stages.join_notes import member_notes, twin_joins

    phrases = 6  # a template of six phrases, held by every account
    accounts = list(range(22))  # cluster 1: 0-11; unclustered twins 12-21; all on one address and its /24
    part = pl.DataFrame({"account_idx": accounts, "cluster_id": [1] * 12 + [None] * 10},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    mem = pl.DataFrame({"account_idx": [a for a in accounts for _ in range(2 + phrases)],
                        "signal_idx": [s for _ in accounts for s in range(2 + phrases)]},
                       schema_overrides={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    index = pl.DataFrame({"account_idx": accounts, "account_id": [f"a{a}" for a in accounts]},
                         schema_overrides={"account_idx": pl.UInt32})
    for kinds in (["ip_net", "ip"], ["ip", "ip_net"]):  # whichever value index the network has
        values = ["203.0.113.0/24" if k == "ip_net" else "203.0.113.7" for k in kinds]
        sig = pl.DataFrame({"signal_idx": range(2 + phrases), "kind": [*kinds] + ["prompt"] * phrases,
                            "df": [22] * (2 + phrases), "linked": [True] * (2 + phrases),
                            "value": values + [f"p{i}" for i in range(phrases)]}, schema_overrides={"signal_idx": pl.UInt32})
        twins = twin_accounts(part, mem, sig, n_accounts=10_000)
        assert twins.height == 10
        final = part.with_columns(pl.col("cluster_id").fill_null(2))
        notes = member_notes(twin_joins(twins), final, sig, index)["joined_by"].unique().to_list()
        assert len(notes) == 1 and "203.0.113.7" in notes[0] and "/24" not in notes[0]


def test_ndjson_bare_nan_is_named_by_line(tmp_path):
    lines = [json.dumps({"account_id": f"a{i}", "timestamp": "2025-01-01T00:00:00Z", "ip": f"10.0.0.{i}"})
             for i in range(5)]
    lines.append(json.dumps({"account_id": "b", "timestamp": float("nan"), "ip": "10.0.0.9"}))  # writes NaN
    path = tmp_path / "nan.ndjson"
    path.write_text("\n".join(lines) + "\n")
    out = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out")])
    assert out.exit_code == 2
    assert "line 6" in out.output and str(path) in out.output


def test_evaluate_names_a_damaged_output_file_not_the_labels(fixture_outputs, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("account_id,is_ring,group\na,true,g\n")
    accounts = fixture_outputs / "accounts.parquet"
    accounts.write_bytes(accounts.read_bytes()[:500])
    out = runner.invoke(app, ["evaluate", str(fixture_outputs), str(labels)])
    assert out.exit_code == 2
    assert str(accounts) in out.output and "labels" not in out.output


def test_an_emptied_run_json_is_a_clean_error(fixture_outputs):
    (fixture_outputs / "run.json").write_text("{}")
    for command in (["show", str(fixture_outputs), "1"], ["report", str(fixture_outputs), "--no-plots"]):
        out = runner.invoke(app, command)
        assert out.exit_code == 2, out.output
        assert str(fixture_outputs / "run.json") in out.output and len(out.output.strip().splitlines()) == 1


def test_a_missing_folder_points_to_the_kept_previous_output(fixture_outputs):
    kept = fixture_outputs.parent / f".{fixture_outputs.name}.old-999999"
    fixture_outputs.rename(kept)
    out = runner.invoke(app, ["show", str(fixture_outputs), "1"])
    assert out.exit_code == 2
    assert "no such output folder" in out.output and str(kept) in out.output


def test_stdin_warnings_say_stdin_on_the_terminal(tmp_path):
    data = HEADER + _rows(20) + b"None,2025-01-01T03:00:00Z,10.9.9.9,pfq\n"
    out = runner.invoke(app, ["detect", "-", "--out", str(tmp_path / "out")], input=data)
    assert out.exit_code == 0, out.output
    warned = [line for line in out.output.splitlines() if line.startswith("warning:")]
    assert warned and all("graphlink-stdin" not in line for line in warned)
    assert any(line.startswith("warning: <stdin>: 1 row rejected") for line in warned)
    assert "placeholder_account_id: 1 (row 21)" in out.output  # one row: "row", not "rows"


def test_one_own_value_member_reads_singular():
    from graphlink.stages.join_notes import own_value_joins, with_grouping_reason

    joined = pl.DataFrame({"account_idx": [2], "owned": [1], "held": [1], "values": [[0]]},
                          schema={"account_idx": pl.UInt32, "owned": pl.UInt32, "held": pl.UInt32,
                                  "values": pl.List(pl.UInt32)})
    part = pl.DataFrame({"account_idx": [0, 1, 2], "cluster_id": [1, 1, 1]},
                        schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    sig = pl.DataFrame({"signal_idx": [0], "kind": ["payment"], "value": ["pf1"]}, schema_overrides={"signal_idx": pl.UInt32})
    why = with_grouping_reason(pl.DataFrame({"cluster_id": [1], "why": ["shared card"]}), own_value_joins(joined),
                               part, sig)["why"][0]
    assert "joined: 1 account by" in why


def test_a_misspelt_event_column_gets_a_did_you_mean(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_bytes(b"account_id,timestamp,ip,payment_fingerprnt\n" + _rows(10))
    warning = next(w for w in load_events(path).warnings if "columns not read" in w)
    assert "did you mean payment_fingerprint?" in warning and "--map payment_fingerprint=payment_fingerprnt" in warning
    other = tmp_path / "other.csv"
    other.write_bytes(b"account_id,timestamp,ip,card\n" + _rows(10))
    assert "did you mean" not in next(w for w in load_events(other).warnings if "columns not read" in w)


def test_piped_show_does_not_say_first_and_last_seen_are_left_out(fixture_detected):
    out = runner.invoke(app, ["show", str(fixture_detected), "1"], env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    assert "first seen (UTC)" in out.output  # the piped rows have them ...
    assert "first and last seen: a wider terminal" not in out.output  # ... so no note says they are left out


def test_created_at_warning_leaves_out_rows_rejected_for_their_id(tmp_path):
    events = tmp_path / "ev.csv"
    events.write_bytes(HEADER + _rows(10))
    accounts = tmp_path / "acc.csv"
    accounts.write_text("account_id,created_at\n" + "".join(f"ok{i},2024-01-01\n" for i in range(8))
                        + "None,31/12/2023\nok8,31/12/2023\n")
    result = graphlink.detect(events, accounts=accounts)
    warning = next(w for w in result.run["warnings"] if "created_at values" in w)
    assert "1 of 9 created_at values" in warning and "(row 10)" in warning  # row 9 was rejected for its id
