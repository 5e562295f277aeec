"""expand: listed accounts that send none of the seeds' prompt templates leave the list (templates.parquet)."""

from __future__ import annotations

import polars as pl

from graphlink.contract import TEMPLATES_SCHEMA


def two_operators_on_one_pool() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cell ``z`` (operator A) and cell ``o`` (operator B), 6 accounts each, one clique on a shared pool.

    Leiden merged them (cluster 1); no value but the pool's addresses ties anyone, so links, values and
    clocks cannot tell them apart. A's accounts write from A's template, B's from B's; both also write
    a stock phrase most of the run sends. 300 unlinked accounts fill the run. Returns
    ``links, linking, accounts, templates``.
    """
    cell_z, cell_o = [f"z{i}" for i in range(6)], [f"o{i}" for i in range(6)]
    block = cell_z + cell_o
    pairs = [(a, b) for i, a in enumerate(block) for b in block[i + 1:]]
    links = pl.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs],
                          "weight": [1.0] * len(pairs)})
    rows = [(a, "ip", f"198.51.100.{i}", 40, 0.2) for a in block for i in range(10)]
    linking = pl.DataFrame(rows, schema={"account_id": pl.String, "kind": pl.String, "value": pl.String,
                                         "df": pl.UInt32, "weight": pl.Float64}, orient="row")
    ids = block + [f"other{i:03d}" for i in range(300)]
    accounts = pl.DataFrame({"account_id": ids, "cluster_id": [1] * 12 + [None] * 300,
                             "campaign_id": [7] * 12 + [None] * 300},
                            schema={"account_id": pl.String, "cluster_id": pl.Int64, "campaign_id": pl.Int64})
    a_template = ["solve the item step", "the item step by", "item step by step"]
    b_template = ["translate the passage into", "the passage into french"]
    rows = [(a, 1, s, 6) for a in cell_z for s in a_template] + [(a, 1, s, 6) for a in cell_o for s in b_template]
    rows += [(a, 1, "please answer the question", 250) for a in block]
    templates = pl.DataFrame(rows, schema=dict(TEMPLATES_SCHEMA), orient="row").sort("account_id", "shingle")
    return links, linking, accounts, templates


def test_listed_accounts_without_the_seeds_templates_leave_the_list():
    from graphlink.stages.expand import rank_accounts

    links, linking, accounts, templates = two_operators_on_one_pool()
    seeds = ["z0", "z1", "z2"]
    # Without templates the list is the merged block: nothing else separates the cells.
    blind = rank_accounts(links, linking, accounts, seeds).filter(pl.col("rank") > 0)
    assert set(blind["account_id"]) == {"z3", "z4", "z5", "o0", "o1", "o2", "o3", "o4", "o5"}
    listed = rank_accounts(links, linking, accounts, seeds, templates=templates).filter(pl.col("rank") > 0)
    assert sorted(listed["account_id"].to_list()) == ["z3", "z4", "z5"]
    assert listed["score"].is_sorted(descending=True)


def test_seeds_without_templates_of_their_own_are_not_tested():
    from graphlink.stages.seed_templates import apply_templates, seed_templates

    _, _, accounts, templates = two_operators_on_one_pool()
    seeds = ["z0", "z1", "z2"]
    order = pl.DataFrame({"account_id": seeds + ["o0", "z3", "other001"]})
    # The stock phrase alone (a quarter of the run sends it) is no operator's template.
    stock = templates.filter(pl.col("df") > 100)
    assert seed_templates(stock, seeds, accounts.height) is None
    assert apply_templates(order, 6, stock, seeds, accounts.height) == (order, 6)
    # Seeds whose shingles are mostly that common phrase (one own shingle against two stock ones) keep none.
    mostly = pl.concat([stock, stock.with_columns(pl.lit("answer the question below").alias("shingle")),
                        templates.filter(pl.col("shingle") == "item step by step")]).sort("account_id", "shingle")
    assert seed_templates(mostly, seeds, accounts.height) is None
    # One seed with no shingle shared with another seed: no test either.
    alone = templates.filter(~((pl.col("account_id") == "z2") & (pl.col("df") < 100))).with_columns(
        pl.when(pl.col("account_id") == "z2").then(pl.lit("a phrase of its own")).otherwise("shingle").alias("shingle"),
        pl.when(pl.col("account_id") == "z2").then(pl.lit(1, pl.UInt32)).otherwise("df").alias("df"))
    assert seed_templates(alone, seeds, accounts.height) is None
    # With the seeds' template: o0 leaves, z3 stays, and an account without rows is not judged.
    out, keep = apply_templates(order, 6, templates, seeds, accounts.height)
    assert out["account_id"].to_list()[:keep] == seeds + ["z3", "other001"] and keep == 5


def test_an_account_on_the_seeds_card_stays_whatever_template_it_writes():
    """An operator writes from several templates: a listed account paying with a seed's card is the
    seeds' own even when it sends none of their shingles; one sharing only the seeds' proxy address
    (a public kind) still leaves (break-it review: a ring of two templates on one card pool)."""
    from graphlink.stages.seed_templates import apply_templates

    seeds = ["s1", "s2", "s3"]
    rows = ([(s, 1, "solve this maths problem step", 3) for s in seeds]
            + [("c1", 1, "write the code for this", 3), ("p1", 1, "write the code for this", 3)])
    templates = pl.DataFrame(rows, schema=["account_id", "cluster_id", "shingle", "df"], orient="row")
    linking = pl.DataFrame({"account_id": ["s1", "s2", "s3", "c1", "p1", "s1", "p1"],
                            "kind": ["payment"] * 4 + ["payment", "ip", "ip"],
                            "value": ["card-A", "card-A", "card-B", "card-B", "card-Z", "10.0.0.1", "10.0.0.1"]})
    order = pl.DataFrame({"account_id": seeds + ["c1", "p1"]})
    out, keep = apply_templates(order, 5, templates, seeds, 1000, linking=linking)
    assert out["account_id"].to_list()[:keep] == seeds + ["c1"]
    out, keep = apply_templates(order, 5, templates, seeds, 1000)
    assert out["account_id"].to_list()[:keep] == seeds
