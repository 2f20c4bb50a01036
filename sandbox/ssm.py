"""Tencent Cloud Secrets Manager (service ``ssm``, API 2019-09-23): reading secrets.

Written from the GetSecretValue and ListSecretVersionIds API pages (cloud.tencent.com
1140/40522, tencentcloud.com 1078/38649 and 1078/38647) and the SDK model
(``ssm/v20190923/models.py``: GetSecretValueRequest/Response, ListSecretVersionIdsResponse,
VersionInfo; ``errorcodes.py``). ``SecretName`` and ``VersionId`` are both required; a
version holds either ``SecretString`` or ``SecretBinary`` (base64), never both. A disabled
secret gives no plaintext (DisableSecret page, 1140/40525).

Assumptions (no page settles them): an unknown version of an existing secret is
``ResourceNotFound``; ``SSM_Current`` (the documented name of a rotated product secret's
version in use) reads the newest version of any secret.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from sandbox.errors import ApiError
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

CURRENT = "SSM_Current"


class SsmService:
    service = "ssm"
    version = "2019-09-23"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        # name -> {"status": Enabled|Disabled|PendingDelete, "versions": {id: version}}
        self.secrets: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "GetSecretValue": self.get_secret_value,
            "ListSecretVersionIds": self.list_versions,
        }

    # -- scenario knobs (what a user does in the console or with CreateSecret/PutSecretValue) --

    def put(self, name: str, value: str | bytes, version: str = "v1",
            created: Optional[int] = None) -> None:
        """Store ``value`` as ``version`` of secret ``name`` (created if new); text goes in
        ``SecretString``, bytes in ``SecretBinary``. Rewriting a version is UpdateSecret.
        ``created`` sets a new version's CreateTime (unix seconds: two versions made in one
        second share it); by default it is now, and later than every other version's."""
        entry: dict[str, Any] = {}
        if isinstance(value, bytes):
            entry["binary"] = base64.b64encode(value).decode()
        else:
            entry["string"] = value
        with self._lock:
            secret = self.secrets.setdefault(name, {"status": "Enabled", "versions": {}})
            versions = secret["versions"]
            old = versions.get(version)
            # CreateTime is unix seconds; a later version never reads as older
            entry["created"] = old["created"] if old is not None else created if (
                created is not None) else max(
                [int(time.time()), *(e["created"] + 1 for e in versions.values())])
            entry["seq"] = old["seq"] if old is not None else len(versions)
            versions[version] = entry

    def set_status(self, name: str, status: str) -> None:
        """``Enabled``, ``Disabled`` or ``PendingDelete`` (DisableSecret, DeleteSecret)."""
        if status not in ("Enabled", "Disabled", "PendingDelete"):
            raise ValueError("Status: Enabled, Disabled or PendingDelete")
        with self._lock:
            if name not in self.secrets:
                raise ValueError(f"no secret {name}")
            self.secrets[name]["status"] = status

    # -- actions -----------------------------------------------------------------------------

    def _secret(self, params: Params) -> tuple[str, dict[str, Any]]:
        name = params.text("SecretName", required=True, allow_empty=False) or ""
        with self._lock:
            secret = self.secrets.get(name)
        if secret is None:
            raise ApiError("ResourceNotFound.SecretNotExist", f"secret {name} does not exist")
        return name, secret

    def get_secret_value(self, params: Params) -> dict[str, Any]:
        name, secret = self._secret(params)
        version_id = params.text("VersionId", required=True, allow_empty=False) or ""
        status = secret["status"]
        if status == "Disabled":
            raise ApiError("ResourceUnavailable.ResourceDisabled", f"secret {name} is disabled")
        if status == "PendingDelete":
            raise ApiError("ResourceUnavailable.ResourcePendingDeleted",
                           f"secret {name} is scheduled for deletion")
        versions = secret["versions"]
        if version_id == CURRENT and versions:
            version_id = max(versions, key=lambda v: (versions[v]["created"],
                                                      versions[v]["seq"]))
        entry: Optional[dict[str, Any]] = versions.get(version_id)
        if entry is None:
            raise ApiError("ResourceNotFound", f"secret {name} has no version {version_id}")
        return {"SecretName": name, "VersionId": version_id,
                "SecretString": entry.get("string", ""),
                "SecretBinary": entry.get("binary", "")}

    def list_versions(self, params: Params) -> dict[str, Any]:
        name, secret = self._secret(params)
        # newest first, as the documented example lists them (CreateTime descending)
        versions = [{"VersionId": v, "CreateTime": e["created"]}
                    for v, e in sorted(secret["versions"].items(), reverse=True,
                                       key=lambda item: (item[1]["created"], item[1]["seq"]))]
        return {"SecretName": name, "Versions": versions}
