"""Files as one build sees them: each folder resolved and each image asked about once.

A post names its photo in several places (the hero, the page's meta tags, the cache's record
of what it depends on), and ten thousand posts keep their photos in one folder; asking the
system again each time cost a tenth of a post's rendering. Inside `snapshot()` answers are
kept; outside it (and after it ends) every call asks the system afresh, so a long-running
service or preview server never sees a file as it was before.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# In a built site: the file that names its build (written by publisher.output; here, so
# that a publishing pass can look for it without loading the build's code).
SITE_MARKER = ".publisher-output"

# What editors write beside a file while it is open or being saved, and take away again:
# vim's swap files (.NAME.swp, .swo... .swx) and its test of the folder (4913), emacs's lock
# (.#NAME) and auto-save (#NAME#), backups (NAME~), GNOME's saves (.goutputstream-XXXXXX),
# LibreOffice's lock (.~lock.NAME#), `sed -i`'s copy (sedXXXXXX). Not a change to the site,
# nor part of it.
_EDITOR_SCRATCH = re.compile(
    r"\.[^/]*\.sw[a-px]|4913|\.#[^/]*|#[^/]*#|[^/]*~|\.goutputstream-[^/]*|\.~lock\.[^/]*#"
    r"|sed[A-Za-z0-9]{6}"
)


def is_editor_scratch(name: str) -> bool:
    """Whether a file name is one of an editor's passing files (see _EDITOR_SCRATCH)."""
    if name[:1] not in ".#" and name[-1:] != "~" and name != "4913" and name[:3] != "sed":
        return False  # at once, for the thousands of posts and photos a pass looks at
    return _EDITOR_SCRATCH.fullmatch(name) is not None


def folder_files(folder: Path) -> list[Path]:
    """The files under a folder (templates, the site's static files), in order, without an
    editor's passing files: one open on a template is no change to the site."""
    found = [
        path
        for path in sorted(folder.rglob("*"))
        if not is_editor_scratch(path.name) and path.is_file()
    ]
    for path in found:
        try:
            str(path).encode()
        except UnicodeEncodeError:  # no page, manifest or hash can name it
            from publisher.exceptions import PublisherError

            written = os.fsencode(path).decode("utf-8", "backslashreplace")
            readable = os.fsencode(path.name).decode("cp1252", "replace")
            raise PublisherError(
                f"{written}: the file's name is not UTF-8 text (it came from an older Windows "
                f"or Mac disk): rename it, for example to {readable}"
            ) from None
    return found


_depth = 0
_stats: dict[str, os.stat_result | None] = {}
_real_folders: dict[str, str] = {}  # folder as written -> the folder it really is


@contextmanager
def snapshot() -> Iterator[None]:
    """Keep what is learnt about files until the outermost snapshot ends."""
    global _depth
    if _depth == 0:
        _forget()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _forget()


def _forget() -> None:
    _stats.clear()
    _real_folders.clear()


def status(path: Path | str) -> os.stat_result | None:
    """os.stat(path), or None when there is no such file."""
    key = os.fspath(path)
    if _depth and key in _stats:
        return _stats[key]
    try:
        info: os.stat_result | None = os.stat(key)
    except OSError:
        info = None
    if _depth:
        _stats[key] = info
    return info


def existing_status(path: Path | str) -> os.stat_result:
    """status(path) of a file that must be there: FileNotFoundError if it is not."""
    info = status(path)
    if info is None:
        raise FileNotFoundError(f"{path} is gone")
    return info


def is_file(path: Path | str) -> bool:
    """Path.is_file(), from status()."""
    info = status(path)
    return info is not None and stat_module.S_ISREG(info.st_mode)


def spelled_otherwise(path: Path) -> Path | None:
    """The file `path` names, when the file's name writes an accented letter the other way:
    as one character (NFC, what a keyboard types) or as a letter and an accent (NFD, what
    macOS gives a name it copies, over a network share for one). Both look the same, and
    Linux tells them apart. None when there is no such file (or the name is plain ASCII)."""
    wanted = unicodedata.normalize("NFC", path.name)
    if wanted.isascii():
        return None
    try:
        names = os.listdir(path.parent)
    except OSError:
        return None
    for name in names:
        if name != path.name and unicodedata.normalize("NFC", name) == wanted:
            found = path.parent / name
            return found if is_file(found) else None
    return None


def real_path(path: Path) -> Path:
    """path.resolve(), quicker for many files in a few folders: within a snapshot each folder
    is resolved once, then only the file itself is looked at, in case it is a link."""
    folder, name = os.path.split(path)
    if name in ("", ".", ".."):
        return path.resolve()
    real = _real_folders.get(folder) if _depth else None
    if real is None:
        real = os.path.realpath(folder)
        if _depth:
            _real_folders[folder] = real
    full = os.path.join(real, name)
    return Path(os.path.realpath(full) if os.path.islink(full) else full)


def is_inside(path: Path, folder: Path) -> bool:
    """True when the resolved `path` is below the resolved `folder`."""
    return os.fspath(path).startswith(os.path.join(folder, ""))
