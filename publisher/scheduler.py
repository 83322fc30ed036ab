"""`publisher run`: the service that publishes every delivery on time, with nobody watching.

APScheduler runs a publishing pass at each delivery's time. The jobs are derived from the
posts and the ledger (an in-memory job store, rebuilt exactly at every start and after every
change), so there is no job store for two schedulers to share. APScheduler's own guarantees
are not relied on: a catch-up pass at start, and after the clock jumps (suspend, NTP), sends
whatever fell due meanwhile, and the ledger's lock keeps a cron pass beside the service from
publishing anything twice.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import gc
import logging
import os
import signal
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from publisher.calendar import SOCIAL_CHANNELS, plan_deliveries
from publisher.config import Config, load_config
from publisher.exceptions import PublisherError, describe_failure
from publisher.files import is_editor_scratch
from publisher.ledger import DONE_STATES, RETRY, SCHEDULED, SENDING, Ledger
from publisher.publish import publish_due, site_is_built
from publisher.times import now as current_time

log = logging.getLogger("publisher.run")

CLOCK_CHECK_SECONDS = 60  # a timer, not polling: it only compares two clocks
CLOCK_JUMP = timedelta(seconds=30)  # a wall clock this far off the monotonic one jumped
WATCH_DEBOUNCE_MS = 300
# how often the watchers wake to look (watchfiles' default, 50 ms, is 20 wake-ups a
# second each, the only CPU the service spends at rest)
WATCH_STEP_MS = 500
WAITING_RECHECK = timedelta(minutes=1)  # a delivery due but held back is looked at again
WAITING_JOB = "waiting/again"  # the one job that looks again at every delivery held back


def give_back_memory() -> None:
    """After a pass, which may have built the whole site: collect what it left and hand the
    freed memory back to the system, so that the service waits for the next delivery small.

    Python frees objects to the C library's allocator, which keeps the pages (a first build
    of 10,000 posts left 145-150 MB resident, 133 MB once handed back). malloc_trim is
    glibc's; elsewhere only the collection is done."""
    gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def folder_identity(path: Path) -> tuple[int, int] | None:
    """Which folder is at `path` now (device and inode, through a symlink); None if none is."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISDIR(found.st_mode) else None


class AnyOf:
    """Set as soon as one of its events is (watchfiles looks at is_set() between steps)."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


def _not_a_skip(record: logging.LogRecord) -> bool:
    """Whether a log line of APScheduler's is to be kept: not its warning that a job was
    skipped while the same job ran (see Service.run_pass)."""
    return "maximum number of running instances" not in str(record.msg)


