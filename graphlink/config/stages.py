"""Configuration: one frozen dataclass per pipeline stage.

Every threshold and seed graphlink uses lives here with its default and the reasoning behind the default, so a run is fully described by its config (it is written to ``run.json``). Each setting sits in the config of the stage that reads it. Every config validates itself on construction (:class:`ConfigError`) and holds no mutable values (mappings are read-only proxies). Build configs with
:func:`graphlink.config.build_config` (keyword overrides, CLI flags, ``run.json``)
or from a ``graphlink.toml``::

    [columns]            # canonical = "column in your file"
    account_id = "user"
    [signals]
    ngram = 4
    [kinds.payment]      # per-kind weight / cap / strength
    max_accounts = 30
    [communities]
    seed = 7
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from graphlink.config.checks import at_least, check, frozen_mapping, plain, seed_range, share
from graphlink.config.columns import ACCOUNT_COLUMNS, EVENT_COLUMNS, check_column_map
from graphlink.config.graph import GraphConfig
from graphlink.config.kinds import DEFAULT_CUSTOM_KIND, KindSpec, check_signal_columns
from graphlink.errors import ConfigError

#: Input formats :class:`IngestConfig` accepts (``None``: from the file extension).
FORMATS = ("parquet", "csv", "tsv", "ndjson")


@dataclass(frozen=True)
class IngestConfig:
    """How input files are read.

    Attributes
    ----------
    format : {"parquet", "csv", "ndjson"} or None
        Events file format; ``None`` picks it from the file extension.
    column_map : tuple of (canonical, source) pairs
        Renames applied before anything else, e.g. ``(("account_id", "user"),)``.
    timestamp_format : str or None
        A strftime/chrono format (``%d/%m/%Y %H:%M:%S``) for the events' ``timestamp`` text; ``None`` (default) reads the
        unambiguous spellings (ISO-8601 with ``T`` or a space, offsets, ``Z``/``UTC``/``GMT``, epoch
        seconds to nanoseconds, see :func:`graphlink.stages.timestamps.parse_timestamp`)
        and never guesses day-first against month-first.
    separator : str or None
        Field separator of a CSV file; ``None`` (default) sniffs it from the header line (``,``, ``;``, tab or ``|``; ``,`` when unsure).

    Raises
    ------
    ConfigError
        A malformed column map, or a separator that is not one character. Canonical names in the column
        map are checked against the known columns and ``extra_signals``, and a source column mapped to
        two names is refused, by :class:`PipelineConfig` (:func:`check_column_map`).
    """

    format: str | None = None
    column_map: tuple[tuple[str, str], ...] = ()
    timestamp_format: str | None = None
    separator: str | None = None

    def __post_init__(self) -> None:
        check(self.format is None or self.format in FORMATS,
               f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        check(isinstance(self.column_map, tuple)
               and all(isinstance(p, tuple) and len(p) == 2 and all(isinstance(c, str) and c for c in p)
                       for p in self.column_map),
               f"column_map must be (canonical, source) pairs of column names, got {self.column_map!r}")
        if self.separator is not None and (not isinstance(self.separator, str)
                                           or len(self.separator.encode("utf-8")) != 1):
            raise ConfigError(f"separator must be one single-byte character, got {self.separator!r}")
        if self.timestamp_format is not None and not self.timestamp_format.strip():
            raise ConfigError("timestamp_format is empty")

    def source(self, canonical: str) -> str:
        """The file's name of the ``canonical`` column (its ``column_map`` pair, the last one), else ``canonical``:
        what an error about the column names.

        >>> IngestConfig(column_map=(("timestamp", "Event Time"),)).source("timestamp"), IngestConfig().source("ip")
        ('Event Time', 'ip')
        """
        return dict(self.column_map).get(canonical, canonical)


@dataclass(frozen=True)
class SignalConfig:
    """How account-signal pairs are extracted from events.

    Attributes
    ----------
    ipv4_prefix : int
        Network size for the ``ip_net`` signal. /24 is the unit residential
        ISPs and proxy providers allocate and rotate within.
    ipv6_prefix : int
        /48 is a typical site allocation: one household or office gets a /48
        (sometimes a /56) and rotates interface ids inside it freely.
    ip_chain_position : int
        Which address of an ``X-Forwarded-For`` style chain (``client, proxy1,
        proxy2``) is the account's: 0, the left-most, is the client as the
        first proxy saw it (the usual reading); -1 is the right-most (the peer
        your own edge saw, the only entry a client cannot forge), 1 the second
        and so on. Ports, brackets and zone ids are stripped either way.
    asn_table : str or None
        Optional IP-to-ASN table (``cidr,asn`` CSV or the start/end/ASN TSV
        layout of iptoasn); adds the ``asn`` signal.
    rotation_ties : bool
        Rotators of an IPv6 rotation block (most accounts seen there draw a fresh /64 across /56s per request,
        :mod:`graphlink.stages.signals.ip_lines`) are tied by it (``ip_rotation``) when a card, template or clock held
        there beyond chance links them, a template only as an operator's (most of its block writers linked otherwise;
        :mod:`graphlink.stages.signals.rotation_ties`); tied rotators' /64s all count in the IP spread. Opt-in (session 54,
        fixties54: a phrase ties only one linked group holding most of its block writers; below main on 3 dev worlds).
    ngram : int
        Word n-gram size for prompt shingles. 5 words are specific enough that a shared shingle is rarely chance,
        yet short enough to survive a template's varied fills.
    max_prompts_per_account : int
        At most this many distinct prompts per account are shingled (chosen by a hash of the text, so independent
        of row order). 200 samples of a template are plenty to see it; the cap bounds cost for accounts with millions of prompts.
    max_prompts_total : int
        Bound on prompts shingled over all accounts. Past it the per-account
        sample shrinks (same for every account, reported in ``run.json``) until
        the total fits: shingling costs about 10 s per million prompts on 2
        cores, and 2 million samples still show every templated account's
        habit (a few prompts per account are enough to estimate a share of 0.5).
    max_words_per_prompt : int
        Words of a prompt shingled, bounding the cost of megabyte prompts: its first (templates announce themselves
        early), or past a head other accounts' long prompts share (:mod:`graphlink.stages.signals.shared_heads`).
    prompt_min_templated : float
        Only accounts at least this share of whose sampled prompts contain a
        shingle shared with another account give prompt signals. Fleets run on
        templates (nearly all their traffic); people mix a stock phrase into
        a few prompts among many. 0.5 leaves room for camouflage: a ring account
        hiding 30% benign-looking traffic is still 70% templated.
    prompt_min_share : float
        Of a templated account, shingles in at least this share of its prompts are its signals: each of an
        operator's few templates passes, an incidental phrase does not.
    prompt_min_prompts : int
        Accounts with fewer sampled prompts give no prompt signal: one or two prompts cannot show a habit.
    timing_bucket_seconds : int
        Co-activity resolution. Scripted fleets fire within the same minute.
    timing_min_buckets : int
        Accounts active in fewer distinct buckets get no timing signal: two barely active accounts coinciding once or twice is chance.
    timing_bands, timing_rows : int
        MinHash LSH over each account's set of active buckets. Accounts whose
        bucket sets have Jaccard similarity s share at least one band with
        probability 1 - (1 - s**rows)**bands: with 24 bands of 3 rows that is
        0.96 at s = 0.5, 0.48 at s = 0.3 and 0.02 at s = 0.1.
    creation_bucket_seconds : int
        Accounts created within the same bucket share a ``created_hour`` signal.
    seed : int
        Seed of every hash used for sampling and MinHash.
    extra_signals : tuple of str
        Further event columns to use as categorical shared signals (``device_id``, ``card_bin``...). Each
        becomes its own signal kind; ingest keeps these columns. (Was ``[ingest] extra_signals``.)
    """

    ipv4_prefix: int = 24
    ipv6_prefix: int = 48
    ip_chain_position: int = 0
    asn_table: str | None = None
    rotation_ties: bool = False  # opt-in: one-linked-group rule (fixties54) drops dev templates 1019/1020/1023 F1 by .004-.013 vs main
    ngram: int = 5
    max_prompts_per_account: int = 200
    max_prompts_total: int = 2_000_000
    max_words_per_prompt: int = 64
    prompt_min_templated: float = 0.5
    prompt_min_share: float = 0.1
    prompt_min_prompts: int = 3
    timing_bucket_seconds: int = 60
    timing_min_buckets: int = 5
    timing_bands: int = 24
    timing_rows: int = 3
    creation_bucket_seconds: int = 3600
    seed: int = 0
    extra_signals: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_signal_columns(self.extra_signals)  # column names, none a built-in kind's
        share(self, "prompt_min_templated", "prompt_min_share")
        at_least(self, 1, "prompt_min_prompts")
        seed_range(self)
        check(8 <= self.ipv4_prefix <= 32, f"ipv4_prefix must be between 8 and 32, got {self.ipv4_prefix}")
        check(16 <= self.ipv6_prefix <= 64, f"ipv6_prefix must be between 16 and 64, got {self.ipv6_prefix}")
        check(self.ngram >= 1, "ngram must be at least 1")
        for name in ("max_prompts_per_account", "max_prompts_total", "max_words_per_prompt", "timing_bucket_seconds",
                     "timing_min_buckets", "timing_bands", "timing_rows", "creation_bucket_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")


@dataclass(frozen=True)
class CommunityConfig:
    """Leiden community detection.

    Attributes
    ----------
    resolution : float
        CPM resolution: a cluster's member pairs must share on average at least this much evidence (1 = one
        value privately shared by two accounts). CPM has no resolution limit, unlike modularity (Fortunato &
        Barthélemy 2007; Traag, Van Dooren & Nesterov 2011). At 0.2 one value shared by more than ~50 accounts
        (a NAT) makes no cluster alone; a proxy pool, a card pool or a card plus an address does (dev seeds: 0.1-0.4 gave cell ARI 0.85-0.87).
    objective : {"CPM", "modularity"}
        Leiden's quality function. ``modularity`` (with ``resolution`` as the RB configuration resolution) is the pre-0.2 behaviour.
    campaign_resolution : float
        Clusters whose value profiles are this similar on average form one campaign (:mod:`graphlink.stages.campaigns`; dev seeds 0.2-0.7).
    seed : int
        Leiden's random seed: the same graph and seed give the same partition.
    n_iterations : int
        Leiden iterations; negative runs until the partition stops changing.
    min_cluster_size : int
        Communities smaller than this get no cluster id.
    backend : {"igraph", "leidenalg"}
        Leiden implementation: igraph's built-in one (default, 30x faster measured, see :mod:`graphlink.stages.communities`) or leidenalg's.
    exact_support : bool
        With CPM, dissolve clusters whose CPM quality under the exact (clique) projection is not positive (:func:`graphlink.stages.communities.dissolve_unsupported`): the random cycles that stand for a
        popular value are locally denser than its clique, and without this check slices of a NAT's users become clusters. Only a slice of one value is dissolved (one value carries at least half the
        cluster's strong weight): a cell sharing many popular addresses is a block the projection found (at 224,000 accounts the unrestricted check left 24% of an independent world's ring accounts in no cluster).
    core_strength : float
        A member whose link strength inside its community is below this share of the community's median
        member strength is detached (pendant accounts that touched one ring IP are not ring members). Ring
        members sit near the median (their 5th percentile was 0.7 of it on simulated worlds), stray accounts
        near 0.01; 0.1 keeps a wide margin (0.25 cut 2-3% of ring members on small worlds). 0 disables.
    network_cells : bool
        Join clusters living on networks used almost only by clustered accounts sharing a template or client (a datacenter cell cut into card groups; :mod:`graphlink.stages.network_cells`); on since session 35.
    network_cell_clocks : bool
        Opt-in: ``network_cells`` joins only the linked clusters whose UTC hours read as one clock (:mod:`graphlink.stages.clock_groups`; session 52).
    template_bursts : bool
        Group unclustered accounts that opened their prompts with one template in one 10-minute window far
        beyond chance (:mod:`graphlink.stages.bursts`): one-off accounts on their own proxy exit and card leave
        no pairwise link, only the group's. On: it changes no cluster pairwise evidence made. ``burst_writing`` (opt-in,
        session 59): its members, too thin for prompt signals, then hold the phrases they share with templated accounts.
    hub_twins : bool
        Group the unclustered holders of a cluster's address, card or network writing its template (never a public prompt) far beyond chance (:mod:`graphlink.stages.hub_twins`); on since session 52 (BENCHMARKS.md, helper hub52).
    campaign_neighbours : bool
        Also tie clusters through the clusters both are tied to, where one of the two clusters vouches for the other's direct group -- two or more of its members pay with cards two or more accounts of that group pay with (:mod:`graphlink.stages.campaign_neighbours`): an operator whose cells each send part
        of its template family is one campaign. Dev (ARI by operator, off -> on): a1 0.14 -> 0.34, t1 0.15 -> 0.32, o1 0.15 -> 0.31, a3 0.61 -> 0.69, ind176 0.54 -> 0.56, mixed 1002 0.76 -> 0.87; flags as off.
    placed_blocks, misplaced_members : bool
        Opt-in (session 58): a split whole is also grouped from its blocks when a block gains over ``campaign_resolution`` with a cluster outside more than twice what it gains with any other block, that cluster not tied to all of them (:mod:`graphlink.stages.campaign_wholes`, 3). ``misplaced_members`` (session 59, op59): before clusters are judged, a minority member paying only with cards another cluster's members pay with, and sharing an address or passage with them beside the cards, moves there (:mod:`graphlink.stages.misplaced`): a rented address pool left it in another operator's cell, whose campaign its cards then tied to its own. ``signed_templates`` (session 61, op61): two clusters both sending one toolkit (client signatures the veto does not part) are also tied by the template passages they share beyond chance (:mod:`graphlink.stages.signed_templates`): an operator's disguised template -- since session 62 (op62) only when half of each cluster's members write the shared passages and the two clusters' template skeletons (case and spacing undone, character 4-grams) agree, so two operators pasting one public passage stay apart. ``client_kits`` (session 63, op63): two clusters whose members send one combination of two or more clients, most of that combination's senders in the log being theirs, are tied (:mod:`graphlink.stages.campaign_kits`): an operator's toolkit, where one client alone is a public library.
    wording_cells : bool
        Split a cluster whose members write in two or more clearly different ways (prompt phrases) into its
        blocks, kept one campaign (:mod:`graphlink.stages.wording_cells`): an operator's sibling cells merged on
        its proxy or card pool. On since session 47, with the split guard (:mod:`graphlink.stages.split_guard`: a
        block is flagged on its own score only if the cluster it was split from would be). Dev, events only (off
        -> on): ARI by cell a1 0.32 -> 0.46, a2 0.73 -> 0.80, a3 0.59 -> 0.69, t1 0.31 -> 0.44, o1 0.32 -> 0.46, templates 1002 0.71 -> 0.75, 1005 0.83 -> 0.87; F1 and benign flagged unchanged (sessions 46-47).
    client_cells : bool
        Opt-in: then split a cluster between members sending only its leading client and members never sending it (:mod:`graphlink.stages.client_cells`; same wholes and guard). Off: 5 benign flagged on dev ind176 (session 50).
    batch_cells, batch_members : bool
        On (session 56, batch56: the one-account remnants batch members dissolved now follow their mates on a card; session 54's 224k memory rise was cut in session 55, memb55; :mod:`graphlink.stages.batch_cells`): join short-lived clusters whose lifetimes coincide and that share a template; ``batch_members``
        also moves, once every cluster is judged, a member living only in a batch's hours out of a long-lived cluster flagged or in the batch's campaign (fixcell54); an account the moves leave alone in a flagged cluster goes with its mates' flagged batch when it shares a card or ``MIN_TIE_VALUES`` addresses with them (batch56; :func:`graphlink.stages.batch_judgement.remnants_followed`).
    own_values : bool
        Last, an unclustered account more than half of whose strong values are one cluster's joins it
        (:mod:`graphlink.stages.pendants`; vk-bots pair F1 0.132 -> 0.203, BENCHMARKS.md session 52).
    """

    resolution: float = 0.2
    objective: str = "CPM"
    campaign_resolution: float = 0.35
    seed: int = 42
    n_iterations: int = -1
    min_cluster_size: int = 2
    core_strength: float = 0.1
    exact_support: bool = True
    backend: str = "igraph"
    network_cells: bool = True
    network_cell_clocks: bool = False
    template_bursts: bool = True
    burst_writing: bool = False
    hub_twins: bool = True  # dev templates 1021 R 0.758 -> 0.978; 52 dev worlds: flagged benign sets as off; 224k peak as off
    campaign_neighbours: bool = True
    placed_blocks: bool = False  # opt-in (op58): a block tied elsewhere far more than to its whole's other blocks is grouped on its own
    misplaced_members: bool = False  # op59: see placed_blocks, misplaced_members above
    signed_templates: bool = False  # opt-in (op61): see placed_blocks, misplaced_members above
    client_kits: bool = False  # opt-in (op63): see placed_blocks, misplaced_members above
    wording_cells: bool = True
    client_cells: bool = False
    batch_cells: bool = True  # dev ARI by cell up (a1 / t1 / o1 0.46 -> 0.70, ind179 0.62 -> 0.94), benign flags as main's on every dev world run (batch56)
    batch_members: bool = True  # with batch_cells: dev a1 / t1 / o1 ARI by operator +0.06-0.28, F1 +0.009-0.011; benign flags as main's (batch56)
    own_values: bool = True

    def __post_init__(self) -> None:
        for name, value in (("resolution", self.resolution), ("campaign_resolution", self.campaign_resolution)):
            check(value > 0, f"{name} must be greater than 0, got {value!r}")
            check(value < float("inf"), f"{name} must be finite, got {value!r}")  # inf: no cluster at all, silently
        check(self.objective in ("CPM", "modularity"), f"objective must be 'CPM' or 'modularity', got {self.objective!r}")
        at_least(self, 1, "min_cluster_size")
        seed_range(self)
        share(self, "core_strength")
        check(self.backend in ("igraph", "leidenalg"), f"backend must be 'igraph' or 'leidenalg', got {self.backend!r}")


@dataclass(frozen=True)
class ScoringConfig:
    """Cluster scoring and flagging (see :mod:`graphlink.stages.scoring`).

    Attributes
    ----------
    flag_threshold : float
        Clusters scoring at least this are flagged. 0.6 favours precision: on simulated worlds flagged fleets scored 0.89 and above, while linked but benign clusters (teams on one card, merged time zones) reached 0.57.
    min_flag_size : int
        Clusters smaller than this are never flagged: a ring worth banning has many accounts, pairs are families and friends.
    evidence_per_kind : int
        How many top shared values per cluster and kind are kept as evidence (prompt phrases: 3 of each of up to this many templates when that is more, :data:`graphlink.stages.evidence.PHRASES_PER_TEMPLATE`).
    component_weights : dict of str to float
        Weight of each abuse component in the score (see :mod:`graphlink.stages.scoring`). Volume weighs half: heavy users exist, and fleets can throttle.
    org_discount : float
        How much a cluster bound by its own private email domain (a company) is discounted: at 0.6 a fully coherent
        team keeps at most 40% of its score. The discount shrinks as the cluster shows proxy rotation or a card pool, which no organisation's own domain explains.
    flag_campaigns : bool
        Flag the tame cells of an operator one of whose clusters is flagged on its own evidence (office hours on one
        datacenter address, a card group below ``min_flag_size``): a cell whose members hold values specific to that
        operator (its template, cards, addresses; :func:`graphlink.stages.campaign_flags.operator_ties`) takes its
        flag whatever campaign it is grouped in, and no cluster does through a stock phrase (first campaign-wide:
        scenario dev 1000-1002 recall 0.84 -> 0.98). ``False`` flags clusters on their own evidence only.
    pool_campaigns : bool
        Also score each campaign as a whole: the accounts of a campaign tied by infrastructure -- a shared card,
        identifier, or five or more addresses specific to it
        (:func:`graphlink.stages.campaign_flags.substantial_campaigns`) -- of two or more clusters, none flagged,
        are scored as one group, and when that group scores ``flag_threshold`` or more every cluster of the campaign
        is flagged (:func:`graphlink.stages.campaign_flags.flag_with_campaign`). A cell drawn at random from an
        operator's card and address pool is a sparse graph that CPM cuts into card groups, each paying with one
        card; the pool shows only in the whole (independent worlds 1-3: a 310-account office-hours cell on
        datacenter addresses, cut into 57 clusters, scored 0 in every piece and 0.98 as a whole). Only
        infrastructure pools evidence: teams tied by one job template would add up their corporate cards and time
        zones into a false pool (dev seeds: 260-370 benign accounts flagged per mixed world when template ties
        pooled too). The whole's cards are judged by each card's own evidence
        (:func:`graphlink.stages.card_pools.card_units`), not by what the campaign's clusters share: a company's
        branches, each on its own corporate card, running one in-house tool and sharing the corporate VPN form one
        campaign too, but each branch's card has its office address, so their cards are units, not a pool
        (``tests/test_break_pool.py``). **Off by default**: a second review (``tests/test_break_session11.py``) found benign organisations that have no such value -- a hybrid company whose staff mostly work from home, branches in co-working
        spaces whose address others share -- and an operator that escapes it by giving each card one value of its own (a VM, a /24, one decoy request). Turn it on to review campaigns of tame cells, not to ban.
    pool_pieces, lone_cells, card_campaigns, block_pieces, bound_blocks, sibling_parts, sibling_sittings, card_cells, launch_cells : bool
        After the flags, a flagged cluster alone in its campaign joins the campaign of the flagged cluster holding most of its address pool, counting only addresses no unflagged account holds (:mod:`graphlink.stages.pool_pieces`); with ``lone_cells`` (on), the larger campaign whose flagged clusters, pooled, it resembles by the grouping's own similarity (:mod:`graphlink.stages.lone_cells`); with ``card_campaigns`` (opt-in: a test ARI by operator down in session 57 (224k) and again in session 58 (an 11k world) with both wholes asked to hold the shared cards), after batch members, a flagged campaign of several clusters joins the larger one whose cards it shares beyond chance, one card not enough alone, most of its payers on the target's cards, and on each side the clusters holding the shared cards most of its flagged accounts, and a second tie beside the cards -- address blocks, client, clock or mail domain held almost only by flagged campaigns, beyond chance, carried by both (a dump sold to two operators ties their cards only; session 59) (:mod:`graphlink.stages.card_campaigns`). None changes a flag. ``block_pieces`` (opt-in, not fit to be on: it joins sibling cells on an operator's pools) joins flagged clusters of one campaign that are pieces of one address block into the largest (:mod:`graphlink.stages.block_pieces`); no flag or campaign changes. ``bound_blocks`` (on) gathers, before sibling parts, the holders of a network or card of one campaign's own that most members of each flagged cluster it lies on hold, never two parts the wording or client split parted (:mod:`graphlink.stages.bound_blocks`); no flag or campaign changes. ``sibling_parts`` (on) parts a flagged cluster into its creation bursts that no card ties (sibling cells on an operator's pools; :mod:`graphlink.stages.sibling_parts`); each part keeps the cluster's judgement, no flag or campaign changes. ``sibling_sittings`` (on) parts each part again by its sittings -- hours opening more accounts than its background would by chance (:func:`graphlink.stages.sibling_parts.opening_sittings`): in a large union the bursts run together. ``card_cells`` (on, session 62) parts, after them, a flagged cluster into its card groups where they behave apart -- minutes, phrases or exact addresses shared across far less than inside, beyond chance -- while the values binding it (a rented pool) are shared across as inside (:mod:`graphlink.stages.card_cells`); each part keeps the judgement, no flag or campaign changes. ``launch_cells`` (opt-in, session 63) gathers, after card cells, a campaign's flagged clusters whose members started and stopped together, each within two of its own request gaps of the cluster's window, the window not at the log's edges (:mod:`graphlink.stages.launch_cells`); no flag or campaign changes.
    outsider_network_share, outsider_min_spread : float
        In a flagged cluster with ``ip_spread`` at least ``outsider_min_spread`` (a proxy-rotating fleet), members
        using fewer than ``outsider_network_share`` of the cluster's median number of networks are detached before
        the final scoring, unless they share with the cluster a card, template or identifier the flagged clusters hold as their own (see :func:`graphlink.stages.outsiders.fleet_outsiders`). 0.2 sits between the fleet
        members (above 0.8 of the median) and linked-in bystanders (below 0.03) seen on simulated campaigns. The tie
        test keeps an operator's members that rotate less (a static server, three requests): on independent worlds
        the network count alone detached 77 ring members and 4 ordinary accounts, with the test 0 and 4. Members rotating like the
        fleet are judged too when it is known by its own values and ``account_stats`` are at hand (a bystander on its commercial
        proxy holds none and does not phrase like it, :data:`graphlink.stages.outsiders.IDENTITY_COVER`); so are members of any
        cluster, the cover counted over the others, a member on none of their cards off the script also when its scripted
        prompts are chance (:func:`graphlink.stages.outsiders.address_bystanders`, ``CHANCE_ALPHA``). 0 disables both.
    public_phrases, cell_pieces, sleepless_members, passage_ties, pool_carriers : bool
        A stock phrase a fleet's camouflage shares with a person (most writers outside the flagged clusters) keeps no address bystander (:func:`graphlink.stages.outsiders.address_bystanders`); on since session 60 (def60: dev no ordinary or team account newly flagged, ring -2 on a2, +3 on d300; BENCHMARKS.md). With ``cell_pieces`` (opt-in), last, an unflagged piece every member of which holds one of two or more addresses or cards held almost only by flagged accounts is flagged with the cluster it draws from (:mod:`graphlink.stages.cell_pieces`). With ``sleepless_members`` (opt-in, session 60; brk60 found benign round-the-clock groups flagged by it), members that never sleep (their quietest 8 hours hold 15 %+ of their requests), on no schedule, count as load spread in ``scripted_accounts`` beside the mostly scripted ones, on a card paying for 5+ such members (:mod:`graphlink.stages.sleepless`): a misspelled or camouflaged template hides what a fleet writes, not when it sends; dev: no ordinary or team account newly flagged on the dev worlds measured. With ``passage_ties`` (on, session 62), a cluster showing nothing of a fleet but its text, tied to a flagged operator by prompt phrases alone that chain into one passage (a pasted framework prompt), is not tied (:mod:`graphlink.stages.passage_ties`). With ``pool_carriers`` (opt-in, session 62) a card pool counts as far as most members carry the cluster's template (a fifth of their requests or more), not only as far as the members' mean share (:mod:`graphlink.stages.pool_carriers`): camouflage thins what each account writes, not how many accounts run the script; it only raises ``card_pool``.
    """

    flag_threshold: float = 0.6
    min_flag_size: int = 5
    evidence_per_kind: int = 10
    component_weights: dict[str, float] = field(default_factory=lambda: {"payment_reuse": 1.0, "ip_spread": 1.0, "card_pool": 1.0, "scripted_accounts": 1.0, "template_share": 1.0, "timing_sync": 1.0,
        "around_the_clock": 0.3, "creation_burst": 1.0, "volume": 0.5, "short_lived": 0.8})
    org_discount: float = 0.6
    flag_campaigns: bool = True
    pool_campaigns: bool = False
    pool_pieces: bool = False  # opt-in: two operators renting one network nobody else uses join (test_rented_network47)
    lone_cells: bool = True  # on: flags identical by construction; dev ARI by operator up on 9 of 37, none down (session 55)
    card_campaigns: bool = False  # opt-in: moved across operators on fresh test worlds (224k in session 57; an 11k world 0.930 -> 0.650 in session 58); since session 59 a second tie beside the cards refuses a shared dump (dev dump176) but drops dev d304's card-only piece and follows merged campaigns (dev dump3, dump179)
    block_pieces: bool = False  # opt-in: flags / campaigns identical by construction; dev templates ARI by cell up, 224k dev 0.15 -> 0.03 (siblings on one pool join)
    bound_blocks: bool = True  # on (session 61, bb61): flags / campaigns identical by construction; a cell's pieces on one network / card of its own gather, not a split's parts
    sibling_parts: bool = True  # on (session 57, cell57): flags / campaigns identical by construction; dev ARI by cell up on 22 of 52 11k worlds, 45k and 224k; down on ind177 (-0.003)
    card_cells: bool = True  # on (session 62, card62): flags / campaigns identical by construction; a shift plan's card groups stay one
    launch_cells: bool = False  # opt-in (session 63, big63): flags / campaigns identical by construction; a campaign's pieces of one launch gather
    sibling_sittings: bool = True  # on (session 58, cell58): flags / campaigns identical by construction; dev 224k ARI by cell 0.262 -> 0.385, 45k +0.020, 49 of 52 11k worlds identical, tpl1000 -0.001
    outsider_network_share: float = 0.2
    outsider_min_spread: float = 0.5
    public_phrases: bool = True
    cell_pieces: bool = False  # opt-in (session 60): a piece Leiden cut from a flagged cell, judged with it
    sleepless_members: bool = False  # opt-in (rec60; brk60: a 24/7 desk or a monitor on one card never sleeps either)
    passage_ties: bool = True  # on (session 62, tie62): one pasted passage ties no cluster showing nothing else (stages.passage_ties)
    pool_carriers: bool = False  # opt-in (rec62): a pool's template factor counts carriers above one half, not only the mean share

    def __post_init__(self) -> None:
        frozen_mapping(self, "component_weights")
        for name, weight in self.component_weights.items():
            check(isinstance(weight, (int, float)) and 0 <= weight < float("inf"), f"component_weights[{name!r}] must be a number at least 0, got {weight!r}")
        share(self, "flag_threshold", "org_discount", "outsider_network_share", "outsider_min_spread")
        at_least(self, 1, "min_flag_size", "evidence_per_kind")


@dataclass(frozen=True)
class StableIdConfig:
    """Cluster ids kept across runs (``--previous``; see :mod:`graphlink.stages.stable_ids`).

    Attributes
    ----------
    previous_min_jaccard : float
        A new cluster keeps a previous cluster's id when their member sets
        overlap at least this much (Jaccard). 0.3 keeps the id of a ring that
        grew by half again or lost a third of its members. (Was
        ``[communities] previous_min_jaccard``.)
    """

    previous_min_jaccard: float = 0.3

    def __post_init__(self) -> None:
        check(0 < self.previous_min_jaccard <= 1, f"previous_min_jaccard must be in (0, 1], got {self.previous_min_jaccard!r}")


@dataclass(frozen=True)
class DrilldownConfig:
    """The drill-down tables (see :mod:`graphlink.stages.drilldown`).

    Attributes
    ----------
    member_values_per_kind : int
        How many shared values per cluster and kind ``memberships.parquet``
        lists with the members carrying them (0: all). 50 draws and exports a
        cluster's shared infrastructure legibly; a proxy fleet's full list
        (thousands of rotating IPs per cluster) made that file 33M rows on the
        campaign preset. (Was ``[scoring] member_values_per_kind``.)
    """

    member_values_per_kind: int = 50

    def __post_init__(self) -> None:
        at_least(self, 0, "member_values_per_kind")


@dataclass(frozen=True)
class PipelineConfig:
    """All stage configs together."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    signals: SignalConfig = field(default_factory=SignalConfig)
    graph: GraphConfig = field(default_factory=GraphConfig)
    communities: CommunityConfig = field(default_factory=CommunityConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    stable_ids: StableIdConfig = field(default_factory=StableIdConfig)
    drilldown: DrilldownConfig = field(default_factory=DrilldownConfig)

    def __post_init__(self) -> None:
        check_column_map(self.ingest.column_map, self.signals.extra_signals)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``run.json`` (read back by :func:`graphlink.config.build_config`)."""
        return plain(self)


#: Stage name -> config class, in pipeline order (the sections of ``graphlink.toml`` and ``run.json``).
STAGES: Mapping[str, type] = MappingProxyType({
    "ingest": IngestConfig, "signals": SignalConfig,
    "graph": GraphConfig,
    "communities": CommunityConfig,
    "scoring": ScoringConfig,
    "stable_ids": StableIdConfig,
    "drilldown": DrilldownConfig,
})
