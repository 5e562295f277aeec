"""Match by templates: the prompts of a new log's accounts *in doubt*, against the templates known clusters send.

Issue 15's fourth kind of value a cluster is known by. An operator writes its accounts' prompts from a
few templates of its own; an account of the new log that sends them (shingles held mostly by one
known campaign's accounts, rare in the earlier run and rarely sent there by accounts in no cluster,
in runs the campaign's template does not go on past) and also holds a value of the campaign's
(an address of its pool, its site network) is the campaign's, where the value alone would not do:

* a rotating-IPv6 ring: new addresses, unseen cards; the only concentrated value is the cell's /48,
  never enough alone (a hosting provider's other customer on the ring's /48 must not be matched;
  it does not send the operator's templates);
* one address of a ring's pool: an ordinary newcomer once through a residential proxy exit is not
  the ring's, a ring newcomer writing the ring's templates through it is.

A template never matches alone (a jailbreak prompt is copied across the internet): it only
corroborates a value of the same campaign that :func:`graphlink.stages.match.match_accounts` found.

Cost: prompts are the costly part of detection (shingling, MinHash), and ``match`` must stay a small
share of ``detect``'s time, so only the accounts in doubt are read and shingled -- those whose
best values fall short of a match alone (one address, a site network), a few per cent of a log --
exactly as detect shingles them (:func:`graphlink.stages.signals.normalise.normalise_prompt`,
word ``ngram``-grams of the first ``max_words_per_prompt`` words, or, for a long prompt opening with a head other
long prompts read share, past that head with detect's own function
(:func:`graphlink.stages.signals.shared_heads.read_past_shared_heads`: a template wrapped in a framework's system
prompt is read; the head is judged among the prompts match reads, the accounts in doubt's), at most
``max_prompts_per_account`` distinct prompts per account, those with the smallest hash of the text:
detect's sample of an account sending more may differ). The known shingles (``templates.parquet``, quoted
as written) are normalised the same way before comparing. On the 1m dev worlds: 200-250 accounts in doubt
of ~40,000, 0.15-0.2 s a run (BENCHMARKS.md, "match, session 16", "templates for accounts in doubt").
"""

from __future__ import annotations

from typing import Callable

import polars as pl

from graphlink.config import SignalConfig
from graphlink.stages.seed_templates import MAX_TEMPLATE_SHARE
from graphlink.stages.signals.camel import MARK, read_camel
from graphlink.stages.signals.normalise import ascii_lower, ascii_words, is_ascii, normalise_prompt
from graphlink.stages.signals.prompt import head_text
from graphlink.stages.signals.shared_heads import read_past_shared_heads, spans_cut

__all__ = ["MAX_PUBLIC_SHARE", "MIN_TEMPLATE_SHINGLES", "RUN_GAP", "TEMPLATE_GOES_ON", "TEMPLATE_WEIGHT", "head_context", "known_templates", "known_words", "prompt_shingles", "template_hits",
           "in_doubt", "with_templates", "doubt_reader", "sent_and_neighbours"]

