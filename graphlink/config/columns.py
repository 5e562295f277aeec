"""Canonical column names and the check of a column map (``--map``, a config file's ``[columns]``)."""

from __future__ import annotations

from graphlink.errors import ConfigError

__all__ = ["ACCOUNT_COLUMNS", "EVENT_COLUMNS", "check_column_map"]

#: Canonical event columns. Only ``account_id`` is required.
EVENT_COLUMNS = ("account_id", "timestamp", "ip", "payment_fingerprint", "prompt", "user_agent")
#: Canonical accounts-file columns (``email`` is accepted in place of ``email_domain``).
ACCOUNT_COLUMNS = ("account_id", "created_at", "email_domain", "email")


def check_column_map(column_map, extra_signals: tuple[str, ...] = (), where: str = "column mapping") -> None:
    """Raise :class:`ConfigError` naming a canonical name in ``column_map`` graphlink does not know (valid:
    :data:`EVENT_COLUMNS`, the accounts file's ``created_at``, ``email_domain`` and ``email``, the ``extra_signals``;
    a near miss such as ``acount_id`` is pointed at the name it resembles), or a name given two columns or a column
    two names (a rename gives each one). ``account_id`` alone may name several columns, one per file
    (``account_id=user_id,account_id=uid``: the events' and the accounts file's ids); each file reads the one it has. A later layer (``--map`` over ``[columns]``) replaces pairs: ``build_config``."""
    import difflib

    valid = list(dict.fromkeys(EVENT_COLUMNS + ACCOUNT_COLUMNS + tuple(extra_signals)))
    for canonical, _ in column_map:
        if canonical not in valid:
            close = difflib.get_close_matches(canonical, valid, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{where}: unknown canonical column {canonical!r}{hint}; valid names are {', '.join(valid)}")
    named: dict[str, str] = {}
    for canonical, source in dict(column_map).items():
        if named.setdefault(source, canonical) != canonical:
            raise ConfigError(f"{where}: column {source!r} is mapped to both {named[source]} and {canonical}; a column "
                              f"can be mapped to one name (copy it in the file to use it as both)")
    sources = {c: {s for k, s in column_map if k == c} for c, _ in column_map}
    for canonical, given in sources.items():
        if len(given) > 1 and canonical != "account_id":  # the id may be named per file: each uses the one it has
            raise ConfigError(f"{where}: {canonical} is mapped to {len(given)} columns ({', '.join(map(repr, sorted(given)))}); "
                              f"map it to one")
