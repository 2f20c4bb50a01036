"""OssObjectStore without a server: how the SDK's failures read, and what opening an oss://
destination asks for."""

from __future__ import annotations

import pytest
from alibabacloud_oss_v2 import exceptions

from shared.errors import ConfigError
from shared.storage import open_destination
from shared.storage.base import UploadNotFoundError
from shared.storage.oss import OssObjectStore, _error, _status
from shared.vendor_settings import StorageSettings


def service_error(code: str, status: int) -> Exception:
    inner = exceptions.ServiceError(status_code=status, code=code, message="m", request_id="r",
                                    ec="0000-00000000", timestamp="", request_target="PUT x")
    return exceptions.OperationError(name="PutObject", error=inner)


@pytest.mark.parametrize(("code", "status", "retryable"), [
    ("InternalError", 500, True), ("RequestTimeout", 400, True), ("QpsLimitExceeded", 503, True),
    ("InvalidDigest", 400, True),
    ("AccessDenied", 403, False), ("SignatureDoesNotMatch", 403, False),
    ("InvalidArgument", 400, False),
])
def test_service_errors_are_retryable_by_code_and_status(code: str, status: int,
                                                         retryable: bool) -> None:
    err = _error(service_error(code, status), "put object oss://b")
    assert err.retryable is retryable and err.status == status
    assert err.message == f"put object oss://b: OSS answered {status} {code}"
    assert _status(service_error(code, status)) == status


def test_a_lost_upload_a_crc_mismatch_and_no_answer() -> None:
    assert isinstance(_error(service_error("NoSuchUpload", 404), "x"), UploadNotFoundError)
    crc = exceptions.OperationError(name="UploadPart", error=exceptions.InconsistentError(
        client_crc="1", server_crc="2"))
    assert _error(crc, "part 1").retryable and "CRC-64" in _error(crc, "part 1").message
    gone = exceptions.OperationError(name="GetObject", error=exceptions.RequestError(
        error=ConnectionError("refused")))
    lost = _error(gone, "read")
    assert lost.retryable and "ConnectionError" not in lost.message and _status(gone) == 0


def test_an_oss_destination_without_keys_names_the_settings() -> None:
    with pytest.raises(ConfigError, match="ALIBABA_CLOUD_ACCESS_KEY_ID"):
        open_destination("oss://my-exports/x?region=cn-hangzhou", StorageSettings())
    with pytest.raises(ConfigError, match="COURIER_DESTINATION: oss:// needs \\?region="):
        open_destination("oss://my-exports/x", StorageSettings(oss_access_key_id="LTAIx",
                                                               oss_access_key_secret="s"))


def test_an_oss_destination_reaches_its_regions_endpoint() -> None:
    store = open_destination("oss://my-exports/courier/?region=cn-shanghai", StorageSettings(
        oss_access_key_id="LTAIx", oss_access_key_secret="the-secret", oss_token="tok"))
    assert isinstance(store, OssObjectStore)
    assert store.uri("a.zip") == "oss://my-exports/courier/a.zip"
    assert store.where == "oss://my-exports at https://oss-cn-shanghai.aliyuncs.com"
    assert "the-secret" not in repr(store) and "tok" not in repr(store)


def test_a_download_link_lives_at_most_the_seven_days_oss_allows() -> None:
    from urllib.parse import parse_qs, urlsplit

    store = OssObjectStore("my-exports", region="cn-hangzhou", access_key_id="LTAIx",
                           access_key_secret="the-secret")
    url = store.presign("a.zip", 30 * 24 * 3600)
    assert url is not None and url.startswith("https://my-exports.oss-cn-hangzhou.aliyuncs.com/")
    query = parse_qs(urlsplit(url).query)
    assert 604_700 < int(query["x-oss-expires"][0]) <= 604_800 and query["x-oss-signature"]


def test_a_destination_with_its_own_keys_uses_them_not_the_deployments() -> None:
    deployment = StorageSettings(oss_access_key_id="LTAIdeploy",
                                 oss_access_key_secret="deploy-secret")
    store = open_destination("oss://their-bucket?region=cn-beijing", deployment,
                             keys=("LTAItheirs", "their-secret", "their-token"))
    assert isinstance(store, OssObjectStore)
    url = store.presign("a.zip", 60)
    assert url is not None and "LTAItheirs" in url and "LTAIdeploy" not in url
    assert "x-oss-security-token=their-token" in url
