"""HTTP by the standards: RFC 9457 problems, 405 with Allow, WWW-Authenticate on 401,
Retry-After, a request id on every answer, Idempotency-Key as the IETF draft says."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import utcnow
from shared.errors import ConfigError, ProviderError, StoreError
from shared.http.problem import PROBLEM_JSON, TYPE_PREFIX, problem_of
from shared.model import ExportTask
from tests.e2e.helpers import cls_body
from tests.events import load_event


def answer(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    from courier.local import LocalContext
    from functions import create_export

    out = create_export.handler(event, LocalContext())
    return out["statusCode"], json.loads(out["body"]), out["headers"]


@pytest.mark.usefixtures("handlers_env")
def test_a_wrong_method_is_405_with_allow(api_key: str) -> None:
    for method, path, allow in (("DELETE", "/exports", "GET, POST"),
                                ("PUT", "/exports/exp_1", "GET"),
                                ("GET", "/exports/exp_1/cancel", "POST")):
        status, body, headers = answer(load_event("aws_http_api_post_exports", method=method,
                                                  path=path, headers={"x-api-key": api_key}))
        assert status == 405 and headers["Allow"] == allow
        assert headers["Content-Type"] == PROBLEM_JSON
        assert body["type"] == TYPE_PREFIX + "method_not_allowed" and body["instance"] == path
    status, body, _ = answer(load_event("aws_http_api_post_exports", path="/nowhere",
                                        headers={"x-api-key": api_key}))
    assert status == 404 and body["error"] == "not_found"


@pytest.mark.usefixtures("handlers_env")
def test_401_says_how_to_authenticate_and_problems_keep_old_members() -> None:
    status, body, headers = answer(load_event("scf_apigw_post_exports", body=cls_body(),
                                              headers={"x-api-key": "not-the-key-4711"}))
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer ")
    assert headers["Content-Type"] == PROBLEM_JSON
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert (body["error"], body["message"]) == ("unauthorized", body["detail"])
    assert "4711" not in json.dumps(body)  # the presented key is never echoed


@pytest.mark.usefixtures("handlers_env")
def test_every_answer_has_a_request_id_from_the_gateway_where_it_gives_one(api_key: str
                                                                           ) -> None:
    event = load_event("aws_http_api_post_exports", body=cls_body(),
                       headers={"x-api-key": api_key})
    status, _, headers = answer(event)
    assert status == 202 and headers["X-Request-Id"] == event["requestContext"]["requestId"]
    scf = load_event("scf_apigw_get_export", path="/exports/exp_nope",
                     headers={"x-api-key": api_key})
    status, body, headers = answer(scf)
    assert status == 404 and headers["X-Request-Id"] == scf["requestContext"]["requestId"]
    assert body["request_id"] == headers["X-Request-Id"]
    bare = load_event("aws_http_api_post_exports", body="[", headers={"x-api-key": api_key})
    del bare["requestContext"]["requestId"]
    status, body, headers = answer(bare)
    assert status == 400 and len(headers["X-Request-Id"]) >= 16


@pytest.mark.usefixtures("handlers_env")
def test_openapi_document_is_served_without_a_key() -> None:
    status, doc, headers = answer(load_event("aws_function_url_get_export", path="/openapi.json",
                                             headers={"x-api-key": None}))
    assert status == 200 and doc["openapi"].startswith("3.1") and "/exports" in doc["paths"]
    assert headers["X-Request-Id"]


@pytest.mark.usefixtures("handlers_env")
def test_idempotency_key_in_flight_is_409_and_a_refused_create_replays_422(
        sandbox: Any, api_key: str) -> None:
    from functions import common

    bundle = common.bundle()
    body = cls_body("topic-slow")
    params = bundle.providers.get("cls").validate(body["params"])
    now = utcnow()
    bundle.store().insert_task(ExportTask(
        provider="cls", params=params, idempotency_key="busy-1", lease_owner="create:other",
        lease_until=now + timedelta(seconds=60), created_at=now, updated_at=now, due_at=now))
    status, problem, headers = answer(load_event(
        "aws_http_api_post_exports", body=body,
        headers={"x-api-key": api_key, "idempotency-key": "busy-1"}))
    assert status == 409 and problem["error"] == "in_flight" and headers["Retry-After"] == "1"

    sandbox.missing_topics.add("topic-gone")
    refused = load_event("aws_http_api_post_exports", body=cls_body("topic-gone"),
                         headers={"x-api-key": api_key, "idempotency-key": "gone-1"})
    first = answer(refused)
    again = answer(refused)
    assert first[0] == again[0] == 422 and first[1] == again[1]
    assert first[1]["error"] == "provider_refused" and first[1]["export"]["state"] == "failed"
    assert again[2]["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first[2]
    assert again[2]["Content-Type"] == PROBLEM_JSON


PROBLEMS = [
    ("store-down", StoreError("connection refused"), 503, "state_unavailable", "30"),
    ("not-configured", ConfigError("no credentials"), 503, "not_configured", "30"),
    ("throttled", ProviderError("cls", "LimitExceeded", "slow down", retryable=True,
                                retry_after=2.2), 502, "provider_error", "3"),
    ("refused", ProviderError("cls", "InvalidParameter", "bad", retryable=False), 502,
     "provider_error", None),
]


@pytest.mark.parametrize(("exc", "status", "kind", "retry_after"), [p[1:] for p in PROBLEMS],
                         ids=[p[0] for p in PROBLEMS])
def test_retry_after_where_waiting_helps(exc: Exception, status: int, kind: str,
                                         retry_after: str | None) -> None:
    problem = problem_of(exc)
    assert (problem.status, problem.kind) == (status, kind)
    assert problem.headers.get("Retry-After") == retry_after
    body = problem.body("/exports", "rid-1")
    assert body["type"] == TYPE_PREFIX + kind and body["request_id"] == "rid-1"
    if isinstance(exc, ProviderError):
        assert (body["code"], body["retryable"]) == (exc.code, exc.retryable)


@pytest.mark.usefixtures("handlers_env")
def test_every_answer_is_no_store_and_nosniff(api_key: str) -> None:
    """Exports, problems and the contract are never kept by a browser or a shared cache, and
    never read as another type than the one declared."""
    key = {"x-api-key": api_key}
    for event, status in (
            (load_event("aws_http_api_post_exports", body=cls_body(), headers=key), 202),
            (load_event("aws_function_url_get_export", path="/exports", headers=key), 200),
            (load_event("scf_apigw_get_export", path="/exports/exp_nope", headers=key), 404),
            (load_event("aws_function_url_get_export", path="/exports",
                        headers={"x-api-key": None}), 401),
            (load_event("aws_http_api_post_exports", body="[", headers=key), 400),
            (load_event("aws_http_api_post_exports", method="PUT", headers=key), 405),
            (load_event("aws_function_url_get_export", path="/openapi.json",
                        headers={"x-api-key": None}), 200),
            (load_event("aws_function_url_get_export", path="/ui",
                        headers={"x-api-key": None}), 200)):
        from courier.local import LocalContext
        from functions import create_export

        out = create_export.handler(event, LocalContext())
        assert out["statusCode"] == status, out
        assert out["headers"]["Cache-Control"] == "no-store", out["headers"]
        assert out["headers"]["X-Content-Type-Options"] == "nosniff", out["headers"]
