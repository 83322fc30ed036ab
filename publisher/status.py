"""What the ledger and the calendar say, for people: status, retry, skip, accounts."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from publisher.agenda import DRAFT, DUE, WAITING, agenda, held_posts, taken_down
from publisher.calendar import SOCIAL_CHANNELS
from publisher.config import Config, parse_duration
from publisher.content import LoadedPosts, Post
from publisher.exceptions import PublisherError
from publisher.ledger import (
    FAILED,
    KEEPING_SINCE,
    MISSED,
    PUBLISHED,
    RETRY,
    SCHEDULED,
    SENDING,
    SKIPPED,
    Ledger,
    Record,
)
from publisher.times import now as current_time
from publisher.tokens import find_token, graph_client, missing_token

KEEP_SHOWING = timedelta(days=30)  # published or skipped longer ago: with --all only
DEPLOY_ENDED_BY = timedelta(minutes=1)  # after a deploy's time limit, it has been stopped


def delivery_rows(
    config: Config,
    at: datetime | None = None,
    *,
    everything: bool = True,
    loaded: LoadedPosts | None = None,
    held: list[Post] | None = None,
) -> list[dict[str, Any]]:
    """Every delivery: state, time, attempts, and permalink or error; drafts left out.
    `everything=False`: deliveries published or skipped more than 30 days before `at` left
    out too. `loaded`, `held`: the posts and the live versions kept of those with a problem
    (agenda.held_posts), when the caller read them already."""
    at = at or current_time(config.tz)
    late = parse_duration(config.publish.max_lateness)
    with Ledger.for_reading(config.ledger_path) as ledger:
        records = {r.id: r for r in ledger.all()}
        channels_held = held_channels(ledger, config)
        first_pass = ledger.meta(KEEPING_SINCE)
        deploy = running_deploy(ledger)
    # too late already at the ledger's first pass: one of the articles the site began with
    before = datetime.fromisoformat(first_pass) - late if first_pass else None

    def before_first_pass(record: Record | None) -> bool:  # (marked missed by that pass)
        return bool(
            before
            and record
            and record.state == MISSED
            and record.due_at < before
            and record.updated_at <= before + late
        )

    rows: list[dict[str, Any]] = []
    shown: set[int] = set()
    drafts: set[str] = set()
    posts = None
    if loaded is not None:
        posts = list(loaded.posts)
        held = held_posts(config, loaded) if held is None else held
    entries = agenda(config, at, posts=posts, held=held)
    # a due Facebook or Instagram post waits for its article's page (a deploy failing)
    page_not_out = {
        e.slug for e in entries if e.channel == "website" and e.state in (DUE, RETRY, FAILED)
    }
    for entry in entries:
        if entry.state == DRAFT:
            drafts.add(entry.slug)
            continue  # a draft's deliveries that went out before are listed below
        if entry.record_id:
            shown.add(entry.record_id)
        record = records.get(entry.record_id) if entry.record_id else None
        waiting = record is not None and record.state in (RETRY, SENDING) and record.next_attempt_at
        note = entry.note
        if (
            waiting
            and entry.channel in SOCIAL_CHANNELS
            and not record.forced
            and record.next_attempt_at > entry.when + late
        ):
            note = (
                f"more than {config.publish.max_lateness} late by then: the pass at that time "
                f"marks it missed; `publisher retry {record.id}` sends it however late"
            )
        if deploy and (entry.state == DUE or waiting and record.next_attempt_at <= at):
            since = f"{deploy[0].astimezone(config.tz):%H:%M}"
            note = (
                f"its page is built; the deploy command running since {since} is copying it"
                if entry.channel == "website"
                else f"goes out once the deploy command running since {since} ends"
            )
        link = record.permalink if record else None
        if link and entry.channel == "website":
            link = entry.url  # the page's address now: a new base_url moved every page
        rows.append(
            {
                "id": entry.record_id,
                "due": entry.when.isoformat(timespec="minutes"),
                "channel": entry.channel,
                "post": entry.slug,
                "state": entry.state,
                "changed_since_published": entry.changed,
                "attempts": record.attempts if record else 0,
                "next_attempt": record.next_attempt_at.astimezone(config.tz).isoformat(
                    timespec="minutes"
                )
                if waiting
                else None,
                "permalink": link,
                "finished": _finished(record, config),
                "before_first_pass": before_first_pass(record),
                # (a channel the last pass held back: why, for every delivery due on it)
                "error": channels_held[entry.channel]
                if entry.state == DUE and entry.channel in channels_held
                else "waits for its article's page, which is not published yet (its website row)"
                if entry.state == DUE and entry.slug in page_not_out and entry.channel != "website"
                else entry.detail
                if entry.state != PUBLISHED and (record or entry.state == WAITING)
                else None,
                "note": note,
            }
        )
    # What the ledger knows of posts no longer on the calendar (deleted, a draft again, or
    # with a problem):
    # what went out stays on the record.
    for record in records.values():
        if record.id in shown or (record.state == SCHEDULED and not record.attempts):
            continue
        if not (config.root / record.source).exists():
            why = f"{record.source} is gone"
        elif record.slug in drafts:
            why = f"{record.source} is a draft now"
        else:
            why = f"{record.source} has a problem: see  publisher check"
        if record.state == PUBLISHED and not why.endswith("publisher check"):
            back = "set draft: false" if why.endswith("draft now") else "put the file back"
            why += taken_down(record.channel, back)
        rows.append(
            {
                "id": record.id,
                "due": record.due_at.astimezone(config.tz).isoformat(timespec="minutes"),
                "channel": record.channel,
                "post": record.slug,
                "state": record.state,
                "changed_since_published": False,
                "attempts": record.attempts,
                "next_attempt": None,
                "permalink": record.permalink,
                "finished": _finished(record, config),
                "before_first_pass": before_first_pass(record),
                "error": why if record.state != PUBLISHED else None,
                "note": why,
            }
        )
    order = ("website", *SOCIAL_CHANNELS)
    rows.sort(key=lambda row: (row["due"], order.index(row["channel"]), row["post"]))
    return rows if everything else [row for row in rows if not long_finished(row, at)]


def held_channels(ledger: Ledger, config: Config) -> dict[str, str]:
    """Why the last publishing pass held a channel's due deliveries back, by channel."""
    at, channels = ledger.held_channels()
    if at is None:
        return {}
    when = at.astimezone(config.tz)
    return {
        channel: f"held back by the pass of {when:%Y-%m-%d %H:%M}: {why}"
        for channel, why in channels.items()
    }


