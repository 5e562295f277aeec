"""Real logs as they come (issue 14): address spellings, timestamp spellings, Unicode tricks in
prompts and column mapping. Each case is a small hand-built input."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

import polars as pl
import pytest

from graphlink.stages.signals.ip import ip_table, parse_ips


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

from graphlink.config import IngestConfig, PipelineConfig, SignalConfig, build_config  # noqa: E402
from graphlink.errors import ConfigError, InputError  # noqa: E402
from graphlink.stages.ingest import load_events  # noqa: E402
from graphlink.stages.timestamps import parse_timestamp  # noqa: E402

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
    assert "every row was rejected" in result.output and "timestamp_out_of_range: 4" in result.output
    assert not out.exists()
    result, out = _detect(tmp_path, "account_id,ip\n ,1.2.3.4\n,1.2.3.5\n")
    assert result.exit_code == 2 and "missing_account_id: 2" in result.output


# --- column mapping and CSV dialects ----------------------------------------------------------------------

@pytest.mark.parametrize("mapping, named", [("card=card_hash", "'card'"), ("prompt_text=request_text", "'prompt_text'"),
                                            ("acount_id=user_id", "did you mean account_id")])
def test_unknown_canonical_names_in_map_exit_2_naming_them(tmp_path, mapping, named):
    result, _ = _detect(tmp_path, "user_id,card_hash,request_text\na,c,p\n", "e.csv", "--map", mapping)
    assert result.exit_code == 2
    assert named in result.output and "valid names are account_id, timestamp, ip" in result.output


def test_unknown_canonical_names_in_the_toml_columns_section(tmp_path):
    config = tmp_path / "graphlink.toml"
    config.write_text('[columns]\naccount_id = "user"\ncard = "card_hash"\n')
    with pytest.raises(ConfigError, match=r"\[columns\]: unknown canonical column 'card'.*valid names"):
        build_config(toml=config)
    config.write_text('[ingest]\nseparatr = ";"\n')
    with pytest.raises(ConfigError, match="unknown setting.*separatr"):
        build_config(toml=config)
    with pytest.raises(ConfigError, match="unknown canonical column"):
        PipelineConfig(ingest=IngestConfig(column_map=(("cardd", "x"),)))
    # A --signal column may be a mapping target.
    assert PipelineConfig(ingest=IngestConfig(column_map=(("device", "device_id"),)),
                          signals=SignalConfig(extra_signals=("device",))).ingest.column_map
    assert build_config(columns=[("device", "device_id")], signals=["device"]).ingest.column_map


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


# --- prompts ----------------------------------------------------------------------------------------------

from graphlink.stages.signals.normalise import normalise_prompt  # noqa: E402
from graphlink.stages.signals import prompt_signals  # noqa: E402

_TEMPLATE = "Think step by step and show all of your reasoning before answering the question about {}"
_FILLS = ["cats", "dogs", "rivers", "prime numbers", "the moon", "tax law", "volcanoes", "jazz"]
_ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


def _zero_width(text: str, rng: random.Random) -> str:
    """One invisible character inside every word."""
    return " ".join(w[:1] + rng.choice(_ZW) + w[1:] if len(w) > 1 else w for w in text.split(" "))


def _look_alike(text: str) -> str:
    return text.translate(str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "T": "\u0422"}))


def _template_pairs(prompts_b: list[str], prompts_a: list[str] | None = None):
    prompts_a = prompts_a or [_TEMPLATE.format(f) for f in _FILLS]
    others = [f"my own question number {i} about gardening in spring" for i in range(8)]
    lf = pl.LazyFrame({"account_id": ["a"] * len(prompts_a) + ["b"] * len(prompts_b) + ["c"] * len(others),
                       "prompt": prompts_a + prompts_b + others})
    return prompt_signals(lf, ngram=5, max_prompts=50, max_words=64, seed=0, min_templated=0.5, min_prompts=3)


@pytest.mark.parametrize("disguise", ["zero_width", "look_alike", "full_width", "case", "greek_caps"])
def test_cosmetic_variation_does_not_hide_a_template(disguise):
    rng = random.Random(3)
    plain = [_TEMPLATE.format(f) for f in reversed(_FILLS)]
    disguised = {
        "zero_width": [_zero_width(p, rng) for p in plain],
        "look_alike": [_look_alike(p) for p in plain],
        "full_width": [p.replace("step by step", "ｓｔｅｐ ｂｙ ｓｔｅｐ") for p in plain],
        "case": [p.upper() for p in plain],
        "greek_caps": [p.upper().replace("T", "\u03a4").replace("H", "\u0397").replace("I", "\u0399")
                       .replace("N", "\u039d").replace("K", "\u039a") for p in plain],
    }[disguise]
    want_pairs, _, want = _template_pairs(plain)
    got_pairs, _, got = _template_pairs(disguised)
    assert got.sort("account_id").rows() == want.sort("account_id").rows()
    assert got.filter(pl.col("account_id") == "b")["prompts_templated"][0] == len(_FILLS)  # template share 1.0
    assert got_pairs.height == want_pairs.height > 0


def test_a_template_in_a_script_without_spaces_is_found():
    template = "请把下面这段话翻译成英文并解释其中的语法：{}"
    fills_a = ["今天天气很好", "我喜欢吃苹果", "他在图书馆看书", "我们明天去公园"]
    fills_b = ["这本书很有意思", "她每天早上跑步", "火车晚点了", "猫在沙发上睡觉"]
    lf = pl.LazyFrame({"account_id": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
                       "prompt": [template.format(f) for f in fills_a] + [template.format(f) for f in fills_b]
                       + ["你好吗", "附近有没有好吃的餐厅", "明天会下雨吗", "怎么学习编程"]})
    pairs, stats, per_account = prompt_signals(lf, ngram=5, max_prompts=50, max_words=64, seed=0,
                                               min_templated=0.5, min_prompts=3)
    assert stats["shingles_shared"] >= 10
    assert set(pairs["account_id"]) == {"a", "b"}
    rows = dict(per_account.select("account_id", "prompts_templated").iter_rows())
    assert rows == {"a": 4, "b": 4, "c": 0}
    # Quoted as written: characters joined without spaces.
    assert "把下面这段" in set(pairs["value"])


def test_normalisation_of_the_unicode_kinds_against_python():
    import unicodedata

    texts = ["Ｔｈｉｎｋ ＳＴＥＰ", "Stra\u00dfe", "e\u0301t\u00e9", "\ufb01ne", "\u2460 item", "x\u00ady", "A\u2028B",
             "\U0001d42d\U0001d421\U0001d422\U0001d427\U0001d424"]
    got = pl.DataFrame({"p": texts}).select(normalise_prompt(pl.col("p")))["p"].to_list()
    for text, norm in zip(texts, got):
        bare = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
        want = "".join(c for c in unicodedata.normalize("NFKC", bare) if unicodedata.category(c) != "Cf").casefold()
        want = " ".join("".join(" " if unicodedata.category(c)[0] in "PZ" or not c.isprintable() else c
                                for c in want).split())
        want = "".join("0" if c.isdigit() and c.isascii() else c for c in want)
        assert norm == want.replace("00", "0"), text


def test_evidence_quotes_the_template_as_written_and_scores_it_in_full(tmp_path):
    rng = random.Random(5)
    lines = ["account_id,payment_fingerprint,prompt"]
    for i in range(6):  # a ring on one card; half of it hides its template with invisible characters
        for j, fill in enumerate(_FILLS):
            text = _TEMPLATE.format(f"{fill} {i}{j}")
            lines.append(f'r{i},ring-card,"{_zero_width(text, rng) if i % 2 else text}"')
    for i in range(12):
        for j in range(4):
            lines.append(f'u{i},own-card-{i},"a question of my own about topic {i * 10 + j} and more {j}"')
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    clusters = pl.read_parquet(out / "clusters.parquet")
    accounts = pl.read_parquet(out / "accounts.parquet")
    ring = accounts.filter(pl.col("account_id") == "r0")["cluster_id"][0]
    assert accounts.filter(pl.col("account_id").str.starts_with("r"))["cluster_id"].n_unique() == 1
    row = clusters.filter(pl.col("cluster_id") == ring).row(0, named=True)
    assert row["template_share"] == pytest.approx(1.0)
    evidence = pl.read_parquet(out / "evidence.parquet").filter(pl.col("kind") == "prompt")
    written = [_TEMPLATE.format(f"{fill} {i}{j}") for i in range(6) for j, fill in enumerate(_FILLS)]
    # Quoted as a person wrote it: "Think", no invisible characters, not the normalised words.
    assert evidence.height and all(any(v in text for text in written) for v in evidence["value"])
    assert any(v.startswith("Think") for v in evidence["value"])
    assert '""' not in (row["why"] or "")


def test_a_reason_never_quotes_an_empty_template():
    from graphlink.stages.components import reason_exprs

    frame = pl.DataFrame({"template_share": [0.8, 0.8, 0.8, 0.8],
                          "template": ["", None, "   ", "think step by step " * 10]})
    got = frame.select(reason_exprs()["template_share"].alias("why"))["why"].to_list()
    assert got[:3] == ["80% of prompts are templated"] * 3
    assert got[3].startswith('80% of prompts are templated ("think step by step') and got[3].endswith('…")')


def test_a_kinds_table_for_an_unknown_kind_is_an_error(tmp_path):
    config = tmp_path / "graphlink.toml"
    config.write_text("[kinds.paymnet]\nmax_accounts = 7\n")
    result, _ = _detect(tmp_path, "account_id,payment_fingerprint\na,c\n", "e.csv", "--config", str(config))
    assert result.exit_code == 2 and "unknown signal kind 'paymnet'" in result.output
    config.write_text("[kinds.device_id]\nmax_accounts = 7\n")
    result, _ = _detect(tmp_path, "account_id,device_id\na,d\nb,d\n", "e.csv", "--config", str(config),
                        "--signal", "device_id")
    assert result.exit_code == 0, result.output


def test_timestamp_format_and_separator_from_the_ingest_section(tmp_path):
    config = tmp_path / "graphlink.toml"
    config.write_text('[ingest]\ntimestamp_format = "%d.%m.%Y %H:%M"\nseparator = "|"\n'
                      '[signals]\nip_chain_position = -1\n')
    loaded = build_config(toml=config)
    assert loaded.ingest.timestamp_format == "%d.%m.%Y %H:%M" and loaded.signals.ip_chain_position == -1
    path = _write(tmp_path / "e.csv", "account_id|timestamp\na|03.05.2025 10:15\n")
    got = load_events(path, loaded.ingest).frame.collect()["timestamp"][0]
    assert got == datetime(2025, 5, 3, 10, 15, tzinfo=timezone.utc)


def test_the_pipeline_sample_normalises_like_normalise_prompt():
    from graphlink.stages.encode import encode_frame
    from graphlink.stages.signals.prompt import sample_prompts

    texts = ["Plain ASCII, 12 words!", "ΤΗΙΝΚ ΝΟW", "Thi\u200bnk st\u0435p", "请把下面这段话翻译成英文", "Stra\u00dfe",
             "Ｆｕｌｌ ｗｉｄｔｈ", "\u200b", "ข้อความภาษาไทย", "mixed 中文 and English"]
    enc = encode_frame(pl.DataFrame({"account_id": [f"a{i}" for i in range(len(texts))], "prompt": texts}), salt=0)
    sampled, _, _ = sample_prompts(enc, 10, None, 64, 0)
    want = set(pl.DataFrame({"p": texts}).select(normalise_prompt(pl.col("p")))["p"]) - {""}
    assert set(sampled["norm"]) == want
    assert "think now" in want


def test_accounts_only_in_the_accounts_file_are_counted_not_silent():
    """An accounts file listing accounts the log never saw (another day's, another log's)
    keeps them with 0 events and says how many in the run's warnings."""
    from datetime import datetime, timezone

    from graphlink.pipeline import run_detect

    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    events = pl.DataFrame({"account_id": ["a", "b"], "timestamp": [t, t], "ip": ["1.2.3.4", "1.2.3.4"]})
    accounts = pl.DataFrame({"account_id": ["a", "b", "ghost1", "ghost2"], "email_domain": ["x.example"] * 4})
    result = run_detect(events, accounts)
    assert any(w.startswith("2 of 4 accounts appear only in the accounts file") for w in result.warnings)
    assert result.accounts.filter(pl.col("account_id").str.starts_with("ghost"))["events"].to_list() == [0, 0]
    assert not any("only in the accounts file" in w for w in run_detect(events, accounts.head(2)).warnings)


