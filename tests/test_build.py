"""The website build: escaping, scheduled publishing, feed, sitemap, atomic swap."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import feedparser
import pytest
from bs4 import BeautifulSoup
from PIL import Image

from publisher.build import build_site, check_site
from publisher.exceptions import TemplateError

from .conftest import BASE_CONFIG, WEBSITE_ONLY

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY)
HOSTILE = "<script>alert('x')</script>"


def test_hostile_text_is_escaped_everywhere(project):
    project.image("images/a.jpg")
    project.post(
        "evil.md",
        f"""
        title: "Relief {HOSTILE} now"
        date: 2026-11-01 10:00
        summary: "Summary {HOSTILE}"
        tags: ["{HOSTILE}", "ok"]
        image: images/a.jpg
        image_alt: "Alt {HOSTILE}"
        """,
        f"Body {HOSTILE} and <img src=x onerror=alert(1)>\n\n<script>alert(2)</script>\n",
    )
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    files = project.files()
    for path, data in files.items():
        text = data.decode("utf-8", "replace")
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
    page = BeautifulSoup(files["posts/relief-script-alert-x-script-now/index.html"], "html.parser")
    assert page.h1.get_text() == f"Relief {HOSTILE} now"
    assert HOSTILE in page.select_one(".post-body").get_text()
    blocks = [json.loads(s.string) for s in page.find_all("script", type="application/ld+json")]
    assert blocks[0]["headline"] == f"Relief {HOSTILE} now"
    feed = feedparser.parse(files["feed.xml"])
    assert not feed.bozo
    assert feed.entries[0].title == f"Relief {HOSTILE} now"
    tag_pages = [
        p
        for p in files
        if p.startswith("tags/") and p != "tags/index.html" and "/page/1/" not in p  # redirects
    ]
    assert len(tag_pages) == 2


def test_every_page_describes_itself_to_search_engines_and_link_previews(project):
    project.post("bare.md", "title: Bare\ndate: 2026-11-01")  # no photo, tags or author
    project.post("signed.md", "title: Signed\ndate: 2026-11-02\nauthor: Jo Smith\ntags: [neck]")
    project.post("old.md", "title: Old\ndate: 2026-10-01")  # two a page: a second home page
    build_site(project.config, NOW)
    files = project.files()
    clinic = project.config.business.schema_type

    def soup(path: str) -> BeautifulSoup:
        return BeautifulSoup(files[path], "html.parser")

    def blocks(page: BeautifulSoup) -> list[dict]:
        return [json.loads(s.string) for s in page.find_all("script", type="application/ld+json")]

    def meta(page: BeautifulSoup, name: str) -> str | None:
        tag = page.find("meta", attrs={"property": name}) or page.find("meta", attrs={"name": name})
        return tag["content"] if tag else None

    bare = blocks(soup("posts/bare/index.html"))[0]
    assert "image" not in bare and "keywords" not in bare  # neither null nor ""
    # written by the clinic itself (the default author): not a person
    assert bare["author"] == {
        "@type": clinic,
        "name": "Test Clinic",
        "url": "https://clinic.example/",
    }
    signed = blocks(soup("posts/signed/index.html"))[0]
    assert signed["author"] == {"@type": "Person", "name": "Jo Smith"}
    assert signed["keywords"] == "neck"

    home = soup("index.html")
    assert meta(home, "og:type") == "website" and meta(home, "og:title") == "Test Clinic"
    assert meta(home, "og:url") == "https://clinic.example/"
    assert meta(home, "twitter:card") == "summary"
    assert [b["@type"] for b in blocks(home)] == [clinic]  # the clinic, on its home page
    second = soup("page/2/index.html")
    assert meta(second, "og:url") == "https://clinic.example/page/2/" and blocks(second) == []
    assert meta(soup("tags/neck/index.html"), "og:url") == "https://clinic.example/tags/neck/"
    # the page answers for any address that is not there: no address of its own, not indexed
    missing = soup("404.html")
    assert missing.find("link", rel="canonical") is None and meta(missing, "og:url") is None
    assert meta(missing, "robots") == "noindex"


def test_raw_html_passes_through_only_when_config_allows(make_project):
    body = 'Text with <span class="note">a note</span>.\n'
    for allowed, expected in ((False, "&lt;span"), (True, '<span class="note">')):
        project = make_project("") if not allowed else make_project("")
        if allowed:
            text = project.config_path.read_text().replace(
                "[site]\n", "[site]\nallow_html = true\n", 1
            )
            project.config_path.write_text(text)
        project.post("p.md", "title: Notes\ndate: 2026-01-01", body)
        build_site(project.config, NOW)
        html = (project.output / "posts/notes/index.html").read_text()
        assert expected in html


@pytest.mark.parametrize(
    "title",
    [
        "Über die Massage — ein Überblick",
        "按摩的好处",
        "Relax 💆‍♀️ and breathe 🌿",
        "Ça va? Très bien!",
    ],
)
def test_non_ascii_and_emoji_titles_build(project, title):
    project.post("p.md", f'title: "{title}"\ndate: 2026-01-01', f"# {title}\n\nText 🌿 ü.\n")
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    (page,) = [p for p in project.files() if p.startswith("posts/")]
    html = BeautifulSoup(project.files()[page], "html.parser")
    assert html.h1.get_text() == title


def test_huge_and_empty_bodies_build(project):
    paragraph = "Massage helps the psoas release tension and improves posture. " * 20 + "\n\n"
    project.post(
        "big.md", "title: Big\ndate: 2026-01-01", paragraph * (1_000_000 // len(paragraph) + 1)
    )
    project.post("empty.md", "title: Empty\ndate: 2026-01-02", "")
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    files = project.files()
    assert len(files["posts/big/index.html"]) > 1_000_000
    assert b"<h1>Empty</h1>" in files["posts/empty/index.html"]


def test_future_and_draft_posts_leak_nowhere(project):
    project.image("images/public.jpg")
    project.image("images/futurephoto.jpg")
    project.image("images/draftphoto.jpg")
    project.post(
        "live.md",
        "title: Live post\ndate: 2026-11-30 09:00\nimage: images/public.jpg\nimage_alt: ok\ntags: [shared]",
    )
    project.post(
        "future.md",
        "title: Zanzibarfuture\ndate: 2026-12-01 09:01\nimage: images/futurephoto.jpg\n"
        "image_alt: Zanzibaralt\ntags: [shared, zanzibartag]\nsummary: Zanzibarsummary",
        "Zanzibarbody text.\n",
    )
    project.post(
        "draft.md",
        "title: Quixoticdraft\ndate: 2026-01-01\ndraft: true\nimage: images/draftphoto.jpg\n"
        "image_alt: Quixoticalt\ntags: [quixotictag]",
        "Quixoticbody text.\n",
    )
    result = build_site(project.config, NOW)
    assert result.ok and result.published == 1
    files = project.files()
    for path, data in files.items():
        lowered = data.lower() + path.lower().encode()
        for marker in (b"zanzibar", b"quixotic", b"futurephoto", b"draftphoto"):
            assert marker not in lowered, (path, marker)
    # A minute later the scheduled post is there, with its image and tag page.
    later = build_site(project.config, datetime(2026, 12, 1, 9, 1, tzinfo=NY))
    assert later.published == 2
    files = project.files()
    assert "posts/zanzibarfuture/futurephoto.jpg" in files
    assert "tags/zanzibartag/index.html" in files
    assert not any(b"quixotic" in d.lower() for d in files.values())


def test_the_feed_carries_absolute_addresses_and_og_locale_is_a_locale(project):
    project.image("images/a.jpg")
    project.post(
        "a.md",
        "title: A\ndate: 2026-11-01",
        "See [our prices](/prices/) and ![A room](images/a.jpg) or [elsewhere](//cdn.example/x).\n",
    )
    build_site(project.config, NOW)
    files = project.files()
    content = feedparser.parse(files["feed.xml"]).entries[0].content[0].value
    assert 'src="https://clinic.example/posts/a/a.jpg"' in content
    assert 'href="https://clinic.example/prices/"' in content
    assert 'href="https://cdn.example/x"' in content  # scheme-relative: the site's scheme
    page = files["posts/a/index.html"].decode()
    assert 'src="/posts/a/a.jpg"' in page  # the site itself keeps short addresses
    assert "og:locale" not in page  # "en" names no territory: Open Graph wants en_US
    text = project.config_path.read_text().replace("[site]\n", '[site]\nlanguage = "en-US"\n', 1)
    project.config_path.write_text(text)
    build_site(project.config, NOW)
    page = project.files()["posts/a/index.html"].decode()
    assert '<meta property="og:locale" content="en_US">' in page


def _feed_contents(feed: bytes) -> list[str]:
    """Each entry's HTML as the feed holds it (not as a feed reader resolves it)."""
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(feed)
    return [entry.find(f"{atom}content").text for entry in root.iter(f"{atom}entry")]


