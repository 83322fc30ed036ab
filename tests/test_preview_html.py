"""`publisher preview --html`: the private preview folder, read back with BeautifulSoup."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from publisher.exceptions import PublisherError
from publisher.ledger import Ledger
from publisher.preview import preview_posts
from publisher.preview_html import (
    MONTHS_MAX,
    calendar_months,
    month_grid,
    needs_fold,
    write_preview_site,
)
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
    assert counts[1:] == ["Hashtags 1 / 5", "Mentions 1 / 20"]
    assert counts[0].startswith("Characters ") and counts[0].endswith(" / 2,200")


def test_hashtags_in_indian_scripts_are_shown_whole_on_both_networks(social):
    """Facebook and Instagram link a hashtag with its vowel signs and viramas (#मालिश,
    #மசாஜ்): the previews mark it whole, and Instagram's caption carries the tags so."""
    social.post(
        "a.md",
        f"title: Massage\ndate: 2026-12-03 09:00\n{PHOTO}\ntags: [मालिश, மசாஜ்]\n"
        "facebook:\n  message: Book a #मालिश or a #மசாஜ் today.\n",
    )
    page = soup(write(social) / "posts/massage/index.html")
    message = page.select_one(".fb-message .fold-body")
    assert [s.get_text() for s in message.select(".fb-link")] == ["#मालिश", "#மசாஜ்"]
    caption = page.select_one(".ig-post .ig-text")
    assert caption.get_text().splitlines()[-1] == "#मालिश #மசாஜ்"
    assert [s.get_text() for s in caption.select(".ig-link")] == ["#मालिश", "#மசாஜ்"]


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
        f'title: "Relief {HOSTILE} now"\ndate: 2026-12-03 09:00\nimage: images/photo.jpg\n'
        f'summary: "Summary {HOSTILE}"\nimage_alt: "Alt {HOSTILE}"\ntags: ["{HOSTILE}"]',
        f"Body {HOSTILE} and <img src=x onerror=alert(1)>\n",
    )
    folder = write(social)
    calendar = folder / "calendar/index.html"
    pages = [folder / "index.html", calendar, *folder.glob("posts/*/index.html")]
    assert len(pages) == 3
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "<img src=x" not in text, path
    # The calendar shows the title in each chip, in the Upcoming list and in the hover text.
    drawn = soup(calendar).select("#m-2026-12 .chip")
    assert len(drawn) == 3
    for chip in drawn:
        assert chip.select_one(".chip-title").get_text() == f"Relief {HOSTILE} now"
        assert chip["title"].startswith(f"Relief {HOSTILE} now\n")
    upcoming = soup(calendar).select(".upcoming-title")
    assert [u.get_text(strip=True) for u in upcoming] == [f"Relief {HOSTILE} now"] * 3
    page = soup(pages[2])
    assert page.h1.get_text() == f"Relief {HOSTILE} now"
    assert page.select_one(".fb-card-title").get_text() == f"Relief {HOSTILE} now"
    assert HOSTILE in page.select_one(".fb-message").get_text()
    assert HOSTILE in page.select_one(".ig-text").get_text()
    assert page.select_one(".ig-image")["alt"] == f"Alt {HOSTILE}"
    assert f"Relief {HOSTILE} now" in entries(folder)


def mark(project, slug: str, channel: str, due: datetime, state: str, detail: str) -> None:
    """Record in the project's ledger that a delivery was tried and ended in `state`."""
    with Ledger(project.config.ledger_path) as ledger:
        record = ledger.ensure(slug, channel, f"posts/{slug}.md", due, AT)
        record = ledger.begin(record, AT, "post", {}, "")
        if state == "published":
            ledger.published(record, AT, "remote-1", detail)
        else:
            ledger.set_state(record, AT, state, detail)


def day_cell(page: BeautifulSoup, day: str) -> BeautifulSoup:
    """The calendar cell of one day (YYYY-MM-DD) in its own month's grid."""
    (cell,) = [t.find_parent("li") for t in page.select(f".day-head time[datetime='{day}']")]
    return cell


