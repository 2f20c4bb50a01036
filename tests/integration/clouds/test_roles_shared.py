"""One role assumption per named account per bundle (shared/clouds/roles.py): the four
Tencent providers of one account (CLS, DLC, MongoDB, TCSS: four SDK clients) and a COS
destination written with the account's keys all sign with one holder of the role's
temporary keys, so the sandbox's STS answers one ``AssumeRole`` for them all, and one again
when the keys are renewed, before they expire; the same for DMS and the keys an OSS
destination of an Alibaba account is written with. Real SDKs over HTTP: the vendor calls to
the sandbox, the destination's writes to the sandbox's COS gateway in front of moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sandbox.cos_gateway import CosGateway
from shared.bundle import Bundle
from shared.clouds import tencent
from shared.clouds.roles import AssumedRoles
from shared.config import Settings
from shared.storage.cos import CosObjectStore
from tests import servers

pytestmark = pytest.mark.integration

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
REGION = "ap-shanghai"
SESSION_S = 1800
TENCENT_PROVIDERS = ("cls", "dlc", "mongodb", "tcss")


@pytest.fixture
def cos(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A COS bucket behind the sandbox's gateway, which takes only the keys it is given."""
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    server = servers.require(lambda: servers.start_moto(servers.COS_MIN_PART))
    gateway = CosGateway(server.url, region=REGION).start()
    box = servers.unique_name("box").replace("_", "-") + "-1250000000"
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=box)
    try:
        yield {"gateway": gateway, "box": box, "s3": s3}
    finally:
        gateway.stop()
        server.stop()


@pytest.fixture
def fleet(sandbox: Any, courier_env: dict[str, str], cos: dict[str, Any]
          ) -> Iterator[Bundle]:
    sandbox.add_account(OTHER, roles=[(ROLE, "ext-3")])
    env = {**courier_env, "COURIER_COS_ENDPOINT": cos["gateway"].endpoint,
           "COURIER_ACCOUNTS": json.dumps({"sh": {
               "vendor": "tencent", "region": REGION, "role": ROLE, "external_id": "ext-3",
               "session_s": SESSION_S}}),
           "COURIER_DESTINATIONS": json.dumps({"box": {
               "url": f"cos://{cos['box']}/exports?region={REGION}", "account": "sh"}})}
    # the holders read the sandbox's time, which the keys' expiry is told in
    bundle = Bundle(Settings.from_env(env), roles=AssumedRoles(clock=sandbox.clock.now))
    try:
        yield bundle
    finally:
        bundle.store().close()


def signed_by(sandbox: Any, service: str) -> set[tuple[str, str]]:
    return {(account, region) for s, _, account, region in sandbox.accounts.seen
            if s == service}


def test_four_providers_and_a_destination_of_one_account_assume_its_role_once(
        fleet: Bundle, sandbox: Any, cos: dict[str, Any]) -> None:
    bundle = fleet
    providers = [bundle.providers.get(name, "sh") for name in TENCENT_PROVIDERS]
    for provider in providers:
        assert provider.check_access()  # one call each, through its own SDK client
    for service in TENCENT_PROVIDERS:  # each signed with the role's keys, in its region
        assert signed_by(sandbox, service) == {(OTHER, REGION)}
    keys = bundle.roles.keys(providers[0].settings)
    cos["gateway"].add_credentials(*keys, buckets={cos["box"]})  # the bucket takes them
    store = bundle.destinations("box")
    assert isinstance(store, CosObjectStore)
    store.put_object("probe.txt", b"written with the role's keys")
    assert cos["s3"].get_object(Bucket=cos["box"], Key="exports/probe.txt")[
        "Body"].read() == b"written with the role's keys"
    assert sandbox.calls[("sts", "AssumeRole")] == 1

    # still good: nobody asks again
    sandbox.clock.advance(SESSION_S - tencent.REFRESH_BEFORE_S - 5)
    for provider in providers:
        provider.check_access()
    assert bundle.destinations("box") is store
    assert sandbox.calls[("sts", "AssumeRole")] == 1

    # within the last REFRESH_BEFORE_S: renewed once for every client, before the old keys
    # lapse (the sandbox, whose clock has not moved, still takes them)
    sandbox.clock.advance(10)
    for provider in providers:
        provider.check_access()
    assert sandbox.calls[("sts", "AssumeRole")] == 2
    renewed = bundle.roles.keys(providers[0].settings)
    assert renewed[0] != keys[0] and sandbox.accounts.account_of(renewed[0]) == OTHER
    assert sandbox.role_token(keys[0]) == (keys[2], True)  # the old ones were still good
    cos["gateway"].add_credentials(*renewed, buckets={cos["box"]})
    reopened = bundle.destinations("box")
    assert reopened is not store  # opened again with the renewed keys
    reopened.put_object("probe-2.txt", b"renewed")
    assert sandbox.calls[("sts", "AssumeRole")] == 2


def test_the_dms_provider_and_a_destination_of_an_alibaba_account_assume_once(
        sandbox: Any, courier_env: dict[str, str]) -> None:
    ram_role = "acs:ram::200000000002:role/courier-export"
    sandbox.add_account("200000000002", roles=[(ram_role, None)])
    env = {**courier_env, "COURIER_ACCOUNTS": json.dumps({"hz2": {
        "vendor": "alibaba", "region": "cn-shanghai", "role": ram_role}})}
    bundle = Bundle(Settings.from_env(env))
    try:
        dms = bundle.providers.get("dms", "hz2")
        assert dms.check_access() == "GetUserActiveTenant"
        account = bundle.settings.account("hz2")
        assert account is not None
        keys = bundle.destinations.account_keys(account)  # what an OSS destination gets
        assert keys[0].startswith("STS.") and keys[2]
        assert sandbox.calls[("sts", "AssumeRole")] == 1
    finally:
        bundle.store().close()
