"""The SCF management API as ``courier deploy scf`` calls it: the account's site, the API's
address, and typed calls through tencentcloud-sdk-python-scf (the client built by
:mod:`shared.clouds.tencent`, quiet like every other)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

THROTTLE_WAITS_S = (0.5, 1.0, 2.0, 4.0)  # between tries of a throttled call (7.5 s in all)


def deploy_site(env: dict[str, str], function_env: dict[str, str]) -> str:
    """The account's site (``china`` / ``intl``) from the setting the providers read."""
    from deploy.scf_deploy import DeployError
    from shared.setting_names import ENV_TENCENT_SITE, TENCENT_SITES

    site = (env.get(ENV_TENCENT_SITE) or function_env.get(ENV_TENCENT_SITE) or "china")
    if site.lower() not in TENCENT_SITES:
        raise DeployError(f"{ENV_TENCENT_SITE}={site!r}: must be 'china' (tencentcloudapi.com) "
                          "or 'intl' (intl.tencentcloudapi.com)")
    return site.lower()


def scf_profile(endpoint: str | None, site: str) -> Any:
    """The SCF API's address: ``endpoint`` (a sandbox) or the site's domain over https, as
    the deploy's client is built (:func:`shared.clouds.tencent.http_profile`)."""
    from shared.clouds import tencent
    from shared.vendor_settings import TencentSettings

    return tencent.http_profile(TencentSettings("", "", endpoint=endpoint, site=site), "scf",
                                timeout_s=120)


def sdk_call(region: str, endpoint: str | None, env: dict[str, str], site: str = "china",
             sleep: Callable[[float], None] = time.sleep) -> Any:
    """``call(action, params)`` through tencentcloud-sdk-python-scf's typed client and models:
    a field the SDK does not know is an error here, not silently dropped. A call refused for
    the API's rate (``RequestLimitExceeded``, 20 a second for GetFunction) is made again after
    :data:`THROTTLE_WAITS_S`; any other refusal is the caller's to report."""
    from tencentcloud.scf.v20180416 import models, scf_client

    from deploy.scf_deploy import DeployError

    secret_id, secret_key = env.get("TENCENTCLOUD_SECRETID"), env.get("TENCENTCLOUD_SECRETKEY")
    if not secret_id or not secret_key:
        raise DeployError("TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY must be set in the "
                          "deploying shell (a CAM user or role allowed the scf: actions of "
                          "docs/deploy.md)")
    from shared.clouds import tencent
    from shared.vendor_settings import TencentSettings

    settings = TencentSettings(secret_id=secret_id, secret_key=secret_key,
                               token=env.get("TENCENTCLOUD_SESSIONTOKEN") or None,
                               region=region, endpoint=endpoint, site=site)
    client = tencent.client(settings, "scf", scf_client.ScfClient, timeout_s=120)

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        request = getattr(models, f"{action}Request")()
        known = set(vars(request))
        unknown = sorted(k for k in params if f"_{k}" not in known)
        if unknown:
            raise DeployError(f"{action}: the SDK's model has no field {', '.join(unknown)}")
        request._deserialize(json.loads(json.dumps(params)))
        for wait in (*THROTTLE_WAITS_S, None):
            try:
                answer = getattr(client, action)(request)
                break
            except Exception as exc:
                # a throttled call was refused before it acted: the same call again is safe
                if wait is None or not str(getattr(exc, "code", "")).startswith(
                        "RequestLimitExceeded"):
                    raise
                sleep(wait)
        result: dict[str, Any] = json.loads(answer.to_json_string())
        return result

    return call
