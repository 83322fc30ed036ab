"""The content calendar: slots, offsets, explicit times, collisions, daylight saving, ICS."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from publisher.agenda import agenda, to_ics
from publisher.calendar import plan_deliveries
from publisher.config import parse_slot
from publisher.content import load_posts
from publisher.publish import DEPLOY_TIMEOUT

NY = ZoneInfo("America/New_York")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def due_times(project) -> dict[str, datetime]:
    posts = load_posts(project.config).posts
    return {d.key: d.due for d in plan_deliveries(posts, project.config)}


SLOTS = """
[facebook]
slots = ["Tue 12:00", "Thu 18:30"]
offset = "2h"
"""


def test_slot_and_offset_and_explicit_times(make_project):
    project = make_project(SLOTS)
    project.post("a.md", "title: A\ndate: 2026-12-01 09:00")  # a Tuesday
    project.post("b.md", "title: B\ndate: 2026-12-01 13:00\nfacebook:\n  at: 2026-12-05 08:15")
    times = due_times(project)
    assert times["a/website"] == local("2026-12-01T09:00")
    assert times["a/facebook"] == local("2026-12-01T12:00")  # first slot on or after 09:00
    assert times["b/facebook"] == local("2026-12-05T08:15")  # its own time wins
    assert "a/instagram" not in times  # Instagram is off in the test config


def test_two_posts_never_share_a_slot(make_project):
    project = make_project(SLOTS)
    for n, date in enumerate(
        ["2026-12-01 09:00", "2026-12-01 09:30", "2026-12-01 10:00", "2026-12-02 08:00"]
    ):
        project.post(f"p{n}.md", f"title: P{n}\ndate: {date}")
    project.post("own.md", "title: Own\ndate: 2026-11-20 09:00\nfacebook:\n  at: 2026-12-03 18:30")
    times = due_times(project)
    assert times["p0/facebook"] == local("2026-12-01T12:00")
    # Thursday 18:30 is taken by a post with its own time, so the next post moves on.
    assert times["p1/facebook"] == local("2026-12-08T12:00")
    assert times["p2/facebook"] == local("2026-12-10T18:30")
    assert times["p3/facebook"] == local("2026-12-15T12:00")
    slots = [t for k, t in times.items() if k.endswith("/facebook")]
    assert len(slots) == len(set(slots))


def test_offset_when_no_slots(make_project):
    project = make_project('[facebook]\noffset = "1d 30m"\n')
    project.post("a.md", "title: A\ndate: 2026-12-01 09:00")
    assert due_times(project)["a/facebook"] == local("2026-12-02T09:30")


@pytest.mark.parametrize(
    ("days", "changes_on"),
    [
        (["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"], "2026-03-08"),
        (["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03"], "2026-11-01"),
    ],
)
def test_wall_clock_times_hold_across_daylight_saving(make_project, days, changes_on):
    project = make_project('[facebook]\noffset = "1d"\nslots = ["Sun 09:00", "Mon 09:00"]\n')
    for day in days:
        project.post(f"{day}.md", f"title: Post {day}\ndate: {day} 09:00")
    times = due_times(project)
    offsets = set()
    for day in days:
        website = times[f"post-{day}/website"]
        assert (website.hour, website.minute) == (9, 0)
        offsets.add(website.utcoffset())
        facebook = times[f"post-{day}/facebook"].astimezone(NY)
        assert (facebook.hour, facebook.minute) == (9, 0)  # a slot is 09:00 local, both sides
    assert len(offsets) == 2  # the week really crosses a change
    assert times[f"post-{changes_on}/website"].date().isoformat() == changes_on


@pytest.mark.parametrize(
    ("date", "offset", "expected"),
    [
        # the night clocks go back: 30 minutes after 00:50 EDT is 01:20 EDT, not 01:20 EST
        ("2026-11-01 00:50", "30m", "2026-11-01T01:20:00-04:00"),
        ("2026-11-01 00:50", "1h", "2026-11-01T01:50:00-04:00"),
        ("2026-10-31 01:50", "1d", "2026-11-01T01:50:00-05:00"),  # a day: same wall time, later
        # the night 02:00 is skipped: 30 minutes after 01:50 EST reads 03:20 EDT, never 02:20
        ("2027-03-14 01:50", "30m", "2027-03-14T03:20:00-04:00"),
        ("2027-03-13 02:30", "1d", "2027-03-14T03:30:00-04:00"),
        ("2027-03-13 09:00", "1d 30m", "2027-03-14T09:30:00-04:00"),
    ],
)
def test_an_offset_across_a_daylight_saving_change(make_project, date, offset, expected):
    project = make_project(f'[facebook]\noffset = "{offset}"\n')
    project.post("a.md", f"title: A\ndate: {date}")
    due = due_times(project)["a/facebook"]
    assert due.isoformat() == expected  # as status and the calendar print it


def test_slot_in_the_spring_gap_is_skipped_not_guessed(make_project):
    project = make_project('[facebook]\nslots = ["Sun 02:30"]\n')
    project.post("a.md", "title: A\ndate: 2026-03-07 09:00")
    assert due_times(project)["a/facebook"] == local("2026-03-15T02:30")


def test_check_reports_gap_and_overlap_times(make_project):
    project = make_project()
    project.post("gap.md", "title: Gap\ndate: 2026-01-01\nfacebook:\n  at: 2026-03-08 02:15")
    project.post("overlap.md", "title: Overlap\ndate: 2026-11-01 01:15")
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        "posts/gap.md:5: facebook.at: 2026-03-08 02:15 does not exist in America/New_York"
        in result.stdout
    )
    assert (
        "posts/overlap.md:3: date: 2026-11-01 01:15 happens twice in America/New_York"
        in result.stdout
    )


def test_slot_format_is_checked(make_project):
    assert parse_slot("Thursday 18:30") == (3, 18, 30)
    project = make_project('[facebook]\nslots = ["Tue noon"]\n')
    from publisher.exceptions import ConfigError

    with pytest.raises(
        ConfigError, match=r"\[facebook.slots\[0\]\] 'Tue noon' is not a weekly slot"
    ):
        project.config  # noqa: B018


def test_ics_parses_back_with_stable_uids(make_project):
    project = make_project(SLOTS)
    project.post("a.md", "title: Hips & <backs>\ndate: 2026-12-01 09:00")
    project.post("d.md", "title: Draft\ndate: 2026-12-02 09:00\ndraft: true")
    at = local("2026-11-25T10:00")
    first = to_ics(agenda(project.config, at), project.config)
    again = to_ics(agenda(project.config, at), project.config)
    calendar = icalendar.Calendar.from_ical(first)
    events = calendar.walk("VEVENT")
    assert len(events) == 4
    uids = sorted(str(e["UID"]) for e in events)
    assert uids == sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(again).walk("VEVENT"))
    assert len(set(uids)) == 4 and "hips-backs.facebook@clinic.example" in uids
    by_uid = {str(e["UID"]): e for e in events}
    facebook = by_uid["hips-backs.facebook@clinic.example"]
    assert facebook.decoded("DTSTART") == local("2026-12-01T12:00")
    assert str(facebook["SUMMARY"]) == "Facebook: Hips & <backs>"
    assert "State: draft" in str(by_uid["draft.website@clinic.example"]["DESCRIPTION"])
    assert calendar.walk("VTIMEZONE")  # the zone is described for calendar apps


def test_calendar_command_lists_and_filters(make_project):
    project = make_project(SLOTS)
    project.post("a.md", "title: A\ndate: 2026-12-01 09:00")
    project.post("b.md", "title: B\ndate: 2027-01-05 09:00")

    def calendar(*args: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "publisher",
                "--config",
                str(project.config_path),
                "calendar",
                "--now",
                "2026-11-30T09:00",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    everything = calendar("--all")
    assert "Tue 2026-12-01 12:00  facebook" in everything and "b  " in everything
    december = calendar("--from", "2026-12-01", "--to", "2026-12-31", "--channel", "facebook")
    lines = december.splitlines()[1:]
    assert len(lines) == 1 and "facebook" in lines[0] and "scheduled" in lines[0]
    # the channel as people write its name, in any case
    for name in ("Facebook", "FACEBOOK"):
        assert calendar("--from", "2026-12-01", "--to", "2026-12-31", "--channel", name) == december
    ics = project.root / "cal.ics"
    assert "Wrote 4 deliveries" in calendar("--ics", str(ics))
    assert len(icalendar.Calendar.from_ical(ics.read_bytes()).walk("VEVENT")) == 4
    nowhere = project.root / "no-such-folder" / "cal.ics"
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), "calendar"]
        + ["--ics", str(nowhere)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"error: cannot write {nowhere}: there is no folder {nowhere.parent}" in result.stderr
    assert ".tmp" not in result.stderr


def test_calendar_names_the_posts_it_leaves_out_and_why(make_project):
    project = make_project(SLOTS)
    project.post("a.md", "title: A\ndate: 2026-12-01 09:00")
    project.post("broken.md", "title: B\ndate: 2026-12-02 09:00\ntags: []\ntags: [x]")
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "--config", str(project.config_path), "calendar"]
        + ["--now", "2026-11-30T09:00"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert " a " in result.stdout and "broken" not in result.stdout
    assert "Not on the calendar until fixed (1 post(s)):" in result.stderr
    assert "posts/broken.md:5: 'tags' is written twice" in result.stderr


def test_edited_after_publishing_is_marked_changed(make_project):
    from publisher.ledger import Ledger
    from publisher.publish import payload_hash

    project = make_project()
    post_file = project.post("a.md", "title: A\ndate: 2026-11-01 09:00", "First words.\n")
    config = project.config
    at = local("2026-11-01T10:00")
    (entry,) = [e for e in agenda(config, at) if e.channel == "facebook"]
    from publisher.render.markdown import render_markdown
    from publisher.render.social import SocialRenderer, delivery_payload

    post = load_posts(config).posts[0]
    payload, _ = delivery_payload(
        post, "facebook", render_markdown(post.body), SocialRenderer(config)
    )
    with Ledger(config.ledger_path) as ledger:
        record = ledger.ensure("a", "facebook", "posts/a.md", entry.when, at)
        record = ledger.begin(record, at, "feed", payload, payload_hash(payload))
        ledger.published(record, at, "1_1", "https://facebook.example/1")
    assert [e.label for e in agenda(config, at) if e.channel == "facebook"] == ["published"]
    post_file.write_text(post_file.read_text().replace("First words.", "Better words."))
    assert [e.label for e in agenda(config, at) if e.channel == "facebook"] == [
        "published (changed since published)"
    ]
    assert timedelta(0) == entry.when - local("2026-11-01T09:30")


def test_deploy_files_run_commands_that_exist():
    from .conftest import REPO

    deploy = REPO / "deploy"
    service = (deploy / "publisher.service").read_text()
    timer_service = (deploy / "publisher-pass.service").read_text()
    assert (
        "ExecStart=/srv/publisher/.venv/bin/publisher --config /srv/publisher/config.toml run"
        in service
    )
    assert (
        "EnvironmentFile=/etc/publisher/publisher.env" in service
        and "KillSignal=SIGTERM" in service
    )
    # a stop signals publisher alone, which lets the deploy command in flight finish (it has
    # 10 minutes), and systemd waits for that before it kills anything
    settings = dict(
        line.split("=", 1) for line in service.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["KillMode"] == "mixed"
    # the same for a pass started by the timer (test_publish.py: a pass told to stop)
    pass_settings = dict(
        line.split("=", 1) for line in timer_service.splitlines() if "=" in line and line[0] != "#"
    )
    assert pass_settings["KillMode"] == "mixed" and pass_settings["KillSignal"] == "SIGTERM"
    assert pass_settings["TimeoutStopSec"] == settings["TimeoutStopSec"]
    stop = settings["TimeoutStopSec"]
    assert stop.endswith("min") and int(stop[:-3]) * 60 > DEPLOY_TIMEOUT + 120
    # the commands to install it are the README's
    for command in (
        "install -d -m 700 -o publisher /etc/publisher",
        "install -m 600 -o publisher deploy/publisher.env.example /etc/publisher/publisher.env",
    ):
        assert command in service and command in (REPO / "README.md").read_text()
    assert "publish --due" in timer_service and "Type=oneshot" in timer_service
    assert "OnCalendar=*-*-* *:*:00" in (deploy / "publisher-pass.timer").read_text()
    assert "publish --due" in (deploy / "crontab").read_text()
    env = (deploy / "publisher.env.example").read_text()
    assert "PUBLISHER_FACEBOOK_TOKEN=\n" in env and "PUBLISHER_INSTAGRAM_TOKEN=\n" in env
    for command in (["run", "--help"], ["publish", "--help"]):
        result = subprocess.run(
            [sys.executable, "-m", "publisher", *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
    assert (
        "--due"
        in subprocess.run(
            [sys.executable, "-m", "publisher", "publish", "--help"], capture_output=True, text=True
        ).stdout
    )


def crontab_command(root: Path, env_file: Path, log: Path) -> str:
    """deploy/crontab's one line, without its schedule, on these paths (and this Python)."""
    from .conftest import REPO

    lines = [
        line
        for line in (REPO / "deploy" / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1, lines  # one entry, on one line, as crontab reads it
    fields = lines[0].split(None, 5)
    assert fields[:5] == ["*"] * 5 and "%" not in fields[5]  # cron makes % a newline
    return (
        fields[5]
        .replace("/srv/publisher", str(root))
        .replace("/etc/publisher/publisher.env", str(env_file))
        .replace("/var/log/publisher/publisher.log", str(log))
        .replace(".venv/bin/publisher", f"{sys.executable} -m publisher")
    )


def test_the_crontab_line_logs_its_own_errors_too(project, tmp_path):
    """A missing project folder or environment file is said in the log, not in cron's mail
    (which, on a server without a mail server, nobody reads)."""
    log = tmp_path / "publisher.log"
    env_file = tmp_path / "publisher.env"

    def cron(command: str) -> str:
        server = {**os.environ, "TZ": "Asia/Kolkata"}  # the server's zone is not the site's
        done = subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, text=True, env=server
        )
        assert done.stdout == done.stderr == ""  # what cron would mail
        return log.read_text() if log.exists() else ""

    said = cron(crontab_command(project.root, env_file, log))
    assert str(env_file) in said  # the shell could not read it
    assert said.count("\n") == 1
    said = cron(crontab_command(tmp_path / "nowhere", env_file, log))
    assert str(tmp_path / "nowhere") in said.splitlines()[-1]
    env_file.write_text("PUBLISHER_FACEBOOK_TOKEN=\n")
    before = said
    assert cron(crontab_command(project.root, env_file, log)) == before  # nothing due: quiet
    project.post("a.md", "title: A\ndate: 2026-01-01")
    said = cron(crontab_command(project.root, env_file, log))
    event = said[len(before) :].splitlines()[0]  # the pass itself: an event, with its time
    assert event.endswith("a/website published: https://clinic.example/posts/a/"), said
    site = datetime.now(NY).strftime("%z")  # -0500, or -0400 in summer

    def stamped(line: str, offset: str) -> bool:
        return datetime.strptime(line[:24], "%Y-%m-%d %H:%M:%S%z").strftime("%z") == offset

    assert stamped(event, site), event
    # what needs a person, and an error that stops a pass: each says when, as the others do
    project.post("b.md", "title: B\ndate: 2026-13-45")
    before = said
    said = cron(crontab_command(project.root, env_file, log))
    needs = [line for line in said[len(before) :].splitlines() if "needs a person" in line]
    assert len(needs) == 1 and stamped(needs[0], site), said
    project.posts.rename(project.root / "posts-elsewhere")
    error = cron(crontab_command(project.root, env_file, log)).splitlines()[-1]
    assert "error: " in error and str(project.posts) in error and stamped(error, site), error
    project.config_path.write_text(project.config_path.read_text() + "\nnot toml\n")
    error = cron(crontab_command(project.root, env_file, log)).splitlines()[-1]
    assert "error: " in error and "is not valid TOML" in error, error
    assert stamped(error, "+0530"), error  # the site's zone is in the file it cannot read


def test_the_cron_log_is_rotated_by_deploy_logrotate_and_written_on_after(project, tmp_path):
    """deploy/logrotate, on this test's paths and user, run by the real logrotate: the log
    moves aside whole, and the next cron pass writes to a new one."""
    import grp
    import pwd

    from .conftest import REPO

    log = tmp_path / "log" / "publisher.log"
    log.parent.mkdir()
    env_file = tmp_path / "publisher.env"
    env_file.write_text("PUBLISHER_FACEBOOK_TOKEN=\n")
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    rules = (
        (REPO / "deploy" / "logrotate")
        .read_text()
        .replace("/var/log/publisher/publisher.log", str(log))
        .replace("publisher publisher", f"{user} {group}")
    )
    conf = tmp_path / "logrotate.conf"
    conf.write_text(rules)
    assert str(log) in rules and f"su {user} {group}" in rules
    project.post("a.md", "title: A\ndate: 2026-01-01")
    command = crontab_command(project.root, env_file, log)
    subprocess.run(["/bin/sh", "-c", command])
    first = log.read_text()
    assert "a/website published" in first
    state = tmp_path / "logrotate.state"
    rotated = subprocess.run(
        ["/usr/sbin/logrotate", "--force", "--state", str(state), str(conf)],
        capture_output=True,
        text=True,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert (log.parent / "publisher.log.1").read_text() == first  # delaycompress: plain
    assert log.read_text() == "" and oct(log.stat().st_mode & 0o777) == "0o640"
    project.post("b.md", "title: B\ndate: 2026-01-02")
    subprocess.run(["/bin/sh", "-c", command])
    assert "b/website published" in log.read_text()
    assert "b/website" not in (log.parent / "publisher.log.1").read_text()


def three_photo_posts(make_project, config: str):
    """A project with `config` and three posts with a photo, two on Dec 1 and one on Dec 2."""
    from .conftest import BASE_CONFIG

    project = make_project(config, base=BASE_CONFIG)
    project.image("images/photo.jpg", (1080, 1080))
    photo = "image: images/photo.jpg\nimage_alt: A photo"
    for n, date in enumerate(["2026-12-01 09:00", "2026-12-01 09:30", "2026-12-02 08:00"]):
        project.post(f"p{n}.md", f"title: P{n}\ndate: {date}\n{photo}")
    return project, list(load_posts(project.config).posts)


def test_instagram_plan_keeps_the_slots_of_deliveries_that_are_over(make_project):
    """Posts whose Instagram delivery is over are left out of the plan quickly, but the slot
    each one took stays taken: the others are planned as they would be with them."""
    from publisher.calendar import channel_enabled, instagram_plan
    from publisher.ledger import MISSED, PUBLISHED, Ledger

    project, posts = three_photo_posts(make_project, '[instagram]\nslots = ["Tue 12:00"]\n')
    now = local("2026-12-01T10:00")
    plan = {d.post.slug: d.due for d in plan_deliveries(posts, project.config)
            if d.channel == "instagram"}  # fmt: skip
    alone = plan_deliveries(posts, project.config, channels=("instagram",))
    assert {d.post.slug: d.due for d in alone} == plan  # a channel planned alone is the same
    assert plan == {
        "p0": local("2026-12-01T12:00"),
        "p1": local("2026-12-08T12:00"),
        "p2": local("2026-12-15T12:00"),
    }
    with Ledger(project.config.ledger_path) as ledger:
        # p0 was published and p1 missed, each in its own slot; p2 alone is still to go.
        ledger.mark_many([("p0", "instagram", "posts/p0.md", plan["p0"], "sent")], PUBLISHED, now)
        ledger.mark_many([("p1", "instagram", "posts/p1.md", plan["p1"], "late")], MISSED, now)
    needed, deadlines = instagram_plan(project.config, posts, now)
    assert needed == {"p2"}
    # p2 keeps the third Tuesday: the two slots before it are still taken.
    late = project.config.publish.max_lateness
    from publisher.config import parse_duration

    assert deadlines == [plan["p2"] + parse_duration(late)]
    assert all(channel_enabled(p, "instagram", project.config) for p in posts)


def test_instagram_plan_without_slots_reads_only_the_slugs_of_deliveries_that_are_over(
    make_project, monkeypatch
):
    """With no weekly slots, where a delivery that is over stood changes no other: the plan
    reads the slugs of those (an archive's thousands) and the facts of the rest."""
    from publisher.calendar import instagram_plan, planned_time
    from publisher.config import parse_duration
    from publisher.ledger import MISSED, PUBLISHED, SCHEDULED, Ledger

    project, posts = three_photo_posts(make_project, "")
    now = local("2026-12-01T10:00")
    due = {p.slug: planned_time(p, "instagram", project.config) for p in posts}
    with Ledger(project.config.ledger_path) as ledger:
        ledger.mark_many([("p0", "instagram", "posts/p0.md", due["p0"], "sent")], PUBLISHED, now)
        ledger.mark_many([("p1", "instagram", "posts/p1.md", due["p1"], "late")], MISSED, now)
    briefs: list[int] = []
    real_brief = Ledger.brief

    def counted(self, channel, leaving_out=()):
        found = real_brief(self, channel, leaving_out)
        briefs.append(len(found))
        return found

    monkeypatch.setattr(Ledger, "brief", counted)
    needed, deadlines = instagram_plan(project.config, posts, now)
    assert needed == {"p2"}
    assert deadlines == [due["p2"] + parse_duration(project.config.publish.max_lateness)]
    assert briefs == [0]  # p0 and p1 are over: only their slugs were read
    with Ledger(project.config.ledger_path) as ledger:  # p2 scheduled: read, and still needed
        ledger.mark_many([("p2", "instagram", "posts/p2.md", due["p2"], "")], SCHEDULED, now)
    assert instagram_plan(project.config, posts, now)[0] == {"p2"} and briefs[-1] == 1
