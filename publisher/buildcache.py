"""What a build remembers between runs: each post's parsed and rendered result, by its inputs.

An entry is valid only while everything it was made from is unchanged: the post file's
bytes (seen through its size, modification time and inode), the images it names, the
config file, the templates and publisher's own version. Nothing expires by clock alone,
and deleting the cache folder only costs time.
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import publisher
from publisher.buildcodec import decode, encode
from publisher.config import Config
from publisher.exceptions import PublisherError, describe_failure
from publisher.files import folder_files, status
from publisher.ownership import cannot_write, make_folders

# Bump when what is cached changes shape or meaning.
CACHE_FORMAT = "build-23"  # 23: the photo files of a page; 22: photos without where they were taken; 21: a photo the text shows is not shown above it again; 20: iPhone HEIC photos as JPEGs; 19: links to other posts' files; 18: bullets pasted from a word processor; 17: footnotes; 16: tag pages of tags in other scripts; 15: marks kept in the words of a first heading; 14: how updated: and a first heading are read; 13: updated:, headings under the title; 12: the cards' copy of wide photos; 11: links under the base path
SCHEMA_VERSION = 5  # 5: entries say which release made them (made_by), kept ones by that alone

Signature = tuple[int, int, int]  # size, mtime_ns, inode


def file_signature(path: Path | str) -> Signature | None:
    """A cheap stand-in for a file's bytes: changes whenever the file is written."""
    info = status(path)  # once per build (files.snapshot)
    return None if info is None else (info.st_size, info.st_mtime_ns, info.st_ino)


def folder_fingerprint(folder: Path) -> str:
    """A hash of every file's path and bytes under `folder` (templates: small and few)."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in folder_files(folder):
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _made_by() -> str:
    """What a cached entry's shape depends on: this release of publisher and its format.
    A kept version (BuildIndex.load_kept) is read back whenever this is the same."""
    return f"{CACHE_FORMAT}\0{publisher.__version__}"


def environment_fingerprint(config: Config) -> str:
    """What every cached page depends on besides its post: config, templates, version."""
    digest = hashlib.sha256()
    digest.update(f"{_made_by()}\0".encode())
    digest.update(repr(config).encode())
    digest.update(folder_fingerprint(config.templates_dir / "site").encode())
    return digest.hexdigest()


@dataclass
class Prepared:
    """One post file after reading (and, when published, rendering): what the build keeps."""

    display: str
    signature: Signature | None
    depends: dict[str, Signature | None] = field(default_factory=dict)
    post: Any = None  # publisher.content.Post, or None when it has problems
    problems: list[Any] = field(default_factory=list)  # ContentError
    page: Any = None  # publisher.build.PageResult, when rendered
    # the entry as the index keeps it, when a worker process already encoded it
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    def to_bytes(self) -> bytes:
        """The entry as the index keeps it (the post without its text)."""
        if self.encoded is None:
            self.encoded = encode(self.depends, slim(self.post), self.problems, self.page)
        return self.encoded

    @classmethod
    def from_bytes(
        cls, display: str, signature: Signature | None, data: bytes, *, keep: bool = True
    ) -> Prepared:
        """The entry to_bytes() made (`keep`: hold on to the bytes, to store them)."""
        depends, post, problems, page = decode(data)
        return cls(display, signature, depends, post, problems, page, data if keep else None)

    def still_valid(self, signature: Signature | None) -> bool:
        """True while the file and every image it names are as they were."""
        if signature is None or signature != self.signature:
            return False
        return all(file_signature(p) == s for p, s in self.depends.items())


def _signature(text: str | None) -> Signature | None:
    """A file signature as the index keeps it (three numbers in a string)."""
    return tuple(int(n) for n in text.split()) if text else None  # type: ignore[return-value]


def slim(post: Any) -> Any:
    """A post without its text (the build keeps pages, not articles; the text is in the file)."""
    if post is None:
        return None
    from dataclasses import replace

    return replace(post, body="")


class BuildIndex:
    """Prepared posts by file, in SQLite under the cache folder; one environment at a time."""

    def __init__(self, folder: Path, environment: str):
        make_folders(folder)
        self.environment = environment
        path = self.path = folder / "build-index.sqlite"
        try:
            self._open(path)
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "db"):  # (none when the file could not even be opened)
                self.db.close()
            if any(
                word in str(exc)
                for word in ("full", "disk I/O", "locked", "unable to open", "readonly")
            ):
                # not the index's fault (a full disk, files this user cannot write: a
                # `sudo publisher build` made them root's), and starting afresh would not
                # help: it is kept, with the last good versions of live posts it holds
                raise _cannot_use(path, exc) from None
            # A damaged index (a crash, a stray file) is only lost time: start a new one.
            for leftover in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                leftover.unlink(missing_ok=True)
            self._open(path)

    def _open(self, path: Path) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            # An index from another version of publisher: start afresh (it is only a cache).
            self.db.execute("DROP TABLE IF EXISTS prepared")
            self.db.execute("DROP TABLE IF EXISTS state")
            self.db.execute("DROP TABLE IF EXISTS kept")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS prepared (display TEXT PRIMARY KEY, environment TEXT, "
            "made_by TEXT, signature TEXT, entry BLOB)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB)")
        # the last good version of a published post whose file has a problem now (SiteState.kept),
        # and the release that made it: it outlives a change of templates or config
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS kept (display TEXT PRIMARY KEY, made_by TEXT, entry BLOB)"
        )

    def load_all(self) -> dict[str, Prepared]:
        """Every entry made in this environment (config, templates, version)."""
        out: dict[str, Prepared] = {}
        rows = self.db.execute(
            "SELECT display, signature, entry FROM prepared WHERE environment = ?",
            (self.environment,),
        )
        for display, signature, entry in rows:
            try:
                # keep=False: already stored
                out[display] = Prepared.from_bytes(
                    display, _signature(signature), entry, keep=False
                )
            except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
                continue
        return out

    def load_earlier(self, displays: Iterable[str]) -> dict[str, Prepared]:
        """The entries of a few files as this release last made them, in whatever
        environment (templates, config) they were made: for a page to keep (load_kept)."""
        out: dict[str, Prepared] = {}
        for display in displays:
            row = self.db.execute(
                "SELECT signature, entry FROM prepared WHERE display = ? AND made_by = ?",
                (display, _made_by()),
            ).fetchone()
            if row is None:
                continue
            try:
                out[display] = Prepared.from_bytes(display, _signature(row[0]), row[1], keep=False)
            except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
                continue
        return out

    def load_kept(self) -> dict[str, Prepared]:
        """The last good versions kept for files that have a problem (usually none): as they
        were built, whatever the templates and config are now (a page that comes down breaks
        the links already out on Facebook and Instagram), by this release of publisher."""
        out: dict[str, Prepared] = {}
        rows = self.db.execute("SELECT display, entry FROM kept WHERE made_by = ?", (_made_by(),))
        for display, entry in rows:
            try:
                out[display] = Prepared.from_bytes(display, None, entry, keep=False)
            except Exception:  # noqa: BLE001 - a damaged entry is a miss, never an error
                continue
        return out

    def store(
        self,
        items: list[Prepared],
        forget: list[str],
        keep: list[Prepared] | None = None,
        unkeep: list[str] | None = None,
    ) -> None:
        """Keep new entries and drop those of files that are gone, in one transaction;
        `keep` and `unkeep`: last good versions to keep and to drop (load_kept)."""
        if not items and not forget and not keep and not unkeep:
            return
        with self._writing():
            self._store(items, forget, keep, unkeep)
        for item in items:
            item.encoded = None  # stored: no need to hold the bytes

    def _store(
        self,
        items: list[Prepared],
        forget: list[str],
        keep: list[Prepared] | None,
        unkeep: list[str] | None,
    ) -> None:
        made_by = _made_by()
        self.db.execute("BEGIN")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO prepared (display, environment, made_by, signature, entry) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        p.display,
                        self.environment,
                        made_by,
                        " ".join(map(str, p.signature)) if p.signature else None,
                        p.to_bytes(),
                    )
                    for p in items
                ],
            )
            self.db.executemany("DELETE FROM prepared WHERE display = ?", [(d,) for d in forget])
            self.db.execute("DELETE FROM prepared WHERE environment != ?", (self.environment,))
            self.db.executemany("DELETE FROM kept WHERE display = ?", [(d,) for d in unkeep or ()])
            self.db.executemany(
                "INSERT OR REPLACE INTO kept (display, made_by, entry) VALUES (?, ?, ?)",
                [(p.display, made_by, p.to_bytes()) for p in keep or ()],
            )
            self.db.execute("DELETE FROM kept WHERE made_by != ?", (made_by,))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_state(self, key: str) -> Any:
        """A value kept from the last build (its fingerprint...)."""
        return _state_value(self.db, key)

    def set_state(self, key: str, value: Any) -> None:
        """Keep a value for the next build."""
        with self._writing():
            self.db.execute(
                "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                (key, pickle.dumps(value)),
            )

    def forget_state(self, *keys: str) -> None:
        """Drop values kept under `keys` (those an earlier release kept, under another key)."""
        marks = ",".join("?" * len(keys))
        with self._writing():
            self.db.execute(f"DELETE FROM state WHERE key IN ({marks})", keys)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write to the index whose failure (a full disk...) names the index."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise _cannot_use(self.path, exc) from None

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def _state_value(db: sqlite3.Connection, key: str) -> Any:
    """The value the index's state table keeps under `key`, or None."""
    row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    try:
        return pickle.loads(row[0]) if row else None
    except Exception:  # noqa: BLE001 - a value that cannot be read is a miss, never an error
        return None


