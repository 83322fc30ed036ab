"""Meta's Graph API as publisher uses it: Page posts, Instagram content publishing, token checks.

Built on facebook-sdk 3.1.0 (`import facebook`), which is old: its version check stops at
v3.1, so the client sets `version` itself, and its `request()` joins a module-global host,
drops the HTTP status and headers, and fails with KeyError on an answer without a content
type. `_GraphAPI` overrides only `request()`, keeping facebook-sdk's contract (the token rides
in the POST body when there is one, else in the query string; Graph errors raise
`facebook.GraphAPIError`), so each client has its own host and the usage headers can be read.

Every failure leaves this module as a `ChannelError` whose `transient` says whether trying
again later can help, sorted by Meta's code, subcode and `is_transient`. A request that
creates something (a Page post, a media container, a media_publish) and ends without a clear
answer (time-out or broken connection after sending, HTTP 5xx, Graph codes 1 and 2) raises
`OutcomeUnknown`: it may have happened, so the caller must reconcile before sending it again.
Retries are the caller's job: this client makes exactly one attempt per call.

A token never appears in a message, a log line or a repr: every text that could hold one
(requests' exception texts and urllib3's debug lines carry the URL) goes through `redact()`.
A GraphClient is not thread-safe: it remembers the usage headers of its last response.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, quote_plus

import facebook
import requests
import urllib3

from publisher.exceptions import ChannelError, OutcomeUnknown

log = logging.getLogger(__name__)

GRAPH_VERSION_DEFAULT = "v26.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION_PATTERN = re.compile(r"^v\d+\.\d+$")

TOKEN_ENV = {"facebook": "PUBLISHER_FACEBOOK_TOKEN", "instagram": "PUBLISHER_INSTAGRAM_TOKEN"}
CHANNEL_LABEL = {"facebook": "Facebook", "instagram": "Instagram"}
REQUIRED_SCOPES = {
    "facebook": ("pages_manage_posts", "pages_read_engagement"),
    "instagram": ("instagram_basic", "instagram_content_publish", "pages_read_engagement"),
}

# Instagram content publishing limits, as Meta documents them (see META-GRAPH.md).
IG_CAPTION_MAX_CHARS = 2200
IG_CAPTION_MAX_HASHTAGS = 30
IG_CAPTION_MAX_MENTIONS = 20
IG_IMAGE_MAX_BYTES = 8 * 1024 * 1024
IG_IMAGE_MIN_WIDTH = 320
IG_IMAGE_MAX_WIDTH = 1440
IG_ASPECT_RATIO_MIN = 4 / 5
IG_ASPECT_RATIO_MAX = 1.91
IG_CONTAINER_LIFETIME = timedelta(hours=24)
IG_QUOTA_WINDOW = timedelta(hours=24)
IG_QUOTA_TOTAL_FALLBACK = 50  # only when content_publishing_limit leaves out `config`

# Instagram container status codes (GET /{container-id}?fields=status_code).
IG_IN_PROGRESS = "IN_PROGRESS"
IG_FINISHED = "FINISHED"
IG_ERROR = "ERROR"
IG_EXPIRED = "EXPIRED"
IG_PUBLISHED = "PUBLISHED"
IG_POLL_MAX_DELAY = 30.0  # seconds between two status reads, at most

# Usage headers: percentages of the budget; Meta advises slowing down well before 100.
USAGE_HEADERS = ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage")
USAGE_PERCENT_KEYS = ("call_count", "total_cputime", "total_time")
USAGE_SLOW_DOWN_PERCENT = 80.0
TOKEN_EXPIRY_WARNING = timedelta(days=7)

# Graph API error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
ERR_UNKNOWN = 1
ERR_SERVICE = 2
ERR_METHOD = 3
ERR_APP_THROTTLED = 4
ERR_PERMISSION_DENIED = 10
ERR_USER_THROTTLED = 17
ERR_PAGE_THROTTLED = 32
ERR_INVALID_PARAMETER = 100
ERR_SESSION = 102
ERR_TOKEN_MISSING = 104
ERR_TOKEN = 190
ERR_PERMISSIONS = range(200, 300)
ERR_APP_LIMIT = 341
ERR_TEMPORARILY_BLOCKED = 368
ERR_DUPLICATE_POST = 506
ERR_RATE_LIMIT = 613
ERR_BUSINESS_USE_CASE = range(80000, 80100)  # 80001 Pages, 80002 Instagram, ...
ERR_LINK_SCRAPE = 1609005

# Subcodes of 190 and 100.
SUB_OBJECT_MISSING = 33
SUB_APP_NOT_INSTALLED = 458
SUB_CHECKPOINT = 459
SUB_PASSWORD_CHANGED = 460
SUB_TOKEN_EXPIRED = 463
SUB_UNCONFIRMED_USER = 464
SUB_TOKEN_INVALID = 467
SUB_SESSION_INVALID = 492

# Instagram subcodes (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes).
IG_SUB_SERVER_ERROR = 2207001  # code -1
IG_SUB_DOWNLOAD_TIMEOUT = 2207003  # code -2
IG_SUB_IMAGE_TOO_LARGE = 2207004  # code 36000
IG_SUB_IMAGE_FORMAT = 2207005  # code 36001
IG_SUB_MEDIA_NOT_FOUND = 2207006  # code 24
IG_SUB_CONTAINER_UNKNOWN = 2207008  # code 24
IG_SUB_ASPECT_RATIO = 2207009  # code 36003
IG_SUB_CAPTION_TOO_LONG = 2207010  # code 36004
IG_SUB_MEDIA_EXPIRED = 2207020  # code -2
IG_SUB_MEDIA_TYPE_UNKNOWN = 2207023  # code 100
IG_SUB_VIDEO_FORMAT = 2207026  # code 352
IG_SUB_NOT_READY = 2207027  # code 9007
IG_SUB_CAROUSEL = 2207028  # code 100
IG_SUB_CREATE_FAILED = 2207032  # code -1
IG_SUB_TOO_MANY_MENTIONS = 2207040  # code 100
IG_SUB_DAILY_LIMIT = 2207042  # code 9
IG_SUB_ACCOUNT_RESTRICTED = 2207050  # code 25
IG_SUB_SPAM = 2207051  # code 4
IG_SUB_FETCH_FAILED = 2207052  # code 9004
IG_SUB_UPLOAD_UNKNOWN = 2207053  # code -1

# Meta gives no duration for a 368 block; they commonly last a day or more, and posting
# into one can lengthen it.
RETRY_AFTER_BLOCKED = 24 * 3600.0
# The publishing quota is a rolling 24-hour window: a slot frees up 24 hours after each
# publish, so look again in an hour (and read content_publishing_limit before publishing).
RETRY_AFTER_DAILY_LIMIT = 3600.0

REDACTED = "***"
_SECRET_PARAMS = re.compile(
    r"(?P<key>access_token|input_token|client_secret|fb_exchange_token)"
    r"(?P<sep>=|%3D|\"?\s*:\s*\"?|'?\s*:\s*'?)"
    r"(?P<value>[^&\s\"'#,;)}\]]+)",
    re.IGNORECASE,
)
_IG_SUBCODE_IN_STATUS = re.compile(r"\b(2207\d{3})\b")
_THROTTLING_NAMES = {
    ERR_APP_THROTTLED: "the app's call limit",
    ERR_USER_THROTTLED: "the user's call limit",
    ERR_PAGE_THROTTLED: "the Page's call limit",
    ERR_APP_LIMIT: "the app's limit",
    ERR_RATE_LIMIT: "a rate limit",
}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret (also URL-encoded) and every access_token=... value with ***."""
    variants: set[str] = set()
    for secret in secrets:
        if secret:
            variants.update({secret, quote(secret, safe=""), quote_plus(secret)})
    for variant in sorted(variants, key=len, reverse=True):
        text = text.replace(variant, REDACTED)
    return _SECRET_PARAMS.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)


