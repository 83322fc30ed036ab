"""Posts: Markdown files with YAML front matter, read and validated into frozen Posts."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import stat as stat_module
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from publisher.config import Config, closest
from publisher.exceptions import ChannelProblem, ContentError, ContentWarning, PublisherError
from publisher.files import is_file, is_inside, real_path, snapshot, spelled_otherwise, status
from publisher.times import TimeError, parse_local_time

REQUIRED_KEYS = ("title", "date")
OPTIONAL_KEYS = ("slug", "author", "summary", "image", "image_alt", "tags", "draft", "updated")
CHANNEL_KEYS = ("facebook", "instagram")
KNOWN_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS + CHANNEL_KEYS
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 80
_BOUNDARY = re.compile(r"^-{3,}[ \t]*$", re.MULTILINE)


# The plain (unquoted) values YAML reads as something other than text: PyYAML's implicit
# resolvers, in its order, by the first character they apply to. Three differ from PyYAML's
# SafeLoader: dates stay text (we read them ourselves, in the site's zone); YAML 1.1's
# `yes`, `no`, `on` and `off` are not booleans (a post titled "Off" would lose its title),
# only true and false (as in YAML 1.2); and YAML 1.1's base-60 numbers are gone (as in 1.2),
# so `at: 18:30` stays the text 18:30, not the number 1110. PyYAML, imported only for front matter the quick
# reader below leaves to it, uses this same table (tests/test_front_matter.py compares it
# with PyYAML's own).
_IMPLICIT: tuple[tuple[str, str, tuple[str, ...]], ...] = (  # (tag, re.X pattern, first chars)
    (
        "tag:yaml.org,2002:bool",
        r"^(?: yes|Yes|YES|no|No|NO |true|True|TRUE|false|False|FALSE |on|On|ON|off|Off|OFF )$",
        tuple("tTfF"),
    ),
    (
        "tag:yaml.org,2002:float",
        r"""^(?: [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
               | \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
               | [-+]?\.(?:inf|Inf|INF)
               | \.(?:nan|NaN|NAN) )$""",
        tuple("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:int",
        r"""^(?: [-+]?0b[0-1_]+
               | [-+]?0[0-7_]+
               | [-+]?(?:0|[1-9][0-9_]*)
               | [-+]?0x[0-9a-fA-F_]+ )$""",
        tuple("-+0123456789"),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ("<",)),
    ("tag:yaml.org,2002:null", r"^(?: ~ |null|Null|NULL | )$", ("~", "n", "N", "")),
    ("tag:yaml.org,2002:value", r"^(?:=)$", ("=",)),
    ("tag:yaml.org,2002:yaml", r"^(?:!|&|\*)$", tuple("!&*")),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", tuple("tTfF")),
)


@functools.cache
def _implicit_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """_IMPLICIT as PyYAML keeps it: first character ("" for an empty value) -> resolvers."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, firsts in _IMPLICIT:
        compiled = re.compile(pattern, re.X)
        for first in firsts:
            table.setdefault(first, []).append((tag, compiled))
    return table


def _plain_is_text(value: str) -> bool:
    """True when YAML reads this plain scalar (one line, not empty) as a string."""
    return not any(rx.match(value) for _, rx in _implicit_resolvers().get(value[0], ()))


@functools.cache
def _front_matter_loader() -> type:
    """PyYAML's safe loader (its C one when built with libyaml) with the resolvers above."""
    import yaml

    base = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    loader = type("FrontMatterLoader", (base,), {})
    loader.yaml_implicit_resolvers = {k: list(v) for k, v in _implicit_resolvers().items()}
    return loader


CHANNEL_BLOCK_KEYS = {"facebook": ("at", "message"), "instagram": ("at", "caption", "hashtags")}


@dataclass(frozen=True)
class ChannelOptions:
    """A post's settings for one social channel, from its `facebook:` or `instagram:` block."""

    enabled: bool = True
    at: datetime | None = None
    text: str | None = None
    hashtags: tuple[str, ...] = ()


def read_channel_options(
    name: str,
    value: Any,
    lines: dict[str, int],
    config: Config,
    problem: Callable[[str, str | None], None],
) -> ChannelOptions:
    """Validate a `facebook:` / `instagram:` block: false, true, or a block of settings."""
    if value is None or value is True:
        return ChannelOptions()
    if value is False:
        return ChannelOptions(enabled=False)
    if not isinstance(value, dict):
        problem(
            f"{name} must be false (to leave the post off {name.title()}) or a block of "
            f"settings ({', '.join(CHANNEL_BLOCK_KEYS[name])})",
            name,
        )
        return ChannelOptions()
    allowed = CHANNEL_BLOCK_KEYS[name]
    for key in value:
        if key not in allowed:
            problem(
                f"unknown key {key!r} in {name}: the keys it can have are {', '.join(allowed)}",
                f"{name}.{key}",
            )
    at = None
    if value.get("at") not in (None, ""):
        try:
            at = parse_local_time(value["at"], config.tz)
        except TimeError as exc:
            problem(f"{name}.at: {exc}", f"{name}.at")
    text_key = allowed[1]
    text = value.get(text_key)
    if text is not None and not isinstance(text, str):
        problem(
            f"{name}.{text_key} must be text (use  {text_key}: |  and indented lines)",
            f"{name}.{text_key}",
        )
        text = None
    hashtags: tuple[str, ...] = ()
    raw = value.get("hashtags")
    if raw is not None:
        if isinstance(raw, list) and all(isinstance(t, (str, int)) for t in raw):
            hashtags = tuple(str(t) for t in raw)
        else:
            problem(
                f"{name}.hashtags must be a list, for example  hashtags: [massagetherapy, pittsburgh]",
                f"{name}.hashtags",
            )
    return ChannelOptions(
        enabled=True, at=at, text=text.strip() if text else None, hashtags=hashtags
    )


@dataclass(frozen=True)
class Post:
    """One article, as its front matter and body say, validated."""

    source: Path
    display: str
    title: str
    date: datetime
    slug: str
    author: str
    body: str
    body_line: int
    summary: str | None = None
    image: Path | None = None
    image_alt: str | None = None
    tags: tuple[str, ...] = ()
    draft: bool = False
    facebook: ChannelOptions = field(default_factory=lambda: ChannelOptions())
    instagram: ChannelOptions = field(default_factory=lambda: ChannelOptions())
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    digest: str = ""
    # when the article was last changed in a way readers should know of (`updated:`)
    updated: datetime | None = None

    @property
    def modified(self) -> datetime:
        """When the article last changed: `updated:`, else its date."""
        return self.updated or self.date

    def is_published(self, at: datetime) -> bool:
        """True once the post's date has come and it is not a draft."""
        return not self.draft and self.date <= at

    def line_of(self, key: str) -> int | None:
        """The line of a front-matter key (dotted for nested keys), if known."""
        return self.lines.get(key) or self.lines.get(key.split(".")[0])

    def line_at(self, offset: int) -> int:
        """The file's line of the character at `offset` in the body."""
        return self.body_line + self.body.count("\n", 0, offset)

    def error(self, message: str, key: str | None = None) -> ContentError:
        """A ContentError pointing at this post, at the key's line where known."""
        return ContentError(message, self.display, self.line_of(key) if key else None)

    def channel_problem(self, message: str, key: str | None = None) -> ContentError:
        """What Facebook or Instagram would refuse (no photo, a caption too long): a problem,
        or in a draft, which goes nowhere yet, a warning of what it still needs."""
        line = self.line_of(key) if key else None
        if not self.draft:
            return ChannelProblem(message, self.display, line)
        return ContentWarning(f"{message} (before you set draft: false)", self.display, line)


@dataclass(frozen=True)
class LoadedPosts:
    """Every post that could be read, and every problem found while reading them."""

    posts: tuple[Post, ...]
    problems: tuple[ContentError, ...]
    # what only check says: a draft whose address another post has (it stops nothing yet)
    warnings: tuple[ContentWarning, ...] = ()


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by '-', as used in URLs."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        slug = slug[:MAX_SLUG_LENGTH].rsplit("-", 1)[0]
    return slug


def missing_file_advice(written: str, folder: Path, posts: Path | None = None) -> str:
    """What to do about a file a post names that is not there: `written` as the post gives
    it, from `folder` (the post's). The path from the post's file when `written` is the path
    from the posts folder `posts` (images/a.jpg in posts/2026/ is ../images/a.jpg); the name
    as it is on the disk when only its capitals differ (web servers tell My Photo.JPG from
    My Photo.jpg), in the file's name or a folder's; a name close to it in that folder (a
    typo); or which folder is missing."""
    unquoted = written.strip("\"'“”‘’ ")
    if unquoted and unquoted != written:
        found = is_file(folder / unquoted)
        return "take the quote marks off: they are read as part of the name" + (
            f" ({unquoted!r})"
            if found
            else f"; then, {missing_file_advice(unquoted, folder, posts)}"
        )
    if "\\" in written:
        slashed = written.replace("\\", "/")
        return f"write / between folders, not \\ ({slashed!r})" + (
            ""
            if is_file(folder / slashed)
            else f"; then, {missing_file_advice(slashed, folder, posts)}"
        )
    if posts is not None and folder != posts and is_file(posts / written):
        from_post = os.path.relpath(posts / written, folder).replace(os.sep, "/")
        return (
            f"from this post's folder, it is {from_post!r} (a path is written from the post's file)"
        )

    def or_elsewhere(advice: str) -> str:  # a file of that name in another folder, if one
        elsewhere = _same_name_under(posts, written) if posts is not None else None
        if elsewhere is None:
            return advice
        from_post = os.path.relpath(elsewhere, folder).replace(os.sep, "/")
        return f"is it {from_post!r}? it is in that folder"

    parts = [part for part in written.split("/") if part not in ("", ".")]
    here, spelled = folder, []
    for n, part in enumerate(parts):
        try:
            names = [] if part == ".." else os.listdir(here)
        except OSError:
            break
        if part == ".." or part in names:
            match = part
        else:
            wanted = unicodedata.normalize("NFC", part).casefold()
            same = [
                name for name in names if unicodedata.normalize("NFC", name).casefold() == wanted
            ]
            if not same:
                if close := closest(part, names):
                    meant = "/".join([*spelled, close, *parts[n + 1 :]])
                    return f"is it {meant!r}? check the file name and folder"
                if n < len(parts) - 1:
                    shown = "/".join([*spelled, part])
                    return or_elsewhere(
                        f"there is no folder {shown!r}: check the file name and folder"
                    )
                break
            match = same[0]
        spelled.append(match)
        here = here / match
    else:
        if parts and spelled != parts:
            if spelled[:-1] == parts[:-1]:
                return f"the file is named {spelled[-1]!r}: write the name with the same capitals"
            return f"it is {'/'.join(spelled)!r} on the disk: write it with the same capitals"
    return or_elsewhere("check the file name and folder")


def _same_name_under(posts: Path, written: str) -> Path | None:
    """The one file under the posts folder with the name `written` ends in, when `written`
    is not it (a folder left out: shoulders.jpg for images/shoulders.jpg)."""
    name = written.rsplit("/", 1)[-1]
    wanted = unicodedata.normalize("NFC", name).casefold()
    found = []
    for root, folders, files in os.walk(posts):
        folders[:] = [f for f in folders if not f.startswith(".")]
        found += [
            Path(root, f) for f in files if unicodedata.normalize("NFC", f).casefold() == wanted
        ]
    return found[0] if len(found) == 1 else None


# The scripts whose combining marks are accents, left out when words are compared ("Café"
# is "cafe"; Arabic's and Hebrew's are vowel points, mostly not written). In the others the
# marks are letters of the word (the vowel signs and viramas of Devanagari, Tamil, Bengali,
# Thai's vowels): मालिश is not मलश, and they stay.
_ACCENTED_SCRIPTS = ("LATIN ", "GREEK ", "CYRILLIC ", "ARABIC ", "HEBREW ")


def _folded(text: str) -> str:
    """A text without its capitals and accents ("Café" is "cafe"), in one canonical form
    (NFKD); the marks of other scripts' letters are kept (see _ACCENTED_SCRIPTS)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    if plain.isascii():
        return plain
    kept: list[str] = []
    accent = True  # whether a mark here would be an accent (of the letter before it)
    for char in plain:
        if unicodedata.category(char)[0] != "M":
            accent = char.isascii() or unicodedata.name(char, "").startswith(_ACCENTED_SCRIPTS)
        elif accent:
            continue
        kept.append(char)
    return "".join(kept)


class _MarksAsWordCharacters(dict[int, int]):
    """A str.translate table: each combining mark as '_', any other character as itself
    (filled in as characters are met)."""

    def __missing__(self, code: int) -> int:
        self[code] = ord("_") if unicodedata.category(chr(code)) in ("Mn", "Mc") else code
        return self[code]


_MARKS_AS_WORD_CHARACTERS = _MarksAsWordCharacters()


def word_view(text: str) -> str:
    """The text with each combining mark as '_', the rest as it is (so positions are the
    text's), for patterns to read its words whole: Python's \\w leaves marks out, but in
    most of the world's scripts they are letters of the word (the vowel signs and viramas
    of Devanagari, Tamil or Bengali: योग, மசாஜ், মাসাজ; Thai's vowels and tone marks). As
    '_' they are word characters, and never a letter."""
    return text if text.isascii() else text.translate(_MARKS_AS_WORD_CHARACTERS)


def _tag_words(tag: str) -> str:
    """A tag as its words, whatever their capitals, accents, spaces and hyphens: tags that
    give the same are one tag, written two ways ("Back Pain", "back-pain", "Café", "cafe")."""
    return " ".join(re.sub(r"[-_\s]+", " ", _folded(tag)).split())


# up to three spaces before the '#': a tab (or four spaces) makes the line a code block
_FIRST_HEADING = re.compile(r"\A(?:[ \t]*\n)*[ ]{0,3}#[ \t]+([^\n]*?)(?:[ \t]+#+)?[ \t]*$", re.M)


def _words(text: str) -> list[str]:
    """A text's words, whatever their capitals, accents and punctuation."""
    folded = _folded(text)
    return [folded[w.start() : w.end()] for w in re.finditer(r"\w+", word_view(folded))]


def _same_title(heading: str, title: str) -> bool:
    """Whether a heading repeats the title: the same words, or for a title without words
    (emoji, signs) the same characters, spaces aside."""
    words = _words(title)
    if words:
        return _words(heading.replace("*", "").replace("_", " ")) == words
    return "".join(heading.split()) == "".join(title.split())


def _without_repeated_title(body: str, title: str) -> str:
    """The body without a first line that repeats the title as a heading (# Title, as pasted
    from a document), which the page already shows above the text. The line is left empty,
    so that the lines of the body keep their numbers in messages."""
    found = _FIRST_HEADING.match(body)
    if found is None or not _same_title(found[1], title):
        return body
    return body[: found.start(1)].rstrip(" \t#") + body[found.end() :]


# Characters a web page or word processor pastes that look like a space or like nothing
_INVISIBLE = re.compile("[\u00a0\u2000-\u200f\u202f\u205f\u2060\u3000\ufeff]")


def _invisible_in_key(key: str) -> str | None:
    """What to do about a key read with characters no one can see (YAML took a no-break
    space indenting it, or a zero-width space, for part of the key), or None."""
    if (visible := _INVISIBLE.sub("", key)) != key:
        what = (
            "spaces that are not plain spaces (no-break spaces, pasted from a web page or a "
            "word processor), which YAML does not read as indenting"
            if re.search("[\u00a0\u2000-\u200a\u202f\u205f\u3000]", key)
            else "a character you cannot see (a zero-width space, pasted with the text)"
        )
        return (
            f"the line of {visible!r} has {what}: delete the start of the line up to "
            f"{visible!r} and type it again"
            + (", indenting with plain spaces" if key[:1].isspace() else "")
        )
    return None


def _key_hint(key: str) -> str:
    """What to write instead of an unknown front-matter key: the key in lower case, a close
    spelling, a channel's own key that belongs indented under it, or the list of keys."""
    if key.lower() in KNOWN_KEYS:
        return f"keys are written in lower case: {key.lower()}:"
    if key.lower() in ("modified", "lastmod", "last_modified", "last_updated", "update"):
        return "the date an article was changed is written  updated: 2026-12-05"
    channels = [f"{c}:" for c, keys in CHANNEL_BLOCK_KEYS.items() if key in keys]
    if channels:
        return f"{key}: belongs to a channel: indent it under  {'  or  '.join(channels)}"
    close = closest(key.lower(), KNOWN_KEYS)
    if close:
        return f"did you mean {close!r}?"
    return f"the keys a post can have are {', '.join(KNOWN_KEYS)}"


def default_slug_is_readable(title: str) -> bool:
    """Whether a title's own slug is made of its words, not a code (no Latin letters)."""
    return bool(slugify(title))


def default_slug(title: str) -> str:
    """A post's slug when it names none: from its title, or a short stable hash of a title
    with no Latin letters or digits (Cyrillic, Chinese...)."""
    return slugify(title) or "post-" + hashlib.sha1(title.encode()).hexdigest()[:8]


@functools.lru_cache(maxsize=4096)
def tag_slug(tag: str) -> str:
    """The URL part of a tag's page; tags with no ASCII letters get a short stable hash of
    their words (_tag_words), so that one tag written two ways has one page (Йога, йога),
    and tags one vowel sign apart have two (मालिश, मलश). As NFC: a tag written as most
    keyboards write it keeps the hash of its own text, as before."""
    words = unicodedata.normalize("NFC", _tag_words(tag))
    return slugify(tag) or "tag-" + hashlib.sha1(words.encode("utf-8")).hexdigest()[:8]


def split_front_matter(text: str, display: str) -> tuple[str, str, int]:
    """Split a post into its YAML text and its body; returns the body's first line too."""
    if not text.startswith("---"):
        first = text.split("\n", 1)[0].strip()
        stripped = text.lstrip()
        if stripped.startswith("---") and (lead := text[: len(text) - len(stripped)]):
            raise ContentError(
                f"the file has {'blank lines' if chr(10) in lead else 'spaces'} before its "
                "first '---': delete them, so that '---' begins the very first line",
                display,
                1,
            )
        if first == "+++":
            raise ContentError(
                "the front matter is written in TOML, between '+++' lines (as Hugo allows): "
                "publisher reads YAML: write '---' instead of each '+++', and key: value "
                "instead of key = value",
                display,
                1,
            )
        if first and set(first) <= set("-—–‒ ") and not first.isascii():
            raise ContentError(
                f"the first line, {first!r}, should be three hyphens: a word processor made "
                "a dash of ---; type --- again (and on the line that closes the front matter)",
                display,
                1,
            )
        raise ContentError(
            "no front matter: a post starts with a line '---', then title: and date:, "
            "then another '---'",
            display,
            1,
        )
    boundaries = list(itertools.islice(_BOUNDARY.finditer(text, 0), 2))  # not the whole body
    if not boundaries or boundaries[0].start() != 0 or len(boundaries) < 2:
        head = text.split("\n\n", 1)[0]  # (a line of dots in the text is the text's)
        if (end := re.search(r"^\.\.\.[ \t]*$", head, re.MULTILINE)) is not None:
            raise ContentError(  # YAML's own end of a document
                "the front matter ends with '...': write '---' instead",
                display,
                text.count("\n", 0, end.start()) + 1,
            )
        raise ContentError(
            "the front matter is not closed: add a line '---' after the last key", display, 1
        )
    opening, closing = boundaries[0], boundaries[1]
    yaml_text = text[opening.end() + 1 : closing.start()]
    body_start = closing.end() + 1
    body_line = text.count("\n", 0, min(body_start, len(text))) + 1
    return yaml_text, text[body_start:], body_line


# Front matter as staff write it (keys with words, quoted text, dates and [lists] as values,
# one level of nesting) is read by _parse_simple_yaml, some five times quicker than PyYAML;
# anything else goes to PyYAML, whose reading is the reference (tests/test_front_matter.py checks
# the two agree wherever the quick reader answers).
_SIMPLE_LINE = re.compile(r"( *)(?:([A-Za-z_][A-Za-z0-9_]*):(?: +(.*?))?|- +(.*?)) *")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')
_SINGLE_QUOTED = re.compile(r"'([^']*)'")
_PLAIN_START_NOT = frozenset("-?:,[]{}#&*!|>'\"%@`")
_NOT_SIMPLE = object()


def _simple_scalar(raw: str, flow: bool) -> object:
    """The string a YAML scalar written on one line reads as, or _NOT_SIMPLE."""
    if not raw:
        return _NOT_SIMPLE
    first = raw[0]
    if first == '"' or first == "'":
        quoted = (_DOUBLE_QUOTED if first == '"' else _SINGLE_QUOTED).fullmatch(raw)
        return quoted.group(1) if quoted else _NOT_SIMPLE
    if (
        first in _PLAIN_START_NOT
        or ": " in raw
        or raw.endswith(":")
        or " #" in raw
        or (flow and (":" in raw or any(c in raw for c in "[]{}")))
    ):
        return _NOT_SIMPLE
    # only text: a plain scalar YAML reads as a number, boolean or null goes to PyYAML
    if not _plain_is_text(raw):
        return _NOT_SIMPLE
    return raw


def _simple_value(raw: str) -> object:
    """A value written on its key's line: a scalar or a [flow, list] of them."""
    if raw.startswith("["):
        if not raw.endswith("]"):
            return _NOT_SIMPLE
        inner = raw[1:-1].strip()
        if not inner:
            return []
        items = [_simple_scalar(item.strip(), True) for item in inner.split(",")]
        return _NOT_SIMPLE if _NOT_SIMPLE in items else items
    return _simple_scalar(raw, False)


def _parse_simple_yaml(yaml_text: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    """Front matter in the simple shape described above, as PyYAML reads it; else None."""
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    block: tuple[str, dict[str, Any] | list[Any]] | None = None  # the value being filled
    block_indent = -1
    for number, line in enumerate(yaml_text.split("\n")):
        stripped = line.strip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if not line.isprintable():  # tabs, control characters, YAML's other line breaks
            return None
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        spaces, key, raw, item = match.groups()
        indent = len(spaces)
        if key is not None and indent == 0:
            if block is not None and block_indent == -1:
                return None  # "key:" with nothing under it is null
            if key in data:
                return None
            lines[key] = number + 2
            if raw is None:
                block, block_indent = (key, {}), -1
                data[key] = None  # filled below
                continue
            block = None
            value = _simple_value(raw)
            if value is _NOT_SIMPLE:
                return None
            data[key] = value
            continue
        if block is None:
            return None
        name, filled = block
        if block_indent == -1:
            block_indent = indent
            filled = [] if item is not None else {}
            block = (name, filled)
            data[name] = filled
        elif indent != block_indent:
            return None
        if item is not None:
            if not isinstance(filled, list):
                return None
            value = _simple_scalar(item, False)
            if value is _NOT_SIMPLE:
                return None
            filled.append(value)
        else:
            if not isinstance(filled, dict) or raw is None or key in filled:
                return None
            value = _simple_value(raw)
            if value is _NOT_SIMPLE:
                return None
            filled[key] = value
            lines[f"{name}.{key}"] = number + 2
    if block is not None and block_indent == -1:
        return None
    return data, lines


def parse_front_matter(
    yaml_text: str, display: str, slips: list[ContentError] | None = None
) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse the YAML; returns the mapping and the file line of every key (nested: 'a.b').

    A slip on one line that can be read past (tags written as hashtags, a key written
    twice...) is raised, or, given a `slips` list, added to it and read as meant, so that
    `check` says every problem of a file at once, not one a run."""

    def slip(problem: ContentError) -> None:
        if slips is None:
            raise problem
        slips.append(problem)

    yaml_text = _as_staff_write_it(yaml_text, display, slip)
    simple = _parse_simple_yaml(yaml_text)
    if simple is not None:
        return simple
    import yaml

    loader = _front_matter_loader()(yaml_text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        # The context (an unclosed bracket, a key) is where a person should look first;
        # but "while parsing a block mapping" names where the front matter starts: the
        # problem's own line is the one to look at.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        if getattr(exc, "context", None) == "while parsing a block mapping" and mark.line == 0:
            mark = getattr(exc, "problem_mark", None) or mark
        line = mark.line + 2 if mark else 1
        tab = _first_tab_line(yaml_text, getattr(exc, "problem_mark", None))
        if tab is not None:
            raise ContentError(
                "the front matter has a tab here: YAML is indented with spaces only; "
                "replace the tab with spaces",
                display,
                tab,
            ) from None
        slip = _typing_slip(yaml_text, getattr(exc, "problem_mark", None))
        if slip is not None:
            raise ContentError(slip[1], display, slip[0]) from None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "expected ',' or ']'" in problem:
            start = getattr(exc, "context_mark", None)  # where the list began
            row = yaml_text.split("\n")[start.line] if start else ""
            key = row.partition(":")[0].strip() if ":" in row else "tags"
            raise ContentError(
                "a list that begins with [ is not closed: end it with ] on the same line, "
                f"for example  {key}: [sports massage, recovery]",
                display,
                start.line + 2 if start else line,
            ) from None
        if "escape" in problem:  # "images\photo.jpg": a Windows path in double quotes
            raise ContentError(
                "a \\ inside double quotes starts an escape (such as \\n) in YAML: write / "
                "between folders (images/photo.jpg), or put the text in single quotes",
                display,
                line,
            ) from None
        raise ContentError(
            f"the front matter is not valid YAML ({problem}); check the quotes, brackets and "
            "indentation of this line and the ones before it",
            display,
            line,
        ) from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ContentError(
            "the front matter must be keys and values (title: ..., date: ...)", display, 2
        )
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            _note_line(lines, key, key_node.start_mark.line + 2, display, slip)
            if isinstance(value_node, yaml.MappingNode):
                for sub_key, _ in value_node.value:
                    _note_line(
                        lines,
                        f"{key}.{sub_key.value}",
                        sub_key.start_mark.line + 2,
                        display,
                        slip,
                    )
    return data, lines


def _note_line(
    lines: dict[str, int],
    key: str,
    line: int,
    display: str,
    slip: Callable[[ContentError], None],
) -> None:
    """Record a key's line; a key written twice is a slip (YAML would keep the last one
    silently, and what the first said would be lost without a word)."""
    first = lines.get(key)
    if first is not None:
        slip(
            ContentError(
                f"{key!r} is written twice (lines {first} and {line}): keep one of them",
                display,
                line,
            )
        )
    lines[key] = line


# ![alt](images/my photo.jpg): an address with a space, not followed by a "title"
_IMAGE_WITH_SPACE = re.compile(r"!\[[^\]\n]*\]\(\s*([^\s)<>]+)[ \t]+([^\"'(\s)][^)\n]*)\)")
_NO_SPACE_AFTER_KEY = re.compile(r"\s*([A-Za-z_]\w*):(?![\s/])\S")
_ODD_SPACE_AFTER_KEY = re.compile(r"\s*([A-Za-z_]\w*):[\u00a0\u2000-\u200b\u202f\u3000]")
_ODD_SPACE = re.compile(r"(?<=:)[\u00a0\u2000-\u200b\u202f\u3000]")
_CURLY_QUOTED = re.compile(r"\s*([A-Za-z_]\w*):\s*[\u201c\u2018]")


def _odd_space(row: str) -> str | None:
    """What to do about a key followed by a word processor's space (YAML reads it as part
    of the key), or None."""
    if found := _ODD_SPACE_AFTER_KEY.match(row):
        return (
            f"the space after '{found.group(1)}:' is a special space (pasted from a word "
            "processor): delete it and type a plain space"
        )
    return None


# The keys whose value is prose (a title, a caption...). YAML misreads text with ": " in it
# ("title: Psoas: the hidden cause" is an error), ending in ":", or starting with "#", "[",
# "@", "*"... ("caption: #TipTuesday Stand up" is an empty caption and a comment), and cuts
# it at " #" ("title: Tip #1 for hips" is "Tip").
_FOOTNOTE_MARKER = re.compile(r"\[\^[^\]\s]+\]")  # "[^1]", as the text's markers are written
_PROSE_KEYS = frozenset(("title", "summary", "author", "image_alt", "message", "caption"))
# a comment as people write them: " # " or a "#" alone at the end ("#1", "# 1" and
# "#selfcare" are text: "Tip # 1 for hips" is a title, not "Tip" and a comment)
_COMMENT = re.compile(r"(?:^| +)#(?: (?!\d).*)?$")
_PLAIN_START = re.compile(r"[^\s'\"“‘|>,\[\]{}#&*!%@`?:-]|[-?:]\S")  # how YAML text may begin


# tags or hashtags written as hashtags: "#stress #neck", "#stress, #neck", "[#stress, #neck]"
_HASHTAGS_WRITTEN = re.compile(r"^\[?\s*#[^\s#]")


def _as_staff_write_it(yaml_text: str, display: str, slip: Callable[[ContentError], None]) -> str:
    """The front matter with the text of prose lines in quotes: the whole line is the text,
    as the person who wrote it meant, less a comment ("author: Jo  # optional"). A complete
    quoted value, the lines of a block (| or >) and curly quotes (reported as a slip) are
    left to YAML; so is every other key. Tags written as hashtags (YAML: no tags and a
    comment) are a slip, with the list to write; so are a word processor's space after a
    key and an unclosed quote. Each slip is given to `slip` and read as meant."""
    rows = yaml_text.split("\n")
    changed = False
    block = -1  # the indent of the key whose block (| or >) the lines are in, if any
    for number, row in enumerate(rows):
        if odd := _odd_space(row):  # (YAML would read the space as part of the key)
            slip(ContentError(odd, display, number + 2))
            row = rows[number] = _ODD_SPACE.sub(" ", row, count=1)
            changed = True
        stripped = row.lstrip(" ")
        indent = len(row) - len(stripped)
        if block >= 0:
            if not stripped or indent > block:
                continue  # a line of the block: its text, as written
            block = -1
        key, sep, value = stripped.partition(": ")
        value = value.strip()
        if value[:1] in ("|", ">"):
            block = indent
            continue
        key = key.rstrip()
        if key in ("tags", "hashtags") and _HASHTAGS_WRITTEN.match(value):
            listed = value.strip("[]")
            words = ", ".join(w.strip(" ,") for w in listed.split("#") if w.strip(" ,"))
            slip(
                ContentError(
                    f"{key}: a '#' starts a comment in YAML, so these would be lost: write  "
                    f"{key}: [{words}]  (Instagram gets them as hashtags, with the #)",
                    display,
                    number + 2,
                )
            )
            rows[number] = f"{' ' * indent}{key}: [{words}]"
            changed = True
            continue
        if not sep or not value or key not in _PROSE_KEYS or _all_in_curly_quotes(value):
            continue
        if value[0] in "'\"":
            end = _quoted_end(value)
            if end > 0 and not _COMMENT.sub("", value[end:]).strip():
                continue  # a text in quotes: YAML reads it as meant
            more = _continued(rows, number, indent)
            if end == -1 and more and _quoted_end(f"{value}\n{more}") > 0:
                continue  # a text in quotes on two lines or more, as an editor wraps it
            if value[0] == '"' and '"' not in value[1:] + more:
                # ('Tis the season: an apostrophe, not a quote)
                slip(
                    ContentError(
                        f'{key}: the quote mark at the start (") is not closed, and would '
                        'show on the page: end the text with " too, or take the quote mark out',
                        display,
                        number + 2,
                    )
                )
                rows[number] = f"{' ' * indent}{key}: {json.dumps(value[1:].strip())}"
                changed = True
                continue
        text = _COMMENT.sub("", value).rstrip()
        if not text or (
            _PLAIN_START.match(text)
            and ": " not in text
            and " #" not in text
            and not text.endswith(":")
            and _plain_is_text(text)
        ):
            continue  # YAML reads it as it is written
        rows[number] = f"{' ' * indent}{key}: {json.dumps(text, ensure_ascii=False)}"
        changed = True
    return "\n".join(rows) if changed else yaml_text


def _all_in_curly_quotes(value: str) -> bool:
    """A value a word processor put in curly quotes whole (“Psoas: the muscle”), meant as
    YAML's quotes: said as a slip (or, read as it is, a warning). One that only begins with
    a quoted word (“Tight” shoulders: why) is text like any other."""
    text = _COMMENT.sub("", value).rstrip()
    return text[:1] in ("“", "‘") and text.endswith("”" if text[0] == "“" else "’")


def _continued(rows: list[str], number: int, indent: int) -> str:
    """The lines after row `number` indented deeper than `indent` (a quoted text may go on
    there), joined."""
    more = itertools.takewhile(
        lambda row: len(row) - len(row.lstrip(" ")) > indent, rows[number + 1 :]
    )
    return "\n".join(more)


def _unquoted(tag: str) -> str:
    """A tag without the curly quotes a word processor put around it ([“stress”]): quotes
    around a tag are YAML's, as straight ones are, never part of the topic."""
    if len(tag) >= 2 and (tag[0], tag[-1]) in (("“", "”"), ("‘", "’")):
        return tag[1:-1].strip()
    return tag


def _quoted_end(value: str) -> int:
    """Where the quoted scalar that `value` starts with ends (after its closing quote), or
    -1 when the quote is not closed on this line."""
    quote, at = value[0], 1
    while at < len(value):
        character = value[at]
        if quote == '"' and character == "\\":
            at += 2
            continue
        if character == quote:
            if quote == "'" and value[at + 1 : at + 2] == "'":  # '' is a quote inside
                at += 2
                continue
            return at + 1
        at += 1
    return -1


def _typing_slip(yaml_text: str, mark: Any) -> tuple[int, str] | None:
    """A slip of typing (or of a word processor) that explains a YAML error, at or before
    the line the error points at: (file line, what to do), or None."""
    rows = yaml_text.split("\n")
    last = min(mark.line, len(rows) - 1) if mark is not None else len(rows) - 1
    for number in range(last + 1):
        row = rows[number]
        if slip := _odd_space(row):
            return number + 2, slip
        if found := _NO_SPACE_AFTER_KEY.match(row):
            return number + 2, (
                f"'{found.group(1)}:' needs a space after the colon, for example  "
                f"{found.group(1)}: {row.split(':', 1)[1].strip()}"
            )
        if number == last and (found := _CURLY_QUOTED.match(row)):  # (elsewhere, it reads)
            return number + 2, (
                f"the value of '{found.group(1)}' is in curly quotes (“ ” or ‘ ’): type straight "
                'quotes " " instead (a word processor changes them)'
            )
    return None


def _first_tab_line(yaml_text: str, mark: Any) -> int | None:
    """The file line of a tab in the indentation (which YAML refuses) at or before the line
    a YAML error points at: the reason for the error. None when there is none (a tab inside
    a value is allowed)."""
    if "\t" not in yaml_text:
        return None
    rows = yaml_text.split("\n")
    last = min(mark.line, len(rows) - 1) if mark is not None else len(rows) - 1
    for number in range(last + 1):
        row = rows[number]
        if "\t" in row[: len(row) - len(row.lstrip(" \t"))]:
            return number + 2
    return None


def _text(meta: dict[str, Any], key: str, problems: list[str]) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        problems.append(key)
        return None
    return str(value).strip()


SAVE_AS_UTF8 = "save it again as UTF-8 (in Notepad: File, Save As, Encoding: UTF-8)"


def _utf16_unmarked(raw: bytes) -> bool:
    """UTF-16 without its byte-order mark: text in Latin letters has every other byte 0."""
    start = raw[:200]
    return len(start) >= 8 and start.count(0) * 3 >= len(start)


def not_utf8(raw: bytes, exc: UnicodeDecodeError | None, display: str) -> ContentError:
    """Say which encoding a post seems to be in, where that shows, and how to save it right."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_unmarked(raw):
        return ContentError(
            f'the file is saved as UTF-16 (what Windows calls "Unicode"): {SAVE_AS_UTF8}',
            display,
            1,
        )
    line = raw.count(b"\n", 0, exc.start if exc else 0) + 1
    return ContentError(
        f"the file is not UTF-8 text: this line has a character saved in another encoding (such as "
        f"Windows-1252 or Latin-1); {SAVE_AS_UTF8}",
        display,
        line,
    )


def read_post(
    path: Path, config: Config, *, as_far_as_it_goes: bool = False
) -> tuple[Post | None, list[ContentError]]:
    """Read and validate one post file; every problem found is returned, not just the first.
    `as_far_as_it_goes`: a post with problems comes back too where it has a title, a date and
    a slug (what is wrong in it left out: no photo for a photo not found), for check to
    look at its page and address as well."""
    display = config.display_path(path)
    info = status(path)
    if info is not None and not stat_module.S_ISREG(info.st_mode):  # reading a pipe would wait
        return None, [
            ContentError("is not a file of text: remove it from the posts folder", display)
        ]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        if path.is_symlink() and not path.exists():
            return None, [
                ContentError(
                    f"is a link to {os.readlink(path)}, which is not there (moved or deleted): "
                    "put the file there, or delete the link",
                    display,
                )
            ]
        return None, [ContentError(f"cannot be read ({exc.strerror})", display)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [not_utf8(raw, exc, display)]
    if _utf16_unmarked(raw):  # (its zeros are UTF-8 too)
        return None, [not_utf8(raw, None, display)]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    slips: list[ContentError] = []
    try:
        yaml_text, body, body_line = split_front_matter(text, display)
        meta, lines = parse_front_matter(yaml_text, display, slips)
    except ContentError as exc:
        return None, [*slips, exc]

    problems: list[ContentError] = slips

    def problem(message: str, key: str | None = None, needs: Path | None = None) -> None:
        line = (lines.get(key) or lines.get(key.split(".")[0])) if key else None
        problems.append(ContentError(message, display, line or 2, needs=needs))

    for key in meta:
        if key not in KNOWN_KEYS:
            invisible = _invisible_in_key(str(key))
            problem(invisible or f"unknown key {key!r}: {_key_hint(str(key))}", str(key))

    wrong_type: list[str] = []
    title = _text(meta, "title", wrong_type)
    if not title and "title" not in wrong_type:
        problem(
            "missing title: add a line like  title: My article",
            "title" if "title" in meta else None,
        )

    if title and body.lstrip().startswith("#"):
        body = _without_repeated_title(body, title)

    date = None
    if meta.get("date") in (None, ""):
        problem(
            "missing date: add a line like  date: 2026-12-02 09:00  (local time)",
            "date" if "date" in meta else None,
        )
    else:
        try:
            date = parse_local_time(meta["date"], config.tz)
        except TimeError as exc:
            problem(f"date: {exc}", "date")

    updated = None
    if meta.get("updated") not in (None, ""):
        try:
            updated = parse_local_time(meta["updated"], config.tz)
        except TimeError as exc:
            problem(f"updated: {exc}", "updated")
        else:
            if date is not None and updated < date:
                problem(
                    f"updated: {meta['updated']} is before the article's date "
                    f"({date:%Y-%m-%d %H:%M}): write when it was changed, after it went live "
                    "(a date alone is midnight: add the time), or leave updated: out",
                    "updated",
                )
                updated = None
            elif updated == date:
                updated = None  # (the date copied down): nothing changed since it went live

    slug = _text(meta, "slug", wrong_type)
    if slug is not None:
        if not SLUG_PATTERN.match(slug) or len(slug) > MAX_SLUG_LENGTH:
            problem(
                f"slug {slug!r} may only have lower-case letters a-z, digits and single "
                f"hyphens (at most {MAX_SLUG_LENGTH} characters), for example psoas-back-pain",
                "slug",
            )
            slug = None
    elif title:
        slug = default_slug(title)

    author = _text(meta, "author", wrong_type) or config.site.default_author or config.business.name
    summary = _text(meta, "summary", wrong_type) or None
    if summary is not None:
        from publisher.render.markdown import plain_inline

        summary = plain_inline(summary)

    image = None
    image_value = _text(meta, "image", wrong_type)
    image_alt = _text(meta, "image_alt", wrong_type) or None
    if image_value:
        try:
            image = resolve_post_image(image_value, path, config)
        except ImageFileProblem as exc:
            problem(str(exc), "image", needs=exc.path)
        except ValueError as exc:
            problem(str(exc), "image")
    elif image_alt:
        problem(
            "image_alt is set but there is no image: add image: or remove image_alt", "image_alt"
        )
    if image_alt and (marker := _FOOTNOTE_MARKER.search(image_alt)):
        problem(
            f"image_alt has a footnote marker, {marker[0]}, which the photo's description "
            f"would show as written (a screen reader reads it out): take it out of image_alt "
            f"and put it in the text, after the sentence it belongs to",
            "image_alt",
        )

    tags: tuple[str, ...] = ()
    raw_tags = meta.get("tags")
    if raw_tags is not None:
        if isinstance(raw_tags, list) and all(
            isinstance(t, (str, int, float)) and not isinstance(t, bool) for t in raw_tags
        ):
            cleaned = [tag for t in raw_tags if (tag := _unquoted(str(t).strip()))]
            # one per page: "Back Pain", "back pain" and "back-pain" are one tag, written
            # as it is first
            by_page: dict[str, str] = {}
            for tag in cleaned:
                first = by_page.setdefault(tag_slug(tag), tag)
                if _tag_words(first) != _tag_words(tag):
                    problem(
                        f"tags {first!r} and {tag!r} would share one page, "
                        f"/tags/{tag_slug(tag)}/, and {tag!r} would not show: write them "
                        "apart in letters or digits (for example C plus plus)",
                        "tags",
                    )
            tags = tuple(by_page.values())
        else:
            problem("tags must be a list, for example  tags: [back pain, posture]", "tags")

    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        curly = isinstance(draft, str) and draft[:1] in "“‘"
        problem(
            "draft must be true or false"
            + (", without quotes (a word processor made these curly quotes)" if curly else ""),
            "draft",
        )
        draft = True
    elif not draft and (at := body.find(NEW_POST_PLACEHOLDER)) != -1:
        problems.append(
            ContentError(
                "this is still the placeholder text of `publisher new`: write the article "
                "here (or keep draft: true until it is written)",
                display,
                body_line + body.count("\n", 0, at),
            )
        )
    if "![" in body:
        for found in _IMAGE_WITH_SPACE.finditer(body):
            src = f"{found.group(1)} {found.group(2)}".strip()
            problems.append(
                ContentError(
                    f"the image address {src!r} has a space, so Markdown shows it as text: "
                    f"write it as ![...](<{src}>), or rename the file without spaces",
                    display,
                    body_line + body.count("\n", 0, found.start()),
                )
            )

    if image_value and not image_alt and not draft:  # (a draft's is a warning)
        problem(NO_IMAGE_ALT, "image" if "image_alt" not in meta else "image_alt")

    channels = {
        name: read_channel_options(name, meta.get(name), lines, config, problem)
        for name in CHANNEL_KEYS
    }

    for key in wrong_type:
        problem(f"{key} must be plain text, not a list or block", key)

    if title is None or date is None or slug is None:
        return None, problems
    if problems and not as_far_as_it_goes:
        return None, problems
    post = Post(
        source=path,
        display=display,
        title=title,
        date=date,
        slug=slug,
        author=author,
        body=body,
        body_line=body_line,
        summary=summary,
        image=image,
        image_alt=image_alt if image_alt or not image else "",
        tags=tags,
        draft=draft,
        facebook=channels["facebook"],
        instagram=channels["instagram"],
        lines=lines,
        digest=hashlib.sha256(raw).hexdigest(),
        updated=updated,
    )
    return post, problems


NO_IMAGE_ALT = (
    "image_alt is missing: describe the image for people who cannot see it, "
    "for example  image_alt: A woman stretching her hip"
)


class ImageFileProblem(ValueError):
    """An image a post names that is missing or unusable: putting the file right (adding
    it, exporting it again) settles it without editing the post."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def resolve_post_image(value: str, post_path: Path, config: Config) -> Path:
    """The file an image path in a post names; it must exist inside the posts folder."""
    from publisher.render.images import ImageUnusable
    from publisher.render.images import inspect_image_once as inspect_image

    if "://" in value or value.startswith("//"):
        raise ValueError(
            f"image {value!r} must be a file beside the post (a path inside the posts folder), "
            "not a URL"
        )
    candidate = real_path(post_path.parent / value)
    posts_dir = config.posts_dir
    if not is_inside(candidate, posts_dir):
        if value.startswith("/") and (inside := _same_name_under(posts_dir, value)):
            from_post = os.path.relpath(inside, post_path.parent).replace(os.sep, "/")
            raise ValueError(
                f"image {value!r}: a path that starts with / starts at the top of the disk: "
                f"write it from the post's file, {from_post!r}"
            )
        written = os.path.normpath(post_path.parent / value)
        if is_inside(Path(written), posts_dir):  # a link (a symlink) to a file elsewhere
            raise ValueError(
                f"image {value!r} is a link to {candidate}, outside the posts folder, which "
                "publisher does not follow: copy the photo itself into "
                f"{config.display_path(posts_dir)}/images/"
            )
        raise ValueError(
            f"image {value!r} is outside the posts folder: keep images in "
            f"{config.display_path(posts_dir)}/images/ and write a path like images/photo.jpg"
        )
    if not is_file(candidate) and (other := spelled_otherwise(candidate)) is not None:
        candidate = other  # the name as a Mac wrote it
    if not is_file(candidate):
        raise ImageFileProblem(
            f"image '{value}' not found (looked for {config.display_path(candidate)}): "
            + missing_file_advice(value, post_path.parent, posts_dir),
            candidate,
        )
    try:
        inspect_image(candidate)
    except ImageUnusable as exc:
        raise ImageFileProblem(f"image {value!r} {exc}", candidate) from None
    except PermissionError:
        from publisher.ownership import cannot_read

        advice = cannot_read(candidate) or "let the user running publisher read it"
        raise ImageFileProblem(f"image {value!r} cannot be read: {advice}", candidate) from None
    return candidate


Update = tuple[str, int | None, datetime]  # a post's `updated:`: its file, line and date


def updates_to_come(posts: Iterable[Post], at: datetime) -> list[ContentWarning]:
    """The posts whose `updated:` has not come yet at `at` (a mistyped year, most likely):
    warned of, not refused, as a post scheduled ahead may carry one. The page shows it as
    written (a build does not change with the clock but for a post going live)."""
    return update_warnings(post_updates(posts), at)


def post_updates(posts: Iterable[Post]) -> list[Update]:
    """The `updated:` of each post that has one (what update_warnings needs of it)."""
    return [(p.display, p.line_of("updated"), p.updated) for p in posts if p.updated is not None]


def update_warnings(updates: Iterable[Update], at: datetime) -> list[ContentWarning]:
    """updates_to_come, of the `updated:` dates post_updates gave."""
    return [
        ContentWarning(
            f"updated: {updated:%Y-%m-%d %H:%M} has not come yet (it is "
            f"{at.astimezone(updated.tzinfo):%Y-%m-%d %H:%M %Z}): the article's page says it was updated then; write when "
            "it was changed (a mistyped year?), or leave updated: out",
            display,
            line,
        )
        for display, line, updated in updates
        if updated > at
    ]


_CURLY_PAIRS = (("\u201c", "\u201d"), ("\u2018", "\u2019"))  # “ ” and ‘ ’
_OPENING = "\u201c\u2018"
_SHOWN = {  # where each prose value is read (in curly_quoted_texts' order)
    "title": "on the page, Facebook and Instagram",
    "summary": "in the page's description, link previews and the Facebook post",
    "author": "on the page",
    "image_alt": "in the photo's description",
    "facebook.message": "in the Facebook post",
    "instagram.caption": "in the Instagram caption",
}


def curly_quoted_texts(posts: Iterable[Post]) -> list[ContentWarning]:
    """The prose values (a title, a summary...) written all inside curly quotes, “like this”:
    YAML takes straight quotes away and keeps curly ones, which a word processor makes of
    straight ones. The text is kept as written (a title may be a quotation), and warned of."""
    warnings = []
    for post in posts:  # (each build of the site does this: quick, for the 10,000)
        texts = (
            post.title,
            post.summary,
            post.author,
            post.image_alt,
            post.facebook.text,
            post.instagram.text,
        )
        for key, text in zip(_SHOWN, texts, strict=True):
            if not text or text[0] not in _OPENING or len(text) < 3:
                continue
            if (text[0], text[-1]) not in _CURLY_PAIRS:
                continue
            if key not in post.lines:
                continue  # not written in the post: the config's default author
            warnings.append(
                ContentWarning(
                    f"{key}: the curly quotes around {text} are part of it, shown {_SHOWN[key]}"
                    f": if they were meant only to hold the text, delete them (or "
                    f'type straight quotes "...", which are not shown); keep them if it is a '
                    f"quotation",
                    post.display,
                    post.line_of(key),
                )
            )
    return warnings


_SIGNS_IN_WORDS = {"+": " plus", "#": " sharp", "&": " and ", "@": " at ", "%": " percent"}


def _signs_in_words(tag: str) -> str:
    """A tag with its signs written as words ("C#": "C sharp")."""
    return " ".join("".join(_SIGNS_IN_WORDS.get(c, c) for c in tag).split())


def tag_collisions(posts: Iterable[Post]) -> list[ContentWarning]:
    """Tags of different posts that are different words but make one page ("C++" and "C#"
    are both /tags/c/): the page lists both posts under one tag. Said at the later post's
    tags (by date); nothing is refused, since each post is right on its own."""
    first: dict[str, tuple[str, Post]] = {}
    known: dict[str, tuple[str, str]] = {}  # tag: (slug, words), worked out once (tags repeat)
    warnings = []
    for post in sorted(posts, key=lambda p: (p.date, p.display)):
        for tag in post.tags:
            if tag not in known:
                known[tag] = (tag_slug(tag), _tag_words(tag))
            slug, words = known[tag]
            seen, where = first.setdefault(slug, (tag, post))
            if known[seen][1] == words:
                continue  # one tag written two ways ("Back Pain", "back-pain")
            spelled = [(t, _signs_in_words(t)) for t in (tag, seen)]
            instead = [f"  {words}  for {t!r}" for t, words in spelled if tag_slug(words) != slug]
            warnings.append(
                ContentWarning(
                    f"tags: {tag!r} and {seen!r} (a tag of {where.display}) make one tag page, "
                    f"/tags/{slug}/, which lists both posts under one of the two names: if "
                    f"they are different topics, write one of them apart in letters or digits"
                    + (f", for example{instead[0]}" if instead else ""),
                    post.display,
                    post.line_of("tags"),
                )
            )
    return warnings


# Below this a post's photo looks blurry at the top of its article and on Instagram (1080 px
# wide), and Facebook shows it as a small square beside the link (Meta's "Images in Link
# Shares": 600 x 315 px for the large picture, and no picture at all under 200 x 200).
SMALL_PHOTO = (600, 315)
NO_CARD_PHOTO = (200, 200)


def small_photos(posts: Iterable[Post]) -> list[ContentWarning]:
    """The posts whose photo is too small to look right (a thumbnail saved from a chat or a
    web page instead of the photo itself): warned of, as it still goes out. Said by `check`
    and `preview` (the photo's size is known to them at once), not by each build."""
    from publisher.render.images import ImageUnusable
    from publisher.render.images import inspect_image_once as inspect_image

    warnings = []
    for post in posts:
        if post.image is None:
            continue
        try:
            info = inspect_image(post.image)
        except (OSError, ImageUnusable):
            continue  # (a problem of the post, said as such)
        if info.width >= SMALL_PHOTO[0] and info.height >= SMALL_PHOTO[1]:
            continue
        said = "looks blurry at the top of the article"
        if post.instagram.enabled:
            said += " and on Instagram (enlarged to 1080 px wide)"
        if post.facebook.enabled:
            small = info.width < NO_CARD_PHOTO[0] or info.height < NO_CARD_PHOTO[1]
            said += (
                ", and Facebook shows no photo with the link (under 200 × 200 px)"
                if small
                else ", and Facebook shows it as a small square beside the link (under 600 × 315 px)"
            )
        warnings.append(
            ContentWarning(
                f"image: the photo is only {info.width} × {info.height} px, so it {said}: use "
                "the photo at its full size (1080 px wide or more), not a copy saved from a "
                "message or a web page",
                post.display,
                post.line_of("image"),
            )
        )
    return warnings


_EMBEDDED_PHOTO = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\s]{200,}")
_IMAGE_IN_TEXT = re.compile(r"!\[(?P<alt>[^\]\n]*)\](?=(?P<address>[(\[])?)")
# A description that says nothing of the picture: a word for any picture, or a camera's
# file name (IMG_4021, DSC01234, PXL_20261102_..., a name ending .jpg).
_EMPTY_WORDS = {"image", "photo", "picture", "pic", "img", "photograph", "hero", "alt", "todo"}
_FILE_NAME = re.compile(
    r"(?i)^(?:(?:img|dsc|dscn|dscf|pxl|mvimg|screenshot|image|photo)[\s_-]*[\d_ -]+\w*"
    r"|\S+\.(?:jpe?g|png|gif|webp|heic|avif))$"
)
_SAY_WHAT_IT_SHOWS = (
    "say what it shows, for people who cannot see it, for example  A therapist working on a "
    "client's shoulder"
)


