"""A compact, quick form of the build cache's entries.

Loading every entry is most of the time of a rebuild after one post changed, and pickle
spends it on the general machinery (finding classes, rebuilding paths). An entry here is
plain tuples, strings and numbers in `marshal`, and becomes its objects again by direct
calls. Anything this form does not know (a new field type, say) falls back to pickle, so
the cache stays correct. Whoever adds a field to one of the classes in _FIELDS adds it
there too and bumps CACHE_FORMAT in buildcache.py, so that entries written before are
not read with the new layout (tests/test_incremental.py checks _FIELDS against them).
"""

from __future__ import annotations

import dataclasses
import functools
import marshal
import pickle
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

MARSHAL = b"M"
PICKLE = b"P"


class _Unknown(Exception):
    """A value this form does not handle: use pickle."""


# The fields this form writes, in order; a class that has others is written with pickle.
_FIELDS = {
    "Post": (
        "source", "display", "title", "date", "slug", "author", "body", "body_line", "summary",
        "image", "image_alt", "tags", "draft", "facebook", "instagram", "lines", "digest",
        "updated",
    ),
    "ChannelOptions": ("enabled", "at", "text", "hashtags"),
    "PageResult": ("path", "page_blob", "html_blob", "images", "card", "links", "sources"),
    "Card": (
        "post", "path", "image", "description", "summary", "reading_minutes", "key",
    ),
    "CardPost": ("slug", "title", "date", "author", "image_alt", "tags", "display", "updated"),
    "ImageRef": ("url", "width", "height", "small"),
}  # fmt: skip
_CHECKED: set[type] = set()


def _known(value: Any) -> Any:
    """`value` itself, when its class has exactly the fields this form knows."""
    kind = type(value)
    if kind not in _CHECKED:
        names = tuple(f.name for f in dataclasses.fields(value))
        if _FIELDS.get(kind.__name__) != names:
            raise _Unknown(kind)
        _CHECKED.add(kind)
    return value


def _when(value: datetime | None) -> tuple[Any, ...] | None:
    if value is None:
        return None
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        zone: str | float | None = tz.key
    elif isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        zone = offset.total_seconds()
    elif tz is None:
        zone = None
    else:
        raise _Unknown(tz)
    return (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        value.fold,
        zone,
    )


_ZONES: dict[Any, Any] = {}


def _zone(key: str | float | None) -> Any:
    zone = _ZONES.get(key)
    if zone is None and key is not None:
        zone = ZoneInfo(key) if isinstance(key, str) else timezone(timedelta(seconds=key))
        _ZONES[key] = zone
    return zone


def _from_when(data: tuple[Any, ...] | None) -> datetime | None:
    if data is None:
        return None
    year, month, day, hour, minute, second, micro, fold, zone = data
    return datetime(year, month, day, hour, minute, second, micro, _zone(zone), fold=fold)


def _text(value: Any) -> Any:
    if value is not None and type(value) is not str:
        raise _Unknown(value)
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if type(value) is not tuple or any(type(v) is not str for v in value):
        raise _Unknown(value)
    return value


def _channel(options: Any) -> tuple[Any, ...]:
    _known(options)
    return (
        bool(options.enabled),
        _when(options.at),
        _text(options.text),
        _strings(options.hashtags),
    )


def _post(post: Any) -> tuple[Any, ...] | None:
    if post is None:
        return None
    _known(post)
    if type(post.lines) is not dict:
        raise _Unknown(post.lines)
    return (
        str(post.source),
        _text(post.display),
        _text(post.title),
        _when(post.date),
        _text(post.slug),
        _text(post.author),
        _text(post.body),
        int(post.body_line),
        _text(post.summary),
        None if post.image is None else str(post.image),
        _text(post.image_alt),
        _strings(post.tags),
        bool(post.draft),
        _channel(post.facebook),
        _channel(post.instagram),
        post.lines,
        _text(post.digest),
        _when(post.updated),
    )


def _card_post(post: Any) -> tuple[Any, ...]:
    return (
        post.slug,
        post.title,
        post.date,
        post.author,
        post.image_alt,
        post.tags,
        post.display,
        post.updated,
    )


def _page(page: Any, post: Any) -> tuple[Any, ...] | None:
    if page is None:
        return None
    card = _known(_known(page).card)
    slim = _known(card.post)
    image = card.image if card.image is None else _known(card.image)
    return (
        _text(page.path),
        _text(page.page_blob),
        _text(page.html_blob),
        tuple((_text(name), _text(blob)) for name, blob in page.images),
        # the card's few facts of the post, unless they are the post's own (as they are)
        None
        if post is not None and _card_post(slim) == _card_post(post)
        else (
            _text(slim.slug),
            _text(slim.title),
            _when(slim.date),
            _text(slim.author),
            _text(slim.image_alt),
            _strings(slim.tags),
            _text(slim.display),
            _when(slim.updated),
        ),
        _text(card.path),
        None
        if image is None
        else (
            _text(image.url),
            int(image.width),
            int(image.height),
            None if image.small is None else (_text(image.small[0]), *map(int, image.small[1:])),
        ),
        _text(card.description),
        _text(card.summary),
        int(card.reading_minutes),
        _text(card.key),
        tuple((_text(written), _text(path)) for written, path in page.links),
        tuple(_text(source) for source in page.sources),
    )


