"""Benign IPv6 in the scenario family: ISP homes, phones and a campus, as real networks assign them.

Until session 49 every benign IPv6 user had a /48 of its own and one fixed
address, which no network does: a detector that keyed IPv6 users by their
/48 could not be judged on benign safety (session 48, rec48). Here benign
IPv6 follows the assignment practice of real networks:

``HOME`` (stable)
    A home gets a /56 from its ISP (RFC 6177 recommends a /48 or /56 per
    site; most residential ISPs hand out a /56, some a /60 or /64) and keeps
    it. ISPs number homes densely from regional pools, so one /48 holds up
    to 256 homes' /56s: here ``ISP_COUNT`` ISPs each with ``ISP_REGIONS``
    regional /48s in use, homes dealt round-robin over them and numbered
    sequentially inside (an 11k-account world: ~30 homes per /48; past 256
    homes a /48 the next /48 of the region opens). The device sits in the
    home's first /64 and rotates its interface identifier daily: RFC 4941 /
    RFC 8981 temporary addresses, default preferred lifetime one day.
``HOME_DAILY`` (prefix renewed daily)
    Some ISPs renumber a home's /56 on every reconnect, forced daily (a
    share ``DAILY_SHARE`` of homes here): a new /56 each day inside the
    ISP's regional /48, a new interface id with it. One /64 a day, not per
    request.
``PHONE``
    A phone on a mobile carrier gets a /64 of its own per PDN connection
    (3GPP, RFC 6459 / RFC 7278) from the carrier's shared pool: here
    ``CARRIER_COUNT`` carriers, each serving every phone of the world from
    one /48 (the hard case: thousands of unrelated phones in one /48 at
    scale). The connection is re-established every few hours (radio loss,
    flight mode, gateway moves: ``SESSION_HOURS``, per phone), each time a
    new /64 and interface id. A phone thus uses many /64s of one /48 over a
    fortnight -- one per session, held for hours.
``CAMPUS``
    A university or large office: one /48, a /64 per building or VLAN
    (``CAMPUS_VLANS``); each member roams among 1-4 of them (desk, library,
    Wi-Fi across buildings), privacy interface ids rotating daily. Many
    unrelated people, many /64s, one /48.

Operators' IPv6 rotation (a new /64 per request inside the operator's /48)
stays in :func:`graphlink.lab.simulate.family.generate_events`.

Examples
--------
>>> import numpy as np
>>> two = np.ones(2, np.int64)
>>> hi, lo = benign_ipv6(two.astype(np.uint64) * 0x2A01_0001_1000_0100, two.astype(np.int8) * HOME, two,
...                      two.astype(np.uint64) * 7, np.array([0, 3_600_000_000]), np.random.default_rng(0))
>>> hex(int(hi[1])), bool(lo[0] == lo[1])  # the home's /64, one privacy address within a day
('0x2a01000110000100', True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["HOME", "HOME_DAILY", "PHONE", "CAMPUS", "ISP_COUNT", "ISP_REGIONS", "CARRIER_COUNT", "DAILY_SHARE",
           "PHONE_SHARE", "SESSION_HOURS", "CAMPUS_VLANS", "mix64", "home_lines", "campus_lines", "benign_ipv6"]

HOME, HOME_DAILY, PHONE, CAMPUS = 1, 2, 3, 4
#: Residential ISPs of the world, each with a /32 (RIR minimum allocation) ...
ISP_COUNT = 6
#: ... of which this many regional /48s are in use (homes of one region share them).
ISP_REGIONS = 4
#: Mobile carriers; each serves all its phones from one /48 of its /32.
CARRIER_COUNT = 2
#: Share of IPv6 homes whose ISP renews the /56 daily (forced reconnects, as some large European ISPs do).
DAILY_SHARE = 0.1
#: Share of IPv6 users on a phone (mobile data) rather than a home line.
PHONE_SHARE = 0.3
#: A phone's PDN connection (hence its /64) lasts this many hours, drawn per phone (inclusive).
SESSION_HOURS = (2, 12)
#: Buildings / VLANs of a campus, one /64 each.
CAMPUS_VLANS = 200

_HOUR_US = 3_600 * 1_000_000
_DAY_US = 24 * _HOUR_US
_FIRST = np.array([0x2A01, 0x2A02, 0x2600, 0x2601, 0x2405, 0x2800], dtype=np.uint64)


def mix64(*parts: np.ndarray) -> np.ndarray:
    """splitmix64 of the parts combined: a deterministic, well-spread ``uint64`` per row (no randomness drawn)."""
    with np.errstate(over="ignore"):
        x = np.zeros(np.broadcast(*parts).shape, np.uint64)
        for p in parts:
            x = (x ^ np.asarray(p).astype(np.uint64)) + np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
    return x


def _isp48(isps: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The ``j``-th regional /48 in use (high 64 bits): ISP ``j % ISP_COUNT``, region ``j // ISP_COUNT``."""
    return isps[j % ISP_COUNT] | ((np.uint64(0x1000) + (j // ISP_COUNT).astype(np.uint64)) << np.uint64(16))


def _state(b, rng) -> dict:
    """The world's ISP and carrier /32s and the count of homes numbered so far (kept on the builder)."""
    if "isps" not in b.v6_state:
        first = _FIRST[rng.integers(0, len(_FIRST), ISP_COUNT + CARRIER_COUNT)]
        nets = (first << np.uint64(48)) | (rng.integers(0x100, 0xFFFF, ISP_COUNT + CARRIER_COUNT, dtype=np.uint64)
                                           << np.uint64(32))
        b.v6_state.update(isps=nets[:ISP_COUNT], carriers=nets[ISP_COUNT:] | np.uint64(0x4000 << 16), homes=0)
    return b.v6_state


def home_lines(b, rng, n: int) -> dict[str, np.ndarray]:
    """Plan columns (``h6_hi, h6_kind, h6_span, h6_p``) of ``n`` benign IPv6 users: homes and phones.

    Homes are numbered across calls (``b.v6_state``), so every group's homes fill the same ISP /48s.
    """
    st = _state(b, rng)
    kind = np.where(rng.random(n) < PHONE_SHARE, PHONE, np.where(rng.random(n) < DAILY_SHARE, HOME_DAILY, HOME))
    i = st["homes"] + np.arange(n, dtype=np.int64)
    st["homes"] += n
    slots = ISP_COUNT * ISP_REGIONS
    region = i % slots + slots * (i // (slots * 256))  # past 256 homes a /48 the next /48 opens
    home56 = ((i // slots) % 256).astype(np.uint64) << np.uint64(8)
    hi = _isp48(st["isps"], region) | np.where(kind == HOME, home56, np.uint64(0))
    hi = np.where(kind == PHONE, st["carriers"][rng.integers(0, CARRIER_COUNT, n)], hi)
    return dict(h6_hi=hi, h6_kind=kind.astype(np.int8), h6_span=rng.integers(*SESSION_HOURS, n, endpoint=True)
                * (kind == PHONE) + 1 * (kind != PHONE), h6_p=rng.uniform(0.5, 1.0, n))


def campus_lines(b, rng, n: int) -> dict[str, np.ndarray]:
    """Plan columns of ``n`` members of one campus /48 (a new campus per call)."""
    _state(b, rng)
    net = (_FIRST[int(rng.integers(0, len(_FIRST)))] << np.uint64(48)) | (
        np.uint64(int(rng.integers(0, 1 << 32))) << np.uint64(16))
    return dict(h6_hi=np.full(n, net, np.uint64), h6_kind=np.full(n, CAMPUS, np.int8),
                h6_span=rng.integers(1, 5, n), h6_p=rng.uniform(0.7, 1.0, n))


def benign_ipv6(hi: np.ndarray, kind: np.ndarray, span: np.ndarray, key: np.ndarray, t_us: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Addresses (high, low ``uint64`` halves) of benign IPv6 requests.

    Parameters
    ----------
    hi, kind, span : numpy.ndarray
        Per request, the account's plan columns ``h6_hi`` (its /64, or its ISP's / carrier's / campus's /48),
        ``h6_kind`` (:data:`HOME`, ...) and ``h6_span`` (a phone's session hours; a campus member's VLANs).
    key : numpy.ndarray
        Per request, a ``uint64`` naming the account (its plan row): its interface ids and choices derive from it.
    t_us : numpy.ndarray
        Per request, µs since the log's start.
    rng : numpy.random.Generator
        For a campus member's VLAN per request (the only draw).

    Returns
    -------
    tuple of numpy.ndarray
        ``(hi, lo)``: the /64 and the interface id.
    """
    day = (t_us // _DAY_US).astype(np.uint64)
    session = ((t_us + (mix64(key, 9) % np.uint64(_DAY_US)).astype(np.int64))
               // (np.maximum(span, 1) * _HOUR_US)).astype(np.uint64)
    vlan = (mix64(key, rng.integers(0, 1 << 16, len(key)) % np.maximum(span, 1).astype(np.uint64))
            % np.uint64(CAMPUS_VLANS) + np.uint64(1))
    sub = np.select([kind == HOME_DAILY, kind == PHONE, kind == CAMPUS],
                    [(mix64(key, day, 1) & np.uint64(0xFF)) << np.uint64(8), mix64(key, session, 2) & np.uint64(0xFFFF),
                     vlan], np.uint64(0)).astype(np.uint64)
    lo = np.where(kind == PHONE, mix64(key, session, 3), mix64(key, day, 4)) | np.uint64(1)
    return np.asarray(hi, np.uint64) | sub, lo