def chips(cell: BeautifulSoup) -> list[tuple[str, str, str]]:
    """(channel, state, time) of every chip in a cell, read from the classes and the text."""
    found = []
    for chip in cell.select(".chip"):
        classes = chip["class"]
        channel = next(c.removeprefix("chip-") for c in classes if c.startswith("chip-"))
        state = next(c.removeprefix("state-") for c in classes if c.startswith("state-"))
        found.append((channel, state, chip.select_one(".chip-time").get_text()))
    return found


@pytest.fixture
def calendar_project(social):
    """Posts from August to February, with what the ledger says about a November one."""
    social.post("old.md", f"title: Old news\ndate: 2026-08-04 09:00\n{PHOTO}")
    social.post("neck.md", f"title: Neck pain\ndate: 2026-11-24 09:00\n{PHOTO}")
    social.post("stones.md", "title: Hot stones\ndate: 2026-12-03 09:00\ninstagram: false")
    social.post("half.md", f"title: Half written\ndate: 2026-12-09 10:00\ndraft: true\n{PHOTO}")
    social.post("feb.md", f"title: February\ndate: 2027-02-02 09:00\n{PHOTO}")
    due = datetime(2026, 11, 24, 9, 0, tzinfo=NY)
    mark(
        social, "neck-pain", "website", due, "published", "https://clinic.example/posts/neck-pain/"
    )
    mark(social, "neck-pain", "facebook", due + timedelta(minutes=30), "failed", "token expired")
    return social


def test_calendar_page_is_linked_from_every_page(calendar_project):
    folder = write(calendar_project)
    page = soup(folder / "calendar/index.html")
    assert page.h1.get_text() == "Content calendar"
    assert page.select_one(".site-nav a[aria-current=page]").get_text() == "Calendar"
    index = soup(folder / "index.html")
    assert index.select_one(".site-nav a[href='calendar/index.html']").get_text() == "Calendar"
    post = soup(folder / "posts/neck-pain/index.html")
    assert post.select_one(".back a[href='../../calendar/index.html#m-2026-11']") is not None
    assert soup(folder / "posts/old-news/index.html").select_one(
        ".back a[href='../../calendar/index.html']"  # August is not drawn: no month to jump to
    )


def test_calendar_draws_the_months_from_recent_to_last(calendar_project):
    page = soup(write(calendar_project) / "calendar/index.html")
    # August is more than two months before 1 December: counted, not drawn. January has
    # nothing and is drawn all the same, so the weeks read on without a gap.
    months = [m["id"] for m in page.select("section.month")]
    assert months == ["m-2026-11", "m-2026-12", "m-2027-01", "m-2027-02"]
    assert [a["href"] for a in page.select(".month-jump a")][:4] == [f"#{m}" for m in months]
    january = page.select_one("#m-2027-01")
    assert "month-nothing" in january["class"]
    assert january.select_one(".month-empty").get_text() == "Nothing on the calendar this month."
    assert len(january.select(".day:not(.day-outside)")) == 31
    assert len(january.select(".day")) == 35  # Mon 28 Dec to Sun 31 Jan: five weeks
    note = page.select_one(".calendar-note").get_text(" ", strip=True)
    assert note.startswith("3 older deliveries are not drawn here")
    weekdays = [s.get_text() for s in page.select("#m-2026-11 .weekdays span")]
    assert weekdays == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    # November 2026 begins on a Sunday: six days of October fill the first week.
    first_week = page.select("#m-2026-11 .day")[:7]
    assert ["day-outside" in d["class"] for d in first_week] == [True] * 6 + [False]


