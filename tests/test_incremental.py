"""Builds that reuse earlier work: the cache is invalidated by content, templates and config,
never by the clock, and every shortcut gives the same site as a build from scratch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import publisher.build as build_module
from publisher.build import build_site
from publisher.exceptions import ContentError
from publisher.ledger import Ledger
from publisher.output import MARKER, wait_for_spare

from .conftest import BASE_CONFIG, REPO

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY)


def stamps(project) -> dict[str, tuple[int, int]]:
    return {
        p: (os.stat(project.output / p).st_mtime_ns, os.stat(project.output / p).st_ino)
        for p in project.files()
    }


def tree_of(folder) -> dict[str, int]:
    """Every file under folder (the marker aside) by the inode it is: links to one file match."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_ino
        for p in folder.rglob("*")
        if p.is_file() and p.name != MARKER
    }


def assert_same_as_a_clean_build(project, make_project) -> None:
    """The project's site is what a first build of the same posts makes."""
    clean = make_project()
    shutil.rmtree(clean.posts)
    shutil.copytree(project.posts, clean.posts)
    build_site(clean.config, NOW)
    assert project.files() == clean.files()


def many_posts(project, count: int) -> None:
    project.image("images/photo.jpg")
    for n in range(count):
        project.post(
            f"p{n:03d}.md",
            f"title: Post {n}\ndate: 2026-10-{1 + n % 28:02d} 09:{n % 60:02d}\n"
            f"image: images/photo.jpg\nimage_alt: A photo\ntags: [t{n % 3}]",
            f"Article {n}.\n\n## Part\n\n- one\n- two\n",
        )


def test_nothing_changed_means_nothing_rewritten(project):
    many_posts(project, 12)
    first = build_site(project.config, NOW)
    before = stamps(project)
    for _ in range(2):
        again = build_site(project.config, NOW)
        assert again.stats.changed == 0 and again.stats.unchanged == first.stats.files
        assert stamps(project) == before


def test_one_post_changed_gives_the_same_site_as_a_clean_build(make_project):
    project = make_project()
    many_posts(project, 12)
    build_site(project.config, NOW)
    before = stamps(project)
    edited = project.posts / "p003.md"
    edited.write_text(edited.read_text().replace("Article 3.", "Article three, edited."))
    result = build_site(project.config, NOW)
    assert 1 <= result.stats.changed <= 5  # its page, the lists that show it, the marker
    after = stamps(project)
    unchanged = [p for p in before if p in after and before[p] == after[p]]
    assert len(unchanged) >= len(before) - 5
    # A second project with the same posts, built from scratch, has identical files.
    assert_same_as_a_clean_build(project, make_project)


def test_an_update_date_added_alone_reaches_the_page_feed_and_sitemap(make_project):
    project = make_project()
    many_posts(project, 4)
    build_site(project.config, NOW)
    edited = project.posts / "p002.md"
    edited.write_text(edited.read_text().replace("tags: [t2]", "tags: [t2]\nupdated: 2026-11-25"))
    result = build_site(project.config, NOW)
    assert result.stats.changed >= 3  # the page, the feed, the sitemap
    files = project.files()
    assert b"2026-11-25T00:00:00-05:00" in files["feed.xml"]
    assert b"2026-11-25T00:00:00-05:00" in files["sitemap.xml"]
    assert_same_as_a_clean_build(project, make_project)


# What vim, emacs, GNOME's editors and LibreOffice leave beside a file while it is open
EDITORS_FILES = [
    ".NAME.swp",
    ".NAME.swx",
    "4913",
    ".#NAME",
    "#NAME#",
    "NAME~",
    ".goutputstream-X1Y2Z3",
    ".~lock.NAME#",
    "sedX1y2Z3",  # sed -i's copy
]


def test_an_editors_passing_files_are_not_the_site_nor_a_change_to_it(project, tmp_path):
    """A template or a post open in an editor leaves its swap, lock and backup files in the
    folder: they are not published (a swap file holds the text and who edits it) and are
    no change, so neither a build nor a publishing pass does anything for them."""
    from publisher.publish import site_fingerprint, source_inputs

    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text)
    project.post("a.md", "title: A\ndate: 2026-01-01")
    first = build_site(project.config, NOW)
    files = set(project.files())
    config = project.config
    inputs = source_inputs(config), site_fingerprint(config, NOW, [], [])
    for folder, name in (
        (templates / "site" / "static", "style.css"),
        (templates / "site", "post.html"),
        (project.posts, "a.md"),
    ):
        for scratch in EDITORS_FILES:
            (folder / scratch.replace("NAME", name)).write_text("b0VIM 9.0 jo@clinic-pc")
    again = build_site(project.config, NOW)
    assert again.stats.changed == 0 and again.stats.files == first.stats.files
    assert set(project.files()) == files  # nothing of theirs under static/
    assert (source_inputs(config), site_fingerprint(config, NOW, [], [])) == inputs


def test_edited_template_or_config_changes_the_output(project, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text)
    project.post("a.md", "title: A\ndate: 2026-01-01")
    build_site(project.config, NOW)
    page = project.output / "posts/a/index.html"
    assert "Written with care" not in page.read_text()
    footer = templates / "site" / "base.html"
    footer.write_text(
        footer.read_text().replace(
            '<footer class="site-footer">', '<footer class="site-footer">Written with care'
        )
    )
    build_site(project.config, NOW)
    assert "Written with care" in page.read_text()
    project.config_path.write_text(
        project.config_path.read_text().replace('title = "Test Clinic"', 'title = "Calm Clinic"')
    )
    build_site(project.config, NOW)
    assert "Calm Clinic" in page.read_text()


def test_a_new_base_url_reaches_every_address_of_every_page(project):
    project.post("a.md", "title: A\ndate: 2026-01-01")
    build_site(project.config, NOW)
    project.config_path.write_text(
        project.config_path.read_text().replace(
            '"https://clinic.example"', '"https://www.clinic.example/blog"'
        )
    )
    build_site(project.config, NOW)  # the compiled templates are in the cache by now
    for page in ("index.html", "posts/a/index.html", "404.html", "tags/index.html"):
        text = (project.output / page).read_text()
        assert 'href="/blog/static/style.css"' in text, page
        assert 'href="https://www.clinic.example/blog/feed.xml"' in text, page
        assert "https://clinic.example" not in text and 'href="/static/' not in text, page


