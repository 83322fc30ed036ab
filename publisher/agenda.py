"""The calendar as people see it: every delivery with its state, as a table or an iCalendar file."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher.calendar import SOCIAL_CHANNELS, plan_deliveries
from publisher.config import Config, parse_duration
from publisher.content import LoadedPosts, Post, load_posts
from publisher.exceptions import PublisherError
from publisher.ledger import PUBLISHED, SCHEDULED, Ledger, Record
from publisher.render.markdown import RenderedMarkdown, render_markdown
from publisher.render.social import SocialRenderer, delivery_payload, payload_hash, post_url

DRAFT = "draft"
DUE = "due"
WAITING = "waiting"  # the post's file has a problem; its live version is on the website
CHANGED = "changed since published"


# A social post's link or photo address: the site's address, then /posts/SLUG/ (and the photo)
SENT_ADDRESS = re.compile(r"^(?P<base>.*)/posts/[^/]+/(?:instagram\.jpg)?$")


def sent_base_url(sent: dict[str, Any]) -> str | None:
    """The [site] base_url a social post went out with, read from its link (Facebook) or its
    photo's address (Instagram); None when it has neither."""
    address = sent.get("link") or sent.get("image_url")
    if not isinstance(address, str):
        return None
    found = SENT_ADDRESS.match(urlsplit(address)._replace(query="", fragment="").geturl())
    return found["base"] if found else None


class SentRenderers:
    """Social renderers for the site at the addresses posts went out with, one each."""

    def __init__(self, config: Config):
        self.config = config
        self.renderers: dict[str, SocialRenderer] = {}

    def edited(self, post: Post, channel: str, rendered: RenderedMarkdown, record: Record) -> bool:
        """Whether a social post that went out says something else now. A new [site]
        base_url is not an edit, wherever the templates show the address (the link, `{{ url
        }}` in the text, the photo's address): the post is rendered again as if the site
        were still where it was when the post went out, and compared with what was sent."""
        payload, _ = delivery_payload(post, channel, rendered, self.renderer(None))
        if payload_hash(payload) == record.content_hash:
            return False
        base = sent_base_url(record.payload or {})
        if base is None or base == self.config.base_url:
            return True
        payload, _ = delivery_payload(post, channel, rendered, self.renderer(base))
        return payload_hash(payload) != record.content_hash

    def renderer(self, base: str | None) -> SocialRenderer:
        """The renderer for the site at `base` (None: where it is now)."""
        key = base or ""
        if key not in self.renderers:
            config = self.config
            if base is not None:
                config = replace(config, site=replace(config.site, base_url=base))
            self.renderers[key] = SocialRenderer(config)
        return self.renderers[key]


@dataclass(frozen=True)
class AgendaEntry:
    """One delivery as the calendar shows it."""

    when: datetime
    channel: str
    slug: str
    title: str
    source: str
    state: str
    detail: str
    record_id: int | None
    url: str
    changed: bool = False
    note: str = ""  # said beside whatever the state is (a post whose file has a problem)

    @property
    def label(self) -> str:
        """The state as a person reads it."""
        return f"{self.state} ({CHANGED})" if self.changed else self.state


def taken_down(channel: str, back: str) -> str:
    """What became of a published delivery of a post deleted or made a draft again: the
    page goes; a Facebook or Instagram post stays up, which only a person can delete.
    `back`: what brings the page back."""
    if channel == "website":
        return ": its page comes off the website (at the next pass, if not yet)"
    name = channel.capitalize()
    what = "its link to a page that is gone" if channel == "facebook" else "its article gone"
    return (
        f": this {name} post stays up, {what}; delete it on {name} if it should go, or "
        f"{back} to bring the page back"
    )


def fixed_times(records: dict[tuple[str, str], Record]) -> dict[tuple[str, str], datetime]:
    """The times the ledger holds to: of deliveries tried, settled or asked for (not ones
    merely planned, which follow the post's front matter)."""
    return {
        key: r.due_at
        for key, r in records.items()
        if r.state != SCHEDULED or r.attempts or r.forced
    }