def test_links_between_articles_work_on_a_site_under_a_path_and_in_its_feed(make_project):
    base = BASE_CONFIG.replace('"https://clinic.example"', '"https://example.org/clinic"')
    project = make_project(base=base)
    project.post("two.md", "title: Two\ndate: 2026-10-01")
    project.post(
        "one.md",
        "title: One\ndate: 2026-11-01",
        "See [two](/posts/two/), [two again](/clinic/posts/two/), [up](../two/), "
        "[below](#more), [home](/) and [elsewhere](//cdn.example/x).\n\n## More\n",
    )
    build_site(project.config, NOW)
    files = project.files()
    page = files["posts/one/index.html"].decode()
    # a link from the top of the site goes under the site's path, as the images do
    assert 'href="/clinic/posts/two/"' in page and 'href="/posts/two/"' not in page
    assert page.count('href="/clinic/posts/two/"') == 2  # written with the path: left as is
    assert 'href="/clinic/"' in page
    assert 'href="../two/"' in page and 'href="#more"' in page  # work as they are
    assert 'href="//cdn.example/x"' in page
    # a feed reader shows the entry away from the page: every address is absolute
    content = _feed_contents(files["feed.xml"])[0]
    assert content.count('href="https://example.org/clinic/posts/two/"') == 3
    assert 'href="https://example.org/clinic/posts/one/#more"' in content
    assert 'href="https://example.org/clinic/"' in content
    assert 'href="//cdn.example/x"' not in content  # made absolute with the site's scheme
    assert 'href="https://cdn.example/x"' in content
    # every link of the page leads to a page of the built site
    for address in ("/clinic/posts/two/", "/clinic/"):
        assert address.removeprefix("/clinic/") + "index.html" in files


def test_a_link_to_another_posts_file_leads_to_its_page_and_follows_its_renaming(make_project):
    """Staff link an article by its file's name, as their editor shows it ([hips](hips.md)):
    the page links to that article's page (/posts/SLUG/), under the site's path and with the
    heading it names, and the feed's copy is absolute. A new title (a new slug) of the
    article linked to is followed at the next build, though the linking post is unchanged."""
    base = BASE_CONFIG.replace('"https://clinic.example"', '"https://example.org/clinic"')
    project = make_project(base=base)
    project.post("2026-10-01-hips.md", "title: Hips\ndate: 2026-10-01", "Hips.\n\n## Why\n")
    project.post("guides/my stretches.MD", "title: Stretches\ndate: 2026-10-02")
    project.post(
        "2026-11-01-one.md",
        "title: One\ndate: 2026-11-01",
        "See [hips](2026-10-01-hips.md#why), [again](./2026-10-01-hips.md), "
        "[stretches](<guides/my stretches.MD>), [a reference][r] and "
        "[a readme](https://example.com/readme.md).\n\n[r]: 2026-10-01-hips.md\n",
    )
    result = build_site(project.config, NOW)
    assert result.warnings == []
    files = project.files()
    page = files["posts/one/index.html"].decode()
    assert 'href="/clinic/posts/hips/#why"' in page
    assert page.count('href="/clinic/posts/hips/"') == 2
    assert 'href="/clinic/posts/stretches/"' in page
    assert 'href="https://example.com/readme.md"' in page  # an address on the web
    assert ".md" not in page.replace("https://example.com/readme.md", "")
    for address in ("posts/hips/index.html", "posts/stretches/index.html"):
        assert address in files  # each link leads to a page of the built site
    content = _feed_contents(files["feed.xml"])[0]
    assert 'href="https://example.org/clinic/posts/hips/#why"' in content

    project.post("2026-10-01-hips.md", "title: Hip Flexors\ndate: 2026-10-01", "Hips.\n")
    build_site(project.config, NOW)
    files = project.files()
    page = files["posts/one/index.html"].decode()
    assert 'href="/clinic/posts/hip-flexors/#why"' in page and "/posts/hips/#" not in page
    assert page.count('href="/clinic/posts/hip-flexors/"') == 2
    assert "posts/hip-flexors/index.html" in files


def test_headings_shared_by_articles_never_make_an_id_twice_in_one_page(project):
    """Articles with the same headings each have `<h2 id="why-it-helps">`. No page of the
    site shows several articles' text (the home and tag pages show cards), so no HTML page
    has an id twice; the feed does carry them whole, but each entry's content is a document
    of its own, and every link in it to a heading leads to its article's page."""
    text = "See [below](#why-it-helps).\n\n## Why it helps\n\nRest.\n"
    for n in range(3):
        project.post(f"p{n}.md", f"title: P{n}\ndate: 2026-11-0{n + 1}\ntags: [rest]", text)
    build_site(project.config, NOW)
    files = project.files()
    pages = [path for path in files if path.endswith(".html")]
    assert {"index.html", "tags/rest/index.html", "posts/p0/index.html"} <= set(pages)
    for path in pages:
        ids = [tag["id"] for tag in BeautifulSoup(files[path], "html.parser").select("[id]")]
        assert len(ids) == len(set(ids)), (path, ids)
    contents = _feed_contents(files["feed.xml"])
    assert len(contents) == 3 and all('<h2 id="why-it-helps">' in c for c in contents)
    for n, content in enumerate(reversed(contents)):
        assert f'href="https://clinic.example/posts/p{n}/#why-it-helps"' in content
        assert 'href="#' not in content


def test_footnotes_on_the_page_in_the_lists_and_in_the_feed(project):
    cited = (
        "Massage lowers cortisol.[^1] It helps sleep.[^2]\n\n## Fn 1\n\nMore words.[^1]\n\n"
        "[^1]: Field T. *Massage therapy research review*, 2016.\n"
        "[^2]: Smith, 2020.\n"
    )
    project.post("a.md", "title: A\ndate: 2026-11-01\ntags: [sleep]", cited)
    project.post("b.md", "title: B\ndate: 2026-11-02\ntags: [sleep]", "Rest.[^x]\n\n[^x]: Jones.\n")
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    files = project.files()
    page = BeautifulSoup(files["posts/a/index.html"], "html.parser")
    ids = [tag["id"] for tag in page.select("[id]")]
    assert len(ids) == len(set(ids))  # the skip link's target, headings and notes
    assert {"main_content", "fn-1", "fn_1", "fn_2", "fnref_1", "fnref_1_2", "fnref_2"} <= set(ids)
    for link in page.select(".post-body a[href^='#']"):
        assert link["href"][1:] in ids
    assert [li.get_text(" ", strip=True) for li in page.select("section.footnotes li")] == [
        "Field T. Massage therapy research review , 2016. \u21a9\ufe0e \u21a9\ufe0e",
        "Smith, 2020. \u21a9\ufe0e",
    ]
    # the description and the reading time: the words of the article, no markers or notes
    description = page.select_one('meta[name="description"]')["content"]
    assert description == "Massage lowers cortisol. It helps sleep."
    article = json.loads(page.select_one('script[type="application/ld+json"]').string)
    assert article["wordCount"] == 10  # Massage lowers cortisol. It helps sleep. Fn 1 More words.
    # the home and topic pages show cards: the summary, never the notes
    for listing in ("index.html", "tags/sleep/index.html"):
        html = files[listing].decode()
        assert "Massage lowers cortisol. It helps sleep." in html
        assert "footnote" not in html and "[1]" not in html and "Field T." not in html
    # the feed carries both articles whole: the notes' links lead to each article's page,
    # and no id is there twice
    contents = "".join(_feed_contents(files["feed.xml"]))
    assert 'href="https://clinic.example/posts/a/#fn_1"' in contents
    assert 'href="https://clinic.example/posts/b/#fn_1"' in contents
    assert 'href="https://clinic.example/posts/a/#fnref_1_2"' in contents
    assert contents.count("Field T.") == 1 and contents.count("Jones.") == 1
    assert ' id="fn_' not in contents and ' id="fnref_' not in contents