def test_the_cache_is_safe_to_delete(project):
    many_posts(project, 5)
    build_site(project.config, NOW)
    files = project.files()
    shutil.rmtree(project.config.cache_dir)
    build_site(project.config, NOW)
    assert project.files() == files
    # A damaged index is a miss, not an error.
    shutil.rmtree(project.config.cache_dir)
    project.config.cache_dir.mkdir()
    (project.config.cache_dir / "build-index.sqlite").write_bytes(b"not a database at all")
    build_site(project.config, NOW)
    assert project.files() == files


def test_time_moving_either_way_is_never_served_from_a_stale_build(project):
    project.post("now.md", "title: Now\ndate: 2026-11-01")
    project.post("later.md", "title: Later\ndate: 2026-12-05 10:00")
    build_site(project.config, NOW)
    assert "posts/later/index.html" not in project.files()
    build_site(project.config, datetime(2026, 12, 5, 10, 0, tzinfo=NY))
    assert "posts/later/index.html" in project.files()
    build_site(project.config, NOW)
    assert "posts/later/index.html" not in project.files()


def test_parallel_and_serial_builds_agree(make_project, monkeypatch):
    serial, parallel = make_project(), make_project()
    for project in (serial, parallel):
        many_posts(project, 70)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 10_000)
    monkeypatch.setattr(build_module, "LIST_PARALLEL_MIN", 10_000)
    build_site(serial.config, NOW)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 8)
    monkeypatch.setattr(build_module, "LIST_PARALLEL_MIN", 2)
    calls, real_fork_map = [], build_module.fork_map

    def counted(work, count, workers, start=None, meanwhile=None):
        calls.append(count)
        return real_fork_map(work, count, workers, start, meanwhile)

    monkeypatch.setattr(build_module, "fork_map", counted)
    build_site(parallel.config, NOW)
    assert serial.files() == parallel.files()
    assert len(calls) == 2  # the posts, then the list pages, in worker processes


def test_a_build_in_a_process_running_threads_does_not_fork_it(make_project, monkeypatch):
    """The service runs threads: its builds use multiprocessing's forkserver for the posts
    and render the lists in the process, and give the same site."""
    import threading

    serial, threaded = make_project(), make_project()
    for project in (serial, threaded):
        many_posts(project, 70)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 10_000)
    build_site(serial.config, NOW)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 8)
    monkeypatch.setattr(build_module, "LIST_PARALLEL_MIN", 2)

    def refuse(*args, **kwargs):
        raise AssertionError("forked a process that runs threads")

    monkeypatch.setattr(build_module, "fork_map", refuse)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        build_site(threaded.config, NOW)
    finally:
        stop.set()
        other.join()
    assert serial.files() == threaded.files()


def test_a_first_build_renders_no_article_twice_for_the_feed(make_project, monkeypatch):
    """Each chunk of work keeps the HTML of its newest posts, so the feed (the newest of
    all) finds every article made, in whichever worker it was."""
    import feedparser

    from .conftest import WEBSITE_ONLY

    project = make_project(
        base=WEBSITE_ONLY.replace("posts_per_page", "feed_entries = 5\nposts_per_page")
    )
    many_posts(project, 40)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 8)  # posts in workers, lists here
    monkeypatch.setattr(build_module, "LIST_PARALLEL_MIN", 10_000)
    rendered_here: list[str] = []
    real_plan = build_module.plan_post

    def counted(post, *args, **kwargs):
        rendered_here.append(post.display)
        return real_plan(post, *args, **kwargs)

    monkeypatch.setattr(build_module, "plan_post", counted)
    build_site(project.config, NOW)
    assert rendered_here == []
    feed = feedparser.parse((project.output / "feed.xml").read_bytes())
    assert len(feed.entries) == 5
    assert all("<h2" in entry.content[0].value for entry in feed.entries)


def test_workers_get_smaller_chunks_towards_the_end():
    """Each post once, in order, in chunks that shrink, so the workers finish together."""
    paths = [Path(f"p{n}.md") for n in range(1000)]
    spans = build_module._spans(paths, 2)
    assert [p for span in spans for p in span] == paths
    sizes = [len(span) for span in spans]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == 250 and sizes[-1] <= 16
    assert [len(s) for s in build_module._spans(paths[:20], 2)] == [16, 4]


def test_a_parallel_build_makes_the_list_cards_while_the_pages_come_back(make_project, monkeypatch):
    from publisher.buildcache import BuildIndex, environment_fingerprint
    from publisher.files import snapshot

    project = make_project()
    many_posts(project, 20)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 8)
    environment = environment_fingerprint(project.config)
    index = BuildIndex(project.config.cache_dir, environment)
    try:
        with snapshot():
            state = build_module.gather(project.config, NOW, index)
    finally:
        index.close()
    renderer = build_module._renderer_for(project.config, environment)
    cards = [p.page.card for p in state.prepared.values() if p.page is not None]
    assert len(cards) == 20
    # made by this process as the workers sent the pages, ready for the list renderers
    assert set(renderer._cards) == {(c.key, c.path) for c in cards}
    build_site(project.config, NOW)
    assert renderer._cards == {}  # a build's cards are not kept after it (the service)


