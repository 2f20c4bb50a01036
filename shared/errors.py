"""Errors shared by every part of the bundle.

One base, a few specific subclasses that carry context. HTTP handlers map them to status
codes in one table (``shared.http.problem``). An error's text is scrubbed as it is made
(:mod:`shared.redact`): whatever a driver or a vendor quoted into it (a DSN with its
password, a presigned URL, a secret read from a store), its message may reach an answer, a
stored export, a webhook or a log without a secret in it.
"""

from __future__ import annotations

from shared.redact import scrub


class CourierError(Exception):
    """Base of every error the bundle raises on purpose."""

    def __init__(self, message: str) -> None:
        message = scrub(message)
        super().__init__(message)
        self.message = message


class ConfigError(CourierError):
    """A setting is missing or malformed; raised at cold start."""


class ValidationError(CourierError):
    """Bad input from a caller. ``field`` names what to fix (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = scrub(message)


class AuthError(CourierError):
    """The caller is not authenticated."""


class NotFoundError(CourierError):
    """No such export (or delivery)."""


class ConflictError(CourierError):
    """The request conflicts with the current state (e.g. cancel a delivered export)."""


class VersionConflictError(CourierError):
    """A compare-and-set lost: somebody else changed the record first."""


class StoreError(CourierError):
    """The state backend failed (connection, schema)."""


class DestinationUnusableError(CourierError):
    """The destination failed its probe lately: new exports are refused until it passes."""


class ProviderError(CourierError):
    """A provider call failed. ``retryable`` says whether trying again can help."""

    def __init__(
        self,
        provider: str,
        code: str,
        message: str,
        *,
        retryable: bool,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {code}: {message}")
        self.provider = provider
        self.code = code
        self.detail = scrub(message)
        self.retryable = retryable
        self.request_id = request_id
        self.retry_after = retry_after


class StorageError(CourierError):
    """Reading the source or writing the destination failed."""

    def __init__(self, message: str, *, retryable: bool = True,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # the object store's HTTP status, when it answered


class IntegrityError(StorageError):
    """The copied bytes do not match what was expected (size or MD5)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class UnsafeTargetError(CourierError):
    """An outbound URL points somewhere the bundle must not go (SSRF guard)."""


class IdempotencyKeyReusedError(CourierError):
    """An ``Idempotency-Key`` came back with a different request body (answered 422)."""


class InFlightError(ConflictError):
    """The first request with this ``Idempotency-Key`` is still being processed (409)."""
