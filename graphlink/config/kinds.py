"""How one signal kind links accounts: :class:`KindSpec` and the built-in kinds' defaults."""

from __future__ import annotations

from dataclasses import dataclass

from graphlink.config.checks import check

__all__ = ["DEFAULT_CUSTOM_KIND", "KindSpec", "default_kinds"]


@dataclass(frozen=True)
class KindSpec:
    """How one signal kind links accounts.

    Attributes
    ----------
    weight : float
        Multiplier on the rarity weight ``log(N / df)`` of each value of the kind.
    max_accounts : int
        Hub cap: a value shared by more accounts than this links nobody (a
        university NAT, a popular SDK's user agent, "can you help me with").
    strong : bool
        Weak kinds (user agent, email domain, creation hour, ASN) add weight to
        links that strong kinds made but never link two accounts on their own.
    """

    weight: float
    max_accounts: int
    strong: bool = True

    def __post_init__(self) -> None:
        check(self.weight >= 0, f"weight must be at least 0, got {self.weight!r}")
        check(self.max_accounts >= 2, f"max_accounts must be at least 2, got {self.max_accounts!r}")


def default_kinds() -> dict[str, KindSpec]:
    """The built-in signal kinds and their specs (a fresh dict each call)."""
    # Weights encode how much one shared value says about common control.
    # A shared card is the strongest single link; two accounts share many
    # shingles when they share a template, so each shingle weighs little.
    return {
        "payment": KindSpec(weight=3.0, max_accounts=50),
        "ip": KindSpec(weight=1.0, max_accounts=100),
        # Neighbours on one ISP block share a /24: a network only reinforces.
        "ip_net": KindSpec(weight=0.5, max_accounts=200, strong=False),
        "asn": KindSpec(weight=0.2, max_accounts=200, strong=False),
        # Templates are shared by a whole operator (all its cells) and by stock
        # phrasing among people: they reinforce links cards, IPs and clocks made
        # instead of merging everything that talks alike. The sparse projection
        # keeps a high cap affordable; IDF discounts templates shared by thousands.
        "prompt": KindSpec(weight=0.3, max_accounts=5000, strong=False),
        "timing": KindSpec(weight=1.0, max_accounts=1000),
        "user_agent": KindSpec(weight=0.2, max_accounts=100, strong=False),
        "email_domain": KindSpec(weight=0.5, max_accounts=200, strong=False),
        "created_hour": KindSpec(weight=0.3, max_accounts=300, strong=False),
    }


#: Spec of user-declared ``--signal`` columns unless configured otherwise.
DEFAULT_CUSTOM_KIND = KindSpec(weight=1.0, max_accounts=100)
