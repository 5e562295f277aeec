"""One-off template bursts, offline (graphlink issue 17, session 24): which (template, window) values are
held by far more accounts than chance predicts, whom they reach and whom they touch.

usage: WT=checkout python benchmarks/burst_values.py PARTS_DIR WORLD...
  PARTS_DIR/<world>.parquet: account_id, cluster_id, flagged (benchmarks/burst_parts.py on the same checkout)

A *template* is the first TEMPLATE_CHARS characters of the lower-cased, stripped prompt (session 22's
choice). A *window* is WINDOW minutes on two grids shifted by WINDOW / 2 (a burst shorter than WINDOW / 2
lies whole inside one of them). ``k`` = accounts that sent the template in the window.

Nulls (``lambda`` the expected ``k``; a value is *surprising* when P(Poisson(lambda) >= k) < ALPHA / M,
Bonferroni over every (template, window) the log could hold: M = templates x windows of both grids):

* ``traffic``: holders(template) x accounts active in the window / accounts (session 22);
* ``phase``: the larger of ``traffic`` and the template's own mean count in the windows of the same minute
  of the hour in the other hours, and in the windows of the same minute of the day on the other days
  (leave-one-out): a template that routinely comes at that minute (a job at :00, a job at 09:00 daily) is
  no burst there; a one-off burst has no such history;
* ``unsched``: ``traffic`` on the accounts not on a schedule only
  (:func:`graphlink.stages.schedules.scheduled_accounts` on every account's active minutes; their events are
  dropped before counting): co-activity a schedule explains is no group's;
* ``both``: ``phase`` on the unscheduled accounts;
* ``oneoff``: ``unsched`` on the accounts whose whole life (first to last active minute) is shorter than half a
  window, so lies whole inside one window of one grid: the accounts pairwise co-timing cannot judge (they share
  one burst at most), and only they; a long-lived account's minutes are co-timing's evidence already.
"""

import os, sys, time
WT = os.environ.get("WT", os.path.dirname(os.path.dirname(os.path.abspath(__file__)))); sys.path.insert(0, WT)
import numpy as np
import polars as pl
from scipy.stats import poisson
from graphlink.stages.schedules import scheduled_accounts

TEMPLATE_CHARS = int(os.environ.get("TEMPLATE_CHARS", "24"))
WINDOW = 10          # minutes
ALPHA = 0.01
MIN_HOLDERS = 3      # a group (CopyCatch's m >= 3), not a pair
VARIANTS = os.environ.get("VARIANTS", "traffic,phase,unsched,both,oneoff").split(",")


