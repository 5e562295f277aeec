"""Session 55: the new-user review's leftovers (nu54 finding d)."""
from graphlink.views.templates import reconstruct_templates

TAIL = "You are a meticulous tutor. Produce a detailed rationale for problem {}"


def _texts(prompts):
    return [t.text() for t in reconstruct_templates(prompts=prompts, ngram=5)]


def test_optional_opening_keeps_the_space_outside_its_slot():
    # Some prompts open with injected text, some start right at the template: the slot may be empty, but every prompt
    # that writes something there writes a space before "You"; the template reads "⟨…⟩ You are", not "⟨…⟩You are".
    prompts = [(f"a{i}", f"{p} {TAIL.format(i)}") for i, p in enumerate(
        ['<img src=x onerror=alert(1)>', '=HYPERLINK("http://x.example","Click")', '@SUM(A1:A9)'] * 3)]
    # (the bare prompts' numbers are long: of two prompts with as many phrases the shorter is the example, and the
    # bug shows when the example is one that opens with a fill)
    prompts += [(f"b{i}", TAIL.format(10 ** 30 + i)) for i in range(4)]
    texts = _texts(prompts)
    assert texts and texts[0].startswith("⟨…⟩ You are a meticulous tutor"), texts


def test_no_opening_slot_adds_no_followers_text():
    # When the example itself starts at the template, the followers' openings are no slot and no text of theirs
    # (here ". ") may be shown as the template's.
    prompts = [("b", TAIL.format(1)), ("a", "Hello there. " + TAIL.format(2)), ("c", "Good day. " + TAIL.format(3))]
    texts = _texts(prompts)
    assert texts and texts[0].startswith("You are a meticulous tutor"), texts


def _hub_twins(n: int = 3):
    import polars as pl
    from datetime import datetime, timezone
    t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    note = "hub twin: holds IP address 203.0.113.7 and writes the template of the cluster on it"
    return pl.DataFrame({"account_id": [f"tw{i:03d}" for i in range(n)], "events": [3] * n, "first_seen": [t] * n,
                         "last_seen": [t] * n, "tie_strength": [0.91] * n,
                         "tied_by": ["IP address 203.0.113.7 (300 members); prompt phrase \"act as\" (300 members)"] * n,
                         "template_share": [1.0] * n, "shared_behaviour": ["template"] * n, "joined_by": [note] * n})


def test_a_joined_member_takes_at_most_three_lines_at_80_columns():
    # nu54 finding e: the whole join note in the narrow table's shares cell took a twin's row to four lines; narrow,
    # the cell names the join ("hub twin") and the cluster's reasons give the note once.
    import io
    from rich.console import Console
    from graphlink.views.terminal import member_table
    table, _, _ = member_table(None, 1, _hub_twins(), 25, "strength", 80)
    console = Console(file=io.StringIO(), width=80, record=True)
    console.print(table)
    text = console.export_text().split("├")[0]  # the rows, not the footer under them
    lines = [ln for ln in text.splitlines() if ln.startswith("│")]
    first = [i for i, ln in enumerate(lines) if "tw" in ln.split("│")[1]]
    assert len(first) == 3 and all(b - a <= 3 for a, b in zip(first, first[1:] + [len(lines)])), lines
    assert "hub twin" in "".join(lines)
    _, rows, _ = member_table(None, 1, _hub_twins(), 25, "strength", None)
    assert "holds IP address 203.0.113.7" in rows[0][5]  # piped (no width), the rows keep the whole note
