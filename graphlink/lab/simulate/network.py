"""Vectorised address and token formatting, and network allocation.

IPv4 addresses are carried as ``uint32`` and IPv6 addresses as two
``uint64`` halves until they are written; the formatters below turn whole
arrays into Arrow strings at once.  IPv6 text follows RFC 5952 (lower-case,
leading zeros dropped, the longest run of two or more zero groups -- the
first if tied -- compressed to ``::``), i.e. the same text as
:class:`ipaddress.IPv6Address`.

Examples
--------
>>> import numpy as np
>>> format_ipv4(np.array([0x0A000001, 0xC0A80AFF], dtype=np.uint32)).to_pylist()
['10.0.0.1', '192.168.10.255']
>>> hi = np.array([0x20010DB800120034], dtype=np.uint64)
>>> lo = np.array([5], dtype=np.uint64)
>>> format_ipv6(hi, lo).to_pylist()
['2001:db8:12:34::5']
>>> format_hex64(np.array([0x3A9C], dtype=np.uint64), "pf_").to_pylist()
['pf_0000000000003a9c']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "format_ipv4",
    "format_ipv6",
    "format_hex64",
    "residential_prefixes",
    "ipv6_prefixes",
    "random_hosts",
]

_OCTETS = pa.array([str(i) for i in range(256)], pa.string())
_HEX = pa.array([f"{i:x}" for i in range(65536)], pa.string())
_HEX4 = pa.array([f"{i:04x}" for i in range(65536)], pa.string())

#: First octets of large residential ISP allocations (public unicast only).
_ISP_FIRST_OCTETS = np.array(
    [24, 47, 50, 64, 66, 67, 68, 69, 70, 71, 72, 73, 75, 76, 78, 79, 80, 81,
     82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 98, 99, 108,
     109, 112, 114, 115, 116, 117, 118, 119, 121, 122, 123, 124, 125, 151,
     174, 176, 177, 178, 179, 180, 181, 182, 183, 186, 187, 188, 189, 190,
     191, 200, 201, 210, 211, 212, 213, 217, 218, 219, 220, 221, 222],
    dtype=np.uint32,
)
#: First hextets of real regional IPv6 allocations (RIPE, ARIN, APNIC, ...).
_V6_FIRST = np.array([0x2A01, 0x2A02, 0x2A00, 0x2600, 0x2601, 0x2603, 0x2605,
                      0x2405, 0x2406, 0x2409, 0x2800, 0x2C0F], dtype=np.uint64)


def format_ipv4(addresses: np.ndarray) -> pa.Array:
    """Format ``uint32`` addresses as dotted quads.

    Parameters
    ----------
    addresses : numpy.ndarray
        IPv4 addresses as unsigned 32-bit integers.

    Returns
    -------
    pyarrow.Array
        Dotted-quad strings.
    """
    a = np.asarray(addresses, dtype=np.uint32)
    octets = [_OCTETS.take(pa.array((a >> s) & 0xFF)) for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def format_ipv6(hi: np.ndarray, lo: np.ndarray) -> pa.Array:
    """Format IPv6 addresses given as high and low 64-bit halves.

    Parameters
    ----------
    hi, lo : numpy.ndarray
        ``uint64`` upper (network) and lower (interface) halves.

    Returns
    -------
    pyarrow.Array
        RFC 5952 compressed text, identical to ``str(ipaddress.IPv6Address)``.
    """
    hi = np.asarray(hi, dtype=np.uint64)
    lo = np.asarray(lo, dtype=np.uint64)
    n = len(hi)
    groups = np.empty((n, 8), dtype=np.int64)
    for i in range(4):
        shift = np.uint64(48 - 16 * i)
        groups[:, i] = ((hi >> shift) & np.uint64(0xFFFF)).astype(np.int64)
        groups[:, 4 + i] = ((lo >> shift) & np.uint64(0xFFFF)).astype(np.int64)
    # run[:, i] = length of the zero run starting at group i
    run = np.zeros((n, 9), dtype=np.int64)
    for i in range(7, -1, -1):
        run[:, i] = np.where(groups[:, i] == 0, run[:, i + 1] + 1, 0)
    best_len = run[:, :8].max(axis=1)
    best_start = run[:, :8].argmax(axis=1)  # first position of the max
    compress = best_len >= 2
    end = best_start + best_len
    tokens = []
    for i in range(8):
        text = _HEX.take(pa.array(groups[:, i]))
        at_start = compress & (best_start == i)
        inside = compress & (i > best_start) & (i < end)
        edge = (best_start == 0).astype(np.int64) + (end == 8).astype(np.int64)
        marker = np.array(["", ":", "::"], dtype=object)[edge]
        text = pc.if_else(pa.array(at_start), pa.array(marker, pa.string()), text)
        text = pc.if_else(pa.array(inside), pa.nulls(n, pa.string()), text)
        tokens.append(text)
    return pc.binary_join_element_wise(*tokens, ":", null_handling="skip")


def format_hex64(values: np.ndarray, prefix: str) -> pa.Array:
    """Format ``uint64`` values as ``prefix`` + 16 lower-case hex digits.

    Parameters
    ----------
    values : numpy.ndarray
        Unsigned 64-bit tokens.
    prefix : str
        Literal prefix, e.g. ``"pf_"``.

    Returns
    -------
    pyarrow.Array
        Formatted tokens.
    """
    v = np.asarray(values, dtype=np.uint64)
    parts = [
        _HEX4.take(pa.array(((v >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64)))
        for s in (48, 32, 16, 0)
    ]
    return pc.binary_join_element_wise(pa.scalar(prefix), *parts, "")


def residential_prefixes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` distinct residential /24 network addresses.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of networks.

    Returns
    -------
    numpy.ndarray
        ``uint32`` network addresses (host byte zero), in random order.
    """
    out = np.empty(0, dtype=np.uint32)
    while len(out) < n:  # one pass unless the draw collides
        m = 2 * (n - len(out)) + 16
        first = _ISP_FIRST_OCTETS[rng.integers(0, len(_ISP_FIRST_OCTETS), m)]
        mid = rng.integers(0, 1 << 16, m, dtype=np.uint32)
        cand = (first << np.uint32(24)) | (mid << np.uint32(8))
        merged = np.concatenate([out, cand])
        _, first_idx = np.unique(merged, return_index=True)
        out = merged[np.sort(first_idx)]
    return out[:n]


def ipv6_prefixes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` random /48 prefixes, returned as the high 64 bits.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of prefixes.

    Returns
    -------
    numpy.ndarray
        ``uint64`` with the /48 in the top 48 bits and zero subnet bits.
    """
    first = _V6_FIRST[rng.integers(0, len(_V6_FIRST), n)]
    rest = rng.integers(0, 1 << 32, n, dtype=np.uint64)
    return (first << np.uint64(48)) | (rest << np.uint64(16))


def random_hosts(rng: np.random.Generator, prefixes: np.ndarray) -> np.ndarray:
    """Pick a random host address (.1 to .254) inside each /24 prefix.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    prefixes : numpy.ndarray
        ``uint32`` /24 network addresses.

    Returns
    -------
    numpy.ndarray
        ``uint32`` host addresses.
    """
    p = np.asarray(prefixes, dtype=np.uint32)
    return p | rng.integers(1, 255, len(p), dtype=np.uint32)
