"""`publisher preview --html`: the private preview folder, read back with BeautifulSoup."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from publisher.exceptions import PublisherError
from publisher.preview import preview_posts
from publisher.preview_html import needs_fold, write_preview_site
from tests.conftest import BASE_CONFIG

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 12, 1, 9, 0, tzinfo=NY)
HOSTILE = "<script>alert('x')</script>"
PHOTO = "image: images/photo.jpg\nimage_alt: Hands on a shoulder"


def write(project) -> Path:
    """Write the preview of every post as of AT; return the folder."""
    config = project.config
    return write_preview_site(config, preview_posts(config), AT)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def entries(folder: Path) -> dict[str, BeautifulSoup]:
    """The index's entries by title."""
    index = soup(folder / "index.html")
    return {e.select_one(".entry-title").get_text(strip=True): e for e in index.select(".entry")}


def run(project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), *args],
        capture_output=True,
        text=True,
        cwd=project.root,
        timeout=60,
    )


@pytest.fixture
def social(make_project):
    """A project with Facebook and Instagram on, and one photo."""
    project = make_project(base=BASE_CONFIG)
    project.image("images/photo.jpg", (1200, 800))
    return project


def test_index_lists_every_post_with_its_status(social):
    social.post("old.md", f"title: Old news\ndate: 2026-11-01 09:00\n{PHOTO}")
    social.post("soon.md", f"title: Coming soon\ndate: 2026-12-03 09:00\n{PHOTO}")
    social.post("draft.md", f"title: Half written\ndate: 2026-12-09 09:00\ndraft: true\n{PHOTO}")
    social.post("bad.md", "title: Broken\ndate: someday\n")
    folder = write(social)
    found = entries(folder)
    assert set(found) == {"Old news", "Coming soon", "Half written", "posts/bad.md"}
    for title, status in (
        ("Old news", "published"),
        ("Coming soon", "scheduled"),
        ("Half written", "draft"),
        ("posts/bad.md", "problem"),
    ):
        badge = found[title].select_one(".badge")
        assert badge.get_text(strip=True).lower() == status
        assert f"badge-{status}" in badge["class"]

    soon = found["Coming soon"]
    assert soon.select_one(".entry-file").get_text(strip=True) == "posts/soon.md"
    times = {t.dt.get_text(strip=True): t.dd.time["datetime"] for t in soon.select(".times > div")}
    assert times == {
        "Website": "2026-12-03T09:00-05:00",
        "Facebook": "2026-12-03T09:30-05:00",
        "Instagram": "2026-12-03T12:00-05:00",
    }
    link = soon.select_one(".entry-title a")["href"]
    assert link == "posts/coming-soon/index.html" and (folder / link).is_file()

    # A post that cannot be read has no page: only its problem, in the index.
    bad = found["posts/bad.md"]
    assert bad.select_one(".entry-title a") is None
    (problem,) = [li.get_text() for li in bad.select(".problems li")]
    assert problem.startswith("posts/bad.md:3: ") and "'someday'" in problem
    assert sorted(p.name for p in (folder / "posts").iterdir()) == [
        "coming-soon",
        "half-written",
        "old-news",
    ]


def test_facebook_card_has_the_page_name_message_and_link_card(make_project):
    project = make_project('[facebook]\npage_name = "Test Clinic Pittsburgh"\n', base=BASE_CONFIG)
    photo = project.image("images/photo.jpg", (1200, 800))
    project.post(
        "a.md",
        f"title: Why your neck hurts\ndate: 2026-12-03 09:00\n{PHOTO}\n"
        "summary: Desk work pulls the head forward.\n"
        "facebook:\n  message: |\n    Line one.\n    Line two, see https://clinic.example/x\n",
    )
    folder = write(project)
    page = soup(folder / "posts/why-your-neck-hurts/index.html")
    card = page.select_one(".fb-post")
    assert card.select_one(".fb-name").get_text() == "Test Clinic Pittsburgh"
    assert card.select_one(".fb-avatar").get_text() == "TC"
    meta = card.select_one(".fb-meta").get_text(" ", strip=True)
    assert meta.startswith("Scheduled for December 3, 2026 at 9:30 AM")
    # The message keeps its line breaks (shown with pre-wrap) and links its URL.
    message = card.select_one(".fb-message .fold-body")
    assert message.get_text() == "Line one.\nLine two, see https://clinic.example/x"
    assert message.select_one(".fb-link").get_text() == "https://clinic.example/x"
    assert card.select_one(".fold-toggle") is None  # two lines: nothing to fold

    link_card = card.select_one(".fb-card")
    assert link_card["href"] == (
        "https://clinic.example/posts/why-your-neck-hurts/"
        "?utm_source=facebook&utm_medium=social&utm_campaign=why-your-neck-hurts"
    )
    assert link_card.select_one(".fb-card-domain").get_text() == "clinic.example"
    assert link_card.select_one(".fb-card-title").get_text() == "Why your neck hurts"
    assert (
        link_card.select_one(".fb-card-description").get_text()
        == "Desk work pulls the head forward."
    )
    image = link_card.select_one("img.fb-card-image")
    copied = folder / "posts/why-your-neck-hurts" / image["src"]
    assert copied.read_bytes() == photo.read_bytes()
    assert (image["width"], image["height"]) == ("1200", "800")
    counts = [li.get_text(" ", strip=True) for li in page.select(".channel-facebook .count")]
    assert counts == ["Characters 48 / 63,206"]


