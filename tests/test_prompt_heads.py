"""The prompt heads kept while encoding give the prompt sample the same text as reading the column again."""

import numpy as np
import polars as pl
import pytest

from graphlink.stages.encode import PromptHeads, encode_events
from graphlink.stages.ingest import load_events
from graphlink.stages.signals.prompt import hash_limits, head_text, sampled_prompts


def _log(tmp_path, repeated: bool):
    rng = np.random.default_rng(11)
    sizes = np.r_[rng.integers(1, 6, 200), rng.integers(150, 400, 30)]
    accounts = np.repeat([f"a{i}" for i in range(len(sizes))], sizes).astype(object)
    n = accounts.size
    prompts = [f"same job {i % 3}" if repeated else f"Prompt {i} about  THINGS ünïcode" for i in range(n)]
    prompts = [None if rng.random() < 0.05 else ("   " if rng.random() < 0.02 else p) for p in prompts]
    accounts[rng.random(n) < 0.03] = None  # rejected rows: the encoder's row mask is exercised
    order = rng.permutation(n)
    path = tmp_path / f"events_{repeated}.parquet"
    pl.DataFrame({"account_id": accounts[order].tolist(), "prompt": [prompts[i] for i in order]}).write_parquet(path)
    return path


@pytest.mark.parametrize("repeated", [False, True])
@pytest.mark.parametrize("max_prompts,max_total", [(5, None), (40, 2000), (40, 900)])
def test_kept_heads_give_the_sample_the_text_a_second_read_gives(tmp_path, repeated, max_prompts, max_total):
    path = _log(tmp_path, repeated)
    heads = PromptHeads(limits=lambda events: hash_limits(events, max_prompts, max_total), text=head_text(64))
    plain = encode_events(load_events(path), salt=7)
    kept = encode_events(load_events(path), salt=7, heads=heads)
    assert plain.prompt_heads is None
    assert kept.frame.equals(plain.frame)  # the same hashes, rows and columns
    limits = hash_limits(plain.index["events"], max_prompts, max_total)
    assert limits is not None  # the heavy accounts are cut
    # Exactly the prompts at or below their account's limit are kept, with the text a second read gives.
    below = plain.frame.filter(pl.col("prompt") <= pl.lit(pl.Series(limits)).gather(pl.col("account_idx")))
    want = plain.texts("prompt", below["prompt"].unique(), head_text(64)).sort("key")
    assert kept.prompt_heads.sort("key").equals(want)
    got = sampled_prompts(kept, max_prompts, max_total, 64, 3)
    ref = sampled_prompts(plain, max_prompts, max_total, 64, 3)
    assert got[0].equals(ref[0]) and got[1] == ref[1]
    assert got[2].sort("key").equals(ref[2].sort("key"))
    assert got[3].sort("key").equals(ref[3].sort("key"))


def test_a_sample_reaching_above_the_kept_heads_reads_the_rest_back(tmp_path):
    path = _log(tmp_path, False)
    # Keep no head at all: every sampled prompt is missing and read back.
    nothing = PromptHeads(limits=lambda events: np.zeros(events.len(), dtype=np.uint64), text=head_text(64))
    kept = encode_events(load_events(path), salt=7, heads=nothing)
    plain = encode_events(load_events(path), salt=7)
    got, ref = sampled_prompts(kept, 5, None, 64, 3), sampled_prompts(plain, 5, None, 64, 3)
    assert got[0].equals(ref[0]) and got[3].sort("key").equals(ref[3].sort("key"))
