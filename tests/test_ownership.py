"""A server where the service runs as its own user: commands that only look make no ledger,
and a ledger the user cannot write is named, with whose it is and what to do."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Project

POST = (
    "title: Back pain\nslug: back\ndate: 2026-11-03 09:00\nimage: images/a.jpg\nimage_alt: A room"
)
SERVICE_USER = "nobody"  # stands for the `publisher` user of the README


def _ids(user: str) -> tuple[int, int]:
    """The user id and group id of `user`."""
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def as_user(user: str) -> list[str]:
    """The command that runs what follows it as `user` (from root)."""
    uid, gid = _ids(user)
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]


def publisher(project: Project, *args: str, user: str | None = None):
    """`publisher ARGS` as a real process, as `user` (switched to from root) if given."""
    switch = as_user(user) if user else []
    return subprocess.run(
        [*switch, sys.executable, "-m", "publisher", "--config", str(project.config_path), *args],
        capture_output=True,
        text=True,
        cwd=project.root,
        timeout=120,
    )


def test_commands_that_only_look_make_no_ledger(project):
    """status and calendar run (as root, say) before the first pass used to make publisher.db,
    root's, which the service's user then could not write."""
    project.image("images/a.jpg")
    project.post("back.md", POST)
    ledger = project.root / "publisher.db"

    status = publisher(project, "status")
    calendar = publisher(project, "calendar", "--all", "--now", "2026-11-01T09:00")
    check = publisher(project, "check")
    retry = publisher(project, "retry", "1")

    assert status.returncode == 0, status.stderr
    # every delivery the calendar plans, as it stands without a pass
    rows = [line.split()[3:5] for line in status.stdout.splitlines() if " back " in line]
    assert [channel for channel, _ in rows] == ["website", "facebook"]
    assert "No publishing pass has run yet (publisher.db does not exist)" in status.stderr
    assert calendar.returncode == 0, calendar.stderr
    assert "back" in calendar.stdout and "scheduled" in calendar.stdout
    assert "No publishing pass has run yet" in calendar.stderr
    assert check.returncode == 0, check.stderr
    assert retry.returncode == 1
    assert "there is no delivery 1: no publishing pass has run yet" in retry.stderr
    assert [p.name for p in project.root.iterdir() if p.name.startswith("publisher.db")] == []
    assert not ledger.exists()


def test_json_status_without_a_ledger_lists_every_delivery_as_not_tried(project):
    project.image("images/a.jpg")
    project.post("back.md", POST)
    result = publisher(project, "status", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"attempts": 0') == 2  # website, facebook (no Instagram here)
    assert '"id": null' in result.stdout
    assert not (project.root / "publisher.db").exists()


@pytest.fixture
def server_project() -> Iterator[Project]:
    """A project in a folder the service's user owns and others may read (tmp_path is
    root's alone), as /srv/publisher is."""
    if os.geteuid() != 0:
        pytest.skip("switching to the service's user needs root")
    probe = subprocess.run(
        [*as_user(SERVICE_USER), sys.executable, "-c", "import publisher"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    if probe.returncode != 0:
        pytest.skip(f"{SERVICE_USER} cannot run this checkout's Python: {probe.stderr.strip()}")
    folder = Path(tempfile.mkdtemp(prefix="publisher-server-"))
    try:
        folder.chmod(0o755)
        project = Project(folder / "srv")
        project.image("images/a.jpg")
        project.post("back.md", POST)
        for path in [project.root, *project.root.rglob("*")]:
            os.chown(path, *_ids(SERVICE_USER))
        yield project
    finally:
        shutil.rmtree(folder)


def test_a_ledger_root_made_names_the_file_its_owner_and_the_user(server_project):
    """A pass run once as root leaves publisher.db and its lock root's: the service's pass
    says which files, whose they are, who it runs as, and the commands that put it right."""
    project = server_project
    ledger = project.root / "publisher.db"
    as_root = publisher(project, "publish", "--due", "--now", "2026-11-03T09:00")
    assert ledger.stat().st_uid == 0, as_root.stderr

    result = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)

    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert f"{ledger} (owner root, mode 644)" in error
    assert f"{ledger}.lock (owner root, mode 600)" in error
    assert f"publisher is running as {SERVICE_USER}" in error
    assert f"sudo chown {SERVICE_USER}: {ledger} {ledger}.lock" in error
    assert f"sudo -u {SERVICE_USER} .venv/bin/publisher status" in error
    assert "run it again" not in error

    # the rest given back, the ledger itself still root's: the pass's first write names it
    for path in [project.root, *project.root.rglob("*")]:
        if path != ledger:
            os.chown(path, *_ids(SERVICE_USER), follow_symlinks=False)
    again = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert again.returncode == 1
    error = again.stderr.strip().splitlines()[-1]
    assert f"{ledger}: the ledger cannot be written (attempt to write a readonly database)" in error
    assert f"{ledger} (owner root, mode 644)" in error
    assert f"sudo chown {SERVICE_USER}: {ledger} " in error

    # given back too, it is read by status run as root, which leaves nothing root's beside it
    os.chown(ledger, *_ids(SERVICE_USER))
    passed = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert passed.returncode == 0, passed.stderr
    status = publisher(project, "status")
    assert status.returncode == 0 and "dry-run" in status.stdout, status.stderr
    owners = {p.name: p.stat().st_uid for p in project.root.glob("publisher.db*")}
    assert set(owners.values()) == {_ids(SERVICE_USER)[0]}, owners


def test_a_command_run_as_root_in_the_services_project_stops_before_it_makes_a_file(
    server_project,
):
    """A pass run by hand as root, in a project whose ledger the service made, worked and
    said nothing, and left root's files (the cache's templates, pages linked into public/,
    the deploy's copies): the service's next deploy failed on them with rsync's error
    alone. Such a command now stops at once and says as whom to run it; a command that
    only looks still runs as root."""
    project = server_project
    first = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert first.returncode == 0, first.stderr
    project.post("back.md", POST, "Edited since.\n")
    for command in (
        ("publish", "--due", "--now", "2026-11-03T10:05"),
        ("build",),
        ("retry", "1"),
        ("new", "Hip flexors"),
    ):
        result = publisher(project, *command)
        assert result.returncode == 1, (command, result.stdout)
        assert "publisher is running as root, but this project is nobody's (its ledger " in (
            result.stderr
        ), result.stderr
        assert f"sudo -u {SERVICE_USER} .venv/bin/publisher " in result.stderr
    roots = [path for path in [project.root, *project.root.rglob("*")] if path.lstat().st_uid == 0]
    assert roots == [], roots
    status = publisher(project, "status")
    assert status.returncode == 0, status.stderr


def test_a_read_only_ledger_is_named_with_what_to_do(server_project):
    """The same for a ledger whose own user may not write it (chmod 444). Run as the
    service's user: root writes a read-only file all the same."""
    project = server_project
    ledger = project.root / "publisher.db"
    first = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert first.returncode == 0, first.stderr
    ledger.chmod(0o444)
    try:
        result = publisher(project, "retry", "2", user=SERVICE_USER)
    finally:
        ledger.chmod(0o644)
    assert result.returncode == 1
    assert f"{ledger}: the ledger cannot be written" in result.stderr
    assert "(owner " in result.stderr and "mode 444" in result.stderr
    assert f"chmod u+w {ledger}" in result.stderr


def test_a_build_cache_root_made_is_named_and_kept_not_started_again(server_project):
    """`sudo publisher build` leaves the build cache root's. The service's builds and passes
    took its index, which they could not write, for a damaged one, and started it again
    (deleting it where the folder let them, else failing on the deletion). They now say
    the cache cannot be written, whose it is and what to do, and leave it and the website
    as they were."""
    project = server_project
    build = ("build", "--now", "2026-11-03T10:00", "--output", "public")
    as_root = publisher(project, *build)
    assert as_root.returncode == 0, as_root.stderr
    cache, index = project.root / ".cache", project.root / ".cache" / "build-index.sqlite"
    assert index.stat().st_uid == 0
    kept, site = index.read_bytes(), project.files()
    project.post("back.md", POST, "Edited since.\n")

    for command in (build, ("publish", "--due", "--now", "2026-11-03T10:00")):
        result = publisher(project, *command, user=SERVICE_USER)
        assert result.returncode == 1, result.stdout + result.stderr
        # (after the time it was said, as every line of a cron log has)
        error = result.stderr.strip().splitlines()[-1].partition(" error: ")[2]
        assert error.startswith(
            f"the build cache in {cache} cannot be written (attempt to write a readonly database): "
        ), result.stderr
        assert f"{index} (owner root, mode 644)" in error
        assert f"sudo chown {SERVICE_USER}: -R {cache} " in error
        assert f"or delete {cache} (the cache is safe to delete" in error
        assert "damaged" not in error and "Permission denied" not in error
        assert index.read_bytes() == kept and index.stat().st_uid == 0
        assert project.files() == site

    for path in [project.root, *project.root.rglob("*")]:
        os.chown(path, *_ids(SERVICE_USER), follow_symlinks=False)
    mended = publisher(project, *build, user=SERVICE_USER)
    assert mended.returncode == 0, mended.stderr
    assert "Edited since." in (project.output / "posts" / "back" / "index.html").read_text()


@pytest.mark.parametrize("root_made", ["file", "folder"])
def test_a_secrets_file_the_service_cannot_read_names_its_owner_and_the_fix(
    server_project, root_made
):
    """The secrets file written as root (chmod 600, as it should be) or kept in a folder
    only root may open: the service's user is told whose it is and the chown that mends it."""
    project = server_project
    project.write_config('[graph]\nsecrets_file = "secrets/publisher.env"\n')
    folder = project.root / "secrets"
    folder.mkdir(mode=0o700 if root_made == "folder" else 0o755)
    secrets = folder / "publisher.env"
    secrets.write_text("PUBLISHER_FACEBOOK_TOKEN=EAAsecret\n")
    secrets.chmod(0o600)
    os.chown(secrets if root_made == "folder" else folder, *_ids(SERVICE_USER))
    blocked, mode = (folder, 700) if root_made == "folder" else (secrets, 600)
    chown = f"-R {folder}" if root_made == "folder" else str(secrets)

    for command in (("check",), ("accounts",)):
        result = publisher(project, *command, user=SERVICE_USER)
        assert result.returncode == 1
        said = result.stdout + result.stderr
        assert f"[graph.secrets_file] the secrets file {secrets} cannot be read: " in said, said
        assert (
            f"publisher is running as {SERVICE_USER} and cannot read {blocked} "
            f"(owner root, mode {mode}): give it back to {SERVICE_USER} with  "
            f"sudo chown {SERVICE_USER}: {chown}  and run"
        ) in said, said
        assert "EAAsecret" not in said


def test_a_folder_to_make_in_a_system_folder_is_made_for_the_user_never_chowned(
    server_project,
):
    """The ledger set to /var/lib/publisher/publisher.db before that folder was made: the
    advice was `sudo chown -R publisher: /var/lib`, which gives the machine's files away."""
    import grp

    project = server_project
    system = project.root.parent / "var-lib"  # stands for /var/lib: root's, others may read
    system.mkdir(mode=0o755)
    wanted = system / "publisher"
    project.config_path.write_text(
        project.config_path.read_text() + f'\n[publish]\nledger = "{wanted}/publisher.db"\n'
    )
    result = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert result.returncode == 1
    group = grp.getgrgid(_ids(SERVICE_USER)[1]).gr_name
    error = result.stderr.strip().splitlines()[-1]
    assert f"cannot make {wanted} in {system} (owner root, mode 755)" in error, error
    assert f"sudo install -d -o {SERVICE_USER} -g {group} {wanted}" in error
    assert "chown" not in error
    subprocess.run(["install", "-d", "-o", SERVICE_USER, "-g", group, str(wanted)], check=True)
    passed = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert passed.returncode == 0, passed.stderr
    assert (wanted / "publisher.db").stat().st_uid == _ids(SERVICE_USER)[0]


def test_a_system_folder_is_never_given_away():
    from publisher.ownership import _advice

    said = _advice([(Path("/var"), os.stat("/var"))], "write")
    assert "a folder of the system" in said and "chown" not in said


def test_status_of_a_ledger_it_may_not_read_names_the_file_and_the_fix(server_project):
    """`publish` named the file, its owner and the chown; `status` and `calendar` said
    only that "a database could not be written"."""
    project = server_project
    ledger = project.root / "publisher.db"
    assert publisher(project, "publish", "--due", "--now", "2026-11-03T10:00").returncode == 0
    ledger.chmod(0o600)  # root's, as a pass run as root leaves it
    for command in (("status",), ("calendar", "--all")):
        result = publisher(project, *command, user=SERVICE_USER)
        assert result.returncode == 1, result.stdout
        assert f"{ledger} (owner root, mode 600)" in result.stderr, result.stderr
        assert f"sudo chown {SERVICE_USER}: {ledger}" in result.stderr
        assert "could not be written" not in result.stderr


def test_a_site_root_built_names_its_folders_at_once_and_stays_mended(server_project):
    """`sudo publisher build` leaves public/, the spare copy beside it and the builds' lock
    root's. The service's builds named one a run (the ledger, the cache, the spare copy),
    never public/; after the spare copy alone was given back, the next build swapped
    root's public/ into its place and failed again at the edit after."""
    project = server_project
    build = ("build",)
    for _ in range(2):  # the second swaps: the spare copy is there for sure
        as_root = publisher(project, *build)
        assert as_root.returncode == 0, as_root.stderr
    site = [project.output, project.root / ".public.previous", project.root / ".public.lock"]
    assert all(path.stat().st_uid == 0 for path in site)
    for path in [project.root, *project.root.rglob("*")]:  # the cache given back already
        if not any(path == s or s in path.parents for s in site):
            os.chown(path, *_ids(SERVICE_USER), follow_symlinks=False)
    result = publisher(project, *build, user=SERVICE_USER)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert "the website cannot be built: publisher is running as nobody" in error, error
    names = " ".join(str(path) for path in site)
    assert f"sudo chown {SERVICE_USER}: -R {names} " in error, error
    for top in site:
        for path in [top, *(top.rglob("*") if top.is_dir() else ())]:
            os.chown(path, *_ids(SERVICE_USER), follow_symlinks=False)
    for text in ("Edited once.\n", "Edited twice.\n"):
        project.post("back.md", POST, text)
        mended = publisher(project, *build, user=SERVICE_USER)
        assert mended.returncode == 0, mended.stderr
        assert text.strip() in (project.output / "posts" / "back" / "index.html").read_text()


def test_a_project_folder_root_owns_is_given_back_never_filled_with_folders(server_project):
    """The project cloned as root: the ledger's own files (publisher.db-wal...) are files
    SQLite makes beside it, never folders to make with install -d."""
    project = server_project
    assert publisher(project, "publish", "--due", "--now", "2026-11-03T10:00").returncode == 0
    os.chown(project.root, 0, 0)
    result = publisher(project, "publish", "--due", "--now", "2026-11-03T10:00", user=SERVICE_USER)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert f"sudo chown {SERVICE_USER}: " in error and str(project.root) in error, error
    assert "install -d" not in error


def test_a_photo_or_template_it_may_not_read_says_read_not_write(server_project):
    """A photo copied in with mode 600 by another user: the error said publisher cannot
    *write* it (chmod u+w), and check stopped at it without listing the other posts. The
    photo is now the post's problem, and a template's names reading."""
    project = server_project
    project.post("other.md", "title: Other\ndate: 2026-11-03 09:00\ntags: [a")
    photo = project.posts / "images/a.jpg"
    photo.chmod(0o000)
    check = publisher(project, "check", user=SERVICE_USER)
    assert check.returncode == 1 and "Traceback" not in check.stderr, check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].startswith(
        "posts/back.md:5: image 'images/a.jpg' cannot be read: publisher, running as nobody, "
        f"cannot read {photo} (owner nobody, mode 0): chmod u+r {photo}"
    ), check.stdout
    assert lines[1].startswith("posts/other.md:"), check.stdout  # the others still checked
    photo.chmod(0o644)
    project.post("other.md", "title: Other\ndate: 2026-11-03 09:00")
    template = Path(project.config.templates_dir) / "site/base.html"
    copy = project.root / "templates"
    shutil.copytree(template.parent.parent, copy)
    text = project.config_path.read_text().replace(str(template.parent.parent), "templates")
    project.config_path.write_text(text)
    for path in [copy, *copy.rglob("*")]:
        os.chown(path, *_ids(SERVICE_USER))
    (copy / "site/base.html").chmod(0o000)
    build = publisher(project, "build", user=SERVICE_USER)
    assert build.returncode == 1 and "Traceback" not in build.stderr, build.stderr
    assert "cannot read" in build.stderr and "chmod u+r" in build.stderr, build.stderr
    assert "u+w" not in build.stderr, build.stderr


