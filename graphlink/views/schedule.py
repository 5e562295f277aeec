"""Schedules a person can check: the clock a cluster's accounts act on, from event timestamps.

:func:`describe_schedule` ("every 10 min at :03:20 ± 30 s, 24 h a day, 96% of
members"), :func:`describe_sync` (how often members act in the same minute)
and :func:`hours_text`. Used by the report and the notebook's
:meth:`graphlink.ClusterView.schedule`. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from graphlink.views.words import plural

__all__ = ["PERIODS", "Schedule", "describe_schedule", "describe_sync", "hours_text", "timing_bucket", "timing_meanings"]

# --------------------------------------------------------------------------- schedules

#: Candidate periods in seconds: each divides the next day boundary, so an offset reads as clock time.
PERIODS = (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400)


@dataclass(frozen=True)
class Schedule:
    """A clock a cluster's accounts act on.

    Attributes
    ----------
    period : int
        Seconds between slots.
    offset : float
        Seconds after the start of each period (periods aligned to UTC
        midnight) at which the slot falls.
    spread : float
        90% of on-schedule events fall within ``offset ± spread`` seconds.
    event_share : float
        Share of the cluster's events on the schedule.
    account_share : float
        Share of members (with timestamps) having at least half of their
        events on the schedule.
    hours : list of int
        UTC hours of day in which on-schedule events happen.
    events : int
        Events examined.
    """

    period: int
    offset: float
    spread: float
    event_share: float
    account_share: float
    hours: list[int] = field(default_factory=list)
    events: int = 0

    def text(self) -> str:
        """The schedule as a person can check it against the log.

        Examples
        --------
        >>> Schedule(600, 200, 30, 0.99, 0.96, list(range(24))).text()
        'every 10 min at :03:20 ± 30 s, 24 h a day, 96% of members'
        >>> Schedule(86400, 3600 * 14 + 5, 2, 0.9, 1.0, [14]).text()
        'every day at 14:00:05 UTC ± 2 s, 14:00–15:00 UTC, 100% of members'
        """
        off = int(round(self.offset)) % self.period
        if self.period < 3600:
            when = f"every {self.period // 60} min at :{off % 3600 // 60:02d}:{off % 60:02d}"
        elif self.period == 3600:
            when = f"every hour at :{off // 60:02d}:{off % 60:02d}"
        elif self.period < 86400:
            first = f"{off // 3600:02d}:{off % 3600 // 60:02d}:{off % 60:02d}"
            when = f"every {self.period // 3600} h at {first} UTC and every {self.period // 3600} h after"
        else:
            when = f"every day at {off // 3600:02d}:{off % 3600 // 60:02d}:{off % 60:02d} UTC"
        return f"{when} ± {_duration(self.spread)}, {hours_text(self.hours)}, {self.account_share:.0%} of members"


def _duration(seconds: float) -> str:
    s = max(1, int(round(seconds)))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{round(s / 60)} min"
    return f"{round(s / 3600)} h"


def hours_text(hours: Sequence[int]) -> str:
    """UTC hours of day as a person says them.

    Examples
    --------
    >>> hours_text(range(24)), hours_text([2, 3, 4]), hours_text([22, 23, 0, 1, 9])
    ('24 h a day', '02:00–05:00 UTC', '09:00–10:00 and 22:00–02:00 UTC')
    >>> hours_text([])
    'no active hours'
    >>> hours_text([h for h in range(24) if h != 7])  # the quiet hours are the news
    '23 h a day (all but 07:00–08:00 UTC)'
    """
    present = sorted({int(h) % 24 for h in hours})
    if len(present) == 24:
        return "24 h a day"
    if not present:
        return "no active hours"
    if len(present) >= 18:
        quiet = hours_text([h for h in range(24) if h not in present])
        return f"{len(present)} h a day (all but {quiet})"
    runs: list[list[int]] = []
    for h in present:
        if runs and h == runs[-1][-1] + 1:
            runs[-1].append(h)
        else:
            runs.append([h])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == 23:  # wrap around midnight
        runs[0] = runs.pop() + runs[0]
    ranges = sorted(f"{r[0]:02d}:00–{(r[-1] + 1) % 24:02d}:00" for r in runs)
    if len(ranges) > 4:
        return f"{len(present)} h a day"
    return (" and ".join([", ".join(ranges[:-1]), ranges[-1]]) if len(ranges) > 1 else ranges[0]) + " UTC"


def describe_schedule(events: pl.DataFrame, *, min_events: int = 20, min_share: float = 0.5,
                      window: float = 0.05, max_window: float = 300.0) -> Schedule | None:
    """Find the repeating clock a cluster's events follow, if any.

    Parameters
    ----------
    events : DataFrame
        ``account_id, timestamp`` of the cluster's members (``timestamp`` a
        datetime, UTC).
    min_events : int
        Fewer events: no schedule is claimed.
    min_share : float
        Share of events that must fall in the slot window (5x the share a
        random clock would put there, with the default ``window``).
    window : float
        Half-width of a slot as a fraction of the period (default 5%: ± 30 s
        on a 10-minute clock).
    max_window : float
        Largest half-width in seconds (default 5 min): a daily burst spread
        over hours is activity in working hours, not a clock.

    Returns
    -------
    Schedule or None
        The longest candidate period (1 min to 1 day, see :data:`PERIODS`)
        whose slot holds at least ``min_share`` of events and at least 85% of
        the share the best period holds, so a 10-minute clock is not
        reported as a 20-minute one with half the events; ``None`` when no
        period qualifies or the events span fewer than three periods.

    Method
    ------
    For each period, each event's phase (seconds since UTC midnight modulo
    the period) is binned into 40 bins; the circular window of ± ``window``
    periods with most events is the slot, its centre refined to the
    circular mean of the phases in it. This is epoch folding, the standard
    test for a periodic signal in event times (Leahy et al. 1983, ApJ 266, 160).

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> t0 = datetime(2025, 1, 6, tzinfo=timezone.utc) + timedelta(seconds=200)
    >>> ts = [t0 + timedelta(minutes=10 * k, seconds=(k * 7) % 21 - 10) for k in range(300)]  # :03:10, :03:17, :03:24
    >>> ev = pl.DataFrame({"account_id": [f"a{k % 5}" for k in range(300)], "timestamp": ts})
    >>> describe_schedule(ev).text()
    'every 10 min at :03:17 ± 7 s, 24 h a day, 100% of members'
    """
    frame = events.select("account_id", "timestamp").drop_nulls()
    if frame.height < min_events:
        return None
    micros = frame["timestamp"].dt.epoch("us").to_numpy()
    seconds = (micros // 1_000_000).astype(np.int64) % 86400 + (micros % 1_000_000) / 1e6
    span = float((micros.max() - micros.min()) / 1e6)
    results = []
    for period in PERIODS:
        if span < 3 * period:
            break
        phase = np.mod(seconds, period)
        half = min(window * period, max_window)
        bins = max(40, int(np.ceil(2 * period / half)))
        counts = np.bincount(np.minimum((phase / period * bins).astype(np.int64), bins - 1), minlength=bins)
        width = max(1, int(round(2 * half / period * bins)))  # bins in the window
        padded = np.concatenate([counts, counts[:width]])
        sums = np.convolve(padded, np.ones(width + 1, dtype=np.int64), mode="valid")[:bins]
        start = int(np.argmax(sums))
        centre = (start + (width + 1) / 2) / bins * period
        # Refine: circular mean of phases within the window around the centre, until it settles.
        dev = (phase - centre + period / 2) % period - period / 2
        near = np.abs(dev) <= half
        for _ in range(4):
            if not near.any():
                break
            angle = np.angle(np.mean(np.exp(2j * np.pi * phase[near] / period)))
            centre = (angle / (2 * np.pi) * period) % period
            dev = (phase - centre + period / 2) % period - period / 2
            near = np.abs(dev) <= half
        results.append((period, centre, dev, near, float(near.mean())))
    passing = [r for r in results if r[4] >= min_share]
    if not passing:
        return None
    best = max(r[4] for r in passing)
    period, centre, dev, near, share = max((r for r in passing if r[4] >= 0.85 * best), key=lambda r: r[0])
    spread = float(np.quantile(np.abs(dev[near]), 0.9))
    on = pl.DataFrame({"account_id": frame["account_id"], "on": near})
    per_account = on.group_by("account_id").agg(pl.col("on").mean())
    account_share = float((per_account["on"] >= 0.5).mean())
    hour_counts = np.bincount((seconds[near] // 3600).astype(np.int64), minlength=24)
    hours = [h for h in range(24) if hour_counts[h] >= max(1, 0.01 * near.sum() / 24)]
    return Schedule(period=period, offset=centre, spread=spread, event_share=share, account_share=account_share,
                    hours=hours, events=frame.height)


def describe_sync(events: pl.DataFrame, *, window: str = "1m", min_accounts: int = 3) -> str | None:
    """Say how often members act in the same minute, with the busiest minute to check in the log.

    Parameters
    ----------
    events : DataFrame
        ``account_id, timestamp`` of the cluster's members.
    window : str
        Polars duration of a shared window (default one minute, the timing signal's bucket).
    min_accounts : int
        A window counts as shared when at least this many members act in it.

    Returns
    -------
    str or None
        E.g. ``"92% of events fall in minutes when at least 3 members act together
        (busiest: 40 accounts at 2025-01-08 14:03 UTC)"``; ``None`` when no window is shared.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2025, 1, 8, 14, 3, 10, tzinfo=timezone.utc)
    >>> ev = pl.DataFrame({"account_id": ["a", "b", "c", "d"],
    ...                    "timestamp": [t, t, t, datetime(2025, 1, 9, tzinfo=timezone.utc)]})
    >>> describe_sync(ev)
    '75% of events fall in minutes when at least 3 members act together (busiest: 3 accounts at 2025-01-08 14:03 UTC)'
    """
    frame = events.select("account_id", "timestamp").drop_nulls()
    if frame.is_empty():
        return None
    per_window = (frame.group_by(pl.col("timestamp").dt.truncate(window).alias("w"))
                  .agg(pl.col("account_id").n_unique().alias("accounts"), pl.len().alias("events")))
    shared = per_window.filter(pl.col("accounts") >= min_accounts)
    if shared.is_empty():
        return None
    share = shared["events"].sum() / frame.height
    busiest = shared.sort(["accounts", "w"], descending=[True, False]).row(0, named=True)
    unit = "minutes" if window == "1m" else f"{window} windows"
    return (f"{share:.0%} of events fall in {unit} when at least {plural(min_accounts, 'member')} act together "
            f"(busiest: {plural(busiest['accounts'], 'account')} at {busiest['w']:%Y-%m-%d %H:%M} UTC)")


# --------------------------------------------------------------------------- timing values


def timing_bucket(run: dict) -> int:
    """The timing signal's window in seconds recorded in ``run.json`` (``signals.timing_bucket_seconds``, else 60)."""
    return int(((run.get("parameters") or {}).get("signals") or {}).get("timing_bucket_seconds") or 60)


def timing_meanings(evidence: pl.DataFrame, memberships: pl.DataFrame | None, activity: pl.DataFrame | None,
                    bucket_seconds: int = 60) -> pl.DataFrame:
    """``evidence`` with a ``meaning`` column: what each shared ``timing`` value says, in clock terms.

    A timing value (``"band 3: 4851…"``, :mod:`graphlink.stages.signals.timing`) is a MinHash band of an
    account's set of active ``bucket_seconds`` windows: the accounts sharing it act, with high
    probability, in many of the same windows; the text itself is a hash. The meaning names who holds it
    (``memberships``: ``account_id, kind, value``) and the UTC hours and days in which all of them are
    active (``activity``: ``account_id, day, hour``), where those shared windows lie. Without the
    drill-down tables it says what the signature measures. Other kinds get a null ``meaning``. When
    ``evidence`` and ``memberships`` both carry ``cluster_id``, each cluster's values are read
    against its own members (one call for many clusters). Row order is kept.

    Each signature is listed once: accounts acting in nearly the same windows collide in several of the
    MinHash bands, and each band is a value of its own (``band 4: …``, ``band 13: …``), so one group of
    members appeared as several identical rows. Of the timing values a cluster's same members hold
    (``memberships``), only the heaviest is kept (then the first by text); the others are dropped.
    Two groups of as many members acting in the same hours on the same days read alike: their meanings
    then name the members (``3 members (a, b, c) active in …``, the first five).

    Examples
    --------
    >>> from datetime import date
    >>> ev = pl.DataFrame({"kind": ["timing", "ip"], "value": ["band 3: 42", "1.2.3.4"]})
    >>> m = pl.DataFrame({"account_id": ["a", "b", "c"], "kind": ["timing"] * 3, "value": ["band 3: 42"] * 3})
    >>> act = pl.DataFrame({"account_id": ["a", "b", "c", "a", "b", "c", "c"], "hour": [14] * 6 + [3],
    ...                     "day": [date(2025, 3, 3)] * 3 + [date(2025, 3, 4)] * 3 + [date(2025, 3, 5)]})
    >>> timing_meanings(ev, m, act)["meaning"].to_list()
    ['3 members active in the same 60-second windows; hours when all of them act: 14:00–15:00 UTC, on 2 days from 2025-03-03 to 2025-03-04', None]
    >>> two = pl.concat([m, m.with_columns(value=pl.lit("band 9: 7"))])  # the same three members in two bands
    >>> timing_meanings(pl.DataFrame({"kind": ["timing"] * 2, "value": ["band 9: 7", "band 3: 42"]}), two, act)["value"].to_list()
    ['band 3: 42']
    >>> timing_meanings(ev, None, None)["meaning"][0]
    'members active in the same 60-second windows again and again (a signature of their active windows)'
    """
    generic = (f"members active in the same {bucket_seconds}-second windows again and again "
               "(a signature of their active windows)")
    # Several clusters at once (an export's evidence table): each cluster's values are read against
    # its own members, so the key is (cluster, value) when both tables carry the cluster.
    keys = (["cluster_id", "value"] if memberships is not None and "cluster_id" in evidence.columns
            and "cluster_id" in memberships.columns else ["value"])
    timing = evidence.filter(pl.col("kind") == "timing").select(keys).unique()
    texts = pl.DataFrame(schema={**{k: evidence.schema[k] for k in keys}, "__meaning": pl.String})
    if timing.height and memberships is not None and activity is not None:
        holders = (memberships.filter(pl.col("kind") == "timing").join(timing, on=keys, how="semi")
                   .select("account_id", *keys).unique())
        counts = holders.group_by(keys).agg(pl.len().alias("holders"))
        cells = (holders.join(activity.select("account_id", "day", "hour").unique(), on="account_id")
                 .group_by(*keys, "day", "hour").agg(pl.len().alias("active"))
                 .join(counts, on=keys).filter(pl.col("active") == pl.col("holders"))
                 .group_by(keys).agg(pl.col("hour").unique().sort(), pl.col("day").unique().sort()))
        evidence = _one_per_holders(evidence, holders, keys)
        rows = []
        for row in counts.join(cells, on=keys, how="left").iter_rows(named=True):
            text = f"{plural(row['holders'], 'member')} active in the same {bucket_seconds}-second windows"
            if row["hour"] is not None:
                days = row["day"]
                when = f"on {days[0]}" if len(days) == 1 else f"on {len(days)} days from {days[0]} to {days[-1]}"
                text += f"; hours when all of them act: {hours_text(row['hour'])}, {when}"
            rows.append({**{k: row[k] for k in keys}, "__meaning": text})
        if rows:
            texts = _named_when_alike(pl.DataFrame(rows, schema=texts.schema), holders, keys, evidence)
    meaning = pl.col("__meaning").fill_null(generic)
    evidence = evidence.join(texts, on=keys, how="left", maintain_order="left")
    return evidence.with_columns(pl.when(pl.col("kind") == "timing").then(meaning).otherwise(None)
                                 .alias("meaning")).drop("__meaning")


def _one_per_holders(evidence: pl.DataFrame, holders: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``evidence`` without the timing values whose holders (``holders``: ``account_id`` and ``keys``) are exactly
    those of a heavier one (then one first by text) of the same cluster: one row per group of members."""
    group = ["cluster_id"] if "cluster_id" in keys else []
    # Each id length-prefixed: a separator inside an (attacker-written) id cannot make two member sets one.
    length_prefixed = pl.concat_str([pl.col("account_id").str.len_bytes().cast(pl.String), pl.lit(":"), pl.col("account_id")])
    signature = holders.group_by(keys).agg(length_prefixed.sort().str.join("").alias("__members"))
    timing = (evidence.filter(pl.col("kind") == "timing").select(*keys, pl.col("weight").fill_null(0.0) if "weight" in
                                                                   evidence.columns else pl.lit(0.0).alias("weight"))
              .unique(keys).join(signature, on=keys)
              .sort([*group, "__members", "weight", "value"], descending=[False] * len(group) + [False, True, False]))
    dropped = timing.filter(~pl.struct(*group, "__members").is_first_distinct()).select(keys).with_columns(
        pl.lit(True).alias("__dropped"))
    if dropped.is_empty():
        return evidence
    marked = evidence.join(dropped, on=keys, how="left", maintain_order="left")
    return marked.filter(~(pl.col("__dropped").fill_null(False) & (pl.col("kind") == "timing"))).drop("__dropped")


def _named_when_alike(texts: pl.DataFrame, holders: pl.DataFrame, keys: list[str], evidence: pl.DataFrame,
                      most: int = 5) -> pl.DataFrame:
    """``texts`` (``keys, __meaning``) with the members named in the meanings that two listed timing values of one
    cluster share (different members, the same count, hours and days): otherwise they read as one row twice.
    Of more than ``most`` members, those fewest of the alike rows hold are named (then by id; listed by id): two groups
    of six sharing their first five ids by name read alike when the first five were named."""
    group = ["cluster_id"] if "cluster_id" in keys else []
    listed = texts.join(evidence.filter(pl.col("kind") == "timing").select(keys).unique(), on=keys, how="semi")
    alike = listed.filter(pl.len().over(*group, "__meaning") > 1).select(*keys, "__meaning")
    if alike.is_empty():
        return texts
    held = holders.join(alike, on=keys).with_columns(pl.len().over(*group, "__meaning", "account_id").alias("__rows"))
    who = held.group_by(keys).agg(pl.col("account_id").sort_by(["__rows", "account_id"]).head(most).sort().alias("__who"),
                                  pl.len().alias("__size"))
    names = who.select(*keys, pl.concat_str([
        pl.lit(" ("), pl.col("__who").list.join(", "),
        pl.when(pl.col("__size") > most).then(pl.lit(", …")).otherwise(pl.lit("")), pl.lit(")")]).alias("__names"))
    count = pl.col("__meaning").str.extract(r"^(\S+ members?)", 1)
    return (texts.join(names, on=keys, how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("__names").is_not_null())
                          .then(pl.concat_str([count, pl.col("__names"), pl.col("__meaning").str.slice(count.str.len_chars())]))
                          .otherwise(pl.col("__meaning")).alias("__meaning"))
            .drop("__names"))