def test_a_tag_written_three_ways_in_one_post_is_one_tag(project):
    project.post(
        "a.md", "title: A\ndate: 2026-11-01\ntags: [Back Pain, back pain, back-pain, neck]"
    )
    build_site(project.config, NOW)
    page = project.files()["posts/a/index.html"].decode()
    assert page.count('href="/tags/back-pain/"') == 1 and ">Back Pain</a>" in page
    assert page.count('href="/tags/neck/"') == 1


def test_tags_in_other_scripts_share_a_page_when_they_are_one_word(project):
    """A tag without Latin letters has a page named by a code: written with other capitals
    (Йога, йога), or with a vowel sign typed as one character or two (যোগ), it is still
    one tag, on one page; tags one virama apart are two words, on two pages."""
    bengali = "\u09af\u09cb\u0997"  # যোগ, its vowel sign as one character
    project.post("a.md", f"title: A\ndate: 2026-11-01\ntags: [Йога, {bengali}, மசாஜ்]")
    project.post("b.md", "title: B\ndate: 2026-11-02\ntags: [йога, \u09af\u09c7\u09be\u0997, மசாஜ]")
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    files = project.files()
    topics = {
        path: [a.get_text() for a in BeautifulSoup(data, "html.parser").select("h2 a")]
        for path, data in files.items()
        if path.startswith("tags/tag-") and path.count("/") == 2  # (not page/1/: redirects)
    }
    assert sorted(topics.values()) == [["A"], ["B"], ["B", "A"], ["B", "A"]]
    # the page of a tag written as keyboards write it keeps its address
    assert f"tags/tag-{hashlib.sha1(bengali.encode()).hexdigest()[:8]}/index.html" in files
    listing = BeautifulSoup(files["tags/index.html"], "html.parser").get_text()
    assert "மசாஜ்" in listing and "மசாஜ" in listing


def test_tags_in_a_word_processors_curly_quotes_are_the_words_inside(project):
    """Quotes around a tag are YAML's, not the tag's: curly ones (a word processor's) too,
    so the topic is not shown as “stress” on the post and on its page."""
    project.post("a.md", "title: A\ndate: 2026-11-01\ntags: [“stress”, ‘neck pain’, don’t]")
    project.post("b.md", "title: B\ndate: 2026-11-02\ntags: [stress]")
    result = build_site(project.config, NOW)
    assert result.ok, result.problems
    files = project.files()
    page = files["posts/a/index.html"].decode()
    assert ">stress</a>" in page and ">neck pain</a>" in page and ">don’t</a>" in page
    assert "“" not in page and "‘" not in page
    topic = BeautifulSoup(files["tags/stress/index.html"], "html.parser")
    assert topic.select_one("h1").get_text(strip=True) == "Topic: stress"


def test_an_image_named_with_spaces_gets_a_valid_address(project):
    project.image("images/my photo.jpg")
    project.post(
        "a.md",
        "title: A\ndate: 2026-11-01\nimage: images/my photo.jpg\nimage_alt: A room",
        "![Again](<images/my photo.jpg>)\n",
    )
    build_site(project.config, NOW)
    files = project.files()
    assert "posts/a/my photo.jpg" in files
    page = files["posts/a/index.html"].decode()
    assert 'src="/posts/a/my%20photo.jpg"' in page and "my photo.jpg" not in page
    assert 'content="https://clinic.example/posts/a/my%20photo.jpg"' in page


def test_feed_and_sitemap_list_exactly_the_published_posts(project):
    for day in range(1, 6):
        project.post(f"p{day}.md", f"title: Post {day}\ndate: 2026-11-0{day}\ntags: [t{day % 2}]")
    project.post("later.md", "title: Later\ndate: 2027-01-01")
    project.post("draft.md", "title: Draft\ndate: 2026-01-01\ndraft: true")
    build_site(project.config, NOW)
    files = project.files()
    feed = feedparser.parse(files["feed.xml"])
    assert not feed.bozo, feed.bozo_exception
    assert [e.title for e in feed.entries] == [f"Post {d}" for d in range(5, 0, -1)]
    assert feed.entries[0].link == "https://clinic.example/posts/post-5/"
    sitemap = ElementTree.fromstring(files["sitemap.xml"])
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = {loc.text for loc in sitemap.findall("s:url/s:loc", ns)}
    pages = {
        "https://clinic.example/" + path.removesuffix("index.html")
        for path in files
        if path.endswith("index.html") and not path.endswith("page/1/index.html")  # redirects
    }
    assert urls == pages
    assert {f"https://clinic.example/posts/post-{d}/" for d in range(1, 6)} <= urls
    assert "https://clinic.example/page/3/" in urls  # 5 posts, 2 a page
    assert not any("later" in u or "draft" in u for u in urls)
    assert "Sitemap: https://clinic.example/sitemap.xml" in files["robots.txt"].decode()


def test_page_one_of_each_list_sends_to_the_list_and_is_made_once(make_project):
    """/page/1/ is the home page, as /tags/TAG/page/1/ is the tag's (Hugo's site had those
    addresses): each is a small page that sends there (and says so, with the link), kept
    out of search results and of the sitemap, and left as it is by every later build."""
    project = make_project(base=WEBSITE_ONLY.replace('.example"', '.example/blog"'))
    for day in range(1, 4):
        project.post(f"p{day}.md", f"title: Post {day}\ndate: 2026-11-0{day}\ntags: [Neck Pain]")
    build_site(project.config, NOW)
    files = project.files()
    for first, home in (("page/1/", ""), ("tags/neck-pain/page/1/", "tags/neck-pain/")):
        url = f"https://clinic.example/blog/{home}"
        page = BeautifulSoup(files[first + "index.html"], "html.parser")
        assert page.select_one('meta[http-equiv="refresh"]')["content"] == f"0; url={url}"
        assert page.select_one('link[rel="canonical"]')["href"] == url
        assert page.select_one('meta[name="robots"]')["content"] == "noindex"
        assert page.select_one("body a")["href"] == url
        assert f"{home}page/2/index.html" in files  # the list's own pages are as they were
    assert b"page/1/" not in files["sitemap.xml"]
    assert "tags/neck-pain/page/2/" in files["sitemap.xml"].decode()

    firsts = [project.output / p for p in ("page/1/index.html", "tags/neck-pain/page/1/index.html")]
    before = [os.stat(p) for p in firsts]
    assert build_site(project.config, NOW).stats.changed == 0  # nothing to do: nothing written
    project.post("p4.md", "title: Post 4\ndate: 2026-11-04\ntags: [Neck Pain]")
    assert build_site(project.config, NOW).stats.changed > 0
    for path, was in zip(firsts, before, strict=True):
        now = os.stat(path)
        assert (now.st_ino, now.st_mtime_ns) == (was.st_ino, was.st_mtime_ns), path


def test_pagination_links_every_post_once(project):
    for day in range(1, 6):
        project.post(f"p{day}.md", f"title: Post {day}\ndate: 2026-11-0{day}")
    build_site(project.config, NOW)
    files = project.files()
    seen = []
    for path in ("index.html", "page/2/index.html", "page/3/index.html"):
        soup = BeautifulSoup(files[path], "html.parser")
        seen += [a.get_text() for a in soup.select(".card h2 a")]
    assert seen == [f"Post {d}" for d in range(5, 0, -1)]


