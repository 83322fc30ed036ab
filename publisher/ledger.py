"""The ledger: what was sent where, in SQLite, so that every delivery goes out exactly once.

Before any call that can create something on Meta's side, the intent is committed
(state `sending`). A delivery left in `sending` by a crash, a kill or an unknown
outcome is reconciled against the channel before anything is sent again.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from publisher.exceptions import PublisherError
from publisher.ownership import cannot_read, cannot_write, make_folders

# The states a delivery can be in.
SCHEDULED = "scheduled"  # known, not attempted yet (or sent back by `publisher retry`)
SENDING = "sending"  # intent committed: the outcome of the last call is not known yet
RETRY = "retry"  # failed for a passing reason; tried again at next_attempt_at
PUBLISHED = "published"
FAILED = "failed"  # a person must act (then `publisher retry ID`)
MISSED = "missed"  # too late to go out on its own (then `publisher retry ID`)
SKIPPED = "skipped"  # a person said not to send it
DRY_RUN = "dry-run"  # no token or account id: shown, not sent
STATES = (SCHEDULED, SENDING, RETRY, PUBLISHED, FAILED, MISSED, SKIPPED, DRY_RUN)
DONE_STATES = (PUBLISHED, FAILED, MISSED, SKIPPED, DRY_RUN)

# The ledger as this release makes it, one statement each (they run in one transaction,
# which executescript would commit).
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    due_at TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    intent_at TEXT,
    intent_clock TEXT,
    step TEXT,
    remote_id TEXT,
    container_id TEXT,
    permalink TEXT,
    last_error TEXT,
    content_hash TEXT,
    payload TEXT,
    forced INTEGER NOT NULL DEFAULT 0,
    published_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (slug, channel)
)""",
    """CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
)""",
    "CREATE INDEX IF NOT EXISTS events_by_delivery ON events (delivery_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the attempt log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the attempt log is append-only'); END""",
)


# Ledger meta: when the ledger began to record deliveries (its first pass).
KEEPING_SINCE = "keeping_since"
# Ledger meta: counts what people asked for (retry, skip), for the service to notice.
ASKED = "asked"
# Ledger meta: the post files the last build in a pass listed problems for (their social
# posts wait, as those of a post whose front matter has a problem do).
PAGE_PROBLEMS = "page_problems"
# Ledger meta: the channels the last pass held back, and why (a token problem, Meta's limits).
HELD_CHANNELS = "held"
# Ledger meta: until when the last pass found nothing to do (publish.quiet_holds).
QUIET = "quiet"
# Ledger meta: the deploy command a pass is running now (since when, its time limit, the pass).
DEPLOYING = "deploying"
# each channel's token, as a pass last asked Meta about it: {channel: {at, next, said}}
TOKEN_CHECKS = "token_checks"
TOKEN_HOLDS = "token_holds"  # meta: the channels held since Meta refused their token
SITE_FAILURES = "site_failures"  # meta: failed builds or deploys of the site in a row


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# The ledger's version, kept in SQLite's user_version. Releases before it was kept left 0
# there, whatever their shape: 1 (the first) or 2 (intent_clock added), told apart by their
# columns. A change to SCHEMA comes with the next number and its step in UPGRADES.
LEDGER_VERSION = 3
UNVERSIONED_FIRST, UNVERSIONED_LAST = 1, 2


def _add_intent_clock(db: sqlite3.Connection, now: datetime) -> None:
    """1 to 2: the real clock at each intent. An older intent has none, and reading back
    after its lost answer looks at every recent post (publish._since): a wider look, so
    that a post it made is found whenever Meta stamped it."""
    db.execute("ALTER TABLE deliveries ADD COLUMN intent_clock TEXT")