def test_instagram_images_only_for_deliveries_that_can_still_go_out(make_project):
    project = make_project(base=BASE_CONFIG)
    project.image("images/photo.jpg", (1200, 900))
    photo = "image: images/photo.jpg\nimage_alt: A photo"
    project.post("archive.md", f"title: Archive\ndate: 2025-01-01\n{photo}")
    project.post("pending.md", f"title: Pending\ndate: 2026-12-01 08:00\n{photo}")
    build_site(project.config, NOW)
    files = project.files()
    assert "posts/archive/instagram.jpg" not in files  # missed long ago: no image made
    assert "posts/pending/instagram.jpg" in files  # due at 11:00: Instagram will fetch it
    made = list((project.config.cache_dir / "instagram").rglob("*.jpg"))
    assert len(made) == 1
    with Ledger(project.config.ledger_path) as ledger:
        record = ledger.ensure("pending", "instagram", "posts/pending.md", NOW, NOW)
        record = ledger.begin(record, NOW, "container", {"caption": "x"}, "h")
        ledger.published(record, NOW, "1", "https://instagram.example/p/1")
    build_site(project.config, NOW)
    assert "posts/pending/instagram.jpg" not in project.files()


def test_images_are_linked_not_copied_again(project):
    many_posts(project, 3)
    build_site(project.config, NOW)
    first = os.stat(project.output / "posts/post-0/photo.jpg")
    project.post("new.md", "title: New\ndate: 2026-11-30")
    build_site(project.config, NOW)
    second = os.stat(project.output / "posts/post-0/photo.jpg")
    assert (first.st_ino, first.st_mtime_ns) == (second.st_ino, second.st_mtime_ns)


def test_an_interrupted_update_leaves_the_site_and_the_next_build_right(make_project, monkeypatch):
    import publisher.output as output_module

    project = make_project()
    many_posts(project, 10)
    build_site(project.config, NOW)
    edited = project.post("p001.md", "title: Post one, edited\ndate: 2026-10-02 09:01\ntags: [t1]")
    build_site(project.config, NOW)  # the spare copy now holds the older site
    before = project.files()
    edited.write_text(edited.read_text().replace("edited", "edited again"))
    project.post("new.md", "title: Brand new\ndate: 2026-11-30\ntags: [t1]")
    real_link, calls = output_module._link, []

    def failing_link(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        real_link(source, target)

    monkeypatch.setattr(output_module, "_link", failing_link)
    with pytest.raises(OSError, match="disk full"):
        build_site(project.config, NOW)
    assert project.files() == before
    monkeypatch.setattr(output_module, "_link", real_link)
    build_site(project.config, NOW)
    assert_same_as_a_clean_build(project, make_project)


def test_cache_entries_come_back_exactly_as_they_were_kept(project):
    """The compact form of the build cache gives back equal objects, every field."""
    from publisher.buildcache import BuildIndex, environment_fingerprint
    from publisher.buildcodec import PICKLE, decode, encode

    project.image("images/photo.jpg")
    project.post(
        "full.md",
        "title: Every field\ndate: 2026-11-01T07:30:00-08:00\nslug: every-field\nauthor: Ann\n"
        "summary: A summary.\nimage: images/photo.jpg\nimage_alt: A photo\ntags: [a, Bb]\n"
        "updated: 2026-11-04 16:00\n"
        "facebook:\n  at: 2026-11-02 12:00\n  message: Hello\n"
        "instagram:\n  at: 2026-11-03 12:00\n  caption: Hi\n  hashtags: [one, two]",
    )
    project.post("off.md", "title: Off\ndate: 2026-11-05 09:00\nfacebook: false\ninstagram: false")
    project.post("broken.md", "title: Broken\ndate: not a date")
    build_site(project.config, NOW)
    config = project.config
    index = BuildIndex(config.cache_dir, environment_fingerprint(config))
    try:
        kept = index.load_all()
    finally:
        index.close()
    assert sorted(kept) == ["posts/broken.md", "posts/full.md", "posts/off.md"]
    full = kept["posts/full.md"]
    assert full.post.date == datetime(2026, 11, 1, 10, 30, tzinfo=NY)  # 07:30 at -08:00
    assert full.post.facebook.at.tzinfo is config.tz and full.post.instagram.hashtags
    assert full.post.updated == datetime(2026, 11, 4, 16, tzinfo=NY)
    assert full.page.card.post.updated == full.post.updated
    assert full.page is not None and full.page.card.image is not None
    assert kept["posts/broken.md"].problems and kept["posts/broken.md"].post is None
    for entry in kept.values():
        parts = (entry.depends, entry.post, entry.problems, entry.page)
        blob = encode(*parts)
        assert blob[:1] == b"M"
        again = decode(blob)
        assert again[0] == parts[0] and again[1] == parts[1] and again[3] == parts[3]
        assert [str(e) for e in again[2]] == [str(e) for e in parts[2]]
        if entry.post is not None:
            assert again[1].lines == entry.post.lines
    # A value the compact form does not know is kept with pickle, not lost.
    # Times keep their zone, offset and fold (the repeated hour when clocks go back).
    from datetime import timedelta, timezone

    from publisher.buildcodec import _from_when, _when

    for moment in (
        datetime(2026, 11, 1, 1, 30, tzinfo=NY, fold=1),
        datetime(2026, 3, 1, 7, 30, 5, 12, tzinfo=timezone(timedelta(hours=-8))),
    ):
        back = _from_when(_when(moment))
        assert (back, back.utcoffset(), back.fold) == (moment, moment.utcoffset(), moment.fold)
    # A card whose facts differ from its post's (not made by a build) is kept as it is.
    from dataclasses import replace

    odd_card = replace(full.page.card, post=replace(full.page.card.post, title="Other"))
    odd_page = replace(full.page, card=odd_card)
    assert decode(encode(full.depends, full.post, [], odd_page))[3] == odd_page
    unusual = encode({"p": (1, 2, 3)}, None, [], full.page.card)  # a Card where a page goes
    assert unusual[:1] == PICKLE and decode(unusual)[3] == full.page.card


def test_article_html_is_kept_only_for_the_feed(make_project):
    """The feed's newest posts carry their article; older posts cost no extra cached file,
    and a feed file lost from the cache is made again from the post when the feed is
    rendered again (not when it shows the same as before)."""
    import feedparser

    from publisher.buildcache import BuildIndex, environment_fingerprint

    from .conftest import WEBSITE_ONLY

    project = make_project(
        base=WEBSITE_ONLY.replace("posts_per_page", "feed_entries = 3\nposts_per_page")
    )
    many_posts(project, 6)
    build_site(project.config, NOW)
    index = BuildIndex(project.config.cache_dir, environment_fingerprint(project.config))
    try:
        pages = {d: p.page for d, p in index.load_all().items()}
    finally:
        index.close()
    made = {d for d, page in pages.items() if os.path.exists(page.html_blob)}
    first_feed = (project.output / "feed.xml").read_bytes()
    feed = feedparser.parse(first_feed)
    assert len(feed.entries) == 3 and len(made) == 3
    newest = sorted(pages.values(), key=lambda p: p.card.post.date)[-3:]
    assert made == {p.card.post.display for p in newest}
    for entry in feed.entries:
        assert "<h2" in entry.content[0].value and "Part" in entry.content[0].value
    for page in newest:
        os.unlink(page.html_blob)
    os.utime(project.posts / "p000.md", ns=(10**18, 10**18))  # a new build, the same text
    build_site(project.config, NOW)
    assert not any(os.path.exists(page.html_blob) for page in newest)  # the feed was kept
    assert (project.output / "feed.xml").read_bytes() == first_feed
    # a newer post: the feed is made again, with the two lost articles made from their posts
    project.post("p999.md", "title: Newest\ndate: 2026-10-30 09:00", "The newest.\n\n## Part\n")
    build_site(project.config, NOW)
    assert [os.path.exists(page.html_blob) for page in newest] == [False, True, True]
    again = feedparser.parse((project.output / "feed.xml").read_bytes())
    assert [e.title for e in again.entries] == ["Newest", *(e.title for e in feed.entries[:2])]
    assert [e.content[0].value for e in again.entries[1:]] == [
        e.content[0].value for e in feed.entries[:2]
    ]


def test_what_the_output_holds_is_remembered_exactly():
    from publisher.output import TreeMemory

    output = {"index.html": "/c/blobs/ab/abc", "a b/é.jpg": "/c/images/cd/cde.jpg"}
    spare = {"index.html": "/elsewhere/x", "feed.xml": "/c/blobs/ef/efg"}
    for memory in (
        TreeMemory(output, "id1", spare, "id2"),
        TreeMemory(output, "id1"),
        TreeMemory(),
        TreeMemory({}, "", None, ""),
        TreeMemory(output, "id1", dict(output), "id1"),  # after a first build: kept once
    ):
        assert TreeMemory.from_bytes(memory.to_bytes()) == memory
    both = TreeMemory(output, "id1", dict(output), "id1")
    assert len(both.to_bytes()) <= len(TreeMemory(output, "id1", None, "id1").to_bytes()) + 8
    read = TreeMemory.from_bytes(both.to_bytes())
    assert read.spare is not read.output  # two trees, changed apart from each other
    # After an update the spare holds the site before it: a few files differ, and only
    # those are kept of it (a page changed, one added, one taken off).
    site = {f"posts/p{n}/index.html": f"/c/blobs/{n:02}/{n:064}" for n in range(100)}
    before = dict(site)
    before["posts/p1/index.html"] = "/c/blobs/zz/older"
    del before["posts/p2/index.html"]
    before["posts/gone/index.html"] = "/c/blobs/yy/gone"
    updated = TreeMemory(site, "new", before, "old")
    again = TreeMemory.from_bytes(updated.to_bytes())
    assert again == updated and again.spare is not again.output
    assert len(updated.to_bytes()) < len(TreeMemory(site, "new").to_bytes()) * 1.2


def test_a_first_build_links_pages_as_it_renders_them_and_ends_the_same(make_project, monkeypatch):
    """With no site yet, posts are linked into the new site by the processes that render
    them; the site is the same as one made the usual way, duplicate slugs included."""

    def posts(project):
        many_posts(project, 70)
        project.post("zz-same.md", "title: Post 5\ndate: 2026-10-09 09:00")  # slug post-5 again

    staged: list[str] = []
    real_stage = build_module.stage_files

    def counting(staging, folder, files):
        staged.append(folder)
        real_stage(staging, folder, files)

    monkeypatch.setattr(build_module, "stage_files", counting)
    in_process, in_workers, usual = make_project(), make_project(), make_project()
    for project in (in_process, in_workers, usual):
        posts(project)
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 10_000)
    result = build_site(in_process.config, NOW)
    assert len(staged) == 71 and len(set(staged)) == 70  # post-5 twice
    assert result.published == 70 and len(result.problems) == 1
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 8)
    build_site(in_workers.config, NOW)
    # A spare folder already there: nothing is staged, the usual way.
    staged.clear()
    usual.output.with_name(f".{usual.output.name}.previous").mkdir(parents=True)
    build_site(usual.config, NOW)
    assert staged == []
    assert in_process.files() == usual.files() == in_workers.files()
    # No old site came out of the swap: the spare is made a copy of the new one meanwhile.
    wait_for_spare(in_process.output)
    spare = in_process.output.with_name(f".{in_process.output.name}.previous")
    assert tree_of(spare) == tree_of(in_process.output)


