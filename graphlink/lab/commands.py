"""The library calls behind ``graphlink simulate`` and ``graphlink evaluate``.

Validation and file writing live here, so the CLI only parses, calls one
function and renders (the simulator and the metrics themselves are in
:mod:`graphlink.lab.simulate` and :mod:`graphlink.lab.evaluate`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphlink.contract import ACCOUNTS_FILE, CLUSTERS_FILE
from graphlink.errors import ConfigError, GraphlinkError, InputError
from graphlink.lab.evaluate import evaluate_dir
from graphlink.store.atomic import write_atomic

__all__ = ["WORLD_FILES", "check_world_folder", "evaluate_output", "simulate_preset", "simulate_scenario_world",
           "simulate_two_days"]

#: The files a simulated world writes (``params.json`` for scenario worlds).
WORLD_FILES = ("events.parquet", "accounts.parquet", "labels.parquet", "params.json")


def check_world_folder(out_dir: str | Path) -> None:
    """Refuse a world's folder whose files the simulator would replace but did not write.

    A world replaces its files in an existing folder and leaves the others alone; a folder holding a user's own
    ``events.parquet`` (their log: ``graphlink simulate data/``) would lose it. The simulator's own folder is known
    by its ``labels.parquet`` (``account_id`` and ``kind`` columns), as detect knows its output by ``run.json``.

    Raises
    ------
    InputError
        ``out_dir`` is a file, or holds world files beside no simulated ``labels.parquet``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder; give a folder for the simulated world", file=str(out))
    present = [name for name in WORLD_FILES if (out / name).exists()] if out.is_dir() else []
    if present and not _simulated_labels(out / "labels.parquet"):
        raise InputError(f"holds {', '.join(present)} that graphlink simulate did not write (no simulated "
                         "labels.parquet beside them); nothing was written: choose another folder", file=str(out))


def _simulated_labels(path: Path) -> bool:
    import polars as pl

    try:
        # glob=False: a folder named like "w[1]" is a path, not a pattern (read_parquet_schema globs)
        return {"account_id", "kind"} <= set(pl.scan_parquet(path, glob=False).collect_schema())
    except (pl.exceptions.PolarsError, OSError):
        return False


def simulate_preset(out_dir: str | Path, preset: str = "small", seed: int = 0,
                    camouflage: float | None = None) -> dict[str, Any]:
    """Simulate a world from a named preset and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder for ``events.parquet``, ``accounts.parquet``, ``labels.parquet``.
    preset : str
        A key of :data:`graphlink.lab.simulate.PRESETS`.
    seed : int
        Simulator seed: the same seed gives byte-identical files.
    camouflage : float, optional
        Share in [0, 1) of each ring account's traffic made to look benign
        (the preset's default when omitted).

    Returns
    -------
    dict
        :func:`graphlink.lab.simulate.write_world`'s summary.

    Raises
    ------
    ConfigError
        Unknown preset or camouflage out of range.
    InputError
        ``out_dir`` holds files the simulator did not write (:func:`check_world_folder`).
    """
    # The simulator needs pyarrow (the [simulate] extra): imported here, so that
    # `graphlink evaluate` works on a core install.
    from graphlink.lab.simulate import PRESETS, write_world

    check_world_folder(out_dir)
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    config = PRESETS[preset]
    if camouflage is not None:
        if not 0.0 <= camouflage < 1.0:
            raise ConfigError("--camouflage must be in [0, 1)")
        config = config.replace(camouflage_share=camouflage)
    return write_world(out_dir, config, seed=seed)


def simulate_scenario_world(out_dir: str | Path, scenario: str, seed: int = 0,
                            scale: str = "small") -> dict[str, Any]:
    """Simulate a world of the scenario family and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder for ``events.parquet``, ``accounts.parquet``, ``labels.parquet``
        and ``params.json``.
    scenario : str
        One of :data:`graphlink.lab.simulate.scenarios.SCENARIOS`.
    seed : int
        Seed: parameters and data are drawn from it (dev/test seeds in
        :mod:`graphlink.lab.simulate.seeds`).
    scale : str
        One of :data:`graphlink.lab.simulate.scenarios.SCALES`.

    Returns
    -------
    dict
        :func:`graphlink.lab.simulate.scenarios.write_scenario`'s summary.

    Raises
    ------
    ConfigError
        Unknown scenario or scale.
    InputError
        ``out_dir`` holds files the simulator did not write (:func:`check_world_folder`).
    """
    from graphlink.lab.simulate.scenarios import SCALES, SCENARIOS, write_scenario

    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    check_world_folder(out_dir)
    return write_scenario(out_dir, scenario, seed, scale)


def simulate_two_days(out_dir: str | Path, day_two_dir: str | Path, scenario: str, seed: int = 0,
                      scale: str = "small") -> dict[str, Any]:
    """Simulate a scenario world into ``out_dir`` and the day after it into ``day_two_dir``.

    Day one is :func:`simulate_scenario_world`'s world; day two
    (:func:`graphlink.lab.simulate.day_two.write_day_two`, same scenario, seed
    and scale) holds new accounts of its ring cells, teams and people plus
    continuing day-one accounts, with ``labels.parquet`` marking them
    (``new``): the log to try ``graphlink match`` on after ``detect`` ran on
    day one.

    Returns
    -------
    dict
        ``day_one``: :func:`simulate_scenario_world`'s summary; ``day_two``:
        ``write_day_two``'s (``n_events``, ``n_accounts``, ``n_new_accounts``,
        ``n_ring_accounts`` new ones, ``paths``).

    Raises
    ------
    ConfigError
        Unknown scenario or scale, or both days given the same folder (day two
        would replace day one's files).
    """
    try:
        same = Path(out_dir).resolve() == Path(day_two_dir).resolve()
    except OSError:
        same = False
    if same:
        raise ConfigError(f"--day-two {day_two_dir}: is the folder day one is written to; give another folder")
    check_world_folder(day_two_dir)  # before day one is written
    day_one = simulate_scenario_world(out_dir, scenario, seed=seed, scale=scale)  # validates scenario and scale
    from graphlink.lab.simulate.day_two import write_day_two

    return {"day_one": day_one, "day_two": write_day_two(day_two_dir, scenario, seed, scale)}


def evaluate_output(out_dir: str | Path, labels: str | Path, json_path: str | Path | None = None) -> dict:
    """Score a detect output folder against ground-truth labels; optionally write the metrics as JSON.

    Returns
    -------
    dict
        :func:`graphlink.lab.evaluate.evaluate`'s metrics.

    Raises
    ------
    GraphlinkError
        A missing input file.
    """
    out_dir = Path(out_dir)
    for path in (out_dir / ACCOUNTS_FILE, out_dir / CLUSTERS_FILE, Path(labels)):
        if not path.is_file():
            raise GraphlinkError(f"{path}: file not found")
    result = evaluate_dir(out_dir, labels)
    if json_path is not None:
        write_atomic(json_path, json.dumps(result, indent=2, default=str) + "\n")
    return result
