"""One publishing pass: every delivery whose time has come goes out once, website first.

Side effects live here and in the channels it calls: the site build and deploy, and the
Graph API. Every step that can create something remotely is preceded by a committed intent
in the ledger, and a delivery whose outcome is unknown is reconciled before it is sent again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.calendar import (
    SOCIAL_CHANNELS,
    Delivery,
    instagram_plan,
    plan_deliveries,
)
from publisher.config import Config, parse_duration
from publisher.content import (
    NEW_POST_PLACEHOLDER,
    Post,
    is_post_name,
    read_post,
    require_posts_folder,
    split_front_matter,
)
from publisher.crashpoint import crashpoint
from publisher.exceptions import (
    ChannelError,
    ConfigError,
    ContentError,
    OutcomeUnknown,
    PublisherError,
    Stopped,
    describe_failure,
)
from publisher.files import SITE_MARKER, folder_files, is_editor_scratch
from publisher.ledger import (
    DONE_STATES,
    DRY_RUN,
    FAILED,
    MISSED,
    PUBLISHED,
    QUIET,
    RETRY,
    SCHEDULED,
    SENDING,
    SITE_FAILURES,
    SKIPPED,
    Ledger,
    PassLock,
    Record,
    ledger_files,
)
from publisher.ownership import cannot_write
from publisher.render.markdown import render_markdown
from publisher.render.social import SocialRenderer, delivery_payload, payload_hash, post_url
from publisher.times import how_long
from publisher.times import now as current_time
from publisher.tokens import TOKEN_VARIABLES, find_token, graph_client, graph_url, missing_token

log = logging.getLogger("publisher.publish")

RECONCILE_WINDOW = timedelta(minutes=10)  # clock skew allowed when matching a read-back post
# A first send this late may have gone out already from a ledger that is gone (deleted,
# moved to another path, an older backup restored, a new server): the channel is read first.
LOOK_FIRST_AFTER = timedelta(minutes=2)  # a cron pass a minute is never this late
LOOK = "look"  # the step of a delivery whose look at the channel before sending failed
# What a channel's read-back gives: the key of a post's words, of its time, and what it is on
READ_BACK = {
    "facebook": ("message", "created_time", "Page"),
    "instagram": ("caption", "timestamp", "account"),
}
IG_FINISH_TIMEOUT = 60.0  # seconds to wait for a container within one pass
# The real time of the last full pass, kept in the ledger: a clock found further back than
# this went back (a reset at boot before NTP), and a pass on it would take every article
# dated after it off the website.
REAL_CLOCK = "real_clock"
CLOCK_BACK = timedelta(minutes=5)
# The [site] timezone the last pass read the posts' dates in: changed since, an article
# already out may be dated after now, and a pass would take it off the website.
SITE_ZONE = "site_timezone"
IG_SUB_NOT_READY = 2207027  # Meta's subcode for a container not ready to publish (graph.py)
DEPLOY_TIMEOUT = 600
ACCOUNT_ERROR_CODES = (190, 102, 10)
TOKEN_CHECK_RETRY = timedelta(hours=1)  # after a token check Meta did not answer
# After Meta refused a channel's token, the passes with that same token send nothing on it
# for this long, then try once more (a permission given back on Meta's side); a new token
# is tried at once.
TOKEN_HOLD_LOOK = timedelta(minutes=15)
NOTHING_SCHEDULED = timedelta(
    days=3650
)  # with nothing ahead, only a change wakes a pass  # token expired or invalid, session, permission


@dataclass
class Outcome:
    """What a pass did with one delivery."""

    key: str
    channel: str
    state: str
    message: str
    needs_person: bool = False


@dataclass
class PassReport:
    """Everything a pass did; `needs_person` decides the exit status."""

    outcomes: list[Outcome] = field(default_factory=list)
    locked_out: bool = False
    problems: list[str] = field(default_factory=list)
    # what a build of the website changed, when no article of it went live (an edit)
    rebuilt: str = ""
    site_failed: str = ""  # why the site could not be built or deployed in this pass

    @property
    def needs_person(self) -> bool:
        """True when something went wrong that no retry will mend."""
        return bool(self.problems) or any(o.needs_person for o in self.outcomes)


# the ledger's note of the posts said to have taken an earlier article's address
ANOTHER_ARTICLE_SAID = "another_article_said"


def backoff(
    attempts: int, config: Config, hint: float | None = None, rng: random.Random | None = None
) -> timedelta:
    """Exponential back-off with jitter, capped, and never sooner than the API asked for."""
    base = parse_duration(config.publish.retry_delay).total_seconds()
    cap = parse_duration(config.publish.retry_delay_max).total_seconds()
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    delay *= (rng or random).uniform(0.8, 1.2)
    if hint:
        delay = max(delay, hint)
    return timedelta(seconds=delay)


class Channels:
    """The Graph API clients of the social channels that have what they need to send."""

    def __init__(self, config: Config):
        self.config = config
        self._clients: dict[str, Any] = {}
        self.why_dry: dict[str, str] = {}
        # channel -> why it cannot send though it should: its token cannot be read, or is
        # not where this pass runs (the deliveries wait for a pass that has it)
        self.broken: dict[str, str] = {}
        # channel -> token_mark of its token: tells a new token from the one Meta refused
        self.token_marks: dict[str, str] = {}
        for channel in SOCIAL_CHANNELS:
            account = self.account_id(channel)
            try:
                token, variable, _ = find_token(channel, config) or ("", "", "")
            except ConfigError as exc:  # the secrets file: the website goes out all the same
                self.broken[channel] = str(exc)
                continue
            if not token and account:  # meant to go out: never settled as a dry run
                self.broken[channel] = missing_token(channel, config)
            elif not token:  # (and no account: both are needed to send)
                key = "page_id" if channel == "facebook" else "account_id"
                self.why_dry[channel] = (
                    f"no token or account: set {TOKEN_VARIABLES[channel]}, and [{channel}] "
                    f"{key} in config.toml"
                )
            elif not account:
                key = "page_id" if channel == "facebook" else "account_id"
                self.why_dry[channel] = f"no account: set [{channel}] {key} in config.toml"
            else:
                self._clients[channel] = graph_client(config, channel, token, variable)
                self.token_marks[channel] = token_mark(token)

    def account_id(self, channel: str) -> str:
        """The Page id or Instagram account id from config.toml."""
        return (
            self.config.facebook.page_id
            if channel == "facebook"
            else self.config.instagram.account_id
        )

    def client(self, channel: str) -> Any | None:
        """The channel's client, or None when it runs as a dry run."""
        return self._clients.get(channel)

    def close(self) -> None:
        """Close every connection."""
        for client in self._clients.values():
            client.close()


