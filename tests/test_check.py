"""`publisher check`: one line per problem, FILE:LINE: message, exit 1; run as a real command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image

from .conftest import BASE_CONFIG


def run(project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), *args],
        capture_output=True,
        text=True,
        cwd=project.root,
        timeout=60,
    )


def problems(project) -> list[str]:
    result = run(project, "check")
    assert result.returncode == (1 if result.stdout else 0), result.stderr
    return result.stdout.splitlines()


def warnings(project) -> list[str]:
    """What check says of a project with warnings alone (it passes)."""
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_clean_project_passes(project):
    project.image("images/a.jpg")
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/a.jpg\nimage_alt: A photo")
    result = run(project, "check")
    assert result.returncode == 0
    assert result.stdout == ""


def test_a_photo_too_small_for_facebook_and_instagram_is_a_warning_at_its_line(project):
    """A thumbnail saved from a chat instead of the photo: it goes out, but blurry, and
    Facebook shows it small (under 600 x 315 px) or not at all (under 200 x 200 px)."""
    project.image("images/thumb.jpg", (320, 240))
    project.image("images/tiny.png", (480, 150))
    project.image("images/fine.jpg", (600, 315))
    front = "date: 2026-01-01\nimage_alt: A\nimage: images/"
    project.post("a.md", f"title: A\n{front}thumb.jpg")
    project.post("b.md", f"title: B\n{front}tiny.png\nfacebook: false")
    project.post("c.md", f"title: C\n{front}tiny.png\ninstagram: false")
    project.post("d.md", f"title: D\n{front}fine.jpg")
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    advice = ": use the photo at its full size (1080 px wide or more), not a copy saved from a "
    advice += "message or a web page"
    assert result.stdout.splitlines() == [
        "posts/a.md:5: warning: image: the photo is only 320 × 240 px, so it looks blurry at "
        "the top of the article and on Instagram (enlarged to 1080 px wide), and Facebook shows "
        "it as a small square beside the link (under 600 × 315 px)" + advice,
        "posts/b.md:5: warning: image: the photo is only 480 × 150 px, so it looks blurry at "
        "the top of the article and on Instagram (enlarged to 1080 px wide)" + advice,
        "posts/c.md:5: warning: image: the photo is only 480 × 150 px, so it looks blurry at "
        "the top of the article, and Facebook shows no photo with the link (under 200 × 200 "
        "px)" + advice,
    ]


def test_a_description_that_says_nothing_of_the_photo_is_a_warning_at_its_line(project):
    """'photo', or the camera's file name, tells a person who cannot see it nothing."""
    project.image("images/IMG_4021.jpg")
    front = "date: 2026-01-01\nimage: images/IMG_4021.jpg\nimage_alt: "
    project.post(
        "a.md", f"title: A\n{front}IMG_4021.jpg", "Text.\n\n![Photo.](images/IMG_4021.jpg)\n"
    )
    project.post(
        "b.md", f"title: B\n{front}A therapist working on a shoulder", "![DSC01234](x.jpg)\n"
    )
    project.post("c.md", f"title: C\n{front}A photo of a stretch", "![A neck tilt](x.jpg)\n")
    result = run(project, "check")
    advice = (
        "say what it shows, for people who cannot see it, for example  A therapist working on "
        "a client's shoulder"
    )
    lines = [line for line in result.stdout.splitlines() if "says nothing" in line]
    assert lines == [
        f"posts/a.md:5: warning: image_alt: 'IMG_4021.jpg' says nothing of the photo: {advice}",
        "posts/a.md:9: warning: the description 'Photo.' of an image in the text says nothing "
        f"of it: {advice}",
        "posts/b.md:7: warning: the description 'DSC01234' of an image in the text says nothing "
        f"of it: {advice}",
    ], result.stdout


def test_an_update_dated_ahead_is_a_warning_at_its_line_not_a_problem(project):
    """updated: 2027 for 2026, a slip of the finger: check says so at the line, and what to
    do, but it stops nothing (a post scheduled ahead may carry an update of its own time)."""
    project.post("a.md", "title: A\ndate: 2026-01-01\nupdated: 2027-01-05 10:00")
    project.post("b.md", "title: B\ndate: 2026-01-02\nupdated: 2026-01-05 10:00")
    project.post("c.md", "title: C\ndate: 2026-12-01\nupdated: 2026-12-24 10:00")  # scheduled
    result = run(project, "check", "--now", "2026-11-30T09:00")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "posts/a.md:4: warning: updated: 2027-01-05 10:00 has not come yet (it is "
        "2026-11-30 09:00 EST): the article's page says it was updated then; write when it was "
        "changed (a mistyped year?), or leave updated: out",
        "posts/c.md:4: warning: updated: 2026-12-24 10:00 has not come yet (it is "
        "2026-11-30 09:00 EST): the article's page says it was updated then; write when it was "
        "changed (a mistyped year?), or leave updated: out",
    ]
    assert result.stderr == "No problem found, but 2 warning(s): see above.\n"
    project.post("d.md", "title: D\ndate: someday")  # a problem as well: that one is counted
    result = run(project, "check", "--now", "2026-11-30T09:00")
    assert result.returncode == 1 and result.stdout.startswith("posts/d.md:3: date: ")
    assert result.stderr == "1 problem(s) found, and 2 warning(s).\n"


def test_a_link_to_a_post_file_that_leads_nowhere_yet_is_a_warning_at_its_line(project):
    """A link by file name to no post, to a draft, to a post with a problem or to one that
    goes live later leads to a page not found (for now): check and the build say so at the
    link's line, and the post still goes out with its other links working."""
    project.post("live.md", "title: Live\ndate: 2026-01-01")
    project.post("draft.md", "title: Draft\ndate: 2026-01-01\ndraft: true")
    project.post("later.md", "title: Later\ndate: 2026-12-24")
    project.post("broken.md", "title: Broken\ndate: someday")
    (project.root / "notes.md").write_text("# not a post\n", encoding="utf-8")
    project.post(
        "a.md",
        "title: A\ndate: 2026-02-01",
        "See [live](live.md).\n\nAnd [gone](lve.md), [draft](draft.md#top),\n"
        "[later](later.md) and [broken](broken.md).\n\n[notes](../notes.md)\n",
    )
    result = run(project, "check", "--now", "2026-11-30T09:00")
    warned = [line for line in result.stdout.splitlines() if line.startswith("posts/a.md")]
    assert warned == [
        "posts/a.md:7: warning: the link to 'lve.md' names no post file (looked for "
        "posts/lve.md): check the file's name, written from this post's file (like "
        "2026-11-20-hip-flexors.md), or link to the page's address",
        "posts/a.md:7: warning: the link to 'draft.md' leads to a draft (posts/draft.md): "
        "a page not found until that post is published (draft: false)",
        "posts/a.md:8: warning: the link to 'later.md' leads to a post that goes live on "
        "2026-12-24 00:00, after this one (posts/later.md): a page not found until then",
        "posts/a.md:8: warning: the link to 'broken.md' leads to a post with a problem that "
        "keeps it off the website (posts/broken.md): a page not found until that post is "
        "fixed (publisher check names it)",
        "posts/a.md:10: warning: the link to '../notes.md' leads outside the posts folder "
        "(notes.md): link to a post by its file's name, from this post's file (like "
        "2026-11-20-hip-flexors.md), or to a page by its address",
    ]
    assert result.stdout.startswith("posts/broken.md:3: date: ")  # its own problem
    assert result.returncode == 1  # for broken.md alone
    (project.posts / "broken.md").unlink()
    project.post("lve.md", "title: Lve\ndate: 2026-01-01")
    project.post("later.md", "title: Later\ndate: 2026-01-24")
    project.post("draft.md", "title: Draft\ndate: 2026-01-01")
    result = run(project, "check", "--now", "2026-11-30T09:00")
    assert result.returncode == 0
    assert [line.split(": warning: ")[1][:40] for line in result.stdout.splitlines()] == [
        "the link to 'broken.md' names no post fi",
        "the link to '../notes.md' leads outside ",
    ]
    # a build says the same of the posts it puts on the site
    build = run(project, "build")
    assert build.returncode == 0, build.stderr
    assert "posts/a.md:8: warning: the link to 'broken.md' names no post file" in build.stderr
    page = (project.output / "posts/a/index.html").read_text(encoding="utf-8")
    assert 'href="/posts/live/"' in page and 'href="/posts/draft/#top"' in page
    assert 'href="broken.md"' in page  # as written: nothing to lead to