def test_a_first_build_that_fails_half_way_leaves_no_site_and_the_next_one_is_right(
    make_project, monkeypatch
):
    project = make_project()
    many_posts(project, 6)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    real = build_module.site_manifest
    monkeypatch.setattr(build_module, "site_manifest", broken)
    with pytest.raises(OSError, match="disk full"):
        build_site(project.config, NOW)
    assert not project.output.exists()  # pages were staged beside it, never in it
    monkeypatch.setattr(build_module, "site_manifest", real)
    build_site(project.config, NOW)
    clean = make_project()
    many_posts(clean, 6)
    build_site(clean.config, NOW)
    assert project.files() == clean.files()


def test_the_compact_cache_form_knows_every_field_of_what_it_keeps():
    """A field added to these classes must be added to the compact form (and CACHE_FORMAT
    bumped); otherwise every entry silently falls back to the slow pickle form."""
    import dataclasses

    from publisher.build import PageResult
    from publisher.buildcodec import _FIELDS
    from publisher.content import ChannelOptions, Post
    from publisher.render.markdown import ImageRef
    from publisher.render.site import Card, CardPost

    for kind in (Post, ChannelOptions, PageResult, Card, CardPost, ImageRef):
        assert tuple(f.name for f in dataclasses.fields(kind)) == _FIELDS[kind.__name__]