def _says_nothing(text: str) -> bool:
    """Whether an image's description names no more than that it is a picture."""
    plain = text.strip().strip(".").strip()
    return plain.casefold() in _EMPTY_WORDS or bool(_FILE_NAME.match(plain))


def image_warnings(posts: Iterable[Post]) -> list[ContentWarning]:
    """A post's images that are likely mistakes: a photo written into the text itself (a
    data address, as Google Docs' Markdown download writes them), which every visit then
    downloads whole with the page; an image of the text with no description (![](...)); a
    description, the photo's or one in the text, that says nothing of it ("photo", the
    camera's file name IMG_4021.jpg). Said by `check` and `preview`."""
    warnings: list[ContentWarning] = []
    for post in posts:
        if "data:image/" in post.body:
            for found in _EMBEDDED_PHOTO.finditer(post.body):
                size = len(found[0]) * 3 // 4 // 1000
                warnings.append(
                    ContentWarning(
                        f"a photo ({size} KB) is written into the text itself, as Google Docs' "
                        "Markdown download writes them: the page carries it whole, at every "
                        "visit. Save it as a file in images/ and name the file instead "
                        "(publisher new --from FILE.md does that for a downloaded document)",
                        post.display,
                        post.line_at(found.start()),
                    )
                )
        vague = []  # (said after those without a description)
        if post.image_alt and _says_nothing(post.image_alt):
            said = f"image_alt: {post.image_alt!r} says nothing of the photo: "
            vague.append(
                ContentWarning(said + _SAY_WHAT_IT_SHOWS, post.display, post.line_of("image_alt"))
            )
        for found in _IMAGE_IN_TEXT.finditer(post.body) if "![" in post.body else ():
            alt, line = found["alt"], post.line_at(found.start())
            if not alt.strip() and found["address"]:  # (![] alone is no image)
                said = (
                    "an image in the text has no description: write what it shows between "
                    "the brackets, ![A therapist working on a shoulder](images/...), for "
                    "people who cannot see it"
                )
                warnings.append(ContentWarning(said, post.display, line))
            elif alt.strip() and _says_nothing(alt):
                said = f"the description {alt!r} of an image in the text says nothing of it: "
                vague.append(ContentWarning(said + _SAY_WHAT_IT_SHOWS, post.display, line))
        warnings += vague
    return warnings


