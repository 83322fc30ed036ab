"""`publisher preview --html`: a private folder showing each post as Facebook and Instagram will.

The pages use relative links only, so the folder works opened from disk as well as served.
It is written with the same atomic swap as the site, and it is never part of the site.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup, escape

from publisher.agenda import CHANGED, DRAFT, DUE, AgendaEntry, agenda
from publisher.build import (
    INSTAGRAM_FILE,
    instagram_copy,
    site_image_file,
    wants_instagram_image,
)
from publisher.cache import Cache
from publisher.calendar import CHANNELS
from publisher.config import Config
from publisher.content import word_view
from publisher.exceptions import PublisherError
from publisher.ledger import RETRY, SENDING
from publisher.output import write_tree
from publisher.preview import PostPreview, left_out_why, states_needing_a_look
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
from publisher.render.templates import render_template

TEMPLATE_FOLDER = "preview"
STYLESHEET = "preview.css"
TEMPLATE_FILES = ("base.html", "index.html", "post.html", "calendar.html", "month.html", STYLESHEET)
CALENDAR_PAGE = "calendar/index.html"
ROBOTS = (
    b"# A private preview for the clinic's staff: never to be indexed.\n"
    b"User-agent: *\nDisallow: /\n"
)
CHANNEL_NAMES = {"website": "Website", "facebook": "Facebook", "instagram": "Instagram"}

# The calendar page: months from about two months back to the last delivery, at most a year
# of grids; the "Upcoming" list above them shows the next few deliveries.
MONTHS_BACK = 2
MONTHS_MAX = 12
UPCOMING_MAX = 10
STATE_NAMES = {
    "scheduled": "Scheduled",
    "due": "Due now",
    "sending": "Sending",
    "retry": "Will retry",
    "published": "Published",
    "failed": "Failed",
    "missed": "Missed",
    "skipped": "Skipped",
    "dry-run": "Dry run",
    "draft": "Draft",
    "waiting": "Waiting",
}
# What each state means, for the legend (in the order it lists them).
STATE_MEANINGS = {
    "scheduled": "goes out at its time",
    "due": "its time has come: the next pass sends it",
    "sending": "being sent right now",
    "retry": "failed for a passing reason; tried again on its own",
    "published": "went out",
    "failed": "did not go out: needs a person (publisher retry)",
    "missed": "too late to go out on its own (publisher retry)",
    "skipped": "someone chose not to send it",
    "dry-run": "shown, not sent: no token or account set",
    "draft": "the post is a draft: nothing goes out",
    "waiting": "the post's file has a problem since it went live: goes out once it is fixed",
}
STATE_MARKS = {
    "published": "✓",
    "failed": "⚠",
    "missed": "⚠",
    "retry": "↻",
    "due": "…",
    "sending": "…",
    "waiting": "⏸",
}

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
        if not self.value:
            return 0
        return min(100, math.ceil(100 * self.value / self.limit)) if self.limit else 100


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
    hashtags_max: int = INSTAGRAM_HASHTAGS_MAX  # config.toml's [instagram] hashtags_max
    # channel -> the ledger's (state, detail) of a delivery that did not go as planned
    # (preview.NEEDS_A_LOOK): a live post whose Facebook post was missed is not all "Published"
    states: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The post's title, or its file name when it could not be read."""
        return self.preview.post.title if self.preview.post else self.preview.source

    @property
    def schedule(self) -> list[tuple[str, str, datetime | None]]:
        """(channel, name, time or None) for every channel."""
        return [(c, CHANNEL_NAMES[c], self.preview.times.get(c)) for c in CHANNELS]

    @property
    def needs_a_look(self) -> list[tuple[str, str, str, str]]:
        """(kind, "Facebook missed", mark, detail) of each delivery that did not go as
        planned (kind "look") or was a dry run ("dry"), in channel order, for the badges
        beside the status."""
        out = []
        for channel in CHANNELS:
            if channel in self.states:
                state, detail = self.states[channel]
                word = state.split(" ", 1)[0]
                name = STATE_NAMES.get(word, word.capitalize()) + state[len(word) :]
                mark = STATE_MARKS.get(word, "")
                kind = "dry" if word == "dry-run" else "look"
                out.append((kind, f"{CHANNEL_NAMES[channel]} {name.lower()}", mark, detail))
        return out

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
            Count("Hashtags", len(ig.hashtags), self.hashtags_max),
            Count("Mentions", len(ig.mentions), INSTAGRAM_MENTIONS_MAX),
        ]


@dataclass(frozen=True)
class CalendarItem:
    """One delivery on the calendar, with its post's page in the preview folder if it has one."""

    entry: AgendaEntry
    path: str | None = None

    @property
    def channel_name(self) -> str:
        """'Facebook'."""
        return CHANNEL_NAMES[self.entry.channel]

    @property
    def state_name(self) -> str:
        """'Published', 'Will retry', 'Dry run'..."""
        return STATE_NAMES.get(self.entry.state, self.entry.state.capitalize())

    @property
    def mark(self) -> str:
        """The sign beside the time (✓ published, ⚠ failed or missed...), or ''."""
        return STATE_MARKS.get(self.entry.state, "")

    @property
    def tooltip(self) -> str:
        """The title, channel, full time, state and detail, one per line, for the hover text."""
        entry = self.entry
        state = f"{self.state_name} ({CHANGED})" if entry.changed else self.state_name
        lines = [entry.title, f"{self.channel_name} · {long_time(entry.when)}", state]
        if entry.detail:
            lines.append(entry.detail)
        return "\n".join(lines)


