"""Building the website: posts in, a complete site out, or the previous site left as it was."""

from __future__ import annotations

import bisect
import gc
import hashlib
import heapq
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from publisher.buildcache import (
    BuildIndex,
    Prepared,
    Signature,
    environment_fingerprint,
    file_signature,
    remembered_state,
)
from publisher.cache import Cache, content_key
from publisher.config import Config
from publisher.content import (
    LoadedPosts,
    Post,
    Update,
    curly_quoted_texts,
    is_post_name,
    is_post_path,
    load_posts,
    missing_file_advice,
    names_not_utf8,
    post_file_names,
    post_updates,
    read_post,
    require_posts_folder,
    settle_posts,
    stray_post_files,
    tag_collisions,
    update_warnings,
)
from publisher.exceptions import ContentError, ContentWarning, PublisherError
from publisher.files import (
    existing_status,
    is_file,
    is_inside,
    real_path,
    snapshot,
    spelled_otherwise,
)
from publisher.forks import fork_map
from publisher.output import (
    MARKER,
    TreeMemory,
    WriteStats,
    cannot_write_site,
    first_staging,
    output_lock,
    stage_files,
    write_linked_tree,
)
from publisher.render.images import (
    DAMAGED,
    TO_JPEG,
    WEB_MAX_SIDE,
    WEB_QUALITY,
    ImageUnusable,
    card_size,
    instagram_image,
    site_name,
    web_image,
    web_size,
    without_location,
)
from publisher.render.images import inspect_image_once as inspect_image
from publisher.render.markdown import ImageRef, RenderedMarkdown, render_markdown
from publisher.render.site import (
    FIRST_PAGE,
    Card,
    FeedEntry,
    OutputFile,
    PostPage,
    SiteRenderer,
    is_redirect_page,
    redirect_page,
)
from publisher.times import how_long
from publisher.times import now as current_time

INSTAGRAM_FILE = "instagram.jpg"
# Bump when instagram_image() changes what it makes, so cached copies are made again.
IMAGE_RECIPE = "instagram-image-1"
WEB_RECIPE = f"web-image-1 {WEB_MAX_SIDE} {WEB_QUALITY}"
LOCATION_RECIPE = "without-location-1"
PARALLEL_MIN = 64  # fewer changed posts than this are quicker in one process
MAX_WORKERS = 8

if TYPE_CHECKING:  # (a build reads no ledger)
    from publisher.ledger import Record


@dataclass
class BuildResult:
    """The outcome of a build: what was published and written, and what went wrong."""

    output: Path
    published: int
    stats: WriteStats
    problems: list[ContentError]
    # the article pages this build took off the site ("posts/slug/"): deleted, drafted,
    # dated later, or with a problem and no earlier version kept
    removed: list[str] = field(default_factory=list)
    # the old slugs of renamed posts whose address sends visitors on, and where to
    moved: dict[str, str] = field(default_factory=dict)
    # likely mistakes in the posts on the site that stop nothing (a curly-quoted title...)
    warnings: list[ContentWarning] = field(default_factory=list)
    # of `removed`, the old addresses of renamed posts, and the slug each sent visitors to
    removed_redirects: dict[str, str] = field(default_factory=dict)

    def what_was(self, path: str) -> str:
        """What a page this build took off was, when not an article: said after its path."""
        new = self.removed_redirects.get(path)
        if new is None:
            return ""
        return f" (the old address of a renamed post, which sent visitors to /posts/{new}/)"

    @property
    def ok(self) -> bool:
        """True when every post built."""
        return not self.problems


def _is_local(src: str) -> bool:
    parts = urlsplit(src)
    return not parts.scheme and not parts.netloc and not src.startswith("/") and bool(parts.path)


def plan_post(
    post: Post, config: Config, *, social: bool = True
) -> tuple[PostPage | None, list[OutputFile], list[ContentError]]:
    """Render one post's page and list the image files it needs copied next to it.

    `social=False`: for the site alone, the page's Markdown without the social texts."""
    folder = f"posts/{post.slug}/"
    copies: dict[Path, str] = {}
    problems: list[ContentError] = []
    taken: set[str] = {INSTAGRAM_FILE, "index.html"}

    def free_name(wanted: str) -> str:
        stem, dot, ext = wanted.rpartition(".")
        name, n = wanted, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}{dot}{ext}"
        taken.add(name)
        return name

    def place(source: Path) -> ImageRef:
        info = inspect_image(source)
        name = copies.get(source)
        if name is None:  # an iPhone's IMG_4021.HEIC is on the site as IMG_4021.jpg
            name = copies[source] = free_name(site_name(source.name, info))
        width, height = web_size(info) or (info.width, info.height)  # site_image_file's size
        return ImageRef(  # the file keeps its name; its address is URL-encoded (spaces...)
            url=f"{_prefix(config)}/{folder}{quote(name)}", width=width, height=height
        )

    hero = place(post.image) if post.image else None
    small: OutputFile | None = None
    if hero is not None and (size := card_size(info := inspect_image(post.image))) is not None:
        stem, dot, ext = site_name(post.image.name, info).rpartition(".")
        name = free_name(f"{stem}-{size[0]}w{dot}{ext}")
        small = OutputFile(folder + name, source=post.image, size=size)
        url = f"{_prefix(config)}/{folder}{quote(name)}"
        hero = replace(hero, small=(url, *size))

    def resolve(src: str) -> ImageRef | None:
        written, path = _image_in_text(post, src)

        def refuse(what: str, needs: Path | None = None) -> None:
            line = _line_in_body(post, src, written)
            problems.append(
                ContentError(
                    f"image {written!r} in the text {what}", post.display, line, needs=needs
                )
            )

        if path is None:
            if src.startswith("/") and not src.startswith("//"):
                refuse(
                    "is a path from the top of the disk or the site: write it from the post's "
                    "file, like images/photo.jpg (keep images in posts/images/)"
                )
            return None  # an address on the web
        if not is_inside(path, config.posts_dir):
            refuse(
                "is outside the posts folder: keep images in "
                f"{config.display_path(config.posts_dir)}/images/ and write a path like "
                "images/photo.jpg"
            )
            return None
        if not is_file(path) and (other := spelled_otherwise(path)) is not None:
            path = other  # the name as a Mac wrote it
        if not is_file(path):
            advice = missing_file_advice(
                written.split("#")[0].split("?")[0], post.source.parent, config.posts_dir
            )
            refuse(
                f"was not found (looked for {config.display_path(path)}): {advice} (from the "
                "post's file)",
                needs=path,
            )
            return None
        try:
            return place(path)
        except ImageUnusable as exc:
            refuse(str(exc), needs=path)
            return None

    rendered = render_markdown(
        post.body, allow_html=config.site.allow_html, resolve_image=resolve, social=social
    )
    if "[^" in post.body:
        allow_html = config.site.allow_html
        from publisher.render.footnotes import footnote_problems, footnotes_need_checking

        if allow_html or footnotes_need_checking(post.body, rendered.html):
            for line, problem in footnote_problems(post.body, allow_html=allow_html):
                problems.append(ContentError(problem, post.display, post.body_line + line))
    if problems:
        return None, [], problems
    if "<h1" in rendered.html and _TOP_HEADING.search(rendered.html):
        rendered = _headings_under_the_title(rendered)
    links: list[tuple[str, str]] = []
    if "/posts/" in rendered.html:  # (before the links to files are made such addresses)
        links += _links_to_articles(rendered.html, config)
    if _POST_FILE_HINT.search(rendered.html):
        rendered = replace(rendered, html=_links_to_posts(post, config, rendered.html, links))
    prefix = _prefix(config)
    if prefix and 'href="/' in rendered.html:
        rendered = replace(rendered, html=_with_base_path(rendered.html, prefix))
    page = PostPage(post=post, rendered=rendered, image=hero, path=folder, links=tuple(links))
    files = [OutputFile(folder + name, source=source) for source, name in copies.items()]
    if small is not None:
        files.append(small)
    return page, files, []


def _image_in_text(post: Post, src: str) -> tuple[str, Path | None]:
    """The image address `src` of a post's text as its author wrote it, and the file it
    names (None for an address on the web). Markdown hands the address percent-encoded
    (images/50%25off.jpg for 50%off.jpg); a "?" or "#" ends the file's path, unless a file
    has it in its name (before#1.jpg)."""
    written = unquote(src)
    if not _is_local(src):
        return written, None
    folder = post.source.parent
    path = real_path(folder / unquote(src.split("#")[0].split("?")[0]))
    if ("#" in src or "?" in src) and not is_file(path):
        whole = real_path(folder / written)
        if is_file(whole):
            return written, whole
    return written, path


