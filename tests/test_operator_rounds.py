"""A flag spreads along a card moved between two tame cells of one operator (issue 17, session 21).

:func:`graphlink.stages.campaign_flags.operator_ties` finds the tame cells of a flagged operator
round by round. A cell found in one round is the operator's as much as the loud cluster: a card
it shares with another cell is the operator's reuse, and the operator's template -- held mostly
by the operator's clusters, the rest by its other tame cells spread over many campaigns --
corroborates a card that one member of such a cell also used. Before, only loud clusters could
lead a tie, so a 6-account cell paying with a card one member of a tied cell had used, and
writing the operator's template, stayed unflagged (dev world ind_s1_11000).

Hand-built input, one campaign per cluster: cluster 1 is loud (30 accounts) and writes the
template (5 prompt phrases); cluster 2 (4 accounts) pays with a card two loud accounts also use (a
reused card: tied in the first round); cluster 3 (4 accounts) writes the template and three of
its members pay with a card one member of cluster 2 also used; clusters 4-6 (4 accounts each)
write the template and nothing else; cluster 7 (4 ordinary users) pays with a card one member of
cluster 2 also used and writes a stock phrase held mostly by 300 unclustered accounts.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import operator_ties

SIZES = {1: 30, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 7: 4}
OUTSIDERS = 300


def world(cell3_template: int = 4, cell7_phrase_outsiders: int = OUTSIDERS, cell3_values: int = 5):
    """``campaign_of, partition, affiliations, signals`` of the input described above."""
    acc, start = {}, 0
    for cid, size in SIZES.items():
        acc[cid] = list(range(start, start + size))
        start += size
    outsiders = list(range(start, start + OUTSIDERS))
    holders: list[tuple[list[int], str]] = []
    template = acc[1] + acc[4] + acc[5] + acc[6]
    holders += [(template, "prompt")] * (5 - cell3_values)
    holders += [(template + acc[3][:cell3_template], "prompt")] * cell3_values
    holders.append((acc[2] + acc[1][:2], "payment"))            # reused card: cluster 2 tied in round 1
    holders.append((acc[3][:3] + acc[2][:1], "payment"))        # cluster 3's card, one member of 2 used it
    holders.append((acc[7][:3] + acc[2][1:2], "payment"))       # cluster 7's card, one member of 2 used it
    holders += [(acc[7] + acc[1][:5] + outsiders[:cell7_phrase_outsiders], "prompt")] * 5  # stock phrase
    rows = [(a, s, kind) for s, (members, kind) in enumerate(holders) for a in members]
    aff = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32, "kind": pl.String}, orient="row")
    signals = (aff.group_by("signal_idx").agg(pl.col("kind").first(), pl.len().cast(pl.UInt32).alias("df"))
               .with_columns(pl.lit(True).alias("linked")).sort("signal_idx"))
    partition = pl.DataFrame({"account_idx": [a for c in SIZES for a in acc[c]] + outsiders,
                              "cluster_id": [c for c in SIZES for _ in acc[c]] + [None] * OUTSIDERS},
                             schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    campaign_of = pl.DataFrame({"cluster_id": list(SIZES), "campaign_id": list(SIZES)}, schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64})
    return campaign_of, partition, aff.select("account_idx", "signal_idx"), signals


def tied(**kw) -> dict[int, int]:
    return dict(operator_ties(*world(**kw), pl.Series([1])).select("cluster_id", "lead").iter_rows())


def test_card_from_a_tied_cell_with_the_template_ties_and_names_the_loud_lead():
    assert tied() == {2: 1, 3: 1}


def test_the_template_of_one_member_backs_the_card():
    # the card is the cell's (3 of its members pay with it); that one of them writes the operator's
    # template is corroboration enough -- a cell's members split the template's wording between them
    assert tied(cell3_template=1) == {2: 1, 3: 1}


def test_a_few_shingles_are_no_template():
    # four of the template's values are what a stock sentence shares; the template needs MIN_TIE_VALUES (5)
    assert 3 not in tied(cell3_values=4)
    assert 3 in tied(cell3_values=5)


def test_the_card_alone_is_a_contact():
    # without the operator's template, one member of a tied cell using cluster 3's card is one contact
    assert tied(cell3_template=0) == {2: 1}


def test_a_stock_phrase_does_not_voice_a_contact():
    # cluster 7's phrase is held by 5 loud accounts and 300 outsiders: not the operator's
    assert 7 not in tied()
    # held mostly by the operator's accounts it would be (no outsiders): the share is what decides
    assert 7 in tied(cell7_phrase_outsiders=0)


def test_template_cells_without_a_card_stay_untied():
    # the template alone is no campaign's own (the operator's other cells hold it too): 4-6 stay tame
    assert not {4, 5, 6} & set(tied())
