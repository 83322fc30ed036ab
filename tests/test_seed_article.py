"""The clinic's real psoas article builds to a page that carries everything the original shows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from publisher.build import build_site

from .conftest import repo_config

SEED = "posts/2025-10-21-psoas-back-pain.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BeautifulSoup]:
    config = repo_config(tmp_path_factory.mktemp("seed"))
    out = config.output_dir
    result = build_site(config, datetime(2026, 1, 1, tzinfo=ZoneInfo("America/New_York")), out)
    assert result.ok, result.problems
    page = out / "posts" / "psoas-back-pain" / "index.html"
    return out, BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def test_header_shows_title_author_date_and_reading_time(built):
    _, soup = built
    assert soup.h1.get_text(strip=True) == (
        "Unlocking the Mystery of the Psoas: The Hidden Muscle Behind Back Pain"
    )
    meta = [li.get_text(strip=True) for li in soup.select(".post-meta li")]
    assert meta == ["Aaron Cygnarowicz", "Oct 21, 2025", "2 min read"]
    assert soup.select_one(".post-meta time")["datetime"] == "2025-10-21T09:00:00-04:00"
    assert soup.title.get_text() == (
        "Unlocking the Mystery of the Psoas: The Hidden Muscle Behind Back Pain · Kneaded Tranquility"
    )


def test_hero_image_is_a_real_copied_jpeg_with_alt_and_size(built):
    out, soup = built
    hero = soup.select_one(".hero img")
    assert hero["alt"] == "A girl leaning over experiencing back pain"
    copied = out / hero["src"].lstrip("/")
    with Image.open(copied) as image:
        assert image.format == "JPEG"
        assert (int(hero["width"]), int(hero["height"])) == image.size


def test_article_keeps_headings_and_lists(built):
    _, soup = built
    body = soup.select_one(".post-body")
    headings = [h.get_text(" ", strip=True).rstrip("#").strip() for h in body.find_all("h2")]
    assert headings == [
        "What Is the Psoas (and Iliopsoas)?",
        "How a Tight Psoas Leads to Back Pain",
        "The Emotional Side of the Psoas",
        "How Massage Therapy Helps",
        "Tips for a Healthy Psoas",
    ]
    assert all(h.get("id") for h in body.find_all("h2"))
    bullets = [ul.find_all("li") for ul in body.find_all("ul")]
    assert [len(items) for items in bullets] == [2, 3, 4]
    assert bullets[0][0].strong.get_text() == "Psoas major:"
    steps = body.find("ol").find_all("li")
    assert len(steps) == 4
    assert steps[3].get_text().startswith("Schedule regular massage sessions:")
    text = body.get_text(" ", strip=True)
    assert text.startswith("If you’ve ever struggled with stubborn lower back pain")
    assert text.endswith("starting with tension that hides beneath the surface.")


def test_call_to_action_with_phone_address_and_social_links(built):
    _, soup = built
    cta = soup.select_one("aside.cta")
    assert cta.select_one(".cta-title").get_text(strip=True) == "Schedule today"
    phone = cta.select_one(".cta-phone a")
    assert phone.get_text() == "412-932-5535" and phone["href"] == "tel:+14129325535"
    address = cta.select_one("address").get_text(" ", strip=True)
    assert address == "100 Noble Avenue Pittsburgh, PA 15205"
    links = {a.get_text(strip=True): a["href"] for a in cta.select(".social a")}
    assert links["Facebook"].startswith("https://www.facebook.com/")
    assert links["Instagram"].startswith("https://www.instagram.com/")


def test_head_has_description_canonical_open_graph_and_twitter(built):
    out, soup = built

    def meta(attr: str, name: str) -> str:
        tag = soup.find("meta", attrs={attr: name})
        assert tag is not None, name
        return tag["content"]

    canonical = soup.find("link", rel="canonical")["href"]
    assert canonical == "http://127.0.0.1:8000/posts/psoas-back-pain/"
    assert meta("name", "description").startswith("Stubborn lower back pain")
    assert len(meta("name", "description")) <= 160
    assert meta("property", "og:type") == "article"
    assert meta("property", "og:url") == canonical
    assert meta("property", "og:title").startswith("Unlocking the Mystery")
    assert meta("property", "og:description") == meta("name", "description")
    image_url = meta("property", "og:image")
    assert image_url.startswith("http://127.0.0.1:8000/posts/psoas-back-pain/")
    with Image.open(out / image_url.split("8000/")[1]) as image:
        assert (
            int(meta("property", "og:image:width")),
            int(meta("property", "og:image:height")),
        ) == image.size
    assert meta("property", "article:published_time") == "2025-10-21T09:00:00-04:00"
    assert meta("name", "twitter:card") == "summary_large_image"
    assert meta("name", "twitter:title") == meta("property", "og:title")


def test_json_ld_describes_the_article_and_the_clinic(built):
    _, soup = built
    blocks = [json.loads(s.string) for s in soup.find_all("script", type="application/ld+json")]
    article = next(b for b in blocks if b["@type"] == "BlogPosting")
    clinic = next(b for b in blocks if b["@type"] == "HealthAndBeautyBusiness")
    assert article["headline"].startswith("Unlocking the Mystery of the Psoas")
    assert article["author"] == {"@type": "Person", "name": "Aaron Cygnarowicz"}
    assert article["datePublished"] == "2025-10-21T09:00:00-04:00"
    assert clinic["telephone"] == "412-932-5535"
    assert clinic["address"]["streetAddress"] == "100 Noble Avenue"
    assert clinic["address"]["postalCode"] == "15205"


def test_seed_post_passes_check(tmp_path: Path):
    from publisher.build import check_site

    assert check_site(repo_config(tmp_path)) == []
