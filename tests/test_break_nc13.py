"""Break-it review of session 13's redesigned ``network_cells`` before it becomes the default (task breaknc13).

The redesign (:mod:`graphlink.stages.network_cells`) joins Leiden clusters that live on a network (/24,
/48) carrying >= 90 % clustered traffic, have no exact address or clock of their own, and share a *mark*:
a template shingle or client held by half of each cluster and whose holders are mostly (>= half) in the
network's clusters. Each world below is a small seeded log run through :func:`graphlink.pipeline.run_detect`
with the setting on (``ON``) and off (``OFF``). A ``xfail(strict=True)`` test is a defect (it passes once
fixed); a plain test is a control pinning the defect's edge or behaviour that holds.

The worlds differ from session 12's review (tests/test_break_session12.py) in one respect each: the
benign groups have neither an address nor a clock of their own (event-driven bots on one VM each, people
on privacy addresses) and they *do* share a mark -- a framework's stock prompt or client that nobody else
in the log sends. That is the shape the redesign still reads as an operator's cell.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from graphlink.config.build import build_config
from graphlink.pipeline import run_detect
from tests.test_break_pool import flagged
from tests.test_detection_classes import RING_TEMPLATE, T0, Log, _private_ip, _words, add_people, clusters_of

ON = build_config(network_cells=True)
OFF = build_config(network_cells=False)

#: A framework's stock system prompt (an agent framework's default), sent by every bot built on it.
FRAMEWORK_PROMPT = ("You are a helpful assistant. Use the tools available to answer the user's request. "
                    "Think about which tool to call next. Request: {}")
#: A framework's client.
FRAMEWORK_CLIENT = "agentkit-python/0.9.2"
#: Each firm's own template when the bots are in-house (five unrelated jobs sharing no three-word phrase).
OWN_TEMPLATES = ("Classify this support message into billing, outage or other: {}",
                 "Translate the following product review into German, keep the tone: {}",
                 "Write a two line summary of yesterday's sales figures for region {}",
                 "Extract every invoice number and due date from this email body {}",
                 "Suggest three catchy titles for a cooking blog post about {}")
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def frame(log: Log, clients: dict[str, str] | None = None) -> pl.DataFrame:
    """The log's events with a ``user_agent`` column: ``clients[account]`` or a browser."""
    events = log.frame()
    clients = clients or {}
    return events.with_columns(pl.col("account_id").replace_strict(clients, default=BROWSER, return_dtype=pl.String)
                               .alias("user_agent"))


def both(events: pl.DataFrame) -> tuple:
    return run_detect(events, config=OFF), run_detect(events, config=ON)


def flat(groups: list[list[str]]) -> list[str]:
    return [a for g in groups for a in g]


def flag_why(result, accounts: list[str]) -> str:
    rows = (result.accounts.filter(pl.col("account_id").is_in(accounts))
            .join(result.clusters.select("cluster_id", "flagged", "why"), on="cluster_id").filter("flagged"))
    return rows["why"][0] if rows.height else ""


# --- Worlds ----------------------------------------------------------------------------------------

def customers_world(seed: int = 3, customers: int = 5, bots: int = 4, shared_prompt: bool = True,
                    shared_client: bool = False, net: str = "203.0.113", jitter_hours: range = range(0, 24)
                    ) -> tuple[Log, list[list[str]], dict[str, str]]:
    """A hosting provider's /24 rented by ``customers`` unrelated firms, each running ``bots`` event-driven
    bots (one VM address each, requests at random minutes of ``jitter_hours``, no cron), paying with the
    firm's card. ``shared_prompt``: every bot is built on one agent framework and sends its stock prompt
    (else each firm its own template); ``shared_client``: every bot sends the framework's client (else
    python-requests with the firm's own version suffix). Ordinary people around, in browsers.
    Returns ``(log, bots by firm, clients)``."""
    rng = np.random.default_rng(seed)
    log, groups, clients = Log(), [], {}
    for c in range(customers):
        names = []
        own = OWN_TEMPLATES[c % len(OWN_TEMPLATES)]
        for i in range(bots):
            acc = f"cust{c}x{i}"
            names.append(acc)
            clients[acc] = FRAMEWORK_CLIENT if shared_client else f"python-requests/2.{20 + c}.{i}"
            for _ in range(int(rng.integers(25, 40))):
                ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.choice(list(jitter_hours))),
                                    minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                text = f"{_words(rng, 3)} {int(rng.integers(0, 10_000))}"
                log.add(acc, ts, f"{net}.{10 + 10 * c + i}", f"firm-card-{c}",
                        FRAMEWORK_PROMPT.format(text) if shared_prompt else own.format(text))
        groups.append(names)
    add_people(log, rng, 100)
    return log, groups, clients


