"""Break-it review of session 37 (helper brk37): the borrowed-size flag basis, "of how many" evidence counts and
the members' ``template_share`` / ``shared_behaviour``. Its findings on campaigns over account pairs went with that
change (branch ``camp37``, not merged; BENCHMARKS.md, thirty-seventh pass).

Fixed here (each test failed before its fix):

* ``template_share`` read 0.0 -- "none of its prompts carries a phrase another member holds (it writes its own
  questions)" -- for a member whose prompts *do* share phrases with other accounts but under
  ``prompt_min_templated`` of them, so the run kept no prompt phrase of it to compare with its cluster's. A ring
  account camouflaging most of its traffic sent its cell's template verbatim and read 0 (scenario pools seed 9080:
  cluster 4, 142 ring accounts, 22 read ``addresses only`` at 0.0 while sending the cell's "Act as a grader: ..."
  template in 12% of their prompts). It is now null (not known) there; 0 stays for a member none of whose sampled
  prompts shares a phrase with anyone.

Strict xfails (not fixed here):

* ``shared_behaviour`` of that same member still reads ``addresses only`` and weakest-tie-first lists it first, as it
  lists a bystander: the run keeps no phrase of it to say ``template``.
* A ring fragment's account sending its operator's template, held by the operator's other cells and by no other
  member of its own 2-account cluster, reads ``addresses only`` and ``template_share`` 0 like the bystander beside it
  (seed 9083 above: cluster 1044, flagged "own score, size of campaign 2", why "90% of prompts are templated", both
  members ``addresses only``). Over 30 fresh worlds (scenarios small seeds 9079-9082 and 1m 9090-9091, independent
  11,000-account seeds 9079-9087; output of int37, before the template_share fix), of flagged ring accounts 7% of those
  flagged with their campaign's size read ``addresses only`` (24 of 355), 1.1-1.7% of those flagged on their own
  evidence or inherited (465 of 42,492; 72 of 4,357); of flagged ordinary and team accounts 32 of 35.
* A stock phrase two members happen to hold counts as the cluster's template however many accounts of the log hold
  it: an ordinary person whose questions open "how do I get started with ..." (1,258 holders) read ``template`` at
  0.83 in a ring cluster whose ring members read 0.0 and 0.02 (seed 9082, cluster 714): the bystander looks more
  like the ring than the ring. 3 of the 35 flagged ordinary or team accounts in those worlds read a behaviour: this
  one, one at 0.025 and a framework team sending the framework's system prompt.

Also fixed: a ``--signal`` column called ``template``, ``card``, ``minutes`` or ``addresses only`` (none a built-in
kind, so allowed) was named as such in ``shared_behaviour``: a member sharing a template *id* read ``template`` (show:
``template 0%``) as if it sent the cluster's prompt template; it is now named by its kind name, ``template value``.
"""

from __future__ import annotations

import polars as pl
import pytest

from graphlink.stages.member_behaviour import ADDRESSES_ONLY, member_behaviour

U32 = pl.UInt32


# -- template_share of a member whose templated prompts gave no phrase -------------------------------------------------

def _camouflaged():
    """Accounts 0-2 send the cluster's template (phrase signals 1-5); account 3, also a member, shares phrases with
    other accounts in 3 of its 10 sampled prompts -- under prompt_min_templated, so it has no phrase signal -- and
    is tied by an IP (signal 0) only; account 4 writes its own questions (0 templated)."""
    held = [(a, 0) for a in range(5)] + [(a, v) for v in range(1, 6) for a in range(3)]
    m = pl.DataFrame({"account_idx": [a for a, _ in held], "signal_idx": [v for _, v in held],
                      "count": [1 if v == 0 else 5 for _, v in held]}, schema={"account_idx": U32, "signal_idx": U32, "count": U32})
    s = pl.DataFrame({"signal_idx": range(6), "kind": ["ip"] + ["prompt"] * 5}, schema_overrides={"signal_idx": U32})
    c = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "account_id": list("abcde"), "cluster_id": [1] * 5},
                     schema_overrides={"account_idx": U32})
    st = pl.DataFrame({"account_idx": [0, 1, 2, 3, 4], "prompts_sampled": [5, 5, 5, 10, 10],
                       "prompts_templated": [5, 5, 5, 3, 0]}, schema={"account_idx": U32, "prompts_sampled": U32,
                                                                       "prompts_templated": U32})
    return {r[0]: r[1:] for r in member_behaviour(m, s, c, st).rows()}


def test_template_share_is_not_zero_for_a_member_whose_shared_prompts_gave_no_phrase():
    # It shares phrases with other accounts in 3 of 10 prompts: whether they are its cluster's is not known.
    assert _camouflaged()["d"][0] is None


def test_template_share_stays_zero_for_a_member_that_shares_no_phrase_with_anyone():
    got = _camouflaged()
    assert got["e"] == (0.0, ADDRESSES_ONLY) and got["a"][0] == 1.0


@pytest.mark.xfail(strict=True, reason="shared_behaviour cannot see a template the run kept no phrase of "
                                       "(prompt_min_templated): the member reads 'addresses only' like a bystander")
def test_a_member_sharing_phrases_under_prompt_min_templated_is_not_addresses_only():
    assert _camouflaged()["d"][1] != ADDRESSES_ONLY


# -- a --signal column named like a behaviour word ---------------------------------------------------------------------