class _RedactingFilter(logging.Filter):
    """Keeps tokens out of urllib3's debug lines, which log each request's full URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, ())
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _guard_third_party_logs() -> None:
    """Install the redacting filter on the loggers that print request URLs, once."""
    for name in ("urllib3.connectionpool", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(_RedactingFilter())


@dataclass(frozen=True)
class Usage:
    """What the usage headers of one response said."""

    percent: float | None = None  # highest percentage in any usage header; None: no header
    regain_access_minutes: float | None = None  # estimated_time_to_regain_access, if given

    @property
    def near_limit(self) -> bool:
        """True when Meta's budget is used up far enough that calls should slow down."""
        return self.percent is not None and self.percent >= USAGE_SLOW_DOWN_PERCENT

    @property
    def retry_after(self) -> float | None:
        """Seconds until Meta lifts throttling, when a header said so."""
        if self.regain_access_minutes:
            return self.regain_access_minutes * 60.0
        return None


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Read X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage; never raises."""
    percents: list[float] = []
    regain: list[float] = []

    def take(entry: object) -> None:
        if not isinstance(entry, dict):
            return
        for key in USAGE_PERCENT_KEYS:
            if isinstance(entry.get(key), int | float):
                percents.append(float(entry[key]))
        minutes = entry.get("estimated_time_to_regain_access")
        if isinstance(minutes, int | float):
            regain.append(float(minutes))

    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if name == "X-Business-Use-Case-Usage" and isinstance(value, dict):
            for entries in value.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    take(entry)
        else:
            take(value)
    return Usage(
        percent=max(percents) if percents else None,
        regain_access_minutes=max(regain) if regain else None,
    )


def _variable(channel: str, variable: str | None = None) -> str:
    """The variable to set for `channel`'s token: the one its token was read from, which for
    Instagram without a token of its own is the Facebook Page token's."""
    own = TOKEN_ENV.get(channel, "the token")
    if variable is None or variable == own:
        return own
    return f"{variable} (the {_label(channel)} channel uses that token while {own} is not set)"


def _token_advice(channel: str, variable: str | None = None) -> str:
    return f"make a new Page access token and set {_variable(channel, variable)}"


def _label(channel: str) -> str:
    return CHANNEL_LABEL.get(channel, channel)