def running_deploy(ledger: Ledger) -> tuple[datetime, datetime, int] | None:
    """The deploy command a publishing pass is running now: since when, when its time limit
    stops it, and the pass's process id. None when none runs (or the pass that began one
    died, by kill -9, before it could say it ended)."""
    deploy = ledger.deploying()
    if deploy is None:
        return None
    if deploy_lock_held(ledger.path):  # its processes hold it: it runs, even when the
        return deploy  # pass that began it was killed (then nothing stops it at its limit)
    if datetime.now(UTC) > deploy[1] + DEPLOY_ENDED_BY:
        return None  # past its time limit, it was stopped: that process id is another's now
    return deploy if _alive(deploy[2]) else None


def deploy_lock_held(ledger_path: Path) -> bool:
    """Whether the deploy command's processes hold its lock (publisher.db.deploy): a deploy
    runs. Read from the kernel's list of locks (/proc/locks), without taking the lock, which
    a pass starting a deploy that moment would take for one still running. False when it
    cannot be told (no lock file, not Linux)."""
    try:
        info = os.stat(ledger_path.with_name(ledger_path.name + ".deploy"))
        locks = Path("/proc/locks").read_text()
    except OSError:
        return False
    where = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    return any(line.split()[5:6] == [where] for line in locks.splitlines() if "FLOCK" in line)


def under_the_list(config: Config) -> list[str]:
    """What `status` says under its list, from one read of the ledger: a deploy in progress,
    the site's failed builds or deploys, and what the last look at each token found that
    needs a person; then the files in the posts folder meant as posts that are not read (a
    post saved as .txt), which the list cannot show."""
    from publisher.content import stray_post_files

    return _from_the_ledger(config) + [str(stray) for stray in stray_post_files(config)]


def _from_the_ledger(config: Config) -> list[str]:
    with Ledger.for_reading(config.ledger_path) as ledger:
        deploying = deploy_line(running_deploy(ledger), config)
        failures, again, message = ledger.site_failures()
        failing = []
        if failures and again is not None:  # (an edit waits for it too, with nothing due)
            failing.append(
                f"The website is not up to date: {message}. The next try is at "
                f"{again.astimezone(config.tz):%Y-%m-%d %H:%M %Z}."
            )
        lines = [deploying] if deploying else []
        return lines + failing + token_lines(ledger.token_checks(), config)


