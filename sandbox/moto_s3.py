"""Where moto's S3 departs from S3 on Object Lock, SSE-KMS keys and unknown upload ids, put
right in front of its WSGI app (:func:`sandbox.servers.start_moto` wraps every moto it
starts). Sources: SOURCES.md, "S3 Object Lock, KMS keys and unknown uploads in moto".

* **CreateMultipartUpload keeps the lock asked.** S3 takes ``x-amz-object-lock-mode`` and
  ``x-amz-object-lock-retain-until-date`` on CreateMultipartUpload and the completed object
  carries them; a bucket without Object Lock refuses them (``400 InvalidRequest``). moto
  5.2.6 reads neither header there: the wrapper refuses them the same way for a bucket
  without Object Lock, and sets them on the object once the upload is completed.
* **CopyObject needs no Content-MD5 for a lock.** CopyObject has no body and no request
  checksum in S3's model; moto asks every PUT carrying a lock for ``Content-MD5`` or
  ``x-amz-sdk-checksum-algorithm``. The wrapper marks such a copy as checksummed.
* **An unknown KMS key is refused.** S3 answers a write naming a KMS key that does not exist
  ``400 KMS.NotFoundException`` ("Invalid keyId …"); moto keeps any key id. The wrapper
  looks the key up in the same moto's KMS (region from the request's signature), so a test
  makes its key there first.
* **An upload id of no upload is NoSuchUpload.** S3 answers UploadPart, UploadPartCopy and
  CompleteMultipartUpload naming an upload that was never begun, was aborted or completed
  with ``404 NoSuchUpload``; moto 5.2.6 looks such an id up unguarded and answers
  ``500 InternalError`` (its ListParts and AbortMultipartUpload already answer the 404).
  The wrapper answers the 404 itself when the bucket exists and holds no such upload
  (:func:`unknown_upload_fix`). The COS and OSS gateways in front of moto pass it on.

Requests are read path-style (``/<bucket>/<key>``), as the tests' clients send them.
Must not import ``shared``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qs, unquote

LOCK_MODE = "HTTP_X_AMZ_OBJECT_LOCK_MODE"
LOCK_UNTIL = "HTTP_X_AMZ_OBJECT_LOCK_RETAIN_UNTIL_DATE"
KMS_KEY = "HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"
NOT_WRITES = frozenset({"partNumber", "tagging", "retention", "legal-hold", "acl"})
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _known_key(key_id: str, environ: dict[str, Any]) -> bool:
    """Whether ``key_id`` (id, ARN or alias) names a key of moto's KMS in the request's
    region."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.kms.models import kms_backends

    found = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    try:
        backend = kms_backends[DEFAULT_ACCOUNT_ID][found.group(1) if found else "us-east-1"]
        return backend.any_id_to_key_id(key_id) in backend.keys
    except Exception:  # noqa: BLE001 - an alias of nothing, a malformed id: not a key
        return False


def _answer(start_response: Callable[..., Any], code: str, message: str,
            status: str = "400 Bad Request") -> list[bytes]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error>").encode()
    start_response(status, [("Content-Type", "application/xml"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _no_such_upload(bucket_name: str, upload_id: str) -> bool:
    """Whether ``bucket_name`` exists (in any account of this moto) and holds no multipart
    upload ``upload_id`` in progress. A missing bucket is left to moto (``NoSuchBucket``)."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None:
        return False
    partition, account_id = owner
    bucket = s3_backends[account_id][partition].buckets.get(bucket_name)
    return bucket is not None and upload_id not in bucket.multiparts


def unknown_upload_fix(app: App) -> App:
    """``app`` answering UploadPart, UploadPartCopy and CompleteMultipartUpload of an upload id
    its bucket does not hold ``404 NoSuchUpload``, as S3 does (moto: ``500``)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        names_upload = "uploadId" in query and (
            (method == "PUT" and "partNumber" in query) or method == "POST")
        if names_upload:
            bucket, _ = _bucket_and_key(environ)
            if _no_such_upload(bucket, query["uploadId"][0]):
                return _answer(start_response, "NoSuchUpload",
                               "No multipart upload in progress has this upload id: it was "
                               "never begun, or was aborted or completed.", "404 Not Found")
        return app(environ, start_response)

    return wrapped


def _bucket_and_key(environ: dict[str, Any]) -> tuple[str, str]:
    bucket, _, key = unquote(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
    return bucket, key


def object_lock_fixes(app: App) -> App:
    """``app`` with the two departures of the module doc put right."""
    locks: dict[str, tuple[str, str]] = {}  # upload id -> (mode, retain-until) asked
    guard = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        mode, until = environ.get(LOCK_MODE), environ.get(LOCK_UNTIL)
        if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE") and (mode or until):
            environ.setdefault("HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM", "CRC32")
        writing = (method == "PUT" and not NOT_WRITES & set(query)) or (
            method == "POST" and "uploads" in query)
        key_id = environ.get(KMS_KEY)
        if writing and key_id and not _known_key(key_id, environ):
            return _answer(start_response, "KMS.NotFoundException", f"Invalid keyId {key_id}")
        starting = method == "POST" and "uploads" in query and bool(mode and until)
        completing = method == "POST" and "uploadId" in query
        if starting:
            bucket, _ = _bucket_and_key(environ)
            known = _backend().buckets.get(bucket)
            if known is not None and not known.object_lock_enabled:
                return _answer(start_response, "InvalidRequest",
                               "Bucket is missing ObjectLockConfiguration")
        status: list[str] = []

        def remember(code: str, headers: list[Any], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        body = list(app(environ, remember))
        ok = bool(status) and status[0].startswith("200")
        if ok and starting:
            found = re.search(rb"<UploadId>([^<]+)</UploadId>", b"".join(body))
            if found:
                with guard:
                    locks[found.group(1).decode()] = (str(mode), str(until))
        elif ok and completing:
            with guard:
                asked = locks.pop(query["uploadId"][0], None)
            if asked is not None:
                bucket, key = _bucket_and_key(environ)
                obj = _backend().get_object(bucket, key)
                if obj is not None:
                    obj.lock_mode, obj.lock_until = asked
        return body

    return wrapped
