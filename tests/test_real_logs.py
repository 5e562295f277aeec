"""Real logs as they come (issue 14): address spellings, timestamp spellings, Unicode tricks in
prompts and column mapping. Each case is a small hand-built input."""

from __future__ import annotations

import ipaddress
import json
import random

import polars as pl
import pytest

from graphlink.signals.ip import ip_table, parse_ips


def _spellings(address: str, rng: random.Random) -> list[str]:
    """Ways a log writes the client ``address`` (its canonical text), with the reading each must give."""
    ip = ipaddress.ip_address(address)
    out = [f"  {address}\t", address.upper(), f"{address}, 10.0.0.1", f"{address},10.0.0.1, 172.16.0.9",
           f'"{address}"']
    if ip.version == 4:
        out += [f"{address}:{rng.randrange(1, 65536)}", ".".join(f"{int(o):03d}" for o in address.split(".")),
                f"::ffff:{address}", f"::FFFF:{address}", f"0:0:0:0:0:ffff:{address}", f"[::ffff:{address}]:80"]
    else:
        out += [f"[{address}]", f"[{address}]:{rng.randrange(1, 65536)}", f"{address}%eth0",
                f"[{address}%25en0]:443", ip.exploded, ip.exploded.upper(), f"for=\"[{address}]:4711\""]
    return out


def test_every_common_spelling_reads_as_the_address_ipaddress_gives():
    rng = random.Random(14)
    addresses = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(60)]
    addresses += [ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 32, 64])).compressed for _ in range(60)]
    rows = [(spelled, address) for address in addresses for spelled in _spellings(address, rng)]
    frame = pl.DataFrame({"value": [r[0] for r in rows], "want": [r[1] for r in rows]})
    got = frame.with_columns(parse_ips(pl.col("value")).alias("p")).unnest("p")
    for spelled, want, version, address in got.select("value", "want", "version", "address").iter_rows():
        real = ipaddress.ip_address(want)
        assert version == real.version, spelled
        assert ipaddress.ip_address(address) == real, spelled
    # The numeric path the pipeline uses agrees: every spelling of one address gets one address key.
    keyed = frame.with_row_index("key").with_columns(pl.col("key").cast(pl.UInt64))
    table = ip_table(keyed.select("key", "value"), 24, 48).join(keyed, on="key")
    assert table["version"].null_count() == 0
    assert table.group_by("want").agg(pl.col("addr_key").n_unique())["addr_key"].max() == 1


def test_zero_padded_octets_are_decimal_and_bad_spellings_stay_invalid():
    frame = pl.DataFrame({"ip": ["010.001.002.003", "1.2.3.256:80", "[1.2.3.4", "::1.2.3.400",
                                 "1.2.3.4:", "a.b.c.d", "unknown, 1.2.3.4", ""]})
    got = frame.with_columns(parse_ips(pl.col("ip")).alias("p")).unnest("p")
    assert got["address"].to_list() == ["10.1.2.3"] + [None] * 7


def test_chain_position_picks_another_entry_of_a_forwarded_for_chain():
    frame = pl.DataFrame({"ip": ["203.0.113.5, 10.0.0.1, 172.16.0.9", "203.0.113.5"]})
    right = frame.select(parse_ips(pl.col("ip"), chain_position=-1).struct.field("address"))["address"]
    assert right.to_list() == ["172.16.0.9", "203.0.113.5"]
    second = frame.select(parse_ips(pl.col("ip"), chain_position=1).struct.field("address"))["address"]
    assert second.to_list() == ["10.0.0.1", None]
    keyed = frame.rename({"ip": "value"}).with_row_index("key").with_columns(pl.col("key").cast(pl.UInt64))
    assert ip_table(keyed, 24, 48, chain_position=-1).sort("key")["addr_key"].to_list() == [
        int(ipaddress.ip_address("172.16.0.9")), int(ipaddress.ip_address("203.0.113.5"))]


def _detect(tmp_path, text: str, name: str = "events.csv", *args: str):
    from typer.testing import CliRunner

    from graphlink.cli import app

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["detect", str(path), "-o", str(out), *args])
    return result, out


def _linked(out, a: str, b: str) -> bool:
    accounts = pl.read_parquet(out / "accounts.parquet")
    ids = dict(accounts.select("account_id", "cluster_id").iter_rows())
    return ids.get(a) is not None and ids.get(a) == ids.get(b)


