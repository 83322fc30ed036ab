"""The command line: each command parses its arguments and calls one library function."""

from __future__ import annotations

import itertools
import logging
import os
import shlex
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import click

from publisher.config import Config, load_config
from publisher.exceptions import ChannelProblem, ContentWarning, PublisherError, describe_failure
from publisher.times import TimeError, parse_local_time

if TYPE_CHECKING:
    from publisher.build import BuildResult
    from publisher.content import LoadedPosts, Post


class LogLines(logging.Formatter):
    """One line per event, stamped (when `stamped`) with its time and offset from UTC in
    the site's zone once config.toml is read (the server's until then): the times in the
    lines are the site's, and a log read beside them in another zone would mislead."""

    # the site's zone, as the config read last says (the service reads config.toml again
    # when it changes); None until config.toml is read
    zone: Callable[[], tzinfo] | None = None
    # journald stamps its own lines and a terminal needs none; a cron log needs ours
    stamped = False

    def format(self, record: logging.LogRecord) -> str:
        return self.stamp(record.created) + super().format(record)

    @classmethod
    def stamp(cls, created: float | None = None) -> str:
        """The stamp a line gets (with its space), or "" when lines are not stamped."""
        if not cls.stamped:
            return ""
        zone = cls.zone() if cls.zone else None
        moment = datetime.now(zone) if created is None else datetime.fromtimestamp(created, zone)
        return f"{moment if zone else moment.astimezone():%Y-%m-%d %H:%M:%S%z} "


def say(text: str) -> None:
    """A line for a person on stderr, stamped as the log's lines are: in a cron log, an
    error or what needs a person says when, like every other line."""
    click.echo(LogLines.stamp() + text, err=True)


class Context:
    """What every command needs: the config, read once."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """config.toml, loaded on first use."""
        if self._config is None:
            config = self._config = load_config(self.config_path)
            LogLines.zone = lambda: config.tz
        return self._config

    def changing(self) -> Config:
        """The config, for a command that writes in the project (a build, a pass, retry...):
        run as root in a project that is the service's, it stops first (ownership)."""
        config = self.config
        if config.path is None and not config.posts_dir.is_dir():  # (no lock file left here)
            from publisher.content import require_posts_folder

            require_posts_folder(config)
        from publisher.ownership import refuse_root_in_a_users_project

        refuse_root_in_a_users_project(config.ledger_path, shlex.join(sys.argv[1:]))
        return config


pass_context = click.make_pass_decorator(Context)
DEFAULT_PORT = 8000  # `serve`'s, and the one `make run` serves the site on


def parse_now(value: str | None, config: Config, option: str = "--now") -> datetime | None:
    """The --now option (or another time option): a local time in the site's zone, or None
    for the real now."""
    if value is None:
        return None
    try:
        return parse_local_time(value, config.tz)
    except TimeError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


class Group(click.Group):
    """Turns publisher's own errors into one plain line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        import sqlite3

        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            say(f"error: {exc}")
            sys.exit(1)
        except BrokenPipeError:  # `publisher status | head`: the reader has all it wanted
            sys.exit(0)
        except (OSError, sqlite3.Error) as exc:  # the system under us: a line, not a traceback
            config = getattr(ctx.obj, "_config", None)
            say(f"error: {describe_failure(exc, written_by(config))}")
            sys.exit(1)


def written_by(config: Config | None) -> list[Path]:
    """The files and folders publisher writes, to name a full disk (none: no config yet)."""
    if config is None:
        return []
    return [config.ledger_path, config.output_dir, config.cache_dir, config.preview_dir]


@click.group(cls=Group)
@click.option(
    "--config",
    "-c",
    "config_path",
    envvar="PUBLISHER_CONFIG",
    type=click.Path(dir_okay=False),
    help="Path to config.toml (default: ./config.toml, or $PUBLISHER_CONFIG).",
)
@click.version_option(package_name="publisher")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Turn Markdown posts into the clinic's website, Facebook and Instagram posts."""
    # One line per event on stdout; journald stamps its own time, a cron log needs ours.
    LogLines.stamped = not (os.environ.get("JOURNAL_STREAM") or sys.stdout.isatty())
    lines = logging.StreamHandler(sys.stdout)
    lines.setFormatter(LogLines())
    logging.basicConfig(level=logging.INFO, handlers=[lines])
    ctx.obj = Context(config_path)