def _line_in_body(post: Post, *forms: str) -> int:
    """The file line where the text first names an image address, given as Markdown hands
    it and as it was written (the text's first line if it is written differently there, as
    a reference)."""
    at = -1
    for pattern in [*(f"]({f}" for f in forms), *(f"](<{f}" for f in forms), *forms]:
        at = post.body.find(pattern)
        if at != -1:
            break
    return post.line_at(max(at, 0))


# A link in the text to another post by its file ([hips](2026-11-20-hip-flexors.md#why)),
# as Markdown hands it (percent-encoded), and what follows the file's name
_POST_FILE_HINT = re.compile(r"\.(?:md|markdown)\b", re.IGNORECASE)
_POST_FILE_LINK = re.compile(
    r'(<a\b[^>]*?\shref=")([^"#?]+\.(?:md|markdown))([#?][^"]*)?"', re.IGNORECASE
)
# what linked_post read of each linked file: (config, signature, post)
_LINKED: dict[str, tuple[Config, Signature | None, Post | None]] = {}


def _links_to_posts(post: Post, config: Config, html: str, links: list[tuple[str, str]]) -> str:
    """The text's links to other posts' files made links to their pages (/posts/SLUG/), so
    staff can link an article by its file name, as their editor shows it. `links` gets each
    (file as written, file it names), found or not: the page depends on those files (a new
    title moves the page it links to), and link_warnings says what does not lead anywhere."""

    def to_page(link: re.Match[str]) -> str:
        if not _is_local(link[2]):
            return link[0]  # an address on the web that happens to end in .md
        written = unquote(link[2])
        path = real_path(post.source.parent / written)
        links.append((written, str(path)))
        target = linked_post(path, config)
        if target is None:
            return link[0]
        return f'{link[1]}/posts/{target.slug}/{link[3] or ""}"'

    return _POST_FILE_LINK.sub(to_page, html)


_ARTICLE_LINK = re.compile(r'<a\b[^>]*?\shref="([^"]*?/posts/([^/"#?]+)[^"]*)"')


def _links_to_articles(html: str, config: Config) -> list[tuple[str, str]]:
    """The text's links to an article by its address on this site (/posts/SLUG/, or with
    the site's address before it), as (the address as written, ""): link_warnings says
    which lead to no article, or to one not out yet."""
    site, prefix = urlsplit(config.base_url), _prefix(config)
    found = []
    for link in _ARTICLE_LINK.finditer(html):
        address = link[1]
        parts = urlsplit(address)
        if parts.netloc and parts.netloc != site.netloc:
            continue  # another site's /posts/
        path = parts.path
        if prefix and path.startswith(prefix + "/posts/"):
            path = path[len(prefix) :]
        article = f"/posts/{link[2]}"
        if path.startswith(article) and path[len(article) : len(article) + 1] in ("", "/"):
            if parts.netloc or address.startswith("/"):  # (not a relative address)
                found.append((unquote(address), ""))
    return found


def linked_post(path: Path, config: Config) -> Post | None:
    """The post in a file another post links to (None: not a post file of the posts folder,
    or one that cannot be read). Read once per version of the file in each process."""
    name = str(path)
    signature = file_signature(name)
    known = _LINKED.get(name)
    if known is not None and known[0] is config and known[1] == signature:
        return known[2]
    target = None
    if signature is not None and is_post_path(path, config.posts_dir):
        target = read_post(path, config)[0]
    _LINKED[name] = (config, signature, target)
    return target


def link_warnings(
    linking: Iterable[tuple[Post, Sequence[tuple[str, str]]]],
    posts: Iterable[Post],
    config: Config,
    at: datetime,
) -> list[ContentWarning]:
    """What a post's links to other posts (by file, or by address on the site) lead to that
    is not a page of the site (yet): no such post, a draft, a post with a problem, or one
    that goes live after it. Warnings: the link is right once the other post is."""
    warnings: list[ContentWarning] = []
    posts = list(posts)
    by_file: dict[str, Post] | None = None  # made once, and only for a site with such links
    by_slug: dict[str, Post] | None = None
    renamed: dict[str, str] | None = None
    for post, links in linking:
        for written, path in links:
            if path:
                if by_file is None:
                    with snapshot():  # each folder resolved once
                        by_file = {str(real_path(p.source)): p for p in posts}
                target = by_file.get(path)
                what = _file_link_leads_nowhere(target, Path(path), config)
            else:  # an address on the site: /posts/SLUG/
                if by_slug is None:
                    by_slug = {p.slug: p for p in posts}
                slug = urlsplit(written).path.split("/posts/", 1)[1].split("/", 1)[0]
                target, what = by_slug.get(slug), None
                if target is None:
                    renamed = old_addresses(config) if renamed is None else renamed
                    if slug in renamed:
                        continue  # a renamed article's old address: it sends visitors on
                    what = (
                        "leads to no article of the site: check the address (an article's is "
                        "/posts/SLUG/, SLUG as publisher calendar lists it), or link to the "
                        "post's file (like 2026-11-20-hip-flexors.md)"
                    )
            if target is not None:
                what = _not_out_yet(target, post, at)
            if what is None:
                continue
            forms = (quote(written, safe="/#?:"), written) if path else (written,)
            line = _line_in_body(post, *forms)
            warnings.append(ContentWarning(f"the link to {written!r} {what}", post.display, line))
    return warnings


def _file_link_leads_nowhere(target: Post | None, path: Path, config: Config) -> str | None:
    """Why a link to a post's file leads to no post (None: it names one)."""
    if target is not None:
        return None
    shown = config.display_path(path)
    if not is_inside(path, config.posts_dir):
        return (
            f"leads outside the posts folder ({shown}): link to a post by its file's "
            "name, from this post's file (like 2026-11-20-hip-flexors.md), or to a page "
            "by its address"
        )
    if is_file(path) and is_post_path(path, config.posts_dir):
        return (
            f"leads to a post with a problem that keeps it off the website ({shown}): "
            "a page not found until that post is fixed (publisher check names it)"
        )
    return (
        f"names no post file (looked for {shown}): check the file's name, written "
        "from this post's file (like 2026-11-20-hip-flexors.md), or link to the "
        "page's address"
    )


def _not_out_yet(target: Post, post: Post, at: datetime) -> str | None:
    """Why the post a link leads to has no page yet when the linking one is out (None:
    it has)."""
    if target.draft:
        return (
            f"leads to a draft ({target.display}): a page not found until that post is "
            "published (draft: false)"
        )
    if not target.is_published(at) and target.date > post.date:
        return (
            f"leads to a post that goes live on {target.date:%Y-%m-%d %H:%M}, after "
            f"this one ({target.display}): a page not found until then"
        )
    return None


def _prefix(config: Config) -> str:
    return urlsplit(config.base_url).path.rstrip("/")


# a link from the top of the site ("/posts/other/"), not to another host ("//host/...")
_SITE_LINK = re.compile(r'(<a\b[^>]*?\shref=")(/(?!/)[^"]*)"')


_TOP_HEADING = re.compile(r"<h1[ >]")
_HEADING_TAG = re.compile(r"<(/?)h([1-5])(?=[ >])")


def _headings_under_the_title(rendered: RenderedMarkdown) -> RenderedMarkdown:
    """The text's headings one level down when it has a top-level one (# Heading): the page's
    one h1 is the article's title, and the text's own outline stays as written below it."""
    html = _HEADING_TAG.sub(lambda tag: f"<{tag[1]}h{int(tag[2]) + 1}", rendered.html)
    headings = tuple((min(level + 1, 6), text, id_) for level, text, id_ in rendered.headings)
    return replace(rendered, html=html, headings=headings)


def _with_base_path(html: str, prefix: str) -> str:
    """Links the text makes from the top of the site, put under the site's path (a site at
    https://example.org/clinic/: /posts/other/ is /clinic/posts/other/), as its images are.
    A link that already starts with that path is left as it is."""

    def under(link: re.Match[str]) -> str:
        address = link[2]
        if address == prefix or address.startswith((prefix + "/", prefix + "#", prefix + "?")):
            return link[0]
        return f'{link[1]}{prefix}{address}"'

    return _SITE_LINK.sub(under, html)


