"""``graphlink expand`` and :func:`graphlink.expand`: from a few known accounts to their ring.

Reads a detect output folder through :func:`graphlink.store.outputs.load_outputs`
(``graph=True``: the account graph ``links.parquet`` and the linking values
``linking.parquet``) and ranks accounts by a random walk with restart from the
seeds (:mod:`graphlink.stages.expand` has the method, its sources and defaults).
Nothing here prints; the ranked frame has :data:`graphlink.contract.EXPAND_SCHEMA`.

Examples
--------
>>> import tempfile, polars as pl, graphlink
>>> events = pl.DataFrame({"account_id": ["r1", "r2", "r3", "r4", "x"],
...                        "payment_fingerprint": ["k", "k", "k", "k", "z"]})
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = graphlink.detect(events).save(f"{tmp}/out")
...     ranked = graphlink.expand(out, ["r1"])
>>> ranked.select("account_id", "rank").rows()
[('r1', 0), ('r2', 1), ('r3', 2), ('r4', 3)]
"""

from __future__ import annotations

import re

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from graphlink.contract import ACTIVITY_FILE, EXPAND_SCHEMA, MINUTES_FILE, TEMPLATES_FILE
from graphlink.errors import GraphlinkError, InputError
from graphlink.stages.expand import DEFAULT_RESTART
from graphlink.stages.seed_bursts import burst_note, fill_burst
from graphlink.stages.seed_groups import rank_groups
from graphlink.stages.reading import collect_frame, scan, sniff_encoding
from graphlink.store.folder import Outputs
from graphlink.store.atomic import write_atomic
from graphlink.store.outputs import load_outputs
from graphlink.views.safety import read_back_forms

__all__ = ["expand", "expand_note", "read_seeds", "graph_outputs", "check_ranking_target", "write_parquet_atomic",
           "exported_ids", "redact_expansion"]