class PublishingPass:
    """One pass over the calendar; build it, then call run()."""

    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        now: datetime,
        *,
        dry_run: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        self.should_stop = should_stop
        self.config = config
        self.ledger = ledger
        self.now = now
        self.dry_run = dry_run
        self.report = PassReport()
        self.social = SocialRenderer(config)
        self.channels = Channels(config)
        self.max_lateness = parse_duration(config.publish.max_lateness)
        self._rendered: dict[str, Any] = {}
        self.stopped: dict[str, str] = {}  # channel -> why (a token or permission problem)
        self.would_publish: set[str] = set()  # slugs whose page a dry run would publish
        self.broken_files: list[str] = []  # post files with a problem (run)
        # the posts with an earlier article's address, and its website delivery (earlier_article)
        self.other_articles: dict[str, Record] = {}
        self.throttled: dict[str, str] = {}  # channel -> why it waits for the next pass
        self.quiet_until: datetime | None = None
        self.site_retry_at: datetime | None = None  # after a failed build or deploy
        self.started = time.monotonic()
        self.site_needs_person = False  # the site failed max_attempts times in a row
        self._in_flight: list[Record] = []  # deliveries in `sending` when the pass began
        self._page_problems: set[str] | None = None
        self.missed: list[tuple[str, str, str, datetime, str]] = []
        # channel -> the hold on it (token_mark, when, why) since Meta refused its token
        self.token_holds: dict[str, dict[str, str]] = ledger.token_holds()
        if not dry_run:  # (--dry-run shows what would be sent, with or without a token)
            self.stopped.update(self.channels.broken)
            self.stopped.update(self.holds_kept())
        # since when this ledger has recorded every send: one due before then may have gone
        # out from a ledger that is gone
        self.keeping_since = now if dry_run else ledger.keeping_since(now)  # (records nothing)

    # The pass

    def run(self, posts: list[Post], broken: Iterable[str] = ()) -> PassReport:
        """Reconcile what is unknown, then publish what is due: website first, then social.

        `broken`: the post files that have a problem (the site changes when one is deleted,
        withdrawn or fixed: a live post with a problem stays on it as it was)."""
        self.broken_files = sorted(set(broken))
        try:
            self.follow_renames(posts)
            self.follow_later_dates(posts)
            records = self.ledger.all()
            if self.follow_new_times(posts, records):
                records = self.ledger.all()
            fixed = {
                (r.slug, r.channel): r.due_at
                for r in records
                if r.state != SCHEDULED or r.attempts or r.forced
            }
            deliveries = plan_deliveries(posts, self.config, fixed)
            by_key = {d.key: d for d in deliveries}
            self.reconcile_unknown(by_key)
            due = [d for d in deliveries if d.due <= self.now]
            self.publish_website([d for d in due if d.channel == "website"], posts)
            for delivery in due:
                if self.should_stop():
                    log.info("stopping: the remaining deliveries go out at the next pass")
                    break
                if delivery.channel in SOCIAL_CHANNELS:
                    self.publish_social(delivery)
            self.record_missed()
            self.forget_refusals_disproved()
            self.quiet_until = self.next_wake(deliveries)
            if not self.dry_run:
                self.note_held_channels()
                self.note_token_holds()
                next_check = self.check_tokens()
                if self.quiet_until is not None and next_check is not None:
                    self.quiet_until = min(self.quiet_until, next_check)
        finally:
            self.channels.close()
        return self.report

    def holds_kept(self) -> dict[str, str]:
        """The channels whose token Meta refused (expired, revoked, a permission taken away),
        by a pass with the same token less than TOKEN_HOLD_LOOK ago: their deliveries wait,
        with no call to Meta, until the token is changed (the next pass with a new token
        sends them) or it is time to look whether the same token works again (a permission
        given back on Meta's side)."""
        kept: dict[str, str] = {}
        for channel, hold in self.token_holds.items():
            since = datetime.fromisoformat(hold["at"])
            if self.channels.token_marks.get(channel) == hold["token"] and (
                since <= self.now < since + TOKEN_HOLD_LOOK
            ):
                kept[channel] = hold["why"]
        return kept

    def note_token_holds(self) -> None:
        """Keep the holds of this pass's refused tokens for the next passes (holds_kept);
        a channel whose delivery went out again has none."""
        holds = dict(self.token_holds)
        for outcome in self.report.outcomes:
            if outcome.state == PUBLISHED and outcome.channel in holds:
                del holds[outcome.channel]
                log.info("%s: the token works again: its deliveries go out", outcome.channel)
        if holds != self.ledger.token_holds():
            self.ledger.set_token_holds(holds)

    def check_tokens(self) -> datetime | None:
        """Ask Meta about each channel's token once a `[publish] token_check` (a day): one
        that no longer works (revoked, its password changed, a permission taken away) or
        expires within a week needs a person before a delivery finds out at its time. Said
        once per look, as a problem of this pass (and by `status` until the next look);
        after the deliveries, so it never holds one back. Returns when the next look is due
        (None: none is)."""
        every = self.config.publish.token_check_every
        if every is None:
            return None
        real = datetime.now(UTC)
        checks = self.ledger.token_checks()
        looked = False
        due: list[datetime] = []
        for channel in SOCIAL_CHANNELS:
            client = self.channels.client(channel)
            if client is None or not self.config.channel(channel).enabled:
                looked = checks.pop(channel, None) is not None or looked  # nothing to look at
                continue
            kept = checks.get(channel)
            next_at = datetime.fromisoformat(kept["next"]) if kept else real
            mark = self.channels.token_marks.get(channel, "")
            if kept and kept.get("token", mark) != mark:
                next_at = real  # a look made with another token (accounts): not this one's
            if next_at > real or self.should_stop():
                due.append(next_at)
                continue
            looked = True
            if channel in self.stopped:  # its token was refused in this pass, and said so
                next_at = real + TOKEN_CHECK_RETRY
                checks[channel] = {
                    **(kept or {"at": "", "said": ""}),
                    "next": next_at.isoformat(),
                    "token": mark,
                }
                due.append(next_at)
                continue
            report = client.describe_account(
                self.channels.account_id(channel), now=real, zone=self.config.tz
            )
            if not report.reached:  # Meta down, or no network: look again within the hour
                said = kept["said"] if kept else ""
                next_at = real + TOKEN_CHECK_RETRY
            else:
                said = "; ".join(report.about_token)
                next_at = real + every
            refused = "" if report.token_valid or not report.reached else "1"
            checks[channel] = {
                "at": real.isoformat(),
                "next": next_at.isoformat(),
                "said": said,
                "refused": refused,
                "token": mark,
            }
            due.append(next_at)
            if report.reached and said:
                self.report.problems.append(f"{channel} token: {said}")
        if looked:
            self.ledger.set_token_checks(checks)
        return min(due) if due else None

    def forget_refusals_disproved(self) -> None:
        """A token Meta refused at the last look, on a channel a delivery of this pass went
        out on, is not the token this pass uses, or works again: `publisher accounts` run in
        a shell with another token, say. `status` stops saying it was refused."""
        worked = {
            o.channel
            for o in self.report.outcomes
            if o.state == PUBLISHED and o.channel in SOCIAL_CHANNELS
        }
        if not worked or self.dry_run:
            return
        looks = self.ledger.token_checks()
        disproved = [c for c in worked if looks.get(c, {}).get("refused") and looks[c].get("said")]
        for channel in disproved:
            looks[channel].update(said="", refused="")
            log.info(
                "%s: the token went out fine: the refusal of its last look is forgotten", channel
            )
        if disproved:
            self.ledger.set_token_checks(looks)

    def note_held_channels(self) -> None:
        """Keep why a channel held its deliveries back in this pass (a token or permission
        problem, Meta's usage limits), for `publisher status` to say beside them."""
        self.ledger.set_held_channels(self.now, {**self.throttled, **self.stopped})

    def record_missed(self) -> None:
        """Mark the deliveries found too late, all in one commit, and say so for each."""
        if not self.missed:
            return
        records = self.ledger.mark_many(self.missed, MISSED, self.now)
        for slug, channel, _, due, _ in self.missed:
            record = records[(slug, channel)]
            # an article from before the first pass (an archive set up) needs nobody
            person = not self.before_first_pass(due)
            self.outcome(record, MISSED, record.last_error or "missed", needs_person=person)
        self.missed.clear()

    def before_first_pass(self, due: datetime) -> bool:
        """Whether a delivery due then was too late already, in this ledger's first pass:
        one of the articles a site is set up with, not one a pass failed to send (nor a
        post added since with a year typed wrong, which needs a person)."""
        first = self.now - self.keeping_since < timedelta(seconds=1)  # (kept to the second)
        return first and due + self.max_lateness < self.keeping_since

    def next_wake(self, deliveries: list[Delivery]) -> datetime | None:
        """Until when nothing can become due (no post, config or ledger change assumed):
        the next delivery's time or retry, or None when something is waiting already."""
        records = {(r.slug, r.channel): r for r in self.ledger.all()}
        wake: datetime | None = self.site_retry_at
        for delivery in deliveries:
            record = records.get((delivery.post.slug, delivery.channel))
            if record is not None and record.state in DONE_STATES:
                continue
            when = delivery.due
            if record is not None and record.state in (RETRY, SENDING):
                when = record.next_attempt_at or self.now
            if delivery.channel in SOCIAL_CHANNELS and record is None and delivery.due <= self.now:
                return None  # due but not sent (waiting for its page, throttled, stopped)
            if when <= self.now:
                return None
            wake = when if wake is None else min(wake, when)
        for record in records.values():
            # whether it went out is still to be checked, even if its post is gone since
            if record.state == SENDING and record.channel in SOCIAL_CHANNELS:
                when = record.next_attempt_at or self.now
                if when <= self.now:
                    return None
                wake = when if wake is None else min(wake, when)
        return wake or self.now + NOTHING_SCHEDULED

    def outcome(
        self, delivery: Delivery | Record, state: str, message: str, needs_person: bool = False
    ) -> None:
        """Note and log what happened to a delivery: one line per event."""
        key = (
            delivery.key
            if isinstance(delivery, Delivery)
            else f"{delivery.slug}/{delivery.channel}"
        )
        channel = delivery.channel
        self.report.outcomes.append(Outcome(key, channel, state, message, needs_person))
        log.info("%s %s: %s", key, state, message)

    def follow_renames(self, posts: list[Post]) -> None:
        """A post whose slug or file name changed keeps its ledger history, so it is not
        sent twice (matched_renames says how it is known)."""
        records = self.ledger.all()
        said = set(json.loads(self.ledger.meta(ANOTHER_ARTICLE_SAID) or "[]"))
        self.other_articles = {
            post.display: website
            for post in posts
            if (website := earlier_article(self.config, post, records, said)) is not None
        }
        sources, moved = matched_renames(
            posts, records, lambda p, _: p.display in self.other_articles
        )
        self.say_earlier_articles(posts, records, said)
        for slug, source in sources.items():  # the file was renamed
            self.ledger.set_source(slug, source, self.now)
        for old, post in moved.items():
            self.ledger.rename(old, post.slug, self.now)
            self.ledger.set_source(post.slug, post.display, self.now)
            website = self.ledger.get(post.slug, "website")
            if website is not None and website.state == PUBLISHED:
                # the old address keeps working: the build leaves a page there that points on
                self.ledger.set_permalink(website, post_url(self.config, post), self.now)
            log.info(
                "%s: the slug changed to %s; its history follows it, and its old address "
                "sends visitors to the new one",
                old,
                post.slug,
            )

    def say_earlier_articles(
        self, posts: list[Post], records: list[Record], said: set[str]
    ) -> None:
        """A post that took an earlier article's address (earlier_article): said once per
        file, by the first pass that sees it (something needs a person), and by check."""
        now_said = set()
        for post in posts:
            website = self.other_articles.get(post.display)
            if website is None:
                continue
            key = another_article_key(post)
            now_said.add(key)
            if key not in said:
                message = earlier_article_said(self.config, post, website, records)
                line = post.line_of("slug") or post.line_of("title")
                self.report.problems.append(str(ContentError(message, post.display, line)))
        if now_said != said and not self.dry_run:
            self.ledger.set_meta(ANOTHER_ARTICLE_SAID, json.dumps(sorted(now_said)))

    def follow_later_dates(self, posts: list[Post]) -> None:
        """A published article whose date was moved later is scheduled again for that date
        (the build takes its page off the site until then, as a scheduled post); its
        Facebook and Instagram posts, already out, are never sent again."""
        if self.dry_run:
            return  # a dry run records nothing
        for post in posts:
            if post.draft or post.date <= self.now or post.display in self.other_articles:
                continue  # (another article's history is not this post's)
            record = self.ledger.get(post.slug, "website")
            if record is None or record.state != PUBLISHED:
                continue
            when = f"{post.date.astimezone(self.config.tz):%Y-%m-%d %H:%M %Z}"
            if record.due_at == post.date:  # not moved: it went out early
                why = (
                    f"it was published before its date, {when} (by a pass run with --now, or "
                    "a clock that was ahead): off the site until then"
                )
            else:
                why = f"its date was moved to {when}: off the site until then"
            self.ledger.set_state(
                record, self.now, SCHEDULED, why, due_at=post.date, attempts=0, permalink=None
            )
            log.info("%s/website scheduled again: %s", post.slug, why)

    def follow_new_times(self, posts: list[Post], records: list[Record]) -> bool:
        """A Facebook or Instagram post held at the time it had (missed, failed, or waiting
        to be tried again) whose post now gives it a time still to come is scheduled for
        that time, as a new one: staff who correct a date typed wrong (2025 for 2026) need
        not ask for it again, and it does not go out before its article. Nothing of it went
        out (one that may have is `sending`, and is checked first). True if one was."""
        if self.dry_run:
            return False  # a dry run records nothing
        held = {
            (r.slug, r.channel): r
            for r in records
            if r.channel in SOCIAL_CHANNELS
            and (r.state in (MISSED, FAILED, RETRY) or (r.state == SCHEDULED and r.attempts))
        }
        if not held:
            return False
        moved = False
        for delivery in plan_deliveries([p for p in posts if not p.draft], self.config, {}):
            record = held.get((delivery.post.slug, delivery.channel))
            if record is None or delivery.due <= self.now or delivery.due == record.due_at:
                continue
            # moved by the post itself (its date, or its own `at:`), not by the slots of
            # other posts planned afresh around it
            post = delivery.post
            own = getattr(post, delivery.channel).at
            if post.date <= self.now and (own is None or own <= self.now):
                continue
            when = f"{delivery.due.astimezone(self.config.tz):%Y-%m-%d %H:%M %Z}"
            why = f"its time was moved to {when}"
            self.ledger.set_state(
                record,
                self.now,
                SCHEDULED,
                why,
                due_at=delivery.due,
                attempts=0,
                forced=0,
                step=None,
                container_id=None,
                next_attempt_at=None,
                last_error=None,
            )
            log.info("%s scheduled again (was %s): %s", delivery.key, record.state, why)
            moved = True
        return moved

    # Website

    def publish_website(self, due: list[Delivery], posts: list[Post]) -> None:
        """Build the site (and deploy it) when a post falls due or the site's sources changed."""
        pending = []
        for delivery in due:
            record = self.ledger.get(delivery.post.slug, "website")
            if record is None or record.state != PUBLISHED:
                pending.append(delivery)
        fingerprint = site_fingerprint(self.config, self.now, posts, self.broken_files)
        built = site_is_built(self.config)
        if not pending and self.ledger.meta("site_fingerprint") == fingerprint and built:
            return  # (a site deleted by hand is built again)
        if self.dry_run:
            for delivery in pending:
                self.would_publish.add(delivery.post.slug)
                self.outcome(
                    delivery,
                    "dry-run",
                    f"would build the site with {post_url(self.config, delivery.post)}",
                )
            return
        from publisher.build import build_site

        if self.site_waits():
            return
        try:
            if self.should_stop():  # told before the build began: none is in flight
                raise Stopped("told to stop before the build")
            # the deploy runs under the build's lock: no other build swaps the folder it copies
            result = build_site(
                self.config, self.now, should_stop=self.should_stop, then=self.deploy
            )
        except Stopped:
            log.info("stopping: the site is built and deployed at the next pass")
            return
        except PublisherError as exc:
            self.site_failed(pending, exc)
            return
        except OSError as exc:  # the site's disk (full, read-only): the social posts of
            # pages already live still go out; this is retried, and said, as a failed build
            self.site_failed(pending, PublisherError(describe_failure(exc)))
            return
        if self.ledger.meta(SITE_FAILURES):
            log.info("the site is built and deployed again")
            self.ledger.set_meta(SITE_FAILURES, "")
        for problem in result.problems:
            self.report.problems.append(str(problem))
        for warning in result.warnings:  # said at each build, until mended
            log.warning("%s", warning)
        self.ledger.set_page_problems(p.path for p in result.problems)
        for path in result.removed:
            log.info(
                "taken off the website: %s/%s%s", self.config.base_url, path, result.what_was(path)
            )
        if not pending:  # an edit: said when an article's page changed
            self.report.rebuilt = rebuilt_pages(result.stats.changed_paths, result.moved)
            if self.report.rebuilt:
                log.info("website rebuilt: %s", self.report.rebuilt)
        output = self.config.output_dir
        for delivery in pending:
            record = self.ledger.ensure(
                delivery.post.slug, "website", delivery.post.display, delivery.due, self.now
            )
            url = post_url(self.config, delivery.post)
            # on the site, though a problem may be listed for it (a photo the Instagram
            # image could not be made from)
            built = (output / "posts" / delivery.post.slug / "index.html").exists()
            if not built:
                reason = "; ".join(
                    str(p) for p in result.problems if p.path == delivery.post.display
                )
                self.ledger.set_state(record, self.now, FAILED, reason)
                self.outcome(
                    delivery, FAILED, f"the page could not be built: {reason}", needs_person=True
                )
                continue
            self.ledger.published(record, self.now, None, url, text=body_fingerprint(delivery.post))
            self.outcome(delivery, PUBLISHED, url)
        self.ledger.set_meta("site_fingerprint", fingerprint)

    def site_failed(self, pending: list[Delivery], exc: PublisherError) -> None:
        """The site could not be built or deployed: try again later, with back-off; after
        max_attempts failures in a row, every pass says a person must look (exit status 1).
        Counted for the site (in the ledger's meta), so a failure with nothing newly due
        (an edit to a published post) is retried and reported too."""
        failures = self.ledger.site_failures()[0] + 1
        # from now, not the pass's start: a deploy may have taken minutes to fail
        taken = timedelta(seconds=time.monotonic() - self.started)
        again = self.now + taken + backoff(failures, self.config)
        message = f"the site could not be built or deployed ({failures} time(s) in a row): {exc}"
        self.ledger.set_meta(SITE_FAILURES, json.dumps([failures, again.isoformat(), message]))
        self.site_retry_at = again
        self.report.site_failed = message
        give_up = failures >= self.config.publish.max_attempts
        for delivery in pending:
            record = self.ledger.ensure(
                delivery.post.slug, "website", delivery.post.display, delivery.due, self.now
            )
            self.ledger.retry_later(record, self.now, again, str(exc))
            self.outcome(delivery, RETRY, message, needs_person=give_up)
        if not pending:
            log.warning(
                "%s; trying again at %s", message, f"{again.astimezone(self.config.tz):%H:%M %Z}"
            )
        if give_up:
            self.site_needs_person = True
            self.report.problems.append(f"{message}: fix it; every pass tries again")

    def site_waits(self) -> bool:
        """True while the site waits for its next try after a failure (each pass until then
        says again that a person must look, once max_attempts is reached)."""
        failures, again, message = self.ledger.site_failures()
        if not failures or again is None or again <= self.now:
            return False
        self.site_retry_at = again
        if failures >= self.config.publish.max_attempts:
            self.site_needs_person = True
            again = again.astimezone(self.config.tz)
            self.report.problems.append(f"{message}: fix it; the next try is at {again:%H:%M %Z}")
        return True

    def deploy(self) -> None:
        """Run [site] deploy_command, if config.toml names one."""
        command = self.config.site.deploy_command
        if not command:
            return
        import subprocess

        from publisher.deploy import StillRunning, run_whole
        from publisher.graph import redact
        from publisher.tokens import TOKEN_VARIABLES, known_tokens

        # The deploy needs no Meta token: it gets none, and what it prints is redacted all
        # the same (it is kept in the ledger and the log).
        env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES.values()}
        env["PUBLISHER_OUTPUT"] = str(self.config.output_dir)
        secrets = known_tokens(self.config)
        began = datetime.now(UTC)  # the real time: `publisher status` says since when
        self.ledger.set_deploying(began, began + timedelta(seconds=DEPLOY_TIMEOUT))
        lock = self.config.ledger_path.with_name(self.config.ledger_path.name + ".deploy")
        try:
            done = run_whole(command, self.config.root, env, DEPLOY_TIMEOUT, lock)
        except StillRunning:
            raise PublisherError(
                f"a deploy begun by an earlier pass (one killed before it ended, say) is "
                f"still running: its processes hold {lock}. This pass starts no second one "
                "beside it; a later pass deploys once it has ended (or stop it: "
                f"fuser -k {lock})"
            ) from None
        except subprocess.TimeoutExpired:
            raise PublisherError(
                f"the deploy command took more than {DEPLOY_TIMEOUT} s and was stopped, with "
                f"all it started: {redact(command, secrets)}: run it by hand, as the "
                "service's user, to see where it waits (a server that does not answer, or ssh "
                "asking for a password or to trust a host key: nobody is there to answer)"
            ) from None
        finally:
            self.ledger.set_deploying(None)
        if done.stopped:
            log.warning(
                "the deploy command ended but left %s running: stopped, so that nothing goes "
                "on reading %s once other builds may change it. Make `%s` wait for what it "
                "starts (`wait` in a script; no ssh ControlPersist)",
                redact(", ".join(done.stopped), secrets),
                self.config.output_dir,
                redact(command, secrets),
            )
        if done.unstoppable:
            log.warning(
                "the deploy command left %s running, which this user may not stop: it may go "
                "on reading %s; stop it as its owner, and make the command wait for it",
                redact(", ".join(done.unstoppable), secrets),
                self.config.output_dir,
            )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            said = redact(" / ".join(tail), secrets) or "it printed nothing"
            raise PublisherError(f"the deploy command failed (exit {done.returncode}): {said}")
        log.info("deployed: %s", redact(command, secrets))

    # Social

    def payload(self, delivery: Delivery) -> tuple[dict[str, Any], list[str]]:
        """What goes out for a social delivery, and the problems that stop it."""
        post = delivery.post
        if not post.body:
            # Posts come from the build cache without their text: read this one in full.
            full, _ = read_post(post.source, self.config)
            post = full or post
        rendered = self._rendered.get(post.slug)
        if rendered is None:
            rendered = render_markdown(post.body, allow_html=self.config.site.allow_html)
            self._rendered[post.slug] = rendered
        payload, problems = delivery_payload(post, delivery.channel, rendered, self.social)
        return payload, [str(post.channel_problem(p.message, p.key)) for p in problems]

    def publish_social(self, delivery: Delivery) -> None:
        """Send one due Facebook or Instagram delivery, if it is not done and not waiting."""
        post, channel = delivery.post, delivery.channel
        record = self.ledger.get(post.slug, channel)
        if record is not None and (record.state in DONE_STATES or record.state == SENDING):
            return
        if (
            record is not None
            and record.state == RETRY
            and record.next_attempt_at
            and record.next_attempt_at > self.now
        ):
            return
        if self.missed_if_too_late(delivery, record):
            return
        if post.display in self.page_problems():
            # a problem only its page shows (an image in the text not found): the website
            # keeps the version built last, and the posts that would link to it wait
            log.info(
                "%s waiting: %s has a problem: see  publisher check", delivery.key, post.display
            )
            return
        if channel in self.throttled:
            log.info("%s waiting: %s", delivery.key, self.throttled[channel])
            return
        if channel in self.stopped:
            self.outcome(
                delivery,
                "waiting",
                f"{channel} is held back: {self.stopped[channel]}",
                True,
            )
            return
        website = self.ledger.get(post.slug, "website")
        if (website is None or website.state != PUBLISHED) and post.slug not in self.would_publish:
            log.info("%s waiting: the article's page is not published yet", delivery.key)
            return
        payload, problems = self.payload(delivery)
        client = self.channels.client(channel)
        if self.dry_run or client is None:
            self.show_dry_run(delivery, payload, problems, client is None)
            return
        if record is None:
            record = self.ledger.ensure(post.slug, channel, post.display, delivery.due, self.now)
        problems += unreachable_by_meta(graph_url(self.config), payload)
        if problems:
            reason = "; ".join(problems)
            self.ledger.set_state(record, self.now, FAILED, reason)
            self.outcome(delivery, FAILED, reason, needs_person=True)
            return
        if self.config.site.verify_live and not self.live(delivery, record, payload):
            return
        try:
            if self.unvouched(delivery, record) and self.already_out(
                delivery, record, client, payload
            ):
                return
            if channel == "facebook":
                self.send_facebook(delivery, record, client, payload)
            else:
                self.send_instagram(delivery, record, client, payload)
        except OutcomeUnknown as exc:
            self.outcome_unknown(delivery, record, exc)
        except ChannelError as exc:
            self.failed_attempt(delivery, self.ledger.by_id(record.id), exc)  # type: ignore[arg-type]
        self.slow_down_if_near_limit(channel, client)

    def unvouched(self, delivery: Delivery, record: Record) -> bool:
        """A first send the ledger cannot vouch for: due before it began to keep records,
        or long enough ago that a ledger since lost (deleted, an older backup restored,
        another path in config.toml, a new server) may have seen it go out."""
        if record.forced:  # a person asked for it, having looked (`publisher retry`)
            return False
        first = record.attempts == 0 or record.step == LOOK  # (a look that failed counts)
        return first and (
            delivery.due < self.keeping_since or self.now - delivery.due > LOOK_FIRST_AFTER
        )

    def already_out(
        self, delivery: Delivery, record: Record, client: Any, payload: dict[str, Any]
    ) -> bool:
        """Look on the Page or account for this delivery's words, made since it was due and
        not recorded as another delivery; when found, record it as published instead of
        sending it again. ChannelError when the channel cannot be read (nothing is sent)."""
        text_key, made_at, where = READ_BACK[delivery.channel]
        text = (payload.get(text_key) or "").strip()
        checked = _same_words_in_flight(self.ledger.in_state(SENDING), record, text_key, text)
        if checked:
            # a post with these words may be that delivery's: which one went out is told
            # once its check is made (at the next pass); until then this one waits
            why = (
                f"waiting: delivery {', '.join(str(r.id) for r in checked)} with the same words "
                "is being checked; this one goes after"
            )
            self.outcome(delivery, "waiting", why)
            return True
        try:
            recent = self.recent_on(delivery.channel, client)
        except ChannelError:
            # counted as an attempt (max_attempts, back-off), and looked at again next time
            self.ledger.note_step(record, self.now, LOOK, attempt=True)
            raise
        # since it was due, on Meta's clock (the real one: a pass's `now` may be --now)
        due_ago = self.now - delivery.due
        since = datetime.now(UTC) - due_ago + client.clock_offset - RECONCILE_WINDOW
        others = self.ledger.claimed_ids(delivery.channel, but=record.id)
        found = _same_words(recent, text_key, made_at, text, since, others)
        if not found:
            return False
        item = found[-1]  # newest first: the oldest that is no other delivery's
        permalink = item.get("permalink_url") or item.get("permalink")
        self.ledger.published(
            record, self.now, item.get("id"), permalink, how="found before sending"
        )
        self.outcome(
            delivery,
            PUBLISHED,
            f"already on the {where}, not sent again (the ledger had no record of it): "
            f"{permalink or 'id ' + str(item.get('id'))}",
        )
        return True

    def page_problems(self) -> set[str]:
        """The post files the last build listed problems for (read once a pass, after the
        site is built)."""
        if self._page_problems is None:
            self._page_problems = self.ledger.page_problems()
        return self._page_problems

    def outcome_unknown(self, delivery: Delivery, record: Record, exc: OutcomeUnknown) -> None:
        """A send whose answer was lost: checked before anything is sent again."""
        record = self.ledger.by_id(record.id)  # type: ignore[assignment]
        when = self.now + backoff(record.attempts, self.config, exc.retry_after)
        self.ledger.retry_later(record, self.now, when, exc.message, unknown=True)
        self.outcome(
            delivery, SENDING, f"outcome unknown ({exc.message}); will check before sending again"
        )

    def missed_if_too_late(self, delivery: Delivery, record: Record | None) -> bool:
        """True (and the delivery noted as missed) when it is more than max_lateness late:
        also one tried before and held back since (Meta down, throttling); only one a person
        asked for (`publisher retry`) goes out however late."""
        late = self.now - delivery.due
        if (record is not None and record.forced) or late <= self.max_lateness:
            return False
        if self.dry_run:
            self.outcome(delivery, MISSED, "would be marked missed")
            return True
        due = delivery.due.astimezone(self.config.tz)
        reason = (
            f"due {due:%Y-%m-%d %H:%M %Z}, {how_long(late)} ago (more than "
            f"{self.config.publish.max_lateness}): not sent on its own; "
            "`publisher retry {id}` sends it at the next pass"
        )
        if self.before_first_pass(delivery.due):
            reason = (
                f"due {due:%Y-%m-%d %H:%M %Z}, before publisher's first pass here: an article "
                "from before, not sent on its own; `publisher retry {id}` sends it at the "
                "next pass"
            )
        # Recorded together at the end of the pass: an archive's first pass marks
        # thousands, and one commit each would take minutes.
        post = delivery.post
        self.missed.append((post.slug, delivery.channel, post.display, delivery.due, reason))
        return True

    def slow_down_if_near_limit(self, channel: str, client: Any) -> None:
        """Meta's usage headers say how much of the budget is used: leave the rest for later."""
        usage = client.usage
        if usage.near_limit:
            self.throttled[channel] = (
                f"Meta reports {usage.percent:.0f}% of the call budget used; "
                "the remaining deliveries wait for the next pass"
            )
            log.info("%s: %s", channel, self.throttled[channel])

    def failed_attempt(
        self, delivery: Delivery | Record, record: Record, exc: ChannelError
    ) -> None:
        """A transient error is retried later, up to max_attempts; a permanent one needs a person."""
        if exc.transient and record.attempts < self.config.publish.max_attempts:
            when = self.now + backoff(record.attempts, self.config, exc.retry_after)
            self.ledger.retry_later(record, self.now, when, exc.message)
            self.outcome(
                delivery,
                RETRY,
                f"{exc.message} (attempt {record.attempts}; next at {when:%H:%M:%S %Z})",
            )
            return
        message = exc.message
        if exc.transient:
            message = f"gave up after {record.attempts} attempts: {exc.message}"
        elif _stops_channel(exc) and record.channel in self.channels.token_marks:
            self.hold_channel(delivery, record, exc.message)
            return
        elif _stops_channel(exc):
            self.stopped[record.channel] = exc.message
        self.ledger.set_state(record, self.now, FAILED, message, next_attempt_at=None, step=None)
        self.outcome(delivery, FAILED, message, needs_person=True)

    def hold_channel(self, delivery: Delivery | Record, record: Record, why: str) -> None:
        """Meta refused the channel's token (expired, revoked, a permission taken away):
        nothing went out. The delivery waits with the channel's others, not failed one by
        one: the first pass with a token that works sends them all, as late as
        [publish] max_lateness allows (later ones are missed, as any delivery that late)."""
        channel = record.channel
        self.stopped[channel] = why
        self.token_holds[channel] = {
            "token": self.channels.token_marks[channel],
            "at": self.now.isoformat(),
            "why": why,
        }
        # its step is kept: a look first that met the refusal is made again before a send
        # (the ledger may not vouch for it), and an Instagram container made before the
        # refusal is published, not made again
        self.ledger.set_state(
            record, self.now, SCHEDULED, why, last_error=why, next_attempt_at=None
        )
        self.outcome(
            delivery,
            "waiting",
            f"{why}; this and {channel}'s other deliveries wait for a pass whose token works "
            f"(sent if at most {self.config.publish.max_lateness} late)",
            needs_person=True,
        )

    def show_dry_run(
        self, delivery: Delivery, payload: dict[str, Any], problems: list[str], no_client: bool
    ) -> None:
        """Print exactly what would be sent; record it only when the channel lacks a token or account."""
        channel = delivery.channel
        account = self.channels.account_id(channel) or "{account}"
        edge = "feed" if channel == "facebook" else "media"
        why = self.channels.why_dry.get(channel, "--dry-run") if no_client else "--dry-run"
        lines = [
            f"{delivery.key} dry run ({why}): would POST {graph_url(self.config)}/{self.config.graph.version}/{account}/{edge}"
        ]
        for key, value in payload.items():
            lines.append(f"  {key}: " + str(value).replace("\n", "\n    "))
        lines.append("  access_token: ***")
        if problems:
            lines.append("  problems: " + "; ".join(problems))
        print("\n".join(lines), flush=True)
        if no_client and not self.dry_run:
            record = self.ledger.ensure(
                delivery.post.slug, channel, delivery.post.display, delivery.due, self.now
            )
            self.ledger.set_state(
                record, self.now, DRY_RUN, why, payload=json.dumps(payload, ensure_ascii=False)
            )
        self.outcome(delivery, DRY_RUN, why)

    def live(self, delivery: Delivery, record: Record, payload: dict[str, Any]) -> bool:
        """With [site] verify_live: the article (and Instagram image) must answer 200 before posting."""
        import requests  # only here: a build that plans Instagram images needs none of it

        urls = [post_url(self.config, delivery.post)]
        if payload.get("image_url"):
            urls.append(payload["image_url"])
        for url in urls:
            try:
                status = requests.get(url, timeout=15).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            if status != 200:
                when = self.now + backoff(record.attempts + 1, self.config)
                message = f"{url} is not live yet ({status}): check the deploy; trying again later"
                self.ledger.retry_later(record, self.now, when, message)
                self.outcome(delivery, RETRY, message)
                return False
        return True

    def send_facebook(
        self, delivery: Delivery, record: Record, client: Any, payload: dict[str, Any]
    ) -> None:
        """POST /{page-id}/feed, with the intent committed first."""
        page_id = self.config.facebook.page_id
        record = self.ledger.begin(record, self.now, "feed", payload, payload_hash(payload))
        crashpoint("facebook-before-call")
        post_id = client.page_post(page_id, payload["message"], payload["link"])
        crashpoint("facebook-after-call")
        record = self.ledger.published(record, self.now, post_id, None)
        self.add_permalink(delivery, record, lambda: client.post_permalink(post_id))

    def add_permalink(self, delivery: Delivery | Record, record: Record, read: Any) -> None:
        """Read and keep the post's public URL; the post is published either way."""
        try:
            permalink = read()
        except ChannelError as exc:
            log.info(
                "%s/%s: published, but its permalink could not be read (%s)",
                record.slug,
                record.channel,
                exc.message,
            )
            permalink = None
        if permalink:
            try:
                self.ledger.set_permalink(record, permalink, self.now, kind="permalink")
            except PublisherError as exc:  # (a full disk) the post is recorded as published
                self.outcome(
                    delivery,
                    PUBLISHED,
                    f"{permalink} (recorded as published, so never sent again; but its link "
                    f"could not be kept: {exc})",
                    needs_person=True,
                )
                return
        self.outcome(delivery, PUBLISHED, permalink or f"id {record.remote_id}")

    def send_instagram(
        self, delivery: Delivery | Record, record: Record, client: Any, payload: dict[str, Any]
    ) -> None:
        """Container, wait until FINISHED, media_publish, permalink; each step committed first."""
        account = self.config.instagram.account_id
        # (a container made before the channel was held, when Meta refused its token)
        held = record.state == SCHEDULED and record.step in ("container", "publish")
        if not record.container_id or not (record.state == SENDING or held):
            used, total = client.ig_publishing_limit(account)
            if used >= total:
                when = self.now + timedelta(hours=1)
                message = f"Instagram's publishing limit is reached ({used} of {total} in 24 hours); trying again later"
                self.ledger.retry_later(record, self.now, when, message)
                self.outcome(delivery, RETRY, message)
                return
            record = self.ledger.begin(
                record, self.now, "container", payload, payload_hash(payload)
            )
            crashpoint("instagram-before-container")
            container = client.ig_create_container(
                account, payload["image_url"], payload["caption"], payload["alt_text"]
            )
            record = self.ledger.note_step(record, self.now, "container", container_id=container)
        resumed = record.step == "publish"  # media_publish again, after an unknown answer
        try:
            status = client.ig_wait_until_finished(record.container_id, timeout=IG_FINISH_TIMEOUT)
            if status != "PUBLISHED":
                record = self.ledger.note_step(record, self.now, "publish", attempt=resumed)
                crashpoint("instagram-before-publish")
                media_id = client.ig_publish(account, record.container_id)
                crashpoint("instagram-after-publish")
            else:
                media_id = self.find_instagram_media(client, record)
        except ChannelError as exc:
            if exc.subcode == IG_SUB_NOT_READY:
                self.container_not_ready(delivery, record, exc)
                return
            if exc.transient and record.step == "publish":
                # media_publish answered a passing error: Meta may have published all the
                # same. The container is kept and its status read before anything else
                # (PUBLISHED: it is out; FINISHED: it is published, once; else a new one).
                self.container_not_ready(
                    delivery, record, exc, "its container's status is read before anything"
                )
                return
            raise
        record = self.ledger.published(record, self.now, media_id, None)
        if media_id:
            self.add_permalink(delivery, record, lambda: client.ig_media_permalink(media_id))
        else:
            self.outcome(delivery, PUBLISHED, "published (found by its container)")

    def container_not_ready(
        self,
        delivery: Delivery | Record,
        record: Record,
        exc: ChannelError,
        what: str = "its container {container} is looked at again",
    ) -> None:
        """Meta is still processing the container, or answered media_publish with a passing
        error: the container stays the delivery's, its status read at a later pass (out if
        PUBLISHED, published once if FINISHED). A new container made now could go out
        beside it."""
        record = self.ledger.by_id(record.id)  # type: ignore[assignment]
        when = self.now + backoff(record.attempts, self.config, exc.retry_after)
        self.ledger.retry_later(record, self.now, when, exc.message, unknown=True)
        what = what.format(container=record.container_id)
        self.outcome(delivery, SENDING, f"{exc.message}; {what} at {when:%H:%M:%S %Z}")

    # Reconciling deliveries whose outcome is unknown

    def reconcile_unknown(self, by_key: dict[str, Delivery]) -> None:
        """Every delivery left in `sending` is checked against the channel before anything else."""
        self._in_flight = self.ledger.in_state(SENDING)
        for record in self._in_flight:
            if record.channel not in SOCIAL_CHANNELS:
                continue
            if (
                record.next_attempt_at
                and record.next_attempt_at > self.now
                and record.step != "container"
            ):
                continue
            client = self.channels.client(record.channel)
            if client is None:
                continue
            try:
                if record.channel == "facebook":
                    self.reconcile_facebook(record, client)
                else:
                    self.reconcile_instagram(record, client, by_key)
            except ChannelError as exc:
                # Whether it went out is still unknown, so it stays `sending`: checked again
                # before anything is sent. (As `failed`, `publisher retry` would have sent it
                # without checking, a second time if the first went out.)
                when = self.now + backoff(record.attempts, self.config, exc.retry_after)
                self.ledger.retry_later(
                    record, self.now, when, f"could not check yet: {exc.message}", unknown=True
                )
                message = f"could not check whether it went out: {exc.message}"
                if not exc.transient:
                    if _stops_channel(exc):
                        self.stopped[record.channel] = exc.message
                    message += (
                        f"; it is checked again at {when:%Y-%m-%d %H:%M %Z} (or at the next "
                        f"pass after `publisher retry {record.id}`), and sent only if it is "
                        "not out"
                    )
                self.outcome(record, SENDING, message, needs_person=not exc.transient)

    def _gave_up(self, record: Record, how: str) -> bool:
        """True (and the delivery failed) when max_attempts sends were made and none of them
        went out (`how` says how that is known)."""
        if record.attempts < self.config.publish.max_attempts:
            return False
        why = (
            f"gave up after {record.attempts} attempts, none of which went out ({how}; "
            f"last: {record.last_error}): `publisher retry {record.id}` tries again"
        )
        self.ledger.set_state(
            record, self.now, FAILED, why, next_attempt_at=None, step=None, container_id=None
        )
        self.outcome(record, FAILED, why, needs_person=True)
        return True

    def _proven_not_sent(self, record: Record, how: str) -> None:
        if self._gave_up(record, how):
            return
        self.ledger.set_state(
            record, self.now, RETRY, how, next_attempt_at=self.now, step=None, container_id=None
        )
        log.info("%s/%s reconciled: %s; it will be sent again", record.slug, record.channel, how)

    def _since(self, record: Record, client: Any) -> datetime:
        """The earliest time a post or media made by this delivery's last attempt can carry,
        on Meta's clock: the attempt's time on ours, moved by how far Meta's clock is from
        ours (from its last answer's Date header), give or take RECONCILE_WINDOW. A record
        written before the ledger kept that time has none: then no limit (other deliveries'
        posts are still ruled out)."""
        if record.intent_clock is None:
            return datetime.min.replace(tzinfo=UTC)
        return record.intent_clock + client.clock_offset - RECONCILE_WINDOW

    def reconcile_facebook(self, record: Record, client: Any) -> None:
        """Read back the Page's recent posts and look for this message: made since the
        attempt, and not a post another delivery is already recorded as (two posts may say
        the same; Meta does not let the link be read back, see META-GRAPH.md)."""
        message = (record.payload or {}).get("message", "").strip()
        others = self.ledger.claimed_ids("facebook", but=record.id)
        recent = self.recent_on("facebook", client)
        since = self._since(record, client)  # after the read: its answer dates Meta's clock
        matches = _same_words(recent, "message", "created_time", message, since, others)
        if self._cannot_tell(record, "message", len(matches)):
            return
        if not matches:
            self._proven_not_sent(record, "not on the Page's recent posts")
            return
        item = matches[-1]  # newest first: the oldest that is no other delivery's
        self.ledger.published(
            record, self.now, item.get("id"), item.get("permalink_url"), how="reconciled"
        )
        self.outcome(
            record,
            PUBLISHED,
            f"found on the Page after an unknown outcome: {item.get('permalink_url') or item.get('id')}",
        )

    def _cannot_tell(self, record: Record, text_key: str, found: int) -> bool:
        """True (and the delivery failed, for a person to settle) when other deliveries with
        the same words were in flight too, and fewer posts with those words are out than
        deliveries that may have made them: which one went out cannot be told."""
        text = (record.payload or {}).get(text_key, "").strip()
        # the deliveries in flight as the pass found them: one failed here still counts
        peers = _same_words_in_flight(self._in_flight, record, text_key, text)
        if not peers or found == 0 or found > len(peers):
            return False
        ids = ", ".join(str(r.id) for r in [record, *peers])
        why = (
            f"{len(peers) + 1} deliveries with the same words were in flight (ids {ids}) and "
            f"{found} of them went out: which one cannot be told. Look at the "
            f"{'Page' if record.channel == 'facebook' else 'account'}, then "
            f"`publisher retry {record.id}` if this one is not there, or "
            f"`publisher skip {record.id}` if it is"
        )
        self.ledger.set_state(record, self.now, FAILED, why, step=None)
        self.outcome(record, FAILED, why, needs_person=True)
        return True

    def reconcile_instagram(self, record: Record, client: Any, by_key: dict[str, Delivery]) -> None:
        """Read the saved container's status and the account's recent media."""
        if record.container_id:
            status_code, _ = client.ig_container_status(record.container_id)
            if status_code == "PUBLISHED":
                media_id = self.find_instagram_media(client, record)
                self.ledger.published(record, self.now, media_id, None, how="reconciled")
                if media_id:
                    self.add_permalink(
                        record,
                        self.ledger.by_id(record.id),
                        lambda: client.ig_media_permalink(media_id),
                    )  # type: ignore[arg-type]
                else:
                    self.outcome(record, PUBLISHED, "its container is PUBLISHED")
                return
            if status_code in ("FINISHED", "IN_PROGRESS"):
                # Not out yet, and this container can only ever be published once: finish it,
                # if the post still wants Instagram (not deleted, a draft, or instagram: false).
                delivery = by_key.get(f"{record.slug}/{record.channel}")
                if delivery is None and record.source in self.broken_files:
                    # its file has a problem now: it waits for the fix, as the post's other
                    # deliveries do (checked again at each pass; missed once too late)
                    log.info(
                        "%s/%s waiting: %s has a problem: see  publisher check",
                        record.slug,
                        record.channel,
                        record.source,
                    )
                    return
                if delivery is None:
                    why = (
                        "the post was withdrawn before it went out (its container is not published)"
                    )
                    self.ledger.set_state(
                        record, self.now, SKIPPED, why, step=None, container_id=None
                    )
                    self.outcome(record, SKIPPED, why)
                    return
                how = f"its container is {status_code}, not published"
                if self.missed_if_too_late(delivery, record) or self._gave_up(record, how):
                    return
                if status_code == "IN_PROGRESS":
                    # Meta is still processing it: read again at the next pass, not waited on
                    # here (a pass a minute would otherwise spend each minute waiting on it)
                    when = self.now + timedelta(minutes=1)
                    self.ledger.retry_later(
                        record, self.now, when, "Instagram is still processing it", unknown=True
                    )
                    log.info(
                        "%s waiting: Instagram is still processing its container %s",
                        delivery.key,
                        record.container_id,
                    )
                    return
                log.info("%s reconciled: %s; publishing it", delivery.key, how)
                try:
                    self.send_instagram(delivery, record, client, record.payload or {})
                except OutcomeUnknown as exc:
                    self.outcome_unknown(delivery, record, exc)
                except ChannelError as exc:
                    self.failed_attempt(record, self.ledger.by_id(record.id), exc)  # type: ignore[arg-type]
                return
            self._proven_not_sent(record, f"its container is {status_code or 'unknown'}")
            return
        found = self.instagram_media(client, record)
        if found and self._cannot_tell(record, "caption", len(found)):
            return
        media_id = found[-1] if found else None
        if media_id:
            self.ledger.published(record, self.now, media_id, None, how="reconciled")
            self.outcome(record, PUBLISHED, f"found on the account: media {media_id}")
            return
        self._proven_not_sent(
            record, "no container was saved and the caption is not on the account"
        )

    def recent_on(self, channel: str, client: Any) -> list[dict]:
        """The Page's recent posts or the account's recent media, newest first."""
        if channel == "facebook":
            return client.recent_page_posts(self.config.facebook.page_id, limit=50)
        return client.ig_recent_media(self.config.instagram.account_id, limit=50)

    def find_instagram_media(self, client: Any, record: Record) -> str | None:
        """The id of the media this delivery made, if it is on the account."""
        found = self.instagram_media(client, record)
        return found[-1] if found else None  # newest first: the oldest

    def instagram_media(self, client: Any, record: Record) -> list[str]:
        """Recent media with this delivery's caption, made since its attempt and not
        recorded as another delivery's, newest first."""
        caption = (record.payload or {}).get("caption", "").strip()
        others = self.ledger.claimed_ids("instagram", but=record.id)
        recent = self.recent_on("instagram", client)
        since = self._since(record, client)  # after the read: its answer dates Meta's clock
        return [
            item.get("id")
            for item in _same_words(recent, "caption", "timestamp", caption, since, others)
        ]


