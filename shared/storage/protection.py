"""The bucket's protections on a written object: what the store was asked for
(:class:`~shared.write_options.WriteOptions`), what its HEAD shows, and what a refusal means.

Every object an S3, COS or OSS store writes under write options is looked at once written (HEAD,
and its tags when tags were asked): encryption and the KMS key, storage class, tags and
Object Lock retention must be what was asked (:func:`problems`). When they are not, the
object is removed and the write fails, not retried, naming the option
(:class:`ProtectionError`): an export is never delivered without the protection asked for.

A store that refuses an option (a bucket without Object Lock, an unknown KMS key, a storage
class it does not know) answers an error code; :func:`refusal` turns the codes S3, COS and
OSS give for them into the same error naming the option, in place of a bare ``400``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import StorageError
from shared.write_options import WriteOptions

STANDARD = "STANDARD"  # S3 and COS name no class on a HEAD of a STANDARD object (OSS: Standard)
LOCK_SLACK = timedelta(seconds=1)  # a retention date is kept to the second

# vendor error code -> the option it refuses (S3 error responses page; COS error codes; OSS
# "HTTP 404 errors": KeyNotFound, "The specified parameter KMS keyId is not found")
REFUSED_BY_CODE = {
    "KeyNotFound": "kms_key_id",
    "InvalidStorageClass": "storage_class",
    "InvalidObjectState": "storage_class",
    "KMS.NotFoundException": "kms_key_id",
    "KMS.DisabledException": "kms_key_id",
    "KMS.KMSInvalidStateException": "kms_key_id",
    "KMS.InvalidKeyUsageException": "kms_key_id",
    "KMS.AccessDeniedException": "kms_key_id",
    "InvalidEncryptionAlgorithmError": "sse",
    "InvalidTag": "tags",
}
# the codes several options share, and the words of their message that name the option
SHARED_CODES = frozenset({"InvalidRequest", "InvalidArgument", "AccessDenied", "BadRequest"})
REFUSED_BY_WORDS = (("lock", "retention"), ("retain", "retention"),
                    ("storage class", "storage_class"), ("storageclass", "storage_class"),
                    ("storage-class", "storage_class"),
                    ("kms", "kms_key_id"), ("encrypt", "sse"), ("tagging", "tags"),
                    ("tag ", "tags"))
HINTS = {
    "InvalidObjectState": "an object in an archive storage class cannot be read back, "
                          "which unpacking and a resumed copy do; move objects to archive "
                          "classes with a lifecycle rule instead",
}


class ProtectionError(StorageError):
    """An option the store refused, or a written object without what was asked: the
    export fails (retrying writes the same way)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, retryable=False, status=status)


@dataclass(frozen=True)
class Stored:
    """What a HEAD says of an object's protections (``sse``: ``AES256`` | ``kms`` | None)."""

    sse: str | None = None
    kms_key_id: str | None = None
    storage_class: str = STANDARD
    lock_mode: str | None = None
    lock_until: datetime | None = None


def same_key(asked: str, stored: str | None) -> bool:
    """Whether the key a HEAD names (often the key's ARN) is the key asked for (its id or
    ARN)."""
    if not stored:
        return False
    return stored == asked or stored.endswith(("/" + asked, ":" + asked))


def problems(options: WriteOptions, stored: Stored, tags: dict[str, str] | None,
             retain_until: datetime | None) -> list[str]:
    """What the stored object lacks of ``options``, each naming the option (none: all
    there). ``tags``: the object's tags (None when none were asked); ``retain_until``: the
    date asked for this object."""
    out = []
    if options.sse and stored.sse != options.sse:
        out.append(f"{options.where('sse')}: asked for {options.sse}, the stored object is "
                   f"{stored.sse or 'not encrypted'}")
    if options.kms_key_id and not same_key(options.kms_key_id, stored.kms_key_id):
        out.append(f"{options.where('kms_key_id')}: the stored object is encrypted with "
                   f"{stored.kms_key_id or 'no KMS key'}, not {options.kms_key_id}")
    if options.storage_class and stored.storage_class != options.storage_class:
        out.append(f"{options.where('storage_class')}: asked for {options.storage_class}, "
                   f"the stored object is {stored.storage_class}")
    for key, value in options.tags:
        if (tags or {}).get(key) != value:
            out.append(f"{options.where('tags')}.{key}: the stored object's tag is "
                       f"{(tags or {}).get(key)!r}, not {value!r}")
    wanted = options.retention
    if wanted is not None:
        until = stored.lock_until
        if stored.lock_mode != wanted.mode or until is None or (
                retain_until is not None and until < retain_until - LOCK_SLACK):
            shown = f"{stored.lock_mode} until {until.isoformat()}" if (
                stored.lock_mode and until) else "not locked"
            out.append(f"{options.where('retention')}: asked for {wanted.mode} until "
                       f"{retain_until.isoformat() if retain_until else '?'}, the stored "
                       f"object is {shown}")
    return out


def refusal(options: WriteOptions, vendor: str, status: int, code: str, message: str
            ) -> ProtectionError | None:
    """The store's refusal of an option asked, as an error naming it; None when the error
    is about something else (or no option was asked)."""
    if options.empty or status < 400 or status >= 500:
        return None
    field = REFUSED_BY_CODE.get(code)
    if field is None and code in SHARED_CODES:
        words = f"{code} {message}".lower()
        field = next((f for word, f in REFUSED_BY_WORDS if word in words), None)
    if field == "kms_key_id" and not options.kms_key_id:
        field = "sse"  # KMS with the account's default key: the refusal is of "kms"
    if field is None or field not in options.asked():
        return None
    said = " ".join(message.split())[:200]
    hint = HINTS.get(code)
    return ProtectionError(f"{options.where(field)}: {vendor} refused it ({status} {code}"
                           f"{': ' + said if said else ''})" + (f"; {hint}" if hint else ""),
                           status)
