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


def test_the_scenario_family_draws_operators_that_run_their_templates_words_together(tmp_path):
    # The measuring stick learns session 43's disguise (tx43 taught detection to read it): a quarter of operators drop
    # spaces between the letters of their templates at random, on a stream of its own.
    from graphlink.lab.simulate.scenarios import draw_params, write_scenario

    joins = [op["run_together"] for seed in range(40) for op in draw_params("templates", seed, "tiny")["operators"]]
    assert all(j == 0.0 or 0.1 <= j <= 0.9 for j in joins) and 0.1 < sum(j > 0 for j in joins) / len(joins) < 0.45
    seed = next(s for s in range(40) if any(op["run_together"] > 0.3 and op["lang"] == "en"
                                            for op in draw_params("templates", s, "tiny")["operators"]))
    write_scenario(tmp_path, "templates", seed, "tiny")
    events = pl.read_parquet(tmp_path / "events.parquet").join(pl.read_parquet(tmp_path / "labels.parquet"), on="account_id")
    run = pl.col("prompt").str.contains(r"[A-Za-z]{22,}")  # a token longer than any word of the templates
    share = events.group_by("campaign_id").agg(run.mean()).drop_nulls("campaign_id").sort("campaign_id")
    params = draw_params("templates", seed, "tiny")["operators"]
    checked = 0
    for campaign, mean in share.iter_rows():
        if params[campaign]["run_together"] == 0:
            assert mean < 0.02, (campaign, mean)
        elif params[campaign]["lang"] == "en" and params[campaign]["run_together"] > 0.3:
            assert mean > 0.3, (campaign, mean)
            checked += 1
    assert checked


def test_a_template_is_shown_in_its_spaced_spelling_when_some_copies_run_the_words_together():
    # nu43: a quarter of a ring's copies ran the template's words together; the template and its example were shown
    # in that spelling ("Youareameticulouscontractreviewer. Checkthisclause...") because the example was the shortest
    # copy with the most template phrases, and a run-together copy is shorter than the spaced ones.
    from graphlink.views.templates import reconstruct_templates

    spaced = "You are a meticulous contract reviewer. Check this clause for hidden risks: {}. List each risk with its severity."
    joined = "Youareameticulouscontractreviewer. Checkthisclauseforhiddenrisks: {}. Listeachriskwithitsseverity."
    fills = ["orange", "late payment", "termination notice", "indemnity cap", "governing law", "force majeure",
             "liability", "renewal", "audit rights", "exclusivity", "warranty", "assignment"]
    prompts = [(f"acct{i}", (joined if i % 4 == 0 else spaced).format(fill)) for i, fill in enumerate(fills)]
    found = reconstruct_templates((), prompts)
    assert found and "meticulous contract reviewer" in found[0].text() and "Youare" not in found[0].text()
    assert found[0].example and "You are a meticulous" in found[0].example
    assert found[0].accounts == len(fills)  # the run-together copies still follow the template


def test_a_templates_use_is_counted_against_the_accounts_sampled():
    # nu43: "followed by 13 sampled prompts of 11 accounts" in a 166-account cluster read as a fringe template; the
    # view samples the prompts of at most SAMPLE_ACCOUNTS members, so the count says of how many.
    from graphlink.views.templates import Template, cluster_templates, used_by

    assert used_by(Template(parts=[("x", False)], prompts=13, accounts=11, sampled=20)) == \
        "11 accounts of the 20 sampled (13 sampled prompts)"
    assert used_by(Template(parts=[("x", False)])) == "reconstructed from the shared phrases"
    template = "Reason through every step of the {} problem and check each intermediate calculation twice"
    prompts = pl.DataFrame({"account_id": [f"a{i % 5}" for i in range(15)] + ["own"],
                            "prompt": [template.format(f"topic{i}") for i in range(15)] + ["what is the weather like"]})
    found = cluster_templates(pl.DataFrame({"kind": [], "value": []}, schema={"kind": pl.String, "value": pl.String}),
                              prompts)
    assert found[0].accounts == 5 and found[0].sampled == 6


def test_shows_evidence_caption_counts_the_rows_it_prints(fixture_detected):
    # nu43: `show out 2` printed 30 rows (cards, activity, addresses, networks) under a caption claiming
    # "373 IP networks shared (10 listed), 50+ prompt phrases shared (30 listed)": 7 networks and no phrase printed.
    import re

    from typer.testing import CliRunner

    from graphlink.cli import app

    shown = CliRunner().invoke(app, ["show", str(fixture_detected), "2", "--members", "0", "--evidence", "12"],
                               env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("# Shared evidence"))
    caption, rows = lines[at], [line.split("\t") for line in lines[at + 2:at + 2 + 12]]
    assert "(12 of " in caption
    printed = {}
    for row in rows:
        printed[row[0]] = printed.get(row[0], 0) + 1
    claims = re.findall(r"[\d,+]+ ([a-zA-Z ]+?) shared \((\d+) listed\)", caption)
    assert claims  # the fixture's cluster 2 shares more than 12 values
    assert sum(int(n) for _, n in claims) <= 12