@main.command()
@click.option("--now", "now_text", metavar="TIME", help="Check as of this local time.")
@pass_context
def check(ctx: Context, now_text: str | None) -> None:
    """Validate config.toml and every post; print one line per problem."""
    from publisher.build import check_site

    config = ctx.config
    found = check_site(config, parse_now(now_text, config))
    problems: list[PublisherError] = [p for p in found if not isinstance(p, ContentWarning)]
    warnings = [p for p in found if isinstance(p, ContentWarning)]
    if config.graph.secrets_file:  # a pass would not be able to read the tokens
        from publisher.tokens import read_secrets_file

        try:
            read_secrets_file(config.folder(config.graph.secrets_file))
        except PublisherError as exc:
            problems.insert(0, exc)
    live = live_post_files(config) if problems else set()
    if live:
        from publisher.build import live_versions

        broken = {getattr(p, "path", None) for p in problems} & live
        kept = {post.display for post in live_versions(config, broken)}
    for problem in problems:
        click.echo(str(problem))
        path = getattr(problem, "path", None)
        if path in live and not isinstance(problem, ChannelProblem):  # (the page is not hit)
            live.discard(path)  # said once, after its first problem
            if path in kept:
                click.echo(
                    f"  ({path} is live: the website keeps showing it as it was until this is "
                    "fixed, less any photo whose file is gone; deleting it or draft: true takes "
                    "it down)"
                )
            else:
                click.echo(
                    f"  ({path} is live, but the next build takes its page off the site: the "
                    "build cache was deleted, or publisher upgraded, since it was built; fix it "
                    "first)"
                )
    for warning in warnings:  # after the problems: they stop nothing
        click.echo(str(warning))
    also = f", and {len(warnings)} warning(s)" if warnings else ""
    if problems:
        click.echo(f"{len(problems)} problem(s) found{also}.", err=True)
        sys.exit(1)
    if warnings:
        click.echo(f"No problem found, but {len(warnings)} warning(s): see above.", err=True)
        return
    click.echo("All posts and config.toml look good.", err=True)


def refuse_zone_change(config: Config) -> None:
    """Stop a build of the website itself after [site] timezone changed, when the dates read
    in the new zone would take articles already out off the site (as a pass stops)."""
    if config.ledger_path.exists():  # (no pass has run: nothing is out)
        from publisher.publish import refuse_zone_change as refuse

        refuse(config)


def live_post_files(config: Config) -> set[str]:
    """The post files whose page the built website shows (published, by the ledger, and
    its page there)."""
    if not config.ledger_path.exists():
        return set()
    from publisher.ledger import PUBLISHED, Ledger

    with Ledger.for_reading(config.ledger_path) as ledger:
        records = [r for r in ledger.all() if r.channel == "website" and r.state == PUBLISHED]
    pages = config.output_dir / "posts"
    return {r.source for r in records if (pages / r.slug / "index.html").exists()}


@main.command()
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="Build the site as it will be at this local time, e.g. 2026-12-01T09:00.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="Write here instead of [site] output (with --now: instead of the preview site folder).",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Build even when the posts folder holds no post and the site has articles (it empties the site).",
)
@pass_context
def build(ctx: Context, now_text: str | None, output: str | None, allow_empty: bool) -> None:
    """Build the website from the posts folder."""
    from publisher.build import build_site

    config = ctx.changing()
    at = parse_now(now_text, config)
    # absolute: the build cache remembers the site by its folder, wherever the command ran
    target = Path(output).absolute() if output else (config.preview_site_dir if at else None)
    if at is None:
        refuse_zone_change(config)
    result = build_site(config, at, target, allow_empty=allow_empty, exiting=True)
    say_problems(result)
    for path in result.removed:
        click.echo(f"taken off the site: /{path}{result.what_was(path)}")
    click.echo(
        f"Built {result.published} post(s) into {config.display_path(result.output)}: "
        f"{result.stats.changed} file(s) written, {result.stats.unchanged} unchanged."
    )
    if at and not output:
        click.echo(
            f"That is the site as it will be at {at:%Y-%m-%d %H:%M}, for a look only: the "
            f"website in {config.display_path(config.output_dir)} is not touched."
        )
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s): fix them and build again.", err=True)
        sys.exit(1)


