#!/usr/bin/env python
"""Where ARI by cell is lost, stage by stage, and what evidence could tell cells apart (session 45, issue 17).

Usage::

    python benchmarks/cell_ari45.py WORLD [WORLD ...]          # WORLD holds events.parquet and labels.parquet

Per world (ring accounts only; an unclustered account is its own singleton, as ``graphlink evaluate``'s
``ari_cell``), one detect run with the default configuration is traced:

* **stages**: ARI by cell, pair recall and pair precision (pairs in one cell vs pairs in one cluster) of the
  partition after Leiden (the clusters before dense blocks were split), after the block split, the support
  check, template bursts, network cells and the final one; then the campaign partition.
* **loss**: ARI with every merge undone (each final cluster cut by cell) and with every pure piece of a cell
  joined: which of the two leaves more to gain.
* **projection**: edge weight per pair of accounts of one cell, of two cells of one operator, of two operators
  (the density CPM compares with its resolution, 0.2 by default).
* **oracle**: the ARI of cutting each cell into the components of the values held by two or more of its
  accounts and at least 90% of whose holders are in that cell (read from the labels, which no detector can),
  with all kinds, without each kind, and with the strong kinds (``ip``, ``payment``) only.
* **siblings** (worlds of ``benchmarks/independent_world.py`` only: it reads its template wording): for each
  pair of cells of 10+ accounts, whether a kind tells them apart -- the Jaccard of the two cells' value sets
  is under half that of two random halves of each cell -- for cards, exact addresses, networks (/24, /48),
  template wordings, clients and active hours.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import graphlink.pipeline as pipeline  # noqa: E402
from graphlink.lab.evaluate import adjusted_rand_index  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import independent_world  # noqa: E402


def traced(world: Path) -> dict[str, pl.DataFrame]:
    """Run detect on the world's events with hooks keeping each stage's partition (and the projection)."""
    saved: dict[str, pl.DataFrame] = {}

    def hook(name, fn, pick=lambda r: r):
        def wrapped(*a, **k):
            result = fn(*a, **k)
            saved[name] = pick(result)
            return result
        return wrapped

    originals = {n: getattr(pipeline, n) for n in ("detect_communities", "supported_partition", "template_bursts",
                                                  "network_cells", "project")}
    pipeline.detect_communities = hook("leiden", originals["detect_communities"])
    pipeline.supported_partition = hook("supported", originals["supported_partition"])
    pipeline.template_bursts = hook("bursts", originals["template_bursts"], lambda r: r[0])
    pipeline.network_cells = hook("netcells", originals["network_cells"])
    pipeline.project = hook("projection", originals["project"])
    try:
        result = pipeline.run_detect(world / "events.parquet", None)
    finally:
        for n, f in originals.items():
            setattr(pipeline, n, f)
    projection = saved.pop("projection")
    saved.update(edges=projection.edges, memberships=projection.memberships, signals=projection.signals,
                 index=result.index.select("account_idx", "account_id"),
                 final=result.accounts.select("account_id", "cluster_id", "campaign_id"))
    return saved


def pair_scores(ring: pl.DataFrame, pred: str) -> tuple[float, float, float]:
    """ARI, pair recall and pair precision of ``pred`` (null = singleton) against ``cell``."""
    r = ring.with_columns(p=pl.coalesce(pl.col(pred).cast(pl.String), pl.col("account_id")))
    c2 = (pl.col("len") * (pl.col("len") - 1) / 2).sum()
    same = r.group_by("cell").len().select(c2).item()
    together = r.group_by("p").len().select(c2).item()
    both = r.group_by("p", "cell").len().select(c2).item()
    return adjusted_rand_index(r, "cell", ["p"]), both / max(same, 1), both / max(together, 1)


def stages(t: dict[str, pl.DataFrame], ring: pl.DataFrame) -> None:
    idx = t["index"]
    leiden = t["leiden"].join(idx, on="account_idx")
    rows = [("leiden", leiden.select("account_id", pl.col("whole_id").alias("c"))),
            ("block split", leiden.select("account_id", pl.col("cluster_id").alias("c")))]
    rows += [(n, t[k].join(idx, on="account_idx").select("account_id", pl.col("cluster_id").alias("c")))
             for n, k in (("support", "supported"), ("bursts", "bursts"), ("network cells", "netcells"))]
    rows += [("final", t["final"].select("account_id", pl.col("cluster_id").alias("c"))),
             ("campaigns/cells", t["final"].select("account_id", pl.col("campaign_id").alias("c")))]
    for name, part in rows:
        ari, rec, prec = pair_scores(ring.join(part, on="account_id", how="left"), "c")
        print(f"  {name:14s} ARI {ari:.3f}  pair recall {rec:.3f}  pair precision {prec:.3f}")
    r = ring.join(t["final"], on="account_id", how="left").with_columns(
        p=pl.coalesce(pl.col("cluster_id").cast(pl.String), pl.col("account_id")))
    r = r.with_columns(pl.col("cell").n_unique().over("p").alias("cells"))
    no_merge = adjusted_rand_index(r.with_columns(x=pl.concat_str("p", "cell", separator="|")), "cell", ["x"])
    joined = adjusted_rand_index(r.with_columns(x=pl.when(pl.col("cells") == 1).then(pl.concat_str(pl.lit("c"), "cell"))
                                                .otherwise("p")), "cell", ["x"])
    print(f"  loss: every merge undone {no_merge:.3f}, every pure piece of a cell joined {joined:.3f}")


def densities(t: dict[str, pl.DataFrame], ring: pl.DataFrame) -> None:
    lab = t["index"].join(ring, on="account_id").select("account_idx", "cell", "operator")
    e = (t["edges"].join(lab.rename({"account_idx": "source", "cell": "cs", "operator": "os"}), on="source")
         .join(lab.rename({"account_idx": "target", "cell": "ct", "operator": "ot"}), on="target"))
    rel = (pl.when(pl.col("cs") == pl.col("ct")).then(pl.lit("one cell"))
           .when(pl.col("os") == pl.col("ot")).then(pl.lit("one operator")).otherwise(pl.lit("two operators")))
    c2 = lambda s: float((s * (s - 1) / 2).sum())  # noqa: E731
    same = c2(ring.group_by("cell").len()["len"])
    op = c2(ring.group_by("operator").len()["len"]) - same
    n = ring.height
    pairs = {"one cell": same, "one operator": op, "two operators": n * (n - 1) / 2 - same - op}
    for name, w in e.group_by(rel.alias("rel")).agg(pl.col("weight").sum()).sort("rel").iter_rows():
        print(f"  projection: pairs in {name:13s} weight per pair {w / pairs[name]:.3f}")


def oracle(t: dict[str, pl.DataFrame], ring: pl.DataFrame, purity: float = 0.9) -> None:
    idx = t["index"].join(ring, on="account_id", how="left")
    m = t["memberships"].select("account_idx", "signal_idx").join(idx.select("account_idx", "cell"), on="account_idx")
    sig = t["signals"].select("signal_idx", "kind", "df").filter(pl.col("df") >= 2)
    top = (m.drop_nulls("cell").group_by("signal_idx", "cell").len().sort("len", descending=True)
           .group_by("signal_idx").first().join(sig, on="signal_idx")
           .filter(pl.col("len") >= purity * pl.col("df")))
    n, nv = t["index"].height, int(t["signals"]["signal_idx"].max()) + 1
    ring_idx = idx.drop_nulls("cell")

    def ari(values: pl.DataFrame) -> float:
        mm = m.join(values.select("signal_idx", pl.col("cell").alias("own")), on="signal_idx").filter(
            pl.col("cell") == pl.col("own"))
        a, v = mm["account_idx"].to_numpy().astype(np.int64), mm["signal_idx"].to_numpy().astype(np.int64)
        _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, n + v)), shape=(n + nv, n + nv)), directed=False)
        r = ring_idx.with_columns(x=pl.Series(comp[ring_idx["account_idx"].to_numpy()]).cast(pl.String))
        return adjusted_rand_index(r, "cell", ["x"])

    kinds = sorted(top["kind"].unique().to_list())
    without = ", ".join(f"-{k} {ari(top.filter(pl.col('kind') != k)):.3f}" for k in kinds)
    print(f"  oracle (cell-private values): all kinds {ari(top):.3f}; {without}; "
          f"strong only {ari(top.filter(pl.col('kind').is_in(['ip', 'payment']))):.3f}")


def siblings(world: Path, ring: pl.DataFrame, min_size: int = 10) -> None:
    e = pl.read_parquet(world / "events.parquet").join(ring, on="account_id")
    starts = "|".join(list(independent_world.PROBLEM_PARTS[0]) + ["ある"])
    e = e.with_columns(
        net=pl.when(pl.col("ip").str.contains(":")).then(pl.col("ip").str.split(":").list.head(3).list.join(":"))
        .otherwise(pl.col("ip").str.replace(r"\.\d+$", "")),
        template=pl.col("prompt").str.replace(f"({starts}).*$", "").str.replace_all(r"\d+", "#")
        .str.replace_all("|".join(independent_world.DOMAINS), "{d}"),
        hour=pl.col("timestamp").dt.epoch("s") // 3600)
    e = e.with_columns(template=pl.when((pl.col("template").str.len_chars() >= 60)
                                        & (pl.col("account_id").n_unique().over("template") >= 5)).then("template"))
    halves = ring.with_columns(half=pl.Series(np.random.default_rng(0).integers(0, 2, ring.height)))
    e = e.join(halves.select("account_id", "half"), on="account_id")
    kinds = {"card": "payment_fingerprint", "ip": "ip", "net": "net", "template": "template", "client": "user_agent",
             "hour": "hour"}

    def sets(keys: list[str]) -> dict[str, dict]:
        out = {}
        for k, col in kinds.items():
            g = e.drop_nulls(col).group_by(keys).agg(pl.col(col).unique())
            out[k] = {tuple(r[:-1]): set(r[-1]) for r in g.iter_rows()}
        return out

    cell, half = sets(["cell"]), sets(["cell", "half"])
    jac = lambda a, b: len(a & b) / max(1, len(a | b))  # noqa: E731
    sizes = dict(ring.group_by("cell").len().iter_rows())
    op = dict(ring.select("cell", "operator").unique().iter_rows())
    cells = sorted(c for c in sizes if sizes[c] >= min_size)
    base = {k: {c: jac(half[k].get((c, 0), set()), half[k].get((c, 1), set())) for c in cells} for k in kinds}
    rows = []
    for a, b in itertools.combinations(cells, 2):
        row = {"sibling": op[a] == op[b]}
        for k in kinds:
            low = min(base[k][a], base[k][b])
            row[k] = low > 0.05 and jac(cell[k].get((a,), set()), cell[k].get((b,), set())) < 0.5 * low
        row["any kind"] = any(row[k] for k in kinds)
        row["card or ip"] = row["card"] or row["ip"]
        rows.append(row)
    t = pl.DataFrame(rows).group_by("sibling").agg(pl.len().alias("pairs"), *[pl.col(k).mean().round(2) for k in
                                                    [*kinds, "any kind", "card or ip"]]).sort("sibling")
    for r in t.iter_rows(named=True):
        label = "siblings (one operator)" if r.pop("sibling") else "two operators"
        pairs = r.pop("pairs")
        print(f"  {label}, {pairs} cell pairs: share told apart by " + ", ".join(f"{k} {v}" for k, v in r.items()))


def main(argv: list[str]) -> None:
    for arg in argv:
        world = Path(arg)
        ring = (pl.read_parquet(world / "labels.parquet").filter(pl.col("kind") == "ring")
                .select("account_id", pl.col("ring_id").cast(pl.String).alias("cell"),
                        pl.col("campaign_id").cast(pl.String).alias("operator")))
        print(f"{world}: {ring.height} ring accounts in {ring['cell'].n_unique()} cells")
        t = traced(world)
        stages(t, ring)
        densities(t, ring)
        oracle(t, ring)
        if (world / "params.json").exists() and "cells" in (world / "params.json").read_text()[:100_000]:
            siblings(world, ring)


if __name__ == "__main__":
    main(sys.argv[1:])
