"""A total deadline for network calls, enforced while bytes trickle.

A read timeout bounds each read, not the call: a server sending one byte every few seconds
holds a download or a webhook for as long as it likes. :func:`cut_off_at` sets a deadline for
the calls made inside it on this thread; the connections of a
:func:`shared.netguard.guarded_session` register their sockets (:func:`watch`), and at the
deadline a timer shuts them all down, so a blocked read returns at once and the call fails.
:func:`cut_off` tells the caller that this was the deadline, not the network.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class _Cutoff:
    """The sockets used under one :func:`cut_off_at`, shut down together when time is up."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, at - time.monotonic()), self.fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.fired:
                self._socks.append(sock)
                return
        _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            socks, self._socks = self._socks, []
        for sock in socks:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._socks.clear()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # a blocked read returns at once
    except OSError:
        pass  # already closed


_cutoff: ContextVar[_Cutoff | None] = ContextVar("courier_net_cutoff", default=None)


@contextmanager
def cut_off_at(at: float | None) -> Iterator[None]:
    """Calls made inside the block, on this thread, through a guarded session end by ``at``
    (``time.monotonic()``): their connections are shut down then, however slowly bytes still
    arrive. None: no deadline. :func:`cut_off` tells a cut-off from another broken
    connection."""
    if at is None:
        yield
        return
    cutoff = _Cutoff(at)
    token = _cutoff.set(cutoff)
    try:
        yield
    finally:
        _cutoff.reset(token)
        cutoff.cancel()


def cut_off() -> bool:
    """Whether the deadline of the enclosing :func:`cut_off_at` has passed."""
    cutoff = _cutoff.get()
    return cutoff is not None and (cutoff.fired or time.monotonic() >= cutoff.at)


def watch(sock: socket.socket | None) -> None:
    """Shut ``sock`` down at the enclosing deadline (no deadline: nothing to do)."""
    cutoff = _cutoff.get()
    if cutoff is not None and sock is not None:
        cutoff.watch(sock)


def time_left() -> float | None:
    """Seconds until the enclosing :func:`cut_off_at` deadline; None without one."""
    cutoff = _cutoff.get()
    return None if cutoff is None else max(0.0, cutoff.at - time.monotonic())
