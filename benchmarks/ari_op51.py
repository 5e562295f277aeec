#!/usr/bin/env python
"""Where ARI by operator is lost, by oracle repair of each loss (session 51, helper op51; issue 17).

Usage::

    python benchmarks/ari_op51.py WORLD:OUT [WORLD:OUT ...]    # WORLD has labels.parquet, OUT a detect output

ARI by operator is ``graphlink evaluate``'s ``ari_campaign``: over ring accounts only, the labels'
``campaign_id`` (the operator) against the output's ``campaign_id``, an account without a campaign (unclustered:
``cluster_id`` and ``campaign_id`` are null together) its own singleton. It is a function of pair counts over
ring accounts, so each loss is repaired by pair arithmetic (FN pairs counted found, FP pairs counted apart), as
``ari_decomp50.py`` does for cells:

* ``uncl``: pairs of one operator with an unclustered account;
* ``split1``: pairs of one operator in two campaigns, one of which is a single-cluster campaign (a ring cluster
  its operator's grouping did not join);
* ``splitN``: pairs of one operator in two campaigns of two or more clusters each (the operator in several
  large campaigns);
* ``m_cl``: pairs of two operators in one *cluster* (the partition's merge; no grouping can undo it);
* ``m_gr``: pairs of two operators in one campaign but different clusters (the grouping's merge).

Printed per world: ARI as evaluated, each repair alone (``fix_X``), all but one (``only_X``), realised oracles
(``cut``: each campaign cut by operator; ``join``: every campaign relabelled with its majority operator, which
undoes every split of a pure campaign but leaves mixed accounts wrong; ``join+uncl``: and unclustered accounts in
their operator), and per operator: ring accounts, the share in its main campaign (the campaign holding most of
it), in single-cluster campaigns, in other multi-cluster campaigns, unclustered, and the foreign accounts of the
main campaign (in mixed clusters / in clusters of another operator's majority).

With ``--evidence`` (reads ``WORLD/events.parquet``), for the ring accounts outside their operator's main campaign
(clustered: the ``split`` losses), per kind of value (card, exact address, /24 or /48 network, user agent, prompt
word 4-gram, active day; ``ari_decomp50.piece_values``), the share of them holding a value of that kind that ring
accounts of their operator's main campaign hold (``own``: evidence that would join) and that ring accounts of
another operator's main campaign hold (``other``: the same evidence joining the wrong operator).
"""
from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ari_decomp50 import ari_from, c2  # noqa: E402  (pair counts and ARI from them, as the cell decomposition)


def _sum_pairs(frame: pl.DataFrame, keys: list[str]) -> int:
    return int(frame.group_by(keys).len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item() or 0)


def ring_table(world: str, out: str) -> pl.DataFrame:
    """Ring accounts: ``account_id, op, cell, cluster, camp`` (camp null = unclustered), ``ncl`` (clusters in camp)."""
    lab = (pl.read_parquet(f"{world}/labels.parquet").filter(pl.col("kind") == "ring")
           .select("account_id", pl.col("campaign_id").cast(pl.String).alias("op"),
                   pl.col("ring_id").cast(pl.String).alias("cell")))
    acc = pl.read_parquet(f"{out}/accounts.parquet").select(
        "account_id", pl.col("cluster_id").alias("cluster"), pl.col("campaign_id").alias("camp"))
    ncl = acc.drop_nulls("camp").group_by("camp").agg(ncl=pl.col("cluster").n_unique())
    return lab.join(acc, on="account_id", how="left").join(ncl, on="camp", how="left")


def pair_counts(r: pl.DataFrame) -> dict:
    """Pair counts of the losses (see the module docstring)."""
    n2 = c2(r.height)
    t = _sum_pairs(r, ["op"])
    cl = r.filter(pl.col("camp").is_not_null())
    p = _sum_pairs(cl, ["camp"])
    tp = _sum_pairs(cl, ["op", "camp"])
    fp = p - tp
    m_cl = _sum_pairs(cl, ["cluster"]) - _sum_pairs(cl, ["op", "cluster"])
    # FN pairs of clustered accounts: same op, both clustered, different campaigns
    per_op = cl.group_by("op").len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item() or 0
    fn_cl = int(per_op) - tp
    uncl = t - int(per_op)
    # split into pairs involving a single-cluster campaign (either side) vs both multi-cluster
    multi = cl.filter(pl.col("ncl") > 1)
    multi_op = int(multi.group_by("op").len().select(c2(pl.col("len").cast(pl.Int64)).sum()).item() or 0)
    multi_tp = _sum_pairs(multi, ["op", "camp"])
    split_n = multi_op - multi_tp
    return dict(n2=n2, t=t, p=p, tp=tp, uncl=uncl, split1=fn_cl - split_n, splitN=split_n, m_cl=m_cl,
                m_gr=fp - m_cl)


def repaired(pc: dict, fix: set[str]) -> float:
    tp, p = pc["tp"], pc["p"]
    for k in ("uncl", "split1", "splitN"):
        if k in fix:
            tp += pc[k]
            p += pc[k]
    for k in ("m_cl", "m_gr"):
        if k in fix:
            p -= pc[k]
    return ari_from(tp, pc["t"], p, pc["n2"])


def ari_part(frame: pl.DataFrame, pred: pl.Expr) -> float:
    f = frame.with_columns(pred.alias("_p"))
    return ari_from(_sum_pairs(f, ["op", "_p"]), _sum_pairs(f, ["op"]), _sum_pairs(f, ["_p"]), c2(f.height))