def test_deliveries_sit_on_their_days_with_channel_and_state(calendar_project):
    folder = write(calendar_project)
    page = soup(folder / "calendar/index.html")
    neck = day_cell(page, "2026-11-24")
    assert chips(neck) == [
        ("website", "published", "9:00 AM"),
        ("facebook", "failed", "9:30 AM"),
        ("instagram", "missed", "12:00 PM"),  # never tried, and far more than 6 hours late
    ]
    website, facebook, instagram = neck.select(".chip")
    assert website.select_one(".chip-mark").get_text() == "✓"
    assert facebook.select_one(".chip-mark").get_text() == "⚠"
    assert instagram.select_one(".chip-mark").get_text() == "⚠"
    assert facebook["title"].split("\n") == [
        "Neck pain",
        "Facebook · Tue 24 Nov 2026, 9:30 AM",
        "Failed",
        "token expired",
    ]
    assert website["title"].split("\n")[2:] == [
        "Published",
        "https://clinic.example/posts/neck-pain/",
    ]
    assert facebook.select_one(".chip-title").get_text() == "Neck pain"
    assert facebook.select_one(".chip-state").get_text() == "Facebook, failed"
    for chip in neck.select(".chip"):
        assert chip.name == "a" and chip["href"] == "../posts/neck-pain/index.html"
    assert (folder / "calendar" / website["href"]).is_file()

    assert chips(day_cell(page, "2026-12-03")) == [
        ("website", "scheduled", "9:00 AM"),
        ("facebook", "scheduled", "9:30 AM"),  # and no Instagram: the post says instagram: false
    ]
    assert chips(day_cell(page, "2026-12-04")) == []
    assert "day-empty" in day_cell(page, "2026-12-04")["class"]
    # A delivery is drawn in its own month only, not again in a neighbour's spare days.
    assert len(page.select(".chip-title")) == 3 + 2 + 3 + 3


def test_a_draft_is_drawn_as_a_draft_and_is_not_upcoming(calendar_project):
    page = soup(write(calendar_project) / "calendar/index.html")
    half = day_cell(page, "2026-12-09")
    assert chips(half) == [
        ("website", "draft", "10:00 AM"),
        ("facebook", "draft", "10:30 AM"),
        ("instagram", "draft", "1:00 PM"),
    ]
    assert half.select_one(".chip")["title"].split("\n")[2:] == [
        "Draft",
        "set draft: false to schedule it",
    ]
    upcoming = [
        (u.select_one(".upcoming-title").get_text(strip=True), u["class"][1], u["class"][2])
        for u in page.select(".upcoming-item")
    ]
    assert upcoming == [
        ("Hot stones", "chip-website", "state-scheduled"),
        ("Hot stones", "chip-facebook", "state-scheduled"),
        ("February", "chip-website", "state-scheduled"),
        ("February", "chip-facebook", "state-scheduled"),
        ("February", "chip-instagram", "state-scheduled"),
    ]
    assert page.select_one(".upcoming-when")["datetime"] == "2026-12-03T09:00-05:00"


def test_upcoming_lists_the_next_ten(social):
    social.post("old.md", "title: Old\ndate: 2026-08-04 09:00\ninstagram: false")
    social.post("waiting.md", "title: Waiting\ndate: 2026-11-30 09:00\ninstagram: false")
    for day in range(2, 10):
        social.post(f"p{day}.md", f"title: Post {day}\ndate: 2026-12-{day:02} 09:00\n{PHOTO}")
    page = soup(write(social) / "calendar/index.html")
    items = page.select(".upcoming-item")
    assert len(items) == 10
    # Yesterday's article waits for the next pass (never run here), so it is still to come;
    # August's waits too but is long past the months drawn; both Facebook posts were missed.
    first = items[0]
    assert first.select_one(".upcoming-title").get_text(strip=True) == "Waiting"
    assert first.select_one(".state-tag").get_text(strip=True) == "… Due now"
    assert "state-due" in first["class"]
    whens = [i.select_one("time")["datetime"] for i in items[1:]]
    assert whens == sorted(whens) and whens[0] == "2026-12-02T09:00-05:00"
    assert whens[-1] == "2026-12-04T12:00-05:00"  # 3 a day: the ninth after it is day 4's last


def test_today_is_marked(calendar_project):
    folder = write(calendar_project)
    page = soup(folder / "calendar/index.html")
    (today,) = page.select(".day-today")
    assert today is day_cell(page, "2026-12-01")
    assert today["aria-current"] == "date"
    assert today.select_one(".today-tag").get_text() == "Today"
    # 1 December also fills the last week of November's grid: only its own month marks it.
    assert page.select_one(".month-jump a[aria-current]")["href"] == "#m-2026-12"