def remembered_state(folder: Path, key: str) -> Any:
    """A value the last build kept (BuildIndex.get_state), read without making or changing
    the cache in `folder`: for a command that only looks (`check`). None when there is no
    cache, or it cannot be read (the build then says why)."""
    path = folder / "build-index.sqlite"
    try:
        if not path.is_file():
            return None
        # with no write-ahead log (no build has the index open), read the file as it is:
        # without it, SQLite would leave a log and shared memory of this user's beside it
        still = "" if path.with_name(path.name + "-wal").exists() else "&immutable=1"
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro{still}", uri=True, timeout=30)
    except (OSError, sqlite3.Error):  # (a folder this user may not look into)
        return None
    try:
        return _state_value(db, key)
    except sqlite3.Error:
        return None
    finally:
        db.close()


def _cannot_use(path: Path, exc: sqlite3.Error) -> PublisherError:
    """The error for a build index SQLite could not open or write: where, and what to do.
    SQLite says 'disk I/O error' when a full disk leaves no room for its shared memory."""
    try:
        full = "full" in str(exc) or shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        full = False
    index = [path.parent, path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))]
    if full:
        advice = (
            "the disk is full: free some space on it (the cache folder is safe to delete), "
            "then run it again (nothing half-written was kept)"
        )
    elif (blocked := cannot_write(index)) is not None:
        return PublisherError(
            f"the build cache in {path.parent} cannot be written ({exc}): {blocked}; or delete "
            f"{path.parent} (the cache is safe to delete: the next build takes longer)"
        )
    else:
        advice = describe_failure(exc)
    return PublisherError(f"{path}: the build cache cannot be used ({exc}): {advice}")
