"""`publisher preview --html`: a private folder showing each post as Facebook and Instagram will.

The pages use relative links only, so the folder works opened from disk as well as served.
It is written with the same atomic swap as the site, and it is never part of the site.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from publisher.build import INSTAGRAM_FILE, instagram_copy, wants_instagram_image
from publisher.cache import Cache
from publisher.calendar import CHANNELS
from publisher.config import Config
from publisher.exceptions import PublisherError
from publisher.output import write_tree
from publisher.preview import PostPreview
from publisher.render.images import inspect_image
from publisher.render.site import OutputFile
from publisher.render.social import (
    FACEBOOK_MESSAGE_MAX,
    HASHTAG,
    INSTAGRAM_CAPTION_MAX,
    INSTAGRAM_HASHTAGS_MAX,
    INSTAGRAM_MENTIONS_MAX,
    MENTION,
    post_url,
)

TEMPLATE_FOLDER = "preview"
STYLESHEET = "preview.css"
TEMPLATE_FILES = ("base.html", "index.html", "post.html", STYLESHEET)
ROBOTS = (
    b"# A private preview for the clinic's staff: never to be indexed.\n"
    b"User-agent: *\nDisallow: /\n"
)
CHANNEL_NAMES = {"website": "Website", "facebook": "Facebook", "instagram": "Instagram"}

# Where the feeds fold a long text, measured in lines of the mock-ups' widths (a ~500 px
# Facebook card at 15 px, a 375 px phone at 14 px): close to what people see on the networks.
FACEBOOK_FOLD_LINES = 5
FACEBOOK_LINE_CHARS = 62
INSTAGRAM_FOLD_LINES = 2
INSTAGRAM_LINE_CHARS = 44

URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


@dataclass(frozen=True)
class Picture:
    """An image in a post's preview folder, with the size the page reserves for it."""

    name: str
    width: int
    height: int


@dataclass(frozen=True)
class Count:
    """A count against one of Meta's limits."""

    label: str
    value: int
    limit: int

    @property
    def over(self) -> bool:
        """True when the limit is broken."""
        return self.value > self.limit

    @property
    def percent(self) -> int:
        """How full the limit is, for the meter (0 to 100)."""
        return min(100, math.ceil(100 * self.value / self.limit)) if self.value else 0


@dataclass
class PreviewEntry:
    """One post as the preview pages show it: the preview plus what the pages need besides."""

    preview: PostPreview
    status: str
    path: str | None = None  # "posts/<slug>/" inside the preview folder; None: index only
    url: str | None = None
    og_image: Picture | None = None
    instagram_image: Picture | None = None
    not_going: dict[str, str] = field(default_factory=dict)  # channel -> why it is not sent
    files: list[OutputFile] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The post's title, or its file name when it could not be read."""
        return self.preview.post.title if self.preview.post else self.preview.source

    @property
    def schedule(self) -> list[tuple[str, str, datetime | None]]:
        """(channel, name, time or None) for every channel."""
        return [(c, CHANNEL_NAMES[c], self.preview.times.get(c)) for c in CHANNELS]

    @property
    def facebook_counts(self) -> list[Count]:
        """The Facebook message's length against the limit."""
        fb = self.preview.facebook
        return [Count("Characters", fb.length, FACEBOOK_MESSAGE_MAX)] if fb else []

    @property
    def instagram_counts(self) -> list[Count]:
        """The Instagram caption's length, hashtags and mentions against the limits."""
        ig = self.preview.instagram
        if ig is None:
            return []
        return [
            Count("Characters", ig.length, INSTAGRAM_CAPTION_MAX),
            Count("Hashtags", len(ig.hashtags), INSTAGRAM_HASHTAGS_MAX),
            Count("Mentions", len(ig.mentions), INSTAGRAM_MENTIONS_MAX),
        ]