def test_accounts_behind_a_load_balancer_writing_ports_link(tmp_path):
    lines = ["account_id,ip"]
    for i in range(3):
        lines += [f"lb1,203.0.113.5:{443 + i}", f"lb2,203.0.113.5:{51000 + i}"]
        lines += [f"xff1,\"198.51.100.7, 10.0.0.{i}\"", f"xff2,\"198.51.100.7, 10.1.0.{i}\""]
        lines += [f"v6a,[2001:DB8::7]:{1000 + i}", f"v6b,2001:db8:0:0::7%eth{i}"]
        lines += [f"other{i},192.0.2.{i + 10}"]
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert _linked(out, "lb1", "lb2") and _linked(out, "xff1", "xff2") and _linked(out, "v6a", "v6b")
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["invalid_ip_events"] == 0
    assert not any("invalid address" in w for w in run["warnings"])


def test_mostly_invalid_ips_warn_in_run_json_and_on_the_command_line(tmp_path):
    lines = ["account_id,ip"] + [f"a{i},not-an-ip-{i}" for i in range(6)] + ["a1,10.0.0.1", "a2,10.0.0.1"]
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["invalid_ip_events"] == 6 and run["counts"]["ip_events"] == 8
    assert any("6 of 8 events" in w and "invalid address" in w for w in run["warnings"])
    assert "invalid address" in result.output


# --- timestamps -------------------------------------------------------------------------------------------

from datetime import datetime, timezone  # noqa: E402

from graphlink.config import IngestConfig  # noqa: E402
from graphlink.errors import ConfigError, InputError  # noqa: E402
from graphlink.ingest import load_events, parse_timestamp  # noqa: E402

_WHEN = datetime(2025, 3, 3, 10, 15, 42, 123456, tzinfo=timezone.utc)
_EPOCH_S = 1740996942


@pytest.mark.parametrize("text, want", [
    ("2025-03-03 10:15:42.123456 UTC", _WHEN),
    ("2025-03-03T10:15:42.123456Z", _WHEN),
    ("2025-03-03t10:15:42.123456z", _WHEN),
    ("2025-03-03 10:15:42.123456+00:00", _WHEN),
    ("2025-03-03T11:15:42.123456+0100", _WHEN),
    ("2025-03-03T11:15:42.123456 +01", _WHEN),
    ("2025-03-03T06:45:42.123456-03:30", _WHEN),
    ("2025-03-03 10:15:42.123456 GMT", _WHEN),
    ("2025-03-03 10:15:42,123456", _WHEN),
    ("2025-03-03T10:15:42.123456789Z", _WHEN),
    (" 2025-03-03T10:15:42.123456 ", _WHEN),
    ("2025-03-03 10:15 UTC", _WHEN.replace(second=0, microsecond=0)),
    ("2025-03-03", _WHEN.replace(hour=0, minute=0, second=0, microsecond=0)),
    (str(_EPOCH_S), _WHEN.replace(microsecond=0)),
    (f"{_EPOCH_S}.123456", _WHEN),
    (f"{_EPOCH_S}123", _WHEN.replace(microsecond=123000)),
    (f"{_EPOCH_S}123456", _WHEN),
    (f"{_EPOCH_S}123456789", _WHEN),
    ("1.740996942123456e9", _WHEN),
    ("03/05/2025", None),
    ("2025-13-03T10:15:42Z", None),
])
def test_timestamp_spellings(text, want):
    got = pl.DataFrame({"t": [text]}).select(parse_timestamp("t", pl.String))["t"][0]
    if want is None:
        assert got is None
    else:
        assert abs((got - want).total_seconds()) < 1e-6, (text, got)


def test_epoch_numbers_of_every_unit_as_numbers():
    ints = pl.DataFrame({"t": [_EPOCH_S, _EPOCH_S * 10**3 + 123, _EPOCH_S * 10**6 + 123456,
                               _EPOCH_S * 10**9 + 123456789]})
    got = ints.select(parse_timestamp("t", pl.Int64))["t"].to_list()
    assert got == [_WHEN.replace(microsecond=0), _WHEN.replace(microsecond=123000), _WHEN, _WHEN]
    floats = pl.DataFrame({"t": [_EPOCH_S + 0.5, _EPOCH_S * 1e3 + 250.0]})
    got = floats.select(parse_timestamp("t", pl.Float64))["t"].to_list()
    assert got == [_WHEN.replace(microsecond=500000), _WHEN.replace(microsecond=250000)]


