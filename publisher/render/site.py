"""The website's pages from posts: pure rendering, files out as (path, bytes) pairs."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jinja2
from markupsafe import Markup, escape

from publisher.config import Config
from publisher.content import Post, tag_slug
from publisher.files import folder_files
from publisher.render.markdown import ImageRef, RenderedMarkdown, reading_minutes
from publisher.render.templates import render_template

DESCRIPTION_LENGTH = 160
FIRST_PAGE = "page/1/"  # under a list's address: a page that sends to the list (page 1)


@dataclass(frozen=True)
class OutputFile:
    """One file of the site: its path inside the output, and its bytes or a file to copy."""

    path: str
    data: bytes | None = None
    source: Path | str | None = None  # a str only for list pages a build keeps in its cache
    size: tuple[int, int] | None = None  # a photo's copy at this size (the cards' copy)


def photo_shown_in(url: str, html: str) -> bool:
    """Whether an article's HTML shows the photo at `url` (an <img> of it)."""
    return f'src="{url}"' in html


@dataclass(frozen=True)
class PostPage:
    """A post with everything its page, lists and feed show."""

    post: Post
    rendered: RenderedMarkdown
    image: ImageRef | None
    path: str
    # the text's links to other posts' files: (the file as written, the file it names)
    links: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        """The post's title."""
        return self.post.title

    @property
    def photo_in_text(self) -> bool:
        """Whether the text shows the post's photo itself (a document's first photo made the
        post's photo, say): the page then does not show it above the text again."""
        return self.image is not None and photo_shown_in(self.image.url, self.rendered.html)

    @property
    def summary(self) -> str:
        """The summary: the front-matter one, else the first paragraph."""
        return self.post.summary or self.rendered.first_paragraph

    # worked out once: a page shows its description four times (kept in the instance's
    # __dict__, which a frozen dataclass still has)
    @functools.cached_property
    def description(self) -> str:
        """The summary cut to a meta-description's length at a word boundary."""
        return shorten(self.summary, DESCRIPTION_LENGTH)

    @property
    def reading_minutes(self) -> int:
        """Minutes to read the article."""
        return reading_minutes(self.rendered.word_count)

    @functools.cached_property
    def tags(self) -> list[tuple[str, str]]:
        """(tag, tag page path) pairs."""
        return [(tag, f"tags/{tag_slug(tag)}/") for tag in self.post.tags]


@dataclass(frozen=True)
class CardPost:
    """The few facts of a post that lists show (no body): small to keep and quick to load."""

    slug: str
    title: str
    date: datetime
    author: str
    image_alt: str | None
    tags: tuple[str, ...]
    display: str
    updated: datetime | None = None

    @property
    def modified(self) -> datetime:
        """When the article last changed: `updated:`, else its date."""
        return self.updated or self.date


@dataclass(frozen=True)
class Card:
    """What the lists (index, tags, feed, sitemap) show of a published post."""

    post: CardPost
    path: str
    image: ImageRef | None
    description: str
    summary: str
    reading_minutes: int
    key: str = (
        ""  # changes whenever the post's page changes (lists rendered from it are cached by it)
    )

    @classmethod
    def of(cls, page: PostPage, key: str = "") -> Card:
        """The card of a rendered page."""
        p = page.post
        slim = CardPost(
            p.slug, p.title, p.date, p.author, p.image_alt, p.tags, p.display, p.updated
        )
        return cls(
            slim, page.path, page.image, page.description, page.summary, page.reading_minutes, key
        )

    @property
    def title(self) -> str:
        """The post's title."""
        return self.post.title

    @property
    def tags(self) -> list[tuple[str, str]]:
        """(tag, tag page path) pairs."""
        return [(tag, f"tags/{tag_slug(tag)}/") for tag in self.post.tags]


@dataclass(frozen=True)
class _Html:
    html: str


