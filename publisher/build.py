"""Building the website: posts in, a complete site out, or the previous site left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from publisher.cache import Cache, content_key
from publisher.config import Config
from publisher.content import LoadedPosts, Post, load_posts
from publisher.exceptions import ContentError
from publisher.output import WriteStats, write_tree
from publisher.render.images import inspect_image, instagram_image
from publisher.render.markdown import ImageRef, render_markdown
from publisher.render.site import OutputFile, PostPage, SiteRenderer
from publisher.render.social import SocialRenderer, social_problems
from publisher.times import now as current_time

INSTAGRAM_FILE = "instagram.jpg"
# Bump when instagram_image() changes what it makes, so cached copies are made again.
IMAGE_RECIPE = "instagram-image-1"


@dataclass
class SitePlan:
    """What a build would write: the pages of published posts, their files, and the problems."""

    pages: list[PostPage] = field(default_factory=list)
    images: list[OutputFile] = field(default_factory=list)
    problems: list[ContentError] = field(default_factory=list)
    loaded: LoadedPosts | None = None


@dataclass
class BuildResult:
    """The outcome of a build: what was published and written, and what went wrong."""

    output: Path
    published: int
    stats: WriteStats
    problems: list[ContentError]

    @property
    def ok(self) -> bool:
        """True when every post built."""
        return not self.problems


def _is_local(src: str) -> bool:
    parts = urlsplit(src)
    return not parts.scheme and not parts.netloc and not src.startswith("/") and bool(parts.path)


def plan_post(
    post: Post, config: Config
) -> tuple[PostPage | None, list[OutputFile], list[ContentError]]:
    """Render one post's page and list the image files it needs copied next to it."""
    folder = f"posts/{post.slug}/"
    copies: dict[Path, str] = {}
    problems: list[ContentError] = []
    taken: set[str] = {INSTAGRAM_FILE, "index.html"}

    def place(source: Path) -> ImageRef:
        name = copies.get(source)
        if name is None:
            stem, dot, ext = source.name.rpartition(".")
            name, n = source.name, 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}{dot}{ext}"
            taken.add(name)
            copies[source] = name
        info = inspect_image(source)
        return ImageRef(
            url=f"{_prefix(config)}/{folder}{name}", width=info.width, height=info.height
        )

    hero = place(post.image) if post.image else None

    def resolve(src: str) -> ImageRef | None:
        if not _is_local(src):
            return None
        path = (post.source.parent / src.split("#")[0].split("?")[0]).resolve()
        if config.posts_dir not in path.parents or not path.is_file():
            problems.append(
                ContentError(
                    f"image {src!r} in the text was not found inside the posts folder: "
                    "check the path (relative to the post file)",
                    post.display,
                    post.body_line,
                )
            )
            return None
        try:
            return place(path)
        except ValueError:
            problems.append(
                ContentError(
                    f"image {src!r} in the text is not an image file", post.display, post.body_line
                )
            )
            return None

    rendered = render_markdown(post.body, allow_html=config.site.allow_html, resolve_image=resolve)
    if problems:
        return None, [], problems
    page = PostPage(post=post, rendered=rendered, image=hero, path=folder)
    files = [OutputFile(folder + name, source=source) for source, name in copies.items()]
    return page, files, []


def _prefix(config: Config) -> str:
    return urlsplit(config.base_url).path.rstrip("/")


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


def plan_site(config: Config, at: datetime) -> SitePlan:
    """Read every post and render the ones published at `at`; nothing is written."""
    loaded = load_posts(config)
    plan = SitePlan(problems=list(loaded.problems), loaded=loaded)
    cache = Cache(config.cache_dir)
    for post in loaded.posts:
        if not post.is_published(at):
            continue
        page, files, problems = plan_post(post, config)
        plan.problems.extend(problems)
        if page is not None:
            plan.pages.append(page)
            plan.images.extend(files)
            if wants_instagram_image(post, config):
                copy = instagram_copy(post, config, cache)
                plan.images.append(OutputFile(page.path + INSTAGRAM_FILE, source=copy))
    return plan


def site_files(plan: SitePlan, renderer: SiteRenderer, at: datetime) -> Iterator[OutputFile]:
    """Every file of the site, in the order they are written."""
    pages = plan.pages
    for page in pages:
        yield renderer.post_page(page)
    yield from plan.images
    yield from renderer.index_pages(pages)
    tag_files = list(renderer.tag_pages(pages))
    yield from tag_files
    updated = max((p.post.date for p in pages), default=at)
    yield renderer.feed(pages, updated)
    entries: list[tuple[str, datetime | None]] = [("", updated)]
    entries += [(p.path, p.post.date) for p in pages]
    entries += [(f.path.removesuffix("index.html"), None) for f in tag_files]
    per_page = renderer.config.site.posts_per_page
    entries += [(f"page/{n}/", None) for n in range(2, -(-len(pages) // per_page) + 1)]
    yield renderer.sitemap(entries)
    yield from renderer.fixed_pages()


def build_site(
    config: Config, at: datetime | None = None, output: Path | None = None
) -> BuildResult:
    """Build the site as it is at `at` (default: now) and swap it into the output folder."""
    at = at or current_time(config.tz)
    plan = plan_site(config, at)
    renderer = SiteRenderer(config)
    target = output or config.output_dir
    stats = write_tree(site_files(plan, renderer, at), target)
    return BuildResult(
        output=target, published=len(plan.pages), stats=stats, problems=plan.problems
    )


def check_site(config: Config, at: datetime | None = None) -> list[ContentError]:
    """Every problem in the posts, rendering each one as a build would (whatever its date)."""
    loaded = load_posts(config)
    problems = list(loaded.problems)
    renderer = SiteRenderer(config)
    social = SocialRenderer(config)
    for post in loaded.posts:
        page, _, found = plan_post(post, config)
        problems.extend(found)
        if page is not None:
            renderer.post_page(page)
            for problem in social_problems(post, page.rendered, config, social):
                problems.append(post.error(problem.message, problem.key))
    problems.sort(key=lambda e: (e.path, e.line or 0))
    return problems
