"""Each vendor says which of its own error codes leave a create in doubt: a code of another
cloud never does (CloudWatch once read AWS errors by Tencent's table)."""

from __future__ import annotations

import importlib

import pytest

from shared.providers import REGISTRY
from shared.providers.base import Provider


def provider(name: str) -> Provider:
    entry = REGISTRY[name]
    cls = getattr(importlib.import_module(entry.module), entry.cls)
    built: Provider = cls.__new__(cls)  # ambiguous() reads no settings
    return built


CASES = [
    # provider, codes that leave a create open, codes (of other clouds, or plain refusals) that
    # do not
    ("cloudwatch", ["NoAnswer", "ServiceUnavailableException", "InternalFailure"],
     ["InternalError", "ClientNetworkError", "ServerNetworkError", "InvalidParameterException",
      None, ""]),
    ("cls", ["ClientNetworkError", "ServerNetworkError", "InternalError",
             "InternalError.DbError"],
     ["NoAnswer", "InternalFailure", "InvalidParameter", "LimitExceeded.Export", None]),
    ("dlc", ["ClientNetworkError", "InternalError"], ["NoAnswer", "ResourceNotFound"]),
    ("mongodb", ["ServerNetworkError"], ["ServiceUnavailableException"]),
    ("tcss", ["JSONDecodeError"], ["NoAnswer"]),
    ("dms", ["NetworkError", "InternalError", "HTTP502"],
     ["NoAnswer", "ClientNetworkError", "InvalidParameterValid"]),
]


@pytest.mark.parametrize(("name", "open_codes", "closed_codes"), CASES,
                         ids=[c[0] for c in CASES])
def test_a_provider_reads_only_its_own_clouds_codes(name: str, open_codes: list[str],
                                                     closed_codes: list[str | None]) -> None:
    built = provider(name)
    assert [c for c in open_codes if not built.ambiguous(c)] == []
    assert [c for c in closed_codes if built.ambiguous(c)] == []


def test_every_registered_provider_is_covered() -> None:
    assert {c[0] for c in CASES} == set(REGISTRY)


def test_by_default_no_code_leaves_a_create_open() -> None:
    # the base's own answer, for a provider that declares nothing of its own
    assert Provider.ambiguous(provider("cls"), "ClientNetworkError") is False
    assert provider("cls").ambiguous("ClientNetworkError") is True
