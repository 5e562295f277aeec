"""The staged IP cleaning of the IP table gives what the one-expression cleaning gives, spelling by spelling."""

import polars as pl
import pytest

from graphlink.stages.signals.ip import _clean_ip, _clean_ip_column

SPELLINGS = ["::ffff:1.2.3.4", "0:0:0:0:0:ffff:10.0.0.9", "64:ff9b::1.2.3.4", "64:ff9b::1.2.3.999",
             "64:FF9B::010.001.002.003", " [2001:DB8::1]:443 ", "[2001:db8::2]", "fe80::1%eth0",
             'for="[::1]"', "For=2001:db8::7", "1.2.3.4:80, 5.6.7.8", "2001:db8::1, 2001:db8::2",
             "'2001:DB8:0:0:0:0:0:1'", None, "", "   ", "x", "1.2.3.4", "::", "a:b:c:d:e:f:1.2.3"]


@pytest.mark.parametrize("chain_position", [0, 1, -1])
def test_staged_cleaning_equals_the_expression(chain_position):
    frame = pl.DataFrame({"key": list(range(len(SPELLINGS))), "value": SPELLINGS},
                         schema={"key": pl.UInt64, "value": pl.String})
    want = frame.with_columns(_clean_ip(pl.col("value"), chain_position).alias("value"))
    got = _clean_ip_column(frame, "value", chain_position)
    assert got.equals(want)
    if chain_position != 1:  # (entry 1 of a one-entry chain is missing)
        assert got["value"][2] == "64:ff9b::102:304" and got["value"][3] == "invalid"  # the quad step ran