def households_world(seed: int = 6, households: int = 8, per: int = 3, app: bool = True
                     ) -> tuple[Log, list[list[str]], dict[str, str]]:
    """Households of ``per`` people (one family card each) on an ISP's /48 (2001:db8:7::/48), each household
    a /56 and every request from a fresh privacy address inside it, free-form evening questions. ``app``:
    everyone uses the ISP's bundled assistant app (one client nobody outside the ISP runs); else a browser.
    Ordinary people around. Returns ``(log, people by household, clients)``."""
    rng = np.random.default_rng(seed)
    log, groups, clients = Log(), [], {}
    for hh in range(households):
        names = []
        for i in range(per):
            acc = f"fam{hh}x{i}"
            names.append(acc)
            if app:
                clients[acc] = "ExampleISP-Assistant/3.1 (Android)"
            for _ in range(int(rng.integers(8, 15))):
                ts = T0 + timedelta(days=int(rng.integers(0, 7)), hours=int(rng.integers(17, 23)),
                                    minutes=int(rng.integers(0, 60)))
                ip = (f"2001:db8:7:{hh:02x}{int(rng.integers(0, 256)):02x}:{int(rng.integers(1, 65535)):x}::"
                      f"{int(rng.integers(1, 65535)):x}")
                log.add(acc, ts, ip, f"fam-card-{hh}", f"how do I {_words(rng, 6)}")
        groups.append(names)
    add_people(log, rng, 100)
    return log, groups, clients


def operator_world(seed: int = 12, cells: int = 1, groups_n: int = 6, per: int = 5, templates: str = "one",
                   heavy_decoy: int = 0) -> tuple[Log, list[list[list[str]]], list[str]]:
    """An operator's ``cells`` cells, each on its own datacenter /24 (203.0.113+k.0/24): ``groups_n`` card
    groups of ``per`` accounts, one VM address per account, office hours at random minutes. ``templates``:
    "one" (the operator's template everywhere) or "per_group" (each card group its own). ``heavy_decoy``:
    requests of one extra account per block (own card, own address, free-form prompts). Ordinary people
    around. Returns ``(log, card groups by cell, decoys)``."""
    rng = np.random.default_rng(seed)
    log, out, decoys = Log(), [], []
    for k in range(cells):
        groups = []
        for g in range(groups_n):
            names = []
            template = RING_TEMPLATE if templates == "one" else OWN_TEMPLATES[g % len(OWN_TEMPLATES)] + " ({})"
            for i in range(per):
                acc = f"op{k}g{g}x{i}"
                names.append(acc)
                for d in range(4):
                    for h in range(9, 17):
                        ts = T0 + timedelta(days=d, hours=h, minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                        log.add(acc, ts, f"203.0.{113 + k}.{10 + per * g + i}", f"op-card-{k}-{g}",
                                template.format(_words(rng, 3), int(rng.integers(0, 1000))))
            groups.append(names)
        out.append(groups)
        if heavy_decoy:
            acc = f"decoy{k}"
            decoys.append(acc)
            for _ in range(heavy_decoy):
                ts = T0 + timedelta(days=int(rng.integers(0, 4)), hours=int(rng.integers(9, 17)),
                                    minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
                log.add(acc, ts, f"203.0.{113 + k}.250", f"decoy-card-{k}", f"how do I {_words(rng, 6)}")
    add_people(log, rng, 100)
    return log, out, decoys


def drag_world(client: str = "python-requests/2.31.0") -> tuple[pl.DataFrame, list[str], list[str]]:
    """:func:`operator_world`'s cell (6 card groups of 5 on 203.0.113.0/24, the operator's template) and, on
    the same /24, a benign firm's 4 event-driven bots (one VM address each, the firm's card, the firm's own
    template, around the clock). The cell and the firm send ``client``; everyone else a browser.
    Returns ``(events, cell, firm)``."""
    log, cells, _ = operator_world()
    rng = np.random.default_rng(40)
    firm = []
    for i in range(4):
        acc = f"firm{i}"
        firm.append(acc)
        for _ in range(30):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)),
                                minutes=int(rng.integers(0, 60)), seconds=int(rng.integers(0, 60)))
            log.add(acc, ts, f"203.0.113.{200 + i}", "firm-card",
                    OWN_TEMPLATES[1].format(f"{_words(rng, 3)} {int(rng.integers(0, 10_000))}"))
    cell = flat(cells[0])
    clients = {**{a: client for a in cell}, **{a: "python-requests/2.31.0" for a in firm}}
    return frame(log, clients), cell, firm


