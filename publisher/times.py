"""Wall-clock times in the site's zone: read once, zone-aware from then on."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
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
        meant = likely_meant(text, tz)
        if meant is not None:
            raise TimeError(f"{text!r} is not a date publisher reads: {meant}")
        day = _ISO_DAY.match(text)  # its own day, where it begins with one, or tomorrow
        tomorrow = datetime.now(tz).date() + timedelta(days=1)
        example = day[0] if day else f"{tomorrow:%Y-%m-%d}"
        try:  # the zone's offset that day (-05:00 in winter, -04:00 in summer)
            offset = datetime.fromisoformat(f"{example}T09:00").replace(tzinfo=tz).isoformat()[19:]
        except ValueError:
            offset = "-05:00"
        raise TimeError(
            f"{text!r} is not a date: write {example}, {example} 09:00 "
            f"or {example}T09:00:00{offset}"
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


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month_name>[a-z]+)\.?"
_DAY_FORMS = (
    # 12/2/2026, 12-02-2026, 12.02.2026: month first, as written in the US (a first number
    # over 12 is a day: 25/12/2026)
    re.compile(r"(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<year>\d{4})"),
    # 2026/12/02, 2026-12-2, 2026.12.02
    re.compile(r"(?P<year>\d{4})[/.-](?P<month>\d{1,2})[/.-](?P<day>\d{1,2})"),
    # 20261202 (a file name's way)
    re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?!\d)"),
    # Dec 2, 2026; December 2nd 2026; Wednesday, December 2, 2026
    re.compile(
        rf"(?:[a-z]+,?\s+)?{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})"
    ),
    # 2 Dec 2026, 2 December, 2026
    re.compile(rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}})"),
    # December 2, Wed Dec 2nd, 2 December: no year (the next such day is shown)
    re.compile(rf"(?:[a-z]+,?\s+)?{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"),
    re.compile(rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\b"),
)
# 9am, 9 pm, 9:30 PM, 09:00, 21:00, 9.30, 9 (an hour alone), noon
_TIME_WORDS = re.compile(
    r"(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*(?P<half>[ap])\.?\s*m\.?$|"
    r"(?P<hour24>\d{1,2})(?:[:.](?P<minute24>\d{2}))?$|(?P<noon>noon|midday)$",
    re.IGNORECASE,
)


_ZONE_WORD = re.compile(r"(?:^|\s)(?:[ecmp][sd]?t|utc|gmt)$")
_US_ZONES = {
    "e": "America/New_York",
    "c": "America/Chicago",
    "m": "America/Denver",
    "p": "America/Los_Angeles",
}


def _zone_of(word: str) -> tzinfo:
    """The zone a time written with a zone's name is in: UTC, or the region's own time that
    day for EST, EDT or ET (people write EST in July and mean the clock on the wall)."""
    word = word.lower()
    if word in ("utc", "gmt"):
        return UTC
    return ZoneInfo(_US_ZONES[word[0]])


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?!\d)")


def likely_meant(text: str, tz: ZoneInfo | None = None) -> str | None:
    """What to write for a date written another way (12/02/2026 9am, Dec 2, 2026 at
    9:00 PM): the form publisher reads, with the day it names in words, so a person can see
    it is the day meant (and, for 12/02/2026, the other day it may mean). Never taken as
    the date itself. None when it does not look like a date."""
    words = " ".join(text.lower().replace(" at ", " ").split())
    for form in _DAY_FORMS:
        found = form.match(words)
        if found is None:
            continue
        parts = found.groupdict()
        other: tuple[int, int] | None = None  # (month, day): 12/02 read day first
        if parts.get("a") is not None:
            first, second = int(parts["a"]), int(parts["b"])
            month, day = (second, first) if first > 12 else (first, second)
            if first <= 12 and second <= 12 and first != second:
                other = (second, first)
        else:
            named = parts.get("month_name")
            month = _MONTHS.get(named or "", 0) if named else int(parts["month"])
            day = int(parts["day"])
        rest = words[found.end() :].strip(" ,")
        zone = _ZONE_WORD.search(rest)  # EST, ET, UTC: a time is the site's own
        rest = (rest[: zone.start()] if zone else rest).strip(" ,t")
        clock = _TIME_WORDS.match(rest) if rest else None
        if rest and clock is None:
            return None
        hour = minute = 0
        if clock is not None and clock["noon"]:
            hour = 12
        elif clock is not None and clock["hour24"] is not None:
            hour, minute = int(clock["hour24"]), int(clock["minute24"] or 0)
        elif clock is not None:
            hour, minute = int(clock["hour"]) % 12, int(clock["minute"] or 0)
            hour += 12 if clock["half"].lower() == "p" else 0
        try:
            if parts.get("year") is None:  # the next such day: this year's, or next year's
                today = date.today()
                year = today.year + ((month, day) < (today.month, today.day))
            else:
                year = int(parts["year"])
            moment = datetime(year, month, day, hour, minute)
        except ValueError:
            return None
        written = ""
        if zone and clock is not None and tz is not None:  # 18:00 UTC: the site's own time
            there = _zone_of(zone.group(0).strip())
            local = moment.replace(tzinfo=there).astimezone(tz).replace(tzinfo=None)
            if local != moment:
                written = f"{moment:%H:%M} {zone.group(0).strip().upper()} is {local:%H:%M} here; "
                moment, year = local, local.year
        at = f" {moment:%H:%M}" if clock is not None else ""
        said = f" at {_twelve_hour(moment)}" if clock is not None else ""
        meant = (
            f"write {moment:%Y-%m-%d}{at} for {moment:%A, %B} {moment.day}, {year}{said} "
            "(year-month-day, hours 00-23"
            + (
                f"; {written}without the zone's name: a time is the site's local time)"
                if zone
                else ")"
            )
        )
        if other is not None:
            alternative = datetime(year, *other)
            meant += (
                f", or {alternative:%Y-%m-%d}{at} if it meant {alternative.day} "
                f"{alternative:%B} (day first)"
            )
        return meant
    return None


def _twelve_hour(moment: datetime) -> str:
    """9:00 AM, 12:00 PM (noon), 9:30 PM."""
    return f"{(moment.hour - 1) % 12 + 1}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


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
