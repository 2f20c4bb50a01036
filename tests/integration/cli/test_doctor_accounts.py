"""``courier doctor`` with named accounts: one cheap read in each, through its assumed role;
a role that cannot be assumed is an error line naming the account, STS's code and the role."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.cli.test_doctor import doctor, good, lines_of  # noqa: F401 - fixture

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
GONE = "qcs::cam::uin/100000000003:roleName/deleted"


def test_each_named_account_is_checked_through_its_role(
        good: dict[str, str], sandbox: Any) -> None:  # noqa: F811 - the fixture
    sandbox.add_account(OTHER, roles=[(ROLE, None)])
    env = {**good, "COURIER_ACCOUNTS": json.dumps({
        "sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE},
        "gone": {"vendor": "tencent", "region": "ap-beijing", "role": GONE}})}
    done = doctor(env)
    assert done.returncode == 1, done.stdout
    found = lines_of(done)
    assert found["provider cls (account sh)"].startswith("ok ")
    assert "credentials accepted (DescribeTopics)" in found["provider cls (account sh)"]
    gone = found["provider cls (account gone)"]
    assert gone.startswith("error") and "ResourceNotFound.RoleNotFound" in gone
    assert GONE in gone and "COURIER_ACCOUNTS" in gone
    assert found["provider cls"].startswith("ok ")  # the deployment's own, as before
