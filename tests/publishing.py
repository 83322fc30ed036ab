"""A publishing stage for tests: a project, its site served on 127.0.0.1, and the Graph API stand-in."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.ledger import Ledger, Record
from publisher.serve import make_server

from .conftest import BASE_CONFIG, REPO, Project
from .graph_standin import GraphStandin

TOKEN = "EAAtestSECRETtoken123"
NY = ZoneInfo("America/New_York")


def at(text: str) -> datetime:
    """A local time in the clinic's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=NY)


class Stage:
    """Everything a publishing pass talks to, all real and all on this machine."""

    def __init__(self, root: Path, graph: GraphStandin, extra_config: str = ""):
        self.graph = graph
        self.site_server = make_server(root / "site" / "public", port=0)
        self.site_url = f"http://127.0.0.1:{self.site_server.server_address[1]}"
        threading.Thread(target=self.site_server.serve_forever, daemon=True).start()
        base = BASE_CONFIG.replace(
            'base_url = "https://clinic.example"', f'base_url = "{self.site_url}"'
        )
        self.extra = extra_config
        self.project = Project(root / "site", self.config_text(extra_config), base=base)
        self.env = dict(os.environ, PUBLISHER_FACEBOOK_TOKEN=TOKEN, PUBLISHER_GRAPH_URL=graph.url)
        self.env.pop("PUBLISHER_INSTAGRAM_TOKEN", None)
        self.env.pop("PUBLISHER_CRASHPOINT", None)

    def config_text(self, extra: str) -> str:
        return (
            f"""
[facebook]
page_id = "{self.graph.page_id}"

[instagram]
account_id = "{self.graph.ig_user_id}"

[publish]
retry_delay = "1m"
retry_delay_max = "10m"
"""
            + extra
        )

    @property
    def config(self):
        return self.project.config

    def seed(self) -> None:
        """The clinic's real article and its photo."""
        shutil.copy(REPO / "posts" / "2025-10-21-psoas-back-pain.md", self.project.posts)
        (self.project.posts / "images").mkdir(exist_ok=True)
        shutil.copy(
            REPO / "posts" / "images" / "psoas-back-pain.jpg", self.project.posts / "images"
        )

    def add_post(self, slug: str, date: str, **front: str) -> Path:
        """A post with a photo, due at `date` (local)."""
        image = self.project.posts / "images" / "photo.jpg"
        if not image.exists():
            self.project.image("images/photo.jpg", (1200, 800))
        lines = [
            f"title: Post {slug}",
            f"slug: {slug}",
            f"date: {date}",
            "image: images/photo.jpg",
            "image_alt: A calm room",
        ]
        lines += [f"{k}: {v}" for k, v in front.items()]
        return self.project.post(
            f"{slug}.md", "\n".join(lines), f"Text of {slug}. It helps your back.\n"
        )

    def begin_ledger(self, when: str) -> None:
        """Make the ledger as if its first pass had run at `when` (local): deliveries due
        after that are ones a pass should have sent, not an archive's."""
        with Ledger(self.config.ledger_path) as ledger:
            ledger.keeping_since(at(when))

    def add_draft(self) -> Path:
        """A draft post, which sends nothing: with it, deleting the other posts does not
        leave the posts folder with no post at all, which is refused while the site has
        articles (it is what a posts disk that did not mount looks like)."""
        return self.project.post("draft.md", "title: Later\ndate: 2026-12-09\ndraft: true")

    def run(
        self, now: str, *args: str, crashpoint: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`publisher publish --due --now NOW` as a real process."""
        env = dict(self.env)
        if crashpoint:
            env["PUBLISHER_CRASHPOINT"] = crashpoint
        return self.command("publish", "--due", "--now", now, *args, env=env, timeout=timeout)

    def command(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`publisher ARGS` on this stage's config, as a real process."""
        return subprocess.run(
            [sys.executable, "-m", "publisher", "--config", str(self.project.config_path), *args],
            capture_output=True,
            text=True,
            env=self.env if env is None else env,
            cwd=self.project.root,
            timeout=timeout,
        )

    def start(self, now: str, *args: str, crashpoint: str | None = None) -> subprocess.Popen[str]:
        """The same, left running."""
        env = dict(self.env)
        if crashpoint:
            env["PUBLISHER_CRASHPOINT"] = crashpoint
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "publisher",
                "--config",
                str(self.project.config_path),
                "publish",
                "--due",
                "--now",
                now,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self.project.root,
        )

    def records(self) -> dict[str, Record]:
        """The ledger, as 'slug/channel' -> record."""
        with Ledger(self.config.ledger_path) as ledger:
            return {f"{r.slug}/{r.channel}": r for r in ledger.all()}

    def ledger_dump(self) -> str:
        """Every row of every table, as text (to look for leaked secrets)."""
        db = sqlite3.connect(self.config.ledger_path)
        try:
            rows = []
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                rows += [repr(row) for row in db.execute(f"SELECT * FROM {table}")]
            return "\n".join(rows)
        finally:
            db.close()

    def close(self) -> None:
        self.site_server.shutdown()
        self.site_server.server_close()


def token_look(stage: Stage) -> list[tuple[str, str]]:
    """The requests of a pass's daily look at each token ([publish] token_check): the
    account's name, whose token it is, and debug_token, for Facebook then Instagram."""
    return [
        ("GET", f"/{stage.graph.page_id}"),
        ("GET", "/me"),
        ("GET", "/debug_token"),
        ("GET", f"/{stage.graph.ig_user_id}"),
        ("GET", "/me"),
        ("GET", "/debug_token"),
    ]


def kill_at(process, marker: str, timeout: float = 60) -> None:
    """Wait for the process to reach `marker` on stderr, then SIGKILL it."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if marker in line:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            return
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"never reached {marker}: {seen}")


def staged(tmp_path: Path, extra_config: str = "") -> Iterator[Stage]:
    """A started stand-in and stage; stops both afterwards."""
    graph = GraphStandin().start()
    graph.add_token(TOKEN, label="clinic")
    stage = Stage(tmp_path, graph, extra_config)
    # In-process passes read the same variables as the subprocesses get.
    saved = {
        name: os.environ.get(name)
        for name in ("PUBLISHER_FACEBOOK_TOKEN", "PUBLISHER_GRAPH_URL", "PUBLISHER_INSTAGRAM_TOKEN")
    }
    os.environ.update(PUBLISHER_FACEBOOK_TOKEN=TOKEN, PUBLISHER_GRAPH_URL=graph.url)
    os.environ.pop("PUBLISHER_INSTAGRAM_TOKEN", None)
    try:
        yield stage
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        stage.close()
        graph.stop()
