"""A stand-in for Meta's Graph API: a real HTTP server on 127.0.0.1, for tests.

It answers the calls publisher makes (Facebook Page posts, Instagram content publishing,
token checks) with Meta's paths, shapes, error codes and usage headers, keeps what was
"published" so a test can count it, logs every request (tokens removed), and can be told to
fail. Standard library only; its limits are its own constants, not publisher's, so a wrong
limit in publisher is caught rather than shared.

From a test:

    with GraphStandin() as graph:
        graph.add_token("EAAtestSECRETtoken123")
        graph.fail_graph("POST", "/*/feed", code=4, is_transient=True)   # next feed post
        held = graph.hold("POST", "/*/media_publish", after_effect=True)
        ...
        assert len(graph.page_posts(graph.page_id)) == 1

Standalone: python tests/graph_standin.py --port 8900 --token TOKEN
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import random
import re
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Meta's limits, as documented (META-GRAPH.md).
CAPTION_MAX_CHARS = 2200
CAPTION_MAX_HASHTAGS = 30
CAPTION_MAX_MENTIONS = 20
IMAGE_MAX_BYTES = 8 * 1024 * 1024
IMAGE_MIN_WIDTH, IMAGE_MAX_WIDTH = 320, 1440
ASPECT_MIN, ASPECT_MAX = 4 / 5, 1.91
QUOTA_TOTAL, QUOTA_DURATION = 50, 86400
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 25, 100
ALL_SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "instagram_basic",
    "instagram_content_publish",
)
APP_ID = "900000000000001"
PROXY_502_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>proxy</center></body></html>"
)
TOKEN_STATES = {  # state -> (subcode, Meta's message)
    "expired": (
        463,
        "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00"
        " PST. The current time is Wednesday, 02-Dec-26 04:05:00 PST.",
    ),
    "invalid": (467, "Error validating access token: The session is invalid."),
    "password_changed": (
        460,
        "Error validating access token: The session has been invalidated because the user"
        " changed their password or Facebook has changed the session for security reasons.",
    ),
    "checkpoint": (
        459,
        "Error validating access token: You cannot access the app till you log in to"
        " www.facebook.com and follow the instructions given.",
    ),
}
FINISHED_STATUS = "Finished: Media has been uploaded and it is ready to be published."
_VERSIONED = re.compile(r"^/(v\d+\.\d+)(/.*)?$")
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_.]+")


class GraphError(Exception):
    """An error answer in Meta's shape."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        is_transient: bool = False,
        type_: str = "OAuthException",
        **extra: Any,
    ):
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            self.error["error_subcode"] = subcode
        self.error["is_transient"] = is_transient
        self.error.update(extra)


@dataclass
class Token:
    """A token the stand-in knows; `state` is valid, expired, invalid, password_changed, checkpoint."""

    label: str
    state: str = "valid"
    scopes: tuple[str, ...] = ALL_SCOPES
    expires_at: int = 0  # unix time; 0 = never, like a Page token from a long-lived user token
    type: str = "PAGE"


@dataclass
class LoggedRequest:
    """One request as received: the token itself is never kept, only its label and where it was."""

    method: str
    path: str  # without the version, e.g. /1000001/feed
    version: str | None  # e.g. v26.0; None when the path had no version
    params: dict[str, str]  # query and form fields, access_token removed, input_token masked
    token: str | None  # the label of the token presented, "unknown" or None for none
    token_in: str | None  # "query", "body" or None
    status: int | None = None  # the HTTP status sent; None while held or when dropped


