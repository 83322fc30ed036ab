"""Tests of publisher.render.markdown: one parse, HTML for the site, plain text for social."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from publisher.render.footnotes import footnote_problems, footnotes_need_checking
from publisher.render.markdown import (
    ImageRef,
    RenderedMarkdown,
    _heading_slug_unicode,
    _render_with_markdown_it_py,
    _written_link,
    escape_html,
    heading_slug,
    pasted_bullets,
    plain_inline,
    reading_minutes,
    render_markdown,
)
from publisher.render.markdown_tree import (
    _ASCII_SPACES,
    _RUST_PARSER,
    _UNICODE_SPACES,
    _may_panic,
    render_page_with_markdown_it_pyrs,
    render_with_markdown_it_pyrs,
)

MAKE_CORPUS = Path(__file__).resolve().parents[1] / "bench" / "make_corpus.py"


def text(source: str) -> str:
    """Return the Facebook plain text after checking Instagram reads the same (no links)."""
    rendered = render_markdown(source)
    assert rendered.text_instagram == rendered.text_facebook
    return rendered.text_facebook


# --- plain text ---------------------------------------------------------------------------


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    assert text("One line\ncontinues.\n\n\n\nTwo.\n") == "One line continues.\n\nTwo."


def test_headings_stand_on_their_own_line_without_hash_marks() -> None:
    source = "# Title\nFirst paragraph.\n\n## Second *part*\n\nMore.\n\nSetext\n======\n"
    assert text(source) == "Title\n\nFirst paragraph.\n\nSecond part\n\nMore.\n\nSetext"


def test_bullets_use_a_dot_and_nested_lists_indent_two_spaces_per_level() -> None:
    source = "Before:\n\n- one\n- two\n  - two a\n    - deeper\n  - two b\n- three\n\nAfter.\n"
    assert text(source) == (
        "Before:\n\n• one\n• two\n  • two a\n    • deeper\n  • two b\n• three\n\nAfter."
    )


@pytest.mark.parametrize("bullet", ["\u2022", "\u25cf", "\u25e6", "\u25aa"])
@pytest.mark.parametrize("engine", [render_markdown, _render_with_markdown_it_py])
def test_bullets_pasted_from_a_word_processor_make_the_list_staff_meant(bullet, engine) -> None:
    """Word, Google Docs and Pages paste a list as lines that start with a bullet and a tab:
    Markdown read them as text, one paragraph ("• Sit tall • Breathe low" on one line)."""
    source = (
        f"Tips:\n\n{bullet}\tSit tall\n\t{bullet}\tshoulders down\n{bullet} Breathe low\n\n"
        f"```\n{bullet} code stays\n```\n\n{bullet}glued stays text, 3 {bullet} 4\n"
    )
    rendered = engine(pasted_bullets(source)) if engine is not render_markdown else engine(source)
    assert rendered.html == (
        "<p>Tips:</p>\n<ul>\n<li>Sit tall\n<ul>\n<li>shoulders down</li>\n</ul>\n</li>\n"
        f"<li>Breathe low</li>\n</ul>\n<pre><code>{bullet} code stays\n</code></pre>\n"
        f"<p>{bullet}glued stays text, 3 {bullet} 4</p>\n"
    )
    assert rendered.text_instagram.startswith(
        "Tips:\n\n\u2022 Sit tall\n  \u2022 shoulders down\n\u2022 Breathe low\n\n"
    )
    assert pasted_bullets(source).count("\n") == source.count("\n")  # lines stay where they were


def test_loose_list_items_are_not_spread_apart_and_extra_paragraphs_indent() -> None:
    source = "- one\n\n- two\n\n  more about two\n\n- three\n"
    assert text(source) == "• one\n• two\n  more about two\n• three"


def test_ordered_list_keeps_its_numbers_from_the_start_number() -> None:
    # CommonMark numbers items from the first one, as the browser shows them
    assert text("3. three\n7. four\n5. five\n") == "3. three\n4. four\n5. five"
    assert text("1) one\n2) two\n") == "1. one\n2. two"


def test_ordered_list_nested_in_bullets() -> None:
    assert text("- steps\n  1. first\n  2. second\n- done\n") == (
        "• steps\n  1. first\n  2. second\n• done"
    )


def test_emphasis_strong_and_strikethrough_markers_are_removed() -> None:
    source = "*soft* and _soft_, **firm** and __firm__, ~~old~~ and ***both***."
    assert text(source) == "soft and soft, firm and firm, old and both."


def test_inline_code_and_code_blocks_keep_their_text() -> None:
    source = "Run `make *all*` now.\n\n```sh\necho **hi**\n  indented\n```\n\n    four spaces\n"
    assert text(source) == "Run make *all* now.\n\necho **hi**\n  indented\n\nfour spaces"


def test_links_show_their_address_on_facebook_and_only_their_text_on_instagram() -> None:
    rendered = render_markdown("Book [a session](https://example.org/book) today.")
    assert rendered.text_facebook == "Book a session (https://example.org/book) today."
    assert rendered.text_instagram == "Book a session today."


def test_link_whose_text_is_its_address_is_shown_once() -> None:
    source = (
        "[https://example.org/a](https://example.org/a), <https://example.org/b>, "
        "[example.org](https://example.org/) and <info@example.org>."
    )
    rendered = render_markdown(source)
    assert rendered.text_facebook == (
        "https://example.org/a, https://example.org/b, https://example.org/ and info@example.org."
    )
    assert rendered.text_instagram == (
        "https://example.org/a, https://example.org/b, example.org and info@example.org."
    )


def test_links_formatting_is_dropped_and_mail_and_phone_show_without_scheme() -> None:
    rendered = render_markdown(
        "[**Call** us](tel:+14129325535) or [write](mailto:info@example.org)."
    )
    assert rendered.text_facebook == "Call us (+14129325535) or write (info@example.org)."
    assert rendered.text_instagram == "Call us or write."


def test_relative_links_keep_only_their_text_since_they_lead_nowhere_off_the_site() -> None:
    rendered = render_markdown("See [our prices](/prices/) and [below](#faq).")
    assert rendered.text_facebook == "See our prices and below."


def test_images_are_dropped_without_alt_text_or_a_blank_line() -> None:
    source = "Before.\n\n![A client stretching](images/a.jpg)\n\nLook ![alt](b.jpg) here.\n"
    rendered = render_markdown(source)
    assert rendered.text_facebook == "Before.\n\nLook here."
    assert rendered.text_instagram == "Before.\n\nLook here."
    assert rendered.image_sources == ("images/a.jpg", "b.jpg")


def test_a_linked_image_leaves_just_the_address_on_facebook() -> None:
    rendered = render_markdown("[![logo](logo.png)](https://example.org/)\n\nText.")
    assert rendered.text_facebook == "https://example.org/\n\nText."
    assert rendered.text_instagram == "Text."


def test_entities_are_decoded_and_plain_text_is_not_escaped() -> None:
    assert text("Tom &amp; Jerry &lt;3 &copy; &#8364;5 &quot;hi&quot; 1 < 2 & 3 > 2") == (
        'Tom & Jerry <3 © €5 "hi" 1 < 2 & 3 > 2'
    )


def test_hard_breaks_are_newlines_and_soft_breaks_spaces() -> None:
    assert text("100 Noble Avenue  \nPittsburgh\\\nPA 15205\nUSA") == (
        "100 Noble Avenue\nPittsburgh\nPA 15205 USA"
    )


def test_blockquotes_read_as_their_text_and_rules_disappear() -> None:
    assert text("> Quoted **words**\n> go on.\n\n---\n\n***\n\nEnd.") == (
        "Quoted words go on.\n\nEnd."
    )


def test_tables_are_rows_of_cells_joined_by_bars() -> None:
    source = "| Service | Price |\n|---|--:|\n| **Deep** tissue | $90 |\n| Chair | |\n"
    assert text(source) == "Service | Price\nDeep tissue | $90\nChair |"


def test_no_trailing_spaces_or_runs_of_blank_lines_even_from_code() -> None:
    source = "```\nline   \n\n\n\nafter\n```\n"
    assert text(source) == "line\n\nafter"


def test_empty_source_gives_empty_outputs() -> None:
    rendered = render_markdown("")
    assert rendered == RenderedMarkdown(
        html="",
        text_facebook="",
        text_instagram="",
        first_paragraph="",
        first_paragraph_facebook="",
        word_count=0,
        headings=(),
        image_sources=(),
    )


# --- raw HTML -----------------------------------------------------------------------------


def test_raw_html_is_escaped_by_default_and_stays_readable_text() -> None:
    rendered = render_markdown('<div class="x">Hi</div>\n\nA <b>bold</b> claim.')
    assert rendered.html == (
        "<p>&lt;div class=&quot;x&quot;&gt;Hi&lt;/div&gt;</p>\n"
        "<p>A &lt;b&gt;bold&lt;/b&gt; claim.</p>\n"
    )
    # without allow_html markdown-it sees no HTML: the text reads as the page shows it
    assert rendered.text_facebook == '<div class="x">Hi</div>\n\nA <b>bold</b> claim.'


def test_raw_html_passes_through_when_allowed_and_is_dropped_from_plain_text() -> None:
    rendered = render_markdown('<div class="x">Hi</div>\n\nA <b>bold</b> claim.', allow_html=True)
    assert rendered.html == '<div class="x">Hi</div>\n<p>A <b>bold</b> claim.</p>\n'
    assert rendered.text_facebook == "A bold claim."
    assert rendered.text_instagram == "A bold claim."


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Text <script>alert(1)</script> text",
        "<SCRIPT src=x></SCRIPT>",
        "# <script>x</script>",
        "`<script>`\n\n```<script>\n<script>\n```",
        "[<script>](https://example.org/<script>)",
        '![<script>](x.jpg "<script>")',
        "<javascript:alert(1)>",
        "| <script> |\n|---|\n| <script> |",
    ],
)
def test_script_in_a_post_never_reaches_the_html_unescaped(source: str) -> None:
    assert "<script" not in render_markdown(source).html.lower()


def test_javascript_links_are_refused() -> None:
    html = render_markdown("[click](javascript:alert(1))").html
    assert "href" not in html
    assert html == "<p>[click](javascript:alert(1))</p>\n"


def test_external_links_keep_their_href() -> None:
    html = render_markdown("[Book](https://example.org/book?a=1&b=2)").html
    assert html == '<p><a href="https://example.org/book?a=1&amp;b=2">Book</a></p>\n'


# --- HTML structure -----------------------------------------------------------------------


def test_tables_are_wrapped_for_small_screens() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n").html
    assert html.startswith('<div class="table-wrap">\n<table>\n<thead>')
    assert html.endswith("</tbody>\n</table>\n</div>\n")


def test_strikethrough_is_rendered() -> None:
    assert render_markdown("~~old~~ new").html == "<p><s>old</s> new</p>\n"


def test_linkify_and_typographer_are_off() -> None:
    rendered = render_markdown('Visit www.example.org -- "now"')
    assert rendered.html == "<p>Visit www.example.org -- &quot;now&quot;</p>\n"


def test_headings_get_ids_and_keep_their_text_clean() -> None:
    rendered = render_markdown("## What Is the Psoas (and Iliopsoas)?\n")
    assert rendered.html == (
        '<h2 id="what-is-the-psoas-and-iliopsoas">What Is the Psoas (and Iliopsoas)?</h2>\n'
    )
    assert rendered.headings == (
        (2, "What Is the Psoas (and Iliopsoas)?", "what-is-the-psoas-and-iliopsoas"),
    )


def test_duplicate_headings_get_unique_ids() -> None:
    rendered = render_markdown("# Tips\n\n## Tips\n\n### Tips\n\n## Tips-1\n")
    ids = [heading_id for _, _, heading_id in rendered.headings]
    assert ids == ["tips", "tips-1", "tips-2", "tips-1-1"]
    assert len(set(ids)) == len(ids)
    assert '<h3 id="tips-2">Tips</h3>' in rendered.html


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Über Massage & Wellness", "uber-massage-wellness"),
        ("💆 Relax 💆‍♀️ Today!", "relax-today"),
        ("Crème brûlée for the soul", "creme-brulee-for-the-soul"),
        ("What's new?", "whats-new"),
        ("Массаж спины", "массаж-спины"),
        ("肩こりマッサージ", "肩こりマッサージ"),
        ("🙂🙂", "section"),
        ("  Step 2 -- _rest_  ", "step-2-rest"),
    ],
)
def test_heading_slug_handles_accents_scripts_and_emoji(title: str, slug: str) -> None:
    assert heading_slug(title) == slug


@settings(max_examples=500, deadline=None)
@given(title=st.text(st.characters(max_codepoint=127), max_size=40))
def test_ascii_headings_get_the_slug_the_unicode_rules_give(title: str) -> None:
    assert heading_slug(title) == _heading_slug_unicode(title)


def test_emoji_only_headings_still_get_unique_ids() -> None:
    rendered = render_markdown("## 🌿\n\n## 🌿🌿\n\n## Café ☕\n")
    assert rendered.headings == (
        (2, "🌿", "section"),
        (2, "🌿🌿", "section-1"),
        (2, "Café ☕", "cafe"),
    )


def test_heading_text_drops_formatting_links_and_images() -> None:
    rendered = render_markdown("### A **bold** [link](https://example.org) ![x](x.png) `code`\n")
    assert rendered.headings == ((3, "A bold link code", "a-bold-link-code"),)


# --- images -------------------------------------------------------------------------------


def test_resolved_image_gets_its_url_size_alt_and_lazy_loading() -> None:
    seen: list[str] = []

    def resolve(src: str) -> ImageRef | None:
        seen.append(src)
        return ImageRef(url="/images/psoas-800.jpg", width=800, height=533)

    rendered = render_markdown(
        "![A girl leaning over, *back pain*](images/psoas.jpg)", resolve_image=resolve
    )
    assert seen == ["images/psoas.jpg"]
    assert rendered.html == (
        '<p><img src="/images/psoas-800.jpg" alt="A girl leaning over, back pain" '
        'width="800" height="533" loading="lazy" decoding="async"></p>\n'
    )


def test_unresolved_image_keeps_its_src_and_escaped_alt() -> None:
    source = '![Tom & "Jerry" <3](images/a.jpg "A title")'
    expected = (
        '<p><img src="images/a.jpg" alt="Tom &amp; &quot;Jerry&quot; &lt;3" '
        'title="A title" loading="lazy" decoding="async"></p>\n'
    )
    assert render_markdown(source, resolve_image=lambda src: None).html == expected
    assert render_markdown(source).html == expected


def test_image_without_alt_still_has_an_alt_attribute() -> None:
    html = render_markdown("![](a.jpg)").html
    assert html == '<p><img src="a.jpg" alt="" loading="lazy" decoding="async"></p>\n'


def test_image_sources_are_listed_in_order_as_written() -> None:
    source = "![a](one.jpg)\n\n## ![b](<two words.png>)\n\n- ![c](https://cdn.example.org/3.webp)\n"
    resolved: list[str] = []
    rendered = render_markdown(source, resolve_image=lambda src: resolved.append(src))
    expected = ("one.jpg", "two words.png", "https://cdn.example.org/3.webp")
    assert rendered.image_sources == expected
    assert tuple(resolved) == expected
    assert 'src="two%20words.png"' in rendered.html


# --- summary, word count, reading time ----------------------------------------------------


def test_first_paragraph_skips_headings_images_and_lists() -> None:
    source = (
        "## Intro\n\n![photo](a.jpg)\n\n- a list item\n\n"
        "Tight hips **pull** the [spine](https://example.org)\nforward.\n\nSecond."
    )
    assert render_markdown(source).first_paragraph == "Tight hips pull the spine forward."


def test_word_count_counts_words_not_markers_or_addresses() -> None:
    source = "# Two words\n\n- one\n- [two words](https://example.org/a/b)\n\n| a | b |\n|--|--|\n"
    assert render_markdown(source).word_count == 7


@pytest.mark.parametrize(
    ("words", "minutes"),
    [(0, 1), (1, 1), (114, 1), (230, 1), (344, 1), (345, 2), (500, 2), (690, 3), (2300, 10)],
)
def test_reading_minutes_rounds_and_is_at_least_one(words: int, minutes: int) -> None:
    assert reading_minutes(words) == minutes


def test_reading_minutes_with_another_pace_and_a_bad_pace() -> None:
    assert reading_minutes(500, words_per_minute=100) == 5
    with pytest.raises(ValueError, match="words_per_minute"):
        reading_minutes(500, words_per_minute=0)


# --- footnotes ----------------------------------------------------------------------------

CITED = """\
Massage lowers cortisol.[^1] It also eases pain [^smith] for days.[^1]