def matched_renames(
    posts: Sequence[Post],
    records: Sequence[Record],
    another_article: Callable[[Post, Sequence[Record]], bool] | None = None,
) -> tuple[dict[str, str], dict[str, Post]]:
    """The posts whose file name or slug changed since the ledger last saw them, so that
    their history follows them and nothing is sent twice: (slug: its file now, where only
    the file was renamed; old slug: the post now, where the slug changed). Matched by the
    file when only the slug changed, by the slug when only the file was renamed, and by the
    date, or else the text, when both changed in one edit (a new title and date, and the
    file named after them). What a pass records (follow_renames), and what status and
    calendar show before that pass. `another_article` (earlier_article's test): a post
    with the address of a gone file's article that is not that article, left apart."""
    current = {p.slug: p for p in posts}
    by_source = {p.display: p for p in posts}
    known_slugs = {r.slug for r in records}
    known_sources = {r.source for r in records}
    sources: dict[str, str] = {}
    files_of: dict[str, set[str]] = {}
    for r in records:
        files_of.setdefault(r.slug, set()).add(r.source)
    for slug in files_of.keys() & current.keys():
        post = current[slug]
        stale = files_of[slug] - {post.display}
        if stale and not (stale & by_source.keys()):  # the file was renamed
            if another_article is not None and another_article(post, records):
                continue  # a new article given the address of one taken down earlier
            sources[slug] = post.display
    moved: dict[str, Post] = {}
    for record in records:
        # its file has another slug now (even if another post has taken the old one)
        post = by_source.get(record.source)
        if post is not None and post.slug != record.slug:
            moved.setdefault(record.slug, post)
    gone = {
        r.slug: r
        for r in records
        if r.channel == "website"
        and r.slug not in current
        and r.source not in by_source
        and r.slug not in moved
    }
    fresh = [p for p in posts if p.slug not in known_slugs and p.display not in known_sources]
    dates = [r.due_at for r in gone.values()]
    texts = [r.content_hash for r in gone.values() if r.content_hash]
    fingerprints: dict[str, str | None] = {}

    def _text_of(post: Post) -> str | None:
        if post.display not in fingerprints:
            fingerprints[post.display] = body_fingerprint(post)
        return fingerprints[post.display]

    for slug, website in gone.items():
        same = [p for p in fresh if p.date == website.due_at]
        if len(same) == 1 and dates.count(website.due_at) == 1:
            moved[slug] = same[0]
        elif website.content_hash and texts.count(website.content_hash) == 1:
            same = [p for p in fresh if _text_of(p) == website.content_hash]
            if len(same) == 1:
                moved[slug] = same[0]
    renamed: dict[str, Post] = {}
    for old, post in moved.items():
        if post.slug in known_slugs:
            continue  # the new slug has a history of its own: leave both as they are
        renamed[old] = post
        known_slugs.add(post.slug)
    return sources, renamed


