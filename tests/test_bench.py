"""The benchmark's measurement of `publisher run` at rest (bench/run.py), on a small corpus.

The figures themselves belong to `make bench`; these tests check that the measurement is made
on a real service that reached rest, and that a service that never gets there is reported."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    if not module.PUBLISHER.exists():
        pytest.fail(f"{module.PUBLISHER} is missing: `make test` makes it")
    yield module
    del sys.modules["bench_run"]


@pytest.fixture
def corpus(bench, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bench, "REST_WINDOW_SECONDS", 1)
    monkeypatch.setattr(bench, "REST_SETTLE_SECONDS", 0.5)
    found = bench.Corpus(posts=20, root=tmp_path / "corpus-20")
    bench.write_corpus(found)
    return found


def test_the_service_is_measured_at_rest_after_its_own_first_build(bench, corpus) -> None:
    result = bench.SizeResult(posts=corpus.posts)
    posts_before = sorted(corpus.publisher_posts.glob("*.md"))

    line = bench.service_at_rest(corpus, result)

    rest = result.rest
    assert rest is not None, result.rest_note
    # the service built the site itself: every post's page, not yet the one due tomorrow
    assert bench.count_post_pages(corpus.publisher_site / "public") == corpus.posts
    assert not (corpus.publisher_site / "public" / "posts" / "bench-upcoming").exists()
    assert 10_000 < rest.rss_kib < 300_000  # a Python process with the site's modules loaded
    assert rest.scheduled == 3  # the upcoming post's website, Facebook and Instagram
    assert rest.stopped  # SIGTERM ended it with code 0
    assert rest.window >= 1
    assert "stopped on SIGTERM" in line
    # the post dated tomorrow was only for the measurement
    assert sorted(corpus.publisher_posts.glob("*.md")) == posts_before
    assert "job(s) waiting" in bench.rest_cell(result)


def test_a_service_that_never_rests_is_reported_not_measured(bench, corpus) -> None:
    corpus.publisher_config.write_text("[site\n", encoding="utf-8")  # it cannot start
    result = bench.SizeResult(posts=corpus.posts)

    line = bench.service_at_rest(corpus, result)

    assert result.rest is None
    assert "not at rest (it exited with 1)" in result.rest_note
    assert "config.toml" in result.rest_note  # publisher's own message, which says where
    assert result.rest_note in line
    table = bench.targets_table({10000: _measured_elsewhere(bench, result)})
    assert "| `publisher run` at rest, 10,000 posts" in table
    assert result.rest_note + " | **no** |" in table


def _measured_elsewhere(bench, result):
    """A 10,000-post result with the builds measured and the service not at rest."""
    sample = bench.Sample(seconds=1.0, peak_kib=100_000, stdout="")
    result.full = {tool: [sample] for tool in bench.TOOL_ORDER}
    result.unchanged = result.edited = result.due = [sample]
    result.rewritten = [0]
    result.identical = True
    return result


def _venv(root: Path, home: str, program: str) -> Path:
    """A virtualenv's shape as check_tools reads it: pyvenv.cfg and one program."""
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n")
    (root / "bin" / program).write_text("")
    return root / "bin" / program


def test_pelican_must_run_on_publishers_python(bench, tmp_path: Path, monkeypatch) -> None:
    """Both tools on one Python: a Pelican virtualenv left from another stops the benchmark."""
    monkeypatch.setattr(bench, "GNU_TIME", Path(sys.executable))
    monkeypatch.setattr(bench, "PUBLISHER", _venv(tmp_path / "venv", "/usr/bin", "publisher"))
    monkeypatch.setattr(bench, "hugo_binary", lambda: Path(sys.executable))
    pelican = tmp_path / "venv-pelican"
    monkeypatch.setattr(bench, "PELICAN", _venv(pelican, "/opt/other/bin", "pelican"))
    with pytest.raises(bench.BenchError, match="another Python than publisher's .venv"):
        bench.check_tools()
    (pelican / "pyvenv.cfg").write_text("home = /usr/bin\n")
    bench.check_tools()


def _make_says(*args: str) -> str:
    """What `make` takes PYTHON to be, with `args` on its command line."""
    repo = RUN_PY.parents[1]
    done = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(repo),
            "--eval",
            "say-python: ; @echo $(PYTHON)",
            *args,
            "say-python",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_venv_is_made_from_the_systems_python_when_it_can_be() -> None:
    """/usr/bin/python3 (Debian's is built with profile-guided and link-time optimisation)
    when it is 3.11 or later and can make a virtualenv; else python3 from PATH; PYTHON=
    on the command line wins."""
    system = Path("/usr/bin/python3")
    usable = (
        system.exists()
        and subprocess.run(
            [system, "-c", "import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))"],
            capture_output=True,
        ).returncode
        == 0
    )
    assert _make_says() == (str(system) if usable else "python3")
    assert _make_says("PYTHON=/opt/some/python3") == "/opt/some/python3"