def load(w):
    ev = (pl.scan_parquet(f"{w}/events.parquet")
          .select("account_id", (pl.col("timestamp").dt.epoch("s") // 60).cast(pl.Int64).alias("minute"),
                  pl.col("prompt").str.to_lowercase().str.strip_chars().str.slice(0, TEMPLATE_CHARS).alias("tmpl"))
          .collect())
    return ev


def schedule_of(ev):
    ids = ev.select("account_id").unique().with_row_index("account_idx")
    m = (ev.select("account_id", pl.col("minute").alias("key")).unique().join(ids, on="account_id")
         .select(pl.col("account_idx").cast(pl.UInt32), pl.col("key").cast(pl.UInt64)))
    s = scheduled_accounts(m)
    return ids.join(s, on="account_idx").filter("scheduled").select("account_id")


def surprising(ev, use_phase):
    """(tmpl, grid, win, k, lam, p) of the surprising values, and M."""
    n_acc = ev["account_id"].n_unique()
    t0, t1 = ev["minute"].min(), ev["minute"].max()
    pr = ev.drop_nulls("tmpl")
    n_t = pr.group_by("tmpl").agg(pl.col("account_id").n_unique().alias("n_t"))
    out = []
    n_windows = 0
    for grid, off in ((0, 0), (1, WINDOW // 2)):
        win = ((pl.col("minute") - t0 + off) // WINDOW).alias("win")
        traffic = ev.select("account_id", win).unique().group_by("win").agg(pl.len().alias("a_w"))
        n_windows += int((t1 - t0 + off) // WINDOW + 1)
        k = pr.select("tmpl", "account_id", win).unique().group_by("tmpl", "win").agg(pl.len().alias("k"))
        k = k.filter(pl.col("k") >= MIN_HOLDERS).join(n_t, on="tmpl").join(traffic, on="win")
        k = k.with_columns((pl.col("n_t") * pl.col("a_w") / n_acc).alias("lam"))
        if use_phase:
            # the template's counts per window, all windows (k >= 1), by phase of hour and of day
            allk = pr.select("tmpl", "account_id", win).unique().group_by("tmpl", "win").agg(pl.len().alias("c"))
            per_hour, per_day = 60 // WINDOW, 1440 // WINDOW
            # start of each window in minutes since midnight (t0 is a multiple of the day here; general: use t0 + ...)
            start = (pl.col("win") * WINDOW - off + t0)
            allk = allk.with_columns((start % 60).alias("ph"), (start % 1440).alias("pd"))
            kk = k.with_columns((start % 60).alias("ph"), (start % 1440).alias("pd"))
            hours = (t1 - t0) / 60.0
            days = (t1 - t0) / 1440.0
            sh = allk.group_by("tmpl", "ph").agg(pl.col("c").sum().alias("sh"))
            sd = allk.group_by("tmpl", "pd").agg(pl.col("c").sum().alias("sd"))
            kk = kk.join(sh, on=["tmpl", "ph"]).join(sd, on=["tmpl", "pd"])
            kk = kk.with_columns(pl.max_horizontal("lam", (pl.col("sh") - pl.col("k")) / max(hours - 1, 1),
                                                   (pl.col("sd") - pl.col("k")) / max(days - 1, 1)).alias("lam"))
            k = kk.drop("ph", "pd", "sh", "sd")
        k = k.with_columns(pl.lit(grid).alias("grid"))
        out.append(k)
    k = pl.concat(out)
    M = n_t.height * n_windows
    p = poisson.sf(k["k"].to_numpy() - 1, k["lam"].to_numpy())
    k = k.with_columns(pl.Series("p", p)).filter(pl.col("p") < ALPHA / M)
    return k, M


def holders(ev, vals):
    t0 = ev["minute"].min()
    rows = []
    for grid, off in ((0, 0), (1, WINDOW // 2)):
        v = vals.filter(pl.col("grid") == grid).select("tmpl", "win")
        rows.append(ev.drop_nulls("tmpl").with_columns(((pl.col("minute") - t0 + off) // WINDOW).alias("win"))
                    .join(v, on=["tmpl", "win"]).select("account_id", "tmpl", "win", pl.lit(grid).alias("grid")).unique())
    return pl.concat(rows)


def report(world, parts_dir):
    name = os.path.basename(world)
    t = time.perf_counter()
    ev = load(world)
    lab = pl.read_parquet(f"{world}/labels.parquet")
    part = pl.read_parquet(f"{parts_dir}/{name}.parquet")
    lab = lab.join(part, on="account_id", how="left")
    ring = lab.filter(pl.col("kind") == "ring")
    unc = ring.filter(pl.col("cluster_id").is_null())
    unfl = ring.filter(~pl.col("flagged").fill_null(False))
    sched = schedule_of(ev)
    span = ev.group_by("account_id").agg((pl.col("minute").max() - pl.col("minute").min()).alias("span"))
    oneoff = span.filter(pl.col("span") < WINDOW // 2).select("account_id")
    rows = []
    for variant in VARIANTS:
        e = ev.join(sched, on="account_id", how="anti") if variant in ("unsched", "both", "oneoff") else ev
        if variant == "oneoff":
            e = e.join(oneoff, on="account_id", how="semi")
        vals, M = surprising(e, variant in ("phase", "both"))
        h = holders(e, vals).join(lab.select("account_id", "kind", "ring_id", "group_id", "cluster_id", "flagged"), on="account_id", how="left")
        vk = h.group_by("grid", "tmpl", "win").agg((pl.col("kind") == "ring").all().alias("ring_only"),
                                                   (pl.col("kind") != "ring").all().alias("other_only"))
        acc = h.select("account_id", "kind", "ring_id", "group_id", "cluster_id", "flagged").unique("account_id")
        r_acc = acc.filter(pl.col("kind") == "ring")
        o_acc = acc.filter(pl.col("kind") != "ring")
        unc_hit = r_acc.filter(pl.col("cluster_id").is_null())
        # cells with >= 5 unclustered ring accounts: how many of them reached (>= half their unclustered)
        cells = unc.group_by("ring_id").agg(pl.len().alias("unc")).filter(pl.col("unc") >= 5).join(
            unc_hit.group_by("ring_id").agg(pl.len().alias("hit")), on="ring_id", how="left").with_columns(pl.col("hit").fill_null(0))
        grp = o_acc.with_columns(pl.col("group_id").str.replace(r"\d+$", "").fill_null("-").alias("g")).group_by("kind", "g").len().sort("len", descending=True)
        rows.append(dict(world=name, variant=variant, M=M, values=vk.height, ring_only=int(vk["ring_only"].sum()),
                         other_only=int(vk["other_only"].sum()), ring=r_acc.height, ring_total=ring.height,
                         unc_hit=unc_hit.height, unc=unc.height,
                         unfl_hit=r_acc.filter(~pl.col("flagged").fill_null(False)).height, unfl=unfl.height,
                         other=o_acc.height, other_benign=o_acc.filter(pl.col("kind") == "benign").height,
                         other_flagged=o_acc.filter(pl.col("flagged").fill_null(False)).height,
                         cells_reached=f"{int((cells['hit'] * 2 >= cells['unc']).sum())}/{cells.height}",
                         other_groups=", ".join(f"{a}/{b}:{c}" for a, b, c in grp.head(6).iter_rows()),
                         scheduled=sched.height))
        if variant == VARIANTS[-1] and "DETAIL" in os.environ:
            top = vals.sort("k", descending=True).head(15)
            print(top)
            print(cells.sort("unc", descending=True).head(10))
    print(f"# {name}: {ev.height} events, {time.perf_counter() - t:.0f}s", flush=True)
    return rows


if __name__ == "__main__":
    parts_dir = sys.argv[1]
    all_rows = []
    for w in sys.argv[2:]:
        rows = report(w, parts_dir)
        for r in rows:
            print(f"{r['world']:18s} {r['variant']:8s} values {r['values']:5d} (ring-only {r['ring_only']}, other-only {r['other_only']}) "
                  f"ring {r['ring']}/{r['ring_total']} unclustered {r['unc_hit']}/{r['unc']} unflagged {r['unfl_hit']}/{r['unfl']} "
                  f"cells {r['cells_reached']} | other {r['other']} (benign {r['other_benign']}, flagged {r['other_flagged']}) [{r['other_groups']}] sched {r['scheduled']}", flush=True)
        all_rows += rows
    out = os.environ.get("OUT")
    if out:
        pl.DataFrame(all_rows).write_csv(out)
