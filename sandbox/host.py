"""What a vendor emulator may use of the sandbox it runs in: the :class:`Host` protocol.

The services (``sandbox/cls.py``, ``dlc.py``, ``dms.py``, …) and the HTTP handler type
against these protocols only; :class:`sandbox.core.Sandbox` implements them. So the core
imports the services and no service imports the core.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Protocol, runtime_checkable

from sandbox.acs3 import AccessKey
from sandbox.clock import Clock
from sandbox.conformance import Conformance
from sandbox.cos_auth import Credential
from sandbox.faults import Faults
from sandbox.files import FileStore
from sandbox.recorded import RecordedAnswers


class CosGrants(Protocol):
    """The COS object endpoint of the sandbox (DLC results are read from it)."""

    def issue(self, bucket: str, key: str, file_token: str, ttl_s: float) -> Credential: ...

    def owns(self, host: str) -> bool: ...

    def handle(self, h: Any, method: str) -> None: ...


class AccountBook(Protocol):
    """Which account a key belongs to and who owns a resource (:class:`sandbox.sts.Accounts`)."""

    def owner(self, service: str, resource: Any) -> Optional[str]: ...

    def account_of(self, key_id: str) -> str: ...


@runtime_checkable
class Host(Protocol):
    """The shared state and bookkeeping of one sandbox."""

    clock: Clock
    faults: Faults
    files: FileStore
    recorded: RecordedAnswers  # published example answers served instead of the emulator's
    conformance: Conformance  # answers held against the vendor SDK's models
    queue_s: float  # seconds (sandbox time) a task spends queuing
    process_s: float  # … and processing
    file_size: int  # default size in bytes of result files
    topic_pattern: re.Pattern[str]  # CLS TopicIds that exist

    @property
    def url(self) -> str: ...

    @property
    def accounts(self) -> AccountBook:
        """Whose keys, which roles, who owns what (:mod:`sandbox.sts`)."""

    @property
    def cos_objects(self) -> CosGrants: ...

    def count(self, service: Optional[str], action: Optional[str]) -> None:
        """Count one request of ``service.action`` (``sb.calls``)."""

    def admit(self, service: Optional[str], action: Optional[str],
              account: Optional[str] = None) -> bool:
        """False when the request is over the vendor's rate limit (kept per account)."""

    def served(self, token: str, n: int) -> None:
        """Count ``n`` bytes of result file ``token`` sent (``sb.bytes_served``)."""

    def record_made(self, service: Optional[str], action: Optional[str], data: dict[str, Any],
                    answer: dict[str, Any]) -> None:
        """Note a Create* call that took effect, with its request and answer (``sb.made``)."""

    def secret_for(self, secret_id: str) -> Optional[str]:
        """The SecretKey of an accepted SecretId, or None."""

    def alibaba_keys(self, access_key_id: str) -> Optional[AccessKey]:
        """An Alibaba key the sandbox accepts (STS keys until they expire), or None."""

    def role_token(self, secret_id: str) -> tuple[Optional[str], bool]:
        """(session token, still valid) of a temporary key; (None, True) for a permanent one."""
