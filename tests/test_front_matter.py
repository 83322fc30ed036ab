"""The quick reader of simple front matter must read exactly as PyYAML does, or step aside."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.content import (
    _front_matter_loader,
    _implicit_resolvers,
    _parse_simple_yaml,
    parse_front_matter,
)
from publisher.exceptions import ContentError


def by_pyyaml(text: str) -> tuple[Any, dict[str, int]] | None:
    """What PyYAML makes of text (the mapping and each key's line), or None if it refuses."""
    loader = _front_matter_loader()(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 2
            if isinstance(value_node, yaml.MappingNode):
                for sub_key, _ in value_node.value:
                    lines[f"{key_node.value}.{sub_key.value}"] = sub_key.start_mark.line + 2
    return ({} if data is None else data), lines  # as parse_front_matter reads no keys


def assert_agrees(text: str) -> bool:
    """Check the quick reader against PyYAML; tell whether it answered."""
    quick = _parse_simple_yaml(text)
    if quick is None:
        return False
    assert quick == by_pyyaml(text), text
    return True


SCALARS = [
    "Hello there",
    "Café 💆",
    "a: b",
    "a:b",
    "a:",
    "x #c",
    "x#c",
    "don't",
    '"quoted: yes"',
    "'single'",
    "'it''s'",
    '"esc \\" q"',
    '"unterminated',
    "true",
    "False",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "",
    "12",
    "-3",
    "1.5",
    "1e3",
    ".inf",
    "0x1F",
    "1:30",
    "2018-01-01T09:00:00",
    "2025-10-21 09:00",
    "2025-10-21",
    "-x",
    "- x",
    "&anchor x",
    "*alias",
    "!tag x",
    "|",
    ">-",
    "%x",
    "@x",
    "`x`",
    "?x",
    "[a, b]",
    '[a, "b, c"]',
    "[]",
    "[a,]",
    "[a, [b]]",
    "[a: b]",
    "[1, two]",
    "[x #y]",
    "{a: b}",
    "a\xa0b",
    "a\tb",
    "a \u2028b",
    "<<",
    "=",
    "a  b",
    "https://example.org/a?b=c#d",
    "[sports massage, back pain]",
    "'a' b",
    '"a" b',
]
KEYS = ["title", "date", "tags", "instagram", "hashtags", "at", "_x", "x-y", "1a", "title"]


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """Lines of front matter, mostly simple, with YAML's traps mixed in."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(KEYS))
        kind = draw(st.sampled_from(["value"] * 4 + ["mapping", "list", "comment", "blank"]))
        if kind == "value":
            lines.append(
                f"{key}:{draw(st.sampled_from([' ', '  ', '']))}{draw(st.sampled_from(SCALARS))}"
            )
        elif kind == "mapping":
            lines.append(f"{key}:")
            indent = " " * draw(st.sampled_from([1, 2, 4]))
            for _ in range(draw(st.integers(0, 3))):
                shift = draw(st.sampled_from(["", "", "", " ", "\t"]))
                sub = draw(st.sampled_from(KEYS))
                lines.append(f"{indent}{shift}{sub}: {draw(st.sampled_from(SCALARS))}")
        elif kind == "list":
            lines.append(f"{key}:")
            indent = " " * draw(st.sampled_from([0, 2]))
            for _ in range(draw(st.integers(0, 3))):
                lines.append(f"{indent}- {draw(st.sampled_from(SCALARS))}")
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# note", "  # note", "#"])))
        else:
            lines.append(draw(st.sampled_from(["", "  "])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=1500, deadline=None)
@given(text=front_matter())
def test_the_quick_reader_reads_as_pyyaml_or_not_at_all(text: str) -> None:
    assert_agrees(text)


def test_the_quick_reader_takes_front_matter_as_staff_write_it() -> None:
    text = (
        'title: "Calf Cramps: Back pelvis (0)"\nslug: post-00000\ndate: 2018-01-01T09:00\n'
        "author: Aaron Cygnarowicz\nimage: images/post-00000.jpg\n"
        "image_alt: 'A client stretching'\ntags: [sports massage, back pain, posture]\n\n"
        "# Instagram only\ninstagram:\n  hashtags: [massagetherapy, backpain]\n"
        '  at: 2018-01-02 10:00\nfacebook:\n  message: "Book now: 412-932-5535"\n'
        "topics:\n  - one\n  - two words\n"
    )
    assert assert_agrees(text)
    data, lines = parse_front_matter(text, "posts/x.md")
    assert data["instagram"] == {
        "hashtags": ["massagetherapy", "backpain"],
        "at": "2018-01-02 10:00",
    }
    assert data["topics"] == ["one", "two words"]
    assert lines["instagram.at"] == 13 and lines["facebook.message"] == 15


@pytest.mark.parametrize(
    "text",
    [
        "facebook: false\n",  # a boolean
        "title: 42\n",  # a number
        "summary: >-\n  folded\n  text\n",  # a block scalar
        "title: a: b\n",  # not valid YAML
        "instagram:\n",  # null
        'title: "a\\"b"\n',  # an escape
        "\ttitle: x\n",  # a tab
        "title: x\ntitle: y\n",  # a key twice
    ],
)
def test_the_rest_is_left_to_pyyaml(text: str) -> None:
    assert _parse_simple_yaml(text) is None


def test_invalid_front_matter_still_says_where() -> None:
    with pytest.raises(ContentError) as caught:
        parse_front_matter("title: ok\ndate: a: b\n", "posts/x.md")
    assert caught.value.line == 3 and "not valid YAML" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("title: A\ntags: []\ndate: 1\ntags: [a]\n", 5, "'tags' is written twice (lines 3 and 5)"),
        ("title: A\nfacebook:\n  at: x\n  at: y\n", 5, "'facebook.at' is written twice (lines 4"),
    ],
)
def test_a_key_written_twice_is_refused_not_silently_overwritten(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(ContentError) as caught:
        parse_front_matter(text, "posts/x.md")
    assert caught.value.line == line and message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("title: A\ndate: 2026-01-01\n\tfacebook: false\n", 4),
        ("title: A\nfacebook:\n\tat: 2026-01-01\n", 4),
        ("title: A\ninstagram:\n  at: 2026-01-01\n \thashtags: [a]\n", 5),
    ],
)
def test_a_tab_in_the_indentation_is_named_as_the_cause(text: str, line: int) -> None:
    with pytest.raises(ContentError) as caught:
        parse_front_matter(text, "posts/x.md")
    assert caught.value.line == line and "replace the tab with spaces" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title:No space\ndate: 2026-01-01\n", "'title:' needs a space after the colon"),
        ("image:images/a.jpg\ntitle: x\n", "for example  image: images/a.jpg"),
        ("title:\u00a0Psoas: the muscle\n", "the space after 'title:' is a special space"),
        ("title:\u00a0Psoas\n", "the space after 'title:' is a special space"),
        ("title: \u201cPsoas: the muscle\u201d\n", "is in curly quotes"),
    ],
)
def test_slips_of_typing_are_named(text: str, message: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse_front_matter(text, "posts/x.md")
    assert caught.value.line == 2 and message in str(caught.value)


def test_a_link_or_a_curly_quote_inside_a_value_is_fine() -> None:
    text = "title: It\u2019s \u201cfine\u201d\nimage_alt: see https://a.example/b\n"
    assert parse_front_matter(text, "posts/x.md")[0]["title"] == "It\u2019s \u201cfine\u201d"


def test_a_value_that_only_begins_with_a_curly_quoted_word_is_text() -> None:
    """“Tight” shoulders: why they happen was refused as "in curly quotes": only a value
    wholly in curly quotes is one a word processor quoted."""
    text = "summary: \u201cTight\u201d shoulders: why they happen\ntitle: \u2018Hips\u2019 # x\n"
    data = parse_front_matter(text, "posts/x.md")[0]
    assert data["summary"] == "\u201cTight\u201d shoulders: why they happen"
    assert data["title"] == "\u2018Hips\u2019"


def test_curly_quotes_that_read_well_are_not_blamed_for_an_error_below() -> None:
    """A list left open on line 8 was reported as curly quotes on line 5, which were fine."""
    text = "title: A\nsummary: \u201cHeavy legs\u201d after the gym\ntags: [legs, recovery\n"
    with pytest.raises(ContentError) as caught:
        parse_front_matter(text, "posts/x.md")
    assert caught.value.line == 4, caught.value
    assert "a list that begins with [ is not closed: end it with ]" in str(caught.value)
    assert "for example  tags: [" in str(caught.value)
    with pytest.raises(ContentError) as caught:  # the example names the key written
        parse_front_matter("title: A\nhashtags: [rest, back\n", "posts/x.md")
    assert "for example  hashtags: [" in str(caught.value), caught.value


def test_a_tab_inside_a_value_is_not_blamed_for_another_error() -> None:
    assert parse_front_matter('title: "a\tb"\n', "posts/x.md")[0] == {"title": "a\tb"}
    with pytest.raises(ContentError) as caught:
        parse_front_matter('title: "a\tb"\ndate: [\n', "posts/x.md")
    assert "not valid YAML" in str(caught.value) and "tab" not in str(caught.value)


def _tags_and_patterns(table: dict[str, list[tuple[str, Any]]]) -> dict[str, list[tuple[str, str]]]:
    """A resolver table with each pattern's spaces taken out (all of them are re.X or have
    none), and first characters with no resolver left out."""
    return {
        first: [(tag, "".join(rx.pattern.split())) for tag, rx in resolvers]
        for first, resolvers in table.items()
        if resolvers
    }


# YAML 1.1's base-60 numbers (1:30 as 90), in PyYAML's int and float patterns
BASE_60 = ("|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+", "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*")


def test_plain_values_are_typed_as_pyyaml_types_them_but_for_dates_yes_no_and_base_60() -> None:
    bool_tag, timestamp_tag = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"
    expected = {
        first: [
            (tag, rx)
            for tag, rx in resolvers
            if tag != timestamp_tag and not (tag == bool_tag and first in "yYnNoO")
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for first in "tTfF":
        expected[first].append((bool_tag, re.compile("^(?:true|True|TRUE|false|False|FALSE)$")))
    wanted = _tags_and_patterns(expected)
    for resolvers in wanted.values():
        for i, (tag, pattern) in enumerate(resolvers):
            for alternative in BASE_60:
                pattern = pattern.replace(alternative, "")
            resolvers[i] = (tag, pattern)
    assert sum(p.count(":[0-5]") for r in wanted.values() for _, p in r) == 0
    assert _tags_and_patterns(_implicit_resolvers()) == wanted
    loader = _front_matter_loader()
    assert _tags_and_patterns(loader.yaml_implicit_resolvers) == wanted
    assert issubclass(loader, yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("value", ["18:30", "1:30", "-2:05", "1:30.5"])
def test_a_time_of_day_stays_text(value: str) -> None:
    data, _ = parse_front_matter(f"instagram:\n  at: {value}\nslug: {value}\n", "posts/x.md")
    assert data == {"instagram": {"at": value}, "slug": value}


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        (
            "title: Psoas: the hidden cause of back pain\n",
            "title",
            "Psoas: the hidden cause of back pain",
        ),
        ('summary: Why: "tight" hips 😌\n', "summary", 'Why: "tight" hips 😌'),
        ("image_alt: A client: stretching\n", "image_alt", "A client: stretching"),
        ("title: A: B: C\ndate: 2026-01-01\n", "title", "A: B: C"),
    ],
)
def test_a_title_or_caption_may_hold_a_colon_without_quotes(text, key, value) -> None:
    """Staff write "Psoas: the hidden cause" as a title; YAML would refuse it (a second key on
    the line). Text keys take the whole line as their text."""
    data, lines = parse_front_matter(text, "posts/x.md")
    assert data[key] == value and lines[key] == 2


def test_a_caption_with_a_colon_under_instagram_is_text_too() -> None:
    data, lines = parse_front_matter("instagram:\n  caption: Relax: now\n", "posts/x.md")
    assert data["instagram"] == {"caption": "Relax: now"} and lines["instagram.caption"] == 3


@pytest.mark.parametrize("text", ["date: 2026-01-01: 09:00\n", "slug: a: b\n", 'image: "a" b\n'])
def test_a_colon_elsewhere_is_still_an_error(text) -> None:
    with pytest.raises(ContentError, match="not valid YAML"):
        parse_front_matter(text, "posts/x.md")


def test_a_hash_in_a_title_is_text_not_a_comment() -> None:
    """YAML would read "Tip #1 for hips" as the title "Tip" and a comment, without a word."""
    data, _ = parse_front_matter("title: Tip #1 for hips\ndraft: true  # not yet\n", "x.md")
    assert data == {"title": "Tip #1 for hips", "draft": True}


def test_a_hash_and_a_space_before_a_number_is_text_too() -> None:
    """ "Tip # 1" is a number, as "#1" is: a comment starts with words."""
    data, _ = parse_front_matter("title: Tip # 1 for tight hips  # draft title\n", "x.md")
    assert data == {"title": "Tip # 1 for tight hips"}


@pytest.mark.parametrize("line", ['title: "Tight hips', 'summary: "Why your hips ache'])
def test_a_quote_mark_opened_and_not_closed_is_refused_at_its_line(line) -> None:
    """It would show on the page as the text's first character."""
    with pytest.raises(
        ContentError, match=r"the quote mark at the start \(\"\) is not closed"
    ) as caught:
        parse_front_matter(f"date: 2026-01-01\n{line}\n", "posts/x.md")
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            'title: "Five stretches for tight hips after a day at a desk, from our\n'
            '  therapists"\n',
            {"title": "Five stretches for tight hips after a day at a desk, from our therapists"},
        ),
        (
            "summary: 'Why your hips ache: what a desk\n  does to the psoas'  # short\n",
            {"summary": "Why your hips ache: what a desk does to the psoas"},
        ),
        (
            'facebook:\n  message: "Stretch your psoas:\n    three minutes a day"\n',
            {"facebook": {"message": "Stretch your psoas: three minutes a day"}},
        ),
    ],
)
def test_a_quoted_text_wrapped_onto_the_next_line_reads_as_one_line(
    text: str, value: dict[str, Any]
) -> None:
    """An editor that wraps long lines (or a person) carries a quoted title on to an
    indented next line: YAML reads that as one text, and so does publisher."""
    data, lines = parse_front_matter(f"date: 2026-01-01\n{text}", "posts/x.md")
    assert {key: data[key] for key in value} == value
    assert lines[next(iter(value))] == 3