def test_failed_build_leaves_previous_site_untouched(project, tmp_path):
    project.post("a.md", "title: First\ndate: 2026-01-01\ntags: [x]")
    build_site(project.config, NOW)
    before = {p: (d, os.stat(project.output / p).st_mtime_ns) for p, d in project.files().items()}
    # A template broken half-way through the build (tag pages come after post pages).
    templates = tmp_path / "templates"
    import shutil

    from .conftest import REPO

    shutil.copytree(REPO / "templates", templates)
    (templates / "site" / "tag.html").write_text(
        "{% extends 'base.html' %}{% block main %}{{ missing_variable }}{% endblock %}"
    )
    project.post("b.md", "title: Second\ndate: 2026-01-02\ntags: [x]")
    text = project.config_path.read_text().replace(str(REPO / "templates"), templates.as_posix())
    project.config_path.write_text(text)
    with pytest.raises(TemplateError, match=r"site/tag\.html:1: 'missing_variable' is undefined"):
        build_site(project.config, NOW)
    after = {p: (d, os.stat(project.output / p).st_mtime_ns) for p, d in project.files().items()}
    assert after == before
    # Nothing half-written is left beside it (the cache, the previous site and the builds'
    # lock are kept on purpose).
    leftovers = {p.name for p in project.root.iterdir() if p.name.startswith(".")}
    assert leftovers <= {".cache", ".public.previous", ".public.lock"}


def test_unchanged_rebuild_rewrites_nothing(project):
    project.image("images/a.jpg")
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/a.jpg\nimage_alt: a")
    first = build_site(project.config, NOW)
    assert first.stats.changed == first.stats.files
    stamps = {p: os.stat(project.output / p).st_mtime_ns for p in project.files()}
    second = build_site(project.config, NOW)
    assert second.stats.changed == 0
    assert {p: os.stat(project.output / p).st_mtime_ns for p in project.files()} == stamps


def test_refuses_to_replace_a_folder_it_did_not_write(project):
    project.output.mkdir()
    (project.output / "precious.txt").write_text("keep me")
    from publisher.exceptions import PublisherError

    with pytest.raises(PublisherError, match="did not write") as refused:
        build_site(project.config, NOW)
    assert "([site] output in config.toml, or --output)" in str(refused.value)
    assert (project.output / "precious.txt").read_text() == "keep me"


def test_body_images_are_copied_and_sized(project):
    project.image("images/inline.png", (300, 200))
    project.post(
        "a.md", "title: A\ndate: 2026-01-01", "Look:\n\n![Inline alt](images/inline.png)\n"
    )
    assert build_site(project.config, NOW).ok
    soup = BeautifulSoup(project.files()["posts/a/index.html"], "html.parser")
    img = soup.select_one(".post-body img")
    assert (img["src"], img["alt"], img["width"], img["height"]) == (
        "/posts/a/inline.png",
        "Inline alt",
        "300",
        "200",
    )
    assert "posts/a/inline.png" in project.files()


def test_broken_post_is_skipped_and_others_build(project):
    project.post("good.md", "title: Good\ndate: 2026-01-01")
    project.post("bad.md", "title: Bad\ndate: 2026-02-30")
    project.post("badimg.md", "title: Bad image\ndate: 2026-01-01", "![x](images/nope.png)\n")
    result = build_site(project.config, NOW)
    assert result.published == 1
    assert [(p.path, p.line) for p in result.problems] == [
        ("posts/bad.md", 3),
        ("posts/badimg.md", 5),
    ]
    assert "posts/good/index.html" in project.files()


def test_a_broken_post_is_reported_again_on_every_build(project):
    """Its problem is kept in the build cache and shown again, build after build."""
    project.post("good.md", "title: Good\ndate: 2026-10-01")
    project.post("broken.md", "title: Broken\ndate: not a date")
    for _ in range(3):
        result = build_site(project.config, NOW)
        assert [(p.path, p.line) for p in result.problems] == [("posts/broken.md", 3)]
        assert "posts/good/index.html" in project.files()


def test_a_build_loads_only_what_it_uses(make_project):
    """A command's start is part of every cron pass and every preview: a build of posts with
    plain front matter does without PyYAML, markdown-it-py and the publishing code."""
    import subprocess
    import sys

    project = make_project(base=BASE_CONFIG)  # Instagram on: the build plans its images
    project.image("images/a.jpg")
    project.post(
        "one.md",
        "title: One\ndate: 2026-12-01 08:00\ntags: [a, b]\nimage: images/a.jpg\nimage_alt: A",
    )
    script = (
        "import sys\n"
        "from publisher.cli import main\n"
        "try:\n"
        "    main(['--config', sys.argv[1], 'build', '--now', '2026-12-01T09:00',\n"
        "      '--output', sys.argv[2]])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "names = ('yaml', 'markdown_it', 'publisher.publish', 'publisher.render.social')\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(project.config_path), str(project.output)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "posts/one/instagram.jpg" in project.files()  # the Instagram plan was made


def test_the_article_page_templates_are_compiled_first(project):
    """Before a build forks the workers that render articles, it compiles post.html and what
    it names (base.html, _cta.html), and leaves the lists' templates for later."""
    from publisher.render.site import SiteRenderer

    renderer = SiteRenderer(project.config, auto_reload=False)
    renderer.compile_page_templates()
    compiled = {name for _, name in renderer.env.cache.keys()}
    assert {"post.html", "base.html", "_cta.html"} <= compiled
    assert not compiled & {"index.html", "tag.html", "feed.xml", "_card.html"}


def test_a_pipe_named_like_a_post_is_reported_not_waited_on(project):
    project.post("a.md", "title: A\ndate: 2026-01-01")
    os.mkfifo(project.posts / "zz-pipe.md")
    result = build_site(project.config, NOW)
    assert [str(p) for p in result.problems] == [
        "posts/zz-pipe.md: is not a file of text: remove it from the posts folder"
    ]
    assert "posts/a/index.html" in project.files()


@pytest.mark.parametrize("where", ["hero", "text"])
@pytest.mark.parametrize("first", ["missing", "empty", "not a photo"])
def test_a_photo_put_right_is_used_without_editing_the_post(project, where, first):
    """The staff add (or export again) a photo a post names: the next build uses it, though
    the post's file did not change."""
    photo = project.posts / "images/shoulders.jpg"
    photo.parent.mkdir(parents=True)
    if first == "empty":
        photo.write_bytes(b"")
    elif first == "not a photo":
        photo.write_text("shoulders, from the camera\n")
    if where == "hero":
        front, body = "image: images/shoulders.jpg\nimage_alt: Shoulders", "Text.\n"
    else:
        front, body = "", "Text.\n\n![Shoulders](images/shoulders.jpg)\n"
    project.post("a.md", f"title: A\ndate: 2026-01-01\n{front}", body)
    result = build_site(project.config, NOW)
    assert [p.path for p in result.problems] == ["posts/a.md"]
    assert "posts/a/index.html" not in project.files()
    project.image("images/shoulders.jpg", (640, 480))
    result = build_site(project.config, NOW)
    assert result.problems == [] and result.published == 1
    files = project.files()
    assert 'width="640" height="480"' in files["posts/a/index.html"].decode()
    assert files["posts/a/shoulders.jpg"] == photo.read_bytes()


def test_images_in_the_text_are_found_as_written(project):
    """Markdown percent-encodes an address; a "#" in a file's name is not a fragment."""
    project.image("images/50%off.jpg", (300, 200))
    project.image("images/before#1.jpg", (200, 300))
    body = (
        "![Sale](images/50%off.jpg)\n\n![Sale](images/50%25off.jpg)\n\n"
        "![Before](<images/before#1.jpg>)\n\n![Before](images/before%231.jpg)\n"
    )
    project.post("a.md", "title: A\ndate: 2026-01-01", body)
    result = build_site(project.config, NOW)
    assert result.problems == []
    soup = BeautifulSoup(project.files()["posts/a/index.html"], "html.parser")
    assert [img["src"] for img in soup.select(".post-body img")] == [
        "/posts/a/50%25off.jpg",
        "/posts/a/50%25off.jpg",
        "/posts/a/before%231.jpg",
        "/posts/a/before%231.jpg",
    ]
    assert {"posts/a/50%off.jpg", "posts/a/before#1.jpg"} <= set(project.files())


def test_a_photo_named_with_accents_by_a_mac_is_found_as_typed(project):
    """A name copied from a Mac writes é as e and an accent (NFD); the post, typed, as one
    letter (NFC). They look the same, and Linux told them apart: 'not found'."""
    import unicodedata

    project.image(unicodedata.normalize("NFD", "images/épaule détendue.jpg"), (900, 600))
    project.image(unicodedata.normalize("NFD", "images/crème.jpg"), (200, 300))
    typed = unicodedata.normalize("NFC", "images/épaule détendue.jpg")
    project.post(
        "a.md",
        f"title: A\ndate: 2026-01-01\nimage: {typed}\nimage_alt: A shoulder",
        unicodedata.normalize("NFC", "![Cream](images/crème.jpg)\n"),
    )
    assert check_site(project.config, NOW) == []
    assert build_site(project.config, NOW).problems == []
    soup = BeautifulSoup(project.files()["posts/a/index.html"], "html.parser")
    hero, cream = soup.select_one(".hero img"), soup.select_one('img[alt="Cream"]')
    assert (hero["width"], cream["width"]) == ("900", "200")
    files = project.files()
    assert (
        files["posts/a/" + unquote(hero["src"].rsplit("/", 1)[1])]
        == (project.posts / unicodedata.normalize("NFD", "images/épaule détendue.jpg")).read_bytes()
    )


def test_the_website_never_gets_where_a_photo_was_taken(project):
    """A phone photo small enough to go as it is, a PNG, and a large one: none of the site's
    files says where it was taken; a photo that says nothing of it goes as it is."""
    from .test_images import located_jpeg

    (project.posts / "images").mkdir()
    (project.posts / "images/home.jpg").write_bytes(located_jpeg(6, (900, 600)))
    (project.posts / "images/big.jpg").write_bytes(located_jpeg(None, (2400, 1600)))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0)}
    Image.new("RGB", (700, 500), "#7a9").save(project.posts / "images/map.png", exif=exif.tobytes())
    project.image("images/plain.jpg", (800, 600))
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01\nimage: images/home.jpg\nimage_alt: A room",
        "![Big](images/big.jpg)\n\n![Map](images/map.png)\n\n![Plain](images/plain.jpg)\n",
    )
    assert build_site(project.config, NOW).problems == []
    files = project.files()
    for name in ("home.jpg", "big.jpg", "map.png"):
        with Image.open(io.BytesIO(files[f"posts/a/{name}"])) as image:
            assert 0x8825 not in image.getexif(), name
            assert b"GPSLatitude" not in files[f"posts/a/{name}"], name
    with Image.open(io.BytesIO(files["posts/a/home.jpg"])) as home:
        assert home.size == (900, 600) and home.getexif().get(0x0112) == 6
    hero = BeautifulSoup(files["posts/a/index.html"], "html.parser").select_one(".hero img")
    assert (hero["width"], hero["height"]) == ("600", "900")  # shown upright
    assert files["posts/a/plain.jpg"] == (project.posts / "images/plain.jpg").read_bytes()


def test_a_post_whose_text_shows_its_photo_shows_it_once(project):
    """A document's first photo made the post's photo (publisher new --from) is also in its
    text: the page and the feed show it there, not again above the text; the link preview,
    the cards and Instagram still use it."""
    project.image("images/jaw.jpg", (1600, 1200))
    project.image("images/other.jpg", (900, 600))
    front = "date: 2026-01-01\nimage: images/jaw.jpg\nimage_alt: A jaw"
    project.post("a.md", f"title: A\n{front}", "Intro.\n\n![Where it sits](images/jaw.jpg)\n")
    project.post("b.md", f"title: B\n{front}", "Intro.\n\n![Another](images/other.jpg)\n")
    assert build_site(project.config, NOW).problems == []
    files = project.files()
    for slug in ("a", "b"):
        page = BeautifulSoup(files[f"posts/{slug}/index.html"], "html.parser")
        assert len(page.select(f'img[src="/posts/{slug}/jaw.jpg"]')) == 1, slug
        assert page.select_one('meta[property="og:image"]')["content"].endswith("/jaw.jpg")
        assert (page.select_one(".hero") is None) == (slug == "a")
    feed = {e.link: e.content[0].value for e in feedparser.parse(files["feed.xml"]).entries}
    assert [html.count("/posts/a/jaw.jpg") for link, html in feed.items() if "/a/" in link] == [1]
    assert [html.count("/posts/b/jaw.jpg") for link, html in feed.items() if "/b/" in link] == [1]
    cards = BeautifulSoup(files["index.html"], "html.parser").select(".card img")
    assert sorted(img["src"] for img in cards) == ["/posts/a/jaw-800w.jpg", "/posts/b/jaw-800w.jpg"]


def test_a_missing_image_in_the_text_is_named_as_written_on_its_line(project):
    project.post("a.md", "title: A\ndate: 2026-01-01", "Intro.\n\n![Sale](images/50%off.jpg)\n")
    problems = [str(p) for p in build_site(project.config, NOW).problems]
    assert problems == [
        "posts/a.md:7: image 'images/50%off.jpg' in the text was not found (looked for "
        "posts/images/50%off.jpg): there is no folder 'images': check the file name and folder "
        "(from the post's file)"
    ]


def test_an_image_in_the_text_given_from_the_top_of_the_disk_is_refused(project):
    project.image("images/a.jpg")
    project.post("a.md", "title: A\ndate: 2026-01-01", f"![A]({project.posts / 'images/a.jpg'})\n")
    problems = [str(p) for p in build_site(project.config, NOW).problems]
    assert problems == [
        f"posts/a.md:5: image '{project.posts / 'images/a.jpg'}' in the text is a path from "
        "the top of the disk or the site: write it from the post's file, like "
        "images/photo.jpg (keep images in posts/images/)"
    ]
    assert "posts/a/index.html" not in project.files()


def test_a_large_photo_reaches_the_site_as_a_smaller_copy(project):
    """A phone photo (4032 px) would make the page slow: the site gets a 2,000 px copy, and
    the page says its size; the Instagram copy is still made from the photo itself."""
    project.image("images/phone.jpg", (4032, 3024))
    project.image("images/small.jpg", (800, 600))
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01\nimage: images/phone.jpg\nimage_alt: A room",
        "![Small](images/small.jpg)\n",
    )
    assert build_site(project.config, NOW).ok
    files = project.files()
    page = files["posts/a/index.html"].decode()
    assert 'src="/posts/a/phone.jpg" alt="A room" width="2000" height="1500"' in page
    assert '<meta property="og:image:width" content="2000">' in page
    copy = Image.open(project.output / "posts/a/phone.jpg")
    assert copy.size == (2000, 1500)
    assert files["posts/a/small.jpg"] == (project.posts / "images/small.jpg").read_bytes()
    # a second build reuses the copy: the site's file is the very same file
    before = os.stat(project.output / "posts/a/phone.jpg").st_ino
    project.post("b.md", "title: B\ndate: 2026-01-02")
    assert build_site(project.config, NOW).ok
    assert os.stat(project.output / "posts/a/phone.jpg").st_ino == before


def damaged_png(size: tuple[int, int]) -> bytes:
    """A PNG whose header and checksums are right and whose picture data is not."""
    import random
    import struct
    import zlib

    buffer = io.BytesIO()
    noise = random.Random(3).randbytes(size[0] * size[1] * 3)
    Image.frombytes("RGB", size, noise).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    at = data.index(b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    for n in range(at + 40, at + 4 + length, 97):  # scramble the compressed stream
        data[n] ^= 0x5A
    crc = zlib.crc32(bytes(data[at : at + 4 + length]))
    data[at + 4 + length : at + 8 + length] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("size", [(3000, 2000), (600, 400)], ids=["web copy", "as it is"])
def test_a_photo_damaged_inside_is_a_problem_not_a_crash(make_project, size):
    """Its header reads well; only decoding it (for the website's copy or the Instagram
    image) finds the damage: the build says so at the photo's line and goes on."""
    project = make_project(base=BASE_CONFIG)
    (project.posts / "images").mkdir()
    (project.posts / "images/hero.png").write_bytes(damaged_png(size))
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/hero.png\nimage_alt: A room")
    project.post("b.md", "title: B\ndate: 2026-01-02")
    result = build_site(project.config, NOW, instagram={"a"})
    assert [str(p) for p in result.problems] == [
        "posts/a.md:4: image 'images/hero.png' is damaged inside (its picture cannot be read "
        "whole): export it again as a JPEG, or copy it again"
    ]
    assert "posts/b/index.html" in project.files()
    project.image("images/hero.png", size)  # exported again
    result = build_site(project.config, NOW, instagram={"a"})
    assert result.problems == [] and "posts/a/instagram.jpg" in project.files()


def test_a_build_says_which_pages_it_took_off_even_after_the_cache_was_deleted(project):
    import shutil

    project.post("stays.md", "title: Stays\ndate: 2026-01-01")
    gone = project.post("goes.md", "title: Goes\ndate: 2026-01-02")
    assert build_site(project.config, NOW).removed == []
    shutil.rmtree(project.config.cache_dir)
    gone.unlink()
    assert build_site(project.config, NOW).removed == ["posts/goes/"]


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("412-932-5535", "tel:+14129325535"),
        ("+1 (412) 932-5535 ext. 7", "tel:+14129325535;ext=7"),
        ("412-932-5535 ext 12", "tel:+14129325535;ext=12"),
        ("(412) 932-5535 x7", "tel:+14129325535;ext=7"),
        ("412.932.5535, Extension 7", "tel:+14129325535;ext=7"),
        ("+44 20 7946 0958", "tel:+442079460958"),
        ("", ""),
    ],
)
def test_a_phone_extension_is_dialled_after_the_number_not_glued_to_it(phone, uri):
    from publisher.config import Business

    assert Business(phone=phone).phone_uri == uri


def test_a_summary_written_with_markdown_marks_shows_as_plain_text_everywhere(project):
    project.image("images/a.jpg")
    project.post(
        "a.md",
        "title: A\ndate: 2026-11-01\nimage: images/a.jpg\nimage_alt: A calm <room>\n"
        'summary: "Learn *why* it hurts & what **helps**: see [our prices](https://x.example)"',
        "Some text.\n",
    )
    build_site(project.config, NOW)
    files = project.files()
    plain = "Learn why it hurts & what helps: see our prices"
    page = BeautifulSoup(files["posts/a/index.html"], "html.parser")
    assert page.find("meta", attrs={"name": "description"})["content"] == plain
    assert page.find("meta", attrs={"property": "og:description"})["content"] == plain
    home = BeautifulSoup(files["index.html"], "html.parser")
    assert home.select_one(".card-body p:not(.meta)").get_text() == plain
    (entry,) = feedparser.parse(files["feed.xml"]).entries
    assert entry.summary == plain
    # the feed shows the article's photo above its text, as the page does
    content = _feed_contents(files["feed.xml"])[0]
    assert content.startswith(
        '<p><img src="https://clinic.example/posts/a/a.jpg" alt="A calm &lt;room&gt;" '
        'width="800" height="500"></p>\n<p>Some text.</p>'
    )


def test_the_first_card_of_a_list_loads_its_photo_at_once(project):
    project.image("images/a.jpg")
    for day in (1, 2, 3):
        project.post(
            f"p{day}.md",
            f"title: P{day}\ndate: 2026-11-0{day}\nimage: images/a.jpg\nimage_alt: A room\n"
            "tags: [neck]",
        )
    build_site(project.config, NOW)
    files = project.files()
    for path in ("index.html", "page/2/index.html", "tags/neck/index.html"):
        images = BeautifulSoup(files[path], "html.parser").select(".card img")
        # on screen as the page opens: not lazy, or the page's largest picture waits
        assert images[0].get("loading") is None, path
        # the title's link names the card; the photo's own link is not read out again
        links = BeautifulSoup(files[path], "html.parser").select("a.card-image")
        assert {(a.get("aria-hidden"), a.get("tabindex")) for a in links} == {("true", "-1")}
        assert [img.get("loading") for img in images[1:]] == ["lazy"] * (len(images) - 1)


PHOTOS = Path(__file__).parent / "photos"  # iPhone-like HEIC photos (photos/make_heic.py)


def test_an_iphone_heic_photo_is_on_the_site_and_instagram_as_a_jpeg(make_project):
    """An iPhone saves its photos as HEIC, which only Safari shows (and Instagram refuses):
    the page, the cards, the link preview and the Instagram copy get a JPEG of it, upright,
    under the photo's name with .jpg; no HEIC file goes to the site. `check` is content."""
    project = make_project(base=BASE_CONFIG)
    (project.posts / "images").mkdir()
    (project.posts / "images/IMG_4021.HEIC").write_bytes((PHOTOS / "upright.heic").read_bytes())
    (project.posts / "images/IMG_4022.heic").write_bytes((PHOTOS / "landscape.heic").read_bytes())
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01\nimage: images/IMG_4021.HEIC\nimage_alt: Hands at work",
        "Before.\n\n![The room](images/IMG_4022.heic)\n",
    )
    assert check_site(project.config, NOW) == []
    result = build_site(project.config, NOW, instagram={"a"})
    assert result.problems == []
    files = project.files()
    assert not [name for name in files if name.lower().endswith(".heic")]
    shown = {name: Image.open(io.BytesIO(files[name])) for name in files if ".jpg" in name}
    assert {name: (image.format, image.size) for name, image in shown.items()} == {
        "posts/a/IMG_4021.jpg": ("JPEG", (1200, 1600)),
        "posts/a/IMG_4022.jpg": ("JPEG", (2000, 1333)),
        "posts/a/IMG_4021-800w.jpg": ("JPEG", (800, 1067)),  # the cards' copy
        "posts/a/instagram.jpg": ("JPEG", (1080, 1350)),
    }
    upright = shown["posts/a/IMG_4021.jpg"].convert("RGB")
    assert upright.getpixel((600, 100))[0] > 150 and upright.getpixel((600, 1500))[2] > 150
    page = BeautifulSoup(files["posts/a/index.html"], "html.parser")
    hero = page.select_one(".hero img")
    assert (hero["src"], hero["width"], hero["height"]) == ("/posts/a/IMG_4021.jpg", "1200", "1600")
    assert page.select_one('meta[property="og:image"]')["content"].endswith("/posts/a/IMG_4021.jpg")
    body = page.select_one('img[alt="The room"]')
    assert (body["src"], body["width"]) == ("/posts/a/IMG_4022.jpg", "2000")


