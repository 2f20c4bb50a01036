"""Accounts, roles and STS ``AssumeRole`` of Tencent Cloud and Alibaba Cloud.

**Accounts.** Every key belongs to an account: the sandbox's own keys to
:data:`DEFAULT_ACCOUNT`, the temporary keys a role hands out to the role's account (the uin
or account id its ARN names). A resource may be given an owner (:meth:`Accounts.own`); a
call on it signed with another account's keys is answered as the vendor answers a resource
the caller's account does not have: CLS ``ResourceNotFound.TopicNotExist`` (the CLS API
pages' code for a topic that does not exist), DMS ``InvalidTid`` (its code for a tenant the
caller is not a member of). A resource without an owner is every account's, as before.

**Tencent STS ``AssumeRole``** (service ``sts``, API 2018-08-13; cloud.tencent.com
1312/48197, tencentcloud.com 1150/49456): ``RoleArn`` and ``RoleSessionName`` required,
``DurationSeconds`` 0–43200 (default 7200), ``ExternalId`` optional. The answer holds
``Credentials`` (``Token``, ``TmpSecretId``, ``TmpSecretKey``), ``ExpiredTime`` (unix
seconds) and ``Expiration`` (ISO 8601). Codes from the error list of that page and the
SDK's ``sts/v20180813`` client: ``ResourceNotFound.RoleNotFound`` (no such role),
``UnauthorizedOperation`` (the role's trust refuses the caller: here, an external id that
does not match), ``InvalidParameter.OverTimeError`` (a duration past the maximum).

**Alibaba STS ``AssumeRole``** (RPC, API 2015-04-01; help.aliyun.com "AssumeRole",
api-sts-2015-04-01-assumerole): ``RoleArn``, ``RoleSessionName`` required,
``DurationSeconds`` 900 up to the role's maximum (3600 by default), ``ExternalId``
optional. The answer holds ``RequestId``, ``AssumedRoleUser`` (``Arn``, ``AssumedRoleId``)
and ``Credentials`` (``AccessKeyId``, ``AccessKeySecret``, ``SecurityToken``,
``Expiration`` ISO 8601 UTC). Refusals as the page and Alibaba's STS error FAQ give them:
``EntityNotExist.Role`` (404), ``NoPermission`` (403, "You are not authorized to do this
action. You should be authorized by RAM."), ``InvalidParameter.DurationSeconds`` (400).

Neither SDK's STS models are installed here: the answers are held against the fields of
these pages (:mod:`sandbox.page_models`, read by :mod:`sandbox.conformance`).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from sandbox.acs3 import AccessKey, AcsError, NonceCache, answer_json, gateway_error, verify
from sandbox.errors import ApiError
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

DEFAULT_ACCOUNT = "100000000001"
ALIBABA_VERSION = "2015-04-01"
ALIBABA_MAX_S = 3600  # a RAM role's default maximum session
_ROLE_ACCOUNT = re.compile(r"^(?:qcs::cam::uin/|acs:ram::)(\d+):")
# service -> (the request field naming the resource, the code of "your account has none")
OWNED = {"cls": ("TopicId", "ResourceNotFound.TopicNotExist")}

class Accounts:
    """Which account each key belongs to, the roles that can be assumed, who owns what."""

    def __init__(self) -> None:
        self.key_owner: dict[str, str] = {}  # key id -> account (absent: DEFAULT_ACCOUNT)
        self.roles: dict[str, Optional[str]] = {}  # role ARN -> the external id it wants
        self.owners: dict[tuple[str, str], str] = {}  # (service, resource id) -> account
        # (service, action, account, region) of every signed Tencent call, for tests to read
        self.seen: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()

    def add_role(self, arn: str, external_id: Optional[str] = None) -> str:
        """A role that can be assumed (by any caller: the trust policy lets the deployment
        in), wanting ``external_id`` when given; returns its account (from the ARN)."""
        m = _ROLE_ACCOUNT.match(arn)
        if not m:
            raise ValueError(f"not a CAM or RAM role ARN: {arn}")
        with self._lock:
            self.roles[arn] = external_id
        return m.group(1)

    def own(self, service: str, resource: str, account: str) -> None:
        with self._lock:
            self.owners[(service, str(resource))] = account

    def account_of(self, key_id: str) -> str:
        with self._lock:
            return self.key_owner.get(key_id, DEFAULT_ACCOUNT)

    def bind(self, key_id: str, account: str) -> None:
        with self._lock:
            self.key_owner[key_id] = account

    def owner(self, service: str, resource: Any) -> Optional[str]:
        with self._lock:
            return self.owners.get((service, str(resource)))

    def saw(self, service: Optional[str], action: Optional[str], key_id: str,
            region: Optional[str]) -> None:
        account = self.account_of(key_id)
        with self._lock:
            self.seen.append((service or "", action or "", account, region or ""))

    def check_tencent(self, service: Optional[str], data: dict[str, Any], key_id: str) -> None:
        """A call on a resource another account owns: the vendor's "not found" code."""
        field, code = OWNED.get(service or "", ("", ""))
        owner = self.owner(service or "", data.get(field)) if field in data else None
        if owner is not None and owner != self.account_of(key_id):
            raise ApiError(code, f"{field} {data.get(field)} does not exist")

    def role(self, arn: str, external_id: Optional[str]) -> Optional[tuple[str, bool]]:
        """(account, external id matches) of a known role; None for an unknown one."""
        m = _ROLE_ACCOUNT.match(arn)
        with self._lock:
            if m is None or arn not in self.roles:
                return None
            wanted = self.roles[arn]
        return m.group(1), wanted is None or wanted == external_id


