"""A cache of finished work that survives between runs; safe to delete at any time."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path


def content_key(*parts: bytes | str) -> str:
    """A key for work whose result depends only on `parts` (file bytes, settings, versions)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


_MADE: set[str] = set()  # cache folders known to exist in this process


class Cache:
    """Files named by content keys under one folder; a missing or broken entry is just a miss."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, kind: str, key: str, suffix: str = "") -> Path:
        """Where the entry for `key` lives."""
        return Path(self.location(kind, key, suffix))

    def location(self, kind: str, key: str, suffix: str = "") -> str:
        """path() as a string, without making a Path (a build asks for tens of thousands).

        One folder per kind, not split by the key's first characters: file systems index
        big folders well, and a first build then makes 256 folders fewer (each a block to
        find and write, on ext4 in a block group of its own; three processes asking for
        each)."""
        return f"{self.folder}{os.sep}{kind}{os.sep}{key}{suffix}"

    def get(self, kind: str, key: str, suffix: str = "") -> bytes | None:
        """The cached bytes, or None."""
        try:
            return self.path(kind, key, suffix).read_bytes()
        except OSError:
            return None

    def put(self, kind: str, key: str, data: bytes, suffix: str = "") -> Path:
        """Store bytes atomically (a reader never sees half an entry); returns the path."""
        target = self.location(kind, key, suffix)
        try:
            return self._put(target, data)
        except OSError as exc:
            if exc.filename is not None:
                raise
            # a write that failed (a full disk) names no file: the entry it was for
            raise OSError(exc.errno, exc.strerror, target) from None

    def _put(self, target: str, data: bytes) -> Path:
        folder = os.path.dirname(target)
        if folder not in _MADE:
            os.makedirs(folder, exist_ok=True)
            _MADE.add(folder)
        if _LINK_UNNAMED[0] and _put_unnamed(folder, target, data):
            return Path(target)
        temporary = f"{target}.{os.getpid()}.tmp"
        # Cached files end up in the public site (Instagram fetches them): world-readable.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            handle = os.open(temporary, flags, 0o644)
        except FileNotFoundError:  # the cache was deleted while we ran: make it again
            os.makedirs(folder, exist_ok=True)
            handle = os.open(temporary, flags, 0o644)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                if not _umask_keeps_644():
                    os.fchmod(handle, 0o644)  # whatever the umask
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Path(target)


# Whether a file can be written unnamed and then linked under its name (Linux's O_TMPFILE
# and /proc/self/fd): one change to the folder instead of three for a temporary name and a
# rename, which on a slow disk is most of what storing a page costs. Off for good in this
# process at the first sign the file system or the system cannot.
_LINK_UNNAMED = [hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")]
_ROOT: list[int] = []  # a folder descriptor, only so that os.link calls linkat()


def _put_unnamed(folder: str, target: str, data: bytes) -> bool:
    """Write data as a file with no name in folder, then link it as target; False (nothing
    written) where that cannot be done here."""
    try:
        try:
            handle = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o644)
        except FileNotFoundError:  # the cache was deleted while we ran: make it again
            os.makedirs(folder, exist_ok=True)
            handle = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except FileNotFoundError:
        return False  # deleted again: the temporary name and rename will say what is wrong
    except OSError:  # no O_TMPFILE on this file system
        _LINK_UNNAMED[0] = False
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        if not _umask_keeps_644():
            os.fchmod(handle, 0o644)  # whatever the umask
        if not _ROOT:
            _ROOT.append(os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        try:
            # linkat(..., AT_SYMLINK_FOLLOW) on /proc/self/fd/N names the unnamed file
            os.link(f"/proc/self/fd/{handle}", target, src_dir_fd=_ROOT[0])
        except FileExistsError:
            pass  # another process stored the same entry meanwhile: the same bytes
        except OSError:
            _LINK_UNNAMED[0] = False
            return False
    finally:
        os.close(handle)
    return True


@functools.cache
def _umask_keeps_644() -> bool:
    """True when this process's umask leaves a new file's 0o644 as it is (read once, from
    /proc: asking os.umask means changing it for a moment, under every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o644 == 0
    except (OSError, ValueError):
        pass
    return False