def spare_marker(project) -> str:
    marker = project.output.with_name(f".{project.output.name}.previous") / MARKER
    return marker.read_text() if marker.exists() else ""


def test_after_a_first_build_the_spare_copy_is_made_in_the_background(make_project):
    """The first update after a first build does not have to copy the whole site first: the
    copy is made (by a detached process) after the build returns, marked as this build's."""
    project = make_project()
    many_posts(project, 30)
    build_site(project.config, NOW)
    wait_for_spare(project.output)
    spare = project.output.with_name(f".{project.output.name}.previous")
    assert tree_of(spare) == tree_of(project.output)
    assert spare_marker(project) == (project.output / MARKER).read_text()
    # The next update starts from that copy: only what changed is linked into it.
    linked: list[str] = []
    real_link = os.link

    def counting(source, target, *args, **kwargs):
        if not str(target).startswith(str(project.config.cache_dir)):  # a site file
            linked.append(str(target))
        return real_link(source, target, *args, **kwargs)

    edited = project.posts / "p003.md"
    edited.write_text(edited.read_text().replace("Article 3.", "Article three, edited."))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "link", counting)
        build_site(project.config, NOW)
    assert 1 <= len(linked) <= 6, linked  # the page, the lists showing it (not all 60 files)
    assert_same_as_a_clean_build(project, make_project)


def test_an_update_right_after_a_first_build_waits_for_the_copy_and_is_right(make_project):
    project = make_project()
    many_posts(project, 40)
    build_site(project.config, NOW)
    edited = project.posts / "p007.md"  # no waiting: the copy may still be being made
    edited.write_text(edited.read_text().replace("Article 7.", "Article seven, edited."))
    build_site(project.config, NOW)
    project.post("p100.md", "title: Another\ndate: 2026-11-02\ntags: [t1]")
    build_site(project.config, NOW)
    assert_same_as_a_clean_build(project, make_project)
    assert "Article seven, edited." in (project.output / "posts/post-7/index.html").read_text()


def test_a_copy_cut_short_is_not_trusted(make_project, monkeypatch):
    """A background copy that never finished (the machine stopped) has no marker: the next
    update makes the spare again the usual way, and the site is right."""
    import publisher.output as output_module

    project = make_project()
    many_posts(project, 12)
    monkeypatch.setattr(output_module, "copy_spare_later", lambda *args: True)  # never copies
    build_site(project.config, NOW)
    spare = project.output.with_name(f".{project.output.name}.previous")
    (spare / "posts").mkdir()
    (spare / "posts" / "stray.html").write_text("half a copy")
    assert spare_marker(project) == ""
    project.post("p100.md", "title: Another\ndate: 2026-11-02\ntags: [t1]")
    build_site(project.config, NOW)
    assert_same_as_a_clean_build(project, make_project)