def classify_error(
    channel: str,
    code: int | None,
    subcode: int | None,
    *,
    is_transient: bool = False,
    variable: str | None = None,
) -> tuple[bool, str]:
    """Sort a Graph error into (transient, what happened and what to do, for a person);
    `variable` is the one the token was read from (the channel's own when None)."""
    label, advice = _label(channel), _token_advice(channel, variable)
    needed = ", ".join(REQUIRED_SCOPES.get(channel, ()))
    if code == ERR_TOKEN or (code == ERR_SESSION and subcode is not None):
        token_subcodes = {
            SUB_TOKEN_EXPIRED: f"the {label} token expired: {advice}",
            SUB_TOKEN_INVALID: f"the {label} token is invalid (revoked, mistyped or made for"
            f" another app): {advice}",
            SUB_PASSWORD_CHANGED: f"the {label} token was cancelled because the account's"
            f" password changed: {advice}",
            SUB_CHECKPOINT: f"the Facebook account behind the {label} token is held at a security"
            f" checkpoint: log in at https://www.facebook.com, follow the steps there, then"
            f" {advice}",
            SUB_UNCONFIRMED_USER: f"the Facebook account behind the {label} token is not"
            f" confirmed: confirm it on facebook.com, then {advice}",
            SUB_APP_NOT_INSTALLED: f"the account behind the {label} token no longer authorizes"
            f" the app: {advice}",
            SUB_SESSION_INVALID: f"the {label} token's session is no longer valid (is the person"
            f" who made it still an admin of the Page?): {advice}",
        }
        return False, token_subcodes.get(subcode, f"Meta refused the {label} token: {advice}")
    if code == ERR_SESSION:
        return False, f"Meta refused the {label} token's session: {advice}"
    if code == ERR_TOKEN_MISSING:
        return False, f"no {label} token reached Meta: set {_variable(channel, variable)}"

    ig_subcodes: dict[int, tuple[bool, str]] = {
        IG_SUB_NOT_READY: (
            True,
            "the Instagram container is not ready yet: publisher waits until its status is"
            " FINISHED, then publishes it",
        ),
        IG_SUB_SERVER_ERROR: (
            True,
            "Instagram had a server error: publisher will make a new container and try again",
        ),
        IG_SUB_DOWNLOAD_TIMEOUT: (
            True,
            "Instagram took too long to download the image: check that the image URL answers"
            " quickly; publisher will make a new container and try again",
        ),
        IG_SUB_MEDIA_EXPIRED: (
            True,
            "the Instagram container expired before it was published: publisher will make a"
            " new one",
        ),
        IG_SUB_CREATE_FAILED: (
            True,
            "Instagram could not create the media container: publisher will make a new one and"
            " try again",
        ),
        IG_SUB_UPLOAD_UNKNOWN: (
            True,
            "Instagram had an unknown upload error: publisher will make a new container and try"
            " again",
        ),
        IG_SUB_CONTAINER_UNKNOWN: (
            True,
            "Instagram does not know that container (it expired or is not ready yet):"
            " publisher will try again, then make a new container",
        ),
        IG_SUB_MEDIA_NOT_FOUND: (
            True,
            "Instagram cannot find the media: publisher will make a new container; if this keeps"
            f" happening, check the token's permissions ({needed})",
        ),
        IG_SUB_DAILY_LIMIT: (
            True,
            "the Instagram account reached its limit of posts per 24 hours: publisher tries"
            " again when the rolling window frees a slot; nothing to do unless it keeps happening",
        ),
        IG_SUB_SPAM: (
            False,
            "Instagram blocked this publishing action as suspected spam: do not retry it; if it"
            " is a mistake, tell Instagram in the app (Settings, Account Status), then run"
            " `publisher retry`",
        ),
        IG_SUB_ACCOUNT_RESTRICTED: (
            False,
            "the Instagram account is restricted, inactive or held at a checkpoint: sign in to"
            " the Instagram app, complete what it asks, then run `publisher retry`",
        ),
        IG_SUB_FETCH_FAILED: (
            False,
            "Instagram could not fetch the image from its URL: make sure the image URL is public"
            " (no login, no redirect, answers 200 with a JPEG), then run `publisher retry`",
        ),
        IG_SUB_IMAGE_TOO_LARGE: (
            False,
            f"the image is larger than Instagram's {IG_IMAGE_MAX_BYTES // (1024 * 1024)} MiB"
            " limit: make it smaller, rebuild the site, then run `publisher retry`",
        ),
        IG_SUB_IMAGE_FORMAT: (
            False,
            "Instagram does not accept this image format: use a plain JPEG (not PNG, WebP or"
            " MPO), rebuild the site, then run `publisher retry`",
        ),
        IG_SUB_ASPECT_RATIO: (
            False,
            "the image's aspect ratio is outside what Instagram accepts (4:5 to 1.91:1): crop"
            " it, rebuild the site, then run `publisher retry`",
        ),
        IG_SUB_CAPTION_TOO_LONG: (
            False,
            f"the caption is too long for Instagram (at most {IG_CAPTION_MAX_CHARS:,}"
            f" characters, {IG_CAPTION_MAX_HASHTAGS} hashtags, {IG_CAPTION_MAX_MENTIONS}"
            " @mentions): shorten the post's Instagram text, then run `publisher retry`",
        ),
        IG_SUB_TOO_MANY_MENTIONS: (
            False,
            f"the caption has more than {IG_CAPTION_MAX_MENTIONS} @mentions: remove some, then"
            " run `publisher retry`",
        ),
        IG_SUB_MEDIA_TYPE_UNKNOWN: (
            False,
            "Instagram does not know this media type: the post's photo must be a JPEG; export"
            " it again, then run `publisher retry`",
        ),
        IG_SUB_VIDEO_FORMAT: (
            False,
            "Instagram does not accept this video format: publisher sends photos only; check"
            " the post's image, then run `publisher retry`",
        ),
        IG_SUB_CAROUSEL: (
            False,
            "Instagram refused the carousel (it needs 2 to 10 items): publisher sends one"
            " photo; check the post's image, then run `publisher retry`",
        ),
    }
    if subcode in ig_subcodes:
        return ig_subcodes[subcode]

    if code == ERR_PERMISSION_DENIED or code in ERR_PERMISSIONS:
        return False, (
            f"the {label} token lacks a permission this needs ({needed}): make a new Page access"
            f" token that grants them and set {_variable(channel, variable)}"
        )
    if code in _THROTTLING_NAMES or code in ERR_BUSINESS_USE_CASE:
        which = _THROTTLING_NAMES.get(code or 0, "a business use case rate limit")
        return True, f"Meta is throttling calls ({which} is reached): publisher will slow down"
    if code in (ERR_UNKNOWN, ERR_SERVICE):
        return True, "Meta had a temporary problem: publisher will try again"
    if code == ERR_TEMPORARILY_BLOCKED:
        return True, (
            "Meta has temporarily blocked this account from posting (a policy block): publisher"
            " waits a day before trying again; check the Page's Account Quality in Meta"
            " Business Suite"
        )
    if code == ERR_DUPLICATE_POST:
        return False, (
            "Facebook refused the post as a duplicate of a recent one: if it already went out,"
            " run `publisher skip`; otherwise change its text and run `publisher retry`"
        )
    if code == ERR_LINK_SCRAPE:
        return False, (
            "Facebook could not read the article link to build its preview: check that the"
            " article is live and public, then run `publisher retry`"
        )
    if code == ERR_METHOD:
        return False, (
            "the Meta app lacks the capability for this call: check its permissions and features"
            " in the Meta app dashboard"
        )
    if code == ERR_INVALID_PARAMETER and subcode == SUB_OBJECT_MISSING:
        return False, (
            f"the {label} account id does not exist or the token cannot see it: check the"
            " account id in config.toml and that the token belongs to that account"
        )
    if code == ERR_INVALID_PARAMETER:
        return False, (
            "Meta refused a parameter of the request: Meta's own words (at the end) say which; fix the"
            " post or config.toml, then run `publisher retry`"
        )
    if is_transient:
        return True, "Meta answered with an error it marks as temporary: publisher will try again"
    return False, (
        "Meta refused the request: Meta's own words (at the end) say why; once it is fixed, run"
        " `publisher retry`"
    )


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class _GraphFailure(facebook.GraphAPIError):
    """A facebook-sdk GraphAPIError that also keeps the HTTP status and content type."""

    def __init__(self, result: object, status: int, content_type: str, *, graph_error: bool):
        super().__init__(result)
        self.status = status
        self.content_type = content_type
        self.graph_error = graph_error