def wants_instagram_image(post: Post, config: Config) -> bool:
    """True when the post can go to Instagram, which then needs its Instagram-ready image."""
    return config.instagram.enabled and post.instagram.enabled and post.image is not None


def instagram_copy(post: Post, config: Config, cache: Cache) -> Path:
    """The Instagram-ready JPEG of the post's image, made once per source image and settings."""
    assert post.image is not None
    source = post.image.read_bytes()
    settings = config.instagram
    key = content_key(source, settings.image_fit, settings.image_background, IMAGE_RECIPE)
    path = cache.path("instagram", key, ".jpg")
    if not path.exists():
        data = instagram_image(source, fit=settings.image_fit, background=settings.image_background)
        path = cache.put("instagram", key, data, ".jpg")
    return path


@dataclass(frozen=True)
class PageResult:
    """A published post's page, rendered once and kept in the cache as files."""

    path: str  # "posts/slug/"
    page_blob: str  # the page's bytes, in the cache
    html_blob: str  # where the article's HTML is kept for the feed (written when needed)
    images: tuple[tuple[str, str], ...]  # (file name next to the page, cached copy)
    card: Card
    links: tuple[tuple[str, str], ...] = ()  # PostPage.links
    sources: tuple[str, ...] = ()  # the photo file of each of `images`, in the same order


def _blob(cache: Cache, data: bytes) -> str:
    """Keep bytes in the cache under their own hash; returns the file's path."""
    key = content_key(data)
    path = cache.location("blobs", key)
    if not os.path.exists(path):
        cache.put("blobs", key, data)
    return path


def _copy_blob(cache: Cache, source: Path) -> str:
    """A copy of an image in the cache, made once per version of the file."""
    info = existing_status(source)
    # The same file (its device and inode) with the same size and time has the same bytes.
    key = content_key(str(info.st_dev), str(info.st_ino), str(info.st_size), str(info.st_mtime_ns))
    path = cache.location("images", key, source.suffix.lower())
    if not os.path.exists(path):
        cache.put("images", key, source.read_bytes(), source.suffix.lower())
    return path


_WORKER: dict[str, object] = {}


def site_image_file(cache: Cache, source: Path, size: tuple[int, int] | None = None) -> str:
    """The cached file a post's image is on the website as: the file itself (_copy_blob),
    or for a large photo its website copy (web_image), made once per version of the photo;
    with `size`, its copy at that size (the cards'). ImageUnusable when its picture cannot
    be read whole."""
    info = inspect_image(source)
    size = size or web_size(info)
    if size is None and info.located and info.format == "JPEG":  # as it is, but for that
        return _made_once(cache, source, source.suffix.lower(), without_location, LOCATION_RECIPE)
    if size is None and info.located and not info.animated:
        size = (info.width, info.height)  # (a PNG, WebP or camera's MPO: a copy says nothing)
    if size is None:
        return _copy_blob(cache, source)
    suffix = ".jpg" if info.format in TO_JPEG else source.suffix.lower()
    recipe = (WEB_RECIPE, f"{size[0]}x{size[1]}")
    return _made_once(cache, source, suffix, partial(web_image, size=size), *recipe)


def _made_once(
    cache: Cache, source: Path, suffix: str, make: Callable[[bytes], bytes], *recipe: str
) -> str:
    """The website's copy that `make` makes of a photo's bytes, kept in the cache under
    those bytes and `recipe` (WEB_RECIPE and the size...): made once per version."""
    data = source.read_bytes()
    key = content_key(data, *recipe)
    path = cache.location("web", key, suffix)
    if not os.path.exists(path):
        cache.put("web", key, make(data), suffix)
    return path


def _image_problem(post: Post, source: Path, exc: Exception) -> ContentError:
    """A problem with a photo the post shows that only reading it whole found, at the line
    that names it; putting the file right settles it."""
    hero = source == post.image
    line = post.line_of("image") if hero else _line_in_body(post, source.name)
    name = os.path.relpath(source, post.source.parent)
    where = "" if hero else " in the text"
    what = str(exc) if isinstance(exc, ImageUnusable) else DAMAGED
    return ContentError(f"image {name!r}{where} {what}", post.display, line, needs=source)


def _renderer_for(config: Config, environment: str | None) -> SiteRenderer:
    """A renderer kept from post to post (and, in a worker, from chunk to chunk) while the
    config and the build environment (which hashes the templates) are the same, so the
    templates are compiled once. Without an environment, edited templates are reloaded."""
    kept = _WORKER.get("key")
    if kept is None or kept[1] != environment or not (kept[0] is config or kept[0] == config):
        _WORKER["renderer"] = SiteRenderer(
            config,
            auto_reload=environment is None,
            code_cache=config.cache_dir / "templates" if environment is not None else None,
        )
    # the config object itself: an equal one from the next chunk is then compared once
    _WORKER["key"] = (config, environment)
    return _WORKER["renderer"]  # type: ignore[return-value]


def prepare_file(
    path: Path,
    config: Config,
    at: datetime | None,
    environment: str | None = None,
    staging: Path | None = None,
    articles: dict[str, bytes] | None = None,
) -> Prepared:
    """Read one post file and, when it is published at `at`, render its page into the cache.

    `environment`: the build's environment fingerprint (config, templates, version).
    `staging`: a first build's new site folder, to link the page and its images into.
    `articles`: given, gets the article's HTML under the name of its cached file (html_blob),
    for the caller to keep the few the feed may want (_keep_feed_articles)."""
    renderer = _renderer_for(config, environment)
    cache = Cache(config.cache_dir)
    prepared = Prepared(display=config.display_path(path), signature=file_signature(path))
    post, problems = read_post(path, config)
    prepared.post, prepared.problems = post, problems
    _depend_on_files_wanted(prepared, problems)
    if post is None:
        return prepared
    if post.image is not None:
        prepared.depends[str(post.image)] = file_signature(post.image)
    if at is None or not post.is_published(at):
        return prepared
    page, files, found = plan_post(post, config, social=False)
    for item in files:
        assert item.source is not None
        prepared.depends[str(item.source)] = file_signature(item.source)
    if page is not None:
        for _, linked in page.links:  # a post it links to renamed: its link follows
            if linked:  # (not an address on the site, which names no file)
                prepared.depends[linked] = file_signature(linked)
    if page is None:
        prepared.problems = found
        _depend_on_files_wanted(prepared, found)
        return prepared
    images: list[tuple[str, str]] = []
    sources: list[str] = []
    for item in files:
        assert item.source is not None
        try:
            site_image = site_image_file(cache, Path(item.source), item.size)
            images.append((item.path.rsplit("/", 1)[1], site_image))
            sources.append(str(item.source))
        except ImageUnusable as exc:
            prepared.problems = [_image_problem(post, Path(item.source), exc)]
            _depend_on_files_wanted(prepared, prepared.problems)
            return prepared
    page_bytes = renderer.post_page(page).data  # type: ignore[union-attr]
    assert page_bytes is not None
    page_blob = _blob(cache, page_bytes)
    article = page.rendered.html.encode("utf-8")
    # Only the feed's newest few need the article's HTML: it is named here, and written for
    # the newest posts of each chunk of work (_keep_feed_articles) or when the feed wants it
    # (feed_html), sparing a file per post.
    html_blob = cache.location("blobs", content_key(article))
    if articles is not None:
        articles[html_blob] = article
    prepared.page = PageResult(
        path=page.path,
        page_blob=page_blob,
        html_blob=html_blob,
        images=tuple(images),
        card=Card.of(page, key=os.path.basename(page_blob)),  # (named by its bytes)
        links=page.links,
        sources=tuple(sources),
    )
    if staging is not None:
        stage_files(staging, page.path, _page_files(prepared.page))
    return prepared


def _depend_on_files_wanted(prepared: Prepared, problems: list[ContentError]) -> None:
    """A photo the post names that is not there yet, or is damaged, is put right without
    editing the post: the entry then depends on that file, and is made again when it
    changes (appears, is replaced)."""
    for problem in problems:
        if problem.needs is not None:
            prepared.depends[problem.needs] = file_signature(problem.needs)


def _page_files(page: PageResult) -> list[tuple[str, str]]:
    """The files a post's folder holds besides its Instagram image: (name, cached file)."""
    return [("index.html", page.page_blob), *page.images]


