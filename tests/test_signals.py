"""Signal extraction on tiny hand-built frames."""

import re
import string

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.stages.signals import categorical_signals, ip_signals, prompt_signals, timing_signals
from graphlink.stages.signals.prompt import normalise_prompt


def test_shared_card_is_one_value_two_accounts():
    lf = pl.LazyFrame({"account_id": ["a", "b", "c"], "payment_fingerprint": ["card1", "card1", "card2"]})
    pairs = categorical_signals(lf, "payment_fingerprint", "payment")
    shared = pairs.group_by("value").agg(pl.col("account_id").sort()).filter(pl.col("account_id").list.len() > 1)
    assert shared.rows() == [("card1", ["a", "b"])]


def test_ipv6_grouped_by_48_and_ipv4_by_24():
    lf = pl.LazyFrame({
        "account_id": ["a", "b", "c", "d", "e"],
        "ip": ["2001:db8:1:aaaa::1", "2001:db8:1:bbbb::2", "2001:db8:2::1", "10.0.0.1", "10.0.0.200"],
    })
    pairs, stats, counts = ip_signals(lf, 24, 48)
    nets = pairs.filter(pl.col("kind") == "ip_net").group_by("value").agg(pl.col("account_id").sort()).sort("value")
    # c's /48 is its own: unshared values are not returned, but counted.
    assert nets.rows() == [("10.0.0.0/24", ["d", "e"]), ("2001:db8:1::/48", ["a", "b"])]
    assert counts.filter(pl.col("kind") == "ip_net").sort("account_id")["n_values"].to_list() == [1] * 5
    assert stats["invalid_ip_events"] == 0


def test_invalid_ips_are_counted_and_spellings_unified():
    lf = pl.LazyFrame({"account_id": ["a", "b", "c", "c"],
                       "ip": ["2001:DB8::1", "2001:db8:0:0:0:0:0:1", "999.1.1.1", "not-an-ip"]})
    pairs, stats, _ = ip_signals(lf, 24, 48)
    exact = pairs.filter(pl.col("kind") == "ip")
    assert exact["value"].unique().to_list() == ["2001:db8:0:0:0:0:0:1"]
    assert sorted(exact["account_id"]) == ["a", "b"]
    assert stats["invalid_ip_events"] == 2


def test_prompt_normalisation():
    df = pl.DataFrame({"p": ["Explain STEP by step: 2+2=4?!", "explain step   by step 7 7 9"]})
    assert df.select(normalise_prompt(pl.col("p")))["p"].to_list() == [
        "explain step by step 0 0 0", "explain step by step 0 0 0"]