class TencentStsService:
    service = "sts"
    version = "2018-08-13"

    def __init__(self, sandbox: Host, accounts: Accounts,
                 issue: Callable[[float], tuple[str, str, str]]) -> None:
        self.sb = sandbox
        self.accounts = accounts
        self.issue = issue  # temporary keys for a lifetime (sandbox seconds)
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "AssumeRole": self.assume_role}

    def assume_role(self, params: Params) -> dict[str, Any]:
        arn = params.text("RoleArn", required=True, allow_empty=False) or ""
        params.text("RoleSessionName", required=True, allow_empty=False)
        duration = params.integer("DurationSeconds", default=7200) or 0
        if not 0 <= duration <= 43200:
            raise ApiError("InvalidParameter.OverTimeError",
                           "DurationSeconds must be at most 43200")
        found = self.accounts.role(arn, params.text("ExternalId"))
        if found is None:
            raise ApiError("ResourceNotFound.RoleNotFound", f"role {arn} does not exist")
        account, trusted = found
        if not trusted:
            raise ApiError("UnauthorizedOperation", f"the trust policy of {arn} refuses "
                                                    "this caller (ExternalId)")
        secret_id, secret_key, token = self.issue(float(duration))
        self.accounts.bind(secret_id, account)
        expires = int(self.sb.clock.now() + duration)
        return {"Credentials": {"Token": token, "TmpSecretId": secret_id,
                                "TmpSecretKey": secret_key},
                "ExpiredTime": expires,
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))}


class AlibabaSts:
    """Alibaba STS ``AssumeRole`` on the sandbox's RPC door (``x-acs-action: AssumeRole``),
    signed as every call is (ACS3, :mod:`sandbox.acs3`) with the DMS door's keys; the keys it
    hands out are added to them, bound to the role's account."""

    def __init__(self, sandbox: Host, accounts: Accounts, keys: dict[str, AccessKey]) -> None:
        self.sb = sandbox
        self.accounts = accounts
        self.keys = keys
        self.expiry: dict[str, float] = {}  # temporary key -> when it expires (sandbox time)
        self._nonces = NonceCache()

    def lookup(self, access_key_id: str) -> Optional[AccessKey]:
        """A key, unless it is a temporary one past its expiry."""
        expires = self.expiry.get(access_key_id)
        if expires is not None and self.sb.clock.now() >= expires:
            return None
        return self.keys.get(access_key_id)

    def handle(self, h: Any, method: str) -> None:
        request_id = str(uuid.uuid4()).upper()
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if 0 < length <= 64 * 1024 else b""
        self.sb.count("sts", "AssumeRole")
        split = urlsplit(h.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        if body and "x-www-form-urlencoded" in (h.headers.get("Content-Type") or ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        fault = self.sb.faults.take("sts", "AssumeRole")
        try:
            if fault is not None and fault.kind == "error":  # a 5xx for the service's own
                raise AcsError(503 if fault.code.startswith(("ServiceUnavailable",
                                                            "InternalError")) else 400,
                               fault.code, fault.message or fault.code)
            if method != "POST" or split.path != "/":
                raise AcsError(404, "InvalidAction.NotFound", "Specified api is not found.")
            verify(method, split.path, split.query, lambda n: h.headers.get_all(n) or [],
                   body, self.lookup, self._nonces)
            if h.headers.get("x-acs-version") != ALIBABA_VERSION:
                raise AcsError(400, "InvalidVersion", "Specified parameter Version is not "
                                                      "valid.")
            answer = self.assume_role(params, request_id)
        except AcsError as err:
            gateway_error(h, err.status, err.code, err.message, request_id)
            return
        self.sb.conformance.page("alibaba", "AssumeRole", params, answer)
        answer_json(h, 200, answer)

    def assume_role(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
        for name in ("RoleArn", "RoleSessionName"):
            if not params.get(name):
                raise AcsError(400, "MissingParameter", f'The input parameter "{name}" that '
                               "is mandatory for processing this request is not supplied.")
        arn = params["RoleArn"]
        raw = params.get("DurationSeconds") or "3600"
        duration = int(raw) if raw.isdigit() else -1
        if not 900 <= duration <= ALIBABA_MAX_S:
            raise AcsError(400, "InvalidParameter.DurationSeconds",
                           f"The Min/Max value of DurationSeconds is 15min/{ALIBABA_MAX_S}s.")
        found = self.accounts.role(arn, params.get("ExternalId"))
        if found is None:
            raise AcsError(404, "EntityNotExist.Role", f"The role not exists: {arn}.")
        account, trusted = found
        if not trusted:
            raise AcsError(403, "NoPermission", "You are not authorized to do this action. "
                                                "You should be authorized by RAM.")
        access_key_id = "STS." + secrets.token_hex(12)
        key = AccessKey(access_key_id, secrets.token_urlsafe(24), secrets.token_urlsafe(48))
        self.keys[access_key_id] = key
        self.expiry[access_key_id] = self.sb.clock.now() + duration
        self.accounts.bind(access_key_id, account)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                time.gmtime(self.sb.clock.now() + duration))
        session = params["RoleSessionName"]
        return {"RequestId": request_id,
                "AssumedRoleUser": {"Arn": f"{arn}/{session}",
                                    "AssumedRoleId": f"{secrets.randbelow(10**18)}:{session}"},
                "Credentials": {"AccessKeyId": access_key_id,
                                "AccessKeySecret": key.secret,
                                "SecurityToken": key.security_token or "",
                                "Expiration": expires}}