## Fn 1

The rest of the article.

[^smith]: Smith *et al.*, [Pain Research](https://example.org/pain), 2020.
[^1]: Field T. *Massage therapy research review*, 2016.
"""


def test_footnotes_are_numbered_by_first_marker_and_listed_at_the_end() -> None:
    rendered = render_markdown(CITED)
    assert rendered.html == (
        '<p>Massage lowers cortisol.<sup class="footnote-ref"><a href="#fn_1" id="fnref_1">'
        "[1]</a></sup> It also eases pain "
        '<sup class="footnote-ref"><a href="#fn_2" id="fnref_2">[2]</a></sup> for days.'
        '<sup class="footnote-ref"><a href="#fn_1" id="fnref_1_2">[1]</a></sup></p>\n'
        '<h2 id="fn-1">Fn 1</h2>\n'
        "<p>The rest of the article.</p>\n"
        '<hr class="footnotes-sep">\n'
        '<section class="footnotes" aria-label="Notes">\n'
        '<ol class="footnotes-list">\n'
        '<li id="fn_1" class="footnote-item"><p>Field T. <em>Massage therapy research review</em>'
        ', 2016. <a href="#fnref_1" class="footnote-backref" aria-label="Back to the text">'
        "\u21a9\ufe0e</a>"
        ' <a href="#fnref_1_2" class="footnote-backref" aria-label="Back to the text">'
        "\u21a9\ufe0e</a></p>\n"
        "</li>\n"
        '<li id="fn_2" class="footnote-item"><p>Smith <em>et al.</em>, '
        '<a href="https://example.org/pain">Pain Research</a>, 2020. '
        '<a href="#fnref_2" class="footnote-backref" aria-label="Back to the text">'
        "\u21a9\ufe0e</a></p>\n"
        "</li>\n"
        "</ol>\n"
        "</section>\n"
    )


def test_footnote_ids_clash_with_no_heading_and_no_skip_link() -> None:
    # a heading's id is its words joined by "-": never an underscore, as in fn_1 and
    # main_content (the skip link's target)
    sources = ["## fn_1\n\n## fnref_1\n\n## main_content\n", "## Fn 1!\n\n## FNREF 1_2\n"]
    heading_ids = {i for source in sources for _, _, i in render_markdown(source).headings}
    assert heading_ids == {"fn-1", "fnref-1", "main-content", "fnref-1-2"}
    note_ids = set(re.findall(r' id="([^"]+)"', render_markdown(CITED).html)) - {"fn-1"}
    assert note_ids == {"fnref_1", "fnref_1_2", "fnref_2", "fn_1", "fn_2"}
    assert not note_ids & (heading_ids | {"main_content"})


def test_plain_text_drops_the_markers_and_leaves_the_notes_out() -> None:
    rendered = render_markdown(CITED)
    expected = (
        "Massage lowers cortisol. It also eases pain for days.\n\nFn 1\n\nThe rest of the article."
    )
    assert rendered.text_instagram == rendered.text_facebook == expected
    assert rendered.first_paragraph == "Massage lowers cortisol. It also eases pain for days."
    assert rendered.first_paragraph_facebook == rendered.first_paragraph
    assert rendered.word_count == len(expected.split()) == 16


def test_a_note_is_never_the_first_paragraph_and_its_words_are_not_counted() -> None:
    rendered = render_markdown("## Sources[^1]\n\n- one\n\n[^1]: A long note of words.\n")
    assert rendered.first_paragraph == ""
    assert rendered.word_count == 2
    assert rendered.headings == ((2, "Sources", "sources"),)
    assert rendered.text_instagram == "Sources\n\n• one"


def test_a_marker_between_spaces_or_before_a_stop_leaves_no_space_too_many() -> None:
    assert text("Pain [^1] eases.\n\n[^1]: Note.\n") == "Pain eases."
    assert text("[^1] First.\n\n[^1]: Note.\n") == "First."
    assert text("It eases pain [^1]. **Really** [^1], *for days* [^1]…\n\n[^1]: N.\n") == (
        "It eases pain. Really, for days…"
    )
    # an image keeps the space before a stop: only a marker stands for nothing
    assert text("A photo ![x](y.jpg).\n") == "A photo ."


def test_a_note_written_in_the_text_is_a_note_too() -> None:
    rendered = render_markdown("Rest^[Or sleep, *really*.] well.\n")
    assert rendered.text_instagram == "Rest well."
    assert '<li id="fn_1" class="footnote-item"><p>Or sleep, <em>really</em>.' in rendered.html


def test_a_note_written_inside_another_is_not_read_as_a_note() -> None:
    # mdit_py_plugins alone would lose the first note's text and leave a </li></ol> behind;
    # here the second is what CommonMark makes of it (a link definition: check names it)
    source = "A[^1]\n\n[^1]: first\n\n    - [^2]: second\n"
    rendered = render_markdown(source)
    assert '<li id="fn_1" class="footnote-item"><p>first</p>\n<ul>\n<li></li>' in rendered.html
    assert rendered.html.count("<li") == rendered.html.count("</li>") == 2
    assert rendered.text_instagram == "A"


def test_the_readme_shows_staff_a_footnote_that_check_accepts() -> None:
    readme = (MAKE_CORPUS.parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Write", 1)[1].split("```markdown\n", 1)[1].split("\n```", 1)[0]
    body = example.split("\n---\n", 1)[1]
    rendered = render_markdown(body)
    assert rendered.html.count('class="footnote-item"') == 1 and "[^" not in rendered.html
    assert footnote_problems(body) == []


def test_a_summary_with_a_caret_bracket_is_not_a_note() -> None:
    assert plain_inline("Stretch^[daily] and [^1]") == "Stretch^[daily] and [^1]"


# --- properties ---------------------------------------------------------------------------

# Pieces that make Markdown constructs far more often than arbitrary text does.
MARKDOWN_PIECES = [
    *(string.ascii_letters[:8] + string.digits[:3] + " \n\t*_~`#>-+|[]()!<>&;:/\\.=\"'"),
    *("<script>", "</script>", "<SCRIPT ", "http://", "javascript:", "&amp;", "```", "    "),
    *("é", "💆", "[^1]", "[^a]", "[^1]: ", "\n[^a]:", "^["),
]
MARKDOWNISH = st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(st.text(max_size=200), MARKDOWNISH))
def test_any_text_renders_safely_and_tidily(source: str) -> None:
    rendered = render_markdown(source)
    assert "<script" not in rendered.html.lower()
    for plain in (rendered.text_facebook, rendered.text_instagram):
        assert "\n\n\n" not in plain
        assert plain == plain.strip()
        assert all(line == line.rstrip() for line in plain.split("\n"))
    assert rendered.word_count >= 0
    assert reading_minutes(rendered.word_count) >= 1
    ids = [heading_id for _, _, heading_id in rendered.headings]
    assert len(set(ids)) == len(ids)


WORD = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8)
MARKERS = st.sampled_from(["", "*", "_", "**", "__", "~~", "***"])


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.tuples(WORD, MARKERS), min_size=1, max_size=20))
def test_emphasis_leaves_only_its_words(words: list[tuple[str, str]]) -> None:
    source = " ".join(f"{marker}{word}{marker}" for word, marker in words)
    rendered = render_markdown(source)
    expected = " ".join(word for word, _ in words)
    assert rendered.text_facebook == expected
    assert rendered.text_instagram == expected
    assert rendered.word_count == len(words)


# --- a real post --------------------------------------------------------------------------

PSOAS = """\
If you’ve ever struggled with stubborn lower back pain that just won’t go away, your psoas \
muscle could be the hidden cause. This deep core muscle, part of a group known as the \
iliopsoas, plays a major role in how we sit, stand, and move—and when it becomes tight or \
overworked, it can lead to discomfort that radiates through your lower back, hips, and even \
your legs.

![A girl leaning over experiencing back pain](images/psoas-back-pain.jpg)

At Kneaded Tranquility, we often see clients dealing with back pain that’s actually rooted in \
tight hip flexors, especially the psoas. Once this area is addressed through focused massage \
therapy, relief and better posture often follow quickly.

## What Is the Psoas (and Iliopsoas)?

The iliopsoas is made up of two main muscles:

- **Psoas major:** Runs from the lower spine to the top of the thigh bone (femur).
- **Iliacus:** Originates inside the pelvis and joins the psoas before attaching to the femur.

Together, they are your primary hip flexors—responsible for lifting your legs, walking, and \
stabilizing your spine. Because the psoas connects your spine to your legs, it has a \
tremendous influence on posture and back health.

## How a Tight Psoas Leads to Back Pain

When we sit for long hours—whether working at a desk or driving—the hips stay flexed, causing \
the psoas to shorten and tighten over time. This can:

- Pull the lower spine forward, increasing pressure on the lumbar area.
- Tilt the pelvis forward, creating an exaggerated curve in the lower back.
- Disrupt muscle balance, weakening the glutes and hamstrings.

The result? Chronic lower back pain, hip tightness, and fatigue that stretching alone rarely \
fixes.

## The Emotional Side of the Psoas

Sometimes called the “muscle of the soul,” the psoas is closely connected to our stress \
response. When we’re anxious or under pressure, our body naturally tightens this muscle as \
part of the fight-or-flight reaction. Over time, emotional tension can become physical \
tension—literally stored deep within the hips.

## How Massage Therapy Helps

Massage therapy is one of the most effective ways to release tension in and around the psoas \
and iliopsoas. At Kneaded Tranquility, our therapists specialize in working with the core and \
hip muscles that contribute to back pain.

Through techniques like myofascial release, deep tissue therapy, and neuromuscular work, we \
can:

- Ease deep tension in the hips and lower back
- Restore balance between the front and back of the body
- Improve flexibility and posture
- Relieve back pain caused by muscular imbalance

## Tips for a Healthy Psoas

1. **Take breaks from sitting:** Stand up, stretch, or walk every hour.
2. **Stretch your hip flexors:** Gentle lunges and supported bridges can help.
3. **Practice deep breathing:** Diaphragmatic breathing can help relax the psoas naturally.
4. **Schedule regular massage sessions:** Consistent bodywork keeps the psoas balanced and \
prevents pain from returning.

Your back pain may not start in your spine—it may start deep in your hips. By giving attention \
to your psoas, you’re giving your body the support it needs to move freely and feel at ease.

At Kneaded Tranquility, our goal is simple: help you let go of everything that’s holding you \
back—starting with tension that hides beneath the surface.
"""


def test_psoas_article_reads_right_as_plain_text() -> None:
    rendered = render_markdown(PSOAS)
    lines = rendered.text_facebook.split("\n")
    assert rendered.text_instagram == rendered.text_facebook
    assert lines[:12] == [
        "If you’ve ever struggled with stubborn lower back pain that just won’t go away, your "
        "psoas muscle could be the hidden cause. This deep core muscle, part of a group known as "
        "the iliopsoas, plays a major role in how we sit, stand, and move—and when it becomes "
        "tight or overworked, it can lead to discomfort that radiates through your lower back, "
        "hips, and even your legs.",
        "",
        "At Kneaded Tranquility, we often see clients dealing with back pain that’s actually "
        "rooted in tight hip flexors, especially the psoas. Once this area is addressed through "
        "focused massage therapy, relief and better posture often follow quickly.",
        "",
        "What Is the Psoas (and Iliopsoas)?",
        "",
        "The iliopsoas is made up of two main muscles:",
        "",
        "• Psoas major: Runs from the lower spine to the top of the thigh bone (femur).",
        "• Iliacus: Originates inside the pelvis and joins the psoas before attaching to the "
        "femur.",
        "",
        "Together, they are your primary hip flexors—responsible for lifting your legs, walking, "
        "and stabilizing your spine. Because the psoas connects your spine to your legs, it has a "
        "tremendous influence on posture and back health.",
    ]
    tips = lines.index("Tips for a Healthy Psoas")
    assert lines[tips : tips + 7] == [
        "Tips for a Healthy Psoas",
        "",
        "1. Take breaks from sitting: Stand up, stretch, or walk every hour.",
        "2. Stretch your hip flexors: Gentle lunges and supported bridges can help.",
        "3. Practice deep breathing: Diaphragmatic breathing can help relax the psoas naturally.",
        "4. Schedule regular massage sessions: Consistent bodywork keeps the psoas balanced and "
        "prevents pain from returning.",
        "",
    ]
    assert lines[-1] == (
        "At Kneaded Tranquility, our goal is simple: help you let go of everything that’s "
        "holding you back—starting with tension that hides beneath the surface."
    )
    for marker in ("**", "##", "![", "](", "- ", "\n\n\n"):
        assert marker not in rendered.text_facebook
    assert sum(line.startswith("• ") for line in lines) == 9
    assert [heading[2] for heading in rendered.headings] == [
        "what-is-the-psoas-and-iliopsoas",
        "how-a-tight-psoas-leads-to-back-pain",
        "the-emotional-side-of-the-psoas",
        "how-massage-therapy-helps",
        "tips-for-a-healthy-psoas",
    ]
    assert rendered.first_paragraph.startswith("If you’ve ever struggled")
    assert rendered.first_paragraph.endswith("and even your legs.")
    assert rendered.image_sources == ("images/psoas-back-pain.jpg",)
    # every word of the text, less the 9 bullets and 4 list numbers
    assert rendered.word_count == len(rendered.text_instagram.split()) - 9 - 4 == 514
    assert reading_minutes(rendered.word_count) == 2
    assert "<li><strong>Psoas major:</strong> Runs from" in rendered.html


# --- the two engines ----------------------------------------------------------------------
# render_markdown reads Markdown without raw HTML with markdown-it-pyrs, and must give what
# markdown-it-py gives to the byte: every field, and the same calls to resolve_image.


class RecordingResolver:
    """Resolve every other image, and remember what was asked, in order."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, src: str) -> ImageRef | None:
        self.asked.append(src)
        if len(self.asked) % 2 == 0:
            return None
        return ImageRef(url=f'/images/{src}?w=800&h="1"', width=800, height=len(src))


def assert_page_agrees(source: str) -> bool:
    """Check the page-only engine against markdown-it-py; tell whether it took source."""
    page = render_page_with_markdown_it_pyrs(source)
    if page is None:
        return False
    reference = _render_with_markdown_it_py(source)
    assert not page.for_social
    assert page == replace(
        reference,
        text_facebook="",
        text_instagram="",
        first_paragraph_facebook="",
        for_social=False,
    )
    page_resolver, reference_resolver = RecordingResolver(), RecordingResolver()
    page = render_page_with_markdown_it_pyrs(source, page_resolver)
    reference = _render_with_markdown_it_py(source, resolve_image=reference_resolver)
    assert page is not None
    assert page.html == reference.html
    assert page_resolver.asked == reference_resolver.asked
    return True


def assert_engines_agree(source: str) -> bool:
    """Check the fast engines against markdown-it-py; tell whether the tree engine took source."""
    assert_page_agrees(source)
    fast = render_with_markdown_it_pyrs(source)
    if fast is None:
        # markdown-it-py renders what the fast engine hands back
        assert render_markdown(source) == _render_with_markdown_it_py(source)
        return False
    assert fast == _render_with_markdown_it_py(source)
    fast_resolver, reference_resolver = RecordingResolver(), RecordingResolver()
    fast = render_with_markdown_it_pyrs(source, fast_resolver)
    assert fast == _render_with_markdown_it_py(source, resolve_image=reference_resolver)
    assert fast_resolver.asked == reference_resolver.asked
    return True


WORDS = st.sampled_from(
    ["massage", "Tight", "hips", "x", "42", "café", "Ünïcödé", "肩こり", "💆", "don’t", "“so”"]
    + ["&amp;", "&copy;", "&#8364;", "&nosuch;", "<script>", "</b>", "\\*", "a_b", "1 < 2"]
    + [".", ", so", "…"]
)
URLS = st.sampled_from(
    ["https://example.org/book", "http://example.org/a?b=1&c=2", "/prices/", "#faq", "x.jpg"]
    + ["mailto:info@example.org", "tel:+14129325535", "<two words.png>", "images/a%20b.jpg"]
    + ["https://EXAMPLE.org/Ä", "javascript:alert(1)", "https://münchen.de/", "https://[::1]/"]
)
TITLES = st.sampled_from(["", ' "A title"', " 'x & y'", ' ""'])
NOTE_LABELS = st.sampled_from(["1", "2", "3", "smith2020", "é"])
MARKER = re.compile(r"\[\^[^\]\s]+\]")


@st.composite
def inline_markdown(draw: st.DrawFn, depth: int = 0) -> str:
    """Draw a line of inline Markdown: words with emphasis, links, images, code and breaks."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["word"] * 4 + ["em", "link", "image", "code", "auto", "note"]))
        if kind == "word" or depth > 1:
            parts.append(draw(WORDS))
        elif kind == "note":
            if draw(st.integers(0, 5)):
                parts.append(f"[^{draw(NOTE_LABELS)}]")
            else:
                parts.append(f"^[{draw(inline_markdown(depth + 1))}]")
        elif kind == "em":
            marker = draw(st.sampled_from(["*", "_", "**", "__", "~~", "***"]))
            parts.append(marker + draw(inline_markdown(depth + 1)) + marker)
        elif kind == "link":
            parts.append(f"[{draw(inline_markdown(depth + 1))}]({draw(URLS)}{draw(TITLES)})")
        elif kind == "image":
            parts.append(f"![{draw(inline_markdown(depth + 1))}]({draw(URLS)}{draw(TITLES)})")
        elif kind == "code":
            parts.append(draw(st.sampled_from(["`code`", "`` a`b ``", "`*not em*`", "` [a] `"])))
        else:
            parts.append(draw(st.sampled_from(["<https://example.org/a>", "<info@example.org>"])))
    separators = st.sampled_from([" "] * 6 + ["\n", "  \n", "\\\n", ""])
    return "".join(part + draw(separators) for part in parts).strip()


@st.composite
def block_markdown(draw: st.DrawFn, depth: int = 0) -> str:
    """Draw a block of Markdown: a paragraph, heading, list, quote, table, code or rule."""
    kinds = ["paragraph"] * 3 + ["heading", "setext", "hr", "code", "fence", "table", "note"]
    if depth < 2:
        kinds += ["bullets", "numbers", "quote"]
    kind = draw(st.sampled_from(kinds))
    line = draw(inline_markdown())
    if kind == "heading":
        return "#" * draw(st.integers(1, 6)) + " " + line.replace("\n", " ")
    if kind == "setext":
        return line + "\n" + draw(st.sampled_from(["===", "---"]))
    if kind == "hr":
        return draw(st.sampled_from(["---", "***", "___"]))
    if kind == "code":
        return "    " + line.replace("\n", "\n    ")
    if kind == "fence":
        fence = draw(st.sampled_from(["```", "~~~"]))
        return f"{fence}{draw(st.sampled_from(['', 'py', 'sh x']))}\n{line}\n{fence}"
    if kind == "table":
        columns = draw(st.integers(1, 3))
        rows = [
            "| " + " | ".join(draw(WORDS) for _ in range(columns)) + " |"
            for _ in range(draw(st.integers(1, 3)))
        ]
        aligns = (
            "|"
            + "|".join(draw(st.sampled_from(["---", ":--", "--:", ":-:"])) for _ in range(columns))
            + "|"
        )
        return "\n".join([rows[0], aligns, *rows[1:]])
    if kind in ("bullets", "numbers"):
        start = draw(st.integers(0, 12))
        marker = draw(st.sampled_from(["-", "*", "+"] if kind == "bullets" else [".", ")"]))
        loose = draw(st.booleans())
        items = []
        for number in range(start, start + draw(st.integers(1, 3))):
            bullet = marker if kind == "bullets" else f"{number}{marker}"
            blocks = draw(st.lists(block_markdown(depth + 1), min_size=1, max_size=2))
            body = "\n\n".join(blocks).replace("\n", "\n" + " " * (len(bullet) + 1))
            items.append(f"{bullet} {body}")
        return ("\n\n" if loose else "\n").join(items)
    if kind == "quote":
        body = "\n\n".join(draw(st.lists(block_markdown(depth + 1), min_size=1, max_size=2)))
        return "> " + body.replace("\n", "\n> ")
    if kind == "note":  # a footnote: a line, or blocks indented under it
        blocks = draw(st.lists(block_markdown(depth + 1), max_size=2))
        body = "".join("\n\n" + block for block in blocks).replace("\n", "\n    ")
        return f"[^{draw(NOTE_LABELS)}]: {line}{body}"
    return line


@st.composite
def article_markdown(draw: st.DrawFn) -> str:
    """Draw an article: blocks, mostly apart, sometimes on the very next line."""
    blocks = draw(st.lists(block_markdown(), min_size=1, max_size=6))
    gaps = st.sampled_from(["\n\n"] * 3 + ["\n"])
    return "".join(block + draw(gaps) for block in blocks)


ARTICLES = article_markdown()


@st.composite
def noted_article_markdown(draw: st.DrawFn) -> str:
    """Draw an article with footnotes as staff write them: markers in the text, then a note
    for each (of one line or more blocks, in any order) at the end."""
    # the notes all at the end, and none in the text ("^[...]", markdown-it-py's)
    article = draw(article_markdown()).replace("]:", "]").replace("^[", "[")
    labels = sorted({marker[2:-1] for marker in MARKER.findall(article)})
    if not labels:
        label = draw(NOTE_LABELS)
        article = article.rstrip("\n") + f"[^{label}]\n\n"
        labels = [label]
    notes = []
    for label in draw(st.permutations(labels)):
        blocks = draw(st.lists(block_markdown(1), max_size=2))
        text = draw(inline_markdown()) + "".join("\n\n" + block for block in blocks)
        # a marker inside a note is rare: markdown-it-py reads those
        notes.append(f"[^{label}]: " + MARKER.sub("", text).replace("\n", "\n    "))
    gap = draw(st.sampled_from(["\n", "\n\n"]))
    return article.rstrip("\n") + "\n\n" + gap.join(notes) + "\n"


NOTED_ARTICLES = noted_article_markdown()


def test_a_text_with_footnotes_as_staff_write_them_needs_no_second_parse() -> None:
    assert not footnotes_need_checking(CITED, render_markdown(CITED).html)
    for source in [
        "A[^2]\n\n[^1]: a note\n",  # a marker with no note, a note never referred to
        "A[^1]\n\n[^1]: a note\n[^2]: another\n",  # a note never referred to
        "A[^1]\n\n[^1]: one\n[^1]: two\n",  # written twice
        "A[^1]\n\n[^1]: one\n\n    [^2]: inside\n",  # inside another note
        "A `[^1]`\n\n[^1]: one\n",  # in code
    ]:
        assert footnotes_need_checking(source, render_markdown(source).html), source


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(NOTED_ARTICLES, ARTICLES, MARKDOWNISH))
def test_a_text_whose_footnotes_need_no_check_has_no_footnote_problem(source: str) -> None:
    if not footnotes_need_checking(source, render_markdown(source).html):
        assert footnote_problems(source) == []


@settings(max_examples=300, deadline=None)
@given(source=ARTICLES)
# found by this test: an underline or a quote indented inside a list item, or after a marker
@example(source="10. massage\n    \n    massage\n    massage\n    ===\n\n")
@example(source="- a\n\n    > quote\nlazy\n")
@example(source="- > quote\nlazy\n")
@example(source="- one\n\n  two\n  - - -\n")
def test_both_engines_give_the_same_for_generated_articles(source: str) -> None:
    assert_engines_agree(source)


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(st.text(max_size=200), MARKDOWNISH))
def test_both_engines_give_the_same_for_any_text(source: str) -> None:
    assert_engines_agree(source)


@settings(max_examples=300, deadline=None)
@given(source=NOTED_ARTICLES)
# found by this test: notes one under the other, the second note's marker first
@example(source="a [^2]\n\nb [^1]\n\n[^1]: x\n[^2]: y\n")
@example(source="x[^1]\n\n[^1]: a\n\n    0. [^2]: b\n\n    c[^2]\n")
def test_both_engines_give_the_same_for_articles_with_footnotes(source: str) -> None:
    assert_engines_agree(source)


@pytest.mark.parametrize(
    "source",
    [
        "# Title\n\nText with a [link](https://example.org/) and **bold** words.\n",
        "- one\n- two\n  1. nested\n  2. more\n\n> quoted *text*\n\n---\n",
        "| a | b |\n|:-|--:|\n| 1 | |\n",
        '![A girl, *back pain*](images/psoas.jpg "Psoas")\n\n## Tips\n\n## Tips\n',
        "Tom &amp; Jerry &lt;3 &copy; &#8364;5 <script>alert(1)</script>\n",
        "100 Noble Avenue  \nPittsburgh\\\nPA 15205\n",
        "```py\ncode *here*\n```\n\n    indented\n",
        "Run [`make all`](https://example.org/make) or `make [target]`.\n",
        "> \n\n-\n\n#\n",
        PSOAS,
        CITED,
        "Text.[^b] More[^a] and[^b].\n\n[^a]: A.\n\n[^b]: B.\n\n    Its second paragraph.\n",
        "- item[^1]\n\n| a[^1] |\n|---|\n\n[^1]: ![photo](x.jpg) *note*\n",
    ],
)
def test_the_fast_engine_takes_everyday_markdown(source: str) -> None:
    assert assert_engines_agree(source)


@pytest.mark.parametrize(
    "source",
    [
        "See [`make",  # markdown-it.rs panics
        "[a `b](https://example.org/)",
        "**Book now!**🌿",  # emphasis beside a symbol
        "🌿**!now**",
        "Price\u00a0list\n",  # a no-break space
        "a\x0c\n",
        "Bar | here\n---\n",  # a table of one column
        "Header\n|---|\n",
        "> a | b\n|---|---|\n",  # a table under a quote
        "> quote\n| a | b |\n|---|---|\n",
        "| a |\n|---|\n2. x\n",  # a list after a table
        "~~a~~~~b~~\n",  # tildes inside a word
        "![**\\* 42\\** hips](x.jpg)\n",  # emphasis at the edge of alt text
        "[ref]: /u ''x\n\n[ref]\n",  # a definition with an empty title
        ">\t>\t\tcode\n",  # a tab in a quote
        "```\nunclosed",  # an unclosed fence at the very end
        "> quote\n2. item\n",  # a list after a quote
        "`    `\n",  # code of spaces
        "[a](https://münchen.de/) [b](http://[::1]/)\n",  # punycode and IPv6 hosts
        "A[^1] B[^1]\n\n[^1]: one\n[^1]: two\n",  # a note written twice
        "A[^1]\n\n[^1]:    four spaces\n",  # a note's text indented four columns
        "A[^1]\n\n- [^1]: in a list\n",  # a note not at the start of its line
        "A^[a note [in] the text]\n",  # a note written in the text
        "A[^1]\n[^1]: right under the paragraph\n",  # the port reads more of the paragraph
        "[a link[^1]](https://example.org/)\n\n[^1]: n\n",  # a marker in a link's text
        "![alt[^1]](x.jpg)\n\n[^1]: n\n",  # and in alt text
        "A[^1]\n\n[^1]: a note with a marker[^2]\n[^2]: n\n",  # a marker in a note
        "A[^2]\n\n[^1]: no marker\n",  # a marker with no note, a note never referred to
        # notes to list in another order, with a heading or an image in them
        "A[^2] B[^1]\n\n[^1]: ![i](y.png)\n[^2]: n\n",
    ],
)
def test_markdown_it_py_renders_what_the_fast_engine_might_read_differently(source: str) -> None:
    assert render_with_markdown_it_pyrs(source) is None
    assert render_markdown(source) == _render_with_markdown_it_py(source)


PANICKY = st.lists(
    st.sampled_from([*"[]()!`\\<>|\n *_a@:", "``", "```", "](x)", "<http://a>", "\n\n", "> "]),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(source=PANICKY)
def test_markdown_it_rs_never_panics_where_may_panic_says_no(source: str) -> None:
    if not _may_panic(source):
        _RUST_PARSER.tree(source)  # a panic is a BaseException and fails the test


def test_line_ends_and_nul_are_read_as_markdown_it_py_reads_them() -> None:
    for source in ("a\r\nb\rc\r\n\r\n- d\r\n", "a\x00b\n"):
        assert assert_engines_agree(source)


def test_the_unicode_spaces_are_all_that_str_isspace_knows() -> None:
    expected = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - set(" \t\n\r")
    assert set(_ASCII_SPACES + _UNICODE_SPACES) == expected


def test_raw_html_is_never_left_to_the_fast_engine() -> None:
    source = "<b>bold</b> and ![x](x.jpg)\n\n<div>\n\n| a |\n|---|\n"
    rendered = render_markdown(source, allow_html=True)
    assert rendered == _render_with_markdown_it_py(source, allow_html=True)
    assert "<b>bold</b>" in rendered.html


def test_both_engines_give_the_same_for_the_benchmark_corpus(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), str(tmp_path), "--posts", "300"],
        check=True,
        capture_output=True,
    )
    posts = sorted(tmp_path.glob("*.md"))
    assert len(posts) == 300
    for post in posts:
        body = post.read_text(encoding="utf-8").split("---", 2)[2]
        assert assert_engines_agree(body), post.name
        assert assert_page_agrees(body), post.name  # and the page needs no tree


def test_the_page_alone_reads_everyday_markdown_without_the_tree() -> None:
    assert assert_page_agrees(PSOAS)
    assert assert_page_agrees(CITED)
    sources = [
        "## Tips[^1]\n\nLater[^2], then[^1].\n\n[^1]: a\n\n    ## In a note\n\n[^2]: b ![i](y.png)\n",
        '# Title\n\nText with a [link](https://example.org/ "") and **bold** words.\n',
        '![A girl, back pain](images/psoas.jpg "Psoas &amp; hips")\n\n## Tips\n\n## Tips\n',
        "Tom &amp; Jerry &lt;3 &copy; &#8364;5 <script>alert(1)</script>\n",
        "- one\n\n- two\n  1. nested\n\n  2. more\n\nThen **this**.\n",
        "```py\ncode *here*\n```\n\n    indented\n\n## `make` [it](/x) ![alt](y.png)\n",
    ]
    for source in sources:
        assert assert_page_agrees(source), source


@pytest.mark.parametrize(
    "source",
    [
        "> quoted\n2. item\n",  # a block quote: its lazy lines need the tree
        "Title\ntwo lines\n===\n",  # a setext heading
        "a\n\n---\n",  # a thematic break reads like one
        "| a | b |\n|---|---|\n",  # a table
        "![Tom &amp; Jerry](x.jpg)\n",  # an entity in alt text: markdown-it.rs drops it
        "![**\\* 42\\** hips](x.jpg)\n",  # emphasis at the edge of alt text
        "[a](https://münchen.de/)\n",  # a host written as punycode
        "`    `\n",  # code of spaces
    ],
)
def test_the_page_alone_leaves_to_the_tree_what_only_the_tree_reads_right(source: str) -> None:
    assert render_page_with_markdown_it_pyrs(source) is None
    page = render_markdown(source, social=False)
    assert page.html == _render_with_markdown_it_py(source).html


def test_a_page_rendered_for_the_site_alone_is_refused_for_social_posts(tmp_path: Path) -> None:
    page = render_markdown(PSOAS, social=False)
    assert not page.for_social and page.text_instagram == ""
    assert page.html == render_markdown(PSOAS).html
    from .conftest import repo_config  # noqa: PLC0415

    config = repo_config(tmp_path)
    from publisher.content import read_post  # noqa: PLC0415
    from publisher.render.social import SocialRenderer  # noqa: PLC0415

    post, _ = read_post(config.posts_dir / "2025-10-21-psoas-back-pain.md", config)
    assert post is not None
    with pytest.raises(ValueError, match="social=True"):
        SocialRenderer(config).instagram(post, page)


LINKISH = st.lists(
    st.sampled_from(
        [
            "http://",
            "https://",
            "mailto:",
            "//",
            "ftp:",
            "a",
            "é",
            "xn--mnchen-3ya",
            "XN--a",
            ".",
            "\u3002",
            "@",
            ":",
            "/",
            "?",
            "#",
            "%",
            "%20",
            "%C3%A9",
            "%zz",
            "[::1]",
            " ",
            "_",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(url=LINKISH)
def test_written_links_and_escapes_are_markdown_it_s_own(url: str) -> None:
    from markdown_it import MarkdownIt  # noqa: PLC0415
    from markdown_it.common.utils import escapeHtml  # noqa: PLC0415

    assert _written_link(url) == MarkdownIt().normalizeLinkText(url)
    assert escape_html(url + "<&>\"'") == escapeHtml(url + "<&>\"'")


def test_a_build_command_does_not_load_markdown_it_py() -> None:
    script = (
        "import sys, publisher.cli, publisher.build\n"
        "from publisher.render.markdown import render_markdown\n"
        "render_markdown('# Hi\\n\\nText [a](https://example.org/).\\n', social=False)\n"
        "print('markdown_it' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