#: An account sends a campaign's templates when at least this many distinct counted shingles of the
#: campaign's are in its prompts: one 5-word phrase can be met by chance or quoted; a template of
#: a dozen words or more gives 8 or more shingles, so two is still one template sent, not a fragment.
#: Not tuned (the 1m and small dev figures were measured with 2).
MIN_TEMPLATE_SHINGLES = 2
#: Evidence of a campaign's templates sent (times their best concentration): an address's weight. Only
#: shingles concentrated in the campaign (a majority of their earlier holders) and rare in the run
#: (at most :data:`~graphlink.stages.seed_templates.MAX_TEMPLATE_SHARE` of its accounts) count, which
#: makes them as specific as one address of the ring's pool (the graph's prompt weight, 0.3, is for
#: any shared shingle); and like one address they never match alone. Not tuned: 1.0 lets a site network
#: (0.5) with the campaign's templates reach ``min_evidence`` (1.0), as the rotating-IPv6 rings need.
TEMPLATE_WEIGHT = 1.0
#: A shingle is a campaign's own only when ordinary people rarely send it: at most this share of its earlier
#: holders were accounts detect put in no cluster (ordinary people, and the few ring accounts it missed).
#: A public agent framework's fixed prompt or a stock chain-of-thought phrase is sent by people in any
#: number beside a ring that uses it, and would corroborate a proxy exit for anyone using it; an operator's
#: template by its fleet, in whatever clusters and campaigns (operators sharing a template family: the
#: concentration tells which campaign), and by the fleet's accounts detect missed: on the dev worlds at
#: most 2.7 % of its holders (small 1000, 27 of 1,016), at 1m 0-0.5 %. The tenth is
#: :data:`~graphlink.stages.seed_templates.MAX_TEMPLATE_SHARE`'s, the run's share a template may reach
#: (BENCHMARKS.md, "match, session 17": the rate among the unclustered accounts, 1 in 1,000, lost 25
#: newcomers of small dev 1000 whose template 27 missed ring accounts sent).
MAX_PUBLIC_SHARE = MAX_TEMPLATE_SHARE
#: A prompt's run of a campaign's shingles is a fragment of its template, not the template sent, when the
#: campaign's template goes on past an end of the run: a shingle continuing it is held by at least this
#: share as many of the campaign's accounts as the run's end (a majority's rule, as ``min_concentration``).
#: Where a template is fixed, all who send it go on alike; where its fill-ins begin, each continuation
#: is a few accounts' (the first words of a problem vary). A stock chain-of-thought phrase a template opens
#: with, written before one's own words, stops where the campaign's template goes on.
TEMPLATE_GOES_ON = 0.5


#: A prompt's shingles of a campaign's template make one run while each is within this many shingle lengths of the
#: one before: a typo or a word swapped breaks the ``ngram`` shingles holding it, and the template resumes right
#: after; two lengths allow up to a shingle's length of words changed (break-it review 17: one word changed split
#: the run and each piece counted as a fragment of the template, 0 of 10 ring newcomers matched). Not tuned.
RUN_GAP = 2


def known_templates(templates: pl.DataFrame | pl.LazyFrame, campaigns: pl.DataFrame, n_accounts: int,
                    min_concentration: float, max_share: float = MAX_TEMPLATE_SHARE,
                    sent: pl.DataFrame | None = None, ordinary: bool = True,
                    max_public: float = MAX_PUBLIC_SHARE) -> pl.DataFrame:
    """``cluster_id, value, members, df, concentration``: the templates each known cluster (campaign) is known by.

    ``templates`` is ``templates.parquet`` (``account_id, cluster_id, shingle, df``); shingles are
    normalised (:func:`normalise_prompt`) and kept when at most ``max_share`` of the run's
    ``n_accounts`` sent them (not a stock phrase), when at most ``max_public`` of their holders were in no
    cluster (ordinary people: ``df`` less the clustered holders, ``templates.parquet``'s rows; a clustered
    holder whose row fell beyond the file's shingles per account counts as ordinary, which errs towards
    public; ``ordinary=False``: not judged), and concentrated in a cluster or campaign as
    :func:`graphlink.stages.match.cluster_values` concentrates any value (``min_concentration``).
    ``sent`` (``value``), when given, keeps only those shingles (the ones the accounts in doubt sent:
    every earlier holder of each is still counted, so the concentration is the same).
    """
    from graphlink.stages.match import cluster_values  # match imports this module

    rows = templates.lazy().filter(pl.col("df") <= max_share * n_accounts)
    spelled = words_of(rows.select("shingle").unique().collect(), "shingle", camel=False)
    if sent is not None:
        # ... and their neighbours (a shingle going on from one sent, or leading into it): does the template go on?
        hit = spelled.filter(pl.col("value").is_in(sent["value"].implode()))["value"]
        spelled = spelled.filter(pl.col("value").is_in(hit.implode())
                                 | head_words(pl.col("value")).is_in(tail_words(hit).implode())
                                 | tail_words(pl.col("value")).is_in(head_words(hit).implode()))
        rows = rows.filter(pl.col("shingle").is_in(spelled["shingle"].implode()))
    # One row per account and shingle (templates.parquet), one shingle per normalised value (both are the shingle's
    # hash's): counted per cluster before anything is joined.
    rows = rows.group_by("cluster_id", "shingle", "df").agg(pl.len().alias("members")).collect()
    if ordinary:
        # Ordinary people of the earlier run sent it too (a public framework's prompt, a stock opening): not the
        # campaign's own, however much the campaign sends it. Clustered holders are counted over every cluster
        # (``sent`` keeps or drops a shingle's rows together).
        people = pl.col("df").cast(pl.Int64) - pl.col("members").sum().over("shingle").cast(pl.Int64)
        rows = rows.filter(people <= max_public * pl.col("df"))
    rows = rows.join(spelled, on="shingle").select("cluster_id", pl.lit("template").alias("kind"), "value", "df", "members")
    return cluster_values(rows, min_concentration, campaigns=campaigns).select(
        "cluster_id", "value", "members", "df", "concentration")


