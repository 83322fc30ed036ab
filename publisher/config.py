"""config.toml: typed settings that validate themselves and name the key in every error."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.exceptions import ConfigError

CONFIG_FILE = "config.toml"
SECRET_WORDS = ("token", "secret", "password", "passwd", "app_secret", "access_key")


# Zone names that read like a region's time but are its standard time all year, as people
# write them for "Eastern" or "Mountain": (region, the zone that follows the clocks, one
# that keeps standard time all year)
_STANDARD_TIME_ALL_YEAR = {
    "EST": ("Eastern", "America/New_York", "America/Panama"),
    "MST": ("Mountain", "America/Denver", "America/Phoenix (Arizona)"),
}


@dataclass(frozen=True)
class SiteSettings:
    """The [site] table: what the website is and where its files live."""

    title: str = "Kneaded Tranquility"
    base_url: str = "http://127.0.0.1:8000"
    description: str = ""
    language: str = "en"
    timezone: str = "America/New_York"
    default_author: str = ""
    posts_per_page: int = 10
    feed_entries: int = 20
    allow_html: bool = False
    posts: str = "posts"
    templates: str = "templates"
    output: str = "public"
    cache: str = ".cache"
    preview: str = ".preview"
    deploy_command: str = ""
    verify_live: bool = False

    def validate(self) -> None:
        """Check the values that a type alone cannot."""
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", self.base_url):
            raise ConfigError(
                f"base_url must be an http(s) URL such as https://www.example.com, "
                f"not {self.base_url!r}",
                key="site.base_url",
            )
        if self.timezone in _STANDARD_TIME_ALL_YEAR:
            place, city, keeps = _STANDARD_TIME_ALL_YEAR[self.timezone]
            raise ConfigError(
                f"timezone {self.timezone!r} is {place} standard time all year, with no summer "
                "time: from March to November every post would go out an hour later than the "
                f"clocks show. Write {city} (the time the clocks show there), or {keeps} for a "
                "place that keeps standard time all year",
                key="site.timezone",
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"timezone {self.timezone!r} is not an IANA time zone name "
                "(for example America/New_York)",
                key="site.timezone",
            ) from None
        for key in ("posts_per_page", "feed_entries"):
            if getattr(self, key) < 1:
                raise ConfigError("must be at least 1", key=f"site.{key}")


@dataclass(frozen=True)
class Business:
    """The [business] table: the clinic, for the call to action and structured data."""

    name: str = "Kneaded Tranquility"
    schema_type: str = "HealthAndBeautyBusiness"
    phone: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"
    booking_url: str = ""
    facebook_url: str = ""
    instagram_url: str = ""
    call_to_action: str = "Schedule today"

    def validate(self) -> None:
        """Check the URLs look like URLs."""
        for key in ("booking_url", "facebook_url", "instagram_url"):
            value = getattr(self, key)
            if value and not re.match(r"^(https?://|tel:|mailto:)\S+$", value):
                raise ConfigError(
                    f"must be a full URL starting with https://, not {value!r}",
                    key=f"business.{key}",
                )

    @property
    def address_line(self) -> str:
        """'100 Noble Avenue, Pittsburgh, PA 15205' from the parts that are set."""
        locality = ", ".join(p for p in (self.city, self.region) if p)
        if self.postal_code:
            locality = f"{locality} {self.postal_code}".strip()
        return ", ".join(p for p in (self.street, locality) if p)

    @property
    def phone_uri(self) -> str:
        """The phone number as a tel: link; an extension ("ext. 7", "x7") as ;ext=7."""
        number, extension = self.phone, ""
        found = _EXTENSION.search(number)
        if found:
            number, extension = number[: found.start()], f";ext={found[1]}"
        digits = re.sub(r"[^\d+]", "", number)
        if digits and not digits.startswith("+") and len(digits) == 10 and self.country == "US":
            digits = "+1" + digits
        return f"tel:{digits}{extension}" if digits else ""


# "412-932-5535 ext. 7", "... extension 7", "... x7", "... #7": the extension after the number
_EXTENSION = re.compile(r"\s*[,;]?\s*(?:ext(?:ension)?\.?|x|#)\s*(\d+)\s*$", re.IGNORECASE)


DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


@functools.lru_cache(maxsize=64)
def parse_duration(text: str) -> timedelta:
    """'1d 2h 30m', '3h', '45m' or '0m' to a timedelta."""
    match = DURATION.match(text)
    if not match or not text.strip() or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: write it like 30m, 3h or 1d 2h")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT = re.compile(r"^\s*([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}):(\d{2})\s*$")


def parse_slot(text: str) -> tuple[int, int, int]:
    """'Tue 12:00' to (1, 12, 0): a weekly posting time, local to the site."""
    match = SLOT.match(text)
    if match and match[1].lower() in WEEKDAYS and int(match[2]) < 24 and int(match[3]) < 60:
        return WEEKDAYS.index(match[1].lower()), int(match[2]), int(match[3])
    raise ValueError(
        f'{text!r} is not a weekly slot: write it like "Tue 12:00" or "Thursday 18:30"'
    )


@dataclass(frozen=True)
class ChannelSettings:
    """What the [facebook] and [instagram] tables have in common."""

    enabled: bool = True
    offset: str = "30m"
    utm: bool = True
    utm_source: str = ""
    utm_medium: str = "social"
    utm_campaign: str = "{slug}"
    slots: tuple[str, ...] = ()

    def validate(self) -> None:
        """Check the offset reads as a duration and the slots as weekly times."""
        try:
            parse_duration(self.offset)
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"{self.name}.offset") from None
        for index, slot in enumerate(self.slots):
            try:
                parse_slot(slot)
            except ValueError as exc:
                raise ConfigError(str(exc), key=f"{self.name}.slots[{index}]") from None

    @property
    def weekly_slots(self) -> list[tuple[int, int, int]]:
        """The posting slots as (weekday 0=Monday, hour, minute), in week order."""
        return sorted(parse_slot(slot) for slot in self.slots)

    @property
    def name(self) -> str:
        """The channel's name, as used in messages and the ledger."""
        raise NotImplementedError

    @property
    def offset_delta(self) -> timedelta:
        """How long after the website the post goes out, by default."""
        return parse_duration(self.offset)


