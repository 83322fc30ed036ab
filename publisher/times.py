"""Wall-clock times in the site's zone: read once, zone-aware from then on."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_FORMAT = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?)?$"
)


class TimeError(ValueError):
    """A time that cannot be read, or that names no single instant in the site's zone."""


def parse_local_time(value: object, tz: ZoneInfo) -> datetime:
    """Read a front-matter time: local wall-clock time in `tz`, or with an explicit offset.

    A local time that does not exist (spring-forward gap) or happens twice (autumn
    overlap) is refused rather than guessed.
    """
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value).strip()
    match = _FORMAT.match(text)
    if not match:
        raise TimeError(
            f"{text!r} is not a date: write 2026-12-02, 2026-12-02 09:00 "
            "or 2026-12-02T09:00:00-05:00"
        )
    iso = match["date"] + "T" + (match["time"] or "00:00")
    if len(iso.split("T")[1].split(":")[0]) == 1:
        iso = iso.replace("T", "T0", 1)
    offset = match["offset"]
    try:
        naive = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise TimeError(f"{text!r} is not a real date or time ({exc})") from None
    if offset:
        offset = "+00:00" if offset == "Z" else offset
        if ":" not in offset:
            offset = offset[:3] + ":" + offset[3:]
        try:
            return datetime.fromisoformat(iso + offset).astimezone(tz)
        except ValueError as exc:
            raise TimeError(f"{text!r} has an impossible offset ({exc})") from None
    return localize(naive, tz)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach `tz` to a wall-clock time, refusing gaps and overlaps of daylight saving."""
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        # Round-tripping through UTC tells a gap (the time is skipped) from an overlap.
        back = early.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
        if back != naive:
            raise TimeError(
                f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks spring "
                "forward then; pick a time outside the skipped hour"
            )
        raise TimeError(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key}: the clocks fall back "
            "then; pick another time or write the offset (for example -05:00)"
        )
    return early


def add_wall_clock(moment: datetime, delta: timedelta, tz: ZoneInfo) -> datetime:
    """Add a duration: whole days on the wall clock (09:00 plus one day is 09:00 across a
    daylight-saving change), the rest in real time (30 minutes after 00:50 on the night the
    clocks go back is the first 01:20, not the second, an hour later). The result reads as
    a real time of `tz` (never 02:20 on the night 02:00 is skipped: 03:20)."""
    days = timedelta(days=delta.days) if delta >= timedelta(0) else timedelta(0)
    if days:
        local = moment.astimezone(tz).replace(tzinfo=None) + days
        early = local.replace(tzinfo=tz, fold=0)
        late = local.replace(tzinfo=tz, fold=1)
        # in a gap or an overlap: the later of the two readings, which never goes backwards
        moment = max(early, late, key=lambda d: d.timestamp())
    return (moment.astimezone(UTC) + (delta - days)).astimezone(tz)


def now(tz: ZoneInfo) -> datetime:
    """The current time in `tz`."""
    return datetime.now(tz)


def how_long(span: timedelta) -> str:
    """A span as people say how late something is: '7.5 hours', or past two days '402 days'."""
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.0f} days"