def held_posts(config: Config, loaded: LoadedPosts) -> list[Post]:
    """The live versions of the posts whose file has a problem (build.live_versions)."""
    if not loaded.problems:
        return []
    from publisher.build import live_versions

    return live_versions(config, {problem.path for problem in loaded.problems})


def as_the_next_pass_sees(posts: list[Post], records: list[Record]) -> list[Record]:
    """The ledger's deliveries with the renames the next pass records (a new title, a file
    renamed): before that pass, a published post whose title changed is the same post,
    published, not a new one due (publish.matched_renames)."""
    from publisher.publish import matched_renames

    sources, moved = matched_renames(posts, records)
    if not sources and not moved:
        return records
    followed = []
    for record in records:
        if record.slug in moved:
            post = moved[record.slug]
            record = replace(record, slug=post.slug, source=post.display)
        elif record.slug in sources:
            record = replace(record, source=sources[record.slug])
        followed.append(record)
    return followed


def agenda(
    config: Config,
    at: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    channel: str | None = None,
    posts: list[Post] | None = None,
    held: list[Post] | None = None,
) -> list[AgendaEntry]:
    """Every delivery of every post (drafts too), with the ledger's state, in time order.

    `held`: the live versions of posts whose file has a problem now (build.live_versions):
    their deliveries are listed as they stand, those not made yet as waiting for the fix.
    By default, with `posts`, read from the posts folder and the build cache."""
    if posts is None:
        loaded = load_posts(config)
        posts = list(loaded.posts)
        if held is None:
            held = held_posts(config, loaded)
    current = {p.slug for p in posts}
    held = [p for p in held or () if p.slug not in current]
    on_hold = {p.slug for p in held}
    with Ledger.for_reading(config.ledger_path) as ledger:
        records = {(r.slug, r.channel): r for r in as_the_next_pass_sees(posts, ledger.all())}
        page_problems = ledger.page_problems()
    social = SentRenderers(config)
    texts: dict[str, RenderedMarkdown] = {}  # by slug, for `refused`

    def refused(post: Post, channel: str) -> str:
        """What Facebook or Instagram would refuse of the post (check's problem), or ""."""
        if post.slug not in texts:
            texts[post.slug] = render_markdown(post.body, allow_html=config.site.allow_html)
        _, found = delivery_payload(post, channel, texts[post.slug], social.renderer(None))
        return str(post.channel_problem(found[0].message, found[0].key)) if found else ""

    late = parse_duration(config.publish.max_lateness)
    entries: list[AgendaEntry] = []
    for delivery in plan_deliveries(
        [*posts, *held], config, fixed_times(records), include_drafts=True
    ):
        if channel and delivery.channel != channel:
            continue
        if (start and delivery.due < start) or (end and delivery.due >= end):
            continue
        post = delivery.post
        record = records.get((post.slug, delivery.channel))
        changed, note = False, ""
        held_back = post.slug in on_hold  # (a live version: never a draft; no text kept)
        # a problem only the page shows (the last build's): its social posts wait too
        held_back = held_back or (
            post.display in page_problems and delivery.channel in SOCIAL_CHANNELS
        )
        if held_back:
            note = f"{post.display} has a problem: see  publisher check"
        if post.draft and record is not None and record.state == PUBLISHED:
            # a live post made a draft again: what went out, and what becomes of it
            state, detail = PUBLISHED, record.permalink or ""
            note = f"{post.display} is a draft now" + taken_down(
                delivery.channel, "set draft: false"
            )
        elif post.draft:
            state, detail = DRAFT, "set draft: false to schedule it"
        elif record is not None and not (record.state == SCHEDULED and not record.attempts):
            state = record.state
            detail = (record.permalink if state == PUBLISHED else record.last_error) or ""
            if state == PUBLISHED and delivery.channel == "website":
                detail = post_url(config, post)  # where it is now (base_url may be new)
            if state == SCHEDULED and delivery.due <= at:  # tried, and to go again (a token
                state, detail = DUE, detail or "goes out at the next pass"  # Meta refused)
            social_post = state == PUBLISHED and delivery.channel in SOCIAL_CHANNELS
            if social_post and record.content_hash and not held_back:
                rendered = render_markdown(post.body, allow_html=config.site.allow_html)
                changed = social.edited(post, delivery.channel, rendered, record)
        elif held_back:
            state, detail = WAITING, "goes out when the problem is fixed"
            if delivery.channel in SOCIAL_CHANNELS and at - delivery.due > late:
                detail = "too late now to go out on its own once fixed: publisher retry sends it"
        elif delivery.due > at:
            state, detail = SCHEDULED, ""
        elif delivery.channel in SOCIAL_CHANNELS and at - delivery.due > late:
            state, detail = "missed", "too late to go out on its own; marked at the next pass"
        else:
            state, detail = DUE, "goes out at the next pass"
        if state in (SCHEDULED, DUE) and delivery.channel in SOCIAL_CHANNELS and not note:
            note = refused(post, delivery.channel)  # it fails at its time unless fixed first
        entries.append(
            AgendaEntry(
                when=delivery.due.astimezone(config.tz),
                channel=delivery.channel,
                slug=post.slug,
                title=post.title,
                source=post.display,
                state=state,
                detail=detail,
                record_id=record.id if record else None,
                url=post_url(config, post),
                changed=changed,
                note=note,
            )
        )
    return entries


