"""publisher.graph against the Graph API stand-in, over real HTTP on 127.0.0.1.

Every call goes through facebook-sdk and requests; nothing in publisher is mocked.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import facebook
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from publisher.exceptions import ChannelError, OutcomeUnknown
from publisher.graph import (
    GRAPH_VERSION_DEFAULT,
    RETRY_AFTER_BLOCKED,
    RETRY_AFTER_DAILY_LIMIT,
    GraphClient,
    Usage,
    classify_error,
    parse_usage,
    redact,
)
from tests.graph_standin import GraphStandin

TOKEN = "EAAtestSECRETtoken123"


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(out, "PNG")
    return out.getvalue()


class ImageServer:
    """The site's images, as Meta would fetch them: a real HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "image/jpeg" if body else "text/plain")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def add(self, name: str, body: bytes) -> str:
        self.files[f"/{name}"] = body
        return self.url(name)


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    with GraphStandin() as standin:
        standin.add_token(TOKEN)
        yield standin


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def image_url(images: ImageServer) -> str:
    return images.add("square.jpg", jpeg(1080, 1080))


def client(graph: GraphStandin, channel: str = "facebook", **kwargs: object) -> GraphClient:
    kwargs.setdefault("timeout", 2.0)
    return GraphClient(token=TOKEN, channel=channel, base_url=graph.url, **kwargs)  # type: ignore[arg-type]


def raised(call: Callable[[], object]) -> ChannelError:
    with pytest.raises(ChannelError) as info:
        call()
    return info.value


# Facebook Page


def test_page_post_sends_the_documented_request(graph: GraphStandin) -> None:
    fb = client(graph)
    post_id = fb.page_post(graph.page_id, "Flu shots start Monday", "https://clinic.example/flu")
    assert post_id == graph.page_posts()[0]["id"]
    assert post_id.startswith(f"{graph.page_id}_")
    (sent,) = graph.requests
    assert (sent.method, sent.path, sent.version) == ("POST", f"/{graph.page_id}/feed", "v26.0")
    assert sent.params == {
        "message": "Flu shots start Monday",
        "link": "https://clinic.example/flu",
    }
    assert (sent.token, sent.token_in) == ("token1", "body")


def test_permalink_and_recent_posts_newest_first(graph: GraphStandin) -> None:
    fb = client(graph)
    ids = [
        fb.page_post(graph.page_id, f"post {n}", f"https://clinic.example/{n}") for n in range(3)
    ]
    assert fb.post_permalink(ids[0]) == graph.page_posts()[0]["permalink_url"]
    recent = fb.recent_page_posts(graph.page_id, limit=2)
    assert [p["id"] for p in recent] == [ids[2], ids[1]]
    assert set(recent[0]) == {"id", "message", "created_time", "permalink_url"}
    assert recent[0]["message"] == "post 2"
    listing = graph.requests[-1]
    assert listing.path == f"/{graph.page_id}/published_posts" and listing.token_in == "query"
    assert listing.params["limit"] == "2"


def test_version_comes_from_the_caller(graph: GraphStandin) -> None:
    with pytest.raises(facebook.GraphAPIError):  # why the client sets the version itself
        facebook.GraphAPI(version="26.0")
    client(graph, version="27.0").recent_page_posts(graph.page_id)
    client(graph).recent_page_posts(graph.page_id)
    assert [r.version for r in graph.requests] == ["v27.0", GRAPH_VERSION_DEFAULT]
    with pytest.raises(ValueError):
        GraphClient(token=TOKEN, channel="facebook", version="26")


def test_each_client_has_its_own_host(graph: GraphStandin) -> None:
    global_url = facebook.FACEBOOK_GRAPH_URL
    with GraphStandin(page_id="42") as other:
        other.add_token(TOKEN)
        client(other).page_post("42", "elsewhere", "https://clinic.example/x")
        client(graph).page_post(graph.page_id, "here", "https://clinic.example/y")
        assert [p["message"] for p in other.page_posts("42")] == ["elsewhere"]
        assert [p["message"] for p in graph.page_posts()] == ["here"]
    assert facebook.FACEBOOK_GRAPH_URL == global_url


def test_a_token_given_as_the_page_id_never_reaches_an_error(graph: GraphStandin) -> None:
    """config.toml refuses such an id; the client keeps it out of its messages all the same."""
    err = raised(lambda: client(graph).page_post(TOKEN, "hello", "https://clinic.example/x"))
    assert TOKEN not in err.message and "***" in err.message