class _GraphAPI(facebook.GraphAPI):
    """facebook-sdk's client with its own host, keeping each answer's status and headers."""

    def __init__(
        self, *, token: str, base_url: str, version: str, timeout: float, session: requests.Session
    ):
        super().__init__(access_token=token, timeout=timeout, session=session)
        self.version = version  # after __init__: facebook-sdk rejects versions above 3.1
        self.base_url = base_url.rstrip("/") + "/"
        self.last_call = ""
        self.last_status: int | None = None
        self.last_headers: Mapping[str, str] = {}

    def request(
        self,
        path: str,
        args: dict | None = None,
        post_args: dict | None = None,
        files: dict | None = None,
        method: str | None = None,
    ) -> Any:
        """facebook-sdk's request(), against this client's host."""
        args = dict(args or {})
        if post_args is not None:
            method = "POST"
            post_args = dict(post_args)
        # As facebook-sdk does it: in the POST body when there is one, else in the query.
        if self.access_token:
            if post_args and "access_token" not in post_args:
                post_args["access_token"] = self.access_token
            elif "access_token" not in args:
                args["access_token"] = self.access_token
        self.last_call = f"{method or 'GET'} /{path}"
        self.last_status, self.last_headers = None, {}
        response = self.session.request(
            method or "GET",
            self.base_url + path,
            timeout=self.timeout,
            params=args,
            data=post_args,
            files=files,
            proxies=self.proxies,
        )
        self.last_status, self.last_headers = response.status_code, response.headers
        content_type = response.headers.get("Content-Type", "")
        result: Any = None
        if "json" in content_type or "javascript" in content_type:
            try:
                result = response.json()
            except ValueError:
                result = None
        if isinstance(result, dict) and result.get("error"):
            raise _GraphFailure(result, response.status_code, content_type, graph_error=True)
        if result is None or response.status_code >= 400:
            raise _GraphFailure(
                {"error": {"message": f"HTTP {response.status_code}"}},
                response.status_code,
                content_type,
                graph_error=False,
            )
        return result


def _never_sent(exc: requests.RequestException) -> bool:
    """True when no connection was made, so the request cannot have reached Meta."""
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    )