def test_a_long_facebook_message_is_folded_with_see_more(social):
    lines = "".join(f"\n    Line {n} about shoulders and backs." for n in range(8))
    social.post(
        "a.md", f"title: Long\ndate: 2026-12-03 09:00\n{PHOTO}\nfacebook:\n  message: |{lines}"
    )
    folder = write(social)
    message = soup(folder / "posts/long/index.html").select_one(".fb-message")
    toggle, more = message.select_one("input.fold-toggle"), message.select_one("label.fold-more")
    assert toggle["type"] == "checkbox" and more["for"] == toggle["id"]
    assert more.get_text(" ", strip=True) == "… See more"
    assert needs_fold("a\nb\nc\nd\ne", 60, 5) is False
    assert needs_fold("a\nb\nc\nd\ne\nf", 60, 5) is True
    assert needs_fold("x" * 121, 60, 2) is True


def test_instagram_mock_has_the_caption_username_and_a_real_image(social):
    social.image("images/tall.jpg", (900, 1600))  # 9:16: padded to 4:5 for Instagram
    social.post(
        "a.md",
        "title: Stretch breaks\ndate: 2026-12-03 09:00\nimage: images/tall.jpg\n"
        "image_alt: A stretch at a desk\ntags: [posture]\n",
        "Stand up every hour. Ask @ourtherapist.\n",
    )
    folder = write(social)
    page = soup(folder / "posts/stretch-breaks/index.html")
    preview = preview_posts(social.config)[0]
    mock = page.select_one(".ig-post")
    assert mock.select_one(".ig-head .ig-name").get_text() == "Test Clinic"  # no username set
    assert mock.select_one(".ig-caption .ig-name").get_text() == "Test Clinic"
    assert mock.select_one(".ig-text").get_text() == preview.instagram.caption
    assert "Stand up every hour." in preview.instagram.caption
    tags = [s.get_text() for s in mock.select(".ig-text .ig-link")]
    assert "#posture" in tags and "@ourtherapist" in tags
    assert mock.select_one(".fold-more").get_text(strip=True) == "…\xa0more"

    image = mock.select_one("img.ig-image")
    assert image["src"] == "instagram.jpg" and image["alt"] == "A stretch at a desk"
    path = folder / "posts/stretch-breaks/instagram.jpg"
    with Image.open(path) as photo:
        assert photo.format == "JPEG"
        assert 4 / 5 <= photo.width / photo.height <= 1.91
        assert (image["width"], image["height"]) == (str(photo.width), str(photo.height))
    counts = [li.get_text(" ", strip=True) for li in page.select(".channel-instagram .count")]
    assert counts[1:] == ["Hashtags 1 / 30", "Mentions 1 / 20"]
    assert counts[0].startswith("Characters ") and counts[0].endswith(" / 2,200")


def test_username_from_config(make_project):
    project = make_project('[instagram]\nusername = "testclinic.pgh"\n', base=BASE_CONFIG)
    project.image("images/photo.jpg")
    project.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    page = soup(write(project) / "posts/a/index.html")
    assert page.select_one(".ig-head .ig-name").get_text() == "testclinic.pgh"
    assert page.select_one(".ig-nav-user").get_text() == "testclinic.pgh"


@pytest.mark.parametrize(
    ("front", "config", "reason"),
    [
        (f"{PHOTO}\ninstagram: false", BASE_CONFIG, "front matter says instagram: false"),
        ("", BASE_CONFIG, "Instagram needs a photo and this post has none"),
        (PHOTO, None, "[instagram] enabled = false"),
        (f"{PHOTO}\ndraft: true", BASE_CONFIG, "This post is a draft"),
    ],
)
def test_posts_not_going_to_instagram_show_why(make_project, front, config, reason):
    project = make_project(base=config)
    project.image("images/photo.jpg")
    project.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{front}")
    folder = write(project)
    page = soup(folder / "posts/a/index.html")
    channel = page.select_one(".channel-instagram")
    assert channel.select_one(".ig-post") is None
    box = channel.select_one(".not-going")
    assert box.select_one(".not-going-title").get_text() == "Not going to Instagram"
    assert reason in box.get_text()
    assert not (folder / "posts/a/instagram.jpg").exists()


def test_hostile_text_is_escaped(social):
    social.post(
        "evil.md",
        f'title: "Relief {HOSTILE} now"\ndate: 2026-12-03 09:00\n{PHOTO}\n'
        f'summary: "Summary {HOSTILE}"\nimage_alt: "Alt {HOSTILE}"\ntags: ["{HOSTILE}"]',
        f"Body {HOSTILE} and <img src=x onerror=alert(1)>\n",
    )
    folder = write(social)
    pages = [folder / "index.html", *folder.glob("posts/*/index.html")]
    assert len(pages) == 2
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "<img src=x" not in text, path
    page = soup(pages[1])
    assert page.h1.get_text() == f"Relief {HOSTILE} now"
    assert page.select_one(".fb-card-title").get_text() == f"Relief {HOSTILE} now"
    assert HOSTILE in page.select_one(".fb-message").get_text()
    assert HOSTILE in page.select_one(".ig-text").get_text()
    assert page.select_one(".ig-image")["alt"] == f"Alt {HOSTILE}"
    assert f"Relief {HOSTILE} now" in entries(folder)


def test_preview_is_private_and_works_from_disk(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    social.post("b.md", "title: B\ndate: 2026-12-04 09:00\ninstagram: false")
    folder = write(social)
    assert (folder / "robots.txt").read_text().splitlines()[-2:] == ["User-agent: *", "Disallow: /"]
    pages = sorted(folder.rglob("*.html"))
    assert len(pages) == 3
    for path in pages:
        page = soup(path)
        assert "noindex" in page.find("meta", attrs={"name": "robots"})["content"]
        assert not page.find("script")  # the folds are CSS: nothing to fail in a console
        # Every link and image inside the preview is relative and exists, so the folder also
        # works opened straight from disk; only the article and the Facebook link leave it.
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href")):
            for element in page.find_all(tag):
                target = element[attr]
                if urlsplit(target).scheme in ("http", "https", "data"):
                    continue
                assert not target.startswith("/"), (path, target)
                assert (path.parent / unquote(target)).is_file(), (path, target)


def test_rewriting_replaces_the_whole_folder(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    doomed = social.post("b.md", f"title: B\ndate: 2026-12-04 09:00\n{PHOTO}")
    folder = write(social)
    assert (folder / "posts/b/index.html").is_file()
    doomed.unlink()
    assert write(social) == folder
    assert sorted(p.name for p in (folder / "posts").iterdir()) == ["a"]


def test_refuses_to_replace_a_folder_it_did_not_write(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    folder = social.config.preview_dir
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(PublisherError, match="did not write"):
        write(social)
    assert (folder / "notes.txt").read_text() == "mine"


def test_cli_writes_the_preview_and_prints_where(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    result = run(social, "preview", "--html", "--now", "2026-12-01T09:00")
    assert result.returncode == 0, result.stderr
    index = social.config.preview_dir / "index.html"
    assert result.stdout.strip() == f"Preview written: {index}"
    assert index.is_file() and (index.parent / "posts/a/instagram.jpg").is_file()


def test_cli_refuses_a_preview_folder_inside_the_site_output(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    text = social.config_path.read_text()
    social.config_path.write_text(text.replace("[site]\n", '[site]\npreview = "public/preview"\n'))
    result = run(social, "preview", "--html")
    assert result.returncode == 1
    assert "[site.preview]" in result.stderr
    assert "inside the public output folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (social.root / "public").exists()
