"""Strong small cells: clusters too small to flag alone that write one flagged operator's template.

``min_flag_size`` counts an operator's accounts; a cell of two to four accounts (or a larger one its own evidence
leaves under the threshold) is the operator's when most of its requests are templated and most of its members write
the operator's template (``strong`` in :func:`graphlink.stages.campaign_flags.operator_ties`, whose docstring says
why). The template is one operator's -- the prompt phrases most of whose holders in the log are the clusters of one
operator (the campaign of the loud cluster a chain starts from) -- never the sum over unrelated fleets: two fleets
each a minority holder of a public framework prompt are no majority of it together
(``tests/test_break_small_cells27.py``).

Which clusters are strong (:func:`strong_clusters`): not flagged, mostly templated, and showing at least one sign of
fake-account tooling of their own (:data:`TOOLING`), however weak: too little to flag alone is what makes a cell
small. An operator's tame cells send its template in most of their requests (the 224k dev cells: 90 %) from a few
rotating addresses, thrown-away accounts or a card pool, scoring under the threshold (dev ind_s2_224000: 211 ring
accounts in clusters scoring 0.1 to 0.59 that session 27's threshold left out; BENCHMARKS.md, twenty-ninth pass).
Text alone is no cell: a class pasting a public chain-of-thought prompt a fleet also sends, or a company's batch
accounts running an instruction a fleet copied, write the template too (``tests/test_break_session29.py``), and
companies' batch jobs run around the clock as well (:mod:`graphlink.stages.scoring`), so that sign does not count.
The template share keeps out people who send a viral prompt a fleet uses as camouflage now and then, however heavy
their proxy rotation and volume (a shop of three behind a commercial VPN: 0.71).

Schema: :func:`strong_clusters` returns the ids (Int64 Series); :func:`strong_cells` returns ``own`` (``cluster_id`` Int64, ``ties`` UInt32, ``lead`` Int64: one row per
tied cell) and ``tying`` (``cluster_id, signal_idx``: the template values it writes, for the carriers' count).
"""

from __future__ import annotations

import polars as pl

from graphlink.contract import EVASION
from graphlink.stages.campaigns import MIN_TIE_VALUES

__all__ = ["strong_clusters", "strong_cells", "STRONG_TEMPLATE_SHARE", "TOOLING"]


#: A strong small cell sends its operator's template in at least this share of its requests (the clusters'
#: ``template_share``): a fleet's cell mostly (its camouflage a minority), people now and then.
STRONG_TEMPLATE_SHARE = 0.5
#: The evasion components (:data:`graphlink.contract.EVASION`) a cell shows at least a trace of: proxies, a card pool,
#: load spread over accounts, bulk sign-up, throwaway accounts. Not ``around_the_clock``: companies' batch jobs run
#: all day too.
TOOLING = tuple(c for c in EVASION if c != "around_the_clock")


def strong_clusters(clusters: pl.DataFrame) -> pl.Series:
    """Ids of the clusters :func:`graphlink.stages.campaign_flags.operator_ties` may tie as strong small cells.

    Parameters
    ----------
    clusters : DataFrame
        Scored clusters: ``cluster_id, flagged, template_share`` (null: no prompts) and the :data:`TOOLING`
        components (null: not measured).

    Returns
    -------
    Series
        ``cluster_id`` of the clusters not flagged that send templated text in at least
        :data:`STRONG_TEMPLATE_SHARE` of their requests and show a :data:`TOOLING` sign above 0, whatever they
        score (the module docstring says why).

    Raises
    ------
    polars.exceptions.ColumnNotFoundError
        When a column above is missing.

    Examples
    --------
    >>> c = pl.DataFrame({"cluster_id": [1, 2, 3, 4, 5], "flagged": [True, False, False, False, False],
    ...                   "template_share": [1.0, 0.94, 0.05, 1.0, 1.0], "ip_spread": [1.0, 0.2, 1.0, 0.0, 0.0],
    ...                   "around_the_clock": [0.0, 0.0, 0.0, 0.0, 1.0]}).with_columns(
    ...     [pl.lit(None, pl.Float64).alias(t) for t in TOOLING if t != "ip_spread"])
    >>> strong_clusters(c).to_list()  # a cell on a few proxies; not VPN users, a class, a batch job
    [2]
    """
    tooling = pl.max_horizontal([pl.col(t).fill_null(0) for t in TOOLING])
    return clusters.filter(~pl.col("flagged") & (pl.col("template_share").fill_null(0) >= STRONG_TEMPLATE_SHARE)
                           & (tooling > 0))["cluster_id"]


def strong_cells(near: pl.DataFrame, held: pl.DataFrame, of_op: pl.DataFrame, text: pl.DataFrame,
                 partition: pl.DataFrame, strong: pl.Series, share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cells of ``strong`` holding at least :data:`MIN_TIE_VALUES` of one operator's template values, one of them
    held by most of the cell's members.

    ``near`` and ``held``: ``cluster_id, signal_idx, h`` (holders per cluster and value; ``near`` the clusters not
    yet the operator's), ``of_op``: ``cluster_id, lead_id, operator`` (the operator's clusters, each with its loud
    lead and operator), ``text``: ``signal_idx, df`` (prompt phrases), ``partition``: ``account_idx, cluster_id``;
    ``share``: the share of a value's holders that makes it the operator's (``SPECIFIC_SHARE`` of
    :mod:`graphlink.stages.campaign_flags`).

    Examples
    --------
    >>> held = pl.DataFrame({"cluster_id": [1] * 5 + [2] * 5, "signal_idx": list(range(5)) * 2,
    ...                      "h": [6] * 5 + [2] * 5})
    >>> part = pl.DataFrame({"account_idx": range(9), "cluster_id": [1] * 6 + [2] * 3})
    >>> op = pl.DataFrame({"cluster_id": [1], "lead_id": [1], "operator": [1]})
    >>> text = pl.DataFrame({"signal_idx": range(5), "df": [9] * 5})
    >>> strong_cells(held.filter(pl.col("cluster_id") == 2), held, op, text, part, pl.Series([2]), 0.5)[0].rows()
    [(2, 5, 1)]
    """
    by_op = held.select("cluster_id", "signal_idx", "h").join(of_op, on="cluster_id").join(text, on="signal_idx")
    template = (by_op.sort(["signal_idx", "h", "cluster_id"], descending=[False, True, False])
                .group_by("signal_idx", "operator", maintain_order=True)
                .agg(pl.col("h").sum().alias("oh"), pl.col("df").first(), pl.col("lead_id").first().alias("lead"))
                .filter(pl.col("oh") >= share * pl.col("df")).select("signal_idx", "operator", "lead"))
    written = near.filter(pl.col("cluster_id").is_in(strong.cast(pl.Int64).implode())).join(template, on="signal_idx")
    members = (partition.drop_nulls("cluster_id").group_by(pl.col("cluster_id").cast(pl.Int64))
               .agg(pl.len().alias("members")))
    own = (written.join(members, on="cluster_id").group_by("cluster_id", "operator")
           .agg(pl.len().cast(pl.UInt32).alias("ties"), pl.col("lead").mode().min(), pl.col("h").max(),
                pl.col("members").first())
           .filter((pl.col("ties") >= MIN_TIE_VALUES) & (2 * pl.col("h") > pl.col("members")))
           .sort(["cluster_id", "ties", "operator"], descending=[False, True, False])
           .unique("cluster_id", keep="first", maintain_order=True))
    tying = (written.join(own.select("cluster_id", "operator"), on=["cluster_id", "operator"])
             .select("cluster_id", "signal_idx"))
    return own.select("cluster_id", "ties", "lead"), tying