def _declared(kind: str, with_prompts: bool):
    """Members a, b share a declared identifier column named ``kind`` (signal 1) and an IP (signal 0); no phrase."""
    m = pl.DataFrame({"account_idx": [0, 1, 0, 1], "signal_idx": [0, 0, 1, 1], "count": [1] * 4},
                     schema={"account_idx": U32, "signal_idx": U32, "count": U32})
    s = pl.DataFrame({"signal_idx": [0, 1], "kind": ["ip", kind]}, schema_overrides={"signal_idx": U32})
    c = pl.DataFrame({"account_idx": [0, 1], "account_id": ["a", "b"], "cluster_id": [1, 1]},
                     schema_overrides={"account_idx": U32})
    st = (pl.DataFrame({"account_idx": [0, 1], "prompts_sampled": [10, 10], "prompts_templated": [0, 0]},
                       schema={"account_idx": U32, "prompts_sampled": U32, "prompts_templated": U32})
          if with_prompts else None)
    return member_behaviour(m, s, c, st)


@pytest.mark.parametrize("column", ["template", "card", "minutes", ADDRESSES_ONLY])  # burst: a built-in kind, refused
def test_a_declared_column_named_like_a_behaviour_word_is_not_read_as_that_behaviour(column):
    # A log's "template" (template id) or "card" column declared with --signal: no built-in kind's name, so allowed.
    # Named as such in shared_behaviour, a member sharing the template id read "template" -- as if it sent the
    # cluster's prompt template -- and show's shares "template 0%"; one named "addresses only" sorted ring members
    # sharing a device first, as bystanders.
    from graphlink.views.member_behaviour import behaviour_text

    for with_prompts in (False, True):
        frame = _declared(column, with_prompts)
        words = frame["shared_behaviour"].to_list()
        assert all(w.split(", ")[0] not in ("template", "card", "minutes", "burst", ADDRESSES_ONLY) for w in words), words
        assert all(not t.startswith("template ") or t.startswith("template value") for t in behaviour_text(frame)), \
            behaviour_text(frame).to_list()


def test_a_declared_column_with_another_name_keeps_its_name():
    assert _declared("device_id", True)["shared_behaviour"].to_list() == ["device_id"] * 2


# -- a ring fragment whose template's other holders are its operator's other cells --------------------------------------

@pytest.mark.xfail(strict=True, reason="shared_behaviour counts only holders in the member's own cluster: a fragment's "
                                       "ring account sending its operator's template (held by the operator's other "
                                       "cells) reads 'addresses only' and template_share 0 like the bystander beside it")
def test_a_fragments_ring_account_sending_its_operators_template_is_not_addresses_only():
    # Cluster 2 (accounts 0, 1) is a fragment flagged with its campaign's size: account 0 sends the operator's template
    # (phrases 1, 2), held by the 50 accounts of the operator's cell, cluster 1; account 1, a bystander, shares only
    # the exit address (signal 0) with it. Independent world seed 9083 (orgs, agent fleets): cluster 1044, 1 ring
    # account and 1 ordinary user, flagged "own score, size of campaign 2", why "90% of prompts are templated":
    # both members read template_share 0 and "addresses only".
    cell = list(range(2, 52))
    acc = [0, 1] + [0, 0] + cell + cell
    sig = [0, 0] + [1, 2] + [1] * 50 + [2] * 50
    m = pl.DataFrame({"account_idx": acc, "signal_idx": sig, "count": [4] * len(acc)},
                     schema={"account_idx": U32, "signal_idx": U32, "count": U32})
    s = pl.DataFrame({"signal_idx": [0, 1, 2], "kind": ["ip", "prompt", "prompt"]}, schema_overrides={"signal_idx": U32})
    c = pl.DataFrame({"account_idx": [0, 1, *cell], "account_id": ["ring", "person", *[f"cell{i}" for i in cell]],
                      "cluster_id": [2, 2] + [1] * 50}, schema_overrides={"account_idx": U32})
    st = pl.DataFrame({"account_idx": [0, 1, *cell], "prompts_sampled": [10] * 52, "prompts_templated": [9, 0] + [10] * 50},
                      schema={"account_idx": U32, "prompts_sampled": U32, "prompts_templated": U32})
    got = {r[0]: r[1:] for r in member_behaviour(m, s, c, st).rows()}
    assert got["person"] == (0.0, ADDRESSES_ONLY)
    assert got["ring"][1] != ADDRESSES_ONLY


# -- a stock phrase two members happen to share reads as the cluster's template ------------------------------------------

def test_a_stock_phrase_held_across_the_log_is_not_the_clusters_template():
    # Independent world seed 9082 (orgs, agent fleets), cluster 714, inherited "same operator as flagged cluster 5":
    # two ring accounts (the LangLoom fleet's system prompt, 2-3 prompts each) and an ordinary person whose questions
    # open "how do I get started with ..." -- a phrase 1,258 accounts of the log hold, one ring member among them.
    # The person read template_share 0.83 and "template"; the ring members 0.0 ("card") and 0.02.
    m = pl.DataFrame({"account_idx": [0, 1, 1], "signal_idx": [1, 1, 2], "count": [19, 1, 2]},
                     schema={"account_idx": U32, "signal_idx": U32, "count": U32})
    s = pl.DataFrame({"signal_idx": [1, 2], "kind": ["prompt", "prompt"], "df": [1258, 40]},
                     schema_overrides={"signal_idx": U32, "df": U32})
    c = pl.DataFrame({"account_idx": [0, 1, 2], "account_id": ["person", "ring1", "ring2"], "cluster_id": [7] * 3},
                     schema_overrides={"account_idx": U32})
    st = pl.DataFrame({"account_idx": [0, 1, 2], "prompts_sampled": [23, 3, 2], "prompts_templated": [19, 3, 2]},
                      schema={"account_idx": U32, "prompts_sampled": U32, "prompts_templated": U32})
    got = {r[0]: r[1:] for r in member_behaviour(m, s, c, st).rows()}
    assert got["person"][1] != "template" and got["person"][0] < 0.5
