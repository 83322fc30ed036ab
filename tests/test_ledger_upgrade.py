"""A ledger written by an earlier release is upgraded by the first pass, keeping every row
and event and sending nothing twice; one written by a newer release is refused, unchanged."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from publisher.exceptions import PublisherError
from publisher.ledger import (
    DONE_STATES,
    FAILED,
    LEDGER_VERSION,
    PUBLISHED,
    QUIET,
    RETRY,
    SCHEDULED,
    SENDING,
    SKIPPED,
    Ledger,
)
from publisher.publish import publish_due
from publisher.status import delivery_rows, retry_delivery, skip_delivery

from .publishing import at, kill_at, staged

SHAPES = Path(__file__).parent / "ledger_shapes"  # each earlier shape's SQL, from git history


@pytest.fixture
def stage(tmp_path):
    yield from staged(tmp_path)


def make_old_ledger(path: Path, shape: int) -> sqlite3.Connection:
    """A ledger as the release of that shape made it (in WAL mode, user_version 0)."""
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        path.with_name(name).unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript((SHAPES / f"{shape}.sql").read_text())
    return db


def columns(db: sqlite3.Connection, table: str = "deliveries") -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def insert(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    keys = [key for key in row if key in columns(db, table)]
    db.execute(
        f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
        [row[key] for key in keys],
    )


def table(path: Path, name: str) -> list[dict[str, Any]]:
    """Every row of a table, read with plain SQLite (no upgrade)."""
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute(f"SELECT * FROM {name} ORDER BY rowid")]
    finally:
        db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_in_shape(path: Path, shape: int) -> None:
    """The ledger this release wrote, as the release of `shape` would have left it: its
    columns only, no version, and an Instagram media_publish answered with a passing error
    left in `retry` (the `sending` of this release), as releases before the fix did."""
    deliveries, events, meta = (table(path, name) for name in ("deliveries", "events", "meta"))
    db = make_old_ledger(path, shape)
    for row in deliveries:
        if row["channel"] == "instagram" and row["state"] == SENDING and row["step"] == "publish":
            row["state"] = RETRY
            (last,) = [e for e in events if e["delivery_id"] == row["id"]][-1:]
            last["kind"] = "retry"
        insert(db, "deliveries", row)
    for row in events:
        insert(db, "events", row)
    for row in meta:
        if row["key"] not in ("keeping_since",):  # kept since a later release
            insert(db, "meta", row)
    db.close()


def social(facebook: bool, instagram: bool) -> dict[str, str]:
    """Front matter for a post on Facebook and Instagram (or not) with its article."""
    return {
        channel: "{at: 2026-12-01 09:00}" if on else "false"
        for channel, on in (("facebook", facebook), ("instagram", instagram))
    }


@pytest.mark.parametrize("shape", [1, 2])
def test_a_ledger_of_an_earlier_shape_is_upgraded_by_a_pass_that_sends_nothing_twice(stage, shape):
    graph = stage.graph
    # Passes ten seconds apart, each with one new post due at 09:00 and what Meta did to it
    # (nothing is tried again so soon: a retry waits 48 s at least).
    for second, (slug, facebook, instagram, meta) in enumerate(
        [
            ("done", True, True, lambda: None),  # out on all three channels
            # its Page post made, the answer lost: `sending`
            ("lostfb", True, False, lambda: graph.drop("POST", "/*/feed", after_effect=True)),
            # published, though media_publish answered a passing error (2207001)
            (
                "lostig",
                False,
                True,
                lambda: graph.fail_graph(
                    "POST",
                    "/*/media_publish",
                    code=-1,
                    subcode=2207001,
                    is_transient=True,
                    after_effect=True,
                ),
            ),
            # refused with a passing error (too many calls): `retry`
            ("again", True, False, lambda: graph.fail_graph("POST", "/*/feed", code=4)),
            # refused for good: `failed`
            ("refused", True, False, lambda: graph.fail_graph("POST", "/*/feed", code=100)),
        ]
    ):
        stage.add_post(slug, "2026-12-01 09:00", **social(facebook, instagram))
        meta()
        publish_due(stage.config, at(f"2026-12-01T09:00:{second * 10:02d}"))
    # a person said not to send this one; that one is not due yet
    stage.add_post("skip", "2026-12-01 09:00", **social(True, False))
    stage.add_post("later", "2026-12-05 09:00", **social(True, False))
    with Ledger(stage.config.ledger_path) as ledger:
        nine = at("2026-12-01T09:00")
        skipped = ledger.ensure("skip", "facebook", "posts/skip.md", nine, nine)
    skip_delivery(stage.config, skipped.id, at("2026-12-01T09:01"))
    before = {key: r.state for key, r in stage.records().items()}
    assert before == {
        **{f"{slug}/website": PUBLISHED for slug in ("done", "lostfb", "lostig", "again")},
        "refused/website": PUBLISHED,
        "done/facebook": PUBLISHED,
        "done/instagram": PUBLISHED,
        "lostfb/facebook": SENDING,
        "lostig/instagram": SENDING,
        "again/facebook": RETRY,
        "refused/facebook": FAILED,
        "skip/facebook": SKIPPED,
    }
    path = stage.config.ledger_path
    rewrite_in_shape(path, shape)
    old_rows, old_events = table(path, "deliveries"), table(path, "events")
    assert [r["state"] for r in old_rows if r["channel"] == "instagram"] == [PUBLISHED, RETRY]
    out_before = (graph.page_posts(), graph.ig_media(), graph.containers())
    assert [len(made) for made in out_before] == [2, 2, 2]  # done and lostfb; done and lostig

    # Commands that only look show the old ledger as it will be, and leave it as it is.
    unchanged = digest(path)
    shown = stage.command("status", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    states = {
        f"{r['post']}/{r['channel']}": r["state"]
        for r in map(json.loads, shown.stdout.splitlines())
    }
    assert states["lostig/instagram"] == SENDING and states["refused/facebook"] == FAILED
    assert states["done/instagram"] == PUBLISHED and states["again/facebook"] == RETRY
    calendar = stage.command("calendar", "--all", "--channel", "instagram")
    assert calendar.returncode == 0, calendar.stdout + calendar.stderr
    (line,) = [line for line in calendar.stdout.splitlines() if "lostig" in line]
    assert SENDING in line
    assert digest(path) == unchanged and user_version(path) == 0

    calls = len(graph.requests)
    result = stage.run("2026-12-01T09:05")
    assert result.returncode == 0, result.stdout + result.stderr
    assert user_version(path) == LEDGER_VERSION and "intent_clock" in columns(sqlite3.connect(path))
    # Every row is kept (the same numbers, posts and times) and every event, as it was.
    rows = {row["id"]: row for row in table(path, "deliveries")}
    assert set(rows) >= {row["id"] for row in old_rows}
    for old in old_rows:
        # one that was done is as it was; the others are the same delivery, further on
        kept = (
            old.keys() if old["state"] in DONE_STATES else ("slug", "channel", "source", "due_at")
        )
        assert {k: rows[old["id"]][k] for k in kept} == {k: old[k] for k in kept}
    events = table(path, "events")
    assert events[: len(old_events)] == old_events
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        with sqlite3.connect(path) as db:
            db.execute("UPDATE events SET detail = 'x' WHERE id = ?", (old_events[0]["id"],))

    # The lost Page post and the Instagram post that went out despite the error are found
    # and recorded, not sent again; the one Meta refused with a passing error goes, once.
    records = stage.records()
    assert {key: r.state for key, r in records.items()} == {
        **before,
        "lostfb/facebook": PUBLISHED,
        "lostig/instagram": PUBLISHED,
        "again/facebook": PUBLISHED,
        "skip/website": PUBLISHED,
    }
    page, media, containers = graph.page_posts(), graph.ig_media(), graph.containers()
    assert records["lostfb/facebook"].remote_id == out_before[0][1]["id"]
    assert records["lostig/instagram"].remote_id == out_before[1][1]["id"]
    assert len(media) == 2 and len(containers) == 2  # no new container, no second post
    assert len(page) == 3 and records["again/facebook"].remote_id == page[2]["id"]
    sent = [(r.method, r.path) for r in graph.requests[calls:] if r.method == "POST"]
    assert sent == [("POST", f"/{graph.page_id}/feed")]
    upgraded = [e for e in stage_events(stage, "lostig", "instagram") if e.kind == "upgraded"]
    assert len(upgraded) == 1 and "media_publish" in upgraded[0].detail


def stage_events(stage, slug: str, channel: str):
    with Ledger(stage.config.ledger_path) as ledger:
        return ledger.events(ledger.get(slug, channel).id)


def old_ledger_with_a_published_post(path: Path, shape: int) -> None:
    """A post out on the website and Facebook at 09:00, as the release of `shape` kept it."""
    db = make_old_ledger(path, shape)
    due, source = "2026-12-01T14:00:00+00:00", "posts/out.md"
    for number, channel in enumerate(("website", "facebook"), start=1):
        insert(
            db,
            "deliveries",
            {
                "id": number,
                "slug": "out",
                "channel": channel,
                "source": source,
                "due_at": due,
                "state": PUBLISHED,
                "attempts": 1,
                "intent_at": due if channel == "facebook" else None,
                "intent_clock": due if channel == "facebook" else None,
                "step": None,
                "remote_id": "100000000000001_42" if channel == "facebook" else None,
                "payload": json.dumps({"message": "Out already."})
                if channel == "facebook"
                else None,
                "published_at": due,
                "updated_at": due,
            },
        )
        if channel == "facebook":
            insert(
                db, "events", {"delivery_id": number, "at": due, "kind": "intent", "detail": "feed"}
            )
        insert(
            db, "events", {"delivery_id": number, "at": due, "kind": "published", "detail": None}
        )
    db.close()


def test_an_upgrade_killed_half_way_leaves_the_old_ledger_as_it_was(stage):
    stage.add_post("out", "2026-12-01 09:00", **social(True, False))
    path = stage.config.ledger_path
    old_ledger_with_a_published_post(path, 1)
    rows, events = table(path, "deliveries"), table(path, "events")
    kill_at(
        stage.start("2026-12-01T09:30", crashpoint="ledger-upgrade"), "crashpoint ledger-upgrade"
    )
    # Killed after every change of the upgrade but before its commit: none of it is kept.
    assert user_version(path) == 0
    assert table(path, "deliveries") == rows and table(path, "events") == events
    db = sqlite3.connect(path)
    assert "intent_clock" not in columns(db)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    triggers = db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    assert sorted(triggers) == [("events_append_only_delete",), ("events_append_only_update",)]
    db.close()
    # The next pass upgrades it, and what was out stays out.
    result = stage.run("2026-12-01T09:31")
    assert result.returncode == 0, result.stdout + result.stderr
    assert user_version(path) == LEDGER_VERSION
    assert {f"{r.slug}/{r.channel}": r.state for r in stage.records().values()} == {
        "out/website": PUBLISHED,
        "out/facebook": PUBLISHED,
    }
    assert not [r for r in stage.graph.requests if r.method == "POST"]


@pytest.mark.parametrize("shape", [1, 2])
def test_an_upgraded_ledger_has_the_shape_of_a_new_one(tmp_path, shape):
    def shape_of(path: Path) -> tuple[Any, ...]:
        db = sqlite3.connect(path)
        try:
            found = tuple(
                sorted(
                    (row[1], row[2], row[3], row[4], row[5])
                    for row in db.execute(f"PRAGMA table_info({name})")
                )
                for name in ("deliveries", "events", "meta")
            )
            objects = db.execute(
                "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "ORDER BY name"
            ).fetchall()
            return found, objects, db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()

    Ledger(tmp_path / "new.db").close()
    make_old_ledger(tmp_path / "old.db", shape).close()
    Ledger(tmp_path / "old.db").close()
    assert shape_of(tmp_path / "old.db") == shape_of(tmp_path / "new.db")
    assert shape_of(tmp_path / "new.db")[2] == LEDGER_VERSION


@pytest.mark.parametrize("shape", [1, 2])
def test_an_upgrade_reads_what_an_earlier_release_left_as_it_meant(tmp_path, shape):
    path = tmp_path / "publisher.db"
    db = make_old_ledger(path, shape)
    due = "2026-12-01T14:00:00+00:00"
    for number, channel, step, container in [
        (1, "instagram", "publish", "17889"),  # media_publish answered a passing error
        (2, "instagram", "container", "17890"),  # its container never finished: not published
        (3, "facebook", "feed", None),  # Meta refused the post with a passing error
    ]:
        row = {"id": number, "slug": f"post{number}", "channel": channel, "source": "posts/p.md"}
        row |= {"due_at": due, "state": RETRY, "attempts": 1, "intent_at": due, "step": step}
        insert(db, "deliveries", row | {"container_id": container, "updated_at": due})
        insert(db, "events", {"delivery_id": number, "at": due, "kind": "retry", "detail": "x"})
    insert(db, "meta", {"key": "quiet", "value": "inputs 2026-12-02T00:00 2026-12-01T14:00 1:3"})
    db.close()
    with Ledger(path) as ledger:
        assert [r.state for r in ledger.all()] == [SENDING, RETRY, RETRY]
        assert all(r.intent_clock is None for r in ledger.all())  # no clock was noted then
        (upgraded,) = [e for e in ledger.events(1) if e.kind == "upgraded"]
        assert "container 17889" in upgraded.detail
        assert [e.kind for e in ledger.events(2)] == ["retry"]
        # the ledger kept records since its first event, not since the upgrade
        assert ledger.keeping_since(at("2026-12-02T09:00")) == datetime.fromisoformat(due)
        assert ledger.meta(QUIET) is None  # the first pass of the new release is a whole one


def test_a_ledger_written_by_a_newer_publisher_is_refused_and_never_changed(make_project):
    project = make_project()
    config = project.config
    path = config.ledger_path
    with Ledger(path) as ledger:
        now = at("2026-12-01T09:00")
        ledger.ensure("out", "website", "posts/out.md", now, now)
        ledger.db.execute(f"PRAGMA user_version = {LEDGER_VERSION + 1}")
    unchanged = digest(path)
    said = f"{path}: the ledger was written by a newer publisher"
    for look in (
        lambda: Ledger(path),
        lambda: Ledger.for_reading(path),
        lambda: publish_due(config, at("2026-12-01T09:30")),
        lambda: delivery_rows(config, at("2026-12-01T09:30")),
        lambda: retry_delivery(config, 1, at("2026-12-01T09:30")),
    ):
        with pytest.raises(PublisherError, match="upgrade publisher") as refused:
            look()
        assert str(refused.value).startswith(said)
    # as a pass from cron or the service says it: one line, what to do, no traceback
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "publisher",
            "--config",
            str(project.config_path),
            "publish",
            "--due",
        ],
        capture_output=True,
        text=True,
        cwd=project.root,
        timeout=120,
    )
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert said in ran.stderr and "upgrade publisher" in ran.stderr
    assert digest(path) == unchanged and user_version(path) == LEDGER_VERSION + 1
    assert [row["state"] for row in table(path, "deliveries")] == [SCHEDULED]
