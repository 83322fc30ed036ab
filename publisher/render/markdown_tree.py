"""The fast engine of render_markdown: markdown-it-pyrs, for Markdown without raw HTML.

markdown-it-pyrs binds markdown-it.rs, the Rust port of markdown-it by the author of
markdown-it-py, and parses a post some ten times faster; with the Python that reads its tree,
render_markdown takes about a third of the time it takes with markdown-it-py. One call builds
the syntax tree, which gives the plain texts, headings and images; a second writes the HTML
in Rust, which is then finished here: an id into each heading tag, our image tag in place of
each ``<img>``, a scrolling div around each table. Editing generated HTML is safe only
because raw HTML is off: every tag in it comes from Markdown syntax, and a tag written in the
text comes out escaped. So this engine never serves ``allow_html=True``.

The output must be markdown-it-py's to the byte; tests/test_markdown.py compares the two
engines on generated Markdown and on a benchmark corpus. markdown-it.rs 0.6 reads a few
corners of the syntax differently (listed below), and panics on a few inputs; where a source
could meet one of them, render_with_markdown_it_pyrs returns None and markdown-it-py renders
the post. Such posts are rare and only slower, never different.

Footnotes: a source with a marker ("[^1]") is read by a parser with markdown-it.rs's footnote
plugin, whose notes _notes_as_markdown_it_py numbers, orders and writes as markdown-it-py does;
the others keep the parser without it. A note written in the text ("^[...]") and the corners
listed below go to markdown-it-py: only posts with footnotes can pay for them.

A build needs no plain text for Facebook or Instagram, only the page: for that,
render_page_with_markdown_it_pyrs reads the few things the page needs (heading text, the first
paragraph, the words, the images) from the Rust renderer's HTML and builds no tree, which
takes another third off. It takes everyday Markdown and hands the rest (block quotes, tables,
setext headings, unusual alt text...) to the tree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

import mdurl
from markdown_it_pyrs import MarkdownIt, Node

from publisher.render.markdown import (
    _TABLE_WRAP_CLOSE,
    _TABLE_WRAP_OPEN,
    ANY_TAG,
    BULLET,
    NOTES_CLOSE,
    NOTES_OPEN,
    ImageResolver,
    RenderedMarkdown,
    _image_html,
    _item_text,
    _link_for_facebook,
    _tidy,
    _written_link,
    after_dropped_piece,
    escape_html,
    heading_slug,
    note_backlink,
    note_marker,
    note_open,
)

# CommonMark's rules less html_block and html_inline, plus table and strikethrough: the
# rules of the markdown-it-py parser in publisher/render/markdown.py with html off.
_RUST_RULES = [
    *("blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph"),
    *("reference", "autolink", "backticks", "emphasis", "entity", "escape", "image", "link"),
    *("newline", "strikethrough", "table"),
]
_RUST_PARSER = MarkdownIt("zero").enable_many(_RUST_RULES)
# with footnotes, for a source that may have some ("[^1]", "^[a note]"): the others keep the
# parser above, whose output the footnotes cannot change
_RUST_NOTES_PARSER = MarkdownIt("zero").enable_many([*_RUST_RULES, "footnote"])

# Where markdown-it.rs 0.6 reads a source unlike markdown-it-py, as the differential tests in
# tests/test_markdown.py found. _rust_may_differ looks at the source for these:
# - a "[" and a run of backticks that no later run of its length closes, in one paragraph:
#   the port panics (markdown-it.rs issue 40: "[`"). _may_panic pairs the runs line by line
#   and cell by cell, which leaves a run open wherever the paragraph would, and gives up
#   where an escape or an autolink could take a backtick out of a run
_BACKTICKS = re.compile(r"`+")
_AUTOLINK_WITH_BACKTICK = re.compile(r"<[^<>\s]*`[^<>\s]*>")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_INLINE_PIECE_ENDS = re.compile(r"[\n|]")
# - whitespace other than space, tab and line ends (no-break space, form feed...):
#   markdown-it-py strips it from the ends of paragraphs, headings and cells, the port not
_ASCII_SPACES = "\x0b\x0c\x1c\x1d\x1e\x1f"  # the rest of what str.isspace() calls space
_UNICODE_SPACES = (
    "\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
# - "*", "_" or "~" beside a symbol such as an emoji or "€" ("**Book now!**🌿"): CommonMark
#   0.31 counts symbols as punctuation for emphasis, the port follows an older version
_DELIMITER_BESIDE_NON_ASCII = re.compile(r"[*_~](?:(?=[^\x00-\x7f])|(?<=[^\x00-\x7f].))")
# - a table's line of dashes in a paragraph with a ">" or a fence in it: markdown-it-py
#   makes a table of a line that opens a quote or a fence, and reads a table after a quoted
#   paragraph as more of that paragraph; the port does neither
# - a one-column table: markdown-it-py wants a "|" in the header line, the port only in the
#   line of dashes below it
# - a line in a table that starts a list that may not interrupt a paragraph ("2. x", an
#   empty "-"): markdown-it-py ends the table there, the port reads on in the table
_DELIMITER_ROW = re.compile(
    r"\n[ \t>]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*(?=\n|$)"
)
_OPENS_BLOCK = (">", "```", "~~~")
# - a run of three tildes or more inside a word ("~~a~~~~b~~"): the two split it differently
_TILDES_IN_A_WORD = re.compile(r"[^\s~]~{3,}[^\s~]")
# - a tab after a block quote marker: the two expand it to different widths
_TAB_IN_QUOTE = re.compile(r">[^\n]*\t")
# - an unclosed fence at the very end of a source without a final line end: the port ends the
#   code with a line end
_FENCE_MARKERS = ("```", "~~~")
# - a link reference definition with an empty title and more text on its line: markdown-it-py
#   drops the whole definition (its empty title reads as none), the port only the title
_EMPTY_DEFINITION_TITLE = re.compile(r"""''|""|\(\)""")
# - a footnote whose text starts four columns or more after its "]:": markdown-it-py reads a
#   paragraph up to seven, the port code from four
_NOTE_INDENTED = re.compile(r"\[\^[^\]\s]+\]:(?: {4}| {0,3}\t)")
# - a footnote written twice: markdown-it-py shows the last, the port the first
_NOTE_LABEL = re.compile(r"\[\^([^\]\s]+)\]:")
# - a footnote that does not start its line (in a list or a quote, or indented inside another
#   note, which markdown-it-py reads as the other note's text and the port as a note)
_NOTE_NOT_FIRST = re.compile(r"(?m)^(?!\[\^)[^\n]*\[\^[^\]\s]+\]:")
# - a note written in the text, "^[like this]" (rare: word processors write "[^1]"): the two
#   end it at different brackets, and markdown-it-py keeps one inside a note never referenced
# _notes_as_markdown_it_py hands back what it finds in the Rust renderer's footnotes that
# markdown-it-py could read differently: a marker inside a note, in a link's text or in an
# image's alt text (the port counts it twice), and "[^" left as text (a note written right
# under a paragraph's line, which markdown-it-py reads as a note and the port as more of the
# paragraph; a marker with no note).
# The tree reader raises _NotLikeMarkdownItPy at these:
# - a line in a block quote that starts a list that may not interrupt a paragraph, as in a
#   table above: markdown-it-py ends the quote there, the port reads on in the paragraph
_LIST_ITEM_START = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)")
# - a code span of spaces alone: the port strips a space from each end
# - "*", "_" or "~" first or last in an image's alt text, beside punctuation or a space:
#   markdown-it-py reads the alt text alone, the port within the text around it, so the two
#   may pair the markers differently
_DELIMITERS = "*_~"
# - a link to a host markdown-it-py writes as punycode ("münchen.de") or an IPv6 address: the
#   port percent-encodes it

# Tags of the Rust renderer's HTML that the page writes differently: a heading tag gets its
# id, an image tag is written anew from the tree (markdown-it.rs leaves entities out of the
# alt text), a table gets its scrolling div, an empty block quote goes on one line, a link
# loses an empty title. Raw HTML is off, so each of these is a tag markdown-it made: a "<" in
# the text comes out escaped, and so does a '"' in an attribute.
_HTML_TO_FINISH = re.compile(
    r"<h[1-6]>|<img [^>]*>|<table>\n|</table>\n|<blockquote>\n</blockquote>"
    r'|<a href="[^"]*" title="">'
)
_EMPTY_TITLE = ' title=""'
_EMPTY_BLOCKQUOTE = "<blockquote></blockquote>"

_INLINE_NODES = frozenset(
    ("text", "text_special", "softbreak", "hardbreak", "code_inline", "em", "strong")
    + ("strikethrough", "link", "autolink", "image")
    + ("footnote_ref", "footnote_inline", "footnote_ref_anchor")
)
_SILENT_NODES = frozenset(("hr", "definition"))  # blocks with nothing to read


class _NotLikeMarkdownItPy(Exception):
    """The tree holds something markdown-it.rs may read differently from markdown-it-py."""


def _as_markdown_it_py_reads(source: str) -> str:
    """Line ends and NUL as markdown-it-py reads them (markdown-it.rs keeps NUL in its tree)."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    return source.replace("\0", "\ufffd")


