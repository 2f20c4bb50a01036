"""Checking COS request signatures (``q-sign-algorithm=sha1``) the way the service does.

Self-contained on purpose: the sandbox must not import the bundle (``shared``).

A signed request carries, in the ``Authorization`` header or as query parameters (presigned
URLs), ``q-ak`` (the SecretId), ``q-sign-time`` / ``q-key-time`` (``start;end`` epoch
seconds), ``q-header-list`` / ``q-url-param-list`` (the lower-cased names that were signed)
and ``q-signature``. The server rebuilds::

    http_string = method \\n path \\n k=v&… (signed params) \\n k=v&… (signed headers) \\n
    string_to_sign = "sha1" \\n q-sign-time \\n sha1hex(http_string) \\n
    sign_key = hmac_sha1hex(secret_key, q-key-time)
    signature = hmac_sha1hex(sign_key, string_to_sign)

where names are lower-cased and names and values are percent-encoded with ``-_.~`` left
alone, pairs sorted by name. Temporary credentials also need ``x-cos-security-token``
(header or query) equal to the token they were issued with, until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

SAFE = "-_.~"
TOKEN_HEADER = "x-cos-security-token"


@dataclass(frozen=True)
class Credential:
    secret_id: str
    secret_key: str
    token: str | None = None  # temporary credentials carry a session token
    expires_at: float | None = None  # epoch seconds; None = permanent

    def __repr__(self) -> str:
        return f"Credential(secret_id={self.secret_id!r}, temporary={self.token is not None})"


class CosAuthError(Exception):
    """Why a request was refused, as COS would say it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class CredentialStore:
    """The SecretIds the gateway accepts; thread-safe, changeable at run time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._creds: dict[str, Credential] = {}

    def add(self, secret_id: str, secret_key: str, token: str | None = None,
            expires_in: float | None = None) -> Credential:
        cred = Credential(secret_id, secret_key, token,
                          None if expires_in is None else time.time() + expires_in)
        with self._lock:
            self._creds[secret_id] = cred
        return cred

    def issue_temporary(self, expires_in: float = 1800.0) -> Credential:
        """Fresh temporary credentials (like STS ``GetFederationToken``)."""
        return self.add("AKIDtmp" + secrets.token_hex(12), secrets.token_urlsafe(24),
                        token=secrets.token_urlsafe(48), expires_in=expires_in)

    def revoke(self, secret_id: str) -> None:
        with self._lock:
            self._creds.pop(secret_id, None)

    def get(self, secret_id: str) -> Credential | None:
        with self._lock:
            return self._creds.get(secret_id)


def _enc(text: str) -> str:
    return quote(text.encode("utf-8"), SAFE)


def _hmac_hex(key: str, msg: str) -> str:
    return hmac.new(key.encode("utf-8"), msg.encode("utf-8"), hashlib.sha1).hexdigest()


def _parse_auth(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.split("&"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def string_to_sign(method: str, path: str, params: Mapping[str, str],
                   headers: Mapping[str, str], sign_time: str) -> str:
    """The string the signature covers (params/headers: lower-cased name → raw value)."""
    p = sorted((_enc(k).lower(), _enc(v)) for k, v in params.items())
    h = sorted((_enc(k).lower(), _enc(v)) for k, v in headers.items())
    http_string = "\n".join([
        method.lower(), path,
        "&".join(f"{k}={v}" for k, v in p),
        "&".join(f"{k}={v}" for k, v in h),
    ]) + "\n"
    digest = hashlib.sha1(http_string.encode("utf-8")).hexdigest()
    return f"sha1\n{sign_time}\n{digest}\n"


def sign(secret_key: str, method: str, path: str, params: Mapping[str, str],
         headers: Mapping[str, str], key_time: str) -> str:
    return _hmac_hex(_hmac_hex(secret_key, key_time),
                     string_to_sign(method, path, params, headers, key_time))


def verify(method: str, path: str, query: str, headers: Mapping[str, str],
           credentials: CredentialStore, *, now: float | None = None) -> Credential:
    """Check one request; ``path`` is the object path as signed (``/key``, decoded),
    ``query`` the raw query string, ``headers`` with lower-cased names. Returns the
    credential that signed it or raises :class:`CosAuthError`."""
    now = time.time() if now is None else now
    query_pairs = parse_qsl(query, keep_blank_values=True)
    qdict = {k.lower(): v for k, v in query_pairs}
    header_auth = headers.get("authorization", "")
    if header_auth:
        auth = _parse_auth(header_auth)
    elif "q-signature" in qdict:
        auth = {k: v for k, v in qdict.items() if k.startswith("q-")}
    else:
        raise CosAuthError(403, "AccessDenied", "Access Denied.")
    for field in ("q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-signature"):
        if field not in auth:
            raise CosAuthError(403, "AccessDenied", f"{field} is missing")
    if auth["q-sign-algorithm"] != "sha1":
        raise CosAuthError(400, "InvalidArgument", "unsupported q-sign-algorithm")
    cred = credentials.get(auth["q-ak"])
    if cred is None:
        raise CosAuthError(403, "InvalidAccessKeyId", "The Access Key Id you provided "
                                                      "does not exist in our records.")
    try:
        start, end = (int(x) for x in auth["q-sign-time"].split(";"))
    except ValueError as exc:
        raise CosAuthError(403, "AccessDenied", "malformed q-sign-time") from exc
    if not start - 300 <= now <= end:
        raise CosAuthError(403, "AccessDenied", "Request has expired")
    if cred.token is not None:
        presented = headers.get(TOKEN_HEADER) or qdict.get(TOKEN_HEADER)
        if presented != cred.token:
            raise CosAuthError(403, "InvalidAccessKeyId" if presented is None
                               else "AccessDenied", "the security token is missing or wrong")
    if cred.expires_at is not None and now > cred.expires_at:
        raise CosAuthError(400, "ExpiredToken", "The provided token has expired.")

    header_names = [n for n in unquote(auth.get("q-header-list", "")).split(";") if n]
    param_names = [n for n in unquote(auth.get("q-url-param-list", "")).split(";") if n]
    signed_params: dict[str, str] = {}
    for name in param_names:
        matches = [v for k, v in query_pairs if _enc(k).lower() == name]
        if not matches:
            raise CosAuthError(403, "AccessDenied", f"signed parameter {name} is missing")
        signed_params[name] = matches[0]
    candidates = [dict[str, str]()]
    for name in header_names:
        value = headers.get(unquote(name))
        if value is None:
            raise CosAuthError(403, "AccessDenied", f"signed header {name} is missing")
        if name == "host" and ":" in value:
            # a presigned URL signs the hostname; the browser sends host:port
            candidates = [{**c, name: v} for c in candidates for v in (value,
                                                                      value.rsplit(":", 1)[0])]
        else:
            candidates = [{**c, name: value} for c in candidates]
    for signed_headers in candidates:
        expected = sign(cred.secret_key, method, path, signed_params, signed_headers,
                        auth["q-key-time"])
        if hmac.compare_digest(expected, auth["q-signature"]):
            return cred
    raise CosAuthError(403, "SignatureDoesNotMatch", "The Signature you specified does "
                                                     "not match what we calculated.")