def test_index_shows_this_month_and_links_to_every_month(calendar_project):
    folder = write(calendar_project)
    index = soup(folder / "index.html")
    section = index.select_one("section#calendar")
    # Below the summary, above the list of posts.
    sections = [s["id"] for s in index.select("main > section.panel")]
    assert sections == ["calendar", "posts"]
    assert index.select_one("main > .page-head").find_next_sibling("section")["id"] == "calendar"
    assert [m["id"] for m in section.select("section.month")] == ["m-2026-12"]
    assert section.select_one(".panel-link")["href"] == "calendar/index.html"
    assert section.select_one(".day-today time")["datetime"] == "2026-12-01"
    stones = day_cell(index, "2026-12-03")
    assert chips(stones) == [
        ("website", "scheduled", "9:00 AM"),
        ("facebook", "scheduled", "9:30 AM"),
    ]
    assert stones.select_one(".chip")["href"] == "posts/hot-stones/index.html"


def test_months_span_at_most_a_year_from_two_months_back():
    today = date(2026, 12, 1)
    assert calendar_months([], today) == [date(2026, 12, 1)]
    old = [date(2026, 9, 30), date(2026, 10, 1), date(2026, 12, 24)]
    assert calendar_months(old, today) == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert calendar_months([date(2026, 6, 1)], today) == [date(2026, 12, 1)]
    ahead = calendar_months([date(2026, 11, 5), date(2029, 1, 1)], today)
    assert len(ahead) == MONTHS_MAX
    assert (ahead[0], ahead[-1]) == (date(2026, 11, 1), date(2027, 10, 1))
    assert calendar_months([date(2027, 3, 9)], today)[-1] == date(2027, 3, 1)


def test_month_grid_is_whole_weeks_from_monday():
    grid = month_grid(date(2027, 2, 1), [], date(2027, 2, 14))
    assert len(grid.weeks) == 4  # February 2027: Monday the 1st to Sunday the 28th
    assert [d.day for d in grid.weeks[0]][:2] == [date(2027, 2, 1), date(2027, 2, 2)]
    assert [d.day.day for d in grid.weeks[1] if d.today] == [14]
    march = month_grid(date(2026, 3, 1), [], date(2026, 1, 1))
    assert march.weeks[0][0].day == date(2026, 2, 23) and not march.weeks[0][0].in_month
    assert march.weeks[-1][-1].day == date(2026, 4, 5) and len(march.weeks) == 6


def test_preview_is_private_and_works_from_disk(social):
    social.post("a.md", f"title: A\ndate: 2026-12-03 09:00\n{PHOTO}")
    social.post("b.md", "title: B\ndate: 2026-12-04 09:00\ninstagram: false")
    folder = write(social)
    assert (folder / "robots.txt").read_text().splitlines()[-2:] == ["User-agent: *", "Disallow: /"]
    pages = sorted(folder.rglob("*.html"))
    assert [p.relative_to(folder).as_posix() for p in pages] == [
        "calendar/index.html",
        "index.html",
        "posts/a/index.html",
        "posts/b/index.html",
    ]
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
                file, _, fragment = target.partition("#")
                linked = path if not file else path.parent / unquote(file)
                assert linked.is_file(), (path, target)
                if fragment:  # a month or the legend: the anchor is on the page it names
                    assert soup(linked).find(id=fragment), (path, target)


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
    social.post("b.md", "title: B\ndate: 2026-12-03 09:00")  # no photo for Instagram
    result = run(social, "preview", "--html", "--now", "2026-12-01T09:00")
    assert result.returncode == 1 and result.stdout.strip() == f"Preview written: {index}"
    assert "posts/b.md:2: Instagram needs a photo" in result.stderr


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