def test_a_comment_after_a_text_is_still_a_comment() -> None:
    """As in the README's example: "author: Aaron Cygnarowicz        # optional"."""
    text = (
        "author: Aaron Cygnarowicz        # optional\nsummary: Short.  # for Facebook\n"
        "facebook:\n  message: Read this.   # our words\n"
    )
    data, _ = parse_front_matter(text, "x.md")
    assert data == {
        "author": "Aaron Cygnarowicz",
        "summary": "Short.",
        "facebook": {"message": "Read this."},
    }


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (
            "caption: #TipTuesday Stand up: your psoas will thank you.",
            "#TipTuesday Stand up: your psoas will thank you.",
        ),
        ("summary: #1 reason your back hurts", "#1 reason your back hurts"),
        ("summary: Three ways to relax your psoas:", "Three ways to relax your psoas:"),
        ("title: [Sale] 20% off massages", "[Sale] 20% off massages"),
        ("title: @clinic news", "@clinic news"),
        ("title: - five tips", "- five tips"),
        ("title: *New* hours", "*New* hours"),
        ('title: "Text neck" is real', '"Text neck" is real'),
        ("title: 'Tis the season to relax", "'Tis the season to relax"),
        ('summary: "Hello" she said  # a note', '"Hello" she said'),
        ("title: null", "null"),
        ("title: true", "true"),
        ("title: 2026", "2026"),
    ],
)
def test_a_text_may_start_or_end_as_yaml_would_not_allow(line: str, text: str) -> None:
    data, _ = parse_front_matter(line + "\n", "x.md")
    assert list(data.values()) == [text]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ('title: "Psoas: x"', "Psoas: x"),
        ("summary: 'Don''t sit: why'", "Don't sit: why"),
        ("summary: # later", None),
    ],
)
def test_quoted_texts_and_a_lone_comment_keep_yamls_reading(line: str, value: object) -> None:
    data, _ = parse_front_matter(line + "\n", "x.md")
    assert list(data.values()) == [value]


