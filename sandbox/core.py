"""The :class:`Sandbox`: one threaded HTTP server on 127.0.0.1 emulating Tencent Cloud API 3.0
services (CLS, MongoDB, TCSS) and serving their result files."""

from __future__ import annotations

import collections
import re
import secrets
import threading
import time
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from typing import Any, Optional

from sandbox.acs3 import AccessKey
from sandbox.clock import Clock
from sandbox.cls import ClsService
from sandbox.conformance import Conformance
from sandbox.cos_objects import CosObjects
from sandbox.dlc import DlcService
from sandbox.dms import DmsService
from sandbox.faults import Faults
from sandbox.files import FileStore
from sandbox.mongodb import MongoService
from sandbox.recorded import RecordedAnswers
from sandbox.scf import ScfService
from sandbox.server import Handler
from sandbox.ssm import SsmService
from sandbox.sts import DEFAULT_ACCOUNT, Accounts, AlibabaSts, TencentStsService
from sandbox.tcss import TcssService

SECRET_ID = "AKIDsandbox"
SECRET_KEY = "sandbox-secret-key"  # noqa: S105 - the sandbox's published test credential
DEFAULT_RATE_LIMIT = 20
# Services whose actions take X-TC-Region as required: the DLC and MongoDB API pages mark
# Region "Yes"; the CLS and TCSS pages say "This parameter is not required"; the China
# GetSecretValue page marks it "是" (SSM). See SOURCES.md.
# STS's AssumeRole page marks Region "Yes" too.
REGIONAL_SERVICES = frozenset({"dlc", "mongodb", "ssm", "sts"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed, timed out) is no traceback; anything else is."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Sandbox:
    """A local Tencent Cloud endpoint. ``port=0`` picks a free port; see ``url`` after start.

    ``queue_s`` / ``process_s``: seconds (sandbox time) a task spends queuing / processing.
    ``file_size``: default size in bytes of result files.
    ``time_scale``: how fast sandbox time flows against real time (``clock.advance`` jumps).
    ``keys``: accepted (SecretId, SecretKey) pairs; the first one is ``secret_id`` /
    ``secret_key`` / ``credentials``. Default: one pair, ``SECRET_ID`` / ``SECRET_KEY``.
    ``topic_pattern``: regular expression (full match) of the CLS TopicIds that exist, besides
    those in ``missing_topics``.
    ``conformance``: ``"strict"`` holds every answer against the vendor SDK's model
    (:mod:`sandbox.conformance`; default: ``SANDBOX_CONFORMANCE``), ``"off"`` does not.
    """

    def __init__(self, port: int = 0, queue_s: float = 1.0, process_s: float = 2.0,
                 file_size: int = 4096, host: str = "127.0.0.1",
                 rate_limit: Optional[int] = DEFAULT_RATE_LIMIT, verbose: bool = False,
                 time_scale: float = 1.0,
                 keys: Optional[Sequence[tuple[str, str]]] = None,
                 topic_pattern: str = r"topic-.+", conformance: Optional[str] = None) -> None:
        self.host = host
        self.port = int(port)
        self.queue_s = float(queue_s)
        self.process_s = float(process_s)
        self.file_size = int(file_size)
        self.rate_limit = rate_limit
        self.verbose = verbose
        pairs = list(keys) if keys is not None else [(SECRET_ID, SECRET_KEY)]
        if not pairs:
            raise ValueError("the sandbox needs at least one (SecretId, SecretKey) pair")
        self.secret_id, self.secret_key = pairs[0]
        self.topic_pattern = re.compile(topic_pattern)
        self.clock = Clock(time_scale)
        self.faults = Faults()
        self.recorded = RecordedAnswers()  # published example answers served as our own
        self.files = FileStore()
        self.conformance = Conformance(conformance)
        self.calls: dict[tuple[Optional[str], Optional[str]], int] = {}
        self.bytes_served: dict[str, int] = {}
        # every Create* call that took effect (lost answers included), in order:
        # (service, action, request data, answer) -- what the sandbox made, for counting
        self.made: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
        self.keys: dict[str, str] = dict(pairs)
        self.regional_services: set[str] = set(REGIONAL_SERVICES)
        # the keys' site, checked on a tencentcloudapi.com Host (requests through a proxy):
        # None (any), "china" or "intl"
        self.site: Optional[str] = None
        # temporary (role) keys: SecretId -> (session token, expiry in sandbox time)
        self.role_tokens: dict[str, tuple[str, float]] = {}
        self._windows: dict[tuple[Optional[str], Optional[str]], collections.deque] = {}
        self._lock = threading.Lock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.cls = ClsService(self)
        self.services: dict[str, Any] = {self.cls.service: self.cls}
        self.mongodb = MongoService(self)
        self.tcss = TcssService(self)
        for svc in (self.mongodb, self.tcss):
            self.services[svc.service] = svc
        self.cos_objects = CosObjects(self)  # COS reads of DLC results (Host: *.cos.*)
        self.dlc = DlcService(self)
        self.services[self.dlc.service] = self.dlc
        self.scf = ScfService(self)  # the SCF management API a deploy tool calls
        self.services[self.scf.service] = self.scf
        self.ssm = SsmService(self)  # Secrets Manager: settings stored as secrets
        self.services[self.ssm.service] = self.ssm
        # Alibaba DMS: reached by its x-acs-action header, not through the Tencent services
        self.dms = DmsService(self)
        # accounts: whose keys, which roles, who owns what (sandbox.sts); STS AssumeRole
        self.accounts = Accounts()
        self.sts = TencentStsService(self, self.accounts, self.issue_role_keys)
        self.services[self.sts.service] = self.sts
        self.alibaba_sts = AlibabaSts(self, self.accounts, self.dms.keys)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        handler = type("SandboxHandler", (Handler,), {"sb": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Start (if needed) and block until interrupted."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``host:port``, the form ``HttpProfile(endpoint=...)`` takes."""
        return f"{self.host}:{self.port}"

    @property
    def credentials(self) -> tuple[str, str]:
        """The first accepted (SecretId, SecretKey) pair."""
        return self.secret_id, self.secret_key

    # -- scenario knobs ----------------------------------------------------------------------

    def fail_exports(self, topic_id: str) -> None:
        """CLS exports created on ``topic_id`` from now on end in Status ``Failed``."""
        self.cls.failing_topics.add(topic_id)

    def fail_next_export(self) -> None:
        """The next CLS export created (on any topic) ends in Status ``Failed``."""
        self.cls.fail_next_export()

    def set_file_size(self, topic_id: str, n_bytes: int) -> None:
        """Result files of CLS exports created on ``topic_id`` from now on are ``n_bytes``."""
        if n_bytes < 0:
            raise ValueError("file size must not be negative")
        self.cls.file_sizes[topic_id] = int(n_bytes)

    def fail_log_downloads(self, instance_id: str) -> None:
        """MongoDB log download tasks created on ``instance_id`` from now on fail (Status 3)."""
        self.mongodb.fail_instances.add(instance_id)

    def fail_export_jobs(self, action: str) -> None:
        """TCSS jobs created by ``action`` (e.g. ``CreateHostExportJob``) end in FAILURE."""
        self.tcss.fail_actions.add(action)

    @property
    def missing_topics(self) -> set[str]:
        """CLS topic ids answered with ``ResourceNotFound.TopicNotExist``."""
        return self.cls.missing_topics

    def issue_role_keys(self, ttl_s: float = 7200.0) -> tuple[str, str, str]:
        """Temporary keys as a role hands them out (SCF puts them in a function's
        environment): ``(SecretId, SecretKey, Token)``. A request signed with them is
        refused (``AuthFailure.TokenFailure``) without its ``X-TC-Token``, with another
        token, or once ``ttl_s`` of sandbox time has passed."""
        secret_id = "AKIDrole" + secrets.token_hex(10)
        secret_key, token = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        with self._lock:
            self.keys[secret_id] = secret_key
            self.role_tokens[secret_id] = (token, self.clock.now() + ttl_s)
        return secret_id, secret_key, token

    def add_account(self, account: str, *, roles: Sequence[tuple[str, Optional[str]]] = (),
                    topics: Sequence[str] = (), tenants: Sequence[int] = ()) -> None:
        """Another account: roles of it that can be assumed (ARN, external id wanted or
        None), and the CLS topics and DMS tenants it owns (answered as missing to any other
        account's keys)."""
        for arn, external_id in roles:
            if self.accounts.add_role(arn, external_id) != account:
                raise ValueError(f"{arn} is not a role of account {account}")
        for topic in topics:
            self.accounts.own("cls", topic, account)
        for tid in tenants:
            self.dms.tenants.add(int(tid))
            self.accounts.own("dms", str(tid), account)

    # -- the Host protocol (sandbox.host): what the services and the handler use -------

    def secret_for(self, secret_id: str) -> Optional[str]:
        return self.keys.get(secret_id)

    def alibaba_keys(self, access_key_id: str) -> Optional[AccessKey]:
        return self.alibaba_sts.lookup(access_key_id)

    def role_token(self, secret_id: str) -> tuple[Optional[str], bool]:
        """(session token, still valid) of a temporary key; (None, True) for a permanent one."""
        with self._lock:
            entry = self.role_tokens.get(secret_id)
        if entry is None:
            return None, True
        return entry[0], self.clock.now() < entry[1]

    def count(self, service: Optional[str], action: Optional[str]) -> None:
        with self._lock:
            key = (service, action)
            self.calls[key] = self.calls.get(key, 0) + 1

    def record_made(self, service: Optional[str], action: Optional[str], data: dict[str, Any],
                    answer: dict[str, Any]) -> None:
        """Note a Create* call that took effect in :attr:`made`."""
        if action and action.startswith("Create"):
            with self._lock:
                self.made.append((service or "", action, data, answer))

    def served(self, token: str, n: int) -> None:
        with self._lock:
            self.bytes_served[token] = self.bytes_served.get(token, 0) + n

    def admit(self, service: Optional[str], action: Optional[str],
              account: Optional[str] = None) -> bool:
        """Sliding one-second window per (account, service, action): each account's calls
        count against its own limit; False when over ``rate_limit``."""
        limit = self.rate_limit
        if not limit or limit <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            key = (service, action) if account in (None, DEFAULT_ACCOUNT) else (
                f"{account}/{service}", action)
            window = self._windows.setdefault(key, collections.deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True