def earlier_article(
    config: Config, post: Post, records: Sequence[Record], known: Iterable[str] = ()
) -> Record | None:
    """The website delivery of an earlier article whose address (slug) `post` has taken, when
    it is another article: the ledger's deliveries of that address were made from another
    file, no post's now; that article's page was taken off the website before (a file
    renamed keeps its page until the pass that follows the rename); and the post has
    another date and other words. The ledger knows a post by its address, so the new
    post's Facebook and Instagram posts count as the earlier one's, long done, and would
    never go out: check and each pass say so, and the pass does not make this file that
    article's, so that an address of its own makes it a new article with its own posts.
    `known`: the posts a pass found so before (another_article_key), which stay so once
    their page is on the website (this post's, at its date)."""
    website = next(
        (
            r
            for r in records
            if r.slug == post.slug and r.channel == "website" and r.source != post.display
        ),
        None,
    )
    if (
        website is None
        or website.state != PUBLISHED
        or website.due_at == post.date
        or not website.content_hash
        or (
            another_article_key(post) not in known
            and (config.output_dir / "posts" / post.slug / "index.html").exists()
        )
    ):
        return None
    text = body_fingerprint(post)
    if text is None or text == website.content_hash:
        return None
    return website


def another_article_key(post: Post) -> str:
    """How the ledger notes a post found to have an earlier article's address."""
    return f"{post.display} {post.slug}"


