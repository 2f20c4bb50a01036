"""Small, strict readers for provider parameters: every error names the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from shared.errors import ValidationError

_MISSING = object()


class Params:
    """Reads ``params`` (a JSON object from the caller); refuses unknown fields."""

    def __init__(self, params: Any, *, known: Iterable[str], prefix: str = "params") -> None:
        if not isinstance(params, dict):
            raise ValidationError(prefix, "must be a JSON object")
        self.params = params
        self.prefix = prefix
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValidationError(f"{prefix}.{unknown[0]}",
                                  f"unknown field (expected one of: {', '.join(sorted(known))})")

    def field(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def _get(self, name: str, default: Any) -> Any:
        value = self.params.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ValidationError(self.field(name), "is required")
            return default
        return value

    def text(self, name: str, default: Any = _MISSING, *, max_len: int = 4096,
             pattern: str | None = None) -> Any:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(self.field(name), "must be a non-empty string")
        if len(value) > max_len:
            raise ValidationError(self.field(name), f"must be at most {max_len} characters")
        if pattern and not re.fullmatch(pattern, value):
            raise ValidationError(self.field(name), f"has the wrong format ({pattern})")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(self.field(name), "must be an integer")
        if minimum is not None and value < minimum:
            raise ValidationError(self.field(name), f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationError(self.field(name), f"must be at most {maximum}")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise ValidationError(self.field(name), "must be true or false")
        return value

    def choice(self, name: str, choices: Sequence[str], default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if value not in choices:
            raise ValidationError(self.field(name), f"must be one of: {', '.join(choices)}")
        return value

    def obj(self, name: str, default: Any = _MISSING) -> Any:
        value = self._get(name, default)
        if not isinstance(value, dict):
            raise ValidationError(self.field(name), "must be a JSON object")
        return value

    def strings(self, name: str, default: Any = _MISSING, *, max_items: int = 100) -> Any:
        value = self._get(name, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValidationError(self.field(name), "must be a list of strings")
        if len(value) > max_items:
            raise ValidationError(self.field(name), f"must have at most {max_items} items")
        return value
