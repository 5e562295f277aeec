"""The staged IP cleaning of the IP table reads every spelling as the one-expression cleaning does."""

import polars as pl
import pytest

from graphlink.stages.signals.ip import clean_ip_column, parse_ip_frame

SPELLINGS = ["::ffff:1.2.3.4", "0:0:0:0:0:ffff:10.0.0.9", "64:ff9b::1.2.3.4", "64:ff9b::1.2.3.999",
             "64:FF9B::010.001.002.003", " [2001:DB8::1]:443 ", "[2001:db8::2]", "fe80::1%eth0",
             'for="[::1]"', "For=2001:db8::7", "1.2.3.4:80, 5.6.7.8", "2001:db8::1, 2001:db8::2",
             "'2001:DB8:0:0:0:0:0:1'", None, "", "   ", "x", "1.2.3.4", "::", "a:b:c:d:e:f:1.2.3"]


@pytest.mark.parametrize("chain_position", [0, 1, -1])
def test_staged_cleaning_reads_as_the_expression(chain_position):
    frame = pl.DataFrame({"row": list(range(len(SPELLINGS))), "ip": SPELLINGS},
                         schema={"row": pl.UInt64, "ip": pl.String})
    staged = clean_ip_column(frame, "ip", chain_position)
    # parse_ip_frame cleans in one expression; its cleaning leaves cleaned text as it is.
    want = parse_ip_frame(frame, chain_position=chain_position).drop("ip")
    got = parse_ip_frame(staged, chain_position=0).drop("ip")
    assert got.equals(want)
    if chain_position != 1:  # (entry 1 of a one-entry chain is missing)
        assert staged["ip"][2] == "64:ff9b::102:304" and staged["ip"][3] == "invalid"  # the quad step ran
        assert want["version"].drop_nulls().len() >= 12  # the spellings parse
