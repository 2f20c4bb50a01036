"""Request bodies decoded strictly, before anything else looks at them.

Every limit is checked here with a message a person can act on, and every failure is a
:class:`~shared.errors.ValidationError` naming ``body`` (or the member that broke a limit):

* size — at most ``max_bytes`` after base64 decoding;
* encoding — base64 when the trigger says so, then UTF-8 (the offending byte offset named);
* syntax — JSON text, with line and column of the first mistake;
* nesting — at most ``max_depth`` levels of arrays and objects (checked before parsing, so a
  deep body never reaches the parser's recursion);
* strings — keys and values at most ``max_string`` characters;
* numbers — integers within ±(2**53 - 1) (I-JSON, RFC 7493), finite floats; ``NaN`` and
  ``Infinity`` are not JSON;
* objects — no member name twice.

Messages never carry an exception class name, a path on disk or a traceback.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from shared.errors import ValidationError

MAX_SAFE_INTEGER = 2**53 - 1
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 64 * 1024
    max_depth: int = 32
    max_string: int = 16 * 1024


class _Refused(ValueError):
    """Raised from the parser hooks; turned into a ValidationError by :func:`parse_json`."""


def raw_bytes(body: Any, base64_encoded: bool, limits: Limits) -> bytes:
    """The body as bytes (base64 decoded when the trigger sent it so), size checked."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif isinstance(body, str):
        if base64_encoded:
            if len(body) > (limits.max_bytes * 4) // 3 + 4:
                raise ValidationError("body", f"is larger than {limits.max_bytes} bytes")
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValidationError("body", "is marked base64 but is not valid base64") from exc
        else:
            data = body.encode("utf-8", "surrogatepass")
    else:
        raise ValidationError("body", "must be text")
    if len(data) > limits.max_bytes:
        raise ValidationError("body", f"is larger than {limits.max_bytes} bytes")
    return data


def text(data: bytes) -> str:
    """``data`` as UTF-8 text; the first bad byte is named."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("body", f"is not valid UTF-8 (bad byte at offset {exc.start})"
                              ) from exc


def check_depth(doc: str, max_depth: int) -> None:
    """Refuse more than ``max_depth`` nested arrays/objects, without recursing."""
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub('""', doc)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise ValidationError("body", f"is nested deeper than {max_depth} levels")
        else:
            depth -= 1


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"has the member {_short(key)!r} twice in one object")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise _Refused(f"contains {name}, which is not a JSON number")


def _int(literal: str) -> int:
    if len(literal) > 17:
        raise _Refused(f"has an integer out of range (at most ±{MAX_SAFE_INTEGER})")
    value = int(literal)
    if abs(value) > MAX_SAFE_INTEGER:
        raise _Refused(f"has an integer out of range (at most ±{MAX_SAFE_INTEGER})")
    return value


def _float(literal: str) -> float:
    if len(literal) > 64:
        raise _Refused("has a number written with too many digits")
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise _Refused("has a number too large to represent")
    return value


def _short(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


def check_strings(value: Any, max_string: int, where: str = "body") -> None:
    """Every key and string value at most ``max_string`` characters (depth is bounded)."""
    if isinstance(value, str):
        if len(value) > max_string:
            raise ValidationError(where, f"is longer than {max_string} characters")
        if _SURROGATE.search(value):
            raise ValidationError(where, "has an unpaired surrogate (\\ud800-\\udfff): "
                                  "not a Unicode character")
    elif isinstance(value, dict):
        for key, item in value.items():
            if len(key) > max_string:
                raise ValidationError(where, f"has a member name longer than {max_string} "
                                      "characters")
            if _SURROGATE.search(key):
                raise ValidationError(where, "has a member name with an unpaired surrogate")
            check_strings(item, max_string, f"{where}.{key}" if where != "body" else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_strings(item, max_string, f"{where}[{i}]")


def parse_json(doc: str, limits: Limits) -> Any:
    """``doc`` as JSON within ``limits``; an empty document is refused."""
    if not doc.strip():
        raise ValidationError("body", "is empty; send a JSON object")
    check_depth(doc, limits.max_depth)
    try:
        value = json.loads(doc, object_pairs_hook=_pairs, parse_constant=_constant,
                           parse_int=_int, parse_float=_float)
    except _Refused as exc:
        raise ValidationError("body", str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise ValidationError("body", f"is not valid JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:  # belt and braces: never a 500
        raise ValidationError("body", "is not valid JSON") from exc
    check_strings(value, limits.max_string)
    return value


def decode_body(body: Any, base64_encoded: bool, limits: Limits) -> Any:
    """A request body from any trigger: ``None`` when there is none, else its JSON value."""
    data = raw_bytes(body, base64_encoded, limits)
    if not data.strip():
        return None
    return parse_json(text(data), limits)