def known_words(templates: pl.DataFrame | pl.LazyFrame, n_accounts: int, index: pl.DataFrame | None = None,
                max_share: float = MAX_TEMPLATE_SHARE) -> pl.Series:
    """``word``: the distinct shingles :func:`known_templates` reads (``index``, detect's ``match_templates.parquet``,
    when given: its ``value``), as detect read them (phrases of words): the vocabulary a new log's
    CamelCase is read against besides its own prompts (:func:`prompt_shingles`). A newcomer flipping its letters'
    case writes no word whole, where detect's sample wrote them whole or flipped at other places (break-it review,
    session 42: 10 newcomers writing "bY" and "oF" in every copy of a known ring's template were matched 0 of 10).
    """
    if index is not None:
        values = index.select(pl.col("value").cast(pl.String))
    else:
        shingles = templates.lazy().filter(pl.col("df") <= max_share * n_accounts).select("shingle").unique().collect()
        values = words_of(shingles, "shingle", camel=False).select("value")
    # (whole shingles: their words, and the phrases a newcomer may run together -- runs.read_short_runs)
    return values.select(pl.col("value").unique().sort().alias("word"))["word"]


def head_words(shingle: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """A normalised shingle without its last word (the words a shingle going on from it begins with)."""
    return shingle.str.replace(r" [^ ]*$", "")


def tail_words(shingle: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
    """A normalised shingle without its first word (the words a shingle going on from it ends with)."""
    return shingle.str.replace(r"^[^ ]* ", "")


def words_of(frame: pl.DataFrame, column: str, camel: bool = True, vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``frame`` with ``value``, ``column`` normalised (:func:`normalise_prompt`; ``camel``: CamelCase read against
    the frame's own words and ``vocabulary``, :func:`graphlink.stages.signals.camel.read_camel`, as detect reads its
    sample; else split at every boundary, as detect's quotes of a shingle normalise to its words), rows reordered.

    ASCII texts need none of the Unicode steps (as in detect's sampler): the same words, 10x faster.
    """
    plain, mark = is_ascii(pl.col(column)), MARK if camel else " "
    words = pl.concat([frame.filter(plain).with_columns(ascii_words(ascii_lower(pl.col(column), mark)).alias("value")),
                       frame.filter(~plain).with_columns(normalise_prompt(pl.col(column), mark).alias("value"))])
    return read_camel(words, "value", vocabulary) if camel else words


def prompt_shingles(prompts: pl.DataFrame, ngram: int, max_words: int, max_prompts: int,
                    context: pl.DataFrame | None = None, vocabulary: pl.Series | None = None) -> pl.DataFrame:
    """``account_id, text, pos, value``: the normalised word ``ngram``-grams of each account's prompts (repeats kept).

    At most ``max_prompts`` distinct prompts per account (the smallest hashes, as detect samples),
    each read as detect reads it: its first ``max_words`` words, or past a head the long prompts read share
    (:func:`graphlink.stages.signals.shared_heads.read_past_shared_heads`; ``context``: other accounts' prompts,
    ``account_id, prompt``, that only help judge the heads, as the rest of the log does in detect); ``text``
    numbers the prompts, ``pos`` the shingles (the next shingle of a prompt is at ``pos + 1``; never so across prompts).
    CamelCase is read against the prompts' words and ``vocabulary`` (:func:`known_words`: detect read its whole
    sample's, and a few accounts' prompts alone may write no word whole).

    Examples
    --------
    >>> p = pl.DataFrame({"account_id": ["a", "a"], "prompt": ["Think STEP by step", "hi"]})
    >>> sorted(prompt_shingles(p, 3, 64, 10)["value"])
    ['step by step', 'think step by']
    """
    own = prompts.select("account_id", "prompt", pl.lit(True).alias("own"))
    if context is not None and context.height:
        own = pl.concat([own, context.select("account_id", pl.col("prompt").cast(pl.String), pl.lit(False).alias("own"))])
    sample = (own.drop_nulls("prompt").unique(["account_id", "prompt"])
              .with_columns(pl.col("prompt").hash(0).alias("h")).sort("account_id", "h")
              .group_by("account_id", maintain_order=True).head(max_prompts)
              .select("account_id", "own", head_text(max_words).alias("prompt")))
    texts = words_of(sample, "prompt", vocabulary=vocabulary).select("account_id", "own", pl.col("value").str.strip_chars(" ").alias("norm"))
    # The words detect reads of each text: a long prompt opening with a head other accounts' long prompts share
    # is read past it, with detect's function (graphlink.stages.signals.shared_heads).
    texts = texts.with_columns(pl.col("norm").hash(0).alias("text_hash"))
    read = read_past_shared_heads(texts.select("text_hash", "norm").unique("text_hash"),
                                  texts.select(pl.col("account_id").alias("account_idx"), "text_hash"), max_words)
    texts = (texts.filter("own").drop("norm", "own").with_row_index("text")
             .join(read.select("text_hash", "norm"), on="text_hash").sort("text"))
    # Words in order, each text's run contiguous: a shift reads the next words of the same text (as shingle_texts).
    words = (texts.select("text", "account_id", pl.col("norm").str.split(" ").list.head(max_words)
                          .alias("word")).explode("word").drop_nulls("word").with_row_index("pos")
             .with_columns(pl.col("pos") + pl.col("text")))  # a gap between prompts, whatever ``ngram``
    gram = pl.concat_str([pl.col("word").shift(-i) for i in range(ngram)], separator=" ")
    within = (pl.col("text").shift(-(ngram - 1)) == pl.col("text")) & ~spans_cut("word", ngram)  # none across the cut
    grams = (words.with_columns(gram.alias("value"), within.alias("in"))
             .filter(pl.col("in")).select("account_id", "text", "pos", "value"))
    return grams


def template_hits(shingles: pl.DataFrame, known: pl.DataFrame, campaign_of: pl.DataFrame,
                  min_shingles: int = MIN_TEMPLATE_SHINGLES, goes_on: float = TEMPLATE_GOES_ON) -> pl.DataFrame:
    """``account_id, _campaign, templates, template_evidence``: the campaigns whose templates each account sends.

    ``shingles`` are :func:`prompt_shingles`'s; ``campaign_of`` maps ``cluster_id`` to ``_campaign`` (a
    cluster without a campaign is its own). A prompt's *run* of a campaign's known shingles (each within
    :data:`RUN_GAP` shingle lengths of the last) counts only when the template does not go on past either end: no known
    shingle of the campaign overlapping its last (first) shingle by all words but one is held by at
    least ``goes_on`` times as many of the campaign's accounts, and by no more than the run's
    least-held shingle (a continuation of the run's template is sent by those who sent the run; one
    held by more is another template's words sharing a phrase with it). A stock phrase the template
    opens with, quoted before one's own words, is a fragment of it; a template ends where its
    fill-ins begin, which vary. ``templates`` counts the distinct known shingles of the counted runs (at
    least ``min_shingles``), ``template_evidence`` is :data:`TEMPLATE_WEIGHT` times their best concentration.
    """
    campaign = (known.join(campaign_of, on="cluster_id").group_by("_campaign", "value")
                .agg(pl.col("members").max(), pl.col("concentration").max()).with_row_index("v"))
    # A run: a campaign's shingles of one prompt, each within RUN_GAP shingle lengths of the one before (``pos``
    # numbers every shingle of every prompt): a word changed or inserted breaks only the shingles holding it.
    key = ["_campaign", "run"]
    hits = shingles.join(campaign, on="value").sort("_campaign", "pos")
    length = int(hits["value"].str.count_matches(" ").max() or 0) + 1 if hits.height else 1  # words per shingle
    step = pl.col("pos").cast(pl.Int64) - pl.col("pos").cast(pl.Int64).shift(1)
    same = (pl.col("_campaign") == pl.col("_campaign").shift(1)) & (pl.col("text") == pl.col("text").shift(1))
    hits = hits.with_columns((~(same & (step <= RUN_GAP * length)).fill_null(False)).cum_sum().alias("run"))
    runs = hits.group_by(key).agg(pl.col("v").first().alias("first"), pl.col("v").last().alias("last"),
                                  pl.col("members").min().alias("m_run"))
    # The template goes on past an end when a shingle overlapping it is held by half as many of the campaign's accounts
    # as the end, and by no more than hold all of the run (those are another template's words sharing a phrase).
    ends = campaign.select("_campaign", "v", "members", head_words(pl.col("value")).alias("head"),
                           tail_words(pl.col("value")).alias("tail"))
    nearby = ends.select("_campaign", "head", "tail", pl.col("members").alias("m"))
    after = ends.join(nearby.drop("tail"), left_on=["_campaign", "tail"], right_on=["_campaign", "head"]).select(
        "_campaign", pl.col("v").alias("last"), pl.col("members").alias("m_end"), "m")
    before = ends.join(nearby.drop("head"), left_on=["_campaign", "head"], right_on=["_campaign", "tail"]).select(
        "_campaign", pl.col("v").alias("first"), pl.col("members").alias("m_end"), "m")
    goes_on_by = (pl.col("m") >= goes_on * pl.col("m_end")) & (pl.col("m") <= pl.col("m_run"))
    fragments = pl.concat([runs.join(after, on=["_campaign", "last"]).filter(goes_on_by).select(key),
                           runs.join(before, on=["_campaign", "first"]).filter(goes_on_by).select(key)])
    return (hits.join(fragments, on=key, how="anti").group_by("account_id", "_campaign")
            .agg(pl.col("value").n_unique().alias("templates"),
                 (TEMPLATE_WEIGHT * pl.col("concentration").max()).alias("template_evidence"))
            .filter(pl.col("templates") >= min_shingles))


def in_doubt(per_cluster: pl.DataFrame, decided: pl.Expr) -> pl.Series:
    """Accounts none of whose (account, cluster) rows is ``decided`` (matched without templates)."""
    return per_cluster.group_by("account_id").agg(decided.any().alias("decided")).filter(~pl.col("decided"))["account_id"]


def with_templates(per_cluster: pl.DataFrame, campaign_of: pl.DataFrame,
                   templates: Callable[[pl.Series], pl.DataFrame] | None, decided: pl.Expr) -> pl.DataFrame:
    """``per_cluster`` with ``templates`` (distinct known shingles sent, 0 when none) and their evidence in ``strong``.

    ``templates`` is called once with the accounts :func:`in_doubt` (no row ``decided``) and returns their
    ``account_id, value`` shingles (:func:`prompt_shingles`) already joined to the known ones as
    :func:`template_hits` does; None (no ``templates.parquet``, no prompt column): nothing added.
    """
    if templates is None or not per_cluster.height:
        return per_cluster.with_columns(pl.lit(0, pl.UInt32).alias("templates"))
    doubt = in_doubt(per_cluster, decided)
    hits = templates(doubt) if doubt.len() else None
    if hits is None or not hits.height:
        return per_cluster.with_columns(pl.lit(0, pl.UInt32).alias("templates"))
    paired = (per_cluster.select("account_id", "cluster_id").join(campaign_of, on="cluster_id", how="left")
              .join(hits, on=["account_id", "_campaign"]).drop("_campaign"))
    return (per_cluster.join(paired, on=["account_id", "cluster_id"], how="left")
            .with_columns(pl.col("templates").fill_null(0).cast(pl.UInt32),
                          pl.col("strong") + pl.col("template_evidence").fill_null(0.0))
            .drop("template_evidence"))


def sent_and_neighbours(known: pl.DataFrame, sent: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``known`` (:func:`known_templates`, every shingle) whose ``value`` was ``sent`` or goes on from
    or leads into one sent: what :func:`template_hits` reads of them (each shingle's row is its own, so the rows
    kept are those :func:`known_templates` counts with ``sent``)."""
    hit = known.filter(pl.col("value").is_in(sent["value"].implode()))["value"].unique()
    return known.filter(pl.col("value").is_in(hit.implode()) | head_words(pl.col("value")).is_in(tail_words(hit).implode())
                        | tail_words(pl.col("value")).is_in(head_words(hit).implode()))


#: Characters a prompt of another account must open with, as one of the long prompts read does, to help judge
#: whether their head is shared (a framework's system prompt is pasted as is), and how many such prompts are read.
HEAD_CHARS, HEAD_CONTEXT = 120, 2_000


def head_context(events: pl.LazyFrame, prompts: pl.DataFrame, ids: pl.Series, max_words: int) -> pl.DataFrame | None:
    """Prompts of the new log's other accounts opening (:data:`HEAD_CHARS`) as a long one of ``prompts`` does: detect
    judges a head shared among the whole log's long prompts (a framework's users ask their own questions behind
    it, so the head ends where the fleet's template begins); the accounts in doubt alone may all be one fleet.
    None when no prompt read is long enough to be read past a head (no further read of the log)."""
    read = prompts.drop_nulls("prompt").select(pl.col("prompt").cast(pl.String).alias("raw"), head_text(max_words).alias("prompt"))
    long = words_of(read, "prompt").filter(pl.col("value").str.strip_chars(" ").str.count_matches(" ") >= max_words)
    if not long.height:  # (more than max_words words)
        return None
    long = long.select(pl.col("raw").alias("prompt"))
    opening = pl.col("prompt").cast(pl.String).str.slice(0, HEAD_CHARS)
    heads = long.select(opening.alias("head")).unique()["head"].implode()
    return (events.filter(~pl.col("account_id").is_in(ids) & pl.col("prompt").is_not_null() & opening.is_in(heads))
            .select("account_id", pl.col("prompt").cast(pl.String)).head(HEAD_CONTEXT).collect())


def doubt_reader(events: pl.LazyFrame, templates: pl.DataFrame | pl.LazyFrame, clusters: pl.DataFrame,
                 signals: SignalConfig, n_accounts: int, min_concentration: float,
                 index: pl.DataFrame | None = None) -> Callable[[pl.Series], pl.DataFrame]:
    """The ``templates`` argument of :func:`graphlink.stages.match.match_accounts` for a new log.

    ``events`` (``account_id, prompt``, lazily read) is read for the accounts in doubt only, shingled
    as the earlier run's ``signals`` settings say, and compared with ``templates.parquet``'s
    shingles concentrated in a campaign of ``clusters`` (``cluster_id, campaign_id``) of the earlier
    run's ``n_accounts`` accounts (:func:`known_templates`), or with ``index``, those prepared at
    ``min_concentration`` by detect (``match_templates.parquet``, :func:`sent_and_neighbours`).
    """
    vocabulary: list[pl.Series] = []  # (read once, on the first accounts in doubt)

    def read(accounts: pl.Series) -> pl.DataFrame:
        if not vocabulary:
            vocabulary.append(known_words(templates, n_accounts, index))
        campaign_of = clusters.select("cluster_id", pl.coalesce("campaign_id", -pl.col("cluster_id")).alias("_campaign"))
        ids = accounts.cast(pl.String).implode()
        prompts = events.filter(pl.col("account_id").is_in(ids)).select("account_id", "prompt").collect()
        shingles = prompt_shingles(prompts, signals.ngram, signals.max_words_per_prompt, signals.max_prompts_per_account,
                                   head_context(events, prompts, ids, signals.max_words_per_prompt), vocabulary[0])
        known = (sent_and_neighbours(index, shingles) if index is not None else
                 known_templates(templates, clusters.select("cluster_id", "campaign_id"), n_accounts, min_concentration,
                                 sent=shingles))
        return template_hits(shingles, known, campaign_of.unique("cluster_id"))
    return read