def test_a_disks_lost_and_found_in_the_posts_folder_stops_nothing(server_project):
    """posts/ on a disk of its own has the disk's lost+found, root's, mode 700: an
    unlistable folder stops builds, but not that one."""
    project = server_project
    (project.posts / "lost+found").mkdir(mode=0o700)
    build = publisher(project, "build", user=SERVICE_USER)
    assert build.returncode == 0, build.stderr
    assert (project.output / "posts/back/index.html").exists()


def test_a_permission_error_under_a_folder_it_may_not_enter_is_described(server_project):
    """describe_failure asked whether the path is a file, which raises where a folder on
    the way may not be entered: the pass ended in a traceback instead of the fix."""
    locked = server_project.root / ".cache" / "images"
    locked.mkdir(parents=True)
    locked.chmod(0o700)  # root's, as a command run as root with umask 077 leaves it
    code = (
        "from publisher.exceptions import describe_failure; "
        f"print(describe_failure(PermissionError(13, 'Permission denied', '{locked}/a.jpg')))"
    )
    said = subprocess.run(
        [*as_user(SERVICE_USER), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert said.returncode == 0, said.stderr
    assert f"cannot write {locked} (owner root, mode 700)" in said.stdout, said.stdout


@pytest.mark.parametrize("which", ["posts", "posts/2025"])
def test_a_posts_folder_it_may_not_list_stops_the_build_and_keeps_the_site(server_project, which):
    """posts/ (or a folder in it) that the service's user may not list: its posts were left
    out as if deleted, or the build said the folder holds no posts and to run
    build --allow-empty."""
    project = server_project
    older = project.post("2025/old.md", "title: Old\ndate: 2025-11-03 09:00")
    for path in (older.parent, older):
        os.chown(path, *_ids(SERVICE_USER))
    assert publisher(project, "build", user=SERVICE_USER).returncode == 0
    pages = sorted(p.parent.name for p in (project.output / "posts").glob("*/index.html"))
    (project.root / which).chmod(0o300)
    for command in (("build",), ("check",), ("publish", "--due")):
        result = publisher(project, *command, user=SERVICE_USER)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"the posts folder {project.root / which} cannot be read (publisher, " in (
            result.stderr
        ), result.stderr
        assert "allow-empty" not in result.stderr, result.stderr
    kept = sorted(p.parent.name for p in (project.output / "posts").glob("*/index.html"))
    assert kept == pages == ["back", "old"]
