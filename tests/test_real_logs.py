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