def say_problems(result: BuildResult) -> None:
    """A build's problems, then its warnings (as `check` says them), on stderr."""
    for problem in result.problems:
        click.echo(f"problem: {problem}", err=True)
    for warning in result.warnings:  # after the problems: they stop nothing
        click.echo(str(warning), err=True)


@main.command()
@click.option(
    "--port",
    type=int,
    help="Port on 127.0.0.1 (default: 8000, or the next free one when `make run` has it).",
)
@click.option(
    "--now", "now_text", metavar="TIME", help="Serve the site as it will be at this local time."
)
@click.option(
    "--lan",
    is_flag=True,
    help="Answer phones and computers on this network too (the same Wi-Fi), to look at the "
    "site on a phone; prints the address to open there.",
)
@pass_context
def serve(ctx: Context, port: int | None, now_text: str | None, lan: bool) -> None:
    """Build, serve on http://127.0.0.1:PORT and rebuild when posts, templates or config change."""
    from publisher.build import build_site
    from publisher.serve import make_server, network_address, server_near, site_address, watch

    config = ctx.changing()
    at = parse_now(now_text, config)
    # The site at another time is a preview: it never goes where the real site is served
    # and deployed from (a publishing pass would not know to put the present back).
    target = config.preview_site_dir if at else config.output_dir

    def rebuild() -> None:
        nonlocal config
        try:
            if ctx.config_path or config.path:
                config = load_config(config.path or ctx.config_path)
            if at is None:
                refuse_zone_change(config)
            result = build_site(config, at, target)
        except PublisherError as exc:
            click.echo(f"error: {exc}", err=True)
            return
        say_problems(result)
        click.echo(f"Rebuilt: {result.published} post(s), {result.stats.changed} file(s) changed.")

    host = "0.0.0.0" if lan else "127.0.0.1"
    # the port first
    if port is None:
        server = server_near(target, host, DEFAULT_PORT, base_url=config.base_url)
        if server.server_address[1] != DEFAULT_PORT:
            click.echo(
                f"Port {DEFAULT_PORT} is in use (by `make run`, or another `publisher serve`): "
                f"this one answers on port {server.server_address[1]}."
            )
    else:
        server = make_server(target, host, port, base_url=config.base_url)
    rebuild()
    when = f", as it will be at {at:%Y-%m-%d %H:%M}" if at else ""
    click.echo(
        f"Serving {config.display_path(target)}{when} on {site_address(server)} (Ctrl-C to stop)"
    )
    if lan:
        address = network_address()
        click.echo(
            f"On a phone on the same network (Wi-Fi): {site_address(server, address)}"
            if address
            else "This computer has no network address yet: join the Wi-Fi, then start again."
        )
    stop = threading.Event()
    watched = [config.posts_dir, config.templates_dir] + ([config.path] if config.path else [])
    watcher = threading.Thread(target=watch, args=(watched, rebuild, stop), daemon=True)
    watcher.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        stop.set()
        server.server_close()