def another_articles_known(config: Config) -> set[str]:
    """The posts passes found to have an earlier article's address (another_article_key)."""
    if not config.ledger_path.exists():
        return set()
    with Ledger.for_reading(config.ledger_path) as ledger:
        return set(json.loads(ledger.meta(ANOTHER_ARTICLE_SAID) or "[]"))


def earlier_article_said(
    config: Config, post: Post, website: Record, records: Sequence[Record]
) -> str:
    """What check and a pass say of a post that took an earlier article's address."""
    done = {
        r.channel: r.state
        for r in records
        if r.slug == post.slug and r.channel in SOCIAL_CHANNELS and r.state in DONE_STATES
    }
    social = " and ".join(f"{c.capitalize()} ({state})" for c, state in sorted(done.items()))
    taken = {r.slug for r in records} | {post.slug}
    free = next(f"{post.slug}-{n}" for n in itertools.count(2) if f"{post.slug}-{n}" not in taken)
    when = f"{website.due_at.astimezone(config.tz):%Y-%m-%d}"
    lost = (
        f"its {social} posts count as that article's, done then, and are never sent"
        if social
        else "it is kept apart from that article's history"
    )
    return (
        f"/posts/{post.slug}/ was the address of an earlier article ({website.source}, "
        f"published {when}, its file since gone and its page taken off the website): "
        f"{lost}. Give this article an address of its own, a line like  slug: {free}"
    )


