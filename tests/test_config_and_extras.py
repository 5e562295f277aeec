"""Config files, ASN tables, user-declared signals and the accounts file end to end."""

import polars as pl
import pytest

from graphlink.config import PipelineConfig, SignalConfig, build_config
from graphlink.errors import ConfigError, InputError
from graphlink.pipeline import run_detect
from graphlink.stages.signals import ip_signals, load_asn_table


def test_toml_overrides_reach_each_stage(tmp_path):
    path = tmp_path / "graphlink.toml"
    path.write_text('[columns]\naccount_id = "user"\n[signals]\nngram = 4\n'
                    '[kinds.payment]\nmax_accounts = 7\n[communities]\nseed = 9\n')
    config = build_config(toml=path)
    assert config.ingest.column_map == (("account_id", "user"),)
    assert config.signals.ngram == 4 and config.communities.seed == 9
    assert config.graph.spec("payment").max_accounts == 7
    assert config.graph.spec("payment").weight == PipelineConfig().graph.spec("payment").weight


@pytest.mark.parametrize("text, message", [
    ("[signals]\nnope = 1\n", "unknown setting"),
    ("[wat]\n", "unknown section"),
    ("not toml =", "not valid TOML"),
    ("[signals]\nipv4_prefix = 40\n", "ipv4_prefix"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "graphlink.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        build_config(toml=path)


def test_asn_table_both_layouts(tmp_path):
    csv = tmp_path / "asn.csv"
    csv.write_text("10.0.0.0/8,64500\n2001:db8::/32,64501\n")
    tsv = tmp_path / "asn.tsv"
    tsv.write_text("10.0.0.0\t10.255.255.255\t64500\tZZ\tExample\n2001:db8::\t2001:db8:ffff:ffff::\t64501\tZZ\tEx\n")
    lf = pl.LazyFrame({"account_id": ["a", "b", "c"], "ip": ["10.1.1.1", "2001:db8:5::1", "192.0.2.1"]})
    for table in (csv, tsv):
        pairs, _, _ = ip_signals(lf, 24, 48, load_asn_table(table))
        asn = dict(pairs.filter(pl.col("kind") == "asn").select("account_id", "value").iter_rows())
        assert asn == {"a": "AS64500", "b": "AS64501"}


def test_missing_asn_table_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="ASN table not found"):
        load_asn_table(tmp_path / "nope.csv")


def test_declared_signal_and_accounts_file_link_accounts(tmp_path):
    events = tmp_path / "e.csv"
    pl.DataFrame({"account_id": ["a", "b", "c", "d"], "device_id": ["dev1", "dev1", "dev2", "dev3"]}).write_csv(events)
    accounts = tmp_path / "acc.csv"
    pl.DataFrame({"account_id": ["a", "b", "c", "d"],
                  "created_at": ["2024-01-01T10:05:00", "2024-01-01T10:40:00", "2024-01-01T10:10:00", "2024-02-01"],
                  "email_domain": ["x.example", "x.example", "y.example", "z.example"]}).write_csv(accounts)
    config = PipelineConfig(signals=SignalConfig(extra_signals=("device_id",)))
    result = run_detect(events, accounts, config)
    clustered = result.accounts.drop_nulls("cluster_id")
    assert sorted(clustered["account_id"]) == ["a", "b"]
    kinds = set(result.evidence["kind"])
    assert {"device_id", "email_domain", "created_hour"} <= kinds
    # c shares only the (weak) creation hour with a and b: it must not be linked.
    assert result.accounts.filter(pl.col("account_id") == "c")["cluster_id"][0] is None