@dataclass(frozen=True)
class CalendarDay:
    """One cell of a month grid."""

    day: date
    in_month: bool
    today: bool
    items: tuple[CalendarItem, ...] = ()


@dataclass(frozen=True)
class CalendarMonth:
    """One month as a grid of weeks, Monday first."""

    first: date
    weeks: tuple[tuple[CalendarDay, ...], ...]

    @property
    def anchor(self) -> str:
        """'m-2026-12': the month's id on the calendar page."""
        return f"m-{self.first:%Y-%m}"

    @property
    def count(self) -> int:
        """How many deliveries fall in the month."""
        return sum(len(day.items) for week in self.weeks for day in week)


@dataclass(frozen=True)
class ContentCalendar:
    """What the calendar page shows: the next deliveries and the month grids."""

    today: date
    months: tuple[CalendarMonth, ...]
    upcoming: tuple[CalendarItem, ...]
    earlier: int  # deliveries before the first month shown
    later: int  # deliveries after the last month shown

    @property
    def current(self) -> CalendarMonth:
        """The month of today (always among the months shown)."""
        return next(m for m in self.months if m.first == self.today.replace(day=1))


def add_months(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) the month of `first`."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def calendar_months(days: Sequence[date], today: date) -> list[date]:
    """The first days of the months to draw for deliveries on `days` (sorted).

    From the month of the earliest delivery at most MONTHS_BACK months old to the month of
    the last one, always with the current month, and never more than MONTHS_MAX of them.
    """
    current = today.replace(day=1)
    oldest = add_months(current, -MONTHS_BACK)
    recent = [d.replace(day=1) for d in days if d >= oldest]
    first = min([current, *recent[:1]])
    last = max([current, *recent[-1:]])
    months = [first]
    while months[-1] < last and len(months) < MONTHS_MAX:
        months.append(add_months(months[-1], 1))
    return months


def month_grid(first: date, items: Sequence[CalendarItem], today: date) -> CalendarMonth:
    """The month of `first` in whole weeks, Monday to Sunday, with each day's deliveries.

    The days of the neighbouring months that fill the first and last weeks are drawn
    empty: their deliveries belong to their own month's grid.
    """
    by_day: dict[date, list[CalendarItem]] = {}
    for item in items:
        by_day.setdefault(item.entry.when.date(), []).append(item)
    start = first - timedelta(days=first.weekday())
    following = add_months(first, 1)
    weeks: list[tuple[CalendarDay, ...]] = []
    while start < following:
        week = []
        for offset in range(7):
            day = start + timedelta(days=offset)
            inside = day.month == first.month
            week.append(
                CalendarDay(
                    day=day,
                    in_month=inside,
                    today=day == today,
                    items=tuple(by_day.get(day, ())) if inside else (),
                )
            )
        weeks.append(tuple(week))
        start += timedelta(days=7)
    return CalendarMonth(first=first, weeks=tuple(weeks))


def plan_calendar(
    agenda_entries: Sequence[AgendaEntry], paths: Mapping[str, str], at: datetime
) -> ContentCalendar:
    """The calendar page's contents as of `at` (in the site's zone, as the entries' times are).

    `paths` maps a post's source file to its page in the preview folder.
    """
    ordered = sorted(agenda_entries, key=lambda e: (e.when, CHANNELS.index(e.channel), e.slug))
    items = [CalendarItem(e, paths.get(e.source)) for e in ordered]
    today = at.date()
    months = calendar_months([item.entry.when.date() for item in items], today)
    shown_from, shown_to = months[0], add_months(months[-1], 1)
    # What is still to go out: the future, and what waits for the next pass (from the months
    # drawn: a project that never ran a pass would list every old article). Drafts go nowhere.
    waiting = (DUE, RETRY, SENDING)
    upcoming = [
        i
        for i in items
        if i.entry.state != DRAFT
        and (i.entry.when >= at or (i.entry.state in waiting and i.entry.when.date() >= shown_from))
    ]
    return ContentCalendar(
        today=today,
        months=tuple(month_grid(first, items, today) for first in months),
        upcoming=tuple(upcoming[:UPCOMING_MAX]),
        earlier=sum(1 for i in items if i.entry.when.date() < shown_from),
        later=sum(1 for i in items if i.entry.when.date() >= shown_to),
    )


def calendar_link(calendar: ContentCalendar, moment: datetime) -> str:
    """The calendar page, at the month of `moment` when that month is drawn."""
    anchor = f"m-{moment:%Y-%m}"
    shown = any(month.anchor == anchor for month in calendar.months)
    return CALENDAR_PAGE + (f"#{anchor}" if shown else "")


