"""Markdown of a post, parsed once, rendered as HTML for the site and as plain text for social.

The HTML (with heading ids, resolved images and scrollable tables) and a walk that writes plain
text both read one parse of the source, so the web page, the Facebook post and the Instagram
caption always say the same thing.

Footnotes ("[^1]" and "[^1]: the note") are on the page, numbered by their first marker and
listed after the article; the plain text, first paragraph and word count are the article's
alone, without markers or notes (publisher/render/footnotes.py finds what `check` says of them).

With ``allow_html=False`` (the default) markdown-it does not recognise raw HTML at all: it is
ordinary text, escaped in the HTML and kept as written in the plain text, just as a reader sees
it on the page. With ``allow_html=True`` raw HTML goes to the page untouched and is left out of
the plain text, where tags mean nothing.

Two engines give the same output:

- markdown-it-py, here: its token stream feeds a renderer with our rules for headings, images
  and tables, and the plain-text walk. It is the reference, and the only engine for raw HTML.
- markdown-it-pyrs, in publisher/render/markdown_tree.py: the same parser ported to Rust, for
  ``allow_html=False``; a post renders about three times faster. It hands back a source it
  might read unlike markdown-it-py (rare corners of the syntax), and this module renders that
  one instead.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import unescape
from typing import TYPE_CHECKING, Any

import mdurl

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# markdown-it-py itself is imported only where it renders (a post with raw HTML, or one the
# quick engines hand back): loading it took a sixth of every command's start.

BULLET = "•"
# Links in plain text keep their address only when a reader elsewhere can follow it;
# a relative link such as "/prices/" means nothing inside a Facebook post.
_FOLLOWABLE_PREFIXES = ("http://", "https://")
_SHOWN_WITHOUT_SCHEME = ("mailto:", "tel:")
_RESOLVER_KEY = "publisher_resolve_image"
_IN_NOTE = "publisher_in_note"
_NOTES_IN_NOTES = "publisher_notes_in_notes"  # lines of notes written inside other notes
_IMAGE_LOADING = ' loading="lazy" decoding="async">'
_TABLE_WRAP_OPEN = '<div class="table-wrap">\n'
_TABLE_WRAP_CLOSE = "</div>\n"
# Footnotes: a marker [1] in the text links to note 1 at the end of the article, and each
# note links back to each of its markers. The ids have an underscore, which no heading's id
# (made from its words) has, and are not the skip link's main_content.
NOTES_OPEN = (
    '<hr class="footnotes-sep">\n<section class="footnotes" aria-label="Notes">\n'
    '<ol class="footnotes-list">\n'
)
NOTES_CLOSE = "</ol>\n</section>\n"


def note_marker(number: int, nth: int) -> str:
    """The marker of note `number` in the text, its `nth` (from 0) in the article."""
    return (
        f'<sup class="footnote-ref"><a href="#fn_{number}" id="{_marker_id(number, nth)}">'
        f"[{number}]</a></sup>"
    )


def note_open(number: int) -> str:
    """The start of note `number` in the list of notes."""
    return f'<li id="fn_{number}" class="footnote-item">'


def note_backlink(number: int, nth: int) -> str:
    """The link from note `number` back to its `nth` marker (from 0) in the text."""
    return (
        f' <a href="#{_marker_id(number, nth)}" class="footnote-backref"'
        ' aria-label="Back to the text">\u21a9\ufe0e</a>'
    )


def _marker_id(number: int, nth: int) -> str:
    return f"fnref_{number}_{nth + 1}" if nth else f"fnref_{number}"


@dataclass(frozen=True)
class ImageRef:
    """What the site knows about an image referenced by a post."""

    url: str  # URL to put in src
    width: int
    height: int
    # a narrower copy for the lists' cards and srcset (url, width, height), for a wide photo
    small: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class RenderedMarkdown:
    """One Markdown source rendered for every channel."""

    html: str
    text_facebook: str  # plain text, links as "text (url)"
    text_instagram: str  # plain text, links as their text only (not clickable on Instagram)
    first_paragraph: str  # plain text of the article's first paragraph, links as text only
    first_paragraph_facebook: str  # the same with links as "text (url)"
    word_count: int  # words of the plain text (no markers, no notes), for "N min read"
    headings: tuple[tuple[int, str, str], ...]  # (level, text, id)
    image_sources: tuple[str, ...]  # image src values as written in the Markdown, in order
    # False when rendered for the site's page alone: the plain texts are then left empty
    for_social: bool = True


ImageResolver = Callable[[str], ImageRef | None]


# For a heading in ASCII, heading_slug in two steps: what is neither a letter, a digit nor a
# gap goes, then the gaps (str.isspace()'s ASCII spaces, "-" and "_") join the words with "-".
_ASCII_NOT_IN_SLUG = re.compile(r"[^a-z0-9 \t\n\r\x0b\x0c\x1c-\x1f_-]+")
_ASCII_GAPS = re.compile(r"[ \t\n\r\x0b\x0c\x1c-\x1f_-]+")


def heading_slug(title: str) -> str:
    """Return the id for a heading: lower-case words joined by '-', accents off Latin letters."""
    if title.isascii():
        words = _ASCII_GAPS.split(_ASCII_NOT_IN_SLUG.sub("", title.lower()))
        return "-".join([word for word in words if word]) or "section"
    return _heading_slug_unicode(title)


def _heading_slug_unicode(title: str) -> str:
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


def _image_html(src: str, alt: str, title: str, ref: ImageRef | None) -> str:
    """Return an image tag, sized and lazy when the site resolved its source to ref."""
    parts = [f'<img src="{escape_html(ref.url if ref else src)}" alt="{escape_html(alt)}"']
    if title:
        parts.append(f' title="{escape_html(title)}"')
    if ref is not None:
        parts.append(f' width="{int(ref.width)}" height="{int(ref.height)}"')
    parts.append(_IMAGE_LOADING)
    return "".join(parts)


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


def _note_marker_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Render a footnote's marker in the text."""
    meta = tokens[idx].meta
    return note_marker(meta["id"] + 1, meta.get("subId", 0))