# HTML as people paste it into a post: a video's embed code, a bold word, a line break
_PASTED_HTML = re.compile(
    r"</?(iframe|video|embed|object|script|style|br|b|strong|i|em|u|a|img|p|div|span|font|"
    r"center|h[1-6]|ul|ol|li|table|tr|td|hr|blockquote|figure|section)\b[^<>\n]*>",
    re.IGNORECASE,
)
# fenced code, and code in backticks: HTML there is shown as code on purpose
_CODE = re.compile(r"^(```|~~~).*?^\1|`[^`\n]+`", re.MULTILINE | re.DOTALL)
_INSTEAD_OF_HTML = {
    "iframe": "for a video, link to it: [Watch the video](https://www.youtube.com/watch?v=...)",
    "br": "for a line break, end the line with a backslash (\\)",
    "b": "for bold, write **words**",
    "strong": "for bold, write **words**",
    "i": "for italics, write *words*",
    "em": "for italics, write *words*",
    "a": "for a link, write [words](https://...)",
    "img": "for a photo, write ![what it shows](images/photo.jpg)",
}


def pasted_html(posts: Iterable[Post]) -> list[ContentWarning]:
    """HTML pasted into a post's text (a video's embed code, <b>, <br>): the website shows
    it as text, tags and all, unless [site] allow_html = true. Each tag said at its first
    line, with the Markdown to write instead."""
    warnings = []
    for post in posts:
        if "<" not in post.body:
            continue
        body = _CODE.sub(lambda code: re.sub(r"[^\n]", " ", code[0]), post.body)
        said: set[str] = set()
        for found in _PASTED_HTML.finditer(body):  # each tag at its first line, said once
            tag = found[1].lower()
            if tag in said:
                continue
            said.add(tag)
            instead = _INSTEAD_OF_HTML.get(
                tag, "write it in Markdown (see the README), or ask for [site] allow_html = true"
            )
            shown = found[0] if len(found[0]) < 24 else f"<{found[1]} ...>"
            warnings.append(
                ContentWarning(
                    f"{shown!r} is HTML, which the page shows as text, tags and all: {instead}",
                    post.display,
                    post.line_at(found.start()),
                )
            )
    return warnings


def post_warnings(
    posts: Iterable[Post],
    at: datetime,
    allow_html: bool = False,
    sent: Collection[tuple[str, str]] = (),
) -> list[ContentWarning]:
    """Every warning of these posts as of `at`: likely mistakes that stop nothing. `sent`:
    (post file, channel) of the social posts out already, whose `at:` no longer counts."""
    posts = tuple(posts)
    return [
        *([] if allow_html else pasted_html(posts)),
        *updates_to_come(posts, at),
        *curly_quoted_texts(posts),
        *tag_collisions(posts),
        *small_photos(posts),
        *image_warnings(posts),
        *undescribed_draft_photos(posts),
        *times_before_the_article(posts, sent),
        *coded_addresses(posts),
    ]


def coded_addresses(posts: Iterable[Post]) -> list[ContentWarning]:
    """A title with no Latin letters or digits (an emoji, another script) gives an address
    made of a code, /posts/post-9a7b006d/: `new` says so, and check says it of a post
    written by hand."""
    return [
        ContentWarning(
            f"the title has no Latin letters or digits, so the web address is a code, "
            f"/posts/{post.slug}/: add a line like  slug: back-massage  for one people can "
            "read",
            post.display,
            post.line_of("title"),
        )
        for post in posts
        if "slug" not in post.lines and not default_slug_is_readable(post.title)
    ]


