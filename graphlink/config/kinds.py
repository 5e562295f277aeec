"""How one signal kind links accounts: :class:`KindSpec` and the built-in kinds' defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphlink.config.checks import check

__all__ = ["DEFAULT_CUSTOM_KIND", "KIND_NAMES", "KindSpec", "check_signal_columns", "default_kinds", "kind_name",
           "kind_name_expr", "kinds_text", "kinds_text_expr"]

#: What every view and ``why`` calls a signal kind (singular, plural): the one vocabulary of kinds, so an
#: investigator reads the same word in a cluster's ``why``, ``show``'s evidence and ``tied_by``, the report and the
#: case file. ``--signal`` kinds keep their column name (:func:`kind_name`); ``burst`` is the kind of template
#: bursts (:data:`graphlink.stages.bursts.BURST_KIND`).
KIND_NAMES: dict[str, tuple[str, str]] = {
    "payment": ("payment card", "payment cards"),
    "ip": ("IP address", "IP addresses"),
    "ip_net": ("IP network", "IP networks"),
    "ip_rotation": ("rotated IPv6 network", "rotated IPv6 networks"),
    "asn": ("ASN", "ASNs"),
    "prompt": ("prompt phrase", "prompt phrases"),
    "timing": ("activity signature", "activity signatures"),
    "user_agent": ("user agent", "user agents"),
    "email_domain": ("e-mail domain", "e-mail domains"),
    "created_hour": ("account-creation hour", "account-creation hours"),
    "burst": ("template burst", "template bursts"),
}


def kind_name(kind: str, n: int = 1) -> str:
    """What a signal kind is called (:data:`KIND_NAMES`), singular for ``n == 1``; a ``--signal`` kind is named by its
    column: ``device_id value``.

    Examples
    --------
    >>> kind_name("payment"), kind_name("ip_net", 3), kind_name("burst", 1), kind_name("device_id", 2)
    ('payment card', 'IP networks', 'template burst', 'device_id values')
    """
    singular, plural = KIND_NAMES.get(kind, (f"{kind} value", f"{kind} values"))
    return singular if n == 1 else plural


def kinds_text(kinds: list[str] | tuple[str, ...] | None, empty: str = "none", most: int | None = None) -> str:
    """A list of kinds as read (``linked by`` in ``show``, the report and detect's table): their plural names, in order;
    past ``most`` of them, how many more.

    Examples
    --------
    >>> kinds_text(["payment", "ip_net", "device_id"]), kinds_text([]), kinds_text(["ip", "asn", "prompt"], most=2)
    ('payment cards, IP networks, device_id values', 'none', 'IP addresses, ASNs, 1 more')
    """
    kinds = list(kinds or [])
    more = len(kinds) - most if most is not None and len(kinds) > most else 0
    return ", ".join([*(kind_name(k, 2) for k in kinds[:len(kinds) - more]), *([f"{more} more"] if more else [])]) or empty


def kinds_text_expr(kinds: Any) -> Any:
    """:func:`kinds_text` of a List(String) expression (or column name): "" for an empty or null list.

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"k": [["payment", "ip"], []]}).select(kinds_text_expr("k"))["k"].to_list()
    ['payment cards, IP addresses', '']
    """
    import polars as pl

    kinds = pl.col(kinds) if isinstance(kinds, str) else kinds
    return kinds.list.eval(kind_name_expr(pl.element(), 2)).list.join(", ").fill_null("")


def check_signal_columns(columns: tuple[str, ...]) -> None:
    """Refuse a ``--signal`` column named as a built-in kind (:data:`KIND_NAMES`): its values would be read as that
    kind -- ``--signal burst`` made each device id a template burst and a cluster's why "132 accounts opened their
    prompts with one template within 10 minutes, far beyond chance: dev 4"; ``timing`` an activity signature whose
    value is never shown; ``ip_net`` an IP network. The error gives the way round (``--map``).

    Examples
    --------
    >>> check_signal_columns(("device_id",))
    >>> check_signal_columns(("burst",))
    Traceback (most recent call last):
    ...
    graphlink.errors.ConfigError: --signal burst: 'burst' is the built-in kind of template bursts; read the column under another name, e.g. --signal burst_id --map burst_id=burst
    """
    from graphlink.errors import ConfigError

    check(isinstance(columns, tuple) and all(isinstance(c, str) and c for c in columns),
          f"extra_signals must be column names, got {columns!r}")
    taken = [c for c in columns if c in KIND_NAMES]
    if taken:
        name = taken[0]
        raise ConfigError(f"--signal {name}: {name!r} is the built-in kind of {KIND_NAMES[name][1]}; read the column "
                          f"under another name, e.g. --signal {name}_id --map {name}_id={name}")


def kind_name_expr(kind: Any, n: Any = 1) -> Any:
    """:func:`kind_name` as a polars expression: ``kind`` a String expression (or column name), ``n`` an integer
    expression or a number (singular where it is 1).

    Examples
    --------
    >>> import polars as pl
    >>> pl.DataFrame({"k": ["ip", "card_bin", "burst"], "n": [2, 1, 1]}).select(kind_name_expr("k", pl.col("n")))["k"].to_list()
    ['IP addresses', 'card_bin value', 'template burst']
    """
    import polars as pl  # not at import: graphlink.config loads without polars

    kind = pl.col(kind) if isinstance(kind, str) else kind
    n = n if isinstance(n, pl.Expr) else pl.lit(n)
    one = kind.replace_strict({k: v[0] for k, v in KIND_NAMES.items()}, default=kind + pl.lit(" value"),
                              return_dtype=pl.String)
    many = kind.replace_strict({k: v[1] for k, v in KIND_NAMES.items()}, default=kind + pl.lit(" values"),
                               return_dtype=pl.String)
    return pl.when(n == 1).then(one).otherwise(many)


@dataclass(frozen=True)
class KindSpec:
    """How one signal kind links accounts.

    Attributes
    ----------
    weight : float
        Multiplier on the per-pair rarity weight ``(2 / df) ** rarity_exponent``
        of each value of the kind (see :class:`graphlink.config.GraphConfig`).
    max_accounts : int or None
        Optional hub cap: a value shared by more accounts than this links
        nobody. None (the default for every kind) links every shared value,
        however popular, at its rarity weight.
    strong : bool
        Weak kinds (network, ASN, prompt shingles, timing, user agent, email
        domain, creation hour) add weight to links that strong kinds made, at
        most doubling them, but never link two accounts on their own.
    """

    weight: float
    max_accounts: int | None = None
    strong: bool = True

    def __post_init__(self) -> None:
        check(self.weight >= 0, f"weight must be at least 0, got {self.weight!r}")
        check(self.weight < float("inf"), f"weight must be finite, got {self.weight!r}")
        check(self.max_accounts is None or self.max_accounts >= 2,
              f"max_accounts must be None (no cap) or at least 2, got {self.max_accounts!r}")


def default_kinds() -> dict[str, KindSpec]:
    """The built-in signal kinds and their specs (a fresh dict each call)."""
    # Weights encode how much one shared value says about common control.
    # A shared card is the strongest single link; two accounts share many
    # shingles when they share a template, so each shingle weighs little.
    # No kind has a hub cap: a value shared by many accounts weighs little per
    # pair but still links, so a proxy pool behind thousands of accounts is
    # seen. What keeps an office NAT from becoming a cluster is the partition's
    # density threshold (CPM), not a cap.
    return {
        "payment": KindSpec(weight=3.0),
        "ip": KindSpec(weight=1.0),
        # Neighbours on one ISP block share a /24: a network only reinforces.
        "ip_net": KindSpec(weight=0.5, strong=False),
        # An IPv6 rotation block (signals.ip_lines: most accounts seen there rotate /64s across /56s), among the
        # rotators a card, template or clock links (signals.rotation_ties): an operator's rented /48, as strong as a
        # shared address; an ISP's, carrier's, campus's or privacy relay's /48 ties nobody (few rotate there, or its
        # rotators share nothing else; a home rotating inside its own /56 is no pool).
        "ip_rotation": KindSpec(weight=1.0),
        "asn": KindSpec(weight=0.2, strong=False),
        # Templates are shared by a whole operator (all its cells) and by stock
        # phrasing among people: they reinforce links cards, IPs and identifiers
        # made instead of merging everything that talks alike.
        "prompt": KindSpec(weight=0.3, strong=False),
        # A common schedule (cron at :00) is shared by unrelated companies: being
        # active in the same minutes corroborates a shared network, card or
        # template but is no link on its own (SynchroTrap, CCS 2014, matches
        # time jointly with the action and the address).
        "timing": KindSpec(weight=1.0, strong=False),
        "user_agent": KindSpec(weight=0.2, strong=False),
        "email_domain": KindSpec(weight=0.5, strong=False),
        "created_hour": KindSpec(weight=0.3, strong=False),
    }


#: Spec of user-declared ``--signal`` columns unless configured otherwise.
DEFAULT_CUSTOM_KIND = KindSpec(weight=1.0)
