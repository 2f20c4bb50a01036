"""File helpers of the local-folder store (:mod:`shared.storage.local`)."""

from __future__ import annotations

import os
from typing import BinaryIO

from shared.errors import StorageError

COPY_BUFFER = 1024 * 1024


def append_range(src: BinaryIO, out: BinaryIO, start: int, length: int) -> None:
    """Append ``length`` bytes of ``src`` from ``start`` to ``out``: in the kernel where it
    can (copy_file_range, no trip through Python buffers), else with a bounded buffer."""
    out.flush()
    in_fd, out_fd = src.fileno(), out.fileno()
    done = 0
    copier = getattr(os, "copy_file_range", None)
    if copier is not None:
        try:
            while done < length:
                n = copier(in_fd, out_fd, length - done, start + done)
                if n <= 0:
                    break
                done += n
        except OSError:
            pass  # e.g. EXDEV or unsupported here: fall through to the buffered copy
    src.seek(start + done)
    out.seek(0, os.SEEK_END)
    while done < length:
        chunk = src.read(min(COPY_BUFFER, length - done))
        if not chunk:
            raise StorageError("a stored part is shorter than its record", retryable=False)
        out.write(chunk)
        done += len(chunk)
