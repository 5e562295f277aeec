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
