"""Secrets scrubbed out of every text that leaves the bundle.

One :class:`Redactor` per process guards what a person or a client gets to read: every
``CourierError``'s text as it is made (so the problem answers, the ``error`` an export stores
and GET, the CLI, the status page and the ``export.failed`` webhook show, and the timer's
answer), the reason an export failed for, and every log record (:mod:`shared.runtime.logs`).
It is process-wide like logging itself: errors are raised deep in library code, far from any
app object, and must be clean by the time anyone sees them.

It masks, in this order:

* every secret value it was told of (:func:`learn`; the settings say which of theirs are
  secret: API keys, webhook secrets, cloud keys, the state store's password and every value
  read from a secret store);
* the password of a URL's user info (``scheme://user:PASSWORD@host``);
* the signature, credential and token parameters of a query string (presigned links:
  ``Signature=``, ``q-signature=``, ``X-Amz-Signature=``, ``q-ak=``, ``security-token=`` …).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "[redacted]"
MIN_SECRET_LEN = 6  # shorter values are too likely to be ordinary words
# scheme://user:password@ — the password is masked, the user kept
USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\"'<>]*:)[^\s/?#@\"'<>]+@")
# query parameters of presigned links that sign or authorise (AWS v2/v4, COS, OSS, STS tokens)
SIGNED_PARAM = re.compile(
    r"([?&](?:[\w.-]*(?:signature|credential|token|accesskeyid|secret|password)[\w.-]*"
    r"|q-ak|sign)=)[^&\s\"'<>#]*", re.IGNORECASE)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self.secrets: tuple[str, ...] = ()
        self.learn(secrets)

    def learn(self, secrets: Iterable[str]) -> None:
        """Mask these values from now on (values already known stay masked: a rotated-out
        secret may still be quoted by an error about an old connection)."""
        with self._lock:
            known = set(self.secrets) | {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
            self.secrets = tuple(sorted(known, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
        return SIGNED_PARAM.sub(lambda m: f"{m.group(1)}{MASK}", text)


REDACTOR = Redactor()


def scrub(text: str) -> str:
    """``text`` with every secret the process knows of masked (see the module docstring)."""
    return REDACTOR.scrub(text)


def learn(secrets: Iterable[str]) -> None:
    """Mask these values in every text from now on."""
    REDACTOR.learn(secrets)


def url_passwords(url: str) -> list[str]:
    """The password of ``url``'s user info, as written and percent-decoded."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []
