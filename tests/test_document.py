"""`publisher new --from FILE.md`: an article written in Google Docs (File > Download >
Markdown) made into a post, its photos saved as files; and check's warnings of photos
written into a post's text."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup
from PIL import Image

from publisher.build import build_site

from .conftest import BASE_CONFIG
from .test_check import problems, run

RED, BLUE, GREEN = (200, 30, 30), (30, 30, 200), (30, 160, 60)


def encoded(colour: tuple[int, int, int], size: tuple[int, int], image_format: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, image_format)
    return base64.b64encode(buffer.getvalue()).decode()


def google_docs_download(folder: Path) -> Path:
    """A document as Google Docs downloads it as Markdown: the title as a bold first heading,
    escaped punctuation, photos as references whose definitions, at the end, hold each photo
    as a data address; and one photo in place, its data wrapped over lines."""
    red, blue = encoded(RED, (1200, 800), "PNG"), encoded(BLUE, (900, 1200), "JPEG")
    wrapped = "\n".join(blue[i : i + 76] for i in range(0, len(blue), 76))
    path = folder / "Desk stretches.md"
    path.write_text(
        "# **Desk Stretches for Tight Shoulders**\n\n"
        "Sitting all day tightens the **chest** and shoulders\\. Three stretches help\\.\n\n"
        "![][image1]\n\n## **Three stretches**\n\n* Doorway stretch  \n* Neck tilt  \n\n"
        f"![A neck tilt](<data:image/jpeg;base64,{wrapped}>)\n\n"
        "The doorway stretch again: ![][image2] (from [the Mayo Clinic](https://www.google.com/"
        "url?q=https://www.mayoclinic.org/healthy-lifestyle/office-stretches%3Fpg%3D2&sa=D&"
        "source=editors&ust=1764&usg=AOvVaw3))\n\n"
        f"[image1]: <data:image/png;base64,{red}>\n\n"
        f"[image2]: <data:image/png;base64,{red}>\n",
        encoding="utf-8",
    )
    return path


def test_a_google_docs_download_becomes_a_draft_with_its_photos_as_files(make_project, tmp_path):
    project = make_project(base=BASE_CONFIG)
    source = google_docs_download(tmp_path)
    (project.posts / "images").mkdir()
    taken = project.posts / "images" / "desk-stretches-for-tight-shoulders-1.png"
    taken.write_bytes(b"another post's photo")  # never written over
    result = run(project, "new", "--from", str(source), "--date", "2026-12-05 10:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "posts/2026-12-05-desk-stretches-for-tight-shoulders.md\n"
    first, second = (
        "desk-stretches-for-tight-shoulders-2.png",
        "desk-stretches-for-tight-shoulders-3.jpg",
    )
    assert result.stderr == (
        f"2 photo(s) of Desk stretches.md saved into posts/images/: {first}, {second}. The "
        "first is the post's photo (image:). Describe each for people who cannot see it: "
        "image_alt: for the post's photo, and the words between the brackets of ![...] for "
        "each in the text.\n"
    )
    assert taken.read_bytes() == b"another post's photo"
    with Image.open(project.posts / "images" / first) as photo:  # the first shown, once
        assert (photo.format, photo.size, photo.getpixel((5, 5))) == ("PNG", (1200, 800), RED)
    with Image.open(project.posts / "images" / second) as photo:
        assert (photo.format, photo.size) == ("JPEG", (900, 1200))
    post = project.posts / "2026-12-05-desk-stretches-for-tight-shoulders.md"
    text = post.read_text(encoding="utf-8")
    assert "data:" not in text and "# **Desk" not in text
    assert text.startswith(
        "---\ntitle: Desk Stretches for Tight Shoulders\ndate: 2026-12-05 10:00\n"
    )
    assert f"\nimage: images/{first}\nimage_alt:\n" in text
    assert f"![A neck tilt](images/{second})" in text
    assert f"[image1]: images/{first}" in text and f"[image2]: images/{first}" in text
    assert (
        "[the Mayo Clinic](https://www.mayoclinic.org/healthy-lifestyle/office-stretches?pg=2))"
        in text
    )
    assert source.read_text(encoding="utf-8").count("data:image/") == 3  # left as it was

    # described, and set to go: the page shows the files, and carries no photo in its text
    text = text.replace("image_alt:\n", "image_alt: Stretching in a doorway\n")
    text = text.replace("draft: true", "draft: false").replace("![][image", "![A doorway][image")
    post.write_text(text, encoding="utf-8")
    assert problems(project) == []
    at = datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert build_site(project.config, at).problems == []
    page = project.output / "posts/desk-stretches-for-tight-shoulders/index.html"
    html = page.read_text(encoding="utf-8")
    assert "data:image" not in html and len(html) < 20_000
    shown = [img["src"] for img in BeautifulSoup(html, "html.parser").select(".post-body img")]
    assert shown == [
        f"/posts/desk-stretches-for-tight-shoulders/{first}",
        f"/posts/desk-stretches-for-tight-shoulders/{second}",
        f"/posts/desk-stretches-for-tight-shoulders/{first}",
    ]


def test_a_title_given_is_kept_and_a_document_without_a_heading_is_named_by_its_file(
    project, tmp_path
):
    source = tmp_path / "Neck_tension notes.md"
    source.write_text("Tension builds in the neck.\n\n## Why\n\nScreens.\n", encoding="utf-8")
    result = run(project, "new", "--from", str(source), "--date", "2026-12-05 10:00")
    assert result.stdout == "posts/2026-12-05-neck-tension-notes.md\n", result.stderr
    text = (project.posts / "2026-12-05-neck-tension-notes.md").read_text(encoding="utf-8")
    assert "title: Neck tension notes\n" in text and "image:\n" in text
    assert text.endswith("---\n\nTension builds in the neck.\n\n## Why\n\nScreens.\n")
    assert result.stderr == ""
    result = run(project, "new", "Why necks ache", "--from", str(source), "--date", "2026-12-06")
    assert result.stdout == "posts/2026-12-06-why-necks-ache.md\n", result.stderr


def test_what_new_from_cannot_take_is_refused_and_nothing_is_written(project, tmp_path):
    post = tmp_path / "already.md"
    post.write_text("---\ntitle: A\ndate: 2026-01-01\n---\nText.\n", encoding="utf-8")
    word = tmp_path / "notes.md"
    word.write_bytes("Caf\xe9 notes\n".encode("cp1252"))
    cases = {
        str(post): "has front matter already (it starts with ---): it is a post; copy it into "
        "the posts folder as it is",
        str(word): "is not a Markdown file saved as UTF-8",
        str(tmp_path / "missing.md"): "no such file: check its name and folder",
    }
    for source, said in cases.items():
        result = run(project, "new", "--from", source)
        assert result.returncode != 0 and said in result.stderr, result.stderr
    result = run(project, "new")
    assert result.returncode == 2 and "give the post's title" in result.stderr
    docs = google_docs_download(tmp_path)
    assert run(project, "new", "--from", str(docs), "--date", "2026-12-05").returncode == 0
    again = run(project, "new", "--from", str(docs), "--date", "2026-12-05")
    assert again.returncode != 0 and "already exists" in again.stderr
    assert sorted(p.name for p in (project.posts / "images").iterdir()) == [
        "desk-stretches-for-tight-shoulders-1.png",
        "desk-stretches-for-tight-shoulders-2.jpg",
    ]  # the second time, no photo was saved
    assert sorted(p.name for p in project.posts.glob("*.md")) == [
        "2026-12-05-desk-stretches-for-tight-shoulders.md"
    ]


def test_check_warns_of_a_photo_written_into_the_text_and_of_an_image_without_words(project):
    photo = encoded(GREEN, (640, 480), "PNG")
    project.image("images/a.jpg")
    project.post(
        "a.md",
        "title: A\ndate: 2026-01-01",
        "Intro.\n\n![](images/a.jpg)\n\n![Fine](images/a.jpg)\n\n![ ][one]\n\n"
        f"[one]: <data:image/png;base64,{photo}>\n",
    )
    size = len(photo) * 3 // 4 // 1000
    result = run(project, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "posts/a.md:7: warning: an image in the text has no description: write what it shows "
        "between the brackets, ![A therapist working on a shoulder](images/...), for people "
        "who cannot see it",
        "posts/a.md:11: warning: an image in the text has no description: write what it shows "
        "between the brackets, ![A therapist working on a shoulder](images/...), for people "
        "who cannot see it",
        f"posts/a.md:13: warning: a photo ({size} KB) is written into the text itself, as "
        "Google Docs' Markdown download writes them: the page carries it whole, at every "
        "visit. Save it as a file in images/ and name the file instead (publisher new --from "
        "FILE.md does that for a downloaded document)",
    ]
