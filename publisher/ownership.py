"""Who may write publisher's files, in words for a person when the user running it cannot.

On a server the service runs as its own user; a command run once as root (or as another
person) can leave a file there that this user cannot write. The error then says whose
the file is, who publisher is running as, and the command that puts it right.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat
from collections.abc import Iterable
from pathlib import Path

from publisher.exceptions import PublisherError

# How a person runs publisher on the server, from the project folder (the README's words).
COMMAND = ".venv/bin/publisher status"


# Folders of the system itself: a path publisher may not write there is never mended by
# giving the folder away (`chown -R /var/lib` would break the machine)
SYSTEM_FOLDERS = frozenset(
    "/ /bin /boot /dev /etc /home /lib /mnt /media /opt /proc /root /run /sbin /srv /sys "
    "/tmp /usr /usr/local /var /var/lib /var/cache /var/log /var/www /var/tmp".split()
)


def user_name(uid: int) -> str:
    """The name of a user id (the number itself when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def cannot_write(paths: Iterable[Path]) -> str | None:
    """What stops this process writing `paths` (files, or folders files are made in): whose
    they are, who publisher runs as and what to do; None when nothing does. Paths that do
    not exist are left out (name their folder too)."""
    blocked: list[tuple[Path, os.stat_result]] = []
    for path in dict.fromkeys(paths):
        try:
            info = path.stat()
        except OSError:
            continue
        need = os.W_OK | (os.X_OK if stat.S_ISDIR(info.st_mode) else 0)
        if not os.access(path, need):
            blocked.append((path, info))
    return _advice(blocked, "write") if blocked else None


def make_folders(folder: Path) -> None:
    """folder.mkdir(parents=True, exist_ok=True), or an error that says what to do: the
    first missing folder made for this user (install -d) when the one it goes in is not its
    own and neither is that one's (/var/lib/publisher in /var/lib: the system's folder is
    never given away), else the folder it goes in given back (a project folder root made)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        wanted = folder
        while not wanted.parent.exists():
            wanted = wanted.parent
        parent = wanted.parent
        info = parent.stat()
        if str(parent) in SYSTEM_FOLDERS or not os.access(parent.parent, os.W_OK):
            advice = _make_for_me(wanted, parent, info)
        else:
            advice = _advice([(parent, info)], "write")
        raise PublisherError(f"the folder {folder} cannot be made: {advice}") from None


def _make_for_me(wanted: Path, folder: Path, info: os.stat_result) -> str:
    """What to do when this user must make `wanted` in `folder`, which it may not write."""
    me = user_name(os.geteuid())
    try:
        group = grp.getgrgid(os.getegid()).gr_name
    except KeyError:
        group = str(os.getegid())
    return (
        f"publisher is running as {me} and cannot make {wanted} in {folder} (owner "
        f"{user_name(info.st_uid)}, mode {stat.S_IMODE(info.st_mode):o}): make it for {me} "
        f"with  sudo install -d -o {me} -g {group} {shlex.quote(str(wanted))}"
    )


def refuse_root_in_a_users_project(ledger: Path, command: str) -> None:
    """Stop a command run as root (sudo, by mistake) in a project whose ledger is another
    user's, the service's: the files root would make there (the site, the build cache, the
    ledger's own, the deploy's copies) that user could not change afterwards, and the
    service's next build or deploy would fail on them. `command`: the words after
    `publisher`, for the advice."""
    if os.geteuid() != 0:
        return
    try:
        owner = ledger.stat().st_uid
    except OSError:
        return  # no ledger yet: nobody's project to spoil
    if owner == 0:
        return
    name = user_name(owner)
    raise PublisherError(
        f"publisher is running as root, but this project is {name}'s (its ledger {ledger} "
        f"is): what root would make here (the website's files, the build cache, the "
        f"ledger's own files, the deploy's copies) {name}'s service could not change, and "
        f"its next build or deploy would fail on them. Run it as {name}:  sudo -u {name} "
        f".venv/bin/publisher {command}"
    )


def cannot_read(path: Path) -> str | None:
    """What stops this process reading `path` (the file, or a folder on the way to it that
    it may not open), as cannot_write says it; None when nothing does."""
    folders = [  # (os.path: a folder below one that may not be entered is no error)
        p for p in reversed(path.parents) if os.path.isdir(p) and not os.access(p, os.X_OK)
    ]
    blocked = folders[0] if folders else path
    try:
        info = blocked.stat()
    except OSError:
        return None
    if not folders and os.access(path, os.R_OK):
        return None
    return _advice([(blocked, info)], "read")


def _advice(blocked: list[tuple[Path, os.stat_result]], verb: str) -> str:
    """Whose the `blocked` paths are, who publisher runs as, and the command that lets it
    `verb` (read or write) them."""
    me = user_name(os.geteuid())
    said = ", ".join(
        f"{path} (owner {user_name(info.st_uid)}, mode {stat.S_IMODE(info.st_mode):o})"
        for path, info in blocked
    )
    names = " ".join(shlex.quote(str(path)) for path, _ in blocked)
    system = [str(path) for path, _ in blocked if str(path) in SYSTEM_FOLDERS]
    if system:  # never `chown -R /var`: the machine's own files are in it
        return (
            f"publisher, running as {me}, cannot {verb} {said}, a folder of the system: set "
            "the path in config.toml to a folder of the project, or to one made for "
            f"{me} inside it (sudo install -d -o {me} {system[0].rstrip('/')}/publisher)"
        )
    if any(stat.S_ISDIR(info.st_mode) for _, info in blocked):
        names = f"-R {names}"  # what a command made in a folder it made is its too
    owners = {info.st_uid for _, info in blocked}
    if owners == {os.geteuid()} or os.geteuid() == 0:
        if verb == "write" and any(_read_only_mount(path) for path, _ in blocked):
            return (
                f"{said}: the file system is read-only for publisher (mounted read-only, or "
                "ProtectSystem in its systemd unit): keep the project where it can write"
            )
        return f"publisher, running as {me}, cannot {verb} {said}: chmod u+{verb[0]} {names}"
    others = sorted(user_name(uid) for uid in owners - {os.geteuid()})
    text = f"publisher is running as {me} and cannot {verb} {said}"
    if others == ["root"]:
        # made by a command run as root: the service's user is the one that cannot use it
        return (
            f"{text}: give it back to {me} with  sudo chown {me}: {names}  and run "
            f"publisher's commands as {me}:  sudo -u {me} {COMMAND}"
        )
    owner = others[0]
    return (
        f"{text}: run publisher as {owner}, the user it belongs to:  sudo -u {owner} "
        f"{COMMAND}  (or, if {me} is the user that runs the service:  sudo chown {me}: {names})"
    )


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
