"""Markdown of a post, parsed once, rendered as HTML for the site and as plain text for social.

The HTML (with heading ids, resolved images and scrollable tables) and a walk that writes plain
text both read one parse of the source, so the web page, the Facebook post and the Instagram
caption always say the same thing.

With ``allow_html=False`` (the default) markdown-it does not recognise raw HTML at all: it is
ordinary text, escaped in the HTML and kept as written in the plain text, just as a reader sees
it on the page. With ``allow_html=True`` raw HTML goes to the page untouched and is left out of
the plain text, where tags mean nothing.

There are two engines behind ``render_markdown``, with the same output:

- markdown-it-py, the reference: its token stream feeds a renderer with our rules for headings,
  images and tables, and the plain-text walk. It alone serves ``allow_html=True``.
- markdown-it-pyrs (markdown-it ported to Rust, by the same author), about fifteen times faster,
  for ``allow_html=False``. One syntax tree gives the plain texts, headings and images; the
  Rust renderer writes the HTML, which we then finish: an id into each heading tag, our image
  tag in place of each ``<img>``, a scrolling div around each table. Editing generated HTML is
  safe only because raw HTML is off: every tag in it then comes from Markdown syntax, and a tag
  written in the text comes out escaped.

The Rust port differs from markdown-it-py in a few corners (a panic on some unclosed code
spans in link text, Unicode spaces at line ends, punycode host names, an unclosed fence at the
very end). A source that could meet one of them goes to markdown-it-py, so the output never
depends on the engine; tests/test_markdown.py compares the two on generated Markdown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mdurl
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it_pyrs import MarkdownIt as RustMarkdownIt
from markdown_it_pyrs import Node
from mdit_py_plugins.anchors import anchors_plugin

BULLET = "•"
# Links in plain text keep their address only when a reader elsewhere can follow it;
# a relative link such as "/prices/" means nothing inside a Facebook post.
_FOLLOWABLE_PREFIXES = ("http://", "https://")
_SHOWN_WITHOUT_SCHEME = ("mailto:", "tel:")
_RESOLVER_KEY = "publisher_resolve_image"
_IMAGE_LOADING = ' loading="lazy" decoding="async">'
_TABLE_WRAP_OPEN = '<div class="table-wrap">\n'
_TABLE_WRAP_CLOSE = "</div>\n"


@dataclass(frozen=True)
class ImageRef:
    """What the site knows about an image referenced by a post."""

    url: str  # URL to put in src
    width: int
    height: int


@dataclass(frozen=True)
class RenderedMarkdown:
    """One Markdown source rendered for every channel."""

    html: str
    text_facebook: str  # plain text, links as "text (url)"
    text_instagram: str  # plain text, links as their text only (not clickable on Instagram)
    first_paragraph: str  # plain text of the first paragraph, links as text only
    first_paragraph_facebook: str  # the same with links as "text (url)"
    word_count: int  # words of the plain text, for "N min read"
    headings: tuple[tuple[int, str, str], ...]  # (level, text, id)
    image_sources: tuple[str, ...]  # image src values as written in the Markdown, in order


ImageResolver = Callable[[str], ImageRef | None]


def render_markdown(
    source: str,
    *,
    allow_html: bool = False,
    resolve_image: ImageResolver | None = None,
) -> RenderedMarkdown:
    """Render a post's Markdown as HTML for the site and plain text for Facebook and Instagram."""
    if not allow_html:
        rendered = _render_with_markdown_it_pyrs(source, resolve_image)
        if rendered is not None:
            return rendered
    return _render_with_markdown_it_py(source, allow_html=allow_html, resolve_image=resolve_image)


