"""Session 41 template-view review (new user): formula-like openings, one template listed as its variants, runs of
one invisible character, a varying operator's mark, the notebook's raw bidi text, line separators in ids."""

from __future__ import annotations

from pathlib import Path

import graphlink
from graphlink.views.report.assets import environment
from graphlink.views.safety import spell_invisible, terminal_safe, visible_text
from graphlink.views.template_parts import BETWEEN_SLOT, SLOT_MEANINGS, WORDS_SLOT
from graphlink.views.templates import Template, reconstruct_templates
from graphlink.views.terminal import tsv_cell

README = Path(graphlink.__file__).resolve().parents[1] / "README.md"

HEADS = ['=HYPERLINK("http://evil.example","click")', "-2+3", "＠SUM(1)", "\u200b=1+1", "\t=1+1"]


def _ring(make, accounts: int = 10, per: int = 5) -> list[tuple[str, str]]:
    return [(f"acct_{i:02d}", make(i, j)) for i in range(accounts) for j in range(per)]


def test_a_formula_like_opening_that_varies_is_one_slot_not_constant_numbers():
    # Each account its own opening (two accounts each): no opening but the "0 0" ones is frequent in the sample.
    prompts = _ring(lambda i, j: f"{HEADS[i % 5]} explain step by step the answer {10 + 5 * i + j} with reasoning")
    templates = reconstruct_templates(prompts=prompts)
    assert len(templates) == 1
    # Three of the five openings tokenise to "0 0": that was read as the constant opening "⟨#⟩+⟨#⟩".
    assert templates[0].text() == "⟨…⟩ explain step by step the answer ⟨#⟩ with reasoning"
    assert templates[0].prompts == 50 and templates[0].accounts == 10


def test_a_template_with_html_in_its_slot_is_listed_once():
    fills = ["<b>bold</b>", "<script>x()</script>", "&amp;", "</div><h1>X</h1>"]
    prompts = _ring(lambda i, j: f"Review this snippet {fills[(3 * i + j) % 4]} and explain step by step what it "
                                 "renders as")
    templates = reconstruct_templates(prompts=prompts)
    assert [t.text() for t in templates] == ["Review this snippet ⟨…⟩ and explain step by step what it renders as"]
    assert templates[0].prompts == 50


def test_a_url_template_is_listed_once_with_every_prompt():
    hosts, words = ["news", "blog", "docs"], ["apple", "river", "stone", "cloud"]

    def url(i: int, j: int) -> str:
        return (f"Summarise https://{hosts[(i * 7 + j) % 3]}.example.org/{words[(i + 2 * j) % 4]}/{i * 5 + j + 1}"
                f"?utm_source={words[(i * 3 + j) % 4]}&id={100 + i * 5 + j} in three bullet points with reasoning")

    templates = reconstruct_templates(prompts=_ring(url))
    assert len(templates) == 1, [t.text() for t in templates]
    assert templates[0].text().startswith("Summarise https://⟨…⟩")
    assert templates[0].prompts == 50


def test_a_run_of_one_invisible_character_is_spelled_once_with_its_length():
    text = "Explain step by step" + "\u200b" * 200 + " the reasoning"
    assert spell_invisible(text) == "Explain step by step⟨U+200B ×200⟩ the reasoning"
    assert visible_text("a\u200b\u200bb\u202e") == "a⟨U+200B ×2⟩b⟨U+202E⟩"
    assert terminal_safe("\u200b" * 3) == "⟨U+200B ×3⟩"
    prompts = _ring(lambda i, j: "Explain step by step" + "\u200b" * 200 + f" the reasoning for {i * 5 + j + 2} then "
                                 "answer with detail please")
    template = reconstruct_templates(prompts=prompts)[0]
    assert "⟨U+200B ×200⟩" in template.text() and "⟨U+200B⟩" not in template.text()
    assert "⟨U+200B ×200⟩" in template.example and len(template.example) < 120
    # The report prints what it is given through the same spelling, then escapes it.
    page = environment().from_string("{{ x }}").render(x="<b>" + "\u200b" * 5 + "</b>")
    assert page == "&lt;b&gt;⟨U+200B ×5⟩&lt;/b&gt;"


def test_a_varying_operator_has_its_own_documented_mark():
    ops = ["-", "+"]
    prompts = _ring(lambda i, j: f"Solve x^2 {ops[(i + j) % 2]} {i * 5 + j + 2}x + 7 = 0 for x, step by step; show "
                                 "the discriminant and both roots.")
    text = reconstruct_templates(prompts=prompts)[0].text()
    assert text.startswith(f"Solve x^2 ⟨{BETWEEN_SLOT}⟩ ⟨#⟩x + 7 = 0")
    assert BETWEEN_SLOT != WORDS_SLOT and f"⟨{WORDS_SLOT}⟩" not in text
    assert BETWEEN_SLOT in SLOT_MEANINGS and "operator" in SLOT_MEANINGS[BETWEEN_SLOT]
    assert f"⟨{BETWEEN_SLOT}⟩" in README.read_text(encoding="utf-8")


def test_the_notebook_template_spells_bidi_controls_and_keeps_the_raw_text_on_request():
    prompts = _ring(lambda i, j: f"Explain step by step\u202e the reasoning for {i * 5 + j + 2}\u202c and then "
                                 "\u2067answer\u2069 carefully with full detail please")
    template = reconstruct_templates(prompts=prompts)[0]
    for shown in (template.text(), template.example):
        assert not any(c in shown for c in "\u202e\u202c\u2067\u2069")
        assert "⟨U+202E⟩" in shown and "⟨U+2067⟩" in shown
    assert "\u202e" in template.raw_text() and "\u202e" in template.raw_example
    made = Template([("say ", False), ("…", True), ("\u202e!", False)], example="x\u202ey")
    assert made.text() == "say ⟨…⟩⟨U+202E⟩!" and made.example == "x⟨U+202E⟩y" and made.raw_example == "x\u202ey"


def test_line_and_paragraph_separators_in_an_id_are_treated_as_newlines():
    account = "ja\u2028ja_00\u2029x\u0085y"
    assert terminal_safe(account) == "ja⏎ja_00⏎x⏎y"
    assert terminal_safe("a\nb") == "a⏎b"
    assert tsv_cell(account) == "ja ja_00 x y" and tsv_cell("a\nb") == "a b"
    shown = visible_text(account)
    assert not any(c in shown for c in "\u2028\u2029\u0085") and "⟨U+2028⟩" in shown and "⟨U+2029⟩" in shown
    page = environment().from_string("<td>{{ x }}</td>").render(x=account)
    assert "\u2028" not in page and "\u2029" not in page and "ja⟨U+2028⟩ja_00" in page