_Chunk = tuple[list[Path], Config, datetime | None, str | None, Path | None]


def _workers() -> int:
    """How many worker processes a build uses: one per core."""
    return min(os.cpu_count() or 1, MAX_WORKERS)


def _collect_new_garbage() -> None:
    """In a forked worker: the cycle collector back on (the build paused it), for what the
    worker makes; what it inherited lives on, and is left out of the collector's walks."""
    gc.freeze()
    gc.enable()


def _prepare_chunk(args: _Chunk) -> list[Prepared]:
    paths, config, at, environment, staging = args
    articles: dict[str, bytes] = {}
    with snapshot():
        prepared = [
            prepare_file(path, config, at, environment, staging, articles) for path in paths
        ]
    _keep_feed_articles(prepared, articles, config)
    return prepared


def _keep_feed_articles(
    prepared: list[Prepared], articles: dict[str, bytes], config: Config
) -> None:
    """Keep the article HTML of the newest posts among `prepared` in the cache. The feed
    shows the site's newest posts, which are among the newest of whichever chunk of work
    they were in: it then finds their HTML made, and renders none again (feed_html still
    makes any that is missing, a post that lost its address to another, say)."""
    pages = [p.page for p in prepared if p.page is not None]
    newest = heapq.nlargest(
        config.site.feed_entries, pages, key=lambda page: (page.card.post.date, page.card.post.slug)
    )
    cache = Cache(config.cache_dir)
    for page in newest:
        if not os.path.exists(page.html_blob):
            _blob(cache, articles[page.html_blob])


def _prepare_chunk_encoded(args: _Chunk) -> list[tuple[str, Signature | None, bytes]]:
    """_prepare_chunk in a worker process: the entries as the index keeps them, which are
    quicker to send back than the objects, and need no encoding in the parent."""
    return [(p.display, p.signature, p.to_bytes()) for p in _prepare_chunk(args)]