def times_before_the_article(
    posts: Iterable[Post], sent: Collection[tuple[str, str]] = ()
) -> list[ContentWarning]:
    """A channel's `at:` before the article's date: it goes out when the article is live
    (never before: Facebook reads the page, Instagram fetches the photo from it), which is
    likelier a slip ("6:30" for 18:30) than what was meant, so say when it goes out."""
    found = []
    for post in posts:
        for name in CHANNEL_KEYS:
            options = post.facebook if name == "facebook" else post.instagram
            if not options.enabled or options.at is None or options.at >= post.date:
                continue
            if (post.display, name) in sent:  # (gone out: the time is history)
                continue
            when, live = options.at.astimezone(post.date.tzinfo), post.date
            evening = ""
            if when.hour < 12 and when.date() == live.date() and when.hour + 12 >= live.hour:
                later = when.replace(hour=when.hour + 12)
                evening = (
                    f". Meant {when.hour}:{when.minute:02d} in the evening? write  "
                    f"at: {later:%Y-%m-%d %H:%M}"
                )
            found.append(
                ContentWarning(
                    f"{name}.at: {when:%Y-%m-%d %H:%M} is before the article's date "
                    f"({live:%Y-%m-%d %H:%M}): the {name.capitalize()} post goes out when "
                    f"the article is live, at {live:%H:%M}, never before it{evening}",
                    post.display,
                    post.line_of(f"{name}.at") or post.line_of(name),
                )
            )
    return found


