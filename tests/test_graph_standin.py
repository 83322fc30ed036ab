"""The Graph API stand-in itself, spoken to with plain requests: Meta's shapes and its faults."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.graph_standin import GraphStandin, jpeg_size

TOKEN = "EAAtestSECRETtoken123"


@pytest.fixture
def graph() -> Iterator[GraphStandin]:
    with GraphStandin() as standin:
        standin.add_token(TOKEN, label="page")
        yield standin


def post_feed(graph: GraphStandin, message: str = "m") -> requests.Response:
    return requests.post(
        f"{graph.url}/v26.0/{graph.page_id}/feed",
        data={"message": message, "link": "https://clinic.example/a", "access_token": TOKEN},
        timeout=5,
    )


def test_requests_are_logged_without_the_token(graph: GraphStandin) -> None:
    assert post_feed(graph).status_code == 200
    answer = requests.get(
        f"{graph.url}/{graph.page_id}", params={"fields": "name", "access_token": TOKEN}, timeout=5
    )
    assert answer.json() == {"id": graph.page_id, "name": "Riverside Clinic"}
    first, second = graph.requests
    assert (first.version, first.token, first.token_in, first.status) == (
        "v26.0",
        "page",
        "body",
        200,
    )
    assert first.params == {"message": "m", "link": "https://clinic.example/a"}
    assert (second.version, second.token_in, second.params) == (None, "query", {"fields": "name"})
    assert TOKEN not in repr(graph.requests)


def test_errors_have_metas_shape_and_usage_headers(graph: GraphStandin) -> None:
    answer = requests.get(f"{graph.url}/v26.0/me", params={"access_token": "nope"}, timeout=5)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException"
    assert set(error) == {"message", "type", "code", "is_transient", "fbtrace_id"}
    assert json.loads(answer.headers["X-App-Usage"])["call_count"] == 1
    assert "estimated_time_to_regain_access" in answer.headers["X-Business-Use-Case-Usage"]
    assert requests.get(f"{graph.url}/v26.0/me", timeout=5).json()["error"]["code"] == 104
    graph.set_token_state(TOKEN, "expired")
    error = post_feed(graph).json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert graph.page_posts() == []


def test_unreadable_fields_are_refused_like_meta(graph: GraphStandin) -> None:
    post_id = post_feed(graph).json()["id"]
    answer = requests.get(
        f"{graph.url}/v26.0/{post_id}", params={"fields": "link", "access_token": TOKEN}, timeout=5
    )
    assert answer.json()["error"]["code"] == 100 and "(link)" in answer.json()["error"]["message"]


def test_a_fault_after_n_calls_then_times(graph: GraphStandin) -> None:
    fault = graph.fail_graph("POST", "/*/feed", code=4, is_transient=True, after=2, times=2)
    codes = [post_feed(graph, f"m{n}").status_code for n in range(5)]
    assert codes == [200, 200, 400, 400, 200]
    assert (fault.seen, fault.hits) == (5, 2) and len(graph.page_posts()) == 3


def test_seeded_transient_failures_repeat_exactly(graph: GraphStandin) -> None:
    def pattern() -> list[int]:
        graph.transient_failures(0.3, seed=7)
        return [post_feed(graph).status_code for _ in range(40)]

    first = pattern()
    assert first == pattern() and 4 <= first.count(503) <= 20 and set(first) == {200, 503}
    graph.transient_failures(1.0, seed=1, after_effect=1.0)
    before = len(graph.page_posts())
    assert post_feed(graph).status_code == 503 and len(graph.page_posts()) == before + 1


def test_hold_until_released_and_stop_drops_held(graph: GraphStandin) -> None:
    held = graph.hold("POST", "/*/feed")
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.append(post_feed(graph).status_code))
    worker.start()
    assert held.wait_held(5) and answers == [] and graph.page_posts() == []
    held.release()
    worker.join(5)
    assert answers == [200] and len(graph.page_posts()) == 1
    reads = graph.hold("GET", "*", times=None)
    failures: list[type] = []

    def read() -> None:
        try:
            requests.get(f"{graph.url}/v26.0/me", params={"access_token": TOKEN}, timeout=5)
        except requests.RequestException as exc:
            failures.append(type(exc))

    reader = threading.Thread(target=read)
    reader.start()
    assert reads.wait_held(5)
    graph.stop()
    reader.join(5)
    assert failures and not reader.is_alive()


def test_jpeg_sizes_are_read_and_mpo_refused() -> None:
    progressive, mpo = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (1080, 1350)).save(progressive, "JPEG", progressive=True)
    frames = [Image.new("RGB", (1080, 1080)), Image.new("RGB", (1080, 1080))]
    frames[0].save(mpo, "MPO", save_all=True, append_images=frames[1:])
    assert jpeg_size(progressive.getvalue()) == (1080, 1350)
    assert jpeg_size(mpo.getvalue()) is None
    assert jpeg_size(b"\x89PNG\r\n") is None


def test_the_quota_answer_has_metas_shape(graph: GraphStandin) -> None:
    graph.set_quota_used(graph.ig_user_id, 3)
    answer = requests.get(
        f"{graph.url}/v26.0/{graph.ig_user_id}/content_publishing_limit",
        params={"fields": "quota_usage,config", "access_token": TOKEN},
        timeout=5,
    )
    assert answer.json() == {
        "data": [{"quota_usage": 3, "config": {"quota_total": 50, "quota_duration": 86400}}]
    }


def test_concurrent_posts_get_distinct_ids(graph: GraphStandin) -> None:
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda: ids.append(post_feed(graph).json()["id"]))
        for _ in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(set(ids)) == 12 == len(graph.page_posts())


def test_runs_standalone() -> None:
    script = Path(__file__).with_name("graph_standin.py")
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[4]
        answer = requests.get(f"{url}/v26.0/me", params={"access_token": TOKEN}, timeout=5)
        assert answer.json()["id"] == "100000000000001"
    finally:
        process.terminate()
        process.wait(5)
