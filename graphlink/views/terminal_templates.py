"""``graphlink show``'s template view: the prompt templates a cluster's members send, as the report lists them.

The same function as the report and the notebook (:func:`graphlink.views.templates.cluster_templates`, on the
same sample of the members' prompts, :func:`graphlink.views.templates.sample_prompts`), each template written for
a terminal: constant text through :func:`graphlink.views.safety.terminal_safe` (control characters spelled,
invisible and bidi characters spelled out, newlines ``⏎``), so a prompt's ANSI escape or right-to-left override
is never printed raw, and the slots marked ``⟨…⟩``, ``⟨#⟩``, ``⟨≠⟩``
(:data:`graphlink.views.template_parts.SLOT_MEANINGS`). Functions here build rich renderables and return them;
the CLI prints them (before session 42 ``show`` had no template view); :func:`template_json` gives ``show
--json`` the same templates (before session 43 it had none).
"""

from __future__ import annotations

import polars as pl
from rich.table import Table
from rich.text import Text

from graphlink.store.folder import Outputs
from graphlink.views.safety import Spelled, terminal_safe
from graphlink.views.template_parts import SLOT_MEANINGS
from graphlink.views.templates import TEMPLATES_LISTED, Template, cluster_templates, sample_prompts, used_by

__all__ = ["TEMPLATE_HEADERS", "cluster_prompt_sample", "listed_templates", "template_json", "template_table",
           "terminal_template"]

#: Columns of ``show``'s template table (piped: tab-separated under these headers).
TEMPLATE_HEADERS = ["template", "used by", "example"]
#: Characters of an example prompt shown.
EXAMPLE_CHARS = 160


def terminal_template(template: Template) -> str:
    """A template's text for a terminal: constant text escaped (:func:`graphlink.views.safety.terminal_safe`),
    slots between ``⟨ ⟩``; a prompt's own slot marks are spelled (:meth:`Template.text`).

    Examples
    --------
    >>> terminal_template(Template([("say\\x1b[2J ", False), ("…", True), ("\\u202e!", False)]))
    'say⟨U+001B⟩[2J ⟨…⟩⟨U+202E⟩!'
    """
    return Spelled(template.text(spell=terminal_safe))