def _has_notes(source: str) -> bool:
    """Tell whether source may have footnotes (a marker "[^1]"; "^[a note]" is markdown-it-py's)."""
    return "[^" in source


def _rust_html(source: str, notes: bool) -> str | None:
    """The Rust renderer's HTML, footnotes as markdown-it-py writes them when `notes`; or None
    where it panics or its footnotes may not be markdown-it-py's."""
    try:
        if not notes:
            return _RUST_PARSER.render(source, xhtml=False)
        html = _RUST_NOTES_PARSER.render(source, xhtml=False)
    except BaseException as error:  # a Rust panic is a BaseException
        if type(error).__name__ != "PanicException":
            raise
        return None
    return _notes_as_markdown_it_py(html)


# The Rust renderer's footnotes: markdown-it.rs numbers the notes in the order they are
# written and lists them so, numbers each marker on its own, and puts a line end after each
# note's <li>; markdown-it-py numbers the notes in the order of their first marker, lists
# them in that order, and numbers the markers of each note (our ids: markdown.py's note_*).
_RUST_NOTES_OPEN = (
    '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n'
)
_RUST_MARKER = re.compile(
    r'<sup class="footnote-ref"><a href="#fn(\d+)" id="fnref(\d+)">\[\d+\]</a></sup>'
)
_RUST_NOTE_OPEN = re.compile(r'<li id="fn(\d+)" class="footnote-item">\n?')
_RUST_BACKLINK = re.compile(r' <a href="#fnref(\d+)" class="footnote-backref">\u21a9\ufe0e</a>')
_HEADING_OR_IMAGE = re.compile(r"<h[1-6]>|<img ")


