"""Writing the site: into a staging folder, then swapped in whole, so no half-written site is ever seen."""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from publisher.exceptions import PublisherError
from publisher.render.site import OutputFile

MARKER = ".publisher-output"
MARKER_TEXT = b"This folder is written by publisher build; edits here are lost.\n"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass
class WriteStats:
    """How many files a write produced, and how many of them were new or changed."""

    files: int = 0
    changed: int = 0
    unchanged: int = 0


def check_output_folder(output: Path) -> None:
    """Refuse to replace a folder that publisher did not make (a typo must not wipe a home folder)."""
    if output.exists() and not output.is_dir():
        raise PublisherError(
            f"output {output} is a file, not a folder: set [site] output to a folder"
        )
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise PublisherError(
            f"output folder {output} has files that publisher did not write; it is replaced on "
            "every build, so point [site] output at a new or empty folder"
        )


def write_tree(files: Iterable[OutputFile], output: Path) -> WriteStats:
    """Write every file into a staging folder beside `output`, then swap it in at once.

    A file whose bytes equal the current output's is hard-linked, not rewritten, so its
    timestamp stays and rsync or a browser sees nothing new. If anything fails, the staging
    folder is removed and the current output is left exactly as it was.
    """
    check_output_folder(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.staging-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    stats = WriteStats()
    try:
        staging.mkdir()
        made_dirs: set[str] = set()
        marker = OutputFile(MARKER, MARKER_TEXT)
        for item in itertools.chain([marker], files):
            relative = item.path
            if relative.startswith("/") or ".." in relative.split("/"):
                raise PublisherError(f"refusing to write outside the output folder: {relative!r}")
            target = staging / relative
            parent = target.parent.as_posix()
            if parent not in made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(parent)
            current = output / relative
            if _same_as_current(item, current):
                os.link(current, target)
                stats.unchanged += 1
            elif item.data is not None:
                target.write_bytes(item.data)
                stats.changed += 1
            else:
                assert item.source is not None
                shutil.copy2(item.source, target)
                stats.changed += 1
            stats.files += 1
        _swap_in(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)  # after the swap this holds the old site
    return stats


def _same_as_current(item: OutputFile, current: Path) -> bool:
    try:
        info = current.stat()
    except OSError:
        return False
    if item.data is not None:
        if info.st_size != len(item.data):
            return False
        with open(current, "rb") as handle:
            return handle.read() == item.data
    assert item.source is not None
    source = item.source.stat()
    # Copies keep the source's modification time, so size and time identify an unchanged copy.
    return source.st_size == info.st_size and source.st_mtime_ns == info.st_mtime_ns


def _swap_in(staging: Path, output: Path) -> None:
    """Put staging where output is; the old output ends up at staging's path."""
    if not output.exists():
        os.rename(staging, output)
        staging.mkdir()
        return
    if _exchange(staging, output):
        return
    retired = output.with_name(f".{output.name}.old-{os.getpid()}")
    os.rename(output, retired)
    os.rename(staging, output)
    os.rename(retired, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step where the system can (Linux renameat2)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0