# --- 1. Benign groups sharing a framework's mark on one network: joined, and flagged -----------------

@pytest.mark.xfail(strict=True, reason=(
    "network_cells: 5 unrelated hosting customers on one provider /24, each 4 event-driven bots (one VM "
    "address each, no cron, the firm's card) built on one agent framework whose stock prompt nobody else "
    "in the log sends: OFF 5 clusters of 4, none flagged; ON one cluster of 20, all 20 flagged (template "
    "share 100 % + the 5 firm cards read as a card pool; why: 'joined: 5 clusters living on "
    "203.0.113.0/24 and sharing a template or client'). A framework's stock prompt passes MARK_SPECIFIC "
    "when the block's customers are its only users; no address or clock of their own makes them pieces"))
def test_hosting_customers_on_one_framework_are_not_flagged():
    log, groups, clients = customers_world()
    off, on = both(frame(log, clients))
    bots = flat(groups)
    assert sorted(clusters_of(off, bots).values()) == [4] * 5 and flagged(off, bots) == 0
    assert flagged(on, bots) == 0, flag_why(on, bots)


@pytest.mark.xfail(strict=True, reason=(
    "network_cells: the edge of the hosting case -- TWO customers of 4 bots on the framework are enough: "
    "OFF 2 clusters of 4 unflagged, ON one cluster of 8, all 8 flagged (2 cards of 4 read as a card pool). "
    "Two customers of 2 bots are joined (4) but not flagged"))
def test_two_customers_on_one_framework_are_not_flagged():
    log, groups, clients = customers_world(customers=2)
    off, on = both(frame(log, clients))
    bots = flat(groups)
    assert flagged(off, bots) == 0
    assert flagged(on, bots) == 0, flag_why(on, bots)


@pytest.mark.xfail(strict=True, reason=(
    "network_cells (low: joined, not flagged): 5 hosting customers with their OWN templates whose bots "
    "all send one framework client (agentkit-python/0.9.2) nobody else runs: OFF 5 clusters of 4, ON one "
    "cluster of 20 (unflagged only because the templates differ). A client is a mark on its own, so a "
    "shared SDK joins unrelated firms"))
def test_hosting_customers_sharing_only_a_client_stay_apart():
    log, groups, clients = customers_world(shared_prompt=False, shared_client=True)
    on = run_detect(frame(log, clients), config=ON)
    bots = flat(groups)
    assert sorted(clusters_of(on, bots).values()) == [4] * 5
    assert flagged(on, bots) == 0


def test_hosting_customers_with_their_own_templates_and_clients_stay_apart_control():
    """The edge of the three above: own template and own client version per firm, no address or clock of
    their own either -- nothing is a mark, so ON = OFF: 5 clusters of 4, none flagged."""
    log, groups, clients = customers_world(shared_prompt=False)
    off, on = both(frame(log, clients))
    bots = flat(groups)
    for result in (off, on):
        assert sorted(clusters_of(result, bots).values()) == [4] * 5 and flagged(result, bots) == 0


