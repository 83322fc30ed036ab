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
import gc
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from publisher.calendar import SOCIAL_CHANNELS, plan_deliveries
from publisher.config import Config, load_config
from publisher.exceptions import PublisherError, describe_failure
from publisher.ledger import DONE_STATES, RETRY, SCHEDULED, SENDING, Ledger
from publisher.publish import publish_due, site_failures, site_is_built
from publisher.times import now as current_time

log = logging.getLogger("publisher.run")

CLOCK_CHECK_SECONDS = 60  # a timer, not polling: it only compares two clocks
CLOCK_JUMP = timedelta(seconds=30)  # a wall clock this far off the monotonic one jumped
WATCH_DEBOUNCE_MS = 300
# how often the watchers wake to look (watchfiles' default, 50 ms, is 20 wake-ups a
# second each, the only CPU the service spends at rest)
WATCH_STEP_MS = 500
WAITING_RECHECK = timedelta(minutes=1)  # a delivery due but held back is looked at again


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


class Service:
    """The long-running publisher: scheduler, file watcher and (optionally) the local web server."""

    def __init__(self, config_path: Path | None, *, serve_port: int | None = None):
        self.config_path = config_path
        self.config: Config = load_config(config_path)
        self.serve_port = serve_port
        self.stopping = threading.Event()
        self._pass_lock = threading.Lock()
        self._server = None
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        # misfire_grace_time=None: a job whose time passed while the process was busy still
        # runs (APScheduler's default drops it after one second); coalesce: once, not per miss.
        self.scheduler = BackgroundScheduler(
            timezone=self.config.tz,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._clock = (time.time(), time.monotonic())

    # Passes

    def run_pass(self, reason: str) -> None:
        """One publishing pass (waiting for a cron pass that holds the lock), then reschedule."""
        if self.stopping.is_set():
            return
        with self._pass_lock:
            if self.stopping.is_set():
                return
            log.info("pass: %s", reason)
            try:
                report = publish_due(self.config, wait=True, should_stop=self.stopping.is_set)
                if report.needs_person:
                    log.warning("something needs a person: see  publisher status")
            except PublisherError as exc:
                log.error("error: %s", exc)
            except (OSError, sqlite3.Error) as exc:
                log.error("error: %s; the next pass tries again", describe_failure(exc))
            except Exception:  # noqa: BLE001 - the service must outlive one bad pass
                log.exception("the pass failed unexpectedly; the next one tries again")
            # Under the lock: stop() waits for it before it shuts the scheduler down, which
            # holds the scheduler's lock that rescheduling needs.
            self.reschedule()
            give_back_memory()

    def upcoming(self, at: datetime) -> dict[str, datetime]:
        """The jobs there should be: one per delivery still to go out, and one per retry."""
        from publisher.build import load_posts_cached

        posts = list(load_posts_cached(self.config, at).posts)
        wanted: dict[str, datetime] = {}
        with Ledger(self.config.ledger_path) as ledger:
            records = {(r.slug, r.channel): r for r in ledger.all()}
            site_retry = site_failures(ledger)[1]  # after a failed build or deploy
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
                # due and still not out (Meta slowed us down, its page is not live yet...):
                # look again in a minute, as a cron pass would, rather than wait for a change
                wanted[delivery.key] = at + WAITING_RECHECK
        if site_retry is not None and site_retry > at:
            wanted["site/retry"] = site_retry
        return wanted

    def reschedule(self) -> None:
        """Make the scheduler's jobs match the posts and the ledger."""
        if self.stopping.is_set():
            return
        try:
            wanted = self.upcoming(current_time(self.config.tz))
        except PublisherError as exc:
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
        if abs((wall - last_wall) - (mono - last_mono)) > CLOCK_JUMP.total_seconds():
            self.run_pass("the clock jumped (suspend or time change): catching up")
        elif not site_is_built(self.config):
            self.run_pass("the website's folder is gone: building it again")

    # Watching the posts folder and config.toml

    def watch(self) -> None:
        """Re-read posts and config when they change; reschedule without a restart.

        config.toml is watched through its folder (not recursively, for that name only):
        an editor or `sed -i` that saves by writing a new file and renaming it over the old
        one would leave a watch on the file itself looking at the old one."""
        import watchfiles

        config_watch = None
        config_file = self.config.path.resolve() if self.config.path else None
        if config_file is not None:
            config_watch = threading.Thread(
                target=self._watch_changes,
                args=([config_file.parent], False, lambda _, p: Path(p) == config_file),
                daemon=True,
                name="watch-config",
            )
            config_watch.start()
        paths = [p for p in (self.config.posts_dir, self.config.templates_dir) if p.exists()]
        self._watch_changes(paths, True, watchfiles.DefaultFilter())
        if config_watch is not None:
            config_watch.join(timeout=10)

    def _watch_changes(
        self, paths: list[Path], recursive: bool, wanted: Callable[[Any, str], bool]
    ) -> None:
        import watchfiles

        if not paths:
            self.stopping.wait()
            return
        config_file = self.config.path.resolve() if self.config.path else None
        for changes in watchfiles.watch(
            *paths,
            watch_filter=wanted,
            recursive=recursive,
            debounce=WATCH_DEBOUNCE_MS,
            step=WATCH_STEP_MS,
            stop_event=self.stopping,
            raise_interrupt=False,
        ):
            if self.stopping.is_set():
                return
            names = sorted({Path(p).name for _, p in changes})
            log.info("changed: %s", ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""))
            if config_file is not None and any(Path(p) == config_file for _, p in changes):
                try:
                    self.config = load_config(config_file)
                except PublisherError as exc:
                    log.error("config.toml not reloaded: %s", exc)
                    continue
            # A change may make something due now (a post dated in the past): a pass settles it.
            self.scheduler.add_job(
                self.run_pass, args=["posts or config changed"], id="changed", replace_existing=True
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
        # never a delivery cut off in flight
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: self.stopping.set())
        log.info(
            "publisher run: started (ledger %s)", self.config.display_path(self.config.ledger_path)
        )
        if self.serve_port is not None:
            self.serve()  # first: a port already in use stops the service before any pass
        self.scheduler.start()
        self.run_pass("catch-up at start")
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self.clock_check, IntervalTrigger(seconds=CLOCK_CHECK_SECONDS), id="clock-check"
        )
        watcher = threading.Thread(target=self.watch, daemon=True, name="watch")
        watcher.start()
        self.stopping.wait()
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
