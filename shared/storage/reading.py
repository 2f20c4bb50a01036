"""Reading a copy's source part by part, within its limits: the announced size (a source that
sends more is cut off there), the copy's deadline (a source that trickles is cut off then),
the stores' part count; a broken connection is reopened where the part starts."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from typing import Any

from shared import cutoff, netguard
from shared.errors import StorageError
from shared.storage.pipeline import (
    CopyDeadlineError,
    PartBuffers,
    Segment,
    SourceTooLargeError,
)
from shared.storage.sources import Body, RestartNeeded, fill

log = logging.getLogger(__name__)


class SourceParts:
    """The source behind ``reader`` (:class:`~shared.storage.sources.UrlReader` or
    :class:`~shared.storage.cos_source.CosReader`) read into part buffers."""

    def __init__(self, reader: Any, *, part_size: int, expected_size: int | None,
                 reopen_attempts: int, deadline: float | None, max_parts: int) -> None:
        self.reader = reader
        self.part_size = part_size
        self.expected_size = expected_size
        self.reopen_attempts = reopen_attempts
        self.deadline = deadline  # time.monotonic(); None: no limit
        self.time_limit_s = None if deadline is None else deadline - time.monotonic()
        self.max_parts = max_parts

    def out_of_time(self) -> bool:
        return cutoff.cut_off() or (self.deadline is not None
                                    and time.monotonic() >= self.deadline)

    def deadline_error(self) -> CopyDeadlineError:
        limit = f" ({self.time_limit_s:.0f} s)" if self.time_limit_s is not None else ""
        return CopyDeadlineError(f"the copy did not finish within its time limit{limit}; "
                                 "it goes on later from the parts already stored")

    def _announced(self, said: dict[str, Any]) -> int | None:
        """The size the source may not exceed: the provider's, else the source's own."""
        return self.expected_size if self.expected_size is not None else said.get("total")

    def _check_total(self, body: Body) -> None:
        """A source whose answer announces more bytes than the provider said is refused
        before a byte of it is copied."""
        if self.expected_size is not None and body.total is not None \
                and body.total > self.expected_size:
            raise SourceTooLargeError(f"the source announces {body.total} bytes, the provider "
                                      f"said {self.expected_size}; nothing was copied")

    def _no_more(self, body: Body, limit: int) -> None:
        """At the announced end: one more byte means the source sends more than announced."""
        probe = bytearray(1)
        try:
            extra = fill(body, memoryview(probe))
        except Exception:  # noqa: BLE001 - a connection that breaks past the end sent no more
            return
        if extra:
            raise SourceTooLargeError(f"the source sends more than the {limit} bytes "
                                      "announced for it; the copy stopped at that size")

    def open(self, offset: int, validator: str | None, end: int | None = None) -> Body:
        """The source opened at ``offset``; an answer still awaited at the deadline is
        :class:`CopyDeadlineError`, not a network failure."""
        if self.out_of_time():
            raise self.deadline_error()
        try:
            return self.reader.open(offset, validator, end)  # type: ignore[no-any-return]
        except StorageError as exc:
            if exc.retryable and self.out_of_time():
                raise self.deadline_error() from exc
            raise

    def open_checked(self, seg: Segment, pinned: str | None) -> Body:
        """The source opened at ``seg``; RestartNeeded if it is no longer the version the
        kept parts were read from (``pinned``: None when nothing is kept)."""
        body = self.open(seg.start, pinned, seg.end)
        if body.restarted or (pinned and body.validator and body.validator != pinned):
            body.close()
            raise RestartNeeded("the source changed since the upload started")
        return body

    def parts(self, first: Body, segments: list[Segment], buffers: PartBuffers,
              pinned: str | None, said: dict[str, Any]
              ) -> Generator[tuple[int, int, bytearray, int], None, None]:
        """(number, offset, buffer, length) of every part to copy, in byte order: the whole
        parts of each gap, each gap through its own ranged read, then the tail, whose last
        read is short (or empty). ``first`` is the open first stretch; the others are opened
        here, pinned to the version the kept parts came from. ``said`` gathers what the
        answers tell of the whole object (its total size, an MD5 it vouches for)."""
        for i, seg in enumerate(segments):
            body = first if i == 0 else self.open_checked(seg, pinned or first.validator)
            try:
                self._check_total(body)
                known = said.get("total")
                if known is not None and body.total is not None and body.total != known:
                    raise RestartNeeded("the source's size changed since the upload started")
                said["total"] = known if known is not None else body.total
                said["md5"] = said.get("md5") or body.md5
                number, offset = seg.number, seg.start
                while seg.end is None or offset < seg.end:
                    if self.out_of_time():
                        raise self.deadline_error()
                    limit = None if seg.end is not None else self._announced(said)
                    want = self.part_size if limit is None else \
                        max(0, min(self.part_size, limit - offset))
                    if number > self.max_parts and want:
                        raise StorageError(f"the file needs more than {self.max_parts} parts "
                                           f"of {self.part_size} bytes: its size was not known "
                                           "up front to choose a larger part",
                                           retryable=False)
                    buf = buffers.take()
                    filled = self.read_into(body, buf, offset, want)
                    if seg.end is not None and filled < min(self.part_size, seg.end - offset):
                        raise RestartNeeded("the source is shorter than its journalled parts")
                    last = filled < self.part_size
                    if last and limit is not None and offset + filled >= limit:
                        self._no_more(body, limit)  # before the part is used at all
                    yield number, offset, buf, filled
                    offset, number = offset + filled, number + 1
                    if last:
                        break
            finally:
                if body is not first:
                    body.close()

    def read_into(self, body: Body, buf: bytearray, offset: int, want: int) -> int:
        """Fill ``buf`` with the next part (``want`` bytes) from ``body``; returns its length
        (short only at the end). A broken connection is reopened at ``offset`` (the part
        start) a few times, and the part read again, before giving up; a connection cut off
        at the copy's deadline is not."""
        view = memoryview(buf)[:want]
        for attempt in range(self.reopen_attempts + 1):
            try:
                filled = fill(body, view)
            except (StorageError, RestartNeeded):
                raise
            except Exception as exc:  # noqa: BLE001 - network errors of several libraries
                body.close()
                if self.out_of_time():
                    raise self.deadline_error() from exc
                if attempt == self.reopen_attempts:
                    raise StorageError("reading the source failed: "
                                       f"{netguard.failure_words(exc)}") from exc
                log.info("source read broke at %d (%s); reopening", offset,
                         type(exc).__name__)
                fresh = self.open(offset, body.validator, body.end)
                if fresh.restarted or (body.validator and fresh.validator
                                       and fresh.validator != body.validator):
                    fresh.close()
                    raise RestartNeeded("the source changed during the copy") from exc
                body.read, body.close, body.readinto = fresh.read, fresh.close, fresh.readinto
                continue
            if filled < want and self.out_of_time():
                raise self.deadline_error()  # the connection was shut at the deadline
            return filled
        raise AssertionError("unreachable")
