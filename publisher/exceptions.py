"""The whole error hierarchy: each error says what happened, where, and what to do."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path


class PublisherError(Exception):
    """Base of every error publisher raises on purpose; its text is for a person."""


class Stopped(PublisherError):
    """Told to stop (SIGTERM, the service's stop) before the work began: none was done."""


class ConfigError(PublisherError):
    """A problem in config.toml, naming the key (and its line, where it is written)."""

    def __init__(
        self,
        message: str,
        key: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
    ):
        self.key = key
        self.path = str(path) if path is not None else None
        self.message = message
        self.line = line
        where = self.path or "config.toml"
        if line is not None:
            where += f":{line}"
        prefix = f"{where}: [{key}] " if key else f"{where}: "
        super().__init__(prefix + message)

    def __reduce__(self) -> tuple[object, ...]:  # pickled with what __init__ takes
        return (type(self), (self.message, self.key, self.path, self.line))


class ContentError(PublisherError):
    """A problem in a post, with its file and line."""

    def __init__(
        self,
        message: str,
        path: Path | str,
        line: int | None = None,
        *,
        needs: Path | str | None = None,
    ):
        self.path = str(path)
        self.line = line
        self.message = message
        # a file the post names that putting right settles this (a photo not there yet, or
        # damaged): the build reads the post again when that file changes
        self.needs = str(needs) if needs is not None else None
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[object, ...]:  # kept in the build cache with pickle
        return (type(self), (self.message, self.path, self.line))


class ContentWarning(ContentError):
    """Something in a post that is likely a mistake but stops nothing, with its file and line."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: warning: {self.message}"


class ChannelProblem(ContentError):
    """What Facebook or Instagram would refuse of a post (no photo, a caption too long): the
    website still takes the post; that channel's delivery fails at its time."""


class TemplateError(ContentError):
    """A problem in one of the site's templates (not a post), with its file and line."""


class ChannelError(PublisherError):
    """A delivery failed; `transient` says whether trying again later can help."""

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        transient: bool,
        code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ):
        self.channel = channel
        self.transient = transient
        self.code = code
        self.subcode = subcode
        self.retry_after = retry_after
        self.message = message
        super().__init__(f"{channel}: {message}")

    def __reduce__(self) -> tuple[object, ...]:  # pickled with what __init__ takes
        return (_remake_channel_error, (type(self), self.message, dict(self.__dict__)))


class OutcomeUnknown(ChannelError):
    """The request may or may not have created something remotely: reconcile before retrying."""

    def __init__(self, message: str, *, channel: str):
        super().__init__(message, channel=channel, transient=True)


def _remake_channel_error(kind: type, message: str, state: dict[str, object]) -> ChannelError:
    error = ChannelError.__new__(kind)
    PublisherError.__init__(error, f"{state['channel']}: {message}")
    error.__dict__.update(state)
    return error


def full_disks(paths: Iterable[Path]) -> list[str]:
    """Those of `paths` (or the nearest folder of each that exists) on a disk with less
    than 1 MB free, one per disk."""
    found: dict[int, str] = {}
    for path in paths:
        folder = Path(path)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            disk = os.stat(folder).st_dev
            free = os.statvfs(folder)
        except OSError:
            continue
        if free.f_bavail * free.f_frsize < 1 << 20 and disk not in found:
            found[disk] = str(path)
    return list(found.values())


def describe_failure(exc: BaseException, near: Iterable[Path] = ()) -> str:
    """One line for a person about a failure of the system under publisher (a file it
    cannot write, a full disk, a damaged database), where publisher's own errors say more.
    `near`: the files publisher writes (the ledger, the site...), to name the full disk
    when the error names no file."""
    if isinstance(exc, OSError):
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        # a copy names the file it read first and the one it wrote second: the full disk's
        name = exc.filename2 if full and exc.filename2 else exc.filename
        where = f": {os.fsdecode(name)}" if name else ""
        if full and not name:
            disks = full_disks(near)
            where = f" (the disk of {' and of '.join(disks)} is full)" if disks else ""
        what = exc.strerror or str(exc)
        if full:
            return f"{what}{where}: free some space on that disk, then run it again (nothing half-written was kept)"
        if isinstance(exc, PermissionError) and exc.filename:
            from publisher.ownership import cannot_read, cannot_write

            path = Path(os.fsdecode(exc.filename))
            # (a file there that may not be read: a photo, a template, config.toml)
            # (os.path: a folder on the way that may not be entered is no file, not an error)
            unreadable = os.path.isfile(path) and not os.access(path, os.R_OK)
            advice = cannot_read(path) if unreadable else cannot_write([path, path.parent])
            if advice:
                return f"{what}{where}: {advice}"
        return (
            f"{what}{where}: check that the user running publisher can write there and that "
            "the disk has room, then run it again (nothing half-written was kept)"
        )
    text = str(exc)
    if "malformed" in text or "not a database" in text:
        return (
            f"a database file is damaged ({text}): if it is the ledger (publisher.db), restore "
            "it from a backup; the build cache (.cache/) can simply be deleted"
        )
    if "full" in text:
        return f"{text}: free some disk space, then run it again"
    if "readonly" in text or "unable to open" in text:
        return (
            f"a database could not be written ({text}): the user running publisher must own "
            "the ledger (publisher.db and the files beside it) and the cache (.cache/): check "
            "with  ls -la  and run publisher as that user (see the README, Install the service)"
        )
    return f"a database could not be used ({text}): run it again; if it says the same, see the README (Disk, cache and speed)"