@dataclass(frozen=True)
class FeedEntry:
    """A card with its article's HTML, read from where the build keeps it."""

    card: Card
    html_file: Path  # where the HTML is kept, named by its content
    url: str = ""  # the article's own address: the HTML's relative addresses are read from it
    # makes the file when it is not there yet (the build keeps it only for the feed, and
    # makes it only when the feed is rendered); returns where it went
    make: Callable[[], str] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.card, name)

    @property
    def rendered(self) -> _Html:
        """The article's HTML (as `page.rendered.html` in templates), its addresses made
        absolute: a feed reader shows an entry away from the site, with no page to resolve
        "/posts/...", "../other/" or "#a-heading" against."""
        source = self.html_file
        if self.make is not None and not source.exists():
            source = Path(self.make())
        html = source.read_text(encoding="utf-8")
        image = self.card.image
        # the article's photo, as its page shows it above the text (unless the text shows it)
        if image is not None and not photo_shown_in(image.url, html):
            alt = escape(self.card.post.image_alt or "")
            html = (
                f'<p><img src="{image.url}" alt="{alt}" width="{image.width}" '
                f'height="{image.height}"></p>\n{html}'
            )
        if self.url:
            html = _ADDRESS.sub(lambda m: m[1] + urljoin(self.url, m[2]) + '"', html)
        if 'class="footnote-ref"' in html:
            # Each article numbers its notes from 1: two in one feed would share ids. Their
            # links lead to the article's page now, so the feed's copy needs none.
            html = _NOTE_ID.sub("", html)
        return _Html(html)