def body_fingerprint(post: Post) -> str | None:
    """The article's text, as a hash: the same whatever its title, date, slug or file. A
    post a pass took from the build cache has no text: it is read from its file. None for
    a post with no text of its own (a photo alone, or `publisher new`'s placeholder): such
    posts cannot be told apart by it."""
    text = post.body
    if not text.strip():
        try:
            text = split_front_matter(post.source.read_text(encoding="utf-8"), post.display)[1]
        except (OSError, UnicodeDecodeError, ContentError):
            return None
    return text_fingerprint(text)


def text_fingerprint(text: str) -> str | None:
    """body_fingerprint of an article's text."""
    words = " ".join(text.split())
    if not words or NEW_POST_PLACEHOLDER in words:
        return None
    return "text " + hashlib.sha256(words.encode("utf-8")).hexdigest()[:32]


def _same_words_in_flight(
    in_flight: Iterable[Record], record: Record, text_key: str, text: str
) -> list[Record]:
    """The deliveries of `in_flight` (sending: whether they went out is to be checked) of
    `record`'s channel, other than it, with these words: a post that says them may be theirs."""
    return [
        other
        for other in in_flight
        if other.channel == record.channel
        and other.id != record.id
        and ((other.payload or {}).get(text_key) or "").strip() == text
    ]