def test_the_calendar_legend_names_the_waiting_state():
    """A live post's deliveries held by a problem in its file are `waiting` (agenda): the
    calendar names the state and says what it means, as for every other."""
    from publisher.agenda import WAITING
    from publisher.preview_html import STATE_MARKS, STATE_MEANINGS, STATE_NAMES

    assert STATE_NAMES[WAITING] == "Waiting" and "fixed" in STATE_MEANINGS[WAITING]
    assert WAITING in STATE_MARKS


@pytest.mark.parametrize("limit", [None, 30])
def test_hashtags_over_instagrams_limit_are_named_where_staff_look(make_project, limit):
    """40 hashtags on a post: the caption carries as many as Instagram takes (5, or 30 as
    before 2026 when config.toml says so), and the terminal preview, its JSON and the HTML
    preview name the ones left out."""
    extra = "" if limit is None else f"[instagram]\nhashtags_max = {limit}\n"
    social = make_project(extra, base=BASE_CONFIG)
    social.image("images/photo.jpg", (1200, 800))
    limit = limit or 5
    own = [f"relax{i}" for i in range(40)]
    social.post(
        "many.md",
        f"title: Many\ndate: 2026-12-03 09:00\n{PHOTO}\ninstagram:\n  hashtags: [{', '.join(own)}]",
    )
    (preview,) = preview_posts(social.config)
    ig = preview.instagram
    assert len(ig.hashtags) == limit
    assert ig.left_out == tuple(f"#relax{i}" for i in range(limit, 40))
    assert preview.problems == []
    text = run(social, "preview", "posts/many.md", "--now", "2026-12-01T09:00")
    assert f"left out: #relax{limit} #relax{limit + 1}" in text.stdout
    assert f"hashtags {limit} / {limit} (ok)" in text.stdout and "#relax39;" in text.stdout
    data = run(social, "preview", "posts/many.md", "--json", "--now", "2026-12-01T09:00")
    entry = json.loads(data.stdout)
    assert entry["instagram"]["hashtags_left_out"][0] == f"#relax{limit}"
    assert entry["instagram"]["hashtags_max"] == limit
    folder = write(social)
    page = soup(folder / "posts/many/index.html")
    note = page.select_one(".hashtags-left-out")
    assert note is not None and "#relax39" in note.get_text()
    counts = [li.get_text(" ", strip=True) for li in page.select(".channel-instagram .count")]
    assert f"Hashtags {limit} / {limit}" in counts


def test_a_caption_of_their_own_names_the_hashtags_that_did_not_fit(social):
    caption = "Relax. " * 312  # leaves room for only some of the list
    social.post(
        "own.md",
        f"title: Own\ndate: 2026-12-03 09:00\n{PHOTO}\ntags: [neck pain]\n"
        f"instagram:\n  hashtags: [shoulders]\n  caption: |\n    {caption}",
    )
    (preview,) = preview_posts(social.config)
    ig = preview.instagram
    assert ig.caption.splitlines()[-1] == "#shoulders" and ig.left_out == ("#neckpain",)


def test_hashtags_left_out_for_the_articles_own_say_why(make_project):
    """The article's text has Instagram's 5 hashtags: the post's list is left out for them,
    and the preview says the text's own come first (not 'the post's own hashtags')."""
    social = make_project(base=BASE_CONFIG)
    social.image("images/photo.jpg", (1200, 800))
    social.post(
        "tags.md",
        f"title: Tags\ndate: 2026-12-03 09:00\n{PHOTO}\ninstagram:\n  hashtags: [shoulders]",
        "Five of them: #one #two #three #four #five.\n",
    )
    text = run(social, "preview", "posts/tags.md", "--now", "2026-12-01T09:00")
    (line,) = [line for line in text.stdout.splitlines() if "left out:" in line]
    assert line.startswith("  (left out: #shoulders")
    assert "the article's own hashtags come first, then the post's" in line, line


