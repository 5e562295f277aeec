"""Which campaign ties are specific (:func:`graphlink.stages.campaign_flags.substantial_campaigns`).

A value ties a campaign's clusters only when it is the campaign's own: at least half of its
holders in the whole log are the campaign's accounts. Holders in clusters flagged on their
own evidence elsewhere (``loud``) are set aside first: an operator split over several campaigns
holds its template in all of them, while a stock phrase ordinary people share stays theirs.
"""

from __future__ import annotations

import polars as pl

from graphlink.stages.campaign_flags import substantial_campaigns

# Campaign 1: clusters 1 and 2 (three accounts each). Campaign 2: cluster 3, flagged on its own
# evidence (ten accounts). Five template values held by campaign 1's six accounts.
CAMPAIGNS = pl.DataFrame({"cluster_id": [1, 2, 3], "campaign_id": [1, 1, 2]})
PARTITION = pl.DataFrame({"account_idx": list(range(16)), "cluster_id": [1] * 3 + [2] * 3 + [3] * 10},
                         schema={"account_idx": pl.UInt32, "cluster_id": pl.Int64})


def world(loud_holders: int, ordinary_holders: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Affiliations and signals: the five values held by campaign 1's six accounts, by
    ``loud_holders`` accounts of cluster 3 and by ``ordinary_holders`` unclustered accounts."""
    holders = list(range(6)) + list(range(6, 6 + loud_holders)) + list(range(16, 16 + ordinary_holders))
    aff = pl.DataFrame({"account_idx": [a for _ in range(5) for a in holders],
                        "signal_idx": [s for s in range(5) for _ in holders]},
                       schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32})
    sig = pl.DataFrame({"signal_idx": list(range(5)), "kind": ["prompt"] * 5, "linked": [True] * 5,
                        "df": [len(holders)] * 5}, schema_overrides={"signal_idx": pl.UInt32})
    return aff, sig


def substantial(loud_holders: int, ordinary_holders: int, loud: bool) -> bool:
    aff, sig = world(loud_holders, ordinary_holders)
    out = substantial_campaigns(CAMPAIGNS, PARTITION, aff, sig, loud=pl.Series([3]) if loud else None)
    return out.filter(pl.col("campaign_id") == 1)["substantial"].item()


def test_an_operators_template_held_by_its_flagged_cells_elsewhere_still_ties_its_campaign():
    # 6 of 16 holders are campaign 1's: not specific by itself; the other 10 are a flagged cluster's.
    assert not substantial(10, 0, loud=False)
    assert substantial(10, 0, loud=True)


def test_a_phrase_ordinary_people_share_stays_theirs_however_many_flagged_accounts_use_it():
    # 6 campaign holders, 10 flagged ones elsewhere, 8 ordinary people: the 8 outweigh the 6.
    assert not substantial(10, 8, loud=True)
    # ... while 5 ordinary people do not (6 of the 11 not explained by a flagged cluster).
    assert substantial(10, 5, loud=True)


def test_the_loud_set_does_not_change_a_campaign_that_is_specific_alone():
    for loud in (False, True):
        assert substantial(0, 0, loud=loud)
        assert not substantial(0, 7, loud=loud)