def test_a_missing_token_is_refused_before_any_call() -> None:
    err = raised(lambda: GraphClient(token="", channel="instagram"))
    assert not err.transient and "PUBLISHER_INSTAGRAM_TOKEN" in err.message


# Instagram


def test_instagram_publishing_end_to_end(graph: GraphStandin, image_url: str) -> None:
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "Flu shots #health", "A nurse")
    assert ig.ig_container_status(container) == (
        "FINISHED",
        "Finished: Media has been uploaded and it is ready to be published.",
    )
    media_id = ig.ig_publish(graph.ig_user_id, container)
    (media,) = graph.ig_media()
    assert (media["id"], media["caption"], media["alt_text"]) == (
        media_id,
        "Flu shots #health",
        "A nurse",
    )
    assert ig.ig_media_permalink(media_id) == media["permalink"]
    assert [m["id"] for m in ig.ig_recent_media(graph.ig_user_id)] == [media_id]
    assert ig.ig_publishing_limit(graph.ig_user_id) == (1, 50)
    assert ig.ig_container_status(container)[0] == "PUBLISHED"
    create, _, publish = graph.requests[:3]
    assert create.params == {
        "image_url": image_url,
        "caption": "Flu shots #health",
        "alt_text": "A nurse",
    }
    assert publish.path == f"/{graph.ig_user_id}/media_publish"
    assert publish.params == {"creation_id": container}


def test_wait_polls_with_doubling_pauses(graph: GraphStandin, image_url: str) -> None:
    graph.container_polls = 3
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    err = raised(lambda: ig.ig_publish(graph.ig_user_id, container))
    assert err.transient and err.subcode == 2207027 and not isinstance(err, OutcomeUnknown)
    pauses: list[float] = []
    assert ig.ig_wait_until_finished(container, first_delay=0.5, sleep=pauses.append) == "FINISHED"
    assert pauses == [0.5, 1.0, 2.0]
    ig.ig_publish(graph.ig_user_id, container)
    assert len(graph.ig_media()) == 1


def test_a_stuck_container_ends_the_wait_in_time(graph: GraphStandin, image_url: str) -> None:
    graph.container_outcome("stuck")
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    pauses: list[float] = []
    err = raised(lambda: ig.ig_wait_until_finished(container, timeout=10, sleep=pauses.append))
    assert err.transient and "not ready after 10 s" in err.message
    assert err.subcode == 2207027  # as Meta says it of a container published too soon
    assert sum(pauses) == pytest.approx(10) and pauses[:3] == [1.0, 2.0, 4.0]
    started = time.monotonic()  # and with real sleeping, the bound holds in real time
    raised(lambda: ig.ig_wait_until_finished(container, timeout=0.2, first_delay=0.02))
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("outcome", "subcode", "transient", "words"),
    [
        ("error", 2207001, True, "server error"),
        ("error", 2207005, False, "plain JPEG"),
        ("expired", None, True, "expired"),
    ],
)
def test_container_error_and_expiry_end_the_wait(
    graph: GraphStandin,
    image_url: str,
    outcome: str,
    subcode: int | None,
    transient: bool,
    words: str,
) -> None:
    graph.container_outcome(outcome, error_subcode=subcode or 2207001)
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    err = raised(lambda: ig.ig_wait_until_finished(container, sleep=lambda s: None))
    assert (err.transient, err.subcode) == (transient, subcode)
    assert words in err.message and container in err.message


def test_a_container_publishes_once(graph: GraphStandin, image_url: str) -> None:
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    ig.ig_publish(graph.ig_user_id, container)
    err = raised(lambda: ig.ig_publish(graph.ig_user_id, container))
    assert not err.transient and len(graph.ig_media()) == 1
    assert ig.ig_wait_until_finished(container, sleep=lambda s: None) == "PUBLISHED"


def test_the_daily_quota_is_read_and_enforced(graph: GraphStandin, image_url: str) -> None:
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    graph.set_quota_used(graph.ig_user_id, 50)
    assert ig.ig_publishing_limit(graph.ig_user_id) == (50, 50)
    err = raised(lambda: ig.ig_publish(graph.ig_user_id, container))
    assert not isinstance(err, OutcomeUnknown)
    assert (err.transient, err.code, err.subcode) == (True, 9, 2207042)
    assert err.retry_after == RETRY_AFTER_DAILY_LIMIT and "24 hours" in err.message
    assert graph.ig_media() == []