def _reference_normalise(text: str) -> str:
    """Plain-Python reading of the normalisation rule, for the oracle test below: NFKD, nonspacing
    marks dropped, NFKC, format characters and control characters but whitespace dropped (NEL a space), CamelCase split at each lower-to-upper
    letter, case folded, digits to 0, punctuation, separators and ASCII whitespace to spaces."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text)
    text = unicodedata.normalize("NFKC", "".join(c for c in text if unicodedata.category(c) != "Mn"))
    text = "".join(c for c in text if unicodedata.category(c) != "Cf"
                   and (unicodedata.category(c) != "Cc" or c in "\t\n\x0b\x0c\r\x85"))
    text = text.replace("\x85", " ")  # NEL: a line break
    text = "".join(c + " " if i + 1 < len(text) and unicodedata.category(c) == "Ll"
                   and unicodedata.category(text[i + 1]) == "Lu" else c for i, c in enumerate(text)).casefold()
    text = re.sub("[0-9]+", "0", text)
    text = "".join(" " if c in string.punctuation or c in " \t\n\x0b\x0c\r"
                   or unicodedata.category(c)[0] in "PZ" else c for c in text)
    return re.sub(" {2,}", " ", text).strip(" ")  # no other whitespace is left among these characters


_PROMPT_CHARS = st.sampled_from(list("aZ09 .,!?-_:\t\n\r\x0b\x0c\x00\x07\x1b\x1f\x7f\x85\x9b\u00e9\u00c9\u3002\u2019\\\"'\u200b\ufeff\u00df\uff21\u00a0"
                                     "\u0301\u0308bQ"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_PROMPT_CHARS, max_size=40) | st.text(alphabet=st.characters(codec="ascii")),
                min_size=1, max_size=20))
def test_prompt_normalisation_matches_reference(texts):
    got = pl.DataFrame({"p": texts}, schema={"p": pl.String}).select(normalise_prompt(pl.col("p")))["p"].to_list()
    assert got == [_reference_normalise(t) for t in texts]


def test_prompt_shingles_shared_only_across_accounts():
    lf = pl.LazyFrame({
        "account_id": ["a", "b", "c"],
        "prompt": ["Think step by step and show your reasoning about cats",
                   "THINK step by step and show your reasoning about dogs!",
                   "completely unrelated words in this single prompt here"],
    })
    pairs, _, sampled = prompt_signals(lf, ngram=5, max_prompts=10, max_words=64, seed=0)
    assert set(pairs["account_id"]) == {"a", "b"}
    values = set(pairs["value"])  # quoted as written in one of the prompts
    assert values & {"think step by step and", "THINK step by step and"}
    assert not {v for v in values if "cats" in v or "dogs" in v}
    # "think step by step and show your reasoning about" -> 5 shared 5-grams
    assert pairs.filter(pl.col("account_id") == "a").height == 5
    assert sampled.sort("account_id").select("prompts_sampled", "prompts_templated").rows() == [(1, 1), (1, 1), (1, 0)]


def test_only_templated_accounts_give_prompt_signals():
    template = "please think step by step and show every step of reasoning"
    lf = pl.LazyFrame({
        "account_id": ["ring1"] * 4 + ["ring2"] * 4 + ["person"] * 4,
        "prompt": [f"{template} {w}" for w in ("cats", "dogs", "owls", "eels")] * 2
        + [template, "what is a good cake recipe", "how do tides work", "plan a trip to lisbon"],
    })
    pairs, _, _ = prompt_signals(lf, ngram=5, max_prompts=10, max_words=64, seed=0, min_share=0.1,
                                 min_templated=0.5, min_prompts=3)
    assert set(pairs["account_id"]) == {"ring1", "ring2"}  # the template is 1/4 of person's prompts

def test_prompt_sampling_is_bounded_and_order_independent():
    prompts = [f"template words here now {w} please" for w in "abcdefghijklmnop"]
    lf = pl.LazyFrame({"account_id": ["a"] * 16 + ["b"] * 16, "prompt": prompts * 2})
    pairs, stats, _ = prompt_signals(lf, ngram=5, max_prompts=4, max_words=64, seed=0)
    assert stats["prompts_sampled"] == 8
    shuffled = lf.collect().sample(fraction=1.0, shuffle=True, seed=3).lazy()
    again, _, _ = prompt_signals(shuffled, ngram=5, max_prompts=4, max_words=64, seed=0)
    assert pairs.sort(pl.all()).equals(again.sort(pl.all()))


def _timing_frame(buckets_by_account):
    rows = [(acc, b * 60) for acc, buckets in buckets_by_account.items() for b in buckets]
    return pl.LazyFrame({"account_id": [r[0] for r in rows],
                         "timestamp": pl.Series([r[1] * 1_000_000 for r in rows]).cast(pl.Datetime("us", "UTC"))})


def test_timing_identical_schedules_share_every_band_disjoint_share_none():
    script = list(range(0, 400, 7))
    lf = _timing_frame({"a": script, "b": script, "c": list(range(1000, 1400, 11)), "d": [1, 2]})
    pairs, stats, counts = timing_signals(lf, 60, 5, bands=8, rows=2, seed=0)
    by_acc = {a: set(v) for a, v in pairs.group_by("account_id").agg("value").rows()}
    assert by_acc["a"] == by_acc["b"] and len(by_acc["a"]) == 8
    assert "c" not in by_acc  # its bands match nobody's
    assert "d" not in by_acc  # too few active buckets
    assert stats["accounts_with_timing"] == 3
    assert dict(counts.select("account_id", "n_values").iter_rows()) == {"a": 8, "b": 8, "c": 8}


def test_timing_band_collisions_track_jaccard():
    # 60 account pairs at Jaccard ~0.6 should mostly collide, pairs at ~0.05 rarely.
    high, low = 0, 0
    for i in range(60):
        base = list(range(i * 1000, i * 1000 + 100))
        similar = base[:75] + list(range(i * 1000 + 500, i * 1000 + 525))
        other = base[:10] + list(range(i * 1000 + 600, i * 1000 + 690))
        lf = _timing_frame({"a": base, "b": similar, "c": other})
        pairs, _, _ = timing_signals(lf, 60, 5, bands=24, rows=3, seed=i)
        by_acc = {a: set(v) for a, v in pairs.group_by("account_id").agg("value").rows()}
        high += bool(by_acc.get("a", set()) & by_acc.get("b", set()))
        low += bool(by_acc.get("a", set()) & by_acc.get("c", set()))
    assert high >= 50 and low <= 10


def test_frame_parser_agrees_with_expression_parser_and_ipaddress():
    import ipaddress
    import random

    from graphlink.stages.signals.ip import parse_ip_frame, parse_ips

    rng = random.Random(5)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(200)]
    ips += [ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 32, 64, 96])).compressed for _ in range(200)]
    ips += ["", "1.2.3", "::g", "1::2::3", "256.0.0.1", "fe80::1%eth0", "::ffff:8.8.8.8"]
    frame = pl.DataFrame({"ip": ips})
    by_expr = frame.with_columns(parse_ips(pl.col("ip"), 24, 56).alias("p")).unnest("p")
    assert parse_ip_frame(frame, "ip", 24, 56).equals(by_expr)
    for ip, version, address, network in by_expr.select("ip", "version", "address", "network").iter_rows():
        try:
            real = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            assert version is None, ip
            continue
        if isinstance(real, ipaddress.IPv6Address) and real.ipv4_mapped:
            real = real.ipv4_mapped
        assert version == real.version
        expected_net = ipaddress.ip_network(f"{real}/{24 if real.version == 4 else 56}", strict=False)
        assert ipaddress.ip_network(network) == expected_net
        assert ipaddress.ip_address(address) == real


def test_global_prompt_budget_shrinks_the_per_account_sample():
    prompts = [f"template words here now {w} please" for w in "abcdefghij"]
    lf = pl.LazyFrame({"account_id": ["a"] * 10 + ["b"] * 10 + ["c"] * 2, "prompt": prompts * 2 + prompts[:2]})
    _, stats, per_account = prompt_signals(lf, ngram=5, max_prompts=8, max_words=64, seed=0, max_total=12)
    # k = 5: 5 + 5 + 2 = 12 fits, k = 6 would need 14
    assert stats["prompts_per_account_used"] == 5
    assert dict(per_account.select("account_id", "prompts_sampled").iter_rows()) == {"a": 5, "b": 5, "c": 2}
    _, stats, _ = prompt_signals(lf, ngram=5, max_prompts=8, max_words=64, seed=0)
    assert stats["prompts_per_account_used"] == 8


_IP_CHARS = st.sampled_from(list("0123456789abcdefABCDEF:.%g ") + [":", "::", "ffff", "0000", "1.2.3.4"])


def _ip_strings():
    import ipaddress
    import random

    rng = random.Random(7)
    ips = [ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 16, 48, 64, 96, 112])) for _ in range(300)]
    spelled = [ip.compressed for ip in ips] + [ip.exploded for ip in ips[:100]] + [ip.exploded.upper() for ip in ips[:20]]
    return spelled + ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8",
                      "1:2:3:4:5:6:7:8:9", "1::2::3", ":::1", "1:2:3:4:5:6:7", "12345::1", "g::1", "1:::2",
                      ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:", "fe80::1%eth0", "::ffff:8.8.8.8", " 2001:DB8::1 ",
                      "10.0.0.1", "300.1.1.1", "1.2.3", "", "-", "2001:0db8:0000:0000:0000:0000:0000:0001"]


def _table_and_reference(ips, v4_prefix, v6_prefix):
    from graphlink.stages.signals.ip import ip_table, ip_texts, parse_ips

    frame = pl.DataFrame({"value": ips}).unique().with_row_index("key").with_columns(pl.col("key").cast(pl.UInt64))
    table = ip_table(frame, v4_prefix, v6_prefix)
    parsed = parse_ips(pl.col("value"), v4_prefix, v6_prefix).struct.rename_fields(
        ["version", "address", "network", "int_reference"])
    reference = frame.with_columns(parsed.alias("p")).unnest("p")
    merged = reference.join(table, on="key", suffix="_table")
    texts = {}
    for kind, key in (("ip", "addr_key"), ("ip_net", "net_key")):
        keys = table.drop_nulls("version").select(pl.col(key).alias("value_key")).unique()
        texts[kind] = dict(ip_texts(keys, table, kind, v4_prefix, v6_prefix).select("value_key", "value").rows())
    return merged, texts


def _check_table(ips, v4_prefix=24, v6_prefix=48):
    merged, texts = _table_and_reference(ips, v4_prefix, v6_prefix)
    for row in merged.iter_rows(named=True):
        assert row["version_table"] == row["version"], row["value"]
        if row["version"] is None:
            continue
        assert row["int_key"] == row["int_reference"], row["value"]
        # The numeric path spells each address and network as the text parser does.
        assert texts["ip"][row["addr_key"]] == row["address"], row["value"]
        assert texts["ip_net"][row["net_key"]] == row["network"], row["value"]


def test_ip_table_numbers_agree_with_the_text_parser():
    for v4_prefix, v6_prefix in ((24, 48), (16, 56), (32, 64), (20, 33)):
        _check_table(_ip_strings(), v4_prefix, v6_prefix)


# 60 lists of up to 100 strings (was 200 of up to 30: about as many strings, a third of the calls; suite time, session 41)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_IP_CHARS, max_size=14).map("".join), min_size=1, max_size=100))
def test_ip_table_agrees_with_the_text_parser_on_junk(ips):
    _check_table(ips)


def _full_choice(enc, max_prompts, max_total):
    from graphlink.stages.signals.prompt import prompts_per_account, ranked_prompts

    distinct, counts = ranked_prompts(enc.frame, enc.index.height)
    cap = prompts_per_account(counts["count"], max_prompts, max_total)
    return distinct.filter(pl.col("rank") < cap).select("account_idx", "key", "requests"), cap


def test_hash_prefiltered_prompt_choice_equals_the_full_count():
    import numpy as np

    from graphlink.stages.encode import encode_frame
    from graphlink.stages.signals.prompt import smallest_prompts

    rng = np.random.default_rng(3)
    sizes = np.r_[rng.integers(1, 6, 300), rng.integers(150, 400, 40)]  # many small accounts, a few heavy ones
    accounts = np.repeat([f"a{i}" for i in range(len(sizes))], sizes)
    distinct_prompts = [f"prompt {i}" for i in range(accounts.size)]
    repeated = [f"same {i % 3}" for i in range(accounts.size)]  # three prompts sent over and over
    for prompts in (distinct_prompts, repeated):
        prompts = [None if rng.random() < 0.05 else p for p in prompts]
        enc = encode_frame(pl.DataFrame({"account_id": accounts, "prompt": prompts}), salt=5)
        for max_prompts, max_total in ((5, None), (40, 2000), (40, 900), (200, None)):
            got, cap = smallest_prompts(enc, max_prompts, max_total)
            want, want_cap = _full_choice(enc, max_prompts, max_total)
            assert cap == want_cap and got.equals(want), (max_prompts, max_total)


def test_a_template_in_a_spaceless_script_is_a_passage_of_characters_not_of_twelve_of_them():
    """Spaceless scripts are split by character, so the 12-word bar would be 12 characters (a polite
    phrase many people write). A shared run of ~18 characters is no template there; ~40 are."""
    from graphlink.stages.signals.prompt import prompt_signals
    polite = "について、わかりやすく説明してください"            # 18 characters many people write
    script = "あなたは専門家です。以下の問題について、すべての推論過程を省略せずに番号付きで詳しく書き出してください"
    topics = ["量子", "経済", "歴史", "化学", "統計", "物理"]
    rows = [(f"p{i}", f"{t}{polite}") for i, t in enumerate(topics)]
    rows += [(f"r{i}", f"{script}問題{t}") for i, t in enumerate(topics)]
    lf = pl.LazyFrame({"account_id": [a for a, _ in rows], "prompt": [p for _, p in rows]})
    _, _, per_account = prompt_signals(lf, 5, 10, 256, 0)
    scripted = dict(zip(per_account["account_id"], per_account["prompts_scripted"]))
    assert all(scripted[f"p{i}"] == 0 for i in range(6))
    assert all(scripted[f"r{i}"] == 1 for i in range(6))
