"""The server's side of durability: builds and passes that overlap, folders that vanish,
full disks. Real processes, real files, real SQLite."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Project

LINK = re.compile(r'(?:href|src)="(/[^"#?]*)')


def publisher(project: Project, *args: str) -> subprocess.Popen[str]:
    """`publisher ARGS` on the project, started as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project.root,
    )


def broken_links(site: Path) -> list[str]:
    """Every address a page of the site links to that the site does not hold."""
    missing = []
    for page in site.rglob("*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            target = site / link.lstrip("/")
            if link.endswith("/"):
                target = target / "index.html"
            if not target.is_file():
                missing.append(f"{page.relative_to(site)} -> {link}")
    return missing


def write_posts(project: Project, count: int, edit: str) -> None:
    for n in range(count):
        project.post(
            f"p{n:02d}.md",
            f"title: Post {n} {edit}\nslug: p{n}\ndate: 2026-10-{1 + n % 28:02d} 09:00\ntags: [t{n % 4}]",
            f"Article {n}, {edit}.\n",
        )


def test_builds_started_together_never_leave_a_mixed_or_partial_site(project):
    """A person's `publisher build` beside the service's or cron's pass: builds into one
    folder used to update and swap the spare copy together (the lock was on a folder that
    is swapped and deleted), leaving pages missing and links to nothing."""
    for round in range(6):
        write_posts(project, 12 + round, f"edit {round}")
        if round % 2:  # a site deleted by hand: builds from nothing, started together
            for name in ("public", ".public.previous"):
                subprocess.run(["rm", "-rf", str(project.root / name)], check=True)
        builds = [
            publisher(project, "build", "--now", "2026-11-01T09:00", "--output", "public")
            for _ in range(4)
        ]
        for build in builds:
            _, err = build.communicate(timeout=120)
            assert build.returncode == 0, err
        pages = sorted(p.parent.name for p in project.output.glob("posts/*/index.html"))
        assert len(pages) == 12 + round, f"round {round}: {pages}"
        assert broken_links(project.output) == [], f"round {round}"
        assert f"Post 0 edit {round}" in (project.output / "posts/p0/index.html").read_text()


def test_a_posts_folder_gone_missing_leaves_the_website_as_it_was(project):
    """A posts folder moved aside by a deploy, renamed by mistake or on a disk that did not
    mount used to read as 'every post deleted': the build took every page off the site
    (and the deploy off the server) and said all was well."""
    project.write_config("[facebook]\nenabled = false\n")
    write_posts(project, 3, "first")
    built = publisher(project, "build", "--now", "2026-11-01T09:00", "--output", "public")
    assert built.wait(120) == 0, built.stderr.read()
    before = project.files()
    assert "posts/p2/index.html" in before
    project.posts.rename(project.root / "posts-aside")

    for command in (
        ("build", "--now", "2026-11-01T09:00", "--output", "public"),
        ("publish", "--due", "--now", "2026-11-01T09:00"),
    ):
        process = publisher(project, *command)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1, out + err
        assert f"the posts folder {project.posts} is missing" in err
        assert "taken off" not in out + err
        assert project.files() == before

    (project.root / "posts-aside").rename(project.posts)
    process = publisher(project, "publish", "--due", "--now", "2026-11-01T09:00")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert project.files().keys() == before.keys()


# A deploy that mirrors public/ into server/ (files gone from the site go from the server, as
# with rsync --delete), and counts its runs.
MIRROR = (
    "rm -rf server.new && cp -a public server.new && rm -rf server && mv server.new server"
    " && echo deployed >> deploys.log"
)


def set_deploy(project: Project, command: str) -> None:
    """Give config.toml's [site] this deploy command."""
    text = project.config_path.read_text()
    project.config_path.write_text(
        text.replace("[site]\n", f'[site]\ndeploy_command = "{command}"\n', 1)
    )


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_an_empty_posts_folder_leaves_the_site_the_server_and_the_ledger_as_they_were(tmp_path):
    """A posts disk that did not mount leaves its mount point, an empty folder: every post
    read as deleted, so the build, the pass and the service emptied the website and the
    deploy then emptied the server. They now stop, say so, and touch nothing until the
    posts are back."""
    from publisher.ledger import PUBLISHED

    from .publishing import staged

    for stage in staged(tmp_path):
        project = stage.project
        set_deploy(project, MIRROR)
        stage.add_post("morning", "2026-12-01 09:00", instagram="false")
        stage.add_post(
            "noon", "2026-12-01 09:00", instagram="false", facebook="{at: '2026-12-01 12:00'}"
        )
        first = stage.run("2026-12-01T09:05")
        assert first.returncode == 0, first.stdout + first.stderr
        server = project.root / "server"
        site, served, ledger = tree(project.output), tree(server), stage.ledger_dump()
        assert "posts/noon/index.html" in served
        assert "noon/facebook" not in stage.records()  # due at noon
        project.posts.rename(project.root / "posts-disk")
        project.posts.mkdir()  # the mount point, with the disk not mounted

        said = []
        for command in (
            ("build", "--now", "2026-12-01T12:05", "--output", "public"),
            ("publish", "--due", "--now", "2026-12-01T12:05"),
        ):
            result = stage.command(*command)
            assert result.returncode == 1, result.stdout + result.stderr
            said.append(result.stderr)
        service = subprocess.Popen(
            [sys.executable, "-m", "publisher", "--config", str(project.config_path), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=stage.env,
            cwd=project.root,
        )
        hung = threading.Timer(120, service.kill)  # a service that never says it: ends the wait
        hung.start()
        try:
            assert service.stdout is not None
            for line in service.stdout:
                if "holds no posts" in line:
                    said.append(line)
                    break
        finally:
            hung.cancel()
            service.send_signal(signal.SIGTERM)
            rest, _ = service.communicate(timeout=60)
        assert len(said) == 3, rest
        for message in said:
            assert f"the posts folder {project.posts} holds no posts" in message, message
            assert "the website built into public has 2 article(s)" in message
            assert "check that it is mounted" in message
            assert "publisher build --allow-empty" in message
        assert "taken off the website" not in rest and "deployed: " not in rest, rest
        assert tree(project.output) == site
        assert tree(server) == served
        assert (project.root / "deploys.log").read_text() == "deployed\n"
        assert stage.ledger_dump() == ledger  # nothing marked, nothing forgotten

        project.posts.rmdir()
        (project.root / "posts-disk").rename(project.posts)  # mounted
        again = stage.run("2026-12-01T12:05")
        assert again.returncode == 0, again.stdout + again.stderr
        assert stage.records()["noon/facebook"].state == PUBLISHED
        assert tree(server).keys() == served.keys()


def test_only_drafts_is_a_site_with_no_articles_and_allow_empty_empties_it(project):
    """A posts folder of drafts (or of posts still to come) is the clinic's choice: built
    as it is. A folder with no post at all is refused while the site has articles, until
    `build --allow-empty` empties the site on purpose; passes then go on from there."""
    build = ("build", "--now", "2026-11-01T09:00", "--output", "public")
    write_posts(project, 2, "first")
    assert publisher(project, *build).wait(120) == 0
    for n in range(2):
        (project.posts / f"p{n:02d}.md").unlink()
    project.post("draft.md", "title: Soon\ndate: 2026-10-01 09:00\ndraft: true")

    drafts = publisher(project, *build)
    out, err = drafts.communicate(timeout=120)
    assert drafts.returncode == 0, out + err
    assert "taken off the site: /posts/p0/" in out
    assert not (project.output / "posts").exists()

    write_posts(project, 2, "second")
    (project.posts / "draft.md").unlink()
    assert publisher(project, *build).wait(120) == 0
    for n in range(2):
        (project.posts / f"p{n:02d}.md").unlink()
    refused = publisher(project, *build)
    out, err = refused.communicate(timeout=120)
    assert refused.returncode == 1 and "holds no posts" in err, out + err
    assert (project.output / "posts" / "p1" / "index.html").is_file()

    emptied = publisher(project, *build, "--allow-empty")
    out, err = emptied.communicate(timeout=120)
    assert emptied.returncode == 0, out + err
    assert "taken off the site: /posts/p1/" in out
    assert not (project.output / "posts").exists()
    passed = publisher(project, "publish", "--due", "--now", "2026-11-01T09:00")
    out, err = passed.communicate(timeout=120)
    assert passed.returncode == 0, out + err


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB file system of its own (tmpfs), to fill up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def first_pass_with_the_ledger_on(project: Project, disk: Path) -> None:
    """Put the project's ledger on `disk`, and run a first pass on two posts."""
    text = project.config_path.read_text()
    project.config_path.write_text(text + f'\n[publish]\nledger = "{disk / "publisher.db"}"\n')
    write_posts(project, 2, "first")
    passed = publisher(project, "publish", "--due", "--now", "2026-11-01T09:00")
    assert passed.wait(120) == 0, passed.stderr.read()


def test_status_reads_a_ledger_on_a_disk_mounted_read_only(project, small_disk):
    """A ledger on a disk mounted read-only (a backup looked at, a disk the kernel made
    read-only after an error) could not be opened by status: SQLite makes a file beside a
    ledger in WAL mode to read it. Nothing can write there, so it is read as it is."""
    first_pass_with_the_ledger_on(project, small_disk)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    assert not os.access(small_disk, os.W_OK) or os.geteuid() == 0
    shown = publisher(project, "status", "--all")
    out, err = shown.communicate(timeout=60)
    assert shown.returncode == 0, err
    assert [line.split()[5] for line in out.splitlines() if " website " in line] == [
        "published"
    ] * 2, out
    calendar = publisher(project, "calendar", "--all")
    out, err = calendar.communicate(timeout=60)
    assert calendar.returncode == 0 and out.count("published") == 2, out + err
    # a pass cannot write there: it says so, with the disk
    stopped = publisher(project, "publish", "--due", "--now", "2026-11-01T09:05")
    out, err = stopped.communicate(timeout=60)
    assert stopped.returncode != 0 and "read-only file system" in (out + err).lower(), out + err


def test_a_full_disk_under_the_ledger_is_named(project, small_disk):
    """With the ledger's disk full, a pass said "No space left on device: free some space
    on that disk", naming no file or disk."""
    first_pass_with_the_ledger_on(project, small_disk)
    (small_disk / "publisher.db.lock").unlink()  # made again by the next pass: in vain
    filler = fill(small_disk)
    write_posts(project, 4, "second")
    process = publisher(project, "publish", "--due", "--now", "2026-11-02T09:00")
    out, err = process.communicate(timeout=120)
    said = out + err
    assert "Traceback" not in said
    assert process.returncode == 1, said
    assert str(small_disk) in said, said  # the full disk named
    filler.unlink()
    process = publisher(project, "publish", "--due", "--now", "2026-11-02T09:05")
    out, err = process.communicate(timeout=120)
    # room again: the pass goes through (1: the new posts' social posts, a month late, missed)
    assert process.returncode in (0, 1) and "error:" not in out + err, out + err


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`; returns the file to delete to give them back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as file:
        for size in (65536, 4096, 1):
            try:
                while file.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


@pytest.mark.parametrize("full", ["output", "cache"])
def test_a_full_disk_is_named_and_the_site_is_kept(project, small_disk, full):
    """A full disk used to be reported without a place ('No space left on device: check
    that...'), or with the wrong one: copying into a full output disk named the cache file
    it copied from, which was on a disk with room."""
    output, cache = project.root / "public", project.root / ".cache"
    if full == "output":
        output = small_disk / "public"
    else:
        cache = small_disk / "cache"
    text = project.config_path.read_text()
    folders = f'[site]\noutput = "{output}"\ncache = "{cache}"\n'
    project.config_path.write_text(text.replace("[site]\n", folders, 1))
    project.image("images/photo.jpg", (400, 300))
    write_posts(project, 2, "first")
    build = ("build", "--now", "2026-11-01T09:00", "--output", str(output))
    first = publisher(project, *build)
    assert first.wait(120) == 0, first.stderr.read()
    pages = sorted(p.relative_to(output).as_posix() for p in output.rglob("*"))
    filler = fill(small_disk)
    for n in range(2, 6):  # new posts, with photos of their own: new files to write
        project.image(f"images/photo{n}.jpg", (400, 300), color=f"#{n}{n}a")
        project.post(
            f"p{n:02d}.md",
            f"title: Post {n}\nslug: p{n}\ndate: 2026-10-0{n} 09:00\n"
            f"image: images/photo{n}.jpg\nimage_alt: A room",
            "Text.\n",
        )

    process = publisher(project, *build)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, out + err
    assert "No space left on device" in err or "the disk is full" in err, err
    assert f"{small_disk}/" in err, err  # the full disk's file, not one on another disk
    assert "Traceback" not in err
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*")) == pages
    filler.unlink()
    process = publisher(project, *build)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert (output / "posts" / "p5" / "index.html").is_file()


def test_a_site_that_cannot_be_written_holds_back_only_its_new_pages(tmp_path, small_disk):
    """The output's disk full: the pass used to stop at the build's error, so the Facebook
    post of an article live since the morning did not go out either (and, hours later,
    was missed); the site's failure was not kept for `status` or retried with back-off."""
    from publisher.ledger import PUBLISHED, RETRY

    from .publishing import TOKEN, staged

    for stage in staged(tmp_path):
        output = small_disk / "public"
        text = stage.project.config_path.read_text()
        text = text.replace("[site]\n", f'[site]\noutput = "{output}"\n', 1)
        stage.project.config_path.write_text(
            text.replace("[facebook]\n", '[facebook]\noffset = "3h"\n')
        )
        stage.add_post("morning", "2026-12-01 09:00", instagram="false")
        assert stage.run("2026-12-01T09:05").returncode == 0
        filler = fill(small_disk)
        stage.add_post("noon", "2026-12-01 11:00", instagram="false")

        result = stage.run("2026-12-01T12:05")

        records = stage.records()
        assert records["morning/facebook"].state == PUBLISHED, result.stdout + result.stderr
        assert len(stage.graph.page_posts()) == 1
        assert records["noon/website"].state == RETRY, result.stdout + result.stderr
        assert f"No space left on device: {small_disk}/" in records["noon/website"].last_error
        assert "noon/facebook" not in records  # it waits for its page
        assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr
        filler.unlink()
        assert stage.run("2026-12-01T14:05").returncode == 0
        records = stage.records()
        assert records["noon/website"].state == PUBLISHED
        assert records["noon/facebook"].state == PUBLISHED
        assert len(stage.graph.page_posts()) == 2


def test_a_permalink_that_cannot_be_kept_leaves_the_post_published_and_says_where(
    tmp_path, small_disk
):
    """The ledger's disk filled up between the Facebook post and the read of its link:
    keeping the link failed with SQLite's bare 'database or disk is full', naming neither
    the ledger nor the delivery. It now says both, and that the post is recorded as
    published; it is never sent again."""
    from publisher.ledger import PUBLISHED

    from .publishing import TOKEN, staged

    for stage in staged(tmp_path):
        ledger = small_disk / "publisher.db"
        text = stage.project.config_path.read_text()
        stage.project.config_path.write_text(
            text.replace("[publish]\n", f'[publish]\nledger = "{ledger}"\n', 1)
        )
        stage.add_post("hips", "2026-12-01 09:00", instagram="false")
        assert stage.run("2026-12-01T09:05").returncode == 0
        link = stage.graph.hold("GET", f"/{stage.graph.page_id}_*")  # the new post's link
        process = stage.start("2026-12-01T09:31")
        assert link.wait_held(60), process.communicate()
        filler = fill(small_disk)
        link.release()
        out, err = process.communicate(timeout=120)

        assert process.returncode == 1, out + err
        said = [line for line in out.splitlines() if "hips/facebook published" in line]
        assert len(said) == 1, out + "\nERR:" + err
        assert (
            "recorded as published, so never sent again; but its link could not be kept: "
            in said[0]
        )
        assert f"{ledger}: the ledger cannot be written (database or disk is full)" in said[0]
        assert "free some space on that disk and run publisher again" in said[0]
        assert "Traceback" not in err and TOKEN not in out + err
        filler.unlink()
        record = stage.records()["hips/facebook"]
        assert record.state == PUBLISHED and record.remote_id
        assert stage.run("2026-12-01T09:40").returncode == 0
        assert len(stage.graph.page_posts()) == 1


def test_a_build_waiting_for_another_says_so(project):
    """A person's `publisher build` while the service's pass builds into public/ waits for
    it: it says so at once, rather than hang without a word, then builds."""
    import fcntl

    write_posts(project, 2, "first")
    lock = os.open(project.output.with_name(".public.lock"), os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other build
        build = publisher(project, "build", "--now", "2026-11-01T09:00", "--output", "public")
        assert build.stdout is not None
        said, _, _ = select.select([build.stdout], [], [], 60)
        assert said, "it waits without a word"
        line = build.stdout.readline()
        assert "waiting for another build into public to finish" in line, line
        assert build.poll() is None and not project.output.exists()
    finally:
        os.close(lock)
    out, err = build.communicate(timeout=120)
    assert build.returncode == 0, out + err
    assert (project.output / "posts" / "p1" / "index.html").is_file()


DEPLOY_SCRIPT = """#!/bin/sh
# copies the site twice, with a pause between, as a slow rsync reads it
cp -a "$PUBLISHER_OUTPUT" first
touch started
while [ ! -e go ]; do sleep 0.1; done
cp -a "$PUBLISHER_OUTPUT" second
if [ -e fail ]; then echo 'the server said no' >&2; exit 3; fi
"""


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    """Wait until `path` exists (while `process` runs)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.1)


@pytest.mark.parametrize("deploy", ["works", "fails", "stopped"])
def test_a_build_waits_for_the_deploy_of_the_pass_before_it(project, deploy):
    """A pass built the site, let go of the builds' lock, then ran the deploy command: a
    person's `publisher build` in that window swapped public/ under the deploy, which copied
    part of one site and part of the other. The lock is now held until the deploy ends,
    whether it works, fails, or the pass is told to stop (it finishes what is in flight)."""
    script = project.root / "deploy.sh"
    script.write_text(DEPLOY_SCRIPT)
    script.chmod(0o755)
    project.write_config("[facebook]\nenabled = false\n")
    set_deploy(project, "./deploy.sh")
    if deploy == "fails":
        (project.root / "fail").touch()
    write_posts(project, 3, "first")
    publishing = publisher(project, "publish", "--due", "--now", "2026-11-01T09:00")
    wait_for(project.root / "started", publishing)
    write_posts(project, 4, "second")

    build = publisher(project, "build", "--now", "2026-11-01T09:00", "--output", "public")
    assert build.stdout is not None
    said, _, _ = select.select([build.stdout], [], [], 120)
    line = build.stdout.readline() if said else ""
    if deploy == "stopped":
        publishing.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # what the build would do meanwhile, it has done
    (project.root / "go").touch()
    passed, passed_err = publishing.communicate(timeout=120)
    built, built_err = build.communicate(timeout=120)

    assert "waiting for another build into public to finish" in line, line + built
    assert tree(project.root / "first") == tree(project.root / "second")
    assert "posts/p3/index.html" not in tree(project.root / "second")
    assert build.returncode == 0, built + built_err
    assert "Post 0 second" in (project.output / "posts" / "p0" / "index.html").read_text()
    assert (project.output / "posts" / "p3" / "index.html").is_file()
    if deploy == "fails":
        assert "the deploy command failed (exit 3): the server said no" in passed, passed
    else:
        assert "deployed: ./deploy.sh" in passed, passed + passed_err
    if deploy == "stopped":
        assert "SIGTERM: finishing what is in flight, then stopping" in passed, passed


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(") ")[2][:1] != "Z"


def test_a_deploy_past_its_time_limit_is_stopped_whole(tmp_path, monkeypatch):
    """The deploy command's time limit ended its shell alone: what the shell started (an
    rsync) went on copying public/ after the pass had let other builds in to swap it."""
    from publisher import publish
    from publisher.ledger import RETRY

    from .publishing import at, staged

    monkeypatch.setattr(publish, "DEPLOY_TIMEOUT", 2)
    for stage in staged(tmp_path):
        set_deploy(stage.project, "sleep 60 & echo $! > copier.pid; wait")
        stage.add_post("hips", "2026-12-01 09:00", instagram="false", facebook="false")
        publish.publish_due(stage.config, at("2026-12-01T09:05"))
        copier = int((stage.project.root / "copier.pid").read_text())
        stopped = not running(copier)
        if not stopped:
            os.kill(copier, signal.SIGKILL)
        assert stopped, "the deploy's copy goes on"
        record = stage.records()["hips/website"]
        assert record.state == RETRY
        assert "the deploy command took more than 2 s and was stopped" in record.last_error
        assert "run it by hand, as the service's user, to see where it waits" in record.last_error


# A deploy that ends at once, leaving two jobs: one in its group that keeps its output open
# (`rsync ... &`), and one gone off as a daemon in a session of its own, its output on
# /dev/null (as ssh's ControlMaster does with ControlPersist). Each notes its process id.
LEAVES_JOBS = """#!/bin/sh
sleep 600 &
echo $! > copier.pid
setsid sh -c 'echo $$ > daemon.pid; exec sleep 601' </dev/null >/dev/null 2>&1 &
while [ ! -s daemon.pid ]; do sleep 0.1; done
echo copied
"""


def test_what_a_failing_command_started_and_ends_by_itself_is_no_job_left(tmp_path):
    """A failing rsync exits before the processes it started, which end a moment later: each
    failed deploy said it "left rsync ... running" and told the engineer to make the command
    wait for its jobs. What ends by itself within half a second is not said; what goes on
    is stopped and said, as before."""
    from publisher.deploy import run_whole

    ending = run_whole("(sleep 0.2) & exit 3", tmp_path, dict(os.environ), timeout=30)
    assert (ending.returncode, ending.stopped, ending.unstoppable) == (3, [], [])
    staying = run_whole("sleep 30 & exit 3", tmp_path, dict(os.environ), timeout=30)
    assert staying.returncode == 3 and staying.stopped == ["sleep 30"], staying


def test_a_deploy_that_leaves_a_job_running_ends_and_the_job_is_stopped(tmp_path):
    """A deploy command that exits 0 with a job left behind held the pass until its time
    limit (10 minutes) on the output the job kept open, then failed; a job that left the
    group went on after the pass, free to read public/ while other builds swap it. The pass
    now ends with the command, and stops what it left, saying so."""
    from .publishing import staged

    for stage in staged(tmp_path):
        root = stage.project.root
        (root / "deploy.sh").write_text(LEAVES_JOBS)
        (root / "deploy.sh").chmod(0o755)
        set_deploy(stage.project, "./deploy.sh")
        stage.add_post("hips", "2026-12-01 09:00", instagram="false", facebook="false")
        started = time.monotonic()
        try:
            done = stage.run("2026-12-01T09:05", timeout=120)
        finally:
            jobs = [int((root / name).read_text()) for name in ("copier.pid", "daemon.pid")]
            left = [pid for pid in jobs if running(pid)]
            for pid in left:
                os.kill(pid, signal.SIGKILL)
        assert time.monotonic() - started < 60, "the pass waited for the job"
        assert left == [], "the deploy's jobs go on"
        assert done.returncode == 0, done.stdout + done.stderr
        said = done.stdout + done.stderr
        assert "the deploy command ended but left sleep 600, sleep 601 running: stopped" in said
        assert f"nothing goes on reading {stage.config.output_dir}" in said
        assert "deployed: ./deploy.sh" in said
        assert stage.records()["hips/website"].state == "published"


def test_status_says_a_deploy_is_running_since_when_and_what_waits_for_it(tmp_path):
    """While a deploy command ran (up to its 10-minute limit), `publisher status` showed the
    article and its Facebook post as `due`, as if no pass were at work, and nothing of the
    deploy. It now says a deploy is running, since when, and that the due deliveries wait
    for it; once it ends it no longer does. A deploy whose pass died by kill -9 runs on by
    itself, and is said as such until it ends."""
    from datetime import datetime, timedelta

    from .publishing import NY, staged

    now = datetime.now(NY).replace(second=0, microsecond=0)
    date = f"{now - timedelta(minutes=5):%Y-%m-%d %H:%M}"
    for stage in staged(tmp_path):
        root = stage.project.root
        set_deploy(stage.project, "touch deploying; until [ -e go ]; do sleep 0.1; done")
        for ending in ("ends", "killed"):
            stage.add_post(ending, date, instagram="false", facebook=f"\n  at: {date}")
            (root / "go").unlink(missing_ok=True)
            (root / "deploying").unlink(missing_ok=True)
            passing = stage.start(f"{now:%Y-%m-%dT%H:%M}")
            try:
                wait_for(root / "deploying", passing)
                status = stage.command("status")
                if ending == "killed":
                    passing.kill()
                    passing.wait(60)
                    # its deploy runs on by itself (it holds the deploy's lock): still said
                    orphan = stage.command("status").stdout
                    assert "A deploy is running" in orphan, orphan
                    assert "That pass was killed before it ended, so it runs on" in orphan
            finally:
                (root / "go").touch()
                passed, err = passing.communicate(timeout=120)
            rows = {
                line.split()[3]: line
                for line in status.stdout.splitlines()
                if line.split()[4:5] == [ending]
            }
            after = stage.command("status").stdout

            assert status.returncode == 0, status.stderr
            assert "A deploy is running: the publishing pass of process " in status.stdout
            assert f"{passing.pid} started [site] deploy_command at {now:%Y-%m-%d}" in status.stdout
            assert "The due deliveries wait for it" in status.stdout
            assert "the deploy command running since" in rows["website"], status.stdout
            assert "goes out once the deploy command running since" in rows["facebook"]
            assert "A deploy is running" not in after, after
            if ending == "ends":
                assert passing.returncode == 0, passed + err
                assert stage.records()["ends/facebook"].state == "published"


def test_check_says_an_empty_posts_folder_is_refused_not_that_all_is_well(project):
    """With the posts disk not mounted (an empty folder), `check` said 'All posts and
    config.toml look good' while every build and pass refused to run."""
    write_posts(project, 1, "first")
    assert (
        publisher(project, "build", "--now", "2026-11-01T09:00", "--output", "public").wait(120)
        == 0
    )
    (project.posts / "p00.md").unlink()
    process = publisher(project, "check")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    assert f"the posts folder {project.posts} holds no posts" in err
    assert "look good" not in out + err


@pytest.mark.parametrize("build", [("build",), ("build", "--output", "public")])
def test_check_says_an_empty_posts_folder_is_refused_after_public_was_deleted(project, build):
    """With `public/` deleted by hand as well, the passes still refused (they count the
    articles in what the build cache remembers of the site), but `check` looked only in
    the folder and said 'All posts and config.toml look good'. It reads the cache too, and
    leaves it as it was. A site built with `--output public` (as typed, relative to where
    the command ran) is the same folder, and remembered as such."""
    write_posts(project, 2, "first")  # (dated before this release was written)
    assert publisher(project, *build).wait(120) == 0
    for n in range(2):
        (project.posts / f"p{n:02d}.md").unlink()
    shutil.rmtree(project.output)
    cache = tree(project.root / ".cache")
    process = publisher(project, "check")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    assert f"the posts folder {project.posts} holds no posts" in err
    assert "the website built into public has 2 article(s)" in err
    assert "look good" not in out + err
    assert tree(project.root / ".cache") == cache
    shutil.rmtree(project.root / ".cache")  # nothing remembers the site: nothing to refuse
    process = publisher(project, "check")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and "look good" in err, out + err
    assert not (project.root / ".cache").exists()


def test_check_says_the_posts_folder_is_missing_not_that_all_is_well(project):
    """Staff run `publisher check` first: with the posts folder gone it said 'All posts
    and config.toml look good' (exit 0) while every build and pass refused to run."""
    write_posts(project, 1, "first")
    project.posts.rename(project.root / "posts-aside")
    process = publisher(project, "check")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    assert f"the posts folder {project.posts} is missing" in err
    assert "look good" not in out + err


def test_a_deploy_left_running_by_a_killed_pass_is_not_started_twice(tmp_path):
    """kill -9 of a pass in the middle of its deploy left the deploy running (it is in a
    session of its own); the next pass started a second one beside it, two rsyncs writing
    to one place. The deploy holds a lock file while any process of it runs: the next pass
    finds it held, says so, and deploys once it has ended."""
    from .publishing import staged

    for stage in staged(tmp_path):
        root = stage.project.root
        set_deploy(
            stage.project,
            "echo start >> runs; touch deploying; until [ -e go ]; do sleep 0.1; done; "
            "echo end >> runs",
        )
        stage.add_post("hips", "2026-12-01 09:00", instagram="false", facebook="false")
        passing = stage.start("2026-12-01T09:05")
        try:
            wait_for(root / "deploying", passing)
            passing.kill()
            passing.communicate(timeout=60)
            second = stage.run("2026-12-01T09:06")
        finally:
            (root / "go").touch()
        said = second.stdout + second.stderr
        assert (
            "a deploy begun by an earlier pass (one killed before it ended, say) is still " in said
        )
        assert (root / "runs").read_text().splitlines() in (["start"], ["start", "end"])
        deadline = time.monotonic() + 60
        while (root / "runs").read_text().splitlines() != ["start", "end"]:
            assert time.monotonic() < deadline, "the first deploy never ended"
            time.sleep(0.1)
        third = stage.run("2026-12-01T09:30")
        assert third.returncode == 0, third.stdout + third.stderr
        assert (root / "runs").read_text().splitlines() == ["start", "end"] * 2
        assert stage.records()["hips/website"].state == "published"
