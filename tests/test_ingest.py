"""Ingest: formats, column mapping, timestamps, rejections and errors."""

import json

import polars as pl
import pytest

from graphlink.config import IngestConfig
from graphlink.errors import InputError
from graphlink.stages.ingest import build_account_index, load_accounts, load_events


def _collect(events):
    return events.frame.collect().sort("account_id")


def test_csv_parquet_ndjson_give_the_same_frame(tmp_path):
    rows = {"account_id": ["a", "b"], "timestamp": ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"],
            "ip": ["1.2.3.4", "::1"]}
    pl.DataFrame(rows).write_csv(tmp_path / "e.csv")
    pl.DataFrame(rows).write_parquet(tmp_path / "e.parquet")
    (tmp_path / "e.ndjson").write_text("\n".join(json.dumps(dict(zip(rows, v))) for v in zip(*rows.values())))
    frames = [_collect(load_events(tmp_path / f"e.{ext}")) for ext in ("csv", "parquet", "ndjson")]
    assert frames[0].equals(frames[1]) and frames[1].equals(frames[2])
    assert frames[0].schema["timestamp"] == pl.Datetime("us", "UTC")


def test_format_override_and_unknown_extension(tmp_path):
    path = tmp_path / "log.txt"
    pl.DataFrame({"account_id": ["a"]}).write_csv(path)
    with pytest.raises(InputError, match="unknown file format"):
        load_events(path)
    assert load_events(path, IngestConfig(format="csv")).rows_read == 1


def test_missing_file_and_missing_account_column(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_events(tmp_path / "nope.csv")
    path = tmp_path / "e.csv"
    pl.DataFrame({"user": ["a"]}).write_csv(path)
    with pytest.raises(InputError, match="no account_id column") as info:
        load_events(path)
    assert "e.csv" in str(info.value)
    mapped = load_events(path, IngestConfig(column_map=(("account_id", "user"),)))
    assert _collect(mapped)["account_id"].to_list() == ["a"]


def test_mapping_to_missing_column_is_an_error(tmp_path):
    path = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["a"]}).write_csv(path)
    with pytest.raises(InputError, match="'card' .*not found"):
        load_events(path, IngestConfig(column_map=(("payment_fingerprint", "card"),)))


def test_timestamp_variants_parse_to_the_same_instant(tmp_path):
    path = tmp_path / "e.csv"
    stamps = ["2024-03-01T12:00:00Z", "2024-03-01 12:00:00", "2024-03-01T14:00:00+02:00",
              "1709294400", "1709294400000"]
    pl.DataFrame({"account_id": list("abcde"), "timestamp": stamps}).write_csv(path)
    frame = _collect(load_events(path))
    assert frame["timestamp"].n_unique() == 1
    assert frame["timestamp"][0].hour == 12


def test_epoch_integers_in_parquet(tmp_path):
    path = tmp_path / "e.parquet"
    pl.DataFrame({"account_id": ["a", "b"], "timestamp": [1709294400, 1709294400000]}).write_parquet(path)
    assert _collect(load_events(path))["timestamp"].n_unique() == 1


def test_bad_rows_are_counted_not_silently_dropped(tmp_path):
    path = tmp_path / "e.csv"
    pl.DataFrame({
        "account_id": ["a", "", "c", "d", None],
        "timestamp": ["2024-01-01T00:00:00", "2024-01-01T00:00:00", "not a time", "3024-01-01T00:00:00",
                      "2024-01-01T00:00:00"],
    }).write_csv(path)
    events = load_events(path)
    assert events.rows_read == 5
    assert events.rejected == {"missing_account_id": 2, "unparseable_timestamp": 1, "timestamp_out_of_range": 1}
    assert _collect(events)["account_id"].to_list() == ["a"]


def test_no_parseable_timestamp_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["a", "b"], "timestamp": ["", "yesterday"]}).write_csv(path)
    with pytest.raises(InputError) as info:
        load_events(path)
    message = str(info.value)
    assert "column timestamp" in message and "row 2" in message and "e.csv" in message


def test_empty_file_is_valid(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("account_id,ip\n")
    events = load_events(path)
    assert events.rows_read == 0 and _collect(events).height == 0


def test_extra_signal_must_exist(tmp_path):
    path = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["a"], "device_id": ["d"]}).write_csv(path)
    assert "device_id" in load_events(path, IngestConfig(), ("device_id",)).columns
    with pytest.raises(InputError, match="'card_bin' not found"):
        load_events(path, IngestConfig(), ("card_bin",))


def test_accounts_file_email_to_domain_and_index(tmp_path):
    events_path = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["b", "a", "b"], "timestamp": ["2024-01-02", "2024-01-01", "2024-01-03"]}).write_csv(events_path)
    accounts_path = tmp_path / "acc.csv"
    pl.DataFrame({"account_id": ["a", "c"], "created_at": ["2023-12-01", "2023-12-02"],
                  "email": ["x@Corp.example", "y@mail.example"]}).write_csv(accounts_path)
    accounts = load_accounts(accounts_path)
    assert accounts.frame["email_domain"].to_list() == ["corp.example", "mail.example"]
    index = build_account_index(load_events(events_path), accounts)
    assert index["account_id"].to_list() == ["a", "b", "c"]
    assert index["account_idx"].to_list() == [0, 1, 2]
    assert index["events"].to_list() == [1, 2, 0]
    assert index.filter(pl.col("account_id") == "b")["first_seen"][0].day == 2


def test_blank_prompts_become_null_and_others_are_kept_as_sent(tmp_path):
    prompts = ["  ", "\t\n", "\u3000\u00a0", "", " hi ", "x", "\u200bword"]
    path = tmp_path / "e.parquet"
    pl.DataFrame({"account_id": [f"a{i}" for i in range(len(prompts))], "prompt": prompts}).write_parquet(path)
    got = load_events(path).frame.collect().sort("account_id")["prompt"].to_list()
    # Unicode spaces count as blank; text is not stripped (normalised later, before any comparison).
    assert got == [None, None, None, None, " hi ", "x", "\u200bword"]