def encode(depends: dict[str, Any], post: Any, problems: list[Any], page: Any) -> bytes:
    """One entry's parts as bytes (marshal when it can, else pickle)."""
    try:
        data = (
            tuple((path, signature) for path, signature in depends.items()),
            _post(post),
            pickle.dumps(problems) if problems else b"",
            _page(page, post),
        )
        return MARSHAL + marshal.dumps(data)
    except (_Unknown, ValueError, TypeError, AttributeError):
        return PICKLE + pickle.dumps((depends, post, problems, page))


def _quick_maker(kind: type) -> Callable[..., Any]:
    """A maker of `kind` from its fields' values in order, as its __init__ would make it
    but without a frozen dataclass's object.__setattr__ for each field (loading 10,000
    entries makes 90,000 objects). The class itself when it does more than keep its fields
    (a __post_init__, slots) or has others than _FIELDS says."""
    names = _FIELDS[kind.__name__]
    if (
        not dataclasses.is_dataclass(kind)
        or hasattr(kind, "__post_init__")
        or "__slots__" in vars(kind)
        or tuple(f.name for f in dataclasses.fields(kind)) != names
    ):
        return kind
    body = "".join(f"    fields[{name!r}] = {name}\n" for name in names)
    source = (
        f"def make({', '.join(names)}):\n    made = new(kind)\n    fields = made.__dict__\n"
        f"{body}    return made\n"
    )
    scope = {"new": object.__new__, "kind": kind}
    exec(source, scope)  # (as dataclasses makes __init__)
    return scope["make"]  # type: ignore[no-any-return]


def _quick_path_maker() -> Callable[[str], Path]:
    """Path(text), quicker for the plain paths the cache keeps ('posts/a.md', '/srv/x.jpg'):
    Python 3.11's pathlib makes a path of parts already split without parsing them again
    (parsing was a third of loading an entry). Anything else (another Python, a '.' or an
    empty part, a path that does not come out equal) goes through Path()."""
    kind = type(Path())
    made = getattr(kind, "_from_parsed_parts", None)
    if sys.version_info[:2] != (3, 11) or made is None:
        return Path

    def path(text: str) -> Path:
        parts = text.split("/")
        if parts[0] == "":  # absolute
            parts[0] = "/"
            if "" in parts or "." in parts or text[:2] == "//":
                return Path(text)
            return made("", "/", parts)  # type: ignore[no-any-return]
        if "" in parts or "." in parts:
            return Path(text)
        return made("", "", parts)  # type: ignore[no-any-return]

    for sample in ("posts/a.md", "/srv/site/images/b c.jpg", "x"):
        quick = path(sample)
        if quick != Path(sample) or str(quick) != sample or quick.parts != Path(sample).parts:
            return Path
    return path


@functools.cache
def _classes() -> tuple[Callable[..., Any], ...]:
    from publisher.build import PageResult
    from publisher.content import ChannelOptions, Post
    from publisher.render.markdown import ImageRef
    from publisher.render.site import Card, CardPost

    kinds = (ChannelOptions, Post, PageResult, Card, CardPost, ImageRef)
    return (*(_quick_maker(kind) for kind in kinds), _quick_path_maker())


def decode(blob: bytes) -> tuple[dict[str, Any], Any, list[Any], Any]:
    """The parts encode() was given (depends, post, problems, page)."""
    if blob[:1] == PICKLE:
        return pickle.loads(blob[1:])
    if blob[:1] != MARSHAL:
        raise ValueError("not a build cache entry")
    ChannelOptions, Post, PageResult, Card, CardPost, ImageRef, make_path = _classes()
    depends_data, post_data, problems_data, page_data = marshal.loads(blob[1:])
    depends = {path: signature for path, signature in depends_data}
    post = None
    if post_data is not None:
        (source, display, title, date, slug, author, body, body_line, summary, image, image_alt,
         tags, draft, facebook, instagram, lines, digest, updated) = post_data  # fmt: skip
        post = Post(
            make_path(source),
            display,
            title,
            _from_when(date),
            slug,
            author,
            body,
            body_line,
            summary,
            None if image is None else make_path(image),
            image_alt,
            tags,
            draft,
            ChannelOptions(facebook[0], _from_when(facebook[1]), facebook[2], facebook[3]),
            ChannelOptions(instagram[0], _from_when(instagram[1]), instagram[2], instagram[3]),
            lines,
            digest,
            _from_when(updated),
        )
    problems = pickle.loads(problems_data) if problems_data else []
    page = None
    if page_data is not None:
        (path, page_blob, html_blob, images, slim, card_path, image_ref, description, summary,
         minutes, key, links, sources) = page_data  # fmt: skip
        if slim is None:  # the post's own
            card_post = CardPost(*_card_post(post))
        else:
            slug, title, date, author, image_alt, tags, slim_display, updated = slim
            card_post = CardPost(
                slug,
                title,
                _from_when(date),
                author,
                image_alt,
                tags,
                slim_display,
                _from_when(updated),
            )
        card = Card(
            card_post,
            card_path,
            None if image_ref is None else ImageRef(*image_ref),
            description,
            summary,
            minutes,
            key,
        )
        page = PageResult(path, page_blob, html_blob, images, card, links, sources)
    return depends, post, problems, page