def test_addresses_written_with_non_ascii_digits_are_counted_invalid_not_a_crash(tmp_path):
    """Arabic-Indic or full-width digits look like digits to a Unicode regex but are no address:
    they used to fail a strict cast ("conversion ... failed") and stop the run."""
    lines = ["account_id,ip"] + [f"a{i},\u0661\u0662.2.3.{i}" for i in range(3)] + [f"b{i},\uff11.2.3.4" for i in range(3)]
    lines += [f"c{i},192.0.2.7" for i in range(4)]
    result, out = _detect(tmp_path, "\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["invalid_ip_events"] == 6
    assert _linked(out, "c0", "c1")



def test_why_quotes_each_clusters_own_phrasing_not_one_stock_phrase_for_all(tmp_path, fixture_cli_detect):
    """On the bundled fixture, clusters of ordinary people who all also write stock requests
    ("give me 9 ideas for ...") quoted that same stock phrase as their "template" (19 clusters
    each, new-user review, session 13). The quoted shingle is ranked by members holding it times
    the share of its holders that are members, so each cluster quotes its own phrasing. (The fixture's run comes
    from the session's: ``fixture_cli_detect``.)"""
    from typer.testing import CliRunner

    from graphlink.cli import app

    root = Path(__file__).resolve().parent.parent / "fixtures"
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["detect", str(root / "events.parquet"), "--accounts", str(root / "accounts.parquet"),
                                 "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    quotes = (pl.read_parquet(out / "clusters.parquet")
              .select(pl.col("why").str.extract(r'templated \("([^"]*)"\)', 1).alias("quote")).drop_nulls())
    assert quotes.height >= 20  # the fixture's clusters do quote templates
    most = quotes.group_by("quote").len().sort("len", descending=True).row(0)
    # Session 40: a quote is a phrase 2+ members hold that linked accounts own (one member's own question was quoted
    # over a ring's template); a stock request several clusters of people share is then quoted by a few (4 of 37).
    assert most[1] <= 4, most
