"""The seed article and its preview in real headless Chromium: images load, no errors, screenshots.

The screenshots land in test-artifacts/ for a person to look at; the assertions check what a
screenshot cannot be trusted to show (every image decoded, nothing logged, nothing too wide).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from publisher.build import build_site
from publisher.config import Config
from publisher.ledger import Ledger
from publisher.preview import preview_posts
from publisher.preview_html import write_preview_site
from publisher.serve import make_server
from tests.conftest import BASE_CONFIG, repo_config

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (390, 1280)
SEED = "/posts/psoas-back-pain/"

BROKEN_IMAGES = """() => [...document.images]
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.currentSrc || img.src)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by playwright (its own browser downloads are never used)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make browser` (or apt-get install chromium) installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, datetime]:
    """The repository's own config.toml and posts, with every written folder moved to tmp."""
    config = repo_config(tmp_path_factory.mktemp("seed"))
    # The moment the article goes live: the site has it, Facebook and Instagram are still to come.
    at = datetime(2025, 10, 21, 9, 0, tzinfo=config.tz)
    return config, at


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 in a thread; yields the base URL."""
    server = make_server(folder, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def opened(browser: Browser, url: str, width: int) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page at `width` CSS pixels, recording console errors, page errors and failed loads."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text} {m.location.get('url', '')}")
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    try:
        response = page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        yield page, errors
    finally:
        context.close()


def check_page(
    page: Page, errors: list[str], shot: Path, images: int, allowed: tuple[str, ...] = ()
) -> None:
    """Every image decoded, nothing logged, no sideways scrolling; then a full-page screenshot."""
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.images.length") >= images
    assert page.evaluate(BROKEN_IMAGES) == []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
    page.screenshot(path=str(shot), full_page=True)
    assert [e for e in errors if not any(a in e for a in allowed)] == []


def test_seed_article_in_chromium(browser: Browser, seed, tmp_path: Path, artifacts: Path) -> None:
    config, at = seed
    result = build_site(config, at, output=tmp_path / "site")
    assert result.ok and result.published == 1, result.problems
    with serving(result.output) as base:
        for width in WIDTHS:
            with opened(browser, base + SEED, width) as (page, errors):
                expect(page.locator("h1")).to_have_text(
                    "Unlocking the Mystery of the Psoas: The Hidden Muscle Behind Back Pain"
                )
                expect(page.locator("h1")).to_be_visible()
                hero = page.locator(".hero img")
                expect(hero).to_be_visible()
                cta = page.locator(".cta-title a")
                expect(cta).to_be_visible()
                expect(cta).to_have_text(config.business.call_to_action)
                expect(cta).to_have_attribute("href", config.business.booking_url)
                check_page(
                    page,
                    errors,
                    artifacts / f"site-psoas-{width}.png",
                    images=1,
                )
                # The hero fills the text column and keeps the photo's proportions.
                box = hero.bounding_box()
                assert box is not None and box["width"] >= min(width - 60, 600)
                natural = hero.evaluate("img => img.naturalWidth / img.naturalHeight")
                assert abs(box["width"] / box["height"] - natural) < 0.02
                # Keyboard users: the first Tab shows a link past the menu, Enter follows it.
                skip = page.locator(".skip-link")
                page.evaluate("window.scrollTo(0, 0)")
                hidden = skip.bounding_box()
                assert hidden is not None and hidden["y"] + hidden["height"] <= 0  # off screen
                page.keyboard.press("Tab")
                expect(skip).to_be_focused()
                shown = skip.bounding_box()
                assert shown is not None and shown["y"] >= 0 and shown["height"] > 10
                page.keyboard.press("Enter")
                assert page.evaluate("document.activeElement.id") == "main_content"


def test_long_words_and_addresses_stay_inside_a_phone_screen(
    browser: Browser, project, artifacts: Path
) -> None:
    """An address pasted whole into the text, or a long word in a title, wraps instead of
    pushing the page sideways (the header and footer would stop short of the text)."""
    address = "https://www.kneadedtranquility.com/" + "/".join(["a-very-long-path"] * 8)
    word = "Supercalifragilisticexpialidociousnessmassagetherapy"
    project.post(
        "long.md",
        f"title: {word} {word}\nslug: long\ndate: 2026-11-01\ntags: [{word}]",
        f"Read {address} before your visit, or [{address}]({address}).\n\n- {address}\n",
    )
    result = build_site(project.config, datetime(2026, 11, 20, tzinfo=ZoneInfo("UTC")))
    assert result.ok, result.problems
    with serving(result.output) as base:
        for path in ("/posts/long/", "/", f"/tags/{word.lower()}/"):
            with opened(browser, base + path, WIDTHS[0]) as (page, errors):
                shot = artifacts / f"site-long-words{path.replace('/', '-')}390.png"
                check_page(page, errors, shot, images=0)
    # a link under the pointer keeps WCAG AA's 4.5:1 against the page
    with serving(result.output) as base, opened(browser, base + "/posts/long/", 1280) as (page, _):
        link = page.locator(".post-body a").first
        link.hover()
        colours = link.evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor]"
        )
        assert contrast(*colours) >= 4.5, colours


def test_footnotes_read_small_below_the_article_and_link_both_ways(
    browser: Browser, project, artifacts: Path
) -> None:
    """A marker is a small raised [1] that leaves the line spacing alone; the notes are in
    smaller print under a rule, each linked to its markers and back."""
    paragraph = "Massage lowers cortisol and eases tension in the shoulders and the back. "
    project.post(
        "cited.md",
        "title: Cited\nslug: cited\ndate: 2026-11-01",
        f"{paragraph * 2}It helps.[^1] {paragraph * 3}\n\n{paragraph * 4} Sleep too.[^2][^1]\n\n"
        + f"{paragraph * 12}\n\n"
        + "[^1]: Field T. *Massage therapy research review*. Complement Ther Clin Pract. 2016.\n"
        + "[^2]: Smith, [Sleep and touch](https://example.org/sleep), 2020.\n",
    )
    result = build_site(project.config, datetime(2026, 11, 20, tzinfo=ZoneInfo("UTC")))
    assert result.ok, result.problems
    with serving(result.output) as base:
        for width in WIDTHS:
            with opened(browser, base + "/posts/cited/", width) as (page, errors):
                check_page(page, errors, artifacts / f"site-footnotes-{width}.png", images=0)
                sizes = page.evaluate(
                    """() => [".post-body > p", ".footnote-ref", ".footnotes li"].map(
                        s => parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"""
                )
                assert sizes[1] < sizes[0] * 0.8 and sizes[2] < sizes[0] * 0.9, sizes
                # a line with a marker is no taller than one without: the lines of the
                # paragraph's own text stand evenly apart
                tops = page.evaluate(
                    """() => { const p = document.querySelector(".post-body > p");
                        const walk = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
                        const tops = new Set();
                        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                            if (n.parentElement.closest("sup")) continue;
                            const range = document.createRange(); range.selectNodeContents(n);
                            for (const r of range.getClientRects()) tops.add(Math.round(r.top));
                        }
                        return [...tops].sort((a, b) => a - b); }"""
                )
                gaps = [below - above for above, below in zip(tops, tops[1:], strict=False)]
                assert len(gaps) >= 3 and max(gaps) - min(gaps) <= 1, tops
                rule = page.locator(".footnotes-sep")
                expect(rule).to_be_visible()
                assert rule.evaluate("e => e.getBoundingClientRect().width") < 200
                notes = page.locator(".footnotes li")
                expect(notes).to_have_count(2)
                expect(notes.first).to_contain_text("Field T. Massage therapy research review")
            with opened(browser, base + "/posts/cited/", WIDTHS[0]) as (page, _):
                page.locator(".footnote-ref a").first.click()
                assert page.evaluate("location.hash") == "#fn_1"
                note = page.locator("#fn_1")
                expect(note).to_be_in_viewport()
                colours = note.evaluate(
                    "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
                )
                assert colours[1] != "rgba(0, 0, 0, 0)"  # the note jumped to is marked
                assert contrast(*colours) >= 4.5, colours
                page.screenshot(path=str(artifacts / "site-footnotes-jumped-390.png"))
                note.locator(".footnote-backref").nth(1).click()
                assert page.evaluate("location.hash") == "#fnref_1_2"
                expect(page.locator("#fnref_1_2")).to_be_in_viewport()


def contrast(foreground: str, background: str) -> float:
    """WCAG's contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in colour[colour.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_seed_preview_in_chromium(browser: Browser, seed, artifacts: Path) -> None:
    config, at = seed
    folder = write_preview_site(config, preview_posts(config), at)
    with serving(folder) as base:
        for width in WIDTHS:
            with opened(browser, base + SEED, width) as (page, errors):
                facebook = page.locator(".fb-post")
                instagram = page.locator(".ig-post")
                expect(facebook).to_be_visible()
                expect(instagram).to_be_visible()
                expect(facebook.locator(".fb-name")).to_have_text(config.facebook.page_name)
                expect(instagram.locator(".ig-head .ig-name")).to_have_text(
                    config.instagram.username
                )
                check_page(page, errors, artifacts / f"preview-psoas-{width}.png", images=2)

                # Facebook crops the link image to 1.91:1; the Instagram image keeps its own ratio.
                og = facebook.locator(".fb-card-image").bounding_box()
                assert og is not None and abs(og["width"] / og["height"] - 1.91) < 0.03
                photo = instagram.locator(".ig-image")
                shown = photo.bounding_box()
                natural = photo.evaluate("img => img.naturalWidth / img.naturalHeight")
                assert shown is not None and abs(shown["width"] / shown["height"] - natural) < 0.02
                assert 0.8 - 0.01 <= natural <= 1.91 + 0.01

                # Long texts are folded and open on "See more" / "more", without JavaScript.
                message = facebook.locator(".fb-message .fold-body")
                folded = message.bounding_box()
                assert folded is not None and folded["height"] <= 5 * 20 + 1
                facebook.locator(".fold-more").click()
                expect(facebook.locator(".fold-more")).to_be_hidden()
                opened_box = message.bounding_box()
                assert opened_box is not None and opened_box["height"] > 6 * 20
                caption = instagram.locator(".ig-caption .fold-body")
                folded = caption.bounding_box()
                assert folded is not None and folded["height"] <= 2 * 18 + 1
                instagram.locator(".fold-more").click()
                expect(instagram.locator(".fold-more")).to_be_hidden()
                opened_box = caption.bounding_box()
                assert opened_box is not None and opened_box["height"] > 10 * 18
                if width == WIDTHS[-1]:
                    page.screenshot(
                        path=str(artifacts / "preview-psoas-opened.png"), full_page=True
                    )
                assert errors == []

            with opened(browser, base + "/index.html", width) as (page, errors):
                entry = page.locator(".entry")
                expect(entry).to_have_count(1)
                expect(entry.locator(".badge")).to_have_text("Published")
                expect(entry.locator(".entry-title a")).to_be_visible()
                check_page(page, errors, artifacts / f"preview-index-{width}.png", images=1)
                entry.locator(".entry-title a").click()
                page.wait_for_load_state("load")
                assert page.url.endswith(SEED + "index.html")
                assert errors == []


@pytest.fixture
def busy_calendar(make_project) -> tuple[Config, datetime]:
    """Three months of posts in every state the calendar draws, as of Tue 1 Dec 2026."""
    ny = ZoneInfo("America/New_York")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=ny)
    project = make_project(base=BASE_CONFIG)
    project.image("images/photo.jpg", (1200, 800))
    photo = "image: images/photo.jpg\nimage_alt: Hands on a shoulder"
    posts = {
        "neck": ("Why your neck hurts after a day at the desk", "2026-11-03 09:00", photo),
        "winter": ("Winter stretches for stiff shoulders", "2026-11-20 10:00", photo),
        "gifts": ("Gift cards for the holidays", "2026-11-30 09:00", photo),
        "stones": ("Hot stone massage is back", "2026-12-03 09:00", photo),
        "half": ("Half written", "2026-12-09 09:00", f"{photo}\ndraft: true"),
        "evil": ("Relief <script>alert('x')</script> now", "2026-12-15 08:00", photo),
        "feet": ("Plantar fasciitis and your morning walk", "2026-12-15 14:00", "instagram: false"),
        "posture": ("New year, new posture", "2027-01-05 09:00", photo),
    }
    for name, (title, when, extra) in posts.items():
        project.post(f"{name}.md", f'title: "{title}"\ndate: {when}\n{extra}')
    config = project.config
    outcomes = [
        ("why-your-neck-hurts-after-a-day-at-the-desk", "2026-11-03 09:00", "published", "failed"),
        ("winter-stretches-for-stiff-shoulders", "2026-11-20 10:00", "skipped", "dry-run"),
        ("gift-cards-for-the-holidays", "2026-11-30 09:00", None, "retry"),
    ]
    with Ledger(config.ledger_path) as ledger:
        for slug, when, facebook, instagram in outcomes:
            due = datetime.fromisoformat(when).replace(tzinfo=ny)
            for channel, state, offset in (
                ("website", "published", timedelta(0)),
                ("facebook", facebook, timedelta(minutes=30)),
                ("instagram", instagram, timedelta(hours=3)),
            ):
                if state is None:
                    continue  # never tried: the calendar finds it missed
                record = ledger.ensure(slug, channel, f"posts/{slug}.md", due + offset, at)
                record = ledger.begin(record, at, "post", {}, "")
                if state == "published":
                    ledger.published(record, at, "1", f"https://clinic.example/{slug}/{channel}")
                elif state == "retry":
                    ledger.retry_later(record, at, at + timedelta(minutes=10), "Graph API 503")
                else:
                    ledger.set_state(record, at, state, f"{state} for the test")
    return config, at


def test_calendar_in_chromium(browser: Browser, busy_calendar, artifacts: Path) -> None:
    config, at = busy_calendar
    folder = write_preview_site(config, preview_posts(config), at)
    with serving(folder) as base:
        for width in WIDTHS:
            with opened(browser, base + "/calendar/index.html", width) as (page, errors):
                expect(page.locator("h1")).to_have_text("Content calendar")
                expect(page.locator(".upcoming-item")).to_have_count(10)
                expect(page.locator(".day-today")).to_have_count(1)
                expect(page.locator(".day-today")).to_be_visible()
                expect(page.locator("#legend")).to_be_visible()
                failed = page.locator("#m-2026-11 .chip.state-failed")
                expect(failed).to_have_count(1)
                expect(failed).to_be_visible()
                # The state shows without colour too: a sign, or a line through.
                expect(failed.locator(".chip-mark")).to_have_text("⚠")
                expect(page.locator(".chip.state-published .chip-mark").first).to_have_text("✓")
                skipped = page.locator(".chip.state-skipped .chip-title")
                assert "line-through" in skipped.evaluate(
                    "e => getComputedStyle(e).textDecorationLine"
                )
                draft = page.locator(".chip.state-draft").first
                assert draft.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
                check_page(page, errors, artifacts / f"preview-calendar-{width}.png", images=0)

                # Long titles are cut with an ellipsis inside the chip, never spill out of it.
                title = page.locator("#m-2026-11 .chip-title").first
                assert title.evaluate("e => e.scrollWidth > e.clientWidth")
                for chip in page.locator(".day .chip").all():
                    box, cell = chip.bounding_box(), chip.locator("xpath=..").bounding_box()
                    assert box and cell and box["x"] + box["width"] <= cell["x"] + cell["width"]

                days = page.locator("#m-2026-12 .day:not(.day-outside)")
                if width == WIDTHS[0]:
                    # A phone gets a list of the days with deliveries (and today), one a row.
                    expect(page.locator(".weekdays").first).to_be_hidden()
                    expect(
                        page.locator("#m-2026-12 .day-empty:not(.day-today)").first
                    ).to_be_hidden()
                    visible = [d for d in days.all() if d.is_visible()]
                    assert len(visible) == 4  # today, the 3rd, the 9th and the 15th
                    widths = {round(d.bounding_box()["width"]) for d in visible}
                    assert len(widths) == 1 and widths.pop() >= width - 40
                    expect(page.locator(".day-today .day-nothing")).to_be_visible()
                else:
                    # A wide screen gets the month as seven columns, Monday first.
                    expect(page.locator(".weekdays").first).to_be_visible()
                    boxes = [d.bounding_box() for d in days.all()[:7]]
                    xs = [b["x"] for b in boxes if b]
                    # Tuesday 1 to Sunday 6 side by side; Monday 7 starts the next row, in the
                    # first column (the spare Monday 30 November is drawn before the 1st).
                    assert xs[:6] == sorted(set(xs[:6]))
                    assert xs[6] < xs[0] and boxes[6]["y"] > boxes[0]["y"]
                    assert page.locator(".day-outside").first.is_visible()

                chip = page.locator("#m-2026-12 .chip.state-scheduled").first
                tooltip = chip.get_attribute("title") or ""
                assert tooltip.split("\n")[1:3] == [
                    "Website · Thu 3 Dec 2026, 9:00 AM",
                    "Scheduled",
                ]
                chip.click()
                page.wait_for_load_state("load")
                assert page.url.endswith("/posts/hot-stone-massage-is-back/index.html")
                expect(page.locator("h1")).to_have_text("Hot stone massage is back")
                assert errors == []

            with opened(browser, base + "/index.html", width) as (page, errors):
                month = page.locator("#calendar .month")
                expect(month).to_have_count(1)
                expect(month.locator(".month-title")).to_contain_text("December 2026")
                expect(month.locator(".day-today")).to_be_visible()
                check_page(
                    page, errors, artifacts / f"preview-index-calendar-{width}.png", images=7
                )
                page.locator("#calendar .panel-link").click()
                page.wait_for_load_state("load")
                assert page.url.endswith("/calendar/index.html")
                assert errors == []


def test_preview_shows_a_phone_photo_whose_name_has_a_space(
    browser: Browser, make_project, tmp_path: Path
) -> None:
    """A photo straight from a phone ('IMG 2041.JPG') shows in the preview's Facebook card
    and on the index, as it does on the website: its file is written under its own name,
    not under the name as it is spelled in a link."""
    project = make_project(base=BASE_CONFIG)
    project.image("images/IMG 2041.JPG", (1200, 800))
    project.post(
        "shoulders.md",
        "title: Why your shoulders hold stress\ndate: 2026-12-03 09:00\n"
        "image: images/IMG 2041.JPG\nimage_alt: Hands on a shoulder",
    )
    at = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    folder = write_preview_site(project.config, preview_posts(project.config), at)
    with serving(folder) as base:
        for width in WIDTHS:
            with opened(
                browser, base + "/posts/why-your-shoulders-hold-stress/index.html", width
            ) as (page, errors):
                expect(page.locator(".fb-card-image")).to_be_visible()
                check_page(page, errors, tmp_path / f"preview-photo-{width}.png", images=2)
            with opened(browser, base + "/index.html", width) as (page, errors):
                check_page(page, errors, tmp_path / f"preview-index-{width}.png", images=1)


def test_an_iphone_heic_photo_shows_in_chromium_on_the_site_and_in_the_preview(
    browser: Browser, make_project, tmp_path: Path
) -> None:
    """Chromium shows no HEIC: the page, the index and the preview's Facebook card and
    Instagram post must each get a JPEG of an iPhone's photo, and show it."""
    project = make_project(base=BASE_CONFIG)
    (project.posts / "images").mkdir()
    photo = Path(__file__).parent / "photos" / "upright.heic"
    (project.posts / "images" / "IMG_4021.HEIC").write_bytes(photo.read_bytes())
    project.post(
        "shoulders.md",
        "title: Why your shoulders hold stress\ndate: 2026-12-03 09:00\n"
        "image: images/IMG_4021.HEIC\nimage_alt: Hands on a shoulder",
    )
    at = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert build_site(project.config, at).problems == []
    with serving(project.output) as base:
        for page_path, images in (("/posts/why-your-shoulders-hold-stress/", 1), ("/", 1)):
            with opened(browser, base + page_path, 390) as (page, errors):
                check_page(page, errors, tmp_path / "heic-site.png", images=images)
    folder = write_preview_site(project.config, preview_posts(project.config), at)
    with serving(folder) as base:
        with opened(browser, base + "/posts/why-your-shoulders-hold-stress/index.html", 390) as (
            page,
            errors,
        ):
            expect(page.locator(".fb-card-image")).to_be_visible()
            check_page(page, errors, tmp_path / "heic-preview.png", images=2)
