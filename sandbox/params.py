"""Typed access to request parameters with Tencent-style errors.

Missing required -> ``MissingParameter``; wrong JSON type -> ``InvalidParameter``; right type
but a value out of range / not allowed -> ``InvalidParameterValue``. Query-string requests
(GET) carry strings only, so ``lenient`` accepts digit strings for integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from sandbox.errors import ApiError

_MISSING = object()


class Params:
    def __init__(self, data: Mapping[str, Any], lenient: bool = False) -> None:
        self.data = dict(data)
        self.lenient = lenient

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise ApiError("MissingParameter", f"the request is missing parameter `{name}`")
            return _MISSING
        return value

    def integer(self, name: str, required: bool = False, default: Optional[int] = None,
            minimum: Optional[int] = None, maximum: Optional[int] = None,
            choices: Optional[Sequence[int]] = None) -> Optional[int]:
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        if isinstance(value, str) and self.lenient and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError("InvalidParameter", f"parameter `{name}` must be an integer")
        if minimum is not None and value < minimum:
            raise ApiError("InvalidParameterValue",
                           f"parameter `{name}` must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ApiError("InvalidParameterValue",
                           f"parameter `{name}` must be <= {maximum}, got {value}")
        if choices is not None and value not in choices:
            raise ApiError("InvalidParameterValue",
                           f"parameter `{name}` must be one of {list(choices)}, got {value}")
        return value

    def text(self, name: str, required: bool = False, default: Optional[str] = None,
            choices: Optional[Sequence[str]] = None, allow_empty: bool = True) -> Optional[str]:
        value = self._raw(name, required)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise ApiError("InvalidParameter", f"parameter `{name}` must be a string")
        if not allow_empty and not value:
            raise ApiError("InvalidParameterValue", f"parameter `{name}` must not be empty")
        if choices is not None and value not in choices:
            raise ApiError("InvalidParameterValue",
                           f"parameter `{name}` must be one of {list(choices)}, got {value!r}")
        return value

    def items(self, name: str, required: bool = False, item: type = str) -> Optional[list]:
        value = self._raw(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not all(
                isinstance(v, item) and not isinstance(v, bool) for v in value):
            raise ApiError("InvalidParameter",
                           f"parameter `{name}` must be a list of {item.__name__}")
        return value