def write_preview_site(config: Config, previews: Sequence[PostPreview], at: datetime) -> Path:
    """Write the preview folder ([site] preview) in one swap and return it."""
    entries = plan_preview(config, previews, at)
    renderer = PreviewRenderer(config)
    files = list(renderer.files(entries, at))
    for entry in entries:
        files.extend(entry.files)
    write_tree(files, config.preview_dir)
    return config.preview_dir


def plan_preview(
    config: Config, previews: Sequence[PostPreview], at: datetime
) -> list[PreviewEntry]:
    """Decide each post's page and image files; makes the Instagram copies (cached) if needed."""
    cache = Cache(config.cache_dir)
    entries: list[PreviewEntry] = []
    taken: set[str] = set()
    for preview in previews:
        entry = PreviewEntry(preview=preview, status=preview.status(at))
        entries.append(entry)
        post, page = preview.post, preview.page
        if post is None or page is None:
            continue
        path = page.path
        n = 1
        while path in taken:  # two files given with the same slug: keep both pages
            n += 1
            path = f"{page.path.rstrip('/')}-{n}/"
        taken.add(path)
        entry.path = path
        entry.url = post_url(config, post)
        if page.image is not None and post.image is not None:
            name = page.image.url.rsplit("/", 1)[-1]
            entry.og_image = Picture(name, page.image.width, page.image.height)
            entry.files.append(OutputFile(path + name, source=post.image))
        for channel in ("facebook", "instagram"):
            reason = not_going_reason(preview, channel, config)
            if reason:
                entry.not_going[channel] = reason
        if "instagram" not in entry.not_going and wants_instagram_image(post, config):
            try:
                copy = instagram_copy(post, config, cache)
                info = inspect_image(copy)
            except (OSError, ValueError) as exc:
                entry.not_going["instagram"] = f"The Instagram copy of the photo failed: {exc}"
            else:
                entry.instagram_image = Picture(INSTAGRAM_FILE, info.width, info.height)
                entry.files.append(OutputFile(path + INSTAGRAM_FILE, source=copy))
    return entries


def not_going_reason(preview: PostPreview, channel: str, config: Config) -> str | None:
    """Why the post will not appear on `channel`, in words for the staff; None if it will."""
    post = preview.post
    name = CHANNEL_NAMES[channel]
    if post is None or preview.page is None:
        return "The post could not be read or rendered: fix the problems listed above."
    if post.draft:
        return f"This post is a draft (draft: true): nothing goes to {name} until that line is removed."
    if not config.channel(channel).enabled:
        return (
            f"{name} is switched off for every post in config.toml ([{channel}] enabled = false)."
        )
    if not getattr(post, channel).enabled:
        return f"This post's front matter says {channel}: false."
    if channel == "instagram" and post.image is None:
        return (
            "Instagram needs a photo and this post has none: add image: and image_alt: to "
            "its front matter, or write instagram: false."
        )
    if getattr(preview, channel) is None:
        return f"Nothing was rendered for {name}."
    return None