def undescribed_draft_photos(posts: Iterable[Post]) -> list[ContentWarning]:
    """A draft's photo without image_alt (a problem once it is not a draft): what it still
    needs, as for what Facebook or Instagram would refuse."""
    found = []
    for post in posts:
        if post.draft and post.image and not post.image_alt:
            key = "image_alt" if "image_alt" in post.lines else "image"
            found.append(cast(ContentWarning, post.channel_problem(NO_IMAGE_ALT, key)))
    return found


def require_posts_folder(config: Config) -> None:
    """Stop a build or a pass when the posts folder is not there: with no posts it would
    take every page off the website (and a deploy off the server), as if each post had been
    deleted. A folder moved, renamed or on a disk not mounted is far likelier."""
    if not config.posts_dir.is_dir():
        if config.path is None:  # no config.toml here or above: not in a project at all
            raise PublisherError(
                f"there is no config.toml in {config.root} or a folder above it, and no "
                "posts folder here: run publisher in the clinic's project folder (the one "
                "with config.toml and posts/), or give it with --config"
            )
        raise PublisherError(
            f"the posts folder {config.posts_dir} is missing (moved, renamed, or on a disk that "
            "is not mounted): nothing is built or published until it is back, and the website "
            "keeps its pages; if it moved, set [site] posts in config.toml"
        )
    if not os.access(config.posts_dir, os.R_OK | os.X_OK):
        _unreadable_folder(PermissionError(13, "Permission denied", str(config.posts_dir)))