def _spans(paths: list[Path], workers: int) -> list[list[Path]]:
    """The posts cut into chunks for the workers, smaller towards the end (each a share of
    what is left), so that the workers finish together: with equal chunks, the last one
    keeps one core busy while the other has nothing left to do."""
    spans: list[list[Path]] = []
    start = 0
    while start < len(paths):
        size = max(16, min(256, (len(paths) - start) // (workers * 2)))
        spans.append(paths[start : start + size])
        start += size
    return spans


def prepare_all(
    paths: list[Path],
    config: Config,
    at: datetime | None,
    environment: str | None = None,
    staging: Path | None = None,
) -> list[Prepared]:
    """Prepare post files, on every core when there are many."""
    workers = _workers()
    if len(paths) < PARALLEL_MIN or workers < 2:
        return _prepare_chunk((paths, config, at, environment, staging))
    chunks = [(span, config, at, environment, staging) for span in _spans(paths, workers)]
    prepared: list[Prepared] = []
    if threading.active_count() > 1:
        # forking a process that runs other threads (the service's scheduler and watcher)
        # can leave a child stuck on a lock one of them held: multiprocessing's forkserver
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_collect_new_garbage,
        ) as pool:
            for chunk in pool.map(_prepare_chunk_encoded, chunks):
                prepared += (Prepared.from_bytes(*item) for item in chunk)
        return prepared
    # While the workers render pages, this process has a core's share to spare: it makes
    # each new page's list card (which the lists need next) as the pages come back, so the
    # processes forked to render the lists inherit every card instead of each making its
    # own.
    renderer = _renderer_for(config, environment) if environment is not None else None
    cards = _CardsAhead(renderer) if renderer is not None else None
    results = fork_map(
        lambda n: _prepare_chunk_encoded(chunks[n]),
        len(chunks),
        workers,
        start=_collect_new_garbage,
        meanwhile=renderer.compile_all if renderer is not None else None,
    )
    for chunk in results:
        for item in chunk:
            entry = Prepared.from_bytes(*item)
            prepared.append(entry)
            if cards is not None and entry.page is not None:
                cards.add(entry.page.card)
    return prepared


class _CardsAhead:
    """List cards made before the lists ask for them (SiteRenderer.card_html keeps them for
    this build). A card that cannot be made is left for the list that shows it, which says
    what is wrong with the template."""

    def __init__(self, renderer: SiteRenderer):
        self.renderer: SiteRenderer | None = renderer

    def add(self, card: Card) -> None:
        if self.renderer is None:
            return
        try:
            self.renderer.card_html(card)
        except ContentError:
            self.renderer = None


LIST_PARALLEL_MIN = 400  # list pages to render before it pays to fork for them


def _render_lists(renders: list[Callable[[], bytes]], cache: Cache) -> list[str]:
    """Render list pages into the cache; returns their files, in order.

    Many (a clean build of thousands of posts) are shared out among forked processes, which
    inherit the renderers as they are; with other threads running (the service), forking is
    not safe and they are rendered here.
    """
    workers = _workers()
    if len(renders) < LIST_PARALLEL_MIN or workers < 2 or threading.active_count() > 1:
        return [_blob(cache, render()) for render in renders]
    size = -(-len(renders) // (workers * 4))
    # the last first: the feed (which may make its articles' HTML) and the sitemap, the
    # slowest, are there, and are then not left for one process at the end
    spans = [
        range(start, min(start + size, len(renders))) for start in range(0, len(renders), size)
    ]
    spans.reverse()

    def render_span(n: int) -> list[str]:
        return [_blob(cache, renders[i]()) for i in spans[n]]

    chunks = list(fork_map(render_span, len(spans), workers, _collect_new_garbage))
    return [blob for chunk in reversed(chunks) for blob in chunk]


@dataclass
class ListMemo:
    """List pages already made, by what they show: a page is rendered again only when it changes."""

    def __init__(self, cache: Cache, environment: str, index: BuildIndex):
        self.cache = cache
        self.environment = environment
        self.index = index
        self.known: dict[str, str] = index.get_state("lists") or {}
        self.used: dict[str, str] = {}
        self.pending: list[tuple[str, str, Callable[[], bytes]]] = []  # (digest, path, render)

    def __call__(
        self, path: str, key: tuple[object, ...], render: Callable[[], bytes]
    ) -> OutputFile:
        """The page at `path` if one showing the same was made before; else an OutputFile
        with neither data nor source, to be rendered by finish()."""
        # repr keeps the parts apart unambiguously, and hashes in one go
        digest = hashlib.sha256(repr((self.environment, path, key)).encode()).hexdigest()
        blob = self.known.get(digest)
        if blob is None or not os.path.exists(blob):
            self.pending.append((digest, path, render))
            return OutputFile(path)
        self.used[digest] = blob
        return OutputFile(path, source=blob)

    def finish(self) -> dict[str, str]:
        """Render the pages still to make, on every core when there are many: path -> file."""
        blobs = _render_lists([render for _, _, render in self.pending], self.cache)
        made: dict[str, str] = {}
        for (digest, path, _), blob in zip(self.pending, blobs, strict=True):
            self.used[digest] = made[path] = blob
        self.pending = []
        return made

    def save(self) -> None:
        """Remember this build's list pages (only those still in use)."""
        if self.used != self.known:
            self.index.set_state("lists", self.used)


@dataclass
class SiteState:
    """Every post of the site as the cache and this build know it."""

    prepared: dict[str, Prepared]
    loaded: LoadedPosts
    staged: dict[str, str] | None = None  # what a first build linked into its new site
    # published posts whose file has a problem now: the entry of their last good build,
    # which the website keeps showing until the file is fixed, withdrawn or deleted
    kept: dict[str, Prepared] = field(default_factory=dict)
    # the posts of `kept` the website shows as they were (their files are broken now)
    held: list[Post] = field(default_factory=list)


def gather(
    config: Config,
    at: datetime,
    index: BuildIndex,
    *,
    pages: bool = True,
    names: list[str] | None = None,
    staging: Path | None = None,
) -> SiteState:
    """Every post, from the cache where nothing it depends on changed, else read afresh.

    With `pages`, published posts also have their page rendered (and kept in the cache).
    Files are looked at once per build (files.snapshot). `staging`: a first
    build's new site folder (output.first_staging); SiteState.staged says what went there.
    """
    previous = index.load_all()
    current: dict[str, Prepared] = {}
    todo: list[Path] = []
    for name in post_file_names(config.posts_dir) if names is None else names:
        display = config.display_path(name)
        known = previous.get(display)
        if known is not None and known.still_valid(file_signature(name)):
            needs_page = (
                pages
                and known.post is not None
                and known.post.is_published(at)
                and known.page is None
            )
            if not needs_page or known.problems:
                current[display] = known
                continue
        todo.append(Path(name))
    fresh = prepare_all(todo, config, at if pages else None, index.environment, staging)
    for item in fresh:
        current[item.display] = item
    gone = [d for d in previous if d not in current]
    kept, keep, unkeep = _last_good_versions(index, previous, current, fresh, gone, pages)
    index.store(fresh, gone, keep, unkeep)
    posts = [p.post for p in current.values() if p.post is not None]
    problems = [e for p in current.values() for e in p.problems]
    problems += names_not_utf8(config)  # (left out of the listing: names is made of it)
    noted: set[str] = set()
    for number, problem in enumerate(problems):
        if problem.path in kept and problem.path not in noted:  # with its first problem
            noted.add(problem.path)
            problems[number] = ContentError(
                f"{problem.message} (until this is fixed, the website keeps showing the post "
                "as it was, less any photo whose file is gone, and its Facebook and Instagram "
                "deliveries not made yet wait)",
                problem.path,
                problem.line,
            )
    staged: dict[str, str] | None = None
    if staging is not None:
        staged, claimed = {}, set()
        for item in fresh:
            if item.page is None:
                continue
            for name, blob in _page_files(item.page):
                path = item.page.path + name
                if path in claimed:  # two posts with one slug: which link won is unknown
                    staged.pop(path, None)
                else:
                    claimed.add(path)
                    staged[path] = blob
    shown = {p.display for p in posts}
    held = [e.post for d, e in kept.items() if e.post is not None and d not in shown]
    from publisher.ledger import files_of_slugs

    owners = partial(files_of_slugs, config.ledger_path)  # (read only when two share a slug)
    return SiteState(current, settle_posts(posts, problems, held, owners), staged, kept, held)


def _page_links(entry: Prepared | None) -> tuple[tuple[str, str], ...]:
    """The links to other posts' files of a post's page, as built (none without a page)."""
    return () if entry is None or entry.page is None else entry.page.links


def _broken(entry: Prepared | None) -> bool:
    """A post file with a problem that keeps it off the site."""
    return entry is not None and entry.page is None and bool(entry.problems)


def _last_good_versions(
    index: BuildIndex,
    previous: dict[str, Prepared],
    current: dict[str, Prepared],
    fresh: list[Prepared],
    gone: list[str],
    pages: bool,
) -> tuple[dict[str, Prepared], list[Prepared], list[str]]:
    """A published post whose file was just edited into a problem (an unclosed bracket,
    say) stays on the site as it was last built: its links are out on Facebook and
    Instagram. Returns (the kept entries of files still broken, entries to keep, files to
    forget). A kept version goes when its file is deleted, or, in a build (`pages`), when
    the file is fixed or the post withdrawn; a pass that reads posts without their pages
    cannot tell a page's own problems (an image in the text not found): it keeps the
    version built last of every post it reads afresh, until the build says. Kept versions
    outlive a change of templates or config (they are the pages the links point to)."""
    kept = index.load_kept()
    keep: list[Prepared] = []
    # a file broken since its last build, read with new templates or config: its page as built
    earlier = index.load_earlier(
        i.display
        for i in fresh
        if _broken(i) and i.display not in previous and i.display not in kept
    )
    for item in fresh:
        before = previous.get(item.display)
        if before is None and (found := earlier.get(item.display)) is not None:
            before = found if found.signature != item.signature else None
        if before is None or before.page is None:
            continue
        if _broken(item) or (not pages and item.post is not None):
            kept[item.display] = before
            keep.append(before)
    unkeep = [d for d in kept if d in gone or (pages and d in current and not _broken(current[d]))]
    for display in unkeep:
        del kept[display]
    return kept, keep, unkeep


def site_manifest(
    config: Config, state: SiteState, at: datetime, instagram: set[str], index: BuildIndex
) -> tuple[dict[str, str], int, list[ContentError], dict[str, str]]:
    """Every file of the site as a cached file to link: (manifest, posts published, problems,
    the old slugs whose page sends visitors to the new one, and the new one)."""
    cache = Cache(config.cache_dir)
    renderer = _renderer_for(config, index.environment)
    problems = list(state.loaded.problems)
    results: list[PageResult] = []
    posts_by_display = {p.display: p for p in state.loaded.posts}
    entries = dict(state.prepared)
    taken = {p.slug for p in state.loaded.posts if p.display not in state.kept}
    for display, last in state.kept.items():
        if last.post.slug in taken:
            continue  # another post has its address now
        entries[display] = last
        posts_by_display[display] = last.post
    for display, prepared in entries.items():
        post = posts_by_display.get(display)
        if post is None or not post.is_published(at):
            continue
        if prepared.page is None:
            continue  # its problems are already listed
        results.append(prepared.page)
    results.sort(key=attrgetter("card.post.date", "card.post.slug"), reverse=True)
    manifest: dict[str, str] = {}
    for result in results:
        manifest[result.path + "index.html"] = result.page_blob
        kept = result.card.post.display in state.kept
        for number, (name, blob) in enumerate(result.images):
            # a live post kept as it was (its file has a problem) loses a photo whose file
            # was deleted: a photo taken off stays off (a client withdrew consent)
            if kept and not os.path.exists(result.sources[number]):
                continue
            manifest[result.path + name] = blob
        post = posts_by_display[result.card.post.display]
        if post.slug in instagram and wants_instagram_image(post, config):
            try:
                manifest[result.path + INSTAGRAM_FILE] = str(instagram_copy(post, config, cache))
            except ValueError as exc:  # its picture cannot be read whole: the page stays
                assert post.image is not None
                problems.append(_image_problem(post, post.image, exc))
    memo = ListMemo(cache, index.environment, index)
    renderer.memo = memo  # for this build only: the renderer is kept for the next one
    try:
        cards = [r.card for r in results]
        cached = str(cache.folder.resolve())
        for item in site_files(cards, renderer, at, results, cache):
            if item.source is None and item.data is None:
                continue  # a list page to render: memo.finish() makes it
            if item.source is not None:
                source = str(item.source)
                manifest[item.path] = (
                    source if source.startswith(cached) else _copy_blob(cache, Path(item.source))
                )
            else:
                assert item.data is not None
                manifest[item.path] = _blob(cache, item.data)
        if memo.pending:  # compiled before any list renderers fork (at once if done already)
            renderer.compile_all()
        manifest.update(memo.finish())
    finally:
        renderer.end_build()
    memo.save()
    moved: dict[str, str] = {}
    for old, new in old_addresses(config).items():
        path, target = f"posts/{old}/index.html", f"posts/{new}/index.html"
        if path not in manifest and target in manifest:
            url = renderer.url(f"posts/{new}/")
            page = redirect_page(url, config.site.language, "Moved", "This article has moved:")
            manifest[path] = _blob(cache, page)
            moved[old] = new
    return manifest, len(results), problems, moved


def old_addresses(config: Config) -> dict[str, str]:
    """The slugs published posts had before (their links are out on Facebook, Instagram and
    in people's bookmarks) and the slug each has now; none without a ledger."""
    if not config.ledger_path.exists():
        return {}
    from publisher.ledger import Ledger

    with Ledger.for_reading(config.ledger_path) as ledger:
        return ledger.slug_changes()


def feed_html(result: PageResult, config: Config, cache: Cache) -> str:
    """The cached file of a post's article HTML, made from its file if it is not there yet.

    A post whose file cannot be rendered now (the last good version the site keeps of a
    post with a problem, or a file that changed during the build) is carried by its
    description and a link to its page."""
    if os.path.exists(result.html_blob):
        return result.html_blob
    source = config.root / result.card.post.display
    post, _ = read_post(source, config)
    page = plan_post(post, config, social=False)[0] if post is not None else None
    if page is None:
        from html import escape

        link = escape(f"{_prefix(config)}/{result.path}")
        text = f'<p>{escape(result.card.description)}</p>\n<p><a href="{link}">Read the article</a></p>\n'
        return _blob(cache, text.encode("utf-8"))
    return _blob(cache, page.rendered.html.encode("utf-8"))


def site_files(
    cards: list[Card], renderer: SiteRenderer, at: datetime, results: list[PageResult], cache: Cache
) -> Iterator[OutputFile]:
    """The lists of the site (index, tags, feed, sitemap) and its fixed files."""
    yield from renderer.index_pages(cards)
    tag_files = list(renderer.tag_pages(cards))
    yield from tag_files
    modified = [c.post.updated or c.post.date for c in cards]  # (CardPost.modified)
    updated = max(modified, default=at)
    # the articles' HTML is made when the feed is rendered (with the other lists, on every
    # core), and not at all when the feed shows the same as last time
    newest = [
        FeedEntry(
            r.card,
            Path(r.html_blob),
            renderer.url(r.card.path),
            partial(feed_html, r, renderer.config, cache),
        )
        for r in results[: renderer.config.site.feed_entries]
    ]
    yield renderer.feed(newest, updated)
    entries: list[tuple[str, datetime | None]] = [("", updated)]
    entries += zip([c.path for c in cards], modified, strict=True)
    entries += [
        (path, None)
        for f in tag_files
        if not (path := f.path.removesuffix("index.html")).endswith(FIRST_PAGE)  # a redirect
    ]
    per_page = renderer.config.site.posts_per_page
    entries += [(f"page/{n}/", None) for n in range(2, -(-len(cards) // per_page) + 1)]
    yield renderer.sitemap(entries)
    yield from renderer.fixed_pages()


def build_site(
    config: Config,
    at: datetime | None = None,
    output: Path | None = None,
    instagram: set[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    allow_empty: bool = False,
    then: Callable[[], None] | None = None,
    exiting: bool = False,
) -> BuildResult:
    """Build the site as it is at `at` (default: now) and swap it into the output folder.

    `instagram`: the posts whose Instagram delivery can still go out (they need the
    Instagram-ready image on the site); by default read from the ledger and calendar.
    `should_stop`: while another build into the folder runs, give up (Stopped) when it
    says so. `allow_empty`: a posts folder with no post at all empties a site that has
    articles (refused otherwise: see refuse_emptying). `then`: run once the site is in
    place, before another build into the folder may begin (a pass's deploy command, which
    copies the folder: a build swapping it meanwhile would be copied in part).
    `exiting`: the process ends right after (`publisher build`): what the build made in
    memory is left to the exit (cli.entry) instead of being freed object by object, a
    twentieth of a rebuild of 10,000 posts.
    """
    at = at or current_time(config.tz)
    target = output or config.output_dir
    require_posts_folder(config)
    with output_lock(target, should_stop, config.display_path(target)):
        index = BuildIndex(config.cache_dir, environment_fingerprint(config))
        if (blocked := cannot_write_site(target)) is not None:  # (the cache's is said above)
            index.close()
            raise PublisherError(f"the website cannot be built: {blocked}")
        with _cycle_collector_paused(exiting), snapshot():
            result = _build(config, at, target, index, instagram, allow_empty, exiting)
        if then is not None:
            then()
        return result


@contextmanager
def _cycle_collector_paused(exiting: bool = False) -> Iterator[None]:
    """A build makes tens of thousands of long-lived objects and little cyclic garbage; as
    the heap grows, Python's cycle collector walks all of it again and again (a fifth of
    the time of a rebuild of 10,000 posts). It is paused for the build and runs as before
    afterwards; the worker processes keep it on. `exiting` (build_site's): the objects the
    build leaves to the exit are set aside from the collector first, which would otherwise
    walk all of them once more when it runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if exiting:
            gc.freeze()
        if enabled:
            gc.enable()


def _build(
    config: Config,
    at: datetime,
    target: Path,
    index: BuildIndex,
    instagram: set[str] | None,
    allow_empty: bool = False,
    exiting: bool = False,
) -> BuildResult:
    later: list[Callable[[], object]] = []  # the spare copy of a first site: at the very end
    try:
        given = instagram  # None: read from the ledger, so the ledger is an input too
        names = post_file_names(config.posts_dir)
        if not allow_empty:
            refuse_emptying(config, names, target, index.get_state)
        known_depends = index.get_state("depends") or []
        quick = input_signature(config, index, known_depends, given, names)
        last = index.get_state(LAST_BUILD)
        if last is not None and last.still_current(quick, target, at):
            warnings = last.warnings(at)
            return BuildResult(
                target, last.published, last.unchanged(), last.problems, warnings=warnings
            )
        staging = first_staging(target)
        # the article page's templates compiled once here, before the workers fork, for
        # them; the others while they work (prepare_all), for the lists
        _renderer_for(config, index.environment).compile_page_templates()
        state = gather(config, at, index, names=names, staging=staging)
        posts = list(state.loaded.posts)
        times = [p.date for p in posts]
        if instagram is None:
            from publisher.calendar import instagram_plan

            # a live post kept as it was (its file has a problem) keeps its Instagram image
            # while its delivery waits for the fix
            instagram, deadlines = instagram_plan(config, posts + state.held, at)
            times += deadlines
        manifest, published, problems, moved = site_manifest(config, state, at, instagram, index)
        key = tree_key(target)
        kept = index.get_state(key)
        memory = TreeMemory.from_bytes(kept) if isinstance(kept, bytes) else None
        before = memory.output if memory is not None and memory.output else _pages_in(target)
        stats, memory = write_linked_tree(manifest, target, memory, state.staged, later)
        removed = sorted(
            path.removesuffix("index.html")
            for path in before
            if path.startswith("posts/") and path.endswith("/index.html") and path not in manifest
        )
        index.set_state(key, memory.to_bytes())
        # each file as the build read it (what every post found depends on is current)
        read = {d: sig for p in state.prepared.values() for d, sig in p.depends.items()}
        depends = sorted(read)
        if depends != known_depends:
            quick = input_signature(config, index, depends, given, names, read)
            index.set_state("depends", depends)
        # the warnings of the posts on the site, from what the build read (as a pass says them)
        live = [p for p in posts if p.is_published(at)]
        linking = [(p, _page_links(state.prepared.get(p.display))) for p in live]
        built = LastBuild(
            quick,
            str(target),
            at,
            sorted([moment.timestamp() for moment in times]),
            published,
            stats.files,
            problems,
            post_updates(live),
            (
                *curly_quoted_texts(live),
                *tag_collisions(live),
                *link_warnings(linking, posts + state.held, config, at),
            ),
        )
        index.set_state(LAST_BUILD, built)
        index.forget_state("last_build", f"tree {target}")  # (kept so by the releases before)
        if exiting:
            _LEFT_FOR_EXIT.append((state, posts, manifest, memory, before, read, live, linking))
    finally:
        index.close()
    for start in later:
        start()
    result = BuildResult(target, published, stats, problems, removed, moved, built.warnings(at))
    if removed:
        renamed = old_addresses(config)
        result.removed_redirects = {
            path: renamed[path[6:-1]] for path in removed if path[6:-1] in renamed
        }
    return result


def tree_key(site: Path | str) -> str:
    """The build cache's key of what the site's folder and its spare copy hold (TreeMemory).
    2: the spare copy kept as the files that differ (the earlier form is another key, so
    that an earlier release given this cache reads neither wrongly)."""
    return f"tree 2 {site}"


# what builds made in a process that ends right after them (build_site's `exiting`)
_LEFT_FOR_EXIT: list[tuple[object, ...]] = []


def refuse_emptying(
    config: Config, names: list[str], site: Path, remembered: Callable[[str], Any]
) -> None:
    """Stop when the posts folder holds no post file at all (`names`) while the site built
    into `site` has articles: a disk that did not mount leaves its mount point an empty
    folder, which is far likelier than every post deleted. Nothing is built, deployed, sent
    or forgotten by the cache; `publisher build --allow-empty` empties the site on purpose.
    `remembered`: the build cache's state by key (BuildIndex.get_state), where to look when
    the site's folder was deleted."""
    if names:
        return
    pages = _pages_in(site)
    if not pages:  # deleted by hand: what the last build put there
        kept = remembered(tree_key(site)) or remembered(f"tree {site}")  # (or a release's before)
        if isinstance(kept, bytes):
            pages = TreeMemory.from_bytes(kept).output or {}
    articles = sum(
        1
        for path, source in pages.items()
        if path.startswith("posts/")
        and path.endswith("/index.html")
        and not _redirects(source or site / path)
    )
    if articles:
        raise PublisherError(
            f"the posts folder {config.posts_dir} holds no posts, while the website built "
            f"into {config.display_path(site)} has {articles} article(s): if the posts are on a "
            "disk of their own, check that it is mounted. Nothing is built, deployed or sent, "
            "and the website keeps its pages, until the posts are back. To empty the website "
            "on purpose, run  publisher build --allow-empty"
        )


def _redirects(page: Path | str) -> bool:
    """True when the page at `page` (in the site, or its file in the cache) only sends
    visitors on: a renamed post's old address, not an article."""
    try:
        with open(page, "rb") as file:
            return is_redirect_page(file.read(1024))
    except OSError:
        return False  # (counted as an article: the site had a page there)


def _pages_in(output: Path) -> dict[str, str]:
    """The article pages a built site holds, as its paths (what the build remembers of it
    is gone with the cache): to say which ones a build takes off."""
    try:
        names = os.listdir(output / "posts")
    except OSError:
        return {}
    return {
        f"posts/{name}/index.html": ""
        for name in names
        if os.path.exists(output / "posts" / name / "index.html")
    }


LAST_BUILD = "last build 2"  # 2: LastBuild.change_times in POSIX seconds


@dataclass(frozen=True)
class LastBuild:
    """What the last build was made from, to know at once when nothing would change."""

    inputs: str
    output: str
    at: datetime
    # when a post goes live or an Instagram image stops being needed, in POSIX seconds (quicker
    # to keep and load than 10,000 times with their zone)
    change_times: list[float]
    published: int
    files: int
    problems: list[ContentError]
    # the warnings of the posts on the site: their `updated:` (said while still to come) and
    # the others, which do not change with the clock
    updates: Sequence[Update] = ()
    steady: tuple[ContentWarning, ...] = ()

    def warnings(self, at: datetime) -> list[ContentWarning]:
        """The warnings of the posts this build put on the site, as of `at`, by file and line."""
        found = [*update_warnings(self.updates, at), *self.steady]
        return sorted(found, key=lambda w: (w.path, w.line or 0))

    def still_current(self, inputs: str, output: Path, at: datetime) -> bool:
        """True when a build now would write exactly what the last one wrote."""
        if inputs != self.inputs or str(output) != self.output or not (output / MARKER).exists():
            return False
        # Nothing goes live (or stops being needed) between the last build's time and now.
        return bisect.bisect_right(self.change_times, at.timestamp()) == bisect.bisect_right(
            self.change_times, self.at.timestamp()
        )

    def unchanged(self) -> WriteStats:
        """The write statistics of a build that found nothing to do."""
        return WriteStats(files=self.files, changed=0, unchanged=self.files)


def input_signature(
    config: Config,
    index: BuildIndex,
    depends: list[str],
    instagram: set[str] | None,
    names: list[str] | None = None,
    read: dict[str, Signature | None] | None = None,
) -> str:
    """A quick hash of everything a build reads: post files (by size, time and inode), the
    images they name, the templates and config (the index's environment) and the ledger.
    `read`: the signatures of `depends` as the build found them, to use instead of asking
    the file system again."""
    digest = hashlib.sha256(index.environment.encode())
    names = post_file_names(config.posts_dir) if names is None else names
    digest.update("".join([f"{path}\0{file_signature(path)}\n" for path in names]).encode())
    digest.update(
        "".join(
            [f"{path}\0{read[path] if read else file_signature(path)}\n" for path in depends]
        ).encode()
    )
    if instagram is None:
        for path in (
            config.ledger_path,
            config.ledger_path.with_name(config.ledger_path.name + "-wal"),
        ):
            digest.update(f"{file_signature(path)}\n".encode())
    else:
        digest.update(" ".join(sorted(instagram)).encode())
    return digest.hexdigest()


def check_site(config: Config, at: datetime | None = None) -> list[ContentError]:
    """Every problem in the posts, rendering each one as a build would (whatever its date),
    and the warnings (ContentWarning: likely mistakes that stop nothing) as of `at`."""
    require_posts_folder(config)  # not 'all is well' while builds refuse to run
    # (the build cache read as it is: a command that only looks makes and changes none)
    remembered = partial(remembered_state, config.cache_dir)
    refuse_emptying(config, post_file_names(config.posts_dir), config.output_dir, remembered)
    with snapshot():
        return _check_site(config, at or current_time(config.tz))


def _check_site(config: Config, at: datetime) -> list[ContentError]:
    from publisher.content import post_warnings
    from publisher.ledger import PUBLISHED
    from publisher.render.social import SocialRenderer, social_problems  # not for a build

    loaded = load_posts(config)
    records = ledger_records(config)
    deliveries = _Deliveries(config, records)
    sent = {
        (post.display, r.channel)
        for post in loaded.posts
        for r in deliveries.of(post)
        if r.state == PUBLISHED
    }
    problems = [
        *loaded.problems,
        *loaded.warnings,
        *stray_post_files(config),
        *post_warnings(loaded.posts, at, config.site.allow_html, sent),
    ]
    problems += overdue_new_posts(config, loaded.posts, at, records)
    problems += live_post_warnings(config, loaded.posts, at, deliveries)
    problems += moved_into_a_problem(config, loaded, deliveries)
    problems += earlier_articles(config, loaded.posts, records)
    problems += _more_of_broken_posts(config, loaded, problems)
    renderer = SiteRenderer(config)
    social = SocialRenderer(config)
    linking = []
    for post in loaded.posts:
        page, _, found = plan_post(post, config)
        problems.extend(found)
        if page is not None:
            linking.append((post, page.links))
            renderer.post_page(page)
            rendered = page.rendered
        else:  # (a missing photo of the text, say): what Facebook and Instagram say too
            rendered = render_markdown(post.body, allow_html=config.site.allow_html)
        out = {r.channel for r in deliveries.of(post) if r.state == PUBLISHED}
        for problem in social_problems(post, rendered, config, social, out):
            problems.append(post.channel_problem(problem.message, problem.key))
    if any(links for _, links in linking):
        # a live post whose file has a problem now: the website still shows it as it was
        held = live_versions(config, {problem.path for problem in loaded.problems})
        problems += link_warnings(linking, [*loaded.posts, *held], config, at)
    problems.sort(key=lambda e: (e.path, e.line or 0))
    return problems


def ledger_records(config: Config) -> list[Record]:
    """Every delivery the ledger has (none before the first pass)."""
    if not config.ledger_path.exists():
        return []
    from publisher.ledger import Ledger

    with Ledger.for_reading(config.ledger_path) as ledger:
        return ledger.all()


class _Deliveries:
    """The ledger's deliveries, by file and by address, for check's look at each post."""

    def __init__(self, config: Config, records: Sequence[Record]):
        self.config = config
        self.by_source: dict[str, list[Record]] = {}
        self.by_slug: dict[str, list[Record]] = {}
        for record in records:
            self.by_source.setdefault(record.source, []).append(record)
            self.by_slug.setdefault(record.slug, []).append(record)

    def of(self, post: Post) -> list[Record]:
        """A post's deliveries: by its file (a changed title keeps its history), else by its
        address where the file that address was made from is gone (not another post's)."""
        mine = self.by_source.get(post.display)
        if mine:
            return mine
        return [
            r for r in self.by_slug.get(post.slug, ()) if not (self.config.root / r.source).exists()
        ]

    def live(self, records: Sequence[Record]) -> Record | None:
        """The website delivery among `records` whose page is on the site now."""
        from publisher.ledger import PUBLISHED

        for r in records:
            page = self.config.output_dir / "posts" / r.slug / "index.html"
            if r.channel == "website" and r.state == PUBLISHED and page.exists():
                return r
        return None

    def links(self, slug: str) -> str:
        """Who links to a post's page: the Facebook and Instagram posts that went out."""
        from publisher.ledger import PUBLISHED

        social = [
            r.channel.capitalize()
            for r in self.by_slug.get(slug, ())
            if r.channel != "website" and r.state == PUBLISHED
        ]
        if social:
            return f"the links already on {' and '.join(social)} lead to a page not found"
        return "links to it lead to a page not found"


def _more_of_broken_posts(
    config: Config, loaded: LoadedPosts, said: Sequence[ContentError]
) -> list[ContentError]:
    """What else check finds of the posts left out for a problem, read as far as they go: a
    photo of the text not found, an address another post has. Said with the first problem,
    not one fix at a time."""
    files = sorted({e.path for e in loaded.problems if e.path and is_post_name(e.path)})
    broken = []
    for display in files:
        post, _ = read_post(config.root / display, config, as_far_as_it_goes=True)
        if post is not None:
            broken.append(post)
    if not broken:
        return []
    known = {(e.path, e.line, e.message) for e in said}
    found: list[ContentError] = []
    for post in broken:
        found += plan_post(post, config, social=False)[2]
    settled = settle_posts([*loaded.posts, *broken], ())
    found += [*settled.problems, *settled.warnings]
    return [e for e in found if (e.path, e.line, e.message) not in known]


def moved_into_a_problem(
    config: Config, loaded: LoadedPosts, deliveries: _Deliveries
) -> list[ContentWarning]:
    """A live article's file moved or renamed, and the file it is now has a problem (a photo
    path that no longer leads from the new folder, say): the website keeps a live post that
    has a problem as it was, but it knows a post by its file, so the next pass takes the
    page off. Said on each new file with a problem that is that article, as far as can be
    told (its address, date or text; or a file too broken to tell), naming the file gone."""
    from publisher.content import split_front_matter
    from publisher.publish import body_fingerprint, text_fingerprint

    slugs = {post.slug for post in loaded.posts}
    gone = [
        website
        for source, records in deliveries.by_source.items()
        if (website := deliveries.live(records)) is not None
        and website.slug not in slugs  # (moved without a problem: its history follows it)
        and not (config.root / source).exists()
    ]
    if not gone:
        return []
    found = []
    broken = sorted({e.path for e in loaded.problems if e.path and is_post_name(e.path)})
    for display in broken:
        if display in deliveries.by_source:
            continue  # (its own file: check says it is kept as it was)
        post, _ = read_post(config.root / display, config, as_far_as_it_goes=True)
        if post is None:  # no title or date to go by: its text, if it can be read
            try:
                text = (config.root / display).read_text(encoding="utf-8")
                words = text_fingerprint(split_front_matter(text, display)[1])
            except (OSError, UnicodeDecodeError, ContentError):
                words = None
            maybe = [w for w in gone if words == w.content_hash] if words else gone
        else:
            text = body_fingerprint(post)
            maybe = [
                w
                for w in gone
                if post.slug == w.slug or post.date == w.due_at or text == w.content_hash
            ]
        for website in maybe:
            found.append(
                ContentWarning(
                    f"{website.source}, live on the website, is gone: if this file is it, "
                    "moved or renamed, fix its problem before the next pass, which otherwise "
                    f"takes the page off the website (and {deliveries.links(website.slug)}), "
                    "or put the file back where it was",
                    display,
                )
            )
    return found


def earlier_articles(
    config: Config, posts: Sequence[Post], records: Sequence[Record]
) -> list[ContentWarning]:
    """Each post that took the address of an earlier article taken down (publish.earlier_article):
    its Facebook and Instagram posts would never go out."""
    from publisher.publish import another_articles_known, earlier_article, earlier_article_said

    found = []
    known = another_articles_known(config) if records else set()
    for post in posts:
        if (website := earlier_article(config, post, records, known)) is not None:
            found.append(
                ContentWarning(
                    earlier_article_said(config, post, website, records),
                    post.display,
                    post.line_of("slug") or post.line_of("title"),
                )
            )
    return found


def live_post_warnings(
    config: Config, posts: Sequence[Post], at: datetime, deliveries: _Deliveries
) -> list[ContentWarning]:
    """An article on the website whose edit takes it off at the next pass: its date moved
    later, or draft: true. The links already on Facebook and Instagram would then lead to a
    page not found; a person who meant to correct the article likely did not want that."""
    found = []
    for post in posts:
        website = deliveries.live(deliveries.of(post))  # (its page on the site now)
        if website is None:
            continue
        since = (website.published_at or website.due_at).astimezone(config.tz)
        links = deliveries.links(website.slug)
        if post.draft:
            found.append(
                ContentWarning(
                    f"draft: true, but this article is live (on the website since "
                    f"{since:%Y-%m-%d %H:%M}): the next pass takes its page off the website, "
                    f"and {links}. To correct the article instead, leave draft: false and edit "
                    "it: its page is updated in place",
                    post.display,
                    post.line_of("draft"),
                )
            )
        elif post.date > at and post.date > website.due_at:  # (moved later)
            found.append(
                ContentWarning(
                    f"date: {post.date.astimezone(config.tz):%Y-%m-%d %H:%M} is still to come, "
                    f"but this article is live (on the website since {since:%Y-%m-%d %H:%M}): "
                    f"the next pass takes its page off the website until then, and meanwhile "
                    f"{links}. To keep it up, put back  date: {website.due_at.astimezone(config.tz):%Y-%m-%d %H:%M}  "
                    "(add  updated:  with today's date to show it was changed)",
                    post.display,
                    post.line_of("date"),
                )
            )
    return found


def overdue_new_posts(
    config: Config, posts: Sequence[Post], at: datetime, records: Sequence[Record]
) -> list[ContentWarning]:
    """A post that never went out (a draft too), dated further back than `max_lateness`, on
    a site that publishes already: the next pass puts it on the website at once, under newer articles,
    and marks its Facebook and Instagram posts missed. A year typed wrong (2025 for 2026)
    is likelier than an old article added on purpose, so `check` says so. Before the first
    pass (no ledger), a whole archive being set up is past: nothing is said."""
    from publisher.calendar import SOCIAL_CHANNELS, channel_enabled
    from publisher.config import parse_duration

    if not records:
        return []
    known = {r.slug for r in records} | {r.source for r in records}
    late = parse_duration(config.publish.max_lateness)
    pages = config.output_dir / "posts"
    found = []
    for post in posts:
        if at - post.date <= late or known & {post.slug, post.display}:
            continue
        if (pages / post.slug / "index.html").exists():  # on the website already
            continue
        social = [c for c in SOCIAL_CHANNELS if channel_enabled(post, c, config)]
        names = " and ".join(c.capitalize() for c in social)
        missed = (
            f", and its {names} post{'s are' if len(social) > 1 else ' is'} marked missed "
            f"(more than {config.publish.max_lateness} late: `publisher retry` sends "
            f"{'them' if len(social) > 1 else 'it'})"
            if social
            else ""
        )
        # (a draft too: under a running service, the save that ends the draft publishes)
        when = "once it is no draft, the next" if post.draft else "the next"
        found.append(
            ContentWarning(
                f"date: {post.date.astimezone(config.tz):%Y-%m-%d %H:%M} was "
                f"{how_long(at - post.date)} ago, and this post has not gone out: {when} "
                "publishing pass puts it on the website at once, dated then (under newer "
                f"articles){missed}. A mistyped year, or a time already past? Write when it "
                "should go out; an old article added on purpose can stay as it is"
                + (" (before you set draft: false)" if post.draft else ""),
                post.display,
                post.line_of("date"),
            )
        )
    return found


def live_versions(config: Config, broken: set[str]) -> list[Post]:
    """The version the website shows of each post file in `broken` (files with a problem
    now): the last good build kept for it, or, before any build since the problem, the
    entry still in the build index. Posts never published have none."""
    if not broken or not (config.cache_dir / "build-index.sqlite").exists():
        return []
    index = BuildIndex(config.cache_dir, environment_fingerprint(config))
    try:
        found = {d: e for d, e in index.load_kept().items() if d in broken}
        for display, entry in index.load_earlier(broken - found.keys()).items():
            # an earlier version of the file (not the file as it is, whose problem is with
            # another post: a slug already taken)
            current = file_signature(config.root / display)
            if entry.page is not None and entry.signature != current:
                found[display] = entry
    finally:
        index.close()
    return [entry.post for entry in found.values() if entry.post is not None]


def load_posts_cached(config: Config, at: datetime) -> LoadedPosts:
    """Every post, quickly: from the build cache where unchanged (their text is left out).

    For deciding what is due; read a post's file again (read_post) for its text. Stops
    (PublisherError) when the posts folder is missing, or holds no post while the site has
    articles (refuse_emptying).
    """
    require_posts_folder(config)
    index = BuildIndex(config.cache_dir, environment_fingerprint(config))
    try:
        # a posts folder with nothing in it would make the index forget every post, and
        # the last good version it keeps of a live post with a problem
        names = post_file_names(config.posts_dir)
        refuse_emptying(config, names, config.output_dir, index.get_state)
        with _cycle_collector_paused(), snapshot():
            return gather(config, at, index, pages=False, names=names).loaded
    finally:
        index.close()