def test_a_link_to_an_article_by_its_address_that_leads_nowhere_yet_is_a_warning(project):
    """An article linked by its address on the site (/posts/SLUG/, or the site's whole
    address), as staff copy it from the browser: a typo, a draft or a post still to come
    is said at the link's line; another site's /posts/ is not this site's."""
    project.post("live.md", "title: Live\ndate: 2026-01-01")
    project.post("draft.md", "title: Draft\ndate: 2026-01-01\ndraft: true")
    project.post("later.md", "title: Later\ndate: 2026-12-24")
    project.post(
        "a.md",
        "title: A\ndate: 2026-02-01",
        "See [live](/posts/live/), [again](https://clinic.example/posts/live/#why) and\n"
        "[typo](/posts/lvie/), [draft](https://clinic.example/posts/draft/),\n"
        "[later](/posts/later/#part) and [elsewhere](https://other.example/posts/nope/).\n",
    )
    result = run(project, "check", "--now", "2026-11-30T09:00")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "posts/a.md:6: warning: the link to '/posts/lvie/' leads to no article of the site: "
        "check the address (an article's is /posts/SLUG/, SLUG as publisher calendar lists "
        "it), or link to the post's file (like 2026-11-20-hip-flexors.md)",
        "posts/a.md:6: warning: the link to 'https://clinic.example/posts/draft/' leads to a "
        "draft (posts/draft.md): a page not found until that post is published (draft: false)",
        "posts/a.md:7: warning: the link to '/posts/later/#part' leads to a post that goes "
        "live on 2026-12-24 00:00, after this one (posts/later.md): a page not found until then",
    ]
    project.post("later.md", "title: Later\ndate: 2026-01-24")
    project.post("lvie.md", "title: Lvie\ndate: 2026-01-01")
    project.post("draft.md", "title: Draft\ndate: 2026-01-01")
    result = run(project, "check", "--now", "2026-11-30T09:00")
    assert result.returncode == 0 and result.stdout == ""
    # a renamed article's old address sends visitors on to the new one: no warning either
    run(project, "publish", "--due", "--now", "2026-11-30T09:00")
    project.post("live.md", "title: Live\ndate: 2026-01-01\nslug: alive")
    run(project, "publish", "--due", "--now", "2026-11-30T09:05")
    result = run(project, "check", "--now", "2026-11-30T09:10")
    assert result.returncode == 0 and result.stdout == ""
    project.post("live.md", "title: Live\ndate: 2026-01-01\ndraft: true")  # now it is one
    result = run(project, "check", "--now", "2026-11-30T09:10")
    assert "the link to '/posts/live/' leads to a draft (posts/live.md)" in result.stdout
    # out on the website, then edited into a problem: the site keeps its page, so a link to
    # it leads somewhere; check names the problem, not the link
    project.post("live.md", "title: Live\ndate: 2026-01-01")
    run(project, "publish", "--due", "--now", "2026-11-30T09:15")
    project.post("live.md", "title: Live\ndate: 2026-01-01\ntags: [unclosed")
    result = run(project, "check", "--now", "2026-11-30T09:20")
    assert result.returncode == 1 and result.stdout.startswith("posts/live.md:4: ")
    assert "posts/a.md" not in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        (
            "title: A\ndate: 2026-01-01\ntags: [a, b\n",
            "posts/p.md:4: a list that begins with [ is not closed: end it with ]",
        ),
        ("date: 2026-01-01", "posts/p.md:2: missing title"),
        ("title: A", "posts/p.md:2: missing date"),
        ("title: A\ndate: 2026-02-30", "posts/p.md:3: date: '2026-02-30' is not a real date"),
        ("title: A\ndate: next tuesday", "posts/p.md:3: date: 'next tuesday' is not a date"),
        # a date written as people write them: what to write instead, with the day in words
        (
            "title: A\ndate: 12/02/2026",
            "posts/p.md:3: date: '12/02/2026' is not a date publisher reads: write 2026-12-02 "
            "for Wednesday, December 2, 2026 (year-month-day, hours 00-23), or 2026-02-12 if "
            "it meant 12 February (day first)",
        ),
        (
            "title: A\ndate: 25/12/2026 9:30pm",
            "posts/p.md:3: date: '25/12/2026 9:30pm' is not a date publisher reads: write "
            "2026-12-25 21:30 for Friday, December 25, 2026 at 9:30 PM (year-month-day, hours "
            "00-23)",
        ),
        (
            "title: A\ndate: 'Wednesday, Dec. 2nd, 2026 at 12 PM'",
            "posts/p.md:3: date: 'Wednesday, Dec. 2nd, 2026 at 12 PM' is not a date publisher "
            "reads: write 2026-12-02 12:00 for Wednesday, December 2, 2026 at 12:00 PM",
        ),
        (
            "title: A\ndate: 2026-12-10 09:00\nfacebook:\n  at: 2026-12-2 noon",
            "posts/p.md:5: facebook.at: '2026-12-2 noon' is not a date publisher reads: write "
            "2026-12-02 12:00 for Wednesday, December 2, 2026 at 12:00 PM",
        ),
        # a file name's way, and a zone's name: the day and the time as written
        (
            "title: A\ndate: 20261120",
            "posts/p.md:3: date: '20261120' is not a date publisher reads: write 2026-11-20 "
            "for Friday, November 20, 2026",
        ),
        (
            "title: A\ndate: 2026-11-20 21:00 EST",
            "posts/p.md:3: date: '2026-11-20 21:00 EST' is not a date publisher reads: write "
            "2026-11-20 21:00 for Friday, November 20, 2026 at 9:00 PM (year-month-day, hours "
            "00-23; without the zone's name: a time is the site's local time)",
        ),
        (  # written in another zone: the time here
            "title: A\ndate: 2026-12-01 18:00 UTC",
            "posts/p.md:3: date: '2026-12-01 18:00 UTC' is not a date publisher reads: write "
            "2026-12-01 13:00 for Tuesday, December 1, 2026 at 1:00 PM (year-month-day, hours "
            "00-23; 18:00 UTC is 13:00 here; without the zone's name",
        ),
        ("title: A\ndate: 13/13/2026", "posts/p.md:3: date: '13/13/2026' is not a date: write"),
        (
            "title: A\ndate: 2026-01-01 25:00",
            "posts/p.md:3: date: '2026-01-01 25:00' is not a real date",
        ),
        (
            "title: A\ndate: 2026-03-08 02:30",
            "posts/p.md:3: date: 2026-03-08 02:30 does not exist in America/New_York",
        ),
        (
            "title: A\ndate: 2026-11-01 01:30",
            "posts/p.md:3: date: 2026-11-01 01:30 happens twice in America/New_York",
        ),
        (
            "title: A\ndate: 2026-01-01\nslug: Bad_Slug",
            "posts/p.md:4: slug 'Bad_Slug' may only have",
        ),
        (
            "title: A\ndate: 2026-01-01\nslug: ../../etc",
            "posts/p.md:4: slug '../../etc' may only have",
        ),
        (
            "title: A\ndate: 2026-01-01\nimage: images/none.jpg\nimage_alt: x",
            "posts/p.md:4: image 'images/none.jpg' not found",
        ),
        (
            "title: A\ndate: 2026-01-01\nimage: ../outside.jpg\nimage_alt: x",
            "posts/p.md:4: image '../outside.jpg' is outside the posts folder",
        ),
        (
            "title: A\ndate: 2026-01-01\nimage: notes.jpg\nimage_alt: x",
            "posts/p.md:4: image 'notes.jpg' is not an image file",
        ),
        (
            "title: A\ndate: 2026-01-01\nimage: scan.tif\nimage_alt: x",
            "posts/p.md:4: image 'scan.tif' is a TIFF image, which web browsers do not show: "
            "export it as a JPEG",
        ),
        ("title: A\ndate: 2026-01-01\nimage: images/a.jpg", "posts/p.md:4: image_alt is missing"),
        ("title: A\ndate: 2026-01-01\ncategory: news", "posts/p.md:4: unknown key 'category'"),
        (
            "title: A\ndate: 2026-12-10 09:00\ninstagram:\n  at: 18:30",
            "posts/p.md:5: instagram.at: '18:30' is not",
        ),
        ("title: A\ndate: 2026-01-01\ntags: back pain", "posts/p.md:4: tags must be a list"),
        ("title: A\ndate: 2026-01-01\ndraft: maybe", "posts/p.md:4: draft must be true or false"),
        ("title: A\ndate: 2026-01-01\nfacebook: 3", "posts/p.md:4: facebook must be false"),
    ],
)
def test_each_problem_is_reported_at_its_line(project, front, expected):
    project.image("images/a.jpg")
    (project.root / "outside.jpg").write_bytes((project.posts / "images/a.jpg").read_bytes())
    (project.posts / "notes.jpg").write_text("not really a picture")
    Image.new("RGB", (40, 30)).save(project.posts / "scan.tif")
    project.post("p.md", front)
    lines = problems(project)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines


def test_images_reached_through_links_are_judged_by_where_they_really_are(project):
    """A link inside the posts folder to a photo outside it is outside; a link to a folder
    inside is fine (paths are resolved as the system resolves them)."""
    project.image("images/a.jpg")
    outside = project.root / "elsewhere"
    outside.mkdir()
    (outside / "b.jpg").write_bytes((project.posts / "images/a.jpg").read_bytes())
    (project.posts / "images/linked.jpg").symlink_to(outside / "b.jpg")
    (project.posts / "away").symlink_to(outside, target_is_directory=True)
    (project.posts / "pictures").symlink_to(project.posts / "images", target_is_directory=True)
    project.post("p.md", "title: P\ndate: 2026-01-01\nimage: images/linked.jpg\nimage_alt: x")
    project.post("q.md", "title: Q\ndate: 2026-01-01\nimage: away/b.jpg\nimage_alt: x")
    project.post(
        "r.md",
        "title: R\ndate: 2026-01-01\nimage: pictures/a.jpg\nimage_alt: x",
        "![In the text](away/b.jpg)\n\n![Fine](pictures/a.jpg)\n",
    )
    expected = [
        f"posts/p.md:4: image 'images/linked.jpg' is a link to {outside / 'b.jpg'}, outside "
        "the posts folder",
        f"posts/q.md:4: image 'away/b.jpg' is a link to {outside / 'b.jpg'}, outside the posts",
        "posts/r.md:7: image 'away/b.jpg' in the text is outside the posts folder: keep",
    ]
    lines = problems(project)
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line


def test_an_image_in_the_text_is_reported_on_its_own_line(project):
    project.image("images/a.jpg")
    (project.posts / "images/notes.jpg").write_text("not a picture")
    body = "Intro.\n\n" + "More text.\n\n" * 5 + "![Gone](images/gone.jpg)\n\n"
    body += "Text.\n\n![Not one](images/notes.jpg)\n"
    project.post("p.md", "title: P\ndate: 2026-01-01", body)
    # the front matter is lines 1-4, the text starts on line 5
    assert problems(project) == [
        "posts/p.md:17: image 'images/gone.jpg' in the text was not found (looked for "
        "posts/images/gone.jpg): check the file name and folder (from the post's file)",
        "posts/p.md:21: image 'images/notes.jpg' in the text is not an image file "
        "(JPEG, PNG, WebP or GIF): export it again as a JPEG",
    ]


def test_an_image_address_with_a_space_is_named_not_shown_as_text(project):
    project.image("images/my photo.jpg")
    body = (
        "Intro.\n\n![A room](images/my photo.jpg)\n\n"
        '![Titled](images/a.jpg "A title") and ![Fine](<images/my photo.jpg>)\n'
    )
    project.image("images/a.jpg")
    project.post("p.md", "title: P\ndate: 2026-01-01", body)
    assert problems(project) == [
        "posts/p.md:7: the image address 'images/my photo.jpg' has a space, so Markdown "
        "shows it as text: write it as ![...](<images/my photo.jpg>), or rename the file "
        "without spaces"
    ]