def cluster_prompt_sample(outputs: Outputs, cluster_id: int | list[int]) -> tuple[pl.DataFrame | None, str]:
    """``account_id, prompt``: the sample of the cluster's members' prompts the report reads
    (:func:`graphlink.views.templates.sample_prompts`), from the events file ``run.json`` records, and a note when
    there is none (the events file gone, unreadable, or the output redacted: as the report, no example prompts).
    Several clusters' samples are read in one pass over the events file (``export``'s case files)."""
    from graphlink.config import build_config
    from graphlink.errors import GraphlinkError
    from graphlink.stages.ingest import scan_events
    from graphlink.store.outputs import events_file

    if outputs.redaction:
        return None, "example prompts are left out of a redacted view (templates from the shared phrases only)"
    recorded, path = events_file(outputs.run)
    if path is None:
        return None, (f"the events file {terminal_safe(recorded)} recorded in run.json is not there: templates from "
                      "the shared phrases only" if recorded and not recorded.startswith("<") else
                      "the events were not read from a file: templates from the shared phrases only")
    try:
        lf = scan_events(path, build_config(parameters=outputs.run.get("parameters") or {}).ingest)
        if "prompt" not in lf.collect_schema():
            return None, ""
        ids = cluster_id if isinstance(cluster_id, list) else [cluster_id]
        members = pl.concat([outputs.members(c).select("account_id", pl.lit(c, pl.Int64).alias("cluster_id"))
                             for c in ids])
        return sample_prompts(lf, members), ""
    except (GraphlinkError, pl.exceptions.PolarsError, OSError, TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"the events file could not be read back ({terminal_safe(first, limit=200)})"


def listed_templates(outputs: Outputs, cluster_id: int, listed: int = TEMPLATES_LISTED,
                     sample: tuple[pl.DataFrame | None, str] | None = None) -> tuple[list[Template], bool, str]:
    """The cluster's templates ``show`` lists (the :data:`TEMPLATES_LISTED` most accounts follow), whether more were
    found, and a note on the prompts read (:func:`cluster_prompt_sample`)."""
    sample, note = sample if sample is not None else cluster_prompt_sample(outputs, cluster_id)
    members = outputs.members(cluster_id)["account_id"]
    templates = cluster_templates(outputs.cluster_evidence(cluster_id), sample, members, listed + 1)
    return templates[:listed], len(templates) > listed, note


def template_json(outputs: Outputs, cluster_id: int, listed: int = TEMPLATES_LISTED,
                  sample: tuple[pl.DataFrame | None, str] | None = None) -> dict:
    """``show --json``'s templates, those the terminal lists (:func:`listed_templates`): ``templates`` (each with
    ``text``, the template as the report shows it: slots ``⟨…⟩`` and invisible characters spelled out; ``parts``,
    ``[text, variable]`` exactly as typed, to search the log with; ``prompts`` and ``accounts`` of the sample
    following it, 0 when rebuilt from the shared phrases; ``example``, one such prompt as typed, or null),
    ``templates_listed`` (at most this many: ``listed``, ``show --max-templates``), ``templates_more`` (more were
    found: a larger ``--max-templates`` or the notebook's ``ClusterView.templates(max_templates=...)`` lists them) and ``templates_note`` (why no example prompts, or "").
    Attacker text stays text: the CLI's JSON escapes controls and invisible characters
    (:func:`graphlink.views.safety.json_escaped`). ``sample``: :func:`cluster_prompt_sample`'s, when read already."""
    templates, more, note = listed_templates(outputs, cluster_id, listed, sample)
    return {"templates": [{"text": t.text(), "parts": [[part, variable] for part, variable in t.parts],
                           "prompts": t.prompts, "accounts": t.accounts, "sampled": t.sampled,
                           "example": t.raw_example} for t in templates],
            "templates_listed": listed, "templates_more": more, "templates_note": note}


def template_table(outputs: Outputs, cluster_id: int, listed: int = TEMPLATES_LISTED,
                   ) -> tuple[Table, list[list], list[str]] | None:
    """``show``'s template view: (rich table, plain rows, headers) of the cluster's prompt templates, most accounts
    first, each with how many sampled prompts and accounts follow it and an example; ``None`` when the cluster has
    no prompt template (no prompt evidence, no prompts in the log)."""
    templates, more, note = listed_templates(outputs, cluster_id, listed)
    if not templates:
        return None
    title = f"Prompt templates (the {listed} most accounts follow; more not listed: --max-templates)" if more else \
        f"Prompt templates ({len(templates)})"
    table = Table(title=title, title_justify="left", caption_justify="left")
    for name in TEMPLATE_HEADERS:
        table.add_column(name, overflow="fold", justify="right" if name == "used by" else "left")
    rows = []
    for t in templates:
        used = used_by(t) if t.accounts else "the shared phrases"
        example = terminal_safe(t.raw_example, limit=EXAMPLE_CHARS) if t.raw_example else ""
        rows.append([terminal_template(t), used, example])
        text = Text()
        for part, variable in t.parts:  # slots set apart from the text typed around them
            text.append(f"⟨{part}⟩", style="bold cyan") if variable else text.append(terminal_template(
                Template([(part, False)])))
        table.add_row(text, used, Text(example, style="dim"))
    slots = "; ".join(f"⟨{slot}⟩ {meaning}" for slot, meaning in SLOT_MEANINGS.items())
    table.caption = Text("; ".join(x for x in (slots, note) if x))  # plain text, never markup
    return table, rows, list(TEMPLATE_HEADERS)
