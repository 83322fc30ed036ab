"""The website's pages from posts: pure rendering, files out as (path, bytes) pairs."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from publisher.config import Config
from publisher.content import Post, tag_slug
from publisher.render.markdown import ImageRef, RenderedMarkdown, reading_minutes

DESCRIPTION_LENGTH = 160


@dataclass(frozen=True)
class OutputFile:
    """One file of the site: its path inside the output, and its bytes or a file to copy."""

    path: str
    data: bytes | None = None
    source: Path | None = None


@dataclass(frozen=True)
class PostPage:
    """A post with everything its page, lists and feed show."""

    post: Post
    rendered: RenderedMarkdown
    image: ImageRef | None
    path: str

    @property
    def title(self) -> str:
        """The post's title."""
        return self.post.title

    @property
    def summary(self) -> str:
        """The summary: the front-matter one, else the first paragraph."""
        return self.post.summary or self.rendered.first_paragraph

    @property
    def description(self) -> str:
        """The summary cut to a meta-description's length at a word boundary."""
        return shorten(self.summary, DESCRIPTION_LENGTH)

    @property
    def reading_minutes(self) -> int:
        """Minutes to read the article."""
        return reading_minutes(self.rendered.word_count)

    @property
    def tags(self) -> list[tuple[str, str]]:
        """(tag, tag page path) pairs."""
        return [(tag, f"tags/{tag_slug(tag)}/") for tag in self.post.tags]


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary so it fits in `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


class SiteRenderer:
    """Renders pages with the site's Jinja2 templates, compiled once."""

    def __init__(self, config: Config, templates_dir: Path | None = None):
        self.config = config
        folder = (templates_dir or config.templates_dir) / "site"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)),
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
        self.static_dir = folder / "static"

    def url(self, path: str) -> str:
        """Absolute URL of a path inside the site."""
        return f"{self.config.base_url}/{path}"

    def render(self, template: str, **context: Any) -> bytes:
        """One template to bytes."""
        return self.env.get_template(template).render(**context).encode("utf-8")

    def post_page(self, page: PostPage) -> OutputFile:
        """The article page."""
        return OutputFile(
            page.path + "index.html",
            self.render(
                "post.html",
                page=page,
                canonical=self.url(page.path),
                business_jsonld=self.business_jsonld(),
            ),
        )

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

    def index_pages(self, pages: Sequence[PostPage]) -> Iterator[OutputFile]:
        """The paginated list of posts: /, /page/2/, ..."""
        per_page = self.config.site.posts_per_page
        count = max(1, math.ceil(len(pages) / per_page))
        for number in range(1, count + 1):
            chunk = pages[(number - 1) * per_page : number * per_page]
            path = "" if number == 1 else f"page/{number}/"
            yield OutputFile(
                path + "index.html",
                self.render(
                    "index.html",
                    pages=chunk,
                    number=number,
                    count=count,
                    previous=None
                    if number == 1
                    else ("" if number == 2 else f"page/{number - 1}/"),
                    next=f"page/{number + 1}/" if number < count else None,
                    canonical=self.url(path),
                ),
            )

    def tag_pages(self, pages: Sequence[PostPage]) -> Iterator[OutputFile]:
        """One page per tag, listing its posts, and a page listing every tag."""
        by_tag: dict[str, tuple[str, list[PostPage]]] = {}
        for page in pages:
            for tag, path in page.tags:
                by_tag.setdefault(path, (tag, []))[1].append(page)
        for path, (tag, tagged) in sorted(by_tag.items()):
            yield OutputFile(
                path + "index.html",
                self.render("tag.html", tag=tag, pages=tagged, canonical=self.url(path)),
            )
        if by_tag:
            listing = sorted(
                ((tag, path, len(tagged)) for path, (tag, tagged) in by_tag.items()),
                key=lambda item: item[0].lower(),
            )
            yield OutputFile(
                "tags/index.html",
                self.render("tags.html", tags=listing, canonical=self.url("tags/")),
            )

    def feed(self, pages: Sequence[PostPage], updated: datetime) -> OutputFile:
        """The Atom feed of the newest posts."""
        newest = pages[: self.config.site.feed_entries]
        return OutputFile(
            "feed.xml",
            self.render("feed.xml", pages=newest, updated=updated, feed_url=self.url("feed.xml")),
        )

    def sitemap(self, paths: Sequence[tuple[str, datetime | None]]) -> OutputFile:
        """sitemap.xml listing every public page."""
        return OutputFile("sitemap.xml", self.render("sitemap.xml", entries=paths))

    def fixed_pages(self) -> Iterator[OutputFile]:
        """robots.txt, the 404 page and the stylesheet."""
        yield OutputFile(
            "robots.txt", self.render("robots.txt", sitemap_url=self.url("sitemap.xml"))
        )
        yield OutputFile("404.html", self.render("404.html", canonical=self.url("404.html")))
        if self.static_dir.is_dir():
            for path in sorted(self.static_dir.rglob("*")):
                if path.is_file():
                    yield OutputFile(
                        "static/" + path.relative_to(self.static_dir).as_posix(), source=path
                    )


def human_date(moment: datetime) -> str:
    """'Oct 21, 2025', as the clinic's current site shows dates."""
    return f"{moment:%b} {moment.day}, {moment.year}"


def jsonld(data: Any) -> jinja2.utils.Markup:
    """JSON for a <script type="application/ld+json"> block, safe against '</script>'."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return jinja2.utils.markupsafe.Markup(text)