@main.command()
@click.argument("posts", nargs=-1, metavar="[POST_FILE_OR_SLUG]...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per post, for scripts.")
@click.option(
    "--html", "as_html", is_flag=True, help="Write the private preview folder ([site] preview)."
)
@click.option("--now", "now_text", metavar="TIME", help="Preview as of this local time.")
@pass_context
def preview(
    ctx: Context, posts: tuple[str, ...], as_json: bool, as_html: bool, now_text: str | None
) -> None:
    """Show each post's Facebook message and Instagram caption, counts, times and problems."""
    import json

    from publisher.preview import (
        preview_json,
        preview_posts,
        preview_text,
        states_needing_a_look,
    )
    from publisher.times import now as current_time

    config = ctx.config
    if config.path is None:  # (no project here: say so, not "no such post file")
        from publisher.content import require_posts_folder

        require_posts_folder(config)
    at = parse_now(now_text, config) or current_time(config.tz)
    previews = preview_posts(config, list(posts) or None)
    if as_html:
        from publisher.preview_html import write_preview_site

        folder = write_preview_site(config, previews, at)
        click.echo(f"Preview written: {folder / 'index.html'}")
        for item in previews:  # shown in the preview too; said here for the exit status
            for problem in item.problems:
                click.echo(str(problem), err=True)
    elif as_json:
        for item in previews:
            click.echo(json.dumps(preview_json(item, config, at), ensure_ascii=False))
    else:
        from publisher.preview_html import changed_since_sent, read_agenda

        deliveries = read_agenda(config, at)
        changed = changed_since_sent(deliveries)
        states = states_needing_a_look(deliveries)
        texts = (
            preview_text(
                item,
                config,
                at,
                changed.get(item.post.slug, []) if item.post else [],
                states.get(item.post.slug, {}) if item.post else {},
            )
            for item in previews
        )
        click.echo("\n".join(texts), nl=False)
    if any(item.stopped for item in previews):
        sys.exit(1)


@main.command()
@click.option(
    "--due", is_flag=True, required=True, help="Publish every delivery whose time has come."
)
@click.option("--now", "now_text", metavar="TIME", help="Act as if it were this local time.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@click.option(
    "--wait", is_flag=True, help="Wait for a pass already running instead of doing nothing."
)
@click.option(
    "--quiet", is_flag=True, help="Print nothing when nothing was due (for a log of cron passes)."
)
@pass_context
def publish(
    ctx: Context, due: bool, now_text: str | None, dry_run: bool, wait: bool, quiet: bool
) -> None:
    """One publishing pass (run it from cron every minute, or let `publisher run` do it)."""
    import itertools
    import signal

    from publisher.publish import publish_due

    config = ctx.changing()
    # SIGTERM (systemctl stop, a shutdown, `timeout`) or a hang-up: the pass finishes what is
    # in flight (the build, the deploy command, the delivery being sent) and sends nothing more.
    # Noted in a list, not an Event: a handler runs between any two steps of the main thread,
    # even inside the handler a signal before it is running, and a second signal inside the
    # first one's Event.set() waited for the Event's lock that the first held: the pass hung,
    # holding the pass lock, and no cron pass after it did anything.
    stopping: list[int] = []
    signals = itertools.count()  # next() is one step: said by the first signal only

    def stop(number: int, frame: object) -> None:
        stopping.append(number)
        if next(signals) == 0:
            logging.getLogger("publisher.publish").info(
                "%s: finishing what is in flight, then stopping", signal.Signals(number).name
            )

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    report = publish_due(
        config,
        parse_now(now_text, config),
        dry_run=dry_run,
        wait=wait,
        should_stop=lambda: bool(stopping),
    )
    if report.locked_out:
        return
    if not report.outcomes and not quiet:
        # (a rebuild is said above, in the pass's log: an idle pass says only this)
        click.echo(
            "The website was not updated (see above); a later pass tries again."
            if report.site_failed
            else "Nothing else was due: no article went live, nothing on Facebook or Instagram."
            if report.rebuilt
            else "Nothing was due."
        )
    if report.needs_person:  # (the pass's log has said what, each problem once)
        say("Something needs a person: see above, or run  publisher status")
        sys.exit(1)


