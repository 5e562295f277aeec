"""Small deterministic test worlds: an events frame with planted rings, and its detect output.

Used by the report and export tests::

    from tests._report_worlds import make_events, make_world, world, world_session  # noqa: F401 (fixtures)
    out_dir = make_world(tmp_path)          # runs detect, writes DIR

Fixtures: ``world_session`` (one detect run per test session, read-only) and
``world`` (a private copy of it per test).

The world has ``n_background`` innocent accounts (own card, own IP, free-text
prompts at random hours) and three rings:

* ring A (12 accounts): one shared card, one /24, a templated prompt, a
  shared user agent carrying XSS payloads and an e-mail, bursts at 02-04 UTC,
  one account id that is an HTML injection;
* ring B (8 accounts): two shared cards (one a spreadsheet formula), two
  shared IPs and an IPv6 /48, a templated prompt, a user agent with terminal
  escapes, one account id that is a spreadsheet formula;
* ring C (6 accounts): shared card and prompt template with XSS payloads in
  the prompts, and account ids that look like e-mail addresses.

Everything is seeded, so the same arguments give the same frame.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
#: Raw values planted in the world that must never appear in redacted outputs.
RING_A_CARD = "card_A_4111111111111111"
RING_B_CARDS = ("card_B_5500000000000004", "=HYPERLINK(\"http://evil\")")
RING_A_NET = "10.77.3"
RING_B_IPS = ("198.51.100.23", "198.51.100.24")
RING_B_IPV6 = "2001:db8:77:1::"
RING_C_EMAIL_DOMAIN = "ringmail.example"
RING_A_UA = f"ExtractBot/1.0 {XSS_SCRIPT} {XSS_IMG} contact ops@evil.example"
#: An account id that is itself an HTML injection attempt (ring A's last member).
XSS_ACCOUNT = 'ringA-11"><svg onload=alert(2)>'
#: A user agent with a terminal escape (title change) and a bell: not valid in XML either.
RING_B_UA = "python-requests/2.31 \x1b]0;pwned\x07"
#: A spreadsheet formula as an account id (ring B's last member).
FORMULA_ACCOUNT = "=cmd|' /C calc'!A0"
#: Raw e-mail addresses planted in the world (ring C's account ids and ring A's user agent).
EMAILS = tuple(f"agent{i}@ringmail.example" for i in range(6)) + ("ops@evil.example",)

_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
          "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
_START = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _free_text(rng: np.random.Generator, n: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS, size=12)) + f" {i}" for i in range(n)]


def make_events(n_background: int = 60, events_per_account: int = 12, seed: int = 7) -> pl.DataFrame:
    """The events frame (account_id, timestamp, ip, payment_fingerprint, prompt, user_agent)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("account_id", "timestamp", "ip", "payment_fingerprint",
                                              "prompt", "user_agent")}

    def add(account: str, ips: list[str], cards: list[str], prompts: list[str], ua: str, hours: list[int]):
        for j in range(events_per_account):
            day = int(rng.integers(0, 14))
            hour = hours[j % len(hours)]
            ts = _START + timedelta(days=day, hours=hour, minutes=int(rng.integers(0, 60)),
                                    seconds=int(rng.integers(0, 60)))
            rows["account_id"].append(account)
            rows["timestamp"].append(ts)
            rows["ip"].append(ips[j % len(ips)])
            rows["payment_fingerprint"].append(cards[j % len(cards)])
            rows["prompt"].append(prompts[j % len(prompts)])
            rows["user_agent"].append(ua)

    for i in range(n_background):
        add(f"user{i:04d}", [f"172.16.{i}.{int(rng.integers(1, 250))}"], [f"card_bg_{i:04d}"],
            _free_text(rng, 3), f"Mozilla/5.0 (bg {i})", [int(h) for h in rng.integers(0, 24, size=4)])
    template = "Think step by step and show all of your reasoning before answering question {n} about {w}"
    for i in range(12):
        add(XSS_ACCOUNT if i == 11 else f"ringA-{i:02d}", [f"{RING_A_NET}.{10 + i}"], [RING_A_CARD],
            [template.format(n=k, w=_WORDS[(i + k) % len(_WORDS)]) for k in range(4)],
            RING_A_UA, [2, 3, 4])
    b_template = "List every assumption behind the answer and rate how confident you are in each one, case {n}"
    for i in range(8):
        ips = [*RING_B_IPS, f"{RING_B_IPV6}{i + 1:x}"]
        _free_text(rng, 2)  # drawn as before, so the rest of the world is unchanged
        # Scripted: its two cards then read as a pool (a pool counts as far as its traffic is scripted).
        add(FORMULA_ACCOUNT if i == 7 else f"ringB-{i:02d}", ips, [RING_B_CARDS[i % 2]],
            [b_template.format(n=k) for k in range(2)], RING_B_UA, [13, 14])
    xss_template = "Translate into French and explain every idiom {p} carefully sentence {n}"
    for i in range(6):
        add(f"agent{i}@{RING_C_EMAIL_DOMAIN}", [f"203.0.113.{40 + i}"], ["card_C_shared_fingerprint_0001"],
            [xss_template.format(p=XSS_SCRIPT if k % 2 else XSS_IMG, n=k) for k in range(4)],
            f"curl/8.{i}", [20, 21])
    return pl.DataFrame(rows, schema_overrides={"timestamp": pl.Datetime("us", "UTC")})


def make_world(root: Path, name: str = "out", **kwargs) -> Path:
    """Run detect on :func:`make_events` and write the output folder ``root / name``."""
    import dataclasses

    from graphlink.config import PipelineConfig, ScoringConfig
    from graphlink.pipeline import run_detect
    from graphlink.store.outputs import write_outputs

    # These rings are tiny rendering fixtures, not realistic fleets: flag every cluster of
    # 5+ accounts so the report has sections to render (scoring is tested elsewhere).
    config = dataclasses.replace(PipelineConfig(), scoring=ScoringConfig(flag_threshold=0.0))
    result = run_detect(make_events(**kwargs), config=config)
    return write_outputs(result, Path(root) / name)


@pytest.fixture(scope="session")
def world_session(tmp_path_factory) -> Path:
    """Detect output folder of the default world, shared by the session: do not write into it."""
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def world(world_session: Path, tmp_path: Path) -> Path:
    """A private copy of the default world's output folder (tests may write into it)."""
    return Path(shutil.copytree(world_session, tmp_path / "out"))
