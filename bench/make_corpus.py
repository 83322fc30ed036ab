#!/usr/bin/env python3
"""Write a deterministic corpus of blog articles for benchmarks and scale tests.

Each article is about the size and shape of a real clinic blog post (~500 words:
headings, paragraphs, bullet and numbered lists, links, emphasis, one image).

    make_corpus.py OUT_DIR --posts 1000                 # publisher format (YAML front matter)
    make_corpus.py OUT_DIR --posts 1000 --format pelican
    make_corpus.py OUT_DIR --posts 1000 --format hugo   # content/posts/ of a Hugo site

Same --seed and --posts give byte-identical texts in every format, so the
tools read the same words. In the publisher format each article also has its
image (a small real JPEG) under images/. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import random
from pathlib import Path

# A real 160x120 JPEG; every article's image is a hard link to one copy of it.
PHOTO_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEEx"
    "NDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7"
    "Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAB4AKADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
    "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
    "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwC1ijFOxRilc5BuKMU7FGKLgNxRinYoxRcB"
    "uKMU7FGKLgNxRinYoxRcBuKMU7FGKLgNxRinYoxRcBuKMU7FGKLgNxRinYoxRcBuKMU7FGKLgPxRinYoxUXKG4oxTsUYouA3"
    "FGKdijFFwG4oxTsUYouA3FGKcFLMFUEknAA71ZTTbyRcrAwGcfNhf50NpDUW9ipijFXH0y8RSxgJA9CCfyFVnjaNirqVYdQR"
    "g0KSYOLW6GYoxTsUYouIbijFOxRii4DcUYp2KMUXAbijFOxRii4DsUYp2KMVNxjcUYp2KMUXAbijFOxRii4DcVasbF7uTJys"
    "a/eb+gpLS2a6uBGOnVjnoK6CONIkCIoVV6AVEp22N6NLm1ewyC1htlAjQAgY3Y5P1NS0UVgdySWiCmSwRTriWNX7DI6U+igG"
    "rmDf6a1r+8jJaL1PVT71SxXVkBgQQCDwQe9YOoWn2Wf5R+7flec/UVtCd9GcValy+8tilijFOxRitLnONxRinYoxRcBuKMU7"
    "FGKLgPxRinYoxU3KG4oxTsUYouA3FGKdijFFwNTSIQsLykHcxwCR29v89q0Krad/x4x/j/M1ZrCW56FNWggooopGgUUUUAFV"
    "NThEloWwSycjA/P/AD7VbqO5/wCPWX/cb+VNbkTV4tHO4oxTsUYre55w3FGKdijFFwG4oxTsUYouA7FGKdijFRcY3FGKdijF"
    "FwG4oxTsUYouBqaXJutyhOSjdPQH/Jq5WNaTfZ5wxHyng+wrZBBAIOQehFZvc7aMrxsFFFFI2CiiigAqvfyeXaPg4LfKP8/T"
    "NWKyb+cTShVwVToR3prcyqy5YlPFGKdijFaXOEbijFOxRii4DcUYp2KMUXAdijFPxRipuMZijFPxRii4DMUYp+KMUXAZirVp"
    "dmA7H5jP/jtQYoxSKi3F3RtI6uoZTkHoaWsVHaNtyMVPtVhb+dRg7W9yP8KVjpVZdTSoJABJOAO9ZrX8xGAFX3AqCSR5Tl2L"
    "UWB1l0LF3eeYPLiJ2nq3r7VSxT8UYpnNKTk7sZijFPxRinckZijFPxRii4DMUYp+KMUXAdijFOxRiouVYbijFOxRii4WG4ox"
    "TsUYouFhuKMU7FGKLhYbijFOxRii4WG4oxTsUYouFhuKMU7FGKLhYbijFOxRii4WG4oxTsUYouFhuKMU7FGKLhYdijFFFSMM"
    "UYoooAMUYoooAMUYoooAMUYoooAMUYoooAMUYoooAMUYoooAMUYoooAMUYoooA//2Q=="
)

TOPICS = [
    "psoas",
    "hamstrings",
    "neck tension",
    "shoulder blades",
    "sciatica",
    "plantar fascia",
    "jaw clenching",
    "desk posture",
    "hip flexors",
    "lower back",
    "calf cramps",
    "tension headaches",
    "rotator cuff",
    "piriformis",
    "deep breathing",
    "sleep quality",
    "runner's knee",
]
WORDS = (
    "muscle tissue fascia relief posture spine pelvis hip knee shoulder neck "
    "stretch breathe release tension pressure session therapist client body "
    "movement balance strength flexibility recovery circulation stress calm "
    "gentle deep slow steady daily weekly habit desk chair walk rest sleep "
    "water warm cool pain ache tight loose long short front back side core "
    "glutes hamstrings calves arms hands feet jaw breath mind focus routine"
).split()
TAGS = [
    "back pain",
    "massage therapy",
    "stretching",
    "posture",
    "stress",
    "sports massage",
    "wellness",
    "self care",
    "deep tissue",
    "recovery",
]
HASHTAGS = [
    "massagetherapy",
    "backpain",
    "pittsburgh",
    "selfcare",
    "wellness",
    "posture",
    "deeptissue",
    "stretching",
    "recovery",
    "massage",
]


def sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.25:
        i = rng.randrange(len(words))
        words[i] = f"**{words[i]}**"
    if rng.random() < 0.15:
        i = rng.randrange(len(words))
        words[i] = f"[{words[i]}](https://example.org/{words[i].strip('*')})"
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def phrase(rng: random.Random, low: int, high: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def body(rng: random.Random, topic: str, image: str) -> str:
    parts = [paragraph(rng), f"![A client stretching the {topic}]({image})", paragraph(rng)]
    for section in range(rng.randint(3, 4)):
        parts.append(f"## {phrase(rng, 3, 6)}")
        parts.append(paragraph(rng))
        if section % 2 == 0:
            parts.append("\n".join(f"- {sentence(rng, 4, 9)}" for _ in range(rng.randint(3, 4))))
        else:
            parts.append(
                "\n".join(f"{n}. {sentence(rng, 4, 9)}" for n in range(1, rng.randint(3, 5)))
            )
        parts.append(paragraph(rng))
    return "\n\n".join(parts) + "\n"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def article(rng: random.Random, n: int, start: dt.datetime):
    topic = rng.choice(TOPICS)
    title = f"{topic.title()}: {phrase(rng, 3, 7)} ({n})"
    slug = f"post-{n:05d}"
    when = start + dt.timedelta(hours=6 * n)  # 10,000 articles end in 2024: all in the past
    tags = rng.sample(TAGS, 3)
    return title, slug, when, tags, rng.sample(HASHTAGS, 4), body(rng, topic, f"images/{slug}.jpg")


def write_publisher(path: Path, a, date_format: str = "%Y-%m-%dT%H:%M") -> None:
    title, slug, when, tags, hashtags, text = a
    fm = [
        "---",
        f"title: {quote(title)}",
        f"slug: {slug}",
        f"date: {when:{date_format}}",
        "author: Aaron Cygnarowicz",
        f"image: images/{slug}.jpg",
        f"image_alt: {quote('A client stretching during a session')}",
        "tags: [" + ", ".join(tags) + "]",
        "instagram:",
        "  hashtags: [" + ", ".join(hashtags) + "]",
        "---",
    ]
    path.write_text("\n".join(fm) + "\n\n" + text, encoding="utf-8")


def write_hugo(path: Path, a) -> None:
    # Hugo refuses a date without seconds ("not a parsable date"), renders 0001-01-01 and exits 1.
    write_publisher(path, a, date_format="%Y-%m-%dT%H:%M:%S")


def write_pelican(path: Path, a) -> None:
    title, slug, when, tags, _hashtags, text = a
    meta = [
        f"Title: {title}",
        f"Date: {when:%Y-%m-%d %H:%M}",
        f"Slug: {slug}",
        "Author: Aaron Cygnarowicz",
        "Category: Blog",
        "Tags: " + ", ".join(tags),
    ]
    path.write_text("\n".join(meta) + "\n\n" + text, encoding="utf-8")


HUGO_LAYOUT = {
    "_default/baseof.html": "<!doctype html><html><head><title>{{ .Title }}</title></head>"
    '<body>{{ block "main" . }}{{ end }}</body></html>\n',
    "_default/single.html": '{{ define "main" }}<article><h1>{{ .Title }}</h1>'
    '<time>{{ .Date.Format "2006-01-02" }}</time>{{ .Content }}</article>{{ end }}\n',
    "_default/list.html": '{{ define "main" }}{{ range .Paginator.Pages }}<h2><a href="{{ .RelPermalink }}">'
    "{{ .Title }}</a></h2><p>{{ .Summary }}</p>{{ end }}{{ end }}\n",
}


def write_hugo_site(root: Path) -> None:
    """A minimal Hugo site around content/posts: post pages, paginated lists, tag pages, RSS, sitemap."""
    (root / "hugo.toml").write_text(
        'baseURL = "https://example.org/"\ntitle = "Bench"\n'
        '[pagination]\npagerSize = 10\n[taxonomies]\ntag = "tags"\n',
        encoding="utf-8",
    )
    for name, text in HUGO_LAYOUT.items():
        path = root / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path)
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", choices=["publisher", "pelican", "hugo"], default="publisher")
    ap.add_argument("--start", default="2018-01-01T09:00", help="date of the first article")
    args = ap.parse_args()

    start = dt.datetime.fromisoformat(args.start)
    out = args.out / "content" / "posts" if args.format == "hugo" else args.out
    out.mkdir(parents=True, exist_ok=True)
    writer = {"pelican": write_pelican, "hugo": write_hugo}.get(args.format, write_publisher)
    photo = None
    if args.format == "publisher":
        (out / "images").mkdir(exist_ok=True)
        photo = out / "images" / ".photo.jpg"
        photo.write_bytes(PHOTO_JPEG)
    rng = random.Random(args.seed)
    for n in range(args.posts):
        a = article(rng, n, start)
        writer(out / f"{a[2]:%Y-%m-%d}-{a[1]}.md", a)
        if photo:
            link = out / "images" / f"{a[1]}.jpg"
            link.unlink(missing_ok=True)
            os.link(photo, link)
    if photo:
        photo.unlink()
    if args.format == "hugo":
        write_hugo_site(args.out)
    print(f"wrote {args.posts} {args.format} articles to {out}")


if __name__ == "__main__":
    main()