def test_timestamp_format_reads_day_first_dates(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("account_id,timestamp\na,03/05/2025 10:15\nb,04/05/2025 11:00\n")
    with pytest.raises(InputError, match="no timestamp could be parsed.*--timestamp-format"):
        load_events(path)
    events = load_events(path, IngestConfig(timestamp_format="%d/%m/%Y %H:%M"))
    got = events.frame.collect().sort("account_id")["timestamp"].to_list()
    assert got == [datetime(2025, 5, 3, 10, 15, tzinfo=timezone.utc), datetime(2025, 5, 4, 11, tzinfo=timezone.utc)]


def test_bigquery_text_timestamps_run_end_to_end(tmp_path):
    lines = ["account_id,timestamp,payment_fingerprint"]
    lines += [f"a{i},2025-03-03 10:15:4{i}.123456 UTC,card{i // 2}" for i in range(6)]
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["events"]["rows_kept"] == 6 and _linked(out, "a0", "a1")


def test_a_run_whose_every_row_is_rejected_exits_2_with_the_reason(tmp_path):
    # Epoch seconds written as minutes-since-epoch style junk: all out of 1990-2100.
    lines = ["account_id,timestamp"] + [f"a{i},{i + 1}e20" for i in range(4)]
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 2
    assert "every row was rejected" in result.output and "timestamp out of range: 4" in result.output
    assert not out.exists()
    result, out = _detect(tmp_path, "account_id,ip\n ,1.2.3.4\n,1.2.3.5\n")
    assert result.exit_code == 2 and "missing account id: 2" in result.output


# --- column mapping and CSV dialects ----------------------------------------------------------------------

@pytest.mark.parametrize("mapping, named", [("card=card_hash", "'card'"), ("prompt_text=request_text", "'prompt_text'"),
                                            ("acount_id=user_id", "did you mean account_id")])
def test_unknown_canonical_names_in_map_exit_2_naming_them(tmp_path, mapping, named):
    result, _ = _detect(tmp_path, "user_id,card_hash,request_text\na,c,p\n", "e.csv", "--map", mapping)
    assert result.exit_code == 2
    assert named in result.output and "valid names are account_id, timestamp, ip" in result.output


def test_unknown_canonical_names_in_the_toml_columns_section(tmp_path):
    from graphlink.config import load_config

    config = tmp_path / "graphlink.toml"
    config.write_text('[columns]\naccount_id = "user"\ncard = "card_hash"\n')
    with pytest.raises(ConfigError, match=r"\[columns\]: unknown canonical column 'card'.*valid names"):
        load_config(config)
    config.write_text('[ingest]\nseparatr = ";"\n')
    with pytest.raises(ConfigError, match="unknown setting.*separatr"):
        load_config(config)
    with pytest.raises(ConfigError, match="unknown canonical column"):
        IngestConfig(column_map=(("cardd", "x"),))
    # A --signal column may be a mapping target.
    assert IngestConfig(column_map=(("device", "device_id"),), extra_signals=("device",)).column_map


def test_comma_separated_map_pairs(tmp_path):
    text = "user_id,ts,card\na,2025-01-01T00:00:00Z,c1\nb,2025-01-01T00:01:00Z,c1\n"
    text += "".join(f"f{i},2025-01-01T00:02:00Z,own{i}\n" for i in range(4))  # so a shared card is rare
    result, out = _detect(tmp_path, text, "e.csv", "--map", "account_id=user_id,timestamp=ts",
                          "--map", "payment_fingerprint=card")
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert set(run["inputs"]["events"]["columns"]) == {"account_id", "timestamp", "payment_fingerprint"}
    assert _linked(out, "a", "b")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_separator_is_sniffed(tmp_path, sep):
    lines = [sep.join(["account_id", "ip", "prompt"])]
    lines += [sep.join([f"a{i}", "203.0.113.9", '"hello, world"']) for i in range(2)]
    events = load_events(_write(tmp_path / "e.csv", "\n".join(lines) + "\n"))
    frame = events.frame.collect()
    assert frame.columns == ["account_id", "ip", "prompt"] and frame["prompt"].to_list() == ["hello, world"] * 2


def test_separator_option_overrides_sniffing(tmp_path):
    path = _write(tmp_path / "e.csv", "account_id;ip,port\na;1.2.3.4,80\n")
    events = load_events(path, IngestConfig(separator=";", column_map=(("ip", "ip,port"),)))
    assert events.frame.collect()["ip"].to_list() == ["1.2.3.4,80"]
    result, out = _detect(tmp_path, "account_id;ip,port\na;1.2.3.4,80\nb;1.2.3.4,81\n", "e.csv",
                          "--separator", ";", "--map", "ip=ip,port")
    assert result.exit_code == 0, result.output


def test_dash_reads_events_from_standard_input(tmp_path):
    from typer.testing import CliRunner

    from graphlink.cli import app

    out = tmp_path / "out"
    text = "account_id,payment_fingerprint\na,c1\nb,c1\nc,c2\nd,c3\ne,c4\n"
    result = CliRunner().invoke(app, ["detect", "-", "-o", str(out)], input=text)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["inputs"]["events"]["path"] == "<stdin>" and run["inputs"]["events"]["rows_read"] == 5
    assert _linked(out, "a", "b")
    bad = CliRunner().invoke(app, ["detect", "-", "-o", str(tmp_path / "o2")], input="user\nx\n")
    assert bad.exit_code == 2 and "<stdin>" in bad.output and "graphlink-stdin" not in bad.output


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path
