"""Running [site] deploy_command whole: it, everything it started, and nothing after it.

A deploy copies public/, and once it has ended the pass lets other builds swap that folder.
Whatever the command started must end with it: at its time limit (the shell and all it
started, an rsync too), and when it ends by itself leaving a job behind (`rsync ... &`, an ssh
ControlMaster kept by ControlPersist), which would go on reading public/ while it changes.
Its output goes to files, not pipes, so a job that keeps them open cannot hold the pass up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LEFTOVER_GRACE = 2.0  # seconds a job the command left gets to end on SIGTERM, before SIGKILL
# seconds the command's own processes get to end by themselves once its shell has: a failing
# rsync exits before the helpers it started, which end a moment later (not jobs left behind)
LEFTOVER_SETTLE = 0.5
LEFTOVER_GIVE_UP = 4.0  # seconds after which one that will not end (another user's) is left
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
PR_GET_CHILD_SUBREAPER = 37


@dataclass
class Finished:
    """A command that ended: its status and output, and the jobs it left that were stopped."""

    returncode: int
    stdout: str
    stderr: str
    stopped: list[str] = field(default_factory=list)  # their command lines ("a job" if unknown)
    unstoppable: list[str] = field(default_factory=list)  # left running: not ours to signal


class StillRunning(Exception):
    """A deploy started by an earlier process is still running."""


def run_whole(
    command: str, cwd: Path, env: dict[str, str], timeout: float, lock: Path | None = None
) -> Finished:
    """Run a shell command in a process group of its own, its output captured. At `timeout`
    (TimeoutExpired), or when the pass is interrupted, the whole group is ended at once; when
    the command ends by itself, whatever it left running is stopped too (SIGTERM, then
    SIGKILL): the rest of its group and, on Linux, where this process adopts the orphans of
    what it starts for the time of the command, a job that left the group (a daemon).

    `lock`: a file the command and all it starts hold locked (an open file they inherit)
    until the last of them ends. A pass killed (kill -9) in the middle of a deploy leaves
    its deploy running; the next one finds the lock held and raises StillRunning rather
    than start a second deploy beside it."""
    held = _hold(lock) if lock is not None else None
    try:
        return _run_whole(command, cwd, env, timeout, held)
    finally:
        if held is not None:
            os.close(held)


def _hold(lock: Path) -> int:
    """The lock file open and locked by this process, or StillRunning."""
    import fcntl

    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StillRunning(str(lock)) from None
    return fd


def _run_whole(
    command: str, cwd: Path, env: dict[str, str], timeout: float, held: int | None
) -> Finished:
    before = _children()
    adopting, undo = _adopt_orphans()
    known = before if adopting else None
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                command,
                shell=True,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=() if held is None else (held,),  # the lock, held while any runs
            )
            try:
                returncode = process.wait(timeout)
            except BaseException:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
                _end_leftovers(process.pid, known, grace=0)
                raise
            stopped, unstoppable = _end_leftovers(process.pid, known)
            out.seek(0)
            err.seek(0)
            return Finished(
                returncode,
                out.read().decode(errors="replace"),
                err.read().decode(errors="replace"),
                stopped,
                unstoppable,
            )
    finally:
        if undo:
            _prctl(PR_SET_CHILD_SUBREAPER, 0)


def _end_leftovers(
    group: int, before: set[int] | None, grace: float = LEFTOVER_GRACE
) -> tuple[list[str], list[str]]:
    """Stop what is left of a command whose shell (`group`) has ended: its group, and the
    orphans adopted meanwhile (children of this process not in `before`; None: none are).
    Returns the command lines of those stopped, and of those that could not be."""
    named: dict[int, str] = {}
    group_seen = False
    settle = LEFTOVER_SETTLE if grace else 0.0
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        adopted = [] if before is None else [p for p in _children() - before if _alive(p)]
        in_group = _signal_group(group, 0)
        if not (adopted or in_group) or waited > settle + LEFTOVER_GIVE_UP:
            break
        if waited < settle:  # (what ends by itself meanwhile was not left running)
            time.sleep(0.02)
            continue
        for pid in adopted:
            named.setdefault(pid, _command_line(pid))
        group_seen = group_seen or in_group
        number = signal.SIGTERM if waited < settle + grace else signal.SIGKILL
        _signal_group(group, number)
        for pid in adopted:
            try:
                os.kill(pid, number)
            except OSError:
                pass  # ended meanwhile, or not this user's (left, and said)
        time.sleep(0.05)
    left = [pid for pid in named if _alive(pid)]
    unstoppable = sorted(named[pid] for pid in left)
    stopped = sorted(named[pid] for pid in named if pid not in left)
    if group_seen and not named:  # where orphans are not adopted, only the group is known
        stopped = ["a job"]
    if _signal_group(group, 0) and not unstoppable:
        unstoppable = ["a job"]
    return stopped, unstoppable


def _signal_group(group: int, number: int) -> bool:
    """Send `number` to process group `group`; False when the group has no process left."""
    try:
        os.killpg(group, number)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a member this user may not signal (setuid): still there
    return True


def _alive(pid: int) -> bool:
    """Whether `pid`, a child of this process, still runs (it is reaped if it ended)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


def _children() -> set[int]:
    """The process ids of this process's children (Linux: read from /proc; empty elsewhere)."""
    me = os.getpid()
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b") ")[2].split()
        except OSError:
            continue  # ended meanwhile
        if len(fields) > 1 and int(fields[1]) == me:
            found.add(int(entry))
    return found


def _command_line(pid: int) -> str:
    """What process `pid` runs, as one short line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        words = ""
    return (words[:77] + "...") if len(words) > 80 else words or f"process {pid}"


def _adopt_orphans() -> tuple[bool, bool]:
    """Linux: make this process the one the orphans of its descendants go to (a child
    subreaper). A job a command leaves as a daemon (it leaves the group, and its parent
    ends) then becomes this process's child, to be stopped, instead of init's. Returns
    whether it is one now, and whether it was made one here (to be undone after)."""
    state = _prctl(PR_GET_CHILD_SUBREAPER, None)
    if state is None:
        return False, False
    if state:
        return True, False  # one already, for its own reasons: it stays one
    made = _prctl(PR_SET_CHILD_SUBREAPER, 1) is not None
    return made, made


def _prctl(option: int, value: int | None) -> int | None:
    """prctl(option, value), or for value None the int it reads back; None where it fails
    (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    read = ctypes.c_int(0)
    argument = ctypes.byref(read) if value is None else ctypes.c_ulong(value)
    if libc.prctl(option, argument, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)):
        return None
    return read.value if value is None else value
