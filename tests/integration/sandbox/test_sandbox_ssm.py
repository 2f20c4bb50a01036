"""The Secrets Manager emulator through tencentcloud-sdk-python-ssm, TC3-signed."""

from __future__ import annotations

import pytest
import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ssm.v20190923 import models
from tencentcloud.ssm.v20190923.ssm_client import SsmClient

from sandbox import Sandbox

pytestmark = pytest.mark.integration


def client(sb: Sandbox, secret_key: str | None = None, token: str | None = None,
           secret_id: str | None = None, region: str = "ap-guangzhou") -> SsmClient:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=sb.endpoint,
                                                    reqMethod="POST"))
    cred = Credential(secret_id or sb.secret_id, secret_key or sb.secret_key, token)
    return SsmClient(cred, region, profile)


def get(c: SsmClient, name: str, version: str | None) -> models.GetSecretValueResponse:
    request = models.GetSecretValueRequest()
    request.SecretName = name
    if version is not None:
        request.VersionId = version
    return c.GetSecretValue(request)


def test_text_and_binary_versions_and_the_version_list(sb: Sandbox) -> None:
    sb.ssm.put("courier-keys", "key-one", version="v1")
    sb.ssm.put("courier-keys", b"\x00raw", version="v2")
    c = client(sb)
    one = get(c, "courier-keys", "v1")
    assert (one.SecretName, one.VersionId, one.SecretString, one.SecretBinary) == (
        "courier-keys", "v1", "key-one", "")
    two = get(c, "courier-keys", "v2")
    assert (two.SecretString, two.SecretBinary) == ("", "AHJhdw==")
    listed = models.ListSecretVersionIdsRequest()
    listed.SecretName = "courier-keys"
    versions = c.ListSecretVersionIds(listed).Versions
    assert [v.VersionId for v in versions] == ["v2", "v1"]  # newest first
    assert versions[0].CreateTime > versions[1].CreateTime
    assert get(c, "courier-keys", "SSM_Current").VersionId == "v2"


def test_versions_are_listed_newest_first_as_in_the_example(sb: Sandbox) -> None:
    # the documented example lists v1, v2, v3 with CreateTime descending
    for version, created in (("v3", 1730271414), ("v2", 1730278706), ("v1", 1730278717)):
        sb.ssm.put("test3-secret", "x", version=version, created=created)
    listed = models.ListSecretVersionIdsRequest()
    listed.SecretName = "test3-secret"
    versions = client(sb).ListSecretVersionIds(listed).Versions
    assert [(v.VersionId, v.CreateTime) for v in versions] == [
        ("v1", 1730278717), ("v2", 1730278706), ("v3", 1730271414)]


def test_the_reader_takes_the_newest_version_even_within_one_second(sb: Sandbox) -> None:
    from shared.secret_stores.references import Reference
    from shared.secret_stores.tencent import tencent_secret
    from shared.vendor_settings import TencentSettings

    # GIVEN two versions made in the same second: "b-old", then "a-new"
    sb.ssm.put("rotated", "old value", version="b-old", created=1730278700)
    sb.ssm.put("rotated", "new value", version="a-new", created=1730278700)
    settings = TencentSettings(sb.secret_id, sb.secret_key, endpoint=sb.url)
    # WHEN a reference without a version is read
    value = tencent_secret(Reference("COURIER_API_KEYS", "tencent-ssm", "rotated"), settings)
    # THEN it is the version listed first (newest), not the larger version name
    assert value == "new value"


@pytest.mark.parametrize(("setup", "name", "version", "code"), [
    ("none", "nope", "v1", "ResourceNotFound.SecretNotExist"),
    ("plain", "s", "v9", "ResourceNotFound"),
    ("plain", "s", None, "MissingParameter"),
    ("Disabled", "s", "v1", "ResourceUnavailable.ResourceDisabled"),
    ("PendingDelete", "s", "v1", "ResourceUnavailable.ResourcePendingDeleted"),
], ids=["unknown-secret", "unknown-version", "no-version", "disabled", "pending-delete"])
def test_refusals_carry_the_documented_codes(sb: Sandbox, setup: str, name: str,
                                             version: str | None, code: str) -> None:
    if setup != "none":
        sb.ssm.put("s", "value", version="v1")
    if setup not in ("none", "plain"):
        sb.ssm.set_status("s", setup)
    with pytest.raises(TencentCloudSDKException) as caught:
        get(client(sb), name, version)
    assert caught.value.code == code


def test_signature_token_and_region_are_checked(sb: Sandbox) -> None:
    sb.ssm.put("s", "value")
    with pytest.raises(TencentCloudSDKException) as caught:
        get(client(sb, secret_key="wrong-key"), "s", "v1")
    assert caught.value.code.startswith("AuthFailure")
    secret_id, secret_key, token = sb.issue_role_keys()
    assert get(client(sb, secret_key, token, secret_id), "s", "v1").SecretString == "value"
    with pytest.raises(TencentCloudSDKException) as caught:
        get(client(sb, secret_key, None, secret_id), "s", "v1")
    assert caught.value.code == "AuthFailure.TokenFailure"
    with pytest.raises(TencentCloudSDKException) as caught:
        get(client(sb, region=""), "s", "v1")
    assert caught.value.code == "MissingParameter"


def test_control_route_stores_a_secret_and_refuses_bad_specs(sb: Sandbox) -> None:
    url = f"{sb.url}/_sandbox/ssm/secret"
    ok = requests.post(url, json={"SecretName": "c", "VersionId": "v2", "SecretString": "x1"},
                       timeout=5)
    assert ok.status_code == 200
    assert get(client(sb), "c", "v2").SecretString == "x1"
    assert requests.post(url, json={"SecretName": "c", "Status": "Disabled"},
                         timeout=5).status_code == 200
    with pytest.raises(TencentCloudSDKException):
        get(client(sb), "c", "v2")
    for bad in ({"VersionId": "v1"}, {"SecretName": "c", "Status": "Gone"},
                {"SecretName": "nope", "Status": "Enabled"}):
        answer = requests.post(url, json=bad, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"]
