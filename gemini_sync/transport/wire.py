"""Calls and their sockets: one way to reach the socket of a request, in every phase.

A :class:`Call` is one operation as the caller sees it: a stream with its
retries, the app page and the uploads it needs. The connection classes that
:class:`CallAdapter` mounts attach every connection a request uses to the call
bound to the current thread (:func:`bound`), from the moment its socket exists
(before ``connect``) until the connection goes back to the pool. So
:meth:`Call.abort` from any thread shuts down whatever socket the call is using
(connecting, sending a body, waiting for headers, reading a chunked or
close-delimited body), and a watchdog thread enforces the call's deadline and
stall bound by the clock, not by socket timeouts that are re-armed on every
``recv``. A timeout that has not really elapsed never fires: the watchdog looks
at the clock and re-arms itself instead.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from .. import _constants as C

__all__ = ["Call", "CallAdapter", "bound", "current_call"]

_local = threading.local()


def current_call() -> Call | None:
    """The call bound to this thread, if any."""
    return getattr(_local, "call", None)


@contextmanager
def bound(call: Call | None) -> Iterator[None]:
    """Bind ``call`` to this thread: every connection used meanwhile is attached to it."""
    previous = current_call()
    _local.call = call
    try:
        yield
    finally:
        _local.call = previous


def _shut(conn: Any) -> None:
    """Shut the connection's socket down so a blocked connect/send/recv returns at once."""
    sock = getattr(conn, "sock", None) or getattr(conn, "_gs_raw", None)
    if sock is None:
        return
    try:
        if sock.fileno() != -1:
            # the plain socket's shutdown: an SSLSocket's own would drop its TLS state under a reader
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class Call:
    """The connections of one operation, its deadline and stall bound; abortable from any thread.

    ``ended`` is why the call was aborted for good (``"cancelled"``,
    ``"closed"``, ``"deadline"``); ``stalled`` is set when the stall bound
    shut the current attempt down (a new attempt clears it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: set[Any] = set()
        self.ended: str | None = None
        self.ends: float | None = None  # monotonic deadline
        self.stall: float | None = None  # seconds of silence allowed, while armed
        self.last_progress = time.monotonic()
        self.stalled = False
        self.done = False
        self.tracked = False  # a connection was ever attached (False with a foreign adapter)
        self._armed: float | None = None  # the watchdog's one entry for this call (its due time)

    # -- connections (called by the connection classes) -----------------

    def attach(self, conn: Any) -> None:
        with self._lock:
            self.tracked = True
            if self.ended is None:
                self._conns.add(conn)
                return
        _shut(conn)  # aborted before this connection was made or reused

    def detach(self, conn: Any) -> None:
        with self._lock:
            self._conns.discard(conn)

    # -- control (any thread) ---------------------------------------------

    def abort(self, reason: str) -> None:
        """End the call for good: every socket it uses is shut down now, and any it opens later."""
        with self._lock:
            if self.ended is None:
                self.ended = reason
            conns = list(self._conns)
        for conn in conns:
            _shut(conn)

    def set_deadline(self, ends: float) -> None:
        self.ends = ends
        _WATCHDOG.arm(self)

    def watch_stall(self, seconds: float | None) -> None:
        """Bound the silence from now on to ``seconds`` (``None``: no bound), for a new response."""
        self.stalled = False
        self.last_progress = time.monotonic()
        self.stall = seconds
        if seconds is not None:
            _WATCHDOG.arm(self)

    def progress(self) -> None:
        """Something arrived: the stall bound counts from now (a plain store, no syscall)."""
        self.last_progress = time.monotonic()

    def finish(self) -> None:
        """The call is over: forget its connections and leave the watchdog."""
        self.done = True
        self.stall = None
        with self._lock:
            self._conns.clear()
        _WATCHDOG.kick()

    def settimeout(self, seconds: float | None) -> None:
        """Set the read timeout of the sockets the call uses now (the watchdog bounds them instead)."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.settimeout(seconds)
                except OSError:
                    pass

    # -- the watchdog's side ------------------------------------------------

    def _due(self) -> float | None:
        if self.done or self.ended is not None:
            return None
        due = self.ends
        if self.stall is not None and not self.stalled:
            stall_due = self.last_progress + self.stall
            due = stall_due if due is None else min(due, stall_due)
        return due

    def _check(self, now: float) -> float | None:
        """Fire the bound that truly elapsed; else the next time to look (``None``: never)."""
        due = self._due()
        if due is None or due > now:
            return due
        if self.ends is not None and now >= self.ends:
            self.abort("deadline")
            return None
        self.stalled = True
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _shut(conn)
        return self._due()


