"""The code a failed copy is recorded under is a word of the product's (or the vendor's own),
never the name of an exception class."""

from __future__ import annotations

import inspect

import pytest

from shared import errors
from shared.completion import failure_code
from shared.errors import (
    ConfigError,
    CourierError,
    IntegrityError,
    ProviderError,
    StorageError,
    UnsafeTargetError,
)
from shared.storage.protection import ProtectionError


@pytest.mark.parametrize(("exc", "code"), [
    (ProtectionError("COURIER_DESTINATION_WRITE.sse: missing on the stored object"),
     "ProtectionNotApplied"),
    (IntegrityError("md5 differs"), "IntegrityCheckFailed"),
    (StorageError("s3://b/k: 503 SlowDown", retryable=True), "StorageFailed"),
    (UnsafeTargetError("10.0.0.8 is a private address"), "UnsafeSource"),
    (ConfigError("COURIER_DESTINATIONS: no destination named 'x'"), "SettingMissing"),
    (CourierError("something else"), "CopyFailed"),
    (ProviderError("cls", "ResourceNotFound.TopicNotExist", "gone", retryable=False),
     "ResourceNotFound.TopicNotExist"),
])
def test_each_failure_has_a_code_of_its_own(exc: CourierError, code: str) -> None:
    assert failure_code(exc) == code


def test_no_code_is_an_exception_class_name() -> None:
    names = {name for name, cls in inspect.getmembers(errors, inspect.isclass)
             if issubclass(cls, BaseException)} | {"ProtectionError"}
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(cls, CourierError) or cls is ProviderError:
            continue
        try:
            exc = cls("x")
        except TypeError:  # needs more than a message
            continue
        assert failure_code(exc) not in names, name