@main.command()
@click.option(
    "--serve", "serve_port", type=int, metavar="PORT", help="Also serve the site on 127.0.0.1:PORT."
)
@pass_context
def run(ctx: Context, serve_port: int | None) -> None:
    """The service: publish every delivery at its time until SIGTERM or Ctrl-C."""
    from publisher.scheduler import Service

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    ctx.changing()  # (run as root in the service's project, it stops here)
    path = Path(ctx.config_path) if ctx.config_path else None
    service = Service(path, serve_port=serve_port)
    LogLines.zone = lambda: service.config.tz  # as config.toml says now
    sys.exit(service.run())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery.")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also deliveries published or skipped more than 30 days ago.",
)
@pass_context
def status(ctx: Context, as_json: bool, show_all: bool) -> None:
    """List deliveries with their state, time, and permalink or error."""
    import json

    from publisher.agenda import held_posts
    from publisher.content import load_posts, require_posts_folder
    from publisher.status import delivery_rows, format_table, long_finished, under_the_list
    from publisher.times import now as current_time

    config = ctx.config
    require_posts_folder(config)  # (no project here: say so first, not "no deliveries yet")
    at = current_time(config.tz)
    loaded = load_posts(config)
    held = held_posts(config, loaded)  # read once: for the list and for what is said below
    every = delivery_rows(config, at, loaded=loaded, held=held)
    rows = every if show_all else [row for row in every if not long_finished(row, at)]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if rows or not loaded.problems:
        click.echo(format_table(rows, config))
    else:  # (not "add a post": there are posts, which have problems)
        click.echo("No deliveries yet: the posts have problems, listed below.")
    for line in under_the_list(config):  # a deploy running, a token that needs a person
        click.echo(line)
    no_pass_yet(config)
    # a post with a problem, which a pass says "needs a person" of: the list has no row for it
    say_posts_with_problems(loaded, held)
    if not show_all:
        hidden = len(every) - len(rows)
        if hidden:
            click.echo(
                f"({hidden} deliveries published or skipped more than 30 days ago, or missed "
                "since they were due before the first pass, are not shown: publisher status "
                "--all)"
            )


@main.command()
@click.option("--from", "start", metavar="DATE", help="First day to show (default: today).")
@click.option("--to", "end", metavar="DATE", help="Last day to show.")
@click.option(
    "--channel",
    # people write `--channel Instagram` as they write the name: any case will do
    type=click.Choice(["website", "facebook", "instagram"], case_sensitive=False),
    help="One channel only (website, facebook or instagram, in any case).",
)
@click.option("--all", "show_all", is_flag=True, help="From the first post on, not from today.")
@click.option(
    "--ics",
    "ics_path",
    type=click.Path(dir_okay=False),
    help="Write an iCalendar file of every delivery instead.",
)
@click.option("--now", "now_text", metavar="TIME", help="Act as if it were this local time.")
@pass_context
def calendar(
    ctx: Context,
    start: str | None,
    end: str | None,
    channel: str | None,
    show_all: bool,
    ics_path: str | None,
    now_text: str | None,
) -> None:
    """The content calendar: upcoming deliveries with their state (or an .ics file)."""
    from datetime import timedelta

    from publisher.agenda import agenda, day_start, format_agenda, held_posts, write_ics
    from publisher.content import load_posts, require_posts_folder
    from publisher.times import now as current_time

    config = ctx.config
    require_posts_folder(config)  # (no project here: say so first, not an empty calendar)
    at = parse_now(now_text, config) or current_time(config.tz)
    loaded = load_posts(config)
    posts = list(loaded.posts)
    held = held_posts(config, loaded)  # live posts whose file has a problem: they wait
    if ics_path:
        entries = agenda(config, at, channel=channel, posts=posts, held=held)
        write_ics(entries, config, Path(ics_path))
        click.echo(f"Wrote {len(entries)} deliveries to {ics_path}")
    else:
        first = (
            parse_now(start, config, "--from")
            if start
            else (None if show_all else day_start(at.date(), config))
        )
        last = parse_now(end, config, "--to") + timedelta(days=1) if end else None
        entries = agenda(config, at, start=first, end=last, channel=channel, posts=posts, held=held)
        click.echo(format_agenda(entries))
        no_pass_yet(config)
    say_posts_with_problems(loaded, held)


def say_posts_with_problems(loaded: LoadedPosts, held: list[Post]) -> None:
    """A post that cannot be read is on no calendar (or, live already, waits): say which,
    and why, rather than let its author look for it in vain (on stderr)."""
    live = {post.display for post in held}
    for heading, problems in (
        (
            "Live as it was, the rest waiting, until fixed",
            [p for p in loaded.problems if p.path in live],
        ),
        ("Not on the calendar until fixed", [p for p in loaded.problems if p.path not in live]),
    ):
        if problems:
            files = len({problem.path for problem in problems})
            click.echo(f"\n{heading} ({files} post(s)):", err=True)
            for problem in problems:
                click.echo(f"  {problem}", err=True)


