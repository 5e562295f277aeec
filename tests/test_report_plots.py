"""The report's PNG plots: kept figures draw each plot as a fresh figure would (helper rep39)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from PIL import Image

from graphlink.views import plots

ROOT = Path(__file__).resolve().parent.parent


def activity(days: int, scale: int, hours: tuple[int, ...]) -> pl.DataFrame:
    """Activity rows (``account_id, cluster_id, hour, day, events``) over ``days`` days."""
    rows = [(f"a{i % 7}", 1, hours[i % len(hours)], date(2026, 3, 1) + timedelta(days=i % days), scale * (1 + i % 5))
            for i in range(3 * days)]
    return pl.DataFrame(rows, schema={"account_id": pl.String, "cluster_id": pl.Int64, "hour": pl.Int8,
                                      "day": pl.Date, "events": pl.Int64}, orient="row")


def memberships(n: int) -> pl.DataFrame:
    return pl.DataFrame({"account_id": [f"m{i:03d}" for i in range(n)], "kind": ["payment"] * n,
                         "value": [f"card{i % 3}" for i in range(n)], "weight": [2.0] * n})


# Days and weeks; LARGE's counts (over 1e5) keep matplotlib's title placement.
SMALL, MEDIUM, LARGE = activity(4, 1, (9, 10)), activity(300, 50, (3, 4)), activity(400, 300_000, (1, 5, 22))
DRAW = """
import pickle, sys
from graphlink.views import plots
jobs = pickle.loads(sys.stdin.buffer.read())
sys.stdout.buffer.write(pickle.dumps([getattr(plots, name)(frame).png for name, frame in jobs]))
"""


def fresh_pngs(jobs: list[tuple[str, pl.DataFrame]]) -> list[bytes]:
    """The PNGs drawn one per fresh process, on figures built for them."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    return [pickle.loads(subprocess.run([sys.executable, "-c", DRAW], input=pickle.dumps([job]), env=env,
                                        capture_output=True, check=True).stdout)[0] for job in jobs]


def test_a_plot_is_the_same_after_other_plots_as_on_a_fresh_figure():
    jobs = [("hour_of_day", SMALL), ("timeline", SMALL), ("network", memberships(5)), ("timeline", MEDIUM),
            ("hour_of_day", LARGE), ("timeline", LARGE), ("network", memberships(60)), ("timeline", SMALL)]
    fresh = fresh_pngs(jobs)
    here = [getattr(plots, name)(frame).png for name, frame in jobs + jobs[::-1]]
    assert here[:len(jobs)] == fresh and here[len(jobs):] == fresh[::-1]
    assert len(set(fresh)) == len(fresh) - 1  # different data, different pictures (SMALL's timeline twice)


def test_the_hour_bars_show_the_share_of_events_per_hour(tmp_path):
    # Events only at 09:00 and 10:00, twice as many at 10:00: two bars, the second twice the first.
    rows = pl.DataFrame({"hour": [9, 10], "events": [10, 20]}, schema={"hour": pl.Int8, "events": pl.Int64})
    plots.hour_of_day(LARGE)  # a taller plot first: its bars must not remain
    plot = plots.hour_of_day(rows)
    assert plot.caption == "30 events by hour of day (UTC); busiest hours 10:00, 09:00."
    path = tmp_path / "hours.png"
    path.write_bytes(plot.png)
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    bar = (np.abs(pixels - [0x4C, 0x72, 0xB0]).sum(axis=2) < 30)  # BAR_COLOUR
    columns = bar.sum(axis=0)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], columns > 0, [0]])))  # starts and ends of bars
    heights = [int(columns[start:end].max()) for start, end in zip(runs[::2], runs[1::2])]
    assert len(heights) == 2 and abs(heights[1] - 2 * heights[0]) <= 2


def test_empty_activity_still_draws_a_message_plot():
    empty = SMALL.clear()
    assert plots.hour_of_day(empty).caption == "No timestamped events."
    assert plots.timeline(empty).caption == "No timestamped events."
    assert plots.hour_of_day(SMALL).png == plots.hour_of_day(SMALL).png