def deploy_line(deploy: tuple[datetime, datetime, int] | None, config: Config) -> str | None:
    """A deploy in progress, as a person reads it under the list (None: none runs)."""
    if deploy is None:
        return None
    since, until, pid = (
        deploy[0].astimezone(config.tz),
        deploy[1].astimezone(config.tz),
        deploy[2],
    )
    start = (
        f"A deploy is running: the publishing pass of process {pid} started "
        f"[site] deploy_command at {since:%Y-%m-%d %H:%M:%S %Z}. The due deliveries wait for it: "
        "the articles' pages are not recorded as published, nor do their Facebook and "
        "Instagram posts go out, until it ends."
    )
    if not _alive(pid):  # (kill -9): nothing stops it at its limit, and no pass starts another
        return (
            f"{start} That pass was killed before it ended, so it runs on by itself: the "
            "next pass deploys once it has ended (to stop it: fuser -k "
            f"{config.display_path(config.ledger_path)}.deploy)."
        )
    return f"{start} Still running at {until:%H:%M:%S}, it is stopped, and tried again later."


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (one of another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def note_token_looks(config: Config, reports: list[tuple[str, Any]]) -> None:
    """`publisher accounts` counts as the day's look at each token it reached: after a new
    token, `status` stops saying what the last look found. Kept only in a ledger that is
    there and this user can write (the command itself changes nothing else)."""
    every = config.publish.token_check_every
    if every is None or not config.ledger_path.exists():
        return
    from publisher.publish import token_mark

    now = datetime.now(UTC)
    try:
        with Ledger(config.ledger_path) as ledger:
            looks = ledger.token_checks()
            for channel, report in reports:
                if isinstance(report, dict) or not report.reached:
                    continue
                token = (find_token(channel, config) or ("",))[0]
                looks[channel] = {
                    "at": now.isoformat(),
                    "next": (now + every).isoformat(),
                    "said": "; ".join(report.about_token),
                    "refused": "" if report.token_valid else "1",
                    # which token: a pass with another looks again at once (run with a
                    # token of one's own, this look is not the service's)
                    "token": token_mark(token) if token else "",
                }
            ledger.set_token_checks(looks)
            ledger.note_asked()  # (the service runs a pass within the minute)
    except (PublisherError, OSError, sqlite3.Error):
        pass  # (run as another user, say): the next pass's look says it instead


def token_lines(looks: dict[str, dict[str, str]], config: Config) -> list[str]:
    """What the last look at each channel's token found that needs a person ([publish]
    token_check), as a person reads it under the list: one line each, none when all is well."""
    lines = []
    for channel in SOCIAL_CHANNELS:
        kept = looks.get(channel)
        if not kept or not kept.get("said") or not config.channel(channel).enabled:
            continue
        at = datetime.fromisoformat(kept["at"]).astimezone(config.tz)
        again = datetime.fromisoformat(kept["next"]).astimezone(config.tz)
        lines.append(
            f"{channel.title()} token, as Meta described it at {at:%Y-%m-%d %H:%M %Z}: "
            f"{kept['said']} (asked again at {again:%Y-%m-%d %H:%M}; `publisher accounts` "
            "asks now)"
        )
    return lines


def _finished(record: Record | None, config: Config) -> str | None:
    """When a published or skipped delivery was settled (a missed one a person retried goes
    out long after its time)."""
    if record is None or record.state not in (PUBLISHED, SKIPPED):
        return None
    return (
        (record.published_at or record.updated_at)
        .astimezone(config.tz)
        .isoformat(timespec="minutes")
    )


def long_finished(row: dict[str, Any], at: datetime) -> bool:
    """A delivery published or skipped more than 30 days before `at`, or missed since it was
    due before the ledger's first pass: it needs nobody (a failed or missed one stays listed
    until a person acts)."""
    times = [datetime.fromisoformat(row[key]) for key in ("due", "finished") if row.get(key)]
    if row["state"] == MISSED and row.get("before_first_pass"):
        return True  # an article the site was set up with: nobody is to act on it
    return row["state"] in (PUBLISHED, SKIPPED) and max(times) < at - KEEP_SHOWING


def format_table(rows: list[dict[str, Any]], config: Config) -> str:
    """The rows as a table a person reads in a terminal."""
    if not rows:
        return "No deliveries yet: add a post to the posts folder."
    header = ("ID", "WHEN", "CHANNEL", "POST", "STATE", "DETAIL")
    lines = []
    for row in rows:
        detail = row["permalink"] or row["error"] or ""
        if not detail and row["state"] == PUBLISHED:
            detail = "(Meta gave no link for it)"
        if row.get("note") and row["note"] not in detail:
            detail = f"{detail} ({row['note']})".strip()
        if row["next_attempt"]:
            moment = datetime.fromisoformat(row["next_attempt"])
            today = current_time(config.tz).date()
            shown = f"{moment:%H:%M}" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M}"
            detail = f"next try {shown}: {detail}"
        when = row["due"].replace("T", " ")[:16]
        state = row["state"]
        if row["changed_since_published"]:
            state = f"{state} (changed since published)"
        lines.append((str(row["id"] or "-"), when, row["channel"], row["post"], state, detail))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(5)]
    out = []
    for line in [header, *lines]:
        out.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:5])) + "  " + line[5]
        )
    out.append(f"Times are {config.site.timezone}'s (the site's time zone).")
    return "\n".join(row.rstrip() for row in out)


