"""An article written elsewhere, made into a post: `publisher new --from FILE`.

Google Docs' "Download > Markdown (.md)" writes each photo into the text itself, as a
data address (`[image1]: <data:image/png;base64,iVBOR...>`) that a page would then carry
whole, a few megabytes of text, and that no photo file backs for Instagram. Each such photo
is saved into the posts folder's images/ as a file of its own, and the text names the file.
The rest of the text is kept as written: its Markdown is the post's.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.exceptions import ContentError

# A photo written into the text, as a data address in angle brackets (which may wrap) or not.
_DATA = (
    r"(?:<data:image/[\w.+-]+;base64,(?P<wrapped>[A-Za-z0-9+/=\s]*)>"
    r"|data:image/[\w.+-]+;base64,(?P<plain>[A-Za-z0-9+/=]*))"
)
# ... in a reference's definition, as Google Docs writes them at the end: [image1]: <data:...>
_DEFINITION = re.compile(r"^(?P<head> {0,3}\[(?P<label>[^\]\n]+)\]:[ \t]*)" + _DATA, re.MULTILINE)
# ... or in place: ![A neck tilt](data:...)
_IN_PLACE = re.compile(r"(?P<head>!\[[^\]\n]*\]\()" + _DATA + r"(?=\))")
# The document's first heading, for its title: "# Desk stretches" or "# **Desk stretches**"
_HEADING = re.compile(r" {0,3}#{1,2}[ \t]+(?P<text>[^\n]+?)[ \t]*#*[ \t]*(?:\n|$)")
_SUFFIXES = {
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "PNG": ".png",
    "GIF": ".gif",
    "WEBP": ".webp",
    "AVIF": ".avif",
}


@dataclass
class Document:
    """What `publisher new --from` made of a document: its post's title, and the photos it
    saved out of its text."""

    title: str
    photos: list[Path] = field(default_factory=list)  # saved, in the order of the text


def document_title(text: str, source: Path) -> tuple[str, str]:
    """The title a document gives itself, and its text without it: its first line when that
    is a heading ("# Desk stretches", "# **Desk stretches**"), without Markdown's marks and
    Google Docs' escapes; or else its file's name ("Desk stretches.md": Desk stretches)."""
    found = _HEADING.match(text.lstrip("\n"))
    if found:
        title = re.sub(r"\\(.)", r"\1", found["text"])  # Google Docs escapes: 1\. \- \!
        title = " ".join(re.sub(r"(\*\*|__|\*|_)(.+?)\1", r"\2", title).split())
        if any(character.isalnum() for character in title):
            return title, text.lstrip("\n")[found.end() :].lstrip("\n")
    return " ".join(source.stem.replace("_", " ").split()), text


def read_document(source: Path) -> str:
    """The text of a Markdown file to make a post of; a clear message when it cannot be."""
    try:
        raw = source.read_bytes()
    except FileNotFoundError:
        raise ContentError("no such file: check its name and folder", str(source)) from None
    except IsADirectoryError:
        raise ContentError("is a folder: name the .md file in it", str(source)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContentError(
            "is not a Markdown file saved as UTF-8 (a Word document? In Google Docs: File > "
            "Download > Markdown (.md))",
            str(source),
        ) from None
    if text.startswith("---\n") or text.startswith("---\r\n"):
        raise ContentError(
            "has front matter already (it starts with ---): it is a post; copy it into the "
            "posts folder as it is",
            str(source),
        )
    return text.replace("\r\n", "\n")


def save_embedded_photos(text: str, images: Path, stem: str) -> tuple[str, list[Path]]:
    """Save each photo written into `text` as a file in `images`, named STEM-1.png,
    STEM-2.jpg... in the order the text shows them (never over a file already there; a
    photo shown twice is one file), and return the text naming the files (from the posts
    folder: images/STEM-1.png) with the files saved. What is not a photo is left as it is."""
    found = [*_DEFINITION.finditer(text), *_IN_PLACE.finditer(text)]
    found.sort(key=lambda match: _shown_at(text, match))
    saved: list[Path] = []
    by_bytes: dict[bytes, Path] = {}
    named: dict[int, str] = {}  # a match's start: the file its photo is in
    n = 1
    for match in found:
        data = _photo_bytes(match["wrapped"] if match["wrapped"] is not None else match["plain"])
        suffix = _photo_suffix(data) if data else None
        if data is None or suffix is None:
            continue  # (check says what is wrong with it where it is)
        path = by_bytes.get(data)
        if path is None:
            images.mkdir(parents=True, exist_ok=True)
            while (path := images / f"{stem}-{n}{suffix}").exists():
                n += 1
            with open(path, "xb") as file:  # never over another file
                file.write(data)
            n += 1
            saved.append(path)
            by_bytes[data] = path
        named[match.start()] = f"{images.name}/{path.name}"
    parts, at = [], 0
    for match in sorted(found, key=lambda m: m.start()):
        if match.start() in named:
            parts += [text[at : match.start()], match["head"], named[match.start()]]
            at = match.end()
    return "".join([*parts, text[at:]]), saved


def _shown_at(text: str, match: re.Match[str]) -> int:
    """Where the text shows a photo: in place, where it is; from a reference's definition,
    where the text first uses it (![][image1], ![text][image1] or ![image1])."""
    label = match.groupdict().get("label")
    if label is None:
        return match.start()
    used = re.search(
        r"!\[[^\]\n]*\]\[" + re.escape(label) + r"\]|!\[" + re.escape(label) + r"\](?![:(\[])",
        text,
        re.IGNORECASE,
    )
    return used.start() if used else match.start()


def _photo_bytes(encoded: str) -> bytes | None:
    try:
        return base64.b64decode("".join(encoded.split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def _photo_suffix(data: bytes) -> str | None:
    """The file name's end for a photo's bytes (.jpg, .png...), None if it is no photo."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return _SUFFIXES.get(image.format or "")
    except (UnidentifiedImageError, OSError, ValueError):
        return None


# A link as Google Docs writes it in some exports: through Google's redirect, the real
# address in its q= parameter (percent-encoded).
_GOOGLE_REDIRECT = re.compile(r"https?://www\.google\.com/url\?q=(?P<address>[^&)\s>]+)[^)\s>]*")


def unwrapped_links(text: str) -> str:
    """The text with each link through Google's redirect (https://www.google.com/url?q=...)
    written as the address it leads to, so that readers do not pass through Google."""
    from urllib.parse import unquote

    if "google.com/url?" not in text:
        return text
    return _GOOGLE_REDIRECT.sub(lambda found: unquote(found["address"]), text)


def new_post_from(
    config: Config, source: Path, title: str | None, when: datetime
) -> tuple[Path, Document]:
    """Write a new draft post of the Markdown file `source` (publisher new --from): its
    text, its photos saved into the posts folder's images/ (the first as the post's photo),
    its title given or its own. Nothing is written when the post's file exists already."""
    from publisher.content import new_post, new_post_path

    text = unwrapped_links(read_document(source))
    if not title:
        title, text = document_title(text, source)
    path = new_post_path(config, title, when)  # (refused before any photo is saved)
    stem = path.stem.split("-", 3)[-1]  # the file's name without its date: the slug
    body, photos = save_embedded_photos(text, config.posts_dir / "images", stem)
    image = f"images/{photos[0].name}" if photos else ""
    new_post(config, title, when, body=body if body.strip() else "\n", image=image)
    return path, Document(title=title, photos=photos)
