"""Shared fixtures: a throw-away project folder with the real templates and posts of our own."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from publisher.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
# The one place in the repository the tests may write (git-ignored). `make test` runs as root
# on the server: a file a test left anywhere else would be root's, and the service, which
# runs as its own user, could no longer write there.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ARTIFACTS / "hypothesis"))
# Not looked at for changes: git's, the virtualenv, `make bench`'s tools (and, anywhere,
# Python's __pycache__).
NOT_WATCHED = {".git", ".venv", "test-artifacts", "bench/work"}

BASE_CONFIG = """\
[site]
title = "Test Clinic"
base_url = "https://clinic.example"
timezone = "America/New_York"
templates = "{templates}"
posts_per_page = 2

[business]
name = "Test Clinic"
phone = "412-555-0100"
street = "1 Main Street"
city = "Pittsburgh"
region = "PA"
postal_code = "15205"
facebook_url = "https://www.facebook.com/testclinic"
instagram_url = "https://www.instagram.com/testclinic"
"""
# Most tests are about the website; the social tests switch Instagram on (it needs a photo).
WEBSITE_ONLY = (
    BASE_CONFIG
    + """
[instagram]
enabled = false
"""
)


class Project:
    """A project folder: config.toml, posts/ and the repository's templates."""

    def __init__(self, root: Path, extra_config: str = "", base: str | None = None):
        self.root = root
        self.posts = root / "posts"
        self.posts.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "config.toml"
        self.base = WEBSITE_ONLY if base is None else base
        self.write_config(extra_config)

    def write_config(self, extra: str = "", base: str | None = None) -> None:
        """Write config.toml: the base settings plus `extra` TOML."""
        text = (self.base if base is None else base).format(
            templates=(REPO / "templates").as_posix()
        )
        self.config_path.write_text(text + "\n" + textwrap.dedent(extra))

    @property
    def config(self) -> Config:
        """config.toml as publisher reads it."""
        return load_config(self.config_path)

    @property
    def output(self) -> Path:
        """The built site's folder."""
        return self.root / "public"

    def post(self, name: str, front: str, body: str = "Some text.\n") -> Path:
        """Write posts/NAME with the given front matter (YAML lines) and body."""
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "---\n" + textwrap.dedent(front).strip("\n") + "\n---\n" + body, encoding="utf-8"
        )
        return path

    def image(self, name: str, size: tuple[int, int] = (800, 500), color: str = "#7a9") -> Path:
        """Write a real JPEG (or PNG, by extension) under posts/."""
        path = self.posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, color).save(path)
        return path

    def files(self) -> dict[str, bytes]:
        """Every file of the built site, by path relative to the output folder."""
        return {
            p.relative_to(self.output).as_posix(): p.read_bytes()
            for p in sorted(self.output.rglob("*"))
            if p.is_file() and p.name != ".publisher-output"  # the marker names the build
        }


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project with the repository's templates."""
    return Project(tmp_path / "site")


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """Make more projects (each in its own folder)."""
    count = 0

    def make(extra_config: str = "", base: str | None = None) -> Project:
        nonlocal count
        count += 1
        return Project(tmp_path / f"site{count}", extra_config, base)

    return make


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots and other things a person may want to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


SEED_ARTICLE = "2025-10-21-psoas-back-pain.md"
SEED_PHOTO = "images/psoas-back-pain.jpg"
# The keys of config.toml that name something outside a test's own folder: the website, the
# ledger, the posts, the deploy, the Page and the account, the Graph API and its secrets.
# On the clinic's server `make test` runs as root in the live project, whose config.toml
# names the real ones: a test that used them would deploy a test site over the real one (as
# root, leaving files the service cannot replace), or reach the clinic's Page.
LIVE_KEYS = {
    "site": {"base_url", "posts", "templates", "output", "cache", "preview", "deploy_command"}
    | {"verify_live"},
    "facebook": {"page_id"},
    "instagram": {"account_id"},
    "publish": {"ledger"},
    "graph": {"url", "secrets_file"},
}


def shipped_config_text(text: str | None = None) -> str:
    """The repository's config.toml (or `text`) without the keys that name something
    outside a test's folder (LIVE_KEYS): each has its built-in default instead
    (http://127.0.0.1:8000, the project's own folders, no deploy, dry runs). Read as TOML
    and written again, so that however a key is written (quoted, a value on several lines)
    it goes; the comments go too."""
    if text is None:
        text = (REPO / "config.toml").read_text(encoding="utf-8")
    lines = []
    for table, values in tomllib.loads(text).items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            if key not in LIVE_KEYS.get(table, set()):
                lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    """A value of config.toml (text, a number, true or false, a list of them) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # (JSON's escapes are TOML's)


def seed_posts(folder: Path) -> Path:
    """A posts folder in `folder` holding the seed article and its photo; returns it."""
    posts = folder / "posts"
    (posts / "images").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "posts" / SEED_ARTICLE, posts)
    shutil.copy(REPO / "posts" / SEED_PHOTO, posts / "images")
    return posts


def repo_config(folder: Path) -> Config:
    """The repository's own config.toml (shipped_config_text) with the seed article: the
    posts, the site, the cache, the previews and the ledger are all in `folder`."""
    seed_posts(folder)
    (folder / "config.toml").write_text(shipped_config_text(), encoding="utf-8")
    config = load_config(folder / "config.toml")
    site = dataclasses.replace(config.site, templates=str(REPO / "templates"))
    return dataclasses.replace(config, site=site)


def repository_files() -> dict[str, tuple[int, int] | None]:
    """Every file (its modification time and size) and folder in the repository, but those
    in NOT_WATCHED."""
    found: dict[str, tuple[int, int] | None] = {}
    for folder, folders, files in os.walk(REPO):
        here = Path(folder).relative_to(REPO)
        folders[:] = [
            name
            for name in folders
            if name != "__pycache__" and (here / name).as_posix() not in NOT_WATCHED
        ]
        for name in folders:
            found[(here / name).as_posix() + "/"] = None
        for name in files:
            try:
                stat = (REPO / here / name).lstat()
            except FileNotFoundError:  # gone while we looked
                continue
            found[(here / name).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return found


@pytest.fixture(scope="session", autouse=True)
def repository_left_alone() -> Iterator[None]:
    """Fail the session when a test made, changed or deleted anything in the repository
    outside test-artifacts/: a test writes into its own tmp_path (see repo_config)."""
    before = repository_files()
    yield
    after = repository_files()
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p, 0) != after.get(p, 0))
    # a folder made or deleted whole is named, not everything in it
    whole = [p for p in changed if p.endswith("/")]
    shown = [p for p in changed if not any(p != w and p.startswith(w) for w in whole)]
    if shown:
        pytest.fail(
            f"the tests changed {', '.join(shown[:10])}{' ...' if len(shown) > 10 else ''} "
            f"in the repository ({REPO})"
            ". Run as root (make test on the server), they would belong to root and the "
            "service's user could no longer write there: make the test write into its "
            "tmp_path (tests/conftest.py repo_config moves the repository's own config.toml's "
            "folders there), then delete what it left. (Or something else wrote there while the tests "
            "ran: an editor, make run.)",
            pytrace=False,
        )
