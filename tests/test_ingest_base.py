"""Account ids read once: counting rejections and encoding from that read equals reading twice."""

import polars as pl
import pytest

from graphlink.stages.encode import encode_events
from graphlink.stages.ingest import load_events


@pytest.mark.parametrize("with_timestamps", [True, False])
def test_encoding_from_the_counting_read_equals_a_second_read(tmp_path, with_timestamps):
    data = {"account_id": ["b", None, " a ", "", "c", "b", "a"],
            "ip": ["1.1.1.1", "2.2.2.2", None, "3.3.3.3", " 1.1.1.1", "4.4.4.4", "5.5.5.5"]}
    if with_timestamps:
        data["timestamp"] = ["2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z", "not a time", "2025-01-01T00:02:00Z",
                             "1800-01-01T00:00:00Z", "2025-01-01T00:03:00Z", None]
    path = tmp_path / "events.csv"
    pl.DataFrame(data).write_csv(path)
    twice, once = load_events(path), load_events(path, keep_base=True)
    assert twice.base is None and once.base is not None
    assert (once.rows_read, once.rejected) == (twice.rows_read, twice.rejected)
    assert sum(once.rejected.values()) == (4 if with_timestamps else 2)  # the bad rows were counted
    want, got = encode_events(twice, salt=3), encode_events(once, salt=3)
    assert once.base is None  # taken by the encoder
    assert got.frame.equals(want.frame) and got.index.equals(want.index)
    assert got.dictionaries["ip"].sort("key").equals(want.dictionaries["ip"].sort("key"))