@pytest.mark.parametrize(
    ("name", "body", "caption", "subcode", "words"),
    [
        ("tall.jpg", jpeg(400, 1000), "c", 2207009, "aspect ratio"),
        ("wide.jpg", jpeg(1080, 500), "c", 2207009, "aspect ratio"),
        ("flat.png", png(1080, 1080), "c", 2207005, "plain JPEG"),
        ("huge.jpg", jpeg(1080, 1080) + b"\0" * (8 * 1024 * 1024), "c", 2207004, "8 MiB"),
        (None, b"", "c", 2207052, "could not fetch"),
        ("ok.jpg", jpeg(1080, 1350), "x" * 2201, 2207010, "2,200 characters"),
        ("ok.jpg", jpeg(1080, 1350), " ".join(f"#t{n}" for n in range(31)), 2207010, "30 hashtags"),
        ("ok.jpg", jpeg(1080, 1350), " ".join(f"@u{n}" for n in range(21)), 2207040, "@mentions"),
    ],
)
def test_rejected_media_is_permanent_and_says_what_to_fix(
    graph: GraphStandin,
    images: ImageServer,
    name: str | None,
    body: bytes,
    caption: str,
    subcode: int,
    words: str,
) -> None:
    url = images.add(name, body) if name else images.url("nowhere.jpg")  # a 404
    ig = client(graph, "instagram")
    err = raised(lambda: ig.ig_create_container(graph.ig_user_id, url, caption, ""))
    assert not isinstance(err, OutcomeUnknown)
    assert (err.transient, err.subcode) == (False, subcode)
    assert words in err.message and "fbtrace_id" in err.message
    assert graph.containers() == []


# Graph errors: classification and plain messages


