"""Hub twins break-it (session 52, helper hub52): benign people on one hub writing a prompt that is public.

:mod:`graphlink.stages.hub_twins` groups the unclustered holders of a cluster's address or card who write that
cluster's phrases more often than chance (the log's rate). A place has habits: an office's in-house app sends a
framework's system prompt, a call centre's agents all use its tool, a carrier's users in one region paste the same
popular prompt. Each is beyond chance at its hub. Session 51's hub twins clustered them: the office's 296 staff and
the call centre's 297 agents were flagged (their team on the company card, scripted once the crowd writing its tool
was clustered too, and the crowd tied to it), and a carrier's 109-124 users pasting a popular prompt were tied to an
operator's cell on the same exit by that prompt and flagged. A hub's phrase must now be its clustered holders' own
before any twin joins (the scoring's reading, :func:`graphlink.stages.cluster_features.linked_own`): an operator's
template is held by its clustered cells, a public prompt by people whom nothing links.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import graphlink
from graphlink.config import CommunityConfig, PipelineConfig
from graphlink.stages.hub_twins import twin_accounts

START = np.datetime64("2024-05-06T00:00:00")
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu apple mango river stone cloud paper").split()
DAYS = 7
POPULAR = ("act as a senior software engineer and review the following code for bugs performance problems and style "
           "issues then suggest concrete improvements with examples")
FRAMEWORK = "you are a helpful assistant answer the question below clearly and concisely using the context provided"
TOOL = "you are the acme support desk assistant read the customer ticket below and draft a polite reply in the customers language"
RING = "restate the problem then list every known condition and reason step by step to the final answer"
TWINS = PipelineConfig(communities=CommunityConfig(hub_twins=True))
NO_TWINS = PipelineConfig(communities=CommunityConfig(hub_twins=False))


class _World:
    def __init__(self, seed: int = 52):
        self.rng = np.random.default_rng(seed)
        self.rows: list[tuple] = []
        self.k = 0

    def _prompt(self, templates: list[tuple[str, float]]) -> str:
        r = self.rng.random()
        for text, share in templates:
            if r < share:
                return f"{text} {' '.join(self.rng.choice(WORDS, 6))}"
            r -= share
        return " ".join(self.rng.choice(WORDS, 14))

    def add(self, name: str, n: int, hub: str, share_hub: float, card: str, templates: list[tuple[str, float]],
            hours: str = "day", pool: list[str] | None = None):
        """One account: ``n`` requests, a share from ``hub`` (else its own address) or each from ``pool``; office
        hours (08-19 UTC), an eight-hour ``shift`` or ``all`` day."""
        self.k += 1
        own, rng = f"10.{self.k // 250 % 250}.{self.k % 250}.9", self.rng
        day = rng.integers(0, DAYS, n)
        if hours == "all":
            hour = rng.integers(0, 24, n)
        else:
            start = 8 if hours == "day" else int(rng.integers(0, 3)) * 8
            hour = (start + rng.integers(0, 11 if hours == "day" else 8, n)) % 24
        for s in np.sort(day * 86400 + hour * 3600 + rng.integers(0, 3600, n)):
            ip = str(rng.choice(pool)) if pool else hub if rng.random() < share_hub else own
            self.rows.append((name, int(s), ip, card, self._prompt(templates)))

    def base(self, popular: float = 0.15):
        """600 homes (a share paste the popular prompt, a quarter use the framework) and an operator's loud cell."""
        for i in range(600):
            t = [(POPULAR, 0.5)] if (i * popular) % 1 + popular >= 1 else []
            self.add(f"home_{i}", 12, f"81.{i % 250}.{i // 250}.2", 1.0, f"card_home_{i}",
                     t + ([(FRAMEWORK, 0.3)] if i % 4 == 1 else []))
        for i in range(30):
            self.add(f"loud_{i}", 40, "", 0, f"card_loud_{i % 3}", [(RING, 0.9)], hours="all",
                     pool=[f"45.33.{j}.{j + 7}" for j in range(12)])
        return self

    def frame(self) -> pl.DataFrame:
        f = pl.DataFrame(self.rows, schema=["account_id", "seconds", "ip", "payment_fingerprint", "prompt"], orient="row")
        return f.with_columns((pl.lit(START).dt.cast_time_unit("us").dt.replace_time_zone("UTC")
                               + pl.duration(seconds=pl.col("seconds"))).alias("timestamp"),
                              pl.lit("okhttp/4.12.0").alias("user_agent")).drop("seconds")


def _flagged(frame: pl.DataFrame, config: PipelineConfig | None = None) -> dict[str, int]:
    r = graphlink.detect(frame, config=config)
    acc = (r.accounts.join(r.clusters.select("cluster_id", "flagged"), on="cluster_id", how="left")
           .with_columns(pl.col("flagged").fill_null(False), pl.col("account_id").str.extract(r"^([a-z]+)_").alias("g")))
    return dict(acc.group_by("g").agg(pl.col("flagged").sum()).iter_rows())


def test_an_offices_staff_sending_its_apps_framework_prompt_stay_unflagged():
    # 320 staff behind the office NAT, 20 on the company card; the in-house app wraps 80 % of requests in a framework's
    # system prompt that a quarter of the homes also send. Session 51's hub twins: 320 of 320 flagged.
    w = _World().base()
    for i in range(320):
        w.add(f"office_{i}", 30, "198.51.100.20", 0.95, "card_company" if i < 20 else f"card_staff_{i}",
              [(FRAMEWORK, 0.8), (POPULAR, 0.1)])
    flags = _flagged(w.frame(), TWINS)
    assert flags["office"] == 0 and flags["home"] == 0
    assert flags["loud"] == 30  # the operator's cell is flagged in the same run