def _notes_as_markdown_it_py(html: str) -> str | None:
    """The Rust renderer's HTML with its footnotes as markdown-it-py writes them, or None
    where markdown-it-py may read them differently (see _rust_may_differ's list)."""
    if "[^" in html or "^[" in html:
        return None  # left as text by the port, where markdown-it-py may see a footnote
    at = html.find(_RUST_NOTES_OPEN)
    if at == -1:
        return None if "footnote-ref" in html else html
    body, notes = html[:at], html[at + len(_RUST_NOTES_OPEN) :]
    if not notes.endswith(NOTES_CLOSE) or "footnote-ref" in notes:
        return None
    numbers: dict[str, int] = {}  # the port's number of each note: markdown-it-py's
    markers: dict[str, tuple[int, int]] = {}  # the port's id of each marker: (note, nth)
    counts: list[int] = []  # markers of each note so far

    def marker(found: re.Match[str]) -> str:
        number = numbers.setdefault(found[1], len(numbers) + 1)
        if number > len(counts):
            counts.append(0)
        nth = counts[number - 1]
        counts[number - 1] += 1
        markers[found[2]] = (number, nth)
        return note_marker(number, nth)

    body, found = _RUST_MARKER.subn(marker, body)
    if found != body.count("footnote-ref"):
        return None
    parts = _RUST_NOTE_OPEN.split(notes[: -len(NOTES_CLOSE)])
    if parts[0]:
        return None
    written: dict[int, str] = {}
    for rust_number, text in zip(parts[1::2], parts[2::2], strict=True):
        number = numbers.get(rust_number)
        backlinks = [markers.pop(link[1], None) for link in _RUST_BACKLINK.finditer(text)]
        if number is None or backlinks != [(number, nth) for nth in range(counts[number - 1])]:
            return None
        pieces = _RUST_BACKLINK.split(text)  # text, marker id, text...: the nth link, nth
        written[number] = (
            note_open(number)
            + pieces[0]
            + "".join(note_backlink(number, nth) + after for nth, after in enumerate(pieces[2::2]))
        )
    if markers or len(written) != len(numbers):
        return None
    order = sorted(written)
    if order != list(written) and _HEADING_OR_IMAGE.search(notes):
        return None  # the tree and the tags would meet its headings and images in another order
    return body + NOTES_OPEN + "".join(written[number] for number in order) + NOTES_CLOSE