def _settle_unversioned(db: sqlite3.Connection, now: datetime) -> None:
    """2 to 3: what a release before versions left with another meaning than this one's."""
    # Since when the ledger keeps records is its first event (Ledger.keeping_since), noted
    # before the events below, which carry the upgrade's time.
    first = db.execute("SELECT min(at) FROM events").fetchone()[0]
    if first:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (KEEPING_SINCE, first),
        )
    # An Instagram media_publish answered with a passing error went to `retry`, and the next
    # try made a new container: a second post when Meta had published the first. This
    # release leaves such a delivery in `sending`, its container's status read before
    # anything else (PUBLISHED: out; FINISHED: published once; ERROR or EXPIRED: a new one).
    why = (
        "publisher was upgraded: media_publish of container {container} was answered with a "
        "passing error, and Meta may have published it all the same: its status is read "
        "before anything is sent"
    )
    rows = db.execute(
        "SELECT id, container_id FROM deliveries WHERE channel = 'instagram' AND state = ? "
        "AND step = 'publish' AND container_id IS NOT NULL",
        (RETRY,),
    ).fetchall()
    for delivery_id, container in rows:
        db.execute(
            "UPDATE deliveries SET state = ?, updated_at = ? WHERE id = ?",
            (SENDING, _iso(now), delivery_id),
        )
        db.execute(
            "INSERT INTO events (delivery_id, at, kind, detail) VALUES (?, ?, 'upgraded', ?)",
            (delivery_id, _iso(now), why.format(container=container)),
        )


# Each step takes the ledger from its version (the key) to the next, inside the upgrade's
# transaction.
UPGRADES: dict[int, Callable[[sqlite3.Connection, datetime], None]] = {
    1: _add_intent_clock,
    2: _settle_unversioned,
}


def _version(db: sqlite3.Connection) -> int:
    """The ledger's version: its user_version, or for one from before versions were kept,
    its shape; 0 for a new, empty one."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version:
        return version
    columns = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
    if not columns:
        return 0
    return UNVERSIONED_LAST if "intent_clock" in columns else UNVERSIONED_FIRST


def _written_by_newer(path: Path, version: int) -> PublisherError:
    """The error for a ledger a later release of publisher wrote: it is never changed."""
    return PublisherError(
        f"{path}: the ledger was written by a newer publisher (ledger version {version}; this "
        f"publisher knows up to {LEDGER_VERSION}), and is left as it is: upgrade publisher "
        "(see README, 'Upgrade publisher') and run the command again; or, to go back to this "
        "release, stop the service and put back the copy of the ledger taken before the upgrade"
    )


@dataclass(frozen=True)
class Record:
    """One delivery as the ledger knows it."""

    id: int
    slug: str
    channel: str
    source: str
    due_at: datetime
    state: str
    attempts: int
    next_attempt_at: datetime | None
    intent_at: datetime | None
    intent_clock: datetime | None  # the real clock at the intent, to match what Meta timestamps
    step: str | None
    remote_id: str | None
    container_id: str | None
    permalink: str | None
    last_error: str | None
    content_hash: str | None
    payload: dict[str, Any] | None
    forced: bool
    published_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        """A Record from a `deliveries` row."""
        return cls(
            id=row["id"],
            slug=row["slug"],
            channel=row["channel"],
            source=row["source"],
            due_at=_time(row["due_at"]),  # type: ignore[arg-type]
            state=row["state"],
            attempts=row["attempts"],
            next_attempt_at=_time(row["next_attempt_at"]),
            intent_at=_time(row["intent_at"]),
            intent_clock=_time(row["intent_clock"]),
            step=row["step"],
            remote_id=row["remote_id"],
            container_id=row["container_id"],
            permalink=row["permalink"],
            last_error=row["last_error"],
            content_hash=row["content_hash"],
            payload=json.loads(row["payload"]) if row["payload"] else None,
            forced=bool(row["forced"]),
            published_at=_time(row["published_at"]),
            updated_at=_time(row["updated_at"]),  # type: ignore[arg-type]
        )


class Brief(NamedTuple):
    """What planning needs of a delivery: Ledger.brief."""

    slug: str
    state: str
    due_at: datetime
    attempts: int
    forced: bool


@dataclass(frozen=True)
class Event:
    """One line of the append-only attempt log."""

    id: int
    delivery_id: int
    at: datetime
    kind: str
    detail: str | None


# Beside the ledger: SQLite's write-ahead log and shared memory (or its journal), the pass lock.
LEDGER_ENDINGS = ("-wal", "-shm", "-journal", ".lock", ".deploy")


def ledger_files(path: Path) -> list[Path]:
    """The ledger's folder and every file SQLite and the pass lock keep beside it: the
    user running publisher must be able to write them all."""
    return [path.parent, path, *(path.with_name(path.name + end) for end in LEDGER_ENDINGS)]


def _on_a_read_only_disk(path: Path) -> bool:
    """Whether the ledger's folder is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _cannot_open(path: Path, exc: sqlite3.DatabaseError, access: str | None) -> PublisherError:
    """The error for a ledger SQLite could not open; `access`: what keeps this user out."""
    if "not a database" in str(exc) or "malformed" in str(exc):
        advice = (
            "it is damaged: restore it from a backup. Do not just delete it: it is "
            "the record of what went out, and without it recent posts could go out again"
        )
    elif path.is_dir():
        advice = "it is a folder: [publish] ledger in config.toml names a file (publisher.db)"
    else:
        advice = access or "check the disk (space, permissions) and run publisher again"
    return PublisherError(f"{path}: the ledger cannot be opened ({exc}): {advice}")