def test_a_text_all_in_curly_quotes_is_kept_and_warned_of_at_its_line(project):
    """title: “Stretch”, from a word processor: YAML takes straight quotes away but keeps
    curly ones. The title is kept as written (it may be a quotation); check says at the line
    that the quotes are part of it, and where they show."""
    project.post(
        "a.md",
        "title: “Stretch”\ndate: 2026-01-01\nsummary: ‘Loosen up’\n"
        "facebook:\n  message: “Stretch with us”",
    )
    project.post("b.md", 'title: "Stretch more"\ndate: 2026-01-02\nsummary: “Stretch” daily')
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    advice = (
        ": if they were meant only to hold the text, delete them (or type straight quotes "
        '"...", which are not shown); keep them if it is a quotation'
    )
    assert result.stdout.splitlines() == [
        "posts/a.md:2: warning: title: the curly quotes around “Stretch” are part of it, "
        f"shown on the page, Facebook and Instagram{advice}",
        "posts/a.md:4: warning: summary: the curly quotes around ‘Loosen up’ are part of it, "
        f"shown in the page's description, link previews and the Facebook post{advice}",
        "posts/a.md:6: warning: facebook.message: the curly quotes around “Stretch with us” "
        f"are part of it, shown in the Facebook post{advice}",
    ]
    assert run(project, "build").returncode == 0
    assert "<h1>“Stretch”</h1>" in (project.output / "posts/stretch/index.html").read_text()


def test_tags_of_two_posts_that_make_one_page_are_named_with_what_to_write(project):
    """ "C++" in one post and "C#" in another both make /tags/c/, which listed the two posts
    under one tag without a word. Each post is right on its own, so both go out; check and
    the pass that builds the site say which tags, of which posts, and what to write."""
    project.post("a.md", "title: A\ndate: 2026-01-01\ntags: [C++, posture]")
    project.post("b.md", "title: B\ndate: 2026-01-02\ntags: [Posture, C#]")
    project.post("c.md", "title: C\ndate: 2026-01-03\ntags: [C, back-pain]")
    project.post("d.md", "title: D\ndate: 2026-01-04\ntags: [Back Pain]")  # one tag
    said = [
        "posts/b.md:4: warning: tags: 'C#' and 'C++' (a tag of posts/a.md) make one tag page, "
        "/tags/c/, which lists both posts under one of the two names: if they are different "
        "topics, write one of them apart in letters or digits, for example  C sharp  for 'C#'",
        "posts/c.md:4: warning: tags: 'C' and 'C++' (a tag of posts/a.md) make one tag page, "
        "/tags/c/, which lists both posts under one of the two names: if they are different "
        "topics, write one of them apart in letters or digits, for example  C plus plus  for "
        "'C++'",
    ]
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == said
    passed = run(project, "publish", "--due", "--now", "2026-01-05T09:00")
    assert all(line in passed.stdout for line in said), passed.stdout
    assert (project.output / "posts/b/index.html").exists()  # nothing is left out
    project.post("b.md", "title: B\ndate: 2026-01-02\ntags: [Posture, C sharp]")
    assert run(project, "check").stdout.splitlines() == said[1:]


def test_footnote_problems_are_named_at_their_lines(project):
    body = (
        "Massage lowers cortisol.[^1] Sleep improves.[^2]\n"  # line 5
        "Escaped \\[^3] and `[^4]` are text.\n"
        "\n"
        "[^1]: Field, 2016.\n"  # line 8
        "[^5]: A note nothing refers to.\n"
        "\n"
        "    [^6]: Indented under the note above.\n"  # line 11
        "\n"
        "[^1]: Field again.\n"  # line 13
    )
    project.post("p.md", "title: P\ndate: 2026-01-01", body)
    project.post("fine.md", "title: Fine\ndate: 2026-01-01", "Cited.[^a]\n\n[^a]: A note.\n")
    assert problems(project) == [
        "posts/p.md:5: footnote [^2] has no note, so the page would show [^2] as written: add "
        "the note at the end, on a line of its own at the left margin (after a blank line):  "
        "[^2]: the source or remark  (or take [^2] out of the text)",
        "posts/p.md:9: note [^5] is never referred to in the text, so the page would not show "
        "it: put [^5] in the text where the note belongs (right after the word or sentence), "
        "or delete the note",
        "posts/p.md:11: note [^6] is indented under the note above it, so it is read as part "
        "of that note: start it at the left margin, after a blank line",
        "posts/p.md:13: note [^1] is written a second time here (5 lines below the first): "
        "the page would show only the last: give each note its own label, like [^1b], or "
        "delete one",
    ]
    assert run(project, "build").returncode == 1  # p.md is left out, like any post with a problem
    assert (project.output / "posts/fine/index.html").exists()
    assert not (project.output / "posts/p").exists()


def test_a_footnote_marker_in_a_photos_description_is_named_at_its_line(project):
    """In a photo's alt text a marker is not shown, and its note links back to nothing."""
    project.image("images/a.jpg")
    body = (
        "Massage lowers cortisol.[^1]\n"  # line 5
        "\n"
        "![A therapist at work[^1]](images/a.jpg)\n"  # line 7
        "\n"
        "Text, then a link: [![Calm[^2] room](images/a.jpg)](https://example.com)\n"  # line 9
        "\n"
        "[^1]: Field, 2016.\n"
        "[^2]: A note.\n"
    )
    project.post("p.md", "title: P\ndate: 2026-01-01", body)
    front = "title: Q\ndate: 2026-01-01\nimage: images/a.jpg\nimage_alt: A room[^1]"
    project.post("q.md", front, "Cited.[^1]\n\n[^1]: A note.\n")
    said = (
        "is in a photo's description (its alt text, between ![ and ]), where the page cannot "
        "show it and its note would link back to nothing: move {m} into the text, after the "
        "sentence it belongs to, and keep the description plain words"
    )
    assert problems(project) == [
        f"posts/p.md:7: footnote [^1] {said.format(m='[^1]')}",
        f"posts/p.md:9: footnote [^2] {said.format(m='[^2]')}",
        "posts/q.md:5: image_alt has a footnote marker, [^1], which the photo's description "
        "would show as written (a screen reader reads it out): take it out of image_alt and "
        "put it in the text, after the sentence it belongs to",
    ]
    assert run(project, "build").returncode == 1  # left out, like any post with a problem
    assert not (project.output / "posts/p").exists()


def test_no_front_matter_and_unclosed_front_matter(project):
    (project.posts / "plain.md").write_text("Just text\n")
    (project.posts / "open.md").write_text("---\ntitle: A\n\nBody\n")
    lines = problems(project)
    assert lines[0].startswith("posts/open.md:1: the front matter is not closed")
    assert lines[1].startswith("posts/plain.md:1: no front matter")


def test_duplicate_slugs_are_reported_on_the_second_post(project):
    project.post("a.md", "title: Hip pain\ndate: 2026-01-01")
    project.post("b.md", "title: Something else\ndate: 2026-01-02\nslug: hip-pain")
    assert problems(project) == [
        "posts/b.md:4: slug 'hip-pain' is already used by posts/a.md: "
        "give this post a different title or a slug: line"
    ]


def test_a_file_managers_copy_of_a_post_is_the_one_that_gives_way(project):
    """Finder's "Duplicate" names it "... copy.md", which sorts before the original: the
    original, named after its slug, keeps it, and the copy is named as one."""
    text = "title: Psoas\ndate: 2025-10-21"
    project.post("2025-10-21-psoas.md", text)
    project.post("2025-10-21-psoas copy.md", text)
    project.post("psoas - Copy (2).md", text)
    assert problems(project) == [
        f"posts/{name}:2: slug 'psoas' is already used by posts/2025-10-21-psoas.md: this "
        f"file looks like a copy of it (its name ends in {end!r}): delete the copy, or give it "
        "its own title"
        for name, end in (
            ("2025-10-21-psoas copy.md", "copy"),
            ("psoas - Copy (2).md", "- Copy (2)"),
        )
    ]