def render_with_markdown_it_pyrs(
    source: str, resolve_image: ImageResolver | None = None
) -> RenderedMarkdown | None:
    """Render Markdown without raw HTML fast, or return None where only markdown-it-py is right."""
    source = _as_markdown_it_py_reads(source)
    if _rust_may_differ(source):
        return None
    notes = _has_notes(source)
    try:
        tree = (_RUST_NOTES_PARSER if notes else _RUST_PARSER).tree(source)
    except BaseException as error:  # a Rust panic is a BaseException
        if type(error).__name__ != "PanicException":
            raise
        return None
    html = _rust_html(source, notes)
    if html is None:
        return None

    reader = _TreeReader(source)
    fb_blocks: list[str] = []
    ig_blocks: list[str] = []
    try:
        reader.read_blocks(tree.children, fb_blocks, ig_blocks)
        html = reader.finish_html(html, resolve_image)
    except _NotLikeMarkdownItPy:
        return None

    text_instagram = _tidy("\n\n".join(ig_blocks))
    text_facebook = text_instagram if fb_blocks == ig_blocks else _tidy("\n\n".join(fb_blocks))
    first_paragraph, first_paragraph_facebook = reader.first_paragraph or ("", "")
    return RenderedMarkdown(
        html=html,
        text_facebook=text_facebook,
        text_instagram=text_instagram,
        first_paragraph=first_paragraph,
        first_paragraph_facebook=first_paragraph_facebook,
        word_count=reader.word_count,
        headings=tuple(reader.headings),
        image_sources=tuple(reader.image_sources),
    )


# The page alone (render_page_with_markdown_it_pyrs) needs no tree, for a source without
# what only the tree reads as markdown-it-py does: a block quote (lazy lines), a setext
# heading or a thematic break, a table, an image whose alt text is more than plain words
# (entities, escapes, emphasis, code, brackets), a percent-encoded address (its host), or a
# code span of spaces alone.
# Indented any amount, and after list markers: inside a list item (even a nested one) a quote
# or an underline is indented past the three spaces of the top level.
_QUOTE_LINE = re.compile(r"(?:^|\n)[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*>")
_UNDERLINE_LINE = re.compile(
    r"\n[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*"
    r"(?:(?:=[ \t]*)+|(?:-[ \t]*)+|(?:\*[ \t]*)+|(?:_[ \t]*)+)(?:\n|$)"
)
_PLAIN_IMAGE = re.compile(r"!\[[^\[\]\\&*_~`<>!\n]*\]\(")
_ADDRESS_WITH_PERCENT = re.compile(r'(?:href|src)="[^"]*%')
_PAGE_TAGS = re.compile(
    r'<(/?)(h[1-6]|p|ul|ol)\b[^>]*>|<img src="([^"]*)" alt="([^"]*)"(?: title="([^"]*)")?>'
)
_NOTE_MARKER = re.compile(r'<sup class="footnote-ref">.*?</sup>')


def _text_of(html: str) -> str:
    """The text of a piece of the Rust renderer's HTML: tags out, its four entities decoded.

    Raw HTML is off, so every tag is markdown-it's and escape_html made every entity."""
    text = ANY_TAG.sub("", html)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        text = text.replace("&amp;", "&")
    return text


def render_page_with_markdown_it_pyrs(
    source: str, resolve_image: ImageResolver | None = None
) -> RenderedMarkdown | None:
    """What the site's page needs, quicker still: the HTML, first paragraph, word count,
    headings and images, read from the Rust renderer's HTML without building the tree.

    The plain texts for Facebook and Instagram are left empty (for_social is False). Returns
    None for a source this cannot read as markdown-it-py would; render_with_markdown_it_pyrs
    reads those. tests/test_markdown.py checks each field against markdown-it-py's."""
    source = _as_markdown_it_py_reads(source)
    if (
        "|" in source
        or (">" in source and _QUOTE_LINE.search(source))
        or _UNDERLINE_LINE.search(source)
        or ("![" in source and source.count("![") != len(_PLAIN_IMAGE.findall(source)))
        or _rust_may_differ(source)
    ):
        return None
    html = _rust_html(source, _has_notes(source))
    if (
        html is None
        or "<code> " in html
        or "<code></code>" in html
        or ("%" in html and _ADDRESS_WITH_PERCENT.search(html))
    ):
        return None
    # read without the footnotes' markers, and the article without its notes
    text = _NOTE_MARKER.sub("", html) if "footnote-ref" in html else html
    article_end = text.find(NOTES_OPEN)
    if article_end == -1:
        article_end = len(text)
    tags = list(_PAGE_TAGS.finditer(text))
    headings: list[tuple[int, str, str]] = []
    heading_ids: set[str] = set()
    images: list[tuple[str, str, str]] = []  # (url, alt, title) as the tree would give them
    first_paragraph = ""
    list_depth = 0
    opened = 0  # where the text of the heading or paragraph being read starts
    for tag in tags:
        close, name, src, alt, title = tag.groups()
        if src is not None:
            images.append((_text_of(src), _text_of(alt), _text_of(title or "")))
        elif name[0] == "h":
            if not close:
                opened = tag.end()
                continue
            # the anchors plugin's title: text and code, no alt text (an attribute here)
            title_text = _text_of(text[opened : tag.start()])
            heading_id = _unique_heading_id(title_text, heading_ids)
            headings.append((int(name[1]), " ".join(title_text.split()), heading_id))
        elif name == "p":
            if not close:
                opened = tag.end()
            elif not first_paragraph and not list_depth and tag.start() < article_end:
                first_paragraph = " ".join(_text_of(text[opened : tag.start()]).split())
        else:
            list_depth += -1 if close else 1
    if len(images) != html.count("<img "):  # an image tag unlike the Rust renderer's
        return None
    sources = tuple(_written_link(url) for url, _, _ in images)
    finished = _finish_tags(
        html,
        list(_HTML_TO_FINISH.finditer(html)),
        (heading[2] for heading in headings),
        iter(images),
        sources,
        resolve_image,
    )
    return RenderedMarkdown(
        html=finished,
        text_facebook="",
        text_instagram="",
        first_paragraph=first_paragraph,
        first_paragraph_facebook="",
        # the words of the plain text: code, link and heading text, no alt text or markers
        word_count=len(ANY_TAG.sub("", text[:article_end]).split()),  # an entity is no space
        headings=tuple(headings),
        image_sources=sources,
        for_social=False,
    )


