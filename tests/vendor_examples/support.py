"""The vendors' published example answers (``../shared/vendor-examples/`` beside the repo),
and the sandbox knob that serves one of them as its own answer (``/_sandbox/recorded``).

Each test module of this package declares ``EXAMPLES``: example file name -> what a user
sees when that exact answer comes back through the vendor's real SDK to our client.
``test_completeness`` holds the folder and the union of those keys against each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import on_ci

EXAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "vendor-examples"


def examples_dir() -> Path:
    """The folder; a test without it is skipped, or failed on CI (``CI=true``)."""
    if not EXAMPLES_DIR.is_dir():
        reason = f"the vendor examples folder {EXAMPLES_DIR} is missing"
        if on_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return EXAMPLES_DIR


def example(name: str) -> dict[str, Any]:
    """The example file ``name`` as published (with ``_source``, ``_read_from``)."""
    data: dict[str, Any] = json.loads((examples_dir() / name).read_text(encoding="utf-8"))
    return data


def answer(name: str) -> dict[str, Any]:
    """The example's answer: Tencent's ``Response`` object, or (AWS, Alibaba) the body
    without the ``_`` notes."""
    data = example(name)
    if "Response" in data:
        response: dict[str, Any] = data["Response"]
        return response
    return {k: v for k, v in data.items() if not k.startswith("_")}


def record(sandbox: Any, name: str, action: str | None = None, *,
           times: int | None = None) -> dict[str, Any]:
    """Make the sandbox answer ``action`` (default: the one in the file's name) with the
    example ``name``, over its HTTP control route; the answer is returned."""
    action = action or name.split("-")[1]
    body: dict[str, Any] = {"action": action, "response": answer(name)}
    if times is not None:
        body["times"] = times
    reply = requests.post(f"{sandbox.url}/_sandbox/recorded", json=body, timeout=10)
    assert reply.status_code == 200, reply.text
    return body["response"]
