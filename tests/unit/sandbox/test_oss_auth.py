"""The sandbox's OSS V4 check against the V2 SDK's own signer (alibabacloud_oss_v2/signer/v4.py):
what the SDK signs passes, anything changed after signing does not, and the URLs the sandbox
presigns (as DMS hands out) are what the SDK presigns."""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

import pytest
from alibabacloud_oss_v2.credentials import Credentials
from alibabacloud_oss_v2.signer.v4 import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from sandbox.cos_auth import CredentialStore
from sandbox.oss_auth import OssAuthError, presign, verify

REGION = "cn-hangzhou"
NOW = datetime.datetime(2026, 12, 6, 8, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def store() -> CredentialStore:
    creds = CredentialStore()
    creds.add("LTAIkey", "secret")
    creds.add("STS.tmp", "tsecret", token="the-token")
    return creds


def signed(method: str, url: str, headers: dict[str, str], *, key: str = "LTAIkey",
           secret: str = "secret", token: str | None = None, query_auth: bool = False,
           bucket: str = "bkt", obj: str = "a/b c.zip") -> HttpRequest:
    request = HttpRequest(method, url, headers=dict(headers))
    ctx = SigningContext(product="oss", region=REGION, bucket=bucket, key=obj, request=request,
                         credentials=Credentials(key, secret, token), signing_time=NOW,
                         additional_headers={"host"} if query_auth else None)
    ctx.auth_method_query = query_auth
    if query_auth:
        ctx.expiration_time = NOW + datetime.timedelta(seconds=600)
    SignerV4().sign(ctx)
    return request


def check(request: HttpRequest, store: CredentialStore, *, method: str | None = None,
          now: datetime.datetime = NOW, obj: str = "a/b c.zip") -> str:
    parts = urlsplit(request.url)
    headers = {k.lower(): v for k, v in request.headers.items()}
    return verify(method or request.method, "bkt", obj, parts.query, headers, store, REGION,
                  now=now.timestamp()).secret_id


URL = "http://127.0.0.1:9/bkt/a/b%20c.zip?partNumber=2&uploadId=U1"
HEADERS = {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "x-oss-meta-md5": "abc"}


def test_what_the_sdk_signs_in_the_header_passes(store: CredentialStore) -> None:
    assert check(signed("PUT", URL, HEADERS), store) == "LTAIkey"
    temporary = signed("PUT", URL, HEADERS, key="STS.tmp", secret="tsecret", token="the-token")
    assert check(temporary, store) == "STS.tmp"


@pytest.mark.parametrize(("change", "code"), [
    ("method", "SignatureDoesNotMatch"), ("key", "SignatureDoesNotMatch"),
    ("query", "SignatureDoesNotMatch"), ("meta", "SignatureDoesNotMatch"),
    ("late", "RequestTimeTooSkewed"), ("secret", "SignatureDoesNotMatch"),
    ("nobody", "InvalidAccessKeyId"), ("no-token", "InvalidAccessKeyId"),
])
def test_anything_changed_after_signing_is_refused(store: CredentialStore, change: str,
                                                   code: str) -> None:
    kwargs = {"secret": "wrong"} if change == "secret" else {}
    if change == "nobody":
        kwargs = {"key": "LTAInobody"}
    if change == "no-token":
        kwargs = {"key": "STS.tmp", "secret": "tsecret"}
    request = signed("PUT", URL, HEADERS, **kwargs)  # type: ignore[arg-type]
    if change == "query":
        request.url = request.url.replace("partNumber=2", "partNumber=3")
    if change == "meta":
        request.headers["x-oss-meta-md5"] = "other"
    with pytest.raises(OssAuthError) as refused:
        check(request, store, method="POST" if change == "method" else None,
              obj="a/other" if change == "key" else "a/b c.zip",
              now=NOW + datetime.timedelta(minutes=16) if change == "late" else NOW)
    assert refused.value.code == code and refused.value.status == 403


def test_the_sdks_presigned_url_passes_until_it_expires(store: CredentialStore) -> None:
    request = signed("GET", "http://127.0.0.1:9/bkt/a/b%20c.zip", {}, query_auth=True)
    assert "x-oss-signature=" in request.url
    assert check(request, store, now=NOW + datetime.timedelta(seconds=599)) == "LTAIkey"
    with pytest.raises(OssAuthError, match="expired"):
        check(request, store, now=NOW + datetime.timedelta(seconds=601))


def test_the_sandbox_presigns_as_the_sdk_does(store: CredentialStore) -> None:
    cred = store.get("STS.tmp")
    assert cred is not None
    query = presign(cred, REGION, "bkt", "a/b c.zip", 600, now=NOW.timestamp())
    sdk = signed("GET", "http://127.0.0.1:9/bkt/a/b%20c.zip", {}, key="STS.tmp",
                 secret="tsecret", token="the-token", query_auth=True)
    ours = dict(p.split("=", 1) for p in query.split("&"))
    theirs = dict(p.split("=", 1) for p in urlsplit(sdk.url).query.split("&"))
    assert ours == theirs
    assert verify("GET", "bkt", "a/b c.zip", query, {}, store, REGION,
                  now=NOW.timestamp()).secret_id == "STS.tmp"
