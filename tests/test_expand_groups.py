"""expand: seeds tied to none of the others are set apart (issue 15, twelfth pass; new-user review of session 15:
two ring seeds and one stray account listed none of the ring)."""

from __future__ import annotations

import re

import polars as pl


def ring_and_households() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ring ``r`` (8 accounts, one card, a pool of 4 addresses) and ring ``q`` (6 accounts, its own card);
    households ``h`` and ``g`` (3 people each, one home address). 400 unlinked accounts fill the run.
    Returns ``links, linking, accounts``."""
    ring_r, ring_q = [f"r{i}" for i in range(8)], [f"q{i}" for i in range(6)]
    home_h, home_g = [f"h{i}" for i in range(3)], [f"g{i}" for i in range(3)]
    pairs = [(a, b, w) for grp, w in ((ring_r, 3.0), (ring_q, 3.0), (home_h, 1.0), (home_g, 1.0))
             for i, a in enumerate(grp) for b in grp[i + 1:]]
    links = pl.DataFrame(pairs, schema={"source": pl.String, "target": pl.String, "weight": pl.Float64}, orient="row")
    rows = [(a, "payment", "card-r", 8) for a in ring_r] + [(a, "ip", f"203.0.113.{i % 4}", 2) for i, a in enumerate(ring_r)]
    rows += [(a, "payment", "card-q", 6) for a in ring_q] + [(a, "ip", "198.51.100.9", 3) for a in home_h]
    rows += [(a, "ip", "192.0.2.7", 3) for a in home_g]
    rows += [(a, "user_agent", "Mozilla/5.0", 30) for a in ring_r[:2] + home_h[:1]]  # a popular client ties no one
    linking = pl.DataFrame(rows, schema={"account_id": pl.String, "kind": pl.String, "value": pl.String,
                                         "df": pl.UInt32}, orient="row").with_columns(weight=pl.lit(1.0))
    others = [f"o{i:03d}" for i in range(400)]
    ids = ring_r + ring_q + home_h + home_g + others
    cluster = [1] * 8 + [2] * 6 + [3] * 3 + [4] * 3 + [None] * 400
    accounts = pl.DataFrame({"account_id": ids, "cluster_id": cluster,
                             "campaign_id": [c if c is None else 10 + c for c in cluster]},
                            schema={"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64})
    return links, linking, accounts


def test_seeds_tied_by_a_card_link_or_campaign_form_one_group_a_stranger_its_own():
    from graphlink.stages.seed_groups import seed_groups

    links, linking, accounts = ring_and_households()
    assert seed_groups(["r0", "r5", "h0"], links, linking, accounts) == [["r0", "r5"], ["h0"]]
    assert seed_groups(["h0", "q1", "r0", "q2"], links, linking, accounts) == [["q1", "q2"], ["h0"], ["r0"]]
    # A shared popular client (30 of 420 accounts: over MAX_TIE_SHARE) ties no one; a shared campaign does.
    assert seed_groups(["r0", "h0"], links.clear(), linking, accounts) == [["r0"], ["h0"]]
    one_campaign = accounts.with_columns(pl.lit(7, pl.Int64).alias("campaign_id"))
    assert seed_groups(["r0", "h0"], links.clear(), linking, one_campaign) == [["r0", "h0"]]


def test_a_stray_seed_is_listed_not_expanded_and_the_ring_is_found():
    from graphlink.stages.expand import rank_accounts
    from graphlink.stages.seed_groups import LONE_SEED, rank_groups

    links, linking, accounts = ring_and_households()
    ranked = rank_groups(links, linking, accounts, ["r0", "r1", "h0"])
    seeds = ranked.filter(pl.col("rank") == 0)
    assert sorted(seeds["account_id"]) == ["h0", "r0", "r1"]
    assert seeds.filter(pl.col("account_id") == "h0")["why"].to_list() == [LONE_SEED]
    listed = ranked.filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"]) == [f"r{i}" for i in range(2, 8)]  # the ring, no household member
    assert listed["rank"].to_list() == list(range(1, 7))
    # All seeds tied: exactly rank_accounts.
    assert rank_groups(links, linking, accounts, ["r0", "r1"]).equals(rank_accounts(links, linking, accounts, ["r0", "r1"]))


def test_two_rings_in_one_ticket_are_each_expanded():
    from graphlink.stages.seed_groups import rank_groups

    links, linking, accounts = ring_and_households()
    ranked = rank_groups(links, linking, accounts, ["q0", "r0", "r1", "q1"])
    seeds = ranked.filter(pl.col("rank") == 0)
    notes = dict(zip(seeds["account_id"], seeds["why"]))
    # Groups of equal size come in the order their first seed was given: q's first.
    assert notes["q0"] == "seed, group 1 of 2, expanded on its own" and notes["r1"] == "seed, group 2 of 2, expanded on its own"
    listed = ranked.filter(pl.col("rank") > 0)["account_id"].to_list()
    assert sorted(listed[:4]) == [f"q{i}" for i in range(2, 6)] and sorted(listed[4:]) == [f"r{i}" for i in range(2, 8)]


def test_seeds_tied_to_no_one_are_ranked_together_as_before():
    from graphlink.stages.expand import rank_accounts
    from graphlink.stages.seed_groups import rank_groups

    links, linking, accounts = ring_and_households()
    seeds = ["r0", "q0", "h0"]  # three strangers: no group of two to set anyone apart from
    assert rank_groups(links, linking, accounts, seeds).equals(rank_accounts(links, linking, accounts, seeds))


def test_the_command_says_a_seed_was_set_apart_and_show_counts_listed_accounts(tmp_path):
    """The terminal summary names a seed tied to none of the others; ``--show N`` prints the seeds and then N
    listed accounts (a ticket of 30 seeds with --show 3 printed only seeds: new-user review of session 15)."""
    import graphlink
    from typer.testing import CliRunner

    from graphlink.cli import app

    ring = [f"ring{i}" for i in range(8)]
    people = [f"person{i:02d}" for i in range(40)]
    events = pl.DataFrame({
        "account_id": ring * 3 + people + ["home0", "home1", "home2"],
        "payment_fingerprint": ["card-ring"] * 24 + [f"card-{p}" for p in people] + ["card-h0", "card-h1", "card-h2"],
        "ip": [f"203.0.113.{i % 4 + 1}" for i in range(24)] + [f"10.0.{i}.1" for i in range(40)] + ["192.0.2.9"] * 3,
    })
    known = graphlink.detect(events, seed=1).save(tmp_path / "known")
    result = CliRunner().invoke(app, ["expand", str(known), "--seeds", "ring0,ring1,home0", "--show", "2"])
    assert result.exit_code == 0, result.output
    assert "1 seed set apart from the others, not expanded" in result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines[0][:2] == ["rank", "account"]
    assert [row[0] for row in lines[1:]] == ["0", "0", "0", "1", "2"]  # three seeds, then two listed
    assert {row[1] for row in lines[4:]} <= set(ring)


def test_seeds_of_two_cells_of_one_operator_are_ranked_per_cluster_when_together_they_lose_the_ring(fixture_outputs):
    """Two seeds of the bundled fixture's ring 3 and one of ring 4 (one operator: one campaign, shared proxy /24s).
    Together their clocks and clients listed none of ring 3 (new-user review of session 15: 2 of 40 such tickets
    found the ring); ranked per cluster, ring 3 is found and ring 4's seed is set apart, saying so."""
    from pathlib import Path

    import graphlink
    from graphlink.stages.seed_groups import OTHER_CELL_SEED

    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    labels = pl.read_parquet(fixtures / "labels.parquet")
    out = fixture_outputs  # graphlink.detect(fixtures/events.parquet, fixtures/accounts.parquet).save(...)
    seeds = ["acct_036d41357524c5c8", "acct_63681ca2119b99ef", "acct_12dc9097cf53f50c"]
    assert labels.filter(pl.col("account_id").is_in(seeds)).sort("account_id")["ring_id"].to_list() == [3, 4, 3]
    ring = set(labels.filter(pl.col("ring_id") == 3)["account_id"]) - set(seeds)
    ranked = graphlink.expand(out, seeds)
    listed = set(ranked.filter(pl.col("rank") > 0)["account_id"])
    assert len(listed & ring) >= 0.9 * len(ring) and len(listed & ring) >= 0.9 * len(listed)
    assert ranked.filter(pl.col("account_id") == seeds[2])["why"].to_list() == [OTHER_CELL_SEED]


