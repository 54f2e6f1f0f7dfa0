"""A time limit per document: parsers run in a worker process, killed when a document takes too long.

A thread cannot be stopped, and a signal cannot interrupt a long C call: feedparser spends its time on
a 1 MB <author> in one `re.search` (quadratic; about an hour). So the parse runs in a forked child that
is killed and replaced when a document is still being parsed at the limit; the crawl goes on.
"""

from __future__ import annotations

import gc
import os
import signal
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, Callable

from spiders.items import PageResult


class ParseStopped(Exception):
    """The document was not parsed: too slow, the parser raised, or its process died."""


class ParseWorker:
    """Runs parse functions one at a time in a child process, giving each `seconds` at most."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._pid: int | None = None
        self._conn: Connection | None = None

    def parse(self, url: str, kind: str, function: Callable[..., PageResult], *args: Any) -> PageResult:
        """function(*args), or a PageResult naming why `url` could not be parsed."""
        try:
            return self.call(function, *args)
        except ParseStopped as stopped:
            where = f"feed {url}" if kind == "feed" else url
            return PageResult(parser=kind, last_page=False, problems=[f"{where}: {stopped}"])

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """function(*args) in the worker; ParseStopped when it takes longer than the limit or fails."""
        conn = self._connection()
        conn.send((function, args))
        if not conn.poll(self.seconds):
            self.stop()
            raise ParseStopped(f"parsing stopped after {self.seconds:g} s (document too complex)")
        try:
            ok, value = conn.recv()
        except (EOFError, OSError):
            status = self.stop()
            raise ParseStopped(f"the parser process died (exit status {status})") from None
        if not ok:
            raise ParseStopped(f"could not be parsed ({value})")
        return value

    def stop(self) -> int | None:
        """Kill the worker (a new one starts on the next call); its exit status."""
        if self._pid is None:
            return None
        pid, self._pid = self._pid, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn, self._pid = _fork_worker()
        return self._conn


def _fork_worker() -> tuple[Connection, int]:
    """Fork a worker: it inherits the loaded parsers and warmed caches, so a call costs one pickled round trip."""
    parent_end, child_end = Pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            _become_worker(child_end)
            _serve(child_end)
            status = 0
        finally:
            os._exit(status)
    child_end.close()
    return parent_end, pid


def _become_worker(conn: Connection) -> None:
    """Drop what the crawl process holds: its sockets, database and signal handling are not the worker's."""
    gc.freeze()  # inherited objects are never collected here, so their finalizers cannot touch closed files
    keep = conn.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the crawl, which then ends the worker
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _serve(conn: Connection) -> None:
    """Answer (function, args) with (True, result) or (False, error text) until the crawl closes the pipe."""
    while True:
        try:
            function, args = conn.recv()
        except EOFError:
            return
        try:
            answer = (True, function(*args))
        except Exception as error:  # a parser bug is reported for its document; the next one is parsed
            answer = (False, f"{type(error).__name__}: {error}")
        conn.send(answer)