def no_ledger_yet(config: Config, delivery_id: int) -> None:
    """Before a command acts on a delivery by number: with no ledger there is none (and the
    command does not make one, which, run as root, the service could not write)."""
    if not config.ledger_path.exists():
        raise PublisherError(
            f"there is no delivery {delivery_id}: no publishing pass has run yet "
            f"({config.display_path(config.ledger_path)} does not exist)"
        )


def _delivery(ledger: Ledger, delivery_id: int) -> Record:
    record = ledger.by_id(delivery_id)
    if record is None:
        raise PublisherError(f"there is no delivery {delivery_id}: see  publisher status")
    return record


def retry_delivery(config: Config, delivery_id: int, at: datetime | None = None) -> str:
    """Send a failed, missed, skipped or dry-run delivery at the next pass, whatever its lateness."""
    at = at or current_time(config.tz)
    no_ledger_yet(config, delivery_id)
    with Ledger(config.ledger_path) as ledger:
        record = _delivery(ledger, delivery_id)
        if record.state == PUBLISHED:
            raise PublisherError(
                f"delivery {delivery_id} ({record.slug}/{record.channel}) is already published"
                f"{': ' + record.permalink if record.permalink else ''}; sending it again would post it twice"
            )
        if record.state == SENDING:
            # Whether it went out is unknown: it is never sent without checking first. The
            # check moves to the next pass (after a token was renewed, say).
            ledger.check_soon(record, at, "check asked by a person")
            ledger.note_asked()
            return (
                f"Delivery {delivery_id} ({record.slug}/{record.channel}) may have gone out "
                "already: the next pass checks, and sends it only if it is not out."
            )
        ledger.set_state(
            record,
            at,
            RETRY,
            "retry asked by a person",
            next_attempt_at=at,
            forced=1,
            attempts=0,
            step=None,
            container_id=None,
        )
        ledger.note_asked()
    return (
        f"Delivery {delivery_id} ({record.slug}/{record.channel}) goes out at the next pass "
        "(within a minute when publisher run is running)."
    )


def skip_delivery(config: Config, delivery_id: int, at: datetime | None = None) -> str:
    """Mark a delivery never to be sent."""
    at = at or current_time(config.tz)
    no_ledger_yet(config, delivery_id)
    with Ledger(config.ledger_path) as ledger:
        record = _delivery(ledger, delivery_id)
        if record.state in (PUBLISHED, SENDING):
            if record.state == SENDING:
                raise PublisherError(
                    f"delivery {delivery_id} is being sent, or its answer was lost and the next "
                    "pass checks whether it went out: it cannot be skipped now. If Meta cannot be "
                    "reached for long, look at the Page or account yourself; `publisher status` "
                    "shows it published or failed once the check is made, and a failed one can "
                    "then be skipped"
                )
            raise PublisherError(f"delivery {delivery_id} is {record.state}; it cannot be skipped")
        if record.channel == "website":
            raise PublisherError(
                f"delivery {delivery_id} is the article's page, which the site shows from its "
                f"date on: to keep it off, set  draft: true  in {record.source}"
            )
        ledger.set_state(record, at, SKIPPED, "skipped by a person")
        ledger.note_asked()
    return f"Delivery {delivery_id} ({record.slug}/{record.channel}) will not be sent."


def check_accounts(config: Config) -> list[tuple[str, Any]]:
    """Each social channel's account and token, as the Graph API describes them."""
    reports: list[tuple[str, Any]] = []
    for channel in SOCIAL_CHANNELS:
        settings = config.channel(channel)
        account = config.facebook.page_id if channel == "facebook" else config.instagram.account_id
        token, variable, _ = find_token(channel, config) or ("", "", "")
        problem = None
        if not settings.enabled:
            problem = f"off in config.toml ([{channel}] enabled = false)"
        elif not account:
            key = "page_id" if channel == "facebook" else "account_id"
            problem = (
                f"no account: set [{channel}] {key} in config.toml (publishing runs as a dry run)"
            )
        elif not token:
            problem = missing_token(channel, config)
        if problem:
            reports.append((channel, {"channel": channel, "ok": False, "problems": [problem]}))
            continue
        client = graph_client(config, channel, token, variable)
        try:
            reports.append((channel, client.describe_account(account, zone=config.tz)))
        finally:
            client.close()
    return reports
