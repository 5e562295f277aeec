"""The one config builder: :func:`build_config`.

Every route to a :class:`~graphlink.config.stages.PipelineConfig` goes through
it: ``graphlink.toml`` files, keyword overrides (``graphlink.detect(seed=7)``),
the flags of ``graphlink detect`` and the ``parameters`` of a ``run.json`` (so
:func:`graphlink.load` gets back the config a run used). Each stage config
validates its values itself; this module maps names to stages and checks types.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphlink.config.stages import STAGES, GraphConfig, KindSpec, PipelineConfig, check_column_map
from graphlink.errors import ConfigError

__all__ = ["ALIASES", "MOVED", "build_config", "override_names", "parse_column_maps", "unknown_names"]

#: The settings of one ``[kinds.NAME]`` table (:class:`KindSpec`'s fields).
KIND_SETTINGS = tuple(f.name for f in dataclasses.fields(KindSpec))
#: Flat names that would be ambiguous but have one obvious meaning. ``seed`` is
#: the Leiden seed, as in ``graphlink detect --seed``; the hashing seed is ``signals__seed``.
ALIASES: dict[str, tuple[str, str]] = {"seed": ("communities", "seed")}
#: Old (stage, setting) spellings still read from ``graphlink.toml`` and ``run.json``, and where they live now.
MOVED: dict[tuple[str, str], tuple[str, str]] = {
    ("ingest", "extra_signals"): ("signals", "extra_signals"),
    ("communities", "previous_min_jaccard"): ("stable_ids", "previous_min_jaccard"),
    ("scoring", "member_values_per_kind"): ("drilldown", "member_values_per_kind"),
}


def parse_column_maps(maps: Iterable[str] | None) -> tuple[tuple[str, str], ...]:
    """``canonical=source`` texts (``--map``), each possibly several comma-separated pairs, as pairs.

    Canonical names are checked by :func:`build_config`. An item whose comma
    parts are not all pairs is one pair whose source name contains a comma.

    Raises
    ------
    ConfigError
        An item without ``=`` or with an empty side.

    Examples
    --------
    >>> parse_column_maps(["account_id=user_id,timestamp=ts", "ip = client ip"])
    (('account_id', 'user_id'), ('timestamp', 'ts'), ('ip', 'client ip'))
    """
    pairs = []
    for item in maps or []:
        parts = item.split(",")
        if not all("=" in part for part in parts):
            parts = [item]  # a source column name with a comma in it
        for part in parts:
            canonical, sep, source = part.partition("=")
            if not sep or not canonical.strip() or not source.strip():
                raise ConfigError(f"--map expects canonical=source (comma-separated pairs allowed), got {item!r}")
            pairs.append((canonical.strip(), source.strip()))
    return tuple(pairs)


def override_index() -> dict[str, list[tuple[str, str]]]:
    """Flat setting name -> the (stage, field) pairs it may mean."""
    index: dict[str, list[tuple[str, str]]] = {}
    for stage, cls in STAGES.items():
        for f in dataclasses.fields(cls):
            index.setdefault(f.name, []).append((stage, f.name))
            index.setdefault(f"{stage}__{f.name}", []).append((stage, f.name))
    for name, target in ALIASES.items():
        index[name] = [target]
    return index


def override_names() -> list[str]:
    """Setting names :func:`build_config` (and :func:`graphlink.detect`) accept as keyword overrides.

    Each stage setting can be given by its bare name when only one stage has
    it (``resolution``, ``ngram``, ``flag_threshold``...) and always as
    ``stage__name`` (``signals__seed``). ``seed`` is the Leiden seed.

    Examples
    --------
    >>> names = override_names()
    >>> "resolution" in names, "signals__seed" in names, "seed" in names
    (True, True, True)
    """
    return sorted(override_index())


def coerce(name: str, current: Any, value: Any) -> Any:
    """Check ``value`` against the type of the setting's current value (ints pass as floats, lists as tuples)."""
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, tuple):
        if name.endswith("column_map") and isinstance(value, Mapping):
            value = tuple(value.items())
        ok = isinstance(value, (list, tuple))
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value) if ok else value
    elif current is None or isinstance(current, str):  # optional strings: format, asn_table
        ok = value is None or isinstance(value, (str, Path))
        value = str(value) if isinstance(value, Path) else value
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{name}: expected {type(current).__name__}, got {value!r}")
    return value