class _Watchdog:
    """One daemon thread waking at the calls' due times; exits once no call was watched for a while."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, weakref.ref[Call]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, call: Call) -> None:
        due = call._due()
        if due is None:
            return
        with self._cond:
            if call._armed is not None and call._armed <= due:
                return  # the entry it has wakes the watchdog early enough (it re-checks then)
            call._armed = due
            heapq.heappush(self._heap, (due, next(self._seq), weakref.ref(call)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gemini-sync-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def kick(self) -> None:
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        idle_until: float | None = None
        with self._cond:
            while True:
                self._heap = [entry for entry in self._heap if self._current(entry)]
                heapq.heapify(self._heap)
                now = time.monotonic()
                if not self._heap:
                    # linger: the next stream reuses this thread rather than start one while
                    # it sends its request (a thread start there costs it ~0.5 ms of GIL hand-offs)
                    if idle_until is None:
                        idle_until = now + C.WATCHDOG_LINGER
                    if now >= idle_until:
                        self._thread = None
                        return
                    self._cond.wait(idle_until - now)
                    continue
                idle_until = None
                due, _, ref = self._heap[0]
                if due > now:
                    self._cond.wait(due - now)
                    continue
                heapq.heappop(self._heap)
                call = ref()
                if call is None:
                    continue
                call._armed = following = call._check(now)
                if following is not None:
                    heapq.heappush(self._heap, (following, next(self._seq), ref))

    @staticmethod
    def _current(entry: tuple[float, int, weakref.ref[Call]]) -> bool:
        """Whether an entry still matters: its call lives, is not over, and this is its one entry."""
        call = entry[2]()
        if call is None or call._armed != entry[0]:
            return False
        if call._due() is None:
            call._armed = None
            return False
        return True


_WATCHDOG = _Watchdog()


def _connect(conn: Any) -> socket.socket:
    """``create_connection`` of urllib3, but the socket is attached to the call before it connects."""
    call = current_call()
    host = conn._dns_host.strip("[]")
    err: OSError | None = None
    for af, socktype, proto, _name, address in socket.getaddrinfo(
        host, conn.port, allowed_gai_family(), socket.SOCK_STREAM
    ):
        sock = socket.socket(af, socktype, proto)
        conn._gs_raw = sock  # kept: _shut() uses it until ``conn.sock`` is set
        if call is not None:
            conn._gs_call = call
            call.attach(conn)
        try:
            _raise_if_ended(call)  # a shutdown before connect() would not stop it
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(address)
            _raise_if_ended(call)
            return sock
        except OSError as exc:
            err = exc
            sock.close()
            conn._gs_raw = None
    raise err if err is not None else OSError("getaddrinfo returned no address")


def _raise_if_ended(call: Call | None) -> None:
    if call is not None and call.ended is not None:
        raise ConnectionAbortedError(f"the call was {call.ended}")


class _Tracked:
    """Mixin of the connection classes: attach to the thread's call on connect and on every request."""

    _gs_call: Call | None = None
    _gs_raw: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        try:
            return _connect(self)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[attr-defined,arg-type]
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc  # type: ignore[attr-defined]
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> Any:
        call = current_call()
        if call is not None and call is not self._gs_call:
            self._release_call()
            self._gs_call = call
            call.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _release_call(self) -> None:
        call, self._gs_call = self._gs_call, None
        if call is not None:
            call.detach(self)


class _HTTPConnection(_Tracked, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _put_conn(self, conn: Any) -> None:
        if isinstance(conn, _Tracked):
            conn._release_call()  # back in the pool: no longer the call's to abort
        super()._put_conn(conn)


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _put_conn(self, conn: Any) -> None:
        if isinstance(conn, _Tracked):
            conn._release_call()
        super()._put_conn(conn)


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class CallAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections attach themselves to the thread's :class:`Call`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
