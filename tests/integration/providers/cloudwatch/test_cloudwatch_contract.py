"""The provider contract for cloudwatch: boto3 against moto's server behind the fault gateway.

The contract's ``sandbox`` is the gateway here (:class:`GatewayView`): its calls keyed by
``("logs", action)``, its faults, and a clock that waits out the gateway's running time
(moto finishes a task at once; the gateway reports it RUNNING for ``RUN_S``)."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.aws_gateway import AwsGateway
from shared.model import Source, SourceSet
from shared.pacing import RateLimiter
from shared.vendor_settings import AwsSettings
from tests.integration.providers.cloudwatch.conftest import STAGING, add_logs
from tests.integration.providers.contract import ProviderContract

RUN_S = 0.5
FROM, TO = 1_000_000_000_000, 4_000_000_000_000  # 2001 to 2096: around the logs written now


class GatewayView:
    """The fault gateway as the contract's sandbox."""

    def __init__(self, gateway: AwsGateway) -> None:
        self.gateway = gateway
        self.faults = gateway.faults
        self.clock = self

    @property
    def calls(self) -> dict[tuple[str, str], int]:
        return {("logs", action): n for action, n in self.gateway.calls.items()}

    def advance(self, seconds: float) -> None:
        """Time passes: long enough for a task the gateway runs to finish."""
        time.sleep(RUN_S + 0.1)


class TestCloudwatchContract(ProviderContract):
    service = "logs"
    status_action = "DescribeExportTasks"
    cancel_action = "CancelExportTask"
    params = {"logGroupName": "contract", "from": FROM, "to": TO}
    bad_params = [
        ({"from": FROM, "to": TO}, "params.logGroupName"),
        ({"logGroupName": "a b", "from": FROM, "to": TO}, "params.logGroupName"),
        ({"logGroupNames": ["a", "b c"], "from": FROM, "to": TO}, "params.logGroupNames[1]"),
        ({"logGroupName": "a", "to": TO}, "params.from"),
        ({"logGroupName": "a", "from": TO, "to": FROM}, "params.from"),
        ({"logGroupName": "a", "from": 1, "to": 1_700_000_000}, "params.to"),
        ({"logGroupName": "a", "from": FROM, "to": TO, "query": "*"}, "params.query"),
    ]
    errors = [
        ({"kind": "error", "code": "ThrottlingException"}, "ThrottlingException", True),
        ({"kind": "error", "code": "ServiceUnavailableException"},
         "ServiceUnavailableException", True),
        ({"kind": "http_status", "status": 502, "code": "InternalFailure"},
         "InternalFailure", True),
        ({"kind": "error", "code": "InvalidParameterException"},
         "InvalidParameterException", False),
        ({"kind": "error", "code": "AccessDeniedException"}, "AccessDeniedException", False),
        ({"kind": "drop"}, "NoAnswer", True),  # no answer at all
    ]

    @pytest.fixture
    def sandbox(self, moto: Any) -> Iterator[GatewayView]:
        with AwsGateway(moto.url, run_s=RUN_S) as gateway:
            add_logs(moto.url, "contract", {"web-1": ["a", "b"], "web-2": ["c"]})
            yield GatewayView(gateway)

    @pytest.fixture
    def provider(self, sandbox: GatewayView, moto: Any) -> Any:
        from shared.providers.cloudwatch import CloudwatchProvider

        settings = AwsSettings(staging_bucket=STAGING, staging_prefix="staging",
                               region="us-east-1", endpoint=sandbox.gateway.url,
                               s3_endpoint=moto.url)
        return CloudwatchProvider(settings, limiter=RateLimiter(rate=1000))

    def forget(self, task: Any) -> None:
        task.remote["taskIds"] = ["00000000-0000-4000-8000-000000000000"]

    def read(self, source: Source | SourceSet) -> bytes:
        """A CloudWatch result is several gzip objects (one per stream): their lines."""
        assert isinstance(source, SourceSet) and len(source.items) == 2
        bodies = []
        for item in source.items:
            answer = requests.get(getattr(item, "url", ""), timeout=10)
            assert answer.status_code == 200
            bodies.append(gzip.decompress(answer.content))
        return b"\n".join(sorted(bodies))
