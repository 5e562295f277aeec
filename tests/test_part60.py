"""Session 60, part60: cell pieces -- an unflagged piece of a flagged cell judged with its cell (opt-in).

Each case is a hand-built judged partition: a flagged cell (cluster 1) on its own exits, and a small unflagged
cluster (cluster 2) Leiden cut from it, or a household / office beside it. The right answer is written beside each.
"""

from __future__ import annotations

import polars as pl

from graphlink.config import PipelineConfig, ScoringConfig, build_config
from graphlink.stages.cell_pieces import cell_pieces, piece_ties

# Cell (cluster 1): accounts 0-5; exits 10, 11, 12 and card 20 are its own.
CELL = list(range(6))


def judged(piece: list[int], extra: dict[int, int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clusters (1 flagged, 2 not; 3 = another unflagged cluster when ``extra`` names its members) and the partition."""
    extra = extra or {}
    rows = [(a, 1) for a in CELL] + [(a, 2) for a in piece] + list(extra.items())
    part = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64}, orient="row")
    ids = sorted({c for _, c in rows})
    clusters = pl.DataFrame({"cluster_id": ids, "flagged": [c == 1 for c in ids], "why": [f"cluster {c}" for c in ids],
                             "campaign_id": [10 * c for c in ids]})
    return clusters, part


def affiliations(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")


def signals(kinds: dict[int, str], aff: pl.DataFrame, unclustered: dict[int, int] | None = None) -> pl.DataFrame:
    """``df`` = holders in the affiliations plus ``unclustered`` holders the log has beside them."""
    unclustered = unclustered or {}
    df = aff.group_by("signal_idx").agg(pl.len().alias("df"))
    return (pl.DataFrame({"signal_idx": list(kinds), "kind": list(kinds.values())}, schema={"signal_idx": pl.UInt32, "kind": pl.String})
            .join(df, on="signal_idx", how="left").with_columns(
                (pl.col("df").fill_null(0) + pl.col("signal_idx").replace_strict(unclustered, default=0)).cast(pl.Int64).alias("df")))


CELL_VALUES = [(a, 10) for a in (0, 1, 2)] + [(a, 11) for a in (2, 3, 4)] + [(a, 12) for a in (3, 4, 5)] + [(a, 20) for a in CELL]
KINDS = {10: "ip", 11: "ip", 12: "ip", 20: "payment", 30: "ip", 40: "ip_net"}


def test_piece_on_two_of_its_cells_exits_is_flagged_with_the_cell():
    # Piece 6, 7, 8: 6 and 7 exit through 10, 8 through 11 -- two of the cell's exits, every member on one.
    clusters, part = judged([6, 7, 8])
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 10), (8, 11)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    row = out.filter(pl.col("cluster_id") == 2).row(0, named=True)
    assert row["flagged"] is True
    assert row["campaign_id"] == 10  # the cell's campaign
    assert row["why"].startswith("a piece of flagged cluster 1 (campaign 10): each of its 3 members holds one of 2 addresses")
    assert out.filter(pl.col("cluster_id") == 1).row(0, named=True)["why"] == "cluster 1"  # the cell untouched
    assert piece_ties(clusters, part, aff, signals(KINDS, aff)).rows() == [(2, 1, 2)]


def test_household_on_one_ring_exit_is_not_flagged():
    # A couple (6, 7) at home on address 30; two ring accounts' residential proxy exits through it once each.
    clusters, part = judged([6, 7])
    aff = affiliations(CELL_VALUES + [(6, 30), (7, 30), (0, 30), (1, 30)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]  # one value: a coincidence
    assert out.equals(clusters)


def test_exits_people_hold_too_tie_nothing():
    # The piece's two exits are a carrier's: beside the cell's holders, 5 unclustered people use each.
    clusters, part = judged([6, 7])
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 11)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff, unclustered={10: 5, 11: 5}))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]


def test_exits_another_unflagged_cluster_holds_tie_nothing():
    # An office (cluster 3: 9, 10, 11, 12) sits on exits 10 and 11 as much as the cell: under 80 % of the others flagged.
    clusters, part = judged([6, 7], extra={9: 3, 10: 3, 11: 3, 12: 3})
    office = [(a, v) for a in (9, 10, 11, 12) for v in (10, 11)]
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 11)] + office)
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    assert out["flagged"].to_list() == [True, False, False]


def test_a_member_on_none_of_the_cells_values_keeps_the_piece_unflagged():
    # 6 and 7 on the cell's exits, 8 only on its own address: 8 is not shown to be the cell's, so the piece stays.
    clusters, part = judged([6, 7, 8])
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 11), (8, 30), (6, 30)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]


def test_an_address_block_is_a_neighbourhood_not_a_tie():
    # The piece shares one exit (10) and the cell's /24 (40): the block does not count, one value is left.
    clusters, part = judged([6, 7])
    aff = affiliations(CELL_VALUES + [(a, 40) for a in CELL] + [(6, 10), (7, 40), (6, 40)] + [(7, 10)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]


def test_a_card_and_an_exit_of_the_cell_tie():
    # 6 pays with the cell's card 20, 7 exits through 12: a card and an address, two values.
    clusters, part = judged([6, 7])
    aff = affiliations(CELL_VALUES + [(6, 20), (7, 12)])
    out = cell_pieces(clusters, part, aff, signals(KINDS, aff))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [True]


def test_one_other_holder_is_a_contact():
    # Exits 30 and 31 are held by the piece and one cell account each: one other holder is a contact, not reuse.
    clusters, part = judged([6, 7])
    aff = affiliations(CELL_VALUES + [(6, 30), (0, 30), (7, 31), (1, 31)])
    out = cell_pieces(clusters, part, aff, signals({**KINDS, 31: "ip"}, aff))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]


def test_no_flagged_cluster_changes_nothing():
    clusters, part = judged([6, 7])
    clusters = clusters.with_columns(pl.lit(False).alias("flagged"))
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 11)])
    assert cell_pieces(clusters, part, aff, signals(KINDS, aff)).equals(clusters)


def test_switch_is_opt_in_and_read_from_toml(tmp_path):
    assert ScoringConfig().cell_pieces is False
    assert PipelineConfig().scoring.cell_pieces is False
    toml = tmp_path / "graphlink.toml"
    toml.write_text("[scoring]\ncell_pieces = true\n")
    assert build_config(toml=toml).scoring.cell_pieces is True


def test_a_piece_whose_member_the_cell_would_set_apart_is_not_flagged():
    # The bystander test sees the piece inside its cell (cluster 1) and sets member 7 apart: the piece stays unflagged;
    # setting apart nobody, it is flagged.
    clusters, part = judged([6, 7, 8])
    aff = affiliations(CELL_VALUES + [(6, 10), (7, 10), (8, 11)])
    seen = []

    def bystander_7(merged: pl.DataFrame) -> pl.DataFrame:
        seen.append(merged.sort("account_idx").rows())
        return merged.filter(pl.col("account_idx") == 7).select("account_idx")

    out = cell_pieces(clusters, part, aff, signals(KINDS, aff), bystander_7)
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]
    assert seen == [[(a, 1) for a in range(9)]]  # the piece's accounts 6-8 placed in the lead, cluster 1
    kept = cell_pieces(clusters, part, aff, signals(KINDS, aff), lambda merged: merged.head(0).select("account_idx"))
    assert kept.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [True]


def test_a_person_paired_with_one_ring_account_sends_with_another_client():
    # Piece 6 (the ring's HTTP library, 50) + 7 (a phone's browser, 51), both on the cell's exits: two tooling, refused.
    # With 7 on the ring's library too, the piece is the cell's.
    clients = {**KINDS, 50: "user_agent", 51: "user_agent"}
    clusters, part = judged([6, 7])
    cell_client = [(a, 50) for a in CELL]
    person = affiliations(CELL_VALUES + cell_client + [(6, 10), (7, 11), (6, 50), (7, 51)])
    out = cell_pieces(clusters, part, person, signals(clients, person))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [False]
    scripted = affiliations(CELL_VALUES + cell_client + [(6, 10), (7, 11), (6, 50), (7, 50)])
    out = cell_pieces(clusters, part, scripted, signals(clients, scripted))
    assert out.filter(pl.col("cluster_id") == 2)["flagged"].to_list() == [True]
