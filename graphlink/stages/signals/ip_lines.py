"""IPv6 rotation: an account hopping to a fresh /64 of one network within minutes.

``ip_spread`` counts the networks (IPv4 /24, IPv6 /48) each member used. An
operator renting one IPv6 /48 rotates through its 65,536 /64s -- a new /64
(and interface id) per request -- so it shows one network, no shared
address, and scores like a home (session 48, rec48: IPv6 cells scored
0.50-0.54 with coordination 0.99). Real networks do not hand out /64s that
way:

* RFC 6177 (IPv6 address assignment to end sites): a site (home, office)
  gets a /48 or /56 and keeps it; a host sits in one /64 of it (one per
  link). RFC 4941 / RFC 8981 privacy ("temporary") addresses rotate only the
  interface id, by default daily, never the /64.
* A phone gets a /64 per PDN connection (3GPP; RFC 6459, RFC 7278), held for
  the connection -- hours -- and a home whose ISP renumbers it daily gets a
  new prefix a day.
* A campus or large office gives each building or VLAN a /64 of its /48;
  its people move between /64s, but between ones their colleagues use too.

So a *line change* is counted when two consecutive requests of an account
inside one network (``ip_net``) come from different /64s less than
:data:`LINE_CHANGE_SECONDS` apart ("close" requests), **and** the new /64
is one the account had not used before (fresh: a service spread over the
subnets of its cloud network -- AWS gives a VPC a /56 and each
availability-zone subnet a /64 -- goes back and forth between its few /64s
on every request, a rotating fleet does not come back) **and** the new /64
lived briefly: every request from it in the log, anyone's, falls within
:data:`LINE_CHANGE_SECONDS` (a campus's VLAN, a home line, a service's
subnet are used for days; a fleet drops each /64 within minutes, whether
one of its accounts or several drew it -- session 49's "only this account
used it" let two ring accounts drawing the same /64s escape, brk49b).

The changes count for an account whose /64s, over its close requests, lived
under :data:`LINE_CHANGE_SECONDS` on average: changes x LINE_CHANGE_SECONDS
exceed the summed gaps of its close pairs (the time in which a change could
be seen; the gaps over the changes estimate a /64's lifetime, as a Poisson
rate's exposure over its events). A renewal is an occasional event between
requests on one line -- a phone whose connection drops between two requests
(a /64 per connection of hours), a person walking to another building -- so
a phone's or a campus member's estimate is hours however long the log
(14 days of a phone renewing every 3 hours add up to about one change per 3
hours of close requests), while a rotating fleet's is its gap between
requests times the requests it sends from each /64 (a fleet sending two
requests 2 minutes apart from each /64: 4 minutes). Counting the *share* of
changed close pairs instead (session 49: more than half) let a fleet escape
by sending two requests from each /64 (brk49b: 29 of 59). Each such
member's line changes are added to its networks (``ip_lines``): a fleet
member with 20 close requests in one /48 reads as 20 networks, as a
residential-proxy user does in IPv4. The graph gets a value only from a
rotation block (:func:`rotation_networks`, ``[signals] rotation_ties``,
on by default since session 54): the accounts drawing /64s across /56s of one
network, when they are most of those seen there, share it (kind
``ip_rotation``) -- those of them a card, template or clock links
(:mod:`graphlink.stages.signals.rotation_ties`: strangers on a privacy relay
draw one pool too); a home rotating inside its own /56 ties nobody.

Examples
--------
>>> import polars as pl
>>> frame = pl.DataFrame({"account_idx": [0, 0, 0, 1, 1], "ip": [1, 2, 3, 4, 4],
...                       "timestamp": [0, 60, 120, 0, 60]}, schema_overrides={"account_idx": pl.UInt32})
>>> frame = frame.with_columns(pl.from_epoch("timestamp").dt.replace_time_zone("UTC"))
>>> table = pl.DataFrame({"key": [1, 2, 3, 4], "version": [6, 6, 6, 6], "net_key": [9, 9, 9, 8],
...                       "int_key": [100, 101, 102, 200]}, schema_overrides={"version": pl.Int8})
>>> line_changes(frame, table).sort("account_idx").rows()
[(0, 2)]
"""

