"""The content calendar: when each of a post's deliveries is due, and which posts need their
Instagram image on the site now (from the ledger: deliveries that are over need none)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from publisher.config import Config, parse_duration
from publisher.content import Post
from publisher.ledger import MISSED, PUBLISHED, SCHEDULED, SKIPPED, Brief, Ledger
from publisher.times import TimeError, add_wall_clock, localize

CHANNELS = ("website", "facebook", "instagram")
SOCIAL_CHANNELS = ("facebook", "instagram")
SLOT_SEARCH_DAYS = 366  # a post finds a free weekly slot within a year, or falls back to the offset


@dataclass(frozen=True)
class Delivery:
    """A post on one channel at one time."""

    post: Post
    channel: str
    due: datetime

    @property
    def key(self) -> str:
        """'slug/channel', as logs and the ledger name it."""
        return f"{self.post.slug}/{self.channel}"


def channel_enabled(post: Post, channel: str, config: Config) -> bool:
    """True when the post goes to `channel` at all (drafts are left to the caller)."""
    if channel == "website":
        return True
    return config.channel(channel).enabled and getattr(post, channel).enabled


def slot_times(config: Config, channel: str, start: datetime) -> Iterable[datetime]:
    """The channel's weekly slots from `start` on, as instants; a slot that a DST change
    skips or repeats that day is left out rather than guessed."""
    slots = config.channel(channel).weekly_slots
    if not slots:
        return
    tz = config.tz
    first_day = start.astimezone(tz).date()
    for offset in range(SLOT_SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        for weekday, hour, minute in slots:
            if weekday != day.weekday():
                continue
            try:
                moment = localize(datetime.combine(day, time(hour, minute)), tz)
            except TimeError:
                continue
            if moment >= start:
                yield moment


def _own_time(post: Post, at: datetime) -> datetime:
    """A post's own time for a social channel: never before its article goes live (the post
    links to the article; earlier, it would only wait, and then count as missed)."""
    return max(at, post.date)


def planned_time(post: Post, channel: str, config: Config) -> datetime | None:
    """When the post goes out on `channel` ignoring other posts: its own time, else the offset."""
    if not channel_enabled(post, channel, config):
        return None
    if channel == "website":
        return post.date
    options = getattr(post, channel)
    if options.at is not None:
        return _own_time(post, options.at)
    return add_wall_clock(post.date, config.channel(channel).offset_delta, config.tz)


def plan_deliveries(
    posts: Iterable[Post],
    config: Config,
    fixed: Mapping[tuple[str, str], datetime] | None = None,
    *,
    include_drafts: bool = False,
    taken: Mapping[str, set[datetime]] | None = None,
    channels: tuple[str, ...] = CHANNELS,
) -> list[Delivery]:
    """Every delivery of every post, in the order they fall due (website first on a tie).

    A social delivery without its own time takes the first free weekly slot on or after
    its website time; with no slots configured, the website time plus the channel's
    offset. Two posts never share a slot on one channel. `fixed` holds the times of
    deliveries the ledger has already acted on: they keep their time and their slot.
    `taken` holds slots already used by deliveries left out of `posts`. `channels` limits
    the plan to some channels (each channel's slots are its own, so the others are the same).
    """
    fixed = fixed or {}
    ordered = sorted(
        (p for p in posts if include_drafts or not p.draft), key=lambda p: (p.date, p.slug)
    )
    deliveries: list[Delivery] = []
    taken = {channel: set((taken or {}).get(channel, ())) for channel in SOCIAL_CHANNELS}
    wanting_slot: list[tuple[Post, str]] = []
    website = "website" in channels
    social = [c for c in SOCIAL_CHANNELS if c in channels]
    for post in ordered:
        if website:
            deliveries.append(Delivery(post, "website", post.date))
        for channel in social:
            if not channel_enabled(post, channel, config):
                continue
            known = fixed.get((post.slug, channel))
            own = getattr(post, channel).at
            own = _own_time(post, own) if own is not None else None
            if known is not None or own is not None:
                due = known if known is not None else own
                taken[channel].add(due)
                deliveries.append(Delivery(post, channel, due))
            elif config.channel(channel).slots:
                wanting_slot.append((post, channel))
            else:
                deliveries.append(Delivery(post, channel, planned_time(post, channel, config)))  # type: ignore[arg-type]
    for post, channel in wanting_slot:
        due = next(
            (t for t in slot_times(config, channel, post.date) if t not in taken[channel]), None
        )
        if due is None:
            due = planned_time(post, channel, config)
        taken[channel].add(due)  # type: ignore[arg-type]
        deliveries.append(Delivery(post, channel, due))  # type: ignore[arg-type]
    deliveries.sort(key=lambda d: (d.due, CHANNELS.index(d.channel), d.post.slug))
    return deliveries


def instagram_plan(
    config: Config, posts: list[Post], at: datetime
) -> tuple[set[str], list[datetime]]:
    """The slugs that need their Instagram image now, and the times when one stops needing it."""
    if not config.instagram.enabled:
        return set(), []
    # A post whose Instagram delivery is over needs no image: leave it out of the plan, but
    # keep the slot its delivery took, so the others are planned exactly as before. With no
    # weekly slots, where those deliveries stood changes nothing: only their slugs are read
    # (an archive of 10,000 posts has as many deliveries done).
    done = (PUBLISHED, MISSED, SKIPPED)
    slots = bool(config.instagram.slots)
    records: dict[str, Brief] = {}
    over: set[str] = set()
    if config.ledger_path.exists():
        with Ledger.for_reading(config.ledger_path) as ledger:
            if slots:
                records = ledger.brief("instagram")
            else:
                records = ledger.brief("instagram", leaving_out=done)
                over = ledger.slugs_in_state("instagram", *done)
    if slots:
        over = {slug for slug, r in records.items() if r.state in done}
    fixed = {
        (slug, "instagram"): r.due_at
        for slug, r in records.items()
        if r.state != SCHEDULED or r.attempts or r.forced
    }
    late = parse_duration(config.publish.max_lateness)
    needed: set[str] = set()
    deadlines: list[datetime] = []
    taken = (
        {
            fixed[(p.slug, "instagram")]
            for p in posts
            if p.slug in over and p.instagram.enabled  # (the channel is: see above)
        }
        if slots
        else set()
    )
    still = [p for p in posts if p.slug not in over]
    plan = plan_deliveries(
        still, config, fixed, taken={"instagram": taken}, channels=("instagram",)
    )
    for delivery in plan:
        if delivery.post.image is None:
            continue
        record = records.get(delivery.post.slug)
        untouched = record is None or not (record.attempts or record.forced)
        if untouched:
            if at - delivery.due > late:
                continue  # it will be marked missed, not sent
            deadlines.append(delivery.due + late)
        needed.add(delivery.post.slug)
    return needed, deadlines