def test_publisher_run_in_the_posts_folder_finds_the_projects_config(project, tmp_path):
    """Staff open a terminal in posts/ as often as in the project: `new` there wrote
    posts/posts/..., which nothing publishes. Outside any project, it says so."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "PUBLISHER_CONFIG"}

    def publisher(cwd, *args):
        return subprocess.run(
            [sys.executable, "-m", "publisher", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=60,
        )

    result = publisher(project.posts, "new", "From the posts folder", "--date", "2026-12-05")
    assert result.returncode == 0, result.stderr
    assert (project.posts / "2026-12-05-from-the-posts-folder.md").is_file()
    assert not (project.posts / "posts").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = publisher(elsewhere, "check")
    assert result.returncode == 1
    assert f"there is no config.toml in {elsewhere} or a folder above it" in result.stderr
    # status and calendar said "No deliveries yet: add a post" first, and new wrote a
    # posts/ folder there that nothing publishes: each stops, saying so
    for command in (["status"], ["calendar"], ["new", "Holiday hours"], ["retry", "1"]) + (
        ["preview", "shoulders"],
    ):
        result = publisher(elsewhere, *command)
        assert result.returncode == 1, (command, result.stdout)
        assert f"there is no config.toml in {elsewhere} or a folder above it" in result.stderr
        assert result.stdout == "" and list(elsewhere.iterdir()) == [], command


def test_invisible_characters_and_a_word_processors_dashes_are_named(project):
    """A no-break space indenting a key (YAML reads it as part of a top-level key), a
    zero-width space before one, and the dash a word processor makes of ---."""
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01\nfacebook:\n\u00a0\u00a0at: 2026-01-01 10:00\n"
        "\u200bsummary: Short.",
    )
    (project.posts / "b.md").write_text("\u2014-\ntitle: B\ndate: 2026-01-01\n\u2014-\nText.\n")
    assert problems(project) == [
        "posts/a.md:5: the line of 'at' has spaces that are not plain spaces (no-break "
        "spaces, pasted from a web page or a word processor), which YAML does not read as "
        "indenting: delete the start of the line up to 'at' and type it again, indenting "
        "with plain spaces",
        "posts/a.md:6: the line of 'summary' has a character you cannot see (a zero-width "
        "space, pasted with the text): delete the start of the line up to 'summary' and type "
        "it again",
        "posts/b.md:1: the first line, '\u2014-', should be three hyphens: a word processor "
        "made a dash of ---; type --- again (and on the line that closes the front matter)",
    ]


def test_html_pasted_into_a_text_is_a_warning_with_the_markdown_to_write(project):
    """The page shows it as text, tags and all (unless [site] allow_html = true); HTML in
    code, `<b>`, is shown as code on purpose."""
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01",
        "Use `<b>` for bold.\n\n```\n<br>\n```\n\nOpen <b>Sundays</b><br>\n",
    )
    project.post(
        "v.md",
        "title: V\ndate: 2026-01-01",
        'Watch:\n\n<iframe width="560" src="https://www.youtube.com/embed/x"></iframe>\n',
    )
    project.post("c.md", "title: C\ndate: 2026-01-01", "Only `<br>` in code, and 2 < 3 > 1.\n")
    result = run(project, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "posts/a.md:11: warning: '<b>' is HTML, which the page shows as text, tags and all: "
        "for bold, write **words**",
        "posts/a.md:11: warning: '<br>' is HTML, which the page shows as text, tags and all: "
        "for a line break, end the line with a backslash (\\)",
        "posts/v.md:7: warning: '<iframe ...>' is HTML, which "
        "the page shows as text, tags and all: for a video, link to it: [Watch the "
        "video](https://www.youtube.com/watch?v=...)",
    ]
    project.config_path.write_text(
        project.config_path.read_text().replace("[site]\n", "[site]\nallow_html = true\n", 1)
    )
    assert problems(project) == []


def test_a_new_post_or_a_draft_never_pushes_a_live_post_off_its_slug(project):
    # "a-new" sorts first by name, but the live, older post keeps the slug
    project.post("z-old.md", "title: Same Title\ndate: 2026-01-01")
    project.post("a-new.md", "title: Same Title\ndate: 2026-11-20\ndraft: true")
    assert warnings(project) == [  # a draft: nothing of it goes out yet
        "posts/a-new.md:2: warning: slug 'same-title' is already used by posts/z-old.md: "
        "give this post a different title or a slug: line (before you set draft: false)"
    ]
    (project.posts / "a-new.md").write_text(
        (project.posts / "a-new.md").read_text().replace("draft: true", "draft: false")
    )
    assert problems(project)[0].startswith("posts/a-new.md:2: slug 'same-title' is already")
    assert run(project, "build").returncode == 1  # the new one is left out, and said so
    assert "Same Title" in (project.output / "posts/same-title/index.html").read_text()
    assert "2026-01-01" in (project.output / "posts/same-title/index.html").read_text()


def test_several_problems_in_one_file_are_all_listed(project):
    project.post("p.md", "title: A\ndate: 2026-13-01\nslug: X Y\nunknown: 1")
    lines = problems(project)
    assert [line.split(":")[1] for line in lines] == ["3", "4", "5"]


def test_a_post_saved_as_text_or_a_document_is_named_not_left_out(project):
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    (project.posts / "notepad-post.md.txt").write_text("---\ntitle: N\ndate: 2026-01-01\n---\nHi\n")
    (project.posts / "plain.txt").write_text("---\ntitle: P\ndate: 2026-01-01\n---\nHi\n")
    (project.posts / "notes.txt").write_text("Ideas for next month.\n")  # not a post: fine
    (project.posts / "Word post.docx").write_bytes(b"PK\x03\x04")
    (project.posts / "images").mkdir(exist_ok=True)
    project.image("images/a.jpg")
    assert problems(project) == [
        "posts/Word post.docx: a word processor's document is not read as a post: paste its "
        "text into a .md file (publisher new makes one), then move this file out of the folder",
        "posts/notepad-post.md.txt: a post saved as text is not read: rename it to notepad-post.md",
        "posts/plain.txt: a post saved as text is not read: rename it to plain.md",
    ]


def test_a_post_another_editor_named_is_named_not_left_out(project):
    """A Markdown editor's own suffix, none at all, or a space typed after .md: the file is
    not read, so it is said (an editor's backup, post.md~, is not)."""
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    for name in ("notes.mdown", "plain", "spaced.md ", "good.md~", "list.text"):
        (project.posts / name).write_text("---\ntitle: N\ndate: 2026-01-01\n---\nHi\n")
    (project.posts / "README").write_text("What goes in this folder.\n")  # not a post: fine
    assert problems(project) == [
        "posts/list.text: only .md files are read as posts: rename it to list.md",
        "posts/notes.mdown: only .md files are read as posts: rename it to notes.md",
        "posts/plain: only .md files are read as posts: rename it to plain.md",
        "posts/spaced.md : only .md files are read as posts: rename it to spaced.md (its name "
        "has a space or dot after .md)",
    ]


def test_a_post_whose_name_is_not_utf8_is_named_and_the_others_go_out(project):
    """A name from an older Windows or Mac disk (Latin-1's é): check says which file and
    what to rename it to; a build and a pass build the other posts, say it, and exit 1."""
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    project.post(os.fsdecode(b"Caf\xe9 tips.md"), "title: Cafe\ndate: 2026-01-01")
    said = (
        "posts/Caf\\xe9 tips.md: is not read as a post: its name is not UTF-8 text (it came "
        "from an older Windows or Mac disk): rename the file, for example to Café tips.md"
    )
    assert problems(project) == [said]
    for command in (["build"], ["publish", "--due"]):
        result = run(project, *command)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        assert "posts/Caf\\xe9 tips.md: is not read: its name is not UTF-8 text" in (
            result.stdout + result.stderr
        )
    assert (project.output / "posts/good/index.html").exists()
    status = run(project, "status")
    assert said in status.stdout, status.stdout + status.stderr


def test_a_site_file_whose_name_is_not_utf8_stops_the_build_with_its_name(project):
    import shutil

    from .conftest import REPO

    project.post("good.md", "title: Good\ndate: 2026-01-01")
    shutil.copytree(REPO / "templates", project.root / "templates")
    text = project.config_path.read_text().replace(str(REPO / "templates"), "templates")
    project.config_path.write_text(text)
    static = project.root / "templates/site/static"
    static.mkdir(exist_ok=True)
    (static / os.fsdecode(b"logo-caf\xe9.png")).write_bytes(b"x")
    result = run(project, "build")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "static/logo-caf\\xe9.png: the file's name is not UTF-8 text" in result.stderr
    assert "rename it, for example to logo-café.png" in result.stderr


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        (
            "Title: A\ndate: 2026-01-01",
            "unknown key 'Title': keys are written in lower case: title:",
        ),
        ("title: A\ndate: 2026-01-01\nsumary: Hi", "unknown key 'sumary': did you mean 'summary'?"),
        ("title: A\ndate: 2026-01-01\ntagz: [a]", "unknown key 'tagz': did you mean 'tags'?"),
        (
            "title: A\ndate: 2026-01-01\nfacebook:\nat: 2026-01-02 09:00",
            "unknown key 'at': at: belongs to a channel: indent it under  facebook:  or  instagram:",
        ),
        (
            "title: A\ndate: 2026-01-01\ndraft: “false”",
            "draft must be true or false, without quotes (a word processor made these curly quotes)",
        ),
    ],
)
def test_a_mistyped_key_or_value_says_what_to_write(project, front, expected):
    project.post("p.md", front)
    assert any(expected in line for line in problems(project)), problems(project)


def test_an_image_named_with_other_capitals_says_so(project):
    project.image("images/My Photo.JPG")
    project.post("p.md", "title: A\ndate: 2026-01-01\nimage: images/My Photo.jpg\nimage_alt: A")
    assert any(
        "the file is named 'My Photo.JPG': write the name with the same capitals" in line
        for line in problems(project)
    )


@pytest.mark.parametrize(
    ("written", "advice"),
    [
        (
            "photos/shoulders.jpg",
            "it is 'Photos/Shoulders.JPG' on the disk: write it with the same capitals",
        ),
        ("Photos/shoulder.JPG", "is it 'Photos/Shoulders.JPG'? check the file name and folder"),
        ("imges/IMG_4021.jpg", "is it 'images/IMG_4021.jpg'? check the file name and folder"),
        ("images/IMG_4012.jpg", "is it 'images/IMG_4021.jpg'? check the file name and folder"),
        ("pics/IMG_4022.jpg", "there is no folder 'pics': check the file name and folder"),
        (
            "pics/IMG_4021.jpg",
            "is it 'images/IMG_4021.jpg'? it is in that folder",
        ),
        ("images/zzz.jpg", "check the file name and folder"),
    ],
)
def test_a_photo_not_found_says_what_is_there_instead(project, written, advice):
    """Staff type the folder's capitals wrong, or a digit of a phone's photo name."""
    project.image("Photos/Shoulders.JPG")
    project.image("images/IMG_4021.jpg")
    project.post("p.md", f"title: A\ndate: 2026-01-01\nimage: {written}\nimage_alt: A")
    project.post("q.md", "title: B\ndate: 2026-01-01", f"Text.\n\n![B]({written})\n")
    found = problems(project)
    assert found == [
        f"posts/p.md:4: image {written!r} not found (looked for posts/{written}): {advice}",
        f"posts/q.md:7: image {written!r} in the text was not found (looked for "
        f"posts/{written}): {advice} (from the post's file)",
    ], found


@pytest.mark.parametrize(
    ("written", "said"),
    [
        (
            "images\\shoulders.jpg",
            "image 'images\\shoulders.jpg' not found (looked for posts/images\\shoulders.jpg): "
            "write / between folders, not \\ ('images/shoulders.jpg')",
        ),
        (
            "shoulders.jpg",
            "image 'shoulders.jpg' not found (looked for posts/shoulders.jpg): is it "
            "'images/shoulders.jpg'? it is in that folder",
        ),
        (
            "“images/shoulders.jpg”",
            "image '“images/shoulders.jpg”' not found (looked for posts/“images/shoulders.jpg”): "
            "take the quote marks off: they are read as part of the name ('images/shoulders.jpg')",
        ),
        (
            "/images/shoulders.jpg",
            "image '/images/shoulders.jpg': a path that starts with / starts at the top of the "
            "disk: write it from the post's file, 'images/shoulders.jpg'",
        ),
        (
            '"images\\shoulders.jpg"',
            "a \\ inside double quotes starts an escape (such as \\n) in YAML: write / between "
            "folders (images/photo.jpg), or put the text in single quotes",
        ),
    ],
)
def test_a_photo_path_written_as_windows_or_a_word_processor_would_says_how_to_write_it(
    project, written, said
):
    project.image("images/shoulders.jpg")
    project.post("p.md", f"title: A\ndate: 2026-01-01\nimage: {written}\nimage_alt: A")
    assert problems(project) == [f"posts/p.md:4: {said}"]