def _unreadable_folder(exc: OSError) -> None:
    """Stop where the posts folder, or one inside it, cannot be listed: its posts would be
    left out of the site as if deleted."""
    if not isinstance(exc, PermissionError):  # (gone while it was listed: not there now)
        return
    if os.path.basename(exc.filename or "") == "lost+found":  # a disk's own, at its top
        return
    from publisher.ownership import cannot_read

    folder = Path(os.fsdecode(exc.filename or ""))
    raise PublisherError(
        f"the posts folder {folder} cannot be read ({cannot_read(folder) or exc.strerror}): "
        "nothing is built or published until it can, and the website keeps its pages"
    )


def post_files(posts_dir: Path) -> list[Path]:
    """The Markdown files in the posts folder (and below it), in a stable order."""
    return [Path(p) for p in post_file_names(posts_dir)]


def post_file_names(posts_dir: Path) -> list[str]:
    """post_files, as strings (quicker when there are thousands)."""
    found: list[str] = []
    for folder, files in _folders(posts_dir):
        found += [os.path.join(folder, f) for f in files if is_post_name(f)]
    try:
        "".join(found).encode()
    except UnicodeEncodeError:  # a name from an old Windows or Mac disk: left out, and said
        _NOT_UTF8[posts_dir.as_posix()] = [n for n in found if not _utf8_name(n)]
        found = [name for name in found if _utf8_name(name)]
    else:
        _NOT_UTF8.pop(posts_dir.as_posix(), None)
    return sorted(found)


_NOT_UTF8: dict[str, list[str]] = {}  # posts folder: the post files its last listing left out


def names_not_utf8(config: Config) -> list[ContentError]:
    """The post files the last listing of the posts folder (post_file_names) left out, as
    their names are not UTF-8 text: a build or pass says so (check: stray_post_files)."""
    return [
        ContentError(
            "is not read: its name is not UTF-8 text (run publisher check)",
            name_as_written(config.display_path(name)),
        )
        for name in _NOT_UTF8.get(config.posts_dir.as_posix(), ())
    ]


def _utf8_name(name: str) -> bool:
    """Whether a file name is UTF-8 text (Python keeps a name's other bytes as surrogates,
    which no page, ledger or signature can hold)."""
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return True


