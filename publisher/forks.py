"""Work shared out among forked copies of this process, for a build run from the command line.

A build renders a thousand pages in a fraction of a second, so what it costs to start
helpers counts: multiprocessing's pools take 10-15 ms to import and a few more to start
their threads and queues, about a tenth of a clean build of 1,000 posts, all of it while
the other cores wait. fork_map forks its workers directly: they inherit the work to do
(functions, templates, cards) as it is in memory, take task numbers from one pipe, and
send results back, each on a pipe of its own.

Only for a process that runs no other thread (forking one that does can leave the child
stuck on a lock another thread held): the service uses multiprocessing's forkserver.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
from collections.abc import Callable, Iterator
from typing import TypeVar

from publisher.exceptions import PublisherError

R = TypeVar("R")

_TASK = 4  # bytes per task number on the task pipe; reads this small are never split
_MAX_TASKS = 65536 // _TASK  # all of them fit in a pipe's buffer before the workers start
_HEADER = 8  # bytes giving the length of each result


def fork_map(
    work: Callable[[int], R],
    count: int,
    workers: int,
    start: Callable[[], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[R]:
    """work(0), ..., work(count - 1) in `workers` forked processes; yields the results in
    that order, each as soon as it and those before it are back.

    `start` runs first in each worker, `meanwhile` here once they are started. An exception
    raised by `work` is raised here (the other workers are stopped); so is a worker that
    dies."""
    if count > _MAX_TASKS:
        raise ValueError(f"at most {_MAX_TASKS} tasks")
    tasks_in, tasks_out = os.pipe()
    # every task number is in the pipe before the first worker reads it, and the pipe is
    # closed behind them: a worker that finds it empty is done
    os.write(tasks_out, b"".join(n.to_bytes(_TASK, "little") for n in range(count)))
    results: dict[int, int] = {}  # read end of a worker's result pipe -> its process id
    complete = False
    # A SIGTERM to this process alone (`timeout`, a wrapper) would end it at once and leave
    # the workers to finish their chunks for nobody: it ends the build here instead, as it
    # would have ended the process, and the workers are stopped with it.
    terminate = signal.getsignal(signal.SIGTERM)
    if terminate == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)
    try:
        try:
            for _ in range(min(workers, count)):
                result_in, result_out = os.pipe()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the forked process
                    os.close(tasks_out)
                    os.close(result_in)
                    for fd in results:
                        os.close(fd)
                    _worker(work, start, tasks_in, result_out)
                os.close(result_out)
                results[result_in] = pid
        finally:
            os.close(tasks_out)
            os.close(tasks_in)
        if meanwhile is not None:
            meanwhile()
        yield from _collect(results, count)
        complete = True
    finally:
        if terminate == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _stop(results, complete)


def _terminated(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def _worker(
    work: Callable[[int], object],
    start: Callable[[], None] | None,
    tasks: int,
    out: int,
) -> None:  # pragma: no cover - runs in the forked process
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a worker ends on SIGTERM, at once
        # Ctrl-C reaches the whole process group: the parent stops; the workers just end
        # (unless Ctrl-C is ignored, as in a process started in the background by a script)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        if start is not None:
            start()
        while True:
            task = os.read(tasks, _TASK)
            if not task:
                break
            number = int.from_bytes(task, "little")
            try:
                message = pickle.dumps((number, True, work(number)), pickle.HIGHEST_PROTOCOL)
            except BaseException as error:  # sent to the parent, which raises it
                message = _error_message(number, error)
            _write_all(out, len(message).to_bytes(_HEADER, "little") + message)
        code = 0
    finally:
        # no exit handlers, no flushing the parent's buffered output a second time
        os._exit(code)


def _error_message(number: int, error: BaseException) -> bytes:
    try:
        return pickle.dumps((number, False, error), pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that cannot be pickled: its text
        return pickle.dumps(
            (number, False, PublisherError(f"{type(error).__name__}: {error}")),
            pickle.HIGHEST_PROTOCOL,
        )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _collect(results: dict[int, int], count: int) -> Iterator[object]:
    """The results in task order, read from the workers' pipes as they come."""
    buffers = {fd: bytearray() for fd in results}
    arrived: dict[int, object] = {}
    poller = select.poll()
    for fd in results:
        poller.register(fd, select.POLLIN)
    following = 0  # the next result to yield
    open_pipes = len(results)
    while following < count:
        if following in arrived:
            yield arrived.pop(following)
            following += 1
            continue
        if not open_pipes:
            _raise_died(results)
        for fd, _event in poller.poll():
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                poller.unregister(fd)
                open_pipes -= 1
                continue
            buffer = buffers[fd]
            buffer += chunk
            while len(buffer) >= _HEADER:
                size = int.from_bytes(buffer[:_HEADER], "little")
                if len(buffer) < _HEADER + size:
                    break
                number, ok, value = pickle.loads(buffer[_HEADER : _HEADER + size])
                del buffer[: _HEADER + size]
                if not ok:
                    raise value
                arrived[number] = value


def _raise_died(results: dict[int, int]) -> None:
    """Say what became of workers that stopped with work left undone."""
    for pid in results.values():
        try:
            done, status = os.waitpid(pid, 0)
        except ChildProcessError:
            continue
        if done and os.WIFSIGNALED(status):
            if os.WTERMSIG(status) == signal.SIGINT:
                raise KeyboardInterrupt  # Ctrl-C, which this process is about to see too
            name = signal.Signals(os.WTERMSIG(status)).name
            raise PublisherError(
                f"a build process was stopped by {name} before it finished"
                + (" (out of memory?)" if name == "SIGKILL" else "")
                + ": build again"
            )
    raise PublisherError("a build process stopped before it finished: build again")


def _stop(results: dict[int, int], complete: bool) -> None:
    """Close the pipes and reap the workers. After all the work, they are ending by
    themselves (nothing is left on the task pipe); after an error, any still at work are
    stopped."""
    for fd, pid in results.items():
        os.close(fd)
        try:
            if not complete:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass
