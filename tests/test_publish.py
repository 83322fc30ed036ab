"""Publishing through the Graph API stand-in: exactly once, nothing lost, every failure explained."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest

from publisher.agenda import taken_down
from publisher.ledger import DRY_RUN, FAILED, MISSED, PUBLISHED, RETRY, SCHEDULED, SENDING
from publisher.preview import preview_posts
from publisher.publish import publish_due
from publisher.status import delivery_rows, format_table, retry_delivery, skip_delivery

from .publishing import NY, TOKEN, at, kill_at, staged, token_look


@pytest.fixture
def stage(tmp_path):
    yield from staged(tmp_path)


def posts_of(stage):
    return stage.graph.page_posts(), stage.graph.ig_media()


def calls_of(stage) -> list[tuple[str, str]]:
    """What the stand-in was asked: (method, path)."""
    return [(r.method, r.path) for r in stage.graph.requests]


def test_seed_article_goes_out_to_all_three_channels_with_the_documented_requests(stage):
    stage.seed()
    for now in ("2025-10-21T09:00", "2025-10-21T09:30", "2025-10-21T12:00"):  # each on time
        result = stage.run(now)
        assert result.returncode == 0, result.stdout + result.stderr
    records = stage.records()
    assert {k: r.state for k, r in records.items()} == {
        "psoas-back-pain/website": PUBLISHED,
        "psoas-back-pain/facebook": PUBLISHED,
        "psoas-back-pain/instagram": PUBLISHED,
    }
    (fb_post,), (ig_media,) = posts_of(stage)
    (preview,) = preview_posts(stage.config)
    assert fb_post["message"] == preview.facebook.message
    assert ig_media["caption"] == preview.instagram.caption
    assert "Unlocking the Mystery of the Psoas" in ig_media["caption"]
    assert records["psoas-back-pain/facebook"].remote_id == fb_post["id"]
    assert records["psoas-back-pain/facebook"].permalink == fb_post["permalink_url"]
    assert records["psoas-back-pain/instagram"].remote_id == ig_media["id"]
    assert records["psoas-back-pain/instagram"].permalink == ig_media["permalink"]

    # the first pass (the article's) ends with the day's look at each token
    look = token_look(stage)
    assert calls_of(stage)[: len(look)] == look
    calls = [(r.method, r.path, r.version) for r in stage.graph.requests[len(look) :]]
    page, ig = stage.graph.page_id, stage.graph.ig_user_id
    (container,) = stage.graph.containers()
    assert calls == [
        ("POST", f"/{page}/feed", "v26.0"),
        ("GET", f"/{fb_post['id']}", "v26.0"),
        ("GET", f"/{ig}/content_publishing_limit", "v26.0"),
        ("POST", f"/{ig}/media", "v26.0"),
        ("GET", f"/{container.id}", "v26.0"),
        ("POST", f"/{ig}/media_publish", "v26.0"),
        ("GET", f"/{ig_media['id']}", "v26.0"),
    ]
    feed, _, limit, media, status, publish, _ = stage.graph.requests[len(look) :]
    article = f"{stage.site_url}/posts/psoas-back-pain/"
    assert feed.params == {
        "message": fb_post["message"],
        "link": article + "?utm_source=facebook&utm_medium=social&utm_campaign=psoas-back-pain",
    }
    assert media.params == {
        "image_url": article + "instagram.jpg",
        "caption": ig_media["caption"],
        "alt_text": "A girl leaning over experiencing back pain",
    }
    assert limit.params == {"fields": "quota_usage,config"}
    assert status.params == {"fields": "status_code,status"}
    assert publish.params == {"creation_id": container.id}
    assert all(r.token == "clinic" for r in stage.graph.requests)
    assert {r.token_in for r in stage.graph.requests if r.method == "POST"} == {"body"}

    # Exactly once: later passes send nothing more.
    again = stage.run("2025-10-21T13:00")
    assert again.returncode == 0
    assert len(stage.graph.requests) == len(look) + len(calls)  # nor looks again that day


def test_social_waits_for_the_website_and_the_website_comes_first(stage):
    stage.add_post("soon", "2026-12-02 09:00", facebook="{at: 2026-12-02 08:00}")
    publish_due(stage.config, at("2026-12-02T08:30"))
    assert stage.graph.page_posts() == []  # its page is not live before 09:00
    publish_due(stage.config, at("2026-12-02T09:00"))
    records = stage.records()
    assert records["soon/website"].state == PUBLISHED
    assert records["soon/facebook"].state == PUBLISHED
    assert records["soon/website"].updated_at <= records["soon/facebook"].updated_at


def test_a_social_time_before_the_article_means_right_after_it(stage):
    # written a day early by mistake: it goes with the article, not "missed" a day late
    stage.add_post("early", "2026-12-10 09:00", facebook="{at: 2026-12-09 12:00}")
    from publisher.calendar import plan_deliveries
    from publisher.content import load_posts

    posts = [p for p in load_posts(stage.config).posts if p.slug == "early"]
    due = {d.channel: d.due for d in plan_deliveries(posts, stage.config)}
    assert due["facebook"] == due["website"] == at("2026-12-10T09:00")
    publish_due(stage.config, at("2026-12-09T12:01"))
    assert stage.graph.page_posts() == []
    publish_due(stage.config, at("2026-12-10T09:01"))
    records = stage.records()
    assert records["early/website"].state == PUBLISHED
    assert records["early/facebook"].state == PUBLISHED


CRASHPOINTS = [
    ("facebook-before-call", "facebook"),
    ("facebook-after-call", "facebook"),
    ("instagram-before-container", "instagram"),
    ("instagram-before-publish", "instagram"),
    ("instagram-after-publish", "instagram"),
]


@pytest.mark.parametrize(("point", "channel"), CRASHPOINTS)
def test_sigkill_at_every_point_of_a_delivery_still_publishes_exactly_once(stage, point, channel):
    stage.add_post(
        "crash",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 09:00}",
        instagram="{at: 2026-12-01 09:00}",
    )
    kill_at(stage.start("2026-12-01T09:05", crashpoint=point), f"crashpoint {point}")
    assert stage.records()[f"crash/{channel}"].state == SENDING
    result = stage.run("2026-12-01T09:06")
    assert result.returncode == 0, result.stdout + result.stderr
    fb, ig = posts_of(stage)
    assert len(fb) == 1 and len(ig) == 1
    records = stage.records()
    assert (
        records["crash/facebook"].state == PUBLISHED
        and records["crash/facebook"].remote_id == fb[0]["id"]
    )
    assert (
        records["crash/instagram"].state == PUBLISHED
        and records["crash/instagram"].remote_id == ig[0]["id"]
    )


@pytest.mark.parametrize(("point", "channel"), CRASHPOINTS)
def test_a_crash_found_out_long_after_still_publishes_exactly_once(stage, point, channel):
    """The pass after a crash may come much later (the server was down): what the crashed
    attempt made is found by the time of that attempt, not of the pass that looks."""
    import sqlite3

    stage.add_post(
        "late",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 09:00}",
        instagram="{at: 2026-12-01 09:00}",
    )
    # the crashed attempt was 25 minutes ago: Meta's clock stamped what it made then...
    stage.graph.clock = lambda: time.time() - 1500
    kill_at(stage.start("2026-12-01T09:05", crashpoint=point), f"crashpoint {point}")
    stage.graph.clock = time.time
    # ...and so did ours, in the ledger
    with sqlite3.connect(stage.config.ledger_path) as db:
        changed = db.execute(
            "UPDATE deliveries SET intent_clock = strftime('%Y-%m-%dT%H:%M:%S+00:00', "
            "intent_clock, '-1500 seconds') WHERE intent_clock IS NOT NULL"
        ).rowcount
    assert changed >= 1
    result = stage.run("2026-12-01T09:31")
    assert result.returncode == 0, result.stdout + result.stderr
    fb, ig = posts_of(stage)
    assert len(fb) == 1 and len(ig) == 1
    assert {r.state for r in stage.records().values()} == {PUBLISHED}


@pytest.mark.parametrize(("point", "channel"), CRASHPOINTS)
def test_a_crash_is_found_out_whatever_this_machines_clock_says(stage, point, channel):
    """This server's clock 15 minutes fast (more than the read-back's allowance): what the
    crashed attempt made still carries Meta's time, which the read-back now reckons with."""
    stage.add_post(
        "skew",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 09:00}",
        instagram="{at: 2026-12-01 09:00}",
    )
    stage.graph.clock = lambda: time.time() - 900  # Meta's clock: 15 minutes behind ours
    kill_at(stage.start("2026-12-01T09:05", crashpoint=point), f"crashpoint {point}")
    result = stage.run("2026-12-01T09:31")
    assert result.returncode == 0, result.stdout + result.stderr
    fb, ig = posts_of(stage)
    assert len(fb) == 1 and len(ig) == 1
    assert {r.state for r in stage.records().values()} == {PUBLISHED}


@pytest.mark.parametrize("channel", ["facebook", "instagram"])
def test_a_lost_send_is_not_taken_for_another_post_with_the_same_words(stage, channel):
    words = "{message: Book your December massage now.}"
    if channel == "instagram":
        words = "{caption: Book your December massage now.}"
    other = {"facebook": "instagram", "instagram": "facebook"}[channel]
    stage.add_post("first", "2026-12-01 09:00", **{channel: words, other: "false"})
    stage.add_post("second", "2026-12-02 09:00", **{channel: words, other: "false"})
    publish_due(stage.config, at("2026-12-01T12:00"))
    first = stage.records()[f"first/{channel}"]
    assert first.state == PUBLISHED
    # the second one's request never reaches Meta: its outcome is unknown
    stage.graph.drop("POST", "/*/feed" if channel == "facebook" else "/*/media", times=1)
    publish_due(stage.config, at("2026-12-02T12:00"))
    assert stage.records()[f"second/{channel}"].state == SENDING
    publish_due(stage.config, at("2026-12-02T12:30"))
    second = stage.records()[f"second/{channel}"]
    made = stage.graph.page_posts() if channel == "facebook" else stage.graph.ig_media()
    assert len(made) == 2
    assert second.state == PUBLISHED and second.remote_id != first.remote_id
    assert {first.remote_id, second.remote_id} == {m["id"] for m in made}


def test_two_lost_sends_with_the_same_words_are_left_to_a_person_when_one_went_out(stage):
    words = "{at: 2026-12-01 09:00, message: Book your December massage now.}"
    stage.add_post("bee", "2026-12-01 09:00", facebook=words, instagram="false")
    stage.add_post("ant", "2026-12-01 09:00", facebook=words, instagram="false")
    # one request is lost before Meta acts on it, the other after Meta made the post (both
    # on time: a late one would wait for the other's check, having the same words)
    stage.graph.drop("POST", "/*/feed", times=1)
    stage.graph.drop("POST", "/*/feed", times=1, after=1, after_effect=True)
    publish_due(stage.config, at("2026-12-01T09:00"))
    records = stage.records()
    assert {records["bee/facebook"].state, records["ant/facebook"].state} == {SENDING}
    assert len(stage.graph.page_posts()) == 1
    report = publish_due(stage.config, at("2026-12-01T09:30"))
    records = stage.records()
    # which of the two is out cannot be told from the Page: nothing is claimed or resent
    assert {records["bee/facebook"].state, records["ant/facebook"].state} == {FAILED}
    assert "which one cannot be told" in records["bee/facebook"].last_error
    assert report.needs_person and len(stage.graph.page_posts()) == 1


def test_a_post_withdrawn_while_its_instagram_container_waits_is_not_published(stage):
    path = stage.add_post("pulled", "2026-12-01 09:00", facebook="false")
    stage.add_draft()  # the posts folder is not left with no post at all
    kill_at(
        stage.start("2026-12-01T12:05", crashpoint="instagram-before-publish"),
        "crashpoint instagram-before-publish",
    )
    assert stage.records()["pulled/instagram"].state == SENDING
    path.unlink()
    result = stage.run("2026-12-01T12:10")
    assert result.returncode == 0, result.stdout + result.stderr
    assert stage.graph.ig_media() == []
    assert stage.records()["pulled/instagram"].state == "skipped"


def test_skip_refuses_the_website_and_says_how_to_keep_a_page_off(stage):
    from publisher.exceptions import PublisherError
    from publisher.ledger import Ledger

    stage.add_post("page", "2026-12-20 09:00", instagram="false")
    with Ledger(stage.config.ledger_path) as ledger:
        website = ledger.ensure(
            "page", "website", "posts/page.md", at("2026-12-20T09:00"), at("2026-12-01T09:00")
        )
    with pytest.raises(PublisherError, match="set  draft: true"):
        skip_delivery(stage.config, website.id, at("2026-12-01T09:10"))
    publish_due(stage.config, at("2026-12-20T09:00"))
    assert stage.records()["page/website"].state == PUBLISHED


@pytest.mark.parametrize("after_effect", [False, True])
@pytest.mark.parametrize("path", ["/*/feed", "/*/media_publish"])
def test_sigkill_while_the_response_is_held(stage, path, after_effect):
    stage.add_post(
        "held",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 09:00}",
        instagram="{at: 2026-12-01 09:00}",
    )
    held = stage.graph.hold("POST", path, after_effect=after_effect)
    process = stage.start("2026-12-01T09:05")
    assert held.wait_held(60)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    held.release()  # the held request may still land, after its sender died
    time.sleep(0.2)
    result = stage.run("2026-12-01T09:06")
    assert result.returncode == 0, result.stdout + result.stderr
    fb, ig = posts_of(stage)
    assert len(fb) == 1 and len(ig) == 1
    assert {r.state for r in stage.records().values()} == {PUBLISHED}


def test_ambiguous_timeout_is_reconciled_not_resent(tmp_path):
    for stage in staged(tmp_path, "\n[graph]\ntimeout = 1.0\n"):
        stage.add_post("slow", "2026-12-01 09:00", instagram="false")
        held = stage.graph.hold("POST", "/*/feed", after_effect=True)
        report = publish_due(stage.config, at("2026-12-01T09:31"))
        held.release()
        assert not report.needs_person
        record = stage.records()["slow/facebook"]
        assert record.state == SENDING and "unknown" not in (record.last_error or "token")
        assert len(stage.graph.page_posts()) == 1  # it did land
        publish_due(stage.config, at("2026-12-01T09:45"))
        assert stage.records()["slow/facebook"].state == PUBLISHED
        assert stage.records()["slow/facebook"].remote_id == stage.graph.page_posts()[0]["id"]
        assert len(stage.graph.page_posts()) == 1
        posts = [r for r in stage.graph.requests if r.method == "POST"]
        assert len(posts) == 1


@pytest.mark.parametrize("path", ["/*/feed", "/*/media_publish"])
def test_5xx_after_the_post_was_created_is_reconciled(stage, path):
    stage.add_post(
        "fivexx",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 09:00}",
        instagram="{at: 2026-12-01 09:00}",
    )
    stage.graph.fail_http("POST", path, status=500, after_effect=True)
    publish_due(stage.config, at("2026-12-01T09:05"))
    channel = "facebook" if path.endswith("feed") else "instagram"
    assert stage.records()[f"fivexx/{channel}"].state == SENDING
    publish_due(stage.config, at("2026-12-01T09:30"))
    fb, ig = posts_of(stage)
    assert len(fb) == 1 and len(ig) == 1
    assert {r.state for r in stage.records().values()} == {PUBLISHED}


def test_5xx_before_anything_was_created_is_sent_again_once(stage):
    stage.add_post("retryme", "2026-12-01 09:00", instagram="false")
    stage.graph.fail_http("POST", "/*/feed", status=503)
    publish_due(stage.config, at("2026-12-01T09:31"))
    assert stage.graph.page_posts() == []
    publish_due(stage.config, at("2026-12-01T09:45"))
    assert len(stage.graph.page_posts()) == 1
    assert stage.records()["retryme/facebook"].state == PUBLISHED


def test_fifty_posts_with_thirty_percent_transient_failures_all_go_out_exactly_once(
    tmp_path, monkeypatch
):
    from publisher.graph import GraphClient

    # A failed read of a container's status waits 1 s, 2 s... before the next one, as Meta
    # asks; here a twentieth of that (about 40 s of this test's time went in those waits).
    wait = GraphClient.ig_wait_until_finished
    monkeypatch.setattr(
        GraphClient,
        "ig_wait_until_finished",
        lambda self, *args, **kwargs: wait(self, *args, first_delay=0.05, **kwargs),
    )
    for stage in staged(tmp_path, "max_attempts = 40\n"):
        for n in range(50):
            stage.add_post(f"p{n:02d}", f"2026-12-01 09:{n:02d}")
        stage.graph.transient_failures(0.3, seed=11, after_effect=0.3)
        clock = at("2026-12-01T10:00")
        for _ in range(40):
            publish_due(stage.config, clock)
            if (
                all(r.state == PUBLISHED for r in stage.records().values())
                and len(stage.records()) == 150
            ):
                break
            clock += timedelta(minutes=15)
        records = stage.records()
        assert len(records) == 150
        assert {r.state for r in records.values()} == {PUBLISHED}
        fb, ig = posts_of(stage)
        assert sorted(p["message"].split(".")[0] for p in fb) == [
            f"Text of p{n:02d}" for n in range(50)
        ]
        assert len(ig) == 50 and len({m["caption"] for m in ig}) == 50
        assert {r.remote_id for k, r in records.items() if k.endswith("/facebook")} == {
            p["id"] for p in fb
        }


def test_a_live_post_moved_to_a_later_date_keeps_its_slug_and_history_from_a_newer_file(stage):
    """Two files with one title: the live one keeps the address while it is first. Moved to a
    later time, it was the newer file, dated earlier now, that took the address and the live
    post's ledger rows: its text went out at the address, and its Instagram post never did
    ("changed since published"). The post whose deliveries the ledger has keeps its slug;
    given a slug of its own (check's advice), its history follows it, though the other post
    takes the old slug: it went to Instagram a second time."""
    first = stage.add_post(
        "gift", "2026-12-01 09:00", instagram="{at: 2026-12-01 09:02}", facebook="false"
    )
    first.write_text(first.read_text().replace("slug: gift\n", "").replace("Post gift", "Gift"))
    assert stage.run("2026-12-01T09:10").returncode == 0
    (media,) = posts_of(stage)[1]
    second = stage.project.post(
        "gift-again.md",
        "title: Gift\ndate: 2026-12-01 09:20\nimage: images/photo.jpg\nimage_alt: A room",
        "Another text about gifts.\n",
    )
    first.write_text(first.read_text().replace("date: 2026-12-01 09:00", "date: 2026-12-01 12:00"))
    result = stage.run("2026-12-01T09:30")
    said = result.stdout + result.stderr
    assert f"slug 'gift' is already used by {stage.config.display_path(first)}" in said, said
    records = stage.records()
    assert {r.source for r in records.values()} == {stage.config.display_path(first)}
    assert posts_of(stage)[1] == [media]
    page = stage.project.output / "posts/gift/index.html"
    assert not page.exists() or "Another text about gifts" not in page.read_text()
    check = stage.command("check")
    assert stage.config.display_path(second) + ":2: slug 'gift'" in check.stdout, check.stdout
    # the first post given a slug of its own: its history follows it, nothing goes twice,
    # and the second post, now alone with its slug, goes out as a post of its own
    first.write_text(first.read_text().replace("title: Gift", "title: Gift\nslug: gift-cards"))
    last = stage.run("2026-12-01T12:30")
    assert last.returncode == 0, last.stdout + last.stderr
    records = stage.records()
    assert records["gift-cards/instagram"].remote_id == media["id"]
    assert records["gift-cards/website"].source == stage.config.display_path(first)
    assert records["gift/website"].source == stage.config.display_path(second)
    instagram = posts_of(stage)[1]
    assert len(instagram) == 2 and instagram[0] == media
    assert "Another text about gifts" in instagram[1]["caption"]
    assert "Another text about gifts" in page.read_text()


def test_what_instagram_would_refuse_is_said_by_status_before_its_time_and_where(stage):
    """check said "Instagram needs a photo" while calendar and status showed the delivery
    scheduled, and at its time it failed with no file or line: they say it ahead now, with
    the line, and the failure names it too. check no longer says the page is taken off."""
    stage.add_post("live", "2026-12-01 08:00", instagram="false")  # (a site with articles)
    source = stage.project.post(
        "no-photo.md",
        "title: No photo\ndate: 2026-12-01 09:00\ninstagram:\n  at: 2026-12-01 09:05",
        "Text without a photo.\n",
    )
    display = stage.config.display_path(source)
    problem = f"{display}:4: Instagram needs a photo"
    shown = stage.command("calendar", "--now", "2026-11-30T12:00").stdout.splitlines()
    (row,) = [line for line in shown if "no-photo" in line and "instagram" in line]
    assert "scheduled" in row and problem in row, shown
    (website,) = [line for line in shown if "no-photo" in line and "website" in line]
    assert "Instagram" not in website
    rows = delivery_rows(stage.config, at("2026-11-30T12:00"))
    notes = {r["channel"]: r["note"] for r in rows if r["post"] == "no-photo"}
    assert notes["instagram"].startswith(problem) and not notes["website"], notes
    assert problem in format_table(rows, stage.config)
    stage.run("2026-12-01T09:10")
    records = stage.records()
    assert records["no-photo/website"].state == PUBLISHED
    assert records["no-photo/instagram"].state == FAILED
    assert records["no-photo/instagram"].last_error.startswith(problem)
    check = stage.command("check")
    assert problem in check.stdout and "takes its page off" not in check.stdout, check.stdout


def test_a_permanent_error_stops_only_its_delivery(stage):
    stage.add_post("bad", "2026-12-01 09:00", instagram="false")
    stage.add_post("good", "2026-12-01 09:01", instagram="false")
    stage.graph.fail_graph("POST", "/*/feed", code=100, message="(#100) Invalid parameter")
    report = publish_due(stage.config, at("2026-12-01T09:40"))
    assert report.needs_person
    records = stage.records()
    assert records["bad/facebook"].state == FAILED
    assert "Invalid parameter" in records["bad/facebook"].last_error
    assert records["good/facebook"].state == PUBLISHED
    assert len(stage.graph.page_posts()) == 1
    # A person fixes it and asks for a retry: it goes out at the next pass.
    retry_delivery(stage.config, records["bad/facebook"].id, at("2026-12-01T10:00"))
    publish_due(stage.config, at("2026-12-01T10:01"))
    assert stage.records()["bad/facebook"].state == PUBLISHED


def _ledger_files(stage) -> list:
    return sorted(stage.config.ledger_path.parent.glob(stage.config.ledger_path.name + "*"))


def test_a_lost_ledger_never_sends_a_post_again(stage):
    stage.seed()
    assert stage.run("2025-10-21T12:00").returncode == 0  # all three out
    (fb_post,), (ig_media,) = posts_of(stage)
    for path in _ledger_files(stage):  # deleted; or a new path in config.toml, a new server
        path.unlink()
    result = stage.run("2025-10-21T12:05")  # both still within max_lateness
    # said, for a person to put a copy back: what failed or was skipped was in it
    assert result.returncode == 1, result.stdout + result.stderr
    assert "was made new by this pass, though the last pass had one there" in result.stdout
    assert posts_of(stage) == ([fb_post], [ig_media])  # nothing went out twice
    records = stage.records()
    assert records["psoas-back-pain/facebook"].state == PUBLISHED
    assert records["psoas-back-pain/facebook"].remote_id == fb_post["id"]
    assert records["psoas-back-pain/facebook"].permalink == fb_post["permalink_url"]
    assert records["psoas-back-pain/instagram"].remote_id == ig_media["id"]
    assert "facebook published: already on the Page, not sent again" in result.stdout
    assert "instagram published: already on the account, not sent again" in result.stdout


def test_an_older_backup_of_the_ledger_restored_never_sends_again(stage, tmp_path):
    import sqlite3

    stage.add_post("one", "2026-12-01 09:00")  # Facebook at 09:30
    assert stage.run("2026-12-01T09:00").returncode == 0
    backup = tmp_path / "backup.db"
    with sqlite3.connect(stage.config.ledger_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    assert stage.run("2026-12-01T09:30").returncode == 0  # on time: sent at once
    assert len(stage.graph.page_posts()) == 1
    for path in _ledger_files(stage):
        path.unlink()
    backup.rename(stage.config.ledger_path)  # the backup of 09:00 restored
    result = stage.run("2026-12-01T09:45")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(stage.graph.page_posts()) == 1, result.stdout
    assert "one/facebook published: already on the Page" in result.stdout
    # a post that really is late still goes out, once: nothing like it is on the Page
    stage.add_post("two", "2026-12-01 09:01")
    assert stage.run("2026-12-01T10:00").returncode == 0
    assert ["Text of two" in p["message"] for p in stage.graph.page_posts()].count(True) == 1


def test_a_post_saved_while_a_pass_builds_the_site_is_published_by_the_next_pass(stage):
    """A pass that built the site remembers what it read, so that the next cron pass a
    minute later is not taken for one with nothing new to do."""
    stage.add_post("first", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    held = stage.graph.hold("POST", "/*/feed")  # the pass is busy after building the site
    process = stage.start("2026-12-01T09:00")
    assert held.wait_held(60)
    stage.add_post("second", "2026-12-01 08:55", facebook="false", instagram="false")
    held.release()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "second/website" not in out  # read before it was saved
    result = stage.run("2026-12-01T09:01")
    assert "second/website published" in result.stdout, result.stdout + result.stderr
    assert (stage.project.output / "posts/second/index.html").is_file()


def test_a_pass_that_only_rebuilt_an_edited_page_says_so_an_idle_one_stays_short(stage):
    """An edit to a published article is built by the next pass with nothing due: the pass
    says which page it rebuilt (in the cron log too, with --quiet), not 'Nothing was due.',
    which read as if it had done nothing; a pass that truly did nothing is as before. (On a
    server in Tokyo: the log's stamps are in the site's zone all the same.)"""
    stage.env["TZ"] = "Asia/Tokyo"
    path = stage.add_post("calm", "2026-12-01 09:00", facebook="false", instagram="false")
    first = stage.run("2026-12-01T09:00")
    assert "calm/website published" in first.stdout, first.stdout + first.stderr
    idle = stage.run("2026-12-01T09:01")
    assert idle.stdout == "Nothing was due.\n", idle.stdout + idle.stderr
    assert stage.run("2026-12-01T09:02", "--quiet").stdout == ""

    path.write_text(path.read_text() + "A correction.\n")
    edited = stage.run("2026-12-01T09:03")
    assert edited.returncode == 0, edited.stdout + edited.stderr
    rebuilt = r" website rebuilt: the page of calm changed \(\d file\(s\) written\)"
    said = edited.stdout.splitlines()
    assert len(said) == 2 and re.search(rebuilt + "$", said[0]), said
    assert (
        said[1] == "Nothing else was due: no article went live, nothing on Facebook or Instagram."
    )
    path.write_text(path.read_text() + "Another.\n")
    logged = stage.run("2026-12-01T09:04", "--quiet").stdout
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d" + datetime.now(NY).strftime("%z")
    assert re.fullmatch(stamp + rebuilt + "\n", logged), logged
    assert stage.run("2026-12-01T09:05", "--quiet").stdout == ""


def test_a_pass_that_builds_a_page_updated_ahead_warns_at_its_line(stage):
    """The pass that builds an article whose updated: is still to come says so in its log,
    at the file and line, and goes on (exit 0): the page is out, with the date as written."""
    path = stage.add_post(
        "ahead", "2026-12-01 09:00", facebook="false", instagram="false", updated="2027-12-02"
    )
    result = stage.run("2026-12-01T09:00")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ahead/website published" in result.stdout
    (warning,) = [line for line in result.stdout.splitlines() if "warning:" in line]
    assert warning.endswith(
        "posts/ahead.md:9: warning: updated: 2027-12-02 00:00 has not come yet (it is "
        "2026-12-01 09:00 EST): the article's page says it was updated then; write when it was "
        "changed (a mistyped year?), or leave updated: out"
    )
    page = (stage.project.output / "posts/ahead/index.html").read_text()
    assert 'Updated <time datetime="2027-12-02T00:00:00-05:00">' in page
    assert "warning" not in stage.run("2026-12-01T09:01").stdout  # an idle pass: quiet
    path.write_text(path.read_text().replace("updated: 2027-12-02", "updated: 2026-12-01 09:30"))
    mended = stage.run("2026-12-01T09:45")
    assert "website rebuilt" in mended.stdout and "warning" not in mended.stdout, mended.stdout


def test_an_instagram_on_the_facebook_token_is_told_to_renew_the_facebook_token(stage):
    """With no PUBLISHER_INSTAGRAM_TOKEN, Instagram sends with the Facebook Page token: when
    Meta refuses it, the advice names the variable that token is read from."""
    stage.add_post("one", "2026-12-01 09:00", facebook="false")
    stage.graph.set_token_state(TOKEN, "expired")
    result = stage.run("2026-12-01T12:30")
    advice = (
        "the Instagram token expired: make a new Page access token and set "
        "PUBLISHER_FACEBOOK_TOKEN (the Instagram channel uses that token while "
        "PUBLISHER_INSTAGRAM_TOKEN is not set)"
    )
    assert advice in result.stdout, result.stdout
    assert stage.records()["one/instagram"].last_error.startswith(advice)
    assert f"problem: {advice}" in stage.command("accounts").stdout
    # a token of its own: that is the one to renew
    own = dict(stage.env, PUBLISHER_INSTAGRAM_TOKEN=TOKEN)
    accounts = stage.command("accounts", env=own).stdout
    assert (
        "the Instagram token expired: make a new Page access token and set "
        "PUBLISHER_INSTAGRAM_TOKEN (reading" in accounts
    ), accounts


def test_expired_token_stops_the_channel_with_a_plain_message(stage):
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.add_post("two", "2026-12-01 09:01", instagram="false")
    stage.graph.set_token_state(TOKEN, "expired")
    result = stage.run("2026-12-01T12:30")
    assert result.returncode == 1
    assert (
        "the Facebook token expired: make a new Page access token and set PUBLISHER_FACEBOOK_TOKEN"
        in result.stdout
    )
    records = stage.records()
    assert "the Facebook token expired" in records["one/facebook"].last_error
    assert records["one/website"].state == PUBLISHED
    # The channel stopped: one call on Facebook (the look at the Page a late first send
    # makes before it posts), not one per post.
    page = stage.graph.page_id
    assert [r.path for r in stage.graph.requests if r.path.startswith(f"/{page}/")] == [
        f"/{page}/published_posts"
    ]
    assert "two/facebook" not in records


def test_a_refused_token_holds_the_channel_until_a_token_works(stage):
    """A token Meta refused failed the delivery that met it, and the next pass's first
    delivery, and so on: after a night of passes every post due meanwhile was `failed`,
    each needing its own `publisher retry` once the token was renewed. Now they wait, the
    passes with the refused token call Meta no more (once every quarter of an hour, in case
    a permission was given back), and the first pass with a new token sends them all."""
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.add_post("two", "2026-12-01 09:01", instagram="false")
    stage.add_post("old", "2026-12-01 02:00", instagram="false")  # 7 hours late at 09:30
    stage.graph.set_token_state(TOKEN, "expired")
    page = stage.graph.page_id

    def calls() -> int:
        return sum(r.path.startswith(f"/{page}/") for r in stage.graph.requests)

    first = stage.run("2026-12-01T09:30")
    assert first.returncode == 1 and calls() == 1
    assert "wait for a pass whose token works (sent if at most 6h late)" in first.stdout
    records = stage.records()
    assert records["one/facebook"].state == SCHEDULED
    assert records["one/facebook"].last_error.startswith("the Facebook token expired")
    assert records["old/facebook"].state == MISSED  # as late as it ever is
    # the next passes, on the same token: no call to Meta, nothing failed
    for minute in ("31", "32", "44"):
        held = stage.run(f"2026-12-01T09:{minute}")
        assert held.returncode == 1, held.stdout  # a person must renew the token
        assert "the Facebook token expired" in held.stdout
    assert calls() == 1
    rows = {
        (r["post"], r["channel"]): r for r in delivery_rows(stage.config, at("2026-12-01T09:45"))
    }
    for post in ("one", "two"):
        assert rows[(post, "facebook")]["error"].startswith(
            "held back by the pass of 2026-12-01 09:44: the Facebook token expired"
        ), [(r["post"], r["state"], (r["error"] or "")[:40]) for r in rows.values()]
    # a quarter of an hour on, the same token is tried once more: still refused
    stage.run("2026-12-01T09:46")
    assert calls() == 2
    assert {r.state for k, r in stage.records().items() if k != "old/facebook"} >= {SCHEDULED}
    assert FAILED not in {r.state for r in stage.records().values()}
    # the engineer sets a new token: the next pass sends everything that waited
    stage.graph.add_token("renewed-token", label="renewed")
    renewed = dict(stage.env, PUBLISHER_FACEBOOK_TOKEN="renewed-token")
    sent = stage.command("publish", "--due", "--now", "2026-12-01T09:47", env=renewed)
    assert sent.returncode == 0, sent.stdout
    assert "facebook: the token works again" in sent.stdout
    records = stage.records()
    assert records["one/facebook"].state == PUBLISHED
    assert records["two/facebook"].state == PUBLISHED
    assert records["old/facebook"].state == MISSED
    assert len(stage.graph.page_posts()) == 2
    assert b"renewed-token" not in stage.config.ledger_path.read_bytes()
    assert TOKEN.encode() not in stage.config.ledger_path.read_bytes()
    # the hold is gone: a later post goes out at once, on the same new token
    stage.add_post("three", "2026-12-01 10:00", instagram="false")
    stage.command("publish", "--due", "--now", "2026-12-01T10:31", env=renewed)
    assert stage.records()["three/facebook"].state == PUBLISHED


def test_a_look_first_that_met_a_refused_token_is_made_again_after_the_hold(stage, tmp_path):
    """An older ledger restored, then an expired token: the look at the Page a send the
    ledger cannot vouch for makes first was refused, the hold forgot it was a look, and the
    first pass with a new token posted again what was already on the Page."""
    import sqlite3

    stage.add_post("one", "2026-12-02 09:00", instagram="false")
    assert stage.run("2026-12-02T09:00").returncode == 0  # the page; Facebook at 09:30
    backup = tmp_path / "backup.db"
    with sqlite3.connect(stage.config.ledger_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    assert stage.run("2026-12-02T09:30").returncode == 0
    assert len(stage.graph.page_posts()) == 1
    for path in _ledger_files(stage):
        path.unlink()
    backup.rename(stage.config.ledger_path)  # the backup of 09:00 put back
    stage.graph.set_token_state(TOKEN, "expired")
    held = stage.run("2026-12-02T09:40")
    assert "wait for a pass whose token works" in held.stdout, held.stdout
    stage.graph.add_token("renewed-token", label="renewed")
    renewed = dict(stage.env, PUBLISHER_FACEBOOK_TOKEN="renewed-token")
    sent = stage.command("publish", "--due", "--now", "2026-12-02T09:45", env=renewed)
    assert "one/facebook published: already on the Page, not sent again" in sent.stdout, sent.stdout
    assert len(stage.graph.page_posts()) == 1


def test_an_instagram_container_made_before_a_refused_token_is_published_after(stage):
    """media_publish refused for the token (it expired between the two calls): the hold
    dropped the container, and the first pass with a new token made another."""
    stage.add_post("one", "2026-12-01 09:00", facebook="false")
    stage.graph.fail_graph(
        "POST", "/*/media_publish", code=190, subcode=463, message="Session has expired"
    )
    held = stage.run("2026-12-01T12:00")
    assert "wait for a pass whose token works" in held.stdout, held.stdout
    record = stage.records()["one/instagram"]
    assert record.container_id and stage.graph.ig_media() == []
    sent = stage.run("2026-12-01T12:20")  # (a quarter of an hour on: the token is tried)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert stage.records()["one/instagram"].state == PUBLISHED
    assert len(stage.graph.ig_media()) == 1
    made = [r for r in stage.graph.requests if r.method == "POST" and r.path.endswith("/media")]
    assert len(made) == 1, made  # the one container, published


def test_a_permission_given_back_on_meta_s_side_frees_the_same_token(stage):
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.graph.set_token_state(TOKEN, "expired")
    stage.run("2026-12-01T09:30")
    stage.graph.set_token_state(TOKEN, "valid")
    stage.run("2026-12-01T09:40")  # within the quarter hour: not tried
    assert stage.records()["one/facebook"].state == SCHEDULED
    assert stage.run("2026-12-01T09:46").returncode == 0
    assert stage.records()["one/facebook"].state == PUBLISHED


def test_no_token_where_the_page_is_named_holds_the_deliveries_for_a_pass_that_has_it(stage):
    """config.toml names the Page and the account, and a pass runs without the tokens (the
    engineer runs one by hand, without the environment file the service and cron read):
    nothing is sent, and nothing is settled either; the next pass that has the token sends
    them, with no `publisher retry`. Without a Page or account, a dry run is what was asked for."""
    stage.seed()
    env = dict(stage.env)
    env.pop("PUBLISHER_FACEBOOK_TOKEN")
    result = stage.command("publish", "--due", "--now", "2025-10-21T12:00", env=env)
    # meant to go out, so a person must look
    assert result.returncode == 1, result.stderr
    assert "PUBLISHER_FACEBOOK_TOKEN is not set where publisher runs now" in result.stdout
    assert "its deliveries wait for a pass that has it" in result.stdout
    assert stage.graph.requests == []
    records = stage.records()
    assert records["psoas-back-pain/website"].state == PUBLISHED
    assert "psoas-back-pain/facebook" not in records
    assert "psoas-back-pain/instagram" not in records
    rows = {
        (r["channel"], r["state"]): r for r in delivery_rows(stage.config, at("2025-10-21T12:01"))
    }
    # --dry-run by hand without the token shows what would be sent, as it always does
    shown = stage.command("publish", "--due", "--now", "2025-10-21T12:01", "--dry-run", env=env)
    assert "psoas-back-pain/facebook dry run (--dry-run): would POST" in shown.stdout
    assert "PUBLISHER_FACEBOOK_TOKEN is not set" in rows[("facebook", "due")]["error"]
    assert TOKEN not in result.stdout + result.stderr
    # the cron job's next pass, with the environment file read
    sent = stage.run("2025-10-21T12:05")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    records = stage.records()
    assert records["psoas-back-pain/facebook"].state == PUBLISHED
    assert records["psoas-back-pain/instagram"].state == PUBLISHED
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace(f'page_id = "{stage.graph.page_id}"', 'page_id = ""').replace(
            f'account_id = "{stage.graph.ig_user_id}"', 'account_id = ""'
        )
    )
    stage.add_post("later", "2025-10-22 09:00")
    quiet = stage.command("publish", "--due", "--now", "2025-10-22T12:00", env=env)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert (
        "later/facebook dry run (no token or account: set PUBLISHER_FACEBOOK_TOKEN, and "
        "[facebook] page_id in config.toml): would"
    ) in quiet.stdout
    assert "access_token: ***" in quiet.stdout
    assert stage.records()["later/facebook"].state == DRY_RUN


def test_dry_run_flag_sends_and_records_nothing(stage):
    stage.seed()
    result = stage.run("2025-10-21T12:00", "--dry-run")
    assert result.returncode == 0
    assert "would build the site" in result.stdout and "would POST" in result.stdout
    assert stage.graph.requests == []
    assert stage.records() == {}
    assert not stage.project.output.exists()


def test_no_token_leaks_anywhere(stage):
    stage.seed()
    stage.add_post("expires", "2026-12-01 09:00")
    outputs = [stage.run("2025-10-21T12:00")]
    stage.graph.fail_graph("POST", "/*/feed", code=2, is_transient=True)
    stage.graph.fail_http("GET", "/*/content_publishing_limit", status=502)
    outputs.append(stage.run("2026-12-01T12:30"))
    stage.graph.set_token_state(TOKEN, "expired")
    outputs.append(stage.run("2026-12-01T13:00"))
    for command in (["status"], ["status", "--json"], ["accounts"], ["accounts", "--json"]):
        outputs.append(stage.command(*command))
    text = "".join(o.stdout + o.stderr for o in outputs)
    assert "expired" in text  # the errors were really shown...
    assert TOKEN not in text  # ...without the token
    assert TOKEN not in stage.ledger_dump()
    assert TOKEN.encode() not in stage.config.ledger_path.read_bytes()
    for path in stage.project.root.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_two_passes_at_once_never_both_publish(stage):
    stage.add_post("lock", "2026-12-01 09:00", instagram="false")
    held = stage.graph.hold("POST", "/*/feed")
    first = stage.start("2026-12-01T09:31")
    assert held.wait_held(60)
    second = stage.run("2026-12-01T09:31")
    assert second.returncode == 0
    assert "another publishing pass is running" in second.stdout
    held.release()
    assert first.wait(60) == 0
    assert len(stage.graph.page_posts()) == 1


def test_instagram_quota_is_read_and_respected(stage):
    stage.add_post("quota", "2026-12-01 09:00", facebook="false")
    stage.graph.set_quota_used(stage.graph.ig_user_id, 50)
    report = publish_due(stage.config, at("2026-12-01T12:05"))
    assert not report.needs_person
    record = stage.records()["quota/instagram"]
    assert record.state == RETRY and "publishing limit is reached (50 of 50" in record.last_error
    assert stage.graph.containers() == []


def test_container_error_is_a_plain_failure(stage):
    stage.add_post("broken", "2026-12-01 09:00", facebook="false")
    stage.graph.container_outcome("error", error_subcode=2207052)
    report = publish_due(stage.config, at("2026-12-01T12:05"))
    assert report.needs_person
    record = stage.records()["broken/instagram"]
    assert record.state == FAILED
    assert stage.graph.ig_media() == []


def test_a_container_not_ready_to_publish_is_published_later_not_made_again(stage):
    # Meta: 9007 / 2207027 "media not ready": wait until the container is FINISHED, then
    # publish it. A second container for the same post could go out beside the first.
    stage.add_post("notready", "2026-12-01 09:00", facebook="false")
    stage.graph.fail_graph(
        "POST", "/*/media_publish", code=9007, subcode=2207027, message="Media ID is not available"
    )
    report = publish_due(stage.config, at("2026-12-01T12:05"))
    assert not report.needs_person
    (container,) = stage.graph.containers()
    record = stage.records()["notready/instagram"]
    assert record.container_id == container.id and stage.graph.ig_media() == []
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert [c.id for c in stage.graph.containers()] == [container.id]
    (media,) = stage.graph.ig_media()
    assert media["container_id"] == container.id
    assert stage.records()["notready/instagram"].state == PUBLISHED


def test_a_container_meta_keeps_processing_is_read_once_a_pass_not_waited_on(stage, monkeypatch):
    """A container stuck IN_PROGRESS: the pass that made it waits its while, and each later
    pass reads its status once and moves on (a pass a minute must not spend the minute
    waiting on it); once FINISHED, that container is published, and no other is made."""
    import publisher.publish

    monkeypatch.setattr(publisher.publish, "IG_FINISH_TIMEOUT", 0.5)  # Meta's pace, shortened
    stage.add_post("slow", "2026-12-01 09:00", facebook="false")
    stage.graph.container_outcome("stuck")
    publish_due(stage.config, at("2026-12-01T12:05"))
    (container,) = stage.graph.containers()
    record = stage.records()["slow/instagram"]
    assert record.state == SENDING and record.container_id == container.id
    for minute in ("12:20", "12:40"):  # past any back-off: the pass looks at it
        before = len(stage.graph.requests)
        report = publish_due(stage.config, at(f"2026-12-01T{minute}"))
        reads = [r for r in stage.graph.requests[before:] if r.path == f"/{container.id}"]
        assert len(reads) == 1 and not report.needs_person
        assert stage.records()["slow/instagram"].state == SENDING
    stage.graph.set_container(container.id, "FINISHED")
    publish_due(stage.config, at("2026-12-01T12:41"))
    assert stage.records()["slow/instagram"].state == PUBLISHED
    assert [c.id for c in stage.graph.containers()] == [container.id]
    (media,) = stage.graph.ig_media()
    assert media["container_id"] == container.id


def test_a_site_address_meta_cannot_reach_is_never_sent_to_meta(tmp_path):
    # Meta fetches image_url when the container is made, and reads the link for its card:
    # both must be on a public server. This stage's site is on 127.0.0.1, which Meta's own
    # Graph API (not the stand-in beside it) cannot reach: nothing may be sent.
    for stage in staged(tmp_path, "\n[graph]\ntimeout = 2.0\n"):
        stage.add_post("local", "2026-12-01 09:00")
        os.environ["PUBLISHER_GRAPH_URL"] = "https://graph.facebook.com"  # (restored after)
        report = publish_due(stage.config, at("2026-12-01T12:05"))
        records = stage.records()
        assert records["local/website"].state == PUBLISHED and report.needs_person
        for channel in ("facebook", "instagram"):
            record = records[f"local/{channel}"]
            assert record.state == FAILED and record.attempts == 0
            assert f"{stage.site_url}/posts/local/" in record.last_error
            assert "set [site] base_url" in record.last_error


def test_late_social_deliveries_are_missed_until_a_person_retries(stage):
    stage.begin_ledger("2026-10-01T00:00")  # (due after it began: not an archive's)
    stage.add_post("old", "2026-11-01 09:00")
    report = publish_due(stage.config, at("2026-12-01T09:00"))
    records = stage.records()
    assert records["old/website"].state == PUBLISHED
    assert records["old/facebook"].state == MISSED and records["old/instagram"].state == MISSED
    assert "`publisher retry " in records["old/facebook"].last_error
    assert records["old/facebook"].last_error.endswith("sends it at the next pass")
    assert "due 2026-11-01 09:30 EST, 30 days ago" in records["old/facebook"].last_error
    # nothing sent or read of the deliveries: the daily look at the tokens only
    assert report.needs_person and calls_of(stage) == token_look(stage)
    publish_due(stage.config, at("2026-12-01T09:05"))
    assert calls_of(stage) == token_look(stage)  # a look a day, not a pass
    retry_delivery(stage.config, records["old/facebook"].id, at("2026-12-01T09:10"))
    skip_delivery(stage.config, records["old/instagram"].id, at("2026-12-01T09:10"))
    # status shows the latest reason, not the lateness that no longer holds
    records = stage.records()
    assert records["old/facebook"].last_error == "retry asked by a person"
    assert records["old/instagram"].last_error == "skipped by a person"
    publish_due(stage.config, at("2026-12-01T09:11"))
    assert len(stage.graph.page_posts()) == 1 and stage.graph.ig_media() == []


def test_a_missed_delivery_follows_its_post_to_a_time_still_to_come(stage):
    from publisher.ledger import SCHEDULED

    # the year typed wrong: the page goes up at once, the social posts are missed
    path = stage.add_post("typo", "2025-12-05 09:00")
    publish_due(stage.config, at("2026-11-28T09:00"))
    records = stage.records()
    assert records["typo/facebook"].state == MISSED and records["typo/instagram"].state == MISSED
    # moved to another time already past: still missed, nothing sent
    path.write_text(path.read_text().replace("2025-12-05 09:00", "2025-12-06 09:00"))
    publish_due(stage.config, at("2026-11-28T09:02"))
    assert {stage.records()[f"typo/{c}"].state for c in ("facebook", "instagram")} == {MISSED}
    # the year put right, one of them asked for again first: both follow the post, and
    # nothing goes out before its time
    retry_delivery(stage.config, records["typo/facebook"].id, at("2026-11-28T09:03"))
    path.write_text(path.read_text().replace("2025-12-06 09:00", "2026-12-05 09:00"))
    publish_due(stage.config, at("2026-11-28T09:05"))
    records = stage.records()
    for channel, due in (("facebook", "2026-12-05T09:30"), ("instagram", "2026-12-05T12:00")):
        record = records[f"typo/{channel}"]
        assert record.state == SCHEDULED and record.due_at == at(due), channel
        assert record.attempts == 0 and not record.forced and record.last_error is None
    assert records["typo/website"].state == SCHEDULED
    assert stage.graph.page_posts() == [] and stage.graph.ig_media() == []
    publish_due(stage.config, at("2026-12-05T09:31"))
    assert len(stage.graph.page_posts()) == 1 and stage.graph.ig_media() == []
    publish_due(stage.config, at("2026-12-05T12:01"))
    assert len(stage.graph.ig_media()) == 1
    assert {r.state for r in stage.records().values()} == {PUBLISHED}


def test_a_missed_delivery_follows_its_own_new_at_but_never_a_new_plan_alone(stage):
    """Only the post itself moves a missed delivery (its date, or its channel's `at:`): a
    new offset or slots in config.toml, which plans every post afresh, never sends an old
    one the pass found too late."""
    from publisher.ledger import SCHEDULED

    path = stage.add_post("old", "2026-11-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-11-28T09:00"))
    assert stage.records()["old/facebook"].state == MISSED
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace("[facebook]\n", '[facebook]\noffset = "40d"\n', 1)
    )
    publish_due(stage.config, at("2026-11-28T09:05"))  # would be due 2026-12-11
    assert stage.records()["old/facebook"].state == MISSED
    stage.project.config_path.write_text(text)
    path.write_text(
        path.read_text().replace(
            "instagram: false", "instagram: false\nfacebook:\n  at: 2026-12-03 10:00"
        )
    )
    publish_due(stage.config, at("2026-11-28T09:10"))
    record = stage.records()["old/facebook"]
    assert record.state == SCHEDULED and record.due_at == at("2026-12-03T10:00")
    publish_due(stage.config, at("2026-12-03T10:01"))
    assert len(stage.graph.page_posts()) == 1


def test_verify_live_waits_for_the_page(tmp_path):
    for stage in staged(tmp_path, "\n[site]\n" if False else ""):
        text = stage.project.config_path.read_text().replace(
            "[site]\n", '[site]\nverify_live = true\ndeploy_command = "false"\n', 1
        )
        stage.project.config_path.write_text(text)
        stage.add_post("live", "2026-12-01 09:00", instagram="false")
        report = publish_due(stage.config, at("2026-12-01T09:31"))
        record = stage.records()["live/website"]
        assert record.state == RETRY and "the deploy command failed (exit 1)" in record.last_error
        assert calls_of(stage) == token_look(stage) and not report.needs_person
        # status says why the due Facebook post has not gone (it showed a bare "due")
        rows = {r["channel"]: r for r in delivery_rows(stage.config, at("2026-12-01T09:32"))}
        assert rows["facebook"]["state"] == "due"
        assert rows["facebook"]["error"] == (
            "waits for its article's page, which is not published yet (its website row)"
        )
        stage.project.config_path.write_text(
            text.replace('deploy_command = "false"', 'deploy_command = "true"')
        )
        publish_due(stage.config, at("2026-12-01T09:45"))
        assert stage.records()["live/facebook"].state == PUBLISHED


def test_a_failed_deploy_is_tried_again_and_reported_even_with_nothing_due(tmp_path):
    for stage in staged(tmp_path):
        attempts = stage.project.root / "attempts"
        broken = stage.project.root / "broken"
        command = (
            f"echo x >> {attempts}; test ! -e {broken} || "
            '{ echo "host unreachable; token was $PUBLISHER_FACEBOOK_TOKEN" >&2; exit 1; }'
        )
        text = stage.project.config_path.read_text()
        text = text.replace("[publish]\n", "[publish]\nmax_attempts = 2\n", 1)
        stage.project.config_path.write_text(
            text.replace("[site]\n", f"[site]\ndeploy_command = '{command}'\n", 1)
        )
        post = stage.add_post("live", "2026-12-01 09:00", instagram="false")
        publish_due(stage.config, at("2026-12-01T09:31"))
        assert stage.records()["live/facebook"].state == PUBLISHED
        assert len(attempts.read_text().splitlines()) == 1
        # the deploy breaks, then the published post is edited: nothing is due
        broken.touch()
        post.write_text(post.read_text() + "\nOne more thing.\n")
        first = publish_due(stage.config, at("2026-12-01T10:00"))
        assert not first.needs_person  # a first failure may pass by itself
        assert len(attempts.read_text().splitlines()) == 2
        # the next pass before the retry time does not hammer the server...
        publish_due(stage.config, at("2026-12-01T10:00:20"))
        assert len(attempts.read_text().splitlines()) == 2
        # ...the one after it tries again, and the second failure in a row needs a person
        second = publish_due(stage.config, at("2026-12-01T10:05"))
        assert len(attempts.read_text().splitlines()) == 3
        assert second.needs_person
        assert "host unreachable" in second.problems[0] and TOKEN not in second.problems[0]
        assert TOKEN not in stage.ledger_dump()
        # every pass says so, and why, until it works; then it is deployed and quiet again
        assert publish_due(stage.config, at("2026-12-01T10:05:30")).needs_person
        said = stage.run("2026-12-01T10:05:40")
        assert said.returncode == 1 and "host unreachable" in said.stdout  # the log, once
        assert TOKEN not in said.stdout + said.stderr
        broken.unlink()
        mended = publish_due(stage.config, at("2026-12-01T10:30"))
        assert not mended.needs_person
        assert len(attempts.read_text().splitlines()) == 4
        assert "One more thing." in (stage.project.output / "posts/live/index.html").read_text()
        publish_due(stage.config, at("2026-12-01T10:31"))
        assert len(attempts.read_text().splitlines()) == 4


def test_a_deploy_that_fails_after_an_edit_is_said_by_the_pass_and_by_status(stage, monkeypatch):
    """An edit to a published post whose deploy failed said "Nothing was due." and
    `status` showed all well; the next try was counted from the pass's start, so a deploy
    that took minutes to fail gave a time already past."""
    import publisher.publish as publishing
    from publisher.ledger import Ledger

    monkeypatch.setattr(publishing, "backoff", lambda *args, **kwargs: timedelta(seconds=60))
    broken = stage.project.root / "broken"
    command = f"test ! -e {broken} || {{ sleep 2; echo rsync: connection refused >&2; exit 5; }}"
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace("[site]\n", f"[site]\ndeploy_command = '{command}'\n", 1)
    )
    post = stage.add_post("live", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T09:31"))
    broken.touch()
    post.write_text(post.read_text() + "\nOne more thing.\n")
    first = publish_due(stage.config, at("2026-12-01T10:00"))
    assert "rsync: connection refused" in first.site_failed and not first.outcomes
    with Ledger(stage.config.ledger_path) as ledger:
        failures, again, _ = ledger.site_failures()
    assert failures == 1 and again - at("2026-12-01T10:00") >= timedelta(seconds=62)
    status = stage.command("status")
    assert (
        "The website is not up to date: the site could not be built or deployed (1 time(s) "
        "in a row): "
    ) in status.stdout, status.stdout
    assert f"The next try is at {again.astimezone(NY):%Y-%m-%d %H:%M} EST." in status.stdout
    second = stage.run("2026-12-01T10:05")
    assert "The website was not updated (see above); a later pass tries again." in second.stdout
    assert "Nothing was due" not in second.stdout
    broken.unlink()
    assert stage.run("2026-12-01T10:30").returncode == 0
    assert "not up to date" not in stage.command("status").stdout


def test_a_pass_that_needs_a_person_still_lets_the_next_idle_pass_stop_at_once(stage):
    from publisher.ledger import Ledger

    stage.begin_ledger("2026-05-01T00:00")  # (so that they are missed, not an archive's)
    stage.add_post("old", "2026-06-01 09:00")  # its social posts are missed
    assert publish_due(stage.config, at("2026-12-01T09:00")).needs_person
    with Ledger(stage.config.ledger_path) as ledger:
        assert ledger.meta("quiet")  # the cron pass a minute later does nothing, quickly


def test_status_hides_only_long_finished_deliveries_and_dates_a_later_retry(stage):
    from datetime import timedelta

    from publisher.status import delivery_rows, format_table
    from publisher.times import now as current_time

    stage.add_post("old", "2026-09-01 09:00", instagram="false")  # published long ago
    publish_due(stage.config, at("2026-09-01T09:00"))
    stage.add_post("new", "2026-11-30 09:00", instagram="false")
    publish_due(stage.config, at("2026-11-30T09:40"))
    later = at("2026-12-05T09:00")
    everything = delivery_rows(stage.config, later)
    recent = delivery_rows(stage.config, later, everything=False)
    states = {(r["post"], r["channel"]): r["state"] for r in everything}
    assert states[("old", "website")] == PUBLISHED and states[("old", "facebook")] == MISSED
    shown = {(r["post"], r["channel"]) for r in recent}
    # the old page went out long ago: hidden; its missed Facebook post needs a person: shown
    assert ("old", "website") not in shown and ("old", "facebook") in shown
    assert {("new", "website"), ("new", "facebook")} <= shown
    today = current_time(stage.config.tz)
    row = dict(everything[0], next_attempt=(today + timedelta(days=2)).isoformat())
    assert f"next try {today + timedelta(days=2):%Y-%m-%d %H:%M}:" in format_table(
        [row], stage.config
    )
    row["next_attempt"] = today.replace(hour=23, minute=59).isoformat()
    assert "next try 23:59:" in format_table([row], stage.config)
    # the server may keep another time (UTC): the table says whose times it shows
    table = format_table([row], stage.config).splitlines()
    assert table[-1] == "Times are America/New_York's (the site's time zone)."


def test_status_shows_a_delivery_a_person_sent_long_after_its_time(stage):
    from publisher.status import delivery_rows

    stage.add_post("old", "2026-09-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-09-01T09:00"))  # its page goes out on time
    publish_due(stage.config, at("2026-11-30T09:40"))  # its Facebook post is missed
    missed = stage.records()["old/facebook"]
    assert missed.state == MISSED
    retry_delivery(stage.config, missed.id, at("2026-12-05T08:59"))
    publish_due(stage.config, at("2026-12-05T09:00"))
    assert stage.records()["old/facebook"].state == PUBLISHED
    recent = delivery_rows(stage.config, at("2026-12-05T10:00"), everything=False)
    # due three months ago, published an hour ago: listed (the page, long out, is not)
    shown = {(r["post"], r["channel"]): r for r in recent}
    assert ("old", "facebook") in shown and ("old", "website") not in shown
    assert shown[("old", "facebook")]["finished"] == "2026-12-05T09:00-05:00"


def test_skipping_a_delivery_being_checked_says_what_to_do(stage):
    from publisher.exceptions import PublisherError

    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.graph.fail_http("POST", "/*/feed", status=500, after_effect=True)  # answer lost
    publish_due(stage.config, at("2026-12-01T09:30"))
    record = stage.records()["one/facebook"]
    assert record.state == SENDING
    with pytest.raises(PublisherError) as caught:
        skip_delivery(stage.config, record.id, at("2026-12-01T09:35"))
    assert "the next pass checks whether it went out" in str(caught.value)
    assert "look at the Page or account yourself" in str(caught.value)


@pytest.mark.parametrize(
    "change", ["slug", "file", "file then slug", "file and slug", "file, slug and date"]
)
def test_a_renamed_post_is_never_sent_again(stage, change):
    path = stage.add_post("hips", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1

    def new_slug(file):
        file.write_text(file.read_text().replace("slug: hips", "slug: hip-flexors"))

    def new_name(file):
        moved = file.with_name("2026-12-01-hip-flexors.md")
        file.rename(moved)
        return moved

    if change == "slug":
        new_slug(path)
    elif change == "file":
        new_name(path)
    elif change == "file then slug":
        path = new_name(path)
        publish_due(stage.config, at("2026-12-01T13:00"))
        new_slug(path)
    elif change == "file and slug":
        new_slug(new_name(path))
    else:  # a new title and date, and the file named after them: only the text is the same
        path = new_name(path)
        new_slug(path)
        path.write_text(
            path.read_text()
            .replace("title: Post hips", "title: Hip flexors at your desk")
            .replace("2026-12-01 09:00", "2026-12-01 08:00")
        )
    publish_due(stage.config, at("2026-12-01T13:30"))
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    slug = "hips" if change == "file" else "hip-flexors"
    records = stage.records()
    assert {records[f"{slug}/{c}"].state for c in ("website", "facebook", "instagram")} == {
        PUBLISHED
    }
    assert all(r.source.endswith(".md") and r.slug == slug for r in records.values())
    page = stage.project.output / f"posts/{slug}/index.html"
    assert page.is_file()
    assert records[f"{slug}/website"].permalink.endswith(f"/posts/{slug}/")
    old = stage.project.output / "posts/hips/index.html"
    if slug != "hips":  # the address on Facebook and Instagram still leads to the article
        moved = old.read_text()
        assert f'http-equiv="refresh" content="0; url={stage.site_url}/posts/{slug}/"' in moved
        assert f'rel="canonical" href="{stage.site_url}/posts/{slug}/"' in moved
        sitemap = (stage.project.output / "sitemap.xml").read_text()
        assert "/posts/hips/" not in sitemap and f"/posts/{slug}/" in sitemap


def test_a_new_article_given_the_address_of_one_taken_down_gets_its_own_posts(stage):
    """A new article with the address (slug) of one deleted months before is not that
    article renamed: check and the first pass that sees it say its Facebook and Instagram
    posts would never go out, and with an address of its own it gets them."""
    from publisher.build import check_site

    old = stage.add_post("hips", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    stage.add_draft()
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    old.unlink()
    publish_due(stage.config, at("2026-12-02T09:00"))  # its page is taken off the site
    assert not (stage.project.output / "posts/hips/index.html").exists()
    new = stage.project.post(
        "2027-03-01-hips.md",
        "title: Hips, again\nslug: hips\ndate: 2027-03-01 09:00\nimage: images/photo.jpg\n"
        "image_alt: A calm room",
        "A new article: three stretches for the hips, every morning.\n",
    )
    said = [str(w) for w in check_site(stage.config, at("2027-02-27T12:00"))]
    expected = (
        "posts/2027-03-01-hips.md:3: warning: /posts/hips/ was the address of an earlier "
        "article (posts/hips.md, published 2026-12-01, its file since gone and its page taken "
        "off the website): its Facebook (published) and Instagram (published) posts count as "
        "that article's, done then, and are never sent. Give this article an address of its "
        "own, a line like  slug: hips-2"
    )
    assert expected in said
    report = publish_due(stage.config, at("2027-02-27T12:00"))
    assert report.needs_person
    assert [p for p in report.problems if "earlier article" in p] == [
        expected.replace(" warning:", "")
    ]
    # the file is not made the earlier article's: a slug of its own makes it a new one
    assert stage.records()["hips/website"].source == "posts/hips.md"
    again = publish_due(stage.config, at("2027-02-27T12:05"))  # said once
    assert not again.needs_person and not again.problems
    # at its date, its page is on the site at the address; check still says it, as it is
    publish_due(stage.config, at("2027-03-01T09:05"))
    page = stage.project.output / "posts/hips/index.html"
    assert "three stretches for the hips" in page.read_text()
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    assert expected in [str(w) for w in check_site(stage.config, at("2027-03-01T09:06"))]
    new.write_text(new.read_text().replace("slug: hips", "slug: hips-2"))
    assert not [w for w in check_site(stage.config, at("2027-03-01T09:07")) if "earlier" in str(w)]
    publish_due(stage.config, at("2027-03-01T12:30"))
    assert len(stage.graph.page_posts()) == 2 and len(stage.graph.ig_media()) == 2
    records = stage.records()
    assert {records[f"hips-2/{c}"].state for c in ("website", "facebook", "instagram")} == {
        PUBLISHED
    }
    assert records["hips/facebook"].state == PUBLISHED  # the earlier article's, as it was
    assert (stage.project.output / "posts/hips-2/index.html").is_file()
    # `publisher new` offers an address no article has had (hips-2 is the new one's)
    written = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(stage.project.config_path)]
        + ["new", "Hips", "--date", "2027-03-10 09:00"],
        capture_output=True,
        text=True,
        env=stage.env,
    )
    assert written.returncode == 0, written.stderr
    assert (
        "/posts/hips/ was the address of an earlier article (posts/hips.md, published "
        "2026-12-01): with it, this post would be taken for that one, and its Facebook and "
        "Instagram posts never sent. Add a line like  slug: hips-3  before you set draft: false."
    ) in written.stderr, written.stderr


def test_an_article_made_a_draft_keeps_its_address_from_a_new_one(stage):
    """The earlier article's file is still there (made a draft): two posts on one address,
    which check names as such, not an earlier article's address taken."""
    from publisher.build import check_site

    old = stage.add_post("hips", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    publish_due(stage.config, at("2026-12-01T12:30"))
    old.write_text(
        old.read_text().replace("date: 2026-12-01 09:00", "date: 2026-12-01 09:00\ndraft: true")
    )
    stage.add_draft()
    publish_due(stage.config, at("2026-12-02T09:00"))
    assert not (stage.project.output / "posts/hips/index.html").exists()
    stage.project.post(
        "2027-03-01-hips.md",
        "title: Hips, again\nslug: hips\ndate: 2027-03-01 09:00",
        "A new article: three stretches for the hips, every morning.\n",
    )
    said = [str(w) for w in check_site(stage.config, at("2027-02-27T12:00"))]
    assert not [w for w in said if "earlier article" in w], said
    assert [w for w in said if "slug 'hips' is already used by" in w], said
    report = publish_due(stage.config, at("2027-02-27T12:00"))
    assert not [p for p in report.problems if "earlier article" in p]


def test_a_published_article_moved_later_is_scheduled_again_and_never_resent(stage):
    from publisher.ledger import SCHEDULED

    path = stage.add_post("later", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    publish_due(stage.config, at("2026-12-01T12:30"))
    page = stage.project.output / "posts/later/index.html"
    assert page.is_file()
    path.write_text(path.read_text().replace("date: 2026-12-01 09:00", "date: 2026-12-10 09:00"))
    publish_due(stage.config, at("2026-12-02T09:00"))
    website = stage.records()["later/website"]
    assert website.state == SCHEDULED and website.due_at == at("2026-12-10T09:00")
    assert "off the site until then" in stage.ledger_dump()
    assert not page.exists()  # as a scheduled post: not before its date
    publish_due(stage.config, at("2026-12-10T09:01"))
    records = stage.records()
    assert records["later/website"].state == PUBLISHED and page.is_file()
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    # a pass run ahead of time (--now), then one at the real time: not "moved", early
    publish_due(stage.config, at("2026-12-05T09:00"))
    early = stage.records()["later/website"]
    assert early.state == SCHEDULED and "published before its date" in stage.ledger_dump()


def test_status_keeps_what_went_out_for_a_deleted_or_drafted_post(stage):
    from publisher.status import delivery_rows, format_table

    gone = stage.add_post("gone", "2026-12-01 09:00", instagram="false")
    drafted = stage.add_post("drafted", "2026-12-01 09:00", instagram="false")
    broken = stage.add_post("broken", "2026-12-01 09:00", instagram="false")
    edited = stage.add_post("edited", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T12:00"))
    gone.unlink()
    drafted.write_text(drafted.read_text().replace("---\nText", "draft: true\n---\nText"))
    edited.write_text(edited.read_text().replace("Text of edited.", "New words of edited."))
    broken.write_text(broken.read_text().replace("title:", "title: One\ntitle:", 1))
    rows = delivery_rows(stage.config, at("2026-12-02T09:00"))
    states = {(r["post"], r["channel"]): r["state"] for r in rows}
    for slug in ("gone", "drafted", "edited", "broken"):
        assert states[(slug, "website")] == PUBLISHED and states[(slug, "facebook")] == PUBLISHED
    table = format_table(rows, stage.config)
    assert "posts/gone.md is gone" in table and "posts/drafted.md is a draft now" in table
    # what became of each: the page goes; the Facebook post stays up, for a person to delete
    notes = {(r["post"], r["channel"]): r["note"] for r in rows}
    assert notes[("drafted", "website")] == (
        "posts/drafted.md is a draft now: its page comes off the website (at the next pass, "
        "if not yet)"
    )
    assert notes[("gone", "facebook")] == (
        "posts/gone.md is gone: this Facebook post stays up, its link to a page that is "
        "gone; delete it on Facebook if it should go, or put the file back to bring the page "
        "back"
    )
    assert "posts/broken.md has a problem: see  publisher check" in table
    # an Instagram post has no link: what it lost is its article
    assert taken_down("instagram", "put the file back") == (
        ": this Instagram post stays up, its article gone; delete it on Instagram if it should "
        "go, or put the file back to bring the page back"
    )
    line = next(x for x in table.splitlines() if "edited" in x and "facebook" in x)
    assert "published (changed since published)" in line


def test_a_new_site_address_is_not_an_edit_of_the_posts_that_went_out(stage):
    """[site] base_url changed after posts went out (the site moved to its real address):
    every link and photo address changes, but no post was edited; a post whose words
    changed still says so."""
    from publisher.status import delivery_rows

    stage.add_post("moved", "2026-12-01 09:00")
    stage.add_post("edited", "2026-12-01 09:00")
    publish_due(stage.config, at("2026-12-01T12:30"))
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace(f'base_url = "{stage.site_url}"', 'base_url = "https://www.clinic.example"')
    )
    edited = stage.project.posts / "edited.md"
    edited.write_text(edited.read_text().replace("Text of edited.", "New words of edited."))
    rows = delivery_rows(stage.config, at("2026-12-02T09:00"))
    changed = {(r["post"], r["channel"]): r["changed_since_published"] for r in rows}
    assert stage.records()["moved/instagram"].state == PUBLISHED
    assert changed[("moved", "facebook")] is False and changed[("moved", "instagram")] is False
    assert changed[("edited", "facebook")] is True and changed[("edited", "instagram")] is True


def test_a_new_site_address_is_not_an_edit_whatever_the_social_templates_show_of_it(stage):
    """Templates that put the article's address into the Facebook message or the Instagram
    caption (`{{ url }}`, `{{ site.base_url }}`) made a new [site] base_url look like an
    edit of every post that went out: status and calendar said "published (changed since
    published)" for each. Only a change of words is an edit, wherever the address shows."""
    import shutil

    from .conftest import REPO

    templates = stage.project.root / "templates"
    shutil.copytree(REPO / "templates", templates)
    social = templates / "social"
    facebook = social / "facebook.txt.j2"
    facebook.write_text(facebook.read_text() + "\nRead it all: {{ url }}\n")
    instagram = social / "instagram.txt.j2"
    instagram.write_text(
        "{{ title }} ({{ site.base_url }}/posts/{{ post.slug }}/, {{ url | length }})\n\n"
        + instagram.read_text()
    )
    config = stage.project.config_path
    config.write_text(config.read_text().replace(str(REPO / "templates"), str(templates)))
    stage.add_post("moved", "2026-12-01 09:00")
    stage.add_post("edited", "2026-12-01 09:00")
    publish_due(stage.config, at("2026-12-01T12:30"))
    sent = stage.records()["moved/facebook"].payload
    assert f"Read it all: {stage.site_url}/posts/moved/" in sent["message"], sent
    config.write_text(
        config.read_text().replace(
            f'base_url = "{stage.site_url}"', 'base_url = "https://www.clinic.example/blog"'
        )
    )
    edited = stage.project.posts / "edited.md"
    edited.write_text(edited.read_text().replace("Text of edited.", "New words of edited."))

    status = stage.command("status").stdout
    calendar = stage.command("calendar", "--all", "--now", "2026-12-02T09:00").stdout
    for table in (status, calendar):
        for channel in ("facebook", "instagram"):
            moved = next(x for x in table.splitlines() if channel in x and "moved" in x)
            edited = next(x for x in table.splitlines() if channel in x and "edited" in x)
            assert "changed since published" not in moved, table
            assert "published (changed since published)" in edited, table


def test_status_and_calendar_show_the_pages_where_the_site_has_them_now(stage):
    """After base_url changed, status and calendar showed the old address of every page
    that went out: they show the page's address on the site now (a Facebook or Instagram
    link is Meta's, and stays as Meta gave it)."""
    stage.add_post("moved", "2026-12-01 09:00")
    publish_due(stage.config, at("2026-12-01T12:30"))
    old = f"{stage.site_url}/posts/moved/"
    facebook = stage.records()["moved/facebook"].permalink
    assert stage.records()["moved/website"].permalink == old and facebook
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace(f'base_url = "{stage.site_url}"', 'base_url = "https://www.clinic.example"')
    )
    new = "https://www.clinic.example/posts/moved/"
    status = stage.command("status").stdout
    calendar = stage.command("calendar", "--all", "--now", "2026-12-02T09:00").stdout
    for table in (status, calendar):
        line = next(x for x in table.splitlines() if "website" in x and "moved" in x)
        assert line.endswith(new), table
        assert old not in table and facebook in table, table
    assert f'"permalink": "{new}"' in stage.command("status", "--json").stdout


def _edited_after_it_went_out(stage, **front: str):
    """A post published at 12:30, then edited: its terminal preview the next day."""
    edited = stage.add_post("edited", "2026-12-01 09:00", **front)
    publish_due(stage.config, at("2026-12-01T12:30"))
    edited.write_text(edited.read_text().replace("Text of edited.", "New words of edited."))
    return stage.command("preview", "posts/edited.md", "--now", "2026-12-02T09:00")


def test_the_preview_of_a_post_edited_after_it_went_out_says_the_channels_keep_the_old(stage):
    from bs4 import BeautifulSoup

    stage.add_post("untouched", "2026-12-01 09:00")
    said = _edited_after_it_went_out(stage)
    assert (
        "edited since it went out: Facebook and Instagram keep the text they got; what is "
        "shown below for them is the new text, which goes nowhere"
    ) in said.stdout
    assert "New words of edited." in said.stdout  # the new text, shown as such
    other = stage.command("preview", "posts/untouched.md", "--now", "2026-12-02T09:00")
    assert "edited since it went out" not in other.stdout
    html = stage.command("preview", "--html", "--now", "2026-12-02T09:00")
    assert html.returncode == 0, html.stderr
    folder = stage.config.preview_dir / "posts"
    page = BeautifulSoup((folder / "edited/index.html").read_text(), "html.parser")
    box = page.select_one(".changed-box")
    assert box is not None and "Facebook and Instagram got this post before the edit" in (
        box.get_text(" ", strip=True)
    )
    untouched = BeautifulSoup((folder / "untouched/index.html").read_text(), "html.parser")
    assert untouched.select_one(".changed-box") is None


def test_the_preview_of_an_edited_post_that_went_to_facebook_alone_says_it(stage):
    from bs4 import BeautifulSoup

    said = _edited_after_it_went_out(stage, instagram="false")
    assert (
        "edited since it went out: Facebook keeps the text it got; what is shown below for it "
        "is the new text, which goes nowhere"
    ) in said.stdout
    html = stage.command("preview", "--html", "--now", "2026-12-02T09:00")
    assert html.returncode == 0, html.stderr
    page = stage.config.preview_dir / "posts/edited/index.html"
    box = BeautifulSoup(page.read_text(), "html.parser").select_one(".changed-box")
    assert box is not None and (
        "Facebook got this post before the edit and keeps the text it got: what is shown "
        "below for it is the new text"
    ) in box.get_text(" ", strip=True)


def test_the_preview_of_a_live_post_says_its_missed_social_posts(stage):
    """preview said "status: published" of an article whose Facebook and Instagram posts
    were missed (the service was off), and showed their times as if they went out."""
    stage.add_post("late", "2026-12-01 09:00")
    publish_due(stage.config, at("2026-12-01T20:00"))  # more than 6 hours after their times
    records = stage.records()
    assert records["late/facebook"].state == MISSED and records["late/website"].state == PUBLISHED
    said = stage.command("preview", "late", "--now", "2026-12-01T20:05").stdout
    assert "  status: published (Facebook missed, Instagram missed: see below)" in said, said
    (facebook,) = [line for line in said.splitlines() if line.startswith("  facebook ")]
    assert "missed: " in facebook and f"publisher retry {records['late/facebook'].id}" in facebook
    (website,) = [line for line in said.splitlines() if line.startswith("  website ")]
    assert "missed" not in website


def test_the_html_preview_of_a_live_post_shows_its_missed_social_posts(stage):
    """The HTML preview gave a missed post's page and its line in the index one badge,
    PUBLISHED, like a post whose every channel went out."""
    from bs4 import BeautifulSoup

    stage.add_post("late", "2026-12-01 09:00")
    stage.add_post("on-time", "2026-12-01 19:00")
    publish_due(stage.config, at("2026-12-01T20:00"))
    records = stage.records()
    assert records["late/instagram"].state == MISSED
    assert records["on-time/website"].state == PUBLISHED
    done = stage.command("preview", "--html", "--now", "2026-12-01T20:05")
    assert done.returncode == 0, done.stderr
    folder = stage.config.preview_dir
    page = BeautifulSoup((folder / "posts/late/index.html").read_text(), "html.parser")
    badges = [b.get_text(" ", strip=True) for b in page.select(".post-head .badge")]
    assert badges == ["Published", "⚠ Facebook missed", "⚠ Instagram missed"], badges
    notes = [n.get_text(" ", strip=True) for n in page.select(".time-instagram .state-note")]
    assert len(notes) == 1 and notes[0].startswith("missed: "), notes
    assert f"publisher retry {records['late/instagram'].id}" in notes[0]
    assert not page.select(".time-website .state-note")
    index = BeautifulSoup((folder / "index.html").read_text(), "html.parser")
    looks = [b.get_text(" ", strip=True) for b in index.select(".entry .badge-look")]
    assert looks == ["⚠ Facebook missed", "⚠ Instagram missed"], looks


def test_a_photo_replaced_under_the_same_name_reaches_the_site(stage):
    stage.add_post("photo", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T09:31"))
    served = stage.project.output / "posts/photo/photo.jpg"
    before = served.read_bytes()
    assert publish_due(stage.config, at("2026-12-01T09:40")).outcomes == []  # quiet
    stage.project.image("images/photo.jpg", (1200, 800), color="#c33")  # a new photo
    assert (stage.project.posts / "images/photo.jpg").read_bytes() != before
    publish_due(stage.config, at("2026-12-01T09:41"))
    assert served.read_bytes() == (stage.project.posts / "images/photo.jpg").read_bytes()


def test_secrets_file_must_be_private(stage, tmp_path):
    secrets = stage.project.root / "secrets.env"
    secrets.write_text(f"PUBLISHER_FACEBOOK_TOKEN={TOKEN}\n")
    secrets.chmod(0o644)
    stage.project.config_path.write_text(
        stage.project.config_path.read_text() + '\n[graph]\nsecrets_file = "secrets.env"\n'
    )
    stage.env.pop("PUBLISHER_FACEBOOK_TOKEN")
    stage.add_post("sec", "2026-12-01 09:00", instagram="false")
    refused = stage.run("2026-12-01T09:31")
    assert refused.returncode == 1
    said = refused.stdout + refused.stderr
    assert "can be read by other users (mode -rw-r--r--): run  chmod 600" in said
    assert TOKEN not in said
    # the website does not wait for the social channels' tokens
    assert stage.records()["sec/website"].state == PUBLISHED
    assert stage.graph.page_posts() == []
    check = stage.command("check")
    assert check.returncode == 1 and "run  chmod 600" in check.stdout
    secrets.chmod(0o600)
    assert stage.run("2026-12-01T09:32").returncode == 0
    assert len(stage.graph.page_posts()) == 1


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: p.mkdir(mode=0o700), "is a folder: name the file itself"),
        (lambda p: (p.write_bytes(b"A=\xff\n"), p.chmod(0o600)), "is not UTF-8 text"),
        (lambda p: None, "does not exist"),
    ],
)
def test_a_secrets_file_that_cannot_be_read_says_why(tmp_path, make, said):
    from publisher.exceptions import ConfigError
    from publisher.tokens import read_secrets_file

    path = tmp_path / "secrets.env"
    make(path)
    with pytest.raises(ConfigError) as caught:
        read_secrets_file(path)
    assert said in str(caught.value) and "[graph.secrets_file]" in str(caught.value)


def test_a_secrets_file_line_not_name_value_or_a_name_mistyped_is_said_without_its_token(
    stage, tmp_path
):
    """A colon for the =, or PUBLISHER_INSTAGRAM_TOKN, was skipped without a word: the
    channel then said only that its variable is not set."""
    from publisher.exceptions import ConfigError
    from publisher.tokens import read_secrets_file

    path = tmp_path / "secrets.env"
    for text, said in (
        (f"# ours\nPUBLISHER_FACEBOOK_TOKEN: {TOKEN}\n", "line 2 of the secrets file"),
        (
            f"DEPLOY_KEY=abc\nexport PUBLISHER_INSTAGRAM_TOKN={TOKEN}\n",
            "line 2 of the secrets file {path} names PUBLISHER_INSTAGRAM_TOKN, which publisher "
            "does not read: did you mean PUBLISHER_INSTAGRAM_TOKEN?",
        ),
    ):
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(ConfigError) as caught:
            read_secrets_file(path)
        assert said.format(path=path) in str(caught.value) and TOKEN not in str(caught.value)
    path.write_text(f"DEPLOY_KEY=abc\nexport PUBLISHER_FACEBOOK_TOKEN='{TOKEN}'\n")
    assert read_secrets_file(path)["PUBLISHER_FACEBOOK_TOKEN"] == TOKEN
    # no token anywhere: the message names the secrets file the admin uses, and the
    # Facebook token Instagram falls back to
    path.write_text("DEPLOY_KEY=abc\n")
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(text + f'\n[graph]\nsecrets_file = "{path}"\n')
    bare = {k: v for k, v in stage.env.items() if not k.startswith("PUBLISHER_")}
    told = stage.command("accounts", env=bare)
    assert told.returncode == 1
    assert f"Set it in the secrets file {path} ([graph] secrets_file) or in the environment" in (
        told.stdout
    )
    assert (
        "instagram: no token: PUBLISHER_INSTAGRAM_TOKEN (nor PUBLISHER_FACEBOOK_TOKEN, which "
        "Instagram uses without its own) is not set"
    ) in told.stdout


def test_a_graph_address_written_wrong_is_one_line_not_a_traceback(stage):
    for address, said in (
        ("graph.facebook.com", "must be an http(s) address such as https://graph.facebook.com"),
        (f"{stage.graph.url}/v26.0", "is the address alone, without the version"),
    ):
        result = stage.command("accounts", env=dict(stage.env, PUBLISHER_GRAPH_URL=address))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"error: $PUBLISHER_GRAPH_URL {said}" in result.stderr, result.stderr
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text + '\n[graph]\nurl = "https://graph.facebook.com/v26.0"\n'
    )
    env = {k: v for k, v in stage.env.items() if k != "PUBLISHER_GRAPH_URL"}
    result = stage.command("check", env=env)
    assert (
        result.returncode == 1
        and "[graph.url] is the address alone" in result.stdout + result.stderr
    )


def test_skip_or_retry_of_a_delivery_not_tried_yet_says_what_to_do(stage):
    for command, said in (
        ("skip", "write  facebook: false  or  instagram: false  in its front matter"),
        ("retry", "it goes out at its time"),
    ):
        result = stage.command(command, "neck/facebook")
        assert result.returncode == 2, result.stderr
        assert "'neck/facebook' is not a delivery's ID" in result.stderr and said in result.stderr


def test_accounts_reports_in_plain_words(stage):
    result = stage.command("accounts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'facebook: Facebook Page "Riverside Clinic"' in result.stdout
    assert "instagram: Instagram account @riversideclinic" in result.stdout
    assert "permissions: " in result.stdout and "pages_manage_posts" in result.stdout
    # which token was checked (the environment's wins over the secrets file's), never itself
    assert "token used: PUBLISHER_FACEBOOK_TOKEN, from the environment\n" in result.stdout
    assert (
        "token used: PUBLISHER_FACEBOOK_TOKEN (the Facebook token: PUBLISHER_INSTAGRAM_TOKEN "
        "is not set), from the environment"
    ) in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    secrets = stage.project.root / "secrets.env"
    secrets.write_text(f"PUBLISHER_FACEBOOK_TOKEN={TOKEN}\n")
    secrets.chmod(0o600)
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(text + '\n[graph]\nsecrets_file = "secrets.env"\n')
    listed = stage.command("accounts", "--json")
    assert '"token_from": "PUBLISHER_FACEBOOK_TOKEN, from the environment (it wins over the' in (
        listed.stdout
    )
    env = {k: v for k, v in stage.env.items() if k != "PUBLISHER_FACEBOOK_TOKEN"}
    listed = stage.command("accounts", env=env)
    assert "token used: PUBLISHER_FACEBOOK_TOKEN, from secrets.env" in listed.stdout
    stage.project.config_path.write_text(text)
    import socket

    with socket.socket() as closed:  # a port nobody answers on: Meta cannot be reached
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = stage.command("accounts", env=dict(stage.env, PUBLISHER_GRAPH_URL=nowhere))
    assert result.returncode == 1
    assert result.stdout.count("token: not checked (the Graph API could not be reached)") == 2
    assert "not working" not in result.stdout
    # run by hand without the environment file the service reads: no claim of a dry run
    bare = {k: v for k, v in stage.env.items() if not k.startswith("PUBLISHER_")}
    told = stage.command("accounts", env=bare)
    assert told.returncode == 1
    assert (
        "facebook: no token: PUBLISHER_FACEBOOK_TOKEN is not set where publisher runs now"
    ) in told.stdout
    assert "the environment file the service and cron read" in told.stdout
    assert "dry run" not in told.stdout


def test_usage_headers_near_the_limit_hold_the_rest_for_later(stage):
    for n in range(3):
        stage.add_post(f"busy{n}", f"2026-12-01 09:0{n}", instagram="false")
    stage.graph.usage = {"call_count": 92, "total_cputime": 10, "total_time": 10}
    report = publish_due(stage.config, at("2026-12-01T09:45"))
    assert not report.needs_person
    assert len(stage.graph.page_posts()) == 1  # one went out, then the pass slowed down
    stage.graph.usage = {"call_count": 5, "total_cputime": 1, "total_time": 1}
    publish_due(stage.config, at("2026-12-01T09:50"))
    assert len(stage.graph.page_posts()) == 3


def test_a_quiet_pass_still_notices_new_posts_retries_and_time(stage):
    stage.add_post("first", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T09:40"))
    assert len(stage.graph.page_posts()) == 1
    # Nothing is due until a new post arrives: that pass is quick, and the new post wakes it.
    assert publish_due(stage.config, at("2026-12-01T09:41")).outcomes == []
    stage.add_post("second", "2026-12-01 09:42", instagram="false")
    publish_due(stage.config, at("2026-12-01T09:43"))
    assert stage.records()["second/website"].state == PUBLISHED
    # Its Facebook delivery is at 10:12: a pass before does nothing, one after sends it.
    publish_due(stage.config, at("2026-12-01T10:11"))
    assert len(stage.graph.page_posts()) == 1
    publish_due(stage.config, at("2026-12-01T10:12"))
    assert len(stage.graph.page_posts()) == 2
    # A person's retry (a ledger change) wakes a quiet pass too.
    stage.add_post("old", "2026-11-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T10:20"))
    missed = stage.records()["old/facebook"]
    assert missed.state == MISSED
    publish_due(stage.config, at("2026-12-01T10:21"))
    retry_delivery(stage.config, missed.id, at("2026-12-01T10:22"))
    publish_due(stage.config, at("2026-12-01T10:23"))
    assert len(stage.graph.page_posts()) == 3


def test_a_broken_live_post_comes_down_when_deleted_or_withdrawn_at_the_next_pass(stage):
    """A published post edited into a problem stays on the site as it was; deleting its
    file, or fixing it into a draft, takes it down at the next pass, as for any post."""
    page = stage.config.output_dir / "posts/hips/index.html"
    stage.add_draft()  # the posts folder is not left with no post at all
    for withdraw in ("delete", "draft"):
        source = stage.add_post("hips", "2026-12-01 09:00")
        publish_due(stage.config, at("2026-12-01T09:05"))
        assert page.exists()
        good = source.read_text()
        source.write_text(
            good.replace("image_alt: A calm room", "image_alt: A calm room\ntags: [a")
        )
        for minute in (10, 11):  # every pass says so
            report = publish_due(stage.config, at(f"2026-12-01T09:{minute}"))
            assert page.exists() and any("keeps showing the post" in p for p in report.problems)
            # its Instagram post waits for the fix: so does the image it will fetch
            assert page.with_name("instagram.jpg").exists()
        if withdraw == "delete":
            source.unlink()
        else:
            source.write_text(
                good.replace("image_alt: A calm room", "image_alt: A calm room\ndraft: true")
            )
        publish_due(stage.config, at("2026-12-01T09:15"))
        assert not page.exists(), withdraw
        source.unlink(missing_ok=True)
        publish_due(stage.config, at("2026-12-01T09:16"))


def test_a_site_deleted_by_hand_is_built_again_by_the_next_pass(stage):
    import shutil

    stage.add_post("neck", "2026-12-01 09:00")
    publish_due(stage.config, at("2026-12-01T09:05"))
    publish_due(stage.config, at("2026-12-01T09:06"))  # nothing to do: the quiet kind
    shutil.rmtree(stage.config.output_dir)
    publish_due(stage.config, at("2026-12-01T09:07"))
    assert (stage.config.output_dir / "posts/neck/index.html").exists()


def test_status_names_a_post_saved_as_text_which_nothing_reads(stage):
    """Notepad's "Save" makes stretches.md.txt: the post is not read, so no row of `status`
    can show it; status says so under the list, with the name to give it."""
    stage.add_post("calves", "2026-12-01 09:00", instagram="false")
    saved = stage.project.posts / "stretches.md"
    saved.write_text("---\ntitle: Stretches\ndate: 2026-12-02 09:00\n---\nText.\n")
    saved.rename(saved.with_name("stretches.md.txt"))
    status = stage.command("status")
    assert status.returncode == 0, status.stderr
    assert (
        "posts/stretches.md.txt: a post saved as text is not read: rename it to stretches.md"
    ) in status.stdout.splitlines(), status.stdout
    (stage.project.posts / "stretches.md.txt").rename(saved)
    status = stage.command("status")
    assert "saved as text" not in status.stdout
    assert "stretches" in status.stdout


def test_status_lists_the_deliveries_of_a_live_post_with_a_problem_as_waiting(stage):
    """Its Facebook and Instagram rows do not vanish while its file has a problem: they wait,
    before any pass has seen the problem and after, and go out once it is fixed."""
    from publisher.status import delivery_rows

    source = stage.add_post(
        "calves",
        "2026-12-01 09:00",
        facebook="{at: 2026-12-01 18:00}",
        instagram="{at: 2026-12-01 19:00}",
    )
    publish_due(stage.config, at("2026-12-01T09:05"))
    good = source.read_text()
    source.write_text(good.replace("image_alt: A calm room", "image_alt: A calm room\ntags: [a"))

    def states():
        rows = delivery_rows(stage.config, at("2026-12-01T17:00"))
        return {r["channel"]: (r["state"], r["note"]) for r in rows if r["post"] == "calves"}

    note = "posts/calves.md has a problem: see  publisher check"
    expected = {
        "website": ("published", note),
        "facebook": ("waiting", note),
        "instagram": ("waiting", note),
    }
    assert states() == expected  # before any pass
    publish_due(stage.config, at("2026-12-01T18:05"))
    assert states() == expected  # after one: the facebook post waited
    assert stage.graph.page_posts() == []
    late = {r["channel"]: r["error"] for r in delivery_rows(stage.config, at("2026-12-02T01:00"))}
    assert "publisher retry" in late["facebook"] and late["instagram"].startswith("goes out")
    source.write_text(good)
    publish_due(stage.config, at("2026-12-01T18:10"))
    assert stage.records()["calves/facebook"].state == PUBLISHED


def test_a_pass_logs_a_page_it_takes_off_the_website(stage, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="publisher.publish")
    source = stage.add_post("hips", "2026-12-01 09:00")
    stage.add_draft()  # the posts folder is not left with no post at all
    publish_due(stage.config, at("2026-12-01T09:05"))
    source.unlink()
    publish_due(stage.config, at("2026-12-01T09:10"))
    assert f"taken off the website: {stage.config.base_url}/posts/hips/" in caplog.text


@pytest.mark.parametrize("channel", ["facebook", "instagram"])
def test_a_lost_send_whose_check_fails_on_the_token_is_still_checked_before_a_retry(stage, channel):
    """The token expires while a send whose answer was lost waits to be checked: the
    delivery stays unsettled (not `failed`, which `retry` would have sent again), and once
    the token works the check finds the post that did go out."""
    other = "instagram" if channel == "facebook" else "facebook"
    stage.add_post(
        "lost", "2026-12-01 09:00", **{channel: "{at: 2026-12-01 09:00}", other: "false"}
    )
    path = "/*/feed" if channel == "facebook" else "/*/media_publish"
    stage.graph.drop("POST", path, times=1, after_effect=True)
    publish_due(stage.config, at("2026-12-01T09:05"))
    assert stage.records()[f"lost/{channel}"].state == SENDING
    stage.graph.set_token_state(TOKEN, "expired")
    report = publish_due(stage.config, at("2026-12-01T09:30"))
    record = stage.records()[f"lost/{channel}"]
    assert record.state == SENDING and report.needs_person
    assert record.last_error.startswith(f"could not check yet: the {channel.title()} token expired")
    said = retry_delivery(stage.config, record.id, at("2026-12-01T09:40"))
    assert "may have gone out already: the next pass checks" in said
    assert stage.records()[f"lost/{channel}"].state == SENDING
    stage.graph.set_token_state(TOKEN, "valid")
    publish_due(stage.config, at("2026-12-01T09:41"))
    record = stage.records()[f"lost/{channel}"]
    assert record.state == PUBLISHED
    made = stage.graph.page_posts() if channel == "facebook" else stage.graph.ig_media()
    assert [m["id"] for m in made] == [record.remote_id]


def passes_until_failed(stage, key, clock, passes=8):
    """A pass every 15 minutes from `clock` until delivery `key` fails: their reports."""
    reports = []
    for _ in range(passes):
        reports.append(publish_due(stage.config, clock))
        if stage.records()[key].state == FAILED:
            break
        clock += timedelta(minutes=15)
    return reports


def test_sends_that_never_get_an_answer_give_up_after_max_attempts(tmp_path):
    for stage in staged(tmp_path, "max_attempts = 3\n"):
        stage.add_post("down", "2026-12-01 09:00", instagram="false")
        stage.graph.fail_http("POST", "/*/feed", status=503, times=None)
        reports = passes_until_failed(stage, "down/facebook", at("2026-12-01T09:31"))
        record = stage.records()["down/facebook"]
        assert record.state == FAILED and reports[-1].needs_person
        assert record.last_error.startswith("gave up after 3 attempts, none of which went out")
        sends = [r for r in stage.graph.requests if r.method == "POST" and r.path.endswith("/feed")]
        assert len(sends) == 3 and stage.graph.page_posts() == []


def test_a_delivery_held_back_by_meta_is_missed_once_too_late(stage):
    stage.add_post("throttled", "2026-12-01 09:00", instagram="false")
    stage.graph.fail_graph("POST", "/*/feed", code=32, is_transient=True, times=1)
    publish_due(stage.config, at("2026-12-01T09:31"))
    assert stage.records()["throttled/facebook"].state == RETRY
    report = publish_due(stage.config, at("2026-12-01T16:31"))  # 7 hours after its time
    record = stage.records()["throttled/facebook"]
    assert record.state == MISSED and report.needs_person
    assert "due 2026-12-01 09:30 EST, 7.0 hours ago" in record.last_error
    assert stage.graph.page_posts() == []
    retry_delivery(stage.config, record.id, at("2026-12-01T16:40"))
    publish_due(stage.config, at("2026-12-01T16:41"))
    assert stage.records()["throttled/facebook"].state == PUBLISHED


def test_a_lost_send_of_a_post_deleted_since_is_still_checked(stage):
    """Passes with nothing to do stop at once; one whose send's outcome is still to be
    checked is not among them, even when its post file is gone."""
    post = stage.add_post("gone", "2026-12-01 09:00", instagram="false")
    stage.add_draft()  # the posts folder is not left with no post at all
    stage.graph.drop("POST", "/*/feed", times=1)  # not created
    publish_due(stage.config, at("2026-12-01T09:31"))
    assert stage.records()["gone/facebook"].state == SENDING
    post.unlink()
    publish_due(stage.config, at("2026-12-01T09:31:10"))
    assert stage.records()["gone/facebook"].state == SENDING  # its check is not due yet
    checks = len(stage.graph.requests)
    publish_due(stage.config, at("2026-12-01T10:30"))
    record = stage.records()["gone/facebook"]
    assert record.state == RETRY and record.last_error == "not on the Page's recent posts"
    assert len(stage.graph.requests) > checks and stage.graph.page_posts() == []


def test_a_wrong_page_id_is_named_as_such(tmp_path):
    for stage in staged(tmp_path):
        text = stage.project.config_path.read_text()
        stage.project.config_path.write_text(
            text.replace(f'page_id = "{stage.graph.page_id}"', 'page_id = "999"')
        )
        stage.add_post("wrong", "2026-12-01 09:00", instagram="false")
        report = publish_due(stage.config, at("2026-12-01T09:31"))
        record = stage.records()["wrong/facebook"]
        assert record.state == FAILED and report.needs_person
        assert "the Facebook account id does not exist or the token cannot see it" in (
            record.last_error
        )


def test_status_says_why_a_due_delivery_was_held_back(stage):
    from publisher.status import delivery_rows, format_table

    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.add_post("two", "2026-12-01 09:01", instagram="false")
    stage.graph.set_token_state(TOKEN, "expired")
    publish_due(stage.config, at("2026-12-01T12:30"))
    rows = {
        (r["post"], r["channel"]): r for r in delivery_rows(stage.config, at("2026-12-01T12:31"))
    }
    for post in ("one", "two"):
        held = rows[(post, "facebook")]
        assert held["state"] == "due" and held["error"].startswith(
            "held back by the pass of 2026-12-01 12:30: the Facebook token expired"
        )
    assert "held back by the pass" in format_table(list(rows.values()), stage.config)
    stage.graph.set_token_state(TOKEN, "valid")  # (a permission given back: the same token)
    publish_due(stage.config, at("2026-12-01T12:46"))
    rows = delivery_rows(stage.config, at("2026-12-01T12:47"))
    assert {r["state"] for r in rows} == {PUBLISHED} and not any(r["error"] for r in rows)


def test_an_instagram_container_left_unpublished_is_missed_once_too_late(stage):
    stage.add_post("late", "2026-12-01 09:00", facebook="false")
    stage.graph.drop("POST", "/*/media_publish", times=1)  # lost, and not published
    publish_due(stage.config, at("2026-12-01T12:01"))
    assert stage.records()["late/instagram"].state == SENDING
    report = publish_due(stage.config, at("2026-12-02T12:10"))
    record = stage.records()["late/instagram"]
    assert record.state == MISSED and report.needs_person and stage.graph.ig_media() == []
    retry_delivery(stage.config, record.id, at("2026-12-02T12:20"))
    publish_due(stage.config, at("2026-12-02T12:21"))
    assert stage.records()["late/instagram"].state == PUBLISHED
    assert len(stage.graph.ig_media()) == 1


def test_instagram_publishing_answered_5xx_forever_gives_up_after_max_attempts(tmp_path):
    for stage in staged(tmp_path, "max_attempts = 3\n"):
        stage.add_post("down", "2026-12-01 09:00", facebook="false")
        stage.graph.fail_http("POST", "/*/media_publish", status=503, times=None)
        reports = passes_until_failed(stage, "down/instagram", at("2026-12-01T12:01"))
        record = stage.records()["down/instagram"]
        assert record.state == FAILED and reports[-1].needs_person
        assert record.last_error.startswith("gave up after 3 attempts, none of which went out")
        calls = [r for r in stage.graph.requests if r.path.endswith("/media_publish")]
        assert len(calls) == 3 and stage.graph.ig_media() == []
        # each pass in between says what it did (not just "nothing was due")
        for report in reports[1:-1]:
            assert [o.state for o in report.outcomes] == [SENDING], report.outcomes


def test_a_live_post_whose_text_names_a_missing_image_stays_as_it_was_through_passes(stage):
    """A problem only the page finds (an image in the text not found) keeps the live page
    as it was, as a problem in the front matter does; fixing it updates the page."""
    page = stage.config.output_dir / "posts/neck/index.html"
    source = stage.add_post("neck", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-12-01T09:05"))
    before = page.read_bytes()
    good = source.read_text()
    source.write_text(good + "\n![Stretch](images/stretch.jpg)\n")
    for minute in (10, 11):
        report = publish_due(stage.config, at(f"2026-12-01T09:{minute}"))
        assert page.read_bytes() == before
        assert any("images/stretch.jpg" in p and "keeps showing" in p for p in report.problems), (
            minute,
            report.problems,
        )
    # its Facebook post, due at 09:30, waits: it would link to a page that is not the post's
    publish_due(stage.config, at("2026-12-01T09:31"))
    assert stage.graph.page_posts() == [] and "neck/facebook" not in stage.records()
    from publisher.status import delivery_rows

    rows = {r["channel"]: r for r in delivery_rows(stage.config, at("2026-12-01T09:32"))}
    assert rows["facebook"]["state"] == "waiting" and rows["website"]["state"] == PUBLISHED
    source.write_text(good + "\nA new line.\n")
    publish_due(stage.config, at("2026-12-01T09:40"))
    assert "A new line." in page.read_text()
    assert stage.records()["neck/facebook"].state == PUBLISHED


def test_a_small_photo_damaged_inside_leaves_its_page_up_and_says_so(stage):
    """Only making the Instagram image reads a small photo whole: the page goes up (the
    website delivery is published), and the photo's problem is listed for a person."""
    from .test_build import damaged_png

    stage.add_post("dented", "2026-12-01 09:00", facebook="false")
    (stage.project.posts / "images/photo.jpg").write_bytes(damaged_png((600, 400)))
    report = publish_due(stage.config, at("2026-12-01T09:05"))
    assert stage.records()["dented/website"].state == PUBLISHED
    assert (stage.config.output_dir / "posts/dented/index.html").exists()
    assert report.needs_person and any("is damaged inside" in p for p in report.problems)


def test_status_says_when_a_retry_would_come_too_late(stage):
    from publisher.status import delivery_rows

    stage.add_post("quota", "2026-12-01 09:00", facebook="false")
    stage.graph.quota_total = 0  # Instagram's 24-hour publishing limit is reached
    publish_due(stage.config, at("2026-12-01T17:31"))  # due 12:00; tried again in an hour
    row = next(
        r
        for r in delivery_rows(stage.config, at("2026-12-01T17:32"))
        if r["post"] == "quota" and r["channel"] == "instagram"
    )
    assert row["state"] == RETRY and row["next_attempt"] == "2026-12-01T18:31-05:00"
    assert row["note"].startswith(
        "more than 6h late by then: the pass at that time marks it missed"
    )
    publish_due(stage.config, at("2026-12-01T18:31"))
    assert stage.records()["quota/instagram"].state == MISSED


def test_a_new_post_does_not_take_the_address_of_a_broken_live_post(stage):
    page = stage.config.output_dir / "posts/hips/index.html"
    source = stage.add_post("hips", "2026-12-01 09:00", instagram="false", facebook="false")
    publish_due(stage.config, at("2026-12-01T09:05"))
    before = page.read_bytes()
    source.write_text(
        source.read_text().replace("image_alt: A calm room", "image_alt: A calm room\ntags: [a")
    )
    stage.project.post(
        "newer.md",
        "title: Newer\nslug: hips\ndate: 2026-12-01 09:30\nfacebook: false\ninstagram: false",
    )
    report = publish_due(stage.config, at("2026-12-01T09:40"))
    assert page.read_bytes() == before
    assert any(
        "posts/newer.md" in p and "slug 'hips' is already used by posts/hips.md" in p
        for p in report.problems
    )
    assert stage.records()["hips/website"].source == "posts/hips.md"
    # the new post is not live: the calendar does not list it as a live post waiting
    from publisher.build import live_versions

    live = live_versions(stage.config, {"posts/hips.md", "posts/newer.md"})
    assert [post.display for post in live] == ["posts/hips.md"]


def test_an_instagram_container_waits_while_its_post_has_a_problem(stage):
    """A lost media_publish left the container unpublished; the post is then edited into a
    problem: the delivery waits for the fix (it is not withdrawn), then goes out once."""
    source = stage.add_post("mend", "2026-12-01 09:00", facebook="false")
    stage.graph.drop("POST", "/*/media_publish", times=1)  # lost, and not published
    publish_due(stage.config, at("2026-12-01T12:01"))
    assert stage.records()["mend/instagram"].state == SENDING
    good = source.read_text()
    source.write_text(good.replace("image_alt: A calm room", "image_alt: A calm room\ntags: [a"))
    publish_due(stage.config, at("2026-12-01T12:20"))
    assert stage.records()["mend/instagram"].state == SENDING and stage.graph.ig_media() == []
    source.write_text(good)
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert stage.records()["mend/instagram"].state == PUBLISHED
    assert len(stage.graph.ig_media()) == 1


# Found by the review of the look before a late send and of the text fingerprint


def test_a_post_renamed_retitled_and_redated_after_passes_cached_it_is_not_sent_again(stage):
    # the usual way: written days ahead, so passes before its date see it (and cache it)
    path = stage.add_post("hips", "2026-12-01 09:00", facebook="{at: 2026-12-01 09:00}")
    publish_due(stage.config, at("2026-11-28T09:00"))
    publish_due(stage.config, at("2026-12-01T09:00"))
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1
    # a new title and date, the file named after them: only the text is the same
    new = path.with_name("hip-flexors.md")
    new.write_text(
        path.read_text()
        .replace("title: Post hips", "title: Hip flexors")
        .replace("slug: hips", "slug: hip-flexors")
        .replace("2026-12-01 09:00", "2026-12-01 08:00")
    )
    path.unlink()
    publish_due(stage.config, at("2026-12-01T13:30"))
    assert len(stage.graph.page_posts()) == 1 and len(stage.graph.ig_media()) == 1


def test_a_new_article_does_not_take_the_history_of_a_deleted_one(stage):
    old = stage.add_post("withdrawn", "2026-12-01 09:00", instagram="false")
    publish_due(stage.config, at("2026-11-28T09:00"))
    publish_due(stage.config, at("2026-12-01T09:00"))
    publish_due(stage.config, at("2026-12-01T12:30"))
    assert len(stage.graph.page_posts()) == 1
    # a wholly different article, written ahead and seen by a pass
    stage.project.post(
        "knees.md",
        "title: Knees\nslug: knees\ndate: 2026-12-10 09:00\ninstagram: false\n"
        "image: images/photo.jpg\nimage_alt: A calm room",
        "Something else entirely about knees.\n",
    )
    publish_due(stage.config, at("2026-12-02T09:00"))
    old.unlink()  # the first article is withdrawn
    publish_due(stage.config, at("2026-12-02T10:00"))
    publish_due(stage.config, at("2026-12-10T09:00"))
    publish_due(stage.config, at("2026-12-10T09:30"))
    records = stage.records()
    assert records["knees/website"].state == PUBLISHED
    assert len(stage.graph.page_posts()) == 2, {
        k: (r.state, r.last_error) for k, r in records.items()
    }


def test_a_look_first_that_keeps_failing_is_counted_and_given_up(stage):
    """After a lost ledger, a late first send reads the Page first: if that read fails
    every time, the delivery is not left retrying for ever nor sent blind."""
    from datetime import timedelta

    from publisher.ledger import FAILED

    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T09:30").returncode == 0  # its Facebook post goes out
    for path in _ledger_files(stage):
        path.unlink()
    # Meta's posts cannot be read (a proxy's 502), however often it is asked
    stage.graph.fail_http("GET", f"/{stage.graph.page_id}/published_posts", times=None)
    moment = at("2026-12-01T09:40")
    for _ in range(20):  # more than max_attempts (8), each after the longest back-off
        publish_due(stage.config, moment)
        moment += timedelta(minutes=15)
    record = stage.records()["one/facebook"]
    assert len(stage.graph.page_posts()) == 1  # never sent blind
    assert record.state == FAILED, (record.state, record.attempts, record.last_error)
    assert "gave up after 8 attempts" in record.last_error


def test_a_late_send_does_not_take_the_post_of_another_still_being_checked(stage):
    words = "{at: 2026-12-01 09:00, message: Book your December massage now.}"
    stage.add_post("bee", "2026-12-01 09:00", facebook=words, instagram="false")
    stage.add_post("ant", "2026-12-01 09:00", facebook=words, instagram="false")
    # late (the service was down, or the deploy failed until 09:30): the first send's
    # answer is lost after Meta made the post
    stage.graph.drop("POST", "/*/feed", times=1, after_effect=True)
    publish_due(stage.config, at("2026-12-01T09:30"))
    publish_due(stage.config, at("2026-12-01T10:00"))  # the lost one is checked
    links = sorted(
        p["link"].split("?")[0].rstrip("/").rsplit("/", 1)[-1] for p in stage.graph.page_posts()
    )
    records = stage.records()
    assert links == ["ant", "bee"], (
        links,
        {k: (r.state, r.remote_id, r.last_error) for k, r in records.items() if "facebook" in k},
    )


def test_an_older_ledger_taken_up_minutes_after_a_send_does_not_send_it_again(stage, tmp_path):
    import sqlite3

    stage.add_post("one", "2026-12-01 09:00")  # Facebook at 09:30
    assert stage.run("2026-12-01T09:00").returncode == 0
    backup = tmp_path / "backup.db"  # a backup; or the copy taken to the new server
    with sqlite3.connect(stage.config.ledger_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    assert stage.run("2026-12-01T09:30").returncode == 0  # on time, from the old ledger
    assert len(stage.graph.page_posts()) == 1
    for path in sorted(stage.config.ledger_path.parent.glob(stage.config.ledger_path.name + "*")):
        path.unlink()
    backup.rename(stage.config.ledger_path)
    result = stage.run("2026-12-01T09:36")  # the older ledger's first pass, 6 minutes on
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(stage.graph.page_posts()) == 1, result.stdout


def test_retry_as_told_after_two_lost_sends_sends_the_one_not_out(stage):
    from publisher.ledger import FAILED
    from publisher.status import retry_delivery, skip_delivery

    words = "{at: 2026-12-01 09:00, message: Book your December massage now.}"
    stage.add_post("bee", "2026-12-01 09:00", facebook=words, instagram="false")
    stage.add_post("ant", "2026-12-01 09:00", facebook=words, instagram="false")
    stage.graph.drop("POST", "/*/feed", times=1)
    stage.graph.drop("POST", "/*/feed", times=1, after=1, after_effect=True)
    publish_due(stage.config, at("2026-12-01T09:00"))  # on time: both sent, both answers lost
    publish_due(stage.config, at("2026-12-01T09:30"))
    records = stage.records()
    assert {records["bee/facebook"].state, records["ant/facebook"].state} == {FAILED}
    # the person looks at the Page, as the message says: the post there links to one of them
    (post,) = stage.graph.page_posts()
    out = "ant" if "/posts/ant/" in post["link"] else "bee"
    other = "bee" if out == "ant" else "ant"
    skip_delivery(stage.config, records[f"{out}/facebook"].id, at("2026-12-01T09:40"))
    retry_delivery(stage.config, records[f"{other}/facebook"].id, at("2026-12-01T09:40"))
    publish_due(stage.config, at("2026-12-01T09:41"))
    links = [p["link"] for p in stage.graph.page_posts()]
    assert any(f"/posts/{other}/" in link for link in links), (
        links,
        stage.records()[f"{other}/facebook"].state,
    )


def test_a_cron_log_line_says_its_zone(stage):
    """A pass under cron writes a time on each line; the server's clock is often in another
    zone than the posts' (UTC, or here India's), so each stamp is in the site's zone, as
    the times in the lines are, and carries its offset from UTC."""
    stage.add_post("hips", "2026-12-01 09:00", instagram="false")
    env = {**stage.env, "TZ": "Asia/Kolkata"}
    env.pop("JOURNAL_STREAM", None)
    result = stage.command("publish", "--due", "--now", "2026-12-01T09:05", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    offset = datetime.now(NY).strftime("%z")  # (the stamp is the real time: -0500 or -0400)
    assert lines and all(
        re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d" + re.escape(offset) + " ", line)
        for line in lines
    ), lines


def test_a_pass_told_to_stop_lets_the_deploy_in_flight_finish_and_sends_nothing_more(stage):
    """systemctl stop (KillMode=mixed: SIGTERM to publisher alone) or a shutdown during a
    pass: the deploy command it is running finishes, nothing more is sent, and the next
    pass sends the rest."""
    started, done = stage.project.root / "deploy-started", stage.project.root / "deploy-done"
    command = f"touch {started}; sleep 2; touch {done}"
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace("[site]\n", f"[site]\ndeploy_command = '{command}'\n", 1)
    )
    stage.add_post("hips", "2026-12-01 09:00", instagram="false")
    process = stage.start("2026-12-01T09:45")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert done.exists()  # the deploy was not cut off
    assert "SIGTERM: finishing what is in flight, then stopping" in out
    records = stage.records()
    assert records["hips/website"].state == PUBLISHED
    assert stage.graph.page_posts() == [] and "hips/facebook" not in records
    assert stage.run("2026-12-01T09:46").returncode == 0
    assert len(stage.graph.page_posts()) == 1


def test_a_burst_of_signals_during_a_pass_still_stops_it(stage):
    """A shutdown sends SIGTERM and SIGHUP, a person a second SIGTERM: a signal that came
    while the handler of the one before it was setting the stop (and held its lock) hung
    the pass, with the pass lock held, so that no cron pass after it did anything (9 times
    in 10 with a burst). However many come, the delivery in flight finishes and it ends."""
    for hour in (9, 10, 11):
        stage.add_post(f"p{hour}", f"2026-12-01 {hour:02d}:00", instagram="false")
        held = stage.graph.hold("POST", "/*/feed")
        process = stage.start(f"2026-12-01T{hour:02d}:40")
        assert held.wait_held(60), process.communicate()
        for _ in range(300):
            process.send_signal(random.choice((signal.SIGTERM, signal.SIGHUP)))
            time.sleep(random.uniform(0, 0.0005))
        held.release()
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the pass never ended: {process.communicate()}") from None
        assert process.returncode == 0, out + err
        assert out.count(": finishing what is in flight, then stopping") == 1, out
        assert stage.records()[f"p{hour}/facebook"].state == PUBLISHED  # the one in flight
        stage.graph.clear_faults()


def test_a_clock_gone_back_takes_nothing_off_the_site(stage):
    """The server's clock set back (a reset at boot, before the network time): a pass would
    take every article dated after it off the website, and deploy that. It refuses instead,
    and says so, until the clock is right again."""
    from datetime import UTC, datetime

    from publisher.ledger import Ledger

    stage.add_post("hips", "2026-11-01 09:00", facebook="false", instagram="false")
    assert stage.run("2026-11-20T09:00").returncode == 0
    page = stage.config.output_dir / "posts/hips/index.html"
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED

    def last_pass(moment: datetime) -> None:
        with Ledger(stage.config.ledger_path) as ledger:
            ledger.set_meta("real_clock", moment.isoformat())  # publish.REAL_CLOCK

    # as if the last pass ran a day from now: this machine's clock is a day behind it
    last_pass(datetime.now(UTC) + timedelta(days=1))
    said = stage.run("2026-10-01T09:00")  # and the pass's time is well before the post's
    assert said.returncode == 1
    assert "before the last publishing pass" in said.stdout + said.stderr
    assert "set the clock right" in said.stdout + said.stderr
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED
    last_pass(datetime.now(UTC) - timedelta(minutes=1))  # the clock is right again
    assert stage.run("2026-11-20T09:05").returncode == 0
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED


def test_a_ledger_path_that_is_a_folder_is_named_with_what_to_do(stage):
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(text.replace("[publish]\n", '[publish]\nledger = "db"\n'))
    (stage.project.root / "db").mkdir()
    said = stage.run("2026-12-01T09:00")
    assert said.returncode == 1 and "Traceback" not in said.stderr
    assert f"{stage.project.root / 'db'}: the ledger cannot be opened" in said.stderr
    assert "it is a folder: [publish] ledger in config.toml names a file" in said.stderr


def test_an_error_answered_to_media_publish_never_leads_to_a_second_container(stage):
    """Meta answers media_publish with a passing error (2207001, Instagram's server error)
    after it did publish: a new container at the next try would be a second post. The
    container is kept and its status read first: PUBLISHED, the post is recorded as out."""
    stage.add_post("twice", "2026-12-01 09:00", facebook="false")
    stage.graph.fail_graph(
        "POST", "/*/media_publish", code=-1, subcode=2207001, is_transient=True, after_effect=True
    )
    publish_due(stage.config, at("2026-12-01T12:05"))
    assert len(stage.graph.ig_media()) == 1  # it went out, though Meta said otherwise
    assert stage.records()["twice/instagram"].state != PUBLISHED
    publish_due(stage.config, at("2026-12-01T12:30"))
    publish_due(stage.config, at("2026-12-01T13:30"))
    assert len(stage.graph.ig_media()) == 1 and len(stage.graph.containers()) == 1
    assert stage.records()["twice/instagram"].state == PUBLISHED
    # the same error where Meta did not publish: the same container goes out, once
    stage.add_post("once", "2026-12-02 09:00", facebook="false")
    stage.graph.fail_graph("POST", "/*/media_publish", code=-1, subcode=2207001, is_transient=True)
    publish_due(stage.config, at("2026-12-02T12:05"))
    publish_due(stage.config, at("2026-12-02T13:05"))
    assert stage.records()["once/instagram"].state == PUBLISHED
    assert len(stage.graph.ig_media()) == 2 and len(stage.graph.containers()) == 2


@pytest.mark.parametrize(
    "site",
    [
        "http://100.101.102.103:8000",  # a Tailscale (carrier-grade NAT) address
        "http://clinic-server:8000",  # a name only the local network knows
        "http://clinic.local",  # mDNS
        "http://publisher.home.arpa",
        "http://intranet.internal",
        "http://[fd00::5]:8000",
        "http://[::ffff:192.168.1.5]/",
    ],
)
def test_a_site_on_a_private_network_is_not_sent_to_meta_whatever_its_address(site):
    from publisher.publish import unreachable_by_meta

    payload = {"link": f"{site}/posts/a/", "image_url": f"{site}/posts/a/instagram.jpg"}
    problems = unreachable_by_meta("https://graph.facebook.com", payload)
    assert len(problems) == 2 and all("set [site] base_url" in p for p in problems), problems


def test_a_public_site_address_is_sent_to_meta():
    from publisher.publish import unreachable_by_meta

    for site in (
        "https://www.kneadedtranquility.com",
        "http://93.184.216.34",
        "https://xn--mnchen-3ya.de",
    ):
        payload = {"link": f"{site}/posts/a/", "image_url": f"{site}/posts/a/instagram.jpg"}
        assert unreachable_by_meta("https://graph.facebook.com", payload) == []


def _catches(pid: int, number: int) -> bool:
    """Whether process `pid` has a handler for signal `number` (its SigCgt mask)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (number - 1) & 1)
    return False


def test_a_pass_told_to_stop_before_its_build_neither_builds_nor_deploys(stage):
    """SIGTERM while the pass waits for another build into public/ (a person's `publisher
    build`), or before it began its own: no build was in flight, so none is started and
    no deploy runs; the pass stops at once instead of waiting for the other build."""
    import fcntl

    deployed = stage.project.root / "deployed"
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace("[site]\n", f"[site]\ndeploy_command = 'touch {deployed}'\n", 1)
    )
    stage.add_post("hips", "2026-12-01 09:00", instagram="false")
    lock = os.open(stage.config.output_dir.with_name(".public.lock"), os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another build into public/ is running
        process = stage.start("2026-12-01T09:45")
        deadline = time.monotonic() + 60
        while not _catches(process.pid, signal.SIGTERM):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=20)  # while the other build still runs
        except subprocess.TimeoutExpired:
            pass
    finally:
        os.close(lock)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert not deployed.exists() and not (stage.config.output_dir / "posts" / "hips").exists()
    assert (
        "hips/website" not in stage.records() or stage.records()["hips/website"].state != PUBLISHED
    )
    assert stage.run("2026-12-01T09:46").returncode == 0
    assert deployed.exists() and stage.records()["hips/website"].state == PUBLISHED


def test_a_new_timezone_takes_no_article_already_out_off_the_site(stage):
    """[site] timezone changed after articles went out (a wrong zone put right): their dates,
    read in the new zone, may be still to come, and a pass would take them off the website
    while Facebook and Instagram link to them. It refuses instead, saying what to write, and
    goes on once the dates keep the time they went out."""
    post = stage.add_post("hips", "2026-11-20 09:00", facebook="false", instagram="false")
    assert stage.run("2026-11-20T09:05").returncode == 0
    page = stage.config.output_dir / "posts/hips/index.html"
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED
    config = stage.project.config_path
    config.write_text(config.read_text().replace('"America/New_York"', '"America/Chicago"'))
    said = stage.run("2026-11-20T08:10")  # 09:10 in New York: 09:00 in Chicago is to come
    assert said.returncode == 1, said.stdout + said.stderr
    assert "[site.timezone] changed from America/New_York to America/Chicago" in said.stderr
    assert "hips.md: date: 2026-11-20T09:00:00-05:00" in said.stderr
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED
    # the date written with the offset it went out with: the pass goes on, the page stays
    post.write_text(
        post.read_text().replace("date: 2026-11-20 09:00", "date: 2026-11-20T09:00:00-05:00")
    )
    stage.add_post("neck", "2026-11-20 08:30", facebook="false", instagram="false")
    said = stage.run("2026-11-20T08:40")
    assert said.returncode == 0, said.stdout + said.stderr
    assert page.exists() and stage.records()["hips/website"].state == PUBLISHED
    assert stage.records()["neck/website"].state == PUBLISHED


def test_a_build_by_hand_after_a_new_timezone_stops_as_a_pass_does(stage):
    """Someone who puts [site] timezone right and runs `publisher build` (or `serve`) would
    take the articles already out off the site just as a pass would: it stops, says the same,
    and builds once the dates keep the time they went out. A preview (--now) is not stopped."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    went = datetime.now(ZoneInfo("America/New_York")) - timedelta(minutes=30)
    out = f"{went:%Y-%m-%dT%H:%M}:00{went.isoformat()[-6:]}"  # its offset, summer or winter
    post = stage.add_post("hips", f"{went:%Y-%m-%d %H:%M}", facebook="false", instagram="false")
    assert stage.run(f"{went + timedelta(minutes=5):%Y-%m-%dT%H:%M}").returncode == 0
    page = stage.config.output_dir / "posts/hips/index.html"
    assert page.exists()
    config = stage.project.config_path
    config.write_text(config.read_text().replace('"America/New_York"', '"America/Los_Angeles"'))
    said = stage.command("build")
    assert said.returncode != 0, said.stdout + said.stderr
    assert "changed from America/New_York to America/Los_Angeles" in said.stderr
    assert f"hips.md: date: {out}" in said.stderr
    assert page.exists()
    assert stage.command("build", "--now", f"{went:%Y-%m-%dT%H:%M}").returncode == 0
    post.write_text(post.read_text().replace(f"date: {went:%Y-%m-%d %H:%M}", f"date: {out}"))
    said = stage.command("build")
    assert said.returncode == 0, said.stdout + said.stderr
    assert page.exists()


def test_a_renamed_post_s_old_address_is_said_as_a_redirect_and_not_counted_as_an_article(stage):
    """A published post whose slug changes keeps a page at its old address that sends
    visitors to the new one. The pass that made it said 'the pages of hip-flexors, hips
    changed', as if the old article had been edited; and with the posts folder empty, the
    refusal counted that page as an article of its own ('has 2 article(s)'). The log says
    where the old address now leads, and only articles are counted."""
    path = stage.add_post("hips", "2026-12-01 09:00", facebook="false", instagram="false")
    first = stage.run("2026-12-01T09:00")
    assert "hips/website published" in first.stdout, first.stdout + first.stderr
    path.write_text(path.read_text().replace("slug: hips", "slug: hip-flexors"))
    moved = stage.run("2026-12-01T09:05")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    rebuilt = (
        r" website rebuilt: the page of hip-flexors changed; /posts/hips/ sends visitors to "
        r"/posts/hip-flexors/ \(\d+ file\(s\) written\)"
    )
    assert any(re.search(rebuilt + "$", line) for line in moved.stdout.splitlines()), moved.stdout
    assert (stage.project.output / "posts/hips/index.html").is_file()  # the redirect
    path.write_text(path.read_text() + "A correction.\n")
    edited = stage.run("2026-12-01T09:10").stdout.splitlines()[0]
    assert "the page of hip-flexors changed (" in edited and "hips/" not in edited, edited

    path.unlink()  # a posts disk that did not mount
    for deleted in (False, True):  # the site's folder as it is, then as the cache remembers it
        if deleted:
            shutil.rmtree(stage.project.output)
        for command in (("check",), ("publish", "--due", "--now", "2026-12-01T09:15")):
            refused = stage.command(*command)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            said = refused.stderr
            assert "the website built into public has 1 article(s)" in said, said
    # deleted on purpose (a draft left, so the folder is not empty): the old address goes
    # too, and the log says what that page was
    stage.add_draft()
    gone = stage.command("publish", "--due", "--now", "2026-12-01T09:20")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    lines = [line.split(" ", 2)[2] for line in gone.stdout.splitlines() if "taken off" in line]
    assert lines == [
        f"taken off the website: {stage.config.base_url}/posts/hip-flexors/",
        f"taken off the website: {stage.config.base_url}/posts/hips/ (the old address of a "
        "renamed post, which sent visitors to /posts/hip-flexors/)",
    ], gone.stdout


def test_check_warns_of_a_new_post_dated_long_ago_before_a_pass_takes_it_as_missed(stage):
    """2025 typed for 2026: `check` said all was well, and the next pass put the article
    at once under a year of newer ones and marked its Facebook and Instagram posts missed.
    check now warns at its date line; an old article is still allowed (it stops nothing),
    and nothing is said before the first pass (a whole archive being set up) nor once the
    post went out."""
    stage.add_post("first", "2026-12-01 09:00")
    fresh = stage.command("check", "--now", "2026-12-02T09:00")
    assert fresh.returncode == 0 and "warning" not in fresh.stdout, fresh.stdout  # no ledger
    assert stage.run("2026-12-01T09:01").returncode == 0
    stage.add_post("typo", "2025-12-10 09:00", facebook="false")
    stage.add_post("soon", "2026-12-02 08:00")  # 1 hour late: not yet missed, nothing said
    check = stage.command("check", "--now", "2026-12-02T09:00")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines() == [
        "posts/typo.md:4: warning: date: 2025-12-10 09:00 was 357 days ago, and this post has "
        "not gone out: the next publishing pass puts it on the website at once, dated then "
        "(under newer articles), and its Instagram post is marked missed (more than 6h late: "
        "`publisher retry` sends it). A mistyped year, or a time already past? Write when it "
        "should go out; an old article added on purpose can stay as it is"
    ]
    # a draft: said before the save that ends it, which a running service publishes at once
    stage.add_post("draft", "2026-12-01 17:00", draft="true")
    drafted = stage.command("check", "--now", "2026-12-02T09:00").stdout.splitlines()
    assert drafted[0] == (
        "posts/draft.md:4: warning: date: 2026-12-01 17:00 was 16.0 hours ago, and this post "
        "has not gone out: once it is no draft, the next publishing pass puts it on the "
        "website at once, dated then (under newer articles), and its Facebook and Instagram "
        "posts are marked missed (more than 6h late: `publisher retry` sends them). A "
        "mistyped year, or a time already past? Write when it should go out; an old article "
        "added on purpose can stay as it is (before you set draft: false)"
    ), drafted
    (stage.project.posts / "draft.md").unlink()
    assert stage.run("2026-12-02T09:00").returncode == 1  # the Instagram post: missed
    assert stage.records()["typo/instagram"].state == MISSED
    after = stage.command("check", "--now", "2026-12-02T09:05")
    assert after.returncode == 0 and "warning" not in after.stdout, after.stdout


def _look_again_now(stage) -> None:
    """As if a day had passed since each token's last look (the quick stop of a pass with
    nothing due holds no longer than until that look)."""
    from publisher.ledger import Ledger
    from publisher.publish import QUIET

    with Ledger(stage.config.ledger_path) as ledger:
        looks = ledger.token_checks()
        quiet = ledger.meta(QUIET)
        if quiet:
            until = datetime.fromisoformat(quiet.split()[1])
            assert until <= min(datetime.fromisoformat(k["next"]) for k in looks.values())
        for kept in looks.values():
            kept["next"] = "2000-01-01T00:00:00+00:00"
        ledger.set_token_checks(looks)
        ledger.set_meta(QUIET, "")


def test_a_pass_looks_at_each_token_once_a_day_and_says_what_needs_a_person(stage):
    """Nobody runs `publisher accounts` every day: a token that expires in three days, or
    that Meta stops taking (revoked, a password changed), is said by the first pass of the
    day as something that needs a person (exit 1), and by `status` until the next look,
    instead of being found by a delivery at its time. Meta not answering is no finding.
    The day it expires is the site's: at 22:30 in Pittsburgh it is the next day in UTC."""
    now = datetime.now(NY)
    soon = (now + timedelta(days=3)).replace(hour=22, minute=30, second=0, microsecond=0)
    stage.graph.add_token(TOKEN, label="clinic", expires_at=int(soon.timestamp()))
    stage.add_post("later", "2027-06-01 09:00")  # nothing due: the look alone
    first = stage.command("publish", "--due")
    said = first.stdout + first.stderr
    assert first.returncode == 1, said
    days = round((soon - now) / timedelta(days=1))
    expires = f"expires on {soon:%Y-%m-%d} (in {days} days)"
    assert f"facebook token: the Facebook token {expires}: " in said
    assert f"instagram token: the Instagram token {expires}: " in said  # the same token
    assert "set PUBLISHER_FACEBOOK_TOKEN" in said and "Something needs a person" in said
    assert calls_of(stage) == token_look(stage)
    status = stage.command("status")
    assert "Facebook token, as Meta described it at " in status.stdout
    assert f"the Facebook token {expires}" in status.stdout
    # the next pass of the day neither asks again nor says it again
    again = stage.command("publish", "--due")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "token" not in again.stdout + again.stderr
    assert calls_of(stage) == token_look(stage)
    assert TOKEN not in stage.ledger_dump()

    # a new token that never expires: `publisher accounts`, run after setting it, is a look
    # too, and status says nothing more; so does the next pass's look
    stage.graph.add_token(TOKEN, label="clinic")
    accounts = stage.command("accounts")
    assert accounts.returncode == 0, accounts.stdout + accounts.stderr
    assert "token, as Meta described it" not in stage.command("status").stdout
    _look_again_now(stage)
    renewed = stage.command("publish", "--due")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    assert "token, as Meta described it" not in stage.command("status").stdout

    # Meta refuses it (a password changed): said at once, not at the next delivery's time
    stage.graph.set_token_state(TOKEN, "password_changed")
    _look_again_now(stage)
    refused = stage.command("publish", "--due")
    assert refused.returncode == 1
    assert "facebook token: " in refused.stdout + refused.stderr
    assert "Something needs a person" in refused.stderr

    # Meta not answering (a proxy's 502): nothing needs a person; asked again within the hour
    stage.graph.set_token_state(TOKEN, "valid")
    stage.graph.fail_http("GET", f"/{stage.graph.page_id}", times=None)
    stage.graph.fail_http("GET", "/me", times=None)
    stage.graph.fail_http("GET", "/debug_token", times=None)
    _look_again_now(stage)
    down = stage.command("publish", "--due")
    assert down.returncode == 0, down.stdout + down.stderr
    from publisher.ledger import Ledger

    with Ledger(stage.config.ledger_path) as ledger:
        look = ledger.token_checks()["facebook"]
    wait = datetime.fromisoformat(look["next"]) - datetime.now(NY)
    assert timedelta(minutes=50) < wait <= timedelta(hours=1)


def test_a_refusal_seen_with_a_shells_token_is_forgotten_once_a_post_goes_out(stage):
    """`publisher accounts` run in a shell with another token (a test, an old one) made
    `status` say for a day that Meta refused the token, while the service's went out fine."""
    stage.add_post("fine", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T08:00").returncode == 0  # the ledger, with nothing due
    wrong = dict(stage.env, PUBLISHER_FACEBOOK_TOKEN="EAAwrongTOKENtyped")
    assert stage.command("accounts", env=wrong).returncode == 1
    status = stage.command("status")
    assert "Facebook token, as Meta described it at " in status.stdout, status.stdout
    published = stage.run("2026-12-01T09:31")
    assert published.returncode == 0, published.stdout + published.stderr
    assert stage.records()["fine/facebook"].state == PUBLISHED
    assert "Facebook token, as Meta described it" not in stage.command("status").stdout
    assert "the refusal of its last look is forgotten" in published.stdout


def test_a_look_made_with_another_token_is_made_again_by_the_next_pass(stage):
    """`publisher accounts` run with a token of one's own (expiring in 3 days) made status
    warn of it for a day, though the service's token was fine; the passes with nothing due
    stayed quiet. The next pass now sees the look was made with another token, and looks
    with its own at once; a pass with a new token does the same."""
    stage.add_post("later", "2027-06-01 09:00")  # nothing due: the looks alone
    assert stage.command("publish", "--due").returncode == 0  # the service's token: all well
    soon = datetime.now(NY) + timedelta(days=3)
    stage.graph.add_token("EAAsomeoneelse", label="someone", expires_at=int(soon.timestamp()))
    other = dict(stage.env, PUBLISHER_FACEBOOK_TOKEN="EAAsomeoneelse")
    stage.command("accounts", env=other)
    assert "expires on" in stage.command("status").stdout  # what that look found
    looked = len(stage.graph.requests)
    again = stage.command("publish", "--due")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(stage.graph.requests) > looked  # looked again, with the service's token
    assert "token, as Meta described it" not in stage.command("status").stdout
    quiet = len(stage.graph.requests)
    assert stage.command("publish", "--due").returncode == 0
    assert len(stage.graph.requests) == quiet  # and quiet again
    # a new token set where the passes run: looked at by the next pass, not in a day
    stage.graph.add_token("EAAnewtoken", label="clinic", expires_at=int(soon.timestamp()))
    renewed = dict(stage.env, PUBLISHER_FACEBOOK_TOKEN="EAAnewtoken")
    changed = stage.command("publish", "--due", env=renewed)
    assert changed.returncode == 1 and "expires on" in changed.stdout + changed.stderr
    assert b"EAAnewtoken" not in stage.config.ledger_path.read_bytes()


def test_the_service_wakes_for_the_next_look_at_the_tokens(stage):
    """A service with nothing to send for weeks still looks at the tokens each day."""
    from publisher.scheduler import Service

    stage.add_post("later", "2027-06-01 09:00")
    assert stage.command("publish", "--due").returncode == 0
    from publisher.ledger import Ledger

    with Ledger(stage.config.ledger_path) as ledger:
        looks = ledger.token_checks()
    following = min(datetime.fromisoformat(kept["next"]) for kept in looks.values())
    assert timedelta(hours=23) < following - datetime.now(NY) <= timedelta(days=1)
    wanted = Service(stage.project.config_path).upcoming(datetime.now(NY))
    assert wanted["tokens/look"] == following
    # turned off: no look, and nothing to wake for
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace("[publish]\n", '[publish]\ntoken_check = ""\n')
    )
    assert "tokens/look" not in Service(stage.project.config_path).upcoming(datetime.now(NY))


def test_status_names_the_posts_a_pass_left_out_for_a_problem(stage):
    """A pass logged a new post's problem and "something needs a person: see publisher
    status", and status had no word of that post: only calendar listed it."""
    stage.add_post("fine", "2026-12-01 09:00", instagram="false")
    broken = stage.add_post("broken", "2026-12-01 09:00", instagram="false")
    broken.write_text(broken.read_text().replace("images/photo.jpg", "images/new-year.jpg"))
    passed = stage.run("2026-12-01T09:01")
    assert passed.returncode == 1 and "publisher status" in passed.stderr, passed.stderr
    said = stage.command("status")
    assert said.returncode == 0, said.stderr
    assert "Not on the calendar until fixed (1 post(s)):" in said.stderr
    assert "  posts/broken.md:5: image 'images/new-year.jpg' not found" in said.stderr
    assert "fine" in said.stdout and "broken" not in said.stdout
    # with no post read at all, the list does not say to add one
    (stage.project.posts / "fine.md").unlink()
    stage.config.ledger_path.unlink()
    alone = stage.command("status")
    assert "No deliveries yet: the posts have problems, listed below." in alone.stdout
    assert "add a post" not in alone.stdout


def test_articles_the_site_began_with_are_missed_quietly(stage):
    """The first pass of a new site marked the Facebook and Instagram posts of the articles
    it began with (months old) missed, said "something needs a person", and status listed
    them for good. Nobody is to act on them: they are missed quietly and listed with --all;
    a delivery a pass failed to send in time still needs a person."""
    stage.add_post("archive", "2026-06-01 09:00")
    first = stage.run("2026-12-01T09:00")
    assert first.returncode == 0, first.stdout + first.stderr
    records = stage.records()
    assert records["archive/facebook"].state == MISSED
    assert "before publisher's first pass here" in records["archive/facebook"].last_error
    assert records["archive/website"].state == PUBLISHED
    listed = stage.command("status").stdout
    assert not [line for line in listed.splitlines() if line.split()[5:6] == ["missed"]], listed
    assert "or missed since they were due before the first pass, are not shown" in listed
    assert "missed" in stage.command("status", "--all").stdout
    # a post added since, with a year typed wrong: missed, and that needs a person
    stage.add_post("typo", "2025-11-30 09:00")
    typo = stage.run("2026-12-01T09:10")
    assert typo.returncode == 1, typo.stdout
    assert "before publisher's first pass" not in stage.records()["typo/facebook"].last_error
    assert [line for line in stage.command("status").stdout.splitlines() if " typo " in line], (
        "listed"
    )
    stage.command("skip", str(stage.records()["typo/facebook"].id))
    stage.command("skip", str(stage.records()["typo/instagram"].id))
    # the server off for a day after that: missed, and that needs a person
    stage.add_post("later", "2026-12-02 09:00")
    late = stage.run("2026-12-03T12:00")
    assert late.returncode == 1, late.stdout
    assert stage.records()["later/facebook"].state == MISSED
    assert "before publisher's first pass" not in stage.records()["later/facebook"].last_error
    lines = stage.command("status").stdout.splitlines()
    rows = [line.split() for line in lines if line.split()[5:6] == ["missed"]]
    assert {row[4] for row in rows} == {"later"}, lines


def test_a_pass_on_a_new_ledger_where_the_last_pass_used_another_says_so(stage):
    """[publish] ledger mistyped (or the ledger moved): check was content, status said "no
    publishing pass has run yet", and the next pass made a new, empty ledger without a word.
    Nothing went out twice, but what failed or was skipped was in the old one."""
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T09:45").returncode == 0
    old = stage.config.ledger_path
    text = stage.project.config_path.read_text()
    stage.project.config_path.write_text(
        text.replace('retry_delay = "1m"', 'retry_delay = "1m"\nledger = "publisher-new.db"')
    )
    assert stage.config.ledger_path != old
    status = stage.command("status")
    assert f"(Yet the last publishing pass used the ledger {old}: if it was moved" in status.stderr
    passed = stage.run("2026-12-01T09:50")
    assert passed.returncode == 1, passed.stdout
    assert (
        f"publisher-new.db was made new by this pass, but the last pass used {old}"
    ) in passed.stdout, passed.stdout
    assert len(stage.graph.page_posts()) == 1  # not sent again
    again = stage.run("2026-12-01T09:55")  # said once: the ledger is this one's now
    assert "was made new" not in again.stdout, again.stdout
    # deleted where it is: status says so before a pass makes another
    for path in _ledger_files(stage):
        path.unlink()
    gone = stage.command("status").stderr
    assert "(Yet the last publishing pass had a ledger there: it was deleted or lost." in gone


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_a_config_emptied_or_deleted_where_posts_went_out_stops_every_command(stage, how):
    """On the built-in defaults (config.toml saved empty, or deleted), a pass rebuilt the
    website without the clinic's details and settled the Facebook post then due as a dry
    run, never to be sent. Where the ledger shows publisher has published, it stops."""
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T09:45").returncode == 0
    stage.add_post("two", "2026-12-01 10:00", instagram="false")
    page = stage.project.output / "posts/one/index.html"
    before, ledger = page.read_bytes(), stage.ledger_dump()
    saved = stage.project.config_path.read_text()
    if how == "emptied":
        stage.project.config_path.write_text("# the settings\n")
    else:
        stage.project.config_path.unlink()
    said = "but publisher has published from this folder (its ledger, publisher.db, is here)"
    for args in (["publish", "--due", "--now", "2026-12-01T10:45"], ["check"], ["status"]):
        result = subprocess.run(  # from the project's folder, as cron and staff run it
            [sys.executable, "-m", "publisher", *args],
            capture_output=True,
            text=True,
            env=stage.env,
            cwd=stage.project.root,
            timeout=60,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert said in result.stderr and "git checkout config.toml" in result.stderr
    stage.project.config_path.write_text(saved)
    assert page.read_bytes() == before and stage.ledger_dump() == ledger
    assert stage.run("2026-12-01T10:45").returncode == 0
    assert len(stage.graph.page_posts()) == 2  # "two" went to Facebook, not a dry run


def test_check_warns_that_an_edit_takes_a_live_article_off_the_website(stage):
    """A live article's date moved later, or draft: true, takes its page off at the next
    pass, and the links already on Facebook lead nowhere: check said nothing (and warned of
    the Facebook post's at: as if it were still to go out)."""
    path = stage.add_post(
        "one", "2026-12-01 09:00", facebook="{at: '2026-12-01 09:30'}", instagram="false"
    )
    assert stage.run("2026-12-01T09:45").returncode == 0
    text = path.read_text()
    path.write_text(text.replace("date: 2026-12-01 09:00", "date: 2026-12-03 10:00"))
    check = stage.command("check", "--now", "2026-12-01T10:00")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines() == [
        "posts/one.md:4: warning: date: 2026-12-03 10:00 is still to come, but this article "
        "is live (on the website since 2026-12-01 09:45): the next pass takes its page off "
        "the website until then, and meanwhile the links already on Facebook lead to a page "
        "not found. To keep it up, put back  date: 2026-12-01 09:00  (add  updated:  with "
        "today's date to show it was changed)"
    ]  # and nothing of facebook.at, before the new date: it went out
    path.write_text(text.replace("instagram: false", "instagram: false\ndraft: true"))
    check = stage.command("check", "--now", "2026-12-01T10:00")
    assert check.stdout.startswith(
        "posts/one.md:9: warning: draft: true, but this article is live (on the website "
        "since 2026-12-01 09:45): the next pass takes its page off the website"
    ), check.stdout
    path.write_text(text.replace("Text of one", "Text, corrected, of one"))
    assert stage.command("check", "--now", "2026-12-01T10:00").stdout == ""
    # once the pass took the page off, there is nothing to warn of: no page is live
    path.write_text(text.replace("instagram: false", "instagram: false\ndraft: true"))
    assert stage.run("2026-12-01T10:05").returncode == 0
    assert not (stage.project.output / "posts/one/index.html").exists()
    assert stage.command("check", "--now", "2026-12-01T10:10").stdout == ""
    # a new post on a deleted article's address is not that article
    path.unlink()
    stage.add_post("other", "2026-12-02 09:00", instagram="false")  # (a site with a post)
    assert stage.run("2026-12-01T10:15").returncode == 0
    stage.project.post("again.md", "title: Again\nslug: one\ndate: 2026-12-05 09:00\ndraft: true")
    assert "is live" not in stage.command("check", "--now", "2026-12-01T10:20").stdout


def test_check_warns_that_a_live_article_moved_into_a_problem_comes_off(stage):
    """A live post's file moved into a folder, where its photo's path leads nowhere: check
    listed the problem alone, and the next pass took the page off the website (a post is
    known by its file, and a new file with a problem has no page to keep)."""
    stage.add_post("one", "2026-12-01 09:00", instagram="false")
    stage.add_post("two", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T09:45").returncode == 0
    moved = stage.project.posts / "2026" / "one.md"
    moved.parent.mkdir()
    (stage.project.posts / "one.md").rename(moved)
    (stage.project.posts / "two.md").rename(stage.project.posts / "2026" / "two-moved.md")
    two = (stage.project.posts / "2026" / "two-moved.md").read_text()
    (stage.project.posts / "2026" / "two-moved.md").write_text(
        two.replace("images/photo.jpg", "../images/photo.jpg")
    )  # moved with its path mended: known by its address, nothing said
    check = stage.command("check", "--now", "2026-12-01T10:00")
    assert check.returncode == 1, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].startswith("posts/2026/one.md:5: image 'images/photo.jpg' not found"), lines
    assert lines[1:] == [
        "posts/2026/one.md: warning: posts/one.md, live on the website, is gone: if this file "
        "is it, moved or renamed, fix its problem before the next pass, which otherwise takes "
        "the page off the website (and the links already on Facebook lead to a page not "
        "found), or put the file back where it was"
    ], lines
    # another post with a problem, not that one (its address, date and text its own)
    stage.project.post("winter.md", "title: Winter\ndate: 2026-12-20 9\ndraft: true")
    lines = stage.command("check", "--now", "2026-12-01T10:00").stdout.splitlines()
    assert [line for line in lines if "winter" in line and "warning" in line] == [], lines
    (stage.project.posts / "winter.md").unlink()
    moved.write_text(moved.read_text().replace("images/photo.jpg", "../images/photo.jpg"))
    assert stage.command("check", "--now", "2026-12-01T10:00").stdout == ""


def test_a_photo_taken_out_after_the_instagram_post_went_out_stops_nothing(stage):
    """check said "Instagram needs a photo: ... or write instagram: false" of a post whose
    Instagram post was out already; following it, preview said Instagram was off for it."""
    path = stage.add_post(
        "one", "2026-12-01 09:00", facebook="false", instagram="{at: '2026-12-01 09:10'}"
    )
    assert stage.run("2026-12-01T09:45").returncode == 0
    assert len(stage.graph.ig_media()) == 1
    text = path.read_text()
    path.write_text(
        text.replace("image: images/photo.jpg\n", "").replace("image_alt: A calm room\n", "")
    )
    check = stage.command("check", "--now", "2026-12-01T10:00")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Instagram" not in check.stdout, check.stdout
    stage.add_post("two", "2026-12-01 11:00", facebook="false")
    two = stage.project.posts / "two.md"
    two.write_text(
        two.read_text()
        .replace("image: images/photo.jpg\n", "")
        .replace("image_alt: A calm room\n", "")
    )
    check = stage.command("check", "--now", "2026-12-01T10:00")
    assert check.returncode == 1 and "posts/two.md" in check.stdout  # not out yet: said
    assert "Instagram needs a photo" in check.stdout, check.stdout


def test_status_and_calendar_follow_a_new_title_before_the_pass_does(stage):
    """A live post's new title (its address with it), or its file renamed too: until the
    next pass, status listed its sent deliveries as "has a problem: see publisher check" (or
    "is gone: ... delete it on Facebook") and the same deliveries again as due or missed,
    as if the post were new; calendar said they go out at the next pass."""
    path = stage.add_post("one", "2026-12-01 09:00", instagram="false")
    path.write_text(path.read_text().replace("slug: one\n", ""))  # the title gives it
    assert stage.run("2026-12-01T09:45").returncode == 0
    assert stage.run("2026-12-01T10:00").returncode == 0
    before = stage.command("status").stdout
    assert "post-one  published" in before and before.count("published") == 2, before
    text = path.read_text().replace("title: Post one", "title: Post one, revised")
    path.write_text(text)
    renamed = path.with_name("revised.md")
    for step in ("title", "file"):
        if step == "file":
            path.rename(renamed)
        status = stage.command("status")
        rows = [line.split()[3:6] for line in status.stdout.splitlines()[1:] if line[:1].isdigit()]
        assert rows == [
            ["website", "post-one-revised", "published"],
            ["facebook", "post-one-revised", "published"],
        ], status.stdout
        assert "due" not in status.stdout and "missed" not in status.stdout, status.stdout
        assert "problem" not in status.stdout and "gone" not in status.stdout, status.stdout
        calendar = stage.command("calendar", "--all", "--now", "2026-12-01T10:05").stdout
        assert "next pass" not in calendar and calendar.count("  published") == 2, calendar
    assert stage.run("2026-12-01T10:05").returncode == 0
    assert len(stage.graph.page_posts()) == 1  # and the pass agrees: nothing sent again
    assert stage.command("status").stdout.count("post-one-revised  published") == 2


def test_preview_shows_a_sent_social_post_at_the_time_it_went_out(stage):
    """A new instagram.at written after the Instagram post went out: preview showed the new
    time (and check warned of it), as if it were to go out again then."""
    path = stage.add_post(
        "one", "2026-12-01 09:00", facebook="false", instagram="{at: '2026-12-01 09:10'}"
    )
    assert stage.run("2026-12-01T09:45").returncode == 0
    path.write_text(path.read_text().replace("09:10", "08:12"))  # before the article now
    shown = stage.command("preview", "one").stdout
    (row,) = [line for line in shown.splitlines() if line.strip().startswith("instagram ")]
    assert "Tue 01 Dec 2026 09:10 EST" in row, shown
    assert "instagram.at" not in shown, shown  # no warning of a time that is history


def test_calendar_shows_a_live_post_made_a_draft_as_published_with_what_becomes_of_it(stage):
    """draft: true on a live post: calendar listed its sent Facebook post as a draft, "set
    draft: false to schedule it", as if it had not gone out."""
    path = stage.add_post("one", "2026-12-01 09:00", instagram="false")
    assert stage.run("2026-12-01T09:45").returncode == 0
    path.write_text(path.read_text().replace("instagram: false", "instagram: false\ndraft: true"))
    calendar = stage.command("calendar", "--all", "--now", "2026-12-01T10:00").stdout
    (row,) = [line for line in calendar.splitlines() if " facebook " in line]
    assert "  published  " in row and "draft: false to schedule" not in row, calendar
    assert "posts/one.md is a draft now: this Facebook post stays up" in row, row
    status = stage.command("status").stdout
    assert "posts/one.md is a draft now: this Facebook post stays up" in status, status
    assert "its page comes off the website" in status, status