def _same_words(
    recent: list[dict], text_key: str, time_key: str, text: str, since: datetime, others: set[str]
) -> list[dict]:
    """The posts or media of `recent` (newest first) that say `text`, made since `since`
    (on Meta's clock), and not recorded as another delivery."""
    return [
        item
        for item in recent
        if (item.get(text_key) or "").strip() == text
        and ((made := _graph_time(item.get(time_key))) is None or made >= since)
        and item.get("id") not in others
    ]


def _check_clock(ledger: Ledger, real: datetime, config: Config) -> None:
    """Refuse a pass whose clock is behind the last full pass's: the clock went back."""
    kept = ledger.meta(REAL_CLOCK)
    last = datetime.fromisoformat(kept) if kept else None
    if last is None or real >= last - CLOCK_BACK:
        return
    shown = [f"{moment.astimezone(config.tz):%Y-%m-%d %H:%M %Z}" for moment in (real, last)]
    raise PublisherError(
        f"the server's clock reads {shown[0]}, before the last publishing pass ({shown[1]}): "
        "it went back (reset at start, before the network time was set?). Nothing is built, "
        "taken off the website or sent on it: set the clock right (timedatectl, NTP), and "
        "the next pass goes on"
    )


def refuse_zone_change(config: Config) -> None:
    """A build or `serve` of the website by hand, after [site] timezone changed: the same
    stop as a pass's (_check_zone), since it would take the same articles off the site."""
    from publisher.build import load_posts_cached

    try:
        ledger = Ledger.for_reading(config.ledger_path)
    except PublisherError:
        return  # a ledger that cannot be read: passes say so; the website does not need it
    with ledger:
        if ledger.meta(SITE_ZONE) in (None, config.site.timezone):
            return
        now = current_time(config.tz)
        _check_zone(ledger, config, load_posts_cached(config, now).posts, now, keep=False)


def _check_zone(
    ledger: Ledger, config: Config, posts: Iterable[Post], now: datetime, *, keep: bool
) -> None:
    """Refuse a pass after [site] timezone changed, when the posts' dates read in the new
    zone would take articles already out off the website (they are linked from Facebook and
    Instagram) until a time still to come. `keep`: note the zone the dates were read in."""
    zone = config.site.timezone
    before = ledger.meta(SITE_ZONE)
    if before == zone:
        return
    try:
        old = ZoneInfo(before) if before else None
    except (ZoneInfoNotFoundError, ValueError):
        old = None
    if old is not None:
        out = {r.slug: r for r in ledger.all() if r.channel == "website" and r.state == PUBLISHED}
        later = [
            (post, out[post.slug].due_at.astimezone(old))
            for post in posts
            if post.slug in out
            and not post.draft
            and post.date > now
            and post.date != out[post.slug].due_at
            # its `date:` as written, only read in another zone (a date moved is another matter)
            and post.date.replace(tzinfo=None)
            == out[post.slug].due_at.astimezone(old).replace(tzinfo=None)
        ]
        if later:
            dates = "; ".join(f"{post.display}: date: {went.isoformat()}" for post, went in later)
            raise ConfigError(
                f"changed from {before} to {zone} since the last publishing pass: read in "
                f"{zone}, the dates of {len(later)} article(s) already published (and linked "
                "from Facebook and Instagram) are still to come, and the website would take "
                "them off until then. Nothing is built, taken off or sent: set timezone back "
                f'to "{before}", or keep {zone} and give each the time it went out, with its '
                f"offset ({dates}); the next pass goes on",
                key="site.timezone",
            )
    if keep:
        ledger.set_meta(SITE_ZONE, zone)


# Names only this machine or its own network can resolve (RFC 6761, 6762, 8375; .internal
# is reserved by ICANN for private use; .lan is home routers' usual suffix).
_LOCAL_NAMES = (".localhost", ".local", ".home.arpa", ".internal", ".lan")


def _on_this_machine(url: str) -> bool:
    """Whether a URL's host is this machine or a private network (as written: no DNS look-up)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(_LOCAL_NAMES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a name without a dot (a server's own name) is not public
    # not global: private, loopback, link-local, carrier-grade NAT (Tailscale), reserved...
    return not address.is_global


def unreachable_by_meta(graph: str, payload: dict[str, Any]) -> list[str]:
    """The article link or Instagram photo of a payload that Meta's servers cannot fetch (Meta
    reads the link's page for its card, and fetches image_url when the container is made):
    on this machine or a private network, while the Graph API is not itself on one."""
    if _on_this_machine(graph):
        return []  # a Graph API on this machine or network (a stand-in) can reach them
    return [
        f"{payload[key]} is on this machine or a private network, where Meta cannot fetch it:"
        " set [site] base_url in config.toml to the site's public address, then run"
        " `publisher retry`"
        for key in ("link", "image_url")
        if payload.get(key) and _on_this_machine(str(payload[key]))
    ]


def tokens_changed(config: Config, looks: dict[str, dict[str, str]]) -> bool:
    """Whether a channel's token is another than the one its last look was made with (a new
    token set, or `publisher accounts` run with one of a person's own): the pass is not
    quiet, and looks at it at once (check_tokens)."""
    for channel, kept in looks.items():
        try:
            token = (find_token(channel, config) or ("",))[0]
        except ConfigError:
            return True  # (the secrets file: the pass says what is wrong with it)
        if "token" in kept and kept["token"] != (token_mark(token) if token else ""):
            return True
    return False


def token_mark(token: str) -> str:
    """A token's mark, kept in the ledger to tell a new token from one Meta refused: a
    hash's first 16 hex digits, from which the token cannot be had back."""
    return hashlib.sha256(b"publisher token mark\0" + token.encode()).hexdigest()[:16]


def _stops_channel(exc: ChannelError) -> bool:
    """A token or permission problem: it fails every call of the channel, so the pass
    stops sending on it."""
    return exc.code in ACCOUNT_ERROR_CODES or (exc.code is not None and 200 <= exc.code < 300)


def rebuilt_pages(changed: list[str], moved: dict[str, str], named: int = 5) -> str:
    """What a build changed, for people: the articles whose page changed (by slug, the
    first few), the old addresses of renamed posts (`moved`: old slug to new) whose page
    now sends visitors on, and how many files were written; "" when no such page did (a
    first build of a site with no posts yet, whose feed and sitemap carry the build's time)."""
    slugs = sorted(
        path.split("/")[1]
        for path in changed
        if path.startswith("posts/") and path.endswith("/index.html") and path.count("/") == 2
    )
    pages = [slug for slug in slugs if slug not in moved]
    redirects = [
        f"/posts/{slug}/ sends visitors to /posts/{moved[slug]}/" for slug in slugs if slug in moved
    ]
    said = []
    if pages:
        said.append(f"the page{'s' if len(pages) > 1 else ''} of {_first(pages, named)} changed")
    if redirects:
        said.append(_first(redirects, named))
    if not said:
        return ""
    return f"{'; '.join(said)} ({len(changed):,} file(s) written)"