def test_the_command_returns_without_waiting_for_the_copy_and_holds_no_lock(project):
    """`publisher build` run by a script that reads its output: the background copy (made
    slow here) keeps neither the command's output pipe nor any other file of it open, such
    as a lock the command held."""
    import fcntl
    import subprocess
    import sys
    import time

    many_posts(project, 20)
    lock = project.root / "held.lock"
    script = (
        "import fcntl, os, time\n"
        "import publisher.output as output\n"
        "real = output._copy_tree\n"
        "output._copy_tree = lambda *args: (time.sleep(4), real(*args))\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "from publisher.cli import main\n"
        f"main(['--config', {str(project.config_path)!r}, 'build', '--now', '2026-12-01T09:00',"
        f" '--output', {str(project.output)!r}])\n"
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Built 20 post(s)" in result.stdout
    assert time.monotonic() - started < 4  # the output pipe closed with the command
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free though the copy is not done
    finally:
        os.close(fd)
    wait_for_spare(project.output)
    assert time.monotonic() - started >= 4
    spare = project.output.with_name(f".{project.output.name}.previous")
    assert tree_of(spare) == tree_of(project.output)


def test_where_the_file_system_has_no_locks_the_spare_is_made_the_usual_way(
    make_project, monkeypatch
):
    import errno

    import publisher.output as output_module

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(output_module.fcntl, "flock", no_locks)
    project = make_project()
    many_posts(project, 12)
    build_site(project.config, NOW)
    assert spare_marker(project) == ""  # no copy was started in the background
    project.post("p100.md", "title: Another\ndate: 2026-11-02\ntags: [t1]")
    build_site(project.config, NOW)
    assert_same_as_a_clean_build(project, make_project)


def test_the_spare_copy_starts_once_the_first_build_has_done_all_its_own_work(
    make_project, monkeypatch
):
    """The copy a first build makes in the background is a forked process, which shares the
    build's memory: every page the build writes while the copy runs is copied for it (0.1 s
    of a 1,000-post build). It starts once the build has written and closed its cache."""
    import publisher.output as output_module
    from publisher.build import LAST_BUILD
    from publisher.buildcache import remembered_state

    real = output_module.copy_spare_later
    seen: list[object] = []

    def watched(spare, manifest, build_id):
        seen.append(remembered_state(project.config.cache_dir, LAST_BUILD))
        return real(spare, manifest, build_id)

    monkeypatch.setattr(output_module, "copy_spare_later", watched)
    project = make_project()
    many_posts(project, 12)
    build_site(project.config, NOW)
    assert len(seen) == 1 and seen[0] is not None  # the build's last state was kept first
    wait_for_spare(project.output)
    assert spare_marker(project) == (project.output / MARKER).read_text()
    project.post("p100.md", "title: Another\ndate: 2026-11-02\ntags: [t1]")
    build_site(project.config, NOW)
    assert len(seen) == 1  # (an update swaps in the copy: none is made again)
    assert_same_as_a_clean_build(project, make_project)


def test_beside_threads_the_spare_copy_is_made_by_a_process_started_afresh(
    make_project, monkeypatch
):
    """In a process running other threads (the service, `serve`), where forking is not
    safe, the copy after a first build is made by a Python started afresh, not by a thread
    of the process: what it allocates is not left in the service's memory."""
    import threading

    import publisher.output as output_module

    def not_here(*args):
        raise AssertionError("the copy was made in this process")

    monkeypatch.setattr(output_module, "_copy_tree", not_here)
    waiting = threading.Event()
    other = threading.Thread(target=waiting.wait, daemon=True)
    other.start()
    try:
        project = make_project()
        many_posts(project, 12)
        build_site(project.config, NOW)
        wait_for_spare(project.output)
    finally:
        waiting.set()
        other.join()
    spare = project.output.with_name(f".{project.output.name}.previous")
    assert tree_of(spare) == tree_of(project.output)
    assert spare_marker(project) == (project.output / MARKER).read_text()
    for reaper in [t for t in threading.enumerate() if t.name == "spare copy"]:
        reaper.join(timeout=30)  # the process ends, and is waited for
        assert not reaper.is_alive()


def test_a_copy_is_made_in_the_background_only_into_an_empty_folder(tmp_path):
    from publisher.output import copy_spare_later

    blob = tmp_path / "blob"
    blob.write_text("page")
    spare = tmp_path / "spare"
    spare.mkdir()
    (spare / "old.html").write_text("left from an older site")
    assert copy_spare_later(spare, {"index.html": str(blob)}, "id") is False
    assert sorted(p.name for p in spare.iterdir()) == ["old.html"]
    assert copy_spare_later(tmp_path / "missing", {"index.html": str(blob)}, "id") is False


@pytest.mark.parametrize("unnamed", [True, False])
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_cached_files_are_readable_by_the_web_server_whatever_the_umask(tmp_path, umask, unnamed):
    # the site is hard links to the cache: a page the web server cannot read is a broken site
    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from pathlib import Path\n"
        "import publisher.cache\n"
        f"publisher.cache._LINK_UNNAMED[0] = publisher.cache._LINK_UNNAMED[0] and {unnamed}\n"
        "cache = publisher.cache.Cache(Path(sys.argv[1]))\n"
        "print(oct(cache.put('blobs', 'ab' * 32, b'page').stat().st_mode))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().endswith("644")


@pytest.mark.parametrize("unnamed_works", [True, False])
def test_a_cache_entry_is_stored_whole_either_way_and_once(tmp_path, monkeypatch, unnamed_works):
    from publisher import cache as cache_module

    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if not unnamed_works and flags & getattr(os, "O_TMPFILE", 0) == os.O_TMPFILE:
            raise OSError(95, "Operation not supported")  # EOPNOTSUPP: no O_TMPFILE here
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cache_module, "_LINK_UNNAMED", [hasattr(os, "O_TMPFILE")])
    monkeypatch.setattr(os, "open", refusing_open)
    cache = cache_module.Cache(tmp_path / "cache")
    first = cache.put("blobs", "cd" * 32, b"x" * 100_000)
    again = cache.put("blobs", "cd" * 32, b"x" * 100_000)  # already there: kept as it is
    monkeypatch.setattr(os, "open", real_open)
    assert first == again and first.read_bytes() == b"x" * 100_000
    assert os.listdir(first.parent) == [first.name]  # no temporary file left behind
    assert first.stat().st_nlink == 1
    assert cache_module._LINK_UNNAMED[0] == (unnamed_works and hasattr(os, "O_TMPFILE"))


@pytest.mark.parametrize("workers", [False, True])
@pytest.mark.parametrize(
    ("template", "after", "mistake", "message"),
    [
        ("post.html", "{% block main %}", "{% if %}", "Expected an expression"),  # compiling
        ("post.html", "{% block main %}", "{{ page.nosuch }}", "no attribute 'nosuch'"),
        ("tag.html", "{% block main %}", "{{ nosuch.thing }}", "'nosuch' is undefined"),
        ("_card.html", '<article class="card">', "{{ nosuch }}", "'nosuch' is undefined"),
    ],
)
def test_a_mistake_in_a_template_names_its_file_and_line(
    make_project, monkeypatch, template, after, mistake, message, workers
):
    project = make_project()
    templates = project.root / "templates"  # shown relative to config.toml's folder
    shutil.copytree(REPO / "templates", templates)
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text)
    many_posts(project, 12)
    path = templates / "site" / template
    lines = path.read_text().splitlines()
    at = next(n for n, line in enumerate(lines) if after in line) + 1
    lines.insert(at, mistake)
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 4 if workers else 10_000)
    monkeypatch.setattr(build_module, "LIST_PARALLEL_MIN", 2 if workers else 10_000)
    with pytest.raises(ContentError) as caught:
        build_site(project.config, NOW)
    assert str(caught.value).startswith(f"templates/site/{template}:{at + 1}: ")
    assert message in str(caught.value) and "fix the template" in str(caught.value)
    assert not project.output.exists()  # no half-made site
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), "build"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"templates/site/{template}:{at + 1}: " in done.stderr


def test_a_live_post_edited_into_a_problem_stays_on_the_site_until_fixed(project):
    """A slip in a published post's front matter must not take its page (linked from
    Facebook and Instagram) off the site: the last good version stays, the problem is
    reported, and the fix, a withdrawal or a deletion takes over."""
    good = "title: Shoulders\ndate: 2026-10-01 09:00\ntags: [neck]"
    source = project.post("shoulders.md", good, "The first version.\n")
    project.post("other.md", "title: Other\ndate: 2026-10-02 09:00", "Other text.\n")
    build_site(project.config, NOW)
    page = project.output / "posts/shoulders/index.html"
    assert "The first version." in page.read_text()

    project.post("shoulders.md", good.replace("[neck]", "[neck"), "Second.\n")
    broken = build_site(project.config, NOW)
    messages = [str(p) for p in broken.problems]
    assert any("a list that begins with [ is not closed" in m for m in messages)
    assert any("website keeps showing the post as it was" in m for m in messages)
    assert len(messages) == 1  # said with the problem, not counted as another
    assert "The first version." in page.read_text()
    listed = project.files()
    assert b"posts/shoulders/" in listed["index.html"] and b"posts/shoulders/" in listed["feed.xml"]
    assert b"posts/shoulders/" in listed["tags/neck/index.html"]
    assert build_site(project.config, NOW).stats.changed == 0  # and again, unchanged

    # fixed: the new version; broken again: the fixed version stays
    project.post("shoulders.md", good, "The fixed version.\n")
    build_site(project.config, NOW)
    assert "The fixed version." in page.read_text()
    project.post("shoulders.md", good.replace("date: ", "date: ["), "Third.\n")
    build_site(project.config, NOW)
    assert "The fixed version." in page.read_text()

    source.unlink()  # deleted: gone, as any deleted post
    build_site(project.config, NOW)
    assert not page.exists()