NO_PROJECT_HERE = (
    "(There is no config.toml in {folder} or a folder above it: run publisher in the "
    "clinic's project folder, or give it with --config.)"
)


def no_pass_yet(config: Config) -> None:
    """Say so under a list of deliveries when no publishing pass has made the ledger yet (on
    stderr: the list itself is what a script reads)."""
    if not config.ledger_path.exists():
        click.echo(
            f"No publishing pass has run yet ({config.display_path(config.ledger_path)} does "
            "not exist): nothing has been sent yet.",
            err=True,
        )
        if config.path is None:
            click.echo(NO_PROJECT_HERE.format(folder=config.root), err=True)
        from publisher.publish import last_pass_ledger

        before = last_pass_ledger(config)
        if before and before != str(config.ledger_path):
            click.echo(
                f"(Yet the last publishing pass used the ledger {before}: if it was moved or "
                "[publish] ledger is mistyped, set [publish] ledger in config.toml to it "
                "before a pass makes a new one.)",
                err=True,
            )
        elif before:
            click.echo(
                "(Yet the last publishing pass had a ledger there: it was deleted or lost. "
                "If you have a copy, put it back before a pass makes a new one: see "
                "Upgrade publisher in the README.)",
                err=True,
            )


class DeliveryNumber(click.ParamType):
    """A delivery's ID, as `status` shows it; anything else says where the ID is, and what
    keeps a post off a channel before it has one."""

    name = "ID"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
        later = (
            "to keep a post off Facebook or Instagram, write  facebook: false  or  "
            "instagram: false  in its front matter"
            if ctx is not None and ctx.info_name == "skip"
            else "it goes out at its time"
        )
        self.fail(
            f"{value!r} is not a delivery's ID: give the number in the ID column of  publisher "
            f"status. A delivery not tried yet has none (-): {later}",
            param,
            ctx,
        )


@main.command()
@click.argument("delivery_id", type=DeliveryNumber())
@pass_context
def retry(ctx: Context, delivery_id: int) -> None:
    """Send a failed or missed delivery again at the next pass."""
    from publisher.status import retry_delivery

    click.echo(retry_delivery(ctx.changing(), delivery_id))


@main.command()
@click.argument("delivery_id", type=DeliveryNumber())
@pass_context
def skip(ctx: Context, delivery_id: int) -> None:
    """Never send this delivery."""
    from publisher.status import skip_delivery

    click.echo(skip_delivery(ctx.changing(), delivery_id))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per channel.")
@pass_context
def accounts(ctx: Context, as_json: bool) -> None:
    """Check each channel's token against the Graph API and report in plain words."""
    import json

    from publisher.status import check_accounts, note_token_looks
    from publisher.tokens import token_source

    reports = check_accounts(ctx.config)
    note_token_looks(ctx.config, reports)
    for channel, report in reports:
        source = token_source(channel, ctx.config)  # which token was checked: no token itself
        if as_json:
            fields = report if isinstance(report, dict) else report.as_dict()
            click.echo(json.dumps({**fields, "token_from": source}, ensure_ascii=False))
        elif isinstance(report, dict):
            click.echo(f"{channel}: {report['problems'][0]}")
        else:
            click.echo("\n".join([*report.lines(), f"  token used: {source}"]))
    if any((r["problems"] if isinstance(r, dict) else not r.ok) for _, r in reports):
        sys.exit(1)