def _first(names: list[str], named: int) -> str:
    """The first `named` of `names`, and how many more there are."""
    shown = ", ".join(names[:named])
    return shown + (f" and {len(names) - named:,} more" if len(names) > named else "")


def _graph_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("+0000", "+00:00"))
    except ValueError:
        return None


def instagram_images_needed(config: Config, posts: list[Post], at: datetime) -> set[str]:
    """Slugs whose Instagram delivery can still go out: their Instagram image must be on the site.

    An archive whose Instagram deliveries are all published, skipped or missed needs none.
    """
    return instagram_plan(config, posts, at)[0]


def site_fingerprint(
    config: Config, now: datetime, posts: list[Post], broken: Iterable[str] = ()
) -> str:
    """Changes when what the site shows changes: a post, template or config edit, a post
    falling due, or a post file with a problem deleted, withdrawn or fixed (`broken`: those
    files)."""
    digest = hashlib.sha256()
    digest.update("\0".join(broken).encode() + b"\n")
    for post in sorted(posts, key=lambda p: p.display):
        if post.is_published(now):
            digest.update(f"{post.display}\0{post.digest}\n".encode())
    for path in folder_files(config.templates_dir / "site"):
        info = path.stat()
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    if config.path:
        digest.update(config.path.read_bytes())
    digest.update(posts_folder_signature(config, markdown=False).encode())  # the photos
    digest.update(" ".join(sorted(instagram_images_needed(config, posts, now))).encode())
    return digest.hexdigest()


def publish_due(
    config: Config,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    wait: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> PassReport:
    """Run one pass; when another pass holds the lock, do nothing (or wait for it, unless
    `should_stop` says to stop meanwhile)."""
    now = now or current_time(config.tz)
    lock = PassLock(config.ledger_path.with_name(config.ledger_path.name + ".lock"))
    try:
        acquired = lock.acquire(wait=wait, should_stop=should_stop)
    except PermissionError as exc:
        # say at once everything of the ledger this user cannot write, not one file a time
        advice = cannot_write(ledger_files(config.ledger_path))
        if advice is None:
            raise
        raise PublisherError(f"{lock.path}: {exc.strerror}: {advice}") from None
    if not acquired:
        if wait:  # told to stop while it waited
            log.info(
                "stopping: not waiting for the publishing pass of another process "
                "(pid %s), which goes on",
                lock.holder() or "not known",
            )
        else:
            log.info("another publishing pass is running; this one does nothing")
        return PassReport(locked_out=True)
    try:
        require_posts_folder(config)
        sources, marker = source_inputs(config), built_site_marker(config)
        inputs = pass_inputs(sources, marker)
        real = datetime.now(UTC)
        if not dry_run and config.ledger_path.exists():
            with Ledger(config.ledger_path) as ledger:
                _check_clock(ledger, real, config)
                quiet = ledger.meta(QUIET)
                if (
                    quiet
                    and quiet_holds(quiet, inputs, ledger_signature(ledger), now)
                    and not tokens_changed(config, ledger.token_checks())
                ):
                    return PassReport()
        from publisher.build import load_posts_cached

        loaded = load_posts_cached(config, now)
        # a ledger made now where the last pass used another: moved, or its path mistyped
        before = None if dry_run else last_pass_ledger(config)
        moved = before if before and not config.ledger_path.exists() else None
        with Ledger(config.ledger_path) as ledger:
            _check_zone(ledger, config, loaded.posts, now, keep=not dry_run)
            publishing = PublishingPass(
                config, ledger, now, dry_run=dry_run, should_stop=should_stop or (lambda: False)
            )
            report = publishing.run(list(loaded.posts), {p.path for p in loaded.problems})
            if not dry_run:
                # Until when the next pass can stop at once, unless posts, config or the
                # ledger change (the ledger's signature is taken after this pass's writes).
                quiet = ""
                if (
                    publishing.quiet_until is not None
                    and not loaded.problems
                    and not report.problems  # a page's own problems (the build's), said each pass
                    and not publishing.site_needs_person  # every pass says so, until it works
                ):
                    until, since = publishing.quiet_until.isoformat(), now.isoformat()
                    # this pass built the site: its new marker, with the sources as this
                    # pass read them (a post saved meanwhile is for the next pass to see)
                    inputs = pass_inputs(sources, built_site_marker(config))
                    quiet = f"{inputs} {until} {since} {ledger_signature(ledger)}"
                ledger.set_meta(REAL_CLOCK, real.isoformat())
                ledger.set_meta(QUIET, quiet)
        if moved:
            report.problems.append(new_ledger_not(config, moved))
        if not dry_run and before != str(config.ledger_path):
            note_pass_ledger(config)
        report.problems[:0] = [str(p) for p in loaded.problems if str(p) not in report.problems]
        for problem in report.problems:  # once, in the log (the service's and the cron job's)
            log.info("problem: %s", problem)
        return report
    finally:
        lock.release()


PASS_LEDGER = "pass_ledger"  # the build index's note of the ledger the last pass used


def last_pass_ledger(config: Config) -> str | None:
    """The ledger the last publishing pass used, as the build cache notes it (None: no pass
    noted one, or the cache was deleted)."""
    if not (config.cache_dir / "build-index.sqlite").exists():
        return None
    return _pass_ledger_note(config)


def note_pass_ledger(config: Config) -> None:
    """Note in the build cache the ledger this pass used (last_pass_ledger)."""
    _pass_ledger_note(config, str(config.ledger_path))


def _pass_ledger_note(config: Config, value: str | None = None) -> str | None:
    """Read the build cache's note of the pass's ledger, or write `value` there; a cache
    that cannot be read or written loses only a warning."""
    from publisher.buildcache import BuildIndex, environment_fingerprint

    try:
        index = BuildIndex(config.cache_dir, environment_fingerprint(config))
        try:
            if value is None:
                return index.get_state(PASS_LEDGER)
            index.set_state(PASS_LEDGER, value)
        finally:
            index.close()
    except (OSError, sqlite3.Error):
        pass
    return None


def new_ledger_not(config: Config, before: str) -> str:
    """What to say of a ledger a pass made new where the last pass used `before` (or one
    at the same path, since deleted)."""
    made = f"{config.display_path(config.ledger_path)} was made new by this pass"
    if before == str(config.ledger_path):
        return (
            f"{made}, though the last pass had one there: it was deleted or lost. If you have "
            "a copy, stop the service and put it back (see Upgrade publisher in the README). "
            "Nothing went out twice (a send with no record looks at the Page first), but what "
            "failed or was skipped is only in the old one"
        )
    return (
        f"{made}, but the last pass used {before}: if that ledger was moved or [publish] "
        "ledger mistyped, stop the service, set [publish] ledger to the right one and delete "
        "the new one. Nothing went out twice (a send with no record looks at the Page first), "
        "but what failed or was skipped is in the old one"
    )


def posts_folder_signature(config: Config, *, markdown: bool = True) -> str:
    """A quick hash of the files in the posts folder (by size, time and inode): the posts
    and the photos they show (a photo replaced under the same name changes the site).
    `markdown=False`: the other files only."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(config.posts_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            skipped = name.startswith(".") or (not markdown and is_post_name(name))
            if skipped or is_editor_scratch(name):
                continue
            try:
                info = os.stat(os.path.join(folder, name))
            except OSError:  # gone since the folder was listed
                continue
            digest.update(
                f"{folder}/{name} {info.st_size} {info.st_mtime_ns} {info.st_ino}\n".encode(
                    errors="surrogateescape"  # (a name from an old disk: its bytes as they are)
                )
            )
    return digest.hexdigest()


def built_site_marker(config: Config) -> bytes:
    """The built site's marker file (it names the build), or a word saying there is none:
    a site deleted or replaced by hand is built again by the next pass."""
    try:
        return (config.output_dir / SITE_MARKER).read_bytes()
    except OSError:
        return b"no site\n"


def site_is_built(config: Config) -> bool:
    """Whether the output folder holds a site publisher built (not deleted by hand)."""
    return (config.output_dir / SITE_MARKER).exists()


def source_inputs(config: Config) -> str:
    """A quick hash of the files a pass reads: post files and the photos beside them,
    config and templates."""
    digest = hashlib.sha256(posts_folder_signature(config).encode())
    for path in folder_files(config.templates_dir):
        info = path.stat()
        digest.update(f"{path} {info.st_size} {info.st_mtime_ns}\n".encode())
    if config.path:
        digest.update(config.path.read_bytes())
    return digest.hexdigest()


def pass_inputs(sources: str, marker: bytes) -> str:
    """What a pass reads besides the ledger: its sources (source_inputs) and the built
    site's marker (built_site_marker)."""
    return hashlib.sha256(sources.encode() + b"\0" + marker).hexdigest()


def ledger_signature(ledger: Ledger) -> str:
    """Changes whenever anyone acts on a delivery (every change appends to the attempt log)."""
    events = ledger.db.execute("SELECT max(id) FROM events").fetchone()[0]
    deliveries = ledger.db.execute("SELECT count(*), max(updated_at) FROM deliveries").fetchone()
    return f"{events}:{deliveries[0]}:{deliveries[1]}".replace(" ", "_")


def quiet_holds(quiet: str, inputs: str, ledger_now: str, now: datetime) -> bool:
    """True when the last pass found nothing due before a time still ahead, and nothing changed."""
    parts = quiet.split()
    if len(parts) != 4:
        return False
    known_inputs, until, since, known_ledger = parts
    try:
        return (
            known_inputs == inputs
            and known_ledger == ledger_now
            and datetime.fromisoformat(since) <= now < datetime.fromisoformat(until)
        )
    except ValueError:
        return False


def wait_seconds(seconds: float) -> None:
    """Sleep (kept apart so the service can be told to stop while waiting)."""
    time.sleep(seconds)