@dataclass(frozen=True)
class FacebookSettings(ChannelSettings):
    """The [facebook] table: the Page that posts are published to."""

    page_id: str = ""
    page_name: str = ""
    offset: str = "30m"
    utm_source: str = "facebook"

    def validate(self) -> None:
        """Check the Page id too."""
        super().validate()
        _check_account_id(self.page_id, "facebook.page_id", "Page", "PUBLISHER_FACEBOOK_TOKEN")

    @property
    def name(self) -> str:
        """'facebook'."""
        return "facebook"


@dataclass(frozen=True)
class InstagramSettings(ChannelSettings):
    """The [instagram] table: the professional account posts are published to."""

    account_id: str = ""
    username: str = ""
    offset: str = "3h"
    utm: bool = False
    utm_source: str = "instagram"
    hashtags: tuple[str, ...] = ()
    # Instagram takes at most 5 hashtags in a caption since its change of 2025-2026 (30
    # before): the post's own first, then its tags, then `hashtags`, as many as this allows
    hashtags_max: int = 5
    image_fit: str = "pad"
    image_background: str = "#ffffff"

    def validate(self) -> None:
        """Check the account id and the image settings too."""
        super().validate()
        _check_account_id(
            self.account_id,
            "instagram.account_id",
            "Instagram account",
            "PUBLISHER_INSTAGRAM_TOKEN",
        )
        if not 0 <= self.hashtags_max <= 30:
            raise ConfigError(
                "must be from 0 to 30 (Instagram takes 5 in a caption now; 30 was its old limit)",
                key="instagram.hashtags_max",
            )
        if self.image_fit not in ("pad", "crop"):
            raise ConfigError(
                f"must be 'pad' (keep the whole photo, add bars) or 'crop' (fill the frame), "
                f"not {self.image_fit!r}",
                key="instagram.image_fit",
            )
        if not re.match(r"^#[0-9a-fA-F]{6}$", self.image_background):
            raise ConfigError("must be a colour like #ffffff", key="instagram.image_background")

    @property
    def name(self) -> str:
        """'instagram'."""
        return "instagram"