@main.command()
@click.argument("title", required=False)
@click.option(
    "--date", "date_text", metavar="TIME", help="Publication time (default: tomorrow 09:00)."
)
@click.option(
    "--from",
    "source",
    metavar="FILE.md",
    type=click.Path(path_type=Path),
    help="Take the text (and the title, if none is given) of a Markdown file written "
    "elsewhere, such as Google Docs' File > Download > Markdown; its photos are saved into "
    "the posts folder's images/.",
)
@pass_context
def new(ctx: Context, title: str | None, date_text: str | None, source: Path | None) -> None:
    """Write a new draft post with its front matter filled in, and print its path."""
    from publisher.content import (
        default_slug,
        default_slug_is_readable,
        new_post,
        require_posts_folder,
    )

    config = ctx.changing()
    require_posts_folder(config)  # (not a posts/ made wherever the command was run)
    if title is None and source is None:
        raise click.UsageError(
            'give the post\'s title:  publisher new "Why your shoulders hold stress"  (or a '
            "Markdown file to take it from:  publisher new --from FILE.md)"
        )
    when = parse_now(date_text, config, "--date")
    if when is None:
        tomorrow = datetime.now(config.tz) + timedelta(days=1)
        when = tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)
    if source is None:
        assert title is not None
        path, photos = new_post(config, title, when), []
    else:
        from publisher.document import new_post_from

        path, document = new_post_from(config, source, title, when)
        title, photos = document.title, document.photos
    click.echo(config.display_path(path))
    if photos:
        click.echo(
            f"{len(photos)} photo(s) of {source.name} saved into "  # type: ignore[union-attr]
            f"{config.display_path(photos[0].parent)}/: {', '.join(p.name for p in photos)}. "
            "The first is the post's photo (image:). Describe each for people who cannot see "
            "it: image_alt: for the post's photo, and the words between the brackets of ![...] "
            "for each in the text.",
            err=True,
        )
    if when < datetime.now(config.tz):
        click.echo(
            f"Its date, {when:%Y-%m-%d %H:%M}, is past: once draft: false, it goes on the "
            "website at the next pass (Facebook and Instagram only if still in time).",
            err=True,
        )
    if not default_slug_is_readable(title):
        click.echo(
            "Its web address is made of a code, as the title has no Latin letters: add a line "
            "like  slug: back-massage  for an address people can read.",
            err=True,
        )
    _same_address(config, path, default_slug(title))


def _same_address(config: Config, path: Path, slug: str) -> None:
    """Say, when `publisher new` wrote a post whose title gives the web address of a post
    already there: only one of them can have it (check says so too, later)."""
    from publisher.content import post_file_names, read_post

    owners: dict[str, str] = {}
    for name in post_file_names(config.posts_dir):
        if Path(name) != path:
            other, _ = read_post(Path(name), config)
            if other is not None:
                owners.setdefault(other.slug, other.display)
    from publisher.build import ledger_records
    from publisher.ledger import PUBLISHED

    records = ledger_records(config)
    taken = owners.keys() | {r.slug for r in records}
    free = next(f"{slug}-{n}" for n in itertools.count(2) if f"{slug}-{n}" not in taken)
    if slug in owners:
        click.echo(
            f"{owners[slug]} has this title's web address already (/posts/{slug}/): give "
            f"this post another title, or a line like  slug: {free}  before you set "
            "draft: false.",
            err=True,
        )
        return
    earlier = [
        r for r in records if r.slug == slug and r.channel == "website" and r.state == PUBLISHED
    ]
    if earlier:  # an article deleted since: the ledger knows a post by its address
        click.echo(
            f"/posts/{slug}/ was the address of an earlier article ({earlier[0].source}, "
            f"published {earlier[0].due_at.astimezone(config.tz):%Y-%m-%d}): with it, this "
            "post would be taken for that one, and its Facebook and Instagram posts never "
            f"sent. Add a line like  slug: {free}  before you set draft: false.",
            err=True,
        )


def entry() -> None:
    """The `publisher` command (and `python -m publisher`): main(), then a quick exit.

    When a command is done, Python would free every object it made, one by one, before the
    process ends anyway: 20-30 ms after a build of 1,000 posts, 50-90 ms after 10,000, on
    every cron pass and preview. The exit handlers still run (logging, worker processes) and
    the output is flushed first; only that freeing is skipped. While a thread other than
    the main one is still at work, the exit is Python's usual one, which waits for it."""
    import atexit

    try:
        main()
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
            code = 1
    main_thread = threading.main_thread()
    if any(t is not main_thread and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (publisher status | head)
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
