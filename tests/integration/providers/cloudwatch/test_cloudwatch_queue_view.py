"""GET /exports and GET /exports/{id} show where a queued export stands now, read from the
queue when asked, not what the export was told when it last looked."""

from __future__ import annotations

from typing import Any

from sandbox.aws_gateway import AwsGateway
from tests.e2e.helpers import call, post
from tests.events import load_event
from tests.integration.providers.cloudwatch.conftest import add_logs
from tests.integration.providers.cloudwatch.test_cloudwatch_round_trip import cw_env, get  # noqa: F401


def listed(api_key: str) -> dict[str, Any]:
    status, page = call(load_event("aws_function_url_get_export", path="/exports",
                                   query={"state": "accepted"},
                                   headers={"x-api-key": api_key}))
    assert status == 200
    return {t["id"]: t["queue_position"] for t in page["items"]}


def test_the_queue_position_is_live(cw_env: AwsGateway, moto: Any,  # noqa: F811
                                    api_key: str) -> None:
    start, end = add_logs(moto.url, "app", {"web-1": ["a"]})
    body = {"provider": "cloudwatch", "params": {"logGroupName": "app", "from": start,
                                                 "to": end}}
    cw_env.occupy(120)  # a task of somebody else's runs all along: nothing gets created
    # GIVEN one export holding the slot (its create waits out the foreign task) and two
    # waiting behind it
    holder, second, third = (post(api_key, body, event="aws_http_api_post_exports")[1]
                             for _ in range(3))
    assert holder["state"] == "accepted" and holder["queue_position"] is None
    assert (second["queue_position"], third["queue_position"]) == (1, 2)

    # WHEN the one ahead of the third is cancelled, and nobody has polled since
    status, cancelled = call(load_event("aws_apigw_rest_post_exports", body="",
                                        path=f"/exports/{second['id']}/cancel",
                                        headers={"x-api-key": api_key}))
    assert status == 200 and cancelled["state"] == "cancelled"

    # THEN both views already show the third export next in line
    third_now = get(api_key, third["id"])
    assert third_now["queue_position"] == 1
    assert third_now["remote"]["queue_position"] == 2  # what it was told; not what is shown
    assert listed(api_key) == {holder["id"]: None, third["id"]: 1}