def _notes_open_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Open the notes at the end of the article."""
    return NOTES_OPEN


def _notes_close_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Close the notes at the end of the article."""
    return NOTES_CLOSE


def _note_open_rule(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Open one note."""
    return note_open(tokens[idx].meta["id"] + 1)


def _note_backlink_rule(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """Link a note back to one of its markers."""
    meta = tokens[idx].meta
    return note_backlink(meta["id"] + 1, meta["subId"])


def _note_outside_notes(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
    """mdit_py_plugins' footnote_def, for a note that is not inside another note.

    It would read a note inside another (indented under it) as a second note, and then lose
    the first note's text and leave the closing tags of what held the second (a list) in the
    article. Here it is not a note (`check` says so: footnote_problems)."""
    from mdit_py_plugins.footnote.index import footnote_def

    inside = state.env.get(_IN_NOTE, False)
    if inside and state.sCount[start_line] >= state.blkIndent:
        # indented under a note (a line at the margin ends that note first)
        if not silent and footnote_def(state, start_line, end_line, True):
            state.env.setdefault(_NOTES_IN_NOTES, []).append(start_line)
        return False
    if silent:
        return footnote_def(state, start_line, end_line, True)
    state.env[_IN_NOTE] = True
    try:
        return footnote_def(state, start_line, end_line, False)
    finally:
        state.env[_IN_NOTE] = inside


def escape_html(raw: str) -> str:
    """markdown-it's escapeHtml: "&", "<", ">" and '"' as entities (not "'")."""
    return (
        raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# Built once per process, when first needed: building a parser costs more than rendering a post.
@functools.cache
def _parser(allow_html: bool, footnotes: bool = True, *, checking: bool = False) -> MarkdownIt:
    """Return a CommonMark parser with tables, strikethrough, heading ids and footnotes.

    `checking`: for publisher.render.footnotes, notes are left where they are written and
    an escaped character ("\\[") stays a token of its own."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    md = MarkdownIt("commonmark", {"html": allow_html, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=heading_slug)
    md.add_render_rule("image", _image_rule)
    md.add_render_rule("table_open", _table_open_rule)
    md.add_render_rule("table_close", _table_close_rule)
    if checking:
        md.disable("text_join")
    if footnotes:
        md.use(footnote_plugin, move_to_end=not checking)
        md.block.ruler.at("footnote_def", _note_outside_notes, {"alt": ["paragraph", "reference"]})
        md.add_render_rule("footnote_ref", _note_marker_rule)
        md.add_render_rule("footnote_block_open", _notes_open_rule)
        md.add_render_rule("footnote_block_close", _notes_close_rule)
        md.add_render_rule("footnote_open", _note_open_rule)
        md.add_render_rule("footnote_anchor", _note_backlink_rule)
    return md


def _written_link(url: str) -> str:
    """Return a link as the author wrote it, undoing markdown-it's percent-encoding.

    This is markdown-it's normalizeLinkText; its one step beyond mdurl, writing a punycode
    host ("xn--") in its own script, is left to markdown-it where a host could need it."""
    parsed = mdurl.parse(url, slashes_denote_host=True)
    host = parsed.hostname
    if host and (not host.isascii() or "xn--" in host or "@" in host):
        return _parser(False).normalizeLinkText(url)
    return mdurl.decode(mdurl.format(parsed), mdurl.DECODE_DEFAULT_CHARS + "%")


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


def _link_for_facebook(text: str, href: str) -> str | None:
    """Return a link as a Facebook reader sees it, or None where its text alone says it."""
    target = _link_target(href)
    if target is None:
        return None
    text = text.strip()
    if not text or _same_address(text, target):
        return target
    return f"{text} ({target})"


def _inline_text(children: Sequence[Token], images: list[str]) -> tuple[str, str]:
    """Return an inline run as plain text for (Facebook, Instagram); collect image sources."""
    fb: list[str] = []
    ig: list[str] = []
    links: list[tuple[int, Token]] = []
    after_dropped = False  # after an image or a footnote's marker, which plain text leaves out
    after_marker = False
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
            shown = _link_for_facebook("".join(fb[fb_start:]), str(link_open.attrGet("href") or ""))
            if shown is not None:
                fb[fb_start:] = [shown]
            continue
        elif kind == "image":
            images.append(_written_link(str(tok.attrGet("src") or "")))
            after_dropped, after_marker = True, False
            continue
        elif kind == "footnote_ref":
            after_dropped = after_marker = True
            continue
        else:
            # emphasis, strong and strikethrough markers, raw HTML: nothing to read
            continue
        if after_dropped:
            after_dropped = False
            kept = after_dropped_piece(piece, fb, ig, after_marker)
            if kept is None:
                continue
            piece = kept
        fb.append(piece)
        ig.append(piece)
    return "".join(fb).strip(), "".join(ig).strip()


_ENDS_A_PHRASE = ".,;:!?)]}\u2019\u201d\u2026"


def after_dropped_piece(piece: str, fb: list[str], ig: list[str], marker: bool) -> str | None:
    """The piece of inline text after an image or a footnote's marker (`marker`), which plain
    text leaves out, to add to fb and ig (Facebook's and Instagram's pieces so far); None for
    none. The spaces on both sides of it would make two: one goes, and after a marker the one
    before it goes where a punctuation mark follows ("the study [^2]." reads "the study.")."""
    if marker and piece[:1] in _ENDS_A_PHRASE:
        for pieces in (fb, ig):
            if pieces:
                pieces[-1] = pieces[-1].rstrip(" ")
    if not ig or ig[-1][-1:].isspace():
        piece = piece.lstrip(" ")
        if not piece:
            return None
    return piece


def _item_text(marker: str, blocks: list[str]) -> str:
    """Return a list item: marker on its first line, later lines indented two spaces."""
    if len(blocks) == 1 and "\n" not in blocks[0]:
        return marker + blocks[0]  # the usual item, a line of text
    lines = [line for block in blocks for line in block.split("\n")]
    if not lines:
        return marker.rstrip()
    return "\n".join([marker + lines[0]] + ["  " + line if line else "" for line in lines[1:]])


def _plain_text(tokens: Sequence[Token], texts: dict[int, str]) -> str:
    """Return the document as plain text, given the plain text of each inline token (the
    article's: its notes, after it, are not given)."""
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


def _tidy(text: str) -> str:
    """Strip trailing spaces and the text's ends; never leave two blank lines in a row."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


# The bullets word processors paste at the start of a list's lines (Word, Google Docs,
# Pages: levels one to three), which Markdown reads as text: the lines run into one paragraph.
PASTED_BULLETS = "\u2022\u25cf\u25e6\u25cb\u25aa\u25a0"
_PASTED_BULLET = re.compile(rf"^([ \t]*)[{PASTED_BULLETS}](?=[ \t]+\S)", re.MULTILINE)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def pasted_bullets(source: str) -> str:
    """`• Sit tall` lines pasted from a word processor as the Markdown list staff meant
    (`- Sit tall`), outside fenced code; a nested level's indent is kept (a tab: one level
    down). Lines are neither added nor removed, so a problem's line number stays true."""
    if not any(bullet in source for bullet in PASTED_BULLETS):
        return source
    if "```" not in source and "~~~" not in source:
        return _PASTED_BULLET.sub(r"\1-", source)
    lines = source.split("\n")
    fence = ""
    for number, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened[1].startswith(fence):
                fence = ""
        elif opened:
            fence = opened[1]
        else:
            lines[number] = _PASTED_BULLET.sub(r"\1-", line)
    return "\n".join(lines)


def render_markdown(
    source: str,
    *,
    allow_html: bool = False,
    resolve_image: ImageResolver | None = None,
    social: bool = True,
) -> RenderedMarkdown:
    """Render a post's Markdown as HTML for the site and plain text for Facebook and Instagram.

    With `social=False` the plain texts may be left empty (RenderedMarkdown.for_social), which
    is quicker: for the site's page alone."""
    source = pasted_bullets(source)
    if not allow_html:
        # imported here, not above: the fast engine is built on this module's rules
        from publisher.render.markdown_tree import (
            render_page_with_markdown_it_pyrs,
            render_with_markdown_it_pyrs,
        )

        rendered = None if social else render_page_with_markdown_it_pyrs(source, resolve_image)
        if rendered is None:
            rendered = render_with_markdown_it_pyrs(source, resolve_image)
        if rendered is not None:
            return rendered
    return _render_with_markdown_it_py(source, allow_html=allow_html, resolve_image=resolve_image)


def _render_with_markdown_it_py(
    source: str, *, allow_html: bool = False, resolve_image: ImageResolver | None = None
) -> RenderedMarkdown:
    """Render with markdown-it-py: the reference output, and the only engine for raw HTML."""
    md = _parser(bool(allow_html))
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
    # The notes come last, after the article: the page shows them, but they are no part of
    # the plain text, the words or the first paragraph (the article's link carries them).
    notes_at = len(tokens)
    for idx, token in enumerate(tokens):
        kind = token.type
        if kind == "inline":
            fb_text, ig_text = _inline_text(token.children or (), images)
            before = tokens[idx - 1]
            if before.type == "heading_open":
                text = " ".join(ig_text.split())
                headings.append((int(before.tag[1:]), text, str(before.attrGet("id") or "")))
            if idx > notes_at:
                continue
            fb_texts[idx], ig_texts[idx] = fb_text, ig_text
            word_count += len(ig_text.split())
            if (
                first_paragraph is None
                and list_depth == 0
                and before.type == "paragraph_open"
                and ig_text
            ):
                first_paragraph = " ".join(ig_text.split())
                first_paragraph_facebook = " ".join(fb_text.split())
        elif idx > notes_at:
            continue
        elif kind == "bullet_list_open" or kind == "ordered_list_open":
            list_depth += 1
        elif kind == "bullet_list_close" or kind == "ordered_list_close":
            list_depth -= 1
        elif kind == "code_block" or kind == "fence":
            word_count += len(token.content.split())
        elif kind == "footnote_block_open":
            notes_at = idx

    article = tokens[:notes_at]
    text_instagram = _plain_text(article, ig_texts)
    text_facebook = text_instagram if fb_texts == ig_texts else _plain_text(article, fb_texts)

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


# what Markdown marks inline: emphasis, code, links, escapes (< and & are only text here)
_INLINE_MARK = re.compile(r"[*_`\[\\]")
ANY_TAG = re.compile(r"<[^>]*>")  # an HTML tag (markdown-it writes no ">" inside one)


def plain_inline(text: str) -> str:
    """A line written with Markdown's inline marks (Learn *why* it hurts, [a link](url)) as
    the plain text a meta description, a card or a social post shows: Learn why it hurts."""
    if not _INLINE_MARK.search(text):
        return text
    return unescape(ANY_TAG.sub("", _parser(False, footnotes=False).renderInline(text)))


def reading_minutes(word_count: int, words_per_minute: int = 230) -> int:
    """Return the minutes a text of word_count words takes to read, rounded, at least 1."""
    if words_per_minute <= 0:
        raise ValueError(f"words_per_minute must be positive, not {words_per_minute}")
    return max(1, (word_count + words_per_minute // 2) // words_per_minute)