_ADDRESS = re.compile(r'(<(?:img|a)\b[^>]*?\s(?:src|href)=")([^"]*)"')
_NOTE_ID = re.compile(r' id="fn(?:ref)?_\d+(?:_\d+)?"')  # markdown.py's note_marker, note_open


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary so it fits in `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


# a template named by another: {% extends "base.html" %}, {% include '_cta.html' %}...
_NAMED_TEMPLATE = re.compile(r"""\{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)["']""")


class SiteRenderer:
    """Renders pages with the site's Jinja2 templates, compiled once."""

    def __init__(
        self,
        config: Config,
        templates_dir: Path | None = None,
        *,
        auto_reload: bool = True,
        code_cache: Path | None = None,
    ):
        """`auto_reload=False` for a renderer that lives no longer than its templates (one
        build): Jinja then skips looking at each template file's time on every use.
        `code_cache`: a folder to keep compiled templates in between runs."""
        self.config = config
        folder = self.folder = (templates_dir or config.templates_dir) / "site"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
            auto_reload=auto_reload,
            bytecode_cache=_CompiledTemplates(str(code_cache), repr(config))
            if code_cache
            else None,
            autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        parts = urlsplit(config.base_url)
        prefix = parts.path.rstrip("/")
        origin = f"{parts.scheme}://{parts.netloc}"
        self.env.globals.update(
            site=config.site,
            business=config.business,
            base_url=config.base_url,
            prefix=prefix,
        )
        self.env.filters["url"] = self.url
        self.env.filters["link"] = lambda path: f"{prefix}/{path}"
        self.env.filters["absolute"] = lambda root_relative: origin + root_relative
        self.env.filters["iso"] = lambda d: d.isoformat(timespec="seconds")
        self.env.filters["human_date"] = human_date
        self.env.filters["jsonld"] = jsonld
        self.env.globals["card"] = self.card_html
        self._cards: dict[tuple[str, str], Markup] = {}
        self.static_dir = folder / "static"
        # memo(path, key, render) -> OutputFile: lets a build reuse list pages it already made.
        self.memo: Callable[[str, tuple[object, ...], Callable[[], bytes]], OutputFile] | None = (
            None
        )

    def compile_page_templates(self) -> None:
        """Compile the article page's template and those it names (extends, include,
        import), for the processes forked next to render pages; compile_all does the rest
        meanwhile. A name this does not see is compiled where it is first used."""
        todo, seen = ["post.html"], set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                self.env.get_template(name)
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            except (jinja2.TemplateError, UnicodeDecodeError, OSError):
                continue  # reported, with its line, where the template is used
            todo += _NAMED_TEMPLATE.findall(source)

    def compile_all(self) -> None:
        """Compile every page template now: processes forked afterwards (a build's workers)
        inherit them compiled instead of each compiling its own."""
        for name in self.env.list_templates(extensions=("html", "xml", "txt")):
            if name.startswith("static/"):
                continue
            try:
                self.env.get_template(name)
            except (jinja2.TemplateError, UnicodeDecodeError, OSError):
                pass  # reported, with its line, where the template is used (if it is)

    def end_build(self) -> None:
        """Forget what one build's lists needed (its memo, the cards it rendered), so that a
        renderer kept from build to build (publisher run) does not grow."""
        self.memo = None
        self._cards.clear()

    def url(self, path: str) -> str:
        """Absolute URL of a path inside the site."""
        return f"{self.config.base_url}/{path}"

    def card_html(self, page: Card, first: bool = False) -> Markup:
        """A post's card as the lists show it (_card.html), made once for all of them.

        `first`: the list's first card, on screen as the page opens: its photo is not left
        to load lazily, which would hold back the page's largest picture."""
        if not page.key:  # not from a build: nothing to know it again by
            html = Markup(self._render("_card.html", page=page))
        else:
            key = (page.key, page.path)
            if key not in self._cards:
                self._cards[key] = Markup(self._render("_card.html", page=page))
            html = self._cards[key]
        return Markup(html.replace(' loading="lazy"', "", 1)) if first else html

    def render(self, template: str, **context: Any) -> bytes:
        """One template to bytes."""
        return self._render(template, **context).encode("utf-8")

    def _render(self, template: str, **context: Any) -> str:
        """One template; a mistake in a template is a TemplateError naming its file and line."""
        return render_template(self.env, self.folder, self.config.display_path, template, context)

    def post_page(self, page: PostPage) -> OutputFile:
        """The article page."""
        return OutputFile(
            page.path + "index.html",
            self.render(
                "post.html",
                page=page,
                canonical=self.url(page.path),
                business_jsonld=self._business_jsonld,
            ),
        )

    @functools.cached_property
    def _business_jsonld(self) -> Markup:
        """business_jsonld() as JSON, made once: every article page has it."""
        return jsonld(self.business_jsonld())

    def business_jsonld(self) -> dict[str, Any]:
        """The clinic as schema.org LocalBusiness data."""
        b = self.config.business
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": b.schema_type,
            "name": b.name,
            "url": self.config.base_url + "/",
        }
        if b.phone:
            data["telephone"] = b.phone
        if b.street or b.city:
            data["address"] = {
                "@type": "PostalAddress",
                "streetAddress": b.street,
                "addressLocality": b.city,
                "addressRegion": b.region,
                "postalCode": b.postal_code,
                "addressCountry": b.country,
            }
        same_as = [u for u in (b.facebook_url, b.instagram_url) if u]
        if same_as:
            data["sameAs"] = same_as
        return data

    def _page(
        self, path: str, key: tuple[object, ...], template: str, **context: Any
    ) -> OutputFile:
        """A list page; with a memo, rendered only when what it shows changed."""
        if self.memo is None:
            return OutputFile(path, self.render(template, **context))
        return self.memo(path, (template, *key), lambda: self.render(template, **context))

    def _paginated(
        self,
        base: str,
        pages: Sequence[Card],
        template: str,
        key: tuple[object, ...],
        **context: Any,
    ) -> Iterator[OutputFile]:
        """A list split into pages of posts_per_page: BASE, BASE/page/2/, ..."""
        per_page = self.config.site.posts_per_page
        count = max(1, math.ceil(len(pages) / per_page))
        # page 1 is BASE: its would-be address sends there (as Hugo's does), for a visitor
        # who counts the pages up from /page/2/; not in the sitemap (noindex)
        yield OutputFile(
            f"{base}{FIRST_PAGE}index.html",
            redirect_page(self.url(base), self.config.site.language, "Page 1", "The first page is"),
        )
        for number in range(1, count + 1):
            chunk = pages[(number - 1) * per_page : number * per_page]
            path = base if number == 1 else f"{base}page/{number}/"
            previous = (
                None if number == 1 else (base if number == 2 else f"{base}page/{number - 1}/")
            )
            yield self._page(
                path + "index.html",
                (*key, number, count, *[c.key for c in chunk]),
                template,
                pages=chunk,
                number=number,
                count=count,
                previous=previous,
                next=f"{base}page/{number + 1}/" if number < count else None,
                canonical=self.url(path),
                **context,
            )

    def index_pages(self, pages: Sequence[Card]) -> Iterator[OutputFile]:
        """The paginated list of posts: /, /page/2/, ..."""
        yield from self._paginated(
            "", pages, "index.html", (), business_jsonld=self._business_jsonld
        )

    def tag_pages(self, pages: Sequence[Card]) -> Iterator[OutputFile]:
        """Each tag's posts (paginated like the index), and a page listing every tag."""
        by_tag: dict[str, tuple[str, list[Card]]] = {}
        for page in pages:
            for tag, path in page.tags:
                by_tag.setdefault(path, (tag, []))[1].append(page)
        for path, (tag, tagged) in sorted(by_tag.items()):
            yield from self._paginated(path, tagged, "tag.html", (tag,), tag=tag)
        # made even with no tags yet: every page's menu links to it
        listing = sorted(
            ((tag, path, len(tagged)) for path, (tag, tagged) in by_tag.items()),
            key=lambda item: item[0].lower(),
        )
        yield self._page(
            "tags/index.html",
            tuple(listing),
            "tags.html",
            tags=listing,
            canonical=self.url("tags/"),
        )

    def feed(self, pages: Sequence[FeedEntry], updated: datetime) -> OutputFile:
        """The Atom feed of the newest posts."""
        newest = pages[: self.config.site.feed_entries]
        return self._page(
            "feed.xml",
            (updated.isoformat(), *(f"{p.key} {p.html_file}" for p in newest)),
            "feed.xml",
            pages=newest,
            updated=updated,
            feed_url=self.url("feed.xml"),
        )

    def sitemap(self, paths: Sequence[tuple[str, datetime | None]]) -> OutputFile:
        """sitemap.xml listing every public page."""
        key = tuple([f"{path} {moment.isoformat() if moment else ''}" for path, moment in paths])
        return self._page("sitemap.xml", key, "sitemap.xml", entries=paths)

    def fixed_pages(self) -> Iterator[OutputFile]:
        """robots.txt, the 404 page and the stylesheet."""
        yield OutputFile(
            "robots.txt", self.render("robots.txt", sitemap_url=self.url("sitemap.xml"))
        )
        # no canonical address: the page answers for every address that is not there
        yield OutputFile("404.html", self.render("404.html", canonical=None))
        if self.static_dir.is_dir():
            for path in folder_files(self.static_dir):  # (never an editor's swap file)
                yield OutputFile(
                    "static/" + path.relative_to(self.static_dir).as_posix(), source=path
                )


REDIRECT_MARK = b'<meta http-equiv="refresh"'  # in a redirect page's first lines, no other's


def is_redirect_page(start: bytes) -> bool:
    """True when a page that begins with `start` (its first kilobyte) is a redirect_page."""
    return REDIRECT_MARK in start


def redirect_page(url: str, language: str, title: str, text: str) -> bytes:
    """A small page that sends browsers and search engines to `url` (from a post's old
    address, a list's page 1), with `text` and the link for a browser that does not go."""
    href = escape(url)
    return (
        f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{escape(title)}</title>\n<link rel="canonical" href="{href}">\n'
        f'{REDIRECT_MARK.decode()} content="0; url={href}">\n<meta name="robots" content="noindex">\n'
        f'</head>\n<body>\n<p>{escape(text)} <a href="{href}">{href}</a></p>\n</body>\n</html>\n'
    ).encode()


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in the build cache (checked against each template's text
    and the config); a cache folder deleted or not writable only means compiling again.

    The config is part of the check because Jinja works out constant expressions when it
    compiles: `'static/style.css' | link` becomes "/blog/static/style.css" in the compiled
    code, so a template compiled under another base_url would keep the old address."""

    def __init__(self, directory: str, salt: str):
        super().__init__(directory)
        self.salt = salt

    def get_source_checksum(self, source: str) -> str:
        return hashlib.sha1(f"{self.salt}\0{source}".encode()).hexdigest()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_date(moment: datetime) -> str:
    """'Oct 21, 2025', as the clinic's current site shows dates (in English whatever the
    server's locale, and without strftime, a tenth of a page's date work)."""
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def jsonld(data: Any) -> jinja2.utils.Markup:
    """JSON for a <script type="application/ld+json"> block, safe against '</script>'.

    Markup is taken as JSON already made (the clinic's own data, made once per build)."""
    if isinstance(data, jinja2.utils.markupsafe.Markup):
        return data
    if isinstance(data, dict):  # a field with nothing to say is left out, not null or ""
        data = {key: value for key, value in data.items() if value is not None and value != ""}
    # on one line: only then does the json module use its C encoder (a tenth of the time)
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return jinja2.utils.markupsafe.Markup(text)