def read_seeds(values: Iterable[str]) -> list[str]:
    """Seed account ids from ``--seeds`` values: each an existing file or an account id.

    A value that is not a file may list several ids separated by commas. A file is one id per line (``.txt``, blank lines and ``#`` comments
    skipped; UTF-8, a byte-order mark dropped) or a table with an ``account_id`` column (Parquet, CSV, NDJSON;
    empty ids skipped).

    Raises
    ------
    GraphlinkError
        A table without ``account_id`` or with an events log's or accounts file's columns, a text file not in UTF-8 (:class:`InputError`
        naming it), or no seed at all.

    Examples
    --------
    >>> read_seeds(["acct_1", "acct_2,acct_3", "acct_1"]), read_seeds([1000, "1001"])
    (['acct_1', 'acct_2', 'acct_3'], ['1000', '1001'])
    """
    if isinstance(values, (str, Path)) or not isinstance(values, Iterable):
        values = [values]  # one seed given bare (an integer id); None is refused below, naming what was expected
    seeds: list[str] = []
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # ids are text: an integer id of the notebook as detect spelled it
        elif not isinstance(value, (str, Path)):
            raise GraphlinkError(f"seeds are account ids (text) or files of them, not {type(value).__name__}")
        path = Path(value)
        if not _is_file(path):  # a long comma-separated list is no file name (and no OSError)
            seeds.extend(part.strip() for part in value.split(",") if part.strip())
            continue
        if path.suffix.lower() in (".parquet", ".csv", ".tsv", ".ndjson", ".jsonl"):
            table = collect_frame(scan(path), str(path))
            if "account_id" not in table.columns:
                raise GraphlinkError(f"{path}: no account_id column (columns: {', '.join(table.columns[:8])})")
            logged = sorted(set(table.columns) & {"timestamp", "ip", "prompt", "payment_fingerprint", "user_agent",
                                                  "created_at", "email", "email_domain"})
            if logged:  # every account of the log would be a seed (new-user review, session 17: 13,931 seeds, 272 s)
                raise GraphlinkError(f"{path}: has {', '.join(logged)} columns: it looks like an events log or an "
                                     "accounts file, not a list of seed accounts; give the accounts to expand from "
                                     "(ids, or a file of them)")
            ids = table["account_id"].cast(pl.String).str.strip_chars().drop_nulls()
            seeds.extend(ids.filter(ids != "").to_list())  # an empty id is skipped, like a blank line
        else:
            sniff_encoding(path, "csv")  # UTF-16/32: an error naming the file
            try:
                # A UTF-8 byte-order mark is dropped; lines end at newlines only (splitlines cut an id at U+2028, NEL).
                lines = re.split(r"\r\n|\r|\n", path.read_text(encoding="utf-8-sig"))
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text (byte {exc.start}): convert it to UTF-8", file=str(path)) from None
            seeds.extend(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not seeds:
        raise GraphlinkError("no seed accounts given (--seeds takes account ids or a file of them)")
    return list(dict.fromkeys(seeds))


def graph_outputs(source: str | Path | Outputs, selection: str | list[int] = "all", whole: bool = True,
                  drilldown: bool = True) -> Outputs:
    """An output folder (or one already read) with its account graph scanned: ``links``, ``linking``.

    By default every account is read (``expand``); ``match`` reads the clustered ones (``whole=False``),
    without the drill-down tables when detect's clock index stands in for the activity (``drilldown=False``).
    """
    if isinstance(source, Outputs):
        if source.links is not None and source.linking is not None:
            return source
        source = source.path
    return load_outputs(source, selection, whole=whole, graph=True, drilldown=drilldown)


def expand(source: str | Path | Outputs, seeds: Iterable[str] | str, *, restart: float = DEFAULT_RESTART,
           top: int | None = None) -> pl.DataFrame:
    """Rank the accounts most strongly tied to ``seeds`` in a detect output.

    Parameters
    ----------
    source : path or Outputs
        A ``graphlink detect --out`` folder (written by a graphlink that
        saves ``links.parquet`` and ``linking.parquet``).
    seeds : str or iterable of str
        Seed account ids, or files of them (see :func:`read_seeds`).
    restart : float
        Restart probability of the walk (default
        :data:`graphlink.stages.expand.DEFAULT_RESTART`, 0.25: see there).
    top : int, optional
        List this many accounts besides the seeds; default: the ring the
        sweep cut finds around the seeds (:func:`graphlink.stages.expand.sweep_cut`).

    Returns
    -------
    DataFrame
        ``account_id, rank, score, cluster_id, campaign_id, why``, seeds first
        (rank 0), shape (seeds + listed, 6). ``score`` is unitless, in [0, 1]
        and relative to this ranking only (normalised to its best listed
        account; not comparable across runs, seed sets or options): 1.0 the
        seeds, above 0.5 an account sharing values with every seed (or a
        seed's card), 0.5 and below one tied through the graph only; with one
        seed at most 0.5 (:data:`graphlink.contract.EXPAND_SCHEMA`).

    Raises
    ------
    GraphlinkError
        Not an output folder, one without the account graph (``links.parquet``, ``linking.parquet``) or
        the seeds' clocks and templates (``activity.parquet``, ``minutes.parquet``, ``templates.parquet``),
        an unknown seed id.
    """
    outputs = graph_outputs(source)
    # The seeds' clocks and templates hold the list to their ring: without them it runs on into the seeds'
    # neighbours (new-user review, session 15: fixture rings from 2 seeds found in 36 of 50 draws, not 50).
    missing = [name for name, frame in ((ACTIVITY_FILE, outputs.activity), (MINUTES_FILE, outputs.minutes),
                                        (TEMPLATES_FILE, outputs.templates)) if frame is None]
    if missing:
        raise GraphlinkError(f"{outputs.path}: has no {' or '.join(missing)} (written by an older graphlink, or "
                             "copied in part): expand reads the seeds' clock and templates there; rerun graphlink detect")
    seeds = read_seeds([seeds] if isinstance(seeds, str) else seeds)
    accounts = outputs.accounts.select("account_id", "cluster_id").join(
        outputs.clusters.select("cluster_id", "campaign_id"), on="cluster_id", how="left")
    mapping = exported_ids(seeds, outputs)
    seeds = list(dict.fromkeys(mapping.get(s, s) for s in seeds))
    try:
        ranked = rank_groups(outputs.links.collect(), outputs.linking.collect(), accounts, seeds, restart=restart,
                             top=top, activity=outputs.activity, minutes=outputs.minutes, templates=outputs.templates)
    except GraphlinkError as exc:
        raise GraphlinkError(f"{outputs.path}: {exc}") from None
    # Seeds of a cluster detect grouped by template bursts: the burst is no link, the walk never reaches its members.
    return ranked if top is not None else fill_burst(ranked, accounts, outputs.evidence, seeds)


def exported_ids(ids: Iterable[str], outputs: Outputs | Callable[[pl.Series], pl.Series]) -> dict[str, str]:
    """Ids copied back from graphlink's own views, mapped to the account they stand for: an id a spreadsheet
    could read as a formula (``+1-555-0100``) is written in the CSV export with a leading ``'``
    (:func:`graphlink.views.safety.csv_unguarded`), and the report, ``show`` or a template spell a control or
    invisible character (``ring⟨U+200B⟩1``, session 41); such an id stands for the first form of it
    (:func:`graphlink.views.safety.read_back_forms`) the run has, when the run does not have the id as written
    (new-user review and break-it review, session 39). ``expand``'s seeds, ``match``'s lists of ids to look up and
    ``account``'s id; ``outputs`` is the run, or what gives those of some ids it has (its ``known_ids``)."""
    known = outputs.known_ids if isinstance(outputs, Outputs) else outputs
    forms = {i: f for i in map(str, ids) if (f := read_back_forms(i))}
    if not forms:
        return {}
    every = [*forms, *(f for fs in forms.values() for f in fs)]
    have = set(known(pl.Series(list(dict.fromkeys(every)), dtype=pl.String)).to_list())
    return {i: next(f for f in fs if f in have) for i, fs in forms.items()
            if i not in have and any(f in have for f in fs)}


def redact_expansion(ranked: pl.DataFrame, outputs: Outputs, note: str | None = None,
                     apart: list[dict[str, Any]] | None = None, key: str | None = None,
                     ) -> tuple[pl.DataFrame, str | None, list[dict[str, Any]] | None, str]:
    """:func:`expand`'s ranking (and its note and seeds' set-apart notes, as ``graphlink expand`` prints them) with
    cards, e-mail addresses and IPs hashed as ``show --redact`` hashes them (:mod:`graphlink.store.redact`: HMAC-SHA256,
    IP networks and e-mail domains kept): the values the listed accounts hold (``linking.parquet``) wherever a ``why``
    quotes them, whole or cut, and every address or e-mail in an id or a text.

    Parameters
    ----------
    ranked : DataFrame
        :data:`graphlink.contract.EXPAND_SCHEMA`.
    outputs : Outputs
        The folder the ranking was read from, its graph scanned (:func:`graph_outputs`).
    key : str, optional
        HMAC key; else ``$GRAPHLINK_REDACT_KEY``, else a random key for this call only.

    Returns
    -------
    tuple
        The ranking (same rows and schema, ``account_id`` and ``why`` redacted), the note, the set-apart notes
        (``account_id`` and ``note`` redacted) and the sentence saying what was hashed with which key's source.
    """
    from graphlink.store.redact import redactor_for

    redactor = redactor_for(outputs, key)
    ids = ranked["account_id"].unique()
    pairs = (outputs.linking.filter(pl.col("account_id").is_in(ids.implode())).select("kind", "value").unique()
             .collect() if outputs.linking is not None else pl.DataFrame(schema={"kind": pl.String, "value": pl.String}))
    known = redactor.cut_forms(redactor.value_map(pairs))

    def hide(texts: list[str | None]) -> list[str | None]:
        return redactor.text(pl.Series(texts, dtype=pl.String), known).to_list()

    ranked = ranked.with_columns(redactor.text(ranked["account_id"], known), redactor.text(ranked["why"], known))
    note = None if note is None else hide([note])[0]
    if apart:
        apart = [{**row, **dict(zip(("account_id", "note"), hide([row.get("account_id"), row.get("note")])))}
                 for row in apart]
    return ranked, note, apart, redactor.note


def expand_note(source: str | Path | Outputs, seeds: Iterable[str] | str) -> str | None:
    """What :func:`expand` cannot follow from these seeds, or None: for seeds of one cluster detect grouped by
    template bursts, the bursts' other senders and the cell's other bursts
    (:func:`graphlink.stages.seed_bursts.burst_note`)."""
    outputs = source if isinstance(source, Outputs) else load_outputs(source, "all", drilldown=False)
    seeds = read_seeds([seeds] if isinstance(seeds, str) else seeds)
    accounts = outputs.accounts.select("account_id", "cluster_id")
    return burst_note(outputs.evidence, accounts, seeds)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False where the name cannot be a file (too long for the file system: ids pasted
    as one comma-separated ``--seeds`` value; Python 3.11 raises there)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_ranking_target(path: str | Path, source: str | Path | None = None, seeds: Iterable[str] = ()) -> Path:
    """Refuse a ``--out`` file that would overwrite something expand did not write.

    The target must end in ``.parquet``, lie outside the detect output folder
    ``source``, not be one of the ``seeds`` files, and, if it exists, be an
    earlier expand output (a Parquet file with exactly
    :data:`graphlink.contract.EXPAND_SCHEMA`).

    Raises
    ------
    GraphlinkError
        Naming the file and what to do instead.

    Examples
    --------
    >>> check_ranking_target("ranked.csv")
    Traceback (most recent call last):
    ...
    graphlink.errors.GraphlinkError: ranked.csv: the ranking is written as Parquet: give a file name ending in .parquet
    """
    path = Path(path)
    if path.is_dir():
        raise GraphlinkError(f"{path}: is a folder; give a file name such as {path / 'ranked.parquet'}")
    if path.suffix.lower() != ".parquet":
        raise GraphlinkError(f"{path}: the ranking is written as Parquet: give a file name ending in .parquet")
    if source is not None and Path(source).is_dir() and _inside(path, Path(source)):
        raise GraphlinkError(f"{path}: is inside the detect output {source}, which expand only reads; "
                             "choose another --out")
    for value in seeds:
        if _is_file(Path(value)) and _same_file(path, Path(value)):
            raise GraphlinkError(f"{path}: is the seeds file; choose another --out")
    if path.exists():
        try:
            schema = pl.scan_parquet(path, glob=False).collect_schema()
        except Exception:  # noqa: BLE001  (any unreadable file is not ours)
            schema = None
        if schema is None or pl.Schema(schema) != EXPAND_SCHEMA:
            raise GraphlinkError(f"{path}: exists and is not an expand output; choose another --out")
    return path


def write_parquet_atomic(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` as Parquet atomically (a failed write leaves no partial file).

    Raises
    ------
    GraphlinkError
        ``path`` is an existing folder.
    """
    import io

    path = Path(path)
    if path.is_dir():
        raise GraphlinkError(f"{path}: is a folder; give a file name such as {path / 'ranked.parquet'}")
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return write_atomic(path, buffer.getvalue())
