"""The one config builder: validation, read-only configs, old spellings, run.json round trip."""

from __future__ import annotations

import dataclasses

import pytest

from graphlink.config import (
    CommunityConfig,
    GraphConfig,
    IngestConfig,
    KindSpec,
    PipelineConfig,
    ScoringConfig,
    SignalConfig,
    build_config,
)
from graphlink.errors import ConfigError


@pytest.mark.parametrize("make, message", [
    (lambda: CommunityConfig(resolution=0.0), "resolution must be greater than 0"),
    (lambda: CommunityConfig(resolution=-1.0), "resolution must be greater than 0"),
    (lambda: ScoringConfig(flag_threshold=1.5), "flag_threshold must be between 0 and 1"),
    (lambda: ScoringConfig(min_flag_size=0), "min_flag_size must be at least 1"),
    (lambda: ScoringConfig(component_weights={"volume": -1.0}), "component_weights"),
    (lambda: IngestConfig(format="xlsx"), "format must be one of"),
    (lambda: IngestConfig(column_map=(("account_id",),)), "column_map"),
    (lambda: SignalConfig(prompt_min_share=2.0), "prompt_min_share"),
    (lambda: GraphConfig(max_pairs=-1), "max_pairs"),
    (lambda: KindSpec(weight=-1.0, max_accounts=10), "weight must be at least 0"),
])
def test_every_stage_config_validates(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("overrides, message", [
    ({"resolution": 0}, "resolution must be greater than 0"),
    ({"flag_threshold": 1.01}, "flag_threshold"),
    ({"previous_min_jaccard": 0.0}, "previous_min_jaccard"),
    ({"member_values_per_kind": -1}, "member_values_per_kind"),
])
def test_builder_rejects_out_of_range_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_config(**overrides)


def test_configs_hold_no_mutable_values():
    config = PipelineConfig()
    with pytest.raises(TypeError):
        config.graph.kinds["payment"] = KindSpec(1.0, 5)  # type: ignore[index]
    with pytest.raises(TypeError):
        config.scoring.component_weights["volume"] = 9.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.scoring.flag_threshold = 0.1  # type: ignore[misc]
    # A dict given by the caller is copied: changing it later changes nothing.
    weights = {"volume": 0.5}
    scoring = ScoringConfig(component_weights=weights)
    weights["volume"] = 9.0
    assert scoring.component_weights["volume"] == 0.5


def test_settings_live_in_the_stage_that_reads_them():
    config = build_config(extra_signals=("device_id",), previous_min_jaccard=0.5, member_values_per_kind=7)
    assert config.signals.extra_signals == ("device_id",)
    assert config.stable_ids.previous_min_jaccard == 0.5
    assert config.drilldown.member_values_per_kind == 7


def test_old_toml_spellings_are_read_with_a_deprecation_warning(tmp_path):
    path = tmp_path / "graphlink.toml"
    path.write_text('[ingest]\nextra_signals = ["device_id"]\n[communities]\nprevious_min_jaccard = 0.4\n'
                    '[scoring]\nmember_values_per_kind = 9\n')
    with pytest.warns(DeprecationWarning) as caught:
        config = build_config(toml=path)
    messages = sorted(str(w.message).split(": ", 1)[1] for w in caught)
    assert messages == ["[communities] previous_min_jaccard is now [stable_ids] previous_min_jaccard",
                        "[ingest] extra_signals is now [signals] extra_signals",
                        "[scoring] member_values_per_kind is now [drilldown] member_values_per_kind"]
    assert config.signals.extra_signals == ("device_id",)
    assert config.stable_ids.previous_min_jaccard == 0.4
    assert config.drilldown.member_values_per_kind == 9


def test_run_json_parameters_round_trip_old_and_new_layouts():
    config = build_config(ngram=4, column_map={"account_id": "user"}, kinds={"payment": {"max_accounts": 9}},
                          signals=("device_id",), member_values_per_kind=3)
    assert build_config(parameters=config.to_dict()) == config
    old = config.to_dict()
    old["ingest"]["extra_signals"] = list(old["signals"].pop("extra_signals"))
    old["scoring"]["member_values_per_kind"] = old.pop("drilldown")["member_values_per_kind"]
    old.pop("stable_ids")
    assert build_config(parameters=old) == config


def test_cli_order_toml_then_columns_then_flags(tmp_path):
    path = tmp_path / "graphlink.toml"
    path.write_text('[columns]\naccount_id = "user"\n[communities]\nseed = 9\nresolution = 2.0\n')
    config = build_config(toml=path, columns=(("ip", "addr"),), signals=("device",), seed=3, resolution=None)
    assert config.ingest.column_map == (("account_id", "user"), ("ip", "addr"))
    assert config.communities.seed == 3 and config.communities.resolution == 2.0  # None: flag not given
    assert config.signals.extra_signals == ("device",)


def test_an_out_of_range_setting_in_a_toml_names_the_file_and_section(tmp_path):
    from graphlink.errors import ConfigError

    bad = tmp_path / "graphlink.toml"
    bad.write_text("[scoring]\nflag_threshold = 7\n")
    with pytest.raises(ConfigError, match=r"graphlink\.toml \[scoring\]: flag_threshold must be between 0 and 1"):
        build_config(toml=bad)