def test_hashtags_in_the_text_are_neither_repeated_nor_named_as_left_out(make_project):
    """Hashtags typed at the end of the article: the list does not add a second #pittsburgh,
    and the preview names as left out only what is not in the caption: the text's hashtags
    past Instagram's 5 (they stay as words) and the list's that gave way."""
    social = make_project(
        '[instagram]\nhashtags = ["massagetherapy", "pittsburgh"]\n', base=BASE_CONFIG
    )
    social.image("images/photo.jpg", (1200, 800))
    social.post(
        "gifts.md",
        f"title: Gift cards\ndate: 2026-12-03 09:00\n{PHOTO}\ntags: [gift cards, Holidays]",
        "Stop by or call us. #giftcards #shoplocal #Pittsburgh #selfcare #massage #relax\n",
    )
    social.post(
        "steelers.md",
        f"title: Steelers Sunday\ndate: 2026-12-06 09:00\n{PHOTO}\ntags: [sports]",
        "Cheering all day? Come see us Monday. #Pittsburgh\n",
    )
    result = run(social, "preview", "posts/gifts.md", "--now", "2026-12-01T09:00")
    assert result.returncode == 0, result.stderr
    assert "#giftcards #shoplocal #Pittsburgh #selfcare #massage relax" in result.stdout
    assert "(left out: #relax #Holidays #massagetherapy;" in result.stdout
    result = run(social, "preview", "posts/steelers.md", "--now", "2026-12-01T09:00")
    assert result.returncode == 0, result.stderr
    caption = result.stdout.split("Instagram caption:")[1]
    assert "│ #sports #massagetherapy\n" in caption and caption.lower().count("#pittsburgh") == 1


def test_cli_preview_takes_a_post_by_its_file_its_name_or_its_slug(social):
    """Staff copy what `calendar` shows (the slug) as often as the file's path."""
    social.post("2026-12-03-tight-hips.md", f"title: Tight hips\ndate: 2026-12-03 09:00\n{PHOTO}")
    social.post("other.md", f"title: Other\ndate: 2026-12-04 09:00\n{PHOTO}")
    shown = []
    for name in ("posts/2026-12-03-tight-hips.md", "2026-12-03-tight-hips.md", "tight-hips"):
        result = run(social, "preview", "--json", "--now", "2026-12-01T09:00", name)
        assert result.returncode == 0, result.stderr
        shown.append([json.loads(line)["slug"] for line in result.stdout.splitlines()])
    assert shown == [["tight-hips"]] * 3
    result = run(social, "preview", "tight-hip")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: tight-hip: no such post file, and no post has that slug" in result.stderr
    assert "POST column of `publisher calendar`" in result.stderr
    # a word of the slug, or a slip in it: the slugs meant are named
    assert "that slug: did you mean tight-hips?" in result.stderr
    said = run(social, "preview", "hips").stderr
    assert "that slug: did you mean tight-hips?" in said
    assert "did you mean" not in run(social, "preview", "shoulders").stderr


def test_the_previews_say_a_dry_run_was_shown_not_sent(social):
    """With no token or account yet (make run's defaults), a post's Facebook and Instagram
    deliveries are dry runs; preview said "status: published" and showed their times, as if
    they had gone out."""
    import os

    social.post("calm.md", f"title: Calm\ndate: 2026-11-01 09:00\n{PHOTO}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    passed = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(social.config_path)]
        + ["publish", "--due", "--now", "2026-11-01T13:00"],
        capture_output=True,
        text=True,
        cwd=social.root,
        env=env,
        timeout=120,
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    said = run(social, "preview", "calm", "--now", "2026-11-01T13:05").stdout
    assert "  status: published (Facebook dry-run, Instagram dry-run: see below)" in said, said
    (facebook,) = [line for line in said.splitlines() if line.startswith("  facebook ")]
    assert "dry-run: no token or account: set PUBLISHER_FACEBOOK_TOKEN" in facebook
    assert run(social, "preview", "--html", "--now", "2026-11-01T13:05").returncode == 0
    page = soup(social.config.preview_dir / "posts/calm/index.html")
    badges = [b.get_text(" ", strip=True) for b in page.select(".post-head .badge")]
    assert badges == ["Published", "Facebook dry run", "Instagram dry run"], badges
    assert len(page.select(".post-head .badge-dry")) == 2 and not page.select(".badge-look")
    assert page.select(".time-facebook .state-note-dry")
