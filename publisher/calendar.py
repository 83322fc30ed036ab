"""The content calendar: when each of a post's deliveries is due. Pure scheduling decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from publisher.config import Config
from publisher.content import Post
from publisher.times import add_wall_clock

CHANNELS = ("website", "facebook", "instagram")
SOCIAL_CHANNELS = ("facebook", "instagram")


def channel_enabled(post: Post, channel: str, config: Config) -> bool:
    """True when the post goes to `channel` at all (drafts go nowhere)."""
    if post.draft:
        return False
    if channel == "website":
        return True
    return config.channel(channel).enabled and getattr(post, channel).enabled


def planned_time(post: Post, channel: str, config: Config) -> datetime | None:
    """When the post goes out on `channel`: its own time, else the website time plus the offset."""
    if not channel_enabled(post, channel, config):
        return None
    if channel == "website":
        return post.date
    options = getattr(post, channel)
    if options.at is not None:
        return options.at
    return add_wall_clock(post.date, config.channel(channel).offset_delta, config.tz)


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


def plan_deliveries(posts: Iterable[Post], config: Config) -> list[Delivery]:
    """Every delivery of every post, in the order they fall due (website first on a tie)."""
    deliveries = []
    for post in posts:
        for channel in CHANNELS:
            due = planned_time(post, channel, config)
            if due is not None:
                deliveries.append(Delivery(post, channel, due))
    deliveries.sort(key=lambda d: (d.due, CHANNELS.index(d.channel), d.post.slug))
    return deliveries