def test_a_photo_deleted_from_a_live_post_kept_as_it_was_leaves_the_site(project):
    """A live post whose photo file was deleted (a client withdrew consent) has a problem,
    so the site kept its page as it was, and the photo with it: deleting the photo did not
    take it off. The page stays (its links are out); the deleted photo goes, the others
    stay."""
    project.image("images/chin-tuck.jpg", (900, 600))
    project.image("images/desk.jpg", (900, 600), color="#345")
    front = "title: Desk\ndate: 2026-10-01 09:00\nimage: images/desk.jpg\nimage_alt: A desk"
    body = "Sit tall.\n\n![A chin tuck](images/chin-tuck.jpg)\n"
    project.post("desk.md", front, body)
    build_site(project.config, NOW)
    folder = project.output / "posts/desk"
    assert (folder / "chin-tuck.jpg").exists() and (folder / "desk.jpg").exists()

    (project.posts / "images/chin-tuck.jpg").unlink()
    broken = build_site(project.config, NOW)
    (message,) = [str(p) for p in broken.problems]
    assert "images/chin-tuck.jpg' in the text was not found" in message
    assert "keeps showing the post as it was, less any photo whose file is gone" in message
    assert (folder / "index.html").exists() and "Sit tall." in (folder / "index.html").read_text()
    assert not (folder / "chin-tuck.jpg").exists()
    assert (folder / "desk.jpg").exists()
    served = {p.name for p in project.output.rglob("chin-tuck*")}
    assert served == set(), served
    assert build_site(project.config, NOW).stats.changed == 0  # and again, unchanged