def reading_minutes(word_count: int, words_per_minute: int = 230) -> int:
    """Return the minutes a text of word_count words takes to read, rounded, at least 1."""
    if words_per_minute <= 0:
        raise ValueError(f"words_per_minute must be positive, not {words_per_minute}")
    return max(1, (word_count + words_per_minute // 2) // words_per_minute)


def heading_slug(title: str) -> str:
    """Return the id for a heading: lower-case words joined by '-', accents off Latin letters."""
    out: list[str] = []
    gap = False
    for ch in unicodedata.normalize("NFKD", title.lower()):
        if unicodedata.combining(ch):
            # "é" -> "e", but a mark on a non-Latin letter (Japanese dakuten, Cyrillic "й")
            # is part of the letter and stays; NFC below puts it back together.
            if out and not out[-1].isascii():
                out.append(ch)
        elif ch.isalnum():
            if gap and out:
                out.append("-")
            gap = False
            out.append(ch)
        elif ch.isspace() or ch in "-_":
            gap = True
        # anything else (punctuation, emoji, symbols) is left out without a gap:
        # "What's new?" -> "whats-new"
    return unicodedata.normalize("NFC", "".join(out)) or "section"


# --- plain-text rules both engines share -------------------------------------------------


def _written_link(url: str) -> str:
    """Return a link as the author wrote it, undoing markdown-it's percent-encoding."""
    return _PARSERS[False].normalizeLinkText(url)


def _link_target(href: str) -> str | None:
    """Return the address to show after a link's text in plain text, or None for none."""
    lowered = href.lower()
    if lowered.startswith(_FOLLOWABLE_PREFIXES):
        return href
    for scheme in _SHOWN_WITHOUT_SCHEME:
        if lowered.startswith(scheme):
            return _written_link(href[len(scheme) :])
    return None


def _same_address(text: str, url: str) -> bool:
    """Tell whether a link's text just repeats its address ("example.org/" vs the URL)."""
    if text == url:
        return True

    def bare(address: str) -> str:
        for prefix in _FOLLOWABLE_PREFIXES:
            if address.lower().startswith(prefix):
                address = address[len(prefix) :]
                break
        return address.rstrip("/")

    if bare(text) == bare(url):
        return True
    # only an address with escapes or punycode reads differently once decoded
    return ("%" in url or "xn--" in url.lower()) and bare(text) == bare(_written_link(url))


def _linked_text(fb: list[str], start: int, href: str) -> None:
    """Replace a link's text, fb[start:], with how a Facebook reader sees the link."""
    target = _link_target(href)
    if target is not None:
        text = "".join(fb[start:]).strip()
        if not text or _same_address(text, target):
            fb[start:] = [target]
        else:
            fb[start:] = [f"{text} ({target})"]


def _item_text(marker: str, blocks: list[str]) -> str:
    """Return a list item: marker on its first line, later lines indented two spaces."""
    lines = [line for block in blocks for line in block.split("\n")]
    if not lines:
        return marker.rstrip()
    return "\n".join([marker + lines[0]] + ["  " + line if line else "" for line in lines[1:]])


def _tidy(text: str) -> str:
    """Strip trailing spaces and the text's ends; never leave two blank lines in a row."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _image_html(src: str, alt: str, title: str, ref: ImageRef | None) -> str:
    """Return an image tag, sized and lazy when the site resolved its source to ref."""
    parts = [f'<img src="{escapeHtml(ref.url if ref else src)}" alt="{escapeHtml(alt)}"']
    if title:
        parts.append(f' title="{escapeHtml(title)}"')
    if ref is not None:
        parts.append(f' width="{int(ref.width)}" height="{int(ref.height)}"')
    parts.append(_IMAGE_LOADING)
    return "".join(parts)


# --- markdown-it-py: the reference engine, and the one for raw HTML ----------------------


def _image_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Render an image, sized and lazy when the site can resolve its source."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children, options, env) if token.children else ""
    src = str(token.attrGet("src") or "")
    resolve: ImageResolver | None = env.get(_RESOLVER_KEY)
    ref = resolve(_written_link(src)) if resolve is not None else None
    return _image_html(src, alt, str(token.attrGet("title") or ""), ref)


def _table_open_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Open a table inside a div that scrolls sideways on small screens."""
    return _TABLE_WRAP_OPEN + self.renderToken(tokens, idx, options, env)


def _table_close_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Close a table and its scrolling div."""
    return self.renderToken(tokens, idx, options, env) + _TABLE_WRAP_CLOSE


def _build_parser(allow_html: bool) -> MarkdownIt:
    """Return a CommonMark parser with tables, strikethrough and heading ids."""
    md = MarkdownIt("commonmark", {"html": allow_html, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=heading_slug)
    md.add_render_rule("image", _image_rule)
    md.add_render_rule("table_open", _table_open_rule)
    md.add_render_rule("table_close", _table_close_rule)
    return md


# Built once: building a parser costs more than rendering a post.
_PARSERS = {False: _build_parser(False), True: _build_parser(True)}


def _inline_text(children: Sequence[Token], images: list[str]) -> tuple[str, str]:
    """Return an inline run as plain text for (Facebook, Instagram); collect image sources."""
    fb: list[str] = []
    ig: list[str] = []
    links: list[tuple[int, Token]] = []
    after_image = False
    for tok in children:
        kind = tok.type
        if kind in ("text", "code_inline", "text_special"):
            piece = tok.content
        elif kind == "softbreak":
            piece = " "
        elif kind == "hardbreak":
            piece = "\n"
        elif kind == "link_open":
            links.append((len(fb), tok))
            continue
        elif kind == "link_close" and links:
            fb_start, link_open = links.pop()
            _linked_text(fb, fb_start, str(link_open.attrGet("href") or ""))
            continue
        elif kind == "image":
            images.append(_written_link(str(tok.attrGet("src") or "")))
            after_image = True
            continue
        else:
            # emphasis, strong and strikethrough markers, raw HTML: nothing to read
            continue
        if after_image:
            # the image is gone; do not leave the spaces on both sides of it behind
            after_image = False
            if not ig or ig[-1][-1:].isspace():
                piece = piece.lstrip(" ")
                if not piece:
                    continue
        fb.append(piece)
        ig.append(piece)
    return "".join(fb).strip(), "".join(ig).strip()


def _plain_text(tokens: Sequence[Token], texts: dict[int, str]) -> str:
    """Return the document as plain text, given the plain text of each inline token."""
    # Each open container (the document, a list, a list item) collects finished blocks.
    frames: list[list[str]] = [[]]
    markers: list[str] = []  # marker of each open list item
    counters: list[int | None] = []  # next number of each open list; None for bullets
    rows: list[str] | None = None  # rows of the open table
    cells: list[str] | None = None  # cells of the open table row
    for idx, token in enumerate(tokens):
        kind = token.type
        if kind == "inline":
            text = texts[idx]
            if cells is not None:
                cells.append(text)
            elif text:
                frames[-1].append(text)
        elif kind in ("code_block", "fence"):
            code = token.content.rstrip("\n")
            if code:
                frames[-1].append(code)
        elif kind == "bullet_list_open" or kind == "ordered_list_open":
            start = token.attrGet("start") if kind == "ordered_list_open" else None
            counters.append(None if kind == "bullet_list_open" else int(start or 1))
            frames.append([])
        elif kind == "bullet_list_close" or kind == "ordered_list_close":
            counters.pop()
            items = frames.pop()
            if items:
                frames[-1].append("\n".join(items))
        elif kind == "list_item_open":
            number = counters[-1]
            if number is None:
                markers.append(BULLET + " ")
            else:
                markers.append(f"{number}. ")
                counters[-1] = number + 1
            frames.append([])
        elif kind == "list_item_close":
            blocks = frames.pop()
            frames[-1].append(_item_text(markers.pop(), blocks))
        elif kind == "table_open":
            rows = []
        elif kind == "tr_open":
            cells = []
        elif kind == "tr_close" and rows is not None and cells is not None:
            rows.append(" | ".join(cells))
            cells = None
        elif kind == "table_close" and rows is not None:
            if rows:
                frames[-1].append("\n".join(rows))
            rows = None
        # Headings and paragraphs are their inline text; blockquotes read as their
        # paragraphs; raw HTML blocks and horizontal rules have nothing to say.
    return _tidy("\n\n".join(frames[0]))


def _render_with_markdown_it_py(
    source: str, *, allow_html: bool = False, resolve_image: ImageResolver | None = None
) -> RenderedMarkdown:
    """Render with markdown-it-py: the reference output, and the only engine for raw HTML."""
    md = _PARSERS[bool(allow_html)]
    env: dict[str, Any] = {}
    tokens = md.parse(source, env)

    images: list[str] = []
    fb_texts: dict[int, str] = {}
    ig_texts: dict[int, str] = {}
    headings: list[tuple[int, str, str]] = []
    first_paragraph: str | None = None
    first_paragraph_facebook = ""
    word_count = 0  # counted from the texts, so bullets, numbers and " | " are not words
    list_depth = 0
    for idx, token in enumerate(tokens):
        kind = token.type
        if kind == "inline":
            fb_texts[idx], ig_texts[idx] = _inline_text(token.children or (), images)
            word_count += len(ig_texts[idx].split())
            before = tokens[idx - 1]
            if before.type == "heading_open":
                text = " ".join(ig_texts[idx].split())
                headings.append((int(before.tag[1:]), text, str(before.attrGet("id") or "")))
            elif (
                first_paragraph is None
                and list_depth == 0
                and before.type == "paragraph_open"
                and ig_texts[idx]
            ):
                first_paragraph = " ".join(ig_texts[idx].split())
                first_paragraph_facebook = " ".join(fb_texts[idx].split())
        elif kind == "bullet_list_open" or kind == "ordered_list_open":
            list_depth += 1
        elif kind == "bullet_list_close" or kind == "ordered_list_close":
            list_depth -= 1
        elif kind == "code_block" or kind == "fence":
            word_count += len(token.content.split())

    text_instagram = _plain_text(tokens, ig_texts)
    text_facebook = text_instagram if fb_texts == ig_texts else _plain_text(tokens, fb_texts)

    env[_RESOLVER_KEY] = resolve_image
    html = md.renderer.render(tokens, md.options, env)

    return RenderedMarkdown(
        html=html,
        text_facebook=text_facebook,
        text_instagram=text_instagram,
        first_paragraph=first_paragraph or "",
        first_paragraph_facebook=first_paragraph_facebook,
        word_count=word_count,
        headings=tuple(headings),
        image_sources=tuple(images),
    )


# --- markdown-it-pyrs: the fast engine for Markdown without raw HTML ---------------------

# CommonMark's rules less html_block and html_inline, plus table and strikethrough: the
# markdown-it-py parser above with html off.
_RUST_RULES = [
    *("blockquote", "code", "fence", "heading", "hr", "lheading", "list", "paragraph"),
    *("reference", "autolink", "backticks", "emphasis", "entity", "escape", "image", "link"),
    *("newline", "strikethrough", "table"),
]
_RUST_PARSER = RustMarkdownIt("zero").enable_many(_RUST_RULES)

# Whitespace other than space, tab and line ends (no-break space, form feed, ideographic
# space...): markdown-it-py strips it from the ends of paragraphs, headings and cells, as
# JavaScript's trim() does; markdown-it.rs keeps it.
_UNICODE_SPACE = re.compile(r"[^\S \t\n\r]")
# An unclosed fence at the very end of a source without a final line end: markdown-it.rs
# ends the code with a line end, markdown-it-py does not.
_FENCE_MARKERS = ("```", "~~~")

# Tags of the Rust renderer's HTML that the page writes differently. Raw HTML is off, so
# each of these is a tag markdown-it made: a "<" in text is escaped.
_HTML_TO_FINISH = re.compile(
    r"<h[1-6]>|<img [^>]*>|<table>\n|</table>\n|<blockquote>\n</blockquote>"
)
_EMPTY_BLOCKQUOTE = "<blockquote></blockquote>"

# A line in a block quote that could start a list markdown-it-py does not let interrupt a
# paragraph ("2. b", an empty "-"): markdown-it-py ends the quote there, markdown-it.rs reads
# the line as a lazy continuation of the quoted paragraph.
_LIST_ITEM_START = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)")

_INLINE_NODES = frozenset(
    ("text", "text_special", "softbreak", "hardbreak", "code_inline", "em", "strong")
    + ("strikethrough", "link", "autolink", "image")
)
_MARKUP_NODES = frozenset(("em", "strong", "strikethrough"))
_SILENT_NODES = frozenset(("hr", "definition"))  # blocks with nothing to read


class _NotLikeMarkdownItPy(Exception):
    """The tree holds something markdown-it.rs may read differently from markdown-it-py."""


def _render_with_markdown_it_pyrs(
    source: str, resolve_image: ImageResolver | None = None
) -> RenderedMarkdown | None:
    """Render Markdown without raw HTML fast, or return None where only markdown-it-py is right."""
    if (
        _UNICODE_SPACE.search(source)
        or ("`" in source and "[" in source)  # markdown-it.rs 0.6.0 panics on "[`"
        or (not source.endswith("\n") and any(fence in source for fence in _FENCE_MARKERS))
    ):
        return None
    # markdown-it-py replaces NUL as it reads; markdown-it.rs only as it writes HTML
    source = source.replace("\0", "\ufffd")
    try:
        tree = _RUST_PARSER.tree(source)
        html = _RUST_PARSER.render(source, xhtml=False)
    except BaseException as error:  # a Rust panic is a BaseException
        if type(error).__name__ != "PanicException":
            raise
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


class _TreeReader:
    """Read a markdown-it-pyrs syntax tree as _render_with_markdown_it_py reads its tokens."""

    def __init__(self, source: str) -> None:
        self._source = source
        self.word_count = 0
        self.headings: list[tuple[int, str, str]] = []
        self.first_paragraph: tuple[str, str] | None = None  # (Instagram, Facebook)
        self.image_sources: list[str] = []
        self._images: list[Node] = []  # image nodes, in the order of their tags in the HTML
        self._heading_ids: set[str] = set()
        self._list_depth = 0
        self._quote_depth = 0
        self._after_image = False

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
            elif name not in _SILENT_NODES:
                raise _NotLikeMarkdownItPy(name)
        if run:
            self._read_paragraph(run, fb, ig)

    def _read_paragraph(
        self, nodes: Sequence[Node], fb: list[str], ig: list[str]
    ) -> tuple[str, str]:
        """Append a paragraph's text to fb and ig unless empty; return it (Facebook, Instagram)."""
        text_fb, text_ig, _ = self._read_inline(nodes)
        if text_fb:
            fb.append(text_fb)
        if text_ig:
            ig.append(text_ig)
        return text_fb, text_ig

    def _read_heading(self, node: Node, fb: list[str], ig: list[str]) -> None:
        """Append a heading's text to fb and ig, and note its level, text and unique id."""
        text_fb, text_ig, title = self._read_inline(node.children)
        if text_fb:
            fb.append(text_fb)
        if text_ig:
            ig.append(text_ig)
        # unique within the page as mdit_py_plugins.anchors makes them: "tips", "tips-1"...
        slug = heading_id = heading_slug(title)
        suffix = 1
        while heading_id in self._heading_ids:
            heading_id = f"{slug}-{suffix}"
            suffix += 1
        self._heading_ids.add(heading_id)
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
            items_fb.append(_item_text(marker, blocks_fb))
            items_ig.append(_item_text(marker, blocks_ig))
        self._list_depth -= 1
        if items_fb:
            fb.append("\n".join(items_fb))
            ig.append("\n".join(items_ig))

    def _read_table(self, node: Node, fb: list[str], ig: list[str]) -> None:
        """Append a table to fb and ig, a line a row, cells joined by bars."""
        header = node.children[0].children[0]  # thead, tr
        if len(header.children) == 1 and header.srcmap is not None:
            # markdown-it-py wants a "|" in the header line; the Rust port only below it
            start, end = header.srcmap
            if b"|" not in self._source.encode()[start:end]:
                raise _NotLikeMarkdownItPy("a table header without a bar")
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
        fb: list[str] = []
        ig: list[str] = []
        title: list[str] = []  # what the anchors plugin reads: text and code, not image alt
        self._after_image = False
        self._read_inline_into(nodes, fb, ig, title)
        text_ig = "".join(ig).strip()
        self.word_count += len(text_ig.split())
        return "".join(fb).strip(), text_ig, "".join(title)

    def _read_inline_into(
        self, nodes: Sequence[Node], fb: list[str], ig: list[str], title: list[str]
    ) -> None:
        """Append the text of inline nodes to fb, ig and title; note the images."""
        for index, node in enumerate(nodes):
            name = node.name
            if name == "text" or name == "text_special":
                piece = node.meta["content"]
                title.append(piece)
            elif name == "softbreak" or name == "hardbreak":
                piece = " " if name == "softbreak" else "\n"
                if self._quote_depth and index + 1 < len(nodes):
                    line = nodes[index + 1]
                    if line.name == "text" and _LIST_ITEM_START.match(line.meta["content"]):
                        raise _NotLikeMarkdownItPy("a list item after a quoted paragraph")
            elif name == "code_inline":
                piece = "".join(child.meta["content"] for child in node.children)
                title.append(piece)
            elif name in _MARKUP_NODES:
                self._read_inline_into(node.children, fb, ig, title)
                continue
            elif name == "link" or name == "autolink":
                url = node.meta["url"]
                _check_host(url)
                start = len(fb)
                self._read_inline_into(node.children, fb, ig, title)
                _linked_text(fb, start, url)
                continue
            elif name == "image":
                url = node.meta["url"]
                _check_host(url)
                self.image_sources.append(_written_link(url))
                self._images.append(node)
                self._after_image = True
                continue
            else:
                raise _NotLikeMarkdownItPy(name)
            if self._after_image:
                # the image is gone; do not leave the spaces on both sides of it behind
                self._after_image = False
                if not ig or ig[-1][-1:].isspace():
                    piece = piece.lstrip(" ")
                    if not piece:
                        continue
            fb.append(piece)
            ig.append(piece)

    def finish_html(self, html: str, resolve_image: ImageResolver | None) -> str:
        """Return the Rust renderer's HTML with heading ids, our image tags and wrapped tables."""
        tags = list(_HTML_TO_FINISH.finditer(html))
        headings = sum(tag.group().startswith("<h") for tag in tags)
        images = sum(tag.group().startswith("<img") for tag in tags)
        if headings != len(self.headings) or images != len(self._images):
            # cannot happen while every tag comes from Markdown; checked before any image
            # is resolved, so markdown-it-py can start over cleanly
            raise _NotLikeMarkdownItPy("tags and tree disagree")
        heading_ids = iter(self.headings)
        image_nodes = iter(zip(self._images, self.image_sources, strict=True))
        out: list[str] = []
        done = 0
        for tag in tags:
            out.append(html[done : tag.start()])
            done = tag.end()
            text = tag.group()
            if text.startswith("<h"):
                out.append(f'{text[:-1]} id="{escapeHtml(next(heading_ids)[2])}">')
            elif text.startswith("<img"):
                node, written = next(image_nodes)
                ref = resolve_image(written) if resolve_image is not None else None
                alt = _alt_text(node.children, joined=True)
                out.append(_image_html(node.meta["url"], alt, node.meta.get("title") or "", ref))
            elif text == "<table>\n":
                out.append(_TABLE_WRAP_OPEN + text)
            elif text == "</table>\n":
                out.append(text + _TABLE_WRAP_CLOSE)
            else:
                out.append(_EMPTY_BLOCKQUOTE)
        out.append(html[done:])
        return "".join(out)


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


def _check_host(url: str) -> None:
    """Refuse an address whose host markdown-it-py would write as punycode or IPv6."""
    # the Rust port percent-encodes such a host; any other address has no "%"
    if "%" in url:
        host = mdurl.parse(mdurl.decode(url), slashes_denote_host=True).hostname
        if host and (not host.isascii() or ":" in host):
            raise _NotLikeMarkdownItPy(url)