def test_the_lines_of_a_block_are_its_text_as_written() -> None:
    text = (
        "facebook:\n  message: |\n    Meet our team:\n    author: Jo #1 therapist\n"
        "    caption: [Sale] today\ninstagram: false\n"
    )
    data, _ = parse_front_matter(text, "x.md")
    assert data["facebook"]["message"] == (
        "Meet our team:\nauthor: Jo #1 therapist\ncaption: [Sale] today\n"
    )


def test_a_mistake_in_a_later_line_is_reported_at_that_line() -> None:
    with pytest.raises(ContentError) as caught:
        parse_front_matter('title: A\ndate: 2026-01-01\nimage: "a" b\n', "posts/x.md")
    assert caught.value.line == 4


def test_tags_written_as_hashtags_are_not_lost_without_a_word() -> None:
    """YAML reads `tags: #stress #neck pain` as no tags and a comment."""
    with pytest.raises(ContentError) as caught:
        parse_front_matter("title: A\ntags: #stress #neck pain\n", "posts/x.md")
    assert caught.value.line == 3 and "tags: [stress, neck pain]" in str(caught.value)
    assert parse_front_matter("tags: [a]  # a note\n", "x.md")[0] == {"tags": ["a"]}


@pytest.mark.parametrize(
    ("front", "line", "advice"),
    [
        ("tags: #stress, #neck\n", 2, "write  tags: [stress, neck]  "),
        ("tags: [#stress, #neck]\n", 2, "write  tags: [stress, neck]  "),
        ("instagram:\n  hashtags: #stress #neck\n", 3, "write  hashtags: [stress, neck]  "),
        ("instagram:\n  hashtags: [#relax, #calm]\n", 3, "write  hashtags: [relax, calm]  "),
    ],
)
def test_hashtags_written_with_their_hash_are_refused_with_a_list_that_works(front, line, advice):
    """In YAML a '#' starts a comment: the hashtags would be lost (or the list not read),
    and what the message says to write must itself be read as meant."""
    with pytest.raises(ContentError) as caught:
        parse_front_matter("title: A\n" + front, "posts/x.md")
    assert caught.value.line == line + 1 and advice in str(caught.value)
    fixed = str(caught.value).split("write  ", 1)[1].split("  ", 1)[0]
    key, written = fixed.split(": ", 1)
    indent = "  " if key == "hashtags" else ""
    meta = parse_front_matter(
        "title: A\n" + ("instagram:\n" if indent else "") + f"{indent}{fixed}\n", "posts/x.md"
    )[0]
    found = meta["instagram"]["hashtags"] if indent else meta["tags"]
    assert found == [w.strip() for w in written.strip("[]").split(",")]
