"""Tiny seeded worlds with planted rings for pipeline tests (no simulator needed)."""

from __future__ import annotations

import numpy as np
import polars as pl


def planted_world(seed: int = 0, n_benign: int = 300, rings: tuple[int, ...] = (25, 15)) -> tuple[pl.DataFrame, dict[str, int]]:
    """Benign accounts with their own cards/IPs/free text, plus rings sharing cards,
    proxy IPs, a templated prompt and a synchronised schedule.

    Returns the events frame and ``{account_id: ring number}`` for ring accounts.
    """
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-05-01T00:00:00")
    vocab = np.array("the a cat dog model water river light code bread music train glass paper stone".split())
    frames, truth = [], {}
    n_events = rng.integers(3, 15, n_benign)
    acc = np.repeat(np.arange(n_benign), n_events)
    m = len(acc)
    words = rng.choice(vocab, size=(m, 8))
    frames.append(pl.DataFrame({
        "account_id": [f"user{a:04d}" for a in acc],
        "timestamp": (start + rng.integers(0, 14 * 86400, m).astype("timedelta64[s]")).astype("datetime64[us]"),
        "ip": [f"{20 + a % 150}.{a % 7}.{a % 200}.{a % 250 + 1}" for a in acc],
        "payment_fingerprint": [f"pf_b{a}" for a in acc],
        "prompt": [" ".join(w) for w in words],
        "user_agent": rng.choice(["python-requests/2.31", "openai-python/1.3.0", "curl/8.0"], m),
    }))
    for r, size in enumerate(rings):
        members = [f"ring{r}_{i:03d}" for i in range(size)]
        truth.update({a: r for a in members})
        # Bursts every 7 hours reach every hour of the day (7 and 24 are coprime).
        bursts = start + (np.arange(30) * 7 * 3600 + r * 600).astype("timedelta64[s]")
        acc_i = np.repeat(np.arange(size), len(bursts))
        times = np.tile(bursts, size) + rng.integers(0, 30, len(acc_i)).astype("timedelta64[s]")
        fills = rng.choice(vocab, size=(len(acc_i), 3))
        frames.append(pl.DataFrame({
            "account_id": [members[i] for i in acc_i],
            "timestamp": times.astype("datetime64[us]"),
            # A proxy pool rotating per request over 60 networks.
            "ip": [f"185.{100 + r}.{p}.{p % 7 + 1}" for p in rng.integers(1, 60, len(acc_i))],
            "payment_fingerprint": [f"pf_ring{r}_{i % 4}" for i in acc_i],
            "prompt": [f"solve the following problem and think step by step showing all reasoning {' '.join(f)}"
                       for f in fills],
            "user_agent": "python-requests/2.31",
        }))
    events = pl.concat(frames).with_columns(pl.col("timestamp").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    return events, truth


def affiliation_frames(rows: list[tuple[int, int, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(affiliations, signals)`` of hand-built ``(account_idx, signal_idx, kind)`` rows: every value
    linked, ``df`` its holders (the inputs of the campaign-flag stages)."""
    aff = pl.DataFrame({"account_idx": [r[0] for r in rows], "signal_idx": [r[1] for r in rows]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    kinds = pl.DataFrame({"signal_idx": [r[1] for r in rows], "kind": [r[2] for r in rows]},
                         schema={"signal_idx": pl.UInt32, "kind": pl.String}).unique("signal_idx")
    sig = (aff.group_by("signal_idx").agg(pl.len().alias("df")).join(kinds, on="signal_idx")
           .with_columns(pl.lit(True).alias("linked")).sort("signal_idx"))
    return aff, sig


def prompt_holdings(clusters: dict[int, int], holds: dict[int, dict[int, int]], unclustered: dict[int, int],
                    n_values: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Partition, affiliations, signals and campaigns of a hand-built world where every value is a prompt phrase
    and every cluster a campaign of its own. ``clusters``: {cluster: accounts}; ``holds``: {cluster: {value:
    holders}} (its first accounts); ``unclustered``: {value: holders in no cluster}."""
    acc, part_a, part_c, members = 0, [], [], {}
    for c, n in clusters.items():
        members[c] = list(range(acc, acc + n))
        acc += n
        part_a += members[c]
        part_c += [c] * n
    aff_a, aff_s, df = [], [], {v: 0 for v in range(n_values)}
    for c, hv in holds.items():
        for v, k in hv.items():
            aff_a += members[c][:k]
            aff_s += [v] * k
            df[v] += k
    for v, k in unclustered.items():
        us = list(range(acc, acc + k))
        acc += k
        part_a += us
        part_c += [None] * k
        aff_a += us
        aff_s += [v] * k
        df[v] += k
    part = pl.DataFrame({"account_idx": part_a, "cluster_id": part_c}, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    aff = pl.DataFrame({"account_idx": aff_a, "signal_idx": aff_s}, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": list(range(n_values)), "kind": ["prompt"] * n_values, "linked": [True] * n_values,
                        "df": [df[v] for v in range(n_values)]},
                       schema={"signal_idx": pl.UInt32, "kind": pl.String, "linked": pl.Boolean, "df": pl.Int64})
    camp = pl.DataFrame({"cluster_id": list(clusters), "campaign_id": list(clusters)})
    return part, aff, sig, camp
