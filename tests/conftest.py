"""Shared fixtures: a throw-away project folder with the real templates and posts of our own."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from publisher.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

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
