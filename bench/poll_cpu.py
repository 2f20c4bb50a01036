"""CPU of one listing call, Courier's against the vendor SDK's own typed method, same run.

``bench_poll.py``'s ``cpu_ms_per_call`` is in milliseconds of this machine's CPU, so it moves
with the machine. This line sets it beside references measured in the same run, on the same
answer (a CLS ``DescribeExports`` page of 100 exports from the sandbox, 65 KB), each call
spaced as the rate budget spaces a listing's pages (50 ms, so caches are as cold as in a
tick)::

    bench poll_cpu: provider=cls action=DescribeExports page=100 courier_ms_per_call=…
      sdk_typed_ms_per_call=… sdk_json_ms_per_call=… decode_ms=… ratio_to_typed=…

* ``courier_ms_per_call`` — ``TencentApi.call``: rate budget, request model, the SDK's
  signing and HTTP session, the answer decoded once;
* ``sdk_typed_ms_per_call`` — ``ClsClient.DescribeExports`` with its request model, its
  answer built into the response model (what a plain SDK user pays);
* ``sdk_json_ms_per_call`` — the SDK's ``call_json`` (the answer decoded twice);
* ``decode_ms`` — ``json.loads`` of the page alone: the machine's speed on the part no
  client can skip.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

SPACING_S = 0.05
CALLS = 100


def cpu_ms(fn: Callable[[], Any], calls: int = CALLS) -> float:
    """Thread CPU per call of ``fn``, calls spaced by :data:`SPACING_S` (the sleep's own
    CPU left out)."""
    total = 0.0
    for _ in range(calls):
        began = time.thread_time()
        fn()
        total += time.thread_time() - began
        time.sleep(SPACING_S)
    return total * 1000 / calls


class _NoDispatch:
    def dispatch(self, export_id: str) -> None:
        pass


def run(state_url: str) -> str:
    from sandbox import Sandbox
    from sandbox.cls import Export
    from shared.bundle import Bundle
    from shared.config import Settings
    from shared.state import open_store
    from shared.vendor_settings import TencentSettings

    sb = Sandbox(port=0, queue_s=0.0, process_s=0.0, file_size=1024).start()
    try:
        topic = "topic-bench-cpu"
        for _ in range(100):
            export_id = str(uuid.uuid4())
            sb.cls.exports[export_id] = Export(
                export_id=export_id, topic_id=topic, query="*", from_ms=1_700_000_000_000,
                to_ms=1_700_000_060_000, order="desc", format="json", count=1000,
                syntax_rule=1, derived_fields=None, created=sb.clock.now() - 60,
                seq=next(sb.cls._seq), size=1024, fails=False)
        settings = Settings(state_url=state_url, profile="sandbox", tencent=TencentSettings(
            secret_id=sb.secret_id, secret_key=sb.secret_key, token=None,
            region="ap-guangzhou", endpoint=sb.url))
        store = open_store(state_url)
        try:
            bundle = Bundle(settings, store=store, dispatcher=_NoDispatch())
            api = bundle.providers.get("cls").api  # with the rate budget in the state store
            client, models = api.client, api.models
            params = {"TopicId": topic, "Offset": 0, "Limit": 100}

            def typed() -> Any:
                request = models.DescribeExportsRequest()
                request.from_json_string(json.dumps(params))
                return client.DescribeExports(request)

            def sdk_json() -> Any:
                request = api.request("DescribeExports", params)
                return client.call_json("DescribeExports", request._serialize())

            page = api.call("DescribeExports", params)
            assert len(page["Exports"]) == 100  # noqa: S101 - the page the figures are of
            raw = json.dumps({"Response": page})
            for fn in (lambda: api.call("DescribeExports", params), typed, sdk_json):
                cpu_ms(fn, 10)  # warm: imports, connections
            courier = cpu_ms(lambda: api.call("DescribeExports", params))
            typed_ms = cpu_ms(typed)
            json_ms = cpu_ms(sdk_json)
            decode = cpu_ms(lambda: json.loads(raw))
        finally:
            store.close()
    finally:
        sb.stop()
    return (f"bench poll_cpu: provider=cls action=DescribeExports page=100 "
            f"courier_ms_per_call={courier:.2f} sdk_typed_ms_per_call={typed_ms:.2f} "
            f"sdk_json_ms_per_call={json_ms:.2f} decode_ms={decode:.2f} "
            f"ratio_to_typed={courier / typed_ms:.2f}")