class Service:
    """The long-running publisher: scheduler, file watcher and (optionally) the local web server."""

    def __init__(self, config_path: Path | None, *, serve_port: int | None = None):
        self.config_path = config_path
        self.config: Config = load_config(config_path)
        self.serve_port = serve_port
        self.stopping = threading.Event()
        # set by a signal's handler, which takes no lock: the main thread then sets `stopping`
        self.signalled = False
        self._pass_lock = threading.Lock()
        self._rewatch = threading.Event()  # the folders' watch must start again, on new folders
        self._watched: dict[Path, tuple[int, int] | None] = {}  # folder -> identity watched
        self._server = None
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # A change's job skipped while a pass runs is expected: the running pass goes round
        # again for it (_changed_meanwhile). The scheduler's warning of it is not the log's.
        logging.getLogger("apscheduler.scheduler").addFilter(_not_a_skip)
        # misfire_grace_time=None: a job whose time passed while the process was busy still
        # runs (APScheduler's default drops it after one second); coalesce: once, not per miss.
        self.scheduler = BackgroundScheduler(
            timezone=self.config.tz,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._clock = (time.time(), time.monotonic())
        self._asked: str | None = None  # the ledger's count of what people asked, last seen
        self._changed_meanwhile = threading.Event()  # a change seen while a pass ran

    # Passes

    def stop_asked(self) -> bool:
        """Whether the service is to stop: a signal came, or `stopping` is set."""
        return self.signalled or self.stopping.is_set()

    def run_pass(self, reason: str) -> None:
        """One publishing pass (waiting for a cron pass that holds the lock), then reschedule."""
        if self.stop_asked():
            return
        with self._pass_lock:
            while not self.stop_asked():
                self._changed_meanwhile.clear()
                self._one_pass(reason)
                # A change seen while this pass ran may have come after it read the posts;
                # the job changed() added for it is skipped while this one still runs.
                if not self._changed_meanwhile.is_set():
                    break
                reason = "posts or config changed during the last pass"

    def _one_pass(self, reason: str) -> None:
        log.info("pass: %s", reason)
        said = ""
        try:
            report = publish_due(self.config, wait=True, should_stop=self.stop_asked)
            if report.needs_person:
                log.warning("something needs a person: see  publisher status")
        except PublisherError as exc:
            said = str(exc)
            log.error("error: %s", said)
        except (OSError, sqlite3.Error) as exc:
            from publisher.cli import written_by

            failure = describe_failure(exc, written_by(self.config))
            log.error("error: %s; the next pass tries again", failure)
        except Exception:  # noqa: BLE001 - the service must outlive one bad pass
            log.exception("the pass failed unexpectedly; the next one tries again")
        # Under the lock: stop() waits for it before it shuts the scheduler down, which
        # holds the scheduler's lock that rescheduling needs.
        self.reschedule(said)
        give_back_memory()

    def upcoming(self, at: datetime) -> dict[str, datetime]:
        """The jobs there should be: one per delivery still to go out, and one per retry."""
        from publisher.build import load_posts_cached

        posts = list(load_posts_cached(self.config, at).posts)
        wanted: dict[str, datetime] = {}
        with Ledger(self.config.ledger_path) as ledger:
            records = {(r.slug, r.channel): r for r in ledger.all()}
            site_retry = ledger.site_failures()[1]  # after a failed build or deploy
            token_looks = ledger.token_checks()
        fixed = {
            k: r.due_at
            for k, r in records.items()
            if r.state != SCHEDULED or r.attempts or r.forced
        }
        for delivery in plan_deliveries(posts, self.config, fixed):
            record = records.get((delivery.post.slug, delivery.channel))
            if record is not None and record.state in DONE_STATES:
                continue
            when = delivery.due
            if record is not None and record.state in (RETRY, SENDING) and record.next_attempt_at:
                when = record.next_attempt_at
            if when > at:
                wanted[delivery.key] = when
            elif delivery.channel in SOCIAL_CHANNELS:
                # due and still not out (Meta slowed us down, its page is not live yet, its
                # token refused...): look again in a minute, as a cron pass would, rather
                # than wait for a change; one pass for all of them, not one each
                wanted[WAITING_JOB] = at + WAITING_RECHECK
        if site_retry is not None and site_retry > at:
            wanted["site/retry"] = site_retry
        # the next look at a token a pass has looked at ([publish] token_check): a channel
        # whose token a pass could not use is not looked at, and wakes nothing
        looks = [
            datetime.fromisoformat(kept["next"])
            for channel, kept in token_looks.items()
            if self.config.publish.token_check and self.config.channel(channel).enabled
        ]
        if looks:
            wanted["tokens/look"] = max(min(looks), at + WAITING_RECHECK)
        return wanted

    def reschedule(self, said: str = "") -> None:
        """Make the scheduler's jobs match the posts and the ledger. `said`: the error the
        pass before has just logged (the posts it reads again stop on it too, an empty or
        missing posts folder say: said once a pass, not twice)."""
        if self.stopping.is_set():
            return
        try:
            wanted = self.upcoming(current_time(self.config.tz))
        except PublisherError as exc:
            if str(exc) != said:
                log.error("error: %s", exc)
            return
        from apscheduler.triggers.date import DateTrigger

        if self.stopping.is_set():
            return
        current = {job.id: job for job in self.scheduler.get_jobs() if job.id != "clock-check"}
        for job_id, job in current.items():
            if job_id not in wanted:
                job.remove()
                log.info("unscheduled %s", job_id)
        for job_id, when in wanted.items():
            job = current.get(job_id)
            if job is not None and job.next_run_time == when:
                continue
            if job is not None:
                job.reschedule(trigger=DateTrigger(run_date=when))
            else:
                self.scheduler.add_job(
                    self.run_pass, DateTrigger(run_date=when), args=[f"{job_id} is due"], id=job_id
                )
            log.info(
                "scheduled %s at %s",
                job_id,
                when.astimezone(self.config.tz).isoformat(timespec="seconds"),
            )

    def clock_check(self) -> None:
        """After a suspend or a clock change, catch up at once instead of waiting; and build
        the site again if someone deleted it (a look at one file a minute)."""
        wall, mono = time.time(), time.monotonic()
        last_wall, last_mono = self._clock
        self._clock = (wall, mono)
        if self._watched and self.folders_replaced():
            # the folder's parent should have said so (an editor, a deploy script...); if it
            # did not, the watch starts again on the new folder, and a pass follows
            log.info("the posts or templates folder is not the one watched: watching it again")
            self._rewatch.set()
        if abs((wall - last_wall) - (mono - last_mono)) > CLOCK_JUMP.total_seconds():
            self.run_pass("the clock jumped (suspend or time change): catching up")
        elif not site_is_built(self.config):
            self.run_pass("the website's folder is gone: building it again")
        elif self.asked_since_last_look():
            self.run_pass("a person asked for a retry or a skip")

    def asked_since_last_look(self) -> bool:
        """Whether `publisher retry` or `skip` was run since the last look (one read of the
        ledger a minute): the pass it waits for is then the next one, not the next job's."""
        if not self.config.ledger_path.exists():
            return False
        try:
            with Ledger.for_reading(self.config.ledger_path) as ledger:
                asked = ledger.asked()
        except (PublisherError, sqlite3.Error):
            return False  # the next pass says what is wrong with the ledger
        seen, self._asked = self._asked, asked
        return seen is not None and asked != seen

    # Watching the posts folder and config.toml

    def folders(self) -> dict[Path, tuple[int, int] | None]:
        """The posts and templates folders as config.toml names them (a symlink is not
        followed, so that pointing it elsewhere is a replacement), each with its identity."""
        named = (self.config.site.posts, self.config.site.templates)
        paths = [Path(os.path.abspath(self.config.root / name)) for name in named]
        return {path: folder_identity(path) for path in paths}

    def folders_replaced(self) -> bool:
        """True when a folder watched is gone, back, or another one (a look at two inodes)."""
        return self.folders() != self._watched

    def watch(self) -> None:
        """Re-read posts and config when they change; reschedule without a restart.

        config.toml, the posts folder and the templates folder are also watched through
        their parent folders (not recursively, for those names only): an editor or `sed -i`
        saves config.toml by writing a new file and renaming it over the old one, and a
        deploy replaces a whole folder (moved aside, deleted, a symlink switched), which
        would leave a watch on the file or folder itself looking at the old one."""
        config_file = self.config.path.resolve() if self.config.path else None
        folders = list(self.folders())
        names = {path.parent.resolve() / path.name for path in folders}
        if config_file is not None:
            names.add(config_file)
        parents = sorted({path.parent for path in names if path.parent.is_dir()})
        started = threading.Event()
        entries = threading.Thread(
            target=self._watch_changes,
            args=(parents, False, lambda _, p: Path(p) in names, self.stopping, started.set),
            daemon=True,
            name="watch-config",
        )
        entries.start()
        # the folders' "watching" line says that both watches are live (a script or test
        # waits for it before it saves a file): this one first, unless it failed to start
        while not started.wait(0.1) and entries.is_alive():
            pass
        self.watch_folders()
        entries.join(timeout=10)

    def watch_folders(self) -> None:
        """Watch the posts and templates folders recursively; when one is replaced, start
        again on the new one and run a pass (what changed meanwhile was not seen)."""
        import watchfiles

        ignored = watchfiles.DefaultFilter()  # (.git, __pycache__, .swp, ~...)

        def edits(change: Any, path: str) -> bool:
            """Whether a change is one to report and act on: not an editor's passing file."""
            return ignored(change, path) and not is_editor_scratch(os.path.basename(path))

        first = True
        while not self.stopping.is_set():
            self._rewatch.clear()
            self._watched = self.folders()
            paths = [path for path, identity in self._watched.items() if identity is not None]
            config = self.config
            resolved = (config.folder(config.site.posts), config.folder(config.site.templates))
            if resolved != (config.posts_dir, config.templates_dir):
                # a symlink switched to another folder: passes must read the new one (the
                # config keeps the paths it resolved when it was read)
                self.config = dataclasses.replace(config)
            shown = ", ".join(self.config.display_path(path) for path in paths) or "no folder"
            for path in set(self._watched) - set(paths):
                log.warning(
                    "%s is missing: it is watched again once it is back",
                    self.config.display_path(path),
                )
            try:
                # Started before the pass, so that nothing changed after the pass read the
                # folder goes unseen. A missing folder is not watched (no polling for it): its
                # parent's watch, or the clock check, says when it is back.
                self._watch_changes(
                    paths,
                    True,
                    edits,
                    AnyOf(self.stopping, self._rewatch),
                    on_start=functools.partial(self._watching, shown, first),
                )
            except FileNotFoundError:  # gone between the look and the watch: look again
                self.stopping.wait(WATCH_STEP_MS / 1000)
            first = False

    def _watching(self, shown: str, first: bool) -> None:
        """Said once the watch is live, not before: a change from now on is seen."""
        log.info("%swatching %s for changes", "" if first else "a folder was replaced: ", shown)
        if not first:
            self.changed()

    def changed(self) -> None:
        """Settle a change with a pass: it may make something due now (a post dated in the past)."""
        if self.stopping.is_set():
            return
        self._changed_meanwhile.set()
        self.scheduler.add_job(
            self.run_pass, args=["posts or config changed"], id="changed", replace_existing=True
        )

    def _watch_changes(
        self,
        paths: list[Path],
        recursive: bool,
        wanted: Callable[[Any, str], bool],
        until: AnyOf | threading.Event,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        from watchfiles._rust_notify import WatchfilesRustInternalError

        while True:
            try:
                return self._watch_until(paths, recursive, wanted, until, on_start)
            except WatchfilesRustInternalError as exc:
                # A file whose name is not UTF-8 text (from an older disk): the watch cannot
                # name it, and answers nothing more. A new watch, and a pass for what may
                # have changed meanwhile (the pass says which file and what to do).
                log.warning("a change was not read, so the folders are looked at again: %s", exc)
                on_start = None
                self.changed()

    def _watch_until(
        self,
        paths: list[Path],
        recursive: bool,
        wanted: Callable[[Any, str], bool],
        until: AnyOf | threading.Event,
        on_start: Callable[[], None] | None,
    ) -> None:
        from watchfiles import Change
        from watchfiles._rust_notify import RustNotify  # watchfiles' documented backend

        config_file = self.config.path.resolve() if self.config.path else None
        with RustNotify([str(p) for p in paths], False, False, 0, recursive, False) as watcher:
            if on_start is not None:
                on_start()
            while True:
                raw = watcher.watch(WATCH_DEBOUNCE_MS, WATCH_STEP_MS, 0, until)
                if isinstance(raw, str) or self.stopping.is_set():
                    return  # stopped ("signal" only reaches the main thread, not this one)
                changes = [(Change(c), p) for c, p in raw if wanted(Change(c), p)]
                if not changes:
                    continue
                names = sorted({Path(p).name for _, p in changes})
                log.info("changed: %s", ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
                if config_file is not None and any(Path(p) == config_file for _, p in changes):
                    before = self.config.ledger_path
                    try:
                        self.config = load_config(config_file)
                    except PublisherError as exc:
                        log.error("config.toml not reloaded: %s", exc)
                        continue
                    if self.config.ledger_path != before:
                        self.ledger_moved(before)
                # A folder deleted or moved, then made again, may get the same inode back:
                # its own entry's coming and going says so where the inodes cannot.
                folders = {str(f) for f in self.folders()}
                folders |= {str(Path(f).parent.resolve() / Path(f).name) for f in folders}
                came_or_went = any(c != Change.modified and p in folders for c, p in changes)
                if came_or_went or self.folders_replaced():
                    self._rewatch.set()  # the watch on the new folder runs the pass
                else:
                    self.changed()

    def ledger_moved(self, before: Path) -> None:
        """config.toml names another ledger (a typo in [publish] ledger, say): said, since
        a ledger that does not exist yet starts empty, without what the other recorded."""
        now = self.config.ledger_path
        log.warning(
            "config.toml now names another ledger: %s (it was %s)%s",
            self.config.display_path(now),
            self.config.display_path(before),
            ""
            if now.exists()
            else "; it does not exist yet, so the next pass starts it empty: the failures, "
            "skips and IDs the other one recorded are not in it (what went out is looked up "
            "on the Page and account before anything is sent). If that is a typo, put the "
            "path back",
        )

    # Life cycle

    def serve(self) -> None:
        """Serve the local output on 127.0.0.1 (make run)."""
        from publisher.serve import make_server, site_address

        self._server = make_server(
            self.config.output_dir, port=self.serve_port or 8000, base_url=self.config.base_url
        )
        log.info(
            "serving %s on %s",
            self.config.display_path(self.config.output_dir),
            site_address(self._server),
        )
        threading.Thread(target=self._server.serve_forever, daemon=True, name="serve").start()

    def run(self) -> int:
        """Run until SIGTERM or Ctrl-C; the delivery in flight is finished first."""
        # SIGHUP too (the terminal closed, or a supervisor's hang-up): the same clean stop,
        # never a delivery cut off in flight.
        # A handler runs in the main thread between any two of its steps, even inside a lock
        # the main thread holds: stopping.set() there waited for the lock of `stopping` that
        # stopping.wait() held as it began or ended its wait (a second signal in a burst,
        # inside the first one's set(), the same), and the service ran on. So the handler
        # only notes the signal, and the main thread, woken by the byte the signal writes
        # to a pipe, sets `stopping` itself.
        wake_in, wake_out = os.pipe()
        os.set_blocking(wake_out, False)
        signal.set_wakeup_fd(wake_out, warn_on_full_buffer=False)

        def note(number: int, frame: object) -> None:
            self.signalled = True

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, note)
        log.info(
            "publisher run: started (ledger %s)", self.config.display_path(self.config.ledger_path)
        )
        if self.serve_port is not None:
            self.serve()  # first: a port already in use stops the service before any pass
        self.scheduler.start()
        self.run_pass("catch-up at start")
        self.asked_since_last_look()  # what was asked before it started, that pass settled
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self.clock_check, IntervalTrigger(seconds=CLOCK_CHECK_SECONDS), id="clock-check"
        )
        watcher = threading.Thread(target=self.watch, daemon=True, name="watch")
        watcher.start()
        while not self.signalled:
            os.read(wake_in, 64)  # a signal's byte (a signal before this one left its own)
        self.stopping.set()
        self.stop()
        watcher.join(timeout=10)
        log.info("publisher run: stopped")
        return 0

    def stop(self) -> None:
        """After `stopping` is set: let the pass in flight finish, then shut down."""
        log.info("stopping: finishing the delivery in flight")
        # First the pass in flight and its rescheduling: the scheduler's shutdown holds the
        # lock that rescheduling takes, while it waits for the job running that pass. A pass
        # that starts after this sees `stopping` and returns at once.
        with self._pass_lock:
            pass
        self.scheduler.shutdown(wait=True)
        if self._server is not None:
            self._server.shutdown()
