"""Writing the site: into a staging folder, then swapped in whole, so no half-written site is ever seen."""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import logging
import marshal
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from publisher.exceptions import PublisherError, Stopped
from publisher.files import SITE_MARKER as MARKER
from publisher.render.site import OutputFile

log = logging.getLogger(__name__)
LOCK_RETRY_SECONDS = 0.5  # how often a build that may be told to stop asks for the lock again
MARKER_TEXT = b"This folder is written by publisher build; edits here are lost.\n"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass
class WriteStats:
    """How many files a write produced, and how many of them were new or changed."""

    files: int = 0
    changed: int = 0
    unchanged: int = 0
    # the site's paths of those new or changed (write_linked_tree), to say what a build did
    changed_paths: list[str] = field(default_factory=list)


def check_output_folder(output: Path) -> None:
    """Refuse to replace a folder that publisher did not make (a typo must not wipe a home folder)."""
    if output.exists() and not output.is_dir():
        raise PublisherError(
            f"output {output} is a file, not a folder: set [site] output to a folder"
        )
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise PublisherError(
            f"output folder {output} has files that publisher did not write; it is replaced on "
            "every build, so give a new or empty folder ([site] output in config.toml, or "
            "--output)"
        )


def write_tree(files: Iterable[OutputFile], output: Path) -> WriteStats:
    """Write every file into a staging folder beside `output`, then swap it in at once.

    A file whose bytes equal the current output's is hard-linked, not rewritten, so its
    timestamp stays and rsync or a browser sees nothing new. If anything fails, the staging
    folder is removed and the current output is left exactly as it was.
    """
    check_output_folder(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.staging-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    stats = WriteStats()
    try:
        staging.mkdir()
        made_dirs: set[str] = set()
        marker = OutputFile(MARKER, MARKER_TEXT)
        for item in itertools.chain([marker], files):
            relative = item.path
            if relative.startswith("/") or ".." in relative.split("/"):
                raise PublisherError(f"refusing to write outside the output folder: {relative!r}")
            target = staging / relative
            parent = target.parent.as_posix()
            if parent not in made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(parent)
            current = output / relative
            if _same_as_current(item, current):
                os.link(current, target)
                stats.unchanged += 1
            elif item.data is not None:
                target.write_bytes(item.data)
                stats.changed += 1
            else:
                assert item.source is not None
                shutil.copy2(item.source, target)
                stats.changed += 1
            stats.files += 1
        _swap_in(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)  # after the swap this holds the old site
    return stats


def _same_as_current(item: OutputFile, current: Path) -> bool:
    try:
        info = current.stat()
    except OSError:
        return False
    if item.data is not None:
        if info.st_size != len(item.data):
            return False
        with open(current, "rb") as handle:
            return handle.read() == item.data
    assert item.source is not None
    source = os.stat(item.source)
    # Copies keep the source's modification time, so size and time identify an unchanged copy.
    return source.st_size == info.st_size and source.st_mtime_ns == info.st_mtime_ns


def _swap_in(staging: Path, output: Path) -> None:
    """Put staging where output is; the old output ends up at staging's path."""
    if not output.exists():
        os.rename(staging, output)
        staging.mkdir()
        return
    if _exchange(staging, output):
        return
    retired = output.with_name(f".{output.name}.old-{os.getpid()}")
    os.rename(output, retired)
    os.rename(staging, output)
    os.rename(retired, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step where the system can (Linux renameat2)."""
    import ctypes.util  # only when a site is swapped in

    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _walk_files(root: Path) -> dict[str, os.stat_result]:
    """Every file under `root` by relative path, with its lstat."""
    found: dict[str, os.stat_result] = {}
    prefix = len(str(root)) + 1
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            found[full[prefix:]] = os.lstat(full)
    return found


def _link(source: Path | str, target: Path | str) -> None:
    """Hard-link a cached file into the site (copy when the cache is on another disk); a
    stray file where the link goes is replaced."""
    try:
        os.link(source, target)
    except FileExistsError:
        os.unlink(target)
        _link(source, target)
    except OSError:
        shutil.copy2(source, target)


Manifest = dict[str, str]  # site path -> cached file it is a link to


def manifest_id(manifest: Manifest) -> str:
    """A short name for one exact set of files, written into the tree's marker.

    Cached files are named by their content, so the name is taken from the cache entry's own
    name (kind/xx/key), not from where the cache folder is: two builds of the same site into
    two caches write the same marker."""
    lines = [
        f"{path}\0{'/'.join(manifest[path].rsplit(os.sep, 3)[-3:])}\n" for path in sorted(manifest)
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:32]


def _marker_id(tree: Path) -> str | None:
    try:
        text = (tree / MARKER).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("build: "):
            return line[7:].strip()
    return ""


@dataclass
class TreeMemory:
    """What the output and the spare copy beside it hold, as the last two builds left them."""

    output: Manifest | None = None
    output_id: str = ""
    spare: Manifest | None = None
    spare_id: str = ""

    def to_bytes(self) -> bytes:
        """A compact form to keep between builds (the cached files' common folder once)."""
        # Cached files are CACHE/kind/xx/key: keep CACHE/ once (anything else is kept whole).
        some = next((v for m in (self.output, self.spare) if m for v in m.values()), "")
        prefix = some.rsplit(os.sep, 3)[0] + os.sep if some.count(os.sep) > 3 else "\0"

        def short(manifest: Manifest | None) -> dict[str, str] | None:
            if manifest is None:
                return None
            cut = len(prefix)
            return {k: v[cut:] if v.startswith(prefix) else "\0" + v for k, v in manifest.items()}

        # After a first build both trees hold the same files: kept once. After an update the
        # spare holds the site before it, which differs in a few files: kept as those.
        spare: Any = None
        if self.spare is not None and self.output is not None:
            output = self.output
            differ = {k: v for k, v in self.spare.items() if output.get(k) != v}
            gone = [k for k in output if k not in self.spare]
            if not differ and not gone:
                spare = "="
            elif len(differ) + len(gone) < len(output) // 2:
                spare = ("+", short(differ), gone)
        if spare is None:
            spare = short(self.spare)
        return marshal.dumps((prefix, short(self.output), self.output_id, spare, self.spare_id))

    @classmethod
    def from_bytes(cls, data: bytes) -> TreeMemory:
        """The TreeMemory that to_bytes() was called on."""
        prefix, output, output_id, spare, spare_id = marshal.loads(data)

        def full(manifest: dict[str, str] | None) -> Manifest | None:
            if manifest is None:
                return None
            return {k: v[1:] if v[:1] == "\0" else prefix + v for k, v in manifest.items()}

        output = full(output)
        if spare == "=":
            spare = dict(output or {})
        elif isinstance(spare, tuple):  # the files that differ from the output's
            _, differ, gone = spare
            spare = dict(output or {})
            for path in gone:
                del spare[path]
            spare.update(full(differ) or {})
        else:
            spare = full(spare)
        return cls(output, output_id, spare, spare_id)


@contextmanager
def output_lock(
    output: Path, should_stop: Callable[[], bool] | None = None, shown: str | None = None
) -> Iterator[None]:
    """Hold the lock of builds into `output`: one at a time (a pass of the service or of
    cron, a person's `publisher build` or `serve`). Two at once would each update and swap
    in the spare copy, and could leave a mix of both sites, or pages missing, in place.
    While another build holds it, say so and wait; with `should_stop` (a publishing pass),
    raise Stopped as soon as it says so. `shown`: the folder as messages name it.

    The lock is a file beside the output (`.NAME.lock`): the folders themselves are swapped
    and deleted, so a lock on one of them would not keep out a build that opened another."""
    from publisher.ownership import make_folders

    make_folders(output.parent)
    fd = os.open(output.with_name(f".{output.name}.lock"), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        _lock_builds(fd, shown or str(output), should_stop)
        yield
    finally:
        os.close(fd)


def _lock_builds(fd: int, output: str, should_stop: Callable[[], bool] | None) -> None:
    """Take the builds' lock on `fd` (let go by the system when the build dies, even by
    kill -9), saying so when another build has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        log.info(
            "waiting for another build into %s to finish (a publishing pass's ends when its "
            "deploy command does)",
            output,
        )
    except OSError:
        return  # no locks on this file system (as the spare copy's lock, see _spare_lock)
    # A blocking flock cannot be cut short by a signal or by the service's stop (another
    # thread), so a build that may be told to stop asks again and again instead.
    while True:
        if should_stop is not None and should_stop():
            raise Stopped(f"told to stop while another build into {output} ran: nothing built")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if should_stop is None else fcntl.LOCK_NB))
            return
        except BlockingIOError:
            time.sleep(LOCK_RETRY_SECONDS)


def cannot_write_site(output: Path) -> str | None:
    """What of the site's folders this user may not write (the output, the spare copy
    beside it, the builds' lock, their folder), whose they are and the command that mends
    it, all at once; None when it may write them all. A build run once as root leaves them
    all root's: naming one a run, the service failed on the next after each mend."""
    from publisher.ownership import cannot_write

    near = [output, spare_folder(output), output.with_name(f".{output.name}.lock")]
    return cannot_write([output.parent, *(path for path in near if os.path.lexists(path))])


def spare_folder(output: Path) -> Path:
    """Where the previous site is kept, and the next one is made."""
    return output.with_name(f".{output.name}.previous")


def first_staging(output: Path) -> Path | None:
    """The folder a first build may link its pages into while it renders them, or None.

    Only when there is neither a site nor a spare copy: then nothing is at stake, and the
    pages can be put in place by the processes that render them. write_linked_tree is told
    what was put there (`staged`) and does the rest."""
    spare = spare_folder(output)
    if output.exists() or os.path.lexists(spare):
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    spare.mkdir()
    return spare


def stage_files(staging: Path, folder: str, files: Iterable[tuple[str, str]]) -> None:
    """Link (name, cached file) pairs into staging/folder/: see first_staging."""
    target = os.path.join(staging, folder)
    _make_folder(target)
    for name, blob in files:
        _link(blob, os.path.join(target, name))


def _make_folder(folder: str) -> None:
    """os.makedirs(folder, exist_ok=True), with one call where the parent is there (makedirs
    asks about the parent first: a system call per post in a first build)."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def write_linked_tree(
    manifest: dict[str, str] | dict[str, Path],
    output: Path,
    memory: TreeMemory | None,
    staged: Manifest | None,
    later: list[Callable[[], object]],
) -> tuple[WriteStats, TreeMemory]:
    """Make `output` hold exactly `manifest` (site path -> cached file), swapped in whole.

    Each site file is a hard link to a cached file that is named by its content, so an
    unchanged file is the very same file (its timestamp stays). When nothing changed,
    nothing is touched. Otherwise the previous site, kept beside the output as
    `.NAME.previous`, is brought up to date (only the files that differ) and swapped in
    with one rename, so readers see the old site or the new one, never a mix. `memory`
    (what the last builds wrote) spares walking both trees; it is trusted only when the
    tree's marker names the same build, so a crash at any point is never misread. `staged`:
    what this build already linked into the spare folder (first_staging). `later`: where
    to leave the start of the spare copy a first build makes in the background
    (copy_spare_later), for the caller to run once it has done its own work: a forked copy
    shares this process's memory until it ends, and every page this process writes meanwhile
    is copied for it (on 1,000 posts, the rest of a first build took 0.1 s longer).
    """
    check_output_folder(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for relative in manifest:
        if relative == MARKER or relative.startswith("/") or ".." in relative.split("/"):
            raise PublisherError(f"refusing to write outside the output folder: {relative!r}")
    wanted: Manifest = {path: str(source) for path, source in manifest.items()}
    wanted_id = manifest_id(wanted)
    memory = memory or TreeMemory()
    spare = spare_folder(output)
    output_id = _marker_id(output)
    if memory.output is not None and output_id == memory.output_id:
        present, present_id = memory.output, output_id
    else:
        present, present_id = _read_tree(output, wanted), output_id or ""
    stats = WriteStats(files=len(wanted) + 1)
    stats.changed_paths = [p for p, blob in wanted.items() if present.get(p) != blob]
    stats.changed = len(stats.changed_paths)
    stats.unchanged = stats.files - stats.changed
    if output_id is not None and not stats.changed and present.keys() == wanted.keys():
        if output_id != wanted_id:
            _write_marker(output, wanted_id)  # the files are right; record that they are
        return stats, TreeMemory(wanted, wanted_id, memory.spare, memory.spare_id)
    stats.changed += 1  # the marker
    stats.unchanged -= 1
    with _spare_lock(spare):  # a copy still being made in the background is finished first
        try:
            spare_id = _marker_id(spare)
            if memory.spare is not None and spare_id == memory.spare_id and spare_id:
                spare_has = memory.spare
            elif staged is not None and spare_id is None and spare.is_dir():
                spare_has = dict(staged)
            else:
                if spare.exists() and spare_id is None:
                    shutil.rmtree(spare)
                spare.mkdir(exist_ok=True)
                spare_has = _read_tree(spare, wanted)
            # From here until its marker is written again the spare copy is not trusted.
            (spare / MARKER).unlink(missing_ok=True)
            spare_has.pop(MARKER, None)
            _update(spare, spare_has, wanted)
            _write_marker(spare, wanted_id)
            _swap_in(spare, output)
        except BaseException:
            # The spare copy may be half-updated: drop it; the site itself is untouched.
            shutil.rmtree(spare, ignore_errors=True)
            raise
    if not present_id:
        # No old site came out of the swap (a first build): the spare is made a copy of this
        # one, and is trusted once its marker says so (a copy not made has none).
        later.append(partial(copy_spare_later, spare, wanted, wanted_id))
        return stats, TreeMemory(wanted, wanted_id, wanted, wanted_id)
    return stats, TreeMemory(wanted, wanted_id, present, present_id)


@contextmanager
def _spare_lock(spare: Path) -> Iterator[None]:
    """Hold the spare folder's lock (see copy_spare_later); nothing to hold if it is not there."""
    try:
        fd = os.open(spare, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks on this file system: then no copy can have been started either
        yield
    finally:
        os.close(fd)


def wait_for_spare(output: Path) -> None:
    """Wait until no copy of the site is being made in the background."""
    with _spare_lock(spare_folder(output)):
        pass


def copy_spare_later(spare: Path, manifest: Manifest, build_id: str) -> bool:
    """Start making the empty `spare` folder a copy of the site (`manifest`) in the background.

    After a first build the spare folder is empty, and the next update would first have to
    link every file of the site into it (on 10,000 posts, 24,000 links and 14,000 folders:
    over a second). That copy is made now, while nobody waits: in a detached process (in a
    process running other threads, where forking is not safe, one started afresh), which holds the
    spare folder's lock until the copy and its marker are written. The next update takes the
    lock first, so it waits for a copy still being made, and trusts the copy only if its
    marker names this build: a copy cut short is made again the usual way.
    Returns False when the copy could not be started (the next update then makes it).
    """
    try:
        fd = os.open(spare, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with os.scandir(fd) as entries:
            if next(entries, None) is not None:
                # not empty (an old site from before markers named builds): a copy made
                # here would keep whatever else is in it; the next update sorts it out
                raise FileExistsError(spare)
    except OSError:
        os.close(fd)
        return False
    if threading.active_count() > 1:
        return _copy_in_new_process(fd, manifest, build_id)
    try:
        child = os.fork()
    except OSError:
        os.close(fd)
        return False
    if child == 0:  # pragma: no cover - runs in the forked process
        code = 1
        try:
            if os.fork() == 0:  # the grandchild, whom nobody waits for, makes the copy
                os.setsid()
                _keep_only(fd)
                os.nice(10)
                _copy_tree(fd, manifest, build_id)
                code = 0
            else:
                code = 0
        finally:
            os._exit(code)
    os.waitpid(child, 0)
    os.close(fd)  # the grandchild holds the lock now
    return True


def _copy_in_new_process(fd: int, manifest: Manifest, build_id: str) -> bool:
    """copy_spare_later's copy in a process running other threads (the service, `serve`),
    where forking is not safe: made by a Python started afresh, handed the locked folder
    (it holds the lock until the copy is made) and the manifest on its standard input. A
    thread of this process made it before: it shared the interpreter with the service's
    own threads (its web server) for a second or two, and held 40 MB meanwhile."""
    code = "from publisher.output import copy_from_input; copy_from_input()"
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(fd), build_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(fd,),
            start_new_session=True,
        )
    except OSError:
        os.close(fd)
        return False
    try:
        assert child.stdin is not None
        with child.stdin:
            child.stdin.write(marshal.dumps(manifest))
    except OSError:
        pass  # it ended at once: the copy has no marker, and is made the usual way
    finally:
        os.close(fd)  # the child holds the lock now
    # reaped when it ends (a waiting thread allocates nothing meanwhile)
    threading.Thread(target=child.wait, name="spare copy", daemon=True).start()
    return True


def copy_from_input() -> None:
    """The process _copy_in_new_process starts: the folder's descriptor and the build's id
    are its arguments, the manifest its standard input."""
    fd, build_id = int(sys.argv[1]), sys.argv[2]
    manifest = marshal.loads(sys.stdin.buffer.read())
    os.nice(10)
    try:
        _copy_tree(fd, manifest, build_id)
    except OSError:
        pass  # the next update makes the copy the usual way
    finally:
        os.close(fd)


def _keep_only(keep: int) -> None:
    """Close every file the process inherited but `keep`; standard input and output become
    /dev/null (a caller reading the build's output must not wait for the copy, and a lock
    such as the publishing pass's must not outlive the build)."""
    null = os.open(os.devnull, os.O_RDWR)
    for standard in (0, 1, 2):
        os.dup2(null, standard)
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _copy_tree(fd: int, manifest: Manifest, build_id: str) -> None:
    """Link every file of `manifest` into the folder open as `fd`, then write its marker.

    Paths are taken relative to the open folder: if it is deleted meanwhile, nothing is
    made anywhere else."""
    made: set[str] = set()
    for relative, blob in manifest.items():
        parent = os.path.dirname(relative)
        if parent and parent not in made:
            parts = parent.split("/")
            for end in range(1, len(parts) + 1):
                folder = "/".join(parts[:end])
                if folder not in made:
                    try:
                        os.mkdir(folder, dir_fd=fd)
                    except FileExistsError:
                        pass
                    made.add(folder)
        try:
            os.link(blob, relative, dst_dir_fd=fd)
        except FileExistsError:
            os.unlink(relative, dir_fd=fd)
            os.link(blob, relative, dst_dir_fd=fd)
    temporary = MARKER + ".tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
    with os.fdopen(handle, "wb") as file:
        file.write(MARKER_TEXT + f"build: {build_id}\n".encode())
    os.replace(temporary, MARKER, src_dir_fd=fd, dst_dir_fd=fd)


def _write_marker(tree: Path, build_id: str) -> None:
    temporary = tree / (MARKER + ".tmp")
    temporary.write_bytes(MARKER_TEXT + f"build: {build_id}\n".encode())
    os.replace(temporary, tree / MARKER)


def _read_tree(root: Path, wanted: Manifest) -> Manifest:
    """What a tree holds, by looking: a file that is a link to the wanted cached file counts as
    that file; anything else is marked as different."""
    if not root.is_dir():
        return {}
    held: Manifest = {}
    inodes: dict[str, int] = {}
    for relative, info in _walk_files(root).items():
        if relative == MARKER:
            continue
        blob = wanted.get(relative)
        if blob is not None:
            if blob not in inodes:
                try:
                    inodes[blob] = os.stat(blob).st_ino
                except OSError:
                    inodes[blob] = -1
            if inodes[blob] == info.st_ino:
                held[relative] = blob
                continue
        held[relative] = ""  # present, but not what is wanted
    return held


def _update(tree: Path, has: Manifest, wanted: Manifest) -> None:
    """Make `tree` (holding `has`) hold exactly `wanted`, touching only what differs."""
    emptied: set[Path] = set()
    for relative, blob in has.items():
        if wanted.get(relative) != blob:
            try:
                os.unlink(tree / relative)
            except FileNotFoundError:
                pass
            emptied.add((tree / relative).parent)
    made: set[str] = set()
    root = str(tree)
    for relative, blob in wanted.items():
        if has.get(relative) == blob:
            continue
        target = os.path.join(root, relative)
        parent = os.path.dirname(relative)
        if parent and parent not in made:
            _make_folder(os.path.join(root, parent))
            made.add(parent)
        _link(blob, target)
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while folder != tree and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