def _rust_may_differ(source: str) -> bool:
    """Tell whether source holds something markdown-it.rs may read unlike markdown-it-py."""
    if (
        any(space in source for space in _ASCII_SPACES)
        or _may_panic(source)
        or _TAB_IN_QUOTE.search(source)
        or ("~~~" in source and _TILDES_IN_A_WORD.search(source))
        or (not source.endswith("\n") and any(fence in source for fence in _FENCE_MARKERS))
        or ("]:" in source and _EMPTY_DEFINITION_TITLE.search(source))
    ):
        return True
    if "[^" in source:
        labels = _NOTE_LABEL.findall(source)
        if (
            len(set(labels)) != len(labels)
            or _NOTE_INDENTED.search(source)
            or _NOTE_NOT_FIRST.search(source)
        ):
            return True
    if "^[" in source:
        return True
    if not source.isascii():
        if any(space in source for space in _UNICODE_SPACES):
            return True
        for match in _DELIMITER_BESIDE_NON_ASCII.finditer(source):
            at = match.start()
            for neighbour in source[at - 1 : at] + source[at + 1 : at + 2]:
                if unicodedata.category(neighbour).startswith("S"):
                    return True
    for match in _DELIMITER_ROW.finditer(source):
        row = match.group()
        above = source[source.rfind("\n", 0, match.start()) + 1 : match.start()]
        if not above.strip():
            continue
        paragraph = source[source.rfind("\n\n", 0, match.start()) + 1 : match.start()]
        if any(opener in paragraph for opener in _OPENS_BLOCK):
            return True
        one_column = "|" not in row.strip(" \t\n>").strip("|")
        if one_column and ("|" in above) != ("|" in row):
            return True
        if "|" in row and _list_in_table(source, match.end()):
            return True
    return False


def _list_in_table(source: str, row_end: int) -> bool:
    """Tell whether a line of the table whose delimiter row ends at row_end could start a list."""
    start = row_end + 1
    while start < len(source):
        end = source.find("\n", start)
        if end == -1:
            end = len(source)
        line = source[start:end].lstrip(" \t>")
        if not line:
            return False
        if _LIST_ITEM_START.match(line):
            return True
        start = end + 1
    return False


def _may_panic(source: str) -> bool:
    """Tell whether a "[" shares a paragraph with a run of backticks left open: a port panic."""
    if "[" not in source or "`" not in source:
        return False
    for chunk in _BLANK_LINE.split(source):
        bracket = chunk.find("[")
        if bracket == -1 or chunk.find("`", bracket) == -1:
            continue
        if "\\`" in chunk or _AUTOLINK_WITH_BACKTICK.search(chunk):
            return True
        if not all(_backticks_pair_up(piece) for piece in _INLINE_PIECE_ENDS.split(chunk)):
            return True
    return False


def _backticks_pair_up(text: str) -> bool:
    """Tell whether each run of backticks in text is closed by the next run of its length."""
    lengths = [len(run) for run in _BACKTICKS.findall(text)]
    index = 0
    while index < len(lengths):
        try:
            index = lengths.index(lengths[index], index + 1) + 1
        except ValueError:
            return False
    return True


