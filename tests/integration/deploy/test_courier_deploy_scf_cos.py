"""`courier deploy scf` with a package over SCF's 20 MB inline limit: uploaded with
cos-python-sdk-v5 (multipart) to COS — the sandbox COS gateway in front of moto's S3 server,
signatures checked — and given to CreateFunction / UpdateFunctionCode as a COS object, which
the sandbox's SCF emulation reads from that same COS."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from courier.scf_api import sdk_call
from deploy.scf_code import BUCKET_ENV
from deploy.scf_deploy import DeployError
from sandbox.cos_gateway import CosGateway
from tests import servers
from tests.integration.deploy.scf_run import NAMES, deploy, writes_of

pytestmark = pytest.mark.integration

MB = 1024 * 1024
BUCKET = "courier-deploy-1250000000"  # the sandbox SCF's appid is 1250000000
REGION = "ap-guangzhou"
FULL_SIZE = 35 * MB  # the default SCF package's size (docs/deploy.md)


def _big_zip(path: Path, marker: str, size: int = FULL_SIZE) -> str:
    """A package of about ``size`` bytes (incompressible filler beside the entry files)."""
    from deploy.package import TARGETS

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for key in NAMES:
            module = TARGETS["scf"].handler(key).rsplit(".", 1)[0]
            zf.writestr(f"{module}.py", f"# {marker}\nfrom functions.x import handler\n")
        zf.writestr("vendor/blob.bin", os.urandom(size))
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@pytest.fixture
def cos(sandbox: Any) -> Iterator[CosGateway]:
    moto = servers.require(servers.start_moto)
    secret_id, secret_key = sandbox.credentials
    gw = CosGateway(moto.url, region=REGION, credentials={secret_id: secret_key}).start()
    try:
        sandbox.scf.cos = gw  # the SCF emulation reads code packages from it
        from qcloud_cos import CosConfig, CosS3Client

        from shared.clouds.tencent import cos_endpoint_kwargs

        admin = CosS3Client(CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key,
                                      **cos_endpoint_kwargs(gw.endpoint)))
        admin.create_bucket(Bucket=BUCKET)
        yield gw
    finally:
        gw.stop()
        moto.stop()


def _puts(gw: CosGateway, start: int) -> list[tuple[str, str, str]]:
    return [r for r in gw.requests[start:] if r[0] in ("PUT", "POST")]


@pytest.mark.usefixtures("deploy_env")
def test_a_full_size_package_goes_through_cos(
        sandbox: Any, cos: CosGateway, workdir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    package = workdir / "courier.zip"
    sha = _big_zip(package, "one")

    # GIVEN no bucket setting: refused before any call, naming the setting
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 1 and BUCKET_ENV in out and "10 MB per request" in out, out
    assert writes_of(writes) == {} and sandbox.scf.functions == {}

    # WHEN the bucket is set, a dry run: says it would upload, sends nothing
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    mark = len(cos.requests)
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint,
                               "--dry-run")
    assert code == 0 and "would upload package to cos://" in out, out
    assert _puts(cos, mark) == [] and writes_of(writes) == {} and sandbox.scf.functions == {}

    # WHEN deployed: uploaded in parts, then three functions made from it
    mark = len(cos.requests)
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 0, out
    assert writes_of(writes) == {"CreateFunction": 3, "CreateTrigger": 3}
    key = f"/courier-deploy/courier-{sha}.zip"
    puts = _puts(cos, mark)
    assert {p[1:] for p in puts} == {(BUCKET, key)}
    assert len(puts) >= 1 + FULL_SIZE // (8 * MB)  # initiate + parts + complete: multipart
    assert f"upload package to cos://{BUCKET}{key}" in out
    for name in NAMES.values():
        fn = sandbox.scf.function(name)
        assert fn["code_sha256"] == sha and fn["CodeSize"] == package.stat().st_size
    assert cos.read_object(BUCKET, key.lstrip("/")) == package.read_bytes()

    # WHEN run again with the same package: the object is found, nothing is sent or changed
    mark = len(cos.requests)
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 0, out
    assert writes_of(writes) == {} and _puts(cos, mark) == []
    assert "package already in" in out and "changed: 0 step(s)" in out

    # WHEN only the code changes: a new object, UpdateFunctionCode from COS everywhere
    new_sha = _big_zip(package, "two")
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 0, out
    assert writes_of(writes) == {"UpdateFunctionCode": 3, "UpdateFunctionConfiguration": 3}
    assert "UpdateFunctionCode export-courier-prod-create (package " in out
    for name in NAMES.values():
        assert sandbox.scf.function(name)["code_sha256"] == new_sha
    head = cos.read_object(BUCKET, f"courier-deploy/courier-{new_sha}.zip")
    assert hashlib.sha256(head).hexdigest() == new_sha


@pytest.mark.parametrize("size_mb", [9, 19])
@pytest.mark.usefixtures("deploy_env")
def test_a_package_too_big_for_one_request_goes_through_cos_or_stops(
        sandbox: Any, cos: CosGateway, workdir: Path, size_mb: int,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a package under the ZipFile limits (20 MB) but over what one 10 MB request carries
    # once base64-encoded
    package = workdir / "courier.zip"
    sha = _big_zip(package, "one", size_mb * MB)

    # WHEN dry-run without a bucket: the whole plan, then the blocking problem; exit 1
    code, out, writes = deploy(sandbox, workdir, capsys, "--dry-run")
    assert code == 1, out
    assert out.index("would CreateFunction export-courier-prod-create") < out.index(
        "1 blocking problem"), out
    assert "would change: 6 step(s)" in out
    assert BUCKET_ENV in out and "10 MB per request" in out and "smaller package" in out
    assert writes_of(writes) == {} and sandbox.scf.functions == {}

    # WHEN deployed without a bucket: the same words, and not one call
    before = sum(sandbox.calls.values())
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1 and BUCKET_ENV in out and "nothing was called or changed" in out, out
    assert sum(sandbox.calls.values()) == before

    # WHEN a bucket is set: the dry run says COS first, then the deploy goes through COS
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint,
                               "--dry-run")
    assert code == 0 and out.index("would upload package to cos://") < out.index(
        "would CreateFunction"), out
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 0, out
    assert writes_of(writes) == {"CreateFunction": 3, "CreateTrigger": 3}
    assert all(sandbox.scf.function(n)["code_sha256"] == sha for n in NAMES.values())


@pytest.mark.usefixtures("deploy_env")
def test_a_bucket_that_does_not_exist_is_named(
        sandbox: Any, cos: CosGateway, workdir: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUCKET_ENV, "nosuch-1250000000")
    code, out, writes = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 1
    assert "NoSuchBucket" in out and BUCKET_ENV in out and "nosuch-1250000000" in out
    assert writes_of(writes) == {} and sandbox.scf.functions == {}
    monkeypatch.setenv(BUCKET_ENV, "no-appid")
    code, out, _ = deploy(sandbox, workdir, capsys, "--cos-endpoint", cos.endpoint)
    assert code == 1 and "<name>-<appid>" in out


def test_scf_answers_a_missing_or_misnamed_cos_object_with_its_error_codes(
        sandbox: Any, cos: CosGateway, deploy_env: dict[str, str],
        workdir: Path) -> None:
    call = sdk_call(REGION, sandbox.url, deploy_env)
    request = {"FunctionName": "courier-probe", "Handler": "create_export.handler",
               "Runtime": "Python3.10",
               "Code": {"CosBucketName": "courier-deploy", "CosObjectName": "/nope.zip",
                        "CosBucketRegion": REGION}}
    refusals = {}
    for label, code in [("missing", {}), ("appid", {"CosBucketName": BUCKET}),
                        ("slash", {"CosObjectName": "nope.zip"}),
                        ("bucket", {"CosBucketName": "other"})]:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the SDK's exception
            call("CreateFunction", {**request, "Code": {**request["Code"], **code}})
        assert not isinstance(caught.value, DeployError)
        refusals[label] = caught.value.code  # type: ignore[attr-defined]
    assert refusals == {"missing": "ResourceNotFound.CosObject",
                        "appid": "InvalidParameterValue.CosBucketName",
                        "slash": "InvalidParameterValue.CosObjectName",
                        "bucket": "ResourceNotFound.Cos"}
    assert sandbox.scf.functions == {}
    # the same object, once there, is taken (a small package: CreateFunction's path)
    small = (workdir / "courier.zip").read_bytes()
    from qcloud_cos import CosConfig, CosS3Client

    from shared.clouds.tencent import cos_endpoint_kwargs

    secret_id, secret_key = sandbox.credentials
    CosS3Client(CosConfig(Region=REGION, SecretId=secret_id, SecretKey=secret_key,
                          **cos_endpoint_kwargs(cos.endpoint))).put_object(
        Bucket=BUCKET, Key="nope.zip", Body=small)
    call("CreateFunction", request)
    assert sandbox.scf.function("courier-probe")["code_sha256"] == hashlib.sha256(
        small).hexdigest()
