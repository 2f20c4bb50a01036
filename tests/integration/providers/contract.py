"""The provider contract: what every provider must do, through its real SDK against the
sandbox. A provider's test module subclasses :class:`ProviderContract` (named ``Test…``),
gives the ``provider`` fixture and fills in the class attributes; the tests here run for it.

* create → status → result → cancel: a valid export is created, polled to READY, its file is
  read, and it can be cancelled;
* bad parameters: ``validate`` names the field and nothing is sent to the vendor;
* not found: an export the vendor does not know is never READY;
* the error table: an error answer of the status call comes back as a ``ProviderError`` of
  this provider with the code and the ``retryable`` flag the table gives;
* a cancel of what is gone already is quiet.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import requests

from shared.errors import ProviderError, ValidationError
from shared.model import ExportTask, Source, SourceSet
from shared.providers.base import PollResult, Provider, RemoteStatus
from tests.integration.providers.drive import step, submit

# (fault given to the sandbox, the code expected, retryable): the Tencent rows
TENCENT_ERRORS: list[tuple[dict[str, Any], str, bool]] = [
    ({"kind": "error", "code": "InternalError"}, "InternalError", True),
    ({"kind": "error", "code": "RequestLimitExceeded"}, "RequestLimitExceeded", True),
    ({"kind": "drop"}, "ClientNetworkError", True),
    ({"kind": "http_status", "status": 502}, "ServerNetworkError", True),
    ({"kind": "error", "code": "AuthFailure.UnauthorizedOperation"},
     "AuthFailure.UnauthorizedOperation", False),
]


class ProviderContract:
    service: ClassVar[str]  # the sandbox's name of the vendor service (``sb.calls`` keys)
    status_action: ClassVar[str]  # the call the first poll of a fresh export makes
    cancel_action: ClassVar[str | None] = None  # the call ``cancel`` makes, if any
    params: ClassVar[dict[str, Any]]  # a valid export
    bad_params: ClassVar[list[tuple[dict[str, Any], str]]]  # (params, the field named)
    errors: ClassVar[list[tuple[dict[str, Any], str, bool]]] = TENCENT_ERRORS

    @pytest.fixture
    def provider(self, sandbox: Any) -> Provider:
        raise NotImplementedError("a provider's contract test gives its provider fixture")

    @staticmethod
    def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
        cls = metafunc.cls
        if "bad" in metafunc.fixturenames:
            metafunc.parametrize("bad", cls.bad_params,
                                 ids=[field for _, field in cls.bad_params])
        if "error" in metafunc.fixturenames:
            metafunc.parametrize("error", cls.errors, ids=[code for _, code, _ in cls.errors])

    # ------------------------------------------------------------ what a subclass may adapt
    def finish(self, provider: Provider, sandbox: Any, task: ExportTask) -> PollResult:
        """Drive a submitted export to the vendor's end and poll it once more."""
        sandbox.clock.advance(60)
        return step(provider, task)

    def forget(self, task: ExportTask) -> None:
        """Make ``task`` name an export the vendor never made."""
        raise NotImplementedError

    def read(self, source: Source | SourceSet) -> bytes:
        """The content behind a result (a download URL by default)."""
        assert not isinstance(source, SourceSet)
        url = getattr(source, "url", None)
        assert url, f"no URL in {type(source).__name__}"
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200
        return answer.content

    # ------------------------------------------------------------------------ the contract
    def test_create_status_result_cancel(self, provider: Provider, sandbox: Any) -> None:
        task = submit(provider, self.params)
        assert task.remote  # the ids the vendor gave
        first = step(provider, task)
        assert first.status in (RemoteStatus.PENDING, RemoteStatus.WAITING)
        ready = self.finish(provider, sandbox, task)
        assert ready.status is RemoteStatus.READY and ready.progress == 100
        body = self.read(provider.result(task))
        assert body and (task.result.get("size") in (None, len(body)))
        provider.cancel(task)  # best effort on a finished export: no error

    def test_bad_params_name_the_field_and_call_nothing(
            self, provider: Provider, sandbox: Any, bad: tuple[dict[str, Any], str]) -> None:
        params, field = bad
        before = dict(sandbox.calls)
        with pytest.raises(ValidationError) as err:
            provider.validate(params)
        assert err.value.field == field
        assert sandbox.calls == before

    def test_an_export_the_vendor_does_not_know_is_never_ready(self, provider: Provider,
                                                               sandbox: Any) -> None:
        task = submit(provider, self.params)
        self.forget(task)
        sandbox.clock.advance(60)
        outcome = provider.poll([task])[task.id]
        if isinstance(outcome, ProviderError):
            assert not outcome.retryable and outcome.provider == provider.name
        else:
            assert outcome.status is RemoteStatus.FAILED and outcome.reason

    def test_the_error_table(self, provider: Provider, sandbox: Any,
                             error: tuple[dict[str, Any], str, bool]) -> None:
        fault, code, retryable = error
        task = submit(provider, self.params)
        sandbox.faults.add(service=self.service, action=self.status_action, times=1, **fault)
        outcome = provider.poll([task])[task.id]
        assert isinstance(outcome, ProviderError), outcome
        assert (outcome.provider, outcome.code, outcome.retryable) == (
            provider.name, code, retryable)
        assert not isinstance(provider.poll([task])[task.id], ProviderError)  # one-off

    def test_a_cancel_of_what_is_gone_is_quiet(self, provider: Provider, sandbox: Any) -> None:
        task = submit(provider, self.params)
        provider.cancel(task)
        provider.cancel(task)  # gone (or closed) already: nothing left to do
        if self.cancel_action is not None:
            assert sandbox.calls[(self.service, self.cancel_action)] == 2