def read_agenda(config: Config, at: datetime) -> list[AgendaEntry]:
    """Every delivery with the ledger's state (as the calendar plans it when there is no ledger)."""
    try:
        return agenda(config, at)
    except sqlite3.Error as exc:
        raise PublisherError(
            f"{config.ledger_path}: the ledger could not be read for the preview's calendar: "
            f"{exc}; check [publish] ledger in config.toml"
        ) from None


def changed_since_sent(deliveries: Sequence[AgendaEntry]) -> dict[str, list[str]]:
    """The social channels, by post slug, that got a post's text before it was edited: they
    keep what they got, which the preview of the new text must not pass for."""
    changed: dict[str, list[str]] = {}
    for entry in deliveries:
        if entry.changed:
            changed.setdefault(entry.slug, []).append(CHANNEL_NAMES[entry.channel])
    return changed


def write_preview_site(config: Config, previews: Sequence[PostPreview], at: datetime) -> Path:
    """Write the preview folder ([site] preview) in one swap and return it."""
    entries = plan_preview(config, previews, at)
    paths = {e.preview.source: e.path for e in entries if e.path is not None}
    deliveries = read_agenda(config, at)
    states = states_needing_a_look(deliveries)
    for entry in entries:
        if entry.preview.post is not None:
            entry.states = states.get(entry.preview.post.slug, {})
    calendar = plan_calendar(deliveries, paths, at.astimezone(config.tz))
    renderer = PreviewRenderer(config)
    files = list(renderer.files(entries, at, calendar, changed_since_sent(deliveries)))
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
        entry = PreviewEntry(
            preview=preview,
            status=preview.status(at),
            hashtags_max=config.instagram.hashtags_max,
        )
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
            name = page.image.url.rsplit("/", 1)[-1]  # as a link spells it: IMG%202041.JPG
            entry.og_image = Picture(name, page.image.width, page.image.height)
            try:  # the file the website shows (a JPEG of an iPhone's HEIC photo)
                shown = site_image_file(cache, post.image)
            except (OSError, ValueError):
                shown = str(post.image)  # (its problem is the page's, said with the post)
            entry.files.append(OutputFile(path + unquote(name), source=shown))
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
    for match in combined.finditer(word_view(text)):  # a hashtag with its marks (#योग)
        out.append(escape(text[last : match.start()]))
        out.append(
            Markup('<span class="{}">{}</span>').format(css, text[match.start() : match.end()])
        )
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
            channel_names=CHANNEL_NAMES,
            state_names=STATE_NAMES,
            state_meanings=STATE_MEANINGS,
            state_marks=STATE_MARKS,
            left_out_why=left_out_why(config),
        )
        self.env.filters.update(
            initials=initials,
            long_time=long_time,
            long_date=long_date,
            day=day,
            clock=clock,
            month_name=lambda first: f"{first:%B %Y}",
            short_month=lambda first: f"{first:%b %Y}",
            short_day=lambda moment: f"{moment:%a} {moment.day} {moment:%b}",
            thousands=lambda number: f"{number:,}",
            facebook_text=lambda text: marked_text(text, [URL, HASHTAG], "fb-link"),
            instagram_text=lambda text: marked_text(text, [HASHTAG, MENTION], "ig-link"),
            iso=lambda moment: moment.isoformat(timespec="minutes"),
        )

    def render(self, template: str, **context: object) -> bytes:
        """One template to bytes."""
        display = self.config.display_path
        return render_template(self.env, self.folder, display, template, context).encode("utf-8")

    def files(
        self,
        entries: Sequence[PreviewEntry],
        at: datetime,
        calendar: ContentCalendar,
        changed: dict[str, list[str]] | None = None,
    ) -> Iterator[OutputFile]:
        """The index, the calendar, one page per post that has one, the stylesheet, robots.txt."""
        statuses = [entry.status for entry in entries]
        summary = {s: statuses.count(s) for s in ("problem", "draft", "scheduled", "published")}
        common = {"at": at, "calendar": calendar, "calendar_page": CALENDAR_PAGE}
        yield OutputFile(
            "index.html",
            self.render(
                "index.html", entries=entries, summary=summary, root="", nav="posts", **common
            ),
        )
        yield OutputFile(
            CALENDAR_PAGE,
            self.render(
                "calendar.html", root="../" * CALENDAR_PAGE.count("/"), nav="calendar", **common
            ),
        )
        for entry in entries:
            if entry.path is None or entry.preview.post is None:
                continue
            link = calendar_link(calendar, entry.preview.post.date.astimezone(self.config.tz))
            sent = (changed or {}).get(entry.preview.post.slug, [])
            yield OutputFile(entry.path + "index.html", self.post_page(entry, at, link, sent))
        yield OutputFile(STYLESHEET, source=self.folder / STYLESHEET)
        yield OutputFile("robots.txt", ROBOTS)

    def post_page(
        self,
        entry: PreviewEntry,
        at: datetime,
        calendar_href: str = CALENDAR_PAGE,
        changed: Sequence[str] = (),
    ) -> bytes:
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
            nav=None,
            calendar_page=CALENDAR_PAGE,
            calendar_href=calendar_href,
            changed=list(changed),
        )