@pytest.mark.xfail(strict=True, reason=(
    "network_cells (low: joined, not flagged): 8 households of 3 (family card each) on one ISP /48, privacy "
    "addresses (no address of their own), evening free-form questions, all through the ISP's bundled "
    "assistant app (one client nobody else runs): OFF 8 clusters of 3, ON one cluster of 24 households "
    "(the module docstring says a building's households 'write different things'; the client is a mark)"))
def test_isp_households_on_one_app_are_not_joined():
    log, groups, clients = households_world()
    on = run_detect(frame(log, clients), config=ON)
    fam = flat(groups)
    assert sorted(clusters_of(on, fam).values()) == [3] * 8
    assert flagged(on, fam) == 0


def test_isp_households_in_browsers_stay_apart_control():
    log, groups, clients = households_world(app=False)
    off, on = both(frame(log, clients))
    fam = flat(groups)
    for result in (off, on):
        assert sorted(clusters_of(result, fam).values()) == [3] * 8 and flagged(result, fam) == 0


# --- 2. A benign group dragged into an operator's cell -----------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "network_cells: a benign firm's 4 bots (own template, own card, one VM address each, no clock) on the "
    "operator's datacenter /24, sending the same HTTP client version as the operator's cell (no one else "
    "in the log does): OFF the firm is a cluster of 4, unflagged; ON it is joined into the cell's cluster "
    "(7 pieces, 34 accounts) and all 4 are flagged. One shared client string is enough to drag a "
    "neighbour into a flagged cell"))
def test_a_firm_sharing_only_a_client_with_an_operator_on_its_block_is_not_flagged():
    events, cell, firm = drag_world()
    off, on = both(events)
    assert flagged(off, firm) == 0 and sorted(clusters_of(off, firm).values()) == [4]
    assert not set(clusters_of(on, firm)) & set(clusters_of(on, cell))
    assert flagged(on, firm) == 0, flag_why(on, firm)


def test_a_firm_with_another_client_on_the_operators_block_is_not_joined_control():
    """The edge: the cell runs another client; the firm stays apart and unflagged, the cell is joined and flagged."""
    events, cell, firm = drag_world(client="Go-http-client/1.1")
    on = run_detect(events, config=ON)
    assert not set(clusters_of(on, firm)) & set(clusters_of(on, cell))
    assert flagged(on, firm) == 0
    assert sorted(clusters_of(on, cell).values()) == [30] and flagged(on, cell) == 30


# --- 3. Operators evading the join ------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "network_cells: an operator running THREE cells (6 card groups of 5 each), each on its own datacenter "
    "/24, all sending its one template: none is joined (18 unflagged clusters of 5). MARK_SPECIFIC counts "
    "the template's holders over one network's block (networks joined by clusters tied to several); three "
    "unrelated blocks each hold a third. Session 19 counted over all blocks and joined them, but break19 "
    "found firms sending one agent framework on separate /24s joined and flagged the same way: blocks tie "
    "only through something else of the operator's (a card, an address, a clock), which these cells lack"))
def test_an_operator_with_three_cells_on_three_blocks_is_joined():
    log, cells, _ = operator_world(cells=3)
    on = run_detect(frame(log), config=ON)
    for cell in cells:
        assert sorted(clusters_of(on, flat(cell)).values()) == [30]


def test_an_operator_with_two_cells_on_two_blocks_is_joined_control():
    log, cells, _ = operator_world(cells=2)
    on = run_detect(frame(log), config=ON)
    for cell in cells:
        assert sorted(clusters_of(on, flat(cell)).values()) == [30] and flagged(on, flat(cell)) == 30


@pytest.mark.xfail(strict=True, reason=(
    "network_cells: ONE decoy account (own card, own address on the cell's /24, free-form prompts) sending "
    "120 requests -- 11 % of the block's 1,080 -- makes the block non-exclusive (CLUSTERED_SHARE 0.9): the "
    "cell of 30 stays 6 unflagged clusters of 5, ON = OFF; the decoy is in no cluster. Exclusivity by "
    "traffic stopped many light decoys (session 12), not one heavy one"))
