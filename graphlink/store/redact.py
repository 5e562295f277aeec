"""Redaction: replace payment fingerprints, e-mail addresses and IPs with keyed hashes.

Investigators share reports and case files beyond the team allowed to see
raw identifiers. ``--redact`` (on ``report``, ``show``, ``campaign``, ``account`` and ``export``) swaps
each sensitive value for an HMAC-SHA256 of it under a secret key, so equal
values still look equal (the ring still visibly shares one card) while the
value itself cannot be read back without the key:

============================ =========================================
raw                          redacted
============================ =========================================
payment ``tok_4242...``      ``pay#3fa9c0d1e2b4``
IP ``10.1.2.3``              ``10.1.2.0/24#8c1d0e6f2a9b`` (the network is kept)
e-mail ``bob@example.com``   ``email#51c0a9e3d2f7@example.com`` (the domain is kept)
============================ =========================================

Networks no finer than the run's ``ip_net`` prefix (``10.1.2.0/24``) are kept
as they are: they are the ``ip_net`` signal.

Where values are found
----------------------
* Signal values by kind: ``payment`` values are hashed whole, ``ip`` values
  become network plus hash, ``prompt`` values (shingles as written, punctuation
  removed) have every digit written 0, as the shingle's key has it (a card or
  phone number typed in a template is no longer readable).
* Signal values of :data:`SAFE_KINDS` cannot hold any (``ip_net`` is the
  kept network) and are left alone.
* Every other text (other signal values such as user agents, account ids,
  ``why``, ``top_values``, warnings) is searched for e-mail addresses, IPv4
  and IPv6 addresses, each replaced in place; ``why`` and ``top_values`` are
  also searched for every changed evidence value (also cut to the 60 and 80
  characters they show), including evidence of clusters not otherwise loaded.
  Known values shorter than 4 characters are not searched for in free text.

The key comes from ``--redact-key``, else the ``GRAPHLINK_REDACT_KEY``
environment variable, else a random key for this run only (hashes then cannot
be compared across runs). Hashing is done on unique values only; all
searching and replacing is done with polars expressions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from graphlink.store.folder import Outputs
from graphlink.stages.signals.ip import parse_ips

ENV_KEY = "GRAPHLINK_REDACT_KEY"
HASH_CHARS = 12
#: Lengths at which scoring cuts values in ``why`` and ``top_values``.
TRUNCATIONS = (60, 80)
MIN_LITERAL = 4
#: Signal kinds whose values cannot hold a card, an e-mail or an address finer than
#: the kept network: timing band hashes, creation hours, AS numbers and ip_net networks.
#: (Prompt shingles are shown as written, digits kept: :data:`DIGIT_KINDS`.)
SAFE_KINDS = ("ip_net", "timing", "created_hour", "asn")
#: Signal kinds whose values are redacted by writing every digit 0 (prompt shingles: their key has digits as 0, the
#: value shown is one prompt's writing, which may hold a card number, a phone number or an address's digits).
DIGIT_KINDS = ("prompt",)

#: An e-mail address as a reader sees it: invisible format characters (``\p{Cf}``: zero-width spaces, bidi
#: controls) anywhere in it and the fullwidth / small at signs (U+FF20, U+FE6B) read as ``@`` -- else an id with a
#: zero-width space pasted inside is printed whole (brk58). Letters and digits of any script (an internationalised
#: address, RFC 6531: ``josé@example.com``, ``почта@пример.рф``), else such an address is printed whole or with its
#: first letters (brk59).
_AT = "@\uff20\ufe6b"
_EMAIL = (r"[\p{L}\p{M}\p{N}._%+\-\p{Cf}]+[" + _AT + r"][\p{L}\p{M}\p{N}\-\p{Cf}]+(?:\.[\p{L}\p{M}\p{N}\-\p{Cf}]+)*"
          r"\.[\p{L}\p{M}]{2,}")
_IPV4 = r"\b\d{1,3}(?:\.\d{1,3}){3}\b(?:/\d{1,3})?"
# Embedded-IPv4 forms (::ffff:1.2.3.4) first: alternation prefers the first branch.
_IPV6 = (r"(?:(?:[0-9A-Fa-f]{0,4}:){2,6}\d{1,3}(?:\.\d{1,3}){3}"
         r"|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?:/\d{1,3})?")


@dataclass(frozen=True)
class Redactor:
    """Keyed-hash redaction of outputs (see the module docstring).

    Attributes
    ----------
    key : bytes
        The HMAC key (never shown).
    key_source : str
        ``"--redact-key"``, ``"GRAPHLINK_REDACT_KEY"`` or ``"random"``.
    ipv4_prefix, ipv6_prefix : int
        Network kept in front of a redacted IP; use the run's ``ip_net`` prefixes.

    Examples
    --------
    >>> r = Redactor(b"k", "test")
    >>> r.text(pl.Series(["from 10.1.2.3 and bob@example.com"]))[0]
    'from 10.1.2.0/24#4c56f914d39e and email#3c106b25062f@example.com'
    """

    key: bytes = field(repr=False)
    key_source: str = "random"
    ipv4_prefix: int = 24
    ipv6_prefix: int = 48

    @property
    def note(self) -> str:
        """One sentence for reports: what was redacted, and with which key."""
        where = {"random": "a random key for this run only, so hashes differ between runs",
                 "--redact-key": "the key given with --redact-key",
                 ENV_KEY: f"the key in {ENV_KEY}"}.get(self.key_source, self.key_source)
        return ("Payment fingerprints, e-mail addresses and IP addresses are replaced by "
                f"HMAC-SHA256 keyed hashes (networks kept) using {where}.")

    def digest(self, values: pl.Series) -> pl.Series:
        """Truncated hex HMAC-SHA256 of each value (each distinct value hashed once).

        Examples
        --------
        >>> Redactor(b"k").digest(pl.Series(["a", "b", "a", None])).to_list()
        ['78da91511e67', '2fb39898cf6b', '78da91511e67', None]
        """
        unique = values.drop_nulls().unique().sort()
        hashed = [hmac.new(self.key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:HASH_CHARS]
                  for v in unique.to_list()]
        table = pl.DataFrame({"v": unique, "h": pl.Series(hashed, dtype=pl.String)})
        return (values.to_frame("v").join(table, on="v", how="left", maintain_order="left")
                ["h"].rename(values.name))

    # -- the three kinds of sensitive values ---------------------------------

    def payments(self, values: pl.Series) -> pl.Series:
        """``pay#<hash>`` for each payment fingerprint."""
        return pl.select(pl.lit("pay#") + self.digest(values)).to_series().rename(values.name)

    def _parse(self, values: pl.Series) -> pl.DataFrame:
        """``v, version, address, network, key`` (one parse: planning it costs more than running it)."""
        return (values.to_frame("v")
                .with_columns(parse_ips(pl.col("v"), self.ipv4_prefix, self.ipv6_prefix).alias("p"))
                .unnest("p"))

    def _ip_tokens(self, parsed: pl.DataFrame) -> pl.Series:
        canonical = parsed["address"].fill_null(parsed["v"])
        hashed = self.digest(canonical)
        return parsed.select(
            pl.when(pl.col("network").is_not_null())
            .then(pl.col("network") + "#" + hashed)
            .otherwise(pl.lit("ip#") + hashed)
        ).to_series()

    def ips(self, values: pl.Series) -> pl.Series:
        """``<network>#<hash of the canonical address>``; text that is no IP gets ``ip#<hash>``."""
        return self._ip_tokens(self._parse(values)).rename(values.name)

    def emails(self, values: pl.Series) -> pl.Series:
        """``email#<hash>@<domain>`` (hash of the lower-cased address)."""
        lower = values.str.to_lowercase()
        domain = lower.str.extract("[" + _AT + "]([^" + _AT + "]+)$")
        return pl.select(pl.lit("email#") + self.digest(lower) + "@" + domain).to_series().rename(values.name)

    # -- free text -----------------------------------------------------------

    def text_mapping(self, texts: pl.Series) -> dict[str, str]:
        """Raw -> redacted for every e-mail and IP address found in ``texts``."""
        unique = texts.drop_nulls().unique()
        if unique.is_empty():
            return {}
        found = pl.DataFrame({"t": unique}).select(
            pl.col("t").str.extract_all(_EMAIL).alias("email"),
            pl.concat_list(pl.col("t").str.extract_all(_IPV4), pl.col("t").str.extract_all(_IPV6)).alias("ip"),
        )
        emails = found["email"].explode().drop_nulls().unique()
        mapping = dict(zip(emails.to_list(), self.emails(emails).to_list()))
        candidates = found["ip"].explode().drop_nulls().unique()
        mapping.update(self._ip_candidates(candidates))
        return mapping

    def _ip_candidates(self, candidates: pl.Series) -> dict[str, str]:
        """Valid IPs among regex candidates; networks no finer than the kept prefix map to themselves."""
        if candidates.is_empty():
            return {}
        split = candidates.to_frame("c").with_columns(
            pl.col("c").str.extract(r"^([^/]*)").alias("addr"),
            pl.col("c").str.extract(r"/(\d+)$").cast(pl.Int64, strict=False).alias("bits"),
        )
        parsed = self._parse(split["addr"])
        frame = pl.concat([split, parsed.drop("v")], how="horizontal").with_columns(
            self._ip_tokens(parsed).alias("r")).filter(pl.col("version").is_not_null())
        # A network is kept when it is no finer than the kept prefix and has no host bits
        # below it (key: the IPv4 address, or the top 64 bits of an IPv6 address).
        kept = pl.when(pl.col("version") == 4).then(self.ipv4_prefix).otherwise(self.ipv6_prefix)
        width = pl.when(pl.col("version") == 4).then(32).otherwise(64)
        span = pl.lit(2, pl.UInt64).pow((width - kept).cast(pl.UInt64))
        no_host_bits = ((pl.col("key") % span) == 0) & (
            (pl.col("version") == 4) | pl.col("address").str.ends_with(":0:0:0:0"))
        is_network = pl.col("bits").is_not_null() & (pl.col("bits") <= kept) & no_host_bits
        out = frame.select("c", pl.when(is_network).then(pl.col("c")).otherwise(pl.col("r")).alias("r"))
        return dict(zip(out["c"].to_list(), out["r"].to_list()))

    def text(self, texts: pl.Series, known: Mapping[str, str] | None = None) -> pl.Series:
        """Redact e-mails and IPs found in ``texts`` plus the ``known`` raw -> redacted values.

        Each distinct text is redacted once.
        """
        mapping = {k: v for k, v in (known or {}).items() if len(k) >= MIN_LITERAL}
        mapping.update(self.text_mapping(texts))
        if not mapping:
            return texts
        unique = texts.drop_nulls().unique()
        table = pl.DataFrame({"t": unique, "r": apply_mapping(unique, mapping)})
        return (texts.to_frame("t").join(table, on="t", how="left", maintain_order="left")
                ["r"].rename(texts.name))

    # -- whole outputs ---------------------------------------------------------

    def value_map(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """``kind, value, redacted`` for the distinct signal values that redaction changes or may change.

        ``payment`` values are hashed whole, ``ip`` values become network plus
        hash, :data:`DIGIT_KINDS` values have their digits written 0, kinds in
        :data:`SAFE_KINDS` are left out (unchanged), every other kind is redacted
        as free text.

        Examples
        --------
        >>> pairs = pl.DataFrame({"kind": ["prompt", "prompt"], "value": ["card 4111 1111 via", "no digits here"]})
        >>> Redactor(b"k").value_map(pairs).rows()
        [('prompt', 'card 4111 1111 via', 'card 0000 0000 via')]
        """
        pairs = pairs.select("kind", "value").drop_nulls().unique().sort("kind", "value")
        pay = pairs.filter(pl.col("kind") == "payment")
        ips = pairs.filter(pl.col("kind") == "ip")
        digits = pairs.filter(pl.col("kind").is_in(DIGIT_KINDS) & pl.col("value").str.contains(r"\d"))
        free = pairs.filter(~pl.col("kind").is_in(["payment", "ip", *DIGIT_KINDS, *SAFE_KINDS]))
        return pl.concat([
            pay.with_columns(self.payments(pay["value"]).alias("redacted")),
            ips.with_columns(self.ips(ips["value"]).alias("redacted")),
            digits.with_columns(pl.col("value").str.replace_all(r"\d", "0").alias("redacted")),
            free.with_columns(self.text(free["value"]).alias("redacted")),
        ])

    @staticmethod
    def apply_value_map(frame: pl.DataFrame, value_map: pl.DataFrame) -> pl.DataFrame:
        """Replace ``value`` by its redacted form (rows keep their order)."""
        if frame.is_empty():
            return frame
        return (frame.join(value_map, on=["kind", "value"], how="left", maintain_order="left")
                .with_columns(pl.coalesce("redacted", "value").alias("value")).drop("redacted"))

    @staticmethod
    def cut_forms(value_map: pl.DataFrame) -> dict[str, str]:
        """Raw -> redacted for changed values, also as cut in ``why`` and ``top_values``."""
        changed = value_map.filter(pl.col("value") != pl.col("redacted"))
        mapping: dict[str, str] = {}
        for width in TRUNCATIONS:
            short = changed.filter(pl.col("value").str.len_chars() > width)
            mapping.update(zip(short["value"].str.slice(0, width).to_list(), short["redacted"].to_list()))
        mapping.update(zip(changed["value"].to_list(), changed["redacted"].to_list()))
        return mapping

    def outputs(self, outputs: Outputs, context: pl.DataFrame | None = None) -> Outputs:
        """A redacted copy of ``outputs``: every table and the warnings.

        Parameters
        ----------
        outputs : Outputs
        context : DataFrame, optional
            ``kind, value`` evidence of clusters not loaded in ``outputs``
            whose ``why`` / ``top_values`` are still shown (the report's
            cluster table), so their values are recognised there too.
        """
        shown = [outputs.evidence.select("kind", "value")]
        if context is not None:
            shown.append(context.select("kind", "value"))
        shown_map = self.value_map(pl.concat(shown))
        member_map = shown_map
        quoted = [f.select("kind", "value") for f in (outputs.memberships, outputs.member_linking, outputs.campaign_ties)
                  if f is not None]
        if quoted:
            extra = pl.concat(quoted).unique().join(
                shown_map.select("kind", "value"), on=["kind", "value"], how="anti")
            member_map = pl.concat([shown_map, self.value_map(extra)])
        known = self.cut_forms(shown_map)
        clusters = outputs.clusters
        mapping = {k: v for k, v in known.items() if len(k) >= MIN_LITERAL}
        mapping.update(self.text_mapping(pl.concat([clusters["why"], clusters["top_values"].explode().drop_nulls()])))
        if mapping:
            clusters = clusters.with_columns(
                apply_mapping(clusters["why"], mapping),
                clusters["top_values"].list.eval(_replace_expr(pl.element(), mapping)),
            )

        def account_ids(frame: pl.DataFrame | None) -> pl.DataFrame | None:
            if frame is None or frame.is_empty():
                return frame
            return frame.with_columns(self.text(frame["account_id"]))

        memberships = outputs.memberships
        if memberships is not None:
            memberships = account_ids(self.apply_value_map(memberships, member_map))
        member_linking = outputs.member_linking
        if member_linking is not None:
            member_linking = account_ids(self.apply_value_map(member_linking, member_map))
        run = dict(outputs.run)
        if run.get("warnings"):
            run["warnings"] = self.text(pl.Series(run["warnings"], dtype=pl.String), known).to_list()
        return dataclasses.replace(
            outputs, run=run, clusters=clusters, accounts=account_ids(outputs.accounts),
            evidence=self.apply_value_map(outputs.evidence, shown_map), memberships=memberships,
            member_linking=member_linking, activity=account_ids(outputs.activity), redaction=self.note,
            set_apart=account_ids(outputs.set_apart),
            campaign_ties=None if outputs.campaign_ties is None else self.apply_value_map(outputs.campaign_ties, member_map),
        )


def _replace_expr(expr: pl.Expr, mapping: Mapping[str, str]) -> pl.Expr:
    # Longest first with leftmost matching: "10.1.2.35" wins over "10.1.2.3".
    keys = sorted(mapping, key=lambda k: (-len(k), k))
    return expr.str.replace_many(keys, [mapping[k] for k in keys], leftmost=True)


def apply_mapping(texts: pl.Series, mapping: Mapping[str, str]) -> pl.Series:
    """Replace every occurrence of each key of ``mapping`` in ``texts`` (longest match first).

    Examples
    --------
    >>> apply_mapping(pl.Series(["1.2.3.45 and 1.2.3.4"]), {"1.2.3.4": "A", "1.2.3.45": "B"}).to_list()
    ['B and A']
    """
    if not mapping or texts.is_empty():
        return texts
    return texts.to_frame("t").select(_replace_expr(pl.col("t"), mapping).alias(texts.name)).to_series()


def make_redactor(key: str | None = None, *, env: Mapping[str, str] | None = None,
                  ipv4_prefix: int = 24, ipv6_prefix: int = 48) -> Redactor:
    """Build a :class:`Redactor` from ``--redact-key``, else ``GRAPHLINK_REDACT_KEY``, else a random key.

    Examples
    --------
    >>> make_redactor("s3cret").key_source, make_redactor(env={}).key_source
    ('--redact-key', 'random')
    """
    env = os.environ if env is None else env
    if key:
        return Redactor(key.encode("utf-8"), "--redact-key", ipv4_prefix, ipv6_prefix)
    if env.get(ENV_KEY):
        return Redactor(env[ENV_KEY].encode("utf-8"), ENV_KEY, ipv4_prefix, ipv6_prefix)
    return Redactor(secrets.token_bytes(32), "random", ipv4_prefix, ipv6_prefix)


def redactor_for(outputs: Outputs, key: str | None = None) -> Redactor:
    """:func:`make_redactor` with the ``ip_net`` prefixes the run used."""
    signals = outputs.run.get("parameters", {}).get("signals", {})
    return make_redactor(key, ipv4_prefix=int(signals.get("ipv4_prefix", 24)),
                         ipv6_prefix=int(signals.get("ipv6_prefix", 48)))