def name_as_written(name: str | Path) -> str:
    """A file name for a message, its bytes that are not UTF-8 written as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _folders(posts_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """(folder, its file names) for the posts folder and those inside it. Hidden folders
    inside it are skipped (editor backups, .git); the folders above it may be named anything."""
    if not posts_dir.is_dir():
        return
    for folder, dirs, files in os.walk(posts_dir, onerror=_unreadable_folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield folder, files


POST_SUFFIXES = (".md", ".markdown")
DOCUMENT_SUFFIXES = (".docx", ".doc", ".odt", ".rtf", ".pages")


def stray_post_files(config: Config) -> list[ContentError]:
    """Files in the posts folder that staff likely meant as posts, which publisher does not
    read: a post saved as text (Notepad's notepad-post.md.txt) or as a word processor's
    document. Said by `check`, so that a post is never left out without a word."""
    found: list[ContentError] = []
    for folder, names in _folders(config.posts_dir):
        for name in names:
            lowered, path = name.lower(), Path(folder, name)
            if name.startswith("."):
                continue
            if is_post_name(name):
                if _utf8_name(path.as_posix()):
                    continue
                named = (name, "the file") if not _utf8_name(name) else (folder, "its folder")
                message = (
                    "is not read as a post: its name is not UTF-8 text (it came from an older "
                    f"Windows or Mac disk): rename {named[1]}, for example to "
                    f"{_readable_name(os.path.basename(named[0]))}"
                )
            elif lowered.endswith(DOCUMENT_SUFFIXES):
                message = (
                    "a word processor's document is not read as a post: paste its text into "
                    "a .md file (publisher new makes one), then move this file out of the folder"
                )
            elif lowered.endswith(".txt") and _starts_with_front_matter(path):
                stem = name[: -len(".txt")]
                stem = stem if stem.lower().endswith(POST_SUFFIXES) else stem + ".md"
                message = f"a post saved as text is not read: rename it to {stem}"
            elif (meant := _meant_as_post(name)) and _starts_with_front_matter(path):
                message = f"only .md files are read as posts: rename it to {meant}"
            else:
                continue
            found.append(ContentError(message, name_as_written(config.display_path(path))))
    return found


# What other editors name a Markdown file; a name with no suffix at all
_MARKDOWN_SUFFIXES = (".mdown", ".mkd", ".mkdn", ".mdwn", ".mdtxt", ".mdtext", ".text", ".markdn")


def _meant_as_post(name: str) -> str | None:
    """The .md name a file was likely meant to have (when it begins like a post): another
    editor's Markdown suffix, none at all, or a space or dot typed after .md."""
    trimmed = name.rstrip(" .\t")
    if trimmed != name and is_post_name(trimmed):
        return f"{trimmed} (its name has a space or dot after .md)"
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" in _MARKDOWN_SUFFIXES:
        return f"{stem}.md"
    return f"{name}.md" if not dot and not name.endswith("~") else None


def _readable_name(name: str) -> str:
    """A UTF-8 name for a file whose name is in an older code page (Windows' 1252, which
    holds Latin-1)."""
    return os.fsencode(name).decode("cp1252", "replace")


def _starts_with_front_matter(path: Path) -> bool:
    """Whether a file starts with a '---' line (after a byte-order mark): a post's start."""
    try:
        with path.open("rb") as file:
            return file.read(6).removeprefix(b"\xef\xbb\xbf").startswith(b"---")
    except OSError:  # (one this user may not read: not said to be a post)
        return False


def is_post_name(name: str) -> bool:
    """A file in the posts folder that is a post: .md or .markdown, in any case (an editor
    on Windows may write .MD), and not hidden."""
    return name.lower().endswith(POST_SUFFIXES) and not name.startswith(".")


def is_post_path(path: Path, posts_dir: Path) -> bool:
    """Whether a file below the posts folder is one of its posts (post_file_names): a post's
    name, and in no hidden folder (_folders skips those)."""
    if not is_post_name(path.name) or not os.fspath(path).startswith(os.path.join(posts_dir, "")):
        return False
    return not any(part.startswith(".") for part in path.relative_to(posts_dir).parts[:-1])


def load_posts(config: Config, files: Iterable[Path] | None = None) -> LoadedPosts:
    """Read every post; a broken post is reported and left out, never stopping the others."""
    posts: list[Post] = []
    problems: list[ContentError] = []
    with snapshot():
        for path in files if files is not None else post_files(config.posts_dir):
            post, found = read_post(path, config)
            problems.extend(found)
            if post is not None:
                posts.append(post)
    from publisher.ledger import files_of_slugs

    return settle_posts(posts, problems, owners=lambda: files_of_slugs(config.ledger_path))


# The name a file manager gives a copy: "a copy.md", "a copy 2.md" (macOS), "a - Copy.md",
# "a - Copy (2).md" (Windows), "a (1).md" (a second download)
_COPY_NAME = re.compile(r"(?i)(?: copy(?: \d+)?| - copy(?: \(\d+\))?| \(\d+\))$")


def named_after(stem: str, slug: str) -> bool:
    """Whether a post file's name (without .md) is made of its slug, as `publisher new`
    names it (DATE-SLUG), or is the slug alone."""
    return re.fullmatch(rf"(?:\d{{4}}-\d\d-\d\d-)?{re.escape(slug)}", stem) is not None


def settle_posts(
    posts: Iterable[Post],
    problems: Iterable[ContentError],
    held: Iterable[Post] = (),
    owners: Callable[[], Mapping[str, str]] | None = None,
) -> LoadedPosts:
    """The checks across posts (a slug used twice), then the posts newest first. `held`:
    live posts the website shows as they were (their files have a problem now): their
    addresses stay theirs. `owners`: the file each slug's deliveries in the ledger come
    from (ledger.files_of_slugs), asked only when two posts share a slug."""
    problems = list(problems)
    by_slug: dict[str, Post] = {post.slug: post for post in held}
    kept: list[Post] = []
    files = functools.cache(owners or dict)  # the ledger read once, when first asked

    # Which of two posts keeps a slug: the one whose deliveries the ledger has (a live post
    # moved to a later date keeps its address and history), then not a draft before a
    # draft, then the older one (the one more likely out already), then the file named
    # after it (not the copy a file manager made of it, "... copy.md"), then by file name;
    # a new post never pushes a live one off.
    def order(post: Post) -> tuple[bool, bool, datetime, bool, str]:
        return (
            files().get(post.slug, post.display) != post.display,
            post.draft,
            post.date,
            not named_after(post.source.stem, post.slug),
            post.display,
        )

    drafts: list[ContentWarning] = []
    groups: dict[str, list[Post]] = {}  # (ordered only where two share a slug)
    for post in posts:
        groups.setdefault(post.slug, []).append(post)
    for post in (p for g in groups.values() for p in (g if len(g) == 1 else sorted(g, key=order))):
        other = by_slug.get(post.slug)
        if other is not None:
            copy = _COPY_NAME.search(post.source.stem)
            message = f"slug {post.slug!r} is already used by {other.display}: " + (
                "this file looks like a copy of it (its name ends in "
                f"{copy[0].strip()!r}): delete the copy, or give it its own title"
                if copy
                else "give this post a different title or a slug: line"
            )
            key = "slug" if "slug" in post.lines else "title"
            if post.draft:  # (nothing of it goes out yet)
                line = post.line_of(key)
                message += " (before you set draft: false)"
                drafts.append(ContentWarning(message, post.display, line))
            else:
                problems.append(post.error(message, key))
            continue
        by_slug[post.slug] = post
        kept.append(post)
    kept.sort(key=lambda p: (p.date, p.slug), reverse=True)
    problems.sort(key=lambda e: (e.path, e.line or 0))
    return LoadedPosts(tuple(kept), tuple(problems), tuple(drafts))


NEW_POST_PLACEHOLDER = "Write the article here, in Markdown"
# No line starts with Markdown of its own: the placeholder is one plain paragraph.
NEW_POST_BODY = f"""{NEW_POST_PLACEHOLDER}: a blank line between paragraphs, a line
that starts with "## " for a heading, "- " for a bullet, "1. " for a numbered step,
and **bold** for emphasis.

Set draft: false when it is ready; it is published at its date.
"""


def new_post_path(config: Config, title: str, when: datetime) -> Path:
    """The file `publisher new` writes for this title and date; ContentError if the title
    makes no file name or a post has that name already."""
    title = " ".join(title.split())
    if not any(character.isalnum() for character in title):
        raise ContentError("the title needs at least one letter or digit for the file name", title)
    path = config.posts_dir / f"{when:%Y-%m-%d}-{default_slug(title)}.md"
    if path.exists():
        raise ContentError(
            "a post with this date and title already exists: pick another title",
            config.display_path(path),
        )
    return path


def new_post(
    config: Config,
    title: str,
    when: datetime,
    body: str = NEW_POST_BODY,
    image: str = "",
) -> Path:
    """Write a new draft post file named after its date and title; returns its path.
    `body`: the article's text (by default, the placeholder that says how to write it);
    `image`: the post's photo, as the front matter names it."""
    import frontmatter
    import yaml

    title = " ".join(title.split())
    path = new_post_path(config, title, when)
    document = frontmatter.Post(
        body,
        title=title,
        date=f"{when:%Y-%m-%d %H:%M}",
        author=config.site.default_author or config.business.name,
        summary="",
        image=image,
        image_alt="",
        tags=[],
        draft=True,
    )
    config.posts_dir.mkdir(parents=True, exist_ok=True)
    # PyYAML's own emitter: libyaml's (python-frontmatter's default) writes an emoji in a
    # title as an escape such as \U0001F623, which staff would then see in the file.
    # One line a key, however long: a value PyYAML folds onto a second line is only half
    # changed below, which YAML then cannot read.
    text = frontmatter.dumps(document, sort_keys=False, Dumper=yaml.SafeDumper, width=10**6)
    # Texts as staff type them, without YAML's quotes where publisher reads them the same
    # (title: Don't sit: here is why), and an empty summary and photo to write after, not
    # between, quotes.
    rows = text.split("\n")
    for number, row in enumerate(rows):
        key = row.partition(":")[0]
        if key in ("summary", "image", "image_alt") and row == f"{key}: ''":
            rows[number] = f"{key}:"
        elif key in ("title", "author") and "\n" not in str(document[key]):
            plain = f"{key}: {document[key]}"
            try:
                same = parse_front_matter(plain, path.name)[0] == {key: document[key]}
            except ContentError:
                same = False
            if same:
                rows[number] = plain
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