def test_one_heavy_decoy_does_not_keep_a_cell_apart():
    log, cells, decoys = operator_world(heavy_decoy=120)
    on = run_detect(frame(log), config=ON)
    cell = flat(cells[0])
    assert sorted(clusters_of(on, cell).values()) == [30]


def test_a_lighter_decoy_does_not_keep_a_cell_apart_control():
    """The edge: 60 requests (6 % of the block) -- the cell is joined and flagged, the decoy is not."""
    log, cells, decoys = operator_world(heavy_decoy=60)
    on = run_detect(frame(log), config=ON)
    cell = flat(cells[0])
    assert sorted(clusters_of(on, cell).values()) == [30] and flagged(on, cell) == 30 and flagged(on, decoys) == 0



def add_template_senders(log: Log, n: int, requests: int, seed: int = 77) -> list[str]:
    """``n`` throw-away accounts, each on its own home address with its own card, sending the operator's
    template ``requests`` times (nothing else links them)."""
    rng = np.random.default_rng(seed)
    names = []
    for k in range(n):
        acc = f"throw{k}"
        names.append(acc)
        for _ in range(requests):
            ts = T0 + timedelta(days=int(rng.integers(0, 4)), hours=int(rng.integers(9, 17)), minutes=int(rng.integers(0, 60)))
            log.add(acc, ts, _private_ip(5000 + k), f"throw-card-{k}", RING_TEMPLATE.format(_words(rng, 3), int(rng.integers(0, 1000))))
    return names


@pytest.mark.xfail(strict=True, reason=(
    "network_cells: 31 throw-away accounts (own home address, own card) sending the operator's template "
    "3 times each (93 requests, under a tenth of the cell's 960) make the template non-specific "
    "(MARK_SPECIFIC: the block's clusters hold 30 of its 61 holders): the cell of 30 stays 6 unflagged "
    "clusters of 5, ON = OFF; the throw-aways are in no cluster, unflagged"))
def test_throw_away_template_senders_do_not_keep_a_cell_apart():
    log, cells, _ = operator_world()
    throw = add_template_senders(log, 31, 3)
    on = run_detect(frame(log), config=ON)
    assert flagged(on, throw) == 0
    assert sorted(clusters_of(on, flat(cells[0])).values()) == [30]


def test_single_request_template_senders_do_not_keep_a_cell_apart_control():
    """The edge: the same 31 accounts with one request each do not dilute the template (the cell is joined
    and flagged, they are not)."""
    log, cells, _ = operator_world()
    throw = add_template_senders(log, 31, 1)
    on = run_detect(frame(log), config=ON)
    assert flagged(on, throw) == 0
    assert sorted(clusters_of(on, flat(cells[0])).values()) == [30] and flagged(on, flat(cells[0])) == 30

def test_an_operator_varying_the_template_per_card_group_is_not_joined_control():
    """An operator giving each card group its own template (the 6 groups use 5 templates, groups 0 and 5 the
    same) looks like unrelated hosting customers: ON joins only the two groups sharing one (10), nothing is
    flagged by the join, as OFF. Not fixable by this rule without joining the customers of the control above;
    listed in the report as an evasion the rule cannot see. (Since session 23 one group of 5 is flagged on its
    own, ON and OFF alike: five accounts on its card sending its template off any schedule, each on its own
    address, are one payer's scripted load -- ``scripted_accounts``.)"""
    log, cells, _ = operator_world(templates="per_group")
    off, on = both(frame(log))
    cell = flat(cells[0])
    assert sorted(clusters_of(off, cell).values()) == [5] * 6
    assert sorted(clusters_of(on, cell).values()) == [5, 5, 5, 5, 10]
    assert flagged(on, cell) == flagged(off, cell) == 5