@dataclass(frozen=True)
class PublishSettings:
    """The [publish] table: the ledger and how publishing passes treat late or failing deliveries."""

    ledger: str = "publisher.db"
    max_lateness: str = "6h"
    max_attempts: int = 8
    retry_delay: str = "1m"
    retry_delay_max: str = "1h"
    # how often a pass asks Meta whether each token still works and when it expires ("": never)
    token_check: str = "1d"

    def validate(self) -> None:
        """Check the durations and counts."""
        for key in ("max_lateness", "retry_delay", "retry_delay_max"):
            try:
                parse_duration(getattr(self, key))
            except ValueError as exc:
                raise ConfigError(str(exc), key=f"publish.{key}") from None
        if self.max_attempts < 1:
            raise ConfigError("must be at least 1", key="publish.max_attempts")
        if self.token_check:
            try:
                every = parse_duration(self.token_check)
            except ValueError as exc:
                raise ConfigError(str(exc), key="publish.token_check") from None
            if every < timedelta(hours=1):
                raise ConfigError(
                    f"{self.token_check!r} is too often: at least 1h (Meta counts each call), "
                    'or "" for never',
                    key="publish.token_check",
                )

    @property
    def token_check_every(self) -> timedelta | None:
        """token_check as a duration (None: never)."""
        return parse_duration(self.token_check) if self.token_check else None


@dataclass(frozen=True)
class GraphSettings:
    """The [graph] table: how to reach Meta's Graph API (tokens are never here)."""

    url: str = ""
    version: str = "v26.0"
    timeout: float = 30.0
    secrets_file: str = ""

    def validate(self) -> None:
        """Check the version looks like v26.0."""
        if not re.match(r"^v\d+\.\d+$", self.version):
            raise ConfigError(f"must look like v26.0, not {self.version!r}", key="graph.version")
        if self.url and (problem := graph_url_problem(self.url)):
            raise ConfigError(problem, key="graph.url")


def graph_url_problem(url: str) -> str | None:
    """What is wrong with an address given for the Graph API, or None."""
    if not re.match(r"^https?://[^/\s]+", url):
        return f"must be an http(s) address such as https://graph.facebook.com, not {url!r}"
    if re.search(r"/v\d+(\.\d+)?/?$", url):
        return (
            f"is the address alone, without the version ({url!r}): the version is "
            "[graph] version in config.toml"
        )
    return None


