"""The server's side of durability: builds and passes that overlap, folders that vanish,
full disks. Real processes, real files, real SQLite."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
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
