"""``courier exports create --account``: the export is made in the named account; an unknown
name is refused naming ``account``."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.integration.cli.test_cli import courier

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"


def test_create_in_a_named_account(handlers_env: dict[str, str], sandbox: Any) -> None:
    sandbox.add_account(OTHER, roles=[(ROLE, None)], topics=["topic-second"])
    env = {**handlers_env, "COURIER_ACCOUNTS": json.dumps(
        {"sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE}})}
    now = int(time.time() * 1000)
    window = ["-p", f"From={now - 60_000}", "-p", f"To={now}", "--json"]
    made = courier(env, "exports", "create", "cls", "-p", "TopicId=topic-second",
                   "--account", "sh", *window)
    assert made.returncode == 0, made.stderr
    export = json.loads(made.stdout)
    assert (export["account"], export["state"]) == ("sh", "submitted")
    unknown = courier(env, "exports", "create", "cls", "-p", "TopicId=topic-second",
                      "--account", "nowhere", *window)
    assert unknown.returncode != 0
    assert "account" in unknown.stdout + unknown.stderr
    assert "'nowhere' is not a configured account" in unknown.stdout + unknown.stderr