def test_a_photo_named_from_the_posts_folder_in_a_post_of_a_subfolder_says_its_path(project):
    """A post in posts/2026/ names images/a.jpg, as the posts at the top do: the path is
    from the post's file, so it is ../images/a.jpg."""
    project.image("images/a.jpg")
    project.post("2026/p.md", "title: A\ndate: 2026-01-01\nimage: images/a.jpg\nimage_alt: A")
    project.post("2026/q.md", "title: B\ndate: 2026-01-01", "Text.\n\n![B](images/a.jpg)\n")
    advice = (
        "from this post's folder, it is '../images/a.jpg' (a path is written from the post's file)"
    )
    assert problems(project) == [
        "posts/2026/p.md:4: image 'images/a.jpg' not found (looked for posts/2026/images/a.jpg): "
        + advice,
        "posts/2026/q.md:7: image 'images/a.jpg' in the text was not found (looked for "
        f"posts/2026/images/a.jpg): {advice} (from the post's file)",
    ]


def test_tags_that_would_share_a_page_are_named_one_tag_written_two_ways_is_not(project):
    project.post("a.md", "title: A\ndate: 2026-01-01\ntags: [C++, C#, neck]")
    project.post("b.md", "title: B\ndate: 2026-01-01\ntags: [Back Pain, back-pain, Café, cafe]")
    assert problems(project) == [
        "posts/a.md:4: tags 'C++' and 'C#' would share one page, /tags/c/, and 'C#' would "
        "not show: write them apart in letters or digits (for example C plus plus)"
    ]


def test_config_errors_name_the_key(project):
    project.write_config("[site]\nposts_per_pag = 3\n", base="")
    result = run(project, "check")
    assert result.returncode == 1
    assert "[site.posts_per_pag] unknown key (did you mean 'posts_per_page'?)" in result.stderr
    project.write_config("[site]\nposts_per_page = 'ten'\n", base="")
    assert "[site.posts_per_page] must be a whole number, not 'ten'" in run(project, "check").stderr
    project.write_config("[facebook_graph]\naccess_token = 'x'\n", base="")
    assert "secrets never go in config.toml" in run(project, "check").stderr
    project.write_config("[site]\ntimezone = 'Pittsburgh'\n", base="")
    assert (
        "[site.timezone] timezone 'Pittsburgh' is not an IANA time zone"
        in run(project, "check").stderr
    )
    assert "Traceback" not in run(project, "check").stderr


def test_config_errors_name_the_line_of_the_key(project):
    """A config error named its key ([facebook.offset]) but not its line: in a config.toml
    of sixty lines, staff and the engineer hunted for it."""
    config = (
        "[site]\n"
        "title = 'Clinic'\n"
        "\n"
        "[facebook]\n"
        "enabled = true  # offset = 'not this one'\n"
        '"offset" = "30 mins"\n'
        "\n"
        "[instagram]\n"
        "offset = '1h'\n"
    )
    project.write_config(config, base="")  # (after a blank line)
    said = run(project, "check").stderr
    assert f"{project.config_path}:7: [facebook.offset] '30 mins' is not a duration" in said
    project.write_config(config.replace("30 mins", "30m") + "[extras]\nx = 1\n", base="")
    assert f"{project.config_path}:11: [extras] unknown table" in run(project, "check").stderr
    project.write_config("[site]\noutput = 'public'\ncache = 'public/cache'\n", base="")
    assert f"{project.config_path}:4: [site.cache] " in run(project, "check").stderr
    # a key left to its default has no line to name
    project.write_config("[site]\noutput = '.'\n", base="")
    assert f"{project.config_path}: [site.cache] " in run(project, "check").stderr


def test_a_config_saved_by_notepad_is_read_or_its_encoding_named(project):
    """A BOM at the start (Notepad's UTF-8) was "config.toml:1: is not valid TOML: Invalid
    statement"; Windows-1252 and UTF-16 were "is not UTF-8 text", with no line or fix."""
    project.post("a.md", "title: A\ndate: 2026-01-01")
    text = project.config_path.read_text().replace("Test Clinic", "Test Clinic Café", 1)
    project.config_path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    check = run(project, "check")
    assert check.returncode == 0, check.stderr
    assert "Café" in run(project, "build").stderr + (project.output / "index.html").read_text()
    project.config_path.write_bytes(text.encode("cp1252"))
    said = run(project, "check").stderr
    line = text.split("\n").index('title = "Test Clinic Café"') + 1
    assert (
        f"{project.config_path}:{line}: is not UTF-8 text: this line has a character saved in "
        "another encoding (such as Windows-1252 or Latin-1); save it again as UTF-8 (in "
        "Notepad: File, Save As, Encoding: UTF-8)"
    ) in said, said
    for encoding in ("utf-16", "utf-16-le"):  # with its mark, and without
        project.config_path.write_bytes(text.encode(encoding))
        said = run(project, "check").stderr
        assert f'{project.config_path}:1: is saved as UTF-16 (what Windows calls "Unicode")' in said


def test_front_matter_written_another_way_is_named_with_the_fix(project):
    """Blank lines above the first ---, Hugo's TOML front matter, YAML's ... end and UTF-16
    without its mark were all "no front matter" or "not closed"."""
    fine = "---\ntitle: A\ndate: 2026-01-01\n---\nText.\n"
    (project.posts / "blank.md").write_text("\n\n" + fine)
    (project.posts / "hugo.md").write_text('+++\ntitle = "A"\ndate = 2026-01-01\n+++\nText.\n')
    (project.posts / "dots.md").write_text(fine.replace("\n---\nText", "\n...\nText"))
    (project.posts / "wide.md").write_bytes(
        fine.replace("title: A", "title: B").encode("utf-16-le")
    )
    assert problems(project) == [
        "posts/blank.md:1: the file has blank lines before its first '---': delete them, so "
        "that '---' begins the very first line",
        "posts/dots.md:4: the front matter ends with '...': write '---' instead",
        "posts/hugo.md:1: the front matter is written in TOML, between '+++' lines (as Hugo "
        "allows): publisher reads YAML: write '---' instead of each '+++', and key: value "
        "instead of key = value",
        'posts/wide.md:1: the file is saved as UTF-16 (what Windows calls "Unicode"): save it '
        "again as UTF-8 (in Notepad: File, Save As, Encoding: UTF-8)",
    ]


def test_a_key_in_the_wrong_table_or_a_bare_word_value_is_named_with_what_to_do(project):
    """`ledger` written under [site] was only an unknown key there; `enabled = yes` was
    "is not valid TOML: Invalid value (at line 5, column 11)", with no key named."""
    project.write_config("[site]\nledger = 'publisher.db'\n", base="")
    said = run(project, "check").stderr
    assert (
        f"{project.config_path}:3: [site.ledger] unknown key here: it belongs under [publish] "
        "(move the line there)"
    ) in said, said
    project.write_config("[site]\nenabled = true\n", base="")
    said = run(project, "check").stderr
    assert "[site.enabled] unknown key here: it belongs under [facebook] or [instagram]" in said
    for line, advice in (
        (
            "enabled = yes  # on",
            "enabled must be true or false, in small letters and without quotes",
        ),
        ("offset = 30m", 'the text of offset goes in quotes: offset = "30m"'),
        (
            "slots = [Tue 12:00]",
            'each item of the list slots is text in quotes: slots = ["Tue 12:00"]',
        ),
        ("enabled = true\nenabled = false", "enabled is written twice in its table: keep one"),
    ):
        project.write_config(f"[site]\ntitle = 'Clinic'\n\n[facebook]\n{line}\n", base="")
        said = run(project, "check").stderr
        at = 7 if "\n" in line else 6
        assert f"{project.config_path}:{at}: is not valid TOML: {advice}" in said, said
    # the advice followed: a list of texts, as the message says
    project.write_config("[facebook]\nslots = 'Tue 12:00'\n", base="")
    assert "[facebook.slots] must be a list of texts in quotes" in run(project, "check").stderr


@pytest.mark.parametrize(
    ("zone", "advice"), [("EST", "America/New_York"), ("MST", "America/Denver")]
)
def test_a_zone_of_standard_time_all_year_written_for_a_region_is_refused(project, zone, advice):
    """timezone = "EST", written for "Eastern", is a zone that never changes its clocks:
    from March to November every post would go out an hour after the time on the calendar."""
    project.write_config(f"[site]\ntimezone = '{zone}'\n", base="")
    result = run(project, "check")
    assert result.returncode == 1
    assert f"[site.timezone] timezone '{zone}' is " in result.stderr
    assert "no summer time" in result.stderr and f"Write {advice}" in result.stderr
    project.write_config("[site]\ntimezone = 'US/Eastern'\n", base="")  # (follows the clocks)
    assert "timezone" not in run(project, "check").stderr


def test_a_path_that_starts_with_a_tilde_is_refused(project):
    """`ledger = "~/publisher.db"` made a folder named ~ in the project (a later
    `rm -rf ~` there is a disaster); read as a home folder, it would be another ledger for
    each user a command runs as, and posts would go out twice."""
    project.write_config("[publish]\nledger = '~/publisher.db'\n", base="")
    for command in (("check",), ("publish", "--due")):
        result = run(project, *command)
        assert result.returncode == 1
        assert "[publish.ledger] '~/publisher.db' starts with ~" in result.stderr, result.stderr
    assert not (project.root / "~").exists()


def test_a_git_merge_stopped_in_config_toml_is_said_as_such(project):
    """After `git pull` stops on config.toml (as the README's upgrade foresees), its marks
    were reported as "not valid TOML: Invalid statement"."""
    project.write_config(
        "[site]\n<<<<<<< HEAD\ntitle = 'Kneaded Tranquility'\n=======\ntitle = 'Clinic'\n"
        ">>>>>>> origin/main\n",
        base="",
    )
    result = run(project, "check")
    assert result.returncode == 1
    # (line 3: write_config starts the file with an empty line)
    assert "has the marks of a git merge that stopped at line 3" in result.stderr, result.stderr
    assert "git commit -a" in result.stderr


@pytest.mark.parametrize(("table", "key"), [("facebook", "page_id"), ("instagram", "account_id")])
def test_a_token_pasted_as_an_account_id_is_refused_without_repeating_it(project, table, key):
    token = "EAAsecretTOK3Nabc123"
    project.write_config(f'[{table}]\n{key} = "{token}"\n', base=BASE_CONFIG)
    for command in ("check", "status", "publish"):
        result = run(project, command, *(("--due",) if command == "publish" else ()))
        assert result.returncode != 0, command
        assert f"[{table}.{key}] must be the " in result.stderr, command
        assert "only digits" in result.stderr and "never goes in config.toml" in result.stderr
        assert token not in result.stdout + result.stderr, command
    assert not (project.root / "publisher.db").exists()  # nothing ran
    project.write_config(f'[{table}]\n{key} = "17841400000000001"\n', base=BASE_CONFIG)
    assert run(project, "check").returncode == 0