def format_agenda(entries: list[AgendaEntry]) -> str:
    """The entries as a table for a terminal."""
    if not entries:
        return "Nothing on the calendar in that range."
    header = ("WHEN", "CHANNEL", "POST", "STATE", "ID", "DETAIL")
    rows = [
        (
            f"{e.when:%a %Y-%m-%d %H:%M}",
            e.channel,
            e.slug,
            e.label,
            str(e.record_id or "-"),
            f"{e.detail} ({e.note})".strip() if e.note else e.detail,
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:5])) + "  " + r[5]
        for r in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def to_ics(entries: list[AgendaEntry], config: Config) -> bytes:
    """An iCalendar file, one event per delivery, with UIDs that stay the same across runs."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//publisher//content calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{config.site.title}: content calendar")
    calendar.add("x-wr-timezone", config.site.timezone)
    host = urlsplit(config.base_url).hostname or "publisher"
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.slug}.{entry.channel}@{host}")
        event.add("summary", f"{entry.channel.title()}: {entry.title}")
        event.add("dtstart", entry.when)
        event.add("dtend", entry.when + timedelta(minutes=15))
        event.add("dtstamp", entry.when)
        description = [f"State: {entry.label}", f"Post: {entry.source}"]
        if entry.detail:
            description.append(entry.detail)
        event.add("description", "\n".join(description))
        event.add("url", entry.url)
        event.add("categories", [entry.channel])
        event.add(
            "status",
            "CANCELLED"
            if entry.state in ("skipped", "missed")
            else "CONFIRMED"
            if entry.state == PUBLISHED
            else "TENTATIVE",
        )
        calendar.add_component(event)
    calendar.add_missing_timezones()  # a VTIMEZONE for every TZID, so calendar apps agree
    return calendar.to_ical()


def write_ics(entries: list[AgendaEntry], config: Config, path: Path) -> None:
    """Write the iCalendar file whole (a calendar app never reads half of it)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(to_ics(entries, config))
    except FileNotFoundError:
        raise PublisherError(f"cannot write {path}: there is no folder {path.parent}") from None
    except PermissionError:
        raise PublisherError(
            f"cannot write {path}: this user may not write in {path.parent}"
        ) from None
    temporary.replace(path)


def day_start(day: date, config: Config) -> datetime:
    """Midnight of `day` in the site's zone."""
    return datetime.combine(day, datetime.min.time(), tzinfo=config.tz)
