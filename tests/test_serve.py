"""`publisher serve` as a real process: serves the site, rebuilds on edits, stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import requests


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def test_serve_builds_serves_and_rebuilds_on_change(project):
    post = project.post("a.md", "title: First title\ndate: 2026-01-01")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "publisher",
            "--config",
            str(project.config_path),
            "serve",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=project.root,
    )
    try:
        lines: list[str] = []

        def port() -> str | None:
            line = process.stdout.readline()
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            return found.group(1) if found else None

        base = f"http://127.0.0.1:{wait_for(port)}"
        page = requests.get(base + "/posts/first-title/", timeout=5)
        assert page.status_code == 200 and "First title" in page.text
        missing = requests.get(base + "/no/such/page/", timeout=5)
        assert missing.status_code == 404 and "couldn" in missing.text
        post.write_text(post.read_text().replace("First title", "Second title"))
        wait_for(lambda: requests.get(base + "/posts/second-title/", timeout=5).status_code == 200)
        assert requests.get(base + "/posts/first-title/", timeout=5).status_code == 404
        # A template edit is picked up too: the config points at the repository's templates,
        # so edit the config instead (site title) and see it on the page.
        project.config_path.write_text(
            project.config_path.read_text().replace(
                'title = "Test Clinic"', 'title = "Renamed Clinic"'
            )
        )
        wait_for(lambda: "Renamed Clinic" in requests.get(base + "/", timeout=5).text)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