def test_build_command_exits_non_zero_but_builds_the_rest(project):
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    project.post("bad.md", "title: Bad\n")
    result = run(project, "build")
    assert result.returncode == 1
    assert "problem: posts/bad.md:2: missing date" in result.stderr
    assert (project.output / "posts/good/index.html").is_file()


def test_build_now_option_builds_the_site_as_it_will_be_beside_the_real_one(project):
    project.post("now.md", "title: Now\ndate: 2026-01-01 09:00")
    project.post("soon.md", "title: Soon\ndate: 2099-12-01 09:00")
    assert run(project, "build").returncode == 0
    real = sorted(p.relative_to(project.output) for p in project.output.rglob("*"))
    assert (project.output / "posts/now/index.html").is_file()
    assert not (project.output / "posts/soon").exists()
    preview = project.config.preview_site_dir
    ahead = run(project, "build", "--now", "2099-12-01T08:59")
    assert ahead.returncode == 0 and "is not touched" in ahead.stdout
    assert (preview / "posts/now/index.html").is_file()
    assert not (preview / "posts/soon").exists()
    assert run(project, "build", "--now", "2099-12-01T09:00").returncode == 0
    assert (preview / "posts/soon/index.html").is_file()
    # the website that is served and deployed is as it was: no future post leaked into it
    assert sorted(p.relative_to(project.output) for p in project.output.rglob("*")) == real
    assert not (project.output / "posts/soon").exists()


def test_new_writes_a_draft_that_passes_check(project):
    result = run(project, "new", "Hip Flexors: A Guide", "--date", "2026-12-05 10:00")
    assert result.returncode == 0, result.stderr
    path = project.root / result.stdout.strip()
    assert path == project.posts / "2026-12-05-hip-flexors-a-guide.md"
    text = path.read_text()
    # written as staff would type it: no quotes needed, and a summary to write after
    assert "\ntitle: Hip Flexors: A Guide\n" in text and "\nsummary:\n" in text
    assert "draft: true" in text
    assert run(project, "check").returncode == 0
    again = run(project, "new", "Hip Flexors: A Guide", "--date", "2026-12-05 10:00")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert path.read_text() == text
    said = run(project, "new", "Hip flexors, a guide", "--date", "2026-12-09 10:00")
    assert said.returncode == 0, said.stderr  # (another date: another file, the same address)
    assert (
        "posts/2026-12-05-hip-flexors-a-guide.md has this title's web address already "
        "(/posts/hip-flexors-a-guide/): give this post another title, or a line like  "
        "slug: hip-flexors-a-guide-2  before you set draft: false."
    ) in said.stderr, said.stderr
    assert "web address already" not in run(project, "new", "Hips", "--date", "2026-12-10").stderr
    # two drafts on one address: a warning, not a problem, as a fresh draft passes check
    check = run(project, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith(
        "posts/2026-12-09-hip-flexors-a-guide.md:2: warning: slug 'hip-flexors-a-guide' is "
        "already used by posts/2026-12-05-hip-flexors-a-guide.md: give this post a different "
        "title or a slug: line (before you set draft: false)"
    ), check.stdout
    # the address the line offers is free: -2 is another post's already
    project.post("taken.md", "title: Taken\nslug: hip-flexors-a-guide-2\ndate: 2026-12-01")
    third = run(project, "new", "Hip Flexors A Guide", "--date", "2026-12-11 10:00")
    assert "slug: hip-flexors-a-guide-3  before you set draft: false." in third.stderr


def test_preview_of_one_post_says_the_warnings_check_says_of_it(project):
    """Staff preview the post they work on, not always check the whole folder: its
    warnings (a link leading nowhere, a curly-quoted title) are listed there too, and stop
    nothing; another post's warnings are not."""
    project.post("other.md", "title: “Other”\ndate: 2026-01-01")
    project.post(
        "a.md",
        "title: “Stretch”\ndate: 2026-02-01",
        "See [the other](other.md) and [a typo](/posts/othr/).\n",
    )
    shown = run(project, "preview", "a.md")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    listed = shown.stdout.split("  Warnings:\n", 1)[1].splitlines()
    expected = [
        "  - posts/a.md:2: warning: title: the curly quotes around “Stretch” are part of it",
        "  - posts/a.md:5: warning: the link to '/posts/othr/' leads to no article",
    ]
    assert len(listed) == 2 and all(map(str.startswith, listed, expected)), listed
    assert "other.md:2" not in shown.stdout


def test_a_drafts_photo_without_a_description_is_a_reminder_until_it_goes_live(make_project):
    """`new --from` saves a document's photos and makes the first the post's photo; staff
    describe it before it goes out. A draft is not refused for it, nor hidden from
    `preview` by its slug: a post that has a problem is shown with it."""
    project = make_project(base=BASE_CONFIG)
    project.image("images/hips-1.png", (1200, 800))
    path = project.post(
        "2026-12-05-hips.md",
        "title: Hips\ndate: 2026-12-05 10:00\nimage: images/hips-1.png\ndraft: true",
    )
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "posts/2026-12-05-hips.md:4: warning: image_alt is missing: describe the image for "
        "people who cannot see it, for example  image_alt: A woman stretching her hip "
        "(before you set draft: false)"
    ]
    shown = run(project, "preview", "hips")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "  Warnings:\n  - posts/2026-12-05-hips.md:4: warning: image_alt is missing" in (
        shown.stdout
    )
    path.write_text(path.read_text().replace("draft: true", "draft: false"))
    assert problems(project) == [
        "posts/2026-12-05-hips.md:4: image_alt is missing: describe the image for people who "
        "cannot see it, for example  image_alt: A woman stretching her hip"
    ]
    shown = run(project, "preview", "hips")
    assert shown.returncode == 1 and "no such post" not in shown.stderr, shown.stderr
    assert "  Problems:\n  - posts/2026-12-05-hips.md:4: image_alt is missing" in shown.stdout


def test_check_says_what_instagram_needs_beside_a_photo_of_the_text_not_found(make_project):
    """Staff fixed the missing photo, ran check again, and only then learnt of the rest."""
    project = make_project(base=BASE_CONFIG)
    project.post("a.md", "title: A\ndate: 2026-01-01", "Text.\n\n![A stretch](images/gone.jpg)\n")
    found = problems(project)
    assert len(found) == 2, found
    assert found[0].startswith("posts/a.md:2: Instagram needs a photo")
    assert found[1].startswith("posts/a.md:7: image 'images/gone.jpg' in the text was not found")


def test_a_new_draft_passes_check_with_instagram_on_and_says_what_it_still_needs(make_project):
    """The built-in config sends to Instagram, which needs a photo: a fresh draft has none
    yet. That is a reminder (a warning) while it is a draft, a problem once it is not."""
    project = make_project(base=BASE_CONFIG)
    result = run(project, "new", "Hip Flexors", "--date", "2026-12-05 10:00")
    path = project.root / result.stdout.strip()
    assert "\nimage:\nimage_alt:\n" in path.read_text()  # the keys to fill in, in place
    result = run(project, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "posts/2026-12-05-hip-flexors.md:6: warning: Instagram needs a photo: add image: and "
        "image_alt:, or write  instagram: false (before you set draft: false)"
    ]
    shown = run(project, "preview", "hip-flexors")  # preview says the same, and stops nothing
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "  Warnings:\n  - posts/2026-12-05-hip-flexors.md:6: warning: Instagram needs" in (
        shown.stdout
    )
    front = path.read_text().split("---\n")[1].replace("draft: true", "draft: false")
    path.write_text(f"---\n{front}---\nStretch your hip flexors every hour.\n")
    result = run(project, "check")
    assert result.returncode == 1
    # at the empty image: line, where the photo goes
    assert result.stdout.startswith("posts/2026-12-05-hip-flexors.md:6: Instagram needs a photo")
    shown = run(project, "preview", "hip-flexors")
    assert shown.returncode == 1 and "  Problems:\n  - posts/2026-12-05-hip-flexors.md:6: " in (
        shown.stdout
    )
    project.image("images/hips.jpg", (1200, 800))
    text = path.read_text().replace(
        "\nimage:\nimage_alt:\n", "\nimage: images/hips.jpg\nimage_alt: A stretch for the hips\n"
    )
    path.write_text(text.replace("draft: false", "draft: true"))
    result = run(project, "check")
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_new_writes_the_title_as_typed_emoji_and_quotes_included(project):
    title = 'Café "Knots": Why Your Neck Hurts 😣'
    result = run(project, "new", title, "--date", "2026-12-05 10:00")
    assert result.returncode == 0, result.stderr
    path = project.root / result.stdout.strip()
    assert path.name == "2026-12-05-cafe-knots-why-your-neck-hurts.md"
    title_line = path.read_text(encoding="utf-8").splitlines()[1]
    assert "😣" in title_line and "\\U" not in title_line, title_line
    from publisher.content import read_post

    post, found = read_post(path, project.config)
    assert found == [] and post is not None and post.title == title


@pytest.mark.parametrize(
    "title",
    [
        '"Desk neck" is real: how a weekly massage eases lower back pain, neck stiffness and '
        "headaches",
        "A long title with a trailing space ",
        "  Spaces   inside and around  ",
        "It's: a 'quoted' title, with a #hashtag and a very long tail of words that goes on "
        "and on past eighty characters",
    ],
)
def test_new_writes_any_title_so_that_check_reads_it_back(project, title):
    result = run(project, "new", title, "--date", "2020-12-05 10:00")
    assert result.returncode == 0, result.stderr
    path = project.root / result.stdout.strip()
    assert len([r for r in path.read_text().splitlines() if r.startswith("title:")]) == 1
    from publisher.content import read_post

    post, found = read_post(path, project.config)
    assert found == [] and post is not None and post.title == " ".join(title.split())
    assert "Its date, 2020-12-05 10:00, is past" in result.stderr


