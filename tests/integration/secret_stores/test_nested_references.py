"""A named destination's keys by secret store reference: each key field of
COURIER_DESTINATIONS may name a secret (moto's Secrets Manager here), read before the
settings are parsed; an unreadable one names the destination and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from shared.bundle import read_settings
from shared.errors import ConfigError
from shared.secret_stores.references import has_references
from tests import servers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_server() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def env(moto_server: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    moto_server.reset()
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    boto3.client("secretsmanager", endpoint_url=moto_server.url, region_name="us-east-1"
                 ).create_secret(Name="courier/lake", SecretString=json.dumps(
                     {"id": "AKIALAKE", "key": "lake-secret-key-from-the-store"}))
    return {"COURIER_API_KEYS": "k" * 32, "AWS_REGION": "us-east-1",
            "COURIER_AWS_SECRETS_ENDPOINT": moto_server.url}


def destinations(**lake: str) -> str:
    return json.dumps({"lake": {"url": "s3://lake/courier", **lake}})


def test_destination_keys_are_read_from_the_store_they_name(env: dict[str, str]) -> None:
    env["COURIER_DESTINATIONS"] = destinations(secret_id="secretsmanager:courier/lake#id",
                                               secret_key="secretsmanager:courier/lake#key")
    assert has_references(env)
    settings = read_settings(env)
    lake = settings.named_destination("lake")
    assert lake is not None
    assert (lake.secret_id, lake.secret_key) == ("AKIALAKE", "lake-secret-key-from-the-store")
    assert "lake-secret-key-from-the-store" in settings.secret_values()  # redacted in logs


def test_an_unreadable_destination_key_names_the_destination_and_field(
        env: dict[str, str]) -> None:
    env["COURIER_DESTINATIONS"] = destinations(secret_id="AKIALAKE",
                                               secret_key="secretsmanager:courier/nope")
    with pytest.raises(ConfigError) as caught:
        read_settings(env)
    assert str(caught.value).startswith("COURIER_DESTINATIONS[lake].secret_key: "
                                        "secretsmanager:courier/nope cannot be read")


def test_plain_destination_keys_need_no_store(env: dict[str, str]) -> None:
    plain = {"COURIER_API_KEYS": "k" * 32,
             "COURIER_DESTINATIONS": destinations(secret_id="AKIA1", secret_key="plain")}
    assert not has_references(plain)
    assert read_settings(plain).named_destination("lake") is not None