from __future__ import annotations

import polars as pl

__all__ = ["DRAWN_KIND", "HOME_PREFIX", "LINE_CHANGE_SECONDS", "line_changes", "rotation_networks"]

#: The value-count kind carrying each block rotator's /64s drawn beyond its close changes (``drawn - changes`` of
#: :func:`rotation_networks`) from the IP pairs to the signals stage, which adds them to the ``ip_lines`` of the
#: rotators a tie corroborates (:func:`graphlink.stages.signals.rotation_ties.fold_drawn`) and drops the rows.
DRAWN_KIND = "ip_drawn"

#: Two requests of one account in one IPv6 network this close (seconds) share a /64 unless it rotates: below the
#: lifetime of any /64 a network assigns (a PDN connection's hours, a daily renumbering; see the module docstring).
LINE_CHANGE_SECONDS = 3_600

#: A home's delegated prefix (bits): RFC 6177 and RIPE-690 advise a /56 (or a /48) per end site, many ISPs hand
#: out a /56 or a /60 (inside one /56). Rotating inside it is the home's own; a pool's /64s fall across /56s.
HOME_PREFIX = 56


def line_changes(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, changes``: each account's fast moves to a /64 of its own inside one IPv6 network.

    Parameters
    ----------
    frame : polars.DataFrame
        Events: ``account_idx`` (UInt32), ``ip`` (the address's key in ``table``), ``timestamp`` (Datetime).
    table : polars.DataFrame
        Parsed addresses (:func:`graphlink.stages.signals.ip.ip_table`): ``key, version, net_key, int_key``
        (for IPv6 ``int_key`` is the top 64 bits: the /64).

    Returns
    -------
    polars.DataFrame
        Accounts with at least one change (see the module docstring); empty without IPv6 or timestamps.
    """
    return _rotating(_moves(frame, table))


def _rotating(moves: pl.DataFrame) -> pl.DataFrame:
    # its /64s lived under LINE_CHANGE_SECONDS over its close requests (changes per second of exposure): rotation
    counted = (moves.group_by("account_idx").agg(pl.col("exposure").sum(), pl.col("changes").sum())
               .filter(pl.col("changes").cast(pl.Float64) * LINE_CHANGE_SECONDS > pl.col("exposure")))
    return counted.select("account_idx", "changes").cast({"account_idx": pl.UInt32, "changes": pl.UInt32})


def rotation_networks(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, net_key, changes, block, drawn``: the networks an account of :func:`line_changes` rotated in.

    Same parameters as :func:`line_changes`; one row per rotating account and network it made a change in (an
    account that does not rotate, module docstring, has none). ``block`` says the account drew from the network's
    pool and the network is a rotation block. *Drew from the pool*: half or more of its changes there left the /56
    of the request before (:data:`HOME_PREFIX`). A home's delegated prefix is its own (RFC 6177, RIPE-690: a /56
    or /60 per home), so rotating inside it is the home's doing, not a pool shared with others: ISP households
    each drawing a fresh /64 of their /56 per request tied each other under session 50's rule
    (test_break_session12, test_break_nc13); an operator rotating over its rented /48 leaves the /56 on 255 of 256
    draws. *A rotation block*: at least two accounts drew from its pool and they are most (more than half) of the
    accounts seen there with close requests (the ones whose rotation could be seen). An operator's rented /48 is
    its rotators' (dev templates 1000-1030: 0.88-1.00 of them); a carrier's /48 shared by a hundred phones holds
    a few whose renewals fell between close requests (0.03-0.12), as an ISP's or a campus's would: chance, not a
    block. An operator holding a /56 per account (or one /56 for all) reads as homes: its accounts rotate
    (``ip_lines``, the score's IP spread) but tie nobody (test_rotation_homes51).

    ``drawn`` counts every fresh, brief /64 the account moved to in the network, the request before close or not:
    once its rotation is seen (close requests) and the pool is shown to be an operator's (a tie corroborated by a
    card, template or clock, :mod:`graphlink.stages.signals.rotation_ties`), each /64 it drew is a line it used, as
    each /24 of a residential proxy is a network. Counting only the changes after close requests made a light
    member's spread its request rate: dev templates 1025, a ring cell's median member drew 21 /64s in 21 IPv6
    requests and was counted 1-2 changes.
    """
    moves = _moves(frame, table)
    rotating = moves.join(_rotating(moves), on="account_idx", how="semi").filter(pl.col("changes") > 0)
    seen = moves.filter(pl.col("exposure") > 0).group_by("net_key").agg(pl.len().alias("seen"))
    pool = rotating.filter(pl.col("far") * 2 >= pl.col("changes"))
    block = pool.group_by("net_key").agg(pl.len().alias("rotating")).join(seen, on="net_key", how="left")
    block = block.filter((pl.col("rotating") >= 2) & (pl.col("rotating") * 2 > pl.col("seen").fill_null(0)))
    tied = pool.join(block, on="net_key", how="semi").select("account_idx", "net_key", pl.lit(True).alias("block"))
    return (rotating.join(tied, on=["account_idx", "net_key"], how="left")
            .select("account_idx", "net_key", pl.col("changes").cast(pl.UInt32), pl.col("block").fill_null(False),
                    pl.col("drawn").cast(pl.UInt32)))


def _moves(frame: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``account_idx, net_key, exposure, changes`` per account and IPv6 network (see the module docstring).

    ``exposure`` is the summed gaps of the account's close pairs (seconds); ``far``: the changes to a /64 outside
    the /56 (:data:`HOME_PREFIX`) of the request before; ``drawn``: the moves to a fresh, brief /64 whether the
    request before was close or not (:func:`rotation_networks`).
    """
    out = pl.DataFrame(schema={"account_idx": pl.UInt32, "net_key": pl.UInt64, "exposure": pl.Float64,
                               "changes": pl.UInt32, "far": pl.UInt32, "drawn": pl.UInt32})
    v6 = table.filter(pl.col("version") == 6).select("key", "net_key", pl.col("int_key").alias("line"))
    if not v6.height or "timestamp" not in frame.columns:
        return out
    ev = (frame.lazy().select("account_idx", "ip", "timestamp").drop_nulls()
          .join(v6.lazy(), left_on="ip", right_on="key").drop("ip").collect())
    if not ev.height:
        return out
    # A /64 that lived briefly: all its requests, anyone's, within the hour (not a VLAN, a home line, a subnet).
    brief = (ev.group_by("line").agg((pl.col("timestamp").max() - pl.col("timestamp").min()).dt.total_seconds()
                                     .alias("life")).filter(pl.col("life") < LINE_CHANGE_SECONDS).select("line"))
    # Ties in time broken by the /64 (a join's row order is not fixed); fresh: the account's first request from it.
    ev = (ev.with_columns(pl.col("line").is_in(brief["line"].implode()).alias("brief"))
          .sort("account_idx", "net_key", "timestamp", "line"))
    fresh = pl.int_range(pl.len()).over("account_idx", "line") == 0
    same = (pl.col("account_idx") == pl.col("account_idx").shift(1)) & (pl.col("net_key") == pl.col("net_key").shift(1))
    gap = (pl.col("timestamp") - pl.col("timestamp").shift(1)).dt.total_seconds()
    close = (same & (gap < LINE_CHANGE_SECONDS)).fill_null(False)
    change = close & (pl.col("line") != pl.col("line").shift(1)) & pl.col("brief") & fresh
    home = pl.col("line") // 2**(64 - HOME_PREFIX)  # the /56 a /64 lies in
    far = change & (home != home.shift(1))
    drawn = same & (pl.col("line") != pl.col("line").shift(1)) & pl.col("brief") & fresh  # close or not
    counted = (ev.with_columns(pl.when(close).then(gap).otherwise(0).alias("exposure"),
                               change.fill_null(False).alias("change"), far.fill_null(False).alias("far"),
                               drawn.fill_null(False).alias("drawn"))
               .group_by("account_idx", "net_key")
               .agg(pl.col("exposure").sum(), pl.col("change").sum().alias("changes"), pl.col("far").sum(),
                    pl.col("drawn").sum()))
    return counted.cast(dict(out.schema))