@dataclass(frozen=True)
class Config:
    """All settings, plus where config.toml lives (relative paths are resolved from there)."""

    root: Path
    path: Path | None
    site: SiteSettings = field(default_factory=SiteSettings)
    business: Business = field(default_factory=Business)
    facebook: FacebookSettings = field(default_factory=FacebookSettings)
    instagram: InstagramSettings = field(default_factory=InstagramSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)

    def channel(self, name: str) -> ChannelSettings:
        """The settings of a social channel by name."""
        return {"facebook": self.facebook, "instagram": self.instagram}[name]

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.site.timezone)

    def folder(self, relative: str) -> Path:
        """A path from config.toml, resolved against the folder config.toml is in."""
        return (self.root / relative).resolve()

    @functools.cached_property
    def posts_dir(self) -> Path:
        """Where the Markdown posts are."""
        return self.folder(self.site.posts)

    @functools.cached_property
    def templates_dir(self) -> Path:
        """Where the Jinja2 templates are."""
        return self.folder(self.site.templates)

    @functools.cached_property
    def output_dir(self) -> Path:
        """Where the website is written."""
        return self.folder(self.site.output)

    @functools.cached_property
    def cache_dir(self) -> Path:
        """Where cached work is kept between runs (safe to delete)."""
        return self.folder(self.site.cache)

    @functools.cached_property
    def preview_dir(self) -> Path:
        """Where the private preview is written (never deployed)."""
        return self.folder(self.site.preview)

    @functools.cached_property
    def preview_site_dir(self) -> Path:
        """Where `build --now` and `serve --now` write the site as it will be at another
        time: beside the preview folder, never the output that is served and deployed."""
        preview = self.preview_dir
        return preview.with_name(preview.name + "-site")

    @functools.cached_property
    def ledger_path(self) -> Path:
        """The SQLite ledger."""
        return self.folder(self.publish.ledger)

    @property
    def base_url(self) -> str:
        """The site's base URL without a trailing slash."""
        return self.site.base_url.rstrip("/")

    def display_path(self, path: Path | str) -> str:
        """A path as a person would type it: relative to config.toml's folder when inside it."""
        text = str(path)
        root = self._root_prefix
        if os.path.isabs(text) and text.startswith(root) and "/../" not in text:
            return text[len(root) :]  # the common case, without asking the file system
        try:
            return str(Path(text).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return text

    @functools.cached_property
    def _root_prefix(self) -> str:
        return str(self.root.resolve()) + os.sep


TABLES: dict[str, type] = {
    "site": SiteSettings,
    "business": Business,
    "facebook": FacebookSettings,
    "instagram": InstagramSettings,
    "publish": PublishSettings,
    "graph": GraphSettings,
}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        item = _type_name(typing.get_args(tp)[0])
        return "a list of " + (
            "texts in quotes" if item == "a string" else item.removeprefix("a ") + "s"
        )
    return {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check one value against its declared type, converting where TOML is looser."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(f"has the wrong type ({type(value).__name__})", key=key)
    if origin in (list, tuple):
        (item_type,) = typing.get_args(tp)[:1]
        if not isinstance(value, list):
            raise ConfigError(f"must be {_type_name(tp)}, not {value!r}", key=key)
        items = tuple(_coerce(v, item_type, f"{key}[{i}]") for i, v in enumerate(value))
        return items
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError("must be empty", key=key)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return build_table(tp, value, key)
    else:
        return value
    raise ConfigError(f"must be {_type_name(tp)}, not {value!r}", key=key)


def _check_account_id(value: str, key: str, what: str, variable: str) -> None:
    """A Page or Instagram account id is digits. Anything else is refused without being
    repeated: a token pasted here by mistake must not reach a log or an error."""
    if value and not value.isdigit():
        raise ConfigError(
            f"must be the {what}'s id, only digits (`publisher accounts` lists it once a "
            f"token is set); a token never goes in config.toml: put it in {variable}",
            key=key,
        )


def build_table(cls: type, data: dict[str, Any], prefix: str) -> Any:
    """Make a settings dataclass from a TOML table, refusing unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in known:
            if any(word in key.lower() for word in SECRET_WORDS):
                raise ConfigError(
                    "secrets never go in config.toml: put tokens in the environment "
                    "(PUBLISHER_FACEBOOK_TOKEN, PUBLISHER_INSTAGRAM_TOKEN) or in the "
                    "secrets file named by [graph] secrets_file",
                    key=dotted,
                )
            suggestion = closest(key, known)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            elsewhere = [
                name
                for name, other in TABLES.items()
                if other is not cls and key in {f.name for f in dataclasses.fields(other)}
            ]
            if elsewhere and not suggestion:  # ledger = under [site]: it is [publish]'s
                tables = " or ".join(f"[{name}]" for name in elsewhere)
                hint = f" here: it belongs under {tables} (move the line there)"
            raise ConfigError(
                f"unknown key{hint}; known keys here: {', '.join(sorted(known))}", key=dotted
            )
        values[key] = _coerce(value, hints[key], dotted)
    settings = cls(**values)
    validate = getattr(settings, "validate", None)
    if validate:
        validate()
    return settings


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option spelled most like `word` (a key mistyped), if one is close enough."""
    import difflib

    matches = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return matches[0] if matches else None


_MERGE_CONFLICT = re.compile(r"^<{7}(?: |$)", re.MULTILINE)


def parse_config(text: str, root: Path, path: Path | None = None) -> Config:
    """Parse config.toml's text; every error names the key (and the file)."""
    where = path or root / CONFIG_FILE
    try:
        data = tomllib.loads(text)
        if not data:  # (empty, or comments alone)
            _refuse_defaults_where_published(root, "is empty")
    except tomllib.TOMLDecodeError as exc:
        conflict = _MERGE_CONFLICT.search(text)
        if conflict is not None:
            line = text.count("\n", 0, conflict.start()) + 1
            raise ConfigError(
                f"has the marks of a git merge that stopped at line {line} (<<<<<<<, ======= "
                "and >>>>>>>): keep your lines or the new ones between them, delete the three "
                "mark lines, then  git commit -a",
                path=where,
            ) from None
        at = re.search(r"at line (\d+), column \d+", str(exc))
        rows = text.splitlines()
        if at and int(at[1]) <= len(rows):
            raise ConfigError(
                f"is not valid TOML: {_toml_advice(rows[int(at[1]) - 1], str(exc))}",
                path=where,
                line=int(at[1]),
            ) from None
        raise ConfigError(f"is not valid TOML: {exc}", path=where) from None
    try:
        return _config_of(data, root, path, where)
    except ConfigError as exc:
        if exc.key is None or exc.line is not None:
            raise
        line = key_line(text, exc.key)
        raise ConfigError(exc.message, exc.key, exc.path, line) from None


_TABLE_LINE = re.compile(r"\[\s*([A-Za-z0-9_-]+)\s*\]")
_KEY_LINE = re.compile(r"([\"']?)([A-Za-z0-9_-]+)\1\s*=")


def key_line(text: str, key: str) -> int | None:
    """The line of config.toml's text where `key` ("site.timezone", "facebook.slots[2]",
    "site") is written, or None where it is not (a key left to its default)."""
    table, _, name = key.partition(".")
    name = name.split("[", 1)[0]
    section = ""
    for number, row in enumerate(text.splitlines(), 1):
        row = row.strip()
        if header := _TABLE_LINE.match(row):
            section = header[1]
            if not name and section == table:
                return number
        elif (found := _KEY_LINE.match(row)) and section == table and found[2] == name:
            return number
    return None


_TRUTH_WORDS = {"yes", "no", "on", "off", "true", "false"}


def _toml_advice(row: str, error: str) -> str:
    """What to write instead of config.toml's line `row`, which TOML refused with `error`:
    in the words of the line's key and value, not TOML's ("Invalid value")."""
    key, equals, value = row.partition("=")
    key, value = key.strip().strip('"'), value.split(" #")[0].strip()
    if error.startswith("Cannot overwrite a value") and equals:
        return f"{key} is written twice in its table: keep one of the two lines"
    if error.startswith("Cannot declare"):
        return f"the table {row.strip()} is written twice: keep one, with all its keys"
    if not equals or not value:
        return error
    if value.lower() in _TRUTH_WORDS:
        return f"{key} must be true or false, in small letters and without quotes"
    if value.startswith("["):
        words = [w.strip(" \"'") for w in value.strip("[] ").split(",") if w.strip(" \"'")]
        listed = ", ".join(json.dumps(w) for w in words)
        return f"each item of the list {key} is text in quotes: {key} = [{listed}]"
    if value[0] not in "\"'":
        return f'the text of {key} goes in quotes: {key} = "{value}"'
    return f"{error} (in the line of {key})"


def _config_of(data: dict[str, Any], root: Path, path: Path | None, where: Path) -> Config:
    """The Config of config.toml's parsed tables."""
    tables: dict[str, Any] = {}
    for name, value in data.items():
        if name not in TABLES:
            keys = [name] + (list(value) if isinstance(value, dict) else [])
            if any(word in key.lower() for key in keys for word in SECRET_WORDS):
                raise ConfigError(
                    "secrets never go in config.toml: put tokens in the environment",
                    key=name,
                    path=where,
                )
            raise ConfigError(
                f"unknown table; known tables: {', '.join(f'[{t}]' for t in TABLES)}",
                key=name,
                path=where,
            )
        if not isinstance(value, dict):
            raise ConfigError(f"must be a table ([{name}]), not a value", key=name, path=where)
        try:
            tables[name] = build_table(TABLES[name], value, name)
        except ConfigError as exc:
            raise ConfigError(exc.message, key=exc.key, path=where) from None
    config = Config(root=root.resolve(), path=path, **tables)
    _check_folders(config, where)
    return config


def _check_folders(config: Config, where: Path) -> None:
    """No path starts with ~, and the private folders (cache, preview) must never end up
    inside the public output."""
    paths = {
        **{f"site.{key}": getattr(config.site, key) for key in _SITE_PATHS},
        "publish.ledger": config.publish.ledger,
        "graph.secrets_file": config.graph.secrets_file,
    }
    for key, value in paths.items():
        if value.startswith("~"):
            raise ConfigError(
                f"{value!r} starts with ~, which publisher does not read as a home folder: "
                "~ is another folder for each user a command runs as (sudo, the service), and "
                "a ledger in two places would send posts twice. Write the whole path "
                f"(/home/...), or one from the folder config.toml is in",
                key=key,
                path=where,
            )
    output = config.output_dir
    private = (
        ("site.cache", config.cache_dir),
        ("site.preview", config.preview_dir),
        ("site.preview", config.preview_site_dir),  # build --now and serve --now write here
        ("publish.ledger", config.ledger_path),
    )
    for key, folder in private:
        if folder == output or output in folder.parents:
            raise ConfigError(
                f"{folder} is inside the public output folder {output}; "
                "choose a folder outside it so it is never deployed",
                key=key,
                path=where,
            )
    if output == config.root or output in config.posts_dir.parents or output == config.posts_dir:
        raise ConfigError(
            "the output folder must be a folder of its own (it is replaced on every build)",
            key="site.output",
            path=where,
        )


_SITE_PATHS = ("posts", "templates", "output", "cache", "preview")


def find_config(start: Path) -> Path | None:
    """The config.toml of the project `start` is in: in it, or in the nearest folder above
    (staff run publisher from posts/ as often as from the project's folder)."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def _refuse_defaults_where_published(root: Path, what: str) -> None:
    """Stop where config.toml is missing or empty but publisher has published from this
    folder (the ledger is where the built-in defaults keep it): run on the defaults, a pass
    would rebuild the website without the clinic's details and settle the social posts due
    then as dry runs, with no Page or account to send them to."""
    ledger = root / PublishSettings.ledger
    if ledger.is_file():
        raise ConfigError(
            f"{what}, but publisher has published from this folder (its ledger, "
            f"{PublishSettings.ledger}, is here): put config.toml back (from a backup, or  "
            "git checkout config.toml ). Nothing was done: on the built-in defaults the "
            "website would lose the clinic's details and Facebook and Instagram would get "
            "nothing",
            path=root / CONFIG_FILE,
        )


def load_config(path: Path | str | None = None) -> Config:
    """Read config.toml (or the built-in defaults when there is none at the default place)."""
    if path is None:
        found = find_config(Path.cwd())
        if found is None:
            _refuse_defaults_where_published(Path.cwd(), "not found")
            return Config(root=Path.cwd().resolve(), path=None)
        path = found
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "not found: run publisher from the folder that has config.toml, or pass --config",
            path=path,
        ) from None
    save_again = "save it again as UTF-8 (in Notepad: File, Save As, Encoding: UTF-8)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(0) * 3 > len(raw[:200]):
        raise ConfigError(
            f'is saved as UTF-16 (what Windows calls "Unicode"): {save_again}', path=path, line=1
        )
    try:
        text = raw.decode("utf-8-sig")  # (Notepad's mark at the start is no TOML error)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "is not UTF-8 text: this line has a character saved in another encoding (such as "
            f"Windows-1252 or Latin-1); {save_again}",
            path=path,
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    # one spelling of the same file (config.toml, ./config.toml, through a link...): the
    # build cache is keyed by the config, and would otherwise start afresh for each
    path = path.resolve()
    return parse_config(text, path.parent, path)