class Ledger:
    """The SQLite ledger of deliveries and the append-only log of every attempt."""

    def __init__(self, path: Path):
        self.path = path
        make_folders(path.parent)
        try:
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.DatabaseError as exc:  # a folder where the ledger goes, say
            raise _cannot_open(path, exc, cannot_write(ledger_files(path))) from None
        try:
            self.db.row_factory = sqlite3.Row
            version = _version(self.db)
            if version > LEDGER_VERSION:  # looked at before anything could change it
                raise _written_by_newer(path, version)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # an intent survives a power cut
            self.db.execute("PRAGMA foreign_keys=ON")
            if version < LEDGER_VERSION:
                self._upgrade()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise _cannot_open(path, exc, cannot_write(ledger_files(path))) from None
        except PublisherError:
            self.db.close()
            raise

    @classmethod
    def for_reading(cls, path: Path) -> Ledger:
        """The ledger, opened to read only: a command that only looks (status, calendar)
        never makes it, nor changes it. With no ledger yet (no pass has run), an empty one
        that lives in memory."""
        ledger = cls.__new__(cls)
        ledger.path = path
        if not path.exists():
            ledger._in_memory()
            for statement in SCHEMA:
                ledger.db.execute(statement)
            return ledger
        uri = f"{path.resolve().as_uri()}?mode=ro"
        if _on_a_read_only_disk(path):
            # (WAL mode would make its -shm file beside it; no pass can write there either,
            # so the file cannot change while it is read: a backup's disk, a rescue mount)
            uri += "&immutable=1"
        try:
            ledger.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            ledger.db.row_factory = sqlite3.Row
            version = _version(ledger.db)
        except sqlite3.DatabaseError as exc:
            if hasattr(ledger, "db"):
                ledger.db.close()
            # reading a ledger in WAL mode needs its -shm file, made in its folder if missing
            advice = cannot_read(path) or cannot_write(
                [path.parent, path.with_name(path.name + "-shm")]
            )
            raise _cannot_open(path, exc, advice) from None
        if version > LEDGER_VERSION:
            ledger.db.close()
            raise _written_by_newer(path, version)
        if version < LEDGER_VERSION:
            # An earlier release's ledger, which the next pass upgrades: read as it will
            # be, from an upgraded copy in memory; the file is left as it is.
            kept = ledger.db
            ledger._in_memory()
            kept.backup(ledger.db)
            kept.close()
            ledger._upgrade()
        return ledger

    def _in_memory(self) -> None:
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.row_factory = sqlite3.Row

    def _upgrade(self) -> None:
        """Bring the ledger to LEDGER_VERSION (a new one: made) in one transaction: all of
        it, or, if anything stops it (an error, a kill, a power cut), none of it."""
        from publisher.crashpoint import crashpoint  # only here: the upgrade is rare

        with self.transaction() as db:
            version = _version(db)  # again: another process may have upgraded it meanwhile
            if version > LEDGER_VERSION:
                raise _written_by_newer(self.path, version)
            if version == LEDGER_VERSION:
                return
            now = datetime.now(UTC)
            for step in range(version or LEDGER_VERSION, LEDGER_VERSION):
                UPGRADES[step](db, now)
            for statement in SCHEMA:  # all of a new ledger; anything an old one lacked
                db.execute(statement)
            # the first pass of a new release is a whole one, whatever the last pass found
            db.execute("DELETE FROM meta WHERE key = ?", (QUIET,))
            db.execute(f"PRAGMA user_version = {LEDGER_VERSION}")
            crashpoint("ledger-upgrade")

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed step: all of it, or (on any error) none of it."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            # "attempt to write a readonly database" names no file: say which, and whose
            advice = cannot_write(ledger_files(self.path))
            if advice is None and "full" in str(exc):  # "database or disk is full"
                advice = (
                    "free some space on that disk and run publisher again; what it recorded "
                    "before this is kept"
                )
            if advice is None:
                raise
            raise PublisherError(
                f"{self.path}: the ledger cannot be written ({exc}): {advice}"
            ) from None

    def _log(
        self, db: sqlite3.Connection, delivery_id: int, kind: str, detail: str | None, at: datetime
    ) -> None:
        db.execute(
            "INSERT INTO events (delivery_id, at, kind, detail) VALUES (?, ?, ?, ?)",
            (delivery_id, _iso(at), kind, detail),
        )

    def get(self, slug: str, channel: str) -> Record | None:
        """The ledger's record of a delivery, if it has one."""
        row = self.db.execute(
            "SELECT * FROM deliveries WHERE slug = ? AND channel = ?", (slug, channel)
        ).fetchone()
        return Record.from_row(row) if row else None

    def by_id(self, delivery_id: int) -> Record | None:
        """A record by its number (as `status` shows it)."""
        row = self.db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return Record.from_row(row) if row else None

    def all(self) -> list[Record]:
        """Every record, by due time."""
        rows = self.db.execute("SELECT * FROM deliveries ORDER BY due_at, slug, channel").fetchall()
        return [Record.from_row(r) for r in rows]

    def files_of_slugs(self) -> dict[str, str]:
        """The post file each slug's deliveries come from (its article's, else any)."""
        rows = self.db.execute(
            "SELECT slug, source FROM deliveries ORDER BY channel != 'website'"
        ).fetchall()
        found: dict[str, str] = {}
        for slug, source in rows:
            found.setdefault(slug, source)
        return found

    def of_channel(self, channel: str) -> list[Record]:
        """Every record of one channel."""
        rows = self.db.execute("SELECT * FROM deliveries WHERE channel = ?", (channel,)).fetchall()
        return [Record.from_row(r) for r in rows]

    def brief(self, channel: str, leaving_out: tuple[str, ...] = ()) -> dict[str, Brief]:
        """The few facts planning needs of every delivery of one channel, by slug (quick);
        without those in the states `leaving_out`."""
        marks = ",".join("?" * len(leaving_out))
        rows = self.db.execute(
            "SELECT slug, state, due_at, attempts, forced FROM deliveries WHERE channel = ?"
            + (f" AND state NOT IN ({marks})" if leaving_out else ""),
            (channel, *leaving_out),
        )
        return {
            slug: Brief(slug, state, datetime.fromisoformat(due), attempts, bool(forced))
            for slug, state, due, attempts, forced in rows
        }

    def slugs_in_state(self, channel: str, *states: str) -> set[str]:
        """The slugs of the deliveries of one channel in any of `states` (quick)."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT slug FROM deliveries WHERE channel = ? AND state IN ({marks})",
            (channel, *states),
        )
        return {slug for (slug,) in rows}

    def in_state(self, *states: str) -> list[Record]:
        """The records in any of `states`."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT * FROM deliveries WHERE state IN ({marks}) ORDER BY due_at, slug, channel",
            states,
        ).fetchall()
        return [Record.from_row(r) for r in rows]

    def events(self, delivery_id: int) -> list[Event]:
        """The attempt log of one delivery, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM events WHERE delivery_id = ? ORDER BY id", (delivery_id,)
        ).fetchall()
        return [
            Event(r["id"], r["delivery_id"], _time(r["at"]), r["kind"], r["detail"]) for r in rows
        ]  # type: ignore[arg-type]

    def ensure(
        self, slug: str, channel: str, source: str, due_at: datetime, now: datetime
    ) -> Record:
        """The record of a delivery, created as scheduled if the ledger has none yet.

        The due time of a delivery that has not been attempted follows the calendar.
        """
        with self.transaction() as db:
            db.execute(
                "INSERT INTO deliveries (slug, channel, source, due_at, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (slug, channel) DO UPDATE SET "
                "due_at = excluded.due_at, source = excluded.source "
                "WHERE deliveries.state = 'scheduled' AND deliveries.attempts = 0 AND deliveries.forced = 0",
                (slug, channel, source, _iso(due_at), SCHEDULED, _iso(now)),
            )
        record = self.get(slug, channel)
        assert record is not None
        return record

    def begin(
        self, record: Record, now: datetime, step: str, payload: dict[str, Any], content_hash: str
    ) -> Record:
        """Commit the intent to send, before the call that may create something remotely."""
        with self.transaction() as db:
            current = db.execute(
                "SELECT state FROM deliveries WHERE id = ?", (record.id,)
            ).fetchone()
            if current["state"] in (PUBLISHED, SKIPPED):
                raise PublisherError(f"delivery {record.id} is already {current['state']}")
            # intent_clock: the real time (`now` may be a pass's --now), which is what Meta
            # stamps the post with; reading back after a lost answer looks from there
            db.execute(
                "UPDATE deliveries SET state = ?, step = ?, intent_at = ?, intent_clock = ?, "
                "attempts = attempts + 1, payload = ?, content_hash = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    SENDING,
                    step,
                    _iso(now),
                    _iso(datetime.now(UTC)),
                    json.dumps(payload, ensure_ascii=False),
                    content_hash,
                    _iso(now),
                    record.id,
                ),
            )
            self._log(db, record.id, "intent", step, now)
        return self.by_id(record.id)  # type: ignore[return-value]

    def note_step(
        self,
        record: Record,
        now: datetime,
        step: str,
        *,
        container_id: str | None = None,
        attempt: bool = False,
    ) -> Record:
        """Move a delivery in `sending` to its next step (an Instagram container was made...).
        `attempt`: the step is tried again (publishing a saved container): one more attempt."""
        with self.transaction() as db:
            if attempt:
                db.execute(
                    "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?", (record.id,)
                )
            if container_id is not None:
                db.execute(
                    "UPDATE deliveries SET step = ?, container_id = ?, updated_at = ? WHERE id = ?",
                    (step, container_id, _iso(now), record.id),
                )
            else:
                db.execute(
                    "UPDATE deliveries SET step = ?, updated_at = ? WHERE id = ?",
                    (step, _iso(now), record.id),
                )
            self._log(db, record.id, step, container_id, now)
        return self.by_id(record.id)  # type: ignore[return-value]

    def claimed_ids(self, channel: str, but: int) -> set[str]:
        """The remote ids (Page posts, Instagram media) other deliveries of `channel` are
        recorded as: reading back after a lost answer must not take one of them for its own."""
        rows = self.db.execute(
            "SELECT remote_id FROM deliveries WHERE channel = ? AND id != ? "
            "AND remote_id IS NOT NULL",
            (channel, but),
        ).fetchall()
        return {row["remote_id"] for row in rows}

    def published(
        self,
        record: Record,
        now: datetime,
        remote_id: str | None,
        permalink: str | None,
        how: str = "published",
        text: str | None = None,
    ) -> Record:
        """The delivery went out (proven by the channel's answer or by reading it back).
        `text`: for an article's page, what its text was (publish.body_fingerprint): a post
        renamed, retitled and dated again in one edit is still known by it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, remote_id = ?, permalink = ?, published_at = ?, "
                "last_error = NULL, next_attempt_at = NULL, step = NULL, forced = 0, updated_at = ?, "
                "content_hash = coalesce(?, content_hash) WHERE id = ?",
                (PUBLISHED, remote_id, permalink, _iso(now), _iso(now), text, record.id),
            )
            self._log(
                db, record.id, how, json.dumps({"id": remote_id, "permalink": permalink}), now
            )
        return self.by_id(record.id)  # type: ignore[return-value]

    def retry_later(
        self, record: Record, now: datetime, when: datetime, error: str, *, unknown: bool = False
    ) -> Record:
        """A passing failure: try again at `when` (reconciling first when the outcome is unknown)."""
        state = SENDING if unknown else RETRY
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (state, _iso(when), error, _iso(now), record.id),
            )
            self._log(db, record.id, "unknown" if unknown else "retry", error, now)
        return self.by_id(record.id)  # type: ignore[return-value]

    def check_soon(self, record: Record, now: datetime, why: str) -> None:
        """A delivery whose outcome is unknown (`sending`) is checked at the next pass."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (_iso(now), _iso(now), record.id),
            )
            self._log(db, record.id, "check", why, now)

    def set_state(
        self, record: Record, now: datetime, state: str, detail: str | None = None, **fields: Any
    ) -> Record:
        """Put a delivery in `state` (failed, missed, skipped, dry-run, scheduled...) with a reason."""
        assert state in STATES
        columns = {"state": state, "updated_at": _iso(now), **fields}
        if state in (FAILED, MISSED, RETRY, SKIPPED, DRY_RUN):
            columns.setdefault("last_error", detail)  # what status shows: the latest reason
        assignments = ", ".join(f"{name} = ?" for name in columns)
        values = [(_iso(v) if isinstance(v, datetime) else v) for v in columns.values()]
        with self.transaction() as db:
            db.execute(f"UPDATE deliveries SET {assignments} WHERE id = ?", (*values, record.id))
            self._log(db, record.id, state, detail, now)
        return self.by_id(record.id)  # type: ignore[return-value]

    def mark_many(
        self, items: list[tuple[str, str, str, datetime, str]], state: str, now: datetime
    ) -> dict[tuple[str, str], Record]:
        """Put many deliveries (slug, channel, source, due, reason) in `state` in one commit;
        `{id}` in a reason becomes the delivery's number. Returns the records."""
        with self.transaction() as db:
            for slug, channel, source, due, reason in items:
                db.execute(
                    "INSERT INTO deliveries (slug, channel, source, due_at, state, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (slug, channel) DO NOTHING",
                    (slug, channel, source, _iso(due), SCHEDULED, _iso(now)),
                )
                (delivery_id,) = db.execute(
                    "SELECT id FROM deliveries WHERE slug = ? AND channel = ?", (slug, channel)
                ).fetchone()
                detail = reason.replace("{id}", str(delivery_id))
                db.execute(
                    "UPDATE deliveries SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    (state, detail, _iso(now), delivery_id),
                )
                self._log(db, delivery_id, state, detail, now)
        return {(r.slug, r.channel): r for r in self.in_state(state)}

    def rename(self, old_slug: str, new_slug: str, now: datetime) -> None:
        """Follow a post whose slug changed, so its published deliveries stay known."""
        with self.transaction() as db:
            rows = db.execute("SELECT id FROM deliveries WHERE slug = ?", (old_slug,)).fetchall()
            db.execute(
                "UPDATE deliveries SET slug = ?, updated_at = ? WHERE slug = ?",
                (new_slug, _iso(now), old_slug),
            )
            for row in rows:
                self._log(db, row["id"], "renamed", f"{old_slug} -> {new_slug}", now)

    def slug_changes(self) -> dict[str, str]:
        """Every slug a post had before, and the slug it has now (a to b, then b to c: both
        a and b to c), from the attempt log of its website delivery."""
        rows = self.db.execute(
            "SELECT e.detail FROM events e JOIN deliveries d ON d.id = e.delivery_id "
            "WHERE e.kind = 'renamed' AND d.channel = 'website' ORDER BY e.id"
        ).fetchall()
        changes: dict[str, str] = {}
        for row in rows:
            old, _, new = (row["detail"] or "").partition(" -> ")
            if old and new:
                for before, after in list(changes.items()):
                    if after == old:
                        changes[before] = new
                changes[old] = new
        return {old: new for old, new in changes.items() if old != new}

    def set_permalink(
        self, record: Record, permalink: str, now: datetime, kind: str = "moved"
    ) -> None:
        """A published delivery's link: after its post moved to another address, or (`kind`
        "permalink") as the channel gave it once the post was out."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET permalink = ?, updated_at = ? WHERE id = ?",
                (permalink, _iso(now), record.id),
            )
            self._log(db, record.id, kind, permalink, now)

    def set_source(self, slug: str, source: str, now: datetime) -> None:
        """The file a post's deliveries come from, after the file was renamed."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id FROM deliveries WHERE slug = ? AND source != ?", (slug, source)
            ).fetchall()
            db.execute(
                "UPDATE deliveries SET source = ?, updated_at = ? WHERE slug = ?",
                (source, _iso(now), slug),
            )
            for row in rows:
                self._log(db, row["id"], "moved", source, now)

    def meta(self, key: str) -> str | None:
        """A value the program keeps between passes (the last build's fingerprint...)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def page_problems(self) -> set[str]:
        """The post files the last build in a publishing pass listed problems for."""
        return set(json.loads(self.meta(PAGE_PROBLEMS) or "[]"))

    def set_page_problems(self, files: Iterable[str]) -> None:
        """Keep the post files a pass's build listed problems for (page_problems)."""
        self.set_meta(PAGE_PROBLEMS, json.dumps(sorted(set(files))))

    def held_channels(self) -> tuple[datetime | None, dict[str, str]]:
        """When the last pass ran, and why it held each channel back (none: empty)."""
        kept = json.loads(self.meta(HELD_CHANNELS) or "{}")
        return _time(kept.get("at")), kept.get("channels") or {}

    def set_held_channels(self, at: datetime, channels: dict[str, str]) -> None:
        """Keep why this pass held channels back (held_channels)."""
        self.set_meta(HELD_CHANNELS, json.dumps({"at": at.isoformat(), "channels": channels}))

    def deploying(self) -> tuple[datetime, datetime, int] | None:
        """The deploy command a pass is running: when it began, when its time limit stops
        it, and the pass's process id (which may have died meanwhile, by kill -9). None:
        none runs."""
        kept = json.loads(self.meta(DEPLOYING) or "{}")
        if not kept:
            return None
        return (
            datetime.fromisoformat(kept["at"]),
            datetime.fromisoformat(kept["until"]),
            kept["pid"],
        )

    def set_deploying(self, at: datetime | None, until: datetime | None = None) -> None:
        """Keep that this process began a deploy at `at`, stopped at `until` if still running
        (deploying); None: it ended."""
        if at is None or until is None:
            self.set_meta(DEPLOYING, "")
            return
        kept = {"at": at.isoformat(), "until": until.isoformat(), "pid": os.getpid()}
        self.set_meta(DEPLOYING, json.dumps(kept))

    def token_checks(self) -> dict[str, dict[str, str]]:
        """When a pass last asked Meta about each channel's token, when the next pass asks
        again, and what it found that needs a person ("" when nothing)."""
        return json.loads(self.meta(TOKEN_CHECKS) or "{}")

    def set_token_checks(self, checks: dict[str, dict[str, str]]) -> None:
        """Keep what the token checks found (token_checks)."""
        self.set_meta(TOKEN_CHECKS, json.dumps(checks, sort_keys=True))

    def token_holds(self) -> dict[str, dict[str, str]]:
        """By channel, the hold on it since Meta refused its token: the token's mark (a hash's
        first digits, never the token), when and why (publish.PublishingPass.holds_kept)."""
        return json.loads(self.meta(TOKEN_HOLDS) or "{}")

    def set_token_holds(self, holds: dict[str, dict[str, str]]) -> None:
        """Keep the channels' holds (token_holds)."""
        self.set_meta(TOKEN_HOLDS, json.dumps(holds, sort_keys=True))

    def site_failures(self) -> tuple[int, datetime | None, str]:
        """(failed builds or deploys of the site in a row, when the next try is, what went
        wrong)."""
        kept = self.meta(SITE_FAILURES)
        if not kept:
            return 0, None, ""
        failures, again, message = json.loads(kept)
        return failures, datetime.fromisoformat(again), message

    def note_asked(self) -> None:
        """A person asked for a retry, a check or a skip: the service looks at the ledger
        once a minute for this, and runs a pass."""
        self.set_meta(ASKED, str(int(self.meta(ASKED) or 0) + 1))

    def asked(self) -> str:
        """Changes each time a person asks for something (note_asked)."""
        return self.meta(ASKED) or "0"

    def keeping_since(self, now: datetime) -> datetime:
        """Since when this ledger has recorded every delivery: its first pass (or, for a
        ledger from before this was noted, its first event); set at the first call."""
        kept = self.meta(KEEPING_SINCE)
        if kept is None:
            first = self.db.execute("SELECT min(at) FROM events").fetchone()[0]
            kept = first or _iso(now)
            self.set_meta(KEEPING_SINCE, kept)
        return datetime.fromisoformat(kept)

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value between passes."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