def test_the_tables_say_how_many_rows_were_not_shown(tmp_path):
    """No 'N more not shown' line: 139 listed, 30 shown, no hint (new-user review of session 15)."""
    import graphlink
    from typer.testing import CliRunner

    from graphlink.cli import app

    fixtures = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures"
    known = graphlink.detect(fixtures / "events.parquet").save(tmp_path / "known")
    ring = pl.read_parquet(fixtures / "labels.parquet").filter(pl.col("ring_id") == 1)["account_id"].sort()
    result = CliRunner().invoke(app, ["expand", str(known), "--seeds", ",".join(ring.head(3)), "--show", "5"])
    assert result.exit_code == 0, result.output
    listed = int(result.output.split(" accounts tied to")[0].split()[-1].replace(",", ""))
    assert f"{listed - 5:,} more listed accounts not shown" in result.output
    matched = CliRunner().invoke(app, ["match", str(known), str(fixtures / "events.parquet"), "--out",
                                       str(tmp_path / "m"), "--show", "4"])
    assert matched.exit_code == 0, matched.output
    assert "more matched accounts not shown (--show N; matches.parquet in" in matched.output
    # --show 0 (session 31): nothing listed, so nothing is "more".
    none = CliRunner().invoke(app, ["expand", str(known), "--seeds", ",".join(ring.head(3)), "--show", "0"])
    assert f"\n{listed:,} listed accounts not shown" in none.output and "more listed" not in none.output
    matched = CliRunner().invoke(app, ["match", str(known), str(fixtures / "events.parquet"), "--out",
                                       str(tmp_path / "m0"), "--show", "0"])
    assert "Matched accounts" not in matched.output and " more matched" not in matched.output
    assert re.search(r"\n[\d,]+ matched accounts not shown \(--show N", matched.output)