class _TreeReader:
    """Read a markdown-it-pyrs syntax tree as markdown.py reads markdown-it-py's tokens."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._source_bytes: bytes | None = None  # the offsets in the tree count UTF-8 bytes
        self.word_count = 0
        self.headings: list[tuple[int, str, str]] = []
        self.first_paragraph: tuple[str, str] | None = None  # (Instagram, Facebook)
        self.image_sources: list[str] = []
        self._images: list[Node] = []  # image nodes, in the order of their tags in the HTML
        self._heading_ids: set[str] = set()
        self._list_depth = 0
        self._quote_depth = 0
        # the inline run being read
        self._fb: list[str] = []
        self._ig: list[str] = []
        self._title: list[str] = []
        self._pending: str | None = None  # text not yet ended by a tag
        self._after_dropped = False  # after an image or a footnote's marker
        self._after_marker = False

    def read_blocks(self, nodes: Sequence[Node], fb: list[str], ig: list[str]) -> None:
        """Append the plain text of each block among nodes to fb (Facebook) and ig (Instagram)."""
        run: list[Node] = []  # inline nodes of a paragraph a tight list item does not show
        for node in nodes:
            name = node.name
            if name in _INLINE_NODES:
                run.append(node)
                continue
            if run:
                self._read_paragraph(run, fb, ig)
                run = []
            if name == "paragraph":
                text_fb, text_ig = self._read_paragraph(node.children, fb, ig)
                if self.first_paragraph is None and self._list_depth == 0 and text_ig:
                    self.first_paragraph = (" ".join(text_ig.split()), " ".join(text_fb.split()))
            elif name == "heading" or name == "lheading":
                self._read_heading(node, fb, ig)
            elif name == "bullet_list" or name == "ordered_list":
                self._read_list(node, fb, ig)
            elif name == "blockquote":
                self._quote_depth += 1
                self.read_blocks(node.children, fb, ig)
                self._quote_depth -= 1
            elif name == "code_block" or name == "fence":
                content = node.meta["content"]
                self.word_count += len(content.split())
                code = content.rstrip("\n")
                if code:
                    fb.append(code)
                    ig.append(code)
            elif name == "table":
                self._read_table(node, fb, ig)
            elif name == "footnote_container":
                self._read_notes(node)
            elif name not in _SILENT_NODES:
                raise _NotLikeMarkdownItPy(name)
        if run:
            self._read_paragraph(run, fb, ig)

    def _read_paragraph(
        self, nodes: Sequence[Node], fb: list[str], ig: list[str]
    ) -> tuple[str, str]:
        """Append a paragraph's text to fb and ig unless empty; return it (Facebook, Instagram)."""
        if self._quote_depth:
            _check_lazy_lines(nodes)
        text_fb, text_ig, _ = self._read_inline(nodes)
        if text_fb:
            fb.append(text_fb)
        if text_ig:
            ig.append(text_ig)
        return text_fb, text_ig

    def _read_notes(self, node: Node) -> None:
        """Read the footnotes after the article: their headings and images, not their words,
        which are no part of the plain text, the word count or the first paragraph."""
        article = self.word_count, self.first_paragraph
        self.first_paragraph = self.first_paragraph or ("", "")  # none is found in a note
        for note in node.children:
            if note.name != "footnote_def":
                raise _NotLikeMarkdownItPy(note.name)
            self.read_blocks(note.children, [], [])
        self.word_count, self.first_paragraph = article

    def _read_heading(self, node: Node, fb: list[str], ig: list[str]) -> None:
        """Append a heading's text to fb and ig, and note its level, text and unique id."""
        text_fb, text_ig, title = self._read_inline(node.children)
        if text_fb:
            fb.append(text_fb)
        if text_ig:
            ig.append(text_ig)
        heading_id = _unique_heading_id(title, self._heading_ids)
        self.headings.append((int(node.meta["level"]), " ".join(text_ig.split()), heading_id))

    def _read_list(self, node: Node, fb: list[str], ig: list[str]) -> None:
        """Append a list to fb and ig, one item a line, nested blocks indented."""
        # markdown-it-py notes no start for 1 and we read its 0 as no start too
        number = int(node.meta.get("start") or 1) if node.name == "ordered_list" else None
        items_fb: list[str] = []
        items_ig: list[str] = []
        self._list_depth += 1
        for item in node.children:
            if item.name != "list_item":
                raise _NotLikeMarkdownItPy(item.name)
            if number is None:
                marker = BULLET + " "
            else:
                marker = f"{number}. "
                number += 1
            blocks_fb: list[str] = []
            blocks_ig: list[str] = []
            self.read_blocks(item.children, blocks_fb, blocks_ig)
            item_ig = _item_text(marker, blocks_ig)
            items_ig.append(item_ig)
            items_fb.append(item_ig if blocks_fb == blocks_ig else _item_text(marker, blocks_fb))
        self._list_depth -= 1
        if items_fb:
            fb.append("\n".join(items_fb))
            ig.append("\n".join(items_ig))

    def _read_table(self, node: Node, fb: list[str], ig: list[str]) -> None:
        """Append a table to fb and ig, a line a row, cells joined by bars."""
        rows_fb: list[str] = []
        rows_ig: list[str] = []
        for section in node.children:  # thead, tbody
            for row in section.children:
                cells = [self._read_inline(cell.children) for cell in row.children]
                rows_fb.append(" | ".join(cell[0] for cell in cells))
                rows_ig.append(" | ".join(cell[1] for cell in cells))
        if rows_fb:
            fb.append("\n".join(rows_fb))
            ig.append("\n".join(rows_ig))

    def _read_inline(self, nodes: Sequence[Node]) -> tuple[str, str, str]:
        """Return inline nodes as plain text for (Facebook, Instagram) and as a heading's title."""
        self._fb = []
        self._ig = []
        self._title = []  # what the anchors plugin reads: text and code, no alt text
        self._pending = None
        self._after_dropped = False
        self._read_inline_into(nodes)
        self._flush_text()
        text_ig = "".join(self._ig).strip()
        self.word_count += len(text_ig.split())
        return "".join(self._fb).strip(), text_ig, "".join(self._title)

    def _read_inline_into(self, nodes: Sequence[Node]) -> None:
        """Add the text of inline nodes, as markdown-it-py's inline tokens would give it."""
        # markdown-it-py joins adjacent text tokens into one, and leaves an empty text token
        # on the outer side of each "**" or "__"; the text right after an image depends on
        # those pieces, so they are rebuilt here: text waits in _pending until a tag ends it
        for node in nodes:
            name = node.name
            if name == "text" or name == "text_special":
                content = node.meta["content"]
                self._title.append(content)
                self._pending = content if self._pending is None else self._pending + content
                continue
            if name == "strong":
                self._add_piece(self._pending or "")
                self._pending = None
                self._read_inline_into(node.children)
                self._flush_text()
                self._pending = ""
                continue
            if self._pending is not None:
                self._flush_text()
            if name == "softbreak":
                self._add_piece(" ")
            elif name == "em" or name == "strikethrough":
                self._read_inline_into(node.children)
                self._flush_text()
            elif name == "link" or name == "autolink":
                url = node.meta["url"]
                _check_host(url)
                start = len(self._fb)
                self._read_inline_into(node.children)
                self._flush_text()
                shown = _link_for_facebook("".join(self._fb[start:]), url)
                if shown is not None:
                    self._fb[start:] = [shown]
            elif name == "hardbreak":
                self._add_piece("\n")
            elif name == "code_inline":
                code = "".join(child.meta["content"] for child in node.children)
                if not code.strip(" "):
                    raise _NotLikeMarkdownItPy("code of spaces alone")
                self._title.append(code)
                self._add_piece(code)
            elif name == "image":
                url = node.meta["url"]
                _check_host(url)
                self._check_alt_edges(node)
                self.image_sources.append(_written_link(url))
                self._images.append(node)
                self._after_dropped, self._after_marker = True, False
            elif name == "footnote_ref" or name == "footnote_inline":
                # the marker; an inline note's text is with the notes
                self._after_dropped = self._after_marker = True
            elif name == "footnote_ref_anchor":
                pass  # a note's links back to its markers
            else:
                raise _NotLikeMarkdownItPy(name)

    def _check_alt_edges(self, image: Node) -> None:
        """Refuse an image whose alt text starts or ends with an emphasis marker out of a word."""
        if not image.children or image.srcmap is None:
            return
        last = image.children[-1].srcmap
        if last is None:
            raise _NotLikeMarkdownItPy("an image without source offsets")
        if self._source_bytes is None:
            self._source_bytes = self._source.encode()
        alt = self._source_bytes[image.srcmap[0] + 2 : last[1]].decode()  # from "![" to "]"
        after_start = alt.lstrip(_DELIMITERS)
        before_end = alt.rstrip(_DELIMITERS)
        if (after_start != alt and not after_start[:1].isalnum()) or (
            before_end != alt and not before_end[-1:].isalnum()
        ):
            raise _NotLikeMarkdownItPy("an emphasis marker at an edge of alt text")

    def _flush_text(self) -> None:
        """Add the text waiting in _pending as one piece."""
        if self._pending is not None:
            piece = self._pending
            self._pending = None
            self._add_piece(piece)

    def _add_piece(self, piece: str) -> None:
        """Add a piece of inline text for Facebook and Instagram."""
        if self._after_dropped:
            self._after_dropped = False
            kept = after_dropped_piece(piece, self._fb, self._ig, self._after_marker)
            if kept is None:
                return
            piece = kept
        self._fb.append(piece)
        self._ig.append(piece)

    def finish_html(self, html: str, resolve_image: ImageResolver | None) -> str:
        """Return the Rust renderer's HTML with heading ids, our image tags and wrapped tables."""
        tags = list(_HTML_TO_FINISH.finditer(html))
        headings = sum(tag.group().startswith("<h") for tag in tags)
        images = sum(tag.group().startswith("<img") for tag in tags)
        if headings != len(self.headings) or images != len(self._images):
            # cannot happen while every tag comes from Markdown; checked before any image
            # is resolved, so markdown-it-py can start over cleanly
            raise _NotLikeMarkdownItPy("tags and tree disagree")
        images = (
            (node.meta["url"], _alt_text(node.children, joined=True), node.meta.get("title") or "")
            for node in self._images
        )
        ids = (heading[2] for heading in self.headings)
        return _finish_tags(html, tags, ids, images, self.image_sources, resolve_image)