LOCK_RETRY_SECONDS = 0.5  # how often a pass that may be told to stop asks for the lock again


def files_of_slugs(path: Path) -> dict[str, str]:
    """Ledger.files_of_slugs of the ledger at `path`, read only: {} when there is none yet,
    or it cannot be read (the commands that need it say so)."""
    if not path.exists():
        return {}
    try:
        with Ledger.for_reading(path) as ledger:
            return ledger.files_of_slugs()
    except (PublisherError, sqlite3.Error):
        return {}


class PassLock:
    """One publishing pass at a time, across processes (cron, the service, a person).

    The kernel drops the lock when its holder dies, even by kill -9, so a crash never
    leaves it stuck.
    """

    def __init__(self, path: Path):
        self.path = path
        self._handle: int | None = None

    def acquire(self, wait: bool = False, should_stop: Callable[[], bool] | None = None) -> bool:
        """Take the lock; without `wait`, give up at once when another pass holds it. While
        waiting, give up too as soon as `should_stop` says so (looked at twice a second)."""
        make_folders(self.path.parent)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        # A blocking flock cannot be cut short from another thread (the service's stop), so a
        # waiter that may be told to stop asks again and again instead.
        blocking = wait and should_stop is None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if not wait or (should_stop is not None and should_stop()):
                    os.close(handle)
                    return False
                time.sleep(LOCK_RETRY_SECONDS)
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        self._handle = handle
        return True

    def holder(self) -> str:
        """The process id of the pass that holds the lock, as it wrote it ('' if unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def release(self) -> None:
        """Let the next pass in."""
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None
