"""Settings read from AWS Secrets Manager and SSM Parameter Store through Powertools, as on
Lambda: boto3 against moto's server on 127.0.0.1, the state DSN on real PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest

from courier.local import LocalContext
from shared.errors import ConfigError
from tests import servers
from tests.e2e.helpers import cls_body, post, until_terminal
from tests.events import load_event

# API keys as strong as the settings demand (32+ characters)
BEFORE = "key-before-rotation-q7Vx2LmR9tPw4Ks"
AFTER = "key-after-rotation-Zp3Nc8Ye5Hu1Jd6"
OLD = "old-key-Mq2Wn5Er8Ty1Ui4Op7As0Df3G"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_server() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def on_lambda(handlers_env: dict[str, str], moto_server: servers.MotoServer,
              monkeypatch: pytest.MonkeyPatch) -> servers.MotoServer:
    """The function's role credentials (boto3's own chain) and the stores' endpoint."""
    moto_server.reset()
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("COURIER_AWS_SECRETS_ENDPOINT", moto_server.url)
    return moto_server


def client(moto: servers.MotoServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1")


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from functions import common

    for name, value in values.items():
        monkeypatch.setenv(name, value)
    common.reset()  # a cold start


def test_a_secret_and_a_secure_parameter_authenticate_and_sign(
        on_lambda: servers.MotoServer, sandbox: Any, receiver: Any, api_key: str,
        webhook_secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client(on_lambda, "secretsmanager").create_secret(Name="courier/api-keys",
                                                      SecretString=f"{OLD},{api_key}")
    client(on_lambda, "ssm").put_parameter(Name="/courier/webhook-secret", Type="SecureString",
                                           Value=webhook_secret)
    # the Tencent providers' long-term key, kept in Secrets Manager on Lambda
    client(on_lambda, "secretsmanager").create_secret(
        Name="courier/tencent", SecretString=json.dumps({"secret_key": sandbox.secret_key}))
    configure(monkeypatch, COURIER_API_KEYS="secretsmanager:courier/api-keys",
              COURIER_WEBHOOK_SECRETS="ssm:/courier/webhook-secret",
              TENCENTCLOUD_SECRETKEY="secretsmanager:courier/tencent#secret_key")
    status, created = post(api_key, cls_body())
    assert status == 202  # CreateExport was signed with the key read from the store
    assert post("another-key", cls_body())[0] == 401
    assert until_terminal(created["id"], api_key, sandbox)["state"] == "delivered"
    assert receiver.delivered() and all(r.verified for r in receiver.received)


def test_a_rotated_secret_is_used_once_the_ttl_has_passed(
        on_lambda: servers.MotoServer, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    sm = client(on_lambda, "secretsmanager")
    sm.create_secret(Name="courier/api-keys", SecretString=BEFORE)
    configure(monkeypatch, COURIER_API_KEYS="secretsmanager:courier/api-keys")  # TTL 300 s
    assert post(BEFORE, cls_body())[0] == 202
    started = common.secret_stores().clock()

    sm.put_secret_value(SecretId="courier/api-keys", SecretString=AFTER)
    common.secret_stores().clock = lambda: started + 299
    assert post(AFTER, cls_body())[0] == 401  # the value read is kept
    common.secret_stores().clock = lambda: started + 301
    assert post(AFTER, cls_body())[0] == 202
    assert post(BEFORE, cls_body())[0] == 401


def test_a_dsn_from_a_json_secret_opens_postgresql_and_never_reaches_the_logs(
        on_lambda: servers.MotoServer, sandbox: Any, api_key: str,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions import common

    plain = urlsplit(servers.require(servers.postgres_url))
    password = "pw-" + api_key[-12:]  # PostgreSQL here trusts local users: any password
    dsn = urlunsplit(plain._replace(netloc=f"{plain.username}:{password}@{plain.hostname}:"
                                           f"{plain.port}"))
    client(on_lambda, "secretsmanager").create_secret(
        Name="courier/db", SecretString=json.dumps({"dsn": dsn, "note": "state store"}))
    configure(monkeypatch, COURIER_STATE_URL="secretsmanager:courier/db#dsn")
    caplog.set_level(logging.DEBUG)

    status, created = post(api_key, cls_body())
    assert status == 202
    assert common.bundle().settings.state_url == dsn
    assert type(common.bundle().store()).__name__ == "SqlTaskStore"
    assert common.bundle().store().get_task(created["id"]).id == created["id"]
    capsys.readouterr()
    # the function's own handlers write JSON lines to the stdout of now
    common.logger("create").info("state store at %s", dsn)  # a careless line
    logging.getLogger("shared.state").warning("password %s", password)

    out = capsys.readouterr()
    text = "\n".join([out.out, out.err, caplog.text,
                      *(r.getMessage() for r in caplog.records), json.dumps(created)])
    assert out.out.count("[redacted]") == 2
    assert password not in text and dsn not in text
    common.bundle().store().close()


@pytest.mark.parametrize(("reference", "store", "code"), [
    ("secretsmanager:courier/absent", "AWS Secrets Manager", "ResourceNotFoundException"),
    ("ssm:/courier/absent", "AWS SSM Parameter Store", "ParameterNotFound"),
    ("secretsmanager:courier/api-keys#keys", "", "not a JSON object"),
], ids=["no-such-secret", "no-such-parameter", "no-field"])
def test_an_unresolvable_reference_stops_the_cold_start(
        on_lambda: servers.MotoServer, monkeypatch: pytest.MonkeyPatch, reference: str,
        store: str, code: str) -> None:
    from functions import create_export

    client(on_lambda, "secretsmanager").create_secret(Name="courier/api-keys",
                                                      SecretString="the-value-itself")
    configure(monkeypatch, COURIER_API_KEYS=reference)
    with pytest.raises(ConfigError) as caught:
        create_export.handler(load_event("aws_http_api_post_exports", body=cls_body()),
                              LocalContext())
    message = caught.value.message
    assert message.startswith(f"COURIER_API_KEYS: {reference.split('#')[0]}")
    assert store in message and code in message
    assert "the-value-itself" not in message


def test_schedules_and_endpoints_come_from_a_json_secret(
        on_lambda: servers.MotoServer, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common, create_export

    schedule = {"name": "cls-hourly", "provider": "cls", "every_s": 3600,
                "params": {"TopicId": "topic-app", "From": "${window_start_ms}",
                           "To": "${window_end_ms}"}}
    endpoints = [{"url": "https://hooks.example.com/courier", "events": ["export.failed"]}]
    client(on_lambda, "secretsmanager").create_secret(
        Name="courier/config", SecretString=json.dumps({"schedules": [schedule],
                                                        "endpoints": endpoints}))
    configure(monkeypatch, COURIER_SCHEDULES="secretsmanager:courier/config#schedules",
              COURIER_WEBHOOK_ENDPOINTS="secretsmanager:courier/config#endpoints")
    fired = create_export.handler(load_event("aws_eventbridge_scheduled",
                                             time="2026-11-22T10:17:00Z", detail={}),
                                  LocalContext())
    assert fired["created"][0]["state"] == "submitted"
    assert common.bundle().settings.webhook_endpoints == tuple(endpoints)


def test_a_named_accounts_keys_come_each_from_its_store(
        on_lambda: servers.MotoServer, tmp_path: Any) -> None:
    """COURIER_ACCOUNTS from a file of the package; the account's key from Secrets
    Manager by its own reference: the file holds no key."""
    from shared.bundle import read_settings
    from shared.secret_stores.resolve import SecretStores

    client(on_lambda, "secretsmanager").create_secret(
        Name="courier/acct-sh", SecretString=json.dumps({"secret_key": "sh-secret-key"}))
    (tmp_path / "accounts.json").write_text(json.dumps({"sh": {
        "vendor": "tencent", "region": "ap-shanghai", "secret_id": "AKIDsh",
        "secret_key": "secretsmanager:courier/acct-sh#secret_key"}}))
    env = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none", "AWS_REGION": "us-east-1",
           "COURIER_AWS_SECRETS_ENDPOINT": on_lambda.url,
           "COURIER_ACCOUNTS": "file:accounts.json"}
    settings = read_settings(env, stores=SecretStores(root=tmp_path))
    account = settings.account("sh")
    assert account is not None and account.secret_key == "sh-secret-key"
    assert "sh-secret-key" in settings.secret_values()  # redacted wherever it shows
    client(on_lambda, "secretsmanager").delete_secret(SecretId="courier/acct-sh",
                                                      ForceDeleteWithoutRecovery=True)
    with pytest.raises(ConfigError) as refused:
        read_settings(env, stores=SecretStores(root=tmp_path))
    assert refused.value.message.startswith("COURIER_ACCOUNTS[sh].secret_key: "
                                            "secretsmanager:courier/acct-sh#secret_key")
