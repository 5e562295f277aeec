"""One account on its own: its cluster, campaign, flag, whether it was set apart, what ties it, its activity.

"Is acct_X flagged, and why?" needed ``show DIR CLUSTER --members N`` and a search through hundreds of rows, or
``match`` fed a one-column id file (new-user review nu56, finding 7); an account set apart from a flagged ring was in
no list at all (finding 3). :func:`account_view` is the one function behind ``graphlink account DIR ACCOUNT_ID`` and
the notebook's :meth:`graphlink.Result.account`, reading through the output-folder reader
(:func:`graphlink.store.outputs.load_outputs`, :func:`graphlink.store.outputs.read_clusters`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from graphlink.contract import ACCOUNTS_FILE, LINKING_FILE, LINKING_SCHEMA
from graphlink.errors import GraphlinkError
from graphlink.store.folder import Outputs, folder_path
from graphlink.views.explain import flag_basis_expr, flag_settings
from graphlink.views.safety import read_back_forms
from graphlink.views.set_apart import set_apart_from

__all__ = ["ACCOUNT_VALUE_COLUMNS", "account_view"]

#: The values an account holds (``values`` of :func:`account_view`), in order: ``df`` the run's accounts holding it
#: (rarity: 2 is a value it shares with one other account), ``in_cluster`` / ``in_campaign`` how many accounts of
#: its cluster (or the cluster it was set apart from) and of that cluster's campaign hold it, itself included. Those held with another account of its cluster or campaign come first, then by weight.
ACCOUNT_VALUE_COLUMNS = ("kind", "value", "df", "weight", "in_cluster", "in_campaign")


def account_view(source: Outputs | str | Path, account_id: str, *, redact: bool = False,
                 redact_key: str | None = None) -> dict[str, Any]:
    """Everything an output folder says about one account.

    Parameters
    ----------
    source : Outputs, str or Path
        An output folder (``graphlink detect --out``; only the account's cluster is read) or the tables of a loaded
        folder or fresh result (:attr:`graphlink.Result.outputs`).
    account_id : str
        The account, as ``accounts.parquet`` holds it, or as graphlink's views spell it (a control or invisible
        character as ``⟨U+202E⟩``; the CSV export's leading ``'`` of a guarded cell), as ``expand`` reads seeds.
    redact : bool
        Hash cards, e-mail addresses and IPs wherever they appear (the values, the tie, the reasons, the account id
        when it is an address) as ``show --redact`` hashes them (:mod:`graphlink.store.redact`; IP networks and
        e-mail domains kept). The lookup itself uses ``account_id`` as given.
    redact_key : str, optional
        HMAC key for ``redact`` (implies it); else ``$GRAPHLINK_REDACT_KEY``, else a random key for this call only.

    Returns
    -------
    dict
        ``account`` (its ``accounts.parquet`` row: ``cluster_id``, ``campaign_id``, ``events``, ``first_seen`` /
        ``last_seen`` (UTC), ``template_share``, ``shared_behaviour``, ``joined_by``); ``flagged`` (its cluster's flag;
        False in no cluster); ``cluster`` (``cluster_id, size, score, flagged, flag, why``, None in no cluster);
        ``campaign`` (``campaign_id, clusters, accounts, flagged, why``, None without one); ``tie`` (``tie_strength``
        in [0, 1] and ``tied_by``, as ``show`` lists members; None in no cluster); ``set_apart`` (``cluster_id``,
        ``flagged``, ``reason``, ``note``: the cluster it was set apart from and why; None when it was not, and
        ``set_apart_known`` False when the folder predates ``set_apart.parquet``); ``values``
        (:data:`ACCOUNT_VALUE_COLUMNS`, one dict per value it holds that links accounts, those it holds with
        another account of its cluster or campaign first, then the rarest -- the largest link weight; ``linking.parquet``; empty without it); ``hours`` (``hour, events``: its
        busiest UTC hours, from ``activity.parquet``: clustered accounts only, else empty); ``redaction`` (what
        was hashed and with which key's source; None unredacted).

    Raises
    ------
    GraphlinkError
        Not an output folder, or no such account in it.
    """
    account_id = _as_logged(source, account_id)
    outputs = source if isinstance(source, Outputs) else _read(source, account_id)
    account = _row(outputs, account_id)
    cluster_id, campaign_id = account.get("cluster_id"), account.get("campaign_id")
    apart = set_apart_from(outputs)
    apart_row = None if apart is None else apart.filter(pl.col("account_id") == account_id)
    apart_row = apart_row.row(0, named=True) if apart_row is not None and apart_row.height else None
    cluster = None
    if cluster_id is not None:
        found = outputs.clusters.filter(pl.col("cluster_id") == cluster_id)
        if "campaign_id" not in found.columns:
            found = found.with_columns(pl.lit(campaign_id, pl.Int64).alias("campaign_id"))
        cluster = found.with_columns(flag_basis_expr(min_flag_size=flag_settings(outputs.run)[1])).select(
            [c for c in ("cluster_id", "size", "score", "flagged", "flag", "why") if c in found.columns or c == "flag"]
        ).row(0, named=True) if found.height else None
    # The cluster that ties it: its own, or the one it was set apart from (the ring an abuse report names).
    tie_cluster = cluster_id if cluster_id is not None else (apart_row or {}).get("cluster_id")
    if campaign_id is None and tie_cluster is not None and "campaign_id" in outputs.clusters.columns:
        of = outputs.clusters.filter(pl.col("cluster_id") == tie_cluster)["campaign_id"]
        tie_campaign = of[0] if of.len() else None
    else:
        tie_campaign = campaign_id
    campaign = None
    if campaign_id is not None and outputs.campaigns is not None:
        found = outputs.campaigns.filter(pl.col("campaign_id") == campaign_id)
        campaign = found.select("campaign_id", "clusters", "accounts", "flagged", "why").row(0, named=True) if found.height else None
    view = {"account_id": account_id, "account": account, "flagged": bool(cluster and cluster.get("flagged")),
            "cluster": cluster, "campaign": campaign, "tie": _tie(outputs, account_id, cluster_id),
            "set_apart": apart_row, "set_apart_known": apart is not None,
            "values": _values(outputs, account_id, tie_cluster, tie_campaign), "hours": _hours(outputs, account_id),
            "redaction": None}
    return _redacted(view, outputs, redact_key) if redact or redact_key else view


def _redacted(view: dict[str, Any], outputs: Outputs, key: str | None) -> dict[str, Any]:
    """``view`` with cards, e-mail addresses and IPs hashed by one key: its values by kind, its tie as ``show
    --redact`` builds it (from the redacted tables), every text by the values it quotes and the addresses in it."""
    from graphlink.store.redact import redactor_for

    redactor = redactor_for(outputs, key)
    pairs = pl.DataFrame(view["values"], schema={c: LINKING_SCHEMA.get(c, pl.UInt32) for c in ACCOUNT_VALUE_COLUMNS})
    value_map = redactor.value_map(pairs.select("kind", "value"))
    known = redactor.cut_forms(value_map)

    def text(value: str | None) -> str | None:
        return None if value is None else redactor.text(pl.Series([value], dtype=pl.String), known)[0]

    hidden = redactor.outputs(outputs, context=pairs.select("kind", "value"))
    account_id = text(view["account_id"])
    tie = view["tie"] and _tie(hidden, account_id, view["account"].get("cluster_id"))
    if tie:
        tie = {**tie, "tied_by": text(tie["tied_by"])}  # a value of its own quoted beyond the cluster's evidence
    account = {**view["account"], "account_id": account_id, "joined_by": text(view["account"].get("joined_by"))}
    cluster = view["cluster"] and {**view["cluster"], "why": text(view["cluster"].get("why"))}
    campaign = view["campaign"] and {**view["campaign"], "why": text(view["campaign"].get("why"))}
    apart = view["set_apart"] and {**view["set_apart"], "account_id": account_id}
    values = redactor.apply_value_map(pairs, value_map).to_dicts()
    return {**view, "account_id": account_id, "account": account, "cluster": cluster, "campaign": campaign,
            "tie": tie, "set_apart": apart, "values": values, "redaction": redactor.note}


def _as_logged(source: Outputs | str | Path, account_id: str) -> str:
    """The id as the run holds it when ``account_id`` is one graphlink's views wrote (spelled or behind the CSV
    formula guard), read back as ``expand`` and ``match`` read them (:func:`graphlink.views.expand.exported_ids`);
    a folder is asked for the few candidate ids alone. An id the run holds in no form is returned as given (the
    lookup then says there is no such account)."""
    from graphlink.views.expand import exported_ids

    if not read_back_forms(account_id):
        return account_id
    if isinstance(source, Outputs):
        return exported_ids([account_id], source).get(account_id, account_id)
    from graphlink.store.outputs import read_clusters

    def known(ids: pl.Series) -> pl.Series:  # accounts.parquet's rows of these few ids alone
        rows = read_clusters(folder_path(source), ("account_id",), ACCOUNTS_FILE,
                             where=pl.col("account_id").is_in(ids.implode()))
        return pl.Series("account_id", [], pl.String) if rows is None else rows["account_id"]

    return exported_ids([account_id], known).get(account_id, account_id)


def _read(folder: str | Path, account_id: str) -> Outputs:
    """The folder's tables with the account's cluster selected (every other cluster's rows unread)."""
    from graphlink.store.outputs import load_outputs, read_clusters

    folder = folder_path(folder)
    row = read_clusters(folder, ("account_id", "cluster_id"), ACCOUNTS_FILE, where=pl.col("account_id") == account_id)
    cluster = row["cluster_id"][0] if row is not None and row.height else None
    # In no cluster: none of the drill-down tables holds it. A member: its cluster's, its own tie alone counted.
    return load_outputs(folder, [] if cluster is None else [int(cluster)], drilldown=cluster is not None, account=account_id)


def _row(outputs: Outputs, account_id: str) -> dict[str, Any]:
    """The account's ``accounts.parquet`` row (the loaded frame, else read from the folder)."""
    rows = outputs.accounts.filter(pl.col("account_id") == account_id)
    if rows.is_empty() and outputs.folder is not None:
        from graphlink.store.outputs import read_clusters

        names = pl.scan_parquet(outputs.folder / ACCOUNTS_FILE, glob=False).collect_schema().names()
        rows = read_clusters(outputs.folder, tuple(names), ACCOUNTS_FILE, where=pl.col("account_id") == account_id)
    if rows is None or rows.is_empty():
        where = f"{outputs.folder}: " if outputs.folder is not None else ""
        raise GraphlinkError(f"{where}no account {account_id!r} in this run (ids as accounts.parquet holds them; "
                             "graphlink match DIR FILE looks up accounts of a new log)")
    return rows.row(0, named=True)


def _tie(outputs: Outputs, account_id: str, cluster_id: int | None) -> dict[str, Any] | None:
    """``tie_strength`` and ``tied_by`` of a member, as ``show`` lists it (None in no cluster)."""
    if cluster_id is None or outputs.member_linking is None:
        return None
    from graphlink.views.member_ties import outputs_member_ties

    ties = outputs_member_ties(outputs, cluster_id).filter(pl.col("account_id") == account_id)
    return ties.select("tie_strength", "tied_by").row(0, named=True) if ties.height else None


def _linking(outputs: Outputs, where: pl.Expr) -> pl.DataFrame | None:
    """``linking.parquet`` rows ``where`` holds (a fresh result's frame, or read from the folder); None without it."""
    if outputs.linking is not None:
        return outputs.linking.filter(where).collect()
    if outputs.folder is None:
        return None
    from graphlink.store.outputs import read_clusters

    return read_clusters(outputs.folder, tuple(LINKING_SCHEMA), LINKING_FILE, where=where)


def _values(outputs: Outputs, account_id: str, cluster_id: int | None, campaign_id: int | None) -> list[dict[str, Any]]:
    """The linking values the account holds, with how many of ``cluster_id``'s and ``campaign_id``'s accounts do."""
    own = _linking(outputs, pl.col("account_id") == account_id)
    if own is None or own.is_empty():
        return []
    values = own.select("kind", "value", "df", "weight").unique(["kind", "value"])
    holders = _linking(outputs, pl.col("value").is_in(values["value"].unique().implode()))
    camp = (outputs.clusters.select("cluster_id", "campaign_id") if "campaign_id" in outputs.clusters.columns
            else pl.DataFrame(schema={"cluster_id": pl.Int64, "campaign_id": pl.Int64}))
    counts = (holders.join(values.select("kind", "value"), on=["kind", "value"], how="semi")
              .join(camp, on="cluster_id", how="left")
              .group_by("kind", "value").agg(
                  (pl.col("cluster_id") == pl.lit(cluster_id, pl.Int64)).fill_null(False).sum().cast(pl.UInt32).alias("in_cluster"),
                  (pl.col("campaign_id") == pl.lit(campaign_id, pl.Int64)).fill_null(False).sum().cast(pl.UInt32).alias("in_campaign")))
    # Those it holds with another account of its cluster (or campaign) first, then the rarest (highest link weight).
    return (values.join(counts, on=["kind", "value"], how="left")
            .with_columns(pl.col("in_cluster", "in_campaign").fill_null(0))
            .with_columns(((pl.col("in_cluster") >= 2) | (pl.col("in_campaign") >= 2)).alias("__ties"))
            .sort(["__ties", "weight", "df", "kind", "value"], descending=[True, True, False, False, False])
            .select(ACCOUNT_VALUE_COLUMNS).to_dicts())


def _hours(outputs: Outputs, account_id: str, busiest: int = 5) -> list[dict[str, Any]]:
    """Its ``busiest`` UTC hours by events (``activity.parquet``: clustered accounts only)."""
    activity = outputs.activity
    if activity is None:
        return []
    return (activity.filter(pl.col("account_id") == account_id).group_by("hour").agg(pl.col("events").sum())
            .sort(["events", "hour"], descending=[True, False]).head(busiest).to_dicts())
