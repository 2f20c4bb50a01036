"""A named destination naming an account reached by a role is written with the role's
temporary keys (STS AssumeRole with its external id, served by moto, which binds the keys to
the role's account), not with the deployment's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from shared.config import Settings
from shared.storage.account_keys import AccountKeys
from shared.storage.destinations import Destinations
from shared.storage.s3 import S3ObjectStore
from tests import servers

pytestmark = pytest.mark.integration

OTHER = "222222222222"
ROLE = f"arn:aws:iam::{OTHER}:role/courier-writer"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


def settings(moto: servers.MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
             ) -> Settings:
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    return Settings.from_env({
        "COURIER_S3_ENDPOINT": moto.url, "COURIER_S3_REGION": REGION,
        "COURIER_ACCOUNTS": json.dumps({"eu": {
            "vendor": "aws", "region": REGION, "role": ROLE, "external_id": "ext-1",
            "endpoint": moto.url, "staging_bucket": "unused"}}),
        "COURIER_DESTINATIONS": json.dumps({"team-b": {
            "url": f"s3://{bucket}/landing", "account": "eu"}}),
        "COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"})


def test_a_destination_of_a_role_account_is_written_with_the_roles_keys(
        moto: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = servers.unique_name("b").replace("_", "-")
    s = settings(moto, bucket, monkeypatch)
    account = s.account("eu")
    assert account is not None
    keys = AccountKeys(s)(account)
    # the role's keys, not the deployment's: STS says whose they are
    who = boto3.client("sts", endpoint_url=moto.url, region_name=REGION,
                       aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                       aws_session_token=keys[2]).get_caller_identity()
    assert who["Account"] == OTHER and "courier-writer" in who["Arn"]
    assert keys[0] != servers.aws_test_env()["AWS_ACCESS_KEY_ID"] and keys[2]
    # the destination is opened with them, and kept while they stay the same
    destinations = Destinations(s, account_keys=AccountKeys(s))
    store = destinations("team-b")
    assert isinstance(store, S3ObjectStore)
    assert destinations("team-b") is store
    store.client.create_bucket(Bucket=bucket,
                               CreateBucketConfiguration={"LocationConstraint": REGION})
    store.put_object("probe.txt", b"from team b")
    # the object is in the role's account: its own admin reads it, the deployment's keys
    # (another account) do not find the bucket
    other = boto3.client("s3", endpoint_url=moto.url, region_name=REGION,
                         aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                         aws_session_token=keys[2])
    assert other.get_object(Bucket=bucket, Key="landing/probe.txt")["Body"].read() == \
        b"from team b"
    own = boto3.client("s3", endpoint_url=moto.url, region_name=REGION)
    assert bucket not in [b["Name"] for b in own.list_buckets()["Buckets"]]