def per_operator(r: pl.DataFrame) -> pl.DataFrame:
    cl = r.filter(pl.col("camp").is_not_null())
    main = (cl.group_by("op", "camp").len().sort("len", "camp", descending=[True, False])
            .group_by("op", maintain_order=True).first().select("op", main="camp"))
    # majority operator of each cluster (for "foreign accounts in clusters of another operator's majority")
    cmaj = (cl.group_by("cluster", "op").len().sort("len", descending=True)
            .group_by("cluster", maintain_order=True).first().select("cluster", cmaj="op"))
    x = r.join(main, on="op", how="left").join(cmaj, on="cluster", how="left")
    own = x.group_by("op").agg(
        ring=pl.len(),
        in_main=(pl.col("camp") == pl.col("main")).sum(),
        single=((pl.col("camp") != pl.col("main")) & (pl.col("ncl") == 1)).sum(),
        other_multi=((pl.col("camp") != pl.col("main")) & (pl.col("ncl") > 1)).sum(),
        other_camps=pl.col("camp").filter(pl.col("camp") != pl.col("main")).n_unique(),
        uncl=pl.col("camp").is_null().sum())
    foreign = (x.join(main.rename({"op": "owner", "main": "camp"}), on="camp")
               .filter(pl.col("op") != pl.col("owner"))
               .group_by("owner").agg(foreign=pl.len(),
                                      foreign_own_cl=(pl.col("cmaj") == pl.col("op")).sum())
               .rename({"owner": "op"}))
    return (own.join(foreign, on="op", how="left").fill_null(0)
            .with_columns((pl.col("in_main") / pl.col("ring")).round(3).alias("main_share"))
            .sort("ring", descending=True))


def run(world: str, out: str) -> None:
    r = ring_table(world, out)
    pc = pair_counts(r)
    losses = ["uncl", "split1", "splitN", "m_cl", "m_gr"]
    print(f"== {world} ({out}): ring {r.height}, operators {r['op'].n_unique()}, "
          f"ARI op {repaired(pc, set()):.3f}")
    print("  pairs: true {t:,} found {tp:,}; lost: ".format(**pc)
          + ", ".join(f"{k} {pc[k]:,}" for k in losses))
    print("  fix alone: " + ", ".join(f"{k} {repaired(pc, {k}):.3f}" for k in losses))
    print("  all but:   " + ", ".join(f"{k} {repaired(pc, set(losses) - {k}):.3f}" for k in losses))
    maj = (r.drop_nulls("camp").group_by("camp", "op").len().sort("len", descending=True)
           .group_by("camp", maintain_order=True).first().select("camp", maj="op"))
    j = r.join(maj, on="camp", how="left")
    cut = pl.when(pl.col("camp").is_null()).then(pl.col("account_id")).otherwise(
        pl.concat_str([pl.col("camp").cast(pl.String), pl.col("op")], separator="/"))
    join = pl.when(pl.col("camp").is_null()).then(pl.col("account_id")).otherwise(pl.col("maj"))
    joinu = pl.when(pl.col("camp").is_null()).then(pl.col("op")).otherwise(pl.col("maj"))
    print(f"  realised: cut {ari_part(j, cut):.3f}, join {ari_part(j, join):.3f}, "
          f"join+uncl {ari_part(j, joinu):.3f}")
    with pl.Config(tbl_rows=40, tbl_cols=-1, tbl_width_chars=250, tbl_hide_dataframe_shape=True,
                   tbl_hide_column_data_types=True):
        print(per_operator(r))


def evidence(world: str, r: pl.DataFrame) -> pl.DataFrame:
    """Per kind, the account-weighted share of stray ring accounts whose cluster shares a value with own / other mains."""
    from ari_decomp50 import piece_values
    cl = r.filter(pl.col("camp").is_not_null())
    main = (cl.group_by("op", "camp").len().sort("len", "camp", descending=[True, False])
            .group_by("op", maintain_order=True).first().select("op", main="camp"))
    x = cl.join(main, on="op")
    stray = x.filter(pl.col("camp") != pl.col("main"))
    if stray.height == 0:
        return pl.DataFrame()
    vals = piece_values(world, r.select("account_id"))
    in_main = (x.filter(pl.col("camp") == pl.col("main")).select("account_id", holder_op="op")
               .join(vals, on="account_id").select("kind", "v", "holder_op").unique())
    sv = stray.select("account_id", "op").join(vals, on="account_id").join(in_main, on=["kind", "v"])
    # per stray account and kind: does it hold a value the own / another operator's main campaign holds
    per = (sv.group_by("account_id", "kind").agg(own=(pl.col("holder_op") == pl.col("op")).any(),
                                                  other=(pl.col("holder_op") != pl.col("op")).any()))
    kinds = vals["kind"].unique().sort()
    grid = (stray.select("account_id").join(pl.DataFrame({"kind": kinds}), how="cross")
            .join(per, on=["account_id", "kind"], how="left").fill_null(False))
    total = stray.height
    return (grid.group_by("kind").agg(pl.col("own").mean().round(3), pl.col("other").mean().round(3))
            .sort("kind").with_columns(pl.lit(total).alias("stray_accounts")))


if __name__ == "__main__":
    show_evidence = "--evidence" in sys.argv
    for arg in sys.argv[1:]:
        if arg.startswith("--"):
            continue
        w, o = arg.split(":")
        run(w, o)
        if show_evidence:
            with pl.Config(tbl_rows=20, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
                print(evidence(w, ring_table(w, o)))