def test_a_call_centres_agents_on_one_nat_sending_its_tool_around_the_clock_stay_unflagged():
    # 320 agents in three shifts behind one NAT, 20 on the company card, the support tool's prompt in 85 % of
    # requests (its text nobody else sends). Session 51's hub twins: 320 of 320 flagged.
    w = _World().base()
    for i in range(320):
        w.add(f"agent_{i}", 40, "198.51.100.30", 0.95, "card_bpo" if i < 20 else f"card_agent_{i}", [(TOOL, 0.85)],
              hours="shift")
    flags = _flagged(w.frame(), TWINS)
    assert flags["agent"] == 0 and flags["home"] == 0


def _with_carrier(w, cards: str):
    """An operator's cell of 60 on a carrier's CGNAT address (three cards ``{cards}_0..2``, its template and the popular
    prompt) and the carrier's 150 users there, all pasting the popular prompt."""
    for i in range(60):
        w.add(f"cell_{i}", 30, "100.64.0.1", 0.8, f"{cards}_{i % 3}", [(RING, 0.5), (POPULAR, 0.4)], hours="all")
    for i in range(150):
        w.add(f"mobile_{i}", 15, "100.64.0.1", 0.7, f"card_mob_{i}", [(POPULAR, 0.6)])
    return w


def test_a_carriers_users_pasting_a_popular_prompt_beside_an_operators_cell_on_its_exit_gain_no_flag():
    # An operator's cell of 60 on a carrier's CGNAT address (three cards, its template and the popular prompt); the
    # carrier's 150 users there all paste the popular prompt. Session 51's hub twins: 124 of them flagged (tied to
    # the cell by the prompt and the address); without hub twins a few Leiden places beside the cell are.
    w = _World().base()
    frame = _with_carrier(w, "card_loud").frame()
    on, off = _flagged(frame, TWINS), _flagged(frame, NO_TWINS)
    assert on["cell"] == 60
    assert on["mobile"] <= off["mobile"] <= 15
    assert on["home"] == 0


def test_a_carriers_users_pasting_the_public_prompt_an_operators_cells_all_send_gain_no_flag():
    # As above, but the operator's six other cells send the popular prompt too (240 clustered holders against 40
    # homes): the prompt is the operator's as the scoring reads it, and the carrier's 150 users, all pasting it on the
    # exit of one of its cells, were that cell's twins (129 flagged; without hub twins 4). The 40 homes that nothing
    # links write it too: a public prompt, no hub's template.
    w = _World()
    for i in range(600):
        w.add(f"home_{i}", 12, f"81.{i % 250}.{i // 250}.2", 1.0, f"card_home_{i}",
              ([(POPULAR, 0.5)] if (i * 0.15) % 1 + 0.15 >= 1 else []) + ([(FRAMEWORK, 0.3)] if i % 4 == 1 else []))
    for c in range(6):
        for i in range(30):
            w.add(f"loud_{c}_{i}", 40, "", 0, f"card_loud_{c}_{i % 3}", [(RING, 0.5), (POPULAR, 0.4)], hours="all",
                  pool=[f"45.{33 + c}.{j}.{j + 7}" for j in range(12)])
    frame = _with_carrier(w, "card_loud_0").frame()
    on, off = _flagged(frame, TWINS), _flagged(frame, NO_TWINS)
    assert on["cell"] == 60
    assert on["mobile"] <= off["mobile"] <= 15


def test_a_universitys_students_pasting_a_popular_prompt_stay_unflagged():
    # 420 students behind the campus NAT, a lab of 20 on the department card; two thirds paste the popular prompt.
    w = _World().base()
    for i in range(420):
        w.add(f"uni_{i}", 25, "198.51.100.9", 0.9, "card_dept" if i < 20 else f"card_stu_{i}",
              [(POPULAR, 0.6)] if (i < 20 or i % 3) else [])
    flags = _flagged(w.frame(), TWINS)
    assert flags["uni"] == 0 and flags["home"] == 0


def _hub(public: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Cluster 1 (accounts 0-5) on address 0 with ten unclustered holders (6-15), all writing phrases 1-6; the
    phrases' 20 other holders (20-39) are cluster 2 or, ``public``, in no cluster."""
    cid = [1] * 6 + [None] * 14 + ([None] * 20 if public else [2] * 20)
    part = pl.DataFrame({"account_idx": list(range(40)), "cluster_id": cid},
                        schema_overrides={"account_idx": pl.UInt32, "cluster_id": pl.Int64})
    rows = [(a, 0) for a in range(16)] + [(a, p) for a in list(range(16)) + list(range(20, 40)) for p in range(1, 7)]
    mem = pl.DataFrame(rows, schema={"account_idx": pl.UInt32, "signal_idx": pl.UInt32}, orient="row")
    sig = pl.DataFrame({"signal_idx": list(range(7)), "kind": ["ip"] + ["prompt"] * 6, "df": [16] + [36] * 6,
                        "linked": [True] * 7}, schema_overrides={"signal_idx": pl.UInt32})
    return part, mem, sig


def test_a_public_phrase_makes_no_twins_an_operators_template_does():
    # Ten of a hub's sixteen holders write six phrases 36 of 1000 accounts write: far beyond chance (0.36 expected).
    # Held mostly in clusters (the operator's other cell), they are its template: the ten are twins.
    part, mem, sig = _hub(public=False)
    assert sorted(twin_accounts(part, mem, sig, n_accounts=1000)["account_idx"].to_list()) == list(range(6, 16))
    # Held mostly by accounts in no cluster, they are a public prompt: nobody is a twin by them.
    part, mem, sig = _hub(public=True)
    assert twin_accounts(part, mem, sig, n_accounts=1000).is_empty()