@dataclass
class Fault:
    """A failure waiting for matching requests; returned by fail_http, fail_graph, hold, drop."""

    method: str
    path: str  # fnmatch pattern on the path without version: "/*/feed", "/me"
    kind: str  # http | graph | hold | drop
    after: int = 0  # let this many matching requests through first
    times: int | None = 1  # how many requests it hits; None: all of them
    after_effect: bool = False  # do the work (create the post...) before failing
    status: int = 502
    body: str = PROXY_502_HTML
    error: GraphError | None = None
    regain_minutes: int = 0
    seen: int = 0
    hits: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let held requests answer (and let later ones through without holding)."""
        self.released.set()

    def wait_held(self, timeout: float = 5.0) -> bool:
        """Wait until a request is being held; True if one is."""
        return self.held.wait(timeout)


@dataclass
class Container:
    id: str
    ig_user_id: str
    image_url: str
    caption: str
    alt_text: str
    status_code: str = "FINISHED"
    status: str = FINISHED_STATUS
    polls_left: int = 0
    stuck: bool = False
    media_id: str | None = None


@dataclass
class _Call:
    """One request, parsed: /{node}/{edge}?fields=...; `token` has passed the token check."""

    method: str
    node: str
    edge: str
    params: dict[str, str]
    fields: list[str]
    token: Token


class GraphStandin:
    """Meta's Graph API for tests; every public method is thread-safe."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_id: str = "100000000000001",
        page_name: str = "Riverside Clinic",
        ig_user_id: str = "17841400000000001",
        ig_username: str = "riversideclinic",
        clock: Callable[[], float] = time.time,
        image_fetch_timeout: float = 5.0,
        strict_image_width: bool = True,
    ):
        self.page_id, self.ig_user_id = page_id, ig_user_id
        self._host, self._port = host, port
        self.clock = clock
        self.image_fetch_timeout = image_fetch_timeout
        self.strict_image_width = strict_image_width  # Meta scales; refusing catches bad renders
        self.default_version = "v26.0"
        self.container_polls = 0  # status reads answering IN_PROGRESS before FINISHED
        self.quota_total = QUOTA_TOTAL
        self.usage: dict[str, Any] = {"call_count": 1, "total_cputime": 1, "total_time": 1}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._traces = itertools.count(1)
        self._tokens: dict[str, Token] = {}
        self._log: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._container_outcomes: list[tuple[str, str]] = []
        self._random: random.Random | None = None
        self._random_rate = 0.0
        self._random_after_effect = 0.0
        self._random_methods: tuple[str, ...] = ()
        self._pages: dict[str, dict[str, Any]] = {page_id: {"id": page_id, "name": page_name}}
        self._ig_users: dict[str, dict[str, Any]] = {
            ig_user_id: {"id": ig_user_id, "username": ig_username, "name": page_name}
        }
        self._posts: dict[str, dict[str, Any]] = {}
        self._containers: dict[str, Container] = {}
        self._media: dict[str, dict[str, Any]] = {}
        self._publish_times: dict[str, list[float]] = {}
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Life cycle

    def start(self) -> GraphStandin:
        """Serve in a background thread."""
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; held requests are dropped without an answer."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GraphStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:41234 (no version)."""
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # Set-up

    def add_token(
        self,
        token: str,
        *,
        label: str | None = None,
        state: str = "valid",
        scopes: tuple[str, ...] = ALL_SCOPES,
        expires_at: int = 0,
        type: str = "PAGE",
    ) -> Token:
        """Make a token known (or change it): its state, scopes, expiry and type."""
        if state != "valid" and state not in TOKEN_STATES:
            raise ValueError(f"unknown token state {state!r}")
        with self._lock:
            info = Token(
                label or f"token{len(self._tokens) + 1}", state, tuple(scopes), expires_at, type
            )
            self._tokens[token] = info
            return info

    def set_token_state(self, token: str, state: str) -> None:
        """Expire or invalidate a known token from now on."""
        with self._lock:
            self._tokens[token].state = state

    def set_container(self, container_id: str, status_code: str, status: str = "") -> None:
        """Force a container's status (e.g. EXPIRED) from now on."""
        with self._lock:
            c = self._containers[container_id]
            c.status_code, c.status, c.stuck = status_code, status or status_code, False

    def container_outcome(
        self, outcome: str, *, times: int = 1, error_subcode: int = 2207001
    ) -> None:
        """The next `times` containers get stuck IN_PROGRESS, go ERROR or are EXPIRED."""
        if outcome not in ("stuck", "error", "expired"):
            raise ValueError(f"unknown container outcome {outcome!r}")
        with self._lock:
            self._container_outcomes += [(outcome, str(error_subcode))] * times

    def set_quota_used(self, ig_user_id: str, used: int) -> None:
        """Pretend `used` posts went out in the last 24 hours."""
        with self._lock:
            now = self.clock()
            self._publish_times[ig_user_id] = [now] * used

    # Failure injection

    def fail_http(
        self,
        method: str,
        path: str,
        *,
        status: int = 502,
        body: str = PROXY_502_HTML,
        after: int = 0,
        times: int | None = 1,
        after_effect: bool = False,
    ) -> Fault:
        """Answer matching requests with an HTML error page, like a proxy."""
        return self._add_fault(
            Fault(method, path, "http", after, times, after_effect, status, body)
        )

    def fail_graph(
        self,
        method: str,
        path: str,
        *,
        code: int,
        subcode: int | None = None,
        is_transient: bool = False,
        message: str | None = None,
        status: int = 400,
        regain_minutes: int = 0,
        after: int = 0,
        times: int | None = 1,
        after_effect: bool = False,
    ) -> Fault:
        """Answer matching requests with a Graph error of this code and subcode."""
        error = GraphError(
            code,
            message or f"(#{code}) Stand-in error",
            subcode=subcode,
            status=status,
            is_transient=is_transient,
        )
        return self._add_fault(
            Fault(
                method,
                path,
                "graph",
                after,
                times,
                after_effect,
                status,
                error=error,
                regain_minutes=regain_minutes,
            )
        )

    def hold(self, method: str, path: str, **when: Any) -> Fault:
        """Keep matching requests waiting until fault.release() (or stop()), then answer.

        `when`: after=N matching requests, times=N (None: all), after_effect=True.
        """
        return self._add_fault(Fault(method, path, "hold", **when))

    def drop(self, method: str, path: str, **when: Any) -> Fault:
        """Close the connection of matching requests without an answer; `when` as for hold()."""
        return self._add_fault(Fault(method, path, "drop", **when))

    def transient_failures(
        self,
        rate: float,
        *,
        seed: int = 0,
        methods: tuple[str, ...] = ("GET", "POST"),
        after_effect: float = 0.0,
    ) -> None:
        """Fail this share of requests with code 2 / HTTP 503; a share of failing POSTs
        (`after_effect`) fails only after doing the work. rate=0 turns it off."""
        with self._lock:
            self._random = random.Random(seed)
            self._random_rate, self._random_after_effect = rate, after_effect
            self._random_methods = methods

    def clear_faults(self) -> None:
        """Forget every fault and release held requests."""
        with self._lock:
            for fault in self._faults:
                fault.release()
            self._faults.clear()
            self._random_rate = 0.0

    def _add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    # Inspection

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._log)

    def page_posts(self, page_id: str | None = None) -> list[dict[str, Any]]:
        """The Page's posts, oldest first."""
        page_id = page_id or self.page_id
        with self._lock:
            return [dict(p) for p in self._posts.values() if p["page_id"] == page_id]

    def ig_media(self, ig_user_id: str | None = None) -> list[dict[str, Any]]:
        """The account's published media, oldest first."""
        ig_user_id = ig_user_id or self.ig_user_id
        with self._lock:
            return [dict(m) for m in self._media.values() if m["ig_user_id"] == ig_user_id]

    def containers(self, ig_user_id: str | None = None) -> list[Container]:
        """The account's media containers, oldest first."""
        ig_user_id = ig_user_id or self.ig_user_id
        with self._lock:
            return [c for c in self._containers.values() if c.ig_user_id == ig_user_id]

    # Serving one request

    def _handle(self, http: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(http.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body: dict[str, str] = {}
        raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        if "json" in (http.headers.get("Content-Type") or ""):
            body = {k: str(v) for k, v in json.loads(raw or b"{}").items()}
        elif raw:
            body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        token, token_in = None, None
        if "access_token" in body:
            token, token_in = body.pop("access_token"), "body"
        if "access_token" in query:
            token, token_in = query.pop("access_token"), "query"
        params = {**query, **body}
        match = _VERSIONED.match(url.path)
        version, path = (match.group(1), match.group(2) or "/") if match else (None, url.path)
        with self._lock:
            info = self._tokens.get(token) if token else None
            logged = dict(params)
            if "input_token" in logged:
                known = self._tokens.get(logged["input_token"])
                logged["input_token"] = f"<{known.label if known else 'unknown'}>"
            entry = LoggedRequest(
                method,
                path,
                version,
                logged,
                info.label if info else ("unknown" if token else None),
                token_in,
            )
            self._log.append(entry)
            fault = self._pick_fault(method, path)
        try:
            if fault is not None and not fault.after_effect:
                if fault.kind != "hold":
                    return self._send_fault(http, entry, fault)
                self._wait(fault)
            status, payload = self._answer(method, path, params, token, info)
            if fault is not None and fault.after_effect:
                if fault.kind != "hold":
                    return self._send_fault(http, entry, fault)
                self._wait(fault)
            self._send(http, entry, status, payload)
        except _Dropped:
            http.close_connection = True

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        chosen = None
        for fault in self._faults:
            if fault.method not in ("*", method) or not fnmatch.fnmatchcase(path, fault.path):
                continue
            fault.seen += 1
            armed = fault.seen > fault.after and (fault.times is None or fault.hits < fault.times)
            if armed and chosen is None:
                fault.hits += 1
                chosen = fault
        if chosen is None and self._random and method in self._random_methods:
            if self._random.random() < self._random_rate:
                late = method == "POST" and self._random.random() < self._random_after_effect
                error = GraphError(
                    2,
                    "An unexpected error has occurred. Please retry your request later.",
                    status=503,
                    is_transient=True,
                )
                chosen = Fault(method, path, "graph", after_effect=late, status=503, error=error)
        return chosen

    def _wait(self, fault: Fault) -> None:
        fault.held.set()
        while not fault.released.wait(0.02):
            if self._closing.is_set():
                raise _Dropped
        if self._closing.is_set():
            raise _Dropped

    def _send_fault(self, http: BaseHTTPRequestHandler, entry: LoggedRequest, fault: Fault) -> None:
        if fault.kind == "drop":
            raise _Dropped
        if fault.kind == "graph" and fault.error is not None:
            payload = {"error": {**fault.error.error, "fbtrace_id": self._trace_id()}}
            self._send(http, entry, fault.status, payload, fault.regain_minutes)
            return
        self._write(http, entry, fault.status, fault.body.encode(), "text/html; charset=utf-8")

    def _send(
        self,
        http: BaseHTTPRequestHandler,
        entry: LoggedRequest,
        status: int,
        payload: Any,
        regain: int = 0,
    ) -> None:
        """Answer with JSON and the usage headers Meta sends on every answer."""
        account = entry.path.strip("/").split("/")[0]
        if account not in self._pages and account not in self._ig_users:
            account = self.page_id
        kind = "instagram" if account in self._ig_users else "pages"
        headers = {
            "X-App-Usage": json.dumps(self.usage),
            "X-Business-Use-Case-Usage": json.dumps(
                {account: [{"type": kind, **self.usage, "estimated_time_to_regain_access": regain}]}
            ),
            "facebook-api-version": entry.version or self.default_version,
            "x-fb-trace-id": self._trace_id(),
        }
        self._write(
            http,
            entry,
            status,
            json.dumps(payload).encode(),
            "application/json; charset=UTF-8",
            headers,
        )

    def _write(
        self,
        http: BaseHTTPRequestHandler,
        entry: LoggedRequest,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            entry.status = status
        try:
            http.send_response(status)
            http.send_header("Content-Type", content_type)
            http.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                http.send_header(name, value)
            http.end_headers()
            http.wfile.write(body)
        except OSError:  # the client gave up (its time-out); nothing to tell it
            http.close_connection = True

    def _trace_id(self) -> str:
        return f"Astandin{next(self._traces):014d}"

    # The API itself

    def _answer(
        self, method: str, path: str, params: dict[str, str], token: str | None, info: Token | None
    ) -> tuple[int, Any]:
        try:
            self._check_token(token, info)
            assert info is not None
            node, _, edge = path.strip("/").partition("/")
            fields = [f for f in params.get("fields", "").split(",") if f]
            return 200, self._route(_Call(method, node, edge, params, fields, info))
        except GraphError as err:
            return err.status, {"error": {**err.error, "fbtrace_id": self._trace_id()}}

    def _check_token(self, token: str | None, info: Token | None) -> None:
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        if info is None:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if info.state != "valid":
            subcode, message = TOKEN_STATES[info.state]
            raise GraphError(190, message, subcode=subcode)

    def _route(self, call: _Call) -> Any:
        method, node, edge, fields = call.method, call.node, call.edge, call.fields
        if method == "POST" and edge == "media" and node in self._ig_users:
            # Outside the lock: fetching the image takes a while.
            self._require(call.token, "instagram_basic", "instagram_content_publish")
            return {"id": self._create_container(node, call.params)}
        with self._lock:
            if node == "me" and edge == "" and method == "GET":
                me = {"id": self.page_id, "name": self._pages[self.page_id]["name"]}
                if call.token.type != "PAGE":
                    me = {"id": "10000000000042", "name": "Clinic Admin"}
                return _pick(me, fields, "User" if call.token.type != "PAGE" else "Page")
            if node == "me" and edge == "permissions" and method == "GET":
                if call.token.type == "PAGE":
                    raise GraphError(
                        100,
                        "(#100) Tried accessing nonexisting field (permissions)"
                        " on node type (Page)",
                    )
                scopes = call.token.scopes
                return {"data": [{"permission": s, "status": "granted"} for s in scopes]}
            if node == "debug_token" and method == "GET":
                return self._debug_token(call.params.get("input_token", ""))
            if node in self._pages:
                return self._page(call)
            if node in self._ig_users:
                return self._ig_user(call)
            if edge == "" and method == "GET":
                for kind, store in (("Post", self._posts), ("Media", self._media)):
                    if node in store:
                        return _pick(store[node], fields, kind)
                if node in self._containers:
                    return self._container_status(self._containers[node], fields)
            known = node in self._posts or node in self._media or node in self._containers
        if edge and known:
            raise GraphError(100, f"Unknown path components: /{edge}")
        # an id that names nothing, whatever the edge (a wrong page id in config.toml, say)
        raise GraphError(
            100,
            f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist,"
            " cannot be loaded due to missing permissions, or does not support this operation."
            " Please read the Graph API documentation at https://developers.facebook.com/docs/"
            "graph-api",
            subcode=33,
            type_="GraphMethodException",
        )

    def _debug_token(self, input_token: str) -> dict[str, Any]:
        info = self._tokens.get(input_token)
        if info is None:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        data: dict[str, Any] = {
            "app_id": APP_ID,
            "type": info.type,
            "application": "Publisher",
            "data_access_expires_at": 0,
            "expires_at": info.expires_at,
            "is_valid": info.state == "valid",
            "scopes": list(info.scopes),
            "user_id": "10000000000042",
        }
        if info.type == "PAGE":
            data["profile_id"] = self.page_id
        if info.state != "valid":
            subcode, message = TOKEN_STATES[info.state]
            data["error"] = {"code": 190, "message": message, "subcode": subcode}
        return {"data": data}

    def _require(self, info: Token, *scopes: str, code: int = 10) -> None:
        missing = [s for s in scopes if s not in info.scopes]
        if missing:
            raise GraphError(
                code,
                f"(#{code}) This endpoint requires the {', '.join(missing)} permission(s)",
                status=403,
            )

    def _page(self, call: _Call) -> Any:
        page_id, wants = call.node, (call.method, call.edge)
        if wants == ("GET", ""):
            return _pick(self._pages[page_id], call.fields or ["name"], "Page")
        if wants == ("POST", "feed"):
            self._require(call.token, "pages_manage_posts", "pages_read_engagement", code=200)
            message, link = call.params.get("message", ""), call.params.get("link", "")
            if not message and not link:
                raise GraphError(100, "(#100) Missing message or attachment")
            number = next(self._ids)
            post_id = f"{page_id}_{number}"
            self._posts[post_id] = {
                "id": post_id,
                "page_id": page_id,
                "message": message,
                "link": link,
                "created_time": _graph_time(self.clock()),
                "permalink_url": f"https://www.facebook.com/{page_id}/posts/{number}",
            }
            return {"id": post_id}
        if wants in (("GET", "feed"), ("GET", "published_posts")):
            self._require(call.token, "pages_read_engagement")
            posts = [p for p in self._posts.values() if p["page_id"] == page_id][::-1]
            fields = call.fields or ["message", "created_time"]
            return {"data": [_pick(p, fields, "Post") for p in posts[: _limit(call.params)]]}
        raise GraphError(100, f"Unknown path components: /{call.edge}")

    def _ig_user(self, call: _Call) -> Any:
        ig_user_id, wants = call.node, (call.method, call.edge)
        if wants == ("GET", ""):
            return _pick(self._ig_users[ig_user_id], call.fields, "IGUser")
        if wants == ("POST", "media_publish"):
            self._require(call.token, "instagram_basic", "instagram_content_publish")
            return {"id": self._publish(ig_user_id, call.params.get("creation_id", ""))}
        if wants == ("GET", "media"):
            self._require(call.token, "instagram_basic")
            media = [m for m in self._media.values() if m["ig_user_id"] == ig_user_id][::-1]
            limit = _limit(call.params)
            return {"data": [_pick(m, call.fields, "Media") for m in media[:limit]]}
        if wants == ("GET", "content_publishing_limit"):
            self._require(call.token, "instagram_basic")
            row: dict[str, Any] = {"quota_usage": self._quota_used(ig_user_id)}
            if "config" in call.fields:
                row["config"] = {"quota_total": self.quota_total, "quota_duration": QUOTA_DURATION}
            return {"data": [row]}
        raise GraphError(100, f"Unknown path components: /{call.edge}")

    def _create_container(self, ig_user_id: str, params: dict[str, str]) -> str:
        caption = params.get("caption", "")
        if (
            len(caption) > CAPTION_MAX_CHARS
            or len(_HASHTAG.findall(caption)) > CAPTION_MAX_HASHTAGS
        ):
            raise GraphError(
                36004,
                "The caption is too long or has too many hashtags.",
                subcode=2207010,
                error_user_title="Caption too long",
                error_user_msg=f"The submitted image's caption was {len(caption)}"
                f" characters long. The maximum number of characters permitted for"
                f" a caption is {CAPTION_MAX_CHARS}, with {CAPTION_MAX_HASHTAGS}"
                " hashtags.",
            )
        if len(_MENTION.findall(caption)) > CAPTION_MAX_MENTIONS:
            raise GraphError(
                100,
                f"Cannot use more than {CAPTION_MAX_MENTIONS} tags per created media.",
                subcode=2207040,
            )
        image_url = params.get("image_url", "")
        _check_image(
            _fetch(image_url, self.image_fetch_timeout), image_url, self.strict_image_width
        )
        with self._lock:
            return self._add_container(ig_user_id, image_url, caption, params.get("alt_text", ""))

    def _add_container(self, ig_user_id: str, image_url: str, caption: str, alt_text: str) -> str:
        container = Container(
            str(18000000000000000 + next(self._ids)), ig_user_id, image_url, caption, alt_text
        )
        if self.container_polls:
            container.status_code, container.polls_left = "IN_PROGRESS", self.container_polls
            container.status = "In Progress: Media is still being processed."
        if self._container_outcomes:
            outcome, subcode = self._container_outcomes.pop(0)
            if outcome == "stuck":
                container.stuck, container.status_code = True, "IN_PROGRESS"
                container.status = "In Progress: Media is still being processed."
            elif outcome == "error":
                container.status_code = "ERROR"
                container.status = f"Error: Media upload has failed with error code {subcode}"
            else:
                container.status_code, container.status = "EXPIRED", "Expired: Media expired."
        self._containers[container.id] = container
        return container.id

    def _container_status(self, c: Container, fields: list[str]) -> dict[str, Any]:
        answer = _pick(
            {"id": c.id, "status_code": c.status_code, "status": c.status},
            fields,
            "ShadowIGMediaBuilder",
        )
        if c.status_code == "IN_PROGRESS" and not c.stuck:
            c.polls_left -= 1
            if c.polls_left <= 0:
                c.status_code, c.status = "FINISHED", FINISHED_STATUS
        return answer

    def _publish(self, ig_user_id: str, creation_id: str) -> str:
        c = self._containers.get(creation_id)
        if c is None or c.ig_user_id != ig_user_id:
            raise GraphError(
                24,
                f"The media builder with creation id = {creation_id} does not"
                " exist or has been expired.",
                subcode=2207008,
            )
        if c.status_code == "IN_PROGRESS":
            raise GraphError(
                9007,
                "Media ID is not available",
                subcode=2207027,
                error_user_msg="The media is not ready for publishing, please wait for a moment",
            )
        if c.status_code == "ERROR":
            raise GraphError(
                -1, "Create media fail, please try to re-create media", subcode=2207032
            )
        if c.status_code == "EXPIRED":
            raise GraphError(
                -2,
                "The media you are trying to access has expired. Please try to upload again.",
                subcode=2207020,
            )
        if c.status_code == "PUBLISHED":  # Meta does not document this answer; code 100 here
            raise GraphError(100, f"(#100) The media builder {creation_id} was already published")
        if self._quota_used(ig_user_id) >= self.quota_total:
            raise GraphError(
                9,
                "Application request limit reached",
                subcode=2207042,
                error_user_msg="You reached maximum number of posts that is allowed"
                " to be published by Content Publishing API.",
            )
        number = next(self._ids)
        media_id = str(17900000000000000 + number)
        self._media[media_id] = {
            "id": media_id,
            "ig_user_id": ig_user_id,
            "caption": c.caption,
            "alt_text": c.alt_text,
            "media_type": "IMAGE",
            "media_url": c.image_url,
            "timestamp": _graph_time(self.clock()),
            "container_id": c.id,
            "permalink": f"https://www.instagram.com/p/STANDIN{number}/",
        }
        c.status_code, c.status, c.media_id = (
            "PUBLISHED",
            "Published: Media was published.",
            media_id,
        )
        self._publish_times.setdefault(ig_user_id, []).append(self.clock())
        return media_id

    def _quota_used(self, ig_user_id: str) -> int:
        since = self.clock() - QUOTA_DURATION
        return sum(1 for t in self._publish_times.get(ig_user_id, []) if t > since)


class _Dropped(Exception):
    """Close the connection without an answer."""


class _Handler(BaseHTTPRequestHandler):
    standin: GraphStandin
    server_version = "GraphStandin/1"

    def do_GET(self) -> None:
        self.standin._handle(self, "GET")

    def do_POST(self) -> None:
        self.standin._handle(self, "POST")

    def do_DELETE(self) -> None:
        self.standin._handle(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line holds the token; the stand-in's log is `requests`

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Meta's Date header and the times it stamps posts with come from one clock
        return super().date_time_string(self.standin.clock() if timestamp is None else timestamp)


# Fields Meta lets you read on each node; anything else is error 100 (e.g. a post's `link`,
# unreadable since v3.3).
_READABLE = {
    "Page": {"id", "name"},
    "User": {"id", "name"},
    "IGUser": {"id", "username", "name"},
    "Post": {"id", "message", "created_time", "permalink_url"},
    "Media": {"id", "caption", "timestamp", "permalink", "media_type", "media_url"},
    "ShadowIGMediaBuilder": {"id", "status_code", "status"},
}


def _pick(obj: dict[str, Any], fields: list[str], node_type: str) -> dict[str, Any]:
    for name in fields:
        if name not in _READABLE[node_type]:
            raise GraphError(
                100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    return {k: obj[k] for k in ["id", *fields] if k in obj}


def _limit(params: dict[str, str]) -> int:
    try:
        return max(1, min(int(params.get("limit", LIST_LIMIT_DEFAULT)), LIST_LIMIT_MAX))
    except ValueError:
        raise GraphError(100, "(#100) Param limit must be a number") from None


def _graph_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _fetch(url: str, timeout: float) -> bytes:
    """GET the image as Meta would, at most 8 MiB + 1 bytes of it."""
    fetch_failed = GraphError(
        9004,
        "Only photo or video can be accepted as media type.",
        subcode=2207052,
        error_user_title="Media download has failed. The media URI doesn't meet our requirements.",
        error_user_msg=f"The media could not be fetched from this URI: {url}. Please check the"
        " limitations section in our development document for more information.",
    )
    if not url.startswith(("http://", "https://")):
        raise fetch_failed
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.read(IMAGE_MAX_BYTES + 1)
    except TimeoutError:
        raise GraphError(
            -2, "It takes too long to download the media.", subcode=2207003, is_transient=True
        ) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise GraphError(
                -2, "It takes too long to download the media.", subcode=2207003, is_transient=True
            ) from None
        raise fetch_failed from None
    except OSError:
        raise fetch_failed from None


def _check_image(data: bytes, url: str, strict_width: bool) -> None:
    if len(data) > IMAGE_MAX_BYTES:
        raise GraphError(
            36000,
            "The image size is too large.",
            subcode=2207004,
            error_user_title="Image size too large",
            error_user_msg="The image is too large to download. It should be less than 8 MiB.",
        )
    size = jpeg_size(data)
    if size is None:
        raise GraphError(
            36001,
            "The image format is not supported.",
            subcode=2207005,
            error_user_msg="The image format is not supported. Supported formats are: JPEG.",
        )
    width, height = size
    ratio = width / height
    if not ASPECT_MIN <= ratio <= ASPECT_MAX:
        raise GraphError(
            36003,
            f"The submitted image with aspect ratio {ratio:.3g} cannot be"
            " published. Please submit an image with a valid aspect ratio.",
            subcode=2207009,
        )
    if strict_width and not IMAGE_MIN_WIDTH <= width <= IMAGE_MAX_WIDTH:
        raise GraphError(
            100,
            f"(stand-in) The image at {url} is {width} px wide; Instagram"
            f" would scale it to fit {IMAGE_MIN_WIDTH} to {IMAGE_MAX_WIDTH} px.",
        )


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a baseline or progressive JPEG; None if not a plain JPEG (MPO too)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        segment = data[i + 4 : i + 2 + length]
        if marker == 0xE2 and segment.startswith(b"MPF\x00"):
            return None  # extended JPEG (MPO): Meta refuses it
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if len(segment) < 5:
                return None
            height, width = struct.unpack(">HH", segment[1:5])
            return (width, height) if width and height else None
        i += 2 + length
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--token", action="append", default=[], help="a valid token (repeat)")
    parser.add_argument("--expired-token", action="append", default=[])
    parser.add_argument("--page-id", default="100000000000001")
    parser.add_argument("--ig-user-id", default="17841400000000001")
    parser.add_argument("--container-polls", type=int, default=0)
    parser.add_argument("--transient-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    standin = GraphStandin(
        host=args.host, port=args.port, page_id=args.page_id, ig_user_id=args.ig_user_id
    )
    for token in args.token:
        standin.add_token(token)
    for token in args.expired_token:
        standin.add_token(token, state="expired")
    standin.container_polls = args.container_polls
    if args.transient_rate:
        standin.transient_failures(args.transient_rate, seed=args.seed)
    standin.start()
    print(
        f"Graph API stand-in on {standin.url} (page {args.page_id}, Instagram"
        f" {args.ig_user_id}, {len(args.token)} token(s)); Ctrl-C stops it",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