def marked_text(text: str, patterns: Sequence[re.Pattern[str]], css: str) -> Markup:
    """Escape text and wrap what the network would turn into links (URLs, #tags, @names)."""
    combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns))
    out: list[str] = []
    last = 0
    for match in combined.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup('<span class="{}">{}</span>').format(css, match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def needs_fold(text: str, per_line: int, lines: int, first_line_extra: int = 0) -> bool:
    """True when the text would take more than `lines` lines at `per_line` characters each."""
    used = 0
    for index, line in enumerate(text.split("\n")):
        length = len(line) + (first_line_extra if index == 0 else 0)
        used += max(1, math.ceil(length / per_line))
        if used > lines:
            return True
    return False


def initials(name: str) -> str:
    """'Kneaded Tranquility' -> 'KT', 'kneadedtranquility' -> 'K': for the avatar circles."""
    words = [w for w in re.split(r"[\s._-]+", name) if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def day(moment: datetime) -> str:
    """'Tue 21 Oct 2025'."""
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def long_time(moment: datetime) -> str:
    """'Tue 21 Oct 2025, 9:30 AM' (every time shown is in the site's zone)."""
    return f"{day(moment)}, {clock(moment)}"


def long_date(moment: datetime) -> str:
    """'October 21, 2025', as Facebook and Instagram date a post."""
    return f"{moment:%B} {moment.day}, {moment.year}"


def clock(moment: datetime) -> str:
    """'9:30 AM'."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


class PreviewRenderer:
    """Renders the preview pages with the staff-editable templates in templates/preview/."""

    def __init__(self, config: Config, templates_dir: Path | None = None):
        self.config = config
        self.folder = (templates_dir or config.templates_dir) / TEMPLATE_FOLDER
        missing = [name for name in TEMPLATE_FILES if not (self.folder / name).is_file()]
        if missing:
            raise PublisherError(
                f"the preview templates are missing: {self.folder} has no {', '.join(missing)}; "
                "copy the templates/preview/ folder from publisher into your templates folder"
            )
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.folder)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        domain = urlsplit(config.base_url).netloc
        self.env.globals.update(
            site=config.site,
            business=config.business,
            page_name=config.facebook.page_name or config.business.name,
            username=config.instagram.username or config.business.name,
            domain=domain.removeprefix("www."),
            timezone=config.site.timezone,
        )
        self.env.filters.update(
            initials=initials,
            long_time=long_time,
            long_date=long_date,
            day=day,
            clock=clock,
            thousands=lambda number: f"{number:,}",
            facebook_text=lambda text: marked_text(text, [URL, HASHTAG], "fb-link"),
            instagram_text=lambda text: marked_text(text, [HASHTAG, MENTION], "ig-link"),
            iso=lambda moment: moment.isoformat(timespec="minutes"),
        )

    def render(self, template: str, **context: object) -> bytes:
        """One template to bytes."""
        try:
            return self.env.get_template(template).render(**context).encode("utf-8")
        except jinja2.TemplateError as exc:
            where = f"{self.folder / template}"
            line = getattr(exc, "lineno", None)
            raise PublisherError(
                f"{where}{f':{line}' if line else ''}: the preview template failed: {exc}"
            ) from None

    def files(self, entries: Sequence[PreviewEntry], at: datetime) -> Iterator[OutputFile]:
        """The index, one page per post that has one, the stylesheet and robots.txt."""
        statuses = [entry.status for entry in entries]
        summary = {s: statuses.count(s) for s in ("problem", "draft", "scheduled", "published")}
        yield OutputFile(
            "index.html",
            self.render("index.html", entries=entries, at=at, summary=summary, root=""),
        )
        for entry in entries:
            if entry.path is None:
                continue
            yield OutputFile(entry.path + "index.html", self.post_page(entry, at))
        yield OutputFile(STYLESHEET, source=self.folder / STYLESHEET)
        yield OutputFile("robots.txt", ROBOTS)

    def post_page(self, entry: PreviewEntry, at: datetime) -> bytes:
        """One post's page: the Facebook card, the Instagram post, counts, times, problems."""
        assert entry.path is not None
        preview = entry.preview
        username = self.env.globals["username"]
        fold_facebook = preview.facebook is not None and needs_fold(
            preview.facebook.message, FACEBOOK_LINE_CHARS, FACEBOOK_FOLD_LINES
        )
        fold_instagram = preview.instagram is not None and needs_fold(
            preview.instagram.caption,
            INSTAGRAM_LINE_CHARS,
            INSTAGRAM_FOLD_LINES,
            first_line_extra=len(str(username)) + 1,
        )
        return self.render(
            "post.html",
            entry=entry,
            preview=preview,
            post=preview.post,
            page=preview.page,
            at=at,
            fold_facebook=fold_facebook,
            fold_instagram=fold_instagram,
            root="../" * entry.path.count("/"),
        )