def _finish_tags(
    html: str,
    tags: list[re.Match[str]],
    heading_ids: Iterator[str],
    images: Iterator[tuple[str, str, str]],
    written: Sequence[str],
    resolve_image: ImageResolver | None,
) -> str:
    """The Rust renderer's HTML with our finish at each of `tags` (_HTML_TO_FINISH): heading
    ids, our image tags from (url, alt, title) resolved by their `written` source, wrapped
    tables, no empty link titles. Images are resolved in the order of their tags."""
    out: list[str] = []
    done = 0
    image_parts = zip(images, written, strict=True)
    for tag in tags:
        out.append(html[done : tag.start()])
        done = tag.end()
        text = tag.group()
        if text.startswith("<h"):
            out.append(f'{text[:-1]} id="{escape_html(next(heading_ids))}">')
        elif text.startswith("<img"):
            (url, alt, title), source = next(image_parts)
            ref = resolve_image(source) if resolve_image is not None else None
            out.append(_image_html(url, alt, title, ref))
        elif text == "<table>\n":
            out.append(_TABLE_WRAP_OPEN + text)
        elif text == "</table>\n":
            out.append(text + _TABLE_WRAP_CLOSE)
        elif text.startswith("<a"):
            out.append(text.replace(_EMPTY_TITLE, ""))
        else:
            out.append(_EMPTY_BLOCKQUOTE)
    out.append(html[done:])
    return "".join(out)