def test_a_kept_version_outlives_a_change_of_templates_or_config(project, tmp_path):
    """A live post whose file has a problem stays on the site as it was built, even when the
    templates or config.toml change before it is fixed: its links are out on Facebook and
    Instagram. The lists show it with the new templates; the fix brings the new page."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text)
    good = "title: Shoulders\ndate: 2026-10-01 09:00\ntags: [neck]"
    project.post("shoulders.md", good, "The first version.\n")
    project.post("other.md", "title: Other\ndate: 2026-10-02 09:00", "Other text.\n")
    build_site(project.config, NOW)
    page = project.output / "posts/shoulders/index.html"
    project.post("shoulders.md", good.replace("[neck]", "[neck"), "Second.\n")
    build_site(project.config, NOW)
    assert "The first version." in page.read_text()

    base = templates / "site" / "base.html"
    base.write_text(
        base.read_text().replace(
            '<footer class="site-footer">', '<footer class="site-footer">Written with care'
        )
    )
    result = build_site(project.config, NOW)
    assert any("keeps showing the post as it was" in str(p) for p in result.problems)
    assert "The first version." in page.read_text()  # the page as it was built
    assert "Written with care" in (project.output / "index.html").read_text()
    assert b"posts/shoulders/" in project.files()["index.html"]
    assert b"posts/shoulders/" in project.files()["tags/neck/index.html"]

    project.config_path.write_text(
        project.config_path.read_text().replace('title = "Test Clinic"', 'title = "The Clinic"')
    )
    build_site(project.config, NOW)
    assert "The first version." in page.read_text()
    assert "The Clinic" in (project.output / "index.html").read_text()

    project.post("shoulders.md", good, "The fixed version.\n")
    build_site(project.config, NOW)
    fixed = page.read_text()
    assert "The fixed version." in fixed and "Written with care" in fixed
    assert "The Clinic" in fixed


def test_a_kept_version_survives_a_pass_that_reads_posts_first(project):
    """publish --due reads the posts (without pages) before it builds: the good version is
    kept all the same."""
    from publisher.build import load_posts_cached

    good = "title: Hips\ndate: 2026-10-01 09:00"
    project.post("hips.md", good, "The good version.\n")
    build_site(project.config, NOW)
    project.post("hips.md", good + "\ntags: [hips", "Broken.\n")
    loaded = load_posts_cached(project.config, NOW)
    assert loaded.problems and not loaded.posts
    build_site(project.config, NOW)
    assert "The good version." in (project.output / "posts/hips/index.html").read_text()


def test_only_a_published_post_is_kept_and_a_withdrawal_is_not_a_problem(project):
    project.post("later.md", "title: Later\ndate: 2027-01-01 09:00", "Not yet.\n")
    project.post("live.md", "title: Live\ndate: 2026-10-01 09:00", "Live.\n")
    build_site(project.config, NOW)
    project.post("later.md", "title: Later\ndate: 2026-10-03 09:00\ntags: [a", "Now due.\n")
    build_site(project.config, NOW)
    assert "posts/later/index.html" not in project.files()  # never published: nothing kept
    project.post("live.md", "title: Live\ndate: 2026-10-01 09:00\ntags: [a", "Live.\n")
    build_site(project.config, NOW)
    assert "posts/live/index.html" in project.files()
    project.post("live.md", "title: Live\ndate: 2026-10-01 09:00\ndraft: true", "Live.\n")
    result = build_site(project.config, NOW)
    assert "posts/live/index.html" not in project.files()
    assert [p.path for p in result.problems] == ["posts/later.md"]  # nothing about live.md


def test_a_kept_version_keeps_its_address_from_a_new_post(project):
    """A new post never pushes a live one off the site, broken file or not (README)."""
    project.post("a.md", "title: Neck\ndate: 2026-10-01 09:00", "Old neck.\n")
    build_site(project.config, NOW)
    project.post("a.md", "title: Neck\ndate: 2026-10-01 09:00\ntags: [a", "x\n")
    project.post("b.md", "title: Neck\ndate: 2026-10-05 09:00", "New neck.\n")
    result = build_site(project.config, NOW)
    assert "Old neck." in (project.output / "posts/neck/index.html").read_text()
    assert any(
        p.path == "posts/b.md" and "slug 'neck' is already used by posts/a.md" in p.message
        for p in result.problems
    )
    (project.posts / "a.md").unlink()  # the old one goes: the new one takes the address
    build_site(project.config, NOW)
    assert "New neck." in (project.output / "posts/neck/index.html").read_text()


def test_a_kept_post_that_comes_into_the_feed_is_carried_by_its_description(make_project):
    """The feed's newest posts carry their article; a kept version whose article HTML was
    never kept (it was not among the newest then) cannot be rendered from its broken file:
    the feed gives its description and a link, and the build goes on."""
    import feedparser

    from .conftest import WEBSITE_ONLY

    project = make_project(
        base=WEBSITE_ONLY.replace("posts_per_page", "feed_entries = 2\nposts_per_page")
    )
    for n in range(4):
        project.post(
            f"p{n}.md",
            f"title: Post {n}\ndate: 2026-10-0{n + 1} 09:00\nsummary: About post {n}.",
            f"Article {n}.\n",
        )
    build_site(project.config, NOW)
    project.post("p0.md", "title: Post 0\ndate: 2026-10-01 09:00\ntags: [a", "Broken.\n")
    for n in (2, 3):
        (project.posts / f"p{n}.md").unlink()
    result = build_site(project.config, NOW)
    assert [p.path for p in result.problems] == ["posts/p0.md"]
    feed = feedparser.parse((project.output / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == ["Post 1", "Post 0"]
    kept = feed.entries[1].content[0].value
    assert "About post 0." in kept and "https://clinic.example/posts/post-0/" in kept
    assert "Article 1." in feed.entries[0].content[0].value


def test_the_cache_does_not_depend_on_how_the_config_path_is_written(project, monkeypatch):
    """`-c config.toml`, `./config.toml`, an absolute path or a linked folder: one config,
    one build cache (a new one would also drop the versions kept of broken live posts)."""
    from publisher.buildcache import environment_fingerprint
    from publisher.config import load_config

    link = project.root.parent / "linked-site"
    link.symlink_to(project.root)
    monkeypatch.chdir(project.root)
    spellings = [
        "config.toml",
        "./config.toml",
        str(project.root / "config.toml"),
        str(link / "config.toml"),
    ]
    assert len({environment_fingerprint(load_config(s)) for s in spellings}) == 1


def test_a_build_says_which_article_pages_it_took_off(project):
    project.post("a.md", "title: A\ndate: 2026-10-01 09:00")
    b = project.post("b.md", "title: B\ndate: 2026-10-02 09:00")
    assert build_site(project.config, NOW).removed == []
    b.unlink()
    assert build_site(project.config, NOW).removed == ["posts/b/"]
    assert build_site(project.config, NOW).removed == []  # nothing more


def test_the_cache_form_makes_its_objects_and_paths_as_their_own_makers_would():
    """The quick makers of the compact form: equal objects, still frozen, and paths equal
    to Path()'s, whatever the text (the odd ones go through Path())."""
    import dataclasses

    from publisher.buildcodec import _FIELDS, _quick_maker, _quick_path_maker
    from publisher.content import ChannelOptions
    from publisher.render.markdown import ImageRef

    make_path = _quick_path_maker()
    for text in (
        "posts/a.md",
        "/srv/clinic/posts/images/b c.jpg",
        "x",
        "posts//a.md",
        "./posts/a.md",
        "posts/./a.md",
        "posts/a/",
        "/",
        "//srv/a",
        "../a.md",
        "posts/é ü.jpg",
    ):
        made = make_path(text)
        assert made == Path(text) and str(made) == str(Path(text)), text
        assert made.parts == Path(text).parts and made.name == Path(text).name, text
        assert hash(made) == hash(Path(text)) and made.parent == Path(text).parent, text
    image = _quick_maker(ImageRef)("/a.jpg", 10, 20, ("/a-small.jpg", 5, 10))
    assert image == ImageRef("/a.jpg", 10, 20, ("/a-small.jpg", 5, 10))
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.width = 1  # type: ignore[misc]
    options = _quick_maker(ChannelOptions)(False, None, "text", ("tag",))
    assert options == ChannelOptions(False, None, "text", ("tag",)) and repr(options)
    assert len(_FIELDS["ChannelOptions"]) == 4


def test_a_rebuild_whose_photos_were_read_before_does_not_load_pillow(tmp_path):
    """Pillow's import is a tenth of a rebuild's start: it is imported where a picture is
    read, not with the build."""
    code = "import sys, publisher.build, publisher.cli; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_what_an_earlier_release_kept_under_other_keys_is_dropped(project):
    """The last build and what the site's folders hold are kept under new keys (their forms
    changed); the first build after an upgrade drops the old ones (5 MB on 10,000 posts)."""
    from publisher.build import LAST_BUILD, tree_key
    from publisher.buildcache import BuildIndex, environment_fingerprint, remembered_state

    many_posts(project, 3)
    build_site(project.config, NOW)
    index = BuildIndex(project.config.cache_dir, environment_fingerprint(project.config))
    try:  # as an earlier release left it
        index.set_state("last_build", "the earlier form")
        index.set_state(f"tree {project.output}", b"the earlier form")
        index.forget_state(LAST_BUILD)
    finally:
        index.close()
    build_site(project.config, NOW)
    remembered = partial(remembered_state, project.config.cache_dir)
    assert remembered("last_build") is None and remembered(f"tree {project.output}") is None
    assert remembered(LAST_BUILD) is not None and remembered(tree_key(project.output))