def test_new_takes_titles_in_any_script_and_says_which_option_is_wrong(project):
    result = run(project, "new", "Массаж спины", "--date", "2026-12-05 10:00")
    assert result.returncode == 0, result.stderr
    path = project.root / result.stdout.strip()
    from publisher.content import read_post

    post, found = read_post(path, project.config)
    assert found == [] and post is not None and post.title == "Массаж спины"
    assert path.name == f"2026-12-05-{post.slug}.md" and post.slug.startswith("post-")
    assert "add a line like  slug: back-massage" in result.stderr
    latin = run(project, "new", "Back massage", "--date", "2026-12-05 10:00")
    assert latin.stderr == ""
    nothing = run(project, "new", "!!!")
    assert nothing.returncode != 0 and "at least one letter or digit" in nothing.stderr
    wrong = run(project, "new", "Knots", "--date", "Dec 5")
    assert wrong.returncode == 2 and "--date" in wrong.stderr and "--now" not in wrong.stderr


def test_the_placeholder_of_new_is_one_paragraph_and_cannot_go_out(project):
    from publisher.content import NEW_POST_BODY
    from publisher.render.markdown import render_markdown

    html = render_markdown(NEW_POST_BODY, allow_html=False).html
    assert "<h" not in html and "<li" not in html and html.count("<p>") == 2
    result = run(project, "new", "Knots", "--date", "2026-12-05 10:00")
    path = project.root / result.stdout.strip()
    assert problems(project) == []  # a draft may keep it
    text = path.read_text(encoding="utf-8").replace("draft: true", "draft: false")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(NEW_POST_BODY.splitlines()[0]) + 1
    assert problems(project) == [
        f"posts/{path.name}:{line}: this is still the placeholder text of `publisher new`: "
        "write the article here (or keep draft: true until it is written)"
    ]


def test_yes_no_on_off_are_words_not_booleans(project):
    project.post("a.md", "title: Off\ndate: 2026-01-01")
    project.post("b.md", "title: B\ndate: 2026-01-01\ndraft: yes")
    assert problems(project) == ["posts/b.md:4: draft must be true or false"]


def test_posts_folder_under_a_hidden_folder_is_read(tmp_path):
    from .conftest import Project

    project = Project(tmp_path / ".hidden" / "site")
    project.post("a.md", "title: A\ndate: 2026-01-01")
    project.post(".drafts/b.md", "title: B\ndate: 2026-01-01")
    from publisher.content import load_posts

    assert [p.slug for p in load_posts(project.config).posts] == ["a"]


@pytest.mark.parametrize(
    ("folder", "template", "mistake", "message"),
    [
        ("social", "facebook.txt.j2", "{{ nosuch }}", "'nosuch' is undefined"),
        ("social", "instagram.txt.j2", "{% if %}", "Expected an expression"),
        ("preview", "post.html", "{{ nosuch.thing }}", "'nosuch' is undefined"),
    ],
)
def test_a_mistake_in_a_social_or_preview_template_names_its_file_and_line(
    project, folder, template, mistake, message
):
    import shutil

    from .conftest import REPO

    templates = project.root / "templates"
    shutil.copytree(REPO / "templates", templates)
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text.replace("enabled = false", "enabled = true"))
    project.image("images/a.jpg")
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/a.jpg\nimage_alt: A photo")
    path = templates / folder / template
    lines = path.read_text().splitlines()
    # inside the page's main block where there is one (outside blocks is never rendered)
    at = next((n + 1 for n, line in enumerate(lines) if "{% block main %}" in line), len(lines))
    lines.insert(at, mistake)
    path.write_text("\n".join(lines) + "\n")
    command = ("preview", "--html") if folder == "preview" else ("check",)
    result = run(project, *command)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    expected = f"templates/{folder}/{template}:{at + 1}: {message}"
    assert expected in result.stderr and "fix the template" in result.stderr


ENTRY_SCRIPT = """
import atexit, sys
import publisher.cli as cli

def main():
    sys.stdout.write("x" * 300_000 + "\\n")  # more than a pipe holds: must all arrive
    sys.stdout.write("end\\n")  # left in the buffer: must be flushed
    print("to stderr", file=sys.stderr)
    sys.exit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])

atexit.register(lambda: open(sys.argv[1], "w").write("exit handlers ran"))
cli.main = main
cli.entry()
"""


@pytest.mark.parametrize(("outcome", "expected"), [("0", 0), ("3", 3), ("a message", 1)])
def test_the_command_exits_quickly_but_keeps_its_output_code_and_exit_handlers(
    tmp_path, outcome, expected
):
    import os

    marker = tmp_path / "atexit.txt"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as cron runs it
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_SCRIPT, str(marker), outcome],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == expected
    assert done.stdout == "x" * 300_000 + "\nend\n"
    assert done.stderr.startswith("to stderr\n")
    if expected == 1:
        assert done.stderr.endswith("a message\n")  # as Python prints sys.exit("...")
    assert marker.read_text() == "exit handlers ran"