@dataclass(frozen=True)
class AccountReport:
    """What `publisher accounts` shows for one channel: the account and its token."""

    channel: str
    account_id: str
    name: str | None = None  # the Page's name, or the Instagram @username
    token_valid: bool = False
    token_type: str | None = None  # PAGE, USER, ... as debug_token tells
    token_owner: str | None = None  # who /me is for this token
    scopes: tuple[str, ...] | None = None  # None: the API did not tell
    missing_scopes: tuple[str, ...] = ()
    expires_at: datetime | None = None  # None: never, or not told (see never_expires)
    never_expires: bool = False
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    reached: bool = True  # False: Meta never answered (down, or no network), nothing was checked
    # what of the problems and warnings is about the token itself (refused, expired or soon
    # to be, lacking a permission, of the wrong kind), not a call that failed on the way:
    # what a publishing pass's daily look at the token says (publish.PublishingPass)
    about_token: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the token works and nothing needs a person."""
        return self.token_valid and not self.problems

    def lines(self) -> list[str]:
        """The report in plain words, one fact per line."""
        if self.channel == "instagram":
            shown = f"Instagram account @{self.name}" if self.name else "Instagram account"
        else:
            shown = f'{_label(self.channel)} Page "{self.name}"' if self.name else "Page"
        out = [f"{self.channel}: {shown} ({self.account_id})"]
        if self.token_valid:
            kind = f"{self.token_type.title()} " if self.token_type else ""
            owner = f" for {self.token_owner}" if self.token_owner else ""
            out.append(f"  token: valid {kind}token{owner}")
        elif not self.reached:
            out.append("  token: not checked (the Graph API could not be reached)")
        else:
            out.append("  token: not working")
        if self.never_expires:
            out.append("  expires: never")
        elif self.expires_at is not None:
            out.append(f"  expires: {self.expires_at:%Y-%m-%d %H:%M} UTC")
        if self.scopes is not None:
            out.append(f"  permissions: {', '.join(self.scopes) or 'none'}")
        out += [f"  problem: {p}" for p in self.problems]
        out += [f"  warning: {w}" for w in self.warnings]
        return out

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "channel": self.channel,
            "account_id": self.account_id,
            "name": self.name,
            "ok": self.ok,
            "token_valid": self.token_valid,
            "token_type": self.token_type,
            "token_owner": self.token_owner,
            "scopes": list(self.scopes) if self.scopes is not None else None,
            "missing_scopes": list(self.missing_scopes),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "never_expires": self.never_expires,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "reached": self.reached,
        }


class GraphClient:
    """One channel's connection to the Graph API; every failure raises ChannelError."""

    def __init__(
        self,
        *,
        token: str,
        channel: str,
        base_url: str = DEFAULT_GRAPH_URL,
        version: str = GRAPH_VERSION_DEFAULT,
        timeout: float = 30.0,
        token_variable: str | None = None,
    ):
        """`token_variable` is the variable the token was read from, named in the advice
        when Meta refuses it (the channel's own when None)."""
        if not token:
            raise ChannelError(
                f"no {_label(channel)} token: set {TOKEN_ENV.get(channel, 'the token')}",
                channel=channel,
                transient=False,
            )
        if not version.startswith("v"):
            version = "v" + version
        if not GRAPH_VERSION_PATTERN.match(version):
            raise ValueError(f"Graph API version {version!r} should look like v26.0")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Graph API URL {base_url!r} should start with https://")
        _guard_third_party_logs()
        self.channel = channel
        self.token_variable = token_variable
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.timeout = timeout
        self._secrets = (token,)
        self.session = requests.Session()
        self._api = _GraphAPI(
            token=token,
            base_url=self.base_url,
            version=version,
            timeout=timeout,
            session=self.session,
        )
        self._usage = Usage()
        # Meta's clock minus ours, from the last answer (a second's precision): what Meta
        # stamps a post with is compared with when we sent it
        self.clock_offset = timedelta(0)

    def __repr__(self) -> str:
        return (
            f"GraphClient(channel={self.channel!r}, base_url={self.base_url!r},"
            f" version={self.version!r})"
        )

    @property
    def usage(self) -> Usage:
        """The usage headers of the last response."""
        return self._usage

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    # Facebook Page

    def page_post(self, page_id: str, message: str, link: str) -> str:
        """POST /{page-id}/feed; returns the new post's id."""
        result = self._send(
            f"posting to Facebook Page {page_id}",
            lambda: self._api.put_object(page_id, "feed", message=message, link=link),
            creates="the post may or may not be on the Page: read the Page's recent posts"
            " before posting again",
        )
        return self._field(result, "id", f"posting to Facebook Page {page_id}", creates=True)

    def post_permalink(self, post_id: str) -> str:
        """The public URL of a Page post."""
        action = f"reading the permalink of Facebook post {post_id}"
        result = self._send(action, lambda: self._api.get_object(post_id, fields="permalink_url"))
        return self._field(result, "permalink_url", action)

    def recent_page_posts(self, page_id: str, limit: int = 25) -> list[dict]:
        """The Page's newest published posts: id, message, created_time, permalink_url."""
        action = f"reading recent posts of Facebook Page {page_id}"
        result = self._send(
            action,
            lambda: self._api.get_connections(
                page_id,
                "published_posts",
                fields="id,message,created_time,permalink_url",
                limit=limit,
            ),
        )
        return self._data(result, action)

    # Instagram

    def ig_create_container(
        self, ig_user_id: str, image_url: str, caption: str, alt_text: str
    ) -> str:
        """POST /{ig-user-id}/media (Meta fetches image_url now); returns the container id."""
        action = f"creating an Instagram media container for {ig_user_id} from {image_url}"
        args = {"image_url": image_url, "caption": caption}
        if alt_text:
            args["alt_text"] = alt_text
        result = self._send(
            action,
            lambda: self._api.put_object(ig_user_id, "media", **args),
            creates="a container may or may not have been made: make a new one (an unused"
            " container expires unpublished after 24 hours)",
        )
        return self._field(result, "id", action, creates=True)

    def ig_container_status(self, container_id: str) -> tuple[str, str]:
        """(status_code, status) of a media container."""
        action = f"reading the status of Instagram container {container_id}"
        result = self._send(
            action, lambda: self._api.get_object(container_id, fields="status_code,status")
        )
        if not isinstance(result, dict):
            raise self._bad_answer(action)
        return str(result.get("status_code", "")), str(result.get("status", ""))

    def ig_wait_until_finished(
        self,
        container_id: str,
        *,
        timeout: float = 60,
        first_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> str:
        """Poll a container with doubling pauses until FINISHED; returns FINISHED or PUBLISHED.

        PUBLISHED means the container already went out: find the media instead of publishing.
        ERROR, EXPIRED and running out of time raise ChannelError (running out of time with
        subcode IG_SUB_NOT_READY, as Meta's answer to publishing it too soon).
        """
        started, slept, delay = time.monotonic(), 0.0, first_delay
        last = "no answer yet"
        while True:
            try:
                status_code, status = self.ig_container_status(container_id)
            except ChannelError as err:
                if not err.transient:
                    raise
                last = err.message  # a read is safe to repeat within the time allowed
            else:
                if status_code in (IG_FINISHED, IG_PUBLISHED):
                    return status_code
                if status_code == IG_ERROR:
                    raise self._container_failed(container_id, status)
                if status_code == IG_EXPIRED:
                    raise ChannelError(
                        f"Instagram container {container_id} expired before it was published:"
                        " publisher will make a new one",
                        channel=self.channel,
                        transient=True,
                    )
                last = f"status {status_code or 'unknown'}"
            waited = max(time.monotonic() - started, slept)
            remaining = timeout - waited
            if remaining <= 0:
                # Meta's own subcode for a container still being processed (9007 / 2207027):
                # the caller keeps this container and looks at it again, never makes another
                raise ChannelError(
                    f"Instagram container {container_id} was not ready after {timeout:g} s"
                    f" ({redact(last, self._secrets)}): publisher will look at it again later",
                    channel=self.channel,
                    transient=True,
                    subcode=IG_SUB_NOT_READY,
                )
            pause = min(delay, remaining, IG_POLL_MAX_DELAY)
            sleep(pause)
            slept += pause
            delay *= 2

    def ig_publish(self, ig_user_id: str, creation_id: str) -> str:
        """POST /{ig-user-id}/media_publish; returns the media id."""
        action = f"publishing Instagram container {creation_id}"
        result = self._send(
            action,
            lambda: self._api.put_object(ig_user_id, "media_publish", creation_id=creation_id),
            creates="the media may or may not be published: read the container's status_code"
            " (PUBLISHED means it went out) before publishing again",
        )
        return self._field(result, "id", action, creates=True)

    def ig_media_permalink(self, media_id: str) -> str:
        """The public URL of an Instagram media."""
        action = f"reading the permalink of Instagram media {media_id}"
        result = self._send(action, lambda: self._api.get_object(media_id, fields="permalink"))
        return self._field(result, "permalink", action)

    def ig_recent_media(self, ig_user_id: str, limit: int = 25) -> list[dict]:
        """The account's newest media: id, caption, timestamp, permalink."""
        action = f"reading recent media of Instagram account {ig_user_id}"
        result = self._send(
            action,
            lambda: self._api.get_connections(
                ig_user_id, "media", fields="id,caption,timestamp,permalink", limit=limit
            ),
        )
        return self._data(result, action)

    def ig_publishing_limit(self, ig_user_id: str) -> tuple[int, int]:
        """(posts published in the last 24 hours, posts allowed) as Meta reports them."""
        action = f"reading the publishing limit of Instagram account {ig_user_id}"
        result = self._send(
            action,
            lambda: self._api.get_connections(
                ig_user_id, "content_publishing_limit", fields="quota_usage,config"
            ),
        )
        rows = self._data(result, action)
        if not rows:
            raise self._bad_answer(action)
        used = _int(rows[0].get("quota_usage"))
        config = rows[0].get("config")
        total = _int(config.get("quota_total")) if isinstance(config, dict) else None
        if used is None:
            raise self._bad_answer(action)
        return used, total if total is not None else IG_QUOTA_TOTAL_FALLBACK

    # Accounts

    def describe_account(
        self, account_id: str, *, now: datetime | None = None, zone: tzinfo = UTC
    ) -> AccountReport:
        """Check the account and its token: name, validity, permissions, expiry; never raises.
        `zone`: the site's, in which a token's day of expiry is said."""
        now = now or datetime.now(UTC)
        name_field = "username" if self.channel == "instagram" else "name"
        problems: list[str] = []
        warnings: list[str] = []
        found: dict[str, Any] = {}

        refused: list[ChannelError] = []
        answered: list[bool] = []  # whether Meta answered at all (an error is an answer)

        def attempt(call: Callable[[], Any]) -> Any:
            try:
                result = call()
            except ChannelError as err:
                if err.message not in problems:
                    problems.append(err.message)
                if err.code in (ERR_TOKEN, ERR_SESSION, ERR_TOKEN_MISSING):
                    refused.append(err)
                if err.code is not None or not err.transient:
                    answered.append(True)
                return None
            answered.append(True)
            return result

        account = attempt(lambda: self._get(account_id, name_field, "reading the account"))
        if refused:  # every other call would fail the same way
            said = tuple(problems)
            return AccountReport(self.channel, account_id, problems=said, about_token=said)
        if isinstance(account, dict):
            found["name"] = account.get(name_field)
        me = attempt(lambda: self._get("me", "id,name", "reading whose token this is"))
        if isinstance(me, dict):
            found["token_owner"] = me.get("name") or me.get("id")
        token = self._secrets[0]
        debug = attempt(
            lambda: self._send(
                "checking the token with debug_token",
                lambda: self._api.request(f"{self.version}/debug_token", {"input_token": token}),
            )
        )
        data = debug.get("data") if isinstance(debug, dict) else None
        valid = bool(account is not None or me is not None)
        if isinstance(data, dict):
            valid = bool(data.get("is_valid", valid))
            found["token_type"] = data.get("type")
            if isinstance(data.get("scopes"), list):
                found["scopes"] = tuple(str(s) for s in data["scopes"])
            expires = _int(data.get("expires_at"))
            if expires == 0:
                found["never_expires"] = True
            elif expires:
                found["expires_at"] = datetime.fromtimestamp(expires, UTC)
        if "scopes" not in found and valid:
            permissions = attempt(
                lambda: self._send(
                    "reading the token's permissions",
                    lambda: self._api.get_connections("me", "permissions"),
                )
            )
            rows = permissions.get("data") if isinstance(permissions, dict) else None
            if isinstance(rows, list):
                found["scopes"] = tuple(
                    str(r.get("permission")) for r in rows if r.get("status") == "granted"
                )
        about_token: list[str] = [err.message for err in refused]
        missing: tuple[str, ...] = ()
        if "scopes" in found:
            missing = tuple(
                s for s in REQUIRED_SCOPES.get(self.channel, ()) if s not in found["scopes"]
            )
        if missing:
            about_token.append(
                f"the {_label(self.channel)} token lacks {', '.join(missing)}: make a new Page"
                f" access token that grants them and set {_variable(self.channel, self.token_variable)}"
            )
            problems.append(about_token[-1])
        if self.channel == "facebook" and found.get("token_type") not in (None, "PAGE"):
            about_token.append(
                f"the Facebook token is a {found['token_type']} token, not a Page access token:"
                f" {_token_advice(self.channel, self.token_variable)}"
            )
            problems.append(about_token[-1])
        expires_at = found.get("expires_at")
        if expires_at is not None and valid:
            if expires_at <= now:
                about_token.append(
                    f"the {_label(self.channel)} token expired: {_token_advice(self.channel, self.token_variable)}"
                )
                problems.append(about_token[-1])
            elif expires_at - now <= TOKEN_EXPIRY_WARNING:
                days = max(1, round((expires_at - now) / timedelta(days=1)))
                about_token.append(
                    f"the {_label(self.channel)} token expires on {expires_at.astimezone(zone):%Y-%m-%d}"
                    f" (in {days} day{'s' if days != 1 else ''}): {_token_advice(self.channel, self.token_variable)}"
                    " before then"
                )
                warnings.append(about_token[-1])
        return AccountReport(
            channel=self.channel,
            account_id=account_id,
            name=found.get("name"),
            token_valid=valid,
            token_type=found.get("token_type"),
            token_owner=found.get("token_owner"),
            scopes=found.get("scopes"),
            missing_scopes=missing,
            expires_at=expires_at,
            never_expires=bool(found.get("never_expires")),
            problems=tuple(problems),
            warnings=tuple(warnings),
            reached=bool(answered),
            about_token=tuple(dict.fromkeys(about_token)),
        )

    # The one path every call takes

    def _get(self, object_id: str, fields: str, action: str) -> Any:
        return self._send(action, lambda: self._api.get_object(object_id, fields=fields))

    def _note_clock(self, headers: Mapping[str, str]) -> None:
        """How far Meta's clock (its answer's Date header) is from this machine's."""
        stamp = headers.get("Date") if headers else None
        if not stamp:
            return
        try:
            theirs = email.utils.parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            return
        if theirs.tzinfo is not None:
            self.clock_offset = theirs - datetime.now(UTC)

    def _send(self, action: str, call: Callable[[], Any], *, creates: str | None = None) -> Any:
        """Run one facebook-sdk call; turn every failure into ChannelError (no chained cause)."""
        started, was_near_limit = time.monotonic(), self._usage.near_limit
        failure: ChannelError | None = None
        result: Any = None
        try:
            result = call()
        except _GraphFailure as exc:
            self._usage = parse_usage(self._api.last_headers)
            failure = self._graph_failure(exc, action, creates)
        except requests.RequestException as exc:
            self._usage = Usage()
            failure = self._transport_failure(exc, action, creates)
        else:
            self._usage = parse_usage(self._api.last_headers)
        self._note_clock(self._api.last_headers)
        log.debug(
            "graph %s -> %s in %.0f ms",
            self._api.last_call,
            self._api.last_status or type(failure).__name__,
            (time.monotonic() - started) * 1000,
        )
        if self._usage.near_limit and not was_near_limit:
            log.warning(
                "%s: Meta reports %.0f%% of the call budget used: slow down",
                self.channel,
                self._usage.percent,
            )
        if failure is not None:
            # Raised outside the except blocks, so no __context__ carries a URL with the token.
            raise failure
        return result

    def _graph_failure(self, exc: _GraphFailure, action: str, creates: str | None) -> ChannelError:
        action = redact(action, self._secrets)  # it names the Page or account
        error = exc.result.get("error") if isinstance(exc.result, dict) else None
        if not exc.graph_error or not isinstance(error, dict):
            return self._http_failure(exc.status, exc.content_type, action, creates)
        code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
        transient, advice = classify_error(
            self.channel,
            code,
            subcode,
            is_transient=error.get("is_transient") is True,
            variable=self.token_variable,
        )
        meta = self._meta_words(error, code, subcode)
        retry_after = self._usage.retry_after
        if code == ERR_TEMPORARILY_BLOCKED:
            retry_after = max(retry_after or 0.0, RETRY_AFTER_BLOCKED)
        if subcode == IG_SUB_DAILY_LIMIT:
            retry_after = max(retry_after or 0.0, RETRY_AFTER_DAILY_LIMIT)
        if creates and (exc.status >= 500 or code in (ERR_UNKNOWN, ERR_SERVICE)):
            return self._unknown(
                f"Meta answered HTTP {exc.status} with a temporary error while {action}:"
                f" {creates} ({meta})",
                code=code,
                subcode=subcode,
                retry_after=retry_after,
            )
        return ChannelError(
            f"{advice} ({action}; {meta})",
            channel=self.channel,
            transient=transient,
            code=code,
            subcode=subcode,
            retry_after=retry_after,
        )

    def _meta_words(self, error: Mapping[str, Any], code: int | None, subcode: int | None) -> str:
        said = str(error.get("message") or "no message")
        user_msg = error.get("error_user_msg")
        if user_msg and str(user_msg) not in said:
            said = f"{said} {user_msg}"
        parts = [f'Meta: "{said}"', f"code {code}"]
        if subcode is not None:
            parts.append(f"subcode {subcode}")
        if error.get("fbtrace_id"):
            parts.append(f"fbtrace_id {error['fbtrace_id']}")
        return redact(", ".join(parts), self._secrets)

    def _http_failure(
        self, status: int, content_type: str, action: str, creates: str | None
    ) -> ChannelError:
        action = redact(action, self._secrets)
        body = f"a {content_type.split(';')[0]} page" if content_type else "a body"
        if 200 <= status < 300:
            what = f"Meta answered HTTP {status} with {body} that is not a Graph API answer"
        else:
            what = f"Meta answered HTTP {status} with {body} instead of a Graph API error"
        if creates and (status >= 500 or status < 300):
            return self._unknown(f"{what} while {action}: {creates}")
        if status >= 500 or status == 429 or status < 300:
            return ChannelError(
                f"{what} while {action}: publisher will try again",
                channel=self.channel,
                transient=True,
                retry_after=self._usage.retry_after,
            )
        return ChannelError(
            f"{what} while {action}: check that [graph] url (or PUBLISHER_GRAPH_URL) points at"
            f" the Graph API; it is {self.base_url}",
            channel=self.channel,
            transient=False,
        )

    def _transport_failure(
        self, exc: requests.RequestException, action: str, creates: str | None
    ) -> ChannelError:
        details = redact(str(exc), self._secrets)
        action = redact(action, self._secrets)
        never_sent = _never_sent(exc)
        if isinstance(
            exc,
            requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.InvalidSchema,
        ):
            return ChannelError(
                f"the Graph API URL {self.base_url} is not usable while {action}: fix [graph] url"
                f" or PUBLISHER_GRAPH_URL (details: {details})",
                channel=self.channel,
                transient=False,
            )
        if never_sent:
            what = f"could not connect to {self.base_url}"
        elif isinstance(exc, requests.exceptions.Timeout):
            what = f"no answer from Meta within {self.timeout:g} s"
        else:
            what = "the connection to Meta broke"
        if creates and not never_sent:
            return self._unknown(f"{what} while {action}: {creates} (details: {details})")
        hint = "check the network" if never_sent else "Meta may be slow"
        return ChannelError(
            f"{what} while {action}: {hint}; publisher will try again (details: {details})",
            channel=self.channel,
            transient=True,
        )

    def _unknown(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ) -> OutcomeUnknown:
        err = OutcomeUnknown(redact(message, self._secrets), channel=self.channel)
        err.code, err.subcode, err.retry_after = code, subcode, retry_after
        return err

    def _container_failed(self, container_id: str, status: str) -> ChannelError:
        match = _IG_SUBCODE_IN_STATUS.search(status)
        subcode = int(match.group(1)) if match else None
        if subcode is not None:
            transient, advice = classify_error(self.channel, None, subcode)
        else:
            transient, advice = (
                True,
                "Instagram could not process the image: publisher will make a new container;"
                " if it keeps failing, check the image (a JPEG, at most 8 MiB, 4:5 to 1.91:1)",
            )
        return ChannelError(
            f"{advice} (Instagram container {container_id} status:"
            f" {redact(status, self._secrets)!r})",
            channel=self.channel,
            transient=transient,
            subcode=subcode,
        )

    def _field(self, result: Any, key: str, action: str, *, creates: bool = False) -> str:
        if isinstance(result, dict) and result.get(key):
            return str(result[key])
        if creates:
            raise self._unknown(
                f"Meta's answer had no {key} while {action}: it may have been created;"
                " reconcile before sending it again"
            )
        raise self._bad_answer(action)

    def _data(self, result: Any, action: str) -> list[dict]:
        rows = result.get("data") if isinstance(result, dict) else None
        if not isinstance(rows, list):
            raise self._bad_answer(action)
        return [row for row in rows if isinstance(row, dict)]

    def _bad_answer(self, action: str) -> ChannelError:
        return ChannelError(
            f"Meta's answer was not what the Graph API documents while {action}: publisher will"
            " try again",
            channel=self.channel,
            transient=True,
        )