# --- 4. Outputs ------------------------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "network_cells: the why of a joined cluster says 'sharing a template or client' but not WHICH: in the "
    "drag world the firm was joined to the cell only through the client python-requests/2.31.0 and the "
    "reviewer cannot see that the one tie is a common HTTP library (the network is named, the mark is not)"))
def test_the_why_of_a_joined_cluster_names_the_shared_mark():
    events, cell, firm = drag_world()
    on = run_detect(events, config=ON)
    why = flag_why(on, firm)
    assert "joined" in why and "python-requests/2.31.0" in why, why


def test_the_join_is_deterministic_and_order_free_control():
    log, groups, clients = customers_world()
    events = frame(log, clients)

    def out(result):
        return result.accounts.sort("account_id").select("account_id", "cluster_id", "campaign_id")

    first, again = run_detect(events, config=ON), run_detect(events, config=ON)
    shuffled = run_detect(events.sample(fraction=1.0, shuffle=True, seed=5), config=ON)
    assert out(first).equals(out(again)) and out(first).equals(out(shuffled))
    assert first.clusters.select("cluster_id", "flagged", "why").equals(shuffled.clusters.select("cluster_id", "flagged", "why"))


def test_match_does_not_attribute_newcomers_on_a_joined_block_control(tmp_path):
    """Three new people (own cards, own addresses on the joined customers' /24, browsers) and two new bots
    of another firm on the framework (new VM addresses of the /24, new card) are matched to no cluster, on
    or off."""
    import graphlink
    from tests.test_break_session12 import add_outsiders

    log, groups, clients = customers_world()
    frame(log, clients).write_parquet(tmp_path / "events.parquet")
    new = Log()
    people = add_outsiders(new, 3, net="203.0.113", seed=2)
    rng = np.random.default_rng(9)
    bots = ["newbot0", "newbot1"]
    for i, acc in enumerate(bots):
        for _ in range(20):
            ts = T0 + timedelta(days=int(rng.integers(0, 5)), hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60)))
            new.add(acc, ts, f"203.0.113.{150 + i}", "newfirm-card", FRAMEWORK_PROMPT.format(_words(rng, 3)))
    frame(new, {b: FRAMEWORK_CLIENT for b in bots}).write_parquet(tmp_path / "new.parquet")
    for on in (False, True):
        graphlink.detect(tmp_path / "events.parquet", network_cells=on).save(tmp_path / f"out{on}")
        got = graphlink.match(tmp_path / f"out{on}", tmp_path / "new.parquet").matches
        assert got.filter(pl.col("account_id").is_in(people + bots))["cluster_id"].null_count() == 5


def test_spark_engine_joins_the_drag_world_alike(spark, tmp_path):
    """Engine parity on a join driven by a client mark (user_agent), the firm included."""
    import graphlink

    events, cell, firm = drag_world()
    events.write_parquet(tmp_path / "events.parquet")
    a = graphlink.detect(tmp_path / "events.parquet", network_cells=True)
    b = graphlink.detect(str(tmp_path / "events.parquet"), engine="spark", spark=spark, network_cells=True)
    cols = ("account_id", "cluster_id", "campaign_id")
    assert a.accounts.sort("account_id").select(cols).equals(b.accounts.sort("account_id").select(cols))
    assert a.clusters["flagged"].to_list() == b.clusters["flagged"].to_list()
    assert a.clusters["why"].to_list() == b.clusters["why"].to_list()


def test_the_mapping_of_joined_pieces_does_not_depend_on_the_previous_row_order():
    """Fixed in session 13 (was a strict xfail of the break-it review): cluster_mapping sorts
    merged rows by previous id after the stable id they share, so the order is the same for any
    row order of the previous run."""
    log, cells, _ = operator_world()
    events = frame(log)
    previous = run_detect(events, config=OFF).accounts.select("account_id", "cluster_id")
    first = run_detect(events, config=ON, previous=previous).cluster_mapping
    assert first.filter(pl.col("status") == "merged").height == 6
    for seed in (1, 2, 3):
        shuffled = run_detect(events, config=ON, previous=previous.sample(fraction=1.0, shuffle=True, seed=seed))
        assert shuffled.cluster_mapping.equals(first)