def test_an_heic_photo_that_cannot_be_read_whole_is_a_problem_at_its_line(make_project):
    project = make_project(base=BASE_CONFIG)
    (project.posts / "images").mkdir()
    data = (PHOTOS / "upright.heic").read_bytes()
    (project.posts / "images/IMG_4021.HEIC").write_bytes(data[: len(data) // 2])
    project.post("a.md", "title: A\ndate: 2026-01-01\nimage: images/IMG_4021.HEIC\nimage_alt: A")
    expected = [
        "posts/a.md:4: image 'images/IMG_4021.HEIC' is cut short (the file ends before the end "
        "of the picture): copy it again, or export it again as a JPEG"
    ]
    assert [str(p) for p in check_site(project.config, NOW)] == expected
    assert [str(p) for p in build_site(project.config, NOW).problems] == expected


def test_a_wide_photo_gets_a_copy_for_the_cards_and_a_srcset_on_its_page(project):
    """A phone's photo went to every card as its 2,000 px website copy (about 700 KB, shown
    some 350 px wide): cards get an 800 px copy, made once; the page offers both."""
    project.image("images/wide.jpg", (4032, 3024))
    project.image("images/small.jpg", (900, 600))  # narrow enough as it is
    project.post("w.md", "title: W\ndate: 2026-11-02\nimage: images/wide.jpg\nimage_alt: A room")
    project.post("s.md", "title: S\ndate: 2026-11-01\nimage: images/small.jpg\nimage_alt: A desk")
    build_site(project.config, NOW)
    files = project.files()
    with Image.open(io.BytesIO(files["posts/w/wide-800w.jpg"])) as small:
        assert small.size == (800, 600)
    cards = {
        img["alt"]: (img["src"], img["width"], img["height"])
        for img in BeautifulSoup(files["index.html"], "html.parser").select(".card img")
    }
    assert cards == {
        "A room": ("/posts/w/wide-800w.jpg", "800", "600"),
        "A desk": ("/posts/s/small.jpg", "900", "600"),
    }
    hero = BeautifulSoup(files["posts/w/index.html"], "html.parser").select_one(".hero img")
    assert hero["src"] == "/posts/w/wide.jpg" and hero["width"] == "2000"
    assert hero["srcset"] == "/posts/w/wide-800w.jpg 800w, /posts/w/wide.jpg 2000w"
    assert (
        "srcset"
        not in BeautifulSoup(files["posts/s/index.html"], "html.parser")
        .select_one(".hero img")
        .attrs
    )
    assert "posts/s/small-800w.jpg" not in files
    # the copies are kept: a build after an edit elsewhere makes none again
    cached = sorted(project.config.cache_dir.joinpath("web").iterdir())
    project.post("s.md", "title: S again\ndate: 2026-11-01\nimage: images/small.jpg\nimage_alt: A")
    build_site(project.config, NOW)
    assert sorted(project.config.cache_dir.joinpath("web").iterdir()) == cached


def _jsonld_article(page: bytes) -> dict:
    soup = BeautifulSoup(page, "html.parser")
    blocks = [json.loads(s.string) for s in soup.select('script[type="application/ld+json"]')]
    return next(b for b in blocks if b.get("@type") == "BlogPosting")


def test_an_article_updated_after_it_went_live_says_so_to_readers_and_search_engines(project):
    project.post("a.md", "title: A\ndate: 2026-11-01 09:00\nupdated: 2026-11-20 14:30")
    project.post("b.md", "title: B\ndate: 2026-11-02 09:00")
    build_site(project.config, NOW)
    files = project.files()
    a, b = files["posts/a/index.html"], files["posts/b/index.html"]
    assert _jsonld_article(a)["dateModified"] == "2026-11-20T14:30:00-05:00"
    assert _jsonld_article(b)["dateModified"] == _jsonld_article(b)["datePublished"]
    shown = BeautifulSoup(a, "html.parser").select_one(".post-meta .updated time")
    assert shown["datetime"] == "2026-11-20T14:30:00-05:00" and shown.text == "Nov 20, 2026"
    assert b'article:modified_time" content="2026-11-20T14:30:00-05:00"' in a
    assert b"Updated" not in BeautifulSoup(b, "html.parser").select_one(".post-meta").encode()
    feed = feedparser.parse(files["feed.xml"])
    by_title = {e.title: e for e in feed.entries}
    assert by_title["A"].updated == "2026-11-20T14:30:00-05:00"
    assert by_title["A"].published == "2026-11-01T09:00:00-05:00"
    assert feed.feed.updated == "2026-11-20T14:30:00-05:00"  # the newest change, not post
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    lastmod = {
        url.find("s:loc", ns).text: url.find("s:lastmod", ns).text
        for url in ElementTree.fromstring(files["sitemap.xml"]).findall("s:url", ns)
        if url.find("s:lastmod", ns) is not None
    }
    assert lastmod["https://clinic.example/posts/a/"] == "2026-11-20T14:30:00-05:00"
    assert lastmod["https://clinic.example/posts/b/"] == "2026-11-02T09:00:00-05:00"


def test_an_update_date_that_cannot_be_is_named_on_its_line(project):
    project.post("before.md", "title: Before\ndate: 2026-11-10\nupdated: 2026-11-01")
    project.post("wrong.md", "title: Wrong\ndate: 2026-11-10\nupdated: last tuesday")
    project.post("other.md", "title: Other\ndate: 2026-11-10\nlastmod: 2026-11-12")
    problems = {str(p).split(":")[0]: str(p) for p in check_site(project.config, NOW)}
    assert problems["posts/before.md"].startswith(
        "posts/before.md:4: updated: 2026-11-01 is before the article's date"
    )
    assert problems["posts/wrong.md"].startswith("posts/wrong.md:4: updated: 'last tuesday'")
    assert "updated: 2026-12-05" in problems["posts/other.md"]


def test_the_title_is_the_pages_one_top_heading(make_project):
    """A text pasted with its title as a first heading (# Title) does not show it twice, and
    a text whose sections are # headings keeps its outline one level below the title."""
    project = make_project(base=BASE_CONFIG)
    project.image("images/a.jpg")
    photo = "image: images/a.jpg\nimage_alt: A stretch"
    project.post(
        "a.md",
        f"title: Why Your Hips Hurt\ndate: 2026-11-01\n{photo}",
        "# Why your hips *hurt*\n\nSitting all day.\n\n# The muscles\n\nPsoas.\n\n"
        "## Deeper\n\nIliacus.\n\n```\n# not a heading\n```\n\n![broken](images/none.jpg)\n",
    )
    project.post("b.md", f"title: B\ndate: 2026-11-02\n{photo}", "# Another title\n\nText.\n")
    build_site(project.config, NOW)
    assert "posts/why-your-hips-hurt/index.html" not in project.files()  # the image, below
    assert "posts/b/index.html" in project.files()
    problems = [str(p) for p in check_site(project.config, NOW)]
    assert problems == ["posts/a.md:23: image 'images/none.jpg' in the text was not found"
                        " (looked for posts/images/none.jpg): check the file name and folder"
                        " (from the post's file)"]  # fmt: skip
    (project.posts / "a.md").write_text(
        (project.posts / "a.md").read_text().replace("\n![broken](images/none.jpg)\n", "")
    )
    build_site(project.config, NOW)
    files = project.files()
    page = BeautifulSoup(files["posts/why-your-hips-hurt/index.html"], "html.parser")
    assert [h.get_text() for h in page.select("h1")] == ["Why Your Hips Hurt"]
    body = page.select_one(".post-body")
    assert [(h.name, h.get_text()) for h in body.select("h2, h3, h4")] == [
        ("h2", "The muscles"),
        ("h3", "Deeper"),
    ]
    assert body.select_one("p").get_text() == "Sitting all day."
    assert "# not a heading" in body.select_one("pre").get_text()
    other = BeautifulSoup(files["posts/b/index.html"], "html.parser")
    assert [h.get_text() for h in other.select("h1")] == ["B"]  # not the title: kept, as h2
    assert other.select_one(".post-body h2").get_text() == "Another title"
    feed = _feed_contents(files["feed.xml"])
    assert not any("<h1" in html for html in feed)
    from publisher.preview import preview_posts

    caption = {p.post.slug: p.instagram.caption for p in preview_posts(project.config)}
    assert caption["why-your-hips-hurt"].lower().count("why your hips") == 1


def test_a_first_heading_is_left_out_only_when_it_repeats_the_title(project):
    """A title of emoji or signs alone has no words to compare: a first heading of other
    signs is the text's own and stays; the same signs are the title pasted again."""
    project.post("a.md", "title: 🌿🌿\nslug: leaves\ndate: 2026-11-01", "# 🌸\n\nText.\n")
    project.post("b.md", "title: '???'\nslug: asks\ndate: 2026-11-02", "# !!!\n\nText.\n")
    project.post("c.md", "title: 🌿 🌿\nslug: again\ndate: 2026-11-03", "# 🌿🌿\n\nText.\n")
    build_site(project.config, NOW)
    files = project.files()

    def headings(slug: str) -> list[tuple[str, str]]:
        page = BeautifulSoup(files[f"posts/{slug}/index.html"], "html.parser")
        return [(h.name, h.get_text()) for h in page.select("h1, h2")]

    assert headings("leaves") == [("h1", "🌿🌿"), ("h2", "🌸")]
    assert headings("asks") == [("h1", "???"), ("h2", "!!!")]
    assert headings("again") == [("h1", "🌿 🌿")]


def test_a_first_heading_one_vowel_sign_or_virama_apart_from_the_title_stays(project):
    """In Tamil or Hindi a vowel sign or a virama makes another word (மசாஜ் is massage,
    மசாஜ is not a word): a first heading that differs from the title so is the text's own;
    the title pasted again, or with other capitals and accents, is left out."""
    project.post("a.md", "title: மசாஜ்\nslug: ta\ndate: 2026-11-01", "# மசாஜ\n\nText.\n")
    project.post("b.md", "title: मालिश\nslug: hi\ndate: 2026-11-02", "# मलश\n\nText.\n")
    project.post("c.md", "title: मालिश\nslug: again\ndate: 2026-11-03", "# मालिश\n\nText.\n")
    project.post(
        "d.md", "title: Café Knots\nslug: cafe\ndate: 2026-11-04", "# CAFE KNOTS\n\nText.\n"
    )
    build_site(project.config, NOW)
    files = project.files()

    def headings(slug: str) -> list[str]:
        page = BeautifulSoup(files[f"posts/{slug}/index.html"], "html.parser")
        return [h.get_text() for h in page.select("h1, h2")]

    assert headings("ta") == ["மசாஜ்", "மசாஜ"]
    assert headings("hi") == ["मालिश", "मलश"]
    assert headings("again") == ["मालिश"]
    assert headings("cafe") == ["Café Knots"]


def test_a_first_line_indented_by_a_tab_is_code_not_the_title(project):
    """A tab before '# Title' makes it an indented code block, not a heading: it stays."""
    project.post("a.md", "title: Run this\ndate: 2026-11-01", "\t# Run this\n\nText.\n")
    build_site(project.config, NOW)
    page = BeautifulSoup(project.files()["posts/run-this/index.html"], "html.parser")
    assert page.select_one(".post-body pre code").get_text() == "# Run this\n"


def test_an_update_at_the_articles_own_time_is_no_update(project):
    """`updated:` equal to `date:` (copied from the line above) changed nothing after the
    article went live: the page does not say 'Updated' beside its own date."""
    project.post("a.md", "title: A\ndate: 2026-11-01 09:00\nupdated: 2026-11-01 09:00")
    build_site(project.config, NOW)
    page = project.files()["posts/a/index.html"]
    assert BeautifulSoup(page, "html.parser").select_one(".post-meta .updated") is None
    assert b"article:modified_time" not in page
    assert _jsonld_article(page)["dateModified"] == "2026-11-01T09:00:00-05:00"


def test_an_update_the_same_day_without_its_time_says_why_it_is_before(project):
    """`updated: 2026-11-10` on an article of 2026-11-10 09:00 is midnight, before it: the
    message shows the article's time and says to write the update's."""
    project.post("a.md", "title: A\ndate: 2026-11-10 09:00\nupdated: 2026-11-10")
    (problem,) = [str(p) for p in check_site(project.config, NOW)]
    assert problem.startswith(
        "posts/a.md:4: updated: 2026-11-10 is before the article's date (2026-11-10 09:00)"
    )
    assert "a date alone is midnight: add the time" in problem


def test_the_skip_links_target_is_the_only_element_with_its_id(project):
    """A heading's id is made from its words: 'Content' or 'Main content' must not give a
    second element the id the skip link jumps to (the link to that heading would land on
    the top of the page instead)."""
    project.post(
        "a.md", "title: A\ndate: 2026-11-01", "Intro.\n\n## Content\n\n## Main content\n\nText.\n"
    )
    build_site(project.config, NOW)
    page = BeautifulSoup(project.files()["posts/a/index.html"], "html.parser")
    ids = [tag["id"] for tag in page.select("[id]")]
    assert len(ids) == len(set(ids)), ids
    target = page.select_one("a.skip-link")["href"].removeprefix("#")
    assert [tag.name for tag in page.select(f"[id='{target}']")] == ["main"]


def test_the_tests_never_use_the_live_projects_site_deploy_ledger_or_page(tmp_path):
    """`make test` runs as root in the live project on the clinic's server: the tests that
    take the repository's config.toml ran its deploy command (rsync --delete of a test site
    over the real one, as root, so the service's next deploy failed) and had its Page ids.
    They take it without what names anything outside their own folder, however it is
    written (a quoted key, a command on several lines)."""
    from publisher.config import parse_config

    from .conftest import REPO, shipped_config_text

    live = (
        '[site]\ntitle = "Kneaded Tranquility"\nbase_url = "https://www.kneadedtranquility.com"\n'
        'output = "/var/www/clinic-build"\ncache = "/var/cache/publisher"\n'
        '"deploy_command" = """\nrsync -a --delete public/ /var/www/clinic/\n"""\n'
        "verify_live = true  # the real site\n\n"
        '[business]\nname = "Kneaded Tranquility"\nphone = "412-932-5535"\n\n'
        '[facebook]\npage_id = "1234567890"\nslots = ["Tue 12:00", "Thu 18:30"]\n\n'
        '[instagram]\naccount_id = "17841400000000000"\nhashtags = ["massage"]\n\n'
        '[publish]\nledger = "/var/lib/publisher/publisher.db"\nmax_attempts = 5\n\n'
        '[graph]\nurl = "https://graph.facebook.com"\nsecrets_file = "/etc/publisher/s"\n'
    )
    server = parse_config(live, tmp_path)  # what the server's says
    assert server.site.deploy_command.strip() and server.facebook.page_id == "1234567890"
    config = parse_config(shipped_config_text(live), tmp_path)
    assert config.site.deploy_command == "" and not config.site.verify_live
    assert config.site.base_url == "http://127.0.0.1:8000"
    for folder in (config.output_dir, config.cache_dir, config.ledger_path, config.posts_dir):
        assert tmp_path in folder.parents, folder
    assert config.facebook.page_id == config.instagram.account_id == ""
    assert config.graph.url == config.graph.secrets_file == ""
    # the rest stays as the clinic wrote it
    assert config.business.phone == "412-932-5535" and config.publish.max_attempts == 5
    assert config.facebook.slots == ("Tue 12:00", "Thu 18:30")
    assert config.instagram.hashtags == ("massage",)
    # and the repository's own reads, whatever it holds
    parse_config(shipped_config_text(), tmp_path)
    assert (REPO / "config.toml").is_file()


def test_what_the_staff_commands_leave_in_a_checkout_is_ignored_by_git(tmp_path):
    """`make run`, `serve --now` and `preview --html` in the project's git checkout: every
    file they write (the site, the cache, the ledger, the previews and their locks) is in
    .gitignore, so `git status` shows only the posts and `git add -A` adds nothing else."""
    import shutil
    import subprocess
    import sys

    from .conftest import REPO, seed_posts, shipped_config_text

    checkout = tmp_path / "clinic"
    checkout.mkdir()
    shutil.copy(REPO / ".gitignore", checkout / ".gitignore")
    # (never the live project's deploy, site, ledger or Page: make test runs on the server)
    (checkout / "config.toml").write_text(shipped_config_text())
    shutil.copytree(REPO / "templates", checkout / "templates")
    seed_posts(checkout)

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(args, cwd=checkout, capture_output=True, text=True, timeout=300)
        assert done.returncode in ok, done.stderr
        return done

    run("git", "init", "-q")
    run("git", "add", "-A")
    publisher = (sys.executable, "-m", "publisher")
    run(*publisher, "build")
    run(*publisher, "build", "--now", "2026-12-02T09:00")
    run(*publisher, "preview", "--html")
    run(*publisher, "publish", "--due", ok=(0, 1))  # 1: the seed's social posts are missed
    status = run("git", "status", "--porcelain", "--untracked-files=all").stdout
    assert [line for line in status.splitlines() if not line.startswith("A ")] == []
