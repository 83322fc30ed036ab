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


def start_serve(project, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`publisher serve --port 0 ARGS` and the address it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), "serve"]
        + ["--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=project.root,
    )

    def address() -> str | None:
        found = re.search(r"(http://127\.0\.0\.1:\d+/\S*)", process.stdout.readline())
        return found.group(1) if found else None

    try:
        return process, wait_for(address)
    except BaseException:
        process.kill()
        raise


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0


def test_serve_puts_the_site_at_the_base_urls_path_as_it_is_deployed(project):
    text = project.config_path.read_text()
    project.config_path.write_text(
        text.replace("https://clinic.example", "https://clinic.example/blog")
    )
    project.post("a.md", "title: First\ndate: 2026-01-01")
    process, address = start_serve(project)
    try:
        assert address.endswith("/blog/")
        origin = address.removesuffix("/blog/")
        home = requests.get(address, timeout=5)
        assert home.status_code == 200 and 'href="/blog/posts/first/"' in home.text
        # every address the pages link to answers where they say it is
        for link in ("/blog/posts/first/", "/blog/static/style.css", "/blog/tags/"):
            assert requests.get(origin + link, timeout=5).status_code == 200, link
        assert requests.get(origin + "/posts/first/", timeout=5).status_code == 404
        moved = requests.get(origin + "/", timeout=5, allow_redirects=False)
        assert moved.status_code == 302 and moved.headers["Location"] == "/blog/"
        folder = requests.get(origin + "/blog/posts/first", timeout=5, allow_redirects=False)
        assert folder.status_code == 301 and folder.headers["Location"] == "/blog/posts/first/"
        feed = requests.get(address + "feed.xml", timeout=5)
        assert feed.headers["Content-Type"] == "application/atom+xml"
        assert requests.get(address + ".publisher-output", timeout=5).status_code == 404
    finally:
        stop(process)


def test_serve_now_shows_the_future_without_touching_the_real_site(project):
    project.post("now.md", "title: Now\ndate: 2026-01-01 09:00")
    project.post("later.md", "title: Later\ndate: 2099-12-01 09:00")
    assert (
        subprocess.run(
            [sys.executable, "-m", "publisher", "--config", str(project.config_path), "build"],
            capture_output=True,
            timeout=60,
        ).returncode
        == 0
    )
    before = {p: p.stat().st_mtime_ns for p in project.output.rglob("*")}
    process, address = start_serve(project, "--now", "2099-12-01T09:00")
    try:
        assert requests.get(address + "posts/later/", timeout=5).status_code == 200
    finally:
        stop(process)
    assert {p: p.stat().st_mtime_ns for p in project.output.rglob("*")} == before
    assert not (project.output / "posts/later").exists()


def test_serve_builds_serves_and_rebuilds_on_change(project):
    post = project.post("a.md", "title: First title\ndate: 2026-01-01")
    process, address = start_serve(project)
    try:
        base = address.rstrip("/")
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
        stop(process)


def test_serve_does_not_rebuild_for_an_editors_passing_files(project):
    """vim's swap file, emacs's lock, a backup~...: written and taken away as a post is
    edited, they are no change to the site; saving the post is."""
    post = project.post("a.md", "title: First title\ndate: 2026-01-01")
    process, address = start_serve(project)
    try:
        time.sleep(1)  # the watcher has taken its first look
        for name in (".a.md.swp", "4913", "#a.md#", "a.md~", ".goutputstream-X1", ".~lock.a.md#"):
            (project.posts / name).write_text("b0VIM 9.0")
        time.sleep(2)  # four looks of the watcher
        post.write_text(post.read_text().replace("First title", "Second title"))
        base = address.rstrip("/")
        wait_for(lambda: requests.get(base + "/posts/second-title/", timeout=5).status_code == 200)
        # the page is served before the line that says it was rebuilt is written: stopped
        # in between (a loaded machine), the line was never written; wait for it too
        output = ""
        while not re.search(r"Rebuilt: 1 post\(s\), [1-9]", output):
            line = process.stdout.readline()
            assert line, output
            output += line
    finally:
        stop(process)
    output += process.stdout.read()
    assert output.count("Rebuilt:") == 1, output  # for the post alone


def test_serve_on_a_port_in_use_says_so_and_builds_nothing(project):
    import socket

    project.post("a.md", "title: A\ndate: 2026-01-01")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command in (["serve", "--port", port], ["run", "--serve", port]):
            result = subprocess.run(
                [sys.executable, "-m", "publisher", "--config", str(project.config_path)] + command,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 1, command
            assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
            assert "Traceback" not in result.stderr
            assert not project.output.exists(), command


def test_serve_lan_answers_a_phone_on_the_network_and_only_when_asked(project):
    """Staff look at the site on their phone: --lan serves it on the computer's network
    address too, and says which; without it, only this computer is answered."""
    import socket

    project.post("a.md", "title: On the phone\ndate: 2026-01-01")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            network = probe.getsockname()[0]
        except OSError:
            network = None  # a machine with no network: --lan says so
    process, local = start_serve(project, "--lan")
    try:
        line = wait_for(process.stdout.readline)
        if network is None:
            assert line.startswith("This computer has no network address yet"), line
        else:
            found = re.search(r"^On a phone on the same network \(Wi-Fi\): (http://\S+)$", line)
            assert found, line
            port = local.rsplit(":", 1)[1].rstrip("/")
            assert found.group(1) == f"http://{network}:{port}/"
            page = requests.get(found.group(1) + "posts/on-the-phone/", timeout=10)
            assert page.status_code == 200 and "On the phone" in page.text
        assert requests.get(local, timeout=10).status_code == 200
    finally:
        stop(process)
    if network is not None:
        process, local = start_serve(project)
        try:
            port = local.rsplit(":", 1)[1].rstrip("/")
            try:
                requests.get(f"http://{network}:{port}/", timeout=5)
                answered = True
            except requests.ConnectionError:
                answered = False
            assert not answered, "without --lan, the network must not be answered"
        finally:
            stop(process)


def test_serve_without_a_port_takes_the_next_free_one_when_make_run_has_8000(project):
    """Staff keep `make run` going (it serves on 8000) and preview another day with
    `serve --now`, as the README says: that one answers on the next free port."""
    import socket

    project.post("a.md", "title: A\ndate: 2026-01-01")
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8000))
            taken.listen()
        except OSError:
            pass  # taken already: as good for this test
        process = subprocess.Popen(
            [sys.executable, "-m", "publisher", "--config", str(project.config_path), "serve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=project.root,
        )
        try:
            said = process.stdout.readline()
            assert said.startswith("Port 8000 is in use (by `make run`"), said
            port = int(re.search(r"answers on port (\d+)\.", said).group(1))
            assert 8000 < port < 8020
            address = wait_for(
                lambda: re.search(r"http://127\.0\.0\.1:(\d+)/", process.stdout.readline())
            )
            assert int(address.group(1)) == port
            assert requests.get(f"http://127.0.0.1:{port}/posts/a/", timeout=5).status_code == 200
        finally:
            stop(process)
