"""fork_map: work shared out among forked processes, results in order, failures raised."""

from __future__ import annotations

import os
import signal

import pytest

from publisher.exceptions import ContentError, PublisherError
from publisher.forks import fork_map


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_results_come_back_in_order_from_other_processes():
    table = [n * n for n in range(200)]  # inherited by the workers, not sent to them
    results = list(fork_map(lambda n: (table[n], os.getpid()), len(table), 2))
    assert [value for value, _ in results] == table
    workers = {pid for _, pid in results}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2
    assert no_children_left()


def test_each_worker_starts_with_the_given_step():
    import gc

    def start():
        gc.disable()

    assert set(fork_map(lambda n: gc.isenabled(), 8, 2, start)) == {False}
    assert gc.isenabled()  # this process is left as it was


def test_an_error_in_the_work_is_raised_here_and_the_workers_are_stopped():
    def work(n: int) -> int:
        if n == 5:
            raise ContentError("bad post", "posts/five.md", 3)
        return n

    with pytest.raises(ContentError) as raised:
        list(fork_map(work, 50, 2))
    assert str(raised.value) == "posts/five.md:3: bad post"
    assert no_children_left()


def test_an_error_that_cannot_be_pickled_still_says_what_it_was():
    class Odd(Exception):
        def __reduce__(self):
            raise TypeError("no")

    def work(n: int) -> int:
        raise Odd("the template broke")

    with pytest.raises(PublisherError, match="Odd: the template broke"):
        list(fork_map(work, 3, 2))
    assert no_children_left()


def test_a_worker_that_dies_is_an_error_not_a_hang():
    def work(n: int) -> int:
        if n == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    with pytest.raises(PublisherError, match="SIGKILL"):
        list(fork_map(work, 4, 1))
    assert no_children_left()


def test_stopping_early_stops_the_workers():
    results = fork_map(lambda n: n, 100, 2)
    assert next(results) == 0
    results.close()
    assert no_children_left()


def test_results_larger_than_a_pipe_arrive_whole():
    big = list(fork_map(lambda n: bytes([n]) * 300_000, 6, 2))
    assert [len(b) for b in big] == [300_000] * 6 and [b[0] for b in big] == list(range(6))


def test_ctrl_c_in_a_worker_is_ctrl_c_here():
    def work(n: int) -> int:
        if n == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the workers end on Ctrl-C, quietly
        return n

    with pytest.raises(KeyboardInterrupt):
        list(fork_map(work, 3, 1))
    assert no_children_left()


def test_this_process_works_meanwhile():
    done: list[int] = []
    results = list(fork_map(lambda n: n, 4, 2, meanwhile=lambda: done.append(os.getpid())))
    assert results == [0, 1, 2, 3] and done == [os.getpid()]


def test_sigterm_to_this_process_alone_stops_the_workers_too():
    """`timeout` and wrappers signal the main process only: the build ends as the process
    would have, and no worker is left to run on for nobody."""
    import time

    def work(n: int) -> int:
        time.sleep(0.1)
        if n == 0:
            os.kill(os.getppid(), signal.SIGTERM)
        return n

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as ended:
        list(fork_map(work, 20, 2))
    assert ended.value.code == 128 + signal.SIGTERM
    assert no_children_left() and signal.getsignal(signal.SIGTERM) == before


def test_workers_keep_ctrl_c_ignored_when_this_process_ignores_it():
    """A build started in the background by a script ignores Ctrl-C; so do its workers."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:

        def work(n: int) -> int:
            os.kill(os.getpid(), signal.SIGINT)
            return n

        assert list(fork_map(work, 4, 2)) == [0, 1, 2, 3]
    finally:
        signal.signal(signal.SIGINT, previous)
    assert no_children_left()
