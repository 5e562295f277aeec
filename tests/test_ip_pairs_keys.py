"""ip_pairs keys IPs by their hash's top bits when those name each IP, else by the whole hash: same pairs."""

import numpy as np
import polars as pl

import graphlink.stages.signals.ip as ip
from graphlink.stages.encode import encode_frame

SPELLINGS = ["10.0.0.1", "::ffff:10.0.0.1", "10.0.0.2", "10.0.1.1", "300.1.1.1", "bad", "2001:db8::1", "2001:DB8::1",
             "2001:db8:0:0:0:0:0:1", "2001:db8::2", "2001:db9::2", "fe80::1%eth0", " 1.2.3.4:80 ", "1.2.3.4", None]


def _frame(seed: int, values: list) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"account_id": [f"a{i}" for i in rng.integers(0, 40, 600)],
                         "ip": [values[i] for i in rng.integers(0, len(values), 600)]})


def test_ip_pairs_same_with_truncated_or_whole_hash_keys(monkeypatch):
    for frame in (_frame(1, SPELLINGS), _frame(2, ["1.1.1.%d" % i for i in range(50)]), _frame(3, ["bad", None])):
        enc = encode_frame(frame)
        truncated = ip.ip_pairs(enc, 24, 48)
        with monkeypatch.context() as m:
            m.setattr(ip, "n_distinct", lambda values: -1)  # as if two IPs shared their hash's top bits
            whole = ip.ip_pairs(enc, 24, 48)
        for a, b in zip(truncated, whole):
            if isinstance(a, pl.DataFrame):
                assert a.sort(a.columns).equals(b.sort(b.columns))
            else:
                assert a == b
        held = truncated[0].group_by("kind", "value_key").len()["len"]
        assert held.is_empty() or held.min() >= 2  # only values two accounts share