@pytest.mark.parametrize(
    ("code", "subcode", "is_transient", "transient", "words"),
    [
        (
            190,
            463,
            False,
            False,
            "the Facebook token expired: make a new Page access token and set PUBLISHER_FACEBOOK_TOKEN",
        ),
        (190, 467, False, False, "token is invalid"),
        (190, 460, False, False, "password changed"),
        (190, 459, False, False, "log in at https://www.facebook.com"),
        (190, None, False, False, "Meta refused the Facebook token"),
        (102, None, False, False, "PUBLISHER_FACEBOOK_TOKEN"),
        (10, None, False, False, "pages_manage_posts"),
        (200, None, False, False, "lacks a permission"),
        (100, None, False, False, "refused a parameter"),
        (100, 33, False, False, "account id does not exist"),
        (506, None, False, False, "duplicate"),
        (1609005, None, False, False, "article is live"),
        (4, None, True, True, "throttling"),
        (17, None, True, True, "throttling"),
        (32, None, True, True, "Page's call limit"),
        (341, None, True, True, "throttling"),
        (613, None, True, True, "rate limit"),
        (80001, None, True, True, "business use case"),
        (368, None, False, True, "temporarily blocked"),
        (4242, None, True, True, "temporary"),
        (4242, None, False, False, "Meta refused the request"),
    ],
)
def test_graph_errors_are_sorted_with_plain_messages(
    graph: GraphStandin,
    code: int,
    subcode: int | None,
    is_transient: bool,
    transient: bool,
    words: str,
) -> None:
    graph.fail_graph(
        "POST",
        "/*/feed",
        code=code,
        subcode=subcode,
        is_transient=is_transient,
        message=f"(#{code}) Meta's own words",
    )
    err = raised(lambda: client(graph).page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert type(err) is ChannelError
    assert (err.transient, err.code, err.subcode) == (transient, code, subcode)
    assert words in err.message
    assert "Meta's own words" in err.message and "fbtrace_id Astandin" in err.message
    assert str(err).startswith("facebook: ")
    if code == 368:
        assert err.retry_after == RETRY_AFTER_BLOCKED
    assert graph.page_posts() == []


@pytest.mark.parametrize(
    ("code", "subcode", "transient", "words"),
    [
        (4, 2207051, False, "spam"),
        (9, 2207042, True, "24 hours"),
        (9007, 2207027, True, "not ready"),
        (25, 2207050, False, "restricted"),
        (-1, 2207001, True, "new container"),
        (24, 2207008, True, "does not know that container"),
    ],
)
def test_instagram_errors_are_sorted_by_subcode(
    graph: GraphStandin, code: int, subcode: int, transient: bool, words: str
) -> None:
    graph.fail_graph("POST", "/*/media_publish", code=code, subcode=subcode)
    err = raised(lambda: client(graph, "instagram").ig_publish(graph.ig_user_id, "123"))
    assert type(err) is ChannelError
    assert (err.transient, err.subcode) == (transient, subcode) and words in err.message


def test_token_states_reach_the_right_variable(graph: GraphStandin) -> None:
    graph.set_token_state(TOKEN, "expired")
    err = raised(lambda: client(graph, "instagram").ig_publishing_limit(graph.ig_user_id))
    assert err.message.startswith(
        "the Instagram token expired: make a new Page access token and set PUBLISHER_INSTAGRAM_TOKEN"
    )
    graph.set_token_state(TOKEN, "invalid")
    err = raised(lambda: client(graph).recent_page_posts(graph.page_id))
    assert (err.transient, err.subcode) == (
        False,
        467,
    ) and "PUBLISHER_FACEBOOK_TOKEN" in err.message


def test_a_token_without_permission_is_told_which(graph: GraphStandin) -> None:
    graph.add_token(TOKEN, scopes=("pages_read_engagement",))
    err = raised(lambda: client(graph).page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert (err.transient, err.code) == (False, 200) and "pages_manage_posts" in err.message


def test_service_errors_on_a_create_leave_the_outcome_unknown(graph: GraphStandin) -> None:
    graph.fail_graph("*", "*", code=2, is_transient=True, status=503, times=2)
    err = raised(lambda: client(graph).page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert isinstance(err, OutcomeUnknown) and err.code == 2
    err = raised(lambda: client(graph).recent_page_posts(graph.page_id))
    assert type(err) is ChannelError and err.transient


# HTTP failures, time-outs, lost connections


def test_a_proxy_502_page(graph: GraphStandin) -> None:
    graph.fail_http("GET", "/*/published_posts")
    err = raised(lambda: client(graph).recent_page_posts(graph.page_id))
    assert type(err) is ChannelError and err.transient
    assert "HTTP 502 with a text/html page" in err.message
    graph.fail_http("POST", "/*/feed")
    err = raised(lambda: client(graph).page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert isinstance(err, OutcomeUnknown) and "read the Page's recent posts" in err.message
    assert graph.page_posts() == []


def test_created_then_500_is_outcome_unknown_and_the_post_exists(graph: GraphStandin) -> None:
    graph.fail_http("POST", "/*/feed", status=500, body="<h1>oops</h1>", after_effect=True)
    err = raised(lambda: client(graph).page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert isinstance(err, OutcomeUnknown) and err.transient
    assert [p["message"] for p in graph.page_posts()] == ["m"]


def test_a_wrong_graph_url_is_permanent(graph: GraphStandin) -> None:
    graph.fail_http("GET", "*", status=404, body="<h1>Not Found</h1>")
    err = raised(lambda: client(graph).recent_page_posts(graph.page_id))
    assert not err.transient and "[graph] url" in err.message


def test_a_held_create_times_out_as_outcome_unknown(graph: GraphStandin) -> None:
    held = graph.hold("POST", "/*/feed", after_effect=True)
    started = time.monotonic()
    err = raised(
        lambda: client(graph, timeout=0.3).page_post(graph.page_id, "m", "https://c.example/a")
    )
    assert time.monotonic() - started < 2
    assert isinstance(err, OutcomeUnknown) and "no answer from Meta within 0.3 s" in err.message
    assert held.wait_held(2) and len(graph.page_posts()) == 1
    held.release()


def test_a_request_held_before_its_effect_can_still_land_later(graph: GraphStandin) -> None:
    held = graph.hold("POST", "/*/feed")
    err = raised(
        lambda: client(graph, timeout=0.3).page_post(graph.page_id, "m", "https://c.example/a")
    )
    assert isinstance(err, OutcomeUnknown) and graph.page_posts() == []
    held.release()  # Meta was only slow: the post appears after the client gave up
    deadline = time.monotonic() + 2
    while not graph.page_posts() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(graph.page_posts()) == 1


def test_a_held_read_is_a_plain_transient_error(graph: GraphStandin) -> None:
    graph.hold("GET", "/*/published_posts")
    err = raised(lambda: client(graph, timeout=0.2).recent_page_posts(graph.page_id))
    assert type(err) is ChannelError and err.transient


def test_a_dropped_connection_after_the_effect(graph: GraphStandin, image_url: str) -> None:
    ig = client(graph, "instagram")
    container = ig.ig_create_container(graph.ig_user_id, image_url, "c", "")
    graph.drop("POST", "/*/media_publish", after_effect=True)
    err = raised(lambda: ig.ig_publish(graph.ig_user_id, container))
    assert isinstance(err, OutcomeUnknown) and "status_code" in err.message
    assert ig.ig_container_status(container)[0] == "PUBLISHED" and len(graph.ig_media()) == 1


def test_no_connection_means_nothing_was_sent(graph: GraphStandin) -> None:
    fb = client(graph)
    graph.stop()
    err = raised(lambda: fb.page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert type(err) is ChannelError and err.transient and "could not connect" in err.message


# Usage headers


def test_usage_headers_are_read(graph: GraphStandin) -> None:
    fb = client(graph)
    assert fb.usage == Usage()
    graph.usage = {"call_count": 85, "total_cputime": 20, "total_time": 30}
    fb.recent_page_posts(graph.page_id)
    assert fb.usage.percent == 85 and fb.usage.near_limit
    graph.fail_graph("POST", "/*/feed", code=80001, is_transient=True, regain_minutes=5)
    err = raised(lambda: fb.page_post(graph.page_id, "m", "https://clinic.example/a"))
    assert err.retry_after == 300 and fb.usage.regain_access_minutes == 5


def test_parse_usage_takes_the_highest_figure() -> None:
    usage = parse_usage(
        {
            "X-App-Usage": '{"call_count": 12, "total_cputime": 40, "total_time": 3}',
            "X-Business-Use-Case-Usage": '{"1": [{"type": "pages", "call_count": 91,'
            ' "total_cputime": 5, "total_time": 5, "estimated_time_to_regain_access": 7}]}',
            "X-Page-Usage": "not json",
        }
    )
    assert usage == Usage(percent=91, regain_access_minutes=7) and usage.retry_after == 420
    assert parse_usage({}) == Usage() and not Usage().near_limit


# Accounts


def test_describe_accounts(graph: GraphStandin) -> None:
    page = client(graph).describe_account(graph.page_id)
    assert (page.ok, page.name, page.token_type, page.never_expires) == (
        True,
        "Riverside Clinic",
        "PAGE",
        True,
    )
    assert "pages_manage_posts" in (page.scopes or ())
    ig = client(graph, "instagram").describe_account(graph.ig_user_id)
    assert (
        ig.ok
        and ig.name == "riversideclinic"
        and ig.lines()[0].startswith("instagram: Instagram account @riversideclinic")
    )


def test_describe_account_warns_and_complains(graph: GraphStandin) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    soon = int((now + timedelta(days=3)).timestamp())
    graph.add_token(TOKEN, expires_at=soon, scopes=("pages_read_engagement", "instagram_basic"))
    report = client(graph, "instagram").describe_account(graph.ig_user_id, now=now)
    assert report.missing_scopes == ("instagram_content_publish",) and not report.ok
    assert any(
        "instagram_content_publish" in p and "PUBLISHER_INSTAGRAM_TOKEN" in p
        for p in report.problems
    )
    assert report.warnings == (
        "the Instagram token expires on 2026-12-05 (in 3 days): make a new Page access token"
        " and set PUBLISHER_INSTAGRAM_TOKEN before then",
    )
    assert report.as_dict()["expires_at"] == "2026-12-05T12:00:00+00:00"
    graph.add_token(TOKEN, type="USER")
    report = client(graph).describe_account(graph.page_id)
    assert any("not a Page access token" in p for p in report.problems)
    graph.set_token_state(TOKEN, "expired")
    asked_before = len(graph.requests)
    report = client(graph).describe_account(graph.page_id)
    assert not report.token_valid and report.problems[0].startswith("the Facebook token expired")
    assert len(graph.requests) == asked_before + 1  # once the token is refused, stop asking


# No token leaks, for every failure type


def _leak_scenarios() -> dict[str, Callable[[GraphStandin, str], None]]:
    def graph_error_echoing_token(g: GraphStandin, url: str) -> None:
        g.fail_graph(
            "GET", "*", code=190, subcode=467, message=f"Bad token {TOKEN} access_token={TOKEN}"
        )
        client(g).recent_page_posts(g.page_id)

    def expired_on_create(g: GraphStandin, url: str) -> None:
        g.set_token_state(TOKEN, "expired")
        client(g).page_post(g.page_id, "m", "https://clinic.example/a")

    def html_502_on_read(g: GraphStandin, url: str) -> None:
        g.fail_http("GET", "*")
        client(g).post_permalink("1_2")

    def html_500_after_create(g: GraphStandin, url: str) -> None:
        g.fail_http("POST", "*", status=500, after_effect=True)
        client(g).page_post(g.page_id, "m", "https://clinic.example/a")

    def timeout_on_read(g: GraphStandin, url: str) -> None:
        g.hold("GET", "*")
        client(g, timeout=0.2).ig_publishing_limit(g.ig_user_id)

    def timeout_on_create(g: GraphStandin, url: str) -> None:
        g.hold("POST", "*")
        client(g, timeout=0.2).ig_create_container(g.ig_user_id, url, "c", "")

    def dropped_read(g: GraphStandin, url: str) -> None:
        g.drop("GET", "*")
        client(g).ig_recent_media(g.ig_user_id)

    def refused_connection(g: GraphStandin, url: str) -> None:
        fb = client(g)
        g.stop()
        fb.recent_page_posts(g.page_id)  # the URL in requests' error holds access_token

    def rejected_image(g: GraphStandin, url: str) -> None:
        client(g, "instagram").ig_create_container(g.ig_user_id, url + "-missing", "c", "")

    def container_error(g: GraphStandin, url: str) -> None:
        g.container_outcome("error")
        ig = client(g, "instagram")
        ig.ig_wait_until_finished(ig.ig_create_container(g.ig_user_id, url, "c", ""))

    def wait_timeout(g: GraphStandin, url: str) -> None:
        g.container_outcome("stuck")
        ig = client(g, "instagram")
        container = ig.ig_create_container(g.ig_user_id, url, "c", "")
        ig.ig_wait_until_finished(container, timeout=1, sleep=lambda s: None)

    return {f.__name__: f for f in list(locals().values()) if callable(f)}


@pytest.mark.parametrize("scenario", sorted(_leak_scenarios()))
def test_the_token_never_leaks(
    graph: GraphStandin, image_url: str, caplog: pytest.LogCaptureFixture, scenario: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ChannelError) as info:
        _leak_scenarios()[scenario](graph, image_url)
    err = info.value
    assert err.__cause__ is None and err.__context__ is None
    texts = [str(err), repr(err), err.message, *map(str, err.args)]
    texts += traceback.format_exception(err)
    texts += [r.getMessage() for r in caplog.records]
    texts.append(repr(client(graph)))
    assert not [t for t in texts if TOKEN in t]
    if scenario == "refused_connection":  # requests' text held the URL, token and all
        assert "access_token=***" in err.message


def test_urllib3_request_lines_are_redacted(
    graph: GraphStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client(graph).recent_page_posts(graph.page_id)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("published_posts?" in line and "access_token=***" in line for line in lines)
    assert TOKEN not in caplog.text


def test_describe_account_does_not_leak(
    graph: GraphStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    graph.set_token_state(TOKEN, "checkpoint")
    report = client(graph).describe_account(graph.page_id)
    assert TOKEN not in repr(report) and TOKEN not in "\n".join(report.lines())
    assert TOKEN not in caplog.text and "input_token" not in str(report.as_dict())


# Redaction and classification, as pure functions


def test_redact_urls_and_known_tokens() -> None:
    text = (
        f"GET /v26.0/me?fields=id&access_token={TOKEN}&x=1 body access_token=OTHERtoken"
        f' {{"access_token": "JSONtoken"}} input_token={TOKEN} a%7Cb plain {TOKEN}'
    )
    clean = redact(text, [TOKEN, "a|b"])
    assert "OTHERtoken" not in clean and "JSONtoken" not in clean and TOKEN not in clean
    assert "access_token=***&x=1" in clean and "fields=id" in clean and "a%7Cb" not in clean


@given(
    token=st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=12
    ),
    before=st.text(),
    after=st.text(),
)
def test_redact_never_lets_a_token_through(token: str, before: str, after: str) -> None:
    assert token not in redact(before + token + after, [token])


@given(
    channel=st.sampled_from(["facebook", "instagram"]),
    code=st.none() | st.integers(-3, 2_000_000),
    subcode=st.none() | st.integers(0, 3_000_000),
    is_transient=st.booleans(),
)
def test_every_error_gets_a_sentence_with_what_to_do(
    channel: str, code: int | None, subcode: int | None, is_transient: bool
) -> None:
    transient, message = classify_error(channel, code, subcode, is_transient=is_transient)
    what, _, to_do = message.partition(": ")
    assert isinstance(transient, bool) and what and to_do