def _unique_heading_id(title: str, taken: set[str]) -> str:
    """The id of a heading, unique within the page as mdit_py_plugins.anchors makes them:
    "tips", "tips-1"..."""
    heading_id = slug = heading_slug(title)
    suffix = 1
    while heading_id in taken:
        heading_id = f"{slug}-{suffix}"
        suffix += 1
    taken.add(heading_id)
    return heading_id


def _alt_text(nodes: Sequence[Node], *, joined: bool) -> str:
    """Return an image's alt text as markdown-it-py's renderInlineAsText gives it."""
    # markdown-it-py turns escapes and entities into text one image deep, not in an
    # image inside the alt text of another (its text_join rule)
    out: list[str] = []
    for node in nodes:
        name = node.name
        if name == "text" or (name == "text_special" and joined):
            out.append(node.meta["content"])
        elif name == "softbreak" or name == "hardbreak":
            out.append("\n")
        elif name == "image":
            out.append(_alt_text(node.children, joined=False))
        else:
            out.append(_alt_text(node.children, joined=joined))
    return "".join(out)


def _check_lazy_lines(nodes: Sequence[Node]) -> None:
    """Refuse a quoted paragraph with a line that markdown-it-py would read as a list item."""
    after_break = False
    for node in nodes:
        name = node.name
        if after_break and name == "text" and _LIST_ITEM_START.match(node.meta["content"]):
            raise _NotLikeMarkdownItPy("a list item after a quoted paragraph")
        after_break = name == "softbreak" or name == "hardbreak"
        children = node.children
        if children:
            _check_lazy_lines(children)


def _check_host(url: str) -> None:
    """Refuse an address whose host markdown-it-py would write as punycode or IPv6."""
    if "%" in url:  # the port percent-encodes such a host
        host = mdurl.parse(mdurl.decode(url), slashes_denote_host=True).hostname
        if host and (not host.isascii() or ":" in host):
            raise _NotLikeMarkdownItPy(url)
