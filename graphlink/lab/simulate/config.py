"""Simulation knobs and named presets.

Every knob of the simulator lives in :class:`SimulationConfig`, a frozen
dataclass, so a world is fully described by ``(config, seed)``.  The comment
above each field says why its default was chosen; the defaults describe the
``small`` world used by the test fixtures.

Examples
--------
>>> from graphlink.lab.simulate.config import PRESETS, SimulationConfig
>>> sorted(PRESETS)
['campaign', 'medium', 'small']
>>> PRESETS["small"].n_benign
2600
>>> cfg = SimulationConfig(camouflage_share=0.3)
>>> cfg.camouflage_share
0.3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["SimulationConfig", "PRESETS"]


@dataclass(frozen=True)
class SimulationConfig:
    """All parameters of a simulated API-log world.

    Ranges are given as inclusive ``(low, high)`` tuples.  Shares are
    probabilities in ``[0, 1]``.  See the module source for the reasoning
    behind each default.

    Attributes
    ----------
    start : datetime
        First instant of the simulated log (UTC).
    days : int
        Length of the log in days.
    chunk_events : int
        Target number of events generated (and written as one Parquet row
        group) per chunk; bounds memory for large worlds.
    n_benign : int
        Ordinary, unlinked benign accounts (kind ``"benign"``).
    benign_events_median, benign_events_sigma, benign_events_max : float, float, int
        Log-normal distribution of events per benign account.
    benign_created_years : float
        Benign accounts are created uniformly over this many years before
        ``start`` (and during the log).
    benign_created_during_share : float
        Share of benign accounts created during the log window.
    weekend_activity : float
        Relative weight of Saturday/Sunday activity for diurnal traffic.
    residential_networks : int
        Number of distinct residential /24 networks in the world.
    home_ips : tuple[int, int]
        Home IPv4 addresses per benign account.
    travel_event_share : float
        Share of benign events sent from a random residential IP (travel,
        cafes, friends' networks).
    ipv6_share : float
        Share of benign accounts that connect over IPv6.
    ipv6_event_share : float
        Share of an IPv6 account's events sent over IPv6 (rest: home IPv4).
    ipv6_subnets : tuple[int, int]
        /64 subnets used per IPv6 account inside its /48.
    n_university_nats, university_nat_accounts, university_nat_ips : int, tuple, tuple
        University egress NATs, accounts behind each, and egress IPs each.
    n_corporate_nats, corporate_nat_accounts, corporate_nat_ips : int, tuple, tuple
        Corporate egress NATs of unrelated employees.
    nat_event_share : float
        Share of a NAT member's events sent through the NAT.
    mobile_share : float
        Share of benign accounts that often use a mobile carrier.
    n_carriers, carrier_prefixes : int, int
        Mobile carriers and the carrier-grade-NAT /24s each one uses.
    carrier_egress_ips : int
        Public CGNAT egress addresses used in each carrier /24.
    mobile_event_share : float
        Share of a mobile user's events sent from the carrier CGNAT pool.
    family_share, family_size : float, tuple[int, int]
        Share of benign accounts in families sharing one card, family size.
    no_card_share : float
        Share of benign accounts without a payment method (free tier).
    n_company_domains, n_university_domains : int, int
        Size of the pools of company and university email domains.
    n_rare_user_agents : int
        Long tail of rarely used user-agent strings.
    secondary_ua_share : float
        Share of an account's events sent with its secondary user agent.
    free_words : tuple[int, int]
        Free-text words appended to benign prompts.
    n_teams, team_size : int, tuple[int, int]
        Benign-linked enterprise teams and their sizes.
    team_created_days : int
        Team accounts are created over this many days before ``start``.
    team_nightly_share : float
        Share of teams whose batch job runs at night instead of office hours.
    team_job_share : float
        Share of a team member's events that are the scheduled job.
    team_events : tuple[int, int]
        Events per team account.
    team_office_ip_share : float
        Share of a team member's events sent through the office NAT IP.
    team_office_ips : tuple[int, int]
        Egress IPs (all in one office /24) per team office.
    team_shared_nat_share : float
        Share of teams whose office NAT is also used by unrelated benign
        employees of the same company.
    team_nat_coworkers : tuple[int, int]
        Unrelated benign co-workers behind a shared office NAT.
    n_ring_accounts : int
        Total ring accounts (kind ``"ring"``); split into cells.
    ring_cell_size : tuple[int, int]
        Accounts per cell; each cell has its own ``ring_id``.
    n_operators : int
        Operators running the cells; an operator's cells share templates,
        user agents and proxy provider networks.
    ring_templates_per_operator : tuple[int, int]
        Chain-of-thought templates used per operator.
    ring_events : tuple[int, int]
        Events per ring account (uniform).
    card_pool_size : tuple[int, int]
        Ring accounts sharing one payment fingerprint.
    ring_unique_card_share : float
        Share of ring accounts on a card of their own.
    proxy_pool_size : tuple[int, int]
        Residential proxy IPs available to each cell.
    proxy_networks : tuple[int, int]
        Residential /24 networks each operator's proxy provider exits from.
    proxy_benign_overlap : float
        Share of proxy /24 networks that are also benign home networks.
    burst_participation : float
        Expected share of a cell's accounts firing in each burst.
    burst_window_seconds : int
        A burst's requests all fall within this many seconds.
    ring_creation_hours : float
        A cell's accounts are all created within this many hours.
    ring_precreate_days : int
        Cells may be created up to this many days before ``start``.
    camouflage_share : float
        Share of each ring account's events that imitate benign traffic.
    ring_common_ua_share : float
        Share of operators using popular SDK user agents instead of
        scripted strings.
    disposable_email_share : float
        Share of ring accounts on disposable email domains (rest: free
        webmail).
    """

    # --- time ---------------------------------------------------------------
    # Monday 2025-01-06: starting on a Monday keeps weekday/weekend structure
    # aligned with day indices, which makes plots easy to read.
    start: datetime = datetime(2025, 1, 6, tzinfo=timezone.utc)
    # Two weeks: two full weekly cycles, short enough for a tiny fixture.
    days: int = 14
    # One million events per chunk keeps a chunk's arrays (prompts dominate,
    # ~150 bytes each) around a few hundred MB while row groups stay large.
    chunk_events: int = 1_000_000

    # --- benign population ----------------------------------------------------
    # ~2.6k benign accounts: the small world must stay a few thousand accounts.
    n_benign: int = 2600
    # Median 6 requests per account with sigma 1.3 gives a mean of ~14 and a
    # heavy tail of power users (a few accounts with thousands of requests),
    # matching the usual long-tailed API usage.
    benign_events_median: float = 6.0
    benign_events_sigma: float = 1.3
    # Cap the tail so one account cannot dominate a small world.
    benign_events_max: int = 3000
    # Accounts accumulate over years; three years is a typical product age.
    benign_created_years: float = 3.0
    # A few percent of accounts sign up while the log is running.
    benign_created_during_share: float = 0.05
    # People use APIs less at weekends but not zero.
    weekend_activity: float = 0.6

    # --- networks ---------------------------------------------------------------
    # Many networks: ordinary users rarely share a /24 by accident.
    residential_networks: int = 4000
    # Home router, phone tethering, parents' house.
    home_ips: tuple[int, int] = (1, 3)
    # Occasional travel / cafe traffic.
    travel_event_share: float = 0.03
    # Roughly the IPv6 share of residential API traffic today.
    ipv6_share: float = 0.15
    # Dual-stack homes still send some requests over IPv4.
    ipv6_event_share: float = 0.8
    # Privacy addresses rotate interface ids; most homes use one /64.
    ipv6_subnets: tuple[int, int] = (1, 2)
    # University NATs put hundreds of students behind a few IPs.
    n_university_nats: int = 2
    university_nat_accounts: tuple[int, int] = (150, 400)
    university_nat_ips: tuple[int, int] = (1, 4)
    # Corporate NATs of employees who do NOT form a linked team.
    n_corporate_nats: int = 2
    corporate_nat_accounts: tuple[int, int] = (80, 250)
    corporate_nat_ips: tuple[int, int] = (1, 2)
    # On campus / at the office most of the time.
    nat_event_share: float = 0.8
    # A fifth of users are often on mobile data.
    mobile_share: float = 0.2
    # A few carriers, each with a couple of /24 CGNAT pools shared by
    # thousands of subscribers.
    n_carriers: int = 3
    carrier_prefixes: int = 2
    # CGNAT puts hundreds of subscribers on each public address, so only a
    # few addresses per /24 are in use at a time.
    carrier_egress_ips: int = 4
    # Mobile users split time between phone and home.
    mobile_event_share: float = 0.5

    # --- payment, email, user agents ---------------------------------------------
    # Families and small households sharing a card.
    family_share: float = 0.08
    family_size: tuple[int, int] = (2, 4)
    # Free-tier users have no card on file.
    no_card_share: float = 0.25
    # Enough company domains that most are rare.
    n_company_domains: int = 300
    n_university_domains: int = 40
    # A long tail of custom/bespoke clients.
    n_rare_user_agents: int = 500
    # Users sometimes switch tools (notebook vs. script).
    secondary_ua_share: float = 0.1
    # Free text keeps benign prompts ~15-50 words.
    free_words: tuple[int, int] = (5, 25)

    # --- benign-linked enterprise teams ----------------------------------------------
    # A handful of teams in the small world.
    n_teams: int = 5
    # Teams of 5-60 accounts sharing a corporate card.
    team_size: tuple[int, int] = (5, 60)
    # Enterprise seats are provisioned over months, not in a burst.
    team_created_days: int = 180
    # Some teams run nightly batch jobs, most during office hours.
    team_nightly_share: float = 0.3
    # Most team traffic is the scheduled job; the rest is ad-hoc use.
    team_job_share: float = 0.7
    # Scheduled jobs: a few requests per working day.
    team_events: tuple[int, int] = (10, 60)
    # Office traffic goes out through the office NAT.
    team_office_ip_share: float = 0.9
    # An office NAT has one or two egress IPs in the office /24.
    team_office_ips: tuple[int, int] = (1, 2)
    # Half of the offices are shared with unrelated benign colleagues.
    team_shared_nat_share: float = 0.5
    team_nat_coworkers: tuple[int, int] = (10, 80)

    # --- rings -----------------------------------------------------------------------
    # A few cells in the small world.
    n_ring_accounts: int = 450
    # Cells of tens to hundreds of accounts.
    ring_cell_size: tuple[int, int] = (30, 150)
    # Two operators: cells of one operator look alike (shared templates).
    n_operators: int = 2
    # A few templates per operator.
    ring_templates_per_operator: tuple[int, int] = (2, 4)
    # Ring accounts are high-volume (small world: keep the file tiny).
    ring_events: tuple[int, int] = (40, 90)
    # Payment pools of tens of accounts per card.
    card_pool_size: tuple[int, int] = (10, 40)
    # Some ring accounts pay with cards of their own.
    ring_unique_card_share: float = 0.15
    # Rotating residential proxies: an IP per request from a large pool.
    proxy_pool_size: tuple[int, int] = (300, 1500)
    # Proxy providers exit from many residential /24s.
    proxy_networks: tuple[int, int] = (100, 400)
    # Half of the proxy networks are the same /24s benign users live in.
    proxy_benign_overlap: float = 0.5
    # Most of a cell fires in every burst.
    burst_participation: float = 0.7
    # "Fires within the same minute".
    burst_window_seconds: int = 60
    # Accounts are registered by a script within a couple of hours.
    ring_creation_hours: float = 2.0
    # Some cells are aged for a few weeks before use.
    ring_precreate_days: int = 30
    # One request in ten is camouflage traffic.
    camouflage_share: float = 0.1
    # Half of the operators hide behind popular SDK user agents.
    ring_common_ua_share: float = 0.5
    # Rings mix disposable domains with free webmail.
    disposable_email_share: float = 0.4

    def replace(self, **changes: object) -> "SimulationConfig":
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes
            Field names and new values.

        Returns
        -------
        SimulationConfig
            The modified copy.

        Examples
        --------
        >>> SimulationConfig().replace(n_benign=10).n_benign
        10
        """
        return dataclasses.replace(self, **changes)


#: Named worlds.  ``small``: ~3.3k accounts, ~75k events, a few MB, seconds.
#: ``medium``: ~1M events.  ``campaign``: >=24k ring accounts sending >=16M
#: prompts among >=200k benign accounts, >=22M events.
PRESETS: dict[str, SimulationConfig] = {
    "small": SimulationConfig(),
    "medium": SimulationConfig(
        days=28,
        n_benign=33_000,
        residential_networks=40_000,
        n_university_nats=6,
        n_corporate_nats=8,
        n_carriers=4,
        carrier_prefixes=3,
        n_company_domains=2_000,
        n_university_domains=200,
        n_rare_user_agents=3_000,
        n_teams=25,
        n_ring_accounts=4_000,
        ring_cell_size=(40, 300),
        n_operators=5,
        ring_events=(100, 170),
        proxy_pool_size=(1_000, 4_000),
        proxy_networks=(300, 1_000),
    ),
    "campaign": SimulationConfig(
        days=30,
        n_benign=200_000,
        benign_events_median=10.0,
        benign_events_sigma=1.3,
        benign_events_max=20_000,
        residential_networks=250_000,
        n_university_nats=25,
        university_nat_accounts=(200, 800),
        n_corporate_nats=60,
        corporate_nat_accounts=(100, 400),
        n_carriers=6,
        carrier_prefixes=4,
        n_company_domains=20_000,
        n_university_domains=800,
        n_rare_user_agents=20_000,
        n_teams=250,
        team_events=(20, 200),
        n_ring_accounts=24_000,
        ring_cell_size=(50, 400),
        n_operators=12,
        ring_events=(620, 920),
        card_pool_size=(10, 60),
        proxy_pool_size=(3_000, 20_000),
        proxy_networks=(1_000, 5_000),
    ),
}
