"""Session 43: small fixes found in session 42's notes."""

import polars as pl

from graphlink.views.terminal import cluster_rows


def test_top_clusters_break_ties_by_cluster_id():
    # Three flagged clusters tied on score and size: detect's table and its "next:" hint (which takes the table's
    # first row) must name the same cluster on every run, so ties fall to the smallest cluster id.
    clusters = pl.DataFrame({"cluster_id": [5, 3, 9, 1], "size": [4, 4, 4, 10], "score": [1.0, 1.0, 1.0, 0.5],
                             "flagged": [True, True, True, False], "campaign_id": [1, 2, 3, 4],
                             "kinds": [["ip"]] * 4, "why": [""] * 4})
    assert [row[0] for row in cluster_rows(clusters, 4)] == [3, 5, 9, 1]
    assert [row[0] for row in cluster_rows(clusters.reverse(), 2)] == [3, 5]


def test_the_template_view_reads_words_run_together_as_detection_does():
    # tx43 taught detection to cut a run of words ("reasonthrougheverystep") into the words the texts write alone;
    # the template view keys words as detection compares them, so a copy written as runs must key as the spaced copies.
    from graphlink.views.tokens import keyed_tokens

    spaced = "Reason through every step and check each intermediate calculation."
    texts = [spaced] * 3 + ["Reasonthrougheverystep and checkeachintermediatecalculation."]
    words = [[w for w, _, _ in t] for t in keyed_tokens(texts)]
    assert words[3] == words[0] == ["reason", "through", "every", "step", "and", "check", "each", "intermediate",
                                    "calculation"]