def merge_kinds(current: Mapping[str, KindSpec], value: Any, where: str = "kinds") -> dict[str, KindSpec]:
    """Per-kind specs updated by ``value`` (kind -> KindSpec or dict of its settings); other kinds kept."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a dict of kind -> KindSpec or dict of settings")
    kinds = dict(current)
    for kind, spec in value.items():
        if isinstance(spec, KindSpec):
            kinds[kind] = spec
        elif isinstance(spec, Mapping):
            base = kinds.get(kind, GraphConfig().spec(kind))
            unknown = sorted(set(spec) - set(KIND_SETTINGS))
            if unknown:
                raise ConfigError(f"{where}[{kind!r}]: unknown setting(s) "
                                  f"{unknown_names(unknown, KIND_SETTINGS)}")
            kinds[kind] = dataclasses.replace(base, **spec)
        else:
            raise ConfigError(f"{where}[{kind!r}]: expected a KindSpec or a dict, got {spec!r}")
    return kinds


def _set(config: PipelineConfig, updates: Mapping[str, Mapping[str, Any]]) -> PipelineConfig:
    try:
        replaced = {stage: dataclasses.replace(getattr(config, stage), **values)
                    for stage, values in updates.items() if values}
    except TypeError as exc:  # pragma: no cover - names are checked before
        raise ConfigError(str(exc)) from None
    return dataclasses.replace(config, **replaced)


def _sections(data: Mapping[str, Any], where: str, note_moved: bool) -> dict[str, dict[str, Any]]:
    """``{stage: {setting: value}}`` of a TOML / run.json mapping, old spellings moved to their stage."""
    sections = {stage: dict(data.get(stage) or {}) for stage in STAGES}
    for (old_stage, name), (stage, new_name) in MOVED.items():
        if name in sections[old_stage]:
            if note_moved:
                warnings.warn(f"{where}: [{old_stage}] {name} is now [{stage}] {new_name}", DeprecationWarning,
                              stacklevel=4)
            sections[stage].setdefault(new_name, sections[old_stage].pop(name))
    return sections


def unknown_names(names: Iterable[str], valid: Iterable[str], stage: str | None = None) -> str:
    """Unknown setting or section names for an error, each with the valid name it resembles (difflib, as ``--map``
    does) or, for a setting of another stage, the stage that has it; then the valid names.

    >>> unknown_names(["flag_treshold"], ["flag_threshold", "min_flag_size"])
    'flag_treshold (did you mean flag_threshold?); valid: flag_threshold, min_flag_size'
    >>> unknown_names(["resolution"], ["flag_threshold"], "scoring")
    'resolution (a [communities] setting); valid: flag_threshold'
    """
    valid = sorted(valid)
    named = []
    for name in names:
        close = difflib.get_close_matches(name, valid, n=1)
        elsewhere = [other for other, cls in STAGES.items() if stage and other != stage
                     and name in {f.name for f in dataclasses.fields(cls)}]
        named.append(f"{name} (did you mean {close[0]}?)" if close else
                     f"{name} (a [{elsewhere[0]}] setting)" if elsewhere else name)
    return f"{', '.join(named)}; valid: {', '.join(valid)}"


def _apply_sections(config: PipelineConfig, sections: Mapping[str, Mapping[str, Any]], where: str,
                    strict: bool) -> PipelineConfig:
    updates: dict[str, dict[str, Any]] = {}
    for stage, values in sections.items():
        known = {f.name for f in dataclasses.fields(STAGES[stage])}
        unknown = sorted(set(values) - known)
        if unknown and strict:
            raise ConfigError(f"{where} [{stage}]: unknown setting(s) {unknown_names(unknown, known, stage)}")
        for name, value in values.items():
            if name not in known:
                continue
            current = getattr(getattr(config, stage), name)
            if name == "kinds":
                value = merge_kinds(current, value, f"{where} [kinds]")
            else:
                value = coerce(f"{where} [{stage}] {name}", current, value)
            updates.setdefault(stage, {})[name] = value
    try:
        return _set(config, updates)
    except ConfigError as exc:  # a stage's own check (range, relation between settings)
        stages = ", ".join(f"[{stage}]" for stage in sorted(updates))
        raise ConfigError(f"{where} {stages}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows editors) dropped
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _apply_toml(config: PipelineConfig, path: Path) -> PipelineConfig:
    data = _read_toml(path)
    unknown = sorted(set(data) - set(STAGES) - {"columns", "kinds"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown_names(unknown, [*STAGES, 'columns', 'kinds'])}")
    sections = _sections(data, str(path), note_moved=True)
    if "kinds" in data:
        kinds = data["kinds"]
        for kind, values in kinds.items():
            if isinstance(values, Mapping):
                unknown = sorted(set(values) - set(KIND_SETTINGS))
                if unknown:
                    raise ConfigError(f"{path} [kinds.{kind}]: unknown setting(s) "
                                      f"{unknown_names(unknown, KIND_SETTINGS)}")
        sections["graph"]["kinds"] = kinds
    config = _apply_sections(config, sections, str(path), strict=True)
    if "columns" in data:
        columns = data["columns"]
        if not all(isinstance(v, str) for v in columns.values()):
            raise ConfigError(f"{path} [columns]: values must be column names (strings)")
        check_column_map(tuple(columns.items()), config.signals.extra_signals, f"{path} [columns]")
        config = _add(config, columns=tuple(columns.items()))
    return config


def _add(config: PipelineConfig, columns: Iterable[tuple[str, str]] = (), signals: Iterable[str] = ()) -> PipelineConfig:
    columns = tuple(columns)  # a name mapped here replaces an earlier layer's map of it (a config file's, run.json's)
    kept = tuple(pair for pair in config.ingest.column_map if pair[0] not in {canonical for canonical, _ in columns})
    ingest = dataclasses.replace(config.ingest, column_map=kept + columns)
    extra = tuple(dict.fromkeys(config.signals.extra_signals + tuple(signals)))
    return dataclasses.replace(config, ingest=ingest, signals=dataclasses.replace(config.signals, extra_signals=extra))


def _apply_overrides(config: PipelineConfig, overrides: Mapping[str, Any]) -> PipelineConfig:
    index = override_index()
    updates: dict[str, dict[str, Any]] = {}
    for name, value in overrides.items():
        targets = index.get(name.replace(".", "__"))
        if targets is None:
            close = difflib.get_close_matches(name, list(index), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            bare = sorted(n for n in index if "__" not in n)
            raise ConfigError(f"unknown setting {name!r}{hint}; valid settings: {', '.join(bare)} "
                              "(or stage__name, e.g. signals__seed)")
        if len(targets) > 1:
            options = ", ".join(f"{stage}__{field}" for stage, field in targets)
            raise ConfigError(f"setting {name!r} is ambiguous; use one of {options}")
        stage, field = targets[0]
        current = getattr(getattr(config, stage), field)
        if field == "kinds":
            value = merge_kinds(updates.get(stage, {}).get("kinds", current), value)
        else:
            value = coerce(name, current, value)
        updates.setdefault(stage, {})[field] = value
    return _set(config, updates)


def build_config(base: PipelineConfig | None = None, *, toml: str | Path | None = None,
                 parameters: Mapping[str, Any] | None = None, columns: Iterable[tuple[str, str]] = (),
                 signals: Iterable[str] = (), **overrides: Any) -> PipelineConfig:
    """Build a :class:`PipelineConfig`: the one builder behind the API, the CLI and :func:`graphlink.load`.

    Sources are applied in this order, each on top of the previous one.

    Parameters
    ----------
    base : PipelineConfig, optional
        Starting point (the defaults when omitted).
    toml : path, optional
        A ``graphlink.toml``: ``[columns]`` (canonical = source column), one
        section per stage (``[signals]``, ``[communities]``...) and
        ``[kinds.<kind>]`` tables. Old spellings (``[ingest] extra_signals``,
        ``[communities] previous_min_jaccard``, ``[scoring] member_values_per_kind``)
        are read with a :class:`DeprecationWarning`.
    parameters : mapping, optional
        ``run.json``'s ``parameters`` (what :meth:`PipelineConfig.to_dict` wrote);
        settings a newer or older graphlink does not know are ignored.
    columns : iterable of (canonical, source)
        Column renames appended to ``column_map`` (``--map``); canonical names
        are checked (:func:`~graphlink.config.stages.check_column_map`).
    signals : iterable of str
        Event columns appended to ``extra_signals`` (``--signal``).
    **overrides
        Flat settings (see :func:`override_names`): ``seed=7`` (Leiden),
        ``resolution=1.2``, ``signals__seed=3``; ``kinds`` is merged per kind:
        ``kinds={"payment": {"max_accounts": 30}}`` changes only that. ``None``
        values are skipped (a CLI flag not given).

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ConfigError
        Unreadable file, unknown or ambiguous names (the message lists valid
        ones), values of the wrong type or out of range.

    Examples
    --------
    >>> cfg = build_config(seed=7, resolution=1.2, ngram=4, flag_threshold=0.7)
    >>> cfg.communities.seed, cfg.communities.resolution, cfg.signals.ngram, cfg.scoring.flag_threshold
    (7, 1.2, 4, 0.7)
    >>> build_config(parameters=cfg.to_dict()) == cfg
    True
    >>> build_config(resolution=0)
    Traceback (most recent call last):
    ...
    graphlink.errors.ConfigError: resolution must be greater than 0, got 0.0
    >>> build_config(resolutoin=2.0)
    Traceback (most recent call last):
    ...
    graphlink.errors.ConfigError: unknown setting 'resolutoin' (did you mean resolution?); valid settings: ...
    """
    if base is not None and not isinstance(base, PipelineConfig):
        raise ConfigError(f"base: expected a PipelineConfig, got {type(base).__name__}")
    if toml is not None and not isinstance(toml, (str, os.PathLike)):
        raise ConfigError(f"toml: expected the path of a graphlink.toml, got {type(toml).__name__}")
    config = base or PipelineConfig()
    if parameters is not None:
        if not isinstance(parameters, Mapping):
            raise ConfigError(f"parameters: expected a mapping, got {type(parameters).__name__}")
        sections = _sections(parameters, "run.json", note_moved=False)
        graph = sections["graph"]
        if isinstance(graph.get("kinds"), Mapping):  # run.json holds every kind: replace, not merge
            graph["kinds"] = {k: KindSpec(**spec) if isinstance(spec, Mapping) else spec
                              for k, spec in graph["kinds"].items()}
            config = dataclasses.replace(config, graph=dataclasses.replace(config.graph, kinds={}))
        config = _apply_sections(config, sections, "run.json", strict=False)
    if toml is not None:
        config = _apply_toml(config, Path(toml))
    columns, signals = tuple(columns), tuple(signals)
    check_column_map(columns, config.signals.extra_signals + signals, "--map")
    config = _add(config, columns, signals)
    return _apply_overrides(config, {k: v for k, v in overrides.items() if v is not None})
