"""The content calendar: when each of a post's deliveries is due. Pure scheduling decisions."""

from __future__ import annotations

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