def test_the_command_line_keeps_its_exit_statuses(project):
    run = [sys.executable, "-m", "publisher", "--config", str(project.config_path)]
    version = subprocess.run([*run, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "publisher" in version.stdout
    usage = subprocess.run([*run, "build", "--nosuch"], capture_output=True, text=True)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    project.post("broken.md", "title: Broken")  # no date
    failed = subprocess.run([*run, "build"], capture_output=True, text=True)
    assert failed.returncode == 1 and "posts/broken.md" in failed.stderr


def test_the_quick_exit_waits_for_a_thread_still_at_work(tmp_path):
    marker = tmp_path / "thread.txt"
    script = (
        "import sys, threading, time\n"
        "import publisher.cli as cli\n"
        "def work():\n"
        "    time.sleep(0.3)\n"
        "    open(sys.argv[1], 'w').write('finished')\n"
        "cli.main = lambda: threading.Thread(target=work).start()\n"
        "cli.entry()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(marker)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "finished"


def test_a_damaged_ledger_or_an_unwritable_output_is_one_clear_line(project):
    project.post("a.md", "title: A\ndate: 2026-01-01")
    (project.root / "publisher.db").write_bytes(b"this is not a database" * 100)
    for command in (["status"], ["publish", "--due"], ["retry", "1"]):
        result = run(project, *command)
        assert result.returncode == 1, command
        assert "Traceback" not in result.stderr, result.stderr
        assert "the ledger cannot be opened" in result.stderr
        assert "restore it from a backup" in result.stderr
    (project.root / "blocked").write_text("a file where a folder should be")
    text = project.config_path.read_text().replace(
        "[site]\n", "[site]\noutput = 'blocked/public'\n", 1
    )
    project.config_path.write_text(text)
    result = run(project, "build")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "blocked" in result.stderr and "can write there" in result.stderr


def test_posts_may_end_in_md_or_markdown_in_any_case(project):
    project.post("upper.MD", "title: Upper\ndate: 2026-01-01")
    project.post("long.markdown", "title: Long\ndate: 2026-01-01")
    (project.posts / "notes.txt").write_text("not a post")
    assert run(project, "build").returncode == 0
    assert (project.output / "posts/upper/index.html").is_file()
    assert (project.output / "posts/long/index.html").is_file()
    assert problems(project) == []


def test_a_reader_that_stops_early_gets_no_error(project):
    """`publisher status | head -1`: the reader closes the pipe before publisher writes."""
    project.post("a.md", "title: A\ndate: 2026-01-01")
    assert run(project, "build").returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path)]
        + ["status", "--json", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=project.root,
    )
    process.stdout.close()  # long before it has started up and written anything
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0 and errors == b"", errors


def test_check_says_when_a_post_with_a_problem_is_live(make_project):
    """Someone who writes `draft: yes` to take a post down learns it is still up, and how."""
    from .conftest import WEBSITE_ONLY

    project = make_project(base=WEBSITE_ONLY)
    source = project.post("calves.md", "title: Calves\ndate: 2026-11-20 09:00")
    assert run(project, "publish", "--due", "--now", "2026-11-20T09:05").returncode == 0
    project.post("later.md", "title: Later\ndate: 2027-01-20 09:00\ndraft: yes")  # never live
    source.write_text(
        source.read_text().replace("date: 2026-11-20 09:00", "date: 2026-11-20 09:00\ndraft: yes")
    )
    result = run(project, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "posts/calves.md:4: draft must be true or false",
        "  (posts/calves.md is live: the website keeps showing it as it was until this is "
        "fixed, less any photo whose file is gone; deleting it or draft: true takes it down)",
        "posts/later.md:4: draft must be true or false",
    ]
    # config.toml changed while it is broken: the page stays as it was built
    text = project.config_path.read_text()
    project.config_path.write_text(text.replace("posts_per_page = 2", "posts_per_page = 3"))
    assert (
        run(project, "check")
        .stdout.splitlines()[1]
        .startswith("  (posts/calves.md is live: the website keeps showing it as it was")
    )
    assert run(project, "build").returncode == 1  # (the problem)
    assert (project.config.output_dir / "posts/calves/index.html").exists()
    assert (
        run(project, "check")
        .stdout.splitlines()[1]
        .startswith("  (posts/calves.md is live: the website keeps showing it as it was")
    )
    # the build cache deleted: nothing is left to show
    import shutil

    shutil.rmtree(project.config.cache_dir)
    assert run(project, "check").stdout.splitlines()[1] == (
        "  (posts/calves.md is live, but the next build takes its page off the site: the "
        "build cache was deleted, or publisher upgraded, since it was built; fix it first)"
    )

    shutil.rmtree(project.config.output_dir)  # the page is not on the site: nothing claimed
    assert "is live" not in run(project, "check").stdout


def test_a_publishing_pass_says_each_problem_once(make_project):
    """A cron job logs stdout and stderr together, every minute: one line per problem."""
    from .conftest import WEBSITE_ONLY

    project = make_project(base=WEBSITE_ONLY)
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    project.post("bad.md", "title: Bad\n")
    result = run(project, "publish", "--due", "--now", "2026-01-02T09:00")
    assert result.returncode == 1
    assert (result.stdout + result.stderr).count("posts/bad.md:2: missing date") == 1
    assert "Something needs a person" in result.stderr


def test_a_post_not_saved_as_utf8_says_what_it_is_saved_as_and_how_to_fix_it(project):
    """Windows editors save "Unicode" (UTF-16) or Windows-1252 text; staff need the menu."""
    text = "---\ntitle: Café\ndate: 2026-01-01\ninstagram: false\n---\nBody.\n"
    (project.root / "posts").mkdir(exist_ok=True)
    (project.root / "posts/sixteen.md").write_bytes(text.encode("utf-16"))
    (project.root / "posts/western.md").write_bytes(text.encode("cp1252"))
    assert problems(project) == [
        'posts/sixteen.md:1: the file is saved as UTF-16 (what Windows calls "Unicode"): save it again '
        "as UTF-8 (in Notepad: File, Save As, Encoding: UTF-8)",
        "posts/western.md:2: the file is not UTF-8 text: this line has a character saved in another "
        "encoding (such as Windows-1252 or Latin-1); save it again as UTF-8 (in Notepad: File, "
        "Save As, Encoding: UTF-8)",
    ]


def test_build_says_the_warnings_check_says_once_each_on_stderr(project):
    """Staff run `publisher build` to preview: it said nothing of a curly-quoted title, an
    update dated ahead or two tags that make one page, which `check` and the passes say. It
    says the same lines on stderr, once each, at every build until they are mended (a build
    with nothing changed too), of the posts the site shows as of its time."""
    project.post("a.md", "title: “Stretch”\ndate: 2026-01-01\ntags: [C++]")
    project.post("b.md", "title: B\ndate: 2026-01-02\ntags: [C#]\nupdated: 2027-01-05 10:00")
    project.post("c.md", "title: C\ndate: 2026-12-01\nsummary: “Later”")  # not out yet
    now = ("--now", "2026-11-30T09:00", "--output", "public")
    checked = run(project, "check", "--now", "2026-11-30T09:00").stdout.splitlines()
    out_now = [line for line in checked if not line.startswith("posts/c.md")]
    assert len(out_now) == 3 and len(checked) == 4, checked
    for _ in range(2):  # the second build has nothing to do
        built = run(project, "build", *now)
        assert built.returncode == 0, built.stdout + built.stderr
        assert built.stderr.splitlines() == out_now
        assert "warning" not in built.stdout
    later = run(project, "build", "--now", "2027-01-06T09:00", "--output", "public")
    # the update has come, and c.md is out: as check says them then
    assert later.stderr.splitlines() == [checked[0], checked[1], checked[3]], later.stderr
    assert "updated:" in checked[2] and checked[3].startswith("posts/c.md:4: warning: summary:")


def test_every_slip_of_a_front_matter_is_said_at_once(project):
    """check stopped at the first slip YAML could not read as meant (tags written as
    hashtags), so staff met a file's mistakes one run at a time."""
    project.post(
        "slips.md",
        'title: "Stress relief\n'
        "date: 2026-12-03 09:00\n"
        "tags: #stress #neck\n"
        "tittle: x\n"
        "date:\u00a02026-12-04 09:00\n"
        "facebook: maybe\n",
    )
    said = problems(project)
    assert said == [
        'posts/slips.md:2: title: the quote mark at the start (") is not closed, and would '
        'show on the page: end the text with " too, or take the quote mark out',
        "posts/slips.md:4: tags: a '#' starts a comment in YAML, so these would be lost: "
        "write  tags: [stress, neck]  (Instagram gets them as hashtags, with the #)",
        "posts/slips.md:5: unknown key 'tittle': did you mean 'title'?",
        "posts/slips.md:6: the space after 'date:' is a special space (pasted from a word "
        "processor): delete it and type a plain space",
        "posts/slips.md:6: 'date' is written twice (lines 3 and 6): keep one of them",
        "posts/slips.md:7: facebook must be false (to leave the post off Facebook) or a block "
        "of settings (at, message)",
    ], said
    assert not (project.output / "posts").exists()
    assert run(project, "build").returncode != 0
    assert not (project.output / "posts/stress-relief").exists()


@pytest.mark.parametrize(
    ("written", "advice"),
    [
        # an hour alone, or with a dot: the day and hour in words
        ("2026-12-05 9", "write 2026-12-05 09:00 for Saturday, December 5, 2026 at 9:00 AM"),
        ("2026-12-05 9.30", "write 2026-12-05 09:30 for Saturday, December 5, 2026 at 9:30 AM"),
        # a day with no year: the next such day
        ("December 5 2pm", "write {year}-12-05 14:00 for {weekday}, December 5, {year} at 2:00 PM"),
        # not a date at all: the example is the writer's own day, or tomorrow (not a fixed day,
        # which would be long past a year on)
        ("2026-12-05 25", "is not a date: write 2026-12-05, 2026-12-05 09:00 or "),
        # the example's offset is the zone's on that day (summer time in July)
        ("2026-07-05 25", "or 2026-07-05T09:00:00-04:00"),
        ("tomorrow 9am", "is not a date: write {tomorrow}, {tomorrow} 09:00 or "),
    ],
)
def test_a_date_written_another_way_gets_advice_in_its_own_terms(project, written, advice):
    """`2026-12-05 9`, `December 5` and `tomorrow 9am` were answered "is not a date: write
    2026-12-02 ...", the README's day, not theirs."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    today = date.today()
    year = today.year + ((12, 5) < (today.month, today.day))
    in_the_sites_zone = datetime.now(ZoneInfo("America/New_York")).date()
    advice = advice.format(
        year=year,
        weekday=f"{date(year, 12, 5):%A}",
        tomorrow=f"{in_the_sites_zone + timedelta(days=1):%Y-%m-%d}",  # (its tomorrow)
    )
    project.post("p.md", f"title: A\ndate: {written}")
    (said,) = problems(project)
    assert said.startswith(f"posts/p.md:3: date: '{written}' is not a date"), said
    assert advice in said, said


def test_a_channel_time_before_the_article_is_a_warning_with_when_it_goes(project):
    """instagram: at: 6:30 (meant 6:30 pm) on a 9:00 article was moved to 9:00 without a
    word: preview and calendar showed 09:00, and nothing said why."""
    project.image("images/a.jpg")
    project.post(
        "a.md",
        "title: A\ndate: 2026-12-03 09:00\nimage: images/a.jpg\nimage_alt: A photo\n"
        "instagram:\n  at: 2026-12-03 6:30\nfacebook:\n  at: 2026-12-02 20:00\n",
    )
    project.post("b.md", "title: B\ndate: 2026-12-03 09:00\nfacebook:\n  at: 2026-12-03 09:30")
    assert warnings(project) == [
        "posts/a.md:7: warning: instagram.at: 2026-12-03 06:30 is before the article's date "
        "(2026-12-03 09:00): the Instagram post goes out when the article is live, at 09:00, "
        "never before it. Meant 6:30 in the evening? write  at: 2026-12-03 18:30",
        "posts/a.md:9: warning: facebook.at: 2026-12-02 20:00 is before the article's date "
        "(2026-12-03 09:00): the Facebook post goes out when the article is live, at 09:00, "
        "never before it",
    ]


def test_preview_lists_a_posts_warnings_apart_from_its_problems(make_project):
    """preview listed a post's warnings under "Problems:" as soon as it had one problem,
    so staff could not tell what stops the post from what only might be a mistake."""
    project = make_project(base=BASE_CONFIG)  # (Instagram on: it needs a photo)
    project.post("a.md", "title: A\ndate: 2026-12-05 09:00", "Open <b>Sundays</b>.\n")
    shown = run(project, "preview", "a", "--now", "2026-12-01T09:00")
    assert shown.returncode == 1
    tail = shown.stdout.split("\n  Problems:\n", 1)[1]
    problems, warnings = tail.split("  Warnings:\n")
    assert problems.startswith("  - posts/a.md:2: Instagram needs a photo"), problems
    assert problems.count("\n  - ") == 0, problems
    assert warnings.startswith("  - posts/a.md:5: warning: '<b>' is HTML"), warnings


def test_a_title_with_no_latin_letters_is_warned_of_its_coded_address(project):
    """An emoji title went live at /posts/post-9a7b006d/ without a word from check (new
    says so of the titles it is given)."""
    project.post("spa.md", 'title: "💆\u200d♀️✨"\ndate: 2026-01-01')
    project.post("yoga.md", "title: Йога\nslug: yoga\ndate: 2026-01-02")  # named: fine
    (line,) = warnings(project)
    assert line.startswith(
        "posts/spa.md:2: warning: the title has no Latin letters or digits, so the web "
        "address is a code, /posts/post-"
    ), line
    assert line.endswith("/: add a line like  slug: back-massage  for one people can read")
    assert run(project, "build").returncode == 0


def test_a_photo_linked_from_outside_the_posts_folder_is_called_a_link(project, tmp_path):
    """A symlink in posts/images/ to the clinic's shared photos: it was "outside the posts
    folder", though the path written is inside it."""
    elsewhere = tmp_path / "shared" / "room.jpg"
    elsewhere.parent.mkdir()
    Image.new("RGB", (800, 500), "#7a9").save(elsewhere)
    (project.posts / "images").mkdir(exist_ok=True)
    (project.posts / "images/room.jpg").symlink_to(elsewhere)
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/room.jpg\nimage_alt: A room")
    assert problems(project) == [
        f"posts/a.md:4: image 'images/room.jpg' is a link to {elsewhere}, outside the posts "
        "folder, which publisher does not follow: copy the photo itself into posts/images/"
    ]
    (project.posts / "old.md").symlink_to(tmp_path / "drafts" / "old.md")  # the folder moved
    assert problems(project)[1] == (
        f"posts/old.md: is a link to {tmp_path / 'drafts' / 'old.md'}, which is not there "
        "(moved or deleted): put the file there, or delete the link"
    )


def test_a_post_with_a_problem_is_checked_for_its_page_and_address_too(project):
    """A post left out for one problem (its photo not found, the placeholder text) was not
    checked for its page's problems (a photo of the text missing) or for an address another
    post has: each came up only once the one before was fixed."""
    project.post("old.md", "title: Hip pain\ndate: 2026-01-01")
    project.post(
        "new.md",
        "title: Hip Pain\ndate: 2026-02-01\nimage: images/none.jpg\nimage_alt: A room",
        "Text with ![a stretch](images/stretch.jpg).\n",
    )
    lines = problems(project)
    assert [line.split(": ", 1)[0] for line in lines] == [
        "posts/new.md:2",
        "posts/new.md:4",
        "posts/new.md:7",
    ], lines
    assert "slug 'hip-pain' is already used by posts/old.md" in lines[0]
    assert "image 'images/none.jpg' not found" in lines[1]
    assert "image 'images/stretch.jpg' in the text was not found" in lines[2]
