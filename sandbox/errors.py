"""The error every service handler raises; the server turns it into a Tencent error body."""

from __future__ import annotations


class ApiError(Exception):
    """A Tencent Cloud API 3.0 error: ``code`` such as ``InvalidParameter``, and a message."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message or code
